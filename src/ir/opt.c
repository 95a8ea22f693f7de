/*
 * The optimizer: two passes over one TB's op list, run by ir_optimize().
 *
 * opt_fold (forward) folds pure ops whose inputs are constants, applies
 * algebraic identities (x + 0, x ^ x, ...), turns branches and selects on
 * known conditions into their outcome (a brcond's own condition included,
 * on its fall-through), and propagates copies within an extended basic
 * block (a brcond's fall-through continues its block).  It may assume the
 * IR verifies.  It preserves the value of every output of every op that
 * remains, and never changes an op's outputs: a folded op becomes `mov d,x`
 * or `mov d,$c` on the same d, a resolved brcond becomes `br` or `nop`.  A
 * copy made by `mov d,a` is forgotten when d or a is written, at every
 * label, br and TB end, and (if d or a is a global) at every call that may
 * write globals; a copy made by an i32 mov stands for d only
 * where an op reads the low 32 bits.  Because propagation can turn a variable
 * shift count into a constant, a constant count >= width (undefined) is
 * reduced modulo the width, as the host does, so the result still verifies.
 *
 * opt_dce (backward) turns into nops the ops without side effects whose
 * outputs nobody reads: dead locals, and dead global stores, which is how the
 * flag thunk (cc_op, cc_dst, ...) written by every flag-setting instruction
 * disappears when the next one overwrites it.  It may assume the IR verifies.
 * It preserves every global's value wherever the guest state can be observed:
 * at basic block and TB ends, before an op that may fault, before goto_tb and
 * before a call that reads globals or may fault; between those points a
 * global store is dead if the same global is written again before any read.
 * Liveness is exact inside a basic block only: a local read outside the block
 * that wrote it is treated as live at every block end.  Run by ir_optimize,
 * it also leaves the backend's liveness (ir_liveness' op->dead and
 * temp->tb_wide) where it can, which saves that pass a walk over the ops.
 *
 * Neither pass reorders ops or follows branches; both leave nops in place
 * for the backend to skip.  Their per-temp arrays are the context's
 * (ir_scratch), reused from TB to TB, and liveness is a bitset, so that
 * making every global live (before each op that may fault) is an OR of a
 * word or two rather than a walk over the globals.
 */
#include <stdlib.h>
#include <string.h>
#include "ir/ir.h"
#include "util/log.h"

/* ---- Shared small helpers ---------------------------------------------- */

static unsigned width(unsigned t)
{
	return t == IR_I32 ? 32 : 64;
}

static uint64_t type_mask(unsigned t)
{
	return t == IR_I32 ? UINT32_MAX : UINT64_MAX;
}

static ir_ref in(const struct ir_op *op, int j)
{
	return op->args[op->nout + j];
}

static unsigned opflags(const struct ir_op *op)
{
	return ir_opdefs[op->opc].flags;
}

static void to_nop(struct ir_op *op)
{
	memset(op, 0, sizeof(*op));
	op->opc = IR_nop;
}

/* ---- opt_fold ------------------------------------------------------------ */

struct copy {
	ir_ref src;		/* 0: not a copy */
	uint32_t src_ver;	/* ver[src] when the copy was made */
	uint32_t bb;		/* fold.bb when the copy was made */
	uint32_t calls;		/* fold.calls when the copy was made */
	uint8_t bits;		/* equal in the low 64, 32 (mov_i32), 16 or 8
				 * bits (deposit d,x,y,0,8: d's low byte is y's) */
	bool global;		/* d or src is a global */
};

#define CONST_CACHE 64

/* "Bits `bits` and up of this temp are zero" (bits 32, 16, 8 or less),
 * valid in block bb and, for globals, until the next call that may write
 * globals.  bb 0 means unknown. */
struct zx {
	uint32_t bb, calls;
	uint8_t bits;
};

struct fold {
	struct ir_ctx *s;
	uint32_t n;		/* temps at entry; constants made later have no slot */
	struct copy *copy;	/* per temp: what it is a copy of */
	uint32_t *ver;		/* per temp: bumped at every write */
	uint32_t bb;		/* bumped at every basic block end */
	uint32_t calls;		/* bumped at every call that may write globals */
	ir_ref const_cache[CONST_CACHE];
	struct zx *zx;		/* per temp: known to have bits 32-63 clear */
	ir_ref second_out;	/* mulu2/muls2 folded: `mov second_out,second_val` */
	ir_ref second_val;	/* goes after the op */
	/* The last brcond's fall-through: `a cond b` holds there (cond the
	 * branch's inverted), in block bb while a and b are unwritten (and no
	 * call may have written globals). */
	struct {
		ir_ref a, b;
		uint32_t av, bv, bb, calls;
		int64_t cond;
		uint8_t type;
	} fall;
};

static bool is_const(const struct fold *f, ir_ref r)
{
	return ir_is_const(f->s, r);
}

/* The value op reads from the constant r. */
static uint64_t cval(const struct fold *f, const struct ir_op *op, ir_ref r)
{
	return f->s->temps[r].val & type_mask(op->type);
}

static bool const_is(const struct fold *f, const struct ir_op *op, ir_ref r, uint64_t v)
{
	return is_const(f, r) && cval(f, op, r) == (v & type_mask(op->type));
}

static bool all_inputs_const(const struct fold *f, const struct ir_op *op)
{
	for (int j = 0; j < op->nin; j++)
		if (!is_const(f, in(op, j)))
			return false;
	return true;
}

static ir_ref make_const(struct fold *f, unsigned t, uint64_t v)
{
	struct ir_ctx *s = f->s;
	unsigned slot = (v ^ (v >> 17) ^ (v >> 41) ^ t) % CONST_CACHE;
	ir_ref r = f->const_cache[slot];
	if (r && r < s->ntemps && s->temps[r].kind == IR_TEMP_CONST &&
	    s->temps[r].type == t && s->temps[r].val == v)
		return r;
	r = ir_const(s, t, v);
	f->const_cache[slot] = r;
	return r;
}

/* Rewrite op in place as `mov d,src` (d is its first output). */
static void to_mov(struct ir_op *op, ir_ref src)
{
	ir_ref d = op->args[0];
	if (op->type == IR_I64 && src == d) {
		to_nop(op);	/* an i32 mov truncates, so it stays */
		return;
	}
	memset(op->args, 0, sizeof(op->args));
	op->args[0] = d;
	op->args[1] = src;
	op->opc = IR_mov;
	op->nout = 1;
	op->nin = 1;
	op->cargs[0] = op->cargs[1] = 0;
}

static void to_const(struct fold *f, struct ir_op *op, uint64_t v)
{
	to_mov(op, make_const(f, op->type, v & type_mask(op->type)));
}

static void to_br(struct ir_op *op, int64_t label)
{
	to_nop(op);
	op->opc = IR_br;
	op->type = IR_I64;
	op->cargs[0] = label;
}

/* Commutative ops keep a lone constant second: `$c + x ==> x + $c`. */
static void const_second(const struct fold *f, struct ir_op *op)
{
	ir_ref a = in(op, 0), b = in(op, 1);
	if (is_const(f, a) && !is_const(f, b)) {
		op->args[op->nout] = b;
		op->args[op->nout + 1] = a;
	}
}

static bool field_valid(const struct ir_op *op)
{
	int64_t pos = op->cargs[0], len = op->cargs[1];
	return pos >= 0 && len >= 1 && pos + len <= width(op->type);
}

static uint64_t low_bits(unsigned len)
{
	return len >= 64 ? UINT64_MAX : ((uint64_t)1 << len) - 1;
}

static uint64_t bit_count(unsigned opc, unsigned w, uint64_t a)
{
	if (opc == IR_clz)
		return w == 32 ? __builtin_clz((uint32_t)a) : __builtin_clzll(a);
	return __builtin_ctzll(a);	/* a != 0 and already masked to w bits */
}

/*
 * The value of a pure single-output op on constant inputs x[] (already
 * masked to the op's width); the result is masked to the width, so i32
 * results come out zero-extended.  Shift and rotate counts are taken modulo
 * the width, as the host does.
 */
static uint64_t eval(const struct ir_op *op, const uint64_t *x)
{
	unsigned w = width(op->type);
	uint64_t a = x[0], b = op->nin > 1 ? x[1] : 0, r = 0;
	unsigned c = b & (w - 1);
	unsigned pos = op->cargs[0], len = op->cargs[1];

	switch (op->opc) {
	case IR_add: r = a + b; break;
	case IR_sub: r = a - b; break;
	case IR_mul: r = a * b; break;
	case IR_and: r = a & b; break;
	case IR_or: r = a | b; break;
	case IR_xor: r = a ^ b; break;
	case IR_andc: r = a & ~b; break;
	case IR_neg: r = -a; break;
	case IR_not: r = ~a; break;
	case IR_shl: r = a << c; break;
	case IR_shr: r = a >> c; break;
	case IR_sar:
		r = w == 32 ? (uint64_t)(int64_t)((int32_t)a >> c) : (uint64_t)((int64_t)a >> c);
		break;
	case IR_rotl: r = c ? a << c | a >> (w - c) : a; break;
	case IR_rotr: r = c ? a >> c | a << (w - c) : a; break;
	case IR_ext8s: r = (uint64_t)(int64_t)(int8_t)a; break;
	case IR_ext8u: r = (uint8_t)a; break;
	case IR_ext16s: r = (uint64_t)(int64_t)(int16_t)a; break;
	case IR_ext16u: r = (uint16_t)a; break;
	case IR_ext32s: r = (uint64_t)(int64_t)(int32_t)a; break;
	case IR_ext32u: r = (uint32_t)a; break;
	case IR_deposit:
		r = (a & ~(low_bits(len) << pos)) | ((b & low_bits(len)) << pos);
		break;
	case IR_extract: r = (a >> pos) & low_bits(len); break;
	case IR_sextract:
		r = (uint64_t)((int64_t)((a >> pos) << (64 - len)) >> (64 - len));
		break;
	case IR_bswap16: r = __builtin_bswap16((uint16_t)a); break;
	case IR_bswap32: r = __builtin_bswap32((uint32_t)a); break;
	case IR_bswap64: r = __builtin_bswap64(a); break;
	case IR_clz:
	case IR_ctz: r = a ? bit_count(op->opc, w, a) : b; break;
	case IR_ctpop: r = __builtin_popcountll(a); break;
	default: break;
	}
	return r & type_mask(op->type);
}

/* All inputs constant: replace op by `mov d,$value`.  Returns whether it did. */
static bool fold_consts(struct fold *f, struct ir_op *op)
{
	uint64_t x[IR_MAX_ARGS] = { 0 };
	if (!all_inputs_const(f, op))
		return false;
	for (int j = 0; j < op->nin; j++)
		x[j] = cval(f, op, in(op, j));
	to_const(f, op, eval(op, x));
	return true;
}

static uint32_t temp_ver(const struct fold *f, ir_ref r);

/* Whether `a c b` (type t) is what the last brcond's fall-through knows,
 * or its opposite; if so *res is its value there. */
static bool cond_after_brcond(const struct fold *f, int64_t c, unsigned t, ir_ref a, ir_ref b,
			      bool *res)
{
	if (f->fall.bb != f->bb || f->fall.calls != f->calls || !f->fall.a || t != f->fall.type ||
	    temp_ver(f, f->fall.a) != f->fall.av || temp_ver(f, f->fall.b) != f->fall.bv)
		return false;
	if (a == f->fall.b && b == f->fall.a) {
		a = f->fall.a;
		b = f->fall.b;
		c = ir_cond_swap(c);
	}
	if (a != f->fall.a || b != f->fall.b || (c & ~1) != (f->fall.cond & ~1))
		return false;
	*res = c == f->fall.cond;
	return true;
}

/*
 * Whether `a cond b` is known at translation time; if so *res is its value.
 * Known when the condition is trivial, both sides are constants, both sides
 * are the same temp, an unsigned compare is against zero, or a brcond on
 * the same compare of the same temps has just fallen through.
 */
static bool cond_known(const struct fold *f, const struct ir_op *op, bool *res)
{
	int64_t c = op->cargs[0];
	ir_ref a = in(op, 0), b = in(op, 1);

	if (c < IR_EQ || c >= IR_COND_NB)
		return false;
	if (c == IR_ALWAYS || c == IR_NEVER) {
		*res = c == IR_ALWAYS;
		return true;
	}
	if (is_const(f, a) && is_const(f, b)) {
		*res = ir_cond_eval(c, op->type, cval(f, op, a), cval(f, op, b));
		return true;
	}
	if (a == b && c != IR_TSTEQ && c != IR_TSTNE) {
		/* x == x, x <= x, x >= x hold; x != x, x < x, x > x do not */
		*res = c == IR_EQ || c == IR_GE || c == IR_LE || c == IR_GEU || c == IR_LEU;
		return true;
	}
	if (const_is(f, op, b, 0) && (c == IR_LTU || c == IR_GEU)) {
		/* x <u 0 ==> false;  x >=u 0 ==> true */
		*res = c == IR_GEU;
		return true;
	}
	return cond_after_brcond(f, c, op->type, a, b, res);
}

static void fold_mov(struct fold *f, struct ir_op *op)
{
	ir_ref a = in(op, 0);
	/* mov_i32 d,$c ==> mov_i32 d,$(c & 0xffffffff) */
	if (is_const(f, a) && f->s->temps[a].val != cval(f, op, a))
		to_const(f, op, cval(f, op, a));
	/* mov_i64 d,d ==> nop */
	else if (op->type == IR_I64 && a == op->args[0])
		to_nop(op);
}

static void fold_add(struct fold *f, struct ir_op *op)
{
	if (fold_consts(f, op))
		return;
	const_second(f, op);
	/* x + 0 ==> x */
	if (const_is(f, op, in(op, 1), 0))
		to_mov(op, in(op, 0));
}

static void fold_sub(struct fold *f, struct ir_op *op)
{
	if (fold_consts(f, op))
		return;
	/* x - 0 ==> x */
	if (const_is(f, op, in(op, 1), 0))
		to_mov(op, in(op, 0));
	/* x - x ==> 0 */
	else if (in(op, 0) == in(op, 1))
		to_const(f, op, 0);
}

static void fold_mul(struct fold *f, struct ir_op *op)
{
	if (fold_consts(f, op))
		return;
	const_second(f, op);
	/* x * 0 ==> 0 */
	if (const_is(f, op, in(op, 1), 0))
		to_const(f, op, 0);
	/* x * 1 ==> x */
	else if (const_is(f, op, in(op, 1), 1))
		to_mov(op, in(op, 0));
}

static void fold_and(struct fold *f, struct ir_op *op)
{
	if (fold_consts(f, op))
		return;
	const_second(f, op);
	/* x & 0 ==> 0 */
	if (const_is(f, op, in(op, 1), 0))
		to_const(f, op, 0);
	/* x & -1 ==> x;  x & x ==> x */
	else if (const_is(f, op, in(op, 1), UINT64_MAX) || in(op, 0) == in(op, 1))
		to_mov(op, in(op, 0));
}

static void fold_or(struct fold *f, struct ir_op *op)
{
	if (fold_consts(f, op))
		return;
	const_second(f, op);
	/* x | -1 ==> -1 */
	if (const_is(f, op, in(op, 1), UINT64_MAX))
		to_const(f, op, UINT64_MAX);
	/* x | 0 ==> x;  x | x ==> x */
	else if (const_is(f, op, in(op, 1), 0) || in(op, 0) == in(op, 1))
		to_mov(op, in(op, 0));
}

static void fold_xor(struct fold *f, struct ir_op *op)
{
	if (fold_consts(f, op))
		return;
	const_second(f, op);
	/* x ^ 0 ==> x */
	if (const_is(f, op, in(op, 1), 0))
		to_mov(op, in(op, 0));
	/* x ^ x ==> 0 */
	else if (in(op, 0) == in(op, 1))
		to_const(f, op, 0);
}

static void fold_andc(struct fold *f, struct ir_op *op)
{
	if (fold_consts(f, op))
		return;
	/* x & ~0 ==> x */
	if (const_is(f, op, in(op, 1), 0))
		to_mov(op, in(op, 0));
	/* x & ~-1 ==> 0;  x & ~x ==> 0;  0 & ~x ==> 0 */
	else if (const_is(f, op, in(op, 1), UINT64_MAX) || in(op, 0) == in(op, 1) ||
		 const_is(f, op, in(op, 0), 0))
		to_const(f, op, 0);
}

/* shl, shr, sar, rotl, rotr */
static void fold_shift(struct fold *f, struct ir_op *op)
{
	ir_ref b = in(op, 1);
	if (fold_consts(f, op))
		return;
	/* x << $c ==> x << $(c mod width): a count >= width is undefined, and
	 * copy propagation can make one constant; the verifier rejects it */
	if (is_const(f, b) && cval(f, op, b) >= width(op->type))
		op->args[op->nout + 1] = make_const(f, op->type, cval(f, op, b) & (width(op->type) - 1));
	/* x << 0 ==> x (and every shift and rotate by 0 mod width) */
	if (is_const(f, in(op, 1)) && !(cval(f, op, in(op, 1)) & (width(op->type) - 1)))
		to_mov(op, in(op, 0));
	/* 0 << x ==> 0 (and every shift and rotate of 0) */
	else if (const_is(f, op, in(op, 0), 0))
		to_const(f, op, 0);
}

/* neg, not, ext*, bswap*, ctpop: constant folding only */
static void fold_unary(struct fold *f, struct ir_op *op)
{
	fold_consts(f, op);
}

/* mulu2/muls2 lo,hi,$a,$b ==> mov lo,$lo; mov hi,$hi */
static void fold_mul2(struct fold *f, struct ir_op *op)
{
	uint64_t lo, hi;
	if (!all_inputs_const(f, op))
		return;
	uint64_t a = cval(f, op, in(op, 0)), b = cval(f, op, in(op, 1));
	if (op->type == IR_I32) {
		uint64_t p = op->opc == IR_mulu2 ? a * b
			: (uint64_t)((int64_t)(int32_t)a * (int32_t)b);
		lo = p;
		hi = p >> 32;
	} else if (op->opc == IR_mulu2) {
		unsigned __int128 p = (unsigned __int128)a * b;
		lo = (uint64_t)p;
		hi = (uint64_t)(p >> 64);
	} else {
		__int128 p = (__int128)(int64_t)a * (int64_t)b;
		lo = (uint64_t)p;
		hi = (uint64_t)((unsigned __int128)p >> 64);
	}
	f->second_out = op->args[1];
	f->second_val = make_const(f, op->type, hi & type_mask(op->type));
	to_const(f, op, lo);
}

static void fold_field(struct fold *f, struct ir_op *op)
{
	if (field_valid(op))
		fold_consts(f, op);
}

/* clz, ctz */
static void fold_count(struct fold *f, struct ir_op *op)
{
	ir_ref a = in(op, 0);
	if (!is_const(f, a))
		return;
	uint64_t x = cval(f, op, a);
	/* clz $x,y ==> $(clz x) when x != 0;  clz $0,y ==> y */
	if (x)
		to_const(f, op, bit_count(op->opc, width(op->type), x));
	else
		to_mov(op, in(op, 1));
}

static void fold_setcond(struct fold *f, struct ir_op *op)
{
	bool res;
	if (cond_known(f, op, &res))
		to_const(f, op, res);
}

static void fold_movcond(struct fold *f, struct ir_op *op)
{
	bool res;
	/* known ? t : f ==> t or f */
	if (cond_known(f, op, &res))
		to_mov(op, in(op, res ? 2 : 3));
	/* c ? x : x ==> x */
	else if (in(op, 2) == in(op, 3))
		to_mov(op, in(op, 2));
}

/* brcond t,0,eq|ne right after ext8u|ext16u|ext32u t,x (x not t) ==>
 * brcond x,mask,tsteq|tstne: the guest's byte compare branches on the low
 * byte of its difference, and the host tests that byte in place. */
static void fold_brcond_ext(struct fold *f, struct ir_op *op)
{
	static const uint64_t mask[IR_NB_OPS] = {
		[IR_ext8u] = 0xff, [IR_ext16u] = 0xffff, [IR_ext32u] = 0xffffffff,
	};
	const struct ir_ctx *s = f->s;
	int64_t cond = op->cargs[0];
	if ((cond != IR_EQ && cond != IR_NE) || !const_is(f, op, in(op, 1), 0) ||
	    ir_is_const(s, in(op, 0)))
		return;
	const struct ir_op *p = op;
	while (p > s->ops && (p - 1)->opc == IR_nop)
		p--;
	if (p == s->ops)
		return;
	p--;
	if (!mask[p->opc] || p->args[0] != in(op, 0) || p->args[1] == p->args[0] ||
	    p->type != op->type || (p->opc == IR_ext32u && op->type != IR_I64))
		return;
	op->args[0] = p->args[1];
	op->args[1] = make_const(f, op->type, mask[p->opc]);
	op->cargs[0] = cond == IR_EQ ? IR_TSTEQ : IR_TSTNE;
}

static void fold_brcond(struct fold *f, struct ir_op *op)
{
	bool res;
	/* brcond known-true ==> br;  brcond known-false ==> nop */
	if (!cond_known(f, op, &res)) {
		fold_brcond_ext(f, op);
		return;
	}
	if (res)
		to_br(op, op->cargs[1]);
	else
		to_nop(op);
}

/* How many low bits of r may be non-zero, as far as is known. */
static unsigned known_bits(const struct fold *f, ir_ref r)
{
	const struct ir_ctx *s = f->s;
	if (ir_is_const(s, r))
		return s->temps[r].val ? 64 - __builtin_clzll(s->temps[r].val) : 0;
	if (r >= f->n || f->zx[r].bb != f->bb)
		return 64;
	if (ir_is_global(s, r) && f->zx[r].calls != f->calls)
		return 64;
	return f->zx[r].bits;
}

static bool known_zext(const struct fold *f, ir_ref r)
{
	return known_bits(f, r) <= 32;
}

/* ext8u|ext16u d,a where a has no bits above the width ==> mov d,a */
static void fold_extu(struct fold *f, struct ir_op *op)
{
	if (fold_consts(f, op))
		return;
	if (known_bits(f, in(op, 0)) <= (op->opc == IR_ext8u ? 8u : 16u))
		to_mov(op, in(op, 0));
}

/* ext32u d,a where a's high half is known zero ==> mov d,a */
static void fold_ext32u(struct fold *f, struct ir_op *op)
{
	if (fold_consts(f, op))
		return;
	if (known_zext(f, in(op, 0)))
		to_mov(op, in(op, 0));
}

static void fold_op(struct fold *f, struct ir_op *op)
{
	switch (op->opc) {
	case IR_mov: fold_mov(f, op); break;
	case IR_add: fold_add(f, op); break;
	case IR_sub: fold_sub(f, op); break;
	case IR_mul: fold_mul(f, op); break;
	case IR_and: fold_and(f, op); break;
	case IR_or: fold_or(f, op); break;
	case IR_xor: fold_xor(f, op); break;
	case IR_andc: fold_andc(f, op); break;
	case IR_neg:
	case IR_not: fold_unary(f, op); break;
	case IR_shl:
	case IR_shr:
	case IR_sar:
	case IR_rotl:
	case IR_rotr: fold_shift(f, op); break;
	case IR_mulu2:
	case IR_muls2: fold_mul2(f, op); break;
	case IR_ext8s:
	case IR_ext16s:
	case IR_ext32s: fold_unary(f, op); break;
	case IR_ext8u:
	case IR_ext16u: fold_extu(f, op); break;
	case IR_ext32u: fold_ext32u(f, op); break;
	case IR_deposit:
	case IR_extract:
	case IR_sextract: fold_field(f, op); break;
	case IR_bswap16:
	case IR_bswap32:
	case IR_bswap64: fold_unary(f, op); break;
	case IR_clz:
	case IR_ctz: fold_count(f, op); break;
	case IR_ctpop: fold_unary(f, op); break;
	case IR_setcond: fold_setcond(f, op); break;
	case IR_movcond: fold_movcond(f, op); break;
	case IR_brcond: fold_brcond(f, op); break;
	default: break;
	}
}

/* Whether input j of op reads only the low 32 bits of its temp. */
static bool reads_low32(const struct ir_op *op, int j)
{
	switch (op->opc) {
	case IR_ext8s:
	case IR_ext8u:
	case IR_ext16s:
	case IR_ext16u:
	case IR_ext32s:
	case IR_ext32u:
		return true;
	case IR_call:
	case IR_goto_ptr:
	case IR_load:
		return false;	/* addresses and helper arguments are 64-bit */
	case IR_store:
	case IR_st_env:
		return op->type == IR_I32 && j == 0;
	case IR_cmpxchg:
		return op->type == IR_I32 && j >= 1;
	case IR_xchg:
	case IR_xadd:
		return op->type == IR_I32 && j == 1;
	default:
		return op->type == IR_I32;
	}
}

/* Whether input j of op reads only the low `bits` (32, 16 or 8) of its
 * temp. */
static bool reads_low(const struct ir_op *op, int j, unsigned bits)
{
	if (bits >= 32)
		return reads_low32(op, j);
	switch (op->opc) {
	case IR_ext8s:
	case IR_ext8u:
		return true;
	case IR_ext16s:
	case IR_ext16u:
		return bits >= 16;
	case IR_store:
		return j == 0 && (8u << (op->cargs[0] & IR_MO_SIZE)) <= bits;
	default:
		return false;
	}
}

static uint32_t temp_ver(const struct fold *f, ir_ref r)
{
	return r < f->n ? f->ver[r] : 0;	/* new constants are never written */
}

/* What op may read instead of r, its input j: r's copy's source, or
 * that one's (tmp := r14 after r14's low byte was deposited from a load:
 * ext8u tmp reads the load). */
static ir_ref copy_source(const struct fold *f, const struct ir_op *op, int j, ir_ref r)
{
	for (int step = 0; step < 4 && r < f->n; step++) {
		const struct copy *c = &f->copy[r];
		if (!c->src || c->bb != f->bb || c->src_ver != temp_ver(f, c->src))
			break;
		if (c->global && c->calls != f->calls)
			break;
		if (c->bits < 64 && !reads_low(op, j, c->bits))
			break;
		r = c->src;
	}
	return r;
}

static void propagate_copies(const struct fold *f, struct ir_op *op)
{
	for (int j = 0; j < op->nin; j++)
		op->args[op->nout + j] = copy_source(f, op, j, in(op, j));
}

static void note_write(struct fold *f, ir_ref d)
{
	if (d < f->n) {
		f->ver[d]++;
		f->copy[d].src = 0;
	}
}

/* d is src from here on, or equal to it in its low `bits`. */
static void set_copy(struct fold *f, ir_ref d, ir_ref src, unsigned bits)
{
	if (d == src || d >= f->n)
		return;
	f->copy[d] = (struct copy){
		.src = src,
		.src_ver = temp_ver(f, src),
		.bb = f->bb,
		.calls = f->calls,
		.bits = bits,
		.global = ir_is_global(f->s, d) || ir_is_global(f->s, src),
	};
}

static void note_copy(struct fold *f, const struct ir_op *op)
{
	ir_ref a = op->args[1];
	const struct ir_ctx *s = f->s;
	/* an i32 mov of a constant that fits is an exact copy */
	bool narrow = op->type == IR_I32 && !(ir_is_const(s, a) && s->temps[a].val <= UINT32_MAX);
	set_copy(f, op->args[0], a, narrow ? 32 : 64);
}

/* How many low bits of the op's (first) result may be non-zero, as far as
 * is known (64: nothing known). */
static unsigned result_bits(const struct fold *f, const struct ir_op *op)
{
	const struct ir_ctx *s = f->s;
	unsigned a, b, w = op->type == IR_I32 ? 32 : 64;
	if (op->nout == 0 || op->opc == IR_call)
		return 64;
	switch (op->opc) {
	case IR_ext8u: return 8;
	case IR_ext16u: return 16;
	case IR_ext32u: return 32;
	case IR_setcond: return 1;
	case IR_ctpop: return 7;
	case IR_clz: case IR_ctz:	/* a count, or the fallback b */
		b = known_bits(f, in(op, 1));
		return b > 7 ? b : 7;
	case IR_load: case IR_ld_env: case IR_ld_ptr: {
		int memop = op->opc == IR_load ? op->cargs[0] : op->cargs[1];
		if (memop & IR_MO_SIGN)
			return w;
		a = 8u << (memop & IR_MO_SIZE);
		return a < w ? a : w;
	}
	case IR_extract:
		a = op->cargs[0] + op->cargs[1] <= 64 ? op->cargs[1] : 64;
		return a < w ? a : w;
	case IR_mov:
		a = known_bits(f, in(op, 0));
		return a < w ? a : w;
	case IR_and:
		a = known_bits(f, in(op, 0));
		b = known_bits(f, in(op, 1));
		a = a < b ? a : b;
		return a < w ? a : w;
	case IR_or: case IR_xor:
		a = known_bits(f, in(op, 0));
		b = known_bits(f, in(op, 1));
		a = a > b ? a : b;
		return a < w ? a : w;
	case IR_shr:
		a = known_bits(f, in(op, 0));
		if (ir_is_const(s, in(op, 1))) {
			unsigned k = s->temps[in(op, 1)].val & (w - 1);
			a = (a < w ? a : w) > k ? (a < w ? a : w) - k : 0;
		}
		return a < w ? a : w;
	default:
		return w;
	}
}

static void note_outputs(struct fold *f, const struct ir_op *op)
{
	unsigned bits = result_bits(f, op);
	for (int k = 0; k < op->nout; k++)
		note_write(f, op->args[k]);
	if (op->nout && op->args[0] < f->n)
		f->zx[op->args[0]] = bits <= 32 ? (struct zx){ f->bb, f->calls, bits } :
						  (struct zx){ 0, 0, 64 };
	for (int k = 1; k < op->nout; k++)
		if (op->args[k] < f->n)
			f->zx[op->args[k]] = (struct zx){ 0, 0, 64 };
	if (op->opc == IR_mov)
		note_copy(f, op);
	else if (op->opc == IR_deposit && op->cargs[0] == 0 &&
		 (op->cargs[1] == 8 || op->cargs[1] == 16 || op->cargs[1] == 32))
		set_copy(f, op->args[0], op->args[2], op->cargs[1]);	/* the low len bits */
	if (op->opc == IR_call && !(op->cargs[1] & IR_CALL_NO_WRITE_GLOBALS))
		f->calls++;
	/* A brcond's fall-through is reached from it alone: what was known
	 * before it still holds there, and so does its condition's opposite.
	 * Facts end at labels (and after br and the TB's ends, where a label
	 * must come next). */
	if (op->opc == IR_brcond) {
		ir_ref a = in(op, 0), b = in(op, 1);
		f->fall.a = a;
		f->fall.b = b;
		f->fall.av = temp_ver(f, a);
		f->fall.bv = temp_ver(f, b);
		f->fall.bb = f->bb;
		f->fall.calls = f->calls;
		f->fall.cond = ir_cond_invert(op->cargs[0]);
		f->fall.type = op->type;
	} else if (opflags(op) & IR_OPF_BB_END) {
		f->bb++;
	}
}

void opt_fold(struct ir_ctx *s)
{
	struct fold f = {
		.s = s,
		.n = s->ntemps,
		.copy = ir_scratch(s, 0, s->ntemps * sizeof(struct copy)),
		.ver = ir_scratch(s, 1, s->ntemps * sizeof(uint32_t)),
		.zx = ir_scratch(s, 2, s->ntemps * sizeof(struct zx)),
		.bb = 1,
	};

	for (uint32_t i = 0; i < s->nops; i++) {
		struct ir_op *op = &s->ops[i];
		if (op->opc == IR_nop)
			continue;
		propagate_copies(&f, op);
		fold_op(&f, op);
		note_outputs(&f, op);
		if (f.second_out) {
			/* the next iteration notes this mov */
			struct ir_op *m = ir_insert(s, i + 1);
			m->opc = IR_mov;
			m->type = s->ops[i].type;
			m->nout = m->nin = 1;
			m->args[0] = f.second_out;
			m->args[1] = f.second_val;
			f.second_out = 0;
		}
	}
}

/* ---- opt_dce ------------------------------------------------------------- */

struct dce {
	struct ir_ctx *s;
	uint64_t *live;		/* bit per temp: live after the op being visited */
	uint64_t *globals;	/* bit per global (the first words of a set) */
	uint32_t gwords;	/* words of globals */
	ir_ref *cross;		/* locals that may be read in another block */
	uint32_t ncross;
	/* For ir_liveness' results computed on the way (see dce_liveness):
	 * the locals used in more than one block before any op is removed
	 * (temp->tb_wide), how many, and whether a cross local is not one. */
	uint32_t *bbs;		/* per temp; find_cross_locals' first blocks */
	uint32_t nblocks;
	uint32_t nwide, nwide_after;
	bool cross_narrow;
	/* The globals live at each label already passed (gwords words a
	 * label, bit 0 of the first word set once it is): what a branch to
	 * it needs.  A label not yet passed, a branch back, needs them all. */
	uint64_t *label_live;
};

static bool is_local(const struct ir_ctx *s, ir_ref r)
{
	return s->temps[r].kind == IR_TEMP_LOCAL;
}

/*
 * Find the locals whose value may flow from one basic block to another: read
 * in more than one block, written in more than one, or read in a block that
 * does not write them.  Blocks are numbered in op order; a BB_END op is the
 * last op of its block.  Uses scratch slots 1-3; the list goes in slot 3.
 */
static void find_cross_locals(struct dce *d)
{
	struct ir_ctx *s = d->s;
	uint32_t *bbs = ir_scratch(s, 1, 2 * s->ntemps * sizeof(uint32_t));
	uint32_t *rbb = bbs, *wbb = bbs + s->ntemps;	/* 1 + first block */
	uint64_t *multi = ir_scratch(s, 2, ir_bits_size(s->ntemps));
	uint32_t bb = 1;

	for (uint32_t i = 0; i < s->nops; i++) {
		const struct ir_op *op = &s->ops[i];
		for (int k = 0; k < op->nout + op->nin; k++) {
			ir_ref r = op->args[k];
			if (!is_local(s, r))
				continue;
			uint32_t *first = k < op->nout ? wbb : rbb;
			if (!first[r])
				first[r] = bb;
			else if (first[r] != bb)
				ir_bit_set(multi, r);
		}
		if (opflags(op) & IR_OPF_BB_END)
			bb++;
	}
	d->cross = ir_scratch(s, 3, s->ntemps * sizeof(ir_ref));
	for (ir_ref r = s->nglobals + 2; r < s->ntemps; r++) {	/* the locals */
		/* used in more than one block: ir_liveness' TB-wide */
		bool wide = ir_bit_test(multi, r) || (rbb[r] && wbb[r] && rbb[r] != wbb[r]);
		s->temps[r].tb_wide = wide;
		d->nwide += wide;
		if (rbb[r] && (ir_bit_test(multi, r) || rbb[r] != wbb[r])) {
			d->cross[d->ncross++] = r;
			d->cross_narrow |= !wide;
		}
	}
	d->bbs = bbs;
	d->nblocks = bb;
}

/* The globals are temps 2..nglobals+1 (ir_new_global), so making them all
 * live is an OR of a word or two. */
static void globals_live(struct dce *d)
{
	for (uint32_t w = 0; w < d->gwords; w++)
		d->live[w] |= d->globals[w];
}

static uint64_t *label_live(struct dce *d, uint32_t l)
{
	return &d->label_live[(size_t)l * d->gwords];
}

/* Live before a block's last op, op: the locals that cross blocks, and the
 * globals live where op may go.  Ref 0 and 1 (bits 0 and 1 of the first
 * word) are no temps, which frees bit 0 of a label's set to say the label
 * was passed. */
static void block_end_live(struct dce *d, const struct ir_op *op)
{
	int l = op->opc == IR_set_label ? (int)op->cargs[0] :
		op->opc == IR_br ? (int)op->cargs[0] : op->opc == IR_brcond ? (int)op->cargs[1] : -1;
	uint64_t *ll = l >= 0 ? label_live(d, l) : NULL;
	if (op->opc == IR_set_label) {
		/* what runs into the label needs what the label's block does */
		for (uint32_t w = 0; w < d->gwords; w++)
			ll[w] = d->live[w] & d->globals[w];
		ll[0] |= 1;
	} else if (ll && (ll[0] & 1)) {
		for (uint32_t w = 0; w < d->gwords; w++)
			d->live[w] |= ll[w] & d->globals[w];
	} else {
		globals_live(d);
	}
	for (uint32_t k = 0; k < d->ncross; k++)
		ir_bit_set(d->live, d->cross[k]);
}

/* Ops before which every global must hold its value: in env, or (at a
 * user-mode fault point, host/x86/faultmap.c) in a host register a fault
 * can read it from.  (Labels and branches within the TB need the globals
 * live where they lead: block_end_live.) */
static bool needs_globals(const struct ir_op *op)
{
	if (opflags(op) & (IR_OPF_MAY_FAULT | IR_OPF_TB_END))
		return true;
	if (op->opc == IR_goto_tb)
		return true;
	if (op->opc == IR_call)
		return !(op->cargs[1] & IR_CALL_NO_READ_GLOBALS) || (op->cargs[1] & IR_CALL_MAY_FAULT);
	return false;
}

static bool removable(const struct ir_op *op)
{
	if (op->opc == IR_call)
		return (op->cargs[1] & IR_CALL_PURE) && !(op->cargs[1] & IR_CALL_MAY_FAULT);
	return !(opflags(op) & IR_OPF_SIDE_EFFECTS);
}

static bool outputs_dead(const struct dce *d, const struct ir_op *op)
{
	for (int k = 0; k < op->nout; k++)
		if (ir_bit_test(d->live, op->args[k]))
			return false;
	return true;
}

/*
 * ir_liveness' results, on the way (ir_optimize asks for them): a block-local
 * (a local used in one basic block only) is exactly live here as there, so
 * the dead bits of its arguments follow from d->live.  Which locals are
 * block-local is known only once every dead op is gone, so the bits are
 * computed with the TB-wide set from before (find_cross_locals) and the set
 * from after is counted as the ops that stay are visited, block by block
 * from the end (numbered above nblocks, so that find_cross_locals' numbers
 * in d->bbs read as unseen).  Removing ops can only shrink the set; if it
 * did, or if some cross local is block-local (read in a block that never
 * writes it), the results are not ir_liveness' and are not kept.
 */
static void dce_note_block_use(struct dce *d, ir_ref r, uint32_t bb)
{
	uint32_t *seen = &d->bbs[r];
	if (*seen == UINT32_MAX)
		return;			/* counted */
	if (*seen <= d->nblocks) {
		*seen = bb;
	} else if (*seen != bb) {
		*seen = UINT32_MAX;
		d->nwide_after++;
	}
}

static void dce_liveness(struct dce *d, struct ir_op *op, uint32_t bb)
{
	struct ir_ctx *s = d->s;
	op->dead = 0;
	for (int k = 0; k < op->nout + op->nin; k++) {
		ir_ref r = op->args[k];
		if (is_local(s, r)) {
			if (s->temps[r].tb_wide)
				dce_note_block_use(d, r, bb);
			else if (!ir_bit_test(d->live, r))
				op->dead |= 1 << k;
		}
		/* an output is not live before the op, an input is */
		if (k < op->nout)
			ir_bit_clear(d->live, r);
		else
			ir_bit_set(d->live, r);
	}
}

static void dce(struct ir_ctx *s, bool with_liveness)
{
	uint32_t nglobal_refs = s->nglobals + 2 < s->ntemps ? s->nglobals + 2 : s->ntemps;
	struct dce d = { .s = s, .live = ir_scratch(s, 0, ir_bits_size(s->ntemps)),
			 .gwords = ir_bits_size(nglobal_refs) / sizeof(uint64_t) };
	uint32_t bb = 0;

	s->live_valid = false;
	d.globals = ir_scratch(s, 4, ir_bits_size(nglobal_refs));
	d.label_live = ir_scratch(s, 5, (size_t)s->nlabels * d.gwords * sizeof(uint64_t));
	for (ir_ref r = 2; r < nglobal_refs; r++)
		ir_bit_set(d.globals, r);
	find_cross_locals(&d);
	bb = d.nblocks + 1;
	globals_live(&d);	/* the TB's end */
	for (uint32_t i = s->nops; i-- > 0;) {
		struct ir_op *op = &s->ops[i];
		if (op->opc == IR_nop) {
			op->dead = 0;
			continue;
		}
		if (opflags(op) & IR_OPF_BB_END) {
			block_end_live(&d, op);
			bb++;	/* the op is its block's last: a block seen from the end */
		}
		if (removable(op) && outputs_dead(&d, op)) {
			to_nop(op);
			continue;
		}
		if (with_liveness) {
			/* the updates of d.live below, argument by argument, with
			 * the dead bits; the globals' bits are only ever set, so
			 * setting them last changes nothing */
			dce_liveness(&d, op, bb);
			if (needs_globals(op))
				globals_live(&d);
			continue;
		}
		for (int k = 0; k < op->nout; k++)
			ir_bit_clear(d.live, op->args[k]);
		if (needs_globals(op))
			globals_live(&d);
		for (int j = 0; j < op->nin; j++)
			ir_bit_set(d.live, in(op, j));
	}
	s->live_valid = with_liveness && d.nwide_after == d.nwide && !d.cross_narrow;
}

void opt_dce(struct ir_ctx *s)
{
	dce(s, false);
}

/* ---- The pipeline -------------------------------------------------------- */

void ir_optimize(struct ir_ctx *s, bool verify, FILE *log_opt)
{
	(void)log_opt;
	opt_fold(s);
	if (verify && ir_verify(s, "fold", stderr))
		internal_error("IR verify failed after fold");
	dce(s, true);	/* and ir_liveness' results, when it can */
	if (verify && ir_verify(s, "dce", stderr))
		internal_error("IR verify failed after dce");
}
