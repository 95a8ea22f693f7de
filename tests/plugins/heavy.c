/*
 * heavy: as much instrumentation per instruction as the API allows, so that
 * a long block needs more code, branches and spill slots than one TB may
 * hold (tests/plugins/asm/long.S).  For every instruction: inline adds on
 * three scoreboards (1, 2 and the instruction's size), an inline store of 1
 * followed by three conditional callbacks on it (EQ 1: always taken; NE 1:
 * never; GE 0: always), an unconditional callback that reads registers,
 * and a memory callback and inline adds on loads and stores; per TB an
 * inline add of its instruction count.  Prints at exit
 *   "heavy: insns I, twice T, bytes B, tb-insns X, eq I, ne 0, ge I,
 *    cb I, loads L, stores S, inline-loads L, inline-stores S"
 */
#include <inttypes.h>
#include <stdio.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct per_insn {
	uint64_t insns, twice, bytes;
};
struct calls {
	uint64_t flag, eq, ne, ge, cb, loads, stores;
};

static qemu_plugin_u64 insns, twice, bytes, tb_insns, flag, eq, ne, ge, cb, loads, stores,
	in_loads, in_stores;

static void on_eq(unsigned int vcpu, void *u) { qemu_plugin_u64_add(eq, vcpu, 1); }
static void on_ne(unsigned int vcpu, void *u) { qemu_plugin_u64_add(ne, vcpu, 1); }
static void on_ge(unsigned int vcpu, void *u) { qemu_plugin_u64_add(ge, vcpu, 1); }
static void on_insn(unsigned int vcpu, void *u) { qemu_plugin_u64_add(cb, vcpu, 1); }

static void on_mem(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *u)
{
	qemu_plugin_u64_add(qemu_plugin_mem_is_store(info) ? stores : loads, vcpu, 1);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64,
							  tb_insns, n);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *in = qemu_plugin_tb_get_insn(tb, i);

		qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(in, QEMU_PLUGIN_INLINE_ADD_U64,
								     insns, 1);
		qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(in, QEMU_PLUGIN_INLINE_ADD_U64,
								     twice, 2);
		qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(in, QEMU_PLUGIN_INLINE_ADD_U64,
								     bytes,
								     qemu_plugin_insn_size(in));
		qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(in,
								     QEMU_PLUGIN_INLINE_STORE_U64,
								     flag, 1);
		qemu_plugin_register_vcpu_insn_exec_cond_cb(in, on_eq, QEMU_PLUGIN_CB_NO_REGS,
							    QEMU_PLUGIN_COND_EQ, flag, 1, NULL);
		qemu_plugin_register_vcpu_insn_exec_cond_cb(in, on_ne, QEMU_PLUGIN_CB_NO_REGS,
							    QEMU_PLUGIN_COND_NE, flag, 1, NULL);
		qemu_plugin_register_vcpu_insn_exec_cond_cb(in, on_ge, QEMU_PLUGIN_CB_NO_REGS,
							    QEMU_PLUGIN_COND_GE, flag, 0, NULL);
		qemu_plugin_register_vcpu_insn_exec_cb(in, on_insn, QEMU_PLUGIN_CB_R_REGS, NULL);
		qemu_plugin_register_vcpu_mem_cb(in, on_mem, QEMU_PLUGIN_CB_NO_REGS,
						 QEMU_PLUGIN_MEM_RW, NULL);
		qemu_plugin_register_vcpu_mem_inline_per_vcpu(in, QEMU_PLUGIN_MEM_R,
							      QEMU_PLUGIN_INLINE_ADD_U64,
							      in_loads, 1);
		qemu_plugin_register_vcpu_mem_inline_per_vcpu(in, QEMU_PLUGIN_MEM_W,
							      QEMU_PLUGIN_INLINE_ADD_U64,
							      in_stores, 1);
	}
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[512];

	snprintf(line, sizeof(line),
		 "heavy: insns %" PRIu64 ", twice %" PRIu64 ", bytes %" PRIu64 ", tb-insns %" PRIu64
		 ", eq %" PRIu64 ", ne %" PRIu64 ", ge %" PRIu64 ", cb %" PRIu64 ", loads %" PRIu64
		 ", stores %" PRIu64 ", inline-loads %" PRIu64 ", inline-stores %" PRIu64 "\n",
		 qemu_plugin_u64_sum(insns), qemu_plugin_u64_sum(twice), qemu_plugin_u64_sum(bytes),
		 qemu_plugin_u64_sum(tb_insns), qemu_plugin_u64_sum(eq), qemu_plugin_u64_sum(ne),
		 qemu_plugin_u64_sum(ge), qemu_plugin_u64_sum(cb), qemu_plugin_u64_sum(loads),
		 qemu_plugin_u64_sum(stores), qemu_plugin_u64_sum(in_loads),
		 qemu_plugin_u64_sum(in_stores));
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	struct qemu_plugin_scoreboard *a = qemu_plugin_scoreboard_new(sizeof(struct per_insn));
	struct qemu_plugin_scoreboard *b = qemu_plugin_scoreboard_new(sizeof(struct calls));
	struct qemu_plugin_scoreboard *c = qemu_plugin_scoreboard_new(sizeof(uint64_t));
	struct qemu_plugin_scoreboard *d = qemu_plugin_scoreboard_new(2 * sizeof(uint64_t));

	insns = qemu_plugin_scoreboard_u64_in_struct(a, struct per_insn, insns);
	twice = qemu_plugin_scoreboard_u64_in_struct(a, struct per_insn, twice);
	bytes = qemu_plugin_scoreboard_u64_in_struct(a, struct per_insn, bytes);
	flag = qemu_plugin_scoreboard_u64_in_struct(b, struct calls, flag);
	eq = qemu_plugin_scoreboard_u64_in_struct(b, struct calls, eq);
	ne = qemu_plugin_scoreboard_u64_in_struct(b, struct calls, ne);
	ge = qemu_plugin_scoreboard_u64_in_struct(b, struct calls, ge);
	cb = qemu_plugin_scoreboard_u64_in_struct(b, struct calls, cb);
	loads = qemu_plugin_scoreboard_u64_in_struct(b, struct calls, loads);
	stores = qemu_plugin_scoreboard_u64_in_struct(b, struct calls, stores);
	tb_insns = qemu_plugin_scoreboard_u64(c);
	in_loads = (qemu_plugin_u64){ d, 0 };
	in_stores = (qemu_plugin_u64){ d, 8 };
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
