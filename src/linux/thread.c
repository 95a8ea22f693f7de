/*
 * Guest threads.  A guest thread (clone with CLONE_THREAD, which is what
 * glibc's and musl's pthread_create ask for, through clone or clone3) runs
 * on a host thread of its own with a struct cpu of its own.  The host thread
 * comes from pthread_create, so loom's own code there (glibc, malloc, the
 * __thread variables such as exec_current_cpu) works as on the first
 * thread; the guest's thread pointer is only cpu->fs_base.  Host thread ids
 * are the guest's, so gettid, tgkill and futexes pass through.
 *
 * What the kernel does for a thread, loom does here: the CLONE_PARENT_SETTID
 * and CLONE_CHILD_SETTID stores before either thread runs guest code, and
 * at exit the CLONE_CHILD_CLEARTID (or set_tid_address) store of 0 and
 * futex wake that pthread_join waits for.  The host thread's own
 * clear_child_tid belongs to loom's glibc, which frees the host stack by
 * it, so set_tid_address is emulated.  set_robust_list passes through: the
 * kernel walks the guest's list when the host thread exits (just after the
 * clear-tid store here, where the kernel does it just before).
 *
 * exit ends the calling thread only; when the last thread exits, the
 * process ends with that thread's status (what the host kernel reports,
 * whichever thread led the group).  exit_group ends every thread at once
 * (linux_exit_group).  fork keeps only the calling thread.
 *
 * Invariant: a host thread made here leaves only by returning from
 * thread_main (thread_exit unwinds there with longjmp), so glibc reclaims
 * its stack; the first host thread, which glibc made before main, leaves
 * with the raw exit syscall.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "exec/exec.h"
#include "linux/linux.h"
#include "linux/syscall.h"
#include "util/log.h"

#define THREAD_HOST_STACK (8u << 20)

struct linux_thread {
	struct cpu *cpu;
	uint64_t clear_child_tid;	/* CLONE_CHILD_CLEARTID, set_tid_address */
	bool first;			/* loom's first host thread */
	jmp_buf exit_env;		/* in thread_main, for thread_exit */
};

static struct linux_thread first_thread = { .first = true };
static __thread struct linux_thread *thread_cur;	/* NULL on the first thread */

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static int nthreads = 1;	/* live guest threads */

static struct linux_thread *thread_self(void)
{
	return thread_cur ? thread_cur : &first_thread;
}

/* The parent's hand-off to a new thread, on the parent's stack until the
 * child posts `ready`. */
struct thread_start {
	struct linux_thread *t;
	const struct clone_req *r;
	uint64_t blocked;		/* the parent's guest signal mask */
	sem_t ready;
	int64_t result;			/* the new tid, or -errno */
};

static void *thread_main(void *arg)
{
	struct thread_start *st = arg;
	struct linux_thread *t = st->t;
	struct cpu *cpu = t->cpu;
	uint64_t flags = st->r->flags;
	int32_t tid = (int32_t)raw_syscall(__NR_gettid, 0, 0, 0, 0, 0, 0);
	long err = 0;

	/* Without CLONE_FILES or CLONE_FS the thread gets copies, which a
	 * host thread can ask for itself. */
	if (!(flags & CLONE_FILES))
		err = raw_syscall(__NR_unshare, CLONE_FILES, 0, 0, 0, 0, 0);
	if (!err && !(flags & CLONE_FS))
		err = raw_syscall(__NR_unshare, CLONE_FS, 0, 0, 0, 0, 0);
	if (err) {
		st->result = err;	/* the parent frees t and cpu */
		sem_post(&st->ready);
		return NULL;
	}
	thread_cur = t;
	cpu->x.tid = tid;
	if (flags & CLONE_PARENT_SETTID)
		guest_write(st->r->parent_tid, &tid, sizeof(tid));
	if (flags & CLONE_CHILD_SETTID)
		guest_write(st->r->child_tid, &tid, sizeof(tid));
	uint64_t blocked = st->blocked;
	st->result = tid;
	sem_post(&st->ready);	/* st is gone from here on */

	exec_cpu_start(cpu);
	sig_thread_start(blocked);
	if (!setjmp(t->exit_env))
		linux_cpu_loop(cpu);
	exec_cpu_free(cpu);
	free(t);
	return NULL;
}

int64_t thread_clone(struct cpu *cpu, const struct clone_req *r)
{
	struct linux_thread *t;
	struct cpu *child;
	pthread_attr_t attr;
	pthread_t th;

	if (r->flags & CLONE_PIDFD)
		return -EINVAL;	/* pidfds of threads are not supported */
	t = calloc(1, sizeof(*t));
	child = exec_cpu_new();
	if (!t || !child) {
		free(t);
		exec_cpu_free(child);
		return t ? -EAGAIN : -ENOMEM;	/* no vCPU left: the kernel's thread limit */
	}
	/* The parent's registers, past the syscall, with rax = 0. */
	uint32_t index = child->x.cpu_index;
	memcpy(child, cpu, sizeof(*child));
	memset(&child->x, 0, sizeof(child->x));
	child->x.cpu_index = index;
	child->regs[R_RAX] = 0;
	if (r->stack)
		child->regs[R_RSP] = r->stack;
	if (r->flags & CLONE_SETTLS) {	/* as ARCH_SET_FS */
		child->fs_base = r->tls;
		child->seg[SREG_FS] = 0;
	}
	t->cpu = child;
	if (r->flags & CLONE_CHILD_CLEARTID)
		t->clear_child_tid = r->child_tid;

	struct thread_start st = { .t = t, .r = r, .blocked = sig_blocked_mask() };
	sem_init(&st.ready, 0, 0);
	pthread_mutex_lock(&threads_lock);
	nthreads++;
	pthread_mutex_unlock(&threads_lock);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_HOST_STACK);
	/* The new thread inherits a host mask that blocks every async signal:
	 * it has nowhere to record one before sig_thread_start. */
	sig_block_host();
	int e = pthread_create(&th, &attr, thread_main, &st);
	sig_restore_host();
	pthread_attr_destroy(&attr);
	if (e == 0)
		while (sem_wait(&st.ready) < 0 && errno == EINTR)
			;
	sem_destroy(&st.ready);
	if (e || st.result < 0) {
		pthread_mutex_lock(&threads_lock);
		nthreads--;
		pthread_mutex_unlock(&threads_lock);
		exec_cpu_free(child);
		free(t);
		return e ? -e : st.result;
	}
	return st.result;
}

int linux_thread_count(void)
{
	return __atomic_load_n(&nthreads, __ATOMIC_RELAXED);
}

noreturn void thread_exit(struct cpu *cpu, int status)
{
	struct linux_thread *t = thread_self();

	pthread_mutex_lock(&threads_lock);
	bool last = --nthreads == 0;
	pthread_mutex_unlock(&threads_lock);
	if (last)
		linux_exit_group(status);

	sig_thread_exit();	/* from here on no signal comes to this thread */
	exec_exit_cpu(cpu);
	if (t->clear_child_tid) {
		int32_t zero = 0;
		if (guest_write(t->clear_child_tid, &zero, sizeof(zero)) == 0)
			raw_syscall(__NR_futex, t->clear_child_tid, FUTEX_WAKE, 1, 0, 0, 0);
	}
	if (t->first)
		for (;;)
			raw_syscall(__NR_exit, 0, 0, 0, 0, 0, 0);
	longjmp(t->exit_env, 1);
}

int64_t sys_set_tid_address(struct cpu *cpu, struct sys_call *c)
{
	thread_self()->clear_child_tid = c->a[0];
	return raw_syscall(__NR_gettid, 0, 0, 0, 0, 0, 0);
}

void thread_set_clear_tid(uint64_t addr)
{
	thread_self()->clear_child_tid = addr;
}

void thread_fork_prepare(void)
{
	pthread_mutex_lock(&threads_lock);
	sig_fork_prepare();
}

void thread_fork_parent(void)
{
	sig_fork_parent();
	pthread_mutex_unlock(&threads_lock);
}

void thread_fork_child(void)
{
	/* The locks' owner was the parent's thread: new locks. */
	pthread_mutex_init(&threads_lock, NULL);
	nthreads = 1;
	sig_after_fork_child();
}
