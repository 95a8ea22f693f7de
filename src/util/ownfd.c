/*
 * loom's own file descriptors, out of the guest's way.  A guest must see
 * the descriptors it would see natively: its first open() gets the lowest
 * free number, a listing of /proc/self/fd shows only its own, close() of a
 * number it never opened is EBADF, and dup2() onto any number works.  So
 * every descriptor loom keeps is placed high and recorded here; the Linux
 * layer (linux/fd.c) asks this registry to hide, refuse and evict them.
 *
 * Placement: above the soft RLIMIT_NOFILE loom started with, where the
 * guest's own descriptors cannot reach (the soft limit is raised to the
 * hard one for the moment of the dup), or, when the hard limit leaves no
 * room, just below it; from 1000 on when the limit is generous (a number
 * few programs reach, and the kernel's descriptor table stays small).
 *
 * A stream on one of them (ownfd_fdopen) reads and writes through the
 * registry's current number, so an eviction never leaves loom writing into
 * the guest's file.  A loom thread that opens files while the guest runs
 * may instead take a descriptor table of its own (ownfd_private_table),
 * where nothing it opens is the guest's business even for a moment.
 *
 * Invariant: an owner variable and the registry always name the same
 * number; loom calls ownfd_drop before closing one of its descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include "util/ownfd.h"

#define OWNFD_MAX 32

static struct ownfd {
	int fd;
	int *owner;
	void (*moved)(int oldfd, int newfd);
} own[OWNFD_MAX];
static int nown;
static int own_lo = 1 << 30, own_hi = -1;	/* quick range test */
static int base = -1;
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;
/* This thread has a descriptor table of its own (ownfd_private_table): its
 * descriptors are no guest's business and are never recorded. */
static __thread bool own_private;

/* Where to start under a limit that leaves no room above it: near the
 * top, where a guest's numbering reaches last. */
static int top_of(int lim)
{
	if (lim > 64)
		return lim - 32;
	return lim > 11 ? lim - 8 : 3;
}

static void pick_base(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		base = 1000;
		return;
	}
	if (rl.rlim_cur >= 4096)	/* generous limit: a number few reach */
		base = 1000;
	else if (rl.rlim_max == RLIM_INFINITY || rl.rlim_cur + 64 <= rl.rlim_max)
		base = (int)rl.rlim_cur + 32;
	else
		base = top_of((int)rl.rlim_max);
}

/* F_DUPFD_CLOEXEC at or above the base, the soft limit raised for it if
 * the base is above. */
static int dup_high(int fd)
{
	struct rlimit rl, raised;
	if (base < 0)
		pick_base();
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return fcntl(fd, F_DUPFD_CLOEXEC, base);
	if ((rlim_t)base + OWNFD_MAX < rl.rlim_cur)
		return fcntl(fd, F_DUPFD_CLOEXEC, base);
	raised = rl;
	raised.rlim_cur = rl.rlim_max;
	if (raised.rlim_cur != RLIM_INFINITY && raised.rlim_cur > (rlim_t)base + 2 * OWNFD_MAX)
		raised.rlim_cur = (rlim_t)base + 2 * OWNFD_MAX;
	bool changed = raised.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0;
	int lim = (int)(changed ? raised.rlim_cur : rl.rlim_cur);
	int from = base < lim ? base : top_of(lim);
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, from);
	if (changed)
		setrlimit(RLIMIT_NOFILE, &rl);
	return nfd;
}

static void recompute_range(void)
{
	own_lo = 1 << 30;
	own_hi = -1;
	for (int i = 0; i < nown; i++) {
		if (own[i].fd < own_lo)
			own_lo = own[i].fd;
		if (own[i].fd > own_hi)
			own_hi = own[i].fd;
	}
}

int ownfd_take(int fd, int *owner, void (*moved)(int oldfd, int newfd))
{
	if (fd < 0 || own_private)
		return fd;
	pthread_mutex_lock(&own_lock);
	int nfd = dup_high(fd);
	if (nfd >= 0 && nfd != fd)
		close(fd);
	else
		nfd = fd;
	if (nown < OWNFD_MAX)
		own[nown++] = (struct ownfd){ nfd, owner, moved };
	recompute_range();
	pthread_mutex_unlock(&own_lock);
	return nfd;
}

void ownfd_drop(int fd)
{
	if (own_private)
		return;
	pthread_mutex_lock(&own_lock);
	for (int i = 0; i < nown; i++)
		if (own[i].fd == fd) {
			own[i] = own[--nown];
			break;
		}
	recompute_range();
	pthread_mutex_unlock(&own_lock);
}

bool ownfd_is(long fd)
{
	if (fd < own_lo || fd > own_hi)
		return false;
	for (int i = 0; i < nown; i++)
		if (own[i].fd == fd)
			return true;
	return false;
}

int ownfd_evict(int fd)
{
	int err = 0;
	pthread_mutex_lock(&own_lock);
	for (int i = 0; i < nown; i++) {
		if (own[i].fd != fd)
			continue;
		int nfd = dup_high(fd);
		if (nfd < 0) {
			err = -EMFILE;
			break;
		}
		own[i].fd = nfd;
		if (own[i].owner)
			*own[i].owner = nfd;
		if (own[i].moved)
			own[i].moved(fd, nfd);
		close(fd);
		break;
	}
	recompute_range();
	pthread_mutex_unlock(&own_lock);
	return err;
}

size_t ownfd_list(int *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&own_lock);
	for (int i = 0; i < nown && n < max; i++)
		out[n++] = own[i].fd;
	pthread_mutex_unlock(&own_lock);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
			int t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

int ownfd_private_table(void)
{
	int keep[OWNFD_MAX];
	size_t n = ownfd_list(keep, OWNFD_MAX);
	if (unshare(CLONE_FILES) < 0)
		return -errno;
	/* Close the copies of everything but loom's own: a copy of the
	 * guest's pipe end would keep its reader from seeing EOF. */
	unsigned from = 0;
	for (size_t i = 0; i <= n; i++) {
		unsigned to = i < n ? (unsigned)keep[i] : ~0u;
		if (to > from)
			syscall(SYS_close_range, from, to - 1, 0u);
		from = to + 1;
	}
	own_private = true;
	return 0;
}

/* A stream on one of loom's descriptors reads and writes through the
 * number the registry keeps current (an eviction renumbers it), where an
 * fdopen stream would go on using the old number: the guest's after its
 * dup2. */
struct own_stream {
	int fd;
};

static ssize_t stream_read(void *cookie, char *buf, size_t n)
{
	struct own_stream *st = cookie;
	ssize_t r;
	do
		r = read(st->fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static ssize_t stream_write(void *cookie, const char *buf, size_t n)
{
	struct own_stream *st = cookie;
	size_t done = 0;
	while (done < n) {
		ssize_t w = write(st->fd, buf + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return done ? (ssize_t)done : -1;
		done += (size_t)w;
	}
	return (ssize_t)done;
}

static int stream_close(void *cookie)
{
	struct own_stream *st = cookie;
	ownfd_drop(st->fd);
	int r = close(st->fd);
	free(st);
	return r;
}

FILE *ownfd_fdopen(int fd, const char *mode)
{
	return ownfd_fdopen_live(fd, mode, NULL);
}

FILE *ownfd_fdopen_live(int fd, const char *mode, const int **live)
{
	if (fd < 0)
		return NULL;
	struct own_stream *st = malloc(sizeof(*st));
	if (!st) {
		close(fd);
		return NULL;
	}
	st->fd = ownfd_take(fd, &st->fd, NULL);
	FILE *f = fopencookie(st, mode, (cookie_io_functions_t){ .read = stream_read,
								 .write = stream_write,
								 .close = stream_close });
	if (!f)
		stream_close(st);
	else if (live)
		*live = &st->fd;
	return f;
}
