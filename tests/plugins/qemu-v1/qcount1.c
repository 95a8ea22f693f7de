/*
 * qcount1: a plugin as it is written for QEMU 7.2 (plugin API version 1),
 * built against tests/plugins/qemu-v1-include, never loom's include/.  It
 * counts with the version-1 inline ops (a plain counter through a pointer),
 * memory callbacks, and the instruction bytes qemu_plugin_insn_data points
 * to; at exit it prints
 *   "qcount1: tbs T, insns I, insns by tb I, loads L, stores S,
 *    loads by callback L, stores by callback S, decl D, bad data B"
 *   "qcount1: vcpus V, max M, version-min N"
 * where decl counts executions of `decl %ecx` (ff c9) found through
 * insn_data, and bad data counts instructions whose insn_data bytes
 * differ from the ones at insn_haddr.  The second line is loom's answer
 * (QEMU's user mode says -1 for both counts).
 */
#include <stdio.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static uint64_t tbs, insns, tb_insns, loads, stores, cb_loads, cb_stores, decls, bad_data;
static int version_min;

static void mem_access(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *u)
{
	if (qemu_plugin_mem_is_store(info))
		cb_stores++;
	else
		cb_loads++;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &tbs, 1);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &tb_insns, n);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *in = qemu_plugin_tb_get_insn(tb, i);
		const unsigned char *data = qemu_plugin_insn_data(in);
		size_t size = qemu_plugin_insn_size(in);

		if (!data || memcmp(data, qemu_plugin_insn_haddr(in), size))
			bad_data++;
		qemu_plugin_register_vcpu_insn_exec_inline(in, QEMU_PLUGIN_INLINE_ADD_U64,
							   &insns, 1);
		qemu_plugin_register_vcpu_mem_inline(in, QEMU_PLUGIN_MEM_R,
						     QEMU_PLUGIN_INLINE_ADD_U64, &loads, 1);
		qemu_plugin_register_vcpu_mem_inline(in, QEMU_PLUGIN_MEM_W,
						     QEMU_PLUGIN_INLINE_ADD_U64, &stores, 1);
		qemu_plugin_register_vcpu_mem_cb(in, mem_access, QEMU_PLUGIN_CB_NO_REGS,
						 QEMU_PLUGIN_MEM_RW, NULL);
		if (data && size == 2 && data[0] == 0xff && data[1] == 0xc9)
			qemu_plugin_register_vcpu_insn_exec_inline(in, QEMU_PLUGIN_INLINE_ADD_U64,
								   &decls, 1);
	}
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[512];

	snprintf(line, sizeof(line),
		 "qcount1: tbs %" PRIu64 ", insns %" PRIu64 ", insns by tb %" PRIu64
		 ", loads %" PRIu64 ", stores %" PRIu64 ", loads by callback %" PRIu64
		 ", stores by callback %" PRIu64 ", decl %" PRIu64 ", bad data %" PRIu64 "\n",
		 tbs, insns, tb_insns, loads, stores, cb_loads, cb_stores, decls, bad_data);
	qemu_plugin_outs(line);
	snprintf(line, sizeof(line), "qcount1: vcpus %d, max %d, version-min %d\n",
		 qemu_plugin_n_vcpus(), qemu_plugin_n_max_vcpus(), version_min);
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	version_min = info->version.min;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
