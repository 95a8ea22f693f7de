/*
 * The HPET (hpet.h): main counter, general configuration and interrupt
 * status, and three comparators in one-shot or periodic mode, 32 or 64
 * bits wide, routed to the I/O APIC or (legacy replacement) to ISA IRQ 0
 * and 8.
 *
 * The invariant: while the HPET is enabled, every comparator's vtimer is
 * armed for the moment the counter next equals it (in the comparator's
 * width), and each timer's output line is high exactly when it is
 * level-triggered, its status bit is set and its interrupt is enabled
 * (timer_update_line); nothing else raises or lowers a line but the
 * edge-triggered pulse in timer_fire.
 */
#include "system/hpet.h"

#include <stdlib.h>

#include "system/bus.h"
#include "system/pc.h"
#include "system/vclock.h"
#include "util/log.h"

enum {
	HPET_REG_CAP = 0x000,
	HPET_REG_CONF = 0x010,
	HPET_REG_ISR = 0x020,
	HPET_REG_COUNTER = 0x0f0,
	HPET_REG_TIMER = 0x100,		/* 0x20 per comparator */
};
enum { TN_CONF = 0x00, TN_COMP = 0x08, TN_FSB = 0x10 };

#define CONF_ENABLE		(1ull << 0)
#define CONF_LEGACY		(1ull << 1)

#define TN_LEVEL		(1ull << 1)
#define TN_INT_ENB		(1ull << 2)
#define TN_PERIODIC		(1ull << 3)
#define TN_PER_CAP		(1ull << 4)
#define TN_SIZE_CAP		(1ull << 5)
#define TN_VAL_SET		(1ull << 6)
#define TN_32BIT		(1ull << 8)
#define TN_ROUTE(c)		((unsigned)((c) >> 9) & 0x1f)
#define TN_WRITABLE		(TN_LEVEL | TN_INT_ENB | TN_PERIODIC | TN_VAL_SET | TN_32BIT | (0x1full << 9))

struct hpet_timer {
	struct hpet *h;
	int n;
	uint64_t config;		/* the writable bits */
	uint64_t cmp, period;
	struct vtimer vt;
	const struct irq *raised;	/* the line this timer holds high, if any */
};

struct hpet {
	uint64_t config, isr;
	uint64_t counter_base;		/* the counter at base_ns (or frozen) */
	int64_t base_ns;
	struct hpet_timer t[HPET_TIMERS];
	struct irq pins[24], irq0, irq8, legacy;
};

static bool enabled(const struct hpet *h) { return h->config & CONF_ENABLE; }

static uint64_t counter(const struct hpet *h)
{
	if (!enabled(h))
		return h->counter_base;
	return h->counter_base + (uint64_t)(vclock_ns() - h->base_ns) / HPET_NS_PER_TICK;
}

static bool is32(const struct hpet_timer *t) { return t->config & TN_32BIT; }

/* The line timer t drives now, or NULL (a route outside HPET_ROUTE_CAP). */
static const struct irq *timer_line(struct hpet_timer *t)
{
	struct hpet *h = t->h;
	unsigned route = TN_ROUTE(t->config);

	if (h->config & CONF_LEGACY) {
		if (t->n == 0)
			return &h->irq0;
		if (t->n == 1)
			return &h->irq8;
	}
	if (!(HPET_ROUTE_CAP >> route & 1))
		return NULL;
	return &h->pins[route];
}

static void timer_update_line(struct hpet_timer *t)
{
	struct hpet *h = t->h;
	bool high = (t->config & TN_LEVEL) && (t->config & TN_INT_ENB) && enabled(h) &&
		    (h->isr >> t->n & 1);
	const struct irq *line = high ? timer_line(t) : NULL;

	if (t->raised && t->raised != line)
		irq_lower(t->raised);
	if (line && t->raised != line)
		irq_raise(line);
	t->raised = line;
}

/* Arm t for the next time the counter equals its comparator.  after_fire:
 * the match that just happened does not count (a one-shot comparator
 * matches again only once the counter has wrapped round to it). */
static void timer_arm(struct hpet_timer *t, bool after_fire)
{
	struct hpet *h = t->h;
	uint64_t c, d, done;

	if (!enabled(h)) {
		vtimer_del(&t->vt);
		return;
	}
	c = counter(h);
	d = is32(t) ? (uint32_t)((uint32_t)t->cmp - (uint32_t)c) : t->cmp - c;
	if (d == 0 && after_fire) {
		if (!is32(t)) {
			vtimer_del(&t->vt);	/* 2^64 ticks: never */
			return;
		}
		d = 1ull << 32;
	}
	/* c was reached at base + done ticks; c + d at base + done + d. */
	done = (uint64_t)(vclock_ns() - h->base_ns) / HPET_NS_PER_TICK;
	if (d > (uint64_t)(VCLOCK_NEVER - h->base_ns) / HPET_NS_PER_TICK - done) {
		vtimer_del(&t->vt);
		return;
	}
	vtimer_mod(&t->vt, h->base_ns + (int64_t)((done + d) * HPET_NS_PER_TICK));
}

static void timer_fire(void *opaque)
{
	struct hpet_timer *t = opaque;
	struct hpet *h = t->h;

	if (t->config & TN_LEVEL) {
		h->isr |= 1ull << t->n;
		timer_update_line(t);
	} else if (t->config & TN_INT_ENB) {
		const struct irq *line = timer_line(t);
		if (line)
			irq_pulse(line);
	}
	if ((t->config & TN_PERIODIC) && t->period) {
		/* Next period; if we were late, skip the periods already past
		 * so the comparator is ahead of the counter again. */
		uint64_t width = is32(t) ? 0xffffffffull : ~0ull;
		uint64_t behind = (counter(h) - t->cmp) & width;
		t->cmp = (t->cmp + (behind / t->period + 1) * t->period) & width;
	} else if ((t->config & TN_PERIODIC) && log_enabled(LOG_GUEST_ERRORS)) {
		log_printf("hpet: timer %d periodic with period 0 (fires once)\n", t->n);
	}
	timer_arm(t, true);
}

static void hpet_set_config(struct hpet *h, uint64_t value)
{
	uint64_t old = h->config;

	h->config = value & (CONF_ENABLE | CONF_LEGACY);
	if ((old ^ h->config) & CONF_ENABLE) {
		if (enabled(h)) {
			h->base_ns = vclock_ns();	/* counting resumes from the frozen value */
		} else {
			h->config |= CONF_ENABLE;
			h->counter_base = counter(h);
			h->config &= ~CONF_ENABLE;
		}
	}
	if ((old ^ h->config) & CONF_LEGACY)
		irq_set(&h->legacy, (h->config & CONF_LEGACY) != 0);
	for (int n = 0; n < HPET_TIMERS; n++) {
		timer_arm(&h->t[n], false);
		timer_update_line(&h->t[n]);
	}
}

static void hpet_set_counter(struct hpet *h, uint64_t value)
{
	if (enabled(h) && log_enabled(LOG_GUEST_ERRORS))
		log_printf("hpet: main counter written while running\n");
	h->counter_base = value;
	h->base_ns = vclock_ns();
	for (int n = 0; n < HPET_TIMERS; n++)
		timer_arm(&h->t[n], false);
}

static void timer_set_config(struct hpet_timer *t, uint64_t value)
{
	t->config = value & TN_WRITABLE;
	if (TN_ROUTE(t->config) && !(HPET_ROUTE_CAP >> TN_ROUTE(t->config) & 1) &&
	    log_enabled(LOG_GUEST_ERRORS))
		log_printf("hpet: timer %d routed to I/O APIC pin %u, which it cannot drive\n",
			   t->n, TN_ROUTE(t->config));
	if (is32(t)) {
		t->cmp &= 0xffffffffull;
		t->period &= 0xffffffffull;
	}
	timer_arm(t, false);
	timer_update_line(t);
}

/* mask: which bytes of the 64-bit register this write covers. */
static void timer_set_cmp(struct hpet_timer *t, uint64_t value, uint64_t mask)
{
	/* In periodic mode a write sets the period, and the comparator only
	 * with VAL_SET (the HPET spec's "Tn_VAL_SET_CNF"), which clears once
	 * the write is complete. */
	if (!(t->config & TN_PERIODIC) || (t->config & TN_VAL_SET))
		t->cmp = (t->cmp & ~mask) | (value & mask);
	t->period = (t->period & ~mask) | (value & mask);
	if (is32(t)) {
		t->cmp &= 0xffffffffull;
		t->period &= 0xffffffffull;
	}
	if (is32(t) || (mask >> 32))
		t->config &= ~TN_VAL_SET;
	timer_arm(t, false);
}

static uint64_t hpet_read64(struct hpet *h, uint64_t reg)
{
	switch (reg) {
	case HPET_REG_CAP:
		return HPET_CAP_ID;
	case HPET_REG_CONF:
		return h->config;
	case HPET_REG_ISR:
		return h->isr;
	case HPET_REG_COUNTER:
		return counter(h);
	}
	if (reg >= HPET_REG_TIMER && reg < HPET_REG_TIMER + 0x20 * HPET_TIMERS) {
		struct hpet_timer *t = &h->t[(reg - HPET_REG_TIMER) / 0x20];
		switch ((reg - HPET_REG_TIMER) % 0x20) {
		case TN_CONF:
			return t->config | TN_PER_CAP | TN_SIZE_CAP | ((uint64_t)HPET_ROUTE_CAP << 32);
		case TN_COMP:
			return t->cmp;
		default:
			return 0;	/* FSB route: not offered */
		}
	}
	return 0;	/* reserved */
}

static void hpet_write64(struct hpet *h, uint64_t reg, uint64_t value, uint64_t mask)
{
	uint64_t merged = (hpet_read64(h, reg) & ~mask) | (value & mask);

	switch (reg) {
	case HPET_REG_CAP:
		return;
	case HPET_REG_CONF:
		hpet_set_config(h, merged);
		return;
	case HPET_REG_ISR:
		/* Write 1 to clear a level-triggered timer's status. */
		h->isr &= ~(value & mask);
		for (int n = 0; n < HPET_TIMERS; n++)
			timer_update_line(&h->t[n]);
		return;
	case HPET_REG_COUNTER:
		hpet_set_counter(h, merged);
		return;
	}
	if (reg >= HPET_REG_TIMER && reg < HPET_REG_TIMER + 0x20 * HPET_TIMERS) {
		struct hpet_timer *t = &h->t[(reg - HPET_REG_TIMER) / 0x20];
		switch ((reg - HPET_REG_TIMER) % 0x20) {
		case TN_CONF:
			timer_set_config(t, merged);
			return;
		case TN_COMP:
			timer_set_cmp(t, value, mask);
			return;
		}
		return;
	}
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("hpet: write to reserved offset %#lx\n", (unsigned long)reg);
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static uint64_t hpet_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	unsigned sub = offset & 7;

	return hpet_read64(opaque, offset & ~7ull) >> (sub * 8);
}

static void hpet_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	unsigned sub = offset & 7;

	if (sub + size > 8)
		size = 8 - sub;
	hpet_write64(opaque, offset & ~7ull, value << (sub * 8), size_mask(size) << (sub * 8));
}

static const struct bus_ops hpet_ops = { hpet_mmio_read, hpet_mmio_write };

void hpet_reset(struct hpet *h)
{
	for (int n = 0; n < HPET_TIMERS; n++) {
		struct hpet_timer *t = &h->t[n];
		vtimer_del(&t->vt);
		if (t->raised)
			irq_lower(t->raised);
		t->raised = NULL;
		t->config = 0;
		t->cmp = ~0ull;		/* the spec's reset value */
		t->period = 0;
	}
	if (h->config & CONF_LEGACY)
		irq_lower(&h->legacy);
	h->config = 0;
	h->isr = 0;
	h->counter_base = 0;
	h->base_ns = vclock_ns();
}

struct hpet *hpet_new(const struct irq ioapic_pins[24], struct irq irq0, struct irq irq8,
		      struct irq legacy)
{
	struct hpet *h = calloc(1, sizeof(*h));

	if (!h)
		internal_error("hpet: out of memory");
	for (int i = 0; i < 24; i++)
		h->pins[i] = ioapic_pins[i];
	h->irq0 = irq0;
	h->irq8 = irq8;
	h->legacy = legacy;
	for (int n = 0; n < HPET_TIMERS; n++) {
		h->t[n].h = h;
		h->t[n].n = n;
		vtimer_init(&h->t[n].vt, timer_fire, &h->t[n]);
	}
	hpet_reset(h);
	bus_map(BUS_MMIO, PC_MMIO_HPET, 0x400, &hpet_ops, h, "hpet");
	return h;
}

void hpet_free(struct hpet *h)
{
	if (!h)
		return;
	for (int n = 0; n < HPET_TIMERS; n++)
		vtimer_del(&h->t[n].vt);
	bus_unmap(BUS_MMIO, PC_MMIO_HPET);
	free(h);
}
