/*
 * qregs: reads registers as a plugin built for API version 4 (QEMU 9.1)
 * does, against tests/plugins/qemu-include: there qemu_plugin_read_register
 * returns the register's size, or -1 where reading is not allowed.  At the
 * instruction addr=ADDR (hex) a callback with R_REGS reads rip and rsp; a
 * callback without register access tries to read rip.  At exit prints
 *   "qregs: rip size S value V, rsp size S, refused R, runs N"
 * (S the returned sizes, V = ADDR as 0x%016x, R what the refused read
 * returned, N how often the instruction ran).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static uint64_t addr, rip_value;
static struct qemu_plugin_register *rip, *rsp;
static int rip_size, rsp_size, refused, runs;

static void vcpu_init(qemu_plugin_id_t id, unsigned int vcpu)
{
	GArray *regs = qemu_plugin_get_registers();

	for (guint i = 0; i < regs->len; i++) {
		qemu_plugin_reg_descriptor *d = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
		if (!strcmp(d->name, "rip"))
			rip = d->handle;
		else if (!strcmp(d->name, "rsp"))
			rsp = d->handle;
	}
	g_array_free(regs, true);
}

static void read_regs(unsigned int vcpu, void *u)
{
	GByteArray *buf = g_byte_array_new();

	rip_size = qemu_plugin_read_register(rip, buf);
	if (rip_size == 8)
		memcpy(&rip_value, buf->data, 8);
	g_byte_array_set_size(buf, 0);
	rsp_size = qemu_plugin_read_register(rsp, buf);
	g_byte_array_free(buf, true);
	runs++;
}

static void read_refused(unsigned int vcpu, void *u)
{
	GByteArray *buf = g_byte_array_new();

	refused = qemu_plugin_read_register(rip, buf);
	g_byte_array_free(buf, true);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	for (size_t i = 0; i < qemu_plugin_tb_n_insns(tb); i++) {
		struct qemu_plugin_insn *in = qemu_plugin_tb_get_insn(tb, i);
		if (qemu_plugin_insn_vaddr(in) != addr)
			continue;
		qemu_plugin_register_vcpu_insn_exec_cb(in, read_regs, QEMU_PLUGIN_CB_R_REGS, NULL);
		qemu_plugin_register_vcpu_insn_exec_cb(in, read_refused, QEMU_PLUGIN_CB_NO_REGS,
						       NULL);
	}
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[160];

	snprintf(line, sizeof(line), "qregs: rip size %d value 0x%016" PRIx64 ", rsp size %d, "
		 "refused %d, runs %d\n", rip_size, rip_value, rsp_size, refused, runs);
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], "addr=", 5))
			addr = strtoull(argv[i] + 5, NULL, 16);
	qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
