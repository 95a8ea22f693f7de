/*
 * AVX lifters: the VEX-encoded instructions of AVX, AVX2, FMA3 and F16C,
 * and the XSAVE family.  A YMM register is cpu->xmm[i] (bits 127:0, the
 * SSE lifters' view) and cpu->xmm_hi[i] (bits 255:128), reached with
 * ld_env/st_env as four 64-bit quarters.  Every VEX instruction that writes
 * an XMM register zeroes bits 255:128 of it (the SDM's VEX.128 rule); the
 * legacy SSE lifters never touch xmm_hi, which is the other half of it.
 *
 * Moves, broadcasts of 128 bits, 128-bit extracts, element inserts and
 * extracts and vzeroupper/vzeroall are lifted inline, and so are the FP
 * rows the IR has (vfop/vfres: arithmetic, sqrt, conversions, compares to
 * RFLAGS, FMA3; 256-bit packed forms half by half); every other row of
 * avx-ops.h goes through one generic form: its memory operand (if any) is
 * loaded with exactly its size into cpu->ytmp, and helper_avx_op/_fp run
 * the host instruction on register numbers.  Masked moves and gathers run
 * element by element in helpers, so masked-off elements never fault and a
 * fault leaves a gather's completed elements done.  The operations whose
 * legacy-SSE forms differ only in their operands are lifted once, for both
 * encodings, by the operand layer (lift-vec.c).
 *
 * Invariant (translate.h): guest loads, and alignment checks, come before
 * the first write to a guest register or to memory.
 */
#include "guest/x86/cpuid.h"
#include "guest/x86/lift-vec.h"
#include "guest/x86/avx-ops.h"
#include "guest/x86/sse-ops.h"

#define YTMP CPU_OFF(ytmp)

static bool is_vex(struct dc *s)
{
	return s->insn.encoding == ZYDIS_INSTRUCTION_ENCODING_VEX && avx_host_ok();
}

/* The operand layer's view of a VEX form where a lifter reads operands by
 * index: memory operands checked for the whole length when aligned. */
static const struct vec_opnds vex_form = { .dst = -1, .src1 = -1, .src2 = -1, .imm = -1, .nq = 4, .vex = true };

/* nq quarters of operand i (a vector register or memory).  false: the
 * instruction always faults. */
static bool ld_vec(struct dc *s, int i, int nq, bool aligned, ir_ref v[4])
{
	return vec_ld(s, &vex_form, i, nq, aligned, v);
}

/* Write nq quarters of ymm x; the quarters above are zeroed (VEX rule). */
static void st_vec(struct dc *s, int x, int nq, const ir_ref *v)
{
	struct vec_opnds o = { .dst = x, .nq = 4, .vex = true };
	vec_put(s, &o, v, nq);
}

/* Load memory operand i, exactly its size, into cpu->ytmp. */
static void stage_mem(struct dc *s, int i)
{
	int32_t off;
	vec_stage(s, &vex_form, i, false, YTMP, &off);
}

/* ---- the generic form ---- */

static const uint8_t avx_op_width[AVX_NB_OPS] = {
#define X(name, shape, fp, w) [AVX_##name] = #w[0],
	AVX_OPS(X)
#undef X
};

/* Whether the modelled CPU reports leaf 1 ecx bit `bit` (features outside
 * the levels: their VEX forms exist where both they and AVX do). */
static bool cpuid_reports(int bit)
{
	uint32_t r[4];
	x86_cpuid(1, 0, r);
	return r[2] >> bit & 1;
}

static bool gen_avx(struct dc *s, enum avx_op op)
{
	int shape = avx_op_shape[op];
	unsigned r[4] = { 0, 0, 0, 0 };
	int nr = 0, mem_dst = -1, gpr_dst = -1, gpr_size = 0;
	bool L = false, d256 = false, immf = false;
	uint64_t imm = 0;

	if (!is_vex(s))
		return false;
	switch (op) {
	case AVX_VAESENC: case AVX_VAESENCLAST: case AVX_VAESDEC: case AVX_VAESDECLAST:
	case AVX_VAESIMC: case AVX_VAESKEYGENASSIST:
		if (!cpuid_reports(25))
			return false;
		break;
	case AVX_VPCLMULQDQ:
		if (!cpuid_reports(1))
			return false;
		break;
	default:
		break;
	}
	for (int i = 0; i < s->insn.operand_count_visible; i++) {
		const ZydisDecodedOperand *o = &s->op[i];
		int x;
		switch (o->type) {
		case ZYDIS_OPERAND_TYPE_REGISTER:
			if ((x = vec_reg(o->reg.value)) >= 0) {
				if (o->size == 256)
					L = true;
				if (i == 0)
					d256 = o->size == 256;
				r[nr++] = x;
			} else if (vec_is_gpr(s, i) && i == 0) {
				gpr_dst = reg_index(o->reg.value);
				gpr_size = op_size(s, i);
				nr++;
			} else if (vec_is_gpr(s, i) && shape == AVX_CSI) {
				ir_stenv(s, gen_ld_op(s, i), YTMP, IR_MO_64);
				gpr_size = op_size(s, i);
				r[nr++] = AVX_TMP;
			} else {
				return false;
			}
			break;
		case ZYDIS_OPERAND_TYPE_MEMORY:
			if (o->size == 256)
				L = true;
			if (i == 0)
				mem_dst = i;
			else
				stage_mem(s, i);
			if (shape == AVX_CSI)
				gpr_size = size_of_bits(o->size);
			r[nr++] = AVX_TMP;
			break;
		case ZYDIS_OPERAND_TYPE_IMMEDIATE:
			imm = vec_imm8(s, i);
			immf = true;
			break;
		default:
			return false;
		}
		if (nr > 4)
			return false;
	}
	if ((avx_op_width[op] == 'Y' && !L) || (avx_op_width[op] == 'X' && L))
		return false;
	if (shape == AVX_CSI || shape == AVX_C2SI)
		imm = gpr_size == 3;
	/* VINSERTPS from m32 takes the loaded dword whatever imm[7:6] says;
	 * the host's register form, run on the staged dword, would not */
	if (op == AVX_VINSERTPS && s->op[2].type == ZYDIS_OPERAND_TYPE_MEMORY)
		imm &= 0x3f;
	if ((shape == AVX_SH || shape == AVX_PI) && immf) {
		/* the immediate forms: dst, src, imm */
		r[2] = 0;
	}
	uint64_t regs = AVX_REGS(r[0], r[1], r[2], r[3], L, d256) |
			((shape == AVX_SH || shape == AVX_PI) && immf ? 1ull << 34 : 0);
	enum x86_helper h = HELPER_avx_op;
	if (avx_op_fp[op]) {
		gen_sync_pc(s, s->pc);	/* the pc of a #XM */
		h = HELPER_avx_fp;
	}
	ir_ref ret = gen_helper(s, h, 4, s->ir->env, cst(s, op), cst(s, regs), cst(s, imm));
	if (shape == AVX_TST || shape == AVX_COMI)
		gen_set_cc(s, CC_OP_EFLAGS, 0, ret, 0);
	if (gpr_dst >= 0)
		gen_st_reg(s, gpr_dst, gpr_size, ret);
	if (mem_dst >= 0) {
		/* the result went to ytmp; its low bytes go to memory */
		int bits = s->op[mem_dst].size;
		ir_ref ea = gen_ea(s, &s->op[mem_dst]);
		if (bits > 64)
			gen_st_probe(s, ea, bits / 8);
		for (int q = 0; q < bits / 64; q++)
			ir_st(s, ir_ldenv(s, YTMP + 8 * q, IR_MO_64),
			      q ? ir_bin(s, IR_add, ea, cst(s, 8 * q)) : ea, IR_MO_64);
	}
	return true;
}

/* ---- integer forms inline ---- */

/* AVX integer operations the IR has as 128-bit vector ops: a 256-bit form
 * is the op on each 128-bit lane, as AVX2 defines it.  Zero: none. */
static const uint8_t vop_of_avx[AVX_NB_OPS] = {
#define V(name, v) [AVX_V##name] = IR_V_##v + 1
	VEC_VOPS(V),
#undef V
};

/* Logic and 64-bit lanes on quarters; andc: ~a & b (VPANDN). */
static enum ir_opc logic_of(enum avx_op op)
{
	switch (op) {
	case AVX_VPAND: case AVX_VANDPS: case AVX_VANDPD: return IR_and;
	case AVX_VPOR: case AVX_VORPS: case AVX_VORPD: return IR_or;
	case AVX_VPXOR: case AVX_VXORPS: case AVX_VXORPD: return IR_xor;
	case AVX_VPANDN: case AVX_VANDNPS: case AVX_VANDNPD: return IR_andc;
	case AVX_VPADDQ: return IR_add;
	case AVX_VPSUBQ: return IR_sub;
	default: return IR_mov;
	}
}

static int32_t slot(int x, int h)
{
	return x == AVX_TMP ? YTMP + 16 * h : vec_q(x, 2 * h);
}

/* `op dst, a, b/mem` of a logic or vop row without a call.  false: not
 * such a form (the generic path takes it). */
static bool gen_avx_inline(struct dc *s, enum avx_op op)
{
	enum ir_opc lop = logic_of(op);
	int v = vop_of_avx[op];
	int d = vec_op(s, 0), a = vec_op(s, 1), b = vec_op(s, 2);
	if ((lop == IR_mov && !v) || s->insn.operand_count_visible != 3 || d < 0 || a < 0 ||
	    (b < 0 && s->op[2].type != ZYDIS_OPERAND_TYPE_MEMORY))
		return false;
	int nq = s->op[0].size / 64;
	struct vec_opnds o;

	vec_decode(s, &o);
	if (lop != IR_mov)
		return vec_gen_logic(s, &o, lop);
	if ((op == AVX_VPCMPEQB || op == AVX_VPCMPEQW || op == AVX_VPCMPEQD) && vec_gen_ones(s, &o))
		return true;
	/* dst = a; dst op= b, per 128-bit lane.  b is staged when it is
	 * memory, or the register the copy of a would overwrite. */
	int src = b;
	if (b < 0) {
		stage_mem(s, 2);
		src = AVX_TMP;
	} else if (b == d && a != d) {
		for (int q = 0; q < nq; q++)
			ir_stenv(s, ir_ldenv(s, vec_q(b, q), IR_MO_64), YTMP + 8 * q, IR_MO_64);
		src = AVX_TMP;
	}
	if (a != d)
		for (int q = 0; q < nq; q++)
			ir_stenv(s, ir_ldenv(s, vec_q(a, q), IR_MO_64), vec_q(d, q), IR_MO_64);
	for (int h = 0; h < nq / 2; h++)
		vec_emit_vop(s, v - 1, slot(d, h), slot(src, h));
	if (nq == 2) {
		ir_stenv(s, cst(s, 0), vec_q(d, 2), IR_MO_64);
		ir_stenv(s, cst(s, 0), vec_q(d, 3), IR_MO_64);
	}
	return true;
}

/* VPMOVMSKB/VMOVMSKPS/PD r32, xmm/ymm: sign bits into a GPR (lift-vec.c). */
static bool gen_avx_movmsk(struct dc *s, int lane)
{
	return is_vex(s) && vec_gen_movmsk(s, lane);
}

static bool gen_VPMOVMSKB(struct dc *s) { return gen_avx_movmsk(s, 8); }
static bool gen_VMOVMSKPS(struct dc *s) { return gen_avx_movmsk(s, 32); }
static bool gen_VMOVMSKPD(struct dc *s) { return gen_avx_movmsk(s, 64); }

/* VPTEST d, src: ZF = (d & src) == 0, CF = (~d & src) == 0, inline. */
static bool gen_VPTEST(struct dc *s)
{
	int d = vec_op(s, 0);
	ir_ref sv[4];
	if (!is_vex(s) || d < 0 || s->insn.operand_count_visible != 2)
		return false;
	int nq = s->op[0].size / 64;
	if (!ld_vec(s, 1, nq, false, sv))
		return true;
	ir_ref and = 0, andn = 0;
	for (int q = 0; q < nq; q++) {
		ir_ref dv = ir_ldenv(s, vec_q(d, q), IR_MO_64);
		ir_ref x = ir_bin(s, IR_and, dv, sv[q]), y = ir_bin(s, IR_andc, sv[q], dv);
		and = and ? ir_bin(s, IR_or, and, x) : x;
		andn = andn ? ir_bin(s, IR_or, andn, y) : y;
	}
	ir_ref zf = ir_bin(s, IR_shl, ir_setc(s, IR_EQ, and, cst(s, 0)), cst(s, 6));
	ir_ref f = ir_bin(s, IR_or, zf, ir_setc(s, IR_EQ, andn, cst(s, 0)));
	gen_set_cc(s, CC_OP_EFLAGS, 0, f, 0);
	return true;
}

/* Shifts by an immediate: the logical ones are the operand layer's (as for
 * the legacy forms), VPSRAD is two 32-bit arithmetic shifts per quarter.
 * dst = vvvv (operand 0), src = r/m (operand 1).  false: not such a form. */
static bool gen_vshift_imm(struct dc *s, enum avx_op op)
{
	struct vec_opnds o;
	vec_decode(s, &o);
	switch (op) {
	case AVX_VPSLLW: return vec_gen_shift_imm(s, &o, 16, true);
	case AVX_VPSLLD: return vec_gen_shift_imm(s, &o, 32, true);
	case AVX_VPSLLQ: return vec_gen_shift_imm(s, &o, 64, true);
	case AVX_VPSRLW: return vec_gen_shift_imm(s, &o, 16, false);
	case AVX_VPSRLD: return vec_gen_shift_imm(s, &o, 32, false);
	case AVX_VPSRLQ: return vec_gen_shift_imm(s, &o, 64, false);
	case AVX_VPSRAD: break;
	default: return false;
	}
	if (o.dst < 0 || o.src2 < 0 || o.imm != 2)
		return false;
	unsigned n = vec_imm8(s, 2);
	ir_ref v[4];
	if (!ld_vec(s, 1, o.nq, false, v))
		return true;
	if (n > 31)
		n = 31;
	for (int q = 0; q < o.nq; q++) {
		ir_ref lo = ir_un(s, IR_ext32u, ir_bin(s, IR_sar, ir_un(s, IR_ext32s, v[q]), cst(s, n)));
		ir_ref hi = ir_bin(s, IR_and, ir_bin(s, IR_sar, v[q], cst(s, n)),
				   cst(s, 0xffffffff00000000ull));
		v[q] = ir_bin(s, IR_or, hi, lo);
	}
	vec_put(s, &o, v, o.nq);
	return true;
}

/* ---- floating point inline ---- */

/* AVX floating point the IR has (ir-fops.h), inline under the guest's
 * MXCSR in the VEX.128 forms (the 256-bit ones go to the helper).  Zero:
 * none.  VCVTSI2Sx map to the 32-bit row; the 64-bit one follows it. */
static const uint8_t fop_of_avx[AVX_NB_OPS] = {
#define F4(OP, op) [AVX_V##OP##PS] = IR_F_##op##ps + 1, [AVX_V##OP##PD] = IR_F_##op##pd + 1, \
		   [AVX_V##OP##SS] = IR_F_##op##ss + 1, [AVX_V##OP##SD] = IR_F_##op##sd + 1
#define F(OP, op) [AVX_V##OP] = IR_F_##op + 1
#define FMA1(K, k, o) F4(K##o, k##o)
#define FMA(K, k) FMA1(K, k, 132), FMA1(K, k, 213), FMA1(K, k, 231)
	VEC_FOPS(F4, F),
	F(CVTSI2SS, cvtsi2ss32), F(CVTSI2SD, cvtsi2sd32),
	F(CVTSS2SI, cvtss2si), F(CVTTSS2SI, cvttss2si), F(CVTSD2SI, cvtsd2si),
	F(CVTTSD2SI, cvttsd2si),
	FMA(FMADD, fmadd), FMA(FMSUB, fmsub), FMA(FNMADD, fnmadd), FMA(FNMSUB, fnmsub),
#undef F4
#undef F
#undef FMA1
#undef FMA
};

/* The register of source operand i for slot(): its own, or AVX_TMP
 * (ytmp) holding the memory operand (exactly its size) or the GPR. */
static int fp_src(struct dc *s, int i)
{
	int x = vec_op(s, i);
	int32_t off;
	if (x >= 0)
		return x;
	vec_stage(s, &vex_form, i, false, YTMP, &off);
	return AVX_TMP;
}

/* The predicate of VCMPxx (n = 4) and VROUNDxx (n = 3 or 4) from their
 * last operand, an immediate: below 8 for a compare (those the legacy
 * encoding the backend emits has), imm8[3:0] for a round; -1 otherwise. */
static int fp_pred(struct dc *s, int f, int n)
{
	bool round = f >= IR_F_roundps && f <= IR_F_roundsd;
	if (n < 3 || s->op[n - 1].type != ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return -1;
	if (round)
		return vec_imm8(s, n - 1) & 15;
	return n == 4 && vec_imm8(s, n - 1) < 8 ? (int)vec_imm8(s, n - 1) : -1;
}

/*
 * 256-bit packed forms: the op on each 128-bit half.  Both results go to
 * cpu->ftmp first and only then to d, so a trap in the second half leaves
 * d untouched; FMA accumulates in ftmp, loaded from d.
 *
 * Halves run in turn are the instruction only while every exception is
 * masked: with one unmasked, the CPU decides on the flags of all lanes at
 * once (a denormal operand in the upper half, say, traps before the lower
 * half's inexact result is flagged).  So the inline halves are taken when
 * MXCSR masks everything, and the helper (gen_avx, through sse_run_fp)
 * otherwise.
 */
static bool gen_avx_fp256(struct dc *s, enum avx_op op, int f, int shape)
{
	int n = s->insn.operand_count_visible, d = vec_op(s, 0), pred = 0;
	const int32_t ft[2] = { CPU_OFF(ftmp[0]), CPU_OFF(ftmp[1]) };
	if (shape == AVX_V3I || shape == AVX_V2I) {
		if ((pred = fp_pred(s, f, n)) < 0)
			return false;
		n--;
		shape = shape == AVX_V3I ? AVX_V3 : AVX_V2;
	}
	if (ir_fopdefs[f].bsize != 16 || d < 0 || !(shape == AVX_V3 || shape == AVX_F3 || shape == AVX_V2))
		return false;
	for (int i = 1; i < n; i++)
		if (s->op[i].size != 256)
			return false;
	if (shape == AVX_V2 ? n != 2 : n != 3 || vec_op(s, 1) < 0)
		return false;
	uint32_t unmasked = ir_new_label(s->ir), done = ir_new_label(s->ir);
	ir_ref masks = ir_bin(s, IR_and, ir_ldenv(s, CPU_OFF(mxcsr), IR_MO_32), cst(s, MXCSR_MASKS));
	ir_brc(s, IR_NE, masks, cst(s, MXCSR_MASKS), unmasked);
	if (shape == AVX_V2) {
		int b = fp_src(s, 1);
		for (int h = 0; h < 2; h++)
			vec_emit_vfop(s, f, ft[h], slot(b, h), slot(b, h), pred);
	} else {
		int a = vec_op(s, 1);
		int b = fp_src(s, 2);
		for (int h = 0; h < 2 && shape == AVX_F3; h++)
			vec_emit_vop(s, IR_V_mov, ft[h], slot(d, h));
		for (int h = 0; h < 2; h++)
			vec_emit_vfop(s, f, ft[h], slot(a, h), slot(b, h), pred);
	}
	for (int h = 0; h < 2; h++)
		vec_emit_vop(s, IR_V_mov, slot(d, h), ft[h]);
	ir_emit(s->ir, IR_br, IR_I64, NULL, (int64_t[]){ done });
	set_label(s, unmasked);
	if (!gen_avx(s, op))
		gen_illegal(s);
	set_label(s, done);
	return true;
}

/* The result is written to d after the op, which may trap; a VEX.128 form
 * zeroes bits 255:128. */
static bool gen_avx_fp_inline(struct dc *s, enum avx_op op)
{
	int f = fop_of_avx[op] - 1, n = s->insn.operand_count_visible;
	if (f < 0)
		return false;
	if (s->op[0].size == 256)
		return gen_avx_fp256(s, op, f, avx_op_shape[op]);
	for (int i = 0; i < n; i++)
		if (s->op[i].size > 128 && s->op[i].type != ZYDIS_OPERAND_TYPE_IMMEDIATE)
			return false;
	int d = vec_op(s, 0), a = vec_op(s, 1), pred;
	switch (avx_op_shape[op]) {
	case AVX_V3I:
		if (n != 4 || (pred = fp_pred(s, f, n)) < 0 || d < 0 || a < 0)
			return false;
		vec_emit_vfop(s, f, slot(d, 0), slot(a, 0), slot(fp_src(s, 2), 0), pred);
		break;
	case AVX_V2I:
		if (n != 3 || (pred = fp_pred(s, f, n)) < 0 || d < 0)
			return false;
		vec_emit_vfop(s, f, slot(d, 0), slot(d, 0), slot(fp_src(s, 1), 0), pred);
		break;
	case AVX_V3: case AVX_F3: case AVX_CSI:
		if (n != 3 || d < 0 || a < 0)
			return false;
		if (avx_op_shape[op] == AVX_CSI && s->op[2].size == 64)
			f++;
		vec_emit_vfop(s, f, slot(d, 0), slot(a, 0), slot(fp_src(s, 2), 0), 0);
		break;
	case AVX_V2: case AVX_V2X: case AVX_V2N:
		if (n != 2 || d < 0)
			return false;
		vec_emit_vfop(s, f, slot(d, 0), slot(d, 0), slot(fp_src(s, 1), 0), 0);
		break;
	case AVX_COMI:
		if (n != 2 || d < 0)
			return false;
		gen_set_cc(s, CC_OP_EFLAGS, 0,
			   vec_emit_vfres(s, f, IR_I64, slot(d, 0), slot(fp_src(s, 1), 0)), 0);
		return true;
	case AVX_C2SI: {
		if (n != 2 || !vec_is_gpr(s, 0))
			return false;
		int size = op_size(s, 0);
		ir_ref r = vec_emit_vfres(s, f, size == 3 ? IR_I64 : IR_I32, 0, slot(fp_src(s, 1), 0));
		gen_st_reg(s, reg_index(s->op[0].reg.value), size, r);
		return true;
	}
	default:
		return false;
	}
	ir_stenv(s, cst(s, 0), vec_q(d, 2), IR_MO_64);
	ir_stenv(s, cst(s, 0), vec_q(d, 3), IR_MO_64);
	return true;
}

static bool gen_avx_fast(struct dc *s, enum avx_op op)
{
	return is_vex(s) && (gen_avx_inline(s, op) || gen_avx_fp_inline(s, op) ||
			     gen_vshift_imm(s, op) || gen_avx(s, op));
}

/* Every other row: inline when it can be, else the generic form. */
#define X(name, shape, fp, w) \
	static bool gen_##name##_row(struct dc *s) { return gen_avx_fast(s, AVX_##name); }
AVX_OPS(X)
#undef X

/* ---- moves ---- */

/* Full-width moves (lift-vec.c). */
static bool gen_vmov(struct dc *s, bool aligned)
{
	struct vec_opnds o;
	if (!is_vex(s))
		return false;
	vec_decode(s, &o);
	return vec_gen_mov(s, &o, aligned);
}

static bool gen_VMOVAPS(struct dc *s) { return gen_vmov(s, true); }
static bool gen_VMOVAPD(struct dc *s) { return gen_vmov(s, true); }
static bool gen_VMOVDQA(struct dc *s) { return gen_vmov(s, true); }
static bool gen_VMOVUPS(struct dc *s) { return gen_vmov(s, false); }
static bool gen_VMOVUPD(struct dc *s) { return gen_vmov(s, false); }
static bool gen_VMOVDQU(struct dc *s) { return gen_vmov(s, false); }
static bool gen_VLDDQU(struct dc *s) { return vec_op(s, 0) >= 0 && gen_vmov(s, false); }
static bool gen_VMOVNTDQA(struct dc *s) { return vec_op(s, 0) >= 0 && gen_vmov(s, true); }
static bool gen_VMOVNTDQ(struct dc *s) { return vec_op(s, 0) < 0 && gen_vmov(s, true); }
static bool gen_VMOVNTPS(struct dc *s) { return vec_op(s, 0) < 0 && gen_vmov(s, true); }
static bool gen_VMOVNTPD(struct dc *s) { return vec_op(s, 0) < 0 && gen_vmov(s, true); }

/* VMOVSS/VMOVSD: the register form merges: dst = { b's element, a's
 * other bits }; the memory forms are vec_gen_movs_mem's. */
static bool gen_vmovs(struct dc *s, int size)
{
	struct vec_opnds o;
	if (!is_vex(s))
		return false;
	vec_decode(s, &o);
	if (s->insn.operand_count_visible == 3) {
		int b = vec_op(s, 2);
		if (o.dst < 0 || o.src1 < 0 || b < 0)
			return false;
		ir_ref v[2] = { ir_ldenv(s, vec_q(b, 0), IR_MO_64), vec_keep(s, &o, 1) };
		if (size == IR_MO_32)
			v[0] = ir_dep(s, ir_ldenv(s, vec_q(o.src1, 0), IR_MO_64), v[0], 0, 32);
		vec_put(s, &o, v, 2);
		return true;
	}
	return vec_gen_movs_mem(s, &o, size);
}

static bool gen_VMOVSS(struct dc *s) { return gen_vmovs(s, IR_MO_32); }
static bool gen_VMOVSD(struct dc *s) { return gen_vmovs(s, IR_MO_64); }

/* VMOVD/VMOVQ (lift-vec.c) */
static bool gen_vmovdq(struct dc *s, int size)
{
	struct vec_opnds o;
	if (!is_vex(s))
		return false;
	vec_decode(s, &o);
	return vec_gen_movdq(s, &o, size);
}

static bool gen_VMOVD(struct dc *s) { return gen_vmovdq(s, IR_MO_32); }
static bool gen_VMOVQ(struct dc *s) { return gen_vmovdq(s, IR_MO_64); }

/* VMOVHPS/HPD/LPS/LPD: the load form is dst, a, m64 (the m64 replaces
 * quarter `half` of a); the store form writes quarter `half`. */
static bool gen_vmovhl(struct dc *s, int half)
{
	struct vec_opnds o;
	if (!is_vex(s))
		return false;
	vec_decode(s, &o);
	return vec_gen_movhl(s, &o, half);
}

static bool gen_VMOVHPS(struct dc *s) { return gen_vmovhl(s, 1); }
static bool gen_VMOVHPD(struct dc *s) { return gen_vmovhl(s, 1); }
static bool gen_VMOVLPS(struct dc *s) { return gen_vmovhl(s, 0); }
static bool gen_VMOVLPD(struct dc *s) { return gen_vmovhl(s, 0); }

static bool gen_vzero(struct dc *s, bool all)
{
	if (!is_vex(s))
		return false;
	for (int x = 0; x < 16; x++)
		for (int q = all ? 0 : 2; q < 4; q++)
			ir_stenv(s, cst(s, 0), vec_q(x, q), IR_MO_64);
	return true;
}

static bool gen_VZEROUPPER(struct dc *s) { return gen_vzero(s, false); }
static bool gen_VZEROALL(struct dc *s) { return gen_vzero(s, true); }

/* VBROADCASTF128/I128 ymm, m128 */
static bool gen_vbroadcast128(struct dc *s)
{
	int d = vec_op(s, 0);
	ir_ref v[4];
	if (!is_vex(s) || d < 0 || s->op[1].type != ZYDIS_OPERAND_TYPE_MEMORY)
		return false;
	ld_vec(s, 1, 2, false, v);
	v[2] = v[0];
	v[3] = v[1];
	st_vec(s, d, 4, v);
	return true;
}

static bool gen_VBROADCASTF128(struct dc *s) { return gen_vbroadcast128(s); }
static bool gen_VBROADCASTI128(struct dc *s) { return gen_vbroadcast128(s); }

/* VEXTRACTF128/I128 xmm/m128, ymm, imm8: the half imm[0]. */
static bool gen_vextract128(struct dc *s)
{
	int d = vec_op(s, 0), x = vec_op(s, 1);
	if (!is_vex(s) || x < 0 || s->insn.operand_count_visible < 3)
		return false;
	int h = vec_imm8(s, 2) & 1;
	ir_ref v[2] = { ir_ldenv(s, vec_q(x, 2 * h), IR_MO_64), ir_ldenv(s, vec_q(x, 2 * h + 1), IR_MO_64) };
	if (d >= 0) {
		st_vec(s, d, 2, v);
		return true;
	}
	if (s->op[0].type != ZYDIS_OPERAND_TYPE_MEMORY)
		return false;
	ir_ref ea = gen_ea(s, &s->op[0]);
	gen_st_probe(s, ea, 16);
	ir_st(s, v[0], ea, IR_MO_64);
	ir_st(s, v[1], ir_bin(s, IR_add, ea, cst(s, 8)), IR_MO_64);
	return true;
}

static bool gen_VEXTRACTF128(struct dc *s) { return gen_vextract128(s); }
static bool gen_VEXTRACTI128(struct dc *s) { return gen_vextract128(s); }

/* VPINSRB/W/D/Q xmm1, xmm2, r/m, imm8: xmm2 with element imm replaced. */
static bool gen_vpinsr(struct dc *s, int bits)
{
	struct vec_opnds o;
	if (!is_vex(s))
		return false;
	vec_decode(s, &o);
	return vec_gen_pinsr(s, &o, bits);
}

static bool gen_VPINSRB(struct dc *s) { return gen_vpinsr(s, 8); }
static bool gen_VPINSRW(struct dc *s) { return gen_vpinsr(s, 16); }
static bool gen_VPINSRD(struct dc *s) { return gen_vpinsr(s, 32); }
static bool gen_VPINSRQ(struct dc *s) { return gen_vpinsr(s, 64); }

/* VPEXTRB/W/D/Q, VEXTRACTPS r/m, xmm, imm8 */
static bool gen_vpextr(struct dc *s, int bits)
{
	return is_vex(s) && vec_gen_pextr(s, bits);
}

static bool gen_VPEXTRB(struct dc *s) { return gen_vpextr(s, 8); }
static bool gen_VPEXTRW(struct dc *s) { return gen_vpextr(s, 16); }
static bool gen_VPEXTRD(struct dc *s) { return gen_vpextr(s, 32); }
static bool gen_VPEXTRQ(struct dc *s) { return gen_vpextr(s, 64); }
static bool gen_VEXTRACTPS(struct dc *s) { return gen_vpextr(s, 32); }

/* ---- masked moves and gathers ---- */

static bool gen_vmaskmov(struct dc *s, unsigned esz)
{
	int d = vec_op(s, 0), m = vec_op(s, 1), x = vec_op(s, 2);
	if (!is_vex(s) || m < 0 || s->insn.operand_count_visible != 3)
		return false;
	bool L = s->insn.avx.vector_length == 256;
	gen_sync_pc(s, s->pc);	/* the pc of a fault in the helper */
	if (d >= 0 && s->op[2].type == ZYDIS_OPERAND_TYPE_MEMORY) {
		gen_helper(s, HELPER_avx_maskmov, 4, s->ir->env, cst(s, AVX_REGS(d, m, 0, 0, L, L)),
			   gen_ea(s, &s->op[2]), cst(s, esz));
		return true;
	}
	if (s->op[0].type == ZYDIS_OPERAND_TYPE_MEMORY && x >= 0) {
		gen_helper(s, HELPER_avx_maskmov, 4, s->ir->env, cst(s, AVX_REGS(0, m, x, 0, L, L)),
			   gen_ea(s, &s->op[0]), cst(s, esz | 0x100));
		return true;
	}
	return false;
}

static bool gen_VMASKMOVPS(struct dc *s) { return gen_vmaskmov(s, 4); }
static bool gen_VPMASKMOVD(struct dc *s) { return gen_vmaskmov(s, 4); }
static bool gen_VMASKMOVPD(struct dc *s) { return gen_vmaskmov(s, 8); }
static bool gen_VPMASKMOVQ(struct dc *s) { return gen_vmaskmov(s, 8); }

/* VGATHERDPS etc. dst, [base + vindex * scale + disp], mask.  #UD when
 * any two of dst, index and mask are the same register. */
static bool gen_gather(struct dc *s, unsigned dsz, unsigned isz)
{
	int d = vec_op(s, 0), m = vec_op(s, 2);
	if (!is_vex(s) || d < 0 || m < 0 || s->op[1].type != ZYDIS_OPERAND_TYPE_MEMORY)
		return false;
	ZydisDecodedOperand mem = s->op[1];
	int ix = vec_reg(mem.mem.index);
	if (ix < 0 || d == m || d == ix || m == ix)
		return false;
	unsigned scale = mem.mem.scale ? mem.mem.scale : 1;
	mem.mem.index = ZYDIS_REGISTER_NONE;
	mem.mem.scale = 0;
	bool L = s->insn.avx.vector_length == 256;
	ir_ref base = gen_ea(s, &mem);
	gen_sync_pc(s, s->pc);
	gen_helper(s, HELPER_avx_gather, 4, s->ir->env, cst(s, AVX_REGS(d, ix, m, 0, L, 0)), base,
		   cst(s, dsz | isz << 8 | (unsigned)__builtin_ctz(scale) << 16));
	return true;
}

static bool gen_VGATHERDPS(struct dc *s) { return gen_gather(s, 4, 4); }
static bool gen_VGATHERDPD(struct dc *s) { return gen_gather(s, 8, 4); }
static bool gen_VGATHERQPS(struct dc *s) { return gen_gather(s, 4, 8); }
static bool gen_VGATHERQPD(struct dc *s) { return gen_gather(s, 8, 8); }
static bool gen_VPGATHERDD(struct dc *s) { return gen_gather(s, 4, 4); }
static bool gen_VPGATHERDQ(struct dc *s) { return gen_gather(s, 8, 4); }
static bool gen_VPGATHERQD(struct dc *s) { return gen_gather(s, 4, 8); }
static bool gen_VPGATHERQQ(struct dc *s) { return gen_gather(s, 8, 8); }

static bool gen_VMASKMOVDQU(struct dc *s) { return is_vex(s) && vec_gen_maskmovdqu(s); }

/* ---- MXCSR ---- */

static bool gen_VLDMXCSR(struct dc *s) { return is_vex(s) && vec_gen_ldmxcsr(s); }
static bool gen_VSTMXCSR(struct dc *s) { return is_vex(s) && vec_gen_stmxcsr(s); }

/* ---- XSAVE family ---- */

/* XGETBV: ecx = 0 reads XCR0 (x87, SSE, AVX); any other XCR is #GP, as
 * on a CPU without XGETBV_ECX_1. */
static bool gen_XGETBV(struct dc *s)
{
	uint32_t ok = ir_new_label(s->ir);
	ir_brc(s, IR_TSTEQ, G.regs[R_RCX], cst(s, 0xffffffff), ok);
	gen_exception_err(s, X86_EXC_GP, 0);
	set_label(s, ok);
	s->state = DISAS_NEXT;
	gen_st_reg(s, R_RAX, 3, cst(s, X86_XCR0));
	gen_st_reg(s, R_RDX, 3, cst(s, 0));
	return true;
}

/* The requested-feature bitmap edx:eax; the helper masks it with XCR0. */
static ir_ref gen_rfbm(struct dc *s)
{
	ir_ref lo = gen_ext(s, G.regs[R_RAX], 2, false);
	return ir_bin(s, IR_or, lo, ir_bin(s, IR_shl, G.regs[R_RDX], cst(s, 32)));
}

static bool gen_xsave(struct dc *s, int kind)
{
	if (s->op[0].type != ZYDIS_OPERAND_TYPE_MEMORY)
		return false;
	gen_sync_pc(s, s->pc);
	gen_helper(s, HELPER_xsave, 4, s->ir->env, gen_ea(s, &s->op[0]), gen_rfbm(s), cst(s, kind));
	return true;
}

/* kind: bit 0 compacted (XSAVEC), bit 1 REX.W (the x87 part's format) */
static bool gen_XSAVE(struct dc *s) { return gen_xsave(s, 0); }
static bool gen_XSAVE64(struct dc *s) { return gen_xsave(s, 2); }
static bool gen_XSAVEOPT(struct dc *s) { return gen_xsave(s, 0); }
static bool gen_XSAVEOPT64(struct dc *s) { return gen_xsave(s, 2); }
static bool gen_XSAVEC(struct dc *s) { return gen_xsave(s, 1); }
static bool gen_XSAVEC64(struct dc *s) { return gen_xsave(s, 3); }

static bool gen_xrstor(struct dc *s, bool rex_w)
{
	if (s->op[0].type != ZYDIS_OPERAND_TYPE_MEMORY)
		return false;
	gen_sync_pc(s, s->pc);
	gen_helper(s, HELPER_xrstor, 4, s->ir->env, gen_ea(s, &s->op[0]), gen_rfbm(s), cst(s, rex_w));
	return true;
}

static bool gen_XRSTOR(struct dc *s) { return gen_xrstor(s, false); }
static bool gen_XRSTOR64(struct dc *s) { return gen_xrstor(s, true); }

/* ---- the table ---- */

#define E(name) { ZYDIS_MNEMONIC_##name, gen_##name },

/* Later rows override earlier ones (add_table): the hand-written lifters
 * of some table rows come after the generated ones. */
const struct lift_entry lift_avx_table[] = {
#define X(name, shape, fp, w) { ZYDIS_MNEMONIC_##name, gen_##name##_row },
	AVX_OPS(X)
#undef X
	E(VPMOVMSKB) E(VMOVMSKPS) E(VMOVMSKPD) E(VPTEST)
	E(VMOVAPS) E(VMOVAPD) E(VMOVDQA) E(VMOVUPS) E(VMOVUPD) E(VMOVDQU) E(VLDDQU)
	E(VMOVNTDQA) E(VMOVNTDQ) E(VMOVNTPS) E(VMOVNTPD)
	E(VMOVSS) E(VMOVSD) E(VMOVD) E(VMOVQ)
	E(VMOVHPS) E(VMOVHPD) E(VMOVLPS) E(VMOVLPD)
	E(VZEROUPPER) E(VZEROALL) E(VBROADCASTF128) E(VBROADCASTI128)
	E(VEXTRACTF128) E(VEXTRACTI128)
	E(VPINSRB) E(VPINSRW) E(VPINSRD) E(VPINSRQ)
	E(VPEXTRB) E(VPEXTRW) E(VPEXTRD) E(VPEXTRQ) E(VEXTRACTPS)
	E(VMASKMOVPS) E(VMASKMOVPD) E(VPMASKMOVD) E(VPMASKMOVQ) E(VMASKMOVDQU)
	E(VGATHERDPS) E(VGATHERDPD) E(VGATHERQPS) E(VGATHERQPD)
	E(VPGATHERDD) E(VPGATHERDQ) E(VPGATHERQD) E(VPGATHERQQ)
	E(VLDMXCSR) E(VSTMXCSR)
	E(XGETBV) E(XSAVE) E(XSAVE64) E(XSAVEOPT) E(XSAVEOPT64) E(XSAVEC) E(XSAVEC64)
	E(XRSTOR) E(XRSTOR64)
	{ 0, NULL }
};
