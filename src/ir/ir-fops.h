/*
 * Floating-point operations of the `vfop` and `vfres` IR ops: IEEE
 * arithmetic on 128-bit env slots, under the guest's MXCSR (rounding,
 * FTZ/DAZ, sticky flags, exceptions: the backend runs the host instruction
 * while the host MXCSR holds the guest's, see guest/x86/cpu.h).  ps/pd:
 * every float/double lane; ss/sd: the low lane, the other bits from `a`.
 *
 *   DEFF(name, form, bsize)
 *
 * form  V  vfop: env[d] = a OP b (lane-wise; unary rows read only b)
 *       I  vfop: env[d] = a with the low lane = (float)b, b a signed
 *          32/64-bit integer in env
 *       F  vfop: fused multiply-add, env[d] = the three-operand form with
 *          d both source and destination, a the second and b the third
 *          operand (Intel's 132/213/231 naming)
 *       R  vfres: a 64-bit result: compares give ZF|PF|CF as in RFLAGS
 *          (a's low lane against b's), conversions give b's low lane as
 *          an integer of the op's type (indefinite on overflow)
 *       C  MXCSR itself, b a 4-byte field (any alignment) holding the
 *          guest's MXCSR: ldmxcsr (vfop) makes it the host's; stmxcsr
 *          (vfres) reads b | the host's sticky flags, a 16-byte scratch
 * bsize bytes of b read (4, 8 or 16); a and d are whole slots
 *
 * The cmp rows take their predicate (0-7, as legacy CMPPS's imm8) in bits
 * 48-50 of offs: all ones in a lane where it holds, else zero.  The round
 * rows (SSE4.1) take ROUNDPS's imm8[3:0] there: rounding mode or MXCSR's,
 * and whether to suppress the precision exception.
 *
 * Row order is used by the backend (the arithmetic and FMA blocks are
 * computed, not listed): keep each block's order.
 */
#define DEFF_T(op, form) \
	DEFF(op##ps, form, 16) DEFF(op##pd, form, 16) DEFF(op##ss, form, 4) DEFF(op##sd, form, 8)
#define DEFF_FMA(op) DEFF_T(op##132, F) DEFF_T(op##213, F) DEFF_T(op##231, F)

/* arithmetic: 7 ops x ps, pd, ss, sd */
DEFF_T(add, V) DEFF_T(sub, V) DEFF_T(mul, V) DEFF_T(div, V)
DEFF_T(min, V) DEFF_T(max, V) DEFF_T(sqrt, V)
/* conversions between FP formats and packed integers */
DEFF(cvtss2sd, V, 4) DEFF(cvtsd2ss, V, 8) DEFF(cvtps2pd, V, 8) DEFF(cvtpd2ps, V, 16)
DEFF(cvtdq2ps, V, 16) DEFF(cvtps2dq, V, 16) DEFF(cvttps2dq, V, 16)
DEFF(cvtdq2pd, V, 8) DEFF(cvtpd2dq, V, 16) DEFF(cvttpd2dq, V, 16)
/* compares to lane masks; rounding to integral values */
DEFF_T(cmp, V)
DEFF_T(round, V)
/* integer to scalar */
DEFF(cvtsi2ss32, I, 4) DEFF(cvtsi2ss64, I, 8) DEFF(cvtsi2sd32, I, 4) DEFF(cvtsi2sd64, I, 8)
/* results in a temp */
DEFF(comiss, R, 4) DEFF(ucomiss, R, 4) DEFF(comisd, R, 8) DEFF(ucomisd, R, 8)
DEFF(cvtss2si, R, 4) DEFF(cvttss2si, R, 4) DEFF(cvtsd2si, R, 8) DEFF(cvttsd2si, R, 8)
/* the MXCSR hand-over (guest/x86/cpu.h) */
DEFF(ldmxcsr, C, 4) DEFF(stmxcsr, C, 4)
/* FMA: 4 kinds x 132, 213, 231 x ps, pd, ss, sd */
DEFF_FMA(fmadd) DEFF_FMA(fmsub) DEFF_FMA(fnmadd) DEFF_FMA(fnmsub)

#undef DEFF_T
#undef DEFF_FMA
