/*
 * The 8259A pair driven through its ports as Linux's init_8259A() and a
 * BIOS program it, checked against the datasheet: the vector of each
 * acknowledge, IRR/ISR/IMR contents, priority (fixed and rotating),
 * cascade through IR2, edge versus level (ELCR), auto-EOI, poll mode,
 * special mask mode, and the spurious IRQ 7/15 answers.
 */
#include "unit.h"

#include "system/bus.h"
#include "system/i8259.h"
#include "system/pc.h"

static int intr_level, intr_edges;

static void intr_seen(void *opaque, int n, int level)
{
	if (level && !intr_level)
		intr_edges++;
	intr_level = level;
}

static void outb(uint16_t port, uint8_t v) { bus_write(BUS_IO, port, 1, v); }
static uint8_t inb(uint16_t port) { return bus_read(BUS_IO, port, 1); }

/* Linux's init_8259A(): ICW1 edge + ICW4, vectors 0x30/0x38, cascade on
 * IR2, 8086 mode (auto_eoi adds AEOI on the master). */
static void program(bool auto_eoi)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	outb(0x20, 0x11);
	outb(0x21, 0x30);
	outb(0x21, 0x04);
	outb(0x21, auto_eoi ? 0x03 : 0x01);
	outb(0xa0, 0x11);
	outb(0xa1, 0x38);
	outb(0xa1, 0x02);
	outb(0xa1, 0x01);
	outb(0x21, 0x00);
	outb(0xa1, 0x00);
}

static struct i8259 *fresh(bool auto_eoi)
{
	struct i8259 *pic;

	bus_reset_map();
	intr_level = intr_edges = 0;
	pic = i8259_new(irq_line(intr_seen, NULL, 0));
	program(auto_eoi);
	return pic;
}

static uint8_t read_irr(uint16_t base) { outb(base, 0x0a); return inb(base); }
static uint8_t read_isr(uint16_t base) { outb(base, 0x0b); return inb(base); }

static void test_basic(void)
{
	struct i8259 *pic = fresh(false);
	struct irq l4 = i8259_irq(pic, 4);

	CHECK_EQ(intr_level, 0);
	CHECK_EQ(inb(0x21), 0x00);
	irq_raise(&l4);
	CHECK_EQ(intr_level, 1);
	CHECK_EQ(read_irr(0x20), 0x10);
	CHECK_EQ(i8259_ack(pic), 0x34);
	CHECK_EQ(intr_level, 0);
	CHECK_EQ(read_isr(0x20), 0x10);
	CHECK_EQ(read_irr(0x20), 0x00);
	/* The edge stays consumed while the line stays high. */
	CHECK_EQ(intr_level, 0);
	outb(0x20, 0x20);			/* non-specific EOI */
	CHECK_EQ(read_isr(0x20), 0x00);
	CHECK_EQ(intr_level, 0);
	/* A new edge is a new request. */
	irq_lower(&l4);
	irq_raise(&l4);
	CHECK_EQ(intr_level, 1);
	/* Masked: the request stays in IRR but INT drops. */
	outb(0x21, 0x10);
	CHECK_EQ(inb(0x21), 0x10);
	CHECK_EQ(intr_level, 0);
	CHECK_EQ(read_irr(0x20), 0x10);
	outb(0x21, 0x00);
	CHECK_EQ(intr_level, 1);
	CHECK_EQ(i8259_ack(pic), 0x34);
	outb(0x20, 0x64);			/* specific EOI for IR4 */
	CHECK_EQ(read_isr(0x20), 0x00);
}

static void test_priority(void)
{
	struct i8259 *pic = fresh(false);
	struct irq l1 = i8259_irq(pic, 1), l3 = i8259_irq(pic, 3);
	struct irq l5 = i8259_irq(pic, 5), l6 = i8259_irq(pic, 6);

	irq_raise(&l5);
	irq_raise(&l3);
	CHECK_EQ(i8259_ack(pic), 0x33);		/* IR3 outranks IR5 */
	/* IR5 waits behind IR3 in service. */
	CHECK_EQ(intr_level, 0);
	outb(0x20, 0x20);
	CHECK_EQ(intr_level, 1);
	CHECK_EQ(i8259_ack(pic), 0x35);
	irq_raise(&l6);				/* lower than IR5: held */
	CHECK_EQ(intr_level, 0);
	irq_raise(&l1);				/* higher: nests */
	CHECK_EQ(intr_level, 1);
	CHECK_EQ(i8259_ack(pic), 0x31);
	CHECK_EQ(read_isr(0x20), 0x22);
	outb(0x20, 0x20);			/* ends IR1, the highest in service */
	CHECK_EQ(read_isr(0x20), 0x20);
	CHECK_EQ(intr_level, 0);
	outb(0x20, 0x20);
	CHECK_EQ(i8259_ack(pic), 0x36);
	outb(0x20, 0x20);

	/* Rotation: "rotate on non-specific EOI" makes the ended input the
	 * lowest, so IR4 (next after 3) becomes the highest. */
	irq_lower(&l3);
	irq_lower(&l5);
	irq_raise(&l3);
	CHECK_EQ(i8259_ack(pic), 0x33);
	outb(0x20, 0xa0);
	irq_raise(&l5);
	irq_lower(&l1);
	irq_raise(&l1);
	CHECK_EQ(i8259_ack(pic), 0x35);		/* IR5 now outranks IR1 */
	outb(0x20, 0x20);
	CHECK_EQ(i8259_ack(pic), 0x31);
	outb(0x20, 0x20);
	/* Set priority: IR7 lowest again, IR0 highest. */
	outb(0x20, 0xc7);
	irq_lower(&l5);
	irq_raise(&l5);
	irq_lower(&l1);
	irq_raise(&l1);
	CHECK_EQ(i8259_ack(pic), 0x31);
	outb(0x20, 0x20);
	CHECK_EQ(i8259_ack(pic), 0x35);
	outb(0x20, 0x20);
}

static void test_cascade_and_spurious(void)
{
	struct i8259 *pic = fresh(false);
	struct irq l8 = i8259_irq(pic, 8), l10 = i8259_irq(pic, 10);
	struct irq l4 = i8259_irq(pic, 4);

	irq_raise(&l8);
	CHECK_EQ(intr_level, 1);
	CHECK_EQ(read_irr(0x20), 0x04);
	CHECK_EQ(i8259_ack(pic), 0x38);
	CHECK_EQ(read_isr(0x20), 0x04);
	CHECK_EQ(read_isr(0xa0), 0x01);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	CHECK_EQ(read_isr(0x20), 0x00);
	CHECK_EQ(read_isr(0xa0), 0x00);

	/* A request withdrawn between INT and INTA: the master answers IR7
	 * without marking it in service. */
	irq_raise(&l4);
	CHECK_EQ(intr_level, 1);
	outb(0x21, 0x10);
	CHECK_EQ(i8259_ack(pic), 0x37);
	CHECK_EQ(read_isr(0x20), 0x00);
	outb(0x21, 0x00);
	CHECK_EQ(i8259_ack(pic), 0x34);
	outb(0x20, 0x20);

	/* The same on the slave: IRQ 15's vector; the master did accept the
	 * cascade, so its IR2 is in service and wants an EOI. */
	irq_raise(&l10);
	outb(0xa1, 0x04);
	/* The slave's INT dropped, but the master latched IR2's edge. */
	CHECK_EQ(i8259_ack(pic), 0x3f);
	CHECK_EQ(read_isr(0xa0), 0x00);
	CHECK_EQ(read_isr(0x20), 0x04);
	outb(0x20, 0x20);
	outb(0xa1, 0x00);
	CHECK_EQ(i8259_ack(pic), 0x3a);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);

	/* Nothing at all pending: spurious IR7. */
	CHECK_EQ(intr_level, 0);
	CHECK_EQ(i8259_ack(pic), 0x37);
}

static void test_level_elcr(void)
{
	struct i8259 *pic = fresh(false);
	struct irq l9 = i8259_irq(pic, 9), l5 = i8259_irq(pic, 5);

	/* IRQ 0-2, 8 and 13 cannot be level-triggered. */
	outb(0x4d0, 0xff);
	outb(0x4d1, 0xff);
	CHECK_EQ(inb(0x4d0), 0xf8);
	CHECK_EQ(inb(0x4d1), 0xde);
	CHECK_EQ(bus_read(BUS_IO, 0x4d0, 2), 0xdef8);
	bus_write(BUS_IO, 0x4d0, 2, 0x0220);	/* IRQ 5 and 9 level */
	CHECK_EQ(inb(0x4d0), 0x20);
	CHECK_EQ(inb(0x4d1), 0x02);

	irq_raise(&l9);
	CHECK_EQ(i8259_ack(pic), 0x39);
	CHECK_EQ(read_irr(0xa0), 0x02);		/* still requested: line high */
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	CHECK_EQ(intr_level, 1);		/* and so asked again */
	irq_lower(&l9);
	CHECK_EQ(read_irr(0xa0), 0x00);
	/* The master's IR2 is edge-triggered and latched the cascade's second
	 * request: its INTA finds nothing on the slave, a spurious IRQ 15. */
	CHECK_EQ(i8259_ack(pic), 0x3f);
	outb(0x20, 0x20);
	CHECK_EQ(intr_level, 0);

	/* A level request that goes away before INTA is no request. */
	irq_raise(&l5);
	irq_lower(&l5);
	CHECK_EQ(read_irr(0x20), 0x00);
	/* An edge one stays latched. */
	outb(0x4d0, 0x00);
	irq_raise(&l5);
	irq_lower(&l5);
	CHECK_EQ(read_irr(0x20), 0x20);
	CHECK_EQ(i8259_ack(pic), 0x35);
	outb(0x20, 0x20);
}

static void test_auto_eoi_poll_smm(void)
{
	struct i8259 *pic = fresh(true);
	struct irq l3 = i8259_irq(pic, 3), l6 = i8259_irq(pic, 6);

	irq_raise(&l3);
	CHECK_EQ(i8259_ack(pic), 0x33);
	CHECK_EQ(read_isr(0x20), 0x00);		/* AEOI: never in service */

	/* Poll mode: the read is the acknowledge. */
	pic = fresh(false);
	l6 = i8259_irq(pic, 6);
	irq_raise(&l6);
	outb(0x20, 0x0c);
	CHECK_EQ(inb(0x20), 0x86);
	CHECK_EQ(read_isr(0x20), 0x40);
	outb(0x20, 0x0c);
	CHECK_EQ(inb(0x20), 0x00);		/* nothing more to poll */
	/* Reads return IRR again after a poll: OCW3 without RR keeps the last
	 * choice, here ISR (read_isr above). */

	/* Special mask mode: masking IR6 (in service) lets IR7 through. */
	irq_lower(&l6);
	struct irq l7 = i8259_irq(pic, 7);
	irq_raise(&l7);
	CHECK_EQ(intr_level, 0);
	outb(0x21, 0x40);
	outb(0x20, 0x68);			/* OCW3: set special mask */
	CHECK_EQ(intr_level, 1);
	CHECK_EQ(i8259_ack(pic), 0x37);
	outb(0x20, 0x48);			/* reset special mask */
	outb(0x20, 0x67);			/* specific EOI IR7 */
	outb(0x20, 0x66);			/* specific EOI IR6 */
	CHECK_EQ(read_isr(0x20), 0x00);

	/* ICW1 clears IMR and ISR: the reprogrammed chip starts clean. */
	outb(0x21, 0xff);
	outb(0x20, 0x11);
	outb(0x21, 0x20);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	CHECK_EQ(inb(0x21), 0x00);
	irq_lower(&l7);
	irq_raise(&l7);
	CHECK_EQ(i8259_ack(pic), 0x27);
}

void unit_main(void)
{
	test_basic();
	test_priority();
	test_cascade_and_spurious();
	test_level_elcr();
	test_auto_eoi_poll_smm();
}
