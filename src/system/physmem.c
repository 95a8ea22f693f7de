/*
 * Guest-physical RAM (physmem.h): one anonymous mapping, reserved without
 * swap accounting, so -m 4G costs only the pages the guest touches.
 */
#include "system/physmem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "exec/exec.h"
#include "exec/tlb.h"
#include "system/bus.h"

struct physmem physmem;

int physmem_init(uint64_t size)
{
	void *p;

	if (size < (1u << 20) || (size & 0xfff))
		return -EINVAL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	physmem.host = p;
	physmem.size = size;
	physmem.low = size < PHYSMEM_LOW_MAX ? size : PHYSMEM_LOW_MAX;
	physmem.high = size - physmem.low;
	return 0;
}

void physmem_fini(void)
{
	if (physmem.host)
		munmap(physmem.host, physmem.size);
	memset(&physmem, 0, sizeof(physmem));
}

/* Offset of pa in the host mapping, or -1 if pa is not RAM. */
static int64_t ram_offset(uint64_t pa)
{
	if (pa < physmem.low)
		return (int64_t)pa;
	if (pa >= PHYSMEM_HIGH_BASE && pa - PHYSMEM_HIGH_BASE < physmem.high)
		return (int64_t)(physmem.low + (pa - PHYSMEM_HIGH_BASE));
	return -1;
}

bool physmem_is_ram(uint64_t pa)
{
	return ram_offset(pa) >= 0;
}

void *physmem_ptr(uint64_t pa, uint64_t len)
{
	int64_t off = ram_offset(pa);

	if (off < 0 || len == 0)
		return off < 0 ? NULL : physmem.host + off;
	/* RAM is contiguous in the host within each of the two parts. */
	if (ram_offset(pa + len - 1) != off + (int64_t)(len - 1))
		return NULL;
	return physmem.host + off;
}

/* The bytes from pa up to the next RAM/non-RAM boundary or page, at most n. */
static size_t piece(uint64_t pa, size_t n)
{
	size_t in_page = 4096 - (pa & 4095);
	return n < in_page ? n : in_page;
}

static unsigned mmio_size(uint64_t pa, size_t n)
{
	unsigned size = 8;
	while (size > 1 && ((pa & (size - 1)) || size > n))
		size /= 2;
	return size;
}

bool physmem_read(uint64_t pa, void *dst, size_t len)
{
	uint8_t *d = dst;
	bool ok = true;

	while (len) {
		size_t n = piece(pa, len);
		void *p = physmem_ptr(pa, n);
		if (p) {
			memcpy(d, p, n);
		} else {
			unsigned sz = mmio_size(pa, n);
			uint64_t v;
			n = sz;
			if (bus_find(BUS_MMIO, pa))
				v = bus_read(BUS_MMIO, pa, sz);
			else {
				v = ~0ull;
				ok = false;
			}
			memcpy(d, &v, sz);
		}
		d += n;
		pa += n;
		len -= n;
	}
	return ok;
}

bool physmem_write(uint64_t pa, const void *src, size_t len)
{
	const uint8_t *s = src;

	while (len) {
		size_t n = piece(pa, len);
		void *p = physmem_ptr(pa, n);
		if (p) {
			/* Translated code on the page goes first (a device's
			 * DMA, the loader, the monitor, the CPU's own accesses
			 * through the soft MMU's slow paths). */
			if (physmap_has_code(pa))
				exec_code_written(NULL, pa, n, 0);
			memcpy(p, s, n);
		} else {
			unsigned sz = mmio_size(pa, n);
			uint64_t v = 0;
			if (!bus_find(BUS_MMIO, pa))
				return false;
			n = sz;
			memcpy(&v, s, sz);
			bus_write(BUS_MMIO, pa, sz, v);
		}
		s += n;
		pa += n;
		len -= n;
	}
	return true;
}
