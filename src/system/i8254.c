/*
 * The 8254 PIT and port 0x61 (i8254.h).  Nothing ticks: each channel keeps
 * the PIT clock tick at which its count was loaded, and its counter and
 * OUT are computed from the current tick, pit_tick(vclock_ns()).  Only
 * channel 0 needs a timer, to move IRQ 0 at OUT's transitions.
 *
 * A channel's life: a control word puts it in CH_IDLE (mode set, no count);
 * writing the count loads it on the next clock (the datasheet's "N+1
 * clocks" in mode 0) and starts counting (CH_RUN), or waits for a gate
 * edge (modes 1 and 5: CH_WAIT) or for the gate to rise (CH_PAUSED, gate
 * low).  `elapsed` is clocks since the load; -1 means the load clock has
 * not come yet.  A count written while counting takes effect at once
 * (the chip waits for the end of the period in modes 2 and 3; no guest
 * we run depends on that).
 */
#include "system/i8254.h"

#include <stdbool.h>
#include <stdlib.h>

#include "system/bus.h"
#include "system/pc.h"
#include "system/vclock.h"
#include "util/log.h"

/* Port 0x61's refresh bit toggles every 15.085 us (a DRAM refresh cycle),
 * and some BIOS-era delay loops count its toggles. */
#define PIT_REFRESH_NS 15085

enum ch_state { CH_IDLE, CH_WAIT, CH_PAUSED, CH_RUN };

struct pit_channel {
	uint8_t mode, rw, bcd;		/* from the control word */
	uint16_t count_reg;		/* the initial count as written */
	uint8_t write_lsb;		/* RW=3: the LSB written, MSB awaited */
	bool write_msb_next, read_msb_next;
	bool count_latched, status_latched, latch_msb_next;
	uint16_t latch;
	uint8_t status;
	bool gate;
	enum ch_state state;
	int64_t load_tick;		/* CH_RUN: the clock the count loaded at */
	int64_t frozen;			/* CH_PAUSED: elapsed clocks when stopped */
	int64_t null_until;		/* NULL COUNT reads 1 until this clock */
};

struct i8254 {
	struct pit_channel ch[3];
	uint8_t port61;			/* bits 0-3 as written */
	struct irq irq0;
	int irq0_level;
	int64_t irq0_rises;		/* rising edges of OUT0 already signalled */
	struct vtimer timer;
};

static int64_t pit_tick(int64_t ns)
{
	return (int64_t)((__int128)ns * PIT_HZ / 1000000000);
}

/* The first virtual ns at which pit_tick() reaches tick. */
static int64_t pit_tick_ns(int64_t tick)
{
	return (int64_t)(((__int128)tick * 1000000000 + PIT_HZ - 1) / PIT_HZ);
}

static int64_t pit_now(void)
{
	return pit_tick(vclock_ns());
}

static unsigned from_bcd16(uint16_t v)
{
	return (v & 0xf) + ((v >> 4) & 0xf) * 10 + ((v >> 8) & 0xf) * 100 + (v >> 12) * 1000;
}

static uint16_t to_bcd16(unsigned v)
{
	return (v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 | (v / 1000 % 10) << 12;
}

/* The initial count N as a number of clocks (0 is the largest count). */
static int64_t ch_n(const struct pit_channel *c)
{
	int64_t n = c->bcd ? from_bcd16(c->count_reg) : c->count_reg;

	if (n == 0)
		n = c->bcd ? 10000 : 65536;
	/* A count of 1 is illegal in modes 2 and 3 (the datasheet); count 2
	 * keeps OUT toggling instead of never rising. */
	if (n == 1 && (c->mode == 2 || c->mode == 3))
		n = 2;
	return n;
}

/* Clocks counted since the load, or -1 before the load clock. */
static int64_t ch_elapsed(const struct pit_channel *c, int64_t now)
{
	switch (c->state) {
	case CH_RUN:
		return now >= c->load_tick ? now - c->load_tick : -1;
	case CH_PAUSED:
		return c->frozen;
	default:
		return -1;
	}
}

/* OUT as a function of the clocks since the load (e >= 0). */
static bool out_at(const struct pit_channel *c, int64_t n, int64_t e)
{
	switch (c->mode) {
	case 0:
	case 1:
		return e >= n;
	case 2:
		return e % n != n - 1;
	case 3:
		return e % n < (n + 1) / 2;
	default:	/* 4, 5: one clock low at terminal count */
		return e != n;
	}
}

static bool ch_out(const struct pit_channel *c, int64_t now)
{
	int64_t e = ch_elapsed(c, now);

	if (c->state == CH_PAUSED && (c->mode == 2 || c->mode == 3))
		return true;	/* gate low forces OUT high */
	if (c->state == CH_WAIT || e < 0)
		return c->mode != 0;
	return out_at(c, ch_n(c), e);
}

/* Rising edges of OUT in clocks [0, e]: what IRQ 0 must have signalled. */
static int64_t ch_rises(const struct pit_channel *c, int64_t n, int64_t e)
{
	switch (c->mode) {
	case 0:
	case 1:
		return e >= n;
	case 2:
	case 3:
		return e / n;
	default:
		return e >= n + 1;
	}
}

/* The clock (absolute) of OUT's next transition after now, or -1. */
static int64_t ch_next_edge(const struct pit_channel *c, int64_t now)
{
	int64_t n = ch_n(c), e, r, base;

	if (c->state != CH_RUN)
		return -1;
	e = ch_elapsed(c, now);
	if (e < 0)
		return c->load_tick;
	base = c->load_tick + e;
	switch (c->mode) {
	case 0:
	case 1:
		return e < n ? c->load_tick + n : -1;
	case 2:
		r = e % n;
		return base - r + (r < n - 1 ? n - 1 : n);
	case 3:
		r = e % n;
		return base - r + (r < (n + 1) / 2 ? (n + 1) / 2 : n);
	default:
		return e < n ? c->load_tick + n : e == n ? c->load_tick + n + 1 : -1;
	}
}

static uint16_t ch_counter(const struct pit_channel *c, int64_t now)
{
	int64_t n = ch_n(c), e = ch_elapsed(c, now), v;
	int64_t wrap = c->bcd ? 10000 : 65536;

	if (e < 0 || c->state == CH_WAIT)
		v = n % wrap;
	else if (c->state == CH_PAUSED && (c->mode == 2 || c->mode == 3))
		v = n % wrap;
	else if (c->mode == 2)
		v = n - e % n;
	else if (c->mode == 3)
		/* Mode 3 counts down by two each clock, twice per period. */
		v = (n - (2 * e) % n) & ~1;
	else
		v = ((n - e) % wrap + wrap) % wrap;
	v %= wrap;
	return c->bcd ? to_bcd16(v) : v;
}

/* Channel 0's OUT onto IRQ 0, and the timer for its next transition.  A
 * late timer (the host was busy) still shows each missed period as one
 * low-high pulse, so the guest's tick count catches up by one per call. */
static void pit_update_irq0(struct i8254 *pit)
{
	struct pit_channel *c = &pit->ch[0];
	int64_t now = pit_now(), next;
	int out = ch_out(c, now);
	int64_t e = ch_elapsed(c, now);
	int64_t rises = c->state == CH_RUN && e >= 0 ? ch_rises(c, ch_n(c), e) : 0;

	if (rises > pit->irq0_rises && out && pit->irq0_level) {
		irq_set(&pit->irq0, 0);
		pit->irq0_level = 0;
	}
	pit->irq0_rises = rises;
	if (out != pit->irq0_level) {
		pit->irq0_level = out;
		irq_set(&pit->irq0, out);
	}
	next = ch_next_edge(c, now);
	if (next < 0)
		vtimer_del(&pit->timer);
	else
		vtimer_mod(&pit->timer, pit_tick_ns(next));
}

static void pit_timer_cb(void *opaque)
{
	pit_update_irq0(opaque);
}

/* The count is complete: load it on the next clock. */
static void ch_load(struct pit_channel *c, int64_t now)
{
	c->null_until = now + 1;
	if (c->mode == 1 || c->mode == 5) {
		if (c->state != CH_RUN)
			c->state = CH_WAIT;
		return;
	}
	if (!c->gate) {
		c->state = CH_PAUSED;
		c->frozen = -1;
		return;
	}
	c->state = CH_RUN;
	c->load_tick = now + 1;
}

static void ch_set_gate(struct pit_channel *c, bool gate, int64_t now)
{
	bool rising = gate && !c->gate;

	if (gate == c->gate)
		return;
	c->gate = gate;
	switch (c->mode) {
	case 0:
	case 4:
		if (!gate && c->state == CH_RUN) {
			c->frozen = ch_elapsed(c, now);
			c->state = CH_PAUSED;
		} else if (gate && c->state == CH_PAUSED) {
			c->load_tick = now - c->frozen;
			c->state = CH_RUN;
		}
		break;
	case 2:
	case 3:
		if (!gate && c->state == CH_RUN) {
			c->state = CH_PAUSED;
			c->frozen = -1;
		} else if (rising && c->state == CH_PAUSED) {
			/* The gate's rising edge reloads the count. */
			c->state = CH_RUN;
			c->load_tick = now + 1;
		}
		break;
	default:	/* 1, 5: the rising edge (re)triggers */
		if (rising && c->state != CH_IDLE) {
			c->state = CH_RUN;
			c->load_tick = now + 1;
		}
		break;
	}
}

static void ch_write_count(struct pit_channel *c, uint8_t v, int64_t now)
{
	switch (c->rw) {
	case 1:
		c->count_reg = v;
		break;
	case 2:
		c->count_reg = v << 8;
		break;
	default:
		if (!c->write_msb_next) {
			c->write_lsb = v;
			c->write_msb_next = true;
			/* Mode 0: writing the first byte stops the count. */
			if (c->mode == 0) {
				c->state = CH_IDLE;
				c->null_until = INT64_MAX;
			}
			return;
		}
		c->count_reg = c->write_lsb | v << 8;
		c->write_msb_next = false;
		break;
	}
	ch_load(c, now);
}

static uint8_t ch_status(const struct pit_channel *c, int64_t now)
{
	return ch_out(c, now) << 7 | (now < c->null_until) << 6 |
	       c->rw << 4 | c->mode << 1 | c->bcd;
}

static void ch_latch_count(struct pit_channel *c, int64_t now)
{
	if (c->count_latched)
		return;		/* a second latch before the read is ignored */
	c->latch = ch_counter(c, now);
	c->count_latched = true;
	c->latch_msb_next = false;
}

static void pit_control(struct i8254 *pit, uint8_t v, int64_t now)
{
	int sel = v >> 6;

	if (sel == 3) {
		/* Read-back: bit 5 clear latches counts, bit 4 clear latches
		 * status, bits 1-3 select channels 0-2. */
		for (int i = 0; i < 3; i++) {
			struct pit_channel *c = &pit->ch[i];
			if (!(v & (2 << i)))
				continue;
			if (!(v & 0x20))
				ch_latch_count(c, now);
			if (!(v & 0x10) && !c->status_latched) {
				c->status = ch_status(c, now);
				c->status_latched = true;
			}
		}
		return;
	}
	struct pit_channel *c = &pit->ch[sel];
	if (((v >> 4) & 3) == 0) {
		ch_latch_count(c, now);
		return;
	}
	c->rw = (v >> 4) & 3;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;	/* 6 and 7 are aliases of 2 and 3 */
	c->bcd = v & 1;
	c->state = CH_IDLE;
	c->write_msb_next = c->read_msb_next = false;
	c->count_latched = c->status_latched = false;
	c->null_until = INT64_MAX;
}

static uint8_t ch_read(struct pit_channel *c, int64_t now)
{
	uint16_t v;
	bool msb;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->count_latched) {
		v = c->latch;
		if (c->rw == 3) {
			msb = c->latch_msb_next;
			c->latch_msb_next = !msb;
			if (msb)
				c->count_latched = false;
		} else {
			msb = c->rw == 2;
			c->count_latched = false;
		}
		return msb ? v >> 8 : v & 0xff;
	}
	v = ch_counter(c, now);
	if (c->rw == 3) {
		msb = c->read_msb_next;
		c->read_msb_next = !msb;
	} else {
		msb = c->rw == 2;
	}
	return msb ? v >> 8 : v & 0xff;
}

static uint64_t pit_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8254 *pit = opaque;

	if (offset == 3)
		return 0xff;	/* the control word register cannot be read */
	return ch_read(&pit->ch[offset], pit_now());
}

static void pit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8254 *pit = opaque;
	int64_t now = pit_now();

	if (offset == 3)
		pit_control(pit, value, now);
	else
		ch_write_count(&pit->ch[offset], value, now);
	if (offset == 3 ? (value >> 6) == 0 || (value >> 6) == 3 : offset == 0)
		pit_update_irq0(pit);
}

static uint64_t port61_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8254 *pit = opaque;
	int64_t ns = vclock_ns();

	return pit->port61 | ((ns / PIT_REFRESH_NS) & 1) << 4 |
	       ch_out(&pit->ch[2], pit_tick(ns)) << 5;
}

static void port61_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8254 *pit = opaque;

	pit->port61 = value & 0x0f;
	ch_set_gate(&pit->ch[2], value & 1, pit_now());
}

static const struct bus_ops pit_ops = { pit_read, pit_write };
static const struct bus_ops port61_ops = { port61_read, port61_write };

void i8254_reset(struct i8254 *pit)
{
	for (int i = 0; i < 3; i++) {
		pit->ch[i] = (struct pit_channel){
			.rw = 3, .gate = i != 2, .state = CH_IDLE, .null_until = INT64_MAX,
		};
	}
	pit->port61 = 0;
	pit->irq0_rises = 0;
	/* Mode 0 is the reset mode: OUT low. */
	pit->irq0_level = 0;
	irq_set(&pit->irq0, 0);
	vtimer_del(&pit->timer);
}

struct i8254 *i8254_new(struct irq irq0)
{
	struct i8254 *pit = calloc(1, sizeof(*pit));

	if (!pit)
		internal_error("i8254: out of memory");
	pit->irq0 = irq0;
	vtimer_init(&pit->timer, pit_timer_cb, pit);
	i8254_reset(pit);
	bus_map(BUS_IO, PC_PORT_PIT, 4, &pit_ops, pit, "pit");
	bus_map(BUS_IO, PC_PORT_SYSCTL_B, 1, &port61_ops, pit, "sysctl-b");
	return pit;
}
