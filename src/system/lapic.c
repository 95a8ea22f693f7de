/*
 * The local APIC (lapic.h): register file, interrupt acceptance and
 * priority, EOI, IPIs to self, LVT and the timer.  Register behaviour
 * follows the Intel SDM volume 3, chapter "Advanced Programmable Interrupt
 * Controller", for an xAPIC.
 *
 * The invariant: irr/isr/tmr are the only interrupt state; whether an
 * interrupt is deliverable is always recomputed from them, TPR and the
 * LINT0 wire, so every path that changes one of them ends in
 * lapic_update(), which kicks the vCPU if something became deliverable.
 */
#include "system/lapic.h"

#include <stdlib.h>
#include <string.h>

#include "system/bus.h"
#include "system/irq.h"
#include "system/pc.h"
#include "system/vclock.h"
#include "util/log.h"

/* Register offsets in the MMIO page. */
enum {
	LAPIC_REG_ID = 0x020,
	LAPIC_REG_VERSION = 0x030,
	LAPIC_REG_TPR = 0x080,
	LAPIC_REG_APR = 0x090,
	LAPIC_REG_PPR = 0x0a0,
	LAPIC_REG_EOI = 0x0b0,
	LAPIC_REG_RRD = 0x0c0,
	LAPIC_REG_LDR = 0x0d0,
	LAPIC_REG_DFR = 0x0e0,
	LAPIC_REG_SVR = 0x0f0,
	LAPIC_REG_ISR = 0x100,		/* 8 registers, 0x10 apart */
	LAPIC_REG_TMR = 0x180,
	LAPIC_REG_IRR = 0x200,
	LAPIC_REG_ESR = 0x280,
	LAPIC_REG_ICR_LO = 0x300,
	LAPIC_REG_ICR_HI = 0x310,
	LAPIC_REG_LVT = 0x320,		/* 6 entries, 0x10 apart */
	LAPIC_REG_TIMER_INIT = 0x380,
	LAPIC_REG_TIMER_CUR = 0x390,
	LAPIC_REG_TIMER_DIV = 0x3e0,
};

/* The LVT, in register order. */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_N };

#define LVT_MASKED		(1u << 16)
#define LVT_LEVEL		(1u << 15)
#define LVT_REMOTE_IRR		(1u << 14)
#define LVT_TIMER_MODE(v)	(((v) >> 17) & 3)
enum { TIMER_ONESHOT, TIMER_PERIODIC, TIMER_TSC_DEADLINE };

/* Writable bits of each LVT entry (the rest read as zero or are status). */
static const uint32_t lvt_writable[LVT_N] = {
	[LVT_TIMER] = 0x000700ff,	/* vector, mask, mode */
	[LVT_THERMAL] = 0x000107ff,	/* vector, delivery mode, mask */
	[LVT_PERF] = 0x000107ff,
	[LVT_LINT0] = 0x0001a7ff,	/* + polarity, trigger */
	[LVT_LINT1] = 0x0001a7ff,
	[LVT_ERROR] = 0x000100ff,
};

#define SVR_ENABLE		(1u << 8)

/* ESR bits (SDM "Error Handling"). */
#define ESR_SEND_ILLEGAL_VECTOR	(1u << 5)
#define ESR_RECV_ILLEGAL_VECTOR	(1u << 6)
#define ESR_ILLEGAL_REGISTER	(1u << 7)

/* ICR fields. */
#define ICR_DEST_LOGICAL	(1u << 11)
#define ICR_SHORTHAND(v)	(((v) >> 18) & 3)
enum { ICR_DEST_FIELD, ICR_SELF, ICR_ALL_INCL_SELF, ICR_ALL_EXCL_SELF };

struct lapic {
	int id;				/* the APIC ID it was created with */
	uint64_t apic_base;		/* IA32_APIC_BASE */
	uint64_t mapped_at;		/* MMIO base, or ~0 when unmapped */

	uint32_t id_reg, tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending;	/* ESR: read value; errors since last write */
	uint32_t icr_lo, icr_hi;
	uint32_t irr[8], isr[8], tmr[8];
	uint32_t lvt[LVT_N];

	/* Timer: counting started at start_ns from initial; shift is log2 of
	 * the divisor. */
	uint32_t timer_div, timer_init;
	bool timer_running;		/* counting (a one-shot that reached 0 stops) */
	unsigned timer_shift;
	int64_t timer_start_ns;
	uint64_t tsc_deadline;
	int64_t tsc_offset;
	struct vtimer timer;

	int lint_level[2];
	bool extint_msg;		/* ExtINT message from the I/O APIC */
	bool nmi;

	void (*kick)(void *);
	void *kick_opaque;
	int (*extint_ack)(void *);
	void *extint_opaque;
	void (*eoi)(void *, int);
	void *eoi_opaque;
};

/* --- bitmaps and priority ------------------------------------------------ */

static void vec_set(uint32_t *map, int v) { map[v >> 5] |= 1u << (v & 31); }
static void vec_clear(uint32_t *map, int v) { map[v >> 5] &= ~(1u << (v & 31)); }
static bool vec_test(const uint32_t *map, int v) { return map[v >> 5] >> (v & 31) & 1; }

/* The highest vector set in map, or -1. */
static int vec_highest(const uint32_t *map)
{
	for (int i = 7; i >= 0; i--)
		if (map[i])
			return i * 32 + 31 - __builtin_clz(map[i]);
	return -1;
}

static bool hw_enabled(const struct lapic *l) { return l->apic_base & LAPIC_BASE_ENABLE; }
static bool sw_enabled(const struct lapic *l) { return l->svr & SVR_ENABLE; }

/* PPR: TPR if its class is at least the highest in-service class, else
 * that class (SDM "Processor Priority Register"). */
static uint32_t lapic_ppr(const struct lapic *l)
{
	int isrv = vec_highest(l->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

/* The IRR vector that would be delivered now, or -1. */
static int lapic_deliverable_vector(const struct lapic *l)
{
	int v = vec_highest(l->irr);

	if (v < 0 || !sw_enabled(l))
		return -1;
	return ((uint32_t)v & 0xf0) > (lapic_ppr(l) & 0xf0) ? v : -1;
}

/* The 8259's INT reaches the CPU: through LINT0 programmed as ExtINT, or
 * directly when the APIC is globally disabled (the processor then acts as
 * one without an APIC), or as an I/O APIC ExtINT message. */
static bool lapic_extint_pending(const struct lapic *l)
{
	uint32_t lvt0 = l->lvt[LVT_LINT0];

	if (!hw_enabled(l))
		return l->lint_level[0];
	if (l->extint_msg)
		return true;
	return l->lint_level[0] && !(lvt0 & LVT_MASKED) &&
	       ((lvt0 >> 8) & 7) == LAPIC_DM_EXTINT;
}

static void lapic_update(struct lapic *l)
{
	if ((lapic_pending(l) || l->nmi) && l->kick)
		l->kick(l->kick_opaque);
}

static void lapic_error(struct lapic *l, uint32_t bit);

/* Accept a fixed-mode interrupt: IRR, and TMR records its trigger mode for
 * the EOI.  Vectors 0-15 are illegal (SDM: "received illegal vector"). */
static void lapic_accept(struct lapic *l, int vector, bool level)
{
	if (vector < 16) {
		lapic_error(l, ESR_RECV_ILLEGAL_VECTOR);
		return;
	}
	vec_set(l->irr, vector);
	if (level)
		vec_set(l->tmr, vector);
	else
		vec_clear(l->tmr, vector);
	lapic_update(l);
}

/* Deliver through an LVT entry (timer, error, LINT in fixed mode...). */
static void lapic_lvt_fire(struct lapic *l, int entry)
{
	uint32_t lvt = l->lvt[entry];
	unsigned dm = entry == LVT_TIMER || entry == LVT_ERROR ? LAPIC_DM_FIXED : (lvt >> 8) & 7;

	if (lvt & LVT_MASKED)
		return;
	switch (dm) {
	case LAPIC_DM_FIXED:
		lapic_accept(l, lvt & 0xff, entry >= LVT_LINT0 && entry <= LVT_LINT1 && (lvt & LVT_LEVEL));
		break;
	case LAPIC_DM_NMI:
		l->nmi = true;
		lapic_update(l);
		break;
	default:
		if (log_enabled(LOG_UNIMP))
			log_printf("lapic: LVT %d delivery mode %u not modelled\n", entry, dm);
		break;
	}
}

static void lapic_error(struct lapic *l, uint32_t bit)
{
	bool first = !(l->esr_pending & bit);

	l->esr_pending |= bit;
	if (first)
		lapic_lvt_fire(l, LVT_ERROR);
}

/* --- the timer ----------------------------------------------------------- */

static int64_t tsc_to_ns(const struct lapic *l, uint64_t tsc)
{
	int64_t t = (int64_t)(tsc - (uint64_t)l->tsc_offset);

	if (t <= 0)
		return 0;
	return (t + PC_TSC_PER_NS - 1) / PC_TSC_PER_NS;
}

uint64_t lapic_tsc(struct lapic *l)
{
	return (uint64_t)vclock_ns() * PC_TSC_PER_NS + (uint64_t)l->tsc_offset;
}

static unsigned timer_mode(const struct lapic *l)
{
	return LVT_TIMER_MODE(l->lvt[LVT_TIMER]);
}

_Static_assert(LAPIC_BUS_HZ == 1000000000ull, "timer_ticks assumes one bus tick per ns");

/* Counter ticks since the count was last loaded. */
static uint64_t timer_ticks(const struct lapic *l)
{
	int64_t d = vclock_ns() - l->timer_start_ns;

	return d <= 0 ? 0 : (uint64_t)d >> l->timer_shift;
}

static uint32_t timer_current(const struct lapic *l)
{
	uint64_t t;

	if (timer_mode(l) == TIMER_TSC_DEADLINE || !l->timer_running)
		return 0;
	t = timer_ticks(l);
	if (timer_mode(l) == TIMER_PERIODIC)
		return l->timer_init - (uint32_t)(t % l->timer_init);
	return t >= l->timer_init ? 0 : l->timer_init - (uint32_t)t;
}

/* Arm the vtimer for the next expiry of the current mode, if any. */
static void timer_arm(struct lapic *l)
{
	if (timer_mode(l) == TIMER_TSC_DEADLINE) {
		if (l->tsc_deadline)
			vtimer_mod(&l->timer, tsc_to_ns(l, l->tsc_deadline));
		else
			vtimer_del(&l->timer);
		return;
	}
	if (!l->timer_running) {
		vtimer_del(&l->timer);
		return;
	}
	uint64_t period = (uint64_t)l->timer_init << l->timer_shift;
	uint64_t done = timer_ticks(l) / l->timer_init;	/* periods already over */
	if (timer_mode(l) != TIMER_PERIODIC && done) {
		l->timer_running = false;
		vtimer_del(&l->timer);
	} else
		vtimer_mod(&l->timer, l->timer_start_ns + (int64_t)((done + 1) * period));
}

static void timer_expired(void *opaque)
{
	struct lapic *l = opaque;

	if (timer_mode(l) == TIMER_TSC_DEADLINE)
		l->tsc_deadline = 0;	/* the SDM: the MSR reads 0 once fired */
	lapic_lvt_fire(l, LVT_TIMER);
	if (timer_mode(l) == TIMER_PERIODIC)
		timer_arm(l);
	else
		l->timer_running = false;	/* one-shot: the count stays at 0 */
}

/* Restart the count's bookkeeping so that it continues from its current
 * value under a new divisor or mode. */
static void timer_rebase(struct lapic *l, uint32_t cur)
{
	l->timer_start_ns = vclock_ns() - (int64_t)((uint64_t)(l->timer_init - cur) << l->timer_shift);
}

static void timer_set_divide(struct lapic *l, uint32_t value)
{
	/* Bits 0, 1 and 3 encode log2(divisor) - 1, with 0b111 meaning 1. */
	unsigned code = (value & 3) | ((value >> 1) & 4);
	uint32_t cur = timer_current(l);

	l->timer_div = value & 0xb;
	l->timer_shift = (code + 1) & 7;
	/* Keep counting from where the counter is, at the new rate. */
	if (l->timer_running && cur) {
		timer_rebase(l, cur);
		timer_arm(l);
	}
}

static void timer_set_lvt(struct lapic *l, uint32_t value)
{
	unsigned old_mode = timer_mode(l);
	uint32_t cur = timer_current(l);

	l->lvt[LVT_TIMER] = value;
	if (LVT_TIMER_MODE(value) == 3 && log_enabled(LOG_GUEST_ERRORS))
		log_printf("lapic: reserved timer mode 3 (treated as one-shot)\n");
	/* Switching into or out of TSC-deadline mode disarms the timer (SDM
	 * "TSC-Deadline Mode"). */
	if ((old_mode == TIMER_TSC_DEADLINE) != (timer_mode(l) == TIMER_TSC_DEADLINE)) {
		l->timer_init = 0;
		l->timer_running = false;
		l->tsc_deadline = 0;
		vtimer_del(&l->timer);
	} else if (old_mode != timer_mode(l) && l->timer_running && cur) {
		/* Between one-shot and periodic the count goes on from its
		 * current value; only what happens at 0 changes. */
		timer_rebase(l, cur);
		timer_arm(l);
	}
}

/* --- registers ----------------------------------------------------------- */

static uint32_t lapic_read_reg(struct lapic *l, uint32_t reg)
{
	switch (reg) {
	case LAPIC_REG_ID:
		return l->id_reg;
	case LAPIC_REG_VERSION:
		return LAPIC_VERSION;
	case LAPIC_REG_TPR:
		return l->tpr;
	case LAPIC_REG_APR:
		/* Not implemented on the Pentium 4 / Xeon xAPIC; reads 0. */
		return 0;
	case LAPIC_REG_PPR:
		return lapic_ppr(l);
	case LAPIC_REG_EOI:
		return 0;
	case LAPIC_REG_RRD:
		return 0;
	case LAPIC_REG_LDR:
		return l->ldr;
	case LAPIC_REG_DFR:
		return l->dfr;
	case LAPIC_REG_SVR:
		return l->svr;
	case LAPIC_REG_ESR:
		return l->esr;
	case LAPIC_REG_ICR_LO:
		return l->icr_lo;	/* delivery status 0: sent at once */
	case LAPIC_REG_ICR_HI:
		return l->icr_hi;
	case LAPIC_REG_TIMER_INIT:
		return l->timer_init;
	case LAPIC_REG_TIMER_CUR:
		return timer_current(l);
	case LAPIC_REG_TIMER_DIV:
		return l->timer_div;
	}
	if (reg >= LAPIC_REG_ISR && reg < LAPIC_REG_ISR + 0x80)
		return l->isr[(reg - LAPIC_REG_ISR) >> 4];
	if (reg >= LAPIC_REG_TMR && reg < LAPIC_REG_TMR + 0x80)
		return l->tmr[(reg - LAPIC_REG_TMR) >> 4];
	if (reg >= LAPIC_REG_IRR && reg < LAPIC_REG_IRR + 0x80)
		return l->irr[(reg - LAPIC_REG_IRR) >> 4];
	if (reg >= LAPIC_REG_LVT && reg < LAPIC_REG_LVT + 0x10 * LVT_N) {
		int e = (reg - LAPIC_REG_LVT) >> 4;
		uint32_t v = l->lvt[e];
		if (e == LVT_LINT0 || e == LVT_LINT1) {
			/* Remote IRR mirrors a level-triggered fixed interrupt
			 * in service. */
			v &= ~LVT_REMOTE_IRR;
			if ((v & LVT_LEVEL) && ((v >> 8) & 7) == LAPIC_DM_FIXED &&
			    vec_test(l->isr, v & 0xff))
				v |= LVT_REMOTE_IRR;
		}
		return v;
	}
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("lapic: read of reserved register %#x\n", reg);
	lapic_error(l, ESR_ILLEGAL_REGISTER);
	return 0;
}

static void lapic_eoi(struct lapic *l)
{
	int v = vec_highest(l->isr);

	if (v < 0)
		return;
	vec_clear(l->isr, v);
	if (vec_test(l->tmr, v) && l->eoi)
		l->eoi(l->eoi_opaque, v);
	lapic_update(l);
}

static void lapic_send_ipi(struct lapic *l)
{
	uint32_t lo = l->icr_lo;
	unsigned dm = (lo >> 8) & 7;
	uint8_t dest = l->icr_hi >> 24;
	bool self, others;

	switch (ICR_SHORTHAND(lo)) {
	case ICR_SELF:
		self = true, others = false;
		break;
	case ICR_ALL_INCL_SELF:
		self = true, others = true;
		break;
	case ICR_ALL_EXCL_SELF:
		self = false, others = true;
		break;
	default:
		self = lapic_match_dest(l, dest, lo & ICR_DEST_LOGICAL);
		others = !self || dest == 0xff;
		break;
	}
	if (others && log_enabled(LOG_UNIMP))
		log_printf("lapic: IPI icr %#x:%08x to other CPUs (there is one vCPU): dropped\n",
			   l->icr_hi, lo);
	if (!self)
		return;
	switch (dm) {
	case LAPIC_DM_FIXED:
	case LAPIC_DM_LOWEST:
		if ((lo & 0xff) < 16) {
			lapic_error(l, ESR_SEND_ILLEGAL_VECTOR);
			return;
		}
		lapic_accept(l, lo & 0xff, false);
		break;
	case LAPIC_DM_NMI:
		l->nmi = true;
		lapic_update(l);
		break;
	default:
		if (log_enabled(LOG_UNIMP))
			log_printf("lapic: IPI delivery mode %u to self not modelled\n", dm);
		break;
	}
}

static void lapic_set_svr(struct lapic *l, uint32_t value)
{
	/* Vector, APIC software enable, focus processor checking. */
	l->svr = value & 0x3ff;
	if (!sw_enabled(l)) {
		/* Software disable masks every LVT entry (SDM). */
		for (int e = 0; e < LVT_N; e++)
			l->lvt[e] |= LVT_MASKED;
	}
	lapic_update(l);
}

static void lapic_write_reg(struct lapic *l, uint32_t reg, uint32_t value)
{
	switch (reg) {
	case LAPIC_REG_ID:
		l->id_reg = value & 0xff000000u;
		return;
	case LAPIC_REG_TPR:
		l->tpr = value & 0xff;
		lapic_update(l);
		return;
	case LAPIC_REG_EOI:
		lapic_eoi(l);
		return;
	case LAPIC_REG_LDR:
		l->ldr = value & 0xff000000u;
		return;
	case LAPIC_REG_DFR:
		l->dfr = value | 0x0fffffffu;
		return;
	case LAPIC_REG_SVR:
		lapic_set_svr(l, value);
		return;
	case LAPIC_REG_ESR:
		/* A write latches the errors seen since the last one. */
		l->esr = l->esr_pending;
		l->esr_pending = 0;
		return;
	case LAPIC_REG_ICR_LO:
		l->icr_lo = value & 0x000ccfffu;
		lapic_send_ipi(l);
		return;
	case LAPIC_REG_ICR_HI:
		l->icr_hi = value & 0xff000000u;
		return;
	case LAPIC_REG_TIMER_INIT:
		if (timer_mode(l) == TIMER_TSC_DEADLINE)
			return;		/* ignored in TSC-deadline mode */
		l->timer_init = value;
		l->timer_running = value != 0;
		l->timer_start_ns = vclock_ns();
		timer_arm(l);
		return;
	case LAPIC_REG_TIMER_DIV:
		timer_set_divide(l, value);
		return;
	case LAPIC_REG_VERSION:
	case LAPIC_REG_APR:
	case LAPIC_REG_PPR:
	case LAPIC_REG_RRD:
	case LAPIC_REG_TIMER_CUR:
		return;		/* read-only */
	}
	if ((reg >= LAPIC_REG_ISR && reg < LAPIC_REG_IRR + 0x80))
		return;		/* ISR, TMR, IRR: read-only */
	if (reg >= LAPIC_REG_LVT && reg < LAPIC_REG_LVT + 0x10 * LVT_N) {
		int e = (reg - LAPIC_REG_LVT) >> 4;
		value &= lvt_writable[e];
		if (!sw_enabled(l))
			value |= LVT_MASKED;
		if (e == LVT_TIMER)
			timer_set_lvt(l, value);
		else
			l->lvt[e] = value | (l->lvt[e] & LVT_REMOTE_IRR);
		if (e == LVT_LINT0 || e == LVT_LINT1)
			lapic_update(l);	/* an asserted wire may now pass */
		return;
	}
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("lapic: write %#x to reserved register %#x\n", value, reg);
	lapic_error(l, ESR_ILLEGAL_REGISTER);
}

/* The xAPIC's registers are 32 bits wide at 16-byte strides; narrower
 * reads see part of one (as QEMU does), and other writes are dropped. */
static uint64_t lapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct lapic *l = opaque;
	uint32_t v = lapic_read_reg(l, offset & 0xff0);
	unsigned sub = offset & 0xf;

	if (sub >= 4)
		return 0;
	return v >> (sub * 8);
}

static void lapic_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct lapic *l = opaque;

	if (size != 4 || (offset & 0xf)) {
		if (log_enabled(LOG_GUEST_ERRORS))
			log_printf("lapic: %u-byte write at offset %#lx dropped\n", size,
				   (unsigned long)offset);
		return;
	}
	lapic_write_reg(l, offset, (uint32_t)value);
}

static const struct bus_ops lapic_ops = { lapic_mmio_read, lapic_mmio_write };

/* --- IA32_APIC_BASE and the MMIO page -------------------------------- */

static void lapic_unmap(struct lapic *l)
{
	if (l->mapped_at != ~0ull)
		bus_unmap(BUS_MMIO, l->mapped_at);
	l->mapped_at = ~0ull;
}

static void lapic_map(struct lapic *l)
{
	uint64_t base = l->apic_base & LAPIC_BASE_ADDR_MASK;

	lapic_unmap(l);
	if (!hw_enabled(l))
		return;
	if (!bus_range_free(BUS_MMIO, base, 0x1000)) {
		/* Some device already answers there: the APIC page is
		 * shadowed, which on hardware is a firmware bug. */
		if (log_enabled(LOG_GUEST_ERRORS))
			log_printf("lapic: APIC base %#lx overlaps another device; not mapped\n",
				   (unsigned long)base);
		return;
	}
	bus_map(BUS_MMIO, base, 0x1000, &lapic_ops, l, "lapic");
	l->mapped_at = base;
}

/* The power-up register state (SDM "Local APIC State After Power-Up or
 * Reset"), apart from IA32_APIC_BASE. */
static void lapic_reset_regs(struct lapic *l)
{
	l->id_reg = (uint32_t)l->id << 24;
	l->tpr = 0;
	l->ldr = 0;
	l->dfr = 0xffffffffu;
	l->svr = 0xff;
	l->esr = l->esr_pending = 0;
	l->icr_lo = l->icr_hi = 0;
	memset(l->irr, 0, sizeof(l->irr));
	memset(l->isr, 0, sizeof(l->isr));
	memset(l->tmr, 0, sizeof(l->tmr));
	for (int e = 0; e < LVT_N; e++)
		l->lvt[e] = LVT_MASKED;
	l->timer_div = 0;
	l->timer_shift = 1;
	l->timer_init = 0;
	l->timer_running = false;
	l->tsc_deadline = 0;
	l->extint_msg = false;
	l->nmi = false;
	vtimer_del(&l->timer);
}

void lapic_reset(struct lapic *l)
{
	lapic_reset_regs(l);
	/* loom-system starts the kernel without firmware, so the BSP starts
	 * in the state the PC's firmware leaves it in: on the peer, `info
	 * lapic` after SeaBIOS shows SVR 0x1ff (software-enabled), LINT0
	 * 0x8700 (ExtINT, level) and LINT1 0x8400 (NMI): virtual-wire mode,
	 * where the 8259 reaches the CPU through LINT0. */
	if (l->id == 0) {
		l->svr = SVR_ENABLE | 0xff;
		l->lvt[LVT_LINT0] = LVT_LEVEL | LAPIC_DM_EXTINT << 8;
		l->lvt[LVT_LINT1] = LVT_LEVEL | LAPIC_DM_NMI << 8;
	}
	l->apic_base = PC_MMIO_LAPIC | LAPIC_BASE_ENABLE | (l->id == 0 ? LAPIC_BASE_BSP : 0);
	l->tsc_offset = 0;
	lapic_map(l);
}

struct lapic *lapic_new(int apic_id, void (*kick)(void *), void *kick_opaque)
{
	struct lapic *l = calloc(1, sizeof(*l));

	if (!l)
		internal_error("lapic: out of memory");
	l->id = apic_id;
	l->kick = kick;
	l->kick_opaque = kick_opaque;
	l->mapped_at = ~0ull;
	vtimer_init(&l->timer, timer_expired, l);
	lapic_reset(l);
	return l;
}

void lapic_free(struct lapic *l)
{
	if (!l)
		return;
	vtimer_del(&l->timer);
	lapic_unmap(l);
	free(l);
}

void lapic_set_extint_ack(struct lapic *l, int (*ack)(void *), void *opaque)
{
	l->extint_ack = ack;
	l->extint_opaque = opaque;
}

void lapic_set_eoi_broadcast(struct lapic *l, void (*eoi)(void *, int), void *opaque)
{
	l->eoi = eoi;
	l->eoi_opaque = opaque;
}

bool lapic_read_msr(struct lapic *l, uint32_t msr, uint64_t *value)
{
	switch (msr) {
	case LAPIC_MSR_APIC_BASE:
		*value = l->apic_base;
		return true;
	case LAPIC_MSR_TSC_DEADLINE:
		*value = l->tsc_deadline;
		return true;
	}
	return false;
}

bool lapic_write_msr(struct lapic *l, uint32_t msr, uint64_t value)
{
	switch (msr) {
	case LAPIC_MSR_APIC_BASE:
		/* BSP is read-only; x2APIC is not reported, so EXTD is a
		 * reserved bit like the ones above MAXPHYADDR. */
		if (value & ~(LAPIC_BASE_ADDR_MASK | LAPIC_BASE_ENABLE | LAPIC_BASE_BSP))
			return false;
		if (hw_enabled(l) && !(value & LAPIC_BASE_ENABLE)) {
			/* Global disable returns the APIC to its power-up
			 * state; its page goes away. */
			lapic_reset_regs(l);
		}
		l->apic_base = (value & ~LAPIC_BASE_BSP) | (l->apic_base & LAPIC_BASE_BSP);
		lapic_map(l);
		lapic_update(l);
		return true;
	case LAPIC_MSR_TSC_DEADLINE:
		/* Writes outside TSC-deadline mode are ignored (SDM). */
		if (timer_mode(l) != TIMER_TSC_DEADLINE)
			return true;
		l->tsc_deadline = value;
		timer_arm(l);
		return true;
	}
	return false;
}

uint64_t lapic_get_cr8(struct lapic *l)
{
	return (l->tpr >> 4) & 0xf;
}

void lapic_set_cr8(struct lapic *l, uint64_t value)
{
	l->tpr = ((uint32_t)value & 0xf) << 4;
	lapic_update(l);
}

void lapic_set_tsc_offset(struct lapic *l, int64_t offset)
{
	l->tsc_offset = offset;
	if (timer_mode(l) == TIMER_TSC_DEADLINE)
		timer_arm(l);
}

/* --- the CPU side --------------------------------------------------------- */

bool lapic_pending(struct lapic *l)
{
	if (lapic_extint_pending(l))
		return true;
	return hw_enabled(l) && lapic_deliverable_vector(l) >= 0;
}

int lapic_ack(struct lapic *l)
{
	int v = hw_enabled(l) ? lapic_deliverable_vector(l) : -1;

	/* APIC-sourced interrupts first, then the 8259 (as QEMU orders
	 * them); an ExtINT never enters IRR/ISR. */
	if (v >= 0) {
		vec_clear(l->irr, v);
		vec_set(l->isr, v);
		return v;
	}
	if (lapic_extint_pending(l)) {
		l->extint_msg = false;
		if (l->extint_ack)
			return l->extint_ack(l->extint_opaque);
		if (log_enabled(LOG_UNIMP))
			log_printf("lapic: ExtINT with no 8259 connected\n");
	}
	/* The interrupt went away between INTR and INTA: the spurious
	 * vector, which is not put in service. */
	return l->svr & 0xff;
}

bool lapic_nmi_pending(struct lapic *l)
{
	return l->nmi;
}

void lapic_ack_nmi(struct lapic *l)
{
	l->nmi = false;
}

/* --- the interrupt controllers' side -------------------------------------- */

static void lapic_set_lint(struct lapic *l, int n, int level)
{
	int entry = n ? LVT_LINT1 : LVT_LINT0;
	uint32_t lvt = l->lvt[entry];
	int old = l->lint_level[n];
	unsigned dm = (lvt >> 8) & 7;

	l->lint_level[n] = level;
	if (!hw_enabled(l)) {
		/* LINT0 is INTR and LINT1 is NMI without an APIC. */
		if (n == 0)
			lapic_update(l);
		else if (level && !old) {
			l->nmi = true;
			lapic_update(l);
		}
		return;
	}
	if (dm == LAPIC_DM_EXTINT) {
		lapic_update(l);	/* level-sensitive: looked at in lapic_pending */
		return;
	}
	/* Fixed mode: edge on 0 -> 1, or level while asserted and not
	 * already in IRR/ISR; NMI is always edge. */
	if (level && (!old || ((lvt & LVT_LEVEL) && dm == LAPIC_DM_FIXED &&
				 !vec_test(l->irr, lvt & 0xff) && !vec_test(l->isr, lvt & 0xff))))
		lapic_lvt_fire(l, entry);
}

void lapic_set_lint0(struct lapic *l, int level)
{
	lapic_set_lint(l, 0, level);
}

void lapic_set_lint1(struct lapic *l, int level)
{
	lapic_set_lint(l, 1, level);
}

static void lapic_lint_handler(void *opaque, int n, int level)
{
	lapic_set_lint(opaque, n, level);
}

struct irq lapic_lint_irq(struct lapic *l, int n)
{
	return irq_line(lapic_lint_handler, l, n);
}

bool lapic_match_dest(struct lapic *l, uint8_t dest, bool logical)
{
	uint8_t id = l->id_reg >> 24, ldr = l->ldr >> 24;

	if (!logical)
		return dest == 0xff || dest == id;
	if (dest == 0xff)
		return true;
	if ((l->dfr >> 28) == 0xf)	/* flat model: a bitmap of 8 CPUs */
		return (dest & ldr) != 0;
	/* Cluster model: cluster in the high nibble, bitmap in the low. */
	return (dest >> 4) == (ldr >> 4) && (dest & ldr & 0xf) != 0;
}

void lapic_deliver(struct lapic *l, int vector, enum lapic_dm dm, bool level_trigger)
{
	if (!hw_enabled(l))
		return;
	switch (dm) {
	case LAPIC_DM_FIXED:
	case LAPIC_DM_LOWEST:
		lapic_accept(l, vector, level_trigger);
		break;
	case LAPIC_DM_NMI:
		l->nmi = true;
		lapic_update(l);
		break;
	case LAPIC_DM_EXTINT:
		l->extint_msg = true;
		lapic_update(l);
		break;
	default:
		if (log_enabled(LOG_UNIMP))
			log_printf("lapic: message with delivery mode %d not modelled\n", dm);
		break;
	}
}
