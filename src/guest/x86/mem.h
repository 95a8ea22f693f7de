/*
 * Guest memory as the x86 helpers reach it: the loads and stores a helper
 * makes for the instruction it implements (xsave, fxsave, x87 environment,
 * iret and far transfers, maskmov, gathers, cmpxchg16b).  In user mode a
 * guest address is a host address and these are plain host accesses whose
 * faults are the guest's (the lifter stored the pc before the call); in
 * whole-system mode they go through the vCPU's soft TLB in its current
 * context, and a fault raises the guest's #PF with the same exact state.
 *
 * Invariant: no helper in src/guest/x86 turns a guest address into a host
 * pointer except through this header.  The choice is one predictable
 * branch on a flag that never changes after start-up.
 */
#ifndef LOOM_GUEST_X86_MEM_H
#define LOOM_GUEST_X86_MEM_H

#include <stdint.h>
#include <string.h>
#include "exec/tlb.h"
#include "guest/x86/cpu.h"

static inline void x86_ld_buf(struct cpu *cpu, void *dst, uint64_t va, size_t n)
{
	if (__builtin_expect(tlb_softmmu, 0))
		tlb_read_buf(tlb_of_env(cpu), dst, va, n, 0);
	else
		memcpy(dst, (const void *)(uintptr_t)va, n);
}

/* A store of n bytes that faults before writing any of them. */
static inline void x86_st_buf(struct cpu *cpu, uint64_t va, const void *src, size_t n)
{
	if (__builtin_expect(tlb_softmmu, 0))
		tlb_write_buf(tlb_of_env(cpu), va, src, n, 0);
	else
		memcpy((void *)(uintptr_t)va, src, n);
}

/* Probes that fault as a load or a store of the byte at va would, and
 * change nothing: the first accesses of a multi-part operand where the
 * CPU checks one byte of it before it moves any (x87 save areas, XSAVE
 * areas).  The write probe is an atomic or of 0 in user mode, invisible
 * to other threads; a whole-system vCPU is alone with its memory. */
static inline void x86_ld_probe(struct cpu *cpu, uint64_t va)
{
	uint8_t b;
	x86_ld_buf(cpu, &b, va, 1);
	__asm__ volatile("" : : "r"(b));
}

static inline void x86_st_probe(struct cpu *cpu, uint64_t va)
{
	if (__builtin_expect(tlb_softmmu, 0)) {
		uint8_t b;
		tlb_read_buf(tlb_of_env(cpu), &b, va, 1, 0);
		tlb_write_buf(tlb_of_env(cpu), va, &b, 1, 0);
		return;
	}
	__asm__ volatile("lock orb $0, (%0)" : : "r"((uintptr_t)va) : "memory", "cc");
}

/* One element access each: volatile in user mode so that the compiler
 * keeps them in program order (a fault must follow the earlier ones). */
typedef uint32_t __attribute__((aligned(1), may_alias)) x86_u32_un;
typedef uint64_t __attribute__((aligned(1), may_alias)) x86_u64_un;

static inline uint32_t x86_ldl(struct cpu *cpu, uint64_t va)
{
	if (__builtin_expect(tlb_softmmu, 0)) {
		struct tlb *t = tlb_of_env(cpu);
		return tlb_load(t, va, 2, t->cur_mmu, 0);
	}
	return *(volatile x86_u32_un *)(uintptr_t)va;
}

static inline uint64_t x86_ldq(struct cpu *cpu, uint64_t va)
{
	if (__builtin_expect(tlb_softmmu, 0)) {
		struct tlb *t = tlb_of_env(cpu);
		return tlb_load(t, va, 3, t->cur_mmu, 0);
	}
	return *(volatile x86_u64_un *)(uintptr_t)va;
}

static inline void x86_stb(struct cpu *cpu, uint64_t va, uint8_t v)
{
	if (__builtin_expect(tlb_softmmu, 0)) {
		struct tlb *t = tlb_of_env(cpu);
		tlb_store(t, va, v, 0, t->cur_mmu, 0);
		return;
	}
	*(volatile uint8_t *)(uintptr_t)va = v;
}

static inline void x86_stl(struct cpu *cpu, uint64_t va, uint32_t v)
{
	if (__builtin_expect(tlb_softmmu, 0)) {
		struct tlb *t = tlb_of_env(cpu);
		tlb_store(t, va, v, 2, t->cur_mmu, 0);
		return;
	}
	*(volatile x86_u32_un *)(uintptr_t)va = v;
}

static inline void x86_stq(struct cpu *cpu, uint64_t va, uint64_t v)
{
	if (__builtin_expect(tlb_softmmu, 0)) {
		struct tlb *t = tlb_of_env(cpu);
		tlb_store(t, va, v, 3, t->cur_mmu, 0);
		return;
	}
	*(volatile x86_u64_un *)(uintptr_t)va = v;
}

/* A host pointer for a locked read-modify-write of 1 << size_log2 bytes
 * (write access checked).  In system mode an access loom cannot make
 * atomic (MMIO) raises the guest's #UD. */
static inline void *x86_rmw_ptr(struct cpu *cpu, uint64_t va, int size_log2)
{
	if (__builtin_expect(tlb_softmmu, 0)) {
		struct tlb *t = tlb_of_env(cpu);
		return tlb_rmw(t, va, size_log2, t->cur_mmu, 0);
	}
	return (void *)(uintptr_t)va;
}

#endif
