/*
 * The 8259A pair (i8259.h) as the datasheet describes it: three 8-bit
 * registers per chip (IRR requests, ISR in service, IMR masked), the
 * initialization sequence ICW1-ICW4, the operation commands OCW1-OCW3,
 * fixed or rotating priority, auto-EOI, poll mode and special mask mode.
 *
 * Priority is kept as `lowest`: the input with the lowest priority; the
 * highest is lowest+1 (mod 8).  Reset makes IR7 lowest, so IR0 is highest.
 *
 * Inputs: an edge-triggered input latches a request into IRR on its rising
 * edge (the request stays latched when the line drops, as in the chip's
 * edge-sense latch); a level-triggered input (ELCR) requests while high.
 * The slave's INT output is the master's IR2 input; the master's INT
 * output follows "some unmasked request outranks everything in service",
 * recomputed after every change.  Invariant: every entry point that
 * changes a chip ends with pic_update(), so the output lines are never
 * stale.
 */
#include "system/i8259.h"

#include <stdlib.h>
#include <string.h>

#include "system/bus.h"
#include "system/pc.h"
#include "util/log.h"

struct pic_chip {
	uint8_t irr, isr, imr;
	uint8_t input;		/* the input lines' levels */
	uint8_t elcr, elcr_mask;	/* level-triggered inputs; which may be */
	uint8_t vector_base;	/* ICW2 & 0xf8 */
	uint8_t lowest;		/* the input of lowest priority */
	uint8_t init_step;	/* 0: operating; 2, 3, 4: next ICW expected */
	bool icw4_needed, single, auto_eoi, rotate_auto_eoi;
	bool read_isr;		/* OCW3 RR/RIS: port 0 reads ISR, else IRR */
	bool poll;		/* OCW3 P: the next port 0 read is a poll */
	bool special_mask;
	bool output;		/* INT */
	struct i8259 *pic;	/* the pair, for the port handlers */
	int which;		/* 0 master, 1 slave */
};

struct i8259 {
	struct pic_chip chip[2];	/* 0 master, 1 slave */
	struct irq out;
};

static const char *const pic_name[2] = { "master", "slave" };

/* The highest-priority input set in mask, as a priority rank 0..7 (0 is
 * highest), or 8 when mask is empty. */
static int pic_rank(const struct pic_chip *c, uint8_t mask)
{
	for (int r = 0; r < 8; r++)
		if (mask & (1 << ((c->lowest + 1 + r) & 7)))
			return r;
	return 8;
}

static int pic_input_of_rank(const struct pic_chip *c, int rank)
{
	return (c->lowest + 1 + rank) & 7;
}

/* The input the chip would deliver now, or -1. */
static int pic_best(const struct pic_chip *c)
{
	int req = pic_rank(c, c->irr & ~c->imr);
	uint8_t in_service = c->isr;

	if (req == 8)
		return -1;
	/* Special mask mode: a masked input's in-service bit does not hold off
	 * lower priorities (the point of the mode). */
	if (c->special_mask)
		in_service &= ~c->imr;
	if (req < pic_rank(c, in_service))
		return pic_input_of_rank(c, req);
	return -1;
}

static void pic_set_input(struct pic_chip *c, int n, int level)
{
	uint8_t bit = 1 << n;

	if (c->elcr & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->input & bit)) {
		c->irr |= bit;
	}
	if (level)
		c->input |= bit;
	else
		c->input &= ~bit;
}

static void pic_update(struct i8259 *pic)
{
	struct pic_chip *m = &pic->chip[0], *s = &pic->chip[1];
	bool was = m->output;

	s->output = pic_best(s) >= 0;
	pic_set_input(m, 2, s->output);
	m->output = pic_best(m) >= 0;
	if (m->output != was)
		irq_set(&pic->out, m->output);
}

static void pic_input(void *opaque, int n, int level)
{
	struct i8259 *pic = opaque;

	pic_set_input(&pic->chip[n >> 3], n & 7, level);
	pic_update(pic);
}

struct irq i8259_irq(struct i8259 *pic, int n)
{
	return irq_line(pic_input, pic, n);
}

bool i8259_pending(const struct i8259 *pic)
{
	return pic->chip[0].output;
}

/* The acknowledge half of INTA on one chip: in-service, request consumed. */
static void pic_accept(struct pic_chip *c, int n)
{
	uint8_t bit = 1 << n;

	/* A level request stays in IRR while its line is high; an edge
	 * request is consumed. */
	if (!(c->elcr & bit))
		c->irr &= ~bit;
	if (c->auto_eoi) {
		if (c->rotate_auto_eoi)
			c->lowest = n;
	} else {
		c->isr |= bit;
	}
}

int i8259_ack(struct i8259 *pic)
{
	struct pic_chip *m = &pic->chip[0], *s = &pic->chip[1];
	int n = pic_best(m), vector;

	if (n < 0) {
		vector = m->vector_base | 7;
	} else if (n == 2 && !m->single) {
		int sn = pic_best(s);
		pic_accept(m, 2);
		if (sn < 0) {
			vector = s->vector_base | 7;
		} else {
			pic_accept(s, sn);
			vector = s->vector_base | sn;
		}
	} else {
		pic_accept(m, n);
		vector = m->vector_base | n;
	}
	pic_update(pic);
	return vector;
}

/* ICW1: the chip forgets its programming (the datasheet's list: IMR
 * cleared, IR7 lowest priority, special mask off, reads give IRR, and the
 * edge-sense latch reset so an input already high must first go low). */
static void pic_icw1(struct pic_chip *c, uint8_t v)
{
	c->icw4_needed = v & 0x01;
	c->single = v & 0x02;
	c->imr = 0;
	c->isr = 0;
	c->irr = c->input & c->elcr;
	c->lowest = 7;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->auto_eoi = false;
	c->rotate_auto_eoi = false;
	c->init_step = 2;
	if (v & 0x08 && log_enabled(LOG_UNIMP))
		log_printf("i8259: ICW1 LTIM (all inputs level) ignored: the PIIX's ELCR decides\n");
}

static void pic_init_word(struct pic_chip *c, int which, uint8_t v)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = v & 0xf8;
		c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
		break;
	case 3:
		/* ICW3: the cascade wiring, fixed in a PC (master: slave on IR2;
		 * slave: id 2). */
		c->init_step = c->icw4_needed ? 4 : 0;
		break;
	case 4:
		if (!(v & 0x01) && log_enabled(LOG_UNIMP))
			log_printf("i8259: %s ICW4 selects 8080/8085 mode, not modelled\n",
				   pic_name[which]);
		c->auto_eoi = v & 0x02;
		c->init_step = 0;
		break;
	}
}

static void pic_eoi(struct pic_chip *c, int n, bool rotate)
{
	c->isr &= ~(1 << n);
	if (rotate)
		c->lowest = n;
}

static void pic_ocw2(struct pic_chip *c, uint8_t v)
{
	int level = v & 7, n;

	switch (v >> 5) {
	case 1:		/* non-specific EOI */
	case 5:		/* rotate on non-specific EOI */
		n = pic_rank(c, c->isr);
		if (n < 8)
			pic_eoi(c, pic_input_of_rank(c, n), v >> 5 == 5);
		break;
	case 3:		/* specific EOI */
		pic_eoi(c, level, false);
		break;
	case 7:		/* rotate on specific EOI */
		pic_eoi(c, level, true);
		break;
	case 6:		/* set priority */
		c->lowest = level;
		break;
	case 4:
		c->rotate_auto_eoi = true;
		break;
	case 0:
		c->rotate_auto_eoi = false;
		break;
	case 2:		/* no operation */
		break;
	}
}

static void pic_ocw3(struct pic_chip *c, uint8_t v)
{
	if (v & 0x02)
		c->read_isr = v & 0x01;
	c->poll = v & 0x04;
	if (v & 0x40)
		c->special_mask = v & 0x20;
}

/* A poll read: as an INTA on this chip alone (bit 7: a request; bits 2-0:
 * which). */
static uint8_t pic_poll(struct i8259 *pic, int which)
{
	struct pic_chip *c = &pic->chip[which];
	int n = pic_best(c);

	c->poll = false;
	if (n < 0)
		return 0;
	pic_accept(c, n);
	return 0x80 | n;
}

static uint64_t pic_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pic_chip *c = opaque;
	struct i8259 *pic = c->pic;
	uint8_t v;

	if (offset & 1)
		return c->imr;
	if (c->poll) {
		v = pic_poll(pic, c->which);
		pic_update(pic);
		return v;
	}
	return c->read_isr ? c->isr : c->irr;
}

static void pic_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pic_chip *c = opaque;
	struct i8259 *pic = c->pic;
	uint8_t v = value;

	if (offset & 1) {
		if (c->init_step)
			pic_init_word(c, c->which, v);
		else
			c->imr = v;
	} else if (v & 0x10) {
		pic_icw1(c, v);
	} else if (v & 0x08) {
		pic_ocw3(c, v);
	} else {
		pic_ocw2(c, v);
	}
	pic_update(pic);
}

static uint64_t elcr_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8259 *pic = opaque;
	uint64_t v = 0;

	for (unsigned i = 0; i < size && offset + i < 2; i++)
		v |= (uint64_t)pic->chip[offset + i].elcr << (8 * i);
	return v;
}

static void elcr_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8259 *pic = opaque;

	for (unsigned i = 0; i < size && offset + i < 2; i++) {
		struct pic_chip *c = &pic->chip[offset + i];
		c->elcr = (value >> (8 * i)) & c->elcr_mask;
		/* A level input requests exactly while high; an edge input's
		 * latch keeps what it has. */
		c->irr = (c->irr & ~c->elcr) | (c->input & c->elcr);
	}
	pic_update(pic);
}

static const struct bus_ops pic_ops = { pic_read, pic_write };
static const struct bus_ops elcr_ops = { elcr_read, elcr_write };

void i8259_reset(struct i8259 *pic)
{
	for (int i = 0; i < 2; i++) {
		struct pic_chip *c = &pic->chip[i];
		uint8_t input = c->input;
		memset(c, 0, sizeof(*c));
		c->input = input;
		c->lowest = 7;
		c->pic = pic;
		c->which = i;
		/* IRQ 0, 1, 2 (master) and 8, 13 (slave) are always edge on the
		 * PIIX. */
		c->elcr_mask = i == 0 ? 0xf8 : 0xde;
	}
	pic->chip[0].output = false;
	irq_set(&pic->out, 0);
	pic_update(pic);
}

struct i8259 *i8259_new(struct irq intr_out)
{
	struct i8259 *pic = calloc(1, sizeof(*pic));

	if (!pic)
		internal_error("i8259: out of memory");
	pic->out = intr_out;
	i8259_reset(pic);
	bus_map(BUS_IO, PC_PORT_PIC_MASTER, 2, &pic_ops, &pic->chip[0], "pic-master");
	bus_map(BUS_IO, PC_PORT_PIC_SLAVE, 2, &pic_ops, &pic->chip[1], "pic-slave");
	bus_map(BUS_IO, PC_PORT_PIC_ELCR, 2, &elcr_ops, pic, "pic-elcr");
	return pic;
}
