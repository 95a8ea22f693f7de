/*
 * Inside the instrument layer: a loaded plugin, the translation-time view
 * of a TB handed to tb_trans callbacks, and the records generated code
 * passes to the callback dispatchers.  plugin.c owns plugins and run-time
 * events, inject.c the translation-time side, api.c the qemu_plugin_*
 * queries, scoreboards and state access.
 */
#ifndef LOOM_INSTRUMENT_PLUGIN_INTERNAL_H
#define LOOM_INSTRUMENT_PLUGIN_INTERNAL_H

#include <pthread.h>
#include "loom-plugin.h"
#include "instrument/instrument.h"
#include "instrument/vcpu-state.h"

/* Versions 1 and 2 through api-compat.c. */
#define PLUGIN_API_MIN 1
#define PLUGIN_API_CUR QEMU_PLUGIN_VERSION

struct plugin {
	int index;
	qemu_plugin_id_t id;
	void *handle;
	char *path;		/* absolute */
	char *name;		/* base name without lib and .so */
	int version;		/* the API version it was built for */
	int argc;
	char **argv;
	bool enabled;
	bool gone;		/* uninstalled */
	qemu_plugin_vcpu_simple_cb_t vcpu_init, vcpu_exit, vcpu_idle, vcpu_resume;
	qemu_plugin_vcpu_tb_trans_cb_t tb_trans;
	qemu_plugin_vcpu_syscall_cb_t syscall;
	qemu_plugin_vcpu_syscall_ret_cb_t syscall_ret;
	qemu_plugin_vcpu_syscall_filter_cb_t syscall_filter;
	qemu_plugin_vcpu_discon_cb_t discon;
	int discon_mask;
	qemu_plugin_simple_cb_t flush;
	qemu_plugin_udata_cb_t atexit;
	void *atexit_udata;
	loom_plugin_tb_start_cb_t tb_start;
	loom_plugin_tb_end_cb_t tb_end;
	struct tb_hook {
		loom_plugin_vcpu_tb_cb_t cb;
		enum qemu_plugin_cb_flags flags;
		void *udata;
	} tb_entry, tb_exit;
};

extern struct plugin **plugins;
extern int nplugins;
/* The plugin an id names, or NULL after logging the bad id. */
struct plugin *plugin_of(qemu_plugin_id_t id, const char *fn);
/* Serializes registrations and run-time callbacks' bookkeeping (not the
 * callbacks themselves). */
extern pthread_mutex_t plugin_lock;
/* Some plugin's instrumentation changed: flush before the next TB. */
void plugin_instrumentation_changed(void);
/* Whether the dlopen'ed plugin h imports a qemu_plugin_register_vcpu_mem_*
 * function (it may watch each guest access); true when its symbols
 * cannot be read. */
bool plugin_imports(void *h, const char *prefix);

/* The plugin whose code runs on this thread (set before its callbacks are
 * called), for the calls whose answer depends on the API version the
 * plugin was built for (api-compat.c). */
extern __thread struct plugin *plugin_caller;
/* Its version; with none known, that of the only plugin, else the newest. */
int plugin_caller_version(void);

/* ---- translation time (inject.c) ---- */

enum dyn_kind {
	DYN_CB,			/* call before the instruction / TB */
	DYN_INLINE,		/* inline op on a scoreboard entry (or ptr) */
	DYN_MEM_CB,		/* call after each matching access */
	DYN_MEM_INLINE,
};

/* One registration on a TB or an instruction. */
struct dyn {
	uint8_t kind;
	uint8_t flags;		/* enum qemu_plugin_cb_flags */
	uint8_t rw;		/* enum qemu_plugin_mem_rw */
	uint8_t op;		/* enum qemu_plugin_op */
	uint8_t cond;		/* enum qemu_plugin_cond */
	void *fn;
	void *udata;
	qemu_plugin_u64 entry;
	uint64_t *ptr;		/* version 1 inline ops: the target, not entry */
	uint64_t imm;
	struct plugin *p;
	struct dyn *next;
};

struct qemu_plugin_insn {
	uint64_t vaddr;
	uint64_t phys;		/* guest-physical address (vaddr in user mode) */
	uint8_t size;
	bool have_data;		/* data holds the bytes (read lazily) */
	uint8_t data[15];
	struct qemu_plugin_tb *tb;
	struct dyn *dyn, **dyn_tail;
};

#define PLUGIN_TB_MAX_INSNS 512

struct qemu_plugin_tb {
	uint64_t vaddr;
	size_t n;
	struct plugin *p;	/* the plugin whose tb_trans is running */
	struct dyn *dyn, **dyn_tail;
	struct qemu_plugin_insn insns[PLUGIN_TB_MAX_INSNS];
};

/* What generated code passes to a dispatcher: lives until the next flush. */
struct cbrec {
	void *fn;
	void *udata;
	struct plugin *p;
	uint8_t flags;		/* enum qemu_plugin_cb_flags */
};

/* A registration call is only valid inside the tb_trans of its TB. */
bool inject_tb_ok(const struct qemu_plugin_tb *tb, const char *fn);
void inject_add(struct qemu_plugin_tb *tb, struct qemu_plugin_insn *insn, const struct dyn *d);

/* ---- state access (api.c) ---- */

/* Guest registers for qemu_plugin_read/write_register: the register's
 * size, or -1 (refused, or no such register). */
int plugin_reg_read(struct qemu_plugin_register *handle, GByteArray *buf);
int plugin_reg_write(struct qemu_plugin_register *handle, GByteArray *buf);
/* Scoreboard geometry.  Each vCPU has a scoreboard region of SB_REGION
 * bytes in its exec slot (exec_vcpu_region, kept across the vCPUs of an
 * index), sb_env_off bytes from its env: generated code reaches an entry
 * at a constant offset from env, the form that the host's memory renaming
 * makes as fast as a register.  The region starts 0x800 into a page and env
 * 0xc00 into one (exec/vcpu.c), which keeps stores to env's hot fields
 * (guest registers, lazy flags: its first 0xa0 bytes) from 4K-aliasing the
 * first 2 KiB of scoreboards, or the globals a small plugin has near the
 * start of its pages (a load that follows a store to an address equal in
 * bits 11:0 waits for it: a callback counting in a global at page offset
 * 0x90 ran at half speed).  Registered only when plugins are wanted. */
#define SB_REGION (2u << 20)
#define SB_REGION_PHASE 0x800
#define SB_MAX_VCPUS 1024
extern int32_t sb_env_off;
extern bool sb_registered;
/* vCPU index vcpu's region, or NULL (no such slot yet) */
static inline uint8_t *sb_region(unsigned vcpu)
{
	uint8_t *env = exec_vcpu_env(vcpu);
	return env ? env + sb_env_off : NULL;
}
struct qemu_plugin_scoreboard {
	size_t size;		/* element size */
	size_t off;		/* offset within each vCPU's region */
};
/* Highest vCPU index ever used, plus one. */
extern unsigned plugin_nvcpus;

#endif
