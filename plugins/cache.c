/*
 * cache: simulates set-associative L1 instruction and data caches and an
 * optional unified L2, per vCPU, and reports miss rates and the
 * instructions that miss most.
 *
 *   -plugin cache[,dcachesize=N][,dassoc=N][,dblksize=N]
 *                [,icachesize=N][,iassoc=N][,iblksize=N]
 *                [,l2=on][,l2cachesize=N][,l2assoc=N][,l2blksize=N]
 *                [,evict=lru|fifo|rand][,limit=N]
 *
 * Sizes in bytes.  Defaults: L1D and L1I 16 KiB, 8 ways, 64-byte blocks;
 * L2 (off unless l2=on or an l2* size is given) 2 MiB, 16 ways, 64-byte
 * blocks.  Block sizes must be powers of two and size / (assoc * block) a
 * power of two (the number of sets).
 * evict: the victim on a miss in a full set: the least recently used block
 *   (lru, default), the oldest filled (fifo), or one chosen at random.
 * limit=N: how many instructions to list per table (default 32).
 *
 * Model: every executed instruction is one fetch of the block holding its
 * first byte from L1I; every data access (its virtual address) one access
 * of L1D, whatever its size.  An L1 miss accesses L2 when it is enabled.
 * Caches never write back (no dirty state): stores allocate like loads.
 *
 * Output (to the -d plugin log), at exit:
 *   core #, data accesses, data misses, dmiss rate, insn accesses, insn misses, imiss rate[, l2 accesses, l2 misses, l2 miss rate]
 *   0, 1000, 20, 2.0000%, 5000, 100, 2.0000%
 *   sum, ...                          (with more than one vCPU)
 *   address, data misses, instruction
 *   0x0000000000401005, 20, mov rax, qword ptr [rdi] (main)
 *   address, fetch misses, instruction
 *   ...
 *   address, L2 misses, instruction   (with L2)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

enum evict { EVICT_LRU, EVICT_FIFO, EVICT_RAND };

struct cache_cfg {
	uint64_t size, assoc, blksize;
};

struct cache {
	unsigned blk_shift;
	uint64_t set_mask;
	unsigned assoc;
	uint64_t *tags;			/* nsets * assoc block numbers; ~0: empty */
	uint64_t *stamp;		/* lru: last use; fifo: fill time */
	uint64_t clock;
	uint64_t rng;
	uint64_t accesses, misses;
};

struct core {
	struct cache *l1d, *l1i, *l2;
};

struct insn_rec {
	uint64_t vaddr;
	char *disas;
	const char *symbol;
	uint64_t dmisses, imisses, l2misses;	/* atomic: vCPUs share records */
};

static struct cache_cfg dcfg = { 16384, 8, 64 }, icfg = { 16384, 8, 64 },
			l2cfg = { 2097152, 16, 64 };
static bool use_l2;
static enum evict policy = EVICT_LRU;
static int limit = 32;

static struct qemu_plugin_scoreboard *cores;	/* struct core per vCPU */
static GMutex lock;
static GHashTable *recs;			/* vaddr -> struct insn_rec */

static struct cache *cache_new(const struct cache_cfg *cfg, uint64_t seed)
{
	struct cache *c = g_new0(struct cache, 1);
	uint64_t nsets = cfg->size / (cfg->assoc * cfg->blksize);

	c->blk_shift = __builtin_ctzll(cfg->blksize);
	c->set_mask = nsets - 1;
	c->assoc = cfg->assoc;
	c->tags = g_new(uint64_t, nsets * cfg->assoc);
	memset(c->tags, 0xff, nsets * cfg->assoc * sizeof(uint64_t));
	c->stamp = g_new0(uint64_t, nsets * cfg->assoc);
	c->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	return c;
}

static uint64_t next_random(struct cache *c)
{
	/* xorshift64: cheap and deterministic per vCPU, enough for a victim */
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

/* Looks addr up, filling its block on a miss; true on a hit. */
static bool cache_access(struct cache *c, uint64_t addr)
{
	uint64_t block = addr >> c->blk_shift;
	uint64_t *tags = &c->tags[(block & c->set_mask) * c->assoc];
	uint64_t *stamp = &c->stamp[(block & c->set_mask) * c->assoc];
	unsigned victim = 0;

	c->accesses++;
	c->clock++;
	for (unsigned w = 0; w < c->assoc; w++) {
		if (tags[w] == block) {
			if (policy == EVICT_LRU)
				stamp[w] = c->clock;
			return true;
		}
	}
	c->misses++;
	for (unsigned w = 0; w < c->assoc; w++) {
		if (tags[w] == ~0ull) {
			victim = w;
			goto fill;
		}
	}
	if (policy == EVICT_RAND) {
		victim = next_random(c) % c->assoc;
	} else {
		for (unsigned w = 1; w < c->assoc; w++)
			if (stamp[w] < stamp[victim])
				victim = w;
	}
fill:
	tags[victim] = block;
	stamp[victim] = c->clock;
	return false;
}

static struct core *core_of(unsigned int vcpu)
{
	struct core *k = qemu_plugin_scoreboard_find(cores, vcpu);

	if (!k->l1d) {
		k->l1d = cache_new(&dcfg, vcpu * 3 + 1);
		k->l1i = cache_new(&icfg, vcpu * 3 + 2);
		if (use_l2)
			k->l2 = cache_new(&l2cfg, vcpu * 3 + 3);
	}
	return k;
}

static void insn_fetch(unsigned int vcpu, void *udata)
{
	struct insn_rec *r = udata;
	struct core *k = core_of(vcpu);

	if (cache_access(k->l1i, r->vaddr))
		return;
	__atomic_fetch_add(&r->imisses, 1, __ATOMIC_RELAXED);
	if (k->l2 && !cache_access(k->l2, r->vaddr))
		__atomic_fetch_add(&r->l2misses, 1, __ATOMIC_RELAXED);
}

static void data_access(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr,
			void *udata)
{
	struct insn_rec *r = udata;
	struct core *k = core_of(vcpu);

	if (cache_access(k->l1d, vaddr))
		return;
	__atomic_fetch_add(&r->dmisses, 1, __ATOMIC_RELAXED);
	if (k->l2 && !cache_access(k->l2, vaddr))
		__atomic_fetch_add(&r->l2misses, 1, __ATOMIC_RELAXED);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
		struct insn_rec *r;

		g_mutex_lock(&lock);
		r = g_hash_table_lookup(recs, &vaddr);
		if (!r) {
			r = g_new0(struct insn_rec, 1);
			r->vaddr = vaddr;
			r->disas = qemu_plugin_insn_disas(insn);
			r->symbol = qemu_plugin_insn_symbol(insn);
			g_hash_table_insert(recs, &r->vaddr, r);
		}
		g_mutex_unlock(&lock);
		qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_fetch, QEMU_PLUGIN_CB_NO_REGS, r);
		qemu_plugin_register_vcpu_mem_cb(insn, data_access, QEMU_PLUGIN_CB_NO_REGS,
						 QEMU_PLUGIN_MEM_RW, r);
	}
}

static void append_rate(GString *s, uint64_t accesses, uint64_t misses)
{
	g_string_append_printf(s, ", %" PRIu64 ", %" PRIu64 ", %.4f%%", accesses, misses,
			       accesses ? 100.0 * misses / accesses : 0.0);
}

static size_t miss_field;	/* offset of the field the sort compares */

static gint by_misses_desc(gconstpointer a, gconstpointer b)
{
	const struct insn_rec *x = *(struct insn_rec *const *)a;
	const struct insn_rec *y = *(struct insn_rec *const *)b;
	uint64_t mx = *(const uint64_t *)((const char *)x + miss_field);
	uint64_t my = *(const uint64_t *)((const char *)y + miss_field);

	if (mx != my)
		return mx > my ? -1 : 1;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static void append_top(GString *out, GPtrArray *all, size_t field, const char *title)
{
	miss_field = field;
	g_ptr_array_sort(all, by_misses_desc);
	g_string_append_printf(out, "address, %s, instruction\n", title);
	for (guint i = 0; i < all->len && (int)i < limit; i++) {
		struct insn_rec *r = g_ptr_array_index(all, i);
		uint64_t m = *(uint64_t *)((char *)r + field);
		if (!m)
			break;
		g_string_append_printf(out, "0x%016" PRIx64 ", %" PRIu64 ", %s", r->vaddr, m,
				       r->disas);
		if (r->symbol)
			g_string_append_printf(out, " (%s)", r->symbol);
		g_string_append_c(out, '\n');
	}
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	GString *out = g_string_new("core #, data accesses, data misses, dmiss rate, "
				    "insn accesses, insn misses, imiss rate");
	struct cache sum_d = { 0 }, sum_i = { 0 }, sum_2 = { 0 };
	int n = qemu_plugin_num_vcpus();
	GPtrArray *all = g_ptr_array_new();
	GHashTableIter it;
	gpointer val;

	g_string_append(out, use_l2 ? ", l2 accesses, l2 misses, l2 miss rate\n" : "\n");
	for (int i = 0; i < n; i++) {
		struct core *k = core_of(i);
		g_string_append_printf(out, "%d", i);
		append_rate(out, k->l1d->accesses, k->l1d->misses);
		append_rate(out, k->l1i->accesses, k->l1i->misses);
		sum_d.accesses += k->l1d->accesses;
		sum_d.misses += k->l1d->misses;
		sum_i.accesses += k->l1i->accesses;
		sum_i.misses += k->l1i->misses;
		if (use_l2) {
			append_rate(out, k->l2->accesses, k->l2->misses);
			sum_2.accesses += k->l2->accesses;
			sum_2.misses += k->l2->misses;
		}
		g_string_append_c(out, '\n');
	}
	if (n > 1) {
		g_string_append(out, "sum");
		append_rate(out, sum_d.accesses, sum_d.misses);
		append_rate(out, sum_i.accesses, sum_i.misses);
		if (use_l2)
			append_rate(out, sum_2.accesses, sum_2.misses);
		g_string_append_c(out, '\n');
	}
	g_mutex_lock(&lock);
	g_hash_table_iter_init(&it, recs);
	while (g_hash_table_iter_next(&it, NULL, &val))
		g_ptr_array_add(all, val);
	append_top(out, all, offsetof(struct insn_rec, dmisses), "data misses");
	append_top(out, all, offsetof(struct insn_rec, imisses), "fetch misses");
	if (use_l2)
		append_top(out, all, offsetof(struct insn_rec, l2misses), "L2 misses");
	g_mutex_unlock(&lock);
	qemu_plugin_outs(out->str);
	g_string_free(out, TRUE);
	g_ptr_array_free(all, TRUE);
}

static bool check_cfg(const char *name, const struct cache_cfg *c)
{
	uint64_t nsets;

	if (!c->blksize || (c->blksize & (c->blksize - 1)) || !c->assoc ||
	    c->size % (c->assoc * c->blksize)) {
		fprintf(stderr, "cache: %s: the size (%" PRIu64 ") must be a multiple of "
			"assoc (%" PRIu64 ") times the block size (%" PRIu64 "), a power of two\n",
			name, c->size, c->assoc, c->blksize);
		return false;
	}
	nsets = c->size / (c->assoc * c->blksize);
	if (!nsets || (nsets & (nsets - 1))) {
		fprintf(stderr, "cache: %s: %" PRIu64 " sets is not a power of two\n", name, nsets);
		return false;
	}
	return true;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	static const struct {
		const char *key;
		uint64_t *val;
		bool l2;
	} nums[] = {
		{ "dcachesize", &dcfg.size, false }, { "dassoc", &dcfg.assoc, false },
		{ "dblksize", &dcfg.blksize, false }, { "icachesize", &icfg.size, false },
		{ "iassoc", &icfg.assoc, false }, { "iblksize", &icfg.blksize, false },
		{ "l2cachesize", &l2cfg.size, true }, { "l2assoc", &l2cfg.assoc, true },
		{ "l2blksize", &l2cfg.blksize, true },
	};

	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i], *eq = strchr(opt, '=');
		bool ok = false;

		if (!eq)
			goto bad;
		for (size_t k = 0; k < G_N_ELEMENTS(nums); k++) {
			if (strlen(nums[k].key) != (size_t)(eq - opt) ||
			    strncmp(opt, nums[k].key, eq - opt))
				continue;
			char *end;
			*nums[k].val = strtoull(eq + 1, &end, 0);
			ok = end != eq + 1 && !*end;
			use_l2 |= nums[k].l2;
		}
		if (!strncmp(opt, "l2=", 3)) {
			ok = qemu_plugin_bool_parse("l2", eq + 1, &use_l2);
		} else if (!strncmp(opt, "evict=", 6)) {
			ok = true;
			if (!strcmp(eq + 1, "lru"))
				policy = EVICT_LRU;
			else if (!strcmp(eq + 1, "fifo"))
				policy = EVICT_FIFO;
			else if (!strcmp(eq + 1, "rand"))
				policy = EVICT_RAND;
			else
				ok = false;
		} else if (!strncmp(opt, "limit=", 6)) {
			char *end;
			limit = strtol(eq + 1, &end, 0);
			ok = end != eq + 1 && !*end && limit >= 0;
		}
		if (ok)
			continue;
bad:
		fprintf(stderr, "cache: bad option '%s' (see the top of plugins/cache.c)\n", opt);
		return -1;
	}
	if (!check_cfg("L1D", &dcfg) || !check_cfg("L1I", &icfg) ||
	    (use_l2 && !check_cfg("L2", &l2cfg)))
		return -1;
	cores = qemu_plugin_scoreboard_new(sizeof(struct core));
	recs = g_hash_table_new(g_int64_hash, g_int64_equal);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
