/*
 * bb: counts executed translation blocks and guest instructions.
 *
 *   -plugin bb[,inline=on|off][,percpu=on][,idle=on]
 *
 * inline=on (default): the translated code adds to per-vCPU scoreboard
 *   entries itself; inline=off: a callback per TB execution does the adding
 *   (slower; the counts are the same).
 * percpu=on: also one line per vCPU at exit.
 * idle=on: a vCPU's counts so far are printed each time it is about to block
 *   in a waiting syscall (futex wait, sleep, wait4, poll...).
 *
 * Output (to the -d plugin log), at exit:
 *   CPU0: bb's: 1234, insns: 5678        (percpu=on, one per vCPU)
 *   bb's: 1234, insns: 5678
 * With idle=on, at each idle: "CPU0: idle: bb's: N, insns: M".
 * A TB is counted each time it starts executing, with all its instructions
 * (an instruction that faults midway through a TB still counts the rest).
 */
#include <stdio.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct counts {
	uint64_t bbs;
	uint64_t insns;
};

static struct qemu_plugin_scoreboard *score;
static qemu_plugin_u64 bbs, insns;
static bool do_inline = true, percpu, idle;

static void print_vcpu(unsigned int vcpu, const char *what)
{
	char line[128];

	snprintf(line, sizeof(line), "CPU%u: %sbb's: %" PRIu64 ", insns: %" PRIu64 "\n", vcpu,
		 what, qemu_plugin_u64_get(bbs, vcpu), qemu_plugin_u64_get(insns, vcpu));
	qemu_plugin_outs(line);
}

static void vcpu_idle(qemu_plugin_id_t id, unsigned int vcpu)
{
	print_vcpu(vcpu, "idle: ");
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[128];

	if (percpu)
		for (int i = 0; i < qemu_plugin_num_vcpus(); i++)
			print_vcpu(i, "");
	snprintf(line, sizeof(line), "bb's: %" PRIu64 ", insns: %" PRIu64 "\n",
		 qemu_plugin_u64_sum(bbs), qemu_plugin_u64_sum(insns));
	qemu_plugin_outs(line);
	qemu_plugin_scoreboard_free(score);
}

static void tb_exec(unsigned int vcpu, void *udata)
{
	qemu_plugin_u64_add(bbs, vcpu, 1);
	qemu_plugin_u64_add(insns, vcpu, (uintptr_t)udata);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	if (do_inline) {
		qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64,
								  bbs, 1);
		qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64,
								  insns, n);
	} else {
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
						     (void *)(uintptr_t)n);
	}
}

static bool parse_bool(const char *opt, bool *out)
{
	const char *eq = strchr(opt, '=');
	char name[64];

	if (!eq || eq - opt >= (long)sizeof(name))
		return false;
	memcpy(name, opt, eq - opt);
	name[eq - opt] = 0;
	return qemu_plugin_bool_parse(name, eq + 1, out);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i];
		bool ok;

		if (!strncmp(opt, "inline=", 7))
			ok = parse_bool(opt, &do_inline);
		else if (!strncmp(opt, "percpu=", 7))
			ok = parse_bool(opt, &percpu);
		else if (!strncmp(opt, "idle=", 5))
			ok = parse_bool(opt, &idle);
		else
			ok = false;
		if (!ok) {
			fprintf(stderr, "bb: bad option '%s' (inline=, percpu=, idle= take on/off)\n",
				opt);
			return -1;
		}
	}
	score = qemu_plugin_scoreboard_new(sizeof(struct counts));
	bbs = qemu_plugin_scoreboard_u64_in_struct(score, struct counts, bbs);
	insns = qemu_plugin_scoreboard_u64_in_struct(score, struct counts, insns);
	if (idle)
		qemu_plugin_register_vcpu_idle_cb(id, vcpu_idle);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
