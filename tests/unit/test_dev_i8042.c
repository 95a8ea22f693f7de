/*
 * The empty 8042 and port 0x80: status with both buffers empty, the reset
 * line pulsed by command 0xfe (and the other 0xf0-0xff pulses with bit 0
 * clear, and "write output port" 0xd1 with bit 0 clear), nothing else
 * resetting; port 0x80 swallowing writes and reading as all ones.
 */
#include "unit.h"

#include "system/bus.h"
#include "system/i8042.h"
#include "system/pc.h"

static void outb(uint16_t p, uint8_t v) { bus_write(BUS_IO, p, 1, v); }
static uint8_t inb(uint16_t p) { return bus_read(BUS_IO, p, 1); }

void unit_main(void)
{
	bus_reset_map();
	i8042_new();
	pc_take_request();

	/* Output and input buffers empty (bits 0, 1), system flag, not
	 * inhibited; bit 3 follows the last port written. */
	CHECK_EQ(inb(0x64) & 0x03, 0);
	CHECK_EQ(inb(0x64) & 0x14, 0x14);
	outb(0x60, 0xf4);
	CHECK_EQ(inb(0x64) & 0x08, 0);
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);
	outb(0x64, 0xad);			/* disable keyboard: ignored */
	CHECK_EQ(inb(0x64) & 0x08, 0x08);
	CHECK_EQ(inb(0x64) & 0x01, 0);		/* still nothing to read */
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);

	/* Linux's reboot=kbd: wait for the input buffer, then 0xfe. */
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
	outb(0x60, 0xde);			/* an ordinary data byte now */
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);

	/* Port 0x80: the kernel's I/O delay. */
	outb(0x80, 0x55);
	CHECK_EQ(inb(0x80), 0xff);
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);
	/* 0x61 between the two 8042 ports belongs to someone else. */
	CHECK(bus_find(BUS_IO, 0x61) == NULL);
}
