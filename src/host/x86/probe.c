/*
 * Probing the host CPU by running an instruction: some behaviour is not in
 * CPUID (the register forms of the prefetch hints are NOPs on Intel and
 * #UD on AMD, say), so the guest model asks the host here.  Running code
 * that may raise #UD takes a SIGILL handler, which is host business: the
 * guest layers see only the answer.  Probes run once, at startup, before
 * loom installs its own signal handlers.
 */
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
