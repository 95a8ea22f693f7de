/*
 * Lazy x86 condition flags: turning the thunk (cc_op, cc_dst, cc_src,
 * cc_src2) that the frontend leaves behind into RFLAGS bits, and back.  This
 * file owns the meaning of every cc_op family (the contract is the comment
 * above each cc_all_* function); the frontend owns filling the thunk, and
 * the IR/backend may compute simple conditions (a jz after a sub) without
 * coming here.
 *
 * Invariant: the thunk is the only home of CF PF AF ZF SF OF, cpu->df the
 * only home of DF, and cpu->eflags holds every other RFLAGS bit (IF, TF, NT,
 * AC, ID, bit 1) and never a stale arithmetic bit or DF.
 *
 * Operands of sized families may carry garbage above the operand size: each
 * family truncates or takes the sign bit itself.  The exceptions are the
 * overflow word of MUL and the operand of POPCNT, which are compared whole
 * (see their functions).
 */
#include "guest/x86/cpu.h"
#include "util/log.h"

/* Bit 1 of RFLAGS reads as 1 and ignores writes. */
#define RFLAGS_FIXED 0x0002
#define X86_NT 0x4000

/* What popf at CPL 3 with IOPL 0 may change besides the arithmetic flags and
 * DF.  IF, IOPL, RF, VM, VIF and VIP are left alone, reserved bits ignored. */
#define RFLAGS_USER_BITS (X86_TF | X86_NT | X86_AC | X86_ID)

/* Size of a sized cc_op as log2 of its bytes: 0..3 for 8..64 bits. */
static inline unsigned cc_size(uint64_t op)
{
	return (op - CC_OP_ADDB) & 3;
}

static inline unsigned size_bits(unsigned size)
{
	return 8u << size;
}

static inline uint64_t trunc_to(uint64_t v, unsigned size)
{
	return v & (~0ull >> (64 - size_bits(size)));
}

/* Bit N-1 of v, as 0 or 1. */
static inline uint64_t msb(uint64_t v, unsigned size)
{
	return (v >> (size_bits(size) - 1)) & 1;
}

static inline uint64_t flag_if(int cond, uint64_t flag)
{
	return cond ? flag : 0;
}

/* ZF, SF and PF of a result: the part every family shares. */
static uint64_t cc_szp(uint64_t dst, unsigned size)
{
	return flag_if(trunc_to(dst, size) == 0, X86_ZF) |
	       flag_if(msb(dst, size), X86_SF) |
	       flag_if(!__builtin_parity((unsigned)dst & 0xff), X86_PF);
}

/* AF is the carry (or borrow) out of bit 3: bit 4 of a ^ b ^ result. */
static inline uint64_t cc_af(uint64_t a, uint64_t b, uint64_t res)
{
	return (a ^ b ^ res) & X86_AF;
}

/* ADD: dst = first + src.  CF when the sum wrapped. */
static uint64_t cc_all_add(uint64_t dst, uint64_t src, uint64_t src2, unsigned size)
{
	uint64_t first = dst - src;

	return flag_if(trunc_to(dst, size) < trunc_to(first, size), X86_CF) |
	       flag_if(msb((first ^ dst) & (src ^ dst), size), X86_OF) |
	       cc_af(first, src, dst) | cc_szp(dst, size);
}

/* ADC: dst = first + src + cin, cin = src2 (0 or 1).  With a carry in, a sum
 * equal to the first operand has wrapped too. */
static uint64_t cc_all_adc(uint64_t dst, uint64_t src, uint64_t src2, unsigned size)
{
	uint64_t first = dst - src - src2;
	uint64_t r = trunc_to(dst, size), f = trunc_to(first, size);

	return flag_if(src2 ? r <= f : r < f, X86_CF) |
	       flag_if(msb((first ^ dst) & (src ^ dst), size), X86_OF) |
	       cc_af(first, src, dst) | cc_szp(dst, size);
}

/* SUB (and CMP, NEG as 0 - x): dst = first - src.  CF is the borrow. */
static uint64_t cc_all_sub(uint64_t dst, uint64_t src, uint64_t src2, unsigned size)
{
	uint64_t first = dst + src;

	return flag_if(trunc_to(first, size) < trunc_to(src, size), X86_CF) |
	       flag_if(msb((first ^ src) & (first ^ dst), size), X86_OF) |
	       cc_af(first, src, dst) | cc_szp(dst, size);
}

/* SBB: dst = first - src - bin, bin = src2 (0 or 1). */
static uint64_t cc_all_sbb(uint64_t dst, uint64_t src, uint64_t src2, unsigned size)
{
	uint64_t first = dst + src + src2;
	uint64_t f = trunc_to(first, size), s = trunc_to(src, size);

	return flag_if(src2 ? f <= s : f < s, X86_CF) |
	       flag_if(msb((first ^ src) & (first ^ dst), size), X86_OF) |
	       cc_af(first, src, dst) | cc_szp(dst, size);
}

/* LOGIC (and, or, xor, test): CF = OF = AF = 0. */
static uint64_t cc_all_logic(uint64_t dst, uint64_t src, uint64_t src2, unsigned size)
{
	return cc_szp(dst, size);
}

/* INC: dst = result, src = CF before (kept).  OF when the result is the most
 * negative value; AF when the low nibble wrapped to 0. */
static uint64_t cc_all_inc(uint64_t dst, uint64_t src, uint64_t src2, unsigned size)
{
	uint64_t min = 1ull << (size_bits(size) - 1);

	return (src & X86_CF) |
	       flag_if(trunc_to(dst, size) == min, X86_OF) |
	       flag_if((dst & 0xf) == 0, X86_AF) | cc_szp(dst, size);
}

/* DEC: as INC, but OF at the most positive value, AF at a nibble of 0xf. */
static uint64_t cc_all_dec(uint64_t dst, uint64_t src, uint64_t src2, unsigned size)
{
	uint64_t max = (1ull << (size_bits(size) - 1)) - 1;

	return (src & X86_CF) |
	       flag_if(trunc_to(dst, size) == max, X86_OF) |
	       flag_if((dst & 0xf) == 0xf, X86_AF) | cc_szp(dst, size);
}

/* SHL: src = the operand shifted by count-1, so its top bit is the last bit
 * shifted out.  OF (defined for count 1) = CF ^ SF; AF = 0. */
static uint64_t cc_all_shl(uint64_t dst, uint64_t src, uint64_t src2, unsigned size)
{
	uint64_t cf = msb(src, size);

	return cf | flag_if(cf ^ msb(dst, size), X86_OF) | cc_szp(dst, size);
}

/* SAR and SHR: src = the operand shifted right by count-1, so bit 0 is the
 * last bit shifted out.  OF = top bit of src ^ dst: 0 for SAR, the old sign
 * for SHR (both with count 1).  AF = 0. */
static uint64_t cc_all_sar(uint64_t dst, uint64_t src, uint64_t src2, unsigned size)
{
	return (src & X86_CF) | flag_if(msb(src ^ dst, size), X86_OF) |
	       cc_szp(dst, size);
}

/* MUL and IMUL: dst = low half, src = any nonzero word when the product did
 * not fit (the high half for MUL, high half minus the sign extension of the
 * low half for IMUL).  src is not truncated: an 8-bit MUL may leave the high
 * byte at bits 8..15. */
static uint64_t cc_all_mul(uint64_t dst, uint64_t src, uint64_t src2, unsigned size)
{
	return flag_if(src != 0, X86_CF | X86_OF) | cc_szp(dst, size);
}

/* BMI (andn, bextr, blsi, blsmsk, blsr, bzhi): the frontend computes the
 * instruction's own CF into bit 0 of src; OF = AF = 0. */
static uint64_t cc_all_bmi(uint64_t dst, uint64_t src, uint64_t src2, unsigned size)
{
	return (src & X86_CF) | cc_szp(dst, size);
}

/* ROT, a rotate by an immediate count after a family whose ZF, SF and PF
 * follow from its dst (any but EFLAGS and POPCNT): dst is that family's
 * (of its size), src holds the rotate's CF and OF and the family's AF.  A
 * rotate keeps SF ZF AF PF; computing all of them at each rotate cost a
 * hash loop (md5) some 40 host instructions per rotate. */
static uint64_t cc_all_rot(uint64_t dst, uint64_t src, uint64_t src2, unsigned size)
{
	return (src & (X86_CF | X86_AF | X86_OF)) | cc_szp(dst, size);
}

/* POPCNT has no size: src is the zero-extended operand. */
static uint64_t cc_all_popcnt(uint64_t src)
{
	return flag_if(src == 0, X86_ZF);
}

uint64_t helper_cc_compute_all(uint64_t dst, uint64_t src, uint64_t src2, uint64_t op)
{
	unsigned size = cc_size(op);

	switch (op) {
	case CC_OP_EFLAGS:
		return src & X86_ARITH_FLAGS;
	case CC_OP_ADDB ... CC_OP_ADDQ:
		return cc_all_add(dst, src, src2, size);
	case CC_OP_ADCB ... CC_OP_ADCQ:
		return cc_all_adc(dst, src, src2, size);
	case CC_OP_SUBB ... CC_OP_SUBQ:
		return cc_all_sub(dst, src, src2, size);
	case CC_OP_SBBB ... CC_OP_SBBQ:
		return cc_all_sbb(dst, src, src2, size);
	case CC_OP_LOGICB ... CC_OP_LOGICQ:
		return cc_all_logic(dst, src, src2, size);
	case CC_OP_INCB ... CC_OP_INCQ:
		return cc_all_inc(dst, src, src2, size);
	case CC_OP_DECB ... CC_OP_DECQ:
		return cc_all_dec(dst, src, src2, size);
	case CC_OP_SHLB ... CC_OP_SHLQ:
		return cc_all_shl(dst, src, src2, size);
	case CC_OP_SARB ... CC_OP_SARQ:
		return cc_all_sar(dst, src, src2, size);
	case CC_OP_MULB ... CC_OP_MULQ:
		return cc_all_mul(dst, src, src2, size);
	case CC_OP_BMIB ... CC_OP_BMIQ:
		return cc_all_bmi(dst, src, src2, size);
	case CC_OP_ROTB ... CC_OP_ROTQ:
		return cc_all_rot(dst, src, src2, size);
	case CC_OP_POPCNT:
		return cc_all_popcnt(src);
	}
	internal_error("cc_compute_all: bad cc_op %llu", (unsigned long long)op);
}

/*
 * CF alone, for adc/sbb/rcl/jb/setb after an operation the backend could not
 * fuse.  Each case is the CF term of its cc_all_* above; for ADD and ADC the
 * comparison with src replaces the one with the first operand (a sum wrapped
 * iff it is below either addend, or equal to it with a carry in).
 */
uint64_t helper_cc_compute_c(uint64_t dst, uint64_t src, uint64_t src2, uint64_t op)
{
	unsigned size = cc_size(op);
	uint64_t d = trunc_to(dst, size), s = trunc_to(src, size);

	switch (op) {
	case CC_OP_EFLAGS:
	case CC_OP_INCB ... CC_OP_INCQ:
	case CC_OP_DECB ... CC_OP_DECQ:
	case CC_OP_SARB ... CC_OP_SARQ:
	case CC_OP_BMIB ... CC_OP_BMIQ:
	case CC_OP_ROTB ... CC_OP_ROTQ:
		return src & X86_CF;
	case CC_OP_ADDB ... CC_OP_ADDQ:
		return d < s;
	case CC_OP_ADCB ... CC_OP_ADCQ:
		return src2 ? d <= s : d < s;
	case CC_OP_SUBB ... CC_OP_SUBQ:
		return trunc_to(dst + src, size) < s;
	case CC_OP_SBBB ... CC_OP_SBBQ: {
		uint64_t first = trunc_to(dst + src + src2, size);
		return src2 ? first <= s : first < s;
	}
	case CC_OP_LOGICB ... CC_OP_LOGICQ:
	case CC_OP_POPCNT:
		return 0;
	case CC_OP_SHLB ... CC_OP_SHLQ:
		return msb(src, size);
	case CC_OP_MULB ... CC_OP_MULQ:
		return src != 0;
	}
	internal_error("cc_compute_c: bad cc_op %llu", (unsigned long long)op);
}

uint64_t x86_get_rflags(struct cpu *cpu)
{
	uint64_t f = cpu->eflags & ~(X86_ARITH_FLAGS | X86_DF);

	f |= helper_cc_compute_all(cpu->cc_dst, cpu->cc_src, cpu->cc_src2, cpu->cc_op);
	if (cpu->df == (uint64_t)-1)
		f |= X86_DF;
	return f | RFLAGS_FIXED;
}

/* popf's view: what a user program may write lands, the rest stays. */
void x86_set_rflags(struct cpu *cpu, uint64_t rflags)
{
	cpu->cc_op = CC_OP_EFLAGS;
	cpu->cc_src = rflags & X86_ARITH_FLAGS;
	cpu->cc_dst = 0;
	cpu->cc_src2 = 0;
	cpu->df = (rflags & X86_DF) ? (uint64_t)-1 : 1;
	cpu->eflags = (cpu->eflags & ~(RFLAGS_USER_BITS | X86_ARITH_FLAGS | X86_DF)) |
		      (rflags & RFLAGS_USER_BITS) | RFLAGS_FIXED;
}
