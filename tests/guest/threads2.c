/* Threads, part two: lock-prefixed read-modify-write and a pthread mutex
 * from many threads at once; joining 50 short-lived threads; __thread
 * variables that differ per thread; a signal sent with pthread_kill to one
 * thread spinning in a tight loop (it must arrive there, promptly); a
 * process-wide signal that only one thread leaves unblocked (it must be
 * that thread that runs the handler); fork while other threads run (the
 * child has only the forking thread); and last, a thread calling exit(),
 * which ends the whole process with its status. */
#include "guest.h"
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long gettid_(void) { return syscall(SYS_gettid); }

/* ---- counters ---- */

enum { NCOUNT = 8, COUNT_ITERS = 20000 };

static long lock_counter, xadd_sum, mutex_counter;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t start_line;

static void *counter_worker(void *arg)
{
	long id = (long)arg;
	pthread_barrier_wait(&start_line);
	for (int i = 0; i < COUNT_ITERS; i++) {
		long one = 1;
		__asm__ volatile("lock incq %0" : "+m"(lock_counter));
		__asm__ volatile("lock xaddq %0, %1" : "+r"(one), "+m"(xadd_sum));
		if ((i & 3) == (id & 3)) {
			pthread_mutex_lock(&mutex);
			long v = mutex_counter;
			HIDE(v);
			mutex_counter = v + 1;
			pthread_mutex_unlock(&mutex);
		}
	}
	return NULL;
}

static void test_counters(void)
{
	pthread_t t[NCOUNT];
	pthread_barrier_init(&start_line, NULL, NCOUNT);
	for (long i = 0; i < NCOUNT; i++)
		pthread_create(&t[i], NULL, counter_worker, (void *)i);
	for (int i = 0; i < NCOUNT; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start_line);
	printf("lock inc %ld, lock xadd %ld, mutex %ld (want %d, %d, %d)\n", lock_counter,
	       xadd_sum, mutex_counter, NCOUNT * COUNT_ITERS, NCOUNT * COUNT_ITERS,
	       NCOUNT * COUNT_ITERS / 4);
}

/* ---- short-lived threads and TLS ---- */

static __thread long tls_id = -1;
static __thread char tls_name[32] = "main";

static void *short_worker(void *arg)
{
	long id = (long)arg;
	long before = tls_id;		/* a new thread sees the initial image */
	int fresh = strcmp(tls_name, "main") == 0;
	tls_id = id;
	snprintf(tls_name, sizeof(tls_name), "worker-%ld", id);
	long sum = 0;
	for (long i = 0; i <= id; i++)
		sum += i * tls_id;
	int mine = tls_id == id && strcmp(tls_name + 7, "") != 0 && atol(tls_name + 7) == id;
	return (void *)(sum * 4 + (before == -1) * 2 + (fresh && mine));
}

static void test_join50(void)
{
	pthread_t t[50];
	long total = 0, good = 0;
	for (long i = 0; i < 50; i++)
		pthread_create(&t[i], NULL, short_worker, (void *)i);
	for (int i = 0; i < 50; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (long)r >> 2;
		good += ((long)r & 3) == 3;
	}
	printf("50 joins: sum %ld, %ld threads saw their own TLS; main tls_id=%ld name=%s\n", total,
	       good, tls_id, tls_name);
}

/* ---- pthread_kill to a spinning thread ---- */

static volatile sig_atomic_t kicked;
static volatile long handler_tid, spinner_tid;
static volatile int spinning;

static void on_usr1(int sig)
{
	handler_tid = gettid_();
	kicked = 1;
}

static void *spinner(void *arg)
{
	spinner_tid = gettid_();
	__atomic_store_n(&spinning, 1, __ATOMIC_SEQ_CST);
	unsigned long n = 0;
	while (!kicked)		/* a tight loop: one block jumping to itself */
		n++;
	HIDE(n);
	return NULL;
}

static void test_pthread_kill(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_t t;
	pthread_create(&t, NULL, spinner, NULL);
	while (!__atomic_load_n(&spinning, __ATOMIC_SEQ_CST))
		sched_yield();
	alarm(20);		/* a lost signal kills the test instead of hanging it */
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	alarm(0);
	printf("pthread_kill: handler ran %s\n",
	       handler_tid == spinner_tid ? "on the spinning thread" : "ELSEWHERE");
}

/* ---- a process-wide signal only one thread accepts ---- */

static volatile sig_atomic_t got_usr2;
static volatile long usr2_tid, taker_tid;
static volatile int taker_ready;

static void on_usr2(int sig)
{
	usr2_tid = gettid_();
	got_usr2 = 1;
}

static void *taker(void *arg)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	taker_tid = gettid_();
	__atomic_store_n(&taker_ready, 1, __ATOMIC_SEQ_CST);
	while (!got_usr2)
		;
	return NULL;
}

static void test_routing(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, &old);	/* the taker inherits it, then unblocks */
	pthread_t t;
	pthread_create(&t, NULL, taker, NULL);
	while (!__atomic_load_n(&taker_ready, __ATOMIC_SEQ_CST))
		sched_yield();
	alarm(20);
	kill(getpid(), SIGUSR2);
	pthread_join(t, NULL);
	alarm(0);
	sigset_t pend;
	sigpending(&pend);
	printf("kill(getpid()): handled %s; still pending in main: %s\n",
	       usr2_tid == taker_tid ? "by the one thread not blocking it" : "ELSEWHERE",
	       sigismember(&pend, SIGUSR2) ? "yes" : "no");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---- fork with threads running ---- */

static volatile int stop_busy;

static void *busy(void *arg)
{
	unsigned long x = (unsigned long)arg;
	while (!stop_busy)
		x = x * 6364136223846793005ull + 1;
	return (void *)x;
}

static void test_fork(void)
{
	pthread_t t[3];
	for (long i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, busy, (void *)i);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* Only this thread exists here; malloc and stdio still work. */
		char *m = malloc(100);
		snprintf(m, 100, "fork child: alive, %s", "printing");
		printf("%s\n", m);
		free(m);
		pthread_t c;
		void *r;
		stop_busy = 0;
		pthread_create(&c, NULL, short_worker, (void *)9);	/* threads in the child too */
		pthread_join(c, &r);
		printf("fork child: a new thread returned %ld\n", (long)r >> 2);
		fflush(stdout);
		_exit(5);
	}
	int status;
	waitpid(pid, &status, 0);
	stop_busy = 1;
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("fork parent: child exited %d, busy threads joined\n",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* ---- exit() from a thread ---- */

static void *exiter(void *arg)
{
	printf("exiter: calling exit(7) while main and a spinner run\n");
	exit(7);
}

static void test_exit_from_thread(void)
{
	pthread_t s, e;
	stop_busy = 0;
	pthread_create(&s, NULL, busy, (void *)1);
	pthread_create(&e, NULL, exiter, NULL);
	pthread_join(e, NULL);	/* never returns: exit ends every thread */
	printf("main: NOT REACHED\n");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_counters();
	test_join50();
	test_pthread_kill();
	test_routing();
	test_fork();
	test_exit_from_thread();
	return 0;
}
