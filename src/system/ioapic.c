/*
 * The I/O APIC (ioapic.h): the indirect register window and the
 * redirection table.  Registers follow the Intel 82093AA datasheet, plus
 * the EOI register of the later I/O APICs (ICH datasheets: "EOI Register",
 * offset 0x40, write-only).
 *
 * The invariant: a pin is (re)considered for delivery exactly when its
 * level rises, its entry is rewritten, or an EOI clears its Remote IRR;
 * ioapic_service() is the one place that turns a pin into a message.
 */
#include "system/ioapic.h"

#include <stdlib.h>

#include "system/bus.h"
#include "system/pc.h"
#include "util/log.h"

enum {
	IOAPIC_IOREGSEL = 0x00,
	IOAPIC_IOWIN = 0x10,
	IOAPIC_EOI = 0x40,
};
enum {
	IOAPIC_REG_ID = 0x00,
	IOAPIC_REG_VER = 0x01,
	IOAPIC_REG_ARB = 0x02,
	IOAPIC_REG_REDTBL = 0x10,	/* two registers per pin */
};

/* Redirection entry bits. */
#define RTE_VECTOR(e)		((uint8_t)(e))
#define RTE_DM(e)		(((e) >> 8) & 7)
#define RTE_LOGICAL		(1ull << 11)
#define RTE_DELIVS		(1ull << 12)
#define RTE_POLARITY		(1ull << 13)
#define RTE_REMOTE_IRR		(1ull << 14)
#define RTE_LEVEL		(1ull << 15)
#define RTE_MASKED		(1ull << 16)
#define RTE_DEST(e)		((uint8_t)((e) >> 56))
/* What software may write: all but delivery status and Remote IRR. */
#define RTE_WRITABLE		(0xff00000000000000ull | 0x1afffull)

struct ioapic {
	uint8_t regsel;
	uint32_t id;			/* bits 27:24 */
	uint64_t rte[IOAPIC_PINS];
	int level[IOAPIC_PINS];
	void (*deliver)(void *, const struct ioapic_msg *);
	void *opaque;
};

static void ioapic_send(struct ioapic *io, int pin)
{
	uint64_t e = io->rte[pin];
	struct ioapic_msg msg = {
		.vector = RTE_VECTOR(e),
		.delivery_mode = RTE_DM(e),
		.dest = RTE_DEST(e),
		.logical = e & RTE_LOGICAL,
		.level = e & RTE_LEVEL,
	};

	if (io->deliver)
		io->deliver(io->opaque, &msg);
}

/* Level pins: deliver while asserted, unmasked and not awaiting an EOI. */
static void ioapic_service(struct ioapic *io, int pin)
{
	uint64_t e = io->rte[pin];

	if (!(e & RTE_LEVEL) || (e & RTE_MASKED) || !io->level[pin] || (e & RTE_REMOTE_IRR))
		return;
	/* Remote IRR is defined for fixed and lowest-priority only; other
	 * modes on a level pin are sent once per assertion. */
	if (RTE_DM(e) <= 1)
		io->rte[pin] |= RTE_REMOTE_IRR;
	ioapic_send(io, pin);
}

static void ioapic_set_pin(void *opaque, int pin, int level)
{
	struct ioapic *io = opaque;
	int old = io->level[pin];

	io->level[pin] = level != 0;
	if (io->rte[pin] & RTE_LEVEL) {
		ioapic_service(io, pin);
		return;
	}
	if (level && !old && !(io->rte[pin] & RTE_MASKED))
		ioapic_send(io, pin);
}

struct irq ioapic_irq(struct ioapic *io, int pin)
{
	if (pin < 0 || pin >= IOAPIC_PINS)
		internal_error("ioapic: no pin %d", pin);
	return irq_line(ioapic_set_pin, io, pin);
}

void ioapic_eoi(struct ioapic *io, int vector)
{
	for (int pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t e = io->rte[pin];
		if ((e & RTE_LEVEL) && (e & RTE_REMOTE_IRR) && RTE_VECTOR(e) == vector) {
			io->rte[pin] &= ~RTE_REMOTE_IRR;
			ioapic_service(io, pin);
		}
	}
}

static uint32_t ioapic_read_reg(struct ioapic *io, uint8_t reg)
{
	switch (reg) {
	case IOAPIC_REG_ID:
		return io->id;
	case IOAPIC_REG_VER:
		return IOAPIC_VERSION;
	case IOAPIC_REG_ARB:
		/* The 82093AA's arbitration register is gone from this
		 * generation (the APIC bus with it); reads 0, as on QEMU. */
		return 0;
	}
	if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS) {
		int pin = (reg - IOAPIC_REG_REDTBL) / 2;
		return (uint32_t)(io->rte[pin] >> (reg & 1 ? 32 : 0));
	}
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("ioapic: read of register %#x, which does not exist\n", reg);
	return 0;
}

static void ioapic_write_reg(struct ioapic *io, uint8_t reg, uint32_t value)
{
	if (reg == IOAPIC_REG_ID) {
		io->id = value & 0x0f000000u;
		return;
	}
	if (reg == IOAPIC_REG_VER || reg == IOAPIC_REG_ARB)
		return;		/* read-only */
	if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS) {
		int pin = (reg - IOAPIC_REG_REDTBL) / 2;
		int shift = reg & 1 ? 32 : 0;
		uint64_t e = io->rte[pin];
		e &= ~(0xffffffffull << shift) | ~RTE_WRITABLE;
		e |= ((uint64_t)value << shift) & RTE_WRITABLE;
		/* Remote IRR means nothing for an edge-triggered entry. */
		if (!(e & RTE_LEVEL))
			e &= ~RTE_REMOTE_IRR;
		io->rte[pin] = e;
		ioapic_service(io, pin);	/* unmasking an asserted level pin */
		return;
	}
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("ioapic: write %#x to register %#x, which does not exist\n", value, reg);
}

static uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct ioapic *io = opaque;

	switch (offset) {
	case IOAPIC_IOREGSEL:
		return io->regsel;
	case IOAPIC_IOWIN:
		return ioapic_read_reg(io, io->regsel);
	}
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("ioapic: read at offset %#lx\n", (unsigned long)offset);
	return 0;
}

static void ioapic_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct ioapic *io = opaque;

	switch (offset) {
	case IOAPIC_IOREGSEL:
		io->regsel = (uint8_t)value;
		return;
	case IOAPIC_IOWIN:
		ioapic_write_reg(io, io->regsel, (uint32_t)value);
		return;
	case IOAPIC_EOI:
		ioapic_eoi(io, (uint8_t)value);
		return;
	}
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("ioapic: write %#lx at offset %#lx dropped\n", (unsigned long)value,
			   (unsigned long)offset);
}

static const struct bus_ops ioapic_ops = { ioapic_mmio_read, ioapic_mmio_write };

void ioapic_reset(struct ioapic *io)
{
	io->regsel = 0;
	io->id = 0;
	for (int pin = 0; pin < IOAPIC_PINS; pin++)
		io->rte[pin] = RTE_MASKED;
}

struct ioapic *ioapic_new(void (*deliver)(void *, const struct ioapic_msg *), void *opaque)
{
	struct ioapic *io = calloc(1, sizeof(*io));

	if (!io)
		internal_error("ioapic: out of memory");
	io->deliver = deliver;
	io->opaque = opaque;
	ioapic_reset(io);
	bus_map(BUS_MMIO, PC_MMIO_IOAPIC, 0x1000, &ioapic_ops, io, "ioapic");
	return io;
}

void ioapic_free(struct ioapic *io)
{
	if (!io)
		return;
	bus_unmap(BUS_MMIO, PC_MMIO_IOAPIC);
	free(io);
}
