/*
 * The bzImage loader (src/system/boot.c) on Debian 12's own kernel,
 * build/guest/vmlinuz (scripts/guest-kernel.sh fetches it; without it
 * those checks are skipped, visibly).  Expectations come from the boot
 * protocol and the file itself, read here independently of the loader:
 * the zero page holds the file's setup header, the kernel's bytes sit at
 * pref_address, the initrd's at a page-aligned address under its limits,
 * and a page walk written here (4-level, 2 MiB/1 GiB pages) finds every
 * piece the protocol says the identity map must cover.  The e820 map is
 * checked against QEMU -M pc's layout of low memory.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "system/boot.h"
#include "system/pc.h"
#include "system/physmem.h"
#include "unit.h"

static uint8_t *slurp(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0) {
		if (f)
			fclose(f);
		return NULL;
	}
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	if (buf && fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*size = (size_t)st.st_size;
	return buf;
}

static uint64_t rd(const uint8_t *p, size_t off, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[off + i] << (8 * i);
	return v;
}

/* The reference walk: the physical address va maps to, or ~0 if not
 * present; *writable says whether every level allows writes. */
static uint64_t walk(uint64_t cr3, uint64_t va, int *writable)
{
	uint64_t table = cr3 & ~0xfffull;
	int w = 1;
	for (int level = 3; level >= 0; level--) {
		uint8_t *t = physmem_ptr(table, 4096);
		if (!t)
			return ~0ull;
		uint64_t e = rd(t, ((va >> (12 + 9 * level)) & 511) * 8, 8);
		if (!(e & 1))
			return ~0ull;
		w &= (e >> 1) & 1;
		uint64_t frame = e & 0x000ffffffffff000ull;
		if (level == 0 || ((level == 1 || level == 2) && (e & 0x80))) {
			uint64_t page = 1ull << (12 + 9 * level);
			*writable = w;
			return (frame & ~(page - 1)) | (va & (page - 1));
		}
		table = frame;
	}
	return ~0ull;
}

static void check_idmap(uint64_t cr3, uint64_t addr, uint64_t len)
{
	for (uint64_t a = addr; a < addr + len; a += 0x200000) {
		int w = 0;
		CHECK_EQ(walk(cr3, a, &w), a);
		CHECK(w);
	}
	int w = 0;
	CHECK_EQ(walk(cr3, addr + len - 1, &w), addr + len - 1);
}

static void test_e820_layout(void)
{
	struct boot_e820 map[BOOT_E820_MAX];
	CHECK_EQ(physmem_init(512ull << 20), 0);
	unsigned n = boot_e820_map(map, BOOT_E820_MAX);
	/* QEMU -M pc -m 512 (its boot log's BIOS-e820 lines): RAM to 0x9fc00,
	 * reserved above it (the EBDA, then the BIOS area from 0xf0000), RAM
	 * from 1 MiB.  loom has no BIOS tables at the top of RAM, so low RAM
	 * runs to the end; the local APIC/I/O APIC/HPET window to 4 GiB is
	 * reserved. */
	CHECK_EQ(n, 4);
	CHECK_EQ(map[0].addr, 0); CHECK_EQ(map[0].size, 0x9fc00); CHECK_EQ(map[0].type, 1);
	CHECK_EQ(map[1].addr, 0x9fc00); CHECK_EQ(map[1].size, 0x100000 - 0x9fc00);
	CHECK_EQ(map[1].type, 2);
	CHECK_EQ(map[2].addr, 0x100000); CHECK_EQ(map[2].size, (512ull << 20) - 0x100000);
	CHECK_EQ(map[2].type, 1);
	CHECK_EQ(map[3].addr, 0xfec00000); CHECK_EQ(map[3].size, 0x1400000); CHECK_EQ(map[3].type, 2);
	physmem_fini();

	/* 5 GiB: what does not fit below PHYSMEM_LOW_MAX continues at 4 GiB. */
	CHECK_EQ(physmem_init(5ull << 30), 0);
	n = boot_e820_map(map, BOOT_E820_MAX);
	CHECK_EQ(n, 5);
	CHECK_EQ(map[2].addr + map[2].size, PHYSMEM_LOW_MAX);
	CHECK_EQ(map[4].addr, 1ull << 32);
	CHECK_EQ(map[4].size, (5ull << 30) - PHYSMEM_LOW_MAX);
	CHECK_EQ(map[4].type, 1);
	physmem_fini();
}

static void test_debian_kernel(void)
{
	const char *kpath = "build/guest/vmlinuz";
	const char *ipath = "build/guest/initrd.img";
	const char *cmdline = "console=ttyS0 panic=-1 nokaslr";
	size_t ksize, isize;
	uint8_t *k = slurp(kpath, &ksize), *ird = slurp(ipath, &isize);
	if (!k || !ird) {
		SKIP("build/guest/vmlinuz or initrd.img missing (scripts/guest-kernel.sh fetches them)");
		free(k);
		free(ird);
		return;
	}
	struct boot_cpu_state cpu;
	static struct boot_layout layout;
	char err[256] = "";
	CHECK_EQ(physmem_init(512ull << 20), 0);
	struct boot_linux_args args = { kpath, ipath, cmdline };
	int r = boot_linux(&args, &cpu, &layout, err, sizeof(err));
	CHECK_EQ(r, 0);
	if (r) {
		fprintf(stderr, "boot_linux: %s\n", err);
		goto out;
	}

	/* The header, from the file. */
	uint16_t version = (uint16_t)rd(k, 0x206, 2);
	uint64_t pref = rd(k, 0x258, 8), align = rd(k, 0x230, 4);
	unsigned sects = k[0x1f1] ? k[0x1f1] : 4;
	size_t setup = (sects + 1) * 512ul;
	size_t hdr_end = 0x202 + k[0x201];
	CHECK(version >= 0x020c);
	CHECK_EQ(layout.version, version);
	CHECK_EQ(layout.kernel_addr, pref);
	CHECK_EQ(layout.kernel_addr & (align - 1), 0);
	CHECK_EQ(layout.kernel_file_size, ksize - setup);
	CHECK_EQ(layout.init_size, rd(k, 0x260, 4));
	CHECK(!memcmp(physmem_ptr(pref, ksize - setup), k + setup, ksize - setup));

	/* The zero page: the header copied, then the loader's fields. */
	uint8_t *bp = physmem_ptr(BOOT_PARAMS_ADDR, 4096);
	static const struct { unsigned off, len; } loader_owned[] = {
		{ 0x210, 1 }, { 0x211, 1 }, { 0x218, 4 }, { 0x21c, 4 }, { 0x224, 2 }, { 0x228, 4 },
	};
	int same = 1;
	for (size_t off = 0x1f1; off < hdr_end; off++) {
		int owned = 0;
		for (size_t i = 0; i < sizeof(loader_owned) / sizeof(loader_owned[0]); i++)
			if (off >= loader_owned[i].off && off < loader_owned[i].off + loader_owned[i].len)
				owned = 1;
		if (!owned && bp[off] != k[off])
			same = 0;
	}
	CHECK(same);
	CHECK_EQ(rd(bp, 0x202, 4), 0x53726448);		/* "HdrS" */
	CHECK_EQ(bp[0x210], 0xff);			/* type_of_loader */
	CHECK_EQ(bp[0x211] & 0x81, 0x81);		/* LOADED_HIGH, CAN_USE_HEAP */
	CHECK_EQ(rd(bp, 0x070, 8), PC_ACPI_RSDP);	/* acpi_rsdp_addr */
	uint64_t cl = rd(bp, 0x228, 4) | rd(bp, 0x0c8, 4) << 32;
	CHECK(cl && !strcmp(physmem_ptr(cl, strlen(cmdline) + 1), cmdline));

	/* The initrd. */
	uint64_t ia = rd(bp, 0x218, 4) | rd(bp, 0x0c0, 4) << 32;
	uint64_t is = rd(bp, 0x21c, 4) | rd(bp, 0x0c4, 4) << 32;
	CHECK_EQ(is, isize);
	CHECK_EQ(ia & 0xfff, 0);
	CHECK(ia >= pref + rd(k, 0x260, 4));		/* above the kernel's init_size */
	CHECK(ia + is <= (512ull << 20));
	CHECK(ia + is <= rd(k, 0x22c, 4) + 1ull);	/* initrd_addr_max */
	CHECK(ia + is > (512ull << 20) - 0x1000);	/* as high as it goes */
	CHECK(!memcmp(physmem_ptr(ia, is), ird, is));

	/* The e820 table in the zero page. */
	unsigned n = bp[0x1e8];
	CHECK_EQ(n, 4);
	CHECK_EQ(rd(bp, 0x2d0, 8), 0);
	CHECK_EQ(rd(bp, 0x2d0 + 8, 8), 0x9fc00);
	CHECK_EQ(rd(bp, 0x2d0 + 16, 4), 1);
	CHECK_EQ(rd(bp, 0x2d0 + 2 * 20, 8), 0x100000);
	CHECK_EQ(rd(bp, 0x2d0 + 2 * 20 + 8, 8), (512ull << 20) - 0x100000);
	CHECK_EQ(rd(bp, 0x2d0 + 2 * 20 + 16, 4), 1);

	/* The 64-bit entry state. */
	CHECK_EQ(cpu.rip, pref + 0x200);
	CHECK_EQ(cpu.rsi, BOOT_PARAMS_ADDR);
	CHECK_EQ(cpu.rflags & 0x200, 0);		/* IF clear */
	CHECK_EQ(cpu.cr0 & 0x80000001, 0x80000001);	/* PG, PE */
	CHECK_EQ(cpu.cr4 & 0x20, 0x20);			/* PAE */
	CHECK_EQ(cpu.efer & 0x500, 0x500);		/* LME, LMA */
	CHECK_EQ(cpu.cs, 0x10);
	CHECK_EQ(cpu.ds, 0x18);
	CHECK_EQ(cpu.es, 0x18);
	CHECK_EQ(cpu.ss, 0x18);
	/* The GDT's descriptors: flat 4 GiB, 64-bit code and writable data. */
	CHECK(cpu.gdt_limit >= 0x1f);
	uint8_t *gdt = physmem_ptr(cpu.gdt_base, cpu.gdt_limit + 1);
	uint64_t cs = rd(gdt, 0x10, 8), ds = rd(gdt, 0x18, 8);
	CHECK_EQ(cs & 0xffff, 0xffff);			/* limit 15:0 */
	CHECK_EQ((cs >> 48) & 0xf, 0xf);		/* limit 19:16 */
	CHECK_EQ(((cs >> 16) & 0xffffff) | ((cs >> 56) << 24), 0);	/* base */
	CHECK_EQ((cs >> 47) & 1, 1);			/* P */
	CHECK_EQ((cs >> 44) & 1, 1);			/* S */
	CHECK_EQ((cs >> 43) & 1, 1);			/* code */
	CHECK_EQ((cs >> 41) & 1, 1);			/* readable */
	CHECK_EQ((cs >> 53) & 3, 1);			/* L=1, D=0 */
	CHECK_EQ((cs >> 45) & 3, 0);			/* DPL 0 */
	CHECK_EQ((ds >> 47) & 1, 1);
	CHECK_EQ((ds >> 43) & 1, 0);			/* data */
	CHECK_EQ((ds >> 41) & 1, 1);			/* writable */
	CHECK_EQ((ds >> 55) & 1, 1);			/* G */
	CHECK_EQ(((ds >> 16) & 0xffffff) | ((ds >> 56) << 24), 0);

	/* The identity map covers what the protocol names. */
	check_idmap(cpu.cr3, pref, rd(k, 0x260, 4));
	check_idmap(cpu.cr3, BOOT_PARAMS_ADDR, 4096);
	check_idmap(cpu.cr3, cl, strlen(cmdline) + 1);
	check_idmap(cpu.cr3, ia, is);
	check_idmap(cpu.cr3, cpu.gdt_base, cpu.gdt_limit + 1);
	check_idmap(cpu.cr3, cpu.rsp - 8, 8);
out:
	physmem_fini();
	free(k);
	free(ird);
}

/* A kernel that cannot be loaded leaves one line naming the file. */
static void test_errors(void)
{
	struct boot_cpu_state cpu;
	static struct boot_layout layout;
	char err[256] = "";
	CHECK_EQ(physmem_init(16ull << 20), 0);
	struct boot_linux_args args = { "/nonexistent/vmlinuz", NULL, NULL };
	CHECK_EQ(boot_linux(&args, &cpu, &layout, err, sizeof(err)), -1);
	CHECK(!strncmp(err, "/nonexistent/vmlinuz: ", 22));
	CHECK(!strchr(err, '\n'));
	args.kernel = "/proc/self/status";	/* not a regular file */
	CHECK_EQ(boot_linux(&args, &cpu, &layout, err, sizeof(err)), -1);
	physmem_fini();
}

void unit_main(void)
{
	test_e820_layout();
	test_debian_kernel();
	test_errors();
}
