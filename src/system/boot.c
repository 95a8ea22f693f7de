/*
 * The Linux x86 boot protocol's loader side for a bzImage (boot.h): the
 * setup header is read from the file, the protected-mode kernel and the
 * initrd are copied into guest RAM, and the zero page, command line, e820
 * map, identity page tables and GDT are written where boot.h's layout
 * says.  Offsets below are the protocol's (boot.rst, zero-page.rst); the
 * header is copied into the zero page byte for byte, as the protocol
 * asks, and only the fields a loader owns are then written over.
 *
 * Invariant: on failure nothing is promised about RAM, but nothing was
 * written outside physmem and the caller gets one line.
 */
#include "system/boot.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "system/pc.h"
#include "system/physmem.h"
#include "util/log.h"

/* Setup header fields: offsets in the file and in the zero page alike. */
enum {
	HDR_START = 0x1f1,		/* the header begins with setup_sects */
	HDR_SETUP_SECTS = 0x1f1,	/* u8; 0 means 4 */
	HDR_SYSSIZE = 0x1f4,		/* u32, 16-byte units */
	HDR_BOOT_FLAG = 0x1fe,		/* u16, 0xaa55 */
	HDR_JUMP = 0x200,		/* jmp rel8: its operand gives the header's end */
	HDR_MAGIC = 0x202,		/* u32 "HdrS" */
	HDR_VERSION = 0x206,		/* u16 */
	HDR_TYPE_OF_LOADER = 0x210,	/* u8 */
	HDR_LOADFLAGS = 0x211,		/* u8 */
	HDR_RAMDISK_IMAGE = 0x218,	/* u32 */
	HDR_RAMDISK_SIZE = 0x21c,	/* u32 */
	HDR_HEAP_END_PTR = 0x224,	/* u16 */
	HDR_CMD_LINE_PTR = 0x228,	/* u32 */
	HDR_INITRD_ADDR_MAX = 0x22c,	/* u32 */
	HDR_KERNEL_ALIGNMENT = 0x230,	/* u32 */
	HDR_RELOCATABLE = 0x234,	/* u8 */
	HDR_XLOADFLAGS = 0x236,		/* u16 */
	HDR_CMDLINE_SIZE = 0x238,	/* u32 */
	HDR_PREF_ADDRESS = 0x258,	/* u64 */
	HDR_INIT_SIZE = 0x260,		/* u32 */
	HDR_MIN_END = 0x264,		/* the 2.12 header's fields end here */
};

/* Zero-page fields outside the setup header. */
enum {
	BP_ACPI_RSDP_ADDR = 0x070,	/* u64, protocol 2.14 */
	BP_EXT_RAMDISK_IMAGE = 0x0c0,	/* u32: bits 63:32 */
	BP_EXT_RAMDISK_SIZE = 0x0c4,
	BP_EXT_CMD_LINE_PTR = 0x0c8,
	BP_E820_ENTRIES = 0x1e8,	/* u8 */
	BP_E820_TABLE = 0x2d0,		/* 128 entries of 20 bytes */
	BP_SIZE = 0x1000,
};

/* The heap end a loader gives a kernel whose setup code runs at a segment
 * base; unused on the 64-bit entry, set as a real-mode loader would. */
#define BOOT_HEAP_END 0xfe00
#define BOOT_LOADER_ID 0xff	/* "undefined" in the protocol's loader table */

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_PS 0x80ull

static uint8_t get8(const uint8_t *p, size_t off) { return p[off]; }
static uint16_t get16(const uint8_t *p, size_t off) { return (uint16_t)(p[off] | p[off + 1] << 8); }
static uint32_t get32(const uint8_t *p, size_t off)
{
	return (uint32_t)get16(p, off) | (uint32_t)get16(p, off + 2) << 16;
}
static uint64_t get64(const uint8_t *p, size_t off)
{
	return (uint64_t)get32(p, off) | (uint64_t)get32(p, off + 4) << 32;
}
static void put8(uint8_t *p, size_t off, uint8_t v) { p[off] = v; }
static void put16(uint8_t *p, size_t off, uint16_t v) { p[off] = (uint8_t)v; p[off + 1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, size_t off, uint32_t v) { put16(p, off, (uint16_t)v); put16(p, off + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, size_t off, uint64_t v) { put32(p, off, (uint32_t)v); put32(p, off + 4, (uint32_t)(v >> 32)); }

/* Read a whole file.  NULL (and err filled) if it cannot be read. */
static uint8_t *read_file(const char *path, size_t *size, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;

	if (!f) {
		fail_msg(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fail_msg(err, errlen, "%s: not a regular file", path);
		fclose(f);
		return NULL;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		fail_msg(err, errlen, "%s: out of memory reading %lld bytes", path, (long long)st.st_size);
		fclose(f);
		return NULL;
	}
	if (fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fail_msg(err, errlen, "%s: read error", path);
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*size = (size_t)st.st_size;
	return buf;
}

static void e820_add(struct boot_e820 *map, unsigned *n, unsigned max, uint64_t addr,
		     uint64_t end, uint32_t type)
{
	if (end > addr && *n < max)
		map[(*n)++] = (struct boot_e820){ addr, end - addr, type };
}

unsigned boot_e820_map(struct boot_e820 *map, unsigned max)
{
	unsigned n = 0;
	uint64_t low = physmem.low;

	e820_add(map, &n, max, 0, PC_LOW_RAM_END < low ? PC_LOW_RAM_END : low, BOOT_E820_RAM);
	e820_add(map, &n, max, PC_LOW_RAM_END, 0x100000, BOOT_E820_RESERVED);
	e820_add(map, &n, max, 0x100000, low, BOOT_E820_RAM);
	e820_add(map, &n, max, PC_MMIO_IOAPIC, PHYSMEM_HIGH_BASE, BOOT_E820_RESERVED);
	e820_add(map, &n, max, PHYSMEM_HIGH_BASE, PHYSMEM_HIGH_BASE + physmem.high, BOOT_E820_RAM);
	return n;
}

/* A flat GDT with the protocol's two selectors. */
static void build_gdt(void)
{
	uint8_t *gdt = physmem_ptr(BOOT_GDT_ADDR, 4 * 8);
	memset(gdt, 0, 4 * 8);
	/* Limit 0xfffff with G: 4 GiB.  Type 0xb (execute/read, accessed),
	 * S, P; L=1 for 64-bit code.  Data: type 3 (read/write, accessed),
	 * D/B=1.  Accessed set so the CPU never writes the table. */
	put64(gdt, BOOT_CS, 0x00af9b000000ffffull);
	put64(gdt, BOOT_DS, 0x00cf93000000ffffull);
}

/* Identity map of [0, 4 GiB) with 2 MiB pages, writable, supervisor. */
static void build_page_tables(void)
{
	uint8_t *pml4 = physmem_ptr(BOOT_PML4_ADDR, 0x1000);
	uint8_t *pdpt = physmem_ptr(BOOT_PDPT_ADDR, 0x1000);
	uint8_t *pd = physmem_ptr(BOOT_PD_ADDR, 4 * 0x1000);

	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	put64(pml4, 0, BOOT_PDPT_ADDR | PTE_P | PTE_W);
	for (unsigned i = 0; i < 4; i++)
		put64(pdpt, i * 8, (BOOT_PD_ADDR + i * 0x1000ull) | PTE_P | PTE_W);
	for (unsigned i = 0; i < 4 * 512; i++)
		put64(pd, i * 8, ((uint64_t)i << 21) | PTE_P | PTE_W | PTE_PS);
}

/* Place the initrd: page-aligned, ending at or below min(initrd_addr_max
 * + 1, end of low RAM), above the kernel.  Returns its address or 0. */
static uint64_t place_initrd(uint64_t size, uint64_t addr_max, uint64_t kernel_end)
{
	uint64_t top = addr_max + 1 < physmem.low ? addr_max + 1 : physmem.low;
	if (size > top)
		return 0;
	uint64_t addr = (top - size) & ~0xfffull;
	return addr >= kernel_end ? addr : 0;
}

int boot_linux(const struct boot_linux_args *args, struct boot_cpu_state *cpu,
	       struct boot_layout *layout, char *err, size_t errlen)
{
	const char *kpath = args->kernel;
	const char *cmdline = args->cmdline ? args->cmdline : "";
	uint8_t *k, *initrd = NULL;
	size_t ksize, isize = 0;
	int ret = -1;

	memset(layout, 0, sizeof(*layout));
	memset(cpu, 0, sizeof(*cpu));
	if (!physmem.host)
		return fail_msg(err, errlen, "%s: no RAM to load the kernel into", kpath);
	k = read_file(kpath, &ksize, err, errlen);
	if (!k)
		return -1;

	/* The header. */
	if (ksize < HDR_MAGIC + 4) {
		fail_msg(err, errlen, "%s: truncated (%zu bytes): too short for a bzImage's setup header",
		     kpath, ksize);
		goto out;
	}
	if (get32(k, HDR_MAGIC) != BOOT_HDR_MAGIC) {
		fail_msg(err, errlen, "%s: not a Linux bzImage (no \"HdrS\" setup header at 0x202)", kpath);
		goto out;
	}
	uint16_t version = get16(k, HDR_VERSION);
	layout->version = version;
	if (version < BOOT_MIN_VERSION) {
		fail_msg(err, errlen, "%s: boot protocol %u.%02u is too old (2.12 or later is needed "
		     "for the 64-bit entry)", kpath, version >> 8, version & 0xff);
		goto out;
	}
	/* The header's length: the jump at 0x200 skips it. */
	size_t hdr_end = HDR_JUMP + 2 + get8(k, HDR_JUMP + 1);
	if (hdr_end < HDR_MIN_END)
		hdr_end = HDR_MIN_END;
	unsigned setup_sects = get8(k, HDR_SETUP_SECTS) ? get8(k, HDR_SETUP_SECTS) : 4;
	size_t setup_size = (size_t)(setup_sects + 1) * 512;
	uint64_t sys_size = (uint64_t)get32(k, HDR_SYSSIZE) * 16;
	if (ksize < hdr_end || ksize < setup_size) {
		fail_msg(err, errlen, "%s: truncated (%zu bytes): the setup code is %zu bytes", kpath,
		     ksize, setup_size);
		goto out;
	}
	if (!(get16(k, HDR_XLOADFLAGS) & BOOT_XLF_KERNEL_64)) {
		fail_msg(err, errlen, "%s: the kernel has no 64-bit entry point (xloadflags lacks "
		     "XLF_KERNEL_64)", kpath);
		goto out;
	}
	if (!(get8(k, HDR_LOADFLAGS) & BOOT_LOADED_HIGH)) {
		fail_msg(err, errlen, "%s: a zImage (loads below 1 MiB): only bzImages are supported",
		     kpath);
		goto out;
	}
	if (sys_size == 0 || ksize - setup_size < sys_size) {
		fail_msg(err, errlen, "%s: truncated (%zu bytes): the header promises %llu bytes of "
		     "kernel after %zu bytes of setup", kpath, ksize, (unsigned long long)sys_size,
		     setup_size);
		goto out;
	}
	/* syssize is rounded up to 16 bytes; the file's rest is the kernel. */
	uint64_t kfile = ksize - setup_size;
	uint64_t init_size = get32(k, HDR_INIT_SIZE);
	if (init_size < kfile)
		init_size = kfile;
	uint64_t align = get32(k, HDR_KERNEL_ALIGNMENT);
	if (align < 0x1000 || (align & (align - 1))) {
		fail_msg(err, errlen, "%s: kernel_alignment 0x%llx is not a power of two of at least "
		     "4 KiB", kpath, (unsigned long long)align);
		goto out;
	}
	uint64_t load = get64(k, HDR_PREF_ADDRESS);
	if (load + init_size > physmem.low && get8(k, HDR_RELOCATABLE))
		load = (0x100000 + align - 1) & ~(align - 1);
	if (load < 0x100000 || load + init_size > physmem.low) {
		fail_msg(err, errlen, "%s: the kernel does not fit in RAM (it needs 0x%llx bytes at "
		     "0x%llx; RAM below 4 GiB ends at 0x%llx)", kpath,
		     (unsigned long long)init_size, (unsigned long long)load,
		     (unsigned long long)physmem.low);
		goto out;
	}
	uint32_t cmdline_size = get32(k, HDR_CMDLINE_SIZE);
	if (strlen(cmdline) > cmdline_size) {
		fail_msg(err, errlen, "%s: the command line is %zu bytes; this kernel takes %u at most",
		     kpath, strlen(cmdline), cmdline_size);
		goto out;
	}
	if (BOOT_CMDLINE_ADDR + strlen(cmdline) + 1 > PC_LOW_RAM_END) {
		fail_msg(err, errlen, "%s: the command line is %zu bytes: too long for low memory",
		     kpath, strlen(cmdline));
		goto out;
	}

	/* The initrd. */
	uint64_t initrd_addr = 0;
	if (args->initrd) {
		initrd = read_file(args->initrd, &isize, err, errlen);
		if (!initrd)
			goto out;
		if (isize > physmem.size) {
			fail_msg(err, errlen, "%s: the initrd (%zu bytes) is larger than RAM (%llu bytes)",
			     args->initrd, isize, (unsigned long long)physmem.size);
			goto out;
		}
		initrd_addr = place_initrd(isize, get32(k, HDR_INITRD_ADDR_MAX), load + init_size);
		if (!initrd_addr) {
			fail_msg(err, errlen, "%s: the initrd (%zu bytes) does not fit in RAM between the "
			     "kernel's end (0x%llx) and 0x%llx", args->initrd, isize,
			     (unsigned long long)(load + init_size),
			     (unsigned long long)physmem.low);
			goto out;
		}
	}

	/* Everything fits: write it. */
	memcpy(physmem_ptr(load, kfile), k + setup_size, kfile);
	memset(physmem_ptr(load + kfile, init_size - kfile), 0, init_size - kfile);
	if (initrd)
		memcpy(physmem_ptr(initrd_addr, isize), initrd, isize);
	char *cl = physmem_ptr(BOOT_CMDLINE_ADDR, strlen(cmdline) + 1);
	memcpy(cl, cmdline, strlen(cmdline) + 1);

	uint8_t *bp = physmem_ptr(BOOT_PARAMS_ADDR, BP_SIZE);
	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_START, k + HDR_START, hdr_end - HDR_START);
	put8(bp, HDR_TYPE_OF_LOADER, BOOT_LOADER_ID);
	put8(bp, HDR_LOADFLAGS, get8(bp, HDR_LOADFLAGS) | BOOT_LOADED_HIGH | BOOT_CAN_USE_HEAP);
	put16(bp, HDR_HEAP_END_PTR, BOOT_HEAP_END);
	put32(bp, HDR_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE_ADDR);
	put32(bp, BP_EXT_CMD_LINE_PTR, 0);
	put32(bp, HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
	put32(bp, HDR_RAMDISK_SIZE, (uint32_t)isize);
	put32(bp, BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_addr >> 32));
	put32(bp, BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)isize >> 32));
	put64(bp, BP_ACPI_RSDP_ADDR, PC_ACPI_RSDP);
	layout->e820_count = boot_e820_map(layout->e820, BOOT_E820_MAX);
	put8(bp, BP_E820_ENTRIES, (uint8_t)layout->e820_count);
	for (unsigned i = 0; i < layout->e820_count; i++) {
		put64(bp, BP_E820_TABLE + i * 20, layout->e820[i].addr);
		put64(bp, BP_E820_TABLE + i * 20 + 8, layout->e820[i].size);
		put32(bp, BP_E820_TABLE + i * 20 + 16, layout->e820[i].type);
	}
	build_gdt();
	build_page_tables();

	cpu->rip = load + BOOT_ENTRY64_OFFSET;
	cpu->rsi = BOOT_PARAMS_ADDR;
	cpu->rsp = BOOT_STACK_TOP;
	cpu->rflags = 0x2;			/* bit 1 is always set; IF clear */
	cpu->cr0 = 0x80000011;			/* PG, ET, PE */
	cpu->cr3 = BOOT_PML4_ADDR;
	cpu->cr4 = 0x20;			/* PAE */
	cpu->efer = 0x500;			/* LMA, LME */
	cpu->gdt_base = BOOT_GDT_ADDR;
	cpu->gdt_limit = 4 * 8 - 1;
	cpu->cs = BOOT_CS;
	cpu->ds = cpu->es = cpu->ss = cpu->fs = cpu->gs = BOOT_DS;

	layout->kernel_addr = load;
	layout->kernel_file_size = kfile;
	layout->init_size = init_size;
	layout->cmdline_addr = BOOT_CMDLINE_ADDR;
	layout->initrd_addr = initrd_addr;
	layout->initrd_size = isize;
	ret = 0;
out:
	free(k);
	free(initrd);
	return ret;
}
