/* Switches: a dense one (jump table through an indirect jmp), a sparse one
 * (compare tree), a character-driven state machine, and computed goto. */
#include "guest.h"
#include <string.h>

__attribute__((noinline)) static int dense(unsigned x)
{
	switch (x) {
	case 0: return 17;
	case 1: return x * 3;
	case 2: return -5;
	case 3: return 1000;
	case 4: return x << 4;
	case 5: return 55;
	case 6: return 6006;
	case 7: return -77;
	case 8: return 8 * 8;
	case 9: return 9;
	case 10: return 1010;
	case 11: return x ^ 0xff;
	case 12: return 12;
	case 13: return 1313;
	case 14: return -14;
	case 15: return 150;
	case 16: return 16 + x;
	case 17: return 1700;
	case 18: return 18;
	case 19: return -19 * x;
	default: return -1;
	}
}

__attribute__((noinline)) static int sparse(long x)
{
	switch (x) {
	case -1000000: return 1;
	case -3: return 2;
	case 0: return 3;
	case 7: return 4;
	case 100: return 5;
	case 4096: return 6;
	case 65537: return 7;
	case 1l << 40: return 8;
	case 0x7fffffffffffffffl: return 9;
	default: return 0;
	}
}

/* A tiny tokenizer: counts identifiers, numbers, operators and strings. */
static void lex(const char *s)
{
	enum { START, IDENT, NUMBER, STRING } st = START;
	int ident = 0, number = 0, op = 0, string = 0, other = 0;
	for (const char *p = s;; p++) {
		char c = *p;
		switch (st) {
		case START:
			switch (c) {
			case 'a' ... 'z': case 'A' ... 'Z': case '_': st = IDENT; ident++; break;
			case '0' ... '9': st = NUMBER; number++; break;
			case '"': st = STRING; string++; break;
			case '+': case '-': case '*': case '/': case '=': case '<': case '>':
			case '(': case ')': case '{': case '}': case ';': op++; break;
			case ' ': case '\n': case '\t': break;
			case 0: goto done;
			default: other++; break;
			}
			break;
		case IDENT:
			if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
				st = START;
				p--;
			}
			break;
		case NUMBER:
			if (!(c >= '0' && c <= '9') && c != 'x' && !(c >= 'a' && c <= 'f')) {
				st = START;
				p--;
			}
			break;
		case STRING:
			if (c == '"')
				st = START;
			else if (c == 0)
				goto done;
			break;
		}
	}
done:
	printf("lex: ident=%d number=%d op=%d string=%d other=%d\n", ident, number, op, string, other);
}

/* A bytecode interpreter using computed goto (jmp *table(,%rax,8)). */
static long interp(const unsigned char *code, long arg)
{
	static void *ops[] = { &&op_push, &&op_add, &&op_mul, &&op_dup, &&op_jnz, &&op_dec,
		&&op_swap, &&op_halt, &&op_arg, &&op_drop, &&op_over };
	long stack[16], *sp = stack;
	const unsigned char *pc = code;
#define NEXT goto *ops[*pc++]
	NEXT;
op_push: *sp++ = *pc++; NEXT;
op_add: sp--; sp[-1] += sp[0]; NEXT;
op_mul: sp--; sp[-1] *= sp[0]; NEXT;
op_dup: sp[0] = sp[-1]; sp++; NEXT;
op_jnz: { unsigned char t = *pc++; if (sp[-1]) pc = code + t; } NEXT;
op_dec: sp[-1]--; NEXT;
op_swap: { long t = sp[-1]; sp[-1] = sp[-2]; sp[-2] = t; } NEXT;
op_arg: *sp++ = arg; NEXT;
op_drop: sp--; NEXT;
op_over: sp[0] = sp[-2]; sp++; NEXT;
op_halt: return sp[-1];
#undef NEXT
}

int main(void)
{
	long sum = 0;
	for (unsigned i = 0; i < 25; i++) {
		printf("dense(%u)=%d\n", i, dense(i));
		sum += dense(i);
	}
	for (unsigned i = 0; i < 100000; i++)
		sum += dense(i % 23);
	printf("dense sum %ld\n", sum);

	long sv[] = { -1000000, -3, -2, 0, 7, 8, 100, 4096, 4097, 65537, 1l << 40, 0x7fffffffffffffffl, -1 };
	for (unsigned i = 0; i < sizeof sv / sizeof sv[0]; i++)
		printf("sparse(%ld)=%d\n", sv[i], sparse(sv[i]));

	lex("int main(void) { int x = 0x1f + 42; printf(\"%d\\n\", x * 3); return x < 7; } @ #");
	char buf[4096];
	buf[0] = 0;
	for (int i = 0; i < 60; i++)
		strcat(buf, i % 3 ? "foo_bar = baz(12, \"q\") * 7;\n" : "while (x < 100) { x = x + 1; }\n");
	lex(buf);

	/* acc = 1; n = arg; do { acc *= n; } while (--n); -- stack [acc n] */
	static const unsigned char fact[] = {
		0, 1,   /* 0: push 1   [1]           */
		8,      /* 2: arg      [acc n]       */
		6,      /* 3: swap     [n acc]       */
		10,     /* 4: over     [n acc n]     */
		2,      /* 5: mul      [n acc*n]     */
		6,      /* 6: swap     [acc*n n]     */
		5,      /* 7: dec      [acc n-1]     */
		4, 3,   /* 8: jnz 3                  */
		9,      /* 10: drop    [acc]         */
		7       /* 11: halt                  */
	};
	/* The same loop with add: sum of 1..arg. */
	static const unsigned char sumto[] = { 0, 0, 8, 6, 10, 1, 6, 5, 4, 3, 9, 7 };
	for (int n = 1; n <= 20; n += 3)
		printf("interp fact(%d)=%ld sum(%d)=%ld\n", n, interp(fact, n), n, interp(sumto, n));

	/* A counting loop in bytecode: push arg; loop: dec; jnz loop; halt. */
	/* 0: arg  1: dec  2: jnz 1  4: push 5  6: add  7: halt  -> 0 + 5 */
	static const unsigned char count[] = { 8, 5, 4, 1, 0, 5, 1, 7 };
	long t = 0;
	for (int i = 0; i < 200; i++)
		t += interp(count, 1000 + i);
	printf("interp loop %ld\n", t);
	return 0;
}
