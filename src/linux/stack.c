/*
 * The initial guest stack, laid out as the kernel's create_elf_tables()
 * leaves it for a new program:
 *
 *   stack_top ->  8 zero bytes
 *                 execfn string (AT_EXECFN)
 *                 environment strings, then argument strings (argv[0] lowest)
 *                 "x86_64" (AT_PLATFORM), 16-byte aligned below
 *                 16 random bytes (AT_RANDOM)
 *                 auxv pairs ... AT_NULL
 *                 NULL, envp[]
 *                 NULL, argv[]
 *   rsp ->        argc              (rsp is 16-byte aligned)
 *
 * There is no vDSO, so AT_SYSINFO_EHDR is left out; libcs then make real
 * syscalls for time functions, which loom passes through.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>
#include "guest/x86/cpuid.h"
#include "linux/linux.h"
#include "linux/syscall.h"
#include "util/log.h"

#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

#define STACK_DEFAULT (8ull << 20)
#define STACK_MAX (1ull << 30)
#define STACK_GUARD (64ull << 10)	/* PROT_NONE below the stack */
#define GUEST_MINSIGSTKSZ 2048		/* our rt_sigframe + fxsave area fits */

static uint64_t stack_size(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur > STACK_DEFAULT)
		return rl.rlim_cur < STACK_MAX ? (rl.rlim_cur + 4095) & ~4095ull : STACK_MAX;
	return STACK_DEFAULT;
}

/* AT_HWCAP on x86 is CPUID.1:EDX, of the CPU the guest sees. */
static uint64_t guest_hwcap(void)
{
	uint32_t r[4];
	x86_cpuid(1, 0, r);
	return r[3];
}

/* Copy a string below p; returns its new address. */
static uint64_t push_string(uint64_t *p, const char *s)
{
	size_t n = strlen(s) + 1;
	*p -= n;
	memcpy((void *)*p, s, n);
	return *p;
}

void linux_build_stack(struct cpu *cpu, char **argv, char **envp, const char *execfn,
		       bool exec_stack)
{
	uint64_t size = stack_size();
	size_t argc = 0, envc = 0, strings = 0;
	int prot = PROT_READ | PROT_WRITE | (exec_stack ? PROT_EXEC : 0);

	while (argv && argv[argc])
		strings += strlen(argv[argc++]) + 1;
	while (envp && envp[envc])
		strings += strlen(envp[envc++]) + 1;
	strings += strlen(execfn) + 1;
	/* The kernel allows a quarter of the stack rlimit for strings. */
	if (strings + (argc + envc) * 8 > size / 4)
		fatal(LOOM_EXIT_LOAD, "%s: %s", execfn, strerror(E2BIG));

	char *base = mmap(NULL, size + STACK_GUARD, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED ||
	    mprotect(base + STACK_GUARD, size, prot) < 0)
		fatal(LOOM_EXIT_LOAD, "%s: cannot map the stack: %s", execfn, strerror(errno));
	uint64_t top = (uint64_t)base + STACK_GUARD + size;
	uint64_t p = top - 8;	/* 8 zero bytes end the string area */
	uint64_t *argv_addr = calloc(argc + 1, 8), *envp_addr = calloc(envc + 1, 8);
	if (!argv_addr || !envp_addr)
		fatal(LOOM_EXIT_LOAD, "%s: out of memory", execfn);

	uint64_t execfn_addr = push_string(&p, execfn);
	for (size_t i = envc; i-- > 0;)
		envp_addr[i] = push_string(&p, envp[i]);
	linux_image.arg_end = p;
	for (size_t i = argc; i-- > 0;)
		argv_addr[i] = push_string(&p, argv[i]);
	linux_image.arg_start = p;
	p &= ~15ull;
	uint64_t platform_addr = push_string(&p, "x86_64");
	p -= 16;
	uint64_t random_addr = p;
	if (getrandom((void *)random_addr, 16, 0) != 16)
		for (int i = 0; i < 16; i++)	/* never fails in practice; stay usable */
			((uint8_t *)random_addr)[i] = (uint8_t)(rand() ^ (i * 37));

	uint64_t auxv[][2] = {
		{ AT_MINSIGSTKSZ, GUEST_MINSIGSTKSZ },
		{ AT_HWCAP, guest_hwcap() },
		{ AT_PAGESZ, 4096 },
		{ AT_CLKTCK, (uint64_t)sysconf(_SC_CLK_TCK) },
		{ AT_PHDR, linux_image.phdr },
		{ AT_PHENT, linux_image.phent },
		{ AT_PHNUM, linux_image.phnum },
		{ AT_BASE, linux_image.interp_base },
		{ AT_FLAGS, 0 },
		{ AT_ENTRY, linux_image.entry },
		{ AT_UID, getuid() },
		{ AT_EUID, geteuid() },
		{ AT_GID, getgid() },
		{ AT_EGID, getegid() },
		{ AT_SECURE, getauxval(AT_SECURE) },
		{ AT_RANDOM, random_addr },
		{ AT_HWCAP2, x86_hwcap2() },	/* FSGSBASE under -cpu host; no ring-3 mwait */
		{ AT_EXECFN, execfn_addr },
		{ AT_PLATFORM, platform_addr },
		{ AT_NULL, 0 },
	};
	size_t nauxv = sizeof(auxv) / sizeof(auxv[0]);
	size_t items = 1 + (argc + 1) + (envc + 1) + 2 * nauxv;
	uint64_t sp = (p - items * 8) & ~15ull;
	uint64_t *w = (uint64_t *)sp;

	*w++ = argc;
	for (size_t i = 0; i <= argc; i++)
		*w++ = argv_addr[i];	/* the last one is the NULL */
	for (size_t i = 0; i <= envc; i++)
		*w++ = envp_addr[i];
	linux_image.auxv_addr = (uint64_t)w;
	linux_image.auxv_len = nauxv * 16;
	memcpy(w, auxv, sizeof(auxv));

	free(argv_addr);
	free(envp_addr);
	linux_image.stack_top = top;
	linux_image.stack_limit = top - size;
	cpu->regs[R_RSP] = sp;
}
