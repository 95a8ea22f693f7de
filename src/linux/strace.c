/*
 * -strace: one line per guest syscall on the log, in strace's form
 *   PID name(arg, arg, ...) = result
 * with errors as "= -1 ENOENT (No such file or directory)".
 *
 * Arguments are decoded from the format column of the syscall table, one
 * letter per argument:
 *   d int   l long   u unsigned   x hex   o octal   p pointer (NULL or hex)
 *   f fd    a dirfd (AT_FDCWD)    s string   S signal number
 *   b buffer written by the call, its length is the next argument
 *   B buffer read by the call, printed after it returns (length = result)
 *   O open flags   V open flags without the access mode (pipe2, dup3)   P mmap prot   M mmap flags   C clone flags
 *   m mode in octal, left out (as strace does) unless the open flags before
 *     it hold O_CREAT or O_TMPFILE
 *   A access mode (R_OK|W_OK...)   F AT_* flags   G getrandom flags
 *   T struct stat (after the call)   R arch_prctl code   r rlimit resource
 *   L struct rlimit   H sigprocmask how   Q sigset   K struct sigaction
 *   X futex op (the argument count then follows the op)   W fcntl command
 *   y fcntl argument (decoded by the command before it)
 *   k clock id   t struct timespec   w lseek whence   N socket domain
 *   Y socket type   I ioctl request   i int[2] filled (pipe fds)
 *   Z wait status (after the call)   U wait options
 *   C clone flags; a format starting with C prints clone's arguments the
 *     way strace names them
 *   v argv-style array   e envp-style array (only counted)
 * Strings that are paths print whole, buffers up to 32 bytes (strace -s 32).
 * Structs pointed to print after the call (strace's "entering" and
 * "exiting" decoders are one here), only when the call succeeded.
 * Guest memory is read through guest_read, so a bad pointer prints as its
 * address instead of crashing loom.  The line is built in a buffer and
 * written with one log_printf, so lines of forked children do not
 * interleave mid-line.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <asm/prctl.h>
#include <linux/futex.h>
#include "linux/linux.h"
#include "linux/syscall.h"
#include "util/log.h"

#define STR_MAX 32		/* strace's default -s */
#define PATH_MAX_STR 4096	/* paths print whole */
#define ARRAY_MAX 32
#define RESULT_COLUMN 40	/* strace pads " = result" to this column */

struct sbuf {
	char b[8192];
	size_t n;
};

static void sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	if (sb->n >= sizeof(sb->b) - 1)
		return;
	va_start(ap, fmt);
	int r = vsnprintf(sb->b + sb->n, sizeof(sb->b) - sb->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		sb->n += (size_t)r < sizeof(sb->b) - sb->n ? (size_t)r : sizeof(sb->b) - 1 - sb->n;
}

struct flag_name {
	uint64_t bit;
	const char *name;
};
#define F(x) { x, #x }

static void sb_flags(struct sbuf *sb, uint64_t v, const struct flag_name *t, size_t n,
		     const char *zero)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (t[i].bit && (v & t[i].bit) == t[i].bit) {
			sb_printf(sb, "%s%s", any ? "|" : "", t[i].name);
			v &= ~t[i].bit;
			any = true;
		}
	}
	if (v || !any) {
		if (!any && !v && zero)
			sb_printf(sb, "%s", zero);
		else
			sb_printf(sb, "%s%#llx", any ? "|" : "", (unsigned long long)v);
	}
}

static const struct flag_name open_flags[] = {
	F(O_CREAT), F(O_EXCL), F(O_NOCTTY), F(O_TRUNC), F(O_APPEND), F(O_NONBLOCK),
	F(O_SYNC), F(O_DSYNC), F(O_ASYNC), F(O_DIRECT), F(O_LARGEFILE), F(O_DIRECTORY),
	F(O_NOFOLLOW), F(O_NOATIME), F(O_CLOEXEC), F(O_PATH),
};

static void sb_open_flags(struct sbuf *sb, uint64_t v)
{
	static const char *acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
	sb_printf(sb, "%s", acc[v & O_ACCMODE]);
	v &= ~(uint64_t)O_ACCMODE;
	if ((v & O_TMPFILE) == O_TMPFILE) {
		sb_printf(sb, "|O_TMPFILE");
		v &= ~(uint64_t)O_TMPFILE;
	}
	if (v) {
		sb_printf(sb, "|");
		sb_flags(sb, v, open_flags, sizeof(open_flags) / sizeof(open_flags[0]), NULL);
	}
}

static const struct flag_name prot_flags[] = {
	F(PROT_READ), F(PROT_WRITE), F(PROT_EXEC), F(PROT_GROWSDOWN), F(PROT_GROWSUP),
};

static const struct flag_name map_flags[] = {
	F(MAP_SHARED_VALIDATE), F(MAP_SHARED), F(MAP_PRIVATE), F(MAP_FIXED), F(MAP_ANONYMOUS),
	F(MAP_32BIT), F(MAP_GROWSDOWN), F(MAP_DENYWRITE), F(MAP_EXECUTABLE), F(MAP_LOCKED),
	F(MAP_NORESERVE), F(MAP_POPULATE), F(MAP_NONBLOCK), F(MAP_STACK), F(MAP_HUGETLB),
	F(MAP_SYNC), F(MAP_FIXED_NOREPLACE),
};

static const struct flag_name clone_flags[] = {
	F(CLONE_VM), F(CLONE_FS), F(CLONE_FILES), F(CLONE_SIGHAND), F(CLONE_PIDFD),
	F(CLONE_PTRACE), F(CLONE_VFORK), F(CLONE_PARENT), F(CLONE_THREAD), F(CLONE_NEWNS),
	F(CLONE_SYSVSEM), F(CLONE_SETTLS), F(CLONE_PARENT_SETTID), F(CLONE_CHILD_CLEARTID),
	F(CLONE_DETACHED), F(CLONE_UNTRACED), F(CLONE_CHILD_SETTID), F(CLONE_NEWCGROUP),
	F(CLONE_NEWUTS), F(CLONE_NEWIPC), F(CLONE_NEWUSER), F(CLONE_NEWPID), F(CLONE_NEWNET),
	F(CLONE_IO),
};

static const char *const sig_names[] = {
	[SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
	[SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE",
	[SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
	[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
	[SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
	[SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP", [SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU",
	[SIGURG] = "SIGURG", [SIGXCPU] = "SIGXCPU", [SIGXFSZ] = "SIGXFSZ",
	[SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH",
	[SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR", [SIGSYS] = "SIGSYS",
};

const char *strace_signame(int signo)
{
	static const char *const rt[] = {
		"SIGRT_0", "SIGRT_1", "SIGRTMIN", "SIGRT_3", "SIGRT_4", "SIGRT_5", "SIGRT_6",
		"SIGRT_7", "SIGRT_8", "SIGRT_9", "SIGRT_10", "SIGRT_11", "SIGRT_12", "SIGRT_13",
		"SIGRT_14", "SIGRT_15", "SIGRT_16", "SIGRT_17", "SIGRT_18", "SIGRT_19", "SIGRT_20",
		"SIGRT_21", "SIGRT_22", "SIGRT_23", "SIGRT_24", "SIGRT_25", "SIGRT_26", "SIGRT_27",
		"SIGRT_28", "SIGRT_29", "SIGRT_30", "SIGRT_31", "SIGRTMAX",
	};
	if (signo > 0 && signo < (int)(sizeof(sig_names) / sizeof(sig_names[0])) && sig_names[signo])
		return sig_names[signo];
	if (signo >= 32 && signo <= 64)
		return rt[signo - 32];
	return "SIG???";
}

/* A quoted, escaped, truncated string or buffer, as strace prints it. */
static void sb_quoted(struct sbuf *sb, const unsigned char *s, size_t len, bool more)
{
	sb_printf(sb, "\"");
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = s[i];
		switch (ch) {
		case '"': sb_printf(sb, "\\\""); break;
		case '\\': sb_printf(sb, "\\\\"); break;
		case '\n': sb_printf(sb, "\\n"); break;
		case '\t': sb_printf(sb, "\\t"); break;
		case '\r': sb_printf(sb, "\\r"); break;
		case '\v': sb_printf(sb, "\\v"); break;
		case '\f': sb_printf(sb, "\\f"); break;
		default:
			if (ch >= 0x20 && ch < 0x7f)
				sb_printf(sb, "%c", ch);
			else if (i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '7')
				sb_printf(sb, "\\%03o", ch);
			else
				sb_printf(sb, "\\%o", ch);
		}
	}
	sb_printf(sb, "\"%s", more ? "..." : "");
}

static void sb_pointer(struct sbuf *sb, uint64_t p)
{
	if (p)
		sb_printf(sb, "%#llx", (unsigned long long)p);
	else
		sb_printf(sb, "NULL");
}

/* A NUL-terminated string of at most max bytes (more: "..." after it). */
static void sb_string_max(struct sbuf *sb, uint64_t p, size_t max)
{
	char buf[PATH_MAX_STR + 2];
	if (!p) {
		sb_printf(sb, "NULL");
		return;
	}
	long n = guest_read_str(buf, p, max + 2);
	if (n == -EFAULT) {
		sb_pointer(sb, p);
		return;
	}
	bool more = n < 0 || (size_t)n > max;
	sb_quoted(sb, (unsigned char *)buf, more ? max : (size_t)n, more);
}

static void sb_string(struct sbuf *sb, uint64_t p)
{
	sb_string_max(sb, p, PATH_MAX_STR);
}

static void sb_buffer(struct sbuf *sb, uint64_t p, uint64_t len)
{
	unsigned char buf[STR_MAX];
	size_t n = len < STR_MAX ? len : STR_MAX;
	if (guest_read(buf, p, n) < 0) {
		sb_pointer(sb, p);
		return;
	}
	sb_quoted(sb, buf, n, len > STR_MAX);
}

static void sb_array(struct sbuf *sb, uint64_t p, bool strings)
{
	uint64_t e;
	size_t i;
	if (!p) {
		sb_printf(sb, "NULL");
		return;
	}
	if (!strings) {
		for (i = 0; i < 4096 && guest_read(&e, p + i * 8, 8) == 0 && e; i++)
			;
		sb_printf(sb, "%#llx /* %zu vars */", (unsigned long long)p, i);
		return;
	}
	sb_printf(sb, "[");
	for (i = 0;; i++) {
		if (guest_read(&e, p + i * 8, 8) < 0) {
			sb_printf(sb, "%s%#llx", i ? ", " : "", (unsigned long long)(p + i * 8));
			break;
		}
		if (!e)
			break;
		if (i == ARRAY_MAX) {
			sb_printf(sb, ", ...");
			break;
		}
		if (i)
			sb_printf(sb, ", ");
		sb_string_max(sb, e, STR_MAX);
	}
	sb_printf(sb, "]");
}

static const struct flag_name access_modes[] = { F(R_OK), F(W_OK), F(X_OK) };

static const struct flag_name at_flags[] = {
	F(AT_SYMLINK_NOFOLLOW), F(AT_REMOVEDIR), F(AT_SYMLINK_FOLLOW), F(AT_NO_AUTOMOUNT),
	F(AT_EMPTY_PATH), F(AT_STATX_FORCE_SYNC), F(AT_STATX_DONT_SYNC), F(AT_RECURSIVE),
};

static const struct flag_name grnd_flags[] = { F(GRND_NONBLOCK), F(GRND_RANDOM), F(GRND_INSECURE) };

static const struct flag_name sa_flags[] = {
	F(SA_NOCLDSTOP), F(SA_NOCLDWAIT), F(SA_SIGINFO), { 0x04000000, "SA_RESTORER" },
	F(SA_ONSTACK), F(SA_RESTART), F(SA_NODEFER), F(SA_RESETHAND),
};

static const struct flag_name sock_type_flags[] = { F(SOCK_NONBLOCK), F(SOCK_CLOEXEC) };

/* name of v in a table of names indexed by value, or v as a number */
static void sb_enum(struct sbuf *sb, uint64_t v, const char *const *names, size_t n)
{
	if (v < n && names[v])
		sb_printf(sb, "%s", names[v]);
	else
		sb_printf(sb, "%#llx", (unsigned long long)v);
}
#define ENUM(sb, v, t) sb_enum(sb, v, t, sizeof(t) / sizeof(t[0]))

static const char *const rlimit_names[] = {
	[RLIMIT_CPU] = "RLIMIT_CPU", [RLIMIT_FSIZE] = "RLIMIT_FSIZE", [RLIMIT_DATA] = "RLIMIT_DATA",
	[RLIMIT_STACK] = "RLIMIT_STACK", [RLIMIT_CORE] = "RLIMIT_CORE", [RLIMIT_RSS] = "RLIMIT_RSS",
	[RLIMIT_NPROC] = "RLIMIT_NPROC", [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
	[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK", [RLIMIT_AS] = "RLIMIT_AS", [RLIMIT_LOCKS] = "RLIMIT_LOCKS",
	[RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING", [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE",
	[RLIMIT_NICE] = "RLIMIT_NICE", [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO", [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

static const char *const how_names[] = { "SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK" };

static const char *const clock_names[] = {
	[CLOCK_REALTIME] = "CLOCK_REALTIME", [CLOCK_MONOTONIC] = "CLOCK_MONOTONIC",
	[CLOCK_PROCESS_CPUTIME_ID] = "CLOCK_PROCESS_CPUTIME_ID",
	[CLOCK_THREAD_CPUTIME_ID] = "CLOCK_THREAD_CPUTIME_ID",
	[CLOCK_MONOTONIC_RAW] = "CLOCK_MONOTONIC_RAW", [CLOCK_REALTIME_COARSE] = "CLOCK_REALTIME_COARSE",
	[CLOCK_MONOTONIC_COARSE] = "CLOCK_MONOTONIC_COARSE", [CLOCK_BOOTTIME] = "CLOCK_BOOTTIME",
	[CLOCK_REALTIME_ALARM] = "CLOCK_REALTIME_ALARM", [CLOCK_BOOTTIME_ALARM] = "CLOCK_BOOTTIME_ALARM",
	[CLOCK_TAI] = "CLOCK_TAI",
};

static const char *const whence_names[] = { "SEEK_SET", "SEEK_CUR", "SEEK_END", "SEEK_DATA", "SEEK_HOLE" };

static const char *const fcntl_names[] = {
	[F_DUPFD] = "F_DUPFD", [F_GETFD] = "F_GETFD", [F_SETFD] = "F_SETFD", [F_GETFL] = "F_GETFL",
	[F_SETFL] = "F_SETFL", [F_GETLK] = "F_GETLK", [F_SETLK] = "F_SETLK", [F_SETLKW] = "F_SETLKW",
	[F_SETOWN] = "F_SETOWN", [F_GETOWN] = "F_GETOWN", [F_SETSIG] = "F_SETSIG", [F_GETSIG] = "F_GETSIG",
	[F_OFD_GETLK] = "F_OFD_GETLK", [F_OFD_SETLK] = "F_OFD_SETLK", [F_OFD_SETLKW] = "F_OFD_SETLKW",
	[F_SETLEASE] = "F_SETLEASE", [F_GETLEASE] = "F_GETLEASE", [F_NOTIFY] = "F_NOTIFY",
	[F_DUPFD_CLOEXEC] = "F_DUPFD_CLOEXEC", [F_SETPIPE_SZ] = "F_SETPIPE_SZ",
	[F_GETPIPE_SZ] = "F_GETPIPE_SZ", [F_ADD_SEALS] = "F_ADD_SEALS", [F_GET_SEALS] = "F_GET_SEALS",
};

static const char *const domain_names[] = {
	[AF_UNSPEC] = "AF_UNSPEC", [AF_UNIX] = "AF_UNIX", [AF_INET] = "AF_INET",
	[AF_INET6] = "AF_INET6", [AF_NETLINK] = "AF_NETLINK", [AF_PACKET] = "AF_PACKET",
	[AF_ALG] = "AF_ALG", [AF_VSOCK] = "AF_VSOCK", [AF_CAN] = "AF_CAN", [AF_BLUETOOTH] = "AF_BLUETOOTH",
	[AF_TIPC] = "AF_TIPC", [AF_RDS] = "AF_RDS",
};

static const char *const socktype_names[] = {
	[SOCK_STREAM] = "SOCK_STREAM", [SOCK_DGRAM] = "SOCK_DGRAM", [SOCK_RAW] = "SOCK_RAW",
	[SOCK_RDM] = "SOCK_RDM", [SOCK_SEQPACKET] = "SOCK_SEQPACKET", [SOCK_PACKET] = "SOCK_PACKET",
};

static const char *const futex_names[] = {
	[FUTEX_WAIT] = "FUTEX_WAIT", [FUTEX_WAKE] = "FUTEX_WAKE", [FUTEX_FD] = "FUTEX_FD",
	[FUTEX_REQUEUE] = "FUTEX_REQUEUE", [FUTEX_CMP_REQUEUE] = "FUTEX_CMP_REQUEUE",
	[FUTEX_WAKE_OP] = "FUTEX_WAKE_OP", [FUTEX_LOCK_PI] = "FUTEX_LOCK_PI",
	[FUTEX_UNLOCK_PI] = "FUTEX_UNLOCK_PI", [FUTEX_TRYLOCK_PI] = "FUTEX_TRYLOCK_PI",
	[FUTEX_WAIT_BITSET] = "FUTEX_WAIT_BITSET", [FUTEX_WAKE_BITSET] = "FUTEX_WAKE_BITSET",
	[FUTEX_WAIT_REQUEUE_PI] = "FUTEX_WAIT_REQUEUE_PI",
	[FUTEX_CMP_REQUEUE_PI] = "FUTEX_CMP_REQUEUE_PI", [FUTEX_LOCK_PI2] = "FUTEX_LOCK_PI2",
};

/* How many arguments strace shows for a futex op (the rest are unused). */
static int futex_nargs(uint64_t op)
{
	switch (op & FUTEX_CMD_MASK) {
	case FUTEX_WAKE: case FUTEX_FD: case FUTEX_UNLOCK_PI: case FUTEX_TRYLOCK_PI: return 3;
	case FUTEX_WAIT: case FUTEX_LOCK_PI: case FUTEX_LOCK_PI2: return 4;
	case FUTEX_REQUEUE: return 5;
	default: return 6;
	}
}

/* fcntl commands that take no third argument: strace leaves it out. */
static bool fcntl_noarg(uint64_t cmd)
{
	switch (cmd) {
	case F_GETFD: case F_GETFL: case F_GETOWN: case F_GETSIG: case F_GETLEASE:
	case F_GETPIPE_SZ: case F_GET_SEALS:
		return true;
	}
	return false;
}

static void sb_futex_op(struct sbuf *sb, uint64_t v)
{
	ENUM(sb, v & FUTEX_CMD_MASK, futex_names);
	if (v & FUTEX_PRIVATE_FLAG)
		sb_printf(sb, "_PRIVATE");
	if (v & FUTEX_CLOCK_REALTIME)
		sb_printf(sb, "|FUTEX_CLOCK_REALTIME");
}

static void sb_ioctl_req(struct sbuf *sb, uint64_t v)
{
	static const struct { uint64_t req; const char *name; } reqs[] = {
		F(TCGETS), F(TCSETS), F(TCSETSW), F(TCSETSF), F(TIOCGWINSZ), F(TIOCSWINSZ),
		F(TIOCGPGRP), F(TIOCSPGRP), F(FIONREAD), F(FIONBIO), F(FIOCLEX), F(FIONCLEX),
		F(TIOCSCTTY), F(TIOCGPTN), F(TIOCSPTLCK),
	};
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		if (reqs[i].req == (uint32_t)v) {
			sb_printf(sb, "%s", reqs[i].name);
			return;
		}
	sb_printf(sb, "%#llx", (unsigned long long)v);
}

static void sb_stat(struct sbuf *sb, uint64_t p)
{
	static const char *const types[] = {
		[S_IFREG >> 12] = "S_IFREG", [S_IFDIR >> 12] = "S_IFDIR", [S_IFCHR >> 12] = "S_IFCHR",
		[S_IFBLK >> 12] = "S_IFBLK", [S_IFIFO >> 12] = "S_IFIFO", [S_IFLNK >> 12] = "S_IFLNK",
		[S_IFSOCK >> 12] = "S_IFSOCK",
	};
	struct stat st;
	if (guest_read(&st, p, sizeof(st)) < 0) {
		sb_pointer(sb, p);
		return;
	}
	const char *type = types[(st.st_mode & S_IFMT) >> 12];
	sb_printf(sb, "{st_mode=%s|%#04o, ", type ? type : "S_IF???", st.st_mode & 07777);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		sb_printf(sb, "st_rdev=makedev(%#x, %#x), ...}", major(st.st_rdev), minor(st.st_rdev));
	else
		sb_printf(sb, "st_size=%lld, ...}", (long long)st.st_size);
}

static void sb_rlimit_value(struct sbuf *sb, uint64_t v)
{
	if (v == RLIM64_INFINITY)
		sb_printf(sb, "RLIM64_INFINITY");
	else if (v && v % 1024 == 0)
		sb_printf(sb, "%llu*1024", (unsigned long long)(v / 1024));
	else
		sb_printf(sb, "%llu", (unsigned long long)v);
}

static void sb_rlimit(struct sbuf *sb, uint64_t p)
{
	uint64_t r[2];
	if (!p || guest_read(r, p, sizeof(r)) < 0) {
		sb_pointer(sb, p);
		return;
	}
	sb_printf(sb, "{rlim_cur=");
	sb_rlimit_value(sb, r[0]);
	sb_printf(sb, ", rlim_max=");
	sb_rlimit_value(sb, r[1]);
	sb_printf(sb, "}");
}

/* A 64-bit signal set as strace prints it: [INT TERM], or ~[...] when more
 * than half the signals are in it. */
static void sb_sigset_value(struct sbuf *sb, uint64_t set)
{
	bool inv = __builtin_popcountll(set) > 32;
	if (inv)
		set = ~set;
	sb_printf(sb, "%s[", inv ? "~" : "");
	bool first = true;
	for (int s = 1; s <= 64; s++) {
		if (!(set & (1ull << (s - 1))))
			continue;
		const char *n = strace_signame(s);
		sb_printf(sb, "%s%s", first ? "" : " ", strncmp(n, "SIG", 3) ? n : n + 3);
		first = false;
	}
	sb_printf(sb, "]");
}

static void sb_sigset(struct sbuf *sb, uint64_t p)
{
	uint64_t set;
	if (!p || guest_read(&set, p, 8) < 0) {
		sb_pointer(sb, p);
		return;
	}
	sb_sigset_value(sb, set);
}

/* The kernel's struct sigaction on x86-64: handler, flags, restorer, mask. */
static void sb_sigaction(struct sbuf *sb, uint64_t p)
{
	uint64_t k[4];
	if (!p || guest_read(k, p, sizeof(k)) < 0) {
		sb_pointer(sb, p);
		return;
	}
	sb_printf(sb, "{sa_handler=");
	if (k[0] == (uint64_t)(uintptr_t)SIG_DFL)
		sb_printf(sb, "SIG_DFL");
	else if (k[0] == (uint64_t)(uintptr_t)SIG_IGN)
		sb_printf(sb, "SIG_IGN");
	else
		sb_printf(sb, "%#llx", (unsigned long long)k[0]);
	sb_printf(sb, ", sa_mask=");
	sb_sigset_value(sb, k[3]);
	sb_printf(sb, ", sa_flags=");
	sb_flags(sb, k[1], sa_flags, sizeof(sa_flags) / sizeof(sa_flags[0]), "0");
	if (k[1] & 0x04000000)
		sb_printf(sb, ", sa_restorer=%#llx", (unsigned long long)k[2]);
	sb_printf(sb, "}");
}

static void sb_timespec(struct sbuf *sb, uint64_t p)
{
	int64_t ts[2];
	if (!p || guest_read(ts, p, sizeof(ts)) < 0) {
		sb_pointer(sb, p);
		return;
	}
	sb_printf(sb, "{tv_sec=%lld, tv_nsec=%lld}", (long long)ts[0], (long long)ts[1]);
}

/* clone(flags, stack, parent_tid, child_tid, tls) as strace names them,
 * with the pointers only the flags make the kernel use. */
static void sb_clone(struct sbuf *sb, const struct sys_call *c)
{
	uint64_t flags = c->a[0];
	sb_printf(sb, "child_stack=");
	sb_pointer(sb, c->a[1]);
	sb_printf(sb, ", flags=");
	sb_flags(sb, flags & ~0xffull, clone_flags, sizeof(clone_flags) / sizeof(clone_flags[0]), NULL);
	if (flags & 0xff)
		sb_printf(sb, "%s%s", flags & ~0xffull ? "|" : "", strace_signame((int)(flags & 0xff)));
	else if (!(flags & ~0xffull))
		sb_printf(sb, "0");
	if (flags & (CLONE_PARENT_SETTID | CLONE_PIDFD))
		sb_printf(sb, ", parent_tid=%#llx", (unsigned long long)c->a[2]);
	if (flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID))
		sb_printf(sb, ", child_tidptr=%#llx", (unsigned long long)c->a[3]);
	if (flags & CLONE_SETTLS)
		sb_printf(sb, ", tls=%#llx", (unsigned long long)c->a[4]);
}

/* A wait status as strace shows it: [{WIFEXITED(s) && WEXITSTATUS(s) == 7}]. */
static void sb_wait_status(struct sbuf *sb, uint64_t p)
{
	int st;
	if (!p || guest_read(&st, p, 4) < 0) {
		sb_pointer(sb, p);
		return;
	}
	if (WIFEXITED(st))
		sb_printf(sb, "[{WIFEXITED(s) && WEXITSTATUS(s) == %d}]", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		sb_printf(sb, "[{WIFSIGNALED(s) && WTERMSIG(s) == %s%s}]", strace_signame(WTERMSIG(st)),
			  WCOREDUMP(st) ? " && WCOREDUMP(s)" : "");
	else if (WIFSTOPPED(st))
		sb_printf(sb, "[{WIFSTOPPED(s) && WSTOPSIG(s) == %s}]", strace_signame(WSTOPSIG(st)));
	else if (WIFCONTINUED(st))
		sb_printf(sb, "[{WIFCONTINUED(s)}]");
	else
		sb_printf(sb, "[%#x]", st);
}

static const struct flag_name wait_flags[] = {
	F(WNOHANG), F(WUNTRACED), F(WCONTINUED), F(__WNOTHREAD), F(__WALL), F(__WCLONE),
};

/* A pointer to a struct: decoded when the call has returned successfully
 * (it may be an output), its address otherwise. */
static bool struct_ready(int64_t ret, bool has_ret)
{
	return has_ret && !sys_is_error(ret);
}

static void sb_arg(struct sbuf *sb, char f, const struct sys_call *c, int i, int64_t ret,
		   bool has_ret)
{
	uint64_t v = c->a[i];
	switch (f) {
	case 'd': sb_printf(sb, "%d", (int)v); break;
	case 'l': sb_printf(sb, "%lld", (long long)v); break;
	case 'u': sb_printf(sb, "%llu", (unsigned long long)v); break;
	case 'o': case 'm': sb_printf(sb, "%#03llo", (unsigned long long)v); break;
	case 'p': sb_pointer(sb, v); break;
	case 'f': sb_printf(sb, "%d", (int)v); break;
	case 'a':
		if ((int)v == AT_FDCWD)
			sb_printf(sb, "AT_FDCWD");
		else
			sb_printf(sb, "%d", (int)v);
		break;
	case 's': sb_string(sb, v); break;
	case 'S':
		if (v)
			sb_printf(sb, "%s", strace_signame((int)v));
		else
			sb_printf(sb, "0");
		break;
	case 'b': sb_buffer(sb, v, i < 5 ? c->a[i + 1] : 0); break;
	case 'B':
		if (has_ret && !sys_is_error(ret))
			sb_buffer(sb, v, (uint64_t)ret);
		else
			sb_pointer(sb, v);
		break;
	case 'O': sb_open_flags(sb, v); break;
	case 'V':		/* O_CLOEXEC, O_NONBLOCK, ... without an access mode */
		sb_flags(sb, v, open_flags, sizeof(open_flags) / sizeof(open_flags[0]), "0");
		break;
	case 'P': sb_flags(sb, v, prot_flags, sizeof(prot_flags) / sizeof(prot_flags[0]), "PROT_NONE"); break;
	case 'M': sb_flags(sb, v, map_flags, sizeof(map_flags) / sizeof(map_flags[0]), "0"); break;
	case 'C':
		sb_flags(sb, v & ~0xffull, clone_flags, sizeof(clone_flags) / sizeof(clone_flags[0]), "0");
		if (v & 0xff)
			sb_printf(sb, "|%s", strace_signame((int)(v & 0xff)));
		break;
	case 'A':
		if (v == F_OK)
			sb_printf(sb, "F_OK");
		else
			sb_flags(sb, v, access_modes, 3, NULL);
		break;
	case 'F': sb_flags(sb, v, at_flags, sizeof(at_flags) / sizeof(at_flags[0]), "0"); break;
	case 'G': sb_flags(sb, v, grnd_flags, sizeof(grnd_flags) / sizeof(grnd_flags[0]), "0"); break;
	case 'T':
		if (struct_ready(ret, has_ret))
			sb_stat(sb, v);
		else
			sb_pointer(sb, v);
		break;
	case 'R':
		switch (v) {
		case ARCH_SET_GS: sb_printf(sb, "ARCH_SET_GS"); break;
		case ARCH_SET_FS: sb_printf(sb, "ARCH_SET_FS"); break;
		case ARCH_GET_FS: sb_printf(sb, "ARCH_GET_FS"); break;
		case ARCH_GET_GS: sb_printf(sb, "ARCH_GET_GS"); break;
		case ARCH_GET_CPUID: sb_printf(sb, "ARCH_GET_CPUID"); break;
		case ARCH_SET_CPUID: sb_printf(sb, "ARCH_SET_CPUID"); break;
		default: sb_printf(sb, "%#llx", (unsigned long long)v); break;
		}
		break;
	case 'r': ENUM(sb, v, rlimit_names); break;
	case 'L':
		if (struct_ready(ret, has_ret))
			sb_rlimit(sb, v);
		else
			sb_pointer(sb, v);
		break;
	case 'H': ENUM(sb, v, how_names); break;
	case 'Q':
		if (struct_ready(ret, has_ret))
			sb_sigset(sb, v);
		else
			sb_pointer(sb, v);
		break;
	case 'K':
		if (struct_ready(ret, has_ret))
			sb_sigaction(sb, v);
		else
			sb_pointer(sb, v);
		break;
	case 'X': sb_futex_op(sb, v); break;
	case 'i': {		/* int[2] the call fills: pipe, socketpair */
		int fds[2];
		if (struct_ready(ret, has_ret) && guest_read(fds, v, sizeof(fds)) == 0)
			sb_printf(sb, "[%d, %d]", fds[0], fds[1]);
		else
			sb_pointer(sb, v);
		break;
	}
	case 'Z':
		if (has_ret && (int64_t)ret > 0)
			sb_wait_status(sb, v);
		else
			sb_pointer(sb, v);
		break;
	case 'U': sb_flags(sb, v, wait_flags, sizeof(wait_flags) / sizeof(wait_flags[0]), "0"); break;
	case 'W': ENUM(sb, v, fcntl_names); break;
	case 'y':		/* fcntl's third argument, by command */
		if (i > 0 && c->a[i - 1] == F_SETFD)
			sb_printf(sb, "%s", v == FD_CLOEXEC ? "FD_CLOEXEC" : v ? "0x1" : "0");
		else if (i > 0 && c->a[i - 1] == F_SETFL)
			sb_open_flags(sb, v);
		else
			sb_printf(sb, "%lld", (long long)v);
		break;
	case 'k': ENUM(sb, v, clock_names); break;
	case 't':
		if (struct_ready(ret, has_ret))
			sb_timespec(sb, v);
		else
			sb_pointer(sb, v);
		break;
	case 'w': ENUM(sb, v, whence_names); break;
	case 'N': ENUM(sb, v, domain_names); break;
	case 'Y':
		ENUM(sb, v & 0xf, socktype_names);
		if (v & ~0xfull) {
			sb_printf(sb, "|");
			sb_flags(sb, v & ~0xfull, sock_type_flags, 2, NULL);
		}
		break;
	case 'I': sb_ioctl_req(sb, v); break;
	case 'v': sb_array(sb, v, true); break;
	case 'e': sb_array(sb, v, false); break;
	default: sb_printf(sb, "%#llx", (unsigned long long)v); break;
	}
}

void strace_call(const struct sys_row *row, const struct sys_call *c, int64_t ret, bool has_ret)
{
	struct sbuf sb = { .n = 0 };
	const char *fmt = row ? row->fmt : "xxxxxx";

	sb_printf(&sb, "%d ", (int)getpid());
	if (row)
		sb_printf(&sb, "%s(", row->name);
	else
		sb_printf(&sb, "syscall_%#lx(", c->nr);
	int nargs = 6;
	if (fmt[0] == 'C') {
		sb_clone(&sb, c);
		nargs = 0;
	}
	for (int i = 0; fmt[i] && i < nargs; i++) {
		if (fmt[i] == 'm' && i > 0 && !(c->a[i - 1] & O_CREAT) &&
		    (c->a[i - 1] & O_TMPFILE) != O_TMPFILE)
			break;
		if (fmt[i] == 'X')
			nargs = futex_nargs(c->a[i]);
		if (fmt[i] == 'W' && fcntl_noarg(c->a[i]))
			nargs = i + 1;
		if (i)
			sb_printf(&sb, ", ");
		sb_arg(&sb, fmt[i], c, i, ret, has_ret);
	}
	sb_printf(&sb, ")");
	/* strace lines the results up at a column (counting the pid). */
	if (sb.n < RESULT_COLUMN - 1)
		sb_printf(&sb, "%*s", (int)(RESULT_COLUMN - 1 - sb.n), "");
	if (!has_ret) {
		sb_printf(&sb, " = ?");
	} else if (sys_is_error(ret)) {
		int e = (int)-ret;
		const char *name = strerrorname_np(e);
		if (name)
			sb_printf(&sb, " = -1 %s (%s)", name, strerror(e));
		else
			sb_printf(&sb, " = -1 errno %d", e);
	} else if (row && (row->flags & SC_RETHEX)) {
		sb_printf(&sb, " = %#llx", (unsigned long long)ret);
	} else {
		sb_printf(&sb, " = %lld", (long long)ret);
	}
	log_printf("%.*s\n", (int)sb.n, sb.b);
}

static const char *si_code_name(int signo, int code)
{
	switch (code) {
	case SI_USER: return "SI_USER";
	case SI_KERNEL: return "SI_KERNEL";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_TIMER: return "SI_TIMER";
	case SI_MESGQ: return "SI_MESGQ";
	case SI_ASYNCIO: return "SI_ASYNCIO";
	case SI_SIGIO: return "SI_SIGIO";
	case SI_TKILL: return "SI_TKILL";
	}
	if (signo == SIGSEGV && code == SEGV_MAPERR)
		return "SEGV_MAPERR";
	if (signo == SIGSEGV && code == SEGV_ACCERR)
		return "SEGV_ACCERR";
	if (signo == SIGCHLD && code == CLD_EXITED)
		return "CLD_EXITED";
	if (signo == SIGCHLD && code == CLD_KILLED)
		return "CLD_KILLED";
	if (signo == SIGCHLD && code == CLD_DUMPED)
		return "CLD_DUMPED";
	return NULL;
}

void strace_signal(int signo, const siginfo_t *si)
{
	struct sbuf sb = { .n = 0 };
	const char *code = si_code_name(signo, si->si_code);

	sb_printf(&sb, "%d --- %s {si_signo=%s, ", (int)getpid(), strace_signame(signo),
		  strace_signame(signo));
	if (code)
		sb_printf(&sb, "si_code=%s", code);
	else
		sb_printf(&sb, "si_code=%d", si->si_code);
	if (signo == SIGSEGV || signo == SIGBUS || signo == SIGILL || signo == SIGFPE ||
	    signo == SIGTRAP) {
		if (si->si_code > 0)
			sb_printf(&sb, ", si_addr=%p", si->si_addr);
		else
			sb_printf(&sb, ", si_pid=%d, si_uid=%u", si->si_pid, si->si_uid);
	} else if (si->si_code <= 0 || signo == SIGCHLD) {
		sb_printf(&sb, ", si_pid=%d, si_uid=%u", si->si_pid, si->si_uid);
		if (signo == SIGCHLD)
			sb_printf(&sb, ", si_status=%d", si->si_status);
	}
	sb_printf(&sb, "} ---");
	log_printf("%.*s\n", (int)sb.n, sb.b);
}
