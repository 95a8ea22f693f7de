/*
 * The legacy devices wired as pc.h says (ISA IRQ n through pc_isa_irq()
 * to input n of the 8259 pair): PIT channel 0, the RTC and COM1 each
 * reach the CPU's INTA as the vector Linux's 8259 setup gives them, with
 * the RTC through the slave and the cascade.
 */
#include "unit.h"

#include "system/bus.h"
#include "system/i8254.h"
#include "system/i8259.h"
#include "system/pc.h"
#include "system/rtc.h"
#include "system/uart.h"
#include "system/vclock.h"

static int intr;

static void intr_seen(void *opaque, int n, int level) { intr = level; }

static void outb(uint16_t p, uint8_t v) { bus_write(BUS_IO, p, 1, v); }
static uint8_t inb(uint16_t p) { return bus_read(BUS_IO, p, 1); }

void unit_main(void)
{
	struct i8259 *pic;

	bus_reset_map();
	vclock_set_manual(0);
	pic = i8259_new(irq_line(intr_seen, NULL, 0));
	for (int n = 0; n < 16; n++)
		pc_wire_isa(n, i8259_irq(pic, n), (struct irq){ 0 });
	i8254_new(pc_isa_irq(PC_IRQ_TIMER));
	rtc_new_at(pc_isa_irq(PC_IRQ_RTC), 256 << 20, 1700000000ll * 1000000000);
	CHECK(uart_new("null", pc_isa_irq(PC_IRQ_COM1)) != NULL);

	/* init_8259A(): vectors 0x30 and 0x38, everything masked but the
	 * cascade, then unmask IRQ 0, 4 and 8. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	outb(0x20, 0x11);
	outb(0x21, 0x30);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	outb(0xa0, 0x11);
	outb(0xa1, 0x38);
	outb(0xa1, 0x02);
	outb(0xa1, 0x01);
	outb(0x21, ~0x15 & 0xff);
	outb(0xa1, 0xfe);
	CHECK_EQ(intr, 0);

	/* PIT: HZ=250 periodic. */
	outb(0x43, 0x34);
	outb(0x40, 4773 & 0xff);
	outb(0x40, 4773 >> 8);
	vclock_set_manual(10000);
	vtimer_run();
	CHECK_EQ(intr, 1);
	CHECK_EQ(i8259_ack(pic), 0x30);
	outb(0x20, 0x20);
	CHECK_EQ(intr, 0);
	vclock_set_manual(4100000);		/* one period later */
	vtimer_run();
	CHECK_EQ(intr, 1);
	CHECK_EQ(i8259_ack(pic), 0x30);
	outb(0x20, 0x20);
	outb(0x43, 0x30);			/* stop it */

	/* RTC update-ended interrupt through the slave. */
	outb(0x70, 0x0b);
	outb(0x71, 0x12);
	vclock_set_manual(1100000000);
	vtimer_run();
	CHECK_EQ(intr, 1);
	CHECK_EQ(i8259_ack(pic), 0x38);
	outb(0x70, 0x0c);
	CHECK_EQ(inb(0x71) & 0x90, 0x90);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	CHECK_EQ(intr, 0);
	outb(0x70, 0x0b);
	outb(0x71, 0x02);

	/* COM1's THRE interrupt, once OUT2 lets it out. */
	outb(0x3f9, 0x02);
	CHECK_EQ(intr, 0);
	outb(0x3fc, 0x08);
	CHECK_EQ(intr, 1);
	CHECK_EQ(i8259_ack(pic), 0x34);
	CHECK_EQ(inb(0x3fa), 0x02);
	outb(0x20, 0x20);
	CHECK_EQ(intr, 0);
}
