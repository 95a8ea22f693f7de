/*
 * The task a vCPU runs, for plugins (loom_plugin_current_task through
 * instrument-env.c): the guest Linux kernel's own `current` on that CPU,
 * read with the introspection layer (osi/walk.h) over the kernel's virtual
 * memory.  The layouts and symbol addresses come from the -kernel image's
 * BTF and kallsyms, read once, on the first question; the KASLR slide from
 * LSTAR each time (the kernel sets it once, early in boot).
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
#include "system/osi/btf.h"
#include "system/osi/kallsyms.h"
#include "system/osi/vmlinux.h"
#include "system/osi/walk.h"
#include "util/log.h"

#define PTI_USER_PGD (1ull << 12)

static struct {
	bool tried, ok;
	struct osi_linux_layout layout;
} ct;

/* The layout from the kernel image; false (said once on stderr) when the
 * kernel cannot be introspected. */
static bool ct_load(void)
{
	if (ct.tried)
		return ct.ok;
	ct.tried = true;
	char err[300] = "";
	struct osi_vmlinux vm;
	struct osi_kallsyms ks;
	struct osi_btf btf;
	const char *path = system_opts.kernel;
	if (!path || osi_vmlinux_open(&vm, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "loom-system: no current task for plugins: %s\n",
			path ? err : "no -kernel");
		return false;
	}
	const struct osi_section *s = osi_vmlinux_section(&vm, ".BTF");
	const uint8_t *data = s ? osi_section_data(&vm, s) : NULL;
	if (!data) {
		fprintf(stderr, "loom-system: no current task for plugins: %s has no .BTF\n", path);
	} else if (osi_kallsyms_load(&ks, &vm, err, sizeof(err)) < 0) {
		fprintf(stderr, "loom-system: no current task for plugins: %s\n", err);
	} else {
		if (osi_btf_load(&btf, data, s->size, err, sizeof(err)) < 0) {
			fprintf(stderr, "loom-system: no current task for plugins: %s\n", err);
		} else {
			ct.ok = osi_linux_layout_fill(&ct.layout, &btf, &ks, err, sizeof(err)) == 0;
			if (!ct.ok)
				fprintf(stderr, "loom-system: no current task for plugins: %s\n",
					err);
			osi_btf_free(&btf);
		}
		osi_kallsyms_free(&ks);
	}
	osi_vmlinux_close(&vm);
	return ct.ok;
}

static bool ct_nop_cmpxchg8(void *opaque, uint64_t pa, uint64_t old, uint64_t new)
{
	return true;	/* set no accessed or dirty bit */
}

/* Read through the page tables at cr3, as the kernel would (CPL 0). */
static int ct_read_with(struct cpu *cpu, uint64_t cr3, uint64_t va, uint8_t *buf, size_t len)
{
	const struct x86_walk_mem *phys = cpu->sys->env ? cpu->sys->env->phys : NULL;
	if (!phys)
		return -1;
	struct x86_walk_mem quiet = { phys->opaque, phys->read8, ct_nop_cmpxchg8 };
	struct x86_walk_ctl ctl = {
		.cr0 = cpu->sys->cr0, .cr3 = cr3, .cr4 = cpu->sys->cr4, .efer = cpu->sys->efer,
		.cpl = 0, .maxphyaddr = X86_PHYS_BITS,
	};
	while (len) {
		struct x86_walk_result res;
		if (!x86_canonical(va) || x86_walk(&ctl, &quiet, va, X86_ACC_READ, &res))
			return -1;
		size_t n = 4096 - (va & 4095);
		if (n > len)
			n = len;
		/* a byte at a time through read8's 8-byte view keeps to RAM
		 * the walker itself may read */
		for (size_t i = 0; i < n; i++) {
			uint64_t pa = res.pa + i, q;
			if (!phys->read8(phys->opaque, pa & ~7ull, &q))
				return -1;
			buf[i] = (uint8_t)(q >> ((pa & 7) * 8));
		}
		buf += n;
		va += n;
		len -= n;
	}
	return 0;
}

static int ct_kread(void *ctx, uint64_t va, void *buf, size_t len)
{
	struct cpu *cpu = ctx;
	uint64_t cr3 = cpu->sys->cr3;
	if (ct_read_with(cpu, cr3, va, buf, len) == 0)
		return 0;
	if (cr3 & PTI_USER_PGD)
		return ct_read_with(cpu, cr3 & ~PTI_USER_PGD, va, buf, len);
	return -1;
}

bool current_task_get(struct cpu *cpu, struct loom_task *out)
{
	if (!ct_load() || !cpu->sys->lstar)
		return false;	/* not introspectable, or too early in boot */
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
	struct osi_proc p;
	if (osi_linux_current(&os, gs, &task) < 0 || osi_linux_proc(&os, task, &p) < 0)
		return false;
	out->pid = p.pid;
	out->tgid = p.tgid;
	out->kernel_thread = p.kthread;
	memcpy(out->comm, p.comm, LOOM_TASK_COMM_LEN);
	out->comm[LOOM_TASK_COMM_LEN] = 0;
	return true;
}
