/*
 * Guest CPU exceptions as Linux signals.  The frontend, the helpers and the
 * host-fault mapping raise x86 exceptions (vector, error code, address:
 * struct guest_exception); this file is where user mode decides what each
 * becomes, as the kernel's trap handlers decide (arch/x86/kernel/traps.c:
 * the DO_ERROR rows, exc_general_protection, exc_int3, exc_debug_user,
 * math_error; arch/x86/mm/fault.c for #PF): the signal, its si_code and
 * si_addr, and the trapno, err and cr2 of the signal frame.
 *
 * What the vector alone does not say comes from elsewhere, as it does for
 * the kernel: a page fault's si_code from what lies at the address (the
 * exception's map: the host kernel's verdict when the host faulted), a
 * #DB's from the DR6 bits, an #MF's from the x87 status and control
 * words, an #XM's from MXCSR.
 *
 * Invariant: no other file turns an exception into a signal; signal.c
 * builds frames from struct linux_trap and nothing else.
 */
#include <signal.h>
#include <sys/mman.h>
#include "exec/exec.h"
#include "linux/linux.h"
#include "linux/trap.h"
#include "util/log.h"

#ifndef TRAP_HWBKPT
#define TRAP_HWBKPT 4
#endif
#ifndef SEGV_PKUERR
#define SEGV_PKUERR 4
#endif

/* How the row's si_code is found. */
enum trap_code {
	TC_FIXED,	/* the row's code */
	TC_PF,		/* from the page fault's map and error code */
	TC_DR6,		/* from the #DB's DR6 bits */
	TC_X87,		/* from the x87 exceptions pending and unmasked */
	TC_SIMD,	/* from MXCSR's exceptions raised and unmasked */
};

/* What si_addr is. */
enum trap_addr {
	TA_NULL,	/* 0: the kernel sends a plain force_sig */
	TA_PC,		/* the pc of the frame (fault: the instruction) */
	TA_CR2,		/* the address the page fault was on */
};

struct trap_row {
	int signo;
	uint8_t how;		/* enum trap_code */
	int code;		/* TC_FIXED's si_code */
	uint8_t addr;		/* enum trap_addr */
	bool trap;		/* reported after the instruction */
};

/* Vectors the kernel turns into a signal for a user-mode task.  #DB is a
 * trap as loom raises it (single step, int1; an instruction breakpoint,
 * which would be a fault, is set in debug registers through ptrace, which
 * loom does not emulate).  The others (NMI, #DF, #MC, #NM -- the kernel
 * has no lazy FPU and never sets CR0.TS under user code --, coprocessor
 * segment overrun, reserved ones) never reach user mode as a signal:
 * signo 0. */
static const struct trap_row trap_table[32] = {
	[X86_EXC_DE] = { SIGFPE, TC_FIXED, FPE_INTDIV, TA_PC, false },
	[X86_EXC_DB] = { SIGTRAP, TC_DR6, 0, TA_PC, true },
	[X86_EXC_BP] = { SIGTRAP, TC_FIXED, SI_KERNEL, TA_NULL, true },
	[X86_EXC_OF] = { SIGSEGV, TC_FIXED, SI_KERNEL, TA_NULL, true },
	[X86_EXC_BR] = { SIGSEGV, TC_FIXED, SI_KERNEL, TA_NULL, false },
	[X86_EXC_UD] = { SIGILL, TC_FIXED, ILL_ILLOPN, TA_PC, false },
	[X86_EXC_TS] = { SIGSEGV, TC_FIXED, SI_KERNEL, TA_NULL, false },
	[X86_EXC_NP] = { SIGBUS, TC_FIXED, SI_KERNEL, TA_NULL, false },
	[X86_EXC_SS] = { SIGBUS, TC_FIXED, SI_KERNEL, TA_NULL, false },
	[X86_EXC_GP] = { SIGSEGV, TC_FIXED, SI_KERNEL, TA_NULL, false },
	[X86_EXC_PF] = { SIGSEGV, TC_PF, 0, TA_CR2, false },
	[X86_EXC_MF] = { SIGFPE, TC_X87, 0, TA_PC, false },
	[X86_EXC_AC] = { SIGBUS, TC_FIXED, BUS_ADRALN, TA_NULL, false },
	[X86_EXC_XM] = { SIGFPE, TC_SIMD, 0, TA_PC, false },
};

/* The highest user address plus one, less a guard page (TASK_SIZE_MAX with
 * 4-level paging): the kernel reports a page fault above it as a
 * protection fault whatever the page tables say. */
#define TRAP_TASK_SIZE_MAX ((1ull << 47) - 4096)

/* The kernel's order for a floating-point exception's si_code: invalid
 * first, then divide by zero, overflow, underflow or denormal, precision;
 * 0 when none is both raised and unmasked.  err: the flags in the x87
 * status word's (and MXCSR's) bit order. */
static int fp_code(uint32_t err)
{
	if (err & 0x01)
		return FPE_FLTINV;
	if (err & 0x04)
		return FPE_FLTDIV;
	if (err & 0x08)
		return FPE_FLTOVF;
	if (err & 0x12)
		return FPE_FLTUND;
	if (err & 0x20)
		return FPE_FLTRES;
	return 0;
}

static void page_fault(const struct guest_exception *e, struct linux_trap *t)
{
	t->err |= X86_PF_USER;
	if (e->addr >= TRAP_TASK_SIZE_MAX)
		t->err |= X86_PF_PROT;
	t->cr2 = e->addr;
	switch (e->map) {
	case EXC_MAP_NOBACKING:
		t->signo = SIGBUS;
		t->code = BUS_ADRERR;
		break;
	case EXC_MAP_NONE:
		t->code = SEGV_MAPERR;
		break;
	case EXC_MAP_DENIED:
		t->code = e->error_code & X86_PF_PK ? SEGV_PKUERR : SEGV_ACCERR;
		break;
	default:
		t->code = e->error_code & X86_PF_PROT ? SEGV_ACCERR : SEGV_MAPERR;
		break;
	}
}

bool linux_trap_of(const struct guest_exception *e, uint64_t pc, const struct linux_trap_fp *fp,
		   struct linux_trap *t)
{
	const struct trap_row *r = e->vector < 32 ? &trap_table[e->vector] : NULL;

	if (!r || !r->signo)
		return false;
	*t = (struct linux_trap){
		.signo = r->signo, .code = r->code, .trapno = e->vector, .trap = r->trap,
		.err = e->flags & EXC_HAS_ERROR ? e->error_code : 0,
	};
	switch (r->how) {
	case TC_PF:
		page_fault(e, t);
		break;
	case TC_DR6:
		t->code = e->info & X86_DR6_BS ? TRAP_TRACE : e->info & 0xf ? TRAP_HWBKPT : TRAP_BRKPT;
		break;
	case TC_X87:
		t->code = fp_code(fp->fsw & ~fp->fcw & 0x3f);
		break;
	case TC_SIMD:
		t->code = fp_code(fp->mxcsr & ~(fp->mxcsr >> 7) & 0x3f);
		break;
	default:
		break;
	}
	t->addr = r->addr == TA_PC ? pc : r->addr == TA_CR2 ? e->addr : 0;
	return true;
}

void linux_trap(struct cpu *cpu, struct linux_trap *t)
{
	struct guest_exception e = cpu->x.exc;
	struct linux_trap_fp fp = { .mxcsr = x86_mxcsr_read(cpu), .fcw = cpu->fpu.fcw,
				    .fsw = cpu->fpu.fsw };

	/* A fetch the page tables allow, refused because the page has no
	 * backing (the host says SIGBUS when loom reads it): the kernel's
	 * fault handler finds no page to map in, and sends SIGBUS for a
	 * fault on a page that was not present. */
	if (e.vector == X86_EXC_PF && (e.error_code & X86_PF_INSTR) && e.map != EXC_MAP_NONE &&
	    e.addr < TRAP_TASK_SIZE_MAX && exec_mem_prot(e.addr) > 0 &&
	    (exec_mem_prot(e.addr) & PROT_EXEC) && linux_fetch_no_backing(e.addr)) {
		e.map = EXC_MAP_NOBACKING;
		e.error_code &= ~X86_PF_PROT;
	}
	if (!linux_trap_of(&e, cpu->rip, &fp, t))
		internal_error("guest exception %u (error code %#x) at pc 0x%llx has no signal",
			       e.vector, e.error_code, (unsigned long long)cpu->rip);
}
