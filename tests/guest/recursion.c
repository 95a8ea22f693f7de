/* Deep and branchy recursion: Ackermann, naive Fibonacci, Tower of Hanoi,
 * a recursive-descent expression evaluator, and permutations by backtracking.
 * Exercises call/ret pairs (and any return-address prediction in loom). */
#include "guest.h"
#include <string.h>

__attribute__((noinline)) static long ack(long m, long n)
{
	if (m == 0)
		return n + 1;
	if (n == 0)
		return ack(m - 1, 1);
	return ack(m - 1, ack(m, n - 1));
}

__attribute__((noinline)) static long fib(int n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static long hanoi_moves;
static uint64_t hanoi_hash = MIX_INIT;
__attribute__((noinline)) static void hanoi(int n, int from, int to, int via)
{
	if (n == 0)
		return;
	hanoi(n - 1, from, via, to);
	hanoi_moves++;
	hanoi_hash = mix(hanoi_hash, (uint64_t)(from * 3 + to));
	hanoi(n - 1, via, to, from);
}

/* expr := term (('+'|'-') term)*; term := factor (('*'|'/'|'%') factor)*;
 * factor := number | '(' expr ')' | '-' factor */
static const char *ep;
static long expr(void);
static long factor(void)
{
	if (*ep == '(') {
		ep++;
		long v = expr();
		ep++; /* ')' */
		return v;
	}
	if (*ep == '-') {
		ep++;
		return -factor();
	}
	long v = 0;
	while (*ep >= '0' && *ep <= '9')
		v = v * 10 + (*ep++ - '0');
	return v;
}
static long term(void)
{
	long v = factor();
	for (;;) {
		char op = *ep;
		if (op != '*' && op != '/' && op != '%')
			return v;
		ep++;
		long r = factor();
		v = op == '*' ? v * r : r == 0 ? 0 : op == '/' ? v / r : v % r;
	}
}
static long expr(void)
{
	long v = term();
	while (*ep == '+' || *ep == '-') {
		char op = *ep++;
		long r = term();
		v = op == '+' ? v + r : v - r;
	}
	return v;
}
static long eval(const char *s)
{
	ep = s;
	return expr();
}

static int perm_count;
static uint64_t perm_hash = MIX_INIT;
static void permute(char *a, int k, int n)
{
	if (k == n) {
		perm_count++;
		for (int i = 0; i < n; i++)
			perm_hash = mix(perm_hash, (uint64_t)a[i]);
		return;
	}
	for (int i = k; i < n; i++) {
		char t = a[k]; a[k] = a[i]; a[i] = t;
		permute(a, k + 1, n);
		t = a[k]; a[k] = a[i]; a[i] = t;
	}
}

/* Recursion deep enough to use ~2 MB of stack. */
__attribute__((noinline)) static long deep(long n)
{
	volatile char pad[64];
	pad[n & 63] = (char)n;
	if (n == 0)
		return 0;
	return deep(n - 1) + pad[n & 63] % 3;
}

int main(void)
{
	for (int m = 0; m <= 3; m++)
		for (int n = 0; n <= 5; n++)
			printf("ack(%d,%d)=%ld\n", m, n, ack(m, n));
	printf("ack(3,7)=%ld\n", ack(3, 7));
	for (int n = 0; n <= 27; n += 3)
		printf("fib(%d)=%ld\n", n, fib(n));
	hanoi(16, 1, 3, 2);
	printf("hanoi moves=%ld hash=%016llx\n", hanoi_moves, (unsigned long long)hanoi_hash);
	const char *exprs[] = { "1+2*3", "(1+2)*3", "-(4-10)*-(3+2)", "100/7%4+((((5))))",
		"2*(3+(4*(5+(6*(7+8)))))-1000", "123456789*1000/3-41152263000", "7/0+1" };
	for (unsigned i = 0; i < sizeof exprs / sizeof exprs[0]; i++)
		printf("%s = %ld\n", exprs[i], eval(exprs[i]));
	char a[9];
	memcpy(a, "abcdefgh", 8);
	permute(a, 0, 8);
	printf("permutations=%d hash=%016llx\n", perm_count, (unsigned long long)perm_hash);
	printf("deep=%ld\n", deep(20000));
	return 0;
}
