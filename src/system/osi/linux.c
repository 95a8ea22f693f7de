/*
 * Filling struct osi_linux_layout from BTF and kallsyms (see linux.h).
 *
 * Each row of OSI_LINUX_FIELDS is looked up by path; a required row that is
 * missing is an error naming it.  Then the alternatives a kernel version
 * chooses between are settled: VMAs in a list (mm->mmap, vma->vm_next) or a
 * maple tree (mm->mm_mt); module text in core_layout or in mem[MOD_TEXT];
 * the current task in current_task or pcpu_hot.
 */
#include "system/osi/linux.h"
#include "system/osi/util.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

struct row {
	size_t at;		/* offsetof the struct osi_field in the layout */
	const char *sname, *path;
	bool required;
};

static const struct row rows[] = {
#define OSI_LINUX_FIELD_ROW(f, s, p, req) { offsetof(struct osi_linux_layout, f), s, p, req },
	OSI_LINUX_FIELDS(OSI_LINUX_FIELD_ROW)
#undef OSI_LINUX_FIELD_ROW
};

static int symbol(const struct osi_kallsyms *ks, const char *name, uint64_t *addr, char *err,
		  size_t errsz)
{
	const struct osi_ksym *s = osi_kallsyms_lookup(ks, name);
	if (!s)
		return fail_msg(err, errsz, "no symbol %s in kallsyms", name);
	*addr = s->addr;
	return 0;
}

int osi_linux_layout_fill(struct osi_linux_layout *l, const struct osi_btf *btf,
			  const struct osi_kallsyms *ks, char *err, size_t errsz)
{
	memset(l, 0, sizeof *l);
	char why[200];
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct osi_field *f = (struct osi_field *)((char *)l + rows[i].at);
		struct osi_btf_member m;
		if (osi_btf_offsetof(btf, rows[i].sname, rows[i].path, &m, why, sizeof why) < 0) {
			if (rows[i].required)
				return fail_msg(err, errsz, "guest kernel layout: %s", why);
			continue;
		}
		if (m.bitfield)
			return fail_msg(err, errsz, "guest kernel layout: %s.%s is a bitfield",
				    rows[i].sname, rows[i].path);
		f->offset = (uint32_t)m.offset;
		f->size = (uint32_t)m.size;
		f->present = true;
	}
	int64_t ts = osi_btf_size(btf, osi_btf_find_struct(btf, "task_struct"));
	l->task_struct_size = ts > 0 ? (uint32_t)ts : 0;

	if (l->mm_mt.present) {
		l->vmas_in_maple_tree = true;
		if (!l->maple_root.present || !l->mr64_pivot.present || !l->mr64_slot.present ||
		    !l->mr64_end.present || !l->ma64_pivot.present || !l->ma64_slot.present ||
		    !l->ma64_end.present)
			return fail_msg(err, errsz, "guest kernel layout: mm_struct has 'mm_mt' but the "
				    "maple tree's nodes (maple_range_64, maple_arange_64) are not in "
				    "the BTF");
	}
	else if (!l->mm_mmap.present || !l->vma_next.present)
		return fail_msg(err, errsz, "guest kernel layout: mm_struct has neither 'mm_mt' nor "
			    "'mmap' with vm_area_struct.vm_next");
	if (!l->task_thread_group.present &&
	    !(l->task_thread_node.present && l->signal_thread_head.present))
		return fail_msg(err, errsz, "guest kernel layout: task_struct has neither "
			    "'thread_group' nor 'thread_node' with signal_struct.thread_head");
	if (!(l->module_core_base.present && l->module_core_size.present)) {
		/* 6.4+: struct module_memory mem[MOD_MEM_NUM_TYPES], text first */
		if (!l->module_mem.present || !l->module_memory_base.present ||
		    !l->module_memory_size.present)
			return fail_msg(err, errsz, "guest kernel layout: module has neither "
				    "'core_layout' nor 'mem' of struct module_memory");
		l->module_core_base = (struct osi_field){
			l->module_mem.offset + l->module_memory_base.offset,
			l->module_memory_base.size, true };
		l->module_core_size = (struct osi_field){
			l->module_mem.offset + l->module_memory_size.offset,
			l->module_memory_size.size, true };
	}

	if (symbol(ks, "init_task", &l->init_task, err, errsz) < 0 ||
	    symbol(ks, "init_mm", &l->init_mm, err, errsz) < 0 ||
	    symbol(ks, "modules", &l->modules, err, errsz) < 0 ||
	    symbol(ks, "__per_cpu_offset", &l->per_cpu_offset, err, errsz) < 0 ||
	    symbol(ks, "entry_SYSCALL_64", &l->entry_syscall_64, err, errsz) < 0 ||
	    symbol(ks, "_text", &l->text, err, errsz) < 0)
		return -1;
	const struct osi_ksym *hot = osi_kallsyms_lookup(ks, "pcpu_hot");
	const struct osi_ksym *cur = osi_kallsyms_lookup(ks, "current_task");
	if (hot && l->pcpu_hot_current.present)
		l->current_task = hot->addr + l->pcpu_hot_current.offset;
	else if (cur)
		l->current_task = cur->addr;
	else
		return fail_msg(err, errsz, "no symbol current_task or pcpu_hot in kallsyms");
	if ((hot && !hot->percpu) || (!hot && !cur->percpu))
		return fail_msg(err, errsz, "%s is not a per-cpu symbol", hot ? "pcpu_hot" : "current_task");
	return 0;
}

uint64_t osi_linux_kaslr_slide(const struct osi_linux_layout *l, uint64_t lstar)
{
	return lstar - l->entry_syscall_64;
}
