/*
 * stoptrigger: ends the program after a number of instructions or when
 * execution reaches an address.
 *
 *   -plugin stoptrigger,icount=N[,exit_code=C]
 *   -plugin stoptrigger,addr=0xADDR[:C][,addr=...][,exit_code=C]
 *
 * icount=N: once N instructions have run on a vCPU, the process exits before
 *   that vCPU's next instruction (counted per vCPU, inline).
 * addr=0xADDR[:C]: the process exits just before the instruction at ADDR
 *   runs, with status C if given.  Repeatable.
 * exit_code=C: the exit status otherwise (default 0).
 *
 * The exit is exit(3) from an instruction callback, as in QEMU, so the
 * other plugins' atexit callbacks still run and report what ran up to then.
 * Output (to the -d plugin log): "icount reached, exiting" or
 * "address 0x401000 reached, exiting" just before the exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct stop_addr {
	uint64_t vaddr;
	int exit_code;
};

static struct qemu_plugin_scoreboard *score;
static qemu_plugin_u64 icount_entry;
static uint64_t icount;
static int exit_code;
static GArray *addrs;		/* struct stop_addr */

static void icount_reached(unsigned int vcpu, void *udata)
{
	qemu_plugin_outs("icount reached, exiting\n");
	exit(exit_code);
}

static void addr_reached(unsigned int vcpu, void *udata)
{
	struct stop_addr *a = udata;
	char line[80];

	snprintf(line, sizeof(line), "address 0x%" PRIx64 " reached, exiting\n", a->vaddr);
	qemu_plugin_outs(line);
	exit(a->exit_code);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t pc = qemu_plugin_insn_vaddr(insn);

		/* The count is that of instructions started, this one included:
		 * icount+1 means icount have completed. */
		if (icount) {
			qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(
				insn, QEMU_PLUGIN_INLINE_ADD_U64, icount_entry, 1);
			qemu_plugin_register_vcpu_insn_exec_cond_cb(
				insn, icount_reached, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_COND_EQ,
				icount_entry, icount + 1, NULL);
		}
		for (guint j = 0; addrs && j < addrs->len; j++) {
			struct stop_addr *a = &g_array_index(addrs, struct stop_addr, j);
			if (a->vaddr == pc)
				qemu_plugin_register_vcpu_insn_exec_cb(insn, addr_reached,
								       QEMU_PLUGIN_CB_NO_REGS, a);
		}
	}
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	bool code_given = false;

	addrs = g_array_new(FALSE, FALSE, sizeof(struct stop_addr));
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i];
		char *end = NULL;
		bool ok = true;

		if (!strncmp(opt, "icount=", 7)) {
			icount = strtoull(opt + 7, &end, 0);
			ok = end != opt + 7 && !*end && icount > 0;
		} else if (!strncmp(opt, "exit_code=", 10)) {
			exit_code = strtol(opt + 10, &end, 0);
			ok = end != opt + 10 && !*end;
			code_given = true;
		} else if (!strncmp(opt, "addr=", 5)) {
			struct stop_addr a = { strtoull(opt + 5, &end, 0), -1 };
			ok = end != opt + 5;
			if (ok && *end == ':') {
				const char *c = end + 1;
				a.exit_code = strtol(c, &end, 0);
				ok = end != c;
			}
			ok = ok && !*end;
			g_array_append_val(addrs, a);
		} else {
			ok = false;
		}
		if (!ok) {
			fprintf(stderr, "stoptrigger: bad option '%s' (icount=N, addr=0xADDR[:CODE], "
				"exit_code=CODE)\n", opt);
			return -1;
		}
	}
	if (!icount && !addrs->len) {
		fprintf(stderr, "stoptrigger: give icount=N or addr=0xADDR\n");
		return -1;
	}
	/* addr= without its own code takes exit_code=, given before or after */
	for (guint j = 0; j < addrs->len; j++) {
		struct stop_addr *a = &g_array_index(addrs, struct stop_addr, j);
		if (a->exit_code == -1)
			a->exit_code = code_given ? exit_code : 0;
	}
	score = qemu_plugin_scoreboard_new(sizeof(uint64_t));
	icount_entry = qemu_plugin_scoreboard_u64(score);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	return 0;
}
