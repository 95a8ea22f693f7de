/*
 * The PIIX4 ACPI PM registers (src/system/acpi_pm.c) through port I/O
 * with virtual time set by hand; expectations from the ACPI spec's fixed
 * hardware registers (write-1-to-clear status, TMR_STS on a carry of bit
 * 23 of the 24-bit 3.579545 MHz timer, SCI = enabled status while SCI_EN,
 * SLP_TYP/SLP_EN) and QEMU's ports and SMI_CMD values (0xb2, 0xf1/0xf0).
 */
#include "unit.h"

#include "system/acpi_pm.h"
#include "system/bus.h"
#include "system/pc.h"
#include "system/vclock.h"

static int sci;
static void sci_line(void *opaque, int n, int level) { sci = level; }

static struct acpi_pm *fresh(int64_t now)
{
	bus_reset_map();
	vclock_set_manual(now);
	sci = 0;
	pc_take_request();
	return acpi_pm_new(irq_line(sci_line, NULL, 9));
}

static uint64_t in(uint16_t port, unsigned size) { return bus_read(BUS_IO, port, size); }
static void out(uint16_t port, unsigned size, uint64_t v) { bus_write(BUS_IO, port, size, v); }

/* ns at which the PM timer reaches tick t (the first ns with
 * floor(ns * 3579545 / 1e9) >= t). */
static int64_t ns_of_tick(uint64_t t)
{
	return (int64_t)((t * 1000000000ull + 3579545 - 1) / 3579545);
}

static void test_timer(void)
{
	struct acpi_pm *pm = fresh(0);

	CHECK_EQ(in(0x608, 4), 0);
	vclock_set_manual(1000000000);			/* one second */
	CHECK_EQ(in(0x608, 4), 3579545);
	vclock_set_manual(ns_of_tick(0x1000000) - 1);	/* just before the 24-bit wrap */
	CHECK_EQ(in(0x608, 4), 0xffffff);
	vclock_set_manual(ns_of_tick(0x1000000));
	CHECK_EQ(in(0x608, 4), 0);			/* 24 bits */
	CHECK_EQ(in(0x608, 2), 0);
	out(0x608, 4, 0x12345);				/* read-only */
	CHECK_EQ(in(0x608, 4), 0);
	acpi_pm_free(pm);
}

static void test_tmr_sts_and_sci(void)
{
	struct acpi_pm *pm = fresh(0);

	CHECK_EQ(in(0x600, 2), 0);
	vclock_set_manual(ns_of_tick(0x800000) - 1);
	CHECK_EQ(in(0x600, 2) & 1, 0);
	vclock_set_manual(ns_of_tick(0x800000));	/* bit 23 sets */
	CHECK_EQ(in(0x600, 2) & 1, 1);
	CHECK_EQ(sci, 0);				/* not enabled */
	out(0x600, 2, 1);				/* write 1 to clear */
	CHECK_EQ(in(0x600, 2) & 1, 0);
	/* ACPI enable handshake through SMI_CMD. */
	CHECK_EQ(in(0x604, 2) & 1, 0);
	out(0xb2, 1, 0xf1);
	CHECK_EQ(in(0x604, 2) & 1, 1);
	/* TMR_EN: the SCI rises at the next carry (bit 23 clears). */
	out(0x602, 2, 1);
	CHECK_EQ(in(0x602, 2), 1);
	CHECK_EQ(vtimer_next_deadline(), ns_of_tick(0x1000000));
	vclock_set_manual(ns_of_tick(0x1000000));
	vtimer_run();
	CHECK_EQ(sci, 1);
	CHECK_EQ(in(0x600, 2) & 1, 1);
	out(0x600, 2, 1);
	CHECK_EQ(sci, 0);
	/* Power button: status, SCI when enabled, write-1-clear. */
	acpi_pm_power_button(pm);
	CHECK_EQ(in(0x600, 2), 0x100);
	CHECK_EQ(sci, 0);
	out(0x602, 2, 0x101);
	CHECK_EQ(sci, 1);
	out(0xb2, 1, 0xf0);				/* ACPI off: SCI_EN clears */
	CHECK_EQ(in(0x604, 2) & 1, 0);
	CHECK_EQ(sci, 0);
	out(0xb2, 1, 0xf1);
	CHECK_EQ(sci, 1);
	out(0x601, 1, 0x01);				/* byte write of the high half */
	CHECK_EQ(in(0x600, 2), 0);
	CHECK_EQ(sci, 0);
	/* A 32-bit read at 0x600 sees STS and EN together. */
	CHECK_EQ(in(0x600, 4), 0x01010000);
	acpi_pm_free(pm);
}

static void test_sleep(void)
{
	struct acpi_pm *pm = fresh(0);

	out(0x604, 2, 1 | (5 << 10));			/* SLP_TYP without SLP_EN */
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);
	CHECK_EQ(in(0x604, 2), 1 | (5 << 10));
	out(0x604, 2, 1 | (1 << 10) | (1 << 13));	/* S3-like type 1: not modelled */
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);
	CHECK_EQ(in(0x604, 2) & (1 << 13), 0);		/* SLP_EN reads 0 */
	out(0x604, 2, 1 | (0 << 10) | (1 << 13));	/* \_S5: type 0 */
	CHECK_EQ(pc_take_request(), PC_REQ_POWEROFF);
	acpi_pm_free(pm);
}

static void test_gpe_apm(void)
{
	struct acpi_pm *pm = fresh(0);

	CHECK_EQ(in(0xafe0, 4), 0);
	out(0xafe2, 2, 0xffff);				/* enables are kept */
	CHECK_EQ(in(0xafe2, 2), 0xffff);
	CHECK_EQ(in(0xafe0, 2), 0);			/* status stays 0 */
	out(0xafe0, 2, 0xffff);
	CHECK_EQ(in(0xafe0, 4), 0xffff0000);
	out(0xb3, 1, 0x5a);				/* APM status scratch */
	CHECK_EQ(in(0xb3, 1), 0x5a);
	CHECK_EQ(in(0x60c, 4), 0);			/* unmodelled PIIX4 registers */
	acpi_pm_free(pm);
}

void unit_main(void)
{
	test_timer();
	test_tmr_sts_and_sci();
	test_sleep();
	test_gpe_apm();
}
