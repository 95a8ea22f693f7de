/*
 * The PC's two address maps for devices: port I/O (16-bit ports, `in`/`out`)
 * and MMIO (guest-physical addresses outside RAM).  A device registers a
 * region with read/write entry points taking an offset into the region and
 * an access size of 1, 2, 4 or 8 bytes; the CPU side (in/out helpers, the
 * soft MMU's slow path, the monitor's xp) dispatches through here.
 *
 * Devices are small state machines: they never call into the translator.
 * An access no region claims is logged under -d unimp and reads as all
 * ones, as on a PC's bus with nothing to answer.
 *
 * One machine, one thread: the vCPU thread runs device code (between or
 * inside TBs) and the timers; nothing here locks.
 */
#ifndef LOOM_SYSTEM_BUS_H
#define LOOM_SYSTEM_BUS_H

#include <stdbool.h>
#include <stdint.h>

enum bus_space { BUS_IO, BUS_MMIO };

struct bus_ops {
	/* offset is from the region's base; size is 1, 2, 4 or 8.  A read
	 * returns the value in the low size bytes. */
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
};

struct bus_region {
	const char *name;
	uint64_t base, size;
	const struct bus_ops *ops;
	void *opaque;
};

/* Claim [base, base+size) of space for a device.  Regions must not overlap
 * (an overlap is an internal error: the machine is wired wrong). */
void bus_map(enum bus_space space, uint64_t base, uint64_t size,
	     const struct bus_ops *ops, void *opaque, const char *name);
/* Give back the region that starts at base (a local APIC relocated or
 * disabled through IA32_APIC_BASE); false if no region starts there. */
bool bus_unmap(enum bus_space space, uint64_t base);
/* Is [base, base+size) claimed by no region?  (Callers that move a region
 * at the guest's request check this first: bus_map treats an overlap as
 * the machine being wired wrong.) */
bool bus_range_free(enum bus_space space, uint64_t base, uint64_t size);
/* The region holding addr, or NULL. */
const struct bus_region *bus_find(enum bus_space space, uint64_t addr);
/* Dispatch one access (an access may not span two regions: the part past
 * the first region's end is dropped and logged).  Unclaimed: reads all
 * ones, writes are ignored; both logged under -d unimp. */
uint64_t bus_read(enum bus_space space, uint64_t addr, unsigned size);
void bus_write(enum bus_space space, uint64_t addr, unsigned size, uint64_t value);
/* Forget every region (tests; machine teardown). */
void bus_reset_map(void);

#endif
