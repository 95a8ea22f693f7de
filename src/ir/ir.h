/*
 * loom's intermediate representation: the spec.
 *
 * A translation block (TB) is lifted into a list of ops on temps.  The IR knows
 * no guest and no host ISA: guest state is reached through *globals* (named
 * slots of the CPU state, addressed by their offset from env), scratch values
 * are *locals*, and immediates are *constants*.  Every op has a type, i32 or
 * i64, carried on the op; an i32 op reads the low 32 bits of its inputs and
 * its outputs are zero-extended to 64 bits (as on x86-64 hosts).
 *
 * Tutorial: the guest instruction `add %rbx,%rax` at 0x401000 lifts to
 *
 *     insn_start $0x401000,$3
 *     add_i64 tmp0,rax,rbx
 *     mov_i64 cc_src,rbx
 *     mov_i64 cc_dst,tmp0
 *     mov_i64 rax,tmp0
 *     mov_i64 cc_op,$0x10
 *
 * The optimizer propagates copies and removes the cc_* stores that a later
 * flag-setting instruction overwrites before anything reads them; the backend
 * keeps rax and rbx in host registers and emits one `add %rbx,%rax`-shaped
 * sequence, writing globals back to env only where a helper call, a possible
 * fault or the TB's exit needs them.
 *
 * Ops (outputs first, then inputs, then constant args in brackets):
 *
 *   mov d,a             d = a
 *   add/sub/mul d,a,b   d = a op b, wrapping
 *   and/or/xor d,a,b    bitwise;  andc d,a,b: d = a & ~b
 *   neg d,a  not d,a    d = -a, d = ~a
 *   shl/shr/sar d,a,b   shift by b; b must be < width (the frontend masks);
 *                       the printer shows the result; b >= width is undefined
 *   rotl/rotr d,a,b     rotate by b mod width
 *   mulu2 lo,hi,a,b     full-width product, unsigned; muls2: signed
 *   divu2 q,r,hi,lo,d   (hi:lo) / d and (hi:lo) % d, unsigned; divs2: signed;
 *                       may fault: when d is 0 or the quotient does not fit
 *                       in one word, the host's divide error (x86 #DE)
 *   ext8s..ext32u d,a   sign/zero extend the low 8/16/32 bits of a
 *   deposit d,a,b [pos,len]   d = a with bits [pos,pos+len) taken from b's low bits
 *   extract d,a [pos,len]     d = (a >> pos) & ((1<<len)-1); sextract sign-extends
 *   bswap16/32/64 d,a   byte swap of the low 2/4/8 bytes, zero-extended
 *   clz d,a,b / ctz d,a,b     count leading/trailing zeros of a; b when a == 0
 *   ctpop d,a           population count
 *   setcond d,a,b [cond]      d = (a cond b) ? 1 : 0
 *   movcond d,a,b,t,f [cond]  d = (a cond b) ? t : f
 *   set_label [L]  br [L]  brcond a,b [cond,L]     labels are TB-local numbers
 *   ld_env d [off,memop]  st_env a [off,memop]    host load/store at env+off
 *   ld_ptr d,p [off,memop]  st_ptr v,p [off,memop]   host load/store at p+off:
 *                       loom's own data (plugin counters), never faults
 *   load d,addr [memop]       guest load; may fault
 *   store val,addr [memop]    guest store; may fault
 *   cmpxchg old,addr,cmp,new [memop]  atomic: old = *addr; if old==cmp *addr=new
 *   xchg old,addr,val [memop]         atomic exchange
 *   xadd old,addr,val [memop]         atomic fetch-and-add
 *   mb                  full memory fence
 *   vop [v,offs]        env[dst] = env[dst] v env[src], 128 bits lane-wise,
 *                       v from ir-vops.h; offs = dst_off | src_off << 32,
 *                       both 16-byte aligned.  Printed vop_i64 $name,dst,src
 *   vfop [f,offs]       floating point on env slots, f from ir-fops.h:
 *                       offs = d | a << 16 | b << 32 (16-bit offsets of
 *                       16-byte aligned slots); may fault (the host's #XM
 *                       for an exception the guest unmasked, nothing
 *                       written).
 *                       Printed vfop_i64 $name,d,a,b
 *                       (cmp rows: the predicate in offs bits 48-50)
 *   vfres r [f,offs]    as vfop, the result in temp r (offs = a | b << 16)
 *   call [helper,flags] outs,ins   call helper (see struct ir_helper)
 *   insn_start [pc,len] start of a guest instruction
 *   goto_tb [n]         jump slot n of this TB (patched by chaining); falls
 *                       through to the unchained path when not patched
 *   discard g           global g's value is dead: nothing stores it, env
 *                       keeps whatever it held (a TB exit whose successor
 *                       overwrites g before anything can read it)
 *   exit_tb [v]         return v to the exec loop
 *   goto_ptr a          jump to host code at a (from a lookup helper)
 *   goto_lookup a       jump to the translation of guest pc a if the jump
 *                       cache has it, else return (tb | TB_EXIT_NOCHAIN)
 *                       to the exec loop (which finds or translates it); a
 *                       must already be in the pc global
 *
 * memop: size (1,2,4,8 as log2 in bits 0-1) | IR_MO_SIGN.  A load's result is
 * zero- or sign-extended to the op type.
 *
 * Printed form: `name_type out,...,in,...,$const,...` with temps printed as
 * global names, tmpN for locals, and $0xN for constants.  `-d op` shows it.
 */
#ifndef LOOM_IR_H
#define LOOM_IR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum ir_opf {
	IR_OPF_BB_END = 1 << 0,		/* ends a basic block (labels, branches) */
	IR_OPF_TB_END = 1 << 1,		/* leaves the TB */
	IR_OPF_SIDE_EFFECTS = 1 << 2,	/* never removed even if outputs are dead */
	IR_OPF_MAY_FAULT = 1 << 3,	/* globals must be in env before it runs */
	IR_OPF_CALL = 1 << 4,		/* arity on the op; flags in cargs[1] */
};

enum ir_opc {
#define DEF(name, no, ni, nc, fl) IR_##name,
#include "ir-ops.h"
#undef DEF
	IR_NB_OPS
};

struct ir_opdef {
	const char *name;
	uint8_t nout, nin, nconst;
	uint8_t flags;
};
extern const struct ir_opdef ir_opdefs[IR_NB_OPS];

enum ir_type { IR_I32, IR_I64 };

enum ir_vop {
#define DEFV(name, what) IR_V_##name,
#include "ir-vops.h"
#undef DEFV
	IR_V_NB
};
extern const char *const ir_vop_names[IR_V_NB];

enum ir_fop {
#define DEFF(name, form, bsize) IR_F_##name,
#include "ir-fops.h"
#undef DEFF
	IR_F_NB
};
enum ir_fop_form { IR_FF_V, IR_FF_I, IR_FF_F, IR_FF_R, IR_FF_C };
struct ir_fopdef {
	const char *name;
	uint8_t form;		/* enum ir_fop_form */
	uint8_t bsize;
};
extern const struct ir_fopdef ir_fopdefs[IR_F_NB];
#define IR_FOFFS(d, a, b) ((uint64_t)(uint16_t)(d) | (uint64_t)(uint16_t)(a) << 16 | \
			   (uint64_t)(uint16_t)(b) << 32)

enum ir_memop {
	IR_MO_8 = 0, IR_MO_16 = 1, IR_MO_32 = 2, IR_MO_64 = 3,
	IR_MO_SIZE = 3,
	IR_MO_SIGN = 4,
};

/* Conditions, one row each: name, printed form, the condition that holds
 * with the operands swapped, and its value on a and b (sa, sb: the same
 * read as signed).  Rows come in pairs so that cond ^ 1 inverts. */
#define IR_CONDS(X) \
	X(EQ, "eq", EQ, a == b) \
	X(NE, "ne", NE, a != b) \
	X(LT, "lt", GT, sa < sb) \
	X(GE, "ge", LE, sa >= sb) \
	X(LE, "le", GE, sa <= sb) \
	X(GT, "gt", LT, sa > sb) \
	X(LTU, "ltu", GTU, a < b) \
	X(GEU, "geu", LEU, a >= b) \
	X(LEU, "leu", GEU, a <= b) \
	X(GTU, "gtu", LTU, a > b) \
	X(TSTEQ, "tsteq", TSTEQ, (a & b) == 0) \
	X(TSTNE, "tstne", TSTNE, (a & b) != 0) \
	X(ALWAYS, "always", ALWAYS, true) \
	X(NEVER, "never", NEVER, false)
enum ir_cond {
#define IR_COND_ENUM(name, text, swapped, holds) IR_##name,
	IR_CONDS(IR_COND_ENUM)
#undef IR_COND_ENUM
	IR_COND_NB
};
_Static_assert(IR_NE == (IR_EQ ^ 1) && IR_GE == (IR_LT ^ 1) && IR_GT == (IR_LE ^ 1) &&
	       IR_GEU == (IR_LTU ^ 1) && IR_GTU == (IR_LEU ^ 1) && IR_TSTNE == (IR_TSTEQ ^ 1) &&
	       IR_NEVER == (IR_ALWAYS ^ 1), "IR_CONDS: pairs, so that cond ^ 1 inverts");
static inline enum ir_cond ir_cond_invert(enum ir_cond c) { return c ^ 1; }
/* The condition that holds with the operands swapped. */
enum ir_cond ir_cond_swap(enum ir_cond c);
bool ir_cond_eval(enum ir_cond c, enum ir_type t, uint64_t a, uint64_t b);

/* Helper-call flags: what the helper does to guest globals.  The backend
 * writes dirty globals back before a call unless NO_READ_GLOBALS, and forgets
 * cached copies after it unless NO_WRITE_GLOBALS. */
enum ir_callf {
	IR_CALL_NO_READ_GLOBALS = 1 << 0,
	IR_CALL_NO_WRITE_GLOBALS = 1 << 1,
	IR_CALL_PURE = 1 << 2,		/* no side effects: removable if result dead */
	IR_CALL_MAY_FAULT = 1 << 3,	/* may raise a guest exception (longjmp) */
	IR_CALL_NO_GLOBALS = IR_CALL_NO_READ_GLOBALS | IR_CALL_NO_WRITE_GLOBALS,
};

/* One row of a helper table: a plain C function taking and returning
 * uint64_t values (up to IR_MAX_CALL_ARGS of them). */
struct ir_helper {
	const char *name;
	void *fn;
	uint8_t flags;		/* enum ir_callf */
	uint8_t nargs;
	bool has_ret;
};

enum ir_temp_kind { IR_TEMP_GLOBAL, IR_TEMP_LOCAL, IR_TEMP_CONST, IR_TEMP_ENV };

typedef uint32_t ir_ref;	/* index into ir_ctx.temps; 0 is invalid */

struct ir_temp {
	uint8_t kind;		/* enum ir_temp_kind */
	uint8_t type;		/* enum ir_type; globals are i64 */
	uint8_t tb_wide;	/* locals: used in more than one basic block
				 * (set by ir_liveness; such locals live in a
				 * stack slot across block boundaries) */
	int32_t env_off;	/* globals: offset from env */
	uint64_t val;		/* constants */
	const char *name;	/* globals */
};

#define IR_MAX_ARGS 8
#define IR_MAX_CALL_ARGS 6

struct ir_op {
	uint16_t opc;		/* enum ir_opc */
	uint8_t type;		/* enum ir_type */
	uint8_t nout, nin;	/* copied from the table; calls set their own */
	uint8_t dead;		/* liveness: bit i set if args[i] dies here */
	uint8_t pad[2];
	ir_ref args[IR_MAX_ARGS];	/* outputs, then inputs */
	int64_t cargs[2];
};

/* Work arrays one pass may hold at once (see ir_scratch). */
#define IR_SCRATCH_SLOTS 6

struct ir_ctx {
	struct ir_temp *temps;
	uint32_t ntemps, cap_temps;
	uint32_t nglobals;	/* temps 2..nglobals+1 are the globals (1 is env) */
	struct ir_op *ops;
	uint32_t nops, cap_ops;
	uint32_t nlabels;
	ir_ref env;		/* the env pointer, an IR_TEMP_ENV temp */
	const struct ir_helper *helpers;	/* the guest's helper table */
	uint32_t nhelpers;
	bool helpers_owned;	/* helpers was allocated by ir_add_helpers */
	/* Tools' code may be called (plugins are loaded): generated code
	 * marks guest FP in cpu_exec.fp_dirty, so that tool regions save the
	 * guest's MXCSR only when it changed (host/host.h). */
	bool fp_track;
	/* The env offset of the first scoreboard entry, which the backend
	 * keeps in a register (host.h: pinned counter); 0: none (no plugins). */
	int32_t pin_counter_off;
	uint32_t nguest_helpers;	/* the guest's rows, when helpers_owned */
	/* Constants are immutable: ir_const hands out one temp per value and
	 * type in a TB (direct-mapped; a miss just makes another temp). */
	ir_ref const_cache[64];
	/* op->dead and temp->tb_wide are ir_liveness' for the ops as they
	 * are: ir_optimize's dce computed them on the way.  Appending or
	 * inserting an op clears it; so must anything that changes ops in
	 * place after ir_optimize (exec's tb_end hook only counts them). */
	bool live_valid;
	/* The passes' per-temp work arrays (ir_scratch), kept from TB to TB
	 * so that no pass allocates per TB. */
	struct { void *p; size_t size; } scratch[IR_SCRATCH_SLOTS];
};

/* Context lifetime.  Globals are registered once (ir_new_global) and survive
 * ir_reset(); everything else is per TB. */
void ir_init(struct ir_ctx *s);
void ir_reset(struct ir_ctx *s);
ir_ref ir_new_global(struct ir_ctx *s, int32_t env_off, const char *name);
ir_ref ir_new_temp(struct ir_ctx *s, enum ir_type t);
ir_ref ir_const(struct ir_ctx *s, enum ir_type t, uint64_t v);
uint32_t ir_new_label(struct ir_ctx *s);

static inline bool ir_is_const(const struct ir_ctx *s, ir_ref r)
{
	return s->temps[r].kind == IR_TEMP_CONST;
}
static inline bool ir_helper_foreign(const struct ir_ctx *s, uint32_t helper)
{
	return s->helpers_owned && helper >= s->nguest_helpers;
}
static inline bool ir_is_global(const struct ir_ctx *s, ir_ref r)
{
	return s->temps[r].kind == IR_TEMP_GLOBAL;
}

/* Builder.  Each returns the op it appended. */
struct ir_op *ir_emit(struct ir_ctx *s, enum ir_opc opc, enum ir_type t,
		      const ir_ref *args, const int64_t *cargs);
void ir_op1(struct ir_ctx *s, enum ir_opc opc, enum ir_type t, ir_ref d, ir_ref a);
void ir_op2(struct ir_ctx *s, enum ir_opc opc, enum ir_type t, ir_ref d, ir_ref a, ir_ref b);
void ir_call(struct ir_ctx *s, uint32_t helper, ir_ref ret,
	     const ir_ref *args, unsigned nargs);
/* Append n helpers to the context's table (after the guest's); returns the
 * index of the first.  Once per context, before any TB.  Such helpers are
 * foreign (tools' code, not the guest's): the backend keeps the host FP
 * state the guest runs under (guest/x86/cpu.h: MXCSR) out of their reach,
 * restoring it after them. */
uint32_t ir_add_helpers(struct ir_ctx *s, const struct ir_helper *t, uint32_t n);
/* Append a copy of an existing op (rebuilding a TB's op list). */
struct ir_op *ir_append_op(struct ir_ctx *s, const struct ir_op *op);
/* Insert an op before index `at`, shifting the rest (instrumentation). */
struct ir_op *ir_insert(struct ir_ctx *s, uint32_t at);

/* Printer: the stable text form. */
void ir_print_op(const struct ir_ctx *s, const struct ir_op *op, FILE *f);
void ir_print(const struct ir_ctx *s, FILE *f);
const char *ir_cond_name(enum ir_cond c);

/* Verifier: returns 0 or prints the first problem and returns -1. */
int ir_verify(const struct ir_ctx *s, const char *after_pass, FILE *err);

/* A zeroed array of at least `size` bytes for a pass, numbered `slot`
 * (below IR_SCRATCH_SLOTS) by that pass.  It is the context's, reused by
 * the next pass and the next TB: a pass must not keep it, nor ask for the
 * same slot twice. */
void *ir_scratch(struct ir_ctx *s, unsigned slot, size_t size);

/* Sets of temps, one bit per ref, in ir_scratch arrays. */
static inline size_t ir_bits_size(uint32_t n)
{
	return (n + 63) / 64 * sizeof(uint64_t);
}
static inline bool ir_bit_test(const uint64_t *set, ir_ref r)
{
	return set[r / 64] >> (r % 64) & 1;
}
static inline void ir_bit_set(uint64_t *set, ir_ref r)
{
	set[r / 64] |= 1ull << (r % 64);
}
static inline void ir_bit_clear(uint64_t *set, ir_ref r)
{
	set[r / 64] &= ~(1ull << (r % 64));
}

/* Passes (ir/opt.c, ir/liveness.c). */
void opt_fold(struct ir_ctx *s);	/* constant folding + copy propagation */
void opt_dce(struct ir_ctx *s);		/* dead code and dead global stores */
void ir_liveness(struct ir_ctx *s);	/* fills op->dead for the backend
					 * (nothing to do if s->live_valid) */
void ir_optimize(struct ir_ctx *s, bool verify, FILE *log_opt);

#endif
