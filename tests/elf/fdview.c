/*
 * What a program sees of its file descriptors, printed so that a native run
 * and a run under loom can be compared line for line (tests/elf/run.sh):
 * loom's own descriptors (code cache, log, control socket) must not show.
 *
 *   fdview list     the numbers in /proc/self/fd, /proc/PID/fd and
 *                   /proc/self/fdinfo, those fstat() finds open, and those
 *                   whose /proc/self/fd/N link or fdinfo entry exists
 *   fdview close    close() of every number the program never opened:
 *                   how many did not fail with EBADF
 *   fdview dup2     dup2(1, N) and close(N) for every N below 2048 (and
 *                   below RLIMIT_NOFILE), then fork and list again
 *   fdview range    close_range(3, ~0U, 0), then open a file (must get 3),
 *                   fork a child, list
 *   fdview nofile   soft RLIMIT_NOFILE lowered to 16: how many opens succeed,
 *                   then fork and exec /bin/true with none free and again
 *                   after closing them (loom must still start)
 *   fdview hardnofile  soft and hard RLIMIT_NOFILE lowered to 16, every
 *                   descriptor used, then exec ./tiny (static, needs none)
 *                   and /bin/true (whose loader needs one) from children;
 *                   refusals against the lowered hard limit; list
 *   fdview watch    for half a second, open a file (must get 3) and list
 *                   /proc/self/fd (must hold 0, 1, 2 only) again and again:
 *                   how often either was not so (run it under loom with a
 *                   coverage file rewritten every millisecond, the control
 *                   socket and a plugin: loom's threads open files meanwhile)
 *   fdview fsize    write 1 MiB to a file in 64 KiB pieces, fork, list (run
 *                   it with a low `ulimit -f`: SIGXFSZ at the same point)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void list_dir(const char *path)
{
	int fds[4096], n = 0;
	DIR *d = opendir(path);
	if (!d) {
		printf("%s: %s\n", path, strerror(errno));
		return;
	}
	int self = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d)) && n < 4096) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd != self)
			fds[n++] = fd;
	}
	closedir(d);
	qsort(fds, n, sizeof(int), cmp_int);
	printf("%s:", strncmp(path, "/proc/self", 10) ? "/proc/PID/..." : path);
	for (int i = 0; i < n; i++)
		printf(" %d", fds[i]);
	printf("\n");
}

static long fd_limit(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur > 65536 ? 65536 : (long)rl.rlim_cur;
}

static void list(void)
{
	char path[64];
	list_dir("/proc/self/fd");
	snprintf(path, sizeof(path), "/proc/%d/fd", getpid());
	list_dir(path);
	list_dir("/proc/self/fdinfo");
	printf("fstat:");
	long lim = fd_limit();
	for (long fd = 0; fd < lim + 2048; fd++) {
		struct stat st;
		if (fstat((int)fd, &st) == 0)
			printf(" %ld", fd);
	}
	printf("\nreadlink and open of /proc/self/fd/N, /proc/PID/fdinfo/N:");
	for (long fd = 0; fd < lim + 2048; fd++) {
		char link[64], target[256];
		snprintf(link, sizeof(link), "/proc/self/fd/%ld", fd);
		if (readlink(link, target, sizeof(target)) >= 0)
			printf(" %ld", fd);
		snprintf(link, sizeof(link), "/proc/%d/fdinfo/%ld", getpid(), fd);
		int f = open(link, O_RDONLY);
		if (f >= 0) {
			printf(" i%ld", fd);
			close(f);
		}
	}
	printf("\n");
}

static void fork_and_list(void)
{
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		list();
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	printf("child status %#x\n", st);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "list";
	if (!strcmp(mode, "list")) {
		list();
	} else if (!strcmp(mode, "close")) {
		long lim = fd_limit(), odd = 0;
		for (long fd = 3; fd < lim + 2048; fd++)
			if (close((int)fd) == 0 || errno != EBADF)
				odd++;
		printf("closes that did not fail with EBADF: %ld\n", odd);
		fork_and_list();
	} else if (!strcmp(mode, "dup2")) {
		long lim = fd_limit(), bad = 0;
		for (long fd = 3; fd < lim && fd < 2048; fd++) {
			if (dup2(1, (int)fd) != fd)
				bad++;
			else if (close((int)fd) != 0)
				bad++;
		}
		printf("dup2 or close failures: %ld\n", bad);
		fork_and_list();
	} else if (!strcmp(mode, "range")) {
		long r = syscall(SYS_close_range, 3u, ~0u, 0u);
		int fd = open("/dev/null", O_RDONLY);
		printf("close_range %ld, then open gives %d\n", r, fd);
		fork_and_list();
	} else if (!strcmp(mode, "nofile")) {
		/* (The hard limit stays: with it at 16 too, a guest with no
		 * descriptor free cannot exec under loom, which needs one to
		 * read the program.) */
		struct rlimit rl;
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = 16;
		setrlimit(RLIMIT_NOFILE, &rl);
		int n = 0;
		while (open("/dev/null", O_RDONLY) >= 0)
			n++;
		printf("opens under a limit of 16: %d (then %s)\n", n, strerror(errno));
		/* With every descriptor in use: fork and exec need none. */
		fflush(stdout);
		pid_t p = fork();
		if (p == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(99);
		}
		int st;
		waitpid(p, &st, 0);
		printf("exec of /bin/true with no descriptor free: status %#x\n", st);
		for (int fd = 3; fd < 16; fd++)
			close(fd);
		fflush(stdout);
		p = fork();
		if (p == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(99);
		}
		waitpid(p, &st, 0);
		printf("exec of /bin/true: status %#x\n", st);
		list();
	} else if (!strcmp(mode, "hardnofile")) {
		struct rlimit rl = { 16, 16 }, got;
		printf("setrlimit 16/16: %d\n", setrlimit(RLIMIT_NOFILE, &rl));
		getrlimit(RLIMIT_NOFILE, &got);
		printf("getrlimit: %llu/%llu\n", (unsigned long long)got.rlim_cur,
		       (unsigned long long)got.rlim_max);
		int n = 0;
		while (open("/dev/null", O_RDONLY) >= 0)
			n++;
		printf("opens: %d (then %s)\n", n, strerror(errno));
		const char *progs[] = { "./tiny", "/bin/true" };
		for (int i = 0; i < 2; i++) {
			fflush(stdout);
			pid_t p = fork();
			if (p == 0) {
				execl(progs[i], progs[i], (char *)NULL);
				printf("exec %s: %s\n", progs[i], strerror(errno));
				fflush(stdout);
				_exit(99);
			}
			int st;
			waitpid(p, &st, 0);
			printf("exec of %s with no descriptor free: status %#x\n", progs[i], st);
		}
		/* Against the lowered hard limit: soft above hard, hard raised
		 * (EPERM without CAP_SYS_RESOURCE), soft lowered further. */
		rl = (struct rlimit){ 17, 16 };
		printf("soft 17 over hard 16: %s\n", setrlimit(RLIMIT_NOFILE, &rl) ? strerror(errno) : "ok");
		rl = (struct rlimit){ 16, 17 };
		int r = setrlimit(RLIMIT_NOFILE, &rl);
		printf("hard raised to 17: %s\n", r ? strerror(errno) : "ok");
		rl = (struct rlimit){ 8, r ? 16 : 17 };
		struct rlimit old;
		printf("prlimit soft 8: %s", prlimit(0, RLIMIT_NOFILE, &rl, &old) ? strerror(errno) : "ok");
		printf(", old %llu/%llu\n", (unsigned long long)old.rlim_cur,
		       (unsigned long long)old.rlim_max);
		getrlimit(RLIMIT_NOFILE, &got);
		printf("getrlimit: %llu/%llu\n", (unsigned long long)got.rlim_cur,
		       (unsigned long long)got.rlim_max);
		printf("dup past the soft limit: %s\n", dup(0) < 0 ? strerror(errno) : "ok");
		for (int fd = 3; fd < 16; fd++)
			close(fd);
		fflush(stdout);
		pid_t p = fork();
		if (p == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(99);
		}
		int st;
		waitpid(p, &st, 0);
		printf("exec of /bin/true after closing: status %#x\n", st);
		list();
	} else if (!strcmp(mode, "watch")) {
		/* What was open at the start (the test's caller may pass
		 * descriptors of its own) is not counted. */
		static char at_start[65536];
		long rounds = 0, wrong_open = 0, extra = 0;
		int first = open("/dev/null", O_RDONLY);
		close(first);
		for (int pass = 0;; pass++) {
			DIR *d = opendir("/proc/self/fd");
			if (d) {
				struct dirent *e;
				while ((e = readdir(d))) {
					int n = atoi(e->d_name);
					if (e->d_name[0] == '.' || n == dirfd(d) || n >= 65536)
						continue;
					if (!pass)
						at_start[n] = 1;
					else if (!at_start[n])
						extra++;
				}
				closedir(d);
			}
			if (pass) {
				int fd = open("/dev/null", O_RDONLY);
				if (fd != first)
					wrong_open++;
				if (fd >= 0)
					close(fd);
				rounds++;
			}
			static struct timespec t0;
			struct timespec t;
			clock_gettime(CLOCK_MONOTONIC, pass ? &t : &t0);
			if (pass && (t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) >
					    500000000L)
				break;
		}
		printf("open() first gives %d; rounds: %s; open() giving another number: %ld; "
		       "others' descriptors seen: %ld\n", first,
		       rounds > 10 ? "more than 10" : "10 or fewer", wrong_open, extra);
		fork_and_list();
	} else if (!strcmp(mode, "fsize")) {
		static char buf[65536];
		int fd = open("fdview.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		long total = 0;
		for (int i = 0; i < 16; i++) {
			ssize_t w = write(fd, buf, sizeof(buf));
			if (w < 0) {
				printf("write: %s\n", strerror(errno));
				break;
			}
			total += w;
		}
		close(fd);
		unlink("fdview.out");
		printf("wrote %ld bytes\n", total);
		fork_and_list();
	} else {
		fprintf(stderr, "usage: %s list|close|dup2|range|nofile|hardnofile|watch|fsize\n", argv[0]);
		return 2;
	}
	return 0;
}
