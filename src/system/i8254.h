/*
 * The 8254 programmable interval timer at ports 0x40-0x43, clocked at
 * 1.193182 MHz from virtual time, and the PC's system control port B
 * (0x61), which gates channel 2 (bit 0) and shows its output (bit 5) and
 * the DRAM refresh toggle (bit 4).  Channel 0's output is ISA IRQ 0;
 * channel 1 (DRAM refresh once) counts but drives nothing; channel 2
 * drives the speaker, which is silent here.
 */
#ifndef LOOM_SYSTEM_I8254_H
#define LOOM_SYSTEM_I8254_H

#include <stdint.h>

#include "system/irq.h"

#define PIT_HZ 1193182

struct i8254;

/* Map the PIT and port 0x61 on the bus; channel 0's output drives irq0.
 * Every channel starts unprogrammed (no count written), as after reset. */
struct i8254 *i8254_new(struct irq irq0);
void i8254_reset(struct i8254 *pit);

#endif
