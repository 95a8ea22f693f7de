/*
 * A guest program that keeps the guest kernel switching between threads and
 * processes: pthreads doing work and joining, signals (handlers, sigaction,
 * kill, alarm and interval timers, sigsuspend, blocked and pending signals),
 * and fork (many short children, pipes between processes, waitpid statuses).
 *
 * It runs inside the guest (tests/system/guest/run) and natively on the host
 * (tests/system/boot.sh), and both runs must print the same lines: so it
 * prints no pid, address or time, only results that the kernel guarantees,
 * and each line it prints is either a computed value or "ok"/"BAD ...".
 * Exit status: 0 when every check held, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int bad;

static void check(int ok, const char *what)
{
	if (!ok) {
		printf("BAD %s\n", what);
		bad = 1;
	}
}

/* --- threads -------------------------------------------------------------- */

#define NTHREADS 8
#define NROUNDS 20000

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t counter;

/* Each thread hashes its own range (so the result is known without locks)
 * and bumps a shared counter under a mutex (so threads contend and the
 * kernel switches between them on the futex). */
static void *thread_work(void *arg)
{
	uint64_t id = (uintptr_t)arg, h = 1469598103934665603ull;
	for (uint64_t i = 0; i < NROUNDS; i++) {
		h = (h ^ (id * NROUNDS + i)) * 1099511628211ull;
		pthread_mutex_lock(&counter_lock);
		counter++;
		pthread_mutex_unlock(&counter_lock);
		if (i % 1000 == 0)
			sched_yield();
	}
	return (void *)(uintptr_t)h;
}

static void test_threads(void)
{
	pthread_t t[NTHREADS];
	uint64_t sum = 0;
	for (uintptr_t i = 0; i < NTHREADS; i++)
		check(pthread_create(&t[i], NULL, thread_work, (void *)i) == 0, "pthread_create");
	for (int i = 0; i < NTHREADS; i++) {
		void *r;
		check(pthread_join(t[i], &r) == 0, "pthread_join");
		sum ^= (uintptr_t)r;
	}
	printf("threads: %d joined, counter %llu, hash %016llx\n", NTHREADS,
	       (unsigned long long)counter, (unsigned long long)sum);
	check(counter == (uint64_t)NTHREADS * NROUNDS, "threads: counter");
}

/* --- signals -------------------------------------------------------------- */

static volatile sig_atomic_t got_usr1, got_usr2, got_alrm, got_vtalrm;
static volatile sig_atomic_t last_code, last_signo, order[8], norder;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	last_signo = si->si_signo;
	last_code = si->si_code;
	if (norder < 8)
		order[norder++] = sig;
	switch (sig) {
	case SIGUSR1: got_usr1++; break;
	case SIGUSR2: got_usr2++; break;
	case SIGALRM: got_alrm++; break;
	case SIGVTALRM: got_vtalrm++; break;
	}
}

static const char *sig_name(int sig)
{
	return sig == SIGUSR1 ? "SIGUSR1" : sig == SIGUSR2 ? "SIGUSR2" : "?";
}

static void handle(int sig, int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	check(sigaction(sig, &sa, NULL) == 0, "sigaction");
}

static void test_signals(void)
{
	sigset_t block, old, empty;

	handle(SIGUSR1, 0);
	handle(SIGUSR2, 0);
	handle(SIGALRM, 0);
	handle(SIGVTALRM, SA_RESTART);

	/* kill: delivered before kill returns, with SI_USER. */
	kill(getpid(), SIGUSR1);
	printf("signals: kill delivered %d, signo %s, code %s\n", (int)got_usr1,
	       last_signo == SIGUSR1 ? "SIGUSR1" : "?", last_code == SI_USER ? "SI_USER" : "?");
	check(got_usr1 == 1, "kill SIGUSR1");

	/* raise via tgkill: SI_TKILL. */
	raise(SIGUSR2);
	printf("signals: raise delivered %d, code %s\n", (int)got_usr2,
	       last_code == SI_TKILL ? "SI_TKILL" : "?");

	/* Blocked signals stay pending, are reported by sigpending, and are
	 * delivered when unblocked: lower-numbered standard signals first. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &old);
	norder = 0;
	kill(getpid(), SIGUSR2);
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR1); /* merged with the pending one */
	sigset_t pend;
	sigpending(&pend);
	printf("signals: pending usr1 %d usr2 %d, delivered while blocked %d\n",
	       sigismember(&pend, SIGUSR1), sigismember(&pend, SIGUSR2), (int)norder);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* Unblocking makes both deliverable at once: the kernel sets up
	 * SIGUSR1's frame first and then SIGUSR2's on top of it before
	 * returning to user mode, so SIGUSR2's handler runs first. */
	printf("signals: after unblock handlers ran %s then %s, count %d\n",
	       sig_name(order[0]), sig_name(order[1]), (int)norder);
	check(norder == 2, "pending signals merged");

	/* alarm + sigsuspend: block SIGALRM, arm it, and wait for it atomically
	 * so it cannot arrive between the check and the wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	alarm(1);
	sigemptyset(&empty);
	while (!got_alrm) {
		int r = sigsuspend(&empty);
		check(r == -1 && errno == EINTR, "sigsuspend returns EINTR");
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	printf("signals: alarm %d, code %s\n", (int)got_alrm,
	       last_code == SI_KERNEL ? "SI_KERNEL" : "?");

	/* A periodic real-time timer: five expiries, each waited for with
	 * sigsuspend. */
	struct itimerval it = {{0, 20000}, {0, 20000}};
	sigprocmask(SIG_BLOCK, &block, &old);
	got_alrm = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	while (got_alrm < 5)
		sigsuspend(&empty);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	printf("signals: itimer real %s\n", got_alrm >= 5 ? "5 expiries" : "?");

	/* A virtual timer only runs while the process runs: spin until it
	 * fires three times. */
	struct itimerval vt = {{0, 10000}, {0, 10000}};
	setitimer(ITIMER_VIRTUAL, &vt, NULL);
	volatile uint64_t spin = 0;
	while (got_vtalrm < 3)
		spin++;
	memset(&vt, 0, sizeof(vt));
	setitimer(ITIMER_VIRTUAL, &vt, NULL);
	printf("signals: itimer virtual %s\n", got_vtalrm >= 3 ? "3 expiries" : "?");

	/* A child signals its parent, which waits in sigsuspend. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	got_usr1 = 0;
	pid_t pid = fork();
	if (pid == 0) {
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	while (!got_usr1)
		sigsuspend(&empty);
	sigprocmask(SIG_SETMASK, &old, NULL);
	int st;
	waitpid(pid, &st, 0);
	printf("signals: from child %d, child exit %d\n", (int)got_usr1, WEXITSTATUS(st));
}

/* --- fork ----------------------------------------------------------------- */

#define NCHILDREN 200
#define NPINGS 500

static void test_fork(void)
{
	/* Many short children, each exiting with its own status. */
	int sum = 0, ok = 1;
	for (int i = 0; i < NCHILDREN; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			check(0, "fork");
			return;
		}
		if (pid == 0)
			_exit(i & 0xff);
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 0xff))
			ok = 0;
		sum += WEXITSTATUS(st);
	}
	printf("fork: %d children, exit statuses sum %d, %s\n", NCHILDREN, sum, ok ? "ok" : "BAD");
	check(ok, "fork: waitpid statuses");

	/* Children alive at the same time, reaped in any order by wait. */
	pid_t pids[16];
	for (int i = 0; i < 16; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			for (volatile int k = 0; k < 1000 * (16 - i); k++)
				;
			_exit(100 + i);
		}
	}
	int seen = 0;
	for (int n = 0; n < 16; n++) {
		int st;
		pid_t p = wait(&st);
		for (int i = 0; i < 16; i++)
			if (p == pids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 100 + i)
				seen |= 1 << i;
	}
	printf("fork: 16 concurrent children reaped %s\n", seen == 0xffff ? "ok" : "BAD");
	check(seen == 0xffff, "fork: concurrent children");

	/* Termination by a signal and a stop/continue, as waitpid reports. */
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	int st;
	kill(pid, SIGSTOP);
	waitpid(pid, &st, WUNTRACED);
	printf("fork: stopped %d by %s\n", WIFSTOPPED(st), WSTOPSIG(st) == SIGSTOP ? "SIGSTOP" : "?");
	kill(pid, SIGCONT);
	waitpid(pid, &st, WCONTINUED);
	printf("fork: continued %d\n", WIFCONTINUED(st));
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	printf("fork: signaled %d by %s\n", WIFSIGNALED(st), WTERMSIG(st) == SIGTERM ? "SIGTERM" : "?");

	/* Ping-pong over two pipes: every byte is a switch between the two
	 * processes. */
	int p2c[2], c2p[2];
	check(pipe(p2c) == 0 && pipe(c2p) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		unsigned char b;
		close(p2c[1]);
		close(c2p[0]);
		while (read(p2c[0], &b, 1) == 1) {
			b = (unsigned char)(b * 7 + 3);
			if (write(c2p[1], &b, 1) != 1)
				_exit(2);
		}
		_exit(0);
	}
	close(p2c[0]);
	close(c2p[1]);
	unsigned char b = 1;
	unsigned sum8 = 0;
	for (int i = 0; i < NPINGS; i++) {
		if (write(p2c[1], &b, 1) != 1 || read(c2p[0], &b, 1) != 1) {
			check(0, "ping-pong");
			break;
		}
		sum8 += b;
	}
	close(p2c[1]);
	waitpid(pid, &st, 0);
	close(c2p[0]);
	printf("fork: %d ping-pongs, sum %u, child exit %d\n", NPINGS, sum8, WEXITSTATUS(st));

	/* A chain of processes joined by pipes, each adding its index to
	 * every number that passes through. */
	enum { STAGES = 8, NUMS = 1000 };
	int in[2];
	check(pipe(in) == 0, "pipe");
	int prev = in[0];
	pid_t stage[STAGES];
	for (int s = 0; s < STAGES; s++) {
		int out[2];
		check(pipe(out) == 0, "pipe");
		stage[s] = fork();
		if (stage[s] == 0) {
			close(in[1]);
			close(out[0]);
			FILE *r = fdopen(prev, "r"), *w = fdopen(out[1], "w");
			long v;
			while (fscanf(r, "%ld", &v) == 1)
				fprintf(w, "%ld\n", v + s);
			fclose(w);
			_exit(0);
		}
		close(prev);
		close(out[1]);
		prev = out[0];
	}
	pid = fork();
	if (pid == 0) {
		close(prev);
		FILE *w = fdopen(in[1], "w");
		for (int i = 0; i < NUMS; i++)
			fprintf(w, "%d\n", i);
		fclose(w);
		_exit(0);
	}
	close(in[1]);
	FILE *r = fdopen(prev, "r");
	long v, total = 0;
	int n = 0;
	while (fscanf(r, "%ld", &v) == 1) {
		total += v;
		n++;
	}
	fclose(r);
	int allok = 1;
	for (int s = 0; s < STAGES; s++)
		if (waitpid(stage[s], &st, 0) != stage[s] || !WIFEXITED(st) || WEXITSTATUS(st))
			allok = 0;
	waitpid(pid, &st, 0);
	printf("fork: pipeline of %d stages, %d numbers, total %ld, %s\n", STAGES, n, total,
	       allok ? "ok" : "BAD");
	check(n == NUMS && allok, "fork: pipeline");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_threads();
	test_signals();
	test_fork();
	printf("procs: %s\n", bad ? "FAILED" : "ok");
	return bad;
}
