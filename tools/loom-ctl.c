/*
 * loom-ctl: send one command to a running loom's control channel and print
 * the answer.
 *
 *   loom-ctl SOCKET COMMAND [ARGS...]     e.g. loom-ctl /tmp/l.sock cov write a.drcov
 *
 * Exit status: 0 when the answer begins "ok", 1 when it begins "error:",
 * 2 for bad usage or when the socket cannot be reached.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: loom-ctl SOCKET COMMAND [ARGS...]\n"
				"commands: status; cov start|stop|clear|write FILE; "
				"plugin list|enable NAME|disable NAME; dump ADDR LEN FILE; loom-system: pmemsave|memsave ADDR SIZE FILE\n");
		return 2;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "loom-ctl: %s: path too long for a socket\n", argv[1]);
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "loom-ctl: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	char line[8192];
	size_t n = 0;
	for (int i = 2; i < argc && n < sizeof(line) - 2; i++)
		n += snprintf(line + n, sizeof(line) - n, "%s%s", i > 2 ? " " : "", argv[i]);
	line[n++] = '\n';
	/* A loom that refuses the connection may close it before reading;
	 * its answer is still there to read. */
	if (send(fd, line, n, MSG_NOSIGNAL) != (ssize_t)n && errno != EPIPE) {
		fprintf(stderr, "loom-ctl: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	shutdown(fd, SHUT_WR);
	char ans[8192];
	size_t got = 0;
	ssize_t r;
	while (got < sizeof(ans) - 1 && (r = read(fd, ans + got, sizeof(ans) - 1 - got)) > 0)
		got += r;
	ans[got] = 0;
	if (!got) {
		fprintf(stderr, "loom-ctl: %s: no answer\n", argv[1]);
		return 2;
	}
	fputs(ans, stdout);
	if (ans[got - 1] != '\n')
		putchar('\n');
	return strncmp(ans, "ok", 2) ? 1 : 0;
}
