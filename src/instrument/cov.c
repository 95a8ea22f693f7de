/*
 * Coverage recording: a built-in tool that marks, for every translated
 * block, a record of its own when the block runs.  The block's module and
 * offset are found once, at translation (from the guest's file mappings);
 * execution costs one store (or one add, with hit counts) in the block's
 * generated code, never a call.  Files are written through covfile.c on
 * demand (`cov write`), and at the end of the process: normal exit, a
 * guest crash (before loom dies of the guest's signal), SIGTERM/SIGINT.
 *
 * Coverage is never lost silently.  The -cov file is checked at start (a
 * path loom cannot write fails before the guest runs), and while the guest
 * runs a thread of loom's writes it again every -cov-sync milliseconds when
 * something new was recorded ("checkpoints", atomic like every write), so a
 * process killed by SIGKILL or the OOM killer leaves a valid file at most
 * one interval, plus the time to write it, behind.  A forked child gets a
 * checkpoint thread of its own for FILE.PID.
 *
 * Invariant: a record's address never changes (records live in chunks that
 * are never freed), because translated code stores into it directly; a block
 * translated again (after a flush) gets the record it had.  Writes of the
 * -cov file are serialized by file_lock, and none follows the final one.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "instrument/cov.h"
#include "instrument/covfile.h"
#include "instrument/symbols.h"
#include "util/log.h"
#include "util/ownfd.h"

struct rec {
	uint64_t hits;		/* written by generated code */
	uint64_t pc;
	uint32_t size;
	struct rec *next;	/* hash chain */
};

#define CHUNK 4096
struct chunk {
	struct chunk *next;
	unsigned used;
	struct rec recs[CHUNK];
};

#define HASH_BITS 16
static struct rec *hash[1u << HASH_BITS];
static struct chunk *chunks;
/* The first chunks are static: loom's data lies within 2 GiB of the code
 * cache, so the backend stores into them RIP-relative (one instruction).
 * Untouched, they cost no memory. */
#define STATIC_CHUNKS 64
static struct chunk static_chunks[STATIC_CHUNKS];
static unsigned nstatic;
static size_t nrecs;
static pthread_mutex_t cov_lock = PTHREAD_MUTEX_INITIALIZER;

struct cov_options cov_opts = { .format = COV_DRCOV, .sync_ms = 1000 };
static pid_t first_pid;
static struct instrument_tool tool;

/* What checkpoints need: gen changes (under cov_lock) whenever a block is
 * first marked or the marks are forgotten, so an idle guest costs no
 * writes.  Hit counts change without it; with -cov-hits every interval
 * writes. */
static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t gen, written_gen = UINT64_MAX;
static bool finished;

static uint32_t hash_of(uint64_t pc)
{
	return (uint32_t)((pc * 0x9e3779b97f4a7c15ull) >> (64 - HASH_BITS));
}

static struct rec *rec_for(uint64_t pc, uint32_t size)
{
	uint32_t h = hash_of(pc);
	for (struct rec *r = hash[h]; r; r = r->next)
		if (r->pc == pc && r->size == size)
			return r;
	if (!chunks || chunks->used == CHUNK) {
		struct chunk *c = nstatic < STATIC_CHUNKS ? &static_chunks[nstatic++]
							  : calloc(1, sizeof(*c));
		if (!c)
			internal_error("out of memory for coverage");
		c->next = chunks;
		chunks = c;
	}
	struct rec *r = &chunks->recs[chunks->used++];
	r->pc = pc;
	r->size = size;
	r->next = hash[h];
	hash[h] = r;
	nrecs++;
	gen++;
	return r;
}

/* The tool.  loom translates a block exactly when execution first reaches
 * it, so without hit counts the translation itself is the block's
 * execution mark and the translated code carries nothing: coverage costs
 * nothing once a block is translated.  (Forgetting the marks flushes the
 * code cache, so blocks that run again are translated and marked again.)
 * With hit counts, the block adds one to its record before its first
 * instruction, so a block whose first instruction faults still counts as
 * reached, as in drcov. */
static void cov_tb_start(struct ir_ctx *ir, const struct tb *tb, void *opaque)
{
	pthread_mutex_lock(&cov_lock);
	struct rec *r = rec_for(tb->pc, tb->guest_size);
	if (!cov_opts.hits && !__atomic_load_n(&r->hits, __ATOMIC_RELAXED)) {
		__atomic_store_n(&r->hits, 1, __ATOMIC_RELAXED);
		gen++;
	}
	pthread_mutex_unlock(&cov_lock);
	if (!cov_opts.hits)
		return;
	ir_ref p = ir_const(ir, IR_I64, (uintptr_t)r);
	ir_ref t = ir_new_temp(ir, IR_I64), u = ir_new_temp(ir, IR_I64);
	ir_emit(ir, IR_ld_ptr, IR_I64, (ir_ref[]){ t, p }, (int64_t[]){ 0, IR_MO_64 });
	ir_op2(ir, IR_add, IR_I64, u, t, ir_const(ir, IR_I64, 1));
	ir_emit(ir, IR_st_ptr, IR_I64, (ir_ref[]){ u, p }, (int64_t[]){ 0, IR_MO_64 });
}

void cov_init(void)
{
	first_pid = getpid();
	tool = (struct instrument_tool){ .name = "cov", .enabled = cov_opts.path != NULL,
					 .tb_start = cov_tb_start };
	instrument_add_tool(&tool);
}

bool cov_running(void) { return tool.enabled; }

void cov_set_running(bool on)
{
	if (tool.enabled == on)
		return;
	tool.enabled = on;
	instrument_tools_changed();
}

void cov_forget_hits(void)
{
	pthread_mutex_lock(&cov_lock);
	for (struct chunk *c = chunks; c; c = c->next)
		for (unsigned i = 0; i < c->used; i++)
			__atomic_store_n(&c->recs[i].hits, 0, __ATOMIC_RELAXED);
	gen++;
	pthread_mutex_unlock(&cov_lock);
	if (!cov_opts.hits && tool.enabled)
		instrument_tools_changed();	/* marks come with translation */
}

size_t cov_blocks_hit(void)
{
	size_t n = 0;
	pthread_mutex_lock(&cov_lock);
	for (struct chunk *c = chunks; c; c = c->next)
		for (unsigned i = 0; i < c->used; i++)
			n += __atomic_load_n(&c->recs[i].hits, __ATOMIC_RELAXED) != 0;
	pthread_mutex_unlock(&cov_lock);
	return n;
}

/* A module's entry point from its ELF header: e_entry moved by the
 * module's load bias (its base less its lowest PT_LOAD page), or 0 when
 * the file has none (e_entry 0, as most shared libraries) or cannot be
 * read. */
static uint64_t module_entry(const char *path, uint64_t base)
{
	Elf64_Ehdr eh;
	uint64_t entry = 0, lowest = UINT64_MAX;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || !eh.e_entry ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 4096)
		goto out;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != sizeof(ph))
			goto out;
		if (ph.p_type == PT_LOAD && ph.p_vaddr < lowest)
			lowest = ph.p_vaddr;
	}
	if (lowest != UINT64_MAX)
		entry = eh.e_entry + (base - (lowest & ~0xfffull));
out:
	close(fd);
	return entry;
}

/* Build the model of the blocks run so far.  Modules are the files mapped
 * now; a block whose file is gone (dlclose) is attributed to no module and
 * counted as skipped. */
static struct cov_model *build_model(void)
{
	struct cov_model *m = cov_new();
	if (!m)
		return NULL;
	pthread_mutex_lock(&cov_lock);
	for (struct chunk *c = chunks; c; c = c->next) {
		for (unsigned i = 0; i < c->used; i++) {
			const struct rec *r = &c->recs[i];
			uint64_t hits = __atomic_load_n(&r->hits, __ATOMIC_RELAXED);
			if (!hits)
				continue;
			if (cov_find_module(m, r->pc) < 0) {
				const char *path;
				uint64_t base, end;
				if (guest_module_of(r->pc, &path, &base, &end))
					cov_add_module(m, path, base, end, 0);
			}
			cov_add_addr(m, r->pc, r->size, cov_opts.hits ? hits : 0);
		}
	}
	pthread_mutex_unlock(&cov_lock);
	/* Files are read with the lock released: translation goes on. */
	for (size_t i = 0; i < m->nmods; i++)
		m->mods[i].entry = module_entry(m->mods[i].path, m->mods[i].base);
	return m;
}

/* Writes the model to path; quiet: a checkpoint (no lcov notes, no fsync:
 * it need only outlive the process).  *missing says that a -cov-bitmap
 * module is not in the coverage. */
static int write_model(const char *path, bool quiet, char *err, size_t errsz,
		       size_t *nblocks, bool *missing)
{
	struct cov_model *m = build_model();
	if (!m) {
		snprintf(err, errsz, "%s: out of memory", path);
		return -1;
	}
	struct cov_write_opts o = { .module = cov_opts.bitmap_module,
				    .start = cov_opts.bitmap_start,
				    .end = cov_opts.bitmap_end,
				    .granularity = cov_opts.granularity,
				    .no_notes = quiet, .no_fsync = quiet };
	if (missing)
		*missing = cov_opts.format == COV_BITMAP && cov_opts.bitmap_module &&
			   cov_find_module_named(m, cov_opts.bitmap_module) < 0;
	int r = cov_write(m, cov_opts.format, path, &o, err, errsz);
	if (nblocks)
		*nblocks = m->nblocks;
	cov_free(m);
	return r;
}

int cov_write_file(const char *path, char *err, size_t errsz, size_t *nblocks)
{
	pthread_mutex_lock(&file_lock);
	int r = write_model(path, false, err, errsz, nblocks, NULL);
	pthread_mutex_unlock(&file_lock);
	return r;
}

/* This process's -cov file: forked children write beside the first
 * process's. */
static void own_path(char *path, size_t size)
{
	if (getpid() == first_pid)
		snprintf(path, size, "%s", cov_opts.path);
	else
		snprintf(path, size, "%s.%d", cov_opts.path, (int)getpid());
}

/* Writes the -cov file if something changed since the last write.  A
 * failure is not reported (a bitmap's module may not have run yet, lcov
 * may have no lines yet); the final write reports its own. */
static void cov_checkpoint(void)
{
	char path[4096], err[512];
	pthread_mutex_lock(&file_lock);
	pthread_mutex_lock(&cov_lock);
	uint64_t g = gen;
	pthread_mutex_unlock(&cov_lock);
	if (!finished && (cov_opts.hits || g != written_gen)) {
		own_path(path, sizeof(path));
		if (write_model(path, true, err, sizeof(err), NULL, NULL) == 0)
			written_gen = g;
	}
	pthread_mutex_unlock(&file_lock);
}

static void *cov_sync_thread(void *arg)
{
	struct timespec ts = { .tv_sec = cov_opts.sync_ms / 1000,
			       .tv_nsec = (long)(cov_opts.sync_ms % 1000) * 1000000 };
	/* The files this thread opens while the guest runs (the coverage
	 * file, the modules it reads symbols and entry points from) must
	 * never show among the guest's descriptors, nor take a number the
	 * guest's next open() would get: this thread numbers them in a
	 * table of its own.  (If that fails they are still loom's, moved
	 * high, as the writer does in any thread.) */
	ownfd_private_table();
	for (;;) {
		while (nanosleep(&ts, NULL) < 0 && errno == EINTR)
			;
		cov_checkpoint();
	}
	return arg;
}

/* A host thread of loom's with every signal blocked: it never takes the
 * guest's signals. */
static void start_sync_thread(void)
{
	if (!cov_opts.sync_ms)
		return;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t th;
	int e = pthread_create(&th, NULL, cov_sync_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e)
		fatal(LOOM_EXIT_USAGE, "-cov %s: cannot start its writer thread: %s",
		      cov_opts.path, strerror(e));
	pthread_detach(th);
}

void cov_begin(const char *exe_path)
{
	char err[512];
	if (!cov_opts.path)
		return;
	/* A module named by path is compared with the mapped files' real
	 * paths: /lib/... names the file mapped as /usr/lib/..., and a path
	 * that names no file can never run. */
	const char *bm = cov_opts.bitmap_module;
	if (bm && strchr(bm, '/')) {
		char *real = realpath(bm, NULL);
		if (!real)
			fatal(LOOM_EXIT_USAGE, "-cov-bitmap %s: %s", bm, strerror(errno));
		cov_opts.bitmap_module = real;
	}
	if (cov_opts.format == COV_LCOV) {
		struct cov_lines l = { 0 };
		int rc = cov_lines_load(exe_path, &l, err, sizeof(err));
		cov_lines_free(&l);
		if (rc)
			fatal(LOOM_EXIT_USAGE, "-cov-format lcov: %s (lcov needs the program "
			      "built with -g, not stripped)", err);
	}
	if (cov_probe_path(cov_opts.path, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_USAGE, "-cov %s", err);
	cov_checkpoint();	/* a valid file from the start: killed at once, it is there */
	start_sync_thread();
}

/* Forks: no write may be under way (the child would inherit its locks
 * held), and the child writes FILE.PID with a thread of its own. */
void cov_fork_prepare(void)
{
	if (cov_opts.path)
		pthread_mutex_lock(&file_lock);
}

void cov_fork_parent(void)
{
	if (cov_opts.path)
		pthread_mutex_unlock(&file_lock);
}

void cov_fork_child(void)
{
	if (!cov_opts.path)
		return;
	pthread_mutex_init(&file_lock, NULL);
	written_gen = UINT64_MAX;	/* FILE.PID does not exist yet */
	if (!finished)
		start_sync_thread();
}

void cov_finish(void)
{
	if (!cov_opts.path)
		return;
	char path[4096], err[512];
	bool missing = false;
	pthread_mutex_lock(&file_lock);
	finished = true;
	own_path(path, sizeof(path));
	if (write_model(path, false, err, sizeof(err), NULL, &missing) < 0) {
		if (missing)
			fprintf(stderr, "loom: warning: -cov-bitmap %s: no block of that module "
				"ran; %s is not written\n", cov_opts.bitmap_module, path);
		else
			fprintf(stderr, "loom: -cov: %s\n", err);
	}
	pthread_mutex_unlock(&file_lock);
}
