/*
 * The task a vCPU runs, for plugins (loom_plugin_current_task through
 * instrument-env.c): the guest Linux kernel's own `current` on that CPU,
 * read with the introspection layer (osi/walk.h) over the kernel's virtual
 * memory.  The layouts and symbol addresses come from the -kernel image's
 * BTF and kallsyms through introspect.h (read once, and cached per image);
 * the KASLR slide from LSTAR each time (the kernel sets it once, early in
 * boot).
 *
 * Which page tables: the kernel's.  A question asked at CPL 3 (a plugin
 * hooking `syscall`) finds CR3 holding the process's user page tables,
 * which under page-table isolation map almost none of the kernel: a read
 * that fails there is tried again with CR3 bit 12 clear, where the
 * kernel's half of the pair lives (the kernel allocates the two PGDs as
 * one 8 KiB block, user half on top).  Reads set no accessed or dirty bit.
 *
 * Which per-CPU area: the kernel's GS base, which is IA32_KERNEL_GS_BASE
 * while user code runs (swapgs exchanges the two on kernel entry and exit)
 * and GS.base in the kernel.  Around swapgs the two are told apart by which
 * one holds a kernel (upper-half) address.
 */
#include <stdio.h>
#include <string.h>

#include "guest/x86/cpu.h"
#include "guest/x86/sys.h"
#include "loom-plugin.h"
#include "system/cmdline.h"
#include "system/current-task.h"
#include "system/introspect.h"
#include "system/osi/walk.h"
#include "system/physmem.h"
#include "util/log.h"

#define PTI_USER_PGD (1ull << 12)

static struct {
	bool tried, ok;
	struct osi_linux_layout layout;
	/* the last answer, and the task and address space it was for */
	bool cached;
	uint64_t cache_task, cache_cr3;
	struct loom_task cache;
} ct;

/* The layout, introspection's (loaded once, from the layout cache or the
 * kernel image); false (said once on stderr) when the kernel cannot be
 * introspected. */
static bool ct_load(void)
{
	if (ct.tried)
		return ct.ok;
	ct.tried = true;
	char err[300];
	const struct osi_linux_layout *l = introspect_layout(err, sizeof err);
	if (!l) {
		fprintf(stderr, "loom-system: no current task for plugins: %s\n", err);
		return false;
	}
	ct.layout = *l;
	ct.ok = true;
	return true;
}

static bool ct_nop_cmpxchg8(void *opaque, uint64_t pa, uint64_t old, uint64_t new)
{
	return true;	/* set no accessed or dirty bit */
}

/* va through the page tables at cr3, as the kernel would reach it (CPL 0):
 * 0, or -1 if it is not mapped. */
static int ct_translate(struct cpu *cpu, uint64_t cr3, uint64_t va, uint64_t *pa)
{
	const struct x86_walk_mem *phys = cpu->sys->env ? cpu->sys->env->phys : NULL;
	if (!phys || !x86_canonical(va))
		return -1;
	struct x86_walk_mem quiet = { phys->opaque, phys->read8, ct_nop_cmpxchg8 };
	struct x86_walk_ctl ctl = {
		.cr0 = cpu->sys->cr0, .cr3 = cr3, .cr4 = cpu->sys->cr4, .efer = cpu->sys->efer,
		.cpl = 0, .maxphyaddr = X86_PHYS_BITS,
	};
	struct x86_walk_result res;
	if (x86_walk(&ctl, &quiet, va, X86_ACC_READ, &res))
		return -1;
	*pa = res.pa;
	return 0;
}

/* Translations of kernel pages already walked.  The pages read here (the
 * per-CPU areas, task_structs and what they point to, all in the kernel's
 * direct map or its per-CPU mappings) keep their mapping while the kernel
 * runs, and the kernel half is the same in every address space, so a
 * translation stays good; the cache only forgets (CT_TLB_SIZE entries, by
 * virtual page) and is emptied at a reset (lstar changes). */
#define CT_TLB_SIZE 64
static struct ct_tlb { uint64_t va_page, pa_page; } ct_tlb[CT_TLB_SIZE];
static uint64_t ct_tlb_lstar;

static int ct_kread_page(struct cpu *cpu, uint64_t va, void *buf, size_t n)
{
	struct ct_tlb *e = &ct_tlb[(va >> 12) % CT_TLB_SIZE];
	uint64_t page = va & ~4095ull;
	if (e->va_page != page || !(va >> 63)) {
		uint64_t cr3 = cpu->sys->cr3, pa;
		if (ct_translate(cpu, cr3, va, &pa) < 0 &&
		    (!(cr3 & PTI_USER_PGD) || ct_translate(cpu, cr3 & ~PTI_USER_PGD, va, &pa) < 0))
			return -1;
		if (!(va >> 63)) {
			const void *h = physmem_ptr(pa, n);
			if (!h)
				return -1;
			memcpy(buf, h, n);
			return 0;
		}
		*e = (struct ct_tlb){ page, pa & ~4095ull };
	}
	const void *h = physmem_ptr(e->pa_page | (va & 4095), n);
	if (!h)
		return -1;
	memcpy(buf, h, n);
	return 0;
}

static int ct_kread(void *ctx, uint64_t va, void *buf, size_t len)
{
	struct cpu *cpu = ctx;
	uint8_t *b = buf;
	while (len) {
		size_t n = 4096 - (va & 4095);
		if (n > len)
			n = len;
		if (ct_kread_page(cpu, va, b, n) < 0)
			return -1;
		b += n;
		va += n;
		len -= n;
	}
	return 0;
}

bool current_task_get(struct cpu *cpu, struct loom_task *out)
{
	if (!ct_load() || !cpu->sys->lstar)
		return false;	/* not introspectable, or too early in boot */
	if (cpu->sys->lstar != ct_tlb_lstar) {
		/* a kernel (re)started: nothing known of its mappings */
		memset(ct_tlb, 0, sizeof(ct_tlb));
		ct.cached = false;
		ct_tlb_lstar = cpu->sys->lstar;
	}
	struct osi_linux os = {
		.layout = &ct.layout,
		.slide = osi_linux_kaslr_slide(&ct.layout, cpu->sys->lstar),
		.mem = { ct_kread, cpu },
	};
	uint64_t gs = cpu->sys->cpl == 3 ? cpu->sys->kernel_gs_base : cpu->gs_base;
	if (!(gs >> 63))
		gs = cpu->sys->cpl == 3 ? cpu->gs_base : cpu->sys->kernel_gs_base;
	if (!(gs >> 63))
		return false;	/* no per-CPU area yet */
	uint64_t task;
	int32_t pid;
	char comm[LOOM_TASK_COMM_LEN];
	const struct osi_linux_layout *l = &ct.layout;
	size_t commlen = l->task_comm.size < sizeof(comm) ? l->task_comm.size : sizeof(comm);
	memset(comm, 0, sizeof(comm));
	if (osi_linux_current(&os, gs, &task) < 0 ||
	    ct_kread(cpu, task + l->task_pid.offset, &pid, sizeof(pid)) < 0 ||
	    ct_kread(cpu, task + l->task_comm.offset, comm, commlen) < 0)
		return false;
	/* The same task, address space, pid and name as last time: the same
	 * answer, for three reads instead of a dozen.  (The name is read each
	 * time: busybox renames its forked children with prctl, no exec.) */
	uint64_t cr3 = cpu->sys->cr3 & ~PTI_USER_PGD;
	if (ct.cached && ct.cache_task == task && ct.cache_cr3 == cr3 && ct.cache.pid == pid &&
	    !strncmp(ct.cache.comm, comm, LOOM_TASK_COMM_LEN)) {
		*out = ct.cache;
		return true;
	}
	struct osi_proc p;
	if (osi_linux_proc(&os, task, &p) < 0)
		return false;
	out->pid = p.pid;
	out->tgid = p.tgid;
	out->kernel_thread = p.kthread;
	memcpy(out->comm, p.comm, LOOM_TASK_COMM_LEN);
	out->comm[LOOM_TASK_COMM_LEN] = 0;
	ct.cached = true;
	ct.cache_task = task;
	ct.cache_cr3 = cr3;
	ct.cache = *out;
	return true;
}
