/*
 * x87 lifters: every x87 instruction form becomes one call of helper_x87
 * with a row of X87_OPS (x87.h), except FNSTSW and FNSTCW, which read the
 * state in env with IR.  The FPU state lives in env (cpu->fpu), never in
 * IR globals; the helper runs the host FPU on it.
 *
 * Memory operands go through IR loads and stores so faults are exact and
 * instrumentation sees them: an operand the row reads is loaded (an m80 as
 * a 64-bit and a 16-bit load) and staged in cpu->xtmp before the call; a
 * result the row writes is left by the helper in cpu->xtmp with the
 * post-instruction status as its return value, and stored here, after
 * which that status, FIP, FOP and FDP are committed.  The environment and
 * save-area instructions (FNSTENV, FNSAVE, FXSAVE, ...) access their
 * 14-512 bytes from the helper, which reads or writes guest memory whole
 * before it changes the FPU.
 *
 * Invariant: rip is stored before every helper call (a pending unmasked
 * exception raises #MF there, a save area may fault), and a store row's
 * status is committed only after its last store.
 */
#include "guest/x86/translate.h"
#include "guest/x86/x87.h"

#define XTMP CPU_OFF(xtmp)
#define FPU(field) CPU_OFF(fpu.field)

_Static_assert(offsetof(struct x87_state, ftw) == offsetof(struct x87_state, fsw) + 2,
	       "a store row's commit writes fsw and ftw as one 32-bit value");

/* ---- operands ---- */

/* The i of ST(i) in visible operand k, or in the last visible operand for
 * k < 0 (Zydis shows FUCOMP as "st0, st(i)" but FCOMP as "st(i)"). */
static int st_index(struct dc *s, int k)
{
	if (k < 0)
		k = s->insn.operand_count_visible - 1;
	if (k < 0)
		return -1;
	const ZydisDecodedOperand *o = &s->op[k];
	if (o->type != ZYDIS_OPERAND_TYPE_REGISTER || o->reg.value < ZYDIS_REGISTER_ST0 ||
	    o->reg.value > ZYDIS_REGISTER_ST7)
		return -1;
	return o->reg.value - ZYDIS_REGISTER_ST0;
}

/* The memory operand's size in bits, or 0 when the instruction has no
 * visible memory operand. */
static int mem_bits(struct dc *s)
{
	if (s->insn.operand_count_visible < 1 || !op_is_mem(s, 0))
		return 0;
	return s->op[0].size;
}

/* FOP: the low three bits of the first opcode byte, then ModRM. */
static unsigned fop_of(struct dc *s)
{
	const ZydisDecodedInstruction *in = &s->insn;
	return (in->opcode & 7) << 8 | in->raw.modrm.mod << 6 | in->raw.modrm.reg << 3 |
	       in->raw.modrm.rm;
}

static int memop_of(unsigned fl)
{
	switch (fl & XF_SZ_MASK) {
	case XF_SZ16: return IR_MO_16;
	case XF_SZ32: return IR_MO_32;
	default: return IR_MO_64;
	}
}

/* ---- the call ---- */

/* Row op with ST(i) and, for FCMOVcc, the condition cond.  Stages the
 * memory operand, calls the helper, stores and commits a store row's
 * result, and records FCOMI's flags. */
static bool gen_x87_call(struct dc *s, enum x87_op op, int i, ir_ref cond)
{
	unsigned fl = x87_op_flags[op];
	ir_ref ea = 0, arg;

	if ((fl & (XF_IN | XF_OUT | XF_MEM)) && !mem_bits(s))
		return false;
	gen_sync_pc(s, s->pc);
	if (fl & (XF_IN | XF_OUT | XF_MEM))
		ea = gen_ea(s, &s->op[0]);
	/* A pending unmasked exception (#MF) comes before the operand's
	 * load can fault, as on the CPU; the helper checks it again. */
	if ((fl & XF_WAIT) && (fl & XF_IN))
		gen_mmx_check(s);
	if (fl & XF_IN) {
		if ((fl & XF_SZ_MASK) == XF_SZ80) {
			ir_ref lo = ir_ld(s, ea, IR_MO_64);
			ir_ref hi = ir_ld(s, ir_bin(s, IR_add, ea, cst(s, 8)), IR_MO_16);
			ir_stenv(s, lo, XTMP, IR_MO_64);
			ir_stenv(s, hi, XTMP + 8, IR_MO_16);
		} else {
			int mo = memop_of(fl);
			ir_stenv(s, ir_ld(s, ea, mo), XTMP, mo);
		}
	}
	arg = cond ? cond : ea ? ea : cst(s, 0);
	ir_ref ret = gen_helper(s, HELPER_x87, 3, s->ir->env, cst(s, X87_OP(op, i, fop_of(s))), arg);

	if (fl & XF_OUT) {
		uint32_t skip = ir_new_label(s->ir);
		ir_brc(s, IR_TSTEQ, ret, cst(s, X87_RET_STORE), skip);
		if ((fl & XF_SZ_MASK) == XF_SZ80) {
			ir_ref lo = ir_ldenv(s, XTMP, IR_MO_64);
			ir_ref hi = ir_ldenv(s, XTMP + 8, IR_MO_16);
			ir_st(s, lo, ea, IR_MO_64);
			ir_st(s, hi, ir_bin(s, IR_add, ea, cst(s, 8)), IR_MO_16);
		} else {
			int mo = memop_of(fl);
			ir_st(s, ir_ldenv(s, XTMP, mo), ea, mo);
		}
		set_label(s, skip);
		ir_stenv(s, ret, FPU(fsw), IR_MO_32);	/* fsw and ftw */
		ir_stenv(s, ir_bin(s, IR_shr, ret, cst(s, 32)), FPU(top), IR_MO_8);
		ir_stenv(s, cst(s, s->pc), FPU(fpip), IR_MO_64);
		/* FOP and FDP: only after an unmasked exception on a host
		 * that keeps them so (x87.h) */
		uint32_t kept = ir_new_label(s->ir);
		if (x87_host_fop_exc_only || x87_host_fdp_exc_only)
			ir_brc(s, IR_TSTEQ, ret, cst(s, FSW_ES), kept);
		if (x87_host_fop_exc_only)
			ir_stenv(s, cst(s, fop_of(s)), FPU(fop), IR_MO_16);
		if (x87_host_fdp_exc_only)
			ir_stenv(s, ea, FPU(fpdp), IR_MO_64);
		set_label(s, kept);
		if (!x87_host_fop_exc_only)
			ir_stenv(s, cst(s, fop_of(s)), FPU(fop), IR_MO_16);
		if (!x87_host_fdp_exc_only)
			ir_stenv(s, ea, FPU(fpdp), IR_MO_64);
	}
	if (fl & XF_EFL)
		gen_set_cc(s, CC_OP_EFLAGS, 0, ret, 0);
	return true;
}

static bool gen_x87(struct dc *s, enum x87_op op)
{
	return gen_x87_call(s, op, 0, 0);
}

/* One of three rows by the memory operand's size in bits. */
static bool gen_x87_sized(struct dc *s, int b0, enum x87_op o0, int b1, enum x87_op o1,
			  int b2, enum x87_op o2)
{
	int bits = mem_bits(s);
	if (bits && bits == b0)
		return gen_x87(s, o0);
	if (bits && bits == b1)
		return gen_x87(s, o1);
	if (bits && bits == b2)
		return gen_x87(s, o2);
	return false;
}

/* A row with an ST(i) operand in visible operand k (see st_index). */
static bool gen_x87_st(struct dc *s, enum x87_op op, int k)
{
	int i = st_index(s, k);
	if (i < 0)
		return false;
	return gen_x87_call(s, op, i, 0);
}

/* ---- loads and stores ---- */

static bool gen_FLD(struct dc *s)
{
	if (st_index(s, -1) >= 0)
		return gen_x87_st(s, X87_FLD_STI, -1);
	return gen_x87_sized(s, 32, X87_FLD_M32, 64, X87_FLD_M64, 80, X87_FLD_M80);
}

static bool gen_FILD(struct dc *s)
{
	return gen_x87_sized(s, 16, X87_FILD_M16, 32, X87_FILD_M32, 64, X87_FILD_M64);
}

static bool gen_FBLD(struct dc *s) { return gen_x87_sized(s, 80, X87_FBLD, -1, 0, -1, 0); }
static bool gen_FLD1(struct dc *s) { return gen_x87(s, X87_FLD1); }
static bool gen_FLDZ(struct dc *s) { return gen_x87(s, X87_FLDZ); }
static bool gen_FLDPI(struct dc *s) { return gen_x87(s, X87_FLDPI); }
static bool gen_FLDL2E(struct dc *s) { return gen_x87(s, X87_FLDL2E); }
static bool gen_FLDL2T(struct dc *s) { return gen_x87(s, X87_FLDL2T); }
static bool gen_FLDLG2(struct dc *s) { return gen_x87(s, X87_FLDLG2); }
static bool gen_FLDLN2(struct dc *s) { return gen_x87(s, X87_FLDLN2); }

static bool gen_FST(struct dc *s)
{
	if (st_index(s, -1) >= 0)
		return gen_x87_st(s, X87_FST_STI, -1);
	return gen_x87_sized(s, 32, X87_FST_M32, 64, X87_FST_M64, -1, 0);
}

static bool gen_FSTP(struct dc *s)
{
	if (st_index(s, -1) >= 0)
		return gen_x87_st(s, X87_FSTP_STI, -1);
	return gen_x87_sized(s, 32, X87_FSTP_M32, 64, X87_FSTP_M64, 80, X87_FSTP_M80);
}

/* D9 D8+i: FSTP ST(i) without the stack-underflow check (an empty ST(0)
 * just pops, as the host shows): a row of its own. */
static bool gen_FSTPNCE(struct dc *s) { return gen_x87_st(s, X87_FSTPNCE_STI, -1); }

static bool gen_FIST(struct dc *s)
{
	return gen_x87_sized(s, 16, X87_FIST_M16, 32, X87_FIST_M32, -1, 0);
}

static bool gen_FISTP(struct dc *s)
{
	return gen_x87_sized(s, 16, X87_FISTP_M16, 32, X87_FISTP_M32, 64, X87_FISTP_M64);
}

static bool gen_FISTTP(struct dc *s)
{
	static int host = -1;
	if (host < 0)
		host = x87_host_has_fisttp();
	if (!host)
		return false;
	return gen_x87_sized(s, 16, X87_FISTTP_M16, 32, X87_FISTTP_M32, 64, X87_FISTTP_M64);
}

static bool gen_FBSTP(struct dc *s) { return gen_x87_sized(s, 80, X87_FBSTP, -1, 0, -1, 0); }

/* ---- arithmetic ---- */

/*
 * FADD and friends by encoding: D8/DC with a memory operand (m32/m64),
 * D8 C0+i (ST(0) = ST(0) op ST(i)), DC C0+i (ST(i) = ST(i) op ST(0)); the
 * popping forms are DE C0+i.  The opcode byte tells D8 from DC when both
 * operands are ST(0).
 */
static bool gen_arith(struct dc *s, enum x87_op m32, enum x87_op m64, enum x87_op st0_sti,
		      enum x87_op sti_st0)
{
	if (mem_bits(s))
		return gen_x87_sized(s, 32, m32, 64, m64, -1, 0);
	if (s->insn.operand_count_visible != 2)
		return false;
	if (s->insn.opcode == 0xd8)
		return gen_x87_st(s, st0_sti, 1);
	if (s->insn.opcode == 0xdc)
		return gen_x87_st(s, sti_st0, 0);
	return false;
}

#define ARITH(OP)							\
static bool gen_F##OP(struct dc *s)					\
{									\
	return gen_arith(s, X87_F##OP##_M32, X87_F##OP##_M64, X87_F##OP##_ST0_STI,	\
			 X87_F##OP##_STI_ST0);					\
}									\
static bool gen_F##OP##P(struct dc *s)					\
{									\
	if (s->insn.opcode != 0xde)					\
		return false;						\
	return gen_x87_st(s, X87_F##OP##P_STI, 0);			\
}									\
static bool gen_FI##OP(struct dc *s)					\
{									\
	return gen_x87_sized(s, 16, X87_FI##OP##_M16, 32, X87_FI##OP##_M32, -1, 0); \
}
ARITH(ADD)
ARITH(MUL)
ARITH(SUB)
ARITH(SUBR)
ARITH(DIV)
ARITH(DIVR)
#undef ARITH

static bool gen_FCHS(struct dc *s) { return gen_x87(s, X87_FCHS); }
static bool gen_FABS(struct dc *s) { return gen_x87(s, X87_FABS); }
static bool gen_FSQRT(struct dc *s) { return gen_x87(s, X87_FSQRT); }
static bool gen_FRNDINT(struct dc *s) { return gen_x87(s, X87_FRNDINT); }
static bool gen_F2XM1(struct dc *s) { return gen_x87(s, X87_F2XM1); }
static bool gen_FSIN(struct dc *s) { return gen_x87(s, X87_FSIN); }
static bool gen_FCOS(struct dc *s) { return gen_x87(s, X87_FCOS); }
static bool gen_FSINCOS(struct dc *s) { return gen_x87(s, X87_FSINCOS); }
static bool gen_FPTAN(struct dc *s) { return gen_x87(s, X87_FPTAN); }
static bool gen_FPATAN(struct dc *s) { return gen_x87(s, X87_FPATAN); }
static bool gen_FYL2X(struct dc *s) { return gen_x87(s, X87_FYL2X); }
static bool gen_FYL2XP1(struct dc *s) { return gen_x87(s, X87_FYL2XP1); }
static bool gen_FSCALE(struct dc *s) { return gen_x87(s, X87_FSCALE); }
static bool gen_FXTRACT(struct dc *s) { return gen_x87(s, X87_FXTRACT); }
static bool gen_FPREM(struct dc *s) { return gen_x87(s, X87_FPREM); }
static bool gen_FPREM1(struct dc *s) { return gen_x87(s, X87_FPREM1); }

/* ---- compares ---- */

static bool gen_FCOM(struct dc *s)
{
	if (st_index(s, -1) >= 0)
		return gen_x87_st(s, X87_FCOM_STI, -1);
	return gen_x87_sized(s, 32, X87_FCOM_M32, 64, X87_FCOM_M64, -1, 0);
}

static bool gen_FCOMP(struct dc *s)
{
	if (st_index(s, -1) >= 0)
		return gen_x87_st(s, X87_FCOMP_STI, -1);
	return gen_x87_sized(s, 32, X87_FCOMP_M32, 64, X87_FCOMP_M64, -1, 0);
}

static bool gen_FICOM(struct dc *s)
{
	return gen_x87_sized(s, 16, X87_FICOM_M16, 32, X87_FICOM_M32, -1, 0);
}

static bool gen_FICOMP(struct dc *s)
{
	return gen_x87_sized(s, 16, X87_FICOMP_M16, 32, X87_FICOMP_M32, -1, 0);
}

static bool gen_FCOMPP(struct dc *s) { return gen_x87(s, X87_FCOMPP); }
static bool gen_FUCOMPP(struct dc *s) { return gen_x87(s, X87_FUCOMPP); }
static bool gen_FUCOM(struct dc *s) { return gen_x87_st(s, X87_FUCOM_STI, -1); }
static bool gen_FUCOMP(struct dc *s) { return gen_x87_st(s, X87_FUCOMP_STI, -1); }
static bool gen_FTST(struct dc *s) { return gen_x87(s, X87_FTST); }
static bool gen_FXAM(struct dc *s) { return gen_x87(s, X87_FXAM); }

/* FCOMI ST(0), ST(i) and friends: ZF PF CF from the compare, OF SF AF
 * cleared (the helper returns the flags; with an unmasked invalid
 * operation they are the old ones). */
static bool gen_FCOMI(struct dc *s) { return gen_x87_st(s, X87_FCOMI_STI, 1); }
static bool gen_FCOMIP(struct dc *s) { return gen_x87_st(s, X87_FCOMIP_STI, 1); }
static bool gen_FUCOMI(struct dc *s) { return gen_x87_st(s, X87_FUCOMI_STI, 1); }
static bool gen_FUCOMIP(struct dc *s) { return gen_x87_st(s, X87_FUCOMIP_STI, 1); }

/* FCMOVcc ST(0), ST(i): the condition is evaluated here, from the lazy
 * flags, and passed to the helper, which checks the operands either way. */
static bool gen_fcmov(struct dc *s, int jcc)
{
	int i = st_index(s, 1);
	if (i < 0)
		return false;
	struct cc_test t = gen_prepare_cc(s, jcc);
	ir_ref cond = ir_setc(s, t.cond, t.a, t.b);
	return gen_x87_call(s, X87_FCMOV_STI, i, cond);
}

static bool gen_FCMOVB(struct dc *s) { return gen_fcmov(s, 2); }
static bool gen_FCMOVNB(struct dc *s) { return gen_fcmov(s, 3); }
static bool gen_FCMOVE(struct dc *s) { return gen_fcmov(s, 4); }
static bool gen_FCMOVNE(struct dc *s) { return gen_fcmov(s, 5); }
static bool gen_FCMOVBE(struct dc *s) { return gen_fcmov(s, 6); }
static bool gen_FCMOVNBE(struct dc *s) { return gen_fcmov(s, 7); }
static bool gen_FCMOVU(struct dc *s) { return gen_fcmov(s, 10); }
static bool gen_FCMOVNU(struct dc *s) { return gen_fcmov(s, 11); }

/* ---- stack and control ---- */

static bool gen_FXCH(struct dc *s) { return gen_x87_st(s, X87_FXCH_STI, -1); }
static bool gen_FFREE(struct dc *s) { return gen_x87_st(s, X87_FFREE_STI, -1); }
static bool gen_FFREEP(struct dc *s) { return gen_x87_st(s, X87_FFREEP_STI, -1); }
static bool gen_FINCSTP(struct dc *s) { return gen_x87(s, X87_FINCSTP); }
static bool gen_FDECSTP(struct dc *s) { return gen_x87(s, X87_FDECSTP); }
static bool gen_FNOP(struct dc *s) { return gen_x87(s, X87_FNOP); }

/* FNENI, FNDISI, FNSETPM: 8087/287 controls that later FPUs ignore without
 * touching any state or waiting. */
static bool gen_x87_nothing(struct dc *s) { return true; }
static bool gen_FWAIT(struct dc *s) { return gen_x87(s, X87_FWAIT); }
static bool gen_FNCLEX(struct dc *s) { return gen_x87(s, X87_FNCLEX); }
static bool gen_FNINIT(struct dc *s) { return gen_x87(s, X87_FNINIT); }
static bool gen_FLDCW(struct dc *s) { return gen_x87_sized(s, 16, X87_FLDCW, -1, 0, -1, 0); }

/* FNSTSW and FNSTCW wait for nothing and cannot raise: plain IR. */
static bool gen_FNSTSW(struct dc *s)
{
	ir_ref sw = ir_ldenv(s, FPU(fsw), IR_MO_16);
	ir_ref top = ir_ldenv(s, FPU(top), IR_MO_8);
	ir_ref v = ir_bin(s, IR_or, sw, ir_bin(s, IR_shl, top, cst(s, 11)));
	if (s->insn.operand_count_visible != 1)
		return false;
	if (op_is_mem(s, 0)) {
		ir_st(s, v, gen_ea(s, &s->op[0]), IR_MO_16);
		return true;
	}
	if (s->op[0].type == ZYDIS_OPERAND_TYPE_REGISTER && s->op[0].reg.value == ZYDIS_REGISTER_AX) {
		gen_st_reg(s, R_RAX, 1, v);
		return true;
	}
	return false;
}

static bool gen_FNSTCW(struct dc *s)
{
	if (mem_bits(s) != 16)
		return false;
	ir_st(s, ir_ldenv(s, FPU(fcw), IR_MO_16), gen_ea(s, &s->op[0]), IR_MO_16);
	return true;
}

/* The 16-bit operand size selects the 14/94-byte layouts, which need
 * 2-byte alignment under alignment checking (4 for the others). */
static bool gen_env(struct dc *s, enum x87_op op32, enum x87_op op16)
{
	if (op_is_mem(s, 0))
		gen_ac_check(s, gen_ea(s, &s->op[0]), s->insn.operand_width == 16 ? 2 : 4);
	return gen_x87(s, s->insn.operand_width == 16 ? op16 : op32);
}

/* FXSAVE and FXRSTOR: an area not on a 16-byte boundary is #GP, or #AC
 * under alignment checking (the SDM leaves which to the processor); the
 * CPUs met so far raise #AC when the area is not on a 4-byte boundary
 * either, #GP otherwise. */
static bool gen_fx(struct dc *s, enum x87_op op)
{
	if (op_is_mem(s, 0))
		gen_ac_check(s, gen_ea(s, &s->op[0]), 4);
	return gen_x87(s, op);
}

static bool gen_FNSTENV(struct dc *s) { return gen_env(s, X87_FNSTENV, X87_FNSTENV16); }
static bool gen_FLDENV(struct dc *s) { return gen_env(s, X87_FLDENV, X87_FLDENV16); }
static bool gen_FNSAVE(struct dc *s) { return gen_env(s, X87_FNSAVE, X87_FNSAVE16); }
static bool gen_FRSTOR(struct dc *s) { return gen_env(s, X87_FRSTOR, X87_FRSTOR16); }
static bool gen_FXSAVE(struct dc *s) { return gen_fx(s, X87_FXSAVE); }
static bool gen_FXSAVE64(struct dc *s) { return gen_fx(s, X87_FXSAVE64); }
static bool gen_FXRSTOR(struct dc *s) { return gen_fx(s, X87_FXRSTOR); }
static bool gen_FXRSTOR64(struct dc *s) { return gen_fx(s, X87_FXRSTOR64); }

/* ---- the table ---- */

#define E(name) { ZYDIS_MNEMONIC_##name, gen_##name },

const struct lift_entry lift_x87_table[] = {
	E(FLD) E(FILD) E(FBLD) E(FLD1) E(FLDZ) E(FLDPI) E(FLDL2E) E(FLDL2T) E(FLDLG2) E(FLDLN2)
	E(FST) E(FSTP) E(FSTPNCE) E(FIST) E(FISTP) E(FISTTP) E(FBSTP)
	E(FADD) E(FADDP) E(FIADD) E(FMUL) E(FMULP) E(FIMUL)
	E(FSUB) E(FSUBP) E(FISUB) E(FSUBR) E(FSUBRP) E(FISUBR)
	E(FDIV) E(FDIVP) E(FIDIV) E(FDIVR) E(FDIVRP) E(FIDIVR)
	E(FCHS) E(FABS) E(FSQRT) E(FRNDINT) E(F2XM1) E(FSIN) E(FCOS) E(FSINCOS) E(FPTAN)
	E(FPATAN) E(FYL2X) E(FYL2XP1) E(FSCALE) E(FXTRACT) E(FPREM) E(FPREM1)
	E(FCOM) E(FCOMP) E(FCOMPP) E(FUCOM) E(FUCOMP) E(FUCOMPP) E(FICOM) E(FICOMP)
	E(FTST) E(FXAM) E(FCOMI) E(FCOMIP) E(FUCOMI) E(FUCOMIP)
	E(FCMOVB) E(FCMOVNB) E(FCMOVE) E(FCMOVNE) E(FCMOVBE) E(FCMOVNBE) E(FCMOVU) E(FCMOVNU)
	E(FXCH) E(FFREE) E(FFREEP) E(FINCSTP) E(FDECSTP) E(FNOP) E(FWAIT)
	E(FNSTSW) E(FNSTCW) E(FLDCW) E(FNCLEX) E(FNINIT)
	{ ZYDIS_MNEMONIC_FENI8087_NOP, gen_x87_nothing },
	{ ZYDIS_MNEMONIC_FDISI8087_NOP, gen_x87_nothing },
	{ ZYDIS_MNEMONIC_FSETPM287_NOP, gen_x87_nothing },
	E(FNSTENV) E(FLDENV) E(FNSAVE) E(FRSTOR) E(FXSAVE) E(FXSAVE64) E(FXRSTOR) E(FXRSTOR64)
	{ ZYDIS_MNEMONIC_INVALID, NULL }
};
