/*
 * What the exec layer reads of a host signal's ucontext: the host pc of a
 * fault and whether it was a write.  The ucontext's register layout is the
 * host's (x86-64 Linux: gregs[REG_RIP], and REG_ERR, the page-fault error
 * code whose bit 1 says write), so it is read here, not in exec/.
 */
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
