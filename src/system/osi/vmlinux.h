/*
 * The guest kernel's own image, read on the host: the ELF vmlinux taken out
 * of a bzImage (the Linux x86 boot protocol's setup header names the
 * compressed payload; Debian's is XZ, its cloud flavour LZ4), its section
 * table, and reads of its initialised data by link-time virtual address.
 *
 * This is where introspection gets everything it knows about a kernel build
 * (BTF in btf.h, symbols in kallsyms.h) without a System.map or debug
 * package.  It owns no guest state: addresses here are link-time ones, and
 * a running guest's are these plus the KASLR slide, found at run time.
 */
#ifndef LOOM_SYSTEM_OSI_VMLINUX_H
#define LOOM_SYSTEM_OSI_VMLINUX_H

#include <stddef.h>
#include <stdint.h>

struct osi_section {
	const char *name;	/* points into the image's .shstrtab */
	uint64_t addr;		/* link-time virtual address (0 for per-cpu data) */
	uint64_t size;
	uint64_t offset;	/* file offset in the ELF */
	uint32_t type;		/* SHT_* */
	uint64_t flags;		/* SHF_* */
};

struct osi_vmlinux {
	uint8_t *elf;		/* the whole ELF file, owned */
	size_t size;
	uint64_t entry;		/* e_entry */
	struct osi_section *sections;
	unsigned nsections;
};

/*
 * Decompress the payload of a bzImage into a malloc'd ELF vmlinux.
 * 0 with *out and *outlen set, or -1 with one line in err (not a bzImage,
 * truncated, a compression this build cannot read, a corrupt stream).
 */
int osi_bzimage_payload(const uint8_t *bz, size_t len, uint8_t **out, size_t *outlen,
			char *err, size_t errsz);

/*
 * Decompress the kernel's legacy-LZ4 stream (magic 02 21 4c 18, then blocks
 * each preceded by its 32-bit compressed size) into out, which holds cap
 * bytes.  The number of bytes written, or -1 on corrupt input.
 */
long osi_unlz4_legacy(const uint8_t *in, size_t len, uint8_t *out, size_t cap);

/* Open PATH as a bzImage or as an ELF vmlinux.  0, or -1 with err set. */
int osi_vmlinux_open(struct osi_vmlinux *vm, const char *path, char *err, size_t errsz);
/* The same over a buffer the vmlinux takes ownership of (freed on error too). */
int osi_vmlinux_from_elf(struct osi_vmlinux *vm, uint8_t *elf, size_t size, char *err,
			 size_t errsz);
void osi_vmlinux_close(struct osi_vmlinux *vm);

/* The section called name, or NULL. */
const struct osi_section *osi_vmlinux_section(const struct osi_vmlinux *vm, const char *name);
/* The bytes of a section (NULL for NOBITS or a section outside the file). */
const uint8_t *osi_section_data(const struct osi_vmlinux *vm, const struct osi_section *s);
/*
 * The image's bytes at [vaddr, vaddr+len) if they lie in one allocated
 * section with contents in the file (not .bss, not the per-cpu template,
 * whose addresses start at 0), else NULL.
 */
const uint8_t *osi_vmlinux_at(const struct osi_vmlinux *vm, uint64_t vaddr, size_t len);

#endif
