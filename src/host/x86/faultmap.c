/*
 * Fault points (user mode): where a TB's dirty guest globals are when one
 * of its instructions faults.  Before a guest memory access, a divide or
 * an SSE op that may raise a SIMD exception, the allocator does not write
 * the guest registers and flags it holds in host registers back to env
 * (regalloc.c: ra_fault_point); it notes, for that host instruction, which
 * host register holds which global, and a fault there writes them from the
 * signal's ucontext into env (host_fault_restore) before anything reads
 * the guest state.  Whole-system mode never records any: its TLB probe's
 * slow path writes the globals back before its helper (softmmu.c).
 *
 * The table of one TB is one malloc'd array of uint16_t, owned by
 * tb->fault_map (freed with the TB's other tables):
 *
 *     n, off[0] .. off[n-1], end[0] .. end[n-1], entry ...
 *
 * off[i] is the code offset of fault point i's instruction (ascending),
 * its entries are entry[end[i-1] .. end[i]) (end[-1] = 0), and an entry is
 * the host register << 12 | the global's env offset / 8.  With rsp's or
 * rbp's number (never allocated) in place of the register, the global's
 * value is a constant not yet stored (regalloc.c's kpend): the entry after
 * it (rsp: a constant below 65536, cc_op's as a rule), or the four after
 * it, low half first (rbp).  A point where no global is dirty is not
 * recorded.  Cost: 4 bytes per point and 2 per dirty global in a register
 * (4 or 10 per constant), against the 4-11 byte store each replaces.
 *
 * Invariant: at off[i], each register named by point i's entries holds
 * the global's current value (the allocator takes the snapshot after every
 * register the op needs is allocated, right before the instruction).
 */
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include "host/x86/codegen-internal.h"
#include "util/log.h"

/* Note that register reg holds the dirty global homed at env_off, for the
 * fault point about to be emitted; false if the table has no room for it
 * or cannot encode it (the caller writes it back instead). */
bool fmap_add(struct cg *c, int reg, int32_t env_off)
{
	if (c->nfpt >= MAX_FAULT_POINTS || c->nfent >= MAX_FAULT_ENTRIES ||
	    env_off < 0 || (env_off & 7) || env_off >= 8 << 12)
		return false;
	c->fent[c->nfent++] = (uint16_t)(reg << 12 | env_off >> 3);
	return true;
}

/* The same for a global whose value is the constant v. */
bool fmap_add_const(struct cg *c, int32_t env_off, uint64_t v)
{
	int n = v < 0x10000 ? 1 : 4;
	if (c->nfent + n >= MAX_FAULT_ENTRIES || !fmap_add(c, n == 1 ? H_RSP : H_RBP, env_off))
		return false;
	for (int i = 0; i < n; i++)
		c->fent[c->nfent++] = (uint16_t)(v >> 16 * i);
	return true;
}

/* Close the point at the current code offset, if it has entries. */
void fmap_point(struct cg *c, uint32_t first)
{
	if (c->nfent == first)
		return;
	c->fpt_off[c->nfpt] = c->e.p - c->e.start;
	c->fpt_end[c->nfpt++] = c->nfent;
}

/* The TB's table, from what the points noted (host_gen_code's end). */
void fmap_finish(struct cg *c)
{
	if (!c->nfpt)
		return;
	uint32_t n = c->nfpt;
	uint16_t *m = malloc((1 + 2 * n + c->nfent) * sizeof(*m));
	if (!m)
		internal_error("out of memory for a TB's fault points");
	m[0] = n;
	memcpy(m + 1, c->fpt_off, n * sizeof(*m));
	memcpy(m + 1 + n, c->fpt_end, n * sizeof(*m));
	memcpy(m + 1 + 2 * n, c->fent, c->nfent * sizeof(*m));
	c->tb->fault_map = m;
}

/* The ucontext's gregs index of each host register (sys/ucontext.h). */
static const int8_t greg_of[16] = {
	[H_RAX] = REG_RAX, [H_RCX] = REG_RCX, [H_RDX] = REG_RDX, [H_RBX] = REG_RBX,
	[H_RSP] = REG_RSP, [H_RBP] = REG_RBP, [H_RSI] = REG_RSI, [H_RDI] = REG_RDI,
	[H_R8] = REG_R8, [H_R9] = REG_R9, [H_R10] = REG_R10, [H_R11] = REG_R11,
	[H_R12] = REG_R12, [H_R13] = REG_R13, [H_R14] = REG_R14, [H_R15] = REG_R15,
};

int host_fault_restore(const struct tb *tb, uintptr_t hpc, void *env, const void *ucv)
{
	const uint16_t *m = tb->fault_map;
	const ucontext_t *uc = ucv;
	if (!m || hpc < (uintptr_t)tb->code)
		return 0;
	uint32_t n = m[0], off = hpc - (uintptr_t)tb->code, lo = 0, hi = n;
	const uint16_t *offs = m + 1, *ends = m + 1 + n, *ent = m + 1 + 2 * n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (offs[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n || offs[lo] != off)
		return 0;
	int nglobals = 0;
	for (uint32_t k = lo ? ends[lo - 1] : 0; k < ends[lo]; k++, nglobals++) {
		unsigned reg = ent[k] >> 12, off8 = ent[k] & 0xfff;
		uint64_t v;
		if (reg == H_RSP) {
			v = ent[++k];
		} else if (reg == H_RBP) {
			v = ent[k + 1] | (uint64_t)ent[k + 2] << 16 | (uint64_t)ent[k + 3] << 32 |
			    (uint64_t)ent[k + 4] << 48;
			k += 4;
		} else {
			v = (uint64_t)uc->uc_mcontext.gregs[greg_of[reg]];
		}
		memcpy((char *)env + off8 * 8, &v, 8);
	}
	return nglobals;
}

size_t host_fault_map_bytes(const struct tb *tb)
{
	const uint16_t *m = tb->fault_map;
	return m ? (1 + 2 * m[0] + m[2 * m[0]]) * sizeof(*m) : 0;
}
