/*
 * Virtual time and the timer list (vclock.h).  Virtual time is host
 * CLOCK_MONOTONIC minus the time spent stopped; the armed timers are one
 * list sorted by deadline (a machine has a handful).
 */
#include "system/vclock.h"

#include <time.h>

void (*vclock_on_deadline)(int64_t deadline);

static struct {
	bool stopped;
	bool manual;
	bool started;
	int64_t offset;		/* virtual = host - offset */
	int64_t frozen;		/* virtual time while stopped or manual */
	struct vtimer *armed;
} vc;

static int64_t host_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t vclock_ns(void)
{
	if (vc.manual || vc.stopped)
		return vc.frozen;
	if (!vc.started) {
		vc.started = true;
		vc.offset = host_ns();
	}
	return host_ns() - vc.offset;
}

void vclock_stop(void)
{
	if (vc.stopped || vc.manual)
		return;
	vc.frozen = vclock_ns();
	vc.stopped = true;
}

void vclock_cont(void)
{
	if (!vc.stopped)
		return;
	vc.stopped = false;
	vc.offset = host_ns() - vc.frozen;
	vc.started = true;
}

bool vclock_running(void)
{
	return !vc.stopped;
}

void vclock_set_manual(int64_t ns)
{
	vc.manual = true;
	vc.frozen = ns;
}

void vtimer_init(struct vtimer *t, void (*cb)(void *opaque), void *opaque)
{
	t->deadline = VCLOCK_NEVER;
	t->cb = cb;
	t->opaque = opaque;
	t->next = NULL;
}

void vtimer_del(struct vtimer *t)
{
	struct vtimer **p;

	if (t->deadline == VCLOCK_NEVER)
		return;
	for (p = &vc.armed; *p; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	t->next = NULL;
	t->deadline = VCLOCK_NEVER;
}

void vtimer_mod(struct vtimer *t, int64_t deadline)
{
	struct vtimer **p;

	vtimer_del(t);
	if (deadline == VCLOCK_NEVER)
		return;
	t->deadline = deadline;
	for (p = &vc.armed; *p && (*p)->deadline <= deadline; p = &(*p)->next)
		;
	t->next = *p;
	*p = t;
	if (vc.armed == t && vclock_on_deadline)
		vclock_on_deadline(deadline);
}

int64_t vtimer_next_deadline(void)
{
	return vc.armed ? vc.armed->deadline : VCLOCK_NEVER;
}

int vtimer_run(void)
{
	int fired = 0;
	int64_t now = vclock_ns();

	while (vc.armed && vc.armed->deadline <= now) {
		struct vtimer *t = vc.armed;
		vc.armed = t->next;
		t->next = NULL;
		t->deadline = VCLOCK_NEVER;
		t->cb(t->opaque);
		fired++;
	}
	return fired;
}
