/* The arithmetic flags a signal handler finds in its ucontext must be the
 * ones the interrupted instruction saw, wherever the signal lands.  The
 * loop below runs three blocks; the first two, and the code after the
 * loop, open by overwriting every flag (a register move, then an add, a
 * cmp or a xor), so loom leaves the flags of the block before them
 * unstored at the jump into them, and must still show them exactly when a
 * signal comes in at that jump.  Each of the three
 * flag-writers leaves different flags, so the handler can tell from the
 * interrupted pc which ones are right.  The runner's timeout catches a
 * loop that never lets a signal in. */
#include "guest.h"
#include <signal.h>
#include <stdint.h>
#include <sys/time.h>
#include <ucontext.h>

extern char la0[], la2[], lb2[], lc2[], lend[];
volatile int done;
static int inloop, wrong;

#define FL_CF 0x1
#define FL_ZF 0x40
#define FL_SF 0x80
#define FL_OF 0x800
#define FLAGS (FL_CF | FL_ZF | FL_SF | FL_OF)

/*
 * r10 = 0, rcx = -2^40, r8 = 0:
 *   test %r10d,%r10d   ZF
 *   add $1,%rdx        SF (rdx = rcx + 1 < 0)
 *   cmp %rcx,%r8       CF (0 - rcx borrows; the result is positive)
 */
__asm__(".text\n"
	"flag_loop:\n\t"
	"push %rbx\n\t"
	"xor %r10d, %r10d\n\t"
	"xor %r8d, %r8d\n\t"
	"movabs $-0x10000000000, %rcx\n\t"
	"test %r10d, %r10d\n"
	"la0:\n\t"
	"mov %rcx, %rdx\n\t"		/* A: opens with a move and an add */
	"add $1, %rdx\n"
	"la2:\n\t"
	"mov %rdx, %rcx\n\t"
	"jmp 2f\n\t"
	".skip 32, 0x90\n"
	"2:\n\t"
	"mov %rcx, %r9\n\t"		/* B: a move and a cmp */
	"cmp %rcx, %r8\n"
	"lb2:\n\t"
	"jne 3f\n\t"
	"jmp 4f\n"
	"3:\n\t"
	"mov done(%rip), %r10d\n\t"	/* C: opens with a load */
	"test %r10d, %r10d\n"
	"lc2:\n\t"
	"jz la0\n"
	"4:\n"
	"lend:\n\t"
	"xor %eax, %eax\n\t"		/* opens with an overwrite too */
	"pop %rbx\n\t"
	"ret\n");
void flag_loop(void);

static void on_alarm(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ctx;
	char *pc = (char *)uc->uc_mcontext.gregs[REG_RIP];
	long fl = uc->uc_mcontext.gregs[REG_EFL] & FLAGS;
	if (pc < la0 || pc >= lend)
		return;
	long want;
	if (pc < la2 || pc >= lc2)
		want = FL_ZF;		/* test */
	else if (pc < lb2)
		want = FL_SF;		/* add */
	else
		want = FL_CF;		/* cmp */
	if (fl != want && wrong++ < 5)
		printf("at loop offset %ld: flags %#lx, expected %#lx\n", (long)(pc - la0), fl, want);
	if (++inloop >= 40)
		done = 1;
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_alarm, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval t = { .it_interval = { .tv_usec = 500 }, .it_value = { .tv_usec = 500 } };
	setitimer(ITIMER_REAL, &t, NULL);
	flag_loop();
	struct itimerval off = { 0 };
	setitimer(ITIMER_REAL, &off, NULL);
	printf("signals in the loop: at least 40, flags wrong in %d\n", wrong);
	return 0;
}
