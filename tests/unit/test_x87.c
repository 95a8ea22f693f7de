/*
 * x87 helpers against the host CPU.  Every row of X87_OPS (x87.h), with
 * every ST(i), runs through helper_x87 on a struct cpu and, as the oracle,
 * as the instruction's own encoding (written here from the opcode map, not
 * taken from x87.h) in a stub assembled at run time:
 *
 *     fxrstor (%rdi); push %rdx; popf; <insn with (%rsi) as operand>;
 *     pushf; pop %rax; fxsave (%rdi); fninit; ret
 *
 * so the oracle shares no code with the helper (which moves state with
 * FRSTOR/FNSAVE or FLDT/FSTPT).  Inputs: random and edge 80-bit values
 * (signed zeros, infinities, quiet and signalling NaNs with payloads, the
 * indefinite, denormals, pseudo-denormals, unnormals, extremes, values
 * that need rounding), edge memory operands of each format, every
 * rounding and precision control, masked and unmasked exceptions, sticky
 * flags and condition codes already set, empty registers (stack underflow
 * and overflow).  Compared: control word, whole status word (flags, C0-C3,
 * ES, SF, TOP), tags, all eight registers, the memory result and whether
 * it was stored, RFLAGS of FCOMI and friends, and SIGFPE with its si_code
 * (the kernel's, from the host's #MF) for a pending unmasked exception.
 * Also checked after each helper: loom's host FPU is left empty, with the
 * default control word and no flag the guest lacks.
 *
 * Independent states test each row alone; chains of rows carry the state
 * from one to the next.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xmmintrin.h>
#include "guest/guest.h"
#include "guest/x86/cpu.h"
#include "guest/x86/x87.h"
#include "linux/trap.h"
#include "unit.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) { return unit_xorshift(&rng); }

static struct cpu env __attribute__((aligned(64)));

/* ---- encodings (Intel's opcode map) ---- */

enum { K_REG, K_MEM, K_ONE, K_0FAE };
struct enc { uint8_t pfx, b0, b1, kind; };
#define N(a, b) { 0, a, b, K_REG }		/* fixed, or + i for ST(i) rows */
#define M(a, d) { 0, a, d, K_MEM }		/* a /d with (%rsi) */
#define M16(a, d) { 0x66, a, d, K_MEM }
#define ARITH(OP, d) [X87_F##OP##_M32] = M(0xd8, d), [X87_F##OP##_M64] = M(0xdc, d), \
	[X87_FI##OP##_M16] = M(0xde, d), [X87_FI##OP##_M32] = M(0xda, d)

static const struct enc encs[X87_NB_OPS] = {
	[X87_FLD_M32] = M(0xd9, 0), [X87_FLD_M64] = M(0xdd, 0), [X87_FLD_M80] = M(0xdb, 5),
	[X87_FILD_M16] = M(0xdf, 0), [X87_FILD_M32] = M(0xdb, 0), [X87_FILD_M64] = M(0xdf, 5),
	[X87_FBLD] = M(0xdf, 4),
	[X87_FLD1] = N(0xd9, 0xe8), [X87_FLDZ] = N(0xd9, 0xee), [X87_FLDPI] = N(0xd9, 0xeb),
	[X87_FLDL2E] = N(0xd9, 0xea), [X87_FLDL2T] = N(0xd9, 0xe9), [X87_FLDLG2] = N(0xd9, 0xec),
	[X87_FLDLN2] = N(0xd9, 0xed),
	[X87_FST_M32] = M(0xd9, 2), [X87_FST_M64] = M(0xdd, 2), [X87_FSTP_M32] = M(0xd9, 3),
	[X87_FSTP_M64] = M(0xdd, 3), [X87_FSTP_M80] = M(0xdb, 7),
	[X87_FIST_M16] = M(0xdf, 2), [X87_FIST_M32] = M(0xdb, 2), [X87_FISTP_M16] = M(0xdf, 3),
	[X87_FISTP_M32] = M(0xdb, 3), [X87_FISTP_M64] = M(0xdf, 7),
	[X87_FISTTP_M16] = M(0xdf, 1), [X87_FISTTP_M32] = M(0xdb, 1), [X87_FISTTP_M64] = M(0xdd, 1),
	[X87_FBSTP] = M(0xdf, 6),
	ARITH(ADD, 0), ARITH(MUL, 1), ARITH(SUB, 4), ARITH(SUBR, 5), ARITH(DIV, 6), ARITH(DIVR, 7),
	[X87_FCOM_M32] = M(0xd8, 2), [X87_FCOM_M64] = M(0xdc, 2), [X87_FCOMP_M32] = M(0xd8, 3),
	[X87_FCOMP_M64] = M(0xdc, 3), [X87_FICOM_M16] = M(0xde, 2), [X87_FICOM_M32] = M(0xda, 2),
	[X87_FICOMP_M16] = M(0xde, 3), [X87_FICOMP_M32] = M(0xda, 3),
	[X87_FCOMPP] = N(0xde, 0xd9), [X87_FUCOMPP] = N(0xda, 0xe9),
	[X87_FTST] = N(0xd9, 0xe4), [X87_FXAM] = N(0xd9, 0xe5),
	[X87_FCHS] = N(0xd9, 0xe0), [X87_FABS] = N(0xd9, 0xe1), [X87_FSQRT] = N(0xd9, 0xfa),
	[X87_FRNDINT] = N(0xd9, 0xfc), [X87_F2XM1] = N(0xd9, 0xf0), [X87_FSIN] = N(0xd9, 0xfe),
	[X87_FCOS] = N(0xd9, 0xff), [X87_FSINCOS] = N(0xd9, 0xfb), [X87_FPTAN] = N(0xd9, 0xf2),
	[X87_FPATAN] = N(0xd9, 0xf3), [X87_FYL2X] = N(0xd9, 0xf1), [X87_FYL2XP1] = N(0xd9, 0xf9),
	[X87_FSCALE] = N(0xd9, 0xfd), [X87_FXTRACT] = N(0xd9, 0xf4), [X87_FPREM] = N(0xd9, 0xf8),
	[X87_FPREM1] = N(0xd9, 0xf5),
	[X87_FINCSTP] = N(0xd9, 0xf7), [X87_FDECSTP] = N(0xd9, 0xf6), [X87_FNOP] = N(0xd9, 0xd0),
	[X87_FWAIT] = { 0, 0x9b, 0, K_ONE }, [X87_FLDCW] = M(0xd9, 5),
	[X87_FNCLEX] = N(0xdb, 0xe2), [X87_FNINIT] = N(0xdb, 0xe3),
	[X87_FNSTENV] = M(0xd9, 6), [X87_FLDENV] = M(0xd9, 4), [X87_FNSAVE] = M(0xdd, 6),
	[X87_FRSTOR] = M(0xdd, 4), [X87_FNSTENV16] = M16(0xd9, 6), [X87_FLDENV16] = M16(0xd9, 4),
	[X87_FNSAVE16] = M16(0xdd, 6), [X87_FRSTOR16] = M16(0xdd, 4),
	[X87_FXSAVE] = { 0, 0, 0, K_0FAE }, [X87_FXSAVE64] = { 0x48, 0, 0, K_0FAE },
	[X87_FXRSTOR] = { 0, 0, 1, K_0FAE }, [X87_FXRSTOR64] = { 0x48, 0, 1, K_0FAE },
	[X87_FLD_STI] = N(0xd9, 0xc0), [X87_FST_STI] = N(0xdd, 0xd0), [X87_FSTP_STI] = N(0xdd, 0xd8),
	[X87_FSTPNCE_STI] = N(0xd9, 0xd8),
	[X87_FXCH_STI] = N(0xd9, 0xc8), [X87_FFREE_STI] = N(0xdd, 0xc0),
	[X87_FFREEP_STI] = N(0xdf, 0xc0),
	[X87_FADD_ST0_STI] = N(0xd8, 0xc0), [X87_FMUL_ST0_STI] = N(0xd8, 0xc8),
	[X87_FSUB_ST0_STI] = N(0xd8, 0xe0), [X87_FSUBR_ST0_STI] = N(0xd8, 0xe8),
	[X87_FDIV_ST0_STI] = N(0xd8, 0xf0), [X87_FDIVR_ST0_STI] = N(0xd8, 0xf8),
	[X87_FADD_STI_ST0] = N(0xdc, 0xc0), [X87_FMUL_STI_ST0] = N(0xdc, 0xc8),
	[X87_FSUBR_STI_ST0] = N(0xdc, 0xe0), [X87_FSUB_STI_ST0] = N(0xdc, 0xe8),
	[X87_FDIVR_STI_ST0] = N(0xdc, 0xf0), [X87_FDIV_STI_ST0] = N(0xdc, 0xf8),
	[X87_FADDP_STI] = N(0xde, 0xc0), [X87_FMULP_STI] = N(0xde, 0xc8),
	[X87_FSUBRP_STI] = N(0xde, 0xe0), [X87_FSUBP_STI] = N(0xde, 0xe8),
	[X87_FDIVRP_STI] = N(0xde, 0xf0), [X87_FDIVP_STI] = N(0xde, 0xf8),
	[X87_FCOM_STI] = N(0xd8, 0xd0), [X87_FCOMP_STI] = N(0xd8, 0xd8),
	[X87_FUCOM_STI] = N(0xdd, 0xe0), [X87_FUCOMP_STI] = N(0xdd, 0xe8),
	[X87_FCOMI_STI] = N(0xdb, 0xf0), [X87_FUCOMI_STI] = N(0xdb, 0xe8),
	[X87_FCOMIP_STI] = N(0xdf, 0xf0), [X87_FUCOMIP_STI] = N(0xdf, 0xe8),
	[X87_FCMOV_STI] = N(0xda, 0xc8),	/* FCMOVE, ZF = the condition */
};

/* ---- the oracle ---- */

typedef uint64_t stub_fn(void *fx, void *mem, uint64_t rflags);
static uint8_t *jit;
static size_t jit_used;
static stub_fn *stubs[X87_NB_OPS][8];

static stub_fn *stub_for(unsigned op, unsigned i)
{
	if (stubs[op][i])
		return stubs[op][i];
	const struct enc *e = &encs[op];
	uint8_t *p = jit + jit_used, *start = p;
	*p++ = 0x0f, *p++ = 0xae, *p++ = 0x0f;		/* fxrstor (%rdi) */
	*p++ = 0x52;					/* push %rdx */
	*p++ = 0x9d;					/* popf */
	if (e->pfx)
		*p++ = e->pfx;
	switch (e->kind) {
	case K_REG:
		*p++ = e->b0;
		*p++ = e->b1 + i;
		break;
	case K_MEM:
		*p++ = e->b0;
		*p++ = 0x06 | e->b1 << 3;		/* (%rsi) */
		break;
	case K_ONE:
		*p++ = e->b0;
		break;
	case K_0FAE:
		*p++ = 0x0f, *p++ = 0xae, *p++ = 0x06 | e->b1 << 3;
		break;
	}
	*p++ = 0x9c;					/* pushf */
	*p++ = 0x58;					/* pop %rax */
	*p++ = 0x0f, *p++ = 0xae, *p++ = 0x07;		/* fxsave (%rdi) */
	*p++ = 0xdb, *p++ = 0xe3;			/* fninit */
	*p++ = 0xc3;					/* ret */
	jit_used += 32;
	return stubs[op][i] = (stub_fn *)start;
}

static sigjmp_buf trap_jb;
static volatile int trap_code;

static void on_sigfpe(int sig, siginfo_t *si, void *uc)
{
	trap_code = si->si_code;
	siglongjmp(trap_jb, 1);
}

/* Runs the stub on fx (in: the state; out: the state after); returns
 * RFLAGS, or -1 with *code set when the host raised #MF. */
static int64_t run_stub(stub_fn *fn, uint8_t *fx, void *mem, uint64_t rflags, int *code)
{
	unsigned csr = _mm_getcsr();
	volatile int64_t r = -1;
	if (sigsetjmp(trap_jb, 1) == 0) {
		r = fn(fx, mem, rflags);
	} else {
		*code = trap_code;
		asm volatile("fninit");
	}
	_mm_setcsr(csr);
	return r;
}

/* ---- states ---- */

struct f80 { uint64_t m; uint16_t se; };
static const struct f80 f80_edge[] = {
	{ 0, 0 }, { 0, 0x8000 }, { 1ull << 63, 0x3fff }, { 1ull << 63, 0xbfff },
	{ 0xc000000000000000ull, 0x3fff }, { 1ull << 63, 0x7fff }, { 1ull << 63, 0xffff },
	{ 0xc000000000000000ull, 0x7fff }, { 0xc000000000000000ull, 0xffff },
	{ 0xa000000000000000ull, 0x7fff }, { 0xc000000000012345ull, 0x7fff },
	{ 0x8000000000000001ull, 0xffff }, { 0xc000000000000001ull, 0xffff },
	{ 1, 0 }, { 0x7fffffffffffffffull, 0x8000 }, { 0x8000000000000000ull, 0 },
	{ 0x4000000000000000ull, 0x3fff }, { 0, 0x4005 }, { 0xffffffffffffffffull, 0x7ffe },
	{ 1ull << 63, 1 }, { 1ull << 63, 0x403e }, { 1ull << 63, 0xc03e },
	{ 0xffffffffffffffffull, 0x403d }, { 0xffffffffffff0000ull, 0xc03d },
	{ 0xc90fdaa22168c235ull, 0x4000 }, { 0xc90fdaa22168c235ull, 0x403f },
	{ 1ull << 63, 0x3ffe }, { 0xc000000000000000ull, 0x3ffe }, { 0xa000000000000000ull, 0x3fff },
	{ 0xb504f333f9de6484ull, 0x3fff }, { 1ull << 63, 0x400e }, { 1ull << 63, 0x401e },
	{ 0x8000000000000800ull, 0x3fff }, { 0x8000000000000400ull, 0x3fff },
	{ 0x80000100000000ffull, 0x3fff }, { 1ull << 63, 0x3f80 }, { 1ull << 63, 0x3c00 },
	{ 0xffffffffffffffffull, 0x43fe }, { 0xffffff8000000000ull, 0x407e },
	{ 1ull << 63, 0x0001 }, { 0xfffffffffffffffeull, 0x8000 }, { 0x9999999999999999ull, 0x4034 },
	{ 0x8000000000000000ull, 0x3fbf }, { 0xffffffffffffffffull, 0x3ffd },
};

static void rand_f80(void *p)
{
	struct f80 v;
	uint64_t r = rnd();
	switch (r % 4) {
	case 0:
	case 1:
		v = f80_edge[rnd() % NELEM(f80_edge)];
		break;
	case 2:		/* normal, moderate exponent: integers and rounding */
		v.m = rnd() | 1ull << 63;
		v.se = (0x3fff - 8 + rnd() % 80) | (rnd() & 0x8000);
		break;
	default:
		v.m = rnd();
		if (rnd() & 1)
			v.m |= 1ull << 63;
		v.se = rnd();
		break;
	}
	memcpy(p, &v.m, 8);
	memcpy((uint8_t *)p + 8, &v.se, 2);
}

static const uint32_t f32_edge[] = {
	0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000,
	0x7fc12345, 0xffc00001, 0x7f800001, 0xff812345, 0x00000001, 0x007fffff,
	0x80000010, 0x00800000, 0x7f7fffff, 0x4f000000, 0xcf000000, 0x3eaaaaab, 0x40490fdb,
};
static const uint64_t f64_edge[] = {
	0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull,
	0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
	0x7ff8000000012345ull, 0xfff8000000000001ull, 0x7ff0000000000001ull,
	0xfff0000000054321ull, 1, 0x000fffffffffffffull, 0x8000000000000010ull,
	0x0010000000000000ull, 0x7fefffffffffffffull, 0x43e0000000000000ull,
	0xc3e0000000000000ull, 0x3fd5555555555555ull, 0x400921fb54442d18ull,
	0x4330000000000000ull, 0x3fe0000000000000ull,
};
static const uint64_t int_edge[] = {
	0, 1, -1ull, 0x7fff, 0x8000, 0xffff8000, 0x7fffffff, 0x80000000, 0xffffffff80000000ull,
	0x7fffffffffffffffull, 0x8000000000000000ull, 2, 10, 0x12345, -7ull,
};

enum mkind { MK_F, MK_I, MK_BCD, MK_CW };

static enum mkind mem_kind(unsigned op)
{
	const char *n = x87_op_names[op];
	if (op == X87_FBLD)
		return MK_BCD;
	if (op == X87_FLDCW)
		return MK_CW;
	if (n[0] == 'F' && n[1] == 'I')
		return MK_I;
	return MK_F;
}

static int mem_size(unsigned op)
{
	switch (x87_op_flags[op] & XF_SZ_MASK) {
	case XF_SZ16: return 2;
	case XF_SZ32: return 4;
	case XF_SZ64: return 8;
	case XF_SZ80: return 10;
	default: return 0;
	}
}

/* A memory operand of row op in m (16 bytes). */
static void rand_mem(unsigned op, uint8_t *m)
{
	int size = mem_size(op);
	uint64_t r = rnd(), v;
	memset(m, 0, 16);
	switch (mem_kind(op)) {
	case MK_CW:
		v = rnd() % 3 ? (rnd() & 0x0f00) | 0x7f | (rnd() % 4 ? 0 : rnd() & 0xf0bf) : rnd();
		memcpy(m, &v, 2);
		return;
	case MK_BCD:
		for (int k = 0; k < 9; k++) {
			unsigned lo = rnd() % (r % 8 ? 10 : 16), hi = rnd() % (r % 8 ? 10 : 16);
			m[k] = hi << 4 | lo;
		}
		m[9] = rnd() & 0x80;
		if (r % 16 == 0)
			m[9] |= rnd() & 0x7f;
		return;
	case MK_I:
		v = r % 2 ? int_edge[rnd() % NELEM(int_edge)] : rnd() >> (rnd() % 64);
		memcpy(m, &v, size);
		return;
	case MK_F:
		if (size == 4) {
			uint32_t f = r % 2 ? f32_edge[rnd() % NELEM(f32_edge)] : (uint32_t)rnd();
			memcpy(m, &f, 4);
		} else if (size == 8) {
			v = r % 2 ? f64_edge[rnd() % NELEM(f64_edge)] : rnd();
			memcpy(m, &v, 8);
		} else if (size == 10) {
			rand_f80(m);
		}
		return;
	}
}

static const uint16_t fcw_base[] = { 0x037f, 0x027f, 0x007f, 0x017f, 0x077f, 0x0b7f, 0x0f7f,
				     0x067f, 0x0a7f, 0x0c7f, 0x137f, 0x007f };

/* A random guest FPU.  pending: may leave an unmasked flag set. */
static void rand_state(bool pending)
{
	struct x87_state *f = &env.fpu;
	uint16_t cw = fcw_base[rnd() % NELEM(fcw_base)];
	if (rnd() % 4 == 0)
		cw &= ~(rnd() & 0x3f);		/* unmask some */
	f->fcw = (cw & 0x1f3f) | 0x40;
	f->fsw = rnd() & (FSW_CC | FSW_SF);
	if (rnd() % 2)
		f->fsw |= rnd() & FSW_EXC;
	if (!pending)
		f->fsw &= ~(~f->fcw & FSW_EXC);
	if (f->fsw & ~f->fcw & FSW_EXC)
		f->fsw |= FSW_ES | FSW_B;
	f->top = rnd() & 7;
	f->ftw = 0;
	for (int p = 0; p < 8; p++) {
		memset(&f->st[p], 0, sizeof(f->st[p]));
		rand_f80(&f->st[p]);
		if (rnd() % 8 < 6)
			f->ftw |= 1 << p;
	}
	if (rnd() % 4 == 0)		/* often: a push has room */
		f->ftw &= ~(1 << ((f->top - 1) & 7));
	f->fpip = rnd();
	f->fpdp = rnd();
	f->fop = rnd() & 0x7ff;
	env.rip = 0x400000 + (rnd() & 0xffff);
	env.cc_op = CC_OP_EFLAGS;
	env.cc_src = rnd() & X86_ARITH_FLAGS;
	env.mxcsr = 0x1f80 | (rnd() & 0x3f);
	for (int k = 0; k < 16; k++) {
		env.xmm[k].q[0] = rnd();
		env.xmm[k].q[1] = rnd();
	}
}

static uint32_t host_csr;

/* The FXSAVE image of the guest state, for the oracle. */
static void to_fx(const struct cpu *c, uint8_t *fx)
{
	const struct x87_state *f = &c->fpu;
	uint16_t fsw = f->fsw | f->top << 11;
	memset(fx, 0, 512);
	memcpy(fx, &f->fcw, 2);
	memcpy(fx + 2, &fsw, 2);
	fx[4] = f->ftw;
	memcpy(fx + 24, &c->mxcsr, 4);
	for (int i = 0; i < 8; i++)
		memcpy(fx + 32 + 16 * i, &f->st[(f->top + i) & 7], 10);
	memcpy(fx + 160, c->xmm, 256);
}

/* What is compared: control, status with TOP, tags, ST(0)-ST(7). */
struct proj {
	uint16_t fcw, fsw;
	uint8_t ftw;
	uint8_t st[8][10];
};

static void proj_cpu(const struct cpu *c, struct proj *p)
{
	const struct x87_state *f = &c->fpu;
	memset(p, 0, sizeof(*p));
	p->fcw = f->fcw;
	p->fsw = f->fsw | f->top << 11;
	p->ftw = f->ftw;
	for (int i = 0; i < 8; i++)
		memcpy(p->st[i], &f->st[(f->top + i) & 7], 10);
}

static void proj_fx(const uint8_t *fx, struct proj *p)
{
	memset(p, 0, sizeof(*p));
	memcpy(&p->fcw, fx, 2);
	memcpy(&p->fsw, fx + 2, 2);
	p->ftw = fx[4];
	for (int i = 0; i < 8; i++)
		memcpy(p->st[i], fx + 32 + 16 * i, 10);
}

/* ---- host FPU hygiene ---- */

/* Whether this host records FOP, and FDP, for an instruction that raises
 * nothing (recent Intel CPUs do only at an unmasked exception): fld m64,
 * then the 32-bit FNSTENV image; probed once, before any check runs. */
static int ptr_probe = -1;

static void probe_pointers(void)
{
	static const double one = 1.0;
	uint8_t img[28];
	uint16_t op;
	uint32_t dp;
	asm volatile("fninit\n\tfldl %1\n\tfnstenv %0\n\tfninit" : "=m"(img) : "m"(one) : "memory");
	memcpy(&op, img + 18, 2);
	memcpy(&dp, img + 20, 4);
	ptr_probe = ((op & 0x7ff) != 0) | (dp != 0) << 1;
}

static bool host_fop_always(void)
{
	return ptr_probe & 1;
}

static bool host_fdp_always(void)
{
	return ptr_probe >> 1 & 1;
}

/* After a helper: the host stack empty and loom's control word.  (The
 * host may keep exception flags the guest lacks, after FNCLEX say: the
 * helpers track them; the sequences below show none leaks into the
 * guest.  Only the helpers may touch loom's host FPU, so this test never
 * dirties it between them.) */
static bool host_clean(void)
{
	uint8_t e[28];
	uint16_t cw, tw;
	asm volatile("fnstenv %0" : "=m"(e));
	memcpy(&cw, e, 2);
	memcpy(&tw, e + 8, 2);
	return cw == 0x037f && tw == 0xffff;
}

/* ---- one case ---- */

/* helper_x87 with its guest exception caught: returns the si_code of the
 * SIGFPE Linux makes of a raised #MF (checked to be at env.rip), or -1. */
static int call_x87(uint64_t opw, uint64_t arg, uint64_t *ret)
{
	if (sigsetjmp(env.x.jmp_env, 0) == 0) {
		*ret = helper_x87((uintptr_t)&env, opw, arg);
		return -1;
	}
	CHECK_EQ(env.x.exc.vector, X86_EXC_MF);
	struct linux_trap t;
	struct linux_trap_fp fp = { .mxcsr = env.mxcsr, .fcw = env.fpu.fcw, .fsw = env.fpu.fsw };
	CHECK(linux_trap_of(&env.x.exc, env.rip, &fp, &t));
	CHECK_EQ(t.signo, SIGFPE);
	CHECK_EQ(t.addr, env.rip);
	return t.code;
}

static int nfail_print;
static int nfail_op[X87_NB_OPS];
static unsigned cur_op;
static unsigned long ncases;

static void report(const char *what, unsigned op, unsigned i, const struct proj *in,
		   const struct proj *a, const struct proj *b)
{
	if ((nfail_op[cur_op]++ > 2 || nfail_print++ > 200))
		return;
	fprintf(stderr, "x87 %s mismatch: %s i=%u\n", what, x87_op_names[op], i);
	const struct proj *ps[3] = { in, a, b };
	const char *names[3] = { "in    ", "helper", "host  " };
	for (int k = 0; k < 3; k++) {
		if (!ps[k])
			continue;
		fprintf(stderr, "  %s cw=%04x sw=%04x tw=%02x", names[k], ps[k]->fcw, ps[k]->fsw,
			ps[k]->ftw);
		for (int r = 0; r < 8; r++) {
			uint16_t se;
			uint64_t m;
			memcpy(&m, ps[k]->st[r], 8);
			memcpy(&se, ps[k]->st[r] + 8, 2);
			fprintf(stderr, " %04x:%016llx", se, (unsigned long long)m);
		}
		fprintf(stderr, "\n");
	}
}

static uint8_t ofx[512] __attribute__((aligned(64)));
static uint8_t omem[512] __attribute__((aligned(64)));
static uint8_t hmem[512] __attribute__((aligned(64)));

/* Pointer fields (FIP, FOP, FDP and selectors) of a saved image differ
 * between the host (the stub's own) and the guest: masked before
 * comparing. */
static void mask_pointers(unsigned op, uint8_t *m)
{
	switch (op) {
	case X87_FNSTENV: case X87_FNSAVE:
		memset(m + 12, 0, 16);
		break;
	case X87_FNSTENV16: case X87_FNSAVE16:
		memset(m + 6, 0, 8);
		break;
	case X87_FXSAVE: case X87_FXSAVE64:
		memset(m + 6, 0, 18);
		break;
	}
}

/* A save-area input for FLDENV/FRSTOR/FXRSTOR: a random state's image. */
static void rand_area(unsigned op, uint8_t *m)
{
	memset(m, 0, 512);
	if (op == X87_FXRSTOR || op == X87_FXRSTOR64) {
		uint8_t fx[512];
		uint32_t csr = 0x1f80 ^ (rnd() & 0xffbf & 0xffff);
		rand_state(true);
		to_fx(&env, fx);
		memcpy(fx + 24, &csr, 4);
		fx[4] = rnd();
		memcpy(m, fx, 512);
		return;
	}
	bool small = op == X87_FLDENV16 || op == X87_FRSTOR16;
	int words = 7, w = small ? 2 : 4;
	uint16_t tw = 0;
	for (int p = 0; p < 8; p++)
		tw |= (rnd() % 4 == 0 ? 3 : rnd() % 3) << 2 * p;
	uint32_t v[7] = { rnd() & 0x1f7f, rnd() & 0xffff, tw, rnd(), rnd(), rnd(), rnd() };
	if (rnd() % 2)
		v[0] |= 0x3f;
	for (int k = 0; k < words; k++)
		memcpy(m + w * k, &v[k], w);
	if (op == X87_FRSTOR || op == X87_FRSTOR16)
		for (int r = 0; r < 8; r++)
			rand_f80(m + w * words + 10 * r);
}

/* Runs row op, ST(i), on the current env state and compares with the
 * host.  env is left as the helper made it. */
static void run_case(unsigned op, unsigned i)
{
	unsigned fl = x87_op_flags[op];
	uint64_t arg = 0, ret = 0, cond = rnd() & 1;
	int size = mem_size(op), code = 0, hcode = -1;
	struct proj in, a, b;
	uint8_t mem[16];
	bool ok = true;

	ncases++;
	cur_op = op;
	proj_cpu(&env, &in);
	memset(omem, 0xa5, sizeof(omem));
	memset(hmem, 0xa5, sizeof(hmem));
	if (fl & XF_IN) {
		rand_mem(op, mem);
		memcpy(&env.xtmp, mem, 16);
		memcpy(omem, mem, size);
		arg = (uintptr_t)omem + (rnd() & 0xff0);
	}
	if (fl & XF_MEM) {
		if (op == X87_FLDENV || op == X87_FRSTOR || op == X87_FLDENV16 ||
		    op == X87_FRSTOR16 || op == X87_FXRSTOR || op == X87_FXRSTOR64) {
			struct cpu save = env;
			rand_area(op, omem);
			env = save;
			memcpy(hmem, omem, 512);
		}
		arg = (uintptr_t)hmem;
	}
	if (op == X87_FCMOV_STI)
		arg = cond;
	if (fl & XF_OUT)
		memset(&env.xtmp, 0x5a, 16);

	/* the oracle's input is the state before the helper runs */
	to_fx(&env, ofx);
	uint64_t seed = env.cc_src;
	if (op == X87_FCMOV_STI)
		seed = (seed & ~X86_ZF) | (cond ? X86_ZF : 0);

	uint64_t opw = X87_OP(op, i, 0x123);

	hcode = call_x87(opw, arg, &ret);
	bool stored = false;
	if ((fl & XF_OUT) && hcode < 0) {
		/* the lifter's commit */
		stored = ret & X87_RET_STORE;
		if (stored)
			memcpy(hmem, &env.xtmp, size);
		uint32_t swtw = ret;
		memcpy(&env.fpu.fsw, &swtw, 4);
		env.fpu.top = X87_RET_TOP(ret);
	}
	if (!host_clean()) {
		ok = false;
		if ((nfail_op[cur_op]++ < 3 && nfail_print++ < 200))
			fprintf(stderr, "x87 host FPU left dirty by %s\n", x87_op_names[op]);
		asm volatile("fninit");
	}

	int64_t r = run_stub(stub_for(op, i), ofx, omem, seed, &code);
	if (hcode >= 0 || r == -1) {
		/* exactly one of them raised, or both with the same code */
		if (hcode != (r == -1 ? code : -1)) {
			ok = false;
			if ((nfail_op[cur_op]++ < 3 && nfail_print++ < 200))
				fprintf(stderr, "x87 SIGFPE mismatch: %s i=%u helper %d host %d\n",
					x87_op_names[op], i, hcode, r == -1 ? code : -1);
		}
		CHECK(ok);
		env.fpu.fsw &= ~(FSW_EXC | FSW_ES | FSW_B);	/* let a chain go on */
		return;
	}

	proj_cpu(&env, &a);
	proj_fx(ofx, &b);
	if (memcmp(&a, &b, sizeof(a))) {
		ok = false;
		report("state", op, i, &in, &a, &b);
	}
	if (fl & XF_EFL) {
		if ((ret ^ r) & X86_ARITH_FLAGS) {
			ok = false;
			if ((nfail_op[cur_op]++ < 3 && nfail_print++ < 200))
				fprintf(stderr, "x87 rflags mismatch: %s i=%u helper %llx host %llx\n",
					x87_op_names[op], i, (unsigned long long)ret,
					(unsigned long long)(r & X86_ARITH_FLAGS));
		}
	}
	if (fl & (XF_OUT | XF_MEM)) {
		mask_pointers(op, hmem);
		mask_pointers(op, omem);
		if (memcmp(hmem, omem, 512)) {
			ok = false;
			if ((nfail_op[cur_op]++ < 3 && nfail_print++ < 200)) {
				fprintf(stderr, "x87 memory mismatch: %s i=%u (stored %d)\n",
					x87_op_names[op], i, stored);
				for (int k = 0; k < 512; k++)
					if (hmem[k] != omem[k])
						fprintf(stderr, "  +%d: helper %02x host %02x\n", k,
							hmem[k], omem[k]);
			}
		}
	}
	if (op == X87_FXRSTOR || op == X87_FXRSTOR64) {
		uint32_t csr;
		memcpy(&csr, ofx + 24, 4);
		if (csr != env.mxcsr || memcmp(ofx + 160, env.xmm, 256)) {
			ok = false;
			if ((nfail_op[cur_op]++ < 3 && nfail_print++ < 200))
				fprintf(stderr, "x87 %s: mxcsr/xmm mismatch\n", x87_op_names[op]);
		}
	}
	/* FIP, FOP, FDP of a non-control row: FIP always; FOP and FDP where
	 * this host keeps them for every instruction, or after an unmasked
	 * exception (ES) */
	if ((fl & XF_NC) && !(fl & XF_OUT)) {
		bool exc = env.fpu.fsw & FSW_ES;
		if (env.fpu.fpip != env.rip || ((exc || host_fop_always()) && env.fpu.fop != 0x123) ||
		    ((fl & XF_IN) && (exc || host_fdp_always()) && env.fpu.fpdp != arg)) {
			ok = false;
			if ((nfail_op[cur_op]++ < 3 && nfail_print++ < 200))
				fprintf(stderr, "x87 %s: FIP/FOP/FDP not recorded\n", x87_op_names[op]);
		}
	}
	CHECK(ok);
}

static bool row_testable(unsigned op)
{
	return encs[op].b0 || encs[op].kind == K_0FAE;
}

static unsigned rand_row(void)
{
	unsigned op;
	do
		op = rnd() % X87_NB_OPS;
	while (!row_testable(op));
	return op;
}

/* ---- the tests ---- */

/* Every row with every ST(i) on independent random states. */
static void test_rows(int per)
{
	for (unsigned op = 0; op < X87_NB_OPS; op++) {
		if (!row_testable(op)) {
			CHECK(!"row without an encoding");
			continue;
		}
		unsigned ni = (x87_op_flags[op] & XF_REG) ? 8 : 1;
		for (unsigned i = 0; i < ni; i++) {
			for (int k = 0; k < per; k++) {
				rand_state(k % 8 == 0);
				run_case(op, i);
			}
		}
	}
}

/* Chains: the state carries over from row to row. */
static void test_chains(int nchains, int len)
{
	for (int c = 0; c < nchains; c++) {
		rand_state(false);
		if (c % 2) {	/* a realistic start: empty stack, default modes */
			env.fpu.ftw = 0;
			env.fpu.fsw = 0;
			env.fpu.fcw = 0x37f;
		}
		for (int k = 0; k < len; k++) {
			unsigned op = rand_row();
			unsigned i = (x87_op_flags[op] & XF_REG) ? rnd() % 8 : 0;
			run_case(op, i);
		}
	}
}

/* Sequences: rows run back to back through the helpers with nothing in
 * between (the host FPU keeps what the helpers leave, as in loom), and as
 * one stub on the host; the final states must agree.  FCMOV takes its
 * condition (ZF) from the last FCOMI's flags on both sides. */
static void test_sequences(int n)
{
	uint8_t *stub = jit + (1 << 16) - 512;
	for (int s = 0; s < n; s++) {
		unsigned len = 2 + rnd() % 7, ops[8], is[8];
		uint8_t *p = stub;
		rand_state(false);
		if (s % 2) {
			env.fpu.ftw = 0;
			env.fpu.fcw = 0x37f;
			env.fpu.fsw &= ~FSW_EXC;
		}
		memset(omem, 0xa5, sizeof(omem));
		*p++ = 0x0f, *p++ = 0xae, *p++ = 0x0f;		/* fxrstor (%rdi) */
		*p++ = 0x52, *p++ = 0x9d;			/* push %rdx; popf */
		for (unsigned k = 0; k < len; k++) {
			unsigned op;
			do
				op = rand_row();
			while (x87_op_flags[op] & XF_MEM);
			ops[k] = op;
			is[k] = (x87_op_flags[op] & XF_REG) ? rnd() % 8 : 0;
			const struct enc *e = &encs[op];
			if (e->pfx)
				*p++ = e->pfx;
			*p++ = e->b0;
			if (e->kind == K_REG)
				*p++ = e->b1 + is[k];
			else if (e->kind == K_MEM)
				*p++ = 0x46 | e->b1 << 3, *p++ = 16 * k;	/* 16k(%rsi) */
			if (x87_op_flags[op] & XF_IN)
				rand_mem(op, omem + 16 * k);
		}
		*p++ = 0x9c, *p++ = 0x58;			/* pushf; pop %rax */
		*p++ = 0x0f, *p++ = 0xae, *p++ = 0x07;		/* fxsave (%rdi) */
		*p++ = 0xdb, *p++ = 0xe3, *p++ = 0xc3;		/* fninit; ret */

		to_fx(&env, ofx);
		memcpy(hmem, omem, sizeof(hmem));
		uint64_t flags = env.cc_src, seed = flags;
		int hcode = -1, code = 0;
		for (unsigned k = 0; k < len && hcode < 0; k++) {
			unsigned op = ops[k], fl = x87_op_flags[op];
			uint64_t arg = 0, ret;
			if (fl & XF_IN) {
				memcpy(&env.xtmp, hmem + 16 * k, 16);
				arg = (uintptr_t)hmem + 16 * k;
			}
			if (op == X87_FCMOV_STI)
				arg = !!(flags & X86_ZF);
			env.cc_op = CC_OP_EFLAGS;
			env.cc_src = flags;
			hcode = call_x87(X87_OP(op, is[k], 0), arg, &ret);
			if (hcode >= 0)
				break;
			if (fl & XF_EFL)
				flags = ret;
			if (fl & XF_OUT) {
				if (ret & X87_RET_STORE)
					memcpy(hmem + 16 * k, &env.xtmp, mem_size(op));
				uint32_t swtw = ret;
				memcpy(&env.fpu.fsw, &swtw, 4);
				env.fpu.top = X87_RET_TOP(ret);
			}
		}
		bool clean = host_clean();
		asm volatile("fninit");
		int64_t r = run_stub((stub_fn *)stub, ofx, omem, seed, &code);
		(void)r;
		struct proj a, b;
		proj_cpu(&env, &a);
		proj_fx(ofx, &b);
		bool ok = clean;
		if (hcode >= 0 || r == -1)
			ok &= hcode == (r == -1 ? code : -1);
		else
			ok &= !memcmp(&a, &b, sizeof(a)) && !memcmp(hmem, omem, 16 * len) &&
			      !((flags ^ r) & (X86_ZF | X86_PF | X86_CF));
		if (!ok && nfail_print++ < 200) {
			fprintf(stderr, "x87 sequence mismatch:");
			for (unsigned k = 0; k < len; k++)
				fprintf(stderr, " %s/%u", x87_op_names[ops[k]], is[k]);
			fprintf(stderr, " (trap %d/%d, clean %d, mem %d, flags %llx/%llx)\n", hcode,
				r == -1 ? code : -1, clean, !memcmp(hmem, omem, 16 * len),
				(unsigned long long)flags, (unsigned long long)r);
			report("sequence", ops[0], is[0], NULL, &a, &b);
		}
		CHECK(ok);
	}
}

/* A pending unmasked exception raises SIGFPE at the next waiting
 * instruction with the kernel's si_code, and not at a non-waiting one. */
static void test_pending(void)
{
	static const struct { uint16_t flags; int code; } t[] = {
		{ FSW_IE, FPE_FLTINV }, { FSW_IE | FSW_PE, FPE_FLTINV }, { FSW_ZE, FPE_FLTDIV },
		{ FSW_OE | FSW_PE, FPE_FLTOVF }, { FSW_UE, FPE_FLTUND }, { FSW_DE, FPE_FLTUND },
		{ FSW_PE, FPE_FLTRES },
	};
	for (unsigned k = 0; k < NELEM(t); k++) {
		memset(&env, 0, sizeof(env));
		env.fpu.fcw = 0x37f & ~t[k].flags;
		env.fpu.fsw = t[k].flags | FSW_ES | FSW_B;
		env.rip = 0x401234;
		uint64_t ret;
		CHECK_EQ(call_x87(X87_OP(X87_FLD1, 0, 0), 0, &ret), t[k].code);
		CHECK_EQ(env.fpu.ftw, 0);	/* nothing pushed */
		CHECK_EQ(call_x87(X87_OP(X87_FNCLEX, 0, 0), 0, &ret), -1);	/* no wait */
		CHECK_EQ(env.fpu.fsw & (FSW_EXC | FSW_ES | FSW_B), 0);
	}
	/* FLDCW unmasking a set flag makes it pending */
	memset(&env, 0, sizeof(env));
	env.fpu.fcw = 0x37f;
	env.fpu.fsw = FSW_ZE;
	memcpy(&env.xtmp, &(uint16_t){ 0x37b }, 2);
	helper_x87((uintptr_t)&env, X87_OP(X87_FLDCW, 0, 0), 0);
	CHECK_EQ(env.fpu.fsw, FSW_ZE | FSW_ES | FSW_B);
	uint64_t ret;
	CHECK_EQ(call_x87(X87_OP(X87_FWAIT, 0, 0), 0, &ret), FPE_FLTDIV);
}

/* x87_fxsave/x87_fxrstor (the signal-frame entry points) against the
 * host's FXSAVE64 of the same state; FXSAVE/FXRSTOR faults. */
static void test_fxsave_api(void)
{
	uint8_t area[512] __attribute__((aligned(16)));
	for (int k = 0; k < 200; k++) {
		rand_state(true);
		env.mxcsr = 0x1f80 | (rnd() & 0x7f3f);
		memset(area, 0xcc, 512);
		x87_fxsave(&env, area);
		/* the host's view of the same state */
		to_fx(&env, ofx);
		memcpy(ofx + 24, &env.mxcsr, 4);
		uint32_t csr = _mm_getcsr();
		memset(omem, 0xcc, 512);
		asm volatile("fxrstor64 %1; fxsave64 %0; fninit" : "=m"(omem) : "m"(ofx) : "memory");
		_mm_setcsr(csr);
		mask_pointers(X87_FXSAVE64, area);
		mask_pointers(X87_FXSAVE64, omem);
		CHECK(!memcmp(area, omem, 512));
		/* and back */
		struct cpu save = env;
		memset(&env.fpu, 0, sizeof(env.fpu));
		memset(env.xmm, 0, sizeof(env.xmm));
		env.mxcsr = 0;
		x87_fxsave(&save, area);
		x87_fxrstor(&env, area);
		struct proj a, b;
		proj_cpu(&env, &a);
		proj_cpu(&save, &b);
		/* (the pointers are saved as the host's FXSAVE does: an AMD
		 * host stores them only with ES set) */
		uint64_t fip, fdp;
		uint16_t fop;
		memcpy(&fop, area + 6, 2);
		memcpy(&fip, area + 8, 8);
		memcpy(&fdp, area + 16, 8);
		CHECK(!memcmp(&a, &b, sizeof(a)) && env.mxcsr == save.mxcsr &&
		      !memcmp(env.xmm, save.xmm, sizeof(env.xmm)) && env.fpu.fpip == fip &&
		      env.fpu.fpdp == fdp && env.fpu.fop == fop &&
		      (!fip || (fip == save.fpu.fpip && fdp == save.fpu.fpdp && fop == save.fpu.fop)));
	}
	/* FXRSTOR drops unsupported MXCSR bits instead of faulting */
	memset(area, 0, 512);
	memcpy(area + 24, &(uint32_t){ 0xffffffff }, 4);
	x87_fxrstor(&env, area);
	memset(ofx, 0, 512);
	asm volatile("fxsave %0" : "=m"(ofx));
	uint32_t mask;
	memcpy(&mask, ofx + 28, 4);
	CHECK_EQ(env.mxcsr, mask);

	/* the instruction: #GP on misalignment and on reserved MXCSR bits */
	static uint8_t big[1024] __attribute__((aligned(64)));
	unsigned ops[] = { X87_FXSAVE, X87_FXRSTOR64 };
	for (unsigned k = 0; k < 2; k++) {
		memset(&env, 0, sizeof(env));
		env.fpu.fcw = 0x37f;
		if (sigsetjmp(env.x.jmp_env, 0) == 0) {
			helper_x87((uintptr_t)&env, X87_OP(ops[k], 0, 0), (uintptr_t)big + 8);
			CHECK(!"no #GP");
		} else {
			CHECK_EQ(env.x.exc.vector, X86_EXC_GP);
			CHECK_EQ(env.x.exc.error_code, 0);
		}
	}
	memset(big, 0, sizeof(big));
	memcpy(big + 24, &(uint32_t){ 0x80000000 }, 4);
	if (sigsetjmp(env.x.jmp_env, 0) == 0) {
		helper_x87((uintptr_t)&env, X87_OP(X87_FXRSTOR, 0, 0), (uintptr_t)big);
		CHECK(!"no #GP");
	} else {
		CHECK_EQ(env.x.exc.vector, X86_EXC_GP);
	}
}

void unit_main(void)
{
	exec_guest = guest_exec_ops;	/* helpers raise through exec, as main.c wires it */
	jit = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	CHECK(jit != MAP_FAILED);
	if (jit == MAP_FAILED)
		return;
	struct sigaction sa = { .sa_sigaction = on_sigfpe, .sa_flags = SA_SIGINFO | SA_NODEFER };
	sigaction(SIGFPE, &sa, NULL);
	host_csr = _mm_getcsr();
	probe_pointers();
	asm volatile("fninit");

	int per = getenv("X87_PER") ? atoi(getenv("X87_PER")) : 300;
	if (getenv("X87_SEED"))
		rng = strtoull(getenv("X87_SEED"), NULL, 0) | 1;
	test_rows(per);
	test_chains(per, 200);
	test_sequences(per * 30);
	test_pending();
	test_fxsave_api();
	fprintf(stderr, "x87: %lu cases\n", ncases);
}
