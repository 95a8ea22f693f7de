/*
 * IR -> x86-64 host code: the per-op emitters, the TB's exits and the
 * prologue/epilogue, and host_gen_code's walk over a TB's ops.  The
 * register allocator is regalloc.c; the soft-MMU lowering of guest memory
 * ops is softmmu.c; what the three share is codegen-internal.h.  The
 * backend's configuration (host.h's host_set_*) is one struct cg_config
 * kept here, which every TB's context points at.
 *
 * Invariants the rest of loom relies on (with the allocator's, regalloc.c):
 *  - env lives in rbp for the whole TB; rsp points at a 16-byte aligned spill
 *    frame set up by the prologue;
 *  - a fault's guest pc comes from the insn_start table (IR_insn_start);
 *  - no IR value lives in an XMM register: vop/vfop/vfres run on xmm13-15
 *    loaded from env slots and store their result back at once; within a
 *    block those registers only cache slots (see gen_vfop).
 */
#include <assert.h>
#include <stdlib.h>
#include <ucontext.h>
#include <string.h>
#include <Zydis/Zydis.h>
#include "host/x86/codegen-internal.h"
#include "util/log.h"

static struct cg_config cg_config = {
	.all_regs = 0xffffu & ~((1u << H_RSP) | (1u << H_RBP)),
};

void host_set_softmmu(const struct host_softmmu_layout *l)
{
	cg_config.softmmu_on = l != NULL;
	if (l)
		cg_config.softmmu = *l;
}

static bool host_bmi2;	/* what the host has (detect_host_features) */

void host_use_bmi2(bool on)
{
	cg_config.host_has_bmi2 = on && host_bmi2;
}

void host_set_jc_layout(const struct host_jc_layout *l)
{
	cg_config.jc = *l;
}

void host_set_tool_fp_layout(const struct host_tool_fp_layout *l)
{
	cg_config.tfp = *l;
}

static const int8_t call_arg_regs[] = { H_RDI, H_RSI, H_RDX, H_RCX, H_R8, H_R9 };

/* The host condition code of each IR condition after cmp a, b (test a, b
 * for the TST pair); ALWAYS and NEVER never reach the emitter. */
static const uint8_t host_cc_of[IR_COND_NB] = {
	[IR_EQ] = CC_E, [IR_NE] = CC_NE, [IR_LT] = CC_L, [IR_GE] = CC_GE,
	[IR_LE] = CC_LE, [IR_GT] = CC_G, [IR_LTU] = CC_B, [IR_GEU] = CC_AE,
	[IR_LEU] = CC_BE, [IR_GTU] = CC_A, [IR_TSTEQ] = CC_E, [IR_TSTNE] = CC_NE,
};

/* ---- per-op emitters ---- */

/* Whether the ops after the current one write global g before any of them
 * reads it or may read env (a block end, a call that reads or writes
 * globals), looking a few dozen ops ahead; a brcond is looked past (its
 * taken side stores what it needs: gen_brcond), and with past_faults, so
 * is an op that may fault (its fault point or slow path records where g
 * is). */
static bool op_reads(const struct ir_op *op, ir_ref g)
{
	for (int j = op->nout; j < op->nout + op->nin; j++)
		if (op->args[j] == g)
			return true;
	return false;
}

static bool op_writes(const struct ir_op *op, ir_ref g)
{
	for (int k = 0; k < op->nout; k++)
		if (op->args[k] == g)
			return true;
	return false;
}

bool cg_rewritten_soon(struct cg *c, ir_ref g, bool past_faults)
{
	const struct ir_ctx *s = c->s;
	uint32_t end = c->op_i + 48 < s->nops ? c->op_i + 48 : s->nops;
	/* (the op being generated may fault itself, after its registers are
	 * chosen) */
	if (!past_faults && (ir_opdefs[s->ops[c->op_i].opc].flags & IR_OPF_MAY_FAULT ||
			     s->ops[c->op_i].opc == IR_call))
		return false;
	for (uint32_t i = c->op_i + 1; i < end; i++) {
		const struct ir_op *op = &s->ops[i];
		unsigned fl = ir_opdefs[op->opc].flags;
		if (op->opc == IR_brcond && past_faults)
			;
		else if (fl & (IR_OPF_BB_END | IR_OPF_TB_END) || op->opc == IR_goto_tb)
			return false;
		if ((fl & IR_OPF_MAY_FAULT) && !past_faults)
			return false;
		if (op->opc == IR_call && (op->cargs[1] & IR_CALL_NO_GLOBALS) != IR_CALL_NO_GLOBALS)
			return false;
		if (op_reads(op, g))
			return false;
		if (op_writes(op, g))
			return true;
	}
	return false;
}

/* Whether an op after the current one reads global g before anything
 * writes it, within a few dozen ops and up to the next label or block end
 * (past brconds): then a load of g is better kept in a register of g's
 * own. */
bool cg_read_soon(struct cg *c, ir_ref g)
{
	const struct ir_ctx *s = c->s;
	uint32_t end = c->op_i + 32 < s->nops ? c->op_i + 32 : s->nops;
	for (uint32_t i = c->op_i + 1; i < end; i++) {
		const struct ir_op *op = &s->ops[i];
		if (op_reads(op, g))
			return true;
		if (op_writes(op, g))
			return false;
		/* (a brcond's fall-through keeps the registers) */
		if ((ir_opdefs[op->opc].flags & (IR_OPF_BB_END | IR_OPF_TB_END) &&
		     op->opc != IR_brcond) || op->opc == IR_goto_tb)
			return false;
	}
	return false;
}

static void gen_mov(struct cg *c, struct ir_op *op)
{
	ir_ref d = op->args[0], a = op->args[1];
	struct ra_temp *rd = &c->t[d];

	if (is_const(c, a) && is_global(c, d) && fits_imm(c, a, IR_I64) &&
	    (w64(op) || (uint32_t)cval(c, a) == cval(c, a))) {
		if (d - 2 < 64) {
			ra_set_kconst(c, d, cval(c, a));	/* stored later, if at all */
			return;
		}
		if (rd->reg != H_NONE)
			ra_free_reg(c, rd->reg);
		emit_store_imm(&c->e, 3, cval(c, a), ENV_REG, T(c, d)->env_off);
		rd->in_mem = 1;
		return;
	}
	/* Hand the register over when the source dies here. */
	if (T(c, a)->kind == IR_TEMP_LOCAL && dead_arg(op, 1) && c->t[a].reg != H_NONE &&
	    (w64(op) || T(c, a)->type == IR_I32)) {
		ra_hand_over(c, a, d);
		return;
	}
	if (d == a && w64(op))
		return;		/* mov_i32 d,d still zero-extends */
	/* A global taking the value of a temp that lives on: written home
	 * now (later reads of the global were redirected to the temp by copy
	 * propagation), or, if the guest writes it again before anything may
	 * read env, an alias of the temp's register, which then needs no
	 * store at all (the flags' cc_dst of one instruction after another). */
	if (is_global(c, d) && w64(op) && (T(c, a)->kind == IR_TEMP_LOCAL || is_global(c, a)) &&
	    c->t[a].reg != H_NONE && c->reg_temp[c->t[a].reg] == a) {
		if (d - 2 < 64 && cg_rewritten_soon(c, d, true)) {
			ra_alias(c, d, c->t[a].reg);
			return;
		}
		ra_store_global(c, d, c->t[a].reg);
		return;
	}
	/* d's register is rewritten below: globals aliased to it keep it */
	if (rd->reg != H_NONE && c->alias[rd->reg])
		ra_free_reg(c, rd->reg);
	int reg;
	if (is_const(c, a)) {
		reg = rd->reg != H_NONE ? rd->reg : ra_alloc_reg(c, ALL_REGS);
		emit_movi(&c->e, reg, w64(op) ? cval(c, a) : (uint32_t)cval(c, a));
	} else {
		int ra = ra_load_temp(c, a, ALL_REGS);
		ra_lock(c, ra);
		reg = rd->reg != H_NONE && rd->reg != ra ? rd->reg : ra_alloc_reg(c, ALL_REGS);
		emit_mov_rr(&c->e, w64(op), reg, ra);
	}
	ra_free_dead(c, op);	/* before binding d: the input that dies may be d */
	ra_set_output(c, d, reg);
}

static bool commutative(int opc)
{
	return opc == IR_add || opc == IR_mul || opc == IR_and || opc == IR_or || opc == IR_xor;
}

/* lea disp(base, index << shift) (index 0: none) into a new register,
 * returned; base and index stay where they are. */
static int lea_into_new(struct cg *c, bool w, ir_ref base, ir_ref index, int shift, int32_t disp)
{
	int rb = ra_load_temp(c, base, ALL_REGS);
	ra_lock(c, rb);
	int ri = H_NONE;
	if (index) {
		ri = ra_load_temp(c, index, ALL_REGS & ~(1u << H_RSP));
		ra_lock(c, ri);
	}
	int rd = ra_alloc_reg(c, ALL_REGS);
	emit_lea(&c->e, w, rd, rb, ri, shift, disp);
	return rd;
}

/* d = a + b or a - imm into a register of d's own, a left where it is. */
static void gen_lea_add(struct cg *c, struct ir_op *op, ir_ref a, ir_ref b)
{
	int rd;
	if (fits_imm(c, b, op->type)) {
		int32_t disp = (int32_t)cval(c, b);
		rd = lea_into_new(c, w64(op), a, 0, 0, op->opc == IR_sub ? -disp : disp);
	} else {
		rd = lea_into_new(c, w64(op), a, b, 0, 0);
	}
	ra_free_dead(c, op);
	ra_set_output(c, op->args[0], rd);
}

/* The guest's addresses, as the frontend builds them: shl t,x,$k (k 1..3)
 * then add d,t,y (a scaled index), or add t,a,b then add d,t,$imm (base,
 * index and displacement), t dying in the add: one lea.  Returns how many
 * ops after op it took (0: none, op is left to gen_op). */
static uint32_t fuse_lea(struct cg *c, struct ir_op *op, uint32_t avail)
{
	struct ir_op *n1 = op + 1;
	ir_ref t = op->args[0];
	if (!avail || c->tool_region || op->type != IR_I64 || n1->opc != IR_add ||
	    n1->type != IR_I64 || T(c, t)->kind != IR_TEMP_LOCAL)
		return 0;
	int tj = n1->args[1] == t ? 1 : n1->args[2] == t ? 2 : 0;
	if (!tj || n1->args[3 - tj] == t || !dead_arg(n1, tj))
		return 0;
	ir_ref other = n1->args[3 - tj], base, index;
	int shift = 0;
	int32_t disp = 0;
	if (op->opc == IR_shl) {
		if (!is_const(c, op->args[2]) || (cval(c, op->args[2]) & 63) < 1 ||
		    (cval(c, op->args[2]) & 63) > 3 || is_const(c, op->args[1]) || is_const(c, other))
			return 0;
		index = op->args[1];
		base = other;
		shift = cval(c, op->args[2]) & 63;
	} else if (op->opc == IR_add) {
		if (is_const(c, op->args[1]) || is_const(c, op->args[2]) ||
		    !fits_imm(c, other, IR_I64))
			return 0;
		base = op->args[1];
		index = op->args[2];
		disp = cval(c, other);
	} else {
		return 0;
	}
	/* and a displacement after a scaled index: add d2,d,$imm, d dying */
	uint32_t took = 1;
	struct ir_op *last = n1;
	struct ir_op *n2 = n1 + 1;
	if (shift && avail >= 2 && n2->opc == IR_add && n2->type == IR_I64 &&
	    n2->args[1] == n1->args[0] && dead_arg(n2, 1) && fits_imm(c, n2->args[2], IR_I64) &&
	    T(c, n1->args[0])->kind == IR_TEMP_LOCAL) {
		disp = cval(c, n2->args[2]);
		took = 2;
		last = n2;
	}
	int rd = lea_into_new(c, true, base, index, shift, disp);
	ra_free_dead(c, op);
	ra_free_dead(c, n1);
	if (took == 2)
		ra_free_dead(c, n2);
	ra_set_output(c, last->args[0], rd);
	if (dead_arg(last, 0))
		ra_free_reg(c, rd);
	return took;
}

static void gen_binop(struct cg *c, struct ir_op *op)
{
	static const int8_t arith[IR_NB_OPS] = {
		[IR_add] = ARITH_ADD, [IR_sub] = ARITH_SUB, [IR_and] = ARITH_AND,
		[IR_or] = ARITH_OR, [IR_xor] = ARITH_XOR,
	};
	ir_ref d = op->args[0], a = op->args[1], b = op->args[2];
	bool adead = dead_arg(op, 1), bdead = dead_arg(op, 2);
	bool w = w64(op);

	/* Prefer overwriting the input that dies, and keep constants on the right. */
	if (commutative(op->opc) && (is_const(c, a) ||
	    (!adead && bdead && a != d && T(c, b)->kind == IR_TEMP_LOCAL) || b == d)) {
		ir_ref t = a; a = b; b = t;
		bool tb = adead; adead = bdead; bdead = tb;
	}
	/* d = a + b (or a - imm) where a lives on (or dies in a register
	 * globals are aliased to): one lea into a register of d's own, instead
	 * of a copy of a and the add (IR adds set no flags anyone reads:
	 * compares are emitted by the ops that need them). */
	if ((op->opc == IR_add || (op->opc == IR_sub && fits_imm(c, b, op->type) &&
				   (int32_t)cval(c, b) != INT32_MIN)) &&
	    !is_const(c, a) && a != d && b != d &&
	    !(adead && T(c, a)->kind == IR_TEMP_LOCAL && c->t[a].reg != H_NONE &&
	      !c->alias[c->t[a].reg])) {
		gen_lea_add(c, op, a, b);
		return;
	}
	int rb = -1;
	/* a global only in env, not read again soon: the operand in memory */
	bool bmem = op->opc != IR_mul && op->opc != IR_andc && b != a && b != d &&
		    only_in_env(c, b) && !cg_read_soon(c, b);
	if (!bmem && (!fits_imm(c, b, op->type) || op->opc == IR_andc)) {
		rb = ra_load_temp(c, b, ALL_REGS);
		ra_lock(c, rb);
	}
	if (op->opc == IR_andc) {
		/* d = a & ~b: build ~b in the destination, then and a in. */
		int rd = ra_dest_from(c, b, bdead, d, ALL_REGS);
		ra_lock(c, rd);
		emit_unary(&c->e, EXT3_NOT, w, rd);
		if (fits_imm(c, a, op->type)) {
			emit_arith_ri(&c->e, ARITH_AND, w, rd, cval(c, a));
		} else {
			int ra = ra_load_temp(c, a, ALL_REGS);
			emit_arith_rr(&c->e, ARITH_AND, w, rd, ra);
		}
		ra_free_dead(c, op);
		ra_set_output(c, d, rd);
		return;
	}
	/* rb is locked, so dest_from never hands it out (a == b shares it
	 * only when dest_from copied a into a fresh register). */
	int rd = ra_dest_from(c, a, adead, d, ALL_REGS);
	assert(rd != rb || a == b);
	if (op->opc == IR_mul) {
		if (rb < 0)
			emit_imul_rri(&c->e, w, rd, rd, cval(c, b));
		else
			emit_imul_rr(&c->e, w, rd, rb);
	} else if (bmem) {
		emit_modrm_offset(&c->e, (OPC_ARITH_GvEv + (arith[op->opc] << 3)) | (w ? P_REXW : 0),
				  rd, ENV_REG, T(c, b)->env_off);
	} else if (rb < 0) {
		emit_arith_ri(&c->e, arith[op->opc], w, rd, cval(c, b));
	} else {
		emit_arith_rr(&c->e, arith[op->opc], w, rd, rb);
	}
	ra_free_dead(c, op);
	ra_set_output(c, d, rd);
}

static void gen_unop(struct cg *c, struct ir_op *op)
{
	ir_ref d = op->args[0], a = op->args[1];
	bool w = w64(op);
	int rd = ra_dest_from(c, a, dead_arg(op, 1), d, ALL_REGS);

	switch (op->opc) {
	case IR_neg: emit_unary(&c->e, EXT3_NEG, w, rd); break;
	case IR_not: emit_unary(&c->e, EXT3_NOT, w, rd); break;
	case IR_bswap64: emit_bswap(&c->e, true, rd); break;
	case IR_bswap32: emit_bswap(&c->e, false, rd); break;
	case IR_bswap16:
		emit_bswap(&c->e, false, rd);
		emit_shift_ri(&c->e, SHIFT_SHR, false, rd, 16);
		break;
	default: abort();
	}
	ra_free_dead(c, op);
	ra_set_output(c, d, rd);
}

static void gen_ext(struct cg *c, struct ir_op *op)
{
	static const struct { int8_t size; bool sign; } ext[IR_NB_OPS] = {
		[IR_ext8s] = { 0, true }, [IR_ext8u] = { 0, false },
		[IR_ext16s] = { 1, true }, [IR_ext16u] = { 1, false },
		[IR_ext32s] = { 2, true }, [IR_ext32u] = { 2, false },
	};
	ir_ref d = op->args[0], a = op->args[1];
	int size = ext[op->opc].size;
	bool sign = ext[op->opc].sign;
	int ra;

	/* a global only in env, not read again soon: loaded extended */
	if (only_in_env(c, a) && (!sign || op->type == IR_I64) && !cg_read_soon(c, a)) {
		int rd = ra_alloc_reg(c, ALL_REGS);
		emit_load(&c->e, size, sign, rd, ENV_REG, T(c, a)->env_off);
		ra_free_dead(c, op);
		ra_set_output(c, d, rd);
		return;
	}
	if (is_const(c, a)) {
		ra = ra_alloc_reg(c, ALL_REGS);
		emit_movi(&c->e, ra, cval(c, a));
		ra_set_reg(c, a, ra);
	} else {
		ra = ra_load_temp(c, a, ALL_REGS);
	}
	ra_lock(c, ra);
	int rd = (dead_arg(op, 1) && T(c, a)->kind == IR_TEMP_LOCAL && ra_may_clobber(c, ra)) ||
		 is_const(c, a) ? ra : ra_alloc_reg(c, ALL_REGS);
	if (sign && op->type == IR_I32) {
		/* sign-extend within 32 bits; the 32-bit write zero-extends */
		if (size == 2)
			emit_mov_rr(&c->e, false, rd, ra);
		else
			emit_modrm(&c->e, size ? OPC_MOVSWL : (OPC_MOVSBL | P_REXB_RM), rd, ra);
	} else {
		emit_ext(&c->e, size, sign, rd, ra);
	}
	if (is_const(c, a))
		ra_free_reg(c, ra);
	ra_free_dead(c, op);
	ra_set_output(c, d, rd);
}

static void gen_shift(struct cg *c, struct ir_op *op)
{
	static const int8_t kind[IR_NB_OPS] = {
		[IR_shl] = SHIFT_SHL, [IR_shr] = SHIFT_SHR, [IR_sar] = SHIFT_SAR,
		[IR_rotl] = SHIFT_ROL, [IR_rotr] = SHIFT_ROR,
	};
	ir_ref d = op->args[0], a = op->args[1], b = op->args[2];
	bool w = w64(op);
	int width = w ? 64 : 32;

	if (is_const(c, b)) {
		int rd = ra_dest_from(c, a, dead_arg(op, 1), d, ALL_REGS);
		int n = cval(c, b) & (width - 1);
		if (n)
			emit_shift_ri(&c->e, kind[op->opc], w, rd, n);
		ra_free_dead(c, op);
		ra_set_output(c, d, rd);
		return;
	}
	if (c->cfg->host_has_bmi2 && (op->opc == IR_shl || op->opc == IR_shr || op->opc == IR_sar)) {
		/* shlx/shrx/sarx: the count in any register, the source kept */
		static const int opx[IR_NB_OPS] = {
			[IR_shl] = OPC_SHLX, [IR_shr] = OPC_SHRX, [IR_sar] = OPC_SARX,
		};
		int rb = ra_load_temp(c, b, ALL_REGS);
		ra_lock(c, rb);
		int ra = ra_load_temp(c, a, ALL_REGS);
		ra_lock(c, ra);
		int rd = dead_arg(op, 1) && T(c, a)->kind == IR_TEMP_LOCAL && ra_may_clobber(c, ra) ?
			 ra : ra_alloc_reg(c, ALL_REGS);
		emit_vex_rr(&c->e, opx[op->opc] | (w ? P_REXW : 0), rd, rb, ra);
		ra_free_dead(c, op);
		ra_set_output(c, d, rd);
		return;
	}
	ra_lock(c, H_RCX);
	ra_evict(c, H_RCX);
	/* rcx is scratch for this op only: copy the count in, own nothing */
	ra_copy_to_reg(c, b, H_RCX);
	int rd = ra_dest_from(c, a, dead_arg(op, 1), d, ALL_REGS & ~(1u << H_RCX));
	emit_shift_cl(&c->e, kind[op->opc], w, rd);
	ra_free_dead(c, op);
	ra_set_output(c, d, rd);
}

static void gen_mul2(struct cg *c, struct ir_op *op)
{
	ir_ref lo = op->args[0], hi = op->args[1], a = op->args[2], b = op->args[3];
	bool w = w64(op);

	/* Lock both first: evicting one must not move a value into the other. */
	ra_lock(c, H_RAX);
	ra_lock(c, H_RDX);
	ra_evict(c, H_RAX);
	ra_evict(c, H_RDX);
	int rb = ra_load_temp(c, b, ALL_REGS & ~((1u << H_RAX) | (1u << H_RDX)));
	ra_lock(c, rb);
	ra_copy_to_reg(c, a, H_RAX);
	emit_unary(&c->e, op->opc == IR_mulu2 ? EXT3_MUL : EXT3_IMUL, w, rb);
	ra_free_dead(c, op);
	ra_set_output(c, lo, H_RAX);
	ra_set_output(c, hi, H_RDX);
}

/*
 * An op whose host instruction may fault (a guest access, a divide, an SSE
 * op under the guest's MXCSR).  Whole-system mode writes the dirty globals
 * back before the op, as it always has (fault_sync); user mode notes where
 * they are right before the instruction, once the op's registers are
 * allocated (fault_here: regalloc.c's ra_fault_point), and a fault there
 * puts them in env from the signal's registers (faultmap.c).
 */
static void fault_sync(struct cg *c)
{
	if (c->cfg->softmmu_on)
		ra_sync_globals(c);
}

static void fault_here(struct cg *c)
{
	if (!c->cfg->softmmu_on)
		ra_fault_point(c);
}

/* The host's div/idiv: hi:lo in rdx:rax, the quotient to rax and the
 * remainder to rdx.  Its divide error (a zero divisor, a quotient too
 * wide) comes before it writes anything, and exec_host_fault maps the
 * SIGFPE to the guest pc. */
static void gen_div2(struct cg *c, struct ir_op *op)
{
	ir_ref q = op->args[0], r = op->args[1], hi = op->args[2], lo = op->args[3], d = op->args[4];
	bool w = w64(op);

	fault_sync(c);
	ra_lock(c, H_RAX);
	ra_lock(c, H_RDX);
	ra_evict(c, H_RAX);
	ra_evict(c, H_RDX);
	int rd = ra_load_temp(c, d, ALL_REGS & ~((1u << H_RAX) | (1u << H_RDX)));
	ra_lock(c, rd);
	ra_copy_to_reg(c, lo, H_RAX);
	ra_copy_to_reg(c, hi, H_RDX);
	fault_here(c);
	emit_unary(&c->e, op->opc == IR_divu2 ? EXT3_DIV : EXT3_IDIV, w, rd);
	ra_free_dead(c, op);
	ra_set_output(c, q, H_RAX);
	ra_set_output(c, r, H_RDX);
}

/* Emit a compare of a and b setting host flags for cond; returns the host cc. */
static int gen_compare(struct cg *c, enum ir_cond cond, ir_ref a, ir_ref b, bool w)
{
	if (is_const(c, a) && !is_const(c, b)) {
		ir_ref t = a; a = b; b = t;
		cond = ir_cond_swap(cond);
	}
	int ra = ra_load_temp(c, a, ALL_REGS);
	ra_lock(c, ra);
	if (cond == IR_ALWAYS || cond == IR_NEVER) {
		emit_arith_rr(&c->e, ARITH_CMP, w, ra, ra);
		return cond == IR_ALWAYS ? CC_E : CC_NE;
	}
	bool tst = cond == IR_TSTEQ || cond == IR_TSTNE;
	if (tst && is_const(c, b) && (cval(c, b) == 0xff || cval(c, b) == 0xffff ||
				      cval(c, b) == 0xffffffff)) {
		/* the low byte, word or dword against itself */
		if (cval(c, b) == 0xff)
			emit_modrm(&c->e, 0x84 | P_REXB_R | P_REXB_RM, ra, ra);
		else
			emit_modrm(&c->e, OPC_TESTL | (cval(c, b) == 0xffff ? P_DATA16 : 0), ra, ra);
		return host_cc_of[cond];
	}
	if (is_const(c, b) && fits_imm(c, b, w ? IR_I64 : IR_I32)) {
		if (tst)
			emit_test_ri(&c->e, w, ra, cval(c, b));
		else if (cval(c, b) == 0 && (cond == IR_EQ || cond == IR_NE))
			emit_test_rr(&c->e, w, ra, ra);
		else
			emit_arith_ri(&c->e, ARITH_CMP, w, ra, cval(c, b));
	} else {
		int rb = ra_load_temp(c, b, ALL_REGS);
		ra_lock(c, rb);
		if (tst)
			emit_test_rr(&c->e, w, ra, rb);
		else
			emit_arith_rr(&c->e, ARITH_CMP, w, ra, rb);
	}
	return host_cc_of[cond];
}

static void gen_setcond(struct cg *c, struct ir_op *op)
{
	ir_ref d = op->args[0];
	enum ir_cond cond = op->cargs[0];
	/* Compute the destination first: movi of zero would clobber flags. */
	int rd = ra_alloc_reg(c, ALL_REGS);
	ra_lock(c, rd);
	int cc = gen_compare(c, cond, op->args[1], op->args[2], w64(op));
	emit_setcc(&c->e, cc, rd);
	emit_ext(&c->e, 0, false, rd, rd);
	ra_free_dead(c, op);
	ra_set_output(c, d, rd);
}

static void gen_movcond(struct cg *c, struct ir_op *op)
{
	ir_ref d = op->args[0], a = op->args[1], b = op->args[2];
	ir_ref tv = op->args[3], fv = op->args[4];
	bool w = w64(op);

	int rt = ra_load_temp(c, tv, ALL_REGS);
	ra_lock(c, rt);
	/* Load the compared values before dest_from: it may take d's
	 * register, and a or b may be d. */
	if (!is_const(c, a))
		ra_lock(c, ra_load_temp(c, a, ALL_REGS));
	if (!is_const(c, b))
		ra_lock(c, ra_load_temp(c, b, ALL_REGS));
	int rd = ra_dest_from(c, fv, dead_arg(op, 4), d, ALL_REGS);
	ra_lock(c, rd);
	int cc = gen_compare(c, op->cargs[0], a, b, w);
	emit_cmov(&c->e, cc, w, rd, rt);
	ra_free_dead(c, op);
	ra_set_output(c, d, rd);
}

static void gen_bitfield(struct cg *c, struct ir_op *op)
{
	ir_ref d = op->args[0], a = op->args[1];
	bool w = w64(op);
	int width = w ? 64 : 32;
	int pos = op->cargs[0], len = op->cargs[1];

	if (op->opc == IR_deposit) {
		ir_ref b = op->args[2];
		int rb = ra_load_temp(c, b, ALL_REGS);
		ra_lock(c, rb);
		int rd = ra_dest_from(c, a, dead_arg(op, 1), d, ALL_REGS);
		ra_lock(c, rd);
		if (pos == 0 && (len == 8 || len == 16)) {
			emit_modrm(&c->e, len == 8 ? (OPC_MOVB_EvGv | P_REXB_R | P_REXB_RM)
					  : (OPC_MOVL_EvGv | P_DATA16), rb, rd);
			if (!w)
				emit_mov_rr(&c->e, false, rd, rd);	/* i32: clear bits 32-63 */
		} else {
			int rt = ra_alloc_reg(c, ALL_REGS);
			uint64_t mask = (len == 64 ? ~0ull : ((1ull << len) - 1)) << pos;
			emit_mov_rr(&c->e, true, rt, rb);
			if (pos + len < 64) {
				emit_shift_ri(&c->e, SHIFT_SHL, true, rt, 64 - len);
				emit_shift_ri(&c->e, SHIFT_SHR, true, rt, 64 - len - pos);
			} else if (pos) {
				emit_shift_ri(&c->e, SHIFT_SHL, true, rt, pos);
			}
			if ((int64_t)~mask == (int32_t)~mask) {
				emit_arith_ri(&c->e, ARITH_AND, true, rd, (int32_t)~mask);
			} else {
				ra_lock(c, rt);
				int rm = ra_alloc_reg(c, ALL_REGS);
				emit_movi(&c->e, rm, ~mask);
				emit_arith_rr(&c->e, ARITH_AND, true, rd, rm);
			}
			emit_arith_rr(&c->e, ARITH_OR, true, rd, rt);
			if (!w)
				emit_mov_rr(&c->e, false, rd, rd);
		}
		ra_free_dead(c, op);
		ra_set_output(c, d, rd);
		return;
	}
	int rd = ra_dest_from(c, a, dead_arg(op, 1), d, ALL_REGS);
	if (op->opc == IR_extract) {
		if (pos)
			emit_shift_ri(&c->e, SHIFT_SHR, w, rd, pos);
		if (len == 8 || len == 16)
			emit_ext(&c->e, len == 8 ? 0 : 1, false, rd, rd);
		else if (len == 32)
			emit_mov_rr(&c->e, false, rd, rd);
		else if (len < width) {
			emit_shift_ri(&c->e, SHIFT_SHL, w, rd, width - len);
			emit_shift_ri(&c->e, SHIFT_SHR, w, rd, width - len);
		}
	} else {
		if (width - pos - len)
			emit_shift_ri(&c->e, SHIFT_SHL, w, rd, width - pos - len);
		if (width - len)
			emit_shift_ri(&c->e, SHIFT_SAR, w, rd, width - len);
		else if (!w)
			emit_mov_rr(&c->e, false, rd, rd);	/* [0,32] of an i32: zero-extend */
	}
	ra_free_dead(c, op);
	ra_set_output(c, d, rd);
}

static void gen_count(struct cg *c, struct ir_op *op)
{
	ir_ref d = op->args[0], a = op->args[1];
	bool w = w64(op);
	int width = w ? 64 : 32;
	int rw = w ? P_REXW : 0;

	int ra = ra_load_temp(c, a, ALL_REGS);
	ra_lock(c, ra);
	if (op->opc == IR_ctpop) {
		int rd = ra_alloc_reg(c, ALL_REGS);
		if (!c->cfg->host_has_popcnt)
			internal_error("host CPU lacks popcnt");
		emit_modrm(&c->e, OPC_POPCNT | rw, rd, ra);
		ra_free_dead(c, op);
		ra_set_output(c, d, rd);
		return;
	}
	ir_ref b = op->args[2];
	bool clz = op->opc == IR_clz;
	bool fast = clz ? c->cfg->host_has_lzcnt : c->cfg->host_has_bmi1;
	int rd;
	if (fast && is_const(c, b) && cval(c, b) == (uint64_t)width) {
		rd = ra_alloc_reg(c, ALL_REGS);
		emit_modrm(&c->e, (clz ? OPC_LZCNT : OPC_TZCNT) | rw, rd, ra);
	} else {
		/* bsr/bsf leave ZF set for a zero input; then take b */
		rd = ra_dest_from(c, b, dead_arg(op, 2), d, ALL_REGS);
		ra_lock(c, rd);
		int rt = ra_alloc_reg(c, ALL_REGS);
		emit_modrm(&c->e, (clz ? OPC_BSR : OPC_BSF) | rw, rt, ra);
		if (clz)
			emit_arith_ri(&c->e, ARITH_XOR, w, rt, width - 1);
		/* xor changed ZF: re-test the input */
		emit_test_rr(&c->e, w, ra, ra);
		emit_cmov(&c->e, CC_NE, w, rd, rt);
	}
	ra_free_dead(c, op);
	ra_set_output(c, d, rd);
}

/* A load whose value only feeds the call right after it (a callback's
 * vCPU index): the argument register if free, so the call neither spills
 * nor moves it (gen_call). */
static uint32_t call_arg_hint(struct cg *c, const struct ir_op *op)
{
	const struct ir_op *next = op + 1;
	if (next >= c->s->ops + c->s->nops || next->opc != IR_call || T(c, op->args[0])->kind != IR_TEMP_LOCAL)
		return ALL_REGS;
	for (int k = 0; k < next->nin && k < (int)sizeof(call_arg_regs); k++) {
		int a = next->nout + k, reg = call_arg_regs[k];
		if (next->args[a] == op->args[0] && (next->dead & (1 << a)) && !c->reg_temp[reg] &&
		    !(c->locked & (1u << reg)))
			return 1u << reg;
	}
	return ALL_REGS;
}

/* Load op's [off, memop] from base + off into a new register. */
static int emit_ld_at(struct cg *c, struct ir_op *op, int base)
{
	int memop = op->cargs[1];
	int rd = ra_alloc_reg(c, call_arg_hint(c, op));
	int size = memop & IR_MO_SIZE;
	bool sign = memop & IR_MO_SIGN;
	if (sign && op->type == IR_I32 && size < 2)
		emit_modrm_offset(&c->e, size ? OPC_MOVSWL : OPC_MOVSBL, rd, base, op->cargs[0]);
	else
		emit_load(&c->e, size, sign && !(op->type == IR_I32 && size == 2), rd, base,
			  op->cargs[0]);
	return rd;
}

static void gen_ld_env(struct cg *c, struct ir_op *op)
{
	ra_set_output(c, op->args[0], emit_ld_at(c, op, ENV_REG));
}

/* A store of v at [base + index << shift + disp] (index H_NONE: none); a
 * guest store (`guest`) is a fault point (fault_here). */
static void store_to(struct cg *c, ir_ref v, int base, int index, int shift, int32_t disp, int size,
		     bool guest)
{
	if (is_const(c, v) && (size < 3 || fits_imm(c, v, IR_I64))) {
		if (guest)
			fault_here(c);
		emit_store_imm_idx(&c->e, size, cval(c, v), base, index, shift, disp);
	} else {
		int rv = ra_load_temp(c, v, ALL_REGS);
		if (guest)
			fault_here(c);
		emit_store_idx(&c->e, size, rv, base, index, shift, disp);
	}
}

static void gen_st_env(struct cg *c, struct ir_op *op)
{
	store_to(c, op->args[0], ENV_REG, H_NONE, 0, op->cargs[0], op->cargs[1] & IR_MO_SIZE, false);
	ra_free_dead(c, op);
}

/* An absolute address the instruction about to be emitted can reach
 * RIP-relative (loom's own static data lies within 2 GiB of the code
 * cache): `op [rip+disp32]` needs no register for the address. */
static bool rip_reach(struct cg *c, uint64_t target)
{
	int64_t d = (int64_t)(target - emit_rx(&c->e, c->e.p));
	return d > INT32_MIN + 64 && d < INT32_MAX - 64;
}

static void gen_ld_ptr(struct cg *c, struct ir_op *op)
{
	int size = op->cargs[1] & IR_MO_SIZE;
	bool sign = op->cargs[1] & IR_MO_SIGN;
	if (is_const(c, op->args[1]) && rip_reach(c, cval(c, op->args[1]) + op->cargs[0]) &&
	    !(sign && op->type == IR_I32 && size < 3)) {
		/* a fixed address in loom's static data (a tool's table):
		 * one load, no movabs */
		int rd = ra_alloc_reg(c, call_arg_hint(c, op));
		emit_load_rip(&c->e, size, sign, rd, cval(c, op->args[1]) + op->cargs[0]);
		ra_free_dead(c, op);
		ra_set_output(c, op->args[0], rd);
		return;
	}
	int rb = ra_load_temp(c, op->args[1], ALL_REGS);
	ra_lock(c, rb);
	int rd = emit_ld_at(c, op, rb);
	ra_free_dead(c, op);
	ra_set_output(c, op->args[0], rd);
}

static void gen_st_ptr(struct cg *c, struct ir_op *op)
{
	int size = op->cargs[1] & IR_MO_SIZE;
	ir_ref v = op->args[0];
	if (is_const(c, op->args[1]) && is_const(c, v) &&
	    rip_reach(c, cval(c, op->args[1]) + op->cargs[0]) &&
	    (size == 0 || (size >= 2 && (int64_t)cval(c, v) == (int32_t)cval(c, v)))) {
		uint64_t at = cval(c, op->args[1]) + op->cargs[0];
		if (size == 0) {
			emit_modrm_rip(&c->e, OPC_MOVB_EvIb, 0, at, 1);
			emit8(&c->e, (uint8_t)cval(c, v));
		} else {
			emit_modrm_rip(&c->e, OPC_MOVL_EvIz | (size == 3 ? P_REXW : 0), 0, at, 4);
			emit32(&c->e, (uint32_t)cval(c, v));
		}
		ra_free_dead(c, op);
		return;
	}

	int rb = ra_load_temp(c, op->args[1], ALL_REGS);
	ra_lock(c, rb);
	store_to(c, op->args[0], rb, H_NONE, 0, op->cargs[0], op->cargs[1] & IR_MO_SIZE, false);
	ra_free_dead(c, op);
}

/*
 * User mode's guest accesses.  The frontend builds an address as add and
 * shl ops (base, index << 1..3, displacement), which the access can take
 * whole as its x86 addressing mode: match_amode finds such a chain right
 * before a load or store, each step's temp dying in the next and the last
 * one in the access, and the chain costs no instruction of its own.  (The
 * soft MMU needs the address in a register for its probe.)
 */
struct amode {
	ir_ref base, index;	/* 0: none */
	int shift;
	int64_t disp;
};

static bool amode_step(struct cg *c, const struct ir_op *op, ir_ref t, struct amode *am)
{
	ir_ref a = op->args[1], b = op->args[2];
	if (op->type != IR_I64 || T(c, op->args[0])->kind != IR_TEMP_LOCAL)
		return false;
	if (t) {	/* op must take t, t dying there, and one other input */
		int tj = a == t ? 1 : b == t ? 2 : 0;
		if (!tj || a == b || !dead_arg((struct ir_op *)op, tj))
			return false;
		ir_ref o = tj == 1 ? b : a;
		if (op->opc == IR_sub && tj == 1 && is_const(c, o))
			am->disp -= (int64_t)cval(c, o);
		else if (op->opc != IR_add)
			return false;
		else if (is_const(c, o))
			am->disp += (int64_t)cval(c, o);
		else if (!am->base)
			am->base = o;
		else if (!am->index)
			am->index = o;
		else
			return false;
		return am->disp == (int32_t)am->disp;
	}
	switch (op->opc) {
	case IR_add:
		if (is_const(c, a) && !is_const(c, b))
			a = op->args[2], b = op->args[1];
		if (is_const(c, a))
			return false;
		am->base = a;
		if (is_const(c, b))
			am->disp = (int64_t)cval(c, b);
		else
			am->index = b;
		break;
	case IR_sub:
		if (is_const(c, a) || !is_const(c, b))
			return false;
		am->base = a;
		am->disp = -(int64_t)cval(c, b);
		break;
	case IR_shl:
		if (is_const(c, a) || !is_const(c, b) || (cval(c, b) & 63) < 1 || (cval(c, b) & 63) > 3)
			return false;
		am->index = a;
		am->shift = cval(c, b) & 63;
		break;
	default:
		return false;
	}
	return am->disp == (int32_t)am->disp;
}

/* Is ops[i..j-1] the address of the load or store ops[j]?  Returns j - i
 * (0: no chain there), *am filled. */
static uint32_t match_amode(struct cg *c, uint32_t i, struct amode *am)
{
	const struct ir_ctx *s = c->s;
	ir_ref t = 0;
	*am = (struct amode){ 0 };
	for (uint32_t j = i; j < s->nops && j < i + 4; j++) {
		struct ir_op *op = &s->ops[j];
		if (t && (op->opc == IR_load || op->opc == IR_store))
			return op->args[1] == t && dead_arg(op, 1) && op->args[0] != t &&
			       am->index != am->base ? j - i : 0;
		if (!amode_step(c, op, t, am))
			return 0;
		t = op->args[0];
	}
	return 0;
}

/* Does r, a local, die in one of ops[0..n-1]? */
static bool dies_in(struct cg *c, const struct ir_op *ops, uint32_t n, ir_ref r)
{
	if (!r || T(c, r)->kind != IR_TEMP_LOCAL)
		return false;
	for (uint32_t k = 0; k < n; k++)
		for (int a = ops[k].nout; a < ops[k].nout + ops[k].nin; a++)
			if (ops[k].args[a] == r && dead_arg((struct ir_op *)&ops[k], a))
				return true;
	return false;
}

/* ops[n] accesses guest memory at *am, which ops[0..n-1] computed. */
static void gen_access(struct cg *c, struct ir_op *ops, uint32_t n, const struct amode *am)
{
	struct ir_op *op = &ops[n];
	int size = op->cargs[0] & IR_MO_SIZE;
	bool sign = op->cargs[0] & IR_MO_SIGN;
	int rb = H_NONE, ri = H_NONE;
	if (am->base) {
		rb = ra_load_temp(c, am->base, ALL_REGS);
		ra_lock(c, rb);
	}
	if (am->index) {
		ri = ra_load_temp(c, am->index, ALL_REGS & ~(1u << H_RSP));
		ra_lock(c, ri);
	}
	if (op->opc == IR_load) {
		/* the value into the address's register if that dies here */
		int rd = rb != H_NONE && dies_in(c, ops, n + 1, am->base) && ra_may_clobber(c, rb) ? rb
			 : ri != H_NONE && dies_in(c, ops, n + 1, am->index) && ra_may_clobber(c, ri) ? ri
			 : ra_alloc_reg(c, ALL_REGS);
		ra_fault_point(c);
		if (sign && op->type == IR_I32 && size < 2)
			emit_modrm_sib(&c->e, size ? OPC_MOVSWL : OPC_MOVSBL, rd, rb, ri, am->shift,
				       am->disp);
		else
			emit_load_idx(&c->e, size, sign && !(op->type == IR_I32 && size == 2), rd, rb,
				      ri, am->shift, am->disp);
		for (uint32_t k = 0; k <= n; k++)
			ra_free_dead(c, &ops[k]);
		ra_set_output(c, op->args[0], rd);
		return;
	}
	store_to(c, op->args[0], rb, ri, am->shift, am->disp, size, true);
	for (uint32_t k = 0; k <= n; k++)
		ra_free_dead(c, &ops[k]);
}

static void gen_load(struct cg *c, struct ir_op *op)
{
	if (c->cfg->softmmu_on)
		softmmu_load(c, op);
	else
		gen_access(c, op, 0, &(struct amode){ .base = op->args[1] });
}

static void gen_store(struct cg *c, struct ir_op *op)
{
	if (c->cfg->softmmu_on)
		softmmu_store(c, op);
	else
		gen_access(c, op, 0, &(struct amode){ .base = op->args[1] });
}

static void gen_atomic(struct cg *c, struct ir_op *op)
{
	int size = op->cargs[0] & IR_MO_SIZE;
	ir_ref old = op->args[0];
	int rd;

	/* Soft MMU: the host address comes from the TLB, in a scratch register. */
	int haddr = c->cfg->softmmu_on ? softmmu_rmw_addr(c, op) : H_NONE;
	fault_sync(c);
	if (op->opc == IR_cmpxchg) {
		ra_lock(c, H_RAX);
		ra_evict(c, H_RAX);
		int raddr = haddr != H_NONE ? haddr : ra_load_temp(c, op->args[1], ALL_REGS & ~(1u << H_RAX));
		ra_lock(c, raddr);
		int rnew = ra_load_temp(c, op->args[3], ALL_REGS & ~(1u << H_RAX));
		ra_lock(c, rnew);
		ra_copy_to_reg(c, op->args[2], H_RAX);
		fault_here(c);
		emit_atomic(&c->e, OPC_CMPXCHG_EvGv, size, rnew, raddr);
		rd = H_RAX;
	} else {
		int raddr = haddr != H_NONE ? haddr : ra_load_temp(c, op->args[1], ALL_REGS);
		ra_lock(c, raddr);
		/* dest_from takes over a global's register when it is also the
		 * output: its value must stay reachable at the fault point */
		if (op->args[2] == old && is_global(c, old))
			ra_sync_temp(c, old);
		rd = ra_dest_from(c, op->args[2], dead_arg(op, 2), old, ALL_REGS);
		fault_here(c);
		emit_atomic(&c->e, op->opc == IR_xchg ? OPC_XCHG_EvGv : OPC_XADD_EvGv, size, rd, raddr);
	}
	if (size < 3)
		emit_ext(&c->e, size, false, rd, rd);
	ra_free_dead(c, op);
	ra_set_output(c, old, rd);
}

/* A call of fn: direct when in reach, else through a slot of loom's data
 * that is (`call [rip+d]`, 6 bytes; tools' code lies far from the code
 * cache, and a 13-byte `mov r11, imm64; call r11` per callback costs
 * instruction fetch).  Slots are never reused: translation is serial. */
static const void *call_slots[1024];
static unsigned ncall_slots;

void cg_call_far(struct cg *c, uintptr_t fn)
{
	int64_t d = (int64_t)(fn - (emit_rx(&c->e, c->e.p) + 5));
	unsigned i = 0;
	if (d != (int32_t)d) {
		while (i < ncall_slots && call_slots[i] != (const void *)fn)
			i++;
		if (i == ncall_slots && i < sizeof(call_slots) / sizeof(call_slots[0]))
			call_slots[ncall_slots++] = (const void *)fn;
		if (i < ncall_slots && rip_reach(c, (uintptr_t)&call_slots[i])) {
			emit_modrm_rip(&c->e, OPC_GRP5, EXT5_CALLN_Ev, (uintptr_t)&call_slots[i], 0);
			return;
		}
	}
	emit_call_to(&c->e, fn);
}

/* Add the pinned counter's register to memory and clear it (host.h),
 * wherever this point is reached from. */
void cg_pin_flush_always(struct cg *c)
{
	if (!c->cfg->pin_off)
		return;
	emit_modrm_offset(&c->e, OPC_ARITH_EvGv | P_REXW, PIN_REG, ENV_REG, c->cfg->pin_off);
	emit_arith_rr(&c->e, ARITH_XOR, false, PIN_REG, PIN_REG);
}

/* The same in straight-line code, skipped while the register is known to
 * be 0: flushed since the last pinned add or label, and every call
 * preserves it (callee-saved).  A block with a callback per instruction
 * and no pinned add between them flushes once, not before each call. */
void cg_pin_flush(struct cg *c)
{
	if (c->pin_clean)
		return;
	cg_pin_flush_always(c);
	c->pin_clean = true;
}

/* Before an op other than a fused counter add that touches env bytes
 * [off, off + len): flush if that is the pinned counter. */
static void pin_touch(struct cg *c, int32_t off, int len)
{
	if (c->cfg->pin_off && off < c->cfg->pin_off + 8 && off + len > c->cfg->pin_off)
		cg_pin_flush(c);
}

void host_set_pin_counter(int32_t env_off)
{
	cg_config.pin_off = env_off;
	if (cg_config.pin_off)
		cg_config.all_regs &= ~(1u << PIN_REG);
}

void host_unwind_pin(void *env, const void *ucv)
{
	const ucontext_t *uc = ucv;
	if (cg_config.pin_off)
		*(uint64_t *)((char *)env + cg_config.pin_off) += (uint64_t)uc->uc_mcontext.gregs[REG_R15];
}

static void gen_call(struct cg *c, struct ir_op *op)
{
	const struct ir_helper *h = &c->s->helpers[op->cargs[0]];
	int flags = op->cargs[1];
	int nargs = op->nin;

	cg_pin_flush(c);	/* the callee may read the counter, or unwind */
	if ((flags & IR_CALL_NO_GLOBALS) != IR_CALL_NO_GLOBALS || (flags & IR_CALL_MAY_FAULT))
		ra_sync_globals(c);
	/* Empty the caller-saved registers, keeping live values in memory;
	 * an argument that dies here and sits in its own register stays. */
	uint32_t in_place = 0;
	for (int i = 0; i < nargs; i++) {
		ir_ref r = op->args[op->nout + i];
		if (c->t[r].reg == call_arg_regs[i] && dead_arg(op, op->nout + i) &&
		    T(c, r)->kind == IR_TEMP_LOCAL && !c->alias[call_arg_regs[i]])
			in_place |= 1u << call_arg_regs[i];
	}
	for (int reg = 0; reg < 16; reg++) {
		if (!(CALLER_SAVED & (1u << reg)) || !c->reg_temp[reg] || (in_place & (1u << reg)))
			continue;
		ra_spill_reg(c, reg);
	}
	for (int i = 0; i < nargs; i++) {
		if (!(in_place & (1u << call_arg_regs[i])))
			ra_copy_to_reg(c, op->args[op->nout + i], call_arg_regs[i]);
	}
	/* (a call of tools' code is inside a tool region: tool_fp_before) */
	cg_call_far(c, (uintptr_t)h->fn);
	if (!(flags & IR_CALL_NO_WRITE_GLOBALS)) {
		ra_drop_globals(c);
		for (ir_ref r = 2; r < c->s->nglobals + 2; r++)
			c->t[r].in_mem = 1;
	}
	ra_free_dead(c, op);
	if (op->nout)
		ra_set_output(c, op->args[0], H_RAX);
}

static void add_fixup(struct cg *c, uint32_t label, uint8_t *field)
{
	if (c->nfixups >= MAX_FIXUPS) {
		c->overflow = true;	/* the code is discarded (host_gen_code) */
		return;
	}
	c->fixups[c->nfixups++] = (struct fixup){ label, field };
}

/* A conditional branch's jump on host cc to `label`, after the block-end
 * write-back its caller made.  The fall-through path keeps clean register
 * copies; block-local temps are dead at block ends by construction. */
static void free_block_locals(struct cg *c)
{
	for (int reg = 0; reg < 16; reg++) {
		ir_ref r = c->reg_temp[reg];
		if (r && !is_global(c, r) && !T(c, r)->tb_wide)
			ra_free_reg(c, reg);
	}
}

static void branch_to(struct cg *c, uint32_t label, int cc)
{
	add_fixup(c, label, emit_jcc32(&c->e, cc));
	free_block_locals(c);
}

/* Whether the ops after the current one go on with guest work before the
 * block ends (not a TB's last branch, after which both sides write back
 * anyway). */
static bool block_goes_on(struct cg *c)
{
	for (uint32_t i = c->op_i + 1; i < c->s->nops; i++) {
		const struct ir_op *op = &c->s->ops[i];
		if (op->opc == IR_nop || op->opc == IR_insn_start)
			continue;
		return !(ir_opdefs[op->opc].flags & (IR_OPF_BB_END | IR_OPF_TB_END)) &&
		       op->opc != IR_goto_tb;
	}
	return false;
}

/* The index of label's set_label op. */
static uint32_t label_op(struct cg *c, uint32_t label)
{
	const struct ir_ctx *s = c->s;
	/* labels mostly lie ahead of their brconds */
	uint32_t i = c->op_i + 1;
	while (i < s->nops && !(s->ops[i].opc == IR_set_label && s->ops[i].cargs[0] == label))
		i++;
	if (i == s->nops)
		for (i = 0; i < c->op_i; i++)
			if (s->ops[i].opc == IR_set_label && s->ops[i].cargs[0] == label)
				break;
	return i;
}

/* The globals the discards from ops[i] on drop (ir.h: discard; a TB exit
 * whose successor overwrites the flags), as a mask of bit r - 2. */
static uint64_t discards_at(struct cg *c, uint32_t i)
{
	uint64_t m = 0;
	for (; i < c->s->nops; i++) {
		const struct ir_op *op = &c->s->ops[i];
		if (op->opc == IR_discard && op->args[0] >= 2 && op->args[0] - 2 < 64)
			m |= 1ull << (op->args[0] - 2);
		else if (op->opc != IR_nop)
			break;
	}
	return m;
}

/* Whether the code at label may read a TB-wide local: false when it runs
 * to the TB's end reading none (a side exit: goto_tb, rip, exit_tb). */
static bool label_reads_locals(struct cg *c, uint32_t label)
{
	const struct ir_ctx *s = c->s;
	uint32_t i = label_op(c, label);
	for (i++; i < s->nops; i++) {
		const struct ir_op *op = &s->ops[i];
		for (int j = op->nout; j < op->nout + op->nin; j++)
			if (T(c, op->args[j])->kind == IR_TEMP_LOCAL)
				return true;
		unsigned fl = ir_opdefs[op->opc].flags;
		if (fl & IR_OPF_TB_END)
			return false;
		if (fl & IR_OPF_BB_END)
			return true;
	}
	return true;
}

/*
 * Load operands, compare, branch.  The block state the label expects in
 * memory is written on the taken side alone: the jump goes to stores
 * emitted after the body (emit_side_syncs), which go on to the label, and
 * the fall-through keeps its registers dirty, so a branch seldom taken
 * (a side exit past which the block runs on) costs no write-back.  When
 * the table is full the stores come inline, between the compare and the
 * jump.
 */
static void gen_brcond(struct cg *c, struct ir_op *op)
{
	ir_ref a = op->args[0], b = op->args[1];
	int ra = ra_load_temp(c, a, ALL_REGS);
	ra_lock(c, ra);
	if (!is_const(c, b) || !fits_imm(c, b, op->type))
		ra_lock(c, ra_load_temp(c, b, ALL_REGS));
	/* The compare first: loading an operand for it may move what the
	 * write-backs must read (env's copy takes a register, spilling one),
	 * and the stores after it are plain, flags intact. */
	int cc = gen_compare(c, op->cargs[0], a, b, w64(op));
	/* globals both sides discard are stored by neither */
	uint32_t at = label_op(c, op->cargs[1]);
	uint64_t dead = at < c->s->nops ? discards_at(c, at + 1) : 0;
	for (uint64_t m = dead & discards_at(c, c->op_i + 1); m; m &= m - 1)
		ra_discard(c, 2 + __builtin_ctzll(m));
	struct side_sync *ss = c->nside < MAX_FIXUPS && block_goes_on(c) ? &c->side[c->nside] : NULL;
	if (!ss || !ra_sync_record(c, ss, label_reads_locals(c, op->cargs[1]), dead)) {
		ra_sync_all(c, false);
		branch_to(c, op->cargs[1], cc);
		return;
	}
	if (!ss->n) {		/* nothing to store: straight to the label */
		branch_to(c, op->cargs[1], cc);
		return;
	}
	c->nside++;
	ss->label = op->cargs[1];
	ss->jcc_field = emit_jcc32(&c->e, cc);
	free_block_locals(c);
}

/* Worst-case bytes one op can emit, with its syncs (16 globals * 7). */
#define OP_MAX_BYTES 512

static void emit_side_stores(struct cg *c, struct side_sync *ss)
{
	emit_patch_rel32(ss->jcc_field, &c->e, emit_rx(&c->e, c->e.p));
	ss->jcc_field = NULL;
	for (uint32_t k = ss->first; k < ss->first + ss->n; k++) {
		const struct side_store *st = &c->sstore[k];
		if (st->reg == H_NONE)
			emit_store_imm(&c->e, 3, st->imm, st->base, st->off);
		else
			emit_store(&c->e, 3, st->reg, st->base, st->off);
	}
}

/* The brconds' stores on their taken sides, each going on to its label. */
static void emit_side_syncs(struct cg *c)
{
	for (uint32_t i = 0; i < c->nside; i++) {
		struct side_sync *ss = &c->side[i];
		if (!ss->jcc_field)
			continue;	/* placed before its label (side_sync_at_label) */
		emit_side_stores(c, ss);
		add_fixup(c, ss->label, emit_jmp32(&c->e));
	}
}

/* Label l's code comes after code that never falls through (a TB exit
 * above it): the first brcond's stores for it go right there, running
 * into the label without a jump (a side exit usually taken: its
 * goto_tb's chained jump follows). */
static void side_sync_at_label(struct cg *c, uint32_t l)
{
	const struct ir_op *ops = c->s->ops;
	uint32_t i = c->op_i;
	while (i > 0 && ops[i - 1].opc == IR_nop)
		i--;
	if (!i || (ops[i - 1].opc != IR_exit_tb && ops[i - 1].opc != IR_br &&
		   ops[i - 1].opc != IR_goto_ptr && ops[i - 1].opc != IR_goto_lookup))
		return;
	for (uint32_t k = 0; k < c->nside; k++) {
		struct side_sync *ss = &c->side[k];
		if (ss->label != l || !ss->jcc_field)
			continue;
		if (emit_room(&c->e, ss->n * SIDE_STORE_BYTES + OP_MAX_BYTES))
			emit_side_stores(c, ss);
		return;
	}
}

/* `ld_env t [off]; brcond t, $imm` with t dying there (the TB-entry exit
 * check) becomes one compare against memory: no register, one insn less. */
static bool fuse_ld_env_brcond(struct cg *c, struct ir_op *ld, struct ir_op *br)
{
	int size = ld->cargs[1] & IR_MO_SIZE;
	enum ir_cond cond = br->cargs[0];
	if (br->opc != IR_brcond || br->args[0] != ld->args[0] || !(br->dead & 1) ||
	    (ld->cargs[1] & IR_MO_SIGN) || size < IR_MO_32 || !fits_imm(c, br->args[1], IR_I64) ||
	    (int64_t)cval(c, br->args[1]) != (int32_t)cval(c, br->args[1]) ||
	    (cond != IR_EQ && cond != IR_NE) || T(c, ld->args[0])->tb_wide)
		return false;
	c->locked = 0;
	ra_sync_all(c, false);
	emit_modrm_offset(&c->e, OPC_ARITH_EvIz | (size == IR_MO_64 ? P_REXW : 0), ARITH_CMP,
			  ENV_REG, ld->cargs[0]);
	emit32(&c->e, (uint32_t)cval(c, br->args[1]));
	branch_to(c, br->cargs[1], host_cc_of[cond]);
	return true;
}

/* `ld_ptr t,$addr; brcond a, t` (EQ or NE) with t dying there, addr in
 * loom's static data within reach (a tool's per-block tag, syscov.c)
 * becomes `cmp a, [rip+disp32]`: no register and no load of its own. */
static bool fuse_ld_ptr_brcond(struct cg *c, struct ir_op *ld, struct ir_op *br)
{
	int size = ld->cargs[1] & IR_MO_SIZE;
	enum ir_cond cond = br->cargs[0];
	if (br->opc != IR_brcond || br->args[1] != ld->args[0] || br->args[0] == ld->args[0] ||
	    !(br->dead & 2) || (ld->cargs[1] & IR_MO_SIGN) || size < IR_MO_32 ||
	    (size == IR_MO_32) != (br->type == IR_I32) || !is_const(c, ld->args[1]) ||
	    (cond != IR_EQ && cond != IR_NE) || T(c, ld->args[0])->tb_wide)
		return false;
	uint64_t at = cval(c, ld->args[1]) + ld->cargs[0];
	/* (reach checked with room for the loads and write-backs before it) */
	int64_t d = (int64_t)(at - emit_rx(&c->e, c->e.p));
	if (d <= INT32_MIN + (1 << 20) || d >= INT32_MAX - (1 << 20))
		return false;
	c->locked = 0;
	int ra = ra_load_temp(c, br->args[0], ALL_REGS);
	ra_lock(c, ra);
	ra_sync_all(c, false);
	emit_modrm_rip(&c->e, (OPC_ARITH_GvEv + (ARITH_CMP << 3)) | (size == IR_MO_64 ? P_REXW : 0),
		       ra, at, 0);
	branch_to(c, br->cargs[1], host_cc_of[cond]);
	return true;
}

/* `ld_ptr t,p [off]; add u,t,$imm; st_ptr u,p [off]` with t and u dying
 * (a plugin's inline counter) becomes `add qword [p+off], imm`. */
static bool fuse_counter(struct cg *c, struct ir_op *ld, struct ir_op *add, struct ir_op *st)
{
	bool env = ld->opc == IR_ld_env;
	if (st->opc != (env ? IR_st_env : IR_st_ptr) || add->opc != IR_add ||
	    add->type != IR_I64 || ld->type != IR_I64 || (ld->cargs[1] & IR_MO_SIZE) != IR_MO_64 ||
	    (st->cargs[1] & IR_MO_SIZE) != IR_MO_64 || ld->cargs[0] != st->cargs[0] ||
	    add->args[1] != ld->args[0] || !(add->dead & 2) || st->args[0] != add->args[0] ||
	    (!env && st->args[1] != ld->args[1]) || !(st->dead & 1) || !is_const(c, add->args[2]) ||
	    (int64_t)cval(c, add->args[2]) != (int32_t)cval(c, add->args[2]) ||
	    T(c, ld->args[0])->tb_wide || T(c, add->args[0])->tb_wide)
		return false;
	c->locked = 0;
	int64_t imm = (int64_t)cval(c, add->args[2]);
	bool small = imm == (int8_t)imm;
	int opc = (small ? OPC_ARITH_EvIb : OPC_ARITH_EvIz) | P_REXW;
	if (env && c->cfg->pin_off && ld->cargs[0] == c->cfg->pin_off) {
		emit_arith_ri(&c->e, ARITH_ADD, true, PIN_REG, (int32_t)imm);
		c->pin_clean = false;
		return true;
	}
	if (env)
		emit_modrm_offset(&c->e, opc, ARITH_ADD, ENV_REG, ld->cargs[0]);
	else if (is_const(c, ld->args[1]) && rip_reach(c, cval(c, ld->args[1]) + ld->cargs[0]))
		emit_modrm_rip(&c->e, opc, ARITH_ADD, cval(c, ld->args[1]) + ld->cargs[0], small ? 1 : 4);
	else
		emit_modrm_offset(&c->e, opc, ARITH_ADD, ra_load_temp(c, ld->args[1], ALL_REGS),
				  ld->cargs[0]);
	if (small)
		emit8(&c->e, (uint8_t)imm);
	else
		emit32(&c->e, (uint32_t)imm);
	if (!env)
		ra_free_dead(c, st);
	return true;
}

static void gen_goto_tb(struct cg *c, struct ir_op *op)
{
	int n = op->cargs[0];
	ra_sync_all(c, false);
	/* Align the rel32 so that patching it is one atomic 4-byte store. */
	int mis = (emit_rx(&c->e, c->e.p) + 1) & 3;
	if (mis)
		emit_nops(&c->e, 4 - mis);
	c->tb->jmp_insn[n] = c->e.p - c->e.start;
	emit_jmp32(&c->e);
	c->tb->jmp_reset[n] = c->e.p - c->e.start;
}

static void gen_exit_tb(struct cg *c, struct ir_op *op)
{
	ra_sync_all(c, true);
	uint64_t v = op->cargs[0];
	if (v == 0) {
		emit_jmp_to(&c->e, c->cfg->epilogue_exit0_rx);
	} else {
		emit_movi(&c->e, H_RAX, v);
		emit_jmp_to(&c->e, c->cfg->epilogue_ret_rx);
	}
}

static void gen_goto_ptr(struct cg *c, struct ir_op *op)
{
	int ra = ra_load_temp(c, op->args[0], ALL_REGS);
	ra_lock(c, ra);
	ra_sync_all(c, false);
	emit_jmp_reg(&c->e, ra);
	ra_sync_all(c, true);
}

/* Inline jump-cache probe: tb = cache[(pc ^ pc >> bits) & mask]; if it is
 * the TB for pc, jump into its code, else leave to the exec loop. */
static void gen_goto_lookup(struct cg *c, struct ir_op *op)
{
	int rpc = ra_load_temp(c, op->args[0], ALL_REGS);
	ra_lock(c, rpc);
	ra_sync_all(c, false);
	int ri = ra_alloc_reg(c, ALL_REGS);
	ra_lock(c, ri);
	int rt = ra_alloc_reg(c, ALL_REGS);
	emit_mov_rr(&c->e, true, ri, rpc);
	emit_shift_ri(&c->e, SHIFT_SHR, true, ri, c->cfg->jc.bits);
	emit_arith_rr(&c->e, ARITH_XOR, true, ri, rpc);
	emit_arith_ri(&c->e, ARITH_AND, false, ri, (1 << c->cfg->jc.bits) - 1);
	emit_load(&c->e, 3, false, rt, ENV_REG, c->cfg->jc.jmp_cache_off);
	emit_modrm_sib(&c->e, OPC_MOVL_GvEv | P_REXW, rt, rt, ri, 3, 0);
	emit_test_rr(&c->e, true, rt, rt);
	uint8_t *miss1 = emit_jcc32(&c->e, CC_E);
	emit_modrm_offset(&c->e, (OPC_ARITH_GvEv + (ARITH_CMP << 3)) | P_REXW, rpc, rt, c->cfg->jc.tb_pc_off);
	uint8_t *miss2 = emit_jcc32(&c->e, CC_NE);
	emit_modrm_offset(&c->e, OPC_GRP5, EXT5_JMPN_Ev, rt, c->cfg->jc.tb_code_off);
	/* A miss names this TB, whose last instruction is the branch (the
	 * loop may have to fault at it: guest_fetch_fault). */
	emit_patch_rel32(miss1, &c->e, emit_rx(&c->e, c->e.p));
	emit_patch_rel32(miss2, &c->e, emit_rx(&c->e, c->e.p));
	emit_movi(&c->e, H_RAX, (uintptr_t)c->tb | TB_EXIT_NOCHAIN);
	emit_jmp_to(&c->e, c->cfg->epilogue_ret_rx);
	ra_sync_all(c, true);
}

static void load_xmm(struct cg *c, int x, int32_t off, int size);
static void xcache_stored(struct cg *c, int32_t d);

/* vop: the host SSE2 instruction on copies of the two slots in xmm15 and
 * xmm14 (scratch: no IR value lives in an xmm register), stored back whole.
 * Operands are loaded as two qwords because the frontend writes slots in
 * 8-byte halves, and a 16-byte load of two fresh 8-byte stores cannot be
 * store-forwarded (a stall of a dozen cycles per op). */
static void gen_vop(struct cg *c, struct ir_op *op)
{
	static const int opcode[IR_V_NB] = {
		[IR_V_add8] = OPC_PADDB, [IR_V_add16] = OPC_PADDW, [IR_V_add32] = OPC_PADDD,
		[IR_V_add64] = OPC_PADDQ,
		[IR_V_sub8] = OPC_PSUBB, [IR_V_sub16] = OPC_PSUBW, [IR_V_sub32] = OPC_PSUBD,
		[IR_V_sub64] = OPC_PSUBQ,
		[IR_V_addsat8u] = OPC_PADDUSB, [IR_V_addsat16u] = OPC_PADDUSW,
		[IR_V_subsat8u] = OPC_PSUBUSB, [IR_V_subsat16u] = OPC_PSUBUSW,
		[IR_V_addsat8s] = OPC_PADDSB, [IR_V_addsat16s] = OPC_PADDSW,
		[IR_V_subsat8s] = OPC_PSUBSB, [IR_V_subsat16s] = OPC_PSUBSW,
		[IR_V_mullo16] = OPC_PMULLW, [IR_V_mulhi16s] = OPC_PMULHW, [IR_V_mulhi16u] = OPC_PMULHUW,
		[IR_V_mul32x2u] = OPC_PMULUDQ, [IR_V_madd16s] = OPC_PMADDWD, [IR_V_sad8u] = OPC_PSADBW,
		[IR_V_avg8u] = OPC_PAVGB, [IR_V_avg16u] = OPC_PAVGW,
		[IR_V_min8u] = OPC_PMINUB, [IR_V_max8u] = OPC_PMAXUB, [IR_V_min16s] = OPC_PMINSW,
		[IR_V_max16s] = OPC_PMAXSW,
		[IR_V_cmpeq8] = OPC_PCMPEQB, [IR_V_cmpeq16] = OPC_PCMPEQW, [IR_V_cmpeq32] = OPC_PCMPEQD,
		[IR_V_cmpgt8s] = OPC_PCMPGTB, [IR_V_cmpgt16s] = OPC_PCMPGTW, [IR_V_cmpgt32s] = OPC_PCMPGTD,
		[IR_V_unpacklo8] = OPC_PUNPCKLBW, [IR_V_unpacklo16] = OPC_PUNPCKLWD,
		[IR_V_unpacklo32] = OPC_PUNPCKLDQ,
		[IR_V_unpackhi8] = OPC_PUNPCKHBW, [IR_V_unpackhi16] = OPC_PUNPCKHWD,
		[IR_V_unpackhi32] = OPC_PUNPCKHDQ,
		[IR_V_packs16to8] = OPC_PACKSSWB, [IR_V_packs32to16] = OPC_PACKSSDW,
		[IR_V_packu16to8] = OPC_PACKUSWB,
	};
	_Static_assert(IR_V_NB == 46, "every vector op needs a host opcode above");
	int32_t dst = (uint32_t)op->cargs[1], src = (uint32_t)((uint64_t)op->cargs[1] >> 32);
	const int x = 15, y = 14;

	if (op->cargs[0] == IR_V_mov) {
		load_xmm(c, x, src, 16);
	} else {
		load_xmm(c, y, src, 16);
		load_xmm(c, x, dst, 16);
		if (op->cargs[0] == IR_V_movlo64 || op->cargs[0] == IR_V_movlo32)
			emit_modrm(&c->e, OPC_MOVSS_VxWx | (op->cargs[0] == IR_V_movlo64 ? P_SIMDF2
										: P_SIMDF3), x, y);
		else
			emit_modrm(&c->e, opcode[op->cargs[0]], x, y);
	}
	emit_modrm_offset(&c->e, OPC_MOVDQA_WxVx, x, ENV_REG, dst);
	xcache_stored(c, dst);
}

/*
 * vfop/vfres: the host SSE instruction (VEX for FMA) on xmm15, xmm14 and
 * xmm13 loaded from the env slots, under the guest's MXCSR, which the host
 * MXCSR holds while translated code runs.  An unmasked exception traps
 * before the result is stored, so env is untouched, and exec_host_fault
 * maps the SIGFPE to the guest pc; the instruction is a fault point as a
 * load is (fault_here).
 * b is loaded with exactly its size (movd, movq, or two qwords as in
 * gen_vop), so a staged 4- or 8-byte operand is store-forwarded.
 */
static int fop_opcode(enum ir_fop f, bool w64)
{
	static const int type_prefix[4] = { 0, P_DATA16, P_SIMDF3, P_SIMDF2 };	/* ps pd ss sd */
	static const int arith[7] = { OPC_ADDPS, OPC_SUBPS, OPC_MULPS, OPC_DIVPS, OPC_MINPS, OPC_MAXPS,
				      OPC_SQRTPS };
	static const int other[IR_F_NB] = {
		[IR_F_cvtss2sd] = OPC_CVTPS2PD | P_SIMDF3, [IR_F_cvtsd2ss] = OPC_CVTPS2PD | P_SIMDF2,
		[IR_F_cvtps2pd] = OPC_CVTPS2PD, [IR_F_cvtpd2ps] = OPC_CVTPS2PD | P_DATA16,
		[IR_F_cvtdq2ps] = OPC_CVTDQ2PS, [IR_F_cvtps2dq] = OPC_CVTDQ2PS | P_DATA16,
		[IR_F_cvttps2dq] = OPC_CVTDQ2PS | P_SIMDF3,
		[IR_F_cvtdq2pd] = OPC_CVTDQ2PD, [IR_F_cvtpd2dq] = OPC_CVTPD2DQ,
		[IR_F_cvttpd2dq] = OPC_CVTTPD2DQ,
		[IR_F_cvtsi2ss32] = OPC_CVTSI2SS, [IR_F_cvtsi2ss64] = OPC_CVTSI2SS | P_REXW,
		[IR_F_cvtsi2sd32] = OPC_CVTSI2SD, [IR_F_cvtsi2sd64] = OPC_CVTSI2SD | P_REXW,
		[IR_F_comiss] = OPC_COMISS, [IR_F_ucomiss] = OPC_UCOMISS,
		[IR_F_comisd] = OPC_COMISS | P_DATA16, [IR_F_ucomisd] = OPC_UCOMISS | P_DATA16,
		[IR_F_cvtss2si] = OPC_CVTSS2SI, [IR_F_cvttss2si] = OPC_CVTTSS2SI,
		[IR_F_cvtsd2si] = OPC_CVTSD2SI, [IR_F_cvttsd2si] = OPC_CVTTSD2SI,
	};
	_Static_assert(IR_F_sqrtsd - IR_F_addps == 27, "7 arithmetic ops x 4 types");
	_Static_assert(IR_F_fnmsub231sd - IR_F_fmadd132ps == 47, "4 FMA kinds x 3 orders x 4 types");
	if (f >= IR_F_addps && f <= IR_F_sqrtsd) {
		int i = f - IR_F_addps;
		return arith[i / 4] | type_prefix[i % 4];
	}
	if (f >= IR_F_cmpps && f <= IR_F_cmpsd)
		return OPC_CMPPS | type_prefix[f - IR_F_cmpps];
	if (f >= IR_F_roundps && f <= IR_F_roundsd)
		return OPC_ROUNDPS + (f - IR_F_roundps);
	if (f >= IR_F_fmadd132ps && f <= IR_F_fnmsub231sd) {
		/* IR order: kind, then 132/213/231, then ps pd ss sd */
		int i = f - IR_F_fmadd132ps, t = i % 4;
		return opc_fma(i / 12, i / 4 % 3, t >= 2, t & 1);
	}
	return other[f] | (w64 && ir_fopdefs[f].form == IR_FF_R && f >= IR_F_cvtss2si ? P_REXW : 0);
}

/*
 * Within a block, xmm13-15 cache the slots they were loaded from or stored
 * to whole (c->xslot), so a chain of FP ops on the same registers does not
 * wait for a store to forward to the next load.  Every op that may write
 * env slots other than through vfop, clobber those registers (calls, vop)
 * or join control flow forgets them (xcache_before).
 */
void cg_xcache_clear(struct cg *c)
{
	c->xslot[0] = c->xslot[1] = c->xslot[2] = -1;
}

/*
 * Tool regions (host.h): calls of tools' code run under loom's MXCSR.
 * stmxcsr costs ~15 cycles, ldmxcsr ~2 and a byte store ~nothing, so a
 * region saves the guest's MXCSR once, only if fp_dirty, and a TB of
 * integer code with a callback per instruction is one region.  Inside a
 * region only integer guest code runs; its faults find the guest's MXCSR
 * through tool_fp (guest_host_signal_unwind).
 */
static bool fp_op(const struct cg *c, const struct ir_op *op)
{
	return op->opc == IR_vfop || op->opc == IR_vfres ||
	       (op->opc == IR_call && !ir_helper_foreign(c->s, op->cargs[0]));
}

/* Ops a region may span: integer code and memory, and tools' calls. */
static bool in_region_ok(const struct cg *c, const struct ir_op *op)
{
	switch (op->opc) {
	case IR_call:
		return ir_helper_foreign(c->s, op->cargs[0]);
	case IR_set_label: case IR_br: case IR_brcond: case IR_goto_tb: case IR_exit_tb:
	case IR_goto_ptr: case IR_goto_lookup: case IR_vfop: case IR_vfres:
		return false;
	default:
		return true;
	}
}

static void tool_fp_act(struct cg *c, const struct ir_op *ops, uint32_t i, uint32_t n)
{
	const struct ir_op *op = &ops[i];
	if (c->tool_region) {
		/* an ld_env may fuse with the branch after it */
		bool end = !in_region_ok(c, op) ||
			   (op->opc == IR_ld_env && i + 1 < n && !in_region_ok(c, &ops[i + 1]));
		if (end) {
			emit_modrm_offset(&c->e, OPC_GRP15, EXT15_LDMXCSR, ENV_REG, c->cfg->tfp.guest_csr_off);
			emit_store_imm(&c->e, 0, TOOL_FP_RAN, ENV_REG, c->cfg->tfp.tool_fp_off);
			c->tool_region = false;
		}
	}
	if (op->opc == IR_set_label)
		c->fp_marked = c->pin_clean = false;	/* joins paths */
	if (c->s->fp_track && !c->fp_marked && fp_op(c, op)) {
		emit_store_imm(&c->e, 0, 1, ENV_REG, c->cfg->tfp.fp_dirty_off);
		c->fp_marked = true;
	}
	if (op->opc != IR_call || !ir_helper_foreign(c->s, op->cargs[0]) || c->tool_region)
		return;
	/* Start: save the guest's MXCSR unless it is saved already, and load
	 * the tools' unless the host's already is (the guest's saved value
	 * is HOST_TOOL_MXCSR: almost every program's, and then a TB with a
	 * callback per instruction pays one ldmxcsr, at the region's end,
	 * which also drops any flag the tool set).  Host flags are not live
	 * between ops, the cmps may clobber them. */
	uint8_t *save = NULL, *same = NULL;
	if (c->s->fp_track) {
		emit_modrm_offset(&c->e, OPC_ARITH_EbIb, ARITH_CMP, ENV_REG, c->cfg->tfp.fp_dirty_off);
		emit8(&c->e, 0);
		save = emit_jcc32(&c->e, CC_NE);
		emit_modrm_offset(&c->e, OPC_ARITH_EvIz, ARITH_CMP, ENV_REG, c->cfg->tfp.guest_csr_off);
		emit32(&c->e, HOST_TOOL_MXCSR);
		same = emit_jcc32(&c->e, CC_E);
		uint8_t *load = emit_jmp32(&c->e);
		emit_patch_rel32(save, &c->e, emit_rx(&c->e, c->e.p));
		emit_modrm_offset(&c->e, OPC_GRP15, EXT15_STMXCSR, ENV_REG, c->cfg->tfp.guest_csr_off);
		emit_store_imm(&c->e, 0, 0, ENV_REG, c->cfg->tfp.fp_dirty_off);
		emit_patch_rel32(load, &c->e, emit_rx(&c->e, c->e.p));
	} else {
		emit_modrm_offset(&c->e, OPC_GRP15, EXT15_STMXCSR, ENV_REG, c->cfg->tfp.guest_csr_off);
	}
	emit_modrm_offset(&c->e, OPC_GRP15, EXT15_LDMXCSR, ENV_REG, c->cfg->tfp.tool_csr_off);
	if (same)
		emit_patch_rel32(same, &c->e, emit_rx(&c->e, c->e.p));
	emit_store_imm(&c->e, 0, TOOL_FP_IN, ENV_REG, c->cfg->tfp.tool_fp_off);
	c->tool_region = true;
	c->fp_marked = false;	/* fp_dirty is clear now */
}

/* Most ops neither end a region nor start one nor touch FP state: the
 * test inline, the work out of line. */
static inline void tool_fp_before(struct cg *c, const struct ir_op *ops, uint32_t i, uint32_t n)
{
	unsigned opc = ops[i].opc;
	if (c->tool_region || opc == IR_call || opc == IR_set_label ||
	    (c->s->fp_track && (opc == IR_vfop || opc == IR_vfres)))
		tool_fp_act(c, ops, i, n);
}

static void xcache_before(struct cg *c, const struct ir_op *op)
{
	switch (op->opc) {
	case IR_st_env: {
		int32_t off = op->cargs[0], end = off + (1 << (op->cargs[1] & IR_MO_SIZE));
		for (int i = 0; i < 3; i++)
			if (c->xslot[i] >= 0 && off < c->xslot[i] + 16 && end > c->xslot[i])
				c->xslot[i] = -1;
		return;
	}
	case IR_call: case IR_set_label: case IR_goto_tb: case IR_exit_tb:
	case IR_goto_ptr: case IR_goto_lookup:
		cg_xcache_clear(c);
		return;
	default:
		return;	/* GPR-only ops, loads, guest stores, vfop/vfres (their own) */
	}
}

static void load_xmm(struct cg *c, int x, int32_t off, int size)
{
	if (c->xslot[x - 13] == off)
		return;
	for (int r = 13; r <= 15; r++) {
		if (c->xslot[r - 13] != off)
			continue;
		if (r != x)
			emit_modrm(&c->e, OPC_MOVAPS_VxWx, x, r);
		c->xslot[x - 13] = off;
		return;
	}
	c->xslot[x - 13] = size == 16 ? off : -1;
	if (size == 4) {
		emit_modrm_offset(&c->e, OPC_MOVD_VdEd, x, ENV_REG, off);
		return;
	}
	emit_modrm_offset(&c->e, OPC_MOVQ_VqWq, x, ENV_REG, off);
	if (size == 16)
		emit_modrm_offset(&c->e, OPC_MOVHPS_VqMq, x, ENV_REG, off + 8);
}

/* xmm15 was stored to slot d: the copies of d's old value are stale. */
static void xcache_stored(struct cg *c, int32_t d)
{
	for (int i = 0; i < 3; i++)
		if (c->xslot[i] == d)
			c->xslot[i] = -1;
	c->xslot[2] = d;
}

static void gen_vfop(struct cg *c, struct ir_op *op)
{
	enum ir_fop f = op->cargs[0];
	const struct ir_fopdef *def = &ir_fopdefs[f];
	uint64_t o = op->cargs[1];
	int32_t d = o & 0xffff, a = o >> 16 & 0xffff, b = o >> 32 & 0xffff;
	int opc = fop_opcode(f, false);

	fault_sync(c);
	/* sources into the registers that xmm15 does not need first (a
	 * copy out of the cache must come before xmm15 is overwritten) */
	switch (def->form) {
	case IR_FF_V:
		load_xmm(c, 14, b, def->bsize);
		load_xmm(c, 15, a, 16);
		fault_here(c);
		emit_modrm(&c->e, opc, 15, 14);
		if (f >= IR_F_cmpps && f <= IR_F_cmpsd)
			emit8(&c->e, o >> 48 & 7);	/* the predicate */
		if (f >= IR_F_roundps && f <= IR_F_roundsd)
			emit8(&c->e, o >> 48 & 15);
		break;
	case IR_FF_I:
		load_xmm(c, 15, a, 16);
		fault_here(c);
		emit_modrm_offset(&c->e, opc, 15, ENV_REG, b);
		break;
	case IR_FF_F:
		load_xmm(c, 13, b, def->bsize);
		load_xmm(c, 14, a, 16);
		load_xmm(c, 15, d, 16);
		fault_here(c);
		emit_vex_rr(&c->e, opc, 15, 14, 13);
		break;
	case IR_FF_C:
		fault_here(c);
		emit_modrm_offset(&c->e, OPC_GRP15, EXT15_LDMXCSR, ENV_REG, b);
		return;
	default:
		internal_error("backend: vfop of a result-form op");
	}
	emit_modrm_offset(&c->e, OPC_MOVDQA_WxVx, 15, ENV_REG, d);
	xcache_stored(c, d);
}

static void gen_vfres(struct cg *c, struct ir_op *op)
{
	enum ir_fop f = op->cargs[0];
	const struct ir_fopdef *def = &ir_fopdefs[f];
	uint64_t o = op->cargs[1];
	int32_t a = o & 0xffff, b = o >> 16 & 0xffff;
	int opc = fop_opcode(f, w64(op));

	fault_sync(c);
	int rd = ra_alloc_reg(c, ALL_REGS);
	if (f == IR_F_stmxcsr) {
		for (int i = 0; i < 3; i++)	/* the scratch slot is written */
			if (c->xslot[i] == a)
				c->xslot[i] = -1;
		emit_modrm_offset(&c->e, OPC_GRP15, EXT15_STMXCSR, ENV_REG, a);
		emit_load(&c->e, 2, false, rd, ENV_REG, a);
		emit_arith_ri(&c->e, ARITH_AND, false, rd, MXCSR_FLAGS);
		emit_modrm_offset(&c->e, OPC_ARITH_GvEv + (ARITH_OR << 3), rd, ENV_REG, b);
		ra_set_output(c, op->args[0], rd);
		return;
	}
	load_xmm(c, 14, b, def->bsize);
	if (f >= IR_F_comiss && f <= IR_F_ucomisd) {
		load_xmm(c, 15, a, def->bsize);
		fault_here(c);
		emit_modrm(&c->e, opc, 15, 14);
		emit_pushf(&c->e);
		emit_pop(&c->e, rd);
		emit_arith_ri(&c->e, ARITH_AND, false, rd, EFLAGS_ZF | EFLAGS_PF | EFLAGS_CF);
	} else {
		fault_here(c);
		emit_modrm(&c->e, opc, rd, 14);
	}
	ra_set_output(c, op->args[0], rd);
}

static void gen_op_body(struct cg *c, struct ir_op *op);

static void gen_op(struct cg *c, struct ir_op *op)
{
	c->locked = 0;
	gen_op_body(c, op);
	for (int a = 0; a < op->nout; a++) {
		ir_ref r = op->args[a];
		if ((op->dead & (1 << a)) && c->t[r].reg != H_NONE)
			ra_free_reg(c, c->t[r].reg);
	}
}

static void gen_op_body(struct cg *c, struct ir_op *op)
{
	switch (op->opc) {
	case IR_nop:
		break;
	case IR_mov: gen_mov(c, op); break;
	case IR_add: case IR_sub: case IR_mul: case IR_and: case IR_or:
	case IR_xor: case IR_andc:
		gen_binop(c, op);
		break;
	case IR_neg: case IR_not: case IR_bswap16: case IR_bswap32: case IR_bswap64:
		gen_unop(c, op);
		break;
	case IR_shl: case IR_shr: case IR_sar: case IR_rotl: case IR_rotr:
		gen_shift(c, op);
		break;
	case IR_mulu2: case IR_muls2: gen_mul2(c, op); break;
	case IR_divu2: case IR_divs2: gen_div2(c, op); break;
	case IR_ext8s: case IR_ext8u: case IR_ext16s: case IR_ext16u:
	case IR_ext32s: case IR_ext32u:
		gen_ext(c, op);
		break;
	case IR_deposit: case IR_extract: case IR_sextract: gen_bitfield(c, op); break;
	case IR_clz: case IR_ctz: case IR_ctpop: gen_count(c, op); break;
	case IR_setcond: gen_setcond(c, op); break;
	case IR_movcond: gen_movcond(c, op); break;
	case IR_set_label:
		ra_sync_all(c, true);
		ra_reset_after_label(c);
		side_sync_at_label(c, op->cargs[0]);
		c->label_at[op->cargs[0]] = c->e.p;
		break;
	case IR_br:
		ra_sync_all(c, true);
		add_fixup(c, op->cargs[0], emit_jmp32(&c->e));
		break;
	case IR_brcond: gen_brcond(c, op); break;
	case IR_ld_env: gen_ld_env(c, op); break;
	case IR_ld_ptr: gen_ld_ptr(c, op); break;
	case IR_st_ptr: gen_st_ptr(c, op); break;
	case IR_st_env: gen_st_env(c, op); break;
	case IR_load: gen_load(c, op); break;
	case IR_store: gen_store(c, op); break;
	case IR_cmpxchg: case IR_xchg: case IR_xadd: gen_atomic(c, op); break;
	case IR_mb: emit_mfence(&c->e); break;
	case IR_vop: gen_vop(c, op); break;
	case IR_vfop: gen_vfop(c, op); break;
	case IR_vfres: gen_vfres(c, op); break;
	case IR_call: gen_call(c, op); break;
	case IR_insn_start:
		c->tb->insn_host_off[c->ninsn] = c->e.p - c->e.start;
		c->tb->insn_pc[c->ninsn] = op->cargs[0];
		c->ninsn++;
		break;
	case IR_goto_tb: gen_goto_tb(c, op); break;
	case IR_discard: ra_discard(c, op->args[0]); break;
	case IR_exit_tb: gen_exit_tb(c, op); break;
	case IR_goto_ptr: gen_goto_ptr(c, op); break;
	case IR_goto_lookup: gen_goto_lookup(c, op); break;
	default:
		internal_error("backend: no emitter for op %s", ir_opdefs[op->opc].name);
	}
}

size_t host_gen_code(struct ir_ctx *s, struct tb *tb, uint8_t *rw, uint8_t *rx, size_t avail)
{
	static struct ra_temp *temps;
	static uint32_t cap;
	static uint8_t **labels;
	static uint32_t label_cap;
	static ir_ref *wide;
	/* The large arrays live outside struct cg, so that setting it up
	 * per TB does not clear them: they are filled before being read. */
	static struct slow_path slow[MAX_SLOW_PATHS];
	static struct fixup fixups[MAX_FIXUPS];
	static uint16_t free_slots[FRAME_SLOTS];
	static uint16_t fpt_off[MAX_FAULT_POINTS], fpt_end[MAX_FAULT_POINTS];
	static uint16_t fent[MAX_FAULT_ENTRIES];
	static uint64_t kval[64];
	static struct side_sync side[MAX_FIXUPS];
	static struct side_store sstore[MAX_SIDE_STORES];
	struct cg c = { .cfg = &cg_config, .s = s, .tb = tb, .slow = slow,
			.fixups = fixups, .free_slots = free_slots,
			.fpt_off = fpt_off, .fpt_end = fpt_end, .fent = fent, .kval = kval,
			.side = side, .sstore = sstore };

	free(tb->fault_map);	/* an earlier attempt's */
	tb->fault_map = NULL;

	if (s->ntemps > cap) {
		cap = s->ntemps * 2;
		temps = realloc(temps, cap * sizeof(*temps));
		wide = realloc(wide, cap * sizeof(*wide));
	}
	if (s->nlabels + 1 > label_cap) {
		label_cap = s->nlabels * 2 + 16;
		labels = realloc(labels, label_cap * sizeof(*labels));
	}
	if (!temps || !labels || !wide)
		internal_error("out of memory in the backend");
	c.t = temps;
	c.label_at = labels;
	c.wide = wide;
	ir_liveness(s);
	/* Temps 2..nglobals+1 are the globals, whose home is env and holds
	 * their value at entry; everything else starts nowhere.  The globals'
	 * part is the same for every TB: copied from a template. */
	static struct ra_temp *gtemplate;
	static uint32_t gtemplate_n;
	uint32_t gend = s->nglobals + 2;
	if (gtemplate_n != gend) {
		gtemplate = realloc(gtemplate, gend * sizeof(*gtemplate));
		if (!gtemplate)
			internal_error("out of memory in the backend");
		for (uint32_t r = 0; r < gend; r++)
			gtemplate[r] = (struct ra_temp){ .reg = H_NONE, .in_mem = r >= 2, .slot = -1 };
		gtemplate_n = gend;
	}
	memcpy(c.t, gtemplate, gend * sizeof(*gtemplate));
	for (uint32_t r = gend; r < s->ntemps; r++) {
		c.t[r] = (struct ra_temp){ .reg = H_NONE, .in_mem = 0, .slot = -1 };
		if (s->temps[r].tb_wide)
			wide[c.nwide++] = r;
	}
	memset(labels, 0, (s->nlabels + 1) * sizeof(*labels));
	c.e = (struct emit){ .p = rw, .start = rw, .end = rw + avail, .rx_start = rx };

	cg_xcache_clear(&c);
	for (uint32_t i = 0; i < s->nops; i++) {
		if (!emit_room(&c.e, OP_MAX_BYTES))
			return 0;
		if (c.overflow || c.e.p - c.e.start + c.slow_bytes > TB_MAX_CODE) {
			tb->ninsns = c.ninsn;
			return HOST_GEN_TOO_BIG;
		}
		c.op_i = i;
		xcache_before(&c, &s->ops[i]);
		tool_fp_before(&c, s->ops, i, s->nops);
		struct ir_op *op = &s->ops[i];
		if ((op->opc == IR_ld_ptr || op->opc == IR_ld_env) && i + 2 < s->nops &&
		    fuse_counter(&c, op, op + 1, op + 2)) {
			i += 2;
			continue;
		}
		if (op->opc == IR_ld_env || op->opc == IR_st_env)
			pin_touch(&c, op->cargs[0], 1 << (op->cargs[1] & IR_MO_SIZE));
		else if (op->opc == IR_ld_ptr || op->opc == IR_st_ptr)
			cg_pin_flush(&c);	/* may point at the counter */
		if ((op->opc == IR_shl || op->opc == IR_add || op->opc == IR_sub) && !c.cfg->softmmu_on) {
			struct amode am;
			uint32_t n = match_amode(&c, i, &am);
			if (n) {
				c.locked = 0;
				c.op_i = i + n;
				gen_access(&c, op, n, &am);
				i += n;
				continue;
			}
		}
		if ((op->opc == IR_shl || op->opc == IR_add) && i + 1 < s->nops) {
			c.locked = 0;
			uint32_t took = fuse_lea(&c, op, s->nops - i - 1);
			if (took) {
				i += took;
				continue;
			}
		}
		if (op->opc == IR_ld_ptr && i + 1 < s->nops && fuse_ld_ptr_brcond(&c, op, op + 1)) {
			i++;
			continue;
		}
		if (op->opc == IR_ld_env && i + 1 < s->nops && fuse_ld_env_brcond(&c, op, op + 1)) {
			/* the exit-request check opening the TB: a second entry
			 * point past it (host.h: exit_request_off) */
			if (i == 0 && op->cargs[0] == c.cfg->jc.exit_request_off)
				tb->entry_nocheck = c.e.p - c.e.start;
			i++;
			continue;
		}
		gen_op(&c, op);
	}
	if (c.overflow) {	/* the last op's branch or spill slot */
		tb->ninsns = c.ninsn;
		return HOST_GEN_TOO_BIG;
	}
	if (c.nslow || c.nside) {
		if (!emit_room(&c.e, c.slow_bytes))
			return 0;
		softmmu_emit_slow_paths(&c);	/* (within TB_MAX_CODE: the loop counted them) */
		emit_side_syncs(&c);
		if (c.overflow) {	/* a side store's jump found no fixup */
			tb->ninsns = c.ninsn;
			return HOST_GEN_TOO_BIG;
		}
	}
	for (uint32_t i = 0; i < c.nfixups; i++) {
		uint8_t *at = c.label_at[c.fixups[i].label];
		if (!at)
			internal_error("TB 0x%lx: label L%u never set",
				       (unsigned long)tb->pc, c.fixups[i].label);
		emit_patch_rel32(c.fixups[i].field, &c.e, emit_rx(&c.e, at));
	}
	fmap_finish(&c);
	tb->ninsns = c.ninsn;
	return c.e.p - c.e.start;
}

void host_patch_jump(uint8_t *jmp_rw, const uint8_t *jmp_rx, const void *dest)
{
	int32_t rel = (int32_t)((uintptr_t)dest - ((uintptr_t)jmp_rx + 5));
	__atomic_store_n((uint32_t *)(jmp_rw + 1), (uint32_t)rel, __ATOMIC_RELEASE);
}

static void detect_host_features(void)
{
	unsigned a, b, cc, d;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(cc), "=d"(d) : "a"(1), "c"(0));
	cg_config.host_has_popcnt = cc & (1u << 23);
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(cc), "=d"(d) : "a"(7), "c"(0));
	cg_config.host_has_bmi1 = b & (1u << 3);
	host_bmi2 = b & (1u << 8);
	cg_config.host_has_bmi2 = host_bmi2;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(cc), "=d"(d) : "a"(0x80000001), "c"(0));
	cg_config.host_has_lzcnt = cc & (1u << 5);
}

size_t host_gen_prologue(uint8_t *rw, uint8_t *rx, size_t avail, host_enter_fn *enter,
			 const void **epilogue_exit)
{
	static const int8_t saved[] = { H_RBP, H_RBX, H_R12, H_R13, H_R14, H_R15 };
	struct emit e = { .p = rw, .start = rw, .end = rw + avail, .rx_start = rx };

	detect_host_features();
	/* host_enter(env, code): save callee-saved registers, env in rbp,
	 * reserve the spill frame, jump into the TB. */
	*enter = (host_enter_fn)(uintptr_t)emit_rx(&e, e.p);
	for (unsigned i = 0; i < sizeof(saved); i++)
		emit_push(&e, saved[i]);
	if (cg_config.pin_off)
		emit_arith_rr(&e, ARITH_XOR, false, PIN_REG, PIN_REG);	/* no delta yet */
	emit_mov_rr(&e, true, ENV_REG, H_RDI);
	emit_arith_ri(&e, ARITH_SUB, true, H_RSP, FRAME_SIZE);
	emit_jmp_reg(&e, H_RSI);

	cg_config.epilogue_exit0_rx = emit_rx(&e, e.p);
	*epilogue_exit = (const void *)cg_config.epilogue_exit0_rx;
	emit_arith_rr(&e, ARITH_XOR, false, H_RAX, H_RAX);
	cg_config.epilogue_ret_rx = emit_rx(&e, e.p);
	if (cg_config.pin_off)	/* the pinned counter's delta goes to memory */
		emit_modrm_offset(&e, OPC_ARITH_EvGv | P_REXW, PIN_REG, ENV_REG, cg_config.pin_off);
	emit_arith_ri(&e, ARITH_ADD, true, H_RSP, FRAME_SIZE);
	for (int i = sizeof(saved) - 1; i >= 0; i--)
		emit_pop(&e, saved[i]);
	emit_ret(&e);
	return e.p - e.start;
}

void host_disas(FILE *f, const uint8_t *code, size_t size)
{
	ZydisDisassembledInstruction insn;
	size_t off = 0;
	while (off < size) {
		if (!ZYAN_SUCCESS(ZydisDisassembleATT(ZYDIS_MACHINE_MODE_LONG_64,
						      (uintptr_t)code + off, code + off,
						      size - off, &insn))) {
			fprintf(f, "0x%lx: .byte 0x%02x\n", (unsigned long)(uintptr_t)code + off, code[off]);
			off++;
			continue;
		}
		fprintf(f, "0x%lx:  %s\n", (unsigned long)(uintptr_t)code + off, insn.text);
		off += insn.info.length;
	}
}
