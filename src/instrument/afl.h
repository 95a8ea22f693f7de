/*
 * AFL++ target mode (afl.c, afl-persist.c): what main, the linux layer and
 * the exec layer call.  loom becomes afl-fuzz's target when __AFL_SHM_ID is
 * set or the fork-server descriptors (198/199) are open, as qemuafl does;
 * otherwise afl_setup() returns at once and nothing here costs anything.
 */
#ifndef LOOM_INSTRUMENT_AFL_H
#define LOOM_INSTRUMENT_AFL_H

#include <stdbool.h>
#include <stdint.h>
#include "ir/ir.h"

/* After the program is loaded, before its first instruction: read the
 * AFL_* environment, attach the coverage map, register the edge tool.
 * A malformed variable is fatal (one line, LOOM_EXIT_USAGE). */
void afl_setup(void);
/* The translator's helpers (instrument_ir_init). */
void afl_ir_init(struct ir_ctx *ir);
/* exit/exit_group in the guest: true if persistent mode (with
 * AFL_QEMU_PERSISTENT_EXITS) turned it into the end of an iteration; the
 * guest's pc is then set to the persistent loop's start. */
bool afl_persistent_exit(void *cpu);

#endif
