/*
 * The task a vCPU runs, for plugins (loom_plugin_current_task through
 * instrument-env.c): the guest Linux kernel's own `current` on that CPU,
 * read through introspection (introspect.h): the layout from the -kernel
 * image's BTF and kallsyms (read once, and cached per image), the KASLR
 * slide from LSTAR, the kernel GS base by CPL, and kernel virtual memory
 * read through the kernel's own page tables, whatever CR3 holds.
 *
 * A plugin may ask at every system call, so the last answer is kept: the
 * same task, address space, pid and name as last time give the same
 * answer for three reads instead of a dozen.
 */
#include <stdio.h>
#include <string.h>

#include "guest/x86/cpu.h"
#include "guest/x86/sys.h"
#include "loom-plugin.h"
#include "system/current-task.h"
#include "system/introspect.h"
#include "system/osi/walk.h"

#define PTE_ADDR 0x000ffffffffff000ull

static struct {
	bool tried, ok;
	/* the last answer, the task and address space it was for, and the
	 * kernel (its LSTAR) it was read from */
	bool cached;
	uint64_t cache_task, cache_cr3, cache_lstar;
	struct loom_task cache;
} ct;

bool current_task_get(struct cpu *cpu, struct loom_task *out)
{
	char err[300];
	if (!ct.tried) {
		ct.tried = true;
		ct.ok = introspect_load(err, sizeof err) == 0;
		if (!ct.ok)
			fprintf(stderr, "loom-system: no current task for plugins: %s\n", err);
	}
	struct osi_linux os;
	uint64_t task;
	if (!ct.ok || introspect_os(&os, err, sizeof err) < 0 ||
	    introspect_current_task(&os, cpu, &task) < 0)
		return false;	/* not introspectable, or too early in boot */
	const struct osi_linux_layout *l = os.layout;
	int32_t pid;
	char comm[LOOM_TASK_COMM_LEN];
	size_t commlen = l->task_comm.size < sizeof(comm) ? l->task_comm.size : sizeof(comm);
	memset(comm, 0, sizeof(comm));
	if (os.mem.read(os.mem.ctx, task + l->task_pid.offset, &pid, sizeof(pid)) < 0 ||
	    os.mem.read(os.mem.ctx, task + l->task_comm.offset, comm, commlen) < 0)
		return false;
	/* (The name is read each time: busybox renames its forked children
	 * with prctl, no exec.) */
	uint64_t cr3 = cpu->sys->cr3 & PTE_ADDR & ~(1ull << 12);	/* either half of a PTI pair */
	if (ct.cached && ct.cache_task == task && ct.cache_cr3 == cr3 &&
	    ct.cache_lstar == cpu->sys->lstar && ct.cache.pid == pid &&
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
	ct.cache_lstar = cpu->sys->lstar;
	ct.cache = *out;
	return true;
}
