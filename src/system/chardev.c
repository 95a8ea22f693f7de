/*
 * Character backends (chardev.h).  Each backend is an input fd (or -1), an
 * output fd (or -1) and, for a listening socket, the listener.  The open
 * backends are kept in a small table so the machine loop can poll them all.
 *
 * stdio puts the terminal in raw mode (no echo, no line editing, no CR/LF
 * translation on input; output post-processing and signal keys are kept so
 * Ctrl-C still reaches loom) only when stdin is a terminal, and an atexit
 * handler restores it however loom exits.
 */
#include "system/chardev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "util/log.h"

#define CHARDEV_MAX 8

enum chardev_kind { CD_STDIO, CD_FILE, CD_UNIX_SERVER, CD_UNIX_CLIENT, CD_NULL };

struct chardev {
	enum chardev_kind kind;
	int in_fd, out_fd;	/* for sockets both are the connection */
	int listen_fd;		/* CD_UNIX_SERVER */
	char *path;
	size_t (*can_receive)(void *opaque);
	void (*receive)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

static struct chardev *chardevs[CHARDEV_MAX];

static struct {
	bool saved;
	struct termios orig;
} tty;

static void tty_restore(void)
{
	if (tty.saved) {
		tcsetattr(0, TCSANOW, &tty.orig);
		tty.saved = false;
	}
}

static void tty_raw(void)
{
	static bool atexit_done;
	struct termios t;

	if (tty.saved || !isatty(0) || tcgetattr(0, &tty.orig) < 0)
		return;
	t = tty.orig;
	t.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
	t.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
	t.c_cflag &= ~(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(0, TCSANOW, &t) < 0)
		return;
	tty.saved = true;
	if (!atexit_done) {
		atexit(tty_restore);
		atexit_done = true;
	}
}

/* Parse "PATH,opt,opt..." of a unix: spec; the options this accepts are
 * server, server=on|off, nowait, wait, wait=on|off.  Returns false on an
 * unknown one. */
static bool unix_opts(const char *opts, bool *server, bool *wait)
{
	*server = false;
	*wait = true;
	for (const char *p = opts; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if ((n == 6 && !strncmp(p, "server", 6)) || (n == 9 && !strncmp(p, "server=on", 9)))
			*server = true;
		else if (n == 10 && !strncmp(p, "server=off", 10))
			*server = false;
		else if ((n == 6 && !strncmp(p, "nowait", 6)) || (n == 8 && !strncmp(p, "wait=off", 8)))
			*wait = false;
		else if ((n == 4 && !strncmp(p, "wait", 4)) || (n == 7 && !strncmp(p, "wait=on", 7)))
			*wait = true;
		else
			return false;
		p = end ? end + 1 : NULL;
	}
	return true;
}

static bool unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return false;
	strcpy(sa->sun_path, path);
	return true;
}

static void cd_set_conn(struct chardev *cd, int fd)
{
	cd->in_fd = cd->out_fd = fd;
}

static void cd_drop_conn(struct chardev *cd)
{
	if (cd->in_fd >= 0)
		close(cd->in_fd);
	cd_set_conn(cd, -1);
}

static struct chardev *cd_open_unix(struct chardev *cd, const char *rest, const char *what)
{
	const char *comma = strchr(rest, ',');
	size_t n = comma ? (size_t)(comma - rest) : strlen(rest);
	struct sockaddr_un sa;
	bool server, wait;
	int fd;

	cd->path = strndup(rest, n);
	if (!cd->path || !n || !unix_opts(comma ? comma + 1 : NULL, &server, &wait)) {
		fprintf(stderr, "loom: %s unix:%s: expected unix:PATH[,server][,nowait]\n", what, rest);
		return NULL;
	}
	if (!unix_addr(cd->path, &sa)) {
		fprintf(stderr, "loom: %s unix:%s: path too long\n", what, cd->path);
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "loom: %s unix:%s: %s\n", what, cd->path, strerror(errno));
		return NULL;
	}
	if (!server) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "loom: %s unix:%s: cannot connect: %s\n", what, cd->path,
				strerror(errno));
			close(fd);
			return NULL;
		}
		cd->kind = CD_UNIX_CLIENT;
		cd_set_conn(cd, fd);
		return cd;
	}
	/* A stale socket file from an earlier run would make bind fail. */
	unlink(cd->path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		fprintf(stderr, "loom: %s unix:%s: cannot listen: %s\n", what, cd->path,
			strerror(errno));
		close(fd);
		return NULL;
	}
	cd->kind = CD_UNIX_SERVER;
	cd->listen_fd = fd;
	if (wait) {
		fprintf(stderr, "loom: %s: waiting for a connection on unix:%s\n", what, cd->path);
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			fprintf(stderr, "loom: %s unix:%s: accept: %s\n", what, cd->path,
				strerror(errno));
			close(fd);
			return NULL;
		}
		cd_set_conn(cd, c);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return cd;
}

static bool cd_register(struct chardev *cd)
{
	for (int i = 0; i < CHARDEV_MAX; i++)
		if (!chardevs[i]) {
			chardevs[i] = cd;
			return true;
		}
	return false;
}

static void cd_free(struct chardev *cd)
{
	if (!cd)
		return;
	if (cd->kind == CD_STDIO) {
		tty_restore();
	} else {
		if (cd->in_fd >= 0)
			close(cd->in_fd);
		if (cd->out_fd >= 0 && cd->out_fd != cd->in_fd)
			close(cd->out_fd);
	}
	if (cd->listen_fd >= 0) {
		close(cd->listen_fd);
		if (cd->path)
			unlink(cd->path);
	}
	free(cd->path);
	free(cd);
}

struct chardev *chardev_open(const char *spec, const char *what)
{
	struct chardev *cd = calloc(1, sizeof(*cd)), *ok = NULL;

	if (!cd)
		internal_error("chardev: out of memory");
	cd->in_fd = cd->out_fd = cd->listen_fd = -1;
	if (!strcmp(spec, "stdio")) {
		for (int i = 0; i < CHARDEV_MAX; i++)
			if (chardevs[i] && chardevs[i]->kind == CD_STDIO) {
				fprintf(stderr, "loom: %s stdio: stdio is already in use\n", what);
				cd_free(cd);
				return NULL;
			}
		cd->kind = CD_STDIO;
		cd->in_fd = 0;
		cd->out_fd = 1;
		tty_raw();
		ok = cd;
	} else if (!strncmp(spec, "file:", 5)) {
		cd->kind = CD_FILE;
		cd->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (cd->out_fd < 0)
			fprintf(stderr, "loom: %s %s: %s\n", what, spec, strerror(errno));
		else
			ok = cd;
	} else if (!strncmp(spec, "unix:", 5)) {
		ok = cd_open_unix(cd, spec + 5, what);
	} else if (!strcmp(spec, "null")) {
		cd->kind = CD_NULL;
		ok = cd;
	} else {
		fprintf(stderr, "loom: %s %s: unknown backend (stdio, file:PATH, unix:PATH[,server,nowait], null)\n",
			what, spec);
	}
	if (ok && !cd_register(ok)) {
		fprintf(stderr, "loom: %s %s: too many character backends\n", what, spec);
		ok = NULL;
	}
	if (!ok)
		cd_free(cd);
	return ok;
}

void chardev_close(struct chardev *cd)
{
	for (int i = 0; i < CHARDEV_MAX; i++)
		if (chardevs[i] == cd)
			chardevs[i] = NULL;
	cd_free(cd);
}

void chardev_set_receiver(struct chardev *cd, size_t (*can_receive)(void *opaque),
			  void (*receive)(void *opaque, const uint8_t *buf, size_t len),
			  void *opaque)
{
	cd->can_receive = can_receive;
	cd->receive = receive;
	cd->opaque = opaque;
}

void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	while (len && cd->out_fd >= 0) {
		ssize_t n = cd->kind == CD_FILE || cd->kind == CD_STDIO
			? write(cd->out_fd, buf, len)
			: send(cd->out_fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A client gone: drop it and listen again.  A file or the
			 * terminal that fails: stop writing rather than spin. */
			if (cd->kind == CD_UNIX_SERVER || cd->kind == CD_UNIX_CLIENT)
				cd_drop_conn(cd);
			else
				cd->out_fd = -1;
			return;
		}
		buf += n;
		len -= n;
	}
}

static size_t cd_room(const struct chardev *cd)
{
	return cd->receive ? (cd->can_receive ? cd->can_receive(cd->opaque) : 0) : 0;
}

int chardev_fd(const struct chardev *cd)
{
	if (cd->kind == CD_UNIX_SERVER && cd->in_fd < 0)
		return cd->listen_fd;
	return cd->in_fd;
}

void chardev_poll(struct chardev *cd)
{
	uint8_t buf[256];
	struct pollfd p;
	size_t room;
	ssize_t n;

	if (cd->kind == CD_UNIX_SERVER && cd->in_fd < 0) {
		/* The listener is non-blocking; the connection is not
		 * (writes block like a terminal's, reads go through poll()). */
		int c = accept4(cd->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			cd_set_conn(cd, c);
		return;
	}
	room = cd_room(cd);
	if (cd->in_fd < 0 || room == 0)
		return;
	p = (struct pollfd){ .fd = cd->in_fd, .events = POLLIN };
	if (poll(&p, 1, 0) <= 0)
		return;
	n = read(cd->in_fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* End of input: a socket goes back to listening; stdin is done. */
		if (cd->kind == CD_STDIO)
			cd->in_fd = -1;
		else
			cd_drop_conn(cd);
		return;
	}
	cd->receive(cd->opaque, buf, n);
}

int chardev_poll_fds(struct pollfd *fds, int max)
{
	int n = 0;

	for (int i = 0; i < CHARDEV_MAX && n < max; i++) {
		struct chardev *cd = chardevs[i];
		int fd;
		if (!cd || (fd = chardev_fd(cd)) < 0)
			continue;
		/* A device that cannot take bytes now is not polled, so the
		 * loop does not spin on input it cannot deliver. */
		if (fd != cd->listen_fd && cd_room(cd) == 0)
			continue;
		fds[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	}
	return n;
}

void chardev_poll_ready(const struct pollfd *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (int j = 0; j < CHARDEV_MAX; j++)
			if (chardevs[j] && chardev_fd(chardevs[j]) == fds[i].fd) {
				chardev_poll(chardevs[j]);
				break;
			}
	}
}
