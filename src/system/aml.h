/*
 * A tiny emitter of ACPI Machine Language (ACPI spec, "ACPI Machine
 * Language (AML) Specification"): enough to write the DSDT of acpi.c —
 * scopes, devices, named objects, integers, strings, EISA IDs, packages
 * and buffers, and the resource descriptors of a _CRS.
 *
 * Objects with a PkgLength (Scope, Device, Package, Buffer) are opened
 * with aml_*_begin, which returns a mark, filled in, and closed with
 * aml_end(mark), which inserts the PkgLength once the size is known.
 * Marks nest like the objects; closing out of order corrupts the stream.
 */
#ifndef LOOM_SYSTEM_AML_H
#define LOOM_SYSTEM_AML_H

#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *b;
	size_t n, cap;
};

void aml_init(struct aml *a);
void aml_fini(struct aml *a);
void aml_byte(struct aml *a, uint8_t v);
void aml_bytes(struct aml *a, const void *p, size_t n);

/* A NameString: "\\_SB.PCI0", "_HID", "^FOO"; segments shorter than four
 * characters are padded with '_'. */
void aml_name_string(struct aml *a, const char *path);
/* Data objects. */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0A03"): the 32-bit compressed form, as an integer. */
uint32_t aml_eisaid_value(const char *id);
void aml_eisaid(struct aml *a, const char *id);

/* Name(path, <data object emitted next>) */
void aml_name(struct aml *a, const char *path);
size_t aml_scope_begin(struct aml *a, const char *path);
size_t aml_device_begin(struct aml *a, const char *path);
size_t aml_package_begin(struct aml *a, unsigned nelems);
/* A buffer initialised with n bytes of data. */
void aml_buffer(struct aml *a, const void *data, size_t n);
void aml_end(struct aml *a, size_t mark);

/* Resource descriptors for a ResourceTemplate (a buffer's contents). */
void aml_res_word_bus(struct aml *r, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *r, uint16_t min, uint16_t max);
void aml_res_io(struct aml *r, uint16_t base, uint8_t len);
void aml_res_dword_mem(struct aml *r, uint32_t min, uint32_t max, int cacheable);
void aml_res_mem32_fixed(struct aml *r, uint32_t base, uint32_t len, int writable);
void aml_res_irq(struct aml *r, int irq);
void aml_res_end(struct aml *r);

#endif
