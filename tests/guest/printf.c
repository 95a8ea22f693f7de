/* printf conversions: integers of every length modifier and flag, strings,
 * characters, and floating point with %f %e %g %a at many precisions
 * (glibc and musl format doubles with their own big-number code, which is
 * heavy on 64-bit multiply/divide), plus strtod/strtol round trips. */
#include "guest.h"
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	long long iv[] = { 0, 1, -1, 42, -42, 255, 65535, INT_MAX, INT_MIN, LLONG_MAX, LLONG_MIN,
		1234567890123ll, -987654321 };
	for (unsigned i = 0; i < sizeof iv / sizeof iv[0]; i++) {
		long long v = iv[i];
		printf("[%d] [%i] [%u] [%x] [%X] [%o] [%5d] [%-5d|] [%05d] [%+d] [% d] [%#x] [%#o]\n",
		       (int)v, (int)v, (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v, (int)v,
		       (int)v, (int)v, (int)v, (int)v, (unsigned)v, (unsigned)v);
		printf("[%lld] [%llu] [%llx] [%hd] [%hhd] [%hu] [%hhx] [%ld] [%jd] [%zd] [%.8lld] [%20lld] [%-20llx|]\n",
		       v, (unsigned long long)v, (unsigned long long)v, (short)v, (signed char)v,
		       (unsigned short)v, (unsigned char)v, (long)v, (intmax_t)v, (ssize_t)v, v, v,
		       (unsigned long long)v);
	}
	printf("[%c%c%c] [%5c] [%-3c|]\n", 'a', 'Z', '0', 'x', 'y');
	printf("[%s] [%10s] [%-10s|] [%.3s] [%10.2s] [%*s] [%-*s|] [%.*s]\n", "str", "right", "left",
	       "truncate", "ab", 6, "w", 6, "w", 2, "precision");
	printf("[%p] [%p] [%%]\n", (void *)0x1234, (void *)0xdeadbeefcafe);
	int n1 = 0, n2 = 0;
	printf("count%n these%n\n", &n1, &n2);
	printf("n=%d,%d\n", n1, n2);

	double dv[] = { 0.0, -0.0, 1.0, -1.0, 0.5, 0.1, 1.0 / 3, 2.0 / 3, 123.456, -9876.54321,
		1e10, 1e-10, 1.5e300, 4.9e-324, 2.2250738585072014e-308, DBL_MAX, DBL_MIN,
		DBL_EPSILON, M_PI, M_E, 1e21, 1e22, 123456789012345678.0, 0.000123456, 99.995,
		2.5, 3.5, -2.5, 1e15 + 0.3, 5e-5, INFINITY, -INFINITY, NAN };
	for (unsigned i = 0; i < sizeof dv / sizeof dv[0]; i++) {
		double d = dv[i];
		printf("[%f] [%.0f] [%.2f] [%.10f] [%e] [%.3e] [%E] [%g] [%.3g] [%.17g] [%G] [%a] [%A]\n",
		       d, d, d, d, d, d, d, d, d, d, d, d, d);
		printf("[%12.4f] [%-12.4e|] [%+g] [% .5g] [%#g] [%#.0f] [%#x] [%010.3f] [%.60f]\n",
		       d, d, d, d, d, d, (unsigned)i, d, d);
	}
	printf("[%.1000f]\n", 1e-300);
	printf("[%.50e]\n", 1.0 / 7);
	float fv = 3.14159265f;
	printf("float [%f] [%.9g] [%a]\n", fv, fv, fv);
	long double ld = 1.0L / 3;
	printf("long double [%Lf] [%.20Lg] [%Le] [%La]\n", ld, ld, ld * 1e100L, ld);
	printf("long double max [%Lg] min [%Lg]\n", LDBL_MAX, LDBL_MIN);

	char buf[16];
	int r = snprintf(buf, sizeof buf, "%s-%d-%f", "abcdefgh", 12345, 2.5);
	printf("snprintf returned %d kept \"%s\"\n", r, buf);
	r = snprintf(NULL, 0, "%0100d", 7);
	printf("snprintf(NULL) returned %d\n", r);

	const char *nums[] = { "3.14159", "-2.5e-3", "1e308", "1e309", "0x1.8p3", "  42abc", "inf",
		"-nan", "0.1", "123456789012345678901234567890", "4.9406564584124654e-324",
		"2.4703282292062328e-324" };
	for (unsigned i = 0; i < sizeof nums / sizeof nums[0]; i++) {
		char *end;
		double d = strtod(nums[i], &end);
		printf("strtod(\"%s\") = %a (%.17g), consumed %d\n", nums[i], d, d,
		       (int)(end - nums[i]));
	}
	const char *ints[] = { "123", "-456", "0x7f", "0777", "9223372036854775807",
		"9223372036854775808", "-9223372036854775809", "  +12z", "zzz" };
	for (unsigned i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		char *end;
		long v = strtol(ints[i], &end, 0);
		unsigned long uv = strtoul(ints[i], NULL, 16);
		printf("strtol(\"%s\") = %ld consumed %d, strtoul16 = %lu\n", ints[i], v,
		       (int)(end - ints[i]), uv);
	}
	printf("atoi %d atol %ld\n", atoi("  -17x"), atol("99999999999"));

	/* Round trip: print with %.17g and read back must be exact. */
	uint64_t h = MIX_INIT;
	int bad = 0;
	rng_seed(99);
	for (int k = 0; k < 3000; k++) {
		uint64_t bits = rng();
		double d;
		memcpy(&d, &bits, sizeof d);
		if (isnan(d))
			continue;
		char s[64];
		snprintf(s, sizeof s, "%.17g", d);
		double back = strtod(s, NULL);
		if (memcmp(&back, &d, sizeof d))
			bad++;
		for (char *p = s; *p; p++)
			h = mix(h, (uint64_t)*p);
	}
	printf("round trip: %d bad, hash %016llx\n", bad, (unsigned long long)h);
	return 0;
}
