/*
 * The software TLB of whole-system mode and the physical-page code map.
 *
 * One struct tlb per vCPU, kept at a fixed offset from env (the guest CPU
 * struct) so translated code probes it inline (host/host.h's
 * host_softmmu_layout): per MMU index (a translation context the guest
 * defines -- x86: supervisor, supervisor with RFLAGS.AC, user -- so that a
 * privilege change does not flush), TLB_SIZE direct-mapped entries indexed
 * by virtual page number.  An entry holds one tag per access kind (read,
 * write, code fetch): the virtual page address when that access may go
 * straight to host memory, with flag bits below the page size when it must
 * take the slow path (MMIO, a write to a page holding translated code), or
 * TLB_TAG_NONE.  addend is host pointer - guest virtual address for RAM, so
 * a hit is: index, compare the tag, branch, add.
 *
 * The guest-neutral slow path is here; what is guest or machine specific
 * comes in through struct tlb_ops: the page walk, where RAM is, MMIO, the
 * invalidation of a code page's blocks, and raising a fault.
 *
 * Invariant: a tag without flag bits promises that the page is RAM at
 * addend and that the access is allowed in this context without a walk --
 * writes only once the guest's dirty bit is set and while the physical
 * page holds no translated code.  Whatever breaks the promise (a page-table
 * change the guest flushes, a TB translated from the page) clears or flags
 * the entry first.
 */
#ifndef LOOM_EXEC_TLB_H
#define LOOM_EXEC_TLB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLB_PAGE_BITS 12
#define TLB_PAGE_SIZE (1ull << TLB_PAGE_BITS)
#define TLB_PAGE_MASK (~(TLB_PAGE_SIZE - 1))
#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_NB_MMU 3
#define TLB_USED_MAX 512
#define TLB_VICTIMS 8

/* Flags in the low bits of a tag; any of them makes the inline compare
 * fail (the compared address has zeros there). */
#define TLB_MMIO (1ull << 11)		/* not RAM: the bus's */
#define TLB_CODE (1ull << 10)		/* write tag: the page holds code */
#define TLB_TAG_NONE (~0ull)		/* no access of this kind cached */

/* Access kinds. */
enum tlb_access { TLB_READ, TLB_WRITE, TLB_FETCH };

struct tlb_entry {
	uint64_t addr_read, addr_write, addr_code;
	uintptr_t addend;
};
#define TLB_ENTRY_SHIFT 5
_Static_assert(sizeof(struct tlb_entry) == 1u << TLB_ENTRY_SHIFT, "probe shifts by this");

/* What the slow path and flushes need and translated code does not. */
struct tlb_meta {
	uint64_t pa_page;	/* physical address of the 4 KiB page */
	bool global;
};

/* A translation, as the guest's walker gives it. */
struct tlb_fill {
	uint64_t pa;		/* physical address of the byte asked for */
	uint64_t page_size;	/* of the guest's mapping: 4 KiB or larger */
	uint8_t prot;		/* TLB_PROT_*: accesses this context may cache */
	bool global;		/* survives tlb_flush_nonglobal */
};
#define TLB_PROT_READ 1
#define TLB_PROT_WRITE 2
#define TLB_PROT_EXEC 4

#define TLB_FAULT_UNSUPPORTED (~0u)

struct tlb_ops {
	/* Translate va for an access in MMU index mmu: 0 and *f filled, or
	 * a nonzero fault code for raise. */
	uint32_t (*translate)(void *cpu, uint64_t va, enum tlb_access acc, int mmu,
			      struct tlb_fill *f);
	/* The guest state is that of the faulting instruction's start:
	 * deliver the fault (does not return).  fault is translate's, or
	 * TLB_FAULT_UNSUPPORTED for an access loom cannot perform (a locked
	 * one on MMIO): the guest gets an invalid-opcode exception. */
	void (*raise)(void *cpu, uint64_t va, enum tlb_access acc, uint32_t fault);
	/* A host pointer to the RAM page at pa_page, or NULL: MMIO. */
	void *(*ram_page)(uint64_t pa_page);
	uint64_t (*mmio_read)(void *cpu, uint64_t pa, unsigned size);
	void (*mmio_write)(void *cpu, uint64_t pa, unsigned size, uint64_t val);
	/* A guest write is about to change the physical bytes [pa, pa + len)
	 * (on one page), whose page holds translated code: invalidate its
	 * blocks and clear its bit (physmap_clear_code; exec.h's
	 * exec_code_written).  hpc: the host pc of the store (0: a helper's),
	 * which it may restart (then it does not return).  NULL: only the bit
	 * is cleared. */
	void (*code_write)(void *cpu, uint64_t pa, uint64_t len, uintptr_t hpc);
};

struct tlb {
	/* Reached by translated code: keep first. */
	struct tlb_entry e[TLB_NB_MMU][TLB_SIZE];
	struct tlb_meta m[TLB_NB_MMU][TLB_SIZE];
	/* A region covering every large page cached per MMU index (mask 0
	 * and addr ~0: none), so invlpg inside one flushes all it may have
	 * left behind. */
	uint64_t large_addr[TLB_NB_MMU], large_mask[TLB_NB_MMU];
	const struct tlb_ops *ops;
	void *cpu;		/* the vCPU whose env this TLB lies in */
	/* The MMU index of the vCPU's current context (x86: CPL, RFLAGS.AC),
	 * kept up to date by the environment: helpers' accesses use it. */
	uint8_t cur_mmu;
	struct tlb *next;	/* every TLB, for tlb_protect_code */
	uintptr_t fault_hpc;	/* host pc of the last access that faulted */
	uint64_t fills, flushes;
	uint64_t slow;		/* calls of the inline probe's miss helpers */
	/* The entries filled since the last flush of non-global entries
	 * (mmu << TLB_BITS | index), which that flush then clears alone (it
	 * comes with every CR3 write: twice per system call under page-table
	 * isolation); nused > TLB_USED_MAX: too many, scan every entry. */
	uint32_t nused;
	uint16_t used[TLB_USED_MAX];
	/* The entries fills pushed out, per MMU index (round robin): a miss
	 * looks here before it walks, so two hot pages of one index (4 MiB
	 * apart: a stack and a heap page, as address-space randomization
	 * happens to place them) do not walk on every other access.  Flushes
	 * clear them as they clear the entries. */
	struct tlb_entry victim[TLB_NB_MMU][TLB_VICTIMS];
	struct tlb_meta victim_m[TLB_NB_MMU][TLB_VICTIMS];
	uint8_t victim_next[TLB_NB_MMU];
	uint64_t victim_hits;
};

/* Where translated code and the slow-path helpers find the TLB: env plus
 * this offset (may be negative: the TLB may precede the CPU struct). */
extern int32_t tlb_env_off;
void tlb_set_env_offset(int32_t off);
static inline struct tlb *tlb_of_env(void *env)
{
	return (struct tlb *)((char *)env + tlb_env_off);
}
/* Whether guest memory is reached through the TLB (whole-system mode: set
 * by tlb_install_lowering) rather than at host address = guest address. */
extern bool tlb_softmmu;

/* Keep cur_mmu at the MMU index of translation flags flags, as the
 * lowering takes it from a block's (the exec loop, when the mode changes). */
void tlb_set_mode(struct tlb *t, uint32_t flags);

/* Make the backend lower guest memory ops through the TLB (host.h's
 * soft-MMU lowering), taking a block's MMU index from its translation flags
 * as (flags >> mmu_shift) & mmu_mask.  Before the first translation; user
 * mode never calls it. */
void tlb_install_lowering(int mmu_shift, uint32_t mmu_mask);

/* Start a vCPU's TLB empty and register it; tlb_fini unregisters it. */
void tlb_init(struct tlb *t, void *cpu, const struct tlb_ops *ops);
void tlb_fini(struct tlb *t);

/* Flushes: everything (CR0/CR4 changes); all but global entries (CR3
 * write); one virtual page in every MMU index (invlpg), or all of an
 * index if the page may lie in a large page cached there. */
void tlb_flush_all(struct tlb *t);
void tlb_flush_nonglobal(struct tlb *t);
void tlb_flush_page(struct tlb *t, uint64_t va);

static inline struct tlb_entry *tlb_entry(struct tlb *t, int mmu, uint64_t va)
{
	return &t->e[mmu][(va >> TLB_PAGE_BITS) & (TLB_SIZE - 1)];
}

/* The host address of va if an access of kind acc in MMU index mmu hits
 * the TLB with no flag (RAM the context may touch without the slow path:
 * for a write, a dirty page holding no translated code), else NULL.  Never
 * walks or faults: bulk helpers use it and leave the rest to the slow path. */
static inline void *tlb_probe_host(struct tlb *t, uint64_t va, enum tlb_access acc, int mmu)
{
	const struct tlb_entry *e = tlb_entry(t, mmu, va);
	uint64_t tag = acc == TLB_READ ? e->addr_read : acc == TLB_WRITE ? e->addr_write : e->addr_code;
	if (tag != (va & TLB_PAGE_MASK))
		return NULL;
	return (void *)(uintptr_t)(va + e->addend);
}

/* Walk and cache the translation of va (raising the guest's fault, with
 * the guest state first restored from the host pc hpc of the access in
 * translated code; 0: the state is exact already).  Returns the entry. */
struct tlb_entry *tlb_fill_entry(struct tlb *t, uint64_t va, enum tlb_access acc, int mmu,
				 uintptr_t hpc);

/* Guest memory accesses through the TLB, for the slow path and helpers:
 * size is 1 << size_log2 bytes, at any alignment (an access that crosses a
 * page is split).  Faults unwind as tlb_fill_entry's. */
uint64_t tlb_load(struct tlb *t, uint64_t va, int size_log2, int mmu, uintptr_t hpc);
void tlb_store(struct tlb *t, uint64_t va, uint64_t val, int size_log2, int mmu, uintptr_t hpc);
/* A host pointer for a read-modify-write of size bytes at va (a locked
 * instruction), after checking write access.  The access must stay in
 * RAM; NULL if it is MMIO or crosses onto a page not adjacent in RAM. */
void *tlb_rmw_ptr(struct tlb *t, uint64_t va, int size_log2, int mmu, uintptr_t hpc);
/* The same, raising TLB_FAULT_UNSUPPORTED (logged under -d unimp) where
 * tlb_rmw_ptr gives NULL. */
void *tlb_rmw(struct tlb *t, uint64_t va, int size_log2, int mmu, uintptr_t hpc);
/* Copy n bytes between guest virtual memory at va and a buffer, in the
 * vCPU's current context (cur_mmu), for helpers: a write checks every page
 * before writing any, so a fault leaves memory as it was. */
void tlb_read_buf(struct tlb *t, void *dst, uint64_t va, size_t n, uintptr_t hpc);
void tlb_write_buf(struct tlb *t, uint64_t va, const void *src, size_t n, uintptr_t hpc);
/* The physical address of code at va (an instruction fetch: the TB key). */
uint64_t tlb_code_pa(struct tlb *t, uint64_t va, int mmu, uintptr_t hpc);
/* The same in the current context (cur_mmu) without raising: false if the
 * fetch would fault (the exec loop then asks the guest for the fault). */
bool tlb_code_phys(struct tlb *t, uint64_t va, uint64_t *pa);

/* Called by translated code's slow path (host/x86 soft-MMU lowering).
 * oi: IR memop | mmu << 8; hpc: the host pc of the access, for the fault
 * path.  Loads return the value zero-extended. */
#define TLB_OI(memop, mmu) ((memop) | (mmu) << 8)
uint64_t tlb_helper_ld(void *env, uint64_t va, uint64_t oi, uintptr_t hpc);
void tlb_helper_st(void *env, uint64_t va, uint64_t val, uint64_t oi, uintptr_t hpc);
void *tlb_helper_rmw(void *env, uint64_t va, uint64_t oi, uintptr_t hpc);

/*
 * The physical-page code map: one bit per 4 KiB page of guest-physical
 * memory, set while the page holds translated code.  Setting it flags the
 * write tags of every TLB that maps the page, so writes there take the
 * slow path, which calls tlb_ops.code_write before writing.
 */
int physmap_init(uint64_t pa_limit);	/* 0 or -ENOMEM */
void physmap_fini(void);
bool physmap_has_code(uint64_t pa);
void physmap_set_code(uint64_t pa);
void physmap_clear_code(uint64_t pa);

#endif
