/*
 * The HPET (src/system/hpet.c) through its registers with virtual time
 * set by hand; expectations from the IA-PC HPET specification 1.0a
 * (register offsets, capability fields, write-1-to-clear status,
 * periodic comparators with Tn_VAL_SET_CNF, 32-bit mode wrap, legacy
 * replacement routing) and QEMU's -M pc values (10 ns period, 3 timers,
 * route capability pin 2).  With qemu-system-x86_64 installed, the whole
 * reset register block is also compared with the peer's, read with its
 * monitor's xp before the machine starts.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "system/bus.h"
#include "system/hpet.h"
#include "system/pc.h"
#include "system/vclock.h"

#define H PC_MMIO_HPET

static int level[32], pulses[32];
static void line(void *opaque, int n, int lvl)
{
	if (lvl && !level[n])
		pulses[n]++;
	level[n] = lvl;
}

/* Lines: I/O APIC pins 0-23 are n 0-23; ISA IRQ 0 is n 24, IRQ 8 n 25,
 * the legacy gate n 26. */
static struct hpet *fresh(int64_t now)
{
	struct irq pins[24];

	bus_reset_map();
	vclock_set_manual(now);
	for (int i = 0; i < 32; i++)
		level[i] = pulses[i] = 0;
	for (int i = 0; i < 24; i++)
		pins[i] = irq_line(line, NULL, i);
	return hpet_new(pins, irq_line(line, NULL, 24), irq_line(line, NULL, 25),
			irq_line(line, NULL, 26));
}

static uint64_t rd(uint64_t off) { return bus_read(BUS_MMIO, H + off, 8); }
static uint32_t rd32(uint64_t off) { return (uint32_t)bus_read(BUS_MMIO, H + off, 4); }
static void wr(uint64_t off, uint64_t v) { bus_write(BUS_MMIO, H + off, 8, v); }
static void wr32(uint64_t off, uint32_t v) { bus_write(BUS_MMIO, H + off, 4, v); }

static void test_capabilities(void)
{
	struct hpet *h = fresh(0);

	CHECK_EQ(rd(0x000) >> 32, 10000000);		/* 10 ns in fs */
	CHECK_EQ(rd(0x000) & 0xff, 1);			/* revision */
	CHECK_EQ((rd(0x000) >> 8) & 0x1f, 2);		/* 3 timers */
	CHECK(rd(0x000) & (1 << 13));			/* 64-bit counter */
	CHECK(rd(0x000) & (1 << 15));			/* legacy capable */
	CHECK_EQ((rd(0x000) >> 16) & 0xffff, 0x8086);
	CHECK_EQ(rd32(0x004), 10000000);		/* 32-bit read of the high half */
	CHECK_EQ(rd(0x010), 0);
	for (int n = 0; n < 3; n++) {
		uint64_t c = rd(0x100 + 0x20 * n);
		CHECK(c & (1 << 4));			/* periodic capable */
		CHECK(c & (1 << 5));			/* 64-bit capable */
		CHECK_EQ(c >> 32, 0x4);			/* I/O APIC pin 2 only */
		CHECK_EQ(c & 0xffff, 0x30);
		CHECK_EQ(rd(0x108 + 0x20 * n), ~0ull);	/* comparator reset value */
	}
	wr(0x000, 0);					/* read-only */
	CHECK_EQ(rd(0x000), 0x009896808086a201ull);
	hpet_free(h);
}

static void test_counter(void)
{
	struct hpet *h = fresh(1000);

	vclock_set_manual(5000);
	CHECK_EQ(rd(0x0f0), 0);				/* halted */
	wr(0x010, 1);
	vclock_set_manual(5000 + 12345);
	CHECK_EQ(rd(0x0f0), 1234);			/* 100 MHz */
	wr(0x010, 0);
	vclock_set_manual(900000);
	CHECK_EQ(rd(0x0f0), 1234);			/* frozen */
	wr(0x0f0, 0xfffffffffffffff0ull);		/* written while halted */
	wr(0x010, 1);
	vclock_set_manual(900000 + 200);
	CHECK_EQ(rd(0x0f0), 4);				/* wrapped past 2^64 */
	CHECK_EQ(rd32(0x0f4), 0);
	wr(0x010, 0);
	wr32(0x0f0, 7);					/* 32-bit write of the low half */
	CHECK_EQ(rd(0x0f0), 7);
	hpet_free(h);
}

static void test_oneshot_level_route(void)
{
	struct hpet *h = fresh(0);

	/* Timer 2: level, enabled, routed to pin 2, 64-bit one-shot. */
	wr(0x140, (2 << 9) | 0x6);
	wr(0x148, 500);
	wr(0x010, 1);
	CHECK_EQ(vtimer_next_deadline(), 5000);
	vclock_set_manual(4999);
	vtimer_run();
	CHECK_EQ(level[2], 0);
	vclock_set_manual(5000);
	CHECK_EQ(vtimer_run(), 1);
	CHECK_EQ(level[2], 1);
	CHECK_EQ(rd(0x020), 4);				/* status bit 2 */
	CHECK_EQ(vtimer_next_deadline(), VCLOCK_NEVER);	/* 64-bit one-shot: never again */
	wr(0x020, 1);					/* clearing another bit */
	CHECK_EQ(level[2], 1);
	wr(0x020, 4);					/* write 1 to clear */
	CHECK_EQ(level[2], 0);
	CHECK_EQ(rd(0x020), 0);
	/* Interrupt disabled: status still set, line stays low. */
	wr(0x140, (2 << 9) | 0x2);
	wr(0x148, 1000);
	vclock_set_manual(10000);
	vtimer_run();
	CHECK_EQ(rd(0x020), 4);
	CHECK_EQ(level[2], 0);
	wr(0x140, (2 << 9) | 0x6);			/* enabling raises it */
	CHECK_EQ(level[2], 1);
	wr(0x010, 0);					/* halting the HPET lowers it */
	CHECK_EQ(level[2], 0);
	/* A route the timer cannot drive: no line. */
	wr(0x020, 4);
	wr(0x010, 1);
	wr(0x140, (5 << 9) | 0x6);
	CHECK_EQ(rd(0x140) & 0x3e00, 5 << 9);
	wr(0x148, rd(0x0f0) + 10);
	vclock_set_manual(10100);
	vtimer_run();
	CHECK_EQ(level[5], 0);
	CHECK_EQ(rd(0x020), 4);
	hpet_free(h);
}

static void test_periodic_legacy(void)
{
	struct hpet *h = fresh(0);

	/* Linux's sequence: legacy replacement, timer 0 periodic, edge,
	 * 32-bit, VAL_SET; comparator = now + delta, then the period. */
	wr(0x010, 3);
	CHECK_EQ(level[26], 1);				/* PIT/RTC gated off */
	wr32(0x100, 0x4 | 0x8 | 0x40 | 0x100);
	wr32(0x108, (uint32_t)rd(0x0f0) + 1000);
	wr32(0x108, 1000);				/* the period */
	CHECK_EQ(rd(0x100) & 0x40, 0);			/* VAL_SET cleared */
	CHECK_EQ(rd(0x108), 1000);
	CHECK_EQ(vtimer_next_deadline(), 10000);
	vclock_set_manual(10000);
	vtimer_run();
	CHECK_EQ(pulses[24], 1);			/* ISA IRQ 0 */
	CHECK_EQ(level[24], 0);				/* edge: a pulse */
	CHECK_EQ(pulses[2], 0);
	CHECK_EQ(rd(0x108), 2000);			/* comparator advanced */
	CHECK_EQ(rd(0x020), 0);				/* edge: no status */
	vclock_set_manual(20000);
	vtimer_run();
	CHECK_EQ(pulses[24], 2);
	/* Late by 3.5 periods: one interrupt, comparator ahead again. */
	vclock_set_manual(55000);
	vtimer_run();
	CHECK_EQ(pulses[24], 3);
	CHECK_EQ(rd(0x108), 6000);
	CHECK_EQ(vtimer_next_deadline(), 60000);
	/* Timer 1 in legacy mode drives IRQ 8. */
	wr(0x120, 0x4);
	wr(0x128, rd(0x0f0) + 5);
	vclock_set_manual(55050);
	vtimer_run();
	CHECK_EQ(pulses[25], 1);
	/* Legacy off: timer 0 goes to its route (pin 0 is not in the
	 * capability, so nothing); the gate opens again. */
	wr(0x010, 1);
	CHECK_EQ(level[26], 0);
	vclock_set_manual(60000);
	vtimer_run();
	CHECK_EQ(pulses[24], 3);
	CHECK_EQ(pulses[0], 0);
	hpet_free(h);
}

static void test_32bit_wrap(void)
{
	struct hpet *h = fresh(0);

	/* 32-bit one-shot at a comparator the counter passed: fires when the
	 * low 32 bits come round, 2^32 - 90 ticks later. */
	wr(0x0f0, 100);
	wr(0x100, 0x4 | 0x100);
	wr(0x108, 0x1234500000000000ull | 10);
	CHECK_EQ(rd(0x108), 10);			/* upper half dropped */
	wr(0x010, 1);
	CHECK_EQ(vtimer_next_deadline(), (int64_t)((1ull << 32) - 90) * 10);
	vclock_set_manual(((1ll << 32) - 90) * 10);
	vtimer_run();
	CHECK_EQ(pulses[2], 0);				/* route 0: not capable */
	/* And again one wrap later. */
	CHECK_EQ(vtimer_next_deadline(), ((1ll << 32) - 90 + (1ll << 32)) * 10);
	hpet_free(h);
}

/* The peer's HPET block at reset, 0x160 bytes as 64-bit words. */
static int qemu_hpet(uint64_t words[44])
{
	const char *cmd = "command -v qemu-system-x86_64 >/dev/null 2>&1 && "
			  "printf 'xp /44gx 0xfed00000\\nquit\\n' | TERM=dumb timeout 60 "
			  "qemu-system-x86_64 -M pc -S -monitor stdio -display none -nodefaults 2>/dev/null";
	FILE *p = popen(cmd, "r");
	char line[512];
	int n = 0;

	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		unsigned long long addr, a, b;
		/* Lines of the form "00000000fed00000: 0x... 0x..." (the
		 * monitor's echo of the command is on other lines). */
		char *colon = strstr(line, ": 0x");
		if (!colon || colon - line < 16)
			continue;
		if (sscanf(colon - 16, "%16llx: %llx %llx", &addr, &a, &b) != 3)
			continue;
		unsigned i = (unsigned)((addr - 0xfed00000ull) / 8);
		if (i + 1 < 44) {
			words[i] = a;
			words[i + 1] = b;
			n += 2;
		}
	}
	pclose(p);
	return n;
}

static void test_against_qemu(void)
{
	uint64_t peer[44];
	struct hpet *h;

	if (qemu_hpet(peer) != 44) {
		SKIP("qemu-system-x86_64 not installed (or its monitor gave no HPET dump)");
		return;
	}
	h = fresh(0);
	for (int i = 0; i < 44; i++)
		CHECK_EQ(rd(8 * i), peer[i]);
	hpet_free(h);
}

void unit_main(void)
{
	test_against_qemu();
	test_capabilities();
	test_counter();
	test_oneshot_level_route();
	test_periodic_legacy();
	test_32bit_wrap();
}
