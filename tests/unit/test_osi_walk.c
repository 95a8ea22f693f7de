/*
 * The walks of src/system/osi/walk.c over a guest's memory built here: a
 * small Linux world (init_task and three processes on the tasks list, a
 * second thread that is only on its process's thread lists, executables on the root mount and on a mount
 * at /usr, two modules, a CPU's per-cpu area) laid out with a layout
 * written by hand (always) and with the layout of Debian's kernel read from
 * its BTF and kallsyms (when build/guest/vmlinuz is there), at a KASLR
 * slide.  Then corrupt lists, unreadable memory and short buffers, which
 * must end the walk with an error, not a hang or a wrong answer.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "osi_kernel.h"
#include "system/osi/btf.h"
#include "system/osi/kallsyms.h"
#include "system/osi/walk.h"

#define HEAP 0xffff888000100000ull
#define OBJ 0x4000ull		/* each object's room: a 6.1 task_struct is 9.6 KB */
#define NOBJ 48
#define GS_BASE 0xffff88801fa00000ull
#define SLIDE 0x1e00000ull

/* --- a guest's memory: a few regions ------------------------------------ */

struct region {
	uint64_t va;
	size_t size;
	uint8_t *buf;
};
static struct region regions[4];
static int nregions;

static void region_add(uint64_t va, size_t size)
{
	regions[nregions++] = (struct region){ va, size, calloc(1, size) };
}

static void regions_free(void)
{
	for (int i = 0; i < nregions; i++)
		free(regions[i].buf);
	nregions = 0;
}

static uint8_t *at(uint64_t va, size_t len)
{
	for (int i = 0; i < nregions; i++)
		if (va >= regions[i].va && va - regions[i].va + len <= regions[i].size)
			return regions[i].buf + (va - regions[i].va);
	return NULL;
}

static int mem_read(void *ctx, uint64_t va, void *buf, size_t len)
{
	uint8_t *p = at(va, len);
	if (!p)
		return -1;
	memcpy(buf, p, len);
	return 0;
}

static void put(uint64_t base, struct osi_field f, uint64_t v)
{
	uint8_t *p = at(base + f.offset, f.size);
	CHECK(p != NULL && f.present);
	for (unsigned i = 0; p && i < f.size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_bytes(uint64_t va, const void *s, size_t n)
{
	uint8_t *p = at(va, n);
	CHECK(p != NULL);
	if (p)
		memcpy(p, s, n);
}

/* --- the world ----------------------------------------------------------- */

static int nobj;
static uint64_t obj(void) { return HEAP + OBJ * (uint64_t)nobj++; }

struct world {
	uint64_t init, t1, t2, t3, t4, m1, m3, mod_a, mod_b;
	uint64_t root_mount, usr_mount, d_root, d_usr;
};

static void link_list(const struct osi_linux_layout *l, const uint64_t *heads, int n)
{
	for (int i = 0; i < n; i++) {
		put(heads[i], l->list_next, heads[(i + 1) % n]);
		put(heads[i], l->list_prev, heads[(i + n - 1) % n]);
	}
}

static uint64_t task(const struct osi_linux_layout *l, uint64_t t, int pid, int tgid,
		     const char *comm, bool kthread, uint64_t mm, uint64_t parent)
{
	char c[16] = { 0 };
	strncpy(c, comm, 15);
	put(t, l->task_pid, (uint32_t)pid);
	put(t, l->task_tgid, (uint32_t)tgid);
	put_bytes(t + l->task_comm.offset, c, 16);
	put(t, l->task_flags, kthread ? 0x00200000u : 0x400000u);
	put(t, l->task_mm, mm);
	put(t, l->task_real_parent, parent);
	put(t, l->task_group_leader, t);
	return t;
}

static uint64_t dentry(const struct osi_linux_layout *l, const char *name, uint64_t parent)
{
	uint64_t d = obj(), s = obj();
	put_bytes(s, name, strlen(name) + 1);
	put(d + l->dentry_name.offset, l->qstr_name, s);
	put(d + l->dentry_name.offset, l->qstr_len, strlen(name));
	put(d, l->dentry_parent, parent ? parent : d);
	return d;
}

static uint64_t mount(const struct osi_linux_layout *l, uint64_t root, uint64_t parent,
		      uint64_t mountpoint)
{
	uint64_t m = obj();
	put(m, l->mount_parent, parent ? parent : m);
	put(m, l->mount_mountpoint, mountpoint ? mountpoint : root);
	put(m + l->mount_mnt.offset, l->vfsmount_root, root);
	return m;
}

static uint64_t mm_with_exe(const struct osi_linux_layout *l, uint64_t pgd, uint64_t mount,
			    uint64_t d)
{
	uint64_t mm = obj(), f = obj();
	put(mm, l->mm_pgd, pgd);
	put(mm, l->mm_exe_file, f);
	put(f + l->file_path.offset, l->path_mnt, mount + l->mount_mnt.offset);
	put(f + l->file_path.offset, l->path_dentry, d);
	return mm;
}

static uint64_t module(const struct osi_linux_layout *l, const char *name, uint64_t base,
		       uint64_t size)
{
	uint64_t m = obj();
	put_bytes(m + l->module_name.offset, name, strlen(name) + 1);
	put(m, l->module_core_base, base);
	put(m, l->module_core_size, size);
	return m;
}

static void build_world(const struct osi_linux_layout *l, struct world *w)
{
	nobj = 0;
	region_add(HEAP, OBJ * NOBJ);
	region_add(l->init_task + SLIDE, l->task_struct_size);
	region_add(l->modules + SLIDE, 16);
	region_add(GS_BASE, l->current_task + 8);

	w->d_root = dentry(l, "/", 0);
	w->d_usr = dentry(l, "usr", w->d_root);
	uint64_t d_bin = dentry(l, "bin", w->d_root);
	uint64_t d_busybox = dentry(l, "busybox", d_bin);
	uint64_t d_usr_root = dentry(l, "/", 0);	/* the root of the fs mounted on /usr */
	uint64_t d_sbin = dentry(l, "sbin", d_usr_root);
	uint64_t d_httpd = dentry(l, "httpd", d_sbin);
	w->root_mount = mount(l, w->d_root, 0, 0);
	w->usr_mount = mount(l, d_usr_root, w->root_mount, w->d_usr);

	w->init = l->init_task + SLIDE;
	w->m1 = mm_with_exe(l, 0xffff888002000000ull, w->root_mount, d_busybox);
	w->m3 = mm_with_exe(l, 0xffff888003000000ull, w->usr_mount, d_httpd);
	task(l, w->init, 0, 0, "swapper/0", true, 0, w->init);
	w->t1 = task(l, obj(), 1, 1, "init", false, w->m1, w->init);
	w->t2 = task(l, obj(), 2, 2, "kthreadd", true, 0, w->init);
	w->t3 = task(l, obj(), 42, 42, "httpd", false, w->m3, w->t1);
	w->t4 = task(l, obj(), 43, 42, "httpd", false, w->m3, w->t1);	/* a thread */
	uint64_t o = l->task_tasks.offset;
	uint64_t tasks[] = { w->init + o, w->t1 + o, w->t2 + o, w->t3 + o };
	link_list(l, tasks, 4);
	put(w->t4, l->task_group_leader, w->t3);
	/* t3's threads: t3 and t4 on thread_group; in the kernel's layout
	 * also on the list headed in their signal_struct */
	uint64_t tg = l->task_thread_group.offset;
	uint64_t ring[] = { w->t3 + tg, w->t4 + tg };
	link_list(l, ring, 2);
	uint64_t solo[] = { w->t1 + tg };
	link_list(l, solo, 1);
	if (l->signal_thread_head.present && l->task_thread_node.present) {
		uint64_t sig = obj(), tn = l->task_thread_node.offset;
		put(w->t3, l->task_signal, sig);
		put(w->t4, l->task_signal, sig);
		uint64_t heads[] = { sig + l->signal_thread_head.offset, w->t3 + tn, w->t4 + tn };
		link_list(l, heads, 3);
		uint64_t sig1 = obj();
		put(w->t1, l->task_signal, sig1);
		uint64_t heads1[] = { sig1 + l->signal_thread_head.offset, w->t1 + tn };
		link_list(l, heads1, 2);
	}

	w->mod_a = module(l, "virtio_net", 0xffffffffc0200000ull, 0x9000);
	w->mod_b = module(l, "e1000", 0xffffffffc0400000ull, 0x1d000);
	uint64_t mo = l->module_list.offset;
	uint64_t mods[] = { l->modules + SLIDE, w->mod_a + mo, w->mod_b + mo };
	link_list(l, mods, 3);

	uint64_t cur = GS_BASE + l->current_task;
	put_bytes(cur, &w->t3, 8);
	CHECK(nobj <= NOBJ);
}

/* --- checks -------------------------------------------------------------- */

struct seen {
	struct osi_proc p[8];
	int n, stop_after;
};

static int collect(void *arg, const struct osi_proc *p)
{
	struct seen *s = arg;
	if (s->n < 8)
		s->p[s->n] = *p;
	s->n++;
	return s->stop_after && s->n >= s->stop_after;
}

struct mods {
	struct osi_module m[4];
	int n;
};

static int collect_mod(void *arg, const struct osi_module *m)
{
	struct mods *s = arg;
	if (s->n < 4)
		s->m[s->n] = *m;
	s->n++;
	return 0;
}

static void check_world(const struct osi_linux_layout *l, const char *what)
{
	struct world w;
	build_world(l, &w);
	struct osi_linux os = { l, SLIDE, { mem_read, NULL } };
	char err[200] = "";

	struct seen s = { .n = 0 };
	int r = osi_linux_procs(&os, collect, &s, err, sizeof err);
	if (r)
		fprintf(stderr, "%s: %s\n", what, err);
	CHECK_EQ(r, 0);
	CHECK_EQ(s.n, 4);	/* the thread is not on the tasks list */
	static const struct { int pid, ppid; const char *comm; bool kthread; } want[] = {
		{ 0, 0, "swapper/0", true }, { 1, 0, "init", false },
		{ 2, 0, "kthreadd", true }, { 42, 1, "httpd", false },
	};
	for (int i = 0; i < 4 && i < s.n; i++) {
		CHECK_EQ(s.p[i].pid, want[i].pid);
		CHECK_EQ(s.p[i].tgid, want[i].pid);
		CHECK_EQ(s.p[i].ppid, want[i].ppid);
		CHECK(!strcmp(s.p[i].comm, want[i].comm));
		CHECK_EQ(s.p[i].kthread, want[i].kthread);
	}
	CHECK_EQ(s.p[0].task, w.init);
	CHECK_EQ(s.p[0].mm, 0);
	CHECK_EQ(s.p[1].mm, w.m1);
	CHECK_EQ(s.p[1].pgd, 0xffff888002000000ull);
	CHECK_EQ(s.p[3].pgd, 0xffff888003000000ull);

	char path[256];
	CHECK_EQ(osi_linux_exe_path(&os, w.m1, path, sizeof path), 0);
	CHECK(!strcmp(path, "/bin/busybox"));
	CHECK_EQ(osi_linux_exe_path(&os, w.m3, path, sizeof path), 0);
	if (strcmp(path, "/usr/sbin/httpd"))
		fprintf(stderr, "%s: exe path '%s'\n", what, path);
	CHECK(!strcmp(path, "/usr/sbin/httpd"));
	CHECK_EQ(osi_linux_path(&os, w.d_root, w.root_mount + l->mount_mnt.offset, path,
				sizeof path), 0);
	CHECK(!strcmp(path, "/"));
	CHECK_EQ(osi_linux_path(&os, w.d_usr, w.root_mount + l->mount_mnt.offset, path,
				sizeof path), 0);
	CHECK(!strcmp(path, "/usr"));
	CHECK_EQ(osi_linux_exe_path(&os, w.m3, path, 15), -1);	/* does not fit */
	CHECK_EQ(osi_linux_exe_path(&os, w.m3, path, 16), 0);	/* just fits */
	CHECK_EQ(osi_linux_exe_path(&os, 0x1000, path, sizeof path), -1);

	uint64_t cur = 0;
	CHECK_EQ(osi_linux_current(&os, GS_BASE, &cur), 0);
	CHECK_EQ(cur, w.t3);
	struct osi_proc p;
	CHECK_EQ(osi_linux_proc(&os, w.t4, &p), 0);
	CHECK_EQ(p.pid, 43);
	CHECK_EQ(p.tgid, 42);

	s = (struct seen){ .n = 0 };
	CHECK_EQ(osi_linux_threads(&os, w.t3, collect, &s, err, sizeof err), 0);
	CHECK_EQ(s.n, 2);
	CHECK(s.n == 2 && s.p[0].pid == 42 && s.p[1].pid == 43 && s.p[1].tgid == 42);
	s = (struct seen){ .n = 0 };
	CHECK_EQ(osi_linux_threads(&os, w.t1, collect, &s, err, sizeof err), 0);
	CHECK_EQ(s.n, 1);

	struct mods m = { .n = 0 };
	CHECK_EQ(osi_linux_modules(&os, collect_mod, &m, err, sizeof err), 0);
	CHECK_EQ(m.n, 2);
	CHECK(!strcmp(m.m[0].name, "virtio_net"));
	CHECK_EQ(m.m[0].base, 0xffffffffc0200000ull);
	CHECK_EQ(m.m[0].size, 0x9000);
	CHECK(!strcmp(m.m[1].name, "e1000"));
	CHECK_EQ(m.m[1].module, w.mod_b);
	CHECK_EQ(m.m[1].size, 0x1d000);

	/* A callback that stops the walk */
	s = (struct seen){ .stop_after = 2 };
	CHECK_EQ(osi_linux_procs(&os, collect, &s, err, sizeof err), 0);
	CHECK_EQ(s.n, 2);
	/* A list that loops without coming back to its head */
	uint64_t o = l->task_tasks.offset;
	put(w.t3 + o, l->list_next, w.t2 + o);
	s = (struct seen){ .n = 0 };
	CHECK_EQ(osi_linux_procs(&os, collect, &s, err, sizeof err), -1);
	CHECK(strstr(err, "more than") != NULL);
	/* A next pointer into unmapped memory */
	put(w.t2 + o, l->list_next, 0xffff8880dead0000ull);
	s = (struct seen){ .n = 0 };
	CHECK_EQ(osi_linux_procs(&os, collect, &s, err, sizeof err), -1);
	char want_err[100];
	snprintf(want_err, sizeof want_err, "cannot read the task_struct at %#llx",
		 0xffff8880dead0000ull - o);
	CHECK(!strcmp(err, want_err));
	CHECK_EQ(s.n, 3);
	/* A dentry whose parent chain never reaches a root: the depth bound
	 * ends it (the buffer is large enough not to end it first). */
	static char big[1 << 20];
	uint64_t d_a = dentry(l, "a", 0), d_b = dentry(l, "b", d_a);
	put(d_a, l->dentry_parent, d_b);
	CHECK_EQ(osi_linux_path(&os, d_b, w.root_mount + l->mount_mnt.offset, big, sizeof big), -1);
	/* A name longer than NAME_MAX */
	put(w.d_usr + l->dentry_name.offset, l->qstr_len, 4096);
	CHECK_EQ(osi_linux_path(&os, w.d_usr, w.root_mount + l->mount_mnt.offset, big, sizeof big), -1);
	/* The modules list into unmapped memory */
	put(w.mod_a + l->module_list.offset, l->list_next, 0x1000);
	CHECK_EQ(osi_linux_modules(&os, collect_mod, &m, err, sizeof err), -1);
	CHECK(strstr(err, "cannot read the module") != NULL);
	regions_free();
}

/* --- a maple tree ------------------------------------------------------ */

struct vmas {
	struct osi_vma v[8];
	int n;
};

static int collect_vma(void *arg, const struct osi_vma *v)
{
	struct vmas *s = arg;
	if (s->n < 8)
		s->v[s->n] = *v;
	s->n++;
	return 0;
}

/* A node as an internal node's slot holds it (type in bits 3-6, bit 2 set),
 * and as the tree's root holds it (marked with 10 in the low bits). */
static uint64_t enode(uint64_t node, unsigned type) { return node | type << 3 | 4; }
static uint64_t root_enode(uint64_t node, unsigned type) { return node | type << 3 | 2; }

/*
 * Three VMAs in a two-level tree as the kernel builds one for an mm: an
 * arange_64 root over two leaf_64 nodes, gaps as NULL slots, node ends in
 * the metadata.  Then the tree corrupted in the ways a walk must refuse.
 */
static void check_maple(const struct osi_linux_layout *l)
{
	nobj = 0;
	region_add(HEAP, OBJ * NOBJ);
	struct osi_linux os = { l, 0, { mem_read, NULL } };
	uint64_t mm = obj(), root = obj(), a = obj(), b = obj();
	uint64_t v1 = obj(), v2 = obj(), v3 = obj(), file = obj();
	struct { uint64_t vma, start, end, flags, pgoff, file; } vmas[] = {
		{ v1, 0x400000, 0x401000, 5, 0, file },
		{ v2, 0x401000, 0x405000, 3, 1, file },
		{ v3, 0x7ffd0000, 0x7fff0000, 3, 0, 0 },
	};
	for (int i = 0; i < 3; i++) {
		put(vmas[i].vma, l->vma_start, vmas[i].start);
		put(vmas[i].vma, l->vma_end, vmas[i].end);
		put(vmas[i].vma, l->vma_flags, vmas[i].flags);
		put(vmas[i].vma, l->vma_pgoff, vmas[i].pgoff);
		put(vmas[i].vma, l->vma_file, vmas[i].file);
	}
	uint64_t p = l->mr64_pivot.offset, sl = l->mr64_slot.offset;
	/* leaf a: [0, 0x404fff]: a gap, v1, v2 */
	put_bytes(a + p, (uint64_t[]){ 0x3fffff, 0x400fff, 0x404fff }, 24);
	put_bytes(a + sl, (uint64_t[]){ 0, v1, v2 }, 24);
	put(a, l->mr64_end, 2);
	/* leaf b: [0x405000, max]: a gap, v3, a gap to the end */
	put_bytes(b + p, (uint64_t[]){ 0x7ffcffff, 0x7ffeffff }, 16);
	put_bytes(b + sl, (uint64_t[]){ 0, v3, 0 }, 24);
	put(b, l->mr64_end, 2);
	/* the root over both */
	put_bytes(root + l->ma64_pivot.offset, (uint64_t[]){ 0x404fff }, 8);
	put_bytes(root + l->ma64_slot.offset, (uint64_t[]){ enode(a, 1), enode(b, 1) }, 16);
	put(root, l->ma64_end, 1);
	put(mm + l->mm_mt.offset, l->maple_root, root_enode(root, 3));

	struct vmas got = { .n = 0 };
	char err[200] = "";
	int r = osi_linux_vmas(&os, mm, collect_vma, &got, err, sizeof err);
	if (r)
		fprintf(stderr, "maple: %s\n", err);
	CHECK_EQ(r, 0);
	CHECK_EQ(got.n, 3);
	for (int i = 0; i < 3 && i < got.n; i++) {
		CHECK_EQ(got.v[i].vma, vmas[i].vma);
		CHECK_EQ(got.v[i].start, vmas[i].start);
		CHECK_EQ(got.v[i].end, vmas[i].end);
		CHECK_EQ(got.v[i].flags, vmas[i].flags);
		CHECK_EQ(got.v[i].pgoff, vmas[i].pgoff);
		CHECK_EQ(got.v[i].file, vmas[i].file);
	}
	/* an empty tree */
	uint64_t empty = obj();
	got.n = 0;
	CHECK_EQ(osi_linux_vmas(&os, empty, collect_vma, &got, err, sizeof err), 0);
	CHECK_EQ(got.n, 0);

	/* a VMA that disagrees with the tree's range */
	put(v2, l->vma_end, 0x406000);
	CHECK_EQ(osi_linux_vmas(&os, mm, collect_vma, &got, err, sizeof err), -1);
	CHECK(strstr(err, "the tree says") != NULL);
	put(v2, l->vma_end, 0x405000);
	/* a root slot that leads back to the root */
	put_bytes(root + l->ma64_slot.offset + 8, (uint64_t[]){ enode(root, 3) }, 8);
	CHECK_EQ(osi_linux_vmas(&os, mm, collect_vma, &got, err, sizeof err), -1);
	CHECK(strstr(err, "maple node") != NULL || strstr(err, "outside") != NULL);
	put_bytes(root + l->ma64_slot.offset + 8, (uint64_t[]){ enode(b, 1) }, 8);
	/* a dense node, a slot that is no node, a node in unmapped memory */
	put(mm + l->mm_mt.offset, l->maple_root, root_enode(root, 0));
	CHECK_EQ(osi_linux_vmas(&os, mm, collect_vma, &got, err, sizeof err), -1);
	CHECK(strstr(err, "type 0") != NULL);
	put(mm + l->mm_mt.offset, l->maple_root, root_enode(root, 3));
	put_bytes(root + l->ma64_slot.offset, (uint64_t[]){ v1 }, 8);
	CHECK_EQ(osi_linux_vmas(&os, mm, collect_vma, &got, err, sizeof err), -1);
	CHECK(strstr(err, "is not a node") != NULL);
	/* a child marked as the root is marked: not how the kernel stores one */
	put_bytes(root + l->ma64_slot.offset, (uint64_t[]){ root_enode(a, 1) }, 8);
	CHECK_EQ(osi_linux_vmas(&os, mm, collect_vma, &got, err, sizeof err), -1);
	CHECK(strstr(err, "is not a node") != NULL);
	put_bytes(root + l->ma64_slot.offset, (uint64_t[]){ enode(0xffff8880dead0000ull, 1) }, 8);
	CHECK_EQ(osi_linux_vmas(&os, mm, collect_vma, &got, err, sizeof err), -1);
	CHECK(strstr(err, "cannot read the maple node") != NULL);
	/* a node whose end says more slots than it has */
	put_bytes(root + l->ma64_slot.offset, (uint64_t[]){ enode(a, 1) }, 8);
	put(a, l->mr64_end, 40);
	CHECK_EQ(osi_linux_vmas(&os, mm, collect_vma, &got, err, sizeof err), -1);
	CHECK(strstr(err, "slots in use") != NULL);
	regions_free();
}

/* A layout written out by hand: the walk's logic on its own. */
static void hand_layout(struct osi_linux_layout *l)
{
	memset(l, 0, sizeof *l);
#define F(field, off, sz) l->field = (struct osi_field){ off, sz, true }
	F(list_next, 0, 8); F(list_prev, 8, 8);
	F(task_tasks, 16, 16); F(task_pid, 32, 4); F(task_tgid, 36, 4); F(task_comm, 40, 16);
	F(task_flags, 56, 4); F(task_mm, 64, 8); F(task_active_mm, 72, 8);
	F(task_real_parent, 80, 8); F(task_group_leader, 88, 8); F(task_signal, 96, 8);
	F(task_thread_group, 104, 16);
	F(mm_pgd, 8, 8); F(mm_exe_file, 16, 8);
	F(file_path, 16, 16); F(path_mnt, 0, 8); F(path_dentry, 8, 8);
	F(dentry_parent, 8, 8); F(dentry_name, 16, 16); F(qstr_len, 4, 4); F(qstr_name, 8, 8);
	F(mount_parent, 0, 8); F(mount_mountpoint, 8, 8); F(mount_mnt, 32, 16);
	F(vfsmount_root, 0, 8);
	F(module_list, 8, 16); F(module_name, 24, 56); F(module_core_base, 80, 8);
	F(module_core_size, 88, 4);
	F(mm_mt, 64, 24); F(maple_root, 8, 8);
	F(mr64_pivot, 8, 120); F(mr64_slot, 128, 128); F(mr64_end, 248, 1);
	F(ma64_pivot, 8, 72); F(ma64_slot, 80, 80); F(ma64_end, 240, 1);
	F(vma_start, 0, 8); F(vma_end, 8, 8); F(vma_flags, 16, 8); F(vma_pgoff, 24, 8);
	F(vma_file, 32, 8);
#undef F
	l->vmas_in_maple_tree = true;
	l->task_struct_size = 128;
	l->init_task = 0xffffffff82a1aa40ull;
	l->modules = 0xffffffff82b292a0ull;
	l->current_task = 0x1fb80;
}

static void test_kernel_layout(void)
{
	struct osi_vmlinux vm;
	if (!osi_test_open_kernel(&vm, "walks with Debian's layout"))
		return;
	const struct osi_section *s = osi_vmlinux_section(&vm, ".BTF");
	struct osi_btf btf;
	struct osi_kallsyms ks;
	struct osi_linux_layout l;
	char err[200];
	bool ok = s && osi_btf_load(&btf, osi_section_data(&vm, s), s->size, err, sizeof err) == 0;
	CHECK(ok);
	if (ok) {
		CHECK_EQ(osi_kallsyms_load(&ks, &vm, err, sizeof err), 0);
		CHECK_EQ(osi_linux_layout_fill(&l, &btf, &ks, err, sizeof err), 0);
		CHECK(l.mount_mnt.present && l.vfsmount_root.present);
		CHECK(l.task_struct_size <= OBJ);
		check_world(&l, "Debian's layout");
		check_maple(&l);
		osi_kallsyms_free(&ks);
		osi_btf_free(&btf);
	}
	osi_vmlinux_close(&vm);
}

void unit_main(void)
{
	struct osi_linux_layout l;
	hand_layout(&l);
	check_world(&l, "hand layout");
	check_maple(&l);
	test_kernel_layout();
}
