/*
 * What the other layers ask of the guest: lift a TB to IR, read and set the
 * guest pc, restore state after a fault, registers and instructions as tools
 * see them.  One guest is linked in; a second guest is a second directory
 * implementing this same header.  The guest lies above exec: exec reaches
 * it only through guest_exec_ops (the table exec/exec.h describes, which
 * the front door installs as exec_guest); the instrument layer and the
 * environments call these functions directly.
 */
#ifndef LOOM_GUEST_GUEST_H
#define LOOM_GUEST_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ir/ir.h"
#include "exec/exec.h"

/* The members of exec's table (exec/exec.h: struct exec_guest). */
extern const struct exec_guest guest_exec_ops;

/* Register the guest's IR globals and helper table (once per ir_ctx). */
void guest_ir_init(struct ir_ctx *ir);
/* Lift the TB starting at tb->pc; fills tb->guest_size and tb->ninsns.
 * Returns 0, or -1 if the first instruction is not readable (the caller
 * raises guest_fetch_fault's exception at tb->pc).  sync_insns (NULL:
 * none) is a bitmap of instruction indexes before which a tool may change
 * guest registers: the lifted code carries no knowledge of the guest state
 * (lazy flags) across those boundaries. */
int guest_translate(struct ir_ctx *ir, struct tb *tb, unsigned max_insns,
		    const uint64_t *sync_insns);
/* The IR global holding the guest pc (tools store an instruction's pc in
 * it before a callback that reads registers). */
ir_ref guest_ir_pc(void);
uint64_t guest_pc(void *cpu);
void guest_set_pc(void *cpu, uint64_t pc);
struct cpu_exec *guest_exec_state(void *cpu);
/* Where struct cpu_exec lies in the guest's cpu struct (generated code
 * reaches its fields from env). */
int32_t guest_exec_offset(void);
/* Print the guest instructions of [pc, pc+size) for -d in_asm. */
void guest_disas(FILE *f, uint64_t pc, uint32_t size);
/* Around exec_run, on the cpu's own thread: hand host state the guest's
 * code runs under (x86: MXCSR) to the guest and take it back; also around
 * translation inside exec_run, which runs loom's and plugins' own code.  A
 * host signal handler that unwinds out of guest code with siglongjmp first
 * calls guest_host_signal_unwind with its ucontext. */
void guest_enter(void *cpu);
void guest_leave(void *cpu);
/* A tool's callback called from translated code leaves it by longjmp
 * (qemu_plugin_set_pc): the host FP state goes back to the guest's, as
 * the end of the tool region would have made it (host/host.h). */
void guest_tool_unwind(void *cpu);
void guest_host_signal_unwind(void *cpu, void *ucontext);
/* Exceptions whose guest form differs from the host's (guest/x86/fault.c).
 * guest_fault_refine: the host raised e (host_fault_exception: the host
 * CPU's exception) in the instruction at the guest pc (state exact there);
 * make it the exception the guest CPU would raise (x86: a host #GP that is
 * the guest's #SS).
 * guest_fetch_fault: the loop cannot translate at the guest pc, reached by
 * the instruction at branch_pc (0: not known).  Fill e with the guest's
 * exception: the branch's own fault if the guest CPU refuses the branch
 * (x86: a non-canonical target; the state is rewound to the branch), else
 * the fetch fault at the pc. */
void guest_fault_refine(void *cpu, struct guest_exception *e);
void guest_fetch_fault(void *cpu, uint64_t branch_pc, struct guest_exception *e);
/* Whether the guest CPU single-steps now (x86: RFLAGS.TF): the exec loop
 * then runs TBs translated with CF_TRACE. */
bool guest_tracing(void *cpu);
/* The translation-mode bits of the cpu's state now (within CF_GUEST_MASK;
 * 0 in user mode): TBs are looked up and translated with them. */
uint32_t guest_tb_mode(void *cpu);
/* Print the guest CPU state for -d cpu. */
void guest_dump_state(void *cpu, FILE *f);

/* Registers as tools name them (guest/x86/regs.c): index 0..count-1. */
struct guest_reg {
	const char *name;
	const char *feature;	/* gdb's feature group */
	unsigned size;		/* bytes */
};
int guest_reg_count(void);
bool guest_reg_info(int i, struct guest_reg *r);
int guest_reg_pc_index(void);
/* Read register i of cpu into buf (little-endian); returns its size or -1.
 * The state must be in the cpu struct (no live lazy copies). */
int guest_reg_read(void *cpu, int i, uint8_t *buf);
bool guest_reg_write(void *cpu, int i, const uint8_t *buf);
/* The compare the instruction in code[0..len) makes, if it is one of a
 * general register with an immediate (reg2 = -1) or another register
 * (guest/x86/cmp.c; for CompCov).  size: 2, 4 or 8 bytes. */
struct guest_cmp {
	int reg, reg2;		/* register indexes as in guest_reg_read's cpu */
	unsigned size;
	uint64_t imm;
};
bool guest_insn_cmp(const uint8_t *code, size_t len, struct guest_cmp *c);
/* CMPLOG (instrument/afl-cmplog.c): the operands a compare (`cmp`, `sub`;
 * 1, 2, 4 or 8 bytes; registers, memory, immediates) or a call (its first
 * two arguments) has, described at translation time and fetched at run time
 * before the instruction.  desc, x[0] and x[1] are opaque to the caller:
 * passed as they are to guest_cmplog_operands. */
struct guest_cmplog {
	bool call;		/* else a compare */
	unsigned size;		/* bytes of a compare's operands; 8 for a call */
	uint64_t desc, x[2];
};
bool guest_insn_cmplog(uint64_t pc, const uint8_t *code, size_t len, struct guest_cmplog *c);
/* The operands' values, zero-extended from the size, memory read through
 * read (0 or -errno); false if that fails. */
bool guest_cmplog_operands(void *cpu, uint64_t desc, uint64_t x0, uint64_t x1, uint64_t v[2],
			   int (*read)(void *dst, uint64_t src, size_t n));
/* The value of general register i (the state must be in the cpu struct). */
uint64_t guest_gpr(void *cpu, int i);
/* Disassemble the instruction at pc whose bytes are code[0..len) into out;
 * returns its length, or 0 (and "(bad)") if it does not decode. */
size_t guest_disas_insn(uint64_t pc, const uint8_t *code, size_t len, char *out, size_t outlen);

#endif
