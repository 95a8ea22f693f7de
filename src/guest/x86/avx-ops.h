/*
 * The table of AVX, AVX2, FMA and F16C operations that run in a helper
 * (avx-helpers.c), shared with the lifter (lift-avx.c).  One row per
 * VEX mnemonic; the row gives the operand shape, which both the lifter's
 * generic form and the helper's host instruction follow, and whether the
 * operation is floating point (runs under the guest's MXCSR, may raise
 * #XM, so the lifter stores the pc first).
 *
 *   X(NAME, shape, fp, width)
 *
 * The lifter passes register numbers: d the destination (operand 0), a, b,
 * c the following vector operands in Zydis order (for the usual
 * `op dst, src1(vvvv), src2(r/m)` form a = src1 and b = src2).  Number 16
 * is cpu->ytmp, which holds a memory operand loaded with exactly its size,
 * or a GPR operand, or receives a result bound for memory.  The helper
 * runs the host's register form of the instruction: for every form below
 * the register form computes from the low bytes of a register what the
 * memory form computes from the memory operand.  L: the 256-bit form;
 * width: B both forms exist, X only the 128-bit (scalars), Y only 256.
 *
 * shape   host instruction (AT&T, L=1; with L=0 every register is xmm)
 *   V3    NAME b, a, d
 *   V3I   NAME $imm, b, a, d
 *   V2    NAME a, d
 *   V2I   NAME $imm, a, d
 *   V2X   NAME xmm(a), d             source is xmm whatever L
 *   V2N   NAME a, xmm(d)             destination is xmm whatever L
 *   V2NI  NAME $imm, a, xmm(d)
 *   V4    NAME c, b, a, d            the blendv forms (c: the is4 register)
 *   F3    NAME b, a, d               FMA: d is also a source
 *   SH    NAME xmm(b), a, d  or  NAME $imm, a, d   shifts, count xmm or imm
 *   PI    NAME b, a, d       or  NAME $imm, a, d   vpermil, vector or imm
 *   INS   NAME $imm, xmm(b), a, d    128-bit insert
 *   TST   NAME a, d                  flags only (ZF, CF); d not written
 *   COMI  NAME a, d                  flags only (ZF, PF, CF), scalar
 *   MSK   NAME a, r32                sign-bit mask to a GPR
 *   C2SI  NAME xmm(a), r32/r64       imm bit 0: 64-bit result
 *   CSI   NAME r32/r64, a, d         the integer staged in b; imm bit 0: 64-bit
 */
#ifndef LOOM_GUEST_X86_AVX_OPS_H
#define LOOM_GUEST_X86_AVX_OPS_H

#include <stdbool.h>
#include <stdint.h>

#define AVX_OPS(X) \
	/* integer arithmetic, compares, pack/unpack, logic */ \
	X(VPADDB, V3, 0, B) X(VPADDW, V3, 0, B) X(VPADDD, V3, 0, B) X(VPADDQ, V3, 0, B) \
	X(VPSUBB, V3, 0, B) X(VPSUBW, V3, 0, B) X(VPSUBD, V3, 0, B) X(VPSUBQ, V3, 0, B) \
	X(VPADDUSB, V3, 0, B) X(VPADDUSW, V3, 0, B) X(VPSUBUSB, V3, 0, B) X(VPSUBUSW, V3, 0, B) \
	X(VPADDSB, V3, 0, B) X(VPADDSW, V3, 0, B) X(VPSUBSB, V3, 0, B) X(VPSUBSW, V3, 0, B) \
	X(VPMULLW, V3, 0, B) X(VPMULHW, V3, 0, B) X(VPMULHUW, V3, 0, B) X(VPMULUDQ, V3, 0, B) \
	X(VPMADDWD, V3, 0, B) X(VPSADBW, V3, 0, B) X(VPAVGB, V3, 0, B) X(VPAVGW, V3, 0, B) \
	X(VPMINUB, V3, 0, B) X(VPMAXUB, V3, 0, B) X(VPMINSW, V3, 0, B) X(VPMAXSW, V3, 0, B) \
	X(VPCMPEQB, V3, 0, B) X(VPCMPEQW, V3, 0, B) X(VPCMPEQD, V3, 0, B) X(VPCMPEQQ, V3, 0, B) \
	X(VPCMPGTB, V3, 0, B) X(VPCMPGTW, V3, 0, B) X(VPCMPGTD, V3, 0, B) X(VPCMPGTQ, V3, 0, B) \
	X(VPUNPCKLBW, V3, 0, B) X(VPUNPCKLWD, V3, 0, B) X(VPUNPCKLDQ, V3, 0, B) X(VPUNPCKLQDQ, V3, 0, B) \
	X(VPUNPCKHBW, V3, 0, B) X(VPUNPCKHWD, V3, 0, B) X(VPUNPCKHDQ, V3, 0, B) X(VPUNPCKHQDQ, V3, 0, B) \
	X(VPACKSSWB, V3, 0, B) X(VPACKSSDW, V3, 0, B) X(VPACKUSWB, V3, 0, B) X(VPACKUSDW, V3, 0, B) \
	X(VUNPCKLPS, V3, 0, B) X(VUNPCKHPS, V3, 0, B) X(VUNPCKLPD, V3, 0, B) X(VUNPCKHPD, V3, 0, B) \
	X(VPAND, V3, 0, B) X(VPANDN, V3, 0, B) X(VPOR, V3, 0, B) X(VPXOR, V3, 0, B) \
	X(VANDPS, V3, 0, B) X(VANDPD, V3, 0, B) X(VANDNPS, V3, 0, B) X(VANDNPD, V3, 0, B) \
	X(VORPS, V3, 0, B) X(VORPD, V3, 0, B) X(VXORPS, V3, 0, B) X(VXORPD, V3, 0, B) \
	X(VPSHUFB, V3, 0, B) X(VPHADDW, V3, 0, B) X(VPHADDD, V3, 0, B) X(VPHADDSW, V3, 0, B) \
	X(VPHSUBW, V3, 0, B) X(VPHSUBD, V3, 0, B) X(VPHSUBSW, V3, 0, B) \
	X(VPMADDUBSW, V3, 0, B) X(VPMULHRSW, V3, 0, B) \
	X(VPSIGNB, V3, 0, B) X(VPSIGNW, V3, 0, B) X(VPSIGND, V3, 0, B) \
	X(VPMINSB, V3, 0, B) X(VPMINSD, V3, 0, B) X(VPMINUW, V3, 0, B) X(VPMINUD, V3, 0, B) \
	X(VPMAXSB, V3, 0, B) X(VPMAXSD, V3, 0, B) X(VPMAXUW, V3, 0, B) X(VPMAXUD, V3, 0, B) \
	X(VPMULLD, V3, 0, B) X(VPMULDQ, V3, 0, B) \
	X(VPSLLVD, V3, 0, B) X(VPSLLVQ, V3, 0, B) X(VPSRLVD, V3, 0, B) X(VPSRLVQ, V3, 0, B) X(VPSRAVD, V3, 0, B) \
	X(VPERMD, V3, 0, Y) X(VPERMPS, V3, 0, Y) X(VMOVHLPS, V3, 0, X) X(VMOVLHPS, V3, 0, X) \
	/* integer and data movement with an immediate */ \
	X(VSHUFPS, V3I, 0, B) X(VSHUFPD, V3I, 0, B) X(VPALIGNR, V3I, 0, B) X(VPBLENDW, V3I, 0, B) \
	X(VBLENDPS, V3I, 0, B) X(VBLENDPD, V3I, 0, B) X(VPBLENDD, V3I, 0, B) X(VMPSADBW, V3I, 0, B) \
	X(VPERM2F128, V3I, 0, Y) X(VPERM2I128, V3I, 0, Y) X(VINSERTPS, V3I, 0, X) \
	X(VPSHUFD, V2I, 0, B) X(VPSHUFHW, V2I, 0, B) X(VPSHUFLW, V2I, 0, B) \
	X(VPERMQ, V2I, 0, Y) X(VPERMPD, V2I, 0, Y) X(VPSLLDQ, V2I, 0, B) X(VPSRLDQ, V2I, 0, B) \
	X(VINSERTF128, INS, 0, Y) X(VINSERTI128, INS, 0, Y) \
	X(VPERMILPS, PI, 0, B) X(VPERMILPD, PI, 0, B) \
	X(VPSLLW, SH, 0, B) X(VPSLLD, SH, 0, B) X(VPSLLQ, SH, 0, B) \
	X(VPSRLW, SH, 0, B) X(VPSRLD, SH, 0, B) X(VPSRLQ, SH, 0, B) X(VPSRAW, SH, 0, B) X(VPSRAD, SH, 0, B) \
	/* one-source integer */ \
	X(VPABSB, V2, 0, B) X(VPABSW, V2, 0, B) X(VPABSD, V2, 0, B) \
	X(VMOVSHDUP, V2, 0, B) X(VMOVSLDUP, V2, 0, B) X(VMOVDDUP, V2, 0, B) X(VPHMINPOSUW, V2, 0, X) \
	X(VPMOVSXBW, V2X, 0, B) X(VPMOVSXBD, V2X, 0, B) X(VPMOVSXBQ, V2X, 0, B) \
	X(VPMOVSXWD, V2X, 0, B) X(VPMOVSXWQ, V2X, 0, B) X(VPMOVSXDQ, V2X, 0, B) \
	X(VPMOVZXBW, V2X, 0, B) X(VPMOVZXBD, V2X, 0, B) X(VPMOVZXBQ, V2X, 0, B) \
	X(VPMOVZXWD, V2X, 0, B) X(VPMOVZXWQ, V2X, 0, B) X(VPMOVZXDQ, V2X, 0, B) \
	X(VBROADCASTSS, V2X, 0, B) X(VBROADCASTSD, V2X, 0, Y) \
	X(VPBROADCASTB, V2X, 0, B) X(VPBROADCASTW, V2X, 0, B) X(VPBROADCASTD, V2X, 0, B) X(VPBROADCASTQ, V2X, 0, B) \
	X(VBLENDVPS, V4, 0, B) X(VBLENDVPD, V4, 0, B) X(VPBLENDVB, V4, 0, B) \
	X(VPTEST, TST, 0, B) X(VTESTPS, TST, 0, B) X(VTESTPD, TST, 0, B) \
	X(VMOVMSKPS, MSK, 0, B) X(VMOVMSKPD, MSK, 0, B) X(VPMOVMSKB, MSK, 0, B) \
	/* floating point */ \
	X(VADDPS, V3, 1, B) X(VADDPD, V3, 1, B) X(VADDSS, V3, 1, X) X(VADDSD, V3, 1, X) \
	X(VSUBPS, V3, 1, B) X(VSUBPD, V3, 1, B) X(VSUBSS, V3, 1, X) X(VSUBSD, V3, 1, X) \
	X(VMULPS, V3, 1, B) X(VMULPD, V3, 1, B) X(VMULSS, V3, 1, X) X(VMULSD, V3, 1, X) \
	X(VDIVPS, V3, 1, B) X(VDIVPD, V3, 1, B) X(VDIVSS, V3, 1, X) X(VDIVSD, V3, 1, X) \
	X(VMINPS, V3, 1, B) X(VMINPD, V3, 1, B) X(VMINSS, V3, 1, X) X(VMINSD, V3, 1, X) \
	X(VMAXPS, V3, 1, B) X(VMAXPD, V3, 1, B) X(VMAXSS, V3, 1, X) X(VMAXSD, V3, 1, X) \
	X(VADDSUBPS, V3, 1, B) X(VADDSUBPD, V3, 1, B) X(VHADDPS, V3, 1, B) X(VHADDPD, V3, 1, B) \
	X(VHSUBPS, V3, 1, B) X(VHSUBPD, V3, 1, B) \
	X(VSQRTSS, V3, 1, X) X(VSQRTSD, V3, 1, X) X(VRCPSS, V3, 1, X) X(VRSQRTSS, V3, 1, X) \
	X(VCVTSS2SD, V3, 1, X) X(VCVTSD2SS, V3, 1, X) \
	X(VCMPPS, V3I, 1, B) X(VCMPPD, V3I, 1, B) X(VCMPSS, V3I, 1, X) X(VCMPSD, V3I, 1, X) \
	X(VROUNDSS, V3I, 1, X) X(VROUNDSD, V3I, 1, X) X(VDPPS, V3I, 1, B) X(VDPPD, V3I, 1, X) \
	X(VSQRTPS, V2, 1, B) X(VSQRTPD, V2, 1, B) X(VRCPPS, V2, 1, B) X(VRSQRTPS, V2, 1, B) \
	X(VCVTDQ2PS, V2, 1, B) X(VCVTPS2DQ, V2, 1, B) X(VCVTTPS2DQ, V2, 1, B) \
	X(VROUNDPS, V2I, 1, B) X(VROUNDPD, V2I, 1, B) \
	X(VCVTDQ2PD, V2X, 1, B) X(VCVTPS2PD, V2X, 1, B) X(VCVTPH2PS, V2X, 1, B) \
	X(VCVTPD2PS, V2N, 1, B) X(VCVTPD2DQ, V2N, 1, B) X(VCVTTPD2DQ, V2N, 1, B) \
	X(VCVTPS2PH, V2NI, 1, B) \
	X(VCOMISS, COMI, 1, X) X(VUCOMISS, COMI, 1, X) X(VCOMISD, COMI, 1, X) X(VUCOMISD, COMI, 1, X) \
	X(VCVTSS2SI, C2SI, 1, X) X(VCVTTSS2SI, C2SI, 1, X) X(VCVTSD2SI, C2SI, 1, X) X(VCVTTSD2SI, C2SI, 1, X) \
	X(VCVTSI2SS, CSI, 1, X) X(VCVTSI2SD, CSI, 1, X) \
	/* VEX.128 AES and PCLMULQDQ: only where CPUID reports AES/PCLMULQDQ */ \
	X(VAESENC, V3, 0, X) X(VAESENCLAST, V3, 0, X) X(VAESDEC, V3, 0, X) X(VAESDECLAST, V3, 0, X) \
	X(VAESIMC, V2, 0, X) X(VAESKEYGENASSIST, V2I, 0, X) X(VPCLMULQDQ, V3I, 0, X) \
	/* FMA3 */ \
	FMA_ROWS(X, VFMADD) FMA_ROWS(X, VFMSUB) FMA_ROWS(X, VFNMADD) FMA_ROWS(X, VFNMSUB) \
	X(VFMADDSUB132PS, F3, 1, B) X(VFMADDSUB213PS, F3, 1, B) X(VFMADDSUB231PS, F3, 1, B) \
	X(VFMADDSUB132PD, F3, 1, B) X(VFMADDSUB213PD, F3, 1, B) X(VFMADDSUB231PD, F3, 1, B) \
	X(VFMSUBADD132PS, F3, 1, B) X(VFMSUBADD213PS, F3, 1, B) X(VFMSUBADD231PS, F3, 1, B) \
	X(VFMSUBADD132PD, F3, 1, B) X(VFMSUBADD213PD, F3, 1, B) X(VFMSUBADD231PD, F3, 1, B)

#define FMA_ROWS(X, p) \
	X(p##132PS, F3, 1, B) X(p##213PS, F3, 1, B) X(p##231PS, F3, 1, B) \
	X(p##132PD, F3, 1, B) X(p##213PD, F3, 1, B) X(p##231PD, F3, 1, B) \
	X(p##132SS, F3, 1, X) X(p##213SS, F3, 1, X) X(p##231SS, F3, 1, X) \
	X(p##132SD, F3, 1, X) X(p##213SD, F3, 1, X) X(p##231SD, F3, 1, X)

enum avx_op {
#define X(name, shape, fp, w) AVX_##name,
	AVX_OPS(X)
#undef X
	AVX_NB_OPS
};

enum avx_shape { AVX_V3, AVX_V3I, AVX_V2, AVX_V2I, AVX_V2X, AVX_V2N, AVX_V2NI, AVX_V4, AVX_F3,
		 AVX_SH, AVX_PI, AVX_INS, AVX_TST, AVX_COMI, AVX_MSK, AVX_C2SI, AVX_CSI };

static const uint8_t avx_op_shape[AVX_NB_OPS] = {
#define X(name, shape, fp, w) [AVX_##name] = AVX_##shape,
	AVX_OPS(X)
#undef X
};

static const bool avx_op_fp[AVX_NB_OPS] = {
#define X(name, shape, fp, w) [AVX_##name] = fp,
	AVX_OPS(X)
#undef X
};

/* Register operand packing of the helpers' `regs` argument. */
#define AVX_TMP 16			/* cpu->ytmp */
#define AVX_REGS(d, a, b, c, L, d256) \
	((uint64_t)(d) | (uint64_t)(a) << 8 | (uint64_t)(b) << 16 | (uint64_t)(c) << 24 | \
	 (uint64_t)(L) << 32 | (uint64_t)(d256) << 33)

/* Whether the host runs AVX2, FMA and F16C with the OS saving ymm (XCR0). */
bool avx_host_ok(void);

#endif
