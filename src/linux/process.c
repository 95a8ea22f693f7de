/*
 * Process syscalls: exit, fork and clone, execve, arch_prctl, and the few
 * calls whose answer must describe the guest rather than loom (readlink,
 * open and execve of /proc/self/exe, which is loom's binary on the host).
 *
 * fork: the child is a copy of loom and keeps running translated code, so a
 * fork is a host fork plus the guest-visible extras of clone (new stack, TLS,
 * tid stores).  vfork and CLONE_VM|CLONE_VFORK become a plain fork, as in
 * qemu-user: the child gets its own copy of loom's state instead of sharing
 * the parent's memory.  Only the calling thread lives on in the child.
 * CLONE_THREAD makes a guest thread (thread.c); CLONE_VM without it (a
 * process sharing our memory) is not supported.
 *
 * execve: with linux_opts.follow_exec the new program runs under a fresh loom
 * started with the same options.  Everything the kernel would reject is
 * checked first, so a failing exec returns the kernel's errno to the guest
 * and loom keeps running.  #! scripts are resolved here as binfmt_script
 * would, since loom itself only runs ELF files.
 *
 * Invariant: the guest's fs/gs bases live in struct cpu only; arch_prctl never
 * touches the host's fs, which loom's own libc uses.
 */
#include <asm/prctl.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "linux/linux.h"
#include "instrument/instrument.h"
#include "linux/syscall.h"
#include "util/log.h"

#define TASK_SIZE_MAX 0x7ffffffff000ull

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#define CLONE_CLEAR_SIGHAND_ 0x100000000ull
#define CLONE_INTO_CGROUP_ 0x200000000ull

/* ---- exit ---- */

noreturn void linux_exit_group(int status)
{
	instrument_finish();
	exec_finish();
	log_flush();
	for (;;)
		raw_syscall(__NR_exit_group, status, 0, 0, 0, 0, 0);
}

int64_t sys_exit(struct cpu *cpu, struct sys_call *c)
{
	if (instrument_guest_exit(cpu))	/* a tool's loop goes on (AFL++ persistent mode) */
		return 0;
	thread_exit(cpu, (int)c->a[0]);	/* the last thread ends the process */
}

int64_t sys_exit_group(struct cpu *cpu, struct sys_call *c)
{
	if (instrument_guest_exit(cpu))	/* a tool's loop goes on (AFL++ persistent mode) */
		return 0;
	linux_exit_group((int)c->a[0]);
}

/* ---- fork and clone ---- */

/* Flags that loom implements itself around the host fork. */
#define CLONE_OURS (CLONE_VM | CLONE_VFORK | CLONE_SETTLS | CLONE_PARENT_SETTID | \
		    CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_PIDFD)

static int64_t do_clone(struct cpu *cpu, const struct clone_req *r)
{
	uint64_t flags = r->flags;
	int64_t pid;

	if (flags & CLONE_THREAD) {
		/* The kernel's rules: a thread shares signal handlers, which
		 * needs shared memory. */
		if (!(flags & CLONE_SIGHAND) || !(flags & CLONE_VM))
			return -EINVAL;
		return thread_clone(cpu, r);
	}
	if ((flags & CLONE_VM) && !(flags & CLONE_VFORK)) {
		if (log_enabled(LOG_UNIMP))
			log_printf("loom: clone with CLONE_VM but not CLONE_THREAD is not supported "
				   "(flags 0x%llx)\n", (unsigned long long)flags);
		return -ENOSYS;
	}
	if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM))
		return -EINVAL;	/* as the kernel */
	if ((flags & CLONE_PIDFD) && !r->pidfd)
		return -EINVAL;

	/* The log's buffer would otherwise be written by both processes.  Other
	 * threads do not exist in the child: no lock of loom's may be held by
	 * one of them at the fork. */
	log_flush();
	thread_fork_prepare();
	exec_fork_prepare();
	instrument_fork_prepare();
	uint64_t rest = flags & ~(CLONE_OURS | 0xffull);
	if (rest == 0 && r->exit_signal == SIGCHLD) {
		pid = fork();	/* glibc resets its own state in the child */
		if (pid < 0)
			pid = -errno;
	} else {
		pid = raw_syscall(__NR_clone, rest | r->exit_signal, 0, 0, 0, 0, 0);
	}
	if (pid != 0) {
		instrument_fork_parent();
		exec_fork_parent();
		thread_fork_parent();
	}
	if (pid < 0)
		return pid;

	if (pid == 0) {
		exec_fork_child();
		thread_fork_child();
		instrument_fork_child();
		int32_t tid = (int32_t)raw_syscall(__NR_gettid, 0, 0, 0, 0, 0, 0);
		cpu->x.tid = tid;
		if (r->stack)
			cpu->regs[R_RSP] = r->stack;
		if (flags & CLONE_SETTLS) {	/* as ARCH_SET_FS */
			cpu->fs_base = r->tls;
			cpu->seg[SREG_FS] = 0;
		}
		if (flags & CLONE_CHILD_SETTID)
			guest_write(r->child_tid, &tid, sizeof(tid));
		if (flags & CLONE_CHILD_CLEARTID)
			thread_set_clear_tid(r->child_tid);
		return 0;
	}
	if (flags & CLONE_PIDFD) {
		int32_t fd = (int32_t)raw_syscall(__NR_pidfd_open, pid, 0, 0, 0, 0, 0);
		if (fd >= 0)
			guest_write(r->pidfd, &fd, sizeof(fd));
	}
	if (flags & CLONE_PARENT_SETTID) {
		int32_t v = (int32_t)pid;
		guest_write(r->parent_tid, &v, sizeof(v));
	}
	return pid;
}

int64_t sys_clone(struct cpu *cpu, struct sys_call *c)
{
	/* x86-64 order: flags, newsp, parent_tid, child_tid, tls */
	struct clone_req r = {
		.flags = c->a[0] & ~0xffull, .exit_signal = c->a[0] & 0xff, .stack = c->a[1],
		.parent_tid = c->a[2], .child_tid = c->a[3], .tls = c->a[4],
		.pidfd = c->a[2],	/* clone() returns the pidfd through parent_tid */
	};
	if ((r.flags & CLONE_PIDFD) && (r.flags & CLONE_PARENT_SETTID))
		return -EINVAL;
	return do_clone(cpu, &r);
}

int64_t sys_clone3(struct cpu *cpu, struct sys_call *c)
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
			tls, set_tid, set_tid_size, cgroup;
	} ca = { 0 };
	uint64_t size = c->a[1];

	if (size < 64 || size > 4096)
		return -EINVAL;
	if (guest_read(&ca, c->a[0], size < sizeof(ca) ? size : sizeof(ca)) < 0)
		return -EFAULT;
	if (ca.set_tid_size || (ca.flags & (CLONE_INTO_CGROUP_ | CLONE_CLEAR_SIGHAND_))) {
		if (log_enabled(LOG_UNIMP))
			log_printf("loom: clone3 with set_tid/cgroup/clear_sighand is not supported\n");
		return -ENOSYS;
	}
	if ((ca.flags & 0xff) || ca.exit_signal > 64)
		return -EINVAL;
	struct clone_req r = {
		.flags = ca.flags, .exit_signal = ca.exit_signal,
		.stack = ca.stack ? ca.stack + ca.stack_size : 0,
		.parent_tid = ca.parent_tid, .child_tid = ca.child_tid, .tls = ca.tls,
		.pidfd = ca.pidfd,
	};
	return do_clone(cpu, &r);
}

int64_t sys_fork(struct cpu *cpu, struct sys_call *c)
{
	struct clone_req r = { .exit_signal = SIGCHLD };
	return do_clone(cpu, &r);
}

int64_t sys_vfork(struct cpu *cpu, struct sys_call *c)
{
	struct clone_req r = { .exit_signal = SIGCHLD };
	return do_clone(cpu, &r);
}

/* The AFL fork server's fork: the guest's fork(), minus the syscall. */
int64_t linux_fork(struct cpu *cpu)
{
	struct clone_req r = { .exit_signal = SIGCHLD };
	return do_clone(cpu, &r);
}

/* ---- /proc/self/exe: the guest's program, not loom ---- */

static const char *guest_exe(void)
{
	return linux_image.exe_path ? linux_image.exe_path : linux_image.path;
}

static bool is_proc_self_exe(const char *p)
{
	char mine[64];
	if (!strcmp(p, "/proc/self/exe") || !strcmp(p, "/proc/thread-self/exe"))
		return true;
	snprintf(mine, sizeof(mine), "/proc/%d/exe", (int)getpid());
	return !strcmp(p, mine);
}

/* /proc/self/exe is loom; the guest means its own program. */
static const char *guest_path(const char *p)
{
	return is_proc_self_exe(p) ? guest_exe() : p;
}

/* ---- execve ---- */

#define BINPRM_BUF 256		/* how much of the file the kernel looks at */
#define MAX_SCRIPT_DEPTH 5	/* #! levels the kernel follows before ELOOP */

/* What the kernel's open-for-exec would say about path, and the first bytes
 * of the file. */
static int exec_probe(const char *path, char *buf, size_t *len)
{
	int fd = elf_open_exec(path, NULL);
	if (fd < 0)
		return fd;
	ssize_t n = pread(fd, buf, BINPRM_BUF, 0);
	close(fd);
	if (n < 0)
		return -EIO;
	*len = (size_t)n;
	return 0;
}

/* Read the guest's NULL-terminated pointer array at uptr. */
static int64_t read_ptr_array(uint64_t uptr, char ***out, size_t *count)
{
	size_t n = 0, cap = 0;
	char **v = NULL;
	for (;; n++) {
		uint64_t p = 0;
		if (uptr && guest_read(&p, uptr + n * 8, 8) < 0) {
			free(v);
			return -EFAULT;
		}
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 64;
			if (cap > (1u << 22)) {
				free(v);
				return -E2BIG;
			}
			char **nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n] = (char *)p;
		if (!p)
			break;
	}
	*out = v;
	*count = n;
	return 0;
}

static int64_t exec_under_loom(struct cpu *cpu, struct sys_call *c, const char *path,
			       uint64_t argv_ptr, uint64_t envp_ptr)
{
	char buf[MAX_SCRIPT_DEPTH + 1][BINPRM_BUF + 1];
	char **gargv, **argv;
	size_t gargc, n = 0;
	/* Script interpreters (and their single argument) go before the
	 * script's own path, innermost last. */
	const char *pre[2 * MAX_SCRIPT_DEPTH + 1];
	size_t npre = 0;
	const char *prog = path, *argv0;
	int64_t err;

	err = read_ptr_array(argv_ptr, &gargv, &gargc);
	if (err < 0)
		return err;
	argv0 = gargc ? gargv[0] : "";
	for (int depth = 0;; depth++) {
		size_t len = 0;
		err = exec_probe(prog, buf[depth], &len);
		if (err < 0)
			goto out;
		buf[depth][len] = 0;
		if (len >= 4 && !memcmp(buf[depth], "\177ELF", 4)) {
			err = elf_exec_check(prog);
			if (err < 0)
				goto out;
			break;
		}
		if (len < 2 || buf[depth][0] != '#' || buf[depth][1] != '!') {
			err = -ENOEXEC;
			goto out;
		}
		if (depth == MAX_SCRIPT_DEPTH) {
			err = -ELOOP;
			goto out;
		}
		char *interp, *arg;
		err = elf_parse_shebang(buf[depth], len, &interp, &arg);
		if (err < 0)
			goto out;
		/* argv becomes: interp [arg] script args...; the script is
		 * named by the path that was exec'd, not by its argv[0]. */
		const char *script = prog;
		memmove(pre + 2, pre, npre * sizeof(*pre));
		pre[0] = arg;
		pre[1] = script;
		npre += 2;
		argv0 = interp;
		prog = interp;
	}

	/* loom [options] [-nofile-soft N] [-nofile-hard N] -0 argv0 -- prog [interp arg]
	 * script... args... ("--": a program path may start with a dash).
	 * The new loom starts with the soft RLIMIT_NOFILE raised to the hard
	 * one (its own loader needs descriptors, the kernel's exec none) and
	 * gives the guest its own limit back. */
	char nofile[24];
	struct rlimit rl_nofile, raised;
	bool nofile_raised = false;
	if (getrlimit(RLIMIT_NOFILE, &rl_nofile) == 0 && rl_nofile.rlim_cur < rl_nofile.rlim_max) {
		raised = rl_nofile;
		raised.rlim_cur = rl_nofile.rlim_max;
		nofile_raised = setrlimit(RLIMIT_NOFILE, &raised) == 0;
	}
	argv = malloc((linux_opts.loom_argc + 9 + npre + gargc + 1) * sizeof(*argv));
	if (!argv) {
		if (nofile_raised)
			setrlimit(RLIMIT_NOFILE, &rl_nofile);
		err = -ENOMEM;
		goto out;
	}
	const char *loom = linux_opts.loom_path ? linux_opts.loom_path : "/proc/self/exe";
	argv[n++] = (char *)loom;
	for (int i = 1; i < linux_opts.loom_argc; i++)
		argv[n++] = linux_opts.loom_argv[i];
	if (nofile_raised) {
		snprintf(nofile, sizeof(nofile), "%llu", (unsigned long long)rl_nofile.rlim_cur);
		argv[n++] = "-nofile-soft";
		argv[n++] = nofile;
	}
	/* A hard limit the guest lowered is its own, not loom's (rlimit.c). */
	char nofile_hard[24];
	uint64_t guest_max;
	if (linux_nofile_guest_max(&guest_max)) {
		snprintf(nofile_hard, sizeof(nofile_hard), "%llu", (unsigned long long)guest_max);
		argv[n++] = "-nofile-hard";
		argv[n++] = nofile_hard;
	}
	argv[n++] = "-0";
	argv[n++] = (char *)argv0;
	argv[n++] = "--";
	argv[n++] = (char *)prog;
	for (size_t i = 0; i < npre; i++)
		if (pre[i])
			argv[n++] = (char *)pre[i];
	for (size_t i = 1; i < gargc; i++)
		argv[n++] = gargv[i];
	argv[n] = NULL;

	if (log_enabled(LOG_STRACE)) {
		strace_call(sys_row_for(c->nr), c, 0, true);
		c->traced = true;
	}
	instrument_finish();	/* the new image loads its own plugins */
	sig_before_exec();
	log_flush();
	/* Guest memory is host memory: envp and its strings go as they are. */
	execve(loom, argv, (char **)envp_ptr);
	err = -errno;
	if (nofile_raised)
		setrlimit(RLIMIT_NOFILE, &rl_nofile);
	sig_after_failed_exec();
	c->traced = false;
	free(argv);
out:
	free(gargv);
	return err;
}

int64_t sys_execve(struct cpu *cpu, struct sys_call *c)
{
	char path[4096];
	long r;

	r = guest_read_str(path, c->a[0], sizeof(path));
	if (r < 0)
		return r;
	if (!path[0])
		return -ENOENT;
	if (!linux_opts.follow_exec) {
		/* -no-follow-exec: the new program replaces loom and runs
		 * natively; /proc/self/exe still means the guest's program. */
		instrument_finish();
		log_flush();
		return raw_syscall(__NR_execve, (uintptr_t)guest_path(path), c->a[1], c->a[2], 0, 0, 0);
	}
	return exec_under_loom(cpu, c, guest_path(path), c->a[1], c->a[2]);
}

int64_t sys_execveat(struct cpu *cpu, struct sys_call *c)
{
	char name[4096], path[4096 + 64];
	int dirfd = (int)c->a[0], flags = (int)c->a[4];
	long r;

	if (!linux_opts.follow_exec)
		return raw_syscall(__NR_execveat, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], 0);
	if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -EINVAL;
	r = guest_read_str(name, c->a[1], sizeof(name));
	if (r < 0)
		return r;
	if (!name[0]) {
		if (!(flags & AT_EMPTY_PATH))
			return -ENOENT;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
	} else if (name[0] == '/' || dirfd == AT_FDCWD) {
		snprintf(path, sizeof(path), "%s", name);
	} else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
	}
	if (flags & AT_SYMLINK_NOFOLLOW) {
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			return -ELOOP;
	}
	return exec_under_loom(cpu, c, guest_path(path), c->a[2], c->a[3]);
}

/* ---- arch_prctl, prctl ---- */

int64_t sys_arch_prctl(struct cpu *cpu, struct sys_call *c)
{
	uint64_t addr = c->a[1];

	switch (c->a[0]) {
	case ARCH_SET_FS:
		if (addr >= TASK_SIZE_MAX)
			return -EPERM;
		cpu->fs_base = addr;
		cpu->seg[SREG_FS] = 0;	/* the kernel loads a null selector too */
		return 0;
	case ARCH_SET_GS:
		if (addr >= TASK_SIZE_MAX)
			return -EPERM;
		cpu->gs_base = addr;
		cpu->seg[SREG_GS] = 0;
		return 0;
	case ARCH_GET_FS:
		return guest_write(addr, &cpu->fs_base, 8);
	case ARCH_GET_GS:
		return guest_write(addr, &cpu->gs_base, 8);
	case ARCH_GET_CPUID:
		return 1;	/* cpuid does not fault */
	case ARCH_SET_CPUID:
		return -ENODEV;
	}
	if (log_enabled(LOG_UNIMP))
		log_printf("loom: arch_prctl code 0x%llx is not supported\n",
			   (unsigned long long)c->a[0]);
	return -EINVAL;
}

int64_t sys_prctl(struct cpu *cpu, struct sys_call *c)
{
	switch (c->a[0]) {
	case PR_SET_SECCOMP:
		/* A filter would apply to loom's own syscalls too. */
		if (log_enabled(LOG_UNIMP))
			log_printf("loom: prctl(PR_SET_SECCOMP) is not supported\n");
		return -EINVAL;
	case PR_SET_MM:
		return -EPERM;	/* it would rewrite loom's view of itself */
	}
	return raw_syscall(__NR_prctl, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], 0);
}

int64_t sys_rseq(struct cpu *cpu, struct sys_call *c)
{
	/* Restartable sequences need the kernel to see guest pcs.  libcs treat
	 * ENOSYS as "not available" and go on. */
	return -ENOSYS;
}

static int64_t readlink_exe(uint64_t buf, uint64_t size)
{
	const char *exe = guest_exe();
	size_t n = strlen(exe);
	if ((int64_t)size <= 0)
		return -EINVAL;
	if (n > size)
		n = size;
	if (guest_write(buf, exe, n) < 0)
		return -EFAULT;
	return (int64_t)n;
}

/* open("/proc/self/exe") opens the guest's program, and /proc/self/maps,
 * auxv and cmdline are generated (procfs.c).  Peeking at the path costs one
 * process_vm_readv per open.  Returns true if ret is the answer. */
static bool open_special(uint64_t uptr, int flags, int mode, int64_t *ret)
{
	char path[64];
	if (guest_read_str(path, uptr, sizeof(path)) <= 0 || strncmp(path, "/proc/", 6))
		return false;
	if (is_proc_self_exe(path)) {
		*ret = raw_syscall(__NR_open, guest_exe(), flags, mode, 0, 0, 0);
		return true;
	}
	if (fd_path_is_own(path)) {
		*ret = -ENOENT;
		return true;
	}
	return proc_open(path, flags, ret);
}

int64_t sys_open(struct cpu *cpu, struct sys_call *c)
{
	int64_t r;
	if (open_special(c->a[0], (int)c->a[1], (int)c->a[2], &r))
		return r;
	return raw_syscall(__NR_open, c->a[0], c->a[1], c->a[2], 0, 0, 0);
}

int64_t sys_openat(struct cpu *cpu, struct sys_call *c)
{
	int64_t r;
	if (open_special(c->a[1], (int)c->a[2], (int)c->a[3], &r))
		return r;
	return raw_syscall(__NR_openat, c->a[0], c->a[1], c->a[2], c->a[3], 0, 0);
}

int64_t sys_readlink(struct cpu *cpu, struct sys_call *c)
{
	char path[64];
	if (guest_read_str(path, c->a[0], sizeof(path)) >= 0 && is_proc_self_exe(path))
		return readlink_exe(c->a[1], c->a[2]);
	if (guest_read_str(path, c->a[0], sizeof(path)) >= 0 && fd_path_is_own(path))
		return -ENOENT;
	return raw_syscall(__NR_readlink, c->a[0], c->a[1], c->a[2], 0, 0, 0);
}

int64_t sys_readlinkat(struct cpu *cpu, struct sys_call *c)
{
	char path[64];
	if (guest_read_str(path, c->a[1], sizeof(path)) >= 0 && path[0] == '/' &&
	    is_proc_self_exe(path))
		return readlink_exe(c->a[2], c->a[3]);
	if (path[0] == '/' && fd_path_is_own(path))
		return -ENOENT;
	return raw_syscall(__NR_readlinkat, c->a[0], c->a[1], c->a[2], c->a[3], 0, 0);
}
