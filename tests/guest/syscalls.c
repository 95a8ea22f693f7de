/* System calls whose results do not depend on time or on the process id:
 * uname, ids, cwd, rlimits, sysconf, clock monotonicity, getrandom length,
 * pipe round trips, dup2, and pid relations (never the pid value itself). */
#include "guest.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct utsname u;
	if (uname(&u) == 0)
		printf("uname: sysname=%s machine=%s release=%s\n", u.sysname, u.machine, u.release);
	printf("ids: uid=%d euid=%d gid=%d egid=%d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
	       (int)getegid());
	pid_t pid = getpid();
	printf("pid>0:%d ppid!=pid:%d getpid stable:%d gettid==pid:%d\n", pid > 0, getppid() != pid,
	       getpid() == pid, (pid_t)syscall(SYS_gettid) == pid);
	printf("pgid==getpgrp:%d sid>0:%d\n", getpgid(0) == getpgrp(), getsid(0) > 0);

	char cwd[4096];
	printf("getcwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : "(failed)");
	errno = 0;
	char tiny[2];
	char *r = getcwd(tiny, sizeof tiny);
	printf("getcwd small buffer: %s errno=%s\n", r ? "ok" : "NULL", errno == ERANGE ? "ERANGE" : "other");

	printf("sysconf: pagesize=%ld\n", sysconf(_SC_PAGESIZE));
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("RLIMIT_NOFILE cur>=64: %d\n", rl.rlim_cur >= 64);

	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	volatile long spin = 0;
	for (int i = 0; i < 100000; i++)
		spin += i;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("monotonic nondecreasing: %d\n",
	       b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
	struct timespec res;
	printf("clock_getres ok: %d\n", clock_getres(CLOCK_MONOTONIC, &res) == 0);
	time_t t = time(NULL);
	printf("time after 2020: %d\n", t > 1577836800);

	unsigned char rnd[32];
	long n = syscall(SYS_getrandom, rnd, sizeof rnd, 0);
	printf("getrandom returned %ld\n", n);

	int p[2];
	if (pipe(p) == 0) {
		const char msg[] = "through the pipe";
		write(p[1], msg, sizeof msg);
		char buf[64] = { 0 };
		ssize_t got = read(p[0], buf, sizeof buf);
		printf("pipe: %zd bytes: %s\n", got, buf);
		int d = dup2(p[1], 50);
		write(50, "x", 1);
		got = read(p[0], buf, sizeof buf);
		printf("dup2 -> %d, read %zd\n", d, got);
		int fl = fcntl(p[0], F_GETFL);
		fcntl(p[0], F_SETFL, fl | O_NONBLOCK);
		errno = 0;
		got = read(p[0], buf, sizeof buf);
		printf("nonblocking empty read: %zd errno=%s\n", got, errno == EAGAIN ? "EAGAIN" : "other");
		close(50);
		close(p[1]);
		fcntl(p[0], F_SETFL, fl);
		got = read(p[0], buf, sizeof buf);
		printf("read after writer closed: %zd\n", got);
		close(p[0]);
	}

	/* Failing syscalls return -1 with the host's errno. */
	errno = 0;
	int rc = close(12345);
	printf("close(bad): %d %s\n", rc, strerror(errno));
	errno = 0;
	rc = open("/nonexistent/dir/file", O_RDONLY);
	printf("open(missing): %d %s\n", rc, strerror(errno));
	errno = 0;
	long rl2 = syscall(99999);
	printf("syscall(99999): %ld %s\n", rl2, strerror(errno));
	return 0;
}
