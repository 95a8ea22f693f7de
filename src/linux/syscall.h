/*
 * Private to src/linux/: the syscall table's row type, the handlers each
 * subsystem file provides (memory, process, signals, files), guest memory
 * access that cannot crash loom, and the strace printer.
 *
 * Invariant: a handler returns the value the kernel would leave in rax (a
 * result or a negative errno) and never touches cpu->regs[R_RAX] itself,
 * except rt_sigreturn, which returns the restored rax.
 */
#ifndef LOOM_LINUX_SYSCALL_H
#define LOOM_LINUX_SYSCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>
#include <signal.h>
#include "guest/x86/cpu.h"

/* One guest syscall as the dispatcher decoded it. */
struct sys_call {
	long nr;
	uint64_t a[6];		/* rdi rsi rdx r10 r8 r9 */
	bool traced;		/* the handler already printed the strace line */
};

typedef int64_t sys_handler(struct cpu *cpu, struct sys_call *c);

/* Row flags. */
enum {
	SC_RESTART = 1 << 0,	/* restarted after a SA_RESTART handler (ERESTARTSYS) */
	SC_NORETURN = 1 << 1,	/* strace prints the call before running it */
	SC_RETHEX = 1 << 2,	/* strace prints the result in hex (addresses) */
};

struct sys_row {
	const char *name;
	sys_handler *fn;	/* NULL: pass through to the host unchanged */
	const char *fmt;	/* one letter per argument, see strace.c */
	unsigned flags;
};

/* Runs the x86-64 syscall c for the guest (plugins, strace, loom's own
 * descriptors, memory protection, handlers) with rip already past the
 * 2-byte instruction that made it; leaves the result in rax and returns
 * it.  restart_nr is what rax must hold if the call is restarted (the
 * number the guest's instruction used: int 0x80's differs). */
int64_t linux_syscall_run(struct cpu *cpu, struct sys_call *c, long restart_nr);

/* The row for nr, or NULL if loom does not know this syscall number. */
const struct sys_row *sys_row_for(long nr);
/* The x86-64 number of the syscall called name, or -1. */
long sys_nr_of(const char *name);

/* The host syscall, returning what the kernel returned (no errno). */
static inline long raw_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#define raw_syscall(nr, a, b, c, d, e, f) \
	raw_syscall6((nr), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static inline bool sys_is_error(int64_t r) { return r < 0 && r >= -4095; }

/* Guest memory seen through the kernel: a bad guest pointer gives -EFAULT
 * instead of a SIGSEGV inside loom (syscall.c). */
int guest_read(void *dst, uint64_t src, size_t n);
int guest_write(uint64_t dst, const void *src, size_t n);
/* Copies at most size-1 bytes and a NUL.  Returns the length, -EFAULT if the
 * first byte is unreadable, -ENAMETOOLONG if no NUL was found in time. */
long guest_read_str(char *dst, uint64_t src, size_t size);

/* stack.c: the initial stack (argv, envp, auxv) for the image in
 * linux_image; sets rsp. */
void linux_build_stack(struct cpu *cpu, char **argv, char **envp, const char *execfn,
		       bool exec_stack);

/* elf.c: what the kernel's execve answers for the ELF file at path before
 * its point of no return (-ENOEXEC, -ENOENT, -EACCES, -EIO, -ELIBBAD), or 0. */
int elf_exec_check(const char *path);
/* elf.c: open_exec's checks (-errno) and an O_RDONLY descriptor; *size is
 * the file's size (size may be NULL). */
int elf_open_exec(const char *path, uint64_t *size);
/* elf.c: split a "#!interp [arg]" line (buf has len bytes and room for one
 * more) in place; 0 or -ENOEXEC, as binfmt_script. */
int elf_parse_shebang(char *buf, size_t len, char **interp, char **arg);

/* fd.c: -EBADF if an fd argument of the call names one of loom's own
 * descriptors (moving loom's out of a dup2/dup3 target instead), else 0. */
int64_t fd_guard(const struct sys_row *row, struct sys_call *c);
/* fd.c: path is /proc/self/fd/N (or fdinfo, or by pid) of loom's own N. */
bool fd_path_is_own(const char *path);

/* clone and clone3 arguments, decoded (process.c, thread.c). */
struct clone_req {
	uint64_t flags;
	uint64_t exit_signal;
	uint64_t stack;		/* new rsp, 0 = same */
	uint64_t parent_tid, child_tid, tls;
	uint64_t pidfd;		/* where CLONE_PIDFD stores the fd */
};

/* thread.c: guest threads, each on a host thread of its own. */
int64_t thread_clone(struct cpu *cpu, const struct clone_req *r);
noreturn void thread_exit(struct cpu *cpu, int status);	/* the exit syscall */
void thread_set_clear_tid(uint64_t addr);	/* CLONE_CHILD_CLEARTID after fork */
void thread_fork_prepare(void);
void thread_fork_parent(void);
void thread_fork_child(void);

/* Handlers, by subsystem. */
/* mmap.c */
void mem_init_brk(uint64_t start);
void mem_init_map(void);		/* the exec layer's map of guest memory */
void mem_before_syscall(const struct sys_call *c);	/* kernel writes into code pages */
bool mem_retry_efault(void);		/* true: loom lifted a protection, retry */
sys_handler sys_brk, sys_mmap, sys_munmap, sys_mprotect, sys_pkey_mprotect, sys_pkey_alloc,
	sys_mremap, sys_madvise, sys_remap_file_pages, sys_shmat, sys_shmdt;
/* process.c */
sys_handler sys_exit, sys_exit_group, sys_clone, sys_clone3, sys_fork, sys_vfork,
	sys_execve, sys_execveat, sys_arch_prctl, sys_prctl, sys_readlink,
	sys_readlinkat, sys_open, sys_openat, sys_rseq, sys_enosys;
/* rlimit.c */
sys_handler sys_getrlimit, sys_setrlimit, sys_prlimit64;
/* fd.c */
sys_handler sys_close_range, sys_getdents, sys_getdents64;
/* procfs.c: open of /proc/self/{maps,auxv,cmdline}; false if path is not
 * one loom generates (then the host opens it), else the fd or -errno. */
bool proc_open(const char *path, int flags, int64_t *ret);
/* thread.c */
sys_handler sys_set_tid_address;
/* signal.c */
sys_handler sys_rt_sigaction, sys_rt_sigprocmask, sys_rt_sigreturn, sys_sigaltstack,
	sys_rt_sigpending, sys_rt_sigsuspend, sys_rt_sigtimedwait, sys_ppoll,
	sys_pselect6, sys_epoll_pwait, sys_epoll_pwait2;

/* signal.c, for the dispatcher and process.c */
bool sig_deliverable(void);			/* a pending signal is unblocked */
void sig_note_interrupted(struct cpu *cpu, long nr);	/* syscall nr got -EINTR */
void sig_before_exec(void);			/* host mask/dispositions = guest's */
void sig_after_failed_exec(void);
void sig_fork_prepare(void);			/* around a fork from any thread */
void sig_fork_parent(void);
void sig_after_fork_child(void);		/* the child starts with nothing pending */
/* Per-thread signal state: a new thread (and the first) starts with the
 * guest mask blocked, no sigaltstack, nothing pending, and a host
 * sigaltstack for loom's handlers; an exiting one gives the process-wide
 * signals it took back to the kernel. */
void sig_thread_start(uint64_t blocked);
void sig_thread_exit(void);
uint64_t sig_blocked_mask(void);		/* the calling thread's guest mask */
void sig_block_host(void);			/* block every async host signal */
void sig_restore_host(void);			/* the host mask the guest's implies */
/* Deliver the signal of an exception (linux/trap.c) as force_sig does. */
struct linux_trap;
void sig_deliver_fault(struct cpu *cpu, const struct linux_trap *f);

/* strace.c */
void strace_call(const struct sys_row *row, const struct sys_call *c, int64_t ret,
		 bool has_ret);
void strace_signal(int signo, const siginfo_t *si);
const char *strace_signame(int signo);

#endif
