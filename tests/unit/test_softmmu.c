/*
 * Tests of the soft MMU's pieces: the x86-64 page walker (guest/x86/walk.h)
 * against a reference walker written here, the software TLB and the code
 * map (exec/tlb.h), and the backend's inline TLB probe running generated
 * code over a fake RAM (host/host.h's soft-MMU lowering).
 *
 * The reference walker is the oracle for x86_walk: it follows Intel SDM
 * vol. 3 §4.5-4.7 statement by statement (one function per paging level,
 * the access-rights rules as the SDM's list of cases), is slow and shares
 * nothing with walk.c.  Random cases build page tables in a fake physical
 * memory of a few dozen frames at random addresses below MAXPHYADDR, with
 * random flags (present or not, R/W, U/S, XD, G, PS at every level,
 * reserved bits, pointers to frames that are not RAM), and random control
 * state (CPL, CR0.WP, CR4.SMEP/SMAP/PGE, EFER.NXE, RFLAGS.AC, MAXPHYADDR,
 * 1 GiB pages); each walk runs on two copies of the memory, one per
 * walker, and the results and the memory afterwards (accessed and dirty
 * flags) must be equal.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "exec/exec-internal.h"
#include "exec/tlb.h"
#include "host/host.h"
#include "ir/ir.h"
#include "guest/x86/mem.h"
#include "guest/x86/walk.h"
#include "unit.h"

#define PAGE 4096
#define NFRAMES 48
#define NWALK_CASES 3000
#define WALKS_PER_CASE 64

/* ---- a fake physical memory: NFRAMES frames at random addresses ---- */

struct fmem {
	uint64_t pfn[NFRAMES];
	uint64_t data[NFRAMES][PAGE / 8];
	int race_at;		/* >= 0: the n-th cmpxchg loses a race */
	int ncmpxchg;
};

static uint64_t *fmem_slot(struct fmem *m, uint64_t pa)
{
	for (int i = 0; i < NFRAMES; i++) {
		if (m->pfn[i] == pa >> 12)
			return &m->data[i][(pa & 0xfff) / 8];
	}
	return NULL;
}

static bool fmem_read8(void *opaque, uint64_t pa, uint64_t *v)
{
	uint64_t *p = fmem_slot(opaque, pa);
	if (!p)
		return false;
	*v = *p;
	return true;
}

static bool fmem_cmpxchg8(void *opaque, uint64_t pa, uint64_t old, uint64_t new)
{
	struct fmem *m = opaque;
	uint64_t *p = fmem_slot(m, pa);
	if (!p)
		return true;	/* dropped */
	if (m->race_at >= 0 && m->ncmpxchg++ == m->race_at) {
		/* Another writer got there first: it made the entry not present. */
		*p &= ~X86_PTE_P;
		return false;
	}
	if (*p != old)
		return false;
	*p = new;
	return true;
}

/* ---- the reference walker ---- */

struct ref_result {
	uint32_t fault;		/* X86_WALK_FAULT | error code, or 0 */
	uint64_t pa, size;
	int prot;
	bool user, global;
};

static uint64_t ref_read(struct fmem *m, uint64_t pa)
{
	uint64_t *p = fmem_slot(m, pa);
	return p ? *p : ~0ull;	/* unbacked physical memory reads as all ones */
}

static bool bit(uint64_t v, int n) { return (v >> n) & 1; }

/* SDM Table 4-14 .. 4-19: is some reserved bit of this present entry set? */
static bool ref_rsvd(const struct x86_walk_ctl *c, int level, uint64_t e)
{
	for (int b = c->maxphyaddr; b <= 51; b++)
		if (bit(e, b))
			return true;
	if (!(c->efer & X86_EFER_NXE) && bit(e, 63))
		return true;
	switch (level) {
	case 4:		/* PML4E: PS must be 0 */
		return bit(e, 7);
	case 3:		/* PDPTE mapping 1 GiB: bits 29:13; PS=1 needs 1 GiB pages */
		if (!bit(e, 7))
			return false;
		if (!c->gbpages)
			return true;
		for (int b = 13; b <= 29; b++)
			if (bit(e, b))
				return true;
		return false;
	case 2:		/* PDE mapping 2 MiB: bits 20:13 */
		if (!bit(e, 7))
			return false;
		for (int b = 13; b <= 20; b++)
			if (bit(e, b))
				return true;
		return false;
	}
	return false;
}

/* SDM §4.6.1, case by case.  mode_user: U/S=1 at every level; rw: R/W=1
 * at every level; xd: XD=1 at some level with NXE. */
static bool ref_may(const struct x86_walk_ctl *c, bool implicit, int kind, bool mode_user,
		    bool rw, bool xd)
{
	bool supervisor_access = c->cpl < 3 || implicit;
	bool smap = c->cr4 & X86_CR4_SMAP, smep = c->cr4 & X86_CR4_SMEP;
	bool wp = c->cr0 & X86_CR0_WP;
	if (supervisor_access) {
		if (kind == X86_ACC_READ) {
			if (!mode_user)
				return true;
			if (!smap)
				return true;
			return c->ac && !implicit && c->cpl < 3;
		}
		if (kind == X86_ACC_WRITE) {
			if (mode_user && smap && !(c->ac && !implicit && c->cpl < 3))
				return false;
			if (!wp)
				return true;
			return rw;
		}
		/* fetch */
		if (mode_user && smep)
			return false;
		return !xd;
	}
	if (!mode_user)
		return false;
	if (kind == X86_ACC_READ)
		return true;
	if (kind == X86_ACC_WRITE)
		return rw;
	return !xd;
}

static struct ref_result ref_walk(const struct x86_walk_ctl *c, struct fmem *m, uint64_t va,
				  int access)
{
	int kind = access & 0xf;
	bool implicit = access & X86_ACC_IMPLICIT;
	struct ref_result r = { 0 };
	if (!(c->cr0 & X86_CR0_PG)) {
		r.pa = va;
		r.size = 4096;
		r.prot = 7;
		r.user = true;
		return r;
	}
	uint32_t ec = 0;
	if (kind == X86_ACC_WRITE)
		ec |= 2;
	if (c->cpl == 3 && !implicit)
		ec |= 4;
	if (kind == X86_ACC_FETCH && ((c->efer & X86_EFER_NXE) || (c->cr4 & X86_CR4_SMEP)))
		ec |= 16;

	uint64_t phys_mask = (1ull << c->maxphyaddr) - 1;
	uint64_t idx[5] = { 0, (va >> 12) & 511, (va >> 21) & 511, (va >> 30) & 511, (va >> 39) & 511 };
	uint64_t ent_addr[5], ent[5];
	uint64_t base = c->cr3 & phys_mask & ~0xfffull;
	int leaf = 0;
	for (int level = 4; level >= 1; level--) {
		ent_addr[level] = base + 8 * idx[level];
		ent[level] = ref_read(m, ent_addr[level]);
		if (!bit(ent[level], 0)) {
			r.fault = X86_WALK_FAULT | ec;
			return r;
		}
		if (ref_rsvd(c, level, ent[level])) {
			r.fault = X86_WALK_FAULT | ec | 1 | 8;
			return r;
		}
		if (level == 1 || ((level == 2 || level == 3) && bit(ent[level], 7))) {
			leaf = level;
			break;
		}
		base = ent[level] & phys_mask & ~0xfffull;
	}
	bool mode_user = true, rw = true, xd = false;
	for (int level = 4; level >= leaf; level--) {
		mode_user = mode_user && bit(ent[level], 2);
		rw = rw && bit(ent[level], 1);
		if ((c->efer & X86_EFER_NXE) && bit(ent[level], 63))
			xd = true;
	}
	if (!ref_may(c, implicit, kind, mode_user, rw, xd)) {
		r.fault = X86_WALK_FAULT | ec | 1;
		return r;
	}
	for (int level = 4; level >= leaf; level--) {
		uint64_t v = ent[level] | (1ull << 5);
		if (level == leaf && kind == X86_ACC_WRITE)
			v |= 1ull << 6;
		if (v != ent[level])	/* (all ones, unbacked, never changes) */
			*fmem_slot(m, ent_addr[level]) = v;
		ent[level] = v;
	}
	r.size = leaf == 1 ? 4096 : leaf == 2 ? 2 << 20 : 1 << 30;
	r.pa = (ent[leaf] & phys_mask & ~(r.size - 1)) + (va % r.size);
	r.user = mode_user;
	r.global = bit(ent[leaf], 8) && (c->cr4 & X86_CR4_PGE);
	r.prot = (ref_may(c, implicit, X86_ACC_READ, mode_user, rw, xd) ? 1 : 0) |
		 (bit(ent[leaf], 6) && ref_may(c, implicit, X86_ACC_WRITE, mode_user, rw, xd) ? 2 : 0) |
		 (ref_may(c, implicit, X86_ACC_FETCH, mode_user, rw, xd) ? 4 : 0);
	return r;
}

/* ---- random page tables ---- */

/* Table slots the generated addresses use: entries elsewhere stay zero. */
static const unsigned hot_idx[8] = { 0, 1, 2, 7, 255, 256, 510, 511 };

static uint64_t rnd(uint64_t *s) { return unit_xorshift(s); }
static bool chance(uint64_t *s, int in) { return rnd(s) % in == 0; }

static uint64_t gen_entry(uint64_t *s, struct fmem *m, const struct x86_walk_ctl *c)
{
	uint64_t e = 0;
	if (chance(s, 24))
		return chance(s, 2) ? 0 : rnd(s) & ~1ull;	/* not present */
	e |= X86_PTE_P;
	if (!chance(s, 6)) e |= X86_PTE_RW;
	if (!chance(s, 8)) e |= X86_PTE_US;
	if (chance(s, 3)) e |= X86_PTE_A;
	if (chance(s, 3)) e |= X86_PTE_D;
	if (chance(s, 3)) e |= X86_PTE_G;
	if (chance(s, 6)) e |= X86_PTE_NX;
	if (chance(s, 3)) e |= rnd(s) & (0x7ffull << 52 | 0xe18);	/* ignored/available bits */
	uint64_t pfn = m->pfn[rnd(s) % NFRAMES];
	if (chance(s, 80))
		pfn = rnd(s) & ((1ull << (c->maxphyaddr - 12)) - 1);	/* probably not RAM */
	e |= pfn << 12;
	if (chance(s, 5)) {
		/* a large frame: aligned, or with reserved or PAT low bits */
		e = (e & ~0x3fffe000ull) | X86_PTE_PS;
		if (chance(s, 4))
			e |= rnd(s) & (chance(s, 2) ? 0x1000ull : 0x3fffe000ull);
	}
	if (chance(s, 80) && c->maxphyaddr < 52)	/* above MAXPHYADDR */
		e |= 1ull << (c->maxphyaddr + rnd(s) % (52 - c->maxphyaddr));
	return e;
}

static void gen_case(uint64_t *s, struct fmem *m, struct x86_walk_ctl *c)
{
	static const uint8_t maxphy[] = { 36, 39, 40, 46, 52 };
	memset(m, 0, sizeof(*m));
	m->race_at = -1;
	*c = (struct x86_walk_ctl){
		.cr0 = X86_CR0_PG | (chance(s, 2) ? X86_CR0_WP : 0) | 1,
		.cr4 = X86_CR4_PAE | (chance(s, 2) ? X86_CR4_PGE : 0) |
		       (chance(s, 2) ? X86_CR4_SMEP : 0) | (chance(s, 2) ? X86_CR4_SMAP : 0),
		.efer = X86_EFER_LME | X86_EFER_LMA | (chance(s, 6) ? 0 : X86_EFER_NXE),
		.cpl = chance(s, 2) ? 3 : chance(s, 4) ? 1 + rnd(s) % 2 : 0,
		.ac = chance(s, 2),
		.maxphyaddr = maxphy[rnd(s) % sizeof(maxphy)],
		.gbpages = !chance(s, 4),
	};
	for (int i = 0; i < NFRAMES; i++) {
		uint64_t pfn;
		bool dup;
		do {
			pfn = rnd(s) & ((1ull << (c->maxphyaddr - 12)) - 1);
			if (chance(s, 2))
				pfn &= 0xfffff;	/* many below 4 GiB */
			dup = false;
			for (int j = 0; j < i; j++)
				dup |= m->pfn[j] == pfn;
		} while (dup);
		m->pfn[i] = pfn;
	}
	c->cr3 = m->pfn[0] << 12 | (rnd(s) & 0xfff);	/* PCID/PWT/PCD bits: ignored */
	for (int i = 0; i < NFRAMES; i++) {
		for (int k = 0; k < 8; k++) {
			m->data[i][hot_idx[k]] = gen_entry(s, m, c);
		}
	}
}

static uint64_t gen_va(uint64_t *s)
{
	uint64_t va = rnd(s) & 0xfff;
	for (int level = 0; level < 4; level++) {
		uint64_t i = chance(s, 40) ? rnd(s) % 512 : hot_idx[rnd(s) % 8];
		va |= i << (12 + 9 * level);
	}
	return (uint64_t)((int64_t)(va << 16) >> 16);	/* canonical */
}

static int nmismatch;	/* walks where x86_walk and ref_walk disagree */

static void check_walk(uint64_t *s, struct fmem *m, const struct x86_walk_ctl *c, uint64_t va,
		       int access, const char *what)
{
	static struct fmem m2;
	m2 = *m;
	const struct x86_walk_mem wm = { m, fmem_read8, fmem_cmpxchg8 };
	struct x86_walk_result res;
	memset(&res, 0, sizeof(res));
	uint32_t f = x86_walk(c, &wm, va, access, &res);
	m2.race_at = -1;
	struct ref_result r = ref_walk(c, &m2, va, access);
	bool ok = f == r.fault && !memcmp(m->data, m2.data, sizeof(m->data));
	if (ok && !f)
		ok = res.pa == r.pa && res.page_size == r.size && res.prot == r.prot &&
		     res.user == r.user && res.global == r.global;
	nmismatch += !ok;
	if (!ok && nmismatch <= 5) {
		printf("FAIL %s: va 0x%" PRIx64 " access %#x cpl %u cr0 %#" PRIx64 " cr4 %#" PRIx64
		       " efer %#" PRIx64 " ac %d maxphy %u gb %d\n", what, va, access, c->cpl, c->cr0,
		       c->cr4, c->efer, c->ac, c->maxphyaddr, c->gbpages);
		printf("  walk: %#x pa %#" PRIx64 " size %#" PRIx64 " prot %d user %d global %d\n", f,
		       res.pa, res.page_size, res.prot, res.user, res.global);
		printf("  ref:  %#x pa %#" PRIx64 " size %#" PRIx64 " prot %d user %d global %d\n",
		       r.fault, r.pa, r.size, r.prot, r.user, r.global);
		printf("  memory after: %s\n", memcmp(m->data, m2.data, sizeof(m->data)) ? "differs" : "same");
	}
	*m = m2;	/* (equal when ok) */
	(void)s;
}

static void test_walk_random(void)
{
	static struct fmem m;
	struct x86_walk_ctl c;
	uint64_t s = 0x9a6e5eed;
	uint64_t faults = 0, walks = 0, large = 0, rsvd = 0;
	for (int i = 0; i < NWALK_CASES; i++) {
		int before_case = nmismatch;
		gen_case(&s, &m, &c);
		for (int k = 0; k < WALKS_PER_CASE; k++) {
			uint64_t va = gen_va(&s);
			int access = rnd(&s) % 3 | (chance(&s, 8) ? X86_ACC_IMPLICIT : 0);
			struct fmem before = m;
			check_walk(&s, &m, &c, va, access, "random walk");
			walks++;
			struct ref_result r = ref_walk(&c, &before, va, access);
			faults += r.fault != 0;
			rsvd += (r.fault & X86_PF_RSVD) != 0;
			large += !r.fault && r.size > 4096;
		}
		CHECK(nmismatch == before_case);	/* one check per page-table set */
	}
	/* The generator must reach every outcome, or the comparison says little. */
	printf("walks %" PRIu64 ": %" PRIu64 " faults (%" PRIu64 " reserved-bit), %" PRIu64
	       " large pages\n", walks, faults, rsvd, large);
	CHECK(faults > walks / 10 && faults < walks * 9 / 10);
	CHECK(rsvd > walks / 100);
	CHECK(large > walks / 100);
}

/* A compare-exchange that loses a race makes the walker walk again and see
 * the entry as the other writer left it. */
static void test_walk_race(void)
{
	static struct fmem m;
	struct x86_walk_ctl c = {
		.cr0 = X86_CR0_PG | X86_CR0_WP | 1, .cr4 = X86_CR4_PAE,
		.efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE, .maxphyaddr = 40,
		.gbpages = true,
	};
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < NFRAMES; i++)
		m.pfn[i] = 0x100 + i;
	c.cr3 = m.pfn[0] << 12;
	m.data[0][0] = m.pfn[1] << 12 | X86_PTE_P | X86_PTE_RW;
	m.data[1][0] = m.pfn[2] << 12 | X86_PTE_P | X86_PTE_RW;
	m.data[2][0] = m.pfn[3] << 12 | X86_PTE_P | X86_PTE_RW;
	m.data[3][5] = m.pfn[4] << 12 | X86_PTE_P | X86_PTE_RW;
	m.race_at = 1;	/* the PDPTE's A update loses: it becomes not present */
	const struct x86_walk_mem wm = { &m, fmem_read8, fmem_cmpxchg8 };
	struct x86_walk_result res;
	uint32_t f = x86_walk(&c, &wm, 0x5123, X86_ACC_WRITE, &res);
	CHECK_EQ(f, X86_WALK_FAULT | X86_PF_W);
	CHECK_EQ(m.data[0][0] & X86_PTE_A, X86_PTE_A);
	CHECK_EQ(m.data[1][0] & X86_PTE_P, 0);
	/* Without a race: A on every level, D on the leaf, RW prot. */
	m.data[1][0] |= X86_PTE_P;
	m.race_at = -1;
	f = x86_walk(&c, &wm, 0x5123, X86_ACC_WRITE, &res);
	CHECK_EQ(f, 0);
	CHECK_EQ(res.pa, (m.pfn[4] << 12) | 0x123);
	CHECK_EQ(res.prot, X86_PROT_READ | X86_PROT_WRITE | X86_PROT_EXEC);
	CHECK_EQ(m.data[3][5] & (X86_PTE_A | X86_PTE_D), X86_PTE_A | X86_PTE_D);
	CHECK_EQ(m.data[2][0] & (X86_PTE_A | X86_PTE_D), X86_PTE_A);
	/* A read of a clean page: cached without write permission. */
	m.data[3][6] = m.pfn[5] << 12 | X86_PTE_P | X86_PTE_RW;
	f = x86_walk(&c, &wm, 0x6000, X86_ACC_READ, &res);
	CHECK_EQ(f, 0);
	CHECK_EQ(res.prot, X86_PROT_READ | X86_PROT_EXEC);
}

/* ---- a fake machine for the TLB: RAM, MMIO above it, page tables ---- */

#define RAM_SIZE (8u << 20)
#define MMIO_BASE 0xfed00000ull	/* not RAM: the fake bus's */
#define PT_BASE 0x100000u	/* page tables are allocated from here */

/* The guest CPU struct of these tests: a few registers, then the TLB's
 * owner keeps the TLB before it (a negative env offset, as allowed). */
#define NG 8
struct tcpu {
	uint64_t g[NG];
	uint64_t scratch[4];
};
static struct tmachine {
	struct tlb tlb;
	struct tcpu cpu;
} *tm;

static uint8_t *ram;
static uint64_t pt_next;
static struct x86_walk_ctl tctl;
static sigjmp_buf fault_jmp;
static struct {
	uint64_t va;
	int acc;
	uint32_t code;
	int n;
} raised;
static struct {
	uint64_t pa, val;
	unsigned size;
	int reads, writes;
} mmio;
static uint64_t code_written = ~0ull;

static bool ram_read8(void *o, uint64_t pa, uint64_t *v)
{
	if (pa + 8 > RAM_SIZE)
		return false;
	memcpy(v, ram + pa, 8);
	return true;
}

static bool ram_cmpxchg8(void *o, uint64_t pa, uint64_t old, uint64_t new)
{
	if (pa + 8 > RAM_SIZE)
		return true;
	return __atomic_compare_exchange_n((uint64_t *)(ram + pa), &old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static const struct x86_walk_mem ram_walk_mem = { NULL, ram_read8, ram_cmpxchg8 };

static uint32_t t_translate(void *cpu, uint64_t va, enum tlb_access acc, int mmu,
			    struct tlb_fill *f)
{
	struct x86_walk_ctl c = tctl;
	c.cpl = mmu == X86_MMU_USER ? 3 : 0;
	c.ac = mmu == X86_MMU_SUP_AC;
	struct x86_walk_result r;
	static const int kind[] = { [TLB_READ] = X86_ACC_READ, [TLB_WRITE] = X86_ACC_WRITE,
				    [TLB_FETCH] = X86_ACC_FETCH };
	uint32_t fault = x86_walk(&c, &ram_walk_mem, va, kind[acc], &r);
	if (fault)
		return fault;
	*f = (struct tlb_fill){ .pa = r.pa, .page_size = r.page_size, .prot = r.prot,
				.global = r.global };
	return 0;
}

static void t_raise(void *cpu, uint64_t va, enum tlb_access acc, uint32_t fault)
{
	raised.va = va;
	raised.acc = acc;
	raised.code = fault;
	raised.n++;
	siglongjmp(fault_jmp, 1);
}

static void *t_ram_page(uint64_t pa_page)
{
	return pa_page < RAM_SIZE ? ram + pa_page : NULL;
}

static uint64_t t_mmio_read(void *cpu, uint64_t pa, unsigned size)
{
	mmio.pa = pa;
	mmio.size = size;
	mmio.reads++;
	return 0x1122334455667788ull & (size == 8 ? ~0ull : (1ull << 8 * size) - 1);
}

static void t_mmio_write(void *cpu, uint64_t pa, unsigned size, uint64_t val)
{
	mmio.pa = pa;
	mmio.size = size;
	mmio.val = val;
	mmio.writes++;
}

/* The written bytes the slow path reports: where the (last) piece starts,
 * and its length. */
static uint64_t code_written_len;

static void t_code_write(void *cpu, uint64_t pa, uint64_t len, uintptr_t hpc)
{
	code_written = pa;
	code_written_len = len;
}

static const struct tlb_ops t_ops = {
	.translate = t_translate, .raise = t_raise, .ram_page = t_ram_page,
	.mmio_read = t_mmio_read, .mmio_write = t_mmio_write, .code_write = t_code_write,
};

static uint64_t pt_alloc(void)
{
	uint64_t pa = pt_next;
	pt_next += PAGE;
	memset(ram + pa, 0, PAGE);
	return pa;
}

/* Map va -> pa with a leaf of size (4K, 2M, 1G) and flags; the levels
 * above get P|RW|US (| the leaf's US). */
static void map(uint64_t va, uint64_t pa, uint64_t size, uint64_t flags)
{
	uint64_t table = tctl.cr3 & ~0xfffull;
	int leaf = size == PAGE ? 1 : size == 2u << 20 ? 2 : 3;
	for (int level = 4; level > leaf; level--) {
		uint64_t *e = (uint64_t *)(ram + table + ((va >> (12 + 9 * (level - 1))) & 511) * 8);
		if (!(*e & X86_PTE_P))
			*e = pt_alloc() | X86_PTE_P | X86_PTE_RW | X86_PTE_US;
		table = *e & 0xffffffffff000ull;
	}
	uint64_t *e = (uint64_t *)(ram + table + ((va >> (12 + 9 * (leaf - 1))) & 511) * 8);
	*e = pa | flags | X86_PTE_P | (leaf > 1 ? X86_PTE_PS : 0);
}

static uint64_t *pte_of(uint64_t va)
{
	uint64_t table = tctl.cr3 & ~0xfffull;
	for (int level = 4;; level--) {
		uint64_t *e = (uint64_t *)(ram + table + ((va >> (12 + 9 * (level - 1))) & 511) * 8);
		if (level == 1 || (*e & X86_PTE_PS))
			return e;
		table = *e & 0xffffffffff000ull;
	}
}

static void machine_reset(void)
{
	memset(ram, 0, RAM_SIZE);
	pt_next = PT_BASE;
	tctl = (struct x86_walk_ctl){
		.cr0 = X86_CR0_PG | X86_CR0_WP | 1,
		.cr4 = X86_CR4_PAE | X86_CR4_PGE | X86_CR4_SMEP | X86_CR4_SMAP,
		.efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE,
		.maxphyaddr = 40, .gbpages = true,
	};
	tctl.cr3 = pt_alloc();
	memset(&raised, 0, sizeof(raised));
	memset(&mmio, 0, sizeof(mmio));
	code_written = ~0ull;
	tlb_fini(&tm->tlb);
	tlb_init(&tm->tlb, &tm->cpu, &t_ops);
	physmap_fini();
	CHECK_EQ(physmap_init(RAM_SIZE), 0);
}

/* Run an access that may fault: true if it faulted (raised filled). */
#define FAULTS(stmt) (sigsetjmp(fault_jmp, 1) ? true : ((stmt), false))

static void test_tlb_basic(void)
{
	struct tlb *t = &tm->tlb;
	machine_reset();
	map(0x400000, 0x200000, PAGE, X86_PTE_RW | X86_PTE_US);
	map(0xffff800000001000ull, 0x201000, PAGE, X86_PTE_RW | X86_PTE_G);
	*(uint64_t *)(ram + 0x200010) = 0x0123456789abcdefull;

	/* A miss fills, a hit does not; a read of a clean page caches no write. */
	CHECK_EQ(tlb_load(t, 0x400010, 3, X86_MMU_USER, 0), 0x0123456789abcdefull);
	CHECK_EQ(t->fills, 1);
	struct tlb_entry *e = tlb_entry(t, X86_MMU_USER, 0x400010);
	CHECK_EQ(e->addr_read, 0x400000);
	CHECK_EQ(e->addr_write, TLB_TAG_NONE);
	CHECK_EQ(e->addr_code, 0x400000);	/* no XD: fetches allowed */
	CHECK_EQ(tlb_load(t, 0x400011, 0, X86_MMU_USER, 0), 0xcd);
	CHECK_EQ(t->fills, 1);
	/* The write walks again, sets D, and caches the write. */
	tlb_store(t, 0x400018, 0x55aa, 1, X86_MMU_USER, 0);
	CHECK_EQ(t->fills, 2);
	CHECK_EQ(*(uint16_t *)(ram + 0x200018), 0x55aa);
	CHECK_EQ(*pte_of(0x400000) & (X86_PTE_A | X86_PTE_D), X86_PTE_A | X86_PTE_D);
	CHECK_EQ(e->addr_write, 0x400000);
	CHECK_EQ(e->addend, (uintptr_t)ram + 0x200000 - 0x400000);
	/* Indexes are separate: the kernel's view of the same page (SMAP: no
	 * access without AC; with AC, yes). */
	CHECK(FAULTS(tlb_load(t, 0x400010, 3, X86_MMU_SUP, 0)));
	CHECK_EQ(raised.code, X86_WALK_FAULT | X86_PF_P);
	CHECK_EQ(raised.va, 0x400010);
	CHECK(!FAULTS(tlb_load(t, 0x400010, 3, X86_MMU_SUP_AC, 0)));
	/* A user access to a supervisor page: #PF P|U; a missing page: U only. */
	CHECK(FAULTS(tlb_load(t, 0xffff800000001000ull, 3, X86_MMU_USER, 0)));
	CHECK_EQ(raised.code, X86_WALK_FAULT | X86_PF_P | X86_PF_U);
	CHECK(FAULTS(tlb_store(t, 0x800000, 1, 2, X86_MMU_USER, 0)));
	CHECK_EQ(raised.code, X86_WALK_FAULT | X86_PF_U | X86_PF_W);
	CHECK_EQ(raised.va, 0x800000);

	/* Flushes: non-global keeps the global kernel page, all drops it. */
	CHECK(!FAULTS(tlb_store(t, 0xffff800000001008ull, 7, 3, X86_MMU_SUP, 0)));
	CHECK_EQ(tlb_entry(t, X86_MMU_SUP, 0xffff800000001000ull)->addr_write, 0xffff800000001000ull);
	tlb_flush_nonglobal(t);
	CHECK_EQ(tlb_entry(t, X86_MMU_USER, 0x400000)->addr_read, TLB_TAG_NONE);
	CHECK_EQ(tlb_entry(t, X86_MMU_SUP, 0xffff800000001000ull)->addr_read, 0xffff800000001000ull);
	tlb_flush_all(t);
	CHECK_EQ(tlb_entry(t, X86_MMU_SUP, 0xffff800000001000ull)->addr_read, TLB_TAG_NONE);
	/* A stale entry stays until flushed: the guest's contract (invlpg). */
	CHECK(!FAULTS(tlb_load(t, 0x400000, 3, X86_MMU_USER, 0)));
	*pte_of(0x400000) = 0;
	CHECK(!FAULTS(tlb_load(t, 0x400000, 3, X86_MMU_USER, 0)));
	tlb_flush_page(t, 0x400abc);
	CHECK(FAULTS(tlb_load(t, 0x400000, 3, X86_MMU_USER, 0)));
}

static void test_tlb_large(void)
{
	struct tlb *t = &tm->tlb;
	machine_reset();
	map(0x40000000, 0x400000, 2u << 20, X86_PTE_RW | X86_PTE_US | X86_PTE_D);
	map(0x40200000, 0x600000, PAGE, X86_PTE_RW | X86_PTE_US | X86_PTE_D);
	map(0x7f0000000000ull, 0, 1u << 30, X86_PTE_RW | X86_PTE_US | X86_PTE_D);
	ram[0x400000 + 0x123456] = 0x5a;
	CHECK_EQ(tlb_load(t, 0x40123456, 0, X86_MMU_USER, 0), 0x5a);
	CHECK(!FAULTS(tlb_load(t, 0x40000000, 0, X86_MMU_USER, 0)));
	CHECK(!FAULTS(tlb_load(t, 0x40200000, 0, X86_MMU_USER, 0)));
	CHECK(!FAULTS(tlb_load(t, 0x7f0000345000ull, 0, X86_MMU_USER, 0)));
	CHECK_EQ(tlb_entry(t, X86_MMU_USER, 0x7f0000345000ull)->addr_read, 0x7f0000345000ull);
	CHECK_EQ(t->m[X86_MMU_USER][(0x7f0000345000ull >> 12) & (TLB_SIZE - 1)].pa_page, 0x345000);
	/* invlpg of another address inside the 2M page drops both its 4K
	 * entries (and, the tracking being one region, everything in it). */
	tlb_flush_page(t, 0x401ff000);
	CHECK_EQ(tlb_entry(t, X86_MMU_USER, 0x40123456)->addr_read, TLB_TAG_NONE);
	CHECK_EQ(tlb_entry(t, X86_MMU_USER, 0x40000000)->addr_read, TLB_TAG_NONE);
	/* The same in a 1 GiB page. */
	machine_reset();
	map(0x7f0000000000ull, 0, 1u << 30, X86_PTE_RW | X86_PTE_US | X86_PTE_D);
	CHECK(!FAULTS(tlb_load(t, 0x7f0000345000ull, 0, X86_MMU_USER, 0)));
	CHECK(!FAULTS(tlb_load(t, 0x7f0000001000ull, 0, X86_MMU_USER, 0)));
	tlb_flush_page(t, 0x7f003ffff000ull);
	CHECK_EQ(tlb_entry(t, X86_MMU_USER, 0x7f0000345000ull)->addr_read, TLB_TAG_NONE);
	CHECK_EQ(tlb_entry(t, X86_MMU_USER, 0x7f0000001000ull)->addr_read, TLB_TAG_NONE);
	/* With only 4K pages cached, invlpg drops only its page. */
	machine_reset();
	map(0x40000000, 0x400000, PAGE, X86_PTE_RW | X86_PTE_US);
	map(0x40001000, 0x401000, PAGE, X86_PTE_RW | X86_PTE_US);
	CHECK(!FAULTS(tlb_load(t, 0x40000000, 0, X86_MMU_USER, 0)));
	CHECK(!FAULTS(tlb_load(t, 0x40001000, 0, X86_MMU_USER, 0)));
	tlb_flush_page(t, 0x40000fff);
	CHECK_EQ(tlb_entry(t, X86_MMU_USER, 0x40000000)->addr_read, TLB_TAG_NONE);
	CHECK_EQ(tlb_entry(t, X86_MMU_USER, 0x40001000)->addr_read, 0x40001000);
}

/* Two pages of one index (4 MiB apart) used in turn: each walks once,
 * then the victims serve them; flushes reach the victims too, and a page
 * that gains code while among them comes back with its writes flagged. */
static void test_tlb_victims(void)
{
	struct tlb *t = &tm->tlb;
	machine_reset();
	map(0x400000, 0x200000, PAGE, X86_PTE_RW | X86_PTE_US | X86_PTE_D);
	map(0x800000, 0x201000, PAGE, X86_PTE_RW | X86_PTE_US | X86_PTE_D);
	ram[0x200000] = 1;
	ram[0x201000] = 2;
	for (int i = 0; i < 10; i++) {
		CHECK_EQ(tlb_load(t, 0x400000, 0, X86_MMU_USER, 0), 1);
		CHECK_EQ(tlb_load(t, 0x800000, 0, X86_MMU_USER, 0), 2);
	}
	CHECK_EQ(t->fills, 2);
	CHECK_EQ(t->victim_hits, 18);
	/* invlpg of the page among the victims, then unmapped: it faults */
	tlb_flush_page(t, 0x400000);
	uint64_t pte = *pte_of(0x400000);
	*pte_of(0x400000) = 0;
	CHECK(FAULTS(tlb_load(t, 0x400000, 0, X86_MMU_USER, 0)));
	/* a CR3 write's flush: the same for a non-global victim */
	*pte_of(0x400000) = pte;
	CHECK_EQ(tlb_load(t, 0x400000, 0, X86_MMU_USER, 0), 1);	/* 0x800000 to the victims */
	tlb_flush_nonglobal(t);
	pte = *pte_of(0x800000);
	*pte_of(0x800000) = 0;
	CHECK(FAULTS(tlb_load(t, 0x800000, 0, X86_MMU_USER, 0)));
	*pte_of(0x800000) = pte;
	/* the code map, while the page waits among the victims */
	tlb_store(t, 0x800000, 3, 0, X86_MMU_USER, 0);
	CHECK_EQ(tlb_load(t, 0x400000, 0, X86_MMU_USER, 0), 1);
	physmap_set_code(0x201000);
	uint64_t hits = t->victim_hits;
	tlb_store(t, 0x800001, 4, 0, X86_MMU_USER, 0);
	CHECK_EQ(t->victim_hits, hits + 1);
	CHECK_EQ(code_written, 0x201001);
	CHECK_EQ(ram[0x201001], 4);
}

static void test_tlb_code_mmio_split(void)
{
	struct tlb *t = &tm->tlb;
	machine_reset();
	map(0x10000, 0x300000, PAGE, X86_PTE_RW | X86_PTE_D);
	map(0x11000, 0x305000, PAGE, X86_PTE_RW | X86_PTE_D);
	map(0x12000, 0x306000, PAGE, X86_PTE_D);		/* read-only */
	map(0x20000, MMIO_BASE, PAGE, X86_PTE_RW | X86_PTE_D);

	/* A TB translated from a page flags the write tags that map it. */
	CHECK(!FAULTS(tlb_store(t, 0x10000, 1, 0, X86_MMU_SUP, 0)));
	CHECK_EQ(tlb_entry(t, X86_MMU_SUP, 0x10000)->addr_write, 0x10000);
	physmap_set_code(0x300abc);
	CHECK(physmap_has_code(0x300000));
	CHECK_EQ(tlb_entry(t, X86_MMU_SUP, 0x10000)->addr_write, 0x10000 | TLB_CODE);
	CHECK_EQ(tlb_entry(t, X86_MMU_SUP, 0x10000)->addr_read, 0x10000);
	/* The slow path's write invalidates first, then writes. */
	CHECK(!FAULTS(tlb_store(t, 0x10004, 0xfeedull, 3, X86_MMU_SUP, 0)));
	CHECK_EQ(code_written, 0x300004);	/* the bytes written, not only the page */
	CHECK_EQ(code_written_len, 8);
	CHECK(!physmap_has_code(0x300000));
	CHECK_EQ(tlb_entry(t, X86_MMU_SUP, 0x10000)->addr_write, 0x10000);
	CHECK_EQ(*(uint64_t *)(ram + 0x300004), 0xfeed);
	/* A fill of a code page flags its write tag at once. */
	physmap_set_code(0x305000);
	CHECK(!FAULTS(tlb_store(t, 0x11000, 2, 0, X86_MMU_SUP, 0)));
	CHECK_EQ(code_written, 0x305000);
	CHECK_EQ(code_written_len, 1);

	/* MMIO: the bus gets the physical address and size. */
	CHECK_EQ(tlb_load(t, 0x20010, 2, X86_MMU_SUP, 0), 0x55667788);
	CHECK_EQ(mmio.pa, MMIO_BASE + 0x10);
	CHECK_EQ(mmio.size, 4);
	CHECK_EQ(tlb_entry(t, X86_MMU_SUP, 0x20000)->addr_read, 0x20000 | TLB_MMIO);
	tlb_store(t, 0x20020, 0xabcd, 1, X86_MMU_SUP, 0);
	CHECK_EQ(mmio.pa, MMIO_BASE + 0x20);
	CHECK_EQ(mmio.val, 0xabcd);
	CHECK_EQ(mmio.writes, 1);
	CHECK(tlb_rmw_ptr(t, 0x20000, 2, X86_MMU_SUP, 0) == NULL);

	/* A split access: the two physical pages are not adjacent. */
	*(uint32_t *)(ram + 0x300ffe) = 0x44332211;
	*(uint32_t *)(ram + 0x305000) = 0x88776655;
	CHECK_EQ(tlb_load(t, 0x10ffe, 3, X86_MMU_SUP, 0), 0x887766552211ull);
	/* A split store whose second page is read-only writes nothing. */
	ram[0x305ffe] = 0xaa;
	CHECK(FAULTS(tlb_store(t, 0x11ffe, 0x0102030405060708ull, 3, X86_MMU_SUP, 0)));
	CHECK_EQ(raised.va, 0x12000);
	CHECK_EQ(raised.code, X86_WALK_FAULT | X86_PF_P | X86_PF_W);
	CHECK_EQ(ram[0x305ffe], 0xaa);
	/* Locked access split across non-adjacent pages: not atomic, refused. */
	raised.n = 0;
	CHECK(tlb_rmw_ptr(t, 0x10ffc, 3, X86_MMU_SUP, 0) == NULL);
	CHECK(FAULTS(tlb_helper_rmw(&tm->cpu, 0x10ffc, TLB_OI(3, X86_MMU_SUP), 0)));
	CHECK_EQ(raised.code, TLB_FAULT_UNSUPPORTED);
}

/* ---- generated code through the soft-MMU lowering ---- */

static struct ir_ctx S;
static ir_ref G[NG];
static uint8_t *code;
static host_enter_fn enter;
static uint16_t insn_off[64];
static uint64_t insn_pc[64];
#define TB_PC 0x401000
#define NLIVE 14	/* locals live across every access: the slow path keeps them */

static void emitc(enum ir_opc opc, enum ir_type t, const ir_ref *args, int64_t c0, int64_t c1)
{
	ir_emit(&S, opc, t, args, (int64_t[]){ c0, c1 });
}
static void insn_start(int i) { emitc(IR_insn_start, IR_I64, NULL, TB_PC + 4 * i, 4); }

/* Optimize, generate for MMU index mmu, return the code (NULL: failed). */
static uint8_t *gen_tb(struct tb *tb, int mmu)
{
	ir_optimize(&S, true, NULL);
	*tb = (struct tb){ .pc = TB_PC, .flags = mmu, .insn_host_off = insn_off, .insn_pc = insn_pc };
	size_t n = host_gen_code(&S, tb, code + 0x1000, code + 0x1000, 0x10000);
	if (!n || n == HOST_GEN_TOO_BIG)
		return NULL;
	tb->code = code + 0x1000;
	tb->code_size = n;
	for (uint32_t i = 0; i < tb->ninsns; i++)
		insn_pc[i] = TB_PC + 4 * i;
	return tb->code;
}

/* Run: 0 if it returned (*ret), 1 if the guest faulted (raised). */
static int run_tb(const uint8_t *tbc, uintptr_t *ret)
{
	if (sigsetjmp(fault_jmp, 1))
		return 1;
	*ret = enter(&tm->cpu, tbc);
	return 0;
}

/* The TB of the access tests: with locals l[i] = g0 + i live across them,
 *   0: g1 = load64 [g0]
 *   1: store32 [g2] = g3; store64 [g2 + 8] = 0x123456789abcdef0
 *   2: g4 = load16s [g5]
 *   3: g6 = xadd64 [g0 + 8], g7
 *   4: g7 = (l[0] ^ ... ^ l[NLIVE-1]) + 0x123456789abcdef0; exit 0x1230 */
static void build_access_tb(void)
{
	ir_ref l[NLIVE];
	ir_reset(&S);
	insn_start(0);
	for (int i = 0; i < NLIVE; i++) {
		l[i] = ir_new_temp(&S, IR_I64);
		ir_op2(&S, IR_add, IR_I64, l[i], G[0], ir_const(&S, IR_I64, i * 0x1111));
	}
	emitc(IR_load, IR_I64, (ir_ref[]){ G[1], G[0] }, IR_MO_64, 0);
	insn_start(1);
	emitc(IR_store, IR_I64, (ir_ref[]){ G[3], G[2] }, IR_MO_32, 0);
	ir_ref a2 = ir_new_temp(&S, IR_I64);	/* a constant that is no imm32 */
	ir_op2(&S, IR_add, IR_I64, a2, G[2], ir_const(&S, IR_I64, 8));
	emitc(IR_store, IR_I64, (ir_ref[]){ ir_const(&S, IR_I64, 0x123456789abcdef0ull), a2 },
	      IR_MO_64, 0);
	insn_start(2);
	emitc(IR_load, IR_I64, (ir_ref[]){ G[4], G[5] }, IR_MO_16 | IR_MO_SIGN, 0);
	insn_start(3);
	ir_ref a8 = ir_new_temp(&S, IR_I64);
	ir_op2(&S, IR_add, IR_I64, a8, G[0], ir_const(&S, IR_I64, 8));
	emitc(IR_xadd, IR_I64, (ir_ref[]){ G[6], a8, G[7] }, IR_MO_64, 0);
	insn_start(4);
	ir_ref x = ir_new_temp(&S, IR_I64);
	ir_op1(&S, IR_mov, IR_I64, x, l[0]);
	for (int i = 1; i < NLIVE; i++)
		ir_op2(&S, IR_xor, IR_I64, x, x, l[i]);
	/* the stored constant again: it must not be taken from a register
	 * only the hit path loaded */
	ir_op2(&S, IR_add, IR_I64, x, x, ir_const(&S, IR_I64, 0x123456789abcdef0ull));
	ir_op1(&S, IR_mov, IR_I64, G[7], x);
	emitc(IR_exit_tb, IR_I64, NULL, 0x1230, 0);
}

static uint64_t live_xor(uint64_t g0)
{
	uint64_t x = 0;
	for (int i = 0; i < NLIVE; i++)
		x ^= g0 + i * 0x1111;
	return x + 0x123456789abcdef0ull;
}

static void set_regs(uint64_t g0, uint64_t g2, uint64_t g5)
{
	memset(tm->cpu.g, 0, sizeof(tm->cpu.g));
	tm->cpu.g[0] = g0;
	tm->cpu.g[2] = g2;
	tm->cpu.g[3] = 0xdeadbeefcafef00dull;
	tm->cpu.g[5] = g5;
	tm->cpu.g[7] = 5;
}

static void test_codegen_access(void)
{
	struct tlb *t = &tm->tlb;
	struct tb tb;
	uintptr_t ret;
	machine_reset();
	map(0x7000000000ull, 0x200000, PAGE, X86_PTE_RW | X86_PTE_US);
	map(0x7000001000ull, 0x203000, PAGE, X86_PTE_RW | X86_PTE_US);
	map(0x7000002000ull, MMIO_BASE, PAGE, X86_PTE_RW | X86_PTE_US);
	*(uint64_t *)(ram + 0x200100) = 0x1111222233334444ull;
	*(uint64_t *)(ram + 0x200108) = 100;
	*(uint16_t *)(ram + 0x203010) = 0x8001;
	build_access_tb();
	const uint8_t *tbc = gen_tb(&tb, X86_MMU_USER);
	CHECK(tbc != NULL);
	if (!tbc)
		return;
	if (getenv("LOOM_TEST_DISAS"))
		host_disas(stdout, tb.code, tb.code_size);

	/* Every access misses: the slow paths walk, fill and access. */
	set_regs(0x7000000100ull, 0x7000001020ull, 0x7000001010ull);
	CHECK_EQ(run_tb(tbc, &ret), 0);
	CHECK_EQ(ret, 0x1230);
	CHECK_EQ(tm->cpu.g[1], 0x1111222233334444ull);
	CHECK_EQ(*(uint32_t *)(ram + 0x203020), 0xcafef00d);
	CHECK_EQ(*(uint64_t *)(ram + 0x203028), 0x123456789abcdef0ull);
	CHECK_EQ(tm->cpu.g[4], 0xffffffffffff8001ull);
	CHECK_EQ(tm->cpu.g[6], 100);
	CHECK_EQ(*(uint64_t *)(ram + 0x200108), 105);
	CHECK_EQ(tm->cpu.g[7], live_xor(0x7000000100ull));
	uint64_t fills = t->fills;
	CHECK(fills >= 3);
	CHECK_EQ(tlb_entry(t, X86_MMU_USER, 0x7000001000ull)->addr_write, 0x7000001000ull);

	/* Again: every access hits (no fill, and the inline probe finds
	 * each entry: no miss helper runs), same results. */
	set_regs(0x7000000100ull, 0x7000001020ull, 0x7000001010ull);
	*(uint32_t *)(ram + 0x203020) = 0;
	uint64_t slow = t->slow;
	CHECK_EQ(run_tb(tbc, &ret), 0);
	CHECK_EQ(t->fills, fills);
	CHECK_EQ(t->slow, slow);
	CHECK_EQ(tm->cpu.g[1], 0x1111222233334444ull);
	CHECK_EQ(*(uint32_t *)(ram + 0x203020), 0xcafef00d);
	CHECK_EQ(tm->cpu.g[4], 0xffffffffffff8001ull);
	CHECK_EQ(tm->cpu.g[6], 105);
	CHECK_EQ(tm->cpu.g[7], live_xor(0x7000000100ull));

	/* A load crossing into a page not adjacent in RAM: the slow path. */
	*(uint64_t *)(ram + 0x200ffc) = 0xaabbccdd00000000ull;	/* (upper half spills into 0x201000) */
	*(uint32_t *)(ram + 0x203000) = 0x11223344;
	set_regs(0x7000000ffcull, 0x7000001020ull, 0x7000001010ull);
	CHECK_EQ(run_tb(tbc, &ret), 0);
	CHECK_EQ(tm->cpu.g[1], 0x1122334400000000ull);

	/* MMIO through the slow path: the bus sees the physical address. */
	set_regs(0x7000000100ull, 0x7000002040ull, 0x7000002012ull);
	mmio.writes = mmio.reads = 0;
	CHECK_EQ(run_tb(tbc, &ret), 0);
	CHECK_EQ(mmio.writes, 2);	/* the two stores of instruction 1 */
	CHECK_EQ(mmio.reads, 1);
	CHECK_EQ(mmio.pa, MMIO_BASE + 0x12);	/* the last access: the load */
	CHECK_EQ(tm->cpu.g[4], 0x7788);	/* (16 bits of the fake bus's value, sign 0) */

	/* A store to a page holding code: invalidated before the write. */
	physmap_set_code(0x203000);
	code_written = ~0ull;
	set_regs(0x7000000100ull, 0x7000001040ull, 0x7000001010ull);
	CHECK_EQ(run_tb(tbc, &ret), 0);
	CHECK_EQ(code_written, 0x203040);
	CHECK_EQ(code_written_len, 4);
	CHECK_EQ(*(uint32_t *)(ram + 0x203040), 0xcafef00d);

	/* #PF in instruction 2: the state is the instruction's start (g1 and
	 * the store done, g4 not written), CR2 and the error code right, and
	 * the host pc of the access maps to instruction 2. */
	set_regs(0x7000000100ull, 0x7000001020ull, 0x7000005010ull);
	tm->cpu.g[4] = 0x4444;
	raised.n = 0;
	CHECK_EQ(run_tb(tbc, &ret), 1);
	CHECK_EQ(raised.n, 1);
	CHECK_EQ(raised.va, 0x7000005010ull);
	CHECK_EQ(raised.code, X86_WALK_FAULT | X86_PF_U);
	CHECK_EQ(tm->cpu.g[1], 0x1111222233334444ull);
	CHECK_EQ(tm->cpu.g[4], 0x4444);
	CHECK(t->fault_hpc >= (uintptr_t)tb.code && t->fault_hpc < (uintptr_t)tb.code + tb.code_size);
	CHECK_EQ(tb_insn_index_of(&tb, t->fault_hpc), 2);
	/* A write to a read-only page from the kernel with CR0.WP: P|W. */
	map(0x7000006000ull, 0x206000, PAGE, X86_PTE_US);
	tctl.cr4 &= ~X86_CR4_SMAP;
	build_access_tb();
	tbc = gen_tb(&tb, X86_MMU_SUP);
	set_regs(0x7000000100ull, 0x7000006020ull, 0x7000001010ull);
	CHECK_EQ(run_tb(tbc, &ret), 1);
	CHECK_EQ(raised.va, 0x7000006020ull);
	CHECK_EQ(raised.code, X86_WALK_FAULT | X86_PF_P | X86_PF_W);
	CHECK_EQ(tb_insn_index_of(&tb, t->fault_hpc), 1);
}

/* Every load form (size, sign, i32/i64) gives the same value on the
 * inline path and the slow path, and the value the host gives. */
static void test_codegen_load_forms(void)
{
	struct tb tb;
	uintptr_t ret;
	machine_reset();
	map(0x600000, 0x240000, PAGE, X86_PTE_RW | X86_PTE_US);
	static const uint8_t bytes[8] = { 0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8 };
	memcpy(ram + 0x240010, bytes, 8);
	for (int size = 0; size < 4; size++) {
		for (int sign = 0; sign < 2; sign++) {
			for (int i32 = 0; i32 < 2; i32++) {
				if (i32 && size == 3)
					continue;
				int memop = size | (sign ? IR_MO_SIGN : 0);
				enum ir_type ty = i32 ? IR_I32 : IR_I64;
				ir_reset(&S);
				insn_start(0);
				ir_ref d = ir_new_temp(&S, ty);
				emitc(IR_load, ty, (ir_ref[]){ d, G[0] }, memop, 0);
				ir_ref w = d;
				if (i32) {	/* the frontend's way to a 64-bit register */
					w = ir_new_temp(&S, IR_I64);
					ir_op1(&S, IR_ext32u, IR_I64, w, d);
				}
				ir_op1(&S, IR_mov, IR_I64, G[1], w);
				emitc(IR_exit_tb, IR_I64, NULL, 0, 0);
				const uint8_t *tbc = gen_tb(&tb, X86_MMU_USER);
				uint64_t want;
				if (size == 0)
					want = sign ? (uint64_t)(int8_t)bytes[0] : bytes[0];
				else if (size == 1)
					want = sign ? (uint64_t)*(int16_t *)bytes : *(uint16_t *)bytes;
				else if (size == 2)
					want = sign && !i32 ? (uint64_t)*(int32_t *)bytes : *(uint32_t *)bytes;
				else
					want = *(uint64_t *)bytes;
				if (i32)
					want &= 0xffffffff;
				for (int pass = 0; pass < 2; pass++) {	/* miss, then hit */
					if (!pass)
						tlb_flush_all(&tm->tlb);
					tm->cpu.g[0] = 0x600010;
					tm->cpu.g[1] = 0x5a5a5a5a5a5a5a5aull;
					CHECK(tbc && run_tb(tbc, &ret) == 0);
					CHECK_EQ(tm->cpu.g[1], want);
				}
			}
		}
	}
}

/* cmpxchg through the TLB, hit and miss. */
static void test_codegen_cmpxchg(void)
{
	struct tb tb;
	uintptr_t ret;
	machine_reset();
	map(0x600000, 0x240000, PAGE, X86_PTE_RW | X86_PTE_US);
	*(uint32_t *)(ram + 0x240020) = 77;
	ir_reset(&S);
	insn_start(0);
	emitc(IR_cmpxchg, IR_I64, (ir_ref[]){ G[1], G[0], G[2], G[3] }, IR_MO_32, 0);
	emitc(IR_exit_tb, IR_I64, NULL, 0, 0);
	const uint8_t *tbc = gen_tb(&tb, X86_MMU_USER);
	for (int pass = 0; pass < 2; pass++) {
		tm->cpu.g[0] = 0x600020;
		tm->cpu.g[2] = 77 + pass;	/* second pass: the compare fails */
		tm->cpu.g[3] = 99;
		CHECK(tbc && run_tb(tbc, &ret) == 0);
		CHECK_EQ(tm->cpu.g[1], pass ? 99 : 77);
		CHECK_EQ(*(uint32_t *)(ram + 0x240020), 99);
	}
}

/* Helpers' accesses (guest/x86/mem.h) in system mode: through the TLB in
 * the vCPU's current context, split across pages, and a store that faults
 * on its second page writes nothing. */
static void test_helper_mem(void)
{
	struct cpu *cpu = (struct cpu *)&tm->cpu;	/* (mem.h reaches only the TLB) */
	machine_reset();
	map(0x500000, 0x250000, PAGE, X86_PTE_RW | X86_PTE_US);
	map(0x501000, 0x260000, PAGE, X86_PTE_RW | X86_PTE_US);
	map(0x502000, 0x270000, PAGE, X86_PTE_US);	/* read-only */
	CHECK(tlb_softmmu);
	tm->tlb.cur_mmu = X86_MMU_USER;
	uint8_t buf[64], back[64];
	for (int i = 0; i < 64; i++)
		buf[i] = i * 7 + 1;
	CHECK(!FAULTS(x86_st_buf(cpu, 0x500fe0, buf, 64)));
	CHECK(!memcmp(ram + 0x250fe0, buf, 32) && !memcmp(ram + 0x260000, buf + 32, 32));
	CHECK(!FAULTS(x86_ld_buf(cpu, back, 0x500fe0, 64)));
	CHECK(!memcmp(back, buf, 64));
	CHECK_EQ(x86_ldl(cpu, 0x500ffe), (uint32_t)buf[30] | buf[31] << 8 | buf[32] << 16 |
					     (uint32_t)buf[33] << 24);
	x86_stq(cpu, 0x501010, 0x0102030405060708ull);
	CHECK_EQ(*(uint64_t *)(ram + 0x260010), 0x0102030405060708ull);
	CHECK_EQ(x86_ldq(cpu, 0x501010), 0x0102030405060708ull);
	x86_stb(cpu, 0x501018, 0x99);
	CHECK_EQ(ram[0x260018], 0x99);
	memset(ram + 0x260fe0, 0x33, 32);
	CHECK(FAULTS(x86_st_buf(cpu, 0x501fe0, buf, 64)));
	CHECK_EQ(raised.va, 0x502000);
	CHECK_EQ(raised.code, X86_WALK_FAULT | X86_PF_P | X86_PF_W | X86_PF_U);
	CHECK_EQ(ram[0x260fe0], 0x33);
	CHECK_EQ(ram[0x260fff], 0x33);
	/* The kernel's context: SMAP refuses the user page. */
	tm->tlb.cur_mmu = X86_MMU_SUP;
	CHECK(FAULTS(x86_ldq(cpu, 0x501010)));
	CHECK_EQ(raised.code, X86_WALK_FAULT | X86_PF_P);
	tm->tlb.cur_mmu = X86_MMU_SUP_AC;
	CHECK(!FAULTS(x86_ldq(cpu, 0x501010)));
	static void *p;
	CHECK(!FAULTS(p = x86_rmw_ptr(cpu, 0x501010, 4)));
	CHECK(p == ram + 0x260010);
}

static void codegen_setup(void)
{
	code = mmap(NULL, 0x20000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (code == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	const void *epilogue;
	host_gen_prologue(code, code, 0x1000, &enter, &epilogue);
	ir_init(&S);
	static const char *const names[NG] = { "g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7" };
	for (int i = 0; i < NG; i++)
		G[i] = ir_new_global(&S, offsetof(struct tcpu, g) + 8 * i, names[i]);
	tlb_install_lowering(0, 3);
}

void unit_main(void)
{
	test_walk_race();
	test_walk_random();

	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	tm = calloc(1, sizeof(*tm));
	if (ram == MAP_FAILED || !tm) {
		perror("test_softmmu");
		unit_failed++;
		return;
	}
	tlb_init(&tm->tlb, &tm->cpu, &t_ops);
	tlb_set_env_offset((int32_t)(offsetof(struct tmachine, tlb) - offsetof(struct tmachine, cpu)));
	test_tlb_basic();
	test_tlb_large();
	test_tlb_victims();
	test_tlb_code_mmio_split();

	codegen_setup();
	test_codegen_access();
	test_codegen_load_forms();
	test_codegen_cmpxchg();
	/* the probe as a host without BMI2 gets it (no rorx) */
	host_use_bmi2(false);
	test_codegen_access();
	test_codegen_load_forms();
	test_codegen_cmpxchg();
	host_use_bmi2(true);
	test_helper_mem();
	host_set_softmmu(NULL);
}
