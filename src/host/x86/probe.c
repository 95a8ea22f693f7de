/*
 * Probing the host CPU: some behaviour is not in CPUID (the register forms
 * of the prefetch hints are NOPs on Intel and #UD on AMD, say; what the
 * x87 unit keeps of the last instruction's pointers), so the guest model
 * asks the host here, by running instructions or reading CPUID.  Running
 * code that may raise #UD takes a SIGILL handler, which is host business:
 * the guest layers see only the answer.  Probes run once, at startup,
 * before loom installs its own signal handlers.
 */
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include "host/host.h"

static sigjmp_buf probe_jb;

static void probe_sigill(int sig)
{
	(void)sig;
	siglongjmp(probe_jb, 1);
}

static bool probe_faults(void (*fn)(void))
{
	if (sigsetjmp(probe_jb, 1))
		return true;
	fn();
	return false;
}

uint32_t host_probe_ud(const struct host_insn *insns, int n)
{
	enum { SLOT = 16 };	/* the longest instruction and its ret */
	uint32_t ud = 0;
	if (n <= 0 || n > 32)
		return 0;
	uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED)
		return 0;
	for (int i = 0; i < n; i++) {
		uint8_t *p = code + SLOT * i;
		size_t len = insns[i].len < SLOT ? insns[i].len : SLOT - 1;
		memcpy(p, insns[i].bytes, len);
		p[len] = 0xc3;	/* ret */
	}
	struct sigaction sa = { .sa_handler = probe_sigill }, old;
	sigemptyset(&sa.sa_mask);
	if (mprotect(code, 4096, PROT_READ | PROT_EXEC) == 0 && sigaction(SIGILL, &sa, &old) == 0) {
		for (int i = 0; i < n; i++)
			if (probe_faults((void (*)(void))(code + SLOT * i)))
				ud |= 1u << i;
		sigaction(SIGILL, &old, NULL);
	}
	munmap(code, 4096);
	return ud;
}

struct host_x87 host_probe_x87(void)
{
	struct host_x87 h;
	uint8_t area[512] __attribute__((aligned(16)));
	uint64_t fip;
	memset(area, 0, sizeof(area));
	__asm__ volatile("fxsave %0" : "=m"(area));
	memcpy(&h.mxcsr_mask, area + 28, 4);
	if (!h.mxcsr_mask)
		h.mxcsr_mask = 0xffbf;	/* the architectural default */
	__asm__ volatile("fninit\n\tfld1\n\tfxsave64 %0\n\tfninit" : "=m"(area) : : "memory");
	memcpy(&fip, area + 8, 8);
	h.fxsave_ptrs_if_es = fip == 0;
	/* fld m64 and no exception: FOP (dd /0), FDP (&one) and FCS as
	 * this host keeps them, in the 32-bit FNSTENV image */
	static const double one = 1.0;
	uint8_t env[28];
	uint16_t fcs, fop;
	uint32_t fdp;
	__asm__ volatile("fninit\n\tfldl %1\n\tfnstenv %0\n\tfninit" : "=m"(env) : "m"(one) : "memory");
	memcpy(&fcs, env + 16, 2);
	memcpy(&fop, env + 18, 2);
	memcpy(&fdp, env + 20, 4);
	h.fop_exc_only = (fop & 0x7ff) == 0;
	h.fdp_exc_only = fdp == 0;
	h.fcs_zero = fcs == 0;
	return h;
}

bool host_has_umip(void)
{
	unsigned a, b, c = 0, d;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c >> 2 & 1);
}

bool host_has_sse3(void)
{
	unsigned a, b, c = 0, d;
	return __get_cpuid(1, &a, &b, &c, &d) && (c & 1);
}
