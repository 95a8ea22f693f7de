/*
 * syscode: checks, in whole-system mode, that each translated instruction's
 * qemu_plugin_insn_haddr (the host address of its physical code) holds the
 * bytes qemu_plugin_insn_data read through the guest's page tables, and
 * counts executed blocks (an execution callback per TB) split at the
 * canonical-address halves: kernel (upper half) and user (lower half).
 *
 *   loom-system -d plugin -plugin file=libsyscode.so ...
 *
 * At exit: "syscode: insns checked N, haddr mismatches M, tb execs upper U
 * lower L".  Instructions whose code is not in RAM (haddr NULL) count as
 * mismatches: loom-system runs code from RAM only.
 */
#include <stdio.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static GMutex lock;
static uint64_t checked, mismatched, upper, lower;

static void tb_exec(unsigned int vcpu, void *udata)
{
	uint64_t va = (uint64_t)(uintptr_t)udata;
	g_mutex_lock(&lock);
	if (va >> 63)
		upper++;
	else
		lower++;
	g_mutex_unlock(&lock);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint8_t bytes[16];
		size_t len = qemu_plugin_insn_data(insn, bytes, sizeof(bytes));
		const void *h = qemu_plugin_insn_haddr(insn);
		g_mutex_lock(&lock);
		checked++;
		if (!h || !len || memcmp(h, bytes, len))
			mismatched++;
		g_mutex_unlock(&lock);
	}
	qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
					     (void *)(uintptr_t)qemu_plugin_tb_vaddr(tb));
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[160];
	snprintf(line, sizeof(line),
		 "syscode: insns checked %" PRIu64 ", haddr mismatches %" PRIu64
		 ", tb execs upper %" PRIu64 " lower %" PRIu64 "\n",
		 checked, mismatched, upper, lower);
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
