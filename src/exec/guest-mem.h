/*
 * Guest memory as the layers above the translator see it: by guest virtual
 * address, with failure as a value, never a signal.  The environment
 * implements it (src/linux/guest-mem.c: user mode, where a guest address
 * is a host address; whole-system mode will put its soft MMU behind the
 * same table) and installs it in guest_mem before the first TB.  Tools
 * (plugins' memory access, coverage, the control channel, the AFL hooks)
 * and the frontend's code fetch go through it.
 *
 * Invariant: outside the environment's own directory nothing turns a guest
 * address into a host pointer or asks the host kernel to (process_vm_*).
 * (Helpers that execute guest loads and stores use guest/x86/mem.h: in
 * user mode a host access whose fault is the guest's, delivered at the
 * instruction; in whole-system mode the soft TLB, exec/tlb.h.)
 */
#ifndef LOOM_EXEC_GUEST_MEM_H
#define LOOM_EXEC_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem_ops {
	/* Copy n bytes at guest address va into dst / from src, as vCPU cpu
	 * sees memory (NULL: any vCPU; in user mode every thread sees the
	 * same).  0, or -EFAULT if some byte is not accessible (the others
	 * may or may not have been copied).  A write may land on a page
	 * holding translated code: the environment invalidates it. */
	int (*read)(void *cpu, void *dst, uint64_t va, size_t n);
	int (*write)(void *cpu, uint64_t va, const void *src, size_t n);
	/* Copy up to n bytes of guest code at va into dst, stopping at the
	 * first byte that cannot be read; returns how many were copied. */
	size_t (*fetch)(void *cpu, void *dst, uint64_t va, size_t n);
};
extern struct guest_mem_ops guest_mem;

static inline int guest_mem_read(void *cpu, void *dst, uint64_t va, size_t n)
{
	return guest_mem.read(cpu, dst, va, n);
}
static inline int guest_mem_write(void *cpu, uint64_t va, const void *src, size_t n)
{
	return guest_mem.write(cpu, va, src, n);
}
static inline size_t guest_mem_fetch(void *cpu, void *dst, uint64_t va, size_t n)
{
	return guest_mem.fetch(cpu, dst, va, n);
}

#endif
