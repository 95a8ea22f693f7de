/*
 * The environment the instrument layer asks for (instrument/instrument.h:
 * struct instrument_env), as whole-system mode has it.  There is no main
 * program: the "image" is the kernel file with no code range or entry
 * (those are a process's, which the machine does not know), so what needs
 * them finds them absent rather than made up.  A machine cannot fork; it
 * has one vCPU; exiting ends loom-system with the status asked for.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "exec/exec.h"
#include "exec/tlb.h"
#include "guest/x86/cpu.h"
#include "guest/x86/sys.h"
#include "instrument/instrument.h"
#include "system/bus.h"
#include "system/cmdline.h"
#include "system/current-task.h"
#include "system/instrument-env.h"
#include "system/physmem.h"
#include "util/log.h"

static void sys_image(struct instrument_image *out)
{
	*out = (struct instrument_image){ .path = system_opts.kernel };
}

static int64_t sys_fork(void *cpu)
{
	return -ENOSYS;
}

static void sys_exit_group(int status)
{
	log_flush();
	exit(status);
}

static int sys_thread_count(void)
{
	return 1;
}

/* Code in RAM is where physmem mapped it; code elsewhere (ROM, MMIO)
 * has no host address of its own. */
static void *sys_code_host(uint64_t phys)
{
	return physmem_ptr(phys, 1);
}

static bool sys_hwaddr(void *cpu, uint64_t va, bool store, struct instrument_hwaddr *out)
{
	struct tlb *t = tlb_of_env(cpu);
	int mmu = t->cur_mmu;
	struct tlb_entry *e = tlb_entry(t, mmu, va);
	uint64_t tag = store ? e->addr_write : e->addr_read;
	uint64_t pa;
	if (tag != TLB_TAG_NONE && (tag & TLB_PAGE_MASK) == (va & TLB_PAGE_MASK)) {
		pa = t->m[mmu][e - t->e[mmu]].pa_page | (va & ~TLB_PAGE_MASK);
	} else {
		struct cpu *c = cpu;
		struct x86_event f;
		if (x86_sys_translate(c, va, store ? X86_ACC_WRITE : X86_ACC_READ, 0, true, &pa,
				      &f) < 0)
			return false;
	}
	bool ram = physmem_is_ram(pa);
	const struct bus_region *r = ram ? NULL : bus_find(BUS_MMIO, pa);
	*out = (struct instrument_hwaddr){ .pa = pa, .is_io = !ram, .device = r ? r->name : NULL };
	return true;
}

static bool sys_translate_vaddr(void *cpu, uint64_t va, uint64_t *pa)
{
	struct x86_event f;
	return x86_sys_translate(cpu, va, X86_ACC_READ, 0, true, pa, &f) == 0;
}

/* RAM only: a plugin's read or write must not reach a device (its
 * registers have side effects, and a device belongs to the vCPU thread).
 * A write to a page holding translated code drops that code first. */
static int sys_phys_rw(uint64_t pa, void *buf, size_t len, bool write)
{
	if (pa + len < pa)
		return -EFAULT;
	for (uint64_t a = pa & TLB_PAGE_MASK; a < pa + len; a += TLB_PAGE_SIZE)
		if (!physmem_is_ram(a))
			return bus_find(BUS_MMIO, a) ? -EACCES : -EFAULT;
	uint8_t *host = physmem_ptr(pa, len);
	if (!host)
		return -EFAULT;	/* RAM, but in two pieces around the hole */
	if (!write) {
		memcpy(buf, host, len);
		return 0;
	}
	for (uint64_t a = pa & TLB_PAGE_MASK; a < pa + len; a += TLB_PAGE_SIZE)
		if (physmap_has_code(a))
			exec_code_written(NULL, a, TLB_PAGE_SIZE, 0);
	memcpy(host, buf, len);
	return 0;
}

static bool sys_current_task(void *cpu, struct loom_task *out)
{
	return current_task_get(cpu, out);
}

const struct instrument_env system_instrument_env = {
	.system = true,
	.system_vcpus = 1,
	.image = sys_image,
	.fork = sys_fork,
	.exit_group = sys_exit_group,
	.thread_count = sys_thread_count,
	.code_host = sys_code_host,
	.hwaddr = sys_hwaddr,
	.translate_vaddr = sys_translate_vaddr,
	.phys_rw = sys_phys_rw,
	.current_task = sys_current_task,
};
