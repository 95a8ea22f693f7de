/*
 * Finding and expanding the kallsyms tables (see kallsyms.h).
 *
 * The kernel's build (scripts/kallsyms) emits, each table aligned to 8
 * bytes, in this order in .rodata:
 *   kallsyms_offsets        N x s32   (base-relative kernels; older ones
 *                                      have kallsyms_addresses, N x u64)
 *   kallsyms_relative_base  u64
 *   kallsyms_num_syms       u32 N
 *   kallsyms_names          N entries: a length, then that many token bytes
 *   kallsyms_markers        ceil(N/256) offsets into names, one per 256 symbols
 *   kallsyms_seqs_of_names  N x 3-byte symbol indices in name order (from
 *                           Linux 6.2; Debian's 6.1 has it too), optional
 *   kallsyms_token_table    256 NUL-terminated strings
 *   kallsyms_token_index    256 x u16 offsets into the token table
 * A name's length is one byte, or two when the first has bit 7 set (low 7
 * bits first; 6.1 added this for long symbols).  Expanded, a name's first
 * character is its nm type letter.
 *
 * The search runs backwards from the most distinctive table: a 256-entry
 * increasing u16 array starting at 0 whose offsets land exactly on the NUL
 * boundaries of the strings just before it.  From the token table it looks
 * for the count N whose names decode without running past the markers, and
 * whose markers end where the token table begins.  A false start cannot
 * satisfy all of that by accident.
 *
 * Addresses (CONFIG_KALLSYMS_BASE_RELATIVE): with
 * CONFIG_KALLSYMS_ABSOLUTE_PERCPU (x86-64 SMP), a non-negative offset is an
 * absolute value (per-cpu symbols: offsets in the per-cpu area) and a
 * negative one means relative_base - 1 - offset; without it every offset is
 * unsigned and added to relative_base.  A table with negative offsets is
 * the former: the latter has none.
 */
#include "system/osi/kallsyms.h"
#include "system/osi/util.h"
#include "util/log.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KSYM_MAX_NAME 1024	/* the kernel's limit is 512 */
#define KSYM_MAX_COUNT 0x1000000u

static size_t align8(size_t x) { return (x + 7) & ~(size_t)7; }

/* A region of the image being searched: one section's bytes. */
struct region {
	const uint8_t *d;
	size_t n;
	uint64_t addr;
};

/* Is there a token index at d[p], with its token table ending just before
 * it?  Returns the table's start, or (size_t)-1. */
static size_t token_table_before(const struct region *r, size_t p)
{
	const uint8_t *idx = r->d + p;
	if (osi_rd16(idx) != 0)
		return (size_t)-1;
	for (int i = 1; i < 256; i++)
		if (osi_rd16(idx + 2 * i) < osi_rd16(idx + 2 * i - 2) + 2)	/* tokens are non-empty */
			return (size_t)-1;
	size_t last = osi_rd16(idx + 510);
	/* The table is last + strlen(last token) + 1 bytes, padded to 8. */
	for (size_t tail = 2; tail < 512; tail++) {
		if (last + tail > p)
			break;
		size_t t = p - last - tail;
		if (t % 8)
			continue;
		const uint8_t *tab = r->d + t;
		/* The last token must end at a NUL within the padding. */
		size_t end = last + strnlen((const char *)tab + last, tail);
		if (end >= last + tail || align8(t + end + 1) != p)
			continue;
		bool ok = true;
		for (int i = 0; i < 255 && ok; i++) {
			size_t a = osi_rd16(idx + 2 * i), b = osi_rd16(idx + 2 * i + 2);
			ok = strnlen((const char *)tab + a, b - a) == b - a - 1;
		}
		if (ok)
			return t;
	}
	return (size_t)-1;
}

/* Walk n names from d[start], not past limit; the end offset or -1.  With
 * markers (width w) given, check each 256th name's offset against them. */
static long walk_names(const struct region *r, size_t start, uint32_t n, size_t limit,
		       const uint8_t *markers, unsigned w)
{
	size_t pos = start;
	for (uint32_t i = 0; i < n; i++) {
		if (markers && i % 256 == 0) {
			uint64_t m = w == 4 ? osi_rd32(markers + (i / 256) * 4) : osi_rd64(markers + (i / 256) * 8);
			if (m != pos - start)
				return -1;
		}
		if (pos >= limit)
			return -1;
		size_t len = r->d[pos++];
		if (len & 0x80) {
			if (pos >= limit)
				return -1;
			len = (len & 0x7f) | (size_t)r->d[pos++] << 7;
		}
		if (len == 0 || len > limit - pos)
			return -1;
		pos += len;
	}
	return (long)pos;
}

/* Locate num_syms before the token table at t: fills *q (num_syms offset),
 * *mstart and *w (markers start and width), *seqs (kallsyms_seqs_of_names'
 * offset, 0 when absent).  false when nothing fits. */
static bool find_num_syms(const struct region *r, size_t t, size_t *q_out, size_t *m_out,
			  unsigned *w_out, size_t *seqs_out)
{
	for (size_t q = (t - 16) & ~(size_t)7; q + 16 <= t; q -= 8) {
		uint32_t n = osi_rd32(r->d + q);
		if (n && n <= KSYM_MAX_COUNT && osi_rd32(r->d + q + 4) == 0) {
			size_t m = (n + 255) / 256;
			for (unsigned v = 0; v < 4; v++) {
				/* markers of 4 or 8 bytes, with or without
				 * kallsyms_seqs_of_names (3 bytes a symbol) */
				unsigned w = v & 1 ? 8 : 4;
				size_t mend = t;
				if (v & 2) {
					if (3ull * n > t)
						continue;
					mend = (t - 3ull * n) & ~(size_t)7;
				}
				if (align8(m * w) > mend || mend - align8(m * w) < q + 8)
					continue;
				size_t ms = mend - align8(m * w);
				const uint8_t *mk = r->d + ms;
				if ((w == 4 ? osi_rd32(mk) : osi_rd64(mk)) != 0)
					continue;
				long end = walk_names(r, q + 8, n, ms, mk, w);
				if (end >= 0 && align8((size_t)end) == ms) {
					*q_out = q;
					*m_out = ms;
					*w_out = w;
					*seqs_out = v & 2 ? mend : 0;
					return true;
				}
			}
		}
		if (q < 8)
			break;
	}
	return false;
}

static int by_name_cmp(const void *a, const void *b, void *arg)
{
	const struct osi_ksym *s = arg;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	int c = strcmp(s[i].name, s[j].name);
	return c ? c : (i > j) - (i < j);
}

static int expand(struct osi_kallsyms *ks, const struct region *r, size_t t, size_t ti,
		  size_t q, bool relative, size_t table, char *err, size_t errsz)
{
	uint32_t n = osi_rd32(r->d + q);
	const uint8_t *idx = r->d + ti, *tok = r->d + t;
	ks->syms = calloc(n, sizeof *ks->syms);
	size_t *noff = malloc(n * sizeof *noff);
	size_t cap = (size_t)n * 24, used = 0;
	ks->pool = malloc(cap);
	if (!ks->syms || !noff || !ks->pool) {
		free(noff);
		return fail_msg(err, errsz, "out of memory for %u symbols", n);
	}
	bool absolute_percpu = false;
	if (relative)
		for (uint32_t i = 0; i < n && !absolute_percpu; i++)
			absolute_percpu = (int32_t)osi_rd32(r->d + table + 4 * i) < 0;
	size_t pos = q + 8;
	char name[KSYM_MAX_NAME];
	for (uint32_t i = 0; i < n; i++) {
		size_t len = r->d[pos++];
		if (len & 0x80)
			len = (len & 0x7f) | (size_t)r->d[pos++] << 7;
		size_t nl = 0;
		for (size_t k = 0; k < len; k++) {
			const char *s = (const char *)tok + osi_rd16(idx + 2 * r->d[pos + k]);
			size_t sl = strlen(s);
			if (nl + sl >= sizeof name) {
				free(noff);
				return fail_msg(err, errsz, "kallsyms: symbol %u longer than %d bytes", i,
					    KSYM_MAX_NAME);
			}
			memcpy(name + nl, s, sl);
			nl += sl;
		}
		pos += len;
		if (nl < 2) {
			free(noff);
			return fail_msg(err, errsz, "kallsyms: symbol %u has an empty name", i);
		}
		if (used + nl > cap) {
			cap = cap * 2 + nl;
			char *np = realloc(ks->pool, cap);
			if (!np) {
				free(noff);
				return fail_msg(err, errsz, "out of memory for symbol names");
			}
			ks->pool = np;
		}
		memcpy(ks->pool + used, name + 1, nl - 1);	/* name[0] is the type */
		ks->pool[used + nl - 1] = 0;
		noff[i] = used;
		used += nl;
		struct osi_ksym *s = &ks->syms[i];
		s->type = name[0];
		if (relative) {
			int32_t off = (int32_t)osi_rd32(r->d + table + 4 * i);
			if (!absolute_percpu)
				s->addr = ks->relative_base + (uint32_t)off;
			else if (off < 0)
				s->addr = ks->relative_base - 1 - off;
			else {
				s->addr = (uint64_t)off;
				s->percpu = true;
			}
		} else {
			s->addr = osi_rd64(r->d + table + 8 * i);
		}
	}
	for (uint32_t i = 0; i < n; i++)
		ks->syms[i].name = ks->pool + noff[i];
	free(noff);
	ks->count = n;
	ks->by_name = malloc(n * sizeof *ks->by_name);
	if (!ks->by_name)
		return fail_msg(err, errsz, "out of memory");
	for (uint32_t i = 0; i < n; i++)
		ks->by_name[i] = i;
	qsort_r(ks->by_name, n, sizeof *ks->by_name, by_name_cmp, ks->syms);
	return 0;
}

static int load_from(struct osi_kallsyms *ks, const struct region *r, char *err, size_t errsz)
{
	for (size_t p = 512; p + 512 <= r->n; p += 8) {
		size_t t = token_table_before(r, p);
		if (t == (size_t)-1)
			continue;
		size_t q, ms, seqs;
		unsigned w;
		if (t < 16 || !find_num_syms(r, t, &q, &ms, &w, &seqs))
			continue;
		uint32_t n = osi_rd32(r->d + q);
		/* Base-relative: relative_base just before num_syms, the
		 * offsets before it.  Else the absolute addresses. */
		bool relative = false;
		size_t table;
		if (q >= 8 + align8(4ull * n) && osi_rd64(r->d + q - 8) >= 0xffff800000000000ull) {
			relative = true;
			ks->relative_base = osi_rd64(r->d + q - 8);
			table = q - 8 - align8(4ull * n);
		} else if (q >= 8ull * n) {
			table = q - 8ull * n;
		} else {
			return fail_msg(err, errsz, "kallsyms: no address table before %u symbols", n);
		}
		ks->offsets_at = r->addr + table;
		ks->num_syms_at = r->addr + q;
		ks->names_at = r->addr + q + 8;
		ks->markers_at = r->addr + ms;
		ks->seqs_of_names_at = seqs ? r->addr + seqs : 0;
		ks->token_table_at = r->addr + t;
		ks->token_index_at = r->addr + p;
		return expand(ks, r, t, p, q, relative, table, err, errsz);
	}
	return 1;
}

int osi_kallsyms_load(struct osi_kallsyms *ks, const struct osi_vmlinux *vm, char *err,
		      size_t errsz)
{
	memset(ks, 0, sizeof *ks);
	/* .rodata first (where the build puts them), then any other data. */
	const struct osi_section *ro = osi_vmlinux_section(vm, ".rodata");
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < vm->nsections; i++) {
			const struct osi_section *s = &vm->sections[i];
			if ((pass == 0) != (s == ro) || s->type != SHT_PROGBITS ||
			    !(s->flags & SHF_ALLOC) || s->size < 2048)
				continue;
			struct region r = { osi_section_data(vm, s), s->size, s->addr };
			int rc = load_from(ks, &r, err, errsz);
			if (rc <= 0) {
				if (rc < 0)
					osi_kallsyms_free(ks);
				return rc;
			}
		}
	}
	return fail_msg(err, errsz, "no kallsyms tables in the image (CONFIG_KALLSYMS off?)");
}

void osi_kallsyms_free(struct osi_kallsyms *ks)
{
	free(ks->syms);
	free(ks->pool);
	free(ks->by_name);
	memset(ks, 0, sizeof *ks);
}

const struct osi_ksym *osi_kallsyms_lookup(const struct osi_kallsyms *ks, const char *name)
{
	size_t lo = 0, hi = ks->count;
	while (lo < hi) {	/* the first entry not below name */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(ks->syms[ks->by_name[mid]].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Several statics may share a name; a global one is what another
	 * file (and the export table) means by it. */
	const struct osi_ksym *first = NULL;
	for (size_t i = lo; i < ks->count && !strcmp(ks->syms[ks->by_name[i]].name, name); i++) {
		const struct osi_ksym *s = &ks->syms[ks->by_name[i]];
		if (s->type >= 'A' && s->type <= 'Z')
			return s;
		if (!first)
			first = s;
	}
	return first;
}

uint64_t osi_kallsyms_addr(const struct osi_kallsyms *ks, const char *name)
{
	const struct osi_ksym *s = osi_kallsyms_lookup(ks, name);
	return s ? s->addr : 0;
}

/* A NUL-terminated string at link-time address a inside one section. */
static const char *image_string(const struct osi_vmlinux *vm, uint64_t a)
{
	for (unsigned i = 0; i < vm->nsections; i++) {
		const struct osi_section *s = &vm->sections[i];
		if (s->type == SHT_NOBITS || !s->addr || a < s->addr || a >= s->addr + s->size)
			continue;
		const char *p = (const char *)vm->elf + s->offset + (a - s->addr);
		return memchr(p, 0, s->size - (a - s->addr)) ? p : NULL;
	}
	return NULL;
}

struct osi_export *osi_ksymtab_load(const struct osi_vmlinux *vm, size_t *n, char *err,
				    size_t errsz)
{
	static const char *const tabs[2] = { "__ksymtab", "__ksymtab_gpl" };
	const struct osi_section *sec[2];
	size_t total = 0;
	*n = 0;
	for (int k = 0; k < 2; k++) {
		sec[k] = osi_vmlinux_section(vm, tabs[k]);
		if (!sec[k] || !osi_section_data(vm, sec[k]) || sec[k]->size % 12) {
			fail_msg(err, errsz, "no %s of 12-byte entries in the image", tabs[k]);
			return NULL;
		}
		total += sec[k]->size / 12;
	}
	struct osi_export *e = calloc(total ? total : 1, sizeof *e);
	if (!e) {
		fail_msg(err, errsz, "out of memory");
		return NULL;
	}
	size_t j = 0;
	for (int k = 0; k < 2; k++) {
		const uint8_t *d = osi_section_data(vm, sec[k]);
		for (size_t i = 0; i < sec[k]->size / 12; i++, j++) {
			uint64_t at = sec[k]->addr + 12 * i;
			/* each field is an offset from its own address */
			e[j].addr = at + (int64_t)(int32_t)osi_rd32(d + 12 * i);
			uint64_t name = at + 4 + (int64_t)(int32_t)osi_rd32(d + 12 * i + 4);
			int32_t nsoff = (int32_t)osi_rd32(d + 12 * i + 8);
			e[j].name = image_string(vm, name);
			e[j].ns = nsoff ? image_string(vm, at + 8 + (int64_t)nsoff) : "";
			e[j].gpl = k == 1;
			if (!e[j].name || !e[j].ns) {
				fail_msg(err, errsz, "%s entry %zu: name outside the image", tabs[k], i);
				free(e);
				return NULL;
			}
		}
	}
	*n = total;
	return e;
}
