/*
 * uninstall: removes itself while the guest runs.  Counts TB executions
 * inline; when the count reaches 100 a conditional callback calls
 * qemu_plugin_uninstall.  Its completion callback prints
 * "uninstall: done"; after that no callback of this plugin may run: a
 * tb_trans or the atexit callback would print "uninstall: ERROR ...".
 */
#include <stdio.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static struct qemu_plugin_scoreboard *sb;
static qemu_plugin_u64 tbs;
static qemu_plugin_id_t self;
static bool asked, done;

static void uninstalled(qemu_plugin_id_t id)
{
	done = true;
	qemu_plugin_outs("uninstall: done\n");
}

static void reached(unsigned int vcpu, void *u)
{
	if (asked)
		return;
	asked = true;
	qemu_plugin_uninstall(self, uninstalled);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	if (done)
		qemu_plugin_outs("uninstall: ERROR tb_trans after uninstall\n");
	qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, tbs, 1);
	qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, reached, QEMU_PLUGIN_CB_NO_REGS,
						  QEMU_PLUGIN_COND_EQ, tbs, 100, NULL);
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	qemu_plugin_outs("uninstall: ERROR atexit ran after uninstall\n");
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	self = id;
	sb = qemu_plugin_scoreboard_new(sizeof(uint64_t));
	tbs = qemu_plugin_scoreboard_u64(sb);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
