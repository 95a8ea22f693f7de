/* long double arithmetic and libm through the x87 unit, printf %La/%Lf,
 * rounding modes, and unmasked x87 exceptions delivered as SIGFPE. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <fenv.h>
#include <signal.h>
#include <setjmp.h>
#include <string.h>

static sigjmp_buf jb;
static void onfpe(int s, siginfo_t *si, void *u) { printf("SIGFPE code=%d\n", si->si_code); siglongjmp(jb, 1); }

volatile long double vz = 0.0L, vone = 1.0L;

int main(int argc, char **argv)
{
	long double xs[] = { 0.0L, -0.0L, 0.5L, 1.0L, 2.0L, 3.14159265358979323846L, -7.25L, 1e-300L, 1e300L,
			     1e4000L, 1e-4940L, 123456789.125L, -1.0L/3, INFINITY, -INFINITY, NAN };
	int n = sizeof(xs) / sizeof(xs[0]);
	for (int i = 0; i < n; i++) {
		long double x = xs[i];
		printf("x=%La %.21Lg\n", x, x);
		printf(" sin %La cos %La tan %La\n", sinl(x), cosl(x), tanl(x));
		printf(" exp %La log %La log2 %La log10 %La log1p %La expm1 %La\n", expl(x), logl(x), log2l(x), log10l(x), log1pl(x), expm1l(x));
		printf(" sqrt %La cbrt %La pow %La pow2 %La atan %La atan2 %La\n", sqrtl(x), cbrtl(x), powl(x, 1.5L), powl(2.5L, x), atanl(x), atan2l(x, -2.0L));
		printf(" asin %La acos %La sinh %La tanh %La\n", asinl(x / 4), acosl(x / 4), sinhl(x), tanhl(x));
		printf(" fmod %La rem %La floor %La ceil %La round %La trunc %La\n", fmodl(x, 0.7L), remainderl(x, 0.7L), floorl(x), ceill(x), roundl(x), truncl(x));
		int e; long double ip;
		long double fr = frexpl(x, &e), mf = modfl(x, &ip);
		printf(" frexp %La %d ldexp %La modf %La %La logb %La ilogb %d\n", fr, e, ldexpl(x, 17), mf, ip, logbl(x), ilogbl(x));
		printf(" %Lf %Le %Lg %.30Lf\n", x, x, x, x);
		printf(" (double)%a (float)%a (long long)%lld (int)%d (unsigned)%u\n", (double)x, (float)x, (long long)x, (int)x, (unsigned)x);
		printf(" cmp %d %d %d %d %d isnan %d fpclass %d signbit %d\n", x < 1.0L, x <= xs[(i+1)%n], x == x, x > -1.0L, isgreater(x, 2.0L), isnan(x), fpclassify(x), signbit(x));
		long double y = x > 0 ? x * 2 : x - 1;
		printf(" sel %La\n", y);
	}
	int modes[] = { FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO };
	for (int m = 0; m < 4; m++) {
		fesetround(modes[m]);
		long double a = vone / 3, b = -vone / 3;
		printf("mode %d: %La %La rint %La %La lrint %ld %lld nearby %La sqrt2 %La exp1 %La\n", m, a, b, rintl(2.5L), rintl(-3.5L), lrintl(2.5L), llrintl(-3.5L), nearbyintl(0.5L), sqrtl(2.0L), expl(vone));
		printf("  %.25Lg %.25Lg\n", a * 3, strtold("0.1", NULL));
	}
	fesetround(FE_TONEAREST);
	feclearexcept(FE_ALL_EXCEPT);
	volatile long double r = vone / vz;
	printf("r=%Lf exc=%x\n", r, fetestexcept(FE_ALL_EXCEPT));
	feclearexcept(FE_ALL_EXCEPT);
	r = sqrtl(-vone);
	printf("r=%Lf exc=%x\n", r, fetestexcept(FE_ALL_EXCEPT));
	long double s = 0;
	for (int i = 1; i < 100000; i++)
		s += 1.0L / ((long double)i * i);
	printf("sum %.25Lg\n", s);
	printf("strtold %La %La %La\n", strtold("3.141592653589793238462643383279", NULL), strtold("1e-4950", NULL), strtold("0x1.fffffffffffffffep16383", NULL));
	char buf[64];
	snprintf(buf, sizeof buf, "%.20Lg", 2.0L / 3);
	printf("%s\n", buf);
	struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = onfpe; sa.sa_flags = SA_SIGINFO;
	sigaction(SIGFPE, &sa, 0);
#ifdef __GLIBC__	/* musl has no feenableexcept */
	feenableexcept(FE_DIVBYZERO);
	if (!sigsetjmp(jb, 1)) {
		r = vone / vz;
		printf("no trap %Lf\n", r);
	}
	fedisableexcept(FE_ALL_EXCEPT);
	feclearexcept(FE_ALL_EXCEPT);
	feenableexcept(FE_INVALID);
	if (!sigsetjmp(jb, 1)) {
		r = vz / vz;
		printf("no trap %Lf\n", r);
	}
#endif
	printf("done\n");
	return 0;
}
