/* Integer-heavy workload: an LZ77 compressor with a hash table of match
 * candidates and its decompressor, run over generated text several times.
 * Prints sizes and a checksum so a wrong translation shows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

enum { HBITS = 16, WINDOW = 65535, MINMATCH = 4, MAXMATCH = 255 + MINMATCH };

static uint32_t hash4(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return (v * 2654435761u) >> (32 - HBITS);
}

/* Output: a token byte (literal run length / match flag), literals, then
 * 2-byte offset and 1-byte length for matches. */
static size_t compress(const uint8_t *in, size_t n, uint8_t *out)
{
	static int32_t head[1 << HBITS];
	memset(head, -1, sizeof head);
	size_t i = 0, o = 0, lit_start = 0;
	while (i + MINMATCH <= n) {
		uint32_t h = hash4(in + i);
		int32_t cand = head[h];
		head[h] = (int32_t)i;
		size_t len = 0;
		if (cand >= 0 && i - (size_t)cand <= WINDOW) {
			while (len < MAXMATCH && i + len < n && in[cand + len] == in[i + len])
				len++;
		}
		if (len >= MINMATCH) {
			/* flush literals in runs of at most 127 */
			while (lit_start < i) {
				size_t run = i - lit_start > 127 ? 127 : i - lit_start;
				out[o++] = (uint8_t)run;
				memcpy(out + o, in + lit_start, run);
				o += run;
				lit_start += run;
			}
			size_t off = i - (size_t)cand;
			out[o++] = 0x80;
			out[o++] = (uint8_t)off;
			out[o++] = (uint8_t)(off >> 8);
			out[o++] = (uint8_t)(len - MINMATCH);
			for (size_t k = 1; k < len && i + k + MINMATCH <= n; k += 3)
				head[hash4(in + i + k)] = (int32_t)(i + k);
			i += len;
			lit_start = i;
		} else {
			i++;
		}
	}
	while (lit_start < n) {
		size_t run = n - lit_start > 127 ? 127 : n - lit_start;
		out[o++] = (uint8_t)run;
		memcpy(out + o, in + lit_start, run);
		o += run;
		lit_start += run;
	}
	return o;
}

static size_t decompress(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t i = 0, o = 0;
	while (i < n) {
		uint8_t t = in[i++];
		if (t & 0x80) {
			size_t off = in[i] | (size_t)in[i + 1] << 8, len = in[i + 2] + (size_t)MINMATCH;
			i += 3;
			for (size_t k = 0; k < len; k++, o++)
				out[o] = out[o - off];
		} else {
			memcpy(out + o, in + i, t);
			i += t;
			o += t;
		}
	}
	return o;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)atol(argv[1]) << 20 : 8u << 20;
	int rounds = argc > 2 ? atoi(argv[2]) : 12;
	uint8_t *src = malloc(n), *comp = malloc(n + n / 64 + 16), *back = malloc(n);
	uint64_t s = 88172645463325252ull;
	static const char *words[] = { "lorem", "ipsum", "dolor", "sit", "amet", "loom", "block",
		"cache", "guest", "host", " ", " ", "\n", "translate", "chain", "0123" };
	for (size_t i = 0; i < n;) {
		s ^= s << 13; s ^= s >> 7; s ^= s << 17;
		const char *w = words[s % 16];
		for (; *w && i < n; w++)
			src[i++] = (uint8_t)(*w + ((s >> 20) % 97 == 0));
	}
	size_t c = 0, d = 0;
	uint32_t sum = 0;
	for (int r = 0; r < rounds; r++) {
		c = compress(src, n, comp);
		d = decompress(comp, c, back);
		for (size_t i = 0; i < c; i += 61)
			sum = sum * 31 + comp[i];
	}
	printf("lz: %zu -> %zu bytes, roundtrip %s, checksum %08x\n", n, c,
	       d == n && memcmp(src, back, n) == 0 ? "ok" : "BAD", sum);
	return 0;
}
