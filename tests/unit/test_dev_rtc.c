/*
 * The MC146818 RTC through ports 0x70/0x71 under hand-driven virtual
 * time, checked against the datasheet and a PC BIOS's CMOS layout: the
 * time registers in BCD and binary, 24- and 12-hour; SET; the divider
 * reset; UIP's window around each update; periodic, alarm and
 * update-ended flags and IRQ 8; NMI mask bit; the memory-size bytes.
 *
 * The start time is 2023-11-14 22:13:20.5 UTC (a Tuesday), Unix time
 * 1700000000.5, given to the constructor, so nothing depends on the host.
 */
#include "unit.h"

#include "system/bus.h"
#include "system/rtc.h"
#include "system/vclock.h"

#define SEC 1000000000ll
#define MS 1000000ll
#define US 1000ll

static int irq_level, irq_rises;

static void irq8_seen(void *opaque, int n, int level)
{
	if (level && !irq_level)
		irq_rises++;
	irq_level = level;
}

static uint8_t cmos_read(uint8_t r)
{
	bus_write(BUS_IO, 0x70, 1, r);
	return bus_read(BUS_IO, 0x71, 1);
}

static void cmos_write(uint8_t r, uint8_t v)
{
	bus_write(BUS_IO, 0x70, 1, r);
	bus_write(BUS_IO, 0x71, 1, v);
}

static void at(int64_t ns)
{
	vclock_set_manual(ns);
	vtimer_run();
}

static struct rtc *last;

/* Virtual time 0 is 22:13:20.5, so second boundaries fall at 0.5 s + k. */
static struct rtc *fresh(uint64_t ram)
{
	if (last)
		cmos_write(0x0b, 0x02);		/* interrupts off: no timer left armed */
	bus_reset_map();
	at(0);
	irq_level = irq_rises = 0;
	last = rtc_new_at(irq_line(irq8_seen, NULL, 8), ram, 1700000000ll * SEC + SEC / 2);
	return last;
}

static void test_time(void)
{
	fresh(512 << 20);
	CHECK_EQ(cmos_read(0x0a), 0x26);
	CHECK_EQ(cmos_read(0x0b), 0x02);
	CHECK_EQ(cmos_read(0x0d), 0x80);
	CHECK_EQ(cmos_read(0x00), 0x20);
	CHECK_EQ(cmos_read(0x02), 0x13);
	CHECK_EQ(cmos_read(0x04), 0x22);
	CHECK_EQ(cmos_read(0x06), 0x03);	/* Tuesday: Sunday is 1 */
	CHECK_EQ(cmos_read(0x07), 0x14);
	CHECK_EQ(cmos_read(0x08), 0x11);
	CHECK_EQ(cmos_read(0x09), 0x23);
	CHECK_EQ(cmos_read(0x32), 0x20);
	at(SEC / 2 - 1);
	CHECK_EQ(cmos_read(0x00), 0x20);
	at(SEC / 2 + 1);
	CHECK_EQ(cmos_read(0x00), 0x21);
	/* Binary, then 12-hour (22h is 10 PM: bit 7 and 10). */
	cmos_write(0x0b, 0x06);
	CHECK_EQ(cmos_read(0x00), 21);
	CHECK_EQ(cmos_read(0x04), 22);
	cmos_write(0x0b, 0x04);
	CHECK_EQ(cmos_read(0x04), 0x80 | 10);
	cmos_write(0x0b, 0x00);
	CHECK_EQ(cmos_read(0x04), 0x90);
	cmos_write(0x0b, 0x02);
	/* Across midnight and a year end: 22:13:21 is at 0.5 s, so 23:59:59
	 * is 6398 s later. */
	at(SEC / 2 + (int64_t)6398 * SEC);
	CHECK_EQ(cmos_read(0x04), 0x23);
	CHECK_EQ(cmos_read(0x02), 0x59);
	CHECK_EQ(cmos_read(0x00), 0x59);
	at(SEC / 2 + (int64_t)6399 * SEC);
	CHECK_EQ(cmos_read(0x04), 0x00);
	CHECK_EQ(cmos_read(0x07), 0x15);
	CHECK_EQ(cmos_read(0x06), 0x04);
	/* 2023-11-15 00:00:00 + 47 days = 2024-01-01. */
	at(SEC / 2 + (int64_t)(6399 + 47 * 86400) * SEC);
	CHECK_EQ(cmos_read(0x09), 0x24);
	CHECK_EQ(cmos_read(0x08), 0x01);
	CHECK_EQ(cmos_read(0x07), 0x01);
	CHECK_EQ(cmos_read(0x06), 0x02);	/* a Monday */
}

static void test_uip_and_set(void)
{
	fresh(512 << 20);
	at(SEC / 2 + 500 * MS);
	CHECK_EQ(cmos_read(0x0a) & 0x80, 0);
	/* UIP: from 244 us before the update to the end of its 1984 us. */
	at(SEC / 2 + SEC - 250 * US);
	CHECK_EQ(cmos_read(0x0a) & 0x80, 0);
	at(SEC / 2 + SEC - 240 * US);
	CHECK_EQ(cmos_read(0x0a), 0xa6);
	at(SEC / 2 + SEC + 1980 * US);
	CHECK_EQ(cmos_read(0x0a) & 0x80, 0x80);
	at(SEC / 2 + SEC + 1990 * US);
	CHECK_EQ(cmos_read(0x0a) & 0x80, 0);
	cmos_write(0x0a, 0xff);			/* UIP is read-only */
	CHECK_EQ(cmos_read(0x0a) & 0x80, 0);
	cmos_write(0x0a, 0x26);

	/* SET: the registers hold and take the guest's values; clearing it
	 * starts the new time, the next second one second later. */
	at(10 * SEC);
	cmos_write(0x0b, 0x82 | 0x10);
	CHECK_EQ(cmos_read(0x0b), 0x82);	/* SET clears UIE */
	cmos_write(0x00, 0x58);
	cmos_write(0x02, 0x59);
	cmos_write(0x04, 0x23);
	cmos_write(0x07, 0x31);
	cmos_write(0x08, 0x12);
	cmos_write(0x09, 0x99);
	cmos_write(0x32, 0x19);
	at(20 * SEC);
	CHECK_EQ(cmos_read(0x00), 0x58);
	CHECK_EQ(cmos_read(0x0a) & 0x80, 0);	/* no updates while SET */
	cmos_write(0x0b, 0x02);
	at(20 * SEC + 999 * MS);
	CHECK_EQ(cmos_read(0x00), 0x58);
	at(21 * SEC + 1 * MS);
	CHECK_EQ(cmos_read(0x00), 0x59);
	at(22 * SEC + 1 * MS);
	CHECK_EQ(cmos_read(0x00), 0x00);
	CHECK_EQ(cmos_read(0x09), 0x00);
	CHECK_EQ(cmos_read(0x32), 0x20);
	CHECK_EQ(cmos_read(0x08), 0x01);

	/* Divider held in reset: the clock stops; released, its first update
	 * comes half a second later. */
	cmos_write(0x0a, 0x76);
	at(40 * SEC);
	CHECK_EQ(cmos_read(0x00), 0x00);
	cmos_write(0x0a, 0x26);
	at(40 * SEC + 499 * MS);
	CHECK_EQ(cmos_read(0x00), 0x00);
	at(40 * SEC + 501 * MS);
	CHECK_EQ(cmos_read(0x00), 0x01);
}

static void test_interrupts(void)
{
	int reads = 0, stuck = 0;

	fresh(512 << 20);
	/* Flags are set whether or not enabled; IRQ 8 only when enabled. */
	at(10 * MS);
	CHECK_EQ(cmos_read(0x0c), 0x40);
	CHECK_EQ(irq_rises, 0);
	CHECK_EQ(cmos_read(0x0c), 0x00);	/* read clears */

	/* 1024 Hz periodic: a handler reading C on each IRQ sees 1024 a
	 * second. */
	cmos_write(0x0b, 0x42);
	for (int64_t t = 10 * MS; t <= 1010 * MS; t += 50 * US) {
		at(t);
		if (irq_level) {
			uint8_t c = cmos_read(0x0c);
			reads += (c & 0xc0) == 0xc0;
			stuck += irq_level;
		}
	}
	CHECK_EQ(irq_rises, 1024);
	CHECK_EQ(reads, 1024);
	CHECK_EQ(stuck, 0);
	/* Rate 15: 2 Hz. */
	cmos_write(0x0a, 0x2f);
	irq_rises = 0;
	for (int64_t t = 1010 * MS; t <= 3010 * MS; t += 1 * MS) {
		at(t);
		if (irq_level)
			cmos_read(0x0c);
	}
	CHECK_EQ(irq_rises, 4);
	cmos_write(0x0b, 0x02);
	cmos_read(0x0c);

	/* Update-ended: once a second, at the end of the update cycle. */
	cmos_write(0x0b, 0x12);
	irq_rises = 0;
	at(3 * SEC + SEC / 2 + 1983 * US);
	CHECK_EQ(irq_level, 0);
	at(3 * SEC + SEC / 2 + 1985 * US);
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(cmos_read(0x0c) & 0x90, 0x90);
	CHECK_EQ(irq_level, 0);
	cmos_write(0x0b, 0x02);

	/* Alarm at 22:13:30: the time is 22:13:24 at 4.5 s. */
	cmos_read(0x0c);
	cmos_write(0x01, 0x30);
	cmos_write(0x03, 0x13);
	cmos_write(0x05, 0x22);
	cmos_write(0x0b, 0x22);
	irq_rises = 0;
	at(9 * SEC + SEC / 2 - 1 * MS);
	CHECK_EQ(irq_level, 0);
	at(9 * SEC + SEC / 2 + 3 * MS);
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(cmos_read(0x0c) & 0xa0, 0xa0);
	at(10 * SEC + SEC / 2 + 3 * MS);
	CHECK_EQ(irq_level, 0);			/* 22:13:31 does not match */
	/* Don't-care hours and minutes: every minute at :30. */
	cmos_write(0x03, 0xc0);
	cmos_write(0x05, 0xff);
	at(69 * SEC + SEC / 2 + 3 * MS);
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(irq_rises, 2);
	/* Reading C lowers the line even with the alarm still enabled. */
	cmos_read(0x0c);
	CHECK_EQ(irq_level, 0);
	/* A machine reset drops the enables and the line, keeps the time and
	 * the format. */
	cmos_write(0x0b, 0x7e);
	at(70 * SEC + SEC / 2 + 3 * MS);
	CHECK_EQ(irq_level, 1);
	rtc_reset(last);
	CHECK_EQ(irq_level, 0);
	CHECK_EQ(cmos_read(0x0b), 0x06);
	CHECK_EQ(cmos_read(0x0c), 0x00);
	CHECK_EQ(cmos_read(0x00), 31);		/* 22:14:31, binary now */
	cmos_write(0x0b, 0x02);
}

static void test_cmos_and_nmi(void)
{
	struct rtc *rtc = fresh(512ull << 20);

	CHECK_EQ(cmos_read(0x15) | cmos_read(0x16) << 8, 640);
	CHECK_EQ(cmos_read(0x17) | cmos_read(0x18) << 8, 0xffff);	/* saturated */
	CHECK_EQ(cmos_read(0x30) | cmos_read(0x31) << 8, 0xffff);
	CHECK_EQ(cmos_read(0x34) | cmos_read(0x35) << 8, (512 - 16) * 16);
	CHECK_EQ(cmos_read(0x5b) | cmos_read(0x5c) << 8 | cmos_read(0x5d) << 16, 0);
	CHECK_EQ(cmos_read(0x14), 0x06);
	/* NVRAM keeps what is written. */
	cmos_write(0x40, 0x5a);
	CHECK_EQ(cmos_read(0x40), 0x5a);
	CHECK(!rtc_nmi_masked(rtc));
	bus_write(BUS_IO, 0x70, 1, 0x80 | 0x40);
	CHECK(rtc_nmi_masked(rtc));
	CHECK_EQ(bus_read(BUS_IO, 0x71, 1), 0x5a);
	bus_write(BUS_IO, 0x70, 1, 0x40);
	CHECK(!rtc_nmi_masked(rtc));
	CHECK_EQ(bus_read(BUS_IO, 0x70, 1), 0xff);
	/* Registers C and D cannot be written. */
	cmos_write(0x0d, 0x00);
	CHECK_EQ(cmos_read(0x0d), 0x80);

	/* 5 GiB: 3.5 GiB below the PCI hole, 1.5 GiB above 4 GiB; 8 MiB:
	 * nothing above 16 MiB. */
	fresh(5ull << 30);
	CHECK_EQ(cmos_read(0x34) | cmos_read(0x35) << 8, (3584 - 16) * 16);
	CHECK_EQ(cmos_read(0x5b) | cmos_read(0x5c) << 8 | cmos_read(0x5d) << 16, 1536 * 16);
	fresh(8ull << 20);
	CHECK_EQ(cmos_read(0x17) | cmos_read(0x18) << 8, 7 * 1024);
	CHECK_EQ(cmos_read(0x34) | cmos_read(0x35) << 8, 0);
}

void unit_main(void)
{
	test_time();
	test_uip_and_set();
	test_interrupts();
	test_cmos_and_nmi();
}
