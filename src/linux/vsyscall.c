/*
 * The legacy vsyscall page: old static binaries call gettimeofday, time and
 * getcpu at 0xffffffffff600000, 0x...400 and 0x...800.  The page is
 * the kernel's, never executable by user code; the kernel catches the
 * fetch fault and emulates the call, then returns to the caller as the
 * page's `ret` would.  loom's fetch faults there too (kernel addresses are
 * never translated), and emulates it the same way -- but only when the host
 * kernel has the page at all (vsyscall=emulate or xonly: the loader's map
 * records it); with vsyscall=none the call stays a SIGSEGV.
 *
 * As in the kernel: a call into the page anywhere but at an entry, or with
 * an unreadable return address, is SIGSEGV with si_code SI_KERNEL and the
 * state at the fault; on success rax holds the result, rip the return
 * address popped off the stack.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include "exec/exec.h"
#include "linux/linux.h"
#include "linux/syscall.h"
#include "linux/trap.h"

#define VSYSCALL_ADDR 0xffffffffff600000ull

/* Writes n bytes to the guest at dst unless dst is 0. */
static bool put(uint64_t dst, const void *src, size_t n)
{
	return !dst || guest_write(dst, src, n) == 0;
}

bool linux_vsyscall(struct cpu *cpu, struct linux_trap *t)
{
	const struct guest_exception *e = &cpu->x.exc;
	uint64_t pc = cpu->rip, caller;
	int64_t ret;

	if (e->vector != X86_EXC_PF || e->addr != pc || (pc & ~0xfffull) != VSYSCALL_ADDR ||
	    exec_mem_prot(VSYSCALL_ADDR) < 0)
		return false;
	/* The kernel's refusal: a plain SIGSEGV, the frame saying page fault
	 * (user, present) */
	*t = (struct linux_trap){ .signo = SIGSEGV, .code = SI_KERNEL, .trapno = X86_EXC_PF,
				  .err = X86_PF_USER | X86_PF_PROT };
	if (guest_read(&caller, cpu->regs[R_RSP], sizeof(caller)) < 0)
		return false;
	switch (pc & 0xfff) {
	case 0x000: {		/* gettimeofday(tv, tz) */
		struct timeval tv;
		struct timezone tz;
		ret = raw_syscall(__NR_gettimeofday, &tv, &tz, 0, 0, 0, 0);
		if (ret == 0 && (!put(cpu->regs[R_RDI], &tv, sizeof(tv)) ||
				 !put(cpu->regs[R_RSI], &tz, sizeof(tz))))
			return false;
		break;
	}
	case 0x400: {		/* time(t) */
		int64_t t;
		ret = raw_syscall(__NR_time, &t, 0, 0, 0, 0, 0);
		if (ret >= 0 && !put(cpu->regs[R_RDI], &t, sizeof(t)))
			return false;
		break;
	}
	case 0x800: {		/* getcpu(cpu, node, cache) */
		unsigned c, n;
		ret = raw_syscall(__NR_getcpu, &c, &n, 0, 0, 0, 0);
		if (ret == 0 && (!put(cpu->regs[R_RDI], &c, sizeof(c)) ||
				 !put(cpu->regs[R_RSI], &n, sizeof(n))))
			return false;
		break;
	}
	default:		/* not an entry point */
		return false;
	}
	cpu->regs[R_RAX] = ret;
	cpu->regs[R_RSP] += 8;
	cpu->rip = caller;
	return true;
}
