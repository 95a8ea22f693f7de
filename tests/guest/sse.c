/* SSE2 integer and floating-point vector operations through intrinsics:
 * packed add/sub with and without saturation, multiplies (pmullw, pmulhw,
 * pmuludq, pmaddwd), compares and pmovmskb, shuffles, unpacks, packs, byte
 * shifts, logic, packed float/double arithmetic and conversions.  Every
 * result vector is printed in hex. */
#include "guest.h"
#include <emmintrin.h>
#include <string.h>

static void show(const char *name, __m128i v)
{
	uint64_t q[2];
	memcpy(q, &v, 16);
	printf("%-10s %016llx%016llx\n", name, (unsigned long long)q[1], (unsigned long long)q[0]);
}

static void showd(const char *name, __m128d v)
{
	double d[2];
	memcpy(d, &v, 16);
	printf("%-10s %a %a\n", name, d[1], d[0]);
}

static void showf(const char *name, __m128 v)
{
	float f[4];
	memcpy(f, &v, 16);
	printf("%-10s %a %a %a %a\n", name, f[3], f[2], f[1], f[0]);
}

static void ints(__m128i a, __m128i b)
{
	show("a", a);
	show("b", b);
	show("paddb", _mm_add_epi8(a, b));
	show("paddw", _mm_add_epi16(a, b));
	show("paddd", _mm_add_epi32(a, b));
	show("paddq", _mm_add_epi64(a, b));
	show("psubb", _mm_sub_epi8(a, b));
	show("psubq", _mm_sub_epi64(a, b));
	show("paddsb", _mm_adds_epi8(a, b));
	show("paddusb", _mm_adds_epu8(a, b));
	show("psubsw", _mm_subs_epi16(a, b));
	show("psubusw", _mm_subs_epu16(a, b));
	show("pmullw", _mm_mullo_epi16(a, b));
	show("pmulhw", _mm_mulhi_epi16(a, b));
	show("pmulhuw", _mm_mulhi_epu16(a, b));
	show("pmuludq", _mm_mul_epu32(a, b));
	show("pmaddwd", _mm_madd_epi16(a, b));
	show("pavgb", _mm_avg_epu8(a, b));
	show("pminub", _mm_min_epu8(a, b));
	show("pmaxsw", _mm_max_epi16(a, b));
	show("psadbw", _mm_sad_epu8(a, b));
	show("pcmpeqb", _mm_cmpeq_epi8(a, b));
	show("pcmpgtw", _mm_cmpgt_epi16(a, b));
	show("pcmpgtd", _mm_cmpgt_epi32(a, b));
	printf("%-10s %04x %04x\n", "pmovmskb", _mm_movemask_epi8(a), _mm_movemask_epi8(_mm_cmpeq_epi8(a, b)));
	show("pand", _mm_and_si128(a, b));
	show("pandn", _mm_andnot_si128(a, b));
	show("por", _mm_or_si128(a, b));
	show("pxor", _mm_xor_si128(a, b));
	show("psllw 3", _mm_slli_epi16(a, 3));
	show("psrld 7", _mm_srli_epi32(a, 7));
	show("psrad 31", _mm_srai_epi32(a, 31));
	show("psraw 4", _mm_srai_epi16(a, 4));
	show("psllq 63", _mm_slli_epi64(a, 63));
	show("psllq cnt", _mm_sll_epi64(a, _mm_cvtsi32_si128(12)));
	show("psrlq big", _mm_srl_epi64(a, _mm_cvtsi32_si128(64)));
	show("pslldq 5", _mm_slli_si128(a, 5));
	show("psrldq 11", _mm_srli_si128(a, 11));
	show("pshufd", _mm_shuffle_epi32(a, 0x1b));
	show("pshuflw", _mm_shufflelo_epi16(a, 0xb1));
	show("pshufhw", _mm_shufflehi_epi16(a, 0x4e));
	show("punpcklbw", _mm_unpacklo_epi8(a, b));
	show("punpckhwd", _mm_unpackhi_epi16(a, b));
	show("punpckldq", _mm_unpacklo_epi32(a, b));
	show("punpckhqdq", _mm_unpackhi_epi64(a, b));
	show("packsswb", _mm_packs_epi16(a, b));
	show("packuswb", _mm_packus_epi16(a, b));
	show("packssdw", _mm_packs_epi32(a, b));
	printf("%-10s %d %d\n", "pextrw", _mm_extract_epi16(a, 3), _mm_extract_epi16(b, 7));
	show("pinsrw", _mm_insert_epi16(a, 0xbeef, 5));
	printf("%-10s %d %lld\n", "movd/q", _mm_cvtsi128_si32(a), (long long)_mm_cvtsi128_si64(b));
	show("movq", _mm_move_epi64(a));
}

static void floats(void)
{
	__m128d a = _mm_set_pd(-1.5, 3.0), b = _mm_set_pd(0.25, -0.0);
	__m128d n = _mm_set_pd(__builtin_nan(""), 1e308);
	showd("addpd", _mm_add_pd(a, b));
	showd("mulpd", _mm_mul_pd(a, n));
	showd("divpd", _mm_div_pd(a, b));
	showd("sqrtpd", _mm_sqrt_pd(_mm_set_pd(2.0, 1e-300)));
	showd("minpd", _mm_min_pd(a, n));
	showd("maxpd", _mm_max_pd(n, a));
	showd("cmpltpd", _mm_cmplt_pd(a, b));
	showd("cmpunord", _mm_cmpunord_pd(a, n));
	showd("andnpd", _mm_andnot_pd(_mm_set1_pd(-0.0), a));
	showd("unpcklpd", _mm_unpacklo_pd(a, b));
	showd("shufpd", _mm_shuffle_pd(a, b, 1));
	showd("addsd", _mm_add_sd(a, b));
	printf("%-10s %d %d %d\n", "comisd", _mm_comilt_sd(a, b), _mm_comieq_sd(a, a), _mm_ucomineq_sd(n, n));
	printf("%-10s %d\n", "movmskpd", _mm_movemask_pd(a));
	__m128 f = _mm_set_ps(1.5f, -2.25f, 1e30f, 3.0f), g = _mm_set_ps(0.5f, 4.0f, 1e10f, -0.0f);
	showf("addps", _mm_add_ps(f, g));
	showf("mulps", _mm_mul_ps(f, g));
	showf("divps", _mm_div_ps(f, g));
	showf("sqrtps", _mm_sqrt_ps(_mm_set_ps(4.0f, 2.0f, 0.0f, 1e-40f)));
	showf("maxps", _mm_max_ps(f, g));
	showf("shufps", _mm_shuffle_ps(f, g, 0x9c));
	showf("unpckhps", _mm_unpackhi_ps(f, g));
	showf("cvtpd2ps", _mm_cvtpd_ps(a));
	showd("cvtps2pd", _mm_cvtps_pd(f));
	show("cvtps2dq", _mm_cvtps_epi32(_mm_set_ps(2.5f, -2.5f, 1e10f, 0.4999f)));
	show("cvttps2dq", _mm_cvttps_epi32(_mm_set_ps(2.9f, -2.9f, -1e10f, 0.4999f)));
	showf("cvtdq2ps", _mm_cvtepi32_ps(_mm_set_epi32(-1, 16777217, 0x7fffffff, 3)));
	showd("cvtdq2pd", _mm_cvtepi32_pd(_mm_set_epi32(0, 0, -7, 1 << 30)));
	show("cvtpd2dq", _mm_cvtpd_epi32(_mm_set_pd(-0.5, 1.5)));
	printf("%-10s %d %lld %d\n", "cvtsd2si", _mm_cvtsd_si32(_mm_set_sd(2.5)),
	       (long long)_mm_cvttsd_si64(_mm_set_sd(-1e19)), _mm_cvtss_si32(_mm_set_ss(-3.5f)));
}

int main(void)
{
	ints(_mm_set_epi64x(0x0123456789abcdefll, (long long)0xfedcba9876543210ull),
	     _mm_set_epi64x((long long)0x8000ffff7fff0001ull, 0x00ff80017f7e8081ll));
	ints(_mm_set1_epi8((char)0x80), _mm_set1_epi16(0x7fff));
	floats();

	/* A vectorizable loop: the compiler emits SSE2 for it. */
	static int16_t x[4096], y[4096];
	static int32_t z[4096];
	for (int i = 0; i < 4096; i++) {
		x[i] = (int16_t)(i * 37 - 20000);
		y[i] = (int16_t)(i * -13 + 777);
	}
	for (int rep = 0; rep < 20; rep++)
		for (int i = 0; i < 4096; i++)
			z[i] += x[i] * y[i] + (x[i] > y[i] ? 1 : -1);
	uint64_t h = MIX_INIT;
	for (int i = 0; i < 4096; i++)
		h = mix(h, (uint64_t)z[i]);
	printf("vector loop hash %016llx\n", (unsigned long long)h);
	return 0;
}
