/* Hash functions over a generated buffer: SHA-256 (checked against the FIPS
 * 180-2 test vectors), FNV-1a 64, a table-driven CRC-32 and a 64-bit
 * multiply-rotate mix.  Rotates, shifts, adds and table loads in tight loops. */
#include "guest.h"
#include <string.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t fill;
};

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror32(uint32_t x, int n) { return x >> n | x << (32 - n); }

static void sha_block(struct sha256 *s, const unsigned char *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
	uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void sha_init(struct sha256 *s)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	memcpy(s->h, iv, sizeof iv);
	s->len = 0;
	s->fill = 0;
}

static void sha_update(struct sha256 *s, const void *data, size_t n)
{
	const unsigned char *p = data;
	s->len += n;
	while (n) {
		size_t k = 64 - s->fill < n ? 64 - s->fill : n;
		memcpy(s->buf + s->fill, p, k);
		s->fill += k;
		p += k;
		n -= k;
		if (s->fill == 64) {
			sha_block(s, s->buf);
			s->fill = 0;
		}
	}
}

static void sha_final(struct sha256 *s, char out[65])
{
	uint64_t bits = s->len * 8;
	unsigned char pad = 0x80, zero = 0, lenbe[8];
	sha_update(s, &pad, 1);
	while (s->fill != 56)
		sha_update(s, &zero, 1);
	for (int i = 0; i < 8; i++)
		lenbe[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha_update(s, lenbe, 8);
	for (int i = 0; i < 8; i++)
		sprintf(out + 8 * i, "%08x", s->h[i]);
}

static void sha_str(const char *msg, size_t n, char out[65])
{
	struct sha256 s;
	sha_init(&s);
	sha_update(&s, msg, n);
	sha_final(&s, out);
}

int main(void)
{
	char d[65];
	sha_str("abc", 3, d);
	printf("sha256(abc) %s %s\n", d,
	       strcmp(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") ? "WRONG" : "ok");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha_str(two, strlen(two), d);
	printf("sha256(448 bits) %s %s\n", d,
	       strcmp(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") ? "WRONG" : "ok");
	sha_str("", 0, d);
	printf("sha256(empty) %s\n", d);

	enum { SIZE = 1 << 20 };
	static unsigned char buf[SIZE];
	rng_seed(256);
	for (int i = 0; i < SIZE; i += 8) {
		uint64_t r = rng();
		memcpy(buf + i, &r, 8);
	}
	struct sha256 s;
	sha_init(&s);
	/* Uneven update sizes to exercise the partial-block path. */
	for (size_t off = 0, k = 1; off < SIZE; off += k, k = k * 2 % 1000 + 1)
		sha_update(&s, buf + off, off + k <= SIZE ? k : SIZE - off);
	sha_final(&s, d);
	printf("sha256(buffer) %s\n", d);

	uint64_t fnv = 0xcbf29ce484222325ull;
	for (int i = 0; i < SIZE; i++)
		fnv = (fnv ^ buf[i]) * 0x100000001b3ull;
	printf("fnv1a64 %016llx\n", (unsigned long long)fnv);

	uint32_t table[256];
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	uint32_t crc = 0xffffffffu;
	for (int i = 0; i < SIZE; i++)
		crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
	printf("crc32 %08x\n", crc ^ 0xffffffffu);
	crc = 0xffffffffu;
	for (const char *p = "123456789"; *p; p++)
		crc = table[(crc ^ (unsigned char)*p) & 0xff] ^ (crc >> 8);
	printf("crc32(123456789) %08x %s\n", crc ^ 0xffffffffu, (crc ^ 0xffffffffu) == 0xcbf43926u ? "ok" : "WRONG");

	uint64_t m = 0;
	for (int i = 0; i < SIZE; i += 8) {
		uint64_t w;
		memcpy(&w, buf + i, 8);
		m ^= w * 0x9e3779b97f4a7c15ull;
		m = (m << 27 | m >> 37) * 0xbf58476d1ce4e5b9ull;
	}
	printf("mix64 %016llx\n", (unsigned long long)m);
	return 0;
}
