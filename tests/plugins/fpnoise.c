/*
 * fpnoise: a test plugin whose callbacks do floating point that raises
 * every MXCSR exception flag and switches the rounding mode, so that any
 * leak of a tool's FP state into the guest's shows in the guest's results
 * (tests/plugins/run.sh, matrix/fpnoise-*).  Arguments:
 *
 *   mode=cb   a NO_REGS callback before every instruction (translated
 *             code saves the guest's MXCSR once and loads it after each)
 *   mode=rw   a RW_REGS callback before every instruction that reads the
 *             guest's mxcsr, makes its noise, and writes the value back
 *             (reads and writes during a callback see the guest's value)
 *
 * At exit it prints "fpnoise: N callbacks, F failed" (F: register reads
 * or writes refused).
 */
#include <fenv.h>
#include <stdio.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static bool rw;
static unsigned long calls, failed;
static struct qemu_plugin_register *mxcsr;
static volatile double zero = 0.0, tiny = 1e-308, big = 1e308;

/* Sets IE, DE (no: DAZ off, denormal operand), ZE, OE, UE, PE and leaves
 * the rounding mode at round-toward-zero. */
static void noise(void)
{
	volatile double r;
	fesetround(FE_TOWARDZERO);
	r = zero / zero;	/* IE */
	r = 1.0 / zero;		/* ZE */
	r = big * big;		/* OE, PE */
	r = tiny * tiny;	/* UE, PE */
	r = tiny / 3.0 + r;	/* DE */
	(void)r;
}

static void insn_cb(unsigned int vcpu, void *u)
{
	calls++;
	if (!rw) {
		noise();
		return;
	}
	GByteArray *buf = g_byte_array_new();
	if (qemu_plugin_read_register(mxcsr, buf) && buf->len == 4) {
		noise();
		if (!qemu_plugin_write_register(mxcsr, buf))
			failed++;
	} else {
		failed++;
	}
	g_byte_array_free(buf, TRUE);
}

static void vcpu_init(qemu_plugin_id_t id, unsigned int vcpu)
{
	GArray *regs = qemu_plugin_get_registers();
	for (guint i = 0; i < regs->len; i++) {
		qemu_plugin_reg_descriptor *d = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
		if (!strcmp(d->name, "mxcsr"))
			mxcsr = d->handle;
	}
	g_array_free(regs, TRUE);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	for (size_t i = 0; i < qemu_plugin_tb_n_insns(tb); i++)
		qemu_plugin_register_vcpu_insn_exec_cb(qemu_plugin_tb_get_insn(tb, i), insn_cb,
						       rw ? QEMU_PLUGIN_CB_RW_REGS
							  : QEMU_PLUGIN_CB_NO_REGS,
						       NULL);
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[96];

	snprintf(line, sizeof(line), "fpnoise: %lu callbacks, %lu failed\n", calls, failed);
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "mode=rw"))
			rw = true;
		else if (strcmp(argv[i], "mode=cb")) {
			fprintf(stderr, "fpnoise: bad option '%s' (mode=cb|rw)\n", argv[i]);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
