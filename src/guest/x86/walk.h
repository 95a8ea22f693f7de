/*
 * The x86-64 page walker: linear -> physical address under 4-level paging
 * (CR0.PG, CR4.PAE, EFER.LME/LMA), with 4 KiB, 2 MiB and 1 GiB pages, the
 * access rights of Intel SDM vol. 3 §4.6 (U/S, R/W with CR0.WP, NX with
 * EFER.NXE, SMEP, SMAP with RFLAGS.AC and implicit supervisor accesses),
 * reserved-bit checks, accessed/dirty updates and the #PF error code.
 *
 * It knows neither the machine's RAM nor the TLB: physical memory comes in
 * as a pair of accessors (read and compare-exchange of 8 aligned bytes),
 * the result goes out as a value the soft MMU caches (src/exec/tlb.h).  Not
 * modelled: LA57 (5-level paging is not reported in CPUID), PCID (CR3's low
 * 12 bits are ignored), protection keys (PK is never reported), and paging
 * modes other than 4-level (the caller handles CR0.PG=0 as identity).
 *
 * Invariant: accessed and dirty flags are written only when the access is
 * allowed, and only with a compare-exchange of the entry as it was read; if
 * the entry changed meanwhile the walk starts over, so a concurrent writer
 * of the page tables (another vCPU, the guest's own code) is never undone.
 */
#ifndef LOOM_GUEST_X86_WALK_H
#define LOOM_GUEST_X86_WALK_H

#include <stdbool.h>
#include <stdint.h>

/* Control-register bits the walker reads. */
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_PG (1ull << 31)
#define X86_CR4_PAE (1ull << 5)
#define X86_CR4_PGE (1ull << 7)
#define X86_CR4_LA57 (1ull << 12)
#define X86_CR4_SMEP (1ull << 20)
#define X86_CR4_SMAP (1ull << 21)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)

/* Paging-structure entry bits. */
#define X86_PTE_P (1ull << 0)
#define X86_PTE_RW (1ull << 1)
#define X86_PTE_US (1ull << 2)
#define X86_PTE_A (1ull << 5)
#define X86_PTE_D (1ull << 6)
#define X86_PTE_PS (1ull << 7)
#define X86_PTE_G (1ull << 8)
#define X86_PTE_NX (1ull << 63)

/* #PF error code bits (SDM §4.7). */
#define X86_PF_P (1u << 0)	/* protection violation (else not present) */
#define X86_PF_W (1u << 1)	/* the access was a write */
#define X86_PF_U (1u << 2)	/* the access was a user-mode access */
#define X86_PF_RSVD (1u << 3)	/* a reserved bit was set in some entry */
#define X86_PF_I (1u << 4)	/* instruction fetch, with NXE or SMEP on */

/* Physical memory as the walker sees it: entries are 8 bytes, 8-aligned. */
struct x86_walk_mem {
	void *opaque;
	/* Read the entry at pa into *val; false if pa is not RAM (the walk
	 * then faults as if the entry were not present). */
	bool (*read8)(void *opaque, uint64_t pa, uint64_t *val);
	/* Atomically: if the entry at pa equals old, make it new and return
	 * true; else false (the walker walks again).  A write to memory that
	 * is not RAM is dropped, and succeeds. */
	bool (*cmpxchg8)(void *opaque, uint64_t pa, uint64_t old, uint64_t new);
};

/* The control state a translation depends on. */
struct x86_walk_ctl {
	uint64_t cr0, cr3, cr4, efer;
	uint8_t cpl;		/* 0-3 */
	bool ac;		/* RFLAGS.AC */
	uint8_t maxphyaddr;	/* CPUID 0x80000008 EAX[7:0] of the model */
	bool gbpages;		/* CPUID 0x80000001 EDX[26]: 1 GiB pages */
};

enum x86_access {
	X86_ACC_READ,
	X86_ACC_WRITE,
	X86_ACC_FETCH,
};
/* Or'ed into the access: a supervisor-mode access whatever the CPL (the
 * CPU's own reads of the GDT, IDT, TSS; SMAP ignores RFLAGS.AC for it). */
#define X86_ACC_IMPLICIT 0x10

/* What a successful walk found.  prot says which accesses the same
 * context (cpl, ac, control bits) may make to the page without walking
 * again: X86_PROT_WRITE only once the leaf is dirty, so that the first
 * write through a cached translation still sets D. */
#define X86_PROT_READ 1
#define X86_PROT_WRITE 2
#define X86_PROT_EXEC 4
struct x86_walk_result {
	uint64_t pa;		/* physical address of the byte asked for */
	uint64_t page_size;	/* 4 KiB, 2 MiB or 1 GiB */
	uint8_t prot;		/* X86_PROT_* */
	bool user;		/* a user-mode page (U/S=1 at every level) */
	bool global;		/* G on the leaf with CR4.PGE */
};

/* The soft TLB's MMU indexes (exec/tlb.h) for x86: one per context whose
 * rights differ, so that neither a privilege change nor stac/clac flushes.
 * A block is translated for one index: with SMAP on, RFLAGS.AC at CPL<3 is
 * part of the translation key. */
enum x86_mmu_idx { X86_MMU_SUP, X86_MMU_SUP_AC, X86_MMU_USER, X86_MMU_NB };
static inline enum x86_mmu_idx x86_mmu_index(uint8_t cpl, bool ac, uint64_t cr4)
{
	if (cpl == 3)
		return X86_MMU_USER;
	return ac && (cr4 & X86_CR4_SMAP) ? X86_MMU_SUP_AC : X86_MMU_SUP;
}

/* Translate va for an access (enum x86_access | X86_ACC_IMPLICIT).  0 and
 * *res filled, or the #PF error code | X86_WALK_FAULT (never 0).  With
 * CR0.PG clear the address is physical.  The caller checks canonicality
 * (#GP, not #PF) and that paging is 4-level (LMA set when PG is). */
#define X86_WALK_FAULT (1u << 31)
uint32_t x86_walk(const struct x86_walk_ctl *ctl, const struct x86_walk_mem *mem, uint64_t va,
		  int access, struct x86_walk_result *res);

#endif
