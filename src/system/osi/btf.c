/*
 * BTF parsing and the queries introspection makes of it (see btf.h).
 *
 * Record layout (Documentation/bpf/btf.rst): every type is a 12-byte
 * common part — name offset, info word (vlen in bits 0-15, kind in 24-28,
 * kind_flag in 31), and size-or-type — followed by kind-specific data whose
 * length depends on the kind and vlen.  Loading walks the records once,
 * records each id's offset, and validates every reference, so that the
 * queries can index without checks.  Pointers are 8 bytes: BTF does not
 * record a pointer size, and the guests here are x86-64 kernels.
 *
 * Struct members carry a bit offset.  When the struct's kind_flag is set,
 * its bits 24-31 hold a bitfield's width and bits 0-23 the offset; when it
 * is clear, a bitfield is a member whose INT type is narrower than its
 * storage (the INT's own bit offset and width say where it lies).
 */
#include "system/osi/btf.h"
#include "system/osi/util.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BTF_MAGIC 0xeb9f
#define BTF_HDR_MIN 24		/* magic .. str_len */
#define BTF_COMMON 12		/* name_off, info, size/type */


const char *osi_btf_kind_name(enum osi_btf_kind kind)
{
	static const char *const names[OSI_BTF_KIND_MAX] = {
		[OSI_BTF_UNKN] = "UNKN",
#define OSI_BTF_NAME_ROW(name, n) [n] = #name,
		OSI_BTF_KINDS(OSI_BTF_NAME_ROW)
#undef OSI_BTF_NAME_ROW
	};
	return (unsigned)kind < OSI_BTF_KIND_MAX ? names[kind] : "?";
}

/* Bytes of kind-specific data after the common part; -1 for a kind this
 * reader does not know (a newer kernel's), which loading refuses rather
 * than skipping by a wrong length. */
static long extra_len(unsigned kind, unsigned vlen)
{
	switch (kind) {
	case OSI_BTF_INT: case OSI_BTF_VAR: case OSI_BTF_DECL_TAG:
		return 4;
	case OSI_BTF_PTR: case OSI_BTF_FWD: case OSI_BTF_TYPEDEF: case OSI_BTF_VOLATILE:
	case OSI_BTF_CONST: case OSI_BTF_RESTRICT: case OSI_BTF_FUNC: case OSI_BTF_FLOAT:
	case OSI_BTF_TYPE_TAG:
		return 0;
	case OSI_BTF_ARRAY:
		return 12;
	case OSI_BTF_STRUCT: case OSI_BTF_UNION: case OSI_BTF_ENUM64: case OSI_BTF_DATASEC:
		return 12l * vlen;
	case OSI_BTF_ENUM: case OSI_BTF_FUNC_PROTO:
		return 8l * vlen;
	}
	return -1;
}

/* Does size_type hold a type id (rather than a size) for this kind? */
static bool refers(unsigned kind)
{
	switch (kind) {
	case OSI_BTF_PTR: case OSI_BTF_TYPEDEF: case OSI_BTF_VOLATILE: case OSI_BTF_CONST:
	case OSI_BTF_RESTRICT: case OSI_BTF_FUNC: case OSI_BTF_FUNC_PROTO: case OSI_BTF_VAR:
	case OSI_BTF_DECL_TAG: case OSI_BTF_TYPE_TAG:
		return true;
	}
	return false;
}

/* Check the names and type references of record id once all ids are known. */
static int check_record(const struct osi_btf *b, uint32_t id, char *err, size_t errsz)
{
	const uint8_t *p = b->types + b->off[id];
	uint32_t info = osi_rd32(p + 4), st = osi_rd32(p + 8);
	unsigned kind = (info >> 24) & 0x1f, vlen = info & 0xffff;
	const uint8_t *x = p + BTF_COMMON;
#define NAME_OK(o) ((o) < b->strs_len)
#define TYPE_OK(t) ((t) < b->ntypes)
	if (!NAME_OK(osi_rd32(p)))
		return fail_msg(err, errsz, "BTF type %u: name offset %u outside the strings", id, osi_rd32(p));
	if (refers(kind) && !TYPE_OK(st))
		return fail_msg(err, errsz, "BTF type %u (%s): refers to type %u of %u", id,
			    osi_btf_kind_name(kind), st, b->ntypes);
	unsigned stride = 0, name_at = 0, type_at = 0;
	bool has_type = false;
	switch (kind) {
	case OSI_BTF_ARRAY:
		if (!TYPE_OK(osi_rd32(x)) || !TYPE_OK(osi_rd32(x + 4)))
			return fail_msg(err, errsz, "BTF type %u (ARRAY): bad element or index type", id);
		return 0;
	case OSI_BTF_STRUCT: case OSI_BTF_UNION:
		stride = 12, name_at = 0, type_at = 4, has_type = true;
		break;
	case OSI_BTF_ENUM:
		stride = 8;
		break;
	case OSI_BTF_ENUM64:
		stride = 12;
		break;
	case OSI_BTF_FUNC_PROTO:
		stride = 8, type_at = 4, has_type = true;
		break;
	case OSI_BTF_DATASEC:
		/* btf_var_secinfo: type, offset, size — no name */
		for (unsigned i = 0; i < vlen; i++)
			if (!TYPE_OK(osi_rd32(x + 12 * i)))
				return fail_msg(err, errsz, "BTF type %u (DATASEC): bad variable type", id);
		return 0;
	default:
		return 0;
	}
	for (unsigned i = 0; i < vlen; i++) {
		const uint8_t *m = x + stride * i;
		if (!NAME_OK(osi_rd32(m + name_at)))
			return fail_msg(err, errsz, "BTF type %u: member %u's name outside the strings", id, i);
		if (has_type && !TYPE_OK(osi_rd32(m + type_at)))
			return fail_msg(err, errsz, "BTF type %u (%s): member %u refers to type %u of %u", id,
				    osi_btf_kind_name(kind), i, osi_rd32(m + type_at), b->ntypes);
	}
	return 0;
#undef NAME_OK
#undef TYPE_OK
}

int osi_btf_load(struct osi_btf *b, const uint8_t *data, size_t len, char *err, size_t errsz)
{
	memset(b, 0, sizeof *b);
	if (len < BTF_HDR_MIN || (data[0] | data[1] << 8) != BTF_MAGIC)
		return fail_msg(err, errsz, "not BTF (no 0xeb9f magic)");
	if (data[2] != 1)
		return fail_msg(err, errsz, "BTF version %u (this reader knows 1)", data[2]);
	uint32_t hdr_len = osi_rd32(data + 4);
	uint32_t type_off = osi_rd32(data + 8), type_len = osi_rd32(data + 12);
	uint32_t str_off = osi_rd32(data + 16), str_len = osi_rd32(data + 20);
	if (hdr_len < BTF_HDR_MIN || hdr_len > len)
		return fail_msg(err, errsz, "BTF header length %u in a %zu-byte blob", hdr_len, len);
	size_t body = len - hdr_len;
	if (type_off > body || type_len > body - type_off || str_off > body ||
	    str_len > body - str_off)
		return fail_msg(err, errsz, "BTF sections outside the blob");
	const char *strs = (const char *)data + hdr_len + str_off;
	/* The format requires the first string to be "" (name offset 0 means
	 * anonymous) and every string to end with a NUL. */
	if (!str_len || strs[0] || strs[str_len - 1])
		return fail_msg(err, errsz, "BTF string section does not start and end with a NUL");
	if (type_off % 4)
		return fail_msg(err, errsz, "BTF type section misaligned");
	b->types = data + hdr_len + type_off;
	b->types_len = type_len;
	b->strs = strs;
	b->strs_len = str_len;

	/* Pass 1: count the records and check that each fits. */
	uint32_t n = 1, pos = 0;
	while (pos < type_len) {
		if (type_len - pos < BTF_COMMON)
			return fail_msg(err, errsz, "BTF type %u truncated", n);
		uint32_t info = osi_rd32(b->types + pos + 4);
		unsigned kind = (info >> 24) & 0x1f;
		long extra = extra_len(kind, info & 0xffff);
		if (extra < 0)
			return fail_msg(err, errsz, "BTF type %u has kind %u, unknown to this reader", n, kind);
		if ((uint64_t)type_len - pos - BTF_COMMON < (uint64_t)extra)
			return fail_msg(err, errsz, "BTF type %u (%s) truncated", n, osi_btf_kind_name(kind));
		pos += BTF_COMMON + (uint32_t)extra;
		n++;
	}
	b->ntypes = n;
	b->off = malloc(sizeof *b->off * n);
	if (!b->off)
		return fail_msg(err, errsz, "out of memory for %u BTF types", n);
	b->off[0] = 0;
	pos = 0;
	for (uint32_t id = 1; id < n; id++) {
		uint32_t info = osi_rd32(b->types + pos + 4);
		b->off[id] = pos;
		b->nkind[(info >> 24) & 0x1f]++;
		pos += BTF_COMMON + (uint32_t)extra_len((info >> 24) & 0x1f, info & 0xffff);
	}
	for (uint32_t id = 1; id < n; id++)
		if (check_record(b, id, err, errsz) < 0) {
			osi_btf_free(b);
			return -1;
		}
	return 0;
}

void osi_btf_free(struct osi_btf *b)
{
	free(b->off);
	memset(b, 0, sizeof *b);
}

bool osi_btf_type(const struct osi_btf *b, uint32_t id, struct osi_btf_type *t)
{
	memset(t, 0, sizeof *t);
	t->name = "";
	if (id >= b->ntypes)
		return false;
	if (id == 0)
		return true;
	const uint8_t *p = b->types + b->off[id];
	uint32_t info = osi_rd32(p + 4);
	t->kind = (enum osi_btf_kind)((info >> 24) & 0x1f);
	t->name = b->strs + osi_rd32(p);
	t->vlen = info & 0xffff;
	t->kflag = info >> 31;
	t->size_type = osi_rd32(p + 8);
	return true;
}

/* The kind-specific data of a record */
static const uint8_t *extra(const struct osi_btf *b, uint32_t id)
{
	return b->types + b->off[id] + BTF_COMMON;
}

uint32_t osi_btf_resolve(const struct osi_btf *b, uint32_t id)
{
	/* Bounded: a loop of typedefs is malformed BTF, not a hang. */
	for (unsigned steps = 0; steps < 64 && id && id < b->ntypes; steps++) {
		struct osi_btf_type t;
		osi_btf_type(b, id, &t);
		switch (t.kind) {
		case OSI_BTF_TYPEDEF: case OSI_BTF_VOLATILE: case OSI_BTF_CONST:
		case OSI_BTF_RESTRICT: case OSI_BTF_TYPE_TAG:
			id = t.size_type;
			break;
		default:
			return id;
		}
	}
	return id;
}

static int64_t size_of(const struct osi_btf *b, uint32_t id, unsigned depth)
{
	if (depth > 64)
		return -1;
	id = osi_btf_resolve(b, id);
	struct osi_btf_type t;
	if (!id || !osi_btf_type(b, id, &t))
		return -1;
	switch (t.kind) {
	case OSI_BTF_INT: case OSI_BTF_STRUCT: case OSI_BTF_UNION: case OSI_BTF_ENUM:
	case OSI_BTF_ENUM64: case OSI_BTF_FLOAT: case OSI_BTF_DATASEC:
		return t.size_type;
	case OSI_BTF_PTR:
		return 8;
	case OSI_BTF_VAR:
		return size_of(b, t.size_type, depth + 1);
	case OSI_BTF_ARRAY: {
		int64_t es = size_of(b, osi_rd32(extra(b, id)), depth + 1);
		uint32_t n = osi_rd32(extra(b, id) + 8);
		if (es < 0 || (n && es > INT64_MAX / n))
			return -1;
		return es * n;
	}
	default:
		return -1;
	}
}

int64_t osi_btf_size(const struct osi_btf *b, uint32_t id)
{
	return size_of(b, id, 0);
}

bool osi_btf_array(const struct osi_btf *b, uint32_t id, uint32_t *elem, uint32_t *nelems)
{
	struct osi_btf_type t;
	if (!osi_btf_type(b, id, &t) || t.kind != OSI_BTF_ARRAY)
		return false;
	*elem = osi_rd32(extra(b, id));
	*nelems = osi_rd32(extra(b, id) + 8);
	return true;
}

bool osi_btf_int(const struct osi_btf *b, uint32_t id, uint32_t *encoding, uint32_t *bit_off,
		 uint32_t *bits)
{
	struct osi_btf_type t;
	if (!osi_btf_type(b, id, &t) || t.kind != OSI_BTF_INT)
		return false;
	uint32_t v = osi_rd32(extra(b, id));
	*encoding = (v >> 24) & 0xf;
	*bit_off = (v >> 16) & 0xff;
	*bits = v & 0xff;
	return true;
}

uint32_t osi_btf_find(const struct osi_btf *b, enum osi_btf_kind kind, const char *name)
{
	for (uint32_t id = 1; id < b->ntypes; id++) {
		const uint8_t *p = b->types + b->off[id];
		if (((osi_rd32(p + 4) >> 24) & 0x1f) == (uint32_t)kind && !strcmp(b->strs + osi_rd32(p), name))
			return id;
	}
	return 0;
}

uint32_t osi_btf_find_struct(const struct osi_btf *b, const char *name)
{
	uint32_t id = osi_btf_find(b, OSI_BTF_STRUCT, name);
	return id ? id : osi_btf_find(b, OSI_BTF_UNION, name);
}

bool osi_btf_enum_value(const struct osi_btf *b, uint32_t id, const char *name, int64_t *value)
{
	struct osi_btf_type t;
	if (!osi_btf_type(b, id, &t))
		return false;
	const uint8_t *x = extra(b, id);
	for (unsigned i = 0; i < t.vlen; i++) {
		if (t.kind == OSI_BTF_ENUM && !strcmp(b->strs + osi_rd32(x + 8 * i), name)) {
			/* kind_flag: signed values; else unsigned 32-bit */
			uint32_t v = osi_rd32(x + 8 * i + 4);
			*value = t.kflag ? (int64_t)(int32_t)v : (int64_t)v;
			return true;
		}
		if (t.kind == OSI_BTF_ENUM64 && !strcmp(b->strs + osi_rd32(x + 12 * i), name)) {
			*value = (int64_t)(osi_rd32(x + 12 * i + 4) | (uint64_t)osi_rd32(x + 12 * i + 8) << 32);
			return true;
		}
	}
	return false;
}

/* Decode member i of struct/union sid into m (offset relative to base). */
static void decode_member(const struct osi_btf *b, const struct osi_btf_type *st, uint32_t sid,
			  unsigned i, uint64_t base, struct osi_btf_member *m)
{
	const uint8_t *x = extra(b, sid) + 12 * i;
	uint32_t off = osi_rd32(x + 8);
	memset(m, 0, sizeof *m);
	m->type = osi_rd32(x + 4);
	if (st->kflag) {
		m->bit_offset = base + (off & 0xffffff);
		m->bit_size = off >> 24;
	} else {
		m->bit_offset = base + off;
		uint32_t enc, boff, bits, rid = osi_btf_resolve(b, m->type);
		int64_t sz = osi_btf_size(b, rid);
		if (osi_btf_int(b, rid, &enc, &boff, &bits) && (boff || (int64_t)bits != sz * 8)) {
			m->bit_offset += boff;
			m->bit_size = bits;
		}
	}
	m->bitfield = m->bit_size != 0;
	m->offset = m->bit_offset / 8;
	if (m->bitfield) {
		m->size = (m->bit_offset % 8 + m->bit_size + 7) / 8;
	} else {
		int64_t sz = osi_btf_size(b, m->type);
		m->size = sz < 0 ? 0 : (uint64_t)sz;
	}
}

/* Find name (len bytes) among the members of struct/union id, descending
 * into anonymous struct/union members.  true when found.  *budget bounds
 * the members visited: malformed BTF whose anonymous members contain each
 * other would otherwise take exponential time. */
static bool find_member(const struct osi_btf *b, uint32_t id, const char *name, size_t len,
			uint64_t base, unsigned depth, struct osi_btf_member *m, long *budget)
{
	struct osi_btf_type t;
	id = osi_btf_resolve(b, id);
	if (depth > 32 || !osi_btf_type(b, id, &t) ||
	    (t.kind != OSI_BTF_STRUCT && t.kind != OSI_BTF_UNION))
		return false;
	const uint8_t *x = extra(b, id);
	for (unsigned i = 0; i < t.vlen && --*budget > 0; i++) {
		const char *mname = b->strs + osi_rd32(x + 12 * i);
		if (*mname) {
			if (strlen(mname) == len && !memcmp(mname, name, len)) {
				decode_member(b, &t, id, i, base, m);
				return true;
			}
			continue;
		}
		struct osi_btf_member anon;
		decode_member(b, &t, id, i, base, &anon);
		if (find_member(b, anon.type, name, len, anon.bit_offset, depth + 1, m, budget))
			return true;
	}
	return false;
}

int osi_btf_member(const struct osi_btf *b, uint32_t id, const char *path,
		   struct osi_btf_member *m, char *err, size_t errsz)
{
	struct osi_btf_type t;
	uint32_t cur = osi_btf_resolve(b, id);
	uint64_t base = 0;
	const char *step = path;
	memset(m, 0, sizeof *m);
	if (!osi_btf_type(b, id, &t))
		return fail_msg(err, errsz, "no BTF type %u", id);
	const char *sname = *t.name ? t.name : "(anonymous)";
	for (;;) {
		const char *dot = strchr(step, '.');
		size_t len = dot ? (size_t)(dot - step) : strlen(step);
		struct osi_btf_type ct;
		osi_btf_type(b, cur, &ct);
		if (ct.kind != OSI_BTF_STRUCT && ct.kind != OSI_BTF_UNION) {
			if (step == path)
				return fail_msg(err, errsz, "BTF type %u is not a struct or union", id);
			return fail_msg(err, errsz, "%s: '%.*s' is not a struct or union", sname,
				    (int)(step - path - 1), path);
		}
		long budget = 1 << 20;
		if (!len || !find_member(b, cur, step, len, base, 0, m, &budget)) {
			if (step == path)
				return fail_msg(err, errsz, "%s has no member '%.*s'", sname, (int)len, step);
			return fail_msg(err, errsz, "%s.%.*s has no member '%.*s'", sname,
				    (int)(step - path - 1), path, (int)len, step);
		}
		if (!dot)
			return 0;
		if (m->bitfield)
			return fail_msg(err, errsz, "%s: '%.*s' is a bitfield", sname,
				    (int)(dot - path), path);
		base = m->bit_offset;
		cur = osi_btf_resolve(b, m->type);
		step = dot + 1;
	}
}

int osi_btf_offsetof(const struct osi_btf *b, const char *sname, const char *path,
		     struct osi_btf_member *m, char *err, size_t errsz)
{
	uint32_t id = osi_btf_find_struct(b, sname);
	if (!id) {
		memset(m, 0, sizeof *m);
		return fail_msg(err, errsz, "no struct %s in the BTF", sname);
	}
	return osi_btf_member(b, id, path, m, err, errsz);
}
