/*
 * bcount: the benchmark plugin (bench/plugins.sh), one source for loom
 * (API version 7, built with -Iinclude) and for QEMU 7.2 (API version 1,
 * built with -Ibench/plugins/v1).  What it costs is the point; it counts
 * instructions one of three ways:
 *
 *   mode=tb           one inline add of the TB's instruction count per TB
 *                     (what plugins/bb does)
 *   mode=insn-inline  one inline add per instruction
 *   mode=insn-cb      one callback per instruction (NO_REGS), whose body
 *                     is a plain increment in both builds
 *
 * and prints "bcount: insns N" to the plugin log at exit.  Single-threaded
 * workloads only in version 1 (one shared counter).
 */
#include <stdio.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

enum mode { M_TB, M_INSN_INLINE, M_INSN_CB };
static enum mode mode = M_TB;

#if QEMU_PLUGIN_VERSION == 1
static uint64_t count;

static void add_tb(struct qemu_plugin_tb *tb, uint64_t n)
{
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &count, n);
}

static void add_insn(struct qemu_plugin_insn *insn)
{
	qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &count, 1);
}

static void insn_cb(unsigned int vcpu, void *u)
{
	count++;
}

static uint64_t total(void)
{
	return count;
}

static void setup(void)
{
}
#else
static struct qemu_plugin_scoreboard *sb;
static qemu_plugin_u64 count;

static void add_tb(struct qemu_plugin_tb *tb, uint64_t n)
{
	qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64, count, n);
}

static void add_insn(struct qemu_plugin_insn *insn)
{
	qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64,
							     count, 1);
}

/* The callback's body is the version-1 build's: a plain increment (the
 * workloads are single-threaded), so the two emulators are compared on
 * the cost of calling it, not on scoreboard arithmetic. */
static uint64_t cb_count;

static void insn_cb(unsigned int vcpu, void *u)
{
	cb_count++;
}

static uint64_t total(void)
{
	return qemu_plugin_u64_sum(count) + cb_count;
}

static void setup(void)
{
	sb = qemu_plugin_scoreboard_new(sizeof(uint64_t));
	count = qemu_plugin_scoreboard_u64(sb);
}
#endif

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	if (mode == M_TB) {
		add_tb(tb, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		if (mode == M_INSN_INLINE)
			add_insn(insn);
		else
			qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_cb, QEMU_PLUGIN_CB_NO_REGS,
							       NULL);
	}
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[64];

	snprintf(line, sizeof(line), "bcount: insns %" PRIu64 "\n", total());
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "mode=tb"))
			mode = M_TB;
		else if (!strcmp(argv[i], "mode=insn-inline"))
			mode = M_INSN_INLINE;
		else if (!strcmp(argv[i], "mode=insn-cb"))
			mode = M_INSN_CB;
		else {
			fprintf(stderr, "bcount: bad option '%s' (mode=tb|insn-inline|insn-cb)\n",
				argv[i]);
			return -1;
		}
	}
	setup();
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
