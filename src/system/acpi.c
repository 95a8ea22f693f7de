/*
 * The ACPI table builder (acpi.h).  Tables are laid out in a host buffer
 * that mirrors [PC_ACPI_BASE, PC_ACPI_BASE + 64 KiB), with every pointer
 * already the guest-physical address, then copied into RAM once; the RSDP
 * goes separately to PC_ACPI_RSDP.  Field offsets follow the ACPI
 * specification (6.x keeps the revision-3 FADT layout as a prefix).
 *
 * The invariant: a table's checksum is computed last, after every field
 * of it is written (acpi_finish).
 */
#include "system/acpi.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "system/aml.h"
#include "system/hpet.h"
#include "system/pc.h"
#include "system/pci.h"
#include "system/physmem.h"
#include "util/log.h"

#define ACPI_AREA		0x10000u
#define ACPI_HDR		36

/* FADT (revision 3) fields. */
#define FADT_REVISION		3
#define FADT_LEN		244
#define FADT_SCI_EN_CMD		0xf1	/* acpi_pm.h's handshake */
#define FADT_SCI_DIS_CMD	0xf0
/* Flags: WBINVD works, C1 on all CPUs, no fixed sleep button, RTC wakes
 * from S4, reset register supported, use the platform clock (QEMU's). */
#define FADT_FLAGS		(1u << 0 | 1u << 2 | 1u << 5 | 1u << 7 | 1u << 10 | 1u << 15)
/* IA-PC boot architecture: legacy devices present, an 8042 on 0x60/0x64
 * (without it a revision-2+ FADT tells Linux there is no i8042). */
#define FADT_BOOT_ARCH		0x0003
#define RTC_CENTURY_INDEX	0x32

/* Generic Address Structure address space ids. */
enum { GAS_MEMORY = 0, GAS_IO = 1 };

struct acpi_buf {
	uint8_t b[ACPI_AREA];
	uint32_t n;			/* bytes used */
};

static void put8(uint8_t *p, uint8_t v) { p[0] = v; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum += *p++;
	return (uint8_t)-sum;
}

/* Room for a table of len bytes, aligned; returns its offset. */
static uint32_t acpi_alloc(struct acpi_buf *t, uint32_t len, uint32_t align)
{
	uint32_t off = (t->n + align - 1) & ~(align - 1);

	if (off + len > ACPI_AREA)
		internal_error("acpi: tables do not fit in %#x bytes", ACPI_AREA);
	t->n = off + len;
	return off;
}

static uint64_t gpa(uint32_t off) { return PC_ACPI_BASE + off; }

static void acpi_header(uint8_t *h, const char *sig, uint32_t len, uint8_t rev)
{
	char table_id[9];

	memcpy(h, sig, 4);
	put32(h + 4, len);
	put8(h + 8, rev);
	memcpy(h + 10, ACPI_OEM_ID, 6);
	snprintf(table_id, sizeof(table_id), "LOOM%.4s", sig);
	memcpy(h + 16, table_id, 8);
	put32(h + 24, 1);		/* OEM revision */
	memcpy(h + 28, "LOOM", 4);	/* creator */
	put32(h + 32, 1);
}

static void acpi_finish(uint8_t *h)
{
	uint32_t len = h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24;

	h[9] = 0;
	h[9] = checksum(h, len);
}

static void put_gas(uint8_t *p, uint8_t space, uint8_t bits, uint64_t addr)
{
	put8(p, space);
	put8(p + 1, bits);
	put8(p + 2, 0);		/* bit offset */
	put8(p + 3, 0);		/* access size: legacy */
	put64(p + 4, addr);
}

/* --- DSDT ----------------------------------------------------------------- */

/* An ISA device: _HID, optional _UID, and a _CRS of its ports (up to two
 * ranges, length 0 for none) and IRQ (-1 for none). */
static void dsdt_isa_device(struct aml *a, const char *name, const char *hid, int uid,
			    uint16_t port0, uint8_t len0, uint16_t port1, uint8_t len1, int irq)
{
	struct aml crs;
	size_t dev;

	aml_init(&crs);
	if (len0)
		aml_res_io(&crs, port0, len0);
	if (len1)
		aml_res_io(&crs, port1, len1);
	if (irq >= 0)
		aml_res_irq(&crs, irq);
	aml_res_end(&crs);

	dev = aml_device_begin(a, name);
	aml_name(a, "_HID");
	aml_eisaid(a, hid);
	if (uid >= 0) {
		aml_name(a, "_UID");
		aml_integer(a, uid);
	}
	aml_name(a, "_CRS");
	aml_buffer(a, crs.b, crs.n);
	aml_end(a, dev);
	aml_fini(&crs);
}

/* The PIIX3's ISA bridge (PCI 00:01.0, as on QEMU) and the legacy devices
 * behind it that src/system/ models, so the kernel binds them through
 * ACPI PnP as it does on the peer: the i8042's keyboard and mouse ports,
 * COM1 and the RTC, in the peer's order (which has a floppy controller
 * and a parallel port before COM1). */
static void dsdt_isa(struct aml *a)
{
	size_t dev = aml_device_begin(a, "ISA");

	aml_name(a, "_ADR");
	aml_integer(a, 0x00010000);
	dsdt_isa_device(a, "KBD", "PNP0303", -1, PC_PORT_I8042_DATA, 1, PC_PORT_I8042_CMD, 1, PC_IRQ_KBD);
	dsdt_isa_device(a, "MOU", "PNP0F13", -1, 0, 0, 0, 0, PC_IRQ_MOUSE);
	dsdt_isa_device(a, "COM1", "PNP0501", 1, PC_PORT_COM1, 8, 0, 0, PC_IRQ_COM1);
	dsdt_isa_device(a, "RTC", "PNP0B00", -1, PC_PORT_RTC, 2, 0, 0, PC_IRQ_RTC);
	aml_end(a, dev);
}

/* PCI interrupt routing in APIC mode: each slot's INTA-D wired to the
 * GSI (= I/O APIC pin = ISA IRQ) firmware routed its PIRQ to, as fixed
 * entries (source 0, the GSI as source index): the OS then programs the
 * pin level-triggered, active low, as PCI interrupts are.  QEMU's DSDT
 * routes through link devices (LNKA-D) instead; fixed GSIs need no AML
 * methods.  Slots 0 and 1 are the chipset's (the PIIX4 PM function's SCI
 * is in the FADT). */
static void dsdt_prt(struct aml *a)
{
	size_t prt;

	aml_name(a, "_PRT");
	prt = aml_package_begin(a, 30 * 4);
	for (int slot = 2; slot < 32; slot++)
		for (int pin = 0; pin < 4; pin++) {
			size_t e = aml_package_begin(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, pci_intx_irq(slot, pin + 1));
			aml_end(a, e);
		}
	aml_end(a, prt);
}

static void dsdt_pci0(struct aml *a, uint64_t ram_size)
{
	uint64_t low = ram_size < PHYSMEM_LOW_MAX ? ram_size : PHYSMEM_LOW_MAX;
	struct aml crs;
	size_t dev;

	aml_init(&crs);
	aml_res_word_bus(&crs, 0x00, 0xff);
	aml_res_io(&crs, PC_PORT_PCI_CONFIG, 8);
	aml_res_word_io(&crs, 0x0000, PC_PORT_PCI_CONFIG - 1);
	aml_res_word_io(&crs, 0x0d00, 0xffff);
	aml_res_dword_mem(&crs, 0x000a0000, 0x000bffff, 1);	/* VGA window */
	/* The 32-bit PCI window: from the end of low RAM to below the I/O
	 * APIC, as QEMU's i440FX. */
	aml_res_dword_mem(&crs, (uint32_t)low, (uint32_t)PC_MMIO_IOAPIC - 1, 0);
	aml_res_end(&crs);

	dev = aml_device_begin(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_ADR");
	aml_integer(a, 0);
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_CRS");
	aml_buffer(a, crs.b, crs.n);
	dsdt_prt(a);
	dsdt_isa(a);
	aml_end(a, dev);
	aml_fini(&crs);
}

static void dsdt_hpet(struct aml *a)
{
	struct aml crs;
	size_t dev;

	aml_init(&crs);
	aml_res_mem32_fixed(&crs, (uint32_t)PC_MMIO_HPET, 0x400, 0);
	aml_res_end(&crs);

	dev = aml_device_begin(a, "HPET");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0103");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_CRS");
	aml_buffer(a, crs.b, crs.n);
	aml_end(a, dev);
	aml_fini(&crs);
}

static uint32_t build_dsdt(struct acpi_buf *t, uint64_t ram_size)
{
	struct aml a;
	size_t scope, pkg;
	uint32_t off;

	aml_init(&a);
	scope = aml_scope_begin(&a, "\\_SB");
	dsdt_pci0(&a, ram_size);
	dsdt_hpet(&a);
	aml_end(&a, scope);
	/* \_S5: SLP_TYPa, SLP_TYPb and two reserved zeros, as QEMU's. */
	aml_name(&a, "\\_S5");
	pkg = aml_package_begin(&a, 4);
	for (int i = 0; i < 4; i++)
		aml_integer(&a, 0);
	aml_end(&a, pkg);

	off = acpi_alloc(t, ACPI_HDR + (uint32_t)a.n, 16);
	/* Revision 2: integers are 64 bits. */
	acpi_header(t->b + off, "DSDT", ACPI_HDR + (uint32_t)a.n, 2);
	memcpy(t->b + off + ACPI_HDR, a.b, a.n);
	acpi_finish(t->b + off);
	aml_fini(&a);
	return off;
}

/* --- the fixed tables ------------------------------------------------------ */

static uint32_t build_facs(struct acpi_buf *t)
{
	uint32_t off = acpi_alloc(t, 64, 64);	/* 64-byte aligned (spec) */
	uint8_t *f = t->b + off;

	memcpy(f, "FACS", 4);
	put32(f + 4, 64);
	put32(f + 8, 0);	/* hardware signature */
	put8(f + 32, 1);	/* version */
	return off;
}

static uint32_t build_fadt(struct acpi_buf *t, uint32_t facs, uint32_t dsdt)
{
	uint32_t off = acpi_alloc(t, FADT_LEN, 16);
	uint8_t *f = t->b + off;

	acpi_header(f, "FACP", FADT_LEN, FADT_REVISION);
	put32(f + 36, (uint32_t)gpa(facs));
	put32(f + 40, (uint32_t)gpa(dsdt));
	put8(f + 44, 1);			/* (ACPI 1.0 INT_MODEL: APIC) */
	put8(f + 45, 0);			/* PM profile: unspecified */
	put16(f + 46, PC_IRQ_SCI);
	put32(f + 48, PC_PORT_ACPI_SMI_CMD);
	put8(f + 52, FADT_SCI_EN_CMD);
	put8(f + 53, FADT_SCI_DIS_CMD);
	put32(f + 56, PC_PORT_ACPI_PM);		/* PM1a_EVT_BLK */
	put32(f + 64, PC_PORT_ACPI_PM + 4);	/* PM1a_CNT_BLK */
	put32(f + 76, PC_PORT_ACPI_PM + 8);	/* PM_TMR_BLK */
	put32(f + 80, PC_PORT_ACPI_GPE0);
	put8(f + 88, 4);			/* PM1_EVT_LEN */
	put8(f + 89, 2);			/* PM1_CNT_LEN */
	put8(f + 91, 4);			/* PM_TMR_LEN */
	put8(f + 92, 4);			/* GPE0_BLK_LEN */
	put16(f + 96, 0xfff);			/* C2 latency: no C2 */
	put16(f + 98, 0xfff);			/* C3 latency: no C3 */
	put8(f + 108, RTC_CENTURY_INDEX);
	put16(f + 109, FADT_BOOT_ARCH);
	put32(f + 112, FADT_FLAGS);
	put_gas(f + 116, GAS_IO, 8, PC_PORT_RESET);
	put8(f + 128, ACPI_RESET_VALUE);
	put64(f + 132, 0);			/* X_FIRMWARE_CTRL: must be 0 when FIRMWARE_CTRL is set */
	put64(f + 140, gpa(dsdt));		/* X_DSDT */
	put_gas(f + 148, GAS_IO, 32, PC_PORT_ACPI_PM);
	put_gas(f + 172, GAS_IO, 16, PC_PORT_ACPI_PM + 4);
	put_gas(f + 208, GAS_IO, 32, PC_PORT_ACPI_PM + 8);
	put_gas(f + 220, GAS_IO, 32, PC_PORT_ACPI_GPE0);
	acpi_finish(f);
	return off;
}

/* MADT entry types. */
enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_ISO = 2, MADT_LAPIC_NMI = 4 };
/* MPS INTI flags: polarity in bits 0-1, trigger in bits 2-3. */
#define MPS_ACTIVE_HIGH		0x1
#define MPS_LEVEL		0xc

static uint32_t build_madt(struct acpi_buf *t, int ncpus)
{
	uint32_t len = ACPI_HDR + 8 + 8 * ncpus + 12 + 2 * 10 + 6;
	uint32_t off = acpi_alloc(t, len, 16);
	uint8_t *m = t->b + off, *e;

	acpi_header(m, "APIC", len, 3);
	put32(m + 36, (uint32_t)PC_MMIO_LAPIC);
	put32(m + 40, 1);			/* PCAT_COMPAT: there are 8259s */
	e = m + 44;
	for (int i = 0; i < ncpus; i++, e += 8) {
		put8(e, MADT_LAPIC);
		put8(e + 1, 8);
		put8(e + 2, (uint8_t)i);	/* ACPI processor UID */
		put8(e + 3, (uint8_t)i);	/* APIC ID */
		put32(e + 4, 1);		/* enabled */
	}
	put8(e, MADT_IOAPIC);
	put8(e + 1, 12);
	put8(e + 2, 0);				/* I/O APIC ID */
	put8(e + 3, 0);
	put32(e + 4, (uint32_t)PC_MMIO_IOAPIC);
	put32(e + 8, 0);			/* GSI base */
	e += 12;
	/* ISA IRQ 0 is I/O APIC pin 2 (bus ISA, conforming flags). */
	put8(e, MADT_ISO);
	put8(e + 1, 10);
	put8(e + 2, 0);
	put8(e + 3, PC_IRQ_TIMER);
	put32(e + 4, 2);
	put16(e + 8, 0);
	e += 10;
	/* The SCI: level-triggered, active high. */
	put8(e, MADT_ISO);
	put8(e + 1, 10);
	put8(e + 2, 0);
	put8(e + 3, PC_IRQ_SCI);
	put32(e + 4, PC_IRQ_SCI);
	put16(e + 8, MPS_ACTIVE_HIGH | MPS_LEVEL);
	e += 10;
	/* LINT1 of every processor is NMI. */
	put8(e, MADT_LAPIC_NMI);
	put8(e + 1, 6);
	put8(e + 2, 0xff);			/* all processors */
	put16(e + 3, 0);
	put8(e + 5, 1);				/* LINT1 */
	acpi_finish(m);
	return off;
}

static uint32_t build_hpet(struct acpi_buf *t)
{
	uint32_t len = ACPI_HDR + 20;
	uint32_t off = acpi_alloc(t, len, 16);
	uint8_t *h = t->b + off;

	acpi_header(h, "HPET", len, 1);
	/* Event timer block ID: the low 32 bits of the capabilities. */
	put32(h + 36, (uint32_t)HPET_CAP_ID);
	put_gas(h + 40, GAS_MEMORY, 64, PC_MMIO_HPET);
	put8(h + 52, 0);			/* HPET number */
	put16(h + 53, 0x80);			/* minimum periodic tick */
	put8(h + 55, 0);			/* no page protection */
	acpi_finish(h);
	return off;
}

static uint32_t build_rsdt(struct acpi_buf *t, const uint32_t *tables, int n, bool x)
{
	int esize = x ? 8 : 4;
	uint32_t len = ACPI_HDR + esize * n;
	uint32_t off = acpi_alloc(t, len, 16);
	uint8_t *r = t->b + off;

	acpi_header(r, x ? "XSDT" : "RSDT", len, 1);
	for (int i = 0; i < n; i++) {
		if (x)
			put64(r + ACPI_HDR + 8 * i, gpa(tables[i]));
		else
			put32(r + ACPI_HDR + 4 * i, (uint32_t)gpa(tables[i]));
	}
	acpi_finish(r);
	return off;
}

uint64_t acpi_build(int ncpus, uint64_t ram_size)
{
	static struct acpi_buf t;
	uint32_t dsdt, facs, tables[3], rsdt, xsdt;
	uint8_t rsdp[36] = { 0 };

	if (ncpus < 1 || ncpus > 255)
		internal_error("acpi: %d CPUs", ncpus);
	memset(&t, 0, sizeof(t));
	dsdt = build_dsdt(&t, ram_size);
	facs = build_facs(&t);
	tables[0] = build_fadt(&t, facs, dsdt);
	tables[1] = build_madt(&t, ncpus);
	tables[2] = build_hpet(&t);
	rsdt = build_rsdt(&t, tables, 3, false);
	xsdt = build_rsdt(&t, tables, 3, true);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, ACPI_OEM_ID, 6);
	put8(rsdp + 15, 2);			/* revision: ACPI 2.0+ */
	put32(rsdp + 16, (uint32_t)gpa(rsdt));
	put32(rsdp + 20, sizeof(rsdp));
	put64(rsdp + 24, gpa(xsdt));
	rsdp[8] = checksum(rsdp, 20);
	rsdp[32] = checksum(rsdp, 36);

	if (!physmem_write(PC_ACPI_BASE, t.b, t.n) || !physmem_write(PC_ACPI_RSDP, rsdp, sizeof(rsdp)))
		internal_error("acpi: no RAM at %#llx for the tables", (unsigned long long)PC_ACPI_BASE);
	return PC_ACPI_RSDP;
}
