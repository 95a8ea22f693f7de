/*
 * A minimal afl-fuzz stand-in for the afl subsuite: speaks the fork-server
 * protocol to `loom PROGRAM [ARGS]` from the fuzzer's side, so the tests can
 * check what afl-fuzz 4.04c (Debian's) cannot show: the version-1
 * handshake, the map size option, the raw wait statuses, and the time per
 * execution.
 *
 *   fsclient [-1] [-S] [-c OUT [-C]] [-n RUNS] [-m MAPSIZE] [-f FILE] [-d DATA]... -- loom prog args
 *
 * -1 expects the version-1 handshake (and sets LOOM_AFL_FORKSRV_V1=1); -n
 * runs that many executions; -f/-d write DATA into FILE before run i (the
 * i-th -d, cycling); -S passes DATA in shared memory instead
 * (__AFL_SHM_FUZZ_ID, as afl-fuzz does for a persistent hook); -c makes
 * it a CMPLOG run and writes the CMPLOG map to OUT (see dump_cmplog).  Prints the
 * handshake ("old map=N" / "v1 opts=X
 * map=N"), then one line per distinct outcome ("exit N" / "signal N" /
 * "stopped" with a count), the number of map bytes set after the last run,
 * the number of distinct maps seen per distinct input ("maps per input"),
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

/* CMPLOG (-c FILE): afl-fuzz 4.04c's struct cmp_map.  65536 headers of 8
 * bytes (hits: bits 0-23, shape: 48-52, type: 53-54, 1 compare, 2
 * routine), then 65536 rows of 32 entries of 32 bytes (v0, v1, and the
 * 128-bit halves); a routine's row is 8 entries of 64 bytes (v0[31],
 * v0_len, v1[31], v1_len).  After the last run, every entry logged goes
 * to FILE, one a line:
 *   ins SHAPE HITS V0 V1          (hex)
 *   rtn SHAPE HITS LEN0 LEN1 'V0' 'V1'   (up to a NUL, \xHH escapes)
 * and a last line "entries N".  -C leaves ___AFL_EINS_ZWEI_POLIZEI___
 * unset (a plain run: nothing may be logged). */
#define CMP_MAP_W 65536
#define CMP_MAP_H 32
#define CMP_MAP_SIZE (CMP_MAP_W * 8 + CMP_MAP_W * CMP_MAP_H * 32)

static void put_str(FILE *f, const uint8_t *p, unsigned n)
{
	fputc('\'', f);
	for (unsigned i = 0; i < n && p[i]; i++) {
		if (p[i] >= 32 && p[i] < 127 && p[i] != '\'' && p[i] != '\\')
			fputc(p[i], f);
		else
			fprintf(f, "\\x%02x", p[i]);
	}
	fputc('\'', f);
}

static int dump_cmplog(const char *path, const uint64_t *hdr)
{
	FILE *f = fopen(path, "w");
	const uint8_t *log = (const uint8_t *)(hdr + CMP_MAP_W);
	unsigned n = 0;
	if (!f)
		return 1;
	for (unsigned k = 0; k < CMP_MAP_W; k++) {
		unsigned hits = hdr[k] & 0xffffff, shape = hdr[k] >> 48 & 31, type = hdr[k] >> 53 & 3;
		const uint8_t *row = log + (size_t)k * CMP_MAP_H * 32;
		if (!hits)
			continue;
		if (type == 1) {
			for (unsigned i = 0; i < hits && i < CMP_MAP_H; i++, n++) {
				const uint64_t *o = (const uint64_t *)(row + i * 32);
				fprintf(f, "ins %u %u %llx %llx\n", shape, hits, (unsigned long long)o[0],
					(unsigned long long)o[1]);
			}
		} else if (type == 2) {
			for (unsigned i = 0; i < hits && i < CMP_MAP_H / 4; i++, n++) {
				const uint8_t *o = row + i * 64;
				fprintf(f, "rtn %u %u %u %u ", shape, hits, o[31], o[63]);
				put_str(f, o, 31);
				fputc(' ', f);
				put_str(f, o + 32, 31);
				fputc('\n', f);
			}
		} else {
			fprintf(f, "bad type %u at %u\n", type, k);
		}
	}
	fprintf(f, "entries %u\n", n);
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	int v1 = 0, runs = 1, c, shmfuzz = 0, cmplog_plain = 0;
	const char *cmplog_out = NULL;
	unsigned map_size = 65536;
	const char *file = NULL, *data[64];
	int ndata = 0;

	while ((c = getopt(argc, argv, "1Sn:m:f:d:c:C")) != -1) {
		switch (c) {
		case 'c': cmplog_out = optarg; break;
		case 'C': cmplog_plain = 1; break;
		case '1': v1 = 1; break;
		case 'S': shmfuzz = 1; break;
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
	uint8_t *fuzz = NULL;
	if (shmfuzz) {
		int fid = shmget(IPC_PRIVATE, 1 << 20, IPC_CREAT | 0600);
		fuzz = shmat(fid, NULL, 0);
		shmctl(fid, IPC_RMID, NULL);
		snprintf(id, sizeof(id), "%d", fid);
		setenv("__AFL_SHM_FUZZ_ID", id, 1);
	}
	uint64_t *cmp_hdr = NULL;
	if (cmplog_out) {
		int cid = shmget(IPC_PRIVATE, CMP_MAP_SIZE, IPC_CREAT | 0600);
		cmp_hdr = shmat(cid, NULL, 0);
		shmctl(cid, IPC_RMID, NULL);
		snprintf(id, sizeof(id), "%d", cid);
		setenv("__AFL_CMPLOG_SHM_ID", id, 1);
		/* afl-fuzz marks its CMPLOG run so; without it (-C) the run
		 * must log nothing, as the plain run that inherits the id. */
		if (!cmplog_plain)
			setenv("___AFL_EINS_ZWEI_POLIZEI___", "1", 1);
	}
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
		if (!!(opts & 2) != shmfuzz) {
			fprintf(stderr, "fsclient: shared-memory test cases %s\n",
				shmfuzz ? "not asked for" : "asked for unexpectedly");
			return 1;
		}
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
		if (!!(hello & 0x01000000) != shmfuzz) {
			fprintf(stderr, "fsclient: shared-memory test cases %s\n",
				shmfuzz ? "not asked for" : "asked for unexpectedly");
			return 1;
		}
		if (shmfuzz)
			wr(0x80000001 | 0x01000000);
	}
	/* Distinct (input, map) pairs, by hash. */
	uint64_t seen[4096];
	int nseen = 0;
	int nexit[256] = { 0 }, nsig[65] = { 0 }, nstop = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < runs; i++) {
		const char *d = ndata ? data[i % ndata] : "";
		if (shmfuzz) {
			uint32_t len = strlen(d);
			memcpy(fuzz, &len, 4);
			memcpy(fuzz + 4, d, len);
		} else if (file && ndata) {
			FILE *f = fopen(file, "w");
			fputs(d, f);
			fclose(f);
		}
		memset(map, 0, map_size);
		if (cmp_hdr)	/* as afl-fuzz: the headers only */
			memset(cmp_hdr, 0, CMP_MAP_W * 8);
		wr(0);
		uint32_t pid = rd();
		int status = (int)rd();
		if ((int)pid <= 0) {
			fprintf(stderr, "fsclient: bad child pid %d\n", (int)pid);
			return 1;
		}
		uint64_t h = 1469598103934665603ull;
		for (unsigned j = 0; j < map_size; j++)
			h = (h ^ map[j]) * 1099511628211ull;
		h ^= (uint64_t)(i % (ndata ? ndata : 1)) << 56;
		if (getenv("FSCLIENT_VERBOSE"))
			fprintf(stderr, "run %d input %d map %016llx set %u\n", i, i % (ndata ? ndata : 1), (unsigned long long)h, ({ unsigned z = 0; for (unsigned j = 0; j < map_size; j++) z += map[j] != 0; z; }));
		int k;
		for (k = 0; k < nseen && seen[k] != h; k++)
			;
		if (k == nseen && nseen < 4096)
			seen[nseen++] = h;
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
	printf("maps per input %.2f\n", (double)nseen / (ndata && ndata < runs ? ndata : 1));
	if (cmp_hdr && dump_cmplog(cmplog_out, cmp_hdr))
		return 1;
	double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / runs;
	fprintf(stderr, "us/exec %.1f\n", us);
	close(ctl);
	close(st);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	return 0;
}
