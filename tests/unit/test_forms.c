/*
 * Every instruction form the CPUID model reports, against the frontend.
 *
 * Zydis has no public table of its instructions, so the forms are found by
 * brute force: every opcode of the legacy maps (1-byte, 0F, 0F38, 0F3A)
 * with each mandatory prefix (none, 66, F2, F3), REX none, 40, 48 and 45,
 * LOCK, 67 or FS on memory forms, and every ModRM byte; and every opcode of
 * the VEX maps 0F, 0F38 and 0F3A with each pp, L and W, two vvvv values,
 * VEX.RXB none or all, with and without 67, and every ModRM byte.  The
 * bytes after are filled with 00 and again with ff, so an immediate is
 * tried at both ends.  A form is a mnemonic with its encoding (legacy,
 * VEX.128, VEX.256), its prefixes (a32: 32-bit addressing, fs/gs, lock,
 * rep, repne) and the kinds and sizes of its operands (`vaddsubpd VEX.256
 * ymm,ymm,m256`); the ones kept are those whose ISA set the x86-64-v3
 * model reports, or one of the extensions reported from the host (AES,
 * PCLMULQDQ, RDRAND, RDSEED, SHA).
 *
 * Each encoding goes through guest_translate as a one-instruction TB, with
 * the level at v3 and every extension enabled; the frontend refuses a form
 * it cannot translate through gen_illegal, which logs under -d unimp, so a
 * form is lifted when translating none of its encodings logs (up to 512
 * encodings of a form are translated per fill).  One CHECK per form;
 * excluded[] below lists the deliberate exclusions with the reason, and an
 * excluded form that is lifted fails too (so the list stays true).
 * FORMS_VERBOSE=1 prints every form and whether it is lifted.
 *
 * Then the levels: each lifted form's first encoding is translated again at
 * x86-64, v2 and v3, with and without the extensions, and must be refused
 * exactly when the level does not report its ISA set (level_has, written
 * from cpuid.c's model apart from translate.c's isa_allowed).
 *
 * Not enumerated: privileged forms (#GP at CPL 3, Zydis' IS_PRIVILEGED),
 * and the hint/reserved-NOP space (0F 0D, 0F 18-1F, F3 0F 1E), whose
 * encodings are compared with the host one by one elsewhere.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <Zydis/Zydis.h>
#include "exec/exec.h"
#include "exec/guest-mem.h"
#include "linux/linux.h"
#include "guest/guest.h"
#include "guest/x86/cpuid.h"
#include "ir/ir.h"
#include "util/log.h"
#include "unit.h"

/* The ISA sets of the v3 model and of the host-reported extensions. */
static bool reported(ZydisISASet s)
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
	case ZYDIS_ISA_SET_SSE3: case ZYDIS_ISA_SET_SSE3X87: case ZYDIS_ISA_SET_SSSE3:
	case ZYDIS_ISA_SET_SSSE3MMX: case ZYDIS_ISA_SET_SSE4: case ZYDIS_ISA_SET_SSE42:
	case ZYDIS_ISA_SET_POPCNT: case ZYDIS_ISA_SET_CMPXCHG16B: case ZYDIS_ISA_SET_LAHF:
	case ZYDIS_ISA_SET_BMI1: case ZYDIS_ISA_SET_BMI2: case ZYDIS_ISA_SET_LZCNT:
	case ZYDIS_ISA_SET_MOVBE:
	case ZYDIS_ISA_SET_AVX: case ZYDIS_ISA_SET_AVX2: case ZYDIS_ISA_SET_AVX2GATHER:
	case ZYDIS_ISA_SET_AVXAES: case ZYDIS_ISA_SET_FMA: case ZYDIS_ISA_SET_F16C:
	case ZYDIS_ISA_SET_XSAVE: case ZYDIS_ISA_SET_XSAVEC: case ZYDIS_ISA_SET_XSAVEOPT:
	case ZYDIS_ISA_SET_AES: case ZYDIS_ISA_SET_PCLMULQDQ: case ZYDIS_ISA_SET_RDRAND:
	case ZYDIS_ISA_SET_RDSEED: case ZYDIS_ISA_SET_SHA:
		return true;
	default:
		return false;
	}
}

/* Deliberate exclusions: a form (its key as printed, or a prefix of it
 * ending in a space) and why it is not lifted. */
static const struct {
	const char *form, *why;
} excluded[] = {
	{ "rsm ", "#UD outside system-management mode: SIGILL is what the CPU does" },
	{ "sysenter ", "#UD on AMD; on Intel the kernel's 32-bit compat entry, which runs a "
		      "32-bit system call and returns in 32-bit mode: loom has no 32-bit mode and "
		      "raises #UD, as AMD does" },
	{ NULL, NULL },
};

/* Whether a -cpu level with extensions ext reports ISA set s (mnemonic m):
 * the model of cpuid.c's header, written apart from translate.c's
 * isa_allowed so that the two are checked against each other. */
static bool level_has(int level, unsigned ext, ZydisISASet s, ZydisMnemonic m)
{
	switch (s) {
	case ZYDIS_ISA_SET_SSE3: case ZYDIS_ISA_SET_SSE3X87: case ZYDIS_ISA_SET_SSSE3:
	case ZYDIS_ISA_SET_SSSE3MMX: case ZYDIS_ISA_SET_SSE4: case ZYDIS_ISA_SET_SSE42:
	case ZYDIS_ISA_SET_POPCNT: case ZYDIS_ISA_SET_CMPXCHG16B: case ZYDIS_ISA_SET_LAHF:
		return level >= X86_V2;
	case ZYDIS_ISA_SET_LZCNT: case ZYDIS_ISA_SET_BMI1:
		/* F3 0F BD/BC: bsr/bsf where LZCNT/BMI1 are not reported */
		if (m == ZYDIS_MNEMONIC_LZCNT || m == ZYDIS_MNEMONIC_TZCNT)
			return true;
		return level >= X86_V3;
	case ZYDIS_ISA_SET_BMI2: case ZYDIS_ISA_SET_MOVBE:
	case ZYDIS_ISA_SET_AVX2: case ZYDIS_ISA_SET_AVX2GATHER: case ZYDIS_ISA_SET_FMA:
	case ZYDIS_ISA_SET_F16C: case ZYDIS_ISA_SET_XSAVE: case ZYDIS_ISA_SET_XSAVEC:
	case ZYDIS_ISA_SET_XSAVEOPT:
		return level >= X86_V3;
	case ZYDIS_ISA_SET_AVX:
		/* Zydis files VEX vpclmulqdq under AVX; the CPU needs both */
		if (m == ZYDIS_MNEMONIC_VPCLMULQDQ)
			return level >= X86_V3 && (ext & X86_EXT_PCLMUL);
		return level >= X86_V3;
	case ZYDIS_ISA_SET_AVXAES: return level >= X86_V3 && (ext & X86_EXT_AES);
	case ZYDIS_ISA_SET_AES: return ext & X86_EXT_AES;
	case ZYDIS_ISA_SET_PCLMULQDQ: return ext & X86_EXT_PCLMUL;
	case ZYDIS_ISA_SET_RDRAND: return ext & X86_EXT_RDRAND;
	case ZYDIS_ISA_SET_RDSEED: return ext & X86_EXT_RDSEED;
	case ZYDIS_ISA_SET_SHA: return ext & X86_EXT_SHA;
	default:
		return true;	/* x86-64 (v1) */
	}
}

#define MAX_FORMS 8192
#define MAX_TRIES 512
#define ALL_EXT (X86_EXT_AES | X86_EXT_PCLMUL | X86_EXT_RDRAND | X86_EXT_RDSEED | X86_EXT_SHA)
static struct form {
	char key[96];
	char example[48];	/* the first encoding refused, in hex */
	bool lifted_all;	/* no encoding refused */
	uint8_t enc[16];	/* the first encoding, with the bytes after */
	ZydisMnemonic mnemonic;
	ZydisISASet isa;
	unsigned n;		/* encodings seen with this fill */
} forms[MAX_FORMS];
static unsigned nforms;

/* Open addressing on the key. */
static unsigned slot[2 * MAX_FORMS];
static struct form *form_of(const char *key)
{
	unsigned h = 5381;
	for (const char *p = key; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (unsigned i = h % (2 * MAX_FORMS);; i = (i + 1) % (2 * MAX_FORMS)) {
		if (!slot[i]) {
			if (nforms == MAX_FORMS)
				return NULL;
			struct form *f = &forms[nforms++];
			snprintf(f->key, sizeof(f->key), "%s", key);
			f->lifted_all = true;
			slot[i] = nforms;
			return f;
		}
		if (!strcmp(forms[slot[i] - 1].key, key))
			return &forms[slot[i] - 1];
	}
}

static const char *reg_kind(ZydisRegister r)
{
	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR8: return "r8";
	case ZYDIS_REGCLASS_GPR16: return "r16";
	case ZYDIS_REGCLASS_GPR32: return "r32";
	case ZYDIS_REGCLASS_GPR64: return "r64";
	case ZYDIS_REGCLASS_X87: return "st";
	case ZYDIS_REGCLASS_MMX: return "mm";
	case ZYDIS_REGCLASS_XMM: return "xmm";
	case ZYDIS_REGCLASS_YMM: return "ymm";
	case ZYDIS_REGCLASS_SEGMENT: return "sreg";
	default: return "reg";
	}
}

/* The form's key: mnemonic, encoding, prefixes, operand kinds. */
static void form_key(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *op,
		     char *key, size_t size)
{
	int n = snprintf(key, size, "%s %s", ZydisMnemonicGetString(in->mnemonic),
			 in->encoding == ZYDIS_INSTRUCTION_ENCODING_VEX ?
			 (in->avx.vector_length == 256 ? "VEX.256" : "VEX.128") : "legacy");
	bool mem = in->mnemonic == ZYDIS_MNEMONIC_LOOP || in->mnemonic == ZYDIS_MNEMONIC_LOOPE ||
		   in->mnemonic == ZYDIS_MNEMONIC_LOOPNE;
	for (int i = 0; i < in->operand_count; i++)
		mem |= op[i].type == ZYDIS_OPERAND_TYPE_MEMORY && op[i].mem.type != ZYDIS_MEMOP_TYPE_AGEN;
	if (mem && in->address_width == 32)
		n += snprintf(key + n, size - n, " a32");
	if (mem && (in->attributes & (ZYDIS_ATTRIB_HAS_SEGMENT_FS | ZYDIS_ATTRIB_HAS_SEGMENT_GS)))
		n += snprintf(key + n, size - n, " fs/gs");
	if (in->attributes & ZYDIS_ATTRIB_HAS_LOCK)
		n += snprintf(key + n, size - n, " lock");
	if (in->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE))
		n += snprintf(key + n, size - n, " rep");
	if (in->attributes & ZYDIS_ATTRIB_HAS_REPNE)
		n += snprintf(key + n, size - n, " repne");
	for (int i = 0; i < in->operand_count_visible; i++) {
		const char *sep = i ? "," : " ";
		switch (op[i].type) {
		case ZYDIS_OPERAND_TYPE_REGISTER:
			n += snprintf(key + n, size - n, "%s%s", sep, reg_kind(op[i].reg.value));
			break;
		case ZYDIS_OPERAND_TYPE_MEMORY:
			if (op[i].mem.type == ZYDIS_MEMOP_TYPE_AGEN)
				n += snprintf(key + n, size - n, "%sagen", sep);
			else if (op[i].mem.type == ZYDIS_MEMOP_TYPE_VSIB)
				n += snprintf(key + n, size - n, "%svsib%s", sep,
					      reg_kind(op[i].mem.index));
			else
				n += snprintf(key + n, size - n, "%sm%u", sep, op[i].size);
			break;
		case ZYDIS_OPERAND_TYPE_IMMEDIATE:
			n += snprintf(key + n, size - n, "%si%u", sep, op[i].size);
			break;
		case ZYDIS_OPERAND_TYPE_POINTER:
			n += snprintf(key + n, size - n, "%sptr", sep);
			break;
		default:
			break;
		}
	}
}

static ZydisDecoder dec;
static struct ir_ctx ir;
static uint8_t *code;		/* one page for the instruction under test */
static char *logbuf;
static size_t loglen;
static FILE *logf;

static bool hint_space(const ZydisDecodedInstruction *in)
{
	if (in->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY ||
	    in->opcode_map != ZYDIS_OPCODE_MAP_0F)
		return false;
	return in->opcode == 0x0d || (in->opcode >= 0x18 && in->opcode <= 0x1f);
}

/* Whether translating the instruction at code logs a refusal. */
static bool refused(void)
{
	struct tb tb = { .pc = (uintptr_t)code, .flags = CF_NOCHAIN };
	fflush(logf);
	size_t before = loglen;
	ir_reset(&ir);
	if (guest_translate(&ir, &tb, 1, NULL) < 0)
		return true;
	fflush(logf);
	return loglen != before;
}

/* Decode bytes b[0..n) (the rest of the page as filled), and translate. */
static void probe(const uint8_t *b, size_t n)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
	memcpy(code, b, n);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code, 15, &in, op)))
		return;
	if (!reported(in.meta.isa_set) || (in.attributes & ZYDIS_ATTRIB_IS_PRIVILEGED) ||
	    hint_space(&in))
		return;
	char key[96];
	form_key(&in, op, key, sizeof(key));
	struct form *f = form_of(key);
	if (!f)
		return;
	/* a form's later encodings differ in registers and displacement
	 * only, which the lifters treat alike; enough of them are tried */
	if (!f->isa) {
		memcpy(f->enc, code, sizeof(f->enc));
		f->mnemonic = in.mnemonic;
		f->isa = in.meta.isa_set;
	}
	if (++f->n > MAX_TRIES)
		return;
	if (refused() && f->lifted_all) {
		f->lifted_all = false;
		int k = 0;
		for (int i = 0; i < in.length && k < (int)sizeof(f->example) - 3; i++)
			k += snprintf(f->example + k, sizeof(f->example) - k, "%02x", code[i]);
	}
}

static void enumerate(uint8_t fill)
{
	static const uint8_t pfx[] = { 0, 0x66, 0xf2, 0xf3 };
	static const uint8_t rex[] = { 0, 0x40, 0x48, 0x45 };
	static const uint8_t mem_pfx[] = { 0, 0xf0, 0x67, 0x64 };
	uint8_t b[16];
	memset(code, fill, 4096);
	/* legacy: [lock|67|fs] [66/f2/f3] [rex] [0f [38/3a]] opcode modrm;
	 * lock, 67 and fs only on memory forms */
	for (int p = 0; p < 4; p++)
		for (int mp = 0; mp < 4; mp++)
			for (int r = 0; r < 4; r++)
					for (int map = 0; map < 4; map++)
						for (int opc = 0; opc < 256; opc++)
							for (int m = 0; m < 256; m++) {
								size_t n = 0;
								if (mp && m >= 0xc0)
									continue;
								if (mp)
									b[n++] = mem_pfx[mp];
								if (pfx[p])
									b[n++] = pfx[p];
								if (rex[r])
									b[n++] = rex[r];
								if (map)
									b[n++] = 0x0f;
								if (map == 2)
									b[n++] = 0x38;
								if (map == 3)
									b[n++] = 0x3a;
								b[n++] = opc;
								b[n++] = m;
								probe(b, n);
							}
	/* [67] VEX3: C4 RXBmmmmm WvvvvLpp opcode modrm; RXB none or all
	 * set, vvvv = 1111 (unused) and 1110 */
	for (int map = 1; map <= 3; map++)
		for (int wl = 0; wl < 16; wl++)
			for (int x = 0; x < 4; x++)
				for (int v = 0; v < 2; v++)
					for (int opc = 0; opc < 256; opc++)
						for (int m = 0; m < 256; m++) {
							int W = wl >> 3, L = wl >> 2 & 1, pp = wl & 3;
							bool a32 = x & 2;
							if (a32 && m >= 0xc0)
								continue;
							uint8_t c[6] = { 0x67, 0xc4, (x & 1 ? 0 : 0xe0) | map,
									 W << 7 | (v ? 0x70 : 0x78) | L << 2 | pp,
									 opc, m };
							probe(c + !a32, 6 - !a32);
						}
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct form *)a)->key, ((const struct form *)b)->key);
}

static const char *exclusion(const char *key)
{
	for (int i = 0; excluded[i].form; i++) {
		size_t n = strlen(excluded[i].form);
		if (!strncmp(key, excluded[i].form, n) &&
		    (key[n] == 0 || excluded[i].form[n - 1] == ' '))
			return excluded[i].why;
	}
	return NULL;
}

void unit_main(void)
{
	bool verbose = getenv("FORMS_VERBOSE") && !strcmp(getenv("FORMS_VERBOSE"), "1");
	code = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	logf = open_memstream(&logbuf, &loglen);
	CHECK(code != MAP_FAILED && logf);
	if (code == MAP_FAILED || !logf)
		return;
	log_file = logf;
	log_mask |= LOG_UNIMP;
	x86_level = X86_V3;
	x86_ext = ALL_EXT;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	guest_mem = linux_guest_mem;	/* code is fetched through it, as in main.c */
	ir_init(&ir);
	guest_ir_init(&ir);
	enumerate(0x00);
	for (unsigned i = 0; i < nforms; i++)
		forms[i].n = 0;
	enumerate(0xff);
	log_file = NULL;
	log_mask &= ~LOG_UNIMP;
	fclose(logf);
	free(logbuf);
	CHECK(nforms < MAX_FORMS);

	qsort(forms, nforms, sizeof(forms[0]), by_key);
	unsigned lifted = 0, unlifted = 0, excl = 0;
	for (unsigned i = 0; i < nforms; i++) {
		struct form *f = &forms[i];
		const char *why = exclusion(f->key);
		if (verbose)
			printf("%-8s %s%s%s\n", f->lifted_all ? "lifted" : why ? "excluded" : "REFUSED",
			       f->key, f->lifted_all ? "" : "  e.g. ", f->lifted_all ? "" : f->example);
		if (why) {
			excl++;
			if (f->lifted_all) {
				unit_failed++;
				printf("FAIL: excluded form %s is lifted: drop it from the list\n", f->key);
			} else {
				unit_passed++;
			}
		} else if (f->lifted_all) {
			lifted++;
			unit_passed++;
		} else {
			unlifted++;
			unit_failed++;
			printf("FAIL: not lifted: %s (e.g. %s)\n", f->key, f->example);
		}
	}
	for (int i = 0; excluded[i].form; i++) {
		bool used = false;
		for (unsigned j = 0; j < nforms && !used; j++)
			used = exclusion(forms[j].key) == excluded[i].why &&
			       !strncmp(forms[j].key, excluded[i].form, strlen(excluded[i].form));
		if (!used) {
			unit_failed++;
			printf("FAIL: exclusion '%s' matches no form\n", excluded[i].form);
		}
	}
	/* Below v3, and without an extension, a form the level does not
	 * report is an undefined opcode (SIGILL), and one it does is lifted. */
	static const struct { int level; unsigned ext; const char *name; } cfg[] = {
		{ X86_V1, 0, "x86-64" },
		{ X86_V2, 0, "x86-64-v2 without extensions" },
		{ X86_V2, ALL_EXT, "x86-64-v2 with AES/PCLMUL/RDRAND/RDSEED/SHA" },
		{ X86_V3, 0, "x86-64-v3 without extensions" },
		{ X86_V3, ALL_EXT, "x86-64-v3 with AES/PCLMUL/RDRAND/RDSEED/SHA" },
	};
	log_file = logf = open_memstream(&logbuf, &loglen);
	log_mask |= LOG_UNIMP;
	for (unsigned c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		unsigned bad = 0, on = 0;
		x86_level = cfg[c].level;
		x86_ext = cfg[c].ext;
		for (unsigned i = 0; i < nforms; i++) {
			struct form *f = &forms[i];
			if (!f->lifted_all)
				continue;
			bool want = level_has(cfg[c].level, cfg[c].ext, f->isa, f->mnemonic);
			memcpy(code, f->enc, sizeof(f->enc));
			on += want;
			if (refused() == want) {
				bad++;
				printf("FAIL: -cpu %s: %s %s (%s)\n", cfg[c].name, f->key,
				       want ? "refused" : "lifted", ZydisISASetGetString(f->isa));
			}
		}
		printf("%s: %u forms reported, %u mismatches\n", cfg[c].name, on, bad);
		CHECK(bad == 0);
	}
	log_file = NULL;
	log_mask &= ~LOG_UNIMP;
	fclose(logf);
	free(logbuf);
	printf("forms: %u reported forms, %u lifted, %u excluded, %u not lifted\n", nforms, lifted,
	       excl, unlifted);
}
