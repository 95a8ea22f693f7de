/*
 * The vector operand layer (lift-vec.h): decoding an SSE or VEX
 * instruction's operands once, loading and writing vector registers by
 * 64-bit quarters under each encoding's rules, the alignment checks of
 * memory operands, and the lifters of the operations whose legacy and VEX
 * forms differ only in their operands.  What is particular to one encoding
 * (helper tables, staging areas, 256-bit forms) stays in lift-sse.c and
 * lift-avx.c.
 *
 * Invariant (translate.h): every guest load of an instruction, and its
 * alignment check, comes before its first write to env or to memory.
 */
#include "guest/x86/lift-vec.h"
#include "guest/x86/sse-ops.h"

int vec_reg(ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_XMM0 && r <= ZYDIS_REGISTER_XMM15)
		return r - ZYDIS_REGISTER_XMM0;
	if (r >= ZYDIS_REGISTER_YMM0 && r <= ZYDIS_REGISTER_YMM15)
		return r - ZYDIS_REGISTER_YMM0;
	return -1;
}

int vec_op(struct dc *s, int i)
{
	if (i < 0 || i >= s->insn.operand_count_visible || s->op[i].type != ZYDIS_OPERAND_TYPE_REGISTER)
		return -1;
	return vec_reg(s->op[i].reg.value);
}

bool vec_is_gpr(struct dc *s, int i)
{
	return s->op[i].type == ZYDIS_OPERAND_TYPE_REGISTER && reg_index(s->op[i].reg.value) >= 0;
}

/* The three-operand VEX forms name VEX.vvvv as operand 1, the first source;
 * the two-operand ones (and the shifts by an immediate, whose vvvv is the
 * destination) read like the legacy forms. */
void vec_decode(struct dc *s, struct vec_opnds *o)
{
	int n = s->insn.operand_count_visible;
	o->vex = s->insn.encoding == ZYDIS_INSTRUCTION_ENCODING_VEX;
	o->dst = vec_op(s, 0);
	o->imm = n > 1 && s->op[n - 1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? n - 1 : -1;
	bool nds = o->vex && n > 2 && s->op[1].encoding == ZYDIS_OPERAND_ENCODING_NDSNDD;
	o->src1 = nds ? vec_op(s, 1) : o->dst;
	o->src2 = nds ? 2 : 1;
	if (o->src2 >= n || o->src2 == o->imm)
		o->src2 = -1;
	o->nq = !o->vex ? 2 : o->dst >= 0 ? s->op[0].size / 64 : s->insn.avx.vector_length / 64;
}

/*
 * Alignment facts.  Each check of a 16-byte operand ends a basic block (the
 * backend writes globals back and forgets them), so the checks of one TB
 * are remembered: once base+disp passed, base+disp' with disp' = disp mod 16
 * is aligned too while the base register's global is unwritten.  Code after
 * a check is reached only through it (lifters branch forward within their
 * instruction; the TB-entry exit branch goes past the end), so a fact holds
 * until an op writes the global or a helper may write globals.  A fact
 * names its translation (TB and the exec layer's translation count, as TB
 * structs are reused after a flush) and the set_label ending its check, so
 * a stale one never matches.
 */
#define NFACTS 4
static struct align_fact {
	const struct tb *tb;
	uint64_t serial;
	uint32_t op;		/* index of the set_label after the check */
	int64_t label;
	ir_ref base;		/* the base register's global */
	uint64_t disp;
} facts[NFACTS];
static unsigned next_fact;

/* The base global of a plain [base + disp] operand, or 0. */
static ir_ref plain_base(struct dc *s, const ZydisDecodedOperand *op)
{
	const ZydisDecodedOperandMem *m = &op->mem;
	int b = reg_index(m->base);
	if (b < 0 || m->index != ZYDIS_REGISTER_NONE || s->insn.address_width != 64 ||
	    m->segment == ZYDIS_REGISTER_FS || m->segment == ZYDIS_REGISTER_GS)
		return 0;
	return G.regs[b];
}

static bool fact_holds(struct dc *s, const struct align_fact *f, ir_ref base, uint64_t disp)
{
	const struct ir_ctx *ir = s->ir;
	if (f->tb != s->tb || f->serial != exec_stats.tbs_translated || f->op >= ir->nops ||
	    ir->ops[f->op].opc != IR_set_label || ir->ops[f->op].cargs[0] != f->label)
		return false;	/* another translation's */
	if (f->base != base || ((f->disp ^ disp) & 15) || ir->nops - f->op > 512)
		return false;	/* (the scan below stays cheap) */
	for (uint32_t i = f->op + 1; i < ir->nops; i++) {
		const struct ir_op *op = &ir->ops[i];
		if (op->opc == IR_call && !(op->cargs[1] & IR_CALL_NO_WRITE_GLOBALS))
			return false;
		for (int k = 0; k < op->nout; k++)
			if (op->args[k] == base)
				return false;
	}
	return true;
}

ir_ref vec_ea(struct dc *s, int i, unsigned align, bool use_facts)
{
	ir_ref ea = gen_ea(s, &s->op[i]);
	if (align <= 1)
		return ea;
	if (ir_is_const(s->ir, ea)) {
		if (!(s->ir->temps[ea].val & (align - 1)))
			return ea;
		gen_exception_err(s, X86_EXC_GP, 0);
		return 0;
	}
	use_facts = use_facts && align == 16;
	ir_ref base = use_facts ? plain_base(s, &s->op[i]) : 0;
	uint64_t disp = s->op[i].mem.disp.has_displacement ? (uint64_t)s->op[i].mem.disp.value : 0;
	for (int k = 0; base && k < NFACTS; k++)
		if (fact_holds(s, &facts[k], base, disp))
			return ea;

	uint32_t ok = ir_new_label(s->ir);
	ir_brc(s, IR_TSTEQ, ea, cst(s, align - 1), ok);
	gen_exception_err(s, X86_EXC_GP, 0);
	set_label(s, ok);
	s->state = DISAS_NEXT;
	if (base) {
		facts[next_fact++ % NFACTS] = (struct align_fact){
			.tb = s->tb, .serial = exec_stats.tbs_translated, .op = s->ir->nops - 1, .label = ok,
			.base = base, .disp = disp,
		};
	}
	/* a new block: recompute rather than carry ea across it */
	return gen_ea(s, &s->op[i]);
}

/* A legacy form checks a 128-bit memory operand for 16 bytes (with the
 * facts); a VEX move checks the whole vector length. */
bool vec_ld(struct dc *s, const struct vec_opnds *o, int i, int nq, bool aligned, ir_ref *v)
{
	int x = vec_op(s, i);
	if (x >= 0) {
		for (int q = 0; q < nq; q++)
			v[q] = ir_ldenv(s, vec_q(x, q), IR_MO_64);
		return true;
	}
	unsigned align = !aligned ? 1 : o->vex ? 8 * nq : s->op[i].size == 128 ? 16 : 1;
	ir_ref ea = vec_ea(s, i, align, !o->vex);
	if (!ea)
		return false;
	for (int q = 0; q < nq; q++)
		v[q] = ir_ld(s, q ? ir_bin(s, IR_add, ea, cst(s, 8 * q)) : ea, IR_MO_64);
	return true;
}

bool vec_stage(struct dc *s, const struct vec_opnds *o, int i, bool aligned, int32_t tmp, int32_t *off)
{
	int x = vec_op(s, i);
	if (x >= 0) {
		*off = vec_q(x, 0);
		return true;
	}
	int bits = s->op[i].size;
	*off = tmp;
	if (vec_is_gpr(s, i)) {
		ir_stenv(s, gen_ld_op(s, i), tmp, IR_MO_64);
		return true;
	}
	if (bits >= 128) {
		ir_ref v[4];
		if (!vec_ld(s, o, i, bits / 64, aligned, v))
			return false;
		for (int q = 0; q < bits / 64; q++)
			ir_stenv(s, v[q], tmp + 8 * q, IR_MO_64);
		return true;
	}
	int size = size_of_bits(bits);
	ir_stenv(s, ir_ld(s, gen_ea(s, &s->op[i]), size), tmp, size);
	return true;
}

ir_ref vec_keep(struct dc *s, const struct vec_opnds *o, int q)
{
	return o->vex ? ir_ldenv(s, vec_q(o->src1, q), IR_MO_64) : 0;
}

void vec_put(struct dc *s, const struct vec_opnds *o, const ir_ref *v, int n)
{
	for (int q = 0; q < n; q++)
		if (v[q])
			ir_stenv(s, v[q], vec_q(o->dst, q), IR_MO_64);
	for (int q = n; q < (o->vex ? 4 : 2); q++)
		ir_stenv(s, cst(s, 0), vec_q(o->dst, q), IR_MO_64);
}

ir_ref vec_lane_shift(struct dc *s, ir_ref v, bool left, int lane, unsigned n)
{
	uint64_t lmask = lane == 64 ? ~0ull : (1ull << lane) - 1, m = 0;
	for (int i = 0; i < 64; i += lane)
		m |= (left ? (lmask << n) & lmask : lmask >> n) << i;
	v = ir_bin(s, left ? IR_shl : IR_shr, v, cst(s, n));
	return lane == 64 ? v : ir_bin(s, IR_and, v, cst(s, m));
}

/* ---- the lifters ---- */

void vec_emit_vop(struct dc *s, int v, int32_t dst, int32_t src)
{
	ir_emit(s->ir, IR_vop, IR_I64, NULL,
		(int64_t[]){ v, (int64_t)((uint64_t)(uint32_t)dst | ((uint64_t)(uint32_t)src << 32)) });
}

void vec_emit_vfop(struct dc *s, int f, int32_t d, int32_t a, int32_t b, uint64_t pred)
{
	ir_emit(s->ir, IR_vfop, IR_I64, NULL, (int64_t[]){ f, (int64_t)(IR_FOFFS(d, a, b) | pred << 48) });
}

ir_ref vec_emit_vfres(struct dc *s, int f, enum ir_type t, int32_t a, int32_t b)
{
	ir_ref r = ir_new_temp(s->ir, t);
	ir_emit(s->ir, IR_vfres, t, (ir_ref[]){ r }, (int64_t[]){ f, (int64_t)IR_FOFFS(a, b, 0) });
	return r;
}

/* Full-width moves: register <- register/memory, memory <- register.  A
 * legacy register-to-register move is a vector op: the backend keeps the
 * value in a host XMM register for the FP ops that follow (codegen.c). */
bool vec_gen_mov(struct dc *s, const struct vec_opnds *o, bool aligned)
{
	int x = vec_op(s, 1);
	ir_ref v[4];

	if (o->dst >= 0 && x >= 0 && !o->vex) {
		if (o->dst != x)
			vec_emit_vop(s, IR_V_mov, vec_q(o->dst, 0), vec_q(x, 0));
		return true;
	}
	if (o->dst >= 0) {
		if (x < 0 && !op_is_mem(s, 1))
			return false;
		if (vec_ld(s, o, 1, o->nq, aligned, v))
			vec_put(s, o, v, o->nq);
		return true;
	}
	if (op_is_mem(s, 0) && x >= 0) {
		int nq = s->op[1].size / 64;
		ir_ref ea = vec_ea(s, 0, !aligned ? 1 : o->vex ? 8 * nq : 16, !o->vex);
		if (!ea)
			return true;
		for (int q = 0; q < nq; q++)
			v[q] = ir_ldenv(s, vec_q(x, q), IR_MO_64);
		gen_st_probe(s, ea, 8 * nq);
		for (int q = 0; q < nq; q++)
			ir_st(s, v[q], q ? ir_bin(s, IR_add, ea, cst(s, 8 * q)) : ea, IR_MO_64);
		return true;
	}
	return false;
}

/* dst = src1 op src2 per quarter; andc computes ~src1 & src2 (PANDN).  The
 * zeroing idioms (pxor x, x and friends) read nothing; a legacy and/or of
 * a register with itself changes nothing. */
bool vec_gen_logic(struct dc *s, const struct vec_opnds *o, enum ir_opc opc)
{
	int b = o->src2 >= 0 ? vec_op(s, o->src2) : -1;
	ir_ref a[4], r[4];
	if (o->dst < 0 || o->src1 < 0 || o->src2 < 0 || (b < 0 && !op_is_mem(s, o->src2)))
		return false;
	if (b == o->src1 && (opc == IR_xor || opc == IR_andc || opc == IR_sub)) {
		ir_ref z[4] = { cst(s, 0), cst(s, 0), cst(s, 0), cst(s, 0) };
		vec_put(s, o, z, o->nq);
		return true;
	}
	if (b == o->src1 && (opc == IR_and || opc == IR_or) && !o->vex)
		return true;
	/* legacy SSE's m128 must be aligned; VEX forms need not be */
	if (!vec_ld(s, o, o->src2, o->nq, !o->vex, r))
		return true;
	for (int q = 0; q < o->nq; q++)
		a[q] = ir_ldenv(s, vec_q(o->src1, q), IR_MO_64);
	for (int q = 0; q < o->nq; q++)
		r[q] = opc == IR_andc ? ir_bin(s, IR_andc, r[q], a[q]) : ir_bin(s, opc, a[q], r[q]);
	vec_put(s, o, r, o->nq);
	return true;
}

/* PCMPEQx of a register with itself: all ones, nothing read. */
bool vec_gen_ones(struct dc *s, const struct vec_opnds *o)
{
	if (o->dst < 0 || o->src1 < 0 || o->src2 < 0 || vec_op(s, o->src2) != o->src1)
		return false;
	ir_ref ones[4] = { cst(s, ~0ull), cst(s, ~0ull), cst(s, ~0ull), cst(s, ~0ull) };
	vec_put(s, o, ones, o->nq);
	return true;
}

/* Logical shift of every lane by imm8 (>= lane bits: zero).  The source
 * is dst in the legacy form, the r/m operand in the VEX one. */
bool vec_gen_shift_imm(struct dc *s, const struct vec_opnds *o, int lane, bool left)
{
	int from = o->src2 >= 0 ? o->src2 : 0;
	ir_ref v[4];
	if (o->dst < 0 || o->imm < 0 || vec_op(s, from) < 0)
		return false;
	unsigned n = vec_imm8(s, o->imm);
	if (n >= (unsigned)lane) {
		ir_ref z[4] = { cst(s, 0), cst(s, 0), cst(s, 0), cst(s, 0) };
		vec_put(s, o, z, o->nq);
		return true;
	}
	vec_ld(s, o, from, o->nq, false, v);
	for (int q = 0; n && q < o->nq; q++)
		v[q] = vec_lane_shift(s, v[q], left, lane, n);
	vec_put(s, o, v, o->nq);
	return true;
}

/* PINSRB/W/D/Q: src1 with element (imm mod count) of size `bits` replaced
 * by the low bits of the GPR or memory source. */
bool vec_gen_pinsr(struct dc *s, const struct vec_opnds *o, int bits)
{
	int i = o->src2;
	if (o->dst < 0 || o->src1 < 0 || o->imm < 0 || i < 0 || !(vec_is_gpr(s, i) || op_is_mem(s, i)))
		return false;
	unsigned idx = vec_imm8(s, o->imm) & (128 / bits - 1), pos = idx * bits % 64, h = idx * bits / 64;
	ir_ref val = op_is_mem(s, i) ? ir_ld(s, gen_ea(s, &s->op[i]), size_of_bits(bits)) : gen_ld_op(s, i);
	ir_ref v[2] = { vec_keep(s, o, 0), vec_keep(s, o, 1) };
	if (bits == 64)
		v[h] = val;
	else
		v[h] = ir_dep(s, v[h] ? v[h] : ir_ldenv(s, vec_q(o->src1, h), IR_MO_64), val, pos, bits);
	vec_put(s, o, v, 2);
	return true;
}

/* PEXTRB/W/D/Q, EXTRACTPS r/m, xmm, imm8: the element zero-extended into a
 * GPR, or stored with its own size.  The same operands in both encodings. */
bool vec_gen_pextr(struct dc *s, int bits)
{
	int x = vec_op(s, 1);
	if (x < 0 || s->insn.operand_count_visible < 3 || s->op[2].type != ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return false;
	unsigned idx = vec_imm8(s, 2) & (128 / bits - 1), pos = idx * bits % 64, h = idx * bits / 64;
	ir_ref q = ir_ldenv(s, vec_q(x, h), IR_MO_64);
	ir_ref v = bits == 64 ? q : ir_extr(s, q, pos, bits, false);
	if (op_is_mem(s, 0))
		ir_st(s, v, gen_ea(s, &s->op[0]), size_of_bits(bits));
	else if (vec_is_gpr(s, 0))
		gen_st_reg(s, reg_index(s->op[0].reg.value), op_size(s, 0), v);
	else
		return false;
	return true;
}

/* PMOVMSKB/MOVMSKPS/PD r32, xmm/ymm: the sign bits of the lanes into a GPR
 * (a 32-bit write, zero-extended). */
bool vec_gen_movmsk(struct dc *s, int lane)
{
	int x = vec_op(s, 1);
	if (x < 0 || !vec_is_gpr(s, 0))
		return false;
	int nq = s->op[1].size / 64, per = 64 / lane;
	ir_ref r = 0;
	for (int q = 0; q < nq; q++) {
		ir_ref v = ir_ldenv(s, vec_q(x, q), IR_MO_64), m;
		if (lane == 8) {
			/* the top bit of byte i moves to bit 56 + i: the eight
			 * shifted copies the multiply adds never overlap */
			ir_ref t = ir_bin(s, IR_and, v, cst(s, 0x8080808080808080ull));
			t = ir_bin(s, IR_mul, t, cst(s, 0x0002040810204081ull));
			m = ir_bin(s, IR_shr, t, cst(s, 56));
		} else if (lane == 32) {
			ir_ref lo = ir_extr(s, v, 31, 1, false);
			ir_ref hi = ir_bin(s, IR_shl, ir_bin(s, IR_shr, v, cst(s, 63)), cst(s, 1));
			m = ir_bin(s, IR_or, lo, hi);
		} else {
			m = ir_bin(s, IR_shr, v, cst(s, 63));
		}
		if (q)
			m = ir_bin(s, IR_shl, m, cst(s, q * per));
		r = r ? ir_bin(s, IR_or, r, m) : m;
	}
	gen_st_reg(s, reg_index(s->op[0].reg.value), 2, r);
	return true;
}

/* MOVD/MOVQ: into a vector register the value is zero-extended (to 128
 * bits, or 256 under VEX); out of one, its low 32/64 bits go to a GPR or
 * memory. */
bool vec_gen_movdq(struct dc *s, const struct vec_opnds *o, int size)
{
	int x = vec_op(s, 1);
	if (o->dst >= 0) {
		ir_ref v[1];
		if (x >= 0)
			v[0] = ir_ldenv(s, vec_q(x, 0), size);
		else if (vec_is_gpr(s, 1) || op_is_mem(s, 1))
			v[0] = gen_ld_op(s, 1);
		else
			return false;
		vec_put(s, o, v, 1);
		return true;
	}
	if (x >= 0 && (vec_is_gpr(s, 0) || op_is_mem(s, 0))) {
		gen_st_op(s, 0, ir_ldenv(s, vec_q(x, 0), size));
		return true;
	}
	return false;
}

/* MOVSS/MOVSD with a memory side: a load zeroes all but the element, a
 * store writes the element only.  (The register forms differ: legacy
 * merges into dst, VEX takes the rest from src1.) */
bool vec_gen_movs_mem(struct dc *s, const struct vec_opnds *o, int size)
{
	int x = vec_op(s, 1);
	if (o->dst >= 0 && op_is_mem(s, 1)) {
		ir_ref v[1] = { ir_ld(s, gen_ea(s, &s->op[1]), size) };
		vec_put(s, o, v, 1);
		return true;
	}
	if (op_is_mem(s, 0) && x >= 0) {
		ir_st(s, ir_ldenv(s, vec_q(x, 0), size), gen_ea(s, &s->op[0]), size);
		return true;
	}
	return false;
}

/* MOVHPS/MOVHPD/MOVLPS/MOVLPD: the load form puts the m64 in quarter
 * `half` of src1's value; the store form writes quarter `half`. */
bool vec_gen_movhl(struct dc *s, const struct vec_opnds *o, int half)
{
	if (o->dst >= 0 && o->src1 >= 0 && o->src2 >= 0 && op_is_mem(s, o->src2)) {
		ir_ref v[2];
		v[half] = ir_ld(s, gen_ea(s, &s->op[o->src2]), IR_MO_64);
		v[!half] = vec_keep(s, o, !half);
		vec_put(s, o, v, 2);
		return true;
	}
	int x = vec_op(s, 1);
	if (op_is_mem(s, 0) && x >= 0) {
		ir_st(s, ir_ldenv(s, vec_q(x, half), IR_MO_64), gen_ea(s, &s->op[0]), IR_MO_64);
		return true;
	}
	return false;
}

/* ---- MXCSR and the masked store ---- */

bool vec_gen_ldmxcsr(struct dc *s)
{
	if (!op_is_mem(s, 0))
		return false;
	ir_ref v = ir_ld(s, gen_ea(s, &s->op[0]), IR_MO_32);
	uint32_t ok = ir_new_label(s->ir);
	ir_brc(s, IR_TSTEQ, v, cst(s, ~(uint64_t)MXCSR_VALID & 0xffffffff), ok);
	gen_exception_err(s, X86_EXC_GP, 0);
	set_label(s, ok);
	s->state = DISAS_NEXT;
	ir_stenv(s, v, CPU_OFF(mxcsr), IR_MO_32);
	ir_emit(s->ir, IR_vfop, IR_I64, NULL,
		(int64_t[]){ IR_F_ldmxcsr, (int64_t)IR_FOFFS(0, 0, CPU_OFF(mxcsr)) });
	return true;
}

bool vec_gen_stmxcsr(struct dc *s)
{
	if (!op_is_mem(s, 0))
		return false;
	ir_ref ea = gen_ea(s, &s->op[0]), v = ir_new_temp(s->ir, IR_I32);
	ir_emit(s->ir, IR_vfres, IR_I32, (ir_ref[]){ v },
		(int64_t[]){ IR_F_stmxcsr, (int64_t)IR_FOFFS(CPU_OFF(xtmp), CPU_OFF(mxcsr), 0) });
	ir_st(s, v, ea, IR_MO_32);
	return true;
}

/* MASKMOVDQU xmm, xmm, [rdi] (the memory operand is hidden). */
bool vec_gen_maskmovdqu(struct dc *s)
{
	int x = vec_op(s, 0), m = vec_op(s, 1);
	if (x < 0 || m < 0 || s->insn.operand_count < 3 || !op_is_mem(s, 2))
		return false;
	ir_ref ea = gen_ea(s, &s->op[2]);
	/* under alignment checking the host wants 8-byte alignment, though
	 * unaligned 16-byte moves are not checked */
	gen_ac_check(s, ea, 8);
	gen_sync_pc(s, s->pc);	/* the pc of a fault in the helper */
	gen_helper(s, HELPER_sse_maskmov, 4, s->ir->env, cst(s, vec_q(x, 0)), cst(s, vec_q(m, 0)), ea);
	return true;
}
