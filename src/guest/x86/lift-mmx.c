/*
 * MMX instructions, and the MMX-register forms of SSE and SSSE3 (pshufw,
 * pavgb, psadbw, pmovmskb, maskmovq, movntq, pextrw/pinsrw, pshufb,
 * palignr, phadd...).  The conversions between MMX and XMM registers
 * (cvtpi2ps and friends) are in lift-sse.c, which has the XMM operand code;
 * they use the MMX state functions below.
 *
 * The MMX registers alias the x87 registers as mmx.h describes.  Every
 * lifter reads its operands (and does its memory loads) first, then puts
 * the FPU in MMX state and writes its result, so a faulting load leaves
 * the x87 state untouched.  Stores from an MMX register are the exception
 * an Intel host shows: TOP is 0 in the signal frame of a faulting store
 * while the tags are as before (gen_mmx_store); on AMD (x86_amd) a
 * faulting store leaves both as they were.
 *
 * translate.c dispatches an instruction with an MMX register operand to
 * lift_mmx_table before the SSE table, since both name the same mnemonics;
 * rows here whose mnemonic has no other lifter also take the forms without
 * an MMX register (none do so far).
 */
#include "guest/x86/cpuid.h"
#include "guest/x86/mmx.h"
#include "guest/x86/translate.h"
#include "guest/x86/x87.h"

#define MM_OFF(i) (CPU_OFF(fpu.st) + (int32_t)sizeof(long double) * (i))

int mm_op(struct dc *s, int i)
{
	const ZydisDecodedOperand *op = &s->op[i];
	if (i >= s->insn.operand_count || op->type != ZYDIS_OPERAND_TYPE_REGISTER)
		return -1;
	if (op->reg.value < ZYDIS_REGISTER_MM0 || op->reg.value > ZYDIS_REGISTER_MM7)
		return -1;
	return op->reg.value - ZYDIS_REGISTER_MM0;
}

bool has_mm_operand(struct dc *s)
{
	for (int i = 0; i < s->insn.operand_count; i++)
		if (mm_op(s, i) >= 0)
			return true;
	return false;
}

/* An MMX instruction first takes a pending unmasked x87 exception (#MF,
 * #MF at this instruction), as a waiting x87 instruction does: the x87
 * helper's FWAIT row raises it. */
void gen_mmx_check(struct dc *s)
{
	uint32_t ok = ir_new_label(s->ir);
	ir_brc(s, IR_TSTEQ, ir_ldenv(s, CPU_OFF(fpu.fsw), IR_MO_16), cst(s, FSW_ES), ok);
	gen_sync_pc(s, s->pc);
	gen_helper(s, HELPER_x87, 3, s->ir->env, cst(s, X87_OP(X87_FWAIT, 0, 0)), cst(s, 0));
	set_label(s, ok);
}

/* TOP = 0, every tag valid: what any MMX instruction does to the FPU. */
void gen_mmx_enter(struct dc *s)
{
	ir_stenv(s, cst(s, 0), CPU_OFF(fpu.top), IR_MO_8);
	ir_stenv(s, cst(s, 0xff), CPU_OFF(fpu.ftw), IR_MO_16);
}

/* A store of MMX register data to memory: an Intel CPU has already set
 * TOP to 0 when the store faults, but not yet the tags. */
static void gen_mmx_store(struct dc *s, ir_ref v, int op, int mo)
{
	ir_ref addr = gen_ea(s, &s->op[op]);
	if (!x86_amd)
		ir_stenv(s, cst(s, 0), CPU_OFF(fpu.top), IR_MO_8);
	ir_st(s, v, addr, mo);
	gen_mmx_enter(s);
}

ir_ref gen_ld_mm(struct dc *s, int i)
{
	return ir_ldenv(s, MM_OFF(i), IR_MO_64);
}

/* A write also sets the register's sign and exponent to all ones. */
void gen_st_mm(struct dc *s, int i, ir_ref v)
{
	ir_stenv(s, v, MM_OFF(i), IR_MO_64);
	ir_stenv(s, cst(s, 0xffff), MM_OFF(i) + 8, IR_MO_16);
}

/* Operand i as a 64-bit value: an MMX register, memory of the operand's
 * size (m64, or m32 for the low-half unpacks), or an imm8. */
static ir_ref gen_mm_src(struct dc *s, int i)
{
	int m = mm_op(s, i);
	if (m >= 0)
		return gen_ld_mm(s, m);
	if (op_is_mem(s, i))
		return ir_ld(s, gen_ea(s, &s->op[i]), size_of_bits(s->op[i].size));
	if (s->op[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return cst(s, s->op[i].imm.value.u & 0xff);
	return 0;
}

static uint64_t imm_of(struct dc *s, int i)
{
	if (i < s->insn.operand_count && s->op[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return s->op[i].imm.value.u & 0xff;
	return 0;
}

/* `op mm, mm/m64[, imm8]` and the shifts' `op mm, imm8`, through the helper. */
static bool gen_mmx_op(struct dc *s, enum mmx_op op)
{
	int d = mm_op(s, 0);
	if (d < 0)
		return false;
	ir_ref b = gen_mm_src(s, 1);
	if (!b)
		return false;
	ir_ref a = gen_ld_mm(s, d);
	ir_ref r = gen_helper(s, HELPER_mmx, 4, cst(s, op), a, b, cst(s, imm_of(s, 2)));
	gen_mmx_enter(s);
	gen_st_mm(s, d, r);
	return true;
}

#define LIFT_A(name) static bool gen_MMX_##name(struct dc *s) { return gen_mmx_op(s, MMX_##name); }
#define LIFT_C(name)
#define X(name, kind) LIFT_##kind(name)
MMX_OPS(X)
#undef X
LIFT_A(PSHUFW)
LIFT_A(PALIGNR)

static bool gen_MMX_PMOVMSKB(struct dc *s)
{
	int m = mm_op(s, 1);
	if (m < 0 || reg_index(s->op[0].reg.value) < 0)
		return false;
	ir_ref r = gen_helper(s, HELPER_mmx, 4, cst(s, MMX_PMOVMSKB), cst(s, 0), gen_ld_mm(s, m),
			      cst(s, 0));
	gen_mmx_enter(s);
	gen_st_op(s, 0, r);
	return true;
}

static bool gen_MMX_PEXTRW(struct dc *s)
{
	int m = mm_op(s, 1);
	if (m < 0 || reg_index(s->op[0].reg.value) < 0)
		return false;
	ir_ref r = ir_extr(s, gen_ld_mm(s, m), 16 * (imm_of(s, 2) & 3), 16, false);
	gen_mmx_enter(s);
	gen_st_op(s, 0, r);
	return true;
}

static bool gen_MMX_PINSRW(struct dc *s)
{
	int d = mm_op(s, 0);
	if (d < 0)
		return false;
	ir_ref v = op_is_mem(s, 1) ? ir_ld(s, gen_ea(s, &s->op[1]), IR_MO_16) : gen_ld_op(s, 1);
	ir_ref r = ir_dep(s, gen_ld_mm(s, d), v, 16 * (imm_of(s, 2) & 3), 16);
	gen_mmx_enter(s);
	gen_st_mm(s, d, r);
	return true;
}

/* MOVD/MOVQ with an MMX side: to it from a GPR, memory or an MMX register
 * (32-bit sources zero-extended), or from it to a GPR or memory. */
static bool gen_MMX_MOV(struct dc *s)
{
	int d = mm_op(s, 0), m = mm_op(s, 1);
	if (d >= 0) {
		ir_ref v = m >= 0 ? gen_ld_mm(s, m) : gen_ld_op(s, 1);
		gen_mmx_enter(s);
		gen_st_mm(s, d, v);
		return true;
	}
	if (m < 0)
		return false;
	if (op_is_mem(s, 0)) {
		gen_mmx_store(s, gen_ld_mm(s, m), 0, op_size(s, 0));
		return true;
	}
	gen_st_op(s, 0, gen_ld_mm(s, m));	/* a GPR, 32 or 64 bits */
	gen_mmx_enter(s);
	return true;
}

static bool gen_MMX_MOVNTQ(struct dc *s)
{
	int m = mm_op(s, 1);
	if (m < 0 || !op_is_mem(s, 0))
		return false;
	gen_mmx_store(s, gen_ld_mm(s, m), 0, IR_MO_64);
	return true;
}

static bool gen_MMX_MOVQ2DQ(struct dc *s)
{
	int m = mm_op(s, 1);
	ZydisRegister x = s->op[0].reg.value;
	if (m < 0 || x < ZYDIS_REGISTER_XMM0 || x > ZYDIS_REGISTER_XMM15)
		return false;
	int32_t off = CPU_OFF(xmm) + 16 * (x - ZYDIS_REGISTER_XMM0);
	ir_ref v = gen_ld_mm(s, m);
	gen_mmx_enter(s);
	ir_stenv(s, v, off, IR_MO_64);
	ir_stenv(s, cst(s, 0), off + 8, IR_MO_64);
	return true;
}

static bool gen_MMX_MOVDQ2Q(struct dc *s)
{
	int d = mm_op(s, 0);
	ZydisRegister x = s->op[1].reg.value;
	if (d < 0 || x < ZYDIS_REGISTER_XMM0 || x > ZYDIS_REGISTER_XMM15)
		return false;
	ir_ref v = ir_ldenv(s, CPU_OFF(xmm) + 16 * (x - ZYDIS_REGISTER_XMM0), IR_MO_64);
	gen_mmx_enter(s);
	gen_st_mm(s, d, v);
	return true;
}

/* Stores the bytes of the first MMX operand whose byte in the second has
 * its top bit set, at [rdi] (edi with an address-size prefix, and an FS or
 * GS override's base): the host's maskmovq (helper_mmx_maskmov), so that
 * which bytes are touched and where a fault is reported are the CPU's. */
static bool gen_MMX_MASKMOVQ(struct dc *s)
{
	int v = -1, k = -1, mem = -1;
	for (int i = 0; i < s->insn.operand_count; i++) {
		int m = mm_op(s, i);
		if (op_is_mem(s, i))
			mem = i;
		if (m < 0)
			continue;
		if (v < 0)
			v = m;
		else
			k = m;
	}
	if (v < 0 || k < 0 || mem < 0)
		return false;
	ir_ref data = gen_ld_mm(s, v), mask = gen_ld_mm(s, k);
	/* The CPU is in MMX state even if a store faults (an Intel host
	 * shows TOP 0 and every tag valid in the signal frame). */
	gen_mmx_enter(s);
	ir_ref ea = gen_ea(s, &s->op[mem]);
	gen_ac_check(s, ea, 8);
	gen_sync_pc(s, s->pc);
	gen_helper(s, HELPER_mmx_maskmov, 4, s->ir->env, data, mask, ea);
	return true;
}

/* EMMS: every tag empty, and TOP 0 as after any MMX instruction (the
 * SDM's table of MMX effects on the x87 state; an Intel host agrees). */
static bool gen_EMMS(struct dc *s)
{
	ir_stenv(s, cst(s, 0), CPU_OFF(fpu.top), IR_MO_8);
	ir_stenv(s, cst(s, 0), CPU_OFF(fpu.ftw), IR_MO_16);
	return true;
}

const struct lift_entry lift_mmx_table[] = {
#define X(name, kind) { ZYDIS_MNEMONIC_##name, gen_MMX_##name },
	MMX_OPS(X)
#undef X
	{ ZYDIS_MNEMONIC_PEXTRW, gen_MMX_PEXTRW },
	{ ZYDIS_MNEMONIC_PINSRW, gen_MMX_PINSRW },
	{ ZYDIS_MNEMONIC_MOVD, gen_MMX_MOV },
	{ ZYDIS_MNEMONIC_MOVQ, gen_MMX_MOV },
	{ ZYDIS_MNEMONIC_MOVNTQ, gen_MMX_MOVNTQ },
	{ ZYDIS_MNEMONIC_MOVQ2DQ, gen_MMX_MOVQ2DQ },
	{ ZYDIS_MNEMONIC_MOVDQ2Q, gen_MMX_MOVDQ2Q },
	{ ZYDIS_MNEMONIC_MASKMOVQ, gen_MMX_MASKMOVQ },
	{ ZYDIS_MNEMONIC_EMMS, gen_EMMS },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
