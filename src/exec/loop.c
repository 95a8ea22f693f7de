/*
 * The exec loop: find or translate the TB at the guest pc, chain it to the
 * previous one, run it, and decide from its exit value what comes next.
 * Also the two ways out of generated code other than a TB exit: helpers
 * raising a guest exception (exec_raise) and host faults in translated code
 * (exec_host_fault), which host/ reads as the host CPU's exception and
 * guest/ turns into the guest's.  Both unwind with siglongjmp to exec_run,
 * whose frame is the only one alive below translated code, and the loop
 * returns EXEC_FAULT with a struct guest_exception: what it becomes is the
 * environment's.
 *
 * Threads: every guest thread runs exec_run on its own host thread with its
 * own cpu and jump cache.  Lookups take no lock; translation and chaining
 * take tb_lock (tb.c).  A flush frees TBs, so it first stops every other cpu
 * outside translated code: a cpu is busy from before its first lookup until
 * exec_run returns, except while it waits for tb_lock.  The invariant: no
 * cpu holds a TB pointer or runs translated code while another flushes.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include "exec/exec-internal.h"
#include "util/log.h"

__thread void *exec_current_cpu;

/* ---- cpus and flushes ----
 * cpus[] lists every cpu with a jump cache; it changes under tb_lock.  The
 * flusher sets `stopping`, then waits for each other cpu's busy to clear; a
 * cpu sets busy, then checks `stopping` and backs off if it is set.  Both
 * sides use sequentially consistent accesses, so either the flusher sees
 * the cpu busy and waits, or the cpu sees the flush and waits for tb_lock,
 * which the flusher holds until it is done. */
static struct cpu_exec **cpus;
static uint32_t ncpus;
static int stop_depth;		/* exec_stop_cpus nesting, under tb_lock */
static volatile int stopping;
static uint64_t flush_gen;	/* incremented by every stop */

static void register_cpu(void *cpu)
{
	struct cpu_exec *x = exec_state(cpu);

	if (x->jmp_cache)
		return;
	tb_lock();
	x->jmp_cache = calloc(JMP_CACHE_SIZE, sizeof(struct tb *));
	struct cpu_exec **n = realloc(cpus, (ncpus + 1) * sizeof(*cpus));
	if (!x->jmp_cache || !n)
		fatal(LOOM_EXIT_INTERNAL, "out of memory");
	cpus = n;
	cpus[ncpus++] = x;
	tb_unlock();
}

void exec_cpu_start(void *cpu)
{
	exec_current_cpu = cpu;
	if (exec_hooks.vcpu_start)
		exec_hooks.vcpu_start(cpu);
}

void exec_exit_cpu(void *cpu)
{
	struct cpu_exec *x = exec_state(cpu);

	if (exec_hooks.vcpu_stop)
		exec_hooks.vcpu_stop(cpu);
	tb_lock();
	for (uint32_t i = 0; i < ncpus; i++) {
		if (cpus[i] == x) {
			cpus[i] = cpus[--ncpus];
			break;
		}
	}
	free(x->jmp_cache);
	x->jmp_cache = NULL;
	tb_unlock();
	if (exec_current_cpu == cpu)
		exec_current_cpu = NULL;
}

void exec_forget_other_cpus(void)
{
	struct cpu_exec *self = exec_current_cpu ? exec_state(exec_current_cpu) : NULL;

	ncpus = 0;
	if (self && self->jmp_cache)
		cpus[ncpus++] = self;
	stop_depth = 0;
	stopping = 0;
}

void exec_stop_cpus(void)
{
	struct cpu_exec *self = exec_current_cpu ? exec_state(exec_current_cpu) : NULL;

	if (stop_depth++)
		return;
	__atomic_store_n(&stopping, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < ncpus; i++)
		if (cpus[i] != self)
			cpus[i]->exit_request = 1;
	for (uint32_t i = 0; i < ncpus; i++)
		while (cpus[i] != self && __atomic_load_n(&cpus[i]->busy, __ATOMIC_SEQ_CST))
			sched_yield();
	__atomic_store_n(&flush_gen, flush_gen + 1, __ATOMIC_RELEASE);
}

void exec_resume_cpus(void)
{
	if (--stop_depth == 0)
		__atomic_store_n(&stopping, 0, __ATOMIC_SEQ_CST);
}

void exec_clear_jmp_caches(void)
{
	for (uint32_t i = 0; i < ncpus; i++)
		memset(cpus[i]->jmp_cache, 0, JMP_CACHE_SIZE * sizeof(struct tb *));
}

void exec_jc_forget(struct tb *tb)
{
	uint32_t j = (tb->pc ^ (tb->pc >> JMP_CACHE_BITS)) & (JMP_CACHE_SIZE - 1);
	for (uint32_t i = 0; i < ncpus; i++)
		__atomic_compare_exchange_n(&cpus[i]->jmp_cache[j], &(struct tb *){ tb }, NULL,
					    false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

uint64_t exec_flush_gen(void)
{
	return __atomic_load_n(&flush_gen, __ATOMIC_ACQUIRE);
}

static void set_busy(struct cpu_exec *x)
{
	for (;;) {
		__atomic_store_n(&x->busy, 1, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&stopping, __ATOMIC_SEQ_CST))
			return;
		__atomic_store_n(&x->busy, 0, __ATOMIC_SEQ_CST);
		tb_lock();	/* held by the flusher until it is done */
		tb_unlock();
	}
}

static enum exec_exit leave(void *cpu, struct cpu_exec *x, enum exec_exit e)
{
	exec_guest.leave(cpu);
	__atomic_store_n(&x->busy, 0, __ATOMIC_SEQ_CST);
	return e;
}

/* ---- the loop ---- */

/* A flush asked for from inside translated code (instrumentation changed):
 * the asking cpu leaves at its next TB entry and flushes from the loop, where
 * it holds no TB. */
static volatile int flush_requested;

void exec_request_flush(void)
{
	__atomic_store_n(&flush_requested, 1, __ATOMIC_SEQ_CST);
	if (exec_current_cpu)
		exec_state(exec_current_cpu)->exit_request = 1;
}

static uint32_t tb_flags(void)
{
	return (exec_opts.single_insn ? CF_SINGLE_INSN : 0) | (exec_opts.nochain ? CF_NOCHAIN : 0);
}

/* The slow path of a lookup, and chaining last's exit last_n to the TB
 * found: both under tb_lock.  Returns false if a flush ran while this cpu
 * waited for the lock (tb and last were freed: look up again).  *tb is
 * NULL afterwards if the pc cannot be translated. */
static bool find_and_chain(struct cpu_exec *x, uint64_t pc, uint32_t flags, struct tb **tb,
			   struct tb *last, int last_n)
{
	uint64_t gen = exec_flush_gen();

	tb_lock();
	if (exec_flush_gen() != gen) {
		tb_unlock();
		return false;
	}
	if (!*tb) {
		*tb = tb_lookup(x, pc, flags);	/* another thread may have made it */
		if (!*tb) {
			*tb = tb_gen_code(pc, flags);
			if (*tb)
				x->jmp_cache[(pc ^ (pc >> JMP_CACHE_BITS)) & (JMP_CACHE_SIZE - 1)] = *tb;
			if (exec_flush_gen() != gen)
				last = NULL;	/* translating flushed the cache */
		}
	}
	if (*tb && last)
		tb_add_jump(last, last_n, *tb);
	tb_unlock();
	return true;
}

enum exec_exit exec_run(void *cpu)
{
	struct cpu_exec *x = exec_state(cpu);
	uint32_t flags = tb_flags();
	struct tb *last = NULL;
	int last_n = 0;
	uint64_t branch_pc = 0;	/* the last instruction of the TB just left */
	uint32_t base_flags = flags;

	exec_current_cpu = cpu;
	register_cpu(cpu);
	if (sigsetjmp(x->jmp_env, 0)) {
		/* A helper or a host fault unwound here with pending_exit set. */
		x->in_guest = 0;
		enum exec_exit e = x->pending_exit;
		x->pending_exit = 0;
		return leave(cpu, x, e);
	}
	set_busy(x);
	exec_guest.enter(cpu);
	for (;;) {
		if (x->exit_request) {
			x->exit_request = 0;
			return leave(cpu, x, EXEC_REQUEST);
		}
		if (__atomic_load_n(&flush_requested, __ATOMIC_SEQ_CST) &&
		    __atomic_exchange_n(&flush_requested, 0, __ATOMIC_SEQ_CST)) {
			exec_flush_all();
			last = NULL;
		}
		/* Single-stepping and the guest's mode (system mode's CPL)
		 * change which TBs run.  The inline lookup of indirect
		 * branches compares only the pc, so the jump cache is emptied
		 * when they change. */
		uint32_t want = base_flags | (exec_guest.tracing(cpu) ? CF_TRACE : 0) |
				exec_guest.tb_mode(cpu);
		if (want != flags) {
			flags = want;
			memset(x->jmp_cache, 0, JMP_CACHE_SIZE * sizeof(struct tb *));
			last = NULL;
		}
		uint64_t pc = exec_guest.pc(cpu);
		struct tb *tb;
		if (x->smc_work) {	/* SMC restart, stale self-check (smc.c) */
			exec_guest.leave(cpu);
			tb = tb_smc_lookup(x, pc, flags);
			exec_guest.enter(cpu);
			last = NULL;
		} else {
			tb = tb_lookup(x, pc, flags);
		}
		if (flags & CF_NOCHAIN)
			last = NULL;
		if (!tb || last) {
			/* Translating runs loom's and plugins' own code: not
			 * under the guest's MXCSR (guest.h) */
			exec_guest.leave(cpu);
			bool ok = find_and_chain(x, pc, flags, &tb, last, last_n);
			exec_guest.enter(cpu);
			if (!ok) {
				last = NULL;
				continue;
			}
		}
		if (!tb) {
			/* A branch the guest CPU refuses faults at the branch;
			 * else the first instruction cannot be fetched. */
			exec_guest.fetch_fault(cpu, branch_pc, &x->exc);
			return leave(cpu, x, EXEC_FAULT);
		}
		if (log_enabled(LOG_CPU))
			exec_guest.dump_state(cpu, log_file ? log_file : stderr);
		if (log_enabled(LOG_EXEC))
			log_printf("Trace: %p [%016lx]\n", (void *)tb->code, (unsigned long)pc);

		x->in_guest = 1;
		uintptr_t ret = exec_enter(cpu, tb->code);
		x->in_guest = 0;

		last = NULL;
		branch_pc = 0;
		if (x->pending_exit) {
			enum exec_exit e = x->pending_exit;
			x->pending_exit = 0;
			return leave(cpu, x, e);
		}
		if (!ret)
			continue;
		struct tb *from = (struct tb *)(ret & ~(uintptr_t)TB_EXIT_MASK);
		if ((ret & TB_EXIT_MASK) != TB_EXIT_REQUESTED)
			branch_pc = from->insn_pc[from->ninsns - 1];
		switch (ret & TB_EXIT_MASK) {
		case TB_EXIT_IDX0:
		case TB_EXIT_IDX1:
			last = from;
			last_n = ret & TB_EXIT_MASK;
			break;
		case TB_EXIT_REQUESTED:
			exec_guest.set_pc(cpu, from->pc);
			break;
		default:
			break;
		}
	}
}

void exec_raise(void *cpu, const struct guest_exception *e)
{
	struct cpu_exec *x = exec_state(cpu);
	x->exc = *e;
	x->pending_exit = EXEC_FAULT;
	siglongjmp(x->jmp_env, 1);
}

/* A write fault on a page loom write-protected (smc.c).  No lock here: a
 * flush may be waiting for this cpu to leave translated code.  A store in
 * translated code is restarted from the loop as a one-shot TB once the page
 * is unprotected; anything else (a helper, loom itself) retries at once on a
 * page smc_write_fault made writable, and the loop drops the stale TBs. */
static bool smc_host_fault(siginfo_t *si, ucontext_t *uc, void *cpu)
{
	struct cpu_exec *x = cpu ? exec_state(cpu) : NULL;
	uintptr_t hpc = host_fault_pc(uc);
	struct tb *tb = x && x->in_guest ? tb_find_by_host_pc(hpc) : NULL;

	switch (smc_write_fault((uintptr_t)si->si_addr, tb)) {
	case SMC_NOT_OURS:
		return false;
	case SMC_RETRY:
		if (x) {
			x->smc_work |= SMC_WORK_DRAIN;
			if (x->in_guest)
				x->exit_request = 1;
		}
		return true;
	case SMC_RESTART:
		break;
	}
	exec_guest.set_pc(cpu, tb_guest_pc_of(tb, hpc));
	host_unwind_pin(cpu, uc);
	if (tb->instr_fix && exec_hooks.fault_fixup)	/* the store's instruction runs again */
		exec_hooks.fault_fixup(cpu, tb, tb_insn_index_of(tb, hpc), false);
	exec_guest.host_signal_unwind(cpu, uc);
	x->smc_work |= SMC_WORK_RESTART;
	x->pending_exit = EXEC_REQUEST;
	x->in_guest = 0;
	sigprocmask(SIG_SETMASK, &uc->uc_sigmask, NULL);
	siglongjmp(x->jmp_env, 1);
}

bool exec_host_fault(siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	void *cpu = exec_current_cpu;
	struct guest_exception e;
	host_fault_exception(si, uc, &e);
	if (e.map == EXC_MAP_DENIED && host_fault_is_write(uc) && smc_host_fault(si, uc, cpu))
		return true;
	if (!cpu)
		return false;
	struct cpu_exec *x = exec_state(cpu);
	if (!x->in_guest)
		return false;
	uintptr_t hpc = host_fault_pc(uc);
	struct tb *tb = tb_find_by_host_pc(hpc);
	/* In translated code the insn_start table gives the guest pc; in a
	 * helper that may fault, the lifter stored the pc before the call. */
	if (tb) {
		exec_guest.set_pc(cpu, tb_guest_pc_of(tb, hpc));
		host_unwind_pin(cpu, uc);	/* (in a helper it was flushed) */
		if (tb->instr_fix && exec_hooks.fault_fixup)
			exec_hooks.fault_fixup(cpu, tb, tb_insn_index_of(tb, hpc), true);
	}
	/* The host's exception, made the guest's */
	x->exc = e;
	exec_guest.fault_refine(cpu, &x->exc);
	x->pending_exit = EXEC_FAULT;
	x->in_guest = 0;
	exec_guest.host_signal_unwind(cpu, uc);
	/* Leave the handler with the mask the guest code ran under. */
	sigprocmask(SIG_SETMASK, &uc->uc_sigmask, NULL);
	siglongjmp(x->jmp_env, 1);
}
