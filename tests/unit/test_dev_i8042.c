/*
 * The 8042 and port 0x80, driven as Linux's i8042 and atkbd drivers drive
 * them: the command byte as a BIOS leaves it; the controller self-test
 * (0x55) and port tests (0x00); the AUX loopback with the AUX-data status
 * bit and IRQ 12 only while the command byte enables it; the keyboard's
 * identification (0xfa 0xab 0x83, 0x41 once translated), reset (0xfa
 * 0xaa), LEDs and scan-code set; IRQ 1 held while its byte waits; a
 * disabled port holding its byte back; a write to the empty mouse port
 * timing out with 0xfe; the reset line (command 0xfe, the other pulses,
 * the output port); port 0x80 swallowing writes and reading as all ones.
 */
#include "unit.h"

#include "system/bus.h"
#include "system/i8042.h"
#include "system/pc.h"

static int level[2], rises[2];

static void line(void *opaque, int n, int l)
{
	if (l && !level[n])
		rises[n]++;
	level[n] = l;
}

static void outb(uint16_t p, uint8_t v) { bus_write(BUS_IO, p, 1, v); }
static uint8_t inb(uint16_t p) { return bus_read(BUS_IO, p, 1); }

/* One byte of reply, as i8042_command() reads it: wait for OBF, read. */
static int reply(void)
{
	if (!(inb(0x64) & 0x01))
		return -1;
	return inb(0x60);
}

static int command(uint8_t cmd)
{
	outb(0x64, cmd);
	return reply();
}

void unit_main(void)
{
	bus_reset_map();
	i8042_new(irq_line(line, NULL, 0), irq_line(line, NULL, 1));
	pc_take_request();

	/* Empty buffers, system flag, not inhibited; bit 3 follows the last
	 * port written. */
	CHECK_EQ(inb(0x64) & 0x03, 0);
	CHECK_EQ(inb(0x64) & 0x14, 0x14);
	CHECK_EQ(level[0] | level[1], 0);

	/* The command byte after POST: translation, the system flag and the
	 * keyboard interrupt on, the mouse port off. */
	CHECK_EQ(command(0x20), 0x65);
	CHECK_EQ(inb(0x64) & 0x08, 0x08);
	/* The controller's replies come through the keyboard's line, which
	 * the command byte enables, and it drops when the byte is read. */
	CHECK_EQ(rises[0], 1);
	CHECK_EQ(level[0], 0);
	CHECK_EQ(command(0xaa), 0x55);
	CHECK_EQ(command(0xab), 0x00);
	CHECK_EQ(command(0xa9), 0x00);
	CHECK_EQ(inb(0x64) & 0x01, 0);
	CHECK_EQ(inb(0x60), 0x00);		/* empty: the last byte again */

	/* Linux's i8042_controller_init: interrupts off, then written back. */
	outb(0x64, 0x60);
	outb(0x60, 0x64);
	CHECK_EQ(inb(0x64) & 0x08, 0);
	CHECK_EQ(command(0x20), 0x64);

	/* AUX loopback (i8042_check_aux): the byte comes back marked as the
	 * mouse's, even with the mouse port disabled (the controller puts it
	 * there itself); no interrupt with AUXINT clear, one with it set. */
	outb(0x64, 0xd3);
	outb(0x60, 0x5a);
	CHECK_EQ(inb(0x64) & 0x21, 0x21);
	CHECK_EQ(rises[1], 0);
	CHECK_EQ(inb(0x60), 0x5a);
	CHECK_EQ(inb(0x64) & 0x21, 0);
	outb(0x64, 0x60);
	outb(0x60, 0x47);			/* both interrupts, translation */
	outb(0x64, 0xd3);
	outb(0x60, 0xa5);
	CHECK_EQ(rises[1], 1);
	CHECK_EQ(level[1], 1);
	CHECK_EQ(level[0], 0);
	CHECK_EQ(inb(0x60), 0xa5);
	CHECK_EQ(level[1], 0);
	/* The output port shows the two buffer-full interrupt lines. */
	CHECK_EQ(command(0xd0) & 0x33, 0x03);

	/* The keyboard: identify, translated and not. */
	rises[0] = 0;
	outb(0x60, 0xf2);
	CHECK_EQ(rises[0], 1);
	CHECK_EQ(level[0], 1);
	CHECK_EQ(reply(), 0xfa);
	CHECK_EQ(level[0], 1);			/* the next byte is already there, */
	CHECK_EQ(rises[0], 2);			/* on a new edge */
	CHECK_EQ(reply(), 0xab);
	CHECK_EQ(reply(), 0x41);
	CHECK_EQ(level[0], 0);
	CHECK_EQ(reply(), -1);
	outb(0x64, 0x60);
	outb(0x60, 0x07);			/* translation off */
	outb(0x60, 0xf2);
	CHECK_EQ(reply(), 0xfa);
	CHECK_EQ(reply(), 0xab);
	CHECK_EQ(reply(), 0x83);
	/* Reset: acknowledge, then the self-test passed. */
	outb(0x60, 0xff);
	CHECK_EQ(reply(), 0xfa);
	CHECK_EQ(reply(), 0xaa);
	/* LEDs take a parameter, acknowledged each time. */
	outb(0x60, 0xed);
	CHECK_EQ(reply(), 0xfa);
	outb(0x60, 0x07);
	CHECK_EQ(reply(), 0xfa);
	/* Scan-code set: select 3, read it back; echo. */
	outb(0x60, 0xf0);
	CHECK_EQ(reply(), 0xfa);
	outb(0x60, 0x03);
	CHECK_EQ(reply(), 0xfa);
	outb(0x60, 0xf0);
	reply();
	outb(0x60, 0x00);
	CHECK_EQ(reply(), 0xfa);
	CHECK_EQ(reply(), 0x03);
	outb(0x60, 0xee);
	CHECK_EQ(reply(), 0xee);

	/* A byte sent to the keyboard enables its port again; the loopback's
	 * bytes come through a disabled port. */
	outb(0x64, 0xad);
	outb(0x60, 0xee);			/* echo: enables the port again */
	CHECK_EQ(reply(), 0xee);
	outb(0x64, 0xad);
	outb(0x64, 0xd2);			/* "as if from the keyboard" */
	outb(0x60, 0x1c);
	CHECK_EQ(inb(0x64) & 0x21, 0x01);
	CHECK_EQ(reply(), 0x1c);
	CHECK_EQ(command(0x20) & 0x10, 0x10);	/* still disabled */

	/* Nothing on the mouse port: a byte sent to it times out. */
	outb(0x64, 0xd4);
	outb(0x60, 0xf2);
	outb(0x60, 0xee);			/* the keyboard's echo waits behind it */
	CHECK_EQ(inb(0x64) & 0x61, 0x61);
	CHECK_EQ(inb(0x60), 0xfe);
	CHECK_EQ(inb(0x64) & 0x61, 0x01);	/* no timeout on the keyboard's byte */
	CHECK_EQ(inb(0x60), 0xee);
	CHECK_EQ(inb(0x64) & 0x61, 0);
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);

	/* Linux's reboot=kbd: 0xfe pulses the reset line. */
	outb(0x64, 0xfe);
	CHECK_EQ(pc_take_request(), PC_REQ_RESET);
	outb(0x64, 0xff);			/* pulses nothing */
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);
	outb(0x64, 0xf0);			/* pulses all four, reset among them */
	CHECK_EQ(pc_take_request(), PC_REQ_RESET);
	outb(0x64, 0xd1);
	outb(0x60, 0xdf);			/* output port: reset high, A20 on */
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);
	outb(0x64, 0xd1);
	outb(0x60, 0xde);			/* reset low */
	CHECK_EQ(pc_take_request(), PC_REQ_RESET);
	outb(0x60, 0xf4);			/* an ordinary byte now: the keyboard's */
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);
	CHECK_EQ(reply(), 0xfa);

	/* Reset brings back the state after POST. */
	i8042_reset();
	CHECK_EQ(command(0x20), 0x65);
	CHECK_EQ(level[0] | level[1], 0);

	/* Port 0x80: the kernel's I/O delay. */
	outb(0x80, 0x55);
	CHECK_EQ(inb(0x80), 0xff);
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);
	/* 0x61 between the two 8042 ports belongs to someone else. */
	CHECK(bus_find(BUS_IO, 0x61) == NULL);
}
