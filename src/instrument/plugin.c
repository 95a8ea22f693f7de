/*
 * Plugins: parsing -plugin specs, loading shared objects and checking their
 * API version, plugin ids, the per-plugin callbacks that are not tied to a
 * TB (vCPU, syscall, discontinuity, flush, atexit, loom's translation
 * stages and TB hooks), signals between plugins, and enabling/disabling a
 * plugin's instrumentation at run time.
 *
 * Invariant: a registration or enable/disable that changes what future
 * translations would contain flushes the code cache (deferred to the next
 * TB boundary when it happens inside translated code), so no TB carries
 * stale instrumentation once the change has taken effect.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "guest/guest.h"
#include "instrument/afl.h"
#include "instrument/control.h"
#include "instrument/cov.h"
#include "instrument/plugin-internal.h"
#include "util/log.h"

bool instrument_active;
struct plugin **plugins;
int nplugins;
pthread_mutex_t plugin_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

#define ID_TAG 0x4c4f4f4d00000000ull	/* "LOOM" */

/* Specs recorded by -plugin, loaded by instrument_load_plugins. */
struct spec {
	char *path;
	char **argv;
	int argc;
	bool enabled;
};
static struct spec *specs;
static int nspecs;

struct plugin *plugin_of(qemu_plugin_id_t id, const char *fn)
{
	uint64_t i = id - ID_TAG;
	if (i < (uint64_t)nplugins && plugins[i] && !plugins[i]->gone)
		return plugins[i];
	if (log_enabled(LOG_PLUGIN))
		log_printf("loom: plugin: %s: no plugin has id 0x%llx\n", fn, (unsigned long long)id);
	return NULL;
}

/* ---- specs ---- */

static char *bundled_path(const char *name)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	char *p;
	if (asprintf(&p, "%s/plugins/lib%s.so", exe, name) < 0)
		return NULL;
	return p;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

bool instrument_wants_arena(void) { return nspecs > 0; }

char *instrument_add_plugin(const char *spec_text)
{
	char *copy = strdup(spec_text), *save = NULL, *tok;
	struct spec sp = { .enabled = true };
	const char *file = NULL;
	size_t cap = 8;

	sp.argv = calloc(cap, sizeof(char *));
	if (!copy || !sp.argv)
		fatal(LOOM_EXIT_USAGE, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!file && !strncmp(tok, "file=", 5)) {
			file = tok + 5;
		} else if (!file && !strchr(tok, '=') && sp.argc == 0) {
			file = tok;
		} else if (!strncmp(tok, "enabled=", 8)) {
			bool on;
			if (!qemu_plugin_bool_parse("enabled", tok + 8, &on)) {
				fprintf(stderr, "%s: -plugin %s: enabled= takes on or off\n", log_prog,
					spec_text);
				return NULL;
			}
			sp.enabled = on;
		} else {
			if ((size_t)sp.argc + 2 > cap) {
				cap *= 2;
				sp.argv = realloc(sp.argv, cap * sizeof(char *));
				if (!sp.argv)
					fatal(LOOM_EXIT_USAGE, "out of memory");
			}
			sp.argv[sp.argc++] = strdup(tok);
		}
	}
	if (!file || !*file) {
		fprintf(stderr, "%s: -plugin %s: no plugin file given (file=PATH or a bundled "
				"plugin's name)\n", log_prog, spec_text);
		return NULL;
	}
	char *path;
	if (!strchr(file, '/') && !ends_with(file, ".so"))
		path = bundled_path(file);
	else
		path = realpath(file, NULL);
	if (!path || access(path, R_OK) < 0) {
		fprintf(stderr, "%s: -plugin %s: %s%s\n", log_prog, file,
			!strchr(file, '/') && !ends_with(file, ".so") ? "no bundled plugin of that name: "
									: "",
			strerror(errno ? errno : ENOENT));
		return NULL;
	}
	sp.path = path;
	specs = realloc(specs, (nspecs + 1) * sizeof(*specs));
	if (!specs)
		fatal(LOOM_EXIT_USAGE, "out of memory");
	specs[nspecs++] = sp;

	/* The spec again, with the absolute file: what a re-exec repeats. */
	size_t len = strlen(path) + 32;
	for (int i = 0; i < sp.argc; i++)
		len += strlen(sp.argv[i]) + 1;
	char *out = malloc(len);
	if (!out)
		fatal(LOOM_EXIT_USAGE, "out of memory");
	int o = snprintf(out, len, "file=%s", path);
	for (int i = 0; i < sp.argc; i++)
		o += snprintf(out + o, len - o, ",%s", sp.argv[i]);
	if (!sp.enabled)
		snprintf(out + o, len - o, ",enabled=off");
	free(copy);
	return out;
}

/* ---- loading ---- */

static char *plugin_name_of(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!strncmp(base, "lib", 3))
		base += 3;
	char *name = strdup(base);
	if (name && ends_with(name, ".so"))
		name[strlen(name) - 3] = 0;
	return name;
}

/* A plugin may end the process itself with exit() (stoptrigger does): the
 * other plugins still report. */
static void finish_at_exit(void)
{
	instrument_finish();
}

/*
 * dlopen gives a file it has loaded already the same handle, so two
 * -plugin options naming one shared object would share its globals: one
 * instance's counters summed with the other's, its exit callback freeing
 * what the other freed.  A file loaded before is loaded again from a
 * private copy (a memfd, by its /proc/self/fd path), which the dynamic
 * loader takes for another object: every instance has its own globals.
 */
static void *plugin_dlopen(const char *path)
{
	static struct { dev_t dev; ino_t ino; } *seen;
	static int nseen;
	struct stat st;
	if (stat(path, &st) < 0)
		return dlopen(path, RTLD_NOW | RTLD_LOCAL);	/* its error says why */
	bool again = false;
	for (int i = 0; i < nseen; i++)
		again |= seen[i].dev == st.st_dev && seen[i].ino == st.st_ino;
	if (!again) {
		seen = realloc(seen, (nseen + 1) * sizeof(*seen));
		if (!seen)
			fatal(LOOM_EXIT_USAGE, "out of memory");
		seen[nseen].dev = st.st_dev;
		seen[nseen++].ino = st.st_ino;
		return dlopen(path, RTLD_NOW | RTLD_LOCAL);
	}
	int in = open(path, O_RDONLY | O_CLOEXEC);
	int fd = memfd_create("loom-plugin-copy", MFD_CLOEXEC);
	if (in < 0 || fd < 0)
		fatal(LOOM_EXIT_USAGE, "plugin %s: cannot copy it for a second instance: %s", path,
		      strerror(errno));
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n)
			n = -1;
	if (n < 0)
		fatal(LOOM_EXIT_USAGE, "plugin %s: cannot copy it for a second instance: %s", path,
		      strerror(errno));
	close(in);
	char name[64];
	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	close(fd);	/* the loader has mapped it */
	return h;
}

/*
 * Whether a loaded plugin imports a function whose name begins with
 * prefix.  One that registers memory callbacks or inline memory operations
 * (qemu_plugin_register_vcpu_mem_*) can watch each guest access, and only
 * then must lifters give up bulk helpers (exec_mem_watched: whole-system
 * mode's rep movs/stos, a page at a time); one that reads registers
 * (qemu_plugin_read_register) may read the flags between any two
 * instructions, and only then must every TB exit leave them in env
 * (exec_regs_watched).  Its undefined dynamic symbols are read
 * from the loaded object: with DT_GNU_HASH they are the unhashed ones
 * before symoffset, with DT_HASH all nchain symbols are looked at; an
 * object with neither counts as watching.
 */
bool plugin_imports(void *h, const char *prefix)
{
	struct link_map *lm;
	if (dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || !lm || !lm->l_ld)
		return true;
	const ElfW(Sym) *sym = NULL;
	const char *str = NULL;
	const uint32_t *gnu = NULL, *hash = NULL;
	for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++) {
		/* (the loader relocates these in place; a raw one is an offset) */
		uintptr_t a = d->d_un.d_ptr < lm->l_addr ? lm->l_addr + d->d_un.d_ptr : d->d_un.d_ptr;
		switch (d->d_tag) {
		case DT_SYMTAB: sym = (const ElfW(Sym) *)a; break;
		case DT_STRTAB: str = (const char *)a; break;
		case DT_GNU_HASH: gnu = (const uint32_t *)a; break;
		case DT_HASH: hash = (const uint32_t *)a; break;
		}
	}
	if (!sym || !str || (!gnu && !hash))
		return true;
	uint32_t n = gnu ? gnu[1] : hash[1];
	for (uint32_t i = 1; i < n; i++)
		if (sym[i].st_shndx == SHN_UNDEF &&
		    !strncmp(str + sym[i].st_name, prefix, strlen(prefix)))
			return true;
	return false;
}

void instrument_load_plugins(void)
{
	if (!nspecs)
		return;
	instrument_active = true;
	exec_blocks_watched = true;
	atexit(finish_at_exit);
	for (int i = 0; i < nspecs; i++) {
		struct spec *sp = &specs[i];
		void *near = exec_near_begin();
		void *h = plugin_dlopen(sp->path);
		exec_near_end(near);
		if (!h)
			fatal(LOOM_EXIT_USAGE, "plugin %s: cannot load: %s", sp->path, dlerror());
		int *version = dlsym(h, "qemu_plugin_version");
		if (!version)
			fatal(LOOM_EXIT_USAGE, "plugin %s: does not export qemu_plugin_version "
			      "(build it against qemu-plugin.h)", sp->path);
		if (*version < PLUGIN_API_MIN || *version > PLUGIN_API_CUR)
			fatal(LOOM_EXIT_USAGE, "plugin %s: requires plugin API version %d, but loom "
			      "supports versions %d to %d", sp->path, *version, PLUGIN_API_MIN,
			      PLUGIN_API_CUR);
		int (*install)(qemu_plugin_id_t, const qemu_info_t *, int, char **) =
			(int (*)(qemu_plugin_id_t, const qemu_info_t *, int, char **))
				dlsym(h, "qemu_plugin_install");
		if (!install)
			fatal(LOOM_EXIT_USAGE, "plugin %s: does not export qemu_plugin_install",
			      sp->path);
		if (plugin_imports(h, "qemu_plugin_register_vcpu_mem"))
			exec_mem_watched = true;	/* it may ask for memory callbacks */
		if (plugin_imports(h, "qemu_plugin_read_register"))
			exec_regs_watched = true;	/* it may read the flags anywhere */
		struct plugin *p = calloc(1, sizeof(*p));
		plugins = realloc(plugins, (nplugins + 1) * sizeof(*plugins));
		if (!p || !plugins)
			fatal(LOOM_EXIT_USAGE, "out of memory");
		p->index = nplugins;
		p->id = ID_TAG + nplugins;
		p->handle = h;
		p->path = sp->path;
		p->name = plugin_name_of(sp->path);
		p->version = *version;
		p->argc = sp->argc;
		p->argv = sp->argv;
		p->enabled = sp->enabled;
		plugins[nplugins++] = p;

		qemu_info_t info = { .target_name = "x86_64",
				     .version = { PLUGIN_API_MIN, PLUGIN_API_CUR },
				     .system_emulation = instrument_env.system };
		if (instrument_env.system)
			info.system.smp_vcpus = info.system.max_vcpus = instrument_env.system_vcpus;
		plugin_caller = p;
		int r = install(p->id, &info, p->argc, p->argv);
		if (r != 0)
			fatal(LOOM_EXIT_USAGE, "plugin %s: qemu_plugin_install failed (returned %d)",
			      sp->path, r);
	}
}

/* ---- enabling, disabling, changes ---- */

void plugin_instrumentation_changed(void)
{
	/* Nothing is translated before the first TB, and a flush from outside
	 * any cpu (the control thread) can stop the cpus itself. */
	if (exec_current_cpu)
		exec_request_flush();
	else
		exec_flush_all();
}

void loom_plugin_set_enabled(qemu_plugin_id_t id, bool enabled)
{
	struct plugin *p = plugin_of(id, __func__);
	if (!p || p->enabled == enabled)
		return;
	p->enabled = enabled;
	plugin_instrumentation_changed();
}

bool loom_plugin_is_enabled(qemu_plugin_id_t id)
{
	struct plugin *p = plugin_of(id, __func__);
	return p && p->enabled;
}

const char *loom_plugin_name(qemu_plugin_id_t id)
{
	struct plugin *p = plugin_of(id, __func__);
	return p ? p->name : NULL;
}

int loom_plugin_api_version(void) { return LOOM_PLUGIN_API_VERSION; }

int instrument_plugin_count(void) { return nplugins; }
const char *instrument_plugin_name(int i) { return plugins[i]->name; }
bool instrument_plugin_enabled(int i) { return plugins[i]->enabled && !plugins[i]->gone; }

bool instrument_set_enabled_by_name(const char *name, bool enabled)
{
	bool found = false;
	for (int i = 0; i < nplugins; i++) {
		if (!plugins[i]->gone && !strcmp(plugins[i]->name, name)) {
			loom_plugin_set_enabled(plugins[i]->id, enabled);
			found = true;
		}
	}
	return found;
}

/* Uninstall and reset: the callbacks go now, the translations at the next
 * TB boundary; cb runs once nothing of the plugin can run any more (after
 * the flush, or at once if no cpu is inside translated code). */
static void drop_callbacks(struct plugin *p)
{
	p->vcpu_init = p->vcpu_exit = p->vcpu_idle = p->vcpu_resume = NULL;
	p->tb_trans = NULL;
	p->syscall = NULL;
	p->syscall_ret = NULL;
	p->syscall_filter = NULL;
	p->discon = NULL;
	p->flush = NULL;
	p->atexit = NULL;
	p->tb_start = NULL;
	p->tb_end = NULL;
	p->tb_entry.cb = p->tb_exit.cb = NULL;
}

void qemu_plugin_uninstall(qemu_plugin_id_t id, qemu_plugin_simple_cb_t cb)
{
	struct plugin *p = plugin_of(id, __func__);
	if (!p)
		return;
	drop_callbacks(p);
	p->gone = true;
	plugin_instrumentation_changed();
	if (cb)
		cb(id);
}

void qemu_plugin_reset(qemu_plugin_id_t id, qemu_plugin_simple_cb_t cb)
{
	struct plugin *p = plugin_of(id, __func__);
	if (!p)
		return;
	drop_callbacks(p);
	plugin_instrumentation_changed();
	if (cb)
		cb(id);
}

/* ---- registrations of per-plugin callbacks ---- */

#define REGISTER(fnname, field, type)                                \
	void fnname(qemu_plugin_id_t id, type cb)                    \
	{                                                            \
		struct plugin *p = plugin_of(id, __func__);         \
		if (p)                                               \
			p->field = cb;                               \
	}
REGISTER(qemu_plugin_register_vcpu_init_cb, vcpu_init, qemu_plugin_vcpu_simple_cb_t)
REGISTER(qemu_plugin_register_vcpu_exit_cb, vcpu_exit, qemu_plugin_vcpu_simple_cb_t)
REGISTER(qemu_plugin_register_vcpu_idle_cb, vcpu_idle, qemu_plugin_vcpu_simple_cb_t)
REGISTER(qemu_plugin_register_vcpu_resume_cb, vcpu_resume, qemu_plugin_vcpu_simple_cb_t)
REGISTER(qemu_plugin_register_vcpu_syscall_cb, syscall, qemu_plugin_vcpu_syscall_cb_t)
REGISTER(qemu_plugin_register_vcpu_syscall_ret_cb, syscall_ret,
	 qemu_plugin_vcpu_syscall_ret_cb_t)
REGISTER(qemu_plugin_register_vcpu_syscall_filter_cb, syscall_filter,
	 qemu_plugin_vcpu_syscall_filter_cb_t)
REGISTER(qemu_plugin_register_flush_cb, flush, qemu_plugin_simple_cb_t)
REGISTER(loom_plugin_register_tb_trans_start_cb, tb_start, loom_plugin_tb_start_cb_t)
REGISTER(loom_plugin_register_tb_trans_end_cb, tb_end, loom_plugin_tb_end_cb_t)
#undef REGISTER

/* These change what translations contain. */
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb)
{
	struct plugin *p = plugin_of(id, __func__);
	if (!p || p->tb_trans == cb)
		return;
	p->tb_trans = cb;
	plugin_instrumentation_changed();
}

static void set_tb_hook(qemu_plugin_id_t id, struct tb_hook *h, loom_plugin_vcpu_tb_cb_t cb,
			enum qemu_plugin_cb_flags flags, void *udata)
{
	h->cb = cb;
	h->flags = flags;
	h->udata = udata;
	plugin_instrumentation_changed();
}

void loom_plugin_register_vcpu_tb_entry_cb(qemu_plugin_id_t id, loom_plugin_vcpu_tb_cb_t cb,
					   enum qemu_plugin_cb_flags flags, void *userdata)
{
	struct plugin *p = plugin_of(id, __func__);
	if (p)
		set_tb_hook(id, &p->tb_entry, cb, flags, userdata);
}

void loom_plugin_register_vcpu_tb_exit_cb(qemu_plugin_id_t id, loom_plugin_vcpu_tb_cb_t cb,
					  enum qemu_plugin_cb_flags flags, void *userdata)
{
	struct plugin *p = plugin_of(id, __func__);
	if (p)
		set_tb_hook(id, &p->tb_exit, cb, flags, userdata);
}

void qemu_plugin_register_vcpu_discon_cb(qemu_plugin_id_t id, enum qemu_plugin_discon_type type,
					 qemu_plugin_vcpu_discon_cb_t cb)
{
	struct plugin *p = plugin_of(id, __func__);
	if (p) {
		p->discon = cb;
		p->discon_mask = type;
	}
}

void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata)
{
	struct plugin *p = plugin_of(id, __func__);
	if (p) {
		p->atexit = cb;
		p->atexit_udata = userdata;
	}
}

/* ---- vCPUs ---- */

static void *live_cpus[SB_MAX_VCPUS];
unsigned plugin_nvcpus;

/* Run fn for every live plugin with the calling cpu marked as inside a
 * callback that may read and write registers (flagless callbacks). */
/* Each live plugin in turn, as plugin_caller (its callbacks run inside). */
#define FOR_PLUGINS(p) \
	for (int i_ = 0; i_ < nplugins; i_++) \
		for (struct plugin *p = plugins[i_]; p && !p->gone && (plugin_caller = p); p = NULL)

__thread struct plugin *plugin_caller;

int plugin_caller_version(void)
{
	if (plugin_caller)
		return plugin_caller->version;
	return nplugins == 1 ? plugins[0]->version : PLUGIN_API_CUR;
}

static uint32_t enter_cb(void *cpu, uint32_t flags)
{
	struct instrument_vcpu *iv = instrument_vcpu(cpu);
	uint32_t old = iv->plugin_flags;
	iv->plugin_flags = flags;
	return old;
}

static void leave_cb(void *cpu, uint32_t old)
{
	instrument_vcpu(cpu)->plugin_flags = old;
}

#define CB_RW (1 + QEMU_PLUGIN_CB_RW_REGS)

/* exec_hooks.vcpu_start: the vCPU's index is exec's (its slot, and so
 * its scoreboard region). */
static void instrument_vcpu_init(void *cpu)
{
	if (!instrument_active)
		return;
	unsigned idx = guest_exec_state(cpu)->cpu_index;
	if (idx >= SB_MAX_VCPUS)
		internal_error("more than %d threads at once under plugins", SB_MAX_VCPUS);
	pthread_mutex_lock(&plugin_lock);
	live_cpus[idx] = cpu;
	if (idx + 1 > plugin_nvcpus)
		__atomic_store_n(&plugin_nvcpus, idx + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&plugin_lock);

	uint32_t old = enter_cb(cpu, CB_RW);
	FOR_PLUGINS(p)
		if (p->vcpu_init)
			p->vcpu_init(p->id, idx);
	leave_cb(cpu, old);
}

static void instrument_vcpu_exit(void *cpu)
{
	if (!instrument_active)
		return;
	struct cpu_exec *x = guest_exec_state(cpu);
	if (x->cpu_index >= SB_MAX_VCPUS || live_cpus[x->cpu_index] != cpu)
		return;
	uint32_t old = enter_cb(cpu, CB_RW);
	FOR_PLUGINS(p)
		if (p->vcpu_exit)
			p->vcpu_exit(p->id, x->cpu_index);
	leave_cb(cpu, old);
	pthread_mutex_lock(&plugin_lock);
	live_cpus[x->cpu_index] = NULL;
	pthread_mutex_unlock(&plugin_lock);
}

void qemu_plugin_vcpu_for_each(qemu_plugin_id_t id, qemu_plugin_vcpu_simple_cb_t cb)
{
	if (!plugin_of(id, __func__))
		return;
	for (unsigned i = 0; i < plugin_nvcpus; i++)
		if (live_cpus[i])
			cb(id, i);
}

int qemu_plugin_num_vcpus(void)
{
	return (int)__atomic_load_n(&plugin_nvcpus, __ATOMIC_ACQUIRE);
}

void instrument_vcpu_idle(void *cpu)
{
	if (!instrument_active)
		return;
	unsigned idx = guest_exec_state(cpu)->cpu_index;
	FOR_PLUGINS(p)
		if (p->enabled && p->vcpu_idle)
			p->vcpu_idle(p->id, idx);
}

void instrument_vcpu_resume(void *cpu)
{
	if (!instrument_active)
		return;
	unsigned idx = guest_exec_state(cpu)->cpu_index;
	FOR_PLUGINS(p)
		if (p->enabled && p->vcpu_resume)
			p->vcpu_resume(p->id, idx);
}

/* ---- syscalls, discontinuities ---- */

__thread bool plugin_in_syscall;

bool instrument_syscall(void *cpu, int64_t num, const uint64_t a[6], uint64_t *ret)
{
	if (!instrument_active)
		return false;
	unsigned idx = guest_exec_state(cpu)->cpu_index;
	bool filtered = false;
	uint32_t old = enter_cb(cpu, CB_RW);
	plugin_in_syscall = true;
	FOR_PLUGINS(p)
		if (p->enabled && p->syscall)
			p->syscall(p->id, idx, num, a[0], a[1], a[2], a[3], a[4], a[5], 0, 0);
	FOR_PLUGINS(p) {
		if (!filtered && p->enabled && p->syscall_filter &&
		    p->syscall_filter(p->id, idx, num, a[0], a[1], a[2], a[3], a[4], a[5], 0, 0, ret))
			filtered = true;
	}
	plugin_in_syscall = false;
	leave_cb(cpu, old);
	return filtered;
}

void instrument_syscall_ret(void *cpu, int64_t num, int64_t ret)
{
	if (!instrument_active)
		return;
	unsigned idx = guest_exec_state(cpu)->cpu_index;
	uint32_t old = enter_cb(cpu, CB_RW);
	plugin_in_syscall = true;
	FOR_PLUGINS(p)
		if (p->enabled && p->syscall_ret)
			p->syscall_ret(p->id, idx, num, ret);
	plugin_in_syscall = false;
	leave_cb(cpu, old);
}

void instrument_discon(void *cpu, int type, uint64_t from_pc, uint64_t to_pc)
{
	if (!instrument_active)
		return;
	unsigned idx = guest_exec_state(cpu)->cpu_index;
	uint32_t old = enter_cb(cpu, 1 + QEMU_PLUGIN_CB_R_REGS);
	FOR_PLUGINS(p)
		if (p->enabled && p->discon && (p->discon_mask & type))
			p->discon(p->id, idx, (enum qemu_plugin_discon_type)type, from_pc, to_pc);
	leave_cb(cpu, old);
}

/* ---- the environment ---- */

struct instrument_env instrument_env;

bool instrument_guest_exit(void *cpu)
{
	return afl_persistent_exit(cpu);	/* AFL_QEMU_PERSISTENT_EXITS */
}

void instrument_fork_prepare(void) { cov_fork_prepare(); }
void instrument_fork_parent(void) { cov_fork_parent(); }
void instrument_fork_child(void) { cov_fork_child(); }

/* ---- translation stages ---- */

int32_t instrument_vcpu_off;

void instrument_attach(void)
{
	exec_hooks = (struct exec_hooks){
		.ir_init = instrument_ir_init,
		.tb_start = instrument_tb_start,
		.tb_lifted = instrument_tb,
		.tb_end = instrument_tb_end,
		.fault_fixup = instrument_fault_fixup,
		.flushed = instrument_flush,
		.vcpu_start = instrument_vcpu_init,
		.vcpu_stop = instrument_vcpu_exit,
	};
	instrument_vcpu_off = exec_vcpu_region(sizeof(struct instrument_vcpu),
					       _Alignof(struct instrument_vcpu), 0, false);
	if (instrument_wants_arena()) {
		sb_env_off = exec_vcpu_region(SB_REGION, 4096, SB_REGION_PHASE, true);
		sb_registered = true;
	}
}

void instrument_tb_start(uint64_t pc)
{
	if (!instrument_active)
		return;
	FOR_PLUGINS(p)
		if (p->enabled && p->tb_start)
			p->tb_start(p->id, pc);
}

void instrument_tb_end(struct ir_ctx *ir, struct tb *tb)
{
	if (!instrument_active)
		return;
	size_t nops = 0;
	for (uint32_t i = 0; i < ir->nops; i++)
		nops += ir->ops[i].opc != IR_nop;
	FOR_PLUGINS(p)
		if (p->enabled && p->tb_end)
			p->tb_end(p->id, tb->pc, tb->ninsns, tb->guest_size, nops);
}

/* ---- flush and the end ---- */

void inject_flush(void);

void instrument_flush(void)
{
	if (!instrument_active)
		return;
	inject_flush();
	FOR_PLUGINS(p)
		if (p->flush)
			p->flush(p->id);
}

void instrument_finish(void)
{
	static int done;
	if (!instrument_active || __atomic_exchange_n(&done, 1, __ATOMIC_SEQ_CST))
		return;
	for (unsigned i = 0; i < plugin_nvcpus; i++)
		if (live_cpus[i])
			instrument_vcpu_exit(live_cpus[i]);
	FOR_PLUGINS(p)
		if (p->atexit)
			p->atexit(p->id, p->atexit_udata);
	cov_finish();
	control_finish();
	log_flush();
}

/* ---- signals between plugins ---- */

struct sub {
	struct plugin *p;
	loom_plugin_signal_cb_t cb;
	void *udata;
};

struct psignal {
	char *name;
	struct plugin *owner;	/* NULL: subscribed to but not registered yet */
	struct sub *subs;
	int nsubs;
};

static struct psignal *psignals;
static int npsignals;

static struct psignal *find_signal(const char *name, bool create)
{
	for (int i = 0; i < npsignals; i++)
		if (!strcmp(psignals[i].name, name))
			return &psignals[i];
	if (!create)
		return NULL;
	psignals = realloc(psignals, (npsignals + 1) * sizeof(*psignals));
	if (!psignals)
		fatal(LOOM_EXIT_INTERNAL, "out of memory");
	psignals[npsignals] = (struct psignal){ .name = strdup(name) };
	return &psignals[npsignals++];
}

bool loom_plugin_signal_register(qemu_plugin_id_t id, const char *name)
{
	struct plugin *p = plugin_of(id, __func__);
	if (!p || !name)
		return false;
	pthread_mutex_lock(&plugin_lock);
	struct psignal *s = find_signal(name, true);
	bool ok = !s->owner;
	if (ok)
		s->owner = p;
	pthread_mutex_unlock(&plugin_lock);
	return ok;
}

bool loom_plugin_signal_subscribe(qemu_plugin_id_t id, const char *name,
				  loom_plugin_signal_cb_t cb, void *userdata)
{
	struct plugin *p = plugin_of(id, __func__);
	if (!p || !name || !cb)
		return false;
	pthread_mutex_lock(&plugin_lock);
	struct psignal *s = find_signal(name, true);
	bool ok = true;
	for (int i = 0; i < s->nsubs; i++)
		if (s->subs[i].p == p)
			ok = false;
	if (ok) {
		s->subs = realloc(s->subs, (s->nsubs + 1) * sizeof(*s->subs));
		if (!s->subs)
			fatal(LOOM_EXIT_INTERNAL, "out of memory");
		s->subs[s->nsubs++] = (struct sub){ p, cb, userdata };
	}
	pthread_mutex_unlock(&plugin_lock);
	return ok;
}

int loom_plugin_signal_emit(qemu_plugin_id_t id, const char *name, const void *payload,
			    size_t size)
{
	if (!plugin_of(id, __func__) || !name)
		return -1;
	pthread_mutex_lock(&plugin_lock);
	struct psignal *s = find_signal(name, false);
	if (!s || !s->owner) {
		pthread_mutex_unlock(&plugin_lock);
		return -1;
	}
	/* A copy: a subscriber may subscribe others meanwhile. */
	int n = s->nsubs;
	struct sub subs[n ? n : 1];
	memcpy(subs, s->subs, n * sizeof(*subs));
	pthread_mutex_unlock(&plugin_lock);
	int called = 0;
	for (int i = 0; i < n; i++) {
		if (subs[i].p->gone)
			continue;
		subs[i].cb(subs[i].p->id, name, payload, size, subs[i].udata);
		called++;
	}
	return called;
}
