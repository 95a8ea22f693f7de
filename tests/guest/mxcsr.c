/* MXCSR across the ways loom runs SSE floating point: inline in translated
 * code (addsd, divsd, sqrtsd, cvt*, ucomisd...), in helpers (cmpltsd),
 * across syscalls, TB boundaries and signal frames.  Rounding
 * modes, FTZ/DAZ and the sticky flags must be the CPU's; an exception the
 * program unmasked must raise SIGFPE at the faulting instruction with the
 * kernel's si_code and si_addr, the destination untouched and the flag set
 * in the frame's MXCSR. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef __GLIBC__
typedef struct _libc_fpstate fpstate_t;
#else
typedef struct _fpstate fpstate_t;
#endif

static unsigned get_csr(void)
{
	unsigned v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void set_csr(unsigned v)
{
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
}

static uint64_t bits(double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	return v;
}

static double dbl(uint64_t v)
{
	double d;
	memcpy(&d, &v, 8);
	return d;
}

#define OP2(name, insn)								\
static double name(double a, double b)						\
{										\
	__asm__ volatile(insn " %1, %0" : "+x"(a) : "x"(b));			\
	return a;								\
}
OP2(addsd, "addsd")
OP2(mulsd, "mulsd")
OP2(divsd, "divsd")
OP2(sqrtsd, "sqrtsd")
OP2(cmpltsd, "cmpltsd")	/* baseline SSE2 that loom runs in a helper */

static float divss(float a, float b)
{
	__asm__ volatile("divss %1, %0" : "+x"(a) : "x"(b));
	return a;
}

static long cvtsd2si(double a)
{
	long r;
	__asm__ volatile("cvtsd2si %1, %0" : "=r"(r) : "x"(a));
	return r;
}

static double cvtsi2sd(long v)
{
	double r = 0;
	__asm__ volatile("cvtsi2sdq %1, %0" : "+x"(r) : "r"(v));
	return r;
}

static int ucomisd(double a, double b)
{
	unsigned char z, p, c;
	__asm__ volatile("ucomisd %4, %3\n\tsetz %0\n\tsetp %1\n\tsetc %2"
			 : "=r"(z), "=r"(p), "=r"(c) : "x"(a), "x"(b));
	return z << 2 | p << 1 | c;
}

static void rounding(void)
{
	for (unsigned rc = 0; rc < 4; rc++) {
		set_csr(0x1f80 | rc << 13);
		double q = divsd(1.0, 3.0), r = sqrtsd(0, 2.0), m = mulsd(-1.0 / 3, 3.0);
		float f = divss(2.0f, 3.0f);
		uint32_t fb;
		memcpy(&fb, &f, 4);
		printf("rc=%u: div %016llx sqrt %016llx mul %016llx divss %08x cvt %ld %ld "
		       "cvtsi %016llx mxcsr=%x\n", rc,
		       (unsigned long long)bits(q), (unsigned long long)bits(r),
		       (unsigned long long)bits(m), fb, cvtsd2si(2.5), cvtsd2si(-3.5),
		       (unsigned long long)bits(cvtsi2sd(0x7ffffffffffffe01)), get_csr());
	}
	set_csr(0x1f80);
}

static void ftz_daz(void)
{
	const double tiny = dbl(0x0008000000000000ull);	/* a denormal */
	static const unsigned modes[] = { 0x1f80, 0x9f80, 0x1fc0, 0x9fc0 };
	for (unsigned i = 0; i < 4; i++) {
		set_csr(modes[i]);
		double a = mulsd(dbl(0x0010000000000000ull), 0.5);	/* DBL_MIN / 2 */
		double b = addsd(tiny, 0.0);
		double c = mulsd(tiny, 1.0e300);
		printf("mxcsr %x: %016llx %016llx %016llx ucomi %d flags=%x\n", modes[i],
		       (unsigned long long)bits(a), (unsigned long long)bits(b),
		       (unsigned long long)bits(c), ucomisd(tiny, 0.0), get_csr());
	}
	set_csr(0x1f80);
}

/* Flags raised inline stay sticky through a helper, a syscall and a loop
 * of TBs; ldmxcsr clears them. */
static void sticky(void)
{
	set_csr(0x1f80);
	divsd(1.0, 0.0);
	printf("after 1/0: %x\n", get_csr());
	getpid();
	printf("after getpid: %x\n", get_csr());
	cmpltsd(1.0, dbl(0x7ff8000000000000ull));
	printf("after cmpltsd of a NaN: %x\n", get_csr());
	double s = 0;
	for (int i = 0; i < 1000; i++)
		s = addsd(s, 1.0);
	printf("loop %g: %x\n", s, get_csr());
	set_csr(0x1f80);
	s = addsd(s, 1.0);
	printf("cleared: %x ucomi %d %d %d\n", get_csr(), ucomisd(1.0, 2.0), ucomisd(2.0, 1.0),
	       ucomisd(dbl(0x7ff8000000000000ull), 1.0));
	printf("after ucomisd of a NaN: %x\n", get_csr());
}

static void usr1(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	fpstate_t *f = (fpstate_t *)uc->uc_mcontext.fpregs;
	printf("in handler: frame mxcsr=%x mine=%x\n", f->mxcsr, get_csr());
	f->mxcsr = 0x1f80 | 0x2000;	/* round down, no flags */
}

static void frames(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = usr1;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, 0);
	set_csr(0x1f80);
	divsd(1.0, 3.0);
	raise(SIGUSR1);
	printf("after sigreturn: %x 1/3=%016llx %x\n", get_csr(),
	       (unsigned long long)bits(divsd(1.0, 3.0)), get_csr());
	set_csr(0x1f80);
}

/* ---- SIGFPE from an unmasked exception ---- */

extern char fpe_at[], fpe_after[];
static volatile int fpe_seen;

static void fpe(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	fpstate_t *f = (fpstate_t *)uc->uc_mcontext.fpregs;
	printf("SIGFPE code %d at insn %d pc %d flags %x\n", si->si_code,
	       si->si_addr == (void *)fpe_at, uc->uc_mcontext.gregs[REG_RIP] == (greg_t)fpe_at,
	       f->mxcsr & 0x3f);
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)fpe_after;
	f->mxcsr |= 0x1f80;	/* masked again after sigreturn */
	fpe_seen++;
}

/* One instruction, op selected by n, between the labels. */
static __attribute__((noinline)) double trap_op(int n, double a, double b)
{
	__asm__ volatile(
		"cmp $1, %1\n\tje 1f\n\tcmp $2, %1\n\tje 2f\n\tcmp $3, %1\n\tje 3f\n\t"
		"cmp $4, %1\n\tje 4f\n\tjmp 5f\n"
		"1: movq %2, %%xmm15\n\tjmp fpe_at\n"
		"2: movq %2, %%xmm15\n\taddsd %%xmm15, %%xmm15\n\tjmp fpe_at\n"
		"3: jmp fpe_at\n"
		"4: jmp fpe_at\n"
		"5: jmp fpe_at\n"
		".globl fpe_at\nfpe_at: divsd %2, %0\n"
		".globl fpe_after\nfpe_after:\n"
		: "+x"(a) : "r"(n), "x"(b) : "xmm15", "cc");
	return a;
}

static void sigfpe(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fpe;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGFPE, &sa, 0);
	static const struct { unsigned csr; double a, b; } c[] = {
		{ 0x1f80 & ~0x200, 1.0, 0.0 },		/* ZE */
		{ 0x1f80 & ~0x1000, 1.0, 3.0 },		/* PE */
		{ 0x1f80 & ~0x80, 0.0, 0.0 },		/* IE: 0/0 */
		{ 0x1f80 & ~0x400, 1e300, 1e-300 },	/* OE */
		{ 0x1f80 & ~0x800, 1e-300, 1e300 },	/* UE */
		{ 0x1f80 & ~0x200, 1.0, 2.0 },		/* nothing raised */
	};
	for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) {
		fpe_seen = 0;
		set_csr(c[i].csr);
		double r = trap_op(i % 5, c[i].a, c[i].b);
		unsigned after = get_csr();
		set_csr(0x1f80);
		printf("case %u: seen %d result %016llx mxcsr after %x\n", i, fpe_seen,
		       (unsigned long long)bits(r), after);
	}
}

int main(void)
{
	rounding();
	ftz_daz();
	sticky();
	frames();
	sigfpe();
	return 0;
}
