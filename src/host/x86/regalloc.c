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
 *    memory; after a label no register holds anything;
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

void ra_set_kconst(struct cg *c, ir_ref d, uint64_t v)
{
	if (c->t[d].reg != H_NONE)
		ra_free_reg(c, c->t[d].reg);
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

void ra_free_reg(struct cg *c, int reg)
{
	ir_ref r = c->reg_temp[reg];
	if (r) {
		c->t[r].reg = H_NONE;
		c->reg_temp[reg] = 0;
		c->used_regs &= ~(1u << reg);
	}
}

/* Write r's register copy to its home if the home is stale. */
void ra_sync_temp(struct cg *c, ir_ref r)
{
	struct ra_temp *rt = &c->t[r];
	if (rt->reg != H_NONE && !rt->in_mem && !is_const(c, r)) {
		store_home(c, r, rt->reg);
		rt->in_mem = 1;
	}
}

/* Empty a register, keeping the value it holds reachable. */
void ra_spill_reg(struct cg *c, int reg)
{
	ir_ref r = c->reg_temp[reg];
	if (!r)
		return;
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
	/* No free register: spill the last one in allocation order (the
	 * caller-saved ones, which a call would lose anyway). */
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
		ra_set_reg(c, r, reg);
		return reg;
	}
	reg = ra_alloc_reg(c, allowed);
	if (is_const(c, r)) {
		emit_movi(&c->e, reg, cval(c, r));
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
	else if (c->t[r].reg != H_NONE)
		emit_mov_rr(&c->e, true, reg, c->t[r].reg);
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
	    ((adead && T(c, a)->kind == IR_TEMP_LOCAL) || a == d)) {
		reg = ra->reg;
		ra_free_reg(c, reg);
		return reg;
	}
	reg = ra_alloc_reg(c, allowed);
	if (is_const(c, a))
		emit_movi(&c->e, reg, cval(c, a));
	else if (kpending(c, a))
		emit_movi(&c->e, reg, c->kval[a - 2]);
	else if (T(c, a)->kind == IR_TEMP_ENV)
		emit_mov_rr(&c->e, true, reg, ENV_REG);
	else if (ra->reg != H_NONE)
		emit_mov_rr(&c->e, true, reg, ra->reg);
	else
		load_home(c, a, reg);
	return reg;
}

/* Bind output d to reg after the op. */
void ra_set_output(struct cg *c, ir_ref d, int reg)
{
	struct ra_temp *rd = &c->t[d];
	if (rd->reg != H_NONE && rd->reg != reg)
		ra_free_reg(c, rd->reg);
	if (c->reg_temp[reg] && c->reg_temp[reg] != d)
		ra_free_reg(c, reg);
	ra_set_reg(c, d, reg);
	rd->in_mem = 0;
	ra_kdrop(c, d);
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
		if (!c->t[r].in_mem && !kpending(c, r) &&
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
	fmap_point(c, first);
}

void ra_drop_globals(struct cg *c)
{
	c->kpend = 0;	/* (written back before any call that writes globals) */
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
	for (uint32_t m = c->used_regs; m; m &= m - 1) {	/* in register order */
		int reg = __builtin_ctz(m);
		ir_ref r = c->reg_temp[reg];
		if (is_global(c, r) || T(c, r)->tb_wide)
			ra_sync_temp(c, r);
		if (forget)
			ra_free_reg(c, reg);
	}
}

/* After a label every global and TB-wide local is in memory. */
void ra_reset_after_label(struct cg *c)
{
	for (ir_ref r = 2; r < c->s->nglobals + 2; r++)
		c->t[r].in_mem = 1;
	for (uint32_t i = 0; i < c->nwide; i++)
		c->t[c->wide[i]].in_mem = 1;
}

