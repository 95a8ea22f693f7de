/*
 * Port I/O and MMIO dispatch (bus.h).  A PC has a few dozen regions, so a
 * sorted array searched by bisection is enough; the hot MMIO users (the
 * local APIC, HPET) are reached through the soft MMU's slow path, which is
 * already a helper call.
 */
#include "system/bus.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define BUS_MAX_REGIONS 64

struct bus_map {
	struct bus_region r[BUS_MAX_REGIONS];
	int n;
};

static struct bus_map maps[2];

static const char *space_name(enum bus_space space)
{
	return space == BUS_IO ? "io" : "mmio";
}

void bus_map(enum bus_space space, uint64_t base, uint64_t size,
	     const struct bus_ops *ops, void *opaque, const char *name)
{
	struct bus_map *m = &maps[space];
	int i;

	if (size == 0 || base + size < base)
		internal_error("bus: %s region %s has bad bounds", space_name(space), name);
	if (m->n == BUS_MAX_REGIONS)
		internal_error("bus: too many %s regions", space_name(space));
	for (i = 0; i < m->n; i++) {
		const struct bus_region *o = &m->r[i];
		if (base < o->base + o->size && o->base < base + size)
			internal_error("bus: %s region %s [%#lx,+%#lx) overlaps %s",
				       space_name(space), name, (unsigned long)base,
				       (unsigned long)size, o->name);
	}
	for (i = m->n; i > 0 && m->r[i - 1].base > base; i--)
		m->r[i] = m->r[i - 1];
	m->r[i] = (struct bus_region){ name, base, size, ops, opaque };
	m->n++;
}

bool bus_unmap(enum bus_space space, uint64_t base)
{
	struct bus_map *m = &maps[space];
	int i;

	for (i = 0; i < m->n; i++) {
		if (m->r[i].base != base)
			continue;
		memmove(&m->r[i], &m->r[i + 1], (m->n - i - 1) * sizeof(m->r[0]));
		m->n--;
		return true;
	}
	return false;
}

bool bus_range_free(enum bus_space space, uint64_t base, uint64_t size)
{
	const struct bus_map *m = &maps[space];
	int i;

	for (i = 0; i < m->n; i++)
		if (base < m->r[i].base + m->r[i].size && m->r[i].base < base + size)
			return false;
	return true;
}

const struct bus_region *bus_find(enum bus_space space, uint64_t addr)
{
	const struct bus_map *m = &maps[space];
	int lo = 0, hi = m->n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		const struct bus_region *r = &m->r[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* The part of an access inside r; logs what falls outside. */
static unsigned clip(const struct bus_region *r, uint64_t addr, unsigned size)
{
	uint64_t left = r->base + r->size - addr;

	if (size <= left)
		return size;
	if (log_enabled(LOG_UNIMP))
		log_printf("bus: access %#lx+%u crosses the end of %s\n",
			   (unsigned long)addr, size, r->name);
	return (unsigned)left;
}

uint64_t bus_read(enum bus_space space, uint64_t addr, unsigned size)
{
	const struct bus_region *r = bus_find(space, addr);

	if (!r || !r->ops->read) {
		if (log_enabled(LOG_UNIMP))
			log_printf("bus: %s read %#lx size %u: nothing there\n",
				   space_name(space), (unsigned long)addr, size);
		return size_mask(size);
	}
	size = clip(r, addr, size);
	return r->ops->read(r->opaque, addr - r->base, size) & size_mask(size);
}

void bus_write(enum bus_space space, uint64_t addr, unsigned size, uint64_t value)
{
	const struct bus_region *r = bus_find(space, addr);

	if (!r || !r->ops->write) {
		if (log_enabled(LOG_UNIMP))
			log_printf("bus: %s write %#lx size %u value %#lx: nothing there\n",
				   space_name(space), (unsigned long)addr, size,
				   (unsigned long)value);
		return;
	}
	size = clip(r, addr, size);
	r->ops->write(r->opaque, addr - r->base, size, value & size_mask(size));
}

void bus_reset_map(void)
{
	memset(maps, 0, sizeof(maps));
}
