/* Sieve of Eratosthenes: a byte sieve to 2 million and a bit sieve (odd
 * numbers only, bt/bts-style word operations) to 10 million, with prime
 * counts, sums, twin primes and prime gaps checked against each other. */
#include "guest.h"
#include <stdlib.h>
#include <string.h>

int main(void)
{
	enum { LIMIT = 2000000 };
	unsigned char *composite = calloc(LIMIT + 1, 1);
	composite[0] = composite[1] = 1;
	for (long i = 2; i * i <= LIMIT; i++)
		if (!composite[i])
			for (long j = i * i; j <= LIMIT; j += i)
				composite[j] = 1;
	long count = 0, sum = 0, twins = 0, max_gap = 0, gap_at = 0, last = 0;
	for (long i = 2; i <= LIMIT; i++)
		if (!composite[i]) {
			count++;
			sum += i;
			if (i >= 5 && !composite[i - 2])
				twins++;
			if (last && i - last > max_gap) {
				max_gap = i - last;
				gap_at = last;
			}
			last = i;
		}
	printf("primes <= %d: %ld, sum %ld, twin pairs %ld, largest %ld\n", LIMIT, count, sum, twins, last);
	printf("max gap %ld after %ld\n", max_gap, gap_at);
	printf("first primes:");
	for (int i = 0, n = 0; n < 25; i++)
		if (!composite[i]) {
			printf(" %d", i);
			n++;
		}
	printf("\n");

	/* Bit sieve over odd numbers: bit k stands for 2k+1. */
	enum { BIG = 10000000 };
	long nbits = BIG / 2 + 1;
	uint64_t *bits = calloc((size_t)(nbits + 63) / 64, 8);
	for (long k = 1; (2 * k + 1) * (2 * k + 1) <= BIG; k++) {
		if (bits[k / 64] >> (k % 64) & 1)
			continue;
		long p = 2 * k + 1;
		for (long m = p * p / 2; m < nbits; m += p)
			bits[m / 64] |= 1ull << (m % 64);
	}
	long bcount = 1; /* the prime 2 */
	for (long k = 1; k < nbits && 2 * k + 1 <= BIG; k++)
		if (!(bits[k / 64] >> (k % 64) & 1))
			bcount++;
	long small = 1;
	for (long k = 1; 2 * k + 1 <= LIMIT; k++)
		if (!(bits[k / 64] >> (k % 64) & 1))
			small++;
	printf("bit sieve: primes <= %d: %ld, <= %d: %ld, agrees: %d\n", BIG, bcount, LIMIT, small,
	       small == count);
	free(bits);
	free(composite);
	return 0;
}
