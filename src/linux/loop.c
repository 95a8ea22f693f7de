/*
 * The guest's main loop: run translated code until the exec layer hands
 * control back, act on why (a syscall; an exception, which becomes the
 * signal linux/trap.c names), deliver signals, repeat.  It owns nothing but
 * the order of those steps; it never returns (the guest leaves through
 * exit_group, execve or a fatal signal, and one thread of several through
 * exit, which unwinds past it: see thread.c).  Every guest thread runs it
 * on its own host thread.
 */
#include <sys/syscall.h>
#include <unistd.h>
#include "exec/exec.h"
#include "linux/linux.h"
#include "linux/syscall.h"
#include "linux/trap.h"
#include "util/log.h"

noreturn void linux_cpu_loop(struct cpu *cpu)
{
	exec_current_cpu = cpu;
	cpu->x.tid = (int)raw_syscall(__NR_gettid, 0, 0, 0, 0, 0, 0);
	for (;;) {
		enum exec_exit r = exec_run(cpu);
		switch (r) {
		case EXEC_SYSCALL:
			linux_syscall(cpu);
			break;
		case EXEC_FAULT: {
			struct linux_trap t;
			if (linux_int80(cpu))
				break;
			linux_trap(cpu, &t);
			if (!linux_vsyscall(cpu, &t))
				sig_deliver_fault(cpu, &t);
			break;
		}
		case EXEC_REQUEST:
			break;
		default:
			internal_error("exec_run returned %d at pc 0x%llx", (int)r,
				       (unsigned long long)cpu->rip);
		}
		linux_deliver_signals(cpu);
	}
}
