/*
 * A micro-benchmark of the system-mode CPU: translated code at CPL 3 runs
 * syscall a million times into a CPL-0 entry point that returns with
 * sysretq, and the time per round trip is printed.  It measures what a
 * privilege change costs in the exec loop (the helpers, the exit to the
 * loop, the lookup under new mode bits); the guest needs no memory of its
 * own, so no soft MMU is involved.  Not part of `make bench`:
 *   make MODE=release build/release/bench/syscpu-roundtrip
 *   build/release/bench/syscpu-roundtrip
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include "exec/exec.h"
#include "exec/guest-mem.h"
#include "guest/x86/cpu.h"
#include "guest/x86/cpuid.h"
#include "guest/x86/sys.h"
#include "instrument/instrument.h"
#include "linux/linux.h"

#define CODE ((uint64_t)0x7e5000000000)
#define ROUNDS 1000000

int main(void)
{
	static const uint8_t user[] = {
		0x41, 0xbc, ROUNDS & 0xff, ROUNDS >> 8 & 0xff, ROUNDS >> 16 & 0xff, 0,	/* mov $ROUNDS,%r12d */
		0x0f, 0x05,			/* 1: syscall */
		0x41, 0xff, 0xcc,		/* dec %r12d */
		0x75, 0xf9,			/* jnz 1b */
		0xf4,				/* hlt: #GP at CPL 3 ends the run */
	};
	static const uint8_t kernel[] = { 0x48, 0x0f, 0x07 };	/* sysretq */
	static const struct x86_sys_env env = { 0 };
	static struct x86_sys sys = { .env = &env };

	if (x86_select_level(NULL) < 0)
		return 2;
	struct cpu *cpu = instrument_alloc_cpu(sizeof(struct cpu));
	memset(cpu, 0, sizeof(*cpu));
	x86_cpu_reset(cpu);
	guest_mem = linux_guest_mem;
	exec_init();
	uint8_t *code = mmap((void *)CODE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (code == MAP_FAILED) {
		perror("syscpu-roundtrip: mmap");
		return 2;
	}
	exec_mem_set(CODE, CODE + 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
	memcpy(code, user, sizeof(user));
	memcpy(code + 0x100, kernel, sizeof(kernel));

	cpu->sys = &sys;
	x86_sys_reset(cpu);
	sys.efer = EFER_SCE | EFER_LME | EFER_LMA;
	sys.cr0 = CR0_PE | CR0_PG | CR0_ET;
	sys.cr4 = CR4_PAE;
	sys.star = 0x23ull << 48 | 0x10ull << 32;	/* Linux's selectors */
	sys.lstar = CODE + 0x100;
	x86_sys_set_seg(cpu, SREG_CS, 0x33, 0, 0xffffffff, 0xa0fb);
	x86_sys_set_seg(cpu, SREG_SS, 0x2b, 0, 0xffffffff, 0xc0f3);
	x86_sys_set_rflags(cpu, X86_IF | 2);
	cpu->rip = CODE;

	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	enum exec_exit e;
	while ((e = exec_run(cpu)) == EXEC_REQUEST)
		;
	clock_gettime(CLOCK_MONOTONIC, &b);
	double s = b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) * 1e-9;
	if (e != EXEC_FAULT || cpu->x.exc.vector != X86_EXC_GP || cpu->regs[R_R12] != 0) {
		fprintf(stderr, "syscpu-roundtrip: the loop did not run to its end\n");
		return 1;
	}
	printf("syscall + sysretq round trip: %.0f ns (%d in %.3f s)\n", s * 1e9 / ROUNDS, ROUNDS, s);
	return 0;
}
