/*
 * The machine's wiring points that devices use without knowing one
 * another (pc.h): the ISA interrupt fan-out to the 8259 pair and the I/O
 * APIC, and machine-level requests (reset, power off) that the vCPU loop
 * acts on between blocks.
 */
#include "system/pc.h"
#include "system/machine.h"

#include <stddef.h>

static struct {
	struct irq pic[16];
	struct irq ioapic[16];
	int level[16];
} isa;

static volatile enum pc_request pending;

static void isa_irq_set(void *opaque, int n, int level)
{
	isa.level[n] = level;
	irq_set(&isa.pic[n], level);
	irq_set(&isa.ioapic[n], level);
}

struct irq pc_isa_irq(int n)
{
	return irq_line(isa_irq_set, NULL, n);
}

void pc_wire_isa(int n, struct irq pic_input, struct irq ioapic_input)
{
	isa.pic[n] = pic_input;
	isa.ioapic[n] = ioapic_input;
}

void pc_request(enum pc_request req)
{
	/* A power-off outranks a reset requested in the same block. */
	if (req > pending)
		pending = req;
	/* Acted on at the next block boundary, as an interrupt is: the vCPU
	 * must not run on until a host tick happens to stop it (how far it
	 * got would depend on host timing). */
	machine_kick();
}

enum pc_request pc_take_request(void)
{
	enum pc_request req = pending;
	pending = PC_REQ_NONE;
	return req;
}
