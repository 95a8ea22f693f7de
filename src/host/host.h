/*
 * What the exec layer asks of the host backend: the prologue/epilogue, code
 * for one TB from optimized IR, and patching of chained jumps.  The backend
 * knows host encodings and nothing of guest semantics.
 */
#ifndef LOOM_HOST_HOST_H
#define LOOM_HOST_HOST_H

#include <stddef.h>
#include <stdint.h>
#include "ir/ir.h"
#include "exec/exec.h"

/* Entering translated code: ret = host_enter(cpu, code). */
typedef uintptr_t (*host_enter_fn)(void *env, const void *code);

/* Emit the prologue and epilogue at rw (executing at rx).  Returns bytes used,
 * sets *enter and *epilogue_exit (where goto_ptr jumps to return 0). */
size_t host_gen_prologue(uint8_t *rw, uint8_t *rx, size_t avail,
			 host_enter_fn *enter, const void **epilogue_exit);
/* Generate code for the TB in ir.  Returns bytes used, or 0 if avail is too
 * small.  Fills tb->jmp_reset/jmp_insn and the insn_start table
 * (tb->insn_host_off must have room for tb->ninsns entries). */
size_t host_gen_code(struct ir_ctx *ir, struct tb *tb, uint8_t *rw, uint8_t *rx,
		     size_t avail);
/* Where the exec layer keeps what goto_lookup probes inline: the env
 * offset of the jump-cache pointer, its size, and the struct tb fields. */
struct host_jc_layout {
	int32_t jmp_cache_off;
	int bits;
	int32_t tb_pc_off, tb_code_off;
};
void host_set_jc_layout(const struct host_jc_layout *l);
/* Point the goto_tb n jump of tb at host address dest (rw is the writable
 * view of tb's code). */
void host_patch_jump(uint8_t *jmp_rw, const uint8_t *jmp_rx, const void *dest);
/* Print host code for -d out_asm. */
void host_disas(FILE *f, const uint8_t *code, size_t size);

#endif
