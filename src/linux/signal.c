/*
 * Guest signals on top of host signals.
 *
 * loom keeps the guest's view (actions, blocked mask, sigaltstack, pending
 * set) and makes the host kernel do the queueing:
 *  - The host's blocked mask is the guest's, minus the synchronous signals
 *    loom must always receive (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP).  A
 *    signal the guest blocks therefore stays pending in the kernel, exactly
 *    as it would natively.
 *  - Host dispositions mirror the guest's where that is exact: SIG_IGN, and
 *    SIG_DFL for signals whose default is to ignore, stop or continue.  Guest
 *    handlers and default-terminate signals get host_async_handler, which
 *    records the signal as pending and asks the exec loop to stop at the next
 *    block boundary (cpu->x.exit_request).  Terminating through loom lets it
 *    flush its logs and then die of the same signal.
 *  - Host handlers have no SA_RESTART, so a blocking syscall returns EINTR
 *    and the guest handler runs promptly; for syscalls the kernel would
 *    restart (SC_RESTART rows) the guest's own SA_RESTART decides, as in the
 *    kernel, by rewinding rip over the syscall instruction.
 *  - linux_deliver_signals() builds the kernel's rt_sigframe on the guest
 *    stack; rt_sigreturn unwinds it.  Faults in translated code arrive as
 *    EXEC_FAULT and go through the same frame code (sig_deliver_fault).
 *  - Threads: each guest thread is a host thread, so the kernel routes each
 *    signal as it would natively: a thread-directed one (tgkill) to its
 *    thread, a process-wide one to some thread whose host mask does not
 *    block it.  The handler records it in that thread's own pending set and
 *    stops that thread's cpu.  Actions are shared (CLONE_SIGHAND); masks,
 *    pending sets and sigaltstacks are per thread (see "state").
 *
 * Invariants: the host never blocks a synchronous signal (a blocked SIGSEGV
 * from a real fault kills the process outright); host-side actions are set
 * with the raw syscall so glibc's reserved signals 32 and 33 behave like the
 * others; a thread's host mask is host_mask_for(blocked | pending), where
 * pending is what loom took from the kernel for that thread.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <unistd.h>
#include "exec/exec.h"
#include "guest/x86/cpuid.h"
#include "guest/x86/x87.h"
#include "linux/linux.h"
#include "instrument/instrument.h"
#include "linux/syscall.h"
#include "linux/trap.h"
#include "util/log.h"

#define GUEST_NSIG 64
#define SIGBIT(s) (1ull << ((s) - 1))
#define SIG_SYNC (SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGFPE) | SIGBIT(SIGILL) | SIGBIT(SIGTRAP))
#define SIG_UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))

#define G_SIG_DFL 0ull
#define G_SIG_IGN 1ull

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1u << 31)
#endif
#define GUEST_MINSIGSTKSZ 2048
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000	/* x86-64 uapi; glibc keeps it private */
#endif

/* ---- kernel layouts (x86-64 uapi) ---- */

/* struct sigaction as the rt_sigaction syscall sees it */
struct ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

struct gsigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;	/* guest address of the fxsave area, 0 if none */
	uint64_t reserved1[8];
};

struct gstack {
	uint64_t ss_sp;
	int32_t ss_flags;
	int32_t pad;
	uint64_t ss_size;
};

struct gucontext {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct gstack uc_stack;
	struct gsigcontext uc_mcontext;
	uint64_t uc_sigmask;	/* the kernel's sigset: 64 bits */
};

struct rt_sigframe {
	uint64_t pretcode;	/* the handler returns here: sa_restorer */
	struct gucontext uc;
	siginfo_t info;
};

_Static_assert(sizeof(struct gsigcontext) == 256, "sigcontext layout");
_Static_assert(offsetof(struct gucontext, uc_mcontext) == 40, "ucontext layout");
_Static_assert(offsetof(struct gucontext, uc_sigmask) == 296, "ucontext layout");
_Static_assert(offsetof(struct rt_sigframe, info) == 312, "rt_sigframe layout");
_Static_assert(sizeof(siginfo_t) == 128, "siginfo size");

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
/* rflags bits a signal handler may change through the frame */
#define FIX_EFLAGS (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_TF | X86_DF | X86_OF | \
		    X86_AC | 0x4000 /* NT */ | 0x10000 /* RF */)

/* ---- state ----
 *
 * Actions are process-wide: sig_act, changed under sig_act_lock.  The rest
 * is per thread, in sig_self: thread-local, so the host handler reaches its
 * own thread's state without a lock.
 *
 * A signal the kernel gave this thread waits in sig_self.pending until the
 * loop delivers it, and while it waits the host mask blocks it: further
 * instances stay in the kernel, queued the way the kernel queues them
 * (realtime signals one by one), so info[] needs one siginfo per signal.
 * A process-wide signal this thread took but then blocks, or still holds
 * when it exits, goes back to the kernel (sig_requeue), which gives it to a
 * thread that does not block it.
 */
static struct ksigaction sig_act[GUEST_NSIG + 1];
static pthread_mutex_t sig_act_lock = PTHREAD_MUTEX_INITIALIZER;

struct sig_thread {
	uint64_t blocked;		/* the guest's mask */
	volatile uint64_t pending;	/* taken from the kernel, not delivered yet */
	siginfo_t info[GUEST_NSIG + 1];	/* of each pending signal */
	struct gstack altstack;		/* the guest's sigaltstack */
	/* sigsuspend and the p* calls with a temporary mask: the mask to put
	 * back once the handler the temporary mask let through has run. */
	bool mask_saved;
	uint64_t saved_mask;
	/* A SC_RESTART syscall returned EINTR because of a pending signal. */
	bool restart;
	long restart_nr;
	void *host_altstack;		/* where loom's own handlers run */
};
static __thread struct sig_thread sig_self;

#define HOST_ALTSTACK_SIZE (64 * 1024)

static bool is_rt(int signo) { return signo >= 32; }

/* tgkill and tkill: meant for the thread that received it. */
static bool thread_directed(const siginfo_t *si) { return si->si_code == SI_TKILL; }

/* ---- host side ---- */

extern void sig_host_restorer(void);
/* The classic __restore_rt bytes (mov $15,%rax; syscall), which debuggers
 * recognise as a signal trampoline. */
__asm__(".text\n"
	".type sig_host_restorer,@function\n"
	"sig_host_restorer:\n"
	"\tmovq $15, %rax\n"
	"\tsyscall\n"
	"\thlt\n"
	".size sig_host_restorer, .-sig_host_restorer\n");

static int host_sigaction(int signo, uint64_t handler, uint64_t flags)
{
	struct ksigaction ka = {
		.handler = handler,
		.flags = flags | SA_RESTORER | (handler > 1 ? SA_SIGINFO | SA_ONSTACK : 0),
		.restorer = (uint64_t)sig_host_restorer,
		.mask = ~0ull,	/* loom's handlers never nest */
	};
	return (int)raw_syscall(__NR_rt_sigaction, signo, &ka, NULL, 8, 0, 0);
}

static void host_setmask(uint64_t mask)
{
	raw_syscall(__NR_rt_sigprocmask, SIG_SETMASK, &mask, NULL, 8, 0, 0);
}

static uint64_t host_mask_for(uint64_t guest_mask)
{
	return guest_mask & ~(SIG_SYNC | SIG_UNBLOCKABLE);
}

/* The host mask from the guest's and what is pending here.  The handler
 * may add to pending (and block it in the mask it returns to) at any
 * moment: loop until the mask set covers what is pending. */
static void host_mask_sync(void)
{
	uint64_t p;
	do {
		p = __atomic_load_n(&sig_self.pending, __ATOMIC_SEQ_CST);
		host_setmask(host_mask_for(sig_self.blocked | p));
	} while (p != __atomic_load_n(&sig_self.pending, __ATOMIC_SEQ_CST));
}

/* Give a process-wide signal back to the kernel.  Only the thread group
 * leader may queue one with a kill() si_code to its own process; the other
 * threads fall back to SI_QUEUE (the rest of the siginfo is kept). */
static void sig_requeue(int signo, const siginfo_t *si)
{
	long pid = raw_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0);
	if (raw_syscall(__NR_rt_sigqueueinfo, pid, signo, si, 0, 0, 0) == -EPERM) {
		siginfo_t q = *si;
		q.si_code = SI_QUEUE;
		raw_syscall(__NR_rt_sigqueueinfo, pid, signo, &q, 0, 0, 0);
	}
}

static void sig_set_blocked(uint64_t mask)
{
	struct sig_thread *t = &sig_self;

	t->blocked = mask & ~SIG_UNBLOCKABLE;
	host_mask_sync();
	/* Process-wide signals taken here and now blocked: another thread
	 * may take them (the host mask already keeps them from us). */
	uint64_t back = t->pending & t->blocked & ~SIG_SYNC;
	while (back) {
		int signo = __builtin_ctzll(back) + 1;
		back &= ~SIGBIT(signo);
		if (thread_directed(&t->info[signo]))
			continue;	/* it waits here until unblocked */
		siginfo_t si = t->info[signo];
		__atomic_fetch_and(&t->pending, ~SIGBIT(signo), __ATOMIC_SEQ_CST);
		sig_requeue(signo, &si);
	}
}

enum sig_default { SIGD_TERM, SIGD_CORE, SIGD_IGN, SIGD_STOP, SIGD_CONT };

static enum sig_default sig_default_action(int signo)
{
	switch (signo) {
	case SIGCHLD: case SIGURG: case SIGWINCH:
		return SIGD_IGN;
	case SIGCONT:
		return SIGD_CONT;
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return SIGD_STOP;
	case SIGQUIT: case SIGILL: case SIGTRAP: case SIGABRT: case SIGBUS: case SIGFPE:
	case SIGSEGV: case SIGXCPU: case SIGXFSZ: case SIGSYS:
		return SIGD_CORE;
	}
	return SIGD_TERM;
}

static void host_async_handler(int signo, siginfo_t *si, void *ucv)
{
	struct sig_thread *t = &sig_self;
	ucontext_t *uc = ucv;

	if (!(t->pending & SIGBIT(signo))) {
		t->info[signo] = *si;
		__atomic_fetch_or(&t->pending, SIGBIT(signo), __ATOMIC_SEQ_CST);
	} else if (is_rt(signo)) {
		/* A second instance got in while the host mask was being
		 * changed: the kernel keeps it for this thread (queueing
		 * to oneself is allowed with any si_code). */
		raw_syscall(__NR_rt_tgsigqueueinfo, raw_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0),
			    raw_syscall(__NR_gettid, 0, 0, 0, 0, 0, 0), signo, si, 0, 0);
	}
	/* Blocked from the handler's return until delivered (see "state");
	 * by hand, as glibc's sigaddset refuses its reserved signals. */
	if (!(SIG_SYNC & SIGBIT(signo)))
		*(uint64_t *)&uc->uc_sigmask |= SIGBIT(signo);
	struct cpu *cpu = exec_current_cpu;
	if (cpu)
		cpu->x.exit_request = 1;
}

static void host_fault_handler(int signo, siginfo_t *si, void *uc)
{
	static volatile sig_atomic_t crashing;
	char msg[160];

	if (si->si_code <= 0) {	/* sent by kill/tgkill/sigqueue, not a fault */
		host_async_handler(signo, si, uc);
		return;
	}
	if (crashing)
		_exit(LOOM_EXIT_INTERNAL);
	linux_fetch_fault(si, uc);	/* does not return if it was a code fetch's */
	/* Does not return if the fault is the guest's; true: an SMC write
	 * fault loom handled, retry the access. */
	if (exec_host_fault(si, uc))
		return;
	crashing = 1;
	ucontext_t *ctx = uc;
	int n = snprintf(msg, sizeof(msg), "loom: internal error: host %s at pc 0x%llx addr 0x%llx\n",
			 strace_signame(signo), (unsigned long long)ctx->uc_mcontext.gregs[REG_RIP],
			 (unsigned long long)(uintptr_t)si->si_addr);
	if (n > 0)
		(void)!write(2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
	log_flush();
	_exit(LOOM_EXIT_INTERNAL);
}

/* Make the host's action for signo match the guest's (see the top). */
static void sig_update_host(int signo)
{
	const struct ksigaction *a = &sig_act[signo];
	uint64_t chld = signo == SIGCHLD ? a->flags & (SA_NOCLDSTOP | SA_NOCLDWAIT) : 0;

	if (SIG_SYNC & SIGBIT(signo))
		return;		/* always loom's fault handler */
	if (a->handler == G_SIG_IGN)
		host_sigaction(signo, (uint64_t)SIG_IGN, chld);
	else if (a->handler == G_SIG_DFL && sig_default_action(signo) >= SIGD_IGN)
		host_sigaction(signo, (uint64_t)SIG_DFL, chld);
	else
		host_sigaction(signo, (uint64_t)host_async_handler, chld);
}

void sig_thread_start(uint64_t blocked)
{
	struct sig_thread *t = &sig_self;
	void *alt = mmap(NULL, HOST_ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (alt != MAP_FAILED) {
		stack_t ss = { .ss_sp = alt, .ss_size = HOST_ALTSTACK_SIZE };
		sigaltstack(&ss, NULL);
		t->host_altstack = alt;
	}
	/* A new thread has no sigaltstack and nothing pending. */
	t->altstack = (struct gstack){ .ss_flags = SS_DISABLE };
	t->pending = 0;
	t->mask_saved = false;
	t->restart = false;
	sig_set_blocked(blocked);
}

void sig_thread_exit(void)
{
	struct sig_thread *t = &sig_self;

	host_setmask(host_mask_for(~0ull));
	uint64_t p = __atomic_exchange_n(&t->pending, 0, __ATOMIC_SEQ_CST);
	while (p) {
		int signo = __builtin_ctzll(p) + 1;
		p &= ~SIGBIT(signo);
		/* A signal sent to this thread dies with it, as in the kernel. */
		if (!thread_directed(&t->info[signo]) && !(SIG_SYNC & SIGBIT(signo)))
			sig_requeue(signo, &t->info[signo]);
	}
	if (t->host_altstack) {
		stack_t ss = { .ss_flags = SS_DISABLE };
		sigaltstack(&ss, NULL);
		munmap(t->host_altstack, HOST_ALTSTACK_SIZE);
		t->host_altstack = NULL;
	}
}

uint64_t sig_blocked_mask(void)
{
	return sig_self.blocked;
}

void sig_block_host(void)
{
	host_setmask(host_mask_for(~0ull));
}

void sig_restore_host(void)
{
	host_mask_sync();
}

void linux_signal_init(void)
{
	static bool done;

	if (done)
		return;
	done = true;

	/* The guest starts with what exec left us: ignored signals stay
	 * ignored, everything else is default; the mask is inherited. */
	for (int s = 1; s <= GUEST_NSIG; s++) {
		struct ksigaction old;
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		if (raw_syscall(__NR_rt_sigaction, s, NULL, &old, 8, 0, 0) != 0)
			continue;
		sig_act[s].handler = old.handler == (uint64_t)SIG_IGN ? G_SIG_IGN : G_SIG_DFL;
		if (SIG_SYNC & SIGBIT(s))
			host_sigaction(s, (uint64_t)host_fault_handler, SA_NODEFER);
		else
			sig_update_host(s);
	}
	uint64_t mask = 0;
	raw_syscall(__NR_rt_sigprocmask, SIG_SETMASK, NULL, &mask, 8, 0, 0);
	sig_thread_start(mask);
}

/* ---- dying ---- */

noreturn void linux_die_by_signal(int signo)
{
	uint64_t bit = SIGBIT(signo);

	instrument_finish();
	exec_finish();
	log_flush();
	if (sig_default_action(signo) == SIGD_CORE) {
		/* A core of loom is not the guest's core, and writing one (or
		 * piping it to a crash collector) only delays the death the
		 * parent is waiting for. */
		struct rlimit rl = { 0, 0 };
		setrlimit(RLIMIT_CORE, &rl);
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	}
	host_sigaction(signo, (uint64_t)SIG_DFL, 0);
	raw_syscall(__NR_rt_sigprocmask, SIG_UNBLOCK, &bit, NULL, 8, 0, 0);
	raw_syscall(__NR_tgkill, getpid(), raw_syscall(__NR_gettid, 0, 0, 0, 0, 0, 0), signo, 0, 0, 0);
	_exit(128 + signo);	/* only for signals whose default is not fatal */
}

/* ---- frames ---- */

static bool on_altstack(uint64_t sp)
{
	const struct gstack *a = &sig_self.altstack;
	return !(a->ss_flags & SS_DISABLE) && a->ss_size && sp > a->ss_sp &&
	       sp - a->ss_sp <= a->ss_size;
}

static int altstack_flags(uint64_t sp)
{
	const struct gstack *a = &sig_self.altstack;
	if (!a->ss_size || (a->ss_flags & SS_DISABLE))
		return SS_DISABLE;
	return (on_altstack(sp) ? SS_ONSTACK : 0) | (a->ss_flags & SS_AUTODISARM);
}

/*
 * The frame's fpstate.  Without XSAVE in the modelled CPU (below v3) it is
 * the CPU's FXSAVE image (x87.c does it as the fxsave instruction does),
 * bytes 416-511 zero.  With XSAVE it is what the kernel writes: the
 * standard-form XSAVE image of XCR0's components (832 bytes), its
 * software-reserved bytes 464-511 describing it (struct _fpx_sw_bytes:
 * G_FP_XSTATE_MAGIC1, extended size, xfeatures, xstate size) and
 * G_FP_XSTATE_MAGIC2 right after the image; uc_flags has UC_FP_XSTATE.
 */
#define G_FP_XSTATE_MAGIC1 0x46505853u
#define G_FP_XSTATE_MAGIC2 0x46505845u
#define FPSTATE_MAX (XSAVE_SIZE + 4)

struct fpx_sw_bytes {
	uint32_t magic1, extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size, padding[7];
};
_Static_assert(sizeof(struct fpx_sw_bytes) == 48, "_fpx_sw_bytes layout");

static bool fp_xstate(void)
{
	return x86_level >= X86_V3;
}

/* Size of the fpstate written into area (FPSTATE_MAX bytes). */
static size_t fpu_save(struct cpu *cpu, uint8_t *area)
{
	memset(area, 0, FPSTATE_MAX);
	x87_fxsave(cpu, area);
	if (!fp_xstate())
		return sizeof(struct x86_fxsave);
	x86_xsave(cpu, area, X86_XCR0);
	struct fpx_sw_bytes sw = {
		.magic1 = G_FP_XSTATE_MAGIC1, .extended_size = FPSTATE_MAX,
		.xfeatures = X86_XCR0, .xstate_size = XSAVE_SIZE,
	};
	memcpy(area + 464, &sw, sizeof(sw));
	uint32_t m2 = G_FP_XSTATE_MAGIC2;
	memcpy(area + XSAVE_SIZE, &m2, 4);
	return FPSTATE_MAX;
}

/* As the kernel: an image with valid magic words restores the features
 * it names (the others initialised); anything else is a legacy FXSAVE
 * image and the AVX state is initialised. */
static void fpu_restore(struct cpu *cpu, const uint8_t *area)
{
	struct fpx_sw_bytes sw;
	uint32_t m2 = 0;
	memcpy(&sw, area + 464, sizeof(sw));
	if (fp_xstate() && sw.magic1 == G_FP_XSTATE_MAGIC1 && sw.xstate_size == XSAVE_SIZE &&
	    sw.extended_size == FPSTATE_MAX)
		memcpy(&m2, area + XSAVE_SIZE, 4);
	if (m2 == G_FP_XSTATE_MAGIC2) {
		uint8_t img[XSAVE_SIZE];
		uint64_t bv;
		memcpy(img, area, XSAVE_SIZE);
		memcpy(&bv, img + XSAVE_HDR_OFF, 8);
		bv &= sw.xfeatures & X86_XCR0;
		memcpy(img + XSAVE_HDR_OFF, &bv, 8);
		x87_fxrstor(cpu, area);	/* MXCSR as the kernel sanitises it */
		x86_xrstor(cpu, img, X86_XCR0 & ~1ull & ~2ull);
		if (!(bv & 2))
			memset(cpu->xmm, 0, sizeof(cpu->xmm));
		return;
	}
	x87_fxrstor(cpu, area);
	memset(cpu->xmm_hi, 0, sizeof(cpu->xmm_hi));
}

/* What the kernel gives a handler: a freshly initialised FPU. */
static void fpu_reset(struct cpu *cpu)
{
	cpu->fpu.fcw = 0x37f;
	cpu->fpu.fsw = 0;
	cpu->fpu.ftw = 0;
	cpu->fpu.top = 0;
	cpu->mxcsr = 0x1f80;
	memset(cpu->xmm, 0, sizeof(cpu->xmm));
	memset(cpu->xmm_hi, 0, sizeof(cpu->xmm_hi));
}

/* The action to deliver signo with, now.  SA_RESETHAND takes effect here,
 * at delivery, as in the kernel. */
static struct ksigaction sig_action_take(int signo)
{
	pthread_mutex_lock(&sig_act_lock);
	struct ksigaction a = sig_act[signo];
	if (a.handler > G_SIG_IGN && (a.flags & SA_RESETHAND)) {
		sig_act[signo].handler = G_SIG_DFL;
		sig_act[signo].flags &= ~SA_SIGINFO;
		sig_update_host(signo);
	}
	pthread_mutex_unlock(&sig_act_lock);
	return a;
}

/* Put the frame for signo on the guest stack and enter the handler a.
 * fault: the exception signo reports (its trapno, err and cr2), or NULL
 * for a signal sent by someone.  Returns false if the frame cannot be
 * written (the caller forces SIGSEGV). */
static bool sig_setup_frame(struct cpu *cpu, int signo, const siginfo_t *si,
			    const struct linux_trap *fault, const struct ksigaction *a)
{
	struct rt_sigframe frame;
	uint8_t fx[FPSTATE_MAX];
	size_t fx_size;
	uint64_t sp, fx_addr, frame_addr, rflags;
	uint64_t old_mask = sig_self.mask_saved ? sig_self.saved_mask : sig_self.blocked;

	if (!(a->flags & SA_RESTORER))
		return false;	/* x86-64 has no kernel-provided trampoline */
	if (sig_self.restart) {
		if (a->flags & SA_RESTART) {
			cpu->regs[R_RAX] = sig_self.restart_nr;
			cpu->rip -= 2;
		}
		sig_self.restart = false;
	}

	sp = cpu->regs[R_RSP] - 128;	/* the red zone */
	if ((a->flags & SA_ONSTACK) && altstack_flags(sp) == 0)
		sp = sig_self.altstack.ss_sp + sig_self.altstack.ss_size;
	fx_size = fp_xstate() ? FPSTATE_MAX : sizeof(struct x86_fxsave);
	fx_addr = (sp - fx_size) & ~63ull;
	frame_addr = ((fx_addr - sizeof(frame)) & ~15ull) - 8;

	memset(&frame, 0, sizeof(frame));
	frame.pretcode = a->restorer;
	frame.uc.uc_flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | (fp_xstate() ? UC_FP_XSTATE : 0);
	frame.uc.uc_stack.ss_sp = sig_self.altstack.ss_sp;
	frame.uc.uc_stack.ss_flags = altstack_flags(cpu->regs[R_RSP]);
	frame.uc.uc_stack.ss_size = sig_self.altstack.ss_size;
	struct gsigcontext *sc = &frame.uc.uc_mcontext;
	sc->r8 = cpu->regs[R_R8];
	sc->r9 = cpu->regs[R_R9];
	sc->r10 = cpu->regs[R_R10];
	sc->r11 = cpu->regs[R_R11];
	sc->r12 = cpu->regs[R_R12];
	sc->r13 = cpu->regs[R_R13];
	sc->r14 = cpu->regs[R_R14];
	sc->r15 = cpu->regs[R_R15];
	sc->rdi = cpu->regs[R_RDI];
	sc->rsi = cpu->regs[R_RSI];
	sc->rbp = cpu->regs[R_RBP];
	sc->rbx = cpu->regs[R_RBX];
	sc->rdx = cpu->regs[R_RDX];
	sc->rax = cpu->regs[R_RAX];
	sc->rcx = cpu->regs[R_RCX];
	sc->rsp = cpu->regs[R_RSP];
	sc->rip = cpu->rip;
	rflags = x86_get_rflags(cpu);
	cpu->eflags &= ~X86_RF;	/* set by a trap that resumes the instruction */
	/* The CPU saves RF set for a fault (the instruction restarts) and
	 * clear for a trap (int3, int1, int $4, a single step) unless the instruction
	 * resumes (a rep iteration stepped), and the kernel copies it into
	 * the frame as it is. */
	sc->eflags = fault && !fault->trap ? rflags | X86_RF : rflags;
	sc->cs = 0x33;
	sc->ss = 0x2b;
	if (fault) {
		sc->trapno = fault->trapno;
		sc->err = fault->err;
		sc->cr2 = fault->cr2;
	}
	sc->oldmask = old_mask;
	sc->fpstate = fx_addr;
	frame.uc.uc_sigmask = old_mask;
	frame.info = *si;

	fx_size = fpu_save(cpu, fx);
	if (guest_write(fx_addr, fx, fx_size) < 0 ||
	    guest_write(frame_addr, &frame, sizeof(frame)) < 0)
		return false;

	if (log_enabled(LOG_STRACE))
		strace_signal(signo, si);
	cpu->regs[R_RDI] = signo;
	cpu->regs[R_RSI] = frame_addr + offsetof(struct rt_sigframe, info);
	cpu->regs[R_RDX] = frame_addr + offsetof(struct rt_sigframe, uc);
	cpu->regs[R_RAX] = 0;
	cpu->regs[R_RSP] = frame_addr;
	uint64_t from_pc = cpu->rip;
	cpu->rip = a->handler;
	x86_set_rflags(cpu, rflags & ~(X86_DF | X86_TF | 0x10000));
	fpu_reset(cpu);
	if (instrument_active)
		instrument_discon(cpu, fault ? DISCON_EXCEPTION : DISCON_INTERRUPT, from_pc,
				  a->handler);

	if ((a->flags & SA_ONSTACK) && (sig_self.altstack.ss_flags & SS_AUTODISARM)) {
		sig_self.altstack.ss_sp = 0;
		sig_self.altstack.ss_size = 0;
		sig_self.altstack.ss_flags = SS_DISABLE;
	}
	uint64_t mask = sig_self.blocked | a->mask;
	if (!(a->flags & SA_NODEFER))
		mask |= SIGBIT(signo);
	sig_self.mask_saved = false;
	sig_set_blocked(mask);
	return true;
}

static void sig_log_death(struct cpu *cpu, int signo, const siginfo_t *si)
{
	if (log_enabled(LOG_STRACE))
		strace_signal(signo, si);
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("loom: guest killed by %s at pc 0x%llx\n", strace_signame(signo),
			   (unsigned long long)cpu->rip);
}

/* The kernel's force_sigsegv: the frame for signo could not be built. */
static noreturn void sig_force_segv(struct cpu *cpu, int signo)
{
	siginfo_t si = { .si_signo = SIGSEGV, .si_code = SI_KERNEL };
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("loom: cannot build the %s frame at sp 0x%llx\n", strace_signame(signo),
			   (unsigned long long)cpu->regs[R_RSP]);
	sig_log_death(cpu, SIGSEGV, &si);
	linux_die_by_signal(SIGSEGV);
}

/* Act on one asynchronous signal taken off the pending set. */
static void sig_handle(struct cpu *cpu, int signo, const siginfo_t *si)
{
	struct ksigaction act = sig_action_take(signo);
	const struct ksigaction *a = &act;

	if (a->handler == G_SIG_IGN)
		return;
	if (a->handler == G_SIG_DFL) {
		switch (sig_default_action(signo)) {
		case SIGD_IGN:
		case SIGD_CONT:
			return;
		case SIGD_STOP:
			/* The host action is SIG_DFL too: stop for real. */
			raw_syscall(__NR_kill, getpid(), signo, 0, 0, 0, 0);
			return;
		default:
			sig_log_death(cpu, signo, si);
			linux_die_by_signal(signo);
		}
	}
	if (!sig_setup_frame(cpu, signo, si, NULL, a))
		sig_force_segv(cpu, signo);
}

bool sig_deliverable(void)
{
	return (sig_self.pending & ~sig_self.blocked) != 0;
}

void sig_note_interrupted(struct cpu *cpu, long nr)
{
	if (sig_deliverable()) {
		sig_self.restart = true;
		sig_self.restart_nr = nr;
	}
}

void linux_deliver_signals(struct cpu *cpu)
{
	uint64_t ready;
	bool took = false;

	while ((ready = sig_self.pending & ~sig_self.blocked) != 0) {
		int signo = __builtin_ctzll(ready) + 1;
		siginfo_t si = sig_self.info[signo];
		__atomic_fetch_and(&sig_self.pending, ~SIGBIT(signo), __ATOMIC_SEQ_CST);
		took = true;
		sig_handle(cpu, signo, &si);
	}
	/* No handler ran for the interrupting signal: the kernel would have
	 * restarted the call transparently. */
	if (sig_self.restart) {
		cpu->regs[R_RAX] = sig_self.restart_nr;
		cpu->rip -= 2;
		sig_self.restart = false;
	}
	if (sig_self.mask_saved) {
		sig_self.mask_saved = false;
		sig_set_blocked(sig_self.saved_mask);
	} else if (took) {
		host_mask_sync();	/* let the next instance of what was taken in */
	}
}

void sig_deliver_fault(struct cpu *cpu, const struct linux_trap *f)
{
	int signo = f->signo;
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = signo;
	si.si_code = f->code;
	si.si_addr = (void *)(uintptr_t)f->addr;
	if (signo < 1 || signo > GUEST_NSIG)
		internal_error("exec layer reported fault with signal %d at pc 0x%llx", signo,
			       (unsigned long long)cpu->rip);
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("loom: guest %s (code %d) at pc 0x%llx addr 0x%llx: exception %llu, "
			   "error code %#llx\n",
			   strace_signame(signo), f->code, (unsigned long long)cpu->rip,
			   (unsigned long long)f->addr, (unsigned long long)f->trapno,
			   (unsigned long long)f->err);
	/* Like the kernel's force_sig: a blocked or ignored synchronous signal
	 * takes its default action. */
	struct ksigaction a = { .handler = G_SIG_DFL };
	if (!(sig_self.blocked & SIGBIT(signo)))
		a = sig_action_take(signo);
	if (a.handler <= G_SIG_IGN) {
		sig_log_death(cpu, signo, &si);
		linux_die_by_signal(signo);
	}
	if (!sig_setup_frame(cpu, signo, &si, f, &a))
		sig_force_segv(cpu, signo);
}

/* ---- execve ---- */

void sig_before_exec(void)
{
	/* The new program inherits the guest's mask and ignored signals. */
	for (int s = 1; s <= GUEST_NSIG; s++)
		if ((SIG_SYNC & SIGBIT(s)) && sig_act[s].handler == G_SIG_IGN)
			host_sigaction(s, (uint64_t)SIG_IGN, 0);
	host_setmask(sig_self.blocked);
}

void sig_after_failed_exec(void)
{
	for (int s = 1; s <= GUEST_NSIG; s++)
		if (SIG_SYNC & SIGBIT(s))
			host_sigaction(s, (uint64_t)host_fault_handler, SA_NODEFER);
	host_mask_sync();
}

void sig_fork_prepare(void)
{
	pthread_mutex_lock(&sig_act_lock);
}

void sig_fork_parent(void)
{
	pthread_mutex_unlock(&sig_act_lock);
}

void sig_after_fork_child(void)
{
	/* Only this thread exists in the child; the lock is new. */
	pthread_mutex_init(&sig_act_lock, NULL);
	/* Like the kernel, a new process has no pending signals: what loom
	 * had taken from the kernel belonged to the parent. */
	__atomic_store_n(&sig_self.pending, 0, __ATOMIC_SEQ_CST);
	host_mask_sync();
}

/* ---- syscalls ---- */

int64_t sys_rt_sigaction(struct cpu *cpu, struct sys_call *c)
{
	int signo = (int)c->a[0];
	struct ksigaction act, old;

	if (c->a[3] != 8 || signo < 1 || signo > GUEST_NSIG)
		return -EINVAL;
	if (c->a[1] && (signo == SIGKILL || signo == SIGSTOP))
		return -EINVAL;
	if (c->a[1]) {
		if (guest_read(&act, c->a[1], sizeof(act)) < 0)
			return -EFAULT;
		act.mask &= ~SIG_UNBLOCKABLE;
	}
	pthread_mutex_lock(&sig_act_lock);
	old = sig_act[signo];
	if (c->a[1]) {
		sig_act[signo] = act;
		sig_update_host(signo);
	}
	pthread_mutex_unlock(&sig_act_lock);
	/* Setting SIG_IGN (or a default that ignores) discards what is
	 * pending, as POSIX asks: the host action does it in the kernel,
	 * delivery in the other threads (the action is checked then). */
	if (c->a[1] && (act.handler == G_SIG_IGN ||
			(act.handler == G_SIG_DFL && sig_default_action(signo) == SIGD_IGN)) &&
	    (sig_self.pending & SIGBIT(signo))) {
		__atomic_fetch_and(&sig_self.pending, ~SIGBIT(signo), __ATOMIC_SEQ_CST);
		host_mask_sync();
	}
	if (c->a[2] && guest_write(c->a[2], &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}

int64_t sys_rt_sigprocmask(struct cpu *cpu, struct sys_call *c)
{
	uint64_t set, old = sig_self.blocked;

	if (c->a[3] != 8)
		return -EINVAL;
	if (c->a[1]) {
		if (guest_read(&set, c->a[1], 8) < 0)
			return -EFAULT;
		switch ((int)c->a[0]) {
		case SIG_BLOCK: set = sig_self.blocked | set; break;
		case SIG_UNBLOCK: set = sig_self.blocked & ~set; break;
		case SIG_SETMASK: break;
		default: return -EINVAL;
		}
		sig_set_blocked(set);
	}
	if (c->a[2] && guest_write(c->a[2], &old, 8) < 0)
		return -EFAULT;
	return 0;
}

int64_t sys_rt_sigpending(struct cpu *cpu, struct sys_call *c)
{
	uint64_t host = 0, set;

	if (c->a[1] > 8)
		return -EINVAL;
	raw_syscall(__NR_rt_sigpending, &host, 8, 0, 0, 0, 0);
	set = (sig_self.pending | host) & sig_self.blocked;
	return guest_write(c->a[0], &set, c->a[1]);
}

int64_t sys_rt_sigreturn(struct cpu *cpu, struct sys_call *c)
{
	uint64_t frame_addr = cpu->regs[R_RSP] - 8;
	struct gucontext uc;
	uint8_t fx[FPSTATE_MAX] = { 0 };

	if (guest_read(&uc, frame_addr + offsetof(struct rt_sigframe, uc), sizeof(uc)) < 0)
		goto bad;
	const struct gsigcontext *sc = &uc.uc_mcontext;
	if (sc->fpstate && guest_read(fx, sc->fpstate, sizeof(struct x86_fxsave)) < 0)
		goto bad;
	uint32_t magic1;
	memcpy(&magic1, fx + 464, 4);
	if (sc->fpstate && fp_xstate() && magic1 == G_FP_XSTATE_MAGIC1 &&
	    guest_read(fx, sc->fpstate, FPSTATE_MAX) < 0)
		goto bad;

	sig_set_blocked(uc.uc_sigmask);
	cpu->regs[R_R8] = sc->r8;
	cpu->regs[R_R9] = sc->r9;
	cpu->regs[R_R10] = sc->r10;
	cpu->regs[R_R11] = sc->r11;
	cpu->regs[R_R12] = sc->r12;
	cpu->regs[R_R13] = sc->r13;
	cpu->regs[R_R14] = sc->r14;
	cpu->regs[R_R15] = sc->r15;
	cpu->regs[R_RDI] = sc->rdi;
	cpu->regs[R_RSI] = sc->rsi;
	cpu->regs[R_RBP] = sc->rbp;
	cpu->regs[R_RBX] = sc->rbx;
	cpu->regs[R_RDX] = sc->rdx;
	cpu->regs[R_RCX] = sc->rcx;
	cpu->regs[R_RSP] = sc->rsp;
	cpu->rip = sc->rip;
	x86_set_rflags(cpu, (x86_get_rflags(cpu) & ~FIX_EFLAGS) | (sc->eflags & FIX_EFLAGS));
	if (sc->fpstate)
		fpu_restore(cpu, fx);
	else
		fpu_reset(cpu);

	/* The kernel restores the sigaltstack from uc_stack, ignoring errors. */
	if (!on_altstack(cpu->regs[R_RSP])) {
		if ((uc.uc_stack.ss_flags & SS_DISABLE) || !uc.uc_stack.ss_size) {
			sig_self.altstack = (struct gstack){ .ss_flags = SS_DISABLE };
		} else if (uc.uc_stack.ss_size >= GUEST_MINSIGSTKSZ) {
			sig_self.altstack.ss_sp = uc.uc_stack.ss_sp;
			sig_self.altstack.ss_size = uc.uc_stack.ss_size;
			sig_self.altstack.ss_flags = uc.uc_stack.ss_flags & SS_AUTODISARM;
		}
	}
	sig_self.restart = false;
	return (int64_t)sc->rax;

bad:
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("loom: rt_sigreturn with an unreadable frame at 0x%llx\n",
			   (unsigned long long)frame_addr);
	sig_force_segv(cpu, SIGSEGV);
}

int64_t sys_sigaltstack(struct cpu *cpu, struct sys_call *c)
{
	uint64_t sp = cpu->regs[R_RSP];
	struct gstack ss, old = sig_self.altstack;

	old.ss_flags = altstack_flags(sp);
	if (old.ss_flags & SS_DISABLE) {
		old.ss_sp = 0;
		old.ss_size = 0;
	}
	if (c->a[0]) {
		if (guest_read(&ss, c->a[0], sizeof(ss)) < 0)
			return -EFAULT;
		if (on_altstack(sp))
			return -EPERM;
		int mode = ss.ss_flags & ~(int32_t)SS_AUTODISARM;
		if (mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0)
			return -EINVAL;
		if (mode == SS_DISABLE) {
			sig_self.altstack = (struct gstack){ .ss_flags = SS_DISABLE };
		} else {
			if (ss.ss_size < GUEST_MINSIGSTKSZ)
				return -ENOMEM;
			sig_self.altstack.ss_sp = ss.ss_sp;
			sig_self.altstack.ss_size = ss.ss_size;
			sig_self.altstack.ss_flags = ss.ss_flags & SS_AUTODISARM;
		}
	}
	if (c->a[1] && guest_write(c->a[1], &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}

/* The temporary mask of sigsuspend, ppoll, pselect6 and epoll_pwait: the
 * host waits with it (sync signals left unblocked); if a signal it let
 * through interrupted the wait, the guest runs that handler under it and
 * gets its old mask back at rt_sigreturn. */
static void sig_after_temp_mask(uint64_t temp, int64_t ret)
{
	if (ret == -EINTR && (sig_self.pending & ~temp & ~SIG_UNBLOCKABLE)) {
		sig_self.saved_mask = sig_self.blocked;
		sig_self.mask_saved = true;
		sig_set_blocked(temp);
	}
}

int64_t sys_rt_sigsuspend(struct cpu *cpu, struct sys_call *c)
{
	uint64_t temp, host;
	int64_t ret = -EINTR;

	if (c->a[1] != 8)
		return -EINVAL;
	if (guest_read(&temp, c->a[0], 8) < 0)
		return -EFAULT;
	temp &= ~SIG_UNBLOCKABLE;
	host = host_mask_for(temp);
	if (!(sig_self.pending & ~temp))
		ret = raw_syscall(__NR_rt_sigsuspend, &host, 8, 0, 0, 0, 0);
	sig_after_temp_mask(temp, ret);
	return ret;
}

int64_t sys_rt_sigtimedwait(struct cpu *cpu, struct sys_call *c)
{
	uint64_t set, take;

	if (c->a[3] != 8)
		return -EINVAL;
	if (guest_read(&set, c->a[0], 8) < 0)
		return -EFAULT;
	/* A signal loom already took from the kernel is answered here. */
	take = sig_self.pending & set;
	if (take) {
		int signo = __builtin_ctzll(take) + 1;
		siginfo_t si = sig_self.info[signo];
		__atomic_fetch_and(&sig_self.pending, ~SIGBIT(signo), __ATOMIC_SEQ_CST);
		host_mask_sync();
		if (c->a[1] && guest_write(c->a[1], &si, sizeof(siginfo_t)) < 0)
			return -EFAULT;
		return signo;
	}
	return raw_syscall(__NR_rt_sigtimedwait, c->a[0], c->a[1], c->a[2], 8, 0, 0);
}

/* Read the guest's temporary mask; returns 0, 1 if there is none, or -errno. */
static int read_temp_mask(uint64_t ptr, uint64_t size, uint64_t *temp)
{
	if (!ptr)
		return 1;
	if (size != 8)
		return -EINVAL;
	if (guest_read(temp, ptr, 8) < 0)
		return -EFAULT;
	*temp &= ~SIG_UNBLOCKABLE;
	return 0;
}

int64_t sys_ppoll(struct cpu *cpu, struct sys_call *c)
{
	uint64_t temp, host;
	int r = read_temp_mask(c->a[3], c->a[4], &temp);
	if (r < 0)
		return r;
	if (r)
		return raw_syscall(__NR_ppoll, c->a[0], c->a[1], c->a[2], 0, c->a[4], 0);
	host = host_mask_for(temp);
	int64_t ret = raw_syscall(__NR_ppoll, c->a[0], c->a[1], c->a[2], &host, 8, 0);
	sig_after_temp_mask(temp, ret);
	return ret;
}

int64_t sys_pselect6(struct cpu *cpu, struct sys_call *c)
{
	struct { uint64_t ss, ss_len; } arg;
	uint64_t temp, host;

	if (!c->a[5])
		return raw_syscall(__NR_pselect6, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], 0);
	if (guest_read(&arg, c->a[5], sizeof(arg)) < 0)
		return -EFAULT;
	int r = read_temp_mask(arg.ss, arg.ss_len, &temp);
	if (r < 0)
		return r;
	if (r)
		return raw_syscall(__NR_pselect6, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
	host = host_mask_for(temp);
	arg.ss = (uint64_t)&host;
	int64_t ret = raw_syscall(__NR_pselect6, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], &arg);
	sig_after_temp_mask(temp, ret);
	return ret;
}

static int64_t epoll_pwait_common(struct sys_call *c, long nr)
{
	uint64_t temp, host;
	int r = read_temp_mask(c->a[4], c->a[5], &temp);
	if (r < 0)
		return r;
	if (r)
		return raw_syscall(nr, c->a[0], c->a[1], c->a[2], c->a[3], 0, c->a[5]);
	host = host_mask_for(temp);
	int64_t ret = raw_syscall(nr, c->a[0], c->a[1], c->a[2], c->a[3], &host, 8);
	sig_after_temp_mask(temp, ret);
	return ret;
}

int64_t sys_epoll_pwait(struct cpu *cpu, struct sys_call *c)
{
	return epoll_pwait_common(c, __NR_epoll_pwait);
}

int64_t sys_epoll_pwait2(struct cpu *cpu, struct sys_call *c)
{
	return epoll_pwait_common(c, __NR_epoll_pwait2);
}
