/*
 * x87 helpers: every x87 instruction runs as the host's own instruction on
 * the guest's values, so results, NaN choice, rounding under the guest's
 * precision and rounding control, condition codes and exception flags are
 * the CPU's.  Nothing here computes floating point in C.
 *
 * Two ways to run a row of X87_OPS (x87.h):
 *
 *  - The general path loads the whole guest FPU into the host with FRSTOR
 *    (control word, status, tags, all eight registers), runs the one
 *    instruction, and reads everything back with FNSAVE, which also leaves
 *    the host FPU initialised for loom.  Stack overflow and underflow,
 *    unmasked exceptions (the destination kept, no pop, ES set for the next
 *    waiting instruction), the undefined condition codes: all are the
 *    host's by construction.  It costs ~500 cycles.
 *
 *  - The fast path handles the common case in ~50: every exception masked
 *    and no stack fault possible (the operands valid, a push's target
 *    empty).  Then an instruction's effect on the stack is fixed, so only
 *    its operands are loaded onto the empty host stack (FLDT, exact for
 *    every 80-bit value), the instruction runs (with ST(i) renumbered to
 *    ST(1)), and the results are stored back with FSTPT.  The exception
 *    flags it raises are sticky, so the host's flags need clearing (FNCLEX,
 *    slow on some hosts) only when the host holds one the guest lacks; the
 *    condition codes the row writes on this host (probed once per row, see
 *    probe_cc) come from the host, the others stay the guest's.  Moves
 *    between registers and changes of TOP are done in C (S_MOVE).
 *
 * The guest control word is loaded only around the instruction and loom's
 * (0x37f: the Linux default, which loom's own code runs under) restored
 * after.  Pending unmasked exceptions raise #MF at the next waiting
 * instruction, as the CPU does: the helper checks ES before a waiting
 * row.
 *
 * Invariant: between the first host-FPU asm of a helper and its last,
 * nothing but integer C runs: no long double is copied by assignment (the
 * compiler would use the x87 stack), only with memcpy.
 */
#include <string.h>
#include "exec/exec.h"
#include "guest/x86/x87.h"
#include "guest/x86/mem.h"
#include "host/host.h"

const uint16_t x87_op_flags[X87_NB_OPS] = {
#define X(name, fl, ...) [X87_##name] = (fl),
	X87_MEM_OPS(X)
	X87_REG_OPS(X)
#undef X
};

const char *const x87_op_names[X87_NB_OPS] = {
#define X(name, ...) [X87_##name] = #name,
	X87_MEM_OPS(X)
	X87_REG_OPS(X)
#undef X
};

/* ---- guest state ---- */

static inline int phys(const struct x87_state *f, int i) { return (f->top + i) & 7; }
static inline long double *streg(struct x87_state *f, int i) { return &f->st[phys(f, i)]; }
static inline bool valid(const struct x87_state *f, int i) { return f->ftw >> phys(f, i) & 1; }

static inline void push(struct x87_state *f)
{
	f->top = (f->top - 1) & 7;
	f->ftw |= 1 << f->top;
}

static inline void pop(struct x87_state *f, int n)
{
	while (n--) {
		f->ftw &= ~(1 << f->top);
		f->top = (f->top + 1) & 7;
	}
}

/* ES and B follow the unmasked exception flags. */
static inline void fix_es(struct x87_state *f)
{
	if (f->fsw & ~f->fcw & FSW_EXC)
		f->fsw |= FSW_ES | FSW_B;
	else
		f->fsw &= ~(FSW_ES | FSW_B);
}

/* FLDCW keeps bits 0-5 and 8-12; bit 6 reads as one. */
static inline uint16_t fix_fcw(uint16_t v)
{
	return (v & 0x1f3f) | 0x40;
}

/* #MF at a waiting instruction.  The status word says which exceptions
 * are pending (what Linux makes its si_code of: linux/trap.c). */
static _Noreturn void x87_raise(struct cpu *cpu)
{
	x86_raise(cpu, X86_EXC_MF);
}

/*
 * A superset of the exception flags set in this thread's host FPU.  Only
 * these helpers touch the host FPU (loom's own code uses no x87), so it is
 * exact after each of them: the fast path reads the flags, the general
 * path's FNSAVE clears them.  A new thread starts with "all" (its FPU is a
 * copy of its creator's); so does the first helper after tools' code ran
 * (TOOL_FP_RAN: a plugin may use x87 and change the control word too).
 * Reading it saves an FNSTSW, which waits for the FPU to drain.
 */
static __thread uint16_t host_exc = FSW_EXC;

/* ---- running one host instruction ---- */

#define REP8(M, a, b) M(a, b, 0) M(a, b, 1) M(a, b, 2) M(a, b, 3) \
	M(a, b, 4) M(a, b, 5) M(a, b, 6) M(a, b, 7)

/* Register rows run in one of three ways: on the general path with
 * RFLAGS' arithmetic bits seeded from *efl and read back into it (FCOMI
 * writes ZF, PF and CF, or nothing when an unmasked exception stops it;
 * FCMOVE reads ZF; the red zone is skipped before pushing); on the fast
 * path plainly, or, for the FCOMI rows, reading ZF, PF and CF (no popf:
 * it costs more than the instruction). */
enum { EFL_SEED, EFL_NONE };	/* how: FCOMI rows read ZF PF CF with either */

#define REG_SEED(b0, b1, n)						\
	case n:								\
		asm volatile("sub $128, %%rsp\n\tpushq %[f]\n\tpopfq\n\t"	\
			     ".byte " #b0 ", " #b1 " + " #n "\n\t"		\
			     "pushfq\n\tpopq %[f]\n\tadd $128, %%rsp"	\
			     : [f] "+r"(*efl) : : "memory", "cc");		\
		break;
#define REG_PLAIN(b0, b1, n)						\
	case n: asm volatile(".byte " #b0 ", " #b1 " + " #n : : : "memory"); break;
#define REG_READ(b0, b1, n)						\
	case n:								\
		asm volatile(".byte " #b0 ", " #b1 " + " #n			\
			     : "=@ccz"(z), "=@ccp"(p), "=@ccc"(c) : : "memory");	\
		break;

/* Run row `op` on the host FPU as it is, with ST(i) = i and memory operand
 * m (a buffer of at least 108 bytes for the environment rows). */
static inline void host_exec(unsigned op, unsigned i, void *m, uint64_t *efl, int how)
{
	struct { uint8_t b[108]; } *mp = m;
	bool z = false, p = false, c = false;
	switch (op) {
#define X(name, fl, text) case X87_##name: asm volatile(text : [m] "+m"(*mp) : : "memory"); break;
	X87_MEM_OPS(X)
#undef X
#define X(name, fl, b0, b1)						\
	case X87_##name:						\
		if (how == EFL_SEED) {					\
			switch (i) { REP8(REG_SEED, b0, b1) }		\
		} else if ((fl) & XF_EFL) {				\
			switch (i) { REP8(REG_READ, b0, b1) }		\
			*efl = (z ? X86_ZF : 0) | (p ? X86_PF : 0) | (c ? X86_CF : 0); \
		} else {						\
			switch (i) { REP8(REG_PLAIN, b0, b1) }		\
		}							\
		break;
	X87_REG_OPS(X)
#undef X
	}
}

/* ---- the general path: the whole FPU through FRSTOR/FNSAVE ---- */

/* The 32-bit protected-mode FNSAVE image. */
struct fsave_image {
	uint32_t fcw, fsw, ftw, fip;
	uint16_t fcs, fop;
	uint32_t fdp, fds;
	uint8_t st[8][10];
} __attribute__((packed));
_Static_assert(sizeof(struct fsave_image) == 108, "FNSAVE image");

static void to_image(const struct x87_state *f, struct fsave_image *img)
{
	img->fcw = 0xffff0000 | f->fcw;
	img->fsw = 0xffff0000 | f->fsw | f->top << 11;
	img->ftw = 0xffffffff;
	for (int p = 0; p < 8; p++)	/* FRSTOR only tells empty (3) from not */
		if (f->ftw >> p & 1)
			img->ftw &= ~(3u << 2 * p);
	img->fip = (uint32_t)f->fpip;
	/* FCS: the host records Linux's user CS at a non-control
	 * instruction; FNINIT clears it with FIP */
	img->fcs = f->fpip && !x87_host_fcs_zero ? 0x33 : 0;
	img->fop = f->fop & 0x7ff;
	img->fdp = (uint32_t)f->fpdp;
	img->fds = 0xffff0000;
	for (int i = 0; i < 8; i++)
		memcpy(img->st[i], &f->st[(f->top + i) & 7], 10);
}

static void from_image(struct x87_state *f, const struct fsave_image *img, bool pointers)
{
	f->fcw = img->fcw;
	f->top = img->fsw >> 11 & 7;
	f->fsw = img->fsw & ~FSW_TOP;
	f->ftw = 0;
	for (int p = 0; p < 8; p++)
		if ((img->ftw >> 2 * p & 3) != 3)
			f->ftw |= 1 << p;
	for (int i = 0; i < 8; i++)
		memcpy(&f->st[(f->top + i) & 7], img->st[i], 10);
	if (pointers) {
		f->fpip = img->fip;
		f->fop = img->fop & 0x7ff;
		f->fpdp = img->fdp;
	}
}

/* Run row op on a copy of *in and leave the outcome in *out.  Returns the
 * RFLAGS of a register row (seeded with efl). */
static uint64_t run_general(const struct x87_state *in, struct x87_state *out, unsigned op,
			    unsigned i, void *m, uint64_t efl, bool pointers)
{
	struct fsave_image img;
	to_image(in, &img);
	asm volatile("frstor %0" : : "m"(img) : "memory");
	host_exec(op, i, m, &efl, EFL_SEED);
	asm volatile("fnsave %0" : "=m"(img) : : "memory");
	host_exc = 0;
	*out = *in;
	from_image(out, &img, pointers);
	return efl;
}

/* ---- the fast path ---- */

enum shape {
	S_GENERAL,	/* always the general path */
	S_PUSH,		/* push the instruction's result */
	S_UNARY,	/* ST(0) = f(ST(0)[, m]) */
	S_STORE,	/* m = f(ST(0)), .pops */
	S_CMP,		/* compare ST(0) (with m, or with ST(1) for .pops == 2) */
	S_CMPI,		/* compare ST(0) with ST(i), .pops */
	S_ST0_STI,	/* ST(0) = ST(0) op ST(i) */
	S_STI_ST0,	/* ST(i) = ST(i) op ST(0), .pops (i != 0 when popping) */
	S_ST01,		/* ST(0) = f(ST(0), ST(1)) */
	S_ST1P,		/* ST(1) = f(ST(0), ST(1)), pop */
	S_MOVE,		/* done in C: moves between registers, TOP changes */
};

struct fast {
	uint8_t shape, pops;
};

#define PUSH { S_PUSH, 0 }
#define UNARY { S_UNARY, 0 }
#define ARITH_MEM(OP) [X87_F##OP##_M32] = UNARY, [X87_F##OP##_M64] = UNARY, \
	[X87_FI##OP##_M16] = UNARY, [X87_FI##OP##_M32] = UNARY,

static const struct fast fast[X87_NB_OPS] = {
	[X87_FLD_M32] = PUSH, [X87_FLD_M64] = PUSH, [X87_FLD_M80] = PUSH,
	[X87_FILD_M16] = PUSH, [X87_FILD_M32] = PUSH, [X87_FILD_M64] = PUSH,
	[X87_FBLD] = PUSH, [X87_FLD1] = PUSH, [X87_FLDZ] = PUSH, [X87_FLDPI] = PUSH,
	[X87_FLDL2E] = PUSH, [X87_FLDL2T] = PUSH, [X87_FLDLG2] = PUSH, [X87_FLDLN2] = PUSH,
	[X87_FST_M32] = { S_STORE, 0 }, [X87_FST_M64] = { S_STORE, 0 },
	[X87_FIST_M16] = { S_STORE, 0 }, [X87_FIST_M32] = { S_STORE, 0 },
	[X87_FSTP_M32] = { S_STORE, 1 }, [X87_FSTP_M64] = { S_STORE, 1 },
	[X87_FSTP_M80] = { S_STORE, 1 }, [X87_FISTP_M16] = { S_STORE, 1 },
	[X87_FISTP_M32] = { S_STORE, 1 }, [X87_FISTP_M64] = { S_STORE, 1 },
	[X87_FISTTP_M16] = { S_STORE, 1 }, [X87_FISTTP_M32] = { S_STORE, 1 },
	[X87_FISTTP_M64] = { S_STORE, 1 }, [X87_FBSTP] = { S_STORE, 1 },
	ARITH_MEM(ADD) ARITH_MEM(MUL) ARITH_MEM(SUB) ARITH_MEM(SUBR)
	ARITH_MEM(DIV) ARITH_MEM(DIVR)
	[X87_FCOM_M32] = { S_CMP, 0 }, [X87_FCOM_M64] = { S_CMP, 0 },
	[X87_FCOMP_M32] = { S_CMP, 1 }, [X87_FCOMP_M64] = { S_CMP, 1 },
	[X87_FICOM_M16] = { S_CMP, 0 }, [X87_FICOM_M32] = { S_CMP, 0 },
	[X87_FICOMP_M16] = { S_CMP, 1 }, [X87_FICOMP_M32] = { S_CMP, 1 },
	[X87_FCOMPP] = { S_CMP, 2 }, [X87_FUCOMPP] = { S_CMP, 2 },
	[X87_FTST] = { S_CMP, 0 }, [X87_FXAM] = { S_CMP, 0 },
	[X87_FCHS] = UNARY, [X87_FABS] = UNARY, [X87_FSQRT] = UNARY,
	[X87_FRNDINT] = UNARY, [X87_F2XM1] = UNARY, [X87_FSIN] = UNARY, [X87_FCOS] = UNARY,
	[X87_FPATAN] = { S_ST1P, 1 }, [X87_FYL2X] = { S_ST1P, 1 }, [X87_FYL2XP1] = { S_ST1P, 1 },
	[X87_FSCALE] = { S_ST01, 0 }, [X87_FPREM] = { S_ST01, 0 }, [X87_FPREM1] = { S_ST01, 0 },
	[X87_FADD_ST0_STI] = { S_ST0_STI, 0 }, [X87_FMUL_ST0_STI] = { S_ST0_STI, 0 },
	[X87_FSUB_ST0_STI] = { S_ST0_STI, 0 }, [X87_FSUBR_ST0_STI] = { S_ST0_STI, 0 },
	[X87_FDIV_ST0_STI] = { S_ST0_STI, 0 }, [X87_FDIVR_ST0_STI] = { S_ST0_STI, 0 },
	[X87_FADD_STI_ST0] = { S_STI_ST0, 0 }, [X87_FMUL_STI_ST0] = { S_STI_ST0, 0 },
	[X87_FSUB_STI_ST0] = { S_STI_ST0, 0 }, [X87_FSUBR_STI_ST0] = { S_STI_ST0, 0 },
	[X87_FDIV_STI_ST0] = { S_STI_ST0, 0 }, [X87_FDIVR_STI_ST0] = { S_STI_ST0, 0 },
	[X87_FADDP_STI] = { S_STI_ST0, 1 }, [X87_FMULP_STI] = { S_STI_ST0, 1 },
	[X87_FSUBP_STI] = { S_STI_ST0, 1 }, [X87_FSUBRP_STI] = { S_STI_ST0, 1 },
	[X87_FDIVP_STI] = { S_STI_ST0, 1 }, [X87_FDIVRP_STI] = { S_STI_ST0, 1 },
	[X87_FCOM_STI] = { S_CMPI, 0 }, [X87_FUCOM_STI] = { S_CMPI, 0 },
	[X87_FCOMP_STI] = { S_CMPI, 1 }, [X87_FUCOMP_STI] = { S_CMPI, 1 },
	[X87_FCOMI_STI] = { S_CMPI, 0 }, [X87_FUCOMI_STI] = { S_CMPI, 0 },
	[X87_FCOMIP_STI] = { S_CMPI, 1 }, [X87_FUCOMIP_STI] = { S_CMPI, 1 },
	[X87_FLD_STI] = { S_MOVE, 0 }, [X87_FST_STI] = { S_MOVE, 0 },
	[X87_FSTP_STI] = { S_MOVE, 1 }, [X87_FSTPNCE_STI] = { S_MOVE, 1 },
	[X87_FXCH_STI] = { S_MOVE, 0 },
	[X87_FCMOV_STI] = { S_MOVE, 0 }, [X87_FINCSTP] = { S_MOVE, 0 },
	[X87_FDECSTP] = { S_MOVE, 0 },
};

/*
 * Which condition codes a row writes differs between rows and between
 * vendors where the manual calls them undefined (AMD's FCOMI keeps C1,
 * Intel documents clearing it).  So it is asked of the host, once per row:
 * the general path runs the row on valid, ordinary operands with C0-C3
 * preset to ones and then to zeros; a code that keeps its preset both
 * times is left alone by the row.  For the rows done in C (S_MOVE) the
 * value written is recorded too (it does not depend on the operands).
 */
static uint16_t cc_written[X87_NB_OPS], cc_value[X87_NB_OPS];
static uint8_t cc_probed[X87_NB_OPS];

static void probe_cc(unsigned op)
{
	static const uint64_t mant[8] = {
		0xc000000000000000ull, 0xa000000000000000ull, 0x9000000000000000ull,
		0xe000000000000000ull, 0xb000000000000000ull, 0xd000000000000000ull,
		0x8800000000000000ull, 0xf000000000000000ull,
	};
	struct x87_state s, out[2];
	uint8_t m[108] = { 0 };
	memset(&s, 0, sizeof(s));
	s.fcw = FCW_DEFAULT;
	s.top = 3;
	for (int p = 0; p < 8; p++) {
		uint16_t se = 0x3fff + (p & 1);
		memcpy(&s.st[p], &mant[p], 8);
		memcpy((uint8_t *)&s.st[p] + 8, &se, 2);
	}
	s.ftw = 0xff & ~(1 << ((s.top - 1) & 7));	/* room for a push */
	switch (x87_op_flags[op] & XF_SZ_MASK) {	/* 1.5 in each format */
	case XF_SZ16: m[0] = 1; break;
	case XF_SZ32: memcpy(m, &(uint32_t){ 0x3fc00000 }, 4); break;
	case XF_SZ64: memcpy(m, &(uint64_t){ 0x3ff8000000000000ull }, 8); break;
	case XF_SZ80: memcpy(m, &s.st[0], 10); break;
	}
	if (op == X87_FBLD || (op >= X87_FILD_M16 && op <= X87_FILD_M64))
		memset(m, 0, 10), m[0] = 0x12;
	for (int k = 0; k < 2; k++) {
		s.fsw = k ? 0 : FSW_CC;
		run_general(&s, &out[k], op, 1, m, X86_ZF, false);
	}
	/* threads may probe a row at once: they store the same values */
	uint16_t kept = out[0].fsw & ~out[1].fsw & FSW_CC;
	__atomic_store_n(&cc_written[op], FSW_CC & ~kept, __ATOMIC_RELAXED);
	__atomic_store_n(&cc_value[op], out[1].fsw & FSW_CC & ~kept, __ATOMIC_RELAXED);
	__atomic_store_n(&cc_probed[op], 1, __ATOMIC_RELEASE);
}

/* The condition codes row op writes. */
static inline uint16_t written(unsigned op)
{
	if (!__atomic_load_n(&cc_probed[op], __ATOMIC_ACQUIRE))
		probe_cc(op);
	return __atomic_load_n(&cc_written[op], __ATOMIC_RELAXED);
}

/* The values a row done in C (S_MOVE) gives them. */
static inline uint16_t written_value(unsigned op)
{
	written(op);
	return __atomic_load_n(&cc_value[op], __ATOMIC_RELAXED);
}

/* A finite, nonzero, normalised value (not denormal, unnormal or special). */
static bool normal(const void *p)
{
	uint64_t m;
	uint16_t se;
	memcpy(&m, p, 8);
	memcpy(&se, (const uint8_t *)p + 8, 2);
	se &= 0x7fff;
	return se != 0 && se != 0x7fff && (m >> 63);
}

static inline void ld80(const void *p) { asm volatile("fldt %0" : : "m"(*(const long double *)p) : "memory"); }
static inline void st80(void *p) { asm volatile("fstpt %0" : "=m"(*(long double *)p) : : "memory"); }
static inline void drop(void) { asm volatile("fstp %%st(0)" : : : "memory"); }
static inline uint16_t host_sw(void)
{
	uint16_t sw;
	asm volatile("fnstsw %0" : "=a"(sw) : : "memory");
	return sw;
}

static const uint16_t loom_fcw = FCW_DEFAULT;

/* Host flags must be a subset of the guest's, so that the sticky flags the
 * host shows afterwards are exactly the guest's new ones. */
static inline void host_enter(const struct x87_state *f)
{
	struct cpu *cpu = (struct cpu *)((char *)f - offsetof(struct cpu, fpu));
	if (cpu->x.tool_fp == TOOL_FP_RAN) {
		cpu->x.tool_fp = TOOL_FP_NONE;
		host_exc = FSW_EXC;
		asm volatile("fldcw %0" : : "m"(loom_fcw) : "memory");
	}
	if (host_exc & ~f->fsw) {
		asm volatile("fnclex" : : : "memory");
		host_exc = 0;
	}
	if (f->fcw != FCW_DEFAULT)
		asm volatile("fldcw %0" : : "m"(f->fcw) : "memory");
}

static inline void host_leave(const struct x87_state *f, uint16_t hsw)
{
	if (f->fcw != FCW_DEFAULT)
		asm volatile("fldcw %0" : : "m"(loom_fcw) : "memory");
	host_exc = hsw & FSW_EXC;
}

/* Runs row op on the fast path if it applies, leaving the outcome in *f
 * (the status in *sw for the caller to merge).  Returns false when the
 * general path must run. */
static bool run_fast(struct x87_state *f, unsigned op, unsigned i, void *m, uint64_t *efl,
		     uint16_t *sw)
{
	const struct fast *d = &fast[op];
	unsigned j = i ? 1 : 0;		/* ST(i) on the host */
	uint16_t hsw;

	if (d->shape == S_GENERAL || d->shape == S_MOVE || (f->fcw & FSW_EXC) != FSW_EXC)
		return false;
	switch (d->shape) {
	case S_PUSH:
		if (f->ftw >> ((f->top - 1) & 7) & 1)
			return false;
		break;
	case S_UNARY:
	case S_STORE:
		if (!valid(f, 0))
			return false;
		break;
	case S_CMP:
		if (!valid(f, 0) || (d->pops == 2 && !valid(f, 1)))
			return false;
		break;
	case S_CMPI:
	case S_ST0_STI:
		if (!valid(f, 0) || !valid(f, i))
			return false;
		break;
	case S_STI_ST0:
		if (!valid(f, 0) || !valid(f, i) || (d->pops && !i))
			return false;
		break;
	case S_ST01:
	case S_ST1P:
		if (!valid(f, 0) || !valid(f, 1))
			return false;
		/* FPREM's quotient bits C0 C1 C3 are written only for
		 * finite nonzero operands; otherwise C0 and C3 keep values
		 * the host does not have */
		if ((op == X87_FPREM || op == X87_FPREM1) &&
		    (!normal(streg(f, 0)) || !normal(streg(f, 1))))
			return false;
		break;
	}

	host_enter(f);
	switch (d->shape) {
	case S_PUSH:
		host_exec(op, 0, m, efl, EFL_NONE);
		hsw = host_sw();
		push(f);
		st80(streg(f, 0));
		break;
	case S_UNARY:
		ld80(streg(f, 0));
		host_exec(op, 0, m, efl, EFL_NONE);
		hsw = host_sw();
		st80(streg(f, 0));
		break;
	case S_STORE:
		ld80(streg(f, 0));
		host_exec(op, 0, m, efl, EFL_NONE);
		hsw = host_sw();
		if (!d->pops)
			drop();
		break;
	case S_CMP:
		if (d->pops == 2)
			ld80(streg(f, 1));
		ld80(streg(f, 0));
		host_exec(op, 0, m, efl, EFL_NONE);
		hsw = host_sw();
		if (!d->pops)
			drop();
		pop(f, d->pops);
		break;
	case S_CMPI:
		if (j)
			ld80(streg(f, i));
		ld80(streg(f, 0));
		host_exec(op, j, m, efl, EFL_NONE);
		hsw = host_sw();
		for (int k = j + 1 - d->pops; k > 0; k--)
			drop();
		pop(f, d->pops);
		break;
	case S_ST0_STI:
		if (j)
			ld80(streg(f, i));
		ld80(streg(f, 0));
		host_exec(op, j, m, efl, EFL_NONE);
		hsw = host_sw();
		st80(streg(f, 0));
		if (j)
			drop();
		break;
	case S_STI_ST0:
		if (j)
			ld80(streg(f, i));
		ld80(streg(f, 0));
		host_exec(op, j, m, efl, EFL_NONE);
		hsw = host_sw();
		if (j && !d->pops)
			drop();		/* ST(0) */
		st80(streg(f, i));
		pop(f, d->pops);
		break;
	case S_ST01:
		ld80(streg(f, 1));
		ld80(streg(f, 0));
		host_exec(op, 0, m, efl, EFL_NONE);
		hsw = host_sw();
		st80(streg(f, 0));
		drop();
		break;
	case S_ST1P:
		ld80(streg(f, 1));
		ld80(streg(f, 0));
		host_exec(op, 0, m, efl, EFL_NONE);
		hsw = host_sw();
		st80(streg(f, 1));
		pop(f, 1);
		break;
	default:
		__builtin_unreachable();
	}
	host_leave(f, hsw);
	uint16_t cc = written(op);
	*sw = (f->fsw & ~cc) | (hsw & (cc | FSW_EXC));
	return true;
}

/* ---- rows done in C ---- */

/* Rows whose whole effect is a move between registers or a change of TOP:
 * exact in C when their operands are valid (they raise nothing then).
 * Returns false when the general path must run. */
static bool run_move(struct x87_state *f, unsigned op, unsigned i, uint64_t arg)
{
	switch (op) {
	case X87_FLD_STI:
		if (!valid(f, i) || f->ftw >> ((f->top - 1) & 7) & 1)
			return false;
		push(f);
		memcpy(streg(f, 0), streg(f, i + 1), 10);
		break;
	case X87_FST_STI:
	case X87_FSTP_STI:
	case X87_FSTPNCE_STI:
		if (!valid(f, 0))
			return false;
		memcpy(streg(f, i), streg(f, 0), 10);
		f->ftw |= 1 << phys(f, i);
		if (op != X87_FST_STI)
			pop(f, 1);
		break;
	case X87_FXCH_STI: {
		uint8_t t[10];
		if (!valid(f, 0) || !valid(f, i))
			return false;
		memcpy(t, streg(f, 0), 10);
		memcpy(streg(f, 0), streg(f, i), 10);
		memcpy(streg(f, i), t, 10);
		break;
	}
	case X87_FCMOV_STI:
		if (!valid(f, 0) || !valid(f, i))
			return false;
		if (arg)
			memcpy(streg(f, 0), streg(f, i), 10);
		break;
	case X87_FINCSTP:
		f->top = (f->top + 1) & 7;
		break;
	case X87_FDECSTP:
		f->top = (f->top - 1) & 7;
		break;
	default:
		return false;
	}
	f->fsw = (f->fsw & ~written(op)) | written_value(op);
	return true;
}

/* ---- environment and state images ---- */

static size_t env_size(unsigned op)
{
	switch (op) {
	case X87_FNSTENV: case X87_FLDENV: return 28;
	case X87_FNSAVE: case X87_FRSTOR: return 108;
	case X87_FNSTENV16: case X87_FLDENV16: return 14;
	default: return 94;	/* the 16-bit FNSAVE/FRSTOR */
	}
}

static uint32_t host_mxcsr_mask;
/* AMD's FXSAVE stores FIP, FDP and FOP only while an exception is pending
 * (ES), zeros otherwise; Intel's always.  The guest sees the host's way. */
static bool host_fxsave_ptrs_if_es;
bool x87_host_fop_exc_only, x87_host_fdp_exc_only, x87_host_fcs_zero;

__attribute__((constructor)) static void x87_probe_host(void)
{
	struct host_x87 h = host_probe_x87();
	host_mxcsr_mask = h.mxcsr_mask;
	host_fxsave_ptrs_if_es = h.fxsave_ptrs_if_es;
	x87_host_fop_exc_only = h.fop_exc_only;
	x87_host_fdp_exc_only = h.fdp_exc_only;
	x87_host_fcs_zero = h.fcs_zero;
}

bool x87_host_has_fisttp(void)
{
	return host_has_sse3();
}


static void fxsave_to(struct cpu *cpu, struct x86_fxsave *a, bool rex_w)
{
	const struct x87_state *f = &cpu->fpu;
	memset(a, 0, sizeof(*a));
	a->fcw = f->fcw;
	a->fsw = f->fsw | f->top << 11;
	a->ftw = f->ftw;
	if (!host_fxsave_ptrs_if_es || (f->fsw & FSW_ES)) {
		a->fop = f->fop & 0x7ff;
		/* Without REX.W: 32-bit offsets, and FCS as FNSTENV has it
		 * (FDS is Linux's user DS, 0). */
		a->fip = rex_w || x87_host_fcs_zero ? f->fpip : (uint32_t)f->fpip | (f->fpip ? 0x33ull << 32 : 0);
		a->fdp = rex_w ? f->fpdp : (uint32_t)f->fpdp;
	}
	a->mxcsr = x86_mxcsr_read(cpu);
	a->mxcsr_mask = host_mxcsr_mask;
	for (int i = 0; i < 8; i++)
		memcpy(a->st[i], &f->st[(f->top + i) & 7], 10);
	memcpy(a->xmm, cpu->xmm, sizeof(a->xmm));
}

static void fxrstor_from(struct cpu *cpu, const struct x86_fxsave *a, bool rex_w)
{
	struct x87_state *f = &cpu->fpu;
	f->fcw = fix_fcw(a->fcw);
	f->top = a->fsw >> 11 & 7;
	f->fsw = a->fsw & ~FSW_TOP;
	fix_es(f);
	f->ftw = a->ftw;
	f->fop = a->fop & 0x7ff;
	f->fpip = rex_w ? a->fip : (uint32_t)a->fip;
	f->fpdp = rex_w ? a->fdp : (uint32_t)a->fdp;
	for (int i = 0; i < 8; i++) {
		long double *r = &f->st[(f->top + i) & 7];
		memset(r, 0, sizeof(*r));
		memcpy(r, a->st[i], 10);
	}
	x86_mxcsr_write(cpu, a->mxcsr & host_mxcsr_mask);
	memcpy(cpu->xmm, a->xmm, sizeof(a->xmm));
}

void x87_fxsave(struct cpu *cpu, void *area512)
{
	struct x86_fxsave a;
	fxsave_to(cpu, &a, true);
	memcpy(area512, &a, X86_FXSAVE_WRITTEN);
}

void x87_fxsave_fmt(struct cpu *cpu, void *area512, bool rex_w)
{
	struct x86_fxsave a;
	fxsave_to(cpu, &a, rex_w);
	memcpy(area512, &a, X86_FXSAVE_WRITTEN);
}

void x87_fxrstor_fmt(struct cpu *cpu, const void *area512, bool rex_w)
{
	struct x86_fxsave a;
	memcpy(&a, area512, X86_FXSAVE_WRITTEN);
	fxrstor_from(cpu, &a, rex_w);
}

void x87_fxrstor(struct cpu *cpu, const void *area512)
{
	struct x86_fxsave a;
	memcpy(&a, area512, X86_FXSAVE_WRITTEN);
	fxrstor_from(cpu, &a, true);
}

/* What the CPU touches of a save area of size bytes before it moves any
 * of them, as the host shows it: the x87 environment and save areas
 * their first field (first bytes: 4 in the 32-bit layouts, 2 in the
 * 16-bit ones) and then their last byte, the FXSAVE area (first 0) its
 * last byte and then its first.  An area that runs into a page it may
 * not access faults there, at the first byte of that page the probe
 * reaches, with nothing written. */
static void area_probe(struct cpu *cpu, uint64_t addr, size_t size, size_t first, bool store)
{
	uint64_t at[3] = { addr, addr + (first ? first : 1) - 1, addr + size - 1 };
	if ((at[1] ^ addr) >> 12)
		at[1] &= ~0xfffull;
	else
		at[1] = addr;
	if (!first) {
		at[0] = at[2];
		at[2] = addr;
	}
	for (int i = 0; i < 3; i++) {
		if (store)
			x86_st_probe(cpu, at[i]);
		else
			x86_ld_probe(cpu, at[i]);
	}
}

/* FXSAVE/FXRSTOR as instructions: #GP(0) for a
 * misaligned area or reserved MXCSR bits; the guest memory is read whole
 * before anything changes and written before nothing else changes. */
static void do_fxsave(struct cpu *cpu, uint64_t addr, bool rex_w)
{
	struct x86_fxsave a;
	if (addr & 15)
		x86_raise_gp0(cpu);
	area_probe(cpu, addr, 512, 0, true);
	fxsave_to(cpu, &a, rex_w);
	x86_st_buf(cpu, addr, &a, X86_FXSAVE_WRITTEN);
}

static void do_fxrstor(struct cpu *cpu, uint64_t addr, bool rex_w)
{
	struct x86_fxsave a;
	if (addr & 15)
		x86_raise_gp0(cpu);
	area_probe(cpu, addr, 512, 0, false);
	x86_ld_buf(cpu, &a, addr, X86_FXSAVE_WRITTEN);
	if (a.mxcsr & ~host_mxcsr_mask)
		x86_raise_gp0(cpu);
	fxrstor_from(cpu, &a, rex_w);
}

/* FNSTENV, FLDENV, FNSAVE, FRSTOR (and their 16-bit forms) run on the host
 * through the general path, on a copy of the guest's memory. */
static void do_env(struct cpu *cpu, unsigned op, uint64_t addr)
{
	struct x87_state n;
	uint8_t buf[108] = { 0 };
	size_t size = env_size(op);
	bool load = op == X87_FLDENV || op == X87_FRSTOR || op == X87_FLDENV16 ||
		    op == X87_FRSTOR16;
	bool save = op == X87_FNSAVE || op == X87_FNSAVE16;
	uint64_t efl = 0;

	area_probe(cpu, addr, size, size == 14 || size == 94 ? 2 : 4, !load);
	if (load)
		x86_ld_buf(cpu, buf, addr, size);
	run_general(&cpu->fpu, &n, op, 0, buf, efl, load || save);
	if (!load)
		x86_st_buf(cpu, addr, buf, size);
	cpu->fpu = n;
}

/* ---- the entry point ---- */

static uint64_t pack(const struct x87_state *f, bool store)
{
	return f->fsw | (uint64_t)f->ftw << 16 | (uint64_t)f->top << 32 |
	       (store ? X87_RET_STORE : 0);
}

/* A store row on the general path: run it on a copy (the lifter commits
 * the status after its IR store).  Whether the host stored is known from
 * the outcome: only an unmasked exception suppresses the store, and then
 * a second run into a differently filled buffer tells. */
static uint64_t store_general(struct cpu *cpu, unsigned op)
{
	static const uint8_t sizes[] = { [XF_SZ16 >> 8] = 2, [XF_SZ32 >> 8] = 4,
					 [XF_SZ64 >> 8] = 8, [XF_SZ80 >> 8] = 10 };
	struct x87_state n;
	uint8_t a[108] = { 0 }, b[108];
	size_t size = sizes[(x87_op_flags[op] & XF_SZ_MASK) >> 8];
	run_general(&cpu->fpu, &n, op, 0, a, 0, false);
	bool stored = true;
	if (n.fsw & FSW_ES) {
		memset(b, 0xff, size);
		run_general(&cpu->fpu, &n, op, 0, b, 0, false);
		stored = !memcmp(a, b, size);
	}
	memcpy(&cpu->xtmp, a, 16);
	return pack(&n, stored);
}

uint64_t helper_x87(uint64_t envp, uint64_t opw, uint64_t arg)
{
	struct cpu *cpu = (struct cpu *)(uintptr_t)envp;
	struct x87_state *f = &cpu->fpu;
	unsigned op = opw & 0xff, i = opw >> 8 & 7;
	unsigned fl = x87_op_flags[op];
	void *m = &cpu->xtmp;
	uint64_t efl = 0;
	uint16_t sw;

	if ((fl & XF_WAIT) && (f->fsw & FSW_ES))
		x87_raise(cpu);

	switch (op) {
	case X87_FWAIT:
		return 0;
	case X87_FNINIT:
		f->fcw = FCW_DEFAULT;
		f->fsw = f->ftw = f->top = 0;
		f->fpip = f->fpdp = f->fop = 0;
		return 0;
	case X87_FNCLEX:
		f->fsw &= ~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
		return 0;
	case X87_FLDCW: {
		uint16_t v;
		memcpy(&v, m, 2);
		f->fcw = fix_fcw(v);
		fix_es(f);
		return 0;
	}
	case X87_FXSAVE: do_fxsave(cpu, arg, false); return 0;
	case X87_FXSAVE64: do_fxsave(cpu, arg, true); return 0;
	case X87_FXRSTOR: do_fxrstor(cpu, arg, false); return 0;
	case X87_FXRSTOR64: do_fxrstor(cpu, arg, true); return 0;
	}
	if (fl & XF_MEM) {
		do_env(cpu, op, arg);
		return 0;
	}

	if (fl & XF_OUT) {
		/* (a store's fast path reads *f and changes nothing) */
		if (!run_fast(f, op, i, m, &efl, &sw))
			return store_general(cpu, op);
		struct x87_state n;
		n.fsw = sw;
		n.ftw = f->ftw;
		n.top = f->top;
		pop(&n, fast[op].pops);
		return pack(&n, true);	/* FIP/FOP/FDP: the lifter's commit */
	}

	if (run_move(f, op, i, arg)) {
		/* nothing raised */
	} else if (run_fast(f, op, i, m, &efl, &sw)) {
		f->fsw = sw;
	} else {
		if (fl & XF_EFL)	/* kept when an unmasked exception stops FCOMI */
			efl = helper_cc_compute_all(cpu->cc_dst, cpu->cc_src, cpu->cc_src2, cpu->cc_op);
		if (op == X87_FCMOV_STI)
			efl = arg ? X86_ZF : 0;
		efl = run_general(f, f, op, i, m, efl, false);
	}
	if (fl & XF_NC) {
		/* ES now: this instruction raised an unmasked exception (with
		 * one pending it would not have run) */
		bool exc = f->fsw & FSW_ES;
		f->fpip = cpu->rip;
		if (exc || !x87_host_fop_exc_only)
			f->fop = opw >> 16 & 0x7ff;
		if ((fl & XF_IN) && (exc || !x87_host_fdp_exc_only))
			f->fpdp = arg;
	}
	return (fl & XF_EFL) ? (efl & X86_ARITH_FLAGS) : 0;
}
