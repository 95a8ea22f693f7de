/* Bit operations: clz/ctz (bsr/bsf), popcount, parity (setp), ffs, bswap at
 * 16/32/64 bits, single-bit test/set/clear/complement (bt/bts/btr/btc), and
 * and/or/xor/andn/not with flag-dependent branches. */
#include "guest.h"
#include <strings.h>

static void scan(uint64_t x)
{
	uint32_t w = (uint32_t)x;
	printf("%016llx: clz=%d ctz=%d pop=%d par=%d ffs=%d | w clz=%d ctz=%d pop=%d par=%d ffs=%d"
	       " | bswap=%016llx %08x %04x\n",
	       (unsigned long long)x,
	       x ? __builtin_clzll(x) : -1, x ? __builtin_ctzll(x) : -1,
	       __builtin_popcountll(x), __builtin_parityll(x), __builtin_ffsll((long long)x),
	       w ? __builtin_clz(w) : -1, w ? __builtin_ctz(w) : -1,
	       __builtin_popcount(w), __builtin_parity(w), ffs((int)w),
	       (unsigned long long)__builtin_bswap64(x), __builtin_bswap32(w),
	       __builtin_bswap16((uint16_t)x));
}

/* Reference versions written as plain loops. */
static int ref_pop(uint64_t x)
{
	int n = 0;
	for (; x; x >>= 1)
		n += x & 1;
	return n;
}

static int ref_clz(uint64_t x)
{
	int n = 0;
	for (uint64_t m = 1ull << 63; m && !(x & m); m >>= 1)
		n++;
	return n;
}

int main(void)
{
	uint64_t fixed[] = { 0, 1, 2, 3, 0x80, 0x8000, 0x80000000ull, 0x100000000ull,
		0x8000000000000000ull, ~0ull, 0x0123456789abcdefull, 0xf0f0f0f0f0f0f0f0ull,
		0x00000000ffff0000ull, 0x7ull << 40 };
	HIDE(fixed);
	for (unsigned i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		scan(fixed[i]);
	for (int b = 0; b < 64; b++) {
		uint64_t x = 1ull << b;
		HIDE(x);
		scan(x);
		scan(x - 1);
	}

	/* Random values: builtins against reference loops, hashed. */
	uint64_t h = MIX_INIT;
	int bad = 0;
	rng_seed(23);
	for (int k = 0; k < 20000; k++) {
		uint64_t x = rng() >> (k % 64);
		if (__builtin_popcountll(x) != ref_pop(x))
			bad++;
		if (x && __builtin_clzll(x) != ref_clz(x))
			bad++;
		h = mix(h, x ? (uint64_t)__builtin_ctzll(x) : 99);
		h = mix(h, __builtin_bswap64(x) ^ __builtin_bswap32((uint32_t)x));
	}
	printf("random: %d mismatches, hash %016llx\n", bad, (unsigned long long)h);

	/* Bit arrays: test, set, clear, complement on a bitmap. */
	uint64_t map[16] = { 0 };
	rng_seed(29);
	for (int k = 0; k < 5000; k++) {
		unsigned bit = (unsigned)(rng() % 1024);
		uint64_t *w = &map[bit / 64], m = 1ull << (bit % 64);
		switch (k % 4) {
		case 0: *w |= m; break;
		case 1: *w &= ~m; break;
		case 2: *w ^= m; break;
		case 3: if (*w & m) map[(bit + 1) % 1024 / 64] ^= 1ull << ((bit + 1) % 64); break;
		}
	}
	h = MIX_INIT;
	for (int i = 0; i < 16; i++)
		h = mix(h, map[i]);
	printf("bitmap %016llx %016llx hash %016llx\n", (unsigned long long)map[0],
	       (unsigned long long)map[15], (unsigned long long)h);

	/* Logic ops and the flags they leave (ZF/SF from and/test/or/xor). */
	h = MIX_INIT;
	rng_seed(31);
	for (int k = 0; k < 20000; k++) {
		uint64_t a = rng(), b = rng() >> (k & 63);
		int64_t t = (int64_t)(a & b);
		if ((a & b) == 0) h = mix(h, 1);
		if (t < 0) h = mix(h, 2);
		if ((int32_t)(a ^ b) < 0) h = mix(h, 3);
		if (((a | b) & 0xff) == 0xff) h = mix(h, 4);
		if ((uint16_t)(a & ~b) == 0) h = mix(h, 5);
		h = mix(h, ~a ^ (a & ~b) ^ (a | b));
	}
	printf("logic hash %016llx\n", (unsigned long long)h);
	return 0;
}
