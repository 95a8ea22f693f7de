/*
 * icount: a test plugin counting instructions with one inline add per
 * instruction on one per-vCPU scoreboard entry -- the counter the backend
 * keeps in a host register (host/host.h: pinned counter), so that faults
 * and calls must carry its register's delta to memory exactly.  Prints
 * "icount: N" at exit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static qemu_plugin_u64 count;

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	for (size_t i = 0; i < qemu_plugin_tb_n_insns(tb); i++)
		qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(
			qemu_plugin_tb_get_insn(tb, i), QEMU_PLUGIN_INLINE_ADD_U64, count, 1);
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[64];

	snprintf(line, sizeof(line), "icount: %" PRIu64 "\n", qemu_plugin_u64_sum(count));
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	count = qemu_plugin_scoreboard_u64(qemu_plugin_scoreboard_new(sizeof(uint64_t)));
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
