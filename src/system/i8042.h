/*
 * The 8042 keyboard controller at 0x60/0x64 with a PS/2 keyboard that
 * answers the driver's commands but never sends a key, an empty mouse
 * port, and the reset line on the output port (command 0xfe, Linux's
 * reboot=kbd); and the POST diagnostic port 0x80, which the kernel writes
 * as an I/O delay.
 */
#ifndef LOOM_SYSTEM_I8042_H
#define LOOM_SYSTEM_I8042_H

#include "system/irq.h"

/* Map 0x60, 0x64 and 0x80 on the bus; the keyboard's output raises irq1,
 * the mouse port's irq12. */
void i8042_new(struct irq irq1, struct irq irq12);
/* The state a PC BIOS leaves after POST. */
void i8042_reset(void);

#endif
