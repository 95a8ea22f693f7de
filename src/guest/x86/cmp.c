/*
 * What compare an instruction makes, for tools that split multi-byte
 * comparisons (AFL++'s CompCov, instrument/afl.c): `cmp` or `sub` of a
 * general register of 2, 4 or 8 bytes with an immediate or with another
 * register.  Memory operands and 1-byte compares are not reported (the
 * former would need the address, the latter is already one edge).
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
