/*
 * SSE helpers: the operations lift-sse.c does not emit inline.  Each runs
 * the host's own instruction on the guest's XMM values in env (inline asm,
 * so NaN propagation, integer indefinite, rounding and flags are the CPU's),
 * or, for pure data movement with an immediate, a few lines of C.  The
 * operation set is the table in sse-ops.h; this file supplies one function
 * per row and the entry points the IR calls.
 *
 * Floating-point operations run under the guest's MXCSR, which the host
 * MXCSR already holds while guest code runs (cpu.h): the sticky flags they
 * raise stay in the host MXCSR like those of the inline operations.  An
 * exception the guest unmasked becomes a #XM at the instruction (the
 * lifter stores the pc before the call), with the destination untouched as
 * on the CPU.
 *
 * Invariant: nothing here computes floating point in C: the compiler could
 * commute operands (changing which NaN wins) or move the arithmetic outside
 * the window where the guest's MXCSR is loaded.
 */
#include <string.h>
#include <immintrin.h>
#include "exec/exec.h"
#include "guest/x86/cpu.h"
#include "guest/x86/mem.h"
#include "guest/x86/sse-ops.h"

typedef uint64_t sse_fn(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env);

/* Two 8-byte loads: generated code writes XMM registers as 64-bit halves,
 * and a 16-byte load of two fresh 8-byte stores cannot be store-forwarded
 * (a stall of a dozen cycles per helper). */
static inline __m128i ldx(const x86_xmm *p)
{
	return _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)&p->q[0]),
				  _mm_loadl_epi64((const __m128i *)&p->q[1]));
}

static inline void stx(x86_xmm *p, __m128i v)
{
	memcpy(p, &v, 16);
}

/* ---- rows implemented by one host instruction ---- */

/* op %src, %dst on full registers.  FP rows are volatile so they stay
 * between the ldmxcsr/stmxcsr of helper_sse_fp. */
#define DEF_IA(name)								\
static uint64_t sse_##name(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env) \
{										\
	__m128i a = ldx(d), b = ldx(s);						\
	asm(#name " %1, %0" : "+x"(a) : "x"(b));				\
	stx(d, a);								\
	return 0;								\
}
#define DEF_FA(name)								\
static uint64_t sse_##name(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env) \
{										\
	__m128i a = ldx(d), b = ldx(s);						\
	asm volatile(#name " %1, %0" : "+x"(a) : "x"(b));			\
	stx(d, a);								\
	return 0;								\
}
#define DEF_IC(name) static sse_fn sse_##name;
#define DEF_FC(name) static sse_fn sse_##name;
#define X(name, impl, feat, lift) DEF_##impl(name)
SSE_OPS(X)
#undef X

/* Cases 0..n-1 of a switch on an immediate, each running the instruction
 * with that immediate encoded ("i" prints it as $n). */
#define REP4(M, n) M(n) M((n) + 1) M((n) + 2) M((n) + 3)
#define REP16(M, n) REP4(M, n) REP4(M, (n) + 4) REP4(M, (n) + 8) REP4(M, (n) + 12)
#define REP64(M, n) REP16(M, n) REP16(M, (n) + 16) REP16(M, (n) + 32) REP16(M, (n) + 48)
#define REP256(M) REP64(M, 0) REP64(M, 64) REP64(M, 128) REP64(M, 192)

#define IMM_CASE(insn, n) \
	case (n): asm volatile(insn " %2, %1, %0" : "+x"(a) : "x"(b), "i"(n)); break;

/* ---- compares and flag-setting FP ---- */

#define CMP_CASE_PS(n) IMM_CASE("cmpps", n)
#define CMP_CASE_PD(n) IMM_CASE("cmppd", n)
#define CMP_CASE_SS(n) IMM_CASE("cmpss", n)
#define CMP_CASE_SD(n) IMM_CASE("cmpsd", n)

/* Legacy-SSE CMPxx uses imm8[2:0]; the rest is ignored. */
#define DEF_CMP(name, CASE)							\
static uint64_t sse_##name(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env) \
{										\
	__m128i a = ldx(d), b = ldx(s);						\
	switch (imm & 7) { REP4(CASE, 0) REP4(CASE, 4) }			\
	stx(d, a);								\
	return 0;								\
}
DEF_CMP(CMPPS, CMP_CASE_PS)
DEF_CMP(CMPPD, CMP_CASE_PD)
DEF_CMP(CMPSS, CMP_CASE_SS)
DEF_CMP(CMPSD, CMP_CASE_SD)

/* COMIS/UCOMIS: ZF PF CF from the compare, OF SF AF cleared. */
#define DEF_COMI(name, insn)							\
static uint64_t sse_##name(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env) \
{										\
	__m128i a = ldx(d), b = ldx(s);						\
	bool z, p, c;								\
	asm volatile(insn " %[b], %[a]"						\
		     : "=@ccz"(z), "=@ccp"(p), "=@ccc"(c) : [a] "x"(a), [b] "x"(b)); \
	return (z ? X86_ZF : 0) | (p ? X86_PF : 0) | (c ? X86_CF : 0);		\
}
DEF_COMI(COMISS, "comiss")
DEF_COMI(UCOMISS, "ucomiss")
DEF_COMI(COMISD, "comisd")
DEF_COMI(UCOMISD, "ucomisd")

/* ---- integer <-> FP conversions with a GPR side ---- */

/* CVTSI2Sx: the integer is staged in the source's low 32/64 bits. */
#define DEF_CVTSI2(name, insn, type)						\
static uint64_t sse_##name(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env) \
{										\
	__m128i a = ldx(d);							\
	type v;									\
	memcpy(&v, s, sizeof(v));						\
	asm volatile(insn " %1, %0" : "+x"(a) : "r"(v));			\
	stx(d, a);								\
	return 0;								\
}
DEF_CVTSI2(CVTSI2SS_L, "cvtsi2ssl", int32_t)
DEF_CVTSI2(CVTSI2SS_Q, "cvtsi2ssq", int64_t)
DEF_CVTSI2(CVTSI2SD_L, "cvtsi2sdl", int32_t)
DEF_CVTSI2(CVTSI2SD_Q, "cvtsi2sdq", int64_t)

/* CVT(T)Sx2SI: the result goes to a GPR, returned zero-extended. */
#define DEF_CVT2SI(name, insn, type, utype)					\
static uint64_t sse_##name(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env) \
{										\
	__m128i b = ldx(s);							\
	type v;									\
	asm volatile(insn " %1, %0" : "=r"(v) : "x"(b));			\
	return (utype)v;							\
}
DEF_CVT2SI(CVTSS2SI_L, "cvtss2si", int32_t, uint32_t)
DEF_CVT2SI(CVTSS2SI_Q, "cvtss2si", int64_t, uint64_t)
DEF_CVT2SI(CVTTSS2SI_L, "cvttss2si", int32_t, uint32_t)
DEF_CVT2SI(CVTTSS2SI_Q, "cvttss2si", int64_t, uint64_t)
DEF_CVT2SI(CVTSD2SI_L, "cvtsd2si", int32_t, uint32_t)
DEF_CVT2SI(CVTSD2SI_Q, "cvtsd2si", int64_t, uint64_t)
DEF_CVT2SI(CVTTSD2SI_L, "cvttsd2si", int32_t, uint32_t)
DEF_CVT2SI(CVTTSD2SI_Q, "cvttsd2si", int64_t, uint64_t)

/* ---- SSE4.1 FP with immediates ---- */

#define ROUND_CASE_PS(n) IMM_CASE("roundps", n)
#define ROUND_CASE_PD(n) IMM_CASE("roundpd", n)
#define ROUND_CASE_SS(n) IMM_CASE("roundss", n)
#define ROUND_CASE_SD(n) IMM_CASE("roundsd", n)
/* ROUNDxx uses imm8[3:0]. */
#define DEF_ROUND(name, CASE)							\
static uint64_t sse_##name(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env) \
{										\
	__m128i a = ldx(d), b = ldx(s);						\
	switch (imm & 15) { REP16(CASE, 0) }					\
	stx(d, a);								\
	return 0;								\
}
DEF_ROUND(ROUNDPS, ROUND_CASE_PS)
DEF_ROUND(ROUNDPD, ROUND_CASE_PD)
DEF_ROUND(ROUNDSS, ROUND_CASE_SS)
DEF_ROUND(ROUNDSD, ROUND_CASE_SD)

#define DPPS_CASE(n) IMM_CASE("dpps", n)
#define DPPD_CASE(n) IMM_CASE("dppd", n)
#define MPSADBW_CASE(n) IMM_CASE("mpsadbw", n)

static uint64_t sse_DPPS(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	__m128i a = ldx(d), b = ldx(s);
	switch (imm & 255) { REP256(DPPS_CASE) }
	stx(d, a);
	return 0;
}

static uint64_t sse_DPPD(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	__m128i a = ldx(d), b = ldx(s);
	switch (imm & 255) { REP256(DPPD_CASE) }
	stx(d, a);
	return 0;
}

/* MPSADBW uses imm8[2:0]. */
static uint64_t sse_MPSADBW(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	__m128i a = ldx(d), b = ldx(s);
	switch (imm & 7) { REP4(MPSADBW_CASE, 0) REP4(MPSADBW_CASE, 4) }
	stx(d, a);
	return 0;
}

/* ---- data movement with an immediate, in C ---- */

static uint64_t sse_PSHUFD(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	x86_xmm r;
	for (int i = 0; i < 4; i++)
		r.l[i] = s->l[(imm >> (2 * i)) & 3];
	*d = r;
	return 0;
}

static uint64_t sse_PSHUFLW(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	x86_xmm r = *s;
	for (int i = 0; i < 4; i++)
		r.w[i] = s->w[(imm >> (2 * i)) & 3];
	*d = r;
	return 0;
}

static uint64_t sse_PSHUFHW(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	x86_xmm r = *s;
	for (int i = 0; i < 4; i++)
		r.w[4 + i] = s->w[4 + ((imm >> (2 * i)) & 3)];
	*d = r;
	return 0;
}

/* SHUFPS: the low two dwords come from the destination, the high two from
 * the source. */
static uint64_t sse_SHUFPS(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	x86_xmm r;
	r.l[0] = d->l[imm & 3];
	r.l[1] = d->l[(imm >> 2) & 3];
	r.l[2] = s->l[(imm >> 4) & 3];
	r.l[3] = s->l[(imm >> 6) & 3];
	*d = r;
	return 0;
}

/* PALIGNR: bytes imm..imm+15 of dst:src (dst high); past 32 they are 0. */
static uint64_t sse_PALIGNR(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	uint8_t cat[48] = { 0 };
	unsigned n = imm & 255;
	memcpy(cat, s, 16);
	memcpy(cat + 16, d, 16);
	if (n > 32)
		n = 32;
	memcpy(d, cat + n, 16);
	return 0;
}

static uint64_t sse_PBLENDW(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	for (int i = 0; i < 8; i++)
		if (imm >> i & 1)
			d->w[i] = s->w[i];
	return 0;
}

static uint64_t sse_BLENDPS(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	for (int i = 0; i < 4; i++)
		if (imm >> i & 1)
			d->l[i] = s->l[i];
	return 0;
}

static uint64_t sse_BLENDPD(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	for (int i = 0; i < 2; i++)
		if (imm >> i & 1)
			d->q[i] = s->q[i];
	return 0;
}

/* The variable blends take their mask from the sign bits of xmm0. */
static uint64_t sse_PBLENDVB(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	x86_xmm m = env->xmm[0];
	for (int i = 0; i < 16; i++)
		if (m.b[i] & 0x80)
			d->b[i] = s->b[i];
	return 0;
}

static uint64_t sse_BLENDVPS(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	x86_xmm m = env->xmm[0];
	for (int i = 0; i < 4; i++)
		if (m.l[i] >> 31)
			d->l[i] = s->l[i];
	return 0;
}

static uint64_t sse_BLENDVPD(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	x86_xmm m = env->xmm[0];
	for (int i = 0; i < 2; i++)
		if (m.q[i] >> 63)
			d->q[i] = s->q[i];
	return 0;
}

/* INSERTPS: imm[7:6] source dword, imm[5:4] destination dword, imm[3:0]
 * dwords to zero.  The lifter clears imm[7:6] for an m32 source. */
static uint64_t sse_INSERTPS(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	uint32_t v = s->l[(imm >> 6) & 3];
	d->l[(imm >> 4) & 3] = v;
	for (int i = 0; i < 4; i++)
		if (imm >> i & 1)
			d->l[i] = 0;
	return 0;
}

/* PTEST: ZF = (dst & src) == 0, CF = (~dst & src) == 0, others clear. */
static uint64_t sse_PTEST(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	uint64_t and = (d->q[0] & s->q[0]) | (d->q[1] & s->q[1]);
	uint64_t andn = (~d->q[0] & s->q[0]) | (~d->q[1] & s->q[1]);
	return (and ? 0 : X86_ZF) | (andn ? 0 : X86_CF);
}

/* ---- SSE4.2 ---- */

/* CRC32: the old CRC comes in imm, the data in the source's low bytes.
 * The result is 32 bits whatever the destination size. */
#define DEF_CRC32(name, insn, type, ctype)					\
static uint64_t sse_##name(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env) \
{										\
	ctype crc = (uint32_t)imm;						\
	type v;									\
	memcpy(&v, s, sizeof(v));						\
	asm(insn " %1, %0" : "+r"(crc) : "r"(v));				\
	return (uint32_t)crc;							\
}
DEF_CRC32(CRC32_B, "crc32b", uint8_t, uint32_t)
DEF_CRC32(CRC32_W, "crc32w", uint16_t, uint32_t)
DEF_CRC32(CRC32_L, "crc32l", uint32_t, uint32_t)
DEF_CRC32(CRC32_Q, "crc32q", uint64_t, uint64_t)

/* PCMPxSTRx: imm8 is fully significant, so every value gets its case.
 * The explicit-length forms take lengths already made |len| saturated to
 * the element count by helper_sse_pcmpstr, which give the same result as
 * the guest's 32- or 64-bit registers.  Result: ECX | flags << 32 for the
 * index forms; the mask forms write xmm0 and return flags << 32. */
#define STR_FLAGS(c, z, sg, o) \
	((uint64_t)((c ? X86_CF : 0) | (z ? X86_ZF : 0) | (sg ? X86_SF : 0) | (o ? X86_OF : 0)) << 32)

#define ISTRI_CASE(n) case (n): asm("pcmpistri %[i], %[b], %[a]"		\
	: "=c"(idx), "=@ccc"(c), "=@ccz"(z), "=@ccs"(sg), "=@cco"(o)		\
	: [a] "x"(a), [b] "x"(b), [i] "i"(n)); break;
#define ESTRI_CASE(n) case (n): asm("pcmpestri %[i], %[b], %[a]"		\
	: "=c"(idx), "=@ccc"(c), "=@ccz"(z), "=@ccs"(sg), "=@cco"(o)		\
	: [a] "x"(a), [b] "x"(b), [i] "i"(n), "a"(la), "d"(lb)); break;
#define ISTRM_CASE(n) case (n): asm("pcmpistrm %[i], %[b], %[a]"		\
	: "=Yz"(m), "=@ccc"(c), "=@ccz"(z), "=@ccs"(sg), "=@cco"(o)		\
	: [a] "x"(a), [b] "x"(b), [i] "i"(n)); break;
#define ESTRM_CASE(n) case (n): asm("pcmpestrm %[i], %[b], %[a]"		\
	: "=Yz"(m), "=@ccc"(c), "=@ccz"(z), "=@ccs"(sg), "=@cco"(o)		\
	: [a] "x"(a), [b] "x"(b), [i] "i"(n), "a"(la), "d"(lb)); break;

static int64_t str_len(struct cpu *env, int reg, uint64_t imm)
{
	uint64_t r = env->regs[reg];
	int64_t v = imm & SSE_STR_WIDE ? (int64_t)r : (int32_t)r;
	int64_t max = imm & 1 ? 8 : 16;
	if (v < -max || v > max)
		return max;
	return v < 0 ? -v : v;
}

static uint64_t sse_PCMPISTRI(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	__m128i a = ldx(d), b = ldx(s);
	uint32_t idx;
	bool c, z, sg, o;
	switch (imm & 255) { REP256(ISTRI_CASE) }
	return idx | STR_FLAGS(c, z, sg, o);
}

static uint64_t sse_PCMPESTRI(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	__m128i a = ldx(d), b = ldx(s);
	uint32_t idx;
	int32_t la = str_len(env, R_RAX, imm), lb = str_len(env, R_RDX, imm);
	bool c, z, sg, o;
	switch (imm & 255) { REP256(ESTRI_CASE) }
	return idx | STR_FLAGS(c, z, sg, o);
}

static uint64_t sse_PCMPISTRM(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	__m128i a = ldx(d), b = ldx(s), m;
	bool c, z, sg, o;
	switch (imm & 255) { REP256(ISTRM_CASE) }
	stx(&env->xmm[0], m);
	return STR_FLAGS(c, z, sg, o);
}

static uint64_t sse_PCMPESTRM(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	__m128i a = ldx(d), b = ldx(s), m;
	int32_t la = str_len(env, R_RAX, imm), lb = str_len(env, R_RDX, imm);
	bool c, z, sg, o;
	switch (imm & 255) { REP256(ESTRM_CASE) }
	stx(&env->xmm[0], m);
	return STR_FLAGS(c, z, sg, o);
}

/* ---- AES-NI, PCLMULQDQ, SHA with an immediate or xmm0 ---- */

#define KEYGEN_CASE(n) IMM_CASE("aeskeygenassist", n)
static uint64_t sse_AESKEYGENASSIST(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	__m128i a = ldx(d), b = ldx(s);
	switch (imm & 255) { REP256(KEYGEN_CASE) }
	stx(d, a);
	return 0;
}

/* Only imm bits 0 and 4 select the qwords. */
static uint64_t sse_PCLMULQDQ(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	__m128i a = ldx(d), b = ldx(s);
	switch (imm & 0x11) {
	IMM_CASE("pclmulqdq", 0x00) IMM_CASE("pclmulqdq", 0x01)
	IMM_CASE("pclmulqdq", 0x10) IMM_CASE("pclmulqdq", 0x11)
	}
	stx(d, a);
	return 0;
}

#define SHA1RNDS4_CASE(n) IMM_CASE("sha1rnds4", n)
static uint64_t sse_SHA1RNDS4(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	__m128i a = ldx(d), b = ldx(s);
	switch (imm & 3) { REP4(SHA1RNDS4_CASE, 0) }
	stx(d, a);
	return 0;
}

/* The round keys are the implicit xmm0. */
static uint64_t sse_SHA256RNDS2(x86_xmm *d, const x86_xmm *s, uint64_t imm, struct cpu *env)
{
	__m128i a = ldx(d), b = ldx(s), k = ldx(&env->xmm[0]);
	asm("sha256rnds2 %2, %1, %0" : "+x"(a) : "x"(b), "Yz"(k));
	stx(d, a);
	return 0;
}

/* ---- the table and the entry points ---- */

static sse_fn *const sse_fns[SSE_NB_OPS] = {
#define X(name, impl, feat, lift) [SSE_##name] = sse_##name,
	SSE_OPS(X)
#undef X
};

static inline x86_xmm *xmm_at(uint64_t env, uint64_t off)
{
	return (x86_xmm *)(uintptr_t)(env + off);
}

/* Run fp row op under the guest's MXCSR, which the host MXCSR holds (cpu.h):
 * with every exception masked it simply runs, its flags accumulating in the
 * host MXCSR.  Otherwise it runs masked with clear flags to see what it
 * raises, then decides as the CPU would: an unmasked exception raises
 * #XM with the destination untouched.  Shared with avx-helpers.c.
 *
 * Underflow is the one the masked run can miss: masked, it is a tiny
 * result that is also inexact; unmasked, any tiny result, exact ones too.
 * So with underflow unmasked and not raised, the operation runs once more
 * on the same inputs with flush-to-zero, which turns any tiny result into
 * an inexact zero and so raises UE. */
uint64_t sse_run_fp(struct cpu *env, uint64_t (*run)(void *), void *arg, void *dst, size_t size)
{
	uint32_t g = env->mxcsr;
	if ((g & MXCSR_MASKS) == MXCSR_MASKS)
		return run(arg);
	uint32_t host = host_csr();
	uint8_t before[32], after[32];
	memcpy(before, dst, size);
	load_csr((host | MXCSR_MASKS) & ~MXCSR_FLAGS);
	uint64_t ret = run(arg);
	uint32_t raised = host_csr() & MXCSR_FLAGS;
	if (!(g & 0x0800) && !(raised & 0x10)) {
		memcpy(after, dst, size);
		memcpy(dst, before, size);
		load_csr((host | MXCSR_MASKS | MXCSR_FTZ) & ~MXCSR_FLAGS);
		run(arg);
		raised |= host_csr() & 0x10;
		memcpy(dst, after, size);
	}
	uint32_t unmasked = raised & ~(g >> 7);
	if (unmasked) {
		/* IE, DE and ZE are detected before computing: when one of
		 * them traps, no result flags are raised */
		if (unmasked & 0x07)
			raised &= 0x07;
		x86_mxcsr_write(env, (g | host | raised) & MXCSR_VALID);
		x86_raise(env, X86_EXC_XM);
	}
	load_csr(host | raised);
	return ret;
}

struct sse_call {
	enum sse_op op;
	x86_xmm *d;
	const x86_xmm *s;
	uint64_t imm;
	struct cpu *env;
};

static uint64_t sse_call_run(void *p)
{
	struct sse_call *c = p;
	return sse_fns[c->op](c->d, c->s, c->imm, c->env);
}

uint64_t helper_sse_fp(uint64_t envp, uint64_t op, uint64_t dst, uint64_t src, uint64_t imm)
{
	struct cpu *env = (struct cpu *)(uintptr_t)envp;
	x86_xmm *d = xmm_at(envp, dst), r = *d;
	struct sse_call c = { op, &r, xmm_at(envp, src), imm, env };
	uint64_t ret = sse_run_fp(env, sse_call_run, &c, &r, sizeof(r));
	*d = r;
	return ret;
}

uint64_t helper_sse_op(uint64_t env, uint64_t op, uint64_t dst, uint64_t src, uint64_t imm)
{
	return sse_fns[op](xmm_at(env, dst), xmm_at(env, src), imm, (struct cpu *)(uintptr_t)env);
}

uint64_t helper_sse_pcmpstr(uint64_t env, uint64_t op, uint64_t dst, uint64_t src, uint64_t imm)
{
	return helper_sse_op(env, op, dst, src, imm);
}

/* MASKMOVDQU xmm1, xmm2: the bytes of xmm1 (src) whose byte in xmm2 (mask)
 * has its top bit set are stored at addr (the guest's rdi).  Byte stores: a
 * fault leaves the earlier bytes written. */
void helper_sse_maskmov(uint64_t env, uint64_t src, uint64_t mask, uint64_t addr)
{
	/* The host's own maskmovdqu at the guest's address: which bytes it
	 * touches and where it faults (an Intel host reports the start of an
	 * 8-byte half that has selected bytes, the upper half first) are the
	 * CPU's (it reaches the upper half even when no byte there is
	 * selected). */
	const x86_xmm *v = xmm_at(env, src), *m = xmm_at(env, mask);
	if (tlb_softmmu) {
		/* whole-system mode: byte by byte through the soft MMU */
		for (int i = 0; i < 16; i++)
			if (m->b[i] & 0x80)
				x86_stb((struct cpu *)(uintptr_t)env, addr + i, v->b[i]);
		return;
	}
	asm volatile("movdqu %1, %%xmm0\n\tmovdqu %2, %%xmm1\n\tmaskmovdqu %%xmm1, %%xmm0"
		     : : "D"(addr), "m"(*v), "m"(*m) : "xmm0", "xmm1", "memory");
}

/* MASKMOVQ, as helper_sse_maskmov does MASKMOVDQU: the host's own, on
 * MMX registers it empties again (after a fault the host's x87 state is
 * the one the kernel gave the signal handler); byte by byte through the
 * soft MMU in whole-system mode. */
void helper_mmx_maskmov(uint64_t env, uint64_t data, uint64_t mask, uint64_t addr)
{
	if (tlb_softmmu) {
		for (int i = 0; i < 8; i++)
			if (mask >> (8 * i + 7) & 1)
				x86_stb((struct cpu *)(uintptr_t)env, addr + i, data >> (8 * i));
		return;
	}
	asm volatile("movq %1, %%mm0\n\tmovq %2, %%mm1\n\tmaskmovq %%mm1, %%mm0\n\temms"
		     : : "D"(addr), "m"(data), "m"(mask) : "mm0", "mm1", "memory");
}

/* ---- host features ---- */

static bool feat_ok[SSE_FEAT_NB];

__attribute__((constructor)) static void sse_probe_host(void)
{
	__builtin_cpu_init();
	feat_ok[SSE_FEAT_SSE] = true;
	feat_ok[SSE_FEAT_SSE2] = true;
	feat_ok[SSE_FEAT_SSE3] = __builtin_cpu_supports("sse3");
	feat_ok[SSE_FEAT_SSSE3] = __builtin_cpu_supports("ssse3");
	feat_ok[SSE_FEAT_SSE41] = __builtin_cpu_supports("sse4.1");
	feat_ok[SSE_FEAT_SSE42] = __builtin_cpu_supports("sse4.2");
	feat_ok[SSE_FEAT_AES] = __builtin_cpu_supports("aes");
	feat_ok[SSE_FEAT_PCLMUL] = __builtin_cpu_supports("pclmul");
	uint32_t a, b, c, d;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	if (a >= 7) {
		__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
		feat_ok[SSE_FEAT_SHA] = b >> 29 & 1;
	}
}

bool sse_host_has(enum sse_op op)
{
	return feat_ok[sse_op_feat[op]];
}
