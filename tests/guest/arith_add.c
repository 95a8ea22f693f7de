/* Addition and subtraction at 8/16/32/64/128 bits: results, carry and signed
 * overflow via __builtin_*_overflow (jc/jo/setc/seto), comparisons of every
 * signedness (setcc/cmov/jcc), and multi-word add/sub chains (adc/sbb). */
#include "guest.h"
#include <x86intrin.h>

#define PAIRS(BITS, ST, UT)                                                     \
static void pairs##BITS(void)                                                   \
{                                                                               \
	static const unsigned long long seeds[] = { 0, 1, 2, 3, ~0ull, ~0ull - 1,   \
		0x7fffffffffffffffull, 0x8000000000000000ull, 0x5555555555555555ull, \
		0xaaaaaaaaaaaaaaaaull, 0x0123456789abcdefull, 0x7f, 0x80, 0x7fff,    \
		0x8000, 0x7fffffff, 0x80000000ull };                                 \
	enum { N = sizeof seeds / sizeof seeds[0] };                                \
	UT v[N];                                                                    \
	for (int i = 0; i < N; i++)                                                 \
		v[i] = (UT)seeds[i];                                                    \
	HIDE(v);                                                                    \
	for (int i = 0; i < N; i++)                                                 \
		for (int j = 0; j < N; j++) {                                           \
			UT a = v[i], b = v[j], ur, us;                                      \
			ST sr, ss;                                                          \
			int c = __builtin_add_overflow(a, b, &ur);                          \
			int o = __builtin_add_overflow((ST)a, (ST)b, &sr);                  \
			int bw = __builtin_sub_overflow(a, b, &us);                         \
			int os = __builtin_sub_overflow((ST)a, (ST)b, &ss);                 \
			int rel = ((ST)a < (ST)b) | ((ST)a <= (ST)b) << 1 |                 \
				((ST)a > (ST)b) << 2 | ((ST)a >= (ST)b) << 3 |                  \
				(a < b) << 4 | (a <= b) << 5 | (a > b) << 6 |                   \
				(a >= b) << 7 | (a == b) << 8 | (a != b) << 9;                  \
			UT sel = (ST)a < (ST)b ? a : b; /* cmov */                          \
			printf("%d %llx %llx: %llx c%d o%d %llx b%d o%d rel=%03x sel=%llx\n", \
				BITS, (unsigned long long)a, (unsigned long long)b,             \
				(unsigned long long)ur, c, o, (unsigned long long)us, bw, os,   \
				rel, (unsigned long long)sel);                                  \
			if ((UT)sr != ur || (UT)ss != us)                                   \
				printf("signed/unsigned result mismatch\n");                    \
		}                                                                       \
}
PAIRS(8, int8_t, uint8_t)
PAIRS(16, int16_t, uint16_t)
PAIRS(32, int32_t, uint32_t)
PAIRS(64, int64_t, uint64_t)

/* Increment, decrement and negation edge cases (inc/dec keep CF). */
static void incdec(void)
{
	int64_t v[] = { 0, 1, -1, INT64_MAX, INT64_MIN, INT32_MAX, INT32_MIN };
	HIDE(v);
	for (unsigned i = 0; i < sizeof v / sizeof v[0]; i++) {
		int64_t r;
		int o1 = __builtin_add_overflow(v[i], 1, &r);
		int64_t r2;
		int o2 = __builtin_sub_overflow(v[i], 1, &r2);
		int64_t n;
		int o3 = __builtin_sub_overflow(0, v[i], &n);
		int32_t w = (int32_t)v[i], w1;
		int o4 = __builtin_add_overflow(w, 1, &w1);
		printf("incdec %llx: %llx o%d %llx o%d neg %llx o%d w %x o%d\n",
		       (unsigned long long)v[i], (unsigned long long)r, o1,
		       (unsigned long long)r2, o2, (unsigned long long)n, o3, w1, o4);
	}
}

/* 256-bit add and subtract with carry chains: _addcarry_u64 is adc. */
static void bignum(void)
{
	uint64_t h = MIX_INIT;
	rng_seed(42);
	for (int k = 0; k < 2000; k++) {
		unsigned long long a[4], b[4], s[4], d[4];
		for (int i = 0; i < 4; i++) {
			a[i] = rng();
			b[i] = rng();
			/* Bias towards all-ones words so carries ripple far. */
			if (k % 3 == 0) a[i] = ~0ull;
			if (k % 5 == 0) b[i] = ~0ull - (rng() & 1);
		}
		unsigned char c = 0, bo = 0;
		for (int i = 0; i < 4; i++) {
			c = _addcarry_u64(c, a[i], b[i], &s[i]);
			bo = _subborrow_u64(bo, a[i], b[i], &d[i]);
		}
		for (int i = 0; i < 4; i++)
			h = mix(mix(h, s[i]), d[i]);
		h = mix(h, c | bo << 1);
		if (k < 8)
			printf("big %d: %016llx%016llx%016llx%016llx c%d  %016llx%016llx%016llx%016llx b%d\n",
			       k, s[3], s[2], s[1], s[0], c, d[3], d[2], d[1], d[0], bo);
	}
	printf("bignum hash %016llx\n", (unsigned long long)h);

	/* 128-bit arithmetic compiles to add/adc and sub/sbb pairs. */
	unsigned __int128 x = ((unsigned __int128)0xffffffffffffffffull << 64) | 0xfffffffffffffff0ull;
	unsigned __int128 y = 0x20;
	HIDE(x);
	HIDE(y);
	unsigned __int128 z = x + y, w = y - x;
	__int128 sx = (__int128)x, sy = -(__int128)y;
	printf("u128 %016llx%016llx %016llx%016llx lt=%d slt=%d\n",
	       (unsigned long long)(z >> 64), (unsigned long long)z,
	       (unsigned long long)(w >> 64), (unsigned long long)w, x < y, sx < sy);
}

/* Branchy accumulation: the branch outcomes depend on flags of sums. */
static void branches(void)
{
	uint64_t h = MIX_INIT;
	rng_seed(7);
	for (int k = 0; k < 20000; k++) {
		uint32_t a = (uint32_t)rng(), b = (uint32_t)rng(), r;
		int32_t sa = (int32_t)a, sb = (int32_t)b, sr;
		if (k & 1) a |= 0x80000000u;
		if (__builtin_add_overflow(a, b, &r))
			h = mix(h, 1);
		else if (__builtin_add_overflow(sa, sb, &sr))
			h = mix(h, 2);
		else if ((int32_t)(a - b) < 0)
			h = mix(h, 3);
		else if ((a ^ b) & 0x10)
			h = mix(h, 4);
		else
			h = mix(h, r);
	}
	printf("branches hash %016llx\n", (unsigned long long)h);
}

int main(void)
{
	pairs8();
	pairs16();
	pairs32();
	pairs64();
	incdec();
	bignum();
	branches();
	return 0;
}
