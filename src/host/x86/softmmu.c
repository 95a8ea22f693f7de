/*
 * The soft-MMU lowering of guest memory ops (whole-system mode; host.h's
 * host_softmmu_layout, docs/softmmu.md): the inline TLB probe before each
 * load, store and atomic op, and the out-of-line slow paths that call the
 * miss helpers, emitted after the TB's body.  codegen.c's gen_load,
 * gen_store and gen_atomic call in here when cg_config.softmmu_on; user
 * mode never does, and its code does not change with this file.
 *
 * Invariant: the hit path between a probe and its resume point leaves the
 * allocator's state as the probe found it (values are in their registers
 * before the probe), so the slow path, which returns to the resume point,
 * joins code that agrees with it about every register.
 *
 * A hit cannot fault (the TLB promises RAM the context may touch), so the
 * guest globals a fault must see in env are written back on the slow path
 * alone, just before its call: the registers that hold them at the probe
 * and the constants pending there (regalloc.c).  The hit path stores none
 * (in user mode, where any access may fault, each access is a fault point
 * instead: faultmap.c).
 */
#include "host/x86/codegen-internal.h"

static int softmmu_mmu(struct cg *c)
{
	return (c->tb->flags >> c->cfg->softmmu.mmu_shift) & c->cfg->softmmu.mmu_mask;
}

static struct slow_path *slow_new(struct cg *c)
{
	if (c->nslow >= MAX_SLOW_PATHS) {
		c->overflow = true;	/* the code is discarded (host_gen_code) */
		return &c->slow[0];
	}
	c->slow_bytes += SLOW_PATH_MAX_BYTES;
	return &c->slow[c->nslow++];
}

/* The probe: on a hit leaves the entry's addend in t1 and falls through
 * (the access is then one instruction, at [t1 + addr_reg]); on a miss
 * branches to sp's path.  addr_reg, t0 and t1 are locked.  The page
 * compare uses the access's last byte, so one crossing into the next page
 * misses too. */
static void emit_tlb_probe(struct cg *c, struct slow_path *sp, int addr_reg, int size,
			   int32_t tag_off, int t0, int t1)
{
	const struct host_softmmu_layout *l = &c->cfg->softmmu;
	int32_t base = l->tlb_off + softmmu_mmu(c) * l->mmu_stride;
	sp->probe_rx = emit_rx(&c->e, c->e.p);
	if (c->cfg->host_has_bmi2) {
		/* rorx: the copy and the shift in one instruction (the bits
		 * rotated in at the top are masked off below) */
		emit_vex_rr(&c->e, OPC_RORX, t0, 0, addr_reg);
		emit8(&c->e, l->page_bits - l->entry_shift);
	} else {
		emit_mov_rr(&c->e, true, t0, addr_reg);
		emit_shift_ri(&c->e, SHIFT_SHR, true, t0, l->page_bits - l->entry_shift);
	}
	emit_arith_ri(&c->e, ARITH_AND, false, t0,
		      ((1 << l->index_bits) - 1) << l->entry_shift);
	if (size)
		emit_lea(&c->e, true, t1, addr_reg, H_NONE, 0, (1 << size) - 1);
	else
		emit_mov_rr(&c->e, true, t1, addr_reg);
	emit_arith_ri(&c->e, ARITH_AND, true, t1, -(1 << l->page_bits));
	emit_modrm_sib(&c->e, OPC_ARITH_GvEv | (ARITH_CMP << 3) | P_REXW, t1, ENV_REG, t0, 0,
		       base + tag_off);
	sp->jne_field = emit_jcc32(&c->e, CC_NE);
	emit_modrm_sib(&c->e, OPC_MOVL_GvEv | P_REXW, t1, ENV_REG, t0, 0, base + l->addend_off);
}

/* Note the registers that hold guest globals not written back yet, for
 * sp's path to store (after every register the op needs is allocated:
 * what allocation spilled is in env already). */
static void slow_note_globals(struct cg *c, struct slow_path *sp)
{
	/* Pending constants too; more than the path has room for are
	 * stored here, on the hit path. */
	if (__builtin_popcountll(c->kpend) > SLOW_PATH_MAX_K)
		ra_kflush_all(c);
	sp->nk = 0;
	for (uint64_t k = c->kpend; k; k &= k - 1) {
		ir_ref r = 2 + __builtin_ctzll(k);
		sp->koff[sp->nk] = T(c, r)->env_off;
		sp->kval[sp->nk++] = c->kval[r - 2];
		c->slow_bytes += SLOW_PATH_CONST_BYTES;
	}
	sp->gdirty = 0;
	for (int reg = 0; reg < 16; reg++) {
		ir_ref r = c->reg_temp[reg];
		if (r && is_global(c, r) && !c->t[r].in_mem) {
			sp->gdirty |= 1u << reg;
			sp->goff[reg] = T(c, r)->env_off;
			c->slow_bytes += SLOW_PATH_GLOBAL_BYTES;
		}
	}
	/* And the globals aliased to registers: on this path too, unless
	 * there are more than it has room for. */
	if (__builtin_popcountll(c->apend) > SLOW_PATH_MAX_A)
		ra_aflush_all(c);
	sp->na = 0;
	for (int reg = 0; c->apend && reg < 16; reg++) {
		for (uint64_t m = c->alias[reg]; m; m &= m - 1) {
			sp->areg[sp->na] = reg;
			sp->aoff[sp->na++] = T(c, 2 + __builtin_ctzll(m))->env_off;
			c->slow_bytes += SLOW_PATH_GLOBAL_BYTES;
		}
	}
}

/* Caller-saved registers holding live values at the probe, but `except`. */
static uint32_t slow_saved(struct cg *c, int except)
{
	uint32_t m = 0;
	for (int reg = 0; reg < 16; reg++)
		if ((CALLER_SAVED & (1u << reg)) && c->reg_temp[reg] && reg != except)
			m |= 1u << reg;
	return m;
}

/* A guest memory op's common start: forget XMM caches (the helper may clobber them), put the address in a register
 * and take two scratch registers. */
static int softmmu_begin(struct cg *c, struct ir_op *op, int *t0, int *t1)
{
	cg_xcache_clear(c);
	int ra = ra_load_temp(c, op->args[op->nout + (op->opc == IR_store ? 1 : 0)], ALL_REGS);
	ra_lock(c, ra);
	*t0 = ra_alloc_reg(c, ALL_REGS);
	ra_lock(c, *t0);
	*t1 = ra_alloc_reg(c, ALL_REGS);
	ra_lock(c, *t1);
	return ra;
}

void softmmu_load(struct cg *c, struct ir_op *op)
{
	int memop = op->cargs[0], size = memop & IR_MO_SIZE;
	bool sign = memop & IR_MO_SIGN;
	int t0, t1;
	int ra = softmmu_begin(c, op, &t0, &t1);
	int rd = dead_arg(op, 1) && T(c, op->args[1])->kind == IR_TEMP_LOCAL && ra_may_clobber(c, ra)
		 ? ra : ra_alloc_reg(c, ALL_REGS);
	ra_lock(c, rd);
	struct slow_path *sp = slow_new(c);
	*sp = (struct slow_path){ .kind = SLOW_LD, .addr_reg = ra, .out_reg = rd, .memop = memop,
				  .i32 = op->type == IR_I32, .oi = memop | softmmu_mmu(c) << 8,
				  .saved = slow_saved(c, rd) };
	slow_note_globals(c, sp);
	emit_tlb_probe(c, sp, ra, size, c->cfg->softmmu.read_off, t0, t1);
	if (sign && op->type == IR_I32 && size < 2)
		emit_modrm_sib(&c->e, size ? OPC_MOVSWL : OPC_MOVSBL, rd, t1, ra, 0, 0);
	else
		emit_load_idx(&c->e, size, sign && !(op->type == IR_I32 && size == 2), rd, t1, ra,
			      0, 0);
	sp->resume_rx = emit_rx(&c->e, c->e.p);
	ra_free_dead(c, op);
	ra_set_output(c, op->args[0], rd);
}

void softmmu_store(struct cg *c, struct ir_op *op)
{
	int memop = op->cargs[0], size = memop & IR_MO_SIZE;
	ir_ref v = op->args[0];
	int t0, t1;
	int ra = softmmu_begin(c, op, &t0, &t1);
	struct slow_path *sp = slow_new(c);
	*sp = (struct slow_path){ .kind = SLOW_ST, .addr_reg = ra, .val_reg = H_NONE,
				  .oi = memop | softmmu_mmu(c) << 8 };
	/* The value is in place before the probe: the hit path between the
	 * probe and the resume point must not change the allocator's state. */
	bool imm = is_const(c, v) && (size < 3 || fits_imm(c, v, IR_I64));
	if (imm) {
		sp->val = cval(c, v);
	} else {
		sp->val_reg = ra_load_temp(c, v, ALL_REGS);
		ra_lock(c, sp->val_reg);
	}
	sp->saved = slow_saved(c, H_NONE);
	slow_note_globals(c, sp);
	emit_tlb_probe(c, sp, ra, size, c->cfg->softmmu.write_off, t0, t1);
	if (imm)
		emit_store_imm_idx(&c->e, size, sp->val, t1, ra, 0, 0);
	else
		emit_store_idx(&c->e, size, sp->val_reg, t1, ra, 0, 0);
	sp->resume_rx = emit_rx(&c->e, c->e.p);
	ra_free_dead(c, op);
}

/* cmpxchg/xchg/xadd: the probe (write tag) or the helper gives the host
 * address; the locked instruction then runs on it as in user mode. */
int softmmu_rmw_addr(struct cg *c, struct ir_op *op)
{
	int size = op->cargs[0] & IR_MO_SIZE;
	int t0, t1;
	if (op->opc == IR_cmpxchg) {	/* rax is the instruction's */
		ra_lock(c, H_RAX);
		ra_evict(c, H_RAX);
	}
	int ra = softmmu_begin(c, op, &t0, &t1);
	struct slow_path *sp = slow_new(c);
	*sp = (struct slow_path){ .kind = SLOW_RMW, .addr_reg = ra, .out_reg = t1,
				  .oi = (op->cargs[0] & IR_MO_SIZE) | softmmu_mmu(c) << 8,
				  .saved = slow_saved(c, t1) };
	slow_note_globals(c, sp);
	emit_tlb_probe(c, sp, ra, size, c->cfg->softmmu.write_off, t0, t1);
	emit_arith_rr(&c->e, ARITH_ADD, true, t1, ra);
	sp->resume_rx = emit_rx(&c->e, c->e.p);
	c->locked &= ~(1u << t0);
	return t1;
}

/* The miss paths, after the body: save what lives in caller-saved
 * registers, call the helper with the probe's pc, restore, go back. */
void softmmu_emit_slow_paths(struct cg *c)
{
	for (uint32_t i = 0; i < c->nslow; i++) {
		struct slow_path *sp = &c->slow[i];
		emit_patch_rel32(sp->jne_field, &c->e, emit_rx(&c->e, c->e.p));
		for (int reg = 0; reg < 16; reg++)
			if (sp->gdirty & (1u << reg))
				emit_store(&c->e, 3, reg, ENV_REG, sp->goff[reg]);
		for (int k = 0; k < sp->nk; k++)
			emit_store_imm(&c->e, 3, sp->kval[k], ENV_REG, sp->koff[k]);
		for (int k = 0; k < sp->na; k++)
			emit_store(&c->e, 3, sp->areg[k], ENV_REG, sp->aoff[k]);
		int nsaved = 0;
		for (int reg = 0; reg < 16; reg++) {
			if (sp->saved & (1u << reg)) {
				emit_push(&c->e, reg);
				nsaved++;
			}
		}
		if (nsaved & 1)
			emit_arith_ri(&c->e, ARITH_SUB, true, H_RSP, 8);
		if (c->cfg->pin_off)	/* the helper may unwind: the counter must be exact */
			cg_pin_flush_always(c);	/* out of line: the body's state is not this point's */
		/* Arguments through the stack: the sources may be argument
		 * registers themselves. */
		emit_push(&c->e, sp->addr_reg);
		if (sp->kind == SLOW_ST) {
			if (sp->val_reg != H_NONE)
				emit_push(&c->e, sp->val_reg);
			else
				emit_push(&c->e, sp->addr_reg);	/* a placeholder */
			emit_pop(&c->e, H_RDX);
			if (sp->val_reg == H_NONE)
				emit_movi(&c->e, H_RDX, sp->val);
		}
		emit_pop(&c->e, H_RSI);
		emit_mov_rr(&c->e, true, H_RDI, ENV_REG);
		int oi_reg = sp->kind == SLOW_ST ? H_RCX : H_RDX;
		int hpc_reg = sp->kind == SLOW_ST ? H_R8 : H_RCX;
		emit_movi(&c->e, oi_reg, sp->oi);
		emit_modrm_rip(&c->e, OPC_LEA | P_REXW, hpc_reg, sp->probe_rx, 0);
		uintptr_t fn = sp->kind == SLOW_LD ? (uintptr_t)c->cfg->softmmu.ld_helper
			       : sp->kind == SLOW_ST ? (uintptr_t)c->cfg->softmmu.st_helper
			       : (uintptr_t)c->cfg->softmmu.rmw_helper;
		cg_call_far(c, fn);
		if (sp->kind == SLOW_LD) {
			int size = sp->memop & IR_MO_SIZE;
			bool sign = sp->memop & IR_MO_SIGN;
			if (sp->i32 && size == 2)
				emit_mov_rr(&c->e, false, sp->out_reg, H_RAX);
			else if (sp->i32 && sign && size < 2)	/* as movsbl/movswl */
				emit_modrm(&c->e, size ? OPC_MOVSWL : OPC_MOVSBL, sp->out_reg, H_RAX);
			else if (size < 3)
				emit_ext(&c->e, size, sign, sp->out_reg, H_RAX);
			else
				emit_mov_rr(&c->e, true, sp->out_reg, H_RAX);
		} else if (sp->kind == SLOW_RMW) {
			emit_mov_rr(&c->e, true, sp->out_reg, H_RAX);
		}
		if (nsaved & 1)
			emit_arith_ri(&c->e, ARITH_ADD, true, H_RSP, 8);
		for (int reg = 15; reg >= 0; reg--)
			if (sp->saved & (1u << reg))
				emit_pop(&c->e, reg);
		emit_patch_rel32(emit_jmp32(&c->e), &c->e, sp->resume_rx);
	}
}
