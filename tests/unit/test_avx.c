/*
 * The x86-64-v3 pieces that are not single instructions, against the host
 * CPU: the XSAVE image loom writes (x86_xsave, helper_xsave) is compared
 * byte for byte with the one the host's xsave writes for the same YMM and
 * MXCSR state, and loom restores the host's image (x86_xrstor,
 * helper_xrstor) to the same state; helper_xrstor's #GP checks (alignment,
 * header bits outside XCR0, reserved header bytes, reserved MXCSR bits)
 * raise SIGSEGV through exec_raise with the state untouched.  And the
 * CPUID model: the AVX/XSAVE bits, leaf 7 and leaf 0xd exist exactly at
 * v3.  helper_avx_fp: unmasked exceptions become SIGFPE with the
 * destination untouched, a guest rounding mode applies and loom's own
 * MXCSR control comes back.  Skipped (one passing check) on a host without AVX2/FMA/F16C.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>
#include "guest/guest.h"
#include "guest/x86/avx-ops.h"
#include "guest/x86/cpu.h"
#include "guest/x86/cpuid.h"
#include "guest/x86/helpers.h"
#include "linux/trap.h"
#include "unit.h"

static struct cpu env;

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) { return unit_xorshift(&rng); }

static void random_state(struct cpu *c)
{
	for (int i = 0; i < 16; i++) {
		c->xmm[i].q[0] = rnd();
		c->xmm[i].q[1] = rnd();
		c->xmm_hi[i].q[0] = rnd();
		c->xmm_hi[i].q[1] = rnd();
	}
	c->mxcsr = 0x1f80 | (rnd() & 0x6000);
}

/* The host's xsave of the state in c (ymm0-15, MXCSR), rfbm = 6. */
__attribute__((target("avx")))
static void host_xsave(const struct cpu *c, uint8_t *area)
{
	uint8_t y[16][32];
	for (int i = 0; i < 16; i++) {
		memcpy(y[i], &c->xmm[i], 16);
		memcpy(y[i] + 16, &c->xmm_hi[i], 16);
	}
	uint32_t csr = c->mxcsr, saved;
	asm volatile("stmxcsr %0" : "=m"(saved));
	asm volatile(
		".irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
		"vmovdqu 32*\\i(%1), %%ymm\\i\n\t"
		".endr\n\t"
		"ldmxcsr %2\n\t"
		"xsave (%0)\n\t"
		"vzeroall"
		: : "r"(area), "r"(y), "m"(csr), "a"(6), "d"(0)
		: "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
		  "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	asm volatile("ldmxcsr %0" : : "m"(saved));
}

static void test_image(void)
{
	static uint8_t host[16384] __attribute__((aligned(64)));
	static uint8_t mine[16384] __attribute__((aligned(64)));
	for (volatile int round = 0; round < 50; round++) {
		memset(&env, 0, sizeof(env));
		x86_cpu_reset(&env);
		random_state(&env);
		memset(host, 0, sizeof(host));
		memset(mine, 0, sizeof(mine));
		host_xsave(&env, host);
		x86_xsave(&env, mine, 6);
		CHECK(!memcmp(host + 24, mine + 24, 4));		/* MXCSR */
		CHECK(!memcmp(host + 160, mine + 160, 256));		/* XMM */
		CHECK(!memcmp(host + XSAVE_YMM_OFF, mine + XSAVE_YMM_OFF, 256));
		CHECK_EQ(mine[XSAVE_HDR_OFF] & 6, host[XSAVE_HDR_OFF] & 6);

		/* loom restores the host's image */
		struct cpu back;
		memset(&back, 0, sizeof(back));
		x86_cpu_reset(&back);
		env.rip = 0x401000;
		back.rip = 0x401000;
		uint64_t bv;
		memcpy(&bv, host + XSAVE_HDR_OFF, 8);
		bv &= X86_XCR0;
		memcpy(host + XSAVE_HDR_OFF, &bv, 8);
		if (sigsetjmp(back.x.jmp_env, 0) == 0)
			helper_xrstor((uintptr_t)&back, (uintptr_t)host, 7, 0);
		else
			CHECK(!"xrstor of the host's image faulted");
		CHECK(!memcmp(back.xmm, env.xmm, sizeof(env.xmm)));
		CHECK(!memcmp(back.xmm_hi, env.xmm_hi, sizeof(env.xmm_hi)));
		CHECK_EQ(back.mxcsr, env.mxcsr);
	}

	/* the compacted form: XCOMP_BV = bit 63 | RFBM, AVX still at 576 */
	memset(mine, 0, sizeof(mine));
	random_state(&env);
	if (sigsetjmp(env.x.jmp_env, 0) == 0)
		helper_xsave((uintptr_t)&env, (uintptr_t)mine, 7, 1);
	uint64_t hdr[2];
	memcpy(hdr, mine + XSAVE_HDR_OFF, 16);
	CHECK_EQ(hdr[1], (1ull << 63) | 7);
	CHECK_EQ(hdr[0] & 6, 6);
	CHECK(!memcmp(mine + XSAVE_YMM_OFF, env.xmm_hi, 256));
	struct cpu back = env;
	memset(back.xmm_hi, 0, sizeof(back.xmm_hi));
	if (sigsetjmp(back.x.jmp_env, 0) == 0)
		helper_xrstor((uintptr_t)&back, (uintptr_t)mine, 4, 0);
	CHECK(!memcmp(back.xmm_hi, env.xmm_hi, sizeof(env.xmm_hi)));

	/* XSTATE_BV clear: the component is initialised */
	hdr[0] &= ~4ull;
	memcpy(mine + XSAVE_HDR_OFF, hdr, 8);
	if (sigsetjmp(back.x.jmp_env, 0) == 0)
		helper_xrstor((uintptr_t)&back, (uintptr_t)mine, 4, 0);
	static const x86_xmm zero[16];
	CHECK(!memcmp(back.xmm_hi, zero, sizeof(zero)));
}

/* helper_xrstor raises #GP (SIGSEGV, SI_KERNEL) and changes nothing. */
static void expect_gp(uint8_t *area, uint64_t addr)
{
	struct cpu c;
	memset(&c, 0, sizeof(c));
	x86_cpu_reset(&c);
	random_state(&c);
	struct cpu before = c;
	if (sigsetjmp(c.x.jmp_env, 0) == 0) {
		helper_xrstor((uintptr_t)&c, addr, 7, 0);
		CHECK(!"no #GP");
		return;
	}
	CHECK_EQ(c.x.exc.vector, X86_EXC_GP);
	CHECK_EQ(c.x.exc.error_code, 0);
	CHECK(!memcmp(c.xmm, before.xmm, sizeof(c.xmm)));
	CHECK(!memcmp(c.xmm_hi, before.xmm_hi, sizeof(c.xmm_hi)));
	CHECK_EQ(c.mxcsr, before.mxcsr);
}

static void test_gp(void)
{
	static uint8_t a[XSAVE_SIZE + 64] __attribute__((aligned(64)));
	struct cpu c;
	memset(&c, 0, sizeof(c));
	x86_cpu_reset(&c);
	random_state(&c);
	x86_xsave(&c, a, 7);
	expect_gp(a, (uintptr_t)a + 16);			/* misaligned */
	uint64_t v = 8;
	memcpy(a + XSAVE_HDR_OFF, &v, 8);			/* XSTATE_BV bit outside XCR0 */
	expect_gp(a, (uintptr_t)a);
	v = 7;
	memcpy(a + XSAVE_HDR_OFF, &v, 8);
	memcpy(a + XSAVE_HDR_OFF + 16, &v, 8);			/* reserved header bytes */
	expect_gp(a, (uintptr_t)a);
	v = 0;
	memcpy(a + XSAVE_HDR_OFF + 16, &v, 8);
	uint32_t bad = 0x1f80 | 0x10000;			/* reserved MXCSR bit */
	memcpy(a + 24, &bad, 4);
	expect_gp(a, (uintptr_t)a);
}

static void test_cpuid(void)
{
	uint32_t r[4];
	CHECK_EQ(x86_select_level("x86-64-v2"), 0);
	x86_cpuid(1, 0, r);
	CHECK_EQ(r[2] & (0xfu << 26 | 1u << 12), 0);		/* no XSAVE OSXSAVE AVX F16C FMA */
	x86_cpuid(7, 0, r);
	CHECK_EQ(r[1] & (1u << 5), 0);				/* no AVX2 */
	x86_cpuid(0xd, 0, r);
	CHECK_EQ(r[0], 0);

	CHECK_EQ(x86_select_level("x86-64-v3"), 0);
	x86_cpuid(1, 0, r);
	CHECK_EQ((r[2] >> 26) & 0xf, 0xf);			/* XSAVE OSXSAVE AVX F16C */
	CHECK(r[2] >> 12 & 1);					/* FMA */
	x86_cpuid(7, 0, r);
	CHECK(r[1] >> 5 & 1);					/* AVX2 */
	x86_cpuid(0xd, 0, r);
	CHECK_EQ(r[0], 7);
	CHECK_EQ(r[1], XSAVE_SIZE);
	x86_cpuid(0xd, 1, r);
	CHECK_EQ(r[0] & 3, 3);					/* XSAVEOPT, XSAVEC */
	x86_cpuid(0xd, 2, r);
	CHECK_EQ(r[0], 256);
	CHECK_EQ(r[1], XSAVE_YMM_OFF);
	/* the host agrees on the AVX component's place */
	uint32_t a, b, cc, d;
	asm("cpuid" : "=a"(a), "=b"(b), "=c"(cc), "=d"(d) : "a"(0xd), "c"(2));
	CHECK_EQ(b, XSAVE_YMM_OFF);
	CHECK_EQ(a, 256);
	CHECK_EQ(x86_select_level("x86-64-v2"), 0);
}

static uint32_t host_csr(void)
{
	uint32_t v;
	asm volatile("stmxcsr %0" : "=m"(v));
	return v;
}

/* An exception the guest unmasked: SIGFPE through exec_raise at env->rip,
 * the destination (all 256 bits) untouched, the flag recorded, loom's own
 * MXCSR control bits back. */
static void expect_fpe(enum avx_op op, uint32_t mxcsr, uint64_t a0, uint64_t b0, int code)
{
	memset(&env, 0, sizeof(env));
	for (int q = 0; q < 2; q++) {
		env.xmm[1].q[q] = a0;
		env.xmm_hi[1].q[q] = a0;
		env.xmm[2].q[q] = b0;
		env.xmm_hi[2].q[q] = b0;
		env.xmm[0].q[q] = 0x1111;
		env.xmm_hi[0].q[q] = 0x2222;
	}
	env.mxcsr = mxcsr;
	env.rip = 0x401000;
	exec_current_cpu = &env;
	guest_enter(&env);
	if (sigsetjmp(env.x.jmp_env, 0) == 0) {
		helper_avx_fp((uintptr_t)&env, op, AVX_REGS(0, 1, 2, 0, 1, 1), 0);
		guest_leave(&env);
		CHECK(!"no #XM");
		return;
	}
	guest_leave(&env);
	CHECK_EQ(env.x.exc.vector, X86_EXC_XM);
	struct linux_trap t;
	CHECK(linux_trap_of(&env.x.exc, env.rip, &(struct linux_trap_fp){ .mxcsr = env.mxcsr }, &t));
	CHECK_EQ(t.signo, SIGFPE);
	CHECK_EQ(t.code, code);
	CHECK_EQ(t.addr, 0x401000);
	CHECK_EQ(env.xmm[0].q[0], 0x1111);
	CHECK_EQ(env.xmm_hi[0].q[1], 0x2222);
	CHECK(env.mxcsr & 0x3f);
	CHECK_EQ(host_csr() & ~0x3fu, 0x1f80);
}

static void test_fp(void)
{
	const uint64_t one = 0x3ff0000000000000ull, snan = 0x7ff0000000000001ull;
	expect_fpe(AVX_VDIVPD, 0x1f80 & ~0x0200, one, 0, FPE_FLTDIV);
	expect_fpe(AVX_VADDPD, 0x1f80 & ~0x0080, one, snan, FPE_FLTINV);
	expect_fpe(AVX_VMULPD, 0x1f80 & ~0x0400, 0x7fe0000000000000ull, 0x7fe0000000000000ull,
		   FPE_FLTOVF);
	/* a guest rounding mode applies, and loom's comes back */
	memset(&env, 0, sizeof(env));
	env.xmm[1].q[0] = one;
	env.xmm[2].q[0] = 0x4008000000000000ull;	/* 3.0 */
	env.mxcsr = 0x1f80 | 0x2000;			/* round down */
	guest_enter(&env);
	helper_avx_fp((uintptr_t)&env, AVX_VDIVSD, AVX_REGS(0, 1, 2, 0, 0, 0), 0);
	guest_leave(&env);
	CHECK_EQ(env.xmm[0].q[0], 0x3fd5555555555555ull);	/* 1/3 rounded down */
	CHECK_EQ(env.mxcsr, 0x1f80 | 0x2000 | 0x20);		/* PE */
	CHECK_EQ(host_csr() & ~0x3fu, 0x1f80);
	env.mxcsr = 0x1f80 | 0x4000;			/* round up */
	guest_enter(&env);
	helper_avx_fp((uintptr_t)&env, AVX_VDIVSD, AVX_REGS(0, 1, 2, 0, 0, 0), 0);
	guest_leave(&env);
	CHECK_EQ(env.xmm[0].q[0], 0x3fd5555555555556ull);
	CHECK_EQ(host_csr() & ~0x3fu, 0x1f80);
}

/* The VEX AES/PCLMULQDQ rows against the host's intrinsics (the lifter
 * lets them through only where CPUID reports the feature). */
__attribute__((target("aes,pclmul,avx")))
static void test_aes(void)
{
	if (!__builtin_cpu_supports("aes") || !__builtin_cpu_supports("pclmul"))
		return;
	for (int i = 0; i < 200; i++) {
		memset(&env, 0, sizeof(env));
		random_state(&env);
		__m128i a, b, r;
		memcpy(&a, &env.xmm[1], 16);
		memcpy(&b, &env.xmm[2], 16);
		unsigned imm = rnd() & 0xff;
		static const struct { enum avx_op op; int kind; } rows[] = {
			{ AVX_VAESENC, 0 }, { AVX_VAESENCLAST, 1 }, { AVX_VAESDEC, 2 },
			{ AVX_VAESDECLAST, 3 }, { AVX_VAESIMC, 4 }, { AVX_VAESKEYGENASSIST, 5 },
			{ AVX_VPCLMULQDQ, 6 },
		};
		for (unsigned k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
			struct cpu c = env;
			switch (rows[k].kind) {
			case 0: r = _mm_aesenc_si128(a, b); break;
			case 1: r = _mm_aesenclast_si128(a, b); break;
			case 2: r = _mm_aesdec_si128(a, b); break;
			case 3: r = _mm_aesdeclast_si128(a, b); break;
			case 4: r = _mm_aesimc_si128(a); break;
			case 5: asm("vaeskeygenassist %2, %1, %0" : "=x"(r) : "x"(a), "i"(0x1b)); imm = 0x1b; break;
			default: asm("vpclmulqdq %3, %2, %1, %0" : "=x"(r) : "x"(a), "x"(b), "i"(0x11)); imm = 0x11; break;
			}
			helper_avx_op((uintptr_t)&c, rows[k].op, AVX_REGS(0, 1, 2, 0, 0, 0), imm);
			CHECK(!memcmp(&c.xmm[0], &r, 16));
			CHECK_EQ(c.xmm_hi[0].q[0] | c.xmm_hi[0].q[1], 0);
		}
	}
}

void unit_main(void)
{
	exec_guest = guest_exec_ops;	/* helpers raise through exec, as main.c wires it */
	if (!avx_host_ok()) {
		SKIP("test_avx: the host lacks AVX2/FMA/F16C");
		return;
	}
	test_cpuid();
	test_fp();
	test_aes();
	test_image();
	test_gp();
}
