/*
 * What the exec layer asks of the guest: lift a TB to IR, read and set the
 * guest pc, restore state after a fault.  One guest is linked in; a second
 * guest is a second directory implementing this same header.
 */
#ifndef LOOM_GUEST_GUEST_H
#define LOOM_GUEST_GUEST_H

#include <stdint.h>
#include <stdio.h>
#include "ir/ir.h"
#include "exec/exec.h"

/* Register the guest's IR globals and helper table (once per ir_ctx). */
void guest_ir_init(struct ir_ctx *ir);
/* Lift the TB starting at tb->pc; fills tb->guest_size and tb->ninsns.
 * Returns 0, or -1 if the first instruction is not readable (the caller
 * raises SIGSEGV at tb->pc). */
int guest_translate(struct ir_ctx *ir, struct tb *tb, unsigned max_insns);
uint64_t guest_pc(void *cpu);
void guest_set_pc(void *cpu, uint64_t pc);
struct cpu_exec *guest_exec_state(void *cpu);
/* Print the guest instructions of [pc, pc+size) for -d in_asm. */
void guest_disas(FILE *f, uint64_t pc, uint32_t size);
/* Print the guest CPU state for -d cpu. */
void guest_dump_state(void *cpu, FILE *f);

#endif
