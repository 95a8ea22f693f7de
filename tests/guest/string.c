/* libc string and memory functions over many lengths and both alignments,
 * checked against plain byte loops.  glibc picks SSE2/AVX2 versions of these
 * through ifuncs (chosen from CPUID), so this exercises vector loads, pmovmskb,
 * bsf and friends, and reads that run up to the end of a mapped page. */
#include "guest.h"
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOLIBC __attribute__((noinline, optimize("no-tree-loop-distribute-patterns")))

static int errors, shown;
static void fail(const char *what, size_t len, int a, int b, long got, long want)
{
	errors++;
	if (shown++ < 20)
		printf("  %s len=%zu align=%d/%d: got %ld want %ld\n", what, len, a, b, got, want);
}

NOLIBC static int ref_cmp(const unsigned char *a, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}
static int sign(long x) { return (x > 0) - (x < 0); }

NOLIBC static size_t ref_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

NOLIBC static long ref_strstr(const char *h, const char *n)
{
	size_t nl = ref_strlen(n), hl = ref_strlen(h);
	for (size_t i = 0; i + nl <= hl; i++)
		if (ref_cmp((const unsigned char *)h + i, (const unsigned char *)n, nl) == 0)
			return (long)i;
	return -1;
}

static unsigned char src[16384 + 256] __attribute__((aligned(64)));
static unsigned char dst[32768] __attribute__((aligned(64)));

static const size_t big_lens[] = { 81, 95, 96, 127, 128, 129, 200, 255, 256, 257, 511, 512,
	513, 777, 1023, 1024, 1025, 2048, 4095, 4096, 4097, 8191, 8192, 8200, 16000 };
static const int some_aligns[] = { 0, 1, 3, 7, 8, 15, 16, 31, 33, 63 };

/* Calls fn(len, a, b) for lengths 0..80 at all 16x16 alignments, then for
 * bigger lengths at a sample of alignments. */
static void sweep(void (*fn)(size_t, int, int))
{
	for (size_t len = 0; len <= 80; len++)
		for (int a = 0; a < 16; a++)
			for (int b = 0; b < 16; b++)
				fn(len, a, b);
	for (unsigned i = 0; i < sizeof big_lens / sizeof big_lens[0]; i++)
		for (unsigned a = 0; a < 10; a++)
			for (unsigned b = 0; b < 10; b += 3)
				fn(big_lens[i], some_aligns[a], some_aligns[b]);
}

static void fill_src(void)
{
	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (unsigned char)(rng() % 255 + 1); /* no NULs */
}

static void t_memcpy(size_t len, int a, int b)
{
	memset(dst, 0xaa, len + 128);
	void *r = memcpy(dst + 64 + b, src + a, len);
	if (r != dst + 64 + b)
		fail("memcpy ret", len, a, b, 0, 1);
	int c = ref_cmp(dst + 64 + b, src + a, len);
	if (c)
		fail("memcpy data", len, a, b, c, 0);
	if (dst[63 + b] != 0xaa || dst[64 + b + len] != 0xaa)
		fail("memcpy guard", len, a, b, dst[63 + b], dst[64 + b + len]);
}

static void t_memmove(size_t len, int a, int b)
{
	static unsigned char expect[32768], tmp[16384];
	/* Overlapping both ways: destination below and above the source. */
	for (int dir = 0; dir < 2; dir++) {
		int d = a - b + (dir ? 1 : -1) * (int)(len / 3 + 1);
		size_t so = 8192, doff = (size_t)(8192 + d);
		size_t lo = (d < 0 ? doff : so) - 64, hi = (d < 0 ? so : doff) + len + 64;
		for (size_t i = lo; i < hi; i++)
			expect[i] = dst[i] = (unsigned char)(i * 7 + len);
		for (size_t i = 0; i < len; i++) /* reference: copy out, copy in */
			tmp[i] = expect[so + i];
		for (size_t i = 0; i < len; i++)
			expect[doff + i] = tmp[i];
		memmove(dst + doff, dst + so, len);
		int c = ref_cmp(dst + lo, expect + lo, hi - lo);
		if (c)
			fail(dir ? "memmove up" : "memmove down", len, a, b, c, 0);
	}
}

static void t_memset(size_t len, int a, int b)
{
	int v = b * 17 % 256;
	memset(dst, 0x11, len + 128);
	memset(dst + 32 + a, v, len);
	for (size_t i = 0; i < len; i++)
		if (dst[32 + a + i] != v) {
			fail("memset data", len, a, b, (long)i, v);
			break;
		}
	if (dst[31 + a] != 0x11 || dst[32 + a + len] != 0x11)
		fail("memset guard", len, a, b, 0, 0);
}

static uint64_t cmp_hash = MIX_INIT;
static void t_cmp(size_t len, int a, int b)
{
	/* Equal strings, then a difference at a position depending on a and b. */
	unsigned char *q = dst + a, *p = dst + 16384 + b;
	memcpy(q, src + 100, len);
	q[len] = 0;
	memcpy(p, src + 100, len);
	p[len] = 0;
	size_t pos = len ? (size_t)(a * 31 + b * 7) % len : 0;
	int flip = (a + b) % 3;
	if (len && flip) /* differ at pos, sometimes in the high bit */
		p[pos] = flip == 1 ? (unsigned char)(p[pos] ^ 0x80) : (unsigned char)(p[pos] % 254 + 1);
	int want = ref_cmp(q, p, len);
	int got = sign(memcmp(q, p, len));
	if (got != want)
		fail("memcmp", len, a, b, got, want);
	got = sign(strcmp((char *)q, (char *)p));
	if (got != want)
		fail("strcmp", len, a, b, got, want);
	size_t n = len ? (size_t)(a + b) % (len + 1) : 0;
	int wantn = ref_cmp(q, p, n);
	got = sign(strncmp((char *)q, (char *)p, n));
	if (got != wantn)
		fail("strncmp", len, a, b, got, wantn);
	cmp_hash = mix(cmp_hash, (uint64_t)(want + 1));
}

static void t_strlen_chr(size_t len, int a, int b)
{
	char *s = (char *)dst + a;
	memcpy(s, src + b, len);
	s[len] = 0;
	s[len + 1] = 'z';
	size_t n = strlen(s);
	if (n != len)
		fail("strlen", len, a, b, (long)n, (long)len);
	if (len) {
		char c = s[(size_t)(a * 13 + b) % len];
		long want = -1;
		for (size_t i = 0; i < len; i++)
			if (s[i] == c) { want = (long)i; break; }
		char *r = strchr(s, c);
		if ((r ? r - s : -1) != want)
			fail("strchr", len, a, b, r ? r - s : -1, want);
		r = memchr(s, c, len);
		if ((r ? r - s : -1) != want)
			fail("memchr", len, a, b, r ? r - s : -1, want);
		long wr = -1;
		for (size_t i = 0; i < len; i++)
			if (s[i] == c) wr = (long)i;
		r = strrchr(s, c);
		if ((r ? r - s : -1) != wr)
			fail("strrchr", len, a, b, r ? r - s : -1, wr);
	}
	char *r = strchr(s, 0);
	if (r != s + len)
		fail("strchr nul", len, a, b, r - s, (long)len);
	r = strchr(s, 'z' + 1 + (a & 1)); /* absent: bytes are 1..255 but '{' '|' may occur */
	long want = -1;
	for (size_t i = 0; i < len; i++)
		if (s[i] == (char)('z' + 1 + (a & 1))) { want = (long)i; break; }
	if ((r ? r - s : -1) != want)
		fail("strchr miss", len, a, b, r ? r - s : -1, want);
}

/* Strings that end exactly at the end of a readable page, followed by a
 * PROT_NONE page: vector implementations must not fault. */
static void page_end(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		printf("mmap failed\n");
		return;
	}
	mprotect(m + pg, pg, PROT_NONE);
	memset(m, 'x', pg);
	uint64_t h = MIX_INIT;
	for (int len = 0; len < 200; len++) {
		char *s = (char *)m + pg - 1 - len;
		s[len] = 0;
		h = mix(h, strlen(s));
		h = mix(h, (uint64_t)(strchr(s, 'y') != NULL));
		h = mix(h, (uint64_t)(memchr(s, 0, len + 1) == s + len));
		h = mix(h, (uint64_t)sign(strcmp(s, s)));
		h = mix(h, (uint64_t)(strrchr(s, 'x') ? strrchr(s, 'x') - s : -1));
		s[len] = 'x';
	}
	printf("page end hash %016llx\n", (unsigned long long)h);
	munmap(m, 2 * pg);
}

static void t_strstr(void)
{
	char hay[600], needle[40];
	uint64_t h = MIX_INIT;
	int bad = 0;
	rng_seed(77);
	for (int k = 0; k < 3000; k++) {
		int hl = (int)(rng() % 500), nl = 1 + (int)(rng() % 30), alpha = 2 + (int)(rng() % 4);
		for (int i = 0; i < hl; i++)
			hay[i] = (char)('a' + rng() % alpha);
		hay[hl] = 0;
		for (int i = 0; i < nl; i++)
			needle[i] = (char)('a' + rng() % alpha);
		needle[nl] = 0;
		if (k % 4 == 0 && hl > nl) /* plant it */
			memcpy(hay + rng() % (hl - nl), needle, nl);
		char *r = strstr(hay, needle);
		long got = r ? r - hay : -1, want = ref_strstr(hay, needle);
		if (got != want && bad++ < 5)
			printf("  strstr k=%d: got %ld want %ld\n", k, got, want);
		h = mix(h, (uint64_t)want);
	}
	printf("strstr: %d errors, hash %016llx\n", bad, (unsigned long long)h);
	errors += bad;
}

static void misc(void)
{
	char buf[64];
	strcpy(buf, "hello");
	strcat(buf, ", ");
	const char *w = "world!!!";
	HIDE(w);
	strncat(buf, w, 5);
	printf("strcat: %s (%zu)\n", buf, strlen(buf));
	memset(buf, 'q', sizeof buf);
	strncpy(buf, "abc", 8);
	printf("strncpy pads: %d %d %d %c\n", buf[3], buf[7], buf[8] == 'q', buf[2]);
	char *d = strdup("duplicate me");
	printf("strdup: %s %zu\n", d, strspn(d, "acdeilpu"));
	free(d);
	printf("strcspn %zu strpbrk %s\n", strcspn("abcdef;gh", ";:"), strpbrk("key=value", "=:"));
	char tok[] = "a,b,,c;d";
	char *save, *t = strtok_r(tok, ",;", &save);
	while (t) {
		printf("tok %s\n", t);
		t = strtok_r(NULL, ",;", &save);
	}
}

int main(void)
{
	rng_seed(1);
	fill_src();
	struct { const char *name; void (*fn)(size_t, int, int); } tests[] = {
		{ "memcpy", t_memcpy }, { "memmove", t_memmove }, { "memset", t_memset },
		{ "cmp", t_cmp }, { "strlen/strchr", t_strlen_chr },
	};
	for (unsigned i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		errors = shown = 0;
		sweep(tests[i].fn);
		printf("%s: %d errors\n", tests[i].name, errors);
		fill_src();
	}
	printf("cmp hash %016llx\n", (unsigned long long)cmp_hash);
	errors = 0;
	t_strstr();
	page_end();
	misc();
	return 0;
}
