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
#include "exec/tlb.h"
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

#define JC_NONE (~0u)	/* a jump cache no mode owns */

static void register_cpu(void *cpu)
{
	struct cpu_exec *x = exec_state(cpu);

	if (x->jmp_cache)
		return;
	tb_lock();
	x->jc[0] = calloc(JMP_CACHE_SIZE, sizeof(struct tb *));
	x->jc_pages = calloc(2 * JC_PAGE_BITS / 64, sizeof(uint64_t));
	x->jc_used = calloc(JC_USED_MAX, sizeof(uint16_t));
	x->jc_nused = 0;
	struct cpu_exec **n = realloc(cpus, (ncpus + 1) * sizeof(*cpus));
	if (!x->jc[0] || !x->jc_pages || !x->jc_used || !n)
		fatal(LOOM_EXIT_INTERNAL, "out of memory");
	for (int i = 0; i < JMP_CACHE_MODES; i++)
		x->jc_flags[i] = JC_NONE;
	x->jc_cur = x->jc_victim = 0;
	x->jmp_cache = x->jc[0];
	cpus = n;
	cpus[ncpus++] = x;
	tb_unlock();
}

/* Make the jump cache of mode flags current: the one it has, else an
 * unused one, else the least recently taken one, emptied.  Only the cpu's
 * own thread switches, between TBs; other threads clear entries in every
 * cache under tb_lock, which is why the caches are never freed here. */
static void jc_select(struct cpu_exec *x, uint32_t flags)
{
	int pick = -1;
	for (int i = 0; i < JMP_CACHE_MODES && pick < 0; i++)
		if (x->jc[i] && x->jc_flags[i] == flags)
			pick = i;
	for (int i = 0; i < JMP_CACHE_MODES && pick < 0; i++)
		if (!x->jc[i] || x->jc_flags[i] == JC_NONE)
			pick = i;
	if (pick < 0) {
		pick = x->jc_victim;
		x->jc_victim = (x->jc_victim + 1) % JMP_CACHE_MODES;
		if (pick == (int)x->jc_cur) {
			pick = x->jc_victim;
			x->jc_victim = (x->jc_victim + 1) % JMP_CACHE_MODES;
		}
		/* (an entry another thread clears meanwhile stays clear) */
		memset(x->jc[pick], 0, JMP_CACHE_SIZE * sizeof(struct tb *));
	}
	if (!x->jc[pick]) {
		tb_lock();
		x->jc[pick] = calloc(JMP_CACHE_SIZE, sizeof(struct tb *));
		tb_unlock();
		if (!x->jc[pick])
			fatal(LOOM_EXIT_INTERNAL, "out of memory");
	}
	x->jc_flags[pick] = flags;
	x->jc_cur = pick;
	x->jmp_cache = x->jc[pick];
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
	for (int i = 0; i < JMP_CACHE_MODES; i++) {
		free(x->jc[i]);
		x->jc[i] = NULL;
	}
	free(x->jc_pages);
	x->jc_pages = NULL;
	free(x->jc_used);
	x->jc_used = NULL;
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

/* Every jump cache of x that some mode owns; with keep_global, all but
 * the entries of global pages (which jc_used does not list). */
static void jc_clear(struct cpu_exec *x, bool keep_global)
{
	if (x->jc_nused <= JC_USED_MAX && (keep_global || !x->jc_kept)) {
		/* only the slots filled since the last time: a CR3 write in
		 * system mode comes on every kernel entry and exit */
		for (uint32_t i = 0; i < x->jc_nused; i++) {
			uint32_t m = x->jc_used[i] >> JMP_CACHE_BITS;
			if (x->jc[m])
				x->jc[m][x->jc_used[i] & (JMP_CACHE_SIZE - 1)] = NULL;
		}
	} else {
		for (int m = 0; m < JMP_CACHE_MODES; m++)
			if (x->jc[m] && x->jc_flags[m] != JC_NONE)
				memset(x->jc[m], 0, JMP_CACHE_SIZE * sizeof(struct tb *));
	}
	if (!keep_global || x->jc_nused > JC_USED_MAX) {
		x->jc_kept = false;
		memset(x->jc_pages + JC_PAGE_BITS / 64, 0, JC_PAGE_BITS / 8);
	}
	x->jc_nused = 0;
	memset(x->jc_pages, 0, JC_PAGE_BITS / 8);
}

static void jc_clear_all(struct cpu_exec *x)
{
	jc_clear(x, false);
}

void exec_clear_jmp_caches(void)
{
	for (uint32_t i = 0; i < ncpus; i++)
		jc_clear_all(cpus[i]);
}

void exec_jc_forget(struct tb *tb)
{
	uint32_t j = (tb->pc ^ (tb->pc >> JMP_CACHE_BITS)) & (JMP_CACHE_SIZE - 1);
	for (uint32_t i = 0; i < ncpus; i++)
		for (int m = 0; m < JMP_CACHE_MODES; m++)
			if (cpus[i]->jc[m])
				__atomic_compare_exchange_n(&cpus[i]->jc[m][j], &(struct tb *){ tb },
							    NULL, false, __ATOMIC_SEQ_CST,
							    __ATOMIC_RELAXED);
}

void exec_jc_flush(void *cpu)
{
	struct cpu_exec *x = exec_state(cpu);
	if (x->jmp_cache)
		jc_clear_all(x);
}

void exec_jc_flush_nonglobal(void *cpu)
{
	struct cpu_exec *x = exec_state(cpu);
	if (x->jmp_cache)
		jc_clear(x, true);
}

/* The entries of one page lie all over the cache (the index mixes the page
 * number into the offset's bits): a scan of 4096 words, still cheaper than
 * losing every other page's entries to an invlpg.  Most invlpgs are of data
 * pages no TB came from, which jc_pages tells without the scan. */
void exec_jc_flush_range(void *cpu, uint64_t va, uint64_t size)
{
	struct cpu_exec *x = exec_state(cpu);
	uint64_t mask = ~(size - 1);
	if (!x->jmp_cache)
		return;
	if (size <= 4096) {
		uint64_t h = (va >> 12) & (JC_PAGE_BITS - 1);
		if (!((x->jc_pages[h / 64] | x->jc_pages[(JC_PAGE_BITS + h) / 64]) &
		      (1ull << (h % 64))))
			return;
	}
	for (int m = 0; m < JMP_CACHE_MODES; m++) {
		struct tb **jc = x->jc[m];
		if (!jc || x->jc_flags[m] == JC_NONE)
			continue;
		for (uint32_t j = 0; j < JMP_CACHE_SIZE; j++)
			if (jc[j] && (jc[j]->pc & mask) == (va & mask))
				jc[j] = NULL;
	}
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
static bool find_and_chain(struct cpu_exec *x, uint64_t pc, uint64_t phys, uint32_t flags,
			   struct tb **tb, struct tb *last, int last_n)
{
	uint64_t gen = exec_flush_gen();

	tb_lock();
	if (exec_flush_gen() != gen) {
		tb_unlock();
		return false;
	}
	if (!*tb) {
		*tb = tb_lookup(x, pc, phys, flags);	/* another thread may have made it */
		if (!*tb) {
			*tb = tb_gen_code(pc, phys, flags);
			if (*tb) {
				exec_jc_note(x, pc);
				x->jmp_cache[(pc ^ (pc >> JMP_CACHE_BITS)) & (JMP_CACHE_SIZE - 1)] = *tb;
			}
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
	uint32_t base_flags = tb_flags();
	struct tb *last = NULL;
	int last_n = 0;
	uint64_t branch_pc = 0;	/* the last instruction of the TB just left */
	/* The TB just left did not write the flags back: the next one
	 * overwrites them before it reads one (tb.h: cc_dead_exits), and must
	 * run before anything looks at them. */
	bool hold = false;
	/* A TB left at its exit-request check, whose opening overwrites the
	 * flags (tb.h: opening), runs once more first, as a one-shot TB of
	 * its `opening` instructions' block, so that whatever the request is
	 * for sees the guest's flags (and tools see the same block). */
	unsigned opening = 0;

	exec_current_cpu = cpu;
	register_cpu(cpu);
	/* the mode the current jump cache holds TBs of */
	uint32_t flags = x->jc_flags[x->jc_cur];
	if (tlb_softmmu && flags != JC_NONE)
		tlb_set_mode(tlb_of_env(cpu), flags);
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
		if (x->exit_request && !hold && !opening) {
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
		 * branches compares only the pc, so each mode has its own
		 * jump cache; in system mode the TLB's context follows. */
		uint32_t want = base_flags | (exec_guest.tracing(cpu) ? CF_TRACE : 0) |
				exec_guest.tb_mode(cpu);
		if (want != flags) {
			flags = want;
			jc_select(x, flags);
			if (tlb_softmmu)
				tlb_set_mode(tlb_of_env(cpu), flags);
			last = NULL;
		}
		uint64_t pc = exec_guest.pc(cpu), phys = pc;
		struct tb *tb = NULL;
		/* System mode: TBs are keyed by the physical address of their
		 * code, which an instruction fetch through the TLB gives; one
		 * that faults is the fetch fault below.  Chaining stays within
		 * the virtual page of the TB left: a mapping that changes
		 * makes a lookup of the page find another TB, but a chained
		 * jump would not look. */
		bool fetchable = !tlb_softmmu || tlb_code_phys(tlb_of_env(cpu), pc, &phys);
		if (tlb_softmmu && last && ((last->pc ^ pc) & TLB_PAGE_MASK))
			last = NULL;
		if (!fetchable) {
			last = NULL;
		} else if (x->smc_work) {	/* SMC restart, stale self-check (smc.c) */
			exec_guest.leave(cpu);
			tb = tb_smc_lookup(x, pc, phys, flags);
			exec_guest.enter(cpu);
			last = NULL;
		} else if (opening) {
			exec_guest.leave(cpu);
			tb = tb_opening_oneshot(pc, phys, flags, opening);
			exec_guest.enter(cpu);
			last = NULL;
		} else {
			tb = tb_lookup(x, pc, phys, flags);
		}
		if (flags & CF_NOCHAIN)
			last = NULL;
		if (fetchable && (!tb || last)) {
			/* Translating runs loom's and plugins' own code: not
			 * under the guest's MXCSR (guest.h) */
			exec_guest.leave(cpu);
			bool ok = find_and_chain(x, pc, phys, flags, &tb, last, last_n);
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
		/* (an SMC restart's one-shot TB ran one instruction of the
		 * opening; the block's own one-shot ran all of it) */
		hold = hold && (tb->flags & CF_ONESHOT) && !opening;
		opening = 0;
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
		if ((ret & TB_EXIT_MASK) < TB_NJMP) {
			last = from;
			last_n = ret & TB_EXIT_MASK;
			hold |= from->cc_dead_exits >> last_n & 1;
		} else if ((ret & TB_EXIT_MASK) == TB_EXIT_REQUESTED) {
			exec_guest.set_pc(cpu, from->pc);
			opening = from->opening ? from->ninsns : 0;
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
	host_fault_restore(tb, hpc, cpu, uc);
	exec_guest.set_pc(cpu, tb_guest_pc_of(tb, hpc));
	host_unwind_pin(cpu, uc);
	/* The store's instruction is finished by a one-shot, which does
	 * not repeat the adds made before its accesses. */
	if (tb->instr_fix && exec_hooks.fault_fixup)
		exec_hooks.fault_fixup(cpu, tb, tb_insn_index_of(tb, hpc), true);
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
	/* In translated code the backend's fault points give the guest
	 * globals it had not written back, and the insn_start table the guest
	 * pc; in a helper that may fault, the lifter stored the pc before the
	 * call and the globals are in env. */
	if (tb) {
		host_fault_restore(tb, hpc, cpu, uc);	/* first: the rest reads env */
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
