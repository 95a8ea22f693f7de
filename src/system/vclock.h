/*
 * Virtual time and the machine's one timer list.  The virtual clock counts
 * nanoseconds since the machine started and follows the host's
 * CLOCK_MONOTONIC while the machine runs; it stands still while the
 * monitor has it stopped.  Every device's notion of time (PIT, RTC, HPET,
 * the local APIC timer, the TSC) is derived from vclock_ns(), so a later
 * record/replay mode can substitute it in one place.
 *
 * Timers fire from vtimer_run(), which the vCPU thread calls between TBs
 * and after waking from hlt; a callback runs device code (raise a line,
 * re-arm itself).  vclock_on_deadline is told whenever the earliest
 * deadline moves earlier, so the machine can arm a host timer that makes
 * the vCPU leave translated code in time.
 */
#ifndef LOOM_SYSTEM_VCLOCK_H
#define LOOM_SYSTEM_VCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define VCLOCK_NEVER INT64_MAX

struct vtimer {
	int64_t deadline;		/* virtual ns; VCLOCK_NEVER when not armed */
	void (*cb)(void *opaque);
	void *opaque;
	struct vtimer *next;		/* the armed list, by deadline */
};

int64_t vclock_ns(void);
/* Stop / restart virtual time (monitor stop/cont); both idempotent. */
void vclock_stop(void);
void vclock_cont(void);
bool vclock_running(void);
/* Tests: drive virtual time by hand.  While manual, vclock_ns() returns the
 * last value set and never follows the host. */
void vclock_set_manual(int64_t ns);

void vtimer_init(struct vtimer *t, void (*cb)(void *opaque), void *opaque);
/* Arm (or re-arm) t to fire when vclock_ns() >= deadline. */
void vtimer_mod(struct vtimer *t, int64_t deadline);
void vtimer_del(struct vtimer *t);
static inline bool vtimer_armed(const struct vtimer *t) { return t->deadline != VCLOCK_NEVER; }
/* The earliest armed deadline, or VCLOCK_NEVER. */
int64_t vtimer_next_deadline(void);
/* Fire every timer whose deadline has passed (callbacks may re-arm); returns
 * how many fired. */
int vtimer_run(void);

extern void (*vclock_on_deadline)(int64_t deadline);

#endif
