/*
 * The MMX helper: one pure function running the rows of MMX_OPS (mmx.h) on
 * two 64-bit values.  The A rows are the host's own instruction on host MMX
 * registers, so saturation, rounding and shift-count rules are the CPU's;
 * the C rows are data movement done in C.
 *
 * Invariant: each asm block ends with EMMS after moving the result out, so
 * the host FPU's tags are empty when the helper returns (a compiler-placed
 * movq from an MMX register after EMMS would set them valid again).
 */
#include "guest/x86/mmx.h"

static uint64_t mmx_pmovmskb(uint64_t b)
{
	uint64_t r = 0;
	for (int i = 0; i < 8; i++)
		r |= (b >> (8 * i + 7) & 1) << i;
	return r;
}

static uint64_t mmx_pshufw(uint64_t b, uint64_t imm)
{
	uint64_t r = 0;
	for (int i = 0; i < 4; i++)
		r |= (b >> 16 * (imm >> 2 * i & 3) & 0xffff) << 16 * i;
	return r;
}

/* Bytes imm..imm+7 of a:b (a high); past 16 they are 0. */
static uint64_t mmx_palignr(uint64_t a, uint64_t b, uint64_t imm)
{
	unsigned __int128 v = (unsigned __int128)a << 64 | b;
	imm &= 255;
	return imm >= 16 ? 0 : (uint64_t)(v >> (8 * imm));
}

#define MMX_ASM(insn) \
	asm volatile(insn " %2, %1\n\tmovq %1, %0\n\temms" : "=r"(r), "+y"(a) : "y"(b))

uint64_t helper_mmx(uint64_t op, uint64_t a, uint64_t b, uint64_t imm)
{
	uint64_t r = 0;
	switch (op) {
#define CASE_A(name) case MMX_##name: MMX_ASM(#name); break;
#define CASE_C(name)
#define X(name, kind) CASE_##kind(name)
	MMX_OPS(X)
#undef X
	case MMX_PMOVMSKB: r = mmx_pmovmskb(b); break;
	case MMX_PSHUFW: r = mmx_pshufw(b, imm); break;
	case MMX_PALIGNR: r = mmx_palignr(a, b, imm); break;
	}
	return r;
}
