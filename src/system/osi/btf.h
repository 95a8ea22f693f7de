/*
 * A reader of BTF, the compact type format the kernel carries in its .BTF
 * section (CONFIG_DEBUG_INFO_BTF): a header, a type section (one record per
 * type, ids counted from 1, id 0 being void) and a string section.  Facts
 * from the kernel's Documentation/bpf/btf.rst; the code is ours.
 *
 * What introspection needs from it: find a struct by name, and the byte
 * offset and size of a member by a dotted path ("mm", "thread_info.flags",
 * "d_name.name"), looking through typedefs, qualifiers and the anonymous
 * structs and unions the kernel nests members in, and saying when a member
 * is a bitfield rather than pretending it has a byte offset.
 *
 * The reader does not copy the blob: it must outlive the struct osi_btf.
 * osi_btf_load() checks every record against the section bounds, every
 * string offset against the string section and every type reference
 * against the type count, so the accessors below never read out of bounds.
 */
#ifndef LOOM_SYSTEM_OSI_BTF_H
#define LOOM_SYSTEM_OSI_BTF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kinds, numbered as in the format (the info word's bits 24-28). */
#define OSI_BTF_KINDS(X) \
	X(INT, 1) X(PTR, 2) X(ARRAY, 3) X(STRUCT, 4) X(UNION, 5) X(ENUM, 6) \
	X(FWD, 7) X(TYPEDEF, 8) X(VOLATILE, 9) X(CONST, 10) X(RESTRICT, 11) \
	X(FUNC, 12) X(FUNC_PROTO, 13) X(VAR, 14) X(DATASEC, 15) X(FLOAT, 16) \
	X(DECL_TAG, 17) X(TYPE_TAG, 18) X(ENUM64, 19)
enum osi_btf_kind {
	OSI_BTF_UNKN = 0,	/* void, for id 0 */
#define OSI_BTF_ENUM_ROW(name, n) OSI_BTF_##name = n,
	OSI_BTF_KINDS(OSI_BTF_ENUM_ROW)
#undef OSI_BTF_ENUM_ROW
	OSI_BTF_KIND_MAX
};

/* INT encoding bits */
#define OSI_BTF_INT_SIGNED 1
#define OSI_BTF_INT_CHAR 2
#define OSI_BTF_INT_BOOL 4

struct osi_btf {
	const uint8_t *types;	/* the type section */
	const char *strs;	/* the string section, NUL-terminated at its end */
	uint32_t types_len, strs_len;
	uint32_t ntypes;	/* ids are 1..ntypes-1; 0 is void */
	uint32_t *off;		/* off[id]: the record's offset in types */
	uint32_t nkind[OSI_BTF_KIND_MAX];	/* records of each kind */
};

/* One record, decoded. */
struct osi_btf_type {
	enum osi_btf_kind kind;
	const char *name;	/* "" when anonymous */
	uint16_t vlen;		/* members, enumerators, parameters, variables */
	bool kflag;
	uint32_t size_type;	/* size for INT/STRUCT/UNION/ENUM/ENUM64/FLOAT/DATASEC, else a type id */
};

/* A member found by path.  Offsets are from the start of the outermost
 * struct the path began in. */
struct osi_btf_member {
	uint32_t type;		/* the member's type id, as declared */
	uint64_t bit_offset;
	uint32_t bit_size;	/* bitfields: width in bits; else 0 */
	uint64_t offset;	/* bit_offset / 8 (for a bitfield: its first byte) */
	uint64_t size;		/* bytes (a bitfield: bytes it touches) */
	bool bitfield;
};

/* Parse a .BTF section.  0, or -1 with one line in err. */
int osi_btf_load(struct osi_btf *btf, const uint8_t *data, size_t len, char *err, size_t errsz);
void osi_btf_free(struct osi_btf *btf);

const char *osi_btf_kind_name(enum osi_btf_kind kind);
/* Decode type id (0 gives kind UNKN, name "").  false for an id out of range. */
bool osi_btf_type(const struct osi_btf *btf, uint32_t id, struct osi_btf_type *t);
/* Follow typedefs and CONST/VOLATILE/RESTRICT/TYPE_TAG to the type they name. */
uint32_t osi_btf_resolve(const struct osi_btf *btf, uint32_t id);
/* Size in bytes of an object of type id; -1 for void, functions, FWD. */
int64_t osi_btf_size(const struct osi_btf *btf, uint32_t id);
/* For an ARRAY: element type and count; for an INT: encoding, bit offset
 * and bits.  false when id is not of that kind. */
bool osi_btf_array(const struct osi_btf *btf, uint32_t id, uint32_t *elem, uint32_t *nelems);
bool osi_btf_int(const struct osi_btf *btf, uint32_t id, uint32_t *encoding, uint32_t *bit_off,
		 uint32_t *bits);
/* The first type of that kind called name; 0 when there is none. */
uint32_t osi_btf_find(const struct osi_btf *btf, enum osi_btf_kind kind, const char *name);
/* The STRUCT or UNION called name (a definition, never a FWD); 0 when none. */
uint32_t osi_btf_find_struct(const struct osi_btf *btf, const char *name);
/* Value of enumerator name in ENUM or ENUM64 type id; false when absent. */
bool osi_btf_enum_value(const struct osi_btf *btf, uint32_t id, const char *name, int64_t *value);

/*
 * The member at a dotted path inside struct/union type id.  Each step looks
 * through typedefs and qualifiers and into anonymous struct/union members.
 * 0, or -1 with err naming the missing step ("task_struct has no member
 * 'foo'", "'comm' is not a struct").
 */
int osi_btf_member(const struct osi_btf *btf, uint32_t id, const char *path,
		   struct osi_btf_member *m, char *err, size_t errsz);
/* The same starting from a struct's name. */
int osi_btf_offsetof(const struct osi_btf *btf, const char *sname, const char *path,
		     struct osi_btf_member *m, char *err, size_t errsz);

#endif
