/* AVX2/FMA/F16C forms compilers rarely pick on their own, through
 * intrinsics: gathers (masked, with scales), masked loads and stores up to
 * an unmapped page, permutes, variable shifts, broadcasts, inserts and
 * extracts, blends, F16C conversions, FMA variants; then XGETBV, an
 * XSAVE/XRSTOR round trip of the YMM state, and a signal handler that sees
 * and changes ymm bits 255:128 in its frame, and the mask and destination
 * a gather leaves in the frame when an element faults (the mask's elements
 * already set to all ones or zeros), and an exact tiny haddpd result with
 * underflow unmasked (SIGFPE), and the flags of a 256-bit add that traps
 * on one lane.  Everything printed is
 * computed, so the host CPU is the oracle. */
#include "../guest.h"
#include <immintrin.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <cpuid.h>

static void show(const char *name, __m256i v)
{
	uint64_t q[4];
	memcpy(q, &v, 32);
	printf("%-12s %016llx %016llx %016llx %016llx\n", name, (unsigned long long)q[3],
	       (unsigned long long)q[2], (unsigned long long)q[1], (unsigned long long)q[0]);
}
#define SHOWPS(n, v) show(n, _mm256_castps_si256(v))
#define SHOWPD(n, v) show(n, _mm256_castpd_si256(v))

static __m256i rv(void)
{
	return _mm256_set_epi64x(rng(), rng(), rng(), rng());
}

static volatile int handled;
static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uint8_t *fp = (uint8_t *)uc->uc_mcontext.fpregs;
	uint32_t magic1, xs, magic2, hi;
	memcpy(&magic1, fp + 464, 4);
	memcpy(&xs, fp + 464 + 16, 4);
	memcpy(&magic2, fp + xs, 4);
	memcpy(&hi, fp + 576 + 16 * 5, 4);
	printf("frame: uc_flags&1=%d magic1=%x magic2=%x ymm5.hi=%x\n", (int)(uc->uc_flags & 1),
	       magic1, magic2, hi);
	uint32_t nv = 0x600dcafe;
	memcpy(fp + 576 + 16 * 5, &nv, 4);
	asm volatile("vpcmpeqd %%ymm5, %%ymm5, %%ymm5" ::: "xmm5");
	handled = 1;
}

#include <setjmp.h>
static sigjmp_buf gather_back;
static void on_gather_fault(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uint8_t *fp = (uint8_t *)uc->uc_mcontext.fpregs;
	(void)si;
	/* xmm0/xmm1 at 160 + 16 * n of the FXSAVE image, their upper halves
	 * at 576 + 16 * n of the XSAVE area */
	for (int r = 0; r < 2; r++) {
		uint64_t q[4];
		memcpy(q, fp + 160 + 16 * r, 16);
		memcpy(q + 2, fp + 576 + 16 * r, 16);
		printf("%s sig %d %016llx %016llx %016llx %016llx\n", r ? "mask" : "dest", sig,
		       (unsigned long long)q[3], (unsigned long long)q[2], (unsigned long long)q[1],
		       (unsigned long long)q[0]);
	}
	siglongjmp(gather_back, 1);
}

/* Underflow unmasked: a tiny result raises it even when exact (masked, a
 * tiny result must also be inexact).  haddpd's low sum, 1.5 * 2^-1022 -
 * 2^-1022, is the denormal 2^-1023, exactly. */
static sigjmp_buf tiny_back;

static void tiny_fpe(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	uint32_t csr;
	memcpy(&csr, (uint8_t *)uc->uc_mcontext.fpregs + 24, 4);
	printf("  SIGFPE %d code %d flags %x\n", sig, si->si_code, csr & 0x3f);
	siglongjmp(tiny_back, 1);
}

static void exact_tiny(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = tiny_fpe;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGFPE, &sa, &old);
	static const double in[2] = { 0x1.8p-1022, -0x1p-1022 };
	for (int um = 0; um < 2; um++) {
		printf("exact tiny, UE %s:\n", um ? "unmasked" : "masked");
		if (sigsetjmp(tiny_back, 1))
			continue;
		uint64_t r;
		unsigned csr = um ? 0x1f80 & ~0x800 : 0x1f80, after;
		__asm__ volatile("ldmxcsr %2\n\tmovupd %1, %%xmm0\n\thaddpd %%xmm0, %%xmm0\n\tmovq %%xmm0, %0\n\t"
				 "stmxcsr %3"
				 : "=r"(r) : "m"(in), "m"(csr), "m"(after) : "xmm0", "memory");
		printf("  %016llx flags %x\n", (unsigned long long)r, after & 0x3f);
	}
	/* vaddps ymm with denormals unmasked: the lower half's sums are
	 * inexact, an upper lane's operand is denormal; the CPU traps on the
	 * whole instruction (DE) without flagging the lower half (PE). */
	static const float x[8] = { 1, 1, 1, 1, 0x1p-130f, 1, 1, 1 };
	static const float y[8] = { 0x1p-30f, 0x1p-30f, 0x1p-30f, 0x1p-30f, 1, 1, 1, 1 };
	printf("vaddps ymm, DE unmasked:\n");
	if (!sigsetjmp(tiny_back, 1)) {
		unsigned csr = 0x1f80 & ~0x100;
		__asm__ volatile("ldmxcsr %2\n\tvmovups %0, %%ymm0\n\tvmovups %1, %%ymm1\n\t"
				 "vaddps %%ymm1, %%ymm0, %%ymm0\n\tvzeroupper"
				 :: "m"(x), "m"(y), "m"(csr) : "xmm0", "xmm1", "memory");
		printf("  no SIGFPE\n");
	}
	unsigned dflt = 0x1f80;
	__asm__ volatile("ldmxcsr %0" :: "m"(dflt));
	sigaction(SIGFPE, &old, NULL);
}

/* vpgatherdd (ymm and xmm) and vpgatherqd whose element 2 is in a
 * PROT_NONE page. */
static void gather_fault(void)
{
	uint8_t *pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pg == MAP_FAILED)
		return;
	mprotect(pg + 4096, 4096, PROT_NONE);
	memset(pg, 0x5a, 4096);
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_gather_fault;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, &old);
	static const int32_t idx[8] = { 0, 8, 1024, 16, 24, 32, 40, 48 };
	static const int64_t idxq[4] = { 0, 8, 1024, 16 };
	static const uint32_t mask[8] = { 0x80000001, 0x7fffffff, 0x80000000, 0x12345678,
					  0xdeadbeef, 0x00c0ffee, 0xf0000000, 0x00000001 };
	if (!sigsetjmp(gather_back, 1)) {
		asm volatile("vmovdqu %0, %%ymm2\n\tvmovdqu %1, %%ymm1\n\tvpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
			     "vpgatherdd %%ymm1, (%2,%%ymm2,4), %%ymm0"
			     :: "m"(idx), "m"(mask), "r"(pg) : "xmm0", "xmm1", "xmm2", "memory");
		printf("vpgatherdd: no fault\n");
	}
	if (!sigsetjmp(gather_back, 1)) {
		asm volatile("vmovdqu %0, %%ymm2\n\tvmovdqu %1, %%ymm1\n\tvpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
			     "vpgatherqd %%xmm1, (%2,%%ymm2,4), %%xmm0"
			     :: "m"(idxq), "m"(mask), "r"(pg) : "xmm0", "xmm1", "xmm2", "memory");
		printf("vpgatherqd: no fault\n");
	}
	/* VEX.128: the mask's bits 255:128 (set here) are cleared */
	if (!sigsetjmp(gather_back, 1)) {
		asm volatile("vmovdqu %0, %%ymm2\n\tvmovdqu %1, %%ymm1\n\tvpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"
			     "vpgatherdd %%xmm1, (%2,%%xmm2,4), %%xmm0"
			     :: "m"(idx), "m"(mask), "r"(pg) : "xmm0", "xmm1", "xmm2", "memory");
		printf("vpgatherdd xmm: no fault\n");
	}
	sigaction(SIGSEGV, &old, NULL);
	munmap(pg, 8192);
}

/* vinsertps from m32 takes the loaded dword whatever imm[7:6] says (here
 * 3: from a register it would pick dword 3), in both encodings. */
static void insertps_mem(void)
{
	static const float in[4] = { 1.5f, 2.5f, 3.5f, 4.5f };
	__m128 a = _mm_set_ps(8, 7, 6, 5), r, l;
	__asm__ volatile("vinsertps $0xf4, %2, %1, %0" : "=x"(r) : "x"(a), "m"(in[1]));
	l = a;
	__asm__ volatile("insertps $0xe2, %1, %0" : "+x"(l) : "m"(in[2]));
	SHOWPS("vinsertps m", _mm256_zextps128_ps256(r));
	SHOWPS("insertps m", _mm256_zextps128_ps256(l));
}

int main(void)
{
	rng_seed(7);
	insertps_mem();
	static int32_t tbl[256];
	static double dtbl[256];
	for (int i = 0; i < 256; i++) {
		tbl[i] = (int32_t)rng();
		dtbl[i] = (double)(int32_t)rng() / 3.0;
	}
	for (int round = 0; round < 4; round++) {
		__m256i idx = _mm256_and_si256(rv(), _mm256_set1_epi32(255));
		__m256i mask = rv(), src = rv();
		show("gatherdd", _mm256_i32gather_epi32(tbl, idx, 4));
		show("mgatherdd", _mm256_mask_i32gather_epi32(src, tbl, idx, mask, 4));
		__m256i idx64 = _mm256_and_si256(rv(), _mm256_set1_epi64x(127));
		show("gatherqq", _mm256_i64gather_epi64((const long long *)tbl, idx64, 8));
		SHOWPD("gatherdpd", _mm256_i32gather_pd(dtbl, _mm256_castsi256_si128(idx), 8));
		show("gatherqd", _mm256_castsi128_si256(_mm256_i64gather_epi32(tbl, idx64, 4)));
		show("gather128", _mm256_castsi128_si256(_mm_mask_i32gather_epi32(_mm256_castsi256_si128(src),
				tbl, _mm256_castsi256_si128(idx), _mm256_castsi256_si128(mask), 2)));
		__m256i a = rv(), b = rv();
		show("permd", _mm256_permutevar8x32_epi32(a, b));
		show("permq", _mm256_permute4x64_epi64(a, 0x1b));
		show("perm2i128", _mm256_permute2x128_si256(a, b, 0x21));
		show("sllv", _mm256_sllv_epi32(a, _mm256_and_si256(b, _mm256_set1_epi32(63))));
		show("srav", _mm256_srav_epi32(a, _mm256_and_si256(b, _mm256_set1_epi32(63))));
		show("srlvq", _mm256_srlv_epi64(a, _mm256_and_si256(b, _mm256_set1_epi64x(127))));
		show("blendd", _mm256_blend_epi32(a, b, 0xa5));
		show("blendvb", _mm256_blendv_epi8(a, b, rv()));
		show("shufb", _mm256_shuffle_epi8(a, b));
		show("alignr", _mm256_alignr_epi8(a, b, 5));
		show("mpsadbw", _mm256_mpsadbw_epu8(a, b, 0x2d));
		show("bcastb", _mm256_broadcastb_epi8(_mm256_castsi256_si128(a)));
		show("inserti", _mm256_inserti128_si256(a, _mm256_castsi256_si128(b), 1));
		show("extracti", _mm256_castsi128_si256(_mm256_extracti128_si256(a, 1)));
		show("cvtepu8", _mm256_cvtepu8_epi32(_mm256_castsi256_si128(a)));
		printf("movemask     %08x testz %d testc %d\n", (unsigned)_mm256_movemask_epi8(a),
		       _mm256_testz_si256(a, b), _mm256_testc_si256(a, a));
		__m256 fa = _mm256_set_ps(1.5f, -2.25f, 1e30f, -0.0f, 3.0f, 1e-40f, 7.0f, -9.5f);
		__m256 fb = _mm256_castsi256_ps(_mm256_srli_epi32(rv(), 2));
		__m256 fc = _mm256_set1_ps(0.3333333f);
		SHOWPS("fmadd", _mm256_fmadd_ps(fa, fb, fc));
		SHOWPS("fmsubadd", _mm256_fmsubadd_ps(fa, fb, fc));
		SHOWPS("fnmsub", _mm256_fnmsub_ps(fa, fc, fb));
		__m256d da = _mm256_set_pd(1.0 / 3, -2.5, 1e300, 4.0);
		SHOWPD("fmaddpd", _mm256_fmadd_pd(da, da, _mm256_set1_pd(-1.0 / 9)));
		SHOWPS("permilps", _mm256_permutevar_ps(fa, b));
		SHOWPS("dpps", _mm256_dp_ps(fa, fc, 0xf1));
		SHOWPS("roundps", _mm256_round_ps(fb, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
		SHOWPS("cmpps", _mm256_cmp_ps(fa, fb, _CMP_NGE_UQ));
		__m128i h = _mm256_cvtps_ph(fb, 0);
		show("cvtps2ph", _mm256_castsi128_si256(h));
		SHOWPS("cvtph2ps", _mm256_cvtph_ps(_mm256_castsi256_si128(a)));
	}

	/* masked loads and stores whose unselected elements lie on a
	 * PROT_NONE page: they must not fault */
	uint8_t *pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(pg + 4096, 4096, PROT_NONE);
	int32_t *edge = (int32_t *)(pg + 4096 - 12);
	for (int i = 0; i < 3; i++)
		edge[i] = 100 + i;
	__m256i m3 = _mm256_set_epi32(0, 0, 0, 0, 0, -1, -1, -1);
	show("maskload", _mm256_maskload_epi32(edge, m3));
	_mm256_maskstore_epi32(edge, _mm256_set_epi32(0, 0, 0, 0, 0, -1, 0, -1), _mm256_set1_epi32(-7));
	printf("maskstore    %d %d %d\n", edge[0], edge[1], edge[2]);
	SHOWPD("maskloadpd", _mm256_maskload_pd((double *)(pg + 4096 - 16), _mm256_set_epi64x(0, 0, -1, 0)));

	/* XGETBV and an XSAVE/XRSTOR round trip of the YMM state */
	unsigned lo, hi, eax, ebx, ecx, edx;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	printf("xcr0&7       %x\n", lo & 7);
	__cpuid_count(0xd, 0, eax, ebx, ecx, edx);
	__cpuid_count(1, 0, eax, ebx, ecx, edx);
	printf("cpuid1.ecx   fma=%d xsave=%d osxsave=%d avx=%d f16c=%d\n", ecx >> 12 & 1, ecx >> 26 & 1,
	       ecx >> 27 & 1, ecx >> 28 & 1, ecx >> 29 & 1);
	__cpuid_count(7, 0, eax, ebx, ecx, edx);
	printf("cpuid7.ebx   avx2=%d\n", ebx >> 5 & 1);
	__cpuid_count(0xd, 2, eax, ebx, ecx, edx);
	printf("cpuid0d.2    size=%u offset=%u\n", eax, ebx);
	uint8_t *area = aligned_alloc(64, 16384);
	memset(area, 0, 16384);
	uint64_t before[4], after[4];
	asm volatile("vpcmpeqd %%ymm7, %%ymm7, %%ymm7\n\t"
		     "vpsrlq $3, %%ymm7, %%ymm7\n\t"
		     "vmovdqu %%ymm7, %0\n\t"
		     "xsave (%2)\n\t"
		     "vpxor %%ymm7, %%ymm7, %%ymm7\n\t"
		     "xrstor (%2)\n\t"
		     "vmovdqu %%ymm7, %1"
		     : "=m"(before), "=m"(after) : "r"(area), "a"(7), "d"(0) : "xmm7", "memory");
	printf("xsave/xrstor %d %016llx\n", !memcmp(before, after, 32), (unsigned long long)after[3]);
	memset(area, 0, 16384);
	asm volatile("vpcmpeqd %%ymm6, %%ymm6, %%ymm6\n\t"
		     "xsavec (%2)\n\t"
		     "vpxor %%ymm6, %%ymm6, %%ymm6\n\t"
		     "xrstor (%2)\n\t"
		     "vmovdqu %%ymm6, %0\n\t"
		     "vpxor %%ymm6, %%ymm6, %%ymm6"
		     : "=m"(after) : "m"(before), "r"(area), "a"(4), "d"(0) : "xmm6", "memory");
	uint64_t xcomp;
	memcpy(&xcomp, area + 520, 8);
	printf("xsavec       %016llx %016llx xcomp_bv&0x8000000000000007=%llx\n",
	       (unsigned long long)after[0], (unsigned long long)after[3],
	       (unsigned long long)(xcomp & 0x8000000000000007ull));

	/* a signal handler sees and changes ymm5's upper half */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	uint32_t out[8];
	asm volatile("vpbroadcastd %1, %%ymm5\n\t"
		     "mov $62, %%eax\n\tmov %2, %%edi\n\tmov $10, %%esi\n\tsyscall\n\t"
		     "vmovdqu %%ymm5, %0\n\tvzeroupper"
		     : "=m"(out) : "m"(*(uint32_t[]){ 0xabcdef01 }), "r"(getpid())
		     : "rax", "rdi", "rsi", "rcx", "r11", "xmm5", "memory");
	printf("after signal %d %x %x\n", handled, out[0], out[4]);
	gather_fault();
	exact_tiny();
	return 0;
}
