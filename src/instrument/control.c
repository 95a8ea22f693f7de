/*
 * The control channel: `-control PATH` listens on a Unix stream socket;
 * each connection sends one-line commands and reads one-line answers that
 * begin "ok" or "error:".  Commands act while the guest keeps running:
 *
 *   status                   ok pid=N threads=N tbs=N cov=on|off blocks=N
 *   cov start|stop|clear     start/stop recording coverage, forget what was hit
 *   cov write FILE [FORMAT]  write the coverage recorded so far
 *   plugin list              ok NAME=on|off ...
 *   plugin enable|disable NAME
 *   dump ADDR LEN FILE       guest memory [ADDR, ADDR+LEN) to FILE
 *
 * The cov commands act on control_cov (user mode's recorder by default;
 * loom-system installs its physical bitmap), and the environment may add
 * commands (control_env_command: loom-system's pmemsave and memsave).
 *
 * The listener is a host thread of loom's with every signal blocked, so it
 * never takes the guest's signals.  Instrumentation changes flush the code
 * cache from this thread (which is no guest cpu, so it may stop them all).
 *
 * Only loom's owner may send commands: they write files with loom's
 * privileges (often root's, in a fuzzing container).  The socket is
 * created mode 0600 whatever the umask, and every connection's peer
 * credentials (SO_PEERCRED) are checked: loom's own effective uid or root
 * gets in; anyone else gets one "error:" line, the connection is closed,
 * and loom logs one line naming the refused uid and pid.
 *
 * Invariant: a malformed or failing command gets an "error:" line and
 * changes nothing; the connection stays usable.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "instrument/control.h"
#include "instrument/cov.h"
#include "instrument/covfile.h"
#include "exec/guest-mem.h"
#include "util/log.h"
#include "util/ownfd.h"

/* User mode's block recorder, as the cov commands see it. */
static int cov_write_in(const char *path, const char *format, char *err, size_t errsz,
			size_t *n)
{
	if (format && cov_format_parse(format) != cov_opts.format) {
		snprintf(err, errsz, "cov write %s %s: loom writes the -cov-format (%s) only",
			 path, format, cov_format_name(cov_opts.format));
		return -1;
	}
	return cov_write_file(path, err, errsz, n);
}

static bool cov_set_running_in(bool on)
{
	cov_set_running(on);
	return true;
}

struct control_cov control_cov = {
	.running = cov_running, .set_running = cov_set_running_in, .clear = cov_forget_hits,
	.count = cov_blocks_hit, .unit = "blocks", .write = cov_write_in,
};
bool (*control_env_command)(int argc, char **argv, char *reply, size_t len);
const char *control_env_help;

static int listen_fd = -1;
static char *socket_path;
static pid_t owner;


static void reply(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(FILE *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

/* `dump`'s file, written through one of loom's descriptors: the guest
 * runs meanwhile, and must not see it or lose the number to it. */
static int dump_to_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	FILE *f = ownfd_fdopen(fd, "w");
	if (!f)
		return -1;
	bool ok = fwrite(buf, 1, len, f) == len;
	int e = errno;
	if (fclose(f) || !ok) {
		errno = ok ? errno : e;
		return -1;
	}
	return 0;
}

static void do_command(char *line, FILE *out)
{
	char *argv[8];
	int argc = 0;
	for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t && argc < 8;
	     t = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = t;
	if (!argc) {
		reply(out, "error: empty command");
		return;
	}
	const char *cmd = argv[0], *sub = argc > 1 ? argv[1] : "";
	char err[512];

	if (!strcmp(cmd, "status") && argc == 1) {
		reply(out, "ok pid=%d threads=%d tbs=%" PRIu64 " cov=%s blocks=%zu", (int)getpid(),
		      instrument_env.thread_count(), exec_stats.tbs_translated,
		      control_cov.running() ? "on" : "off", control_cov.count());
	} else if (!strcmp(cmd, "cov") && argc == 2 && !strcmp(sub, "start")) {
		if (control_cov.set_running(true))
			reply(out, "ok coverage on");
		else
			reply(out, "error: nothing to record coverage into (loom-system: "
				   "-cov-bitmap phys:START-END)");
	} else if (!strcmp(cmd, "cov") && argc == 2 && !strcmp(sub, "stop")) {
		control_cov.set_running(false);
		reply(out, "ok coverage off");
	} else if (!strcmp(cmd, "cov") && argc == 2 && !strcmp(sub, "clear")) {
		control_cov.clear();
		reply(out, "ok coverage cleared");
	} else if (!strcmp(cmd, "cov") && (argc == 3 || argc == 4) && !strcmp(sub, "write")) {
		size_t n = 0;
		if (control_cov.write(argv[2], argc == 4 ? argv[3] : NULL, err, sizeof(err), &n) < 0)
			reply(out, "error: %s", err);
		else
			reply(out, "ok %zu %s written to %s", n, control_cov.unit, argv[2]);
	} else if (!strcmp(cmd, "plugin") && argc == 2 && !strcmp(sub, "list")) {
		char buf[4096];
		size_t o = snprintf(buf, sizeof(buf), "ok");
		for (int i = 0; i < instrument_plugin_count() && o < sizeof(buf); i++)
			o += snprintf(buf + o, sizeof(buf) - o, " %s=%s", instrument_plugin_name(i),
				      instrument_plugin_enabled(i) ? "on" : "off");
		reply(out, "%s", buf);
	} else if (!strcmp(cmd, "plugin") && argc == 3 &&
		   (!strcmp(sub, "enable") || !strcmp(sub, "disable"))) {
		if (instrument_set_enabled_by_name(argv[2], sub[0] == 'e'))
			reply(out, "ok %s %sd", argv[2], sub);
		else
			reply(out, "error: no plugin named '%s' (plugin list shows them)", argv[2]);
	} else if (!strcmp(cmd, "dump") && argc == 4) {
		char *end1, *end2;
		errno = 0;
		uint64_t addr = strtoull(argv[1], &end1, 0);
		uint64_t len = strtoull(argv[2], &end2, 0);
		if (errno || *end1 || *end2 || !len || len > (1ull << 32)) {
			reply(out, "error: dump ADDR LEN FILE: bad address or length");
			return;
		}
		uint8_t *buf = malloc(len);
		if (!buf) {
			reply(out, "error: out of memory");
			return;
		}
		if (guest_mem_read(NULL, buf, addr, len) < 0) {
			reply(out, "error: guest memory [0x%" PRIx64 ", 0x%" PRIx64 ") is not readable",
			      addr, addr + len);
		} else {
			if (dump_to_file(argv[3], buf, len) < 0) {
				reply(out, "error: %s: %s", argv[3], strerror(errno));
			} else {
				reply(out, "ok %" PRIu64 " bytes written to %s", len, argv[3]);
			}
		}
		free(buf);
	} else if (control_env_command && control_env_command(argc, argv, err, sizeof(err))) {
		reply(out, "%s", err);
	} else {
		reply(out, "error: unknown command '%s' (status, cov start|stop|clear|write FILE "
			   "[FORMAT], plugin list|enable NAME|disable NAME, dump ADDR LEN FILE%s%s)",
		      cmd, control_env_help ? ", " : "", control_env_help ? control_env_help : "");
	}
}

void control_run(const char *line, FILE *out)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", line);
	do_command(buf, out);
}

/* Whether the peer on fd may send commands; logs the refusal if not. */
static bool control_peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uid_t me = geteuid();
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred)) {
		fprintf(stderr, "%s: -control %s: refused a connection whose credentials "
			"cannot be read: %s\n", log_prog, socket_path, strerror(errno));
		return false;
	}
	if (cred.uid == me || cred.uid == 0)
		return true;
	fprintf(stderr, "%s: -control %s: refused a connection from uid %u (pid %d): "
		"only %s's user (uid %u) or root may connect\n", log_prog, socket_path,
		(unsigned)cred.uid, (int)cred.pid, log_prog, (unsigned)me);
	/* The command is read (for at most a second) before the answer, so
	 * the client's write does not meet a closed socket and it sees why. */
	struct timeval tv = { .tv_sec = 1 };
	char buf[512];
	ssize_t n;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while ((n = read(fd, buf, sizeof(buf))) > 0 && !memchr(buf, '\n', (size_t)n))
		;
	static const char msg[] = "error: permission denied: not loom's user or root\n";
	n = send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL);
	return false;
}

static void *serve(void *arg)
{
	for (;;) {
		/* Wait in poll, not in accept: a blocked accept holds the
		 * lowest free descriptor number reserved for its connection,
		 * and the guest's next open() would get the one after. */
		struct pollfd p = { .fd = listen_fd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
				continue;
			return NULL;
		}
		/* Streams on loom's descriptors (util/ownfd.h): out of the
		 * guest's sight, and following them if a guest's dup2 moves
		 * them while the connection lasts. */
		fd = ownfd_take(fd, NULL, NULL);
		if (!control_peer_allowed(fd)) {
			ownfd_drop(fd);
			close(fd);
			continue;
		}
		int fd_out = fcntl(fd, F_DUPFD_CLOEXEC, fd);
		ownfd_drop(fd);
		FILE *in = ownfd_fdopen(fd, "r");
		FILE *out = ownfd_fdopen(fd_out, "w");
		if (!in || !out) {
			if (in)
				fclose(in);
			if (out)
				fclose(out);
			continue;
		}
		char *line = NULL;
		size_t cap = 0;
		while (getline(&line, &cap, in) > 0)
			do_command(line, out);
		free(line);
		fclose(in);
		fclose(out);
	}
}

void control_start(const char *path)
{
	/* Bound under a temporary name and renamed once listening, so the
	 * socket never exists without accepting connections. */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmp[sizeof(sa.sun_path) + 32];
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	if (strlen(tmp) >= sizeof(sa.sun_path))
		fatal(LOOM_EXIT_USAGE, "-control %s: path too long for a socket", path);
	strcpy(sa.sun_path, tmp);
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
		fatal(LOOM_EXIT_USAGE, "-control %s: exists and is not a socket", path);
	unlink(tmp);
	/* Owner-only from its first moment: bind creates the file with the
	 * umask's mode, so the umask is tightened around it (no other thread
	 * runs yet), and chmod makes it 0600 before anyone can know the name. */
	socket_path = strdup(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old_umask = umask(0177);
	int bound = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old_umask);
	errno = e;
	if (bound < 0 || chmod(tmp, 0600) < 0 || listen(fd, 8) < 0 ||
	    rename(tmp, path) < 0) {	/* replaces a stale socket of an earlier run */
		e = errno;
		unlink(tmp);
		fatal(LOOM_EXIT_USAGE, "-control %s: %s", path, strerror(e));
	}
	listen_fd = ownfd_take(fd, &listen_fd, NULL);
	/* Non-blocking: a connection that poll saw may be gone by the time
	 * accept runs, and accept must not then wait (see serve). */
	fcntl(listen_fd, F_SETFL, O_NONBLOCK);

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t th;
	e = pthread_create(&th, NULL, serve, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		fatal(LOOM_EXIT_USAGE, "-control %s: cannot start its thread: %s", path, strerror(e));
	pthread_detach(th);
	owner = getpid();
}

void control_finish(void)
{
	if (socket_path && getpid() == owner)
		unlink(socket_path);
}
