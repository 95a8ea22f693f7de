/* String-heavy workload: builds, copies, measures, searches and compares
 * many strings of varied length with the libc routines (memcpy, memmove,
 * strlen, strchr, strcmp, memcmp, strstr), as parsers and interpreters do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 600;
	enum { N = 20000 };
	char **strs = malloc(N * sizeof *strs);
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < N; i++) {
		s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
		size_t len = 1 + (s * 0x2545f4914f6cdd1dull >> 40) % 300;
		strs[i] = malloc(len + 1);
		for (size_t k = 0; k < len; k++)
			strs[i][k] = (char)('a' + (k * 7 + i) % 23);
		strs[i][len] = 0;
	}
	static char buf[1 << 16];
	uint64_t acc = 0;
	for (int r = 0; r < rounds; r++) {
		size_t pos = 0;
		for (int i = 0; i < N; i++) {
			size_t len = strlen(strs[i]);
			if (pos + len + 1 > sizeof buf)
				pos = 0;
			memcpy(buf + pos, strs[i], len + 1);
			acc += (size_t)(strchr(buf + pos, 'q') ? strchr(buf + pos, 'q') - (buf + pos) : 0);
			acc += strcmp(strs[i], strs[(i + r + 1) % N]) > 0;
			acc += memcmp(strs[i], strs[(i * 7) % N], len < 8 ? len : 8) == 0;
			pos += len + 1;
		}
		memmove(buf + 1, buf, sizeof buf - 1);
		for (int i = 0; i < N; i += 50)
			acc += strstr(strs[i], "hov") != NULL;
	}
	printf("strops: %d rounds, checksum %llu\n", rounds, (unsigned long long)acc);
	return 0;
}
