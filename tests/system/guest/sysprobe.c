/*
 * A guest program for the plugin tests (tests/system/sysplug.sh): a process
 * whose system calls and instructions a test can tell apart from every
 * other process's.  It maps a page of code at a fixed address no other
 * program uses (PROBE_CODE) holding a loop that makes PROBE_CALLS getppid
 * calls, runs it, prints where it is and what it did, and then waits for a
 * signal so that the guest's `ps` can list it:
 *
 *   sysprobe pid PID comm NAME code 0x5a5a0000 syscall 0x5a5a000b calls 1000
 *   sysprobe ready
 *
 * (run by tests/system/guest/run with loom.plugtest=1 on the kernel's
 * command line; not part of the compared boot output.)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROBE_CODE 0x5a5a0000ul
#define PROBE_CALLS 1000

/* push rbx; mov ebx, PROBE_CALLS; 1: mov eax, 110 (getppid); syscall;
 * dec ebx; jnz 1b; pop rbx; ret -- the syscall at offset 0xb */
static const uint8_t loop[] = {
	0x53,
	0xbb, PROBE_CALLS & 0xff, PROBE_CALLS >> 8, 0, 0,
	0xb8, 110, 0, 0, 0,
	0x0f, 0x05,
	0xff, 0xcb,
	0x75, 0xf5,
	0x5b,
	0xc3,
};

static void on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int main(void)
{
	char comm[32] = "?";
	FILE *f = fopen("/proc/self/comm", "r");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = 0;
		fclose(f);
	}
	void *p = mmap((void *)PROBE_CODE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)PROBE_CODE) {
		printf("sysprobe: cannot map 0x%lx\n", PROBE_CODE);
		return 1;
	}
	memcpy(p, loop, sizeof(loop));
	signal(SIGTERM, on_term);
	((void (*)(void))p)();
	printf("sysprobe pid %d comm %s code 0x%lx syscall 0x%lx calls %d\n", (int)getpid(), comm,
	       PROBE_CODE, PROBE_CODE + 0xb, PROBE_CALLS);
	printf("sysprobe ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
