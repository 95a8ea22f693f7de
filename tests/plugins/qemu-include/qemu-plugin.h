/*
 * A stand-in for the qemu-plugin.h that QEMU installs, written for loom's
 * tests: only what tests/plugins/qemu-style/ uses, with QEMU's names,
 * types and layout, nothing from loom's include/.  A plugin built against
 * it (with -I tests/plugins/qemu-include and NOT -Iinclude) stands for a
 * plugin built out of QEMU's tree; loom must load and run it.  It claims
 * API version 4 (loom accepts 1 to 7), where qemu_plugin_read_register
 * returns the register's size or -1 (a bool from version 6).
 */
#ifndef QEMU_QEMU_PLUGIN_H
#define QEMU_QEMU_PLUGIN_H

#include <glib.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>

#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
#define QEMU_PLUGIN_API

#define QEMU_PLUGIN_VERSION 4

typedef uint64_t qemu_plugin_id_t;

extern QEMU_PLUGIN_EXPORT int qemu_plugin_version;

typedef struct qemu_info_t {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
} qemu_info_t;

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv);

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);

struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_plugin_scoreboard;

typedef struct {
	struct qemu_plugin_scoreboard *score;
	size_t offset;
} qemu_plugin_u64;

enum qemu_plugin_cb_flags {
	QEMU_PLUGIN_CB_NO_REGS,
	QEMU_PLUGIN_CB_R_REGS,
	QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_op {
	QEMU_PLUGIN_INLINE_ADD_U64,
	QEMU_PLUGIN_INLINE_STORE_U64,
};

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);

QEMU_PLUGIN_API void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
							    qemu_plugin_vcpu_tb_trans_cb_t cb);
QEMU_PLUGIN_API void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
							     qemu_plugin_vcpu_udata_cb_t cb,
							     enum qemu_plugin_cb_flags flags,
							     void *userdata);
QEMU_PLUGIN_API void
qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(struct qemu_plugin_tb *tb,
						  enum qemu_plugin_op op, qemu_plugin_u64 entry,
						  uint64_t imm);
QEMU_PLUGIN_API size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
QEMU_PLUGIN_API struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
								 size_t idx);
QEMU_PLUGIN_API void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
						     qemu_plugin_udata_cb_t cb, void *userdata);
QEMU_PLUGIN_API void qemu_plugin_outs(const char *string);
QEMU_PLUGIN_API struct qemu_plugin_scoreboard *qemu_plugin_scoreboard_new(size_t element_size);
QEMU_PLUGIN_API void qemu_plugin_u64_add(qemu_plugin_u64 entry, unsigned int vcpu_index,
					  uint64_t added);
QEMU_PLUGIN_API uint64_t qemu_plugin_u64_sum(qemu_plugin_u64 entry);

QEMU_PLUGIN_API uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);

struct qemu_plugin_register;
typedef struct {
	struct qemu_plugin_register *handle;
	const char *name;
	const char *feature;
} qemu_plugin_reg_descriptor;

QEMU_PLUGIN_API GArray *qemu_plugin_get_registers(void);
QEMU_PLUGIN_API int qemu_plugin_read_register(struct qemu_plugin_register *handle,
					      GByteArray *buf);
typedef void (*qemu_plugin_vcpu_simple_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index);
QEMU_PLUGIN_API void qemu_plugin_register_vcpu_init_cb(qemu_plugin_id_t id,
							qemu_plugin_vcpu_simple_cb_t cb);

#define qemu_plugin_scoreboard_u64_in_struct(score, type, member) \
	((qemu_plugin_u64){ (score), offsetof(type, member) })

#endif
