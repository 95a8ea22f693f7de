/* Multiplication: widening 8x8 .. 64x64->128 (mul/imul one-operand forms),
 * truncating imul two- and three-operand forms, overflow detection (jo/jc after
 * imul/mul), and multiply-by-constant idioms (lea chains, shifts). */
#include "guest.h"

static const unsigned long long seeds[] = { 0, 1, 2, 3, 7, ~0ull, ~0ull - 1,
	0x7fffffffffffffffull, 0x8000000000000000ull, 0x5555555555555555ull,
	0xaaaaaaaaaaaaaaaaull, 0x0123456789abcdefull, 0xfedcba9876543210ull, 0x7f,
	0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000ull, 0xffffffffull };
enum { N = sizeof seeds / sizeof seeds[0] };

#define WIDE(BITS, ST, UT, SW, UW)                                              \
static void wide##BITS(void)                                                    \
{                                                                               \
	UT v[N];                                                                    \
	for (int i = 0; i < N; i++)                                                 \
		v[i] = (UT)seeds[i];                                                    \
	HIDE(v);                                                                    \
	for (int i = 0; i < N; i++)                                                 \
		for (int j = 0; j < N; j++) {                                           \
			UT a = v[i], b = v[j], ut;                                          \
			ST st;                                                              \
			UW u = (UW)a * b;                                                   \
			SW s = (SW)(ST)a * (ST)b;                                           \
			int uo = __builtin_mul_overflow(a, b, &ut);                         \
			int so = __builtin_mul_overflow((ST)a, (ST)b, &st);                 \
			printf("%d %llx*%llx u=%016llx%016llx s=%016llx%016llx uo%d so%d\n", \
				BITS, (unsigned long long)a, (unsigned long long)b,             \
				(unsigned long long)((unsigned __int128)u >> 64),               \
				(unsigned long long)u,                                          \
				(unsigned long long)((unsigned __int128)s >> 64),               \
				(unsigned long long)s, uo, so);                                 \
		}                                                                       \
}
WIDE(8, int8_t, uint8_t, int16_t, uint16_t)
WIDE(16, int16_t, uint16_t, int32_t, uint32_t)
WIDE(32, int32_t, uint32_t, int64_t, uint64_t)
WIDE(64, int64_t, uint64_t, __int128, unsigned __int128)

/* Constant multipliers become lea/shl/add sequences or imul r, r/m, imm. */
static void constants(void)
{
	uint64_t h = MIX_INIT;
	rng_seed(3);
	for (int k = 0; k < 5000; k++) {
		uint64_t x = rng();
		int32_t y = (int32_t)x;
		h = mix(h, x * 3);
		h = mix(h, x * 5);
		h = mix(h, x * 9);
		h = mix(h, x * 10);
		h = mix(h, x * 45);
		h = mix(h, x * 1000003);
		h = mix(h, x * -7);
		h = mix(h, (uint64_t)(int64_t)(y * 100));
		h = mix(h, (uint32_t)y * 0x9e3779b9u);
		h = mix(h, (uint16_t)((uint16_t)x * (uint16_t)0x1234));
	}
	printf("constants hash %016llx\n", (unsigned long long)h);
}

/* A 128x128->256 multiply built from 64-bit halves (mul + adc chains). */
static void mul256(void)
{
	uint64_t h = MIX_INIT;
	rng_seed(11);
	for (int k = 0; k < 3000; k++) {
		uint64_t a[2] = { rng(), rng() }, b[2] = { rng(), rng() }, r[4] = { 0 };
		if (k % 4 == 0) a[0] = a[1] = ~0ull;
		for (int i = 0; i < 2; i++) {
			unsigned __int128 carry = 0;
			for (int j = 0; j < 2; j++) {
				unsigned __int128 t = (unsigned __int128)a[i] * b[j] + r[i + j] + carry;
				r[i + j] = (uint64_t)t;
				carry = t >> 64;
			}
			r[i + 2] = (uint64_t)carry;
		}
		for (int i = 0; i < 4; i++)
			h = mix(h, r[i]);
		if (k < 4)
			printf("mul256 %d: %016llx%016llx%016llx%016llx\n", k,
			       (unsigned long long)r[3], (unsigned long long)r[2],
			       (unsigned long long)r[1], (unsigned long long)r[0]);
	}
	printf("mul256 hash %016llx\n", (unsigned long long)h);
}

/* Modular exponentiation with 64-bit modulus via 128-bit products. */
static uint64_t powmod(uint64_t b, uint64_t e, uint64_t m)
{
	uint64_t r = 1;
	b %= m;
	while (e) {
		if (e & 1)
			r = (unsigned __int128)r * b % m;
		b = (unsigned __int128)b * b % m;
		e >>= 1;
	}
	return r;
}

int main(void)
{
	wide8();
	wide16();
	wide32();
	wide64();
	constants();
	mul256();
	printf("powmod %llu %llu %llu\n",
	       (unsigned long long)powmod(2, 1000000, 1000000007),
	       (unsigned long long)powmod(0x123456789abcdefull, 0xfedcba987654321ull, 0xffffffffffffffc5ull),
	       (unsigned long long)powmod(3, 0xffffffffffffffffull, 0x7fffffffffffffe7ull));
	return 0;
}
