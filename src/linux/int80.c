/*
 * `int $0x80` from a 64-bit program: a kernel built with IA32 emulation
 * (CONFIG_IA32_EMULATION, not switched off with ia32_emulation=0) takes it
 * as an i386 system call: eax holds the i386 syscall number, ebx, ecx, edx,
 * esi, edi and ebp the arguments (the upper halves ignored: a pointer is a
 * 32-bit one), the result comes back in rax, and every other register is
 * kept (rcx and r11 too, unlike `syscall`).  Without the emulation the
 * instruction is what the CPU makes of it: #GP, a SIGSEGV.
 *
 * loom's frontend raises #GP for `int n`; the cpu loop offers that fault
 * here first.  We run the i386 calls whose arguments mean the same in both
 * ABIs (descriptors, flags, ids, byte buffers and strings) through the
 * x86-64 syscall layer, so loom's handlers, plugins and strace see them as
 * usual; any other i386 number gives -ENOSYS, logged under -d unimp, as
 * loom cannot yet convert its structures.
 *
 * Numbers are the kernel's own: this file includes the i386 table
 * (<asm/unistd_32.h>) and only that one; the x86-64 number comes from the
 * syscall layer by name.
 */
#include <asm/unistd_32.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include "exec/exec.h"
#include "linux/linux.h"
#include "linux/syscall.h"
#include "util/log.h"

#define INT80_ERROR_CODE (0x80 * 8 + 2)	/* #GP's code for an IDT vector */

/* X(i386 name, x86-64 name, argument kinds): per argument, 'u' an unsigned
 * value or pointer (zero-extended, as the kernel reads a compat pointer),
 * 'i' a signed int (sign-extended, so loom's handlers read -1 as -1). */
#define INT80_CALLS(X) \
	X(exit, exit, "i") \
	X(fork, fork, "") \
	X(read, read, "iuu") \
	X(write, write, "iuu") \
	X(open, open, "uiu") \
	X(close, close, "i") \
	X(creat, creat, "uu") \
	X(link, link, "uu") \
	X(unlink, unlink, "u") \
	X(chdir, chdir, "u") \
	X(chmod, chmod, "uu") \
	X(getpid, getpid, "") \
	X(access, access, "ui") \
	X(sync, sync, "") \
	X(kill, kill, "ii") \
	X(rename, rename, "uu") \
	X(mkdir, mkdir, "uu") \
	X(rmdir, rmdir, "u") \
	X(dup, dup, "i") \
	X(pipe, pipe, "u") \
	X(brk, brk, "u") \
	X(umask, umask, "u") \
	X(dup2, dup2, "ii") \
	X(getppid, getppid, "") \
	X(getpgrp, getpgrp, "") \
	X(setsid, setsid, "") \
	X(symlink, symlink, "uu") \
	X(readlink, readlink, "uui") \
	X(munmap, munmap, "uu") \
	X(fchmod, fchmod, "iu") \
	X(fsync, fsync, "i") \
	X(mprotect, mprotect, "uuu") \
	X(getpgid, getpgid, "i") \
	X(fchdir, fchdir, "i") \
	X(setpgid, setpgid, "ii") \
	X(getsid, getsid, "i") \
	X(fdatasync, fdatasync, "i") \
	X(sched_yield, sched_yield, "") \
	X(getcwd, getcwd, "uu") \
	X(getuid32, getuid, "") \
	X(getgid32, getgid, "") \
	X(geteuid32, geteuid, "") \
	X(getegid32, getegid, "") \
	X(gettid, gettid, "") \
	X(tkill, tkill, "ii") \
	X(exit_group, exit_group, "i") \
	X(tgkill, tgkill, "iii") \
	X(dup3, dup3, "iii") \
	X(pipe2, pipe2, "ui")

struct int80_row {
	const char *name64;
	const char *args;
	long nr64;		/* filled on first use; -1: the host has none */
};

#define INT80_ROW(n32, n64, args) [__NR_##n32] = { #n64, args, 0 },
static struct int80_row int80_table[] = { INT80_CALLS(INT80_ROW) };
#define INT80_TABLE_SIZE ((long)(sizeof(int80_table) / sizeof(int80_table[0])))

/* Does the host kernel run int 0x80 as a system call?  Asked once, of the
 * kernel itself: a forked child makes an i386 getpid and either returns or
 * dies of SIGSEGV.  (No exit signal: the guest must not hear of a child it
 * never made.  The numbers here are x86-64 ones, found by name: this file's
 * __NR_ names are i386's.) */
static bool host_has_ia32(void)
{
	static int known = -1;
	if (known >= 0)
		return known;
	long pid = raw_syscall(sys_nr_of("clone"), 0, 0, 0, 0, 0, 0);
	if (pid == 0) {
		/* The child: loom's SIGSEGV handler is not for this one.  The
		 * kernel's struct sigaction, all zero: SIG_DFL. */
		uint64_t dfl[4] = { 0 };
		raw_syscall(sys_nr_of("rt_sigaction"), SIGSEGV, dfl, 0, 8, 0, 0);
		long r;
		__asm__ volatile("int $0x80" : "=a"(r) : "a"((long)__NR_getpid) : "memory");
		raw_syscall(sys_nr_of("exit"), r > 0 ? 0 : 1, 0, 0, 0, 0, 0);
	}
	int st = 0;
	known = pid > 0 && raw_syscall(sys_nr_of("wait4"), pid, &st, __WCLONE, 0, 0, 0) == pid &&
		WIFEXITED(st) && WEXITSTATUS(st) == 0;
	return known;
}

bool linux_int80(struct cpu *cpu)
{
	const struct guest_exception *e = &cpu->x.exc;
	uint8_t insn[2];

	if (e->vector != X86_EXC_GP || !(e->flags & EXC_HAS_ERROR) ||
	    e->error_code != INT80_ERROR_CODE || guest_read(insn, cpu->rip, 2) < 0 ||
	    insn[0] != 0xcd || insn[1] != 0x80 || !host_has_ia32())
		return false;
	/* A signal already pending is taken before the instruction, which
	 * runs again after the handler. */
	if (sig_deliverable())
		return true;

	/* The i386 registers: eax the number, then ebx ecx edx esi edi ebp. */
	static const int arg_reg[6] = { R_RBX, R_RCX, R_RDX, R_RSI, R_RDI, R_RBP };
	long nr32 = (uint32_t)cpu->regs[R_RAX];
	struct int80_row *row = nr32 < INT80_TABLE_SIZE ? &int80_table[nr32] : NULL;
	if (row && row->name64 && !row->nr64)
		row->nr64 = sys_nr_of(row->name64);
	cpu->rip += 2;
	if (!row || !row->name64 || row->nr64 < 0) {
		if (log_enabled(LOG_UNIMP))
			log_printf("loom: unsupported i386 syscall %ld (int $0x80) at pc 0x%llx\n",
				   nr32, (unsigned long long)cpu->rip - 2);
		cpu->regs[R_RAX] = (uint64_t)-ENOSYS;
		return true;
	}
	struct sys_call c = { .nr = row->nr64 };
	for (int i = 0; row->args[i]; i++) {
		uint32_t v = (uint32_t)cpu->regs[arg_reg[i]];
		c.a[i] = row->args[i] == 'i' ? (uint64_t)(int64_t)(int32_t)v : v;
	}
	linux_syscall_run(cpu, &c, nr32);
	return true;
}
