/*
 * Differential tests of the whole backend: IR -> the passes ir_optimize()
 * runs -> host_gen_code() -> run on this host, compared with an IR
 * interpreter run on the unoptimized IR.  The interpreter is the oracle; it is
 * written from the op list in ir.h and shares no code with the optimizer or
 * the backend (not even ir_cond_eval).
 *
 * The CPU state is a struct tcpu whose first NG words are the IR's globals;
 * the rest is reached only through ld_env/st_env (scratch) and helpers (side,
 * log), never as globals.  Both runs use the same env address, so values
 * derived from env agree.  Guest memory is one page at `mem` followed by a
 * PROT_NONE guard page: an access there is a guest fault, and the test checks
 * the backend's fault contract: the globals (env once host_fault_restore has
 * put the fault point's registers there from the signal's ucontext, as
 * exec_host_fault does) and memory seen at the fault are the interpreter's
 * state before the faulting op, and the host pc maps through the insn_start
 * table to the guest pc of that op's instruction.
 *
 * Helpers come in every arity 0-6 and with every kind of flags; those allowed
 * to read globals record a hash of the globals they see (so a missing sync
 * shows), those allowed to write them do.  Half of the programs reach the
 * helpers through far stubs, so both call encodings run.  Helpers also check
 * that the stack is 16-byte aligned at the call.
 *
 * Conventions the generated IR keeps, as the x86 frontend does: an i32-typed
 * temp is written only by i32 ops (i64 temps may be written by either); a
 * variable shl/shr/sar count is masked below the width by an explicit `and`;
 * cmpxchg's compare value fits the access size.
 *
 * Cases run in forked children, in batches: an internal_error() or a crash
 * kills the child, the parent reports the case with its IR and goes on with
 * the next.  Cases are hand-written regressions (frontend patterns, and each
 * bug this test found) followed by NRANDOM generated programs, fixed seeds.
 * Environment knobs for debugging a failure:
 *   LOOM_TEST_ONLY=i or i-j   run only those cases
 *   LOOM_TEST_REDUCE=i        shrink failing case i to a minimal op list
 *   LOOM_TEST_DISAS=1         print host code of failing cases (2: of all)
 */
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <immintrin.h>
#include <unistd.h>
#include "host/host.h"
#include "ir/ir.h"
#include "unit.h"

#define NG 12			/* globals */
#define NRANDOM 6000		/* generated programs */
#define SEED0 0x10c0ffee	/* seed of the first generated program */
#define PAGE 4096
#define MEM_SPAN 0x200		/* generated addresses: mem + [0, MEM_SPAN) (+8) */
#define CODE_SIZE (1 << 20)
#define TB_OFF 0x1000		/* TBs start here in the code buffer */
#define TB2_OFF 0x40000		/* a second TB (chaining tests) */
#define TB_PC 0x400000		/* guest pc of every test TB */
#define MAX_INSNS 600
#define MAX_REPORTS 4		/* full dumps; later failures get one line */
#define DATA_AT 0x7e5500000000ull	/* preferred address of env and memory */

struct tcpu {
	uint64_t g[NG];
	uint64_t scratch[8];	/* ld_env/st_env only */
	uint64_t side[8];	/* written by h_side behind the IR's back (vec too) */
	uint64_t log[16];	/* hashes of the globals helpers saw */
	uint64_t nlog;
	uint64_t vec[8] __attribute__((aligned(16)));	/* 4 slots of vop/vfop */
};

static const char *const gnames[NG] = {
	"rax", "rcx", "rdx", "rbx", "rsi", "rdi", "r8", "r9", "cc_op", "cc_dst", "cc_src", "pc",
};
enum { RAX, RCX, RDX, RBX, RSI, RDI, R8, R9, CC_OP, CC_DST, CC_SRC, PCG };

static struct ir_ctx S;
static ir_ref G[NG];
static uint8_t *mem, *guard;	/* guest memory page, then a PROT_NONE page */
static struct tcpu *env_area;	/* env of both the interpreter and the host run */
static uint8_t *code;		/* RWX, within rel32 of this binary if possible */
static host_enter_fn enter;
static const void *epilogue_exit;	/* goto_ptr here returns 0 */
static uint64_t ticks;		/* h_tick's and h_not3's side effect */
static uint64_t misaligned;	/* helper calls with rsp not 16-byte aligned */

/* ---- Helpers ------------------------------------------------------------ */

#define CPU(x) ((struct tcpu *)(uintptr_t)(x))
/* The ABI wants rsp 16-aligned at a call, so the callee's frame pointer is. */
#define STACK_CHECK() do { \
	if ((uintptr_t)__builtin_frame_address(0) & 15) misaligned++; \
} while (0)

static uint64_t hash_globals(const struct tcpu *c)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (int i = 0; i < NG; i++)
		h = (h ^ c->g[i]) * 0x100000001b3ull;
	return h;
}

static void observe(struct tcpu *c)
{
	if (c->nlog < 16)
		c->log[c->nlog++] = hash_globals(c);
}

__attribute__((noinline)) static uint64_t h_zero(void)
{
	STACK_CHECK();
	return 0xfeedface12345678ull;
}
__attribute__((noinline)) static uint64_t h_tick(void)
{
	STACK_CHECK();
	ticks++;
	return 0;
}
__attribute__((noinline)) static uint64_t h_not3(uint64_t a)
{
	STACK_CHECK();
	ticks += a & 0xff;
	return ~a * 3;
}
__attribute__((noinline)) static uint64_t h_pure2(uint64_t a, uint64_t b)
{
	STACK_CHECK();
	return a * 31 + (b ^ (b >> 7));
}
__attribute__((noinline)) static uint64_t h_g3_add(uint64_t env, uint64_t a)
{
	STACK_CHECK();
	struct tcpu *c = CPU(env);
	observe(c);
	c->g[RBX] += a;
	return c->g[RBX] * 3;
}
__attribute__((noinline)) static uint64_t h_read(uint64_t env, uint64_t a, uint64_t b)
{
	STACK_CHECK();
	observe(CPU(env));
	return hash_globals(CPU(env)) ^ (a + 2 * b);
}
__attribute__((noinline)) static uint64_t h_write_r8(uint64_t env, uint64_t a, uint64_t b, uint64_t c)
{
	STACK_CHECK();
	CPU(env)->g[R8] = (a - b) ^ (c << 3);
	return 0;
}
__attribute__((noinline)) static uint64_t h_side(uint64_t env, uint64_t a, uint64_t b, uint64_t c,
						 uint64_t d)
{
	STACK_CHECK();
	CPU(env)->side[a & 7] += b ^ (c * d);
	/* a vector slot too, and the scratch XMM registers a helper may use */
	CPU(env)->vec[(a >> 3) & 7] ^= b;
	__asm__ volatile("pcmpeqd %%xmm13, %%xmm13\n\tpxor %%xmm14, %%xmm14\n\tmovaps %%xmm13, %%xmm15"
			 : : : "xmm13", "xmm14", "xmm15");
	return 0;
}
__attribute__((noinline)) static uint64_t h_mix6(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
						 uint64_t e, uint64_t f)
{
	STACK_CHECK();
	return a + 3 * b + 5 * c + 7 * d + 11 * e + 13 * f + (a ^ f) * (b ^ e);
}
__attribute__((noinline)) static uint64_t h_g0_g11(uint64_t env, uint64_t a, uint64_t b, uint64_t c,
						   uint64_t d, uint64_t e)
{
	STACK_CHECK();
	struct tcpu *x = CPU(env);
	observe(x);
	x->g[RAX] ^= a + b;
	x->g[PCG] += c * d - e + x->g[RDI];
	return x->g[RAX];
}
__attribute__((noinline)) static uint64_t h_check(uint64_t env, uint64_t a)
{
	STACK_CHECK();
	observe(CPU(env));
	return a + 1;
}
__attribute__((noinline)) static uint64_t h_pure_fault(uint64_t a, uint64_t b)
{
	STACK_CHECK();
	return a ^ (b << 1);
}

enum { HZERO, HTICK, HNOT3, HPURE2, HG3, HREAD, HWR8, HSIDE, HMIX6, HG0G11, HCHECK, HPFAULT, NHELP };
static const struct ir_helper helper_rows[NHELP] = {
	[HZERO] = { "h_zero", h_zero, IR_CALL_PURE | IR_CALL_NO_GLOBALS, 0, true },
	[HTICK] = { "h_tick", h_tick, IR_CALL_NO_GLOBALS, 0, false },
	[HNOT3] = { "h_not3", h_not3, IR_CALL_NO_GLOBALS, 1, true },
	[HPURE2] = { "h_pure2", h_pure2, IR_CALL_PURE | IR_CALL_NO_GLOBALS, 2, true },
	[HG3] = { "h_g3_add", h_g3_add, 0, 2, true },
	[HREAD] = { "h_read", h_read, IR_CALL_NO_WRITE_GLOBALS, 3, true },
	[HWR8] = { "h_write_r8", h_write_r8, IR_CALL_NO_READ_GLOBALS, 4, false },
	[HSIDE] = { "h_side", h_side, IR_CALL_NO_GLOBALS, 5, false },
	[HMIX6] = { "h_mix6", h_mix6, IR_CALL_PURE | IR_CALL_NO_GLOBALS, 6, true },
	[HG0G11] = { "h_g0_g11", h_g0_g11, 0, 6, true },
	[HCHECK] = { "h_check", h_check, IR_CALL_NO_WRITE_GLOBALS | IR_CALL_MAY_FAULT, 2, true },
	[HPFAULT] = { "h_pure_fault", h_pure_fault,
		      IR_CALL_PURE | IR_CALL_NO_GLOBALS | IR_CALL_MAY_FAULT, 2, true },
};
/* Helpers whose first argument is env. */
static const bool takes_env[NHELP] = {
	[HG3] = true, [HREAD] = true, [HWR8] = true, [HSIDE] = true, [HG0G11] = true, [HCHECK] = true,
};
/* The table the IR sees: fn is the helper itself or a far stub jumping to it. */
static struct ir_helper helpers[NHELP];
static uint8_t *stubs;		/* far from code: calls to them go through r11 */

static void use_far_helpers(bool far)
{
	for (int h = 0; h < NHELP; h++) {
		helpers[h] = helper_rows[h];
		if (far && stubs)
			helpers[h].fn = stubs + 16 * h;
	}
}

static uint64_t call_helper(int h, const uint64_t *x)
{
	void *fn = helper_rows[h].fn;
	switch (helper_rows[h].nargs) {
	case 0: return ((uint64_t (*)(void))fn)();
	case 1: return ((uint64_t (*)(uint64_t))fn)(x[0]);
	case 2: return ((uint64_t (*)(uint64_t, uint64_t))fn)(x[0], x[1]);
	case 3: return ((uint64_t (*)(uint64_t, uint64_t, uint64_t))fn)(x[0], x[1], x[2]);
	case 4: return ((uint64_t (*)(uint64_t, uint64_t, uint64_t, uint64_t))fn)(x[0], x[1], x[2], x[3]);
	case 5:
		return ((uint64_t (*)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t))fn)(
			x[0], x[1], x[2], x[3], x[4]);
	default:
		return ((uint64_t (*)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t))fn)(
			x[0], x[1], x[2], x[3], x[4], x[5]);
	}
}

/* ---- The interpreter ---------------------------------------------------- */

struct outcome {
	bool fault;		/* stopped by a guest access to the guard page */
	uint32_t fault_op;	/* interpreter: index of the faulting op */
	uint64_t fault_pc;	/* guest pc of the faulting instruction */
	uint64_t ret;		/* exit_tb's value */
	/* interpreter: bit i, global G[i] was discarded (ir.h: discard) on
	 * the way out, its value in env unspecified */
	uint32_t dontcare;
};

static uint64_t width_mask(int w)
{
	return w == 64 ? UINT64_MAX : (1ull << w) - 1;
}

static uint64_t sext(uint64_t v, int bits)
{
	if (bits >= 64)
		return v;
	uint64_t sign = 1ull << (bits - 1);
	v &= (sign << 1) - 1;
	return (v ^ sign) - sign;
}

static bool cond_holds(int c, int w, uint64_t a, uint64_t b)
{
	a &= width_mask(w);
	b &= width_mask(w);
	int64_t sa = sext(a, w), sb = sext(b, w);
	switch (c) {
	case IR_EQ: return a == b;
	case IR_NE: return a != b;
	case IR_LT: return sa < sb;
	case IR_GE: return sa >= sb;
	case IR_LE: return sa <= sb;
	case IR_GT: return sa > sb;
	case IR_LTU: return a < b;
	case IR_GEU: return a >= b;
	case IR_LEU: return a <= b;
	case IR_GTU: return a > b;
	case IR_TSTEQ: return !(a & b);
	case IR_TSTNE: return (a & b) != 0;
	case IR_ALWAYS: return true;
	default: return false;
	}
}

static bool in_guard(uint64_t a)
{
	return a >= (uintptr_t)guard && a < (uintptr_t)guard + PAGE;
}

static bool in_mem(uint64_t a, int n)
{
	return a >= (uintptr_t)mem && a + n <= (uintptr_t)mem + PAGE;
}

struct interp {
	struct tcpu *env;
	uint64_t *lv;		/* locals */
	uint32_t *label_at;
	const char *error;
};

static uint64_t get(struct interp *in, ir_ref r)
{
	const struct ir_temp *t = &S.temps[r];
	uint64_t v;
	switch (t->kind) {
	case IR_TEMP_GLOBAL:
		memcpy(&v, (uint8_t *)in->env + t->env_off, 8);
		return v;
	case IR_TEMP_CONST: return t->val;
	case IR_TEMP_ENV: return (uintptr_t)in->env;
	default: return in->lv[r];
	}
}

static void put(struct interp *in, ir_ref r, uint64_t v)
{
	const struct ir_temp *t = &S.temps[r];
	if (t->kind == IR_TEMP_GLOBAL)
		memcpy((uint8_t *)in->env + t->env_off, &v, 8);
	else
		in->lv[r] = v;
}

/* Whether input j of op is a full 64-bit value (addresses, call arguments). */
static bool input_is_64(const struct ir_op *op, int j)
{
	switch (op->opc) {
	case IR_call:
	case IR_goto_ptr:
	case IR_load:
		return true;
	case IR_store:
		return j == 1;
	case IR_cmpxchg:
	case IR_xchg:
	case IR_xadd:
		return j == 0;
	default:
		return false;
	}
}

static uint64_t mem_read(uint64_t addr, int size)
{
	uint64_t v = 0;
	memcpy(&v, (void *)(uintptr_t)addr, 1 << size);
	return v;
}

static void mem_write(uint64_t addr, int size, uint64_t v)
{
	memcpy((void *)(uintptr_t)addr, &v, 1 << size);
}

/* A guest access: true to go on; false when it faults (or is out of range,
 * which is a bug in the test and sets in->error). */
static bool guest_access(struct interp *in, uint64_t addr, int size)
{
	if (in_mem(addr, 1 << size))
		return true;
	if (!in_guard(addr))
		in->error = "guest address outside the test's memory";
	return false;
}

/* Run ops; globals live in env, as helpers expect.  Returns 0 or -1. */
/* The vector ops the generator uses, on env's vec slots: the host's own
 * instruction on copies (the oracle is the CPU, as in the ISA tests; the
 * default MXCSR never traps). */
static void vec_op(struct tcpu *env, const struct ir_op *op)
{
	uint64_t o = op->cargs[1];
	int32_t d, a, b;
	if (op->opc == IR_vop)
		d = a = (uint32_t)o, b = o >> 32;
	else
		d = o & 0xffff, a = o >> 16 & 0xffff, b = o >> 32 & 0xffff;
	__m128d x, y;
	memcpy(&x, (char *)env + a, 16);
	memcpy(&y, (char *)env + b, 16);
	switch (op->opc == IR_vop ? -1 - (int)op->cargs[0] : (int)op->cargs[0]) {
	case -1 - IR_V_mov: x = y; break;
	case -1 - IR_V_movlo64: __asm__("movsd %1, %0" : "+x"(x) : "x"(y)); break;
	case -1 - IR_V_add64: __asm__("paddq %1, %0" : "+x"(x) : "x"(y)); break;
	case IR_F_addpd: __asm__("addpd %1, %0" : "+x"(x) : "x"(y)); break;
	case IR_F_subsd: __asm__("subsd %1, %0" : "+x"(x) : "x"(y)); break;
	case IR_F_mulpd: __asm__("mulpd %1, %0" : "+x"(x) : "x"(y)); break;
	case IR_F_divsd: __asm__("divsd %1, %0" : "+x"(x) : "x"(y)); break;
	case IR_F_sqrtsd: __asm__("sqrtsd %1, %0" : "+x"(x) : "x"(y)); break;
	case IR_F_maxpd: __asm__("maxpd %1, %0" : "+x"(x) : "x"(y)); break;
	default: abort();
	}
	memcpy((char *)env + d, &x, 16);
}

static int interp(const struct ir_op *ops, uint32_t nops, struct tcpu *env, struct outcome *out)
{
	static uint64_t *lv;
	static uint32_t *labels;
	lv = realloc(lv, S.ntemps * sizeof(*lv));
	labels = realloc(labels, (S.nlabels + 1) * sizeof(*labels));
	memset(lv, 0, S.ntemps * sizeof(*lv));
	struct interp in = { .env = env, .lv = lv, .label_at = labels };
	uint64_t steps = 0;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < nops; i++)
		if (ops[i].opc == IR_set_label)
			labels[ops[i].cargs[0]] = i;
	for (uint32_t i = 0; i < nops; i++) {
		const struct ir_op *op = &ops[i];
		int w = op->type == IR_I32 ? 32 : 64;
		uint64_t m = width_mask(w), x[IR_MAX_ARGS] = { 0 }, y = 0, hi = 0;
		int pos = op->cargs[0], len = op->cargs[1];
		int size = 0;

		if (++steps > 1000000) {
			in.error = "interpreter step limit";
			break;
		}
		for (int j = 0; j < op->nin; j++) {
			x[j] = get(&in, op->args[op->nout + j]);
			if (!input_is_64(op, j))
				x[j] &= m;
		}
		switch (op->opc) {
		case IR_nop: continue;
		case IR_mov: y = x[0]; break;
		case IR_add: y = x[0] + x[1]; break;
		case IR_sub: y = x[0] - x[1]; break;
		case IR_mul: y = x[0] * x[1]; break;
		case IR_and: y = x[0] & x[1]; break;
		case IR_or: y = x[0] | x[1]; break;
		case IR_xor: y = x[0] ^ x[1]; break;
		case IR_andc: y = x[0] & ~x[1]; break;
		case IR_neg: y = -x[0]; break;
		case IR_not: y = ~x[0]; break;
		case IR_shl: y = x[0] << (x[1] % w); break;
		case IR_shr: y = x[0] >> (x[1] % w); break;
		case IR_sar: y = (uint64_t)((int64_t)sext(x[0], w) >> (x[1] % w)); break;
		case IR_rotl:
		case IR_rotr: {
			unsigned n = x[1] % w;
			if (op->opc == IR_rotr)
				n = (w - n) % w;
			y = n ? (x[0] << n) | (x[0] >> (w - n)) : x[0];
			break;
		}
		case IR_mulu2:
		case IR_muls2:
			if (w == 32) {
				uint64_t p = op->opc == IR_mulu2 ? x[0] * x[1]
					: (uint64_t)((int64_t)sext(x[0], 32) * (int64_t)sext(x[1], 32));
				y = p;
				hi = p >> 32;
			} else if (op->opc == IR_mulu2) {
				unsigned __int128 p = (unsigned __int128)x[0] * x[1];
				y = p;
				hi = p >> 64;
			} else {
				__int128 p = (__int128)(int64_t)x[0] * (int64_t)x[1];
				y = p;
				hi = (unsigned __int128)p >> 64;
			}
			break;
		case IR_divu2:
		case IR_divs2:
			/* (hi:lo) / d; the programs keep to the defined cases */
			if (w == 32) {
				uint64_t n = x[0] << 32 | x[1];
				if (op->opc == IR_divu2) {
					y = n / x[2];
					hi = n % x[2];
				} else {
					y = (uint64_t)((int64_t)n / (int64_t)sext(x[2], 32));
					hi = (uint64_t)((int64_t)n % (int64_t)sext(x[2], 32));
				}
			} else if (op->opc == IR_divu2) {
				unsigned __int128 n = (unsigned __int128)x[0] << 64 | x[1];
				y = n / x[2];
				hi = n % x[2];
			} else {
				__int128 n = (__int128)((unsigned __int128)x[0] << 64 | x[1]);
				y = (uint64_t)(n / (int64_t)x[2]);
				hi = (uint64_t)(n % (int64_t)x[2]);
			}
			break;
		case IR_ext8s: y = sext(x[0], 8); break;
		case IR_ext8u: y = x[0] & 0xff; break;
		case IR_ext16s: y = sext(x[0], 16); break;
		case IR_ext16u: y = x[0] & 0xffff; break;
		case IR_ext32s: y = sext(x[0], 32); break;
		case IR_ext32u: y = x[0] & 0xffffffff; break;
		case IR_deposit: {
			uint64_t f = width_mask(len) << pos;
			y = (x[0] & ~f) | ((x[1] << pos) & f);
			break;
		}
		case IR_extract: y = (x[0] >> pos) & width_mask(len); break;
		case IR_sextract: y = sext(x[0] >> pos, len); break;
		case IR_bswap16: y = __builtin_bswap16(x[0]); break;
		case IR_bswap32: y = __builtin_bswap32(x[0]); break;
		case IR_bswap64: y = __builtin_bswap64(x[0]); break;
		case IR_clz:
			y = x[0] ? (uint64_t)(__builtin_clzll(x[0]) - (64 - w)) : x[1];
			break;
		case IR_ctz: y = x[0] ? (uint64_t)__builtin_ctzll(x[0]) : x[1]; break;
		case IR_ctpop: y = __builtin_popcountll(x[0]); break;
		case IR_setcond: y = cond_holds(op->cargs[0], w, x[0], x[1]); break;
		case IR_movcond: y = cond_holds(op->cargs[0], w, x[0], x[1]) ? x[2] : x[3]; break;
		case IR_set_label: continue;
		case IR_br: i = labels[op->cargs[0]]; continue;
		case IR_brcond:
			if (cond_holds(op->cargs[0], w, x[0], x[1]))
				i = labels[op->cargs[1]];
			continue;
		case IR_ld_env:
			size = op->cargs[1] & IR_MO_SIZE;
			y = mem_read((uintptr_t)env + op->cargs[0], size);
			if (op->cargs[1] & IR_MO_SIGN)
				y = sext(y, 8 << size);
			break;
		case IR_st_env:
			mem_write((uintptr_t)env + op->cargs[0], op->cargs[1] & IR_MO_SIZE, x[0]);
			continue;
		case IR_ld_ptr:
			size = op->cargs[1] & IR_MO_SIZE;
			/* (the pointer is 64-bit whatever the op's type) */
			y = mem_read(get(&in, op->args[1]) + op->cargs[0], size);
			if (op->cargs[1] & IR_MO_SIGN)
				y = sext(y, 8 << size);
			break;
		case IR_vop: case IR_vfop:
			vec_op(env, op);
			continue;
		case IR_load:
			size = op->cargs[0] & IR_MO_SIZE;
			if (!guest_access(&in, x[0], size))
				goto fault;
			y = mem_read(x[0], size);
			if (op->cargs[0] & IR_MO_SIGN)
				y = sext(y, 8 << size);
			break;
		case IR_store:
			size = op->cargs[0] & IR_MO_SIZE;
			if (!guest_access(&in, x[1], size))
				goto fault;
			mem_write(x[1], size, x[0]);
			continue;
		case IR_cmpxchg:
		case IR_xchg:
		case IR_xadd:
			/* the comparison is at the access size, as the host's cmpxchg */
			size = op->cargs[0] & IR_MO_SIZE;
			if (!guest_access(&in, x[0], size))
				goto fault;
			y = mem_read(x[0], size);
			if (op->opc == IR_cmpxchg) {
				if (y == (x[1] & width_mask(8 << size)))
					mem_write(x[0], size, x[2]);
			} else {
				mem_write(x[0], size, op->opc == IR_xchg ? x[1] : y + x[1]);
			}
			break;
		case IR_mb: continue;
		case IR_call:
			y = call_helper(op->cargs[0], x);
			if (op->nout)
				put(&in, op->args[0], y);
			continue;
		case IR_insn_start: continue;
		case IR_goto_tb: continue;	/* unchained: falls through */
		case IR_discard:
			for (int g = 0; g < NG; g++)
				if (G[g] == op->args[0])
					out->dontcare |= 1u << g;
			continue;
		case IR_goto_ptr:
			if (x[0] != (uintptr_t)epilogue_exit) {
				in.error = "goto_ptr to an unknown address";
				goto bad;
			}
			out->ret = 0;
			return 0;
		case IR_exit_tb:
			out->ret = op->cargs[0];
			return 0;
		default:
			in.error = "op the interpreter does not know";
			goto bad;
		}
		if (op->nout)
			put(&in, op->args[0], y & m);
		if (op->nout > 1)
			put(&in, op->args[1], hi & m);
		continue;
fault:
		if (in.error)
			goto bad;
		out->fault = true;
		out->fault_op = i;
		/* the pc the insn_start table gives: the last one before op i */
		out->fault_pc = TB_PC;
		for (uint32_t k = 0; k < i; k++)
			if (ops[k].opc == IR_insn_start)
				out->fault_pc = ops[k].cargs[0];
		return 0;
	}
	if (!in.error)
		in.error = "ran off the end of the TB";
bad:
	fprintf(stderr, "test_codegen: interpreter: %s\n", in.error);
	return -1;
}

/* ---- Running generated code -------------------------------------------- */

static sigjmp_buf native_jb;
static volatile sig_atomic_t in_native;
static volatile int sig_no;
static volatile uintptr_t sig_pc, sig_addr;
static ucontext_t sig_uc;		/* the registers at the fault */
static const char *volatile case_name;	/* for reports from a dying child */
static const struct ir_op *volatile case_ops;
static volatile uint32_t case_nops;

static void print_ops(const struct ir_op *ops, uint32_t n, FILE *f)
{
	struct ir_op *save = S.ops;
	uint32_t nsave = S.nops;
	S.ops = (struct ir_op *)ops;
	S.nops = n;
	ir_print(&S, f);
	S.ops = save;
	S.nops = nsave;
}

static void on_signal(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	sig_no = sig;
	sig_addr = (uintptr_t)si->si_addr;
	sig_pc = uc->uc_mcontext.gregs[REG_RIP];
	memcpy(&sig_uc.uc_mcontext.gregs, &uc->uc_mcontext.gregs, sizeof(sig_uc.uc_mcontext.gregs));
	if (in_native) {
		in_native = 0;
		siglongjmp(native_jb, 1);
	}
	/* the test or the backend itself crashed: say where, then die */
	fprintf(stderr, "test_codegen: %s: signal %d at pc 0x%lx addr 0x%lx outside generated code\n",
		case_name ? case_name : "?", sig, (unsigned long)sig_pc, (unsigned long)sig_addr);
	if (case_ops) {
		fprintf(stderr, "IR:\n");
		print_ops(case_ops, case_nops, stderr);
	}
	_exit(70);
}

/* A generated loop that never ends is stopped by SIGVTALRM after ms of
 * CPU time: a wall-clock limit fails cases on a loaded machine, where the
 * process may wait longer than that for a core. */
static void set_timer(int ms)
{
	struct itimerval it = { .it_value = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 } };
	setitimer(ITIMER_VIRTUAL, &it, NULL);
}

static int run_native(struct tcpu *env, const void *tb_code, struct outcome *out)
{
	memset(out, 0, sizeof(*out));
	sig_no = 0;
	if (sigsetjmp(native_jb, 1)) {
		set_timer(0);
		if (sig_no == SIGSEGV && in_guard(sig_addr)) {
			out->fault = true;
			return 0;
		}
		return -1;
	}
	in_native = 1;
	set_timer(50);
	out->ret = enter(env, tb_code);
	set_timer(0);
	in_native = 0;
	return 0;
}

/* ---- Checking one case -------------------------------------------------- */

/* Shared with the parent across the forked children. */
enum { STAGE_NONE, STAGE_OPT, STAGE_CODEGEN, STAGE_RUN };
static const char *const stage_names[] = { "the test", "the optimizer", "the backend", "generated code" };

struct shared {
	int next;		/* first case not finished */
	int cur;		/* case running */
	int stage;		/* what the running case is doing */
	int passed, failed;
	int case_failed;	/* failures in the running case */
	int failed_cases;	/* cases with at least one failure */
	int reports;		/* full failure dumps printed */
	long ops, host_bytes, faults, calls_far, loops;
};
static struct shared *sh;

static void pass(void) { sh->passed++; }

static bool reporting(void)
{
	return sh->reports < MAX_REPORTS;
}

/* One failed check; after MAX_REPORTS dumped cases only a case's first
 * failure is printed. */
static void fail_head(const char *what)
{
	sh->failed++;
	if (!sh->case_failed++)
		sh->failed_cases++;
	if (reporting())
		fprintf(stderr, "test_codegen: %s: %s\n", case_name, what);
	else if (sh->case_failed == 1)
		fprintf(stderr, "test_codegen: %s: %s (IR: LOOM_TEST_REDUCE=%d)\n", case_name, what,
			sh->cur);
}

static void dump_case(const struct ir_op *orig, uint32_t norig, const uint8_t *hc, size_t hsize)
{
	if (!reporting())
		return;
	sh->reports++;
	fprintf(stderr, "IR before optimization:\n");
	print_ops(orig, norig, stderr);
	fprintf(stderr, "IR after optimization:\n");
	ir_print(&S, stderr);
	if (hc && getenv("LOOM_TEST_DISAS")) {
		fprintf(stderr, "host code:\n");
		host_disas(stderr, hc, hsize);
	}
}

static char *memdup(const void *p, size_t n)
{
	char *q = malloc(n);
	memcpy(q, p, n);
	return q;
}

/* Extra hand-computed expectations of a regression case (on the native run). */
typedef void (*expect_fn)(const struct tcpu *native, const struct outcome *o);

static uint16_t insn_off[MAX_INSNS + 1];
static uint64_t insn_pc[MAX_INSNS + 1];

enum { CHECK_OK, CHECK_FAIL, CHECK_TEST_BUG };

/*
 * The differential check of the TB now in S, from state *init and memory
 * mem0 (PAGE bytes).  Returns CHECK_OK, CHECK_FAIL (the optimizer or the
 * backend got it wrong) or CHECK_TEST_BUG.
 */
static int check_tb(const struct tcpu *init, const uint8_t *mem0, expect_fn expect)
{
	bool ok = true;
	int fails0 = sh->failed;
	struct outcome oi, on;
	uint8_t *mem_want = NULL;
	struct tcpu want, got;
	struct tb tb = { .pc = TB_PC, .insn_host_off = insn_off, .insn_pc = insn_pc };

	if (ir_verify(&S, "test generator", stderr)) {
		fail_head("test program does not verify (bug in the test)");
		dump_case(S.ops, S.nops, NULL, 0);
		return CHECK_TEST_BUG;
	}
	uint32_t norig = S.nops;
	struct ir_op *orig = (struct ir_op *)memdup(S.ops, norig * sizeof(*orig));
	case_ops = orig;
	case_nops = norig;
	uint32_t ninsns = 0;
	for (uint32_t i = 0; i < norig; i++)
		ninsns += orig[i].opc == IR_insn_start;

	/* the oracle */
	memcpy(mem, mem0, PAGE);
	ticks = 0;
	misaligned = 0;
	/* both runs use the same env address, so env-derived values agree */
	*env_area = *init;
	int ir = interp(orig, norig, env_area, &oi);
	want = *env_area;
	if (ir) {
		fail_head("interpreter failed (bug in the test)");
		dump_case(orig, norig, NULL, 0);
		free(orig);
		return CHECK_TEST_BUG;
	}
	uint64_t ticks_want = ticks;
	mem_want = (uint8_t *)memdup(mem, PAGE);

	/* what tb.c does in a debug build: ir_optimize(&ir, true, NULL) */
	sh->stage = STAGE_OPT;
	opt_fold(&S);
	if (ir_verify(&S, "fold", stderr)) {
		fail_head("IR does not verify after opt_fold");
		ok = false;
	} else {
		opt_dce(&S);
		if (ir_verify(&S, "dce", stderr)) {
			fail_head("IR does not verify after opt_dce");
			ok = false;
		}
	}
	if (!ok) {
		dump_case(orig, norig, NULL, 0);
		goto out;
	}

	uint8_t *tbc = code + TB_OFF;
	sh->stage = STAGE_CODEGEN;
	size_t size = host_gen_code(&S, &tb, tbc, tbc, TB2_OFF - TB_OFF);
	sh->stage = STAGE_RUN;
	sh->host_bytes += size;
	if (getenv("LOOM_TEST_DISAS") && atoi(getenv("LOOM_TEST_DISAS")) > 1) {
		fprintf(stderr, "%s: host code:\n", case_name);
		host_disas(stderr, code + TB_OFF, size);
	}
	if (!size) {
		fail_head("host_gen_code produced no code");
		dump_case(orig, norig, NULL, 0);
		ok = false;
		goto out;
	}
	/* the insn_start table: every insn, in order, at nondecreasing offsets */
	bool table_ok = tb.ninsns == ninsns;
	for (uint32_t i = 0, k = 0; table_ok && i < norig; i++) {
		if (orig[i].opc != IR_insn_start)
			continue;
		table_ok = insn_pc[k] == (uint64_t)orig[i].cargs[0] && insn_off[k] < size &&
			   (k == 0 || insn_off[k] >= insn_off[k - 1]);
		k++;
	}
	if (table_ok) {
		pass();
	} else {
		fail_head("insn_start table wrong");
		ok = false;
	}

	memcpy(mem, mem0, PAGE);
	ticks = 0;
	misaligned = 0;
	*env_area = *init;
	int nr = run_native(env_area, tbc, &on);
	if (!nr && on.fault) {
		tb.code = tbc;
		host_fault_restore(&tb, sig_pc, env_area, &sig_uc);
	}
	got = *env_area;
	if (nr) {
		char buf[160];
		snprintf(buf, sizeof(buf), "generated code died: signal %d at host pc 0x%lx (TB+0x%lx), addr 0x%lx",
			 sig_no, (unsigned long)sig_pc, (unsigned long)(sig_pc - (uintptr_t)tbc),
			 (unsigned long)sig_addr);
		fail_head(buf);
		dump_case(orig, norig, tbc, size);
		ok = false;
		goto out;
	}
	if (on.fault) {
		/* the guest pc of the fault, as tb_guest_pc_of() finds it */
		uint32_t off = sig_pc - (uintptr_t)tbc;
		on.fault_pc = TB_PC;
		for (uint32_t i = 0; i < tb.ninsns && insn_off[i] <= off; i++)
			on.fault_pc = insn_pc[i];
		sh->faults++;
	}

#define DIFF(cond, ...) do { \
	if (cond) { pass(); break; } \
	char b_[200]; snprintf(b_, sizeof(b_), __VA_ARGS__); fail_head(b_); ok = false; \
} while (0)
	DIFF(on.fault == oi.fault, "interpreter %s, generated code %s", oi.fault ? "faults" : "exits",
	     on.fault ? "faults" : "exits");
	if (on.fault && oi.fault)
		DIFF(on.fault_pc == oi.fault_pc, "fault at guest pc 0x%" PRIx64 ", expected 0x%" PRIx64
		     " (op %u)", on.fault_pc, oi.fault_pc, oi.fault_op);
	if (!on.fault && !oi.fault)
		DIFF(on.ret == oi.ret, "exit value 0x%" PRIx64 ", expected 0x%" PRIx64, on.ret, oi.ret);
	for (int i = 0; i < NG; i++)
		DIFF(got.g[i] == want.g[i] || (oi.dontcare >> i & 1),
		     "global %s is 0x%" PRIx64 ", expected 0x%" PRIx64, gnames[i], got.g[i], want.g[i]);
	for (int i = 0; i < 8; i++)
		DIFF(got.scratch[i] == want.scratch[i], "env scratch[%d] is 0x%" PRIx64 ", expected 0x%" PRIx64,
		     i, got.scratch[i], want.scratch[i]);
	for (int i = 0; i < 8; i++)
		DIFF(got.vec[i] == want.vec[i], "vec[%d] is 0x%" PRIx64 ", expected 0x%" PRIx64,
		     i, got.vec[i], want.vec[i]);
	for (int i = 0; i < 8; i++)
		DIFF(got.side[i] == want.side[i], "side[%d] (h_side) is 0x%" PRIx64 ", expected 0x%" PRIx64,
		     i, got.side[i], want.side[i]);
	DIFF(got.nlog == want.nlog, "helpers reading globals ran %" PRIu64 " times, expected %" PRIu64,
	     got.nlog, want.nlog);
	for (uint64_t i = 0; i < got.nlog && i < want.nlog && i < 16; i++)
		DIFF(got.log[i] == want.log[i], "helper call %" PRIu64 " saw stale globals", i);
	DIFF(ticks == ticks_want, "h_tick/h_not3 effect %" PRIu64 ", expected %" PRIu64, ticks, ticks_want);
	DIFF(misaligned == 0, "%" PRIu64 " helper calls with a misaligned stack", (uint64_t)misaligned);
	int bad = -1;
	for (int i = 0; i < PAGE && bad < 0; i++)
		if (mem[i] != mem_want[i])
			bad = i;
	DIFF(bad < 0, "guest memory differs at mem+0x%x: 0x%02x, expected 0x%02x", bad,
	     bad < 0 ? 0 : mem[bad], bad < 0 ? 0 : mem_want[bad]);
#undef DIFF
	if (expect)
		expect(&got, &on);
	if (sh->failed != fails0 && reporting()) {
		fprintf(stderr, "test_codegen: LOOM_TEST_REDUCE=%d reduces %s\n", sh->cur, case_name);
		dump_case(orig, norig, tbc, size);
	}
out:
	case_ops = NULL;
	free(tb.fault_map);
	free(orig);
	free(mem_want);
	sh->stage = STAGE_NONE;
	return ok && sh->failed == fails0 ? CHECK_OK : CHECK_FAIL;
}

/* ---- Building IR -------------------------------------------------------- */

static ir_ref K(uint64_t v) { return ir_const(&S, IR_I64, v); }
static ir_ref K32(uint64_t v) { return ir_const(&S, IR_I32, v); }
static ir_ref T64(void) { return ir_new_temp(&S, IR_I64); }
static ir_ref T32(void) { return ir_new_temp(&S, IR_I32); }

static void op1(enum ir_opc opc, enum ir_type t, ir_ref d, ir_ref a) { ir_op1(&S, opc, t, d, a); }
static void op2(enum ir_opc opc, enum ir_type t, ir_ref d, ir_ref a, ir_ref b)
{
	ir_op2(&S, opc, t, d, a, b);
}
static void emitc(enum ir_opc opc, enum ir_type t, const ir_ref *args, int64_t c0, int64_t c1)
{
	ir_emit(&S, opc, t, args, (int64_t[]){ c0, c1 });
}
static void mov64(ir_ref d, ir_ref a) { op1(IR_mov, IR_I64, d, a); }
static void insn_start(uint64_t pc) { emitc(IR_insn_start, IR_I64, NULL, pc, 4); }
static void exit_tb(uint64_t v) { emitc(IR_exit_tb, IR_I64, NULL, v, 0); }
static void set_label(uint32_t l) { emitc(IR_set_label, IR_I64, NULL, l, 0); }
static void brcond(enum ir_type t, int cond, ir_ref a, ir_ref b, uint32_t l)
{
	emitc(IR_brcond, t, (ir_ref[]){ a, b }, cond, l);
}
static void call(int h, ir_ref ret, const ir_ref *args)
{
	ir_call(&S, h, ret, args, helpers[h].nargs);
}

static void begin_tb(void)
{
	ir_reset(&S);
}

/* ---- Random programs ---------------------------------------------------- */

#define MAXLOC 28
#define MAXBLK 24

struct gen {
	uint64_t seed;
	int nloc;
	ir_ref loc[MAXLOC];
	uint8_t loc_t[MAXLOC];
	int nblk;		/* block temps: written in this basic block */
	ir_ref blk[MAXBLK];
	uint8_t blk_t[MAXBLK];
	int npend;		/* new block temps an op is about to write */
	ir_ref pend[8];
	uint8_t pend_t[8];
	struct labels {
		uint32_t l[8];
		int n;
	} outer, body;		/* forward labels not set yet, outside and in a loop */
	bool in_loop;
	bool fault_done;
	uint64_t pc;
	uint32_t ninsns;
};

static uint64_t rnd(struct gen *g)
{
	/* splitmix64 */
	uint64_t z = (g->seed += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rn(struct gen *g, unsigned n) { return rnd(g) % n; }

static const uint64_t interesting[] = {
	0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 33, 63, 64, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000,
	0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
	0x8000000000000000ull, UINT64_MAX, UINT64_MAX - 1, 0xffffffff80000000ull,
	0xffffffff7fffffffull, 0x123456789abcdef0ull, 0xffffffffffffff80ull,
};
#define NINTERESTING (sizeof(interesting) / sizeof(interesting[0]))

static uint64_t rnd_value(struct gen *g)
{
	switch (rn(g, 4)) {
	case 0: return rnd(g);
	case 1: return rnd(g) & 0xff;
	default: return interesting[rn(g, NINTERESTING)];
	}
}

static ir_ref rnd_const(struct gen *g, enum ir_type t)
{
	uint64_t v = rnd_value(g);
	return t == IR_I32 && rn(g, 2) ? K32(v) : K(v);
}

static void reset_block(struct gen *g)
{
	g->nblk = 0;
}

static ir_ref rnd_in(struct gen *g, enum ir_type t)
{
	unsigned r = rn(g, 100);
	if (r < 22)
		return G[rn(g, NG)];
	if (r < 34)
		return rnd_const(g, t);
	if (r < 36)
		return S.env;
	if (r < 70 || !g->nblk)
		return g->loc[rn(g, g->nloc)];
	return g->blk[rn(g, g->nblk)];
}

/* A new block temp (committed to the pool after the op is emitted). */
static ir_ref new_pending(struct gen *g, enum ir_type tt)
{
	ir_ref r = ir_new_temp(&S, tt);
	if (g->npend == (int)(sizeof(g->pend) / sizeof(g->pend[0])))
		abort();
	g->pend[g->npend] = r;
	g->pend_t[g->npend++] = tt;
	return r;
}

static void commit(struct gen *g)
{
	for (int k = 0; k < g->npend; k++) {
		int slot = g->nblk < MAXBLK ? g->nblk++ : (int)rn(g, MAXBLK);
		g->blk[slot] = g->pend[k];
		g->blk_t[slot] = g->pend_t[k];
	}
	g->npend = 0;
}

/*
 * An output for an op of type t.  An i32-typed temp is only ever written by
 * i32 ops (the backend assumes its register is zero-extended); an i64 temp
 * may be written by i32 ops, as the x86 frontend does.
 */
static ir_ref rnd_out(struct gen *g, enum ir_type t)
{
	unsigned r = rn(g, 100);
	if (t == IR_I64 && r < 30)
		return G[rn(g, NG)];
	if (r < 65)
		for (int tries = 0; tries < 6; tries++) {
			int k = rn(g, g->nloc);
			if (t == IR_I32 || g->loc_t[k] == IR_I64)
				return g->loc[k];
		}
	if (r < 82 && g->nblk)
		for (int tries = 0; tries < 6; tries++) {
			int k = rn(g, g->nblk);
			if (t == IR_I32 || g->blk_t[k] == IR_I64)
				return g->blk[k];
		}
	return new_pending(g, t == IR_I64 || rn(g, 2) ? IR_I64 : IR_I32);
}

/* The op will not write r after all. */
static void drop_pending(struct gen *g, ir_ref r)
{
	for (int k = 0; k < g->npend; k++)
		if (g->pend[k] == r) {
			g->pend[k] = g->pend[--g->npend];
			g->pend_t[k] = g->pend_t[g->npend];
			return;
		}
}

/* Make the op's output the address temp a. */
static ir_ref out_is_addr(struct gen *g, ir_ref d, ir_ref a)
{
	drop_pending(g, d);
	return a;
}

static bool is_pending(struct gen *g, ir_ref r)
{
	for (int k = 0; k < g->npend; k++)
		if (g->pend[k] == r)
			return true;
	return false;
}

/* Sometimes make an input the op's own output (d = d op x patterns). */
static ir_ref maybe_self(struct gen *g, ir_ref in, ir_ref out)
{
	return !is_pending(g, out) && rn(g, 4) == 0 ? out : in;
}

/* An address in guest memory aligned to `align`, as a constant or a temp. */
static ir_ref rnd_addr(struct gen *g, unsigned align)
{
	uint64_t mask = (MEM_SPAN - 1) & ~(uint64_t)(align - 1);
	if (rn(g, 3) == 0)
		return K((uintptr_t)mem + (rnd(g) & mask));
	ir_ref off = new_pending(g, IR_I64), a = new_pending(g, IR_I64);
	op2(IR_and, IR_I64, off, rnd_in(g, IR_I64), K(mask));
	if (rn(g, 2))
		op2(IR_add, IR_I64, a, off, K((uintptr_t)mem));
	else
		op2(IR_add, IR_I64, a, K((uintptr_t)mem), off);
	return a;	/* off and a stay pending until the op is emitted */
}

static void rnd_field(struct gen *g, int w, int64_t *pos, int64_t *len)
{
	static const int special[] = { 1, 8, 16, 32, 63, 64 };
	*len = rn(g, 3) ? 1 + rn(g, w) : special[rn(g, 6)];
	if (*len > w)
		*len = w;
	*pos = rn(g, 2) ? 0 : rn(g, w - *len + 1);
}

static void rnd_insn_start(struct gen *g)
{
	if (g->ninsns >= MAX_INSNS)
		return;
	g->pc += 1 + rn(g, 15);
	insn_start(g->pc);
	g->ninsns++;
}

/* A guest access to the guard page: the TB faults here (if it gets here). */
static void rnd_fault(struct gen *g)
{
	ir_ref addr = K((uintptr_t)guard + (rnd(g) & 0x38));
	if (rn(g, 2)) {
		/* address ready in a register, then a new insn: the access may be
		 * the insn's first host instruction */
		ir_ref z = new_pending(g, IR_I64), a = new_pending(g, IR_I64);
		op1(IR_ext32u, IR_I64, z, rnd_in(g, IR_I64));
		op2(IR_shr, IR_I64, z, z, K(32));	/* 0, but not to the optimizer */
		op2(IR_add, IR_I64, a, z, addr);
		addr = a;
		rnd_insn_start(g);
	}
	switch (rn(g, 4)) {
	case 0:
		emitc(IR_load, IR_I64, (ir_ref[]){ rnd_out(g, IR_I64), addr }, IR_MO_64, 0);
		break;
	case 1:
		emitc(IR_store, IR_I64, (ir_ref[]){ rnd_in(g, IR_I64), addr }, rn(g, 4), 0);
		break;
	case 2:
		emitc(IR_xadd, IR_I64, (ir_ref[]){ rnd_out(g, IR_I64), addr, rnd_in(g, IR_I64) },
		      IR_MO_64, 0);
		break;
	default: {
		ir_ref a = new_pending(g, IR_I64);
		op2(IR_add, IR_I64, a, rnd_in(g, IR_I64), K(0));
		op2(IR_and, IR_I64, a, a, K(0x38));
		op2(IR_add, IR_I64, a, a, K((uintptr_t)guard));
		emitc(IR_load, IR_I32, (ir_ref[]){ rnd_out(g, IR_I32), a }, IR_MO_16 | IR_MO_SIGN, 0);
	}
	}
	commit(g);
}

static struct labels *scope(struct gen *g)
{
	return g->in_loop ? &g->body : &g->outer;
}

static void new_labels(struct labels *ls, int n)
{
	for (ls->n = 0; ls->n < n; ls->n++)
		ls->l[ls->n] = ir_new_label(&S);
}

/* Set one of this scope's pending labels, in any order. */
static void set_some_label(struct gen *g)
{
	struct labels *ls = scope(g);
	if (!ls->n)
		return;
	int k = rn(g, ls->n);
	set_label(ls->l[k]);
	ls->l[k] = ls->l[--ls->n];
	reset_block(g);
}

static void set_all_labels(struct gen *g)
{
	while (scope(g)->n)
		set_some_label(g);
}

static const enum ir_opc op_pool[] = {
	IR_mov, IR_mov, IR_add, IR_add, IR_sub, IR_mul, IR_and, IR_or, IR_xor, IR_andc,
	IR_neg, IR_not, IR_shl, IR_shl, IR_shr, IR_shr, IR_sar, IR_sar, IR_rotl, IR_rotr,
	IR_mulu2, IR_muls2, IR_ext8s, IR_ext8u, IR_ext16s, IR_ext16u, IR_ext32s, IR_ext32u,
	IR_deposit, IR_deposit, IR_extract, IR_sextract, IR_bswap16, IR_bswap32, IR_bswap64,
	IR_clz, IR_ctz, IR_ctpop, IR_setcond, IR_setcond, IR_movcond, IR_movcond,
	IR_ld_env, IR_st_env, IR_load, IR_load, IR_store, IR_store, IR_cmpxchg, IR_xchg,
	IR_xadd, IR_mb, IR_call, IR_call, IR_call, IR_insn_start, IR_insn_start,
	IR_brcond, IR_brcond, IR_br, IR_exit_tb, IR_nop, IR_vfop, IR_vfop, IR_vop,
};
#define NPOOL (sizeof(op_pool) / sizeof(op_pool[0]))

static void rnd_op(struct gen *g)
{
	enum ir_opc opc = op_pool[rn(g, NPOOL)];
	enum ir_type t = rn(g, 3) ? IR_I64 : IR_I32;
	int w = t == IR_I64 ? 64 : 32;
	ir_ref d, a, b;
	int64_t c0 = 0, c1 = 0;
	int size;

	switch (opc) {
	case IR_nop:
		/* the guest fault, once per program, anywhere */
		if (!g->fault_done && rn(g, 40) == 0) {
			g->fault_done = true;
			rnd_fault(g);
		}
		return;
	case IR_insn_start:
		rnd_insn_start(g);
		return;
	case IR_mb:
		emitc(IR_mb, IR_I64, NULL, 0, 0);
		return;
	case IR_br:
	case IR_brcond: {
		/* forward only: to a label of this scope, or out of a loop */
		int n = g->outer.n + (g->in_loop ? g->body.n : 0);
		if (!n)
			return;
		int k = rn(g, n);
		c1 = k < g->outer.n ? g->outer.l[k] : g->body.l[k - g->outer.n];
		if (opc == IR_br && rn(g, 3) == 0)
			emitc(IR_br, IR_I64, NULL, c1, 0);
		else
			brcond(t, rn(g, 14), rnd_in(g, t), rnd_in(g, t), c1);
		reset_block(g);
		return;
	}
	case IR_exit_tb:
		/* an early exit, when a label after it makes the rest reachable */
		if (!scope(g)->n)
			return;
		if (rn(g, 2))
			emitc(IR_goto_tb, IR_I64, NULL, rn(g, 2), 0);
		exit_tb(rn(g, 2) ? 0 : rnd(g) & ~3ull);
		if (rn(g, 2))
			set_some_label(g);
		return;
	case IR_call: {
		int h = rn(g, NHELP);
		ir_ref args[IR_MAX_CALL_ARGS];
		for (int k = 0; k < helpers[h].nargs; k++)
			args[k] = k == 0 && takes_env[h] ? S.env : rnd_in(g, IR_I64);
		if (takes_env[h] && rn(g, 4) == 0) {
			/* env through a copy */
			args[0] = T64();
			mov64(args[0], S.env);
		}
		d = helpers[h].has_ret ? rnd_out(g, IR_I64) : 0;
		call(h, d, args);
		commit(g);
		return;
	}
	default:
		break;
	}
	if (opc == IR_bswap64)
		t = IR_I64, w = 64;
	d = ir_opdefs[opc].nout ? rnd_out(g, t) : 0;
	switch (opc) {
	case IR_mov:
	case IR_neg:
	case IR_not:
	case IR_ext8s: case IR_ext8u: case IR_ext16s: case IR_ext16u: case IR_ext32s: case IR_ext32u:
	case IR_bswap16: case IR_bswap32: case IR_bswap64:
	case IR_ctpop:
		op1(opc, t, d, maybe_self(g, rnd_in(g, t), d));
		break;
	case IR_add: case IR_sub: case IR_mul: case IR_and: case IR_or: case IR_xor: case IR_andc:
		a = maybe_self(g, rnd_in(g, t), d);
		b = rn(g, 6) == 0 ? a : maybe_self(g, rnd_in(g, t), d);
		op2(opc, t, d, a, b);
		break;
	case IR_shl: case IR_shr: case IR_sar: case IR_rotl: case IR_rotr:
		a = maybe_self(g, rnd_in(g, t), d);
		if (rn(g, 2)) {
			/* constant count: in range for shifts, anything for rotates */
			if (opc == IR_rotl || opc == IR_rotr)
				b = K(rn(g, 3) ? rn(g, w) : rnd(g) & 0xff);
			else
				b = t == IR_I32 && rn(g, 2) ? K32(rn(g, w)) : K(rn(g, w));
		} else if (opc == IR_rotl || opc == IR_rotr) {
			b = rnd_in(g, t);
		} else {
			/* a variable count the program masks, as the frontend does */
			b = new_pending(g, rn(g, 2) ? IR_I64 : t);
			op2(IR_and, t, b, rnd_in(g, t), K(w - 1));
		}
		op2(opc, t, d, a, b);
		break;
	case IR_mulu2:
	case IR_muls2: {
		ir_ref hi = rnd_out(g, t);
		for (int tries = 0; hi == d && tries < 8; tries++)
			hi = rnd_out(g, t);
		if (hi == d)
			hi = new_pending(g, IR_I64);
		a = maybe_self(g, rnd_in(g, t), d);
		b = maybe_self(g, rnd_in(g, t), hi);
		emitc(opc, t, (ir_ref[]){ d, hi, a, b }, 0, 0);
		break;
	}
	case IR_deposit:
		rnd_field(g, w, &c0, &c1);
		emitc(opc, t, (ir_ref[]){ d, maybe_self(g, rnd_in(g, t), d), rnd_in(g, t) }, c0, c1);
		break;
	case IR_extract:
	case IR_sextract:
		rnd_field(g, w, &c0, &c1);
		emitc(opc, t, (ir_ref[]){ d, maybe_self(g, rnd_in(g, t), d) }, c0, c1);
		break;
	case IR_clz:
	case IR_ctz:
		a = maybe_self(g, rnd_in(g, t), d);
		switch (rn(g, 3)) {
		case 0: b = K(w); break;		/* lzcnt/tzcnt */
		case 1: b = K(rn(g, 100)); break;
		default: b = maybe_self(g, rnd_in(g, t), d); break;
		}
		op2(opc, t, d, a, b);
		break;
	case IR_setcond:
		emitc(opc, t, (ir_ref[]){ d, maybe_self(g, rnd_in(g, t), d), rnd_in(g, t) }, rn(g, 14), 0);
		break;
	case IR_movcond: {
		ir_ref x[4];
		for (int k = 0; k < 4; k++)
			x[k] = maybe_self(g, rnd_in(g, t), d);
		emitc(opc, t, (ir_ref[]){ d, x[0], x[1], x[2], x[3] }, rn(g, 14), 0);
		break;
	}
	case IR_vfop: {
		static const int fops[] = { IR_F_addpd, IR_F_subsd, IR_F_mulpd, IR_F_divsd,
					    IR_F_sqrtsd, IR_F_maxpd };
		int32_t v = offsetof(struct tcpu, vec);
		emitc(opc, IR_I64, NULL, fops[rn(g, 6)],
		      IR_FOFFS(v + 16 * rn(g, 4), v + 16 * rn(g, 4), v + 16 * rn(g, 4)));
		return;
	}
	case IR_vop: {
		static const int vops[] = { IR_V_mov, IR_V_movlo64, IR_V_add64 };
		uint64_t v = offsetof(struct tcpu, vec);
		emitc(opc, IR_I64, NULL, vops[rn(g, 3)], (v + 16 * rn(g, 4)) | (v + 16 * rn(g, 4)) << 32);
		return;
	}
	case IR_ld_env:
		size = rn(g, w == 64 ? 4 : 3);
		c0 = offsetof(struct tcpu, scratch) + rn(g, 64 - (1 << size) + 1);
		if (rn(g, 3) == 0)	/* the vector slots, behind vop/vfop's back */
			c0 += offsetof(struct tcpu, vec) - offsetof(struct tcpu, scratch);
		c1 = size | (rn(g, 2) ? IR_MO_SIGN : 0);
		emitc(opc, t, (ir_ref[]){ d }, c0, c1);
		break;
	case IR_st_env:
		size = rn(g, w == 64 ? 4 : 3);
		c0 = offsetof(struct tcpu, scratch) + rn(g, 64 - (1 << size) + 1);
		if (rn(g, 3) == 0)
			c0 += offsetof(struct tcpu, vec) - offsetof(struct tcpu, scratch);
		emitc(opc, t, (ir_ref[]){ rnd_in(g, t) }, c0, size);
		break;
	case IR_load:
		size = rn(g, w == 64 ? 4 : 3);
		a = rnd_addr(g, 1);
		if (rn(g, 6) == 0 && !ir_is_const(&S, a))
			d = out_is_addr(g, d, a);	/* load a,a */
		emitc(opc, t, (ir_ref[]){ d, a }, size | (rn(g, 2) ? IR_MO_SIGN : 0), 0);
		break;
	case IR_store:
		size = rn(g, w == 64 ? 4 : 3);
		a = rnd_addr(g, 1);
		emitc(opc, t, (ir_ref[]){ rn(g, 8) ? rnd_in(g, t) : a, a }, size, 0);
		break;
	case IR_cmpxchg: {
		size = rn(g, w == 64 ? 4 : 3);
		a = rnd_addr(g, 1 << size);
		ir_ref cmp;
		if (rn(g, 2)) {
			/* compare with what is there: the exchange happens */
			cmp = new_pending(g, IR_I64);
			emitc(IR_load, t, (ir_ref[]){ cmp, a }, size, 0);
		} else if (8 << size == w) {
			cmp = rnd_in(g, t);
		} else {
			/* the spec compares old (zero-extended) with cmp: keep cmp in range */
			cmp = new_pending(g, IR_I64);
			emitc(IR_extract, t, (ir_ref[]){ cmp, rnd_in(g, t) }, 0, 8 << size);
		}
		if (rn(g, 8) == 0 && !ir_is_const(&S, a))
			d = out_is_addr(g, d, a);
		emitc(opc, t, (ir_ref[]){ d, a, cmp, rn(g, 8) ? rnd_in(g, t) : a }, size, 0);
		break;
	}
	case IR_xchg:
	case IR_xadd:
		size = rn(g, w == 64 ? 4 : 3);
		a = rnd_addr(g, 1 << size);
		b = maybe_self(g, rn(g, 8) ? rnd_in(g, t) : a, d);
		if (rn(g, 8) == 0 && !ir_is_const(&S, a))
			d = out_is_addr(g, d, a);
		emitc(opc, t, (ir_ref[]){ d, a, b }, size, 0);
		break;
	default:
		abort();
	}
	commit(g);
}

/* A bounded backward loop: cnt = n; L: body; cnt -= 1; brcond ne cnt,0,L. */
static void rnd_loop(struct gen *g)
{
	ir_ref cnt = T64();
	uint32_t l = ir_new_label(&S);
	mov64(cnt, K(1 + rn(g, 4)));
	set_label(l);
	reset_block(g);
	g->in_loop = true;
	new_labels(&g->body, rn(g, 3));
	for (int n = 2 + rn(g, 14); n > 0; n--) {
		if (rn(g, 6) == 0)
			set_some_label(g);
		rnd_op(g);
	}
	set_all_labels(g);
	g->in_loop = false;
	op2(IR_sub, IR_I64, cnt, cnt, K(1));
	if (rn(g, 2))
		brcond(IR_I64, IR_NE, cnt, K(0), l);
	else
		brcond(IR_I32, IR_GTU, cnt, K(0), l);
	reset_block(g);
	sh->loops++;
}

static void rnd_program(uint64_t seed, struct tcpu *init, uint8_t *mem0)
{
	struct gen g = { .seed = seed, .pc = TB_PC };

	use_far_helpers(rn(&g, 2));
	if (helpers[0].fn != helper_rows[0].fn)
		sh->calls_far++;
	for (int i = 0; i < NG; i++)
		init->g[i] = rnd_value(&g);
	for (int i = 0; i < 8; i++)
		init->vec[i] = rnd_value(&g);
	for (int i = 0; i < 8; i++)
		init->scratch[i] = rnd(&g), init->side[i] = rnd(&g);
	for (int i = 0; i < PAGE; i += 8) {
		uint64_t v = rnd(&g);
		memcpy(mem0 + i, &v, 8);
	}
	begin_tb();
	g.nloc = 4 + rn(&g, MAXLOC - 3);
	insn_start(g.pc);
	g.ninsns = 1;
	for (int k = 0; k < g.nloc; k++) {
		g.loc_t[k] = rn(&g, 4) ? IR_I64 : IR_I32;
		g.loc[k] = ir_new_temp(&S, g.loc_t[k]);
		ir_ref src = rn(&g, 2) ? G[rn(&g, NG)] : K(rnd_value(&g));
		op1(IR_mov, g.loc_t[k], g.loc[k], src);
	}
	new_labels(&g.outer, rn(&g, 3) ? rn(&g, 6) : 0);
	int nops = 15 + rn(&g, 100);
	int loop_at = rn(&g, 3) == 0 ? (int)rn(&g, nops) : -1;
	int loop2_at = rn(&g, 6) == 0 ? (int)rn(&g, nops) : -1;
	int fault_at = rn(&g, 8) == 0 ? (int)rn(&g, nops + 1) : -1;
	for (int i = 0; i < nops; i++) {
		if (rn(&g, nops / (g.outer.n + 1) + 1) == 0)
			set_some_label(&g);
		if (i == loop_at || i == loop2_at)
			rnd_loop(&g);
		if (i == fault_at && !g.fault_done) {
			g.fault_done = true;
			rnd_fault(&g);
		}
		rnd_op(&g);
	}
	set_all_labels(&g);
	/* every value ends up in some global: fold locals and block temps in */
	for (int k = 0; k < g.nloc + g.nblk; k++) {
		ir_ref r = k < g.nloc ? g.loc[k] : g.blk[k - g.nloc];
		ir_ref t = T64(), dst = G[k % NG];
		op2(IR_rotl, IR_I64, t, r, K(k * 7 % 64));
		op2(IR_xor, IR_I64, dst, dst, t);
	}
	if (rn(&g, 8) == 0)
		emitc(IR_goto_tb, IR_I64, NULL, rn(&g, 2), 0);
	if (rn(&g, 10) == 0) {
		/* goto_ptr to the epilogue's exit: returns 0 */
		ir_ref p = T64();
		mov64(p, K((uintptr_t)epilogue_exit));
		emitc(IR_goto_ptr, IR_I64, (ir_ref[]){ p }, 0, 0);
	} else {
		exit_tb(rn(&g, 4) ? 0 : rnd(&g) & ~3ull);
	}
	sh->ops += S.nops;
}

/* ---- Hand-written cases ------------------------------------------------- */

static void default_state(struct tcpu *init, uint8_t *mem0, uint64_t seed)
{
	struct gen g = { .seed = seed };
	for (int i = 0; i < NG; i++)
		init->g[i] = rnd(&g) | 0x8000000100000000ull;	/* garbage in the high half */
	for (int i = 0; i < 8; i++)
		init->scratch[i] = rnd(&g), init->side[i] = rnd(&g);
	for (int i = 0; i < PAGE; i++)
		mem0[i] = rnd(&g);
	use_far_helpers(false);
}

/* Fill n locals with distinct values derived from the globals. */
static void many_live(ir_ref *t, int n)
{
	for (int k = 0; k < n; k++) {
		t[k] = T64();
		op2(IR_add, IR_I64, t[k], G[k % NG], K(0x1111 * (k + 1)));
	}
}

/* Use every one of them afterwards, so all stay live until here. */
static void fold_into(ir_ref *t, int n, ir_ref dst)
{
	for (int k = 0; k < n; k++) {
		ir_ref r = T64();
		op2(IR_rotl, IR_I64, r, t[k], K(k + 1));
		op2(IR_xor, IR_I64, dst, dst, r);
	}
}

/* The frontend's add: tmp = rax + rbx; cc_dst = tmp; cc_src = rbx; rax = tmp. */
static void lift_add(uint64_t pc, int dst, int src)
{
	ir_ref t = T64();
	insn_start(pc);
	op2(IR_add, IR_I64, t, G[dst], G[src]);
	mov64(G[CC_DST], t);
	mov64(G[CC_SRC], G[src]);
	mov64(G[dst], t);
	mov64(G[CC_OP], K(0x10));
}

static void case_flags_add(struct tcpu *init)
{
	lift_add(TB_PC, RAX, RBX);
	lift_add(TB_PC + 3, RCX, RAX);
	lift_add(TB_PC + 6, RAX, RAX);
	/* jz: branch on the last result through the thunk */
	uint32_t l = ir_new_label(&S);
	insn_start(TB_PC + 9);
	brcond(IR_I64, IR_EQ, G[CC_DST], K(0), l);
	mov64(G[PCG], K(TB_PC + 11));
	exit_tb(0);
	set_label(l);
	mov64(G[PCG], K(0x1234));
	exit_tb(0);
}

static void expect_flags_add(const struct tcpu *c, const struct outcome *o)
{
	(void)o;
	/* computed by hand from default_state's seed, independently of interp */
	static struct tcpu init;
	static uint8_t m[PAGE];
	default_state(&init, m, 1);
	uint64_t rax = init.g[RAX] + init.g[RBX];
	uint64_t rcx = init.g[RCX] + rax;
	uint64_t rax2 = rax + rax;
	CHECK_EQ(c->g[RAX], rax2);
	CHECK_EQ(c->g[RCX], rcx);
	CHECK_EQ(c->g[CC_DST], rax2);
	CHECK_EQ(c->g[CC_SRC], rax);
	CHECK_EQ(c->g[CC_OP], 0x10);
	CHECK_EQ(c->g[PCG], rax2 ? TB_PC + 11 : 0x1234);
}

/* cmp %rbx,%rax ; cmovz %rbx,%rax after copy propagation: movcond reads its
 * own destination as a compare operand. */
static void case_movcond_reads_dest(struct tcpu *init)
{
	init->g[RAX] = init->g[RBX];		/* the compare holds */
	insn_start(TB_PC);
	op2(IR_add, IR_I64, G[RAX], G[RAX], K(0));	/* dirty in a register */
	op2(IR_xor, IR_I64, G[RAX], G[RAX], K(5));
	op2(IR_xor, IR_I64, G[RBX], G[RBX], K(5));
	emitc(IR_movcond, IR_I64, (ir_ref[]){ G[RAX], G[RAX], G[RBX], G[RCX], G[RAX] }, IR_EQ, 0);
	exit_tb(0);
}

/* The same with a block-local temp. */
static void case_movcond_reads_dest_local(struct tcpu *init)
{
	ir_ref t = T64();
	insn_start(TB_PC);
	op2(IR_add, IR_I64, t, G[RAX], G[RBX]);
	emitc(IR_movcond, IR_I64, (ir_ref[]){ t, G[RCX], t, G[RDX], t }, IR_NE, 0);
	mov64(G[RSI], t);
	exit_tb(0);
}

/* mov_i32 t,t truncates an i64 temp (as `and_i32 t,t,$-1` folds to). */
static void case_mov_i32_self(struct tcpu *init)
{
	ir_ref t = T64(), u = T64();
	insn_start(TB_PC);
	op2(IR_add, IR_I64, t, G[RAX], G[RBX]);
	op1(IR_mov, IR_I32, t, t);
	mov64(G[RCX], t);
	op2(IR_add, IR_I64, u, G[RAX], G[RDX]);
	op2(IR_and, IR_I32, u, u, K(UINT64_MAX));
	mov64(G[RDX], u);
	exit_tb(0);
}

static void expect_mov_i32_self(const struct tcpu *c, const struct outcome *o)
{
	CHECK_EQ(c->g[RCX] >> 32, 0);
	CHECK_EQ(c->g[RDX] >> 32, 0);
}

/* deposit_i32 and sextract_i32 whose emitted form leaves the high half. */
static void case_i32_bitfield_high_half(struct tcpu *init)
{
	ir_ref t = T64(), u = T64(), v = T64();
	insn_start(TB_PC);
	emitc(IR_deposit, IR_I32, (ir_ref[]){ t, G[RAX], G[RBX] }, 0, 8);
	mov64(G[RCX], t);
	emitc(IR_deposit, IR_I32, (ir_ref[]){ u, G[RAX], G[RBX] }, 0, 16);
	mov64(G[RDX], u);
	emitc(IR_sextract, IR_I32, (ir_ref[]){ v, G[RAX] }, 0, 32);
	mov64(G[RSI], v);
	exit_tb(0);
}

static void expect_high_half_clear(const struct tcpu *c, const struct outcome *o)
{
	CHECK_EQ(c->g[RCX] >> 32, 0);
	CHECK_EQ(c->g[RDX] >> 32, 0);
	CHECK_EQ(c->g[RSI] >> 32, 0);
}

/* Values live across a call in caller-saved registers. */
static void case_live_across_call(struct tcpu *init)
{
	ir_ref t[12], r = T64();
	insn_start(TB_PC);
	many_live(t, 12);		/* 5 callee-saved, the rest caller-saved */
	call(HMIX6, r, (ir_ref[]){ t[11], t[10], t[9], t[8], t[7], t[6] });
	call(HG0G11, G[RSI], (ir_ref[]){ S.env, t[0], t[6], t[7], t[8], r });
	fold_into(t, 12, G[RDX]);
	mov64(G[R9], r);
	exit_tb(0);
}

/* Six arguments that already sit in each other's argument registers. */
static void case_call_arg_shuffle(struct tcpu *init)
{
	ir_ref t[14], r = T64();
	insn_start(TB_PC);
	many_live(t, 14);		/* fills rsi, rdi, r8..r11, rax, rdx, rcx */
	call(HMIX6, r, (ir_ref[]){ t[5], t[6], t[12], t[13], t[7], t[8] });
	call(HMIX6, G[RDI], (ir_ref[]){ r, t[12], t[5], t[6], t[8], t[13] });
	fold_into(t, 14, G[RCX]);
	exit_tb(0);
}

/* Variable shift counts under rcx pressure. */
static void case_shift_rcx_pressure(struct tcpu *init)
{
	ir_ref t[14], c = T64(), d = T64(), e = T64(), f = T64();
	insn_start(TB_PC);
	many_live(t, 14);		/* rcx holds t[13] */
	op2(IR_and, IR_I64, c, G[RCX], K(63));
	op2(IR_shl, IR_I64, d, t[13], c);	/* shifted value lives in rcx */
	op2(IR_shr, IR_I64, e, c, c);		/* count is also the value */
	op2(IR_and, IR_I32, f, t[12], K(31));
	op2(IR_sar, IR_I32, f, t[11], f);	/* output is the count */
	op2(IR_rotl, IR_I64, t[0], t[0], t[13]);	/* count in rcx, live after */
	op2(IR_rotr, IR_I32, t[1], t[1], t[1]);
	fold_into(t, 14, G[RDX]);
	mov64(G[RSI], d);
	mov64(G[RDI], e);
	mov64(G[R8], f);
	mov64(G[R9], c);
	exit_tb(0);
}

/* mulu2/muls2 when rax and rdx hold live (dirty) globals. */
static void case_mul2_rax_rdx_live(struct tcpu *init)
{
	ir_ref t[12], lo = T64(), hi = T64();
	insn_start(TB_PC);
	many_live(t, 12);
	op2(IR_add, IR_I64, G[RAX], G[RAX], K(1));	/* dirty globals */
	op2(IR_add, IR_I64, G[RDX], G[RDX], K(2));
	emitc(IR_mulu2, IR_I64, (ir_ref[]){ lo, hi, G[RAX], t[11] }, 0, 0);
	emitc(IR_muls2, IR_I64, (ir_ref[]){ G[RAX], G[RDX], G[RDX], G[RAX] }, 0, 0);
	emitc(IR_mulu2, IR_I32, (ir_ref[]){ t[0], t[1], t[10], lo }, 0, 0);
	fold_into(t, 12, G[RCX]);
	mov64(G[RSI], lo);
	mov64(G[RDI], hi);
	exit_tb(0);
}

/* Eleven live values fill every register but rax, rdx and rcx; a muls2
 * leaves the globals rax and rdx dirty in host rax and rdx; the next mulu2
 * must move both out of the way without parking one in the other's place. */
static void case_mul2_evict_order(struct tcpu *init)
{
	ir_ref t[11], lo = T64(), hi = T64();
	insn_start(TB_PC);
	many_live(t, 11);
	emitc(IR_muls2, IR_I64, (ir_ref[]){ G[RAX], G[RDX], G[RDX], G[RAX] }, 0, 0);
	emitc(IR_mulu2, IR_I64, (ir_ref[]){ lo, hi, t[0], t[1] }, 0, 0);
	fold_into(t, 11, G[RCX]);
	mov64(G[RSI], lo);
	mov64(G[RDI], hi);
	exit_tb(0);
}

/* divu2/divs2 with their operands in every place: the dividend's halves
 * in the globals that live in rax and rdx (dirty), swapped, the divisor
 * in rax or rdx or a constant, and eleven values live around them.  The
 * operands are made defined (high half below the divisor, or the sign
 * extension of the low half) as the frontend's check makes them. */
static void case_div2_operands(struct tcpu *init)
{
	ir_ref t[11], q = T64(), r = T64(), d = T64(), h = T64();
	insn_start(TB_PC);
	many_live(t, 11);
	op2(IR_or, IR_I64, d, G[RBX], K(1u << 20));		/* nonzero */
	op2(IR_and, IR_I64, h, G[RDX], K(0xfffff));		/* below d */
	op2(IR_add, IR_I64, G[RAX], G[RAX], K(1));		/* dirty globals */
	emitc(IR_divu2, IR_I64, (ir_ref[]){ q, r, h, G[RAX], d }, 0, 0);
	mov64(G[RSI], q);
	mov64(G[RDI], r);
	/* signed, the dividend in rdx:rax the sign extension of rax, the
	 * divisor rax's own copy plus 2 (never 0 or -1 when rax is small) */
	op2(IR_and, IR_I64, G[RAX], G[RAX], K(0x7fff));
	op2(IR_sub, IR_I64, G[RAX], K(3), G[RAX]);
	op2(IR_sar, IR_I64, G[RDX], G[RAX], K(63));
	emitc(IR_divs2, IR_I64, (ir_ref[]){ G[RAX], G[RDX], G[RDX], G[RAX], K(-7) }, 0, 0);
	/* 32-bit (whose results are locals: globals are written whole) */
	op2(IR_and, IR_I64, h, G[R8], K(0xffff));
	op2(IR_or, IR_I64, d, G[R9], K(0x10000));
	emitc(IR_divu2, IR_I32, (ir_ref[]){ q, r, h, G[RAX], d }, 0, 0);
	op1(IR_ext32u, IR_I64, G[R8], q);
	op1(IR_ext32u, IR_I64, G[R9], r);
	op2(IR_and, IR_I64, h, t[10], K(0x7fffffff));
	emitc(IR_divs2, IR_I32, (ir_ref[]){ t[0], t[1], K(0), h, K(5) }, 0, 0);
	fold_into(t, 11, G[RCX]);
	exit_tb(0);
}

/* env as an ordinary operand (frontends pass env+offset to helpers). */
static void case_env_operand(struct tcpu *init)
{
	ir_ref t[4];
	for (int k = 0; k < 4; k++)
		t[k] = T64();
	insn_start(TB_PC);
	emitc(IR_mulu2, IR_I64, (ir_ref[]){ t[0], t[1], S.env, G[RBX] }, 0, 0);
	op2(IR_shl, IR_I64, t[2], G[RAX], S.env);	/* count: env & 63 */
	op2(IR_add, IR_I64, t[3], S.env, K(offsetof(struct tcpu, side)));
	call(HPURE2, G[RSI], (ir_ref[]){ t[3], S.env });
	fold_into(t, 4, G[RCX]);
	exit_tb(0);
}

/* An i32-typed local handed from one i32 mov to the next. */
static void case_i32_local_handover(struct tcpu *init)
{
	ir_ref a = T32(), b = T32(), c = T64();
	insn_start(TB_PC);
	op2(IR_add, IR_I32, a, G[RAX], G[RBX]);
	op1(IR_mov, IR_I32, b, a);
	op1(IR_mov, IR_I64, c, b);
	op2(IR_add, IR_I64, G[RCX], c, K(1));
	exit_tb(0);
}

/* cmpxchg when rax holds the address, the new value or a live global. */
static void case_cmpxchg_rax(struct tcpu *init)
{
	ir_ref t[12], a = T64(), old = T64(), cmp = T64();
	insn_start(TB_PC);
	many_live(t, 12);		/* t[11] is in rax */
	op2(IR_add, IR_I64, a, K((uintptr_t)mem + 0x40), K(0));
	mov64(a, K((uintptr_t)mem + 0x40));
	emitc(IR_load, IR_I64, (ir_ref[]){ cmp, a }, IR_MO_64, 0);
	emitc(IR_cmpxchg, IR_I64, (ir_ref[]){ old, a, cmp, t[11] }, IR_MO_64, 0);
	emitc(IR_cmpxchg, IR_I64, (ir_ref[]){ G[RAX], a, G[RAX], a }, IR_MO_64, 0);
	ir_ref c8 = T64();
	op1(IR_ext8u, IR_I64, c8, t[11]);
	emitc(IR_cmpxchg, IR_I32, (ir_ref[]){ t[3], a, c8, t[4] }, IR_MO_8, 0);
	fold_into(t, 12, G[RCX]);
	mov64(G[RSI], old);
	exit_tb(0);
}

/* More than 40 live values across branches, a call and a memory op. */
static void case_heavy_spill(struct tcpu *init)
{
	ir_ref t[40];
	uint32_t l = ir_new_label(&S);
	insn_start(TB_PC);
	many_live(t, 40);
	brcond(IR_I64, IR_LTU, t[3], t[39], l);
	op2(IR_mul, IR_I64, t[5], t[5], t[38]);
	set_label(l);
	call(HG3, t[7], (ir_ref[]){ S.env, t[20] });
	emitc(IR_store, IR_I64, (ir_ref[]){ t[21], K((uintptr_t)mem + 8) }, IR_MO_64, 0);
	fold_into(t, 40, G[RDX]);
	exit_tb(0);
}

/* Dirty globals must reach env before a faulting store and at a bounded
 * backward loop's edges. */
static void case_fault_and_loop(struct tcpu *init)
{
	ir_ref cnt = T64(), t = T64();
	uint32_t l = ir_new_label(&S);
	insn_start(TB_PC);
	mov64(cnt, K(5));
	set_label(l);
	insn_start(TB_PC + 4);
	op2(IR_add, IR_I64, G[RAX], G[RAX], G[RBX]);
	op2(IR_mul, IR_I64, G[RBX], G[RBX], K(3));
	op2(IR_sub, IR_I64, cnt, cnt, K(1));
	brcond(IR_I64, IR_NE, cnt, K(0), l);
	insn_start(TB_PC + 8);
	op2(IR_xor, IR_I64, G[RCX], G[RAX], G[RBX]);
	mov64(t, G[RCX]);
	insn_start(TB_PC + 12);
	emitc(IR_store, IR_I64, (ir_ref[]){ t, K((uintptr_t)guard + 16) }, IR_MO_64, 0);
	mov64(G[RDX], K(99));
	exit_tb(0);
}

static void expect_fault_pc(const struct tcpu *c, const struct outcome *o)
{
	CHECK(o->fault);
	CHECK_EQ(o->fault_pc, TB_PC + 12);
	CHECK(c->g[RDX] != 99);
}

/* The faulting store is the first host instruction of its guest insn. */
static void case_fault_first_insn(struct tcpu *init)
{
	ir_ref a = T64(), t = T64();
	insn_start(TB_PC);
	init->scratch[0] = (uintptr_t)guard + 8;
	/* the address and value in registers (an ld_env does not fold away) */
	emitc(IR_ld_env, IR_I64, (ir_ref[]){ a }, offsetof(struct tcpu, scratch), IR_MO_64);
	op2(IR_add, IR_I64, t, G[RAX], K(1));
	insn_start(TB_PC + 12);
	emitc(IR_store, IR_I64, (ir_ref[]){ t, a }, IR_MO_32, 0);
	mov64(G[RDX], K(99));
	exit_tb(0);
}

/* clz/ctz of zero through the bsr/bsf fallback; 32-bit inputs with garbage
 * above; every condition of setcond. */
static void case_counts_and_conds(struct tcpu *init)
{
	ir_ref z = T64(), t[8];
	init->g[R8] = 0xffffffff00000000ull;	/* zero in the low half */
	insn_start(TB_PC);
	mov64(z, G[R8]);
	for (int k = 0; k < 8; k++)
		t[k] = T64();
	op2(IR_clz, IR_I32, t[0], z, G[RAX]);
	op2(IR_ctz, IR_I32, t[1], z, K(32));
	op2(IR_clz, IR_I64, t[2], G[RBX], G[RCX]);
	op2(IR_ctz, IR_I64, t[3], G[RBX], K(64));
	op2(IR_clz, IR_I32, t[4], G[RBX], t[0]);
	op1(IR_ctpop, IR_I32, t[5], G[RBX]);
	op2(IR_ctz, IR_I64, t[6], K(0), G[RDX]);
	op2(IR_clz, IR_I64, t[7], z, K(64));
	fold_into(t, 8, G[RSI]);
	for (int c = 0; c < 14; c++) {
		ir_ref s = T64(), s32 = T64();
		emitc(IR_setcond, IR_I64, (ir_ref[]){ s, G[RAX], G[RBX] }, c, 0);
		emitc(IR_setcond, IR_I32, (ir_ref[]){ s32, G[RAX], z }, c, 0);
		op2(IR_shl, IR_I64, s, s, K(c));
		op2(IR_shl, IR_I64, s32, s32, K(c + 20));
		op2(IR_or, IR_I64, G[RDI], G[RDI], s);
		op2(IR_or, IR_I64, G[RDI], G[RDI], s32);
	}
	exit_tb(0);
}

/* A tool's per-block tags in loom's static data (syscov.c): compared
 * with a register straight from memory (ld_ptr fused into the brcond),
 * the unequal case branching to an out-of-line path after the TB's exit
 * that branches back (a tool's tb_end). */
static uint32_t tags_for_test[3] = { 7, 9, 7 };

static void case_tag_compare_out_of_line(struct tcpu *init)
{
	init->g[RAX] = 7;
	insn_start(TB_PC);
	uint32_t cold[3], back[3];
	for (int k = 0; k < 3; k++) {
		ir_ref t = T32();
		cold[k] = ir_new_label(&S);
		back[k] = ir_new_label(&S);
		emitc(IR_ld_ptr, IR_I32, (ir_ref[]){ t, K((uintptr_t)&tags_for_test[k]) }, 0, IR_MO_32);
		emitc(IR_brcond, IR_I32, (ir_ref[]){ G[RAX], t }, IR_NE, cold[k]);
		set_label(back[k]);
		op2(IR_add, IR_I64, G[RBX], G[RBX], K(1 << k));
	}
	exit_tb(0);
	for (int k = 0; k < 3; k++) {
		set_label(cold[k]);
		op2(IR_add, IR_I64, G[RCX], G[RCX], K(16 << k));
		emitc(IR_br, IR_I64, NULL, back[k], 0);
	}
}

/* TB 1 of the chaining test: rax += 1; goto_tb 0; exit 0x5550. */
static void build_chain_tb1(void)
{
	insn_start(TB_PC);
	op2(IR_add, IR_I64, G[RAX], G[RAX], K(1));
	emitc(IR_goto_tb, IR_I64, NULL, 0, 0);
	exit_tb(0x5550);
}

/* goto_tb falls through until patched; patched, it runs the second TB;
 * goto_ptr jumps to a host address; exit_tb returns its value. */
static void test_chaining_patch(void)
{
	/* TB 2: rax += 100; exit 0x7770 */
	struct tb tb2 = { .pc = TB_PC + 0x100, .insn_host_off = insn_off, .insn_pc = insn_pc };
	uint8_t *c2 = code + TB2_OFF;
	begin_tb();
	insn_start(TB_PC + 0x100);
	op2(IR_add, IR_I64, G[RAX], G[RAX], K(100));
	exit_tb(0x7770);
	ir_optimize(&S, true, NULL);
	size_t n2 = host_gen_code(&S, &tb2, c2, c2, 0x1000);

	/* TB 1: rax += 1; goto_tb 0; exit 0x5550 */
	struct tb tb1 = { .pc = TB_PC, .insn_host_off = insn_off, .insn_pc = insn_pc };
	uint8_t *c1 = code + TB_OFF;
	begin_tb();
	build_chain_tb1();
	ir_optimize(&S, true, NULL);
	size_t n1 = host_gen_code(&S, &tb1, c1, c1, 0x1000);
	if (!n1 || !n2) {
		fail_head("no code for the chaining TBs");
		return;
	}
	/* the rel32 of the patchable jmp is 4-byte aligned */
	bool aligned = ((uintptr_t)c1 + tb1.jmp_insn[0] + 1) % 4 == 0 && c1[tb1.jmp_insn[0]] == 0xe9 &&
		       tb1.jmp_reset[0] == tb1.jmp_insn[0] + 5;
	if (aligned)
		pass();
	else
		fail_head("goto_tb jump not at an aligned rel32");

	struct tcpu c = { .g = { 10 } };
	uintptr_t r = enter(&c, c1);
	if (r == 0x5550 && c.g[RAX] == 11)
		pass();
	else
		fail_head("unchained goto_tb did not fall through to exit_tb");

	host_patch_jump(c1 + tb1.jmp_insn[0], c1 + tb1.jmp_insn[0], c2);
	c.g[RAX] = 10;
	r = enter(&c, c1);
	if (r == 0x7770 && c.g[RAX] == 111)
		pass();
	else
		fail_head("chained goto_tb did not run the second TB");

	/* goto_ptr to the second TB */
	begin_tb();
	ir_ref p = T64();
	insn_start(TB_PC);
	op2(IR_add, IR_I64, G[RAX], G[RAX], K(5));
	mov64(p, K((uintptr_t)c2));
	emitc(IR_goto_ptr, IR_I64, (ir_ref[]){ p }, 0, 0);
	ir_optimize(&S, true, NULL);
	if (!host_gen_code(&S, &tb1, c1, c1, 0x1000)) {
		fail_head("no code for the goto_ptr TB");
		return;
	}
	c.g[RAX] = 10;
	r = enter(&c, c1);
	if (r == 0x7770 && c.g[RAX] == 115)
		pass();
	else
		fail_head("goto_ptr did not run the second TB with globals in env");
}

/* A TB beyond what one TB may hold (too many branches, too much code) is
 * not generated: HOST_GEN_TOO_BIG, with tb.ninsns the instructions begun
 * before the backend stopped, so the exec layer can translate fewer. */
static void test_too_big(void)
{
	struct tb tb = { .pc = TB_PC, .insn_host_off = insn_off, .insn_pc = insn_pc };
	uint8_t *c1 = code + TB_OFF;

	begin_tb();
	for (int i = 0; i < 300; i++) {	/* 300 branches to labels */
		uint32_t l = ir_new_label(&S);
		insn_start(TB_PC + 4 * i);
		brcond(IR_I64, IR_EQ, G[RAX], K(i), l);
		op2(IR_add, IR_I64, G[RBX], G[RBX], K(1));
		set_label(l);
	}
	exit_tb(0);
	ir_optimize(&S, true, NULL);
	size_t n = host_gen_code(&S, &tb, c1, c1, TB2_OFF - TB_OFF);
	if (n == HOST_GEN_TOO_BIG && tb.ninsns > 1 && tb.ninsns < 300)
		pass();
	else
		fail_head("300 branches: no HOST_GEN_TOO_BIG with the instructions begun");

	begin_tb();
	for (int i = 0; i < 500; i++) {	/* 500 * 16 stores of 8 bytes: > 64 KiB */
		insn_start(TB_PC + 4 * i);
		for (int k = 0; k < 16; k++)
			emitc(IR_st_env, IR_I64, (ir_ref[]){ K(0x1234567890ull + i * 16 + k) },
			      (int64_t)offsetof(struct tcpu, scratch) + 8 * (k % 8), IR_MO_64);
	}
	exit_tb(0);
	ir_optimize(&S, true, NULL);
	tb.ninsns = 0;
	n = host_gen_code(&S, &tb, c1, c1, TB2_OFF - TB_OFF);
	if (n == HOST_GEN_TOO_BIG && tb.ninsns > 1 && tb.ninsns < 500)
		pass();
	else
		fail_head("64 KiB of code: no HOST_GEN_TOO_BIG with the instructions begun");
}

struct hand_case {
	const char *name;
	void (*build)(struct tcpu *init);
	expect_fn expect;
};

/* The guest's addresses as the frontend builds them, each one lea:
 * a scaled index and a displacement, base + index + disp32, an index that
 * is also the base; and adds into registers of their own (i32 too). */
static void case_address_lea(struct tcpu *init)
{
	(void)init;
	ir_ref t = T64(), d = T64(), e = T64(), u = T64(), v = T64(), w = T64(), x = T64();
	ir_ref y = T32();
	insn_start(TB_PC);
	op2(IR_shl, IR_I64, t, G[RBX], K(2));
	op2(IR_add, IR_I64, d, G[RAX], t);
	op2(IR_add, IR_I64, e, d, K(-8));
	mov64(G[RSI], e);
	op2(IR_add, IR_I64, u, G[RCX], G[RDX]);
	op2(IR_add, IR_I64, v, u, K(0x7fffffff));
	mov64(G[RDI], v);
	op2(IR_shl, IR_I64, w, G[RCX], K(3));
	op2(IR_add, IR_I64, x, w, G[RCX]);
	mov64(G[RAX], x);
	op2(IR_add, IR_I64, G[RBX], G[RBX], K(1));
	op2(IR_add, IR_I32, y, G[RDX], K32(0xfffffff0));
	mov64(G[RCX], y);
	exit_tb(0);
}

static void expect_address_lea(const struct tcpu *c, const struct outcome *o)
{
	(void)o;
	static struct tcpu init;
	static uint8_t m[PAGE];
	default_state(&init, m, 1);
	const uint64_t *g = init.g;
	CHECK_EQ(c->g[RSI], g[RAX] + (g[RBX] << 2) - 8);
	CHECK_EQ(c->g[RDI], g[RCX] + g[RDX] + 0x7fffffff);
	CHECK_EQ(c->g[RAX], (g[RCX] << 3) + g[RCX]);
	CHECK_EQ(c->g[RBX], g[RBX] + 1);
	CHECK_EQ(c->g[RCX], (uint32_t)(g[RDX] + 0xfffffff0));
	CHECK_EQ(c->g[RDX], g[RDX]);
}

/* User-mode accesses whose address chain folds into the access: base +
 * disp, base + index, base + scaled index + disp, base - disp, a stored
 * constant, a sign-extending i32 load, a loaded pointer (its register
 * takes the value) and one chain the access must not take (its temp read
 * again).  The interpreter is the oracle. */
static void case_address_mode(struct tcpu *init)
{
	init->g[RSI] = (uintptr_t)mem;
	init->g[RDI] = (uintptr_t)mem + 256;
	init->g[RCX] = 5;
	init->g[RDX] = 100;
	ir_ref t[16];
	for (int k = 0; k < 16; k++)
		t[k] = T64();
	ir_ref h = T32();
	insn_start(TB_PC);
	op2(IR_add, IR_I64, t[0], G[RSI], K(8));
	emitc(IR_load, IR_I64, (ir_ref[]){ G[RAX], t[0] }, IR_MO_64, 0);
	op2(IR_add, IR_I64, t[1], G[RSI], G[RDX]);
	emitc(IR_store, IR_I64, (ir_ref[]){ K(0x12345678), t[1] }, IR_MO_32, 0);
	op2(IR_shl, IR_I64, t[2], G[RCX], K(3));
	op2(IR_add, IR_I64, t[3], G[RSI], t[2]);
	op2(IR_add, IR_I64, t[4], t[3], K(16));
	emitc(IR_load, IR_I64, (ir_ref[]){ G[RBX], t[4] }, IR_MO_64, 0);
	op2(IR_sub, IR_I64, t[5], G[RDI], K(24));
	emitc(IR_store, IR_I64, (ir_ref[]){ G[RAX], t[5] }, IR_MO_16, 0);
	op2(IR_shl, IR_I64, t[6], G[RCX], K(1));
	op2(IR_add, IR_I64, t[7], t[6], G[RDI]);
	emitc(IR_load, IR_I32, (ir_ref[]){ h, t[7] }, IR_MO_16 | IR_MO_SIGN, 0);
	mov64(G[R8], h);
	/* a pointer stored, loaded back and followed */
	op2(IR_add, IR_I64, t[8], G[RSI], K(200));
	emitc(IR_store, IR_I64, (ir_ref[]){ G[RDI], t[8] }, IR_MO_64, 0);
	op2(IR_add, IR_I64, t[9], G[RSI], K(200));
	emitc(IR_load, IR_I64, (ir_ref[]){ t[10], t[9] }, IR_MO_64, 0);
	op2(IR_add, IR_I64, t[11], t[10], K(-40));
	emitc(IR_load, IR_I64, (ir_ref[]){ G[R9], t[11] }, IR_MO_64, 0);
	/* the address read after the access: computed, not folded */
	op2(IR_add, IR_I64, t[12], G[RDI], K(32));
	emitc(IR_load, IR_I64, (ir_ref[]){ G[RDX], t[12] }, IR_MO_8, 0);
	mov64(G[RCX], t[12]);
	exit_tb(0);
}

/* A faulting access through a folded address chain: the guest pc of its
 * instruction, and nothing after it done. */
static void case_fault_amode(struct tcpu *init)
{
	init->g[RDI] = (uintptr_t)guard;
	init->g[RCX] = 2;
	ir_ref a = T64(), b = T64(), d = T64();
	insn_start(TB_PC);
	op2(IR_add, IR_I64, G[RAX], G[RAX], K(1));
	insn_start(TB_PC + 12);
	op2(IR_shl, IR_I64, a, G[RCX], K(2));
	op2(IR_add, IR_I64, b, G[RDI], a);
	op2(IR_add, IR_I64, d, b, K(8));
	emitc(IR_load, IR_I64, (ir_ref[]){ G[RBX], d }, IR_MO_32, 0);
	mov64(G[RDX], K(99));
	exit_tb(0);
}

/* Exits whose successor overwrites the flags discard their globals
 * (ir.h: discard).  A flags value live only up to a fault point (a load)
 * is stored on neither side of a branch both of whose exits discard it;
 * a side exit that discards it leaves it out of its recorded stores (a
 * pending constant here) while the fall-through, which does not, keeps it.
 * Everything else is stored.
 * (The interpreter leaves discarded globals unchecked; the expectations
 * below check that env still holds their values from before the TB.) */
static void discard_flags(void)
{
	static const int cc[] = { CC_OP, CC_DST, CC_SRC };
	for (int k = 0; k < 3; k++)
		emitc(IR_discard, IR_I64, (ir_ref[]){ G[cc[k]] }, 0, 0);
}

/* side: the fall-through goes on with guest work and keeps the flags;
 * else a load (a fault point) needs them and both exits discard them. */
static void build_discard(struct tcpu *init, uint64_t rsi, bool side)
{
	init->g[RSI] = rsi;
	ir_ref t = T64();
	uint32_t l = ir_new_label(&S);
	insn_start(TB_PC);
	op2(IR_add, IR_I64, t, G[RAX], G[RBX]);
	mov64(G[CC_DST], t);
	mov64(G[CC_OP], K(7));
	if (side) {
		mov64(G[RCX], t);
	} else {
		insn_start(TB_PC + 4);
		emitc(IR_load, IR_I64, (ir_ref[]){ G[R8], K((uintptr_t)mem + 8) }, IR_MO_64, 0);
	}
	brcond(IR_I64, IR_TSTNE, G[RSI], K(1), l);
	if (side) {
		insn_start(TB_PC + 4);
		op2(IR_add, IR_I64, G[RDX], G[RDX], K(5));
	} else {
		discard_flags();
	}
	emitc(IR_goto_tb, IR_I64, NULL, 0, 0);
	mov64(G[PCG], K(1));
	exit_tb(0);
	set_label(l);
	discard_flags();
	emitc(IR_goto_tb, IR_I64, NULL, 1, 0);
	mov64(G[PCG], K(2));
	exit_tb(0);
}

static void case_discard_both_0(struct tcpu *init) { build_discard(init, 0, false); }
static void case_discard_both_1(struct tcpu *init) { build_discard(init, 1, false); }

static void expect_discard_both(const struct tcpu *c, const struct outcome *o)
{
	(void)o;
	static struct tcpu init;
	static uint8_t m[PAGE];
	default_state(&init, m, 1);
	CHECK_EQ(c->g[CC_DST], init.g[CC_DST]);
	CHECK_EQ(c->g[CC_OP], init.g[CC_OP]);
	CHECK_EQ(c->g[PCG], (c->g[RSI] & 1) + 1);
}

static void case_discard_side_0(struct tcpu *init) { build_discard(init, 0, true); }
static void case_discard_side_1(struct tcpu *init) { build_discard(init, 1, true); }

static void expect_discard_side(const struct tcpu *c, const struct outcome *o)
{
	(void)o;
	static struct tcpu init;
	static uint8_t m[PAGE];
	default_state(&init, m, 1);
	uint64_t t = init.g[RAX] + init.g[RBX];
	CHECK_EQ(c->g[RCX], t);
	if (c->g[RSI] & 1) {
		/* (cc_dst, a copy of a temp read on, is stored at the copy) */
		CHECK_EQ(c->g[CC_OP], init.g[CC_OP]);
	} else {
		CHECK_EQ(c->g[CC_DST], t);
		CHECK_EQ(c->g[CC_OP], 7);
	}
}

/* Branches on the low byte, word and dword (a byte compare's jcc), with
 * the bits above them set. */
static void case_low_bits_branch(struct tcpu *init)
{
	init->g[RAX] = 0x1234567800ull;
	init->g[RBX] = 0x100000000ull;
	init->g[RSI] = 0x7fff0001ull;
	uint32_t l = ir_new_label(&S);
	insn_start(TB_PC);
	brcond(IR_I64, IR_TSTNE, G[RAX], K(0xff), l);
	brcond(IR_I64, IR_TSTNE, G[RBX], K(0xffffffff), l);
	brcond(IR_I64, IR_TSTEQ, G[RSI], K(0xffff), l);
	brcond(IR_I32, IR_TSTNE, G[RAX], K32(0xff), l);
	mov64(G[PCG], K(1));
	exit_tb(0);
	set_label(l);
	mov64(G[PCG], K(2));
	exit_tb(0);
}

static void expect_low_bits_branch(const struct tcpu *c, const struct outcome *o)
{
	(void)o;
	CHECK_EQ(c->g[PCG], 1);
}

static const struct hand_case hand_cases[] = {
	{ "flags_add", case_flags_add, expect_flags_add },
	{ "address_lea", case_address_lea, expect_address_lea },
	{ "low_bits_branch", case_low_bits_branch, expect_low_bits_branch },
	{ "address_mode", case_address_mode, NULL },
	{ "fault_amode", case_fault_amode, expect_fault_pc },
	{ "discard_both_0", case_discard_both_0, expect_discard_both },
	{ "discard_both_1", case_discard_both_1, expect_discard_both },
	{ "discard_side_0", case_discard_side_0, expect_discard_side },
	{ "discard_side_1", case_discard_side_1, expect_discard_side },
	{ "movcond_reads_dest", case_movcond_reads_dest, NULL },
	{ "movcond_reads_dest_local", case_movcond_reads_dest_local, NULL },
	{ "mov_i32_self", case_mov_i32_self, expect_mov_i32_self },
	{ "i32_bitfield_high_half", case_i32_bitfield_high_half, expect_high_half_clear },
	{ "live_across_call", case_live_across_call, NULL },
	{ "call_arg_shuffle", case_call_arg_shuffle, NULL },
	{ "shift_rcx_pressure", case_shift_rcx_pressure, NULL },
	{ "mul2_rax_rdx_live", case_mul2_rax_rdx_live, NULL },
	{ "mul2_evict_order", case_mul2_evict_order, NULL },
	{ "div2_operands", case_div2_operands, NULL },
	{ "env_operand", case_env_operand, NULL },
	{ "i32_local_handover", case_i32_local_handover, NULL },
	{ "cmpxchg_rax", case_cmpxchg_rax, NULL },
	{ "heavy_spill", case_heavy_spill, NULL },
	{ "fault_and_loop", case_fault_and_loop, expect_fault_pc },
	{ "fault_first_insn", case_fault_first_insn, expect_fault_pc },
	{ "counts_and_conds", case_counts_and_conds, NULL },
	{ "tag_compare_out_of_line", case_tag_compare_out_of_line, NULL },
};
#define NHAND (int)(sizeof(hand_cases) / sizeof(hand_cases[0]))

/* ---- Driver ------------------------------------------------------------- */

static char namebuf[64];

/* Build case i's IR in S and its initial state; false for the chaining test
 * (which builds and runs its own TBs). */
static bool build_case(int i, struct tcpu *init, uint8_t *mem0)
{
	memset(init, 0, sizeof(*init));
	if (i < NHAND) {
		snprintf(namebuf, sizeof(namebuf), "case %d (%s)", i, hand_cases[i].name);
		host_use_bmi2(true);
		default_state(init, mem0, 1);
		begin_tb();
		hand_cases[i].build(init);
	} else if (i == NHAND) {
		snprintf(namebuf, sizeof(namebuf), "case %d (chaining)", i);
		return false;
	} else {
		uint64_t seed = SEED0 + (i - NHAND - 1);
		/* every other program as on a host without BMI2 (variable
		 * shifts through cl, no rorx in the probe) */
		bool bmi2 = seed & 1;
		snprintf(namebuf, sizeof(namebuf), "case %d (random, seed %" PRIu64 "%s)", i, seed,
			 bmi2 ? "" : ", no BMI2");
		host_use_bmi2(bmi2);
		rnd_program(seed, init, mem0);
	}
	case_name = namebuf;
	return true;
}

static void run_case(int i)
{
	static struct tcpu init;
	static uint8_t mem0[PAGE];

	if (!build_case(i, &init, mem0)) {
		case_name = namebuf;
		test_chaining_patch();
		test_too_big();
		return;
	}
	int f0 = sh->failed;
	check_tb(&init, mem0, i < NHAND ? hand_cases[i].expect : NULL);
	/* CHECKs in expect functions count in this process */
	if (unit_failed && !sh->case_failed++)
		sh->failed_cases++;
	sh->passed += unit_passed;
	sh->failed += unit_failed;
	unit_passed = unit_failed = 0;
	if (i < NHAND && sh->failed != f0)
		fprintf(stderr, "test_codegen: %s FAILED\n", namebuf);
}

/* ---- Reducing a failing case (LOOM_TEST_REDUCE=case-index) -------------- */

/* Run the check of ops in a child; returns its CHECK_* status, CHECK_FAIL if
 * it died. */
static int check_in_child(const struct ir_op *ops, uint32_t n, const struct tcpu *init,
			  const uint8_t *mem0, bool quiet)
{
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		if (quiet) {
			FILE *null = fopen("/dev/null", "w");
			if (null)
				dup2(fileno(null), 2);
		}
		S.nops = 0;
		for (uint32_t k = 0; k < n; k++)
			*ir_insert(&S, S.nops) = ops[k];
		sh->reports = 0;
		_exit(check_tb(init, mem0, NULL));
	}
	int status;
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) <= CHECK_TEST_BUG)
		return WEXITSTATUS(status);
	return CHECK_FAIL;
}

static void reduce(int i)
{
	static struct tcpu init;
	static uint8_t mem0[PAGE];
	if (!build_case(i, &init, mem0))
		return;
	uint32_t n = S.nops;
	struct ir_op *ops = (struct ir_op *)memdup(S.ops, n * sizeof(*ops));
	struct ir_op *cand = malloc(n * sizeof(*cand));
	if (check_in_child(ops, n, &init, mem0, true) != CHECK_FAIL) {
		fprintf(stderr, "test_codegen: %s does not fail\n", namebuf);
		return;
	}
	/* ddmin-style: drop chunks (never the final exit), halving the chunk */
	for (uint32_t chunk = n / 2; chunk >= 1;) {
		bool changed = false;
		for (uint32_t start = 0; start + 1 < n;) {
			uint32_t end = start + chunk < n - 1 ? start + chunk : n - 1, m = 0;
			for (uint32_t k = 0; k < n; k++)
				if (k < start || k >= end)
					cand[m++] = ops[k];
			if (check_in_child(cand, m, &init, mem0, true) == CHECK_FAIL) {
				memcpy(ops, cand, m * sizeof(*ops));
				n = m;
				changed = true;
			} else {
				start += chunk;
			}
		}
		if (!changed)
			chunk /= 2;
	}
	fprintf(stderr, "test_codegen: %s reduced to %u ops:\n", namebuf, n);
	print_ops(ops, n, stderr);
	fprintf(stderr, "its check:\n");
	check_in_child(ops, n, &init, mem0, false);
	fprintf(stderr, "initial globals:");
	for (int k = 0; k < NG; k++)
		fprintf(stderr, " %s=0x%" PRIx64, gnames[k], init.g[k]);
	fputc('\n', stderr);
	free(ops);
	free(cand);
}

static void setup(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	ir_init(&S);
	for (int i = 0; i < NG; i++)
		G[i] = ir_new_global(&S, offsetof(struct tcpu, g) + 8 * i, gnames[i]);
	use_far_helpers(false);
	S.helpers = helpers;
	S.nhelpers = NHELP;

	/* env, guest memory and the guard page at a fixed address when the
	 * kernel agrees, so a seed's constants are the same in every run */
	uint8_t *m = mmap((void *)DATA_AT, 3 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || mprotect(m + 2 * PAGE, PAGE, PROT_NONE)) {
		perror("mmap");
		exit(2);
	}
	env_area = (struct tcpu *)m;
	mem = m + PAGE;
	guard = m + 2 * PAGE;

	/* code near this binary so helper calls can be rel32; stubs anywhere */
	uintptr_t near = ((uintptr_t)&h_zero & ~(uintptr_t)0xfffff) + 0x4000000;
	code = mmap((void *)near, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	stubs = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED || stubs == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	int64_t dist = (int64_t)((uintptr_t)stubs - (uintptr_t)code);
	if (dist == (int32_t)dist)
		stubs = NULL;	/* not far: the r11 path goes untested */
	for (int h = 0; stubs && h < NHELP; h++) {
		/* jmp *0(%rip); .quad fn */
		uint8_t *s = stubs + 16 * h;
		static const uint8_t jmp[6] = { 0xff, 0x25, 0, 0, 0, 0 };
		uint64_t fn = (uintptr_t)helper_rows[h].fn;
		memcpy(s, jmp, 6);
		memcpy(s + 6, &fn, 8);
	}
	host_gen_prologue(code, code, TB_OFF, &enter, &epilogue_exit);

	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_NODEFER };
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	sigaction(SIGVTALRM, &sa, NULL);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void unit_main(void)
{
	int ncases = NHAND + 1 + NRANDOM;
	double t0 = now();

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	setup();
	if (getenv("LOOM_TEST_REDUCE")) {
		reduce(atoi(getenv("LOOM_TEST_REDUCE")));
		return;
	}
	/* LOOM_TEST_ONLY=i or i-j runs only those cases */
	const char *only = getenv("LOOM_TEST_ONLY");
	if (only) {
		char *end;
		sh->next = strtol(only, &end, 0);
		ncases = (*end == '-' ? strtol(end + 1, NULL, 0) : sh->next) + 1;
	}
	/* Batches in forked children: one that dies is reported and skipped. */
	while (sh->next < ncases) {
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		if (pid == 0) {
			for (int i = sh->next; i < ncases; i++) {
				sh->cur = i;
				sh->case_failed = 0;
				sh->stage = STAGE_NONE;
				run_case(i);
				sh->next = i + 1;
			}
			fflush(stderr);
			_exit(0);
		}
		int status;
		waitpid(pid, &status, 0);
		if (sh->next >= ncases)
			break;
		/* say which case and where, with its IR */
		static struct tcpu init;
		static uint8_t mem0[PAGE];
		int i = sh->cur, stage = sh->stage;
		long ops = sh->ops, loops = sh->loops, far = sh->calls_far;
		bool built = build_case(i, &init, mem0);
		sh->ops = ops, sh->loops = loops, sh->calls_far = far;
		sh->failed++;
		sh->failed_cases++;
		fprintf(stderr, "test_codegen: %s died in %s (%s %d); LOOM_TEST_REDUCE=%d reduces it\n",
			namebuf, stage_names[stage], WIFSIGNALED(status) ? "signal" : "exit status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), i);
		if (built && reporting()) {
			sh->reports++;
			ir_print(&S, stderr);
		}
		sh->next = i + 1;
	}
	unit_passed += sh->passed;
	unit_failed += sh->failed;
	fprintf(stderr, "test_codegen: %d hand-written cases, %d random programs (%ld IR ops, %ld loops, "
		"%ld guest faults, %ld with far helper calls), %ld host bytes, %.2f s; %d cases failed\n",
		NHAND + 1, NRANDOM, sh->ops, sh->loops, sh->faults, sh->calls_far, sh->host_bytes,
		now() - t0, sh->failed_cases);
}
