/*
 * Encoder tests (host/x86/emit.c): every emit_* function is run over all
 * sixteen host registers and a set of edge displacements and immediates, and
 * the bytes are decoded back with Zydis.  Each instruction is checked for its
 * mnemonic, its visible operands (register and width; memory base, index,
 * scale and displacement; immediate value at the operation's width), the
 * shortest encoding where the encoder promises one, and that the decoded
 * length is exactly the number of bytes emitted.
 *
 * Combinations the encoder documents as unsupported are skipped: rsp as an
 * index, and an address with neither base nor index.  The executable view is
 * a fake address (RX) away from the buffer, so branch targets also check the
 * rw/rx split.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <Zydis/Zydis.h>
#include "host/x86/emit.h"
#include "unit.h"

#define RX 0x00007f1234560000ull	/* executable address of buf[0] */

static ZydisDecoder dec;
static uint8_t buf[256];
static struct emit E;
static char desc[160];

static const int32_t disps[] = {
	0, 1, -1, 127, -127, 128, -128, INT32_MAX, -INT32_MAX, INT32_MIN,
};
#define NDISPS (int)(sizeof(disps) / sizeof(disps[0]))
static const char *const rname[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

/* ---- Expected instructions -------------------------------------------- */

enum { X_REG = 1, X_MEM, X_IMM };

struct xop {
	uint8_t kind;
	uint16_t size;		/* bits; 0: don't check (lea's memory operand) */
	ZydisRegister reg;	/* X_REG */
	ZydisRegister base, index;	/* X_MEM */
	uint8_t scale;
	int64_t disp;
	uint64_t imm;		/* X_IMM: compared at `size` bits */
};

struct xinsn {
	ZydisMnemonic mn;
	uint8_t nops;		/* visible operands */
	bool lock;
	int disp_size;		/* raw displacement bytes*8 expected; -1: any */
	int imm_size;		/* raw immediate bits expected; -1: any */
	struct xop op[3];
};

/* Host register number -> Zydis register of the given width. */
static ZydisRegister gpr(int r, int bits)
{
	if (r < 0)
		return ZYDIS_REGISTER_NONE;
	switch (bits) {
	case 8:
		/* al cl dl bl, then spl bpl sil dil (never ah..bh), r8b.. */
		if (r < 4)
			return ZYDIS_REGISTER_AL + r;
		if (r < 8)
			return ZYDIS_REGISTER_SPL + (r - 4);
		return ZYDIS_REGISTER_R8B + (r - 8);
	case 16: return ZydisRegisterEncode(ZYDIS_REGCLASS_GPR16, r);
	case 32: return ZydisRegisterEncode(ZYDIS_REGCLASS_GPR32, r);
	default: return ZydisRegisterEncode(ZYDIS_REGCLASS_GPR64, r);
	}
}

static struct xop R(int r, int bits) { return (struct xop){ .kind = X_REG, .size = bits, .reg = gpr(r, bits) }; }
static struct xop I(uint64_t v, int bits) { return (struct xop){ .kind = X_IMM, .size = bits, .imm = v }; }
static struct xop M(int bits, int base, int index, int shift, int64_t disp)
{
	return (struct xop){ .kind = X_MEM, .size = bits, .base = gpr(base, 64),
			     .index = gpr(index, 64), .scale = index >= 0 ? 1 << shift : 0,
			     .disp = disp };
}

/* Displacement bytes the shortest encoding of [base + disp] needs. */
static int disp_bits(int base, int32_t disp)
{
	if (base < 0)
		return 32;
	if (disp == 0 && (base & 7) != H_RBP)
		return 0;
	return disp == (int8_t)disp ? 8 : 32;
}

static uint64_t mask_of(int bits)
{
	return bits >= 64 ? UINT64_MAX : (1ull << bits) - 1;
}

/* ---- Decoding and comparing ------------------------------------------- */

static void begin(void)
{
	memset(buf, 0xcc, sizeof(buf));
	E = (struct emit){ .p = buf, .start = buf, .end = buf + sizeof(buf),
			   .rx_start = (uint8_t *)(uintptr_t)RX };
}

static void dump_bytes(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", p[i]);
	ZydisDisassembledInstruction d;
	if (n && ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, 0, p, n, &d)))
		fprintf(stderr, "   (%s)", d.text);
	fputc('\n', stderr);
}

/* One check: count it, and on failure say which instruction and why. */
static bool expect(bool ok, const uint8_t *p, size_t n, const char *what)
{
	if (ok) {
		unit_passed++;
		return true;
	}
	unit_failed++;
	fprintf(stderr, "test_emit: %s: %s; bytes", desc, what);
	dump_bytes(p, n);
	return false;
}

static bool decode(const uint8_t *p, size_t n, ZydisDecodedInstruction *in,
		   ZydisDecodedOperand *ops)
{
	return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, p, n, in, ops));
}

/* Check the instruction at p (n bytes emitted for it). */
static void check_at(const uint8_t *p, size_t n, const struct xinsn *x)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	char why[128];

	if (!expect(n > 0 && decode(p, n, &in, ops), p, n, "does not decode"))
		return;
	expect(in.length == n, p, n, "decoded length differs from emitted length");
	if (!expect(in.mnemonic == x->mn, p, n, "wrong mnemonic"))
		return;
	expect(!(in.attributes & ZYDIS_ATTRIB_HAS_LOCK) == !x->lock, p, n,
	       x->lock ? "lock prefix missing" : "unexpected lock prefix");
	if (!expect(in.operand_count_visible == x->nops, p, n, "wrong operand count"))
		return;
	if (x->disp_size >= 0)
		expect(in.raw.disp.size == x->disp_size, p, n, "not the shortest displacement");
	if (x->imm_size >= 0)
		expect(in.raw.imm[0].size == x->imm_size, p, n, "not the shortest immediate");
	for (int i = 0; i < x->nops; i++) {
		const struct xop *w = &x->op[i];
		const ZydisDecodedOperand *o = &ops[i];
		snprintf(why, sizeof(why), "operand %d", i);
		switch (w->kind) {
		case X_REG:
			if (!expect(o->type == ZYDIS_OPERAND_TYPE_REGISTER, p, n, "operand is not a register"))
				break;
			expect(o->reg.value == w->reg, p, n, strcat(why, ": wrong register"));
			expect(o->size == w->size, p, n, "wrong register width");
			break;
		case X_MEM:
			if (!expect(o->type == ZYDIS_OPERAND_TYPE_MEMORY, p, n, "operand is not memory"))
				break;
			expect(o->mem.base == w->base, p, n, "wrong base");
			expect(o->mem.index == w->index, p, n, "wrong index");
			if (w->index != ZYDIS_REGISTER_NONE)
				expect(o->mem.scale == w->scale, p, n, "wrong scale");
			expect(o->mem.disp.value == w->disp, p, n, "wrong displacement");
			if (w->size)
				expect(o->size == w->size, p, n, "wrong memory width");
			break;
		case X_IMM:
			if (!expect(o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE, p, n, "operand is not an immediate"))
				break;
			expect((o->imm.value.u & mask_of(w->size)) == (w->imm & mask_of(w->size)), p, n,
			       "wrong immediate");
			break;
		}
	}
}

/* Check that the bytes emitted since begin() are exactly one instruction. */
static void check(struct xinsn x)
{
	check_at(E.start, E.p - E.start, &x);
}

/* ---- Register-register and register-immediate forms ------------------- */

static const ZydisMnemonic arith_mn[8] = {
	ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_OR, ZYDIS_MNEMONIC_ADC, ZYDIS_MNEMONIC_SBB,
	ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_CMP,
};
/* /6 is the undocumented SAL alias; decoders call it SHL. */
static const ZydisMnemonic shift_mn[8] = {
	ZYDIS_MNEMONIC_ROL, ZYDIS_MNEMONIC_ROR, ZYDIS_MNEMONIC_RCL, ZYDIS_MNEMONIC_RCR,
	ZYDIS_MNEMONIC_SHL, ZYDIS_MNEMONIC_SHR, ZYDIS_MNEMONIC_SHL, ZYDIS_MNEMONIC_SAR,
};
static const ZydisMnemonic setcc_mn[16] = {
	ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB, ZYDIS_MNEMONIC_SETNB,
	ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
	ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP, ZYDIS_MNEMONIC_SETNP,
	ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE,
};
static const ZydisMnemonic cmov_mn[16] = {
	ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB, ZYDIS_MNEMONIC_CMOVNB,
	ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE,
	ZYDIS_MNEMONIC_CMOVS, ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP, ZYDIS_MNEMONIC_CMOVNP,
	ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE, ZYDIS_MNEMONIC_CMOVNLE,
};
static const ZydisMnemonic jcc_mn[16] = {
	ZYDIS_MNEMONIC_JO, ZYDIS_MNEMONIC_JNO, ZYDIS_MNEMONIC_JB, ZYDIS_MNEMONIC_JNB,
	ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_JNZ, ZYDIS_MNEMONIC_JBE, ZYDIS_MNEMONIC_JNBE,
	ZYDIS_MNEMONIC_JS, ZYDIS_MNEMONIC_JNS, ZYDIS_MNEMONIC_JP, ZYDIS_MNEMONIC_JNP,
	ZYDIS_MNEMONIC_JL, ZYDIS_MNEMONIC_JNL, ZYDIS_MNEMONIC_JLE, ZYDIS_MNEMONIC_JNLE,
};

static void test_mov_rr(void)
{
	for (int w = 0; w < 2; w++)
		for (int d = 0; d < 16; d++)
			for (int s = 0; s < 16; s++) {
				int bits = w ? 64 : 32;
				snprintf(desc, sizeof(desc), "emit_mov_rr(w=%d, %s, %s)", w, rname[d], rname[s]);
				begin();
				emit_mov_rr(&E, w, d, s);
				if (w && d == s) {
					/* a 64-bit self move is elided; a 32-bit one zero-extends */
					expect(E.p == E.start, E.start, E.p - E.start, "self move not elided");
					continue;
				}
				check((struct xinsn){ ZYDIS_MNEMONIC_MOV, 2, .disp_size = -1, .imm_size = -1,
						      .op = { R(d, bits), R(s, bits) } });
			}
}

static void test_movi(void)
{
	static const uint64_t vals[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff,
		0x100000000ull, UINT64_MAX, 0xffffffff80000000ull, 0xffffffff7fffffffull,
		0xffffffffffffff80ull, 0x123456789abcdef0ull, 0x8000000000000000ull,
		0x7fffffffffffffffull,
	};
	for (int d = 0; d < 16; d++)
		for (unsigned k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
			uint64_t v = vals[k];
			snprintf(desc, sizeof(desc), "emit_movi(%s, 0x%" PRIx64 ")", rname[d], v);
			begin();
			emit_movi(&E, d, v);
			if (v == 0) {
				check((struct xinsn){ ZYDIS_MNEMONIC_XOR, 2, .disp_size = -1, .imm_size = -1,
						      .op = { R(d, 32), R(d, 32) } });
			} else if (v == (uint32_t)v) {
				/* mov r32, imm32 zero-extends: 5 bytes, 6 with REX.B */
				check((struct xinsn){ ZYDIS_MNEMONIC_MOV, 2, .disp_size = -1, .imm_size = 32,
						      .op = { R(d, 32), I(v, 32) } });
				expect(E.p - E.start == 5 + (d >= 8), E.start, E.p - E.start, "not the short form");
			} else if ((int64_t)v == (int32_t)v) {
				/* mov r64, simm32 */
				check((struct xinsn){ ZYDIS_MNEMONIC_MOV, 2, .disp_size = -1, .imm_size = 32,
						      .op = { R(d, 64), I(v, 64) } });
			} else {
				check((struct xinsn){ ZYDIS_MNEMONIC_MOV, 2, .disp_size = -1, .imm_size = 64,
						      .op = { R(d, 64), I(v, 64) } });
			}
		}
}

static void test_arith(void)
{
	static const int32_t imms[] = {
		0, 1, -1, 127, -127, 128, -128, INT32_MAX, -INT32_MAX, INT32_MIN, 0x12345,
	};
	for (int op = 0; op < 8; op++)
		for (int w = 0; w < 2; w++)
			for (int d = 0; d < 16; d++) {
				int bits = w ? 64 : 32;
				for (int s = 0; s < 16; s++) {
					snprintf(desc, sizeof(desc), "emit_arith_rr(%d, w=%d, %s, %s)", op, w,
						 rname[d], rname[s]);
					begin();
					emit_arith_rr(&E, op, w, d, s);
					check((struct xinsn){ arith_mn[op], 2, .disp_size = -1, .imm_size = -1,
							      .op = { R(d, bits), R(s, bits) } });
				}
				for (unsigned k = 0; k < sizeof(imms) / sizeof(imms[0]); k++) {
					int32_t imm = imms[k];
					snprintf(desc, sizeof(desc), "emit_arith_ri(%d, w=%d, %s, %d)", op, w,
						 rname[d], imm);
					begin();
					emit_arith_ri(&E, op, w, d, imm);
					check((struct xinsn){ arith_mn[op], 2, .disp_size = -1,
							      .imm_size = imm == (int8_t)imm ? 8 : 32,
							      .op = { R(d, bits), I((uint64_t)(int64_t)imm, bits) } });
				}
			}
}

static void test_shift(void)
{
	for (int kind = 0; kind < 8; kind++)
		for (int w = 0; w < 2; w++)
			for (int d = 0; d < 16; d++) {
				int bits = w ? 64 : 32;
				static const int counts[] = { 1, 2, 7, 8, 31, 32, 63 };
				for (unsigned k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
					int n = counts[k];
					if (n >= bits)
						continue;
					snprintf(desc, sizeof(desc), "emit_shift_ri(%d, w=%d, %s, %d)", kind, w,
						 rname[d], n);
					begin();
					emit_shift_ri(&E, kind, w, d, n);
					/* count 1 uses the short D1 form (no immediate byte) */
					check((struct xinsn){ shift_mn[kind], 2, .disp_size = -1,
							      .imm_size = n == 1 ? 0 : 8,
							      .op = { R(d, bits), I(n, 8) } });
				}
				snprintf(desc, sizeof(desc), "emit_shift_cl(%d, w=%d, %s)", kind, w, rname[d]);
				begin();
				emit_shift_cl(&E, kind, w, d);
				check((struct xinsn){ shift_mn[kind], 2, .disp_size = -1, .imm_size = -1,
						      .op = { R(d, bits), R(H_RCX, 8) } });
			}
}

static void test_unary_imul_test(void)
{
	static const ZydisMnemonic grp3_mn[8] = {
		[EXT3_NOT] = ZYDIS_MNEMONIC_NOT, [EXT3_NEG] = ZYDIS_MNEMONIC_NEG,
		[EXT3_MUL] = ZYDIS_MNEMONIC_MUL, [EXT3_IMUL] = ZYDIS_MNEMONIC_IMUL,
		[EXT3_DIV] = ZYDIS_MNEMONIC_DIV, [EXT3_IDIV] = ZYDIS_MNEMONIC_IDIV,
	};
	static const int32_t imms[] = { 0, 1, -1, 127, -128, 128, -129, INT32_MAX, INT32_MIN };

	for (int w = 0; w < 2; w++) {
		int bits = w ? 64 : 32;
		for (int r = 0; r < 16; r++) {
			for (int x = EXT3_NOT; x <= EXT3_IDIV; x++) {
				snprintf(desc, sizeof(desc), "emit_unary(%d, w=%d, %s)", x, w, rname[r]);
				begin();
				emit_unary(&E, x, w, r);
				check((struct xinsn){ grp3_mn[x], 1, .disp_size = -1, .imm_size = -1,
						      .op = { R(r, bits) } });
			}
			snprintf(desc, sizeof(desc), "emit_bswap(w=%d, %s)", w, rname[r]);
			begin();
			emit_bswap(&E, w, r);
			check((struct xinsn){ ZYDIS_MNEMONIC_BSWAP, 1, .disp_size = -1, .imm_size = -1,
					      .op = { R(r, bits) } });
			for (int s = 0; s < 16; s++) {
				snprintf(desc, sizeof(desc), "emit_imul_rr(w=%d, %s, %s)", w, rname[r], rname[s]);
				begin();
				emit_imul_rr(&E, w, r, s);
				check((struct xinsn){ ZYDIS_MNEMONIC_IMUL, 2, .disp_size = -1, .imm_size = -1,
						      .op = { R(r, bits), R(s, bits) } });
				snprintf(desc, sizeof(desc), "emit_test_rr(w=%d, %s, %s)", w, rname[r], rname[s]);
				begin();
				emit_test_rr(&E, w, r, s);
				check((struct xinsn){ ZYDIS_MNEMONIC_TEST, 2, .disp_size = -1, .imm_size = -1,
						      .op = { R(r, bits), R(s, bits) } });
				for (unsigned k = 0; k < sizeof(imms) / sizeof(imms[0]); k++) {
					int32_t imm = imms[k];
					snprintf(desc, sizeof(desc), "emit_imul_rri(w=%d, %s, %s, %d)", w,
						 rname[r], rname[s], imm);
					begin();
					emit_imul_rri(&E, w, r, s, imm);
					check((struct xinsn){ ZYDIS_MNEMONIC_IMUL, 3, .disp_size = -1,
							      .imm_size = imm == (int8_t)imm ? 8 : 32,
							      .op = { R(r, bits), R(s, bits),
								      I((uint64_t)(int64_t)imm, bits) } });
				}
			}
			for (unsigned k = 0; k < sizeof(imms) / sizeof(imms[0]); k++) {
				int32_t imm = imms[k];
				snprintf(desc, sizeof(desc), "emit_test_ri(w=%d, %s, %d)", w, rname[r], imm);
				begin();
				emit_test_ri(&E, w, r, imm);
				check((struct xinsn){ ZYDIS_MNEMONIC_TEST, 2, .disp_size = -1, .imm_size = 32,
						      .op = { R(r, bits), I((uint64_t)(int64_t)imm, bits) } });
			}
		}
	}
}

/* setcc, cmov and the byte forms that need a bare REX for spl..dil. */
static void test_cc_and_bytes(void)
{
	for (int cc = 0; cc < 16; cc++)
		for (int r = 0; r < 16; r++) {
			snprintf(desc, sizeof(desc), "emit_setcc(%d, %s)", cc, rname[r]);
			begin();
			emit_setcc(&E, cc, r);
			check((struct xinsn){ setcc_mn[cc], 1, .disp_size = -1, .imm_size = -1,
					      .op = { R(r, 8) } });
			/* a REX prefix exactly when the register needs one */
			expect((E.start[0] & 0xf0) == 0x40 ? r >= 4 : r < 4, E.start, E.p - E.start,
			       "REX prefix present/absent wrongly");
			for (int w = 0; w < 2; w++)
				for (int s = 0; s < 16; s += 5) {
					int bits = w ? 64 : 32;
					snprintf(desc, sizeof(desc), "emit_cmov(%d, w=%d, %s, %s)", cc, w,
						 rname[r], rname[s]);
					begin();
					emit_cmov(&E, cc, w, r, s);
					check((struct xinsn){ cmov_mn[cc], 2, .disp_size = -1, .imm_size = -1,
							      .op = { R(r, bits), R(s, bits) } });
				}
		}
	/* Byte moves as deposit emits them: mov r8, r8 with REX forced on both. */
	for (int d = 0; d < 16; d++)
		for (int s = 0; s < 16; s++) {
			snprintf(desc, sizeof(desc), "movb %s <- %s (deposit form)", rname[d], rname[s]);
			begin();
			emit_modrm(&E, OPC_MOVB_EvGv | P_REXB_R | P_REXB_RM, s, d);
			check((struct xinsn){ ZYDIS_MNEMONIC_MOV, 2, .disp_size = -1, .imm_size = -1,
					      .op = { R(d, 8), R(s, 8) } });
			snprintf(desc, sizeof(desc), "movw %s <- %s (deposit form)", rname[d], rname[s]);
			begin();
			emit_modrm(&E, OPC_MOVL_EvGv | P_DATA16, s, d);
			check((struct xinsn){ ZYDIS_MNEMONIC_MOV, 2, .disp_size = -1, .imm_size = -1,
					      .op = { R(d, 16), R(s, 16) } });
			/* movsx/movzx r32, r8 as gen_ext's i32 path emits them */
			snprintf(desc, sizeof(desc), "movsbl %s <- %s", rname[d], rname[s]);
			begin();
			emit_modrm(&E, OPC_MOVSBL | P_REXB_RM, d, s);
			check((struct xinsn){ ZYDIS_MNEMONIC_MOVSX, 2, .disp_size = -1, .imm_size = -1,
					      .op = { R(d, 32), R(s, 8) } });
		}
}

static void test_ext(void)
{
	static const ZydisMnemonic mn[2][3] = {
		{ ZYDIS_MNEMONIC_MOVZX, ZYDIS_MNEMONIC_MOVZX, ZYDIS_MNEMONIC_MOV },
		{ ZYDIS_MNEMONIC_MOVSX, ZYDIS_MNEMONIC_MOVSX, ZYDIS_MNEMONIC_MOVSXD },
	};
	for (int sign = 0; sign < 2; sign++)
		for (int size = 0; size < 3; size++)
			for (int d = 0; d < 16; d++)
				for (int s = 0; s < 16; s++) {
					/* zero-extension writes 32 bits (the CPU clears the rest) */
					int dbits = sign ? 64 : 32;
					int sbits = size == 2 && !sign ? 32 : 8 << size;
					snprintf(desc, sizeof(desc), "emit_ext(%d, sign=%d, %s, %s)", size, sign,
						 rname[d], rname[s]);
					begin();
					emit_ext(&E, size, sign, d, s);
					check((struct xinsn){ mn[sign][size], 2, .disp_size = -1, .imm_size = -1,
							      .op = { R(d, dbits), R(s, sbits) } });
				}
}

/* ---- Memory forms ------------------------------------------------------ */

static void test_lea(void)
{
	/* every base (and none) x every index but rsp (and none) x scale x disp */
	for (int base = -1; base < 16; base++)
		for (int index = -1; index < 16; index++) {
			if (index == H_RSP || (base < 0 && index < 0))
				continue;
			for (int shift = 0; shift < (index < 0 ? 1 : 4); shift++)
				for (int k = 0; k < NDISPS; k++) {
					int32_t disp = disps[k];
					int dst = (base + 2 * index + shift + k + 32) & 15;
					bool w = (k + shift) & 1;
					snprintf(desc, sizeof(desc), "emit_lea(w=%d, %s, base %s, index %s, %d, %d)",
						 w, rname[dst], base < 0 ? "none" : rname[base],
						 index < 0 ? "none" : rname[index], shift, disp);
					begin();
					emit_lea(&E, w, dst, base, index, shift, disp);
					check((struct xinsn){ ZYDIS_MNEMONIC_LEA, 2,
							      .disp_size = disp_bits(base, disp), .imm_size = -1,
							      .op = { R(dst, w ? 64 : 32),
								      M(0, base, index, shift, disp) } });
				}
		}
}

static void test_load_store(void)
{
	/* [size][sign]: mnemonic and destination width of emit_load */
	static const struct { ZydisMnemonic mn; int bits; } ld[4][2] = {
		{ { ZYDIS_MNEMONIC_MOVZX, 32 }, { ZYDIS_MNEMONIC_MOVSX, 64 } },
		{ { ZYDIS_MNEMONIC_MOVZX, 32 }, { ZYDIS_MNEMONIC_MOVSX, 64 } },
		{ { ZYDIS_MNEMONIC_MOV, 32 }, { ZYDIS_MNEMONIC_MOVSXD, 64 } },
		{ { ZYDIS_MNEMONIC_MOV, 64 }, { ZYDIS_MNEMONIC_MOV, 64 } },
	};
	static const int32_t imms[] = { 0, 1, -1, 127, -128, 0x7fff, -0x8000, INT32_MAX, INT32_MIN };

	for (int size = 0; size < 4; size++) {
		int mbits = 8 << size;
		for (int base = 0; base < 16; base++)
			for (int k = 0; k < NDISPS; k++) {
				int32_t disp = disps[k];
				for (int r = 0; r < 16; r++) {
					for (int sign = 0; sign < 2; sign++) {
						snprintf(desc, sizeof(desc), "emit_load(%d, sign=%d, %s, [%s%+d])",
							 size, sign, rname[r], rname[base], disp);
						begin();
						emit_load(&E, size, sign, r, base, disp);
						check((struct xinsn){ ld[size][sign].mn, 2,
								      .disp_size = disp_bits(base, disp),
								      .imm_size = -1,
								      .op = { R(r, ld[size][sign].bits),
									      M(mbits, base, -1, 0, disp) } });
					}
					snprintf(desc, sizeof(desc), "emit_store(%d, %s, [%s%+d])", size,
						 rname[r], rname[base], disp);
					begin();
					emit_store(&E, size, r, base, disp);
					check((struct xinsn){ ZYDIS_MNEMONIC_MOV, 2,
							      .disp_size = disp_bits(base, disp), .imm_size = -1,
							      .op = { M(mbits, base, -1, 0, disp), R(r, mbits) } });
				}
				for (unsigned j = 0; j < sizeof(imms) / sizeof(imms[0]); j++) {
					int32_t imm = imms[j];
					snprintf(desc, sizeof(desc), "emit_store_imm(%d, %d, [%s%+d])", size, imm,
						 rname[base], disp);
					begin();
					emit_store_imm(&E, size, imm, base, disp);
					check((struct xinsn){ ZYDIS_MNEMONIC_MOV, 2,
							      .disp_size = disp_bits(base, disp),
							      .imm_size = size == 3 ? 32 : mbits,
							      .op = { M(mbits, base, -1, 0, disp),
								      I((uint64_t)(int64_t)imm, mbits) } });
				}
			}
	}
}

static void test_atomic(void)
{
	static const struct { int opc; ZydisMnemonic mn; } ops[] = {
		{ OPC_CMPXCHG_EvGv, ZYDIS_MNEMONIC_CMPXCHG },
		{ OPC_XCHG_EvGv, ZYDIS_MNEMONIC_XCHG },
		{ OPC_XADD_EvGv, ZYDIS_MNEMONIC_XADD },
	};
	for (unsigned o = 0; o < 3; o++)
		for (int size = 0; size < 4; size++)
			for (int r = 0; r < 16; r++)
				for (int base = 0; base < 16; base++) {
					int bits = 8 << size;
					snprintf(desc, sizeof(desc), "emit_atomic(%s, %d, %s, [%s])",
						 ZydisMnemonicGetString(ops[o].mn), size, rname[r], rname[base]);
					begin();
					emit_atomic(&E, ops[o].opc, size, r, base);
					check((struct xinsn){ ops[o].mn, 2, .lock = true,
							      .disp_size = disp_bits(base, 0), .imm_size = -1,
							      .op = { M(bits, base, -1, 0, 0), R(r, bits) } });
				}
}

/* ---- Control flow and the rest ---------------------------------------- */

/* Absolute target of the branch at p (emitted at rx address rx). */
static bool branch_target(const uint8_t *p, size_t n, uint64_t rx, uint64_t *target)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	if (!decode(p, n, &in, ops))
		return false;
	return ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &ops[0], rx, target));
}

static void check_branch(uint64_t want)
{
	uint64_t got = 0;
	size_t n = E.p - E.start;
	expect(branch_target(E.start, n, RX, &got) && got == want, E.start, n, "wrong branch target");
}

static void test_branches(void)
{
	/* targets relative to the instruction: back, self, next, far both ways */
	static const int64_t rel[] = {
		-0x7fffff00ll, -0x10000, -128, -1, 0, 5, 6, 0x7f, 0x80, 0x10000, 0x7fffff00ll,
	};
	for (unsigned k = 0; k < sizeof(rel) / sizeof(rel[0]); k++) {
		uint64_t target = RX + rel[k];
		for (int cc = 0; cc < 16; cc++) {
			snprintf(desc, sizeof(desc), "emit_jcc32(%d) -> RX%+" PRId64, cc, rel[k]);
			begin();
			uint8_t *field = emit_jcc32(&E, cc);
			expect(field == E.p - 4, E.start, E.p - E.start, "rel32 field is not the last 4 bytes");
			emit_patch_rel32(field, &E, target);
			check((struct xinsn){ jcc_mn[cc], 1, .disp_size = -1, .imm_size = 32,
					      .op = { I(target - (RX + 6), 32) } });
			check_branch(target);
		}
		snprintf(desc, sizeof(desc), "emit_jmp32 -> RX%+" PRId64, rel[k]);
		begin();
		uint8_t *field = emit_jmp32(&E);
		expect(field == E.p - 4 && E.p - E.start == 5, E.start, E.p - E.start, "not jmp rel32");
		emit_patch_rel32(field, &E, target);
		check((struct xinsn){ ZYDIS_MNEMONIC_JMP, 1, .disp_size = -1, .imm_size = 32,
				      .op = { I(target - (RX + 5), 32) } });
		check_branch(target);

		snprintf(desc, sizeof(desc), "emit_jmp_to(RX%+" PRId64 ")", rel[k]);
		begin();
		emit_jmp_to(&E, target);
		check((struct xinsn){ ZYDIS_MNEMONIC_JMP, 1, .disp_size = -1, .imm_size = 32,
				      .op = { I(target - (RX + 5), 32) } });
		check_branch(target);

		snprintf(desc, sizeof(desc), "emit_call_to(RX%+" PRId64 ")", rel[k]);
		begin();
		emit_call_to(&E, target);
		check((struct xinsn){ ZYDIS_MNEMONIC_CALL, 1, .disp_size = -1, .imm_size = 32,
				      .op = { I(target - (RX + 5), 32) } });
		check_branch(target);
	}
	/* a branch patched at a later position in the buffer */
	snprintf(desc, sizeof(desc), "jcc at offset 37 patched back to RX+3");
	begin();
	emit_nops(&E, 37);
	uint8_t *at = E.p;
	emit_patch_rel32(emit_jcc32(&E, CC_NE), &E, RX + 3);
	uint64_t got = 0;
	expect(branch_target(at, E.p - at, RX + 37, &got) && got == RX + 3, at, E.p - at,
	       "wrong branch target");

	/* beyond rel32: call goes through r11 */
	static const uint64_t far[] = { RX + 0x80000000ull + 5, RX - 0x90000000ull, 0x1000,
					0xffffffff80001000ull };
	for (unsigned k = 0; k < sizeof(far) / sizeof(far[0]); k++) {
		snprintf(desc, sizeof(desc), "emit_call_to(0x%" PRIx64 ") (far)", far[k]);
		begin();
		emit_call_to(&E, far[k]);
		ZydisDecodedInstruction in;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
		size_t n = E.p - E.start;
		if (!expect(decode(E.start, n, &in, ops), E.start, n, "does not decode"))
			continue;
		uint8_t *second = E.start + in.length;
		struct xinsn mov = { ZYDIS_MNEMONIC_MOV, 2, .disp_size = -1, .imm_size = -1,
				     .op = { R(H_R11, far[k] == (uint32_t)far[k] ? 32 : 64), I(far[k], 64) } };
		check_at(E.start, in.length, &mov);
		check_at(second, E.p - second, &(struct xinsn){ ZYDIS_MNEMONIC_CALL, 1, .disp_size = -1,
								 .imm_size = -1, .op = { R(H_R11, 64) } });
	}

	for (int r = 0; r < 16; r++) {
		snprintf(desc, sizeof(desc), "emit_jmp_reg(%s)", rname[r]);
		begin();
		emit_jmp_reg(&E, r);
		check((struct xinsn){ ZYDIS_MNEMONIC_JMP, 1, .disp_size = -1, .imm_size = -1,
				      .op = { R(r, 64) } });
		snprintf(desc, sizeof(desc), "emit_push(%s)", rname[r]);
		begin();
		emit_push(&E, r);
		check((struct xinsn){ ZYDIS_MNEMONIC_PUSH, 1, .disp_size = -1, .imm_size = -1,
				      .op = { R(r, 64) } });
		snprintf(desc, sizeof(desc), "emit_pop(%s)", rname[r]);
		begin();
		emit_pop(&E, r);
		check((struct xinsn){ ZYDIS_MNEMONIC_POP, 1, .disp_size = -1, .imm_size = -1,
				      .op = { R(r, 64) } });
	}
	snprintf(desc, sizeof(desc), "emit_ret");
	begin();
	emit_ret(&E);
	check((struct xinsn){ ZYDIS_MNEMONIC_RET, 0, .disp_size = -1, .imm_size = -1 });
	snprintf(desc, sizeof(desc), "emit_mfence");
	begin();
	emit_mfence(&E);
	check((struct xinsn){ ZYDIS_MNEMONIC_MFENCE, 0, .disp_size = -1, .imm_size = -1 });
}

static void test_nops(void)
{
	for (int n = 1; n <= 15; n++) {
		snprintf(desc, sizeof(desc), "emit_nops(%d)", n);
		begin();
		emit_nops(&E, n);
		size_t len = E.p - E.start;
		expect(len == (size_t)n, E.start, len, "wrong number of bytes");
		expect(buf[len] == 0xcc, E.start, len + 1, "wrote past its length");
		size_t off = 0;
		int ninsn = 0;
		while (off < len) {
			ZydisDecodedInstruction in;
			ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
			if (!expect(decode(E.start + off, len - off, &in, ops), E.start, len,
				    "does not decode"))
				break;
			expect(in.mnemonic == ZYDIS_MNEMONIC_NOP, E.start + off, in.length, "not a nop");
			off += in.length;
			ninsn++;
		}
		expect(off == len, E.start, len, "nops do not end at the emitted length");
		expect(ninsn == (n + 6) / 7, E.start, len, "not the fewest nops (7 bytes max each)");
	}
}

/*
 * emit_modrm_rip: [rip + disp32] in the forms the backend uses (a store of
 * an immediate, a counter add, an indirect call, lea of a code address),
 * the address Zydis computes from the decoded instruction at its RX address
 * must be the target, whatever immediate follows.
 */
static void check_rip(uint64_t target, ZydisMnemonic mn, int reg)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	size_t n = E.p - E.start;
	if (!expect(decode(E.start, n, &in, ops), E.start, n, "does not decode"))
		return;
	expect(in.length == n, E.start, n, "decoded length differs from emitted length");
	expect(in.mnemonic == mn, E.start, n, "wrong mnemonic");
	int m = -1;
	for (int i = 0; i < in.operand_count_visible; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
			m = i;
	if (!expect(m >= 0 && ops[m].mem.base == ZYDIS_REGISTER_RIP &&
		    ops[m].mem.index == ZYDIS_REGISTER_NONE, E.start, n, "no [rip + disp] operand"))
		return;
	ZyanU64 at = 0;
	expect(ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &ops[m], RX, &at)) && at == target,
	       E.start, n, "[rip + disp] is not the target");
	if (reg >= 0)
		expect(ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[0].reg.value == gpr(reg, 64),
		       E.start, n, "wrong register");
}

static void test_rip_relative(void)
{
	static const int64_t rel[] = {
		-0x7fffff00ll, -0x10000, -129, -1, 0, 3, 11, 0x80, 0x10000, 0x7fffff00ll,
	};
	for (unsigned k = 0; k < sizeof(rel) / sizeof(rel[0]); k++) {
		uint64_t target = RX + rel[k];
		snprintf(desc, sizeof(desc), "movb [rip -> RX%+" PRId64 "], imm8", rel[k]);
		begin();
		emit_modrm_rip(&E, OPC_MOVB_EvIb, 0, target, 1);
		emit8(&E, 0x5a);
		check_rip(target, ZYDIS_MNEMONIC_MOV, -1);
		snprintf(desc, sizeof(desc), "movq [rip -> RX%+" PRId64 "], imm32", rel[k]);
		begin();
		emit_modrm_rip(&E, OPC_MOVL_EvIz | P_REXW, 0, target, 4);
		emit32(&E, 0x12345678);
		check_rip(target, ZYDIS_MNEMONIC_MOV, -1);
		snprintf(desc, sizeof(desc), "addq [rip -> RX%+" PRId64 "], imm8", rel[k]);
		begin();
		emit_modrm_rip(&E, OPC_ARITH_EvIb | P_REXW, ARITH_ADD, target, 1);
		emit8(&E, 1);
		check_rip(target, ZYDIS_MNEMONIC_ADD, -1);
		snprintf(desc, sizeof(desc), "call [rip -> RX%+" PRId64 "]", rel[k]);
		begin();
		emit_modrm_rip(&E, OPC_GRP5, EXT5_CALLN_Ev, target, 0);
		check_rip(target, ZYDIS_MNEMONIC_CALL, -1);
		for (int r = 0; r < 16; r++) {
			snprintf(desc, sizeof(desc), "lea %s, [rip -> RX%+" PRId64 "]", rname[r], rel[k]);
			begin();
			emit_modrm_rip(&E, OPC_LEA | P_REXW, r, target, 0);
			check_rip(target, ZYDIS_MNEMONIC_LEA, r);
		}
	}
	snprintf(desc, sizeof(desc), "emit_pushf");
	begin();
	emit_pushf(&E);
	check((struct xinsn){ ZYDIS_MNEMONIC_PUSHFQ, 0, .disp_size = -1, .imm_size = -1 });
}

/* The low layers directly: one register operand plus every base/disp form. */
static void test_modrm_layers(void)
{
	for (int r = 0; r < 16; r++)
		for (int rm = 0; rm < 16; rm++) {
			snprintf(desc, sizeof(desc), "emit_modrm(MOVL_GvEv|REXW, %s, %s)", rname[r], rname[rm]);
			begin();
			emit_modrm(&E, OPC_MOVL_GvEv | P_REXW, r, rm);
			check((struct xinsn){ ZYDIS_MNEMONIC_MOV, 2, .disp_size = -1, .imm_size = -1,
					      .op = { R(r, 64), R(rm, 64) } });
			snprintf(desc, sizeof(desc), "emit_modrm_ext(GRP5 /4, %s)", rname[rm]);
			begin();
			emit_modrm_ext(&E, OPC_GRP5, EXT5_CALLN_Ev, rm);
			check((struct xinsn){ ZYDIS_MNEMONIC_CALL, 1, .disp_size = -1, .imm_size = -1,
					      .op = { R(rm, 64) } });
		}
	/* 16-bit operand size and f3-prefixed forms through emit_opc */
	for (int r = 0; r < 16; r++) {
		snprintf(desc, sizeof(desc), "popcnt/lzcnt/tzcnt %s", rname[r]);
		begin();
		emit_modrm(&E, OPC_POPCNT | P_REXW, r, 15 - r);
		check((struct xinsn){ ZYDIS_MNEMONIC_POPCNT, 2, .disp_size = -1, .imm_size = -1,
				      .op = { R(r, 64), R(15 - r, 64) } });
		begin();
		emit_modrm(&E, OPC_LZCNT, r, 15 - r);
		check((struct xinsn){ ZYDIS_MNEMONIC_LZCNT, 2, .disp_size = -1, .imm_size = -1,
				      .op = { R(r, 32), R(15 - r, 32) } });
		begin();
		emit_modrm(&E, OPC_TZCNT | P_REXW, r, 15 - r);
		check((struct xinsn){ ZYDIS_MNEMONIC_TZCNT, 2, .disp_size = -1, .imm_size = -1,
				      .op = { R(r, 64), R(15 - r, 64) } });
		begin();
		emit_modrm(&E, OPC_BSR, r, 15 - r);
		check((struct xinsn){ ZYDIS_MNEMONIC_BSR, 2, .disp_size = -1, .imm_size = -1,
				      .op = { R(r, 32), R(15 - r, 32) } });
		begin();
		emit_modrm(&E, OPC_BSF | P_REXW, r, 15 - r);
		check((struct xinsn){ ZYDIS_MNEMONIC_BSF, 2, .disp_size = -1, .imm_size = -1,
				      .op = { R(r, 64), R(15 - r, 64) } });
		snprintf(desc, sizeof(desc), "movswl [%s+0x10]", rname[r]);
		begin();
		emit_modrm_offset(&E, OPC_MOVSWL, r, 15 - r, 0x10);
		check((struct xinsn){ ZYDIS_MNEMONIC_MOVSX, 2, .disp_size = 8, .imm_size = -1,
				      .op = { R(r, 32), M(16, 15 - r, -1, 0, 0x10) } });
	}
	/* a sequence: p advances by exactly each instruction's length */
	snprintf(desc, sizeof(desc), "sequence of 3");
	begin();
	emit_push(&E, H_R12);
	emit_load(&E, 3, false, H_RAX, H_RBP, 0x40);
	emit_ret(&E);
	size_t off = 0, n = E.p - E.start;
	static const ZydisMnemonic seq[] = { ZYDIS_MNEMONIC_PUSH, ZYDIS_MNEMONIC_MOV, ZYDIS_MNEMONIC_RET };
	for (int i = 0; i < 3; i++) {
		ZydisDecodedInstruction in;
		ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
		if (!expect(decode(E.start + off, n - off, &in, ops), E.start, n, "does not decode"))
			return;
		expect(in.mnemonic == seq[i], E.start, n, "wrong instruction in sequence");
		off += in.length;
	}
	expect(off == n, E.start, n, "sequence length");
}

/* ---- SSE and VEX register forms (vfop/vfres, the xmm cache) ---------- */

/* The bytes since begin() are one instruction mn with visible register
 * operands regs[0..n) (xmm or GPR as Zydis names them). */
static void check_regs(ZydisMnemonic mn, int n, const ZydisRegister *regs)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	size_t len = E.p - E.start;
	if (!expect(decode(E.start, len, &in, ops), E.start, len, "does not decode"))
		return;
	expect(in.length == len, E.start, len, "decoded length differs from emitted length");
	expect(in.mnemonic == mn, E.start, len, "wrong mnemonic");
	if (!expect(in.operand_count_visible == n, E.start, len, "wrong operand count"))
		return;
	for (int i = 0; i < n; i++)
		expect(ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER && ops[i].reg.value == regs[i],
		       E.start, len, "wrong register");
}

static void test_sse_fp(void)
{
	static const struct { int opc; ZydisMnemonic mn; } rr[] = {
		{ OPC_ADDPS, ZYDIS_MNEMONIC_ADDPS }, { OPC_ADDPS | P_SIMDF2, ZYDIS_MNEMONIC_ADDSD },
		{ OPC_SQRTPS | P_SIMDF3, ZYDIS_MNEMONIC_SQRTSS },
		{ OPC_SQRTPS | P_DATA16, ZYDIS_MNEMONIC_SQRTPD },
		{ OPC_CVTDQ2PD, ZYDIS_MNEMONIC_CVTDQ2PD }, { OPC_CVTPD2DQ, ZYDIS_MNEMONIC_CVTPD2DQ },
		{ OPC_CVTTPD2DQ, ZYDIS_MNEMONIC_CVTTPD2DQ },
		{ OPC_COMISS | P_DATA16, ZYDIS_MNEMONIC_COMISD }, { OPC_UCOMISS, ZYDIS_MNEMONIC_UCOMISS },
		{ OPC_MOVAPS_VxWx, ZYDIS_MNEMONIC_MOVAPS },
		{ OPC_MOVSS_VxWx | P_SIMDF2, ZYDIS_MNEMONIC_MOVSD },
		{ OPC_MOVSS_VxWx | P_SIMDF3, ZYDIS_MNEMONIC_MOVSS },
	};
	for (unsigned k = 0; k < sizeof(rr) / sizeof(rr[0]); k++)
		for (int r = 0; r < 16; r++)
			for (int m = 0; m < 16; m++) {
				begin();
				emit_modrm(&E, rr[k].opc, r, m);
				check_regs(rr[k].mn, 2, (ZydisRegister[]){ ZYDIS_REGISTER_XMM0 + r,
									   ZYDIS_REGISTER_XMM0 + m });
			}
	/* GPR results: cvt(t)sd2si r32/r64, xmm */
	for (int w = 0; w < 2; w++)
		for (int r = 0; r < 16; r++) {
			begin();
			emit_modrm(&E, OPC_CVTTSD2SI | (w ? P_REXW : 0), r, 14);
			check_regs(ZYDIS_MNEMONIC_CVTTSD2SI, 2,
				   (ZydisRegister[]){ gpr(r, w ? 64 : 32), ZYDIS_REGISTER_XMM14 });
		}
	/* FMA3: 4 kinds x 132/213/231 x ps/pd/ss/sd, from opc_fma as fop_opcode asks */
	static const ZydisMnemonic fma[48] = {
#define T(k, o) ZYDIS_MNEMONIC_##k##o##PS, ZYDIS_MNEMONIC_##k##o##PD, \
		ZYDIS_MNEMONIC_##k##o##SS, ZYDIS_MNEMONIC_##k##o##SD
#define K(k) T(k, 132), T(k, 213), T(k, 231)
		K(VFMADD), K(VFMSUB), K(VFNMADD), K(VFNMSUB),
#undef T
#undef K
	};
	for (int i = 0; i < 48; i++) {
		int t = i % 4;
		int opc = opc_fma(i / 12, i / 4 % 3, t >= 2, t & 1);
		for (int r = 0; r < 16; r += 5)
			for (int v = 0; v < 16; v += 3)
				for (int m = 0; m < 16; m += 7) {
					begin();
					emit_vex_rr(&E, opc, r, v, m);
					check_regs(fma[i], 3, (ZydisRegister[]){ ZYDIS_REGISTER_XMM0 + r,
										 ZYDIS_REGISTER_XMM0 + v,
										 ZYDIS_REGISTER_XMM0 + m });
				}
	}
}

void unit_main(void)
{
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	test_mov_rr();
	test_movi();
	test_arith();
	test_shift();
	test_unary_imul_test();
	test_cc_and_bytes();
	test_ext();
	test_lea();
	test_load_store();
	test_atomic();
	test_branches();
	test_nops();
	test_rip_relative();
	test_modrm_layers();
	test_sse_fp();
}
