/*
 * qcount: a plugin as it would be written for QEMU, built against the
 * QEMU-style header in tests/plugins/qemu-include (never loom's include/).
 * Counts TBs and instructions inline and instructions again through a
 * callback per instruction; at exit prints
 *   "qcount: tbs T, insns I, insns by callback C"
 */
#include <stdio.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct counts {
	uint64_t tbs, insns, by_cb;
};

static struct qemu_plugin_scoreboard *sb;
static qemu_plugin_u64 tbs, insns, by_cb;

static void insn_exec(unsigned int vcpu, void *u)
{
	qemu_plugin_u64_add(by_cb, vcpu, 1);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, tbs, 1);
	qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, insns, n);
	for (size_t i = 0; i < n; i++)
		qemu_plugin_register_vcpu_insn_exec_cb(qemu_plugin_tb_get_insn(tb, i), insn_exec,
						       QEMU_PLUGIN_CB_NO_REGS, NULL);
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[128];

	snprintf(line, sizeof(line), "qcount: tbs %" PRIu64 ", insns %" PRIu64
		 ", insns by callback %" PRIu64 "\n", qemu_plugin_u64_sum(tbs),
		 qemu_plugin_u64_sum(insns), qemu_plugin_u64_sum(by_cb));
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	sb = qemu_plugin_scoreboard_new(sizeof(struct counts));
	tbs = qemu_plugin_scoreboard_u64_in_struct(sb, struct counts, tbs);
	insns = qemu_plugin_scoreboard_u64_in_struct(sb, struct counts, insns);
	by_cb = qemu_plugin_scoreboard_u64_in_struct(sb, struct counts, by_cb);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
