/*
 * The instrument layer as the rest of loom sees it: loading plugins, the
 * translation hook that lets plugins (and built-in tools) inject IR, and the
 * run-time events the linux and exec layers report.  Everything is cheap
 * when no plugin is loaded: each hook starts with one test of
 * `instrument_active`.
 *
 * Invariant: instrumentation is translation-time state.  Whatever changes
 * which TBs would be instrumented how (a plugin enabled, disabled, reset or
 * uninstalled) flushes the code cache before the next TB runs.
 */
#ifndef LOOM_INSTRUMENT_INSTRUMENT_H
#define LOOM_INSTRUMENT_INSTRUMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ir/ir.h"
#include "exec/exec.h"

extern bool instrument_active;	/* some plugin is loaded */

/* -plugin SPEC / LOOM_PLUGIN: record a plugin to load.  SPEC is
 * "file=PATH,k=v,..." or "PATH,k=v,..." or a bundled plugin's short name.
 * Returns the spec with the file made absolute (for re-exec), or NULL after
 * printing why it is malformed. */
char *instrument_add_plugin(const char *spec);
/* Load the recorded plugins and call their install (after the program is
 * loaded, before it runs).  A plugin that fails to load is fatal: one
 * line on stderr, exit status LOOM_EXIT_USAGE. */
void instrument_load_plugins(void);

/* Hook the instrument layer into exec (exec_hooks: the translation stages,
 * fault fix-ups and flushes below, vCPUs starting and stopping) and
 * register its per-vCPU regions; the front door calls it after the options
 * (-plugin) and before exec_init and the first vCPU.  Each hook is cheap
 * when instrument_active is false. */
void instrument_attach(void);
/*
 * What the instrument layer asks of its environment (user mode: src/linux/;
 * whole-system mode: the machine), filled in by the front door before the
 * guest runs.  The instrument layer names no environment directly.
 */
struct instrument_image {
	const char *path;		/* the main program, absolute where known */
	uint64_t start_code, end_code;	/* its code, as qemu_plugin_start/end_code */
	uint64_t entry;			/* its entry point */
	uint64_t load_bias;		/* where a position-independent image lies, */
	uint64_t image_lo, image_hi;	/* ... and its span (AFL++ offsets) */
};
/* The physical side of one memory access (qemu_plugin_get_hwaddr). */
struct instrument_hwaddr {
	uint64_t pa;
	bool is_io;		/* a device's (MMIO), not RAM */
	const char *device;	/* the device's name when is_io */
};
struct loom_task;
struct instrument_env {
	/* the main program as loaded */
	void (*image)(struct instrument_image *out);
	/* fork the guest process (the AFL++ fork server): 0 in the child,
	 * the child's pid in the parent, or -errno */
	int64_t (*fork)(void *cpu);
	/* end the guest process as its exit_group(status) would; does not
	 * return */
	void (*exit_group)(int status);
	/* the guest's threads (vCPUs) running now */
	int (*thread_count)(void);
	/* the host address of the guest code whose TB key address (tb.h:
	 * phys_pc) is phys, or NULL (qemu_plugin_insn_haddr) */
	void *(*code_host)(uint64_t phys);

	/* Whole-system mode (qemu_info_t.system_emulation for plugins), with
	 * this many vCPUs. */
	bool system;
	int system_vcpus;

	/* Whole-system mode only: NULL in user mode, where plugins get QEMU's
	 * user-mode answers (no physical addresses, no hwaddr operations). */
	/* The physical side of the access to va that the memory callback
	 * running on cpu reports (a store when store): false if va has no
	 * translation now. */
	bool (*hwaddr)(void *cpu, uint64_t va, bool store, struct instrument_hwaddr *out);
	/* va through cpu's current page tables, as the kernel would reach it,
	 * setting no accessed or dirty bit: false if it is not mapped. */
	bool (*translate_vaddr)(void *cpu, uint64_t va, uint64_t *pa);
	/* Copy len bytes of guest-physical RAM at pa to or from buf: 0, or
	 * -EFAULT (not all of it is RAM or memory at all) or -EACCES (some of
	 * it is a device's: a plugin's access must not have a device's side
	 * effects). */
	int (*phys_rw)(uint64_t pa, void *buf, size_t len, bool write);

	/* The task cpu runs (loom_plugin_current_task): true and *out filled,
	 * or false when it cannot be known now.  NULL: the loom process's own
	 * (user mode, where the guest process is loom's). */
	bool (*current_task)(void *cpu, struct loom_task *out);
};
extern struct instrument_env instrument_env;
static inline _Noreturn void instrument_exit_group(int status)
{
	instrument_env.exit_group(status);
	__builtin_trap();	/* an environment's exit_group never returns */
}

/* Environment events the instrument layer takes part in.  The guest asks
 * to exit (exit or exit_group): true if a tool took over instead (the AFL++
 * persistent loop starts its next iteration). */
bool instrument_guest_exit(void *cpu);
/* Around a fork of the guest process (each tool's state, e.g. coverage
 * files, for the child). */
void instrument_fork_prepare(void);
void instrument_fork_parent(void);
void instrument_fork_child(void);

/* Register the instrument layer's helpers with the translator's IR. */
void instrument_ir_init(struct ir_ctx *ir);
/* After lifting: run the plugins' translation callbacks and inject their
 * instrumentation into the TB's IR.  May relift the TB (guest_translate
 * with sync_insns) when a callback may write registers.  Returns 0, or -1
 * if relifting failed (the page went away). */
int instrument_tb(struct ir_ctx *ir, struct tb *tb, unsigned max_insns);
/* A host fault in tb's instruction insn: store the plugin counter adds the
 * TB had not stored yet, up to that instruction (with its own adds when
 * own: it started; without them when it will run again). */
void instrument_fault_fixup(void *cpu, struct tb *tb, int insn, bool own);
/* Before lifting / after optimization (loom's extra translation stages). */
void instrument_tb_start(uint64_t pc);
void instrument_tb_end(struct ir_ctx *ir, struct tb *tb);

/* Built-in tools (coverage, the AFL++ edge map) instrument TBs through the
 * same pass as plugins: for every TB translated while a tool is enabled,
 * tb_start may append IR that runs before the TB's first instruction (after
 * the plugins' TB-level instrumentation).  The IR must be straight-line or
 * use its own labels, leave guest globals alone, and call no helper that
 * writes guest state.  Changing `enabled` needs instrument_tools_changed()
 * so that existing translations are redone. */
struct instrument_tool {
	const char *name;
	bool enabled;
	void (*tb_start)(struct ir_ctx *ir, const struct tb *tb, void *opaque);
	/* Optional: IR before each guest instruction (after the plugins'),
	 * given its address and bytes; same rules as tb_start, and a helper
	 * it calls may read guest registers (flagged so: they are written
	 * back first). */
	void (*insn)(struct ir_ctx *ir, const struct tb *tb, uint64_t pc, const uint8_t *code,
		     unsigned len, void *opaque);
	/* Optional: IR after the TB's last op, for out-of-line paths that
	 * tb_start's code branches to (each begins with a label and ends
	 * with a branch back; nothing but globals lives across them), so
	 * that the path a block runs every time stays short.  Called at the
	 * end of every instrumented TB, enabled or not (enabling may change
	 * between the two calls): it emits what its tb_start left pending. */
	void (*tb_end)(struct ir_ctx *ir, const struct tb *tb, void *opaque);
	void *opaque;
	struct instrument_tool *next;
};
void instrument_add_tool(struct instrument_tool *t);
void instrument_tools_changed(void);

/* Whether -plugin was given (scoreboards will be needed). */
bool instrument_wants_arena(void);

/* Syscalls.  instrument_syscall returns true if a plugin's filter handled
 * the call; *ret is then its result. */
bool instrument_syscall(void *cpu, int64_t num, const uint64_t a[6], uint64_t *ret);
void instrument_syscall_ret(void *cpu, int64_t num, int64_t ret);
/* A syscall that may block indefinitely starts / returned. */
void instrument_vcpu_idle(void *cpu);
void instrument_vcpu_resume(void *cpu);
/* A guest signal handler is entered (type: the plugin API's
 * QEMU_PLUGIN_DISCON_* values, repeated here for the linux layer). */
enum { DISCON_INTERRUPT = 1, DISCON_EXCEPTION = 2, DISCON_HOSTCALL = 4 };
void instrument_discon(void *cpu, int type, uint64_t from_pc, uint64_t to_pc);
/* The code cache was flushed. */
void instrument_flush(void);
/* The process is ending (exit, fatal signal, execve): vCPU exit and atexit
 * callbacks, once. */
void instrument_finish(void);

/* Plugins by name, for the control channel. */
int instrument_plugin_count(void);
const char *instrument_plugin_name(int i);
bool instrument_plugin_enabled(int i);
/* Returns false if there is no plugin of that name. */
bool instrument_set_enabled_by_name(const char *name, bool enabled);

#endif
