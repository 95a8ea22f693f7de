/*
 * tbcount: a test plugin counting each translated block's executions two
 * ways at once -- an inline add on the block's own scoreboard slot and a
 * callback adding to the block's own C counter -- and, for each guest
 * address, comparing the sums over every translation of that address.
 * Inline and callback counts of one block must be equal: both say "this
 * block started executing".
 *
 *   -plugin tbcount[,only=inline|only=cb][,dump=on]
 *
 * only=: count one way only (to compare two runs); dump=on: a line for
 * every address, not only the differing ones.  Prints at exit (to the -d
 * plugin log) one line per differing address (at most 20), or per address:
 *   tbcount: 0xPC inline A callback B
 * then
 *   tbcount: blocks N inline, M callback, K addresses differ, T translations
 * Up to MAX_TBS translations are followed; past that " overflow" ends the
 * last line and the counts are not meaningful. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_TBS 8192

struct tbrec {
	uint64_t vaddr;
	size_t ninsns;
	uint64_t cb;
};

static struct qemu_plugin_scoreboard *score;
static struct tbrec recs[MAX_TBS];
static unsigned nrecs;
static bool overflow;
static bool use_inline = true, use_cb = true, dump;

static qemu_plugin_u64 slot(unsigned i)
{
	return (qemu_plugin_u64){ score, i * sizeof(uint64_t) };
}

static void tb_exec(unsigned int vcpu, void *udata)
{
	((struct tbrec *)udata)->cb++;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	if (nrecs == MAX_TBS) {
		overflow = true;
		return;
	}
	unsigned i = nrecs++;
	recs[i] = (struct tbrec){ qemu_plugin_tb_vaddr(tb), qemu_plugin_tb_n_insns(tb), 0 };
	if (use_inline)
		qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64,
								  slot(i), 1);
	if (use_cb)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, &recs[i]);
}

static int by_vaddr(const void *a, const void *b)
{
	const struct tbrec *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	static struct tbrec sums[MAX_TBS];
	uint64_t tot_in = 0, tot_cb = 0;
	unsigned nsums = 0, ndiff = 0;
	char line[160];

	/* a copy sorted by pc, its ninsns holding the inline count */
	for (unsigned i = 0; i < nrecs; i++) {
		sums[i] = recs[i];
		sums[i].ninsns = qemu_plugin_u64_sum(slot(i));	/* the inline count */
		tot_in += sums[i].ninsns;
		tot_cb += sums[i].cb;
	}
	qsort(sums, nrecs, sizeof(sums[0]), by_vaddr);
	for (unsigned i = 0; i < nrecs; i++) {
		if (nsums && sums[nsums - 1].vaddr == sums[i].vaddr) {
			sums[nsums - 1].ninsns += sums[i].ninsns;
			sums[nsums - 1].cb += sums[i].cb;
		} else {
			sums[nsums++] = sums[i];
		}
	}
	for (unsigned i = 0; i < nsums; i++) {
		bool differ = use_inline && use_cb && sums[i].ninsns != sums[i].cb;
		ndiff += differ;
		if (dump || (differ && ndiff <= 20)) {
			snprintf(line, sizeof(line),
				 "tbcount: 0x%" PRIx64 " inline %zu callback %" PRIu64 "\n",
				 sums[i].vaddr, sums[i].ninsns, sums[i].cb);
			qemu_plugin_outs(line);
		}
	}
	snprintf(line, sizeof(line),
		 "tbcount: blocks %" PRIu64 " inline, %" PRIu64
		 " callback, %u addresses differ, %u translations%s\n",
		 tot_in, tot_cb, ndiff, nrecs, overflow ? " overflow" : "");
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "only=inline"))
			use_cb = false;
		else if (!strcmp(argv[i], "only=cb"))
			use_inline = false;
		else if (!strcmp(argv[i], "dump=on"))
			dump = true;
		else {
			fprintf(stderr, "tbcount: bad option '%s'\n", argv[i]);
			return -1;
		}
	}
	score = qemu_plugin_scoreboard_new(MAX_TBS * sizeof(uint64_t));
	if (!score)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
