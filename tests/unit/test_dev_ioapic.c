/*
 * The I/O APIC (src/system/ioapic.c) through IOREGSEL/IOWIN, with its
 * messages captured; expectations from the 82093AA datasheet (register
 * indices, reset values, Remote IRR and EOI for level pins, masking), the
 * ICH datasheets' EOI register, and the peer's version (qemu-system-x86_64
 * 7.2's `info pic`: "ioapic0: ver=0x20"); with qemu-system-x86_64
 * installed, the reset state is compared with the peer's `info pic`.
 * The last test wires it to a local APIC to check the EOI round trip.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "system/bus.h"
#include "system/ioapic.h"
#include "system/lapic.h"
#include "system/pc.h"
#include "system/vclock.h"

#define IO PC_MMIO_IOAPIC

static struct ioapic_msg last;
static int sent;

static void capture(void *opaque, const struct ioapic_msg *msg)
{
	last = *msg;
	sent++;
}

static uint32_t reg_rd(uint8_t reg)
{
	bus_write(BUS_MMIO, IO, 4, reg);
	return (uint32_t)bus_read(BUS_MMIO, IO + 0x10, 4);
}

static void reg_wr(uint8_t reg, uint32_t v)
{
	bus_write(BUS_MMIO, IO, 4, reg);
	bus_write(BUS_MMIO, IO + 0x10, 4, v);
}

static struct ioapic *fresh(void)
{
	bus_reset_map();
	sent = 0;
	return ioapic_new(capture, NULL);
}

static void test_registers(void)
{
	struct ioapic *io = fresh();

	CHECK_EQ(reg_rd(0x01), 0x00170020);	/* 24 entries, version 0x20 */
	CHECK_EQ(reg_rd(0x00), 0);
	reg_wr(0x00, 0xffffffff);
	CHECK_EQ(reg_rd(0x00), 0x0f000000);	/* ID: bits 27:24 */
	CHECK_EQ(reg_rd(0x02), 0);		/* no arbitration register */
	reg_wr(0x01, 0);
	CHECK_EQ(reg_rd(0x01), 0x00170020);	/* read-only */
	CHECK_EQ(bus_read(BUS_MMIO, IO, 4), 0x01);	/* IOREGSEL reads back */
	for (int pin = 0; pin < 24; pin++) {
		CHECK_EQ(reg_rd(0x10 + 2 * pin), 0x10000);	/* masked at reset */
		CHECK_EQ(reg_rd(0x11 + 2 * pin), 0);
	}
	/* Delivery status (12) and Remote IRR (14) are read-only. */
	reg_wr(0x10, 0xffffffff);
	CHECK_EQ(reg_rd(0x10), 0x1afff);
	reg_wr(0x11, 0xffffffff);
	CHECK_EQ(reg_rd(0x11), 0xff000000);
	CHECK_EQ(reg_rd(0x40), 0);		/* past the table */
	ioapic_free(io);
}

static void test_edge(void)
{
	struct ioapic *io = fresh();
	struct irq pin4 = ioapic_irq(io, 4);

	irq_raise(&pin4);			/* masked: lost */
	irq_lower(&pin4);
	CHECK_EQ(sent, 0);
	reg_wr(0x11 + 8, 0x03000000);		/* destination 3 */
	reg_wr(0x10 + 8, 0x800 | 0x100 | 0x34);	/* unmask, logical, lowest, 0x34 */
	CHECK_EQ(sent, 0);			/* the lost edge stays lost */
	irq_raise(&pin4);
	CHECK_EQ(sent, 1);
	CHECK_EQ(last.vector, 0x34);
	CHECK_EQ(last.delivery_mode, 1);
	CHECK_EQ(last.dest, 3);
	CHECK(last.logical);
	CHECK(!last.level);
	irq_raise(&pin4);			/* no new edge */
	CHECK_EQ(sent, 1);
	irq_lower(&pin4);
	irq_raise(&pin4);
	CHECK_EQ(sent, 2);
	CHECK_EQ(reg_rd(0x10 + 8) & 0x4000, 0);	/* no Remote IRR for edge */
	ioapic_free(io);
}

static void test_level_remote_irr(void)
{
	struct ioapic *io = fresh();
	struct irq pin9 = ioapic_irq(io, 9);

	irq_raise(&pin9);
	CHECK_EQ(sent, 0);
	reg_wr(0x10 + 18, 0x8000 | 0x59);	/* level, fixed, unmasked: pending level goes out */
	CHECK_EQ(sent, 1);
	CHECK(last.level);
	CHECK_EQ(last.vector, 0x59);
	CHECK(reg_rd(0x10 + 18) & 0x4000);	/* Remote IRR */
	irq_lower(&pin9);
	irq_raise(&pin9);
	CHECK_EQ(sent, 1);			/* waits for the EOI */
	ioapic_eoi(io, 0x58);			/* another vector */
	CHECK_EQ(sent, 1);
	ioapic_eoi(io, 0x59);			/* still asserted: again */
	CHECK_EQ(sent, 2);
	irq_lower(&pin9);
	ioapic_eoi(io, 0x59);
	CHECK_EQ(sent, 2);
	CHECK_EQ(reg_rd(0x10 + 18) & 0x4000, 0);
	/* The EOI register does what the broadcast does. */
	irq_raise(&pin9);
	CHECK_EQ(sent, 3);
	CHECK(reg_rd(0x10 + 18) & 0x4000);
	bus_write(BUS_MMIO, IO + 0x40, 4, 0x58);
	CHECK(reg_rd(0x10 + 18) & 0x4000);
	bus_write(BUS_MMIO, IO + 0x40, 4, 0x59);
	CHECK_EQ(sent, 4);			/* still asserted: sent again */
	irq_lower(&pin9);
	ioapic_eoi(io, 0x59);
	/* Masked while asserted, then unmasked: delivered then. */
	reg_wr(0x10 + 18, 0x18000 | 0x59);
	irq_raise(&pin9);
	CHECK_EQ(sent, 4);
	reg_wr(0x10 + 18, 0x8000 | 0x59);
	CHECK_EQ(sent, 5);
	ioapic_free(io);
}

static struct lapic *lapic;
static void to_lapic(void *opaque, const struct ioapic_msg *m)
{
	if (lapic_match_dest(lapic, m->dest, m->logical))
		lapic_deliver(lapic, m->vector, m->delivery_mode, m->level);
}
static void eoi_to_ioapic(void *opaque, int vector) { ioapic_eoi(opaque, vector); }

static void test_with_lapic(void)
{
	bus_reset_map();
	vclock_set_manual(0);
	struct ioapic *io = ioapic_new(to_lapic, NULL);
	lapic = lapic_new(0, NULL, NULL);
	lapic_set_eoi_broadcast(lapic, eoi_to_ioapic, io);
	bus_write(BUS_MMIO, PC_MMIO_LAPIC + 0xf0, 4, 0x1ff);
	struct irq sci = ioapic_irq(io, 9);

	reg_wr(0x10 + 18, 0x8000 | 0x61);	/* level, physical dest 0 */
	irq_raise(&sci);
	CHECK(lapic_pending(lapic));
	CHECK_EQ(lapic_ack(lapic), 0x61);
	/* The handler does not clear the source before EOI: re-sent. */
	bus_write(BUS_MMIO, PC_MMIO_LAPIC + 0xb0, 4, 0);
	CHECK(lapic_pending(lapic));
	CHECK_EQ(lapic_ack(lapic), 0x61);
	irq_lower(&sci);
	bus_write(BUS_MMIO, PC_MMIO_LAPIC + 0xb0, 4, 0);
	CHECK(!lapic_pending(lapic));
	/* A destination that is not this APIC. */
	reg_wr(0x11 + 18, 0x05000000);
	irq_raise(&sci);
	CHECK(!lapic_pending(lapic));
	lapic_free(lapic);
	ioapic_free(io);
}

static void test_reset_against_qemu(void)
{
	unsigned long long rte[24];
	unsigned ver = 0, id = 0;
	int pins = 0;
	bool head = false;
	char line[512];
	FILE *p = popen("command -v qemu-system-x86_64 >/dev/null 2>&1 && "
			"printf 'info pic\\nquit\\n' | TERM=dumb timeout 60 qemu-system-x86_64 "
			"-M pc -S -monitor stdio -display none -nodefaults 2>/dev/null", "r");

	while (p && fgets(line, sizeof(line), p)) {
		const char *q;
		int pin;
		unsigned long long v;
		if ((q = strstr(line, "ioapic0: ver=")) && sscanf(q, "ioapic0: ver=%x id=%x", &ver, &id) == 2)
			head = true;
		else if (head && sscanf(line, " pin %d %llx", &pin, &v) == 2 && pin >= 0 && pin < 24) {
			rte[pin] = v;
			pins++;
		}
	}
	if (p)
		pclose(p);
	if (!head || pins != 24) {
		SKIP("qemu-system-x86_64 not installed (or its info pic was not understood)");
		return;
	}
	struct ioapic *io = fresh();
	CHECK_EQ(reg_rd(0x01) & 0xff, ver);
	CHECK_EQ(reg_rd(0x01) >> 16 & 0xff, 23);
	CHECK_EQ(reg_rd(0x00) >> 24, id);
	for (int pin = 0; pin < 24; pin++)
		CHECK_EQ(reg_rd(0x10 + 2 * pin) | (uint64_t)reg_rd(0x11 + 2 * pin) << 32, rte[pin]);
	ioapic_free(io);
}

void unit_main(void)
{
	test_reset_against_qemu();
	test_registers();
	test_edge();
	test_level_remote_irr();
	test_with_lapic();
}
