/*
 * The BTF reader (src/system/osi/btf.c).  Two halves:
 *   - a BTF blob built here record by record from the format's description
 *     (Documentation/bpf/btf.rst), with one type of every kind, anonymous
 *     unions and structs, bitfields in both encodings (kind_flag set and
 *     clear), typedef and qualifier chains, and malformed variants that must
 *     be refused with a message: exact expectations, no kernel needed;
 *   - Debian's kernel (build/guest/vmlinuz, SKIPped when absent): its .BTF
 *     loads, and the offset, size and bit position of every uniquely named
 *     member of the structures introspection walks equal what pahole
 *     (dwarves, an independent BTF reader) prints, when pahole is installed.
 */
#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "osi_kernel.h"
#include "system/osi/btf.h"

/* --- a BTF builder ------------------------------------------------------ */

struct bb {
	uint8_t types[4096];
	size_t tlen;
	char strs[1024];
	size_t slen;
	uint32_t ntypes;	/* the next id is ntypes + 1 */
};

static void bb_init(struct bb *b)
{
	memset(b, 0, sizeof *b);
	b->slen = 1;		/* the empty string at offset 0 */
}

static uint32_t bb_str(struct bb *b, const char *s)
{
	if (!*s)
		return 0;
	uint32_t off = (uint32_t)b->slen;
	memcpy(b->strs + b->slen, s, strlen(s) + 1);
	b->slen += strlen(s) + 1;
	return off;
}

static void bb_u32(struct bb *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b->types[b->tlen++] = (uint8_t)(v >> (8 * i));
}

/* The common part of a record; returns the new type's id. */
static uint32_t bb_type(struct bb *b, const char *name, unsigned kind, unsigned vlen, bool kflag,
			uint32_t size_type)
{
	bb_u32(b, bb_str(b, name));
	bb_u32(b, vlen | kind << 24 | (uint32_t)kflag << 31);
	bb_u32(b, size_type);
	return ++b->ntypes;
}

static void bb_member(struct bb *b, const char *name, uint32_t type, uint32_t off)
{
	bb_u32(b, bb_str(b, name));
	bb_u32(b, type);
	bb_u32(b, off);
}

/* header + types + strings in one blob */
static size_t bb_blob(const struct bb *b, uint8_t *out)
{
	uint8_t h[24] = { 0x9f, 0xeb, 1, 0 };
	uint32_t f[5] = { 24, 0, (uint32_t)b->tlen, (uint32_t)b->tlen, (uint32_t)b->slen };
	for (int i = 0; i < 5; i++)
		for (int k = 0; k < 4; k++)
			h[4 + 4 * i + k] = (uint8_t)(f[i] >> (8 * k));
	memcpy(out, h, 24);
	memcpy(out + 24, b->types, b->tlen);
	memcpy(out + 24 + b->tlen, b->strs, b->slen);
	return 24 + b->tlen + b->slen;
}

/*
 * The types (ids in order):
 *  1 int   2 unsigned int   3 char   4 typedef u32 -> 2   5 const -> 4
 *  6 volatile -> 5   7 ptr -> 8
 *  8 struct node (40 bytes, kind_flag): next@0 (7), anon union@8 (9),
 *    flags:3 @bit 128, mode:5 @bit 131, name[16]@24 (11)
 *  9 union (8): count (4) @0, anon struct (10) @0
 * 10 struct (8): lo (2) @0, hi (6) @4
 * 11 char[16]   12 typedef node_t -> 8
 * 13 struct outer (48, no kind_flag): head (12) @0, old (14) @bit 320, tail (2) @44
 * 14 int "unsigned int" of 3 bits (an old-style bitfield's type)
 * 15 enum color (signed): RED -1, BLUE 2   16 enum64 big: HUGE 0x123456789
 * 17 fwd opaque   18 func_proto int (int a, node *b)   19 func f -> 18
 * 20 var v -> 13  21 datasec .data [v @0, 48]   22 decl_tag "tag" -> 8 member 0
 * 23 type_tag "user" -> 2   24 float double   25 restrict -> 7
 * 26 struct opaque (the definition the fwd declares)
 */
static void build_types(struct bb *b)
{
	bb_init(b);
	bb_type(b, "int", OSI_BTF_INT, 0, 0, 4);
	bb_u32(b, OSI_BTF_INT_SIGNED << 24 | 32);
	bb_type(b, "unsigned int", OSI_BTF_INT, 0, 0, 4);
	bb_u32(b, 32);
	bb_type(b, "char", OSI_BTF_INT, 0, 0, 1);
	bb_u32(b, OSI_BTF_INT_CHAR << 24 | 8);
	bb_type(b, "u32", OSI_BTF_TYPEDEF, 0, 0, 2);
	bb_type(b, "", OSI_BTF_CONST, 0, 0, 4);
	bb_type(b, "", OSI_BTF_VOLATILE, 0, 0, 5);
	bb_type(b, "", OSI_BTF_PTR, 0, 0, 8);
	bb_type(b, "node", OSI_BTF_STRUCT, 5, 1, 40);		/* 8 */
	bb_member(b, "next", 7, 0);
	bb_member(b, "", 9, 64);
	bb_member(b, "flags", 2, 3u << 24 | 128);
	bb_member(b, "mode", 2, 5u << 24 | 131);
	bb_member(b, "name", 11, 192);
	bb_type(b, "", OSI_BTF_UNION, 2, 0, 8);			/* 9 */
	bb_member(b, "count", 4, 0);
	bb_member(b, "", 10, 0);
	bb_type(b, "", OSI_BTF_STRUCT, 2, 0, 8);			/* 10 */
	bb_member(b, "lo", 2, 0);
	bb_member(b, "hi", 6, 32);
	bb_type(b, "", OSI_BTF_ARRAY, 0, 0, 0);			/* 11 */
	bb_u32(b, 3), bb_u32(b, 2), bb_u32(b, 16);
	bb_type(b, "node_t", OSI_BTF_TYPEDEF, 0, 0, 8);		/* 12 */
	bb_type(b, "outer", OSI_BTF_STRUCT, 3, 0, 48);		/* 13 */
	bb_member(b, "head", 12, 0);
	bb_member(b, "old", 14, 320);
	bb_member(b, "tail", 2, 352);
	bb_type(b, "unsigned int", OSI_BTF_INT, 0, 0, 4);	/* 14 */
	bb_u32(b, 3);
	bb_type(b, "color", OSI_BTF_ENUM, 2, 1, 4);		/* 15 */
	bb_u32(b, bb_str(b, "RED")), bb_u32(b, (uint32_t)-1);
	bb_u32(b, bb_str(b, "BLUE")), bb_u32(b, 2);
	bb_type(b, "big", OSI_BTF_ENUM64, 1, 0, 8);		/* 16 */
	bb_u32(b, bb_str(b, "HUGE")), bb_u32(b, 0x23456789), bb_u32(b, 0x1);
	bb_type(b, "opaque", OSI_BTF_FWD, 0, 0, 0);		/* 17 */
	bb_type(b, "", OSI_BTF_FUNC_PROTO, 2, 0, 1);		/* 18 */
	bb_u32(b, bb_str(b, "a")), bb_u32(b, 1);
	bb_u32(b, bb_str(b, "b")), bb_u32(b, 7);
	bb_type(b, "f", OSI_BTF_FUNC, 1, 0, 18);		/* 19 */
	bb_type(b, "v", OSI_BTF_VAR, 0, 0, 13);			/* 20 */
	bb_u32(b, 1);
	bb_type(b, ".data", OSI_BTF_DATASEC, 1, 0, 48);		/* 21 */
	bb_u32(b, 20), bb_u32(b, 0), bb_u32(b, 48);
	bb_type(b, "tag", OSI_BTF_DECL_TAG, 0, 0, 8);		/* 22 */
	bb_u32(b, 0);
	bb_type(b, "user", OSI_BTF_TYPE_TAG, 0, 0, 2);		/* 23 */
	bb_type(b, "double", OSI_BTF_FLOAT, 0, 0, 8);		/* 24 */
	bb_type(b, "", OSI_BTF_RESTRICT, 0, 0, 7);		/* 25 */
	bb_type(b, "opaque", OSI_BTF_STRUCT, 0, 0, 0);		/* 26 */
}

static uint8_t blob[8192];

static void member_is(const struct osi_btf *btf, const char *s, const char *path, uint64_t off,
		      uint64_t size, uint64_t bit_off, uint32_t bits)
{
	struct osi_btf_member m;
	char err[200] = "";
	int r = osi_btf_offsetof(btf, s, path, &m, err, sizeof err);
	if (r)
		fprintf(stderr, "%s.%s: %s\n", s, path, err);
	CHECK_EQ(r, 0);
	CHECK_EQ(m.offset, off);
	CHECK_EQ(m.size, size);
	CHECK_EQ(m.bit_offset, bit_off);
	CHECK_EQ(m.bit_size, bits);
	CHECK_EQ(m.bitfield, bits != 0);
}

static void member_fails(const struct osi_btf *btf, const char *s, const char *path,
			 const char *want)
{
	struct osi_btf_member m;
	char err[200] = "";
	CHECK_EQ(osi_btf_offsetof(btf, s, path, &m, err, sizeof err), -1);
	if (strcmp(err, want))
		fprintf(stderr, "%s.%s: error '%s', expected '%s'\n", s, path, err, want);
	CHECK(!strcmp(err, want));
}

static void test_synthetic(void)
{
	struct bb b;
	build_types(&b);
	size_t len = bb_blob(&b, blob);
	struct osi_btf btf;
	char err[200] = "";
	int r = osi_btf_load(&btf, blob, len, err, sizeof err);
	if (r)
		fprintf(stderr, "load: %s\n", err);
	CHECK_EQ(r, 0);
	if (r)
		return;
	CHECK_EQ(btf.ntypes, 27);
	static const uint32_t want_kinds[OSI_BTF_KIND_MAX] = {
		[OSI_BTF_INT] = 4, [OSI_BTF_PTR] = 1, [OSI_BTF_ARRAY] = 1, [OSI_BTF_STRUCT] = 4,
		[OSI_BTF_UNION] = 1, [OSI_BTF_ENUM] = 1, [OSI_BTF_FWD] = 1, [OSI_BTF_TYPEDEF] = 2,
		[OSI_BTF_VOLATILE] = 1, [OSI_BTF_CONST] = 1, [OSI_BTF_RESTRICT] = 1,
		[OSI_BTF_FUNC] = 1, [OSI_BTF_FUNC_PROTO] = 1, [OSI_BTF_VAR] = 1,
		[OSI_BTF_DATASEC] = 1, [OSI_BTF_FLOAT] = 1, [OSI_BTF_DECL_TAG] = 1,
		[OSI_BTF_TYPE_TAG] = 1, [OSI_BTF_ENUM64] = 1,
	};
	for (int k = 1; k < OSI_BTF_KIND_MAX; k++)
		CHECK_EQ(btf.nkind[k], want_kinds[k]);
	CHECK(!strcmp(osi_btf_kind_name(OSI_BTF_ENUM64), "ENUM64"));
	CHECK(!strcmp(osi_btf_kind_name(OSI_BTF_FUNC_PROTO), "FUNC_PROTO"));

	struct osi_btf_type t;
	CHECK(osi_btf_type(&btf, 19, &t));
	CHECK_EQ(t.kind, OSI_BTF_FUNC);
	CHECK(!strcmp(t.name, "f"));
	CHECK_EQ(t.size_type, 18);
	CHECK(osi_btf_type(&btf, 0, &t));
	CHECK_EQ(t.kind, OSI_BTF_UNKN);
	CHECK(!osi_btf_type(&btf, 27, &t));

	CHECK_EQ(osi_btf_find_struct(&btf, "node"), 8);
	CHECK_EQ(osi_btf_find_struct(&btf, "outer"), 13);
	CHECK_EQ(osi_btf_find_struct(&btf, "opaque"), 26);	/* not the FWD, 17 */
	CHECK_EQ(osi_btf_find(&btf, OSI_BTF_FWD, "opaque"), 17);
	CHECK_EQ(osi_btf_find_struct(&btf, "nosuch"), 0);
	CHECK_EQ(osi_btf_find(&btf, OSI_BTF_TYPEDEF, "node_t"), 12);

	CHECK_EQ(osi_btf_resolve(&btf, 6), 2);	/* volatile const u32 */
	CHECK_EQ(osi_btf_resolve(&btf, 12), 8);
	CHECK_EQ(osi_btf_resolve(&btf, 23), 2);
	CHECK_EQ(osi_btf_resolve(&btf, 7), 7);	/* a pointer is not looked through */
	CHECK_EQ(osi_btf_size(&btf, 8), 40);
	CHECK_EQ(osi_btf_size(&btf, 11), 16);
	CHECK_EQ(osi_btf_size(&btf, 6), 4);
	CHECK_EQ(osi_btf_size(&btf, 25), 8);
	CHECK_EQ(osi_btf_size(&btf, 20), 48);
	CHECK_EQ(osi_btf_size(&btf, 24), 8);
	CHECK_EQ(osi_btf_size(&btf, 16), 8);
	CHECK_EQ(osi_btf_size(&btf, 17), -1);
	CHECK_EQ(osi_btf_size(&btf, 19), -1);
	CHECK_EQ(osi_btf_size(&btf, 0), -1);
	uint32_t elem, n, enc, boff, bits;
	CHECK(osi_btf_array(&btf, 11, &elem, &n));
	CHECK_EQ(elem, 3);
	CHECK_EQ(n, 16);
	CHECK(!osi_btf_array(&btf, 8, &elem, &n));
	CHECK(osi_btf_int(&btf, 3, &enc, &boff, &bits));
	CHECK_EQ(enc, OSI_BTF_INT_CHAR);
	CHECK_EQ(bits, 8);

	int64_t v;
	CHECK(osi_btf_enum_value(&btf, 15, "RED", &v));
	CHECK_EQ(v, -1);
	CHECK(osi_btf_enum_value(&btf, 15, "BLUE", &v));
	CHECK_EQ(v, 2);
	CHECK(osi_btf_enum_value(&btf, 16, "HUGE", &v));
	CHECK_EQ(v, 0x123456789ull);
	CHECK(!osi_btf_enum_value(&btf, 15, "GREEN", &v));

	/*            struct   path            off size bitoff bits */
	member_is(&btf, "node", "next",          0,  8,   0,   0);
	member_is(&btf, "node", "count",         8,  4,  64,   0);	/* in the anonymous union */
	member_is(&btf, "node", "lo",            8,  4,  64,   0);	/* union > anonymous struct */
	member_is(&btf, "node", "hi",           12,  4,  96,   0);
	member_is(&btf, "node", "flags",        16,  1, 128,   3);
	member_is(&btf, "node", "mode",         16,  1, 131,   5);
	member_is(&btf, "node", "name",         24, 16, 192,   0);
	member_is(&btf, "outer", "head",         0, 40,   0,   0);
	member_is(&btf, "outer", "head.hi",     12,  4,  96,   0);	/* through typedef node_t */
	member_is(&btf, "outer", "head.mode",   16,  1, 131,   5);
	member_is(&btf, "outer", "old",         40,  1, 320,   3);	/* no kind_flag: INT's width */
	member_is(&btf, "outer", "tail",        44,  4, 352,   0);
	member_fails(&btf, "outer", "head.nosuch", "outer.head has no member 'nosuch'");
	member_fails(&btf, "outer", "nosuch", "outer has no member 'nosuch'");
	member_fails(&btf, "outer", "tail.x", "outer: 'tail' is not a struct or union");
	member_fails(&btf, "outer", "head.flags.x", "outer: 'head.flags' is a bitfield");
	member_fails(&btf, "outer", "", "outer has no member ''");
	member_fails(&btf, "nosuch", "x", "no struct nosuch in the BTF");
	struct osi_btf_member m;
	CHECK_EQ(osi_btf_member(&btf, 1, "x", &m, err, sizeof err), -1);
	CHECK(!strcmp(err, "BTF type 1 is not a struct or union"));
	osi_btf_free(&btf);
}

/* Load a corrupted copy of the blob; expect refusal with msg in the error. */
static void refused(const uint8_t *data, size_t len, const char *msg)
{
	struct osi_btf btf;
	char err[200] = "";
	int r = osi_btf_load(&btf, data, len, err, sizeof err);
	CHECK_EQ(r, -1);
	if (!strstr(err, msg))
		fprintf(stderr, "refused: error '%s', expected '%s'\n", err, msg);
	CHECK(strstr(err, msg) != NULL);
	if (r == 0)
		osi_btf_free(&btf);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_malformed(void)
{
	struct bb b;
	static uint8_t bad[8192];
	build_types(&b);
	size_t len = bb_blob(&b, blob);

	memcpy(bad, blob, len);
	bad[0] = 0;
	refused(bad, len, "magic");
	memcpy(bad, blob, len);
	bad[2] = 2;
	refused(bad, len, "version 2");
	refused(blob, 20, "not BTF");
	refused(blob, len - 1, "outside the blob");
	memcpy(bad, blob, len);
	put32(bad + 4, 4);				/* hdr_len */
	refused(bad, len, "header length");
	/* type_len cut into the last record */
	memcpy(bad, blob, len);
	put32(bad + 12, (uint32_t)b.tlen - 4);
	refused(bad, len, "truncated");
	/* the last record (struct opaque) made kind 20 */
	memcpy(bad, blob, len);
	put32(bad + 24 + b.tlen - 8, 20u << 24);
	refused(bad, len, "kind 20");
	/* the pointer (id 7, the 7th record: 4 + 4 + 4 bytes of INT data
	 * after each of the first three) refers past the last type */
	size_t ptr_at = 24 + 3 * 16 + 3 * 12;
	memcpy(bad, blob, len);
	put32(bad + ptr_at + 8, 999);
	refused(bad, len, "refers to type 999");
	/* a name past the string section */
	memcpy(bad, blob, len);
	put32(bad + 24, 5000);
	refused(bad, len, "name offset 5000");
	/* the string section not ending in a NUL */
	memcpy(bad, blob, len);
	bad[len - 1] = 'x';
	refused(bad, len, "NUL");
	/* struct node's first member refers past the last type */
	size_t node_at = ptr_at + 12;
	memcpy(bad, blob, len);
	put32(bad + node_at + 12 + 4, 300);
	refused(bad, len, "member 0 refers to type 300");
}

/* Random corruption of the blob: every load either fails with a message
 * or gives BTF whose queries stay in bounds (ASan builds check that). */
static void test_mutations(void)
{
	struct bb b;
	static uint8_t bad[8192];
	build_types(&b);
	size_t len = bb_blob(&b, blob);
	uint64_t seed = 0x5eed;
	int loaded = 0, refusals = 0, silent = 0;
	for (int iter = 0; iter < 3000; iter++) {
		memcpy(bad, blob, len);
		int flips = 1 + (int)(unit_xorshift(&seed) % 4);
		for (int k = 0; k < flips; k++) {
			size_t at = unit_xorshift(&seed) % len;
			bad[at] = (uint8_t)unit_xorshift(&seed);
		}
		struct osi_btf btf;
		char err[200] = "";
		if (osi_btf_load(&btf, bad, len, err, sizeof err) < 0) {
			refusals++;
			silent += !err[0];
			continue;
		}
		loaded++;
		for (uint32_t id = 0; id < btf.ntypes; id++) {
			struct osi_btf_type t;
			uint32_t x, y, z;
			int64_t v;
			osi_btf_type(&btf, id, &t);
			osi_btf_resolve(&btf, id);
			osi_btf_size(&btf, id);
			osi_btf_array(&btf, id, &x, &y);
			osi_btf_int(&btf, id, &x, &y, &z);
			osi_btf_enum_value(&btf, id, "RED", &v);
			struct osi_btf_member m;
			osi_btf_member(&btf, id, "head.hi", &m, err, sizeof err);
			osi_btf_member(&btf, id, "count", &m, err, sizeof err);
		}
		struct osi_btf_member m;
		osi_btf_offsetof(&btf, "outer", "head.mode", &m, err, sizeof err);
		osi_btf_free(&btf);
	}
	printf("mutated BTF: %d loaded, %d refused\n", loaded, refusals);
	CHECK(loaded > 100);
	CHECK(refusals > 100);
	CHECK_EQ(silent, 0);	/* a refusal always says why */
}

/* --- Debian's kernel against pahole ------------------------------------ */

/* One member line of pahole's output: name, byte offset, bit (-1 when not
 * a bitfield), size.  false for other lines. */
static bool pahole_line(const char *line, char *name, size_t namesz, long *off, long *bit,
			long *size)
{
	const char *c = strstr(line, "/*");
	const char *semi = strchr(line, ';');
	if (!c || !semi || semi > c || strchr(line, '(') || strchr(line, '{'))
		return false;
	/* back from ';' over a bitfield width and array dimensions */
	const char *e = semi;
	while (e > line && e[-1] != ' ' && e[-1] != '*' && e[-1] != '\t')
		e--;
	size_t n = strcspn(e, ":[;");
	if (!n || n >= namesz)
		return false;
	memcpy(name, e, n);
	name[n] = 0;
	char *p;
	*off = strtol(c + 2, &p, 10);
	if (p == c + 2)
		return false;
	*bit = -1;
	if (*p == ':')
		*bit = strtol(p + 1, &p, 10);
	*size = strtol(p, &p, 10);
	return strncmp(p, " */", 3) == 0 || strncmp(p, "  */", 4) == 0 || p[0] == ' ';
}

static void compare_with_pahole(const struct osi_btf *btf, const char *elf, const char *sname,
				int *compared)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "pahole -C %s %s 2>/dev/null", sname, elf);
	FILE *f = popen(cmd, "r");
	if (!f) {
		CHECK(0);
		return;
	}
	/* pahole expands members of unnamed struct types inline, with
	 * offsets from the outer struct; the name after the closing brace,
	 * if any, is the member they belong to ("} shared;"), and becomes a
	 * prefix of their paths. */
	struct { char name[96]; long off, bit, size; int seen; } mem[512];
	int nm = 0, depth = 0, open_at[16];
	char line[1024];
	while (fgets(line, sizeof line, f) && nm < 512) {
		const char *t = line + strspn(line, " \t");
		if (*t == '}') {
			if (--depth < 1)
				break;	/* the struct's own end */
			char tail[64] = "";
			sscanf(t + 1, " %63[A-Za-z0-9_]", tail);
			for (int i = open_at[depth]; *tail && i < nm; i++) {
				char full[96];
				snprintf(full, sizeof full, "%s.%s", tail, mem[i].name);
				snprintf(mem[i].name, sizeof mem[i].name, "%s", full);
			}
			continue;
		}
		if (strchr(t, '{')) {
			if (depth < 16)
				open_at[depth] = nm;
			depth++;
			continue;
		}
		char name[64];
		long off, bit, size;
		if (!pahole_line(line, name, sizeof name, &off, &bit, &size))
			continue;
		snprintf(mem[nm].name, sizeof mem[nm].name, "%s", name);
		mem[nm].off = off, mem[nm].bit = bit, mem[nm].size = size, mem[nm].seen = 1;
		nm++;
	}
	/* A name twice (in two unnamed structs) is ambiguous: not compared. */
	for (int i = 0; i < nm; i++)
		for (int j = 0; j < nm; j++)
			if (i != j && !strcmp(mem[i].name, mem[j].name))
				mem[i].seen++;
	pclose(f);
	CHECK(nm >= 2);
	for (int i = 0; i < nm; i++) {
		if (mem[i].seen > 1)
			continue;	/* the same name in two anonymous structs */
		struct osi_btf_member m;
		char err[200];
		int r = osi_btf_offsetof(btf, sname, mem[i].name, &m, err, sizeof err);
		if (r)
			fprintf(stderr, "%s.%s: %s\n", sname, mem[i].name, err);
		CHECK_EQ(r, 0);
		if (mem[i].bit >= 0) {
			CHECK(m.bitfield);
			CHECK_EQ(m.bit_offset, (uint64_t)mem[i].off * 8 + mem[i].bit);
		} else {
			bool ok = !m.bitfield && m.offset == (uint64_t)mem[i].off &&
				  m.size == (uint64_t)mem[i].size;
			if (!ok)
				fprintf(stderr, "%s.%s: loom %lu+%lu, pahole %ld+%ld\n", sname,
					mem[i].name, (unsigned long)m.offset, (unsigned long)m.size,
					mem[i].off, mem[i].size);
			CHECK(ok);
		}
		(*compared)++;
	}
}

static void test_kernel(void)
{
	struct osi_vmlinux vm;
	if (!osi_test_open_kernel(&vm, "kernel BTF"))
		return;
	const struct osi_section *s = osi_vmlinux_section(&vm, ".BTF");
	CHECK(s != NULL);
	if (!s) {
		osi_vmlinux_close(&vm);
		return;
	}
	struct osi_btf btf;
	char err[200] = "";
	int r = osi_btf_load(&btf, osi_section_data(&vm, s), s->size, err, sizeof err);
	if (r)
		fprintf(stderr, "kernel BTF: %s\n", err);
	CHECK_EQ(r, 0);
	if (r) {
		osi_vmlinux_close(&vm);
		return;
	}
	/* A whole kernel's types: tens of thousands (Debian's 6.1 has no
	 * DECL_TAG or TYPE_TAG records, so those are not required here). */
	CHECK(btf.ntypes > 50000);
	CHECK(btf.nkind[OSI_BTF_STRUCT] > 5000);
	CHECK(btf.nkind[OSI_BTF_FUNC] > 20000);
	CHECK(btf.nkind[OSI_BTF_DATASEC] >= 1);
	CHECK(btf.nkind[OSI_BTF_VAR] > 100);
	CHECK(osi_btf_find_struct(&btf, "task_struct") != 0);
	printf("kernel BTF: %u types\n", btf.ntypes);

	/* Named in the brief of the walk: nested and anonymous members. */
	struct osi_btf_member m;
	CHECK_EQ(osi_btf_offsetof(&btf, "task_struct", "thread_info.flags", &m, err, sizeof err), 0);
	CHECK_EQ(m.offset, 0);	/* thread_info is task_struct's first member on x86 */
	CHECK_EQ(osi_btf_offsetof(&btf, "dentry", "d_name.len", &m, err, sizeof err), 0);
	CHECK_EQ(m.size, 4);
	CHECK_EQ(osi_btf_offsetof(&btf, "task_struct", "no_such_member", &m, err, sizeof err), -1);
	CHECK(!strcmp(err, "task_struct has no member 'no_such_member'"));

	if (!osi_test_have("pahole")) {
		SKIP("kernel BTF against pahole: pahole not installed (dwarves)");
	} else {
		char *elf = osi_test_write_elf(&vm);
		CHECK(elf != NULL);
		if (elf) {
			static const char *const structs[] = {
				"task_struct", "mm_struct", "vm_area_struct", "file", "path",
				"dentry", "qstr", "module", "list_head", "signal_struct",
				"mount", "maple_tree", "thread_info", "module_layout",
			};
			int compared = 0;
			for (size_t i = 0; i < sizeof structs / sizeof structs[0]; i++)
				compare_with_pahole(&btf, elf, structs[i], &compared);
			printf("kernel BTF: %d members compared with pahole\n", compared);
			CHECK(compared > 300);
			unlink(elf);
		}
	}
	osi_btf_free(&btf);
	osi_vmlinux_close(&vm);
}

void unit_main(void)
{
	test_synthetic();
	test_malformed();
	test_mutations();
	test_kernel();
}
