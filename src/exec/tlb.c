/*
 * The software TLB's slow path, flushes and the physical-page code map
 * (tlb.h).  Translated code handles hits inline; everything here runs on a
 * miss, on an access the inline compare refuses (MMIO, a write to a code
 * page, an access crossing a page), or for a helper's guest access.
 *
 * Faults: a miss whose walk fails restores the guest state to the start of
 * the instruction from the access's host pc (as the host-fault path does
 * for user mode) and hands the fault to tlb_ops.raise, which does not
 * return.  A split access checks both pages before writing either, so a
 * store that faults on its second page leaves memory unchanged.
 *
 * Not yet: the code map's flagging of other vCPUs' TLBs is not
 * synchronised with those vCPUs running (one vCPU for now).  A write to a
 * code page calls code_write before any byte of it is written, so the
 * environment may restart the storing instruction (exec_code_written).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "exec/tlb.h"
#include "exec/exec-internal.h"
#include "util/log.h"

int32_t tlb_env_off;
bool tlb_softmmu;
static int tlb_mmu_shift;
static uint32_t tlb_mmu_mask;

static pthread_mutex_t tlb_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tlb *tlb_list;

void tlb_set_env_offset(int32_t off)
{
	tlb_env_off = off;
}

void tlb_install_lowering(int mmu_shift, uint32_t mmu_mask)
{
	struct host_softmmu_layout l = {
		.tlb_off = tlb_env_off + (int32_t)offsetof(struct tlb, e),
		.mmu_stride = sizeof(((struct tlb *)0)->e[0]),
		.index_bits = TLB_BITS, .entry_shift = TLB_ENTRY_SHIFT, .page_bits = TLB_PAGE_BITS,
		.read_off = offsetof(struct tlb_entry, addr_read),
		.write_off = offsetof(struct tlb_entry, addr_write),
		.addend_off = offsetof(struct tlb_entry, addend),
		.mmu_shift = mmu_shift, .mmu_mask = mmu_mask,
		.ld_helper = tlb_helper_ld, .st_helper = tlb_helper_st, .rmw_helper = tlb_helper_rmw,
	};
	host_set_softmmu(&l);
	tlb_mmu_shift = mmu_shift;
	tlb_mmu_mask = mmu_mask;
	tlb_softmmu = true;
}

void tlb_set_mode(struct tlb *t, uint32_t flags)
{
	t->cur_mmu = flags >> tlb_mmu_shift & tlb_mmu_mask;
}


static void tlb_clear_mmu(struct tlb *t, int mmu)
{
	memset(t->e[mmu], 0xff, sizeof(t->e[mmu]));
	memset(t->victim[mmu], 0xff, sizeof(t->victim[mmu]));
	t->large_addr[mmu] = ~0ull;
	t->large_mask[mmu] = 0;
}

void tlb_init(struct tlb *t, void *cpu, const struct tlb_ops *ops)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->cpu = cpu;
	for (int mmu = 0; mmu < TLB_NB_MMU; mmu++)
		tlb_clear_mmu(t, mmu);
	pthread_mutex_lock(&tlb_list_lock);
	t->next = tlb_list;
	tlb_list = t;
	pthread_mutex_unlock(&tlb_list_lock);
}

void tlb_fini(struct tlb *t)
{
	pthread_mutex_lock(&tlb_list_lock);
	for (struct tlb **p = &tlb_list; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	pthread_mutex_unlock(&tlb_list_lock);
}

void tlb_flush_all(struct tlb *t)
{
	for (int mmu = 0; mmu < TLB_NB_MMU; mmu++)
		tlb_clear_mmu(t, mmu);
	t->flushes++;
}

void tlb_flush_nonglobal(struct tlb *t)
{
	if (t->nused <= TLB_USED_MAX) {
		/* every entry not filled since the last time is empty or
		 * global already */
		for (uint32_t k = 0; k < t->nused; k++) {
			unsigned mmu = t->used[k] >> TLB_BITS, i = t->used[k] & (TLB_SIZE - 1);
			if (!t->m[mmu][i].global)
				memset(&t->e[mmu][i], 0xff, sizeof(t->e[mmu][i]));
		}
	} else {
		for (int mmu = 0; mmu < TLB_NB_MMU; mmu++) {
			for (unsigned i = 0; i < TLB_SIZE; i++) {
				if (!t->m[mmu][i].global)
					memset(&t->e[mmu][i], 0xff, sizeof(t->e[mmu][i]));
			}
		}
	}
	for (int mmu = 0; mmu < TLB_NB_MMU; mmu++)
		for (int k = 0; k < TLB_VICTIMS; k++)
			if (!t->victim_m[mmu][k].global)
				memset(&t->victim[mmu][k], 0xff, sizeof(t->victim[mmu][k]));
	t->nused = 0;
	/* (the large-page region stays: it may still cover global pages) */
	t->flushes++;
}

/* The virtual page an entry maps, or TLB_TAG_NONE if empty. */
static uint64_t tlb_entry_page(const struct tlb_entry *e)
{
	if (e->addr_read != TLB_TAG_NONE)
		return e->addr_read & TLB_PAGE_MASK;
	if (e->addr_write != TLB_TAG_NONE)
		return e->addr_write & TLB_PAGE_MASK;
	if (e->addr_code != TLB_TAG_NONE)
		return e->addr_code & TLB_PAGE_MASK;
	return TLB_TAG_NONE;
}

void tlb_flush_page(struct tlb *t, uint64_t va)
{
	uint64_t page = va & TLB_PAGE_MASK;
	for (int mmu = 0; mmu < TLB_NB_MMU; mmu++) {
		if ((va & t->large_mask[mmu]) == t->large_addr[mmu]) {
			tlb_clear_mmu(t, mmu);
			continue;
		}
		struct tlb_entry *e = tlb_entry(t, mmu, va);
		if (tlb_entry_page(e) == page)
			memset(e, 0xff, sizeof(*e));
		for (int k = 0; k < TLB_VICTIMS; k++)
			if (tlb_entry_page(&t->victim[mmu][k]) == page)
				memset(&t->victim[mmu][k], 0xff, sizeof(t->victim[mmu][k]));
	}
	t->flushes++;
}

/* Widen mmu's large-page region to cover [va, va + size). */
static void tlb_add_large(struct tlb *t, int mmu, uint64_t va, uint64_t size)
{
	uint64_t mask = ~(size - 1);
	if (t->large_mask[mmu] == 0) {
		t->large_addr[mmu] = va & mask;
		t->large_mask[mmu] = mask;
		return;
	}
	mask &= t->large_mask[mmu];
	while ((t->large_addr[mmu] ^ va) & mask)
		mask <<= 1;
	t->large_mask[mmu] = mask;
	t->large_addr[mmu] &= mask;
}

/* Put the guest state back to the start of the instruction whose access
 * at host pc hpc is failing (0: a helper already made it exact). */
static void tlb_restore_state(void *cpu, uintptr_t hpc)
{
	struct tb *tb = hpc ? tb_find_by_host_pc(hpc) : NULL;
	if (!tb)
		return;
	exec_guest.set_pc(cpu, tb_guest_pc_of(tb, hpc));
	if (tb->instr_fix && exec_hooks.fault_fixup)
		exec_hooks.fault_fixup(cpu, tb, tb_insn_index_of(tb, hpc), true);
	/* The access may lie inside a tool region (host.h): the guest's FP
	 * state comes back as the region's end would have brought it. */
	exec_guest.tool_unwind(cpu);
}

static uint64_t tlb_tag(const struct tlb_entry *e, enum tlb_access acc)
{
	return acc == TLB_READ ? e->addr_read : acc == TLB_WRITE ? e->addr_write : e->addr_code;
}

/* Entry i of mmu changed: the next non-global flush must look at it. */
static void tlb_note_used(struct tlb *t, int mmu, size_t i)
{
	if (t->nused < TLB_USED_MAX)
		t->used[t->nused] = mmu << TLB_BITS | i;
	if (t->nused <= TLB_USED_MAX)
		t->nused++;
}

/* A victim allowing acc to page: swapped with entry e (its index's), its
 * write tag flagged as the code map says now.  Whether there was one. */
static bool tlb_victim_swap(struct tlb *t, struct tlb_entry *e, int mmu, uint64_t page,
			    enum tlb_access acc)
{
	for (int k = 0; k < TLB_VICTIMS; k++) {
		struct tlb_entry *v = &t->victim[mmu][k];
		uint64_t tag = tlb_tag(v, acc);
		if (tag == TLB_TAG_NONE || (tag & TLB_PAGE_MASK) != page)
			continue;
		size_t i = e - t->e[mmu];
		struct tlb_entry te = *e;
		struct tlb_meta tm = t->m[mmu][i];
		*e = *v;
		t->m[mmu][i] = t->victim_m[mmu][k];
		*v = te;
		t->victim_m[mmu][k] = tm;
		if (e->addr_write != TLB_TAG_NONE && !(e->addr_write & TLB_MMIO))
			e->addr_write = (e->addr_write & ~TLB_CODE) |
					(physmap_has_code(t->m[mmu][i].pa_page) ? TLB_CODE : 0);
		tlb_note_used(t, mmu, i);
		t->victim_hits++;
		return true;
	}
	return false;
}

/* Cache va's translation: from the victims, or walked; NULL with *fault
 * set if it faults. */
static struct tlb_entry *tlb_fill_try(struct tlb *t, uint64_t va, enum tlb_access acc, int mmu,
				      uint32_t *fault)
{
	struct tlb_fill f;
	uint64_t page = va & TLB_PAGE_MASK;
	struct tlb_entry *e = tlb_entry(t, mmu, va);
	*fault = 0;
	if (tlb_victim_swap(t, e, mmu, page, acc))
		return e;
	*fault = t->ops->translate(t->cpu, va, acc, mmu, &f);
	if (*fault)
		return NULL;
	uint64_t pa_page = f.pa & TLB_PAGE_MASK;
	uint8_t *host = t->ops->ram_page(pa_page);
	uint64_t flags = host ? 0 : TLB_MMIO;
	uint64_t old = tlb_entry_page(e);
	if (old != TLB_TAG_NONE && old != page) {
		/* pushed out: kept among the victims */
		int k = t->victim_next[mmu]++ % TLB_VICTIMS;
		t->victim[mmu][k] = *e;
		t->victim_m[mmu][k] = t->m[mmu][e - t->e[mmu]];
	}
	e->addr_read = f.prot & TLB_PROT_READ ? page | flags : TLB_TAG_NONE;
	e->addr_write = f.prot & TLB_PROT_WRITE
			? page | flags | (physmap_has_code(pa_page) ? TLB_CODE : 0) : TLB_TAG_NONE;
	e->addr_code = f.prot & TLB_PROT_EXEC ? page | flags : TLB_TAG_NONE;
	e->addend = host ? (uintptr_t)host - page : 0;
	t->m[mmu][e - t->e[mmu]] = (struct tlb_meta){ .pa_page = pa_page, .global = f.global };
	tlb_note_used(t, mmu, e - t->e[mmu]);
	if (f.page_size > TLB_PAGE_SIZE)
		tlb_add_large(t, mmu, va, f.page_size);
	t->fills++;
	return e;
}

struct tlb_entry *tlb_fill_entry(struct tlb *t, uint64_t va, enum tlb_access acc, int mmu,
				 uintptr_t hpc)
{
	uint32_t fault;
	struct tlb_entry *e = tlb_fill_try(t, va, acc, mmu, &fault);
	if (!e) {
		t->fault_hpc = hpc;
		tlb_restore_state(t->cpu, hpc);
		t->ops->raise(t->cpu, va, acc, fault);
		abort();	/* raise unwinds */
	}
	return e;
}

/* The entry for an access of kind acc to va, filled if it does not allow
 * it (the tag's flags are the caller's to honour). */
static struct tlb_entry *tlb_lookup_fill(struct tlb *t, uint64_t va, enum tlb_access acc,
					 int mmu, uintptr_t hpc)
{
	struct tlb_entry *e = tlb_entry(t, mmu, va);
	uint64_t tag = tlb_tag(e, acc);
	if (tag == TLB_TAG_NONE || (tag & TLB_PAGE_MASK) != (va & TLB_PAGE_MASK))
		e = tlb_fill_entry(t, va, acc, mmu, hpc);
	return e;
}

static uint64_t tlb_pa(struct tlb *t, struct tlb_entry *e, int mmu, uint64_t va)
{
	return t->m[mmu][e - t->e[mmu]].pa_page | (va & ~TLB_PAGE_MASK);
}

/* A write to a page whose entry says it holds code: let the environment
 * invalidate its blocks, then stop flagging the page if it is clean.
 * Before any byte of the access is written: code_write may restart the
 * storing instruction. */
static void tlb_code_write(struct tlb *t, struct tlb_entry *e, int mmu, uint64_t va,
			   uint64_t len, uintptr_t hpc)
{
	uint64_t pa_page = t->m[mmu][e - t->e[mmu]].pa_page;
	if (physmap_has_code(pa_page)) {
		if (t->ops->code_write)
			t->ops->code_write(t->cpu, tlb_pa(t, e, mmu, va), len, hpc);
		physmap_clear_code(pa_page);
	}
	e->addr_write &= ~TLB_CODE;
}

/* Little-endian value of n bytes at p. */
static uint64_t tlb_get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	memcpy(&v, p, n);
	return v;
}

uint64_t tlb_load(struct tlb *t, uint64_t va, int size_log2, int mmu, uintptr_t hpc)
{
	unsigned size = 1u << size_log2;
	if ((va & ~TLB_PAGE_MASK) + size > TLB_PAGE_SIZE) {
		/* Split: both pages must be readable before either is read. */
		uint64_t va2 = (va & TLB_PAGE_MASK) + TLB_PAGE_SIZE;
		tlb_lookup_fill(t, va, TLB_READ, mmu, hpc);
		tlb_lookup_fill(t, va2, TLB_READ, mmu, hpc);
		uint8_t buf[8];
		for (unsigned i = 0; i < size; i++)
			buf[i] = tlb_load(t, va + i, 0, mmu, hpc);
		return tlb_get_le(buf, size);
	}
	struct tlb_entry *e = tlb_lookup_fill(t, va, TLB_READ, mmu, hpc);
	if (e->addr_read & TLB_MMIO)
		return t->ops->mmio_read(t->cpu, tlb_pa(t, e, mmu, va), size);
	return tlb_get_le((const uint8_t *)(uintptr_t)(va + e->addend), size);
}

void tlb_store(struct tlb *t, uint64_t va, uint64_t val, int size_log2, int mmu, uintptr_t hpc)
{
	unsigned size = 1u << size_log2;
	if ((va & ~TLB_PAGE_MASK) + size > TLB_PAGE_SIZE) {
		uint64_t va2 = (va & TLB_PAGE_MASK) + TLB_PAGE_SIZE;
		tlb_lookup_fill(t, va, TLB_WRITE, mmu, hpc);
		struct tlb_entry *e2 = tlb_lookup_fill(t, va2, TLB_WRITE, mmu, hpc);
		/* code pages first: a restart must find memory unwritten */
		if (e2->addr_write & TLB_CODE)
			tlb_code_write(t, e2, mmu, va2, va + size - va2, hpc);
		struct tlb_entry *e1 = tlb_lookup_fill(t, va, TLB_WRITE, mmu, hpc);
		if (e1->addr_write & TLB_CODE)
			tlb_code_write(t, e1, mmu, va, va2 - va, hpc);
		for (unsigned i = 0; i < size; i++)
			tlb_store(t, va + i, val >> (8 * i), 0, mmu, hpc);
		return;
	}
	struct tlb_entry *e = tlb_lookup_fill(t, va, TLB_WRITE, mmu, hpc);
	if (e->addr_write & TLB_MMIO) {
		t->ops->mmio_write(t->cpu, tlb_pa(t, e, mmu, va), size, val);
		return;
	}
	if (e->addr_write & TLB_CODE)
		tlb_code_write(t, e, mmu, va, size, hpc);
	memcpy((uint8_t *)(uintptr_t)(va + e->addend), &val, size);
}

void *tlb_rmw_ptr(struct tlb *t, uint64_t va, int size_log2, int mmu, uintptr_t hpc)
{
	unsigned size = 1u << size_log2;
	uint64_t first = size;	/* the bytes on va's page */
	struct tlb_entry *e = tlb_lookup_fill(t, va, TLB_WRITE, mmu, hpc);
	if ((va & ~TLB_PAGE_MASK) + size > TLB_PAGE_SIZE) {
		uint64_t va2 = (va & TLB_PAGE_MASK) + TLB_PAGE_SIZE;
		struct tlb_entry *e2 = tlb_lookup_fill(t, va2, TLB_WRITE, mmu, hpc);
		e = tlb_entry(t, mmu, va);	/* (e2's fill may have evicted it) */
		if ((e->addr_write & TLB_PAGE_MASK) != (va & TLB_PAGE_MASK))
			e = tlb_fill_entry(t, va, TLB_WRITE, mmu, hpc);
		if ((e->addr_write | e2->addr_write) & TLB_MMIO || e2->addend != e->addend)
			return NULL;
		first = va2 - va;
		if (e2->addr_write & TLB_CODE)
			tlb_code_write(t, e2, mmu, va2, size - first, hpc);
	} else if (e->addr_write & TLB_MMIO) {
		return NULL;
	}
	if (e->addr_write & TLB_CODE)
		tlb_code_write(t, e, mmu, va, first, hpc);
	return (void *)(uintptr_t)(va + e->addend);
}

void tlb_read_buf(struct tlb *t, void *dst, uint64_t va, size_t n, uintptr_t hpc)
{
	uint8_t *d = dst;
	while (n) {
		size_t chunk = TLB_PAGE_SIZE - (va & ~TLB_PAGE_MASK);
		if (chunk > n)
			chunk = n;
		struct tlb_entry *e = tlb_lookup_fill(t, va, TLB_READ, t->cur_mmu, hpc);
		if (e->addr_read & TLB_MMIO) {
			for (size_t i = 0; i < chunk; i++)
				d[i] = t->ops->mmio_read(t->cpu, tlb_pa(t, e, t->cur_mmu, va + i), 1);
		} else {
			memcpy(d, (const void *)(uintptr_t)(va + e->addend), chunk);
		}
		d += chunk;
		va += chunk;
		n -= chunk;
	}
}

void tlb_write_buf(struct tlb *t, uint64_t va, const void *src, size_t n, uintptr_t hpc)
{
	const uint8_t *s = src;
	int mmu = t->cur_mmu;
	/* Every page first: the fault, if any, comes before any byte moves. */
	for (uint64_t p = va & TLB_PAGE_MASK; n && p <= ((va + n - 1) & TLB_PAGE_MASK);
	     p += TLB_PAGE_SIZE)
		tlb_lookup_fill(t, p < va ? va : p, TLB_WRITE, mmu, hpc);
	/* and code pages before any byte moves (a restart sees none moved) */
	for (uint64_t p = va & TLB_PAGE_MASK; n && p <= ((va + n - 1) & TLB_PAGE_MASK);
	     p += TLB_PAGE_SIZE) {
		uint64_t from = p < va ? va : p;
		uint64_t to = p + TLB_PAGE_SIZE < va + n ? p + TLB_PAGE_SIZE : va + n;
		struct tlb_entry *e = tlb_lookup_fill(t, from, TLB_WRITE, mmu, hpc);
		if (e->addr_write & TLB_CODE)
			tlb_code_write(t, e, mmu, from, to - from, hpc);
	}
	while (n) {
		size_t chunk = TLB_PAGE_SIZE - (va & ~TLB_PAGE_MASK);
		if (chunk > n)
			chunk = n;
		struct tlb_entry *e = tlb_lookup_fill(t, va, TLB_WRITE, mmu, hpc);
		if (e->addr_write & TLB_MMIO) {
			for (size_t i = 0; i < chunk; i++)
				t->ops->mmio_write(t->cpu, tlb_pa(t, e, mmu, va + i), 1, s[i]);
		} else {
			if (e->addr_write & TLB_CODE)
				tlb_code_write(t, e, mmu, va, chunk, hpc);
			memcpy((void *)(uintptr_t)(va + e->addend), s, chunk);
		}
		s += chunk;
		va += chunk;
		n -= chunk;
	}
}

uint64_t tlb_code_pa(struct tlb *t, uint64_t va, int mmu, uintptr_t hpc)
{
	struct tlb_entry *e = tlb_lookup_fill(t, va, TLB_FETCH, mmu, hpc);
	return tlb_pa(t, e, mmu, va);
}

/* Whether a jump-cache entry for a TB at pc may outlive a CR3 write: its
 * code page is in the TLB as a global page in the current context, and
 * its first instruction cannot run into the next page (the last 15 bytes
 * of a page are left out rather than checked). */
bool exec_jc_global(uint64_t pc)
{
	if (!tlb_softmmu || (pc & (TLB_PAGE_SIZE - 1)) > TLB_PAGE_SIZE - 16)
		return false;
	struct tlb *t = tlb_of_env(exec_current_cpu);
	int mmu = t->cur_mmu;
	uint32_t i = (pc >> TLB_PAGE_BITS) & (TLB_SIZE - 1);
	return t->e[mmu][i].addr_code == (pc & TLB_PAGE_MASK) && t->m[mmu][i].global;
}

bool tlb_code_phys(struct tlb *t, uint64_t va, uint64_t *pa)
{
	int mmu = t->cur_mmu;
	struct tlb_entry *e = tlb_entry(t, mmu, va);
	uint32_t fault;
	if (e->addr_code == TLB_TAG_NONE || (e->addr_code & TLB_PAGE_MASK) != (va & TLB_PAGE_MASK)) {
		e = tlb_fill_try(t, va, TLB_FETCH, mmu, &fault);
		if (!e)
			return false;
	}
	*pa = tlb_pa(t, e, mmu, va);
	return true;
}

uint64_t tlb_helper_ld(void *env, uint64_t va, uint64_t oi, uintptr_t hpc)
{
	struct tlb *t = tlb_of_env(env);
	t->slow++;
	return tlb_load(t, va, oi & 3, oi >> 8, hpc);
}

void tlb_helper_st(void *env, uint64_t va, uint64_t val, uint64_t oi, uintptr_t hpc)
{
	struct tlb *t = tlb_of_env(env);
	t->slow++;
	tlb_store(t, va, val, oi & 3, oi >> 8, hpc);
}

void *tlb_rmw(struct tlb *t, uint64_t va, int size_log2, int mmu, uintptr_t hpc)
{
	void *p = tlb_rmw_ptr(t, va, size_log2, mmu, hpc);
	if (!p) {
		/* A locked access to MMIO or split across non-adjacent RAM:
		 * not something loom can make atomic. */
		if (log_enabled(LOG_UNIMP))
			log_printf("unimp: locked access at 0x%" PRIx64 " to MMIO or split across "
				   "non-adjacent RAM pages\n", va);
		t->fault_hpc = hpc;
		tlb_restore_state(t->cpu, hpc);
		t->ops->raise(t->cpu, va, TLB_WRITE, TLB_FAULT_UNSUPPORTED);
		abort();
	}
	return p;
}

void *tlb_helper_rmw(void *env, uint64_t va, uint64_t oi, uintptr_t hpc)
{
	struct tlb *t = tlb_of_env(env);
	t->slow++;
	return tlb_rmw(t, va, oi & 3, oi >> 8, hpc);
}

/* ---- the physical-page code map ---- */

static uint64_t *physmap_bits;
static uint64_t physmap_pages;

int physmap_init(uint64_t pa_limit)
{
	physmap_pages = (pa_limit + TLB_PAGE_SIZE - 1) >> TLB_PAGE_BITS;
	physmap_bits = calloc((physmap_pages + 63) / 64, sizeof(uint64_t));
	return physmap_bits ? 0 : -ENOMEM;
}

void physmap_fini(void)
{
	free(physmap_bits);
	physmap_bits = NULL;
	physmap_pages = 0;
}

bool physmap_has_code(uint64_t pa)
{
	uint64_t pfn = pa >> TLB_PAGE_BITS;
	return pfn < physmap_pages && (physmap_bits[pfn / 64] >> (pfn % 64) & 1);
}

void physmap_set_code(uint64_t pa)
{
	uint64_t pfn = pa >> TLB_PAGE_BITS, pa_page = pa & TLB_PAGE_MASK;
	if (pfn >= physmap_pages || physmap_has_code(pa))
		return;
	__atomic_fetch_or(&physmap_bits[pfn / 64], 1ull << (pfn % 64), __ATOMIC_SEQ_CST);
	/* Writes through any TLB that maps the page now take the slow path. */
	pthread_mutex_lock(&tlb_list_lock);
	for (struct tlb *t = tlb_list; t; t = t->next) {
		for (int mmu = 0; mmu < TLB_NB_MMU; mmu++) {
			for (unsigned i = 0; i < TLB_SIZE; i++) {
				struct tlb_entry *e = &t->e[mmu][i];
				if (e->addr_write != TLB_TAG_NONE && !(e->addr_write & TLB_MMIO) &&
				    t->m[mmu][i].pa_page == pa_page)
					e->addr_write |= TLB_CODE;
			}
		}
	}
	pthread_mutex_unlock(&tlb_list_lock);
}

void physmap_clear_code(uint64_t pa)
{
	uint64_t pfn = pa >> TLB_PAGE_BITS;
	if (pfn < physmap_pages)
		__atomic_fetch_and(&physmap_bits[pfn / 64], ~(1ull << (pfn % 64)), __ATOMIC_SEQ_CST);
}
