/*
 * The exception → signal table of user mode (linux/trap.c), checked two ways.
 *
 * 1. Against the host kernel: each case runs an instruction natively that
 *    raises the exception, catches the signal the host kernel sends, and
 *    compares it (signo, si_code, si_addr, and the frame's trapno, err,
 *    RF, and a page fault's cr2) with what linux_trap_of makes of the exception loom
 *    raises for that instruction -- written here as the frontend raises
 *    it, or, for a fault loom lets the host take (page faults, #AC), read
 *    from the native signal by host_fault_exception as the exec layer
 *    does.  A case the host does not raise (no #AC) is a SKIP.
 *
 * 2. Against a list written from the kernel's trap handlers
 *    (arch/x86/kernel/traps.c: the DO_ERROR rows for #DE, #OF, #BR, #UD,
 *    #TS, #NP, #SS and #AC; exc_general_protection's plain SIGSEGV;
 *    do_int3_user; exc_debug_user/send_sigtrap with get_si_code's DR6
 *    order; math_error with fpu__exception_code's flag order;
 *    arch/x86/mm/fault.c's bad_area (MAPERR), access errors (ACCERR, PKUERR
 *    for a protection key), do_sigbus (BUS_ADRERR) and set_signal_archinfo
 *    (err gains USER, and PROT above TASK_SIZE_MAX)) for what no
 *    instruction can provoke here: the vectors the kernel never turns into
 *    a signal, hardware breakpoints, a protection-key fault.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include "exec/exec.h"
#include "guest/x86/cpu.h"
#include "host/host.h"
#include "linux/trap.h"
#include "unit.h"

#define RF (1u << 16)

/* What the host kernel delivered for the last case. */
struct native {
	int signo, code;
	uint64_t addr, pc, trapno, err, cr2, rflags;
	struct linux_trap_fp fp;
	siginfo_t si;
	ucontext_t uc;
};
static struct native got;
static sigjmp_buf back;
static volatile int caught;

static void on_signal(int sig, siginfo_t *si, void *ucv)
{
	/* An #AC case leaves RFLAGS.AC set in the handler: clear it first */
	asm volatile("pushfq\n\tandl $~0x40000, (%%rsp)\n\tpopfq" ::: "memory", "cc");
	ucontext_t *uc = ucv;
	got.signo = sig;
	got.code = si->si_code;
	got.addr = (uintptr_t)si->si_addr;
	got.pc = uc->uc_mcontext.gregs[REG_RIP];
	got.trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	got.err = uc->uc_mcontext.gregs[REG_ERR];
	got.cr2 = uc->uc_mcontext.gregs[REG_CR2];
	got.rflags = uc->uc_mcontext.gregs[REG_EFL];
	if (uc->uc_mcontext.fpregs) {
		got.fp.mxcsr = uc->uc_mcontext.fpregs->mxcsr;
		got.fp.fcw = uc->uc_mcontext.fpregs->cwd;
		got.fp.fsw = uc->uc_mcontext.fpregs->swd;
	}
	got.si = *si;
	got.uc = *uc;
	caught = 1;
	siglongjmp(back, 1);
}

/* Compare the table's signal for e (raised at the frame's pc) with the
 * native one. */
static void expect(const char *name, const struct guest_exception *e)
{
	struct linux_trap t;
	if (!caught) {
		fprintf(stderr, "%s: no native signal\n", name);
		CHECK(caught);
		return;
	}
	bool ok = linux_trap_of(e, got.pc, &got.fp, &t);
	CHECK(ok);
	if (!ok)
		return;
	int before = unit_failed;
	CHECK_EQ(t.signo, got.signo);
	CHECK_EQ(t.code, got.code);
	CHECK_EQ(t.addr, got.addr);
	CHECK_EQ(t.trapno, got.trapno);
	CHECK_EQ(t.err, got.err);
	/* The kernel's frame keeps the cr2 of the thread's last page fault
	 * that became a signal in every later frame; loom's is the
	 * exception's own (0 for all but a page fault). */
	if (got.trapno == X86_EXC_PF)
		CHECK_EQ(t.cr2, got.cr2);
	CHECK_EQ(!t.trap, !!(got.rflags & RF));
	if (unit_failed != before)
		fprintf(stderr, "  in case %s: native signal %d code %d addr %#lx trapno %lu err %#lx cr2 %#lx\n",
			name, got.signo, got.code, (unsigned long)got.addr, (unsigned long)got.trapno,
			(unsigned long)got.err, (unsigned long)got.cr2);
}

/* The exception exec_host_fault starts from for the native fault. */
static struct guest_exception from_host(void)
{
	struct guest_exception e;
	host_fault_exception(&got.si, &got.uc, &e);
	return e;
}

static inline void reset_mxcsr(void)
{
	uint32_t csr = 0x1f80;
	asm volatile("ldmxcsr %0" ::"m"(csr));
}

/* Run code natively with the signal caught, then put the FP state back. */
#define RUN(code)                                                  \
	do {                                                       \
		caught = 0;                                        \
		memset(&got, 0, sizeof(got));                      \
		if (!sigsetjmp(back, 1)) {                         \
			code;                                      \
		}                                                  \
		asm volatile("fninit");                            \
		reset_mxcsr();                              \
	} while (0)

static const struct guest_exception
	DE = { .vector = X86_EXC_DE },
	UD = { .vector = X86_EXC_UD },
	BP = { .vector = X86_EXC_BP, .flags = EXC_SOFTWARE },
	OF = { .vector = X86_EXC_OF, .flags = EXC_SOFTWARE },
	INT1 = { .vector = X86_EXC_DB },
	STEP = { .vector = X86_EXC_DB, .info = X86_DR6_BS },
	GP0 = { .vector = X86_EXC_GP, .flags = EXC_HAS_ERROR },
	SS0 = { .vector = X86_EXC_SS, .flags = EXC_HAS_ERROR },
	MF = { .vector = X86_EXC_MF },
	XM = { .vector = X86_EXC_XM };

static void native_cases(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *rw = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *hole = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FILE *tmp = tmpfile();
	uint8_t *pastend = tmp ? mmap(NULL, pg, PROT_READ, MAP_SHARED, fileno(tmp), 0) : MAP_FAILED;
	CHECK(ro != MAP_FAILED && none != MAP_FAILED && rw != MAP_FAILED && hole != MAP_FAILED &&
	      pastend != MAP_FAILED);
	munmap(hole, pg);
	rw[0] = 0xc3;		/* ret, on a page without PROT_EXEC */
	struct guest_exception e;

	/* #DE: div by zero; the quotient overflowing is the same vector */
	RUN(asm volatile("xor %%ecx, %%ecx\n\tmov $5, %%eax\n\tcqo\n\tdiv %%rcx" ::: "rax", "rcx",
			 "rdx", "cc"));
	expect("div by zero", &DE);
	RUN(asm volatile("mov $2, %%ecx\n\tmov $4, %%eax\n\tmov $3, %%edx\n\tdiv %%ecx" ::: "rax",
			 "rcx", "rdx", "cc"));
	expect("div overflow", &DE);
	RUN(asm volatile("ud2"));
	expect("ud2", &UD);
	RUN(asm volatile("int3"));
	expect("int3", &BP);
	RUN(asm volatile("int $3"));
	expect("int $3", &BP);
	RUN(asm volatile("int $4"));
	expect("int $4", &OF);
	RUN(asm volatile(".byte 0xf1"));
	expect("int1", &INT1);
	RUN(asm volatile("pushfq\n\torl $0x100, (%%rsp)\n\tpopfq\n\tnop\n\tnop" ::: "memory", "cc"));
	expect("single step", &STEP);

	/* #GP: privileged, and int n through a gate closed to user mode,
	 * whose error code names the IDT entry */
	RUN(asm volatile("mov %%cr0, %%rax" ::: "rax"));
	expect("mov cr0", &GP0);
	RUN(asm volatile("hlt"));
	expect("hlt", &GP0);
	RUN(asm volatile("int $0x81"));
	e = (struct guest_exception){ .vector = X86_EXC_GP, .flags = EXC_HAS_ERROR,
				      .error_code = 0x81 * 8 + 2 };
	expect("int $0x81", &e);
	/* (int $0x80 is the same for loom, which has no 32-bit system call;
	 * a host kernel with IA32 emulation takes it as one: no case) */
	/* A bad selector: the host loads it, loom takes the host's #GP */
	RUN(asm volatile("mov $0x1234, %%eax\n\tmov %%eax, %%es" ::: "rax"));
	e = from_host();
	CHECK_EQ(e.vector, X86_EXC_GP);
	expect("mov es, bad selector", &e);

	/* #SS: a non-canonical address through rsp (loom: guest_fault_refine) */
	RUN(asm volatile("movabs $0x8000000000000000, %%rax\n\tmov (%%rsp,%%rax), %%rcx" ::: "rax",
			 "rcx"));
	expect("non-canonical through rsp", &SS0);
	/* ... and #GP through another base */
	RUN(asm volatile("movabs $0x8000000000000000, %%rax\n\tmov (%%rax), %%rcx" ::: "rax", "rcx"));
	expect("non-canonical through rax", &GP0);

	/* #PF: loom lets the host take them and reads the host's exception */
	RUN(asm volatile("mov (%0), %%al" ::"r"(hole) : "rax"));
	expect("read unmapped", (e = from_host(), &e));
	CHECK_EQ(e.map, EXC_MAP_NONE);
	RUN(asm volatile("movb $1, (%0)" ::"r"(ro) : "memory"));
	expect("write read-only", (e = from_host(), &e));
	CHECK_EQ(e.map, EXC_MAP_DENIED);
	RUN(asm volatile("mov (%0), %%al" ::"r"(none) : "rax"));
	expect("read PROT_NONE", (e = from_host(), &e));
	CHECK_EQ(e.map, EXC_MAP_DENIED);
	CHECK(!(e.error_code & X86_PF_PROT));	/* mapped, yet not present */
	RUN(asm volatile("mov (%0), %%al" ::"r"(pastend) : "rax"));
	expect("read past the end of the file", (e = from_host(), &e));
	CHECK_EQ(e.map, EXC_MAP_NOBACKING);

	/* Fetch faults: loom's frontend raises them (x86_fetch_fault) from
	 * its map of the guest's memory, which the unit test fills in */
	exec_mem_set((uintptr_t)rw, (uintptr_t)rw + pg, PROT_READ | PROT_WRITE);
	RUN(asm volatile("call *%0" ::"r"(rw) : "memory"));
	x86_fetch_fault((uintptr_t)rw, &e);
	expect("fetch from a page without PROT_EXEC", &e);
	RUN(asm volatile("call *%0" ::"r"(hole) : "memory"));
	x86_fetch_fault((uintptr_t)hole, &e);
	expect("fetch from nothing", &e);
	RUN(asm volatile("movabs $0xffff888000000000, %%rax\n\tcall *%%rax" ::: "rax", "memory"));
	x86_fetch_fault(0xffff888000000000ull, &e);
	expect("fetch from a kernel address", &e);

	/* #AC: AC set, a misaligned load (the kernel sets CR0.AM) */
	RUN(asm volatile("pushfq\n\torl $0x40000, (%%rsp)\n\tpopfq\n\tmov 1(%%rsp), %%eax\n\t"
			 "pushfq\n\tandl $~0x40000, (%%rsp)\n\tpopfq" ::: "rax", "memory", "cc"));
	if (caught) {
		e = from_host();
		CHECK_EQ(e.vector, X86_EXC_AC);
		expect("alignment check", &e);
	} else {
		SKIP("the host raises no #AC for a misaligned load with RFLAGS.AC");
	}

	/* #XM and #MF: the si_code comes from MXCSR and from the x87 status
	 * and control words, as the kernel reads them */
	static const struct { const char *name; uint32_t csr; double a, b; } xm[] = {
		{ "#XM divide by zero", 0x1f80 & ~0x200, 1.0, 0.0 },
		{ "#XM invalid", 0x1f80 & ~0x080, 0.0, 0.0 },
		{ "#XM overflow", 0x1f80 & ~0x400, 1e308, 1e-308 },
		{ "#XM precision", 0x1f80 & ~0x1000, 1.0, 3.0 },
		{ "#XM underflow", 0x1f80 & ~0x800, 1e-308, 1e10 },
	};
	for (volatile unsigned i = 0; i < sizeof(xm) / sizeof(xm[0]); i++) {
		RUN(asm volatile("ldmxcsr %0\n\tmovsd %1, %%xmm0\n\tdivsd %2, %%xmm0" ::"m"(xm[i].csr),
				 "m"(xm[i].a), "m"(xm[i].b) : "xmm0"));
		expect(xm[i].name, &XM);
	}
	static const struct { const char *name; uint16_t cw; double a, b; } mf[] = {
		{ "#MF divide by zero", 0x37f & ~0x04, 1.0, 0.0 },
		{ "#MF invalid", 0x37f & ~0x01, 0.0, 0.0 },
		{ "#MF precision", 0x37f & ~0x20, 1.0, 3.0 },
	};
	for (volatile unsigned i = 0; i < sizeof(mf) / sizeof(mf[0]); i++) {
		RUN(asm volatile("fninit\n\tfldcw %0\n\tfldl %1\n\tfdivl %2\n\tfwait\n\tfstp %%st(0)" ::"m"(
					 mf[i].cw),
				 "m"(mf[i].a), "m"(mf[i].b) : "st"));
		expect(mf[i].name, &MF);
	}

	exec_mem_set((uintptr_t)rw, (uintptr_t)rw + pg, -1);
	munmap(ro, pg);
	munmap(none, pg);
	munmap(rw, pg);
	if (pastend != MAP_FAILED)
		munmap(pastend, pg);
	if (tmp)
		fclose(tmp);
}

/* What no instruction here can provoke, from the kernel's source (see the
 * top of the file). */
static void table_cases(void)
{
	struct linux_trap t;
	struct linux_trap_fp fp = { .mxcsr = 0x1f80, .fcw = 0x37f };

	/* Vectors the kernel never sends a user task as a signal */
	static const uint8_t none[] = { 2, 7, 8, 9, 15, 18, 20, 21, 28, 29, 30, 31, 32, 255 };
	for (unsigned i = 0; i < sizeof(none); i++)
		CHECK(!linux_trap_of(&(struct guest_exception){ .vector = none[i] }, 0x1000, &fp, &t));

	/* #TS: SIGSEGV; #NP: SIGBUS; both plain, err = the selector */
	struct guest_exception e = { .vector = X86_EXC_TS, .flags = EXC_HAS_ERROR, .error_code = 0x28 };
	CHECK(linux_trap_of(&e, 0x1000, &fp, &t));
	CHECK_EQ(t.signo, SIGSEGV);
	CHECK_EQ(t.code, SI_KERNEL);
	CHECK_EQ(t.addr, 0);
	CHECK_EQ(t.err, 0x28);
	e.vector = X86_EXC_NP;
	CHECK(linux_trap_of(&e, 0x1000, &fp, &t));
	CHECK_EQ(t.signo, SIGBUS);
	CHECK_EQ(t.code, SI_KERNEL);
	CHECK_EQ(t.trapno, X86_EXC_NP);
	/* #BR (bound: not in 64-bit code): SIGSEGV, plain */
	CHECK(linux_trap_of(&(struct guest_exception){ .vector = X86_EXC_BR }, 0x1000, &fp, &t));
	CHECK_EQ(t.signo, SIGSEGV);
	CHECK_EQ(t.code, SI_KERNEL);
	CHECK(!t.trap);

	/* #DB from a hardware breakpoint (DR6.B0-B3): TRAP_HWBKPT at the pc;
	 * single step wins over a breakpoint */
	CHECK(linux_trap_of(&(struct guest_exception){ .vector = X86_EXC_DB, .info = 1 << 2 },
			    0x1234, &fp, &t));
	CHECK_EQ(t.signo, SIGTRAP);
	CHECK_EQ(t.code, 4 /* TRAP_HWBKPT */);
	CHECK_EQ(t.addr, 0x1234);
	CHECK(linux_trap_of(&(struct guest_exception){ .vector = X86_EXC_DB,
						       .info = X86_DR6_BS | 1 },
			    0x1234, &fp, &t));
	CHECK_EQ(t.code, TRAP_TRACE);

	/* #PF refused by a protection key: SEGV_PKUERR */
	e = (struct guest_exception){ .vector = X86_EXC_PF, .flags = EXC_HAS_ERROR,
				      .error_code = X86_PF_USER | X86_PF_PROT | X86_PF_PK,
				      .addr = 0x5000, .map = EXC_MAP_DENIED };
	CHECK(linux_trap_of(&e, 0x1000, &fp, &t));
	CHECK_EQ(t.signo, SIGSEGV);
	CHECK_EQ(t.code, 4 /* SEGV_PKUERR */);
	CHECK_EQ(t.addr, 0x5000);
	CHECK_EQ(t.cr2, 0x5000);
	/* A page fault with no verdict: the present bit decides */
	e = (struct guest_exception){ .vector = X86_EXC_PF, .flags = EXC_HAS_ERROR,
				      .error_code = X86_PF_WRITE, .addr = 0x6000 };
	CHECK(linux_trap_of(&e, 0x1000, &fp, &t));
	CHECK_EQ(t.code, SEGV_MAPERR);
	CHECK_EQ(t.err, X86_PF_WRITE | X86_PF_USER);
	e.error_code |= X86_PF_PROT;
	CHECK(linux_trap_of(&e, 0x1000, &fp, &t));
	CHECK_EQ(t.code, SEGV_ACCERR);

	/* #MF and #XM order: invalid, divide, overflow, underflow or denormal,
	 * precision; the masked ones do not count */
	static const struct { uint16_t flags; int code; } order[] = {
		{ 0x3f, FPE_FLTINV }, { 0x3e, FPE_FLTDIV }, { 0x3a, FPE_FLTOVF },
		{ 0x32, FPE_FLTUND }, { 0x22, FPE_FLTUND }, { 0x20, FPE_FLTRES },
	};
	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct linux_trap_fp f = { .fcw = 0x340, .fsw = order[i].flags,
					   .mxcsr = 0x0000 | order[i].flags };
		CHECK(linux_trap_of(&MF, 0x1000, &f, &t));
		CHECK_EQ(t.code, order[i].code);
		CHECK_EQ(t.trapno, X86_EXC_MF);
		CHECK(linux_trap_of(&XM, 0x1000, &f, &t));
		CHECK_EQ(t.code, order[i].code);
		CHECK_EQ(t.trapno, X86_EXC_XM);
	}
	/* all raised flags masked: invalid is masked, divide is not */
	struct linux_trap_fp f = { .fcw = 0x37f & ~0x04, .fsw = 0x05, .mxcsr = (0x1f80 & ~0x200) | 0x05 };
	CHECK(linux_trap_of(&MF, 0x1000, &f, &t));
	CHECK_EQ(t.code, FPE_FLTDIV);
	CHECK(linux_trap_of(&XM, 0x1000, &f, &t));
	CHECK_EQ(t.code, FPE_FLTDIV);
}

void unit_main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP };
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	native_cases();
	table_cases();
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
}
