/* Tight loops of every shape must let a signal in: loom checks for a
 * pending exit request only where a loop can close (a chained jump back to
 * a lower pc, an indirect jump, a return), so each shape below spins on a
 * flag until SIGALRM's handler sets it.  A shape that starved the check
 * would spin until the runner's timeout kills it. */
#include "guest.h"
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

volatile int flag;

static void on_alarm(int sig)
{
	(void)sig;
	flag = 1;
}

static void arm(void)
{
	flag = 0;
	struct itimerval t = { .it_value = { .tv_usec = 20000 } };
	setitimer(ITIMER_REAL, &t, NULL);
}

/* One block jumping to itself. */
static void self_loop(void)
{
	__asm__ volatile("1: cmpl $0, flag(%%rip)\n\tje 1b" ::: "cc", "memory");
}

/* Two blocks: a forward jump over padding, then the jump back. */
static void two_blocks(void)
{
	__asm__ volatile("1: cmpl $0, flag(%%rip)\n\tjne 3f\n\tjmp 2f\n\t.skip 64, 0x90\n"
			 "2: jmp 1b\n3:" ::: "cc", "memory");
}

/* A backward conditional jump into a block that jumps forward. */
static void forward_then_back(void)
{
	__asm__ volatile("jmp 2f\n1: jmp 3f\n\t.skip 32, 0x90\n2: cmpl $0, flag(%%rip)\n\tje 1b\n\tjmp 4f\n"
			 "3: jmp 2b\n4:" ::: "cc", "memory");
}

/* An indirect jump to the loop's head. */
static void indirect(void)
{
	__asm__ volatile("lea 1f(%%rip), %%rdx\n1: cmpl $0, flag(%%rip)\n\tjne 2f\n\tjmp *%%rdx\n2:"
			 ::: "rdx", "cc", "memory");
}

/* A return to the loop's head (push; ret), below the red zone. */
static void push_ret(void)
{
	__asm__ volatile("sub $128, %%rsp\n1: cmpl $0, flag(%%rip)\n\tjne 2f\n\tlea 1b(%%rip), %%rax\n\t"
			 "push %%rax\n\tret\n2: add $128, %%rsp"
			 ::: "rax", "cc", "memory");
}

/* A call forward, whose callee's return leads back to a jump back. */
static void call_loop(void)
{
	__asm__ volatile("sub $128, %%rsp\n1: call 3f\n\tcmpl $0, flag(%%rip)\n\tje 1b\n\tjmp 4f\n"
			 "3: ret\n4: add $128, %%rsp" ::: "cc", "memory");
}

int main(void)
{
	static const struct { const char *name; void (*fn)(void); } shapes[] = {
		{ "self loop", self_loop }, { "two blocks", two_blocks },
		{ "forward then back", forward_then_back }, { "indirect jump", indirect },
		{ "push and ret", push_ret }, { "call and ret", call_loop },
	};
	signal(SIGALRM, on_alarm);
	for (unsigned i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		arm();
		shapes[i].fn();
		printf("%s: signal seen\n", shapes[i].name);
	}
	return 0;
}
