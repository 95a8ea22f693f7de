/*
 * struct osi_linux_layout (src/system/osi/linux.c) on Debian's kernel
 * (SKIPped when not fetched): the layout fills, and read through it, the
 * image's statically initialised init_task and init_mm say what
 * init/init_task.c and mm/init-mm.c give them — comm "swapper", pid 0,
 * self-linked tasks and thread_group lists, real_parent and group_leader
 * init_task itself, no mm, active_mm &init_mm, signal &init_signals,
 * PF_KTHREAD, and init_mm.pgd swapper_pg_dir (init_top_pgt).  That checks BTF offsets and
 * kallsyms addresses together against the kernel's own data.  And a BTF
 * missing a member gives an error naming it.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "osi_kernel.h"
#include "system/osi/btf.h"
#include "system/osi/kallsyms.h"
#include "system/osi/linux.h"

#define PF_KTHREAD 0x00200000u	/* include/linux/sched.h */

static const struct osi_vmlinux *image;

static uint64_t rd(uint64_t addr, unsigned size)
{
	const uint8_t *p = osi_vmlinux_at(image, addr, size);
	uint64_t v = 0;
	if (!p) {
		fprintf(stderr, "no image data at %llx\n", (unsigned long long)addr);
		return 0xdeadbeefdeadbeefull;
	}
	memcpy(&v, p, size);
	return v;
}

/* the kernel's major.minor from the package's config header */
static bool kernel_version(unsigned *major, unsigned *minor)
{
	char path[512], line[256];
	snprintf(path, sizeof path, "%s", osi_test_kernel_path());
	char *slash = strrchr(path, '/');
	if (!slash)
		return false;
	snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "config");
	FILE *f = fopen(path, "r");
	bool ok = false;
	while (f && !ok && fgets(line, sizeof line, f))
		ok = sscanf(line, "# Linux/x86 %u.%u", major, minor) == 2;
	if (f)
		fclose(f);
	return ok;
}

static void test_kernel(void)
{
	struct osi_vmlinux vm;
	if (!osi_test_open_kernel(&vm, "Debian's kernel layout"))
		return;
	image = &vm;
	const struct osi_section *s = osi_vmlinux_section(&vm, ".BTF");
	struct osi_btf btf;
	struct osi_kallsyms ks;
	char err[300] = "";
	CHECK(s != NULL);
	if (!s || osi_btf_load(&btf, osi_section_data(&vm, s), s->size, err, sizeof err) < 0) {
		CHECK(0);
		osi_vmlinux_close(&vm);
		return;
	}
	if (osi_kallsyms_load(&ks, &vm, err, sizeof err) < 0) {
		CHECK(0);
		osi_btf_free(&btf);
		osi_vmlinux_close(&vm);
		return;
	}
	struct osi_linux_layout l;
	int r = osi_linux_layout_fill(&l, &btf, &ks, err, sizeof err);
	if (r)
		fprintf(stderr, "layout: %s\n", err);
	CHECK_EQ(r, 0);
	if (r)
		goto out;
	printf("layout: task_struct %u bytes, tasks@%u pid@%u comm@%u mm@%u; mm pgd@%u; "
	       "current_task per-cpu +0x%llx\n", l.task_struct_size, l.task_tasks.offset,
	       l.task_pid.offset, l.task_comm.offset, l.task_mm.offset, l.mm_pgd.offset,
	       (unsigned long long)l.current_task);

	unsigned major, minor;
	if (kernel_version(&major, &minor)) {
		/* 6.1 moved VMAs into the maple tree and dropped mm->mmap */
		bool maple = major > 6 || (major == 6 && minor >= 1);
		CHECK_EQ(l.vmas_in_maple_tree, maple);
		CHECK_EQ(l.mm_mmap.present, !maple);
	} else {
		SKIP("VMA container against the kernel version: no config beside the kernel");
	}
	CHECK(l.task_comm.size == 16);	/* TASK_COMM_LEN */
	CHECK(l.task_pid.size == 4 && l.task_tgid.size == 4);
	CHECK(l.module_core_base.present && l.module_core_size.present);
	/* mm_context_t's `void __user *vdso` (arch/x86/include/asm/mmu.h) */
	CHECK(l.mm_context_vdso.present && l.mm_context_vdso.size == 8);
	CHECK_EQ(l.list_next.offset, 0);
	CHECK_EQ(l.list_prev.offset, 8);

	uint64_t it = l.init_task;
	const char *comm = (const char *)osi_vmlinux_at(&vm, it + l.task_comm.offset, 16);
	CHECK(comm && !strcmp(comm, "swapper"));
	CHECK_EQ(rd(it + l.task_pid.offset, 4), 0);
	CHECK_EQ(rd(it + l.task_tgid.offset, 4), 0);
	uint64_t tasks = it + l.task_tasks.offset;
	CHECK_EQ(rd(tasks + l.list_next.offset, 8), tasks);
	CHECK_EQ(rd(tasks + l.list_prev.offset, 8), tasks);
	CHECK_EQ(rd(it + l.task_real_parent.offset, 8), it);
	CHECK_EQ(rd(it + l.task_group_leader.offset, 8), it);
	CHECK_EQ(rd(it + l.task_mm.offset, 8), 0);
	CHECK_EQ(rd(it + l.task_active_mm.offset, 8), l.init_mm);
	CHECK_EQ(rd(it + l.task_signal.offset, 8), osi_kallsyms_addr(&ks, "init_signals"));
	CHECK(rd(it + l.task_flags.offset, 4) & PF_KTHREAD);
	if (l.task_thread_group.present) {
		uint64_t tg = it + l.task_thread_group.offset;
		CHECK_EQ(rd(tg, 8), tg);
	}
	/* x86-64 spells swapper_pg_dir init_top_pgt (asm/pgtable_64.h) */
	CHECK_EQ(rd(l.init_mm + l.mm_pgd.offset, 8), osi_kallsyms_addr(&ks, "init_top_pgt"));
	CHECK_EQ(rd(l.modules, 8), l.modules);

	const struct osi_section *pcpu = osi_vmlinux_section(&vm, ".data..percpu");
	CHECK(pcpu && l.current_task + 8 <= pcpu->size);
	CHECK_EQ(osi_linux_kaslr_slide(&l, l.entry_syscall_64 + 0x2e00000), 0x2e00000);
out:
	osi_kallsyms_free(&ks);
	osi_btf_free(&btf);
	osi_vmlinux_close(&vm);
}

/* A BTF with list_head and a task_struct that has only 'tasks'. */
static void test_missing_member(void)
{
	static const char strs[] = "\0list_head\0next\0prev\0task_struct\0tasks";
	enum { S_LIST = 1, S_NEXT = 11, S_PREV = 16, S_TASK = 21, S_TASKS = 33 };
	uint32_t t[] = {
		/* 1: struct list_head { list_head *next, *prev; } */
		S_LIST, 4u << 24 | 2, 16, S_NEXT, 2, 0, S_PREV, 2, 64,
		/* 2: pointer to 1 */
		0, 2u << 24, 1,
		/* 3: struct task_struct { list_head tasks; } */
		S_TASK, 4u << 24 | 1, 16, S_TASKS, 1, 0,
	};
	static uint8_t blob[512];
	uint32_t h[6] = { 0x0001eb9f, 24, 0, sizeof t, sizeof t, sizeof strs };
	memcpy(blob, h, sizeof h);
	memcpy(blob + 24, t, sizeof t);
	memcpy(blob + 24 + sizeof t, strs, sizeof strs);
	struct osi_btf btf;
	char err[300] = "";
	CHECK_EQ(osi_btf_load(&btf, blob, 24 + sizeof t + sizeof strs, err, sizeof err), 0);
	struct osi_kallsyms ks;
	memset(&ks, 0, sizeof ks);
	struct osi_linux_layout l;
	CHECK_EQ(osi_linux_layout_fill(&l, &btf, &ks, err, sizeof err), -1);
	if (strcmp(err, "guest kernel layout: task_struct has no member 'pid'"))
		fprintf(stderr, "error: %s\n", err);
	CHECK(!strcmp(err, "guest kernel layout: task_struct has no member 'pid'"));
	osi_btf_free(&btf);
}

void unit_main(void)
{
	test_missing_member();
	test_kernel();
}
