/*
 * Self-modifying code: the guest's memory map, the guest pages that hold
 * translated code, and loom's write protection of those pages.
 *
 * Owns the map of guest mappings and their protections (linux/ reports every
 * change through exec_mem_set), one descriptor per guest page near translated
 * code (the TBs on it, the guest's protection, whether loom took PROT_WRITE
 * away, how often it was written), and what a host write fault on such a page
 * means.  It does not own TBs: tb.c creates them, and tb_invalidate() takes one
 * out of the hash, the jump caches and every chain before calling
 * smc_tb_unlink() here.
 *
 * How a store into translated code is caught:
 *  - Cold pages.  While TBs live on a page the guest may write, the host page
 *    has the guest's protection minus PROT_WRITE, so a guest store there
 *    faults.  The fault handler takes no lock (it may have interrupted
 *    translated code that a flush is waiting for): it queues the page
 *    (smc_queue) and, for a store in translated code, restarts the guest at
 *    the storing instruction.  The exec loop then, outside translated code and
 *    under tb_lock, drains the queue (the page's TBs are invalidated and its
 *    protection lifted) and runs that one instruction as a one-shot TB that no
 *    page list, hash or jump cache knows, so the store completes even when it
 *    rewrites its own block; the next TB translated on the page protects it
 *    again.  A store by loom's own code (a helper) gets the page made writable
 *    at once and is retried; its cpu is sent back to the loop, whose drain
 *    drops the stale TBs.
 *  - Hot pages.  A page that took SMC_HOT_FAULTS write faults mixes code with
 *    data written often.  It stays writable; TBs on it are one instruction
 *    long and compare their own guest bytes on entry (tb.c), leaving through a
 *    stale exit when they changed.  Remapping the page makes it cold again.
 *  - The kernel cannot take loom's fault: a read(2) into a protected page
 *    fails with EFAULT.  linux/ calls exec_unprotect_range() first.
 *  - Whole-system mode (tlb_softmmu): pages are guest-physical and nothing
 *    is write-protected on the host.  A page with TBs has its bit in the
 *    TLB's code map instead (physmap_set_code), which sends writes through
 *    it to the TLB's slow path, and that calls exec_code_written() before
 *    the write: the page's TBs go, and a store that changes its own TB's
 *    code from the storing instruction on restarts as a one-shot TB, as a
 *    cold page's store does; any other lets its TB run on to its end.
 *
 * Invariant: a descriptor with prot_removed set is on a page that holds TBs
 * (or is queued), and its host protection is its guest protection minus
 * PROT_WRITE (or, once a helper's fault has queued it, the full guest
 * protection); every other page has its guest protection on the host.
 * Descriptors change under tb_lock; the fault handler reads them without it,
 * which is why they are never freed and their tables are published with
 * release stores.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "exec/exec-internal.h"
#include "exec/tlb.h"
#include "util/log.h"

#define PAGE_BITS 12
#define PAGE_SIZE (1ull << PAGE_BITS)
#define PAGE_MASK (PAGE_SIZE - 1)
/* Page numbers of a 47-bit address space, split 12 + 12 + 11. */
#define L1_BITS 12
#define L2_BITS 12
#define L3_BITS 11
#define PN_BITS (L1_BITS + L2_BITS + L3_BITS)
#define SMC_HOT_FAULTS 8
#define SMC_QUEUE_LEN 32

/* ---- the guest's mappings ---- */

struct region {
	uint64_t start, end;
	int prot;
};
static struct region *regions;	/* sorted by address, disjoint */
static uint32_t nregions, cap_regions;

/* Index of the first region that ends above addr. */
static uint32_t region_after(uint64_t addr)
{
	uint32_t lo = 0, hi = nregions;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (regions[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool exec_mem_next(uint64_t *start, uint64_t *end, int *prot)
{
	uint32_t i = region_after(*start);
	if (i >= nregions)
		return false;
	*start = regions[i].start > *start ? regions[i].start : *start;
	*end = regions[i].end;
	*prot = regions[i].prot;
	return true;
}

int exec_mem_prot(uint64_t addr)
{
	uint32_t i = region_after(addr);
	return i < nregions && regions[i].start <= addr ? regions[i].prot : -1;
}

/* [start, end) becomes one region with prot, or a hole if prot < 0. */
static void regions_set(uint64_t start, uint64_t end, int prot)
{
	uint32_t i = region_after(start), j = i, n = 0;
	struct region repl[3];

	while (j < nregions && regions[j].start < end)
		j++;
	if (i < j && regions[i].start < start)
		repl[n++] = (struct region){ regions[i].start, start, regions[i].prot };
	if (prot >= 0)
		repl[n++] = (struct region){ start, end, prot };
	if (i < j && regions[j - 1].end > end)
		repl[n++] = (struct region){ end, regions[j - 1].end, regions[j - 1].prot };
	uint32_t count = nregions - (j - i) + n;
	if (count > cap_regions) {
		uint32_t cap = cap_regions ? cap_regions * 2 : 256;
		struct region *r = realloc(regions, cap * sizeof(*r));
		if (!r)
			internal_error("out of memory for the guest memory map");
		regions = r;
		cap_regions = cap;
	}
	memmove(&regions[i + n], &regions[j], (nregions - j) * sizeof(*regions));
	memcpy(&regions[i], repl, n * sizeof(*repl));
	nregions = count;
}

/* ---- page descriptors ---- */

struct smc_page {
	uintptr_t tbs;		/* first TB here | its page slot, see tb->page_next */
	int8_t prot;		/* the guest's protection; -1 unmapped or unknown */
	uint8_t prot_removed;	/* loom took PROT_WRITE away on the host */
	uint8_t hot;		/* TBs here check their code instead */
	uint32_t faults;	/* write faults since the page was last mapped */
};

static struct smc_page **page_l1[1u << L1_BITS];
static uint32_t protected_pages;	/* descriptors with prot_removed set */

/* Queued by the fault handler: page address + 1, 0 for a free slot. */
static uint64_t queue[SMC_QUEUE_LEN];
static int queue_dirty, queue_overflow;

static struct smc_page *page_leaf_new(uint64_t pn)
{
	struct smc_page *leaf = calloc(1u << L3_BITS, sizeof(*leaf));
	if (!leaf)
		internal_error("out of memory for SMC page descriptors");
	uint64_t start = (pn & ~((1ull << L3_BITS) - 1)) << PAGE_BITS;
	uint64_t end = start + (PAGE_SIZE << L3_BITS);
	for (uint32_t k = 0; k < 1u << L3_BITS; k++)
		leaf[k].prot = -1;
	for (uint32_t i = region_after(start); i < nregions && regions[i].start < end; i++) {
		uint64_t a = regions[i].start > start ? regions[i].start : start;
		uint64_t b = regions[i].end < end ? regions[i].end : end;
		for (; a < b; a += PAGE_SIZE)
			leaf[(a - start) >> PAGE_BITS].prot = (int8_t)regions[i].prot;
	}
	return leaf;
}

/* The descriptor of the page holding addr; with alloc, created on demand
 * (tb_lock held).  Without it, safe in the fault handler. */
static struct smc_page *page_find(uint64_t addr, bool alloc)
{
	uint64_t pn = addr >> PAGE_BITS;
	if (pn >> PN_BITS)
		return NULL;
	struct smc_page ***l1 = &page_l1[pn >> (L2_BITS + L3_BITS)];
	struct smc_page **l2 = __atomic_load_n(l1, __ATOMIC_ACQUIRE);
	if (!l2) {
		if (!alloc)
			return NULL;
		l2 = calloc(1u << L2_BITS, sizeof(*l2));
		if (!l2)
			internal_error("out of memory for SMC page descriptors");
		__atomic_store_n(l1, l2, __ATOMIC_RELEASE);
	}
	struct smc_page **l3 = &l2[(pn >> L3_BITS) & ((1u << L2_BITS) - 1)];
	struct smc_page *leaf = __atomic_load_n(l3, __ATOMIC_ACQUIRE);
	if (!leaf) {
		if (!alloc)
			return NULL;
		leaf = page_leaf_new(pn);
		__atomic_store_n(l3, leaf, __ATOMIC_RELEASE);
	}
	return &leaf[pn & ((1u << L3_BITS) - 1)];
}

typedef void page_fn(uint64_t addr, struct smc_page *pd, void *arg);

/* fn for every existing descriptor of [start, end), skipping absent tables. */
static void pages_in(uint64_t start, uint64_t end, page_fn *fn, void *arg)
{
	uint64_t pn = start >> PAGE_BITS, stop = (end + PAGE_MASK) >> PAGE_BITS;
	if (stop > 1ull << PN_BITS || end < start)
		stop = 1ull << PN_BITS;
	while (pn < stop) {
		struct smc_page **l2 = page_l1[pn >> (L2_BITS + L3_BITS)];
		if (!l2) {
			pn = (pn | ((1ull << (L2_BITS + L3_BITS)) - 1)) + 1;
			continue;
		}
		struct smc_page *leaf = l2[(pn >> L3_BITS) & ((1u << L2_BITS) - 1)];
		if (!leaf) {
			pn = (pn | ((1ull << L3_BITS) - 1)) + 1;
			continue;
		}
		fn(pn << PAGE_BITS, &leaf[pn & ((1u << L3_BITS) - 1)], arg);
		pn++;
	}
}

/* The flag goes up before the protection and down after it, so a fault the
 * handler sees on a protected page always finds it set. */
static void page_protect(uint64_t addr, struct smc_page *pd)
{
	if (tlb_softmmu) {
		physmap_set_code(addr);
		return;
	}
	if (pd->prot_removed || pd->hot || pd->prot < 0 || !(pd->prot & PROT_WRITE))
		return;
	__atomic_store_n(&pd->prot_removed, 1, __ATOMIC_SEQ_CST);
	if (mprotect((void *)addr, PAGE_SIZE, pd->prot & ~PROT_WRITE) < 0) {
		__atomic_store_n(&pd->prot_removed, 0, __ATOMIC_SEQ_CST);
		return;
	}
	protected_pages++;
	exec_stats.smc_protects++;
}

static void page_unprotect(uint64_t addr, struct smc_page *pd)
{
	if (tlb_softmmu && !pd->tbs)
		physmap_clear_code(addr);
	if (!pd->prot_removed)
		return;
	mprotect((void *)addr, PAGE_SIZE, pd->prot);
	__atomic_store_n(&pd->prot_removed, 0, __ATOMIC_SEQ_CST);
	protected_pages--;
}

/* Every TB on the page goes; so does loom's protection. */
static void page_invalidate(uint64_t addr, struct smc_page *pd)
{
	while (pd->tbs)
		tb_invalidate((struct tb *)(pd->tbs & ~(uintptr_t)1));
	page_unprotect(addr, pd);
}

/* ---- TBs on pages (tb_lock held) ---- */

bool smc_page_hot(uint64_t addr)
{
	struct smc_page *pd = page_find(addr, false);
	return pd && pd->hot && pd->prot >= 0 && (pd->prot & PROT_WRITE);
}

void smc_tb_link(struct tb *tb)
{
	for (int n = 0; n < 2; n++) {
		if (tb->page_addr[n] == TB_NO_PAGE)
			continue;
		struct smc_page *pd = page_find(tb->page_addr[n], true);
		if (!pd)
			continue;	/* beyond 47 bits: nothing to protect */
		tb->page_next[n] = pd->tbs;
		pd->tbs = (uintptr_t)tb | n;
		page_protect(tb->page_addr[n], pd);
	}
}

void smc_tb_unlink(struct tb *tb)
{
	for (int n = 0; n < 2; n++) {
		if (tb->page_addr[n] == TB_NO_PAGE)
			continue;
		struct smc_page *pd = page_find(tb->page_addr[n], false);
		if (!pd)
			continue;
		uintptr_t *pp = &pd->tbs, me = (uintptr_t)tb | n;
		while (*pp && *pp != me) {
			struct tb *t = (struct tb *)(*pp & ~(uintptr_t)1);
			pp = &t->page_next[*pp & 1];
		}
		if (*pp)
			*pp = tb->page_next[n];
		if (!pd->tbs)
			page_unprotect(tb->page_addr[n], pd);
	}
}

static void page_forget_tbs(uint64_t addr, struct smc_page *pd, void *arg)
{
	(void)arg;
	pd->tbs = 0;
	page_unprotect(addr, pd);
}

void smc_flush(void)
{
	pages_in(0, 1ull << (PN_BITS + PAGE_BITS), page_forget_tbs, NULL);
}

/* ---- whole-system mode's writes to code pages ---- */

/* Whether tb's code from guest pc pc (one of its instructions) to its end
 * overlaps the guest-physical bytes [pa, pa + len).  Only for a TB of more
 * than one instruction: it lies on one page, so its bytes are physically
 * contiguous from phys_pc. */
static bool tb_rest_overlaps(const struct tb *tb, uint64_t pc, uint64_t pa, uint64_t len)
{
	uint64_t from = tb->phys_pc + (pc - tb->pc), end = tb->phys_pc + tb->guest_size;
	return pa < end && from < pa + len;
}

/* Whether a TB of more than one instruction on the page covers guest pc
 * pc with code that the write of [pa, pa + len) changes at or after pc:
 * the TB a helper's store runs in, if it is on the page, is one. */
static bool page_covers(struct smc_page *pd, uint64_t pc, uint64_t pa, uint64_t len)
{
	for (uintptr_t e = pd->tbs; e;) {
		struct tb *tb = (struct tb *)(e & ~(uintptr_t)1);
		if (tb->ninsns > 1 && pc >= tb->pc && pc - tb->pc < tb->guest_size &&
		    tb_rest_overlaps(tb, pc, pa, len))
			return true;
		e = tb->page_next[e & 1];
	}
	return false;
}

void exec_code_written(void *cpu, uint64_t pa, uint64_t len, uintptr_t hpc)
{
	struct cpu_exec *x = cpu ? exec_state(cpu) : NULL;
	uint64_t pa_page = pa & ~(uint64_t)PAGE_MASK;
	tb_lock();
	struct tb *cur = hpc ? tb_find_by_host_pc(hpc) : NULL;
	struct smc_page *pd = page_find(pa_page, false);
	/* A TB of one instruction completes its store: it was fetched whole
	 * before the store, as the CPU fetches it.  A longer one runs on
	 * when the store leaves the rest of its code (from the storing
	 * instruction on) as it was, as when data shares the page: nothing
	 * it would run is stale, and a restart is a one-shot translation and
	 * one more block for plugins to account for (docs/system.md, "Exact
	 * counts").  A helper's store (no hpc, called from translated code)
	 * does not say which TB it is in; any TB on the page covering its
	 * instruction may be, and restarting a helper before its first write
	 * is harmless. */
	bool was_live = cur && !(cur->flags & (CF_INVALID | CF_ONESHOT)) && cur->ninsns > 1 &&
			cur->page_addr[0] == pa_page &&
			tb_rest_overlaps(cur, tb_guest_pc_of(cur, hpc), pa, len);
	bool helper_hit = !hpc && x && x->in_guest && pd &&
			  page_covers(pd, exec_guest.pc(cpu), pa, len);
	if (pd)
		page_invalidate(pa_page, pd);
	physmap_clear_code(pa_page);
	bool restart = was_live || helper_hit;
	tb_unlock();
	if (!restart)
		return;
	/* The rest of the TB may be what the store changes: restart the
	 * store's instruction (the state is its start's: guest globals are
	 * written back before every memory access, and helpers' callers store
	 * the pc) as a one-shot TB from the loop. */
	if (cur) {
		exec_guest.set_pc(cpu, tb_guest_pc_of(cur, hpc));
		if (cur->instr_fix && exec_hooks.fault_fixup)	/* the one-shot does not repeat them */
			exec_hooks.fault_fixup(cpu, cur, tb_insn_index_of(cur, hpc), true);
	}
	exec_guest.tool_unwind(cpu);
	exec_stats.smc_write_faults++;
	x->smc_work |= SMC_WORK_RESTART;
	x->pending_exit = EXEC_REQUEST;
	siglongjmp(x->jmp_env, 1);
}

/* ---- write faults ---- */

static void smc_queue(uint64_t addr)
{
	uint64_t v = (addr & ~PAGE_MASK) + 1;

	for (int i = 0; i < SMC_QUEUE_LEN; i++)
		if (__atomic_load_n(&queue[i], __ATOMIC_ACQUIRE) == v)
			goto out;
	for (int i = 0; i < SMC_QUEUE_LEN; i++) {
		uint64_t free_slot = 0;
		if (__atomic_compare_exchange_n(&queue[i], &free_slot, v, false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			goto out;
	}
	__atomic_store_n(&queue_overflow, 1, __ATOMIC_SEQ_CST);
out:
	__atomic_store_n(&queue_dirty, 1, __ATOMIC_SEQ_CST);
}

/* A write hit the page: count it, maybe turn the page hot, drop its TBs. */
static void page_written(uint64_t addr, struct smc_page *pd)
{
	exec_stats.smc_write_faults++;
	if (++pd->faults >= SMC_HOT_FAULTS && !pd->hot) {
		pd->hot = 1;
		exec_stats.smc_hot_pages++;
	}
	page_invalidate(addr, pd);
}

static void page_written_if_protected(uint64_t addr, struct smc_page *pd, void *any)
{
	if (pd->prot_removed) {
		page_written(addr, pd);
		*(bool *)any = true;
	}
}

void smc_drain(void)
{
	if (!__atomic_load_n(&queue_dirty, __ATOMIC_ACQUIRE) ||
	    !__atomic_exchange_n(&queue_dirty, 0, __ATOMIC_SEQ_CST))
		return;
	for (int i = 0; i < SMC_QUEUE_LEN; i++) {
		uint64_t v = __atomic_exchange_n(&queue[i], 0, __ATOMIC_SEQ_CST);
		struct smc_page *pd = v ? page_find(v - 1, false) : NULL;
		if (pd)
			page_written(v - 1, pd);
	}
	if (__atomic_exchange_n(&queue_overflow, 0, __ATOMIC_SEQ_CST)) {
		bool any = false;
		pages_in(0, 1ull << (PN_BITS + PAGE_BITS), page_written_if_protected, &any);
	}
}

/* A helper's write that keeps finding an unprotected page writable in the
 * map but not on the host is not ours after all: give up after a few. */
static __thread uint64_t retry_addr;
static __thread unsigned retry_count;

enum smc_fault smc_write_fault(uint64_t addr, const struct tb *tb)
{
	struct smc_page *pd = page_find(addr, false);
	if (!pd)
		return SMC_NOT_OURS;
	int prot = __atomic_load_n(&pd->prot, __ATOMIC_ACQUIRE);
	bool removed = __atomic_load_n(&pd->prot_removed, __ATOMIC_SEQ_CST);
	if (prot < 0 || !(prot & PROT_WRITE))
		return SMC_NOT_OURS;	/* the guest wrote where it may not */
	if (tb) {
		/* A one-shot runs once its page was unprotected: a fault on a
		 * page loom does not protect is then the guest's own. */
		if (!removed && (tb->flags & CF_ONESHOT))
			return SMC_NOT_OURS;
		smc_queue(addr);
		return SMC_RESTART;
	}
	if (!removed) {
		/* Another thread lifted the protection since: retry. */
		if (retry_addr == addr && ++retry_count > 3)
			return SMC_NOT_OURS;
		if (retry_addr != addr) {
			retry_addr = addr;
			retry_count = 1;
		}
		return SMC_RETRY;
	}
	retry_addr = 0;
	mprotect((void *)(uintptr_t)(addr & ~PAGE_MASK), PAGE_SIZE, prot);
	smc_queue(addr);
	return SMC_RETRY;
}

/* ---- what linux/ calls ---- */

void exec_mem_lock(void)
{
	tb_lock();
}

void exec_mem_unlock(void)
{
	tb_unlock();
}

static void page_remapped(uint64_t addr, struct smc_page *pd, void *arg)
{
	(void)arg;
	page_invalidate(addr, pd);
	pd->faults = 0;
	pd->hot = 0;
}

void exec_invalidate_range(uint64_t start, uint64_t end)
{
	tb_lock();
	smc_drain();
	pages_in(start & ~PAGE_MASK, end, page_remapped, NULL);
	tb_unlock();
}

/* TBs that survive a protection change keep loom's protection only while
 * the guest may write the page. */
static void page_set_prot(uint64_t addr, struct smc_page *pd, void *arg)
{
	int prot = *(int *)arg;

	if (pd->prot_removed && (prot < 0 || !(prot & PROT_WRITE))) {
		/* the host call already gave the page its new protection */
		__atomic_store_n(&pd->prot_removed, 0, __ATOMIC_SEQ_CST);
		protected_pages--;
	}
	__atomic_store_n(&pd->prot, (int8_t)prot, __ATOMIC_RELEASE);
	if (pd->prot_removed)
		mprotect((void *)addr, PAGE_SIZE, prot & ~PROT_WRITE);
	else if (pd->tbs)
		page_protect(addr, pd);
}

void exec_mem_set(uint64_t start, uint64_t end, int prot)
{
	start &= ~PAGE_MASK;
	end = (end + PAGE_MASK) & ~PAGE_MASK;
	if (end <= start)
		return;
	if (prot >= 0)
		prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
	tb_lock();
	regions_set(start, end, prot);
	pages_in(start, end, page_set_prot, &prot);
	tb_unlock();
}

bool exec_smc_protecting(void)
{
	return __atomic_load_n(&protected_pages, __ATOMIC_RELAXED) != 0;
}

bool exec_unprotect_range(uint64_t start, uint64_t end)
{
	bool any = false;

	if (!__atomic_load_n(&protected_pages, __ATOMIC_RELAXED) &&
	    !__atomic_load_n(&queue_dirty, __ATOMIC_RELAXED))
		return false;
	tb_lock();
	smc_drain();
	if (end > start)
		pages_in(start & ~PAGE_MASK, end, page_written_if_protected, &any);
	tb_unlock();
	return any;
}
