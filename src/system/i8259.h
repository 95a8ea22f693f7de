/*
 * The PC's pair of 8259A programmable interrupt controllers: the master at
 * ports 0x20/0x21 takes ISA IRQs 0-7, the slave at 0xa0/0xa1 takes IRQs
 * 8-15 and cascades into the master's input 2.  The PIIX's edge/level
 * control registers (ELCR, 0x4d0/0x4d1) choose the trigger of each input.
 *
 * The master's INT output is a struct irq (the local APIC's LINT0 in a
 * PC); the CPU side answers it with i8259_ack(), the two INTA cycles,
 * which returns the vector and moves the request into service.
 */
#ifndef LOOM_SYSTEM_I8259_H
#define LOOM_SYSTEM_I8259_H

#include <stdbool.h>
#include <stdint.h>

#include "system/irq.h"

struct i8259;

/* Build the pair in the state a PC BIOS leaves it (as after reset: no
 * vector base programmed, all inputs edge-triggered, nothing masked) and
 * map its ports on the bus. */
struct i8259 *i8259_new(struct irq intr_out);
/* Power-on state again (machine reset); ELCR returns to all-edge. */
void i8259_reset(struct i8259 *pic);
/* Input line n (0-15) of the pair: what pc_wire_isa() connects. */
struct irq i8259_irq(struct i8259 *pic, int n);
/* The level of the master's INT output. */
bool i8259_pending(const struct i8259 *pic);
/* The INTA cycle: the vector of the highest-priority unmasked request,
 * now in service (unless auto-EOI).  With nothing left to deliver the
 * chip answers IRQ 7 of the master (or, through the cascade, IRQ 15) as a
 * spurious interrupt without setting its in-service bit. */
int i8259_ack(struct i8259 *pic);

#endif
