/*
 * x86-64 instruction encoder (see emit.h for the layering).  Only the forms
 * the backend uses are here; each is checked by tests/unit/test_emit.c, which
 * decodes the bytes back with Zydis.
 */
#include "host/x86/emit.h"

void emit_opc(struct emit *e, int opc, int r, int rm, int x)
{
	int rex = 0;

	if (opc & P_LOCK)
		emit8(e, 0xf0);
	if (opc & P_DATA16)
		emit8(e, 0x66);
	if (opc & P_SIMDF3)
		emit8(e, 0xf3);
	else if (opc & P_SIMDF2)
		emit8(e, 0xf2);
	rex |= (opc & P_REXW) ? 8 : 0;
	rex |= (r & 8) >> 1;
	rex |= (x & 8) >> 2;
	rex |= (rm & 8) >> 3;
	/* spl/bpl/sil/dil need a REX prefix to not mean ah/ch/dh/bh */
	if (((opc & P_REXB_R) && r >= 4) || ((opc & P_REXB_RM) && rm >= 4))
		rex |= 0x40;
	if (rex)
		emit8(e, 0x40 | rex);
	if (opc & (P_EXT | P_EXT38 | P_EXT3A)) {
		emit8(e, 0x0f);
		if (opc & P_EXT38)
			emit8(e, 0x38);
		else if (opc & P_EXT3A)
			emit8(e, 0x3a);
	}
	emit8(e, opc & 0xff);
}

void emit_modrm(struct emit *e, int opc, int r, int rm)
{
	emit_opc(e, opc, r, rm, 0);
	emit8(e, 0xc0 | ((r & 7) << 3) | (rm & 7));
}

void emit_vex_rr(struct emit *e, int opc, int r, int v, int rm)
{
	int map = opc & P_EXT38 ? 2 : opc & P_EXT3A ? 3 : 1;
	int pp = opc & P_DATA16 ? 1 : opc & P_SIMDF3 ? 2 : opc & P_SIMDF2 ? 3 : 0;

	emit8(e, 0xc4);
	emit8(e, (r & 8 ? 0 : 0x80) | 0x40 | (rm & 8 ? 0 : 0x20) | map);	/* ~R ~X ~B map */
	emit8(e, (opc & P_REXW ? 0x80 : 0) | (~v & 15) << 3 | pp);		/* W ~vvvv L=0 pp */
	emit8(e, opc & 0xff);
	emit8(e, 0xc0 | ((r & 7) << 3) | (rm & 7));
}

void emit_modrm_ext(struct emit *e, int opc, int ext, int rm)
{
	emit_opc(e, opc, 0, rm, 0);
	emit8(e, 0xc0 | (ext << 3) | (rm & 7));
}

void emit_modrm_sib(struct emit *e, int opc, int r, int base, int index, int shift, int32_t disp)
{
	int mod, len;

	if (base == H_NONE && index == H_NONE)
		__builtin_trap();	/* absolute addressing is never used */
	emit_opc(e, opc, r, base == H_NONE ? 0 : base, index == H_NONE ? 0 : index);
	if (base == H_NONE) {
		/* [index*s + disp32]: mod 00, rm 100, base 101 */
		emit8(e, ((r & 7) << 3) | 4);
		emit8(e, (shift << 6) | ((index & 7) << 3) | 5);
		emit32(e, disp);
		return;
	}
	/* rbp/r13 as base always need a displacement */
	if (disp == 0 && (base & 7) != H_RBP)
		mod = 0, len = 0;
	else if (disp == (int8_t)disp)
		mod = 0x40, len = 1;
	else
		mod = 0x80, len = 4;
	if (index == H_NONE && (base & 7) != H_RSP) {
		emit8(e, mod | ((r & 7) << 3) | (base & 7));
	} else {
		/* SIB byte; index 100 means none (rsp can't be an index) */
		int idx = index == H_NONE ? 4 : (index & 7);
		emit8(e, mod | ((r & 7) << 3) | 4);
		emit8(e, (shift << 6) | (idx << 3) | (base & 7));
	}
	if (len == 1)
		emit8(e, disp);
	else if (len == 4)
		emit32(e, disp);
}

void emit_modrm_rip(struct emit *e, int opc, int r, uintptr_t target_rx, int imm_bytes)
{
	emit_opc(e, opc, r, 0, 0);
	/* mod 00, rm 101: [rip + disp32], rip being the next instruction's
	 * address, which lies past the disp32 and the immediate */
	emit8(e, ((r & 7) << 3) | 5);
	emit32(e, (uint32_t)(target_rx - (emit_rx(e, e->p) + 4 + imm_bytes)));
}

void emit_mov_rr(struct emit *e, bool w, int dst, int src)
{
	if (dst != src || !w)
		emit_modrm(e, OPC_MOVL_GvEv | (w ? P_REXW : 0), dst, src);
}

void emit_movi(struct emit *e, int dst, uint64_t val)
{
	if (val == 0) {
		emit_modrm(e, OPC_ARITH_GvEv + (ARITH_XOR << 3), dst, dst);
	} else if (val == (uint32_t)val) {
		emit_opc(e, OPC_MOVL_Iv + (dst & 7), 0, dst, 0);
		emit32(e, val);
	} else if ((int64_t)val == (int32_t)val) {
		emit_modrm_ext(e, OPC_MOVL_EvIz | P_REXW, 0, dst);
		emit32(e, val);
	} else {
		emit_opc(e, (OPC_MOVL_Iv + (dst & 7)) | P_REXW, 0, dst, 0);
		emit64(e, val);
	}
}

void emit_arith_rr(struct emit *e, int arith, bool w, int dst, int src)
{
	emit_modrm(e, (OPC_ARITH_GvEv + (arith << 3)) | (w ? P_REXW : 0), dst, src);
}

void emit_arith_ri(struct emit *e, int arith, bool w, int dst, int32_t imm)
{
	int rexw = w ? P_REXW : 0;
	if (imm == (int8_t)imm) {
		emit_modrm_ext(e, OPC_ARITH_EvIb | rexw, arith, dst);
		emit8(e, imm);
	} else {
		emit_modrm_ext(e, OPC_ARITH_EvIz | rexw, arith, dst);
		emit32(e, imm);
	}
}

void emit_shift_ri(struct emit *e, int kind, bool w, int dst, int count)
{
	int rexw = w ? P_REXW : 0;
	if (count == 1) {
		emit_modrm_ext(e, OPC_SHIFT_1 | rexw, kind, dst);
	} else {
		emit_modrm_ext(e, OPC_SHIFT_Ib | rexw, kind, dst);
		emit8(e, count);
	}
}

void emit_shift_cl(struct emit *e, int kind, bool w, int dst)
{
	emit_modrm_ext(e, OPC_SHIFT_cl | (w ? P_REXW : 0), kind, dst);
}

void emit_unary(struct emit *e, int ext3, bool w, int reg)
{
	emit_modrm_ext(e, OPC_GRP3_Ev | (w ? P_REXW : 0), ext3, reg);
}

void emit_imul_rr(struct emit *e, bool w, int dst, int src)
{
	emit_modrm(e, OPC_IMUL_GvEv | (w ? P_REXW : 0), dst, src);
}

void emit_imul_rri(struct emit *e, bool w, int dst, int src, int32_t imm)
{
	int rexw = w ? P_REXW : 0;
	if (imm == (int8_t)imm) {
		emit_modrm(e, OPC_IMUL_GvEvIb | rexw, dst, src);
		emit8(e, imm);
	} else {
		emit_modrm(e, OPC_IMUL_GvEvIz | rexw, dst, src);
		emit32(e, imm);
	}
}

void emit_test_rr(struct emit *e, bool w, int a, int b)
{
	emit_modrm(e, OPC_TESTL | (w ? P_REXW : 0), b, a);
}

void emit_test_ri(struct emit *e, bool w, int a, int32_t imm)
{
	emit_modrm_ext(e, OPC_GRP3_Ev | (w ? P_REXW : 0), EXT3_TESTi, a);
	emit32(e, imm);
}

void emit_lea(struct emit *e, bool w, int dst, int base, int index, int shift, int32_t disp)
{
	emit_modrm_sib(e, OPC_LEA | (w ? P_REXW : 0), dst, base, index, shift, disp);
}

static const int load_opc[2][4] = {
	{ OPC_MOVZBL, OPC_MOVZWL, OPC_MOVL_GvEv, OPC_MOVL_GvEv | P_REXW },
	{ OPC_MOVSBL | P_REXW, OPC_MOVSWL | P_REXW, OPC_MOVSLQ, OPC_MOVL_GvEv | P_REXW },
};
static const int store_opc[4] = {
	OPC_MOVB_EvGv | P_REXB_R, OPC_MOVL_EvGv | P_DATA16, OPC_MOVL_EvGv, OPC_MOVL_EvGv | P_REXW,
};
static const int store_imm_opc[4] = {
	OPC_MOVB_EvIb, OPC_MOVL_EvIz | P_DATA16, OPC_MOVL_EvIz, OPC_MOVL_EvIz | P_REXW,
};

void emit_load(struct emit *e, int size, bool sign, int dst, int base, int32_t disp)
{
	emit_modrm_offset(e, load_opc[sign][size], dst, base, disp);
}

void emit_load_rip(struct emit *e, int size, bool sign, int dst, uintptr_t target_rx)
{
	emit_modrm_rip(e, load_opc[sign][size], dst, target_rx, 0);
}

void emit_store(struct emit *e, int size, int src, int base, int32_t disp)
{
	emit_modrm_offset(e, store_opc[size], src, base, disp);
}

/* The same at [base + index << shift + disp] (base H_NONE: none): the soft
 * MMU's TLB addend plus the address, a user-mode guest address as the
 * guest's instruction formed it. */
void emit_load_idx(struct emit *e, int size, bool sign, int dst, int base, int index, int shift,
		   int32_t disp)
{
	emit_modrm_sib(e, load_opc[sign][size], dst, base, index, shift, disp);
}

void emit_store_idx(struct emit *e, int size, int src, int base, int index, int shift, int32_t disp)
{
	emit_modrm_sib(e, store_opc[size], src, base, index, shift, disp);
}

static void emit_imm_of_size(struct emit *e, int size, int32_t imm)
{
	if (size == 0)
		emit8(e, imm);
	else if (size == 1)
		emit16(e, imm);
	else
		emit32(e, imm);
}

void emit_store_imm_idx(struct emit *e, int size, int32_t imm, int base, int index, int shift,
			int32_t disp)
{
	emit_modrm_sib(e, store_imm_opc[size], 0, base, index, shift, disp);
	emit_imm_of_size(e, size, imm);
}

void emit_store_imm(struct emit *e, int size, int32_t imm, int base, int32_t disp)
{
	emit_modrm_offset(e, store_imm_opc[size], 0, base, disp);
	emit_imm_of_size(e, size, imm);
}

void emit_ext(struct emit *e, int size, bool sign, int dst, int src)
{
	static const int opc[2][3] = {
		{ OPC_MOVZBL | P_REXB_RM, OPC_MOVZWL, OPC_MOVL_GvEv },
		{ OPC_MOVSBL | P_REXW | P_REXB_RM, OPC_MOVSWL | P_REXW, OPC_MOVSLQ },
	};
	emit_modrm(e, opc[sign][size], dst, src);
}

void emit_bswap(struct emit *e, bool w, int reg)
{
	emit_opc(e, (OPC_BSWAP + (reg & 7)) | (w ? P_REXW : 0), 0, reg, 0);
}

void emit_setcc(struct emit *e, int cc, int dst)
{
	emit_modrm_ext(e, OPC_SETCC + cc, 0, dst);
}

void emit_cmov(struct emit *e, int cc, bool w, int dst, int src)
{
	emit_modrm(e, (OPC_CMOVCC + cc) | (w ? P_REXW : 0), dst, src);
}

uint8_t *emit_jcc32(struct emit *e, int cc)
{
	emit_opc(e, OPC_JCC_long + cc, 0, 0, 0);
	uint8_t *field = e->p;
	emit32(e, 0);
	return field;
}

uint8_t *emit_jmp32(struct emit *e)
{
	emit8(e, OPC_JMP_long);
	uint8_t *field = e->p;
	emit32(e, 0);
	return field;
}

void emit_patch_rel32(uint8_t *field, const struct emit *e, uintptr_t target_rx)
{
	int32_t rel = (int32_t)(target_rx - (emit_rx(e, field) + 4));
	memcpy(field, &rel, 4);
}

static bool fits_rel32(const struct emit *e, uintptr_t target_rx, int insn_len)
{
	int64_t rel = (int64_t)(target_rx - (emit_rx(e, e->p) + insn_len));
	return rel == (int32_t)rel;
}

void emit_jmp_to(struct emit *e, uintptr_t target_rx)
{
	emit_patch_rel32(emit_jmp32(e), e, target_rx);
}

void emit_call_to(struct emit *e, uintptr_t target_rx)
{
	if (fits_rel32(e, target_rx, 5)) {
		emit8(e, OPC_CALL_Jz);
		uint8_t *field = e->p;
		emit32(e, 0);
		emit_patch_rel32(field, e, target_rx);
	} else {
		emit_movi(e, H_R11, target_rx);
		emit_modrm_ext(e, OPC_GRP5, EXT5_CALLN_Ev, H_R11);
	}
}

void emit_jmp_reg(struct emit *e, int reg)
{
	emit_modrm_ext(e, OPC_GRP5, EXT5_JMPN_Ev, reg);
}

void emit_push(struct emit *e, int reg)
{
	emit_opc(e, OPC_PUSH_r32 + (reg & 7), 0, reg, 0);
}

void emit_pop(struct emit *e, int reg)
{
	emit_opc(e, OPC_POP_r32 + (reg & 7), 0, reg, 0);
}

void emit_ret(struct emit *e)
{
	emit8(e, OPC_RET);
}

void emit_pushf(struct emit *e)
{
	emit8(e, OPC_PUSHF);
}

void emit_mfence(struct emit *e)
{
	emit_opc(e, OPC_MFENCE, 0, 0, 0);
	emit8(e, 0xf0);
}

void emit_nops(struct emit *e, int n)
{
	/* Recommended multi-byte nops (0f 1f /0), longest first. */
	static const uint8_t nop[][8] = {
		{ 0 }, { 0x90 }, { 0x66, 0x90 }, { 0x0f, 0x1f, 0x00 },
		{ 0x0f, 0x1f, 0x40, 0x00 }, { 0x0f, 0x1f, 0x44, 0x00, 0x00 },
		{ 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
		{ 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
	};
	while (n > 0) {
		int k = n > 7 ? 7 : n;
		memcpy(e->p, nop[k], k);
		e->p += k;
		n -= k;
	}
}

void emit_atomic(struct emit *e, int opc, int size, int reg, int base)
{
	static const int sz[4] = { P_REXB_R, P_DATA16, 0, P_REXW };
	int o = opc | P_LOCK | sz[size];
	if (size == 0)
		o -= 1;		/* byte forms are the even opcodes (b0, c0, 86) */
	emit_modrm_offset(e, o, reg, base, 0);
}
