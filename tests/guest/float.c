/* Floating point: SSE scalar double and float arithmetic (exact results
 * printed with %a), conversions to and from integers with truncation and
 * rounding, comparisons involving NaN (ucomisd sets PF), min/max, rounding
 * modes through fesetround (MXCSR and the x87 control word), x87 long double,
 * and libm functions (printed to 12 digits: libm may pick FMA variants). */
#include "guest.h"
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static const double dv[] = { 0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3, 1e300, -1e-300, 4.9e-324,
	DBL_MAX, 2.5, -2.5, 3.5, 1e16 + 1, 9007199254740993.0, 123456.789, INFINITY, -INFINITY, NAN };
enum { ND = sizeof dv / sizeof dv[0] };

static void arith(void)
{
	double v[ND];
	memcpy(v, dv, sizeof v);
	HIDE(v);
	for (int i = 0; i < ND; i++)
		for (int j = 0; j < ND; j += 3) {
			double a = v[i], b = v[j];
			printf("%a %a: + %a - %a * %a / %a | < %d <= %d == %d != %d unord %d | min %a max %a\n",
			       a, b, a + b, a - b, a * b, a / b, a < b, a <= b, a == b, a != b,
			       isunordered(a, b), fmin(a, b), fmax(a, b));
		}
	for (int i = 0; i < ND; i++) {
		double a = v[i];
		float f = (float)a;
		printf("%a: sqrt %a f %a fsqrt %a back %a neg %a abs %a\n", a, sqrt(a), f, sqrtf(f),
		       (double)f, -a, fabs(a));
	}
}

static void conversions(void)
{
	double v[ND];
	memcpy(v, dv, sizeof v);
	HIDE(v);
	for (int i = 0; i < ND; i++) {
		double a = v[i];
		/* Out-of-range conversions give the "integer indefinite" on x86;
		 * in C they are undefined, so only convert in range. */
		if (fabs(a) < 9e18)
			printf("%a -> i64 %lld i32 %d u32 %u lrint %ld round %a floor %a ceil %a trunc %a\n",
			       a, (long long)a, fabs(a) < 2e9 ? (int)a : 0, a >= 0 && a < 4e9 ? (unsigned)a : 0,
			       lrint(a), round(a), floor(a), ceil(a), trunc(a));
		else
			printf("%a -> out of range, isinf %d isnan %d signbit %d\n", a, isinf(a) != 0,
			       isnan(a) != 0, signbit(a) != 0);
	}
	int64_t iv[] = { 0, 1, -1, 1ll << 53, (1ll << 53) + 1, INT64_MAX, INT64_MIN, 123456789 };
	HIDE(iv);
	for (unsigned i = 0; i < sizeof iv / sizeof iv[0]; i++)
		printf("i64 %lld -> double %a float %a; u64 -> double %a\n", (long long)iv[i],
		       (double)iv[i], (float)iv[i], (double)(uint64_t)iv[i]);
}

static void rounding(void)
{
	const int modes[] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
	const char *names[] = { "nearest", "down", "up", "zero" };
	volatile double third = 1.0 / 3, big = 1e16, neg = -2.5;
	volatile long double lthird = 1.0L / 3;
	for (int m = 0; m < 4; m++) {
		fesetround(modes[m]);
		volatile double one = 1.0, three = 3.0;
		double q = one / three;
		long double lq = (long double)one / three;
		printf("%s: 1/3=%a 1e16+1.5=%a rint(-2.5)=%a nearbyint(2.5)=%a lrint(2.5)=%ld "
		       "x87 1/3=%La sqrt2=%a\n", names[m], q, big + 1.5, rint(neg), nearbyint(2.5),
		       lrint(2.5), lq, sqrt(2.0 + third - third));
		(void)lthird;
	}
	fesetround(FE_TONEAREST);
	feclearexcept(FE_ALL_EXCEPT);
	volatile double z = 0.0, o = 1.0;
	volatile double r = o / z;
	printf("1/0=%a divbyzero flag=%d\n", r, fetestexcept(FE_DIVBYZERO) != 0);
	feclearexcept(FE_ALL_EXCEPT);
	r = z / z;
	printf("0/0 isnan=%d invalid flag=%d\n", isnan(r), fetestexcept(FE_INVALID) != 0);
	feclearexcept(FE_ALL_EXCEPT);
	r = o / 3;
	printf("1/3 inexact flag=%d\n", fetestexcept(FE_INEXACT) != 0);
}

static void x87(void)
{
	long double a = 1.0L, s = 0;
	for (int i = 1; i <= 30; i++) {
		a *= i;
		s += 1.0L / a;
	}
	printf("x87: 30!=%La e-1~=%La\n", a, s);
	long double v[] = { 2.0L, 1e-4000L, 1e4000L, -0.0L, 1.0L / 7 };
	HIDE(v);
	for (int i = 0; i < 5; i++)
		printf("x87 %La: sqrt %La *3 %La /3 %La to double %a to i64 %lld\n", v[i], sqrtl(v[i]),
		       v[i] * 3, v[i] / 3, (double)v[i], fabsl(v[i]) < 9e18L ? (long long)v[i] : 0);
	printf("LDBL_EPSILON %La\n", LDBL_EPSILON);
}

static void libm(void)
{
	double xs[] = { 0.5, 1.0, 2.0, 10.0, -3.7, 100.25 };
	for (int i = 0; i < 6; i++) {
		double x = xs[i];
		printf("x=%g sin %.12g cos %.12g tan %.12g exp %.12g log|x| %.12g pow(|x|,1.5) %.12g "
		       "atan2 %.12g hypot %.12g cbrt %.12g\n", x, sin(x), cos(x), tan(x), exp(x),
		       log(fabs(x)), pow(fabs(x), 1.5), atan2(x, 1.5), hypot(x, 3), cbrt(x));
	}
	/* A numerical loop: Newton iteration and a Taylor series. */
	double r = 1.0;
	for (int i = 0; i < 60; i++)
		r = 0.5 * (r + 2.0 / r);
	double sum = 0, term = 1;
	for (int k = 0; k < 40; k++) {
		sum += term;
		term *= -1.0 / ((2 * k + 1) * (2 * k + 2));
	}
	printf("newton sqrt2 %a taylor cos1 %a\n", r, sum);
	float fs = 0;
	for (int i = 1; i < 100000; i++)
		fs += 1.0f / (float)i;
	printf("float harmonic %a\n", fs);
}

int main(void)
{
	arith();
	conversions();
	rounding();
	x87();
	libm();
	return 0;
}
