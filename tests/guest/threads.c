/* Threads: pthread_create/join with return values, atomic read-modify-write
 * from several threads (lock xadd, lock cmpxchg loops), a mutex-protected
 * counter, a condition-variable ping-pong with a fixed hand-off order, and
 * thread-local variables (%fs-relative) that differ per thread. */
#include "guest.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { NT = 4, ITERS = 50000 };

static atomic_long counter;
static atomic_ulong cas_max;
static long locked_counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread long tls_value = 7;
static __thread char tls_buf[64];

static void *worker(void *arg)
{
	long id = (long)arg;
	tls_value = id * 100;
	for (int i = 0; i < 64; i++)
		tls_buf[i] = (char)(id + i);
	for (int i = 0; i < ITERS; i++) {
		atomic_fetch_add(&counter, 1);
		unsigned long mine = (unsigned long)id * ITERS + i, cur = atomic_load(&cas_max);
		while (mine > cur && !atomic_compare_exchange_weak(&cas_max, &cur, mine))
			;
		if (i % 10 == 0) {
			pthread_mutex_lock(&lock);
			locked_counter += id + 1;
			pthread_mutex_unlock(&lock);
		}
	}
	/* TLS survived all that and belongs to this thread alone. */
	long sum = 0;
	for (int i = 0; i < 64; i++)
		sum += tls_buf[i];
	return (void *)(tls_value + sum);
}

static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond = PTHREAD_COND_INITIALIZER;
static int turn, rounds_done;
static char log_buf[256];
static int log_len;

static void *pingpong(void *arg)
{
	int me = (int)(long)arg;
	for (int r = 0; r < 20; r++) {
		pthread_mutex_lock(&pp_lock);
		while (turn != me)
			pthread_cond_wait(&pp_cond, &pp_lock);
		log_buf[log_len++] = (char)('A' + me);
		turn = (turn + 1) % 3;
		rounds_done++;
		pthread_cond_broadcast(&pp_cond);
		pthread_mutex_unlock(&pp_lock);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[NT];
	for (long i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	long rets[NT];
	for (int i = 0; i < NT; i++) {
		void *r;
		pthread_join(t[i], &r);
		rets[i] = (long)r;
	}
	printf("counter=%ld (want %d) cas_max=%lu locked=%ld\n", (long)atomic_load(&counter), NT * ITERS,
	       (unsigned long)atomic_load(&cas_max), locked_counter);
	for (int i = 0; i < NT; i++)
		printf("thread %d returned %ld\n", i, rets[i]);
	printf("main tls_value=%ld (untouched by workers)\n", tls_value);

	pthread_t p[3];
	for (long i = 0; i < 3; i++)
		pthread_create(&p[i], NULL, pingpong, (void *)i);
	for (int i = 0; i < 3; i++)
		pthread_join(p[i], NULL);
	log_buf[log_len] = 0;
	printf("pingpong %d rounds: %s\n", rounds_done, log_buf);

	/* Many short-lived threads: creation and exit paths. */
	long total = 0;
	for (int round = 0; round < 20; round++) {
		pthread_t q[8];
		for (long i = 0; i < 8; i++)
			pthread_create(&q[i], NULL, worker, (void *)(i + 10));
		for (int i = 0; i < 8; i++) {
			void *r;
			pthread_join(q[i], &r);
			total += (long)r;
		}
	}
	printf("short-lived threads total %ld, counter %ld\n", total, (long)atomic_load(&counter));
	return 0;
}
