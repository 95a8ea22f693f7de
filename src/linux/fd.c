/*
 * The guest's file descriptors, as the guest alone would have them: loom's
 * own descriptors (util/ownfd.c) are invisible.  Every fd argument of every
 * syscall (format letters 'f' and 'a' in the table) that names one of
 * loom's is EBADF, as for a number the guest never opened, except the
 * target of dup2/dup3, which gets loom's descriptor moved away first so the
 * guest's call does exactly what it would natively.  close_range closes
 * around loom's descriptors, and reading the directories /proc/self/fd and
 * /proc/self/fdinfo (by any of their names) leaves them out, as opening or
 * reading the link of an entry of theirs finds nothing.
 *
 * This file does not decide where loom's descriptors live (ownfd.c does),
 * and owns no descriptor itself.
 */
#include <asm/unistd_64.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "linux/linux.h"
#include "linux/syscall.h"
#include "util/ownfd.h"

#define PROC_SUPER_MAGIC 0x9fa0

int64_t fd_guard(const struct sys_row *row, struct sys_call *c)
{
	const char *fmt = row->fmt;
	if (!fmt)
		return 0;
	for (int i = 0; fmt[i] && i < 6; i++) {
		if (fmt[i] != 'f' && fmt[i] != 'a')
			continue;
		int fd = (int)c->a[i];
		if (!ownfd_is(fd))
			continue;
		if (c->nr == __NR_mmap && (c->a[3] & MAP_ANONYMOUS))
			continue;	/* the fd of an anonymous map is ignored */
		if (c->nr == __NR_pidfd_getfd && i == 1)
			continue;	/* a number in the other process */
		if ((c->nr == __NR_dup2 || c->nr == __NR_dup3) && i == 1) {
			int err = ownfd_evict(fd);
			if (err < 0)
				return err;
			continue;
		}
		return -EBADF;
	}
	return 0;
}

/* close_range(first, last, flags): the guest's descriptors in the range,
 * in pieces between loom's.  (With CLOSE_RANGE_CLOEXEC loom's are marked
 * close-on-exec, which they already are.) */
int64_t sys_close_range(struct cpu *cpu, struct sys_call *c)
{
	unsigned first = (unsigned)c->a[0], last = (unsigned)c->a[1], flags = (unsigned)c->a[2];
	int own[64];
	size_t n = ownfd_list(own, 64);

	if (first > last || (flags & CLOSE_RANGE_CLOEXEC))
		return raw_syscall(__NR_close_range, first, last, flags, 0, 0, 0);
	/* CLOSE_RANGE_UNSHARE first, on the whole table, as the kernel does
	 * before closing anything. */
	if (flags & CLOSE_RANGE_UNSHARE) {
		long r = raw_syscall(__NR_close_range, ~0u, ~0u, CLOSE_RANGE_UNSHARE, 0, 0, 0);
		(void)r;
	}
	flags &= ~CLOSE_RANGE_UNSHARE;
	unsigned from = first;
	for (size_t i = 0; i < n; i++) {
		unsigned fd = (unsigned)own[i];
		if (fd < from || fd > last)
			continue;
		if (fd > from) {
			long r = raw_syscall(__NR_close_range, from, fd - 1, flags, 0, 0, 0);
			if (r < 0)
				return r;
		}
		from = fd + 1;
		if (from == 0)		/* wrapped: fd was ~0u */
			return 0;
	}
	if (from > last)
		return 0;
	return raw_syscall(__NR_close_range, from, last, flags, 0, 0, 0);
}

/* Is dirfd one of the guest's own fd or fdinfo directories in /proc
 * (/proc/self/fd, /proc/PID/fd, /proc/PID/task/TID/fd)? */
static bool is_own_fd_dir(int dirfd)
{
	struct statfs sf;
	if (fstatfs(dirfd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
		return false;
	char link[64], path[128];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = 0;
	int pid = getpid(), p, t, end = 0;
	char kind[8];
	if (sscanf(path, "/proc/%d/%7[a-z]%n", &p, kind, &end) == 2 && !path[end])
		return p == pid && (!strcmp(kind, "fd") || !strcmp(kind, "fdinfo"));
	end = 0;
	if (sscanf(path, "/proc/%d/task/%d/%7[a-z]%n", &p, &t, kind, &end) == 3 && !path[end])
		return p == pid && (!strcmp(kind, "fd") || !strcmp(kind, "fdinfo"));
	return false;
}

/* Does path name the fd or fdinfo entry of one of loom's descriptors
 * (/proc/self/fd/N, /proc/thread-self/fd/N, /proc/PID/fd/N,
 * /proc/PID/task/TID/fd/N with the guest's own pid)?  Such a path does not
 * exist for the guest. */
bool fd_path_is_own(const char *path)
{
	int pid = getpid(), p = pid, t, end = 0;
	long n;
	char kind[8];
	if (strncmp(path, "/proc/", 6))
		return false;
	const char *q = path + 6;
	if (!strncmp(q, "self/", 5))
		q += 5;
	else if (!strncmp(q, "thread-self/", 12))
		q += 12;
	else if (sscanf(q, "%d/task/%d/%n", &p, &t, &end) == 2 && end)
		q += end;
	else if (end = 0, sscanf(q, "%d/%n", &p, &end) == 1 && end)
		q += end;
	else
		return false;
	end = 0;
	if (p != pid || sscanf(q, "%7[a-z]/%ld%n", kind, &n, &end) != 2 || q[end])
		return false;
	return (!strcmp(kind, "fd") || !strcmp(kind, "fdinfo")) && ownfd_is(n);
}

/* Drop loom's descriptors from a getdents buffer of n bytes; name_off is
 * where d_name starts in a record (the two layouts differ there).  The
 * records are in loom's memory here.  Returns the new length. */
static size_t filter_dirents(char *buf, size_t n, size_t name_off)
{
	size_t in = 0, out = 0;
	while (in + name_off < n) {
		unsigned short reclen;
		memcpy(&reclen, buf + in + 16, sizeof(reclen));
		if (reclen == 0 || in + reclen > n)
			break;
		char *name = buf + in + name_off, *end;
		long fd = strtol(name, &end, 10);
		bool hide = end != name && !*end && ownfd_is(fd);
		if (!hide) {
			if (out != in)
				memmove(buf + out, buf + in, reclen);
			out += reclen;
		}
		in += reclen;
	}
	return out;
}

/* getdents and getdents64: the host's answer, without loom's descriptors
 * when the directory lists the guest's.  A read that held nothing but
 * loom's reads on, so an empty answer still means the end. */
static int64_t getdents_common(struct sys_call *c, size_t name_off)
{
	int fd = (int)c->a[0];
	size_t size = (size_t)c->a[2];
	bool filter = is_own_fd_dir(fd);
	if (!filter)
		return raw_syscall(c->nr, c->a[0], c->a[1], c->a[2], 0, 0, 0);
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;
	int64_t r;
	for (;;) {
		r = raw_syscall(c->nr, fd, (uintptr_t)buf, size, 0, 0, 0);
		if (r <= 0)
			break;
		size_t kept = filter_dirents(buf, (size_t)r, name_off);
		if (kept == 0)
			continue;
		r = guest_write(c->a[1], buf, kept) < 0 ? -EFAULT : (int64_t)kept;
		break;
	}
	free(buf);
	return r;
}

int64_t sys_getdents(struct cpu *cpu, struct sys_call *c)
{
	return getdents_common(c, 18);	/* d_ino, d_off, d_reclen, d_name */
}

int64_t sys_getdents64(struct cpu *cpu, struct sys_call *c)
{
	return getdents_common(c, 19);	/* d_ino, d_off, d_reclen, d_type, d_name */
}
