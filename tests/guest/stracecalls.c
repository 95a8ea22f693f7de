/*
 * A fixed series of common system calls with arguments of each kind strace
 * decodes (paths, open flags and modes, buffers, mmap prot and flags, stat
 * structs, access modes, AT_ flags, signals and sets, rlimits, fcntl and
 * lseek commands, sockets, futexes, errors).  As a guest test it prints what
 * the calls returned; tests/programs/strace.sh also runs it under the real
 * strace and under loom -strace and compares the two traces.
 */
#include "guest.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_usr1(int sig) { (void)sig; }

int main(void)
{
	const char *path = "stracecalls.tmp.with-a-rather-long-name-to-check-no-truncation";
	char buf[64];
	struct stat st;
	long r[32];
	int n = 0;

	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	r[n++] = fd >= 0;
	r[n++] = write(fd, "hello, strace\n\tand a second line that is longer than 32 bytes\n", 62);
	r[n++] = fstat(fd, &st) == 0 && st.st_size == 62;
	close(fd);
	fd = openat(AT_FDCWD, path, O_RDONLY);
	r[n++] = read(fd, buf, 5);
	r[n++] = lseek(fd, 2, SEEK_CUR);
	r[n++] = pread(fd, buf, 8, 40);
	r[n++] = fcntl(fd, F_GETFD);
	r[n++] = fcntl(fd, F_SETFD, FD_CLOEXEC);
	r[n++] = fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW);
	close(fd);
	r[n++] = open("/no/such/file", O_RDONLY) == -1 && errno == ENOENT;
	r[n++] = access(path, R_OK | W_OK);
	r[n++] = access("/no/such/file", F_OK);
	r[n++] = faccessat(AT_FDCWD, path, X_OK, 0);
	r[n++] = readlink(path, buf, sizeof(buf));
	r[n++] = unlink(path);
	r[n++] = unlinkat(AT_FDCWD, path, 0);

	char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r[n++] = p != MAP_FAILED;
	r[n++] = mprotect(p + 4096, 4096, PROT_NONE);
	r[n++] = munmap(p, 3 * 4096);

	struct sigaction sa = { 0 };
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	sa.sa_flags = SA_RESTART;
	r[n++] = sigaction(SIGUSR1, &sa, NULL);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGINT);
	r[n++] = sigprocmask(SIG_BLOCK, &set, &old);
	r[n++] = sigprocmask(SIG_SETMASK, &old, NULL);
	r[n++] = kill(getpid(), 0);

	struct rlimit rl;
	r[n++] = getrlimit(RLIMIT_NOFILE, &rl);
	int sv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r[n++] = sv >= 0;
	close(sv);
	int word = 0;
	r[n++] = syscall(SYS_futex, &word, 129 /* FUTEX_WAKE_PRIVATE */, 1, NULL, NULL, 0);

	/* No such syscall: -ENOSYS, natively and under loom. */
	r[n++] = syscall(999, 1, 2, 3, 4, 5, 6) == -1 && errno == ENOSYS;

	int fds[2];
	r[n++] = pipe2(fds, O_CLOEXEC);
	r[n++] = dup3(fds[0], 10, 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(3);
	int status;
	r[n++] = waitpid(pid, &status, 0) == pid;
	r[n++] = status;

	for (int i = 0; i < n; i++)
		printf("%ld ", r[i]);
	printf("\n");
	return 0;
}
