/*
 * The exec loop: find or translate the TB at the guest pc, chain it to the
 * previous one, run it, and decide from its exit value what comes next.
 * Also the two ways out of generated code other than a TB exit: helpers
 * raising a guest exception (exec_raise) and host faults in translated code
 * (exec_host_fault).  Both unwind with siglongjmp to exec_run, whose frame
 * is the only one alive below translated code.
 */
#include <string.h>
#include <ucontext.h>
#include "exec/exec-internal.h"
#include "guest/guest.h"
#include "util/log.h"

__thread void *exec_current_cpu;

static uint32_t tb_flags(void)
{
	return (exec_opts.single_insn ? CF_SINGLE_INSN : 0) | (exec_opts.nochain ? CF_NOCHAIN : 0);
}

static struct tb *find_tb(struct cpu_exec *x, uint64_t pc, uint32_t flags)
{
	struct tb *tb = tb_lookup(x, pc, flags);
	if (!tb) {
		tb = tb_gen_code(pc, flags);
		if (tb)
			x->jmp_cache[(pc ^ (pc >> JMP_CACHE_BITS)) & (JMP_CACHE_SIZE - 1)] = tb;
	}
	return tb;
}

enum exec_exit exec_run(void *cpu)
{
	struct cpu_exec *x = guest_exec_state(cpu);
	uint32_t flags = tb_flags();
	struct tb *last = NULL;
	int last_n = 0;

	exec_current_cpu = cpu;
	exec_register_cpu(x);
	exec_set_jc_layout(cpu);
	if (sigsetjmp(x->jmp_env, 0)) {
		/* A helper or a host fault unwound here with pending_exit set. */
		x->in_guest = 0;
		enum exec_exit e = x->pending_exit;
		x->pending_exit = 0;
		return e;
	}
	for (;;) {
		if (x->exit_request) {
			x->exit_request = 0;
			return EXEC_REQUEST;
		}
		uint64_t pc = guest_pc(cpu);
		struct tb *tb = find_tb(x, pc, flags);
		if (!tb) {
			/* The first instruction is not readable: fetch fault. */
			x->fault = (struct guest_fault){ .signo = SIGSEGV, .code = SEGV_MAPERR, .addr = pc };
			return EXEC_FAULT;
		}
		if (last && !(flags & CF_NOCHAIN))
			tb_add_jump(last, last_n, tb);
		if (log_enabled(LOG_CPU))
			guest_dump_state(cpu, log_file ? log_file : stderr);
		if (log_enabled(LOG_EXEC))
			log_printf("Trace: %p [%016lx]\n", (void *)tb->code, (unsigned long)pc);

		x->in_guest = 1;
		uintptr_t ret = exec_enter(cpu, tb->code);
		x->in_guest = 0;

		last = NULL;
		if (x->pending_exit) {
			enum exec_exit e = x->pending_exit;
			x->pending_exit = 0;
			return e;
		}
		if (!ret)
			continue;
		struct tb *from = (struct tb *)(ret & ~(uintptr_t)TB_EXIT_MASK);
		switch (ret & TB_EXIT_MASK) {
		case TB_EXIT_IDX0:
		case TB_EXIT_IDX1:
			last = from;
			last_n = ret & TB_EXIT_MASK;
			break;
		case TB_EXIT_REQUESTED:
			guest_set_pc(cpu, from->pc);
			break;
		default:
			break;
		}
	}
}

void exec_raise(void *cpu, int signo, int code, uint64_t addr)
{
	struct cpu_exec *x = guest_exec_state(cpu);
	x->fault = (struct guest_fault){ .signo = signo, .code = code, .addr = addr };
	x->pending_exit = EXEC_FAULT;
	siglongjmp(x->jmp_env, 1);
}

bool exec_host_fault(siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	void *cpu = exec_current_cpu;
	if (!cpu)
		return false;
	struct cpu_exec *x = guest_exec_state(cpu);
	if (!x->in_guest)
		return false;
	uintptr_t hpc = uc->uc_mcontext.gregs[REG_RIP];
	struct tb *tb = tb_find_by_host_pc(hpc);
	/* In translated code the insn_start table gives the guest pc; in a
	 * helper that may fault, the lifter stored the pc before the call. */
	if (tb)
		guest_set_pc(cpu, tb_guest_pc_of(tb, hpc));
	x->fault = (struct guest_fault){ .signo = si->si_signo, .code = si->si_code,
					 .addr = (uintptr_t)si->si_addr };
	x->pending_exit = EXEC_FAULT;
	x->in_guest = 0;
	/* Leave the handler with the mask the guest code ran under. */
	sigprocmask(SIG_SETMASK, &uc->uc_sigmask, NULL);
	siglongjmp(x->jmp_env, 1);
}
