/*
 * Linux user mode: loading the program, the stack a kernel would build, the
 * syscall layer and guest signals.  It drives the exec loop and handles what
 * the loop hands back; it never looks inside translation.
 */
#ifndef LOOM_LINUX_LINUX_H
#define LOOM_LINUX_LINUX_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>
#include "guest/x86/cpu.h"

struct linux_options {
	bool strace;		/* -strace */
	bool follow_exec;	/* execve runs the new program under loom */
	const char *loom_path;	/* our own binary, for execve */
	/* loom's argv[0], then the options a re-exec passes again (-d, -D as an
	 * absolute path with -log-append, -strace, ...; not -E/-U/-0, which
	 * described the first program only).  NULL-terminated. */
	int loom_argc;
	char **loom_argv;
};
extern struct linux_options linux_opts;

/* Guest memory for the layers above exec (exec/guest-mem.h), as user mode
 * has it: the front door installs it in guest_mem. */
struct guest_mem_ops;
extern const struct guest_mem_ops linux_guest_mem;
/* What the instrument layer asks of its environment (instrument.h). */
struct instrument_env;
extern const struct instrument_env linux_instrument_env;

/* What the loader learned; kept for /proc/self/auxv, AT_* and plugins. */
struct linux_image {
	const char *path;	/* as given */
	char *exe_path;		/* absolute, for /proc/self/exe */
	uint64_t load_bias;
	uint64_t entry;		/* program entry (after bias) */
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t brk_start, brk;
	uint64_t phdr, phnum, phent;
	uint64_t interp_base;	/* 0 for static programs */
	const char *interp_path;	/* PT_INTERP, or NULL */
	uint64_t image_lo, image_hi;	/* the program's mapped span */
	uint64_t interp_lo, interp_hi;	/* the interpreter's, 0 if none */
	/* The pages the program's and the interpreter's PT_LOADs cover (the
	 * spans above may hold loom's own memory between segments). */
	struct linux_span { uint64_t lo, hi; } *spans;
	size_t nspans;
	uint64_t stack_top, stack_limit;
	uint64_t auxv_addr, auxv_len;
	uint64_t arg_start, arg_end;	/* argv strings, for /proc/self/cmdline */
};
extern struct linux_image linux_image;

/* Map the ELF at path and build the initial stack; sets cpu's rsp/rip/rdx.
 * On failure prints one line "loom: PATH: reason" and exits non-zero. */
void linux_load(const char *path, char **argv, char **envp, struct cpu *cpu);
/* Execute the syscall described by cpu's registers; result in rax. */
void linux_syscall(struct cpu *cpu);
/* int80.c: if the guest's last exception is the #GP of `int $0x80` and the
 * host kernel runs that as an i386 system call, run it as the kernel would
 * (rip past the instruction, the result in rax) and return true. */
bool linux_int80(struct cpu *cpu);
/* rlimit.c: the guest's own hard RLIMIT_NOFILE, where it lowered it below
 * loom's (which stays, so that loom keeps descriptors for execve).  set:
 * at start (-nofile-hard); get: false while the guest's is loom's. */
void linux_nofile_set_guest_max(uint64_t max);
bool linux_nofile_guest_max(uint64_t *max);
/* Install loom's host signal handlers (fault mapping, async signals). */
void linux_signal_init(void);
/* A host SIGSEGV/SIGBUS (si, ucontext uc): if it hit this thread's direct
 * copy of guest code (guest-mem.c), abandon the copy (does not return).
 * False otherwise. */
bool linux_fetch_fault(const siginfo_t *si, void *uc);
/* Is addr's page mapped but without backing (a file mapping past the
 * file's end: reading it raises the host's SIGBUS)? */
bool linux_fetch_no_backing(uint64_t addr);
/* Deliver pending guest signals (at a TB boundary). */
void linux_deliver_signals(struct cpu *cpu);
/* Live guest threads (for the control channel's status). */
int linux_thread_count(void);
/* Run the guest until it exits; never returns. */
noreturn void linux_cpu_loop(struct cpu *cpu);
/* vsyscall.c: if the signal t of the guest's last exception is a call
 * into the legacy vsyscall page, emulate it (true: the guest continues at
 * its caller) or make t the kernel's SIGSEGV for a bad call (false). */
struct linux_trap;
bool linux_vsyscall(struct cpu *cpu, struct linux_trap *t);
/* Flush traces/coverage, then exit like the guest (status or signal). */
noreturn void linux_exit_group(int status);
noreturn void linux_die_by_signal(int signo);
/* fork() as the guest would do it (loom's state copied as for a guest
 * fork): the pid, 0 in the child, or -errno.  For the AFL fork server. */
int64_t linux_fork(struct cpu *cpu);

#endif
