/*
 * The coverage library as the recorder will use it: many modules, tens of
 * thousands of block additions with duplicates, by module offset and by
 * address.  Checks the model in-process against a plain list of what was
 * added, then writes OUTDIR/{lib.drcov,lib.modoff,lib.bitmap} and
 * OUTDIR/truth.txt (the expected modules and blocks, printed with printf
 * from that plain list, not by covfile) for tests/cov/drcov.py to compare.
 *
 *   covtest OUTDIR     prints checks that fail and "N passed, N failed"
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "instrument/covfile.h"

static int passed, failed;
#define CHECK(c) do { if (c) passed++; else { failed++; \
	fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); } } while (0)

static const struct { const char *path; uint64_t base, end, entry; } mods[] = {
	{ "/usr/bin/prog", 0x555555554000, 0x55555555a000, 0x555555555040 },
	{ "/lib/x86_64-linux-gnu/libc.so.6", 0x7ffff7d80000, 0x7ffff7f95000, 0 },
	{ "/opt/other/libc.so.6", 0x7ffff7a00000, 0x7ffff7a80000, 0 },
	{ "/usr/bin/prog", 0x7ffff7000000, 0x7ffff7006000, 0 },	/* mapped twice */
	{ "/tmp/with space/libsp.so", 0x7ffff6000000, 0x7ffff6010000, 0 },
	{ "/lib64/ld-linux-x86-64.so.2", 0x7ffff7fc0000, 0x7ffff7ff0000, 0 },	/* no blocks */
};
#define NMODS (sizeof(mods) / sizeof(mods[0]))

struct raw { uint32_t mod; uint64_t off; uint32_t size; };

static int raw_cmp(const void *a, const void *b)
{
	const struct raw *x = a, *y = b;
	if (x->mod != y->mod)
		return x->mod < y->mod ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static uint64_t rng = 0x1234567;
static uint32_t rnd(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng >> 33);
}

int main(int argc, char **argv)
{
	char path[4096], err[1024];
	if (argc != 2) {
		fprintf(stderr, "usage: covtest OUTDIR\n");
		return 2;
	}
	const char *dir = argv[1];
	struct cov_model *m = cov_new();
	for (size_t i = 0; i < NMODS; i++)
		CHECK(cov_add_module(m, mods[i].path, mods[i].base, mods[i].end, mods[i].entry) == (int)i);

	/* 200k additions drawn from ~3000 distinct offsets per module. */
	enum { N = 200000 };
	struct raw *raw = malloc(N * sizeof(*raw));
	size_t nraw = 0, outside = 0;
	size_t addfail = 0;
	clock_t t0 = clock();
	for (int i = 0; i < N; i++) {
		uint32_t mod = rnd() % 5;
		uint64_t span = mods[mod].end - mods[mod].base;
		uint64_t off = (rnd() % 3000) * 7 % span;
		uint32_t size = 1 + off % 61;	/* one size per offset */
		if (i % 97 == 0) {		/* somewhere no module is */
			addfail += cov_add_addr(m, 0x1000 + i, 4, 1) != 0;
			outside++;
			continue;
		}
		if (i % 2)
			addfail += cov_add_addr(m, mods[mod].base + off, size, 1) != 1;
		else
			addfail += cov_add_block(m, mod, off, size, 1) != 0;
		/* both mappings of /usr/bin/prog are module 0's file, but
		 * cov_add_addr keeps them apart: they are two modules */
		raw[nraw++] = (struct raw){ mod, off, size };
	}
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	CHECK(addfail == 0);
	printf("%d additions in %.1f ms: %.0f ns each\n", N, secs * 1e3, secs * 1e9 / N);
	CHECK(secs < 2.0);	/* ~75 ns an addition, on a busy machine */
	qsort(raw, nraw, sizeof(*raw), raw_cmp);
	size_t nuniq = 0;
	uint64_t *hits = calloc(nraw, sizeof(*hits));
	for (size_t i = 0; i < nraw; i++) {
		if (nuniq && raw[nuniq - 1].mod == raw[i].mod && raw[nuniq - 1].off == raw[i].off) {
			hits[nuniq - 1]++;
			continue;
		}
		raw[nuniq] = raw[i];
		hits[nuniq++] = 1;
	}
	CHECK(m->nblocks == nuniq);
	CHECK(m->skipped == outside);
	CHECK(m->has_hits);
	size_t bad = 0;
	for (size_t i = 0; i < nuniq; i++) {
		struct cov_block *b = cov_lookup(m, raw[i].mod, raw[i].off);
		if (!b || b->size != raw[i].size || b->hits != hits[i])
			bad++;
	}
	CHECK(bad == 0);
	CHECK(cov_lookup(m, 5, 0) == NULL);

	/* Names: basename; a second path with that basename gets "#2"; a
	 * second mapping of one path shares its name. */
	CHECK(!strcmp(cov_module_name(m, 0), "prog"));
	CHECK(!strcmp(cov_module_name(m, 1), "libc.so.6"));
	CHECK(!strcmp(cov_module_name(m, 2), "libc.so.6#2"));
	CHECK(!strcmp(cov_module_name(m, 3), "prog"));
	CHECK(!strcmp(cov_module_name(m, 4), "libsp.so"));
	CHECK(cov_find_module(m, mods[2].base + 5) == 2);
	CHECK(cov_find_module(m, mods[2].end) == -1);
	/* A range mapped again belongs to the newer module. */
	struct cov_model *ov = cov_new();
	cov_add_module(ov, "/old.so", 0x10000, 0x20000, 0);
	CHECK(cov_find_module(ov, 0x18000) == 0);
	cov_add_module(ov, "/new.so", 0x18000, 0x28000, 0);
	CHECK(cov_find_module(ov, 0x10000) == 0);
	CHECK(cov_find_module(ov, 0x18000) == 1);
	CHECK(cov_find_module(ov, 0x27fff) == 1);
	CHECK(cov_find_module(ov, 0x28000) == -1);
	cov_free(ov);

	/* Sorting keeps every block findable. */
	CHECK(cov_sort(m) == 0);
	bad = 0;
	for (size_t i = 0; i < nuniq; i++)
		if (!cov_lookup(m, raw[i].mod, raw[i].off))
			bad++;
	CHECK(bad == 0);
	for (size_t i = 1; i < m->nblocks; i++)
		if (m->blocks[i - 1].mod > m->blocks[i].mod ||
		    (m->blocks[i - 1].mod == m->blocks[i].mod && m->blocks[i - 1].off >= m->blocks[i].off))
			bad++;
	CHECK(bad == 0);

	/* The files, then the truth beside them. */
	static const char *const names[] = { "lib.drcov", "lib.modoff", "lib.bitmap" };
	static const enum cov_format fmts[] = { COV_DRCOV, COV_MODOFF, COV_BITMAP };
	struct cov_write_opts wo = { .module = "libc.so.6", .granularity = 16 };
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		int r = cov_write(m, fmts[i], path, &wo, err, sizeof(err));
		if (r)
			fprintf(stderr, "%s\n", err);
		CHECK(r == 0);
	}
	snprintf(path, sizeof(path), "%s/truth.txt", dir);
	FILE *f = fopen(path, "w");
	for (size_t i = 0; i < NMODS; i++)
		fprintf(f, "M %zu 0x%llx 0x%llx 0x%llx %s\n", i, (unsigned long long)mods[i].base,
			(unsigned long long)mods[i].end, (unsigned long long)mods[i].entry, mods[i].path);
	for (size_t i = 0; i < nuniq; i++)
		fprintf(f, "B %u 0x%llx %u\n", raw[i].mod, (unsigned long long)raw[i].off, raw[i].size);
	fclose(f);

	/* Reading the drcov back gives the same model. */
	snprintf(path, sizeof(path), "%s/lib.drcov", dir);
	struct cov_model *r = cov_read(path, err, sizeof(err));
	CHECK(r != NULL);
	if (r) {
		CHECK(r->format == COV_DRCOV);
		CHECK(r->nmods == NMODS);
		CHECK(r->nblocks == nuniq);
		bad = 0;
		for (size_t i = 0; i < nuniq; i++) {
			struct cov_block *b = cov_lookup(r, raw[i].mod, raw[i].off);
			if (!b || b->size != raw[i].size)
				bad++;
		}
		CHECK(bad == 0);
		for (size_t i = 0; i < NMODS; i++)
			CHECK(!strcmp(r->mods[i].path, mods[i].path) && r->mods[i].base == mods[i].base &&
			      r->mods[i].end == mods[i].end && r->mods[i].entry == mods[i].entry);
		/* Merging a model into a copy of itself changes nothing but hits. */
		struct cov_model *c = cov_new();
		CHECK(cov_merge(c, r) == 0 && cov_merge(c, r) == 0);
		/* prog's two mappings share a path, so merging joins them */
		size_t prog = 0;
		for (size_t i = 0; i < nuniq; i++)
			prog += raw[i].mod == 0 || raw[i].mod == 3;
		size_t joined = 0;
		for (size_t i = 0; i < nuniq; i++)
			if (raw[i].mod == 3 && cov_lookup(r, 0, raw[i].off))
				joined++;
		CHECK(c->nmods == NMODS - 1);
		CHECK(c->nblocks == nuniq - joined);
		cov_free(c);
		cov_free(r);
	}

	/* Errors: one line naming the file. */
	CHECK(cov_write(m, COV_DRCOV, "/nonexistent-dir/x.drcov", NULL, err, sizeof(err)) == -1);
	CHECK(!strncmp(err, "/nonexistent-dir/x.drcov: ", 26) && !strchr(err, '\n'));
	CHECK(cov_read("/nonexistent-dir/x.drcov", err, sizeof(err)) == NULL);
	CHECK(!strncmp(err, "/nonexistent-dir/x.drcov: ", 26) && !strchr(err, '\n'));
	CHECK(cov_add_block(m, NMODS, 0, 1, 0) == -1);
	/* drcov's 16-bit size: a larger block is refused, not cut */
	struct cov_model *big = cov_new();
	cov_add_module(big, "/x", 0x1000, 0x100000, 0);
	cov_add_block(big, 0, 0x10, 70000, 0);
	snprintf(path, sizeof(path), "%s/big.drcov", dir);
	CHECK(cov_write(big, COV_DRCOV, path, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "16-bit size") != NULL);
	f = fopen(path, "r");
	CHECK(f == NULL);	/* and nothing is left behind */
	if (f)
		fclose(f);
	cov_free(big);

	/* Clearing keeps the modules and forgets the blocks. */
	cov_clear(m);
	CHECK(m->nblocks == 0 && m->nmods == NMODS && m->skipped == 0);
	CHECK(cov_lookup(m, raw[0].mod, raw[0].off) == NULL);
	CHECK(cov_add_block(m, raw[0].mod, raw[0].off, 3, 0) == 0);
	CHECK(m->nblocks == 1 && cov_lookup(m, raw[0].mod, raw[0].off)->size == 3);

	free(raw);
	free(hits);
	cov_free(m);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
