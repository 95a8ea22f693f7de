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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "exec/tlb.h"
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

static int ncase_fail;

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
	CHECK(ok);
	if (!ok && ncase_fail++ < 5) {
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

void unit_main(void)
{
	test_walk_race();
	test_walk_random();
}
