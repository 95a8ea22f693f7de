/*
 * Guest-physical memory of the machine: RAM in one host mapping, and the
 * MMIO regions of bus.h wherever RAM is not.  As on QEMU's pc machine, RAM
 * fills guest-physical addresses from 0 up to PHYSMEM_LOW_MAX; what does
 * not fit below the PCI/MMIO hole continues at 4 GiB.  The legacy hole
 * (0xa0000-0xfffff) is RAM here (the e820 map tells the guest to keep
 * off it); the ACPI tables live in it.
 *
 * The boot loader, the ACPI builder, the monitor's xp/pmemsave and the soft
 * MMU's slow path use these; translated code reaches RAM through the TLB,
 * which caches physmem_ptr() per page.
 */
#ifndef LOOM_SYSTEM_PHYSMEM_H
#define LOOM_SYSTEM_PHYSMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PHYSMEM_LOW_MAX 0xe0000000ull	/* RAM below 4 GiB ends here at most */
#define PHYSMEM_HIGH_BASE 0x100000000ull

struct physmem {
	uint8_t *host;		/* the whole of RAM, one mapping */
	uint64_t size;		/* bytes of RAM (-m) */
	uint64_t low;		/* RAM at [0, low) */
	uint64_t high;		/* RAM at [4 GiB, 4 GiB + high) */
};
extern struct physmem physmem;

/* Map size bytes of RAM (a multiple of 4 KiB, at least 1 MiB).  0, or
 * -errno after which nothing is mapped. */
int physmem_init(uint64_t size);
void physmem_fini(void);
/* A host pointer to [pa, pa+len) if all of it is RAM, else NULL. */
void *physmem_ptr(uint64_t pa, uint64_t len);
/* Is pa RAM? */
bool physmem_is_ram(uint64_t pa);
/* Copy between RAM/MMIO and a buffer, as a device or the monitor sees
 * physical memory: RAM directly, MMIO through bus_read/bus_write in
 * naturally aligned pieces of up to 8 bytes.  Returns false if some part
 * is neither (nothing is written past that part; reads of it give all
 * ones). */
bool physmem_read(uint64_t pa, void *dst, size_t len);
bool physmem_write(uint64_t pa, const void *src, size_t len);

#endif
