/*
 * The two legacy ports Linux touches with nothing worth modelling behind
 * them: the 8042 keyboard controller at 0x60/0x64, reduced to an empty
 * controller whose reset line works (command 0xfe, Linux's reboot=kbd),
 * and the POST diagnostic port 0x80, which the kernel writes as an I/O
 * delay.
 */
#ifndef LOOM_SYSTEM_I8042_H
#define LOOM_SYSTEM_I8042_H

/* Map 0x60, 0x64 and 0x80 on the bus. */
void i8042_new(void);

#endif
