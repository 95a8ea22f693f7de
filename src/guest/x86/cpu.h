/*
 * The x86-64 guest CPU state.  This struct is the only coupling between the
 * guest and the host layers: IR globals are named slots in it (offsets from
 * env), the backend keeps env in a host register, and helpers take it as their
 * first argument.  Invariant: every field that generated code reaches through
 * an IR global is a uint64_t, so the backend can treat all globals alike.
 */
#ifndef LOOM_GUEST_X86_CPU_H
#define LOOM_GUEST_X86_CPU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "exec/exec.h"

struct x86_sys;

enum x86_reg {
	R_RAX, R_RCX, R_RDX, R_RBX, R_RSP, R_RBP, R_RSI, R_RDI,
	R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15,
};

/* Lazy flags: cc_op says how to compute RFLAGS' arithmetic bits from
 * cc_dst/cc_src/cc_src2; the exact rule of each family is in flags.c.  The
 * size is the low two bits within a family (B, W, L, Q); values may carry
 * garbage above the operand size. */
enum cc_op {
	CC_OP_EFLAGS = 0,	/* cc_src holds the flags themselves */
#define CC_FAMILY(x) CC_OP_##x##B, CC_OP_##x##W, CC_OP_##x##L, CC_OP_##x##Q
	CC_OP_BASE_ = 3,
	CC_FAMILY(ADD),		/* dst = result, src = second operand */
	CC_FAMILY(ADC),		/* as ADD, src2 = carry-in */
	CC_FAMILY(SUB),		/* dst = result, src = subtrahend (also cmp, neg) */
	CC_FAMILY(SBB),		/* as SUB, src2 = borrow-in */
	CC_FAMILY(LOGIC),	/* dst only; CF = OF = 0 */
	CC_FAMILY(INC),		/* dst; src = CF before */
	CC_FAMILY(DEC),
	CC_FAMILY(SHL),		/* dst; src = value shifted by count-1 */
	CC_FAMILY(SAR),		/* dst; src = value shifted by count-1 (SHR too) */
	CC_FAMILY(MUL),		/* dst = low half; src != 0 means CF = OF = 1 */
	CC_FAMILY(BMI),		/* dst; CF = bit 0 of src */
	CC_FAMILY(ROT),		/* dst: ZF SF PF; src: CF AF OF bits (a rotate) */
#undef CC_FAMILY
	CC_OP_POPCNT,		/* ZF = (src == 0), others 0 */
	CC_OP_NB,
};

/* RFLAGS bits */
#define X86_CF 0x0001
#define X86_PF 0x0004
#define X86_AF 0x0010
#define X86_ZF 0x0040
#define X86_SF 0x0080
#define X86_TF 0x0100
#define X86_IF 0x0200
#define X86_DF 0x0400
#define X86_OF 0x0800
#define X86_RF 0x10000
#define X86_AC 0x40000
#define X86_ID 0x200000
/* XCR0 of the modelled CPU from x86-64-v3 on: x87, SSE, AVX state */
#define X86_XCR0 0x7
/* The standard (non-compacted) XSAVE layout of those components. */
#define XSAVE_HDR_OFF 512	/* XSTATE_BV, XCOMP_BV, reserved: 64 bytes */
#define XSAVE_YMM_OFF 576	/* AVX: ymm0-15 bits 255:128 */
#define XSAVE_SIZE 832


#define X86_ARITH_FLAGS (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

/* A canonical address with 48 virtual-address bits: bits 63-47 equal.  (A
 * host with 57-bit addresses maps user memory above 47 bits only when asked
 * to; loom does not support guests that ask.) */
static inline bool x86_canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* Exception vectors (Intel SDM vol. 3, table 6-1): what the frontend and
 * helpers raise (struct guest_exception, exec/exec.h).  The page-fault
 * error code's bits, and the DR6 bit a single-step trap sets. */
enum x86_vector {
	X86_EXC_DE = 0,		/* divide error */
	X86_EXC_DB = 1,		/* debug: single step, int1 */
	X86_EXC_BP = 3,		/* breakpoint: int3, int $3 */
	X86_EXC_OF = 4,		/* overflow: into, int $4 */
	X86_EXC_BR = 5,		/* bound range */
	X86_EXC_UD = 6,		/* invalid opcode */
	X86_EXC_NM = 7,		/* device not available */
	X86_EXC_DF = 8,		/* double fault */
	X86_EXC_TS = 10,	/* invalid TSS */
	X86_EXC_NP = 11,	/* segment not present */
	X86_EXC_SS = 12,	/* stack-segment fault */
	X86_EXC_GP = 13,	/* general protection */
	X86_EXC_PF = 14,	/* page fault */
	X86_EXC_MF = 16,	/* x87 floating-point error */
	X86_EXC_AC = 17,	/* alignment check */
	X86_EXC_MC = 18,	/* machine check */
	X86_EXC_XM = 19,	/* SIMD floating-point exception */
};
#define X86_PF_PROT 0x01	/* the page was present (a protection fault) */
#define X86_PF_WRITE 0x02
#define X86_PF_USER 0x04
#define X86_PF_INSTR 0x10	/* an instruction fetch */
#define X86_PF_PK 0x20		/* refused by a protection key */
#define X86_DR6_BS (1u << 14)	/* the trap is a single step */

typedef union {
	uint8_t b[16];
	uint16_t w[8];
	uint32_t l[4];
	uint64_t q[2];
	float s[4];
	double d[2];
} __attribute__((aligned(16))) x86_xmm;

struct x87_state {
	long double st[8];	/* physical registers, st[(top + i) & 7] is ST(i) */
	uint16_t fcw, fsw, ftw;	/* ftw: abridged, 1 bit per register = valid */
	uint8_t top;
	uint64_t fpip, fpdp;
	uint16_t fop;
};

struct cpu {
	/* --- IR globals: uint64_t each --- */
	uint64_t regs[16];
	uint64_t rip;
	uint64_t cc_op;
	uint64_t cc_dst, cc_src, cc_src2;
	uint64_t df;		/* 1 or -1 */
	uint64_t fs_base, gs_base;

	/* --- reached by helpers and ld_env/st_env --- */
	uint64_t eflags;	/* the other bits: TF, IF, NT, AC, ID, bit 1 */
	uint32_t mxcsr;		/* see x86_mxcsr_read: not the whole story */
	uint32_t mxcsr_live;	/* the host MXCSR is this cpu's (exec_run) */
	x86_xmm xmm[16];
	x86_xmm xmm_hi[16];	/* bits 255:128 of ymm0-15; legacy SSE leaves them */
	x86_xmm xtmp;		/* memory operand staging for SSE helpers */
	uint64_t mmx_pad;
	uint64_t xinuse_pad;
	x86_xmm ytmp[2];	/* a 256-bit memory operand staged for AVX helpers */
	x86_xmm ftmp[2];	/* inline 256-bit FP results before they are written */
	struct x87_state fpu;
	/* Segment selectors, indexed by enum x86_sreg.  In 64-bit mode only
	 * FS and GS have a base that matters (fs_base, gs_base above); the
	 * selectors are what mov/push Sreg read back. */
	uint16_t seg[6];

	/* --- execution state shared with the exec layer --- */
	struct cpu_exec x;

	/* System mode's state (guest/x86/sys.h), or NULL in user mode: a
	 * non-NULL one is what makes this a system-mode cpu.  Last, so that
	 * user mode's layout (and generated code) is what it was. */
	struct x86_sys *sys;
};

/* Segment registers in the ModRM reg-field order of mov Sreg. */
enum x86_sreg { SREG_ES, SREG_CS, SREG_SS, SREG_DS, SREG_FS, SREG_GS };
/* What the kernel gives a 64-bit process: flat user code and stack
 * segments, null data selectors. */
#define X86_USER_CS 0x33
#define X86_USER_SS 0x2b

#define CPU_OFF(field) ((int32_t)offsetof(struct cpu, field))

/* Full RFLAGS from the lazy state (guest/x86/flags.c). */
uint64_t x86_get_rflags(struct cpu *cpu);
void x86_set_rflags(struct cpu *cpu, uint64_t rflags);
uint64_t helper_cc_compute_all(uint64_t dst, uint64_t src, uint64_t src2, uint64_t op);
uint64_t helper_cc_compute_c(uint64_t dst, uint64_t src, uint64_t src2, uint64_t op);

/* XSAVE images of the state (guest/x86/xsave.c), for xsave/xrstor and
 * the signal frame: x86_xsave writes the standard form of the components
 * in rfbm (and the header's XSTATE_BV for them); x86_xrstor loads the
 * components in rfbm from a standard-form image (XSTATE_BV selects loaded
 * vs initialised) and never faults: the caller validated the image.  The
 * x87 part is in XSAVE64's format (64-bit FIP/FDP), as the kernel's. */
void x86_xsave(struct cpu *cpu, uint8_t *area, uint64_t rfbm);
void x86_xrstor(struct cpu *cpu, const uint8_t *area, uint64_t rfbm);

/*
 * MXCSR.  While a thread runs its cpu (from guest_enter to guest_leave,
 * around exec_run), the host MXCSR holds the guest's: its control bits equal
 * cpu->mxcsr's, and the guest's sticky flags are cpu->mxcsr's OR the host's
 * (translated code runs SSE instructions inline and never writes
 * cpu->mxcsr).  Outside, cpu->mxcsr is the whole value and the host MXCSR
 * is loom's default.  Read and write it only through these two
 * (guest/x86/cpu.c); x86_mxcsr_read folds the host flags in.
 */
uint32_t x86_mxcsr_read(struct cpu *cpu);
void x86_mxcsr_write(struct cpu *cpu, uint32_t v);

void x86_cpu_reset(struct cpu *cpu);

/* Raise a guest exception from a helper (guest/x86/fault.c): rip must
 * already be the pc the exception reports.  x86_raise_err for the vectors
 * with an error code (x86_raise_gp0: #GP(0), the commonest). */
_Noreturn void x86_raise(struct cpu *cpu, enum x86_vector v);
_Noreturn void x86_raise_err(struct cpu *cpu, enum x86_vector v, uint32_t error_code);
_Noreturn void x86_raise_gp0(struct cpu *cpu);
/* The page fault of a user-mode fetch at addr that fails. */
void x86_fetch_fault(uint64_t addr, struct guest_exception *e);

#endif
