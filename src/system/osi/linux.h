/*
 * The layout of a Linux guest's kernel structures that introspection walks,
 * taken from the guest kernel's own BTF and kallsyms rather than typed in
 * for one build: the task list, each task's mm and name, each mm's VMAs and
 * executable, file names through dentries, and the module list.
 *
 * One row per field in OSI_LINUX_FIELDS: the struct, the member path, and
 * whether the walk cannot do without it.  Kernels move and rename members
 * between versions; where a newer kernel replaced one (mm_struct.mmap by
 * the maple tree mm_mt in 6.1, module.core_layout by mem[] in 6.4,
 * pcpu_hot.current_task for current_task in 6.2), both are optional rows
 * and osi_linux_layout_fill() requires one of them.
 *
 * Symbol addresses here are link-time; add the KASLR slide (see
 * osi_linux_kaslr_slide) for a running guest, except current_task, which is
 * an offset into each CPU's per-cpu area (the area's base is the CPU's
 * kernel GS base).
 */
#ifndef LOOM_SYSTEM_OSI_LINUX_H
#define LOOM_SYSTEM_OSI_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "system/osi/btf.h"
#include "system/osi/kallsyms.h"

/* A member's place: offset and size in bytes; present false for an
 * optional member this kernel does not have. */
struct osi_field {
	uint32_t offset, size;
	bool present;
};

/* X(field, struct, member path, required) */
#define OSI_LINUX_FIELDS(X) \
	X(list_next,		"list_head",	  "next",		true) \
	X(list_prev,		"list_head",	  "prev",		true) \
	X(task_tasks,		"task_struct",	  "tasks",		true) \
	X(task_pid,		"task_struct",	  "pid",		true) \
	X(task_tgid,		"task_struct",	  "tgid",		true) \
	X(task_comm,		"task_struct",	  "comm",		true) \
	X(task_flags,		"task_struct",	  "flags",		true) \
	X(task_mm,		"task_struct",	  "mm",			true) \
	X(task_active_mm,	"task_struct",	  "active_mm",		true) \
	X(task_real_parent,	"task_struct",	  "real_parent",	true) \
	X(task_group_leader,	"task_struct",	  "group_leader",	true) \
	X(task_signal,		"task_struct",	  "signal",		true) \
	X(task_thread_group,	"task_struct",	  "thread_group",	false) \
	X(task_thread_node,	"task_struct",	  "thread_node",	false) \
	X(signal_thread_head,	"signal_struct",  "thread_head",	false) \
	X(mm_pgd,		"mm_struct",	  "pgd",		true) \
	X(mm_mt,		"mm_struct",	  "mm_mt",		false) \
	X(mm_mmap,		"mm_struct",	  "mmap",		false) \
	X(mm_exe_file,		"mm_struct",	  "exe_file",		true) \
	X(mm_start_code,	"mm_struct",	  "start_code",		true) \
	X(mm_end_code,		"mm_struct",	  "end_code",		true) \
	X(mm_context_vdso,	"mm_struct",	  "context.vdso",	false) \
	X(maple_root,		"maple_tree",	  "ma_root",		false) \
	X(mr64_pivot,		"maple_range_64", "pivot",		false) \
	X(mr64_slot,		"maple_range_64", "slot",		false) \
	X(mr64_end,		"maple_range_64", "meta.end",		false) \
	X(ma64_pivot,		"maple_arange_64", "pivot",		false) \
	X(ma64_slot,		"maple_arange_64", "slot",		false) \
	X(ma64_end,		"maple_arange_64", "meta.end",		false) \
	X(vma_start,		"vm_area_struct", "vm_start",		true) \
	X(vma_end,		"vm_area_struct", "vm_end",		true) \
	X(vma_flags,		"vm_area_struct", "vm_flags",		true) \
	X(vma_pgoff,		"vm_area_struct", "vm_pgoff",		true) \
	X(vma_file,		"vm_area_struct", "vm_file",		true) \
	X(vma_next,		"vm_area_struct", "vm_next",		false) \
	X(file_path,		"file",		  "f_path",		true) \
	X(path_dentry,		"path",		  "dentry",		true) \
	X(path_mnt,		"path",		  "mnt",		true) \
	X(dentry_name,		"dentry",	  "d_name",		true) \
	X(dentry_parent,	"dentry",	  "d_parent",		true) \
	X(qstr_name,		"qstr",		  "name",		true) \
	X(qstr_len,		"qstr",		  "len",		true) \
	X(mount_mnt,		"mount",	  "mnt",		false) \
	X(mount_parent,		"mount",	  "mnt_parent",		false) \
	X(mount_mountpoint,	"mount",	  "mnt_mountpoint",	false) \
	X(vfsmount_root,	"vfsmount",	  "mnt_root",		false) \
	X(module_list,		"module",	  "list",		true) \
	X(module_name,		"module",	  "name",		true) \
	X(module_core_base,	"module",	  "core_layout.base",	false) \
	X(module_core_size,	"module",	  "core_layout.size",	false) \
	X(module_mem,		"module",	  "mem",		false) \
	X(module_memory_base,	"module_memory",  "base",		false) \
	X(module_memory_size,	"module_memory",  "size",		false) \
	X(pcpu_hot_current,	"pcpu_hot",	  "current_task",	false)

struct osi_linux_layout {
#define OSI_LINUX_FIELD_DECL(f, s, p, req) struct osi_field f;
	OSI_LINUX_FIELDS(OSI_LINUX_FIELD_DECL)
#undef OSI_LINUX_FIELD_DECL
	uint32_t task_struct_size, module_memory_size_of;
	bool vmas_in_maple_tree;	/* mm_mt (6.1+): the VMA walk reads a maple tree */
	/* link-time addresses */
	uint64_t init_task, init_mm, modules, per_cpu_offset, entry_syscall_64, text;
	/* per-cpu offset of the running task's pointer (current_task, or
	 * pcpu_hot + current_task in 6.2+) */
	uint64_t current_task;
};

/*
 * Fill l from the kernel's BTF and kallsyms.  0, or -1 with err naming the
 * first thing missing ("task_struct has no member 'tgid'", "no symbol
 * init_task in kallsyms").
 */
int osi_linux_layout_fill(struct osi_linux_layout *l, const struct osi_btf *btf,
			  const struct osi_kallsyms *ks, char *err, size_t errsz);
/* The KASLR slide of a running guest, from its LSTAR (entry_SYSCALL_64's
 * run-time address). */
uint64_t osi_linux_kaslr_slide(const struct osi_linux_layout *l, uint64_t lstar);

#endif
