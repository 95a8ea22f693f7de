/*
 * The walks of walk.h over a running Linux guest.
 *
 * Lists: the kernel's lists are circular struct list_heads embedded in the
 * structures they link; an entry's structure is the list_head's address
 * minus the member's offset.  A walk ends back at the head, and gives up
 * after OSI_WALK_MAX entries, which only a corrupt or racing list reaches.
 *
 * Paths: as d_path() does, a name is prepended for each dentry up to the
 * root of its mount (the vfsmount's mnt_root, or a dentry that is its own
 * parent), then the walk continues from the mount point in the parent mount
 * until a mount is its own parent.  struct mount embeds the vfsmount that
 * struct path points to, hence the container step.
 */
#include "system/osi/walk.h"
#include "system/osi/util.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

#define PF_KTHREAD 0x00200000u		/* include/linux/sched.h */
#define PATH_MAX_DEPTH 4096		/* dentries and mounts along one path */
#define NAME_MAX 255

static int rd(const struct osi_linux *os, uint64_t va, void *buf, size_t len)
{
	return os->mem.read(os->mem.ctx, va, buf, len);
}

/* An unsigned field of 1, 2, 4 or 8 bytes at base + f.offset. */
static int rd_field(const struct osi_linux *os, uint64_t base, struct osi_field f, uint64_t *v)
{
	uint8_t b[8] = { 0 };
	if (!f.present || f.size == 0 || f.size > 8 || rd(os, base + f.offset, b, f.size) < 0)
		return -1;
	*v = 0;
	for (unsigned i = 0; i < f.size; i++)
		*v |= (uint64_t)b[i] << (8 * i);
	return 0;
}

static int rd_ptr(const struct osi_linux *os, uint64_t va, uint64_t *v)
{
	uint8_t b[8];
	if (rd(os, va, b, 8) < 0)
		return -1;
	*v = 0;
	for (int i = 0; i < 8; i++)
		*v |= (uint64_t)b[i] << (8 * i);
	return 0;
}

int osi_linux_mm_vdso(const struct osi_linux *os, uint64_t mm, uint64_t *vdso)
{
	return rd_field(os, mm, os->layout->mm_context_vdso, vdso);
}

int osi_linux_proc(const struct osi_linux *os, uint64_t task, struct osi_proc *p)
{
	const struct osi_linux_layout *l = os->layout;
	uint64_t pid, tgid, flags, parent, ptgid = 0;
	memset(p, 0, sizeof *p);
	p->task = task;
	if (rd_field(os, task, l->task_pid, &pid) < 0 || rd_field(os, task, l->task_tgid, &tgid) < 0 ||
	    rd_field(os, task, l->task_flags, &flags) < 0 ||
	    rd_field(os, task, l->task_mm, &p->mm) < 0 ||
	    rd_field(os, task, l->task_real_parent, &parent) < 0 ||
	    rd(os, task + l->task_comm.offset, p->comm,
	       l->task_comm.size < OSI_TASK_COMM_LEN ? l->task_comm.size : OSI_TASK_COMM_LEN) < 0)
		return -1;
	p->comm[OSI_TASK_COMM_LEN] = 0;
	p->pid = (int32_t)pid;
	p->tgid = (int32_t)tgid;
	p->kthread = flags & PF_KTHREAD;
	/* init_task is its own real_parent; its ppid is 0 like the rest's. */
	if (parent && parent != task && rd_field(os, parent, l->task_tgid, &ptgid) < 0)
		return -1;
	p->ppid = (int32_t)ptgid;
	if (p->mm && rd_field(os, p->mm, l->mm_pgd, &p->pgd) < 0)
		return -1;
	return 0;
}

int osi_linux_procs(const struct osi_linux *os, int (*cb)(void *arg, const struct osi_proc *p),
		    void *arg, char *err, size_t errsz)
{
	const struct osi_linux_layout *l = os->layout;
	uint64_t init = l->init_task + os->slide;
	uint64_t head = init + l->task_tasks.offset, cur = head;
	for (unsigned n = 0; n < OSI_WALK_MAX; n++) {
		uint64_t task = cur - l->task_tasks.offset;
		struct osi_proc p;
		if (osi_linux_proc(os, task, &p) < 0)
			return fail_msg(err, errsz, "cannot read the task_struct at %#llx",
				    (unsigned long long)task);
		if (cb(arg, &p))
			return 0;
		if (rd_ptr(os, cur + l->list_next.offset, &cur) < 0)
			return fail_msg(err, errsz, "cannot read the tasks list at %#llx",
				    (unsigned long long)cur);
		if (cur == head)
			return 0;
	}
	return fail_msg(err, errsz, "the task list has more than %d entries (corrupt or changing)",
		    OSI_WALK_MAX);
}

/* Call cb for the task each list entry after head belongs to, skip_task
 * excepted, until the list comes back to head. */
static int walk_tasks(const struct osi_linux *os, uint64_t head, uint32_t member,
		      uint64_t skip_task, int (*cb)(void *arg, const struct osi_proc *p), void *arg,
		      char *err, size_t errsz)
{
	const struct osi_linux_layout *l = os->layout;
	uint64_t cur;
	if (rd_ptr(os, head + l->list_next.offset, &cur) < 0)
		return fail_msg(err, errsz, "cannot read the list at %#llx", (unsigned long long)head);
	for (unsigned n = 0; n < OSI_WALK_MAX; n++) {
		if (cur == head)
			return 0;
		uint64_t task = cur - member;
		struct osi_proc p;
		if (task != skip_task) {
			if (osi_linux_proc(os, task, &p) < 0)
				return fail_msg(err, errsz, "cannot read the task_struct at %#llx",
					    (unsigned long long)task);
			if (cb(arg, &p))
				return 1;
		}
		if (rd_ptr(os, cur + l->list_next.offset, &cur) < 0)
			return fail_msg(err, errsz, "cannot read the list at %#llx",
				    (unsigned long long)cur);
	}
	return fail_msg(err, errsz, "a thread list has more than %d entries (corrupt or changing)",
		    OSI_WALK_MAX);
}

int osi_linux_threads(const struct osi_linux *os, uint64_t task,
		      int (*cb)(void *arg, const struct osi_proc *p), void *arg, char *err,
		      size_t errsz)
{
	const struct osi_linux_layout *l = os->layout;
	struct osi_proc p;
	if (osi_linux_proc(os, task, &p) < 0)
		return fail_msg(err, errsz, "cannot read the task_struct at %#llx",
			    (unsigned long long)task);
	if (cb(arg, &p))
		return 0;
	int r;
	if (l->signal_thread_head.present && l->task_thread_node.present) {
		/* the list is headed in the signal_struct; the leader is on it */
		uint64_t sig;
		if (rd_field(os, task, l->task_signal, &sig) < 0)
			return fail_msg(err, errsz, "cannot read the signal of %#llx",
				    (unsigned long long)task);
		r = walk_tasks(os, sig + l->signal_thread_head.offset, l->task_thread_node.offset,
			       task, cb, arg, err, errsz);
	} else {
		/* a ring through every thread, the leader's entry included */
		r = walk_tasks(os, task + l->task_thread_group.offset, l->task_thread_group.offset,
			       task, cb, arg, err, errsz);
	}
	return r < 0 ? -1 : 0;
}

int osi_linux_current(const struct osi_linux *os, uint64_t gs_base, uint64_t *task)
{
	return rd_ptr(os, gs_base + os->layout->current_task, task);
}

/* Prepend "/name" of dentry d at *pos in buf. */
static int prepend_name(const struct osi_linux *os, uint64_t d, char *buf, size_t *pos)
{
	const struct osi_linux_layout *l = os->layout;
	uint64_t name, len;
	uint64_t q = d + l->dentry_name.offset;
	if (rd_field(os, q, l->qstr_name, &name) < 0 || rd_field(os, q, l->qstr_len, &len) < 0 ||
	    len > NAME_MAX || len + 1 > *pos)
		return -1;
	*pos -= len;
	if (len && rd(os, name, buf + *pos, len) < 0)
		return -1;
	buf[--*pos] = '/';
	return 0;
}

int osi_linux_path(const struct osi_linux *os, uint64_t dentry, uint64_t vfsmount, char *buf,
		   size_t n)
{
	const struct osi_linux_layout *l = os->layout;
	bool mounts = l->mount_mnt.present && l->mount_parent.present &&
		      l->mount_mountpoint.present && l->vfsmount_root.present && vfsmount;
	uint64_t mnt = mounts ? vfsmount - l->mount_mnt.offset : 0;
	uint64_t d = dentry;
	if (n < 2)
		return -1;
	size_t pos = n - 1;
	buf[pos] = 0;
	for (unsigned step = 0; step < PATH_MAX_DEPTH; step++) {
		uint64_t parent, root = 0;
		if (rd_field(os, d, l->dentry_parent, &parent) < 0)
			return -1;
		if (mounts && rd_field(os, mnt + l->mount_mnt.offset, l->vfsmount_root, &root) < 0)
			return -1;
		if (d == root || d == parent) {
			uint64_t up;
			if (!mounts || rd_field(os, mnt, l->mount_parent, &up) < 0 || up == mnt) {
				/* the global root */
				if (pos == n - 1)
					buf[--pos] = '/';
				memmove(buf, buf + pos, n - pos);
				return 0;
			}
			if (rd_field(os, mnt, l->mount_mountpoint, &d) < 0)
				return -1;
			mnt = up;
			continue;
		}
		if (prepend_name(os, d, buf, &pos) < 0)
			return -1;
		d = parent;
	}
	return -1;
}

int osi_linux_exe_path(const struct osi_linux *os, uint64_t mm, char *buf, size_t n)
{
	uint64_t file;
	if (rd_field(os, mm, os->layout->mm_exe_file, &file) < 0 || !file)
		return -1;
	return osi_linux_file_path(os, file, buf, n);
}

int osi_linux_file_path(const struct osi_linux *os, uint64_t file, char *buf, size_t n)
{
	const struct osi_linux_layout *l = os->layout;
	uint64_t dentry, mnt;
	uint64_t path = file + l->file_path.offset;
	if (rd_field(os, path, l->path_dentry, &dentry) < 0 || rd_field(os, path, l->path_mnt, &mnt) < 0)
		return -1;
	return osi_linux_path(os, dentry, mnt, buf, n);
}

int osi_linux_modules(const struct osi_linux *os,
		      int (*cb)(void *arg, const struct osi_module *m), void *arg, char *err,
		      size_t errsz)
{
	const struct osi_linux_layout *l = os->layout;
	uint64_t head = l->modules + os->slide, cur;
	if (rd_ptr(os, head + l->list_next.offset, &cur) < 0)
		return fail_msg(err, errsz, "cannot read the modules list head at %#llx",
			    (unsigned long long)head);
	for (unsigned n = 0; n < OSI_WALK_MAX; n++) {
		if (cur == head)
			return 0;
		struct osi_module m = { .module = cur - l->module_list.offset };
		size_t nl = l->module_name.size < OSI_MODULE_NAME_LEN ? l->module_name.size
								       : OSI_MODULE_NAME_LEN;
		if (rd(os, m.module + l->module_name.offset, m.name, nl) < 0 ||
		    rd_field(os, m.module, l->module_core_base, &m.base) < 0 ||
		    rd_field(os, m.module, l->module_core_size, &m.size) < 0)
			return fail_msg(err, errsz, "cannot read the module at %#llx",
				    (unsigned long long)m.module);
		m.name[nl < sizeof m.name ? nl : sizeof m.name - 1] = 0;
		if (cb(arg, &m))
			return 0;
		if (rd_ptr(os, cur + l->list_next.offset, &cur) < 0)
			return fail_msg(err, errsz, "cannot read the modules list at %#llx",
				    (unsigned long long)cur);
	}
	return fail_msg(err, errsz, "the module list has more than %d entries (corrupt or changing)",
		    OSI_WALK_MAX);
}

/* --- VMAs ------------------------------------------------------------------- */

/*
 * The maple tree (lib/maple_tree.c, Documentation/core-api/maple_tree.rst).
 * A tree's root and an internal node's slots hold encoded node pointers:
 * the node type in bits 3-6 and the 256-byte-aligned node address above
 * bit 7.  The root alone is marked as the XArray marks a node, low two
 * bits 10 (MAPLE_ROOT_NODE); a child's low two bits are 00 and bit 2 is
 * set (MAPLE_ENODE_NULL, which mt_mk_node always sets).  Types: 0 dense,
 * 1 leaf_64, 2 range_64, 3 arange_64; below range_64 are leaves.  A 64-bit
 * range node's slot i covers up to pivot[i] inclusive, the last slot up to
 * the node's own maximum; how many slots are in use is in the node's
 * metadata (always for arange_64; for range_64 and leaf_64 when the last
 * pivot is 0, the metadata sharing the last slot's room), else the node is
 * full (the last pivot equal to the node's maximum ends it one slot early).
 * A leaf's slots hold the VMAs, NULL for the gaps between them.
 */
enum { MT_DENSE, MT_LEAF_64, MT_RANGE_64, MT_ARANGE_64 };
#define MT_NODE_MASK 0xffull
#define MT_MAX_HEIGHT 31	/* MAPLE_HEIGHT_MAX */

struct vma_walk {
	const struct osi_linux *os;
	int (*cb)(void *arg, const struct osi_vma *v);
	void *arg;
	char *err;
	size_t errsz;
	unsigned count, nodes;
	bool stopped;
};
/* Nodes one walk visits at most: a tree whose slots lead back up would
 * otherwise be walked exponentially often before the height bound. */
#define MT_MAX_NODES 65536

static bool mt_is_node(uint64_t entry)
{
	return (entry & 3) == 2 && entry > 4096;
}

/* A slot of an internal node: a node, encoded without the root's mark. */
static bool mt_is_child(uint64_t entry)
{
	return (entry & 7) == 4 && entry > 4096;
}

static int vma_read(const struct osi_linux *os, uint64_t vma, struct osi_vma *v)
{
	const struct osi_linux_layout *l = os->layout;
	memset(v, 0, sizeof *v);
	v->vma = vma;
	return rd_field(os, vma, l->vma_start, &v->start) < 0 ||
	       rd_field(os, vma, l->vma_end, &v->end) < 0 ||
	       rd_field(os, vma, l->vma_flags, &v->flags) < 0 ||
	       rd_field(os, vma, l->vma_pgoff, &v->pgoff) < 0 ||
	       rd_field(os, vma, l->vma_file, &v->file) < 0 ? -1 : 0;
}

static int mt_node(struct vma_walk *w, uint64_t enode, uint64_t min, uint64_t max, unsigned depth)
{
	const struct osi_linux_layout *l = w->os->layout;
	uint64_t node = enode & ~MT_NODE_MASK;
	unsigned type = (enode >> 3) & 0xf;
	if (++w->nodes > MT_MAX_NODES)
		return fail_msg(w->err, w->errsz, "more than %d maple nodes", MT_MAX_NODES);
	if (depth > MT_MAX_HEIGHT || type == MT_DENSE || type > MT_ARANGE_64)
		return fail_msg(w->err, w->errsz, "maple node %#llx: type %u at depth %u",
			    (unsigned long long)enode, type, depth);
	const struct osi_field *pv = type == MT_ARANGE_64 ? &l->ma64_pivot : &l->mr64_pivot;
	const struct osi_field *sl = type == MT_ARANGE_64 ? &l->ma64_slot : &l->mr64_slot;
	const struct osi_field *me = type == MT_ARANGE_64 ? &l->ma64_end : &l->mr64_end;
	unsigned npivots = pv->size / 8, nslots = sl->size / 8;
	uint64_t pivots[32], slots[32], end;
	if (npivots > 32 || nslots > 32 || nslots != npivots + 1 ||
	    rd(w->os, node + pv->offset, pivots, 8 * npivots) < 0 ||
	    rd(w->os, node + sl->offset, slots, 8 * nslots) < 0)
		return fail_msg(w->err, w->errsz, "cannot read the maple node at %#llx",
			    (unsigned long long)node);
	if (type == MT_ARANGE_64 || pivots[npivots - 1] == 0) {
		if (rd_field(w->os, node, *me, &end) < 0)
			return fail_msg(w->err, w->errsz, "cannot read the maple node at %#llx",
				    (unsigned long long)node);
	} else {
		end = pivots[npivots - 1] == max ? npivots - 1 : npivots;
	}
	if (end >= nslots)
		return fail_msg(w->err, w->errsz, "maple node %#llx: %llu slots in use of %u",
			    (unsigned long long)node, (unsigned long long)end + 1, nslots);
	uint64_t lo = min;
	for (unsigned i = 0; i <= end && !w->stopped; i++) {
		uint64_t hi = i < npivots && (pivots[i] || i == 0) ? pivots[i] : max;
		if (hi < lo || hi > max)
			return fail_msg(w->err, w->errsz, "maple node %#llx: slot %u ends at %#llx, "
				    "outside %#llx-%#llx", (unsigned long long)node, i,
				    (unsigned long long)hi, (unsigned long long)lo,
				    (unsigned long long)max);
		uint64_t e = slots[i];
		if (type >= MT_RANGE_64) {
			if (!mt_is_child(e))
				return fail_msg(w->err, w->errsz, "maple node %#llx: slot %u is not a node",
					    (unsigned long long)node, i);
			if (mt_node(w, e, lo, hi, depth + 1) < 0)
				return -1;
		} else if (e) {
			struct osi_vma v;
			if (vma_read(w->os, e, &v) < 0)
				return fail_msg(w->err, w->errsz, "cannot read the VMA at %#llx",
					    (unsigned long long)e);
			/* the tree says where the VMA is; the VMA must agree */
			if (v.start != lo || v.end - 1 != hi)
				return fail_msg(w->err, w->errsz, "VMA %#llx: %#llx-%#llx, the tree says "
					    "%#llx-%#llx", (unsigned long long)e,
					    (unsigned long long)v.start, (unsigned long long)v.end,
					    (unsigned long long)lo, (unsigned long long)hi + 1);
			if (++w->count > OSI_WALK_MAX)
				return fail_msg(w->err, w->errsz, "more than %d VMAs", OSI_WALK_MAX);
			if (w->cb(w->arg, &v))
				w->stopped = true;
		}
		if (hi == max)
			break;
		lo = hi + 1;
	}
	return 0;
}

int osi_linux_vmas(const struct osi_linux *os, uint64_t mm,
		   int (*cb)(void *arg, const struct osi_vma *v), void *arg, char *err,
		   size_t errsz)
{
	const struct osi_linux_layout *l = os->layout;
	struct vma_walk w = { os, cb, arg, err, errsz, 0, 0, false };
	if (!l->vmas_in_maple_tree) {
		uint64_t vma;
		if (rd_field(os, mm, l->mm_mmap, &vma) < 0)
			return fail_msg(err, errsz, "cannot read the mm at %#llx", (unsigned long long)mm);
		for (unsigned n = 0; vma && n < OSI_WALK_MAX; n++) {
			struct osi_vma v;
			if (vma_read(os, vma, &v) < 0 || rd_field(os, vma, l->vma_next, &vma) < 0)
				return fail_msg(err, errsz, "cannot read the VMA at %#llx",
					    (unsigned long long)v.vma);
			if (cb(arg, &v))
				return 0;
		}
		return vma ? fail_msg(err, errsz, "more than %d VMAs", OSI_WALK_MAX) : 0;
	}
	uint64_t root;
	if (rd_field(os, mm + l->mm_mt.offset, l->maple_root, &root) < 0)
		return fail_msg(err, errsz, "cannot read the mm at %#llx", (unsigned long long)mm);
	if (!root)
		return 0;
	if (!mt_is_node(root))
		return fail_msg(err, errsz, "mm %#llx: the maple tree's root %#llx is not a node",
			    (unsigned long long)mm, (unsigned long long)root);
	return mt_node(&w, root, 0, UINT64_MAX, 0);
}
