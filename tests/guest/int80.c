/* `int $0x80` in a 64-bit program: where the kernel has IA32 emulation it
 * is an i386 system call (eax the i386 number, ebx ecx edx esi edi ebp the
 * arguments cut to 32 bits, the result in rax, all other registers kept);
 * where it has none, a SIGSEGV.  Either way the program prints what it saw
 * and the native run is the oracle.  The calls are ones loom implements
 * for int 0x80; an i386 number no kernel has must give -ENOSYS. */
#include "guest.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

/* i386 syscall numbers (arch/x86/entry/syscalls/syscall_32.tbl) */
enum { I386_EXIT = 1, I386_READ = 3, I386_WRITE = 4, I386_CLOSE = 6, I386_GETPID = 20,
       I386_DUP2 = 63, I386_PIPE = 42, I386_BRK = 45, I386_GETUID32 = 199,
       I386_EXIT_GROUP = 252 };

static long int80(long nr, long b, long c, long d)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(b), "c"(c), "d"(d) : "memory");
	return r;
}

static void on_segv(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	const unsigned char *pc = (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
	printf("signal %d si_code %d si_addr %p at int $0x80: %d, trapno %lld err %#llx\n", sig,
	       si->si_code, si->si_addr, pc[0] == 0xcd && pc[1] == 0x80,
	       (long long)uc->uc_mcontext.gregs[REG_TRAPNO],
	       (long long)uc->uc_mcontext.gregs[REG_ERR]);
	fflush(stdout);
	_exit(0);
}

static char msg[] = "written by int $0x80\n";
static int fds[2];

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	setvbuf(stdout, NULL, _IONBF, 0);

	printf("getpid: %s\n", int80(I386_GETPID, 0, 0, 0) == getpid() ? "same" : "differs");
	printf("getuid32: %s\n", int80(I386_GETUID32, 0, 0, 0) == getuid() ? "same" : "differs");
	printf("write: %ld\n", int80(I386_WRITE, 1, (long)msg, strlen(msg)));
	/* The upper halves are not the kernel's: fd 1 and the buffer's low
	 * 32 bits. */
	printf("write, upper halves set: %ld\n",
	       int80(I386_WRITE, 0x1234567800000001l, 0x7fff00000000l + (long)msg, 4));
	putchar('\n');
	char stackbuf[8] = "stack\n";
	printf("write from a buffer above 4 GiB: %s\n",
	       (uintptr_t)stackbuf >> 32 ? (int80(I386_WRITE, 1, (long)stackbuf, 6) == -EFAULT
					     ? "-EFAULT" : "not -EFAULT") : "below");
	printf("close(-1): %ld\n", int80(I386_CLOSE, 0xffffffffl, 0, 0));
	printf("close(12345): %ld\n", int80(I386_CLOSE, 12345, 0, 0));
	printf("unknown number 9999: %ld\n", int80(9999, 0, 0, 0));
	printf("unknown number 0x100000014 (the upper half ignored? getpid): %s\n",
	       int80(0x100000000l + I386_GETPID, 0, 0, 0) == getpid() ? "getpid" : "not getpid");

	/* pipe, dup2, read through int $0x80 */
	long r = int80(I386_PIPE, (long)fds, 0, 0);
	printf("pipe: %ld\n", r);
	if (r == 0) {
		printf("dup2: %ld\n", int80(I386_DUP2, fds[1], 40, 0));
		printf("write to the copy: %ld\n", int80(I386_WRITE, 40, (long)"pipe", 4));
		static char in[8];
		printf("read: %ld '%.4s'\n", int80(I386_READ, fds[0], (long)in, sizeof(in)), in);
	}
	long brk0 = int80(I386_BRK, 0, 0, 0);
	printf("brk(0): %s\n", brk0 == (long)sbrk(0) ? "the break" : "not the break");

	/* Registers other than rax are kept, rcx and r11 included. */
	uint64_t before[8], after[8];
	for (int i = 0; i < 8; i++)
		before[i] = 0x1111111111111111ull * (i + 1);
	__asm__ volatile(
		"mov 0(%0), %%rcx\n mov 8(%0), %%r11\n mov 16(%0), %%r8\n mov 24(%0), %%r9\n"
		"mov 32(%0), %%r10\n mov 40(%0), %%r12\n mov 48(%0), %%rsi\n mov 56(%0), %%rdi\n"
		"mov $20, %%eax\n mov $0, %%ebx\n mov $0, %%edx\n push %%rbp\n int $0x80\n pop %%rbp\n"
		"mov %%rcx, 0(%1)\n mov %%r11, 8(%1)\n mov %%r8, 16(%1)\n mov %%r9, 24(%1)\n"
		"mov %%r10, 32(%1)\n mov %%r12, 40(%1)\n mov %%rsi, 48(%1)\n mov %%rdi, 56(%1)\n"
		:
		: "r"(before), "r"(after)
		: "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
		  "memory");
	printf("registers kept:");
	for (int i = 0; i < 8; i++)
		printf(" %s", before[i] == after[i] ? "yes" : "no");
	printf("\n");

	int80(I386_EXIT_GROUP, 0x100 + 7, 0, 0);	/* status 7 */
	printf("exit_group returned\n");
	return 1;
}
