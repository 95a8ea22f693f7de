/*
 * SSE lifters: SSE, SSE2, SSE3, SSSE3, SSE4.1 and the SSE4.2 string and CRC
 * instructions on XMM registers (MMX forms are refused: SIGILL).  XMM
 * registers live in env (cpu->xmm[i]), not in IR globals; a 128-bit value
 * is two 64-bit halves.  Moves, logic, 64-bit lanes, logical shifts by an
 * immediate, qword shuffles, inserts/extracts and mask extraction are
 * lifted inline on those halves; register-to-register moves, SSE2 integer
 * arithmetic (vop) and the common FP (vfop/vfres: arithmetic, sqrt,
 * conversions, comis/ucomis, ldmxcsr/stmxcsr) are IR vector ops the backend
 * runs as the host instruction, FP under the guest's MXCSR; everything
 * else is one call to a helper from the table in sse-ops.h, which also
 * generates the lifters of the plain `op xmm, xmm/mem[, imm8]` forms.
 *
 * Memory operands are read with IR loads of exactly the size the
 * instruction accesses, staged in cpu->xtmp for helpers, so faults are
 * precise; legacy-SSE forms whose 128-bit operand must be aligned check
 * the address first and raise the #GP (SIGSEGV, SI_KERNEL, addr 0).
 *
 * Invariant (translate.h): every guest load of an instruction, and its
 * alignment check, comes before its first write to env or to memory, and
 * a GPR result is written after the helper that computes it returns (an FP
 * helper may raise SIGFPE instead of returning).
 */
#include <signal.h>
#include "guest/x86/translate.h"
#include "guest/x86/sse-ops.h"

#define XTMP CPU_OFF(xtmp)

/* ---- operands ---- */

static int xmm_of(ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_XMM0 && r <= ZYDIS_REGISTER_XMM15)
		return r - ZYDIS_REGISTER_XMM0;
	return -1;
}

/* XMM index of operand i, or -1 if it is not an XMM register. */
static int xmm_op(struct dc *s, int i)
{
	if (s->op[i].type != ZYDIS_OPERAND_TYPE_REGISTER)
		return -1;
	return xmm_of(s->op[i].reg.value);
}

static bool is_gpr(struct dc *s, int i)
{
	return s->op[i].type == ZYDIS_OPERAND_TYPE_REGISTER && reg_index(s->op[i].reg.value) >= 0;
}

static int32_t xoff(int x) { return CPU_OFF(xmm) + 16 * x; }
static int32_t xq(int x, int h) { return xoff(x) + 8 * h; }

static bool has_imm(struct dc *s, int i)
{
	return i < s->insn.operand_count_visible && s->op[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE;
}

static unsigned imm8(struct dc *s, int i)
{
	return s->op[i].imm.value.u & 0xff;
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

/* Effective address of memory operand i.  A 16-byte operand of an
 * aligned form is checked first: misaligned raises #GP.  Returns 0 when the
 * instruction always faults (the exception is emitted and the lifter must
 * stop and return true). */
static ir_ref gen_ea_checked(struct dc *s, int i, bool aligned)
{
	ir_ref ea = gen_ea(s, &s->op[i]);
	if (!aligned || s->op[i].size != 128)
		return ea;
	if (ir_is_const(s->ir, ea)) {
		if (!(s->ir->temps[ea].val & 15))
			return ea;
		gen_exception(s, SIGSEGV, SI_KERNEL, 0);
		return 0;
	}
	ir_ref base = plain_base(s, &s->op[i]);
	uint64_t disp = s->op[i].mem.disp.has_displacement ? (uint64_t)s->op[i].mem.disp.value : 0;
	for (int k = 0; base && k < NFACTS; k++)
		if (fact_holds(s, &facts[k], base, disp))
			return ea;

	uint32_t ok = ir_new_label(s->ir);
	ir_brc(s, IR_TSTEQ, ea, cst(s, 15), ok);
	gen_exception(s, SIGSEGV, SI_KERNEL, 0);
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

/* Both halves of operand i (an XMM register or an m128).  false: the
 * instruction always faults (see gen_ea_checked). */
static bool gen_ld128(struct dc *s, int i, bool aligned, ir_ref v[2])
{
	int x = xmm_op(s, i);
	if (x >= 0) {
		v[0] = ir_ldenv(s, xq(x, 0), IR_MO_64);
		v[1] = ir_ldenv(s, xq(x, 1), IR_MO_64);
		return true;
	}
	ir_ref ea = gen_ea_checked(s, i, aligned);
	if (!ea)
		return false;
	v[0] = ir_ld(s, ea, IR_MO_64);
	v[1] = ir_ld(s, ir_bin(s, IR_add, ea, cst(s, 8)), IR_MO_64);
	return true;
}

static void gen_st_xmm(struct dc *s, int x, ir_ref lo, ir_ref hi)
{
	if (lo)
		ir_stenv(s, lo, xq(x, 0), IR_MO_64);
	if (hi)
		ir_stenv(s, hi, xq(x, 1), IR_MO_64);
}

/* The env offset of operand i as a helper's source: the XMM register, or
 * cpu->xtmp holding the memory operand loaded with its exact size (or a
 * GPR's value).  false: always faults. */
static bool gen_src_off(struct dc *s, int i, bool aligned, int32_t *off)
{
	int x = xmm_op(s, i);
	if (x >= 0) {
		*off = xoff(x);
		return true;
	}
	*off = XTMP;
	if (is_gpr(s, i)) {
		ir_stenv(s, gen_ld_op(s, i), XTMP, IR_MO_64);
		return true;
	}
	if (s->op[i].size == 128) {
		ir_ref v[2];
		if (!gen_ld128(s, i, aligned, v))
			return false;
		ir_stenv(s, v[0], XTMP, IR_MO_64);
		ir_stenv(s, v[1], XTMP + 8, IR_MO_64);
		return true;
	}
	int size = size_of_bits(s->op[i].size);
	ir_stenv(s, ir_ld(s, gen_ea(s, &s->op[i]), size), XTMP, size);
	return true;
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
	V(PADDB, add8), V(PADDW, add16), V(PADDD, add32),
	V(PSUBB, sub8), V(PSUBW, sub16), V(PSUBD, sub32),
	V(PADDUSB, addsat8u), V(PADDUSW, addsat16u), V(PSUBUSB, subsat8u), V(PSUBUSW, subsat16u),
	V(PADDSB, addsat8s), V(PADDSW, addsat16s), V(PSUBSB, subsat8s), V(PSUBSW, subsat16s),
	V(PMULLW, mullo16), V(PMULHW, mulhi16s), V(PMULHUW, mulhi16u), V(PMULUDQ, mul32x2u),
	V(PMADDWD, madd16s), V(PSADBW, sad8u), V(PAVGB, avg8u), V(PAVGW, avg16u),
	V(PMINUB, min8u), V(PMAXUB, max8u), V(PMINSW, min16s), V(PMAXSW, max16s),
	V(PCMPEQB, cmpeq8), V(PCMPEQW, cmpeq16), V(PCMPEQD, cmpeq32),
	V(PCMPGTB, cmpgt8s), V(PCMPGTW, cmpgt16s), V(PCMPGTD, cmpgt32s),
	V(PUNPCKLBW, unpacklo8), V(PUNPCKLWD, unpacklo16), V(PUNPCKLDQ, unpacklo32),
	V(PUNPCKHBW, unpackhi8), V(PUNPCKHWD, unpackhi16), V(PUNPCKHDQ, unpackhi32),
	V(PACKSSWB, packs16to8), V(PACKSSDW, packs32to16), V(PACKUSWB, packu16to8),
#undef V
};

/* FP operations the IR has (ir-fops.h): the backend runs the host
 * instruction inline under the guest's MXCSR.  Zero: none. */
static const uint8_t fop_of_sse[SSE_NB_OPS] = {
#define F4(OP, op) [SSE_##OP##PS] = IR_F_##op##ps + 1, [SSE_##OP##PD] = IR_F_##op##pd + 1, \
		   [SSE_##OP##SS] = IR_F_##op##ss + 1, [SSE_##OP##SD] = IR_F_##op##sd + 1
#define F(OP, op) [SSE_##OP] = IR_F_##op + 1
	F4(ADD, add), F4(SUB, sub), F4(MUL, mul), F4(DIV, div), F4(MIN, min), F4(MAX, max),
	F4(SQRT, sqrt),
	F(CVTSS2SD, cvtss2sd), F(CVTSD2SS, cvtsd2ss), F(CVTPS2PD, cvtps2pd), F(CVTPD2PS, cvtpd2ps),
	F(CVTDQ2PS, cvtdq2ps), F(CVTPS2DQ, cvtps2dq), F(CVTTPS2DQ, cvttps2dq),
	F(CVTDQ2PD, cvtdq2pd), F(CVTPD2DQ, cvtpd2dq), F(CVTTPD2DQ, cvttpd2dq),
	F(CMPPS, cmpps), F(CMPPD, cmppd), F(CMPSS, cmpss), F(CMPSD, cmpsd),
	F(ROUNDPS, roundps), F(ROUNDPD, roundpd), F(ROUNDSS, roundss), F(ROUNDSD, roundsd),
	F(CVTSI2SS_L, cvtsi2ss32), F(CVTSI2SS_Q, cvtsi2ss64),
	F(CVTSI2SD_L, cvtsi2sd32), F(CVTSI2SD_Q, cvtsi2sd64),
	F(COMISS, comiss), F(UCOMISS, ucomiss), F(COMISD, comisd), F(UCOMISD, ucomisd),
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
			ir_emit(s->ir, IR_vfop, IR_I64, NULL,
				(int64_t[]){ f, (int64_t)(IR_FOFFS(dst, dst, src) | pred << 48) });
			return 0;
		}
		enum ir_type t = sse_res32(op) ? IR_I32 : IR_I64;
		ir_ref r = ir_new_temp(s->ir, t);
		ir_emit(s->ir, IR_vfres, t, (ir_ref[]){ r }, (int64_t[]){ f, (int64_t)IR_FOFFS(dst, src, 0) });
		return r;
	}
	if (vop_of_sse[op]) {
		ir_emit(s->ir, IR_vop, IR_I64, NULL,
			(int64_t[]){ vop_of_sse[op] - 1, (int64_t)((uint64_t)(uint32_t)dst |
								   ((uint64_t)(uint32_t)src << 32)) });
		return 0;
	}
	if (sse_op_is_fp(op)) {
		gen_sync_pc(s, s->pc);	/* the pc of a SIGFPE */
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
	uint64_t imm = has_imm(s, 2) ? imm8(s, 2) : 0;
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

/* Register-to-register moves as vector ops: the backend keeps the value
 * in a host XMM register for the FP ops that follow (codegen.c). */
static void gen_vmov(struct dc *s, enum ir_vop v, int d, int x)
{
	ir_emit(s->ir, IR_vop, IR_I64, NULL,
		(int64_t[]){ v, (int64_t)((uint64_t)(uint32_t)xoff(d) | ((uint64_t)(uint32_t)xoff(x) << 32)) });
}

/* 128-bit moves between XMM registers and memory. */
static bool gen_mov128(struct dc *s, bool aligned)
{
	int d = xmm_op(s, 0), x = xmm_op(s, 1);
	ir_ref v[2];

	if (d >= 0 && x >= 0) {
		if (d != x)
			gen_vmov(s, IR_V_mov, d, x);
		return true;
	}
	if (d >= 0 && xmm_or_mem(s, 1)) {
		if (gen_ld128(s, 1, aligned, v))
			gen_st_xmm(s, d, v[0], v[1]);
		return true;
	}
	if (op_is_mem(s, 0) && x >= 0) {
		ir_ref ea = gen_ea_checked(s, 0, aligned);
		if (!ea)
			return true;
		v[0] = ir_ldenv(s, xq(x, 0), IR_MO_64);
		v[1] = ir_ldenv(s, xq(x, 1), IR_MO_64);
		gen_st_probe(s, ea, 16);
		ir_st(s, v[0], ea, IR_MO_64);
		ir_st(s, v[1], ir_bin(s, IR_add, ea, cst(s, 8)), IR_MO_64);
		return true;
	}
	return false;
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
	if (!op_is_mem(s, 0) || !is_gpr(s, 1))
		return false;
	gen_st_op(s, 0, gen_ld_op(s, 1));
	return true;
}

/* MOVD/MOVQ: to an XMM register the value is zero-extended to 128 bits;
 * from one, its low 32/64 bits go to a GPR or memory. */
static bool gen_movdq(struct dc *s, int size)
{
	int d = xmm_op(s, 0), x = xmm_op(s, 1);
	ir_ref v;

	if (d >= 0) {
		if (x >= 0)
			v = ir_ldenv(s, xq(x, 0), size);
		else if (is_gpr(s, 1) || op_is_mem(s, 1))
			v = gen_ld_op(s, 1);
		else
			return false;
		gen_st_xmm(s, d, v, cst(s, 0));
		return true;
	}
	if (x >= 0 && (is_gpr(s, 0) || op_is_mem(s, 0))) {
		gen_st_op(s, 0, ir_ldenv(s, xq(x, 0), size));
		return true;
	}
	return false;
}

static bool gen_MOVD(struct dc *s) { return gen_movdq(s, IR_MO_32); }
static bool gen_MOVQ(struct dc *s) { return gen_movdq(s, IR_MO_64); }

/* MOVSS/MOVSD: register to register merges the low element; a load zeroes
 * the rest of the register; a store writes the low element only. */
static bool gen_movs(struct dc *s, int size)
{
	int d = xmm_op(s, 0), x = xmm_op(s, 1);

	if (d >= 0 && x >= 0) {
		gen_vmov(s, size == IR_MO_32 ? IR_V_movlo32 : IR_V_movlo64, d, x);
		return true;
	}
	if (d >= 0 && op_is_mem(s, 1)) {
		ir_ref v = ir_ld(s, gen_ea(s, &s->op[1]), size);
		gen_st_xmm(s, d, v, cst(s, 0));
		return true;
	}
	if (op_is_mem(s, 0) && x >= 0) {
		ir_st(s, ir_ldenv(s, xq(x, 0), size), gen_ea(s, &s->op[0]), size);
		return true;
	}
	return false;
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
	int d = xmm_op(s, 0), x = xmm_op(s, 1);
	if (d >= 0 && op_is_mem(s, 1)) {
		ir_stenv(s, ir_ld(s, gen_ea(s, &s->op[1]), IR_MO_64), xq(d, half), IR_MO_64);
		return true;
	}
	if (op_is_mem(s, 0) && x >= 0) {
		ir_st(s, ir_ldenv(s, xq(x, half), IR_MO_64), gen_ea(s, &s->op[0]), IR_MO_64);
		return true;
	}
	return false;
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
	ir_stenv(s, ir_ldenv(s, xq(x, sh), IR_MO_64), xq(d, dh), IR_MO_64);
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
		v = ir_ldenv(s, xq(x, 0), IR_MO_64);
	else if (op_is_mem(s, 1))
		v = ir_ld(s, gen_ea(s, &s->op[1]), IR_MO_64);
	else
		return false;
	gen_st_xmm(s, d, v, v);
	return true;
}

/* ---- logic and 64-bit lanes, inline ---- */

/* dst = dst op src per half; andc computes ~dst & src (PANDN). */
static bool gen_logic(struct dc *s, enum ir_opc opc)
{
	int d = xmm_op(s, 0), x = xmm_op(s, 1);
	ir_ref a[2], b[2];

	if (d < 0 || !xmm_or_mem(s, 1))
		return false;
	if (d == x && (opc == IR_xor || opc == IR_andc || opc == IR_sub)) {
		/* the zeroing idioms: pxor x,x and friends */
		gen_st_xmm(s, d, cst(s, 0), cst(s, 0));
		return true;
	}
	if (d == x && (opc == IR_and || opc == IR_or))
		return true;
	if (!gen_ld128(s, 1, true, b))
		return true;
	a[0] = ir_ldenv(s, xq(d, 0), IR_MO_64);
	a[1] = ir_ldenv(s, xq(d, 1), IR_MO_64);
	for (int h = 0; h < 2; h++)
		a[h] = opc == IR_andc ? ir_bin(s, IR_andc, b[h], a[h]) : ir_bin(s, opc, a[h], b[h]);
	gen_st_xmm(s, d, a[0], a[1]);
	return true;
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
	int d = xmm_op(s, 0);
	if (d >= 0 && d == xmm_op(s, 1)) {
		gen_st_xmm(s, d, cst(s, ~0ull), cst(s, ~0ull));
		return true;
	}
	return gen_sse_auto(s, op, true);
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
	ir_ref lo = ir_ldenv(s, xq(d, dh), IR_MO_64);
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
	unsigned imm = imm8(s, 2);
	if (!gen_ld128(s, 1, true, b))
		return true;
	ir_ref lo = ir_ldenv(s, xq(d, imm & 1), IR_MO_64);
	gen_st_xmm(s, d, lo, b[(imm >> 1) & 1]);
	return true;
}

/* ---- shifts ---- */

/* Logical shift of each lane of a 64-bit half by n < lane bits. */
static ir_ref lane_shift(struct dc *s, ir_ref v, bool left, int lane, unsigned n)
{
	uint64_t lmask = lane == 64 ? ~0ull : (1ull << lane) - 1, m = 0;
	for (int i = 0; i < 64; i += lane)
		m |= (left ? (lmask << n) & lmask : lmask >> n) << i;
	v = ir_bin(s, left ? IR_shl : IR_shr, v, cst(s, n));
	return lane == 64 ? v : ir_bin(s, IR_and, v, cst(s, m));
}

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

	unsigned n = imm8(s, 1);
	if (kind != ARITH) {
		ir_ref v[2];
		for (int h = 0; h < 2; h++)
			v[h] = n >= (unsigned)lane ? cst(s, 0)
				: lane_shift(s, ir_ldenv(s, xq(d, h), IR_MO_64), kind == LEFT, lane, n);
		gen_st_xmm(s, d, v[0], v[1]);
		return true;
	}
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
	unsigned n = imm8(s, 1), b = 8 * n;
	if (n == 0)
		return true;
	if (n > 15) {
		gen_st_xmm(s, d, cst(s, 0), cst(s, 0));
		return true;
	}
	ir_ref lo = ir_ldenv(s, xq(d, 0), IR_MO_64), hi = ir_ldenv(s, xq(d, 1), IR_MO_64);
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

/* PINSRB/W/D/Q xmm, r32/r64/m, imm8: element (imm mod count) of size
 * `bits` replaced by the low bits of the source. */
static bool gen_pinsr(struct dc *s, int bits)
{
	int d = xmm_op(s, 0);
	if (d < 0 || !has_imm(s, 2) || !(is_gpr(s, 1) || op_is_mem(s, 1)))
		return false;
	unsigned idx = imm8(s, 2) & (128 / bits - 1), pos = idx * bits % 64, h = idx * bits / 64;
	ir_ref v = op_is_mem(s, 1) ? ir_ld(s, gen_ea(s, &s->op[1]), size_of_bits(bits))
				   : gen_ld_op(s, 1);
	ir_ref q = bits == 64 ? v : ir_dep(s, ir_ldenv(s, xq(d, h), IR_MO_64), v, pos, bits);
	ir_stenv(s, q, xq(d, h), IR_MO_64);
	return true;
}

static bool gen_PINSRW(struct dc *s) { return gen_pinsr(s, 16); }
static bool gen_PINSRB(struct dc *s) { return gen_pinsr(s, 8); }
static bool gen_PINSRD(struct dc *s) { return gen_pinsr(s, 32); }
static bool gen_PINSRQ(struct dc *s) { return gen_pinsr(s, 64); }

/* PEXTRB/W/D/Q, EXTRACTPS r/m, xmm, imm8: the element zero-extended into a
 * GPR, or stored with its own size. */
static bool gen_pextr(struct dc *s, int bits)
{
	int x = xmm_op(s, 1);
	if (x < 0 || !has_imm(s, 2))
		return false;
	unsigned idx = imm8(s, 2) & (128 / bits - 1), pos = idx * bits % 64, h = idx * bits / 64;
	ir_ref q = ir_ldenv(s, xq(x, h), IR_MO_64);
	ir_ref v = bits == 64 ? q : ir_extr(s, q, pos, bits, false);
	if (op_is_mem(s, 0))
		ir_st(s, v, gen_ea(s, &s->op[0]), size_of_bits(bits));
	else if (is_gpr(s, 0))
		gen_st_reg(s, reg_index(s->op[0].reg.value), op_size(s, 0), v);
	else
		return false;
	return true;
}

static bool gen_PEXTRW(struct dc *s) { return gen_pextr(s, 16); }
static bool gen_PEXTRB(struct dc *s) { return gen_pextr(s, 8); }
static bool gen_PEXTRD(struct dc *s) { return gen_pextr(s, 32); }
static bool gen_PEXTRQ(struct dc *s) { return gen_pextr(s, 64); }
static bool gen_EXTRACTPS(struct dc *s) { return gen_pextr(s, 32); }

/* Mask extraction into a GPR (32-bit write, zero-extended). */
static bool gen_movmsk(struct dc *s, int lane)
{
	int x = xmm_op(s, 1);
	if (x < 0 || !is_gpr(s, 0))
		return false;
	ir_ref q[2] = { ir_ldenv(s, xq(x, 0), IR_MO_64), ir_ldenv(s, xq(x, 1), IR_MO_64) };
	ir_ref m[2];
	for (int h = 0; h < 2; h++) {
		if (lane == 8) {
			/* the top bit of byte i moves to bit 56 + i: the eight
			 * shifted copies the multiply adds never overlap */
			ir_ref t = ir_bin(s, IR_and, q[h], cst(s, 0x8080808080808080ull));
			t = ir_bin(s, IR_mul, t, cst(s, 0x0002040810204081ull));
			m[h] = ir_bin(s, IR_shr, t, cst(s, 56));
		} else if (lane == 32) {
			ir_ref lo = ir_extr(s, q[h], 31, 1, false);
			ir_ref hi = ir_bin(s, IR_shl, ir_bin(s, IR_shr, q[h], cst(s, 63)), cst(s, 1));
			m[h] = ir_bin(s, IR_or, lo, hi);
		} else {
			m[h] = ir_bin(s, IR_shr, q[h], cst(s, 63));
		}
	}
	int per_half = 64 / lane;
	ir_ref r = ir_bin(s, IR_or, m[0], ir_bin(s, IR_shl, m[1], cst(s, per_half)));
	gen_st_reg(s, reg_index(s->op[0].reg.value), 2, r);
	return true;
}

static bool gen_PMOVMSKB(struct dc *s) { return gen_movmsk(s, 8); }
static bool gen_MOVMSKPS(struct dc *s) { return gen_movmsk(s, 32); }
static bool gen_MOVMSKPD(struct dc *s) { return gen_movmsk(s, 64); }

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
	if (d < 0 || !(is_gpr(s, 1) || op_is_mem(s, 1)))
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
	if (!is_gpr(s, 0) || !xmm_or_mem(s, 1))
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
	unsigned imm = imm8(s, 2);
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
	unsigned imm = imm8(s, 2);
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
	if (!sse_host_has(SSE_CRC32_B) || !is_gpr(s, 0) || !(is_gpr(s, 1) || op_is_mem(s, 1)))
		return false;
	int r = reg_index(s->op[0].reg.value);
	enum sse_op op = ops[size_of_bits(s->op[1].size)];
	gen_src_off(s, 1, false, &src);
	ir_ref crc = gen_sse_call(s, op, XTMP, src, gen_ld_reg(s, r, 2));
	gen_st_reg(s, r, 3, crc);
	return true;
}

static bool gen_MASKMOVDQU(struct dc *s)
{
	int x = xmm_op(s, 0), m = xmm_op(s, 1);
	if (x < 0 || m < 0 || s->insn.operand_count < 3 || !op_is_mem(s, 2))
		return false;
	gen_sync_pc(s, s->pc);	/* the pc of a fault in the helper */
	gen_helper(s, HELPER_sse_maskmov, 4, s->ir->env, cst(s, xoff(x)), cst(s, xoff(m)),
		   gen_ea(s, &s->op[2]));
	return true;
}

/* ---- MXCSR and fences ---- */

static bool gen_LDMXCSR(struct dc *s)
{
	if (!op_is_mem(s, 0))
		return false;
	ir_ref v = ir_ld(s, gen_ea(s, &s->op[0]), IR_MO_32);
	uint32_t ok = ir_new_label(s->ir);
	ir_brc(s, IR_TSTEQ, v, cst(s, ~(uint64_t)MXCSR_VALID & 0xffffffff), ok);
	gen_exception(s, SIGSEGV, SI_KERNEL, 0);
	set_label(s, ok);
	s->state = DISAS_NEXT;
	ir_stenv(s, v, CPU_OFF(mxcsr), IR_MO_32);
	ir_emit(s->ir, IR_vfop, IR_I64, NULL,
		(int64_t[]){ IR_F_ldmxcsr, (int64_t)IR_FOFFS(0, 0, CPU_OFF(mxcsr)) });
	return true;
}

static bool gen_STMXCSR(struct dc *s)
{
	if (!op_is_mem(s, 0))
		return false;
	ir_ref ea = gen_ea(s, &s->op[0]), v = ir_new_temp(s->ir, IR_I32);
	ir_emit(s->ir, IR_vfres, IR_I32, (ir_ref[]){ v },
		(int64_t[]){ IR_F_stmxcsr, (int64_t)IR_FOFFS(CPU_OFF(xtmp), CPU_OFF(mxcsr), 0) });
	ir_st(s, v, ea, IR_MO_32);
	return true;
}

static bool gen_fence(struct dc *s)
{
	ir_emit(s->ir, IR_mb, IR_I64, NULL, NULL);
	return true;
}

/* ---- conversions between MMX and XMM registers ----
 *
 * Each is the packed-dword conversion of SSE2 on two lanes: the operands are
 * staged in xtmp with zeros in the unused lanes (which convert exactly and
 * raise nothing), so rounding, MXCSR flags and SIGFPE are the helper's.  An
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
		v[0] = ir_ldenv(s, xq(xmm_op(s, 1), 0), IR_MO_64);
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
