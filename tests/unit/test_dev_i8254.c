/*
 * The 8254 PIT and port 0x61 under hand-driven virtual time, checked
 * against the datasheet: counter values and OUT in modes 0-4, the
 * latch and read-back commands, LSB/MSB/both access, channel 2's gate and
 * output at port 0x61 (Linux's pit_calibrate_tsc and quick_pit_calibrate
 * sequences), channel 0 as a periodic IRQ 0, and the refresh toggle.
 *
 * Times are taken in the middle of a PIT clock, (k + 1/2) / 1.193182 MHz,
 * so no check sits on a rounding boundary.
 */
#include "unit.h"

#include "system/bus.h"
#include "system/i8254.h"
#include "system/vclock.h"

static void outb(uint16_t port, uint8_t v) { bus_write(BUS_IO, port, 1, v); }
static uint8_t inb(uint16_t port) { return bus_read(BUS_IO, port, 1); }

static int64_t at_tick(int64_t k)
{
	return (int64_t)((k + 0.5) * 1e9 / PIT_HZ);
}

static void set_tick(int64_t k)
{
	vclock_set_manual(at_tick(k));
	vtimer_run();
}

static int irq0_level, irq0_rises;

static void irq0_seen(void *opaque, int n, int level)
{
	if (level && !irq0_level)
		irq0_rises++;
	irq0_level = level;
}

static struct i8254 *fresh(void)
{
	static struct i8254 *last;

	/* The previous test's PIT must not keep its timer armed. */
	if (last)
		i8254_reset(last);
	bus_reset_map();
	set_tick(0);
	irq0_level = irq0_rises = 0;
	last = i8254_new(irq_line(irq0_seen, NULL, 0));
	return last;
}

static uint16_t read_counter(int ch)
{
	uint8_t lo = inb(0x40 + ch);
	return lo | inb(0x40 + ch) << 8;
}

static uint8_t read_status(int ch)
{
	outb(0x43, 0xe0 | (2 << ch));	/* read-back: status only */
	return inb(0x40 + ch);
}

/* pit_calibrate_tsc(): gate on, speaker off, mode 0 with a 10 ms count,
 * then poll port 0x61 bit 5. */
static void test_calibrate_tsc(void)
{
	int64_t latch = PIT_HZ / 100;

	fresh();
	set_tick(1000);
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);
	outb(0x42, latch & 0xff);
	outb(0x42, latch >> 8);
	CHECK_EQ(inb(0x61) & 0x20, 0);
	/* Loaded on the next clock, terminal count N clocks later: OUT rises
	 * N + 1 clocks after the count was written. */
	set_tick(1000 + latch);
	CHECK_EQ(inb(0x61) & 0x20, 0);
	set_tick(1000 + latch + 1);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);
	CHECK_EQ(inb(0x61) & 0x0f, 0x01);
	/* Gate off: the counter holds. */
	outb(0x61, 0x00);
	uint16_t held = read_counter(2);
	set_tick(1000 + latch + 500);
	CHECK_EQ(read_counter(2), held);
	outb(0x61, 0x01);
	set_tick(1000 + latch + 600);
	CHECK_EQ(read_counter(2), (uint16_t)(held - 100));
}

/* quick_pit_calibrate(): mode 0, count 0xffff, then read LSB and MSB and
 * watch the MSB count down once per 256 clocks. */
static void test_quick_calibrate(void)
{
	int good = 0;

	fresh();
	set_tick(5);
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);
	outb(0x42, 0xff);
	outb(0x42, 0xff);
	/* Loaded at clock 6: the counter reads 0xffff - (k - 6) at clock k. */
	for (int i = 0; i < 200; i++) {
		int64_t k = 6 + 256 * i + 37;
		set_tick(k);
		inb(0x42);				/* LSB, discarded */
		good += inb(0x42) == 0xff - i;		/* MSB */
	}
	CHECK_EQ(good, 200);
	set_tick(6 + 0x1234);
	CHECK_EQ(read_counter(2), 0xffff - 0x1234);
	/* Past terminal count the counter wraps and keeps counting. */
	set_tick(6 + 0x10000 + 3);
	CHECK_EQ(read_counter(2), 0xfffc);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);
}

static void test_mode2_irq0(void)
{
	const int latch = 4773;		/* Linux's LATCH for HZ=250 */

	fresh();
	outb(0x43, 0x34);		/* channel 0, LSB then MSB, mode 2 */
	CHECK_EQ(read_status(0), 0xf4);	/* OUT high, null count, RW 3, mode 2 */
	outb(0x40, latch & 0xff);
	outb(0x40, latch >> 8);
	set_tick(2);
	CHECK_EQ(read_status(0), 0xb4);	/* the count is loaded */
	CHECK_EQ(irq0_level, 1);
	CHECK_EQ(irq0_rises, 1);	/* mode 2 starts with OUT high */
	/* Counter: N at the load clock (1), then down by one a clock; OUT low
	 * for the one clock the counter reads 1. */
	set_tick(1 + 100);
	CHECK_EQ(read_counter(0), latch - 100);
	set_tick(1 + latch - 1);
	CHECK_EQ(read_counter(0), 1);
	CHECK_EQ(irq0_level, 0);
	set_tick(1 + latch);
	CHECK_EQ(read_counter(0), latch);
	CHECK_EQ(irq0_level, 1);
	CHECK_EQ(irq0_rises, 2);
	/* 100 ms of periodic ticks, stepping 0.1 ms at a time as a busy vCPU
	 * would reach vtimer_run(). */
	for (int64_t ns = at_tick(1 + latch); ns < 100000000; ns += 100000) {
		vclock_set_manual(ns);
		vtimer_run();
	}
	vclock_set_manual(100000000);
	vtimer_run();
	int64_t ticks = (int64_t)(0.1 * PIT_HZ);
	CHECK_EQ(irq0_rises, 1 + (ticks - 1) / latch);
	/* A stopped channel (new control word, mode 0) drops OUT and stops
	 * the interrupts. */
	outb(0x43, 0x30);
	int before = irq0_rises;
	set_tick(PIT_HZ);
	CHECK_EQ(irq0_level, 0);
	CHECK_EQ(irq0_rises, before);
	CHECK_EQ(vtimer_next_deadline(), VCLOCK_NEVER);
}

static void test_mode3_latch_readback(void)
{
	fresh();
	outb(0x43, 0x36);		/* channel 0, mode 3 */
	outb(0x40, 100);
	outb(0x40, 0);
	/* Square wave: high for N/2 clocks, low for N/2, the counter
	 * stepping by two from N. */
	set_tick(1 + 10);
	CHECK_EQ(read_counter(0), 80);
	CHECK_EQ(read_status(0) >> 7, 1);
	set_tick(1 + 60);
	CHECK_EQ(read_status(0) >> 7, 0);
	CHECK_EQ(irq0_level, 0);
	set_tick(1 + 100);
	CHECK_EQ(irq0_level, 1);
	CHECK_EQ(irq0_rises, 2);

	/* Latch: the value at the latch command, whatever time does later;
	 * a second latch before the read changes nothing. */
	outb(0x43, 0xb4);		/* channel 2, mode 2, count 1000 */
	outb(0x42, 1000 & 0xff);
	outb(0x42, 1000 >> 8);
	outb(0x61, 1);
	set_tick(200);
	outb(0x61, 1);
	outb(0x43, 0xb4);
	outb(0x42, 1000 & 0xff);
	outb(0x42, 1000 >> 8);
	set_tick(200 + 1 + 10);
	outb(0x43, 0x80);		/* latch channel 2 */
	set_tick(200 + 1 + 20);
	outb(0x43, 0x80);
	CHECK_EQ(read_counter(2), 990);
	CHECK_EQ(read_counter(2), 980);	/* unlatched again */

	/* Read-back of count and status together: status first. */
	outb(0x43, 0xc8);		/* both, channel 2, at clock 221 */
	set_tick(200 + 1 + 30);
	CHECK_EQ(inb(0x42), 0xb4);	/* OUT high, count loaded, RW 3, mode 2 */
	CHECK_EQ(read_counter(2), 980);
}

static void test_access_modes(void)
{
	fresh();
	outb(0x61, 1);
	outb(0x43, 0x90);		/* channel 2, LSB only, mode 0 */
	outb(0x42, 0x50);
	set_tick(1 + 0x10);
	CHECK_EQ(inb(0x42), 0x40);
	CHECK_EQ(inb(0x42), 0x40);	/* every read is the LSB */
	outb(0x43, 0xa0);		/* MSB only */
	outb(0x42, 0x02);		/* count 0x200 */
	set_tick(1 + 0x10 + 1 + 0x100);
	CHECK_EQ(inb(0x42), 0x01);
	/* Mode 0: writing the first byte of a two-byte count stops the
	 * counter and drops OUT until the second byte. */
	outb(0x43, 0xb0);
	outb(0x42, 0x05);
	set_tick(0x400);
	outb(0x42, 0x00);
	set_tick(0x400 + 5);
	CHECK_EQ(inb(0x61) & 0x20, 0);
	set_tick(0x400 + 6);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);
	/* BCD: count 0x0100 is one hundred. */
	set_tick(0x500);
	outb(0x43, 0xb1);
	outb(0x42, 0x00);
	outb(0x42, 0x01);
	set_tick(0x500 + 1 + 35);
	CHECK_EQ(read_counter(2), 0x0065);
	set_tick(0x500 + 1 + 101);		/* wraps to 9999 */
	CHECK_EQ(read_counter(2), 0x9999);
}

static void test_mode4_mode1_refresh(void)
{
	fresh();
	outb(0x61, 1);
	outb(0x43, 0xb8);		/* channel 2, mode 4 */
	outb(0x42, 10);
	outb(0x42, 0);
	set_tick(10);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);
	set_tick(11);			/* the one clock at terminal count */
	CHECK_EQ(inb(0x61) & 0x20, 0);
	set_tick(12);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);

	/* Mode 1: a one-shot the gate's rising edge starts. */
	outb(0x61, 0);
	set_tick(100);
	outb(0x43, 0xb2);
	outb(0x42, 20);
	outb(0x42, 0);
	set_tick(200);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);	/* not triggered: high */
	outb(0x61, 1);
	set_tick(201);
	CHECK_EQ(inb(0x61) & 0x20, 0);
	set_tick(200 + 1 + 20);
	CHECK_EQ(inb(0x61) & 0x20, 0x20);

	/* Port 0x61 bit 4 toggles each 15.085 us refresh period. */
	vclock_set_manual(1000);
	uint8_t a = inb(0x61) & 0x10;
	vclock_set_manual(1000 + 15085);
	uint8_t b = inb(0x61) & 0x10;
	vclock_set_manual(1000 + 2 * 15085);
	CHECK(a != b);
	CHECK_EQ(inb(0x61) & 0x10, a);
	/* Bits 6-7 (parity/IOCHK errors) never set here. */
	CHECK_EQ(inb(0x61) & 0xc0, 0);
	/* The control register reads as nothing. */
	CHECK_EQ(inb(0x43), 0xff);
}

void unit_main(void)
{
	test_calibrate_tsc();
	test_quick_calibrate();
	test_mode2_irq0();
	test_mode3_latch_readback();
	test_access_modes();
	test_mode4_mode1_refresh();
}
