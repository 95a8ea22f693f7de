/* setjmp/longjmp: jumps out of nested calls with various values (0 becomes 1),
 * volatile locals surviving the jump, an error-unwinding pattern inside a
 * recursive parser, and repeated jumps in a loop.  glibc mangles the saved
 * stack and frame pointers with a key from the TCB (%fs:0x30). */
#include "guest.h"
#include <setjmp.h>
#include <string.h>

static jmp_buf env;
static int depth_reached;

__attribute__((noinline, noreturn)) static void dive(int depth, int limit, int val)
{
	volatile char buf[128];
	memset((char *)buf, depth, sizeof buf);
	depth_reached = depth;
	if (depth == limit)
		longjmp(env, val);
	dive(depth + 1, limit, val + (buf[depth & 127] - (char)depth));
}

/* Parses a list of digits; a non-digit aborts the whole parse via longjmp. */
static jmp_buf parse_err;
__attribute__((noinline)) static int digits(const char *s, int acc)
{
	if (*s == 0)
		return acc;
	if (*s < '0' || *s > '9')
		longjmp(parse_err, (int)(unsigned char)*s);
	return digits(s + 1, acc * 10 + (*s - '0'));
}

static int parse(const char *s, int *out)
{
	int bad = setjmp(parse_err);
	if (bad)
		return bad;
	*out = digits(s, 0);
	return 0;
}

int main(void)
{
	int vals[] = { 1, 0, 42, -7, 0x7fffffff };
	for (int i = 0; i < 5; i++) {
		volatile int counter = 100 + i;
		int r = setjmp(env);
		if (r == 0) {
			counter++;
			dive(0, 10 + i * 50, vals[i]);
			printf("not reached\n");
		} else {
			printf("longjmp %d -> setjmp returned %d, depth %d, counter %d\n",
			       vals[i], r, depth_reached, counter);
		}
	}

	const char *inputs[] = { "12345", "12x45", "", "99999", "7!", "0000012" };
	for (int i = 0; i < 6; i++) {
		int v = -1;
		int err = parse(inputs[i], &v);
		if (err)
			printf("parse \"%s\": error at '%c'\n", inputs[i], err);
		else
			printf("parse \"%s\": %d\n", inputs[i], v);
	}

	/* Many jumps: each lands back in the same frame. */
	volatile long sum = 0;
	volatile int n = 0;
	jmp_buf loop;
	int r = setjmp(loop);
	sum += r;
	if (n++ < 10000)
		longjmp(loop, n % 17 + 1);
	printf("loop sum %ld after %d jumps\n", (long)sum, n - 1);

	/* sigsetjmp without signal mask save behaves like setjmp. */
	sigjmp_buf sj;
	volatile int k = 0;
	if (sigsetjmp(sj, 0) < 3) {
		k++;
		siglongjmp(sj, k);
	}
	printf("sigsetjmp k=%d\n", k);
	return 0;
}
