/*
 * The I/O APIC of the PC (an 82093AA as QEMU models it: version 0x11, 24
 * pins) at PC_MMIO_IOAPIC: the IOREGSEL/IOWIN register window, the ID,
 * version and arbitration registers, and the redirection table.  An
 * asserted, unmasked pin becomes a message (vector, delivery mode,
 * destination) handed to the deliver callback, which the machine routes
 * to the local APICs that lapic_match_dest() accepts.
 *
 * Level-triggered pins set Remote IRR when delivered and are not sent
 * again until the local APIC's EOI for that vector comes back through
 * ioapic_eoi(); if the pin is still asserted then, it is sent again.
 * Edge-triggered pins send on 0 -> 1; an edge on a masked pin is lost
 * (82093AA datasheet).  Pin levels are logical (asserted or not): the
 * sources signal assertion, so the polarity bit is stored but not applied.
 */
#ifndef LOOM_SYSTEM_IOAPIC_H
#define LOOM_SYSTEM_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "system/irq.h"

#define IOAPIC_VERSION		0x00170011u	/* max redirection entry 23, version 0x11 */
#define IOAPIC_PINS		24

struct ioapic_msg {
	uint8_t vector;
	uint8_t delivery_mode;		/* enum lapic_dm */
	uint8_t dest;			/* APIC ID, or logical destination */
	bool logical;
	bool level;			/* trigger mode */
};

struct ioapic;

/* An I/O APIC in its reset state (every pin masked) at PC_MMIO_IOAPIC. */
struct ioapic *ioapic_new(void (*deliver)(void *opaque, const struct ioapic_msg *msg),
			  void *opaque);
void ioapic_free(struct ioapic *io);
void ioapic_reset(struct ioapic *io);
/* Pin n as an interrupt line (n in [0, 24)). */
struct irq ioapic_irq(struct ioapic *io, int pin);
/* A local APIC's EOI of vector (its lapic_set_eoi_broadcast callback). */
void ioapic_eoi(struct ioapic *io, int vector);

#endif
