/*
 * The PC's side of the soft MMU (mmu.h): the vCPU's struct tlb_ops (the
 * walk is the CPU's, RAM comes from physmem, MMIO goes to the bus, writes
 * to code pages to exec_code_written), the physical accessors the page
 * walker reads page tables through, the CPU's own virtual accesses
 * (x86_sys_env.mem_read/mem_write: delivery, iret, descriptor tables), its
 * TLB flushes, and guest_mem for tools.
 *
 * Invariant: whatever forgets a translation forgets the jump caches'
 * entries made under it too (they are keyed by virtual pc and skip the
 * TLB), so a TB is only ever entered through the mapping it was found by.
 */
#include <errno.h>
#include <string.h>
#include "exec/exec.h"
#include "exec/tlb.h"
#include "system/bus.h"
#include "system/mmu.h"
#include "system/physmem.h"

/* ---- physical memory for the walker ---- */

static bool mmu_read8(void *opaque, uint64_t pa, uint64_t *val)
{
	(void)opaque;
	uint64_t *p = physmem_ptr(pa, 8);
	if (!p)
		return false;
	*val = __atomic_load_n(p, __ATOMIC_ACQUIRE);
	return true;
}

/* The walker's accessed/dirty updates: atomic on RAM, so another vCPU's
 * (or the guest's own) concurrent write of the entry is never undone. */
static bool mmu_cmpxchg8(void *opaque, uint64_t pa, uint64_t old, uint64_t new)
{
	(void)opaque;
	uint64_t *p = physmem_ptr(pa, 8);
	if (!p)
		return true;	/* not RAM: dropped */
	if (physmap_has_code(pa))
		exec_code_written(NULL, pa, 8, 0);
	return __atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

static const struct x86_walk_mem mmu_phys = { NULL, mmu_read8, mmu_cmpxchg8 };

/* ---- the TLB's callbacks ---- */

static void *mmu_ram_page(uint64_t pa_page)
{
	return physmem_ptr(pa_page, TLB_PAGE_SIZE);
}

static uint64_t mmu_mmio_read(void *cpu, uint64_t pa, unsigned size)
{
	(void)cpu;
	return bus_read(BUS_MMIO, pa, size);
}

static void mmu_mmio_write(void *cpu, uint64_t pa, unsigned size, uint64_t val)
{
	(void)cpu;
	bus_write(BUS_MMIO, pa, size, val);
}

static const struct tlb_ops mmu_tlb_ops = {
	.translate = x86_sys_tlb_translate,
	.raise = x86_sys_tlb_raise,
	.ram_page = mmu_ram_page,
	.mmio_read = mmu_mmio_read,
	.mmio_write = mmu_mmio_write,
	.code_write = exec_code_written,
};

/* ---- the CPU's own accesses ---- */

/* Bytes of [va, va + len) on va's page. */
static size_t mmu_chunk(uint64_t va, size_t len)
{
	size_t in_page = TLB_PAGE_SIZE - (va & ~TLB_PAGE_MASK);
	return len < in_page ? len : in_page;
}

static int mmu_mem_read(struct cpu *cpu, uint64_t va, void *buf, size_t len, int cpl,
			struct x86_event *fault)
{
	uint8_t *d = buf;
	while (len) {
		size_t n = mmu_chunk(va, len);
		uint64_t pa;
		if (x86_sys_translate(cpu, va, X86_ACC_READ, cpl, false, &pa, fault) < 0)
			return -1;
		physmem_read(pa, d, n);	/* neither RAM nor a device: all ones */
		d += n;
		va += n;
		len -= n;
	}
	return 0;
}

/* Every page is checked (and marked dirty) before any byte is written:
 * a fault leaves memory as it was, as delivery's rule needs.  The second
 * walk of each page finds what the first left. */
static int mmu_mem_write(struct cpu *cpu, uint64_t va, const void *buf, size_t len, int cpl,
			 struct x86_event *fault)
{
	const uint8_t *s = buf;
	uint64_t pa;
	for (uint64_t v = va, left = len; left;) {
		size_t n = mmu_chunk(v, left);
		if (x86_sys_translate(cpu, v, X86_ACC_WRITE, cpl, false, &pa, fault) < 0)
			return -1;
		v += n;
		left -= n;
	}
	while (len) {
		size_t n = mmu_chunk(va, len);
		if (x86_sys_translate(cpu, va, X86_ACC_WRITE, cpl, false, &pa, fault) < 0)
			return -1;
		physmem_write(pa, s, n);
		s += n;
		va += n;
		len -= n;
	}
	return 0;
}

/* The TLB forgets, and with it the jump caches. */
static void mmu_tlb_flush(struct cpu *cpu, enum sys_tlb_flush kind, uint64_t addr)
{
	struct tlb *t = tlb_of_env(cpu);
	bool large = false;
	switch (kind) {
	case SYS_TLB_FLUSH_ALL:
		tlb_flush_all(t);
		exec_jc_flush(cpu);
		break;
	case SYS_TLB_FLUSH_NONGLOBAL:
		tlb_flush_nonglobal(t);
		exec_jc_flush_nonglobal(cpu);
		break;
	case SYS_TLB_FLUSH_PAGE:
		/* inside a large page the TLB drops its whole region */
		for (int mmu = 0; mmu < TLB_NB_MMU; mmu++)
			large |= (addr & t->large_mask[mmu]) == t->large_addr[mmu];
		tlb_flush_page(t, addr);
		if (large) {
			exec_jc_flush(cpu);
		} else {
			/* and the block whose one instruction runs into it */
			exec_jc_flush_range(cpu, addr & TLB_PAGE_MASK, TLB_PAGE_SIZE);
			exec_jc_flush_range(cpu, (addr & TLB_PAGE_MASK) - TLB_PAGE_SIZE, TLB_PAGE_SIZE);
		}
		break;
	}
}

/* ---- setup ---- */

int sysmmu_init(void)
{
	uint64_t limit = physmem.high ? PHYSMEM_HIGH_BASE + physmem.high : physmem.low;
	int err = physmap_init(limit);
	if (err)
		return err;
	tlb_set_env_offset(exec_vcpu_region(sizeof(struct tlb), 64, 0, false));
	tlb_install_lowering(X86_CF_MMU_SHIFT, X86_CF_MMU_MASK);
	guest_mem = sysmmu_guest_mem;
	return 0;
}

void sysmmu_cpu_init(struct cpu *cpu)
{
	tlb_init(tlb_of_env(cpu), cpu, &mmu_tlb_ops);
}

void sysmmu_cpu_fini(struct cpu *cpu)
{
	tlb_fini(tlb_of_env(cpu));
}

void sysmmu_env(struct x86_sys_env *env)
{
	env->mem_read = mmu_mem_read;
	env->mem_write = mmu_mem_write;
	env->tlb_flush = mmu_tlb_flush;
	env->phys = &mmu_phys;
}

/* ---- guest_mem ---- */

static struct cpu *mmu_cpu(void *cpu)
{
	if (!cpu)
		cpu = exec_current_cpu;
	if (!cpu)
		cpu = exec_vcpu_env(0);
	return cpu;
}

static int gm_read(void *cpuv, void *dst, uint64_t va, size_t n)
{
	struct cpu *cpu = mmu_cpu(cpuv);
	struct x86_event f;
	uint8_t *d = dst;
	if (!cpu || !cpu->sys)
		return -EFAULT;
	while (n) {
		size_t c = mmu_chunk(va, n);
		uint64_t pa;
		if (x86_sys_translate(cpu, va, X86_ACC_READ, 0, true, &pa, &f) < 0)
			return -EFAULT;
		physmem_read(pa, d, c);
		d += c;
		va += c;
		n -= c;
	}
	return 0;
}

/* As a debugger writes: whatever the page's write permission. */
static int gm_write(void *cpuv, uint64_t va, const void *src, size_t n)
{
	struct cpu *cpu = mmu_cpu(cpuv);
	struct x86_event f;
	const uint8_t *s = src;
	if (!cpu || !cpu->sys)
		return -EFAULT;
	while (n) {
		size_t c = mmu_chunk(va, n);
		uint64_t pa;
		if (x86_sys_translate(cpu, va, X86_ACC_READ, 0, true, &pa, &f) < 0)
			return -EFAULT;
		physmem_write(pa, s, c);
		s += c;
		va += c;
		n -= c;
	}
	return 0;
}

static size_t gm_fetch(void *cpuv, void *dst, uint64_t va, size_t n)
{
	struct cpu *cpu = mmu_cpu(cpuv);
	struct x86_event f;
	uint8_t *d = dst;
	size_t done = 0;
	if (!cpu || !cpu->sys)
		return 0;
	while (n) {
		size_t c = mmu_chunk(va, n);
		uint64_t pa;
		if (x86_sys_translate(cpu, va, X86_ACC_FETCH, cpu->sys->cpl, true, &pa, &f) < 0)
			break;
		physmem_read(pa, d, c);
		d += c;
		va += c;
		n -= c;
		done += c;
	}
	return done;
}

const struct guest_mem_ops sysmmu_guest_mem = { gm_read, gm_write, gm_fetch };
