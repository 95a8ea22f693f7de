/*
 * The 16550A (uart.h) as its datasheet describes the registers:
 *
 *   0 RBR (read) / THR (write), DLL when LCR.DLAB   4 MCR
 *   1 IER (bits 0-3), DLM when LCR.DLAB              5 LSR
 *   2 IIR (read) / FCR (write), whatever DLAB says   6 MSR
 *   3 LCR                                            7 SCR
 *
 * Interrupt identification in the chip's priority order: receiver line
 * status (overrun), received data (at the FIFO trigger level, or any byte
 * without FIFOs), character timeout (FIFO below the trigger, four character
 * times without activity), transmitter holding register empty, modem
 * status.  The THRE interrupt is an event, not a level: it is raised when
 * the THR empties or when IER.ETBEI is switched on with the THR empty, and
 * cleared by reading IIR while it is the identified source or by writing
 * THR.  Linux's 8250 driver checks exactly this at start-up (its "THRE
 * test"), and its port probe checks the loopback wiring of MCR to MSR.
 *
 * The PC gates the chip's interrupt output with MCR.OUT2; in loopback
 * OUT2 is disconnected from its pin, so the IRQ stays low.  Invariant:
 * every path that changes what IIR would say ends with uart_update().
 */
#include "system/uart.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "system/bus.h"
#include "system/pc.h"
#include "system/vclock.h"
#include "util/log.h"

#define UART_FIFO 16
#define UART_CLOCK_HZ 115200	/* 1.8432 MHz / 16: divisor 1 is 115200 baud */

#define IER_ERBFI	0x01	/* received data */
#define IER_ETBEI	0x02	/* THR empty */
#define IER_ELSI	0x04	/* line status */
#define IER_EDSSI	0x08	/* modem status */
#define IIR_NONE	0x01
#define IIR_MSR		0x00
#define IIR_THRE	0x02
#define IIR_RDA		0x04
#define IIR_RLS		0x06
#define IIR_TIMEOUT	0x0c
#define IIR_FIFO	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define FCR_CLEAR_TX	0x04
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_DCTS	0x01
#define MSR_DDSR	0x02
#define MSR_TERI	0x04
#define MSR_DDCD	0x08
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

struct uart {
	struct chardev *cd;
	struct irq irq;
	int irq_level;
	uint16_t base;
	uint16_t divisor;
	uint8_t ier, lcr, mcr, lsr, msr, scr;
	uint8_t fcr;		/* FIFO enable and trigger bits as written */
	uint8_t rx[UART_FIFO];
	int rx_head, rx_count;
	bool thre_pending;
	bool timeout_pending;
	struct vtimer timeout;
};

static bool uart_fifo_on(const struct uart *u)
{
	return u->fcr & FCR_ENABLE;
}

static int uart_trigger(const struct uart *u)
{
	static const int level[4] = { 1, 4, 8, 14 };

	return level[u->fcr >> 6];
}

static uint8_t uart_iir(const struct uart *u)
{
	uint8_t id = IIR_NONE;

	if (u->ier & IER_ELSI && u->lsr & LSR_OE)
		id = IIR_RLS;
	else if (u->ier & IER_ERBFI && u->rx_count >= (uart_fifo_on(u) ? uart_trigger(u) : 1))
		id = IIR_RDA;
	else if (u->ier & IER_ERBFI && u->timeout_pending)
		id = IIR_TIMEOUT;
	else if (u->ier & IER_ETBEI && u->thre_pending)
		id = IIR_THRE;
	else if (u->ier & IER_EDSSI && u->msr & 0x0f)
		id = IIR_MSR;
	return id | (uart_fifo_on(u) ? IIR_FIFO : 0);
}

static void uart_update(struct uart *u)
{
	int level = !(uart_iir(u) & IIR_NONE) && (u->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_set(&u->irq, level);
	}
}

/* One character's time on the line at the current divisor and format:
 * start bit, 5-8 data bits, parity, 1, 1.5 or 2 stop bits. */
static int64_t uart_char_ns(const struct uart *u)
{
	int data = 5 + (u->lcr & 3);
	int half_bits = 2 * (1 + data + !!(u->lcr & 0x08));
	int64_t div = u->divisor ? u->divisor : 65536;

	half_bits += u->lcr & 0x04 ? (data == 5 ? 3 : 4) : 2;
	return (int64_t)half_bits * 1000000000 * div / (2 * UART_CLOCK_HZ);
}

/* The character timeout restarts whenever a byte enters or leaves the
 * FIFO (FIFO mode only). */
static void uart_restart_timeout(struct uart *u)
{
	u->timeout_pending = false;
	if (uart_fifo_on(u) && u->rx_count)
		vtimer_mod(&u->timeout, vclock_ns() + 4 * uart_char_ns(u));
	else
		vtimer_del(&u->timeout);
}

static void uart_timeout_cb(void *opaque)
{
	struct uart *u = opaque;

	if (u->rx_count)
		u->timeout_pending = true;
	uart_update(u);
}

static void uart_rx_clear(struct uart *u)
{
	u->rx_head = u->rx_count = 0;
	u->lsr &= ~LSR_DR;
	uart_restart_timeout(u);
}

static void uart_rx_byte(struct uart *u, uint8_t b)
{
	int cap = uart_fifo_on(u) ? UART_FIFO : 1;

	if (u->rx_count == cap) {
		/* Overrun.  Without FIFOs the new byte replaces the unread one;
		 * with them the FIFO keeps its bytes and the new one is lost. */
		u->lsr |= LSR_OE;
		if (!uart_fifo_on(u))
			u->rx[u->rx_head] = b;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO] = b;
	u->rx_count++;
	u->lsr |= LSR_DR;
}

size_t uart_can_receive(struct uart *u)
{
	return (uart_fifo_on(u) ? UART_FIFO : 1) - u->rx_count;
}

void uart_receive(struct uart *u, const uint8_t *buf, size_t len)
{
	/* In loopback the receiver hears only the transmitter. */
	if (u->mcr & MCR_LOOP)
		return;
	for (size_t i = 0; i < len; i++)
		uart_rx_byte(u, buf[i]);
	uart_restart_timeout(u);
	uart_update(u);
}

static size_t uart_cd_can_receive(void *opaque)
{
	struct uart *u = opaque;

	return u->mcr & MCR_LOOP ? 0 : uart_can_receive(u);
}

static void uart_cd_receive(void *opaque, const uint8_t *buf, size_t len)
{
	uart_receive(opaque, buf, len);
}

/* The modem status inputs: in loopback the outputs wired back (RTS to
 * CTS, DTR to DSR, OUT1 to RI, OUT2 to DCD); otherwise a line with a
 * peer present (CTS, DSR, DCD asserted, no ring).  Deltas accumulate
 * until MSR is read. */
static void uart_set_msr(struct uart *u)
{
	uint8_t m = u->mcr, now, old = u->msr;

	if (m & MCR_LOOP)
		now = (m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) |
		      (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0);
	else
		now = MSR_CTS | MSR_DSR | MSR_DCD;
	u->msr = now | (old & 0x0f);
	if ((now ^ old) & MSR_CTS)
		u->msr |= MSR_DCTS;
	if ((now ^ old) & MSR_DSR)
		u->msr |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		u->msr |= MSR_TERI;	/* the trailing edge of ring */
	if ((now ^ old) & MSR_DCD)
		u->msr |= MSR_DDCD;
}

static void uart_transmit(struct uart *u, uint8_t b)
{
	if (u->mcr & MCR_LOOP) {
		uart_rx_byte(u, b);
		uart_restart_timeout(u);
	} else if (u->cd) {
		chardev_write(u->cd, &b, 1);
	}
	/* The byte left at once: THR and the shifter are empty again. */
	u->thre_pending = true;
}

static uint64_t uart_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uart *u = opaque;
	uint8_t v = 0;

	switch (offset) {
	case 0:
		if (u->lcr & LCR_DLAB)
			return u->divisor & 0xff;
		if (u->rx_count) {
			v = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % UART_FIFO;
			u->rx_count--;
		} else {
			v = u->rx[(u->rx_head + UART_FIFO - 1) % UART_FIFO];
		}
		if (!u->rx_count)
			u->lsr &= ~LSR_DR;
		uart_restart_timeout(u);
		break;
	case 1:
		return u->lcr & LCR_DLAB ? u->divisor >> 8 : u->ier;
	case 2:
		v = uart_iir(u);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if ((v & 0x0f) == IIR_THRE)
			u->thre_pending = false;
		break;
	case 3:
		return u->lcr;
	case 4:
		return u->mcr;
	case 5:
		v = u->lsr;
		u->lsr &= ~LSR_OE;	/* error bits clear on read */
		break;
	case 6:
		v = u->msr;
		u->msr &= 0xf0;
		break;
	case 7:
		return u->scr;
	}
	uart_update(u);
	return v;
}

static void uart_write_fcr(struct uart *u, uint8_t v)
{
	/* FIFO enable changing empties both FIFOs; with it clear, the other
	 * bits are not written (the datasheet). */
	if ((v ^ u->fcr) & FCR_ENABLE) {
		u->fcr = v & FCR_ENABLE;
		uart_rx_clear(u);
	}
	if (!(v & FCR_ENABLE))
		return;
	if (v & FCR_CLEAR_RX)
		uart_rx_clear(u);
	if (v & 0x30 && log_enabled(LOG_UNIMP))
		log_printf("uart: FCR bits %#x reserved on a 16550A, ignored\n", v & 0x30);
	u->fcr = v & (FCR_ENABLE | 0xc8);
}

static void uart_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct uart *u = opaque;
	uint8_t v = value, old;

	switch (offset) {
	case 0:
		if (u->lcr & LCR_DLAB) {
			u->divisor = (u->divisor & 0xff00) | v;
		} else {
			u->thre_pending = false;
			uart_transmit(u, v);
		}
		break;
	case 1:
		if (u->lcr & LCR_DLAB) {
			u->divisor = (u->divisor & 0x00ff) | v << 8;
			break;
		}
		old = u->ier;
		u->ier = v & 0x0f;
		/* Enabling ETBEI with the THR empty raises THRE at once. */
		if (!(old & IER_ETBEI) && (u->ier & IER_ETBEI) && (u->lsr & LSR_THRE))
			u->thre_pending = true;
		break;
	case 2:
		uart_write_fcr(u, v);
		break;
	case 3:
		u->lcr = v;
		break;
	case 4:
		old = u->mcr;
		u->mcr = v & 0x1f;
		if ((old ^ u->mcr) & MCR_LOOP)
			uart_rx_clear(u);
		uart_set_msr(u);
		break;
	case 5:
		/* LSR is read-only in normal use (factory test only). */
		break;
	case 6:
		break;
	case 7:
		u->scr = v;
		break;
	}
	uart_update(u);
}

static const struct bus_ops uart_ops = { uart_read, uart_write };

void uart_reset(struct uart *u)
{
	u->ier = u->lcr = u->mcr = u->scr = u->fcr = 0;
	u->lsr = LSR_THRE | LSR_TEMT;
	u->msr = 0;
	uart_set_msr(u);
	u->msr &= 0xf0;		/* no deltas at power-on */
	u->divisor = 12;	/* 9600 baud, what firmware leaves */
	u->thre_pending = false;
	uart_rx_clear(u);
	uart_update(u);
}

struct uart *uart_new_at(uint16_t base, struct chardev *cd, struct irq irq)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (!u)
		internal_error("uart: out of memory");
	u->cd = cd;
	u->irq = irq;
	u->base = base;
	vtimer_init(&u->timeout, uart_timeout_cb, u);
	uart_reset(u);
	if (cd)
		chardev_set_receiver(cd, uart_cd_can_receive, uart_cd_receive, u);
	bus_map(BUS_IO, base, 8, &uart_ops, u, "uart");
	return u;
}

struct uart *uart_new(const char *serial_spec, struct irq irq)
{
	struct chardev *cd = chardev_open(serial_spec, "-serial");

	if (!cd)
		return NULL;
	return uart_new_at(PC_PORT_COM1, cd, irq);
}

struct chardev *uart_chardev(struct uart *u)
{
	return u->cd;
}
