/* Division and remainder at 8/16/32/64/128 bits, signed and unsigned,
 * including negative operands (truncation toward zero, sign of the remainder),
 * and division by constants (compiled to multiply-high and shift sequences). */
#include "guest.h"
#include <stdlib.h>

static const long long seeds[] = { 0, 1, -1, 2, -2, 3, -3, 7, -7, 10, -10, 127,
	-128, 255, 32767, -32768, 65535, 2147483647, -2147483647 - 1, 4294967295ll,
	1000000007, -999999937, 0x7fffffffffffffffll, -0x7fffffffffffffffll - 1,
	0x123456789abcdefll, -0x123456789abcdefll };
enum { N = sizeof seeds / sizeof seeds[0] };

#define DIV(BITS, ST, UT)                                                       \
static void div##BITS(void)                                                     \
{                                                                               \
	UT v[N];                                                                    \
	for (int i = 0; i < N; i++)                                                 \
		v[i] = (UT)seeds[i];                                                    \
	HIDE(v);                                                                    \
	for (int i = 0; i < N; i++)                                                 \
		for (int j = 0; j < N; j++) {                                           \
			UT a = v[i], b = v[j];                                              \
			ST sa = (ST)a, sb = (ST)b;                                          \
			if (b == 0)                                                         \
				continue;                                                       \
			printf("%d %llx/%llx u=%llx,%llx", BITS, (unsigned long long)a,     \
				(unsigned long long)b, (unsigned long long)(UT)(a / b),         \
				(unsigned long long)(UT)(a % b));                               \
			/* MIN / -1 overflows (SIGFPE on x86): skip it here. */             \
			if (sb == -1 && sa == (ST)((UT)1 << (BITS - 1)))                    \
				printf(" s=skip\n");                                            \
			else                                                                \
				printf(" s=%lld,%lld\n", (long long)(ST)(sa / sb),              \
					(long long)(ST)(sa % sb));                                  \
		}                                                                       \
}
DIV(8, int8_t, uint8_t)
DIV(16, int16_t, uint16_t)
DIV(32, int32_t, uint32_t)
DIV(64, int64_t, uint64_t)

static void by_constants(void)
{
	uint64_t h = MIX_INIT;
	rng_seed(5);
	for (int k = 0; k < 20000; k++) {
		uint64_t x = rng();
		int64_t s = (int64_t)x >> (k & 31);
		uint32_t w = (uint32_t)x;
		int32_t sw = (int32_t)w >> (k & 15);
		h = mix(h, x / 3);
		h = mix(h, x % 7);
		h = mix(h, x / 10);
		h = mix(h, x / 1000000007);
		h = mix(h, (uint64_t)(s / 3));
		h = mix(h, (uint64_t)(s % 10));
		h = mix(h, (uint64_t)(s / -7));
		h = mix(h, (uint64_t)(s / 16));
		h = mix(h, (uint64_t)(s % 16));
		h = mix(h, w / 5);
		h = mix(h, w % 60);
		h = mix(h, (uint32_t)(sw / 9));
		h = mix(h, (uint32_t)(sw % -9));
		h = mix(h, (uint32_t)(sw / 1024));
	}
	printf("by constants hash %016llx\n", (unsigned long long)h);
}

/* 128-bit division goes through libgcc's __udivti3/__divti3. */
static void div128(void)
{
	uint64_t h = MIX_INIT;
	rng_seed(9);
	for (int k = 0; k < 2000; k++) {
		unsigned __int128 a = (unsigned __int128)rng() << 64 | rng();
		unsigned __int128 b = k % 3 ? rng() >> (k & 63) : (unsigned __int128)rng() << 20 | rng();
		if (b == 0)
			b = 1;
		__int128 sa = (__int128)a, sb = k & 1 ? -(__int128)b : (__int128)b;
		unsigned __int128 q = a / b, r = a % b;
		__int128 sq = sa / sb, sr = sa % sb;
		if (q * b + r != a || sq * sb + sr != sa)
			printf("div128 identity broken at %d\n", k);
		h = mix(mix(h, (uint64_t)q), (uint64_t)(q >> 64));
		h = mix(mix(h, (uint64_t)r), (uint64_t)(sr >> 64));
		h = mix(h, (uint64_t)sq);
	}
	printf("div128 hash %016llx\n", (unsigned long long)h);
}

int main(void)
{
	div8();
	div16();
	div32();
	div64();
	by_constants();
	div128();
	div_t d = div(-7, 2);
	ldiv_t ld = ldiv(-9000000000l, 7);
	printf("div() %d %d ldiv() %ld %ld\n", d.quot, d.rem, ld.quot, ld.rem);
	return 0;
}
