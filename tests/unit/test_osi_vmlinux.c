/*
 * bzImage → vmlinux (src/system/osi/vmlinux.c):
 *   - the LZ4 block decoder on sequences written out by hand from the
 *     format (literals, an overlapping match, extended lengths, corrupt
 *     offsets);
 *   - bzImages assembled here around payloads compressed by the xz and lz4
 *     programs (independent encoders; lz4 with -l, the kernel's legacy
 *     frame), decompressed back to the original bytes; and bad images
 *     (no setup header, a truncated payload, gzip, a corrupt stream) each
 *     refused with its line;
 *   - Debian's kernel (SKIPped when not fetched): an x86-64 ELF whose .text
 *     starts at __START_KERNEL_map + CONFIG_PHYSICAL_START from the
 *     package's config, with the sections introspection reads.
 */
#include "unit.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "osi_kernel.h"
#include "system/osi/vmlinux.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void test_lz4_blocks(void)
{
	uint8_t out[64];
	/* token 0x22: 2 literals "ab", then a match of 2+4 at distance 2
	 * (overlapping: it copies what it writes), then the last literal. */
	static const uint8_t s1[] = { 0x02, 0x21, 0x4c, 0x18, 7, 0, 0, 0,
				      0x22, 'a', 'b', 2, 0, 0x10, 'c' };
	long n = osi_unlz4_legacy(s1, sizeof s1, out, sizeof out);
	CHECK_EQ(n, 9);
	CHECK(n == 9 && !memcmp(out, "ababababc", 9));
	/* Extended lengths: 15 + 3 = 18 literals, then a match of
	 * 15 + 4 + 1 = 20 at distance 1, then no literals... the last
	 * sequence must be literals only, so end with token 0x10 'z'. */
	uint8_t s2[64] = { 0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0, 0xff, 3 };
	size_t k = 10;
	for (int i = 0; i < 18; i++)
		s2[k++] = (uint8_t)('A' + i);
	s2[k++] = 1, s2[k++] = 0, s2[k++] = 1;	/* distance 1, +1 length */
	s2[k++] = 0x10, s2[k++] = 'z';
	put32(s2 + 4, (uint32_t)(k - 8));
	n = osi_unlz4_legacy(s2, k, out, sizeof out);
	CHECK_EQ(n, 18 + 20 + 1);
	bool ok = n == 39 && !memcmp(out, "ABCDEFGHIJKLMNOPQR", 18) && out[38] == 'z';
	for (int i = 18; i < 38 && ok; i++)
		ok = out[i] == 'R';
	CHECK(ok);
	/* Two blocks; then a trailing 32-bit size (what the kernel appends),
	 * which is not a block. */
	static const uint8_t s3[] = { 0x02, 0x21, 0x4c, 0x18, 2, 0, 0, 0, 0x10, 'x',
				      2, 0, 0, 0, 0x10, 'y', 2, 0, 0, 0 };
	n = osi_unlz4_legacy(s3, sizeof s3 - 2, out, 2);
	CHECK_EQ(n, 2);
	CHECK(!memcmp(out, "xy", 2));
	/* A distance reaching before the output, a zero distance, a wrong
	 * magic, and output that does not fit. */
	static const uint8_t bad1[] = { 0x02, 0x21, 0x4c, 0x18, 6, 0, 0, 0,
					0x10, 'a', 5, 0, 0x10, 'c' };
	CHECK_EQ(osi_unlz4_legacy(bad1, sizeof bad1, out, sizeof out), -1);
	static const uint8_t bad2[] = { 0x02, 0x21, 0x4c, 0x18, 6, 0, 0, 0,
					0x10, 'a', 0, 0, 0x10, 'c' };
	CHECK_EQ(osi_unlz4_legacy(bad2, sizeof bad2, out, sizeof out), -1);
	static const uint8_t bad3[] = { 0x04, 0x22, 0x4d, 0x18, 2, 0, 0, 0, 0x10, 'x' };
	CHECK_EQ(osi_unlz4_legacy(bad3, sizeof bad3, out, sizeof out), -1);
	CHECK_EQ(osi_unlz4_legacy(s1, sizeof s1, out, 4), -1);
}

/* Test data that compresses but not to nothing: text with some noise. */
static size_t make_data(uint8_t *p, size_t n)
{
	uint64_t s = 0x1234567;
	static const char words[] = "the quick brown fox jumps over the lazy kernel ";
	for (size_t i = 0; i < n; i++)
		p[i] = (unit_xorshift(&s) & 7) == 0 ? (uint8_t)unit_xorshift(&s) : (uint8_t)words[i % 47];
	return n;
}

/* Run "PROG ARGS < in > out"; the output's bytes (malloc'd) or NULL. */
static uint8_t *compress_with(const char *cmd, const uint8_t *in, size_t len, size_t *outlen)
{
	char inpath[] = "/tmp/loom-osi-in-XXXXXX", outpath[] = "/tmp/loom-osi-out-XXXXXX";
	int fi = mkstemp(inpath), fo = mkstemp(outpath);
	if (fi < 0 || fo < 0)
		return NULL;
	uint8_t *buf = NULL;
	if (write(fi, in, len) == (ssize_t)len) {
		char full[512];
		snprintf(full, sizeof full, "%s <%s >%s", cmd, inpath, outpath);
		if (system(full) == 0) {
			FILE *f = fopen(outpath, "rb");
			buf = malloc(len + 4096);
			*outlen = f && buf ? fread(buf, 1, len + 4096, f) : 0;
			if (f)
				fclose(f);
		}
	}
	close(fi);
	close(fo);
	unlink(inpath);
	unlink(outpath);
	return buf;
}

/* A bzImage around payload: 1 setup sector + the boot sector, the setup
 * header's fields, then payload_offset bytes of "decompressor" and the
 * payload with the decompressed size appended, as the kernel's build does. */
static uint8_t *make_bzimage(const uint8_t *payload, size_t plen, uint32_t size, size_t *len)
{
	size_t pm = 2 * 512, off = 0x100;
	*len = pm + off + plen + 4;
	uint8_t *bz = calloc(1, *len);
	bz[0x1f1] = 1;			/* setup_sects */
	memcpy(bz + 0x202, "HdrS", 4);
	bz[0x206] = 0x0f, bz[0x207] = 0x02;	/* protocol 2.15 */
	put32(bz + 0x248, (uint32_t)off);
	put32(bz + 0x24c, (uint32_t)plen + 4);
	memcpy(bz + pm + off, payload, plen);
	put32(bz + pm + off + plen, size);
	return bz;
}

static void roundtrip(const char *tool, const char *cmd)
{
	static uint8_t data[300000];
	size_t n = make_data(data, sizeof data);
	if (!osi_test_have(tool)) {
		char why[100];
		snprintf(why, sizeof why, "bzImage with a %s payload: %s not installed", tool, tool);
		SKIP(why);
		return;
	}
	size_t clen = 0;
	uint8_t *c = compress_with(cmd, data, n, &clen);
	CHECK(c != NULL && clen > 16 && clen < n);
	if (!c)
		return;
	size_t bzlen;
	uint8_t *bz = make_bzimage(c, clen, (uint32_t)n, &bzlen);
	uint8_t *out = NULL;
	size_t outlen = 0;
	char err[200] = "";
	int r = osi_bzimage_payload(bz, bzlen, &out, &outlen, err, sizeof err);
	if (r)
		fprintf(stderr, "%s: %s\n", tool, err);
	CHECK_EQ(r, 0);
	CHECK_EQ(outlen, n);
	CHECK(out && outlen == n && !memcmp(out, data, n));
	free(out);
	/* The payload cut short: the stream ends early. */
	put32(bz + 0x24c, (uint32_t)clen / 2);
	put32(bz + 2 * 512 + 0x100 + clen / 2 - 4, (uint32_t)n);
	CHECK_EQ(osi_bzimage_payload(bz, bzlen, &out, &outlen, err, sizeof err), -1);
	CHECK(strstr(err, tool) != NULL);
	/* A byte of the stream flipped */
	put32(bz + 0x24c, (uint32_t)clen + 4);
	memcpy(bz + 2 * 512 + 0x100, c, clen);
	bz[2 * 512 + 0x100 + clen / 2] ^= 0x55;
	int rc = osi_bzimage_payload(bz, bzlen, &out, &outlen, err, sizeof err);
	/* LZ4 has no checksum in the legacy frame: a flipped byte may still
	 * decode (to other bytes); XZ's CRC catches it. */
	if (!strcmp(tool, "xz"))
		CHECK_EQ(rc, -1);
	else if (rc == 0)
		free(out);
	free(bz);
	free(c);
}

static void refused(const uint8_t *bz, size_t len, const char *msg)
{
	uint8_t *out = NULL;
	size_t outlen;
	char err[200] = "";
	CHECK_EQ(osi_bzimage_payload(bz, len, &out, &outlen, err, sizeof err), -1);
	if (!strstr(err, msg))
		fprintf(stderr, "error '%s', expected '%s'\n", err, msg);
	CHECK(strstr(err, msg) != NULL);
}

static void test_bad_images(void)
{
	static const uint8_t gz[] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	size_t len;
	uint8_t *bz = make_bzimage(gz, sizeof gz, 100, &len);
	refused(bz, len, "payload is gzip; only xz and lz4 are read");
	refused(bz, 0x240, "not a bzImage");
	memcpy(bz + 0x202, "HdrX", 4);
	refused(bz, len, "not a bzImage");
	memcpy(bz + 0x202, "HdrS", 4);
	bz[0x206] = 0x04;		/* protocol 2.04 */
	refused(bz, len, "boot protocol 2.04");
	bz[0x206] = 0x0f;
	put32(bz + 0x24c, 1u << 30);
	refused(bz, len, "truncated");
	put32(bz + 0x24c, sizeof gz + 4);
	bz[2 * 512 + 0x100] = 0x42;
	refused(bz, len, "unknown compression");
	free(bz);

	struct osi_vmlinux vm;
	char err[300];
	CHECK_EQ(osi_vmlinux_open(&vm, "/nonexistent/vmlinuz", err, sizeof err), -1);
	CHECK(strstr(err, "No such file") != NULL);
	/* An ELF that is not x86-64 */
	static uint8_t elf[128] = { 0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, 1 };
	elf[18] = EM_AARCH64;
	uint8_t *copy = malloc(sizeof elf);
	memcpy(copy, elf, sizeof elf);
	CHECK_EQ(osi_vmlinux_from_elf(&vm, copy, sizeof elf, err, sizeof err), -1);
	CHECK(strstr(err, "x86-64") != NULL);
	/* An x86-64 ELF whose section table lies past its end */
	elf[18] = EM_X86_64;
	elf[0x28] = 0xff, elf[0x29] = 0xff;		/* e_shoff */
	elf[0x3a] = sizeof(Elf64_Shdr), elf[0x3c] = 3;	/* e_shentsize, e_shnum */
	copy = malloc(sizeof elf);
	memcpy(copy, elf, sizeof elf);
	CHECK_EQ(osi_vmlinux_from_elf(&vm, copy, sizeof elf, err, sizeof err), -1);
	CHECK(strstr(err, "section header table") != NULL);
}

/* CONFIG_NAME's value from the kernel package's config beside vmlinuz. */
static bool config_value(const char *name, unsigned long long *v)
{
	char path[512], line[512];
	snprintf(path, sizeof path, "%s", osi_test_kernel_path());
	char *slash = strrchr(path, '/');
	snprintf(slash ? slash + 1 : path, sizeof path - (slash ? (size_t)(slash + 1 - path) : 0),
		 "config");
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = strlen(name);
	bool found = false;
	while (!found && fgets(line, sizeof line, f))
		if (!strncmp(line, name, n) && line[n] == '=') {
			*v = strtoull(line + n + 1, NULL, 0);
			found = true;
		}
	fclose(f);
	return found;
}

static void test_kernel(void)
{
	struct osi_vmlinux vm;
	if (!osi_test_open_kernel(&vm, "Debian's vmlinux"))
		return;
	printf("vmlinux: %zu bytes, %u sections\n", vm.size, vm.nsections);
	CHECK(vm.size > 20u << 20);
	const struct osi_section *text = osi_vmlinux_section(&vm, ".text");
	CHECK(text != NULL);
	unsigned long long phys;
	if (!config_value("CONFIG_PHYSICAL_START", &phys)) {
		SKIP("vmlinux .text address: no config beside the kernel");
	} else if (text) {
		/* __START_KERNEL_map is 0xffffffff80000000 on x86-64 */
		CHECK_EQ(text->addr, 0xffffffff80000000ull + phys);
		CHECK_EQ(vm.entry, phys);	/* e_entry: startup_64's physical address */
	}
	static const char *const want[] = { ".rodata", ".data", ".BTF", "__ksymtab",
					    "__ksymtab_gpl", "__ksymtab_strings", ".data..percpu" };
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		CHECK(osi_vmlinux_section(&vm, want[i]) != NULL);
	CHECK(osi_vmlinux_section(&vm, ".symtab") == NULL);	/* stripped: why kallsyms */
	if (text) {
		CHECK(osi_vmlinux_at(&vm, text->addr, 16) == osi_section_data(&vm, text));
		CHECK(osi_vmlinux_at(&vm, text->addr + text->size - 4, 4) != NULL);
		CHECK(osi_vmlinux_at(&vm, text->addr + text->size - 4, 8) == NULL);
	}
	const struct osi_section *bss = osi_vmlinux_section(&vm, ".bss");
	CHECK(bss && osi_vmlinux_at(&vm, bss->addr, 8) == NULL);
	CHECK(osi_vmlinux_at(&vm, 0x100, 8) == NULL);	/* per-cpu offsets are not addresses */
	osi_vmlinux_close(&vm);
}

void unit_main(void)
{
	test_lz4_blocks();
	roundtrip("xz", "xz --format=xz --check=crc32 --x86 --lzma2=preset=6 -c");
	roundtrip("lz4", "lz4 -l -9 -c");
	test_bad_images();
	test_kernel();
}
