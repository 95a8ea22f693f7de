/*
 * Differential tests of the exec layer through its public interface
 * (exec/exec.h): the TB hash and the jump cache, chaining and unchaining,
 * invalidation, flushes and the SMC page states, in the three translation
 * modes (default, one instruction per TB, no chaining) and mixtures of them.
 *
 * Each case generates a small guest program (x86-64 code this file encodes
 * itself) in a mapped code region: blocks ending in jmp, jcc, indirect jmp,
 * counted loops, calls of leaf functions and returns, and stores into the
 * immediates of other instructions (self-modifying code, on the same page
 * or another, into the running block or a later one).  Half of the region is
 * laid out so that blocks on its first two pages collide pairwise in the
 * jump cache; blocks on the last two may cross their page boundary.  A case
 * is a random sequence of operations on that program: run it with
 * exec_run() from random registers, patch an immediate the way linux/ does
 * around mprotect (exec_invalidate_range, exec_mem_set) or the way the
 * kernel writes guest memory (exec_unprotect_range), exec_flush_all(),
 * exec_pretranslate(), remap the whole region, replay what the runs
 * translated and chained (exec_tb_hook and exec_chain_hook, then
 * exec_pretranslate and exec_prechain after a flush, as an AFL++ fork
 * server does), ask to chain an exit a TB does not have.  One case in
 * eight instead runs the program on two or three threads while the main
 * thread, which has no cpu, flushes, invalidates, pretranslates and asks
 * for exits.  After every run the
 * registers, the code region (which the guest's stores changed) and the
 * stack are compared with an interpreter of the encodings generated here:
 * the oracle.  It decodes the bytes itself and shares nothing with loom, so
 * a stale TB that runs after its code changed shows as a difference.  Some
 * cases also get exit requests from a timer, at arbitrary TB boundaries.
 *
 * Every case runs in a forked child: a crash or hang is that case's one
 * failure.  Knobs:
 *   LOOM_TEST_ONLY=i or i-j   run only those cases
 *   LOOM_TEST_REDUCE=i        shrink failing case i to a minimal operation
 *                             list and print it with a listing of its program
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "exec/exec.h"
#include "exec/guest-mem.h"
#include "linux/linux.h"
#include "guest/guest.h"
#include "guest/x86/cpu.h"
#include "guest/x86/cpuid.h"
#include "instrument/instrument.h"
#include "unit.h"

#define NRANDOM 1200
#define SEED0 0x5eedc0de
#define PAGE 4096
#define CODE_PAGES 4
#define CODE_SIZE (CODE_PAGES * PAGE)
/* An even page number: offset o on page 0 and o+1 on page 1 share a jump
 * cache slot for even o (the slot mixes pc with pc >> 12). */
#define CODE_BASE ((uint64_t)0x7e4000000000)
#define STACK_BASE (CODE_BASE + 0x100000)
#define STACK_SIZE (4 * PAGE)
#define MAX_BLOCKS 40
#define MAX_FUNCS 5
#define MAX_OPS 24
#define MAX_FIX 512
#define ORACLE_STEPS 5000000
#define CASE_SECONDS 20

/* Registers generated ALU code may use: not rsp, r14 (code base), r15 (loop
 * counter).  r13 is also the value SMC stores write. */
static const int gregs[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
#define NGREGS (int)(sizeof(gregs) / sizeof(gregs[0]))

/* ---- the random source ---- */

static uint64_t rs;
static uint64_t rnd(void) { return unit_xorshift(&rs) * 0x2545f4914f6cdd1dull; }
static unsigned rn(unsigned n) { return rnd() % n; }
static int greg(void) { return gregs[rn(NGREGS)]; }

/* ---- the program: image, fixups ---- */

struct prog {
	uint8_t img[CODE_SIZE];
	uint32_t entry;			/* image offset of block 0 */
	uint32_t blk[MAX_BLOCKS], fn[MAX_FUNCS];
	int nblk, nfn;
	uint32_t sites[MAX_FIX];	/* image offsets of patchable imm32s */
	int nsites;
	bool stores;		/* may store into its code */
};

enum { FIX_REL_BLK, FIX_REL_FN, FIX_ABS_BLK, FIX_STORE };
struct fix {
	uint32_t at;			/* image offset of the field */
	int kind, target;
};

static struct prog P;
static struct fix fixes[MAX_FIX];
static int nfix;

/* A block being emitted: bytes, then placed. */
static uint8_t bb[512];
static int bn;
static struct fix bfix[64];
static int nbfix;
static uint32_t bsites[64];
static int nbsites;

static void put8(uint8_t v) { bb[bn++] = v; }
static void put32(uint32_t v) { memcpy(bb + bn, &v, 4); bn += 4; }
static void put64(uint64_t v) { memcpy(bb + bn, &v, 8); bn += 8; }
static void bfixup(int kind, int target) { bfix[nbfix++] = (struct fix){ bn, kind, target }; }
static uint8_t rex(int r, int b) { return 0x48 | (r >> 3) << 2 | (b >> 3); }

static void e_rr(uint8_t opc, int dst, int src)	/* add/xor r/m64, r64 */
{
	put8(rex(src, dst)), put8(opc), put8(0xc0 | (src & 7) << 3 | (dst & 7));
}
static void e_imul(int dst, int src)
{
	put8(rex(dst, src)), put8(0x0f), put8(0xaf), put8(0xc0 | (dst & 7) << 3 | (src & 7));
}
static void e_ri(uint8_t opc, int r, uint32_t imm, bool site)	/* 81/C7/F7 /0 id */
{
	put8(rex(0, r)), put8(opc), put8(0xc0 | (r & 7));
	if (site)
		bsites[nbsites++] = bn;
	put32(imm);
}
static void e_rol(int r, int n) { put8(rex(0, r)), put8(0xc1), put8(0xc0 | (r & 7)), put8(n); }
static void e_store(void)	/* mov [r14 + disp32], r13d */
{
	put8(0x45), put8(0x89), put8(0xae);
	bfixup(FIX_STORE, 0);
	put32(0);
}
static void e_jmp(int blk) { put8(0xe9), bfixup(FIX_REL_BLK, blk), put32(0); }
static void e_jcc(bool nz, int blk) { put8(0x0f), put8(nz ? 0x85 : 0x84), bfixup(FIX_REL_BLK, blk), put32(0); }
static void e_call(int fn) { put8(0xe8), bfixup(FIX_REL_FN, fn), put32(0); }
static void e_jmp_abs(int blk)	/* mov rax, imm64; jmp rax */
{
	put8(0x48), put8(0xb8), bfixup(FIX_ABS_BLK, blk), put64(0);
	put8(0xff), put8(0xe0);
}

/* ALU ops, calls and stores; calls only from main blocks. */
static void body(int nfns, bool stores)
{
	int n = rn(8);
	for (int i = 0; i < n; i++) {
		switch (rn(nfns ? 10 : 9)) {
		case 0: e_rr(0x01, greg(), greg()); break;
		case 1: e_rr(0x31, greg(), greg()); break;
		case 2: e_imul(greg(), greg()); break;
		case 3: case 4: e_ri(0x81, greg(), rnd(), true); break;
		case 5: e_rol(greg(), 1 + rn(63)); break;
		case 6: e_ri(0xc7, greg(), rnd(), true); break;
		case 7: e_rr(0x01, R_R13, greg()); break;
		case 8:
			if (stores && rn(3) == 0)
				e_store();
			else
				e_rr(0x31, greg(), greg());
			break;
		case 9: e_call(rn(nfns)); break;
		}
	}
}

/* ---- layout ---- */

static uint32_t twin_off, twin_size;	/* pages 0 and 1, pairwise colliding */
static bool twin_pending;
static uint32_t far_off;		/* pages 2 and 3, contiguous */

static void place_reset(void)
{
	twin_off = 0, twin_pending = false;
	far_off = 2 * PAGE + 8 * rn(64);
}

/* Copy the emitted block into the image; returns its image offset. */
static uint32_t place(void)
{
	uint32_t at;
	if (rn(3) && twin_off + bn + 2 < PAGE) {
		if (!twin_pending) {
			at = twin_off;
			twin_size = bn;
			twin_pending = true;
		} else {
			at = PAGE + twin_off + 1;
			twin_off += ((twin_size > (uint32_t)bn ? twin_size : bn) + 1) & ~1u;
			twin_pending = false;
		}
	} else {
		if (twin_pending) {	/* keep page 0 clear of the next twin */
			twin_off += (twin_size + 1) & ~1u;
			twin_pending = false;
		}
		at = far_off;
		far_off += bn + rn(4);
		if (far_off > CODE_SIZE - 16) {
			fprintf(stderr, "test_exec: generated program too big\n");
			exit(2);
		}
	}
	memcpy(P.img + at, bb, bn);
	for (int i = 0; i < nbfix; i++)
		fixes[nfix++] = (struct fix){ at + bfix[i].at, bfix[i].kind, bfix[i].target };
	for (int i = 0; i < nbsites; i++)
		P.sites[P.nsites++] = at + bsites[i];
	return at;
}

static void begin(void) { bn = nbfix = nbsites = 0; }

enum { K_PLAIN, K_LOOPHDR, K_LOOPBODY };

/* A forward target of block i that is not a loop body (those are entered
 * only from their header, which sets the counter). */
static int fwd(const int *kind, int n, int i)
{
	int j = i + 1 + rn(3);
	if (j > n - 1)
		j = n - 1;
	if (kind[j] == K_LOOPBODY)
		j--;
	return j;
}

static bool no_stores;		/* threaded cases: the code stays the same */

/* A random program of seed into P. */
static void gen_program(uint64_t seed)
{
	int kind[MAX_BLOCKS] = { 0 };

	rs = seed * 0x9e3779b97f4a7c15ull + 1;
	memset(&P, 0, sizeof(P));
	memset(P.img, 0xcc, sizeof(P.img));	/* int3 between blocks */
	nfix = 0;
	place_reset();
	int n = 3 + rn(MAX_BLOCKS - 3);
	P.nblk = n;
	P.nfn = rn(MAX_FUNCS + 1);
	bool stores = !no_stores && rn(4) != 0;
	P.stores = stores;
	for (int i = 0; i < n - 2; i++)
		if (rn(5) == 0) {
			kind[i] = K_LOOPHDR;
			kind[++i] = K_LOOPBODY;
		}
	for (int f = 0; f < P.nfn; f++) {
		begin();
		body(0, stores);
		put8(0xc3);
		P.fn[f] = place();
	}
	for (int i = 0; i < n; i++) {
		begin();
		if (kind[i] == K_LOOPHDR) {
			/* mov r15, k: mostly short loops, some long enough for
			 * the timer's exit requests to land inside */
			uint32_t k = rn(8) ? 1 + rn(12) : 100 + rn(400);
			put8(0x49), put8(0xc7), put8(0xc7), put32(k);
			e_jmp(i + 1);
			P.blk[i] = place();
			continue;
		}
		body(P.nfn, stores);
		if (kind[i] == K_LOOPBODY) {
			put8(0x49), put8(0xff), put8(0xcf);	/* dec r15 */
			e_jcc(true, i);
		}
		if (i == n - 1) {
			put8(0x0f), put8(0x05);	/* syscall: the end */
		} else {
			switch (rn(4)) {
			case 0: e_jmp(fwd(kind, n, i)); break;
			case 1: case 2:
				e_ri(0xf7, greg(), 1u << rn(32), false);	/* test r, bit */
				e_jcc(rn(2), fwd(kind, n, i));
				e_jmp(fwd(kind, n, i));
				break;
			case 3: e_jmp_abs(fwd(kind, n, i)); break;
			}
		}
		P.blk[i] = place();
	}
	P.entry = P.blk[0];
	for (int i = 0; i < nfix; i++) {
		struct fix *f = &fixes[i];
		uint64_t field = CODE_BASE + f->at;
		uint64_t to;
		switch (f->kind) {
		case FIX_REL_BLK:
		case FIX_REL_FN:
			to = CODE_BASE + (f->kind == FIX_REL_BLK ? P.blk[f->target] : P.fn[f->target]);
			*(int32_t *)(P.img + f->at) = (int32_t)(to - (field + 4));
			break;
		case FIX_ABS_BLK:
			*(uint64_t *)(P.img + f->at) = CODE_BASE + P.blk[f->target];
			break;
		case FIX_STORE:
			/* an imm32 of this block or any other; without
			 * any, the padding at the end of the region */
			*(uint32_t *)(P.img + f->at) = P.nsites ? P.sites[rn(P.nsites)] : CODE_SIZE - 8;
			break;
		}
	}
}

/* A loop of 30 rounds whose body stores into its own next instruction's
 * immediate, on a page other code lives on: the page faults on every round
 * until it turns hot, then runs self-checking TBs that find themselves
 * stale. */
static void gen_hot(void)
{
	memset(&P, 0, sizeof(P));
	memset(P.img, 0xcc, sizeof(P.img));
	nfix = 0;
	place_reset();
	P.nblk = 4;
	begin();
	put8(0x49), put8(0xc7), put8(0xc7), put32(30);
	e_jmp(1);
	P.blk[0] = place();
	begin();
	e_rr(0x01, R_R13, R_RBX);
	e_store();
	e_ri(0x81, R_RAX, 7, true);	/* the store's target */
	e_rr(0x31, R_RBX, R_RAX);
	put8(0x49), put8(0xff), put8(0xcf);
	e_jcc(true, 1);
	e_jmp(2);
	P.blk[1] = place();
	begin();
	e_ri(0x81, R_RCX, 11, true);
	e_jmp(3);
	P.blk[2] = place();
	begin();
	put8(0x0f), put8(0x05);
	P.blk[3] = place();
	P.entry = P.blk[0];
	for (int i = 0; i < nfix; i++) {
		struct fix *f = &fixes[i];
		uint64_t field = CODE_BASE + f->at;
		if (f->kind == FIX_STORE)
			*(uint32_t *)(P.img + f->at) = P.sites[0];
		else
			*(int32_t *)(P.img + f->at) = (int32_t)(CODE_BASE + P.blk[f->target] - (field + 4));
	}
}

/* ---- the oracle ---- */

struct ostate {
	uint64_t r[16];
	uint64_t rip;
	bool zf;
};

static uint8_t ocode[CODE_SIZE], ostack[STACK_SIZE];

static uint8_t *omem(uint64_t a, int n)
{
	if (a >= CODE_BASE && a + n <= CODE_BASE + CODE_SIZE)
		return ocode + (a - CODE_BASE);
	if (a >= STACK_BASE && a + n <= STACK_BASE + STACK_SIZE)
		return ostack + (a - STACK_BASE);
	return NULL;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t sx32(const uint8_t *p) { return (uint64_t)(int64_t)(int32_t)rd32(p); }

/* Run until the syscall; returns NULL or why the oracle cannot go on. */
static const char *oracle_run(struct ostate *s)
{
	for (long step = 0; step < ORACLE_STEPS; step++) {
		const uint8_t *m = omem(s->rip, 15);
		if (!m)
			return "pc left the code";
		uint64_t *r = s->r;
		if (m[0] == 0x0f && m[1] == 0x05) {
			s->rip += 2;
			return NULL;
		} else if (m[0] == 0x0f && (m[1] == 0x84 || m[1] == 0x85)) {
			bool taken = m[1] == 0x85 ? !s->zf : s->zf;
			s->rip += 6 + (taken ? sx32(m + 2) : 0);
		} else if (m[0] == 0xe9) {
			s->rip += 5 + sx32(m + 1);
		} else if (m[0] == 0xe8) {
			uint8_t *st = omem(r[R_RSP] - 8, 8);
			if (!st)
				return "stack overflow";
			uint64_t ret = s->rip + 5;
			memcpy(st, &ret, 8);
			r[R_RSP] -= 8;
			s->rip = ret + sx32(m + 1);
		} else if (m[0] == 0xc3) {
			uint8_t *st = omem(r[R_RSP], 8);
			if (!st)
				return "stack underflow";
			memcpy(&s->rip, st, 8);
			r[R_RSP] += 8;
		} else if (m[0] == 0xff && m[1] == 0xe0) {
			s->rip = r[R_RAX];
		} else if (m[0] == 0x45 && m[1] == 0x89 && m[2] == 0xae) {
			uint8_t *d = omem(r[R_R14] + sx32(m + 3), 4);
			if (!d)
				return "store outside the code";
			uint32_t v = r[R_R13];
			memcpy(d, &v, 4);
			s->rip += 7;
		} else if ((m[0] & 0xf0) == 0x40) {
			int R = (m[0] >> 2 & 1) << 3, B = (m[0] & 1) << 3;
			int reg = R | (m[2] >> 3 & 7), rm = B | (m[2] & 7);
			switch (m[1]) {
			case 0x01: r[rm] += r[reg]; s->rip += 3; break;
			case 0x31: r[rm] ^= r[reg]; s->rip += 3; break;
			case 0x0f:
				if (m[2] != 0xaf)
					return "bad 0f opcode";
				reg = R | (m[3] >> 3 & 7), rm = B | (m[3] & 7);
				r[reg] *= r[rm];
				s->rip += 4;
				break;
			case 0x81: r[rm] += sx32(m + 3); s->rip += 7; break;
			case 0xc7: r[rm] = sx32(m + 3); s->rip += 7; break;
			case 0xf7: s->zf = (r[rm] & sx32(m + 3)) == 0; s->rip += 7; break;
			case 0xc1: {
				int n = m[3] & 63;
				if (n)
					r[rm] = r[rm] << n | r[rm] >> (64 - n);
				s->rip += 4;
				break;
			}
			case 0xff:
				if ((m[2] & 0xf8) != 0xc8)
					return "bad ff opcode";
				s->zf = --r[rm] == 0;
				s->rip += 3;
				break;
			default:
				if ((m[1] & 0xf8) != 0xb8)
					return "bad opcode";
				memcpy(&r[B | (m[1] & 7)], m + 2, 8);
				s->rip += 10;
				break;
			}
		} else {
			return "bad opcode";
		}
	}
	return "too many steps";
}

/* ---- operations ---- */

enum { OP_RUN, OP_PATCH_MPROTECT, OP_PATCH_KERNEL, OP_FLUSH, OP_PRETRANSLATE, OP_REMAP, OP_WARM,
       OP_BADCHAIN, NOPKINDS };
static const char *const op_names[] = { "run", "patch-mprotect", "patch-kernel", "flush",
					"pretranslate", "remap", "warm", "bad-chain" };
struct op {
	int kind;
	int mode;		/* run: 0 default, 1 one insn per TB, 2 no chaining */
	uint64_t seed;		/* run: registers; patch: site and value */
};

struct tcase {
	struct op ops[MAX_OPS];
	int nops;
	bool timer;		/* exit requests from a timer */
	int threads;		/* > 0: that many threads run while this one disturbs */
	int mode;		/* threaded: the mode of every run */
	bool hot;		/* the hot-page program */
};

static void gen_case(int i, struct tcase *c)
{
	memset(c, 0, sizeof(*c));
	if (i == 0) {
		c->hot = true;
		gen_hot();
		for (int m = 0; m < 3; m++)
			c->ops[c->nops++] = (struct op){ OP_RUN, m, 1 + m };
		c->ops[c->nops++] = (struct op){ OP_REMAP, 0, 0 };
		c->ops[c->nops++] = (struct op){ OP_RUN, 0, 7 };
		return;
	}
	no_stores = i % 8 == 5;
	gen_program(SEED0 + i);
	no_stores = false;
	rs = (SEED0 + i) * 0x632be59bd9b4e019ull + 3;
	if (i % 8 == 5) {
		c->threads = 2 + rn(2);
		c->mode = rn(3);
		return;
	}
	c->timer = i % 4 == 1;
	int mixed = i % 3 == 0;	/* else one mode for the whole case */
	int mode = rn(3);
	c->nops = 3 + rn(MAX_OPS - 3);
	for (int k = 0; k < c->nops; k++) {
		struct op *o = &c->ops[k];
		o->kind = k == 0 || rn(5) < 2 ? OP_RUN : 1 + rn(NOPKINDS - 1);
		/* Replaying what a run translated and chained is right only
		 * while no page changed between cold and hot since (TBs there
		 * change shape): not with self-modifying code. */
		if (o->kind == OP_WARM && P.stores)
			o->kind = OP_FLUSH;
		o->mode = mixed ? rn(3) : mode;
		o->seed = rnd();
	}
	c->ops[c->nops - 1].kind = OP_RUN;
}

/* Shared with the parent across the forked children. */
struct shared {
	int passed, failed, cur, failed_cases;
	long runs, tbs, invalidated, flushes, restarts, hot, stale, requests;
	char why[256];
};
static struct shared *sh;

static struct cpu *cpu;
static volatile int timer_requests, timer_ticks;
static volatile int want_requests;

static void on_timer(int sig)
{
	(void)sig;
	if (++timer_ticks > CASE_SECONDS * 2000) {
		static const char msg[] = "test_exec: case timed out\n";
		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(3);
	}
	if (want_requests && exec_current_cpu) {
		cpu->x.exit_request = 1;
		timer_requests++;
	}
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	if (exec_host_fault(si, uc))
		return;
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "test_exec: host signal %d at 0x%lx outside guest code\n",
			 sig, (unsigned long)(uintptr_t)si->si_addr);
	(void)!write(2, msg, n);
	_exit(4);
}

static void map_code(void)
{
	void *m = mmap((void *)CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (m == MAP_FAILED) {
		perror("test_exec: mmap");
		_exit(2);
	}
	memcpy(m, ocode, CODE_SIZE);
	exec_mem_set(CODE_BASE, CODE_BASE + CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
}

static bool fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sh->why, sizeof(sh->why), fmt, ap);
	va_end(ap);
	return false;
}

static const char *const rnames[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

static bool do_run(const struct op *o)
{
	struct ostate s = { 0 };
	uint64_t save = rs;
	rs = o->seed | 1;
	for (int r = 0; r < 16; r++)
		s.r[r] = rn(4) ? rnd() : rn(3);
	rs = save;
	s.r[R_RSP] = STACK_BASE + STACK_SIZE - 64;
	s.r[R_R14] = CODE_BASE;
	s.r[R_R15] = 0;
	s.rip = CODE_BASE + P.entry;

	x86_cpu_reset(cpu);
	memcpy(cpu->regs, s.r, sizeof(s.r));
	cpu->rip = s.rip;
	exec_opts.single_insn = o->mode == 1;
	exec_opts.nochain = o->mode == 2;
	const char *bad = oracle_run(&s);
	if (bad)
		return fail("the oracle stopped: %s at 0x%" PRIx64, bad, s.rip);
	enum exec_exit e;
	while ((e = exec_run(cpu)) == EXEC_REQUEST)
		sh->requests++;
	sh->runs++;
	if (e != EXEC_SYSCALL)
		return fail("exec_run returned %d (vector %d at 0x%" PRIx64 ", pc 0x%" PRIx64 ")", e,
			    cpu->x.exc.vector, cpu->x.exc.addr, cpu->rip);
	if (cpu->rip != s.rip)
		return fail("pc 0x%" PRIx64 ", oracle 0x%" PRIx64, cpu->rip, s.rip);
	for (int r = 0; r < 16; r++)
		if (cpu->regs[r] != s.r[r])
			return fail("%s = 0x%" PRIx64 ", oracle 0x%" PRIx64, rnames[r], cpu->regs[r],
				    s.r[r]);
	for (uint32_t i = 0; i < CODE_SIZE; i++)
		if (((uint8_t *)CODE_BASE)[i] != ocode[i])
			return fail("code byte at 0x%" PRIx64 " is 0x%02x, oracle 0x%02x", CODE_BASE + i,
				    ((uint8_t *)CODE_BASE)[i], ocode[i]);
	if (memcmp((void *)STACK_BASE, ostack, STACK_SIZE))
		return fail("the stack differs from the oracle's");
	return true;
}

/* What exec reports through exec_tb_hook and exec_chain_hook (as an AFL++
 * fork server's child does), replayed by OP_WARM after a flush (as the
 * server does): exec_pretranslate and exec_prechain must rebuild the same
 * translations and chains. */
#define MAX_REC 4096
static struct rec_tb { uint64_t pc; uint32_t flags; } rec_tbs[MAX_REC];
static struct rec_chain { uint64_t from; uint32_t flags; int n; uint64_t to; } rec_chains[MAX_REC];
static int nrec_tbs, nrec_chains;

static void on_tb(uint64_t pc, uint32_t flags)
{
	if (nrec_tbs < MAX_REC)
		rec_tbs[nrec_tbs++] = (struct rec_tb){ pc, flags };
}

static void on_chain(uint64_t from_pc, uint32_t flags, int n, uint64_t to_pc)
{
	if (nrec_chains < MAX_REC)
		rec_chains[nrec_chains++] = (struct rec_chain){ from_pc, flags, n, to_pc };
}

static void warm(void)
{
	exec_flush_all();
	for (int i = 0; i < nrec_tbs; i++)
		exec_pretranslate(rec_tbs[i].pc, rec_tbs[i].flags);
	for (int i = 0; i < nrec_chains; i++)
		exec_prechain(rec_chains[i].from, rec_chains[i].flags, rec_chains[i].n, rec_chains[i].to);
	nrec_tbs = nrec_chains = 0;
}

static int list_insn(uint32_t off, char *out, size_t n, bool *end);

static bool do_op(const struct tcase *c, const struct op *o)
{
	uint64_t save = rs;
	rs = o->seed | 1;
	uint32_t site = P.nsites ? P.sites[rn(P.nsites)] : 0;
	uint32_t val = rnd();
	uint64_t blk = CODE_BASE + P.blk[rn(P.nblk)];
	rs = save;
	uint64_t page = (CODE_BASE + site) & ~(uint64_t)(PAGE - 1);

	switch (o->kind) {
	case OP_RUN:
		return do_run(o);
	case OP_PATCH_MPROTECT:
		/* as linux/ does for mprotect(RW) + write + mprotect(RWX) */
		if (!P.nsites)
			return true;
		exec_mem_lock();
		exec_invalidate_range(page, page + PAGE);
		mprotect((void *)page, PAGE, PROT_READ | PROT_WRITE);
		exec_mem_set(page, page + PAGE, PROT_READ | PROT_WRITE);
		exec_mem_unlock();
		memcpy((void *)(CODE_BASE + site), &val, 4);
		memcpy(ocode + site, &val, 4);
		exec_mem_lock();
		mprotect((void *)page, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC);
		exec_mem_set(page, page + PAGE, PROT_READ | PROT_WRITE | PROT_EXEC);
		exec_mem_unlock();
		return true;
	case OP_PATCH_KERNEL:
		/* as the kernel writes guest memory (read(2) into it) */
		if (!P.nsites)
			return true;
		exec_unprotect_range(CODE_BASE + site, CODE_BASE + site + 4);
		memcpy((void *)(CODE_BASE + site), &val, 4);
		memcpy(ocode + site, &val, 4);
		return true;
	case OP_FLUSH:
		exec_flush_all();
		return true;
	case OP_PRETRANSLATE: {
		uint32_t flags = o->mode == 1 ? CF_SINGLE_INSN : o->mode == 2 ? CF_NOCHAIN : 0;
		if (!exec_pretranslate(blk, flags))
			return fail("exec_pretranslate(0x%" PRIx64 ") failed", blk);
		return true;
	}
	case OP_WARM:
		warm();
		return true;
	case OP_BADCHAIN: {
		/* A chain request for an exit the TB does not have (a report
		 * from another process whose TB there had another shape): the
		 * one-instruction TB of a block's first instruction, which
		 * is no branch in a plain block, has no exit 1.  Nothing may
		 * change. */
		bool end;
		char text[64];
		uint32_t off = blk - CODE_BASE;
		list_insn(off, text, sizeof(text), &end);
		if (end || P.img[off] == 0x0f || P.img[off] == 0xe8)
			return true;
		if (!exec_pretranslate(CODE_BASE + off, CF_SINGLE_INSN))
			return fail("exec_pretranslate(0x%" PRIx64 ") failed", CODE_BASE + off);
		exec_prechain(CODE_BASE + off, CF_SINGLE_INSN, 1, CODE_BASE + P.entry);
		return true;
	}
	case OP_REMAP:
		exec_mem_lock();
		exec_invalidate_range(CODE_BASE, CODE_BASE + CODE_SIZE);
		if (exec_smc_protecting())
			return fail("a page is still write-protected after invalidating every code page");
		munmap((void *)CODE_BASE, CODE_SIZE);
		exec_mem_set(CODE_BASE, CODE_BASE + CODE_SIZE, -1);
		map_code();
		exec_mem_unlock();
		return true;
	}
	return fail("bad op");
}

/* One generated instruction at code image offset off as text; returns its
 * length and whether it ends a block (0 if it is not one of ours). */
static int list_insn(uint32_t off, char *out, size_t n, bool *end)
{
	const uint8_t *m = P.img + off;
	uint64_t pc = CODE_BASE + off;
	*end = false;
	if (m[0] == 0x0f && m[1] == 0x05)
		return *end = true, snprintf(out, n, "syscall"), 2;
	if (m[0] == 0x0f && (m[1] & 0xfe) == 0x84)
		return snprintf(out, n, "%s 0x%" PRIx64, m[1] == 0x85 ? "jnz" : "jz", pc + 6 + sx32(m + 2)), 6;
	if (m[0] == 0xe9)
		return *end = true, snprintf(out, n, "jmp 0x%" PRIx64, pc + 5 + sx32(m + 1)), 5;
	if (m[0] == 0xe8)
		return snprintf(out, n, "call 0x%" PRIx64, pc + 5 + sx32(m + 1)), 5;
	if (m[0] == 0xc3)
		return *end = true, snprintf(out, n, "ret"), 1;
	if (m[0] == 0xff && m[1] == 0xe0)
		return *end = true, snprintf(out, n, "jmp rax"), 2;
	if (m[0] == 0x45 && m[1] == 0x89 && m[2] == 0xae)
		return snprintf(out, n, "mov [r14+0x%x], r13d", rd32(m + 3)), 7;
	if ((m[0] & 0xf0) != 0x40)
		return 0;
	int R = (m[0] >> 2 & 1) << 3, B = (m[0] & 1) << 3;
	int reg = R | (m[2] >> 3 & 7), rm = B | (m[2] & 7);
	switch (m[1]) {
	case 0x01: return snprintf(out, n, "add %s, %s", rnames[rm], rnames[reg]), 3;
	case 0x31: return snprintf(out, n, "xor %s, %s", rnames[rm], rnames[reg]), 3;
	case 0x0f:
		return snprintf(out, n, "imul %s, %s", rnames[R | (m[3] >> 3 & 7)], rnames[B | (m[3] & 7)]), 4;
	case 0x81: return snprintf(out, n, "add %s, 0x%x", rnames[rm], rd32(m + 3)), 7;
	case 0xc7: return snprintf(out, n, "mov %s, 0x%x", rnames[rm], rd32(m + 3)), 7;
	case 0xf7: return snprintf(out, n, "test %s, 0x%x", rnames[rm], rd32(m + 3)), 7;
	case 0xc1: return snprintf(out, n, "rol %s, %d", rnames[rm], m[3]), 4;
	case 0xff: return snprintf(out, n, "dec %s", rnames[rm]), 3;
	}
	if ((m[1] & 0xf8) == 0xb8) {
		uint64_t v;
		memcpy(&v, m + 2, 8);
		return snprintf(out, n, "mov %s, 0x%" PRIx64, rnames[B | (m[1] & 7)], v), 10;
	}
	return 0;
}

static void list_code(uint32_t off, FILE *f)
{
	for (bool end = false; !end && off < CODE_SIZE;) {
		char text[64];
		int len = list_insn(off, text, sizeof(text), &end);
		if (!len) {
			fprintf(f, "    %" PRIx64 ": (not generated code)\n", CODE_BASE + off);
			return;
		}
		fprintf(f, "    %" PRIx64 ": %s\n", CODE_BASE + off, text);
		off += len;
	}
}

static void print_case(const struct tcase *c, FILE *f)
{
	if (c->threads)
		fprintf(f, "  %d threads in mode %d, disturbed\n", c->threads, c->mode);
	fprintf(f, "  operations%s:", c->timer ? " (with timer exit requests)" : "");
	for (int k = 0; k < c->nops; k++)
		fprintf(f, " %s%s", op_names[c->ops[k].kind],
			c->ops[k].kind == OP_RUN ? (const char *[]){ "", "/1insn", "/nochain" }[c->ops[k].mode]
						 : "");
	fprintf(f, "\n  program: %d blocks at", P.nblk);
	for (int i = 0; i < P.nblk; i++)
		fprintf(f, " %" PRIx64, CODE_BASE + P.blk[i]);
	fprintf(f, "; %d functions, %d patch sites\n", P.nfn, P.nsites);
}

/* The program as generated (before any patch), block by block. */
static void list_program(FILE *f)
{
	for (int i = 0; i < P.nblk; i++) {
		fprintf(f, "  block %d:\n", i);
		list_code(P.blk[i], f);
	}
	for (int i = 0; i < P.nfn; i++) {
		fprintf(f, "  function %d:\n", i);
		list_code(P.fn[i], f);
	}
}

/* ---- threads ----
 * Worker threads run the program (which does not change itself) from many
 * register sets, each on its own cpu and stack, while this thread flushes,
 * invalidates pages, pretranslates and asks for exits: what exec promises
 * to be safe while other threads run translated code.  Every run's result
 * must still be the oracle's. */

#define THREAD_RUNS 150
#define MAX_THREADS 3
struct worker {
	pthread_t th;
	int index;
	uint64_t init[THREAD_RUNS][16], want[THREAD_RUNS][16];
	struct cpu *cpu;
	volatile bool done;
};
static struct worker workers[MAX_THREADS];
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int worker_failed;

static uint64_t thread_stack(int t) { return STACK_BASE + (uint64_t)(t + 1) * 2 * STACK_SIZE; }

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int k = 0; k < THREAD_RUNS && !worker_failed; k++) {
		x86_cpu_reset(w->cpu);
		memcpy(w->cpu->regs, w->init[k], sizeof(w->init[k]));
		w->cpu->rip = CODE_BASE + P.entry;
		enum exec_exit e;
		while ((e = exec_run(w->cpu)) == EXEC_REQUEST)
			__atomic_add_fetch(&sh->requests, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&sh->runs, 1, __ATOMIC_RELAXED);
		int bad = -1;
		for (int r = 0; r < 16 && bad < 0; r++)
			if (w->cpu->regs[r] != w->want[k][r])
				bad = r;
		if (e != EXEC_SYSCALL || bad >= 0) {
			pthread_mutex_lock(&fail_lock);
			if (!worker_failed) {
				worker_failed = 1;
				if (e != EXEC_SYSCALL)
					fail("thread %d, run %d: exec_run returned %d (vector %d error %#x at 0x%" PRIx64 ", pc 0x%" PRIx64 ")",
					     w->index, k, e, w->cpu->x.exc.vector, w->cpu->x.exc.error_code, w->cpu->x.exc.addr, w->cpu->rip);
				else
					fail("thread %d, run %d: %s = 0x%" PRIx64 ", oracle 0x%" PRIx64, w->index,
					     k, rnames[bad], w->cpu->regs[bad], w->want[k][bad]);
			}
			pthread_mutex_unlock(&fail_lock);
		}
	}
	exec_exit_cpu(w->cpu);
	w->done = true;
	return NULL;
}

static bool run_threads(const struct tcase *c)
{
	exec_opts.single_insn = c->mode == 1;
	exec_opts.nochain = c->mode == 2;
	for (int t = 0; t < c->threads; t++) {
		struct worker *w = &workers[t];
		w->index = t;
		w->done = false;
		void *stk = mmap((void *)thread_stack(t), STACK_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (stk == MAP_FAILED)
			return fail("cannot map a thread's stack");
		exec_mem_set(thread_stack(t), thread_stack(t) + STACK_SIZE, PROT_READ | PROT_WRITE);
		for (int k = 0; k < THREAD_RUNS; k++) {
			struct ostate s = { 0 };
			for (int r = 0; r < 16; r++)
				s.r[r] = rn(4) ? rnd() : rn(3);
			s.r[R_RSP] = STACK_BASE + STACK_SIZE - 64;
			s.r[R_R14] = CODE_BASE;
			s.r[R_R15] = 0;
			s.rip = CODE_BASE + P.entry;
			memcpy(w->init[k], s.r, sizeof(s.r));
			w->init[k][R_RSP] = thread_stack(t) + STACK_SIZE - 64;
			const char *bad = oracle_run(&s);
			if (bad)
				return fail("the oracle stopped: %s at 0x%" PRIx64, bad, s.rip);
			memcpy(w->want[k], s.r, sizeof(s.r));
			w->want[k][R_RSP] = w->init[k][R_RSP];	/* calls and returns balance */
		}
		w->cpu = exec_cpu_new();
	}
	/* This thread, which has no cpu, translates first: the code must not
	 * depend on which thread translated it or whether a cpu ran yet. */
	uint32_t flags = c->mode == 1 ? CF_SINGLE_INSN : c->mode == 2 ? CF_NOCHAIN : 0;
	for (int i = 0; i < P.nblk; i++)
		exec_pretranslate(CODE_BASE + P.blk[i], flags);
	for (int t = 0; t < c->threads; t++)
		if (pthread_create(&workers[t].th, NULL, worker_main, &workers[t]))
			return fail("cannot create a thread");
	/* Disturb until every worker is done. */
	for (;;) {
		bool all = true;
		for (int t = 0; t < c->threads; t++)
			all &= workers[t].done;
		if (all)
			break;
		uint64_t page = CODE_BASE + (uint64_t)rn(CODE_PAGES) * PAGE;
		switch (rn(4)) {
		case 0:
			exec_flush_all();
			break;
		case 1:	/* as linux/ does for an mprotect that keeps the protection */
			exec_mem_lock();
			exec_invalidate_range(page, page + PAGE);
			exec_mem_set(page, page + PAGE, PROT_READ | PROT_WRITE | PROT_EXEC);
			exec_mem_unlock();
			break;
		case 2:
			exec_pretranslate(CODE_BASE + P.blk[rn(P.nblk)], flags);
			break;
		case 3:
			workers[rn(c->threads)].cpu->x.exit_request = 1;
			break;
		}
		usleep(rn(200));
	}
	for (int t = 0; t < c->threads; t++) {
		pthread_join(workers[t].th, NULL);
		exec_cpu_free(workers[t].cpu);
	}
	return !worker_failed;
}

/* In a child: set up, run c's operations, report.  Returns pass/fail. */
static bool run_case_ops(const struct tcase *c)
{
	struct exec_stats st0 = exec_stats;
	memcpy(ocode, P.img, CODE_SIZE);
	memset(ostack, 0, STACK_SIZE);
	void *stk = mmap((void *)STACK_BASE, STACK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (stk == MAP_FAILED)
		return fail("cannot map the stack");
	exec_mem_set(STACK_BASE, STACK_BASE + STACK_SIZE, PROT_READ | PROT_WRITE);
	map_code();
	nrec_tbs = nrec_chains = 0;
	exec_tb_hook = on_tb;
	exec_chain_hook = on_chain;
	want_requests = c->timer;
	bool ok = true;
	if (c->threads)
		ok = run_threads(c);
	for (int k = 0; ok && k < c->nops; k++)
		if (!(ok = do_op(c, &c->ops[k]))) {
			size_t l = strlen(sh->why);
			snprintf(sh->why + l, sizeof(sh->why) - l, " (operation %d, %s)", k,
				 op_names[c->ops[k].kind]);
		}
	want_requests = 0;
	if (ok && c->hot) {
		/* the page went through the cold and hot states */
		if (exec_stats.smc_restarts == st0.smc_restarts)
			ok = fail("no store was restarted after an SMC write fault");
		else if (exec_stats.smc_hot_pages == st0.smc_hot_pages)
			ok = fail("the page written on every round never turned hot");
		else if (exec_stats.smc_stale == st0.smc_stale)
			ok = fail("no self-checking TB found itself stale");
	}
	sh->tbs += exec_stats.tbs_translated - st0.tbs_translated;
	sh->invalidated += exec_stats.tbs_invalidated - st0.tbs_invalidated;
	sh->flushes += exec_stats.flushes - st0.flushes;
	sh->restarts += exec_stats.smc_restarts - st0.smc_restarts;
	sh->hot += exec_stats.smc_hot_pages - st0.smc_hot_pages;
	sh->stale += exec_stats.smc_stale - st0.smc_stale;
	return ok;
}

/* Fork, run, wait: true if the case passed. */
static bool case_in_child(const struct tcase *c)
{
	fflush(stdout);
	fflush(stderr);
	sh->why[0] = 0;
	exec_fork_prepare();
	pid_t pid = fork();
	if (pid == 0) {
		exec_fork_child();
		struct itimerval it = { { 0, 500 }, { 0, 500 } };
		setitimer(ITIMER_REAL, &it, NULL);
		bool ok = run_case_ops(c);
		_exit(ok ? 0 : 1);
	}
	exec_fork_parent();
	int status;
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (!sh->why[0])
		snprintf(sh->why, sizeof(sh->why), "the child died (%s %d)",
			 WIFSIGNALED(status) ? "signal" : "exit status",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	return false;
}

static void reduce(int i)
{
	struct tcase c;
	gen_case(i, &c);
	if (case_in_child(&c)) {
		fprintf(stderr, "test_exec: case %d passes\n", i);
		return;
	}
	/* drop operations one at a time while it still fails */
	for (int k = c.nops - 1; k >= 0; k--) {
		struct tcase t = c;
		memmove(&t.ops[k], &t.ops[k + 1], (t.nops - k - 1) * sizeof(t.ops[0]));
		t.nops--;
		if (t.nops && !case_in_child(&t))
			c = t;
	}
	if (c.timer) {
		struct tcase t = c;
		t.timer = false;
		if (!case_in_child(&t))
			c = t;
	}
	case_in_child(&c);
	fprintf(stderr, "test_exec: case %d reduced: %s\n", i, sh->why);
	print_case(&c, stderr);
	list_program(stderr);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void unit_main(void)
{
	int first = 0, last = NRANDOM;	/* case 0: the hot page */
	double t0 = now();

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	if (x86_select_level(NULL) < 0)
		exit(2);
	exec_guest = guest_exec_ops;	/* as main.c wires it */
	cpu = exec_cpu_new();
	x86_cpu_reset(cpu);
	guest_mem = linux_guest_mem;	/* as main.c wires it */
	exec_init();
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	struct sigaction ta = { .sa_handler = on_timer };
	sigaction(SIGALRM, &ta, NULL);

	if (getenv("LOOM_TEST_REDUCE")) {
		reduce(atoi(getenv("LOOM_TEST_REDUCE")));
		return;
	}
	const char *only = getenv("LOOM_TEST_ONLY");
	if (only) {
		char *end;
		first = strtol(only, &end, 0);
		last = *end == '-' ? strtol(end + 1, NULL, 0) : first;
	}
	for (int i = first; i <= last; i++) {
		struct tcase c;
		gen_case(i, &c);
		if (case_in_child(&c)) {
			unit_passed++;
			continue;
		}
		unit_failed++;
		printf("FAIL exec case %d: %s (LOOM_TEST_REDUCE=%d reduces it)\n", i, sh->why, i);
		print_case(&c, stdout);
	}
	printf("test_exec: %d cases: %ld runs, %ld exit requests, %ld TBs translated, %ld invalidated, "
	       "%ld flushes, %ld SMC restarts, %ld hot pages, %ld stale self-checks; %.1f s\n",
	       last - first + 1, sh->runs, sh->requests, sh->tbs, sh->invalidated, sh->flushes,
	       sh->restarts, sh->hot, sh->stale, now() - t0);
	/* The generator reaches every path it is meant to, or this test proves
	 * less than it says. */
	if (first == 0 && last == NRANDOM) {
		CHECK(sh->requests > 0);
		CHECK(sh->invalidated > 0);
		CHECK(sh->restarts > 0);
		CHECK(sh->hot > 0);
		CHECK(sh->stale > 0);
	}
}
