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
 *   O open flags   P mmap prot   M mmap flags   C clone flags
 *   v argv-style array   e envp-style array (only counted)
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
#include <sys/mman.h>
#include <unistd.h>
#include "linux/linux.h"
#include "linux/syscall.h"
#include "util/log.h"

#define STR_MAX 32		/* strace's default -s */
#define ARRAY_MAX 32

struct sbuf {
	char b[2048];
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

static void sb_string(struct sbuf *sb, uint64_t p)
{
	char buf[STR_MAX + 2];
	if (!p) {
		sb_printf(sb, "NULL");
		return;
	}
	long n = guest_read_str(buf, p, sizeof(buf));
	if (n == -EFAULT) {
		sb_pointer(sb, p);
		return;
	}
	bool more = n < 0 || n > STR_MAX;
	sb_quoted(sb, (unsigned char *)buf, more ? STR_MAX : (size_t)n, more);
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
		sb_string(sb, e);
	}
	sb_printf(sb, "]");
}

static void sb_arg(struct sbuf *sb, char f, const struct sys_call *c, int i, int64_t ret,
		   bool has_ret)
{
	uint64_t v = c->a[i];
	switch (f) {
	case 'd': sb_printf(sb, "%d", (int)v); break;
	case 'l': sb_printf(sb, "%lld", (long long)v); break;
	case 'u': sb_printf(sb, "%llu", (unsigned long long)v); break;
	case 'o': sb_printf(sb, "%#llo", (unsigned long long)v); break;
	case 'p': sb_pointer(sb, v); break;
	case 'f': sb_printf(sb, "%d", (int)v); break;
	case 'a':
		if ((int)v == AT_FDCWD)
			sb_printf(sb, "AT_FDCWD");
		else
			sb_printf(sb, "%d", (int)v);
		break;
	case 's': sb_string(sb, v); break;
	case 'S': sb_printf(sb, "%s", strace_signame((int)v)); break;
	case 'b': sb_buffer(sb, v, i < 5 ? c->a[i + 1] : 0); break;
	case 'B':
		if (has_ret && !sys_is_error(ret))
			sb_buffer(sb, v, (uint64_t)ret);
		else
			sb_pointer(sb, v);
		break;
	case 'O': sb_open_flags(sb, v); break;
	case 'P': sb_flags(sb, v, prot_flags, sizeof(prot_flags) / sizeof(prot_flags[0]), "PROT_NONE"); break;
	case 'M': sb_flags(sb, v, map_flags, sizeof(map_flags) / sizeof(map_flags[0]), "0"); break;
	case 'C':
		sb_flags(sb, v & ~0xffull, clone_flags, sizeof(clone_flags) / sizeof(clone_flags[0]), "0");
		if (v & 0xff)
			sb_printf(sb, "|%s", strace_signame((int)(v & 0xff)));
		break;
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
	for (int i = 0; fmt[i] && i < 6; i++) {
		if (i)
			sb_printf(&sb, ", ");
		sb_arg(&sb, fmt[i], c, i, ret, has_ret);
	}
	sb_printf(&sb, ")");
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
