/*
 * The AML emitter (aml.h).  Encodings follow the ACPI specification's AML
 * grammar (opcodes, PkgLength, NameString) and its resource descriptor
 * formats (small and large items).
 */
#include "system/aml.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

enum {
	AML_ZERO = 0x00,
	AML_ONE = 0x01,
	AML_ONES = 0xff,
	AML_NAME = 0x08,
	AML_BYTE_PREFIX = 0x0a,
	AML_WORD_PREFIX = 0x0b,
	AML_DWORD_PREFIX = 0x0c,
	AML_STRING_PREFIX = 0x0d,
	AML_QWORD_PREFIX = 0x0e,
	AML_SCOPE = 0x10,
	AML_BUFFER = 0x11,
	AML_PACKAGE = 0x12,
	AML_EXT_PREFIX = 0x5b,
	AML_EXT_DEVICE = 0x82,
	AML_ROOT_CHAR = 0x5c,
	AML_PARENT_CHAR = 0x5e,
	AML_DUAL_NAME = 0x2e,
	AML_MULTI_NAME = 0x2f,
};

/* Resource descriptor tags. */
enum {
	RES_IRQ = 0x22,			/* small, 2 bytes: IRQ mask */
	RES_IO = 0x47,			/* small, 7 bytes */
	RES_END = 0x79,			/* small, 1 byte: checksum */
	RES_MEM32_FIXED = 0x86,		/* large, 9 bytes */
	RES_DWORD_ADDR = 0x87,		/* large, 23 bytes */
	RES_WORD_ADDR = 0x88,		/* large, 13 bytes */
};
enum { RES_TYPE_MEM = 0, RES_TYPE_IO = 1, RES_TYPE_BUS = 2 };
/* General flags of an address space descriptor: a bridge's window is
 * produced (bit 0 clear) with fixed minimum and maximum. */
#define RES_FLAGS_WINDOW	0x0c

void aml_init(struct aml *a)
{
	a->b = NULL;
	a->n = a->cap = 0;
}

void aml_fini(struct aml *a)
{
	free(a->b);
	aml_init(a);
}

static void aml_reserve(struct aml *a, size_t more)
{
	if (a->n + more <= a->cap)
		return;
	size_t cap = a->cap ? a->cap : 256;
	while (cap < a->n + more)
		cap *= 2;
	a->b = realloc(a->b, cap);
	if (!a->b)
		internal_error("aml: out of memory");
	a->cap = cap;
}

void aml_byte(struct aml *a, uint8_t v)
{
	aml_reserve(a, 1);
	a->b[a->n++] = v;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	aml_reserve(a, n);
	memcpy(a->b + a->n, p, n);
	a->n += n;
}

static void aml_le(struct aml *a, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

static void aml_name_seg(struct aml *a, const char *s, size_t len)
{
	if (len == 0 || len > 4)
		internal_error("aml: bad name segment '%.*s'", (int)len, s);
	for (size_t i = 0; i < 4; i++)
		aml_byte(a, i < len ? (uint8_t)s[i] : '_');
}

void aml_name_string(struct aml *a, const char *path)
{
	const char *segs[16];
	size_t lens[16];
	int n = 0;

	for (; *path == '\\' || *path == '^'; path++)
		aml_byte(a, *path == '\\' ? AML_ROOT_CHAR : AML_PARENT_CHAR);
	while (*path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		if (n == 16)
			internal_error("aml: name too deep");
		segs[n] = path;
		lens[n++] = len;
		path += len + (dot != NULL);
	}
	if (n == 0) {
		aml_byte(a, 0);		/* NullName */
		return;
	}
	if (n == 2)
		aml_byte(a, AML_DUAL_NAME);
	else if (n > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)n);
	}
	for (int i = 0; i < n; i++)
		aml_name_seg(a, segs[i], lens[i]);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, AML_ZERO);
	else if (v == 1)
		aml_byte(a, AML_ONE);
	else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

/* Three letters of five bits each (A = 1) and four hex digits, stored
 * most significant byte first. */
uint32_t aml_eisaid_value(const char *id)
{
	uint32_t v;

	if (strlen(id) != 7)
		internal_error("aml: bad EISA ID '%s'", id);
	v = (uint32_t)(id[0] - 0x40) << 26 | (uint32_t)(id[1] - 0x40) << 21 |
	    (uint32_t)(id[2] - 0x40) << 16 | (uint32_t)strtoul(id + 3, NULL, 16);
	return __builtin_bswap32(v);
}

void aml_eisaid(struct aml *a, const char *id)
{
	/* Always the DWord form, as compilers emit it. */
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, aml_eisaid_value(id), 4);
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME);
	aml_name_string(a, path);
}

/* The mark is where the PkgLength goes: right after the opcode. */
size_t aml_scope_begin(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_SCOPE);
	mark = a->n;
	aml_name_string(a, path);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_EXT_DEVICE);
	mark = a->n;
	aml_name_string(a, path);
	return mark;
}

size_t aml_package_begin(struct aml *a, unsigned nelems)
{
	size_t mark;

	if (nelems > 255)
		internal_error("aml: package of %u elements", nelems);
	aml_byte(a, AML_PACKAGE);
	mark = a->n;
	aml_byte(a, (uint8_t)nelems);
	return mark;
}

void aml_buffer(struct aml *a, const void *data, size_t n)
{
	size_t mark;

	aml_byte(a, AML_BUFFER);
	mark = a->n;
	aml_integer(a, n);
	aml_bytes(a, data, n);
	aml_end(a, mark);
}

/* PkgLength counts itself: one byte holds up to 63; otherwise the lead
 * byte's top two bits say how many bytes follow, its low nibble holds
 * bits 0-3 and each following byte eight more bits. */
void aml_end(struct aml *a, size_t mark)
{
	size_t body = a->n - mark, len;
	uint8_t enc[4];
	int nb;

	if (body + 1 <= 63) {
		nb = 1;
		enc[0] = (uint8_t)(body + 1);
	} else {
		for (nb = 2; nb <= 4; nb++)
			if (body + nb < (1ul << (4 + 8 * (nb - 1))))
				break;
		if (nb > 4)
			internal_error("aml: object too large");
		len = body + nb;
		enc[0] = (uint8_t)(((nb - 1) << 6) | (len & 0xf));
		for (int i = 1; i < nb; i++)
			enc[i] = (uint8_t)(len >> (4 + 8 * (i - 1)));
	}
	aml_reserve(a, nb);
	memmove(a->b + mark + nb, a->b + mark, body);
	memcpy(a->b + mark, enc, nb);
	a->n += nb;
}

/* --- resource descriptors ------------------------------------------------ */

static void res_large(struct aml *r, uint8_t tag, uint16_t len)
{
	aml_byte(r, tag);
	aml_le(r, len, 2);
}

void aml_res_word_bus(struct aml *r, uint16_t min, uint16_t max)
{
	res_large(r, RES_WORD_ADDR, 13);
	aml_byte(r, RES_TYPE_BUS);
	aml_byte(r, RES_FLAGS_WINDOW);
	aml_byte(r, 0);			/* type-specific flags */
	aml_le(r, 0, 2);		/* granularity */
	aml_le(r, min, 2);
	aml_le(r, max, 2);
	aml_le(r, 0, 2);		/* translation */
	aml_le(r, (uint16_t)(max - min + 1), 2);
}

void aml_res_word_io(struct aml *r, uint16_t min, uint16_t max)
{
	res_large(r, RES_WORD_ADDR, 13);
	aml_byte(r, RES_TYPE_IO);
	aml_byte(r, RES_FLAGS_WINDOW);
	aml_byte(r, 0x03);		/* ISA and non-ISA ranges */
	aml_le(r, 0, 2);
	aml_le(r, min, 2);
	aml_le(r, max, 2);
	aml_le(r, 0, 2);
	aml_le(r, (uint16_t)(max - min + 1), 2);
}

void aml_res_io(struct aml *r, uint16_t base, uint8_t len)
{
	aml_byte(r, RES_IO);
	aml_byte(r, 0x01);		/* 16-bit decode */
	aml_le(r, base, 2);		/* minimum */
	aml_le(r, base, 2);		/* maximum */
	aml_byte(r, 0x01);		/* alignment */
	aml_byte(r, len);
}

void aml_res_dword_mem(struct aml *r, uint32_t min, uint32_t max, int cacheable)
{
	res_large(r, RES_DWORD_ADDR, 23);
	aml_byte(r, RES_TYPE_MEM);
	aml_byte(r, RES_FLAGS_WINDOW);
	aml_byte(r, 0x01 | (cacheable ? 0x02 : 0));	/* read-write; cacheable */
	aml_le(r, 0, 4);
	aml_le(r, min, 4);
	aml_le(r, max, 4);
	aml_le(r, 0, 4);
	aml_le(r, max - min + 1, 4);
}

void aml_res_mem32_fixed(struct aml *r, uint32_t base, uint32_t len, int writable)
{
	res_large(r, RES_MEM32_FIXED, 9);
	aml_byte(r, writable ? 1 : 0);
	aml_le(r, base, 4);
	aml_le(r, len, 4);
}

void aml_res_irq(struct aml *r, int irq)
{
	aml_byte(r, RES_IRQ);
	aml_le(r, 1u << irq, 2);
}

void aml_res_end(struct aml *r)
{
	aml_byte(r, RES_END);
	aml_byte(r, 0);			/* checksum 0: "treat as correct" */
}
