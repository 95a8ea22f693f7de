/*
 * PCI configuration mechanism #1 at 0xcf8/0xcfc and bus 0's functions,
 * checked against the PCI specification and the 82441FX/PIIX3/PIIX4
 * datasheets: Linux's type-1 probe, enumeration finding exactly 00.0,
 * 01.0 and 01.3, identity and class, writable and read-only bits, the
 * PIIX4 PM base, byte/word accesses in the data window, the reset control
 * register at 0xcf9.
 */
#include "unit.h"

#include "system/bus.h"
#include "system/pc.h"
#include "system/pci.h"

static void outb(uint16_t p, uint8_t v) { bus_write(BUS_IO, p, 1, v); }
static void outl(uint16_t p, uint32_t v) { bus_write(BUS_IO, p, 4, v); }
static uint8_t inb(uint16_t p) { return bus_read(BUS_IO, p, 1); }
static uint16_t inw(uint16_t p) { return bus_read(BUS_IO, p, 2); }
static uint32_t inl(uint16_t p) { return bus_read(BUS_IO, p, 4); }

static uint32_t cfg_addr(int bus, int dev, int fn, int reg)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | reg;
}

static uint32_t cfg_readl(int bus, int dev, int fn, int reg)
{
	outl(0xcf8, cfg_addr(bus, dev, fn, reg));
	return inl(0xcfc);
}

static void cfg_writel(int bus, int dev, int fn, int reg, uint32_t v)
{
	outl(0xcf8, cfg_addr(bus, dev, fn, reg));
	outl(0xcfc, v);
}

static void test_probe_and_enumerate(void)
{
	int found = 0, absent_ok = 0;

	bus_reset_map();
	pci_new();
	/* pci_check_type1(): a byte to 0xcfb does not disturb the address
	 * register, which holds what is written to it as a dword. */
	outb(0xcfb, 0x01);
	outl(0xcf8, 0x80000000);
	CHECK_EQ(inl(0xcf8), 0x80000000);
	outl(0xcf8, 0xffffffff);
	CHECK_EQ(inl(0xcf8), 0x80fffffc);	/* reserved bits read 0 */

	for (int dev = 0; dev < 32; dev++)
		for (int fn = 0; fn < 8; fn++) {
			uint32_t id = cfg_readl(0, dev, fn, 0);
			if (dev == 0 && fn == 0)
				found += id == 0x12378086;
			else if (dev == 1 && fn == 0)
				found += id == 0x70008086;
			else if (dev == 1 && fn == 3)
				found += id == 0x71138086;
			else
				absent_ok += id == 0xffffffff;
		}
	CHECK_EQ(found, 3);
	CHECK_EQ(absent_ok, 32 * 8 - 3);
	CHECK_EQ(cfg_readl(1, 0, 0, 0), 0xffffffff);	/* no bus 1 */

	/* Class code and revision (dword 0x08), header type (byte 0x0e). */
	CHECK_EQ(cfg_readl(0, 0, 0, 0x08), 0x06000002);
	CHECK_EQ(cfg_readl(0, 1, 0, 0x08), 0x06010000);
	CHECK_EQ(cfg_readl(0, 1, 3, 0x08), 0x06800003);
	CHECK_EQ((cfg_readl(0, 1, 0, 0x0c) >> 16) & 0xff, 0x80);	/* multi-function */
	CHECK_EQ((cfg_readl(0, 0, 0, 0x0c) >> 16) & 0xff, 0x00);
	/* Command and status as after reset. */
	CHECK_EQ(cfg_readl(0, 0, 0, 0x04), 0x02800006);
	CHECK_EQ(cfg_readl(0, 1, 0, 0x04), 0x02000007);
	/* Disabled: the window reads as nothing. */
	outl(0xcf8, 0x00000000);
	CHECK_EQ(inl(0xcfc), 0xffffffff);
}

static void test_registers(void)
{
	bus_reset_map();
	pci_new();
	/* Byte and word accesses in the window pick bytes of the dword. */
	outl(0xcf8, cfg_addr(0, 0, 0, 0));
	CHECK_EQ(inw(0xcfe), 0x1237);
	CHECK_EQ(inb(0xcfd), 0x80);
	CHECK_EQ(inb(0xcfc), 0x86);
	outl(0xcf8, cfg_addr(0, 1, 3, 0x08));
	CHECK_EQ(inb(0xcff), 0x06);
	CHECK_EQ(inb(0xcfe), 0x80);

	/* PIIX4 PM: PMBA at 0x40 (0x600, I/O space bit), PMREGMISC enabled. */
	CHECK_EQ(cfg_readl(0, 1, 3, 0x40), 0x00000601);
	CHECK_EQ(cfg_readl(0, 1, 3, 0x80) & 0xff, 0x01);
	CHECK_EQ(cfg_readl(0, 1, 3, 0x3c) & 0xffff, 0x0109);	/* INTA, routed to IRQ 9 */
	cfg_writel(0, 1, 3, 0x40, 0xffffffff);
	CHECK_EQ(cfg_readl(0, 1, 3, 0x40), 0x0000ffc1);
	cfg_writel(0, 1, 3, 0x40, 0x600);
	CHECK_EQ(cfg_readl(0, 1, 3, 0x40), 0x00000601);

	/* Read-only identity; command's writable bits only; status bits not
	 * settable by software. */
	cfg_writel(0, 1, 3, 0x00, 0);
	CHECK_EQ(cfg_readl(0, 1, 3, 0x00), 0x71138086);
	cfg_writel(0, 1, 3, 0x04, 0xffffffff);
	CHECK_EQ(cfg_readl(0, 1, 3, 0x04), 0x02800001);
	cfg_writel(0, 1, 3, 0x04, 0);
	CHECK_EQ(cfg_readl(0, 1, 3, 0x04), 0x02800000);
	cfg_writel(0, 0, 0, 0x04, 0);
	CHECK_EQ(cfg_readl(0, 0, 0, 0x04) & 0xffff, 0x0006);	/* hardwired */
	/* No BARs: they read 0 and keep nothing (size probe gives 0). */
	int bars_zero = 0;
	for (int reg = 0x10; reg <= 0x24; reg += 4) {
		cfg_writel(0, 0, 0, reg, 0xffffffff);
		cfg_writel(0, 1, 0, reg, 0xffffffff);
		bars_zero += cfg_readl(0, 0, 0, reg) == 0 && cfg_readl(0, 1, 0, reg) == 0;
	}
	CHECK_EQ(bars_zero, 6);
	/* Interrupt line: a scratch byte. */
	cfg_writel(0, 1, 0, 0x3c, 0x0b);
	CHECK_EQ(cfg_readl(0, 1, 0, 0x3c) & 0xff, 0x0b);
	/* PIIX3 PIRQ routing as SeaBIOS leaves it under qemu-system -M pc
	 * (A, B to IRQ 10; C, D to 11); bits 7 and 3-0 writable. */
	CHECK_EQ(cfg_readl(0, 1, 0, 0x60), 0x0b0b0a0a);
	cfg_writel(0, 1, 0, 0x60, 0xffffffff);
	CHECK_EQ(cfg_readl(0, 1, 0, 0x60), 0x8f8f8f8f);
	/* Writes to an absent function go nowhere. */
	cfg_writel(0, 2, 0, 0x3c, 0x05);
	CHECK_EQ(cfg_readl(0, 2, 0, 0x3c), 0xffffffff);
	/* The monitor's view is the same space. */
	CHECK_EQ(pci_config_read(1, 0, 0x60, 1), 0x8f);
	CHECK_EQ(pci_config_read(5, 0, 0, 2), 0xffff);
}

static void test_reset_control(void)
{
	bus_reset_map();
	pci_new();
	pc_take_request();
	CHECK_EQ(inb(0xcf9), 0x00);
	outb(0xcf9, 0x02);			/* choose a hard reset */
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);
	CHECK_EQ(inb(0xcf9), 0x02);
	outb(0xcf9, 0x06);			/* and start it */
	CHECK_EQ(pc_take_request(), PC_REQ_RESET);
	outb(0xcf9, 0x0e);			/* full reset */
	CHECK_EQ(pc_take_request(), PC_REQ_RESET);
	CHECK_EQ(inb(0xcf9), 0x0a);
	/* The address register is untouched by the byte at 0xcf9. */
	outl(0xcf8, 0x80000800);
	outb(0xcf9, 0x00);
	CHECK_EQ(inl(0xcf8), 0x80000800);
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);
}

void unit_main(void)
{
	test_probe_and_enumerate();
	test_registers();
	test_reset_control();
}
