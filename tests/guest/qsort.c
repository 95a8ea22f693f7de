/* qsort and bsearch from libc with several element sizes and comparators:
 * ints, 64-bit keys descending, strings through pointers, and structs sorted
 * by two keys.  The comparators are called indirectly from inside libc. */
#include "guest.h"
#include <stdlib.h>
#include <string.h>

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}
static int cmp_u64_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x < y) - (x > y);
}
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct rec {
	char name[12];
	int group;
	double score;
};
static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->group != y->group)
		return x->group - y->group;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return strcmp(x->name, y->name);
}

int main(void)
{
	enum { N = 50000 };
	static int a[N];
	static uint64_t u[N];
	rng_seed(123);
	for (int i = 0; i < N; i++) {
		a[i] = (int)(rng() % 100000) - 50000;
		u[i] = rng();
	}
	qsort(a, N, sizeof a[0], cmp_int);
	qsort(u, N, sizeof u[0], cmp_u64_desc);
	int ok = 1;
	uint64_t h = MIX_INIT;
	for (int i = 0; i < N; i++) {
		if (i && (a[i - 1] > a[i] || u[i - 1] < u[i]))
			ok = 0;
		h = mix(mix(h, (uint64_t)a[i]), u[i]);
	}
	printf("ints sorted=%d min=%d max=%d median=%d hash=%016llx\n", ok, a[0], a[N - 1], a[N / 2],
	       (unsigned long long)h);
	for (int k = -50000; k <= 50000; k += 12345) {
		int *p = bsearch(&k, a, N, sizeof a[0], cmp_int);
		printf("bsearch %d: %s\n", k, p ? "found" : "absent");
	}

	/* Already sorted, reversed, and all-equal inputs. */
	for (int i = 0; i < N; i++)
		a[i] = i % 3 == 0 ? 7 : N - i;
	qsort(a, N, sizeof a[0], cmp_int);
	qsort(a, N, sizeof a[0], cmp_int);
	h = MIX_INIT;
	for (int i = 0; i < N; i++)
		h = mix(h, (uint64_t)a[i]);
	printf("patterns hash=%016llx\n", (unsigned long long)h);

	static char words[4000][10];
	static char *wp[4000];
	for (int i = 0; i < 4000; i++) {
		int len = 1 + (int)(rng() % 8);
		for (int j = 0; j < len; j++)
			words[i][j] = (char)('a' + rng() % 6);
		words[i][len] = 0;
		wp[i] = words[i];
	}
	qsort(wp, 4000, sizeof wp[0], cmp_str);
	printf("strings: %s %s %s ... %s\n", wp[0], wp[1], wp[2], wp[3999]);
	h = MIX_INIT;
	for (int i = 0; i < 4000; i++)
		h = mix(h, (uint64_t)strlen(wp[i]) * 131 + (unsigned char)wp[i][0]);
	printf("strings hash=%016llx\n", (unsigned long long)h);

	static struct rec r[3000];
	for (int i = 0; i < 3000; i++) {
		snprintf(r[i].name, sizeof r[i].name, "n%05d", (int)(rng() % 100000));
		r[i].group = (int)(rng() % 10);
		r[i].score = (double)(rng() % 1000) / 8.0;
	}
	qsort(r, 3000, sizeof r[0], cmp_rec);
	for (int i = 0; i < 3000; i += 500)
		printf("rec %s %d %.3f\n", r[i].name, r[i].group, r[i].score);
	return 0;
}
