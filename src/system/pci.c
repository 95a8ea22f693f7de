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
 *
 * Added devices (pci_add_device) keep their configuration space the same
 * way; a write to the command register or a BAR moves the BAR's region on
 * bus.h's map (only while its decode bit is on and the range is free: a
 * BAR being sized holds all ones and must not be mapped).  INTx: slot S's
 * pin P is PIRQ (S + P - 2) mod 4 (the PIIX's swizzle, as on QEMU's -M
 * pc), and PIRQ n drives the ISA IRQ in the PIIX3's register 0x60 + n;
 * several pins can share a PIRQ and several PIRQs an IRQ, so each IRQ's
 * level is the OR of its sources.
 */
#include "system/pci.h"

#include <stdbool.h>
#include <stddef.h>
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
#define PIIX3_PIRQRC	0x60	/* 4 routing registers, PIRQA-D */

#define PCI_COMMAND_IO		0x0001
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_COMMAND_INTX_OFF	0x0400
#define PCI_STATUS_INTX		0x0008
#define PCI_STATUS_CAP_LIST	0x0010
#define PCI_BAR0		0x10
#define PCI_CAP_PTR		0x34

/* Where firmware puts BARs (SeaBIOS under qemu-system -M pc: I/O from
 * 0xc000, memory from the top of the 32-bit window below the I/O APIC). */
#define PCI_FW_IO_BASE		0xc000u
#define PCI_FW_IO_END		0x10000u
#define PCI_FW_MEM_BASE		0xfe000000ull
#define PCI_FW_MEM_END		PC_MMIO_IOAPIC

#define PCI_MAX_ADDED		8

struct pci_fn {
	int dev, fn;
	const char *name;
	uint8_t cfg[256], wmask[256], w1c[256];
};

enum { FN_HOST, FN_ISA, FN_PM, FN_COUNT };

struct pci_dev {
	struct pci_fn f;
	struct pci_device_info info;
	uint8_t reset_cfg[256];		/* with firmware's BAR addresses */
	uint64_t mapped[6];		/* each BAR's base on the bus map, 0: not */
	bool asserted;			/* the device drives its pin */
	int pirq;
	int cap_last, cap_end;		/* the list's last capability, first free byte */
};

static struct {
	uint32_t addr;
	uint8_t rcr;
	struct pci_fn fn[FN_COUNT];
	struct pci_dev added[PCI_MAX_ADDED];
	int nadded;
	uint32_t fw_io_next;
	uint64_t fw_mem_next;
	bool isa_level[16];		/* what the PIRQs drive on each ISA IRQ */
} pci;

/* PIRQA-D as SeaBIOS routes them. */
static const uint8_t pci_fw_pirq[4] = { 10, 10, 11, 11 };

static void pci_update_irqs(void);
static void pci_dev_remap(struct pci_dev *d);

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
	for (int i = 0; i < 4; i++) {
		f->cfg[0x60 + i] = pci_fw_pirq[i];
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

	for (int i = 0; i < pci.nadded; i++) {
		struct pci_dev *d = &pci.added[i];
		memcpy(d->f.cfg, d->reset_cfg, sizeof(d->f.cfg));
		d->asserted = false;
		pci_dev_remap(d);
		if (d->info.reset)
			d->info.reset(d->info.opaque);
	}
	pci_update_irqs();
}

static struct pci_fn *pci_find(int bus, int dev, int fn)
{
	if (bus != 0)
		return NULL;
	for (int i = 0; i < FN_COUNT; i++)
		if (pci.fn[i].dev == dev && pci.fn[i].fn == fn)
			return &pci.fn[i];
	for (int i = 0; i < pci.nadded; i++)
		if (pci.added[i].f.dev == dev && pci.added[i].f.fn == fn)
			return &pci.added[i].f;
	return NULL;
}

static struct pci_dev *pci_dev_of(struct pci_fn *f)
{
	if (f < &pci.added[0].f || f > &pci.added[PCI_MAX_ADDED - 1].f)
		return NULL;
	return (struct pci_dev *)((char *)f - offsetof(struct pci_dev, f));
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
	if (f == &pci.fn[FN_ISA] && offset < PIIX3_PIRQRC + 4 && offset + size > PIIX3_PIRQRC)
		pci_update_irqs();
	struct pci_dev *d = pci_dev_of(f);
	if (d && offset < PCI_BAR0 + 24 && offset + size > 0x04) {
		pci_dev_remap(d);
		pci_update_irqs();	/* the interrupt-disable bit */
	}
	if (d && d->info.config_write)
		d->info.config_write(d->info.opaque, offset, size, value);
	if (f == &pci.fn[FN_HOST] && offset >= 0x59 && offset < 0x60 &&
	    memcmp(before, &f->cfg[offset], size) && log_enabled(LOG_UNIMP))
		log_printf("pci: i440FX PAM %#x written: BIOS shadowing not modelled\n", offset);
}

/* A read as the guest sees it: the stored bytes, or what the device's
 * hook makes of them. */
static uint32_t fn_read_hooked(struct pci_fn *f, int offset, unsigned size)
{
	struct pci_dev *d = pci_dev_of(f);
	uint32_t v = fn_read(f, offset, size);

	if (d && d->info.config_read)
		v = d->info.config_read(d->info.opaque, offset, size, v);
	return v;
}

uint32_t pci_config_read(int dev, int fn, int offset, unsigned size)
{
	struct pci_fn *f = pci_find(0, dev, fn);

	if (!f)
		return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	return fn_read_hooked(f, offset, size);
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
	return fn_read_hooked(f, reg + (offset - 4), size);
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
	/* A new machine: no added devices yet (their regions went with the
	 * old bus map). */
	pci.nadded = 0;
	pci.fw_io_next = 0;
	memset(pci.isa_level, 0, sizeof(pci.isa_level));
	pci_reset();
	bus_map(BUS_IO, PC_PORT_PCI_CONFIG, 8, &pci_ops, NULL, "pci-config");
}

/* ---- Added devices ------------------------------------------------------ */

int pci_free_slot(void)
{
	/* From 3: slot 2 is the VGA's on QEMU's pc; loom-system has none, but
	 * the devices keep the addresses (and so the PIRQs) they have there. */
	for (int slot = 3; slot < 32; slot++)
		if (!pci_find(0, slot, 0))
			return slot;
	return -1;
}

/* The BAR's address as the guest programmed it (all of it: a BAR being
 * sized reads back as its mask). */
static uint64_t bar_address(const struct pci_dev *d, int i)
{
	const struct pci_bar *b = &d->info.bar[i];
	uint32_t lo = fn_read(&d->f, PCI_BAR0 + 4 * i, 4);

	switch (b->kind) {
	case PCI_BAR_IO:
		return lo & ~3u;
	case PCI_BAR_MEM32:
		return lo & ~0xfu;
	case PCI_BAR_MEM64:
		return (lo & ~0xfull) | (uint64_t)fn_read(&d->f, PCI_BAR0 + 4 * i + 4, 4) << 32;
	default:
		return 0;
	}
}

/* Put each BAR's region where its register and the decode bits say. */
static void pci_dev_remap(struct pci_dev *d)
{
	uint16_t cmd = fn_read(&d->f, 0x04, 2);

	for (int i = 0; i < 6; i++) {
		const struct pci_bar *b = &d->info.bar[i];
		if (b->kind == PCI_BAR_NONE)
			continue;
		bool io = b->kind == PCI_BAR_IO;
		enum bus_space space = io ? BUS_IO : BUS_MMIO;
		uint64_t want = bar_address(d, i);
		uint64_t limit = io ? 0x10000 : b->kind == PCI_BAR_MEM32 ? 1ull << 32 : 1ull << 52;
		if (!(cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) || !want ||
		    want + b->size > limit)
			want = 0;
		if (want == d->mapped[i])
			continue;
		if (d->mapped[i])
			bus_unmap(space, d->mapped[i]);
		d->mapped[i] = 0;
		if (!want)
			continue;
		if (!bus_range_free(space, want, b->size)) {
			if (log_enabled(LOG_GUEST_ERRORS))
				log_printf("pci: %s BAR%d at %#llx overlaps another region: not "
					   "decoded\n", d->info.name, i, (unsigned long long)want);
			continue;
		}
		bus_map(space, want, b->size, b->ops, b->opaque, d->info.name);
		d->mapped[i] = want;
	}
}

/* Each ISA IRQ a PIRQ is routed to is the OR of the pins on that PIRQ. */
static void pci_update_irqs(void)
{
	bool level[16] = { false };

	for (int i = 0; i < pci.nadded; i++) {
		struct pci_dev *d = &pci.added[i];
		if (!d->asserted || (fn_read(&d->f, 0x04, 2) & PCI_COMMAND_INTX_OFF))
			continue;
		uint8_t route = pci.fn[FN_ISA].cfg[PIIX3_PIRQRC + d->pirq];
		if (!(route & 0x80) && route < 16)
			level[route] = true;
	}
	for (int n = 0; n < 16; n++) {
		if (level[n] == pci.isa_level[n])
			continue;
		pci.isa_level[n] = level[n];
		struct irq line = pc_isa_irq(n);
		irq_set(&line, level[n]);
	}
}

/* The PIIX's swizzle: slot S's pin P is PIRQ (S + P - 2) mod 4. */
static int pci_pirq_of(int slot, int pin) { return (slot + pin - 2) & 3; }

int pci_intx_irq(int slot, int pin)
{
	return pci_fw_pirq[pci_pirq_of(slot, pin)];
}

void pci_set_irq(struct pci_dev *d, int level)
{
	d->asserted = level != 0;
	uint16_t status = fn_read(&d->f, 0x06, 2);
	status = d->asserted ? status | PCI_STATUS_INTX : status & ~PCI_STATUS_INTX;
	put16(&d->f.cfg[0x06], status);
	pci_update_irqs();
}

uint32_t pci_config_stored(struct pci_dev *d, int offset, unsigned size)
{
	return fn_read(&d->f, offset, size);
}

void pci_config_writable(struct pci_dev *d, int offset, unsigned len)
{
	if (offset < 0x40 || offset + len > 256)
		internal_error("pci: %s: config bytes %#x+%u are not a capability's", d->info.name,
			       offset, len);
	memset(&d->f.wmask[offset], 0xff, len);
}

uint64_t pci_bar_address(struct pci_dev *d, int bar)
{
	return d->mapped[bar];
}

/* Firmware's choice for one BAR: the next free, naturally aligned range. */
static bool fw_assign(const struct pci_bar *b, uint64_t *addr)
{
	if (b->kind == PCI_BAR_IO) {
		uint32_t a = (pci.fw_io_next + (uint32_t)b->size - 1) & ~((uint32_t)b->size - 1);
		if (a + b->size > PCI_FW_IO_END)
			return false;
		pci.fw_io_next = a + (uint32_t)b->size;
		*addr = a;
		return true;
	}
	uint64_t a = (pci.fw_mem_next + b->size - 1) & ~(b->size - 1);
	if (a + b->size > PCI_FW_MEM_END)
		return false;
	pci.fw_mem_next = a + b->size;
	*addr = a;
	return true;
}

struct pci_dev *pci_add_device(int slot, const struct pci_device_info *info)
{
	if (slot < 0 || slot > 31 || pci_find(0, slot, 0) || pci.nadded == PCI_MAX_ADDED)
		return NULL;
	if (!pci.fw_io_next) {
		pci.fw_io_next = PCI_FW_IO_BASE;
		pci.fw_mem_next = PCI_FW_MEM_BASE;
	}
	struct pci_dev *d = &pci.added[pci.nadded];
	struct pci_fn *f = &d->f;

	memset(d, 0, sizeof(*d));
	d->info = *info;
	f->dev = slot;
	f->fn = 0;
	f->name = info->name;
	put16(&f->cfg[0x00], info->vendor);
	put16(&f->cfg[0x02], info->device);
	/* Firmware leaves I/O and memory decoding on; bus mastering and
	 * interrupt disable are the driver's. */
	put16(&f->cfg[0x04], PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	put16(&f->wmask[0x04], PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			       0x0040 /* parity */ | 0x0100 /* SERR */ | PCI_COMMAND_INTX_OFF);
	put16(&f->w1c[0x06], 0xf900);
	f->cfg[0x08] = info->revision;
	f->cfg[0x09] = info->class;
	f->cfg[0x0a] = info->class >> 8;
	f->cfg[0x0b] = info->class >> 16;
	f->wmask[0x0c] = 0xff;		/* cache line size */
	f->wmask[0x0d] = 0xf8;		/* latency timer */
	put16(&f->cfg[0x2c], info->subsystem_vendor);
	put16(&f->cfg[0x2e], info->subsystem);
	for (int i = 0; i < 6; i++) {
		const struct pci_bar *b = &info->bar[i];
		uint64_t addr;
		int reg = PCI_BAR0 + 4 * i;
		if (b->kind == PCI_BAR_NONE)
			continue;
		if ((b->kind == PCI_BAR_MEM64 && i == 5) || !fw_assign(b, &addr))
			return NULL;	/* (the ranges taken so far stay unused) */
		switch (b->kind) {
		case PCI_BAR_IO:
			put32(&f->cfg[reg], (uint32_t)addr | 1);
			put32(&f->wmask[reg], ~(uint32_t)(b->size - 1) & 0xfffcu);
			break;
		case PCI_BAR_MEM32:
			put32(&f->cfg[reg], (uint32_t)addr | (b->prefetchable ? 8 : 0));
			put32(&f->wmask[reg], ~(uint32_t)(b->size - 1) & ~0xfu);
			break;
		case PCI_BAR_MEM64:
			put32(&f->cfg[reg], (uint32_t)addr | 4 | (b->prefetchable ? 8 : 0));
			put32(&f->wmask[reg], ~(uint32_t)(b->size - 1) & ~0xfu);
			put32(&f->cfg[reg + 4], (uint32_t)(addr >> 32));
			put32(&f->wmask[reg + 4], 0xffffffffu);
			i++;
			break;
		case PCI_BAR_NONE:
			break;
		}
	}
	if (info->int_pin) {
		d->pirq = pci_pirq_of(slot, info->int_pin);
		f->cfg[0x3c] = pci.fn[FN_ISA].cfg[PIIX3_PIRQRC + d->pirq] & 0x8f;
		f->cfg[0x3d] = info->int_pin;
		f->wmask[0x3c] = 0xff;
	}
	memcpy(d->reset_cfg, f->cfg, sizeof(d->reset_cfg));
	pci.nadded++;
	pci_dev_remap(d);
	return d;
}

int pci_add_capability(struct pci_dev *d, const void *data, unsigned len)
{
	struct pci_fn *f = &d->f;
	/* Capabilities go from 0x40 up, dword aligned, in the order added. */
	int off = d->cap_end ? d->cap_end : 0x40;
	if (len < 2 || off + len > 256)
		internal_error("pci: no room for a %u-byte capability in %s", len, d->info.name);
	memcpy(&f->cfg[off], data, len);
	f->cfg[off + 1] = 0;
	if (d->cap_last)
		f->cfg[d->cap_last + 1] = off;
	else
		f->cfg[PCI_CAP_PTR] = off;
	d->cap_last = off;
	d->cap_end = (off + len + 3) & ~3;
	put16(&f->cfg[0x06], fn_read(f, 0x06, 2) | PCI_STATUS_CAP_LIST);
	memcpy(d->reset_cfg, f->cfg, sizeof(d->reset_cfg));
	return off;
}
