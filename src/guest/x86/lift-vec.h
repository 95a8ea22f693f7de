/*
 * The operand layer the legacy-SSE lifters (lift-sse.c) and the VEX
 * lifters (lift-avx.c) share.  The two encodings of one operation differ
 * in where their operands are, not in what the operation does: legacy SSE
 * is two-operand (dst = dst op src, bits 255:128 of the register kept),
 * VEX three-operand (dst = src1 op src2, every quarter above the vector
 * length zeroed).  vec_decode reads an instruction's operands once into a
 * struct vec_opnds; the vec_gen_* lifters take it and serve both
 * encodings, so each operation is lifted in one place.
 *
 * A vector register x is cpu->xmm[x] (quarters 0 and 1, 64 bits each) and
 * cpu->xmm_hi[x] (quarters 2 and 3); vec_q gives a quarter's env offset.
 */
#ifndef LOOM_GUEST_X86_LIFT_VEC_H
#define LOOM_GUEST_X86_LIFT_VEC_H

#include "guest/x86/translate.h"

struct vec_opnds {
	int dst;	/* the vector register written, or -1 (a GPR or memory) */
	int src1;	/* the first source register: dst itself in a legacy or
			 * two-operand VEX form, VEX.vvvv in a three-operand one */
	int src2;	/* operand index of the second source (vector register,
			 * GPR or memory), or -1 */
	int imm;	/* operand index of the trailing imm8, or -1 */
	int nq;		/* quarters of the vector length: 2 (128 bits) or 4 */
	bool vex;	/* VEX: quarters nq..3 of dst are zeroed on a write,
			 * memory operands need no alignment */
};

void vec_decode(struct dc *s, struct vec_opnds *o);

/* 0-15 for an XMM or YMM register, else -1; vec_op: of visible operand i. */
int vec_reg(ZydisRegister r);
int vec_op(struct dc *s, int i);
bool vec_is_gpr(struct dc *s, int i);
static inline unsigned vec_imm8(struct dc *s, int i) { return s->op[i].imm.value.u & 0xff; }

/* env offset of quarter q (0-3) of vector register x */
static inline int32_t vec_q(int x, int q)
{
	return q < 2 ? CPU_OFF(xmm) + 16 * x + 8 * q : CPU_OFF(xmm_hi) + 16 * x + 8 * (q - 2);
}

/* Effective address of memory operand i checked for `align` bytes (#GP(0);
 * align <= 1: no check).  A 16-byte check may be skipped when an earlier
 * one in the TB proves the address aligned (`facts`: the legacy forms).
 * 0: the instruction always faults (the lifter stops and returns true). */
ir_ref vec_ea(struct dc *s, int i, unsigned align, bool facts);
/* nq quarters of operand i (a vector register or memory); a legacy form's
 * aligned 128-bit memory operand is checked.  false: always faults. */
bool vec_ld(struct dc *s, const struct vec_opnds *o, int i, int nq, bool aligned, ir_ref *v);
/* Operand i as the source of a helper or an inline FP op: *off is a
 * vector register's env offset, or tmp (an env scratch slot) holding a
 * GPR's value or the memory operand loaded with exactly its size (checked
 * as vec_ld does when aligned).  false: always faults. */
bool vec_stage(struct dc *s, const struct vec_opnds *o, int i, bool aligned, int32_t tmp, int32_t *off);
/* Quarter q of src1 as a result that does not compute it carries it: 0
 * (nothing to write) in a legacy form, whose src1 is dst. */
ir_ref vec_keep(struct dc *s, const struct vec_opnds *o, int q);
/* Write quarters 0..n-1 of dst (a 0 entry is left as it is), then zero
 * the quarters from n up to the top of the XMM register (legacy) or of
 * the YMM register (VEX). */
void vec_put(struct dc *s, const struct vec_opnds *o, const ir_ref *v, int n);
/* Logical shift of each `lane`-bit lane of a quarter by n < lane bits. */
ir_ref vec_lane_shift(struct dc *s, ir_ref v, bool left, int lane, unsigned n);

/* An IR vector op (IR_V_*) on the 128 bits at env offsets dst and src. */
void vec_emit_vop(struct dc *s, int v, int32_t dst, int32_t src);
/* An IR FP op (ir-fops.h) run inline under the guest's MXCSR: vfop writes
 * the 128 bits at d from a and b (pred: the cmp and round rows' predicate),
 * vfres returns a result of type t (flags, a converted integer). */
void vec_emit_vfop(struct dc *s, int f, int32_t d, int32_t a, int32_t b, uint64_t pred);
ir_ref vec_emit_vfres(struct dc *s, int f, enum ir_type t, int32_t a, int32_t b);

/* One lifter per operation, for both encodings (the VEX callers check
 * that the host and the model have AVX first).  false: not such a form. */
bool vec_gen_mov(struct dc *s, const struct vec_opnds *o, bool aligned);
bool vec_gen_logic(struct dc *s, const struct vec_opnds *o, enum ir_opc opc);
bool vec_gen_ones(struct dc *s, const struct vec_opnds *o);	/* pcmpeq x, x */
bool vec_gen_shift_imm(struct dc *s, const struct vec_opnds *o, int lane, bool left);
bool vec_gen_pinsr(struct dc *s, const struct vec_opnds *o, int bits);
bool vec_gen_pextr(struct dc *s, int bits);
bool vec_gen_movmsk(struct dc *s, int lane);
bool vec_gen_movdq(struct dc *s, const struct vec_opnds *o, int size);
bool vec_gen_movs_mem(struct dc *s, const struct vec_opnds *o, int size);
bool vec_gen_movhl(struct dc *s, const struct vec_opnds *o, int half);
bool vec_gen_ldmxcsr(struct dc *s);
bool vec_gen_stmxcsr(struct dc *s);
bool vec_gen_maskmovdqu(struct dc *s);

/*
 * The operations the IR has as 128-bit vector ops (the backend emits the
 * host instruction), by their legacy names: V(NAME, vop) for IR_V_vop.  A
 * VEX form is V##NAME, a 256-bit one the op on each 128-bit lane.
 */
#define VEC_VOPS(V) \
	V(PADDB, add8), V(PADDW, add16), V(PADDD, add32), \
	V(PSUBB, sub8), V(PSUBW, sub16), V(PSUBD, sub32), \
	V(PADDUSB, addsat8u), V(PADDUSW, addsat16u), V(PSUBUSB, subsat8u), V(PSUBUSW, subsat16u), \
	V(PADDSB, addsat8s), V(PADDSW, addsat16s), V(PSUBSB, subsat8s), V(PSUBSW, subsat16s), \
	V(PMULLW, mullo16), V(PMULHW, mulhi16s), V(PMULHUW, mulhi16u), V(PMULUDQ, mul32x2u), \
	V(PMADDWD, madd16s), V(PSADBW, sad8u), V(PAVGB, avg8u), V(PAVGW, avg16u), \
	V(PMINUB, min8u), V(PMAXUB, max8u), V(PMINSW, min16s), V(PMAXSW, max16s), \
	V(PCMPEQB, cmpeq8), V(PCMPEQW, cmpeq16), V(PCMPEQD, cmpeq32), \
	V(PCMPGTB, cmpgt8s), V(PCMPGTW, cmpgt16s), V(PCMPGTD, cmpgt32s), \
	V(PUNPCKLBW, unpacklo8), V(PUNPCKLWD, unpacklo16), V(PUNPCKLDQ, unpacklo32), \
	V(PUNPCKHBW, unpackhi8), V(PUNPCKHWD, unpackhi16), V(PUNPCKHDQ, unpackhi32), \
	V(PACKSSWB, packs16to8), V(PACKSSDW, packs32to16), V(PACKUSWB, packu16to8)

/*
 * The FP operations the IR has (ir-fops.h) that both encodings share, by
 * legacy name: F4(OP, op) for the PS/PD/SS/SD rows, F(NAME, op) for one.
 * The conversions with a GPR side differ in their rows (the legacy table
 * has _L/_Q rows, VEX one row) and are listed by each lifter.
 */
#define VEC_FOPS(F4, F) \
	F4(ADD, add), F4(SUB, sub), F4(MUL, mul), F4(DIV, div), F4(MIN, min), F4(MAX, max), \
	F4(SQRT, sqrt), \
	F(CVTSS2SD, cvtss2sd), F(CVTSD2SS, cvtsd2ss), F(CVTPS2PD, cvtps2pd), F(CVTPD2PS, cvtpd2ps), \
	F(CVTDQ2PS, cvtdq2ps), F(CVTPS2DQ, cvtps2dq), F(CVTTPS2DQ, cvttps2dq), \
	F(CVTDQ2PD, cvtdq2pd), F(CVTPD2DQ, cvtpd2dq), F(CVTTPD2DQ, cvttpd2dq), \
	F(CMPPS, cmpps), F(CMPPD, cmppd), F(CMPSS, cmpss), F(CMPSD, cmpsd), \
	F(ROUNDPS, roundps), F(ROUNDPD, roundpd), F(ROUNDSS, roundss), F(ROUNDSD, roundsd), \
	F(COMISS, comiss), F(UCOMISS, ucomiss), F(COMISD, comisd), F(UCOMISD, ucomisd)

#endif
