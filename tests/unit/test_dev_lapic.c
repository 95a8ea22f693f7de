/*
 * The local APIC (src/system/lapic.c) driven through its MMIO page and
 * MSRs with virtual time set by hand; expectations come from the Intel SDM
 * vol. 3 chapter 10 (register layout, reset values, priority, EOI, LVT,
 * timer divide encoding and modes, IA32_APIC_BASE), and the BSP's state at
 * kernel entry from the peer (qemu-system-x86_64 -M pc's `info lapic`
 * after SeaBIOS: SVR 0x1ff, LVT0 0x8700, LVT1 0x8400, the rest masked).
 * With qemu-system-x86_64 installed, the power-up state (an AP's here) is
 * compared register by register with the peer's `info lapic` before its
 * firmware runs.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "system/bus.h"
#include "system/lapic.h"
#include "system/pc.h"
#include "system/vclock.h"

#define APIC PC_MMIO_LAPIC

static int kicks;
static void kick(void *opaque) { kicks++; }

static int extint_vector = -1;
static int fake_8259_ack(void *opaque) { return extint_vector; }

static int eoi_seen = -1;
static void eoi_broadcast(void *opaque, int vector) { eoi_seen = vector; }

static uint32_t rd(uint64_t reg) { return (uint32_t)bus_read(BUS_MMIO, APIC + reg, 4); }
static void wr(uint64_t reg, uint32_t v) { bus_write(BUS_MMIO, APIC + reg, 4, v); }

static struct lapic *fresh(void)
{
	bus_reset_map();
	vclock_set_manual(1000000);
	kicks = 0;
	struct lapic *l = lapic_new(0, kick, NULL);
	lapic_set_extint_ack(l, fake_8259_ack, NULL);
	lapic_set_eoi_broadcast(l, eoi_broadcast, NULL);
	return l;
}

static void enable(void)
{
	wr(0xf0, 0x1ff);	/* software enable, spurious vector 0xff */
}

static void test_reset_state(void)
{
	struct lapic *l = fresh();
	uint64_t base;

	CHECK_EQ(rd(0x20), 0);			/* ID 0 in bits 31:24 */
	CHECK_EQ(rd(0x30), 0x00050014);		/* version, 6 LVT entries */
	CHECK_EQ(rd(0x80), 0);
	CHECK_EQ(rd(0xe0), 0xffffffff);		/* DFR: flat */
	CHECK_EQ(rd(0xf0), 0x1ff);		/* SVR: enabled by firmware, vector 0xff */
	CHECK_EQ(rd(0x320), 0x10000);		/* timer masked */
	CHECK_EQ(rd(0x330), 0x10000);		/* thermal masked */
	CHECK_EQ(rd(0x340), 0x10000);		/* perf masked */
	CHECK_EQ(rd(0x370), 0x10000);		/* error masked */
	CHECK_EQ(rd(0x350), 0x8700);		/* BSP's LINT0: ExtINT, level */
	CHECK_EQ(rd(0x360), 0x8400);		/* LINT1: NMI */
	CHECK_EQ(rd(0x3e0), 0);			/* divide by 2 */
	CHECK_EQ(rd(0x380), 0);
	CHECK_EQ(rd(0x390), 0);
	CHECK_EQ(rd(0xd0), 0);
	CHECK_EQ(rd(0xa0), 0);
	CHECK(lapic_read_msr(l, 0x1b, &base));
	CHECK_EQ(base, 0xfee00900);		/* base, enable, BSP */
	lapic_free(l);

	bus_reset_map();
	l = lapic_new(3, kick, NULL);
	CHECK_EQ(rd(0x20), 3u << 24);
	CHECK(lapic_read_msr(l, 0x1b, &base));
	CHECK_EQ(base, 0xfee00800);		/* not the BSP */
	CHECK_EQ(rd(0x350), 0x10000);		/* an AP: the SDM's power-up state */
	CHECK_EQ(rd(0xf0), 0xff);
	lapic_free(l);
}

static void test_priority_and_eoi(void)
{
	struct lapic *l = fresh();

	wr(0xf0, 0xff);				/* software-disabled */
	lapic_deliver(l, 0x41, LAPIC_DM_FIXED, false);
	CHECK(!lapic_pending(l));		/* held in IRR */
	CHECK(rd(0x200 + 0x20) & 2);
	enable();
	CHECK(lapic_pending(l));
	CHECK(rd(0x200 + 0x20) & 2);		/* IRR bit 0x41 */
	/* TPR class 4 blocks vector 0x41 (class 4); class 3 lets it through. */
	wr(0x80, 0x40);
	CHECK(!lapic_pending(l));
	CHECK_EQ(rd(0xa0), 0x40);
	lapic_set_cr8(l, 3);
	CHECK_EQ(rd(0x80), 0x30);
	CHECK_EQ(lapic_get_cr8(l), 3);
	CHECK(lapic_pending(l));
	CHECK_EQ(lapic_ack(l), 0x41);
	CHECK(rd(0x100 + 0x20) & 2);		/* ISR bit 0x41 */
	CHECK_EQ(rd(0x200 + 0x20), 0);
	CHECK_EQ(rd(0xa0), 0x40);		/* PPR = in-service class */
	/* A second interrupt of the same class waits for the EOI; a higher
	 * class nests. */
	lapic_deliver(l, 0x45, LAPIC_DM_FIXED, true);
	CHECK(!lapic_pending(l));
	lapic_deliver(l, 0x61, LAPIC_DM_FIXED, false);
	CHECK(lapic_pending(l));
	CHECK_EQ(lapic_ack(l), 0x61);
	CHECK_EQ(rd(0xa0), 0x60);
	wr(0xb0, 0);				/* EOI: 0x61 leaves ISR */
	CHECK_EQ(eoi_seen, -1);			/* edge: no broadcast */
	CHECK_EQ(rd(0xa0), 0x40);
	wr(0xb0, 0);				/* EOI 0x41 */
	CHECK(lapic_pending(l));
	CHECK_EQ(lapic_ack(l), 0x45);
	CHECK(rd(0x180 + 0x20) & 0x20);		/* TMR: level */
	wr(0xb0, 0);
	CHECK_EQ(eoi_seen, 0x45);		/* level: EOI broadcast */
	CHECK_EQ(rd(0xa0), 0x30);
	CHECK(!lapic_pending(l));
	/* An interrupt that vanished between INTR and INTA: spurious. */
	CHECK_EQ(lapic_ack(l), 0xff);
	CHECK_EQ(rd(0x100 + 0x70), 0);		/* and not in service */
	lapic_free(l);
}

static void test_illegal_vector_and_esr(void)
{
	struct lapic *l = fresh();

	enable();
	wr(0x370, 0xee);			/* error LVT unmasked, vector 0xee */
	lapic_deliver(l, 5, LAPIC_DM_FIXED, false);
	CHECK_EQ(rd(0x280), 0);			/* ESR updates on write */
	wr(0x280, 0);
	CHECK_EQ(rd(0x280), 0x40);		/* received illegal vector */
	CHECK_EQ(lapic_ack(l), 0xee);
	wr(0xb0, 0);
	wr(0x280, 0);
	CHECK_EQ(rd(0x280), 0);
	rd(0x3f0);				/* reserved register */
	wr(0x280, 0);
	CHECK_EQ(rd(0x280), 0x80);
	lapic_free(l);
}

static void test_ipi_self(void)
{
	struct lapic *l = fresh();

	enable();
	wr(0x300, 0x40000 | 0x55);		/* shorthand self, fixed, 0x55 */
	CHECK_EQ(lapic_ack(l), 0x55);
	wr(0xb0, 0);
	wr(0x310, 0);				/* physical destination 0 = us */
	wr(0x300, 0x66);
	CHECK_EQ(lapic_ack(l), 0x66);
	wr(0xb0, 0);
	wr(0x310, 5u << 24);			/* someone else: dropped */
	wr(0x300, 0x67);
	CHECK(!lapic_pending(l));
	wr(0xd0, 0x01000000);			/* LDR bit 0, flat */
	wr(0x310, 0x03000000);
	wr(0x300, 0x800 | 0x68);		/* logical destination bitmap 3 */
	CHECK_EQ(lapic_ack(l), 0x68);
	wr(0xb0, 0);
	wr(0x300, 0x40000 | 0x400);		/* NMI to self */
	CHECK(lapic_nmi_pending(l));
	lapic_ack_nmi(l);
	CHECK(!lapic_nmi_pending(l));
	CHECK(lapic_match_dest(l, 0xff, false));
	CHECK(!lapic_match_dest(l, 1, false));
	wr(0xe0, 0x0fffffff);			/* cluster model */
	wr(0xd0, 0x21000000);			/* cluster 2, bit 0 */
	CHECK(lapic_match_dest(l, 0x21, true));
	CHECK(!lapic_match_dest(l, 0x11, true));
	CHECK(!lapic_match_dest(l, 0x22, true));
	lapic_free(l);
}

static void test_extint(void)
{
	struct lapic *l = fresh();

	extint_vector = 0x30;
	CHECK(!lapic_pending(l));
	lapic_set_lint0(l, 1);			/* 8259 INT high */
	CHECK(kicks > 0);
	CHECK(lapic_pending(l));
	CHECK_EQ(lapic_ack(l), 0x30);
	CHECK_EQ(rd(0x100 + 0x10), 0);		/* ExtINT is not put in service */
	lapic_set_lint0(l, 0);
	CHECK(!lapic_pending(l));
	/* Masked LINT0: the 8259 cannot reach the CPU. */
	enable();
	wr(0x350, 0x10700);
	lapic_set_lint0(l, 1);
	CHECK(!lapic_pending(l));
	/* Global disable: LINT0 is INTR directly. */
	CHECK(lapic_write_msr(l, 0x1b, 0xfee00000));
	CHECK(lapic_pending(l));
	CHECK_EQ(lapic_ack(l), 0x30);
	lapic_set_lint0(l, 0);
	/* An I/O APIC ExtINT message asks the 8259 too. */
	CHECK(lapic_write_msr(l, 0x1b, 0xfee00800));
	lapic_deliver(l, 0, LAPIC_DM_EXTINT, false);
	CHECK(lapic_pending(l));
	CHECK_EQ(lapic_ack(l), 0x30);
	CHECK(!lapic_pending(l));
	/* LINT1 as NMI, edge. */
	lapic_set_lint1(l, 1);
	CHECK(!lapic_nmi_pending(l));		/* masked after the global disable */
	wr(0xf0, 0x1ff);
	wr(0x360, 0x400);
	lapic_set_lint1(l, 0);
	lapic_set_lint1(l, 1);
	CHECK(lapic_nmi_pending(l));
	lapic_free(l);
}

static void test_apic_base_msr(void)
{
	struct lapic *l = fresh();
	uint64_t v;

	CHECK(!lapic_write_msr(l, 0x1b, 0xfee00c00));	/* x2APIC: #GP */
	CHECK(!lapic_write_msr(l, 0x1b, 0x1000000fee00800ull));	/* above MAXPHYADDR */
	enable();
	wr(0x80, 0x20);
	/* Relocate: the page follows, registers stay. */
	CHECK(lapic_write_msr(l, 0x1b, 0xfed40800));
	CHECK(lapic_read_msr(l, 0x1b, &v));
	CHECK_EQ(v, 0xfed40900);		/* BSP is read-only */
	CHECK(bus_find(BUS_MMIO, APIC) == NULL);
	CHECK_EQ(bus_read(BUS_MMIO, 0xfed40080, 4), 0x20);
	/* Disable: unmapped, registers back to power-up values. */
	CHECK(lapic_write_msr(l, 0x1b, 0xfed40000));
	CHECK(bus_find(BUS_MMIO, 0xfed40000) == NULL);
	CHECK_EQ(bus_read(BUS_MMIO, 0xfed40080, 4), 0xffffffff);	/* nothing there */
	CHECK(lapic_write_msr(l, 0x1b, 0xfee00800));
	CHECK_EQ(rd(0x80), 0);
	CHECK_EQ(rd(0xf0), 0xff);
	CHECK(!lapic_read_msr(l, 0x10, &v));	/* not the APIC's MSR */
	lapic_free(l);
}

static void test_timer_oneshot_periodic(void)
{
	struct lapic *l = fresh();
	int64_t t0 = 1000000;

	enable();
	wr(0x3e0, 0x3);				/* divide by 16 */
	wr(0x320, 0x40);			/* one-shot, vector 0x40 */
	wr(0x380, 1000);			/* 1000 ticks = 16000 ns */
	CHECK_EQ(rd(0x390), 1000);
	vclock_set_manual(t0 + 1600);
	CHECK_EQ(rd(0x390), 900);
	CHECK_EQ(vtimer_next_deadline(), t0 + 16000);
	vclock_set_manual(t0 + 15999);
	vtimer_run();
	CHECK(!lapic_pending(l));
	CHECK_EQ(rd(0x390), 1);
	vclock_set_manual(t0 + 16000);
	CHECK_EQ(vtimer_run(), 1);
	CHECK_EQ(rd(0x390), 0);
	CHECK_EQ(lapic_ack(l), 0x40);
	wr(0xb0, 0);
	CHECK_EQ(vtimer_next_deadline(), VCLOCK_NEVER);	/* one-shot: done */

	/* Periodic, divide by 1 (0b1011), 500 ticks = 500 ns. */
	int64_t t1 = 2000000;
	vclock_set_manual(t1);
	wr(0x3e0, 0xb);
	wr(0x320, 0x20000 | 0x41);
	wr(0x380, 500);
	vclock_set_manual(t1 + 500);
	CHECK_EQ(vtimer_run(), 1);
	CHECK_EQ(lapic_ack(l), 0x41);
	wr(0xb0, 0);
	CHECK_EQ(vtimer_next_deadline(), t1 + 1000);
	vclock_set_manual(t1 + 1250);
	CHECK_EQ(rd(0x390), 250);
	vtimer_run();
	CHECK_EQ(lapic_ack(l), 0x41);
	wr(0xb0, 0);
	/* Masked: the counter runs, no interrupt. */
	wr(0x320, 0x30000 | 0x41);
	vclock_set_manual(t1 + 1500);
	vtimer_run();
	CHECK(!lapic_pending(l));
	/* Divide encodings: 0 -> 2, 0b1010 -> 128. */
	wr(0x380, 0);
	CHECK_EQ(vtimer_next_deadline(), VCLOCK_NEVER);
	wr(0x320, 0x42);
	wr(0x3e0, 0x0);
	wr(0x380, 10);
	CHECK_EQ(vtimer_next_deadline(), t1 + 1500 + 20);
	wr(0x3e0, 0xa);
	wr(0x380, 10);
	CHECK_EQ(vtimer_next_deadline(), t1 + 1500 + 1280);
	CHECK_EQ(rd(0x3e0), 0xa);
	lapic_free(l);
}

static void test_timer_mode_and_divide_changes(void)
{
	struct lapic *l = fresh();
	int64_t t0 = 1000000;

	enable();
	/* Periodic, divide by 1, 100 ticks; in the third period switch to
	 * one-shot: the count goes on from where it is and stops at 0. */
	wr(0x3e0, 0xb);
	wr(0x320, 0x20000 | 0x44);
	wr(0x380, 100);
	vclock_set_manual(t0 + 230);
	vtimer_run();
	CHECK_EQ(lapic_ack(l), 0x44);
	wr(0xb0, 0);
	CHECK_EQ(rd(0x390), 70);
	wr(0x320, 0x44);			/* one-shot */
	CHECK_EQ(rd(0x390), 70);
	CHECK_EQ(vtimer_next_deadline(), t0 + 300);
	vclock_set_manual(t0 + 300);
	CHECK_EQ(vtimer_run(), 1);
	CHECK_EQ(lapic_ack(l), 0x44);
	wr(0xb0, 0);
	CHECK_EQ(rd(0x390), 0);
	/* A one-shot that reached 0 stays stopped, even in periodic mode. */
	wr(0x320, 0x20000 | 0x44);
	vclock_set_manual(t0 + 350);
	CHECK_EQ(rd(0x390), 0);
	CHECK_EQ(vtimer_next_deadline(), VCLOCK_NEVER);
	/* Divide change mid-count: 40 ticks left at /1 become 40 at /4. */
	wr(0x380, 100);
	vclock_set_manual(t0 + 410);
	CHECK_EQ(rd(0x390), 40);
	wr(0x3e0, 0x1);				/* divide by 4 */
	CHECK_EQ(rd(0x390), 40);
	CHECK_EQ(vtimer_next_deadline(), t0 + 410 + 160);
	lapic_free(l);
}

static void test_tsc_deadline(void)
{
	struct lapic *l = fresh();
	uint64_t v;

	enable();
	/* Writes to the MSR outside TSC-deadline mode are ignored. */
	CHECK(lapic_write_msr(l, 0x6e0, 12345));
	CHECK(lapic_read_msr(l, 0x6e0, &v));
	CHECK_EQ(v, 0);
	wr(0x320, 0x40000 | 0x50);		/* TSC-deadline mode */
	CHECK_EQ(lapic_tsc(l), 1000000ull * PC_TSC_PER_NS);
	wr(0x380, 100);				/* ignored in this mode */
	CHECK_EQ(rd(0x380), 0);
	CHECK(lapic_write_msr(l, 0x6e0, (1000000ull + 3000) * PC_TSC_PER_NS));
	CHECK_EQ(vtimer_next_deadline(), 1003000);
	vclock_set_manual(1002999);
	vtimer_run();
	CHECK(!lapic_pending(l));
	vclock_set_manual(1003000);
	vtimer_run();
	CHECK_EQ(lapic_ack(l), 0x50);
	CHECK(lapic_read_msr(l, 0x6e0, &v));
	CHECK_EQ(v, 0);				/* cleared when it fires */
	wr(0xb0, 0);
	/* A deadline in the past fires at once; 0 disarms. */
	CHECK(lapic_write_msr(l, 0x6e0, 1));
	CHECK_EQ(vtimer_run(), 1);
	CHECK_EQ(lapic_ack(l), 0x50);
	wr(0xb0, 0);
	CHECK(lapic_write_msr(l, 0x6e0, 5000000ull * PC_TSC_PER_NS));
	CHECK(lapic_write_msr(l, 0x6e0, 0));
	CHECK_EQ(vtimer_next_deadline(), VCLOCK_NEVER);
	/* Leaving the mode disarms. */
	CHECK(lapic_write_msr(l, 0x6e0, 5000000ull * PC_TSC_PER_NS));
	wr(0x320, 0x50);
	CHECK_EQ(vtimer_next_deadline(), VCLOCK_NEVER);
	CHECK(lapic_read_msr(l, 0x6e0, &v));
	CHECK_EQ(v, 0);
	lapic_free(l);
}

static void test_software_disable_masks(void)
{
	struct lapic *l = fresh();

	enable();
	wr(0x320, 0x40);
	wr(0x350, 0x0);
	wr(0xf0, 0xff);				/* software disable */
	CHECK(rd(0x320) & 0x10000);
	CHECK(rd(0x350) & 0x10000);
	wr(0x320, 0x40);			/* cannot unmask while disabled */
	CHECK(rd(0x320) & 0x10000);
	/* Narrow reads see part of a register; narrow writes are dropped. */
	CHECK_EQ(bus_read(BUS_MMIO, APIC + 0x30, 1), 0x14);
	CHECK_EQ(bus_read(BUS_MMIO, APIC + 0x32, 1), 0x05);
	bus_write(BUS_MMIO, APIC + 0x80, 1, 0x50);
	CHECK_EQ(rd(0x80), 0);
	lapic_free(l);
}

/* The value after "name" on a line of the peer's `info lapic`. */
static bool peer_field(const char *line, const char *name, unsigned long *v)
{
	const char *p = strstr(line, name);

	return p && sscanf(p + strlen(name), " %li", (long *)v) == 1;
}

static void test_power_up_against_qemu(void)
{
	static const struct { const char *name; unsigned reg; int shift; } fields[] = {
		{ "LVT0\t", 0x350, 0 }, { "LVT1\t", 0x360, 0 }, { "LVTPC\t", 0x340, 0 },
		{ "LVTERR\t", 0x370, 0 }, { "LVTTHMR\t", 0x330, 0 }, { "LVTT\t", 0x320, 0 },
		{ "SPIV\t", 0xf0, 0 }, { "DCR=", 0x3e0, 0 }, { "initial_count =", 0x380, 0 },
		{ "current_count =", 0x390, 0 }, { "ICR\t", 0x300, 0 }, { "ICR2\t", 0x310, 0 },
		{ "ESR\t", 0x280, 0 }, { "TPR", 0x80, 0 }, { "DFR", 0xe0, 28 }, { "LDR", 0xd0, 24 },
		{ "PPR", 0xa0, 0 },
	};
	enum { N = sizeof(fields) / sizeof(fields[0]) };
	unsigned long peer[N];
	bool seen[N] = { false };
	char line[512];
	int n = 0;
	FILE *p = popen("command -v qemu-system-x86_64 >/dev/null 2>&1 && "
			"printf 'info lapic\\nquit\\n' | TERM=dumb timeout 60 qemu-system-x86_64 "
			"-M pc -S -monitor stdio -display none -nodefaults 2>/dev/null", "r");

	while (p && fgets(line, sizeof(line), p))
		for (int i = 0; i < N; i++)
			if (!seen[i] && peer_field(line, fields[i].name, &peer[i]))
				seen[i] = true, n++;
	if (p)
		pclose(p);
	if (n != N) {
		SKIP("qemu-system-x86_64 not installed (or its info lapic was not understood)");
		return;
	}
	bus_reset_map();
	struct lapic *l = lapic_new(1, NULL, NULL);	/* not the BSP: no firmware state */
	for (int i = 0; i < N; i++) {
		uint32_t ours = rd(fields[i].reg) >> fields[i].shift;
		if (ours != peer[i])
			fprintf(stderr, "peer's %s %#lx, ours %#x\n", fields[i].name, peer[i], ours);
		CHECK_EQ(ours, peer[i]);
	}
	lapic_free(l);
}

void unit_main(void)
{
	test_power_up_against_qemu();
	test_reset_state();
	test_priority_and_eoi();
	test_illegal_vector_and_esr();
	test_ipi_self();
	test_extint();
	test_apic_base_msr();
	test_timer_oneshot_periodic();
	test_timer_mode_and_divide_changes();
	test_tsc_deadline();
	test_software_disable_masks();
}
