/*
 * The x87 FPU of the x86 guest: the operation table shared by the lifter
 * (lift-x87.c), the helpers that run it on the host FPU (x87-helpers.c) and
 * their tests, and the FXSAVE image functions the signal-frame code uses.
 *
 * Every x87 instruction form lifts to one call of helper_x87(env, op, arg):
 * `op` packs the row of X87_OPS, the register index i of an ST(i) operand
 * and the 11-bit FOP of the instruction (X87_OP below); `arg` is the
 * effective address of a memory operand (for FDP, and for the save/restore
 * rows, which access guest memory themselves), or the condition of FCMOVcc.
 * A memory operand that the row reads (XF_IN) is loaded by the lifter with
 * IR loads and staged in cpu->xtmp; a result the row writes to memory
 * (XF_OUT) is left in cpu->xtmp and stored by the lifter with IR stores,
 * and the helper then returns the post-instruction status instead of
 * committing it (X87_RET_*), so a faulting store leaves the FPU untouched.
 *
 * Invariants of struct x87_state kept by everything that writes it:
 *  - fsw holds no TOP (bits 11-13 are zero); top holds it.
 *  - fsw's ES (bit 7) and B (bit 15) are set exactly when an exception flag
 *    is set whose mask bit in fcw is clear, as the CPU recomputes them on
 *    every load of fcw or fsw.
 *  - ftw is the abridged tag: bit p set when physical register p is valid.
 *  - fcw has bit 6 set and bits 7, 13-15 clear (what FLDCW keeps).
 */
#ifndef LOOM_GUEST_X86_X87_H
#define LOOM_GUEST_X86_X87_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "guest/x86/cpu.h"

/* Status word */
#define FSW_IE 0x0001
#define FSW_DE 0x0002
#define FSW_ZE 0x0004
#define FSW_OE 0x0008
#define FSW_UE 0x0010
#define FSW_PE 0x0020
#define FSW_SF 0x0040
#define FSW_ES 0x0080
#define FSW_C0 0x0100
#define FSW_C1 0x0200
#define FSW_C2 0x0400
#define FSW_TOP 0x3800
#define FSW_C3 0x4000
#define FSW_B 0x8000
#define FSW_EXC 0x003f		/* the six exception flags (and their masks in fcw) */
#define FSW_CC (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)
#define FCW_DEFAULT 0x037f

/* Row attributes. */
enum {
	XF_WAIT = 1 << 0,	/* checks for a pending unmasked exception first */
	XF_NC = 1 << 1,		/* non-control: records FIP/FOP (and FDP) */
	XF_REG = 1 << 2,	/* has an ST(i) operand: i is in the op word */
	XF_IN = 1 << 3,		/* reads a memory operand staged in xtmp */
	XF_OUT = 1 << 4,	/* writes a memory result to xtmp; returns X87_RET */
	XF_MEM = 1 << 5,	/* accesses guest memory itself at arg (env, save) */
	XF_EFL = 1 << 6,	/* returns the arithmetic RFLAGS (FCOMI family) */
	XF_SZ16 = 1 << 8,	/* memory operand size (XF_IN / XF_OUT) */
	XF_SZ32 = 2 << 8,
	XF_SZ64 = 3 << 8,
	XF_SZ80 = 4 << 8,
	XF_SZ_MASK = 7 << 8,
};

#define XF_W (XF_WAIT | XF_NC)
#define XF_R (XF_WAIT | XF_NC | XF_REG)
#define XF_I16 (XF_W | XF_IN | XF_SZ16)
#define XF_I32 (XF_W | XF_IN | XF_SZ32)
#define XF_I64 (XF_W | XF_IN | XF_SZ64)
#define XF_I80 (XF_W | XF_IN | XF_SZ80)
#define XF_O16 (XF_W | XF_OUT | XF_SZ16)
#define XF_O32 (XF_W | XF_OUT | XF_SZ32)
#define XF_O64 (XF_W | XF_OUT | XF_SZ64)
#define XF_O80 (XF_W | XF_OUT | XF_SZ80)

/*
 * The operations.  Memory rows: (name, attributes, AT&T text of the host
 * instruction, %[m] being the operand).  Register rows: (name, attributes,
 * the two opcode bytes for ST(0): the i of ST(i) is added to the second).
 * The register rows are written as bytes because AT&T mnemonics swap
 * FSUB/FSUBR and FDIV/FDIVR in the DC/DE forms; the bytes are Intel's.
 */
#define X87_ARITH_MEM(X, OP, op) \
	X(F##OP##_M32, XF_I32, "f" #op "s %[m]") \
	X(F##OP##_M64, XF_I64, "f" #op "l %[m]") \
	X(FI##OP##_M16, XF_I16, "fi" #op "s %[m]") \
	X(FI##OP##_M32, XF_I32, "fi" #op "l %[m]")

#define X87_MEM_OPS(X) \
	/* loads */ \
	X(FLD_M32, XF_I32, "flds %[m]") \
	X(FLD_M64, XF_I64, "fldl %[m]") \
	X(FLD_M80, XF_I80, "fldt %[m]") \
	X(FILD_M16, XF_I16, "filds %[m]") \
	X(FILD_M32, XF_I32, "fildl %[m]") \
	X(FILD_M64, XF_I64, "fildll %[m]") \
	X(FBLD, XF_I80, "fbld %[m]") \
	X(FLD1, XF_W, "fld1") \
	X(FLDZ, XF_W, "fldz") \
	X(FLDPI, XF_W, "fldpi") \
	X(FLDL2E, XF_W, "fldl2e") \
	X(FLDL2T, XF_W, "fldl2t") \
	X(FLDLG2, XF_W, "fldlg2") \
	X(FLDLN2, XF_W, "fldln2") \
	/* stores */ \
	X(FST_M32, XF_O32, "fsts %[m]") \
	X(FST_M64, XF_O64, "fstl %[m]") \
	X(FSTP_M32, XF_O32, "fstps %[m]") \
	X(FSTP_M64, XF_O64, "fstpl %[m]") \
	X(FSTP_M80, XF_O80, "fstpt %[m]") \
	X(FIST_M16, XF_O16, "fists %[m]") \
	X(FIST_M32, XF_O32, "fistl %[m]") \
	X(FISTP_M16, XF_O16, "fistps %[m]") \
	X(FISTP_M32, XF_O32, "fistpl %[m]") \
	X(FISTP_M64, XF_O64, "fistpll %[m]") \
	X(FISTTP_M16, XF_O16, "fisttps %[m]") \
	X(FISTTP_M32, XF_O32, "fisttpl %[m]") \
	X(FISTTP_M64, XF_O64, "fisttpll %[m]") \
	X(FBSTP, XF_O80, "fbstp %[m]") \
	/* arithmetic with a memory operand: ST(0) = ST(0) op m */ \
	X87_ARITH_MEM(X, ADD, add) \
	X87_ARITH_MEM(X, MUL, mul) \
	X87_ARITH_MEM(X, SUB, sub) \
	X87_ARITH_MEM(X, SUBR, subr) \
	X87_ARITH_MEM(X, DIV, div) \
	X87_ARITH_MEM(X, DIVR, divr) \
	/* compares */ \
	X(FCOM_M32, XF_I32, "fcoms %[m]") \
	X(FCOM_M64, XF_I64, "fcoml %[m]") \
	X(FCOMP_M32, XF_I32, "fcomps %[m]") \
	X(FCOMP_M64, XF_I64, "fcompl %[m]") \
	X(FICOM_M16, XF_I16, "ficoms %[m]") \
	X(FICOM_M32, XF_I32, "ficoml %[m]") \
	X(FICOMP_M16, XF_I16, "ficomps %[m]") \
	X(FICOMP_M32, XF_I32, "ficompl %[m]") \
	X(FCOMPP, XF_W, "fcompp") \
	X(FUCOMPP, XF_W, "fucompp") \
	X(FTST, XF_W, "ftst") \
	X(FXAM, XF_W, "fxam") \
	/* on ST(0) and ST(1) */ \
	X(FCHS, XF_W, "fchs") \
	X(FABS, XF_W, "fabs") \
	X(FSQRT, XF_W, "fsqrt") \
	X(FRNDINT, XF_W, "frndint") \
	X(F2XM1, XF_W, "f2xm1") \
	X(FSIN, XF_W, "fsin") \
	X(FCOS, XF_W, "fcos") \
	X(FSINCOS, XF_W, "fsincos") \
	X(FPTAN, XF_W, "fptan") \
	X(FPATAN, XF_W, "fpatan") \
	X(FYL2X, XF_W, "fyl2x") \
	X(FYL2XP1, XF_W, "fyl2xp1") \
	X(FSCALE, XF_W, "fscale") \
	X(FXTRACT, XF_W, "fxtract") \
	X(FPREM, XF_W, "fprem") \
	X(FPREM1, XF_W, "fprem1") \
	/* stack and control */ \
	X(FINCSTP, XF_W, "fincstp") \
	X(FDECSTP, XF_W, "fdecstp") \
	X(FNOP, XF_W, "fnop") \
	X(FWAIT, XF_WAIT, "") \
	X(FLDCW, XF_WAIT | XF_IN | XF_SZ16, "fldcw %[m]") \
	X(FNCLEX, 0, "fnclex") \
	X(FNINIT, 0, "fninit") \
	X(FNSTENV, XF_MEM, "fnstenv %[m]") \
	X(FLDENV, XF_WAIT | XF_MEM, "fldenv %[m]") \
	X(FNSAVE, XF_MEM, "fnsave %[m]") \
	X(FRSTOR, XF_WAIT | XF_MEM, "frstor %[m]") \
	X(FNSTENV16, XF_MEM, "data16 fnstenv %[m]") \
	X(FLDENV16, XF_WAIT | XF_MEM, "data16 fldenv %[m]") \
	X(FNSAVE16, XF_MEM, "data16 fnsave %[m]") \
	X(FRSTOR16, XF_WAIT | XF_MEM, "data16 frstor %[m]") \
	X(FXSAVE, XF_MEM, "") \
	X(FXSAVE64, XF_MEM, "") \
	X(FXRSTOR, XF_MEM, "") \
	X(FXRSTOR64, XF_MEM, "")

#define X87_REG_OPS(X) \
	X(FLD_STI, XF_R, 0xd9, 0xc0) \
	X(FST_STI, XF_R, 0xdd, 0xd0) \
	X(FSTP_STI, XF_R, 0xdd, 0xd8) \
	X(FSTPNCE_STI, XF_R, 0xd9, 0xd8) \
	X(FXCH_STI, XF_R, 0xd9, 0xc8) \
	X(FFREE_STI, XF_R, 0xdd, 0xc0) \
	X(FFREEP_STI, XF_R, 0xdf, 0xc0) \
	/* ST(0) = ST(0) op ST(i) */ \
	X(FADD_ST0_STI, XF_R, 0xd8, 0xc0) \
	X(FMUL_ST0_STI, XF_R, 0xd8, 0xc8) \
	X(FSUB_ST0_STI, XF_R, 0xd8, 0xe0) \
	X(FSUBR_ST0_STI, XF_R, 0xd8, 0xe8) \
	X(FDIV_ST0_STI, XF_R, 0xd8, 0xf0) \
	X(FDIVR_ST0_STI, XF_R, 0xd8, 0xf8) \
	/* ST(i) = ST(i) op ST(0) */ \
	X(FADD_STI_ST0, XF_R, 0xdc, 0xc0) \
	X(FMUL_STI_ST0, XF_R, 0xdc, 0xc8) \
	X(FSUBR_STI_ST0, XF_R, 0xdc, 0xe0) \
	X(FSUB_STI_ST0, XF_R, 0xdc, 0xe8) \
	X(FDIVR_STI_ST0, XF_R, 0xdc, 0xf0) \
	X(FDIV_STI_ST0, XF_R, 0xdc, 0xf8) \
	/* ST(i) = ST(i) op ST(0), pop */ \
	X(FADDP_STI, XF_R, 0xde, 0xc0) \
	X(FMULP_STI, XF_R, 0xde, 0xc8) \
	X(FSUBRP_STI, XF_R, 0xde, 0xe0) \
	X(FSUBP_STI, XF_R, 0xde, 0xe8) \
	X(FDIVRP_STI, XF_R, 0xde, 0xf0) \
	X(FDIVP_STI, XF_R, 0xde, 0xf8) \
	/* compares with ST(i) */ \
	X(FCOM_STI, XF_R, 0xd8, 0xd0) \
	X(FCOMP_STI, XF_R, 0xd8, 0xd8) \
	X(FUCOM_STI, XF_R, 0xdd, 0xe0) \
	X(FUCOMP_STI, XF_R, 0xdd, 0xe8) \
	X(FCOMI_STI, XF_R | XF_EFL, 0xdb, 0xf0) \
	X(FUCOMI_STI, XF_R | XF_EFL, 0xdb, 0xe8) \
	X(FCOMIP_STI, XF_R | XF_EFL, 0xdf, 0xf0) \
	X(FUCOMIP_STI, XF_R | XF_EFL, 0xdf, 0xe8) \
	/* ST(0) = ST(i) if arg != 0 (the lifter evaluates the condition; \
	 * the host runs FCMOVE with ZF = arg) */ \
	X(FCMOV_STI, XF_R, 0xda, 0xc8)

enum x87_op {
#define X(name, ...) X87_##name,
	X87_MEM_OPS(X)
	X87_REG_OPS(X)
#undef X
	X87_NB_OPS
};
_Static_assert(X87_NB_OPS <= 256, "the op word has 8 bits for the row");

extern const uint16_t x87_op_flags[X87_NB_OPS];
extern const char *const x87_op_names[X87_NB_OPS];

/* The op word: row, ST(i) index, FOP (low 3 bits of the first opcode byte,
 * then the ModRM byte). */
#define X87_OP(op, i, fop) ((uint64_t)(op) | (uint64_t)(i) << 8 | (uint64_t)(fop) << 16)

/* What an XF_OUT row returns: the status to commit once the IR store has
 * succeeded.  fsw and ftw are adjacent in struct x87_state, so one 32-bit
 * store commits both; top follows. */
#define X87_RET_FSW(r) ((uint16_t)(r))
#define X87_RET_FTW(r) ((uint16_t)((r) >> 16))
#define X87_RET_TOP(r) ((uint8_t)((r) >> 32))
#define X87_RET_STORE (1ull << 40)	/* the store happens (else: suppressed
					 * by an unmasked exception) */

uint64_t helper_x87(uint64_t env, uint64_t op, uint64_t arg);

/* The FXSAVE image (SDM vol. 1, table 10-2), the one layout the
 * instructions and the kernel's signal frames share: the CPU writes bytes
 * 0-415; 416-511 are software's (the kernel keeps its XSAVE markers
 * there). */
struct x86_fxsave {
	uint16_t fcw, fsw;
	uint8_t ftw, rsvd0;
	uint16_t fop;
	uint64_t fip, fdp;
	uint32_t mxcsr, mxcsr_mask;
	uint8_t st[8][16];
	uint8_t xmm[16][16];
	uint8_t sw[96];
};
_Static_assert(sizeof(struct x86_fxsave) == 512, "FXSAVE image");
_Static_assert(offsetof(struct x86_fxsave, xmm) == 160, "FXSAVE image");
#define X86_FXSAVE_WRITTEN offsetof(struct x86_fxsave, sw)	/* 416 */

/* The 512-byte FXSAVE image in its 64-bit layout (REX.W FXSAVE64): x87
 * state, MXCSR and XMM0-15.  Like the CPU, x87_fxsave writes bytes 0-415
 * and leaves 416-511 (the kernel's software-reserved bytes) alone.
 * x87_fxrstor never faults: MXCSR bits the host does not support are
 * dropped, as the kernel does on sigreturn.  The area need not be aligned. */
void x87_fxsave(struct cpu *cpu, void *area512);
void x87_fxrstor(struct cpu *cpu, const void *area512);
/* The same in the format of the instruction with (rex_w, 64-bit FIP/FDP)
 * or without REX.W (32-bit offsets and FCS): XSAVE vs XSAVE64. */
void x87_fxsave_fmt(struct cpu *cpu, void *area512, bool rex_w);
void x87_fxrstor_fmt(struct cpu *cpu, const void *area512, bool rex_w);

/* How the host keeps the x87 pointers, which the guest sees through
 * FNSTENV, FNSAVE and FXSAVE (probed at start-up): recent Intel CPUs
 * update FOP and FDP only for an instruction that raises an unmasked
 * exception (the SDM's FOP compatibility mode off, CPUID.7.EBX[6]
 * FDP_EXCPTN_ONLY) and store FCS and FDS as 0 (CPUID.7.EBX[13]). */
extern bool x87_host_fop_exc_only, x87_host_fdp_exc_only, x87_host_fcs_zero;

/* Host feature of the SSE3 FISTTP (the lifter refuses it without). */
bool x87_host_has_fisttp(void);

#endif
