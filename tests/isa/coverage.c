/*
 * The differential tester's coverage report.
 *
 *   coverage DIR BATCH...
 *
 * Lists the instruction classes Zydis knows for the x86-64 levels -- a class
 * is a (mnemonic, ISA set) pair, so `paddb` on MMX registers (PENTIUMMMX)
 * and on XMM registers (SSE2) count apart -- and says which ones the
 * tester's snippets execute and with how many cases.  Zydis' classes are
 * found by decoding every opcode of the legacy maps (with each mandatory
 * prefix, with and without REX.W, every ModRM byte) and of the VEX maps
 * (every pp, L, W), with zero bytes after, as Zydis has no public table of
 * them.  The tester's side comes from DIR/<batch>.bin (the snippets, found
 * through the isa_snip_K symbols) and DIR/<batch>.counts (cases per snippet,
 * one line each, written by gen.py);
 * every instruction of a snippet counts, since the tester compares the
 * state after all of them.  Privileged instructions (#GP at CPL 3) are
 * listed apart and not counted.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <Zydis/Zydis.h>

enum cat { C_NONE, C_V1, C_V2, C_V3GPR, C_V3AVX, C_EXT, C_NB };
static const char *const cat_name[C_NB] = {
	"", "x86-64 (v1)", "x86-64-v2", "x86-64-v3 general-purpose (BMI1/BMI2/LZCNT/MOVBE)",
	"x86-64-v3 AVX/AVX2/FMA/F16C/XSAVE", "extensions reported at v2+ (AES/PCLMUL/RDRAND/RDSEED/SHA)",
};

static enum cat cat_of(ZydisISASet s)
{
	switch (s) {
	case ZYDIS_ISA_SET_I86: case ZYDIS_ISA_SET_I186: case ZYDIS_ISA_SET_I286REAL:
	case ZYDIS_ISA_SET_I286PROTECTED: case ZYDIS_ISA_SET_I386: case ZYDIS_ISA_SET_I486:
	case ZYDIS_ISA_SET_I486REAL: case ZYDIS_ISA_SET_PENTIUMREAL: case ZYDIS_ISA_SET_PPRO:
	case ZYDIS_ISA_SET_X87: case ZYDIS_ISA_SET_FCMOV: case ZYDIS_ISA_SET_CMOV:
	case ZYDIS_ISA_SET_PENTIUMMMX: case ZYDIS_ISA_SET_SSE: case ZYDIS_ISA_SET_SSE2:
	case ZYDIS_ISA_SET_SSE2MMX: case ZYDIS_ISA_SET_SSEMXCSR: case ZYDIS_ISA_SET_SSE_PREFETCH:
	case ZYDIS_ISA_SET_FXSAVE: case ZYDIS_ISA_SET_FXSAVE64: case ZYDIS_ISA_SET_CLFSH:
	case ZYDIS_ISA_SET_LONGMODE: case ZYDIS_ISA_SET_FAT_NOP: case ZYDIS_ISA_SET_PAUSE:
	case ZYDIS_ISA_SET_PREFETCH_NOP:
		return C_V1;
	case ZYDIS_ISA_SET_SSE3: case ZYDIS_ISA_SET_SSE3X87: case ZYDIS_ISA_SET_SSSE3:
	case ZYDIS_ISA_SET_SSSE3MMX: case ZYDIS_ISA_SET_SSE4: case ZYDIS_ISA_SET_SSE42:
	case ZYDIS_ISA_SET_POPCNT: case ZYDIS_ISA_SET_CMPXCHG16B: case ZYDIS_ISA_SET_LAHF:
		return C_V2;
	case ZYDIS_ISA_SET_BMI1: case ZYDIS_ISA_SET_BMI2: case ZYDIS_ISA_SET_LZCNT:
	case ZYDIS_ISA_SET_MOVBE:
		return C_V3GPR;
	case ZYDIS_ISA_SET_AVX: case ZYDIS_ISA_SET_AVX2: case ZYDIS_ISA_SET_AVX2GATHER:
	case ZYDIS_ISA_SET_FMA: case ZYDIS_ISA_SET_F16C: case ZYDIS_ISA_SET_XSAVE:
		return C_V3AVX;
	case ZYDIS_ISA_SET_AES: case ZYDIS_ISA_SET_PCLMULQDQ: case ZYDIS_ISA_SET_RDRAND:
	case ZYDIS_ISA_SET_RDSEED: case ZYDIS_ISA_SET_SHA:
		return C_EXT;
	default:
		return C_NONE;
	}
}

#define NM (ZYDIS_MNEMONIC_MAX_VALUE + 1)
#define NS (ZYDIS_ISA_SET_MAX_VALUE + 1)
static uint8_t known[NM][NS];		/* 1: user-mode encoding seen, 2: privileged only */
static uint64_t forms[NM][NS], cases[NM][NS], minc[NM][NS];

static ZydisDecoder dec;

static void probe(const uint8_t *b, size_t n)
{
	ZydisDecodedInstruction insn;
	uint8_t buf[32] = { 0 };
	memcpy(buf, b, n);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, buf, sizeof buf, &insn)))
		return;
	if (!cat_of(insn.meta.isa_set))
		return;
	uint8_t *k = &known[insn.mnemonic][insn.meta.isa_set];
	if (insn.attributes & ZYDIS_ATTRIB_IS_PRIVILEGED)
		*k |= *k ? 0 : 2;
	else
		*k = 1;
}

static void enumerate(void)
{
	static const uint8_t pfx[] = { 0, 0x66, 0xf2, 0xf3 };
	uint8_t b[16];
	for (int p = 0; p < 4; p++)
		for (int w = 0; w < 2; w++)
			for (int map = 0; map < 4; map++)
				for (int op = 0; op < 256; op++)
					for (int m = 0; m < 256; m++) {
						size_t n = 0;
						if (pfx[p])
							b[n++] = pfx[p];
						if (w)
							b[n++] = 0x48;
						if (map)
							b[n++] = 0x0f;
						if (map == 2)
							b[n++] = 0x38;
						if (map == 3)
							b[n++] = 0x3a;
						b[n++] = op;
						b[n++] = m;
						probe(b, n);
					}
	/* VEX3: C4 RXBmmmmm WvvvvLpp; vvvv = 1111 (unused) and = 1110 */
	for (int map = 1; map <= 3; map++)
		for (int wl = 0; wl < 16; wl++)
			for (int v = 0; v < 2; v++)
				for (int op = 0; op < 256; op++)
					for (int m = 0; m < 256; m++) {
						int W = wl >> 3, L = wl >> 2 & 1, pp = wl & 3;
						uint8_t c[5] = { 0xc4, 0xe0 | map,
								 W << 7 | (v ? 0x70 : 0x78) | L << 2 | pp, op, m };
						probe(c, 5);
					}
}

/* ---- the tester's snippets ---- */

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*n = ftell(f);
	rewind(f);
	uint8_t *p = malloc(*n);
	if (fread(p, 1, *n, f) != *n) {
		fclose(f);
		free(p);
		return NULL;
	}
	fclose(f);
	return p;
}

/* File offset of virtual address a in an ELF64 executable. */
static long off_of(const uint8_t *e, uint64_t a)
{
	const Elf64_Ehdr *h = (const void *)e;
	const Elf64_Phdr *ph = (const void *)(e + h->e_phoff);
	for (int i = 0; i < h->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && a >= ph[i].p_vaddr && a < ph[i].p_vaddr + ph[i].p_filesz)
			return a - ph[i].p_vaddr + ph[i].p_offset;
	return -1;
}

static int batch(const char *dir, const char *name)
{
	char path[4096];
	size_t n;
	snprintf(path, sizeof path, "%s/%s.bin", dir, name);
	uint8_t *e = slurp(path, &n);
	snprintf(path, sizeof path, "%s/%s.counts", dir, name);
	FILE *cf = fopen(path, "r");
	if (!e || !cf) {
		fprintf(stderr, "coverage: cannot read %s/%s.{bin,counts}\n", dir, name);
		return -1;
	}
	const Elf64_Ehdr *h = (const void *)e;
	const Elf64_Shdr *sh = (const void *)(e + h->e_shoff);
	const Elf64_Sym *sym = NULL;
	const char *str = NULL;
	size_t nsym = 0;
	for (int i = 0; i < h->e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB) {
			sym = (const void *)(e + sh[i].sh_offset);
			nsym = sh[i].sh_size / sizeof *sym;
			str = (const char *)e + sh[sh[i].sh_link].sh_offset;
		}
	uint64_t nsnip = 0;
	/* snippet addresses: start and end by index */
	static uint64_t start[1 << 20], end[1 << 20];
	memset(start, 0, sizeof start);
	memset(end, 0, sizeof end);
	for (size_t i = 0; sym && i < nsym; i++) {
		unsigned k;
		char tail[8] = "";
		const char *s = str + sym[i].st_name;
		if (sscanf(s, "isa_snip_%u%7s", &k, tail) < 1 || k >= (1u << 20))
			continue;
		if (!tail[0])
			start[k] = sym[i].st_value;
		else if (!strcmp(tail, "_end"))
			end[k] = sym[i].st_value;
		if (k + 1 > nsnip)
			nsnip = k + 1;
	}
	static uint64_t per[1 << 20];
	memset(per, 0, nsnip * sizeof *per);
	for (uint64_t k = 0; k < nsnip; k++)
		if (fscanf(cf, "%lu", &per[k]) != 1)
			break;
	fclose(cf);
	for (uint64_t k = 0; k < nsnip; k++) {
		long o = off_of(e, start[k]);
		if (o < 0 || end[k] <= start[k])
			continue;
		/* each class once per snippet */
		static uint8_t seen[NM][NS];
		int nseen = 0;
		static uint16_t sm[64], ss[64];
		for (uint64_t a = start[k]; a < end[k];) {
			ZydisDecodedInstruction insn;
			if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, e + o + (a - start[k]),
									end[k] - a, &insn)))
				break;
			a += insn.length;
			int m = insn.mnemonic, s = insn.meta.isa_set;
			if (seen[m][s] || nseen == 64)
				continue;
			seen[m][s] = 1;
			sm[nseen] = m, ss[nseen++] = s;
			forms[m][s]++;
			cases[m][s] += per[k];
			if (!minc[m][s] || per[k] < minc[m][s])
				minc[m][s] = per[k];
		}
		for (int i = 0; i < nseen; i++)
			seen[sm[i]][ss[i]] = 0;
	}
	free(e);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: coverage DIR BATCH...\n");
		return 2;
	}
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	enumerate();
	for (int i = 2; i < argc; i++)
		if (batch(argv[1], argv[i]))
			return 1;

	int tot[C_NB] = { 0 }, cov[C_NB] = { 0 }, low[C_NB] = { 0 }, priv[C_NB] = { 0 };
	uint64_t minall[C_NB];
	for (int c = 0; c < C_NB; c++)
		minall[c] = ~0ull;
	printf("# covered classes: mnemonic (ISA set): forms, cases, fewest cases of a form\n");
	for (int c = C_V1; c < C_NB; c++) {
		printf("\n## %s\n", cat_name[c]);
		for (int m = 0; m < NM; m++)
			for (int s = 0; s < NS; s++) {
				if (!known[m][s] || cat_of(s) != (enum cat)c)
					continue;
				if (known[m][s] == 2) {
					priv[c]++;
					continue;
				}
				tot[c]++;
				if (!forms[m][s])
					continue;
				cov[c]++;
				if (minc[m][s] < minall[c])
					minall[c] = minc[m][s];
				if (minc[m][s] < 1000)
					low[c]++;
				printf("%-16s (%s): %lu forms, %lu cases, min %lu\n", ZydisMnemonicGetString(m),
				       ZydisISASetGetString(s), (unsigned long)forms[m][s],
				       (unsigned long)cases[m][s], (unsigned long)minc[m][s]);
			}
	}
	printf("\n# not covered\n");
	for (int c = C_V1; c < C_NB; c++) {
		printf("\n## %s\n", cat_name[c]);
		int col = 0;
		for (int m = 0; m < NM; m++)
			for (int s = 0; s < NS; s++)
				if (known[m][s] == 1 && cat_of(s) == (enum cat)c && !forms[m][s]) {
					col += printf("%s(%s) ", ZydisMnemonicGetString(m), ZydisISASetGetString(s));
					if (col > 90) {
						printf("\n");
						col = 0;
					}
				}
		printf("\n");
		printf("privileged, not counted: ");
		for (int m = 0; m < NM; m++)
			for (int s = 0; s < NS; s++)
				if (known[m][s] == 2 && cat_of(s) == (enum cat)c)
					printf("%s ", ZydisMnemonicGetString(m));
		printf("\n");
	}
	printf("\n# summary (classes = mnemonic x ISA set; privileged ones excluded)\n");
	int t = 0, v = 0;
	for (int c = C_V1; c < C_NB; c++) {
		printf("%-62s %4d of %4d covered (%5.1f%%), %d privileged excluded, "
		       "fewest cases of a form %lu, classes with a form under 1000 cases: %d\n",
		       cat_name[c], cov[c], tot[c], tot[c] ? 100.0 * cov[c] / tot[c] : 0.0, priv[c],
		       (unsigned long)(minall[c] == ~0ull ? 0 : minall[c]), low[c]);
		if (c != C_V3AVX) {
			t += tot[c];
			v += cov[c];
		}
	}
	printf("%-62s %4d of %4d covered (%5.1f%%)\n", "v1 + v2 + v3 general-purpose + extensions", v, t,
	       t ? 100.0 * v / t : 0.0);
	return 0;
}
