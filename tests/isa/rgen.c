/*
 * The host side of the random-instruction-stream tester (risu-like):
 *
 *   rgen gen SEED FIRST COUNT FILE     write streams FIRST..FIRST+COUNT-1
 *   rgen cmp [--known F] FILE NATIVE LOOM LABEL   compare two runs
 *   rgen show SEED INDEX               print one stream and its inputs
 *
 * A stream is 1-8 instructions, generated deterministically from (SEED,
 * index): random bytes, or structured ones (legacy prefixes, REX, VEX,
 * ModRM/SIB, displacements, immediates), decoded with Zydis.  Instructions
 * whose result differs by design between a CPU and loom, or that would let
 * a stream escape from its page or hurt the harness, are dropped at
 * generation (gen_filter says which and why; docs/isa-random.md lists
 * them).  The comparison (cmp) checks the signal (number, si_code,
 * si_addr, pc), every GPR, RFLAGS minus the flags the SDM leaves undefined
 * (tracked through the stream), MXCSR, the x87 state (control, status,
 * tags, valid registers), XMM/YMM and the scratch page.  It does not
 * compare a stream in which an instruction reads a flag or count left
 * undefined by an earlier one, nor one that uses an instruction set the
 * host and loom's CPU model disagree on (from the CPUID words both runs
 * report), nor one in which loom refuses an instruction that both CPUIDs
 * hide but the host runs (hidden_refused); all are counted and printed.  A mismatch gets a class: the
 * part that differs and the last instruction that wrote it.
 * Invariant: expectations come from the native run only.
 */
#include <Zydis/Zydis.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "random.h"

static const char *gpr_names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi",
	"rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };
#define FLAGS_CMP 0x264dd5ull   /* CF PF AF ZF SF TF DF OF NT AC ID */
#define FLAGS_ARITH 0x8d5ull    /* CF PF AF ZF SF OF */

static ZydisDecoder dec;
static ZydisFormatter fmt;

/* ---- deterministic randomness ---- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static unsigned rnd(uint64_t *s, unsigned n)
{
	return (unsigned)(rng_next(s) % n);
}

/* ---- one decoded instruction of a stream ---- */

struct insn {
	int off, len;
	ZydisDecodedInstruction z;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
};

static int decode(const uint8_t *p, int n, struct insn *in)
{
	return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, p, n, &in->z, in->ops));
}

static void format(const struct insn *in, char *buf, size_t n)
{
	ZydisFormatterFormatInstruction(&fmt, &in->z, in->ops, in->z.operand_count_visible, buf, n,
					ZYDIS_RUNTIME_ADDRESS_NONE, NULL);
}

static int writes_rip(const struct insn *in)
{
	for (int i = 0; i < in->z.operand_count; i++)
		if (in->ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    (in->ops[i].reg.value == ZYDIS_REGISTER_RIP || in->ops[i].reg.value == ZYDIS_REGISTER_EIP ||
		     in->ops[i].reg.value == ZYDIS_REGISTER_IP) &&
		    (in->ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			return 1;
	return 0;
}

/* A relative branch the generator points at a later spot of the stream:
 * a relative immediate (ZYDIS_ATTRIB_IS_RELATIVE alone also covers an
 * indirect call or jmp through a rip-relative memory operand). */
static int is_rel_branch(const struct insn *in)
{
	return writes_rip(in) && in->z.raw.imm[0].is_relative &&
	       in->z.meta.category != ZYDIS_CATEGORY_INTERRUPT;
}

/*
 * The by-design filter: why this instruction never goes into a stream, or
 * NULL.  Each reason is also in docs/isa-random.md; keep them narrow -- a
 * filter that hides a class of real bugs is a defect.
 */
static const char *gen_filter(const struct insn *in)
{
	switch (in->z.mnemonic) {
	case ZYDIS_MNEMONIC_CPUID:
		return "cpuid: reports loom's CPU model, not the host";
	case ZYDIS_MNEMONIC_XGETBV:
		return "xgetbv: XCR0 of loom's model; XINUSE depends on the host's state tracking";
	case ZYDIS_MNEMONIC_RDTSC: case ZYDIS_MNEMONIC_RDTSCP:
		return "rdtsc/rdtscp: time";
	case ZYDIS_MNEMONIC_RDPRU:
		return "rdpru: time (APERF/MPERF)";
	case ZYDIS_MNEMONIC_RDRAND: case ZYDIS_MNEMONIC_RDSEED:
		return "rdrand/rdseed: random numbers";
	case ZYDIS_MNEMONIC_RDPID:
		return "rdpid: the CPU the thread runs on";
	case ZYDIS_MNEMONIC_SYSCALL: case ZYDIS_MNEMONIC_SYSENTER:
		return "syscall/sysenter: a system call with random arguments";
	case ZYDIS_MNEMONIC_WRPKRU:
		return "wrpkru: may revoke the harness's access to its own memory";
	case ZYDIS_MNEMONIC_INT:
		if (in->z.raw.imm[0].value.u == 0x80)
			return "int 0x80: a system call with random arguments";
		return NULL;
	default:
		break;
	}
	if (writes_rip(in) && !is_rel_branch(in) && in->z.meta.category != ZYDIS_CATEGORY_INTERRUPT)
		return "indirect or far control transfer: leaves the stream's page";
	return NULL;
}

/* ---- generation ---- */

static const uint8_t legacy_prefixes[] = { 0x66, 0x66, 0x66, 0xf2, 0xf2, 0xf3, 0xf3, 0x67, 0xf0,
	0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65 };

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = v >> 8 * i;
}

static uint64_t rand_disp32(uint64_t *r)
{
	switch (rnd(r, 4)) {
	case 0: return rng_next(r);
	case 1: return (uint64_t)(int64_t)(int32_t)(rnd(r, 8192) - 4096);
	default: return rnd(r, 512);
	}
}

/* 15 bytes of one candidate instruction: Zydis decides how many it uses. */
static void gen_candidate(uint64_t *r, uint8_t *b)
{
	int n = 0;
	for (int i = 0; i < 15; i++)
		b[i] = rng_next(r);
	if (rnd(r, 10) == 0)
		return;                 /* plain random bytes */
	if (rnd(r, 2))
		for (int k = 1 + rnd(r, 3); k > 0; k--)
			b[n++] = legacy_prefixes[rnd(r, sizeof legacy_prefixes)];
	unsigned kind = rnd(r, 100);
	if (kind < 14) {                /* VEX: c5 RvvvvLpp or c4 RXBmmmmm WvvvvLpp */
		if (rnd(r, 2)) {
			b[n++] = 0xc5;
			b[n++] = rng_next(r);
		} else {
			b[n++] = 0xc4;
			b[n++] = (rng_next(r) & 0xe0) | (1 + rnd(r, 3));
			b[n++] = rng_next(r);
		}
		b[n++] = rng_next(r);
	} else {
		if (rnd(r, 5) < 2)
			b[n++] = 0x40 | rnd(r, 16);     /* REX */
		if (kind < 44) {        /* two-byte map, a quarter of them 0f 38/0f 3a */
			b[n++] = 0x0f;
			if (kind < 36)
				b[n++] = rng_next(r);
			else {
				b[n++] = rnd(r, 2) ? 0x38 : 0x3a;
				b[n++] = rng_next(r);
			}
		} else {
			b[n++] = rng_next(r);
		}
	}
	/* ModRM, SIB, displacement, immediate: the decoder takes what the
	 * opcode has. */
	unsigned mod = rnd(r, 100);
	mod = mod < 30 ? 0 : mod < 55 ? 1 : mod < 65 ? 2 : 3;
	unsigned rm = rnd(r, 8);
	b[n++] = mod << 6 | rnd(r, 8) << 3 | rm;
	if (mod != 3 && rm == 4 && n < 15)
		b[n++] = rng_next(r);
	if (n + 4 <= 15) {
		if (mod == 1)
			b[n++] = rnd(r, 2) ? rnd(r, 128) : rng_next(r);
		else if (mod == 2 || (mod == 0 && rm == 5))
			put_le(b + n, rand_disp32(r), 4), n += 4;
	}
	/* Immediates: small, edge or random. */
	if (n < 15) {
		uint64_t v;
		switch (rnd(r, 4)) {
		case 0: v = rnd(r, 64); break;
		case 1: v = rnd(r, 2) ? ~0ull : 0x80; break;
		default: v = rng_next(r); break;
		}
		put_le(b + n, v, 15 - n < 8 ? 15 - n : 8);
	}
}

static uint64_t rand_gpr(uint64_t *r)
{
	static const uint64_t edge[] = { 0, 1, 2, ~0ull, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, 0x7fffffffffffffff, 0x8000000000000000 };
	unsigned k = rnd(r, 100);
	uint64_t p = RND_SCRATCH + rnd(r, RND_SCRATCH_SIZE);
	if (k < 30)
		return rnd(r, 2) ? p & ~7ull : p;
	if (k < 38)
		return RND_SCRATCH + RND_SCRATCH_SIZE - 1 - rnd(r, 64);  /* near the end */
	if (k < 43)
		return p | rng_next(r) << 32;  /* junk above bit 31: 32-bit addressing */
	if (k < 60)
		return rnd(r, 2) ? rnd(r, 256) : (uint64_t)-(int64_t)rnd(r, 256);
	if (k < 75)
		return edge[rnd(r, sizeof edge / sizeof edge[0])];
	return rng_next(r);
}

static void rand_vec(uint64_t *r, uint8_t *v)
{
	static const uint32_t f32[] = { 0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
		0x7fc00000, 0x7fa00000, 0x00000001, 0x00800000, 0x4f000000, 0xcf000000, 0x3f000000 };
	static const uint64_t f64[] = { 0, 0x8000000000000000, 0x3ff0000000000000, 0xbff0000000000000,
		0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000, 0x7ff4000000000000, 1,
		0x0010000000000000, 0x41e0000000000000, 0xc1e0000000000000, 0x43e0000000000000 };
	switch (rnd(r, 5)) {
	case 0:
		for (int i = 0; i < 16; i += 4) {
			uint32_t x = rnd(r, 2) ? f32[rnd(r, sizeof f32 / 4)] : (uint32_t)rng_next(r);
			memcpy(v + i, &x, 4);
		}
		break;
	case 1:
		for (int i = 0; i < 16; i += 8) {
			uint64_t x = rnd(r, 2) ? f64[rnd(r, sizeof f64 / 8)] : rng_next(r);
			memcpy(v + i, &x, 8);
		}
		break;
	case 2:
		for (int i = 0; i < 16; i++)
			v[i] = rnd(r, 4) ? rnd(r, 4) : rng_next(r);
		break;
	default:
		for (int i = 0; i < 16; i += 8) {
			uint64_t x = rng_next(r);
			memcpy(v + i, &x, 8);
		}
	}
}

static long filtered_gen[16];
static const char *filtered_gen_why[16];

static void count_gen_filter(const char *why)
{
	for (int i = 0; i < 16; i++)
		if (filtered_gen_why[i] == why || !filtered_gen_why[i]) {
			filtered_gen_why[i] = why;
			filtered_gen[i]++;
			return;
		}
}

static void gen_stream(uint64_t seed, uint64_t index, struct rnd_stream *s)
{
	uint64_t r = seed * 0x2545f4914f6cdd1dull ^ (index + 1) * 0x9e3779b97f4a7c15ull;
	rng_next(&r);
	memset(s, 0, sizeof *s);
	s->index = index;
	int n = 1 + rnd(&r, 8), pos = 0;
	struct insn ins[8];
	int nins = 0, ended = 0;
	for (int k = 0; k < n && !ended; k++) {
		for (int tries = 0; tries < 64; tries++) {
			uint8_t b[15];
			gen_candidate(&r, b);
			struct insn in;
			if (!decode(b, 15, &in)) {
				/* Undecodable: the CPU should raise #UD right here.
				 * It ends the stream (its length is unknown). */
				if (rnd(&r, 12) || pos + 15 > RND_MAX_BYTES)
					continue;
				memcpy(s->bytes + pos, b, 15);
				pos += 15;
				ended = 1;
				break;
			}
			/* Privileged instructions just fault: fewer of them, so
			 * that more streams run to their end (not a filter). */
			if ((in.z.attributes & ZYDIS_ATTRIB_IS_PRIVILEGED) && rnd(&r, 4))
				continue;
			const char *why = gen_filter(&in);
			if (why) {
				count_gen_filter(why);
				continue;
			}
			if (pos + in.z.length > RND_MAX_BYTES)
				break;
			memcpy(s->bytes + pos, b, in.z.length);
			in.off = pos;
			in.len = in.z.length;
			ins[nins++] = in;
			pos += in.z.length;
			break;
		}
	}
	s->len = pos;
	/* Relative branches land on a later instruction or on the final ud2:
	 * never backwards, and never inside an instruction, whose bytes could
	 * decode as a backward branch (a loopne there spins for 2^64
	 * iterations), so a stream always ends. */
	for (int i = 0; i < nins; i++) {
		if (!is_rel_branch(&ins[i]))
			continue;
		int end = ins[i].off + ins[i].len;
		int j = i + 1 + rnd(&r, nins - i);
		int target = j < nins ? ins[j].off : pos;
		const ZydisDecodedInstruction *z = &ins[i].z;
		int io = z->raw.imm[0].offset, isz = z->raw.imm[0].size / 8;
		put_le(s->bytes + ins[i].off + io, (uint64_t)(target - end), isz);
	}
	/* Inputs. */
	struct rnd_state *st = &s->in;
	for (int i = 0; i < 16; i++)
		st->gpr[i] = rand_gpr(&r);
	if (rnd(&r, 8))                 /* pushes and pops stay in the page */
		st->gpr[4] = RND_SCRATCH + 1024 + 8 * rnd(&r, 256);
	st->rflags = 0x202 | (rng_next(&r) & FLAGS_ARITH) | (rnd(&r, 8) == 0 ? 0x400 : 0);
	st->mxcsr = 0x1f80;
	if (rnd(&r, 3) == 0) {
		st->mxcsr = 0x1f80 ^ (rng_next(&r) & 0xe07f);   /* rounding, FZ, DAZ, flags */
		if (rnd(&r, 4) == 0)
			st->mxcsr &= ~((uint64_t)rnd(&r, 64) << 7);     /* unmask some exceptions */
	}
	for (int i = 0; i < 16; i++) {
		rand_vec(&r, st->xmm[i]);
		rand_vec(&r, st->ymmh[i]);
	}
	for (int i = 0; i < 8; i++)
		st->mm[i] = rng_next(&r);
	s->mem_seed = rng_next(&r);
}

/* ---- decoding a stream back ---- */

static int decode_stream(const struct rnd_stream *s, struct insn *ins, int *undecodable)
{
	int n = 0, pos = 0;
	*undecodable = 0;
	while (pos < (int)s->len && n < 16) {
		if (!decode(s->bytes + pos, s->len - pos, &ins[n])) {
			*undecodable = 1;
			ins[n].off = pos;
			ins[n].len = s->len - pos;
			break;
		}
		ins[n].off = pos;
		ins[n].len = ins[n].z.length;
		pos += ins[n].len;
		n++;
	}
	return n;
}

static void hex(char *buf, const uint8_t *p, int n)
{
	buf[0] = 0;
	for (int i = 0; i < n; i++)
		sprintf(buf + 3 * i, "%02x%s", p[i], i + 1 < n ? " " : "");
}

static void print_stream(const struct rnd_stream *s, const char *indent)
{
	struct insn ins[16];
	int und, n = decode_stream(s, ins, &und);
	char t[256], h[64];
	for (int i = 0; i < n; i++) {
		format(&ins[i], t, sizeof t);
		hex(h, s->bytes + ins[i].off, ins[i].len);
		printf("%s+%-3d %-44s %s\n", indent, ins[i].off, h, t);
	}
	if (und) {
		int o = n ? ins[n - 1].off + ins[n - 1].len : 0;
		hex(h, s->bytes + o, s->len - o);
		printf("%s+%-3d %-44s (undecodable)\n", indent, o, h);
	}
	printf("%s+%-3d %-44s ud2 (end)\n", indent, s->len, "0f 0b");
}

static void print_inputs(const struct rnd_stream *s, const char *indent)
{
	printf("%s", indent);
	for (int i = 0; i < 16; i++)
		printf("%s=%#" PRIx64 "%s", gpr_names[i], s->in.gpr[i], i % 6 == 5 ? "\n" : " ");
	printf("\n%srflags=%#" PRIx64 " mxcsr=%#" PRIx64 " mem_seed=%#" PRIx64 "\n", indent, s->in.rflags,
	       s->in.mxcsr, s->mem_seed);
}

/* ---- comparison ---- */

/* Whether the CPU reporting these CPUID words has the instruction's
 * extension: 1, 0, or -1 for extensions every x86-64 CPU has or that
 * rgen does not tell apart. */
static int has_ext(ZydisISAExt e, const uint32_t *w)
{
#define B(word, bit) ((int)(w[RND_ID_##word] >> (bit) & 1))
	switch (e) {
	case ZYDIS_ISA_EXT_SSE3: return B(1C, 0);
	case ZYDIS_ISA_EXT_VTX: return B(1C, 5);
	case ZYDIS_ISA_EXT_SVM: return B(81C, 2);
	/* no CPUID bit tells a program it runs in a trust domain */
	case ZYDIS_ISA_EXT_TDX: return 0;
	case ZYDIS_ISA_EXT_SSSE3: return B(1C, 9);
	case ZYDIS_ISA_EXT_SSE4: return B(1C, 19) && B(1C, 20);
	case ZYDIS_ISA_EXT_PCLMULQDQ: return B(1C, 1);
	case ZYDIS_ISA_EXT_AES: return B(1C, 25);
	case ZYDIS_ISA_EXT_AVXAES: return B(1C, 25) && B(1C, 28);
	case ZYDIS_ISA_EXT_MOVBE: return B(1C, 22);
	case ZYDIS_ISA_EXT_FMA: return B(1C, 12);
	case ZYDIS_ISA_EXT_F16C: return B(1C, 29);
	case ZYDIS_ISA_EXT_AVX: return B(1C, 28);
	case ZYDIS_ISA_EXT_XSAVE: return B(1C, 26);
	case ZYDIS_ISA_EXT_MONITOR: return B(1C, 3);
	case ZYDIS_ISA_EXT_CLFSH: return B(1D, 19);
	case ZYDIS_ISA_EXT_AVX2: case ZYDIS_ISA_EXT_AVX2GATHER: return B(7B, 5);
	case ZYDIS_ISA_EXT_BMI1: return B(7B, 3);
	case ZYDIS_ISA_EXT_BMI2: return B(7B, 8);
	case ZYDIS_ISA_EXT_RDWRFSGS: return B(7B, 0);
	case ZYDIS_ISA_EXT_SGX: return B(7B, 2);
	case ZYDIS_ISA_EXT_RTM: return B(7B, 11);
	case ZYDIS_ISA_EXT_MPX: return B(7B, 14);
	case ZYDIS_ISA_EXT_AVX512EVEX: case ZYDIS_ISA_EXT_AVX512VEX: return B(7B, 16);
	case ZYDIS_ISA_EXT_ADOX_ADCX: return B(7B, 19);
	case ZYDIS_ISA_EXT_SMAP: return B(7B, 20);
	case ZYDIS_ISA_EXT_CLFLUSHOPT: return B(7B, 23);
	case ZYDIS_ISA_EXT_CLWB: return B(7B, 24);
	case ZYDIS_ISA_EXT_PT: return B(7B, 25);
	case ZYDIS_ISA_EXT_SHA: return B(7B, 29);
	case ZYDIS_ISA_EXT_PREFETCHWT1: return B(7C, 0);
	case ZYDIS_ISA_EXT_PKU: return B(7C, 4);
	case ZYDIS_ISA_EXT_WAITPKG: return B(7C, 5);
	case ZYDIS_ISA_EXT_CET: return B(7C, 7);
	case ZYDIS_ISA_EXT_GFNI: return B(7C, 8);
	case ZYDIS_ISA_EXT_VAES: return B(7C, 9);
	case ZYDIS_ISA_EXT_VPCLMULQDQ: return B(7C, 10);
	case ZYDIS_ISA_EXT_KEYLOCKER: case ZYDIS_ISA_EXT_KEYLOCKER_WIDE: return B(7C, 23);
	case ZYDIS_ISA_EXT_CLDEMOTE: return B(7C, 25);
	case ZYDIS_ISA_EXT_MOVDIR: return B(7C, 27) && B(7C, 28);
	case ZYDIS_ISA_EXT_ENQCMD: return B(7C, 29);
	case ZYDIS_ISA_EXT_UINTR: return B(7D, 5);
	case ZYDIS_ISA_EXT_SERIALIZE: return B(7D, 14);
	case ZYDIS_ISA_EXT_TSX_LDTRK: return B(7D, 16);
	case ZYDIS_ISA_EXT_AMX_BF16: return B(7D, 22);
	case ZYDIS_ISA_EXT_AMX_TILE: return B(7D, 24);
	case ZYDIS_ISA_EXT_AMX_INT8: return B(7D, 25);
	case ZYDIS_ISA_EXT_AVX_VNNI: return B(71A, 4);
	case ZYDIS_ISA_EXT_HRESET: return B(71A, 22);
	case ZYDIS_ISA_EXT_XSAVEOPT: return B(D1A, 0);
	case ZYDIS_ISA_EXT_XSAVEC: return B(D1A, 1);
	case ZYDIS_ISA_EXT_XSAVES: return B(D1A, 3);
	case ZYDIS_ISA_EXT_LZCNT: return B(81C, 5);
	case ZYDIS_ISA_EXT_SSE4A: return B(81C, 6);
	case ZYDIS_ISA_EXT_AMD3DNOW_PREFETCH: return B(81C, 8);
	case ZYDIS_ISA_EXT_XOP: return B(81C, 11);
	case ZYDIS_ISA_EXT_FMA4: return B(81C, 16);
	case ZYDIS_ISA_EXT_TBM: return B(81C, 21);
	case ZYDIS_ISA_EXT_MONITORX: return B(81C, 29);
	case ZYDIS_ISA_EXT_AMD3DNOW: return B(81D, 31);
	case ZYDIS_ISA_EXT_CLZERO: return B(88B, 0);
	default: return -1;
	}
#undef B
}

/*
 * Whether loom refused (SIGILL at it) an instruction of an extension that
 * neither the host's CPUID nor loom's model reports, where the host did
 * something else.  loom's model promises #UD for what it does not report,
 * as the SDM has it for a CPU without the extension; a CPU that has it but
 * hides it (a virtual machine's CPUID: ENQCMD, SGX, Intel PT's ptwrite,
 * VMX/SVM hypercalls the hypervisor answers, TDX's tdcall) runs it or
 * faults otherwise, and is no oracle for it.  Such streams are counted
 * and not compared.
 */
static int hidden_refused(const struct insn *ins, int n, const struct rnd_result *a,
			  const struct rnd_result *b, const uint32_t *wn, const uint32_t *wl)
{
	if (b->signo != 4 || (a->signo == 4 && a->pc_off == b->pc_off))
		return 0;
	for (int k = 0; k < n; k++)
		if ((uint64_t)ins[k].off == b->pc_off)
			return has_ext(ins[k].z.meta.isa_ext, wn) == 0 && has_ext(ins[k].z.meta.isa_ext, wl) == 0;
	return 0;
}

static int zreg_gpr(ZydisRegister r)
{
	ZydisRegister l = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
	if (l >= ZYDIS_REGISTER_RAX && l <= ZYDIS_REGISTER_R15)
		return l - ZYDIS_REGISTER_RAX;
	return -1;
}

static int zreg_vec(ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_XMM0 && r <= ZYDIS_REGISTER_XMM15)
		return r - ZYDIS_REGISTER_XMM0;
	if (r >= ZYDIS_REGISTER_YMM0 && r <= ZYDIS_REGISTER_YMM15)
		return r - ZYDIS_REGISTER_YMM0;
	return -1;
}

static int writes_gpr(const struct insn *in)
{
	int m = 0;
	for (int i = 0; i < in->z.operand_count; i++) {
		const ZydisDecodedOperand *o = &in->ops[i];
		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER && (o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
		    zreg_gpr(o->reg.value) >= 0)
			m |= 1 << zreg_gpr(o->reg.value);
		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY && o->mem.base != ZYDIS_REGISTER_NONE &&
		    zreg_gpr(o->mem.base) == 4 && o->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN)
			m |= 1 << 4;    /* push/pop */
	}
	return m;
}

/* The count of a shift or rotate, or -1 when it is not known statically
 * (cl, changed by an earlier instruction); *is_shift set if it is one. */
static int shift_count(const struct insn *in, const struct rnd_stream *s, int rcx_known, int *is_shift)
{
	switch (in->z.mnemonic) {
	case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL:
	case ZYDIS_MNEMONIC_RCR: case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR:
	case ZYDIS_MNEMONIC_SAR: case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
		break;
	default:
		*is_shift = 0;
		return 0;
	}
	*is_shift = 1;
	int w = in->z.operand_width;
	int idx = (in->z.mnemonic == ZYDIS_MNEMONIC_SHLD || in->z.mnemonic == ZYDIS_MNEMONIC_SHRD) ? 2 : 1;
	const ZydisDecodedOperand *op = &in->ops[idx];
	uint64_t c;
	if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		c = op->imm.value.u;
	else if (op->type == ZYDIS_OPERAND_TYPE_REGISTER && op->reg.value == ZYDIS_REGISTER_CL)
		c = rcx_known ? s->in.gpr[1] & 0xff : ~0ull;
	else
		c = 1;
	if (c == ~0ull)
		return -1;
	return (int)(c & (w == 64 ? 63 : 31));
}

/*
 * Works out which flags are undefined when the native run ended, which x87
 * condition codes are, and whether some instruction that may have run
 * consumed something undefined (then the stream says nothing and is not
 * compared).  Branches only go forward (gen_stream), so the stream is an
 * acyclic graph walked in order; which way a branch went is not known, so
 * the state where paths meet is what any of them may leave: a flag is
 * undefined if some path left it so, rcx is known only if no path wrote
 * it.  Walking the bytes in a straight line instead took a branch's
 * skipped instructions for ones that ran: their flags (OF of an earlier
 * shl, say) counted as defined.
 */
struct walk {
	uint64_t undef;         /* RFLAGS bits undefined at the end */
	unsigned fpu_undef;     /* C0-C3 (Zydis order) undefined at the end */
	const char *taint;      /* why the stream is not compared, or NULL */
	const char *model;      /* an extension host and model disagree on */
	uint32_t reached;       /* instructions some path runs (bit per index) */
};

/* What may hold on entry to one instruction (or at the stream's end). */
struct walk_state {
	int reached;
	int rcx_known;          /* rcx still holds its input on every path */
	uint64_t undef;
	unsigned fpu_undef;
};

static void walk_merge(struct walk_state *to, const struct walk_state *from)
{
	if (!to->reached) {
		*to = *from;
		return;
	}
	to->rcx_known &= from->rcx_known;
	to->undef |= from->undef;
	to->fpu_undef |= from->fpu_undef;
}

/* One instruction's effect on the state (it completed). */
static void walk_insn(const struct rnd_stream *s, const struct insn *in, struct walk_state *st, struct walk *w)
{
	const ZydisAccessedFlags *cf = in->z.cpu_flags;
	if (cf && (cf->tested & st->undef & FLAGS_ARITH) && !w->taint)
		w->taint = "reads a flag an earlier instruction left undefined";
	const ZydisAccessedFlags *ff = in->z.fpu_flags;
	if (ff && (ff->tested & st->fpu_undef) && !w->taint)
		w->taint = "reads an x87 condition code left undefined";
	int is_shift, c = shift_count(in, s, st->rcx_known, &is_shift);
	uint64_t u = cf ? cf->undefined : 0;
	uint64_t def = cf ? (cf->modified | cf->set_0 | cf->set_1) & ~u : 0;
	if (is_shift) {
		ZydisMnemonic m = in->z.mnemonic;
		int width = in->z.operand_width;
		if (c < 0) {
			/* Count unknown: anything it could make undefined is. */
			u |= (1u << 11) | (1u << 4) | 1u;
			def = 0;
			if ((m == ZYDIS_MNEMONIC_SHLD || m == ZYDIS_MNEMONIC_SHRD) && width == 16 && !w->taint)
				w->taint = "shld/shrd with an unknown count (result undefined above 16)";
		} else if (c == 0) {
			u = 0;
			def = 0;        /* flags untouched */
		} else {
			if (c != 1)
				u |= 1u << 11;
			if (m == ZYDIS_MNEMONIC_SHL || m == ZYDIS_MNEMONIC_SHR || m == ZYDIS_MNEMONIC_SAR ||
			    m == ZYDIS_MNEMONIC_SHLD || m == ZYDIS_MNEMONIC_SHRD)
				u |= 1u << 4;
			if ((m == ZYDIS_MNEMONIC_SHL || m == ZYDIS_MNEMONIC_SHR) && c >= width)
				u |= 1;
			if ((m == ZYDIS_MNEMONIC_SHLD || m == ZYDIS_MNEMONIC_SHRD) && c > width) {
				u |= FLAGS_ARITH;
				if (!w->taint)
					w->taint = "shld/shrd with a count above the width (result undefined)";
			}
			def &= ~u;
		}
	}
	st->undef = (st->undef & ~def) | u;
	if (ff) {
		unsigned fdef = (ff->modified | ff->set_0 | ff->set_1) & ~ff->undefined;
		st->fpu_undef = (st->fpu_undef & ~fdef) | ff->undefined;
	}
	if (writes_gpr(in) & 2)
		st->rcx_known = 0;
}

static void walk_stream(const struct rnd_stream *s, const struct insn *ins, int n, uint64_t end_off,
			const uint32_t *wn, const uint32_t *wl, struct walk *w)
{
	static char model_buf[64];
	memset(w, 0, sizeof *w);
	/* Nodes: entry to ins[0..n-1], then the spot after the last decoded
	 * instruction (undecodable bytes or the final ud2), then the final
	 * ud2 when undecodable bytes come first. */
	uint64_t node_off[18];
	int nodes = 0;
	for (; nodes < n; nodes++)
		node_off[nodes] = ins[nodes].off;
	node_off[nodes++] = n ? (uint64_t)ins[n - 1].off + ins[n - 1].len : 0;
	if (node_off[nodes - 1] != s->len)
		node_off[nodes++] = s->len;
	struct walk_state at[18], end;
	memset(at, 0, sizeof at);
	memset(&end, 0, sizeof end);
	at[0] = (struct walk_state){ .reached = 1, .rcx_known = 1 };
	for (int i = 0; i < n && (uint64_t)ins[i].off <= end_off; i++) {
		const struct insn *in = &ins[i];
		if (!at[i].reached)
			continue;       /* every branch before it jumps over it */
		w->reached |= 1u << i;
		int hn = has_ext(in->z.meta.isa_ext, wn), hl = has_ext(in->z.meta.isa_ext, wl);
		if (hn != hl && !w->model) {
			snprintf(model_buf, sizeof model_buf, "%s (host %d, model %d)",
				 ZydisISAExtGetString(in->z.meta.isa_ext), hn, hl);
			w->model = model_buf;
		}
		if ((uint64_t)in->off == end_off)
			break;          /* the faulting instruction did not complete */
		struct walk_state st = at[i];
		walk_insn(s, in, &st, w);
		int cat = in->z.meta.category, br = is_rel_branch(in);
		if (!br || (cat != ZYDIS_CATEGORY_UNCOND_BR && cat != ZYDIS_CATEGORY_CALL))
			walk_merge(&at[i + 1], &st);
		if (br) {
			uint64_t target = in->off + in->len + in->z.raw.imm[0].value.s;
			int t = -1;
			for (int k = i + 1; k < nodes; k++)
				if (node_off[k] == target)
					t = k;
			if (t >= 0)
				walk_merge(&at[t], &st);
			else            /* not where the generator points branches: anywhere later */
				for (int k = i + 1; k < nodes; k++)
					walk_merge(&at[k], &st);
		}
	}
	/* The state where the native run stopped: at a node (a fault there,
	 * or a trap after the instruction before it), or (a pc anywhere
	 * else) whatever any path may have left. */
	for (int k = 0; k < nodes; k++)
		if (node_off[k] == end_off)
			end = at[k];
	if (!end.reached)
		for (int k = 0; k < nodes; k++)
			if (at[k].reached && (node_off[k] <= end_off || end_off > s->len))
				walk_merge(&end, &at[k]);
	w->undef = end.undef;
	w->fpu_undef = end.fpu_undef;
}

/* The class of a difference: the part and the last instruction (among
 * those that may have run) that wrote it. */
static const char *culprit(const struct insn *ins, int n, uint64_t end_off, uint32_t reached, const char *part,
			   int reg)
{
	const char *who = NULL, *xsave = NULL;
	for (int i = 0; i < n && (uint64_t)ins[i].off <= end_off; i++) {
		const struct insn *in = &ins[i];
		int hit = 0;
		if (!(reached >> i & 1))
			continue;
		/* An XSAVE-family store writes an area whose size follows
		 * XCR0, the host's larger than loom's model's: a memory
		 * difference after one is named after it. */
		if (!strcmp(part, "mem") && (uint64_t)in->off != end_off &&
		    (in->z.meta.isa_ext == ZYDIS_ISA_EXT_XSAVE || in->z.meta.isa_ext == ZYDIS_ISA_EXT_XSAVEOPT ||
		     in->z.meta.isa_ext == ZYDIS_ISA_EXT_XSAVEC) &&
		    strncmp(ZydisMnemonicGetString(in->z.mnemonic), "xrstor", 6))
			xsave = ZydisMnemonicGetString(in->z.mnemonic);
		if (!strcmp(part, "gpr"))
			hit = writes_gpr(in) >> reg & 1;
		else if (!strcmp(part, "rflags"))
			hit = in->z.cpu_flags && ((in->z.cpu_flags->modified | in->z.cpu_flags->set_0 |
						   in->z.cpu_flags->set_1 | in->z.cpu_flags->undefined) >> reg & 1);
		else if (!strcmp(part, "xmm") || !strcmp(part, "ymm")) {
			for (int k = 0; k < in->z.operand_count; k++)
				if (in->ops[k].type == ZYDIS_OPERAND_TYPE_REGISTER &&
				    (in->ops[k].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
				    zreg_vec(in->ops[k].reg.value) == reg)
					hit = 1;
		} else if (!strcmp(part, "mem")) {
			for (int k = 0; k < in->z.operand_count; k++)
				if (in->ops[k].type == ZYDIS_OPERAND_TYPE_MEMORY &&
				    (in->ops[k].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
					hit = 1;
		} else if (!strcmp(part, "mxcsr")) {
			for (int k = 0; k < in->z.operand_count; k++)
				if (in->ops[k].type == ZYDIS_OPERAND_TYPE_REGISTER &&
				    in->ops[k].reg.value == ZYDIS_REGISTER_MXCSR &&
				    (in->ops[k].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
					hit = 1;
		} else if (!strcmp(part, "x87")) {
			hit = in->z.meta.isa_ext == ZYDIS_ISA_EXT_X87 || in->z.meta.isa_ext == ZYDIS_ISA_EXT_MMX ||
			      in->z.meta.isa_ext == ZYDIS_ISA_EXT_XSAVE;
		}
		if (hit)
			who = ZydisMnemonicGetString(in->z.mnemonic);
		if ((uint64_t)in->off == end_off)
			break;
	}
	if (xsave)
		return xsave;
	return who ? who : "?";
}

/* Where loom starts a static-PIE's heap (STATIC_PIE_BRK, src/linux/elf.c). */
#define LOOM_STATIC_PIE_BRK 0x100000000000ull

struct klass {
	char key[96];
	long count;
	uint64_t example;
	int known;
};
static struct klass classes[4096];
static int nclasses;

static struct klass *class_of(const char *key)
{
	for (int i = 0; i < nclasses; i++)
		if (!strcmp(classes[i].key, key))
			return &classes[i];
	if (nclasses == (int)(sizeof classes / sizeof classes[0]))
		return &classes[nclasses - 1];
	struct klass *k = &classes[nclasses++];
	snprintf(k->key, sizeof k->key, "%s", key);
	return k;
}

/* Known classes: lines "GLOB | reason", GLOB matched against the class
 * key ("signal POPFQ", "gpr RCX", ...). */
static char known_globs[256][96];
static int nknown;

static void load_known(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];
	if (!f) {
		perror(path);
		exit(2);
	}
	while (fgets(line, sizeof line, f) && nknown < 256) {
		char *bar = strstr(line, " |");
		if (line[0] == '#' || !bar)
			continue;
		*bar = 0;
		snprintf(known_globs[nknown++], sizeof known_globs[0], "%s", line);
	}
	fclose(f);
}

static int is_known(const char *key)
{
	for (int i = 0; i < nknown; i++)
		if (!fnmatch(known_globs[i], key, 0))
			return 1;
	return 0;
}

static void *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	fseek(f, 0, SEEK_SET);
	void *p = malloc(*len ? *len : 1);
	if (fread(p, 1, *len, f) != *len) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	return p;
}

static const char *sig_name(uint64_t s)
{
	static char b[16];
	switch (s) {
	case 4: return "SIGILL";
	case 5: return "SIGTRAP";
	case 7: return "SIGBUS";
	case 8: return "SIGFPE";
	case 11: return "SIGSEGV";
	case 31: return "SIGSYS";
	default: snprintf(b, sizeof b, "signal %" PRIu64, s); return b;
	}
}

static int cmp_main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[0], "--known")) {
		load_known(argv[1]);
		argv += 2;
		argc -= 2;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: rgen cmp [--known FILE] STREAMS NATIVE LOOM LABEL\n");
		return 2;
	}
	const char *label = argv[3];
	size_t sl, nl, ll;
	uint8_t *sf = slurp(argv[0], &sl), *nf = slurp(argv[1], &nl), *lf = slurp(argv[2], &ll);
	struct rnd_file_hdr fh;
	if (!sf || sl < sizeof fh || (memcpy(&fh, sf, sizeof fh), fh.magic != RND_MAGIC) ||
	    sl != sizeof fh + fh.count * sizeof(struct rnd_stream)) {
		fprintf(stderr, "rgen: %s: not a stream file\n", argv[0]);
		return 2;
	}
	struct rnd_out_hdr hn, hl;
	size_t want = sizeof hn + fh.count * sizeof(struct rnd_result);
	if (!nf || nl != want || (memcpy(&hn, nf, sizeof hn), hn.magic != RND_MAGIC) || hn.count != fh.count) {
		printf("FAIL %s: the native run wrote no complete output\n", label);
		printf("random %s: 0 passed, 1 failed, 0 skipped\n", label);
		return 1;
	}
	uint64_t lcount = 0;
	if (lf && ll >= sizeof hl && (memcpy(&hl, lf, sizeof hl), hl.magic == RND_MAGIC) && hl.count == fh.count)
		lcount = (ll - sizeof hl) / sizeof(struct rnd_result);
	else {
		printf("note %s: loom's output has no valid header\n", label);
		memcpy(&hl, &hn, sizeof hl);
	}
	long passed = 0, failed = 0, skipped = 0, shown = 0;
	long f_model = 0, f_taint = 0, f_hidden = 0;
	const struct rnd_stream *streams = (const void *)(sf + sizeof fh);
	for (uint64_t i = 0; i < fh.count; i++) {
		struct rnd_stream s;
		memcpy(&s, &streams[i], sizeof s);
		struct rnd_result a, b;
		memcpy(&a, nf + sizeof hn + i * sizeof a, sizeof a);
		struct insn ins[16];
		int und, n = decode_stream(&s, ins, &und);
		char diffs[8192], key[96] = "";
		int dl = 0;
		struct walk w = { 0 };
#define DIFF(...) do { if (dl < (int)sizeof diffs - 300) dl += snprintf(diffs + dl, sizeof diffs - dl, "    " __VA_ARGS__); } while (0)
#define CLASS(part, reg) do { if (!key[0]) snprintf(key, sizeof key, "%s %s", part, culprit(ins, n, a.pc_off, w.reached, part, reg)); } while (0)
		if (i >= lcount) {
			DIFF("loom produced no result for this stream (its run ended early)\n");
			snprintf(key, sizeof key, "no result");
		} else {
			memcpy(&b, lf + sizeof hl + i * sizeof b, sizeof b);
			walk_stream(&s, ins, n, a.pc_off, hn.cpuid, hl.cpuid, &w);
			if (w.model) {
				f_model++;
				continue;
			}
			if (w.taint) {
				f_taint++;
				continue;
			}
			if (hidden_refused(ins, n, &a, &b, hn.cpuid, hl.cpuid)) {
				f_hidden++;
				continue;
			}
			if (a.signo != b.signo || a.pc_off != b.pc_off || a.sig_code != b.sig_code || a.sig_addr != b.sig_addr) {
				DIFF("outcome: native %s code %" PRId64 " addr %#" PRIx64 " at +%" PRId64
				     ", loom %s code %" PRId64 " addr %#" PRIx64 " at +%" PRId64 "\n",
				     sig_name(a.signo), (int64_t)a.sig_code, a.sig_addr, (int64_t)a.pc_off,
				     sig_name(b.signo), (int64_t)b.sig_code, b.sig_addr, (int64_t)b.pc_off);
				/* The class: both outcomes and the instruction at the
				 * earlier pc (or the one before it when the pc is
				 * mid-instruction: a trap after it). */
				uint64_t at = a.pc_off < b.pc_off ? a.pc_off : b.pc_off;
				const char *who = "?";
				for (int k = 0; k < n; k++)
					if ((uint64_t)ins[k].off == at)
						who = ZydisMnemonicGetString(ins[k].z.mnemonic);
					else if ((uint64_t)ins[k].off < at && !strcmp(who, "?") &&
						 (k + 1 == n || (uint64_t)ins[k + 1].off > at))
						who = "?";
				if (at == s.len)
					who = "ud2-end";
				else if (und && at >= (uint64_t)(n ? ins[n - 1].off + ins[n - 1].len : 0))
					who = "undecodable";
				char ns[24], ls[24];
				snprintf(ns, sizeof ns, "%s/%" PRId64, sig_name(a.signo), (int64_t)a.sig_code);
				snprintf(ls, sizeof ls, "%s/%" PRId64, sig_name(b.signo), (int64_t)b.sig_code);
				snprintf(key, sizeof key, "signal %s loom %s%s at %s", ns, ls,
					 a.signo == b.signo && a.sig_code == b.sig_code ?
					 (a.pc_off != b.pc_off ? " (pc)" : " (addr)") : "", who);
				/* Under loom the harness's heap is where loom puts
				 * a static-PIE's brk (src/linux/elf.c); natively
				 * nothing is there (11: SIGSEGV). */
				if (a.signo == 11 && a.sig_addr - LOOM_STATIC_PIE_BRK < (1ull << 32))
					snprintf(key, sizeof key, "signal %s at loom's static-PIE heap", ns);
			}
			for (int r = 0; r < 16; r++)
				if (a.gpr[r] != b.gpr[r]) {
					DIFF("%s: native %#" PRIx64 " loom %#" PRIx64 "\n", gpr_names[r], a.gpr[r], b.gpr[r]);
					CLASS("gpr", r);
				}
			uint64_t fm = FLAGS_CMP & ~w.undef;
			if ((a.rflags ^ b.rflags) & fm) {
				DIFF("rflags: native %#" PRIx64 " loom %#" PRIx64 " (compared %#" PRIx64 ")\n", a.rflags,
				     b.rflags, fm);
				CLASS("rflags", __builtin_ctzll((a.rflags ^ b.rflags) & fm));
			}
			if (a.mxcsr != b.mxcsr) {
				DIFF("mxcsr: native %#x loom %#x\n", a.mxcsr, b.mxcsr);
				CLASS("mxcsr", 0);
			}
			/* x87: C0-C3 are FSW bits 8, 9, 10, 14. */
			uint16_t cbits = 0;
			static const int cpos[4] = { 8, 9, 10, 14 };
			for (int k = 0; k < 4; k++)
				if (w.fpu_undef >> k & 1)
					cbits |= 1 << cpos[k];
			if (a.fcw != b.fcw || ((a.fsw ^ b.fsw) & ~cbits) || a.ftw != b.ftw) {
				DIFF("x87: native fcw %#x fsw %#x ftw %#x, loom fcw %#x fsw %#x ftw %#x\n", a.fcw, a.fsw,
				     a.ftw, b.fcw, b.fsw, b.ftw);
				CLASS("x87", 0);
			}
			int top = a.fsw >> 11 & 7;
			for (int k = 0; k < 8; k++)
				if ((a.ftw >> ((top + k) & 7) & 1) && memcmp(a.st[k], b.st[k], 10)) {
					char x[64], y[64];
					hex(x, a.st[k], 10);
					hex(y, b.st[k], 10);
					DIFF("st%d: native [%s] loom [%s]\n", k, x, y);
					CLASS("x87", 0);
				}
			for (int x = 0; x < 16; x++)
				if (memcmp(a.xmm[x], b.xmm[x], 16)) {
					char p[64], q[64];
					hex(p, a.xmm[x], 16);
					hex(q, b.xmm[x], 16);
					DIFF("xmm%d: native [%s]\n                loom [%s]\n", x, p, q);
					CLASS("xmm", x);
				}
			for (int x = 0; x < 16; x++)
				if (memcmp(a.ymmh[x], b.ymmh[x], 16)) {
					char p[64], q[64];
					hex(p, a.ymmh[x], 16);
					hex(q, b.ymmh[x], 16);
					DIFF("ymm%d[255:128]: native [%s]\n                       loom [%s]\n", x, p, q);
					CLASS("ymm", x);
				}
			for (int k = 0; k < RND_SCRATCH_SIZE / 256; k++)
				if (a.mem_hash[k] != b.mem_hash[k]) {
					DIFF("scratch bytes %d..%d differ\n", 256 * k, 256 * k + 255);
					CLASS("mem", 0);
				}
		}
		if (!dl) {
			passed++;
			continue;
		}
		int known = is_known(key);
		struct klass *k = class_of(key);
		if (!k->count++)
			k->example = s.index;
		k->known = known;
		known ? skipped++ : failed++;
		printf("%s %s: seed %" PRIu64 " stream %" PRIu64 ": %s\n", known ? "KNOWN" : "FAIL", label, fh.seed,
		       s.index, key);
		if (!known && shown++ < 20) {
			print_stream(&s, "    ");
			print_inputs(&s, "    in: ");
			fputs(diffs, stdout);
			printf("    repro: tests/isa/random.sh LOOM --seed %" PRIu64 " --first %" PRIu64 " --streams 1\n",
			       fh.seed, s.index);
		}
	}
	for (int c = 0; c < nclasses; c++)
		printf("class %s: %s: %ld (first: seed %" PRIu64 " stream %" PRIu64 ")%s\n", label, classes[c].key,
		       classes[c].count, fh.seed, classes[c].example, classes[c].known ? " known" : "");
	printf("filtered %s: %ld streams use an extension the host and loom's model disagree on, "
	       "%ld read something left undefined, %ld run an instruction the host hides\n", label, f_model,
	       f_taint, f_hidden);
	printf("random %s: %ld passed, %ld failed, %ld skipped\n", label, passed, failed,
	       skipped + f_model + f_taint + f_hidden);
	return failed != 0;
}

int main(int argc, char **argv)
{
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL);
	if (argc == 6 && !strcmp(argv[1], "gen")) {
		uint64_t seed = strtoull(argv[2], NULL, 0), first = strtoull(argv[3], NULL, 0);
		uint64_t count = strtoull(argv[4], NULL, 0);
		if (count > RND_BATCH_MAX) {
			fprintf(stderr, "rgen: at most %d streams per batch\n", RND_BATCH_MAX);
			return 2;
		}
		FILE *f = fopen(argv[5], "wb");
		if (!f) {
			perror(argv[5]);
			return 2;
		}
		struct rnd_file_hdr fh = { RND_MAGIC, seed, first, count };
		fwrite(&fh, sizeof fh, 1, f);
		for (uint64_t i = 0; i < count; i++) {
			struct rnd_stream s;
			gen_stream(seed, first + i, &s);
			fwrite(&s, sizeof s, 1, f);
		}
		if (fclose(f)) {
			perror(argv[5]);
			return 2;
		}
		for (int i = 0; i < 16 && filtered_gen_why[i]; i++)
			printf("dropped at generation: %ld: %s\n", filtered_gen[i], filtered_gen_why[i]);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "cmp"))
		return cmp_main(argc - 2, argv + 2);
	if (argc == 4 && !strcmp(argv[1], "show")) {
		struct rnd_stream s;
		gen_stream(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0), &s);
		print_stream(&s, "");
		print_inputs(&s, "in: ");
		return 0;
	}
	fprintf(stderr, "usage: rgen gen SEED FIRST COUNT FILE | rgen cmp [--known FILE] STREAMS NATIVE LOOM LABEL |"
			" rgen show SEED INDEX\n");
	return 2;
}
