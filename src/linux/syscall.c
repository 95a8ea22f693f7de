/*
 * The guest syscall layer: one table row per x86-64 syscall, and the
 * dispatcher the cpu loop calls on EXEC_SYSCALL.
 *
 * Numbers are never typed here: each row names a syscall and its number is
 * the kernel's own __NR_<name> from <asm/unistd_64.h>, so the table cannot
 * drift from the ABI.  A row's handler is NULL when guest and host agree (same
 * ABI, identity-mapped memory) and the call passes through unchanged; it names
 * a sys_* function where loom must stay in control (memory maps that may hold
 * translated code, signals, processes, exec, arch_prctl, the /proc/self
 * files that describe the guest: exe, maps, auxv, cmdline).
 * sys_enosys marks calls loom refuses (they would act on loom rather than on
 * the guest); numbers with no row are unknown.  Both give -ENOSYS and a line
 * under -d unimp.  The letters of the format column are decoded in strace.c.
 *
 * Invariant: the table is indexed by syscall number; a number missing from
 * the host's header fails the build instead of shifting rows.
 */
#include <asm/unistd_64.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "exec/exec.h"
#include "linux/linux.h"
#include "linux/syscall.h"
#include "instrument/instrument.h"
#include "util/log.h"

#define PASS NULL
#define NOSYS sys_enosys

/* X(name, handler, strace format, flags) */
#define SYSCALLS(X) \
	X(read, PASS, "fBu", SC_RESTART) \
	X(write, PASS, "fbu", SC_RESTART) \
	X(open, sys_open, "sOm", SC_RESTART) \
	X(close, PASS, "f", 0) \
	X(stat, PASS, "sT", 0) \
	X(fstat, PASS, "fT", 0) \
	X(lstat, PASS, "sT", 0) \
	X(poll, PASS, "pud", 0) \
	X(lseek, PASS, "flw", 0) \
	X(mmap, sys_mmap, "puPMfx", SC_RETHEX) \
	X(mprotect, sys_mprotect, "puP", 0) \
	X(munmap, sys_munmap, "pu", 0) \
	X(brk, sys_brk, "p", SC_RETHEX) \
	X(rt_sigaction, sys_rt_sigaction, "SKKu", 0) \
	X(rt_sigprocmask, sys_rt_sigprocmask, "HQQu", 0) \
	X(rt_sigreturn, sys_rt_sigreturn, "", 0) \
	X(ioctl, PASS, "fIx", SC_RESTART) \
	X(pread64, PASS, "fBul", SC_RESTART) \
	X(pwrite64, PASS, "fbul", SC_RESTART) \
	X(readv, PASS, "fpd", SC_RESTART) \
	X(writev, PASS, "fpd", SC_RESTART) \
	X(access, PASS, "sA", 0) \
	X(pipe, PASS, "i", 0) \
	X(select, PASS, "dpppp", 0) \
	X(sched_yield, PASS, "", 0) \
	X(mremap, sys_mremap, "puuxp", SC_RETHEX) \
	X(msync, PASS, "pux", 0) \
	X(mincore, PASS, "pxp", 0) \
	X(madvise, sys_madvise, "pud", 0) \
	X(shmget, PASS, "xxx", 0) \
	X(shmat, sys_shmat, "dpx", SC_RETHEX) \
	X(shmctl, PASS, "ddp", 0) \
	X(dup, PASS, "f", 0) \
	X(dup2, PASS, "ff", 0) \
	X(pause, PASS, "", 0) \
	X(nanosleep, PASS, "tp", 0) \
	X(getitimer, PASS, "dp", 0) \
	X(alarm, PASS, "u", 0) \
	X(setitimer, PASS, "dpp", 0) \
	X(getpid, PASS, "", 0) \
	X(sendfile, PASS, "ffpu", SC_RESTART) \
	X(socket, PASS, "NYd", 0) \
	X(connect, PASS, "fpu", 0) \
	X(accept, PASS, "fpp", SC_RESTART) \
	X(sendto, PASS, "fbuxpu", SC_RESTART) \
	X(recvfrom, PASS, "fBuxpp", SC_RESTART) \
	X(sendmsg, PASS, "fpx", SC_RESTART) \
	X(recvmsg, PASS, "fpx", SC_RESTART) \
	X(shutdown, PASS, "fd", 0) \
	X(bind, PASS, "fpu", 0) \
	X(listen, PASS, "fd", 0) \
	X(getsockname, PASS, "fpp", 0) \
	X(getpeername, PASS, "fpp", 0) \
	X(socketpair, PASS, "NYdi", 0) \
	X(setsockopt, PASS, "fddpu", 0) \
	X(getsockopt, PASS, "fddpp", 0) \
	X(clone, sys_clone, "Cpppx", 0) \
	X(fork, sys_fork, "", 0) \
	X(vfork, sys_vfork, "", 0) \
	X(execve, sys_execve, "sve", 0) \
	X(exit, sys_exit, "d", SC_NORETURN) \
	X(wait4, PASS, "dZUp", SC_RESTART) \
	X(kill, PASS, "dS", 0) \
	X(uname, PASS, "p", 0) \
	X(semget, PASS, "xdx", 0) \
	X(semop, PASS, "dpu", SC_RESTART) \
	X(semctl, PASS, "ddxx", 0) \
	X(shmdt, sys_shmdt, "p", 0) \
	X(msgget, PASS, "xx", 0) \
	X(msgsnd, PASS, "dpux", SC_RESTART) \
	X(msgrcv, PASS, "dpulx", SC_RESTART) \
	X(msgctl, PASS, "ddp", 0) \
	X(fcntl, PASS, "fWy", SC_RESTART) \
	X(flock, PASS, "fd", SC_RESTART) \
	X(fsync, PASS, "f", 0) \
	X(fdatasync, PASS, "f", 0) \
	X(truncate, PASS, "sl", 0) \
	X(ftruncate, PASS, "fl", 0) \
	X(getdents, sys_getdents, "fpu", 0) \
	X(getcwd, PASS, "pu", 0) \
	X(chdir, PASS, "s", 0) \
	X(fchdir, PASS, "f", 0) \
	X(rename, PASS, "ss", 0) \
	X(mkdir, PASS, "so", 0) \
	X(rmdir, PASS, "s", 0) \
	X(creat, PASS, "so", SC_RESTART) \
	X(link, PASS, "ss", 0) \
	X(unlink, PASS, "s", 0) \
	X(symlink, PASS, "ss", 0) \
	X(readlink, sys_readlink, "sBu", 0) \
	X(chmod, PASS, "so", 0) \
	X(fchmod, PASS, "fo", 0) \
	X(chown, PASS, "sdd", 0) \
	X(fchown, PASS, "fdd", 0) \
	X(lchown, PASS, "sdd", 0) \
	X(umask, PASS, "o", 0) \
	X(gettimeofday, PASS, "pp", 0) \
	X(getrlimit, sys_getrlimit, "rL", 0) \
	X(getrusage, PASS, "dp", 0) \
	X(sysinfo, PASS, "p", 0) \
	X(times, PASS, "p", 0) \
	X(ptrace, NOSYS, "dddx", 0) \
	X(getuid, PASS, "", 0) \
	X(syslog, PASS, "dpd", 0) \
	X(getgid, PASS, "", 0) \
	X(setuid, PASS, "d", 0) \
	X(setgid, PASS, "d", 0) \
	X(geteuid, PASS, "", 0) \
	X(getegid, PASS, "", 0) \
	X(setpgid, PASS, "dd", 0) \
	X(getppid, PASS, "", 0) \
	X(getpgrp, PASS, "", 0) \
	X(setsid, PASS, "", 0) \
	X(setreuid, PASS, "dd", 0) \
	X(setregid, PASS, "dd", 0) \
	X(getgroups, PASS, "dp", 0) \
	X(setgroups, PASS, "dp", 0) \
	X(setresuid, PASS, "ddd", 0) \
	X(getresuid, PASS, "ppp", 0) \
	X(setresgid, PASS, "ddd", 0) \
	X(getresgid, PASS, "ppp", 0) \
	X(getpgid, PASS, "d", 0) \
	X(setfsuid, PASS, "d", 0) \
	X(setfsgid, PASS, "d", 0) \
	X(getsid, PASS, "d", 0) \
	X(capget, PASS, "pp", 0) \
	X(capset, PASS, "pp", 0) \
	X(rt_sigpending, sys_rt_sigpending, "pu", 0) \
	X(rt_sigtimedwait, sys_rt_sigtimedwait, "pppu", 0) \
	X(rt_sigqueueinfo, PASS, "dSp", 0) \
	X(rt_sigsuspend, sys_rt_sigsuspend, "pu", 0) \
	X(sigaltstack, sys_sigaltstack, "pp", 0) \
	X(utime, PASS, "sp", 0) \
	X(mknod, PASS, "sox", 0) \
	X(uselib, NOSYS, "s", 0) \
	X(personality, PASS, "x", 0) \
	X(ustat, PASS, "xp", 0) \
	X(statfs, PASS, "sp", 0) \
	X(fstatfs, PASS, "fp", 0) \
	X(sysfs, PASS, "dxx", 0) \
	X(getpriority, PASS, "dd", 0) \
	X(setpriority, PASS, "ddd", 0) \
	X(sched_setparam, PASS, "dp", 0) \
	X(sched_getparam, PASS, "dp", 0) \
	X(sched_setscheduler, PASS, "ddp", 0) \
	X(sched_getscheduler, PASS, "d", 0) \
	X(sched_get_priority_max, PASS, "d", 0) \
	X(sched_get_priority_min, PASS, "d", 0) \
	X(sched_rr_get_interval, PASS, "dp", 0) \
	X(mlock, PASS, "px", 0) \
	X(munlock, PASS, "px", 0) \
	X(mlockall, PASS, "x", 0) \
	X(munlockall, PASS, "", 0) \
	X(vhangup, PASS, "", 0) \
	X(modify_ldt, NOSYS, "dpu", 0) \
	X(pivot_root, PASS, "ss", 0) \
	X(_sysctl, NOSYS, "p", 0) \
	X(prctl, sys_prctl, "dxxxx", 0) \
	X(arch_prctl, sys_arch_prctl, "Rp", 0) \
	X(adjtimex, PASS, "p", 0) \
	X(setrlimit, sys_setrlimit, "rL", 0) \
	X(chroot, PASS, "s", 0) \
	X(sync, PASS, "", 0) \
	X(acct, PASS, "s", 0) \
	X(settimeofday, PASS, "pp", 0) \
	X(mount, PASS, "sssxp", 0) \
	X(umount2, PASS, "sx", 0) \
	X(swapon, PASS, "sx", 0) \
	X(swapoff, PASS, "s", 0) \
	X(reboot, PASS, "xxxp", 0) \
	X(sethostname, PASS, "pu", 0) \
	X(setdomainname, PASS, "pu", 0) \
	X(iopl, NOSYS, "d", 0) \
	X(ioperm, NOSYS, "xxd", 0) \
	X(create_module, NOSYS, "", 0) \
	X(init_module, PASS, "pus", 0) \
	X(delete_module, PASS, "sx", 0) \
	X(get_kernel_syms, NOSYS, "", 0) \
	X(query_module, NOSYS, "", 0) \
	X(quotactl, PASS, "xspp", 0) \
	X(nfsservctl, NOSYS, "", 0) \
	X(getpmsg, NOSYS, "", 0) \
	X(putpmsg, NOSYS, "", 0) \
	X(afs_syscall, NOSYS, "", 0) \
	X(tuxcall, NOSYS, "", 0) \
	X(security, NOSYS, "", 0) \
	X(gettid, PASS, "", 0) \
	X(readahead, PASS, "flu", 0) \
	X(setxattr, PASS, "sspux", 0) \
	X(lsetxattr, PASS, "sspux", 0) \
	X(fsetxattr, PASS, "fspux", 0) \
	X(getxattr, PASS, "sspu", 0) \
	X(lgetxattr, PASS, "sspu", 0) \
	X(fgetxattr, PASS, "fspu", 0) \
	X(listxattr, PASS, "spu", 0) \
	X(llistxattr, PASS, "spu", 0) \
	X(flistxattr, PASS, "fpu", 0) \
	X(removexattr, PASS, "ss", 0) \
	X(lremovexattr, PASS, "ss", 0) \
	X(fremovexattr, PASS, "fs", 0) \
	X(tkill, PASS, "dS", 0) \
	X(time, PASS, "p", 0) \
	X(futex, PASS, "pXdppx", 0) \
	X(sched_setaffinity, PASS, "dup", 0) \
	X(sched_getaffinity, PASS, "dup", 0) \
	X(set_thread_area, NOSYS, "p", 0) \
	X(io_setup, PASS, "up", 0) \
	X(io_destroy, PASS, "x", 0) \
	X(io_getevents, PASS, "xllpp", 0) \
	X(io_submit, PASS, "xlp", 0) \
	X(io_cancel, PASS, "xpp", 0) \
	X(get_thread_area, NOSYS, "p", 0) \
	X(lookup_dcookie, NOSYS, "xpu", 0) \
	X(epoll_create, PASS, "d", 0) \
	X(epoll_ctl_old, NOSYS, "", 0) \
	X(epoll_wait_old, NOSYS, "", 0) \
	X(remap_file_pages, sys_remap_file_pages, "pxxxx", 0) \
	X(getdents64, sys_getdents64, "fpu", 0) \
	X(set_tid_address, sys_set_tid_address, "p", 0) \
	X(restart_syscall, PASS, "", 0) \
	X(semtimedop, PASS, "dpup", 0) \
	X(fadvise64, PASS, "flld", 0) \
	X(timer_create, PASS, "dpp", 0) \
	X(timer_settime, PASS, "dxpp", 0) \
	X(timer_gettime, PASS, "dp", 0) \
	X(timer_getoverrun, PASS, "d", 0) \
	X(timer_delete, PASS, "d", 0) \
	X(clock_settime, PASS, "dp", 0) \
	X(clock_gettime, PASS, "kt", 0) \
	X(clock_getres, PASS, "kt", 0) \
	X(clock_nanosleep, PASS, "dxpp", 0) \
	X(exit_group, sys_exit_group, "d", SC_NORETURN) \
	X(epoll_wait, PASS, "fpdd", 0) \
	X(epoll_ctl, PASS, "fdfp", 0) \
	X(tgkill, PASS, "ddS", 0) \
	X(utimes, PASS, "sp", 0) \
	X(vserver, NOSYS, "", 0) \
	X(mbind, PASS, "pxdpxx", 0) \
	X(set_mempolicy, PASS, "dpx", 0) \
	X(get_mempolicy, PASS, "ppxpx", 0) \
	X(mq_open, PASS, "sOop", 0) \
	X(mq_unlink, PASS, "s", 0) \
	X(mq_timedsend, PASS, "fpuup", SC_RESTART) \
	X(mq_timedreceive, PASS, "fpupp", SC_RESTART) \
	X(mq_notify, PASS, "fp", 0) \
	X(mq_getsetattr, PASS, "fpp", 0) \
	X(kexec_load, PASS, "xxpx", 0) \
	X(waitid, PASS, "ddpxp", SC_RESTART) \
	X(add_key, PASS, "sspud", 0) \
	X(request_key, PASS, "sssd", 0) \
	X(keyctl, PASS, "dxxxx", 0) \
	X(ioprio_set, PASS, "ddd", 0) \
	X(ioprio_get, PASS, "dd", 0) \
	X(inotify_init, PASS, "", 0) \
	X(inotify_add_watch, PASS, "fsx", 0) \
	X(inotify_rm_watch, PASS, "fd", 0) \
	X(migrate_pages, PASS, "dxpp", 0) \
	X(openat, sys_openat, "asOm", SC_RESTART) \
	X(mkdirat, PASS, "aso", 0) \
	X(mknodat, PASS, "asox", 0) \
	X(fchownat, PASS, "asddF", 0) \
	X(futimesat, PASS, "asp", 0) \
	X(newfstatat, PASS, "asTF", 0) \
	X(unlinkat, PASS, "asF", 0) \
	X(renameat, PASS, "asas", 0) \
	X(linkat, PASS, "asasF", 0) \
	X(symlinkat, PASS, "sas", 0) \
	X(readlinkat, sys_readlinkat, "asBu", 0) \
	X(fchmodat, PASS, "aso", 0) \
	X(faccessat, PASS, "asA", 0) \
	X(pselect6, sys_pselect6, "dppppp", 0) \
	X(ppoll, sys_ppoll, "pdppu", 0) \
	X(unshare, PASS, "x", 0) \
	X(set_robust_list, PASS, "pu", 0) \
	X(get_robust_list, PASS, "dpp", 0) \
	X(splice, PASS, "fpfpux", SC_RESTART) \
	X(tee, PASS, "ffux", 0) \
	X(sync_file_range, PASS, "fllx", 0) \
	X(vmsplice, PASS, "fpux", 0) \
	X(move_pages, PASS, "dupppx", 0) \
	X(utimensat, PASS, "aspF", 0) \
	X(epoll_pwait, sys_epoll_pwait, "fpddpu", 0) \
	X(signalfd, PASS, "fpu", 0) \
	X(timerfd_create, PASS, "dx", 0) \
	X(eventfd, PASS, "u", 0) \
	X(fallocate, PASS, "fdll", 0) \
	X(timerfd_settime, PASS, "fxpp", 0) \
	X(timerfd_gettime, PASS, "fp", 0) \
	X(accept4, PASS, "fppx", SC_RESTART) \
	X(signalfd4, PASS, "fpux", 0) \
	X(eventfd2, PASS, "ux", 0) \
	X(epoll_create1, PASS, "x", 0) \
	X(dup3, PASS, "ffV", 0) \
	X(pipe2, PASS, "iV", 0) \
	X(inotify_init1, PASS, "x", 0) \
	X(preadv, PASS, "fpdl", SC_RESTART) \
	X(pwritev, PASS, "fpdl", SC_RESTART) \
	X(rt_tgsigqueueinfo, PASS, "ddSp", 0) \
	X(perf_event_open, PASS, "pddfx", 0) \
	X(recvmmsg, PASS, "fpuxp", 0) \
	X(fanotify_init, PASS, "xx", 0) \
	X(fanotify_mark, PASS, "fxxas", 0) \
	X(prlimit64, sys_prlimit64, "drLL", 0) \
	X(name_to_handle_at, PASS, "asppx", 0) \
	X(open_by_handle_at, PASS, "fpx", 0) \
	X(clock_adjtime, PASS, "dp", 0) \
	X(syncfs, PASS, "f", 0) \
	X(sendmmsg, PASS, "fpux", 0) \
	X(setns, PASS, "fx", 0) \
	X(getcpu, PASS, "ppp", 0) \
	X(process_vm_readv, PASS, "dpupux", 0) \
	X(process_vm_writev, PASS, "dpupux", 0) \
	X(kcmp, PASS, "dddxx", 0) \
	X(finit_module, PASS, "fsx", 0) \
	X(sched_setattr, PASS, "dpx", 0) \
	X(sched_getattr, PASS, "dpux", 0) \
	X(renameat2, PASS, "asasx", 0) \
	X(seccomp, NOSYS, "xxp", 0) \
	X(getrandom, PASS, "BuG", 0) \
	X(memfd_create, PASS, "sx", 0) \
	X(kexec_file_load, PASS, "ffusx", 0) \
	X(bpf, PASS, "dpu", 0) \
	X(execveat, sys_execveat, "asvex", 0) \
	X(userfaultfd, NOSYS, "x", 0) \
	X(membarrier, PASS, "dxd", 0) \
	X(mlock2, PASS, "pxx", 0) \
	X(copy_file_range, PASS, "fpfpux", 0) \
	X(preadv2, PASS, "fpdlx", 0) \
	X(pwritev2, PASS, "fpdlx", 0) \
	X(pkey_mprotect, sys_pkey_mprotect, "puPd", 0) \
	X(pkey_alloc, sys_pkey_alloc, "xx", 0) \
	X(pkey_free, PASS, "d", 0) \
	X(statx, PASS, "asFxp", 0) \
	X(io_pgetevents, PASS, "xllppp", 0) \
	X(rseq, sys_rseq, "puxx", 0) \
	X(pidfd_send_signal, PASS, "fSpx", 0) \
	X(io_uring_setup, PASS, "up", 0) \
	X(io_uring_enter, PASS, "fuuxpu", 0) \
	X(io_uring_register, PASS, "fupu", 0) \
	X(open_tree, PASS, "asx", 0) \
	X(move_mount, PASS, "asasx", 0) \
	X(fsopen, PASS, "sx", 0) \
	X(fsconfig, PASS, "fxssd", 0) \
	X(fsmount, PASS, "fxx", 0) \
	X(fspick, PASS, "asx", 0) \
	X(pidfd_open, PASS, "dx", 0) \
	X(clone3, sys_clone3, "pu", 0) \
	X(close_range, sys_close_range, "uux", 0) \
	X(openat2, PASS, "aspu", SC_RESTART) \
	X(pidfd_getfd, PASS, "ffx", 0) \
	X(faccessat2, PASS, "asAF", 0) \
	X(process_madvise, PASS, "fpudx", 0) \
	X(epoll_pwait2, sys_epoll_pwait2, "fpdppu", 0) \
	X(mount_setattr, PASS, "asxpu", 0) \
	X(quotactl_fd, PASS, "fxdp", 0) \
	X(landlock_create_ruleset, PASS, "pux", 0) \
	X(landlock_add_rule, PASS, "fdpx", 0) \
	X(landlock_restrict_self, PASS, "fx", 0) \
	X(memfd_secret, PASS, "x", 0) \
	X(process_mrelease, PASS, "fx", 0) \
	X(futex_waitv, PASS, "pdxpd", 0) \
	X(set_mempolicy_home_node, PASS, "xxxx", 0)

#define SYS_TABLE_SIZE 512

#define SYS_ROW(name, fn, fmt, flags) [__NR_##name] = { #name, fn, fmt, flags },
static const struct sys_row sys_table[SYS_TABLE_SIZE] = { SYSCALLS(SYS_ROW) };

const struct sys_row *sys_row_for(long nr)
{
	if (nr < 0 || nr >= SYS_TABLE_SIZE || !sys_table[nr].name)
		return NULL;
	return &sys_table[nr];
}

long sys_nr_of(const char *name)
{
	for (long nr = 0; nr < SYS_TABLE_SIZE; nr++)
		if (sys_table[nr].name && !strcmp(sys_table[nr].name, name))
			return nr;
	return -1;
}

int64_t sys_enosys(struct cpu *cpu, struct sys_call *c)
{
	const struct sys_row *row = sys_row_for(c->nr);
	if (log_enabled(LOG_UNIMP) && row)
		log_printf("loom: unsupported syscall %ld (%s) at pc 0x%llx\n", c->nr, row->name,
			   (unsigned long long)cpu->rip - 2);
	else if (log_enabled(LOG_UNIMP))
		log_printf("loom: unknown syscall %ld at pc 0x%llx\n", c->nr,
			   (unsigned long long)cpu->rip - 2);
	return -ENOSYS;
}

/* Syscalls during which a thread may wait indefinitely: plugins hear of
 * them as the vCPU going idle and resuming. */
static bool may_block(long nr, uint64_t a1)
{
	switch (nr) {
	case __NR_futex:
		return (a1 & 0x7f) == 0 /* WAIT */ || (a1 & 0x7f) == 9 /* WAIT_BITSET */ ||
		       (a1 & 0x7f) == 6 /* LOCK_PI */ || (a1 & 0x7f) == 11 /* WAIT_REQUEUE_PI */;
	case __NR_nanosleep: case __NR_clock_nanosleep: case __NR_wait4: case __NR_waitid:
	case __NR_pause: case __NR_rt_sigsuspend: case __NR_rt_sigtimedwait: case __NR_poll:
	case __NR_ppoll: case __NR_select: case __NR_pselect6: case __NR_epoll_wait:
	case __NR_epoll_pwait:
		return true;
	default:
		return false;
	}
}

void linux_syscall(struct cpu *cpu)
{
	struct sys_call c = {
		.nr = (long)cpu->regs[R_RAX],
		.a = { cpu->regs[R_RDI], cpu->regs[R_RSI], cpu->regs[R_RDX],
		       cpu->regs[R_R10], cpu->regs[R_R8], cpu->regs[R_R9] },
	};

	/* A signal that arrived while the guest was on its way here is taken
	 * first, as if it had come just before the syscall instruction: back
	 * up over the instruction and let the loop deliver it. */
	if (sig_deliverable()) {
		cpu->rip -= 2;
		return;
	}
	/* The syscall instruction itself leaves rip in rcx and rflags in r11. */
	cpu->regs[R_RCX] = cpu->rip;
	cpu->regs[R_R11] = x86_get_rflags(cpu);
	linux_syscall_run(cpu, &c, c.nr);
}

int64_t linux_syscall_run(struct cpu *cpu, struct sys_call *c, long restart_nr)
{
	const struct sys_row *row = sys_row_for(c->nr);
	bool trace = log_enabled(LOG_STRACE);
	uint64_t insn_pc = cpu->rip - 2;	/* syscall and int 0x80 are 2 bytes */
	int64_t ret;

	uint64_t filtered;
	bool blocks = instrument_active && may_block(c->nr, c->a[1]);
	/* A host call, as plugins see it: from the syscall instruction to the
	 * one after it (reported before the call: exit never returns). */
	if (instrument_active)
		instrument_discon(cpu, DISCON_HOSTCALL, insn_pc, cpu->rip);
	if (instrument_active && instrument_syscall(cpu, c->nr, c->a, &filtered)) {
		ret = (int64_t)filtered;	/* a plugin's filter handled it */
	} else if (!row) {
		ret = sys_enosys(cpu, c);
	} else {
		if (blocks)
			instrument_vcpu_idle(cpu);
		if (trace && (row->flags & SC_NORETURN))
			strace_call(row, c, 0, false);
		/* Kernel writes into pages loom write-protects for SMC fail
		 * with EFAULT: lift the protection first, or after (mmap.c). */
		mem_before_syscall(c);
		/* loom's own descriptors are not the guest's (fd.c). */
		int64_t refused = fd_guard(row, c);
		for (bool first = true;; first = false) {
			if (refused)
				ret = refused;
			else if (row->fn)
				ret = row->fn(cpu, c);
			else
				ret = raw_syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
			if (!first || ret != -EFAULT || !mem_retry_efault())
				break;
		}
		if (blocks)
			instrument_vcpu_resume(cpu);
		if (ret == -EINTR && (row->flags & SC_RESTART))
			sig_note_interrupted(cpu, restart_nr);
	}
	cpu->regs[R_RAX] = (uint64_t)ret;
	if (instrument_active)
		instrument_syscall_ret(cpu, c->nr, ret);
	if (trace && !c->traced)
		strace_call(row, c, ret, true);
	return ret;
}

/* Guest memory through process_vm_{read,write}v on ourselves: the kernel
 * checks the guest's mappings and protections and reports EFAULT, where a
 * plain memcpy would take a SIGSEGV inside loom.  (gettid() each time: a
 * cached id would be the parent's after fork; and not getpid(), which names
 * the thread group leader, whose memory is gone once it has exited while
 * other threads run on.) */
int guest_read(void *dst, uint64_t src, size_t n)
{
	if (!n)
		return 0;
	struct iovec l = { dst, n }, r = { (void *)src, n };
	long got = raw_syscall(__NR_process_vm_readv, gettid(), &l, 1, &r, 1, 0);
	return got == (long)n ? 0 : -EFAULT;
}

int guest_write(uint64_t dst, const void *src, size_t n)
{
	if (!n)
		return 0;
	struct iovec l = { (void *)src, n }, r = { (void *)dst, n };
	long got = raw_syscall(__NR_process_vm_writev, gettid(), &l, 1, &r, 1, 0);
	/* A page loom write-protected for SMC refuses the kernel's write. */
	if (got != (long)n && exec_unprotect_range(dst, dst + n))
		got = raw_syscall(__NR_process_vm_writev, gettid(), &l, 1, &r, 1, 0);
	return got == (long)n ? 0 : -EFAULT;
}

long guest_read_str(char *dst, uint64_t src, size_t size)
{
	size_t got = 0;
	while (got + 1 < size) {
		/* Never cross a page in one read: the next page may be unmapped
		 * while the string ends before it. */
		size_t chunk = 4096 - ((src + got) & 4095);
		if (chunk > size - 1 - got)
			chunk = size - 1 - got;
		if (guest_read(dst + got, src + got, chunk) < 0)
			return -EFAULT;
		char *nul = memchr(dst + got, 0, chunk);
		if (nul)
			return nul - dst;
		got += chunk;
	}
	dst[size - 1] = 0;
	return -ENAMETOOLONG;
}
