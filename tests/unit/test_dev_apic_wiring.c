/*
 * The interrupt path of the PC's APIC side wired as pc.h describes it:
 * ISA IRQ n through pc.c's fan-out to I/O APIC pin n (IRQ 0 to pin 2),
 * I/O APIC messages to the local APIC, EOIs back.  Sources are the HPET
 * in legacy-replacement mode (IRQ 0, edge) and the ACPI SCI (IRQ 9,
 * level); what a kernel programs is what it would program (vectors from
 * the redirection table, the SCI level-triggered as the MADT says).
 */
#include "unit.h"

#include "system/acpi_pm.h"
#include "system/bus.h"
#include "system/hpet.h"
#include "system/ioapic.h"
#include "system/lapic.h"
#include "system/pc.h"
#include "system/vclock.h"

static struct lapic *cpu;
static int kicks;

static void kick(void *opaque) { kicks++; }

static void to_lapic(void *opaque, const struct ioapic_msg *m)
{
	if (lapic_match_dest(cpu, m->dest, m->logical))
		lapic_deliver(cpu, m->vector, m->delivery_mode, m->level);
}

static void eoi(void *opaque, int vector) { ioapic_eoi(opaque, vector); }

static void ioapic_rte(uint8_t pin, uint32_t lo)
{
	bus_write(BUS_MMIO, PC_MMIO_IOAPIC, 4, 0x10 + 2 * pin);
	bus_write(BUS_MMIO, PC_MMIO_IOAPIC + 0x10, 4, lo);
}

static void lapic_eoi_write(void)
{
	bus_write(BUS_MMIO, PC_MMIO_LAPIC + 0xb0, 4, 0);
}

void unit_main(void)
{
	struct ioapic *io;
	struct hpet *hpet;
	struct acpi_pm *pm;
	struct irq pins[24];

	bus_reset_map();
	vclock_set_manual(0);
	cpu = lapic_new(0, kick, NULL);
	io = ioapic_new(to_lapic, NULL);
	lapic_set_eoi_broadcast(cpu, eoi, io);
	for (int i = 0; i < 24; i++)
		pins[i] = ioapic_irq(io, i);
	for (int n = 0; n < 16; n++)
		pc_wire_isa(n, (struct irq){ 0 }, pins[n == 0 ? 2 : n]);
	struct irq irq0 = pc_isa_irq(0), irq8 = pc_isa_irq(8);
	hpet = hpet_new(pins, irq0, irq8, (struct irq){ 0 });
	pm = acpi_pm_new(pc_isa_irq(PC_IRQ_SCI));

	bus_write(BUS_MMIO, PC_MMIO_LAPIC + 0xf0, 4, 0x1ff);	/* APIC on */
	ioapic_rte(2, 0x30);			/* timer: pin 2, edge, vector 0x30 */
	ioapic_rte(9, 0x8000 | 0x39);		/* SCI: pin 9, level, vector 0x39 */

	/* HPET timer 0, legacy replacement, periodic 1 ms. */
	bus_write(BUS_MMIO, PC_MMIO_HPET + 0x100, 8, 0x4 | 0x8 | 0x40);
	bus_write(BUS_MMIO, PC_MMIO_HPET + 0x108, 8, 100000);
	bus_write(BUS_MMIO, PC_MMIO_HPET + 0x108, 8, 100000);
	bus_write(BUS_MMIO, PC_MMIO_HPET + 0x010, 8, 3);
	vclock_set_manual(1000000);
	vtimer_run();
	CHECK(kicks > 0);
	CHECK(lapic_pending(cpu));
	CHECK_EQ(lapic_ack(cpu), 0x30);
	lapic_eoi_write();
	vclock_set_manual(2000000);
	vtimer_run();
	CHECK_EQ(lapic_ack(cpu), 0x30);
	lapic_eoi_write();
	CHECK(!lapic_pending(cpu));

	/* The SCI: ACPI on, power button enabled and pressed. */
	bus_write(BUS_IO, 0xb2, 1, 0xf1);
	bus_write(BUS_IO, 0x602, 2, 0x100);
	acpi_pm_power_button(pm);
	CHECK(lapic_pending(cpu));
	CHECK_EQ(lapic_ack(cpu), 0x39);
	lapic_eoi_write();			/* not acknowledged at the source: again */
	CHECK(lapic_pending(cpu));
	CHECK_EQ(lapic_ack(cpu), 0x39);
	bus_write(BUS_IO, 0x600, 2, 0x100);	/* the handler clears PWRBTN_STS */
	lapic_eoi_write();
	CHECK(!lapic_pending(cpu));
	CHECK_EQ(bus_read(BUS_MMIO, PC_MMIO_LAPIC + 0x100 + 0x10, 4), 0);	/* ISR empty */

	acpi_pm_free(pm);
	hpet_free(hpet);
	ioapic_free(io);
	lapic_free(cpu);
}
