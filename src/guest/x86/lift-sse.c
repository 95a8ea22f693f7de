/*
 * SSE lifters: SSE, SSE2, SSE3, SSSE3, SSE4.1 and the SSE4.2 string and CRC
 * instructions on XMM registers (MMX forms are refused: #UD).  XMM
 * registers live in env (cpu->xmm[i]), not in IR globals; a 128-bit value
 * is two 64-bit halves.  Moves, logic, 64-bit lanes, logical shifts by an
 * immediate, qword shuffles, inserts/extracts and mask extraction are
 * lifted inline on those halves; register-to-register moves, SSE2 integer
 * arithmetic (vop) and the common FP (vfop/vfres: arithmetic, sqrt,
 * conversions, comis/ucomis, ldmxcsr/stmxcsr) are IR vector ops the backend
 * runs as the host instruction, FP under the guest's MXCSR; everything
 * else is one call to a helper from the table in sse-ops.h, which also
 * generates the lifters of the plain `op xmm, xmm/mem[, imm8]` forms.
 * The operations whose VEX forms differ only in their operands (moves,
 * logic, shifts by an immediate, inserts/extracts, mask extraction, MXCSR)
 * are lifted once, for both encodings, by the operand layer (lift-vec.c);
 * this file keeps the legacy-only forms and the helper calls.
 *
 * Memory operands are read with IR loads of exactly the size the
 * instruction accesses, staged in cpu->xtmp for helpers, so faults are
 * precise; legacy-SSE forms whose 128-bit operand must be aligned check
 * the address first and raise the #GP(0).
 *
 * Invariant (translate.h): every guest load of an instruction, and its
 * alignment check, comes before its first write to env or to memory, and
 * a GPR result is written after the helper that computes it returns (an FP
 * helper may raise #XM instead of returning).
 */
#include "guest/x86/lift-vec.h"
#include "guest/x86/sse-ops.h"

#define XTMP CPU_OFF(xtmp)

/* ---- operands ---- */

/* XMM index of operand i, or -1 if it is not an XMM register. */
static int xmm_op(struct dc *s, int i)
{
	if (s->op[i].type != ZYDIS_OPERAND_TYPE_REGISTER)
		return -1;
	return vec_reg(s->op[i].reg.value);
}

static int32_t xoff(int x) { return vec_q(x, 0); }

static bool has_imm(struct dc *s, int i)
{
	return i < s->insn.operand_count_visible && s->op[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE;
}

/* The legacy form's operands where a lifter reads them by index. */
static const struct vec_opnds legacy = { .dst = -1, .src1 = -1, .src2 = -1, .imm = -1, .nq = 2 };

/* Both halves of operand i (an XMM register or an m128).  false: the
 * instruction always faults. */
static bool gen_ld128(struct dc *s, int i, bool aligned, ir_ref v[2])
{
	return vec_ld(s, &legacy, i, 2, aligned, v);
}

static void gen_st_xmm(struct dc *s, int x, ir_ref lo, ir_ref hi)
{
	if (lo)
		ir_stenv(s, lo, vec_q(x, 0), IR_MO_64);
	if (hi)
		ir_stenv(s, hi, vec_q(x, 1), IR_MO_64);
}

/* The env offset of operand i as a helper's source: the XMM register, or
 * cpu->xtmp holding the memory operand loaded with its exact size (or a
 * GPR's value).  false: always faults. */
static bool gen_src_off(struct dc *s, int i, bool aligned, int32_t *off)
{
	return vec_stage(s, &legacy, i, aligned, XTMP, off);
}

static bool xmm_or_mem(struct dc *s, int i)
{
	return xmm_op(s, i) >= 0 || op_is_mem(s, i);
}

/* ---- helper calls ---- */

/* SSE2 integer operations the IR has as vector ops: the backend emits the
 * host instruction itself, no call.  Zero: no IR vector op. */
static const uint8_t vop_of_sse[SSE_NB_OPS] = {
#define V(name, vop) [SSE_##name] = IR_V_##vop + 1
	VEC_VOPS(V),
#undef V
};

/* FP operations the IR has (ir-fops.h): the backend runs the host
 * instruction inline under the guest's MXCSR.  Zero: none. */
static const uint8_t fop_of_sse[SSE_NB_OPS] = {
#define F4(OP, op) [SSE_##OP##PS] = IR_F_##op##ps + 1, [SSE_##OP##PD] = IR_F_##op##pd + 1, \
		   [SSE_##OP##SS] = IR_F_##op##ss + 1, [SSE_##OP##SD] = IR_F_##op##sd + 1
#define F(OP, op) [SSE_##OP] = IR_F_##op + 1
	VEC_FOPS(F4, F),
	F(CVTSI2SS_L, cvtsi2ss32), F(CVTSI2SS_Q, cvtsi2ss64),
	F(CVTSI2SD_L, cvtsi2sd32), F(CVTSI2SD_Q, cvtsi2sd64),
	F(CVTSS2SI_L, cvtss2si), F(CVTSS2SI_Q, cvtss2si), F(CVTTSS2SI_L, cvttss2si),
	F(CVTTSS2SI_Q, cvttss2si), F(CVTSD2SI_L, cvtsd2si), F(CVTSD2SI_Q, cvtsd2si),
	F(CVTTSD2SI_L, cvttsd2si), F(CVTTSD2SI_Q, cvttsd2si),
#undef F4
#undef F
};

/* The 32-bit result rows of fop_of_sse (the others give 64 bits). */
static bool sse_res32(enum sse_op op)
{
	return op == SSE_CVTSS2SI_L || op == SSE_CVTTSS2SI_L || op == SSE_CVTSD2SI_L ||
	       op == SSE_CVTTSD2SI_L;
}

static ir_ref gen_sse_call(struct dc *s, enum sse_op op, int32_t dst, int32_t src, ir_ref imm)
{
	enum x86_helper h = HELPER_sse_op;
	if (fop_of_sse[op]) {
		int f = fop_of_sse[op] - 1;
		if (ir_fopdefs[f].form != IR_FF_R) {
			/* the predicate of the cmp rows (legacy SSE uses imm8[2:0])
			 * and of the round rows (imm8[3:0]) */
			uint64_t pred = f >= IR_F_cmpps && f <= IR_F_cmpsd ? s->ir->temps[imm].val & 7
					: f >= IR_F_roundps && f <= IR_F_roundsd ? s->ir->temps[imm].val & 15 : 0;
			vec_emit_vfop(s, f, dst, dst, src, pred);
			return 0;
		}
		return vec_emit_vfres(s, f, sse_res32(op) ? IR_I32 : IR_I64, dst, src);
	}
	if (vop_of_sse[op]) {
		vec_emit_vop(s, vop_of_sse[op] - 1, dst, src);
		return 0;
	}
	if (sse_op_is_fp(op)) {
		gen_sync_pc(s, s->pc);	/* the pc of a #XM */
		h = HELPER_sse_fp;
	}
	return gen_helper(s, h, 5, s->ir->env, cst(s, op), cst(s, dst), cst(s, src), imm);
}

/* `op xmm, xmm/mem[, imm8]` through a helper: the table's auto lifter. */
static bool gen_sse_auto(struct dc *s, enum sse_op op, bool aligned)
{
	int d = xmm_op(s, 0);
	int32_t src;
	if (!sse_host_has(op) || d < 0 || !xmm_or_mem(s, 1))
		return false;
	uint64_t imm = has_imm(s, 2) ? vec_imm8(s, 2) : 0;
	if (gen_src_off(s, 1, aligned, &src))
		gen_sse_call(s, op, xoff(d), src, cst(s, imm));
	return true;
}

#define LIFT_A(name) \
	static bool gen_##name(struct dc *s) { return gen_sse_auto(s, SSE_##name, true); }
#define LIFT_U(name) \
	static bool gen_##name(struct dc *s) { return gen_sse_auto(s, SSE_##name, false); }
#define LIFT_N(name)
#define X(name, impl, feat, lift) LIFT_##lift(name)
SSE_OPS(X)
#undef X

/* ---- moves ---- */

/* 128-bit moves between XMM registers and memory (lift-vec.c). */
static bool gen_mov128(struct dc *s, bool aligned)
{
	struct vec_opnds o;
	vec_decode(s, &o);
	return vec_gen_mov(s, &o, aligned);
}

static bool gen_MOVDQA(struct dc *s) { return gen_mov128(s, true); }
static bool gen_MOVAPS(struct dc *s) { return gen_mov128(s, true); }
static bool gen_MOVAPD(struct dc *s) { return gen_mov128(s, true); }
static bool gen_MOVDQU(struct dc *s) { return gen_mov128(s, false); }
static bool gen_MOVUPS(struct dc *s) { return gen_mov128(s, false); }
static bool gen_MOVUPD(struct dc *s) { return gen_mov128(s, false); }

/* Non-temporal stores are plain stores here (still aligned). */
static bool gen_movnt(struct dc *s)
{
	return op_is_mem(s, 0) && gen_mov128(s, true);
}
static bool gen_MOVNTDQ(struct dc *s) { return gen_movnt(s); }
static bool gen_MOVNTPS(struct dc *s) { return gen_movnt(s); }
static bool gen_MOVNTPD(struct dc *s) { return gen_movnt(s); }

static bool gen_LDDQU(struct dc *s)
{
	return op_is_mem(s, 1) && gen_mov128(s, false);
}

static bool gen_MOVNTDQA(struct dc *s)
{
	return op_is_mem(s, 1) && gen_mov128(s, true);
}

static bool gen_MOVNTI(struct dc *s)
{
	if (!op_is_mem(s, 0) || !vec_is_gpr(s, 1))
		return false;
	gen_st_op(s, 0, gen_ld_op(s, 1));
	return true;
}

/* MOVD/MOVQ (lift-vec.c) */
static bool gen_movdq(struct dc *s, int size)
{
	struct vec_opnds o;
	vec_decode(s, &o);
	return vec_gen_movdq(s, &o, size);
}

static bool gen_MOVD(struct dc *s) { return gen_movdq(s, IR_MO_32); }
static bool gen_MOVQ(struct dc *s) { return gen_movdq(s, IR_MO_64); }

/* MOVSS/MOVSD: register to register merges the low element into dst;
 * the memory forms are vec_gen_movs_mem's. */
static bool gen_movs(struct dc *s, int size)
{
	int d = xmm_op(s, 0), x = xmm_op(s, 1);
	struct vec_opnds o;

	if (d >= 0 && x >= 0) {
		vec_emit_vop(s, size == IR_MO_32 ? IR_V_movlo32 : IR_V_movlo64, xoff(d), xoff(x));
		return true;
	}
	vec_decode(s, &o);
	return vec_gen_movs_mem(s, &o, size);
}

static bool gen_MOVSS(struct dc *s) { return gen_movs(s, IR_MO_32); }

/* The string instructions MOVSD and CMPSD share their mnemonics with SSE2:
 * the string forms have no visible operands and go to the string lifter. */
static bool gen_string_form(struct dc *s)
{
	for (const struct lift_entry *e = lift_string_table; e->fn; e++)
		if (e->mnemonic == s->insn.mnemonic)
			return e->fn(s);
	return false;
}

static bool gen_MOVSD(struct dc *s)
{
	if (s->insn.operand_count_visible == 0)
		return gen_string_form(s);
	return gen_movs(s, IR_MO_64);
}

static bool gen_CMPSD(struct dc *s)
{
	if (s->insn.operand_count_visible == 0)
		return gen_string_form(s);
	return gen_sse_auto(s, SSE_CMPSD, true);
}

/* MOVHPS/MOVHPD/MOVLPS/MOVLPD: one half to or from an m64. */
static bool gen_movhl(struct dc *s, int half)
{
	struct vec_opnds o;
	vec_decode(s, &o);
	return vec_gen_movhl(s, &o, half);
}

static bool gen_MOVHPS(struct dc *s) { return gen_movhl(s, 1); }
static bool gen_MOVHPD(struct dc *s) { return gen_movhl(s, 1); }
static bool gen_MOVLPS(struct dc *s) { return gen_movhl(s, 0); }
static bool gen_MOVLPD(struct dc *s) { return gen_movhl(s, 0); }

/* dst.q[dh] = src.q[sh] between registers. */
static bool gen_mov_half(struct dc *s, int dh, int sh)
{
	int d = xmm_op(s, 0), x = xmm_op(s, 1);
	if (d < 0 || x < 0)
		return false;
	ir_stenv(s, ir_ldenv(s, vec_q(x, sh), IR_MO_64), vec_q(d, dh), IR_MO_64);
	return true;
}

static bool gen_MOVHLPS(struct dc *s) { return gen_mov_half(s, 0, 1); }
static bool gen_MOVLHPS(struct dc *s) { return gen_mov_half(s, 1, 0); }

static bool gen_MOVDDUP(struct dc *s)
{
	int d = xmm_op(s, 0), x = xmm_op(s, 1);
	ir_ref v;
	if (d < 0)
		return false;
	if (x >= 0)
		v = ir_ldenv(s, vec_q(x, 0), IR_MO_64);
	else if (op_is_mem(s, 1))
		v = ir_ld(s, gen_ea(s, &s->op[1]), IR_MO_64);
	else
		return false;
	gen_st_xmm(s, d, v, v);
	return true;
}

/* ---- logic and 64-bit lanes, inline ---- */

/* dst = dst op src per half (lift-vec.c) */
static bool gen_logic(struct dc *s, enum ir_opc opc)
{
	struct vec_opnds o;
	vec_decode(s, &o);
	return vec_gen_logic(s, &o, opc);
}

static bool gen_PXOR(struct dc *s) { return gen_logic(s, IR_xor); }
static bool gen_XORPS(struct dc *s) { return gen_logic(s, IR_xor); }
static bool gen_XORPD(struct dc *s) { return gen_logic(s, IR_xor); }
static bool gen_POR(struct dc *s) { return gen_logic(s, IR_or); }
static bool gen_ORPS(struct dc *s) { return gen_logic(s, IR_or); }
static bool gen_ORPD(struct dc *s) { return gen_logic(s, IR_or); }
static bool gen_PAND(struct dc *s) { return gen_logic(s, IR_and); }
static bool gen_ANDPS(struct dc *s) { return gen_logic(s, IR_and); }
static bool gen_ANDPD(struct dc *s) { return gen_logic(s, IR_and); }
static bool gen_PANDN(struct dc *s) { return gen_logic(s, IR_andc); }
static bool gen_ANDNPS(struct dc *s) { return gen_logic(s, IR_andc); }
static bool gen_ANDNPD(struct dc *s) { return gen_logic(s, IR_andc); }
static bool gen_PADDQ(struct dc *s) { return gen_logic(s, IR_add); }
static bool gen_PSUBQ(struct dc *s) { return gen_logic(s, IR_sub); }

/* PCMPEQx x,x is the all-ones idiom; other forms go to the helper. */
static bool gen_pcmpeq(struct dc *s, enum sse_op op)
{
	struct vec_opnds o;
	vec_decode(s, &o);
	return vec_gen_ones(s, &o) || gen_sse_auto(s, op, true);
}

static bool gen_PCMPEQB(struct dc *s) { return gen_pcmpeq(s, SSE_PCMPEQB); }
static bool gen_PCMPEQW(struct dc *s) { return gen_pcmpeq(s, SSE_PCMPEQW); }
static bool gen_PCMPEQD(struct dc *s) { return gen_pcmpeq(s, SSE_PCMPEQD); }

/* Qword interleaves: dst = { dst.q[lo], src.q[hi] } */
static bool gen_qword_pair(struct dc *s, int dh, int sh)
{
	int d = xmm_op(s, 0);
	ir_ref b[2];
	if (d < 0 || !xmm_or_mem(s, 1))
		return false;
	if (!gen_ld128(s, 1, true, b))
		return true;
	ir_ref lo = ir_ldenv(s, vec_q(d, dh), IR_MO_64);
	gen_st_xmm(s, d, lo, b[sh]);
	return true;
}

static bool gen_PUNPCKLQDQ(struct dc *s) { return gen_qword_pair(s, 0, 0); }
static bool gen_PUNPCKHQDQ(struct dc *s) { return gen_qword_pair(s, 1, 1); }
static bool gen_UNPCKLPD(struct dc *s) { return gen_qword_pair(s, 0, 0); }
static bool gen_UNPCKHPD(struct dc *s) { return gen_qword_pair(s, 1, 1); }

static bool gen_SHUFPD(struct dc *s)
{
	int d = xmm_op(s, 0);
	ir_ref b[2];
	if (d < 0 || !xmm_or_mem(s, 1) || !has_imm(s, 2))
		return false;
	unsigned imm = vec_imm8(s, 2);
	if (!gen_ld128(s, 1, true, b))
		return true;
	ir_ref lo = ir_ldenv(s, vec_q(d, imm & 1), IR_MO_64);
	gen_st_xmm(s, d, lo, b[(imm >> 1) & 1]);
	return true;
}

/* ---- shifts ---- */

/* PSLL/PSRL/PSRA by imm8 or by xmm/m128.  Logical shifts by an immediate
 * are inline; the rest go to the helper, the immediate staged as a count. */
static bool gen_shift(struct dc *s, enum sse_op op, int lane, int kind)
{
	enum { LEFT, RIGHT, ARITH };
	int d = xmm_op(s, 0);
	if (d < 0)
		return false;
	if (!has_imm(s, 1))
		return xmm_or_mem(s, 1) && gen_sse_auto(s, op, true);

	if (kind != ARITH) {
		struct vec_opnds o;
		vec_decode(s, &o);
		return vec_gen_shift_imm(s, &o, lane, kind == LEFT);
	}
	unsigned n = vec_imm8(s, 1);
	ir_stenv(s, cst(s, n), XTMP, IR_MO_64);
	gen_sse_call(s, op, xoff(d), XTMP, cst(s, 0));
	return true;
}

static bool gen_PSLLW(struct dc *s) { return gen_shift(s, SSE_PSLLW, 16, 0); }
static bool gen_PSLLD(struct dc *s) { return gen_shift(s, SSE_PSLLD, 32, 0); }
static bool gen_PSLLQ(struct dc *s) { return gen_shift(s, SSE_PSLLQ, 64, 0); }
static bool gen_PSRLW(struct dc *s) { return gen_shift(s, SSE_PSRLW, 16, 1); }
static bool gen_PSRLD(struct dc *s) { return gen_shift(s, SSE_PSRLD, 32, 1); }
static bool gen_PSRLQ(struct dc *s) { return gen_shift(s, SSE_PSRLQ, 64, 1); }
static bool gen_PSRAW(struct dc *s) { return gen_shift(s, SSE_PSRAW, 16, 2); }
static bool gen_PSRAD(struct dc *s) { return gen_shift(s, SSE_PSRAD, 32, 2); }

/* PSLLDQ/PSRLDQ: the 128-bit register shifted by imm8 bytes (> 15: zero). */
static bool gen_byte_shift(struct dc *s, bool left)
{
	int d = xmm_op(s, 0);
	if (d < 0 || !has_imm(s, 1))
		return false;
	unsigned n = vec_imm8(s, 1), b = 8 * n;
	if (n == 0)
		return true;
	if (n > 15) {
		gen_st_xmm(s, d, cst(s, 0), cst(s, 0));
		return true;
	}
	ir_ref lo = ir_ldenv(s, vec_q(d, 0), IR_MO_64), hi = ir_ldenv(s, vec_q(d, 1), IR_MO_64);
	ir_ref nlo, nhi;
	if (left) {
		if (b >= 64) {
			nhi = b == 64 ? lo : ir_bin(s, IR_shl, lo, cst(s, b - 64));
			nlo = cst(s, 0);
		} else {
			nhi = ir_bin(s, IR_or, ir_bin(s, IR_shl, hi, cst(s, b)),
				     ir_bin(s, IR_shr, lo, cst(s, 64 - b)));
			nlo = ir_bin(s, IR_shl, lo, cst(s, b));
		}
	} else {
		if (b >= 64) {
			nlo = b == 64 ? hi : ir_bin(s, IR_shr, hi, cst(s, b - 64));
			nhi = cst(s, 0);
		} else {
			nlo = ir_bin(s, IR_or, ir_bin(s, IR_shr, lo, cst(s, b)),
				     ir_bin(s, IR_shl, hi, cst(s, 64 - b)));
			nhi = ir_bin(s, IR_shr, hi, cst(s, b));
		}
	}
	gen_st_xmm(s, d, nlo, nhi);
	return true;
}

static bool gen_PSLLDQ(struct dc *s) { return gen_byte_shift(s, true); }
static bool gen_PSRLDQ(struct dc *s) { return gen_byte_shift(s, false); }

/* ---- element insert/extract and masks ---- */

/* PINSRB/W/D/Q xmm, r32/r64/m, imm8 (lift-vec.c) */
static bool gen_pinsr(struct dc *s, int bits)
{
	struct vec_opnds o;
	vec_decode(s, &o);
	return vec_gen_pinsr(s, &o, bits);
}

static bool gen_PINSRW(struct dc *s) { return gen_pinsr(s, 16); }
static bool gen_PINSRB(struct dc *s) { return gen_pinsr(s, 8); }
static bool gen_PINSRD(struct dc *s) { return gen_pinsr(s, 32); }
static bool gen_PINSRQ(struct dc *s) { return gen_pinsr(s, 64); }

static bool gen_PEXTRW(struct dc *s) { return vec_gen_pextr(s, 16); }
static bool gen_PEXTRB(struct dc *s) { return vec_gen_pextr(s, 8); }
static bool gen_PEXTRD(struct dc *s) { return vec_gen_pextr(s, 32); }
static bool gen_PEXTRQ(struct dc *s) { return vec_gen_pextr(s, 64); }
static bool gen_EXTRACTPS(struct dc *s) { return vec_gen_pextr(s, 32); }

static bool gen_PMOVMSKB(struct dc *s) { return vec_gen_movmsk(s, 8); }
static bool gen_MOVMSKPS(struct dc *s) { return vec_gen_movmsk(s, 32); }
static bool gen_MOVMSKPD(struct dc *s) { return vec_gen_movmsk(s, 64); }

/* ---- FP compares and conversions with a GPR side ---- */

static bool gen_comis(struct dc *s, enum sse_op op)
{
	int d = xmm_op(s, 0);
	int32_t src;
	if (d < 0 || !xmm_or_mem(s, 1))
		return false;
	if (!gen_src_off(s, 1, true, &src))
		return true;
	ir_ref flags = gen_sse_call(s, op, xoff(d), src, cst(s, 0));
	gen_set_cc(s, CC_OP_EFLAGS, 0, flags, 0);
	return true;
}

static bool gen_COMISS(struct dc *s) { return gen_comis(s, SSE_COMISS); }
static bool gen_UCOMISS(struct dc *s) { return gen_comis(s, SSE_UCOMISS); }
static bool gen_COMISD(struct dc *s) { return gen_comis(s, SSE_COMISD); }
static bool gen_UCOMISD(struct dc *s) { return gen_comis(s, SSE_UCOMISD); }

/* CVTSI2SS/SD xmm, r/m32/64: the integer is staged in xtmp. */
static bool gen_cvtsi2(struct dc *s, enum sse_op op32, enum sse_op op64)
{
	int d = xmm_op(s, 0);
	int32_t src;
	if (d < 0 || !(vec_is_gpr(s, 1) || op_is_mem(s, 1)))
		return false;
	enum sse_op op = s->op[1].size == 64 ? op64 : op32;
	gen_src_off(s, 1, false, &src);
	gen_sse_call(s, op, xoff(d), src, cst(s, 0));
	return true;
}

static bool gen_CVTSI2SS(struct dc *s) { return gen_cvtsi2(s, SSE_CVTSI2SS_L, SSE_CVTSI2SS_Q); }
static bool gen_CVTSI2SD(struct dc *s) { return gen_cvtsi2(s, SSE_CVTSI2SD_L, SSE_CVTSI2SD_Q); }

/* CVT(T)SS2SI/SD2SI r32/r64, xmm/m: the result is written after the call. */
static bool gen_cvt2si(struct dc *s, enum sse_op op32, enum sse_op op64)
{
	int32_t src;
	if (!vec_is_gpr(s, 0) || !xmm_or_mem(s, 1))
		return false;
	int size = op_size(s, 0);
	if (!gen_src_off(s, 1, false, &src))
		return true;
	ir_ref v = gen_sse_call(s, size == 3 ? op64 : op32, XTMP, src, cst(s, 0));
	gen_st_reg(s, reg_index(s->op[0].reg.value), size, v);
	return true;
}

static bool gen_CVTSS2SI(struct dc *s) { return gen_cvt2si(s, SSE_CVTSS2SI_L, SSE_CVTSS2SI_Q); }
static bool gen_CVTTSS2SI(struct dc *s) { return gen_cvt2si(s, SSE_CVTTSS2SI_L, SSE_CVTTSS2SI_Q); }
static bool gen_CVTSD2SI(struct dc *s) { return gen_cvt2si(s, SSE_CVTSD2SI_L, SSE_CVTSD2SI_Q); }
static bool gen_CVTTSD2SI(struct dc *s) { return gen_cvt2si(s, SSE_CVTTSD2SI_L, SSE_CVTTSD2SI_Q); }

/* ---- SSE4.1/4.2 forms with a special operand ---- */

static bool gen_PTEST(struct dc *s)
{
	int d = xmm_op(s, 0);
	int32_t src;
	if (!sse_host_has(SSE_PTEST) || d < 0 || !xmm_or_mem(s, 1))
		return false;
	if (!gen_src_off(s, 1, true, &src))
		return true;
	ir_ref flags = gen_sse_call(s, SSE_PTEST, xoff(d), src, cst(s, 0));
	gen_set_cc(s, CC_OP_EFLAGS, 0, flags, 0);
	return true;
}

/* INSERTPS from m32 takes the loaded dword whatever imm[7:6] says. */
static bool gen_INSERTPS(struct dc *s)
{
	int d = xmm_op(s, 0);
	int32_t src;
	if (!sse_host_has(SSE_INSERTPS) || d < 0 || !xmm_or_mem(s, 1) || !has_imm(s, 2))
		return false;
	unsigned imm = vec_imm8(s, 2);
	if (op_is_mem(s, 1))
		imm &= 0x3f;
	gen_src_off(s, 1, false, &src);
	gen_sse_call(s, SSE_INSERTPS, xoff(d), src, cst(s, imm));
	return true;
}

/* PCMPxSTRx: no alignment requirement; the index forms write ECX, the mask
 * forms xmm0; CF ZF SF OF as computed, AF PF clear. */
static bool gen_pcmpstr(struct dc *s, enum sse_op op, bool index)
{
	int d = xmm_op(s, 0);
	int32_t src;
	if (!sse_host_has(op) || d < 0 || !xmm_or_mem(s, 1) || !has_imm(s, 2))
		return false;
	unsigned imm = vec_imm8(s, 2);
	if ((op == SSE_PCMPESTRI || op == SSE_PCMPESTRM) && s->insn.operand_width == 64)
		imm |= SSE_STR_WIDE;
	if (!gen_src_off(s, 1, false, &src))
		return true;
	ir_ref r = gen_helper(s, HELPER_sse_pcmpstr, 5, s->ir->env, cst(s, op), cst(s, xoff(d)),
			      cst(s, src), cst(s, imm));
	if (index)
		gen_st_reg(s, R_RCX, 2, r);
	gen_set_cc(s, CC_OP_EFLAGS, 0, ir_bin(s, IR_shr, r, cst(s, 32)), 0);
	return true;
}

static bool gen_PCMPISTRI(struct dc *s) { return gen_pcmpstr(s, SSE_PCMPISTRI, true); }
static bool gen_PCMPESTRI(struct dc *s) { return gen_pcmpstr(s, SSE_PCMPESTRI, true); }
static bool gen_PCMPISTRM(struct dc *s) { return gen_pcmpstr(s, SSE_PCMPISTRM, false); }
static bool gen_PCMPESTRM(struct dc *s) { return gen_pcmpstr(s, SSE_PCMPESTRM, false); }

/* The VEX.128 forms (AVX, gated by the -cpu level): the same operation;
 * the mask forms write xmm0 as a VEX instruction does, zeroing ymm0's
 * upper half. */
static bool gen_vpcmpstr(struct dc *s, enum sse_op op, bool index)
{
	if (s->insn.encoding != ZYDIS_INSTRUCTION_ENCODING_VEX || !gen_pcmpstr(s, op, index))
		return false;
	if (!index) {
		ir_stenv(s, cst(s, 0), CPU_OFF(xmm_hi[0]), IR_MO_64);
		ir_stenv(s, cst(s, 0), CPU_OFF(xmm_hi[0]) + 8, IR_MO_64);
	}
	return true;
}

static bool gen_VPCMPISTRI(struct dc *s) { return gen_vpcmpstr(s, SSE_PCMPISTRI, true); }
static bool gen_VPCMPESTRI(struct dc *s) { return gen_vpcmpstr(s, SSE_PCMPESTRI, true); }
static bool gen_VPCMPISTRM(struct dc *s) { return gen_vpcmpstr(s, SSE_PCMPISTRM, false); }
static bool gen_VPCMPESTRM(struct dc *s) { return gen_vpcmpstr(s, SSE_PCMPESTRM, false); }

/* CRC32 r32/r64, r/m8..64: CRC-32C of the source into the low 32 bits of
 * the destination (zero-extended). */
static bool gen_CRC32(struct dc *s)
{
	static const enum sse_op ops[4] = { SSE_CRC32_B, SSE_CRC32_W, SSE_CRC32_L, SSE_CRC32_Q };
	int32_t src;
	if (!sse_host_has(SSE_CRC32_B) || !vec_is_gpr(s, 0) || !(vec_is_gpr(s, 1) || op_is_mem(s, 1)))
		return false;
	int r = reg_index(s->op[0].reg.value);
	enum sse_op op = ops[size_of_bits(s->op[1].size)];
	gen_src_off(s, 1, false, &src);
	ir_ref crc = gen_sse_call(s, op, XTMP, src, gen_ld_reg(s, r, 2));
	gen_st_reg(s, r, 3, crc);
	return true;
}

static bool gen_MASKMOVDQU(struct dc *s) { return vec_gen_maskmovdqu(s); }

/* ---- MXCSR and fences ---- */

static bool gen_LDMXCSR(struct dc *s) { return vec_gen_ldmxcsr(s); }
static bool gen_STMXCSR(struct dc *s) { return vec_gen_stmxcsr(s); }

static bool gen_fence(struct dc *s)
{
	ir_emit(s->ir, IR_mb, IR_I64, NULL, NULL);
	return true;
}

/* ---- conversions between MMX and XMM registers ----
 *
 * Each is the packed-dword conversion of SSE2 on two lanes: the operands are
 * staged in xtmp with zeros in the unused lanes (which convert exactly and
 * raise nothing), so rounding, MXCSR flags and #XM are the helper's.  An
 * MMX register operand puts the FPU in MMX state; cvtpi2ps/pd from memory
 * does not. */

static bool gen_cvt_mmx(struct dc *s, enum sse_op op, bool to_mm, bool pd)
{
	int d = to_mm ? mm_op(s, 0) : xmm_op(s, 0);
	if (d < 0 || !sse_host_has(op))
		return false;
	ir_ref v[2] = { 0, cst(s, 0) };
	int m = mm_op(s, 1);
	if (m >= 0) {
		v[0] = gen_ld_mm(s, m);
	} else if (pd && to_mm) {
		if (!gen_ld128(s, 1, true, v))
			return true;
	} else if (xmm_op(s, 1) >= 0) {
		v[0] = ir_ldenv(s, vec_q(xmm_op(s, 1), 0), IR_MO_64);
	} else if (op_is_mem(s, 1)) {
		v[0] = ir_ld(s, gen_ea(s, &s->op[1]), IR_MO_64);
	} else {
		return false;
	}
	ir_stenv(s, v[0], XTMP, IR_MO_64);
	ir_stenv(s, v[1], XTMP + 8, IR_MO_64);
	/* The MMX transition comes after the memory operand is read and
	 * before a SIMD exception (#XM): an Intel host's signal frame shows
	 * empty tags for the one and TOP 0, all valid, for the other. */
	if (to_mm || m >= 0)
		gen_mmx_enter(s);
	gen_sse_call(s, op, XTMP, XTMP, cst(s, 0));
	ir_ref lo = ir_ldenv(s, XTMP, IR_MO_64);
	if (to_mm)
		gen_st_mm(s, d, lo);
	else
		gen_st_xmm(s, d, lo, pd ? ir_ldenv(s, XTMP + 8, IR_MO_64) : 0);
	return true;
}

static bool gen_CVTPI2PS(struct dc *s) { return gen_cvt_mmx(s, SSE_CVTDQ2PS, false, false); }
static bool gen_CVTPI2PD(struct dc *s) { return gen_cvt_mmx(s, SSE_CVTDQ2PD, false, true); }
static bool gen_CVTPS2PI(struct dc *s) { return gen_cvt_mmx(s, SSE_CVTPS2DQ, true, false); }
static bool gen_CVTTPS2PI(struct dc *s) { return gen_cvt_mmx(s, SSE_CVTTPS2DQ, true, false); }
static bool gen_CVTPD2PI(struct dc *s) { return gen_cvt_mmx(s, SSE_CVTPD2DQ, true, true); }
static bool gen_CVTTPD2PI(struct dc *s) { return gen_cvt_mmx(s, SSE_CVTTPD2DQ, true, true); }

/* ---- the table ---- */

#define ENTRY_A(name) { ZYDIS_MNEMONIC_##name, gen_##name },
#define ENTRY_U(name) ENTRY_A(name)
#define ENTRY_N(name)
#define E(name) { ZYDIS_MNEMONIC_##name, gen_##name },

const struct lift_entry lift_sse_table[] = {
#define X(name, impl, feat, lift) ENTRY_##lift(name)
	SSE_OPS(X)
#undef X
	/* moves */
	E(MOVDQA) E(MOVAPS) E(MOVAPD) E(MOVDQU) E(MOVUPS) E(MOVUPD) E(LDDQU)
	E(MOVNTDQ) E(MOVNTPS) E(MOVNTPD) E(MOVNTDQA) E(MOVNTI)
	E(MOVD) E(MOVQ) E(MOVSS) E(MOVSD)
	E(MOVHPS) E(MOVHPD) E(MOVLPS) E(MOVLPD) E(MOVHLPS) E(MOVLHPS) E(MOVDDUP)
	/* inline arithmetic, logic and shuffles */
	E(PXOR) E(XORPS) E(XORPD) E(POR) E(ORPS) E(ORPD) E(PAND) E(ANDPS) E(ANDPD)
	E(PANDN) E(ANDNPS) E(ANDNPD) E(PADDQ) E(PSUBQ)
	E(PCMPEQB) E(PCMPEQW) E(PCMPEQD)
	E(PUNPCKLQDQ) E(PUNPCKHQDQ) E(UNPCKLPD) E(UNPCKHPD) E(SHUFPD)
	E(PSLLW) E(PSLLD) E(PSLLQ) E(PSRLW) E(PSRLD) E(PSRLQ) E(PSRAW) E(PSRAD)
	E(PSLLDQ) E(PSRLDQ)
	E(PINSRW) E(PINSRB) E(PINSRD) E(PINSRQ)
	E(PEXTRW) E(PEXTRB) E(PEXTRD) E(PEXTRQ) E(EXTRACTPS)
	E(PMOVMSKB) E(MOVMSKPS) E(MOVMSKPD)
	/* forms with a special operand */
	E(CMPSD) E(COMISS) E(UCOMISS) E(COMISD) E(UCOMISD)
	E(CVTSI2SS) E(CVTSI2SD) E(CVTSS2SI) E(CVTTSS2SI) E(CVTSD2SI) E(CVTTSD2SI)
	E(PTEST) E(INSERTPS) E(PCMPISTRI) E(PCMPESTRI) E(PCMPISTRM) E(PCMPESTRM) E(CRC32)
	E(VPCMPISTRI) E(VPCMPESTRI) E(VPCMPISTRM) E(VPCMPESTRM)
	E(MASKMOVDQU)
	/* state and ordering */
	E(LDMXCSR) E(STMXCSR)
	{ ZYDIS_MNEMONIC_MFENCE, gen_fence }, { ZYDIS_MNEMONIC_LFENCE, gen_fence },
	{ ZYDIS_MNEMONIC_SFENCE, gen_fence },
	/* conversions with an MMX side (EMMS and the other MMX forms: lift-mmx.c) */
	E(CVTPI2PS) E(CVTPI2PD) E(CVTPS2PI) E(CVTTPS2PI) E(CVTPD2PI) E(CVTTPD2PI)
	{ 0, NULL }
};
