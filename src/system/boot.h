/*
 * Direct boot of a Linux bzImage (-kernel, -initrd, -append) through the
 * x86 boot protocol's 64-bit entry, as a boot loader would do it: no BIOS,
 * no real-mode setup code.  The loader checks the image's setup header,
 * copies the protected-mode kernel to its load address, fills the zero
 * page (struct boot_params) with the header, the command line, the initrd
 * and an e820 map of the machine, builds an identity-mapping page table
 * and a GDT in guest RAM, and describes the CPU state the protocol's
 * 64-bit entry requires in struct boot_cpu_state, which the CPU layer
 * loads.  Everything lands in physmem (physmem_init first).
 *
 * Guest-physical layout of what the loader writes (all usable RAM the
 * kernel reclaims once it has copied what it needs, as with other loaders
 * that use the 64-bit entry):
 *
 *   0x00500  GDT (null, null, __BOOT_CS 0x10, __BOOT_DS 0x18)
 *   0x07000  boot_params (the zero page)
 *   0x08000  a 4 KiB stack (the kernel sets its own at once)
 *   0x09000  PML4; 0x0a000 PDPT; 0x0b000-0x0efff four page directories:
 *            0-4 GiB identity-mapped with 2 MiB pages
 *   0x20000  the command line
 *   kernel   at the header's pref_address (or lower when relocatable and
 *            RAM is short), init_size bytes reserved from there
 *   initrd   page-aligned, as high as RAM and initrd_addr_max allow
 */
#ifndef LOOM_SYSTEM_BOOT_H
#define LOOM_SYSTEM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#define BOOT_GDT_ADDR		0x500ull
#define BOOT_PARAMS_ADDR	0x7000ull
#define BOOT_STACK_TOP		0x9000ull
#define BOOT_PML4_ADDR		0x9000ull
#define BOOT_PDPT_ADDR		0xa000ull
#define BOOT_PD_ADDR		0xb000ull	/* four pages */
#define BOOT_CMDLINE_ADDR	0x20000ull
#define BOOT_IDMAP_END		0x100000000ull	/* the identity map's end */

#define BOOT_CS 0x10	/* the protocol's __BOOT_CS */
#define BOOT_DS 0x18	/* and __BOOT_DS */

/* Boot protocol facts (Documentation/arch/x86/boot.rst). */
#define BOOT_HDR_MAGIC		0x53726448u	/* "HdrS" at 0x202 */
#define BOOT_MIN_VERSION	0x020c		/* 2.12: xloadflags, 64-bit entry */
#define BOOT_LOADED_HIGH	0x01		/* loadflags */
#define BOOT_CAN_USE_HEAP	0x80
#define BOOT_XLF_KERNEL_64	0x01		/* xloadflags */
#define BOOT_ENTRY64_OFFSET	0x200		/* 64-bit entry past the load address */

/* e820 types. */
enum { BOOT_E820_RAM = 1, BOOT_E820_RESERVED = 2 };
#define BOOT_E820_MAX 128	/* boot_params' table */

struct boot_e820 {
	uint64_t addr, size;
	uint32_t type;
};

/* The CPU state at the 64-bit entry point: long mode, paging on with the
 * loader's identity map, flat __BOOT_CS/__BOOT_DS segments from the
 * loader's GDT (bases 0, limits 4 GiB), interrupts off, rsi = the zero
 * page.  Every other register is 0. */
struct boot_cpu_state {
	uint64_t rip, rsi, rsp, rflags;
	uint64_t cr0, cr3, cr4, efer;
	uint64_t gdt_base;
	uint16_t gdt_limit;
	uint16_t cs, ds, es, ss, fs, gs;
};

/* Where the loader put things (for logs, the monitor and tests). */
struct boot_layout {
	uint16_t version;		/* boot protocol, e.g. 0x020f */
	uint64_t kernel_addr;		/* load address of the protected-mode kernel */
	uint64_t kernel_file_size;	/* bytes copied there */
	uint64_t init_size;		/* bytes the kernel needs from kernel_addr */
	uint64_t cmdline_addr;
	uint64_t initrd_addr, initrd_size;	/* 0, 0 without -initrd */
	unsigned e820_count;
	struct boot_e820 e820[BOOT_E820_MAX];
};

struct boot_linux_args {
	const char *kernel;		/* path of the bzImage */
	const char *initrd;		/* path, or NULL */
	const char *cmdline;		/* NULL: empty */
};

/* Load a Linux kernel into physmem and fill *cpu with its entry state.
 * Returns 0, or -1 with one line in err naming the file and the reason
 * (missing, truncated, not a bzImage, protocol older than 2.12, no 64-bit
 * entry, kernel or initrd not fitting in RAM, command line too long). */
int boot_linux(const struct boot_linux_args *args, struct boot_cpu_state *cpu,
	       struct boot_layout *layout, char *err, size_t errlen);

/* The machine's e820 map as the loader gives it (from physmem's size):
 * usable RAM below 0x9fc00, reserved to 1 MiB (EBDA, ACPI tables, where a
 * BIOS would be), usable RAM from 1 MiB to the end of low RAM, the MMIO
 * of the I/O APIC, HPET and local APIC up to 4 GiB reserved, and RAM above
 * 4 GiB if any.  Returns the number of entries (at most max). */
unsigned boot_e820_map(struct boot_e820 *map, unsigned max);

#endif
