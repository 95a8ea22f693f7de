/*
 * The 8042 keyboard controller with a PS/2 keyboard on its first port and
 * nothing on its second (i8042.h), and port 0x80.
 *
 * The controller: one output buffer the CPU reads at 0x60, filled from the
 * controller's own replies first, then the keyboard's queue, then the
 * auxiliary port's; the status register at 0x64; the command byte (what
 * Linux calls the CTR) with its interrupt enables, port disables and
 * scan-code translation; the self-tests, the port tests, the loopback
 * commands 0xd2/0xd3 (Linux's i8042 driver finds the AUX port and tests
 * its interrupt through 0xd3), the output port and its reset line.  The
 * keyboard's output raises IRQ 1 and the auxiliary port's IRQ 12 while
 * the buffer holds their byte and the command byte enables them.
 *
 * The keyboard answers the commands the kernel's atkbd driver sends
 * (reset, identify, LEDs, scan-code set, typematic rate, enable/disable,
 * echo) as a PS/2 keyboard does; no host input reaches it (loom-system
 * has no display), so it never sends a key.  A byte sent to the empty
 * auxiliary port times out: the controller reports 0xfe with the timeout
 * bit, as an 8042 does when no device clocks the byte in, so psmouse
 * gives up at once instead of waiting.
 *
 * Port 0x80 ignores writes and reads as all ones, as on QEMU's pc machine
 * (nothing drives the bus for a read there).
 */
#include "system/i8042.h"

#include <stdbool.h>
#include <stdint.h>

#include "system/bus.h"
#include "system/pc.h"
#include "util/log.h"

/* Status register (0x64, read). */
#define STAT_OBF	0x01	/* output buffer full */
#define STAT_SYS	0x04	/* system flag: the command byte's bit 2 */
#define STAT_CMD	0x08	/* the last write was to the command port */
#define STAT_UNLOCKED	0x10	/* keyboard not inhibited by the key lock */
#define STAT_AUXDATA	0x20	/* the output buffer holds an AUX byte */
#define STAT_TIMEOUT	0x40	/* a device did not answer */

/* Command byte. */
#define CTR_KBDINT	0x01
#define CTR_AUXINT	0x02
#define CTR_SYS		0x04
#define CTR_KBDDIS	0x10
#define CTR_AUXDIS	0x20
#define CTR_XLATE	0x40
/* As a PC BIOS leaves it after POST (and as QEMU's BIOS does): keyboard
 * interrupt on, translation on, the mouse port off, POST passed. */
#define CTR_POST	(CTR_KBDINT | CTR_SYS | CTR_AUXDIS | CTR_XLATE)

/* Output port bits. */
#define OUT_RESET	0x01	/* low: the CPU is held in reset */
#define OUT_A20		0x02
#define OUT_KBD_OBF	0x10
#define OUT_AUX_OBF	0x20

/* Controller commands. */
#define CMD_READ_CTR	0x20
#define CMD_WRITE_CTR	0x60
#define CMD_AUX_DISABLE	0xa7
#define CMD_AUX_ENABLE	0xa8
#define CMD_AUX_TEST	0xa9
#define CMD_SELF_TEST	0xaa
#define CMD_KBD_TEST	0xab
#define CMD_KBD_DISABLE	0xad
#define CMD_KBD_ENABLE	0xae
#define CMD_READ_INPUT	0xc0
#define CMD_READ_OUTPUT	0xd0
#define CMD_WRITE_OUTPUT 0xd1
#define CMD_KBD_LOOP	0xd2
#define CMD_AUX_LOOP	0xd3
#define CMD_AUX_WRITE	0xd4

/* Keyboard commands and replies. */
#define KBD_SET_LEDS	0xed
#define KBD_ECHO	0xee
#define KBD_SCANSET	0xf0
#define KBD_GET_ID	0xf2
#define KBD_SET_RATE	0xf3
#define KBD_ENABLE	0xf4
#define KBD_DISABLE	0xf5	/* also restores the defaults */
#define KBD_DEFAULTS	0xf6
#define KBD_RESEND	0xfe
#define KBD_RESET	0xff
#define KBD_ACK		0xfa
#define KBD_BAT_OK	0xaa
#define KBD_NAK		0xfe

enum src { SRC_CTL, SRC_KBD, SRC_AUX };
#define SRC_TIMEOUT	0x80

struct queue {
	uint8_t b[16];
	uint8_t src[16];	/* the controller's queue: whose byte it poses as,
				 * | SRC_TIMEOUT for a timeout's 0xfe */
	unsigned head, n;
};

static struct {
	struct irq irq_kbd, irq_aux;
	uint8_t ctr, outport;
	uint8_t status;		/* STAT_CMD; the rest derived */
	uint8_t out;		/* the output buffer */
	bool full;
	enum src from;		/* who filled it */
	bool timeout;		/* it holds a transmit timeout's 0xfe */
	int pending;		/* the controller command waiting for a data byte, or 0 */
	struct queue ctl, kbd;	/* no mouse: no queue of its own */

	/* The keyboard. */
	int kbd_pending;	/* its command waiting for a parameter, or 0 */
	uint8_t kbd_set;	/* scan-code set, 1-3 */
	uint8_t kbd_last;	/* for KBD_RESEND */
} kbd;

static void q_put_as(struct queue *q, uint8_t v, unsigned src)
{
	if (q->n == sizeof q->b)
		return;			/* a device's FIFO drops what overflows */
	unsigned i = (q->head + q->n++) % sizeof q->b;
	q->b[i] = v;
	q->src[i] = src;
}

static void q_put(struct queue *q, uint8_t v) { q_put_as(q, v, SRC_CTL); }

static uint8_t q_get(struct queue *q, unsigned *src)
{
	uint8_t v = q->b[q->head];
	if (src)
		*src = q->src[q->head];
	q->head = (q->head + 1) % sizeof q->b;
	q->n--;
	return v;
}

static void update_irqs(void)
{
	/* The controller's own replies come through the keyboard's line. */
	bool kbd_irq = kbd.full && kbd.from != SRC_AUX && (kbd.ctr & CTR_KBDINT);
	bool aux_irq = kbd.full && kbd.from == SRC_AUX && (kbd.ctr & CTR_AUXINT);
	kbd.outport &= ~(OUT_KBD_OBF | OUT_AUX_OBF);
	if (kbd_irq)
		kbd.outport |= OUT_KBD_OBF;
	if (aux_irq)
		kbd.outport |= OUT_AUX_OBF;
	irq_set(&kbd.irq_kbd, kbd_irq);
	irq_set(&kbd.irq_aux, aux_irq);
}

/* Move the next byte into an empty output buffer: the controller's own
 * (its replies, and the loopback and timeout bytes it poses as a port's,
 * whatever the port's disable bit says) first, then the keyboard's while
 * its port is enabled. */
static void refill(void)
{
	if (!kbd.full) {
		if (kbd.ctl.n) {
			unsigned src;
			kbd.out = q_get(&kbd.ctl, &src);
			kbd.from = src & ~SRC_TIMEOUT;
			kbd.timeout = src & SRC_TIMEOUT;
			kbd.full = true;
		} else if (kbd.kbd.n && !(kbd.ctr & CTR_KBDDIS)) {
			kbd.out = q_get(&kbd.kbd, NULL);
			kbd.from = SRC_KBD;
			kbd.timeout = false;
			kbd.full = true;
		}
	}
	update_irqs();
}

static void ctl_reply(uint8_t v)
{
	q_put(&kbd.ctl, v);
	refill();
}

/* With translation on, the controller turns the keyboard's set-2 codes into
 * set 1 on their way out.  The keyboard sends no keys, so only the bytes of
 * its replies that the table changes matter: the second identification
 * byte and the scan-code set numbers. */
static uint8_t translate(uint8_t v)
{
	if (!(kbd.ctr & CTR_XLATE))
		return v;
	switch (v) {
	case 0x01: return 0x43;
	case 0x02: return 0x41;
	case 0x03: return 0x3f;
	case 0x83: return 0x41;
	default: return v;
	}
}

static void kbd_reply(uint8_t v)
{
	kbd.kbd_last = v;
	q_put(&kbd.kbd, v);
	refill();
}

static void kbd_defaults(void)
{
	kbd.kbd_set = 2;
	kbd.kbd_pending = 0;
}

/* A byte the CPU sent to the keyboard. */
static void kbd_byte(uint8_t v)
{
	if (kbd.kbd_pending) {
		int cmd = kbd.kbd_pending;
		kbd.kbd_pending = 0;
		if (cmd == KBD_SCANSET) {
			kbd_reply(KBD_ACK);
			if (v == 0)
				kbd_reply(translate(kbd.kbd_set));
			else if (v <= 3)
				kbd.kbd_set = v;
			return;
		}
		/* LEDs and the typematic rate: acknowledged, nothing to show. */
		kbd_reply(KBD_ACK);
		return;
	}
	switch (v) {
	case KBD_SET_LEDS:
	case KBD_SET_RATE:
	case KBD_SCANSET:
		kbd.kbd_pending = v;
		kbd_reply(KBD_ACK);
		break;
	case KBD_ECHO:
		kbd_reply(KBD_ECHO);
		break;
	case KBD_GET_ID:
		kbd_reply(KBD_ACK);
		kbd_reply(0xab);
		kbd_reply(translate(0x83));
		break;
	case KBD_ENABLE:
		/* Scanning on or off changes nothing while no key is ever
		 * pressed. */
		kbd_reply(KBD_ACK);
		break;
	case KBD_DISABLE:
	case KBD_DEFAULTS:
		kbd_defaults();
		kbd_reply(KBD_ACK);
		break;
	case KBD_RESEND:
		q_put(&kbd.kbd, kbd.kbd_last);
		refill();
		break;
	case KBD_RESET:
		kbd_defaults();
		kbd_reply(KBD_ACK);
		kbd_reply(KBD_BAT_OK);
		break;
	default:
		/* Set-3-only and unknown commands: a resend request. */
		if (log_enabled(LOG_UNIMP))
			log_printf("i8042: keyboard command %#x not modelled, answered with resend\n", v);
		kbd_reply(KBD_NAK);
		break;
	}
}

/* Nothing is plugged into the auxiliary port: the byte is not clocked in
 * and the controller reports a transmit timeout. */
static void aux_byte(uint8_t v)
{
	q_put_as(&kbd.ctl, KBD_NAK, SRC_AUX | SRC_TIMEOUT);
	refill();
}

static void write_outport(uint8_t v)
{
	kbd.outport = v;
	/* Bit 0: reset held low resets; bit 1 (A20 gate) is always on here. */
	if (!(v & OUT_RESET))
		pc_request(PC_REQ_RESET);
	else if (!(v & OUT_A20) && log_enabled(LOG_UNIMP))
		log_printf("i8042: A20 gate off not modelled (A20 stays on)\n");
	update_irqs();
}

static void kbd_command(uint8_t cmd)
{
	if (cmd >= 0xf0) {
		/* Pulse output-port bits 0-3 low for 6 us where the command's
		 * bit is 0; bit 0 is the CPU reset line. */
		if (!(cmd & 1))
			pc_request(PC_REQ_RESET);
		return;
	}
	if (cmd >= CMD_READ_CTR && cmd < CMD_READ_CTR + 0x20) {
		/* Controller RAM: byte 0 is the command byte; the rest is
		 * scratch no PC software relies on, read as 0. */
		ctl_reply(cmd == CMD_READ_CTR ? kbd.ctr : 0);
		return;
	}
	if (cmd >= CMD_WRITE_CTR && cmd < CMD_WRITE_CTR + 0x20) {
		kbd.pending = cmd;
		return;
	}
	switch (cmd) {
	case CMD_AUX_DISABLE:
		kbd.ctr |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		kbd.ctr &= ~CTR_AUXDIS;
		refill();
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		ctl_reply(0x00);	/* no clock or data line stuck */
		break;
	case CMD_SELF_TEST:
		ctl_reply(0x55);
		break;
	case CMD_KBD_DISABLE:
		kbd.ctr |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		kbd.ctr &= ~CTR_KBDDIS;
		refill();
		break;
	case CMD_READ_INPUT:
		/* Bit 7: keyboard not inhibited; bit 5: no manufacturing
		 * jumper; bit 4: 256K+ of system board RAM. */
		ctl_reply(0xb0);
		break;
	case CMD_READ_OUTPUT:
		ctl_reply(kbd.outport);
		break;
	case CMD_WRITE_OUTPUT:
	case CMD_KBD_LOOP:
	case CMD_AUX_LOOP:
	case CMD_AUX_WRITE:
		kbd.pending = cmd;
		break;
	default:
		if (log_enabled(LOG_UNIMP))
			log_printf("i8042: command %#x not modelled, ignored\n", cmd);
		break;
	}
}

static uint64_t kbd_status_read(void *opaque, uint64_t offset, unsigned size)
{
	uint8_t s = kbd.status | STAT_UNLOCKED;
	if (kbd.ctr & CTR_SYS)
		s |= STAT_SYS;
	if (kbd.full) {
		s |= STAT_OBF;
		if (kbd.from == SRC_AUX)
			s |= STAT_AUXDATA;
		if (kbd.timeout)
			s |= STAT_TIMEOUT;
	}
	return s;
}

static uint64_t kbd_data_read(void *opaque, uint64_t offset, unsigned size)
{
	/* An empty buffer reads as the byte it last held. */
	uint8_t v = kbd.out;
	if (kbd.full) {
		/* The line drops with the buffer, so that the next byte's
		 * interrupt is a new edge. */
		kbd.full = false;
		update_irqs();
		refill();
		if (!kbd.full)
			kbd.out = v;
	}
	return v;
}

static void kbd_command_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	kbd.status |= STAT_CMD;
	kbd.pending = 0;
	kbd_command(value);
}

static void kbd_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	int cmd = kbd.pending;
	kbd.status &= ~STAT_CMD;
	kbd.pending = 0;
	if (cmd >= CMD_WRITE_CTR && cmd < CMD_WRITE_CTR + 0x20) {
		if (cmd == CMD_WRITE_CTR) {
			kbd.ctr = value;
			refill();
		}
		return;
	}
	switch (cmd) {
	case CMD_WRITE_OUTPUT:
		write_outport(value);
		return;
	case CMD_KBD_LOOP:
		q_put_as(&kbd.ctl, value, SRC_KBD);
		refill();
		return;
	case CMD_AUX_LOOP:
		q_put_as(&kbd.ctl, value, SRC_AUX);
		refill();
		return;
	case CMD_AUX_WRITE:
		aux_byte(value);
		return;
	}
	/* A plain data byte goes to the keyboard, and sending one enables
	 * the keyboard's interface. */
	kbd.ctr &= ~CTR_KBDDIS;
	kbd_byte(value);
}

static uint64_t post_read(void *opaque, uint64_t offset, unsigned size)
{
	return ~0ull;
}

static void post_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
}

static const struct bus_ops kbd_data_ops = { kbd_data_read, kbd_data_write };
static const struct bus_ops kbd_cmd_ops = { kbd_status_read, kbd_command_write };
static const struct bus_ops post_ops = { post_read, post_write };

void i8042_reset(void)
{
	struct irq k = kbd.irq_kbd, a = kbd.irq_aux;
	kbd = (typeof(kbd)){ .irq_kbd = k, .irq_aux = a };
	kbd.ctr = CTR_POST;
	kbd.outport = OUT_RESET | OUT_A20;
	kbd.status = STAT_CMD;
	kbd_defaults();
	update_irqs();
}

void i8042_new(struct irq irq1, struct irq irq12)
{
	kbd.irq_kbd = irq1;
	kbd.irq_aux = irq12;
	i8042_reset();
	/* Two single ports: 0x61 between them is the PIT's system control
	 * port. */
	bus_map(BUS_IO, PC_PORT_I8042_DATA, 1, &kbd_data_ops, NULL, "i8042-data");
	bus_map(BUS_IO, PC_PORT_I8042_CMD, 1, &kbd_cmd_ops, NULL, "i8042-cmd");
	bus_map(BUS_IO, PC_PORT_POST, 1, &post_ops, NULL, "post");
}
