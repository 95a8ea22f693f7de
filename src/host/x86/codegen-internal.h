/*
 * What the x86-64 backend's files share: the per-TB context (struct cg),
 * the backend's configuration (struct cg_config), the register
 * allocator's interface (regalloc.c), the fault points' (faultmap.c), the
 * soft-MMU lowering's (softmmu.c) and the few emitter helpers they call back into (codegen.c).  Nothing
 * outside src/host/x86/ includes it: exec sees only host/host.h.
 *
 * Invariant: everything a TB's code depends on besides its IR (and where
 * it lands) is in struct cg_config, set through host.h's host_set_* before
 * translation starts and read through c->cfg.  The one other table, the
 * call slots of codegen.c's cg_call_far, is data that generated code reads,
 * so it lives in loom's static data within reach of the code cache.
 */
#ifndef LOOM_HOST_X86_CODEGEN_INTERNAL_H
#define LOOM_HOST_X86_CODEGEN_INTERNAL_H

#include "host/host.h"
#include "host/x86/emit.h"

#define ENV_REG H_RBP
#define FRAME_SLOTS 512
#define FRAME_SIZE (FRAME_SLOTS * 8 + 8)	/* keeps rsp 16-byte aligned */
/* A TB's limits: its branches to labels, and its code, whose offsets are
 * 16-bit (struct tb's insn_host_off, jmp_reset, jmp_insn).  A TB beyond
 * either is not generated: host_gen_code says HOST_GEN_TOO_BIG and the exec
 * layer translates fewer guest instructions. */
#define MAX_FIXUPS 256
#define TB_MAX_CODE 60000
#define CALLER_SAVED ((1u << H_RAX) | (1u << H_RCX) | (1u << H_RDX) | (1u << H_RSI) | \
		      (1u << H_RDI) | (1u << H_R8) | (1u << H_R9) | (1u << H_R10) | (1u << H_R11))
#define PIN_REG H_R15
/* The registers the allocator may hand out, in a function whose context
 * is `c` (every register but rsp and rbp, and the pinned counter's once
 * reserved: cg_config.all_regs). */
#define ALL_REGS (c->cfg->all_regs)

/*
 * The backend's configuration: what exec tells it once, before translating
 * (host.h's host_set_*), and what host_gen_prologue finds out and lays
 * down.  One instance lives in codegen.c; a TB's context points at it.
 */
struct cg_config {
	uint32_t all_regs;		/* allocatable registers (ALL_REGS) */
	int32_t pin_off;		/* env offset of the pinned counter, 0: none */
	struct host_jc_layout jc;	/* goto_lookup's inline jump-cache probe */
	struct host_tool_fp_layout tfp;	/* tool regions' env fields */
	bool softmmu_on;		/* guest memory ops probe the soft TLB */
	struct host_softmmu_layout softmmu;
	/* prologue and epilogue: where exits jump (host_gen_prologue) */
	uintptr_t epilogue_exit0_rx, epilogue_ret_rx;
	bool host_has_lzcnt, host_has_bmi1, host_has_bmi2, host_has_popcnt;
};

struct ra_temp {
	int8_t reg;		/* H_NONE if not in a register */
	uint8_t in_mem;		/* memory home holds the current value */
	int16_t slot;		/* locals: spill slot, -1 if none */
};

struct fixup {
	uint32_t label;
	uint8_t *field;
};

/* One TB's code generation: the allocator's state and the emitters'. */
struct cg {
	const struct cg_config *cfg;
	struct emit e;
	struct ir_ctx *s;
	struct tb *tb;
	struct ra_temp *t;
	ir_ref reg_temp[16];
	uint32_t used_regs;	/* bit per register whose reg_temp is set */
	uint32_t locked;	/* registers the current op must not lose */
	uint32_t nslots;
	uint16_t *free_slots;	/* [FRAME_SLOTS]: slots of dead block-locals */
	uint32_t nfree_slots;
	uint32_t ninsn;
	uint32_t op_i;		/* the op being generated: its index in s->ops */
	uint8_t **label_at;
	struct fixup *fixups;	/* [MAX_FIXUPS] */
	uint32_t nfixups;
	bool overflow;
	int32_t xslot[3];	/* env slot xmm13..15 hold whole, or -1 (gen_vfop) */
	bool tool_region;	/* host FP state is the tools' (host.h) */
	struct slow_path *slow;	/* soft MMU: the TB's out-of-line paths */
	uint32_t nslow;
	uint32_t slow_bytes;	/* the most the slow paths may take */
	bool fp_marked;		/* fp_dirty set since the last label or region */
	bool pin_clean;		/* the pinned counter's register is known to be 0 */
	/* The TB-wide locals (ir_liveness), which every label puts back in
	 * memory: ra_reset_after_label visits these and the globals only. */
	const ir_ref *wide;
	uint32_t nwide;
	/* User mode's fault points (faultmap.c): each point's code offset
	 * and the end of its entries, and the entries. */
	uint16_t *fpt_off, *fpt_end, *fent;
	uint32_t nfpt, nfent;
	/* User mode: globals whose value is a constant not yet stored
	 * (gen_mov), bit r - 2, the value in kval[r - 2] (regalloc.c). */
	uint64_t kpend;
	uint64_t *kval;
	/* Globals whose value is the one a register holds for another temp
	 * (gen_mov of a temp that lives on), bit r - 2, per register; apend
	 * is their union (regalloc.c). */
	uint64_t alias[16];
	uint64_t apend;
	/* A brcond's write-backs, moved to its taken side (out of line, after
	 * the body: gen_brcond, emit_side_syncs). */
	struct side_sync *side;	/* [MAX_FIXUPS] */
	uint32_t nside;
	struct side_store *sstore;	/* [MAX_SIDE_STORES] */
	uint32_t nsstore;
};
struct side_store {
	int8_t reg;		/* the value's register; H_NONE: imm */
	int8_t base;		/* ENV_REG or H_RSP (a TB-wide local's slot) */
	int32_t off, imm;
};
struct side_sync {
	uint8_t *jcc_field;	/* the brcond's jump, to the stores */
	uint32_t label;		/* where they go on to */
	uint32_t first, n;	/* its stores in sstore[] */
};
#define MAX_SIDE_STORES 4096
#define SIDE_STORE_BYTES 12	/* movq $imm32, disp32(env) at most */
#define MAX_FAULT_POINTS 2048
#define MAX_FAULT_ENTRIES 16384

/* Soft MMU (host.h): a probe's miss path, emitted after the TB's body. */
enum slow_kind { SLOW_LD, SLOW_ST, SLOW_RMW };
#define SLOW_PATH_MAX_K 4	/* pending constants a slow path stores */
#define SLOW_PATH_MAX_A 4	/* aliased globals a slow path stores */
struct slow_path {
	uint8_t kind;		/* enum slow_kind */
	int8_t addr_reg, val_reg;	/* val_reg: H_NONE with a constant value */
	int8_t out_reg;		/* load: the result; rmw: the host address */
	uint8_t memop;		/* load: size and sign of the result */
	bool i32;		/* load of an i32-typed temp */
	uint32_t oi;
	uint64_t val;		/* store of a constant */
	uint32_t saved;		/* caller-saved registers live across the call */
	/* Registers holding guest globals not yet written back, and each
	 * one's env offset: the path writes them before its call. */
	uint16_t gdirty;
	int32_t goff[16];
	/* Globals whose value is a constant not yet stored (regalloc.c's
	 * pending constants), which the path stores too. */
	uint8_t nk;
	int32_t koff[SLOW_PATH_MAX_K];
	uint64_t kval[SLOW_PATH_MAX_K];
	/* Globals aliased to a register (regalloc.c), which it stores too. */
	uint8_t na;
	int8_t areg[SLOW_PATH_MAX_A];
	int32_t aoff[SLOW_PATH_MAX_A];
	uint8_t *jne_field;	/* the probe's branch here */
	uintptr_t probe_rx;	/* the hpc the helper is given */
	uintptr_t resume_rx;	/* where the path returns */
};
#define MAX_SLOW_PATHS 512
#define SLOW_PATH_MAX_BYTES 160	/* without the global write-backs */
#define SLOW_PATH_GLOBAL_BYTES 7	/* mov reg, disp32(env) */
#define SLOW_PATH_CONST_BYTES 12	/* movq $imm32, disp32(env) */

static inline struct ir_temp *T(struct cg *c, ir_ref r) { return &c->s->temps[r]; }
static inline bool is_const(struct cg *c, ir_ref r) { return T(c, r)->kind == IR_TEMP_CONST; }
static inline bool is_global(struct cg *c, ir_ref r) { return T(c, r)->kind == IR_TEMP_GLOBAL; }
/* A global whose value is in env alone: in no register, no alias, no
 * pending constant (the last two clear in_mem). */
static inline bool only_in_env(struct cg *c, ir_ref r)
{
	return is_global(c, r) && c->t[r].in_mem && c->t[r].reg == H_NONE;
}
static inline uint64_t cval(struct cg *c, ir_ref r) { return T(c, r)->val; }

/* A constant usable as a sign-extended imm32 in an op of type ty. */
static inline bool fits_imm(struct cg *c, ir_ref r, enum ir_type ty)
{
	if (!is_const(c, r))
		return false;
	uint64_t v = cval(c, r);
	return ty == IR_I32 || (int64_t)v == (int32_t)v;
}

static inline bool w64(struct ir_op *op) { return op->type == IR_I64; }
static inline bool dead_arg(struct ir_op *op, int a) { return op->dead & (1 << a); }

/* ---- the register allocator (regalloc.c) ---- */

void ra_set_reg(struct cg *c, ir_ref r, int reg);
void ra_free_reg(struct cg *c, int reg);
void ra_spill_reg(struct cg *c, int reg);
int ra_alloc_reg(struct cg *c, uint32_t allowed);
static inline void ra_lock(struct cg *c, int reg) { c->locked |= 1u << reg; }
int ra_load_temp(struct cg *c, ir_ref r, uint32_t allowed);
void ra_copy_to_reg(struct cg *c, ir_ref r, int reg);
void ra_evict(struct cg *c, int reg);
int ra_dest_from(struct cg *c, ir_ref a, bool adead, ir_ref d, uint32_t allowed);
void ra_set_output(struct cg *c, ir_ref d, int reg);
void ra_free_dead(struct cg *c, struct ir_op *op);
void ra_sync_globals(struct cg *c);
void ra_drop_globals(struct cg *c);
void ra_sync_all(struct cg *c, bool forget);
void ra_kflush_all(struct cg *c);	/* store the pending constants */
void ra_reset_after_label(struct cg *c);
void ra_sync_temp(struct cg *c, ir_ref r);
void ra_fault_point(struct cg *c);
void ra_set_kconst(struct cg *c, ir_ref d, uint64_t v);
void ra_kdrop(struct cg *c, ir_ref r);
void ra_alias(struct cg *c, ir_ref d, int reg);
void ra_hand_over(struct cg *c, ir_ref a, ir_ref d);
void ra_store_global(struct cg *c, ir_ref d, int reg);
void ra_discard(struct cg *c, ir_ref d);
bool ra_sync_record(struct cg *c, struct side_sync *ss, bool locals, uint64_t dead);
bool cg_rewritten_soon(struct cg *c, ir_ref g, bool past_faults);
bool cg_read_soon(struct cg *c, ir_ref g);
void ra_aflush_reg(struct cg *c, int reg);
void ra_aflush_all(struct cg *c);
bool ra_may_clobber(struct cg *c, int reg);
int ra_global_reg(struct cg *c, ir_ref r);

/* ---- fault points (faultmap.c) ---- */

bool fmap_add(struct cg *c, int reg, int32_t env_off);
bool fmap_add_const(struct cg *c, int32_t env_off, uint64_t v);
void fmap_point(struct cg *c, uint32_t first);
void fmap_finish(struct cg *c);

/* ---- the soft-MMU lowering (softmmu.c) ---- */

void softmmu_load(struct cg *c, struct ir_op *op);
void softmmu_store(struct cg *c, struct ir_op *op);
int softmmu_rmw_addr(struct cg *c, struct ir_op *op);
void softmmu_emit_slow_paths(struct cg *c);

/* ---- emitter helpers of codegen.c the lowering uses ---- */

void cg_xcache_clear(struct cg *c);
void cg_pin_flush(struct cg *c);
void cg_pin_flush_always(struct cg *c);
void cg_call_far(struct cg *c, uintptr_t fn);

#endif
