/*
 * PCI configuration mechanism #1 and bus 0's three functions (pci.h).
 *
 * Each present function is 256 bytes of configuration space with a mask of
 * the bits software may write and a mask of the write-one-to-clear status
 * bits; the values are the chips' datasheet reset values, and for the
 * PIIX4 PM function what firmware (SeaBIOS under QEMU) leaves: the PM I/O
 * base at 0x600, enabled.  An absent device or function reads as all ones
 * (vendor 0xffff, the "nothing here" of PCI enumeration); writes to it are
 * dropped.
 *
 * 0xcf8 answers only dword accesses (the address register); a byte at
 * 0xcf9 is the PIIX3 reset control register, any other narrow access to
 * 0xcf8-0xcfb passes through to nothing, as on the chipset.
 */
#include "system/pci.h"

#include <stdbool.h>
#include <string.h>

#include "system/bus.h"
#include "system/pc.h"
#include "util/log.h"

#define PCI_ENABLE	0x80000000u
#define PCI_ADDR_MASK	0x80fffffcu	/* enable, bus, device, function, register */

#define RCR_SYS_RST	0x02	/* hard (1) or soft (0) reset */
#define RCR_RST_CPU	0x04	/* writing 1 starts the reset */
#define RCR_FULL_RST	0x08

#define PIIX4_PMBA	0x40
#define PIIX4_PMREGMISC	0x80

struct pci_fn {
	int dev, fn;
	const char *name;
	uint8_t cfg[256], wmask[256], w1c[256];
};

enum { FN_HOST, FN_ISA, FN_PM, FN_COUNT };

static struct {
	uint32_t addr;
	uint8_t rcr;
	struct pci_fn fn[FN_COUNT];
} pci;

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }

/* The header fields every function has. */
static void fn_header(struct pci_fn *f, int dev, int fn, const char *name, uint16_t device,
		      uint8_t rev, uint32_t class, uint8_t header, uint16_t cmd,
		      uint16_t cmd_wmask, uint16_t status)
{
	f->dev = dev;
	f->fn = fn;
	f->name = name;
	memset(f->cfg, 0, sizeof(f->cfg));
	memset(f->wmask, 0, sizeof(f->wmask));
	memset(f->w1c, 0, sizeof(f->w1c));
	put16(&f->cfg[0x00], 0x8086);
	put16(&f->cfg[0x02], device);
	put16(&f->cfg[0x04], cmd);
	put16(&f->wmask[0x04], cmd_wmask);
	put16(&f->cfg[0x06], status);
	/* Status: parity error, SERR signalled, master/target aborts. */
	put16(&f->w1c[0x06], 0xf900);
	f->cfg[0x08] = rev;
	f->cfg[0x09] = class;
	f->cfg[0x0a] = class >> 8;
	f->cfg[0x0b] = class >> 16;
	f->cfg[0x0e] = header;
	f->wmask[0x0d] = 0xf8;		/* latency timer */
	f->wmask[0x3c] = 0xff;		/* interrupt line: a scratch byte for software */
}

void pci_reset(void)
{
	struct pci_fn *f;

	pci.addr = 0;
	pci.rcr = 0;

	/* 82441FX PMC: memory and bus-master always on. */
	f = &pci.fn[FN_HOST];
	fn_header(f, 0, 0, "i440fx host bridge", 0x1237, 0x02, 0x060000, 0x00,
		  0x0006, 0x0140, 0x0280);
	/* PAM0-6 (BIOS shadowing) and SMRAM: kept, not acted on. */
	memset(&f->wmask[0x59], 0xff, 7);
	f->cfg[0x72] = 0x02;
	f->wmask[0x72] = 0x78;

	/* PIIX3 function 0, multi-function so enumeration looks at 01.3. */
	f = &pci.fn[FN_ISA];
	fn_header(f, 1, 0, "piix3 isa bridge", 0x7000, 0x00, 0x060100, 0x80,
		  0x0007, 0x0148, 0x0200);
	/* PIRQA-D routing (bit 7 disables, bits 3-0 the IRQ) as firmware
	 * leaves it. */
	static const uint8_t pirq[4] = { 10, 10, 11, 11 };
	for (int i = 0; i < 4; i++) {
		f->cfg[0x60 + i] = pirq[i];
		f->wmask[0x60 + i] = 0x8f;
	}

	/* PIIX4 function 3: power management. */
	f = &pci.fn[FN_PM];
	fn_header(f, 1, 3, "piix4 acpi", 0x7113, 0x03, 0x068000, 0x00,
		  0x0000, 0x0001, 0x0280);
	f->cfg[0x3c] = PC_IRQ_SCI;	/* firmware's routing of INTA */
	f->cfg[0x3d] = 0x01;		/* INTA */
	/* PMBA: I/O base in bits 15-6, bit 0 reads 1 (I/O space). */
	put32(&f->cfg[PIIX4_PMBA], PC_PORT_ACPI_PM | 1);
	put16(&f->wmask[PIIX4_PMBA], 0xffc0);
	f->cfg[PIIX4_PMREGMISC] = 0x01;	/* PM I/O space enabled */
	f->wmask[PIIX4_PMREGMISC] = 0x01;
	/* SMBus base (bit 0 reads 1) and host configuration: the controller
	 * is not modelled, so it is left disabled. */
	put32(&f->cfg[0x90], 1);
}

static struct pci_fn *pci_find(int bus, int dev, int fn)
{
	if (bus != 0)
		return NULL;
	for (int i = 0; i < FN_COUNT; i++)
		if (pci.fn[i].dev == dev && pci.fn[i].fn == fn)
			return &pci.fn[i];
	return NULL;
}

static uint32_t fn_read(const struct pci_fn *f, int offset, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)f->cfg[(offset + i) & 0xff] << (8 * i);
	return v;
}

static void fn_write(struct pci_fn *f, int offset, unsigned size, uint32_t value)
{
	uint8_t before[4];

	for (unsigned i = 0; i < size; i++) {
		int o = (offset + i) & 0xff;
		uint8_t b = value >> (8 * i);
		before[i] = f->cfg[o];
		f->cfg[o] = (f->cfg[o] & ~f->wmask[o]) | (b & f->wmask[o]);
		f->cfg[o] &= ~(b & f->w1c[o]);
	}
	if (f == &pci.fn[FN_PM] && log_enabled(LOG_UNIMP)) {
		uint32_t base = fn_read(f, PIIX4_PMBA, 4) & 0xffc0;
		if (base != PC_PORT_ACPI_PM || !(f->cfg[PIIX4_PMREGMISC] & 1))
			log_printf("pci: PIIX4 PM I/O moved to %#x (%s): not modelled, the PM "
				   "registers stay at %#x\n", base,
				   f->cfg[PIIX4_PMREGMISC] & 1 ? "enabled" : "disabled",
				   PC_PORT_ACPI_PM);
	}
	if (f == &pci.fn[FN_HOST] && offset >= 0x59 && offset < 0x60 &&
	    memcmp(before, &f->cfg[offset], size) && log_enabled(LOG_UNIMP))
		log_printf("pci: i440FX PAM %#x written: BIOS shadowing not modelled\n", offset);
}

uint32_t pci_config_read(int dev, int fn, int offset, unsigned size)
{
	const struct pci_fn *f = pci_find(0, dev, fn);

	if (!f)
		return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	return fn_read(f, offset, size);
}

void pci_config_write(int dev, int fn, int offset, unsigned size, uint32_t value)
{
	struct pci_fn *f = pci_find(0, dev, fn);

	if (f)
		fn_write(f, offset, size, value);
}

/* The function and register the address register selects, or NULL. */
static struct pci_fn *pci_selected(int *reg)
{
	uint32_t a = pci.addr;

	if (!(a & PCI_ENABLE))
		return NULL;
	*reg = a & 0xfc;
	return pci_find((a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7);
}

static uint64_t pci_port_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_fn *f;
	int reg;

	if (offset < 4) {
		if (offset == 0 && size == 4)
			return pci.addr;
		if (offset == 1 && size == 1)
			return pci.rcr;
		return ~0ull;
	}
	/* An access past the window's dword end is cut by the bus. */
	f = pci_selected(&reg);
	if (!f)
		return ~0ull;
	return fn_read(f, reg + (offset - 4), size);
}

static void pci_port_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pci_fn *f;
	int reg;

	if (offset < 4) {
		if (offset == 0 && size == 4) {
			pci.addr = value & PCI_ADDR_MASK;
		} else if (offset == 1 && size == 1) {
			/* RST_CPU starts the reset the other two bits describe;
			 * every kind is a machine reset here.  The bit never reads
			 * back: the reset it starts clears it. */
			pci.rcr = value & (RCR_SYS_RST | RCR_FULL_RST);
			if (value & RCR_RST_CPU)
				pc_request(PC_REQ_RESET);
		}
		return;
	}
	f = pci_selected(&reg);
	if (f)
		fn_write(f, reg + (offset - 4), size, value);
}

static const struct bus_ops pci_ops = { pci_port_read, pci_port_write };

void pci_new(void)
{
	pci_reset();
	bus_map(BUS_IO, PC_PORT_PCI_CONFIG, 8, &pci_ops, NULL, "pci-config");
}
