/* Sorting a big array (200k 64-bit keys) four ways -- introsort-style
 * quicksort, heapsort, bottom-up merge sort, and LSD radix sort -- and
 * checking that all agree.  Long loops with data-dependent branches. */
#include "guest.h"
#include <stdlib.h>
#include <string.h>

enum { N = 200000 };
static uint64_t orig[N], a[N], b[N], c[N], d[N], tmp[N];

static void swap(uint64_t *x, uint64_t *y) { uint64_t t = *x; *x = *y; *y = t; }

static void insertion(uint64_t *v, long n)
{
	for (long i = 1; i < n; i++) {
		uint64_t x = v[i];
		long j = i - 1;
		while (j >= 0 && v[j] > x) {
			v[j + 1] = v[j];
			j--;
		}
		v[j + 1] = x;
	}
}

static void quick(uint64_t *v, long n)
{
	while (n > 16) {
		uint64_t p0 = v[0], p1 = v[n / 2], p2 = v[n - 1];
		uint64_t pivot = p0 < p1 ? (p1 < p2 ? p1 : p0 < p2 ? p2 : p0) : (p0 < p2 ? p0 : p1 < p2 ? p2 : p1);
		long i = 0, j = n - 1;
		for (;;) {
			while (v[i] < pivot) i++;
			while (v[j] > pivot) j--;
			if (i >= j) break;
			swap(&v[i++], &v[j--]);
		}
		/* Recurse into the smaller half, loop on the larger. */
		if (j + 1 < n - j - 1) {
			quick(v, j + 1);
			v += j + 1;
			n -= j + 1;
		} else {
			quick(v + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	insertion(v, n);
}

static void sift(uint64_t *v, long root, long n)
{
	for (;;) {
		long child = 2 * root + 1;
		if (child >= n) return;
		if (child + 1 < n && v[child + 1] > v[child]) child++;
		if (v[root] >= v[child]) return;
		swap(&v[root], &v[child]);
		root = child;
	}
}

static void heap(uint64_t *v, long n)
{
	for (long i = n / 2 - 1; i >= 0; i--)
		sift(v, i, n);
	for (long i = n - 1; i > 0; i--) {
		swap(&v[0], &v[i]);
		sift(v, 0, i);
	}
}

static void merge_sort(uint64_t *v, long n)
{
	uint64_t *from = v, *to = tmp;
	for (long w = 1; w < n; w *= 2) {
		for (long lo = 0; lo < n; lo += 2 * w) {
			long mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			long i = lo, j = mid, k = lo;
			while (i < mid && j < hi) to[k++] = from[i] <= from[j] ? from[i++] : from[j++];
			while (i < mid) to[k++] = from[i++];
			while (j < hi) to[k++] = from[j++];
		}
		uint64_t *t = from; from = to; to = t;
	}
	if (from != v)
		memcpy(v, from, n * sizeof *v);
}

static void radix(uint64_t *v, long n)
{
	uint64_t *from = v, *to = tmp;
	for (int shift = 0; shift < 64; shift += 16) {
		static long count[65537];
		memset(count, 0, sizeof count);
		for (long i = 0; i < n; i++) count[((from[i] >> shift) & 0xffff) + 1]++;
		for (int i = 0; i < 65536; i++) count[i + 1] += count[i];
		for (long i = 0; i < n; i++) to[count[(from[i] >> shift) & 0xffff]++] = from[i];
		uint64_t *t = from; from = to; to = t;
	}
	/* Four passes: the result is back in v. */
}

int main(void)
{
	rng_seed(4242);
	for (long i = 0; i < N; i++) {
		orig[i] = rng();
		if (i % 10 == 0) orig[i] = orig[i] % 1000; /* duplicates and small keys */
	}
	memcpy(a, orig, sizeof a);
	memcpy(b, orig, sizeof b);
	memcpy(c, orig, sizeof c);
	memcpy(d, orig, sizeof d);
	quick(a, N);
	heap(b, N);
	merge_sort(c, N);
	radix(d, N);
	int sorted = 1;
	for (long i = 1; i < N; i++)
		if (a[i - 1] > a[i]) sorted = 0;
	printf("sorted=%d heap==quick:%d merge==quick:%d radix==quick:%d\n", sorted,
	       !memcmp(a, b, sizeof a), !memcmp(a, c, sizeof a), !memcmp(a, d, sizeof a));
	uint64_t h = MIX_INIT;
	for (long i = 0; i < N; i += 97)
		h = mix(h, a[i]);
	printf("min=%llu max=%016llx median=%016llx hash=%016llx\n", (unsigned long long)a[0],
	       (unsigned long long)a[N - 1], (unsigned long long)a[N / 2], (unsigned long long)h);
	/* Sorting already-sorted and reversed input. */
	for (long i = 0; i < N; i++) b[i] = a[N - 1 - i];
	quick(a, N);
	quick(b, N);
	printf("resort equal: %d\n", !memcmp(a, b, sizeof a));
	return 0;
}
