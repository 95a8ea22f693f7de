/*
 * bzImage → vmlinux, and the ELF section table of the result.
 *
 * The setup header of the Linux x86 boot protocol (at 0x1f1 of the file)
 * says where the protected-mode part starts ((setup_sects + 1) * 512) and,
 * from protocol 2.08 on, where in it the compressed kernel lies
 * (payload_offset, payload_length).  The kernel's build appends the
 * decompressed size as 32 little-endian bits to the payload, so the output
 * buffer is sized exactly and a short stream is caught.  XZ goes through
 * liblzma (the x86 BCJ filter the kernel uses is in it); LZ4 is the
 * legacy-frame format, simple enough to decode here.  Other compressions
 * are named in the error rather than guessed at.
 *
 * Everything read from the file is bounds-checked: a truncated or hostile
 * image gives an error line, never an out-of-bounds read.
 */
#include "system/osi/vmlinux.h"
#include "system/osi/util.h"
#include "util/log.h"

#include <elf.h>
#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BZ_SETUP_SECTS 0x1f1
#define BZ_HDRS 0x202		/* "HdrS" */
#define BZ_VERSION 0x206
#define BZ_PAYLOAD_OFFSET 0x248
#define BZ_PAYLOAD_LENGTH 0x24c
#define BZ_MIN_VERSION 0x208	/* payload_offset/length appeared in 2.08 */

#define LZ4_LEGACY_MAGIC 0x184c2102u


/* A compressed stream's name from its first bytes, for the error line. */
static const char *compression_name(const uint8_t *p, size_t n)
{
	static const struct { const char *name; uint8_t len, magic[6]; } known[] = {
		{ "xz", 6, { 0xfd, '7', 'z', 'X', 'Z', 0 } },
		{ "lz4", 4, { 0x02, 0x21, 0x4c, 0x18 } },
		{ "gzip", 2, { 0x1f, 0x8b } },
		{ "bzip2", 3, { 'B', 'Z', 'h' } },
		{ "zstd", 4, { 0x28, 0xb5, 0x2f, 0xfd } },
		{ "lzo", 4, { 0x89, 'L', 'Z', 'O' } },
		{ "lzma", 3, { 0x5d, 0x00, 0x00 } },
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (n >= known[i].len && !memcmp(p, known[i].magic, known[i].len))
			return known[i].name;
	return NULL;
}

static int unxz(const uint8_t *in, size_t len, uint8_t *out, size_t outlen, char *err,
		size_t errsz)
{
	lzma_stream s = LZMA_STREAM_INIT;
	if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK)
		return fail_msg(err, errsz, "liblzma: cannot start a decoder");
	s.next_in = in;
	s.avail_in = len;
	s.next_out = out;
	s.avail_out = outlen;
	/* LZMA_FINISH: the whole stream is in memory.  The 4-byte size the
	 * kernel appends follows the stream's end; the decoder stops before
	 * it, which is why this is not lzma_stream_buffer_decode. */
	lzma_ret r = lzma_code(&s, LZMA_FINISH);
	size_t got = outlen - s.avail_out;
	lzma_end(&s);
	if (r != LZMA_STREAM_END)
		return fail_msg(err, errsz, "xz payload: decoder error %d after %zu bytes", (int)r, got);
	if (got != outlen)
		return fail_msg(err, errsz, "xz payload: %zu bytes, the image says %zu", got, outlen);
	return 0;
}

/* One LZ4 block: sequences of (token, literals, offset, match) until the
 * input ends on literals.  -1 on a reference outside what was written. */
static long unlz4_block(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	size_t ip = 0, op = 0;
	while (ip < len) {
		uint8_t token = in[ip++];
		size_t lit = token >> 4;
		if (lit == 15) {
			uint8_t b;
			do {
				if (ip >= len)
					return -1;
				b = in[ip++];
				lit += b;
			} while (b == 255);
		}
		if (lit > len - ip || lit > cap - op)
			return -1;
		memcpy(out + op, in + ip, lit);
		ip += lit;
		op += lit;
		if (ip == len)
			break;		/* the last sequence has literals only */
		if (len - ip < 2)
			return -1;
		size_t off = osi_rd16(in + ip);
		ip += 2;
		size_t mlen = (token & 15) + 4;
		if ((token & 15) == 15) {
			uint8_t b;
			do {
				if (ip >= len)
					return -1;
				b = in[ip++];
				mlen += b;
			} while (b == 255);
		}
		if (off == 0 || off > op || mlen > cap - op)
			return -1;
		/* Byte by byte: a match may overlap what it produces. */
		for (size_t i = 0; i < mlen; i++, op++)
			out[op] = out[op - off];
	}
	return (long)op;
}

long osi_unlz4_legacy(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	size_t ip = 0, op = 0;
	if (len < 4 || osi_rd32(in) != LZ4_LEGACY_MAGIC)
		return -1;
	ip = 4;
	while (len - ip >= 4) {
		uint32_t csize = osi_rd32(in + ip);
		if (csize == LZ4_LEGACY_MAGIC) {	/* concatenated streams */
			ip += 4;
			continue;
		}
		/* A size that runs past the input is the trailer the kernel's
		 * build appends (or garbage): the stream ended before it. */
		if (csize > len - ip - 4)
			break;
		long n = unlz4_block(in + ip + 4, csize, out + op, cap - op);
		if (n < 0)
			return -1;
		op += (size_t)n;
		ip += 4 + (size_t)csize;
		if (op == cap)
			break;
	}
	return (long)op;
}

int osi_bzimage_payload(const uint8_t *bz, size_t len, uint8_t **out, size_t *outlen,
			char *err, size_t errsz)
{
	if (len < BZ_PAYLOAD_LENGTH + 4 || osi_rd32(bz + BZ_HDRS) != 0x53726448u)
		return fail_msg(err, errsz, "not a bzImage (no HdrS setup header)");
	uint16_t version = osi_rd16(bz + BZ_VERSION);
	if (version < BZ_MIN_VERSION)
		return fail_msg(err, errsz, "boot protocol %u.%02u has no payload fields (need 2.08)",
			    version >> 8, version & 0xff);
	size_t setup_sects = bz[BZ_SETUP_SECTS] ? bz[BZ_SETUP_SECTS] : 4;
	size_t start = (setup_sects + 1) * 512 + osi_rd32(bz + BZ_PAYLOAD_OFFSET);
	size_t plen = osi_rd32(bz + BZ_PAYLOAD_LENGTH);
	if (start > len || plen > len - start || plen < 8)
		return fail_msg(err, errsz, "bzImage truncated: payload at %zu+%zu, file %zu bytes",
			    start, plen, len);
	const uint8_t *p = bz + start;
	size_t size = osi_rd32(p + plen - 4);
	const char *kind = compression_name(p, plen);
	if (!kind)
		return fail_msg(err, errsz, "bzImage payload: unknown compression (%02x %02x %02x %02x)",
			    p[0], p[1], p[2], p[3]);
	if (strcmp(kind, "xz") && strcmp(kind, "lz4"))
		return fail_msg(err, errsz, "bzImage payload is %s; only xz and lz4 are read", kind);
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		return fail_msg(err, errsz, "out of memory for a %zu-byte vmlinux", size);
	if (!strcmp(kind, "xz")) {
		if (unxz(p, plen - 4, buf, size, err, errsz) < 0) {
			free(buf);
			return -1;
		}
	} else {
		long n = osi_unlz4_legacy(p, plen - 4, buf, size);
		if (n != (long)size) {
			free(buf);
			return n < 0 ? fail_msg(err, errsz, "lz4 payload: corrupt stream")
				     : fail_msg(err, errsz, "lz4 payload: %ld bytes, the image says %zu",
					    n, size);
		}
	}
	*out = buf;
	*outlen = size;
	return 0;
}

int osi_vmlinux_from_elf(struct osi_vmlinux *vm, uint8_t *elf, size_t size, char *err,
			 size_t errsz)
{
	memset(vm, 0, sizeof *vm);
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)elf;
	if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64) {
		free(elf);
		return fail_msg(err, errsz, "vmlinux: not a little-endian x86-64 ELF64 file");
	}
	uint64_t shoff = eh->e_shoff, shnum = eh->e_shnum;
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || shoff > size ||
	    shnum > (size - shoff) / sizeof(Elf64_Shdr) || eh->e_shstrndx >= shnum) {
		free(elf);
		return fail_msg(err, errsz, "vmlinux: section header table outside the file");
	}
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(elf + shoff);
	const Elf64_Shdr *strsh = &sh[eh->e_shstrndx];
	if (strsh->sh_offset > size || strsh->sh_size > size - strsh->sh_offset ||
	    !strsh->sh_size || elf[strsh->sh_offset + strsh->sh_size - 1]) {
		free(elf);
		return fail_msg(err, errsz, "vmlinux: bad section name table");
	}
	vm->sections = calloc(shnum ? shnum : 1, sizeof *vm->sections);
	if (!vm->sections) {
		free(elf);
		return fail_msg(err, errsz, "out of memory");
	}
	for (unsigned i = 0; i < shnum; i++) {
		struct osi_section *s = &vm->sections[i];
		const char *names = (const char *)elf + strsh->sh_offset;
		s->name = sh[i].sh_name < strsh->sh_size ? names + sh[i].sh_name : "";
		s->addr = sh[i].sh_addr;
		s->size = sh[i].sh_size;
		s->offset = sh[i].sh_offset;
		s->type = sh[i].sh_type;
		s->flags = sh[i].sh_flags;
		if (s->type != SHT_NOBITS && (s->offset > size || s->size > size - s->offset)) {
			free(vm->sections);
			free(elf);
			memset(vm, 0, sizeof *vm);
			return fail_msg(err, errsz, "vmlinux: section %s runs past the end of the file",
				    s->name);
		}
	}
	vm->elf = elf;
	vm->size = size;
	vm->entry = eh->e_entry;
	vm->nsections = shnum;
	return 0;
}

int osi_vmlinux_open(struct osi_vmlinux *vm, const char *path, char *err, size_t errsz)
{
	memset(vm, 0, sizeof *vm);
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail_msg(err, errsz, "%s: %s", path, strerror(errno));
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			uint8_t *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return fail_msg(err, errsz, "%s: out of memory", path);
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	int rerr = ferror(f);
	fclose(f);
	if (rerr) {
		free(buf);
		return fail_msg(err, errsz, "%s: read error", path);
	}
	if (len >= SELFMAG && !memcmp(buf, ELFMAG, SELFMAG))
		return osi_vmlinux_from_elf(vm, buf, len, err, errsz);
	uint8_t *elf;
	size_t elflen;
	char why[200];
	int r = osi_bzimage_payload(buf, len, &elf, &elflen, why, sizeof why);
	free(buf);
	if (r < 0)
		return fail_msg(err, errsz, "%s: %s", path, why);
	if (osi_vmlinux_from_elf(vm, elf, elflen, why, sizeof why) < 0)
		return fail_msg(err, errsz, "%s: %s", path, why);
	return 0;
}

void osi_vmlinux_close(struct osi_vmlinux *vm)
{
	free(vm->sections);
	free(vm->elf);
	memset(vm, 0, sizeof *vm);
}

const struct osi_section *osi_vmlinux_section(const struct osi_vmlinux *vm, const char *name)
{
	for (unsigned i = 0; i < vm->nsections; i++)
		if (!strcmp(vm->sections[i].name, name))
			return &vm->sections[i];
	return NULL;
}

const uint8_t *osi_section_data(const struct osi_vmlinux *vm, const struct osi_section *s)
{
	if (!s || s->type == SHT_NOBITS)
		return NULL;
	return vm->elf + s->offset;
}

const uint8_t *osi_vmlinux_at(const struct osi_vmlinux *vm, uint64_t vaddr, size_t len)
{
	for (unsigned i = 0; i < vm->nsections; i++) {
		const struct osi_section *s = &vm->sections[i];
		/* The per-cpu template is linked at 0: its addresses are
		 * offsets, not kernel addresses, and would alias low ones. */
		if (!(s->flags & SHF_ALLOC) || s->type == SHT_NOBITS || s->addr == 0)
			continue;
		if (vaddr >= s->addr && vaddr - s->addr <= s->size && len <= s->size - (vaddr - s->addr))
			return vm->elf + s->offset + (vaddr - s->addr);
	}
	return NULL;
}
