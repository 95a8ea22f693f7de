/* Shared between afl.c (map, scope, fork server), afl-persist.c and
 * afl-cmplog.c only. */
#ifndef LOOM_INSTRUMENT_AFL_INTERNAL_H
#define LOOM_INSTRUMENT_AFL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "exec/exec.h"
#include "instrument/afl.h"
#include "instrument/vcpu-state.h"

struct afl {
	uint8_t *area;		/* the coverage map (afl-fuzz's shm, or ours) */
	uint32_t map_size;	/* reported to afl-fuzz */
	uint32_t inst_mask;	/* edges land in area[0 .. inst_mask] */
	int32_t prev_off;	/* env offset of instrument_vcpu.afl_prev_loc */
	bool fds;		/* fork-server descriptors are open */
	bool fs_started;	/* the server ran (or there is none) */
	bool child;		/* this process is a child of the server */
	uint64_t entry;		/* where the server starts */
	/* Shared-memory test cases (__AFL_SHM_FUZZ_ID): length, then bytes. */
	uint32_t *fuzz_len;
	uint8_t *fuzz_buf;
	bool shm_fuzz;		/* asked for (persistent hook wants it) */
};
extern struct afl afl;

/* afl.c: a hex address from the environment (fatal if malformed), made
 * absolute for a position-independent program if it is an offset in it. */
uint64_t afl_env_addr(const char *name, bool *set);
/* Helper indexes in the translator's table (afl_ir_init). */
extern uint32_t afl_helper_base;
enum { AFL_H_START, AFL_H_PERSIST_ENTRY, AFL_H_PERSIST_RET, AFL_H_COMPCOV, AFL_H_CMPLOG };

/* afl-persist.c */
struct cpu;
void afl_persist_setup(void);
bool afl_persist_active(void);	/* AFL_QEMU_PERSISTENT_ADDR is set */
uint64_t afl_persist_addr(void);
/* Emit the loop's checks for a TB at pc (before the edge). */
void afl_persist_tb(struct ir_ctx *ir, uint64_t pc);
uint64_t afl_helper_persist_entry(uint64_t env);
uint64_t afl_helper_persist_ret(uint64_t env);
/* The child's next iteration begins (reset prev_loc, feed the input). */
void afl_new_iteration(struct cpu *cpu);

/* afl-cmplog.c */
/* Attach the CMPLOG map if this is afl-fuzz's CMPLOG run. */
void afl_cmplog_setup(void);
bool afl_cmplog_active(void);
/* IR before the instruction at pc (in scope) if it is a compare or a call. */
void afl_cmplog_insn(struct ir_ctx *ir, uint64_t pc, const uint8_t *code, unsigned len);
void afl_helper_cmplog(uint64_t env, uint64_t desc, uint64_t x0, uint64_t x1, uint64_t where);

#endif
