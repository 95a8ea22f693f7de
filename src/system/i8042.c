/*
 * An empty 8042 and port 0x80 (i8042.h).  No keyboard or mouse is
 * attached and the controller never has data: the status register shows
 * both buffers empty, the system flag (POST passed) and the keyboard not
 * inhibited; the data port reads the last byte the output buffer held
 * (none: 0).  Of the commands, only those that pulse the output port's
 * reset line (0xf0-0xff with bit 0 clear, 0xfe being the common one) and
 * "write output port" (0xd1) with bit 0 clear act: they request a machine
 * reset.  Anything else is logged under -d unimp and ignored, which is
 * what a driver probing a controller with no devices ends up seeing.
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

#define KBD_STAT_SYS	0x04	/* self-test passed (the BIOS ran it) */
#define KBD_STAT_CMD	0x08	/* the last write was to the command port */
#define KBD_STAT_UNLOCKED 0x10	/* keyboard not inhibited */
#define KBD_CMD_WRITE_OUTPUT 0xd1

static struct {
	uint8_t status;
	bool output_port_next;	/* 0xd1 given: the next data byte is the output port */
} kbd;

static uint64_t kbd_status_read(void *opaque, uint64_t offset, unsigned size)
{
	return kbd.status;
}

static uint64_t kbd_data_read(void *opaque, uint64_t offset, unsigned size)
{
	return 0x00;
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
	if (cmd == KBD_CMD_WRITE_OUTPUT) {
		kbd.output_port_next = true;
		return;
	}
	if (log_enabled(LOG_UNIMP))
		log_printf("i8042: command %#x ignored: no keyboard controller functions modelled\n", cmd);
}

static void kbd_command_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	kbd.status |= KBD_STAT_CMD;
	kbd.output_port_next = false;
	kbd_command(value);
}

static void kbd_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	kbd.status &= ~KBD_STAT_CMD;
	if (kbd.output_port_next) {
		kbd.output_port_next = false;
		/* Bit 0: reset held low resets; bit 1 (A20 gate) is always
		 * on here. */
		if (!(value & 1))
			pc_request(PC_REQ_RESET);
		else if (!(value & 2) && log_enabled(LOG_UNIMP))
			log_printf("i8042: A20 gate off not modelled (A20 stays on)\n");
		return;
	}
	if (log_enabled(LOG_UNIMP))
		log_printf("i8042: data %#x ignored: no keyboard or mouse\n", (unsigned)value);
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

void i8042_new(void)
{
	kbd.status = KBD_STAT_SYS | KBD_STAT_CMD | KBD_STAT_UNLOCKED;
	kbd.output_port_next = false;
	/* Two single ports: 0x61 between them is the PIT's system control
	 * port. */
	bus_map(BUS_IO, PC_PORT_I8042_DATA, 1, &kbd_data_ops, NULL, "i8042-data");
	bus_map(BUS_IO, PC_PORT_I8042_CMD, 1, &kbd_cmd_ops, NULL, "i8042-cmd");
	bus_map(BUS_IO, PC_PORT_POST, 1, &post_ops, NULL, "post");
}
