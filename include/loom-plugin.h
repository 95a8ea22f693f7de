/*
 * loom's extensions to the QEMU plugin API (qemu-plugin.h).  Everything here
 * carries the loom_ prefix; a plugin that uses none of it also runs under
 * QEMU.  A plugin can test for loom at run time with
 * loom_plugin_api_version() through a weak reference, or at build time with
 * LOOM_PLUGIN_API_VERSION.
 */
#ifndef LOOM_PLUGIN_H
#define LOOM_PLUGIN_H

#include "qemu-plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 2: loom_plugin_current_task */
#define LOOM_PLUGIN_API_VERSION 2

QEMU_PLUGIN_API
int loom_plugin_api_version(void);

/* ---- Translation stages ----
 * Beside qemu's tb_trans (which runs after lifting and may instrument):
 * start runs before a TB is lifted, end after it is instrumented and
 * optimized, with what the optimizer left (IR ops) — for tools that study
 * the translator itself. */
typedef void (*loom_plugin_tb_start_cb_t)(qemu_plugin_id_t id, uint64_t vaddr);
typedef void (*loom_plugin_tb_end_cb_t)(qemu_plugin_id_t id, uint64_t vaddr, size_t n_insns,
					size_t guest_size, size_t n_ops);
QEMU_PLUGIN_API
void loom_plugin_register_tb_trans_start_cb(qemu_plugin_id_t id, loom_plugin_tb_start_cb_t cb);
QEMU_PLUGIN_API
void loom_plugin_register_tb_trans_end_cb(qemu_plugin_id_t id, loom_plugin_tb_end_cb_t cb);

/* ---- TB entry and exit hooks ----
 * entry runs before the first guest instruction of every TB executed, exit
 * after its last one (when control leaves the TB normally: not when an
 * instruction faults or the TB is left for a pending signal).  flags as for
 * qemu_plugin_register_vcpu_tb_exec_cb. */
typedef void (*loom_plugin_vcpu_tb_cb_t)(unsigned int vcpu_index, uint64_t tb_vaddr,
					 void *userdata);
QEMU_PLUGIN_API
void loom_plugin_register_vcpu_tb_entry_cb(qemu_plugin_id_t id, loom_plugin_vcpu_tb_cb_t cb,
					   enum qemu_plugin_cb_flags flags, void *userdata);
QEMU_PLUGIN_API
void loom_plugin_register_vcpu_tb_exit_cb(qemu_plugin_id_t id, loom_plugin_vcpu_tb_cb_t cb,
					  enum qemu_plugin_cb_flags flags, void *userdata);

/* ---- Signals between plugins ----
 * A plugin registers a named signal; any plugin subscribes to a name (before
 * or after it is registered); emit calls every subscriber synchronously, in
 * subscription order, on the emitting thread, with the payload (which lives
 * only during the call).  register returns false if the name is taken;
 * subscribe false if the plugin already subscribed that name; emit returns
 * the number of subscribers called, or -1 if the signal is not registered. */
typedef void (*loom_plugin_signal_cb_t)(qemu_plugin_id_t id, const char *name,
					const void *payload, size_t size, void *userdata);
QEMU_PLUGIN_API
bool loom_plugin_signal_register(qemu_plugin_id_t id, const char *name);
QEMU_PLUGIN_API
bool loom_plugin_signal_subscribe(qemu_plugin_id_t id, const char *name,
				  loom_plugin_signal_cb_t cb, void *userdata);
QEMU_PLUGIN_API
int loom_plugin_signal_emit(qemu_plugin_id_t id, const char *name, const void *payload,
			    size_t size);

/* ---- Starting and stopping instrumentation at run time ----
 * A disabled plugin's translation-time callbacks are not called and the
 * translations carrying its instrumentation are dropped, so it costs
 * nothing; its syscall, discontinuity, TB entry/exit and memory callbacks
 * stop too.  vCPU init/exit, flush, atexit and signals still reach it.
 * The control channel's `plugin enable/disable NAME` does the same.
 * set_enabled may be called from any callback; it takes effect before the
 * next TB starts.  Plugins start enabled unless loaded with enabled=off. */
QEMU_PLUGIN_API
void loom_plugin_set_enabled(qemu_plugin_id_t id, bool enabled);
QEMU_PLUGIN_API
bool loom_plugin_is_enabled(qemu_plugin_id_t id);
/* The plugin's name: its file's base name without "lib" and ".so". */
QEMU_PLUGIN_API
const char *loom_plugin_name(qemu_plugin_id_t id);

/* ---- The guest's current task ----
 * Which task (thread) a vCPU runs now, for tools that name the process
 * behind what they see: in whole-system mode read from the guest Linux
 * kernel's own structures (its `current` task on that CPU, with layouts
 * from the kernel's BTF), in user mode the loom process itself (pid and
 * tgid loom's, tid the calling thread's).  Valid in any callback that runs
 * on the vCPU (not from an atexit callback).  Returns false when the task
 * cannot be known (a kernel loom cannot introspect, or one still booting:
 * before its per-CPU area is set up). */
#define LOOM_TASK_COMM_LEN 16
struct loom_task {
	int32_t pid;		/* the thread's id (task_struct.pid) */
	int32_t tgid;		/* the process's (what ps calls PID) */
	bool kernel_thread;	/* a kernel thread: no user address space */
	char comm[LOOM_TASK_COMM_LEN + 1];	/* its name, NUL-terminated */
};
QEMU_PLUGIN_API
bool loom_plugin_current_task(unsigned int vcpu_index, struct loom_task *out);

#ifdef __cplusplus
}
#endif

#endif
