/*
 * Attributed coverage for loom-system (syscov.h): which process, file and
 * offset, or which part of the kernel, each executed block belongs to.
 *
 * Blocks are translated per (virtual pc, physical pc) and shared by every
 * process that maps the same code at the same address, so the block alone
 * does not say who ran it.  Each translated block has a site (its pc,
 * physical pc and size, kept for the life of loom-system because
 * generated code points into it):
 *
 * - a kernel block (CPL 0) stores 1 into its site's tag.  It is
 *   named when translated: [kernel] with its offset from _text, a
 *   module's name with its offset from the module's core text, found on
 *   the guest's module list (cached, walked again on a miss), or
 *   [kernel]:[unknown] (BPF programs, trampolines, a module's init code;
 *   a module per 4 GiB, its offsets those of the address);
 * - a user block compares its site's tag, the last context that ran it,
 *   with the current context (a load from env, a compare with the tag in
 *   memory, a branch) and calls the helper, out of line, only when they
 *   differ: a block run again by the same process costs one compare.
 *
 * The current context is a number for a (tgid, mm) pair, or unknown.  An
 * address-space switch (a CR3 write loading neither the current process's
 * kernel root nor its user root, the two of page-table isolation) makes
 * it unknown, so the next user block's helper reads the running task from
 * the guest (its GS base) and finds or makes the context.  A process that exits and a new one that gets its page-table
 * root again are two contexts: the switch between them goes through CR3
 * (the old root cannot be freed while it is loaded), and the new one has
 * another tgid.
 *
 * A block is resolved when its context first runs it, not when the file
 * is written: by then a short-lived process (a CGI child) is gone.  Each
 * context keeps a copy of its executable file mappings, taken when it is
 * made and again when a block lies outside all of them (a library mapped
 * since); offsets are file offsets (pc - vm_start + vm_pgoff * 4096).
 * Code in an executable mapping of no file is comm[pid]:[vdso] for the
 * vDSO (where mm->context.vdso says it is) and comm[pid]:[anon] for the
 * rest (JIT code), its offset from the mapping's start.
 *
 * Threads: everything that changes state runs on the vCPU's thread
 * (translation, the helper, the CR3 hook) except cov write/clear/count
 * from the control channel's thread; one lock covers the model, sites
 * and contexts.  Invariant: a site is never freed or moved (translated
 * code holds its address), and is shared by retranslations of its block.
 */
#include "system/syscov.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/x86/cpu.h"
#include "guest/x86/sys.h"
#include "instrument/covfile.h"
#include "instrument/instrument.h"
#include "instrument/vcpu-state.h"
#include "ir/ir.h"
#include "ir/tb.h"
#include "system/introspect.h"
#include "system/machine.h"
#include "util/log.h"

#define PTE_ADDR 0x000ffffffffff000ull
#define VM_EXEC 0x4ull			/* include/linux/mm.h */
#define SITE_HASH (1u << 16)

struct site {
	/* user: the last context that ran it (generated code reads);
	 * kernel: nonzero when it ran since the last clear (generated code
	 * writes).  In tags[] while there is room. */
	uint32_t *tag;
	uint32_t own_tag;		/* the tag when tags[] is full */
	bool kernel;
	int32_t mod;			/* kernel: the model's module, -1 not yet named */
	uint64_t pc, phys, off;
	uint32_t size;
	struct site *hash_next, *all_next;
};

struct map {
	uint64_t start, end, off;	/* [start, end) maps the file from off */
	int32_t mod;
};

struct context {
	int32_t pid;			/* the tgid */
	uint64_t leader;		/* the group leader's task_struct, whose comm names it */
	uint64_t mm, root;		/* root: the cr3 of its kernel half */
	char comm[OSI_TASK_COMM_LEN + 1];
	struct map *maps;
	size_t nmaps;
};

/* The current context is the vCPU's instrument_vcpu.cov_context, which
 * generated code reads from env (its low 32 bits): an id from 1, or
 * CTX_UNKNOWN (0, a new vCPU's).  A user site's tag holds CTX_NONE until a
 * context runs it, which no current context equals. */
#define CTX_UNKNOWN 0
#define CTX_NONE UINT32_MAX

/*
 * The sites' tags, packed in translation order in loom's static data,
 * which lies within 2 GiB of the code cache: the code compares a tag in
 * place, RIP-relative (`cmp reg, [rip+disp32]`), without loading its
 * 64-bit address first, and the tags of blocks translated together share
 * cache lines.  16 MiB of address space, touched only as far as it is
 * used; sites past it keep their tag in themselves (and their code loads
 * its address).
 */
#define TAGS (1u << 22)
static uint32_t tags[TAGS];
static uint32_t ntags;

static uint64_t *cur_ctx(void)
{
	return &instrument_vcpu(machine.cpu)->cov_context;
}

static struct {
	bool configured, have_os;
	int format;
	struct instrument_tool tool;
	pthread_mutex_t lock;
	struct cov_model *model;
	struct site *hash[SITE_HASH], *all;
	struct context *ctxs;		/* context n is ctxs[n - 1] */
	size_t nctx, ctx_cap;
	uint64_t roots[2];		/* the current context's CR3 roots */
	int32_t *modhash;		/* open addressing over (path, base): module + 1 */
	size_t modhash_size;
	struct osi_module *mods;	/* the guest's modules as last read */
	size_t nmods;
	int32_t kernel_mod;
	struct ir_ctx *helper_ir;
	uint32_t helper;
} sc = { .lock = PTHREAD_MUTEX_INITIALIZER, .kernel_mod = -1 };

static size_t module_hash(const char *path, uint64_t base)
{
	uint64_t h = 0xcbf29ce484222325ull ^ base;	/* FNV-1a over the path */
	for (const char *p = path; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
	return (size_t)(h ^ h >> 29);
}

static void modhash_insert(int32_t i)
{
	const struct cov_module *m = &sc.model->mods[i];
	size_t k = module_hash(m->path, m->base) & (sc.modhash_size - 1);
	while (sc.modhash[k])
		k = (k + 1) & (sc.modhash_size - 1);
	sc.modhash[k] = i + 1;
}

/* The model's module called path at base, made if new (a process makes
 * one per file it maps, so there may be thousands: hashed). */
static int32_t module(const char *path, uint64_t base, uint64_t end)
{
	size_t mask = sc.modhash_size - 1;
	for (size_t k = sc.modhash_size ? module_hash(path, base) & mask : 0;
	     sc.modhash_size && sc.modhash[k]; k = (k + 1) & mask) {
		struct cov_module *m = &sc.model->mods[sc.modhash[k] - 1];
		if (m->base == base && !strcmp(m->path, path)) {
			if (end > m->end)
				m->end = end;
			return sc.modhash[k] - 1;
		}
	}
	int i = cov_add_module(sc.model, path, base, end, 0);
	if (i < 0)
		fatal(LOOM_EXIT_USAGE, "-cov: out of memory");
	if (2 * sc.model->nmods > sc.modhash_size) {
		free(sc.modhash);
		sc.modhash_size = sc.modhash_size ? sc.modhash_size * 2 : 256;
		sc.modhash = calloc(sc.modhash_size, sizeof(*sc.modhash));
		if (!sc.modhash)
			fatal(LOOM_EXIT_USAGE, "-cov: out of memory");
		for (size_t j = 0; j < sc.model->nmods; j++)
			modhash_insert((int32_t)j);
	} else {
		modhash_insert(i);
	}
	return i;
}

/* ---- kernel blocks ---------------------------------------------------------- */

static int add_mod(void *arg, const struct osi_module *m)
{
	struct osi_module **v = arg;
	struct osi_module *n = realloc(*v, (sc.nmods + 1) * sizeof(*n));
	if (!n)
		return 1;
	n[sc.nmods++] = *m;
	*v = n;
	return 0;
}

static const struct osi_module *find_module(uint64_t pc)
{
	for (size_t i = 0; i < sc.nmods; i++)
		if (pc - sc.mods[i].base < sc.mods[i].size)
			return &sc.mods[i];
	return NULL;
}

/*
 * Name a kernel site: [kernel], a module, or [kernel]:[unknown].  On the
 * vCPU's thread (may_read) a pc in no known module reads the module list
 * again, and a site is left unnamed until the kernel has set up LSTAR;
 * otherwise nothing is read and what cannot be named is unknown.
 */
static void name_kernel_site(struct site *s, bool may_read)
{
	uint64_t base, size;
	if (sc.have_os && introspect_kernel_range(&base, &size) == 0) {
		if (s->pc - base < size) {
			/* (a reset may boot the kernel at another address) */
			if (sc.kernel_mod < 0 || sc.model->mods[sc.kernel_mod].base != base)
				sc.kernel_mod = module("[kernel]", base, base + size);
			s->mod = sc.kernel_mod;
			s->off = s->pc - base;
			return;
		}
		const struct osi_module *m = find_module(s->pc);
		struct osi_linux os;
		char err[200];
		if (!m && may_read && introspect_os(&os, err, sizeof err) == 0) {
			free(sc.mods);
			sc.mods = NULL;
			sc.nmods = 0;
			osi_linux_modules(&os, add_mod, &sc.mods, err, sizeof err);
			m = find_module(s->pc);
		}
		if (m) {
			char path[OSI_MODULE_NAME_LEN + 16];
			snprintf(path, sizeof path, "[kernel]:%s", m->name);
			s->mod = module(path, m->base, m->base + m->size);
			s->off = s->pc - m->base;
			return;
		}
	} else if (sc.have_os && may_read) {
		return;
	}
	/* a module per 4 GiB, which keeps offsets within drcov's 32 bits */
	base = s->pc & ~0xffffffffull;
	s->mod = module("[kernel]:[unknown]", base, base + 0x100000000ull);
	s->off = s->pc - base;
}

/* ---- user blocks ------------------------------------------------------------ */

struct snap {
	const struct osi_linux *os;
	struct context *c;
	uint64_t vdso;		/* where mm->context.vdso says, or 0 */
};

static int snap_vma(void *arg, const struct osi_vma *v)
{
	struct snap *sn = arg;
	struct context *c = sn->c;
	if (!(v->flags & VM_EXEC))
		return 0;
	char path[4096], name[4096 + 40];
	if (!v->file)	/* named as /proc/PID/maps names them */
		snprintf(path, sizeof path, v->start == sn->vdso ? "[vdso]" : "[anon]");
	else if (osi_linux_file_path(sn->os, v->file, path, sizeof path) < 0)
		snprintf(path, sizeof path, "[unreadable]");
	snprintf(name, sizeof name, "#%zu:%s", (size_t)(c - sc.ctxs) + 1, path);
	struct map *m = realloc(c->maps, (c->nmaps + 1) * sizeof(*m));
	if (!m)
		return 1;
	c->maps = m;
	uint64_t off = v->file ? v->pgoff * 4096 : 0;
	m[c->nmaps++] = (struct map){ v->start, v->end, off,
				      module(name, v->start - off, v->end) };
	return 0;
}

static void snapshot(const struct osi_linux *os, struct context *c)
{
	char err[200];
	c->nmaps = 0;
	struct snap sn = { os, c, 0 };
	if (c->mm && osi_linux_mm_vdso(os, c->mm, &sn.vdso) < 0)
		sn.vdso = 0;
	if (c->mm)
		osi_linux_vmas(os, c->mm, snap_vma, &sn, err, sizeof err);
}

static const struct map *find_map(const struct context *c, uint64_t pc)
{
	for (size_t i = 0; i < c->nmaps; i++)
		if (pc - c->maps[i].start < c->maps[i].end - c->maps[i].start)
			return &c->maps[i];
	return NULL;
}

static uint64_t new_context(int32_t pid, uint64_t leader, uint64_t mm, uint64_t root,
			    const char *comm)
{
	if (sc.nctx == sc.ctx_cap) {
		size_t cap = sc.ctx_cap ? sc.ctx_cap * 2 : 64;
		struct context *n = realloc(sc.ctxs, cap * sizeof(*n));
		if (!n)
			fatal(LOOM_EXIT_USAGE, "-cov: out of memory");
		sc.ctxs = n;
		sc.ctx_cap = cap;
	}
	struct context *c = &sc.ctxs[sc.nctx++];
	*c = (struct context){ .pid = pid, .leader = leader, .mm = mm, .root = root };
	snprintf(c->comm, sizeof c->comm, "%s", comm);
	return sc.nctx;
}

/* The context of the running process (it is in user mode: its task is
 * current); made, with its mappings, when new. */
static uint64_t current_context(struct osi_linux *os, bool *have)
{
	uint64_t cr3 = machine.cpu->sys->cr3 & PTE_ADDR;
	char err[200];
	uint64_t task;
	struct osi_proc p;
	*have = sc.have_os && introspect_os(os, err, sizeof err) == 0 &&
		introspect_current_task(os, machine.cpu, &task) == 0 && osi_linux_proc(os, task, &p) == 0 &&
		p.mm;
	if (!*have) {
		/* Not a Linux loom can read: one context per root. */
		sc.roots[0] = sc.roots[1] = cr3;
		for (size_t i = 0; i < sc.nctx; i++)
			if (!sc.ctxs[i].mm && sc.ctxs[i].root == cr3)
				return i + 1;
		return new_context(0, 0, 0, cr3, "[unknown]");
	}
	uint64_t leader = task;
	if (p.pid != p.tgid) {
		/* a thread: the process's name is its leader's */
		struct osi_proc lp;
		const struct osi_field f = os->layout->task_group_leader;
		if (os->mem.read(os->mem.ctx, task + f.offset, &leader, 8) == 0 && leader &&
		    osi_linux_proc(os, leader, &lp) == 0)
			memcpy(p.comm, lp.comm, sizeof p.comm);
		else
			leader = 0;
	}
	uint64_t root = introspect_pgd_root(p.pgd);
	sc.roots[0] = cr3;
	sc.roots[1] = root;
	for (size_t i = sc.nctx; i-- > 0;)
		if (sc.ctxs[i].pid == p.tgid && sc.ctxs[i].mm == p.mm)
			return i + 1;
	uint64_t id = new_context(p.tgid, leader, p.mm, root, p.comm);
	snapshot(os, &sc.ctxs[id - 1]);
	return id;
}

/* A process names itself after exec (busybox runs its applets through
 * /proc/self/exe, then sets the applet's name): the name is read again
 * whenever the process runs a block new to it, and the files are named
 * with the last one. */
static void refresh_comm(struct context *c)
{
	char comm[OSI_TASK_COMM_LEN];
	struct osi_linux os;
	char err[200];
	if (!c->leader || introspect_os(&os, err, sizeof err) < 0)
		return;
	const struct osi_field f = os.layout->task_comm;
	if (os.mem.read(os.mem.ctx, c->leader + f.offset, comm, sizeof comm) == 0)
		snprintf(c->comm, sizeof c->comm, "%.*s", (int)sizeof comm, comm);
}

/* A user block whose site's context is not the current one. */
static void syscov_helper(uint64_t arg)
{
	struct site *s = (struct site *)(uintptr_t)arg;
	pthread_mutex_lock(&sc.lock);
	struct osi_linux os;
	bool have = false;
	uint64_t *cur = cur_ctx();
	if (*cur == CTX_UNKNOWN)
		*cur = current_context(&os, &have);
	uint64_t id = *cur;
	if (*s->tag != id) {
		struct context *c = &sc.ctxs[id - 1];
		refresh_comm(c);
		const struct map *m = find_map(c, s->pc);
		char err[200];
		if (!m && c->mm && (have || introspect_os(&os, err, sizeof err) == 0)) {
			snapshot(&os, c);	/* mapped since the last look? */
			m = find_map(c, s->pc);
		}
		if (m) {
			cov_add_block(sc.model, (uint32_t)m->mod, s->pc - m->start + m->off, s->size, 0);
		} else {
			/* in no executable mapping the walk found: a module per
			 * 4 GiB, which keeps offsets within drcov's 32 bits */
			char name[64];
			uint64_t base = s->pc & ~0xffffffffull;
			snprintf(name, sizeof name, "#%zu:[anon]", (size_t)id);
			int32_t mod = module(name, base, base + 0x100000000ull);
			cov_add_block(sc.model, (uint32_t)mod, s->pc - base, s->size, 0);
		}
		__atomic_store_n(s->tag, (uint32_t)id, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&sc.lock);
}

void syscov_cr3_written(struct cpu *cpu, uint64_t cr3)
{
	uint64_t r = cr3 & PTE_ADDR;
	if (!sc.tool.enabled || r == sc.roots[0] || r == sc.roots[1])
		return;
	sc.roots[0] = sc.roots[1] = ~0ull;
	instrument_vcpu(cpu)->cov_context = CTX_UNKNOWN;
}

/* ---- translation -------------------------------------------------------------- */

static struct site *site_for(const struct tb *tb)
{
	uint64_t h = (tb->pc * 0x9e3779b97f4a7c15ull ^ tb->phys_pc) >> 48;
	struct site **b = &sc.hash[h % SITE_HASH];
	for (struct site *s = *b; s; s = s->hash_next)
		if (s->pc == tb->pc && s->phys == tb->phys_pc && s->size == tb->guest_size)
			return s;
	struct site *s = calloc(1, sizeof(*s));
	if (!s)
		fatal(LOOM_EXIT_USAGE, "-cov: out of memory");
	s->pc = tb->pc;
	s->phys = tb->phys_pc;
	s->size = tb->guest_size;
	s->kernel = !(tb->flags & X86_CF_CPL3);
	s->mod = -1;
	s->tag = ntags < TAGS ? &tags[ntags++] : &s->own_tag;
	*s->tag = s->kernel ? 0 : CTX_NONE;
	s->hash_next = *b;
	*b = s;
	s->all_next = sc.all;
	sc.all = s;
	return s;
}

/* The guest kernel's layout, loaded when the first block is translated
 * for coverage, on the vCPU's thread (it takes most of a second, which a
 * machine that never records need not pay). */
static void load_os(void)
{
	static bool loaded;
	char err[300];
	if (loaded)
		return;
	loaded = true;
	sc.have_os = introspect_load(err, sizeof err) == 0;
	if (!sc.have_os)
		fprintf(stderr, "loom-system: coverage: no process attribution (%s): user blocks "
			"are [unknown][0]:[anon], kernel ones [kernel]:[unknown], by address\n", err);
}

/* The out-of-line path of the block being translated (translation is
 * serial): its site and labels, from tb_start to tb_end. */
static struct {
	struct site *site;
	uint32_t call, back;
} cold;

static void syscov_tb_start(struct ir_ctx *ir, const struct tb *tb, void *opaque)
{
	cold.site = NULL;
	pthread_mutex_lock(&sc.lock);
	load_os();
	struct site *s = site_for(tb);
	if (s->kernel && s->mod < 0)
		name_kernel_site(s, true);
	pthread_mutex_unlock(&sc.lock);
	if (s->kernel) {
		/* (the tag's low byte: a shorter instruction than a 32-bit store) */
		ir_emit(ir, IR_st_ptr, IR_I64,
			(ir_ref[]){ ir_const(ir, IR_I64, 1), ir_const(ir, IR_I64, (uintptr_t)s->tag) },
			(int64_t[]){ 0, IR_MO_8 });
		return;
	}
	if (sc.helper_ir != ir) {
		const struct ir_helper h = { "syscov", (void *)syscov_helper, IR_CALL_NO_GLOBALS, 1,
					     false };
		sc.helper = ir_add_helpers(ir, &h, 1);
		sc.helper_ir = ir;
	}
	/* (the low half of the 64-bit context: ids stay below 2^32) */
	ir_ref cur = ir_new_temp(ir, IR_I32), last = ir_new_temp(ir, IR_I32);
	ir_emit(ir, IR_ld_env, IR_I32, (ir_ref[]){ cur },
		(int64_t[]){ instrument_vcpu_off +
			     (int32_t)offsetof(struct instrument_vcpu, cov_context), IR_MO_32 });
	ir_emit(ir, IR_ld_ptr, IR_I32, (ir_ref[]){ last, ir_const(ir, IR_I64, (uintptr_t)s->tag) },
		(int64_t[]){ 0, IR_MO_32 });
	/* The helper's call is out of line, after the TB's end (tb_end): a
	 * block a process runs again runs the load, compare and branch
	 * only, and the call's dozen instructions do not sit in the
	 * instruction cache between them and the block's own code. */
	cold.site = s;
	cold.call = ir_new_label(ir);
	cold.back = ir_new_label(ir);
	ir_emit(ir, IR_brcond, IR_I32, (ir_ref[]){ cur, last }, (int64_t[]){ IR_NE, cold.call });
	ir_emit(ir, IR_set_label, IR_I64, NULL, (int64_t[]){ cold.back });
}

static void syscov_tb_end(struct ir_ctx *ir, const struct tb *tb, void *opaque)
{
	if (!cold.site)
		return;
	ir_emit(ir, IR_set_label, IR_I64, NULL, (int64_t[]){ cold.call });
	ir_call(ir, sc.helper, 0, (ir_ref[]){ ir_const(ir, IR_I64, (uintptr_t)cold.site) }, 1);
	ir_emit(ir, IR_br, IR_I64, NULL, (int64_t[]){ cold.back });
	cold.site = NULL;
}

/* ---- the recorder's commands --------------------------------------------------- */

void syscov_init(int format, bool running)
{
	sc.configured = true;
	sc.format = format;
	sc.model = cov_new();
	if (!sc.model)
		fatal(LOOM_EXIT_USAGE, "-cov: out of memory");
	sc.roots[0] = sc.roots[1] = ~0ull;
	sc.tool = (struct instrument_tool){ .name = "cov", .enabled = running,
					    .tb_start = syscov_tb_start, .tb_end = syscov_tb_end };
	instrument_add_tool(&sc.tool);
}

bool syscov_configured(void) { return sc.configured; }
bool syscov_running(void) { return sc.tool.enabled; }

void syscov_set_running(bool on)
{
	if (sc.tool.enabled == on)
		return;
	sc.tool.enabled = on;
	if (machine.cpu)
		__atomic_store_n(cur_ctx(), CTX_UNKNOWN, __ATOMIC_RELAXED);
	sc.roots[0] = sc.roots[1] = ~0ull;
	instrument_tools_changed();
}

void syscov_clear(void)
{
	pthread_mutex_lock(&sc.lock);
	cov_clear(sc.model);
	for (struct site *s = sc.all; s; s = s->all_next)
		__atomic_store_n(s->tag, s->kernel ? 0 : CTX_NONE, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&sc.lock);
}

/* Kernel blocks that ran go into the model (under the lock); ones not yet
 * named are named without reading the guest (this may be the control
 * thread, beside the running vCPU). */
static void fold_kernel(void)
{
	for (struct site *s = sc.all; s; s = s->all_next) {
		if (!s->kernel || !__atomic_load_n(s->tag, __ATOMIC_RELAXED))
			continue;
		if (s->mod < 0)
			name_kernel_site(s, false);
		cov_add_block(sc.model, (uint32_t)s->mod, s->off, s->size, 0);
	}
}

/* The file's model: the modules that have blocks, a process's named
 * "comm[pid]:/path" with its last name (the live model's "#CONTEXT:/path"
 * stays fixed while the name changes). */
static struct cov_model *output_model(void)
{
	struct cov_model *o = cov_new();
	int32_t *map = calloc(sc.model->nmods + 1, sizeof(*map));
	if (!o || !map) {
		free(map);
		if (o)
			cov_free(o);
		return NULL;
	}
	for (size_t i = 0; i < sc.model->nblocks; i++) {
		const struct cov_block *b = &sc.model->blocks[i];
		if (!map[b->mod]) {
			const struct cov_module *m = &sc.model->mods[b->mod];
			char *name = NULL, *colon;
			size_t ctx;
			if (m->path[0] == '#' && (ctx = strtoull(m->path + 1, &colon, 10)) &&
			    ctx <= sc.nctx && *colon == ':') {
				const struct context *c = &sc.ctxs[ctx - 1];
				if (asprintf(&name, "%s[%d]:%s", c->comm, c->pid, colon + 1) < 0)
					name = NULL;
			} else {
				name = strdup(m->path);
			}
			int k = name ? cov_add_module(o, name, m->base, m->end, 0) : -1;
			free(name);
			if (k < 0)
				goto fail;
			map[b->mod] = k + 1;
		}
		if (cov_add_block(o, (uint32_t)(map[b->mod] - 1), b->off, b->size, 0) < 0)
			goto fail;
	}
	free(map);
	return o;
fail:
	free(map);
	cov_free(o);
	return NULL;
}

size_t syscov_blocks(void)
{
	pthread_mutex_lock(&sc.lock);
	fold_kernel();
	size_t n = sc.model->nblocks;
	pthread_mutex_unlock(&sc.lock);
	return n;
}

int syscov_write(const char *path, int format, char *err, size_t errsz, size_t *n)
{
	if (format < 0)
		format = sc.format;
	if (format != COV_DRCOV && format != COV_MODOFF)
		return fail_msg(err, errsz, "%s: loom-system writes attributed coverage as drcov or "
				"modoff (bitmap: -cov-bitmap phys:START-END)", path);
	pthread_mutex_lock(&sc.lock);
	fold_kernel();
	struct cov_model *out = output_model();
	int r = -1;
	if (!out) {
		fail_msg(err, errsz, "%s: out of memory", path);
	} else {
		struct cov_write_opts o = { 0 };
		r = cov_write(out, format, path, &o, err, errsz);
		if (n)
			*n = out->nblocks;
		cov_free(out);
	}
	pthread_mutex_unlock(&sc.lock);
	return r;
}
