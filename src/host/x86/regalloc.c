/*
 * The x86-64 backend's register allocator: one pass, local, over a TB's
 * ops in order (codegen.c calls it op by op; no global view).
 *
 * Register state follows each temp: in a host register, in its memory home
 * (globals: env+offset; TB-wide locals and spilled block-locals: a slot of
 * the spill frame at rsp), a constant, or nowhere.  The emitters ask for
 * their inputs in registers (ra_load_temp, ra_dest_from), lock what the
 * op must not lose, bind outputs (ra_set_output) and free what died
 * (ra_free_dead); the state between ops is this file's alone.
 * Invariants the rest of loom relies on:
 *  - at TB entry every global is in env; every exit writes dirty globals
 *    back (ra_sync_all);
 *  - a fault sees the exact guest state of the faulting instruction: before
 *    a helper that may raise, and in whole-system mode before every guest
 *    access's slow path, every dirty global is written back
 *    (ra_sync_globals); in user mode an inline access, a divide or an SSE
 *    op instead records where each dirty global is (ra_fault_point,
 *    faultmap.c), and a global's value is always in env or in the one
 *    register that holds it;
 *  - at a basic-block end (label, branch) globals and TB-wide locals are in
 *    memory, at a brcond inside a TB on its taken side only (stores after
 *    the body, ra_sync_record; TB-wide locals left out where the label's
 *    code reads none); after a label no register holds anything;
 *  - rbp (env) and rsp (the spill frame) are never handed out, nor the
 *    pinned counter's register once reserved (cg_config.all_regs).
 */
#include "host/x86/codegen-internal.h"
#include "util/log.h"

/* Allocation order: callee-saved first so values survive helper calls. */
static const int8_t alloc_order[] = {
	H_RBX, H_R12, H_R13, H_R14, H_R15, H_RSI, H_RDI, H_R8, H_R9,
	H_R10, H_R11, H_RAX, H_RDX, H_RCX,
};

/* ---- memory homes ---- */

static int32_t slot_off(struct cg *c, ir_ref r)
{
	struct ra_temp *rt = &c->t[r];
	if (rt->slot < 0 && c->nfree_slots) {
		rt->slot = c->free_slots[--c->nfree_slots];
	} else if (rt->slot < 0) {
		if (c->nslots >= FRAME_SLOTS) {
			/* too big: the code is discarded (host_gen_code) */
			c->overflow = true;
			return 0;
		}
		rt->slot = c->nslots++;
	}
	return rt->slot * 8;
}

static void store_home(struct cg *c, ir_ref r, int reg)
{
	if (is_global(c, r))
		emit_store(&c->e, 3, reg, ENV_REG, T(c, r)->env_off);
	else
		emit_store(&c->e, 3, reg, H_RSP, slot_off(c, r));
}

static void load_home(struct cg *c, ir_ref r, int reg)
{
	if (is_global(c, r))
		emit_load(&c->e, 3, false, reg, ENV_REG, T(c, r)->env_off);
	else
		emit_load(&c->e, 3, false, reg, H_RSP, slot_off(c, r));
}

/* ---- pending constants ----
 * A global given a constant (gen_mov: cc_op at nearly every flag-setting
 * instruction) is not stored at once: the value waits in
 * c->kval while the bit r - 2 of c->kpend is set (the global is then in no
 * register, in_mem clear), a fault point records it as a constant, and it
 * is stored where a register would be written back (ra_sync_globals,
 * ra_sync_all; in whole-system mode also on a TLB probe's slow path,
 * softmmu.c) unless the global is written again first.  A read of the
 * global puts the constant in a register (ra_load_temp and the others). */

static inline uint64_t kbit(ir_ref r)
{
	return r >= 2 && r - 2 < 64 ? 1ull << (r - 2) : 0;
}

static inline bool kpending(struct cg *c, ir_ref r)
{
	return c->kpend & kbit(r);
}

static void unalias(struct cg *c, ir_ref r);

void ra_set_kconst(struct cg *c, ir_ref d, uint64_t v)
{
	if (c->t[d].reg != H_NONE)
		ra_free_reg(c, c->t[d].reg);
	unalias(c, d);
	c->kpend |= kbit(d);
	c->kval[d - 2] = v;
	c->t[d].in_mem = 0;
}

/* r is written: a pending constant of it is dropped unstored. */
void ra_kdrop(struct cg *c, ir_ref r)
{
	c->kpend &= ~kbit(r);
}

static void kflush(struct cg *c, ir_ref r)
{
	emit_store_imm(&c->e, 3, c->kval[r - 2], ENV_REG, T(c, r)->env_off);
	c->t[r].in_mem = 1;
	c->kpend &= ~kbit(r);
}

void ra_kflush_all(struct cg *c)
{
	while (c->kpend)
		kflush(c, 2 + __builtin_ctzll(c->kpend));
}

/* ---- aliased globals ----
 * A global given the value of a temp that lives on (gen_mov: rdx := t
 * where t is also the next access's address, cc_dst := t beside the
 * register the guest's result went to) is not stored at once either: its
 * bit r - 2 is set in c->alias[reg] of the register holding t (and in
 * c->apend), the global itself in no register and in_mem clear.  Aliases
 * sit only on a register some temp owns (reg_temp), and the register's
 * value is the global's until one of these:
 *  - the global is written again: the alias goes, unstored (ra_set_output,
 *    ra_set_kconst, ra_alias);
 *  - the owner lets the register go with its value intact (ra_free_reg: it
 *    died, was written elsewhere, moved): an aliased global owns it, dirty;
 *  - the register is to be overwritten: the aliased globals are stored
 *    first (ra_spill_reg; an emitter reusing a dying input's register asks
 *    ra_may_clobber, which may send the result elsewhere instead);
 *  - a write-back point (ra_sync_globals, ra_sync_all): stored;
 *  - a fault point or a TLB probe's slow path: recorded where the
 *    register's own global would be (ra_fault_point, softmmu.c).
 * A read of the global copies the register (ra_load_temp).  So the stores
 * a global's value needs move from where it was computed to where
 * something may read env, and vanish when the guest overwrites it first
 * (the flags' cc_dst between two flag-setting instructions, a register
 * that is an address and then a load's destination). */

static int alias_reg(struct cg *c, ir_ref r)
{
	if (!(c->apend & kbit(r)))
		return H_NONE;
	for (int reg = 0; reg < 16; reg++)
		if (c->alias[reg] & kbit(r))
			return reg;
	internal_error("register allocator: alias of %s lost", T(c, r)->name);
}

/* Where global r's value is in a register: its own, or the one it is an
 * alias of; H_NONE if neither. */
int ra_global_reg(struct cg *c, ir_ref r)
{
	return c->t[r].reg != H_NONE ? c->t[r].reg : alias_reg(c, r);
}

static void unalias(struct cg *c, ir_ref r)
{
	uint64_t b = kbit(r);
	if (!(c->apend & b))
		return;
	c->apend &= ~b;
	for (int reg = 0; reg < 16; reg++)
		c->alias[reg] &= ~b;
}

/* Global d is given a new value: where its old one was (a register, a
 * pending constant, an alias) is forgotten. */
static void forget_value(struct cg *c, ir_ref d)
{
	if (c->t[d].reg != H_NONE)
		ra_free_reg(c, c->t[d].reg);
	ra_kdrop(c, d);
	unalias(c, d);
}

/* Global d (below 64) takes the value reg holds for its owner. */
void ra_alias(struct cg *c, ir_ref d, int reg)
{
	forget_value(c, d);
	c->alias[reg] |= kbit(d);
	c->apend |= kbit(d);
	c->t[d].in_mem = 0;
}

/* Global d's value is dead (ir.h: discard): forgotten unstored, env's
 * copy taken as its value from here on. */
void ra_discard(struct cg *c, ir_ref d)
{
	forget_value(c, d);
	c->t[d].in_mem = 1;
}

/* Global d takes the value reg holds for its owner, written home now. */
void ra_store_global(struct cg *c, ir_ref d, int reg)
{
	forget_value(c, d);
	emit_store(&c->e, 3, reg, ENV_REG, T(c, d)->env_off);
	c->t[d].in_mem = 1;
}

/* Store the globals aliased to reg. */
void ra_aflush_reg(struct cg *c, int reg)
{
	for (uint64_t m = c->alias[reg]; m; m &= m - 1) {
		ir_ref r = 2 + __builtin_ctzll(m);
		emit_store(&c->e, 3, reg, ENV_REG, T(c, r)->env_off);
		c->t[r].in_mem = 1;
	}
	c->apend &= ~c->alias[reg];
	c->alias[reg] = 0;
}

void ra_aflush_all(struct cg *c)
{
	for (int reg = 0; c->apend && reg < 16; reg++)
		if (c->alias[reg])
			ra_aflush_reg(c, reg);
}

/* Whether an emitter may overwrite reg, a dying input's register, with
 * its result: yes when no global is aliased to it, or when no other
 * register is free (the aliased globals are then stored here); no when a
 * free register can take the result and the aliases keep theirs. */
bool ra_may_clobber(struct cg *c, int reg)
{
	/* an alias the guest overwrites before anything can read it goes
	 * now, unstored */
	for (uint64_t m = c->alias[reg]; m; m &= m - 1)
		if (cg_rewritten_soon(c, 2 + __builtin_ctzll(m), false))
			unalias(c, 2 + __builtin_ctzll(m));
	if (!c->alias[reg])
		return true;
	uint32_t free = ALL_REGS & ~c->locked & ~c->used_regs & ~(1u << reg);
	for (unsigned i = 0; i < sizeof(alloc_order); i++)
		if (free & (1u << alloc_order[i]))
			return false;
	ra_aflush_reg(c, reg);
	return true;
}

/* reg's owner moved to reg n (the value with it): so do its aliases. */
static void alias_move(struct cg *c, int reg, int n)
{
	c->alias[n] = c->alias[reg];
	c->alias[reg] = 0;
}

/* ---- register bookkeeping ---- */

void ra_set_reg(struct cg *c, ir_ref r, int reg)
{
	c->t[r].reg = reg;
	c->reg_temp[reg] = r;
	c->used_regs |= 1u << reg;
}

/* A block-local that died gives its spill slot back (TB-wide locals keep
 * theirs: they are stored there at every block end). */
static void release_slot(struct cg *c, ir_ref r)
{
	struct ra_temp *rt = &c->t[r];
	if (rt->slot >= 0 && T(c, r)->kind == IR_TEMP_LOCAL && !T(c, r)->tb_wide) {
		c->free_slots[c->nfree_slots++] = rt->slot;
		rt->slot = -1;
		rt->in_mem = 0;
	}
}

/* reg's owner lets it go; the value stays in it for the globals aliased
 * to it, the first of which owns it from here on. */
void ra_free_reg(struct cg *c, int reg)
{
	ir_ref r = c->reg_temp[reg];
	if (r) {
		c->t[r].reg = H_NONE;
		c->reg_temp[reg] = 0;
		c->used_regs &= ~(1u << reg);
	}
	if (c->alias[reg]) {
		ir_ref g = 2 + __builtin_ctzll(c->alias[reg]);
		c->alias[reg] &= ~kbit(g);
		c->apend &= ~kbit(g);
		ra_set_reg(c, g, reg);	/* in_mem stays clear: dirty */
	}
}

/* Write r's register copy to its home if the home is stale. */
void ra_sync_temp(struct cg *c, ir_ref r)
{
	struct ra_temp *rt = &c->t[r];
	if (rt->reg != H_NONE && !rt->in_mem && !is_const(c, r)) {
		store_home(c, r, rt->reg);
		rt->in_mem = 1;
	} else if (rt->reg == H_NONE && alias_reg(c, r) != H_NONE) {
		store_home(c, r, alias_reg(c, r));
		rt->in_mem = 1;
		unalias(c, r);
	}
}

/* Empty a register, keeping the value it holds reachable. */
void ra_spill_reg(struct cg *c, int reg)
{
	ir_ref r = c->reg_temp[reg];
	if (!r)
		return;
	ra_aflush_reg(c, reg);
	ra_sync_temp(c, r);
	ra_free_reg(c, reg);
}

int ra_alloc_reg(struct cg *c, uint32_t allowed)
{
	allowed &= ~c->locked;
	for (unsigned i = 0; i < sizeof(alloc_order); i++) {
		int reg = alloc_order[i];
		if ((allowed & (1u << reg)) && !c->reg_temp[reg])
			return reg;
	}
	/* No free register: drop a clean global's copy (no store), else
	 * spill the last one in allocation order (the caller-saved ones,
	 * which a call would lose anyway). */
	for (int i = sizeof(alloc_order) - 1; i >= 0; i--) {
		int reg = alloc_order[i];
		ir_ref r = c->reg_temp[reg];
		if ((allowed & (1u << reg)) && T(c, r)->kind == IR_TEMP_GLOBAL &&
		    c->t[r].in_mem && !c->alias[reg]) {
			ra_free_reg(c, reg);
			return reg;
		}
	}
	for (int i = sizeof(alloc_order) - 1; i >= 0; i--) {
		int reg = alloc_order[i];
		if (allowed & (1u << reg)) {
			ra_spill_reg(c, reg);
			return reg;
		}
	}
	internal_error("register allocator: no register available");
}

/* Put temp r in a register from `allowed`, moving or loading it. */
int ra_load_temp(struct cg *c, ir_ref r, uint32_t allowed)
{
	struct ra_temp *rt = &c->t[r];
	int reg;

	if (T(c, r)->kind == IR_TEMP_ENV) {
		if (allowed & (1u << ENV_REG))
			return ENV_REG;
		reg = ra_alloc_reg(c, allowed);
		emit_mov_rr(&c->e, true, reg, ENV_REG);
		return reg;
	}
	if (kpending(c, r)) {	/* the constant to a register, still dirty */
		reg = ra_alloc_reg(c, allowed);
		emit_movi(&c->e, reg, c->kval[r - 2]);
		ra_kdrop(c, r);
		ra_set_reg(c, r, reg);
		return reg;
	}
	if (rt->reg != H_NONE) {
		if (allowed & (1u << rt->reg))
			return rt->reg;
		reg = ra_alloc_reg(c, allowed);
		emit_mov_rr(&c->e, true, reg, rt->reg);
		c->reg_temp[rt->reg] = 0;
		c->used_regs &= ~(1u << rt->reg);
		alias_move(c, rt->reg, reg);
		ra_set_reg(c, r, reg);
		return reg;
	}
	reg = ra_alloc_reg(c, allowed);
	int ar = alias_reg(c, r);	/* (after the allocation, which may store it) */
	if (is_const(c, r)) {
		emit_movi(&c->e, reg, cval(c, r));
	} else if (ar != H_NONE) {	/* a copy of its own, still dirty */
		emit_mov_rr(&c->e, true, reg, ar);
		unalias(c, r);
	} else if (rt->in_mem) {
		load_home(c, r, reg);
	} else {
		internal_error("TB 0x%lx: temp %u read before written",
			       (unsigned long)c->tb->pc, r);
	}
	ra_set_reg(c, r, reg);
	return reg;
}

/* Copy temp r's value into the fixed register reg (r stays where it is). */
void ra_copy_to_reg(struct cg *c, ir_ref r, int reg)
{
	if (T(c, r)->kind == IR_TEMP_ENV)
		emit_mov_rr(&c->e, true, reg, ENV_REG);
	else if (is_const(c, r))
		emit_movi(&c->e, reg, cval(c, r));
	else if (kpending(c, r))
		emit_movi(&c->e, reg, c->kval[r - 2]);
	else if (ra_global_reg(c, r) != H_NONE)
		emit_mov_rr(&c->e, true, reg, ra_global_reg(c, r));
	else
		load_home(c, r, reg);
}

/* Move whatever is in `reg` elsewhere so the op can use it as a fixed
 * register.  The temp stays in a register if one is free. */
void ra_evict(struct cg *c, int reg)
{
	ir_ref r = c->reg_temp[reg];
	if (!r)
		return;
	uint32_t allowed = ALL_REGS & ~(1u << reg) & ~c->locked;
	for (unsigned i = 0; i < sizeof(alloc_order); i++) {
		int n = alloc_order[i];
		if ((allowed & (1u << n)) && !c->reg_temp[n]) {
			emit_mov_rr(&c->e, true, n, reg);
			c->reg_temp[reg] = 0;
			c->used_regs &= ~(1u << reg);
			alias_move(c, reg, n);
			ra_set_reg(c, r, n);
			return;
		}
	}
	ra_spill_reg(c, reg);
}

/* A register the op may overwrite with its result, holding input a's
 * value.  Reuses a's register when a dies here (dead bit `adead`). */
int ra_dest_from(struct cg *c, ir_ref a, bool adead, ir_ref d, uint32_t allowed)
{
	struct ra_temp *ra = &c->t[a];
	int reg;

	if (ra->reg != H_NONE && (allowed & (1u << ra->reg)) && !(c->locked & (1u << ra->reg)) &&
	    ((adead && T(c, a)->kind == IR_TEMP_LOCAL) || a == d) && ra_may_clobber(c, ra->reg)) {
		reg = ra->reg;
		ra_free_reg(c, reg);
		return reg;
	}
	/* a global read again soon: loaded into a register of its own first */
	if (a != d && only_in_env(c, a) && cg_read_soon(c, a)) {
		int r = ra_load_temp(c, a, ALL_REGS);
		ra_lock(c, r);
		reg = ra_alloc_reg(c, allowed);
		emit_mov_rr(&c->e, true, reg, r);
		return reg;
	}
	reg = ra_alloc_reg(c, allowed);
	if (is_const(c, a))
		emit_movi(&c->e, reg, cval(c, a));
	else if (kpending(c, a))
		emit_movi(&c->e, reg, c->kval[a - 2]);
	else if (T(c, a)->kind == IR_TEMP_ENV)
		emit_mov_rr(&c->e, true, reg, ENV_REG);
	else if (ra_global_reg(c, a) != H_NONE)
		emit_mov_rr(&c->e, true, reg, ra_global_reg(c, a));
	else
		load_home(c, a, reg);
	return reg;
}

/* gen_mov d, a where local a dies in its register: d owns the register
 * from here on, with the globals aliased to it (their value is d's). */
void ra_hand_over(struct cg *c, ir_ref a, ir_ref d)
{
	struct ra_temp *rd = &c->t[d];
	int reg = c->t[a].reg;
	c->t[a].reg = H_NONE;
	c->reg_temp[reg] = 0;
	c->used_regs &= ~(1u << reg);
	forget_value(c, d);
	ra_set_reg(c, d, reg);
	rd->in_mem = 0;
}

/* Bind output d to reg after the op. */
void ra_set_output(struct cg *c, ir_ref d, int reg)
{
	struct ra_temp *rd = &c->t[d];
	if (rd->reg != H_NONE && rd->reg != reg)
		ra_free_reg(c, rd->reg);
#ifdef LOOM_DEBUG
	if (c->alias[reg])
		internal_error("TB 0x%lx: r%d overwritten with globals aliased to it",
			       (unsigned long)c->tb->pc, reg);
#endif
	if (c->reg_temp[reg] && c->reg_temp[reg] != d)
		ra_free_reg(c, reg);
	ra_set_reg(c, d, reg);
	rd->in_mem = 0;
	ra_kdrop(c, d);
	unalias(c, d);
}

/* After the op's code: free registers of inputs that died here.  Outputs
 * nobody reads are freed by gen_op once they are bound. */
void ra_free_dead(struct cg *c, struct ir_op *op)
{
	for (int a = op->nout; a < op->nout + op->nin; a++) {
		if (!(op->dead & (1 << a)))
			continue;
		ir_ref r = op->args[a];
		if (c->t[r].reg != H_NONE)
			ra_free_reg(c, c->t[r].reg);
		release_slot(c, r);
	}
}

/* The globals held in registers, as a set of bits (r - 2), found from the
 * 16 registers rather than by a walk over every global.  Written in ref
 * order, so the code is what a walk over the globals would emit. */
static bool globals_in_regs(struct cg *c, uint64_t *set)
{
	uint32_t end = c->s->nglobals + 2;
	if (end - 2 > 64)
		return false;
	*set = 0;
	for (uint32_t m = c->used_regs; m; m &= m - 1) {
		ir_ref r = c->reg_temp[__builtin_ctz(m)];
		if (r >= 2 && r < end)
			*set |= 1ull << (r - 2);
	}
	return true;
}

void ra_sync_globals(struct cg *c)
{
	uint64_t set;
	ra_kflush_all(c);
	ra_aflush_all(c);
	if (!globals_in_regs(c, &set)) {
		for (ir_ref r = 2; r < c->s->nglobals + 2; r++)
			ra_sync_temp(c, r);
		return;
	}
	for (; set; set &= set - 1)
		ra_sync_temp(c, 2 + __builtin_ctzll(set));
}

/*
 * Right before the one instruction of an op that may fault (user mode),
 * after everything the op needs is allocated: note the fault point, where
 * each dirty global is (faultmap.c), instead of writing them back.  What
 * the table cannot take is written back as before.  Nothing may be emitted
 * between this and the instruction.
 */
void ra_fault_point(struct cg *c)
{
	uint32_t first = c->nfent;
#ifdef LOOM_DEBUG
	for (ir_ref r = 2; r < c->s->nglobals + 2; r++)
		if (!c->t[r].in_mem && !kpending(c, r) && alias_reg(c, r) == H_NONE &&
		    (c->t[r].reg == H_NONE || c->reg_temp[c->t[r].reg] != r))
			internal_error("TB 0x%lx: global %s neither in env nor in a register "
				       "at a fault point", (unsigned long)c->tb->pc, T(c, r)->name);
#endif
	uint64_t set;
	if (!globals_in_regs(c, &set)) {
		ra_sync_globals(c);
		return;
	}
	for (; set; set &= set - 1) {
		ir_ref r = 2 + __builtin_ctzll(set);
		if (!c->t[r].in_mem && !fmap_add(c, c->t[r].reg, T(c, r)->env_off))
			ra_sync_temp(c, r);
	}
	for (uint64_t k = c->kpend; k; k &= k - 1) {
		ir_ref r = 2 + __builtin_ctzll(k);
		if (!fmap_add_const(c, T(c, r)->env_off, c->kval[r - 2]))
			kflush(c, r);
	}
	for (int reg = 0; c->apend && reg < 16; reg++) {
		for (uint64_t m = c->alias[reg]; m; m &= m - 1) {
			ir_ref r = 2 + __builtin_ctzll(m);
			if (!fmap_add(c, reg, T(c, r)->env_off))
				ra_sync_temp(c, r);
		}
	}
	fmap_point(c, first);
}

void ra_drop_globals(struct cg *c)
{
	c->kpend = 0;	/* (written back before any call that writes globals) */
	c->apend = 0;
	memset(c->alias, 0, sizeof(c->alias));
	for (uint32_t m = c->used_regs; m; m &= m - 1) {
		int reg = __builtin_ctz(m);
		ir_ref r = c->reg_temp[reg];
		if (r >= 2 && r < c->s->nglobals + 2)
			ra_free_reg(c, reg);
	}
}

/* Block end: globals and TB-wide locals to memory; optionally forget all. */
void ra_sync_all(struct cg *c, bool forget)
{
#ifdef LOOM_DEBUG
	for (int reg = 0; reg < 16; reg++)
		if (!c->reg_temp[reg] != !(c->used_regs & (1u << reg)))
			internal_error("register allocator: used_regs out of step at r%d", reg);
#endif
	ra_kflush_all(c);
	ra_aflush_all(c);
	for (uint32_t m = c->used_regs; m; m &= m - 1) {	/* in register order */
		int reg = __builtin_ctz(m);
		ir_ref r = c->reg_temp[reg];
		if (is_global(c, r) || T(c, r)->tb_wide)
			ra_sync_temp(c, r);
		if (forget)
			ra_free_reg(c, reg);
	}
}

/*
 * What ra_sync_all(c, false) would store, recorded in ss for a brcond's
 * taken side (codegen.c: gen_brcond), the state left as it is: the
 * fall-through goes on with its registers dirty and stores them where
 * its own block ends.  Without locals, the TB-wide locals are left out
 * (the label's code reads none), and so are the globals in dead (kbit
 * masks: the label's code discards them).  False (nothing recorded) when
 * the table is full.
 */
bool ra_sync_record(struct cg *c, struct side_sync *ss, bool locals, uint64_t dead)
{
	uint32_t n = __builtin_popcountll(c->kpend) + __builtin_popcountll(c->apend) +
		     __builtin_popcount(c->used_regs);
	if (c->nsstore + n > MAX_SIDE_STORES)
		return false;
	ss->first = c->nsstore;
	for (uint64_t k = c->kpend & ~dead; k; k &= k - 1) {
		ir_ref r = 2 + __builtin_ctzll(k);
		c->sstore[c->nsstore++] = (struct side_store){ H_NONE, ENV_REG, T(c, r)->env_off,
							      (int32_t)c->kval[r - 2] };
	}
	for (int reg = 0; c->apend && reg < 16; reg++)
		for (uint64_t m = c->alias[reg] & ~dead; m; m &= m - 1)
			c->sstore[c->nsstore++] = (struct side_store){
				reg, ENV_REG, T(c, 2 + __builtin_ctzll(m))->env_off, 0 };
	for (uint32_t m = c->used_regs; m; m &= m - 1) {
		int reg = __builtin_ctz(m);
		ir_ref r = c->reg_temp[reg];
		if ((!is_global(c, r) && (!T(c, r)->tb_wide || !locals)) || c->t[r].in_mem ||
		    is_const(c, r) || (kbit(r) & dead))
			continue;
		c->sstore[c->nsstore++] = is_global(c, r)
			? (struct side_store){ reg, ENV_REG, T(c, r)->env_off, 0 }
			: (struct side_store){ reg, H_RSP, slot_off(c, r), 0 };
	}
	ss->n = c->nsstore - ss->first;
	if (ss->n)	/* the stores and their jump on */
		c->slow_bytes += ss->n * SIDE_STORE_BYTES + 5;
	return true;
}

/* After a label every global and TB-wide local is in memory. */
void ra_reset_after_label(struct cg *c)
{
#ifdef LOOM_DEBUG
	if (c->apend)
		internal_error("TB 0x%lx: globals aliased to registers at a label",
			       (unsigned long)c->tb->pc);
#endif
	for (ir_ref r = 2; r < c->s->nglobals + 2; r++)
		c->t[r].in_mem = 1;
	for (uint32_t i = 0; i < c->nwide; i++)
		c->t[c->wide[i]].in_mem = 1;
}

