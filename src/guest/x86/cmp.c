/*
 * What compare an instruction makes, for AFL++'s compare tools
 * (instrument/afl.c, afl-cmplog.c).
 *
 * CompCov: `cmp` or `sub` of a general register of 2, 4 or 8 bytes with an
 * immediate or with another register.  Memory operands and 1-byte compares
 * are not reported (the former would need the address, the latter is
 * already one edge).
 *
 * CMPLOG: `cmp` and `sub` of any size and operands (as qemuafl logs them),
 * and calls; the operands are described at translation time and fetched
 * at run time.
 */
#include <Zydis/Zydis.h>
#include "guest/guest.h"
#include "guest/x86/cpu.h"
#include "guest/x86/translate.h"

bool guest_insn_cmp(const uint8_t *code, size_t len, struct guest_cmp *c)
{
	static ZydisDecoder dec;
	static bool init;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];

	if (!init) {
		ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
		init = true;
	}
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code, len, &in, op)) ||
	    (in.mnemonic != ZYDIS_MNEMONIC_CMP && in.mnemonic != ZYDIS_MNEMONIC_SUB) ||
	    in.operand_count_visible != 2 || op[0].type != ZYDIS_OPERAND_TYPE_REGISTER)
		return false;
	unsigned size = op[0].size / 8;
	int r = reg_index(op[0].reg.value);
	if (r < 0 || (size != 2 && size != 4 && size != 8))
		return false;
	*c = (struct guest_cmp){ .reg = r, .reg2 = -1, .size = size };
	if (op[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		uint64_t v = op[1].imm.is_signed ? (uint64_t)op[1].imm.value.s : op[1].imm.value.u;
		c->imm = size == 8 ? v : v & ((1ull << (size * 8)) - 1);
		return true;
	}
	if (op[1].type == ZYDIS_OPERAND_TYPE_REGISTER && (c->reg2 = reg_index(op[1].reg.value)) >= 0)
		return true;
	return false;
}

uint64_t guest_gpr(void *cpu, int i)
{
	return ((struct cpu *)cpu)->regs[i];
}

/* ---- CMPLOG ----
 * An operand packs into 20 bits of desc (two of them: bits 0-19, 20-39):
 *   kind (2 bits: none, register, immediate, memory), register or base
 *   + 1 (5), high-byte register (1), index + 1 (5), log2 scale (2),
 *   segment (2: none, fs, gs), 32-bit address (1).
 * Bits 40-43: the size in bytes.  A memory operand's displacement (made
 * absolute for rip-relative) or an immediate is in x[i]. */
enum { OP_NONE, OP_REG, OP_IMM, OP_MEM };
enum { SEG_NONE, SEG_FS, SEG_GS };

static uint32_t pack_reg(int kind, int reg, bool high8)
{
	return (uint32_t)kind | (uint32_t)(reg + 1) << 2 | (uint32_t)high8 << 7;
}

static bool is_high8_reg(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_AH || r == ZYDIS_REGISTER_CH || r == ZYDIS_REGISTER_DH ||
	       r == ZYDIS_REGISTER_BH;
}

/* One operand of a compare, or false if it is not of a kind we fetch. */
static bool pack_operand(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *op,
			 uint64_t pc, unsigned size, uint32_t *d, uint64_t *x)
{
	switch (op->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER: {
		int r = reg_index(op->reg.value);
		if (r < 0)
			return false;
		*d = pack_reg(OP_REG, r, is_high8_reg(op->reg.value));
		*x = 0;
		return true;
	}
	case ZYDIS_OPERAND_TYPE_IMMEDIATE: {
		uint64_t v = op->imm.is_signed ? (uint64_t)op->imm.value.s : op->imm.value.u;
		*d = OP_IMM;
		*x = size == 8 ? v : v & ((1ull << (size * 8)) - 1);
		return true;
	}
	case ZYDIS_OPERAND_TYPE_MEMORY: {
		const ZydisDecodedOperandMem *m = &op->mem;
		int base = -1, index = -1, seg = SEG_NONE;
		uint64_t disp = (uint64_t)m->disp.value;
		if (m->type != ZYDIS_MEMOP_TYPE_MEM)
			return false;
		if (m->base == ZYDIS_REGISTER_RIP || m->base == ZYDIS_REGISTER_EIP)
			disp += pc + in->length;	/* known now */
		else if (m->base != ZYDIS_REGISTER_NONE && (base = reg_index(m->base)) < 0)
			return false;
		if (m->index != ZYDIS_REGISTER_NONE && (index = reg_index(m->index)) < 0)
			return false;
		if (m->segment == ZYDIS_REGISTER_FS)
			seg = SEG_FS;
		else if (m->segment == ZYDIS_REGISTER_GS)
			seg = SEG_GS;
		unsigned sh = m->scale == 8 ? 3 : m->scale == 4 ? 2 : m->scale == 2 ? 1 : 0;
		*d = pack_reg(OP_MEM, base, false) | (uint32_t)(index + 1) << 8 | sh << 13 |
		     (uint32_t)seg << 15 | (uint32_t)(in->address_width == 32) << 17;
		*x = disp;
		return true;
	}
	default:
		return false;
	}
}

bool guest_insn_cmplog(uint64_t pc, const uint8_t *code, size_t len, struct guest_cmplog *c)
{
	static ZydisDecoder dec;
	static bool init;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
	uint32_t d0, d1;

	if (!init) {
		ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
		init = true;
	}
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code, len, &in, op)))
		return false;
	if (in.mnemonic == ZYDIS_MNEMONIC_CALL) {
		/* SysV: the first two arguments are in rdi and rsi. */
		*c = (struct guest_cmplog){ .call = true, .size = 8 };
		c->desc = pack_reg(OP_REG, 7, false) | (uint64_t)pack_reg(OP_REG, 6, false) << 20 |
			  8ull << 40;
		return true;
	}
	if ((in.mnemonic != ZYDIS_MNEMONIC_CMP && in.mnemonic != ZYDIS_MNEMONIC_SUB) ||
	    in.operand_count_visible != 2)
		return false;
	unsigned size = op[0].size / 8;
	if (size != 1 && size != 2 && size != 4 && size != 8)
		return false;
	*c = (struct guest_cmplog){ .size = size };
	if (!pack_operand(&in, &op[0], pc, size, &d0, &c->x[0]) ||
	    !pack_operand(&in, &op[1], pc, size, &d1, &c->x[1]))
		return false;
	c->desc = d0 | (uint64_t)d1 << 20 | (uint64_t)size << 40;
	return true;
}

static bool operand_value(struct cpu *cpu, uint32_t d, uint64_t x, unsigned size, uint64_t *v,
			  int (*read)(void *dst, uint64_t src, size_t n))
{
	int reg = (int)(d >> 2 & 31) - 1, index = (int)(d >> 8 & 31) - 1;
	uint64_t a;

	switch (d & 3) {
	case OP_REG:
		*v = cpu->regs[reg] >> (d >> 7 & 1 ? 8 : 0);
		break;
	case OP_IMM:
		*v = x;
		break;
	case OP_MEM:
		a = x + (reg >= 0 ? cpu->regs[reg] : 0) +
		    (index >= 0 ? cpu->regs[index] << (d >> 13 & 3) : 0);
		if (d >> 17 & 1)
			a = (uint32_t)a;
		if ((d >> 15 & 3) == SEG_FS)
			a += cpu->fs_base;
		else if ((d >> 15 & 3) == SEG_GS)
			a += cpu->gs_base;
		*v = 0;
		if (read(v, a, size) < 0)
			return false;
		break;
	default:
		return false;
	}
	if (size < 8)
		*v &= (1ull << (size * 8)) - 1;
	return true;
}

bool guest_cmplog_operands(void *cpu, uint64_t desc, uint64_t x0, uint64_t x1, uint64_t v[2],
			   int (*read)(void *dst, uint64_t src, size_t n))
{
	unsigned size = desc >> 40 & 15;
	return operand_value(cpu, desc & 0xfffff, x0, size, &v[0], read) &&
	       operand_value(cpu, desc >> 20 & 0xfffff, x1, size, &v[1], read);
}
