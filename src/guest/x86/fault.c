/*
 * Raising guest exceptions from helpers, and the exceptions the host
 * reports differently.  A host fault in translated code arrives as the host
 * CPU's exception (host_fault_exception): the guest's, since both are x86,
 * except where loom runs a guest instruction differently.  It runs a guest
 * memory access as a host access with other registers, and a guest branch
 * as a lookup of its target, so two x86 rules need the guest instruction
 * itself:
 *  - A non-canonical address reached through rsp or rbp (the SS segment) is
 *    a stack-segment fault (#SS); through any other base it is #GP.  The
 *    host access uses other registers, so it always raises #GP.
 *  - A near branch to a non-canonical address raises #GP at the branch with
 *    nothing changed (no return address pushed or popped).  loom finds out
 *    only when it looks the target up, after the branch ran; the branch is
 *    the last instruction of the TB it left, so its stack effect is undone
 *    here.  The one thing not undone: a call's return address stays written
 *    below the stack pointer, where the guest's stack is free space.
 * An instruction that cannot be fetched at all is a page fault on its first
 * byte (x86_fetch_fault).  None of this names a signal: src/linux/ decides
 * what each exception becomes.
 * Invariant: called with the guest state exact in struct cpu.
 */
#include "exec/tlb.h"
#include "guest/guest.h"
#include "guest/x86/sys.h"
#include "guest/x86/translate.h"

void x86_raise(struct cpu *cpu, enum x86_vector v)
{
	exec_raise(cpu, &(struct guest_exception){ .vector = v });
}

void x86_raise_err(struct cpu *cpu, enum x86_vector v, uint32_t error_code)
{
	struct guest_exception e = { .vector = v, .flags = EXC_HAS_ERROR, .error_code = error_code };
	/* A helper's #GP(0) for its operand (a misaligned XSAVE or FXSAVE
	 * area, say) comes after the canonical check of the address, which
	 * through rsp or rbp is #SS: the rule a host #GP gets below.  (In
	 * whole-system mode the helpers walk the address first; a helper
	 * called outside the exec loop has no instruction to decode.) */
	if (v == X86_EXC_GP && !error_code && !cpu->sys && (void *)exec_current_cpu == (void *)cpu)
		guest_fault_refine(cpu, &e);
	exec_raise(cpu, &e);
}

void x86_raise_gp0(struct cpu *cpu)
{
	x86_raise_err(cpu, X86_EXC_GP, 0);
}

/* A user-mode fetch at addr that the page tables refuse: the error code
 * says fetch and user, and present where a mapping with some access is
 * there (a PROT_NONE page is not present; a page never touched may not be
 * either, which the guest cannot tell apart from outside).  Above the user
 * half nothing is the guest's: the kernel reports it unmapped. */
void x86_fetch_fault(uint64_t addr, struct guest_exception *e)
{
	struct cpu *cpu = exec_current_cpu;
	if (tlb_softmmu && cpu && cpu->sys) {	/* whole-system mode: the walk says */
		x86_sys_fetch_fault(cpu, addr, e);
		return;
	}
	int prot = !(addr >> 47) ? exec_mem_prot(addr) : -1;

	*e = (struct guest_exception){
		.vector = X86_EXC_PF, .flags = EXC_HAS_ERROR, .addr = addr,
		.error_code = X86_PF_USER | X86_PF_INSTR | (prot > 0 ? X86_PF_PROT : 0),
		.map = prot >= 0 ? EXC_MAP_DENIED : EXC_MAP_NONE,
	};
}

static bool decode_at(uint64_t pc, ZydisDecodedInstruction *insn, ZydisDecodedOperand *op)
{
	static __thread ZydisDecoder dec;
	static __thread bool ready;
	uint8_t buf[15];
	if (!ready) {
		x86_decoder_init(&dec);
		ready = true;
	}
	size_t n = x86_fetch_code(pc, buf);
	return n && x86_decode(&dec, buf, n, insn, op);
}

static uint64_t reg_value(struct cpu *cpu, ZydisRegister r)
{
	if (r == ZYDIS_REGISTER_NONE)
		return 0;
	ZydisRegister r64 = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
	if (r64 >= ZYDIS_REGISTER_RAX && r64 <= ZYDIS_REGISTER_R15)
		return cpu->regs[r64 - ZYDIS_REGISTER_RAX];
	return 0;
}

/* The #SS a host #GP is when the guest accessed through SS. */
static void to_ss(struct guest_exception *e)
{
	*e = (struct guest_exception){ .vector = X86_EXC_SS, .flags = EXC_HAS_ERROR };
}

/* The bytes bt, bts, btr and btc with a register bit offset add to their
 * memory operand's address: the signed offset in whole operands. */
static int64_t bit_string_disp(struct cpu *cpu, const ZydisDecodedInstruction *insn,
			       const ZydisDecodedOperand *op)
{
	switch (insn->mnemonic) {
	case ZYDIS_MNEMONIC_BT: case ZYDIS_MNEMONIC_BTS:
	case ZYDIS_MNEMONIC_BTR: case ZYDIS_MNEMONIC_BTC:
		break;
	default:
		return 0;
	}
	if (op[1].type != ZYDIS_OPERAND_TYPE_REGISTER)
		return 0;
	int bits = insn->operand_width;
	uint64_t v = reg_value(cpu, op[1].reg.value);
	int64_t off = bits == 64 ? (int64_t)v : bits == 32 ? (int32_t)v : (int16_t)v;
	return (off >> __builtin_ctz(bits)) * (bits / 8);
}

/* Whether a memory operand's address (or its base) is non-canonical;
 * extra: bytes the instruction adds to it (bit_string_disp).  Stack
 * accesses are 64-bit whatever the address size says. */
static bool noncanonical_operand(struct cpu *cpu, const ZydisDecodedInstruction *insn,
				 const ZydisDecodedOperand *o, int64_t extra)
{
	uint64_t base = reg_value(cpu, o->mem.base);
	uint64_t ea = base + reg_value(cpu, o->mem.index) * (o->mem.scale ? o->mem.scale : 1);
	if (o->mem.disp.has_displacement)
		ea += o->mem.disp.value;
	/* (with a 32-bit address size the bit offset wraps with the address
	 * at 4 GB: it cannot leave the canonical range) */
	if (insn->address_width == 64)
		ea += extra;
	return !x86_canonical(ea) || !x86_canonical(base);
}

void guest_fault_refine(void *cpuv, struct guest_exception *e)
{
	struct cpu *cpu = cpuv;
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];

	if (e->vector != X86_EXC_GP || !decode_at(cpu->rip, &insn, op))
		return;
	/* Every access of enter goes through SS (the pushes, the frame
	 * pointers copied through rbp, the probe of the new stack top), and
	 * not all of them are operands Zydis lists. */
	if (insn.mnemonic == ZYDIS_MNEMONIC_ENTER) {
		to_ss(e);
		return;
	}
	/* push m and call m read their operand before they touch the stack:
	 * a non-canonical operand there is #GP, whatever rsp holds. */
	bool reads_first = insn.mnemonic == ZYDIS_MNEMONIC_PUSH || insn.mnemonic == ZYDIS_MNEMONIC_CALL;
	for (int i = 0; reads_first && i < insn.operand_count; i++)
		if (op[i].type == ZYDIS_OPERAND_TYPE_MEMORY && op[i].mem.segment != ZYDIS_REGISTER_SS &&
		    noncanonical_operand(cpu, &insn, &op[i], 0))
			return;
	/* Misalignment and the like are #GP through SS too: only a
	 * non-canonical stack address is #SS. */
	for (int i = 0; i < insn.operand_count; i++) {
		const ZydisDecodedOperand *o = &op[i];
		if (o->type != ZYDIS_OPERAND_TYPE_MEMORY || o->mem.segment != ZYDIS_REGISTER_SS)
			continue;
		if (noncanonical_operand(cpu, &insn, o, bit_string_disp(cpu, &insn, op))) {
			to_ss(e);
			return;
		}
	}
}

void guest_fetch_fault(void *cpuv, uint64_t branch_pc, struct guest_exception *e)
{
	struct cpu *cpu = cpuv;
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];

	x86_fetch_fault(cpu->rip, e);
	if (x86_canonical(cpu->rip) || !branch_pc || !decode_at(branch_pc, &insn, op) ||
	    !(insn.meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
	      insn.meta.category == ZYDIS_CATEGORY_COND_BR ||
	      insn.meta.category == ZYDIS_CATEGORY_CALL || insn.meta.category == ZYDIS_CATEGORY_RET))
		return;		/* not reached by a near branch: fetch fault */
	*e = (struct guest_exception){ .vector = X86_EXC_GP, .flags = EXC_HAS_ERROR };
	int size = insn.operand_width == 16 ? 2 : 8;
	switch (insn.mnemonic) {
	case ZYDIS_MNEMONIC_CALL:
		cpu->regs[R_RSP] += size;
		break;
	case ZYDIS_MNEMONIC_RET:
		cpu->regs[R_RSP] -= size;
		if (insn.operand_count_visible && op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
			cpu->regs[R_RSP] -= op[0].imm.value.u & 0xffff;
		break;
	case ZYDIS_MNEMONIC_LOOP:
	case ZYDIS_MNEMONIC_LOOPE:
	case ZYDIS_MNEMONIC_LOOPNE:
		/* the count was decremented: undo it at its width */
		if (insn.address_width == 32)
			cpu->regs[R_RCX] = (uint32_t)(cpu->regs[R_RCX] + 1);
		else
			cpu->regs[R_RCX]++;
		break;
	default:
		break;
	}
	cpu->rip = branch_pc;
}
