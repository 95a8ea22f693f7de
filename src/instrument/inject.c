/*
 * Translation-time instrumentation: after the frontend lifts a TB, describe
 * its instructions to the plugins' tb_trans callbacks, collect what they
 * register, and rebuild the TB's op list with the instrumentation inserted
 * as IR — before the optimizer, so it is optimized and register-allocated
 * with the guest code.
 *
 *   inline ADD/STORE       ld_ptr/add/st_ptr on the vCPU's scoreboard region
 *                          (an IR global holds its address): no call
 *   TB/insn callbacks      a call of a dispatcher helper after the insn's
 *                          insn_start, flagged by what the callback may do
 *                          to registers (NO_REGS: nothing is written back)
 *   conditional callbacks  ld_ptr + brcond around the call
 *   memory callbacks       after each guest access of the instruction, with
 *                          the value stored in instrument_vcpu.plugin_mem_val
 *   loom TB entry/exit     before the first instruction / before each way
 *                          out of the TB after its last one
 *
 * Invariant: a callback that may read registers sees the exact guest state
 * at the start of its instruction: the backend writes globals back before
 * the call and the pc global is set to the instruction's address.  One that
 * may write registers is placed at an instruction boundary across which the
 * frontend carried no knowledge (guest_translate's sync_insns: the TB is
 * lifted again once such a callback is known).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "guest/guest.h"
#include "instrument/afl.h"
#include "instrument/plugin-internal.h"
#include "exec/guest-mem.h"
#include "util/log.h"

/* ---- callback records: referenced by generated code, freed by flushes ---- */

#define POOL_CHUNK 4096
struct pool {
	struct pool *next;
	unsigned used;
	struct cbrec recs[POOL_CHUNK];
};
static struct pool *pool;

static struct cbrec *new_rec(const struct dyn *d, void *fn, void *udata)
{
	if (!pool || pool->used == POOL_CHUNK) {
		struct pool *p = malloc(sizeof(*p));
		if (!p)
			internal_error("out of memory for plugin callbacks");
		p->next = pool;
		p->used = 0;
		pool = p;
	}
	struct cbrec *r = &pool->recs[pool->used++];
	*r = (struct cbrec){ fn, udata, d ? d->p : NULL, d ? d->flags : 0 };
	return r;
}

void inject_flush(void)
{
	while (pool) {
		struct pool *next = pool->next;
		free(pool);
		pool = next;
	}
}

/* ---- dispatchers: the helpers generated code calls ---- */

static inline uint32_t enter(struct instrument_vcpu *iv, const struct cbrec *r)
{
	uint32_t old = iv->plugin_flags;
	plugin_caller = r->p;
	iv->plugin_flags = r->flags + 1;
	return old;
}

static void dispatch_cb(uint64_t env, uint64_t rec)
{
	const struct cbrec *r = (const void *)(uintptr_t)rec;
	struct cpu_exec *x = guest_exec_state((void *)(uintptr_t)env);
	struct instrument_vcpu *iv = instrument_vcpu((void *)(uintptr_t)env);
	if (!r->p->enabled)
		return;		/* its translations are about to go */
	uint32_t old = enter(iv, r);
	((qemu_plugin_vcpu_udata_cb_t)r->fn)(x->cpu_index, r->udata);
	iv->plugin_flags = old;
}

static void dispatch_mem(uint64_t env, uint64_t rec, uint64_t info, uint64_t vaddr)
{
	const struct cbrec *r = (const void *)(uintptr_t)rec;
	struct cpu_exec *x = guest_exec_state((void *)(uintptr_t)env);
	struct instrument_vcpu *iv = instrument_vcpu((void *)(uintptr_t)env);
	if (!r->p->enabled)
		return;
	uint32_t old = enter(iv, r);
	((qemu_plugin_vcpu_mem_cb_t)r->fn)(x->cpu_index, (qemu_plugin_meminfo_t)info, vaddr,
					   r->udata);
	iv->plugin_flags = old;
}

static void dispatch_tb(uint64_t env, uint64_t rec, uint64_t tb_vaddr)
{
	const struct cbrec *r = (const void *)(uintptr_t)rec;
	struct cpu_exec *x = guest_exec_state((void *)(uintptr_t)env);
	struct instrument_vcpu *iv = instrument_vcpu((void *)(uintptr_t)env);
	if (!r->p->enabled)
		return;
	uint32_t old = enter(iv, r);
	((loom_plugin_vcpu_tb_cb_t)r->fn)(x->cpu_index, tb_vaddr, r->udata);
	iv->plugin_flags = old;
}

/* One row per dispatcher and register-access flag, in the order of enum
 * qemu_plugin_cb_flags: what the backend must write back before the call
 * and forget after it. */
#define FL_NO IR_CALL_NO_GLOBALS
#define FL_R IR_CALL_NO_WRITE_GLOBALS
#define FL_RW 0
#define FL_PC IR_CALL_MAY_FAULT
enum { H_CB = 0, H_MEM = 4, H_TB = 8 };
static const struct ir_helper plugin_helpers[] = {
	{ "plugin_cb", dispatch_cb, FL_NO, 2, false },
	{ "plugin_cb_r", dispatch_cb, FL_R, 2, false },
	{ "plugin_cb_rw", dispatch_cb, FL_RW, 2, false },
	{ "plugin_cb_rwpc", dispatch_cb, FL_PC, 2, false },
	{ "plugin_mem", dispatch_mem, FL_NO, 4, false },
	{ "plugin_mem_r", dispatch_mem, FL_R, 4, false },
	{ "plugin_mem_rw", dispatch_mem, FL_RW, 4, false },
	{ "plugin_mem_rwpc", dispatch_mem, FL_PC, 4, false },
	{ "plugin_tb", dispatch_tb, FL_NO, 3, false },
	{ "plugin_tb_r", dispatch_tb, FL_R, 3, false },
	{ "plugin_tb_rw", dispatch_tb, FL_RW, 3, false },
	{ "plugin_tb_rwpc", dispatch_tb, FL_PC, 3, false },
};
static uint32_t helper_base;
static int32_t cpu_index_off;	/* env offset of cpu_exec.cpu_index */

/* NO_REGS callbacks are called directly, without a dispatcher: the plugin's
 * function gets a row of its own in the helper table (one per function). */
#define MAX_DIRECT 256
static struct {
	void *fn;
	uint32_t helper;
} direct[MAX_DIRECT];
static int ndirect;

static int direct_helper(struct ir_ctx *ir, void *fn, int nargs)
{
	for (int i = 0; i < ndirect; i++)
		if (direct[i].fn == fn && ir->helpers[direct[i].helper].nargs == nargs)
			return direct[i].helper;
	if (ndirect == MAX_DIRECT)
		return -1;
	struct ir_helper h = { "plugin_direct", fn, IR_CALL_NO_GLOBALS, (uint8_t)nargs, false };
	direct[ndirect].fn = fn;
	direct[ndirect].helper = ir_add_helpers(ir, &h, 1);
	return direct[ndirect++].helper;
}
static int32_t mem_val_off;	/* env offset of instrument_vcpu.plugin_mem_val */

void instrument_ir_init(struct ir_ctx *ir)
{
	afl_ir_init(ir);	/* AFL++ mode's helpers (afl.c) */
	ir->fp_track = instrument_wants_arena();	/* plugins are loaded */
	if (ir->fp_track)
		ir->pin_counter_off = sb_env_off;	/* scoreboard 1, entry 0 */
	helper_base = ir_add_helpers(ir, plugin_helpers,
				     sizeof(plugin_helpers) / sizeof(plugin_helpers[0]));
	int32_t x = guest_exec_offset();
	mem_val_off = instrument_vcpu_off + (int32_t)offsetof(struct instrument_vcpu, plugin_mem_val);
	cpu_index_off = x + (int32_t)offsetof(struct cpu_exec, cpu_index);
}

/* ---- the TB as plugins see it ---- */

static struct qemu_plugin_tb ptb;	/* translation runs under tb_lock */

bool inject_tb_ok(const struct qemu_plugin_tb *tb, const char *fn)
{
	if (tb && tb->p)
		return true;
	if (log_enabled(LOG_PLUGIN))
		log_printf("loom: plugin: %s called outside a translation callback\n", fn);
	return false;
}

void inject_add(struct qemu_plugin_tb *tb, struct qemu_plugin_insn *insn, const struct dyn *src)
{
	struct dyn *d = malloc(sizeof(*d));
	if (!d)
		internal_error("out of memory for instrumentation");
	*d = *src;
	d->p = tb->p;
	d->next = NULL;
	if (insn) {
		*insn->dyn_tail = d;
		insn->dyn_tail = &d->next;
	} else {
		*tb->dyn_tail = d;
		tb->dyn_tail = &d->next;
	}
}

static void free_dyns(struct dyn *d)
{
	while (d) {
		struct dyn *next = d->next;
		free(d);
		d = next;
	}
}

static void describe_tb(struct ir_ctx *ir, struct tb *tb)
{
	ptb.vaddr = tb->pc;
	ptb.n = 0;
	ptb.p = NULL;
	ptb.dyn = NULL;
	ptb.dyn_tail = &ptb.dyn;
	for (uint32_t i = 0; i < ir->nops && ptb.n < PLUGIN_TB_MAX_INSNS; i++) {
		const struct ir_op *op = &ir->ops[i];
		if (op->opc != IR_insn_start)
			continue;
		struct qemu_plugin_insn *in = &ptb.insns[ptb.n++];
		in->vaddr = op->cargs[0];
		/* A TB's instructions all start on its first page. */
		in->phys = tb->phys_pc + (in->vaddr - tb->pc);
		in->size = op->cargs[1] > 15 ? 15 : op->cargs[1];
		in->tb = &ptb;
		in->dyn = NULL;
		in->dyn_tail = &in->dyn;
		in->have_data = false;	/* copied when a plugin asks */
	}
}

/* ---- emitting IR ---- */

static ir_ref c64(struct ir_ctx *ir, uint64_t v) { return ir_const(ir, IR_I64, v); }

/* An entry of the executing vCPU, from env: its scoreboard region lies
 * at sb_env_off in its exec slot. */
static int64_t entry_offset(qemu_plugin_u64 e)
{
	return (int64_t)sb_env_off + (int64_t)(e.score->off + e.offset);
}

/* Inline ADDs are not stored one by one: a counter bumped by every
 * instruction would be a chain of read-modify-writes of one memory word,
 * each waiting for the last.  Adds accumulate here and are written (one
 * ld_ptr/add/st_ptr per entry) before anything that could observe the
 * counters or leave the straight-line code: a callback, a guest access
 * that may fault, a branch, a label, a TB exit. */
#define MAX_PENDING 8
static struct pending {
	int64_t off;
	uint64_t sum;
} pending[MAX_PENDING];
static int npending;

static void flush_pending(struct ir_ctx *ir)
{
	for (int i = 0; i < npending; i++) {
		ir_ref t = ir_new_temp(ir, IR_I64), u = ir_new_temp(ir, IR_I64);
		ir_emit(ir, IR_ld_env, IR_I64, (ir_ref[]){ t },
			(int64_t[]){ pending[i].off, IR_MO_64 });
		ir_op2(ir, IR_add, IR_I64, u, t, c64(ir, pending[i].sum));
		ir_emit(ir, IR_st_env, IR_I64, (ir_ref[]){ u },
			(int64_t[]){ pending[i].off, IR_MO_64 });
	}
	npending = 0;
}

/* A version 1 inline op: on a plain counter in the plugin's memory,
 * shared by every vCPU, at once (never pending: the fault fix-up table
 * knows scoreboard entries only). */
static void emit_inline_ptr(struct ir_ctx *ir, const struct dyn *d)
{
	ir_ref p = c64(ir, (uintptr_t)d->ptr), v = c64(ir, d->imm);
	if (d->op == QEMU_PLUGIN_INLINE_ADD_U64) {
		ir_ref t = ir_new_temp(ir, IR_I64);
		v = ir_new_temp(ir, IR_I64);
		ir_emit(ir, IR_ld_ptr, IR_I64, (ir_ref[]){ t, p }, (int64_t[]){ 0, IR_MO_64 });
		ir_op2(ir, IR_add, IR_I64, v, t, c64(ir, d->imm));
	}
	ir_emit(ir, IR_st_ptr, IR_I64, (ir_ref[]){ v, p }, (int64_t[]){ 0, IR_MO_64 });
}

static void emit_inline(struct ir_ctx *ir, const struct dyn *d)
{
	if (d->ptr) {
		emit_inline_ptr(ir, d);
		return;
	}
	int64_t off = entry_offset(d->entry);
	if (d->op == QEMU_PLUGIN_INLINE_STORE_U64) {
		flush_pending(ir);
		ir_emit(ir, IR_st_env, IR_I64, (ir_ref[]){ c64(ir, d->imm) },
			(int64_t[]){ off, IR_MO_64 });
		return;
	}
	for (int i = 0; i < npending; i++) {
		if (pending[i].off == off) {
			pending[i].sum += d->imm;
			return;
		}
	}
	if (npending == MAX_PENDING)
		flush_pending(ir);
	pending[npending++] = (struct pending){ off, d->imm };
}

/* Must the pending adds be written before op?  Guest accesses that may
 * fault need not: a fault in instruction k stores what was pending at k
 * from the TB's fix-up table (instrument_fault_fixup). */
static bool observes(const struct ir_op *op)
{
	unsigned f = ir_opdefs[op->opc].flags;
	return (f & (IR_OPF_BB_END | IR_OPF_TB_END | IR_OPF_CALL)) || op->opc == IR_goto_tb;
}

/* Does op leave the TB? */
static bool leaves_tb(const struct ir_op *op)
{
	return (ir_opdefs[op->opc].flags & IR_OPF_TB_END) || op->opc == IR_goto_tb;
}

/* The fix-up table: for each instruction during which adds are pending,
 * what is pending from before it and what it added itself. */
struct fix {
	uint32_t insn;
	int32_t off;
	uint64_t before, own;
};
struct fix_table {
	uint32_t n;
	struct fix f[];
};
static struct fix *fixes;
static uint32_t nfixes, cap_fixes;

static void add_fix(uint32_t insn, int64_t off, uint64_t before, uint64_t own)
{
	if (nfixes == cap_fixes) {
		cap_fixes = cap_fixes ? 2 * cap_fixes : 64;
		fixes = realloc(fixes, cap_fixes * sizeof(*fixes));
		if (!fixes)
			internal_error("out of memory instrumenting a TB");
	}
	fixes[nfixes++] = (struct fix){ insn, (int32_t)off, before, own };
}

void instrument_fault_fixup(void *cpu, struct tb *tb, int insn, bool own)
{
	const struct fix_table *t = tb->instr_fix;
	for (uint32_t i = 0; i < t->n; i++) {
		const struct fix *f = &t->f[i];
		if (f->insn == (uint32_t)insn)
			*(uint64_t *)((uint8_t *)cpu + f->off) += f->before + (own ? f->own : 0);
	}
}

static const enum ir_cond cond_map[] = {
	[QEMU_PLUGIN_COND_EQ] = IR_EQ, [QEMU_PLUGIN_COND_NE] = IR_NE,
	[QEMU_PLUGIN_COND_LT] = IR_LTU, [QEMU_PLUGIN_COND_LE] = IR_LEU,
	[QEMU_PLUGIN_COND_GT] = IR_GTU, [QEMU_PLUGIN_COND_GE] = IR_GEU,
};

/* A call of dispatcher `kind` for d (or a TB hook), guarded by d's
 * condition.  args after env and the record. */
static void emit_call(struct ir_ctx *ir, int kind, unsigned flags, const struct dyn *cond_d,
		      struct cbrec *rec, uint64_t pc, const ir_ref *extra, int nextra)
{
	uint32_t skip = 0;
	flush_pending(ir);	/* the callback may read the counters */
	if (cond_d && cond_d->cond != QEMU_PLUGIN_COND_ALWAYS) {
		if (cond_d->cond == QEMU_PLUGIN_COND_NEVER || cond_d->cond > QEMU_PLUGIN_COND_GE)
			return;
		ir_ref t = ir_new_temp(ir, IR_I64);
		ir_emit(ir, IR_ld_env, IR_I64, (ir_ref[]){ t },
			(int64_t[]){ entry_offset(cond_d->entry), IR_MO_64 });
		skip = ir_new_label(ir);
		ir_emit(ir, IR_brcond, IR_I64, (ir_ref[]){ t, c64(ir, cond_d->imm) },
			(int64_t[]){ ir_cond_invert(cond_map[cond_d->cond]), skip });
	}
	if (flags > QEMU_PLUGIN_CB_RW_REGS_PC)
		flags = QEMU_PLUGIN_CB_RW_REGS_PC;
	int h = flags == QEMU_PLUGIN_CB_NO_REGS ? direct_helper(ir, rec->fn, 2 + nextra) : -1;
	if (h >= 0) {
		/* fn(vcpu_index, extra..., udata): the callback's own signature */
		ir_ref idx = ir_new_temp(ir, IR_I64);
		ir_emit(ir, IR_ld_env, IR_I64, (ir_ref[]){ idx },
			(int64_t[]){ cpu_index_off, IR_MO_32 });
		ir_ref args[IR_MAX_CALL_ARGS] = { idx };
		for (int i = 0; i < nextra; i++)
			args[1 + i] = extra[i];
		args[1 + nextra] = c64(ir, (uintptr_t)rec->udata);
		ir_call(ir, h, 0, args, 2 + nextra);
	} else {
		if (flags != QEMU_PLUGIN_CB_NO_REGS)
			ir_op1(ir, IR_mov, IR_I64, guest_ir_pc(), c64(ir, pc));
		ir_ref args[IR_MAX_CALL_ARGS] = { ir->env, c64(ir, (uintptr_t)rec) };
		for (int i = 0; i < nextra; i++)
			args[2 + i] = extra[i];
		ir_call(ir, helper_base + kind + flags, 0, args, 2 + nextra);
	}
	if (skip)
		ir_emit(ir, IR_set_label, IR_I64, NULL, (int64_t[]){ skip });
}

static void emit_exec_dyns(struct ir_ctx *ir, const struct dyn *d, uint64_t pc)
{
	for (; d; d = d->next) {
		if (!d->p->enabled)
			continue;
		if (d->kind == DYN_INLINE)
			emit_inline(ir, d);
		else if (d->kind == DYN_CB)
			emit_call(ir, H_CB, d->flags, d, new_rec(d, d->fn, d->udata), pc, NULL, 0);
	}
}

static void emit_tb_hooks(struct ir_ctx *ir, bool exit, uint64_t tb_pc, uint64_t pc)
{
	for (int i = 0; i < nplugins; i++) {
		struct plugin *p = plugins[i];
		const struct tb_hook *h = exit ? &p->tb_exit : &p->tb_entry;
		if (p->gone || !p->enabled || !h->cb)
			continue;
		struct dyn d = { .flags = h->flags, .p = p };
		emit_call(ir, H_TB, h->flags, NULL, new_rec(&d, (void *)h->cb, h->udata), pc,
			  (ir_ref[]){ c64(ir, tb_pc) }, 1);
	}
}

static bool any_tb_hooks(void)
{
	for (int i = 0; i < nplugins; i++) {
		struct plugin *p = plugins[i];
		if (!p->gone && p->enabled && (p->tb_entry.cb || p->tb_exit.cb))
			return true;
	}
	return false;
}

/* meminfo: log2 size in bits 0-3, sign-extended (4), big-endian (5), store (6). */
#define MO_128 0x100	/* a pair of 8-byte accesses reported as one */
#define MI_SIGN (1u << 4)
#define MI_STORE (1u << 6)

static void emit_access_v(struct ir_ctx *ir, const struct dyn *d, uint64_t pc, ir_ref addr,
			  ir_ref val, int memop, bool store, bool val_stored)
{
	unsigned want = store ? QEMU_PLUGIN_MEM_W : QEMU_PLUGIN_MEM_R;
	uint32_t info = (memop == MO_128 ? 4 : memop & IR_MO_SIZE) |
			(memop != MO_128 && (memop & IR_MO_SIGN) ? MI_SIGN : 0) | (store ? MI_STORE : 0);
	for (; d; d = d->next) {
		if (!d->p->enabled || !(d->rw & want))
			continue;
		if (d->kind == DYN_MEM_INLINE) {
			emit_inline(ir, d);
		} else if (d->kind == DYN_MEM_CB) {
			if (!val_stored) {
				ir_emit(ir, IR_st_env, IR_I64, (ir_ref[]){ val },
					(int64_t[]){ mem_val_off, IR_MO_64 });
				val_stored = true;
			}
			emit_call(ir, H_MEM, d->flags, NULL, new_rec(d, d->fn, d->udata), pc,
				  (ir_ref[]){ c64(ir, info), addr }, 2);
		}
	}
}

static void emit_access(struct ir_ctx *ir, const struct dyn *d, uint64_t pc, ir_ref addr,
			ir_ref val, int memop, bool store)
{
	emit_access_v(ir, d, pc, addr, val, memop, store, false);
}

static bool has_mem_dyns(const struct dyn *d)
{
	for (; d; d = d->next)
		if (d->kind == DYN_MEM_CB || d->kind == DYN_MEM_INLINE)
			return true;
	return false;
}

static bool is_mem_op_opc(unsigned opc)
{
	return opc == IR_load || opc == IR_store || opc == IR_xchg || opc == IR_xadd ||
	       opc == IR_cmpxchg;
}

/* A 16-byte SSE/AVX access is lifted as two 8-byte ones at a and a+8; they
 * are reported as the one access the instruction makes.  pair_of[i] is the
 * index of the op completing op i's pair, pair_done marks those. */
#define MAX_SCAN 256
static uint32_t pair_first[MAX_SCAN], pair_second[MAX_SCAN];
static int npairs;

static bool is_add8_of(const struct ir_ctx *ir, const struct ir_op *ops, uint32_t from,
		       uint32_t to, ir_ref addr2, ir_ref addr1)
{
	for (uint32_t k = from; k < to; k++) {
		const struct ir_op *o = &ops[k];
		if (o->opc == IR_add && o->type == IR_I64 && o->args[0] == addr2 &&
		    o->args[1] == addr1 && ir_is_const(ir, o->args[2]) &&
		    ir->temps[o->args[2]].val == 8)
			return true;
	}
	return false;
}

/* Find the pairs among the memory ops of one instruction: ops [from, to). */
static void find_pairs(const struct ir_ctx *ir, const struct ir_op *ops, uint32_t from, uint32_t to)
{
	npairs = 0;
	for (uint32_t i = from; i < to && npairs < MAX_SCAN; i++) {
		const struct ir_op *a = &ops[i];
		if ((a->opc != IR_load && a->opc != IR_store) || (a->cargs[0] & IR_MO_SIZE) != IR_MO_64)
			continue;
		for (uint32_t j = i + 1; j < to; j++) {
			const struct ir_op *b = &ops[j];
			if (b->opc == IR_insn_start)
				break;
			if (!is_mem_op_opc(b->opc))
				continue;
			if (b->opc == a->opc && (b->cargs[0] & IR_MO_SIZE) == IR_MO_64 &&
			    is_add8_of(ir, ops, i + 1, j, b->args[1], a->args[1])) {
				pair_first[npairs] = i;
				pair_second[npairs++] = j;
				i = j;
			}
			break;	/* only an adjacent access completes a pair */
		}
	}
}

static int pair_role(uint32_t i, uint32_t *first)
{
	for (int k = 0; k < npairs; k++) {
		if (pair_first[k] == i)
			return 1;
		if (pair_second[k] == i) {
			*first = pair_first[k];
			return 2;
		}
	}
	return 0;
}

static bool any_mem_cb(const struct dyn *d)
{
	for (; d; d = d->next)
		if (d->kind == DYN_MEM_CB && d->p->enabled)
			return true;
	return false;
}

/* Instrument the accesses of one guest memory op (already appended).  An
 * atomic read-modify-write is a load followed by a store. */
static void emit_mem(struct ir_ctx *ir, const struct ir_op *op, const struct dyn *d, uint64_t pc)
{
	int memop = op->cargs[0];
	int plain = memop & IR_MO_SIZE;
	switch (op->opc) {
	case IR_load:
		emit_access(ir, d, pc, op->args[1], op->args[0], memop, false);
		break;
	case IR_store:
		emit_access(ir, d, pc, op->args[1], op->args[0], plain, true);
		break;
	case IR_xchg:
		emit_access(ir, d, pc, op->args[1], op->args[0], plain, false);
		emit_access(ir, d, pc, op->args[1], op->args[2], plain, true);
		break;
	case IR_xadd: {
		emit_access(ir, d, pc, op->args[1], op->args[0], plain, false);
		ir_ref sum = ir_new_temp(ir, IR_I64);
		ir_op2(ir, IR_add, IR_I64, sum, op->args[0], op->args[2]);
		emit_access(ir, d, pc, op->args[1], sum, plain, true);
		break;
	}
	case IR_cmpxchg: {
		emit_access(ir, d, pc, op->args[1], op->args[0], plain, false);
		ir_ref nv = ir_new_temp(ir, IR_I64);
		ir_emit(ir, IR_movcond, IR_I64,
			(ir_ref[]){ nv, op->args[0], op->args[2], op->args[3], op->args[0] },
			(int64_t[]){ IR_EQ });
		emit_access(ir, d, pc, op->args[1], nv, plain, true);
		break;
	}
	default:
		break;
	}
}


static const uint8_t *insn_bytes(const struct qemu_plugin_insn *insn);

/* ---- built-in tools ---- */

static struct instrument_tool *tools;

/* A lifter may run a TB on past a branch while no tool looks at blocks
 * (exec.h: exec_blocks_watched).  A tool registered disabled (coverage
 * that waits for `cov start` on a monitor or control channel) does not
 * count until it is enabled; enabling it flushes the code cache
 * (instrument_tools_changed), so every TB after that ends at its branch,
 * and the flag stays set. */
static void blocks_watched_update(void)
{
	for (struct instrument_tool *t = tools; t; t = t->next)
		if (t->enabled)
			exec_blocks_watched = true;
}

void instrument_add_tool(struct instrument_tool *t)
{
	t->next = tools;
	tools = t;
	instrument_active = true;
	blocks_watched_update();
}

void instrument_tools_changed(void)
{
	blocks_watched_update();
	plugin_instrumentation_changed();
}

static bool any_tools(void)
{
	for (struct instrument_tool *t = tools; t; t = t->next)
		if (t->enabled)
			return true;
	return false;
}

static void emit_tools(struct ir_ctx *ir, struct tb *tb)
{
	flush_pending(ir);
	for (struct instrument_tool *t = tools; t; t = t->next)
		if (t->enabled)
			t->tb_start(ir, tb, t->opaque);
}

/* Whether a tool is enabled may change on the control thread between its
 * tb_start and here: tb_end is called regardless, and emits what its
 * tb_start left pending, if anything. */
static void emit_tools_end(struct ir_ctx *ir, struct tb *tb)
{
	for (struct instrument_tool *t = tools; t; t = t->next)
		if (t->tb_end)
			t->tb_end(ir, tb, t->opaque);
}

static void emit_tools_insn(struct ir_ctx *ir, struct tb *tb, const struct qemu_plugin_insn *in)
{
	for (struct instrument_tool *t = tools; t; t = t->next) {
		if (t->enabled && t->insn) {
			flush_pending(ir);
			t->insn(ir, tb, in->vaddr, insn_bytes(in), in->size, t->opaque);
		}
	}
}

/* Rebuild the op list with the instrumentation in place. */
static void emit_all(struct ir_ctx *ir, struct tb *tb, bool hooks, bool with_tools)
{
	uint32_t n = ir->nops;
	struct ir_op *old = malloc(n * sizeof(*old));
	if (!old)
		internal_error("out of memory instrumenting a TB");
	memcpy(old, ir->ops, n * sizeof(*old));
	ir->nops = 0;

	int k = -1;
	bool after_goto_tb = false, oneshot = tb->flags & CF_ONESHOT;
	nfixes = 0;
	const struct qemu_plugin_insn *in = NULL;
	bool mem = false;
	for (uint32_t i = 0; i < n; i++) {
		const struct ir_op *op = &old[i];
		bool leaves = false;
		switch (op->opc) {
		case IR_goto_tb:
			leaves = true;
			after_goto_tb = true;
			break;
		case IR_goto_lookup:
		case IR_goto_ptr:
			leaves = true;
			break;
		case IR_exit_tb:
			leaves = !after_goto_tb &&
				 (op->cargs[0] & TB_EXIT_MASK) != TB_EXIT_REQUESTED;
			after_goto_tb = false;
			break;
		}
		if (leaves && hooks && in)
			emit_tb_hooks(ir, true, tb->pc, in->vaddr);
		if (npending && observes(op))
			flush_pending(ir);
		ir_append_op(ir, op);
		if (op->opc == IR_insn_start && k + 1 < (int)ptb.n) {
			in = &ptb.insns[++k];
			mem = has_mem_dyns(in->dyn);
			uint32_t end = i + 1;
			bool flush = mem;
			/* The way out of the TB after the last instruction
			 * does not count, nor what follows it (the exit
			 * request's path, reached from the TB's entry): the
			 * adds go out just before it, and until then a fault
			 * finds them in the fix-up table: a guest fault and
			 * an SMC restart both keep the faulting instruction's
			 * own adds (it began; the restart's one-shot does not
			 * repeat them). */
			bool left = false;
			for (; end < n && old[end].opc != IR_insn_start; end++) {
				left |= leaves_tb(&old[end]);
				flush |= !left && observes(&old[end]);
			}
			if (mem)
				find_pairs(ir, old, i + 1, end);
			struct pending before[MAX_PENDING];
			int nbefore = npending;
			memcpy(before, pending, sizeof(before));
			/* A one-shot TB finishes an instruction that an SMC
			 * write restarted: the block it was in has run the
			 * block's entry and the instruction's own
			 * instrumentation (the restart completes their pending
			 * adds), so only its accesses are instrumented here. */
			if (k == 0 && !oneshot) {
				emit_exec_dyns(ir, ptb.dyn, in->vaddr);
				if (with_tools)
					emit_tools(ir, tb);
				if (hooks)
					emit_tb_hooks(ir, false, tb->pc, in->vaddr);
			}
			if (!oneshot) {
				emit_exec_dyns(ir, in->dyn, in->vaddr);
				if (with_tools)
					emit_tools_insn(ir, tb, in);
			}
			/* An instruction with a call or a branch, or whose
			 * accesses are instrumented, starts with nothing
			 * pending; any other may fault with adds pending. */
			if (flush) {
				flush_pending(ir);
			} else {
				for (int p = 0; p < npending; p++) {
					uint64_t b = 0;
					for (int q = 0; q < nbefore; q++)
						if (before[q].off == pending[p].off)
							b = before[q].sum;
					add_fix(k, pending[p].off, b, pending[p].sum - b);
				}
			}
		} else if (mem && is_mem_op_opc(op->opc)) {
			uint32_t first;
			switch (pair_role(i, &first)) {
			case 1:	/* its value waits in plugin_mem_val[0] */
				if (any_mem_cb(in->dyn))
					ir_emit(ir, IR_st_env, IR_I64, (ir_ref[]){ op->args[0] },
						(int64_t[]){ mem_val_off, IR_MO_64 });
				break;
			case 2:
				if (any_mem_cb(in->dyn))
					ir_emit(ir, IR_st_env, IR_I64, (ir_ref[]){ op->args[0] },
						(int64_t[]){ mem_val_off + 8, IR_MO_64 });
				emit_access_v(ir, in->dyn, in->vaddr, old[first].args[1], op->args[0],
					      MO_128, op->opc == IR_store, true);
				break;
			default:
				emit_mem(ir, op, in->dyn, in->vaddr);
			}
		}
	}
	if (npending)
		internal_error("TB 0x%lx: plugin counters not written at its end",
			       (unsigned long)tb->pc);
	if (with_tools && !oneshot && k >= 0)
		emit_tools_end(ir, tb);
	free(old);
	if (nfixes) {
		struct fix_table *t = malloc(sizeof(*t) + nfixes * sizeof(struct fix));
		if (!t)
			internal_error("out of memory instrumenting a TB");
		t->n = nfixes;
		memcpy(t->f, fixes, nfixes * sizeof(struct fix));
		tb->instr_fix = t;
	}
}

/* Instructions before which a callback may write registers. */
static bool sync_mask(uint64_t mask[PLUGIN_TB_MAX_INSNS / 64])
{
	bool any = false;
	memset(mask, 0, PLUGIN_TB_MAX_INSNS / 8);
	for (size_t k = 1; k < ptb.n; k++) {
		for (const struct dyn *d = ptb.insns[k].dyn; d; d = d->next) {
			if (d->kind == DYN_CB && d->flags >= QEMU_PLUGIN_CB_RW_REGS) {
				mask[k / 64] |= 1ull << (k % 64);
				any = true;
			}
		}
	}
	return any;
}

int instrument_tb(struct ir_ctx *ir, struct tb *tb, unsigned max_insns)
{
	if (!instrument_active)
		return 0;
	describe_tb(ir, tb);
	for (int i = 0; i < nplugins; i++) {
		struct plugin *p = plugins[i];
		if (p->gone || !p->enabled || !p->tb_trans)
			continue;
		ptb.p = plugin_caller = p;
		p->tb_trans(p->id, &ptb);
	}
	ptb.p = NULL;

	bool hooks = any_tb_hooks(), with_tools = any_tools(), any = hooks || with_tools || ptb.dyn;
	for (size_t k = 0; k < ptb.n && !any; k++)
		any = ptb.insns[k].dyn != NULL;
	int ret = 0;
	if (any) {
		uint64_t mask[PLUGIN_TB_MAX_INSNS / 64];
		if (sync_mask(mask)) {
			ir_reset(ir);
			ret = guest_translate(ir, tb, max_insns, mask);
		}
		if (ret == 0)
			emit_all(ir, tb, hooks, with_tools);
	}
	free_dyns(ptb.dyn);
	for (size_t k = 0; k < ptb.n; k++)
		free_dyns(ptb.insns[k].dyn);
	return ret;
}

/* ---- registrations on TBs and instructions ---- */

static bool entry_ok(qemu_plugin_u64 e, const char *fn)
{
	if (e.score && e.offset + 8 <= e.score->size)
		return true;
	if (log_enabled(LOG_PLUGIN))
		log_printf("loom: plugin: %s: scoreboard entry out of its element\n", fn);
	return false;
}

void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags, void *userdata)
{
	if (inject_tb_ok(tb, __func__) && cb)
		inject_add(tb, NULL, &(struct dyn){ .kind = DYN_CB, .flags = flags, .fn = (void *)cb,
						    .udata = userdata,
						    .cond = QEMU_PLUGIN_COND_ALWAYS });
}

void qemu_plugin_register_vcpu_tb_exec_cond_cb(struct qemu_plugin_tb *tb,
					       qemu_plugin_vcpu_udata_cb_t cb,
					       enum qemu_plugin_cb_flags flags,
					       enum qemu_plugin_cond cond, qemu_plugin_u64 entry,
					       uint64_t imm, void *userdata)
{
	if (!inject_tb_ok(tb, __func__) || !cb || cond == QEMU_PLUGIN_COND_NEVER)
		return;
	if (cond != QEMU_PLUGIN_COND_ALWAYS && !entry_ok(entry, __func__))
		return;
	inject_add(tb, NULL, &(struct dyn){ .kind = DYN_CB, .flags = flags, .fn = (void *)cb,
					    .udata = userdata, .cond = cond, .entry = entry,
					    .imm = imm });
}

void qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(struct qemu_plugin_tb *tb,
						       enum qemu_plugin_op op,
						       qemu_plugin_u64 entry, uint64_t imm)
{
	if (inject_tb_ok(tb, __func__) && entry_ok(entry, __func__))
		inject_add(tb, NULL, &(struct dyn){ .kind = DYN_INLINE, .op = op, .entry = entry,
						    .imm = imm });
}

static bool insn_ok(const struct qemu_plugin_insn *insn, const char *fn)
{
	return insn && inject_tb_ok(insn->tb, fn);
}

void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
					    qemu_plugin_vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags, void *userdata)
{
	if (insn_ok(insn, __func__) && cb)
		inject_add(insn->tb, insn, &(struct dyn){ .kind = DYN_CB, .flags = flags,
							  .fn = (void *)cb, .udata = userdata,
							  .cond = QEMU_PLUGIN_COND_ALWAYS });
}

void qemu_plugin_register_vcpu_insn_exec_cond_cb(struct qemu_plugin_insn *insn,
						 qemu_plugin_vcpu_udata_cb_t cb,
						 enum qemu_plugin_cb_flags flags,
						 enum qemu_plugin_cond cond, qemu_plugin_u64 entry,
						 uint64_t imm, void *userdata)
{
	if (!insn_ok(insn, __func__) || !cb || cond == QEMU_PLUGIN_COND_NEVER)
		return;
	if (cond != QEMU_PLUGIN_COND_ALWAYS && !entry_ok(entry, __func__))
		return;
	inject_add(insn->tb, insn, &(struct dyn){ .kind = DYN_CB, .flags = flags,
						  .fn = (void *)cb, .udata = userdata, .cond = cond,
						  .entry = entry, .imm = imm });
}

void qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(struct qemu_plugin_insn *insn,
							 enum qemu_plugin_op op,
							 qemu_plugin_u64 entry, uint64_t imm)
{
	if (insn_ok(insn, __func__) && entry_ok(entry, __func__))
		inject_add(insn->tb, insn, &(struct dyn){ .kind = DYN_INLINE, .op = op,
							  .entry = entry, .imm = imm });
}

void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_mem_cb_t cb,
				      enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw,
				      void *userdata)
{
	if (insn_ok(insn, __func__) && cb)
		inject_add(insn->tb, insn, &(struct dyn){ .kind = DYN_MEM_CB, .flags = flags,
							  .rw = rw, .fn = (void *)cb,
							  .udata = userdata });
}

void qemu_plugin_register_vcpu_mem_inline_per_vcpu(struct qemu_plugin_insn *insn,
						   enum qemu_plugin_mem_rw rw,
						   enum qemu_plugin_op op, qemu_plugin_u64 entry,
						   uint64_t imm)
{
	if (insn_ok(insn, __func__) && entry_ok(entry, __func__))
		inject_add(insn->tb, insn, &(struct dyn){ .kind = DYN_MEM_INLINE, .rw = rw,
							  .op = op, .entry = entry, .imm = imm });
}

/* ---- queries on the TB being translated ---- */

size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb) { return tb ? tb->n : 0; }
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb) { return tb ? tb->vaddr : 0; }

struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx)
{
	if (!tb || idx >= tb->n)
		return NULL;
	return (struct qemu_plugin_insn *)&tb->insns[idx];
}

/* The instruction's bytes, read from guest memory the first time. */
static const uint8_t *insn_bytes(const struct qemu_plugin_insn *insn)
{
	struct qemu_plugin_insn *in = (struct qemu_plugin_insn *)insn;
	if (!in->have_data) {
		/* every byte of a decoded instruction was readable at
		 * translation; a page gone since reads as zeros */
		if (guest_mem_fetch(NULL, in->data, in->vaddr, in->size) != in->size)
			memset(in->data, 0, in->size);
		in->have_data = true;
	}
	return in->data;
}

/* Versions 1 and 2 declared `const void *qemu_plugin_insn_data(insn)`: the
 * bytes' address, valid during the callback, is the answer (in rax, as a
 * size_t would be) to a plugin built for them. */
size_t qemu_plugin_insn_data(const struct qemu_plugin_insn *insn, void *dest, size_t len)
{
	if (insn && insn->tb && insn->tb->p && insn->tb->p->version < 3)
		return (uintptr_t)insn_bytes(insn);
	if (!insn || !dest)
		return 0;
	insn_bytes(insn);
	if (len > insn->size)
		len = insn->size;
	memcpy(dest, insn->data, len);
	return len;
}

size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn) { return insn ? insn->size : 0; }
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn)
{
	return insn ? insn->vaddr : 0;
}
void *qemu_plugin_insn_haddr(const struct qemu_plugin_insn *insn)
{
	return insn ? instrument_env.code_host(insn->phys) : NULL;
}

char *qemu_plugin_insn_disas(const struct qemu_plugin_insn *insn)
{
	char buf[160];
	if (!insn)
		return NULL;
	guest_disas_insn(insn->vaddr, insn_bytes(insn), insn->size, buf, sizeof(buf));
	return g_strdup(buf);
}
