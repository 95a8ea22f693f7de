/*
 * SSE helpers against the host CPU.  Every row of the table in sse-ops.h is
 * run through its helper (helper_sse_op, helper_sse_fp, helper_sse_pcmpstr)
 * on a struct cpu, and the same instruction runs on the host, on random and
 * edge inputs (NaN with payloads, signalling NaN, ±0, ±inf, denormals, the
 * limits of each integer lane) under a range of MXCSR settings (rounding
 * modes, FTZ, DAZ, sticky flags already set).  Results, MXCSR, returned
 * flags and GPR values must be bit-identical.
 *
 * The host side of the single-instruction rows (IA, FA) is the instruction
 * written in asm; rows implemented by hand (IC, FC: immediates, GPR and
 * flag results, implicit xmm0) are checked against the instruction's raw
 * encoding, assembled at run time into a stub with every imm8 value, so the
 * oracle shares nothing with the helper.  Also checked: loom's own MXCSR
 * control bits survive a helper, and an exception the guest unmasked
 * becomes SIGFPE through exec_raise with the destination untouched.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <immintrin.h>
#include "guest/guest.h"
#include "guest/x86/cpu.h"
#include "guest/x86/sse-ops.h"
#include "linux/trap.h"
#include "unit.h"

/* ---- inputs ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { return unit_xorshift(&rng); }

static const uint32_t f32_edge[] = {
	0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
	0x7fc00000, 0x7fc12345, 0xffc00001, 0x7f800001, 0xff812345, 0x7fbfffff,
	0x00000001, 0x007fffff, 0x80000010, 0x00800000, 0x80800000, 0x7f7fffff,
	0xff7fffff, 0x4f000000, 0xcf000000, 0x4effffff, 0xcf000001, 0x5f000000,
	0xdf000000, 0x3f000000, 0x3fc00000, 0x40200000, 0xc0200000, 0x40400000,
	0x3eaaaaab, 0x0c000000, 0x1f800000, 0x00400000,
};
static const uint64_t f64_edge[] = {
	0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
	0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
	0x7ff8000000012345ull, 0xfff8000000000001ull, 0x7ff0000000000001ull,
	0xfff0000000054321ull, 0x0000000000000001ull, 0x000fffffffffffffull,
	0x8000000000000010ull, 0x0010000000000000ull, 0x7fefffffffffffffull,
	0x41dfffffffc00000ull, 0xc1e0000000000000ull, 0x41e0000000000000ull,
	0xc1e0000000200000ull, 0x43e0000000000000ull, 0xc3e0000000000000ull,
	0x43dfffffffffffffull, 0x3fe0000000000000ull, 0x4004000000000000ull,
	0xc004000000000000ull, 0x3fd5555555555555ull, 0x3810000000000000ull,
	0x36a0000000000000ull, 0x47efffffe0000000ull, 0x47f0000000000000ull,
};
static const uint32_t int_edge[] = {
	0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 0x00007fff, 0x00008000,
	0x7f7f7f7f, 0x80808080, 0xff00ff00, 0x00ff00ff, 0x7fff8000, 0x80007fff,
	0x01010101, 0xfffefffe,
};
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A 128-bit input: lanes of one shape, each random or an edge value. */
static void gen_input(x86_xmm *x)
{
	int shape = rnd() % 4;
	for (int i = 0; i < 4; i++) {
		uint64_t r = rnd();
		switch (shape) {
		case 0: x->l[i] = r % 3 ? f32_edge[r % NELEM(f32_edge)] : (uint32_t)(r >> 32); break;
		case 1: x->l[i] = r % 3 ? int_edge[r % NELEM(int_edge)] : (uint32_t)(r >> 32); break;
		case 2:
			if (i < 2)
				x->q[i] = r % 3 ? f64_edge[r % NELEM(f64_edge)] : rnd();
			break;
		default: {
			/* modest finite floats: arithmetic that rounds */
			uint32_t e = 100 + (r >> 8) % 55;
			x->l[i] = (uint32_t)(r >> 40) & 0x807fffff;
			x->l[i] |= e << 23;
		}
		}
	}
}

/* Short strings with a few distinct characters and embedded NULs, so the
 * string compares find matches and terminators. */
static void gen_string(x86_xmm *x)
{
	for (int i = 0; i < 16; i++) {
		uint64_t r = rnd();
		x->b[i] = r % 13 == 0 ? 0 : (r % 7 == 0 ? (uint8_t)(r >> 8) : "abcAB\x80\xff"[r % 7]);
	}
}

static const uint32_t mxcsr_modes[] = {
	0x1f80, 0x3f80, 0x5f80, 0x7f80,	/* RN, RD, RU, RZ */
	0x9f80, 0x1fc0, 0x9fc0, 0xffc0,	/* FTZ, DAZ, both, both with RZ */
	0x1fbf,				/* every sticky flag already set */
};

/* ---- the host side ---- */

struct io {
	x86_xmm d, s, x0;	/* xmm1 (destination), xmm2 (source), xmm0 */
	uint64_t rax, rdx, rcx, flags;
	uint32_t mx_in, mx_out, mx_restore, pad;
};
_Static_assert(offsetof(struct io, rax) == 48 && offsetof(struct io, mx_in) == 80, "jit offsets");

/* Rows run by one instruction: the instruction itself, under mx_in. */
#define HOST_2OP(name)								\
static void host_##name(struct io *io)						\
{										\
	__m128i d, s;								\
	memcpy(&d, &io->d, 16);							\
	memcpy(&s, &io->s, 16);							\
	asm volatile("ldmxcsr %[mi]\n\t" #name " %[s], %[d]\n\t"		\
		     "stmxcsr %[mo]\n\tldmxcsr %[mr]"				\
		     : [d] "+x"(d), [mo] "=m"(io->mx_out)				\
		     : [s] "x"(s), [mi] "m"(io->mx_in), [mr] "m"(io->mx_restore));	\
	memcpy(&io->d, &d, 16);							\
}
#define HOST_IA(name) HOST_2OP(name)
#define HOST_FA(name) HOST_2OP(name)
#define HOST_IC(name)
#define HOST_FC(name)
#define X(name, impl, feat, lift) HOST_##impl(name)
SSE_OPS(X)
#undef X

static const struct asm_row {
	enum sse_op op;
	const char *name;
	void (*host)(struct io *);
} asm_rows[] = {
#define ROW_IA(name) { SSE_##name, #name, host_##name },
#define ROW_FA(name) ROW_IA(name)
#define ROW_IC(name)
#define ROW_FC(name)
#define X(name, impl, feat, lift) ROW_##impl(name)
	SSE_OPS(X)
#undef X
};

/* Rows implemented by hand: the encoding with xmm1/ecx as reg and
 * xmm2/edx as r/m (ModRM 0xCA), run from a generated stub. */
enum kind {
	K_XMM,		/* result in xmm1 (and MXCSR) */
	K_CVTSI,	/* xmm1 from the integer in rdx */
	K_GPR,		/* result in ecx/rcx */
	K_FLAGS,	/* result in RFLAGS */
	K_STRI,		/* ecx and RFLAGS */
	K_STRM,		/* xmm0 and RFLAGS */
	K_CRC,		/* ecx from ecx and dl/dx/edx/rdx */
};

static const struct enc_row {
	enum sse_op op;
	const char *name;
	uint8_t len, bytes[6];	/* up to the ModRM byte, exclusive */
	bool imm;
	enum kind kind;
	bool wide;		/* REX.W form of PCMPESTRx */
} enc_rows[] = {
	{ SSE_CMPPS, "cmpps", 2, { 0x0f, 0xc2 }, true, K_XMM },
	{ SSE_CMPPD, "cmppd", 3, { 0x66, 0x0f, 0xc2 }, true, K_XMM },
	{ SSE_CMPSS, "cmpss", 3, { 0xf3, 0x0f, 0xc2 }, true, K_XMM },
	{ SSE_CMPSD, "cmpsd", 3, { 0xf2, 0x0f, 0xc2 }, true, K_XMM },
	{ SSE_COMISS, "comiss", 2, { 0x0f, 0x2f }, false, K_FLAGS },
	{ SSE_UCOMISS, "ucomiss", 2, { 0x0f, 0x2e }, false, K_FLAGS },
	{ SSE_COMISD, "comisd", 3, { 0x66, 0x0f, 0x2f }, false, K_FLAGS },
	{ SSE_UCOMISD, "ucomisd", 3, { 0x66, 0x0f, 0x2e }, false, K_FLAGS },
	{ SSE_CVTSI2SS_L, "cvtsi2ss r32", 3, { 0xf3, 0x0f, 0x2a }, false, K_CVTSI },
	{ SSE_CVTSI2SS_Q, "cvtsi2ss r64", 4, { 0xf3, 0x48, 0x0f, 0x2a }, false, K_CVTSI },
	{ SSE_CVTSI2SD_L, "cvtsi2sd r32", 3, { 0xf2, 0x0f, 0x2a }, false, K_CVTSI },
	{ SSE_CVTSI2SD_Q, "cvtsi2sd r64", 4, { 0xf2, 0x48, 0x0f, 0x2a }, false, K_CVTSI },
	{ SSE_CVTSS2SI_L, "cvtss2si r32", 3, { 0xf3, 0x0f, 0x2d }, false, K_GPR },
	{ SSE_CVTSS2SI_Q, "cvtss2si r64", 4, { 0xf3, 0x48, 0x0f, 0x2d }, false, K_GPR },
	{ SSE_CVTTSS2SI_L, "cvttss2si r32", 3, { 0xf3, 0x0f, 0x2c }, false, K_GPR },
	{ SSE_CVTTSS2SI_Q, "cvttss2si r64", 4, { 0xf3, 0x48, 0x0f, 0x2c }, false, K_GPR },
	{ SSE_CVTSD2SI_L, "cvtsd2si r32", 3, { 0xf2, 0x0f, 0x2d }, false, K_GPR },
	{ SSE_CVTSD2SI_Q, "cvtsd2si r64", 4, { 0xf2, 0x48, 0x0f, 0x2d }, false, K_GPR },
	{ SSE_CVTTSD2SI_L, "cvttsd2si r32", 3, { 0xf2, 0x0f, 0x2c }, false, K_GPR },
	{ SSE_CVTTSD2SI_Q, "cvttsd2si r64", 4, { 0xf2, 0x48, 0x0f, 0x2c }, false, K_GPR },
	{ SSE_PSHUFD, "pshufd", 3, { 0x66, 0x0f, 0x70 }, true, K_XMM },
	{ SSE_PSHUFLW, "pshuflw", 3, { 0xf2, 0x0f, 0x70 }, true, K_XMM },
	{ SSE_PSHUFHW, "pshufhw", 3, { 0xf3, 0x0f, 0x70 }, true, K_XMM },
	{ SSE_SHUFPS, "shufps", 2, { 0x0f, 0xc6 }, true, K_XMM },
	{ SSE_PALIGNR, "palignr", 4, { 0x66, 0x0f, 0x3a, 0x0f }, true, K_XMM },
	{ SSE_PBLENDVB, "pblendvb", 4, { 0x66, 0x0f, 0x38, 0x10 }, false, K_XMM },
	{ SSE_BLENDVPS, "blendvps", 4, { 0x66, 0x0f, 0x38, 0x14 }, false, K_XMM },
	{ SSE_BLENDVPD, "blendvpd", 4, { 0x66, 0x0f, 0x38, 0x15 }, false, K_XMM },
	{ SSE_PBLENDW, "pblendw", 4, { 0x66, 0x0f, 0x3a, 0x0e }, true, K_XMM },
	{ SSE_BLENDPS, "blendps", 4, { 0x66, 0x0f, 0x3a, 0x0c }, true, K_XMM },
	{ SSE_BLENDPD, "blendpd", 4, { 0x66, 0x0f, 0x3a, 0x0d }, true, K_XMM },
	{ SSE_INSERTPS, "insertps", 4, { 0x66, 0x0f, 0x3a, 0x21 }, true, K_XMM },
	{ SSE_MPSADBW, "mpsadbw", 4, { 0x66, 0x0f, 0x3a, 0x42 }, true, K_XMM },
	{ SSE_PTEST, "ptest", 4, { 0x66, 0x0f, 0x38, 0x17 }, false, K_FLAGS },
	{ SSE_ROUNDPS, "roundps", 4, { 0x66, 0x0f, 0x3a, 0x08 }, true, K_XMM },
	{ SSE_ROUNDPD, "roundpd", 4, { 0x66, 0x0f, 0x3a, 0x09 }, true, K_XMM },
	{ SSE_ROUNDSS, "roundss", 4, { 0x66, 0x0f, 0x3a, 0x0a }, true, K_XMM },
	{ SSE_ROUNDSD, "roundsd", 4, { 0x66, 0x0f, 0x3a, 0x0b }, true, K_XMM },
	{ SSE_DPPS, "dpps", 4, { 0x66, 0x0f, 0x3a, 0x40 }, true, K_XMM },
	{ SSE_DPPD, "dppd", 4, { 0x66, 0x0f, 0x3a, 0x41 }, true, K_XMM },
	{ SSE_PCMPISTRI, "pcmpistri", 4, { 0x66, 0x0f, 0x3a, 0x63 }, true, K_STRI },
	{ SSE_PCMPISTRM, "pcmpistrm", 4, { 0x66, 0x0f, 0x3a, 0x62 }, true, K_STRM },
	{ SSE_PCMPESTRI, "pcmpestri", 4, { 0x66, 0x0f, 0x3a, 0x61 }, true, K_STRI },
	{ SSE_PCMPESTRM, "pcmpestrm", 4, { 0x66, 0x0f, 0x3a, 0x60 }, true, K_STRM },
	{ SSE_PCMPESTRI, "pcmpestri rex.w", 5, { 0x66, 0x48, 0x0f, 0x3a, 0x61 }, true, K_STRI, true },
	{ SSE_PCMPESTRM, "pcmpestrm rex.w", 5, { 0x66, 0x48, 0x0f, 0x3a, 0x60 }, true, K_STRM, true },
	{ SSE_CRC32_B, "crc32b", 4, { 0xf2, 0x0f, 0x38, 0xf0 }, false, K_CRC },
	{ SSE_CRC32_W, "crc32w", 5, { 0x66, 0xf2, 0x0f, 0x38, 0xf1 }, false, K_CRC },
	{ SSE_CRC32_L, "crc32l", 4, { 0xf2, 0x0f, 0x38, 0xf1 }, false, K_CRC },
	{ SSE_CRC32_Q, "crc32q", 5, { 0xf2, 0x48, 0x0f, 0x38, 0xf1 }, false, K_CRC },
};

/* Stub around the instruction: load the io registers, run it, store the
 * results.  pushfq writes below rsp: the stub is a leaf, its own red zone. */
asm(".pushsection .rodata\n"
    "jit_pro:\n"
    "\tldmxcsr 80(%rdi)\n"
    "\tmovdqu 0(%rdi), %xmm1\n"
    "\tmovdqu 16(%rdi), %xmm2\n"
    "\tmovdqu 32(%rdi), %xmm0\n"
    "\tmov 48(%rdi), %rax\n"
    "\tmov 56(%rdi), %rdx\n"
    "\tmov 64(%rdi), %rcx\n"
    "jit_pro_end:\n"
    "jit_epi:\n"
    "\tpushfq\n"
    "\tpop %r8\n"
    "\tstmxcsr 84(%rdi)\n"
    "\tldmxcsr 88(%rdi)\n"
    "\tmovdqu %xmm1, 0(%rdi)\n"
    "\tmovdqu %xmm0, 32(%rdi)\n"
    "\tmov %rcx, 64(%rdi)\n"
    "\tmov %r8, 72(%rdi)\n"
    "\tret\n"
    "jit_epi_end:\n"
    ".popsection");
extern const uint8_t jit_pro[], jit_pro_end[], jit_epi[], jit_epi_end[];

static uint8_t *jit_page;

typedef void stub_fn(struct io *);

static stub_fn *jit_build(const struct enc_row *e, unsigned imm)
{
	uint8_t *p = jit_page;
	memcpy(p, jit_pro, jit_pro_end - jit_pro);
	p += jit_pro_end - jit_pro;
	memcpy(p, e->bytes, e->len);
	p += e->len;
	*p++ = 0xca;
	if (e->imm)
		*p++ = imm;
	memcpy(p, jit_epi, jit_epi_end - jit_epi);
	return (stub_fn *)(void *)jit_page;
}

/* ---- the helper side ---- */

static struct cpu env;

static uint32_t get_csr(void)
{
	uint32_t v;
	asm volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void set_csr(uint32_t v)
{
	asm volatile("ldmxcsr %0" : : "m"(v));
}

/* Helpers run between guest_enter and guest_leave, as under exec_run: the
 * host MXCSR is the guest's meanwhile (cpu.h). */
static void enter(struct cpu *c)
{
	exec_current_cpu = c;
	guest_enter(c);
}

static uint64_t call_helper(enum sse_op op, int32_t dst, int32_t src, uint64_t imm)
{
	uint64_t e = (uintptr_t)&env, r;
	enter(&env);
	if (op >= SSE_PCMPISTRI && op <= SSE_PCMPESTRM)
		r = helper_sse_pcmpstr(e, op, dst, src, imm);
	else if (sse_op_is_fp(op))
		r = helper_sse_fp(e, op, dst, src, imm);
	else
		r = helper_sse_op(e, op, dst, src, imm);
	guest_leave(&env);
	return r;
}

static uint64_t fp_call(enum sse_op op)
{
	return call_helper(op, CPU_OFF(xmm[1]), CPU_OFF(xmm[2]), 0);
}

static int reported;

static void report(const char *name, unsigned imm, uint32_t mx, const struct io *in)
{
	if (reported++ < 20)
		fprintf(stderr, "  (%s imm=%u mxcsr=%x d=%016llx:%016llx s=%016llx:%016llx)\n", name, imm, mx,
			(unsigned long long)in->d.q[1], (unsigned long long)in->d.q[0],
			(unsigned long long)in->s.q[1], (unsigned long long)in->s.q[0]);
}

/* One case: the same inputs through the host and through the helper. */
static void run_case(const char *name, enum sse_op op, enum kind kind, bool wide, unsigned imm,
		     struct io *io, void (*host)(struct io *), stub_fn *stub)
{
	struct io in = *io;
	bool fp = sse_op_is_fp(op);
	int fails = unit_failed;

	in.mx_restore = MXCSR_DEFAULT;
	io->mx_restore = MXCSR_DEFAULT;
	if (host)
		host(io);
	else
		stub(io);

	memset(&env, 0, sizeof(env));
	env.xmm[0] = in.x0;
	env.xmm[1] = in.d;
	env.xmm[2] = in.s;
	env.regs[R_RAX] = in.rax;
	env.regs[R_RDX] = in.rdx;
	env.regs[R_RCX] = in.rcx;
	env.mxcsr = in.mx_in;
	int32_t src = CPU_OFF(xmm[2]);
	uint64_t arg = imm | (wide ? SSE_STR_WIDE : 0);
	if (kind == K_CVTSI || kind == K_CRC) {
		env.xtmp.q[0] = in.rdx;
		env.xtmp.q[1] = rnd();
		src = CPU_OFF(xtmp);
		if (kind == K_CRC)
			arg = (uint32_t)in.rcx;
	}

	set_csr(MXCSR_DEFAULT);
	uint64_t ret = call_helper(op, CPU_OFF(xmm[1]), src, arg);
	uint32_t after = get_csr();
	CHECK_EQ(after & ~MXCSR_FLAGS, MXCSR_DEFAULT);	/* loom's own control bits */

	switch (kind) {
	case K_XMM:
	case K_CVTSI:
		CHECK_EQ(env.xmm[1].q[0], io->d.q[0]);
		CHECK_EQ(env.xmm[1].q[1], io->d.q[1]);
		break;
	case K_GPR:
		CHECK_EQ(ret, io->rcx);
		break;
	case K_FLAGS:
		CHECK_EQ(ret, io->flags & X86_ARITH_FLAGS);
		break;
	case K_STRI:
		CHECK_EQ(ret & 0xffffffff, io->rcx);
		CHECK_EQ(ret >> 32, io->flags & X86_ARITH_FLAGS);
		break;
	case K_STRM:
		CHECK_EQ(env.xmm[0].q[0], io->x0.q[0]);
		CHECK_EQ(env.xmm[0].q[1], io->x0.q[1]);
		CHECK_EQ(ret >> 32, io->flags & X86_ARITH_FLAGS);
		break;
	case K_CRC:
		CHECK_EQ(ret, io->rcx);
		break;
	}
	if (fp)
		CHECK_EQ(env.mxcsr, io->mx_out);
	if (unit_failed != fails)
		report(name, imm, in.mx_in, &in);
}

static void fill_io(struct io *io, enum kind kind, bool fp)
{
	memset(io, 0, sizeof(*io));
	if (kind == K_STRI || kind == K_STRM) {
		gen_string(&io->d);
		gen_string(&io->s);
		static const int64_t lens[] = { 0, 1, 5, 8, 15, 16, 17, -1, -7, -16, -17, 1000,
						INT32_MIN, INT64_MIN, 0x100000003ll, -0x100000003ll };
		io->rax = rnd() % 2 ? (uint64_t)lens[rnd() % NELEM(lens)] : rnd() % 20;
		io->rdx = rnd() % 2 ? (uint64_t)lens[rnd() % NELEM(lens)] : rnd() % 20;
	} else {
		gen_input(&io->d);
		gen_input(&io->s);
		gen_input(&io->x0);
		io->rax = rnd();
		uint64_t r = rnd();
		io->rdx = r % 4 == 0 ? (uint64_t)(int64_t)(int32_t)int_edge[r % NELEM(int_edge)]
			: r % 4 == 1 ? f64_edge[r % NELEM(f64_edge)] : rnd() >> (r % 64);
	}
	io->rcx = rnd();
	io->mx_in = fp ? mxcsr_modes[rnd() % NELEM(mxcsr_modes)] : MXCSR_DEFAULT;
}

/* ---- the tests ---- */

static void test_asm_rows(void)
{
	for (unsigned r = 0; r < NELEM(asm_rows); r++) {
		const struct asm_row *a = &asm_rows[r];
		if (!sse_host_has(a->op))
			continue;
		bool fp = sse_op_is_fp(a->op);
		for (int i = 0; i < (fp ? 600 : 200); i++) {
			struct io io;
			fill_io(&io, K_XMM, fp);
			run_case(a->name, a->op, K_XMM, false, 0, &io, a->host, NULL);
		}
		/* the destination as its own source */
		for (int i = 0; i < 20; i++) {
			struct io io;
			fill_io(&io, K_XMM, fp);
			io.s = io.d;
			run_case(a->name, a->op, K_XMM, false, 0, &io, a->host, NULL);
		}
	}
}

static void test_enc_rows(void)
{
	for (unsigned r = 0; r < NELEM(enc_rows); r++) {
		const struct enc_row *e = &enc_rows[r];
		if (!sse_host_has(e->op))
			continue;
		bool fp = sse_op_is_fp(e->op);
		unsigned nimm = e->imm ? 256 : 1;
		int per = e->imm ? (fp ? 12 : 6) : 600;
		for (unsigned imm = 0; imm < nimm; imm++) {
			stub_fn *stub = jit_build(e, imm);
			for (int i = 0; i < per; i++) {
				struct io io;
				fill_io(&io, e->kind, fp);
				run_case(e->name, e->op, e->kind, e->wide, imm, &io, NULL, stub);
			}
		}
	}
}

/* Exceptions the guest unmasked: SIGFPE through exec_raise, at env->rip,
 * the destination untouched, the flag recorded. */
static void expect_fpe(enum sse_op op, uint32_t mxcsr, uint64_t d0, uint64_t s0, int code)
{
	memset(&env, 0, sizeof(env));
	env.xmm[1].q[0] = d0;
	env.xmm[1].q[1] = 0x1234;
	env.xmm[2].q[0] = s0;
	env.mxcsr = mxcsr;
	env.rip = 0x401000;
	set_csr(MXCSR_DEFAULT);
	enter(&env);
	if (sigsetjmp(env.x.jmp_env, 0) == 0) {
		helper_sse_fp((uintptr_t)&env, op, CPU_OFF(xmm[1]), CPU_OFF(xmm[2]), 0);
		guest_leave(&env);
		CHECK(!"no #XM");
		return;
	}
	guest_leave(&env);
	CHECK_EQ(env.x.exc.vector, X86_EXC_XM);
	struct linux_trap t;
	CHECK(linux_trap_of(&env.x.exc, env.rip, &(struct linux_trap_fp){ .mxcsr = env.mxcsr }, &t));
	CHECK_EQ(t.signo, SIGFPE);
	CHECK_EQ(t.code, code);
	CHECK_EQ(t.addr, 0x401000);
	CHECK_EQ(env.xmm[1].q[0], d0);
	CHECK_EQ(env.xmm[1].q[1], 0x1234);
	CHECK_EQ(get_csr() & ~MXCSR_FLAGS, MXCSR_DEFAULT);
	CHECK(env.mxcsr & MXCSR_FLAGS);
}

static void test_unmasked(void)
{
	const uint64_t one = 0x3ff0000000000000ull, three = 0x4008000000000000ull;
	const uint64_t qnan = 0x7ff8000000000000ull, snan = 0x7ff0000000000001ull;

	expect_fpe(SSE_DIVSD, 0x1f80 & ~0x0200, one, 0, FPE_FLTDIV);
	CHECK_EQ(env.mxcsr & MXCSR_FLAGS, 0x04);
	expect_fpe(SSE_DIVSD, 0x1f80 & ~0x1000, one, three, FPE_FLTRES);
	expect_fpe(SSE_ADDSD, 0x1f80 & ~0x0080, one, snan, FPE_FLTINV);
	expect_fpe(SSE_COMISD, 0x1f80 & ~0x0080, one, qnan, FPE_FLTINV);
	expect_fpe(SSE_CVTTSD2SI_Q, 0x1f80 & ~0x0080, qnan, qnan, FPE_FLTINV);
	expect_fpe(SSE_MULSD, 0x1f80 & ~0x0400, 0x7fe0000000000000ull, 0x7fe0000000000000ull,
		   FPE_FLTOVF);

	/* unmasked but not raised: the result is written */
	memset(&env, 0, sizeof(env));
	env.xmm[1].q[0] = one;
	env.xmm[2].q[0] = one;
	env.mxcsr = 0x0000;
	if (sigsetjmp(env.x.jmp_env, 0) == 0) {
		fp_call(SSE_ADDSD);
		CHECK_EQ(env.xmm[1].q[0], 0x4000000000000000ull);
		CHECK_EQ(env.mxcsr, 0);
	} else {
		CHECK(!"spurious #XM");
	}
	set_csr(MXCSR_DEFAULT);
}

/* The sticky flags accumulate across helpers as on the CPU. */
static void test_sticky(void)
{
	memset(&env, 0, sizeof(env));
	env.mxcsr = MXCSR_DEFAULT;
	env.xmm[1].q[0] = 0x3ff0000000000000ull;
	env.xmm[2].q[0] = 0x4008000000000000ull;
	fp_call(SSE_DIVSD);
	CHECK_EQ(env.mxcsr, MXCSR_DEFAULT | 0x20);
	env.xmm[2].q[0] = 0;
	fp_call(SSE_DIVSD);
	CHECK_EQ(env.mxcsr, MXCSR_DEFAULT | 0x24);
	/* loom's own flags do not leak into the guest's */
	set_csr(MXCSR_DEFAULT | 0x01);
	env.mxcsr = MXCSR_DEFAULT;
	env.xmm[2].q[0] = 0x3ff0000000000000ull;
	fp_call(SSE_MULSD);
	CHECK_EQ(env.mxcsr, MXCSR_DEFAULT);
	set_csr(MXCSR_DEFAULT);
}

void unit_main(void)
{
	exec_guest = guest_exec_ops;	/* helpers raise through exec, as main.c wires it */
	jit_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(jit_page != MAP_FAILED);
	if (jit_page == MAP_FAILED)
		return;
	set_csr(MXCSR_DEFAULT);
	test_asm_rows();
	test_enc_rows();
	test_unmasked();
	test_sticky();
	munmap(jit_page, 4096);
}
