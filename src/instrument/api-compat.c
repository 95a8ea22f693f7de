/*
 * The calls of QEMU's plugin API versions 1 and 2 that later versions
 * removed or changed, so that a plugin binary built against any version's
 * header from 1 on (Debian 12's QEMU 7.2 is version 1) loads into loom and
 * counts as it would under QEMU:
 *
 *   version 1   qemu_plugin_register_vcpu_{tb_exec,insn_exec,mem}_inline:
 *               an inline op on a plain uint64_t anywhere in the plugin's
 *               memory, shared by every vCPU and not atomic (as in QEMU);
 *               qemu_plugin_n_vcpus, qemu_plugin_n_max_vcpus
 *   1 and 2     qemu_plugin_insn_data returned a pointer to the bytes (it
 *               copies into a buffer from version 3: inject.c answers by
 *               the version of the plugin whose tb_trans is running)
 *   2 to 5      qemu_plugin_read_register/write_register returned an int
 *               (api.c answers by the version of the plugin whose callback
 *               is running)
 *
 * Every other call kept its name and arguments from version 1 to 7.
 * Nothing here is declared in include/qemu-plugin.h (version 7): a plugin
 * built against loom's header uses the current calls.
 */
/* qemu_plugin_read_register/write_register are defined here for every
 * version at once, with version 2's int return: hide the header's
 * version-7 declaration (bool) from this file. */
#define qemu_plugin_read_register qemu_plugin_read_register_v7
#define qemu_plugin_write_register qemu_plugin_write_register_v7
#include "instrument/plugin-internal.h"
#include "util/log.h"
#undef qemu_plugin_read_register
#undef qemu_plugin_write_register

void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
					      void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
						enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_mem_inline(struct qemu_plugin_insn *insn,
					  enum qemu_plugin_mem_rw rw, enum qemu_plugin_op op,
					  void *ptr, uint64_t imm);
int qemu_plugin_n_vcpus(void);
int qemu_plugin_n_max_vcpus(void);
int qemu_plugin_read_register(struct qemu_plugin_register *handle, GByteArray *buf);
int qemu_plugin_write_register(struct qemu_plugin_register *handle, GByteArray *buf);

static bool ptr_ok(const void *ptr, enum qemu_plugin_op op, const char *fn)
{
	if (ptr && (op == QEMU_PLUGIN_INLINE_ADD_U64 || op == QEMU_PLUGIN_INLINE_STORE_U64))
		return true;
	if (log_enabled(LOG_PLUGIN))
		log_printf("loom: plugin: %s: %s\n", fn, ptr ? "unknown inline op" : "NULL target");
	return false;
}

void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
					      void *ptr, uint64_t imm)
{
	if (inject_tb_ok(tb, __func__) && ptr_ok(ptr, op, __func__))
		inject_add(tb, NULL, &(struct dyn){ .kind = DYN_INLINE, .op = op, .ptr = ptr,
						    .imm = imm });
}

void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
						enum qemu_plugin_op op, void *ptr, uint64_t imm)
{
	if (insn && inject_tb_ok(insn->tb, __func__) && ptr_ok(ptr, op, __func__))
		inject_add(insn->tb, insn, &(struct dyn){ .kind = DYN_INLINE, .op = op, .ptr = ptr,
							  .imm = imm });
}

void qemu_plugin_register_vcpu_mem_inline(struct qemu_plugin_insn *insn,
					  enum qemu_plugin_mem_rw rw, enum qemu_plugin_op op,
					  void *ptr, uint64_t imm)
{
	if (insn && inject_tb_ok(insn->tb, __func__) && ptr_ok(ptr, op, __func__))
		inject_add(insn->tb, insn, &(struct dyn){ .kind = DYN_MEM_INLINE, .rw = rw,
							  .op = op, .ptr = ptr, .imm = imm });
}

/* QEMU answers -1 in user mode; loom answers what a plugin sizing per-vCPU
 * arrays needs: the vCPUs (guest threads) started so far, at least one,
 * and the most loom runs at once under plugins. */
int qemu_plugin_n_vcpus(void)
{
	int n = qemu_plugin_num_vcpus();
	return n > 0 ? n : 1;
}

int qemu_plugin_n_max_vcpus(void)
{
	return SB_MAX_VCPUS;
}

/* Versions 2 to 5: the register's size, or -1.  Versions 6 and 7 (bool):
 * 1 or 0, which a caller reading a bool finds in al. */
int qemu_plugin_read_register(struct qemu_plugin_register *handle, GByteArray *buf)
{
	int n = plugin_reg_read(handle, buf);
	return plugin_caller_version() >= 6 ? n > 0 : n;
}

int qemu_plugin_write_register(struct qemu_plugin_register *handle, GByteArray *buf)
{
	int n = plugin_reg_write(handle, buf);
	return plugin_caller_version() >= 6 ? n > 0 : n;
}
