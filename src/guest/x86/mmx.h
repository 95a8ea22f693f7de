/*
 * MMX: the operation table shared by the lifter (lift-mmx.c) and the helper
 * that runs it (mmx-helpers.c).
 *
 * MMX register i is the low 64 bits (the mantissa) of x87 physical register
 * i, cpu->fpu.st[i].  Every instruction that names an MMX register puts the
 * FPU in MMX state first: TOP = 0 and all tags valid; a write to register
 * i also sets its sign/exponent field (bytes 8-9) to all ones; EMMS marks
 * every tag empty.  The lifter does all of this inline; the helper is a
 * pure function of two 64-bit values.
 *
 *   X(NAME, kind)
 *
 * kind:  A  the host instruction `name %mm_src, %mm_dst`
 *        C  hand-written in mmx-helpers.c (takes the imm8 too)
 *
 * Shifts by an imm8 use the register-count row with the count as source,
 * which is what the CPU computes.  Invariant: the helper leaves the host
 * FPU with every tag empty (EMMS in the same asm block as the operation),
 * as loom's own code and the x87 helpers expect it.
 */
#ifndef LOOM_GUEST_X86_MMX_H
#define LOOM_GUEST_X86_MMX_H

#include <stdint.h>

#define MMX_OPS(X) \
	X(PADDB, A) X(PADDW, A) X(PADDD, A) X(PADDQ, A) \
	X(PSUBB, A) X(PSUBW, A) X(PSUBD, A) X(PSUBQ, A) \
	X(PADDSB, A) X(PADDSW, A) X(PADDUSB, A) X(PADDUSW, A) \
	X(PSUBSB, A) X(PSUBSW, A) X(PSUBUSB, A) X(PSUBUSW, A) \
	X(PMULLW, A) X(PMULHW, A) X(PMULHUW, A) X(PMULUDQ, A) X(PMADDWD, A) \
	X(PCMPEQB, A) X(PCMPEQW, A) X(PCMPEQD, A) \
	X(PCMPGTB, A) X(PCMPGTW, A) X(PCMPGTD, A) \
	X(PAND, A) X(PANDN, A) X(POR, A) X(PXOR, A) \
	X(PUNPCKLBW, A) X(PUNPCKLWD, A) X(PUNPCKLDQ, A) \
	X(PUNPCKHBW, A) X(PUNPCKHWD, A) X(PUNPCKHDQ, A) \
	X(PACKSSWB, A) X(PACKSSDW, A) X(PACKUSWB, A) \
	X(PSLLW, A) X(PSLLD, A) X(PSLLQ, A) X(PSRLW, A) X(PSRLD, A) X(PSRLQ, A) \
	X(PSRAW, A) X(PSRAD, A) \
	/* SSE's MMX forms */ \
	X(PAVGB, A) X(PAVGW, A) X(PMAXUB, A) X(PMINUB, A) X(PMAXSW, A) X(PMINSW, A) \
	X(PSADBW, A) X(PMOVMSKB, C) X(PSHUFW, C) \
	/* SSSE3's MMX forms */ \
	X(PSHUFB, A) X(PHADDW, A) X(PHADDD, A) X(PHADDSW, A) \
	X(PHSUBW, A) X(PHSUBD, A) X(PHSUBSW, A) X(PMADDUBSW, A) X(PMULHRSW, A) \
	X(PSIGNB, A) X(PSIGNW, A) X(PSIGND, A) X(PABSB, A) X(PABSW, A) X(PABSD, A) \
	X(PALIGNR, C)

enum mmx_op {
#define X(name, kind) MMX_##name,
	MMX_OPS(X)
#undef X
	MMX_NB_OPS
};

/* The helper (row mmx of X86_HELPERS): the result of op on dst value a and
 * source value b (and imm8 for the C rows). */
uint64_t helper_mmx(uint64_t op, uint64_t a, uint64_t b, uint64_t imm);

#endif
