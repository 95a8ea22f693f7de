/*
 * String instructions (movs, stos, lods, cmps, scas) with and without rep
 * prefixes.  A rep form is an IR loop inside the TB: each iteration does its
 * memory accesses first and then updates rcx/rsi/rdi, so a fault in
 * iteration k leaves the registers as the CPU would (k iterations done).
 * The step is df << size, df being +1 or -1.  With the 67 prefix (32-bit
 * addressing) the registers are esi, edi and ecx: addresses are their
 * zero-extended values, and they are updated as 32-bit registers (wrapping
 * at 4 GiB, upper halves cleared by the write).  Single-stepped (CF_TRACE),
 * the loop traps after each iteration instead of going round.
 *
 * Whole-system mode's rep movs and rep stos first hand the loop to
 * helper_rep_bulk, which does at once every iteration that lies on pages
 * the soft TLB maps plainly (a page's worth per probe instead of two
 * probes and a register write-back per element); the IR iteration after it
 * does what the helper cannot (a miss, a fault, MMIO, a code page), then
 * the helper goes on.  Not when a plugin may watch each access (one that
 * imports a memory-callback registration: exec_mem_watched), nor when
 * single-stepping.
 */
#include "exec/exec.h"
#include "exec/tlb.h"
#include "guest/x86/cpuid.h"
#include "guest/x86/sys.h"
#include "guest/x86/translate.h"

enum str_kind { STR_MOVS, STR_STOS, STR_LODS, STR_CMPS, STR_SCAS };

static int str_size(struct dc *s)
{
	return size_of_bits(s->insn.operand_width);
}

/* Register r (rsi, rdi, rcx) at the address size. */
static ir_ref str_reg(struct dc *s, int r)
{
	return s->insn.address_width == 32 ? gen_ld_reg(s, r, 2) : G.regs[r];
}

/* r = v at the address size (a 32-bit write clears the upper half). */
static void str_set(struct dc *s, int r, ir_ref v)
{
	if (s->insn.address_width == 32)
		gen_st_reg(s, r, 2, v);
	else
		ir_mov(s, G.regs[r], v);
}

/* r += step at the address size. */
static void str_add(struct dc *s, int r, ir_ref step)
{
	str_set(s, r, ir_bin(s, IR_add, G.regs[r], step));
}

static ir_ref seg_base(struct dc *s, ir_ref addr)
{
	/* Only the source (rsi) side honours a segment override. */
	for (int i = 0; i < s->insn.operand_count; i++) {
		if (s->op[i].type != ZYDIS_OPERAND_TYPE_MEMORY || reg_index(s->op[i].mem.base) != R_RSI)
			continue;
		if (s->op[i].mem.segment == ZYDIS_REGISTER_FS)
			return ir_bin(s, IR_add, addr, G.fs_base);
		if (s->op[i].mem.segment == ZYDIS_REGISTER_GS)
			return ir_bin(s, IR_add, addr, G.gs_base);
	}
	return addr;
}

/* One iteration; returns the compare operands for cmps/scas. */
static void str_step(struct dc *s, enum str_kind k, int size, ir_ref *a, ir_ref *b)
{
	ir_ref step = ir_bin(s, IR_shl, G.df, cst(s, size));
	ir_ref v;
	switch (k) {
	case STR_MOVS:
		v = ir_ld(s, seg_base(s, str_reg(s, R_RSI)), size);
		ir_st(s, v, str_reg(s, R_RDI), size);
		str_add(s, R_RSI, step);
		str_add(s, R_RDI, step);
		break;
	case STR_STOS:
		ir_st(s, gen_ld_reg(s, R_RAX, size), str_reg(s, R_RDI), size);
		str_add(s, R_RDI, step);
		break;
	case STR_LODS:
		v = ir_ld(s, seg_base(s, str_reg(s, R_RSI)), size);
		gen_st_reg(s, R_RAX, size, v);
		str_add(s, R_RSI, step);
		break;
	case STR_CMPS:
		/* es:rdi first: when both operands fault, the CPU reports that
		 * one (random-stream tester, seed 1 stream 885). */
		*b = ir_ld(s, str_reg(s, R_RDI), size);
		*a = ir_ld(s, seg_base(s, str_reg(s, R_RSI)), size);
		str_add(s, R_RSI, step);
		str_add(s, R_RDI, step);
		break;
	case STR_SCAS:
		*a = gen_ld_reg(s, R_RAX, size);
		*b = ir_ld(s, str_reg(s, R_RDI), size);
		str_add(s, R_RDI, step);
		break;
	}
}

static void cmp_flags(struct dc *s, int size, ir_ref a, ir_ref b)
{
	/* written explicitly: inside a loop the static cc_op is meaningless */
	ir_mov(s, G.cc_dst, ir_bin(s, IR_sub, a, b));
	ir_mov(s, G.cc_src, b);
	ir_mov(s, G.cc_op, cst(s, CC_OP_SUBB + size));
}

/* Whether a rep form of kind k may use helper_rep_bulk. */
static bool str_bulk(struct dc *s, enum str_kind k)
{
	if (!tlb_softmmu || exec_mem_watched || (s->tb->flags & CF_TRACE))
		return false;
	if (k != STR_MOVS && k != STR_STOS)
		return false;
	if (s->insn.address_width != 64)
		return false;
	for (int i = 0; i < s->insn.operand_count; i++) {
		const ZydisDecodedOperand *op = &s->op[i];
		if (op->type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    (op->mem.segment == ZYDIS_REGISTER_FS || op->mem.segment == ZYDIS_REGISTER_GS))
			return false;	/* the helper knows no segment base */
	}
	return true;
}

static bool gen_string(struct dc *s, enum str_kind k)
{
	int size = str_size(s);
	bool rep = s->insn.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE |
					 ZYDIS_ATTRIB_HAS_REPNE);
	bool cmp = k == STR_CMPS || k == STR_SCAS;
	ir_ref a = 0, b = 0;

	if (s->insn.address_width != 64 && s->insn.address_width != 32)
		return false;
	if (!rep) {
		str_step(s, k, size, &a, &b);
		if (cmp) {
			gen_set_cc(s, CC_OP_SUBB + size, ir_bin(s, IR_sub, a, b), b, 0);
			s->cc_srcT = a;
		}
		return true;
	}
	if (s->insn.address_width == 32) {
		/* Even when ecx is 0 the CPU writes ecx, and for movs and
		 * stos the pointers too (lods, cmps and scas leave them):
		 * upper halves cleared before the first iteration, as an
		 * Intel host shows (tests/isa string batch, addr32 forms). */
		str_set(s, R_RCX, G.regs[R_RCX]);
		if (k == STR_MOVS)
			str_set(s, R_RSI, G.regs[R_RSI]);
		if (k == STR_MOVS || k == STR_STOS)
			str_set(s, R_RDI, G.regs[R_RDI]);
	}
	/* cmps/scas: each iteration's operands wait in temps and become the
	 * flags when the loop ends, so a fault in an iteration leaves the
	 * flags from before the instruction (the SDM's REP prefix page says
	 * so; an Intel host shows it; not an AMD one, below). */
	ir_ref ta = 0, tb = 0, ran = 0;
	if (cmp) {
		ta = tmp64(s);
		tb = tmp64(s);
		ran = tmp64(s);
		ir_mov(s, ran, cst(s, 0));
	}
	uint32_t loop = ir_new_label(s->ir), done = ir_new_label(s->ir);
	set_label(s, loop);
	ir_brc(s, IR_EQ, str_reg(s, R_RCX), cst(s, 0), done);
	if (str_bulk(s, k)) {
		unsigned mmu = x86_sys_mmu_index(s->tb->flags);
		uint64_t op = (k == STR_MOVS ? REP_BULK_MOVS : REP_BULK_STOS) | size << 4 | mmu << 8;
		gen_helper(s, HELPER_rep_bulk, 2, s->ir->env, cst(s, op));
		ir_brc(s, IR_EQ, G.regs[R_RCX], cst(s, 0), done);
	}
	str_step(s, k, size, &a, &b);
	str_add(s, R_RCX, cst(s, -1));
	if (cmp) {
		ir_mov(s, ta, a);
		ir_mov(s, tb, b);
		ir_mov(s, ran, cst(s, 1));
		bool repne = s->insn.attributes & ZYDIS_ATTRIB_HAS_REPNE;
		ir_brc(s, repne ? IR_EQ : IR_NE, gen_ext(s, a, size, false), gen_ext(s, b, size, false), done);
		/* An AMD CPU's flags follow each iteration: a fault in the
		 * next leaves this one's (cpuid.h) */
		if (x86_amd)
			cmp_flags(s, size, ta, tb);
	}
	if (s->tb->flags & CF_TRACE) {
		/* Single-stepped, a rep instruction traps after every
		 * iteration but the last at itself, with RF in the saved
		 * flags on Intel (it resumes; not on AMD, cpuid.h); after
		 * the last at the next one. */
		ir_brc(s, IR_EQ, str_reg(s, R_RCX), cst(s, 0), done);
		if (cmp)	/* the iteration is complete at the trap */
			cmp_flags(s, size, ta, tb);
		gen_sync_pc(s, s->pc);
		if (!x86_amd) {
			ir_ref fl = ir_ldenv(s, CPU_OFF(eflags), IR_MO_64);
			ir_stenv(s, ir_bin(s, IR_or, fl, cst(s, X86_RF)), CPU_OFF(eflags), IR_MO_64);
		}
		gen_raise(s, &(struct guest_exception){ .vector = X86_EXC_DB, .info = X86_DR6_BS });
	} else {
		ir_emit(s->ir, IR_br, IR_I64, NULL, (int64_t[]){ loop });
	}
	set_label(s, done);
	if (cmp) {
		uint32_t none = ir_new_label(s->ir);
		ir_brc(s, IR_EQ, ran, cst(s, 0), none);
		cmp_flags(s, size, ta, tb);
		set_label(s, none);
		s->cc_op = CC_OP_DYNAMIC;
		s->cc_srcT = 0;
	}
	return true;
}

static bool gen_MOVS(struct dc *s) { return gen_string(s, STR_MOVS); }
static bool gen_STOS(struct dc *s) { return gen_string(s, STR_STOS); }
static bool gen_LODS(struct dc *s) { return gen_string(s, STR_LODS); }
static bool gen_CMPS(struct dc *s) { return gen_string(s, STR_CMPS); }
static bool gen_SCAS(struct dc *s) { return gen_string(s, STR_SCAS); }

const struct lift_entry lift_string_table[] = {
	{ ZYDIS_MNEMONIC_MOVSB, gen_MOVS }, { ZYDIS_MNEMONIC_MOVSW, gen_MOVS },
	{ ZYDIS_MNEMONIC_MOVSD, gen_MOVS }, { ZYDIS_MNEMONIC_MOVSQ, gen_MOVS },
	{ ZYDIS_MNEMONIC_STOSB, gen_STOS }, { ZYDIS_MNEMONIC_STOSW, gen_STOS },
	{ ZYDIS_MNEMONIC_STOSD, gen_STOS }, { ZYDIS_MNEMONIC_STOSQ, gen_STOS },
	{ ZYDIS_MNEMONIC_LODSB, gen_LODS }, { ZYDIS_MNEMONIC_LODSW, gen_LODS },
	{ ZYDIS_MNEMONIC_LODSD, gen_LODS }, { ZYDIS_MNEMONIC_LODSQ, gen_LODS },
	{ ZYDIS_MNEMONIC_CMPSB, gen_CMPS }, { ZYDIS_MNEMONIC_CMPSW, gen_CMPS },
	{ ZYDIS_MNEMONIC_CMPSD, gen_CMPS }, { ZYDIS_MNEMONIC_CMPSQ, gen_CMPS },
	{ ZYDIS_MNEMONIC_SCASB, gen_SCAS }, { ZYDIS_MNEMONIC_SCASW, gen_SCAS },
	{ ZYDIS_MNEMONIC_SCASD, gen_SCAS }, { ZYDIS_MNEMONIC_SCASQ, gen_SCAS },
	{ ZYDIS_MNEMONIC_INVALID, NULL },
};
