/* Signal delivery: handlers installed with sigaction (with and without
 * SA_SIGINFO), raise() and kill() to self, blocked signals held pending and
 * delivered on unblock, a handler on an alternate stack, and synchronous
 * faults -- a write to a PROT_NONE page (SIGSEGV with si_addr), integer
 * division by zero (SIGFPE), ud2 (SIGILL) -- recovered with siglongjmp. */
#include "guest.h"
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t got[65];
static volatile int order[16], norder;
static volatile int last_code, last_signo;

static void simple(int sig)
{
	got[sig]++;
	if (norder < 16)
		order[norder++] = sig;
}

static void with_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got[sig]++;
	last_signo = si->si_signo;
	last_code = si->si_code;
}

static sigjmp_buf recover;
static volatile uintptr_t fault_addr;
static volatile int fault_sig, fault_code;
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fault_sig = sig;
	fault_code = si->si_code;
	fault_addr = (uintptr_t)si->si_addr;
	siglongjmp(recover, 1);
}

static char *alt_base;
static size_t alt_size;
static volatile int on_alt;
static void alt_handler(int sig)
{
	char here;
	on_alt = &here >= alt_base && &here < alt_base + alt_size;
	got[sig]++;
}

static void install(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void install_info(int sig, void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

__attribute__((noinline)) static int divide(int a, int b) { return a / b; }

int main(void)
{
	install(SIGUSR1, simple, 0);
	install(SIGUSR2, simple, 0);
	raise(SIGUSR1);
	kill(getpid(), SIGUSR2);
	printf("usr1=%d usr2=%d\n", got[SIGUSR1], got[SIGUSR2]);

	install_info(SIGCHLD, with_info);
	raise(SIGCHLD);
	printf("siginfo: signo=%d code=%s\n", last_signo, last_code == SI_TKILL ? "SI_TKILL" :
	       last_code == SI_USER ? "SI_USER" : "other");

	/* Block three signals, raise them, check pending, unblock: all arrive
	 * before sigprocmask returns.  The order (how the frames nest) is not
	 * specified, so print the sorted set. */
	sigset_t set, old, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGHUP);
	install(SIGHUP, simple, 0);
	sigprocmask(SIG_BLOCK, &set, &old);
	norder = 0;
	raise(SIGUSR2);
	raise(SIGHUP);
	raise(SIGUSR1);
	raise(SIGUSR1); /* standard signals do not queue */
	sigpending(&pend);
	printf("pending: usr1=%d usr2=%d hup=%d term=%d, delivered so far=%d\n",
	       sigismember(&pend, SIGUSR1), sigismember(&pend, SIGUSR2), sigismember(&pend, SIGHUP),
	       sigismember(&pend, SIGTERM), norder);
	sigprocmask(SIG_SETMASK, &old, NULL);
	printf("delivered after unblock:");
	for (int sig = 1; sig < 32; sig++)
		for (int i = 0; i < norder; i++)
			if (order[i] == sig)
				printf(" %d", sig);
	printf("\n");

	/* Real-time signals queue and carry a value. */
	install(SIGRTMIN + 1, simple, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 3; i++) {
		union sigval v = { .sival_int = i };
		sigqueue(getpid(), SIGRTMIN + 1, v);
	}
	got[SIGRTMIN + 1] = 0;
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	printf("rt signal delivered %d times\n", got[SIGRTMIN + 1]);

	/* sigwait-style synchronous receipt. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR2);
	int which = 0;
	sigwait(&set, &which);
	printf("sigwait got %s\n", which == SIGUSR2 ? "SIGUSR2" : "other");
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	/* Alternate signal stack. */
	alt_size = 64 * 1024;
	alt_base = malloc(alt_size);
	stack_t ss = { .ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0 };
	sigaltstack(&ss, NULL);
	install(SIGWINCH, alt_handler, SA_ONSTACK);
	raise(SIGWINCH);
	printf("altstack handler ran=%d on alt stack=%d\n", got[SIGWINCH], on_alt);
	install(SIGWINCH, alt_handler, 0);
	raise(SIGWINCH);
	printf("without SA_ONSTACK: on alt stack=%d\n", on_alt);

	/* Synchronous faults. */
	long pg = sysconf(_SC_PAGESIZE);
	char *page = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	install_info(SIGSEGV, on_fault);
	install_info(SIGFPE, on_fault);
	install_info(SIGILL, on_fault);
	install_info(SIGBUS, on_fault);
	for (int k = 0; k < 3; k++) {
		if (sigsetjmp(recover, 1) == 0) {
			page[100 + k * 8] = 1;
			printf("no fault?\n");
		} else {
			printf("SIGSEGV caught: sig=%d code=%s offset=%ld\n", fault_sig,
			       fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : fault_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other",
			       (long)(fault_addr - (uintptr_t)page));
		}
	}
	munmap(page, pg);
	if (sigsetjmp(recover, 1) == 0) {
		volatile int x = *(volatile int *)page;
		printf("no fault? %d\n", x);
	} else {
		printf("unmapped read: code=%s offset=%ld\n",
		       fault_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other", (long)(fault_addr - (uintptr_t)page));
	}
	if (sigsetjmp(recover, 1) == 0) {
		int zero = 0;
		HIDE(zero);
		printf("no fault? %d\n", divide(7, zero));
	} else {
		printf("SIGFPE caught: sig=%d code=%s\n", fault_sig, fault_code == FPE_INTDIV ? "FPE_INTDIV" : "other");
	}
	if (sigsetjmp(recover, 1) == 0) {
		__asm__ volatile("ud2");
		printf("no fault?\n");
	} else {
		printf("SIGILL caught: sig=%d code=%s\n", fault_sig, fault_code == ILL_ILLOPN ? "ILL_ILLOPN" : "other");
	}
	/* The mask was restored by siglongjmp: faults still work after. */
	if (sigsetjmp(recover, 1) == 0) {
		volatile char *p = (volatile char *)8;
		HIDE(p);
		*p = 0;
	} else {
		printf("null write: addr=%ld\n", (long)fault_addr);
	}
	printf("done\n");
	return 0;
}
