/* Processes: fork with a pipe back to the parent, waitpid exit statuses,
 * a child killed by a signal, copy-on-write memory after fork, vfork+_exit,
 * and execve of /proc/self/exe (the new image must run under loom too and
 * receive its argv and environment). */
#include "guest.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int shared_value = 100;

static void report(const char *what, int status)
{
	if (WIFEXITED(status))
		printf("%s: exited %d\n", what, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		printf("%s: killed by signal %d\n", what, WTERMSIG(status));
	else
		printf("%s: status %#x\n", what, status);
}

int main(int argc, char **argv)
{
	/* Line buffered, so output order is program order whatever stdout is. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "--exec-child") == 0) {
		/* The re-executed image: print what it was given and exit 42. */
		printf("exec child: argc=%d argv[2]=%s LOOM_FORK_TEST=%s shared_value=%d\n", argc,
		       argc > 2 ? argv[2] : "(none)", getenv("LOOM_FORK_TEST") ? getenv("LOOM_FORK_TEST") : "(unset)",
		       shared_value);
		return 42;
	}

	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		shared_value = 555; /* the parent's copy must not change */
		char msg[64];
		int n = snprintf(msg, sizeof msg, "hello from child, value %d", shared_value);
		write(p[1], msg, (size_t)n);
		_exit(7);
	}
	close(p[1]);
	char buf[128] = { 0 };
	ssize_t got = 0, r;
	while ((r = read(p[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0)
		got += r;
	close(p[0]);
	int status;
	pid_t w = waitpid(pid, &status, 0);
	printf("parent read \"%s\", waited right child: %d, parent value %d\n", buf, w == pid, shared_value);
	report("child 1", status);

	/* A child that dies of SIGTERM sent by the parent, and one that aborts. */
	int sync[2];
	pipe(sync);
	pid = fork();
	if (pid == 0) {
		close(sync[0]);
		write(sync[1], "r", 1);
		for (;;)
			pause();
	}
	close(sync[1]);
	read(sync[0], buf, 1);
	close(sync[0]);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	report("child 2", status);
	pid = fork();
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	waitpid(pid, &status, 0);
	report("child 3", WIFSIGNALED(status) ? (status & 0x7f) : status); /* drop the core bit */

	/* Several children exiting with different codes, reaped in pid order. */
	pid_t kids[5];
	for (int i = 0; i < 5; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			_exit(10 + i);
	}
	for (int i = 0; i < 5; i++) {
		waitpid(kids[i], &status, 0);
		printf("kid %d: %d\n", i, WEXITSTATUS(status));
	}

	pid = vfork();
	if (pid == 0)
		_exit(99);
	waitpid(pid, &status, 0);
	report("vfork child", status);

	/* exec the same binary with a marker argument and extra environment. */
	pid = fork();
	if (pid == 0) {
		char *args[] = { argv[0], "--exec-child", "payload with spaces", NULL };
		char *env[] = { "LOOM_FORK_TEST=yes", "PATH=/usr/bin:/bin", NULL };
		execve("/proc/self/exe", args, env);
		printf("execve failed\n");
		_exit(1);
	}
	waitpid(pid, &status, 0);
	report("exec child", status);

	printf("wait with no children: %d\n", wait(&status));
	return 0;
}
