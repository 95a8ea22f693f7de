/*
 * System mode's lifters: the instructions whose meaning depends on the
 * privilege level and on the machine around the CPU -- control, debug and
 * model-specific registers, descriptor tables, segment loads, syscall,
 * sysret, iret, int n, hlt, cli/sti, popf, port I/O, cpuid, rdtsc.
 *
 * translate.c consults this table only for TBs translated with
 * X86_CF_SYSTEM; user mode never reaches it, so its code is unchanged.
 * The TB's mode bits tell the CPL it was translated for: at CPL 0 a
 * privileged instruction becomes a call of helper_sys_priv (sys-helpers.c);
 * at CPL 3 it becomes #GP(0).  Instructions whose permission depends on
 * IOPL, CR4 or the TSS (cli, sti, popf, in, out, rdtsc) always call the
 * helper, which decides.  A form this file does not handle goes to the
 * user-mode lifter (gen_user).
 *
 * Invariant: every call stores the instruction's own rip first (faults are
 * exact), and an instruction that changes the mode bits, paging, the
 * interrupt flag or rip ends the TB unchained.
 */
#include "guest/x86/sys.h"
#include "guest/x86/translate.h"
#include "util/log.h"

static bool cpl0(struct dc *s) { return !(s->tb->flags & X86_CF_CPL3); }

static ir_ref priv(struct dc *s, int op, ir_ref a, ir_ref b)
{
	gen_sync_pc(s, s->pc);
	return gen_helper(s, HELPER_sys_priv, 4, s->ir->env, cst(s, op), a, b);
}

static ir_ref priv_c(struct dc *s, int op, uint64_t a, uint64_t b)
{
	return priv(s, op, cst(s, a), cst(s, b));
}

/* A fault the TB raises unconditionally (#GP(0) for privileged
 * instructions at CPL 3). */
static bool gen_sys_fault(struct dc *s, int vector, bool has_err, uint32_t err)
{
	if (has_err)
		gen_exception_err(s, vector, err);
	else
		gen_exception(s, vector);
	return true;
}

static bool gen_gp0(struct dc *s) { return gen_sys_fault(s, X86_EXC_GP, true, 0); }

/* After a helper that changed the mode, paging or IF: continue at the
 * next instruction through the exec loop. */
static void end_tb_next(struct dc *s)
{
	gen_sync_pc(s, s->next_pc);
	gen_exit_nochain(s);
	s->state = DISAS_EXITED;
}

/* After a helper that set rip itself. */
static void end_tb_rip(struct dc *s)
{
	gen_exit_nochain(s);
	s->state = DISAS_EXITED;
}

static int reg_class(struct dc *s, int i)
{
	if (s->op[i].type != ZYDIS_OPERAND_TYPE_REGISTER)
		return -1;
	return ZydisRegisterGetClass(s->op[i].reg.value);
}

/* ---- control and debug registers; segment loads ---- */

static bool gen_mov_crdr(struct dc *s)
{
	bool to = reg_class(s, 0) == ZYDIS_REGCLASS_CONTROL || reg_class(s, 0) == ZYDIS_REGCLASS_DEBUG;
	int sys_op = to ? 0 : 1, gpr_op = to ? 1 : 0;
	bool cr = reg_class(s, sys_op) == ZYDIS_REGCLASS_CONTROL;
	int n = s->op[sys_op].reg.value - (cr ? ZYDIS_REGISTER_CR0 : ZYDIS_REGISTER_DR0);
	int r = reg_index(s->op[gpr_op].reg.value);
	if (r < 0)
		return false;
	if (!cpl0(s))
		return gen_gp0(s);
	if (!to) {
		ir_ref v = priv_c(s, cr ? SYSOP_RDCR : SYSOP_RDDR, n, 0);
		ir_mov(s, G.regs[r], v);
		return true;
	}
	priv(s, cr ? SYSOP_WRCR : SYSOP_WRDR, cst(s, n), G.regs[r]);
	if (cr && n != 2)
		end_tb_next(s);
	return true;
}

static void gen_sys_load_sreg(struct dc *s, int sreg, ir_ref v)
{
	priv(s, SYSOP_SEG_LOAD, cst(s, sreg), ir_bin(s, IR_and, v, cst(s, 0xffff)));
}

static int sreg_index(struct dc *s, int i)
{
	if (reg_class(s, i) != ZYDIS_REGCLASS_SEGMENT)
		return -1;
	return s->op[i].reg.value - ZYDIS_REGISTER_ES;
}

static bool gen_MOV(struct dc *s)
{
	int c0 = reg_class(s, 0), c1 = reg_class(s, 1);
	if (c0 == ZYDIS_REGCLASS_CONTROL || c0 == ZYDIS_REGCLASS_DEBUG ||
	    c1 == ZYDIS_REGCLASS_CONTROL || c1 == ZYDIS_REGCLASS_DEBUG)
		return gen_mov_crdr(s);
	int to = sreg_index(s, 0);
	if (to < 0)
		return gen_user(s);
	if (to == SREG_CS || to > SREG_GS)
		return gen_sys_fault(s, X86_EXC_UD, false, 0);
	gen_sys_load_sreg(s, to, gen_ld_op(s, 1));
	/* mov ss shadows the next instruction as sti does (so that a stack
	 * switch's mov rsp follows it uninterrupted) */
	if (to == SREG_SS)
		s->irq_shadow = true;
	return true;
}

/* pop ds/es/ss/fs/gs: rsp moves only once the selector loaded. */
static bool gen_POP(struct dc *s)
{
	int sreg = sreg_index(s, 0);
	if (sreg < 0)
		return gen_user(s);
	ir_ref nsp;
	ir_ref v = gen_pop_value(s, size_of_bits(s->insn.operand_width), &nsp);
	gen_sys_load_sreg(s, sreg, v);
	ir_mov(s, G.regs[R_RSP], nsp);
	return true;
}

static bool gen_load_far(struct dc *s, int sreg)
{
	if (!op_is_mem(s, 1))
		return false;
	int size = size_of_bits(s->insn.operand_width);
	ir_ref ea = gen_ea(s, &s->op[1]);
	ir_ref off = ir_ld(s, ea, size);
	ir_ref sel = ir_ld(s, ir_bin(s, IR_add, ea, cst(s, 1 << size)), IR_MO_16);
	gen_sys_load_sreg(s, sreg, sel);
	gen_st_op(s, 0, off);
	return true;
}

static bool gen_LSS(struct dc *s) { return gen_load_far(s, SREG_SS); }
static bool gen_LFS(struct dc *s) { return gen_load_far(s, SREG_FS); }
static bool gen_LGS(struct dc *s) { return gen_load_far(s, SREG_GS); }

/* Far jmp/call/ret change CS: through the descriptor table. */
static bool gen_far(struct dc *s, int kind)
{
	uint64_t op = kind | size_of_bits(s->insn.operand_width) << 4 | s->insn.length << 8;
	ir_ref ea;
	if (kind == FAR_RET) {
		ea = G.regs[R_RSP];
		if (s->insn.operand_count_visible && s->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
			op |= (s->op[0].imm.value.u & 0xffff) << 16;
	} else {
		if (!op_is_mem(s, 0))
			return false;
		ea = gen_ea(s, &s->op[0]);
	}
	priv(s, SYSOP_FAR, ea, cst(s, op));
	end_tb_rip(s);
	return true;
}

static bool is_far(struct dc *s) { return s->insn.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR; }
static bool gen_JMP(struct dc *s) { return is_far(s) ? gen_far(s, FAR_JMP) : gen_user(s); }
static bool gen_CALL(struct dc *s) { return is_far(s) ? gen_far(s, FAR_CALL) : gen_user(s); }
static bool gen_RET(struct dc *s) { return is_far(s) ? gen_far(s, FAR_RET) : gen_user(s); }

/* ---- descriptor tables ---- */

static bool gen_ldt_op(struct dc *s, int op)
{
	if (!cpl0(s))
		return gen_gp0(s);
	ir_ref a;
	if (op == SYSOP_LGDT || op == SYSOP_LIDT) {
		if (!op_is_mem(s, 0))
			return false;
		a = gen_ea(s, &s->op[0]);
	} else {
		a = ir_bin(s, IR_and, gen_ld_op(s, 0), cst(s, 0xffff));
	}
	priv(s, op, a, cst(s, 0));
	return true;
}

static bool gen_LGDT(struct dc *s) { return gen_ldt_op(s, SYSOP_LGDT); }
static bool gen_LIDT(struct dc *s) { return gen_ldt_op(s, SYSOP_LIDT); }
static bool gen_LLDT(struct dc *s) { return gen_ldt_op(s, SYSOP_LLDT); }
static bool gen_LTR(struct dc *s) { return gen_ldt_op(s, SYSOP_LTR); }

/* sgdt/sidt and sldt/str/smsw: any CPL (the model has no UMIP). */
static bool gen_SGDT(struct dc *s)
{
	if (!op_is_mem(s, 0))
		return false;
	priv(s, SYSOP_SGDT, gen_ea(s, &s->op[0]), cst(s, 0));
	return true;
}

static bool gen_SIDT(struct dc *s)
{
	if (!op_is_mem(s, 0))
		return false;
	priv(s, SYSOP_SIDT, gen_ea(s, &s->op[0]), cst(s, 0));
	return true;
}

static bool gen_store_sysreg(struct dc *s, int op)
{
	ir_ref v = priv_c(s, op, 0, 0);
	if (op_is_mem(s, 0)) {
		ir_st(s, v, gen_ea(s, &s->op[0]), IR_MO_16);
		return true;
	}
	if (reg_index(s->op[0].reg.value) < 0)
		return false;
	gen_st_op(s, 0, v);
	return true;
}

static bool gen_SLDT(struct dc *s) { return gen_store_sysreg(s, SYSOP_SLDT); }
static bool gen_STR(struct dc *s) { return gen_store_sysreg(s, SYSOP_STR); }
static bool gen_SMSW(struct dc *s) { return gen_store_sysreg(s, SYSOP_SMSW); }

static bool gen_LMSW(struct dc *s)
{
	if (!cpl0(s))
		return gen_gp0(s);
	priv(s, SYSOP_LMSW, gen_ld_op(s, 0), cst(s, 0));
	end_tb_next(s);
	return true;
}

/* ---- the other CPL-0 instructions ---- */

static bool gen_simple(struct dc *s, int op, bool ends)
{
	if (!cpl0(s))
		return gen_gp0(s);
	priv_c(s, op, 0, 0);
	if (ends)
		end_tb_next(s);
	return true;
}

static bool gen_CLTS(struct dc *s) { return gen_simple(s, SYSOP_CLTS, true); }
static bool gen_SWAPGS(struct dc *s) { return gen_simple(s, SYSOP_SWAPGS, false); }
static bool gen_RDMSR(struct dc *s) { return gen_simple(s, SYSOP_RDMSR, false); }
static bool gen_WRMSR(struct dc *s) { return gen_simple(s, SYSOP_WRMSR, true); }
static bool gen_XSETBV(struct dc *s) { return gen_simple(s, SYSOP_XSETBV, true); }

/* Caches are the host's: nothing to write back or drop. */
static bool gen_WBINVD(struct dc *s) { return cpl0(s) ? true : gen_gp0(s); }

static bool gen_INVLPG(struct dc *s)
{
	if (!cpl0(s))
		return gen_gp0(s);
	if (!op_is_mem(s, 0))
		return false;
	priv(s, SYSOP_INVLPG, gen_ea(s, &s->op[0]), cst(s, 0));
	end_tb_next(s);
	return true;
}

static bool gen_HLT(struct dc *s)
{
	if (!cpl0(s))
		return gen_gp0(s);
	priv_c(s, SYSOP_HLT, s->insn.length, 0);
	end_tb_rip(s);
	return true;
}

static bool gen_CLI(struct dc *s)
{
	priv_c(s, SYSOP_CLI, s->insn.length, 0);
	return true;
}

/* sti: interrupts wait until the next instruction is done (the shadow),
 * which translate.c keeps in this TB and follows with an exit. */
static bool gen_STI(struct dc *s)
{
	priv_c(s, SYSOP_STI, s->insn.length, 0);
	s->irq_shadow = true;
	return true;
}

static bool gen_POPF(struct dc *s)
{
	int size = s->insn.operand_width == 16 ? 1 : 3;
	ir_ref nsp;
	ir_ref v = gen_pop_value(s, size, &nsp);
	priv(s, SYSOP_POPF, v, cst(s, size));
	ir_mov(s, G.regs[R_RSP], nsp);
	s->cc_op = CC_OP_DYNAMIC;
	s->cc_srcT = 0;
	end_tb_next(s);
	return true;
}

bool gen_unsupported_mode(struct dc *s)
{
	if (log_enabled(LOG_UNIMP))
		log_printf("loom: code at 0x%llx is not 64-bit code (CS.L clear): #UD\n",
			   (unsigned long long)s->pc);
	ir_emit(s->ir, IR_insn_start, IR_I64, NULL, (int64_t[]){ s->pc, 1 });
	return gen_sys_fault(s, X86_EXC_UD, false, 0);
}

ir_ref gen_sys_desc(struct dc *s, int op, ir_ref sel)
{
	return priv(s, SYSOP_DESC, cst(s, op), sel);
}

static bool gen_RDPID(struct dc *s)
{
	if (op_is_mem(s, 0))
		return false;
	gen_st_op(s, 0, priv_c(s, SYSOP_RDPID, 0, 0));
	return true;
}

static bool gen_XGETBV(struct dc *s) { priv_c(s, SYSOP_XGETBV, 0, 0); return true; }

static bool gen_CPUID(struct dc *s) { priv_c(s, SYSOP_CPUID, 0, 0); return true; }
static bool gen_RDTSC(struct dc *s) { priv_c(s, SYSOP_RDTSC, 0, 0); return true; }
static bool gen_RDTSCP(struct dc *s) { priv_c(s, SYSOP_RDTSCP, 0, 0); return true; }
static bool gen_RDPMC(struct dc *s) { return gen_gp0(s); }
/* The model has no INVPCID (nor PCID): the opcode is undefined. */
static bool gen_INVPCID(struct dc *s) { return gen_sys_fault(s, X86_EXC_UD, false, 0); }

/* ---- transfers of control between privilege levels ---- */

static bool gen_SYSCALL(struct dc *s)
{
	priv_c(s, SYSOP_SYSCALL, s->insn.length, 0);
	end_tb_rip(s);
	return true;
}

static bool gen_SYSRET(struct dc *s)
{
	if (!cpl0(s))
		return gen_gp0(s);
	priv_c(s, SYSOP_SYSRET, s->insn.operand_width == 64 ? 3 : 2, 0);
	end_tb_rip(s);
	return true;
}

static bool gen_IRET(struct dc *s)
{
	/* its pops are data accesses of the operand size (CPL 3: #AC) */
	gen_ac_check(s, G.regs[R_RSP], s->insn.operand_width / 8);
	priv_c(s, SYSOP_IRET, size_of_bits(s->insn.operand_width), 0);
	end_tb_rip(s);
	return true;
}

static bool gen_int(struct dc *s, int vector, enum x86_event_kind kind)
{
	priv_c(s, SYSOP_INT, vector, s->insn.length | kind << 8);
	end_tb_rip(s);
	return true;
}

static bool gen_INT(struct dc *s) { return gen_int(s, s->op[0].imm.value.u & 0xff, X86_EV_SOFT_INT); }
static bool gen_INT3(struct dc *s) { return gen_int(s, X86_EXC_BP, X86_EV_SOFT_INT); }
static bool gen_INT1(struct dc *s) { return gen_int(s, X86_EXC_DB, X86_EV_TRAP); }

/* ---- port I/O ---- */

/* A write to a device may make the machine act (power off, reset, an
 * interrupt the write unmasked): the vCPU sees it at the next block
 * boundary, so the block ends after the write, and where the vCPU stops
 * is the same in every translation mode. */
static void end_tb_after_io(struct dc *s)
{
	end_tb_next(s);
}

/* in al/ax/eax, imm8 or dx; a 32-bit result zero-extends into rax. */
static bool gen_IN(struct dc *s)
{
	int size = op_size(s, 0);
	ir_ref port = s->op[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE
			      ? cst(s, s->op[1].imm.value.u & 0xff)
			      : ir_bin(s, IR_and, G.regs[R_RDX], cst(s, 0xffff));
	ir_ref v = priv(s, SYSOP_IN, port, cst(s, 1 << size));
	gen_st_reg(s, R_RAX, size, v);
	return true;
}

static bool gen_OUT(struct dc *s)
{
	int size = op_size(s, 1);
	ir_ref port = s->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE
			      ? cst(s, s->op[0].imm.value.u & 0xff)
			      : ir_bin(s, IR_and, G.regs[R_RDX], cst(s, 0xffff));
	ir_ref v = ir_bin(s, IR_shl, gen_ld_reg(s, R_RAX, size), cst(s, 32));
	priv(s, SYSOP_OUT, port, ir_bin(s, IR_or, v, cst(s, 1 << size)));
	end_tb_after_io(s);
	return true;
}

/* ins/outs with or without rep (64-bit addressing only; an FS or GS
 * override of outs' source adds its base). */
static bool gen_string_io(struct dc *s, int op, int size)
{
	if (s->insn.address_width != 64)
		return false;
	unsigned seg = 0;
	for (int i = 0; i < s->insn.operand_count; i++) {
		if (s->op[i].type != ZYDIS_OPERAND_TYPE_MEMORY)
			continue;
		if (op == SYSOP_OUTS && s->op[i].mem.segment == ZYDIS_REGISTER_FS)
			seg = 1;
		if (op == SYSOP_OUTS && s->op[i].mem.segment == ZYDIS_REGISTER_GS)
			seg = 2;
	}
	bool rep = s->insn.attributes & ZYDIS_ATTRIB_HAS_REP;
	priv_c(s, op, (1u << size) | (unsigned)rep << 8 | seg << 9, 0);
	if (op == SYSOP_OUTS)
		end_tb_after_io(s);
	return true;
}

static bool gen_INSB(struct dc *s) { return gen_string_io(s, SYSOP_INS, 0); }
static bool gen_INSW(struct dc *s) { return gen_string_io(s, SYSOP_INS, 1); }
static bool gen_INSD(struct dc *s) { return gen_string_io(s, SYSOP_INS, 2); }
static bool gen_OUTSB(struct dc *s) { return gen_string_io(s, SYSOP_OUTS, 0); }
static bool gen_OUTSW(struct dc *s) { return gen_string_io(s, SYSOP_OUTS, 1); }
static bool gen_OUTSD(struct dc *s) { return gen_string_io(s, SYSOP_OUTS, 2); }

const struct lift_entry lift_priv_table[] = {
#define E(m) { ZYDIS_MNEMONIC_##m, gen_##m },
	E(MOV) E(POP) E(LSS) E(LFS) E(LGS) E(JMP) E(CALL) E(RET)
	E(LGDT) E(LIDT) E(LLDT) E(LTR) E(SGDT) E(SIDT) E(SLDT) E(STR) E(SMSW) E(LMSW)
	E(CLTS) E(SWAPGS) E(RDMSR) E(WRMSR) E(XSETBV) E(WBINVD) E(INVLPG) E(HLT) E(CLI) E(STI)
	E(CPUID) E(RDTSC) E(RDTSCP) E(RDPID) E(XGETBV) E(RDPMC) E(INVPCID)
	E(SYSCALL) E(SYSRET) E(INT) E(INT3) E(INT1)
	E(IN) E(OUT) E(INSB) E(INSW) E(INSD) E(OUTSB) E(OUTSW) E(OUTSD)
#undef E
	{ ZYDIS_MNEMONIC_INVD, gen_WBINVD },
	{ ZYDIS_MNEMONIC_POPF, gen_POPF }, { ZYDIS_MNEMONIC_POPFQ, gen_POPF },
	{ ZYDIS_MNEMONIC_IRET, gen_IRET }, { ZYDIS_MNEMONIC_IRETD, gen_IRET },
	{ ZYDIS_MNEMONIC_IRETQ, gen_IRET },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
