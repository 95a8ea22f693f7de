/*
 * What a guest CPU exception becomes in user mode: the synchronous signal
 * the Linux kernel's x86 trap handlers send for it, and what they record in
 * the signal frame (linux/trap.c).  One table, vector by vector; the only
 * place in loom that turns an exception into a signal.
 */
#ifndef LOOM_LINUX_TRAP_H
#define LOOM_LINUX_TRAP_H

#include <stdbool.h>
#include <stdint.h>
#include "exec/exec.h"
#include "guest/x86/cpu.h"

/* A synchronous signal as the kernel delivers it. */
struct linux_trap {
	int signo;
	int code;		/* si_code */
	uint64_t addr;		/* si_addr */
	/* The frame's sigcontext: the vector, its error code, CR2. */
	uint64_t trapno, err, cr2;
	/* A trap (the frame's pc is past the instruction, RF not set in
	 * its flags) rather than a fault (pc at it, RF set). */
	bool trap;
};

/* The floating-point state the kernel reads to name an #MF or #XM. */
struct linux_trap_fp {
	uint32_t mxcsr;
	uint16_t fcw, fsw;
};

/* The signal for exception e raised with the guest pc at pc (the faulting
 * instruction, or for a trap the next one).  False for a vector the kernel
 * never turns into a signal for user mode (NMI, #DF, #MC, #NM, ...). */
bool linux_trap_of(const struct guest_exception *e, uint64_t pc, const struct linux_trap_fp *fp,
		   struct linux_trap *t);
/* The same for cpu's last exception (cpu->x.exc), reading cpu's state;
 * a vector with no signal is loom's internal error. */
void linux_trap(struct cpu *cpu, struct linux_trap *t);

#endif
