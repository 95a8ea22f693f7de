/*
 * The x86 guest's helper table: one row per helper (name, flags, arity,
 * whether it returns a value).  The enum and ir_helper table are both
 * derived from the X-macro list below; helpers are plain C functions taking
 * and returning uint64_t, first argument env where they need the CPU.
 */
#ifndef LOOM_GUEST_X86_HELPERS_H
#define LOOM_GUEST_X86_HELPERS_H

#include <stdint.h>
#include "ir/ir.h"

#define NG IR_CALL_NO_GLOBALS
#define PURE (IR_CALL_NO_GLOBALS | IR_CALL_PURE)
#define MF IR_CALL_MAY_FAULT
/*       name                 flags        nargs ret */
#define X86_HELPERS(H) \
	H(cc_compute_all,      PURE,          4, 1) \
	H(cc_compute_c,        PURE,          4, 1) \
	H(raise,               MF,            4, 0) \
	H(divb,                MF,            2, 0) \
	H(idivb,               MF,            2, 0) \
	H(divw,                MF,            2, 0) \
	H(idivw,               MF,            2, 0) \
	H(divl,                MF,            2, 0) \
	H(idivl,               MF,            2, 0) \
	H(divq,                MF,            2, 0) \
	H(idivq,               MF,            2, 0) \
	H(cpuid,               0,             1, 0) \
	H(rdtsc,               0,             1, 0) \
	H(rdtscp,              0,             1, 0) \
	H(rdpid,               NG,            1, 1) \
	H(rcl,                 0,             4, 1) \
	H(rcr,                 0,             4, 1) \
	H(read_rflags,         IR_CALL_NO_WRITE_GLOBALS, 1, 1) \
	H(write_rflags,        0,             3, 0) \
	H(cmpxchg16b,          MF,            2, 0) \
	H(pdep,                PURE,          2, 1) \
	H(pext,                PURE,          2, 1) \
	H(rdrand,              NG,            3, 1) \
	H(mmx,                 PURE,          4, 1) \
	H(sys,                 NG,            3, 1) \
	H(umip_store,          NG | MF,       3, 0) \
	H(st_probe,            NG | MF,       2, 0) \
	H(sse_op,              NG,            5, 1) \
	H(sse_fp,              NG | MF,       5, 1) \
	H(sse_pcmpstr,         IR_CALL_NO_WRITE_GLOBALS, 5, 1) \
	H(sse_maskmov,         NG | MF,       4, 0) \
	H(mmx_maskmov,         NG | MF,       4, 0) \
	H(x87,                 IR_CALL_NO_WRITE_GLOBALS | MF, 3, 1) \
	H(avx_op,              NG,            4, 1) \
	H(avx_fp,              NG | MF,       4, 1) \
	H(avx_maskmov,         NG | MF,       4, 0) \
	H(avx_gather,          NG | MF,       4, 0) \
	H(xsave,               NG | MF,       4, 0) \
	H(xrstor,              NG | MF,       4, 0) \
	H(seg_load,            MF,            3, 0) \
	H(iret,                MF,            2, 0) \
	H(far,                 MF,            3, 0) \
	H(sys_priv,            MF,            4, 1) \
	H(rep_bulk,            0,             2, 0)

/* helper_far's kinds (lift-flow.c). */
enum { FAR_JMP, FAR_CALL, FAR_RET };

/* helper_sys_priv(env, op, a, b): system mode's privileged instructions
 * (sys-helpers.c, lifted in lift-priv.c); a and b as each row says there. */
enum sys_op {
	SYSOP_RDCR, SYSOP_WRCR, SYSOP_RDDR, SYSOP_WRDR, SYSOP_RDMSR, SYSOP_WRMSR,
	SYSOP_LGDT, SYSOP_LIDT, SYSOP_SGDT, SYSOP_SIDT, SYSOP_LLDT, SYSOP_LTR, SYSOP_SLDT,
	SYSOP_STR, SYSOP_SMSW, SYSOP_LMSW, SYSOP_CLTS, SYSOP_SWAPGS, SYSOP_INVLPG, SYSOP_HLT,
	SYSOP_CLI, SYSOP_STI, SYSOP_POPF, SYSOP_XSETBV, SYSOP_RDTSC, SYSOP_RDTSCP, SYSOP_RDPMC,
	SYSOP_CPUID, SYSOP_SYSCALL, SYSOP_SYSRET, SYSOP_IRET, SYSOP_INT, SYSOP_IN, SYSOP_OUT,
	SYSOP_INS, SYSOP_OUTS, SYSOP_SEG_LOAD, SYSOP_FAR, SYSOP_DESC, SYSOP_RDPID, SYSOP_XGETBV,
};
uint64_t helper_sys_priv(uint64_t env, uint64_t op, uint64_t a, uint64_t b);

/* helper_rep_bulk(env, op): as many iterations of a rep movs or rep stos
 * (forward, 64-bit addressing) as lie on pages the soft TLB has cached for
 * the access, done at once (lift-string.c); op: REP_BULK_MOVS or
 * REP_BULK_STOS, log2 of the element size << 4, the MMU index << 8. */
enum { REP_BULK_MOVS, REP_BULK_STOS };

/* helper_sys(env, op, selector): the descriptor-table rows (lift-sys.c). */
enum { SYS_LAR, SYS_LSL, SYS_VERR, SYS_VERW, SYS_SLDT, SYS_STR, SYS_SMSW, SYS_SGDT, SYS_SIDT };

enum x86_helper {
#define H(name, fl, n, r) HELPER_##name,
	X86_HELPERS(H)
#undef H
	HELPER_NB
};

extern const struct ir_helper x86_helpers[HELPER_NB];

/* Helpers defined outside helpers.c (the table takes their addresses). */
uint64_t helper_sse_op(uint64_t env, uint64_t op, uint64_t dst, uint64_t src, uint64_t imm);
uint64_t helper_sse_pcmpstr(uint64_t env, uint64_t op, uint64_t dst, uint64_t src, uint64_t imm);
uint64_t helper_sse_fp(uint64_t env, uint64_t op, uint64_t dst, uint64_t src, uint64_t imm);
void helper_sse_maskmov(uint64_t env, uint64_t src, uint64_t mask, uint64_t addr);
void helper_mmx_maskmov(uint64_t env, uint64_t data, uint64_t mask, uint64_t addr);
uint64_t helper_mmx(uint64_t op, uint64_t a, uint64_t b, uint64_t imm);
uint64_t helper_x87(uint64_t env, uint64_t op, uint64_t arg);
uint64_t helper_avx_op(uint64_t env, uint64_t op, uint64_t regs, uint64_t imm);
uint64_t helper_avx_fp(uint64_t env, uint64_t op, uint64_t regs, uint64_t imm);
void helper_avx_maskmov(uint64_t env, uint64_t regs, uint64_t addr, uint64_t imm);
void helper_avx_gather(uint64_t env, uint64_t regs, uint64_t base, uint64_t imm);
void helper_xsave(uint64_t env, uint64_t addr, uint64_t rfbm, uint64_t kind);
void helper_xrstor(uint64_t env, uint64_t addr, uint64_t rfbm, uint64_t rex_w);

#endif
