/*
 * The exec harness of the mutated-ELF corpus (mutate.py): runs each FILE
 * argument in a child (fork + execve, stdin and stdout on /dev/null) and
 * prints one line per file with the outcome class the kernel gave it:
 *
 *   FILE errno ENOEXEC     execve failed (the errno's name)
 *   FILE exit N            the program exited with status N
 *   FILE signal N          the program was killed by signal N
 *   FILE timeout           still running after TIMEOUT_MS (then killed)
 *
 * Run natively it reports what the kernel does; run under loom, every
 * execve goes through loom's own exec path and loader, so the same lines
 * must come out.  usage: runner TIMEOUT_MS FILE...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *errno_name(int e)
{
	switch (e) {
	case ENOEXEC: return "ENOEXEC";
	case EACCES: return "EACCES";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case ELIBBAD: return "ELIBBAD";
	case ELOOP: return "ELOOP";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case E2BIG: return "E2BIG";
	case ENOTDIR: return "ENOTDIR";
	case ETXTBSY: return "ETXTBSY";
	case EPERM: return "EPERM";
	}
	static char buf[32];
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

static void run_one(const char *path, long timeout_ms)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("pipe2");
		exit(2);
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(nul, 1);
		char *argv[] = { (char *)path, NULL };
		char *envp[] = { "PATH=/usr/bin:/bin", NULL };
		execve(path, argv, envp);
		int e = errno;
		if (write(p[1], &e, sizeof(e)) != sizeof(e))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	int e = 0;
	ssize_t n = read(p[0], &e, sizeof(e));
	close(p[0]);
	int st = 0;
	struct timespec tick = { 0, 2000000 };
	long waited = 0;
	pid_t r;
	while ((r = waitpid(pid, &st, WNOHANG)) == 0 && waited < timeout_ms) {
		nanosleep(&tick, NULL);
		waited += 2;
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		printf("%s timeout\n", path);
	} else if (n == (ssize_t)sizeof(e)) {
		printf("%s errno %s\n", path, errno_name(e));
	} else if (WIFEXITED(st)) {
		printf("%s exit %d\n", path, WEXITSTATUS(st));
	} else if (WIFSIGNALED(st)) {
		printf("%s signal %d\n", path, WTERMSIG(st));
	} else {
		printf("%s status %#x\n", path, st);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s TIMEOUT_MS FILE...\n", argv[0]);
		return 2;
	}
	/* No core files in the scratch directory. */
	struct rlimit rl = { 0, 0 };
	setrlimit(RLIMIT_CORE, &rl);
	long timeout_ms = atol(argv[1]);
	for (int i = 2; i < argc; i++)
		run_one(argv[i], timeout_ms);
	fflush(stdout);
	return 0;
}
