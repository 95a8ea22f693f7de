/*
 * A minimal afl-fuzz stand-in for the afl subsuite: speaks the fork-server
 * protocol to `loom PROGRAM [ARGS]` from the fuzzer's side, so the tests can
 * check what afl-fuzz 4.04c (Debian's) cannot show: the version-1
 * handshake, the map size option, the raw wait statuses, and the time per
 * execution.
 *
 *   fsclient [-1] [-n RUNS] [-m MAPSIZE] [-f FILE -d DATA]... -- loom prog args
 *
 * -1 expects the version-1 handshake (and sets LOOM_AFL_FORKSRV_V1=1); -n
 * runs that many executions; -f/-d write DATA into FILE before run i (the
 * i-th -d, cycling).  Prints the handshake ("old map=N" / "v1 opts=X
 * map=N"), then one line per distinct outcome ("exit N" / "signal N" /
 * "stopped" with a count), the number of map bytes set after the last run,
 * and the microseconds per execution.  Exit status 0 when the protocol went
 * as expected, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int ctl, st;

static uint32_t rd(void)
{
	uint32_t v;
	if (read(st, &v, 4) != 4) {
		fprintf(stderr, "fsclient: the server closed the status pipe\n");
		exit(1);
	}
	return v;
}

static void wr(uint32_t v)
{
	if (write(ctl, &v, 4) != 4) {
		fprintf(stderr, "fsclient: the server closed the control pipe\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	int v1 = 0, runs = 1, c;
	unsigned map_size = 65536;
	const char *file = NULL, *data[64];
	int ndata = 0;

	while ((c = getopt(argc, argv, "1n:m:f:d:")) != -1) {
		switch (c) {
		case '1': v1 = 1; break;
		case 'n': runs = atoi(optarg); break;
		case 'm': map_size = strtoul(optarg, NULL, 0); break;
		case 'f': file = optarg; break;
		case 'd': if (ndata < 64) data[ndata++] = optarg; break;
		default: return 2;
		}
	}
	if (optind >= argc)
		return 2;
	int shm = shmget(IPC_PRIVATE, map_size, IPC_CREAT | 0600);
	uint8_t *map = shmat(shm, NULL, 0);
	shmctl(shm, IPC_RMID, NULL);	/* gone when both detach */
	char id[16];
	snprintf(id, sizeof(id), "%d", shm);
	setenv("__AFL_SHM_ID", id, 1);
	if (v1)
		setenv("LOOM_AFL_FORKSRV_V1", "1", 1);
	int p1[2], p2[2];
	if (pipe(p1) || pipe(p2))
		return 1;
	pid_t srv = fork();
	if (srv == 0) {
		dup2(p1[0], 198);
		dup2(p2[1], 199);
		close(p1[0]); close(p1[1]); close(p2[0]); close(p2[1]);
		execv(argv[optind], argv + optind);
		_exit(127);
	}
	close(p1[0]);
	close(p2[1]);
	ctl = p1[1];
	st = p2[0];

	uint32_t hello = rd();
	if (v1) {
		if (hello != 0x41464c01) {
			fprintf(stderr, "fsclient: expected AFL\\1, got %08x\n", hello);
			return 1;
		}
		wr(hello ^ 0xffffffff);
		uint32_t opts = rd(), ms = 0;
		if (opts & 1)
			ms = rd();
		if (rd() != hello) {
			fprintf(stderr, "fsclient: the version-1 handshake did not end with AFL\\1\n");
			return 1;
		}
		printf("v1 opts=%x map=%u\n", opts, ms);
	} else {
		if ((hello & 0x80000001) != 0x80000001) {
			fprintf(stderr, "fsclient: old handshake without FS_OPT_ENABLED: %08x\n", hello);
			return 1;
		}
		printf("old map=%u\n", (hello & 0x40000000) ? ((hello & 0x00fffffe) >> 1) + 1 : 0);
	}
	int nexit[256] = { 0 }, nsig[65] = { 0 }, nstop = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < runs; i++) {
		if (file && ndata) {
			FILE *f = fopen(file, "w");
			fputs(data[i % ndata], f);
			fclose(f);
		}
		memset(map, 0, map_size);
		wr(0);
		uint32_t pid = rd();
		int status = (int)rd();
		if ((int)pid <= 0) {
			fprintf(stderr, "fsclient: bad child pid %d\n", (int)pid);
			return 1;
		}
		if (WIFEXITED(status))
			nexit[WEXITSTATUS(status)]++;
		else if (WIFSIGNALED(status))
			nsig[WTERMSIG(status)]++;
		else if (WIFSTOPPED(status))
			nstop++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (int i = 0; i < 256; i++)
		if (nexit[i])
			printf("exit %d x%d\n", i, nexit[i]);
	for (int i = 0; i < 65; i++)
		if (nsig[i])
			printf("signal %d x%d\n", i, nsig[i]);
	if (nstop)
		printf("stopped x%d\n", nstop);
	unsigned set = 0;
	for (unsigned i = 0; i < map_size; i++)
		set += map[i] != 0;
	printf("map bytes set %u\n", set);
	double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / runs;
	fprintf(stderr, "us/exec %.1f\n", us);
	close(ctl);
	close(st);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	return 0;
}
