/*
 * An interrupt line between two devices (or a device and an interrupt
 * controller): the source sets its level, the sink's handler sees (n,
 * level).  Edge-triggered sinks act on 0 -> 1.  Lines are values: a
 * device keeps the struct irq it was given at creation.
 */
#ifndef LOOM_SYSTEM_IRQ_H
#define LOOM_SYSTEM_IRQ_H

struct irq {
	void (*handler)(void *opaque, int n, int level);
	void *opaque;
	int n;
};

static inline struct irq irq_line(void (*handler)(void *, int, int), void *opaque, int n)
{
	return (struct irq){ handler, opaque, n };
}
/* An unconnected line is allowed and does nothing. */
static inline void irq_set(const struct irq *irq, int level)
{
	if (irq->handler)
		irq->handler(irq->opaque, irq->n, level);
}
static inline void irq_raise(const struct irq *irq) { irq_set(irq, 1); }
static inline void irq_lower(const struct irq *irq) { irq_set(irq, 0); }
static inline void irq_pulse(const struct irq *irq)
{
	irq_set(irq, 1);
	irq_set(irq, 0);
}

#endif
