/*
 * The guest's RLIMIT_NOFILE hard limit, kept apart from loom's.  The kernel
 * needs no descriptor to exec, loom does (its new image reads the program,
 * makes its code cache, keeps a log): a guest that lowered its hard limit
 * to what it had open and then exec'd would leave the new loom without a
 * single descriptor, and the kernel lets no unprivileged process raise a
 * hard limit again.  So a guest's lowering of its own hard RLIMIT_NOFILE
 * lowers only the soft limit for real and is remembered here: the guest
 * reads back the hard limit it set, is refused (EINVAL, EPERM) exactly as
 * the kernel would refuse it against that limit, and execve passes the
 * limit on to the next loom (-nofile-hard).  The soft limit is real: the
 * kernel itself refuses the guest's descriptors above it.
 *
 * Invariant: guest_max never exceeds the real hard limit.  Other limits and
 * other processes' limits pass through unchanged.
 */
#include <errno.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "linux/linux.h"
#include "linux/syscall.h"

/* The guest's hard limit, while it is below loom's (nofile_virtual). */
static bool nofile_virtual;
static rlim_t guest_max;

/* The real limits, with the guest's hard limit in place of loom's. */
static int nofile_get(struct rlimit *rl)
{
	long r = raw_syscall(__NR_prlimit64, 0, RLIMIT_NOFILE, 0, rl, 0, 0);
	if (r < 0)
		return (int)r;
	if (nofile_virtual && guest_max < rl->rlim_max)
		rl->rlim_max = guest_max;
	return 0;
}

static bool has_cap_sys_resource(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	if (raw_syscall(__NR_capget, &h, d, 0, 0, 0, 0) < 0)
		return false;
	return d[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32));
}

/* setrlimit(RLIMIT_NOFILE, want) for the guest, with the kernel's checks
 * (do_prlimit) made against the guest's hard limit. */
static int nofile_set(const struct rlimit *want)
{
	struct rlimit real, cur;
	long r = raw_syscall(__NR_prlimit64, 0, RLIMIT_NOFILE, 0, &real, 0, 0);
	if (r < 0)
		return (int)r;
	if (nofile_get(&cur) < 0)
		return -EFAULT;
	if (want->rlim_cur > want->rlim_max)
		return -EINVAL;
	if (want->rlim_max > cur.rlim_max && !has_cap_sys_resource())
		return -EPERM;
	if (want->rlim_max >= real.rlim_max) {
		/* Up to or beyond loom's: the kernel's own limit again (and its
		 * own checks, nr_open's among them). */
		r = raw_syscall(__NR_prlimit64, 0, RLIMIT_NOFILE, want, 0, 0, 0);
		if (r == 0)
			nofile_virtual = false;
		return (int)r;
	}
	struct rlimit set = { want->rlim_cur, real.rlim_max };
	r = raw_syscall(__NR_prlimit64, 0, RLIMIT_NOFILE, &set, 0, 0, 0);
	if (r == 0) {
		nofile_virtual = true;
		guest_max = want->rlim_max;
	}
	return (int)r;
}

/* The process whose limits a prlimit64 call names: is it this one? */
static bool is_self(long pid)
{
	return pid == 0 || pid == getpid() || pid == gettid();
}

int64_t sys_getrlimit(struct cpu *cpu, struct sys_call *c)
{
	if (c->a[0] != RLIMIT_NOFILE)
		return raw_syscall(c->nr, c->a[0], c->a[1], 0, 0, 0, 0);
	struct rlimit rl;
	int r = nofile_get(&rl);
	if (r < 0)
		return r;
	return guest_write(c->a[1], &rl, sizeof(rl));
}

int64_t sys_setrlimit(struct cpu *cpu, struct sys_call *c)
{
	if (c->a[0] != RLIMIT_NOFILE)
		return raw_syscall(c->nr, c->a[0], c->a[1], 0, 0, 0, 0);
	struct rlimit want;
	if (guest_read(&want, c->a[1], sizeof(want)) < 0)
		return -EFAULT;
	return nofile_set(&want);
}

int64_t sys_prlimit64(struct cpu *cpu, struct sys_call *c)
{
	if (c->a[1] != RLIMIT_NOFILE || !is_self((pid_t)c->a[0]))
		return raw_syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], 0, 0);
	struct rlimit old, want;
	if (c->a[2] && guest_read(&want, c->a[2], sizeof(want)) < 0)
		return -EFAULT;
	int r = nofile_get(&old);
	if (r == 0 && c->a[2])
		r = nofile_set(&want);
	if (r == 0 && c->a[3] && guest_write(c->a[3], &old, sizeof(old)) < 0)
		return -EFAULT;
	return r;
}

void linux_nofile_set_guest_max(uint64_t max)
{
	struct rlimit real;
	if (getrlimit(RLIMIT_NOFILE, &real) == 0 && max < real.rlim_max) {
		nofile_virtual = true;
		guest_max = max;
	}
}

bool linux_nofile_guest_max(uint64_t *max)
{
	if (nofile_virtual)
		*max = guest_max;
	return nofile_virtual;
}
