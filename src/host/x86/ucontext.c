/*
 * What the exec layer reads of a host signal: the host pc of a fault,
 * whether it was a write, and which exception of the host CPU it was.  The
 * siginfo codes and the ucontext's register layout are the host's (x86-64
 * Linux: gregs[REG_RIP]; REG_TRAPNO and REG_ERR, the vector and error code
 * the kernel's trap handler recorded), so they are read here, not in
 * exec/, which sees only a struct guest_exception holding the host's.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <ucontext.h>
#include "host/host.h"

uintptr_t host_fault_pc(const void *ucv)
{
	const ucontext_t *uc = ucv;
	return uc->uc_mcontext.gregs[REG_RIP];
}

bool host_fault_is_write(const void *ucv)
{
	const ucontext_t *uc = ucv;
	return uc->uc_mcontext.gregs[REG_ERR] & 2;
}

/* x86 vectors that push an error code: #DF, #TS, #NP, #SS, #GP, #PF, #AC,
 * #CP (Intel SDM vol. 3, table 6-1). */
static bool vector_has_error(unsigned v)
{
	return v < 32 && (0x00227d00u >> v & 1);
}

void host_fault_exception(const siginfo_t *si, const void *ucv, struct guest_exception *e)
{
	const ucontext_t *uc = ucv;
	unsigned v = (unsigned)uc->uc_mcontext.gregs[REG_TRAPNO];

	*e = (struct guest_exception){ .vector = v };
	if (vector_has_error(v)) {
		e->flags |= EXC_HAS_ERROR;
		e->error_code = (uint32_t)uc->uc_mcontext.gregs[REG_ERR];
	}
	if (v != 14)
		return;
	/* A page fault: the kernel's verdict is in the signal it sent. */
	e->addr = (uintptr_t)si->si_addr;
	if (si->si_signo == SIGBUS)
		e->map = EXC_MAP_NOBACKING;
	else if (si->si_code == SEGV_MAPERR)
		e->map = EXC_MAP_NONE;
	else
		e->map = EXC_MAP_DENIED;	/* SEGV_ACCERR, SEGV_PKUERR */
}
