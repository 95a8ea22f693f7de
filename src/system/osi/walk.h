/*
 * Walking a running Linux guest's kernel structures with the layout of
 * linux.h: the process list, a process's executable path, the module list,
 * the task a CPU is running.  The walk reads guest memory only through the
 * osi_kmem callback — kernel virtual addresses, as the guest kernel itself
 * would dereference them — so it knows nothing of page tables, TLBs or
 * physical memory; loom-system supplies the reader.
 *
 * A guest's memory changes under the walk and may be corrupt: every list
 * walk is bounded, a failed read ends it with an error, and nothing here
 * trusts a length or pointer it read.
 */
#ifndef LOOM_SYSTEM_OSI_WALK_H
#define LOOM_SYSTEM_OSI_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "system/osi/linux.h"

/* Read len bytes of guest kernel virtual memory at va: 0, or -1. */
struct osi_kmem {
	int (*read)(void *ctx, uint64_t va, void *buf, size_t len);
	void *ctx;
};

struct osi_linux {
	const struct osi_linux_layout *layout;
	uint64_t slide;		/* KASLR: run-time minus link-time (osi_linux_kaslr_slide) */
	struct osi_kmem mem;
};

#define OSI_TASK_COMM_LEN 16
#define OSI_MODULE_NAME_LEN 64
#define OSI_WALK_MAX 65536	/* entries of any one list before the walk gives up */

struct osi_proc {
	uint64_t task;		/* the group leader's task_struct */
	int32_t pid, tgid, ppid;	/* ppid: real_parent's tgid */
	char comm[OSI_TASK_COMM_LEN + 1];
	uint64_t mm;		/* 0 for kernel threads */
	uint64_t pgd;		/* mm->pgd (a kernel virtual address), or 0 */
	bool kthread;		/* PF_KTHREAD */
};

struct osi_module {
	uint64_t module;	/* the struct module */
	char name[OSI_MODULE_NAME_LEN + 1];
	uint64_t base, size;	/* its core text */
};

/*
 * Call cb for each process (thread group leader) on init_task's tasks list,
 * init_task first.  cb returns non-zero to stop.  0, or -1 on a failed read
 * or a list longer than OSI_WALK_MAX (err says which).
 */
int osi_linux_procs(const struct osi_linux *os, int (*cb)(void *arg, const struct osi_proc *p),
		    void *arg, char *err, size_t errsz);
/*
 * Call cb for each thread of the process whose leader is task, the leader
 * first: signal->thread_head's list of task_struct.thread_node where the
 * kernel has it (3.14 on, the only one from 6.7), else thread_group.
 */
int osi_linux_threads(const struct osi_linux *os, uint64_t task,
		      int (*cb)(void *arg, const struct osi_proc *p), void *arg, char *err,
		      size_t errsz);
/* One process from its task_struct. */
int osi_linux_proc(const struct osi_linux *os, uint64_t task, struct osi_proc *p);
/* The task a CPU runs, from its kernel GS base (the CPU's per-cpu base). */
int osi_linux_current(const struct osi_linux *os, uint64_t gs_base, uint64_t *task);
/*
 * The absolute path of a (struct path) given as its dentry and vfsmount,
 * across mount points, as d_path() builds it.  0, or -1 (failed read,
 * too deep, or longer than n).
 */
int osi_linux_path(const struct osi_linux *os, uint64_t dentry, uint64_t vfsmount, char *buf,
		   size_t n);
/* The path of mm->exe_file; -1 when the mm has none. */
int osi_linux_exe_path(const struct osi_linux *os, uint64_t mm, char *buf, size_t n);
struct osi_vma {
	uint64_t vma;		/* the vm_area_struct */
	uint64_t start, end;	/* [start, end) */
	uint64_t flags;		/* VM_READ 1, VM_WRITE 2, VM_EXEC 4, VM_SHARED 8, ... */
	uint64_t pgoff;		/* in pages, for a file mapping */
	uint64_t file;		/* struct file, or 0 for an anonymous mapping */
};

/*
 * Call cb for each VMA of mm in address order: from the maple tree mm_mt
 * (6.1 on) or the mmap list.  A tree entry must cover exactly the range
 * its VMA says, else the walk stops with an error (a tree changing under
 * it, or corrupt).  0, or -1 with err set.
 */
int osi_linux_vmas(const struct osi_linux *os, uint64_t mm,
		   int (*cb)(void *arg, const struct osi_vma *v), void *arg, char *err,
		   size_t errsz);
/* Where the vDSO is mapped in mm (mm->context.vdso): 0, or -1 when the
 * kernel has no such field or it cannot be read. */
int osi_linux_mm_vdso(const struct osi_linux *os, uint64_t mm, uint64_t *vdso);
/* The path of a struct file. */
int osi_linux_file_path(const struct osi_linux *os, uint64_t file, char *buf, size_t n);
/* Call cb for each module on the modules list. */
int osi_linux_modules(const struct osi_linux *os,
		      int (*cb)(void *arg, const struct osi_module *m), void *arg, char *err,
		      size_t errsz);

#endif
