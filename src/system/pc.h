/*
 * The PC that loom-system emulates, as one table of facts every part of
 * src/system/ agrees on: where each device sits in port I/O and MMIO,
 * which interrupt line it drives, and the constructors pc.c calls to
 * build the machine.  The layout follows QEMU's `-M pc` (i440FX/PIIX)
 * where the guest can see it, so that a guest's boot log under
 * loom-system and under qemu-system-x86_64 can be compared line by line.
 *
 * Interrupt routing: ISA IRQ n goes to input n of the 8259 pair and to
 * I/O APIC pin n, except IRQ 0 (PIT / HPET legacy timer 0), which is I/O
 * APIC pin 2 (the MADT says so with an interrupt source override).  The
 * master 8259's output is the local APIC's LINT0 (ExtINT in virtual-wire
 * mode); the I/O APIC delivers messages to the local APIC.
 */
#ifndef LOOM_SYSTEM_PC_H
#define LOOM_SYSTEM_PC_H

#include <stdbool.h>
#include <stdint.h>

#include "system/irq.h"

/* Port I/O. */
#define PC_PORT_PIC_MASTER	0x20	/* 2 ports */
#define PC_PORT_PIC_SLAVE	0xa0	/* 2 ports */
#define PC_PORT_PIC_ELCR	0x4d0	/* 2 ports: edge/level control */
#define PC_PORT_PIT		0x40	/* 4 ports */
#define PC_PORT_SYSCTL_B	0x61	/* PIT channel 2 gate and output, speaker */
#define PC_PORT_I8042_DATA	0x60
#define PC_PORT_I8042_CMD	0x64	/* command 0xfe pulses reset */
#define PC_PORT_RTC		0x70	/* 2 ports: index (bit 7: NMI mask), data */
#define PC_PORT_POST		0x80	/* POST code; writes are I/O delays */
#define PC_PORT_COM1		0x3f8	/* 8 ports */
#define PC_PORT_PCI_CONFIG	0xcf8	/* 8 ports: address 0xcf8, data 0xcfc */
#define PC_PORT_RESET		0xcf9	/* reset control register */
#define PC_PORT_ACPI_PM		0x600	/* PIIX4 PM: PM1a_EVT 0x600 (4), PM1a_CNT 0x604 (2), PM_TMR 0x608 (4) */
#define PC_PORT_ACPI_GPE0	0xafe0	/* 4 ports */
#define PC_PORT_ACPI_SMI_CMD	0xb2

/* MMIO. */
#define PC_MMIO_IOAPIC		0xfec00000ull	/* 4 KiB */
#define PC_MMIO_HPET		0xfed00000ull	/* 1 KiB */
#define PC_MMIO_LAPIC		0xfee00000ull	/* 4 KiB, the default APIC base */

/* The guest's clocks, which the system CPUID model reports so the kernel
 * need not calibrate them: leaf 0x15 as EAX = 1, EBX = PC_TSC_HZ /
 * PC_CRYSTAL_HZ, ECX = PC_CRYSTAL_HZ (and leaf 0x16 in MHz).
 *   - The core crystal also clocks the local APIC timer (lapic.h): Linux
 *     takes the APIC timer's rate from leaf 0x15's crystal without
 *     measuring it, as it is on Intel parts, so the two must agree.  1 GHz
 *     is QEMU's APIC bus rate and one tick per virtual nanosecond.
 *   - The TSC is virtual time scaled to 2 GHz: exactly two ticks per
 *     virtual nanosecond, so the conversion has no rounding either way. */
#define PC_CRYSTAL_HZ		1000000000ull
#define PC_TSC_HZ		2000000000ull
#define PC_TSC_PER_NS		2

/* ISA interrupt lines (8259 inputs; I/O APIC pins are the same but IRQ 0
 * -> pin 2). */
#define PC_IRQ_TIMER		0
#define PC_IRQ_KBD		1
#define PC_IRQ_COM1		4
#define PC_IRQ_RTC		8
#define PC_IRQ_SCI		9	/* ACPI SCI, level, active high */
#define PC_IRQ_MOUSE		12
#define PC_IOAPIC_PINS		24

/* Guest-physical addresses the boot path uses. */
#define PC_ACPI_BASE		0xe0000ull	/* ACPI tables: [0xe0000, 0xf0000) */
#define PC_ACPI_RSDP		0xf0000ull	/* RSDP, where a BIOS search finds it */
#define PC_LOW_RAM_END		0x9fc00ull	/* e820: usable below, reserved to 1 MiB */

/* The machine's ISA interrupt fan-out (pc.c): raise/lower ISA IRQ n on
 * both the 8259 and the I/O APIC. */
struct irq pc_isa_irq(int n);
/* Connect ISA IRQ n to its 8259 input and its I/O APIC pin (the pin number
 * is the sink's business: IRQ 0's sink is pin 2). */
void pc_wire_isa(int n, struct irq pic_input, struct irq ioapic_input);

/* Machine-level requests devices make (pc.c acts on them between TBs). */
enum pc_request {
	PC_REQ_NONE,
	PC_REQ_RESET,		/* 0xcf9, i8042 0xfe, ACPI reset, triple fault */
	PC_REQ_POWEROFF,	/* ACPI S5 */
};
void pc_request(enum pc_request req);
/* The pending request (and clear it): the vCPU loop's side. */
enum pc_request pc_take_request(void);

#endif
