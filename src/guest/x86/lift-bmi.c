/*
 * The VEX-encoded general-purpose instructions of x86-64-v3 (BMI1: andn,
 * bextr, blsi, blsmsk, blsr; BMI2: bzhi, mulx, pdep, pext, rorx, sarx, shlx,
 * shrx) and MOVBE, plus RDRAND/RDSEED and ADX (adcx, adox).  TZCNT and
 * LZCNT live in lift-int.c next to BSF/BSR, which they are below v3.
 *
 * translate.c's isa_allowed() refuses these below their level, so a lifter
 * here never checks x86_level.  Operands follow Zydis' (Intel) order.  All
 * work is done on 64-bit values with the source zero-extended; a 32-bit
 * result is truncated by gen_st_op, as the CPU zero-extends it.  Flags: the
 * BMI family records CF in bit 0 of cc_src (flags.c); SF/ZF/PF come from
 * the result (PF and AF are undefined for all of them, the tester skips
 * what Zydis marks undefined).
 */
#include "guest/x86/cpuid.h"
#include "guest/x86/translate.h"

#define SZ(s) op_size(s, 0)
#define CC(fam, size) (CC_OP_##fam##B + (size))

static ir_ref bits_of(struct dc *s) { return cst(s, 8 << SZ(s)); }

/* ~a & b: SF ZF from the result, CF = OF = 0. */
static bool gen_ANDN(struct dc *s)
{
	ir_ref a = gen_ld_op(s, 1), b = gen_ld_op(s, 2);
	ir_ref r = ir_bin(s, IR_andc, b, a);
	gen_st_op(s, 0, r);
	gen_set_cc(s, CC(LOGIC, SZ(s)), r, 0, 0);
	return true;
}

/* (a >> start) & ((1 << len) - 1), start = c[7:0], len = c[15:8]; a start
 * beyond the operand gives 0, a length beyond it keeps every bit. */
static bool gen_BEXTR(struct dc *s)
{
	ir_ref a = gen_ld_op(s, 1), c = gen_ld_op(s, 2);
	ir_ref start = ir_extr(s, c, 0, 8, false), len = ir_extr(s, c, 8, 8, false);
	ir_ref sh = ir_bin(s, IR_shr, a, ir_bin(s, IR_and, start, cst(s, 63)));
	sh = ir_movc(s, IR_GEU, start, bits_of(s), cst(s, 0), sh);
	ir_ref m = ir_un(s, IR_not, ir_bin(s, IR_shl, cst(s, ~0ull), ir_bin(s, IR_and, len, cst(s, 63))));
	m = ir_movc(s, IR_GEU, len, cst(s, 64), cst(s, ~0ull), m);
	ir_ref r = ir_bin(s, IR_and, sh, m);
	gen_st_op(s, 0, r);
	gen_set_cc(s, CC(LOGIC, SZ(s)), r, 0, 0);
	return true;
}

enum blsx { BLSI, BLSMSK, BLSR };

/* dst is the vvvv register (operand 0), the source operand 1. */
static bool gen_blsx(struct dc *s, enum blsx k)
{
	int size = SZ(s);
	ir_ref a = gen_ld_op(s, 1), r, cf;
	ir_ref am1 = gen_ext(s, ir_bin(s, IR_sub, a, cst(s, 1)), size, false);
	switch (k) {
	case BLSI:	/* lowest set bit; CF = source != 0 */
		r = gen_ext(s, ir_bin(s, IR_and, a, ir_un(s, IR_neg, a)), size, false);
		cf = ir_setc(s, IR_NE, a, cst(s, 0));
		break;
	case BLSMSK:	/* up to the lowest set bit; CF = source == 0 */
		r = ir_bin(s, IR_xor, a, am1);
		cf = ir_setc(s, IR_EQ, a, cst(s, 0));
		break;
	default:	/* lowest set bit cleared; CF = source == 0 */
		r = ir_bin(s, IR_and, a, am1);
		cf = ir_setc(s, IR_EQ, a, cst(s, 0));
		break;
	}
	gen_st_op(s, 0, r);
	gen_set_cc(s, CC(BMI, size), r, cf, 0);
	return true;
}

static bool gen_BLSI(struct dc *s) { return gen_blsx(s, BLSI); }
static bool gen_BLSMSK(struct dc *s) { return gen_blsx(s, BLSMSK); }
static bool gen_BLSR(struct dc *s) { return gen_blsx(s, BLSR); }

/* Clear the bits from index n = c[7:0] up; CF = n >= operand bits (the
 * source is kept whole then). */
static bool gen_BZHI(struct dc *s)
{
	ir_ref a = gen_ld_op(s, 1), c = gen_ld_op(s, 2);
	ir_ref n = ir_extr(s, c, 0, 8, false);
	ir_ref m = ir_un(s, IR_not, ir_bin(s, IR_shl, cst(s, ~0ull), ir_bin(s, IR_and, n, cst(s, 63))));
	ir_ref big = ir_setc(s, IR_GEU, n, bits_of(s));
	m = ir_movc(s, IR_NE, big, cst(s, 0), cst(s, ~0ull), m);
	ir_ref r = ir_bin(s, IR_and, a, m);
	gen_st_op(s, 0, r);
	gen_set_cc(s, CC(BMI, SZ(s)), r, big, 0);
	return true;
}

/* hi:lo = rdx * src, unsigned, no flags.  Operand 0 is hi, 1 is lo (vvvv);
 * when they name the same register, hi is what it holds. */
static bool gen_MULX(struct dc *s)
{
	int size = SZ(s);
	ir_ref b = gen_ld_op(s, 2);
	ir_ref a = gen_ld_reg(s, R_RDX, size);
	ir_ref lo = tmp64(s), hi = tmp64(s);
	if (size == 3) {
		ir_emit(s->ir, IR_mulu2, IR_I64, (ir_ref[]){ lo, hi, a, b }, NULL);
	} else {
		ir_ref p = ir_bin(s, IR_mul, a, b);
		ir_mov(s, lo, p);
		ir_mov(s, hi, ir_bin(s, IR_shr, p, cst(s, 32)));
	}
	gen_st_op(s, 1, lo);
	gen_st_op(s, 0, hi);
	return true;
}

static bool gen_pdep_pext(struct dc *s, enum x86_helper h)
{
	ir_ref a = gen_ld_op(s, 1), m = gen_ld_op(s, 2);
	gen_st_op(s, 0, gen_helper(s, h, 2, a, m));
	return true;
}

static bool gen_PDEP(struct dc *s) { return gen_pdep_pext(s, HELPER_pdep); }
static bool gen_PEXT(struct dc *s) { return gen_pdep_pext(s, HELPER_pext); }

/* Rotate right by imm8 mod operand bits; no flags. */
static bool gen_RORX(struct dc *s)
{
	int size = SZ(s);
	unsigned n = s->op[2].imm.value.u & ((8 << size) - 1);
	ir_ref r = tmp64(s);
	ir_op2(s->ir, IR_rotr, size == 3 ? IR_I64 : IR_I32, r, gen_ld_op(s, 1), cst(s, n));
	gen_st_op(s, 0, r);
	return true;
}

/* Shifts by the vvvv register masked to the operand width; no flags. */
static bool gen_shiftx(struct dc *s, enum ir_opc opc)
{
	int size = SZ(s);
	ir_ref a = opc == IR_sar ? gen_ld_op_sext(s, 1) : gen_ld_op(s, 1);
	ir_ref n = ir_bin(s, IR_and, gen_ld_op(s, 2), cst(s, (8 << size) - 1));
	gen_st_op(s, 0, ir_bin(s, opc, a, n));
	return true;
}

static bool gen_SARX(struct dc *s) { return gen_shiftx(s, IR_sar); }
static bool gen_SHLX(struct dc *s) { return gen_shiftx(s, IR_shl); }
static bool gen_SHRX(struct dc *s) { return gen_shiftx(s, IR_shr); }

/* Load or store with the bytes reversed; exactly one side is memory. */
static bool gen_MOVBE(struct dc *s)
{
	static const enum ir_opc swap[4] = { 0, IR_bswap16, IR_bswap32, IR_bswap64 };
	int size = SZ(s);
	if (size == 0 || op_is_mem(s, 0) == op_is_mem(s, 1))
		return false;
	gen_st_op(s, 0, ir_un(s, swap[size], gen_ld_op(s, 1)));
	return true;
}

/* RDRAND/RDSEED run the host's instruction (the helper stages the value in
 * xtmp and returns CF); OF SF ZF AF PF are cleared.  A CPU that runs out of
 * entropy returns CF = 0 and a zero value, which the guest then sees too. */
static bool gen_rdx(struct dc *s, bool seed)
{
	int size = SZ(s);
	if (op_is_mem(s, 0))
		return false;
	ir_ref cf = gen_helper(s, HELPER_rdrand, 3, s->ir->env, cst(s, seed), cst(s, size));
	ir_ref v = ir_ldenv(s, CPU_OFF(xtmp), IR_MO_64);
	gen_st_op(s, 0, v);
	gen_set_cc(s, CC_OP_EFLAGS, 0, cf, 0);
	return true;
}

static bool gen_RDRAND(struct dc *s) { return gen_rdx(s, false); }
static bool gen_RDSEED(struct dc *s) { return gen_rdx(s, true); }

/* ADCX/ADOX: dst += src + carry, where the carry is CF (adcx) or OF (adox)
 * both in and out; no other flag changes, so two carry chains can
 * interleave.  A 32-bit sum fits in 64 bits: its carry is bit 32. */
static bool gen_adx(struct dc *s, uint64_t flag)
{
	int size = SZ(s), bit = flag == X86_CF ? 0 : 11;
	ir_ref b = gen_ld_op(s, 1), a = gen_ld_op(s, 0);
	ir_ref f = gen_compute_eflags(s);
	ir_ref cin = ir_extr(s, f, bit, 1, false);
	ir_ref r, cout;
	if (size == 2) {
		r = ir_bin(s, IR_add, ir_bin(s, IR_add, a, b), cin);
		cout = ir_extr(s, r, 32, 1, false);
	} else {
		ir_ref t = ir_bin(s, IR_add, a, b);
		r = ir_bin(s, IR_add, t, cin);
		cout = ir_bin(s, IR_or, ir_setc(s, IR_LTU, t, a), ir_setc(s, IR_LTU, r, t));
	}
	gen_st_op(s, 0, r);
	f = ir_bin(s, IR_andc, f, cst(s, flag));
	f = ir_bin(s, IR_or, f, ir_bin(s, IR_shl, cout, cst(s, bit)));
	gen_set_cc(s, CC_OP_EFLAGS, 0, f, 0);
	return true;
}

static bool gen_ADCX(struct dc *s) { return gen_adx(s, X86_CF); }
static bool gen_ADOX(struct dc *s) { return gen_adx(s, X86_OF); }

const struct lift_entry lift_bmi_table[] = {
	{ ZYDIS_MNEMONIC_ANDN, gen_ANDN },
	{ ZYDIS_MNEMONIC_BEXTR, gen_BEXTR },
	{ ZYDIS_MNEMONIC_BLSI, gen_BLSI },
	{ ZYDIS_MNEMONIC_BLSMSK, gen_BLSMSK },
	{ ZYDIS_MNEMONIC_BLSR, gen_BLSR },
	{ ZYDIS_MNEMONIC_BZHI, gen_BZHI },
	{ ZYDIS_MNEMONIC_MULX, gen_MULX },
	{ ZYDIS_MNEMONIC_PDEP, gen_PDEP },
	{ ZYDIS_MNEMONIC_PEXT, gen_PEXT },
	{ ZYDIS_MNEMONIC_RORX, gen_RORX },
	{ ZYDIS_MNEMONIC_SARX, gen_SARX },
	{ ZYDIS_MNEMONIC_SHLX, gen_SHLX },
	{ ZYDIS_MNEMONIC_SHRX, gen_SHRX },
	{ ZYDIS_MNEMONIC_MOVBE, gen_MOVBE },
	{ ZYDIS_MNEMONIC_RDRAND, gen_RDRAND },
	{ ZYDIS_MNEMONIC_RDSEED, gen_RDSEED },
	{ ZYDIS_MNEMONIC_ADCX, gen_ADCX },
	{ ZYDIS_MNEMONIC_ADOX, gen_ADOX },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
