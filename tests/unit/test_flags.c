/*
 * Lazy flags against the host CPU.  Each case runs one real instruction on
 * the host (inline asm between popfq and pushfq), builds the thunk the way
 * the frontend is specified to (guest/x86/flags.c), and compares
 * helper_cc_compute_all, helper_cc_compute_c and x86_get_rflags with the
 * host's RFLAGS on the bits the SDM defines for that instruction.  Operands
 * carry random garbage above the operand size, as guest registers do.
 *
 * The asm moves rsp 128 bytes down before pushing: the compiler may keep
 * locals in the red zone below rsp, and pushfq would overwrite them.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>
#include "guest/x86/cpu.h"
#include "util/log.h"
#include "unit.h"

#define ALL X86_ARITH_FLAGS
#define X86_NT 0x4000
#define RFLAGS_BASE 0x202	/* IF and the fixed bit 1: a user's idle flags */

/* ---- host side ---------------------------------------------------------- */

struct run {
	uint64_t a, b, fin;	/* in: operands, RFLAGS before */
	uint64_t x, d, flags;	/* out: destination register, rdx, RFLAGS after */
};

#define ASM_PRE "sub $128, %%rsp\n\tpush %[fin]\n\tpopfq\n\t"
#define ASM_POST "\n\tpushfq\n\tpop %[fl]\n\tadd $128, %%rsp"

/* op %b, %x */
#define HOST_BIN(op, sfx, m)							\
static void host_##op##_##sfx(struct run *r)					\
{										\
	uint64_t x = r->a, fl;							\
	asm(ASM_PRE #op #sfx " %" #m "[b], %" #m "[x]" ASM_POST			\
	    : [x] "+r"(x), [fl] "=&r"(fl) : [b] "r"(r->b), [fin] "r"(r->fin)	\
	    : "cc");								\
	r->x = x;								\
	r->flags = fl;								\
}
/* op %x */
#define HOST_UN(op, sfx, m)							\
static void host_##op##_##sfx(struct run *r)					\
{										\
	uint64_t x = r->a, fl;							\
	asm(ASM_PRE #op #sfx " %" #m "[x]" ASM_POST				\
	    : [x] "+r"(x), [fl] "=&r"(fl) : [fin] "r"(r->fin) : "cc");		\
	r->x = x;								\
	r->flags = fl;								\
}
/* op %cl, %x */
#define HOST_SHIFT(op, sfx, m)							\
static void host_##op##_##sfx(struct run *r)					\
{										\
	uint64_t x = r->a, fl;							\
	asm(ASM_PRE #op #sfx " %%cl, %" #m "[x]" ASM_POST			\
	    : [x] "+r"(x), [fl] "=&r"(fl) : "c"(r->b), [fin] "r"(r->fin)	\
	    : "cc");								\
	r->x = x;								\
	r->flags = fl;								\
}
/* op %b with rax (and rdx) implied; named host_<op>1_<size> */
#define HOST_MUL1(op, sfx, m)							\
static void host_##op##1_##sfx(struct run *r)					\
{										\
	uint64_t x = r->a, d = 0x5a5a5a5a5a5a5a5a, fl;				\
	asm(ASM_PRE #op #sfx " %" #m "[b]" ASM_POST				\
	    : "+a"(x), "+d"(d), [fl] "=&r"(fl) : [b] "r"(r->b), [fin] "r"(r->fin) \
	    : "cc");								\
	r->x = x;								\
	r->d = d;								\
	r->flags = fl;								\
}
/* op %b, %x, %x (BMI three-operand forms; AT&T order) */
#define HOST_BMI3(op, sfx, m)							\
static void host_##op##_##sfx(struct run *r)					\
{										\
	uint64_t x = r->a, fl;							\
	asm(ASM_PRE #op " %" #m "[b], %" #m "[x], %" #m "[x]" ASM_POST		\
	    : [x] "+r"(x), [fl] "=&r"(fl) : [b] "r"(r->b), [fin] "r"(r->fin)	\
	    : "cc");								\
	r->x = x;								\
	r->flags = fl;								\
}
/* op %b, %x with no size suffix (BMI one-source forms) */
#define HOST_BMI2(op, sfx, m)							\
static void host_##op##_##sfx(struct run *r)					\
{										\
	uint64_t x = r->a, fl;							\
	asm(ASM_PRE #op " %" #m "[b], %" #m "[x]" ASM_POST			\
	    : [x] "+r"(x), [fl] "=&r"(fl) : [b] "r"(r->b), [fin] "r"(r->fin)	\
	    : "cc");								\
	r->x = x;								\
	r->flags = fl;								\
}

#define SIZES4(M, op) M(op, b, b) M(op, w, w) M(op, l, k) M(op, q, q)
#define SIZES3(M, op) M(op, w, w) M(op, l, k) M(op, q, q)
#define SIZES2(M, op) M(op, l, k) M(op, q, q)

SIZES4(HOST_BIN, add) SIZES4(HOST_BIN, adc) SIZES4(HOST_BIN, sub)
SIZES4(HOST_BIN, sbb) SIZES4(HOST_BIN, cmp) SIZES4(HOST_BIN, and)
SIZES4(HOST_BIN, or) SIZES4(HOST_BIN, xor) SIZES4(HOST_BIN, test)
SIZES4(HOST_UN, neg) SIZES4(HOST_UN, inc) SIZES4(HOST_UN, dec)
SIZES4(HOST_SHIFT, shl) SIZES4(HOST_SHIFT, shr) SIZES4(HOST_SHIFT, sar)
SIZES4(HOST_MUL1, mul) SIZES4(HOST_MUL1, imul) SIZES3(HOST_BIN, imul)
SIZES3(HOST_BIN, popcnt)
SIZES2(HOST_BMI3, andn) SIZES2(HOST_BMI3, bzhi) SIZES2(HOST_BMI3, bextr)
SIZES2(HOST_BMI2, blsr) SIZES2(HOST_BMI2, blsi) SIZES2(HOST_BMI2, blsmsk)

/* Host popfq of v, then pushfq; restores idle flags (AC, DF clear). */
static uint64_t host_popf_pushf(uint64_t v)
{
	uint64_t fl;

	asm("sub $128, %%rsp\n\tpush %[v]\n\tpopfq\n\tpushfq\n\tpop %[fl]\n\t"
	    "pushq $0x202\n\tpopfq\n\tadd $128, %%rsp"
	    : [fl] "=&r"(fl) : [v] "r"(v) : "cc");
	return fl;
}

/* ---- the thunk each instruction leaves ---------------------------------- */

enum test_op {
	T_ADD, T_ADC, T_SUB, T_SBB, T_CMP, T_NEG, T_AND, T_OR, T_XOR, T_TEST,
	T_INC, T_DEC, T_SHL, T_SHR, T_SAR, T_MUL, T_IMUL1, T_IMUL2, T_POPCNT,
	T_ANDN, T_BZHI, T_BEXTR, T_BLSR, T_BLSI, T_BLSMSK,
};

enum operands { IN_PAIR, IN_ONE, IN_SHIFT };
enum feature { F_BASE, F_POPCNT, F_BMI1, F_BMI2 };

struct op_test {
	enum test_op id;
	const char *name;
	void (*host[4])(struct run *);	/* by size 0..3; NULL if none */
	uint64_t defined;		/* flags the SDM defines */
	uint64_t zero;			/* undefined on the host, 0 by loom's contract */
	enum operands in;
	enum feature feature;
};

#define H4(op) { host_##op##_b, host_##op##_w, host_##op##_l, host_##op##_q }
#define H3(op) { NULL, host_##op##_w, host_##op##_l, host_##op##_q }
#define H2(op) { NULL, NULL, host_##op##_l, host_##op##_q }

/* AF is undefined after logic ops, shifts and BMI; SF ZF AF PF after
 * multiplies; PF (and for bextr SF) after BMI.  OF after a shift by more
 * than 1 is masked by the driver.  Where loom's contract pins an undefined
 * flag to 0 (AF), "zero" checks that without the host. */
#define NO_AF (ALL & ~X86_AF)
#define DEF_MUL (X86_CF | X86_OF)
#define DEF_BMI (X86_CF | X86_OF | X86_SF | X86_ZF)
static const struct op_test op_tests[] = {
	{ T_ADD, "add", H4(add), ALL, 0, IN_PAIR, F_BASE },
	{ T_ADC, "adc", H4(adc), ALL, 0, IN_PAIR, F_BASE },
	{ T_SUB, "sub", H4(sub), ALL, 0, IN_PAIR, F_BASE },
	{ T_SBB, "sbb", H4(sbb), ALL, 0, IN_PAIR, F_BASE },
	{ T_CMP, "cmp", H4(cmp), ALL, 0, IN_PAIR, F_BASE },
	{ T_NEG, "neg", H4(neg), ALL, 0, IN_ONE, F_BASE },
	{ T_AND, "and", H4(and), NO_AF, X86_AF, IN_PAIR, F_BASE },
	{ T_OR, "or", H4(or), NO_AF, X86_AF, IN_PAIR, F_BASE },
	{ T_XOR, "xor", H4(xor), NO_AF, X86_AF, IN_PAIR, F_BASE },
	{ T_TEST, "test", H4(test), NO_AF, X86_AF, IN_PAIR, F_BASE },
	{ T_INC, "inc", H4(inc), ALL, 0, IN_ONE, F_BASE },
	{ T_DEC, "dec", H4(dec), ALL, 0, IN_ONE, F_BASE },
	{ T_SHL, "shl", H4(shl), NO_AF, X86_AF, IN_SHIFT, F_BASE },
	{ T_SHR, "shr", H4(shr), NO_AF, X86_AF, IN_SHIFT, F_BASE },
	{ T_SAR, "sar", H4(sar), NO_AF, X86_AF, IN_SHIFT, F_BASE },
	{ T_MUL, "mul", H4(mul1), DEF_MUL, X86_AF, IN_PAIR, F_BASE },
	{ T_IMUL1, "imul1", H4(imul1), DEF_MUL, X86_AF, IN_PAIR, F_BASE },
	{ T_IMUL2, "imul2", H3(imul), DEF_MUL, X86_AF, IN_PAIR, F_BASE },
	{ T_POPCNT, "popcnt", H3(popcnt), ALL, 0, IN_PAIR, F_POPCNT },
	{ T_ANDN, "andn", H2(andn), DEF_BMI, X86_AF, IN_PAIR, F_BMI1 },
	{ T_BEXTR, "bextr", H2(bextr), DEF_BMI & ~X86_SF, X86_AF, IN_PAIR, F_BMI1 },
	{ T_BLSR, "blsr", H2(blsr), DEF_BMI, X86_AF, IN_PAIR, F_BMI1 },
	{ T_BLSI, "blsi", H2(blsi), DEF_BMI, X86_AF, IN_PAIR, F_BMI1 },
	{ T_BLSMSK, "blsmsk", H2(blsmsk), DEF_BMI, X86_AF, IN_PAIR, F_BMI1 },
	{ T_BZHI, "bzhi", H2(bzhi), DEF_BMI, X86_AF, IN_PAIR, F_BMI2 },
};

struct lazy {
	uint64_t op, dst, src, src2;
};

static unsigned bits(unsigned size)
{
	return 8u << size;
}

static uint64_t mask_of(unsigned size)
{
	return ~0ull >> (64 - bits(size));
}

static uint64_t sext(uint64_t v, unsigned size)
{
	unsigned sh = 64 - bits(size);
	return (uint64_t)((int64_t)(v << sh) >> sh);
}

/* The overflow word of a signed multiply: high part minus the sign
 * extension of the low part, zero iff the product fits. */
static uint64_t imul_overflow(uint64_t a, uint64_t b, unsigned size)
{
	if (size == 3) {
		__int128 p = (__int128)(int64_t)a * (int64_t)b;
		uint64_t lo = (uint64_t)p, hi = (uint64_t)(p >> 64);
		return hi - (uint64_t)((int64_t)lo >> 63);
	}
	uint64_t p = (uint64_t)((int64_t)sext(a, size) * (int64_t)sext(b, size));
	return p - sext(p, size);
}

/* The unsigned one: the high half, left in place above the low half (as a
 * frontend masking AX with 0xff00 would) to check it is not truncated. */
static uint64_t mul_overflow(uint64_t a, uint64_t b, unsigned size)
{
	if (size == 3)
		return (uint64_t)(((unsigned __int128)a * b) >> 64);
	return ((a & mask_of(size)) * (b & mask_of(size))) & ~mask_of(size);
}

#define CC(fam, size) ((uint64_t)CC_OP_##fam##B + (size))

/* The thunk for one run, per the contract in flags.c.  count is the shift
 * count; cin the CF the instruction started with. */
static struct lazy lazy_for(enum test_op id, unsigned size, const struct run *r,
			    uint64_t cin, unsigned count)
{
	uint64_t a = r->a, b = r->b, m = mask_of(size);

	switch (id) {
	case T_ADD: return (struct lazy){ CC(ADD, size), r->x, b, 0 };
	case T_ADC: return (struct lazy){ CC(ADC, size), r->x, b, cin };
	case T_SUB: return (struct lazy){ CC(SUB, size), r->x, b, 0 };
	case T_SBB: return (struct lazy){ CC(SBB, size), r->x, b, cin };
	case T_CMP: return (struct lazy){ CC(SUB, size), a - b, b, 0 };
	case T_NEG: return (struct lazy){ CC(SUB, size), r->x, a, 0 };
	case T_AND: case T_OR: case T_XOR:
		return (struct lazy){ CC(LOGIC, size), r->x, 0, 0 };
	case T_TEST: return (struct lazy){ CC(LOGIC, size), a & b, 0, 0 };
	case T_INC: return (struct lazy){ CC(INC, size), r->x, cin, 0 };
	case T_DEC: return (struct lazy){ CC(DEC, size), r->x, cin, 0 };
	case T_SHL:
		return (struct lazy){ CC(SHL, size), r->x, a << (count - 1), 0 };
	case T_SHR:
		return (struct lazy){ CC(SAR, size), r->x,
				      ((a & m) >> (count - 1)) | (a & ~m), 0 };
	case T_SAR:
		return (struct lazy){ CC(SAR, size), r->x,
			(uint64_t)((int64_t)sext(a, size) >> (count - 1)), 0 };
	case T_MUL:
		return (struct lazy){ CC(MUL, size), r->x, mul_overflow(a, b, size), 0 };
	case T_IMUL1: case T_IMUL2:
		return (struct lazy){ CC(MUL, size), r->x, imul_overflow(a, b, size), 0 };
	case T_POPCNT:
		/* dst is not an input: give it noise */
		return (struct lazy){ CC_OP_POPCNT, ~a, b & m, 0 };
	case T_ANDN: case T_BEXTR:
		return (struct lazy){ CC(BMI, size), r->x, 0, 0 };
	case T_BLSR: case T_BLSMSK:
		return (struct lazy){ CC(BMI, size), r->x, (b & m) == 0, 0 };
	case T_BLSI:
		return (struct lazy){ CC(BMI, size), r->x, (b & m) != 0, 0 };
	case T_BZHI:
		return (struct lazy){ CC(BMI, size), r->x, (b & 0xff) > bits(size) - 1, 0 };
	}
	abort();
}

/* ---- the comparison ------------------------------------------------------ */

static struct cpu cpu;
static unsigned long compared, mismatches;

static void report(const char *what, const struct op_test *t, unsigned size,
		   const struct run *r, unsigned count, const struct lazy *lz,
		   uint64_t defined, uint64_t want, uint64_t got)
{
	unit_failed++;
	if (++mismatches > 20)
		return;
	fprintf(stderr, "mismatch %s: %s%u a=%#llx b=%#llx fin=%#llx count=%u | "
		"cc_op=%llu dst=%#llx src=%#llx src2=%#llx | defined=%#llx "
		"host=%#llx loom=%#llx\n",
		what, t->name, bits(size), (unsigned long long)r->a,
		(unsigned long long)r->b, (unsigned long long)r->fin, count,
		(unsigned long long)lz->op, (unsigned long long)lz->dst,
		(unsigned long long)lz->src, (unsigned long long)lz->src2,
		(unsigned long long)defined, (unsigned long long)want,
		(unsigned long long)got);
}

static void check_case(const struct op_test *t, unsigned size, struct run *r,
		       uint64_t cin, unsigned count)
{
	uint64_t defined = t->defined, all, c, rf;
	struct lazy lz;

	if (t->in == IN_SHIFT && count != 1)
		defined &= ~X86_OF;
	t->host[size](r);
	lz = lazy_for(t->id, size, r, cin, count);
	compared++;

	all = helper_cc_compute_all(lz.dst, lz.src, lz.src2, lz.op);
	if (((all ^ r->flags) & defined) || (all & ~ALL) || (all & t->zero)) {
		report("all", t, size, r, count, &lz, defined, r->flags, all);
		return;
	}
	c = helper_cc_compute_c(lz.dst, lz.src, lz.src2, lz.op);
	if (c != (r->flags & X86_CF)) {
		report("c", t, size, r, count, &lz, X86_CF, r->flags & X86_CF, c);
		return;
	}
	/* Whole RFLAGS: the host's idle bits come from cpu.eflags. */
	cpu.cc_op = lz.op;
	cpu.cc_dst = lz.dst;
	cpu.cc_src = lz.src;
	cpu.cc_src2 = lz.src2;
	rf = x86_get_rflags(&cpu);
	if ((rf ^ r->flags) & (defined | ~ALL)) {
		report("rflags", t, size, r, count, &lz, defined | ~ALL, r->flags, rf);
		return;
	}
	unit_passed++;
}

/* ---- inputs ---------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const uint64_t edges[] = {
	0, 1, 2, 0x0f, 0x10, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x100,
	0x7fff, 0x8000, 0x8001, 0xffff, 0x7fffffff, 0x80000000, 0x80000001,
	0xffffffff, 0x7fffffffffffffff, 0x8000000000000000, 0x8000000000000001,
	0xfffffffffffffffe, 0xffffffffffffffff, 0xfffffffffffffff0,
	0xffffffffffffff7f, 0xffffffffffff7fff,
};
#define NEDGES (sizeof(edges) / sizeof(edges[0]))
#define NRANDOM 4000

/* A random operand, biased toward the places flags change. */
static uint64_t rand_value(void)
{
	uint64_t r = rng();

	switch (rng() % 4) {
	case 0: return r;
	case 1: return edges[r % NEDGES] + (rng() % 5) - 2;
	case 2: return r >> (rng() % 64);
	default: return -(r >> (rng() % 64));
	}
}

/* Random bits above the operand size: the frontend may leave them there. */
static uint64_t with_garbage(uint64_t v, unsigned size)
{
	if (size == 3)
		return v;
	return (v & mask_of(size)) | (rng() & ~mask_of(size));
}

/* RFLAGS before: CF = cin, the other arithmetic flags random. */
static uint64_t flags_in(uint64_t cin)
{
	return RFLAGS_BASE | (rng() & ALL & ~X86_CF) | cin;
}

static bool have(enum feature f)
{
	switch (f) {
	case F_BASE: return true;
	case F_POPCNT: return __builtin_cpu_supports("popcnt");
	case F_BMI1: return __builtin_cpu_supports("bmi");
	case F_BMI2: return __builtin_cpu_supports("bmi2");
	}
	return false;
}

static void run_one(const struct op_test *t, unsigned size, uint64_t a, uint64_t b)
{
	for (uint64_t cin = 0; cin <= 1; cin++) {
		struct run r = { .a = with_garbage(a, size), .b = with_garbage(b, size),
				 .fin = flags_in(cin) };

		if (t->in != IN_SHIFT) {
			check_case(t, size, &r, cin, 0);
			continue;
		}
		for (unsigned count = 1; count < bits(size); count++) {
			r.b = count;
			r.fin = flags_in(cin);
			check_case(t, size, &r, cin, count);
		}
	}
}

static void run_op(const struct op_test *t, unsigned size)
{
	/* Single-operand ops and shifts see each value once; pairs cross. */
	bool pair = t->in == IN_PAIR;
	unsigned nrandom = t->in == IN_SHIFT ? NRANDOM / 4 : NRANDOM;

	for (unsigned i = 0; i < NEDGES; i++)
		for (unsigned j = 0; j < (pair ? NEDGES : 1); j++)
			run_one(t, size, edges[i], edges[j]);
	for (unsigned i = 0; i < nrandom; i++) {
		uint64_t a = rand_value();
		run_one(t, size, a, rand_value());
	}
}

static void test_differential(void)
{
	for (unsigned i = 0; i < sizeof(op_tests) / sizeof(op_tests[0]); i++) {
		const struct op_test *t = &op_tests[i];

		if (!have(t->feature)) {
			printf("test_flags: host lacks %s, skipped\n", t->name);
			continue;
		}
		for (unsigned size = 0; size < 4; size++)
			if (t->host[size])
				run_op(t, size);
	}
	printf("test_flags: %lu cases compared with the host, %lu mismatches\n",
	       compared, mismatches);
}

/* ---- CC_OP_EFLAGS and the RFLAGS round trips ----------------------------- */

static void reset_cpu(void)
{
	memset(&cpu, 0, sizeof(cpu));
	cpu.eflags = RFLAGS_BASE;
	cpu.df = 1;
}

static void test_eflags_op(void)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < 1000; i++) {
		uint64_t v = rng();
		if (helper_cc_compute_all(rng(), v, rng(), CC_OP_EFLAGS) != (v & ALL) ||
		    helper_cc_compute_c(rng(), v, rng(), CC_OP_EFLAGS) != (v & X86_CF))
			bad++;
	}
	CHECK_EQ(bad, 0);
}

/* popf then pushf on the host against x86_set_rflags then x86_get_rflags.
 * TF is left out: on the host it would trap. */
static void test_popf_round_trip(void)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < 2000; i++) {
		uint64_t v = rng();
		if (i % 2)
			v &= 0x3fffff;
		v &= ~(uint64_t)X86_TF;

		uint64_t host = host_popf_pushf(v);
		reset_cpu();
		x86_set_rflags(&cpu, v);
		uint64_t got = x86_get_rflags(&cpu);
		if (got != host || cpu.cc_op != CC_OP_EFLAGS ||
		    (cpu.df != 1 && cpu.df != (uint64_t)-1) ||
		    (cpu.eflags & (ALL | X86_DF))) {
			if (bad++ < 20)
				fprintf(stderr, "popf %#llx: host %#llx loom %#llx\n",
					(unsigned long long)v, (unsigned long long)host,
					(unsigned long long)got);
		}
		/* and back: set(get(x)) is the identity on the result */
		x86_set_rflags(&cpu, got);
		if (x86_get_rflags(&cpu) != got)
			bad++;
	}
	CHECK_EQ(bad, 0);
}

static void test_rflags_bits(void)
{
	reset_cpu();
	CHECK_EQ(x86_get_rflags(&cpu), RFLAGS_BASE);

	/* DF lives in cpu->df */
	cpu.df = (uint64_t)-1;
	CHECK_EQ(x86_get_rflags(&cpu), RFLAGS_BASE | X86_DF);
	x86_set_rflags(&cpu, RFLAGS_BASE);
	CHECK_EQ(cpu.df, 1);
	x86_set_rflags(&cpu, RFLAGS_BASE | X86_DF | X86_CF | X86_OF);
	CHECK_EQ(cpu.df, (uint64_t)-1);
	CHECK_EQ(cpu.cc_op, CC_OP_EFLAGS);
	CHECK_EQ(cpu.cc_src, X86_CF | X86_OF);
	CHECK_EQ(x86_get_rflags(&cpu), RFLAGS_BASE | X86_DF | X86_CF | X86_OF);

	/* TF is kept though ignored; IF cannot be cleared by a user */
	x86_set_rflags(&cpu, 0x2 | X86_TF | X86_AC | X86_ID | X86_NT);
	CHECK_EQ(x86_get_rflags(&cpu), RFLAGS_BASE | X86_TF | X86_AC | X86_ID | X86_NT);
	x86_set_rflags(&cpu, 0);
	CHECK_EQ(x86_get_rflags(&cpu), RFLAGS_BASE);

	/* lazy state shows through: 0xff + 1 in 8 bits */
	cpu.cc_op = CC_OP_ADDB;
	cpu.cc_dst = 0x100;
	cpu.cc_src = 1;
	CHECK_EQ(x86_get_rflags(&cpu),
		 RFLAGS_BASE | X86_CF | X86_ZF | X86_PF | X86_AF);
}

/* An unknown cc_op is a loom bug: internal error, status 125. */
static void test_bad_op(void)
{
	for (int which = 0; which < 2; which++) {
		pid_t pid = fork();
		int status = 0;

		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);
			dup2(fd, 2);
			if (which)
				helper_cc_compute_c(0, 0, 0, CC_OP_NB);
			else
				helper_cc_compute_all(0, 0, 0, CC_OP_NB + 7);
			_exit(0);
		}
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == LOOM_EXIT_INTERNAL);
	}
}

/* ---- a rotate after another family (ROT) ---------------------------------- */

/* op %b, %x then a rotate of x by cl (1..size-1): which = 0 addl/roll,
 * 1 subq/rorq, 2 andw/rolw, 3 incb/rorb */
static uint64_t host_then_rotate(int which, uint64_t *x, uint64_t b, uint64_t n, uint64_t fin)
{
	uint64_t fl;

	switch (which) {
	case 0:
		asm(ASM_PRE "addl %k[b], %k[x]\n\troll %%cl, %k[x]" ASM_POST
		    : [x] "+r"(*x), [fl] "=&r"(fl) : [b] "r"(b), "c"(n), [fin] "r"(fin) : "cc");
		break;
	case 1:
		asm(ASM_PRE "subq %q[b], %q[x]\n\trorq %%cl, %q[x]" ASM_POST
		    : [x] "+r"(*x), [fl] "=&r"(fl) : [b] "r"(b), "c"(n), [fin] "r"(fin) : "cc");
		break;
	case 2:
		asm(ASM_PRE "andw %w[b], %w[x]\n\trolw %%cl, %w[x]" ASM_POST
		    : [x] "+r"(*x), [fl] "=&r"(fl) : [b] "r"(b), "c"(n), [fin] "r"(fin) : "cc");
		break;
	default:
		asm(ASM_PRE "incb %b[x]\n\trorb %%cl, %b[x]" ASM_POST
		    : [x] "+r"(*x), [fl] "=&r"(fl) : "c"(n), [fin] "r"(fin) : "cc");
		break;
	}
	return fl;
}

/* The thunk as the frontend leaves it (lift-int.c: rotate_flags): ROT of
 * the family's size, the family's dst, and in src the rotate's CF and OF
 * and the family's AF.  OF is compared for a count of 1 only, where the
 * manual defines it; AF not after a logic op, which leaves it undefined. */
static void test_rotate_after(void)
{
	static const unsigned size_of[] = { 2, 3, 1, 0 };
	static const int left[] = { 1, 0, 1, 0 };
	unsigned bad = 0, n = 0;

	for (int which = 0; which < 4; which++) {
		unsigned size = size_of[which], top = bits(size) - 1;
		for (unsigned i = 0; i < 2000; i++) {
			uint64_t a = rand_value(), b = rand_value(), cin = rng() & 1;
			uint64_t cnt = 1 + rng() % top, fin = flags_in(cin), x = a;
			uint64_t fl = host_then_rotate(which, &x, b, cnt, fin);
			/* the family's result: undo the rotate */
			uint64_t m = mask_of(size), r = x & m;
			uint64_t k = left[which] ? cnt : bits(size) - cnt;
			uint64_t res = ((r >> k) | (r << (bits(size) - k))) & m;
			uint64_t af, first;
			switch (which) {
			case 0: first = res - b; af = (first ^ b ^ res) & X86_AF; break;
			case 1: first = res + b; af = (first ^ b ^ res) & X86_AF; break;
			case 2: af = 0; break;
			default: af = (res & 0xf) == 0 ? X86_AF : 0; break;
			}
			uint64_t cf, of;
			if (left[which]) {
				cf = r & 1;
				of = ((r >> top) & 1) ^ cf;
			} else {
				cf = (r >> top) & 1;
				of = cf ^ ((r >> (top - 1)) & 1);
			}
			uint64_t op = CC(ROT, size), src = cf | of << 11 | af, defined = ALL;
			/* garbage above the size, as the frontend may leave */
			uint64_t dst = with_garbage(res, size);
			if (cnt != 1)
				defined &= ~X86_OF;
			if (which == 2)
				defined &= ~X86_AF;
			uint64_t all = helper_cc_compute_all(dst, src, rng(), op);
			uint64_t c = helper_cc_compute_c(dst, src, rng(), op);
			n++;
			if (((all ^ fl) & defined) || c != (fl & X86_CF)) {
				if (bad++ < 5)
					fprintf(stderr, "rotate after case %d: a=%#llx b=%#llx count=%llu "
						"host=%#llx loom=%#llx c=%llu\n", which,
						(unsigned long long)a, (unsigned long long)b,
						(unsigned long long)cnt, (unsigned long long)fl,
						(unsigned long long)all, (unsigned long long)c);
			}
		}
	}
	printf("test_flags: %u rotates after another family compared with the host\n", n);
	CHECK_EQ(bad, 0);
}

void unit_main(void)
{
	reset_cpu();
	test_differential();
	test_eflags_op();
	test_popf_round_trip();
	test_rflags_bits();
	test_bad_op();
	test_rotate_after();
}
