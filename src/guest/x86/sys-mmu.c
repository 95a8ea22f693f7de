/*
 * The x86 side of the soft MMU in whole-system mode: what a linear address
 * means to the vCPU now.  Owns the canonical check, the walk under the
 * vCPU's control registers (walk.c over the physical accessors the machine
 * gives in x86_sys_env.phys), the soft TLB's translate and raise callbacks
 * (exec/tlb.h: MMU index -> privilege, walker result -> TLB fill, fault
 * code -> #PF/#GP) and the fault of an instruction fetch that cannot be
 * made.  Where RAM and MMIO are is the machine's (src/system/mmu.c).
 *
 * Fault codes handed to the TLB: the walker's (X86_WALK_FAULT | #PF error
 * code), or SYS_MMU_FAULT_GP for a non-canonical address.  The TLB's
 * access kinds do not say whether an access is to the stack, so a
 * non-canonical stack access is #GP here where the CPU reports #SS.
 */
#include "exec/tlb.h"
#include "guest/x86/sys.h"

#define SYS_MMU_FAULT_GP (1u << 30)

/* The walker's view of the vCPU for an access at cpl (ac: RFLAGS.AC). */
static void sys_walk_ctl(struct cpu *cpu, int cpl, bool ac, struct x86_walk_ctl *c)
{
	struct x86_sys *sys = cpu->sys;
	*c = (struct x86_walk_ctl){
		.cr0 = sys->cr0, .cr3 = sys->cr3, .cr4 = sys->cr4, .efer = sys->efer,
		.cpl = cpl, .ac = ac, .maxphyaddr = X86_PHYS_BITS, .gbpages = false,
	};
}

/* Tools and the translator read guest memory without the CPU's side
 * effects: their walks set no accessed or dirty bit. */
static bool sys_nop_cmpxchg8(void *opaque, uint64_t pa, uint64_t old, uint64_t new)
{
	(void)opaque, (void)pa, (void)old, (void)new;
	return true;
}

static bool sys_debug_read8(void *opaque, uint64_t pa, uint64_t *val)
{
	const struct x86_walk_mem *mem = opaque;
	return mem->read8(mem->opaque, pa, val);
}

/* Walk va for access (enum x86_access, X86_ACC_IMPLICIT) at cpl: 0, or the
 * fault code (SYS_MMU_FAULT_GP, or X86_WALK_FAULT | error code). */
static uint32_t sys_walk(struct cpu *cpu, uint64_t va, int access, int cpl, bool ac, bool debug,
			 struct x86_walk_result *res)
{
	const struct x86_walk_mem *phys = cpu->sys->env ? cpu->sys->env->phys : NULL;
	struct x86_walk_ctl ctl;
	if ((cpu->sys->efer & X86_EFER_LMA) && !x86_canonical(va))
		return SYS_MMU_FAULT_GP;
	if (!phys)
		return SYS_MMU_FAULT_GP;	/* no machine memory: as x86_sys_vread */
	sys_walk_ctl(cpu, cpl, ac, &ctl);
	if (debug) {
		struct x86_walk_mem quiet = { (void *)phys, sys_debug_read8, sys_nop_cmpxchg8 };
		return x86_walk(&ctl, &quiet, va, access, res);
	}
	return x86_walk(&ctl, phys, va, access, res);
}

static void sys_fault_event(uint64_t va, uint32_t fault, struct x86_event *f)
{
	if (fault == SYS_MMU_FAULT_GP)
		*f = (struct x86_event){ .vector = X86_EXC_GP, .has_err = true };
	else
		*f = (struct x86_event){ .vector = X86_EXC_PF, .has_err = true,
					 .err = fault & ~X86_WALK_FAULT, .cr2 = va };
}

int x86_sys_translate(struct cpu *cpu, uint64_t va, int access, int cpl, bool debug,
		      uint64_t *pa, struct x86_event *f)
{
	struct x86_walk_result res;
	uint32_t fault = sys_walk(cpu, va, access, cpl, false, debug, &res);
	if (fault) {
		sys_fault_event(va, fault, f);
		return -1;
	}
	*pa = res.pa;
	return 0;
}

uint32_t x86_sys_tlb_translate(void *cpuv, uint64_t va, enum tlb_access acc, int mmu,
			       struct tlb_fill *fill)
{
	static const int access[] = { [TLB_READ] = X86_ACC_READ, [TLB_WRITE] = X86_ACC_WRITE,
				      [TLB_FETCH] = X86_ACC_FETCH };
	struct x86_walk_result res;
	int cpl = mmu == X86_MMU_USER ? 3 : 0;
	uint32_t fault = sys_walk(cpuv, va, access[acc], cpl, mmu == X86_MMU_SUP_AC, false, &res);
	if (fault)
		return fault;
	/* walk.h's X86_PROT_* are the TLB's TLB_PROT_* */
	*fill = (struct tlb_fill){ .pa = res.pa, .page_size = res.page_size, .prot = res.prot,
				   .global = res.global };
	return 0;
}

void x86_sys_tlb_raise(void *cpuv, uint64_t va, enum tlb_access acc, uint32_t fault)
{
	struct x86_event ev;
	(void)acc;
	if (fault == TLB_FAULT_UNSUPPORTED)
		ev = (struct x86_event){ .vector = X86_EXC_UD };
	else
		sys_fault_event(va, fault, &ev);
	x86_sys_raise(cpuv, &ev);
}

/* The instruction at addr could not be fetched whole at the current CPL:
 * the fault of its first byte, else of the first byte of the next page
 * (an instruction running into a page it may not fetch from: CR2 is that
 * page's first byte, as the SDM's fetch order gives), else #UD. */
void x86_sys_fetch_fault(struct cpu *cpu, uint64_t addr, struct guest_exception *e)
{
	struct x86_walk_result res;
	struct x86_event ev = { .vector = X86_EXC_UD };
	uint64_t next = (addr | (TLB_PAGE_SIZE - 1)) + 1;
	uint32_t fault = sys_walk(cpu, addr, X86_ACC_FETCH, cpu->sys->cpl, false, true, &res);
	if (fault)
		sys_fault_event(addr, fault, &ev);
	else if ((fault = sys_walk(cpu, next, X86_ACC_FETCH, cpu->sys->cpl, false, true, &res)))
		sys_fault_event(next, fault, &ev);
	*e = (struct guest_exception){ .vector = ev.vector, .addr = ev.cr2,
				       .flags = ev.has_err ? EXC_HAS_ERROR : 0,
				       .error_code = ev.err };
}
