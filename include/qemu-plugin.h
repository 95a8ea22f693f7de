/*
 * loom's plugin API: the names, signatures, types and macros of QEMU's TCG
 * plugin API, version 7, so that a plugin written for QEMU builds against
 * this header unchanged and a plugin built against QEMU's header loads into
 * loom (loom exports every function below).  Written for loom; the comments
 * say what each call does in loom (user mode, x86-64 guests).  loom's own
 * extensions are in loom-plugin.h.
 *
 * A plugin is a shared object exporting `qemu_plugin_version` (the API
 * version it was built against) and `qemu_plugin_install`.  loom calls
 * install once, with the plugin's arguments; the plugin registers callbacks.
 * The usual shape: a translation callback (tb_trans) looks at each new
 * translation block and asks for inline operations or execution callbacks
 * on the block, its instructions and their memory accesses; an atexit
 * callback reports.  Instrumentation is decided at translation time and
 * becomes part of the translated code.
 *
 * API history (what a plugin built for an older version may rely on):
 *   2  removed qemu_plugin_n_vcpus/n_max_vcpus and the non-per-vCPU inline
 *      registrations (replaced by the *_per_vcpu ones on scoreboards)
 *   3  qemu_plugin_insn_data copies into a caller's buffer
 *   4  qemu_plugin_read_memory_vaddr
 *   5  write_memory_vaddr, read/write_memory_hwaddr, write_register,
 *      translate_vaddr
 *   6  read_register/write_register return bool
 *   7  QEMU_PLUGIN_CB_RW_REGS_PC and qemu_plugin_set_pc
 * loom accepts plugins built for versions 1 to 7 (qemu_info_t.version): it
 * also exports version 1's calls and answers calls whose results changed
 * by the calling plugin's version (docs/plugins.md); this header declares
 * version 7 only.
 */
#ifndef QEMU_QEMU_PLUGIN_H
#define QEMU_QEMU_PLUGIN_H

#include <glib.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Visibility: build plugins with -fvisibility=hidden and mark the two
 * exported symbols QEMU_PLUGIN_EXPORT.  QEMU_PLUGIN_API marks functions the
 * host (loom) provides. */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
#define QEMU_PLUGIN_LOCAL __attribute__((visibility("hidden")))
#define QEMU_PLUGIN_API

/* A loaded plugin's handle, given to install and passed back by the plugin
 * to every registration that is not tied to a TB or instruction. */
typedef uint64_t qemu_plugin_id_t;

extern QEMU_PLUGIN_EXPORT int qemu_plugin_version;

#define QEMU_PLUGIN_VERSION 7

/* What install learns about the emulator.  Valid only during install. */
typedef struct qemu_info_t {
	const char *target_name;	/* "x86_64" */
	struct {
		int min;		/* oldest API version accepted */
		int cur;		/* newest API version implemented */
	} version;
	bool system_emulation;		/* true in loom-system, false in loom */
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;		/* system emulation only */
	};
} qemu_info_t;

/* The plugin's entry point.  argv holds the plugin's "key=value" arguments
 * (without file=) and stays valid while the plugin is loaded.  Returns 0, or
 * non-zero to refuse loading (loom then stops with an error). */
QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv);

typedef void (*qemu_plugin_simple_cb_t)(qemu_plugin_id_t id);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_simple_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);

/* Kinds of control-flow discontinuity.  In user mode: EXCEPTION when the
 * guest takes a synchronous signal (a fault it caused), INTERRUPT when an
 * asynchronous signal is delivered, HOSTCALL for a syscall. */
enum qemu_plugin_discon_type {
	QEMU_PLUGIN_DISCON_INTERRUPT = 1 << 0,
	QEMU_PLUGIN_DISCON_EXCEPTION = 1 << 1,
	QEMU_PLUGIN_DISCON_HOSTCALL = 1 << 2,
	QEMU_PLUGIN_DISCON_ALL = -1
};

/* from_pc: for an exception or host call, the instruction that caused it;
 * for an interrupt, the next instruction that would have run.  to_pc: where
 * execution continues (the signal handler). */
typedef void (*qemu_plugin_vcpu_discon_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index,
					     enum qemu_plugin_discon_type type,
					     uint64_t from_pc, uint64_t to_pc);

/* Remove the plugin: its callbacks stop, translations carrying its
 * instrumentation are dropped, then cb runs.  Not from install. */
QEMU_PLUGIN_API
void qemu_plugin_uninstall(qemu_plugin_id_t id, qemu_plugin_simple_cb_t cb);

/* Unregister every callback of the plugin (translations are dropped), then
 * run cb.  The plugin stays loaded and may register again. */
QEMU_PLUGIN_API
void qemu_plugin_reset(qemu_plugin_id_t id, qemu_plugin_simple_cb_t cb);

/* A vCPU is a guest thread.  init runs when it starts (for the main thread,
 * before the first guest instruction), exit when it ends. */
QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_init_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_simple_cb_t cb);
QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_exit_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_simple_cb_t cb);
/* idle: the vCPU is about to block in a syscall that waits (futex wait,
 * sleeps, wait4, poll...); resume: it returned from one. */
QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_idle_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_simple_cb_t cb);
QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_resume_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_simple_cb_t cb);
/* cb runs for each discontinuity whose type is in the type mask. */
QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_discon_cb(qemu_plugin_id_t id, enum qemu_plugin_discon_type type,
					 qemu_plugin_vcpu_discon_cb_t cb);

/* Handles.  A qemu_plugin_tb and its qemu_plugin_insns are valid only inside
 * the translation callback that received them. */
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_plugin_scoreboard;

/* One uint64_t member, at byte offset `offset`, of every vCPU's entry of a
 * scoreboard.  Inline operations act on the executing vCPU's copy. */
typedef struct {
	struct qemu_plugin_scoreboard *score;
	size_t offset;
} qemu_plugin_u64;

/* What a callback may do with guest registers.  loom makes the guest state
 * exact before every callback that reads (R_REGS) and reloads it after one
 * that writes (RW_REGS); RW_REGS_PC also allows qemu_plugin_set_pc.
 * NO_REGS callbacks cost least: nothing is written back around them. */
enum qemu_plugin_cb_flags {
	QEMU_PLUGIN_CB_NO_REGS,
	QEMU_PLUGIN_CB_R_REGS,
	QEMU_PLUGIN_CB_RW_REGS,
	QEMU_PLUGIN_CB_RW_REGS_PC,
};

enum qemu_plugin_mem_rw {
	QEMU_PLUGIN_MEM_R = 1,
	QEMU_PLUGIN_MEM_W,
	QEMU_PLUGIN_MEM_RW,
};

enum qemu_plugin_mem_value_type {
	QEMU_PLUGIN_MEM_VALUE_U8,
	QEMU_PLUGIN_MEM_VALUE_U16,
	QEMU_PLUGIN_MEM_VALUE_U32,
	QEMU_PLUGIN_MEM_VALUE_U64,
	QEMU_PLUGIN_MEM_VALUE_U128,
};

/* The value a memory access loaded or stored. */
typedef struct {
	enum qemu_plugin_mem_value_type type;
	union {
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		uint64_t u64;
		struct {
			uint64_t low;
			uint64_t high;
		} u128;
	} data;
} qemu_plugin_mem_value;

/* Conditions of conditional callbacks: entry (the executing vCPU's value)
 * compared with an immediate, unsigned. */
enum qemu_plugin_cond {
	QEMU_PLUGIN_COND_NEVER,
	QEMU_PLUGIN_COND_ALWAYS,
	QEMU_PLUGIN_COND_EQ,
	QEMU_PLUGIN_COND_NE,
	QEMU_PLUGIN_COND_LT,
	QEMU_PLUGIN_COND_LE,
	QEMU_PLUGIN_COND_GT,
	QEMU_PLUGIN_COND_GE,
};

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

/* cb runs once for every translation block loom translates (again after a
 * flush), with the TB's instructions decoded. */
QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);

/* cb runs each time the TB starts executing, before its first instruction. */
QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags, void *userdata);

/* As above, only when `entry cond imm` holds (ALWAYS: unconditional;
 * NEVER: nothing is installed). */
QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_tb_exec_cond_cb(struct qemu_plugin_tb *tb,
					       qemu_plugin_vcpu_udata_cb_t cb,
					       enum qemu_plugin_cb_flags flags,
					       enum qemu_plugin_cond cond, qemu_plugin_u64 entry,
					       uint64_t imm, void *userdata);

/* Inline operations: translated code itself updates the executing vCPU's
 * entry, without a call. */
enum qemu_plugin_op {
	QEMU_PLUGIN_INLINE_ADD_U64,
	QEMU_PLUGIN_INLINE_STORE_U64,
};

QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(struct qemu_plugin_tb *tb,
						       enum qemu_plugin_op op,
						       qemu_plugin_u64 entry, uint64_t imm);

/* cb runs each time the instruction is about to execute. */
QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
					    qemu_plugin_vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags, void *userdata);

QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_insn_exec_cond_cb(struct qemu_plugin_insn *insn,
						 qemu_plugin_vcpu_udata_cb_t cb,
						 enum qemu_plugin_cb_flags flags,
						 enum qemu_plugin_cond cond, qemu_plugin_u64 entry,
						 uint64_t imm, void *userdata);

QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(struct qemu_plugin_insn *insn,
							 enum qemu_plugin_op op,
							 qemu_plugin_u64 entry, uint64_t imm);

/* The TB: number of instructions, guest address of the first, and the
 * handle of instruction idx (0-based). */
QEMU_PLUGIN_API
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
QEMU_PLUGIN_API
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
QEMU_PLUGIN_API
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);

/* Copy up to len bytes of the instruction's encoding to dest; returns the
 * number copied. */
QEMU_PLUGIN_API
size_t qemu_plugin_insn_data(const struct qemu_plugin_insn *insn, void *dest, size_t len);
QEMU_PLUGIN_API
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
QEMU_PLUGIN_API
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
/* In user mode guest memory is host memory: the host address of the
 * instruction's bytes. */
QEMU_PLUGIN_API
void *qemu_plugin_insn_haddr(const struct qemu_plugin_insn *insn);

/* A memory access's description, passed to memory callbacks. */
typedef uint32_t qemu_plugin_meminfo_t;
struct qemu_plugin_hwaddr;

/* log2 of the access size in bytes (0..4). */
QEMU_PLUGIN_API
unsigned int qemu_plugin_mem_size_shift(qemu_plugin_meminfo_t info);
QEMU_PLUGIN_API
bool qemu_plugin_mem_is_sign_extended(qemu_plugin_meminfo_t info);
/* Always false: x86 is little-endian. */
QEMU_PLUGIN_API
bool qemu_plugin_mem_is_big_endian(qemu_plugin_meminfo_t info);
QEMU_PLUGIN_API
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info);
/* The value of the access being reported (valid inside a memory callback). */
QEMU_PLUGIN_API
qemu_plugin_mem_value qemu_plugin_mem_get_value(qemu_plugin_meminfo_t info);

/* System emulation only: in loom these return NULL / false / 0 / NULL. */
QEMU_PLUGIN_API
struct qemu_plugin_hwaddr *qemu_plugin_get_hwaddr(qemu_plugin_meminfo_t info, uint64_t vaddr);
QEMU_PLUGIN_API
bool qemu_plugin_hwaddr_is_io(const struct qemu_plugin_hwaddr *haddr);
QEMU_PLUGIN_API
uint64_t qemu_plugin_hwaddr_phys_addr(const struct qemu_plugin_hwaddr *haddr);
QEMU_PLUGIN_API
const char *qemu_plugin_hwaddr_device_name(const struct qemu_plugin_hwaddr *h);

typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info,
					  uint64_t vaddr, void *userdata);

/* cb runs after each access of the instruction selected by rw (an atomic
 * read-modify-write is a load followed by a store).  An access that faults
 * is not reported. */
QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_mem_cb_t cb,
				      enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw,
				      void *userdata);

QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_mem_inline_per_vcpu(struct qemu_plugin_insn *insn,
						   enum qemu_plugin_mem_rw rw,
						   enum qemu_plugin_op op, qemu_plugin_u64 entry,
						   uint64_t imm);

/* Time control is for system emulation: in user mode the guest reads the
 * host's clocks.  request returns a handle for the first caller; update_ns
 * does nothing in user mode. */
QEMU_PLUGIN_API
const void *qemu_plugin_request_time_control(void);
QEMU_PLUGIN_API
void qemu_plugin_update_ns(const void *handle, int64_t time);

typedef void (*qemu_plugin_vcpu_syscall_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index,
					      int64_t num, uint64_t a1, uint64_t a2, uint64_t a3,
					      uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7,
					      uint64_t a8);

/* A filter runs before the syscall; returning true means the plugin handled
 * it: loom does not perform it, and *sysret is its result (a negative errno
 * for a failure). */
typedef bool (*qemu_plugin_vcpu_syscall_filter_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index,
						     int64_t num, uint64_t a1, uint64_t a2,
						     uint64_t a3, uint64_t a4, uint64_t a5,
						     uint64_t a6, uint64_t a7, uint64_t a8,
						     uint64_t *sysret);

/* Syscall entry (a7, a8 are 0 on x86-64) and return (ret is the raw result:
 * negative errno on failure). */
QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_syscall_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_syscall_cb_t cb);

typedef void (*qemu_plugin_vcpu_syscall_ret_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_idx,
						  int64_t num, int64_t ret);

QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_syscall_ret_cb(qemu_plugin_id_t id,
					      qemu_plugin_vcpu_syscall_ret_cb_t cb);

QEMU_PLUGIN_API
void qemu_plugin_register_vcpu_syscall_filter_cb(qemu_plugin_id_t id,
						 qemu_plugin_vcpu_syscall_filter_cb_t cb);

/* The instruction in AT&T syntax (as `-d in_asm` prints it), as a string
 * the caller frees with g_free. */
QEMU_PLUGIN_API
char *qemu_plugin_insn_disas(const struct qemu_plugin_insn *insn);

/* The name of the function (ELF symbol of a loaded guest module) that
 * contains the instruction, or NULL.  Valid while the plugin is loaded. */
QEMU_PLUGIN_API
const char *qemu_plugin_insn_symbol(const struct qemu_plugin_insn *insn);

/* cb runs once for every vCPU that exists now. */
QEMU_PLUGIN_API
void qemu_plugin_vcpu_for_each(qemu_plugin_id_t id, qemu_plugin_vcpu_simple_cb_t cb);

/* cb runs after loom drops all translations (the code cache filled up, or
 * instrumentation changed). */
QEMU_PLUGIN_API
void qemu_plugin_register_flush_cb(qemu_plugin_id_t id, qemu_plugin_simple_cb_t cb);

/* cb runs once when the guest ends: normal exit, exit by a signal, or loom
 * being told to stop (SIGTERM/SIGINT). */
QEMU_PLUGIN_API
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
				    void *userdata);

/* The number of vCPUs started so far (vCPU indexes are below it). */
QEMU_PLUGIN_API
int qemu_plugin_num_vcpus(void);

/* Write the string to loom's log, enabled with `-d plugin` (-D FILE sends
 * the log to a file). */
QEMU_PLUGIN_API
void qemu_plugin_outs(const char *string);

/* Parse val as a boolean (on/yes/true or off/no/false) into *ret; false if
 * it is neither.  name is the argument's name, for messages. */
QEMU_PLUGIN_API
bool qemu_plugin_bool_parse(const char *name, const char *val, bool *ret);

/* The guest program's path (the caller frees it with g_free), and its main
 * text segment and entry point. */
QEMU_PLUGIN_API
const char *qemu_plugin_path_to_binary(void);
QEMU_PLUGIN_API
uint64_t qemu_plugin_start_code(void);
QEMU_PLUGIN_API
uint64_t qemu_plugin_end_code(void);
QEMU_PLUGIN_API
uint64_t qemu_plugin_entry_code(void);

/* Registers of the current vCPU. */
struct qemu_plugin_register;

typedef struct {
	struct qemu_plugin_register *handle;
	const char *name;
	const char *feature;	/* "org.gnu.gdb.i386.core" and the like */
} qemu_plugin_reg_descriptor;

/* A GArray of qemu_plugin_reg_descriptor the caller frees (not the
 * strings).  Call it in vCPU context (a vCPU init callback, say). */
QEMU_PLUGIN_API
GArray *qemu_plugin_get_registers(void);

/* Read a register into buf (appended, little-endian).  Allowed in callbacks
 * registered with R_REGS or more and in callbacks that take no flags,
 * except atexit and flush.  Returns false if not allowed. */
QEMU_PLUGIN_API
bool qemu_plugin_read_register(struct qemu_plugin_register *handle, GByteArray *buf);

/* Write a register from buf (at least the register's size).  Allowed in
 * callbacks registered with RW_REGS or more and in syscall callbacks. */
QEMU_PLUGIN_API
bool qemu_plugin_write_register(struct qemu_plugin_register *handle, GByteArray *buf);

/* Guest memory by virtual address: read len bytes into data (resized as
 * needed), or write data.  false if some byte is not accessible. */
QEMU_PLUGIN_API
bool qemu_plugin_read_memory_vaddr(uint64_t addr, GByteArray *data, size_t len);
QEMU_PLUGIN_API
bool qemu_plugin_write_memory_vaddr(uint64_t addr, GByteArray *data);

enum qemu_plugin_hwaddr_operation_result {
	QEMU_PLUGIN_HWADDR_OPERATION_OK,
	QEMU_PLUGIN_HWADDR_OPERATION_ERROR,
	QEMU_PLUGIN_HWADDR_OPERATION_DEVICE_ERROR,
	QEMU_PLUGIN_HWADDR_OPERATION_ACCESS_DENIED,
	QEMU_PLUGIN_HWADDR_OPERATION_INVALID_ADDRESS,
	QEMU_PLUGIN_HWADDR_OPERATION_INVALID_ADDRESS_SPACE,
};

/* System emulation only: loom answers INVALID_ADDRESS_SPACE / false. */
QEMU_PLUGIN_API
enum qemu_plugin_hwaddr_operation_result
qemu_plugin_read_memory_hwaddr(uint64_t addr, GByteArray *data, size_t len);
QEMU_PLUGIN_API
enum qemu_plugin_hwaddr_operation_result
qemu_plugin_write_memory_hwaddr(uint64_t addr, GByteArray *data);
QEMU_PLUGIN_API
bool qemu_plugin_translate_vaddr(uint64_t vaddr, uint64_t *hwaddr);

/* Continue the current vCPU at vaddr: from a callback registered with
 * RW_REGS_PC the rest of the current instruction does not run; from a
 * syscall filter, the syscall returns there.  Ignored elsewhere. */
QEMU_PLUGIN_API
void qemu_plugin_set_pc(uint64_t vaddr);

/* Scoreboards: one entry of element_size bytes per vCPU, zeroed, growing as
 * vCPUs start. */
QEMU_PLUGIN_API
struct qemu_plugin_scoreboard *qemu_plugin_scoreboard_new(size_t element_size);
QEMU_PLUGIN_API
void qemu_plugin_scoreboard_free(struct qemu_plugin_scoreboard *score);
/* The entry of vcpu_index.  In loom the address of an entry never changes. */
QEMU_PLUGIN_API
void *qemu_plugin_scoreboard_find(struct qemu_plugin_scoreboard *score, unsigned int vcpu_index);

#define qemu_plugin_scoreboard_u64(score) ((qemu_plugin_u64){ (score), 0 })
#define qemu_plugin_scoreboard_u64_in_struct(score, type, member) \
	((qemu_plugin_u64){ (score), offsetof(type, member) })

QEMU_PLUGIN_API
void qemu_plugin_u64_add(qemu_plugin_u64 entry, unsigned int vcpu_index, uint64_t added);
QEMU_PLUGIN_API
uint64_t qemu_plugin_u64_get(qemu_plugin_u64 entry, unsigned int vcpu_index);
QEMU_PLUGIN_API
void qemu_plugin_u64_set(qemu_plugin_u64 entry, unsigned int vcpu_index, uint64_t val);
/* The sum over all vCPUs started so far. */
QEMU_PLUGIN_API
uint64_t qemu_plugin_u64_sum(qemu_plugin_u64 entry);

#ifdef __cplusplus
}
#endif

#endif
