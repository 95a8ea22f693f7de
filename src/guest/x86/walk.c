/*
 * The x86-64 4-level page walk (walk.h).  One pass from CR3 down to the
 * leaf collects the entries and their combined rights; the rights are
 * checked against the access; only then are the accessed and dirty flags
 * set, each with a compare-exchange of the entry as read, walking again
 * when one lost a race.
 *
 * Rules, from Intel SDM vol. 3 §4.5-4.7:
 *  - a not-present entry faults with P=0, whatever else it holds;
 *  - a present entry with a reserved bit set faults with P=1 and RSVD=1:
 *    bits 51:MAXPHYADDR of every entry, bit 63 while EFER.NXE=0, PS in a
 *    PML4E, PS in a PDPTE without 1 GiB pages, bits 29:13 of a 1 GiB leaf
 *    and bits 20:13 of a 2 MiB leaf (bit 12 of those is PAT);
 *  - a page is a user page when U/S is set at every level, writable when
 *    R/W is set at every level, and not executable when NXE is on and XD is
 *    set at some level;
 *  - a read from physical memory that is not RAM gives all ones, as on a
 *    PC (such an entry is present with reserved bits set).
 */
#include "guest/x86/walk.h"
#include "exec/tlb.h"

_Static_assert(X86_MMU_NB <= TLB_NB_MMU, "the soft TLB has an entry set per x86 MMU index");
_Static_assert(X86_PROT_READ == TLB_PROT_READ && X86_PROT_WRITE == TLB_PROT_WRITE &&
	       X86_PROT_EXEC == TLB_PROT_EXEC, "walk results fill the TLB as they are");

#define WALK_ADDR_HI_MASK ((1ull << 52) - 1)	/* bits 51:0 */

static uint64_t walk_load(const struct x86_walk_mem *mem, uint64_t pa)
{
	uint64_t v;
	return mem->read8(mem->opaque, pa, &v) ? v : ~0ull;
}

/* Reserved bits of a present entry at level (4: PML4E ... 1: PTE). */
static uint64_t walk_reserved(const struct x86_walk_ctl *ctl, int level, uint64_t e)
{
	uint64_t rsvd = WALK_ADDR_HI_MASK & ~((1ull << ctl->maxphyaddr) - 1);
	if (!(ctl->efer & X86_EFER_NXE))
		rsvd |= X86_PTE_NX;
	if (level == 4)
		rsvd |= X86_PTE_PS;
	else if (level == 3 && (e & X86_PTE_PS))
		rsvd |= ctl->gbpages ? 0x3fffe000ull : X86_PTE_PS;
	else if (level == 2 && (e & X86_PTE_PS))
		rsvd |= 0x1fe000ull;
	return rsvd;
}

/* Combined rights of the walked entries. */
struct walk_rights {
	bool user, writable, nx;
};

/* May this context make an access of kind (enum x86_access) to a page
 * with rights r?  SDM §4.6.1. */
static bool walk_allowed(const struct x86_walk_ctl *ctl, bool implicit, int kind,
			 struct walk_rights r)
{
	bool user_access = ctl->cpl == 3 && !implicit;
	if (user_access) {
		if (!r.user)
			return false;
		if (kind == X86_ACC_WRITE)
			return r.writable;
		if (kind == X86_ACC_FETCH)
			return !r.nx;
		return true;
	}
	if (kind == X86_ACC_FETCH)
		return !r.nx && !(r.user && (ctl->cr4 & X86_CR4_SMEP));
	/* SMAP: explicit accesses at CPL<3 with AC set are exempt; implicit
	 * ones never are. */
	if (r.user && (ctl->cr4 & X86_CR4_SMAP) && (implicit || !ctl->ac))
		return false;
	if (kind == X86_ACC_WRITE && (ctl->cr0 & X86_CR0_WP))
		return r.writable;
	return true;
}

uint32_t x86_walk(const struct x86_walk_ctl *ctl, const struct x86_walk_mem *mem, uint64_t va,
		  int access, struct x86_walk_result *res)
{
	int kind = access & ~X86_ACC_IMPLICIT;
	bool implicit = access & X86_ACC_IMPLICIT;
	uint64_t addr_mask = ((1ull << ctl->maxphyaddr) - 1) & ~0xfffull;

	if (!(ctl->cr0 & X86_CR0_PG)) {
		*res = (struct x86_walk_result){ .pa = va, .page_size = 4096, .user = true,
						 .prot = X86_PROT_READ | X86_PROT_WRITE | X86_PROT_EXEC };
		return 0;
	}

	uint32_t err = 0;
	if (kind == X86_ACC_WRITE)
		err |= X86_PF_W;
	if (ctl->cpl == 3 && !implicit)
		err |= X86_PF_U;
	if (kind == X86_ACC_FETCH && (ctl->efer & X86_EFER_NXE || ctl->cr4 & X86_CR4_SMEP))
		err |= X86_PF_I;

	for (;;) {
		uint64_t entry_pa[4], entry[4];
		struct walk_rights r = { .user = true, .writable = true, .nx = false };
		uint64_t table = ctl->cr3 & addr_mask;
		int level = 4, n = 0;
		uint64_t e;
		for (;; level--) {
			int shift = 12 + 9 * (level - 1);
			entry_pa[n] = table + ((va >> shift) & 511) * 8;
			e = entry[n] = walk_load(mem, entry_pa[n]);
			n++;
			if (!(e & X86_PTE_P))
				return X86_WALK_FAULT | err;
			if (e & walk_reserved(ctl, level, e))
				return X86_WALK_FAULT | err | X86_PF_P | X86_PF_RSVD;
			r.user &= !!(e & X86_PTE_US);
			r.writable &= !!(e & X86_PTE_RW);
			r.nx |= (ctl->efer & X86_EFER_NXE) && (e & X86_PTE_NX);
			if (level == 1 || (level <= 3 && (e & X86_PTE_PS)))
				break;
			table = e & addr_mask;
		}
		if (!walk_allowed(ctl, implicit, kind, r))
			return X86_WALK_FAULT | err | X86_PF_P;

		/* Set A on every entry walked, D on the leaf of a write. */
		bool raced = false;
		for (int i = 0; i < n && !raced; i++) {
			uint64_t want = entry[i] | X86_PTE_A;
			if (i == n - 1 && kind == X86_ACC_WRITE)
				want |= X86_PTE_D;
			if (want != entry[i]) {
				raced = !mem->cmpxchg8(mem->opaque, entry_pa[i], entry[i], want);
				entry[i] = want;
			}
		}
		if (raced)
			continue;

		uint64_t size = 1ull << (12 + 9 * (level - 1));
		e = entry[n - 1];
		res->pa = (e & addr_mask & ~(size - 1)) | (va & (size - 1));
		res->page_size = size;
		res->user = r.user;
		res->global = (e & X86_PTE_G) && (ctl->cr4 & X86_CR4_PGE);
		res->prot = 0;
		if (walk_allowed(ctl, implicit, X86_ACC_READ, r))
			res->prot |= X86_PROT_READ;
		if ((e & X86_PTE_D) && walk_allowed(ctl, implicit, X86_ACC_WRITE, r))
			res->prot |= X86_PROT_WRITE;
		if (walk_allowed(ctl, implicit, X86_ACC_FETCH, r))
			res->prot |= X86_PROT_EXEC;
		return 0;
	}
}
