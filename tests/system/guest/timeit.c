/*
 * timeit LABEL COMMAND [ARG...]: runs COMMAND, waits for it, and prints
 * "bench LABEL SECONDS" with the wall time it took by the guest's own
 * CLOCK_MONOTONIC (busybox's date has no nanoseconds and /proc/uptime only
 * hundredths).  Used by the guest script's benchmark mode (bench/system.sh);
 * its output depends on time, so the boot comparison never runs it.
 * Exit status: COMMAND's, or 127 when it cannot be run.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: timeit LABEL COMMAND [ARG...]\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		perror("timeit");
		return 127;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("bench %s %.3f\n", argv[1], s);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
