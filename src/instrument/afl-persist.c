/*
 * AFL++ persistent mode, with qemuafl's variables: a fork-server child runs
 * the code at AFL_QEMU_PERSISTENT_ADDR many times, one test case each,
 * instead of once.
 *
 *   _ADDR            the loop's start (a function's first instruction,
 *                    reached by a jump or call, so that a TB starts there)
 *   _RET             the loop's end: reaching this pc jumps back to _ADDR.
 *                    Without it, the return address at [rsp + _RETADDR_OFFSET]
 *                    (0: a function's entry) is replaced by _ADDR on every
 *                    entry, so that the function's return loops
 *   _GPR             restore the 16 general registers saved at the first
 *                    entry at every later one (rsp and the loop's return
 *                    address are always restored, or the stack would creep)
 *   _MEM             restore the guest's writable memory saved at the first
 *                    entry: every writable mapping, and of the stack only
 *                    what lies above rsp (mappings made later are kept)
 *   _CNT             iterations per child (default 1000), then it exits 0
 *   _EXITS           exit/exit_group in the loop end the iteration instead
 *   _HOOK            a shared object with afl_persistent_hook_init() (non-zero:
 *                    take test cases from afl-fuzz's shared memory) and
 *                    afl_persistent_hook(regs, guest_base, buf, len), called
 *                    at each iteration's start to place the test case
 *
 * An iteration ends when the loop comes back to _ADDR: the child stops
 * itself (SIGSTOP); the fork server, waiting with WUNTRACED, reports that
 * as a run that ended normally, and for the next test case resumes the
 * child (SIGCONT) instead of forking.
 *
 * Invariant: the loop's state is the child's; the fork server itself never
 * enters it (afl.child is false there), so every child starts afresh.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "guest/guest.h"
#include "guest/x86/cpu.h"
#include "instrument/afl-internal.h"
#include "exec/guest-mem.h"
#include "instrument/instrument.h"
#include "util/log.h"

/* The register block a qemuafl persistent hook receives (x86-64). */
struct afl_hook_regs {
	uint64_t rax, rbx, rcx, rdx, rdi, rsi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rsp, rflags;
	uint8_t zmm_regs[32][64];
};
typedef void (*afl_hook_fn)(struct afl_hook_regs *regs, uint64_t guest_base, uint8_t *buf,
			    uint32_t len);

struct snap {
	uint64_t addr, len;
	uint8_t *data;
};

static struct {
	bool on;
	uint64_t addr, ret;
	bool has_ret, gpr, mem, exits;
	int64_t retaddr_off;
	uint64_t cnt;
	afl_hook_fn hook;
	/* The child's loop. */
	bool looping;
	uint64_t iter;
	uint64_t regs[16];
	struct snap *snaps;
	int nsnaps;
} ps;

bool afl_persist_active(void)
{
	return ps.on;
}

uint64_t afl_persist_addr(void)
{
	return ps.addr;
}

void afl_persist_setup(void)
{
	bool set;
	ps.addr = afl_env_addr("AFL_QEMU_PERSISTENT_ADDR", &ps.on);
	if (!ps.on)
		return;
	ps.ret = afl_env_addr("AFL_QEMU_PERSISTENT_RET", &ps.has_ret);
	const char *s = getenv("AFL_QEMU_PERSISTENT_RETADDR_OFFSET");
	if (s && *s) {
		char *end;
		ps.retaddr_off = strtoll(s, &end, 0);
		if (*end)
			fatal(LOOM_EXIT_USAGE, "AFL_QEMU_PERSISTENT_RETADDR_OFFSET: '%s' is not a number", s);
	}
	ps.gpr = getenv("AFL_QEMU_PERSISTENT_GPR") != NULL;
	ps.mem = getenv("AFL_QEMU_PERSISTENT_MEM") != NULL;
	ps.exits = getenv("AFL_QEMU_PERSISTENT_EXITS") != NULL;
	ps.cnt = 1000;
	s = getenv("AFL_QEMU_PERSISTENT_CNT");
	if (s && *s) {
		char *end;
		ps.cnt = strtoull(s, &end, 0);
		if (*end)
			fatal(LOOM_EXIT_USAGE, "AFL_QEMU_PERSISTENT_CNT: '%s' is not a number", s);
	}
	s = getenv("AFL_QEMU_PERSISTENT_HOOK");
	if (s && *s) {
		void *h = dlopen(s, RTLD_NOW | RTLD_LOCAL);
		if (!h)
			fatal(LOOM_EXIT_USAGE, "AFL_QEMU_PERSISTENT_HOOK: %s", dlerror());
		ps.hook = (afl_hook_fn)dlsym(h, "afl_persistent_hook");
		if (!ps.hook)
			fatal(LOOM_EXIT_USAGE, "AFL_QEMU_PERSISTENT_HOOK: %s has no afl_persistent_hook", s);
		int (*init)(void) = (int (*)(void))dlsym(h, "afl_persistent_hook_init");
		afl.shm_fuzz = init && init();
	}
	(void)set;
}

static inline ir_ref k64(struct ir_ctx *ir, uint64_t v) { return ir_const(ir, IR_I64, v); }

/* At _ADDR: call the entry helper (it may change any register).  At _RET:
 * a call that says whether to loop; if so, leave for the loop's start (the
 * helper set the pc). */
void afl_persist_tb(struct ir_ctx *ir, uint64_t pc)
{
	if (!ps.on)
		return;
	if (pc == ps.addr) {
		ir_ref r = ir_new_temp(ir, IR_I64);
		ir_op1(ir, IR_mov, IR_I64, guest_ir_pc(), k64(ir, pc));
		ir_call(ir, afl_helper_base + AFL_H_PERSIST_ENTRY, r, (ir_ref[]){ ir->env }, 1);
	}
	if (ps.has_ret && pc == ps.ret) {
		ir_ref r = ir_new_temp(ir, IR_I64);
		uint32_t stay = ir_new_label(ir);
		ir_op1(ir, IR_mov, IR_I64, guest_ir_pc(), k64(ir, pc));
		ir_call(ir, afl_helper_base + AFL_H_PERSIST_RET, r, (ir_ref[]){ ir->env }, 1);
		ir_emit(ir, IR_brcond, IR_I64, (ir_ref[]){ r, k64(ir, 0) },
			(int64_t[]){ IR_EQ, stay });
		ir_emit(ir, IR_exit_tb, IR_I64, NULL, (int64_t[]){ 0 });
		ir_emit(ir, IR_set_label, IR_I64, NULL, (int64_t[]){ stay });
	}
}

/* ---- memory snapshot (_MEM) ---- */

static void snap_take(uint64_t rsp)
{
	uint64_t start = 0, end;
	int prot;
	while (exec_mem_next(&start, &end, &prot)) {
		uint64_t lo = start;
		start = end;
		if ((prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
			continue;
		if (rsp >= lo && rsp < end)
			lo = rsp & ~4095ull;	/* the live part of the stack */
		struct snap *n = realloc(ps.snaps, (ps.nsnaps + 1) * sizeof(*n));
		uint8_t *d = malloc(end - lo);
		if (!n || !d)
			fatal(LOOM_EXIT_INTERNAL, "afl: out of memory for the persistent snapshot");
		ps.snaps = n;
		memcpy(d, (void *)(uintptr_t)lo, end - lo);
		ps.snaps[ps.nsnaps++] = (struct snap){ lo, end - lo, d };
	}
}

static void snap_restore(void)
{
	for (int i = 0; i < ps.nsnaps; i++) {
		const struct snap *s = &ps.snaps[i];
		int prot = exec_mem_prot(s->addr);
		if (prot < 0 || !(prot & PROT_WRITE) ||
		    exec_mem_prot(s->addr + s->len - 1) != prot)
			continue;	/* unmapped or changed by the guest: keep */
		exec_unprotect_range(s->addr, s->addr + s->len);
		memcpy((void *)(uintptr_t)s->addr, s->data, s->len);
	}
}

/* ---- the loop ---- */

static void call_hook(struct cpu *cpu)
{
	struct afl_hook_regs r = { 0 };
	const uint64_t *g = cpu->regs;

	r.rax = g[R_RAX], r.rbx = g[R_RBX], r.rcx = g[R_RCX], r.rdx = g[R_RDX];
	r.rdi = g[R_RDI], r.rsi = g[R_RSI], r.rbp = g[R_RBP];
	r.r8 = g[R_R8], r.r9 = g[R_R9], r.r10 = g[R_R10], r.r11 = g[R_R11];
	r.r12 = g[R_R12], r.r13 = g[R_R13], r.r14 = g[R_R14], r.r15 = g[R_R15];
	r.rip = cpu->rip, r.rsp = g[R_RSP];
	for (int i = 0; i < 16; i++) {
		memcpy(r.zmm_regs[i], &cpu->xmm[i], 16);
		memcpy(r.zmm_regs[i] + 16, &cpu->xmm_hi[i], 16);
	}
	/* Identity-mapped guest: guest_base is 0. */
	if (afl.fuzz_len)
		ps.hook(&r, 0, afl.fuzz_buf, *afl.fuzz_len);
	else
		ps.hook(&r, 0, NULL, 0);
	uint64_t *w = cpu->regs;
	w[R_RAX] = r.rax, w[R_RBX] = r.rbx, w[R_RCX] = r.rcx, w[R_RDX] = r.rdx;
	w[R_RDI] = r.rdi, w[R_RSI] = r.rsi, w[R_RBP] = r.rbp;
	w[R_R8] = r.r8, w[R_R9] = r.r9, w[R_R10] = r.r10, w[R_R11] = r.r11;
	w[R_R12] = r.r12, w[R_R13] = r.r13, w[R_R14] = r.r14, w[R_R15] = r.r15;
	w[R_RSP] = r.rsp;
	for (int i = 0; i < 16; i++) {
		memcpy(&cpu->xmm[i], r.zmm_regs[i], 16);
		memcpy(&cpu->xmm_hi[i], r.zmm_regs[i] + 16, 16);
	}
	if (r.rip != cpu->rip)
		internal_error("afl: the persistent hook changed rip (0x%lx to 0x%lx): not supported",
			       (unsigned long)cpu->rip, (unsigned long)r.rip);
}

void afl_new_iteration(struct cpu *cpu)
{
	instrument_vcpu(cpu)->afl_prev_loc = 0;
	if (ps.hook)
		call_hook(cpu);
}

/* Place the loop's return address (without _RET). */
static void set_return(struct cpu *cpu)
{
	if (ps.has_ret)
		return;
	uint64_t slot = cpu->regs[R_RSP] + ps.retaddr_off;
	uint64_t a = ps.addr;
	if (exec_mem_prot(slot) < 0 || guest_mem_write(cpu, slot, &a, 8) < 0)
		internal_error("afl: cannot write the persistent return address at 0x%lx",
			       (unsigned long)slot);
}

/* The entry TB's helper: the first entry starts the loop, every later one
 * ends an iteration and begins the next.  Returns 0 (the call needs a
 * result only to keep its register effects ordered). */
uint64_t afl_helper_persist_entry(uint64_t env)
{
	struct cpu *cpu = (struct cpu *)(uintptr_t)env;

	if (!afl.child)
		return 0;
	if (!ps.looping) {
		ps.looping = true;
		ps.iter = 0;
		memcpy(ps.regs, cpu->regs, sizeof(ps.regs));
		if (ps.mem)
			snap_take(cpu->regs[R_RSP]);
		set_return(cpu);
		afl_new_iteration(cpu);
		return 0;
	}
	if (ps.cnt && ++ps.iter >= ps.cnt)
		instrument_exit_group(0);
	kill(getpid(), SIGSTOP);	/* the server reports the iteration */
	if (ps.gpr)
		memcpy(cpu->regs, ps.regs, sizeof(ps.regs));
	else
		cpu->regs[R_RSP] = ps.regs[R_RSP];
	if (ps.mem)
		snap_restore();
	cpu->rip = ps.addr;
	set_return(cpu);
	afl_new_iteration(cpu);
	return 0;
}

/* At _RET: loop (pc to _ADDR; the entry's helper does the rest). */
uint64_t afl_helper_persist_ret(uint64_t env)
{
	struct cpu *cpu = (struct cpu *)(uintptr_t)env;

	if (!afl.child || !ps.looping)
		return 0;
	cpu->rip = ps.addr;
	return 1;
}

bool afl_persistent_exit(void *cpu_)
{
	struct cpu *cpu = cpu_;

	if (!ps.on || !ps.exits || !afl.child || !ps.looping)
		return false;
	cpu->rip = ps.addr;
	return true;
}
