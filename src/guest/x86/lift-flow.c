/*
 * Control flow and system instructions: jumps, calls, returns, loops,
 * syscall, and the instructions that trap in user mode.  Every lifter here
 * ends the TB (s->state = DISAS_EXITED) except the ones that merely raise.
 * Direct targets chain through goto_tb; indirect ones look up their target
 * in generated code (gen_jmp_indirect) without leaving the code cache.
 */
#include <cpuid.h>
#include "exec/exec.h"
#include "exec/tlb.h"
#include "guest/x86/translate.h"

static uint64_t branch_target(struct dc *s)
{
	uint64_t t = s->next_pc + s->op[0].imm.value.s;
	if (s->insn.operand_width == 16)
		t &= 0xffff;
	return t;
}

/* Far jmp, call (through memory; the direct forms do not exist in 64-bit
 * mode) and ret: helper_far checks the selector and moves the stack. */
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
	/* the offset's size is the alignment a far pointer needs (SDM: 4
	 * for m16:32), and the stack's for far ret */
	gen_ac_check(s, ea, s->insn.operand_width / 8);
	gen_sync_pc(s, s->pc);
	gen_helper(s, HELPER_far, 3, s->ir->env, ea, cst(s, op));
	gen_exit_nochain(s);
	s->state = DISAS_EXITED;
	return true;
}

static bool is_far(struct dc *s)
{
	return s->insn.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
}

static bool gen_JMP(struct dc *s)
{
	if (is_far(s))
		return gen_far(s, FAR_JMP);
	if (s->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		gen_jmp_to(s, 0, branch_target(s));
	} else {
		if (s->op[0].type == ZYDIS_OPERAND_TYPE_POINTER)
			return false;
		gen_jmp_indirect(s, gen_ld_op(s, 0));
	}
	s->state = DISAS_EXITED;
	return true;
}

/*
 * Whether the TB may go on past a conditional branch to `target` (the
 * taken side leaving through a side exit, gen_side_exits).  Only forward
 * branches, whose fall-through is the likelier path (a backward one
 * closes a loop and is taken), and only when nothing watches block
 * boundaries: a plugin's or coverage's block would then not be a basic
 * block, and its counts would be wrong when the side exit is taken.
 * The fall-through keeps what the lifter knows of the flags, so a block
 * "cmp; jae; dec; jne" computes dec's CF inline instead of from a thunk
 * of unknown kind, and the hop to the next block (its exit-request check
 * and a chained jump) is gone.  The target must be canonical: a branch to
 * a non-canonical address faults at the branch, which the exec loop finds
 * as the TB's last instruction (guest_fetch_fault).  Whole-system mode
 * only: in user mode (bench/hipg.sh) it saved 6% of the host instructions
 * of gzip -9 but cost perl's interpreter loop 6%, whose forward branches
 * are often taken (a side exit then probes the jump cache where a chained
 * jump was).
 */
static bool may_continue(struct dc *s, uint64_t target)
{
	return tlb_softmmu && target > s->pc && x86_canonical(target) && !s->nochain &&
	       !exec_blocks_watched && !(s->tb->flags & (CF_TRACE | CF_ONESHOT));
}

/* The label of the side exit to target: the TB's own if it has one, else
 * a new one; false when there is no room left for another. */
static bool side_exit_to(struct dc *s, uint64_t target, uint32_t *label)
{
	for (unsigned i = 0; i < s->nside; i++) {
		if (s->side[i].target == target) {
			*label = s->side[i].label;
			return true;
		}
	}
	if (s->nside == sizeof(s->side) / sizeof(s->side[0]))
		return false;
	*label = ir_new_label(s->ir);
	s->side[s->nside].label = *label;
	s->side[s->nside++].target = target;
	return true;
}

/* Two-way exit: taken to `target`, else to next_pc. */
static void gen_branch(struct dc *s, enum ir_cond c, ir_ref a, ir_ref b, uint64_t target)
{
	uint32_t side;
	if (may_continue(s, target) && side_exit_to(s, target, &side)) {
		ir_brc(s, c, a, b, side);
		return;
	}
	uint32_t taken = ir_new_label(s->ir);
	ir_brc(s, c, a, b, taken);
	gen_jmp_to(s, 0, s->next_pc);
	set_label(s, taken);
	gen_jmp_to(s, 1, target);
	s->state = DISAS_EXITED;
}

static bool gen_Jcc(struct dc *s)
{
	struct cc_test t = gen_prepare_cc(s, jcc_of_mnemonic(s->insn.mnemonic));
	gen_branch(s, t.cond, t.a, t.b, branch_target(s));
	return true;
}

static bool gen_JRCXZ(struct dc *s)
{
	ir_ref c = s->insn.address_width == 32 ? gen_ld_reg(s, R_RCX, 2) : G.regs[R_RCX];
	gen_branch(s, IR_EQ, c, cst(s, 0), branch_target(s));
	return true;
}

static bool gen_loop(struct dc *s, int zf_cond)
{
	ir_ref rcx;
	if (s->insn.address_width == 32) {
		/* addr32: the counter is ecx, written as a 32-bit register */
		rcx = gen_ext(s, ir_bin(s, IR_sub, G.regs[R_RCX], cst(s, 1)), 2, false);
	} else {
		rcx = ir_bin(s, IR_sub, G.regs[R_RCX], cst(s, 1));
	}
	ir_mov(s, G.regs[R_RCX], rcx);
	ir_ref go = ir_setc(s, IR_NE, rcx, cst(s, 0));
	if (zf_cond >= 0) {
		/* loope: ZF=1 (jcc 4), loopne: ZF=0 (jcc 5) */
		struct cc_test t = gen_prepare_cc(s, zf_cond);
		go = ir_bin(s, IR_and, go, ir_setc(s, t.cond, t.a, t.b));
	}
	gen_branch(s, IR_NE, go, cst(s, 0), branch_target(s));
	return true;
}

static bool gen_LOOP(struct dc *s) { return gen_loop(s, -1); }
static bool gen_LOOPE(struct dc *s) { return gen_loop(s, 4); }
static bool gen_LOOPNE(struct dc *s) { return gen_loop(s, 5); }

static bool gen_CALL(struct dc *s)
{
	if (is_far(s))
		return gen_far(s, FAR_CALL);
	if (s->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		gen_push(s, cst(s, s->next_pc), 3);
		gen_jmp_to(s, 0, branch_target(s));
	} else {
		if (s->op[0].type == ZYDIS_OPERAND_TYPE_POINTER)
			return false;
		ir_ref target = tmp64(s);
		ir_mov(s, target, gen_ld_op(s, 0));	/* read before rsp moves */
		gen_push(s, cst(s, s->next_pc), 3);
		gen_jmp_indirect(s, target);
	}
	s->state = DISAS_EXITED;
	return true;
}

static bool gen_RET(struct dc *s)
{
	if (is_far(s))
		return gen_far(s, FAR_RET);
	ir_ref nsp;
	ir_ref target = gen_pop_value(s, 3, &nsp);
	if (s->insn.operand_count_visible && s->op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		nsp = ir_bin(s, IR_add, nsp, cst(s, s->op[0].imm.value.u & 0xffff));
	ir_mov(s, G.regs[R_RSP], nsp);
	gen_jmp_indirect(s, target);
	s->state = DISAS_EXITED;
	return true;
}

static bool gen_SYSCALL(struct dc *s)
{
	gen_sync_pc(s, s->next_pc);
	ir_stenv(s, cst(s, EXEC_SYSCALL), CPU_OFF(x.pending_exit), IR_MO_32);
	ir_emit(s->ir, IR_exit_tb, IR_I64, NULL, (int64_t[]){ 0 });
	s->state = DISAS_EXITED;
	return true;
}

/* A trap raised by the instruction itself: reported after it, with the
 * pc of the next instruction. */
static bool gen_soft_trap(struct dc *s, const struct guest_exception *e)
{
	gen_sync_pc(s, s->next_pc);
	gen_raise(s, e);
	s->state = DISAS_EXITED;
	return true;
}

/* int3 (and int $3): the breakpoint trap, #BP. */
static bool gen_INT3(struct dc *s)
{
	return gen_soft_trap(s, &(struct guest_exception){ .vector = X86_EXC_BP,
							    .flags = EXC_SOFTWARE });
}

/* int1 (icebp) is a #DB trap that sets no DR6 status bit, delivered as a
 * hardware exception (no gate DPL check). */
static bool gen_INT1(struct dc *s)
{
	return gen_soft_trap(s, &(struct guest_exception){ .vector = X86_EXC_DB });
}

static bool gen_UD(struct dc *s)
{
	gen_exception(s, X86_EXC_UD);
	return true;
}

/* Privileged in user mode: #GP(0). */
static bool gen_privileged(struct dc *s)
{
	gen_exception_err(s, X86_EXC_GP, 0);
	return true;
}

/* invpcid is #GP outside ring 0 on a CPU that has it and #UD on one that
 * does not: the host decides, as the guest's kernel is the host's. */
static bool gen_INVPCID(struct dc *s)
{
	unsigned a, b, c, d;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 10 & 1))
		return gen_privileged(s);
	return gen_illegal(s);
}

/* int n at CPL 3: Linux opens two vectors' gates to user mode (DPL 3).
 * int $3 is a breakpoint like int3; int $4 is the overflow trap (#OF) at
 * the next instruction.  Every other gate, int $0x80 included (the 32-bit
 * system call, which loom does not have: as on a kernel without IA32
 * emulation), refuses CPL 3: #GP at the instruction with the error code
 * naming the IDT entry, vector * 8 + 2 (Intel SDM vol. 3, 6.13). */
static bool gen_INT(struct dc *s)
{
	unsigned n = s->op[0].imm.value.u & 0xff;
	switch (n) {
	case 3:
		return gen_INT3(s);
	case 4:
		return gen_soft_trap(s, &(struct guest_exception){ .vector = X86_EXC_OF,
								    .flags = EXC_SOFTWARE });
	default:
		gen_exception_err(s, X86_EXC_GP, n * 8 + 2);
		return true;
	}
}

const struct lift_entry lift_flow_table[] = {
	{ ZYDIS_MNEMONIC_JMP, gen_JMP },
	{ ZYDIS_MNEMONIC_JO, gen_Jcc }, { ZYDIS_MNEMONIC_JNO, gen_Jcc },
	{ ZYDIS_MNEMONIC_JB, gen_Jcc }, { ZYDIS_MNEMONIC_JNB, gen_Jcc },
	{ ZYDIS_MNEMONIC_JZ, gen_Jcc }, { ZYDIS_MNEMONIC_JNZ, gen_Jcc },
	{ ZYDIS_MNEMONIC_JBE, gen_Jcc }, { ZYDIS_MNEMONIC_JNBE, gen_Jcc },
	{ ZYDIS_MNEMONIC_JS, gen_Jcc }, { ZYDIS_MNEMONIC_JNS, gen_Jcc },
	{ ZYDIS_MNEMONIC_JP, gen_Jcc }, { ZYDIS_MNEMONIC_JNP, gen_Jcc },
	{ ZYDIS_MNEMONIC_JL, gen_Jcc }, { ZYDIS_MNEMONIC_JNL, gen_Jcc },
	{ ZYDIS_MNEMONIC_JLE, gen_Jcc }, { ZYDIS_MNEMONIC_JNLE, gen_Jcc },
	{ ZYDIS_MNEMONIC_JRCXZ, gen_JRCXZ }, { ZYDIS_MNEMONIC_JECXZ, gen_JRCXZ },
	{ ZYDIS_MNEMONIC_LOOP, gen_LOOP }, { ZYDIS_MNEMONIC_LOOPE, gen_LOOPE },
	{ ZYDIS_MNEMONIC_LOOPNE, gen_LOOPNE },
	{ ZYDIS_MNEMONIC_CALL, gen_CALL },
	{ ZYDIS_MNEMONIC_RET, gen_RET },
	{ ZYDIS_MNEMONIC_SYSCALL, gen_SYSCALL },
	{ ZYDIS_MNEMONIC_INT3, gen_INT3 }, { ZYDIS_MNEMONIC_INT1, gen_INT1 },
	{ ZYDIS_MNEMONIC_UD0, gen_UD }, { ZYDIS_MNEMONIC_UD1, gen_UD }, { ZYDIS_MNEMONIC_UD2, gen_UD },
	{ ZYDIS_MNEMONIC_HLT, gen_privileged }, { ZYDIS_MNEMONIC_CLI, gen_privileged },
	{ ZYDIS_MNEMONIC_STI, gen_privileged }, { ZYDIS_MNEMONIC_IN, gen_privileged },
	{ ZYDIS_MNEMONIC_OUT, gen_privileged }, { ZYDIS_MNEMONIC_INSB, gen_privileged },
	{ ZYDIS_MNEMONIC_INSW, gen_privileged }, { ZYDIS_MNEMONIC_INSD, gen_privileged },
	{ ZYDIS_MNEMONIC_OUTSB, gen_privileged }, { ZYDIS_MNEMONIC_OUTSW, gen_privileged },
	{ ZYDIS_MNEMONIC_OUTSD, gen_privileged }, { ZYDIS_MNEMONIC_INT, gen_INT },
	{ ZYDIS_MNEMONIC_WBINVD, gen_privileged }, { ZYDIS_MNEMONIC_INVD, gen_privileged },
	{ ZYDIS_MNEMONIC_SWAPGS, gen_privileged }, { ZYDIS_MNEMONIC_CLTS, gen_privileged },
	{ ZYDIS_MNEMONIC_LGDT, gen_privileged }, { ZYDIS_MNEMONIC_LIDT, gen_privileged },
	{ ZYDIS_MNEMONIC_LLDT, gen_privileged }, { ZYDIS_MNEMONIC_LTR, gen_privileged },
	{ ZYDIS_MNEMONIC_LMSW, gen_privileged }, { ZYDIS_MNEMONIC_INVLPG, gen_privileged },
	{ ZYDIS_MNEMONIC_RDMSR, gen_privileged }, { ZYDIS_MNEMONIC_WRMSR, gen_privileged },
	/* Linux leaves CR4.PCE clear for a task without a mapped perf
	 * event (the default rdpmc=1 policy): user-mode rdpmc is #GP. */
	{ ZYDIS_MNEMONIC_RDPMC, gen_privileged }, { ZYDIS_MNEMONIC_XSETBV, gen_privileged },
	{ ZYDIS_MNEMONIC_SYSRET, gen_privileged }, { ZYDIS_MNEMONIC_INVPCID, gen_INVPCID }, { ZYDIS_MNEMONIC_SYSEXIT, gen_privileged },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
