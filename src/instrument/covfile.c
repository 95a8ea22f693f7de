/*
 * The coverage model (modules and deduplicated blocks) and its drcov,
 * modoff, bitmap and lcov files.  The formats are described in
 * docs/coverage.md; this file follows that page, and the drcov parts follow
 * what DynamoRIO's drcov writes and what its drcov2lcov and Lighthouse read.
 *
 * Blocks live in one array with an open-addressing hash of (module, offset)
 * beside it, so the recorder's many cov_add_block calls are O(1) and
 * duplicates never reach a file.  Invariant: slots[] always indexes every
 * block exactly once; anything that moves blocks (cov_sort) rebuilds it.
 *
 * Writers go through a temporary file (PATH.tmp.PID.N), fsync it and
 * rename(2) it into place, so a reader never sees a half-written file.
 * Readers load the whole file and report the first problem as
 * "PATH: line N: ..." or "PATH: offset N: ...".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "instrument/covfile.h"
#include "util/ownfd.h"
#include "util/log.h"

#define DRCOV_FLAVOR "drcov-64"		/* what drcov2lcov on x86-64 Linux wants */
#define BITMAP_MAGIC "LOOM BITMAP: version 1"
#define MAX_BITMAP_BITS (1ull << 34)	/* 2 GiB of bits: a typo, not a range */

/* ---- the model ---- */

struct cov_model *cov_new(void)
{
	return calloc(1, sizeof(struct cov_model));
}

void cov_free(struct cov_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nmods; i++) {
		free(m->mods[i].path);
		free(m->mods[i].name);
	}
	free(m->mods);
	free(m->blocks);
	free(m->slots);
	free(m);
}

void cov_clear(struct cov_model *m)
{
	m->nblocks = 0;
	m->skipped = 0;
	m->has_hits = false;
	if (m->slots)
		memset(m->slots, 0, m->nslots * sizeof(*m->slots));
}

void *cov_grow(void *arr, size_t *cap, size_t elem, size_t first)
{
	size_t n = *cap ? 2 * *cap : first;
	void *p = realloc(arr, n * elem);
	if (p)
		*cap = n;
	return p;
}

int cov_add_module(struct cov_model *m, const char *path, uint64_t base,
		   uint64_t end, uint64_t entry)
{
	if (m->nmods >= UINT32_MAX)
		return -1;
	if (m->nmods == m->mods_cap) {
		struct cov_module *p = cov_grow(m->mods, &m->mods_cap, sizeof(*p), 16);
		if (!p)
			return -1;
		m->mods = p;
	}
	struct cov_module *mod = &m->mods[m->nmods];
	memset(mod, 0, sizeof(*mod));
	mod->path = strdup(path ? path : "");
	if (!mod->path)
		return -1;
	mod->base = base;
	mod->end = end;
	mod->entry = entry;
	for (size_t i = 0; i < m->nmods && !m->overlaps; i++)
		m->overlaps = base < m->mods[i].end && m->mods[i].base < end;
	m->names_valid = false;
	return (int)m->nmods++;
}

int cov_find_module(struct cov_model *m, uint64_t addr)
{
	size_t g = m->last_mod;
	if (!m->overlaps && g < m->nmods && addr >= m->mods[g].base && addr < m->mods[g].end)
		return (int)g;
	/* Newest first: a range mapped again belongs to its latest module. */
	for (size_t i = m->nmods; i-- > 0; ) {
		if (addr >= m->mods[i].base && addr < m->mods[i].end) {
			m->last_mod = i;
			return (int)i;
		}
	}
	return -1;
}

static size_t slot_of(const struct cov_model *m, uint32_t mod, uint64_t off)
{
	uint64_t h = off * 0x9e3779b97f4a7c15ull ^ (mod + 1) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	return (size_t)h & (m->nslots - 1);
}

static void hash_insert(struct cov_model *m, size_t idx)
{
	const struct cov_block *b = &m->blocks[idx];
	size_t s = slot_of(m, b->mod, b->off);
	while (m->slots[s])
		s = (s + 1) & (m->nslots - 1);
	m->slots[s] = (uint32_t)idx + 1;
}

static int hash_rebuild(struct cov_model *m, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -1;
	free(m->slots);
	m->slots = slots;
	m->nslots = nslots;
	for (size_t i = 0; i < m->nblocks; i++)
		hash_insert(m, i);
	return 0;
}

struct cov_block *cov_lookup(struct cov_model *m, uint32_t mod, uint64_t off)
{
	if (!m->nslots)
		return NULL;
	for (size_t s = slot_of(m, mod, off); m->slots[s]; s = (s + 1) & (m->nslots - 1)) {
		struct cov_block *b = &m->blocks[m->slots[s] - 1];
		if (b->mod == mod && b->off == off)
			return b;
	}
	return NULL;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

int cov_add_block(struct cov_model *m, uint32_t mod, uint64_t off,
		  uint32_t size, uint64_t hits)
{
	if (mod >= m->nmods)
		return -1;
	if (hits)
		m->has_hits = true;
	struct cov_block *b = cov_lookup(m, mod, off);
	if (b) {
		if (size > b->size)
			b->size = size;
		b->hits = add_sat(b->hits, hits);
		return 0;
	}
	if (m->nblocks >= UINT32_MAX - 1)
		return -1;
	/* Keep the hash at most half full. */
	if (2 * (m->nblocks + 1) > m->nslots &&
	    hash_rebuild(m, m->nslots ? 2 * m->nslots : 1024) < 0)
		return -1;
	if (m->nblocks == m->blocks_cap) {
		struct cov_block *p = cov_grow(m->blocks, &m->blocks_cap, sizeof(*p), 512);
		if (!p)
			return -1;
		m->blocks = p;
	}
	m->blocks[m->nblocks] = (struct cov_block){ .off = off, .mod = mod,
						    .size = size, .hits = hits };
	hash_insert(m, m->nblocks++);
	return 0;
}

int cov_add_addr(struct cov_model *m, uint64_t addr, uint32_t size, uint64_t hits)
{
	int mod = cov_find_module(m, addr);
	if (mod < 0) {
		m->skipped++;
		return 0;
	}
	return cov_add_block(m, mod, addr - m->mods[mod].base, size, hits) < 0 ? -1 : 1;
}

/* Windows paths in drcov files name modules by what follows a backslash,
 * as Lighthouse does. */
static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/'), *b = strrchr(path, '\\');
	if (b > s)
		s = b;
	return s && s[1] ? s + 1 : path;
}

/* A module's name before "#N": its file's basename, or for loom-system's
 * "comm[pid]:/path" (system/syscov.c) "comm[pid]:basename", so that one
 * file run by two processes has two names.  Malloc'd, NULL when out of
 * memory. */
static char *plain_name(const struct cov_module *mod)
{
	if (mod->no_path)
		return strdup(mod->path);
	const char *bn = base_name(mod->path), *sep = strstr(mod->path, "]:/");
	char *name = NULL;
	if (!sep)
		return strdup(bn);
	if (asprintf(&name, "%.*s:%s", (int)(sep + 1 - mod->path), mod->path, bn) < 0)
		return NULL;
	return name;
}

/* Names depend on every module before, so they are computed all at once. */
static int compute_names(struct cov_model *m)
{
	char **plain = calloc(m->nmods + 1, sizeof(*plain));
	int r = plain ? 0 : -1;
	for (size_t i = 0; !r && i < m->nmods; i++)
		if (!(plain[i] = plain_name(&m->mods[i])))
			r = -1;
	for (size_t i = 0; !r && i < m->nmods; i++) {
		struct cov_module *mod = &m->mods[i];
		const char *bn = plain[i];
		char *name = NULL;
		unsigned k = 0;	/* earlier distinct paths with this name */
		for (size_t j = 0; j < i && !name; j++) {
			struct cov_module *o = &m->mods[j];
			if (!strcmp(o->path, mod->path) && o->no_path == mod->no_path) {
				name = strdup(o->name);
				break;
			}
		}
		for (size_t j = 0; j < i && !name; j++) {
			struct cov_module *o = &m->mods[j];
			if (strcmp(plain[j], bn))
				continue;
			bool first = true;	/* o's path not seen before j */
			for (size_t l = 0; l < j; l++)
				if (!strcmp(m->mods[l].path, o->path))
					first = false;
			k += first;
		}
		if (!name) {
			if (k == 0 || mod->no_path)
				name = strdup(bn);
			else if (asprintf(&name, "%s#%u", bn, k + 1) < 0)
				name = NULL;
		}
		if (!name) {
			r = -1;
			break;
		}
		free(mod->name);
		mod->name = name;
	}
	for (size_t i = 0; plain && i < m->nmods; i++)
		free(plain[i]);
	free(plain);
	if (r < 0)
		return -1;
	m->names_valid = true;
	return 0;
}

const char *cov_module_name(struct cov_model *m, uint32_t mod)
{
	if (mod >= m->nmods)
		return NULL;
	if (!m->names_valid && compute_names(m) < 0)
		return NULL;
	return m->mods[mod].name;
}

static int block_cmp(const void *a, const void *b)
{
	const struct cov_block *x = a, *y = b;
	if (x->mod != y->mod)
		return x->mod < y->mod ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

int cov_sort(struct cov_model *m)
{
	if (m->nblocks)	/* an empty model has no array (the file written at start) */
		qsort(m->blocks, m->nblocks, sizeof(*m->blocks), block_cmp);
	return m->nslots ? hash_rebuild(m, m->nslots) : 0;
}

int cov_same_module(struct cov_model *a, uint32_t i, struct cov_model *b, uint32_t j)
{
	const struct cov_module *x = &a->mods[i], *y = &b->mods[j];
	if (!x->no_path && !y->no_path)
		return !strcmp(x->path, y->path);
	const char *xn = cov_module_name(a, i), *yn = cov_module_name(b, j);
	if (!xn || !yn)
		return -1;
	return !strcmp(xn, yn);
}

int cov_merge(struct cov_model *dst, struct cov_model *src)
{
	uint32_t *map = calloc(src->nmods + 1, sizeof(*map));
	if (!map)
		return -1;
	for (size_t i = 0; i < src->nmods; i++) {
		struct cov_module *s = &src->mods[i];
		int found = -1;
		for (size_t j = 0; j < dst->nmods && found < 0; j++) {
			int same = cov_same_module(src, i, dst, j);
			if (same < 0)
				goto fail;
			if (same)
				found = (int)j;
		}
		if (found < 0) {
			found = cov_add_module(dst, s->path, s->base, s->end, s->entry);
			if (found < 0)
				goto fail;
			dst->mods[found].no_path = s->no_path;
		}
		map[i] = (uint32_t)found;
	}
	for (size_t i = 0; i < src->nblocks; i++) {
		struct cov_block *b = &src->blocks[i];
		if (cov_add_block(dst, map[b->mod], b->off, b->size, b->hits) < 0)
			goto fail;
	}
	dst->skipped += src->skipped;
	free(map);
	return 0;
fail:
	free(map);
	return -1;
}

static const char *const format_names[COV_NFORMATS] = {
	[COV_DRCOV] = "drcov", [COV_MODOFF] = "modoff",
	[COV_LCOV] = "lcov", [COV_BITMAP] = "bitmap",
};

int cov_format_parse(const char *name)
{
	for (int i = 0; i < COV_NFORMATS; i++)
		if (!strcmp(name, format_names[i]))
			return i;
	return -1;
}

const char *cov_format_name(enum cov_format fmt)
{
	return fmt < COV_NFORMATS ? format_names[fmt] : "?";
}

/* ---- writing ---- */

struct out {
	FILE *f;
	char *tmp;
	const char *path;
	const int *fd;	/* the stream's descriptor, one of loom's: its number
			 * may change while the guest runs (util/ownfd.h) */
};

static int out_open(struct out *o, const char *path, char *err, size_t errsz)
{
	static unsigned seq;	/* two threads writing one path get two names */
	o->path = path;
	o->f = NULL;
	if (asprintf(&o->tmp, "%s.tmp.%ld.%u", path, (long)getpid(),
		     __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED)) < 0) {
		o->tmp = NULL;
		return fail_msg(err, errsz, "%s: out of memory", path);
	}
	/* One of loom's descriptors (util/ownfd.h), kept out of the guest's
	 * sight: loom may write these while its guest runs, and the guest's
	 * next open() should get the number it would get natively. */
	int fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	int e = errno;
	if (fd >= 0) {
		o->f = ownfd_fdopen_live(fd, "wb", &o->fd);
		e = errno;
	}
	if (!o->f) {
		if (fd >= 0)
			unlink(o->tmp);
		free(o->tmp);
		return fail_msg(err, errsz, "%s: cannot create: %s", path, strerror(e));
	}
	return 0;
}

/* Finishes (ok) or abandons the file; the temporary never stays behind. */
static int out_close(struct out *o, bool ok, bool sync, char *err, size_t errsz)
{
	int ret = ok ? 0 : -1;
	if (ok && (fflush(o->f) || ferror(o->f) || (sync && fsync(*o->fd)))) {
		fail_msg(err, errsz, "%s: write error: %s", o->path, strerror(errno));
		ret = -1;
	}
	if (fclose(o->f) && ret == 0)
		ret = fail_msg(err, errsz, "%s: write error: %s", o->path, strerror(errno));
	if (ret == 0 && rename(o->tmp, o->path))
		ret = fail_msg(err, errsz, "%s: cannot rename %s into place: %s",
			    o->path, o->tmp, strerror(errno));
	if (ret)
		unlink(o->tmp);
	free(o->tmp);
	return ret;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* DynamoRIO's drcov: module table version 2 as written on Linux (no
 * checksum or timestamp columns), ids 0..N-1 in table order, end
 * exclusive, then "BB Table: N bbs" and N 8-byte little-endian entries
 * start(u32), size(u16), mod_id(u16). */
static int write_drcov(struct cov_model *m, struct out *o, char *err, size_t errsz)
{
	if (m->nmods > 0xffff)
		return fail_msg(err, errsz, "%s: %zu modules; drcov holds at most 65535",
			     o->path, m->nmods);
	for (size_t i = 0; i < m->nblocks; i++) {
		const struct cov_block *b = &m->blocks[i];
		const char *name = cov_module_name(m, b->mod);
		if (b->off > UINT32_MAX || b->size > 0xffff)
			return fail_msg(err, errsz, "%s: block %s+0x%llx of %u bytes does not fit "
				     "drcov's 32-bit offset and 16-bit size", o->path,
				     name ? name : "?", (unsigned long long)b->off, b->size);
	}
	for (size_t i = 0; i < m->nmods; i++)
		if (strchr(m->mods[i].path, '\n'))
			return fail_msg(err, errsz, "%s: module path with a newline", o->path);
	if (m->nblocks > UINT32_MAX)
		return fail_msg(err, errsz, "%s: too many blocks for drcov", o->path);
	fprintf(o->f, "DRCOV VERSION: 2\nDRCOV FLAVOR: %s\n", DRCOV_FLAVOR);
	fprintf(o->f, "Module Table: version 2, count %zu\n", m->nmods);
	fprintf(o->f, "Columns: id, base, end, entry, path\n");
	for (size_t i = 0; i < m->nmods; i++) {
		const struct cov_module *mod = &m->mods[i];
		fprintf(o->f, "%3zu, 0x%016llx, 0x%016llx, 0x%016llx, %s\n", i,
			(unsigned long long)mod->base, (unsigned long long)mod->end,
			(unsigned long long)mod->entry, mod->path[0] ? mod->path : "<unknown>");
	}
	fprintf(o->f, "BB Table: %zu bbs\n", m->nblocks);
	for (size_t i = 0; i < m->nblocks; i++) {
		uint8_t e[8];
		put_le(e, m->blocks[i].off, 4);
		put_le(e + 4, m->blocks[i].size, 2);
		put_le(e + 6, m->blocks[i].mod, 2);
		fwrite(e, 1, sizeof(e), o->f);
	}
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "name+0xoffset", offsets zero-padded to 8 digits so that byte order
 * (LC_ALL=C sort) and numeric order agree within a module. */
static int write_modoff(struct cov_model *m, struct out *o, char *err, size_t errsz)
{
	char **lines = calloc(m->nblocks + 1, sizeof(*lines));
	size_t n = 0;
	int ret = -1;
	if (!lines)
		return fail_msg(err, errsz, "%s: out of memory", o->path);
	for (size_t i = 0; i < m->nblocks; i++) {
		const char *name = cov_module_name(m, m->blocks[i].mod);
		if (!name || strchr(name, '\n')) {
			fail_msg(err, errsz, "%s: %s", o->path,
			      name ? "module name with a newline" : "out of memory");
			goto out;
		}
		if (asprintf(&lines[n], "%s+0x%08llx", name,
			     (unsigned long long)m->blocks[i].off) < 0) {
			fail_msg(err, errsz, "%s: out of memory", o->path);
			goto out;
		}
		n++;
	}
	qsort(lines, n, sizeof(*lines), str_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(lines[i], lines[i - 1]))
			fprintf(o->f, "%s\n", lines[i]);
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return ret;
}

/* A bitmap's shape: bit i (bit i%8 of byte i/8) stands for [start +
 * i*granularity, start + (i+1)*granularity), an offset within module or,
 * with module NULL, an address. */
struct cov_bitmap {
	const char *module;
	uint64_t start, size;
	unsigned granularity;
};

static void bitmap_header(FILE *f, const struct cov_bitmap *bm, uint64_t nbits)
{
	fprintf(f, "%s\n", BITMAP_MAGIC);
	if (bm->module)
		fprintf(f, "Module: %s\n", bm->module);
	else
		fprintf(f, "Addresses: absolute\n");
	fprintf(f, "Start: 0x%llx\nSize: 0x%llx\nGranularity: %u\nBits: %llu\n",
		(unsigned long long)bm->start, (unsigned long long)bm->size,
		bm->granularity, (unsigned long long)nbits);
}

static int check_bitmap(const struct cov_bitmap *bm, const char *path,
			uint64_t *nbits, char *err, size_t errsz)
{
	if (!bm->granularity)
		return fail_msg(err, errsz, "%s: bitmap granularity 0", path);
	if (bm->module && (strchr(bm->module, '\n') || !bm->module[0]))
		return fail_msg(err, errsz, "%s: bad bitmap module name", path);
	*nbits = bm->size / bm->granularity + (bm->size % bm->granularity != 0);
	if (*nbits == 0 || *nbits > MAX_BITMAP_BITS)
		return fail_msg(err, errsz, "%s: bitmap of 0x%llx bytes at granularity %u: "
			     "empty or too large", path, (unsigned long long)bm->size,
			     bm->granularity);
	return 0;
}

/* Sets the bits of granules that [lo, hi) touches inside [start, start+size). */
static void mark(uint8_t *bits, const struct cov_bitmap *bm, uint64_t lo, uint64_t hi)
{
	uint64_t end = bm->start + bm->size;
	if (hi <= bm->start || lo >= end)
		return;
	if (lo < bm->start)
		lo = bm->start;
	if (hi > end)
		hi = end;
	for (uint64_t g = (lo - bm->start) / bm->granularity;
	     g <= (hi - 1 - bm->start) / bm->granularity; g++)
		bits[g / 8] |= 1u << (g % 8);
}

static bool module_matches(struct cov_model *m, size_t i, const char *which)
{
	const char *name = cov_module_name(m, i);
	return !strcmp(m->mods[i].path, which) || (name && !strcmp(name, which));
}

int cov_find_module_named(struct cov_model *m, const char *which)
{
	for (size_t i = 0; i < m->nmods; i++)
		if (module_matches(m, i, which))
			return (int)i;
	return -1;
}

static int write_bitmap(struct cov_model *m, struct out *o,
			const struct cov_write_opts *opts, char *err, size_t errsz)
{
	struct cov_bitmap bm = { .module = opts ? opts->module : NULL,
				 .granularity = opts && opts->granularity ? opts->granularity : 16 };
	uint64_t nbits = 0;	/* set by check_bitmap */
	bool any = false;
	if (!opts || (!opts->module && opts->end <= opts->start))
		return fail_msg(err, errsz, "%s: a bitmap needs a module or an address range",
			     o->path);
	bm.start = opts->start;
	if (bm.module) {
		uint64_t end = opts->end;
		for (size_t i = 0; i < m->nmods; i++) {
			if (!module_matches(m, i, bm.module))
				continue;
			any = true;
			bm.module = m->mods[i].path;	/* a name becomes the path */
			if (!opts->end && m->mods[i].end > m->mods[i].base &&
			    m->mods[i].end - m->mods[i].base > end)
				end = m->mods[i].end - m->mods[i].base;
		}
		if (!any)
			return fail_msg(err, errsz, "%s: no module '%s' in the coverage",
				     o->path, opts->module);
		if (!opts->end)	/* the module's size, or as far as its blocks go */
			for (size_t i = 0; i < m->nblocks; i++)
				if (module_matches(m, m->blocks[i].mod, opts->module) &&
				    m->blocks[i].off + (m->blocks[i].size ? m->blocks[i].size : 1) > end)
					end = m->blocks[i].off + (m->blocks[i].size ? m->blocks[i].size : 1);
		if (end <= bm.start)
			return fail_msg(err, errsz, "%s: empty range in module '%s'", o->path,
				     opts->module);
		bm.size = end - bm.start;
	} else {
		bm.size = opts->end - opts->start;
	}
	if (check_bitmap(&bm, o->path, &nbits, err, errsz) < 0)
		return -1;
	uint8_t *bits = calloc((nbits + 7) / 8, 1);
	if (!bits)
		return fail_msg(err, errsz, "%s: out of memory for %llu bits", o->path,
			     (unsigned long long)nbits);
	for (size_t i = 0; i < m->nblocks; i++) {
		const struct cov_block *b = &m->blocks[i];
		const struct cov_module *mod = &m->mods[b->mod];
		uint64_t lo = b->off;
		if (bm.module) {
			if (!module_matches(m, b->mod, opts->module))
				continue;
		} else {
			if (mod->end <= mod->base)	/* where it was is unknown */
				continue;
			lo += mod->base;
		}
		mark(bits, &bm, lo, lo + (b->size ? b->size : 1));
	}
	bitmap_header(o->f, &bm, nbits);
	fwrite(bits, 1, (nbits + 7) / 8, o->f);
	free(bits);
	return 0;
}

int cov_write(struct cov_model *m, enum cov_format fmt, const char *path,
	      const struct cov_write_opts *opts, char *err, size_t errsz)
{
	struct out o;
	int ret;
	if (fmt >= COV_NFORMATS)
		return fail_msg(err, errsz, "%s: unknown format", path);
	if (cov_sort(m) < 0 || (!m->names_valid && compute_names(m) < 0))
		return fail_msg(err, errsz, "%s: out of memory", path);
	if (out_open(&o, path, err, errsz) < 0)
		return -1;
	switch (fmt) {
	case COV_DRCOV:
		ret = write_drcov(m, &o, err, errsz);
		break;
	case COV_MODOFF:
		ret = write_modoff(m, &o, err, errsz);
		break;
	case COV_BITMAP:
		ret = write_bitmap(m, &o, opts, err, errsz);
		break;
	default:
		ret = cov_write_lcov(m, o.f, opts, path, err, errsz);
		break;
	}
	return out_close(&o, ret == 0, !(opts && opts->no_fsync), err, errsz);
}

int cov_probe_path(const char *path, char *err, size_t errsz)
{
	struct out o;
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return fail_msg(err, errsz, "%s: is a directory", path);
	if (out_open(&o, path, err, errsz) < 0)
		return -1;
	fclose(o.f);
	unlink(o.tmp);
	free(o.tmp);
	return 0;
}

/* ---- reading ---- */

struct in {
	const char *path;
	const char *buf;	/* the whole file, NUL-terminated */
	size_t len, pos;
	unsigned line;		/* of the line last returned */
	char *err;
	size_t errsz;
};

static int in_fail(struct in *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int in_fail(struct in *in, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fail_msg(in->err, in->errsz, "%s: line %u: %s", in->path, in->line, msg);
}

/* The next line without its "\n" (and "\r"), copied into line[]; false at
 * the end of the file.  A line too long for the buffer is an error. */
static bool next_line(struct in *in, char *line, size_t size, int *bad)
{
	*bad = 0;
	if (in->pos >= in->len)
		return false;
	const char *s = in->buf + in->pos;
	const char *nl = memchr(s, '\n', in->len - in->pos);
	size_t n = nl ? (size_t)(nl - s) : in->len - in->pos;
	in->pos += n + (nl != NULL);
	in->line++;
	if (n && s[n - 1] == '\r')
		n--;
	if (n >= size || memchr(s, '\0', n)) {
		*bad = in_fail(in, n >= size ? "line too long" : "NUL byte in a text line");
		return false;
	}
	memcpy(line, s, n);
	line[n] = '\0';
	return true;
}

static bool need_line(struct in *in, char *line, size_t size, const char *what, int *bad)
{
	if (next_line(in, line, size, bad))
		return true;
	if (!*bad) {
		in->line++;
		*bad = in_fail(in, "file ends where %s was expected", what);
	}
	return false;
}

static char *skip_ws(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* A whole field as an unsigned number in base (0: C rules). */
static bool parse_u64(const char *s, int base, uint64_t *v)
{
	char *end;
	s = skip_ws((char *)s);
	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*v = strtoull(s, &end, base);
	end = skip_ws(end);
	return !errno && *end == '\0';
}

enum col { C_ID, C_CONTAINING, C_BASE, C_END, C_ENTRY, C_OFFSET, C_OTHER, C_PATH };

struct drmod {
	uint64_t base, end, entry;
	uint32_t containing;
	int model;		/* model module of the containing module */
};

static int read_drcov(struct in *in, struct cov_model *m)
{
	char line[8192];
	unsigned version, tversion, count;
	int bad;
	enum col cols[32];
	int ncols;
	struct drmod *mods = NULL;
	char tail[16];

	if (!need_line(in, line, sizeof(line), "the version", &bad))
		return bad;
	if (sscanf(line, "DRCOV VERSION: %u%1s", &version, tail) != 1)
		return in_fail(in, "expected 'DRCOV VERSION: N'");
	if (version != 2 && version != 3)
		return in_fail(in, "unsupported drcov version %u (2 and 3 are known)", version);
	if (!need_line(in, line, sizeof(line), "the flavor", &bad))
		return bad;
	if (strncmp(line, "DRCOV FLAVOR: ", 14))
		return in_fail(in, "expected 'DRCOV FLAVOR: ...'");
	if (!need_line(in, line, sizeof(line), "the module table", &bad))
		return bad;
	if (sscanf(line, "Module Table: version %u, count %u%1s", &tversion, &count, tail) == 2) {
		if (tversion < 2 || tversion > 5)
			return in_fail(in, "unsupported module table version %u", tversion);
	} else if (sscanf(line, "Module Table: %u%1s", &count, tail) == 1) {
		tversion = 1;
	} else {
		return in_fail(in, "expected 'Module Table: version N, count N'");
	}
	if (count > 0xffff)
		return in_fail(in, "%u modules; drcov ids are 16-bit", count);

	/* Columns are found by name; the path is the rest of the line. */
	if (tversion == 1) {
		static const enum col v1[] = { C_ID, C_END, C_PATH };
		memcpy(cols, v1, sizeof(v1));
		ncols = 3;
	} else {
		if (!need_line(in, line, sizeof(line), "the Columns line", &bad))
			return bad;
		if (strncmp(line, "Columns: ", 9))
			return in_fail(in, "expected 'Columns: ...'");
		ncols = 0;
		bool seen_base = false, seen_end = false;
		for (char *save, *c = strtok_r(line + 9, ",", &save); c;
		     c = strtok_r(NULL, ",", &save)) {
			c = skip_ws(c);
			trim_end(c);
			if (ncols == 32)
				return in_fail(in, "too many columns");
			enum col k = C_OTHER;
			if (!strcmp(c, "id"))
				k = C_ID;
			else if (!strcmp(c, "containing_id"))
				k = C_CONTAINING;
			else if (!strcmp(c, "base") || !strcmp(c, "start"))
				k = C_BASE, seen_base = true;
			else if (!strcmp(c, "end"))
				k = C_END, seen_end = true;
			else if (!strcmp(c, "entry"))
				k = C_ENTRY;
			else if (!strcmp(c, "path"))
				k = C_PATH;
			cols[ncols++] = k;
		}
		if (ncols < 2 || cols[0] != C_ID || cols[ncols - 1] != C_PATH ||
		    !seen_base || !seen_end)
			return in_fail(in, "columns must start with id, end with path and "
				       "include base (or start) and end");
	}

	mods = calloc(count + 1, sizeof(*mods));
	if (!mods)
		return in_fail(in, "out of memory");
	for (unsigned i = 0; i < count; i++) {
		char *p, *path = NULL;
		if (!need_line(in, line, sizeof(line), "a module line", &bad))
			goto fail_bad;
		p = line;
		mods[i].containing = i;
		for (int c = 0; c < ncols; c++) {
			if (cols[c] == C_PATH) {
				path = skip_ws(p);
				break;
			}
			char *comma = strchr(p, ',');
			uint64_t v;
			if (!comma) {
				bad = in_fail(in, "module line with fewer than %d fields", ncols);
				goto fail_bad;
			}
			*comma = '\0';
			int base = (cols[c] == C_ID || cols[c] == C_CONTAINING ||
				    (tversion == 1 && cols[c] == C_END)) ? 10 : 16;
			/* Some writers other than DynamoRIO say "-1": no container. */
			if (cols[c] == C_CONTAINING && !strcmp(skip_ws(p), "-1")) {
				p = comma + 1;
				continue;
			}
			if (cols[c] != C_OTHER && !parse_u64(p, base, &v)) {
				bad = in_fail(in, "bad number '%s' in module line", skip_ws(p));
				goto fail_bad;
			}
			switch (cols[c]) {
			case C_ID:
				if (v != i) {
					bad = in_fail(in, "module id %llu where %u was expected",
						      (unsigned long long)v, i);
					goto fail_bad;
				}
				break;
			case C_CONTAINING:
				if (v > i) {	/* the containing segment comes first */
					bad = in_fail(in, "containing_id %llu of module %u is not "
						      "an earlier module", (unsigned long long)v, i);
					goto fail_bad;
				}
				mods[i].containing = (uint32_t)v;
				break;
			case C_BASE: mods[i].base = v; break;
			case C_END: mods[i].end = v; break;
			case C_ENTRY: mods[i].entry = v; break;
			default: break;
			}
			p = comma + 1;
		}
		if (!path || !*path) {
			bad = in_fail(in, "module line without a path");
			goto fail_bad;
		}
		if (mods[i].end < mods[i].base) {
			bad = in_fail(in, "module end below its base");
			goto fail_bad;
		}
		/* Segments of one module share its path (DynamoRIO says so);
		 * writers that put 0 in every row's containing_id mean none. */
		struct drmod *top = &mods[mods[i].containing];
		if (top != &mods[i] && top->containing == mods[i].containing &&
		    strcmp(path, m->mods[top->model].path))
			top = &mods[i], mods[i].containing = i;
		if (top == &mods[i]) {
			int id = cov_add_module(m, path, mods[i].base, mods[i].end, mods[i].entry);
			if (id < 0) {
				bad = in_fail(in, "out of memory");
				goto fail_bad;
			}
			mods[i].model = id;
		} else {
			/* A later segment of a module: offsets are from its own
			 * start; the module grows to cover it. */
			if (top->containing != mods[i].containing || mods[i].base < top->base) {
				bad = in_fail(in, "segment of module %u below its base",
					      mods[i].containing);
				goto fail_bad;
			}
			mods[i].model = top->model;
			if (mods[i].end > m->mods[top->model].end)
				m->mods[top->model].end = mods[i].end;
		}
	}

	unsigned nbbs;
	if (!need_line(in, line, sizeof(line), "the BB table", &bad))
		goto fail_bad;
	if (sscanf(line, "BB Table: %u bbs%1s", &nbbs, tail) != 1) {
		bad = in_fail(in, "expected 'BB Table: N bbs'");
		goto fail_bad;
	}
	static const char text_hdr[] = "module id, start, size:";
	if (in->len - in->pos >= sizeof(text_hdr) - 1 &&
	    !memcmp(in->buf + in->pos, text_hdr, sizeof(text_hdr) - 1)) {
		next_line(in, line, sizeof(line), &bad);
		for (unsigned i = 0; i < nbbs; i++) {
			unsigned id, size;
			unsigned long long start;
			if (!need_line(in, line, sizeof(line), "a BB line", &bad))
				goto fail_bad;
			if (sscanf(line, " module[ %u]: %llx, %u%1s", &id, &start, &size, tail) != 3 ||
			    start > UINT32_MAX || size > 0xffff) {
				bad = in_fail(in, "expected 'module[ N]: 0xSTART, SIZE'");
				goto fail_bad;
			}
			if (id >= count) {
				m->skipped++;
				continue;
			}
			struct drmod *d = &mods[id];
			if (cov_add_block(m, d->model, d->base - mods[d->containing].base + start,
					  size, 0) < 0) {
				bad = in_fail(in, "out of memory");
				goto fail_bad;
			}
		}
		while (next_line(in, line, sizeof(line), &bad))
			if (*skip_ws(line)) {
				bad = in_fail(in, "more BB lines than the %u announced", nbbs);
				goto fail_bad;
			}
		if (bad)
			goto fail_bad;
	} else {
		size_t have = in->len - in->pos, want = (size_t)nbbs * 8;
		if (have < want) {
			bad = fail_msg(in->err, in->errsz, "%s: offset %zu: BB table truncated: "
				    "%u entries announced, %zu bytes of %zu present",
				    in->path, in->pos, nbbs, have, want);
			goto fail_bad;
		}
		if (have > want) {
			bad = fail_msg(in->err, in->errsz, "%s: offset %zu: %zu bytes after the "
				    "%u-entry BB table", in->path, in->pos + want, have - want, nbbs);
			goto fail_bad;
		}
		const uint8_t *e = (const uint8_t *)in->buf + in->pos;
		for (unsigned i = 0; i < nbbs; i++, e += 8) {
			uint32_t start = e[0] | e[1] << 8 | e[2] << 16 | (uint32_t)e[3] << 24;
			uint16_t size = e[4] | e[5] << 8, id = e[6] | e[7] << 8;
			if (id >= count) {	/* 0xffff: code in no module */
				m->skipped++;
				continue;
			}
			struct drmod *d = &mods[id];
			if (cov_add_block(m, d->model, d->base - mods[d->containing].base + start,
					  size, 0) < 0) {
				bad = in_fail(in, "out of memory");
				goto fail_bad;
			}
		}
	}
	free(mods);
	m->format = COV_DRCOV;
	return 0;
fail_bad:
	free(mods);
	return -1;
}

static int read_modoff(struct in *in, struct cov_model *m)
{
	char line[8192];
	int bad, last = -1;
	while (next_line(in, line, sizeof(line), &bad)) {
		char *s = skip_ws(line), *plus;
		uint64_t off;
		trim_end(s);
		if (!*s)
			continue;
		plus = strrchr(s, '+');
		if (!plus || plus == s || !plus[1])
			return in_fail(in, "expected 'module+0xoffset'");
		*plus = '\0';
		if (!parse_u64(plus + 1, 16, &off))
			return in_fail(in, "bad offset '%s'", plus + 1);
		if (last < 0 || strcmp(m->mods[last].path, s)) {
			last = -1;
			for (size_t i = 0; i < m->nmods; i++)
				if (!strcmp(m->mods[i].path, s))
					last = (int)i;
			if (last < 0) {
				last = cov_add_module(m, s, 0, 0, 0);
				if (last < 0)
					return in_fail(in, "out of memory");
				m->mods[last].no_path = true;
			}
		}
		if (cov_add_block(m, last, off, 0, 0) < 0)
			return in_fail(in, "out of memory");
	}
	if (bad)
		return bad;
	m->format = COV_MODOFF;
	return 0;
}

static int read_bitmap(struct in *in, struct cov_model *m)
{
	char line[8192], tail[16];
	unsigned long long start, size, nbits;
	unsigned gran;
	int bad, mod;
	if (!need_line(in, line, sizeof(line), "the header", &bad))
		return bad;
	if (strcmp(line, BITMAP_MAGIC))
		return in_fail(in, "expected '%s'", BITMAP_MAGIC);
	if (!need_line(in, line, sizeof(line), "'Module: PATH'", &bad))
		return bad;
	if (!strncmp(line, "Module: ", 8) && line[8]) {
		mod = cov_add_module(m, line + 8, 0, 0, 0);
	} else if (!strcmp(line, "Addresses: absolute")) {
		mod = cov_add_module(m, "[absolute]", 0, 0, 0);
	} else {
		return in_fail(in, "expected 'Module: PATH' or 'Addresses: absolute'");
	}
	if (mod < 0)
		return in_fail(in, "out of memory");
	if (!need_line(in, line, sizeof(line), "'Start: 0x...'", &bad))
		return bad;
	if (sscanf(line, "Start: %llx%1s", &start, tail) != 1)
		return in_fail(in, "expected 'Start: 0x...'");
	if (!need_line(in, line, sizeof(line), "'Size: 0x...'", &bad))
		return bad;
	if (sscanf(line, "Size: %llx%1s", &size, tail) != 1)
		return in_fail(in, "expected 'Size: 0x...'");
	if (!need_line(in, line, sizeof(line), "'Granularity: N'", &bad))
		return bad;
	if (sscanf(line, "Granularity: %u%1s", &gran, tail) != 1 || !gran)
		return in_fail(in, "expected 'Granularity: N' with N > 0");
	if (!need_line(in, line, sizeof(line), "'Bits: N'", &bad))
		return bad;
	if (sscanf(line, "Bits: %llu%1s", &nbits, tail) != 1)
		return in_fail(in, "expected 'Bits: N'");
	if (nbits != size / gran + (size % gran != 0) || !nbits || nbits > MAX_BITMAP_BITS)
		return in_fail(in, "%llu bits do not cover 0x%llx bytes at granularity %u",
			       nbits, size, gran);
	size_t have = in->len - in->pos, want = (nbits + 7) / 8;
	if (have != want)
		return fail_msg(in->err, in->errsz, "%s: offset %zu: %zu bytes of bits where "
			     "%zu were expected", in->path, in->pos, have, want);
	const uint8_t *bits = (const uint8_t *)in->buf + in->pos;
	for (uint64_t g = 0; g < nbits; g++) {
		if (!(bits[g / 8] >> (g % 8) & 1))
			continue;
		uint64_t lo = start + g * gran, n = gran;
		if (lo + n > start + size)
			n = start + size - lo;
		if (cov_add_block(m, mod, lo, (uint32_t)n, 0) < 0)
			return in_fail(in, "out of memory");
	}
	m->format = COV_BITMAP;
	return 0;
}

struct cov_model *cov_read(const char *path, char *err, size_t errsz)
{
	struct in in = { .path = path, .err = err, .errsz = errsz };
	struct stat st;
	struct cov_model *m = NULL;
	char *buf = NULL;
	FILE *f = fopen(path, "rb");
	int ret;
	if (!f) {
		fail_msg(err, errsz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		fail_msg(err, errsz, "%s: %s", path, S_ISDIR(st.st_mode) ?
		      "is a directory" : "not a regular file");
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fail_msg(err, errsz, "%s: out of memory", path);
		goto out;
	}
	in.len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f) || in.len != (size_t)st.st_size) {
		fail_msg(err, errsz, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	buf[in.len] = '\0';
	in.buf = buf;
	m = cov_new();
	if (!m) {
		fail_msg(err, errsz, "%s: out of memory", path);
		goto out;
	}
	if (!strncmp(buf, "DRCOV VERSION:", 14)) {
		ret = read_drcov(&in, m);
	} else if (!strncmp(buf, "LOOM BITMAP:", 12)) {
		ret = read_bitmap(&in, m);
	} else if (memchr(buf, '\0', in.len < 4096 ? in.len : 4096)) {
		ret = fail_msg(err, errsz, "%s: not a drcov, modoff or loom bitmap file", path);
	} else if (!strncmp(buf, "TN:", 3) || !strncmp(buf, "SF:", 3)) {
		ret = fail_msg(err, errsz, "%s: an lcov tracefile; loom-cov writes these "
			    "but does not read them", path);
	} else {
		ret = read_modoff(&in, m);
	}
	if (ret < 0) {
		cov_free(m);
		m = NULL;
	}
out:
	free(buf);
	fclose(f);
	return m;
}
