/*
 * The MC146818 RTC (rtc.h).  The clock is not a set of counters that tick:
 * the guest's time is "base_sec at virtual time base_ns, plus what has
 * elapsed since", and the time registers are encoded from it on each read
 * (BCD or binary and 12/24-hour per register B).  While SET is on, the
 * time registers are a frozen copy the guest edits; clearing SET makes
 * them the new base.
 *
 * Second boundaries fall at base_ns + k seconds.  The datasheet's update
 * cycle follows each boundary: UIP rises 244 us before it and falls when
 * the cycle ends 1984 us after it; the update-ended flag (UF) and the
 * alarm check happen at that end.  Periodic ticks (PF) divide the second
 * evenly, so they are aligned to the same boundaries.
 *
 * Register C's flags are brought up to date lazily (rtc_catch_up) on every
 * access and from the one timer, which is armed only while an enabled
 * event can raise IRQ 8; invariant: catch up before changing anything the
 * flags depend on (base, SET, the divider, rate).
 */
#include "system/rtc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "system/bus.h"
#include "system/pc.h"
#include "system/physmem.h"
#include "system/vclock.h"
#include "util/log.h"

#define NS_PER_SEC 1000000000ll
#define RTC_UIP_BEFORE_NS 244000	/* tBUC: UIP high before the update */
#define RTC_UPDATE_NS 1984000		/* tUC: the update cycle at 32.768 kHz */

enum {
	RTC_SEC, RTC_SEC_ALARM, RTC_MIN, RTC_MIN_ALARM, RTC_HOUR, RTC_HOUR_ALARM,
	RTC_WDAY, RTC_MDAY, RTC_MONTH, RTC_YEAR,
	RTC_A = 0x0a, RTC_B, RTC_C, RTC_D,
	RTC_CENTURY = 0x32,
};

#define A_UIP		0x80
#define A_DV_MASK	0x70
#define A_DV_32K	0x20	/* the time base PCs use; other values stop it */
#define A_RS_MASK	0x0f
#define B_SET		0x80
#define B_PIE		0x40
#define B_AIE		0x20
#define B_UIE		0x10
#define B_DM_BINARY	0x04
#define B_24H		0x02
#define C_IRQF		0x80
#define C_PF		0x40
#define C_AF		0x20
#define C_UF		0x10

struct rtc {
	uint8_t cmos[128];	/* A, B, D, alarms and RAM; time registers unused */
	uint8_t frozen[128];	/* the time registers while SET or stopped */
	uint8_t index;
	bool nmi_masked;
	bool running;		/* divider at 32.768 kHz and SET off */
	int64_t base_sec;	/* Unix time of the second starting at base_ns */
	int64_t base_ns;
	int64_t checked_ns;	/* flags account for events up to here */
	uint8_t flags;		/* C: PF, AF, UF */
	struct irq irq;
	int irq_level;
	struct vtimer timer;
};

static const uint8_t rtc_time_regs[] = {
	RTC_SEC, RTC_MIN, RTC_HOUR, RTC_WDAY, RTC_MDAY, RTC_MONTH, RTC_YEAR, RTC_CENTURY,
};

static bool is_time_reg(unsigned r)
{
	for (size_t i = 0; i < sizeof(rtc_time_regs); i++)
		if (rtc_time_regs[i] == r)
			return true;
	return false;
}

static uint8_t rtc_enc(const struct rtc *rtc, int v)
{
	return rtc->cmos[RTC_B] & B_DM_BINARY ? v : (v / 10) << 4 | v % 10;
}

static int rtc_dec(const struct rtc *rtc, uint8_t v)
{
	return rtc->cmos[RTC_B] & B_DM_BINARY ? v : (v >> 4) * 10 + (v & 0xf);
}

static uint8_t rtc_enc_hour(const struct rtc *rtc, int h)
{
	if (rtc->cmos[RTC_B] & B_24H)
		return rtc_enc(rtc, h);
	/* 12-hour: 12, 1, ..., 11 with bit 7 for PM. */
	return rtc_enc(rtc, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0);
}

static int rtc_dec_hour(const struct rtc *rtc, uint8_t v)
{
	if (rtc->cmos[RTC_B] & B_24H)
		return rtc_dec(rtc, v);
	return rtc_dec(rtc, v & 0x7f) % 12 + (v & 0x80 ? 12 : 0);
}

/* The time registers for Unix time t, into regs[]. */
static void rtc_encode(const struct rtc *rtc, int64_t t, uint8_t *regs)
{
	time_t tt = t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	regs[RTC_SEC] = rtc_enc(rtc, tm.tm_sec);
	regs[RTC_MIN] = rtc_enc(rtc, tm.tm_min);
	regs[RTC_HOUR] = rtc_enc_hour(rtc, tm.tm_hour);
	regs[RTC_WDAY] = rtc_enc(rtc, tm.tm_wday + 1);	/* Sunday is 1 */
	regs[RTC_MDAY] = rtc_enc(rtc, tm.tm_mday);
	regs[RTC_MONTH] = rtc_enc(rtc, tm.tm_mon + 1);
	regs[RTC_YEAR] = rtc_enc(rtc, (tm.tm_year + 1900) % 100);
	regs[RTC_CENTURY] = rtc_enc(rtc, (tm.tm_year + 1900) / 100);
}

static int64_t rtc_decode(const struct rtc *rtc, const uint8_t *regs)
{
	struct tm tm = {
		.tm_sec = rtc_dec(rtc, regs[RTC_SEC]),
		.tm_min = rtc_dec(rtc, regs[RTC_MIN]),
		.tm_hour = rtc_dec_hour(rtc, regs[RTC_HOUR]),
		.tm_mday = rtc_dec(rtc, regs[RTC_MDAY]),
		.tm_mon = rtc_dec(rtc, regs[RTC_MONTH]) - 1,
		.tm_year = rtc_dec(rtc, regs[RTC_CENTURY]) * 100 +
			   rtc_dec(rtc, regs[RTC_YEAR]) - 1900,
	};
	return timegm(&tm);
}

/* Guest RTC time in ns since the Unix epoch. */
static int64_t rtc_unix_ns(const struct rtc *rtc, int64_t now)
{
	return rtc->base_sec * NS_PER_SEC + (now - rtc->base_ns);
}

static int64_t rtc_period_hz(const struct rtc *rtc)
{
	int rs = rtc->cmos[RTC_A] & A_RS_MASK;

	if (rs == 0)
		return 0;
	if (rs <= 2)
		return 256 >> (rs - 1);	/* 1: 256 Hz, 2: 128 Hz */
	return 65536 >> rs;		/* 3: 8192 Hz ... 15: 2 Hz */
}

/* Index of the periodic tick at or before now (ticks since base_ns). */
static int64_t rtc_pf_index(const struct rtc *rtc, int64_t ns)
{
	int64_t d = ns - rtc->base_ns, hz = rtc_period_hz(rtc);

	return d >= 0 ? (int64_t)((__int128)d * hz / NS_PER_SEC) : -1;
}

/* Index of the last update cycle ended at or before ns (the update after
 * second k of the base ends at base_ns + k s + tUC). */
static int64_t rtc_uf_index(const struct rtc *rtc, int64_t ns)
{
	int64_t d = ns - rtc->base_ns - RTC_UPDATE_NS;

	return d >= 0 ? d / NS_PER_SEC : -1;
}

static bool rtc_alarm_matches(const struct rtc *rtc, int64_t t)
{
	uint8_t regs[128];
	static const uint8_t pairs[3][2] = {
		{ RTC_SEC_ALARM, RTC_SEC }, { RTC_MIN_ALARM, RTC_MIN }, { RTC_HOUR_ALARM, RTC_HOUR },
	};

	rtc_encode(rtc, t, regs);
	for (int i = 0; i < 3; i++) {
		uint8_t a = rtc->cmos[pairs[i][0]];
		/* 11xxxxxx is "don't care". */
		if ((a & 0xc0) != 0xc0 && a != regs[pairs[i][1]])
			return false;
	}
	return true;
}

/* Account the events of (checked_ns, now] into the C flags. */
static void rtc_catch_up(struct rtc *rtc, int64_t now)
{
	int64_t from = rtc->checked_ns;

	rtc->checked_ns = now;
	if (!rtc->running || now <= from)
		return;
	if (rtc_period_hz(rtc) && rtc_pf_index(rtc, now) > rtc_pf_index(rtc, from))
		rtc->flags |= C_PF;
	int64_t u0 = rtc_uf_index(rtc, from), u1 = rtc_uf_index(rtc, now);
	if (u1 > u0) {
		rtc->flags |= C_UF;
		/* The alarm compares h:m:s, which repeat daily: a day of
		 * updates is every case. */
		if (u1 - u0 > 86400)
			u0 = u1 - 86400;
		for (int64_t k = u1; k > u0 && !(rtc->flags & C_AF); k--)
			if (rtc_alarm_matches(rtc, rtc->base_sec + k))
				rtc->flags |= C_AF;
	}
}

static uint8_t rtc_irqf(const struct rtc *rtc)
{
	return rtc->flags & rtc->cmos[RTC_B] & (C_PF | C_AF | C_UF) ? C_IRQF : 0;
}

/* IRQ 8 follows IRQF; while it is low, a timer waits for the next enabled
 * event. */
static void rtc_update(struct rtc *rtc, int64_t now)
{
	int level = rtc_irqf(rtc) != 0;
	int64_t next = VCLOCK_NEVER;
	uint8_t b = rtc->cmos[RTC_B];

	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		irq_set(&rtc->irq, level);
	}
	if (!level && rtc->running) {
		int64_t hz = rtc_period_hz(rtc);
		if (b & B_PIE && hz) {
			int64_t k = rtc_pf_index(rtc, now) + 1;
			next = rtc->base_ns + (int64_t)(((__int128)k * NS_PER_SEC + hz - 1) / hz);
		}
		if (b & (B_UIE | B_AIE)) {
			int64_t t = rtc->base_ns + (rtc_uf_index(rtc, now) + 1) * NS_PER_SEC + RTC_UPDATE_NS;
			if (t < next)
				next = t;
		}
	}
	vtimer_mod(&rtc->timer, next);
}

static void rtc_timer_cb(void *opaque)
{
	struct rtc *rtc = opaque;
	int64_t now = vclock_ns();

	rtc_catch_up(rtc, now);
	rtc_update(rtc, now);
}

/* The time stops (SET, or the divider held in reset): the registers keep
 * the last second shown. */
static void rtc_freeze(struct rtc *rtc, int64_t now)
{
	int64_t t = rtc_unix_ns(rtc, now);

	rtc_encode(rtc, t / NS_PER_SEC - (t < 0 && t % NS_PER_SEC), rtc->frozen);
	rtc->running = false;
}

/* The time runs again from the frozen registers; the first update comes
 * one second later (SET) or half a second later (the divider left reset,
 * as the datasheet says). */
static void rtc_thaw(struct rtc *rtc, int64_t now, int64_t first_update_ns)
{
	rtc->base_sec = rtc_decode(rtc, rtc->frozen);
	rtc->base_ns = now + first_update_ns - NS_PER_SEC;
	rtc->checked_ns = now;
	rtc->running = true;
}

static bool rtc_divider_on(uint8_t a)
{
	return (a & A_DV_MASK) == A_DV_32K;
}

static uint8_t rtc_read_reg(struct rtc *rtc, unsigned r, int64_t now)
{
	uint8_t regs[128], v;
	int64_t t, frac;

	rtc_catch_up(rtc, now);
	if (is_time_reg(r)) {
		if (!rtc->running)
			return rtc->frozen[r];
		t = rtc_unix_ns(rtc, now);
		rtc_encode(rtc, t / NS_PER_SEC, regs);
		return regs[r];
	}
	switch (r) {
	case RTC_A:
		v = rtc->cmos[RTC_A] & ~A_UIP;
		if (rtc->running) {
			frac = (now - rtc->base_ns) % NS_PER_SEC;
			if (frac < 0)
				frac += NS_PER_SEC;
			if (frac >= NS_PER_SEC - RTC_UIP_BEFORE_NS || frac < RTC_UPDATE_NS)
				v |= A_UIP;
		}
		return v;
	case RTC_C:
		v = rtc->flags | rtc_irqf(rtc);
		rtc->flags = 0;
		rtc_update(rtc, now);
		return v;
	case RTC_D:
		return 0x80;	/* VRT: the battery is good */
	default:
		return rtc->cmos[r];
	}
}

static void rtc_write_reg(struct rtc *rtc, unsigned r, uint8_t v, int64_t now)
{
	uint8_t old;

	rtc_catch_up(rtc, now);
	if (is_time_reg(r)) {
		if (rtc->running) {
			/* A write while the clock runs: the other registers keep
			 * counting from the edited time, the phase unchanged. */
			int64_t phase = (now - rtc->base_ns) % NS_PER_SEC;
			rtc_freeze(rtc, now);
			rtc->frozen[r] = v;
			rtc->base_sec = rtc_decode(rtc, rtc->frozen);
			rtc->base_ns = now - phase;
			rtc->checked_ns = now;
			rtc->running = true;
		} else {
			rtc->frozen[r] = v;
		}
		return;
	}
	switch (r) {
	case RTC_A:
		old = rtc->cmos[RTC_A];
		rtc->cmos[RTC_A] = v & ~A_UIP;
		if (rtc_divider_on(old) && !rtc_divider_on(v)) {
			if (rtc->running)
				rtc_freeze(rtc, now);
		} else if (!rtc_divider_on(old) && rtc_divider_on(v) &&
			   !(rtc->cmos[RTC_B] & B_SET)) {
			rtc_thaw(rtc, now, NS_PER_SEC / 2);
		}
		if (((old ^ v) & A_DV_MASK) && !rtc_divider_on(v) && (v & A_DV_MASK) != 0x60 &&
		    (v & A_DV_MASK) != 0x70 && log_enabled(LOG_UNIMP))
			log_printf("rtc: register A time base %#x is not 32.768 kHz: clock stopped\n",
				   v & A_DV_MASK);
		break;
	case RTC_B:
		old = rtc->cmos[RTC_B];
		/* Setting SET clears UIE (the datasheet). */
		if (v & B_SET)
			v &= ~B_UIE;
		if (!(old & B_SET) && (v & B_SET) && rtc->running)
			rtc_freeze(rtc, now);
		if (v & B_SET || !rtc_divider_on(rtc->cmos[RTC_A])) {
			rtc->cmos[RTC_B] = v;
		} else if (old & B_SET) {
			/* The frozen registers are in the old format until
			 * decoded; the new format applies from now. */
			rtc_thaw(rtc, now, NS_PER_SEC);
			rtc->cmos[RTC_B] = v;
		} else {
			rtc->cmos[RTC_B] = v;
		}
		break;
	case RTC_C:
	case RTC_D:
		break;		/* read-only */
	default:
		rtc->cmos[r] = v;
		break;
	}
	rtc_update(rtc, now);
}

static uint64_t rtc_port_read(void *opaque, uint64_t offset, unsigned size)
{
	struct rtc *rtc = opaque;

	if (offset == 0)
		return 0xff;	/* the index register is write-only */
	return rtc_read_reg(rtc, rtc->index, vclock_ns());
}

static void rtc_port_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct rtc *rtc = opaque;

	if (offset == 0) {
		rtc->index = value & 0x7f;
		rtc->nmi_masked = value & 0x80;
	} else {
		rtc_write_reg(rtc, rtc->index, value, vclock_ns());
	}
}

static const struct bus_ops rtc_ops = { rtc_port_read, rtc_port_write };

void rtc_reset(struct rtc *rtc)
{
	int64_t now = vclock_ns();

	rtc_catch_up(rtc, now);
	rtc->cmos[RTC_B] &= ~(B_PIE | B_AIE | B_UIE | 0x08);
	rtc->flags = 0;
	rtc_update(rtc, now);
}

bool rtc_nmi_masked(const struct rtc *rtc)
{
	return rtc->nmi_masked;
}

static void put16(uint8_t *p, uint64_t v)
{
	if (v > 0xffff)
		v = 0xffff;
	p[0] = v;
	p[1] = v >> 8;
}

/* The CMOS RAM as a PC BIOS (SeaBIOS under QEMU's pc machine) leaves it
 * for the operating system. */
static void rtc_fill_cmos(struct rtc *rtc, uint64_t ram_size)
{
	uint64_t low = ram_size < PHYSMEM_LOW_MAX ? ram_size : PHYSMEM_LOW_MAX;
	uint64_t high = ram_size - low;
	uint64_t mib = 1024 * 1024, kib;

	rtc->cmos[RTC_A] = A_DV_32K | 0x06;	/* 32.768 kHz, 1024 Hz periodic rate */
	rtc->cmos[RTC_B] = B_24H;		/* BCD, 24-hour, no interrupts */
	rtc->cmos[RTC_D] = 0x80;
	rtc->cmos[0x14] = 0x06;			/* equipment: FPU, PS/2 mouse, no floppy */
	/* 0x15: base memory in KiB (640); 0x17 and 0x30: KiB above 1 MiB;
	 * 0x34: 64 KiB units between 16 MiB and 4 GiB; 0x5b: 64 KiB units
	 * above 4 GiB (three bytes).  The 16-bit ones saturate. */
	kib = ram_size / 1024 < 640 ? ram_size / 1024 : 640;
	put16(&rtc->cmos[0x15], kib);
	put16(&rtc->cmos[0x17], ram_size > mib ? (ram_size - mib) / 1024 : 0);
	put16(&rtc->cmos[0x30], ram_size > mib ? (ram_size - mib) / 1024 : 0);
	put16(&rtc->cmos[0x34], low > 16 * mib ? (low - 16 * mib) / 65536 : 0);
	rtc->cmos[0x5b] = high / 65536;
	rtc->cmos[0x5c] = high / 65536 >> 8;
	rtc->cmos[0x5d] = high / 65536 >> 16;
	rtc->cmos[0x5f] = 0;			/* CPUs - 1 */
}

struct rtc *rtc_new_at(struct irq irq8, uint64_t ram_size, int64_t unix_ns)
{
	struct rtc *rtc = calloc(1, sizeof(*rtc));
	int64_t now = vclock_ns();

	if (!rtc)
		internal_error("rtc: out of memory");
	rtc->irq = irq8;
	vtimer_init(&rtc->timer, rtc_timer_cb, rtc);
	rtc_fill_cmos(rtc, ram_size);
	rtc->base_sec = unix_ns / NS_PER_SEC;
	rtc->base_ns = now - unix_ns % NS_PER_SEC;
	rtc->checked_ns = now;
	rtc->running = true;
	bus_map(BUS_IO, PC_PORT_RTC, 2, &rtc_ops, rtc, "rtc");
	return rtc;
}

struct rtc *rtc_new(struct irq irq8, uint64_t ram_size)
{
	struct timespec ts;

	/* The one read of the host's wall clock: from here on the RTC runs
	 * on virtual time. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return rtc_new_at(irq8, ram_size, (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec);
}
