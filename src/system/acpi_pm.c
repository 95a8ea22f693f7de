/*
 * The PIIX4 ACPI PM registers (acpi_pm.h).  The register file is small
 * and accessed in 1-, 2- and 4-byte pieces at any offset, so reads and
 * writes are split into bytes and each byte applied to the register that
 * owns it (the 16-bit registers' write side effects act once per access).
 *
 * The invariant: the SCI line's level is recomputed (acpi_pm_update_sci)
 * after every change to PM1_STS, PM1_EN or SCI_EN, and TMR_STS is
 * computed from the timer rather than stored, so it is right whenever it
 * is read.
 */
#include "system/acpi_pm.h"

#include <stdlib.h>

#include "system/bus.h"
#include "system/pc.h"
#include "system/vclock.h"
#include "util/log.h"

/* Offsets in the 64-byte PM block at PC_PORT_ACPI_PM. */
enum {
	PM1_STS = 0x00,
	PM1_EN = 0x02,
	PM1_CNT = 0x04,
	PM_TMR = 0x08,
	PM_BLOCK_SIZE = 0x40,
};

/* PM1 status/enable bits (ACPI "PM1 Event Grouping"). */
#define PM1_TMR			(1u << 0)
#define PM1_BM			(1u << 4)	/* status only */
#define PM1_GBL			(1u << 5)
#define PM1_PWRBTN		(1u << 8)
#define PM1_RTC			(1u << 10)
#define PM1_WAK			(1u << 15)	/* status only */
#define PM1_EN_BITS		(PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_RTC)

#define CNT_SCI_EN		(1u << 0)
#define CNT_SLP_TYP(v)		(((v) >> 10) & 7)
#define CNT_SLP_EN		(1u << 13)
#define CNT_WRITABLE		0x1c07u		/* SCI_EN, BM_RLD, GBL_RLS, SLP_TYP */

#define TMR_CARRY_BIT		23		/* TMR_STS: bit 23 of the timer changed */

struct acpi_pm {
	uint16_t sts;		/* status bits other than TMR_STS */
	uint16_t en, cnt;
	uint16_t gpe_en;
	uint8_t apm_sts;	/* port 0xb3 */
	uint64_t tmr_ack;	/* timer value when TMR_STS was last cleared */
	struct vtimer carry;
	struct irq sci;
};

static uint64_t pm_ticks(void)
{
	return (uint64_t)((unsigned __int128)vclock_ns() * ACPI_PM_TIMER_HZ / 1000000000u);
}

static uint16_t pm1_sts(const struct acpi_pm *pm)
{
	uint16_t sts = pm->sts;

	if ((pm_ticks() >> TMR_CARRY_BIT) != (pm->tmr_ack >> TMR_CARRY_BIT))
		sts |= PM1_TMR;
	return sts;
}

static void acpi_pm_update_sci(struct acpi_pm *pm)
{
	bool level = (pm->cnt & CNT_SCI_EN) && (pm1_sts(pm) & pm->en & PM1_EN_BITS);

	irq_set(&pm->sci, level);
}

/* With TMR_EN set, wake at the next carry of bit 23 to raise the SCI. */
static void acpi_pm_arm_carry(struct acpi_pm *pm)
{
	uint64_t next;

	if (!(pm->en & PM1_TMR) || (pm1_sts(pm) & PM1_TMR)) {
		vtimer_del(&pm->carry);
		return;
	}
	next = ((pm_ticks() >> TMR_CARRY_BIT) + 1) << TMR_CARRY_BIT;
	vtimer_mod(&pm->carry, (int64_t)(((unsigned __int128)next * 1000000000u +
					   ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ));
}

static void acpi_pm_carry(void *opaque)
{
	struct acpi_pm *pm = opaque;

	acpi_pm_update_sci(pm);
	acpi_pm_arm_carry(pm);
}

static void acpi_pm_changed(struct acpi_pm *pm)
{
	acpi_pm_update_sci(pm);
	acpi_pm_arm_carry(pm);
}

static void pm1_cnt_write(struct acpi_pm *pm, uint16_t value)
{
	pm->cnt = value & CNT_WRITABLE;
	if (value & CNT_SLP_EN) {
		unsigned typ = CNT_SLP_TYP(value);
		if (typ == 0)
			pc_request(PC_REQ_POWEROFF);	/* \_S5 = {0, 0} */
		else if (log_enabled(LOG_UNIMP))
			log_printf("acpi: sleep type %u (only S5, type 0, is modelled)\n", typ);
	}
	acpi_pm_changed(pm);
}

static uint8_t pm_read_byte(struct acpi_pm *pm, unsigned off, uint32_t tmr)
{
	switch (off) {
	case PM1_STS: case PM1_STS + 1:
		return (uint8_t)(pm1_sts(pm) >> ((off - PM1_STS) * 8));
	case PM1_EN: case PM1_EN + 1:
		return (uint8_t)(pm->en >> ((off - PM1_EN) * 8));
	case PM1_CNT: case PM1_CNT + 1:
		return (uint8_t)(pm->cnt >> ((off - PM1_CNT) * 8));
	case PM_TMR: case PM_TMR + 1: case PM_TMR + 2: case PM_TMR + 3:
		return (uint8_t)(tmr >> ((off - PM_TMR) * 8));
	}
	return 0;
}

static uint64_t pm_read(void *opaque, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint32_t tmr = (uint32_t)pm_ticks() & 0xffffff;	/* one sample per access */
	uint64_t v = 0;

	if (offset >= 0x0c && log_enabled(LOG_UNIMP))
		log_printf("acpi: PIIX4 PM register %#lx not modelled (reads 0)\n",
			   (unsigned long)offset);
	for (unsigned i = 0; i < size; i++)
		v |= (uint64_t)pm_read_byte(pm, offset + i, tmr) << (i * 8);
	return v;
}

/* A 16-bit register's new value from the bytes of this access that fall
 * in it, or -1 if none do. */
static int pm_merge16(unsigned reg, uint16_t cur, uint64_t offset, unsigned size,
		      uint64_t value, uint16_t *mask)
{
	uint16_t v = cur;
	bool hit = false;

	*mask = 0;
	for (unsigned i = 0; i < size; i++) {
		unsigned b = offset + i;
		if (b < reg || b >= reg + 2)
			continue;
		unsigned sh = (b - reg) * 8;
		v = (v & ~(0xff << sh)) | (((value >> (i * 8)) & 0xff) << sh);
		*mask |= 0xff << sh;
		hit = true;
	}
	return hit ? v : -1;
}

static void pm_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct acpi_pm *pm = opaque;
	uint16_t mask;
	int v;

	v = pm_merge16(PM1_STS, 0, offset, size, value, &mask);
	if (v >= 0) {
		/* Write 1 to clear. */
		pm->sts &= ~v;
		if (v & PM1_TMR)
			pm->tmr_ack = pm_ticks();
		acpi_pm_changed(pm);
	}
	v = pm_merge16(PM1_EN, pm->en, offset, size, value, &mask);
	if (v >= 0) {
		pm->en = v & PM1_EN_BITS;
		acpi_pm_changed(pm);
	}
	v = pm_merge16(PM1_CNT, pm->cnt, offset, size, value, &mask);
	if (v >= 0)
		pm1_cnt_write(pm, v);
	if (offset + size > PM_TMR && log_enabled(LOG_GUEST_ERRORS))
		log_printf("acpi: write %#lx to read-only or absent PM register %#lx\n",
			   (unsigned long)value, (unsigned long)offset);
}

static const struct bus_ops pm_ops = { pm_read, pm_write };

/* GPE0: 2 bytes of status (nothing ever sets it), 2 of enable. */
static uint64_t gpe_read(void *opaque, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = opaque;
	uint32_t image = (uint32_t)pm->gpe_en << 16;

	return (image >> (offset * 8)) & (size >= 4 ? ~0u : (1u << (size * 8)) - 1);
}

static void gpe_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct acpi_pm *pm = opaque;
	uint16_t mask;
	int v = pm_merge16(2, pm->gpe_en, offset, size, value, &mask);

	if (v >= 0)
		pm->gpe_en = v;
}

static const struct bus_ops gpe_ops = { gpe_read, gpe_write };

/* APM: 0xb2 command (the FADT's SMI_CMD), 0xb3 status scratch. */
static uint64_t apm_read(void *opaque, uint64_t offset, unsigned size)
{
	struct acpi_pm *pm = opaque;

	return offset == 1 ? pm->apm_sts : 0;
}

static void apm_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct acpi_pm *pm = opaque;

	if (offset == 1 || size == 2)
		pm->apm_sts = (uint8_t)(offset == 1 ? value : value >> 8);
	if (offset != 0)
		return;
	switch ((uint8_t)value) {
	case ACPI_PM_ENABLE_CMD:
		pm->cnt |= CNT_SCI_EN;
		break;
	case ACPI_PM_DISABLE_CMD:
		pm->cnt &= ~CNT_SCI_EN;
		break;
	default:
		if (log_enabled(LOG_UNIMP))
			log_printf("acpi: SMI command %#x not modelled\n", (unsigned)(uint8_t)value);
		return;
	}
	acpi_pm_changed(pm);
}

static const struct bus_ops apm_ops = { apm_read, apm_write };

void acpi_pm_reset(struct acpi_pm *pm)
{
	pm->sts = pm->en = pm->cnt = pm->gpe_en = 0;
	pm->apm_sts = 0;
	pm->tmr_ack = pm_ticks();
	vtimer_del(&pm->carry);
	irq_lower(&pm->sci);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pm->sts |= PM1_PWRBTN;
	acpi_pm_changed(pm);
}

struct acpi_pm *acpi_pm_new(struct irq sci)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		internal_error("acpi: out of memory");
	pm->sci = sci;
	vtimer_init(&pm->carry, acpi_pm_carry, pm);
	acpi_pm_reset(pm);
	bus_map(BUS_IO, PC_PORT_ACPI_PM, PM_BLOCK_SIZE, &pm_ops, pm, "acpi-pm");
	bus_map(BUS_IO, PC_PORT_ACPI_GPE0, 4, &gpe_ops, pm, "acpi-gpe0");
	bus_map(BUS_IO, PC_PORT_ACPI_SMI_CMD, 2, &apm_ops, pm, "apm");
	return pm;
}

void acpi_pm_free(struct acpi_pm *pm)
{
	if (!pm)
		return;
	vtimer_del(&pm->carry);
	bus_unmap(BUS_IO, PC_PORT_ACPI_PM);
	bus_unmap(BUS_IO, PC_PORT_ACPI_GPE0);
	bus_unmap(BUS_IO, PC_PORT_ACPI_SMI_CMD);
	free(pm);
}
