/* Shifts and rotates at every width with every in-range count, variable
 * counts (shl/shr/sar by %cl, with the hardware's count masking made explicit
 * in C), rotates (rol/ror at 8/16/32/64 via the x86intrin helpers and the
 * (x << n) | (x >> (w - n)) idiom), and double-width shifts on __int128. */
#include "guest.h"
#include <x86intrin.h>

static const unsigned long long seeds[] = { 0, 1, ~0ull, 0x8000000000000000ull,
	0x7fffffffffffffffull, 0x0123456789abcdefull, 0xfedcba9876543210ull,
	0x80, 0x8000, 0x80000000ull, 0x5a5a5a5a5a5a5a5aull };
enum { N = sizeof seeds / sizeof seeds[0] };

#define SHIFTS(BITS, ST, UT)                                                    \
static void shifts##BITS(void)                                                  \
{                                                                               \
	UT v[N];                                                                    \
	for (int i = 0; i < N; i++)                                                 \
		v[i] = (UT)seeds[i];                                                    \
	HIDE(v);                                                                    \
	for (int i = 0; i < N; i++) {                                               \
		uint64_t h = MIX_INIT;                                                  \
		for (unsigned n = 0; n < BITS; n++) {                                   \
			unsigned c = n;                                                     \
			HIDE(c);                                                            \
			UT x = v[i];                                                        \
			UT shl = (UT)(x << c), shr = (UT)(x >> c);                          \
			UT sar = (UT)((ST)x >> c);                                          \
			UT rol = (UT)(x << c | x >> ((BITS - c) % BITS));                   \
			UT ror = (UT)(x >> c | x << ((BITS - c) % BITS));                   \
			h = mix(mix(mix(mix(mix(h, shl), shr), sar), rol), ror);           \
			if (n == 1 || n == BITS - 1 || n == BITS / 2 + 3)                   \
				printf("%d %llx n=%u: shl=%llx shr=%llx sar=%llx rol=%llx ror=%llx\n", \
					BITS, (unsigned long long)x, n,                             \
					(unsigned long long)shl, (unsigned long long)shr,           \
					(unsigned long long)sar, (unsigned long long)rol,           \
					(unsigned long long)ror);                                   \
		}                                                                       \
		printf("%d %llx all counts: %016llx\n", BITS,                           \
			(unsigned long long)v[i], (unsigned long long)h);                   \
	}                                                                           \
}
SHIFTS(8, int8_t, uint8_t)
SHIFTS(16, int16_t, uint16_t)
SHIFTS(32, int32_t, uint32_t)
SHIFTS(64, int64_t, uint64_t)

/* The x86 rotate intrinsics at each width, with counts past the width. */
static void intrinsics(void)
{
	uint64_t h = MIX_INIT;
	rng_seed(17);
	for (int k = 0; k < 4000; k++) {
		uint64_t x = rng();
		int c = (int)(rng() % 80);
		h = mix(h, __rolb((unsigned char)x, c));
		h = mix(h, __rorb((unsigned char)x, c));
		h = mix(h, __rolw((unsigned short)x, c));
		h = mix(h, __rorw((unsigned short)x, c));
		h = mix(h, __rold((unsigned)x, c));
		h = mix(h, __rord((unsigned)x, c));
		h = mix(h, __rolq(x, c));
		h = mix(h, __rorq(x, c));
		/* Hardware masks a 32/64-bit shift count to 5/6 bits. */
		h = mix(h, (uint32_t)x << (c & 31));
		h = mix(h, x >> (c & 63));
		h = mix(h, (uint64_t)((int64_t)x >> (c & 63)));
		h = mix(h, (uint64_t)((int32_t)x >> (c & 31)));
	}
	printf("intrinsics hash %016llx\n", (unsigned long long)h);
}

/* 128-bit shifts use shld/shrd and a test of bit 6 of the count. */
static void wide(void)
{
	unsigned __int128 x = (unsigned __int128)0x0123456789abcdefull << 64 | 0xfedcba9876543210ull;
	HIDE(x);
	for (unsigned n = 0; n < 128; n += 9) {
		unsigned c = n;
		HIDE(c);
		unsigned __int128 l = x << c, r = x >> c;
		__int128 s = (__int128)x >> c, sn = -(__int128)x >> c;
		printf("u128 n=%u: %016llx%016llx %016llx%016llx %016llx%016llx %016llx\n", n,
		       (unsigned long long)(l >> 64), (unsigned long long)l,
		       (unsigned long long)(r >> 64), (unsigned long long)r,
		       (unsigned long long)((unsigned __int128)s >> 64), (unsigned long long)s,
		       (unsigned long long)((unsigned __int128)sn >> 64));
	}
}

int main(void)
{
	shifts8();
	shifts16();
	shifts32();
	shifts64();
	intrinsics();
	wide();
	return 0;
}
