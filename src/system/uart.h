/*
 * A 16550A UART: COM1 at ports 0x3f8-0x3ff on ISA IRQ 4, Linux's ttyS0.
 * Its bytes go to and come from a character backend (chardev.h) named by
 * a -serial spec.  Transmission is instantaneous (the transmitter is
 * always empty again by the next access); reception is paced by the
 * receive FIFO: the backend is read only while the FIFO has room.
 */
#ifndef LOOM_SYSTEM_UART_H
#define LOOM_SYSTEM_UART_H

#include <stddef.h>
#include <stdint.h>

#include "system/chardev.h"
#include "system/irq.h"

struct uart;

/* COM1 on the bus, its output to the backend serial_spec names.  A bad
 * spec: one error line, NULL. */
struct uart *uart_new(const char *serial_spec, struct irq irq);
/* A UART at another base port (COM2 0x2f8 ...) on an open backend. */
struct uart *uart_new_at(uint16_t base, struct chardev *cd, struct irq irq);
void uart_reset(struct uart *uart);
/* The backend, for the machine loop's poll set (chardev_poll_fds covers
 * every backend; this is for a loop that wants just one). */
struct chardev *uart_chardev(struct uart *uart);
/* Bytes arriving on the serial line: how many fit now, and deliver (what
 * does not fit is an overrun, as on the wire). */
size_t uart_can_receive(struct uart *uart);
void uart_receive(struct uart *uart, const uint8_t *buf, size_t len);

#endif
