/*
 * The I/O APIC of the PC at PC_MMIO_IOAPIC, as qemu-system-x86_64 7.2's
 * `-M pc` has it: 24 pins and version 0x20 (the ICH generation: the
 * 82093AA's registers plus an EOI register at offset 0x40), so the
 * kernel's "IOAPIC[0]: ... version 32" line matches the peer's.  The
 * IOREGSEL/IOWIN register window, the ID and version registers, and the
 * redirection table.  An
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

#define IOAPIC_VERSION		0x00170020u	/* max redirection entry 23, version 0x20 */
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
/* A local APIC's EOI of vector (its lapic_set_eoi_broadcast callback);
 * also what a write to the EOI register does. */
void ioapic_eoi(struct ioapic *io, int vector);

#endif
