/*
 * The table of SSE operations that run in a helper: one row per operation,
 * shared by the lifter (lift-sse.c), the helpers (sse-helpers.c) and their
 * unit test.  Everything about an operation is derived from its row: the
 * SSE_<NAME> id passed to the helper, how the helper implements it, which
 * host feature it needs and, for the plain `op xmm, xmm/mem[, imm8]` forms,
 * the lifter itself (gen_<NAME>, registered under ZYDIS_MNEMONIC_<NAME>).
 *
 *   X(NAME, impl, feature, lift)
 *
 * impl:  IA  integer: the host instruction NAME %src,%dst (asm, no MXCSR)
 *        IC  integer: hand-written sse_<NAME>() in sse-helpers.c
 *        FA  floating point: host instruction NAME %src,%dst under the
 *            guest's MXCSR (rounding, FTZ/DAZ, sticky flags, #XM)
 *        FC  floating point: hand-written sse_<NAME>(), under guest MXCSR
 * feature: the CPUID feature the host needs to run it (SSE and SSE2 are
 *        baseline x86-64)
 * lift:  A   auto lifter, a 128-bit memory operand must be 16-byte aligned
 *        U   auto lifter, no alignment requirement
 *        N   no auto lifter: lift-sse.c has a hand-written gen_ for it
 *
 * The auto lifter loads a memory source with exactly the size Zydis gives
 * for the operand (m128, m64, m32, m16), stages it in cpu->xtmp and passes
 * env offsets of destination and source; an imm8 operand becomes `imm`.
 *
 * Rows the IR has as vector or FP ops (vop_of_sse, fop_of_sse in
 * lift-sse.c) run inline; the other
 * IA/IC rows run through helper_sse_op (row sse_op of X86_HELPERS: no
 * globals, cannot fault); FA/FC rows through helper_sse_fp (may raise
 * #XM, so the lifter stores the pc first); the PCMPxSTRx rows, which
 * read rax/rdx, through helper_sse_pcmpstr.  The lifter picks the helper
 * with sse_op_is_fp(), never from a list of its own.
 */
#ifndef LOOM_GUEST_X86_SSE_OPS_H
#define LOOM_GUEST_X86_SSE_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSE_OPS(X) \
	/* SSE2 integer arithmetic */ \
	X(PADDB,      IA, SSE2,  A) X(PADDW,      IA, SSE2,  A) X(PADDD,      IA, SSE2,  A) \
	X(PSUBB,      IA, SSE2,  A) X(PSUBW,      IA, SSE2,  A) X(PSUBD,      IA, SSE2,  A) \
	X(PADDUSB,    IA, SSE2,  A) X(PADDUSW,    IA, SSE2,  A) \
	X(PSUBUSB,    IA, SSE2,  A) X(PSUBUSW,    IA, SSE2,  A) \
	X(PADDSB,     IA, SSE2,  A) X(PADDSW,     IA, SSE2,  A) \
	X(PSUBSB,     IA, SSE2,  A) X(PSUBSW,     IA, SSE2,  A) \
	X(PMULLW,     IA, SSE2,  A) X(PMULHW,     IA, SSE2,  A) X(PMULHUW,    IA, SSE2,  A) \
	X(PMULUDQ,    IA, SSE2,  A) X(PMADDWD,    IA, SSE2,  A) X(PSADBW,     IA, SSE2,  A) \
	X(PAVGB,      IA, SSE2,  A) X(PAVGW,      IA, SSE2,  A) \
	X(PMINUB,     IA, SSE2,  A) X(PMAXUB,     IA, SSE2,  A) \
	X(PMINSW,     IA, SSE2,  A) X(PMAXSW,     IA, SSE2,  A) \
	X(PCMPEQB,    IA, SSE2,  N) X(PCMPEQW,    IA, SSE2,  N) X(PCMPEQD,    IA, SSE2,  N) \
	X(PCMPGTB,    IA, SSE2,  A) X(PCMPGTW,    IA, SSE2,  A) X(PCMPGTD,    IA, SSE2,  A) \
	/* shifts by an xmm/m128 count; the imm8 forms stage the count */ \
	X(PSLLW,      IA, SSE2,  N) X(PSLLD,      IA, SSE2,  N) X(PSLLQ,      IA, SSE2,  N) \
	X(PSRLW,      IA, SSE2,  N) X(PSRLD,      IA, SSE2,  N) X(PSRLQ,      IA, SSE2,  N) \
	X(PSRAW,      IA, SSE2,  N) X(PSRAD,      IA, SSE2,  N) \
	/* unpack and pack */ \
	X(PUNPCKLBW,  IA, SSE2,  A) X(PUNPCKLWD,  IA, SSE2,  A) X(PUNPCKLDQ,  IA, SSE2,  A) \
	X(PUNPCKHBW,  IA, SSE2,  A) X(PUNPCKHWD,  IA, SSE2,  A) X(PUNPCKHDQ,  IA, SSE2,  A) \
	X(PACKSSWB,   IA, SSE2,  A) X(PACKSSDW,   IA, SSE2,  A) X(PACKUSWB,   IA, SSE2,  A) \
	X(UNPCKLPS,   IA, SSE,   A) X(UNPCKHPS,   IA, SSE,   A) \
	/* SSE/SSE2 floating point */ \
	X(ADDPS,      FA, SSE,   A) X(ADDSS,      FA, SSE,   A) \
	X(ADDPD,      FA, SSE2,  A) X(ADDSD,      FA, SSE2,  A) \
	X(SUBPS,      FA, SSE,   A) X(SUBSS,      FA, SSE,   A) \
	X(SUBPD,      FA, SSE2,  A) X(SUBSD,      FA, SSE2,  A) \
	X(MULPS,      FA, SSE,   A) X(MULSS,      FA, SSE,   A) \
	X(MULPD,      FA, SSE2,  A) X(MULSD,      FA, SSE2,  A) \
	X(DIVPS,      FA, SSE,   A) X(DIVSS,      FA, SSE,   A) \
	X(DIVPD,      FA, SSE2,  A) X(DIVSD,      FA, SSE2,  A) \
	X(MINPS,      FA, SSE,   A) X(MINSS,      FA, SSE,   A) \
	X(MINPD,      FA, SSE2,  A) X(MINSD,      FA, SSE2,  A) \
	X(MAXPS,      FA, SSE,   A) X(MAXSS,      FA, SSE,   A) \
	X(MAXPD,      FA, SSE2,  A) X(MAXSD,      FA, SSE2,  A) \
	X(SQRTPS,     FA, SSE,   A) X(SQRTSS,     FA, SSE,   A) \
	X(SQRTPD,     FA, SSE2,  A) X(SQRTSD,     FA, SSE2,  A) \
	X(RCPPS,      FA, SSE,   A) X(RCPSS,      FA, SSE,   A) \
	X(RSQRTPS,    FA, SSE,   A) X(RSQRTSS,    FA, SSE,   A) \
	X(CMPPS,      FC, SSE,   A) X(CMPSS,      FC, SSE,   A) \
	X(CMPPD,      FC, SSE2,  A) X(CMPSD,      FC, SSE2,  N) \
	X(COMISS,     FC, SSE,   N) X(UCOMISS,    FC, SSE,   N) \
	X(COMISD,     FC, SSE2,  N) X(UCOMISD,    FC, SSE2,  N) \
	/* conversions */ \
	X(CVTDQ2PS,   FA, SSE2,  A) X(CVTPS2DQ,   FA, SSE2,  A) X(CVTTPS2DQ,  FA, SSE2,  A) \
	X(CVTDQ2PD,   FA, SSE2,  A) X(CVTPD2DQ,   FA, SSE2,  A) X(CVTTPD2DQ,  FA, SSE2,  A) \
	X(CVTPS2PD,   FA, SSE2,  A) X(CVTPD2PS,   FA, SSE2,  A) \
	X(CVTSS2SD,   FA, SSE2,  A) X(CVTSD2SS,   FA, SSE2,  A) \
	X(CVTSI2SS_L, FC, SSE,   N) X(CVTSI2SS_Q, FC, SSE,   N) \
	X(CVTSI2SD_L, FC, SSE2,  N) X(CVTSI2SD_Q, FC, SSE2,  N) \
	X(CVTSS2SI_L, FC, SSE,   N) X(CVTSS2SI_Q, FC, SSE,   N) \
	X(CVTTSS2SI_L, FC, SSE,  N) X(CVTTSS2SI_Q, FC, SSE,  N) \
	X(CVTSD2SI_L, FC, SSE2,  N) X(CVTSD2SI_Q, FC, SSE2,  N) \
	X(CVTTSD2SI_L, FC, SSE2, N) X(CVTTSD2SI_Q, FC, SSE2, N) \
	/* SSE3 */ \
	X(ADDSUBPS,   FA, SSE3,  A) X(ADDSUBPD,   FA, SSE3,  A) \
	X(HADDPS,     FA, SSE3,  A) X(HADDPD,     FA, SSE3,  A) \
	X(HSUBPS,     FA, SSE3,  A) X(HSUBPD,     FA, SSE3,  A) \
	X(MOVSLDUP,   IA, SSE3,  A) X(MOVSHDUP,   IA, SSE3,  A) \
	/* SSSE3 */ \
	X(PSHUFB,     IA, SSSE3, A) X(PALIGNR,    IC, SSSE3, A) \
	X(PHADDW,     IA, SSSE3, A) X(PHADDD,     IA, SSSE3, A) X(PHADDSW,    IA, SSSE3, A) \
	X(PHSUBW,     IA, SSSE3, A) X(PHSUBD,     IA, SSSE3, A) X(PHSUBSW,    IA, SSSE3, A) \
	X(PMADDUBSW,  IA, SSSE3, A) X(PMULHRSW,   IA, SSSE3, A) \
	X(PSIGNB,     IA, SSSE3, A) X(PSIGNW,     IA, SSSE3, A) X(PSIGND,     IA, SSSE3, A) \
	X(PABSB,      IA, SSSE3, A) X(PABSW,      IA, SSSE3, A) X(PABSD,      IA, SSSE3, A) \
	/* SSE4.1 */ \
	X(PMINSB,     IA, SSE41, A) X(PMINSD,     IA, SSE41, A) \
	X(PMINUW,     IA, SSE41, A) X(PMINUD,     IA, SSE41, A) \
	X(PMAXSB,     IA, SSE41, A) X(PMAXSD,     IA, SSE41, A) \
	X(PMAXUW,     IA, SSE41, A) X(PMAXUD,     IA, SSE41, A) \
	X(PMULLD,     IA, SSE41, A) X(PMULDQ,     IA, SSE41, A) \
	X(PCMPEQQ,    IA, SSE41, A) X(PACKUSDW,   IA, SSE41, A) X(PHMINPOSUW, IA, SSE41, A) \
	X(PMOVSXBW,   IA, SSE41, A) X(PMOVSXBD,   IA, SSE41, A) X(PMOVSXBQ,   IA, SSE41, A) \
	X(PMOVSXWD,   IA, SSE41, A) X(PMOVSXWQ,   IA, SSE41, A) X(PMOVSXDQ,   IA, SSE41, A) \
	X(PMOVZXBW,   IA, SSE41, A) X(PMOVZXBD,   IA, SSE41, A) X(PMOVZXBQ,   IA, SSE41, A) \
	X(PMOVZXWD,   IA, SSE41, A) X(PMOVZXWQ,   IA, SSE41, A) X(PMOVZXDQ,   IA, SSE41, A) \
	X(PBLENDVB,   IC, SSE41, A) X(BLENDVPS,   IC, SSE41, A) X(BLENDVPD,   IC, SSE41, A) \
	X(PBLENDW,    IC, SSE41, A) X(BLENDPS,    IC, SSE41, A) X(BLENDPD,    IC, SSE41, A) \
	X(INSERTPS,   IC, SSE41, N) X(MPSADBW,    IC, SSE41, A) X(PTEST,      IC, SSE41, N) \
	X(ROUNDPS,    FC, SSE41, A) X(ROUNDPD,    FC, SSE41, A) \
	X(ROUNDSS,    FC, SSE41, A) X(ROUNDSD,    FC, SSE41, A) \
	X(DPPS,       FC, SSE41, A) X(DPPD,       FC, SSE41, A) \
	/* SSE4.2 */ \
	X(PCMPGTQ,    IA, SSE42, A) \
	X(PCMPISTRI,  IC, SSE42, N) X(PCMPISTRM,  IC, SSE42, N) \
	X(PCMPESTRI,  IC, SSE42, N) X(PCMPESTRM,  IC, SSE42, N) \
	X(CRC32_B,    IC, SSE42, N) X(CRC32_W,    IC, SSE42, N) \
	X(CRC32_L,    IC, SSE42, N) X(CRC32_Q,    IC, SSE42, N) \
	/* data movement the lifter leaves to a helper */ \
	X(PSHUFD,     IC, SSE2,  A) X(PSHUFLW,    IC, SSE2,  A) X(PSHUFHW,    IC, SSE2,  A) \
	X(SHUFPS,     IC, SSE,   A) \
	/* AES-NI, PCLMULQDQ, SHA (CPUID reports them when the host has them) */ \
	X(AESENC,     IA, AES,   A) X(AESENCLAST, IA, AES,   A) \
	X(AESDEC,     IA, AES,   A) X(AESDECLAST, IA, AES,   A) \
	X(AESIMC,     IA, AES,   A) X(AESKEYGENASSIST, IC, AES, A) \
	X(PCLMULQDQ,  IC, PCLMUL, A) \
	X(SHA1NEXTE,  IA, SHA,   A) X(SHA1MSG1,   IA, SHA,   A) X(SHA1MSG2,   IA, SHA,   A) \
	X(SHA256MSG1, IA, SHA,   A) X(SHA256MSG2, IA, SHA,   A) \
	X(SHA1RNDS4,  IC, SHA,   A) X(SHA256RNDS2, IC, SHA,  A)

enum sse_op {
#define X(name, impl, feat, lift) SSE_##name,
	SSE_OPS(X)
#undef X
	SSE_NB_OPS
};

enum sse_impl { SSE_IMPL_IA, SSE_IMPL_IC, SSE_IMPL_FA, SSE_IMPL_FC };
enum sse_feat { SSE_FEAT_SSE, SSE_FEAT_SSE2, SSE_FEAT_SSE3, SSE_FEAT_SSSE3,
		SSE_FEAT_SSE41, SSE_FEAT_SSE42, SSE_FEAT_AES, SSE_FEAT_PCLMUL, SSE_FEAT_SHA,
		SSE_FEAT_NB };

static const uint8_t sse_op_impl[SSE_NB_OPS] = {
#define X(name, impl, feat, lift) [SSE_##name] = SSE_IMPL_##impl,
	SSE_OPS(X)
#undef X
};

static const uint8_t sse_op_feat[SSE_NB_OPS] = {
#define X(name, impl, feat, lift) [SSE_##name] = SSE_FEAT_##feat,
	SSE_OPS(X)
#undef X
};

static inline bool sse_op_is_fp(enum sse_op op)
{
	return sse_op_impl[op] >= SSE_IMPL_FA;
}

/* MXCSR bits */
#define MXCSR_FLAGS 0x003f	/* IE DE ZE OE UE PE, sticky */
#define MXCSR_DAZ 0x0040
#define MXCSR_MASKS 0x1f80	/* IM DM ZM OM UM PM */
#define MXCSR_RC 0x6000
#define MXCSR_FTZ 0x8000
#define MXCSR_DEFAULT 0x1f80
#define MXCSR_VALID 0xffff	/* other bits set by ldmxcsr raise #GP */

/* The host's MXCSR (the guest's, while it runs: cpu.h). */
static inline uint32_t host_csr(void)
{
	uint32_t v;
	asm volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static inline void load_csr(uint32_t v)
{
	asm volatile("ldmxcsr %0" : : "m"(v));
}

/* PCMPxSTRx results pack the index (ECX) in bits 0-31 and RFLAGS (CF ZF SF
 * OF) in bits 32-63; imm bit 8 selects rax/rdx (REX.W) as lengths. */
#define SSE_STR_WIDE 0x100

/* Run run(arg), a floating-point operation, under the guest's MXCSR as the
 * CPU would: #XM (x86_raise at env->rip) if it raises an exception the
 * guest unmasked, before anything is written (sse-helpers.c).  run writes
 * its result to the size bytes at dst (the caller's copy), which it may
 * also read. */
struct cpu;
uint64_t sse_run_fp(struct cpu *env, uint64_t (*run)(void *), void *arg, void *dst, size_t size);

/* Whether the host can run op (CPUID, checked once). */
bool sse_host_has(enum sse_op op);

/* The helpers (rows sse_op, sse_fp, sse_pcmpstr, sse_maskmov of
 * X86_HELPERS, declared in helpers.h).  env is the struct cpu; dst and src
 * are offsets from it of XMM-sized slots; imm is the instruction's imm8 or a
 * row-specific value (CRC32: the old CRC).  They return the row's result
 * (flags, a GPR value) or 0.  helper_sse_maskmov(env, src, mask, addr)
 * stores the bytes of xmm src selected by xmm mask at addr. */
#include "guest/x86/helpers.h"

#endif
