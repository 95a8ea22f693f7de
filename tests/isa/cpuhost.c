/*
 * What a program learns about the extensions outside the x86-64 levels that
 * loom implements (ADX, FSGSBASE, CLFLUSHOPT, CLWB, SERIALIZE, MOVDIRI,
 * RDPID, RDTSCP; the last two read the CPU number, checked against getcpu): for
 * each, the CPUID bit, the kernel's AT_HWCAP2 bit where there is one, and
 * whether the instruction runs or raises SIGILL; and the CPUID bits of the
 * hints CLDEMOTE and PREFETCHW, which run as NOPs either way.  Printed one line per extension.  Natively this is the
 * host; `loom -cpu host` must print the same (cpuhost.sh compares), and
 * under any model a reported extension must run and an unreported one must
 * fault, which the program checks itself ("consistent").
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>

static sigjmp_buf jb;

static void on_sigill(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

static void run_adx(void)
{
	uint64_t a = ~0ull, b = 1;
	__asm__ volatile("clc; adcx %1, %0; adox %1, %0" : "+r"(a) : "r"(b) : "cc");
}

static void run_fsgsbase(void)
{
	uint64_t v;
	__asm__ volatile("rdgsbase %0; wrgsbase %0; rdfsbase %0" : "=r"(v));
}

static uint64_t line[8] __attribute__((aligned(64)));

static void run_clflushopt(void) { __asm__ volatile("clflushopt %0" : "+m"(line[0])); }
static void run_clwb(void) { __asm__ volatile("clwb %0" : "+m"(line[0])); }
static void run_serialize(void) { __asm__ volatile(".byte 0x0f, 0x01, 0xe8" ::: "memory"); }
static void run_movdiri(void) { __asm__ volatile("movdiri %1, %0" : "=m"(line[1]) : "r"(7ull)); }

static int runs(void (*fn)(void));

static void run_rdpid(void)
{
	uint64_t v;
	__asm__ volatile("rdpid %0" : "=r"(v));
}

static void run_rdtscp(void)
{
	unsigned aux;
	__rdtscp(&aux);
}

/* Both read IA32_TSC_AUX, which Linux sets to this CPU's number (and its
 * node above bit 12): it must match getcpu, unless the thread moved. */
static int tsc_aux_matches(int which)
{
	for (int i = 0; i < 100; i++) {
		unsigned c1, c2, aux;
		uint64_t v = 0;
		syscall(SYS_getcpu, &c1, NULL, NULL);
		if (which)
			__rdtscp(&aux);
		else
			__asm__ volatile("rdpid %0" : "=r"(v));
		syscall(SYS_getcpu, &c2, NULL, NULL);
		if (which)
			v = aux;
		if (c1 == c2)
			return (v & 0xfff) == c1;
	}
	return -1;
}

static void feature(const char *name, int id, void (*fn)(void))
{
	int r = runs(fn);
	printf("%s: cpuid %d, runs %d, %s\n", name, id, r, id == r ? "consistent" : "INCONSISTENT");
}

static int runs(void (*fn)(void))
{
	if (sigsetjmp(jb, 1))
		return 0;
	fn();
	return 1;
}

int main(void)
{
	unsigned a, b = 0, c, d;
	signal(SIGILL, on_sigill);
	__cpuid_count(7, 0, a, b, c, d);
	unsigned long hw2 = getauxval(AT_HWCAP2);
	int adx = b >> 19 & 1, adx_runs = runs(run_adx);
	int fsgs = b & 1, fsgs_hw = hw2 >> 1 & 1, fsgs_runs = runs(run_fsgsbase);
	printf("adx: cpuid %d, runs %d, %s\n", adx, adx_runs,
	       adx == adx_runs ? "consistent" : "INCONSISTENT");
	/* Without HWCAP2_FSGSBASE the kernel leaves them off: SIGILL. */
	printf("fsgsbase: cpuid %d, hwcap2 %d, runs %d, %s\n", fsgs, fsgs_hw, fsgs_runs,
	       (fsgs && fsgs_hw) == fsgs_runs ? "consistent" : "INCONSISTENT");
	feature("clflushopt", b >> 23 & 1, run_clflushopt);
	feature("clwb", b >> 24 & 1, run_clwb);
	feature("serialize", d >> 14 & 1, run_serialize);
	feature("movdiri", c >> 27 & 1, run_movdiri);
	feature("rdpid", c >> 22 & 1, run_rdpid);
	unsigned xa, xb, xc = 0, xd = 0;
	__cpuid(0x80000001, xa, xb, xc, xd);
	feature("rdtscp", xd >> 27 & 1, run_rdtscp);
	if (c >> 22 & 1)
		printf("rdpid is the cpu number: %d\n", tsc_aux_matches(0));
	if (xd >> 27 & 1)
		printf("rdtscp's aux is the cpu number: %d\n", tsc_aux_matches(1));
	printf("cldemote: cpuid %d\nprefetchw: cpuid %d\n", c >> 25 & 1, xc >> 8 & 1);
	return 0;
}
