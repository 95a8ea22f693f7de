/*
 * tcount: counts executed blocks with an inline counter and reports the
 * count each time the code cache is flushed and at exit, so that a test
 * can see what enabling and disabling the plugin at run time does
 * (tests/system/plugins.sh: `plugin disable tcount` drops the translations
 * carrying its counter, which flushes; while it is off the count must not
 * move; `plugin enable tcount` flushes again and counting resumes).  A
 * disabled plugin still hears of flushes (loom-plugin.h).
 *
 * Output lines: "tcount: flush N" and "tcount: exit N".
 */
#include <inttypes.h>
#include <stdio.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static struct qemu_plugin_scoreboard *blocks;

static void report(const char *when)
{
	char line[80];
	snprintf(line, sizeof(line), "tcount: %s %" PRIu64 "\n", when,
		 qemu_plugin_u64_sum(qemu_plugin_scoreboard_u64(blocks)));
	qemu_plugin_outs(line);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64,
							   qemu_plugin_scoreboard_u64(blocks), 1);
}

static void flushed(qemu_plugin_id_t id) { report("flush"); }
static void plugin_exit(qemu_plugin_id_t id, void *p) { report("exit"); }

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	blocks = qemu_plugin_scoreboard_new(sizeof(uint64_t));
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_flush_cb(id, flushed);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
