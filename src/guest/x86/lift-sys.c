/*
 * The descriptor-table instructions open to user mode: LAR, LSL, VERR, VERW
 * (questions about a selector), and SGDT, SIDT, SLDT, STR, SMSW (reads of
 * system registers, which Linux answers with fixed values when the CPU has
 * UMIP).  loom's guest runs on the host kernel's descriptor tables, so each
 * runs as the host's own instruction in helper_sys (helpers.c); the answer
 * is what the same program gets natively.
 *
 * LAR, LSL, VERR and VERW change only ZF; LAR and LSL write their
 * destination only when ZF is set.
 *
 * Also the segment registers: mov and push read the guest's selector from
 * cpu->seg; mov, pop and lss/lfs/lgs load one through helper_seg_load,
 * which checks it on the host (faults are the kernel's own) and sets the
 * FS/GS base.  iret, which user mode may use as a far return with flags
 * and stack, goes through helper_iret.
 *
 * And the FSGSBASE instructions, which read and write the bases directly
 * (cpu->fs_base, cpu->gs_base: loom's own FS stays its own); the selectors
 * are left alone, as the CPU leaves them.
 */
#include <string.h>
#include "guest/x86/cpuid.h"
#include "guest/x86/sys.h"
#include "host/host.h"
#include "guest/x86/translate.h"

/* ZF from bit 0 of zf, the other arithmetic flags as they were. */
static void gen_set_zf(struct dc *s, ir_ref zf)
{
	ir_ref f = ir_bin(s, IR_and, gen_compute_eflags(s), cst(s, ~(uint64_t)X86_ZF));
	f = ir_bin(s, IR_or, f, ir_bin(s, IR_shl, zf, cst(s, 6)));
	gen_set_cc(s, CC_OP_EFLAGS, 0, f, 0);
}

/* In system mode the questions are about the guest's own descriptor
 * tables (lift-priv.c answers them). */
static ir_ref gen_sys(struct dc *s, int op, ir_ref arg)
{
	if (s->tb->flags & X86_CF_SYSTEM)
		return gen_sys_desc(s, op, arg);
	return gen_helper(s, HELPER_sys, 3, s->ir->env, cst(s, op), arg);
}

/* LAR/LSL r, r/m16: with ZF set, the value in the destination's width. */
static bool gen_lar_lsl(struct dc *s, int op)
{
	int r = reg_index(s->op[0].reg.value), size = op_size(s, 0);
	if (r < 0)
		return false;
	ir_ref sel = ir_bin(s, IR_and, gen_ld_op(s, 1), cst(s, 0xffff));
	ir_ref res = gen_sys(s, op, sel);
	ir_ref zf = ir_extr(s, res, 32, 1, false);
	ir_ref v = ir_extr(s, res, 0, 32, false);
	ir_ref old = tmp64(s);
	ir_mov(s, old, G.regs[r]);
	if (size == 1)
		v = ir_dep(s, old, v, 0, 16);
	ir_mov(s, G.regs[r], ir_movc(s, IR_NE, zf, cst(s, 0), v, old));
	gen_set_zf(s, zf);
	return true;
}

static bool gen_LAR(struct dc *s) { return gen_lar_lsl(s, SYS_LAR); }
static bool gen_LSL(struct dc *s) { return gen_lar_lsl(s, SYS_LSL); }

static bool gen_verx(struct dc *s, int op)
{
	ir_ref sel = ir_bin(s, IR_and, gen_ld_op(s, 0), cst(s, 0xffff));
	gen_set_zf(s, gen_sys(s, op, sel));
	return true;
}

static bool gen_VERR(struct dc *s) { return gen_verx(s, SYS_VERR); }
static bool gen_VERW(struct dc *s) { return gen_verx(s, SYS_VERW); }

/*
 * With UMIP the CPU refuses these in user mode and Linux emulates them,
 * after decoding the instruction itself: where its decoder gives up, the
 * program gets the #GP(0).  What a host shows:
 *  - a REX prefix that is not the last prefix (the CPU would ignore it);
 *  - more than four different legacy prefixes;
 *  - for a memory operand, two segment overrides in the kernel's record of
 *    the prefixes: the different legacy prefixes in order, up to four,
 *    with the last prefix of the instruction then put (or moved) into the
 *    fourth place, read up to the first empty place.  So two different
 *    overrides refuse (36 3e), and so does one that is the last of three
 *    different prefixes (f3 66 64), which the record holds twice.
 */
static bool host_umip(void)
{
	static int umip = -1;
	if (umip < 0)
		umip = host_has_umip();
	return umip;
}

static bool is_seg_prefix(uint8_t p)
{
	return p == 0x26 || p == 0x2e || p == 0x36 || p == 0x3e || p == 0x64 || p == 0x65;
}

static bool umip_refuses(struct dc *s)
{
	const ZydisDecodedInstruction *in = &s->insn;
	uint8_t rec[4] = { 0 }, last = 0;
	int n = 0;
	if (!host_umip())
		return false;
	for (int i = 0; i < in->raw.prefix_count; i++) {
		uint8_t p = in->raw.prefixes[i].value;
		if ((p & 0xf0) == 0x40) {
			if (i != in->raw.prefix_count - 1)
				return true;
			continue;
		}
		last = p;
		if (memchr(rec, p, n))
			continue;
		if (n == 4)
			return true;
		rec[n++] = p;
	}
	if (!op_is_mem(s, 0) || !last)
		return false;
	if (last != rec[3]) {
		for (int i = 0; rec[3] && i < n; i++)
			if (rec[i] == last)
				rec[i] = rec[3];
		rec[3] = last;
	}
	int segs = 0;
	for (int i = 0; i < 4 && rec[i]; i++)
		segs += is_seg_prefix(rec[i]);
	return segs > 1;
}

/* SLDT/STR/SMSW r/m and SGDT/SIDT m: the host runs the same form, on the
 * register's value or at the guest's address (helper_umip_store: the host
 * kernel's emulation then faults as it does natively).  A register takes
 * the instruction's operand size: REX.W 64 bits, 66 16, else 32. */
static bool gen_store_sysreg(struct dc *s, int op)
{
	if (umip_refuses(s)) {
		gen_exception_err(s, X86_EXC_GP, 0);
		return true;
	}
	if (op_is_mem(s, 0)) {
		gen_sync_pc(s, s->pc);
		gen_helper(s, HELPER_umip_store, 3, s->ir->env, cst(s, op), gen_ea(s, &s->op[0]));
		return true;
	}
	int r = reg_index(s->op[0].reg.value);
	int size = s->insn.operand_width == 64 ? 3 : s->insn.operand_width == 16 ? 1 : 2;
	if (r < 0 || (op == SYS_SGDT || op == SYS_SIDT))
		return false;
	ir_mov(s, G.regs[r], gen_sys(s, op | size << 8, G.regs[r]));
	return true;
}

static bool gen_SLDT(struct dc *s) { return gen_store_sysreg(s, SYS_SLDT); }
static bool gen_STR(struct dc *s) { return gen_store_sysreg(s, SYS_STR); }
static bool gen_SMSW(struct dc *s) { return gen_store_sysreg(s, SYS_SMSW); }

/* SGDT/SIDT m: a 2-byte limit and an 8-byte base. */
static bool gen_sxdt(struct dc *s, int op)
{
	if (!op_is_mem(s, 0))
		return false;
	return gen_store_sysreg(s, op);
}

static bool gen_SGDT(struct dc *s) { return gen_sxdt(s, SYS_SGDT); }
static bool gen_SIDT(struct dc *s) { return gen_sxdt(s, SYS_SIDT); }

/* ---- segment registers ---- */

static int sreg_of(const ZydisDecodedOperand *op)
{
	if (op->type != ZYDIS_OPERAND_TYPE_REGISTER ||
	    ZydisRegisterGetClass(op->reg.value) != ZYDIS_REGCLASS_SEGMENT)
		return -1;
	return op->reg.value - ZYDIS_REGISTER_ES;
}

bool is_sreg_operand(struct dc *s, int i)
{
	return sreg_of(&s->op[i]) >= 0;
}

static ir_ref gen_ld_sreg(struct dc *s, int sreg)
{
	return ir_ldenv(s, CPU_OFF(seg) + 2 * sreg, IR_MO_16);
}

/* The selector is checked (and may fault) before anything else changes. */
static void gen_load_sreg(struct dc *s, int sreg, ir_ref v)
{
	ir_ref sel = ir_bin(s, IR_and, v, cst(s, 0xffff));
	gen_sync_pc(s, s->pc);
	gen_helper(s, HELPER_seg_load, 3, s->ir->env, cst(s, sreg), sel);
}

/* mov Sreg, r/m16 (CS cannot be loaded: #UD); mov r/m, Sreg stores 16
 * bits to memory and to a 16-bit register, and zero-extends into a
 * 32- or 64-bit one. */
bool gen_MOV_sreg(struct dc *s)
{
	int to = sreg_of(&s->op[0]), from = sreg_of(&s->op[1]);
	if (to >= 0) {
		if (to == SREG_CS || to > SREG_GS)
			return gen_illegal(s);
		gen_load_sreg(s, to, gen_ld_op(s, 1));
		return true;
	}
	if (from < 0 || from > SREG_GS)
		return false;
	ir_ref v = gen_ld_sreg(s, from);
	if (op_is_mem(s, 0))
		ir_st(s, v, gen_ea(s, &s->op[0]), IR_MO_16);
	else if (reg_index(s->op[0].reg.value) >= 0)
		gen_st_op(s, 0, v);
	else
		return false;
	return true;
}

/* push fs/gs: the selector zero-extended to the operand width (64 or 16). */
bool gen_PUSH_sreg(struct dc *s)
{
	int sreg = sreg_of(&s->op[0]);
	if (sreg != SREG_FS && sreg != SREG_GS)
		return gen_illegal(s);
	gen_push(s, gen_ld_sreg(s, sreg), size_of_bits(s->insn.operand_width));
	return true;
}

/* pop fs/gs: rsp moves only once the selector loaded. */
bool gen_POP_sreg(struct dc *s)
{
	int sreg = sreg_of(&s->op[0]);
	ir_ref nsp;
	if (sreg != SREG_FS && sreg != SREG_GS)
		return gen_illegal(s);
	/* An Intel CPU reads only the 16-bit selector, whatever the operand
	 * size by which rsp moves (a pop from the last 2 bytes of a page does
	 * not touch the next one); an AMD one reads the whole operand and
	 * keeps its low word (cpuid.h). */
	ir_ref v;
	if (x86_amd && s->insn.operand_width > 16)
		v = ir_bin(s, IR_and, ir_ld(s, G.regs[R_RSP], s->insn.operand_width == 64 ? IR_MO_64
									     : IR_MO_32),
			   cst(s, 0xffff));
	else
		v = ir_ld(s, G.regs[R_RSP], IR_MO_16);
	nsp = ir_bin(s, IR_add, G.regs[R_RSP], cst(s, s->insn.operand_width / 8));
	gen_load_sreg(s, sreg, v);
	ir_mov(s, G.regs[R_RSP], nsp);
	return true;
}

/* RDFSBASE/RDGSBASE r32/r64: a 32-bit destination gets the low half. */
static bool gen_rdbase(struct dc *s, ir_ref base)
{
	gen_st_op(s, 0, base);
	return true;
}

/* WRFSBASE/WRGSBASE r32/r64: a 32-bit source is zero-extended; a
 * non-canonical 64-bit one is #GP(0). */
static bool gen_wrbase(struct dc *s, ir_ref base)
{
	ir_ref v = gen_ld_op(s, 0);
	if (op_size(s, 0) == 3) {
		/* canonical: bits 63..47 all equal (48-bit virtual addresses) */
		ir_ref top = ir_bin(s, IR_add, ir_bin(s, IR_sar, v, cst(s, 47)), cst(s, 1));
		uint32_t ok = ir_new_label(s->ir);
		ir_brc(s, IR_LEU, top, cst(s, 1), ok);
		gen_exception_err(s, X86_EXC_GP, 0);
		set_label(s, ok);
		s->state = DISAS_NEXT;
		v = gen_ld_op(s, 0);	/* a new block: reload */
	}
	ir_mov(s, base, v);
	return true;
}

static bool gen_RDFSBASE(struct dc *s) { return gen_rdbase(s, G.fs_base); }
static bool gen_RDGSBASE(struct dc *s) { return gen_rdbase(s, G.gs_base); }
static bool gen_WRFSBASE(struct dc *s) { return gen_wrbase(s, G.fs_base); }
static bool gen_WRGSBASE(struct dc *s) { return gen_wrbase(s, G.gs_base); }

/* lss/lfs/lgs r, m16:N: the offset, then the selector after it; the
 * selector loads (and may fault) before the register is written. */
static bool gen_load_far(struct dc *s, int sreg)
{
	if (!op_is_mem(s, 1))
		return false;
	int size = size_of_bits(s->insn.operand_width);
	ir_ref ea = gen_ea(s, &s->op[1]);
	ir_ref off = ir_ld(s, ea, size);
	ir_ref sel = ir_ld(s, ir_bin(s, IR_add, ea, cst(s, 1 << size)), IR_MO_16);
	gen_load_sreg(s, sreg, sel);
	gen_st_op(s, 0, off);
	return true;
}

static bool gen_LSS(struct dc *s) { return gen_load_far(s, SREG_SS); }
static bool gen_LFS(struct dc *s) { return gen_load_far(s, SREG_FS); }
static bool gen_LGS(struct dc *s) { return gen_load_far(s, SREG_GS); }

/* iret, iretd, iretq: helper_iret pops the frame; the TB ends at the
 * rip it loaded. */
static bool gen_IRET(struct dc *s)
{
	/* its pops are data accesses of the operand size (#AC) */
	gen_ac_check(s, G.regs[R_RSP], s->insn.operand_width / 8);
	gen_sync_pc(s, s->pc);
	gen_helper(s, HELPER_iret, 2, s->ir->env, cst(s, size_of_bits(s->insn.operand_width)));
	gen_exit_nochain(s);
	s->state = DISAS_EXITED;
	return true;
}

const struct lift_entry lift_sys_table[] = {
	{ ZYDIS_MNEMONIC_LSS, gen_LSS },
	{ ZYDIS_MNEMONIC_LFS, gen_LFS },
	{ ZYDIS_MNEMONIC_LGS, gen_LGS },
	{ ZYDIS_MNEMONIC_IRET, gen_IRET },
	{ ZYDIS_MNEMONIC_IRETD, gen_IRET },
	{ ZYDIS_MNEMONIC_IRETQ, gen_IRET },
	{ ZYDIS_MNEMONIC_LAR, gen_LAR },
	{ ZYDIS_MNEMONIC_LSL, gen_LSL },
	{ ZYDIS_MNEMONIC_VERR, gen_VERR },
	{ ZYDIS_MNEMONIC_VERW, gen_VERW },
	{ ZYDIS_MNEMONIC_SLDT, gen_SLDT },
	{ ZYDIS_MNEMONIC_STR, gen_STR },
	{ ZYDIS_MNEMONIC_SMSW, gen_SMSW },
	{ ZYDIS_MNEMONIC_SGDT, gen_SGDT },
	{ ZYDIS_MNEMONIC_SIDT, gen_SIDT },
	{ ZYDIS_MNEMONIC_RDFSBASE, gen_RDFSBASE },
	{ ZYDIS_MNEMONIC_RDGSBASE, gen_RDGSBASE },
	{ ZYDIS_MNEMONIC_WRFSBASE, gen_WRFSBASE },
	{ ZYDIS_MNEMONIC_WRGSBASE, gen_WRGSBASE },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
