/*
 * hotblocks: the most executed translation blocks.
 *
 *   -plugin hotblocks[,top=N][,inline=on|off]
 *
 * Each TB gets a per-vCPU execution counter, bumped inline by the
 * translated code (inline=off: by a callback at each TB start).  A TB is
 * known by its start address and instruction count: translating it again
 * (after a flush, or as part of another block) reuses its counter and
 * counts one more translation.
 * top=N: how many blocks to list (default 20).
 *
 * Output (to the -d plugin log), at exit:
 *   blocks: 812 distinct, 1234 translations
 *   pc, tcount, icount, ecount
 *   0x0000000000401000, 1, 4, 1000      start, translations, insns, executions
 * sorted by executions, then by address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct block {
	uint64_t vaddr;
	size_t n_insns;
	unsigned long trans;
	qemu_plugin_u64 exec;
};

#define CHUNK 4096
static GPtrArray *boards;
static size_t nr_counters;

static GMutex lock;
static GHashTable *blocks;		/* (vaddr, n_insns) -> struct block */
static unsigned long total_trans;
static bool do_inline = true;
static int top = 20;

static qemu_plugin_u64 counter_new(void)
{
	if (nr_counters % CHUNK == 0)
		g_ptr_array_add(boards, qemu_plugin_scoreboard_new(CHUNK * sizeof(uint64_t)));
	struct qemu_plugin_scoreboard *sb = g_ptr_array_index(boards, boards->len - 1);
	qemu_plugin_u64 e = { sb, (nr_counters++ % CHUNK) * sizeof(uint64_t) };
	return e;
}

static guint block_hash(gconstpointer p)
{
	const struct block *b = p;
	return g_int64_hash(&b->vaddr) ^ (guint)b->n_insns * 0x9e3779b1u;
}

static gboolean block_equal(gconstpointer a, gconstpointer b)
{
	const struct block *x = a, *y = b;
	return x->vaddr == y->vaddr && x->n_insns == y->n_insns;
}

static void tb_exec(unsigned int vcpu, void *udata)
{
	struct block *b = udata;

	qemu_plugin_u64_add(b->exec, vcpu, 1);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block key = { .vaddr = qemu_plugin_tb_vaddr(tb), .n_insns = qemu_plugin_tb_n_insns(tb) };
	struct block *b;

	g_mutex_lock(&lock);
	b = g_hash_table_lookup(blocks, &key);
	if (!b) {
		b = g_memdup2(&key, sizeof(key));
		b->exec = counter_new();
		g_hash_table_add(blocks, b);
	}
	b->trans++;
	total_trans++;
	g_mutex_unlock(&lock);
	if (do_inline)
		qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64,
								  b->exec, 1);
	else
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, b);
}

struct sorted {
	struct block *b;
	uint64_t count;
};

static gint by_count_desc(gconstpointer a, gconstpointer b)
{
	const struct sorted *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->b->vaddr != y->b->vaddr)
		return x->b->vaddr < y->b->vaddr ? -1 : 1;
	return x->b->n_insns < y->b->n_insns ? -1 : x->b->n_insns > y->b->n_insns;
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	GString *out = g_string_new(NULL);
	GArray *all = g_array_new(FALSE, FALSE, sizeof(struct sorted));
	GHashTableIter it;
	gpointer key;

	g_mutex_lock(&lock);
	g_hash_table_iter_init(&it, blocks);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		struct sorted s = { key, qemu_plugin_u64_sum(((struct block *)key)->exec) };
		g_array_append_val(all, s);
	}
	g_array_sort(all, by_count_desc);
	g_string_append_printf(out, "blocks: %u distinct, %lu translations\n", all->len,
			       total_trans);
	g_string_append(out, "pc, tcount, icount, ecount\n");
	for (guint i = 0; i < all->len && (int)i < top; i++) {
		struct sorted *s = &g_array_index(all, struct sorted, i);
		g_string_append_printf(out, "0x%016" PRIx64 ", %lu, %zu, %" PRIu64 "\n",
				       s->b->vaddr, s->b->trans, s->b->n_insns, s->count);
	}
	g_mutex_unlock(&lock);
	qemu_plugin_outs(out->str);
	g_string_free(out, TRUE);
	g_array_free(all, TRUE);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i];
		bool ok = true;

		if (!strncmp(opt, "inline=", 7)) {
			ok = qemu_plugin_bool_parse("inline", opt + 7, &do_inline);
		} else if (!strncmp(opt, "top=", 4)) {
			char *end;
			top = strtol(opt + 4, &end, 0);
			ok = *end == 0 && top >= 0;
		} else {
			ok = false;
		}
		if (!ok) {
			fprintf(stderr, "hotblocks: bad option '%s' (top=N, inline=on|off)\n", opt);
			return -1;
		}
	}
	boards = g_ptr_array_new();
	blocks = g_hash_table_new(block_hash, block_equal);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
