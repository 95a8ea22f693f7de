/*
 * Unit tests for the IR verifier and the optimizer passes (ir/verify.c,
 * ir/opt.c).  Each test builds a TB programmatically on a context whose
 * globals look like the x86 frontend's (rax.., the cc_* flag thunk, pc),
 * runs a pass and checks the op list or its printed form.  A small fake
 * helper table covers calls.  Every optimized TB must still verify.
 */
#include <stdlib.h>
#include <string.h>
#include "ir/ir.h"
#include "unit.h"

static struct ir_ctx S;
static ir_ref rax, rbx, rcx, rdx, cc_op, cc_dst, cc_src, pc;

enum { H_RW, H_NOWRITE, H_NOREAD, H_PURE, H_PURE_FAULT };
static const struct ir_helper helpers[] = {
	[H_RW] = { .name = "h_rw", .flags = 0, .nargs = 1, .has_ret = true },
	[H_NOWRITE] = { .name = "h_nowrite", .flags = IR_CALL_NO_WRITE_GLOBALS, .nargs = 1 },
	[H_NOREAD] = { .name = "h_noread", .flags = IR_CALL_NO_READ_GLOBALS, .nargs = 1 },
	[H_PURE] = { .name = "h_pure", .flags = IR_CALL_PURE | IR_CALL_NO_GLOBALS,
		     .nargs = 2, .has_ret = true },
	[H_PURE_FAULT] = { .name = "h_pure_fault",
			   .flags = IR_CALL_PURE | IR_CALL_NO_GLOBALS | IR_CALL_MAY_FAULT,
			   .nargs = 2, .has_ret = true },
};

#define NOT_FOLDED 0xbad0bad0bad0bad0ull

/* ---- Building ---------------------------------------------------------- */

static void setup(void)
{
	ir_init(&S);
	rax = ir_new_global(&S, 0, "rax");
	rbx = ir_new_global(&S, 8, "rbx");
	rcx = ir_new_global(&S, 16, "rcx");
	rdx = ir_new_global(&S, 24, "rdx");
	cc_op = ir_new_global(&S, 32, "cc_op");
	cc_dst = ir_new_global(&S, 40, "cc_dst");
	cc_src = ir_new_global(&S, 48, "cc_src");
	pc = ir_new_global(&S, 56, "pc");
	S.helpers = helpers;
	S.nhelpers = sizeof(helpers) / sizeof(helpers[0]);
}

static void begin(void)
{
	ir_reset(&S);
}

static ir_ref T(void) { return ir_new_temp(&S, IR_I64); }
static ir_ref T32(void) { return ir_new_temp(&S, IR_I32); }
static ir_ref K(uint64_t v) { return ir_const(&S, IR_I64, v); }

static void mov(ir_ref d, ir_ref a) { ir_op1(&S, IR_mov, IR_I64, d, a); }

static struct ir_op *emit(enum ir_opc opc, enum ir_type t, const ir_ref *args,
			  int64_t c0, int64_t c1)
{
	return ir_emit(&S, opc, t, args, (int64_t[]){ c0, c1 });
}

static void insn(uint64_t addr) { emit(IR_insn_start, IR_I64, NULL, addr, 3); }
static void end_tb(void) { emit(IR_exit_tb, IR_I64, NULL, 0, 0); }
static void set_label(uint32_t l) { emit(IR_set_label, IR_I64, NULL, l, 0); }
static void brcond(enum ir_cond c, ir_ref a, ir_ref b, uint32_t l)
{
	emit(IR_brcond, IR_I64, (ir_ref[]){ a, b }, c, l);
}
static void load(ir_ref d, ir_ref addr) { emit(IR_load, IR_I64, (ir_ref[]){ d, addr }, IR_MO_64, 0); }

static char *dump(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ir_print(&S, f);
	fclose(f);
	return text;
}

static void check_ir(int line, const char *expect)
{
	char *got = dump();
	bool ok = strcmp(got, expect) == 0;
	CHECK(ok);
	if (!ok)
		fprintf(stderr, "test_ir.c:%d: IR mismatch\n--- expected\n%s--- got\n%s", line, expect, got);
	free(got);
}
#define CHECK_IR(expect) check_ir(__LINE__, expect)

/* Run the verifier; return its message ("" when it accepts). */
static char *verify_msg(int *ret)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	*ret = ir_verify(&S, "test", f);
	fclose(f);
	return text;
}

static void check_verifies(int line)
{
	int ret;
	char *msg = verify_msg(&ret);
	CHECK_EQ(ret, 0);
	if (ret)
		fprintf(stderr, "test_ir.c:%d: %s", line, msg);
	free(msg);
}
#define CHECK_VERIFIES() check_verifies(__LINE__)

/* The verifier rejects the TB with a message containing `problem`. */
static void check_rejects(int line, const char *problem)
{
	int ret;
	char *msg = verify_msg(&ret);
	bool ok = ret == -1 && strstr(msg, problem) && strchr(msg, '\n') == msg + strlen(msg) - 1;
	CHECK(ok);
	if (!ok)
		fprintf(stderr, "test_ir.c:%d: wanted \"%s\", got ret %d \"%s\"\n", line, problem, ret, msg);
	free(msg);
}
#define CHECK_REJECTS(problem) check_rejects(__LINE__, problem)

/* The value op 0 was folded to, or NOT_FOLDED. */
static uint64_t folded(void)
{
	const struct ir_op *op = &S.ops[0];
	CHECK_VERIFIES();
	if (op->opc != IR_mov || !ir_is_const(&S, op->args[1]))
		return NOT_FOLDED;
	return S.temps[op->args[1]].val;
}

/* Fold `opc_t d,$a,$b [c0,c1]` (constants made i64, so i32 ops must ignore
 * their high halves) and return the constant it became. */
static uint64_t fold_k(enum ir_opc opc, enum ir_type t, int nin, uint64_t a, uint64_t b,
		       int64_t c0, int64_t c1)
{
	begin();
	ir_ref d = ir_new_temp(&S, t);
	ir_ref args[] = { d, K(a), K(b) };
	emit(opc, t, args, c0, c1);
	(void)nin;
	end_tb();
	opt_fold(&S);
	return folded();
}
#define K1(opc, t, a) fold_k(IR_##opc, IR_##t, 1, a, 0, 0, 0)
#define K2(opc, t, a, b) fold_k(IR_##opc, IR_##t, 2, a, b, 0, 0)
#define KF(opc, t, a, b, pos, len) fold_k(IR_##opc, IR_##t, 2, a, b, pos, len)
#define KC(cond, t, a, b) fold_k(IR_setcond, IR_##t, 2, a, b, IR_##cond, 0)

/* ---- Constant folding -------------------------------------------------- */

static void test_fold_arith(void)
{
	CHECK_EQ(K2(add, I64, 2, 3), 5);
	CHECK_EQ(K2(add, I64, UINT64_MAX, 1), 0);
	CHECK_EQ(K2(add, I32, 0xffffffff, 1), 0);
	CHECK_EQ(K2(add, I32, 0x100000005ull, 1), 6);	/* high half ignored */
	CHECK_EQ(K2(sub, I32, 0, 1), 0xffffffff);	/* zero-extended */
	CHECK_EQ(K2(sub, I64, 0, 1), UINT64_MAX);
	CHECK_EQ(K2(mul, I32, 0x10000, 0x10000), 0);
	CHECK_EQ(K2(mul, I64, 0x10000, 0x10000), 0x100000000ull);
	CHECK_EQ(K2(and, I64, 0xff00, 0x0ff0), 0x0f00);
	CHECK_EQ(K2(or, I64, 0xff00, 0x0ff0), 0xfff0);
	CHECK_EQ(K2(xor, I64, 0xff00, 0x0ff0), 0xf0f0);
	CHECK_EQ(K2(andc, I64, 0xff00, 0x0ff0), 0xf000);
	CHECK_EQ(K2(andc, I32, 0, 0), 0);
	CHECK_EQ(K1(neg, I32, 1), 0xffffffff);
	CHECK_EQ(K1(neg, I64, 1), UINT64_MAX);
	CHECK_EQ(K1(not, I64, 0), UINT64_MAX);
	CHECK_EQ(K1(not, I32, 0), 0xffffffff);
}

static void test_fold_shifts(void)
{
	CHECK_EQ(K2(shl, I32, 0x80000001, 1), 2);
	CHECK_EQ(K2(shl, I64, 0x80000001, 1), 0x100000002ull);
	CHECK_EQ(K2(shr, I32, 0x80000000, 31), 1);
	CHECK_EQ(K2(shr, I32, 0xffffffff00000000ull, 1), 0);	/* reads the low half */
	CHECK_EQ(K2(sar, I32, 0x80000000, 4), 0xf8000000);
	CHECK_EQ(K2(sar, I64, 0x80000000, 4), 0x08000000);
	CHECK_EQ(K2(sar, I64, 0x8000000000000000ull, 63), UINT64_MAX);
	CHECK_EQ(K2(shl, I64, 1, 65), 2);			/* count masked */
	CHECK_EQ(K2(rotl, I32, 0x80000001, 1), 3);
	CHECK_EQ(K2(rotl, I32, 0x80000001, 33), 3);		/* count mod 32 */
	CHECK_EQ(K2(rotr, I32, 1, 1), 0x80000000);
	CHECK_EQ(K2(rotl, I64, 0x8000000000000001ull, 1), 3);
	CHECK_EQ(K2(rotr, I64, 1, 1), 0x8000000000000000ull);
	CHECK_EQ(K2(rotl, I64, 0x1234, 0), 0x1234);
}

static void test_fold_ext_bits(void)
{
	CHECK_EQ(K1(ext8s, I64, 0x80), 0xffffffffffffff80ull);
	CHECK_EQ(K1(ext8s, I32, 0x80), 0xffffff80);
	CHECK_EQ(K1(ext8u, I64, 0x1ff), 0xff);
	CHECK_EQ(K1(ext16s, I64, 0x18000), 0xffffffffffff8000ull);
	CHECK_EQ(K1(ext16u, I32, 0x12345678), 0x5678);
	CHECK_EQ(K1(ext32s, I64, 0x80000000), 0xffffffff80000000ull);
	CHECK_EQ(K1(ext32s, I32, 0x80000000), 0x80000000);
	CHECK_EQ(K1(ext32u, I64, 0x123456789ull), 0x23456789);
	CHECK_EQ(KF(deposit, I64, UINT64_MAX, 0, 8, 8), 0xffffffffffff00ffull);
	CHECK_EQ(KF(deposit, I32, 0, 0xff, 28, 4), 0xf0000000);
	CHECK_EQ(KF(deposit, I64, 0x1111, 0xabcd, 0, 64), 0xabcd);
	CHECK_EQ(KF(extract, I64, 0x12345678, 0, 8, 8), 0x56);
	CHECK_EQ(KF(extract, I64, 0x8000000000000000ull, 0, 63, 1), 1);
	CHECK_EQ(KF(sextract, I64, 0x8000, 0, 12, 4), 0xfffffffffffffff8ull);
	CHECK_EQ(KF(sextract, I32, 0x8000, 0, 12, 4), 0xfffffff8);
	CHECK_EQ(KF(sextract, I64, 0x7000, 0, 12, 4), 7);
	CHECK_EQ(K1(bswap16, I64, 0x11223344), 0x4433);
	CHECK_EQ(K1(bswap32, I64, 0x1122334455667788ull), 0x88776655);
	CHECK_EQ(K1(bswap64, I64, 0x1122334455667788ull), 0x8877665544332211ull);
	CHECK_EQ(K1(ctpop, I64, 0xff00ff), 16);
	CHECK_EQ(K1(ctpop, I32, UINT64_MAX), 32);
}

static void test_fold_clz_ctz(void)
{
	CHECK_EQ(K2(clz, I64, 1, 99), 63);
	CHECK_EQ(K2(clz, I32, 1, 99), 31);
	CHECK_EQ(K2(clz, I32, 0x100000000ull, 32), 32);	/* zero in the low half */
	CHECK_EQ(K2(clz, I64, 0, 64), 64);
	CHECK_EQ(K2(ctz, I64, 0x100, 99), 8);
	CHECK_EQ(K2(ctz, I32, 0, 32), 32);
	CHECK_EQ(K2(ctz, I64, 0x8000000000000000ull, 0), 63);

	/* clz $0x10,x ==> 59 without knowing x;  clz $0,x ==> x */
	begin();
	ir_ref d = T(), x = T();
	mov(x, rax);
	ir_op2(&S, IR_clz, IR_I64, d, K(0x10), x);
	mov(rbx, d);
	ir_op2(&S, IR_ctz, IR_I64, d, K(0), x);
	mov(rcx, d);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" mov_i64 tmp1,rax\n"
		 " mov_i64 tmp0,$0x3b\n"
		 " mov_i64 rbx,$0x3b\n"
		 " mov_i64 tmp0,rax\n"
		 " mov_i64 rcx,rax\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

static void test_fold_setcond(void)
{
	CHECK_EQ(KC(LT, I32, 0xffffffff, 0), 1);	/* -1 < 0 */
	CHECK_EQ(KC(LT, I64, 0xffffffff, 0), 0);
	CHECK_EQ(KC(LTU, I32, 0xffffffff, 0), 0);
	CHECK_EQ(KC(GTU, I64, UINT64_MAX, 0), 1);
	CHECK_EQ(KC(EQ, I32, 0x100000001ull, 1), 1);	/* high half ignored */
	CHECK_EQ(KC(EQ, I64, 0x100000001ull, 1), 0);
	CHECK_EQ(KC(TSTEQ, I64, 0xf0, 0x0f), 1);
	CHECK_EQ(KC(TSTNE, I64, 0xf0, 0x10), 1);
	CHECK_EQ(KC(ALWAYS, I64, 0, 1), 1);
	CHECK_EQ(KC(NEVER, I64, 0, 0), 0);

	/* setcond x,x: eq ==> 1, lt ==> 0; tstne is unknown */
	begin();
	ir_ref d = T(), x = T();
	mov(x, rax);
	emit(IR_setcond, IR_I64, (ir_ref[]){ d, rbx, rbx }, IR_EQ, 0);
	mov(rcx, d);
	emit(IR_setcond, IR_I64, (ir_ref[]){ d, rbx, rbx }, IR_LT, 0);
	mov(rcx, d);
	emit(IR_setcond, IR_I64, (ir_ref[]){ d, x, K(0) }, IR_GEU, 0);
	mov(rcx, d);
	emit(IR_setcond, IR_I64, (ir_ref[]){ d, rbx, rbx }, IR_TSTNE, 0);
	mov(rcx, d);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" mov_i64 tmp1,rax\n"
		 " mov_i64 tmp0,$0x1\n"
		 " mov_i64 rcx,$0x1\n"
		 " mov_i64 tmp0,$0x0\n"
		 " mov_i64 rcx,$0x0\n"
		 " mov_i64 tmp0,$0x1\n"
		 " mov_i64 rcx,$0x1\n"
		 " setcond_i64 tmp0,rbx,rbx,tstne\n"
		 " mov_i64 rcx,tmp0\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

static void test_fold_movcond(void)
{
	begin();
	ir_ref d = T();
	emit(IR_movcond, IR_I64, (ir_ref[]){ d, K(1), K(2), rax, rbx }, IR_LT, 0);
	mov(rcx, d);
	emit(IR_movcond, IR_I64, (ir_ref[]){ d, K(1), K(2), rax, rbx }, IR_GT, 0);
	mov(rcx, d);
	emit(IR_movcond, IR_I64, (ir_ref[]){ d, rdx, rbx, rax, rax }, IR_EQ, 0);
	mov(rcx, d);
	emit(IR_movcond, IR_I64, (ir_ref[]){ d, rdx, rbx, rax, rbx }, IR_EQ, 0);
	mov(rcx, d);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" mov_i64 tmp0,rax\n"
		 " mov_i64 rcx,rax\n"
		 " mov_i64 tmp0,rbx\n"
		 " mov_i64 rcx,rbx\n"
		 " mov_i64 tmp0,rax\n"
		 " mov_i64 rcx,rax\n"
		 " movcond_i64 tmp0,rdx,rbx,rax,rbx,eq\n"
		 " mov_i64 rcx,tmp0\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

static void test_fold_mul2(void)
{
	static const struct { enum ir_opc opc; enum ir_type t; uint64_t a, b, lo, hi; } cases[] = {
		{ IR_mulu2, IR_I32, 0xffffffff, 0xffffffff, 1, 0xfffffffe },
		{ IR_muls2, IR_I32, 0xffffffff, 0xffffffff, 1, 0 },
		{ IR_muls2, IR_I32, 0xffffffff, 2, 0xfffffffe, 0xffffffff },
		{ IR_mulu2, IR_I64, UINT64_MAX, 2, UINT64_MAX - 1, 1 },
		{ IR_muls2, IR_I64, UINT64_MAX, 2, UINT64_MAX - 1, UINT64_MAX },
		{ IR_mulu2, IR_I64, 1ull << 32, 1ull << 32, 0, 1 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		begin();
		ir_ref lo = T(), hi = T();
		emit(cases[i].opc, cases[i].t, (ir_ref[]){ lo, hi, K(cases[i].a), K(cases[i].b) }, 0, 0);
		mov(rax, lo);
		mov(rdx, hi);
		end_tb();
		opt_fold(&S);
		CHECK_VERIFIES();
		const struct ir_op *op0 = &S.ops[0], *op1 = &S.ops[1];
		CHECK(op0->opc == IR_mov && op0->args[0] == lo && ir_is_const(&S, op0->args[1]) &&
		      S.temps[op0->args[1]].val == cases[i].lo);
		CHECK(op1->opc == IR_mov && op1->args[0] == hi && ir_is_const(&S, op1->args[1]) &&
		      S.temps[op1->args[1]].val == cases[i].hi);
		/* the copies reach the global stores */
		CHECK(S.ops[2].args[1] == op0->args[1] && S.ops[3].args[1] == op1->args[1]);
	}
}

/* ---- Algebraic simplification ------------------------------------------ */

/* Simplify `opc_t tmp0,a,b`; op 0 must print as `expect`. */
static void check_alg(int line, ir_ref d, enum ir_opc opc, enum ir_type t, ir_ref a, ir_ref b,
		      const char *expect)
{
	char *text = NULL;
	size_t len = 0;
	emit(opc, t, (ir_ref[]){ d, a, b }, 0, 0);
	end_tb();
	opt_fold(&S);
	FILE *f = open_memstream(&text, &len);
	ir_print_op(&S, &S.ops[0], f);
	fclose(f);
	bool ok = strcmp(text, expect) == 0;
	CHECK(ok);
	if (!ok)
		fprintf(stderr, "test_ir.c:%d: wanted \"%s\", got \"%s\"\n", line, expect, text);
	free(text);
	CHECK_VERIFIES();
}
#define ALG(opc, t, a, b, expect) do { \
	begin(); \
	ir_ref d_ = ir_new_temp(&S, IR_##t);	/* tmp0: made before the constants */ \
	check_alg(__LINE__, d_, IR_##opc, IR_##t, a, b, expect); \
} while (0)

static void test_algebra(void)
{
	ALG(add, I64, rax, K(0), " mov_i64 tmp0,rax\n");		/* x + 0 */
	ALG(add, I64, K(0), rax, " mov_i64 tmp0,rax\n");		/* 0 + x */
	ALG(add, I64, rax, K(1), " add_i64 tmp0,rax,$0x1\n");
	ALG(add, I64, K(1), rax, " add_i64 tmp0,rax,$0x1\n");		/* constant second */
	ALG(add, I32, rax, K(0x100000000ull), " mov_i32 tmp0,rax\n");	/* i32 sees 0 */
	ALG(sub, I64, rax, K(0), " mov_i64 tmp0,rax\n");		/* x - 0 */
	ALG(sub, I64, rax, rax, " mov_i64 tmp0,$0x0\n");		/* x - x */
	ALG(sub, I64, K(0), rax, " sub_i64 tmp0,$0x0,rax\n");
	ALG(mul, I64, rax, K(1), " mov_i64 tmp0,rax\n");		/* x * 1 */
	ALG(mul, I64, K(0), rax, " mov_i64 tmp0,$0x0\n");		/* 0 * x */
	ALG(and, I64, rax, K(UINT64_MAX), " mov_i64 tmp0,rax\n");	/* x & -1 */
	ALG(and, I32, rax, K(0xffffffff), " mov_i32 tmp0,rax\n");	/* i32 -1 */
	ALG(and, I64, rax, K(0xffffffff), " and_i64 tmp0,rax,$0xffffffff\n");
	ALG(and, I64, rax, K(0), " mov_i64 tmp0,$0x0\n");		/* x & 0 */
	ALG(and, I64, rax, rax, " mov_i64 tmp0,rax\n");			/* x & x */
	ALG(or, I64, rax, K(0), " mov_i64 tmp0,rax\n");			/* x | 0 */
	ALG(or, I64, rax, rax, " mov_i64 tmp0,rax\n");			/* x | x */
	ALG(or, I32, rax, K(UINT64_MAX), " mov_i32 tmp0,$0xffffffff\n");	/* x | -1 */
	ALG(xor, I64, rax, K(0), " mov_i64 tmp0,rax\n");		/* x ^ 0 */
	ALG(xor, I64, rax, rax, " mov_i64 tmp0,$0x0\n");		/* x ^ x */
	ALG(xor, I32, rax, rax, " mov_i32 tmp0,$0x0\n");
	ALG(andc, I64, rax, K(0), " mov_i64 tmp0,rax\n");		/* x & ~0 */
	ALG(andc, I64, rax, rax, " mov_i64 tmp0,$0x0\n");		/* x & ~x */
	ALG(shl, I64, rax, K(0), " mov_i64 tmp0,rax\n");		/* x << 0 */
	ALG(shr, I32, rax, K(0), " mov_i32 tmp0,rax\n");
	ALG(sar, I64, rax, K(0), " mov_i64 tmp0,rax\n");
	ALG(rotl, I64, rax, K(64), " mov_i64 tmp0,rax\n");		/* rotate by 64 mod 64 */
	ALG(shl, I64, K(0), rax, " mov_i64 tmp0,$0x0\n");		/* 0 << x */
	ALG(shl, I64, rax, K(1), " shl_i64 tmp0,rax,$0x1\n");

	/* mov_i64 x,x disappears; mov_i32 x,x truncates and stays */
	begin();
	ir_ref t = T();
	ir_op2(&S, IR_add, IR_I64, t, rax, K(1));
	ir_op2(&S, IR_add, IR_I64, t, t, K(0));
	ir_op2(&S, IR_add, IR_I32, t, t, K(0));
	mov(rbx, t);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" add_i64 tmp0,rax,$0x1\n"
		 " mov_i32 tmp0,tmp0\n"
		 " mov_i64 rbx,tmp0\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

static void test_fold_brcond(void)
{
	begin();
	uint32_t l0 = ir_new_label(&S), l1 = ir_new_label(&S);
	brcond(IR_LT, K(1), K(2), l0);			/* taken */
	mov(rax, K(1));
	set_label(l0);
	brcond(IR_LT, K(2), K(1), l1);			/* not taken */
	mov(rbx, K(2));
	brcond(IR_NE, rcx, rcx, l1);			/* x != x: never */
	brcond(IR_LE, rcx, rcx, l1);			/* x <= x: always */
	brcond(IR_EQ, rcx, rdx, l1);			/* unknown */
	set_label(l1);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" br_i64 $L0\n"
		 " mov_i64 rax,$0x1\n"
		 " set_label_i64 $L0\n"
		 " mov_i64 rbx,$0x2\n"
		 " br_i64 $L1\n"
		 " brcond_i64 rcx,rdx,eq,$L1\n"
		 " set_label_i64 $L1\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();

	/* i32 compares ignore the high halves */
	begin();
	l0 = ir_new_label(&S);
	emit(IR_brcond, IR_I32, (ir_ref[]){ K(0x100000000ull), K(0) }, IR_EQ, l0);
	set_label(l0);
	end_tb();
	opt_fold(&S);
	CHECK_EQ(S.ops[0].opc, IR_br);
	CHECK_VERIFIES();
}

/* ---- Copy propagation -------------------------------------------------- */

static void test_copy_prop(void)
{
	/* a copy and a constant flow into later reads; the constant folds */
	begin();
	ir_ref t0 = T(), t1 = T(), t2 = T(), t3 = T();
	mov(t0, rax);
	ir_op2(&S, IR_add, IR_I64, t1, t0, rbx);
	mov(t2, K(3));
	ir_op2(&S, IR_add, IR_I64, t3, t2, K(4));
	mov(rcx, t1);
	mov(rdx, t3);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" mov_i64 tmp0,rax\n"
		 " add_i64 tmp1,rax,rbx\n"
		 " mov_i64 tmp2,$0x3\n"
		 " mov_i64 tmp3,$0x7\n"
		 " mov_i64 rcx,tmp1\n"
		 " mov_i64 rdx,$0x7\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();

	/* writing the source or the copy ends it */
	begin();
	t0 = T(), t1 = T(), t2 = T();
	mov(t0, rax);
	mov(rax, K(5));
	ir_op2(&S, IR_add, IR_I64, t1, t0, rbx);	/* rax changed: keeps tmp0 */
	mov(t2, rbx);
	mov(t2, rcx);
	ir_op2(&S, IR_add, IR_I64, t1, t2, t1);		/* tmp2 is now rcx */
	mov(rdx, t1);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" mov_i64 tmp0,rax\n"
		 " mov_i64 rax,$0x5\n"
		 " add_i64 tmp1,tmp0,rbx\n"
		 " mov_i64 tmp2,rbx\n"
		 " mov_i64 tmp2,rcx\n"
		 " add_i64 tmp1,rcx,tmp1\n"
		 " mov_i64 rdx,tmp1\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

static void test_copy_prop_stops_at_labels(void)
{
	begin();
	uint32_t l0 = ir_new_label(&S);
	ir_ref t0 = T(), t1 = T(), t2 = T();
	mov(t0, rax);
	brcond(IR_EQ, t0, K(0), l0);		/* same block: reads rax */
	ir_op2(&S, IR_add, IR_I64, t1, t0, rbx);	/* its fall-through: rax too */
	mov(t2, rcx);
	set_label(l0);
	ir_op2(&S, IR_add, IR_I64, t1, t2, rbx);	/* after the label: tmp2 */
	mov(rdx, t1);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" mov_i64 tmp0,rax\n"
		 " brcond_i64 rax,$0x0,eq,$L0\n"
		 " add_i64 tmp1,rax,rbx\n"
		 " mov_i64 tmp2,rcx\n"
		 " set_label_i64 $L0\n"
		 " add_i64 tmp1,tmp2,rbx\n"
		 " mov_i64 rdx,tmp1\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

/* On a brcond's fall-through its condition is known false: a setcond or a
 * brcond on the same compare of the same temps folds, unless a label, a
 * write of either temp or a call that may write globals came between. */
static void test_fold_after_brcond(void)
{
	begin();
	uint32_t l0 = ir_new_label(&S), l1 = ir_new_label(&S);
	ir_ref d = T(), x = T();
	mov(x, rax);
	brcond(IR_GEU, x, rbx, l0);
	emit(IR_setcond, IR_I64, (ir_ref[]){ d, x, rbx }, IR_LTU, 0);	/* 1 */
	mov(rcx, d);
	emit(IR_setcond, IR_I64, (ir_ref[]){ d, rbx, x }, IR_LEU, 0);	/* swapped: 0 */
	mov(rdx, d);
	emit(IR_setcond, IR_I64, (ir_ref[]){ d, x, rbx }, IR_LT, 0);	/* signed: unknown */
	mov(cc_dst, d);
	emit(IR_setcond, IR_I32, (ir_ref[]){ d, x, rbx }, IR_LTU, 0);	/* i32: unknown */
	mov(cc_src, d);
	brcond(IR_GEU, x, rbx, l1);					/* never taken */
	ir_call(&S, H_RW, d, (ir_ref[]){ K(0) }, 1);
	emit(IR_setcond, IR_I64, (ir_ref[]){ d, x, rbx }, IR_LTU, 0);	/* rbx may differ */
	mov(rcx, d);
	set_label(l0);
	emit(IR_setcond, IR_I64, (ir_ref[]){ d, rax, rbx }, IR_LTU, 0);	/* a join: unknown */
	mov(rdx, d);
	set_label(l1);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" mov_i64 tmp1,rax\n"
		 " brcond_i64 rax,rbx,geu,$L0\n"
		 " mov_i64 tmp0,$0x1\n"
		 " mov_i64 rcx,$0x1\n"
		 " mov_i64 tmp0,$0x0\n"
		 " mov_i64 rdx,$0x0\n"
		 " setcond_i64 tmp0,rax,rbx,lt\n"
		 " mov_i64 cc_dst,tmp0\n"
		 " setcond_i32 tmp0,rax,rbx,ltu\n"
		 " mov_i64 cc_src,tmp0\n"
		 " call h_rw,$0x0,tmp0,$0x0\n"
		 " setcond_i64 tmp0,tmp1,rbx,ltu\n"
		 " mov_i64 rcx,tmp0\n"
		 " set_label_i64 $L0\n"
		 " setcond_i64 tmp0,rax,rbx,ltu\n"
		 " mov_i64 rdx,tmp0\n"
		 " set_label_i64 $L1\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();

	/* the loop of a rep string: a helper may have brought rcx to 0 */
	begin();
	l0 = ir_new_label(&S);
	d = T();
	brcond(IR_EQ, rcx, K(0), l0);
	ir_call(&S, H_RW, d, (ir_ref[]){ K(0) }, 1);
	brcond(IR_EQ, rcx, K(0), l0);
	mov(rdx, K(1));
	set_label(l0);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" brcond_i64 rcx,$0x0,eq,$L0\n"
		 " call h_rw,$0x0,tmp0,$0x0\n"
		 " brcond_i64 rcx,$0x0,eq,$L0\n"
		 " mov_i64 rdx,$0x1\n"
		 " set_label_i64 $L0\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

static void test_copy_prop_calls(void)
{
	/* a call that may write globals ends copies of and into globals,
	 * but not copies between locals and constants */
	begin();
	ir_ref t0 = T(), t1 = T(), r = T(), t3 = T(), t4 = T();
	mov(t0, rax);
	mov(rbx, rdx);
	mov(t1, K(7));
	ir_op2(&S, IR_add, IR_I64, t4, rax, K(1));
	mov(t3, t4);
	ir_call(&S, H_RW, r, (ir_ref[]){ t1 }, 1);
	ir_op2(&S, IR_add, IR_I64, r, r, t0);		/* keeps tmp0 */
	ir_op2(&S, IR_add, IR_I64, r, r, rbx);		/* keeps rbx */
	ir_op2(&S, IR_add, IR_I64, r, r, t1);		/* still $7 */
	ir_op2(&S, IR_add, IR_I64, r, r, t3);		/* still tmp4 */
	mov(rcx, r);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" mov_i64 tmp0,rax\n"
		 " mov_i64 rbx,rdx\n"
		 " mov_i64 tmp1,$0x7\n"
		 " add_i64 tmp4,rax,$0x1\n"
		 " mov_i64 tmp3,tmp4\n"
		 " call h_rw,$0x0,tmp2,$0x7\n"
		 " add_i64 tmp2,tmp2,tmp0\n"
		 " add_i64 tmp2,tmp2,rbx\n"
		 " add_i64 tmp2,tmp2,$0x7\n"
		 " add_i64 tmp2,tmp2,tmp4\n"
		 " mov_i64 rcx,tmp2\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();

	/* NO_WRITE_GLOBALS: copies survive */
	begin();
	t0 = T(), r = T();
	mov(t0, rax);
	mov(rbx, rcx);
	ir_call(&S, H_NOWRITE, 0, (ir_ref[]){ t0 }, 1);
	ir_op2(&S, IR_add, IR_I64, r, t0, rbx);
	mov(rdx, r);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" mov_i64 tmp0,rax\n"
		 " mov_i64 rbx,rcx\n"
		 " call h_nowrite,$0x2,rax\n"
		 " add_i64 tmp1,rax,rcx\n"
		 " mov_i64 rdx,tmp1\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

static void test_fold_low_bytes(void)
{
	/* cmp %r14b,(%rcx) after mov (%rbx),%r14b: the byte deposited into a
	 * register from a load, read back (through a copy) by an ext8u, is
	 * the load itself, whose high bits are zero; the branch on the low
	 * byte of the difference tests that byte in place */
	begin();
	uint32_t l0 = ir_new_label(&S);
	ir_ref b = T(), t = T(), u = T(), m = T(), d = T(), z = T();
	emit(IR_load, IR_I64, (ir_ref[]){ b, rbx }, IR_MO_8, 0);
	emit(IR_deposit, IR_I64, (ir_ref[]){ rax, rax, b }, 0, 8);
	mov(t, rax);
	ir_op1(&S, IR_ext8u, IR_I64, u, t);
	emit(IR_load, IR_I64, (ir_ref[]){ m, rcx }, IR_MO_8, 0);
	ir_op2(&S, IR_sub, IR_I64, d, m, u);
	mov(cc_dst, d);
	ir_op1(&S, IR_ext8u, IR_I64, z, d);
	brcond(IR_NE, z, K(0), l0);
	/* a 16-bit reader of rax: the deposit gave its low byte only */
	ir_op1(&S, IR_ext16u, IR_I64, z, rax);
	mov(rdx, z);
	/* a 16-bit load is not known to fit a byte */
	emit(IR_load, IR_I64, (ir_ref[]){ m, rcx }, IR_MO_16, 0);
	ir_op1(&S, IR_ext8u, IR_I64, z, m);
	mov(rdx, z);
	set_label(l0);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" load_i64 tmp0,rbx,$0x0\n"
		 " deposit_i64 rax,rax,tmp0,$0x0,$0x8\n"
		 " mov_i64 tmp1,rax\n"
		 " mov_i64 tmp2,tmp0\n"
		 " load_i64 tmp3,rcx,$0x0\n"
		 " sub_i64 tmp4,tmp3,tmp0\n"
		 " mov_i64 cc_dst,tmp4\n"
		 " ext8u_i64 tmp5,tmp4\n"
		 " brcond_i64 tmp4,$0xff,tstne,$L0\n"
		 " ext16u_i64 tmp5,rax\n"
		 " mov_i64 rdx,tmp5\n"
		 " load_i64 tmp3,rcx,$0x1\n"
		 " ext8u_i64 tmp5,tmp3\n"
		 " mov_i64 rdx,tmp5\n"
		 " set_label_i64 $L0\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

static void test_copy_prop_i32(void)
{
	/* mov_i32 tmp0,rax is rax's low half: only 32-bit readers may use rax */
	begin();
	ir_ref t0 = T32(), t1 = T(), t2 = T32(), t3 = T();
	ir_op1(&S, IR_mov, IR_I32, t0, rax);
	ir_op2(&S, IR_add, IR_I64, t1, t0, rbx);
	ir_op2(&S, IR_add, IR_I32, t2, t0, rbx);
	ir_op1(&S, IR_ext32s, IR_I64, t3, t0);
	emit(IR_store, IR_I32, (ir_ref[]){ t0, t0 }, IR_MO_32, 0);
	emit(IR_cmpxchg, IR_I32, (ir_ref[]){ t2, t0, t0, t0 }, IR_MO_32, 0);
	mov(rcx, t1);
	mov(rdx, t2);
	mov(rbx, t3);
	end_tb();
	opt_fold(&S);
	CHECK_IR(" mov_i32 tmp0,rax\n"
		 " add_i64 tmp1,tmp0,rbx\n"
		 " add_i32 tmp2,rax,rbx\n"
		 " ext32s_i64 tmp3,rax\n"
		 " store_i32 rax,tmp0,$0x2\n"
		 " cmpxchg_i32 tmp2,tmp0,rax,rax,$0x2\n"
		 " mov_i64 rcx,tmp1\n"
		 " mov_i64 rdx,tmp2\n"
		 " mov_i64 rbx,tmp3\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

/* ---- Dead code and dead flags ------------------------------------------ */

static void test_dce_locals(void)
{
	begin();
	ir_ref t0 = T(), t1 = T(), t2 = T(), t3 = T(), t4 = T();
	ir_op2(&S, IR_add, IR_I64, t0, rax, rbx);	/* feeds only dead t1 */
	ir_op2(&S, IR_add, IR_I64, t1, t0, K(1));
	ir_op2(&S, IR_sub, IR_I64, t2, rax, rbx);	/* live */
	mov(rcx, t2);
	load(t3, rdx);					/* dead but may fault */
	ir_call(&S, H_PURE, t4, (ir_ref[]){ rax, rbx }, 2);	/* pure, dead */
	ir_call(&S, H_PURE_FAULT, t4, (ir_ref[]){ rax, rbx }, 2);	/* may fault */
	ir_call(&S, H_RW, t4, (ir_ref[]){ rax }, 1);	/* side effects */
	end_tb();
	opt_dce(&S);
	CHECK_IR(" sub_i64 tmp2,rax,rbx\n"
		 " mov_i64 rcx,tmp2\n"
		 " load_i64 tmp3,rdx,$0x3\n"
		 " call h_pure_fault,$0xf,tmp4,rax,rbx\n"
		 " call h_rw,$0x0,tmp4,rax\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

/* Two `add` instructions as the x86 frontend lifts them. */
static void lift_add(uint64_t addr, ir_ref dst, ir_ref src, ir_ref t)
{
	insn(addr);
	ir_op2(&S, IR_add, IR_I64, t, dst, src);
	mov(cc_src, src);
	mov(cc_dst, t);
	mov(dst, t);
	mov(cc_op, K(0x10));
}

static void test_dead_flags(void)
{
	begin();
	ir_ref t0 = T(), t1 = T();
	lift_add(0x1000, rax, rbx, t0);
	lift_add(0x1003, rax, rcx, t1);
	mov(pc, K(0x1006));
	end_tb();
	ir_optimize(&S, true, NULL);
	CHECK_IR(" ---- 0000000000001000 len 3\n"
		 " add_i64 tmp0,rax,rbx\n"
		 " ---- 0000000000001003 len 3\n"
		 " add_i64 tmp1,tmp0,rcx\n"
		 " mov_i64 cc_src,rcx\n"
		 " mov_i64 cc_dst,tmp1\n"
		 " mov_i64 rax,tmp1\n"
		 " mov_i64 cc_op,$0x10\n"
		 " mov_i64 pc,$0x1006\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

static void test_dead_flags_kept_by_fault(void)
{
	/* a load between the two may fault: the guest state must be whole */
	begin();
	ir_ref t = T(), t1 = T(), t2 = T();
	lift_add(0x1000, rax, rbx, t1);
	insn(0x1003);
	load(t, rdx);
	lift_add(0x1006, rax, t, t2);
	end_tb();
	ir_optimize(&S, true, NULL);
	CHECK_IR(" ---- 0000000000001000 len 3\n"
		 " add_i64 tmp1,rax,rbx\n"
		 " mov_i64 cc_src,rbx\n"
		 " mov_i64 cc_dst,tmp1\n"
		 " mov_i64 rax,tmp1\n"
		 " mov_i64 cc_op,$0x10\n"
		 " ---- 0000000000001003 len 3\n"
		 " load_i64 tmp0,rdx,$0x3\n"
		 " ---- 0000000000001006 len 3\n"
		 " add_i64 tmp2,tmp1,tmp0\n"
		 " mov_i64 cc_src,tmp0\n"
		 " mov_i64 cc_dst,tmp2\n"
		 " mov_i64 rax,tmp2\n"
		 " mov_i64 cc_op,$0x10\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

static void test_dead_globals_barriers(void)
{
	/* a call that reads globals keeps the first store; one that does not,
	 * does not */
	begin();
	mov(cc_op, K(1));
	ir_call(&S, H_NOREAD, 0, (ir_ref[]){ rax }, 1);
	mov(cc_op, K(2));
	ir_call(&S, H_NOWRITE, 0, (ir_ref[]){ rax }, 1);
	mov(cc_op, K(3));
	end_tb();
	opt_dce(&S);
	CHECK_IR(" call h_noread,$0x1,rax\n"
		 " mov_i64 cc_op,$0x2\n"
		 " call h_nowrite,$0x2,rax\n"
		 " mov_i64 cc_op,$0x3\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();

	/* goto_tb keeps stores, a read keeps them too; a store before a
	 * label whose code overwrites the global first goes */
	begin();
	uint32_t l0 = ir_new_label(&S);
	ir_ref t = T();
	mov(cc_op, K(1));
	set_label(l0);
	mov(cc_op, K(2));
	mov(t, cc_op);
	mov(cc_op, K(3));
	mov(rax, t);
	mov(pc, K(0x10));
	emit(IR_goto_tb, IR_I64, NULL, 0, 0);
	mov(pc, K(0x20));
	end_tb();
	opt_dce(&S);
	CHECK_IR(" set_label_i64 $L0\n"
		 " mov_i64 cc_op,$0x2\n"
		 " mov_i64 tmp0,cc_op\n"
		 " mov_i64 cc_op,$0x3\n"
		 " mov_i64 rax,tmp0\n"
		 " mov_i64 pc,$0x10\n"
		 " goto_tb_i64 $0x0\n"
		 " mov_i64 pc,$0x20\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

/* mov cc_op,$1; a branch to L0; both exits, each discarding cc_op unless
 * told not to on the taken side. */
static void two_exits(bool taken_discards)
{
	uint32_t l0 = ir_new_label(&S);
	mov(cc_op, K(1));
	brcond(IR_EQ, rax, K(0), l0);
	emit(IR_discard, IR_I64, (ir_ref[]){ cc_op }, 0, 0);
	emit(IR_goto_tb, IR_I64, NULL, 0, 0);
	end_tb();
	set_label(l0);
	if (taken_discards)
		emit(IR_discard, IR_I64, (ir_ref[]){ cc_op }, 0, 0);
	emit(IR_goto_tb, IR_I64, NULL, 1, 0);
	end_tb();
	opt_dce(&S);
}

/* A global is live at a branch where the code it may go to reads it:
 * exits that discard it (ir.h: discard) on both sides of a branch make
 * its store before the branch dead, on one side only they do not, and a
 * label behind the branch (a loop) counts as reading every global. */
static void test_dce_globals_at_labels(void)
{
	uint32_t l0;
	begin();
	two_exits(true);
	CHECK_IR(" brcond_i64 rax,$0x0,eq,$L0\n"
		 " discard_i64 cc_op\n"
		 " goto_tb_i64 $0x0\n"
		 " exit_tb_i64 $0x0\n"
		 " set_label_i64 $L0\n"
		 " discard_i64 cc_op\n"
		 " goto_tb_i64 $0x1\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();

	begin();
	two_exits(false);
	CHECK_IR(" mov_i64 cc_op,$0x1\n"
		 " brcond_i64 rax,$0x0,eq,$L0\n"
		 " discard_i64 cc_op\n"
		 " goto_tb_i64 $0x0\n"
		 " exit_tb_i64 $0x0\n"
		 " set_label_i64 $L0\n"
		 " goto_tb_i64 $0x1\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();

	begin();
	l0 = ir_new_label(&S);
	set_label(l0);
	mov(cc_op, K(5));
	mov(rax, K(1));
	mov(cc_op, K(7));
	brcond(IR_NE, rax, K(0), l0);
	end_tb();
	opt_dce(&S);
	CHECK_IR(" set_label_i64 $L0\n"
		 " mov_i64 rax,$0x1\n"
		 " mov_i64 cc_op,$0x7\n"
		 " brcond_i64 rax,$0x0,ne,$L0\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

static void test_dce_cross_block_locals(void)
{
	/* tmp0 written in block 0, overwritten in block 1 and read in block 2,
	 * which block 0 can branch to: the first write must stay */
	begin();
	uint32_t l0 = ir_new_label(&S);
	ir_ref t0 = T(), t1 = T();
	mov(t0, rax);
	brcond(IR_EQ, rcx, K(0), l0);
	mov(t0, K(5));
	set_label(l0);
	mov(rdx, t0);
	ir_op2(&S, IR_add, IR_I64, t1, rbx, K(1));	/* dead in its block */
	end_tb();
	opt_dce(&S);
	CHECK_IR(" mov_i64 tmp0,rax\n"
		 " brcond_i64 rcx,$0x0,eq,$L0\n"
		 " mov_i64 tmp0,$0x5\n"
		 " set_label_i64 $L0\n"
		 " mov_i64 rdx,tmp0\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();

	/* a local used only inside its block is dead at the block's end */
	begin();
	l0 = ir_new_label(&S);
	t0 = T();
	mov(t0, rax);
	brcond(IR_EQ, rcx, K(0), l0);
	set_label(l0);
	end_tb();
	opt_dce(&S);
	CHECK_IR(" brcond_i64 rcx,$0x0,eq,$L0\n"
		 " set_label_i64 $L0\n"
		 " exit_tb_i64 $0x0\n");
	CHECK_VERIFIES();
}

/* ---- Random TBs: the optimizer preserves the guest state --------------- */

/*
 * An interpreter written independently of opt.c runs a random TB before and
 * after opt_fold + opt_dce; the globals at exit must agree.  Branches only go
 * forward and every local is written at the top, so any run is defined.
 * Fake helpers: h_rw(x) sets rdx = x + 1 and returns 3x; h_noread(x) sets
 * rcx = x; h_nowrite and the h_pure ones touch no global.
 */
struct run {
	uint64_t *v;
	const struct ir_op *ops;
	uint32_t nops;
};

static uint64_t rot_left(uint64_t a, unsigned c, unsigned w, uint64_t m)
{
	for (unsigned k = 0; k < c % w; k++)
		a = ((a << 1) | (a >> (w - 1))) & m;
	return a;
}

static uint64_t sign_ext(uint64_t a, unsigned bits)
{
	uint64_t sign = (uint64_t)1 << (bits - 1);
	a &= bits == 64 ? UINT64_MAX : (sign << 1) - 1;
	return (a ^ sign) - sign;
}

static void interp_call(uint64_t *v, const struct ir_op *op, const uint64_t *x)
{
	uint64_t ret = 0;
	switch (op->cargs[0]) {
	case H_RW: v[rdx] = x[0] + 1; ret = x[0] * 3; break;
	case H_NOREAD: v[rcx] = x[0]; break;
	case H_PURE:
	case H_PURE_FAULT: ret = x[0] + x[1] * 7; break;
	}
	if (op->nout)
		v[op->args[0]] = ret;
}

static void interp(struct run *r)
{
	uint32_t pos[64] = { 0 };
	uint64_t *v = r->v;
	for (uint32_t i = 0; i < r->nops; i++)
		if (r->ops[i].opc == IR_set_label)
			pos[r->ops[i].cargs[0]] = i;
	for (ir_ref t = 1; t < S.ntemps; t++)
		if (ir_is_const(&S, t))
			v[t] = S.temps[t].val;

	for (uint32_t i = 0; i < r->nops; i++) {
		const struct ir_op *op = &r->ops[i];
		unsigned w = op->type == IR_I32 ? 32 : 64;
		uint64_t m = w == 32 ? UINT32_MAX : UINT64_MAX, x[6], y = 0, hi = 0;
		for (int j = 0; j < op->nin; j++)
			x[j] = v[op->args[op->nout + j]] & (op->opc == IR_call ? UINT64_MAX : m);
		unsigned c = op->nin > 1 ? x[1] % w : 0, pos0 = op->cargs[0], len = op->cargs[1];
		switch (op->opc) {
		case IR_mov: y = x[0]; break;
		case IR_add: y = x[0] + x[1]; break;
		case IR_sub: y = x[0] - x[1]; break;
		case IR_mul: y = x[0] * x[1]; break;
		case IR_and: y = x[0] & x[1]; break;
		case IR_or: y = x[0] | x[1]; break;
		case IR_xor: y = x[0] ^ x[1]; break;
		case IR_andc: y = x[0] & ~x[1]; break;
		case IR_neg: y = 0 - x[0]; break;
		case IR_not: y = ~x[0]; break;
		case IR_shl: for (y = x[0]; c--;) y <<= 1; break;
		case IR_shr: for (y = x[0]; c--;) y >>= 1; break;
		case IR_sar: y = sign_ext(x[0], w); for (; c--;) y = (y >> 1) | (y & (1ull << 63)); break;
		case IR_rotl: y = rot_left(x[0], c, w, m); break;
		case IR_rotr: y = rot_left(x[0], w - c, w, m); break;
		case IR_mulu2:
		case IR_muls2: {
			unsigned __int128 p = op->opc == IR_mulu2
				? (unsigned __int128)x[0] * x[1]
				: (unsigned __int128)((__int128)(int64_t)sign_ext(x[0], w) *
						      (int64_t)sign_ext(x[1], w));
			y = (uint64_t)p;
			hi = (uint64_t)(p >> w);
			break;
		}
		case IR_ext8s: y = sign_ext(x[0], 8); break;
		case IR_ext8u: y = x[0] & 0xff; break;
		case IR_ext16s: y = sign_ext(x[0], 16); break;
		case IR_ext16u: y = x[0] & 0xffff; break;
		case IR_ext32s: y = sign_ext(x[0], 32); break;
		case IR_ext32u: y = x[0] & 0xffffffff; break;
		case IR_deposit:
			y = x[0];
			for (unsigned k = 0; k < len; k++)
				y = (y & ~(1ull << (pos0 + k))) | (((x[1] >> k) & 1) << (pos0 + k));
			break;
		case IR_extract:
		case IR_sextract:
			for (unsigned k = 0; k < len; k++)
				y |= ((x[0] >> (pos0 + k)) & 1) << k;
			if (op->opc == IR_sextract)
				y = sign_ext(y, len);
			break;
		case IR_bswap16:
		case IR_bswap32:
		case IR_bswap64: {
			unsigned n = op->opc == IR_bswap16 ? 2 : op->opc == IR_bswap32 ? 4 : 8;
			for (unsigned k = 0; k < n; k++)
				y |= ((x[0] >> (8 * k)) & 0xff) << (8 * (n - 1 - k));
			break;
		}
		case IR_clz: y = x[1]; for (unsigned k = 0; k < w; k++) if (x[0] >> (w - 1 - k) & 1) { y = k; break; } break;
		case IR_ctz: y = x[1]; for (unsigned k = 0; k < w; k++) if (x[0] >> k & 1) { y = k; break; } break;
		case IR_ctpop: for (unsigned k = 0; k < 64; k++) y += x[0] >> k & 1; break;
		case IR_setcond: y = ir_cond_eval(op->cargs[0], op->type, x[0], x[1]); break;
		case IR_movcond: y = ir_cond_eval(op->cargs[0], op->type, x[0], x[1]) ? x[2] : x[3]; break;
		case IR_brcond:
			if (ir_cond_eval(op->cargs[0], op->type, x[0], x[1]))
				i = pos[op->cargs[1]];
			continue;
		case IR_br: i = pos[op->cargs[0]]; continue;
		case IR_call: interp_call(v, op, x); continue;
		case IR_exit_tb: return;
		default: continue;
		}
		if (op->nout)
			v[op->args[0]] = y & m;
		if (op->nout > 1)
			v[op->args[1]] = hi & m;
	}
}

struct gen {
	uint64_t seed;
	ir_ref locals[6];
};

static uint64_t rnd(struct gen *g)
{
	g->seed = g->seed * 6364136223846793005ull + 1442695040888963407ull;
	return g->seed >> 17 ^ g->seed << 29;
}

static ir_ref rnd_global(struct gen *g)
{
	static const ir_ref *const gl[] = { &rax, &rbx, &rcx, &rdx, &cc_op, &cc_dst, &cc_src };
	return *gl[rnd(g) % 7];
}

static ir_ref rnd_input(struct gen *g)
{
	static const uint64_t interesting[] = {
		0, 1, 2, 31, 32, 63, 0xff, 0x80000000, 0xffffffff, 0x100000000ull,
		0x7fffffffffffffffull, 0x8000000000000000ull, UINT64_MAX,
	};
	switch (rnd(g) % 4) {
	case 0: return rnd_global(g);
	case 1: return K(rnd(g) % 2 ? interesting[rnd(g) % 13] : rnd(g));
	default: return g->locals[rnd(g) % 6];
	}
}

static ir_ref rnd_output(struct gen *g, enum ir_type t)
{
	return t == IR_I64 && rnd(g) % 2 ? rnd_global(g) : g->locals[rnd(g) % 6];
}

static void rnd_op(struct gen *g, uint32_t label_lo, uint32_t nlabels)
{
	static const enum ir_opc pool[] = {
		IR_mov, IR_mov, IR_mov, IR_add, IR_sub, IR_mul, IR_and, IR_or, IR_xor,
		IR_andc, IR_neg, IR_not, IR_shl, IR_shr, IR_sar, IR_rotl, IR_rotr,
		IR_mulu2, IR_muls2, IR_ext8s, IR_ext8u, IR_ext16s, IR_ext16u, IR_ext32s,
		IR_ext32u, IR_deposit, IR_extract, IR_sextract, IR_bswap16, IR_bswap32,
		IR_bswap64, IR_clz, IR_ctz, IR_ctpop, IR_setcond, IR_movcond, IR_call,
		IR_brcond, IR_insn_start,
	};
	enum ir_opc opc = pool[rnd(g) % (sizeof(pool) / sizeof(pool[0]))];
	enum ir_type t = rnd(g) % 3 ? IR_I64 : IR_I32;
	const struct ir_opdef *def = &ir_opdefs[opc];
	ir_ref a[IR_MAX_ARGS];
	int64_t c[2] = { 0, 0 };
	unsigned w = t == IR_I32 ? 32 : 64;

	if (opc == IR_bswap64)
		t = IR_I64, w = 64;
	if (opc == IR_call) {
		static const int helper[] = { H_RW, H_NOWRITE, H_NOREAD, H_PURE, H_PURE_FAULT };
		int h = helper[rnd(g) % 5];
		ir_ref args[2] = { rnd_input(g), rnd_input(g) };
		ir_call(&S, h, helpers[h].has_ret ? rnd_output(g, IR_I64) : 0, args, helpers[h].nargs);
		return;
	}
	if (opc == IR_brcond) {
		if (label_lo >= nlabels)
			return;
		emit(IR_brcond, t, (ir_ref[]){ rnd_input(g), rnd_input(g) }, rnd(g) % 14,
		     label_lo + rnd(g) % (nlabels - label_lo));
		return;
	}
	if (opc == IR_insn_start) {
		insn(rnd(g) & 0xffff);
		return;
	}
	for (int k = 0; k < def->nout; k++)
		a[k] = rnd_output(g, t);
	if (def->nout == 2 && a[0] == a[1])
		a[1] = a[0] == g->locals[0] ? g->locals[1] : g->locals[0];
	for (int j = 0; j < def->nin; j++)
		a[def->nout + j] = j && rnd(g) % 4 == 0 ? a[def->nout] : rnd_input(g);
	/* a constant shift count must be < width; a variable one may be
	 * anything, and copy propagation may make it a constant */
	if (opc == IR_shl || opc == IR_shr || opc == IR_sar || opc == IR_rotl || opc == IR_rotr)
		if (rnd(g) % 2 || ir_is_const(&S, a[2]))
			a[2] = K(rnd(g) % w);
	if (opc == IR_deposit || opc == IR_extract || opc == IR_sextract) {
		c[1] = 1 + rnd(g) % w;
		c[0] = rnd(g) % (w - c[1] + 1);
	}
	if (opc == IR_setcond || opc == IR_movcond)
		c[0] = rnd(g) % 14;
	emit(opc, t, a, c[0], c[1]);
}

static void rnd_tb(struct gen *g)
{
	uint32_t nlabels = rnd(g) % 4, next_label = 0;
	uint32_t nops = 10 + rnd(g) % 50;

	begin();
	for (int k = 0; k < 6; k++)
		g->locals[k] = T();
	for (int k = 0; k < 6; k++)
		mov(g->locals[k], rnd(g) % 2 ? rnd_global(g) : K(rnd(g)));
	for (uint32_t i = 0; i < nlabels; i++)
		ir_new_label(&S);
	for (uint32_t i = 0; i < nops; i++) {
		if (next_label < nlabels && rnd(g) % (nops / (nlabels + 1) + 1) == 0)
			set_label(next_label++);
		rnd_op(g, next_label, nlabels);
	}
	while (next_label < nlabels)
		set_label(next_label++);
	end_tb();
}

static void run_tb(const struct ir_op *ops, uint32_t nops, const uint64_t *init, uint64_t *v)
{
	memset(v, 0, S.ntemps * sizeof(uint64_t));
	memcpy(v, init, (S.nglobals + 2) * sizeof(uint64_t));
	struct run r = { .v = v, .ops = ops, .nops = nops };
	interp(&r);
}

static void test_random_tbs(void)
{
	struct gen g = { .seed = 12345 };
	int bad_verify = 0, mismatch = 0, removed = 0, programs = 3000;

	for (int p = 0; p < programs; p++) {
		rnd_tb(&g);
		int ret;
		char *msg = verify_msg(&ret);
		if (ret) {
			bad_verify++;
			fprintf(stderr, "random TB %d does not verify before optimizing: %s", p, msg);
			free(msg);
			continue;
		}
		free(msg);
		uint32_t n0 = S.nops;
		struct ir_op *orig = malloc(n0 * sizeof(struct ir_op));
		memcpy(orig, S.ops, n0 * sizeof(struct ir_op));
		opt_fold(&S);
		msg = verify_msg(&ret);
		if (!ret) {
			free(msg);
			opt_dce(&S);
			msg = verify_msg(&ret);
		}
		if (ret) {
			bad_verify++;
			if (bad_verify < 3) {
				fprintf(stderr, "random TB %d: %s", p, msg);
				ir_print(&S, stderr);
			}
		}
		free(msg);

		uint64_t init[S.nglobals + 2];
		uint64_t *v0 = malloc(S.ntemps * sizeof(uint64_t));
		uint64_t *v1 = malloc(S.ntemps * sizeof(uint64_t));
		for (uint32_t k = 0; k < S.nglobals + 2; k++)
			init[k] = rnd(&g);
		run_tb(orig, n0, init, v0);
		run_tb(S.ops, S.nops, init, v1);
		for (ir_ref r = 2; r < S.nglobals + 2; r++) {
			if (v0[r] == v1[r])
				continue;
			if (mismatch++ < 3) {
				fprintf(stderr, "random TB %d: %s is 0x%llx, optimized 0x%llx\n", p,
					S.temps[r].name, (unsigned long long)v0[r], (unsigned long long)v1[r]);
				ir_print(&S, stderr);
			}
			break;
		}
		for (uint32_t i = 0; i < S.nops; i++)
			removed += S.ops[i].opc == IR_nop;
		free(orig);
		free(v0);
		free(v1);
	}
	CHECK_EQ(bad_verify, 0);
	CHECK_EQ(mismatch, 0);
	CHECK(removed > programs);	/* the passes did real work */
}

/*
 * ir_optimize's dce leaves ir_liveness' results (op->dead, temp->tb_wide)
 * when it can (ir_ctx.live_valid): on the same random TBs they must be what
 * opt_fold, opt_dce and ir_liveness run one after the other give.
 */
static void test_liveness_from_dce(void)
{
	struct gen g = { .seed = 4242 };
	int programs = 3000, valid = 0, fallback = 0, wrong = 0, dead_bits = 0;

	for (int p = 0; p < programs; p++) {
		rnd_tb(&g);
		uint32_t n0 = S.nops;
		struct ir_op *orig = malloc(n0 * sizeof(struct ir_op));
		memcpy(orig, S.ops, n0 * sizeof(struct ir_op));

		opt_fold(&S);
		opt_dce(&S);
		CHECK(!S.live_valid);	/* opt_dce alone leaves it to ir_liveness */
		ir_liveness(&S);
		uint32_t n = S.nops;
		uint8_t *dead = malloc(n), *wide = malloc(S.ntemps);
		for (uint32_t i = 0; i < n; i++)
			dead_bits += __builtin_popcount(dead[i] = S.ops[i].dead);
		for (uint32_t r = 0; r < S.ntemps; r++)
			wide[r] = S.temps[r].tb_wide;

		S.nops = n0;
		memcpy(S.ops, orig, n0 * sizeof(struct ir_op));
		for (uint32_t i = 0; i < n0; i++)
			S.ops[i].dead = 0x55;	/* stale bits must not survive */
		ir_optimize(&S, false, NULL);
		if (!S.live_valid) {
			fallback++;
		} else {
			valid++;
			bool same = S.nops == n;
			for (uint32_t i = 0; same && i < n; i++)
				same = S.ops[i].dead == dead[i];
			for (uint32_t r = S.nglobals + 2; same && r < S.ntemps; r++)
				same = S.temps[r].kind != IR_TEMP_LOCAL || S.temps[r].tb_wide == wide[r];
			if (!same && wrong++ < 3) {
				fprintf(stderr, "random TB %d: liveness from dce differs:\n", p);
				ir_print(&S, stderr);
			}
		}
		/* a change after ir_optimize makes ir_liveness do its work */
		ir_emit(&S, IR_nop, IR_I64, NULL, NULL);
		CHECK(!S.live_valid);
		free(orig);
		free(dead);
		free(wide);
	}
	CHECK_EQ(wrong, 0);
	CHECK(valid > programs / 2);	/* the shortcut is the common case */
	CHECK(dead_bits > programs);	/* and there were dead bits to get right */
	printf("  (liveness from dce: %d TBs, %d fell back to ir_liveness)\n", valid, fallback);
}

/* ---- The verifier ------------------------------------------------------ */

/* A small valid TB: tmp0 = rax + rbx; rcx = tmp0; exit. */
static void good_tb(void)
{
	begin();
	ir_ref t = T();
	ir_op2(&S, IR_add, IR_I64, t, rax, rbx);
	mov(rcx, t);
	end_tb();
}

static void test_verify_accepts(void)
{
	good_tb();
	CHECK_VERIFIES();

	/* a trailing nop is invisible; so is a nop full of garbage */
	good_tb();
	struct ir_op *op = ir_emit(&S, IR_nop, IR_I64, NULL, NULL);
	op->args[0] = 9999;
	CHECK_VERIFIES();

	/* an i32 op may read a global; goto_ptr ends a TB */
	begin();
	ir_ref t = T32();
	ir_op2(&S, IR_add, IR_I32, t, rax, rbx);
	emit(IR_goto_ptr, IR_I64, (ir_ref[]){ t }, 0, 0);
	CHECK_VERIFIES();

	/* an out-of-line path after the TB's exit, branching back into it
	 * (a tool's rarely taken call) */
	begin();
	uint32_t cold = ir_new_label(&S), back = ir_new_label(&S);
	brcond(IR_NE, rax, rbx, cold);
	set_label(back);
	mov(rcx, rax);
	end_tb();
	set_label(cold);
	mov(rdx, rax);
	emit(IR_br, IR_I64, NULL, back, 0);
	CHECK_VERIFIES();

	/* exact text of a failure */
	begin();
	ir_ref t0 = T(), t1 = T();
	mov(t0, rax);
	ir_op2(&S, IR_add, IR_I64, t0, t1, rax);
	end_tb();
	int ret;
	char *msg = verify_msg(&ret);
	CHECK_EQ(ret, -1);
	CHECK(strcmp(msg, "loom: IR verify failed after test: op 1 (add_i64 tmp0,tmp1,rax): "
		     "local read before it is written\n") == 0);
	free(msg);
}

static void test_verify_rejects(void)
{
	good_tb();
	S.ops[0].nin = 1;
	CHECK_REJECTS("arity does not match the op table");

	good_tb();
	S.ops[0].opc = IR_nop + 1;
	CHECK_REJECTS("unknown opcode");

	good_tb();
	S.ops[0].type = 7;
	CHECK_REJECTS("bad type");

	good_tb();
	S.ops[0].args[2] = 0;
	CHECK_REJECTS("argument is not a temp");

	good_tb();
	S.ops[0].args[1] = S.ntemps;
	CHECK_REJECTS("argument is not a temp");

	/* calls take their arity from the helper row */
	begin();
	ir_call(&S, H_RW, T(), (ir_ref[]){ rax }, 1);
	end_tb();
	CHECK_VERIFIES();
	S.ops[0].nin = 2;
	CHECK_REJECTS("call arity does not match its helper");
	S.ops[0].nin = 1;
	S.ops[0].nout = 0;
	CHECK_REJECTS("call arity does not match its helper");
	S.ops[0].nout = 1;
	S.ops[0].cargs[0] = 99;
	CHECK_REJECTS("call of an unknown helper");

	/* undefined local: read by an op before any write */
	begin();
	ir_ref t = T();
	mov(rax, t);
	end_tb();
	CHECK_REJECTS("local read before it is written");

	/* labels */
	begin();
	uint32_t l0 = ir_new_label(&S);
	set_label(l0);
	set_label(l0);
	end_tb();
	CHECK_REJECTS("label set twice");

	begin();
	l0 = ir_new_label(&S);
	emit(IR_br, IR_I64, NULL, l0, 0);
	end_tb();
	CHECK_REJECTS("branch to a label that is never set");

	begin();
	emit(IR_br, IR_I64, NULL, 0, 0);	/* no label allocated */
	end_tb();
	CHECK_REJECTS("label out of range");

	/* outputs */
	good_tb();
	S.ops[1].args[0] = K(1);
	CHECK_REJECTS("output is a constant");

	good_tb();
	S.ops[1].args[0] = S.env;
	CHECK_REJECTS("output is env");

	good_tb();
	S.ops[1].type = IR_I32;
	CHECK_REJECTS("global written by an i32 op");

	/* TB ends */
	good_tb();
	S.nops--;
	CHECK_REJECTS("TB does not end with exit_tb, goto_ptr or br");

	good_tb();
	S.ops[2].opc = IR_nop;
	CHECK_REJECTS("TB does not end with exit_tb, goto_ptr or br");

	begin();
	CHECK_REJECTS("empty TB");

	/* bit fields */
	begin();
	t = T();
	emit(IR_deposit, IR_I32, (ir_ref[]){ t, rax, rbx }, 24, 9);
	end_tb();
	CHECK_REJECTS("bit field out of range");
	S.ops[0].cargs[1] = 8;
	CHECK_VERIFIES();
	S.ops[0].cargs[1] = 0;
	CHECK_REJECTS("bit field out of range");

	begin();
	t = T();
	emit(IR_extract, IR_I64, (ir_ref[]){ t, rax }, 60, 5);
	end_tb();
	CHECK_REJECTS("bit field out of range");

	/* conditions and memops */
	begin();
	t = T();
	emit(IR_setcond, IR_I64, (ir_ref[]){ t, rax, rbx }, IR_NEVER + 1, 0);
	end_tb();
	CHECK_REJECTS("bad condition");

	begin();
	t = T();
	emit(IR_load, IR_I32, (ir_ref[]){ t, rax }, IR_MO_64, 0);
	end_tb();
	CHECK_REJECTS("bad memop");
	S.ops[0].cargs[0] = IR_MO_32 | IR_MO_SIGN;
	CHECK_VERIFIES();
	S.ops[0].cargs[0] = 8;
	CHECK_REJECTS("bad memop");

	/* constant shift counts */
	begin();
	t = T();
	ir_op2(&S, IR_shl, IR_I32, t, rax, K(32));
	end_tb();
	CHECK_REJECTS("constant shift count >= width");
	S.ops[0].type = IR_I64;
	CHECK_VERIFIES();
}

void unit_main(void)
{
	setup();
	test_fold_arith();
	test_fold_shifts();
	test_fold_ext_bits();
	test_fold_clz_ctz();
	test_fold_setcond();
	test_fold_movcond();
	test_fold_mul2();
	test_algebra();
	test_fold_brcond();
	test_copy_prop();
	test_copy_prop_stops_at_labels();
	test_copy_prop_calls();
	test_fold_after_brcond();
	test_fold_low_bytes();
	test_copy_prop_i32();
	test_dce_locals();
	test_dead_flags();
	test_dead_flags_kept_by_fault();
	test_dead_globals_barriers();
	test_dce_globals_at_labels();
	test_dce_cross_block_locals();
	test_random_tbs();
	test_liveness_from_dce();
	test_verify_accepts();
	test_verify_rejects();
}
