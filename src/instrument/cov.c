/*
 * Coverage recording: a built-in tool that marks, for every translated
 * block, a record of its own when the block runs.  The block's module and
 * offset are found once, at translation (from the guest's file mappings);
 * execution costs one store (or one add, with hit counts) in the block's
 * generated code, never a call.  Files are written through covfile.c on
 * demand (`cov write`), and at the end of the process: normal exit, a
 * guest crash (before loom dies of the guest's signal), SIGTERM/SIGINT.
 *
 * Invariant: a record's address never changes (records live in chunks that
 * are never freed), because translated code stores into it directly; a block
 * translated again (after a flush) gets the record it had.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "instrument/cov.h"
#include "instrument/covfile.h"
#include "instrument/symbols.h"
#include "util/log.h"

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

struct cov_options cov_opts = { .format = COV_DRCOV };
static pid_t first_pid;
static struct instrument_tool tool;

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
	pthread_mutex_unlock(&cov_lock);
	if (!cov_opts.hits) {
		__atomic_store_n(&r->hits, 1, __ATOMIC_RELAXED);
		return;
	}
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
	return m;
}

int cov_write_file(const char *path, char *err, size_t errsz, size_t *nblocks)
{
	struct cov_model *m = build_model();
	if (!m) {
		snprintf(err, errsz, "%s: out of memory", path);
		return -1;
	}
	struct cov_write_opts o = { .module = cov_opts.bitmap_module,
				    .start = cov_opts.bitmap_start,
				    .end = cov_opts.bitmap_end,
				    .granularity = cov_opts.granularity };
	int r = cov_write(m, cov_opts.format, path, &o, err, errsz);
	if (nblocks)
		*nblocks = m->nblocks;
	cov_free(m);
	return r;
}

void cov_finish(void)
{
	if (!cov_opts.path)
		return;
	char path[4096], err[512];
	/* Forked children write beside the first process's file. */
	if (getpid() == first_pid)
		snprintf(path, sizeof(path), "%s", cov_opts.path);
	else
		snprintf(path, sizeof(path), "%s.%d", cov_opts.path, (int)getpid());
	if (cov_write_file(path, err, sizeof(err), NULL) < 0)
		fprintf(stderr, "loom: -cov: %s\n", err);
}
