/*
 * The HPET at PC_MMIO_HPET, as QEMU's `-M pc` has it: a 64-bit main
 * counter at 100 MHz (period 10 ns = 10,000,000 fs), three comparators
 * each capable of periodic mode and 64-bit width, legacy-replacement
 * routing (timer 0 -> ISA IRQ 0, timer 1 -> ISA IRQ 8), and I/O APIC
 * routing otherwise, limited to the pins HPET_ROUTE_CAP names (pin 2
 * only on QEMU's i440FX machine).  FSB (MSI) delivery is not offered.
 * Registers follow the IA-PC HPET specification 1.0a.
 *
 * Time: the main counter is virtual time / 10 ns while the HPET is
 * enabled, frozen while not; comparators fire from vclock timers.
 *
 * In legacy-replacement mode the PIT and the RTC must stop driving IRQ 0
 * and IRQ 8: the legacy line given to hpet_new goes high while that mode
 * is on, for the machine to gate them.
 */
#ifndef LOOM_SYSTEM_HPET_H
#define LOOM_SYSTEM_HPET_H

#include <stdint.h>

#include "system/irq.h"

#define HPET_TIMERS		3
#define HPET_PERIOD_FS		10000000u	/* 10 ns */
#define HPET_NS_PER_TICK	10
#define HPET_ROUTE_CAP		0x00000004u	/* I/O APIC pins a comparator may use */
/* General capabilities: period, vendor 0x8086, legacy-replacement capable,
 * 64-bit counter, 3 timers (field = 2), revision 1. */
#define HPET_CAP_ID		(((uint64_t)HPET_PERIOD_FS << 32) | 0x8086a201u)

struct hpet;

/* ioapic_pins: the 24 I/O APIC inputs (ioapic_irq), for non-legacy
 * routing; irq0/irq8: ISA IRQ 0 and 8 (pc_isa_irq), for legacy
 * replacement; legacy: raised while legacy replacement is on.  Maps the
 * 1 KiB register block at PC_MMIO_HPET. */
struct hpet *hpet_new(const struct irq ioapic_pins[24], struct irq irq0, struct irq irq8,
		      struct irq legacy);
void hpet_free(struct hpet *h);
void hpet_reset(struct hpet *h);

#endif
