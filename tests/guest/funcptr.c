/* Indirect calls: function-pointer tables, C "vtables" with several classes,
 * callbacks passed down through noinline functions, indirect tail calls
 * (jmp *reg), and functions returning function pointers. */
#include "guest.h"
#include <stdlib.h>

struct shape;
struct shape_ops {
	const char *name;
	long (*area)(const struct shape *);
	long (*perimeter)(const struct shape *);
	void (*scale)(struct shape *, int);
};
struct shape {
	const struct shape_ops *ops;
	long a, b, c;
};

static long rect_area(const struct shape *s) { return s->a * s->b; }
static long rect_perim(const struct shape *s) { return 2 * (s->a + s->b); }
static void rect_scale(struct shape *s, int k) { s->a *= k; s->b *= k; }
static long sq_area(const struct shape *s) { return s->a * s->a; }
static long sq_perim(const struct shape *s) { return 4 * s->a; }
static void sq_scale(struct shape *s, int k) { s->a *= k; }
static long tri_area2(const struct shape *s) /* twice the area, Heron-free: right triangle */
{
	return s->a * s->b;
}
static long tri_perim(const struct shape *s) { return s->a + s->b + s->c; }
static void tri_scale(struct shape *s, int k) { s->a *= k; s->b *= k; s->c *= k; }

static const struct shape_ops rect_ops = { "rect", rect_area, rect_perim, rect_scale };
static const struct shape_ops square_ops = { "square", sq_area, sq_perim, sq_scale };
static const struct shape_ops tri_ops = { "tri", tri_area2, tri_perim, tri_scale };

typedef long (*binop)(long, long);
static long op_add(long a, long b) { return a + b; }
static long op_sub(long a, long b) { return a - b; }
static long op_mul(long a, long b) { return a * b; }
static long op_div(long a, long b) { return b ? a / b : 0; }
static long op_mod(long a, long b) { return b ? a % b : 0; }
static long op_xor(long a, long b) { return a ^ b; }
static long op_max(long a, long b) { return a > b ? a : b; }
static const binop table[] = { op_add, op_sub, op_mul, op_div, op_mod, op_xor, op_max };

__attribute__((noinline)) static long fold(const long *v, int n, binop f, long init)
{
	for (int i = 0; i < n; i++)
		init = f(init, v[i]);
	return init;
}

/* Indirect tail call: the compiler emits jmp *%rax. */
__attribute__((noinline)) static long dispatch(int which, long a, long b)
{
	return table[which % 7](a, b);
}

static binop pick(int k) { return table[k % 7]; }

/* Mutually recursive through pointers: a trampoline-free even/odd. */
typedef int (*pred)(unsigned, const void *);
static int is_even(unsigned n, const void *other);
static int is_odd(unsigned n, const void *other)
{
	return n == 0 ? 0 : ((pred)other)(n - 1, (const void *)is_odd);
}
static int is_even(unsigned n, const void *other)
{
	return n == 0 ? 1 : ((pred)other)(n - 1, (const void *)is_even);
}

int main(void)
{
	struct shape shapes[30];
	const struct shape_ops *kinds[] = { &rect_ops, &square_ops, &tri_ops };
	for (int i = 0; i < 30; i++) {
		shapes[i].ops = kinds[(i * 7) % 3];
		shapes[i].a = 3 + i;
		shapes[i].b = 4 + 2 * i;
		shapes[i].c = 5 + i;
	}
	long total_area = 0, total_perim = 0;
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 30; i++) {
			struct shape *s = &shapes[i];
			total_area += s->ops->area(s);
			total_perim += s->ops->perimeter(s);
			s->ops->scale(s, 1 + (i + round) % 3);
		}
	for (int i = 0; i < 6; i++)
		printf("%s a=%ld p=%ld\n", shapes[i].ops->name, shapes[i].ops->area(&shapes[i]),
		       shapes[i].ops->perimeter(&shapes[i]));
	printf("totals %ld %ld\n", total_area, total_perim);

	long v[50];
	for (int i = 0; i < 50; i++)
		v[i] = (i * 37 + 11) % 101 - 50 ?: 1;
	for (int k = 0; k < 7; k++)
		printf("fold[%d]=%ld\n", k, fold(v, k == 2 || k == 3 ? 9 : 50, table[k],
		       k == 2 ? 1 : k == 3 ? 1000000000000000000l : 1000));

	long acc = 0;
	uint64_t h = MIX_INIT;
	for (int i = 0; i < 100000; i++) {
		acc = dispatch(i, acc, i % 13 + 1) + i;
		h = mix(h, (uint64_t)acc);
	}
	printf("dispatch %ld hash %016llx\n", acc, (unsigned long long)h);
	acc = 0;
	for (int i = 0; i < 1000; i++)
		acc += pick(i)(i, 3);
	printf("pick %ld\n", acc);
	printf("even(1000)=%d even(777)=%d odd(31)=%d\n", is_even(1000, (const void *)is_odd),
	       is_even(777, (const void *)is_odd), is_odd(31, (const void *)is_even));
	return 0;
}
