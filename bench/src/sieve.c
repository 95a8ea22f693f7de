/* Loop- and memory-bound workload: a segmented, odd-only sieve of
 * Eratosthenes up to LIMIT (default 300 million), counting and summing primes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

int main(int argc, char **argv)
{
	uint64_t limit = argc > 1 ? strtoull(argv[1], NULL, 10) : 300000000ull;
	uint32_t root = 1;
	while ((uint64_t)root * root <= limit)
		root++;
	/* Small primes up to sqrt(limit). */
	uint8_t *small = calloc(root + 1, 1);
	uint32_t *primes = malloc(sizeof *primes * (root + 1));
	uint32_t np = 0;
	for (uint32_t i = 3; i <= root; i += 2)
		if (!small[i]) {
			primes[np++] = i;
			for (uint32_t j = i * i; j <= root; j += 2 * i)
				small[j] = 1;
		}
	enum { SEG = 1 << 18 }; /* odd numbers per segment */
	uint8_t *seg = malloc(SEG);
	uint64_t *next = malloc(sizeof *next * (np + 1));
	for (uint32_t k = 0; k < np; k++)
		next[k] = (uint64_t)primes[k] * primes[k];
	uint64_t count = limit >= 2, sum = limit >= 2 ? 2 : 0;
	for (uint64_t lo = 1; lo <= limit; lo += 2 * (uint64_t)SEG) {
		/* seg[i] stands for lo + 2i */
		memset(seg, 0, SEG);
		uint64_t hi = lo + 2 * (uint64_t)SEG;
		for (uint32_t k = 0; k < np; k++) {
			uint64_t m = next[k];
			uint32_t step = primes[k];
			for (; m < hi; m += 2 * step)
				seg[(m - lo) / 2] = 1;
			next[k] = m;
		}
		for (uint32_t i = 0; i < SEG; i++) {
			uint64_t v = lo + 2 * (uint64_t)i;
			if (v > limit)
				break;
			if (!seg[i] && v > 1) {
				count++;
				sum += v;
			}
		}
	}
	printf("sieve: %llu primes below %llu, sum %llu\n", (unsigned long long)count,
	       (unsigned long long)limit, (unsigned long long)sum);
	return 0;
}
