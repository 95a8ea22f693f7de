/* Input generator for the benchmarks: deterministic pseudo-text.
 *   gen text BYTES   words and numbers in lines, about BYTES bytes
 *   gen lines COUNT  COUNT lines of "word number word,serial" for sort/awk */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static uint64_t s = 0x243f6a8885a308d3ull;
static uint32_t next(void)
{
	s = s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(s >> 33);
}

static const char *words[] = { "the", "of", "and", "translation", "block", "guest", "host",
	"register", "memory", "flags", "cache", "chain", "lookup", "helper", "signal", "thread",
	"syscall", "page", "fault", "branch", "loom", "qemu", "native", "binary", "compile",
	"a", "in", "to", "is", "it", "that", "for" };
enum { NWORDS = sizeof words / sizeof words[0] };

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gen text BYTES | gen lines COUNT\n");
		return 2;
	}
	long n = atol(argv[2]);
	if (!strcmp(argv[1], "text")) {
		long out = 0;
		while (out < n) {
			int len = 4 + next() % 12;
			for (int i = 0; i < len; i++) {
				uint32_t r = next();
				/* Zipf-ish: small indices far more often. */
				const char *w = words[(r % NWORDS) * (r % NWORDS) / NWORDS];
				out += printf(r % 9 == 0 ? "%s%u " : "%s ", w, r % 1000);
			}
			out += printf("\n");
		}
	} else if (!strcmp(argv[1], "lines")) {
		for (long i = 0; i < n; i++) {
			uint32_t a = next(), b = next();
			printf("%s %u %s,%ld\n", words[a % NWORDS], b % 1000000, words[(a >> 8) % NWORDS], i);
		}
	} else {
		return 2;
	}
	return 0;
}
