/* VEX floating point that loom runs inline (vaddsd, vdivsd, vsqrtsd,
 * vcvt*, vucomisd, FMA3 scalar and 128-bit) under each MXCSR rounding mode
 * and FTZ/DAZ, with bits 255:128 of the destination zeroed as VEX.128 does
 * and the 256-bit forms (helpers) in between; then SIGFPE from an inline
 * vdivsd and vfmadd231sd with si_code, si_addr, pc and the frame's MXCSR.
 * Compared with the native run. */
#define _GNU_SOURCE
#include <immintrin.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static unsigned get_csr(void)
{
	unsigned v;
	__asm__ volatile("vstmxcsr %0" : "=m"(v));
	return v;
}

static void set_csr(unsigned v)
{
	__asm__ volatile("vldmxcsr %0" : : "m"(v));
}

static void show(const char *what, __m256d v)
{
	uint64_t q[4];
	memcpy(q, &v, 32);
	printf("%-8s %016llx %016llx %016llx %016llx\n", what, (unsigned long long)q[0],
	       (unsigned long long)q[1], (unsigned long long)q[2], (unsigned long long)q[3]);
}

static void modes(void)
{
	static const unsigned csr[] = { 0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9fc0 };
	for (unsigned i = 0; i < 5; i++) {
		__m256d a = _mm256_set_pd(9.0, 8.0, 0.7, 1.0), b = _mm256_set_pd(5.0, 4.0, 0.3, 3.0);
		__m256d c = _mm256_set_pd(-1.0, -2.0, 1e-310, 1e-3), r;
		long n;
		set_csr(csr[i]);
		printf("mxcsr %x\n", csr[i]);
		/* each asm: a VEX.128 op into a register whose upper half was set */
		__asm__ volatile("vmovapd %1, %0\n\tvdivsd %x2, %x1, %x0" : "=&x"(r) : "x"(c), "x"(b), "x"(a));
		show("vdivsd", r);
		__asm__ volatile("vmovapd %1, %0\n\tvsqrtsd %x2, %x1, %x0" : "=&x"(r) : "x"(a), "x"(b));
		show("vsqrtsd", r);
		__asm__ volatile("vmovapd %1, %0\n\tvaddpd %x2, %x3, %x0" : "=&x"(r) : "x"(a), "x"(b), "x"(c));
		show("vaddpd", r);
		__asm__ volatile("vmovapd %1, %0\n\tvfmadd231sd %x2, %x3, %x0" : "=&x"(r) : "x"(c), "x"(a), "x"(b));
		show("fma231sd", r);
		__asm__ volatile("vmovapd %1, %0\n\tvfnmsub132pd %x2, %x3, %x0" : "=&x"(r) : "x"(a), "x"(b), "x"(c));
		show("fnms132pd", r);
		__asm__ volatile("vmovapd %1, %0\n\tvfmadd213ss %x2, %x3, %x0" : "=&x"(r) : "x"(b), "x"(c), "x"(a));
		show("fma213ss", r);
		__asm__ volatile("vmovapd %1, %0\n\tvcvtsi2sdq %2, %x1, %x0" : "=&x"(r) : "x"(c), "r"(0x7ffffffffffffe01L));
		show("vcvtsi2sd", r);
		__asm__ volatile("vmovapd %1, %0\n\tvcvtsd2ss %x2, %x1, %x0" : "=&x"(r) : "x"(a), "x"(b));
		show("vcvtsd2ss", r);
		__asm__ volatile("vmovapd %1, %0\n\tvcvtpd2ps %x2, %x0" : "=&x"(r) : "x"(a), "x"(c));
		show("vcvtpd2ps", r);
		r = _mm256_mul_pd(_mm256_add_pd(a, c), b);	/* 256-bit: the helper */
		show("ymm", r);
		__asm__ volatile("vcvtsd2si %x1, %0" : "=r"(n) : "x"(c));
		printf("vcvtsd2si %ld ucomi %d mxcsr %x\n", n, _mm_ucomilt_sd(_mm256_castpd256_pd128(c),
			_mm256_castpd256_pd128(b)), get_csr());
	}
	set_csr(0x1f80);
}

extern char vfpe_at[], vfpe_after[], vfpe256_at[], vfpe256_after[];
static volatile int seen;
static char *volatile trap_at, *volatile trap_after;

static void fpe(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	printf("SIGFPE code %d at insn %d pc %d flags %x\n", si->si_code,
	       si->si_addr == (void *)trap_at, uc->uc_mcontext.gregs[REG_RIP] == (greg_t)trap_at,
	       uc->uc_mcontext.fpregs->mxcsr & 0x3f);
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)trap_after;
	uc->uc_mcontext.fpregs->mxcsr |= 0x1f80;
	seen++;
}

static __attribute__((noinline)) __m128d trap(int fma, __m128d d, __m128d a, __m128d b)
{
	__asm__ volatile("test %3, %3\n\tjz 1f\n\tvmovapd %2, %0\n"
			 "1: jmp vfpe_at\n"
			 ".globl vfpe_at\nvfpe_at: vdivsd %2, %1, %0\n"
			 ".globl vfpe_after\nvfpe_after:\n"
			 : "+x"(d) : "x"(a), "x"(b), "r"(fma) : "cc");
	return d;
}

/* 256-bit: only the high half traps; the whole destination is kept. */
static __attribute__((noinline)) __m256d trap256(__m256d d, __m256d a, __m256d b)
{
	__asm__ volatile(".globl vfpe256_at\nvfpe256_at: vdivpd %2, %1, %0\n"
			 ".globl vfpe256_after\nvfpe256_after:\n"
			 : "+x"(d) : "x"(a), "x"(b));
	return d;
}

static void sigfpe(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fpe;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGFPE, &sa, 0);
	static const struct { unsigned csr; double a, b; } c[] = {
		{ 0x1f80 & ~0x200, 1.0, 0.0 }, { 0x1f80 & ~0x1000, 1.0, 3.0 },
		{ 0x1f80 & ~0x80, 0.0, 0.0 }, { 0x1f80 & ~0x400, 1e300, 1e-300 },
		{ 0x1f80, 1.0, 0.0 },
	};
	for (unsigned i = 0; i < 5; i++) {
		seen = 0;
		trap_at = vfpe_at;
		trap_after = vfpe_after;
		set_csr(c[i].csr);
		__m128d r = trap(0, _mm_set_pd(5, 6), _mm_set_pd(7, c[i].a), _mm_set_pd(8, c[i].b));
		unsigned after = get_csr();
		set_csr(0x1f80);
		double lo = _mm_cvtsd_f64(r);
		uint64_t q;
		memcpy(&q, &lo, 8);
		printf("case %u: seen %d result %016llx mxcsr after %x\n", i, seen,
		       (unsigned long long)q, after);
	}
	seen = 0;
	trap_at = vfpe256_at;
	trap_after = vfpe256_after;
	set_csr(0x1f80 & ~0x200);
	__m256d r = trap256(_mm256_set_pd(1, 2, 3, 4), _mm256_set_pd(1, 1, 1, 1),
			    _mm256_set_pd(0, 2, 2, 2));
	unsigned after = get_csr();
	set_csr(0x1f80);
	double o[4];
	memcpy(o, &r, 32);
	printf("256: seen %d result %g %g %g %g mxcsr after %x\n", seen, o[0], o[1], o[2], o[3], after);
}

int main(void)
{
	modes();
	sigfpe();
	return 0;
}
