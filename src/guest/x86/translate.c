/*
 * x86-64 frontend core: decodes guest instructions with Zydis and lifts each
 * through the per-mnemonic lifters (lift-*.c) into IR, ending the TB at
 * control flow, at exceptions or after max_insns.  Owns operand access,
 * lazy-flag conditions and TB exits; the lifters own instruction semantics.
 *
 * Invariant: at TB entry nothing is known about cc_op (CC_OP_DYNAMIC); every
 * flag-setting instruction writes the cc_* globals it defines, and the
 * optimizer removes the writes a later instruction makes dead.
 */
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "exec/exec.h"
#include "exec/guest-mem.h"
#include "exec/tlb.h"
#include "guest/guest.h"
#include "guest/x86/cpuid.h"
#include "guest/x86/sys.h"
#include "guest/x86/translate.h"
#include "util/log.h"

struct x86_globals G;
static ZydisDecoder decoder;
/* For the hint space only: Zydis refuses some of its encodings as MPX, CET
 * or CLDEMOTE forms (a bound register above bnd3, ...) that the CPU runs as
 * reserved NOPs; with those extensions off Zydis decodes them all as NOPs,
 * with the right length. */
static ZydisDecoder hint_decoder;
static lift_fn *lifters[ZYDIS_MNEMONIC_MAX_VALUE + 1];
/* Forms with an MMX register operand: the same mnemonics as SSE's. */
static lift_fn *mmx_lifters[ZYDIS_MNEMONIC_MAX_VALUE + 1];
/* System mode's (X86_CF_SYSTEM) lifters where they differ (lift-priv.c). */
static lift_fn *sys_lifters[ZYDIS_MNEMONIC_MAX_VALUE + 1];
/*
 * The most frequent mnemonics, whose lifters (user, system and MMX) and
 * the translation loop read only the visible operands: Zydis' hidden ones
 * (rflags, rip, rsp and the stack slot of push, pop, call and ret) cost
 * about a third of operand decoding and are left undecoded for these.
 * A mnemonic whose lifter loops over insn.operand_count or reads a hidden
 * operand (string and I/O instructions, jrcxz, loop, pushf...) must not
 * be listed.
 */
static const ZydisMnemonic visible_only_list[] = {
	ZYDIS_MNEMONIC_MOV, ZYDIS_MNEMONIC_LEA, ZYDIS_MNEMONIC_MOVZX, ZYDIS_MNEMONIC_MOVSX,
	ZYDIS_MNEMONIC_MOVSXD, ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_CMP,
	ZYDIS_MNEMONIC_TEST, ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_OR, ZYDIS_MNEMONIC_XOR,
	ZYDIS_MNEMONIC_ADC, ZYDIS_MNEMONIC_SBB, ZYDIS_MNEMONIC_PUSH, ZYDIS_MNEMONIC_POP,
	ZYDIS_MNEMONIC_CALL, ZYDIS_MNEMONIC_RET, ZYDIS_MNEMONIC_JMP, ZYDIS_MNEMONIC_NOP,
	ZYDIS_MNEMONIC_JO, ZYDIS_MNEMONIC_JNO, ZYDIS_MNEMONIC_JB, ZYDIS_MNEMONIC_JNB,
	ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_JNZ, ZYDIS_MNEMONIC_JBE, ZYDIS_MNEMONIC_JNBE,
	ZYDIS_MNEMONIC_JS, ZYDIS_MNEMONIC_JNS, ZYDIS_MNEMONIC_JP, ZYDIS_MNEMONIC_JNP,
	ZYDIS_MNEMONIC_JL, ZYDIS_MNEMONIC_JNL, ZYDIS_MNEMONIC_JLE, ZYDIS_MNEMONIC_JNLE,
};
static bool visible_only[ZYDIS_MNEMONIC_MAX_VALUE + 1];


static const char *const reg_names[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static void add_table(const struct lift_entry *t)
{
	for (; t->fn; t++)
		lifters[t->mnemonic] = t->fn;
}

void guest_ir_init(struct ir_ctx *ir)
{
	for (int i = 0; i < 16; i++)
		G.regs[i] = ir_new_global(ir, CPU_OFF(regs[i]), reg_names[i]);
	G.rip = ir_new_global(ir, CPU_OFF(rip), "rip");
	G.cc_op = ir_new_global(ir, CPU_OFF(cc_op), "cc_op");
	G.cc_dst = ir_new_global(ir, CPU_OFF(cc_dst), "cc_dst");
	G.cc_src = ir_new_global(ir, CPU_OFF(cc_src), "cc_src");
	G.cc_src2 = ir_new_global(ir, CPU_OFF(cc_src2), "cc_src2");
	G.df = ir_new_global(ir, CPU_OFF(df), "df");
	G.fs_base = ir_new_global(ir, CPU_OFF(fs_base), "fs_base");
	G.gs_base = ir_new_global(ir, CPU_OFF(gs_base), "gs_base");
	ir->helpers = x86_helpers;
	ir->nhelpers = HELPER_NB;
	x86_decoder_init(&decoder);
	ZydisDecoderInit(&hint_decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisDecoderEnableMode(&hint_decoder, ZYDIS_DECODER_MODE_MPX, ZYAN_FALSE);
	ZydisDecoderEnableMode(&hint_decoder, ZYDIS_DECODER_MODE_CET, ZYAN_FALSE);
	ZydisDecoderEnableMode(&hint_decoder, ZYDIS_DECODER_MODE_CLDEMOTE, ZYAN_FALSE);
	add_table(lift_int_table);
	add_table(lift_flow_table);
	add_table(lift_string_table);
	add_table(lift_sse_table);
	add_table(lift_x87_table);
	add_table(lift_bmi_table);
	add_table(lift_sys_table);
	add_table(lift_avx_table);
	for (const struct lift_entry *t = lift_priv_table; t->fn; t++)
		sys_lifters[t->mnemonic] = t->fn;
	for (size_t i = 0; i < sizeof(visible_only_list) / sizeof(visible_only_list[0]); i++)
		visible_only[visible_only_list[i]] = true;
	for (const struct lift_entry *t = lift_mmx_table; t->fn; t++) {
		mmx_lifters[t->mnemonic] = t->fn;
		if (!lifters[t->mnemonic])	/* EMMS, MASKMOVQ, ... */
			lifters[t->mnemonic] = t->fn;
	}
}

void x86_decoder_init(ZydisDecoder *d)
{
	ZydisDecoderInit(d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
}

/*
 * Zydis (4.x) misdecodes one 32-bit-address form: with a 67 prefix, a SIB
 * byte whose base field is 101, mod 00 and REX.B (or VEX/EVEX B) set, it
 * reports r13d as the base and no displacement, while the CPU ignores
 * REX.B there as it does with a 64-bit address size: no base, a disp32
 * (SDM Vol. 2, the special cases of REX encodings).  Zydis has consumed
 * the displacement (raw.disp); the operand is put right here.
 */
static void fix_sib_disp32(ZydisDecodedInstruction *in, ZydisDecodedOperand *op)
{
	if (in->address_width != 32 || in->raw.modrm.mod != 0 || in->raw.modrm.rm != 4 ||
	    in->raw.sib.base != 5 || in->raw.disp.size != 32)
		return;
	for (int i = 0; i < in->operand_count; i++)
		if (op[i].type == ZYDIS_OPERAND_TYPE_MEMORY && op[i].mem.base == ZYDIS_REGISTER_R13D) {
			op[i].mem.base = ZYDIS_REGISTER_NONE;
			op[i].mem.disp.has_displacement = ZYAN_TRUE;
			op[i].mem.disp.value = (int32_t)in->raw.disp.value;
		}
}

bool x86_decode(const ZydisDecoder *d, const uint8_t *code, size_t len, ZydisDecodedInstruction *in,
		ZydisDecodedOperand *op)
{
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(d, code, len, in, op)))
		return false;
	fix_sib_disp32(in, op);
	return true;
}

/* As x86_decode, for the lifters: the hidden operands of the mnemonics in
 * visible_only_list are not decoded but zeroed (ZYDIS_OPERAND_TYPE_UNUSED,
 * as Zydis leaves the slots past operand_count); insn.operand_count is
 * still the instruction's. */
static bool decode_for_lift(const ZydisDecoder *d, const uint8_t *code, size_t len,
			    ZydisDecodedInstruction *in, ZydisDecodedOperand *op)
{
	ZydisDecoderContext ctx;
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(d, &ctx, code, len, in)))
		return false;
	uint8_t n = visible_only[in->mnemonic] ? in->operand_count_visible : in->operand_count;
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeOperands(d, &ctx, in, op, n)))
		return false;
	memset(&op[n], 0, (ZYDIS_MAX_OPERAND_COUNT - n) * sizeof(*op));
	fix_sib_disp32(in, op);
	return true;
}

bool gen_user(struct dc *s)
{
	lift_fn *fn = lifters[s->insn.mnemonic];
	return fn && fn(s);
}

bool x86_lifts(ZydisMnemonic m)
{
	return lifters[m] != NULL;
}

uint64_t guest_pc(void *cpu) { return ((struct cpu *)cpu)->rip; }
bool guest_tracing(void *cpu) { return ((struct cpu *)cpu)->eflags & X86_TF; }
uint32_t guest_tb_mode(void *cpu) { return x86_sys_tb_mode(cpu); }
void guest_set_pc(void *cpu, uint64_t pc) { ((struct cpu *)cpu)->rip = pc; }
struct cpu_exec *guest_exec_state(void *cpu) { return &((struct cpu *)cpu)->x; }
int32_t guest_exec_offset(void) { return CPU_OFF(x); }

const struct exec_guest guest_exec_ops = {
	.cpu_size = sizeof(struct cpu),
	.exec_off = CPU_OFF(x),
	.ir_init = guest_ir_init,
	.translate = guest_translate,
	.pc = guest_pc,
	.set_pc = guest_set_pc,
	.tracing = guest_tracing,
	.enter = guest_enter,
	.leave = guest_leave,
	.host_signal_unwind = guest_host_signal_unwind,
	.tool_unwind = guest_tool_unwind,
	.fault_refine = guest_fault_refine,
	.fetch_fault = guest_fetch_fault,
	.tb_mode = guest_tb_mode,
	.disas = guest_disas,
	.dump_state = guest_dump_state,
};

/* ---- builder vocabulary ---- */

ir_ref ir_bin(struct dc *s, enum ir_opc opc, ir_ref a, ir_ref b)
{
	ir_ref d = tmp64(s);
	ir_op2(s->ir, opc, IR_I64, d, a, b);
	return d;
}

ir_ref ir_bin_sz(struct dc *s, enum ir_opc opc, int size, ir_ref a, ir_ref b)
{
	enum ir_type t = size == 2 ? IR_I32 : IR_I64;
	ir_ref d = ir_new_temp(s->ir, t);
	ir_op2(s->ir, opc, t, d, a, b);
	return d;
}

ir_ref ir_un(struct dc *s, enum ir_opc opc, ir_ref a)
{
	ir_ref d = tmp64(s);
	ir_op1(s->ir, opc, IR_I64, d, a);
	return d;
}

ir_ref ir_setc(struct dc *s, enum ir_cond c, ir_ref a, ir_ref b)
{
	ir_ref d = tmp64(s);
	ir_emit(s->ir, IR_setcond, IR_I64, (ir_ref[]){ d, a, b }, (int64_t[]){ c });
	return d;
}

ir_ref ir_movc(struct dc *s, enum ir_cond c, ir_ref a, ir_ref b, ir_ref t, ir_ref f)
{
	ir_ref d = tmp64(s);
	ir_emit(s->ir, IR_movcond, IR_I64, (ir_ref[]){ d, a, b, t, f }, (int64_t[]){ c });
	return d;
}

ir_ref ir_ld(struct dc *s, ir_ref addr, int memop)
{
	if (!s->ac_off)
		gen_ac_check(s, addr, 1u << (memop & IR_MO_SIZE));
	ir_ref d = tmp64(s);
	ir_emit(s->ir, IR_load, IR_I64, (ir_ref[]){ d, addr }, (int64_t[]){ memop });
	return d;
}

void ir_st(struct dc *s, ir_ref val, ir_ref addr, int memop)
{
	if (!s->ac_off)
		gen_ac_check(s, addr, 1u << (memop & IR_MO_SIZE));
	ir_emit(s->ir, IR_store, IR_I64, (ir_ref[]){ val, addr }, (int64_t[]){ memop });
}

ir_ref ir_ldenv(struct dc *s, int32_t off, int memop)
{
	ir_ref d = tmp64(s);
	ir_emit(s->ir, IR_ld_env, IR_I64, (ir_ref[]){ d }, (int64_t[]){ off, memop });
	return d;
}

void ir_stenv(struct dc *s, ir_ref v, int32_t off, int memop)
{
	ir_emit(s->ir, IR_st_env, IR_I64, (ir_ref[]){ v }, (int64_t[]){ off, memop });
}

ir_ref ir_dep(struct dc *s, ir_ref a, ir_ref b, int pos, int len)
{
	ir_ref d = tmp64(s);
	ir_emit(s->ir, IR_deposit, IR_I64, (ir_ref[]){ d, a, b }, (int64_t[]){ pos, len });
	return d;
}

ir_ref ir_extr(struct dc *s, ir_ref a, int pos, int len, bool sign)
{
	ir_ref d = tmp64(s);
	ir_emit(s->ir, sign ? IR_sextract : IR_extract, IR_I64, (ir_ref[]){ d, a },
		(int64_t[]){ pos, len });
	return d;
}

ir_ref gen_helper(struct dc *s, enum x86_helper h, int n, ...)
{
	ir_ref args[IR_MAX_CALL_ARGS];
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		args[i] = va_arg(ap, ir_ref);
	va_end(ap);
	ir_ref ret = x86_helpers[h].has_ret ? tmp64(s) : 0;
	ir_call(s->ir, h, ret, args, n);
	return ret;
}

void set_label(struct dc *s, uint32_t l)
{
	ir_emit(s->ir, IR_set_label, IR_I64, NULL, (int64_t[]){ l });
}

void ir_brc(struct dc *s, enum ir_cond c, ir_ref a, ir_ref b, uint32_t l)
{
	ir_emit(s->ir, IR_brcond, IR_I64, (ir_ref[]){ a, b }, (int64_t[]){ c, l });
}

/* ---- operands ---- */

int size_of_bits(int bits)
{
	switch (bits) {
	case 8: return 0;
	case 16: return 1;
	case 32: return 2;
	default: return 3;
	}
}

ir_ref gen_ext(struct dc *s, ir_ref v, int size, bool sign)
{
	static const enum ir_opc ext[2][3] = {
		{ IR_ext8u, IR_ext16u, IR_ext32u },
		{ IR_ext8s, IR_ext16s, IR_ext32s },
	};
	if (size == 3)
		return v;
	return ir_un(s, ext[sign][size], v);
}

/* Every operand read or written asks: a table made once from Zydis'
 * answers (at start-up, for every user of reg_index: the lifters, cmp.c),
 * not a call into Zydis each time. */
static int8_t gpr_of[ZYDIS_REGISTER_MAX_VALUE + 1];

__attribute__((constructor)) static void init_gpr_of(void)
{
	for (int r = 0; r <= ZYDIS_REGISTER_MAX_VALUE; r++) {
		ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
		gpr_of[r] = big >= ZYDIS_REGISTER_RAX && big <= ZYDIS_REGISTER_R15
			    ? big - ZYDIS_REGISTER_RAX : -1;
	}
}

int reg_index(ZydisRegister r)
{
	return (unsigned)r <= ZYDIS_REGISTER_MAX_VALUE ? gpr_of[r] : -1;
}

static bool is_high8(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_AH || r == ZYDIS_REGISTER_CH || r == ZYDIS_REGISTER_DH ||
	       r == ZYDIS_REGISTER_BH;
}

int op_size(struct dc *s, int i)
{
	return size_of_bits(s->op[i].size);
}

bool op_is_mem(struct dc *s, int i)
{
	return s->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY;
}

ir_ref gen_ld_reg(struct dc *s, int reg, int size)
{
	ir_ref v = tmp64(s);
	ir_mov(s, v, G.regs[reg]);
	return gen_ext(s, v, size, false);
}

void gen_st_reg(struct dc *s, int reg, int size, ir_ref v)
{
	ir_ref g = G.regs[reg];
	switch (size) {
	case 0: ir_emit(s->ir, IR_deposit, IR_I64, (ir_ref[]){ g, g, v }, (int64_t[]){ 0, 8 }); break;
	case 1: ir_emit(s->ir, IR_deposit, IR_I64, (ir_ref[]){ g, g, v }, (int64_t[]){ 0, 16 }); break;
	case 2: ir_op1(s->ir, IR_ext32u, IR_I64, g, v); break;	/* 32-bit writes zero-extend */
	default: ir_mov(s, g, v); break;
	}
}

ir_ref gen_ea(struct dc *s, const ZydisDecodedOperand *op)
{
	return gen_ea_seg(s, op, gen_ea_offset(s, op));
}

/* The effective address within its segment: base + index + disp, wrapped
 * at 4 GB with a 32-bit address size. */
ir_ref gen_ea_offset(struct dc *s, const ZydisDecodedOperand *op)
{
	const ZydisDecodedOperandMem *m = &op->mem;
	ir_ref ea;
	uint64_t disp = m->disp.has_displacement ? (uint64_t)m->disp.value : 0;

	if (m->base == ZYDIS_REGISTER_RIP || m->base == ZYDIS_REGISTER_EIP) {
		/* 67-prefixed rip-relative is eip-relative: truncated below. */
		ea = cst(s, s->next_pc + disp);
	} else {
		ea = 0;
		if (m->base != ZYDIS_REGISTER_NONE) {
			int b = reg_index(m->base);
			ea = tmp64(s);
			ir_mov(s, ea, G.regs[b]);
		}
		if (m->index != ZYDIS_REGISTER_NONE) {
			int x = reg_index(m->index);
			ir_ref idx = G.regs[x];
			if (m->scale > 1)
				idx = ir_bin(s, IR_shl, idx, cst(s, __builtin_ctz(m->scale)));
			ea = ea ? ir_bin(s, IR_add, ea, idx) : ir_bin(s, IR_add, idx, cst(s, 0));
		}
		if (!ea)
			ea = cst(s, disp);
		else if (disp)
			ea = ir_bin(s, IR_add, ea, cst(s, disp));
	}
	if (s->insn.address_width == 32)
		ea = gen_ext(s, ea, 2, false);
	return ea;
}

/* An offset within the operand's segment as a linear address: only FS and
 * GS have a base in 64-bit mode, added after any 32-bit wrap. */
ir_ref gen_ea_seg(struct dc *s, const ZydisDecodedOperand *op, ir_ref off)
{
	if (op->mem.segment == ZYDIS_REGISTER_FS)
		return ir_bin(s, IR_add, off, G.fs_base);
	if (op->mem.segment == ZYDIS_REGISTER_GS)
		return ir_bin(s, IR_add, off, G.gs_base);
	return off;
}

static ir_ref ld_op(struct dc *s, int i, bool sign)
{
	const ZydisDecodedOperand *op = &s->op[i];
	int size = op_size(s, i);
	switch (op->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER: {
		int r = reg_index(op->reg.value);
		if (r < 0)
			return 0;
		if (is_high8(op->reg.value))
			return ir_extr(s, G.regs[r], 8, 8, sign);
		ir_ref v = tmp64(s);
		ir_mov(s, v, G.regs[r]);
		return gen_ext(s, v, size, sign);
	}
	case ZYDIS_OPERAND_TYPE_MEMORY:
		return ir_ld(s, gen_ea(s, op), size | (sign ? IR_MO_SIGN : 0));
	case ZYDIS_OPERAND_TYPE_IMMEDIATE: {
		/* Zydis sign-extends imm8/imm32 already; the value takes the
		 * instruction's operand width, not the encoded width. */
		uint64_t v = op->imm.value.u;
		int width = size_of_bits(s->insn.operand_width);
		if (!op->imm.is_signed && op->size < 64)
			v &= (1ull << op->size) - 1;
		if (!sign && width < 3)
			v &= (1ull << (8 << width)) - 1;
		return cst(s, v);
	}
	default:
		return 0;
	}
}

ir_ref gen_ld_op(struct dc *s, int i) { return ld_op(s, i, false); }

ir_ref gen_ld_op_low(struct dc *s, int i)
{
	const ZydisDecodedOperand *op = &s->op[i];
	if (op->type == ZYDIS_OPERAND_TYPE_REGISTER && op->size == 32) {
		int r = reg_index(op->reg.value);
		if (r >= 0) {
			ir_ref v = tmp64(s);
			ir_mov(s, v, G.regs[r]);
			return v;
		}
	}
	return ld_op(s, i, false);
}
ir_ref gen_ld_op_sext(struct dc *s, int i) { return ld_op(s, i, true); }

void gen_st_op(struct dc *s, int i, ir_ref v)
{
	const ZydisDecodedOperand *op = &s->op[i];
	int size = op_size(s, i);
	if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
		ir_st(s, v, gen_ea(s, op), size);
		return;
	}
	int r = reg_index(op->reg.value);
	if (is_high8(op->reg.value))
		ir_emit(s->ir, IR_deposit, IR_I64, (ir_ref[]){ G.regs[r], G.regs[r], v },
			(int64_t[]){ 8, 8 });
	else
		gen_st_reg(s, r, size, v);
}

/* ---- flags ---- */

void gen_set_cc_op(struct dc *s, int cc_op)
{
	if (s->cc_op != cc_op)
		ir_mov(s, G.cc_op, cst(s, cc_op));
	s->cc_op = cc_op;
	s->cc_srcT = 0;
}

void gen_set_cc(struct dc *s, int cc_op, ir_ref dst, ir_ref src, ir_ref src2)
{
	if (dst)
		ir_mov(s, G.cc_dst, dst);
	if (src)
		ir_mov(s, G.cc_src, src);
	if (src2)
		ir_mov(s, G.cc_src2, src2);
	/* cc_op last: a dynamic read of it must see the operands it describes */
	gen_set_cc_op(s, cc_op);
}

ir_ref gen_compute_eflags(struct dc *s)
{
	if (s->cc_op == CC_OP_EFLAGS) {
		ir_ref v = tmp64(s);
		ir_mov(s, v, G.cc_src);
		return v;
	}
	int op = s->cc_op;
	bool logic = op >= CC_OP_LOGICB && op <= CC_OP_LOGICQ;
	bool shl = op >= CC_OP_SHLB && op <= CC_OP_SHLQ;
	bool sar = op >= CC_OP_SARB && op <= CC_OP_SARQ;
	bool add = op >= CC_OP_ADDB && op <= CC_OP_ADDQ;
	bool sub = op >= CC_OP_SUBB && op <= CC_OP_SUBQ;
	bool inc = op >= CC_OP_INCB && op <= CC_OP_INCQ;
	bool dec = op >= CC_OP_DECB && op <= CC_OP_DECQ;
	bool rot = op >= CC_OP_ROTB && op <= CC_OP_ROTQ;
	if (logic || shl || sar || add || sub || inc || dec || rot) {
		/* Inline for the families whose flags are a few operations on
		 * the thunk (semantics as in flags.c): ZF, SF, PF from dst;
		 * logic: CF = OF = 0; shl: CF = top bit of src, OF = CF^SF;
		 * sar/shr: CF = bit 0 of src, OF = top bit of src^dst; add and
		 * sub: CF, OF and AF from the first operand, recovered from
		 * dst and src; inc/dec: CF kept in src.  AF = 0 for logic and
		 * shifts.  Rotates after an add or a shift are common in hash
		 * loops, and every memory access after one makes the flags
		 * live (the state must be exact if it faults), so a helper
		 * call there cost a call and the spills around it. */
		int size = (op - CC_OP_ADDB) & 3;
		int top = (8 << size) - 1;
		ir_ref d = gen_ext(s, G.cc_dst, size, false);
		ir_ref zf = ir_bin(s, IR_shl, ir_setc(s, IR_EQ, d, cst(s, 0)), cst(s, 6));
		ir_ref sbit = ir_extr(s, d, top, 1, false);
		ir_ref sf = ir_bin(s, IR_shl, sbit, cst(s, 7));
		ir_ref odd = ir_bin(s, IR_and, ir_un(s, IR_ctpop, ir_bin(s, IR_and, d, cst(s, 0xff))),
				    cst(s, 1));
		ir_ref pf = ir_bin(s, IR_shl, ir_bin(s, IR_xor, odd, cst(s, 1)), cst(s, 2));
		ir_ref f = ir_bin(s, IR_or, ir_bin(s, IR_or, zf, sf), pf);
		if (logic)
			return f;
		if (rot)	/* CF AF OF kept in src */
			return ir_bin(s, IR_or, f, ir_bin(s, IR_and, G.cc_src,
							   cst(s, X86_CF | X86_AF | X86_OF)));
		ir_ref cf, of, af = 0;
		if (shl) {
			cf = ir_extr(s, G.cc_src, top, 1, false);
			of = ir_bin(s, IR_xor, cf, sbit);
		} else if (sar) {
			cf = ir_bin(s, IR_and, G.cc_src, cst(s, 1));
			of = ir_extr(s, ir_bin(s, IR_xor, G.cc_src, G.cc_dst), top, 1, false);
		} else if (add || sub) {
			/* add: dst = first + src; sub: dst = first - src */
			ir_ref first = ir_bin(s, add ? IR_sub : IR_add, G.cc_dst, G.cc_src);
			ir_ref fe = gen_ext(s, first, size, false);
			ir_ref ovf;
			if (add) {
				cf = ir_setc(s, IR_LTU, d, fe);
				ovf = ir_bin(s, IR_and, ir_bin(s, IR_xor, first, G.cc_dst),
					     ir_bin(s, IR_xor, G.cc_src, G.cc_dst));
			} else {
				cf = ir_setc(s, IR_LTU, fe, gen_ext(s, G.cc_src, size, false));
				ovf = ir_bin(s, IR_and, ir_bin(s, IR_xor, first, G.cc_src),
					     ir_bin(s, IR_xor, first, G.cc_dst));
			}
			of = ir_extr(s, ovf, top, 1, false);
			af = ir_bin(s, IR_and, ir_bin(s, IR_xor, ir_bin(s, IR_xor, first, G.cc_src), G.cc_dst),
				    cst(s, X86_AF));
		} else {
			/* inc: OF at the most negative result, AF at a low nibble
			 * of 0; dec: the most positive, a nibble of 0xf */
			uint64_t lim = inc ? 1ull << top : (1ull << top) - 1;
			cf = ir_bin(s, IR_and, G.cc_src, cst(s, 1));
			of = ir_setc(s, IR_EQ, d, cst(s, lim));
			ir_ref nib = ir_bin(s, IR_and, G.cc_dst, cst(s, 0xf));
			af = ir_bin(s, IR_shl, ir_setc(s, IR_EQ, nib, cst(s, inc ? 0 : 0xf)), cst(s, 4));
		}
		f = ir_bin(s, IR_or, f, cf);
		if (af)
			f = ir_bin(s, IR_or, f, af);
		return ir_bin(s, IR_or, f, ir_bin(s, IR_shl, of, cst(s, 11)));
	}
	return gen_helper(s, HELPER_cc_compute_all, 4, G.cc_dst, G.cc_src, G.cc_src2, G.cc_op);
}

ir_ref gen_compute_cf(struct dc *s)
{
	/* inline for every family but ADC and SBB (flags.c's compute_c) */
	int op = s->cc_op;
	if (op >= CC_OP_SUBB && op <= CC_OP_SUBQ) {
		int size = op - CC_OP_SUBB;
		ir_ref first = s->cc_srcT ? s->cc_srcT : ir_bin(s, IR_add, G.cc_dst, G.cc_src);
		return ir_setc(s, IR_LTU, gen_ext(s, first, size, false),
			       gen_ext(s, G.cc_src, size, false));
	}
	if (op >= CC_OP_ADDB && op <= CC_OP_ADDQ) {
		int size = op - CC_OP_ADDB;
		return ir_setc(s, IR_LTU, gen_ext(s, G.cc_dst, size, false),
			       gen_ext(s, G.cc_src, size, false));
	}
	if ((op >= CC_OP_LOGICB && op <= CC_OP_LOGICQ) || op == CC_OP_POPCNT)
		return cst(s, 0);
	if ((op >= CC_OP_INCB && op <= CC_OP_DECQ) || op == CC_OP_EFLAGS ||
	    (op >= CC_OP_SARB && op <= CC_OP_SARQ) || (op >= CC_OP_BMIB && op <= CC_OP_ROTQ))
		return ir_bin(s, IR_and, G.cc_src, cst(s, 1));
	if (op >= CC_OP_SHLB && op <= CC_OP_SHLQ)
		return ir_extr(s, G.cc_src, (8 << (op - CC_OP_SHLB)) - 1, 1, false);
	if (op >= CC_OP_MULB && op <= CC_OP_MULQ)
		return ir_setc(s, IR_NE, G.cc_src, cst(s, 0));
	if (op != CC_OP_DYNAMIC)
		return gen_helper(s, HELPER_cc_compute_c, 4, G.cc_dst, G.cc_src, G.cc_src2, G.cc_op);
	/*
	 * cc_op unknown here (the block starts with inc, dec, adc, sbb or a
	 * jb/jae): a cmp or sub is by far the most common operation left in
	 * the thunk (gzip's longest-match loop ends in a block "dec r9d; jne"
	 * entered after a cmp, a helper call per iteration), so test for the
	 * SUB family at run time and compute its CF inline, any size: the
	 * first operand and the subtrahend shifted left so that the operand's
	 * top bit is bit 63, compared unsigned.  Anything else calls the
	 * helper.
	 */
	ir_ref cf = tmp64(s);
	uint32_t other = ir_new_label(s->ir), done = ir_new_label(s->ir);
	ir_ref k = ir_bin(s, IR_sub, G.cc_op, cst(s, CC_OP_SUBB));
	ir_brc(s, IR_GTU, k, cst(s, 3), other);
	ir_ref sh = ir_bin(s, IR_sub, cst(s, 64), ir_bin(s, IR_shl, cst(s, 8), k));
	ir_ref first = ir_bin(s, IR_shl, ir_bin(s, IR_add, G.cc_dst, G.cc_src), sh);
	ir_mov(s, cf, ir_setc(s, IR_LTU, first, ir_bin(s, IR_shl, G.cc_src, sh)));
	ir_emit(s->ir, IR_br, IR_I64, NULL, (int64_t[]){ done });
	set_label(s, other);
	ir_mov(s, cf, gen_helper(s, HELPER_cc_compute_c, 4, G.cc_dst, G.cc_src, G.cc_src2, G.cc_op));
	set_label(s, done);
	return cf;
}

int jcc_of_mnemonic(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_SETO: case ZYDIS_MNEMONIC_CMOVO: return 0;
	case ZYDIS_MNEMONIC_JNO: case ZYDIS_MNEMONIC_SETNO: case ZYDIS_MNEMONIC_CMOVNO: return 1;
	case ZYDIS_MNEMONIC_JB: case ZYDIS_MNEMONIC_SETB: case ZYDIS_MNEMONIC_CMOVB: return 2;
	case ZYDIS_MNEMONIC_JNB: case ZYDIS_MNEMONIC_SETNB: case ZYDIS_MNEMONIC_CMOVNB: return 3;
	case ZYDIS_MNEMONIC_JZ: case ZYDIS_MNEMONIC_SETZ: case ZYDIS_MNEMONIC_CMOVZ: return 4;
	case ZYDIS_MNEMONIC_JNZ: case ZYDIS_MNEMONIC_SETNZ: case ZYDIS_MNEMONIC_CMOVNZ: return 5;
	case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_SETBE: case ZYDIS_MNEMONIC_CMOVBE: return 6;
	case ZYDIS_MNEMONIC_JNBE: case ZYDIS_MNEMONIC_SETNBE: case ZYDIS_MNEMONIC_CMOVNBE: return 7;
	case ZYDIS_MNEMONIC_JS: case ZYDIS_MNEMONIC_SETS: case ZYDIS_MNEMONIC_CMOVS: return 8;
	case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_SETNS: case ZYDIS_MNEMONIC_CMOVNS: return 9;
	case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_SETP: case ZYDIS_MNEMONIC_CMOVP: return 10;
	case ZYDIS_MNEMONIC_JNP: case ZYDIS_MNEMONIC_SETNP: case ZYDIS_MNEMONIC_CMOVNP: return 11;
	case ZYDIS_MNEMONIC_JL: case ZYDIS_MNEMONIC_SETL: case ZYDIS_MNEMONIC_CMOVL: return 12;
	case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_SETNL: case ZYDIS_MNEMONIC_CMOVNL: return 13;
	case ZYDIS_MNEMONIC_JLE: case ZYDIS_MNEMONIC_SETLE: case ZYDIS_MNEMONIC_CMOVLE: return 14;
	case ZYDIS_MNEMONIC_JNLE: case ZYDIS_MNEMONIC_SETNLE: case ZYDIS_MNEMONIC_CMOVNLE: return 15;
	default: return -1;
	}
}

/* Fast paths when cc_op is known in this TB; NULL cond means "no fast path". */
static bool prepare_cc_known(struct dc *s, int base, struct cc_test *t)
{
	int op = s->cc_op;
	enum { B = 1, Z = 2, BE = 3, S = 4, L = 6, LE = 7 };
	int size;

	if (op >= CC_OP_SUBB && op <= CC_OP_SUBQ && s->cc_srcT) {
		size = op - CC_OP_SUBB;
		bool sign = base == L || base == LE;
		ir_ref a = gen_ext(s, s->cc_srcT, size, sign);
		ir_ref b = gen_ext(s, G.cc_src, size, sign);
		switch (base) {
		case B: *t = (struct cc_test){ IR_LTU, a, b }; return true;
		case BE: *t = (struct cc_test){ IR_LEU, a, b }; return true;
		case L: *t = (struct cc_test){ IR_LT, a, b }; return true;
		case LE: *t = (struct cc_test){ IR_LE, a, b }; return true;
		}
	}
	if (op >= CC_OP_LOGICB && op <= CC_OP_LOGICQ) {
		size = op - CC_OP_LOGICB;
		switch (base) {
		case B: *t = (struct cc_test){ IR_NEVER, cst(s, 0), cst(s, 0) }; return true;
		case BE: base = Z; break;
		case L: base = S; break;
		case LE: {
			ir_ref d = gen_ext(s, G.cc_dst, size, true);
			*t = (struct cc_test){ IR_LE, d, cst(s, 0) };
			return true;
		}
		}
	}
	if (op >= CC_OP_ADDB && op <= CC_OP_POPCNT - 1 && op != CC_OP_EFLAGS) {
		/* every family but EFLAGS/POPCNT: ZF and SF come from dst */
		size = (op - CC_OP_ADDB) & 3;
		if (op >= CC_OP_MULB && op <= CC_OP_MULQ)
			return false;	/* SF/ZF undefined there, but hosts compute from dst too */
		if (base == Z) {
			*t = (struct cc_test){ IR_EQ, gen_ext(s, G.cc_dst, size, false), cst(s, 0) };
			return true;
		}
		if (base == S) {
			*t = (struct cc_test){ IR_LT, gen_ext(s, G.cc_dst, size, true), cst(s, 0) };
			return true;
		}
		if (base == B && op >= CC_OP_ADDB && op <= CC_OP_ADDQ) {
			*t = (struct cc_test){ IR_LTU, gen_ext(s, G.cc_dst, size, false),
					       gen_ext(s, G.cc_src, size, false) };
			return true;
		}
	}
	return false;
}

struct cc_test gen_prepare_cc(struct dc *s, int jcc)
{
	int base = jcc >> 1;
	bool inv = jcc & 1;
	struct cc_test t;

	if (!prepare_cc_known(s, base, &t)) {
		ir_ref f;
		if (base == 1) {	/* CF alone is cheaper */
			t = (struct cc_test){ IR_NE, gen_compute_cf(s), cst(s, 0) };
			goto out;
		}
		f = gen_compute_eflags(s);
		switch (base) {
		case 0: t = (struct cc_test){ IR_TSTNE, f, cst(s, X86_OF) }; break;
		case 2: t = (struct cc_test){ IR_TSTNE, f, cst(s, X86_ZF) }; break;
		case 3: t = (struct cc_test){ IR_TSTNE, f, cst(s, X86_CF | X86_ZF) }; break;
		case 4: t = (struct cc_test){ IR_TSTNE, f, cst(s, X86_SF) }; break;
		case 5: t = (struct cc_test){ IR_TSTNE, f, cst(s, X86_PF) }; break;
		case 6:
		case 7: {
			/* (f >> 4) ^ f puts OF^SF in bit 7 and keeps ZF in bit 6 */
			ir_ref x = ir_bin(s, IR_xor, ir_bin(s, IR_shr, f, cst(s, 4)), f);
			t = (struct cc_test){ IR_TSTNE, x, cst(s, base == 6 ? 0x80 : 0xc0) };
			break;
		}
		}
	}
out:
	if (inv)
		t.cond = ir_cond_invert(t.cond);
	return t;
}

/* ---- TB exits ---- */

void gen_sync_pc(struct dc *s, uint64_t pc)
{
	ir_mov(s, G.rip, cst(s, pc));
}

/* The single-step trap after the instruction: #DB with DR6.BS, at the
 * next pc (already in the pc global). */
static void gen_trace_trap(struct dc *s)
{
	gen_raise(s, &(struct guest_exception){ .vector = X86_EXC_DB, .info = X86_DR6_BS });
}

void gen_exit_nochain(struct dc *s)
{
	if (s->tb->flags & CF_TRACE)
		gen_trace_trap(s);
	else
		ir_emit(s->ir, IR_exit_tb, IR_I64, NULL,
			(int64_t[]){ (uintptr_t)s->tb | TB_EXIT_NOCHAIN });
}

/*
 * Flags across TB ends.  Most blocks open by overwriting every arithmetic
 * flag before anything reads one: `and $0x7fff,%edx`, or a few register
 * movs and then a cmp.  The flags a predecessor computed for such a block
 * are then dead at the jump to it, and the predecessor need not compute
 * or store them (a discard of the cc globals before its goto_tb).  What
 * could still see the stale ones in env, and how it cannot:
 *  - a fault before the overwrite: the opening has no memory operand (a
 *    register or immediate operand only, lea and nop aside), so none;
 *  - a signal or exit request: when such a block leaves at its entry's
 *    exit-request check, the exec loop runs the block once more first, as
 *    a one-shot TB without the check (tb.h: opening; coverage and the
 *    other tools see the same block), and left through a discarding exit that
 *    was not chained, it runs the next TB before it looks at requests
 *    (tb.h: cc_dead_exits);
 *  - code changed under the predecessor: the opening must lie in the
 *    predecessor's first page, whose writes drop both, and a predecessor
 *    on a page that is written often (one-instruction TBs) never discards;
 *  - a plugin reading registers, the soft MMU's interrupts, single-step
 *    traps: none of this while any of them may happen.
 */
enum { OPEN_STOP, OPEN_ON, OPEN_KILL };

/* What an instruction is to such an opening, from its encoding alone:
 * OPEN_ON for a move, lea or nop of registers and immediates (no memory
 * operand: modrm.mod 3, lea's address generation aside), OPEN_KILL for an
 * add, sub, cmp, and, or, xor, test or neg of the same, which writes all
 * six flags and reads none, OPEN_STOP for anything else. */
static int opening_class(const ZydisDecodedInstruction *in)
{
	bool regs = !(in->attributes & ZYDIS_ATTRIB_HAS_MODRM) || in->raw.modrm.mod == 3;
	if (in->attributes & ZYDIS_ATTRIB_HAS_LOCK)
		return OPEN_STOP;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_NOP: case ZYDIS_MNEMONIC_ENDBR64: case ZYDIS_MNEMONIC_LEA:
		return OPEN_ON;
	case ZYDIS_MNEMONIC_MOV:
		/* not the segment, control or moffs forms */
		if (in->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT ||
		    !((in->opcode >= 0x88 && in->opcode <= 0x8b) || (in->opcode >= 0xb0 && in->opcode <= 0xbf) ||
		      in->opcode == 0xc6 || in->opcode == 0xc7))
			return OPEN_STOP;
		return regs ? OPEN_ON : OPEN_STOP;
	case ZYDIS_MNEMONIC_MOVZX: case ZYDIS_MNEMONIC_MOVSX: case ZYDIS_MNEMONIC_MOVSXD:
		return regs ? OPEN_ON : OPEN_STOP;
	case ZYDIS_MNEMONIC_ADD: case ZYDIS_MNEMONIC_SUB: case ZYDIS_MNEMONIC_CMP:
	case ZYDIS_MNEMONIC_AND: case ZYDIS_MNEMONIC_OR: case ZYDIS_MNEMONIC_XOR:
	case ZYDIS_MNEMONIC_TEST: case ZYDIS_MNEMONIC_NEG:
		return regs ? OPEN_KILL : OPEN_STOP;
	default:
		return OPEN_STOP;
	}
}

#define OPENING_MAX 8

/* Whether the opcode past legacy and REX prefixes may begin an instruction
 * opening_class accepts, and its modrm, when it has one, names a register:
 * most blocks open with a push, a load, a call or a jump, which this turns
 * away before the decoder runs.  (It turns away only what opening_class
 * would: a TB's opening found by the translation loop is never shorter
 * than what this allows.) */
static bool opening_bytes(const uint8_t *b, size_t n)
{
	/* with a modrm: 00-03 add, 08-0b or, 20-23 and, 28-2b sub, 30-33 xor,
	 * 38-3b cmp, 63 movsxd, 80-8b group 1, test and mov, c6 c7 mov, f6 f7
	 * test and neg; without: 04 05, 0c 0d, 24 25, 2c 2d, 34 35, 3c 3d,
	 * a8 a9 (al/eax and an immediate), b0-bf mov, 90 nop; 8d lea (any
	 * modrm) and 0f (two bytes) below */
	static const uint64_t modrm[4] = { 0x0f0f0f0f00000f0full, 0x0000000800000000ull,
					   0x0000000000000fffull, 0x00c00000000000c0ull };
	static const uint64_t plain[4] = { 0x3030303000003030ull, 0,
					   0xffff030000010000ull, 0 };
	size_t i = 0;
	while (i < n && (b[i] == 0x66 || b[i] == 0xf2 || b[i] == 0xf3 || b[i] == 0x2e ||
			 b[i] == 0x3e || b[i] == 0x26 || b[i] == 0x64 || b[i] == 0x65 || b[i] == 0x36 ||
			 b[i] == 0x67 || (b[i] & 0xf0) == 0x40))
		i++;
	if (i + 1 >= n)
		return false;
	uint8_t op = b[i], m = b[i + 1];
	if (op == 0x8d)
		return true;
	if (op == 0x0f)	/* movzx, movsx (register forms), nop, endbr64 */
		return m == 0x1f || m == 0x1e ||
		       ((m == 0xb6 || m == 0xb7 || m == 0xbe || m == 0xbf) && i + 2 < n && b[i + 2] >> 6 == 3);
	if (plain[op >> 6] >> (op & 63) & 1)
		return true;
	return (modrm[op >> 6] >> (op & 63) & 1) && m >> 6 == 3;
}

/* The number of the instruction that overwrites the flags in the opening
 * at pc (1 to OPENING_MAX), 0 when the code at pc, within its page, does
 * not open that way. */
static unsigned flags_killed_at(uint64_t pc)
{
	uint64_t page = pc >> 12;
	for (unsigned k = 1; k <= OPENING_MAX; k++) {
		uint8_t buf[15];
		ZydisDecoderContext ctx;
		ZydisDecodedInstruction in;
		size_t avail = x86_fetch_code(pc, buf);
		if (!avail || !opening_bytes(buf, avail) ||
		    !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, &ctx, buf, avail, &in)) ||
		    (pc + in.length - 1) >> 12 != page)
			return 0;
		int cls = opening_class(&in);
		if (cls != OPEN_ON)
			return cls == OPEN_KILL ? k : 0;
		pc += in.length;
	}
	return 0;
}

/* Whether TBs of these flags may take part (flags_killed_at): not when a
 * tool may read registers, nor in whole-system mode, nor single-stepping. */
static bool flags_across_ok(const struct tb *tb)
{
	return !tlb_softmmu && !exec_regs_watched &&
	       !(tb->flags & (CF_TRACE | CF_ONESHOT | X86_CF_COMPAT | X86_CF_SYSTEM));
}

void gen_jmp_to(struct dc *s, int n, uint64_t target)
{
	if (s->tb->flags & CF_TRACE) {
		gen_sync_pc(s, target);
		gen_trace_trap(s);
		return;
	}
	if (s->nochain) {
		gen_sync_pc(s, target);
		ir_emit(s->ir, IR_exit_tb, IR_I64, NULL, (int64_t[]){ 0 });
		return;
	}
	/* System mode chains only within the TB's virtual page (a mapping
	 * may change under a chained jump): a jump to another page probes
	 * the jump cache, which every TLB flush empties, as an indirect
	 * branch does, rather than leaving to the exec loop each time. */
	if (tlb_softmmu && ((target ^ s->tb->pc) & ~(uint64_t)4095)) {
		gen_sync_pc(s, target);
		ir_emit(s->ir, IR_goto_lookup, IR_I64, (ir_ref[]){ G.rip }, NULL);
		return;
	}
	if (n == 1)
		s->slot1_used = true;
	/* (a TB that wrote no flags has none to leave unstored; the target's
	 * TB, when there is one, knows its opening) */
	int opening = -1;
	if (s->cc_discard && s->cc_op != CC_OP_DYNAMIC && target >> 12 == s->tb->pc >> 12 &&
	    (opening = exec_tb_opening(target, s->tb->flags)) < 0)
		opening = flags_killed_at(target);
	if (opening > 0) {
		ir_emit(s->ir, IR_discard, IR_I64, (ir_ref[]){ G.cc_op }, NULL);
		ir_emit(s->ir, IR_discard, IR_I64, (ir_ref[]){ G.cc_dst }, NULL);
		ir_emit(s->ir, IR_discard, IR_I64, (ir_ref[]){ G.cc_src }, NULL);
		ir_emit(s->ir, IR_discard, IR_I64, (ir_ref[]){ G.cc_src2 }, NULL);
		s->tb->cc_dead_exits |= 1u << n;
	}
	ir_emit(s->ir, IR_goto_tb, IR_I64, NULL, (int64_t[]){ n });
	gen_sync_pc(s, target);
	ir_emit(s->ir, IR_exit_tb, IR_I64, NULL, (int64_t[]){ (uintptr_t)s->tb | n });
}

/* The taken sides of the branches the TB went on past (lift-flow.c
 * gen_branch), out of the body's line: each chains through a goto_tb
 * slot the TB's own end left free (1 if it did, then 2 and 3), any beyond
 * those probe the jump cache.  A chained side exit is a direct jump where
 * a probe was two dependent loads and an indirect jump: gzip's
 * longest-match loop leaves its first block through one on most of its
 * iterations. */
static void gen_side_exits(struct dc *s)
{
	int n = s->slot1_used ? 2 : 1;

	for (unsigned i = 0; i < s->nside; i++) {
		set_label(s, s->side[i].label);
		if (n < TB_NJMP) {
			gen_jmp_to(s, n++, s->side[i].target);
			continue;
		}
		gen_sync_pc(s, s->side[i].target);
		ir_emit(s->ir, IR_goto_lookup, IR_I64, (ir_ref[]){ G.rip }, NULL);
	}
}

void gen_jmp_indirect(struct dc *s, ir_ref target)
{
	ir_mov(s, G.rip, target);
	if (s->nochain || (s->tb->flags & CF_TRACE)) {
		gen_exit_nochain(s);
		return;
	}
	ir_emit(s->ir, IR_goto_lookup, IR_I64, (ir_ref[]){ G.rip }, NULL);
}

void gen_raise(struct dc *s, const struct guest_exception *e)
{
	uint64_t desc = e->vector | (uint64_t)e->flags << 8 | (uint64_t)e->map << 16;
	gen_helper(s, HELPER_raise, 4, s->ir->env, cst(s, desc), cst(s, e->error_code),
		   cst(s, e->vector == X86_EXC_PF ? e->addr : e->info));
	ir_emit(s->ir, IR_exit_tb, IR_I64, NULL, (int64_t[]){ 0 });
}

static void gen_fault(struct dc *s, const struct guest_exception *e)
{
	gen_sync_pc(s, s->pc);
	gen_raise(s, e);
	s->state = DISAS_EXITED;
}

void gen_exception(struct dc *s, enum x86_vector v)
{
	gen_fault(s, &(struct guest_exception){ .vector = v });
}

void gen_exception_err(struct dc *s, enum x86_vector v, uint32_t error_code)
{
	gen_fault(s, &(struct guest_exception){ .vector = v, .flags = EXC_HAS_ERROR,
						.error_code = error_code });
}

void gen_ac_check(struct dc *s, ir_ref ea, unsigned align)
{
	if (!(s->tb->flags & X86_CF_ALIGN) || align <= 1)
		return;
	/* the cold path raises #AC and leaves the TB; the lifter goes on
	 * after the label in the state it was in */
	enum dc_state state = s->state;
	uint32_t ok = ir_new_label(s->ir);
	ir_brc(s, IR_TSTEQ, ea, cst(s, align - 1), ok);
	/* misaligned and non-canonical: the access's own #GP/#SS first */
	ir_ref canon = ir_bin(s, IR_sar, ir_bin(s, IR_shl, ea, cst(s, 16)), cst(s, 16));
	ir_brc(s, IR_NE, canon, ea, ok);
	gen_exception_err(s, X86_EXC_AC, 0);
	set_label(s, ok);
	s->state = state;
}

bool gen_illegal(struct dc *s)
{
	if (log_enabled(LOG_UNIMP)) {
		char text[96];
		ZydisFormatter fmt;
		ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_ATT);
		ZydisFormatterFormatInstruction(&fmt, &s->insn, s->op, s->insn.operand_count_visible,
						text, sizeof(text), s->pc, NULL);
		log_printf("loom: unimplemented instruction at 0x%lx: ", (unsigned long)s->pc);
		for (int i = 0; i < s->insn.length; i++)
			log_printf("%02x ", ((const uint8_t *)(uintptr_t)s->pc)[i]);
		log_printf("(%s)\n", text);
	}
	gen_exception(s, X86_EXC_UD);
	return true;
}

/* ---- stack ---- */

void gen_push(struct dc *s, ir_ref v, int size)
{
	ir_ref sp = ir_bin(s, IR_sub, G.regs[R_RSP], cst(s, 1 << size));
	ir_st(s, v, sp, size);
	ir_mov(s, G.regs[R_RSP], sp);
}

ir_ref gen_pop_value(struct dc *s, int size, ir_ref *new_rsp)
{
	ir_ref v = ir_ld(s, G.regs[R_RSP], size);
	*new_rsp = ir_bin(s, IR_add, G.regs[R_RSP], cst(s, 1 << size));
	return v;
}

/*
 * Before a store the frontend splits into parts (16- and 32-byte vectors):
 * the CPU writes nothing when any byte faults, while the parts, stored in
 * turn, would leave the first ones written.  So when the len bytes at ea
 * cross a page, both pages are tried first, in order, by helper_st_probe
 * (an atomic or of 0: invisible to other threads, and to plugins) at the
 * first byte the store would write there, which is what the CPU reports
 * for the whole store (in whole-system mode, through the soft MMU, by a
 * cmpxchg of the byte with itself).  (An 80-bit x87 store is not one: the
 * host writes its first 8 bytes before the part in the next page faults,
 * and so does loom.)
 */
void gen_st_probe(struct dc *s, ir_ref ea, int len)
{
	uint32_t skip = ir_new_label(s->ir);
	ir_ref last = ir_bin(s, IR_add, ea, cst(s, len - 1));
	ir_brc(s, IR_TSTEQ, ir_bin(s, IR_xor, ea, last), cst(s, ~0xfffull), skip);
	ir_ref page = ir_bin(s, IR_and, last, cst(s, ~0xfffull));
	if (s->tb->flags & X86_CF_SYSTEM) {
		/* guest addresses go through the soft MMU: the probes are
		 * guest accesses, a cmpxchg of a byte with itself */
		ir_ref at[2] = { ea, page };
		for (int i = 0; i < 2; i++) {
			ir_ref v = ir_ld(s, at[i], IR_MO_8);
			ir_ref seen = tmp64(s);
			ir_emit(s->ir, IR_cmpxchg, IR_I64, (ir_ref[]){ seen, at[i], v, v }, (int64_t[]){ IR_MO_8 });
		}
	} else {
		gen_sync_pc(s, s->pc);
		gen_helper(s, HELPER_st_probe, 2, ea, page);
	}
	set_label(s, skip);
}

/* ---- the translation loop ---- */

/* Whether the instruction has a memory operand of 16 bytes or more (a
 * vector, a save area, a far pointer is not one): its lifter's 8-byte
 * parts carry no #AC check of their own (SDM vol. 3, "Alignment Check
 * Exception": 16-byte operands are checked for #GP when they must be
 * aligned, and unaligned vector loads and stores are not checked, on
 * this kind of CPU; the lifters of FXSAVE and maskmovdqu check
 * themselves). */
static bool wide_mem_operand(const struct dc *s)
{
	for (int i = 0; i < s->insn.operand_count; i++)
		if (s->op[i].type == ZYDIS_OPERAND_TYPE_MEMORY && s->op[i].mem.type == ZYDIS_MEMOP_TYPE_MEM &&
		    s->op[i].size >= 128)
			return true;
	return false;
}

/* Instructions above the selected -cpu level are undefined opcodes there. */
static bool isa_allowed(const ZydisDecodedInstruction *insn)
{
	/* Zydis also decodes Knights Corner's VEX forms (lzcnt, tzcnt, popcnt,
	 * the k-mask operations, jkzd...), which no x86-64 CPU runs: #UD. */
	if (insn->meta.isa_ext == ZYDIS_ISA_EXT_KNC || insn->meta.isa_ext == ZYDIS_ISA_EXT_KNCE ||
	    insn->meta.isa_ext == ZYDIS_ISA_EXT_KNCV)
		return false;
	switch (insn->meta.isa_set) {
	case ZYDIS_ISA_SET_SSE3:
	case ZYDIS_ISA_SET_SSE3X87:
	case ZYDIS_ISA_SET_SSSE3:
	case ZYDIS_ISA_SET_SSSE3MMX:
	case ZYDIS_ISA_SET_SSE4:
	case ZYDIS_ISA_SET_SSE42:
	case ZYDIS_ISA_SET_POPCNT:
	case ZYDIS_ISA_SET_CMPXCHG16B:
	case ZYDIS_ISA_SET_LAHF:
		return x86_level >= X86_V2;
	case ZYDIS_ISA_SET_AVX:
	case ZYDIS_ISA_SET_AVX2:
	case ZYDIS_ISA_SET_AVX2GATHER:
	case ZYDIS_ISA_SET_AVXAES:
	case ZYDIS_ISA_SET_FMA:
	case ZYDIS_ISA_SET_F16C:
	case ZYDIS_ISA_SET_XSAVE:
	case ZYDIS_ISA_SET_XSAVEC:
	case ZYDIS_ISA_SET_XSAVEOPT:
		return x86_level >= X86_V3;
	case ZYDIS_ISA_SET_BMI1:
	case ZYDIS_ISA_SET_BMI2:
	case ZYDIS_ISA_SET_LZCNT:
	case ZYDIS_ISA_SET_MOVBE:
		/* F3 0F BC/BD below v3 are BSF/BSR (lift-int.c) */
		return x86_level >= X86_V3 || insn->mnemonic == ZYDIS_MNEMONIC_TZCNT ||
		       insn->mnemonic == ZYDIS_MNEMONIC_LZCNT;
	case ZYDIS_ISA_SET_AES: return x86_ext & X86_EXT_AES;
	case ZYDIS_ISA_SET_PCLMULQDQ: return x86_ext & X86_EXT_PCLMUL;
	case ZYDIS_ISA_SET_RDRAND: return x86_ext & X86_EXT_RDRAND;
	case ZYDIS_ISA_SET_RDSEED: return x86_ext & X86_EXT_RDSEED;
	case ZYDIS_ISA_SET_SHA: return x86_ext & X86_EXT_SHA;
	case ZYDIS_ISA_SET_ADOX_ADCX: return x86_ext & X86_EXT_ADX;
	case ZYDIS_ISA_SET_RDWRFSGS: return x86_ext & X86_EXT_FSGSBASE;
	case ZYDIS_ISA_SET_CLFLUSHOPT: return x86_ext & X86_EXT_CLFLUSHOPT;
	case ZYDIS_ISA_SET_CLWB: return x86_ext & X86_EXT_CLWB;
	case ZYDIS_ISA_SET_SERIALIZE: return x86_ext & X86_EXT_SERIALIZE;
	case ZYDIS_ISA_SET_RDPID: return x86_ext & X86_EXT_RDPID;
	case ZYDIS_ISA_SET_RDTSCP: return x86_ext & X86_EXT_RDTSCP;
	case ZYDIS_ISA_SET_MOVDIR: return x86_ext & X86_EXT_MOVDIRI;	/* movdir64b: no lifter */
	default:
		return true;
	}
}

/* Whether user mode may fetch instructions from the page at addr: not from
 * the kernel's half of the address space, nor from a guest mapping without
 * PROT_EXEC (NX).  A page the exec layer does not know (-1: unmapped, or
 * not mapped by the guest) is left to the read to decide. */
static bool fetchable(uint64_t addr)
{
	if (addr >> 47)
		return false;
	int prot = exec_mem_prot(addr);
	return prot < 0 || (prot & PROT_EXEC);
}

/* Copy up to 15 code bytes at pc without faulting (exec/guest-mem.h's
 * fetch); returns bytes fetchable: readable and executable.  In
 * whole-system mode the environment's fetch walks the guest's page tables
 * at the vCPU's CPL (NX, U/S) and stops at the first byte it may not
 * fetch. */
size_t x86_fetch_code(uint64_t pc, uint8_t *buf)
{
	uint64_t page_end = (pc | 4095) + 1;
	size_t want = 15;
	if (tlb_softmmu)
		return guest_mem_fetch(NULL, buf, pc, want);
	if (!fetchable(pc))
		return 0;
	if (page_end - pc < 15 && !fetchable(page_end))
		want = page_end - pc;
	return guest_mem_fetch(NULL, buf, pc, want);
}

ir_ref guest_ir_pc(void) { return G.rip; }

/* The translation loop decoded instruction n (from 1) of the TB, by the
 * main decoder or not (main): does the TB's opening (flags_killed_at) go
 * on, or end here (tb->opening: n if it is the overwrite)?  *state is
 * OPEN_ON while it goes on.  As flags_killed_at would find it, without
 * decoding again. */
static void opening_note(struct dc *s, int *state, unsigned n, bool main)
{
	if (*state != OPEN_ON)
		return;
	int cls = main && (s->pc + s->insn.length - 1) >> 12 == s->tb->pc >> 12 ?
		  opening_class(&s->insn) : OPEN_STOP;
	if (cls == OPEN_KILL)
		s->tb->opening = n;
	*state = cls == OPEN_ON && n < OPENING_MAX ? OPEN_ON : OPEN_STOP;
}

int guest_translate(struct ir_ctx *ir, struct tb *tb, unsigned max_insns,
		    const uint64_t *sync_insns)
{
	/* -d exec/cpu log every TB entry, so no TB may jump to another */
	struct dc dc = { .ir = ir, .tb = tb, .pc = tb->pc, .cc_op = CC_OP_DYNAMIC,
			 .nochain = (tb->flags & CF_NOCHAIN) || log_enabled(LOG_EXEC | LOG_CPU) };
	struct dc *s = &dc;
	uint64_t checked_page = ~0ull;
	unsigned n = 0;
	bool timing = log_enabled(LOG_STATS);

	/* Exit requests are seen at TB entry with one compare.  Not by a
	 * one-shot TB: it finishes an instruction that an SMC restart
	 * interrupted (exec/smc.c), whose block entry and instruction the
	 * plugins have already seen; left at an exit request, the
	 * instruction would run again in an ordinary TB, be restarted again,
	 * and be seen twice -- depending on when a host timer tick came. */
	uint32_t exit_label = ir_new_label(ir);
	tb->cc_dead_exits = tb->opening = 0;
	int opening = OPEN_STOP;
	if (flags_across_ok(tb)) {
		opening = OPEN_ON;
		s->cc_discard = max_insns > 1 && !s->nochain;	/* (one: maybe a hot page) */
	}
	if (!(tb->flags & CF_ONESHOT)) {
		ir_ref req = ir_ldenv(s, CPU_OFF(x.exit_request), IR_MO_32);
		ir_brc(s, IR_NE, req, cst(s, 0), exit_label);
	}

	/* 32-bit, 16-bit and real-mode code are not decoded yet: #UD */
	if ((tb->flags & X86_CF_COMPAT) && gen_unsupported_mode(s)) {
		n = 1;
		s->next_pc = s->pc + 1;
	}
	while (s->state == DISAS_NEXT) {
		uint8_t buf[15];
		const void *code = (const void *)(uintptr_t)s->pc;
		size_t avail = 15;
		uint64_t t0 = timing ? exec_now_ns() : 0;

		/* Only a TB's first instruction may leave the TB's first page,
		 * so a TB lies on at most two pages (exec/smc.c tracks them). */
		if (n > 0 && (s->pc >> 12) != (tb->pc >> 12)) {
			s->next_pc = s->pc;
			s->state = DISAS_TOO_MANY;
			break;
		}
		/* Pages are probed once per TB; the tail of a page always. */
		if ((s->pc >> 12) != checked_page || ((s->pc + 14) >> 12) != checked_page) {
			avail = x86_fetch_code(s->pc, buf);
			if (avail == 0) {
				if (n == 0)
					return -1;
				s->next_pc = s->pc;
				s->state = DISAS_TOO_MANY;
				break;
			}
			/* (system mode: a virtual address is no host
			 * address, so the code is always copied) */
			if (avail == 15 && !tlb_softmmu)
				checked_page = s->pc >> 12;
			code = buf;
		}
		bool decoded = decode_for_lift(&decoder, code, avail, &s->insn, s->op);
		bool main_decoded = decoded;
		if (!decoded)
			decoded = x86_decode(&hint_decoder, code, avail, &s->insn, s->op) &&
				  x86_in_hint_space(&s->insn);
		if (timing)
			exec_stats.decode_ns += exec_now_ns() - t0;
		if (!decoded) {
			if (avail < 15 && (s->pc + avail) % 4096 == 0 && tlb_softmmu) {
				/* System mode: an instruction that runs into a
				 * page it cannot be fetched from starts a TB of
				 * its own and that TB is not made (the exec loop
				 * raises the fault): which page it needs is a
				 * mapping the key does not cover, and may change. */
				if (n == 0)
					return -1;
				s->next_pc = s->pc;
				s->state = DISAS_TOO_MANY;
				break;
			}
			s->next_pc = s->pc + 1;
			ir_emit(ir, IR_insn_start, IR_I64, NULL, (int64_t[]){ s->pc, 1 });
			n++;
			if (avail < 15 && (s->pc + avail) % 4096 == 0) {
				/* the instruction runs into a page it cannot be
				 * fetched from */
				struct guest_exception e;
				x86_fetch_fault(s->pc + avail, &e);
				gen_fault(s, &e);
			} else {
				gen_exception(s, X86_EXC_UD);
			}
			break;
		}
		if (n > 0 && ((s->pc + s->insn.length - 1) >> 12) != (tb->pc >> 12)) {
			s->next_pc = s->pc;
			s->state = DISAS_TOO_MANY;
			break;
		}
		s->next_pc = s->pc + s->insn.length;
		/* A tool may rewrite the guest state here: forget what the
		 * lifter knew (the cc_* globals always hold the truth). */
		if (sync_insns && (sync_insns[n / 64] >> (n % 64) & 1)) {
			s->cc_op = CC_OP_DYNAMIC;
			s->cc_srcT = 0;
		}
		ir_emit(ir, IR_insn_start, IR_I64, NULL, (int64_t[]){ s->pc, s->insn.length });
		n++;
		opening_note(s, &opening, n, main_decoded);
		s->ac_off = !(tb->flags & X86_CF_ALIGN) || wide_mem_operand(s);
		lift_fn *fn = lifters[s->insn.mnemonic];
		if ((tb->flags & X86_CF_SYSTEM) && sys_lifters[s->insn.mnemonic])
			fn = sys_lifters[s->insn.mnemonic];
		int shadow = s->irq_shadow;
		bool hint = x86_in_hint_space(&s->insn);
		/* (no mnemonic of visible_only_list takes an MMX register) */
		bool mmx = !hint && !visible_only[s->insn.mnemonic] &&
			   (s->insn.mnemonic == ZYDIS_MNEMONIC_EMMS || has_mm_operand(s));
		if (mmx && mmx_lifters[s->insn.mnemonic])
			fn = mmx_lifters[s->insn.mnemonic];
		if (hint)
			fn = gen_HINT;
		bool ok = fn && (hint || isa_allowed(&s->insn));
		if (ok && mmx)
			gen_mmx_check(s);
		if (!ok || !fn(s))
			gen_illegal(s);
		if (s->state == DISAS_NEXT && shadow) {
			/* the one instruction after sti ran without an
			 * interrupt check: now back to the loop, which takes
			 * the interrupt sti may have let in */
			s->irq_shadow = false;
			gen_sync_pc(s, s->next_pc);
			gen_exit_nochain(s);
			s->state = DISAS_EXITED;
		}
		if (s->state == DISAS_NEXT) {
			s->pc = s->next_pc;
			if (n >= max_insns && !s->irq_shadow)
				s->state = DISAS_TOO_MANY;
		}
	}
	if (s->state == DISAS_TOO_MANY)
		gen_jmp_to(s, 0, s->next_pc);
	gen_side_exits(s);
	set_label(s, exit_label);
	ir_emit(ir, IR_exit_tb, IR_I64, NULL, (int64_t[]){ (uintptr_t)tb | TB_EXIT_REQUESTED });
	if (opening == OPEN_ON)	/* the TB ended first */
		tb->opening = flags_killed_at(tb->pc);

	uint64_t end = s->state == DISAS_EXITED ? s->next_pc : s->pc;
	if (s->state == DISAS_TOO_MANY)
		end = s->next_pc;
	tb->guest_size = end > tb->pc ? end - tb->pc : 1;
	tb->ninsns = n;
	return 0;
}

void guest_disas(FILE *f, uint64_t pc, uint32_t size)
{
	ZydisDisassembledInstruction insn;
	uint64_t end = pc + size;
	while (pc < end) {
		uint8_t buf[15];
		size_t avail = x86_fetch_code(pc, buf);
		if (!avail || !ZYAN_SUCCESS(ZydisDisassembleATT(ZYDIS_MACHINE_MODE_LONG_64, pc, buf,
								avail, &insn))) {
			/* the hint space's forms only hint_decoder knows */
			ZydisFormatter fmt;
			if (avail && ZYAN_SUCCESS(ZydisDecoderDecodeFull(&hint_decoder, buf, avail, &insn.info,
									 insn.operands)) &&
			    x86_in_hint_space(&insn.info) &&
			    ZYAN_SUCCESS(ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_ATT)) &&
			    ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&fmt, &insn.info, insn.operands,
									 insn.info.operand_count_visible,
									 insn.text, sizeof(insn.text), pc,
									 NULL))) {
				fprintf(f, "0x%016lx:  %s\n", (unsigned long)pc, insn.text);
				pc += insn.info.length;
				continue;
			}
			fprintf(f, "0x%016lx:  (bad)\n", (unsigned long)pc);
			return;
		}
		fprintf(f, "0x%016lx:  %s\n", (unsigned long)pc, insn.text);
		pc += insn.info.length;
	}
}
