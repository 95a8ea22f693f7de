/*
 * The host side of the differential instruction tester: reads a batch's
 * case file and two result files written by the harness (the native run,
 * the oracle, and a run under loom) and compares them case by case: the
 * signal raised (and where), every GPR, RFLAGS minus the bits the SDM leaves
 * undefined for the instruction (from Zydis's cpu_flags, plus the
 * count-dependent rules of shifts and rotates that a static table cannot
 * express), MXCSR, the XMM registers and the memory window.  It prints a
 * FAIL line per mismatching case (the first few per form in full), a
 * per-form summary, and "N passed, N failed" with one check per case.
 * Invariant: it never trusts loom's output for anything but the compare;
 * inputs come from the case file.
 */
#include <Zydis/Zydis.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "isa.h"

static const char *gpr_names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi",
	"rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };
static const struct { int bit; const char *name; } flag_names[] = {
	{ 0, "CF" }, { 2, "PF" }, { 4, "AF" }, { 6, "ZF" }, { 7, "SF" },
	{ 8, "TF" }, { 10, "DF" }, { 11, "OF" }, { 18, "AC" }, { 21, "ID" },
};
#define FLAGS_CMP 0x244dd5ull   /* CF PF AF ZF SF TF DF OF AC ID */

struct form {
	struct isa_snip_desc d;
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	char text[160];
	/* A second instruction (pair batch): a flag reader after the producer. */
	int has2;
	ZydisDecodedInstruction insn2;
	ZydisDecodedOperand ops2[ZYDIS_MAX_OPERAND_COUNT];
	uint64_t undef;         /* static undefined-flag mask from Zydis */
	long cases, failed, shown;
	int known;              /* listed in known.txt: mismatches are skipped */
};

/* Reads the known-bug list: lines "HEX BYTES | reason" or "glob PATTERN |
 * reason", the pattern matched (fnmatch) against Zydis's Intel-syntax text. */
static void load_known(const char *path, struct form *forms, uint64_t n)
{
	FILE *f = fopen(path, "r");
	char line[512];
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *bar = strstr(line, " |");
		if (line[0] == '#' || !bar)
			continue;
		*bar = 0;
		if (!strncmp(line, "glob ", 5)) {
			for (uint64_t i = 0; i < n; i++)
				if (!fnmatch(line + 5, forms[i].text, 0))
					forms[i].known = 1;
			continue;
		}
		uint8_t b[15];
		int len = 0, used;
		unsigned v;
		const char *p = line;
		while (len < 15 && sscanf(p, " %2x%n", &v, &used) == 1) {
			b[len++] = v;
			p += used;
		}
		for (uint64_t i = 0; len && i < n; i++)
			if (forms[i].d.len == len && !memcmp(forms[i].d.bytes, b, len))
				forms[i].known = 1;
	}
	fclose(f);
}

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *p = malloc(*len ? *len : 1);
	if (fread(p, 1, *len, f) != *len) {
		perror(path);
		exit(2);
	}
	fclose(f);
	return p;
}

static int zreg_gpr(ZydisRegister r)
{
	ZydisRegister l = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
	if (l >= ZYDIS_REGISTER_RAX && l <= ZYDIS_REGISTER_R15)
		return l - ZYDIS_REGISTER_RAX;
	return -1;
}

/* The shift or rotate count of the case, or -1 if not a shift/rotate. */
static int shift_count(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
			const struct isa_state *in, int *width)
{
	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL:
	case ZYDIS_MNEMONIC_RCR: case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR:
	case ZYDIS_MNEMONIC_SAR: case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
		break;
	default:
		return -1;
	}
	*width = insn->operand_width;
	int idx = (insn->mnemonic == ZYDIS_MNEMONIC_SHLD || insn->mnemonic == ZYDIS_MNEMONIC_SHRD) ? 2 : 1;
	const ZydisDecodedOperand *op = &ops[idx];
	uint64_t c;
	if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		c = op->imm.value.u;
	else if (op->type == ZYDIS_OPERAND_TYPE_REGISTER && op->reg.value == ZYDIS_REGISTER_CL)
		c = in->gpr[1] & 0xff;
	else
		c = 1;
	return (int)(c & (*width == 64 ? 63 : 31));
}

/* Flags the SDM leaves undefined for this case; *dst_undef set when the
 * destination itself is undefined (shld/shrd with count > width). */
static uint64_t undef_flags(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
			    const struct isa_state *in, int *dst_undef)
{
	uint64_t m = insn->cpu_flags ? insn->cpu_flags->undefined : 0;
	int w, c = shift_count(insn, ops, in, &w);
	*dst_undef = 0;
	if (c < 0)
		return m;
	if (c == 0)
		return 0;               /* count 0: flags untouched, nothing undefined */
	ZydisMnemonic mn = insn->mnemonic;
	if (c != 1)
		m |= 1u << 11;          /* OF: only defined for 1-bit shifts and rotates */
	if (mn == ZYDIS_MNEMONIC_SHL || mn == ZYDIS_MNEMONIC_SHR || mn == ZYDIS_MNEMONIC_SAR ||
	    mn == ZYDIS_MNEMONIC_SHLD || mn == ZYDIS_MNEMONIC_SHRD)
		m |= 1u << 4;           /* AF undefined for a non-zero count */
	if ((mn == ZYDIS_MNEMONIC_SHL || mn == ZYDIS_MNEMONIC_SHR) && c >= w)
		m |= 1u << 0;           /* CF undefined when count >= size */
	if ((mn == ZYDIS_MNEMONIC_SHLD || mn == ZYDIS_MNEMONIC_SHRD) && c > w) {
		*dst_undef = 1;         /* result and flags undefined */
		m |= FLAGS_CMP & 0x8d5;
	}
	return m;
}

/* The 16 bytes a and b agree where cmp has bits set. */
static bool same_bytes(const uint8_t *a, const uint8_t *b, const uint8_t *cmp)
{
	for (int i = 0; i < 16; i++)
		if ((a[i] ^ b[i]) & cmp[i])
			return false;
	return true;
}

static bool is_gather(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_VGATHERDPS: case ZYDIS_MNEMONIC_VGATHERDPD: case ZYDIS_MNEMONIC_VGATHERQPS:
	case ZYDIS_MNEMONIC_VGATHERQPD: case ZYDIS_MNEMONIC_VPGATHERDD: case ZYDIS_MNEMONIC_VPGATHERDQ:
	case ZYDIS_MNEMONIC_VPGATHERQD: case ZYDIS_MNEMONIC_VPGATHERQQ:
		return true;
	default:
		return false;
	}
}

/*
 * A gather that faults: the SDM fixes only the elements before the faulting
 * one (gathered, their masks clear).  Those after it may or may not have
 * been gathered, and what their mask elements and the registers' bits past
 * the vector hold is the implementation's: CPUs differ (some turn the mask
 * of each element not done into all-ones or zero; some leave scratch
 * values in bits 255:128 of a 128-bit form).  So from the first element
 * whose native mask is not clear, compare only the mask elements' top bits
 * (still to do or not) and nothing of the destination; ignore bits past
 * the vector.  cmp[x] gets the bytes of ymm x to compare.
 */
static void gather_fault_bytes(const struct form *f, const struct isa_state *n, uint8_t cmp[16][32])
{
	const ZydisDecodedOperand *d = &f->ops[0], *m = &f->ops[2];
	if (d->type != ZYDIS_OPERAND_TYPE_REGISTER || m->type != ZYDIS_OPERAND_TYPE_REGISTER)
		return;
	int dx = d->reg.value >= ZYDIS_REGISTER_YMM0 ? d->reg.value - ZYDIS_REGISTER_YMM0 : d->reg.value - ZYDIS_REGISTER_XMM0;
	int mx = m->reg.value >= ZYDIS_REGISTER_YMM0 ? m->reg.value - ZYDIS_REGISTER_YMM0 : m->reg.value - ZYDIS_REGISTER_XMM0;
	ZydisMnemonic mn = f->insn.mnemonic;
	int vbytes = d->size / 8;
	int esz = mn == ZYDIS_MNEMONIC_VGATHERDPD || mn == ZYDIS_MNEMONIC_VGATHERQPD ||
		  mn == ZYDIS_MNEMONIC_VPGATHERDQ || mn == ZYDIS_MNEMONIC_VPGATHERQQ ? 8 : 4;
	if (dx < 0 || dx > 15 || mx < 0 || mx > 15 || (esz != 4 && esz != 8))
		return;
	uint8_t mask[32];
	memcpy(mask, n->xmm[mx], 16);
	memcpy(mask + 16, n->ymmh[mx], 16);
	int k = 0;
	while (k < vbytes / esz) {
		int nz = 0;
		for (int b = 0; b < esz; b++)
			nz |= mask[k * esz + b];
		if (nz)
			break;
		k++;
	}
	for (int b = k * esz; b < 32; b++) {
		cmp[dx][b] = 0;
		cmp[mx][b] = b < vbytes && b % esz == esz - 1 ? 0x80 : 0;
	}
}

static void flags_str(char *buf, uint64_t fl)
{
	buf[0] = 0;
	for (unsigned i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
		if (fl >> flag_names[i].bit & 1) {
			strcat(buf, flag_names[i].name);
			strcat(buf, " ");
		}
	if (!buf[0])
		strcpy(buf, "-");
	else
		buf[strlen(buf) - 1] = 0;
}

static void hex(char *buf, const uint8_t *p, int n)
{
	for (int i = 0; i < n; i++)
		sprintf(buf + 3 * i, "%02x%s", p[i], i + 1 < n ? " " : "");
	if (n == 0)
		buf[0] = 0;
}

/* Which registers the instruction reads, for printing inputs briefly. */
static void print_inputs(const struct form *f, const struct isa_state *in)
{
	char b[256];
	uint32_t seen = 0;
	printf("    in:");
	for (int i = 0; i < f->insn.operand_count; i++) {
		const ZydisDecodedOperand *op = &f->ops[i];
		int r = -1;
		if (op->type == ZYDIS_OPERAND_TYPE_REGISTER)
			r = zreg_gpr(op->reg.value);
		if (r >= 0 && !(seen >> r & 1)) {
			seen |= 1u << r;
			printf(" %s=%#" PRIx64, gpr_names[r], in->gpr[r]);
		}
		int x = -1, y = 0;
		if (op->type == ZYDIS_OPERAND_TYPE_REGISTER && op->reg.value >= ZYDIS_REGISTER_XMM0 &&
		    op->reg.value <= ZYDIS_REGISTER_XMM15)
			x = op->reg.value - ZYDIS_REGISTER_XMM0;
		if (op->type == ZYDIS_OPERAND_TYPE_REGISTER && op->reg.value >= ZYDIS_REGISTER_YMM0 &&
		    op->reg.value <= ZYDIS_REGISTER_YMM15)
			x = op->reg.value - ZYDIS_REGISTER_YMM0, y = 1;
		if (x >= 0 && !(seen >> (16 + x) & 1)) {
			seen |= 1u << (16 + x);
			hex(b, in->xmm[x], 16);
			printf(" xmm%d=[%s]", x, b);
			if (y) {
				hex(b, in->ymmh[x], 16);
				printf(" ymm%d.hi=[%s]", x, b);
			}
		}
	}
	flags_str(b, in->rflags);
	printf(" flags=%s", b);
	if (in->mxcsr != 0x1f80)
		printf(" mxcsr=%#" PRIx64, in->mxcsr);
	hex(b, in->mem + 16, 16);
	printf(" mem[+16]=[%s]\n", b);
}

int main(int argc, char **argv)
{
	const char *known = NULL;
	if (argc > 2 && !strcmp(argv[1], "--known")) {
		known = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc != 5) {
		fprintf(stderr, "usage: %s [--known FILE] CASES NATIVE LOOM LABEL\n", argv[0]);
		return 2;
	}
	const char *label = argv[4];
	size_t clen, nlen, llen;
	uint8_t *cf = slurp(argv[1], &clen), *nf = slurp(argv[2], &nlen), *lf = slurp(argv[3], &llen);
	struct isa_case_hdr ch;
	memcpy(&ch, cf, sizeof ch);
	if (ch.magic != ISA_MAGIC || clen != sizeof ch + ch.ncases * sizeof(struct isa_case)) {
		fprintf(stderr, "%s: bad case file\n", argv[1]);
		return 2;
	}
	uint64_t nsn;
	if (nlen < sizeof ch + 8 || memcmp(nf, &ch, sizeof ch)) {
		printf("FAIL %s: the native run wrote no valid output\n", label);
		printf("isa %s: 0 passed, 1 failed, 0 skipped\n", label);
		return 1;
	}
	memcpy(&nsn, nf + sizeof ch, 8);
	size_t head = sizeof ch + 8 + nsn * sizeof(struct isa_snip_desc);
	size_t want = head + ch.ncases * sizeof(struct isa_state);
	if (nlen != want) {
		printf("FAIL %s: the native output is truncated\n", label);
		printf("isa %s: 0 passed, 1 failed, 0 skipped\n", label);
		return 1;
	}
	struct form *forms = calloc(nsn, sizeof *forms);
	ZydisDecoder dec;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisFormatter fmt;
	ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL);
	for (uint64_t i = 0; i < nsn; i++) {
		struct form *f = &forms[i];
		memcpy(&f->d, nf + sizeof ch + 8 + i * sizeof f->d, sizeof f->d);
		int len = f->d.len > 15 ? 15 : f->d.len;
		if (ZYAN_FAILED(ZydisDecoderDecodeFull(&dec, f->d.bytes, len, &f->insn, f->ops))) {
			strcpy(f->text, "(undecodable)");
			continue;
		}
		ZydisFormatterFormatInstruction(&fmt, &f->insn, f->ops, f->insn.operand_count_visible,
			f->text, sizeof f->text, ZYDIS_RUNTIME_ADDRESS_NONE, NULL);
		if (f->insn.cpu_flags)
			f->undef = f->insn.cpu_flags->undefined;
		if (f->insn.length < len && ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec,
				f->d.bytes + f->insn.length, len - f->insn.length, &f->insn2, f->ops2))) {
			size_t tl = strlen(f->text);
			f->has2 = 1;
			strcpy(f->text + tl, "; ");
			ZydisFormatterFormatInstruction(&fmt, &f->insn2, f->ops2, f->insn2.operand_count_visible,
				f->text + tl + 2, sizeof f->text - tl - 2, ZYDIS_RUNTIME_ADDRESS_NONE, NULL);
		}
	}
	if (known)
		load_known(known, forms, nsn);
	/* Cases the loom run did not reach (it died) all fail. */
	uint64_t lcases = 0;
	if (llen >= head && memcmp(lf, nf, head) == 0)
		lcases = (llen - head) / sizeof(struct isa_state);
	else
		printf("note %s: loom's output header differs from the native one (%zu bytes)\n", label, llen);

	long passed = 0, failed = 0, skipped = 0;
	const struct isa_case *cases = (const void *)(cf + sizeof ch);
	for (uint64_t c = 0; c < ch.ncases; c++) {
		struct isa_case k;
		memcpy(&k, &cases[c], sizeof k);
		struct form *f = &forms[k.snip];
		f->cases++;
		struct isa_state n, l;
		memcpy(&n, nf + head + c * sizeof n, sizeof n);
		char diffs[4096];
		int dl = 0, nd = 0;
#define DIFF(...) do { nd++; if (dl < (int)sizeof diffs - 200) dl += snprintf(diffs + dl, sizeof diffs - dl, __VA_ARGS__); } while (0)
		if (c >= lcases) {
			DIFF("    loom produced no result for this case (its run ended early)\n");
		} else {
			memcpy(&l, lf + head + c * sizeof l, sizeof l);
			int dst_undef;
			uint64_t um = undef_flags(&f->insn, f->ops, &k.in, &dst_undef);
			int dst_reg = -1, dst_mem = 0, skip_reg2 = -1, skip_reg3 = -1;
			/* A reader of a flag the producer left undefined reads junk:
			 * then its result (r11 or what it writes), the flags and the
			 * memory (pushfq) say nothing. */
			if (f->has2 && f->insn2.cpu_flags && (f->insn2.cpu_flags->tested & um & 0x8d5)) {
				skip_reg2 = 11;
				for (int i = 0; i < f->insn2.operand_count; i++)
					if (f->ops2[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
					    (f->ops2[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
					    zreg_gpr(f->ops2[i].reg.value) >= 0 && zreg_gpr(f->ops2[i].reg.value) != 4)
						skip_reg3 = zreg_gpr(f->ops2[i].reg.value);
				um |= FLAGS_CMP;
				dst_mem = 1;
			}
			/* A third instruction may read the producer's flags too:
			 * r10 means nothing once any flag it could test is junk. */
			int skip_r10 = f->has2 && (um & 0x8c5);
			if (f->has2) {          /* the reader's own undefined flags (its count is an immediate) */
				int ignore;
				um |= undef_flags(&f->insn2, f->ops2, &k.in, &ignore);
			}
			if (dst_undef) {
				if (f->ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER)
					dst_reg = zreg_gpr(f->ops[0].reg.value);
				else
					dst_mem = 1;
			}
			if (n.signo != l.signo || (n.signo && n.sig_off != l.sig_off))
				DIFF("    outcome: native %s%" PRIu64 " at +%" PRIu64 ", loom %s%" PRIu64 " at +%" PRIu64 "\n",
				     n.signo ? "signal " : "no signal ", n.signo, n.sig_off,
				     l.signo ? "signal " : "no signal ", l.signo, l.sig_off);
			for (int r = 0; r < 16; r++)
				if (r != dst_reg && r != skip_reg2 && r != skip_reg3 && !(r == 10 && skip_r10) &&
				    n.gpr[r] != l.gpr[r])
					DIFF("    %s: native %#" PRIx64 " loom %#" PRIx64 "\n", gpr_names[r], n.gpr[r], l.gpr[r]);
			uint64_t fm = FLAGS_CMP & ~um;
			if ((n.rflags ^ l.rflags) & fm) {
				for (unsigned i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++) {
					uint64_t b = 1ull << flag_names[i].bit;
					if ((n.rflags ^ l.rflags) & fm & b)
						DIFF("    rflags.%s: native %d loom %d\n", flag_names[i].name,
						     !!(n.rflags & b), !!(l.rflags & b));
				}
			}
			if (n.mxcsr != l.mxcsr)
				DIFF("    mxcsr: native %#" PRIx64 " loom %#" PRIx64 "\n", n.mxcsr, l.mxcsr);
			uint8_t cmp[16][32];
			memset(cmp, 0xff, sizeof cmp);
			if (n.signo && n.sig_off == 0 && is_gather(f->insn.mnemonic))
				gather_fault_bytes(f, &n, cmp);
			for (int x = 0; x < 16; x++)
				if (!same_bytes(n.xmm[x], l.xmm[x], cmp[x])) {
					char a[64], b[64];
					hex(a, n.xmm[x], 16);
					hex(b, l.xmm[x], 16);
					DIFF("    xmm%d: native [%s]\n           loom [%s]\n", x, a, b);
				}
			for (int x = 0; x < 16; x++)
				if (!same_bytes(n.ymmh[x], l.ymmh[x], cmp[x] + 16)) {
					char a[64], b[64];
					hex(a, n.ymmh[x], 16);
					hex(b, l.ymmh[x], 16);
					DIFF("    ymm%d[255:128]: native [%s]\n                    loom [%s]\n", x, a, b);
				}
			if (!dst_mem && memcmp(n.mem, l.mem, ISA_MEM)) {
				for (int o = 0; o < ISA_MEM; o += 8)
					if (memcmp(n.mem + o, l.mem + o, 8)) {
						char a[32], b[32];
						hex(a, n.mem + o, 8);
						hex(b, l.mem + o, 8);
						DIFF("    mem[%d..%d]: native [%s] loom [%s]\n", o, o + 7, a, b);
					}
			}
		}
		if (!nd) {
			passed++;
			continue;
		}
		f->failed++;
		f->known ? skipped++ : failed++;
		char bytes[64 + 16];
		hex(bytes, f->d.bytes, f->d.len > 15 ? 15 : f->d.len);
		printf("%s %s #%" PRIu64 ": %s [%s]\n", f->known ? "KNOWN" : "FAIL", label, c, f->text, bytes);
		if (f->shown++ < 3) {
			print_inputs(f, &k.in);
			fputs(diffs, stdout);
		}
	}
	long forms_failed = 0;
	for (uint64_t i = 0; i < nsn; i++)
		if (forms[i].failed) {
			char bytes[64 + 16];
			hex(bytes, forms[i].d.bytes, forms[i].d.len > 15 ? 15 : forms[i].d.len);
			printf("form %s: %ld of %ld cases differ%s: %s [%s]\n", label, forms[i].failed,
			       forms[i].cases, forms[i].known ? " (known)" : "", forms[i].text, bytes);
			forms_failed++;
		}
	printf("%s: %" PRIu64 " forms (%ld differ), %" PRIu64 " cases, %ld mismatches\n", label, nsn,
	       forms_failed, ch.ncases, failed);
	printf("isa %s: %ld passed, %ld failed, %ld skipped\n", label, passed, failed, skipped);
	return failed != 0;
}
