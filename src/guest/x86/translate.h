/*
 * Shared by the x86 lifting files: the disassembly context, operand access,
 * flag recording and TB exits.  A lifter is `bool gen_<MNEMONIC>(struct dc *)`
 * returning false when it cannot translate the instruction form (the caller
 * then raises #UD, as the CPU would for an undefined opcode).
 *
 * Invariant every lifter keeps: guest-visible state (globals) is written only
 * after the instruction's last memory access that may fault, so a fault
 * leaves the guest exactly at the start of the instruction.
 */
#ifndef LOOM_GUEST_X86_TRANSLATE_H
#define LOOM_GUEST_X86_TRANSLATE_H

#include <Zydis/Zydis.h>
#include "guest/x86/cpu.h"
#include "guest/x86/helpers.h"
#include "ir/ir.h"

/* Static knowledge of cc_op inside a TB. */
#define CC_OP_DYNAMIC (-1)

enum dc_state {
	DISAS_NEXT,		/* continue with the next instruction */
	DISAS_TOO_MANY,		/* TB ends: fall through to next_pc */
	DISAS_EXITED,		/* the lifter emitted the TB's exit */
};

struct dc {
	struct ir_ctx *ir;
	struct tb *tb;
	uint64_t pc, next_pc;
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
	int cc_op;		/* CC_OP_DYNAMIC or the value in the cc_op global */
	ir_ref cc_srcT;		/* SUB's first operand when cc_op is a known SUB */
	enum dc_state state;
	bool nochain;
	/* the interrupt shadow of sti and mov ss: the next instruction runs
	 * in this TB, whatever max_insns says, and ends it (lift-priv.c) */
	bool irq_shadow;
	/* Alignment checking (a TB of X86_CF_ALIGN): ir_ld and ir_st check
	 * each access for its own size unless ac_off, which the translation
	 * loop sets for an instruction with a 16-byte or wider memory
	 * operand (the CPU checks those for #GP or not at all, and its
	 * lifter checks whatever it must itself, with gen_ac_check). */
	bool ac_off;
	/* Forward conditional branches the TB continues past (lift-flow.c
	 * gen_branch): their taken exits, emitted after the TB's body, one
	 * per target (branches to the same target share it). */
	unsigned nside;
	struct { uint32_t label; uint64_t target; } side[4];
	bool slot1_used;	/* goto_tb 1 is taken by the TB's own end */
	/* Flags across TB ends (translate.c: flags_killed_at): whether this
	 * TB's chained exits may leave the flags dead. */
	bool cc_discard;
};

/* IR globals for the guest state (guest_ir_init fills them). */
struct x86_globals {
	ir_ref regs[16];
	ir_ref rip, cc_op, cc_dst, cc_src, cc_src2, df, fs_base, gs_base;
};
extern struct x86_globals G;

typedef bool lift_fn(struct dc *s);
struct lift_entry {
	ZydisMnemonic mnemonic;
	lift_fn *fn;
};
extern const struct lift_entry lift_int_table[], lift_flow_table[], lift_string_table[],
	lift_sse_table[], lift_x87_table[], lift_bmi_table[], lift_mmx_table[],
	lift_sys_table[], lift_avx_table[], lift_priv_table[];
/* The decoder every part of the frontend uses, and a fetch of up to 15
 * code bytes at pc that never faults (returns the bytes readable). */
void x86_decoder_init(ZydisDecoder *d);
/* ZydisDecoderDecodeFull with the operands put right where Zydis gets
 * them wrong (translate.c); every decode that computes an address. */
bool x86_decode(const ZydisDecoder *d, const uint8_t *code, size_t len, ZydisDecodedInstruction *in,
		ZydisDecodedOperand *op);
size_t x86_fetch_code(uint64_t pc, uint8_t *buf);
/* The user-mode lifter of the instruction (for system mode's lifters, on
 * forms whose meaning does not change). */
bool gen_user(struct dc *s);
/* LAR, LSL, VERR, VERW (SYS_* of helpers.h) in system mode: the answer
 * helper_sys gives in user mode, from the guest's tables (lift-priv.c). */
ir_ref gen_sys_desc(struct dc *s, int op, ir_ref sel);
/* A TB in a mode the decoder does not know (system mode's 32-bit code):
 * #UD at its first instruction, logged under unimp. */
bool gen_unsupported_mode(struct dc *s);
/* Segment-register forms of MOV, PUSH and POP (lift-sys.c). */
bool is_sreg_operand(struct dc *s, int i);
bool gen_MOV_sreg(struct dc *s);
bool gen_PUSH_sreg(struct dc *s);
bool gen_POP_sreg(struct dc *s);
/* The hint and reserved-NOP space, 0F 0D and 0F 18-1F (lift-int.c),
 * lifted by opcode whatever Zydis calls it. */
bool x86_in_hint_space(const ZydisDecodedInstruction *insn);
bool gen_HINT(struct dc *s);
/* Whether the frontend lifts a mnemonic at all (cpuid.c reports features
 * by it). */
bool x86_lifts(ZydisMnemonic m);

/* MMX registers (lift-mmx.c): operand i's MMX register number or -1;
 * entering MMX state; reading and writing a register. */
int mm_op(struct dc *s, int i);
bool has_mm_operand(struct dc *s);
void gen_mmx_check(struct dc *s);	/* #MF first: a pending x87 exception */
void gen_mmx_enter(struct dc *s);
ir_ref gen_ld_mm(struct dc *s, int i);
void gen_st_mm(struct dc *s, int i, ir_ref v);

/* Short builder vocabulary (64-bit unless the name says otherwise). */
static inline ir_ref tmp64(struct dc *s) { return ir_new_temp(s->ir, IR_I64); }
static inline ir_ref cst(struct dc *s, uint64_t v) { return ir_const(s->ir, IR_I64, v); }
static inline void ir_mov(struct dc *s, ir_ref d, ir_ref a) { ir_op1(s->ir, IR_mov, IR_I64, d, a); }
ir_ref ir_bin(struct dc *s, enum ir_opc opc, ir_ref a, ir_ref b);	/* new temp */
/* The same on the operand size: 32-bit operations become i32 ops. */
ir_ref ir_bin_sz(struct dc *s, enum ir_opc opc, int size, ir_ref a, ir_ref b);
ir_ref ir_un(struct dc *s, enum ir_opc opc, ir_ref a);
ir_ref ir_setc(struct dc *s, enum ir_cond c, ir_ref a, ir_ref b);
ir_ref ir_movc(struct dc *s, enum ir_cond c, ir_ref a, ir_ref b, ir_ref t, ir_ref f);
ir_ref ir_ld(struct dc *s, ir_ref addr, int memop);
void ir_st(struct dc *s, ir_ref val, ir_ref addr, int memop);
ir_ref ir_ldenv(struct dc *s, int32_t off, int memop);
void ir_stenv(struct dc *s, ir_ref v, int32_t off, int memop);
ir_ref ir_dep(struct dc *s, ir_ref a, ir_ref b, int pos, int len);
ir_ref ir_extr(struct dc *s, ir_ref a, int pos, int len, bool sign);
ir_ref gen_helper(struct dc *s, enum x86_helper h, int n, ...);	/* returns result or 0 */
void set_label(struct dc *s, uint32_t l);
void ir_brc(struct dc *s, enum ir_cond c, ir_ref a, ir_ref b, uint32_t l);

/* Operand sizes: log2 bytes (0..3) <-> bits. */
int size_of_bits(int bits);
ir_ref gen_ext(struct dc *s, ir_ref v, int size, bool sign);	/* to 64 bits */

/* Operands (index into s->op). Values are zero-extended to 64 bits. */
ir_ref gen_ea(struct dc *s, const ZydisDecodedOperand *op);
ir_ref gen_ea_offset(struct dc *s, const ZydisDecodedOperand *op);
ir_ref gen_ea_seg(struct dc *s, const ZydisDecodedOperand *op, ir_ref off);
void gen_st_probe(struct dc *s, ir_ref ea, int len);
ir_ref gen_ld_op(struct dc *s, int i);
ir_ref gen_ld_op_sext(struct dc *s, int i);
/* For consumers that read only the operand's low bits (i32 ops): a 32-bit
 * register operand comes without the zero-extension. */
ir_ref gen_ld_op_low(struct dc *s, int i);
void gen_st_op(struct dc *s, int i, ir_ref v);
int op_size(struct dc *s, int i);		/* log2 bytes of operand i */
bool op_is_mem(struct dc *s, int i);
int reg_index(ZydisRegister r);			/* 0-15 for GPRs of any width, -1 else */
ir_ref gen_ld_reg(struct dc *s, int reg, int size);	/* low bytes of a GPR */
void gen_st_reg(struct dc *s, int reg, int size, ir_ref v);	/* x86 partial-write rules */

/* Flags. */
void gen_set_cc(struct dc *s, int cc_op, ir_ref dst, ir_ref src, ir_ref src2);
void gen_set_cc_op(struct dc *s, int cc_op);
ir_ref gen_compute_eflags(struct dc *s);	/* arithmetic flags as a value */
ir_ref gen_compute_cf(struct dc *s);		/* 0 or 1 */
/* Condition `jcc` (x86 encoding 0..15) as (a cond b). */
struct cc_test { enum ir_cond cond; ir_ref a, b; };
struct cc_test gen_prepare_cc(struct dc *s, int jcc);
int jcc_of_mnemonic(ZydisMnemonic m);	/* Jcc/SETcc/CMOVcc -> 0..15, -1 */

/* TB exits. */
void gen_jmp_to(struct dc *s, int n, uint64_t target);	/* direct, chainable */
void gen_jmp_indirect(struct dc *s, ir_ref target);
/* Raise an exception at run time and leave the TB.  gen_raise: rip already
 * holds the pc e reports (a trap's: the next instruction's); gen_exception
 * and gen_exception_err: a fault at this instruction, which ends the TB. */
void gen_raise(struct dc *s, const struct guest_exception *e);
void gen_exception(struct dc *s, enum x86_vector v);
void gen_exception_err(struct dc *s, enum x86_vector v, uint32_t error_code);
/* #AC at this instruction when the TB checks alignment (X86_CF_ALIGN)
 * and ea is not a multiple of align, a power of two; nothing otherwise.
 * A non-canonical ea is left to the access, whose #GP or #SS comes
 * first on the CPU. */
void gen_ac_check(struct dc *s, ir_ref ea, unsigned align);
/* Leave the TB for the exec loop with the pc global set, unchained (in a
 * single-stepped TB: with the trace trap). */
void gen_exit_nochain(struct dc *s);
void gen_sync_pc(struct dc *s, uint64_t pc);
bool gen_illegal(struct dc *s);		/* #UD at this instruction; logs under unimp */

/* Stack. */
void gen_push(struct dc *s, ir_ref v, int size);
ir_ref gen_pop_value(struct dc *s, int size, ir_ref *new_rsp);

#endif
