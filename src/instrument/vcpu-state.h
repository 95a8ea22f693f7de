/*
 * The instrument layer's own per-vCPU state: a region exec keeps at
 * instrument_vcpu_off from every vCPU's env (registered by
 * instrument_attach, zeroed for each new vCPU), so that generated code
 * reaches it from env as it reaches guest registers.  The plugin
 * scoreboards have a region of their own (plugin-internal.h: sb_env_off).
 */
#ifndef LOOM_INSTRUMENT_VCPU_STATE_H
#define LOOM_INSTRUMENT_VCPU_STATE_H

#include <stdint.h>

struct instrument_vcpu {
	/* enum qemu_plugin_cb_flags + 1 while a plugin callback runs, else 0 */
	uint32_t plugin_flags;
	/* the value of the memory access a memory callback is reporting */
	uint64_t plugin_mem_val[2];
	/* AFL++ edge map (afl.c): the previous block's location shifted
	 * right by one, read and written by generated code */
	uint64_t afl_prev_loc;
	/* loom-system's attributed coverage (system/syscov.c): the running
	 * process's context, 0 while unknown; every user block's code
	 * compares it with the last context that ran the block */
	uint64_t cov_context;
};
extern int32_t instrument_vcpu_off;

static inline struct instrument_vcpu *instrument_vcpu(void *cpu)
{
	return (struct instrument_vcpu *)((uint8_t *)cpu + instrument_vcpu_off);
}

#endif
