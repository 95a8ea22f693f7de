/*
 * mem: counts guest memory accesses, and optionally traces them.
 *
 *   -plugin mem[,inline=on|off][,trace=on][,rw=r|w|rw]
 *
 * inline=on (default): loads and stores are counted per vCPU by the
 *   translated code; inline=off: by a callback after each access.
 * trace=on: also log every access (implies callbacks).
 * rw=: which accesses to count and trace (default rw: both).
 * An atomic read-modify-write counts as a load and a store; an access that
 * faults is not counted.
 *
 * Output (to the -d plugin log):
 *   trace=on, one line per access:
 *     vcpu 0, pc 0x401005, load 0x7ffc0000ff8, size 8, value 0x2a
 *   at exit:
 *     loads: 1000, stores: 500, accesses: 1500
 */
#include <stdio.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct counts {
	uint64_t loads;
	uint64_t stores;
};

static struct qemu_plugin_scoreboard *score;
static qemu_plugin_u64 loads, stores;
static bool do_inline = true, trace;
static enum qemu_plugin_mem_rw rw = QEMU_PLUGIN_MEM_RW;

static void format_value(char *buf, size_t len, qemu_plugin_mem_value v)
{
	switch (v.type) {
	case QEMU_PLUGIN_MEM_VALUE_U8:
		snprintf(buf, len, "0x%x", v.data.u8);
		break;
	case QEMU_PLUGIN_MEM_VALUE_U16:
		snprintf(buf, len, "0x%x", v.data.u16);
		break;
	case QEMU_PLUGIN_MEM_VALUE_U32:
		snprintf(buf, len, "0x%" PRIx32, v.data.u32);
		break;
	case QEMU_PLUGIN_MEM_VALUE_U64:
		snprintf(buf, len, "0x%" PRIx64, v.data.u64);
		break;
	case QEMU_PLUGIN_MEM_VALUE_U128:
		snprintf(buf, len, "0x%016" PRIx64 "%016" PRIx64, v.data.u128.high,
			 v.data.u128.low);
		break;
	}
}

static void mem_access(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr,
		       void *udata)
{
	bool store = qemu_plugin_mem_is_store(info);

	qemu_plugin_u64_add(store ? stores : loads, vcpu, 1);
	if (trace) {
		char value[40], line[160];

		format_value(value, sizeof(value), qemu_plugin_mem_get_value(info));
		snprintf(line, sizeof(line), "vcpu %u, pc 0x%" PRIx64 ", %s 0x%" PRIx64
			 ", size %u, value %s\n", vcpu, (uint64_t)(uintptr_t)udata,
			 store ? "store" : "load", vaddr, 1u << qemu_plugin_mem_size_shift(info),
			 value);
		qemu_plugin_outs(line);
	}
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		if (do_inline) {
			if (rw & QEMU_PLUGIN_MEM_R)
				qemu_plugin_register_vcpu_mem_inline_per_vcpu(
					insn, QEMU_PLUGIN_MEM_R, QEMU_PLUGIN_INLINE_ADD_U64,
					loads, 1);
			if (rw & QEMU_PLUGIN_MEM_W)
				qemu_plugin_register_vcpu_mem_inline_per_vcpu(
					insn, QEMU_PLUGIN_MEM_W, QEMU_PLUGIN_INLINE_ADD_U64,
					stores, 1);
		} else {
			void *pc = (void *)(uintptr_t)qemu_plugin_insn_vaddr(insn);
			qemu_plugin_register_vcpu_mem_cb(insn, mem_access, QEMU_PLUGIN_CB_NO_REGS,
							 rw, pc);
		}
	}
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[160];
	uint64_t l = qemu_plugin_u64_sum(loads), s = qemu_plugin_u64_sum(stores);

	snprintf(line, sizeof(line), "loads: %" PRIu64 ", stores: %" PRIu64 ", accesses: %"
		 PRIu64 "\n", l, s, l + s);
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i];
		bool ok = true;

		if (!strncmp(opt, "inline=", 7))
			ok = qemu_plugin_bool_parse("inline", opt + 7, &do_inline);
		else if (!strncmp(opt, "trace=", 6))
			ok = qemu_plugin_bool_parse("trace", opt + 6, &trace);
		else if (!strcmp(opt, "rw=r"))
			rw = QEMU_PLUGIN_MEM_R;
		else if (!strcmp(opt, "rw=w"))
			rw = QEMU_PLUGIN_MEM_W;
		else if (!strcmp(opt, "rw=rw"))
			rw = QEMU_PLUGIN_MEM_RW;
		else
			ok = false;
		if (!ok) {
			fprintf(stderr, "mem: bad option '%s' (inline=on|off, trace=on|off, "
				"rw=r|w|rw)\n", opt);
			return -1;
		}
	}
	if (trace)
		do_inline = false;
	score = qemu_plugin_scoreboard_new(sizeof(struct counts));
	loads = qemu_plugin_scoreboard_u64_in_struct(score, struct counts, loads);
	stores = qemu_plugin_scoreboard_u64_in_struct(score, struct counts, stores);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
