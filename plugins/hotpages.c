/*
 * hotpages: which guest pages are accessed most.
 *
 *   -plugin hotpages[,pagesize=N][,top=N][,rw=r|w|rw]
 *
 * pagesize=N: the page size in bytes, a power of two (default 4096).
 * top=N: how many pages to list (default 20).
 * rw=: which accesses count (default rw: loads and stores).
 * Counting is per vCPU (no lock on the hot path); the tables are merged at
 * exit.  An access that straddles two pages counts for the page of its
 * first byte.
 *
 * Output (to the -d plugin log), at exit:
 *   pages: 37 distinct, pagesize 4096
 *   addr, loads, stores, accesses
 *   0x00007ffc1234f000, 800, 600, 1400
 * sorted by accesses, then by address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct page {
	uint64_t addr;
	uint64_t loads, stores;
};

/* One hash table per vCPU, reached through a scoreboard entry so that a
 * vCPU's table stays put while others start. */
struct vcpu_pages {
	GHashTable *pages;		/* page address -> struct page */
};

static struct qemu_plugin_scoreboard *tables;
static uint64_t page_mask = ~(uint64_t)4095;
static uint64_t page_size = 4096;
static int top = 20;
static enum qemu_plugin_mem_rw rw = QEMU_PLUGIN_MEM_RW;

static void mem_access(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr,
		       void *udata)
{
	struct vcpu_pages *v = qemu_plugin_scoreboard_find(tables, vcpu);
	uint64_t addr = vaddr & page_mask;
	struct page *p;

	if (!v->pages)
		v->pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
	p = g_hash_table_lookup(v->pages, &addr);
	if (!p) {
		p = g_new0(struct page, 1);
		p->addr = addr;
		g_hash_table_insert(v->pages, &p->addr, p);
	}
	if (qemu_plugin_mem_is_store(info))
		p->stores++;
	else
		p->loads++;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	for (size_t i = 0; i < n; i++)
		qemu_plugin_register_vcpu_mem_cb(qemu_plugin_tb_get_insn(tb, i), mem_access,
						 QEMU_PLUGIN_CB_NO_REGS, rw, NULL);
}

static gint by_accesses_desc(gconstpointer a, gconstpointer b)
{
	const struct page *x = *(struct page *const *)a, *y = *(struct page *const *)b;
	uint64_t cx = x->loads + x->stores, cy = y->loads + y->stores;

	if (cx != cy)
		return cx > cy ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	GHashTable *all = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
	GPtrArray *sorted = g_ptr_array_new();
	GString *out = g_string_new(NULL);
	GHashTableIter it;
	gpointer val;

	for (int i = 0; i < qemu_plugin_num_vcpus(); i++) {
		struct vcpu_pages *v = qemu_plugin_scoreboard_find(tables, i);
		if (!v->pages)
			continue;
		g_hash_table_iter_init(&it, v->pages);
		while (g_hash_table_iter_next(&it, NULL, &val)) {
			struct page *src = val, *dst = g_hash_table_lookup(all, &src->addr);
			if (!dst) {
				dst = g_new0(struct page, 1);
				dst->addr = src->addr;
				g_hash_table_insert(all, &dst->addr, dst);
			}
			dst->loads += src->loads;
			dst->stores += src->stores;
		}
	}
	g_hash_table_iter_init(&it, all);
	while (g_hash_table_iter_next(&it, NULL, &val))
		g_ptr_array_add(sorted, val);
	g_ptr_array_sort(sorted, by_accesses_desc);
	g_string_append_printf(out, "pages: %u distinct, pagesize %" PRIu64 "\n", sorted->len,
			       page_size);
	g_string_append(out, "addr, loads, stores, accesses\n");
	for (guint i = 0; i < sorted->len && (int)i < top; i++) {
		struct page *pg = g_ptr_array_index(sorted, i);
		g_string_append_printf(out, "0x%016" PRIx64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64
				       "\n", pg->addr, pg->loads, pg->stores,
				       pg->loads + pg->stores);
	}
	qemu_plugin_outs(out->str);
	g_string_free(out, TRUE);
	g_ptr_array_free(sorted, TRUE);
	g_hash_table_destroy(all);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i];
		char *end;
		bool ok = true;

		if (!strncmp(opt, "pagesize=", 9)) {
			page_size = strtoull(opt + 9, &end, 0);
			ok = !*end && page_size && !(page_size & (page_size - 1));
			page_mask = ~(page_size - 1);
		} else if (!strncmp(opt, "top=", 4)) {
			top = strtol(opt + 4, &end, 0);
			ok = !*end && top >= 0;
		} else if (!strcmp(opt, "rw=r")) {
			rw = QEMU_PLUGIN_MEM_R;
		} else if (!strcmp(opt, "rw=w")) {
			rw = QEMU_PLUGIN_MEM_W;
		} else if (!strcmp(opt, "rw=rw")) {
			rw = QEMU_PLUGIN_MEM_RW;
		} else {
			ok = false;
		}
		if (!ok) {
			fprintf(stderr, "hotpages: bad option '%s' (pagesize=POWER_OF_2, top=N, "
				"rw=r|w|rw)\n", opt);
			return -1;
		}
	}
	tables = qemu_plugin_scoreboard_new(sizeof(struct vcpu_pages));
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
