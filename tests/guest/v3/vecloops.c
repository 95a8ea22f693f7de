/* Loops gcc -O3 -march=x86-64-v3 vectorizes with AVX2 and contracts into
 * FMA: saxpy, dot products, a matrix multiply, integer reductions, byte
 * transforms, a gather-shaped lookup, float<->int conversions, and glibc's
 * string and memory routines (which its ifuncs pick as AVX2 versions when
 * CPUID reports AVX2).  Results are printed exactly (%a, hex). */
#include "../guest.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N 1000
static float xa[N], ya[N], za[N];
static double da[N], db[N];
static int32_t ia[N], ib[N], ic[N];
static uint8_t ba[4096], bb[4096];
static float ma[48][48], mb[48][48], mc[48][48];

static uint64_t hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = MIX_INIT;
	for (size_t i = 0; i < n; i++)
		h = mix(h, b[i]);
	return h;
}

__attribute__((noinline)) static void saxpy(float a, const float *x, float *y, int n)
{
	for (int i = 0; i < n; i++)
		y[i] = a * x[i] + y[i];
}

__attribute__((noinline)) static double ddot(const double *x, const double *y, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += x[i] * y[i];
	return s;
}

__attribute__((noinline)) static float sdot_fast(const float *x, const float *y, int n)
{
	/* reassociated by hand into 8 lanes, so the vector result is exact
	 * to compare: the order is fixed by the source */
	float acc[8] = { 0 };
	for (int i = 0; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			acc[k] += x[i + k] * y[i + k];
	float s = 0;
	for (int k = 0; k < 8; k++)
		s += acc[k];
	return s;
}

__attribute__((noinline)) static void matmul(int n)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			mc[i][j] = 0;
	for (int i = 0; i < n; i++)
		for (int k = 0; k < n; k++)
			for (int j = 0; j < n; j++)
				mc[i][j] += ma[i][k] * mb[k][j];
}

__attribute__((noinline)) static void intops(int n)
{
	for (int i = 0; i < n; i++) {
		int32_t a = ia[i], b = ib[i];
		ic[i] = (a > b ? a : b) + (a * 3 - (b >> 2)) + ((uint32_t)a >> (b & 31)) + (a << (b & 7));
	}
}

__attribute__((noinline)) static int64_t isum(const int32_t *a, int n)
{
	int64_t s = 0;
	for (int i = 0; i < n; i++)
		s += a[i];
	return s;
}

__attribute__((noinline)) static int32_t imax(const int32_t *a, int n)
{
	int32_t m = a[0];
	for (int i = 0; i < n; i++)
		m = a[i] > m ? a[i] : m;
	return m;
}

__attribute__((noinline)) static void bytes(int n)
{
	for (int i = 0; i < n; i++) {
		uint8_t c = ba[i];
		bb[i] = (c >= 'a' && c <= 'z') ? c - 32 : (uint8_t)(c ^ 0x5a) + (uint8_t)(c >> 3);
	}
}

__attribute__((noinline)) static void lookup(int n)
{
	/* indexed loads: vgatherdps/vpgatherdd territory */
	for (int i = 0; i < n; i++)
		za[i] = xa[ia[i] & (N - 1) % N] + (float)ib[(ia[i] >> 3) & 511];
}

__attribute__((noinline)) static void convs(int n)
{
	for (int i = 0; i < n; i++) {
		ic[i] = (int32_t)(xa[i] * 7.25f);
		da[i] = (double)ia[i] * 0.5 + (double)xa[i];
		ya[i] = (float)db[i];
	}
}

int main(void)
{
	rng_seed(42);
	for (int i = 0; i < N; i++) {
		xa[i] = (float)(int32_t)(rng() % 20001 - 10000) / 128.0f;
		ya[i] = (float)(int32_t)(rng() % 2001 - 1000) / 64.0f;
		da[i] = (double)(int64_t)(rng() % 200001 - 100000) / 1024.0;
		db[i] = sqrt((double)(rng() % 100000)) - 150.0;
		ia[i] = (int32_t)rng();
		ib[i] = (int32_t)(rng() >> 7);
	}
	for (int i = 0; i < 4096; i++)
		ba[i] = (uint8_t)(rng() % 96 + 32);
	for (int i = 0; i < 48; i++)
		for (int j = 0; j < 48; j++) {
			ma[i][j] = (float)(int)(rng() % 200) / 16.0f - 6.0f;
			mb[i][j] = (float)(int)(rng() % 300) / 32.0f - 4.0f;
		}

	saxpy(1.75f, xa, ya, N);
	printf("saxpy   %016llx %a\n", (unsigned long long)hash(ya, sizeof ya), ya[N - 1]);
	printf("ddot    %a\n", ddot(da, db, N));
	printf("sdot    %a\n", sdot_fast(xa, ya, N));
	matmul(48);
	printf("matmul  %016llx %a\n", (unsigned long long)hash(mc, sizeof mc), mc[47][47]);
	intops(N);
	printf("intops  %016llx\n", (unsigned long long)hash(ic, sizeof ic));
	printf("isum    %lld imax %d\n", (long long)isum(ia, N), imax(ia, N));
	bytes(4096);
	printf("bytes   %016llx\n", (unsigned long long)hash(bb, sizeof bb));
	lookup(N);
	printf("lookup  %016llx\n", (unsigned long long)hash(za, sizeof za));
	convs(N);
	printf("convs   %016llx %016llx %016llx\n", (unsigned long long)hash(ic, sizeof ic),
	       (unsigned long long)hash(da, sizeof da), (unsigned long long)hash(ya, sizeof ya));

	/* glibc string and memory routines over many lengths and alignments */
	static char s1[600], s2[600];
	uint64_t h = MIX_INIT;
	for (int len = 0; len < 300; len += 7) {
		for (int al = 0; al < 33; al += 5) {
			memset(s1, 0, sizeof s1);
			for (int i = 0; i < len; i++)
				s1[al + i] = (char)('a' + (i * 7 + al) % 26);
			h = mix(h, strlen(s1 + al));
			memcpy(s2 + (al ^ 3), s1 + al, len + 1);
			h = mix(h, hash(s2 + (al ^ 3), len + 1));
			h = mix(h, (uint64_t)(strchr(s1 + al, 'q') ? strchr(s1 + al, 'q') - (s1 + al) : -1));
			h = mix(h, (uint64_t)(memchr(s1 + al, 'z', len) ? (char *)memchr(s1 + al, 'z', len) - (s1 + al) : -1));
			h = mix(h, (uint64_t)(strrchr(s1 + al, 'c') ? strrchr(s1 + al, 'c') - (s1 + al) : -1));
			s2[(al ^ 3) + len / 2] ^= 1;
			h = mix(h, (uint64_t)(memcmp(s1 + al, s2 + (al ^ 3), len) > 0));
			h = mix(h, (uint64_t)(strcmp(s1 + al, s2 + (al ^ 3)) > 0));
			h = mix(h, (uint64_t)(strncmp(s1 + al, s2 + (al ^ 3), len / 3) == 0));
			memmove(s1 + al + 3, s1 + al, len);
			h = mix(h, hash(s1, sizeof s1));
			memset(s1 + al, 'x', len);
			h = mix(h, hash(s1, sizeof s1));
			h = mix(h, strnlen(s1 + al, len / 2 + 1));
		}
	}
	printf("strings %016llx\n", (unsigned long long)h);
	return 0;
}
