/*
 * Introspection of the running guest (introspect.h): system/osi/'s walks
 * given a reader of kernel virtual memory over loom-system's RAM.
 *
 * The reader walks the kernel's own top-level table, init_top_pgt, never
 * the CR3 the vCPU happens to hold: with page-table isolation a process's
 * user CR3 maps almost none of the kernel, and every process's kernel half
 * is a copy of init_top_pgt's entries.  Its physical address comes from
 * the kernel image being mapped linearly (virtual = physical + a constant,
 * both moved by KASLR): entry_SYSCALL_64, whose run-time address is LSTAR,
 * is mapped in every address space (the CPU enters it with the user's
 * CR3), so one walk of LSTAR through the current CR3 gives that constant,
 * and init_top_pgt's place follows.  The constant is recomputed when LSTAR
 * changes (a reset boots the kernel again, maybe elsewhere).
 *
 * Reads go to RAM only (physmem_ptr): a kernel structure never lives in a
 * device's registers, and reading one could have side effects.
 */
#include "system/introspect.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/x86/cpu.h"
#include "guest/x86/sys.h"
#include "system/cmdline.h"
#include "system/machine.h"
#include "system/osi/btf.h"
#include "system/osi/cache.h"
#include "system/osi/kallsyms.h"
#include "system/osi/linux.h"
#include "system/osi/vmlinux.h"
#include "system/physmem.h"
#include "util/log.h"

#define PTE_P (1ull << 0)
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define VM_EXEC 0x4ull		/* include/linux/mm.h */

static struct {
	bool tried, ok;
	char err[256];
	struct osi_linux_layout layout;
	uint64_t init_top_pgt, end;	/* link-time */
	/* the reader's root, valid while LSTAR is lstar */
	uint64_t lstar, root;
} is;

int introspect_load(char *err, size_t errsz)
{
	if (is.tried) {
		if (!is.ok)
			snprintf(err, errsz, "%s", is.err);
		return is.ok ? 0 : -1;
	}
	is.tried = true;
	struct osi_vmlinux vm;
	struct osi_kallsyms ks;
	struct osi_btf btf;
	const char *k = system_opts.kernel;
	char why[200], cwhy[4400];
	if (!k) {
		snprintf(is.err, sizeof is.err, "no -kernel to read the guest's layout from");
		goto out;
	}
	/* the layout cache (osi/cache.h): a record for these very bytes */
	const char *cdir = osi_cache_dir();
	uint64_t khash, ksize;
	bool keyed = cdir && osi_cache_key(k, &khash, &ksize, cwhy, sizeof cwhy) == 0;
	if (keyed) {
		struct osi_cache_entry ce;
		int got = osi_cache_load(cdir, khash, ksize, &ce, cwhy, sizeof cwhy);
		if (got > 0) {
			is.layout = ce.layout;
			is.init_top_pgt = ce.init_top_pgt;
			is.end = ce.end;
			is.ok = true;
			goto out;
		}
		if (got < 0)
			fprintf(stderr, "loom-system: warning: introspection cache ignored: %s\n", cwhy);
	}
	if (osi_vmlinux_open(&vm, k, is.err, sizeof is.err) < 0)
		goto out;	/* the message names the file */
	const struct osi_section *s = osi_vmlinux_section(&vm, ".BTF");
	if (!s || !osi_section_data(&vm, s)) {
		snprintf(is.err, sizeof is.err, "%s: the kernel has no BTF (CONFIG_DEBUG_INFO_BTF)",
			 k);
		osi_vmlinux_close(&vm);
		goto out;
	}
	if (osi_kallsyms_load(&ks, &vm, why, sizeof why) < 0) {
		snprintf(is.err, sizeof is.err, "%s: %s", k, why);
		osi_vmlinux_close(&vm);
		goto out;
	}
	if (osi_btf_load(&btf, osi_section_data(&vm, s), s->size, why, sizeof why) < 0) {
		snprintf(is.err, sizeof is.err, "%s: %s", k, why);
	} else {
		if (osi_linux_layout_fill(&is.layout, &btf, &ks, why, sizeof why) < 0)
			snprintf(is.err, sizeof is.err, "%s: %s", k, why);
		else if (!(is.init_top_pgt = osi_kallsyms_addr(&ks, "init_top_pgt")) ||
			 !(is.end = osi_kallsyms_addr(&ks, "_end")))
			snprintf(is.err, sizeof is.err, "%s: no init_top_pgt or _end in kallsyms",
				 k);
		else
			is.ok = true;
		osi_btf_free(&btf);
		struct osi_cache_entry ce = { is.layout, is.init_top_pgt, is.end };
		if (is.ok && keyed && osi_cache_store(cdir, khash, ksize, &ce, cwhy, sizeof cwhy) < 0)
			log_printf("introspection cache not written: %s\n", cwhy);
	}
	osi_kallsyms_free(&ks);
	osi_vmlinux_close(&vm);
out:
	if (!is.ok)
		snprintf(err, errsz, "%s", is.err);
	return is.ok ? 0 : -1;
}

const struct osi_linux_layout *introspect_layout(char *err, size_t errsz)
{
	return introspect_load(err, errsz) == 0 ? &is.layout : NULL;
}

/* 4-level walk (the kernel's and loom's: no LA57) from a PML4 at root. */
static uint64_t walk(uint64_t root, uint64_t va)
{
	uint64_t table = root & PTE_ADDR;
	for (int level = 3; level >= 0; level--) {
		unsigned shift = 12 + 9 * level;
		const uint64_t *e = physmem_ptr(table + ((va >> shift) & 511) * 8, 8);
		if (!e)
			return -1;
		uint64_t pte = __atomic_load_n(e, __ATOMIC_RELAXED);
		if (!(pte & PTE_P))
			return -1;
		if (level == 0 || (level <= 2 && (pte & PTE_PS))) {
			uint64_t mask = (1ull << shift) - 1;
			return ((pte & PTE_ADDR) & ~mask) | (va & mask);
		}
		table = pte & PTE_ADDR;
	}
	return -1;
}

uint64_t introspect_kva_to_pa(uint64_t va)
{
	return is.root ? walk(is.root, va) : (uint64_t)-1;
}

static int kmem_read(void *ctx, uint64_t va, void *buf, size_t len)
{
	uint8_t *b = buf;
	while (len) {
		size_t n = 4096 - (va & 4095);
		if (n > len)
			n = len;
		uint64_t pa = introspect_kva_to_pa(va);
		const void *p = pa == (uint64_t)-1 ? NULL : physmem_ptr(pa, n);
		if (!p)
			return -1;
		memcpy(b, p, n);
		b += n;
		va += n;
		len -= n;
	}
	return 0;
}

int introspect_os(struct osi_linux *os, char *err, size_t errsz)
{
	if (introspect_load(err, errsz) < 0)
		return -1;
	struct cpu *cpu = machine.cpu;
	if (!cpu || !cpu->sys)
		return fail_msg(err, errsz, "no vCPU");
	uint64_t lstar = cpu->sys->lstar;
	if (lstar < INTROSPECT_KERNEL_VA)
		return fail_msg(err, errsz, "the guest kernel has not set up system calls yet "
				"(LSTAR %#" PRIx64 ")", lstar);
	if (lstar != is.lstar || !is.root) {
		uint64_t pa = walk(cpu->sys->cr3, lstar);
		if (pa == (uint64_t)-1)
			return fail_msg(err, errsz, "LSTAR %#" PRIx64 " is not mapped by CR3 %#"
					PRIx64, lstar, cpu->sys->cr3);
		uint64_t slide = osi_linux_kaslr_slide(&is.layout, lstar);
		is.root = is.init_top_pgt + slide - lstar + pa;
		is.lstar = lstar;
	}
	*os = (struct osi_linux){ .layout = &is.layout,
				  .slide = osi_linux_kaslr_slide(&is.layout, lstar),
				  .mem = { kmem_read, NULL } };
	return 0;
}

void introspect_kernel_text(const struct osi_linux *os, uint64_t *base, uint64_t *size)
{
	*base = is.layout.text + os->slide;
	*size = is.end - is.layout.text;
}

int introspect_kernel_range(uint64_t *base, uint64_t *size)
{
	struct cpu *cpu = machine.cpu;
	uint64_t lstar = cpu && cpu->sys ? __atomic_load_n(&cpu->sys->lstar, __ATOMIC_RELAXED) : 0;
	if (!is.ok || lstar < INTROSPECT_KERNEL_VA)
		return -1;
	*base = is.layout.text + osi_linux_kaslr_slide(&is.layout, lstar);
	*size = is.end - is.layout.text;
	return 0;
}

uint64_t introspect_pgd_root(uint64_t pgd)
{
	uint64_t pa = pgd ? introspect_kva_to_pa(pgd) : (uint64_t)-1;
	return pa == (uint64_t)-1 ? 0 : pa;
}

/* The kernel's GS base: KERNEL_GS_BASE while user code runs (swapgs
 * exchanges the two on kernel entry and exit), GS.base in the kernel.
 * Around swapgs, at CPL 0 with the user's GS still loaded, the two are told
 * apart by which one holds a kernel address; at CPL 3 GS.base is the user's
 * even when it holds one (wrgsbase takes any canonical address). */
int introspect_current_task(const struct osi_linux *os, const struct cpu *cpu, uint64_t *task)
{
	bool user = cpu->sys->cpl == 3;
	uint64_t gs = user ? cpu->sys->kernel_gs_base : cpu->gs_base;
	if (gs < INTROSPECT_KERNEL_VA)
		gs = user ? cpu->gs_base : cpu->sys->kernel_gs_base;
	if (gs < INTROSPECT_KERNEL_VA)
		return -1;	/* no per-CPU area yet */
	return osi_linux_current(os, gs, task);
}

/* ---- info procs ----------------------------------------------------------- */

struct procs_out {
	const struct osi_linux *os;
	FILE *out;
	int leader;		/* pid of the group being listed */
};

static void proc_line(FILE *out, const struct osi_proc *p, const char *kind)
{
	uint64_t root = introspect_pgd_root(p->pgd);
	if (root)
		fprintf(out, "%7d %7d  %-7s 0x%016" PRIx64 "  %s\n", p->pid, p->ppid, kind, root,
			p->comm);
	else
		fprintf(out, "%7d %7d  %-7s %-18s  %s\n", p->pid, p->ppid, kind, "-", p->comm);
}

static int thread_cb(void *arg, const struct osi_proc *p)
{
	struct procs_out *po = arg;
	if (p->pid != po->leader)
		proc_line(po->out, p, "thread");
	return 0;
}

static int proc_cb(void *arg, const struct osi_proc *p)
{
	struct procs_out *po = arg;
	proc_line(po->out, p, p->kthread ? "kthread" : "user");
	po->leader = p->pid;
	char err[200];
	if (osi_linux_threads(po->os, p->task, thread_cb, po, err, sizeof err) < 0)
		fprintf(po->out, "  (threads of %d: %s)\n", p->pid, err);
	return 0;
}

void introspect_info_procs(void *opaque, FILE *out)
{
	struct osi_linux os;
	char err[300];
	if (introspect_os(&os, err, sizeof err) < 0) {
		fprintf(out, "info procs: %s\n", err);
		return;
	}
	fprintf(out, "%7s %7s  %-7s %-18s  %s\n", "PID", "PPID", "KIND", "ROOT", "NAME");
	struct procs_out po = { &os, out, 0 };
	if (osi_linux_procs(&os, proc_cb, &po, err, sizeof err) < 0)
		fprintf(out, "info procs: %s\n", err);
}

/* ---- info modules --------------------------------------------------------- */

static int module_cb(void *arg, const struct osi_module *m)
{
	fprintf(arg, "%-24s 0x%016" PRIx64 "  0x%" PRIx64 "\n", m->name, m->base, m->size);
	return 0;
}

struct find_pid {
	int pid;
	struct osi_proc p;
	bool found;
};

static int find_pid_cb(void *arg, const struct osi_proc *p)
{
	struct find_pid *f = arg;
	if (p->pid != f->pid)
		return 0;
	f->p = *p;
	f->found = true;
	return 1;
}

struct vma_out {
	const struct osi_linux *os;
	FILE *out;
};

static int vma_cb(void *arg, const struct osi_vma *v)
{
	struct vma_out *vo = arg;
	if (!v->file || !(v->flags & VM_EXEC))
		return 0;
	char path[4096];
	if (osi_linux_file_path(vo->os, v->file, path, sizeof path) < 0)
		snprintf(path, sizeof path, "(unreadable path)");
	fprintf(vo->out, "0x%016" PRIx64 "  0x%016" PRIx64 "  0x%08" PRIx64 "  %s\n", v->start,
		v->end, v->pgoff * 4096, path);
	return 0;
}

void introspect_info_modules(void *opaque, const char *args, FILE *out)
{
	struct osi_linux os;
	char err[300];
	if (introspect_os(&os, err, sizeof err) < 0) {
		fprintf(out, "info modules: %s\n", err);
		return;
	}
	while (*args == ' ')
		args++;
	if (!*args) {
		uint64_t base, size;
		introspect_kernel_text(&os, &base, &size);
		fprintf(out, "%-24s %-18s  %s\n", "NAME", "BASE", "SIZE");
		fprintf(out, "%-24s 0x%016" PRIx64 "  0x%" PRIx64 "\n", "[kernel]", base, size);
		if (osi_linux_modules(&os, module_cb, out, err, sizeof err) < 0)
			fprintf(out, "info modules: %s\n", err);
		return;
	}
	char *end;
	long pid = strtol(args, &end, 10);
	while (*end == ' ')
		end++;
	if (end == args || *end || pid < 0 || pid > INT32_MAX) {
		fprintf(out, "info modules: '%s' is not a process id\n", args);
		return;
	}
	struct find_pid f = { .pid = (int)pid };
	if (osi_linux_procs(&os, find_pid_cb, &f, err, sizeof err) < 0) {
		fprintf(out, "info modules: %s\n", err);
		return;
	}
	if (!f.found) {
		fprintf(out, "info modules: no process %ld\n", pid);
		return;
	}
	if (!f.p.mm) {
		fprintf(out, "info modules: process %ld (%s) is a kernel thread: no mappings\n",
			pid, f.p.comm);
		return;
	}
	fprintf(out, "%-18s  %-18s  %-10s  %s\n", "START", "END", "OFFSET", "PATH");
	struct vma_out vo = { &os, out };
	if (osi_linux_vmas(&os, f.p.mm, vma_cb, &vo, err, sizeof err) < 0)
		fprintf(out, "info modules: %s\n", err);
}
