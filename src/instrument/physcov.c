/*
 * Coverage of guest-physical memory for whole-system mode: one bit per
 * N-byte granule of [START, END), set when a block whose first byte's
 * physical address (the TB's phys_pc) lies in the granule runs.  The
 * kernel and every process share one physical address space, so the
 * bitmap says which code ran whatever virtual address it ran at.
 *
 * A granule is marked twice, as user mode's coverage does: when its block
 * is translated (execution follows translation at once), and by the
 * block's generated code, one byte store before its first instruction.
 * The second mark is what lets `cov clear` forget the marks without
 * flushing the code cache: blocks that run again mark themselves again.
 * Marks are bytes in memory (a store, no read-modify-write race between
 * the vCPU and a writer); the file packs them into bits.
 *
 * Invariant: the byte map is allocated once and never moves, because
 * translated code stores into it directly.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "instrument/covfile.h"
#include "instrument/instrument.h"
#include "instrument/physcov.h"
#include "ir/tb.h"
#include "util/log.h"

static struct {
	bool configured;
	uint64_t start, end;
	unsigned gran;
	uint64_t ngran;
	uint8_t *marks;		/* one byte per granule, written by generated code */
	const char *path;
	pthread_mutex_t write_lock;
} pc_cov = { .gran = 16, .write_lock = PTHREAD_MUTEX_INITIALIZER };

static struct instrument_tool physcov_tool;

int physcov_parse(const char *spec, char *err, size_t errsz)
{
	const char *p = spec;
	if (strncmp(p, "phys:", 5)) {
		snprintf(err, errsz, "-cov-bitmap %s: loom-system records guest-physical "
			 "addresses: phys:START-END[,gran=N]", spec);
		return -1;
	}
	p += 5;
	char *end;
	errno = 0;
	uint64_t start = strtoull(p, &end, 0);
	if (errno || end == p || *end != '-')
		goto bad;
	p = end + 1;
	uint64_t stop = strtoull(p, &end, 0);
	if (errno || end == p || (*end && strncmp(end, ",gran=", 6)))
		goto bad;
	unsigned long gran = 16;
	if (*end) {
		p = end + 6;
		gran = strtoul(p, &end, 0);
		if (errno || end == p || *end || !gran || gran > (1ul << 30)) {
			snprintf(err, errsz, "-cov-bitmap %s: gran= wants a number of bytes > 0",
				 spec);
			return -1;
		}
	}
	if (stop <= start) {
		snprintf(err, errsz, "-cov-bitmap %s: END must lie above START", spec);
		return -1;
	}
	uint64_t ngran = (stop - start + gran - 1) / gran;
	if (ngran > (1ull << 32)) {
		snprintf(err, errsz, "-cov-bitmap %s: more than 2^32 granules (raise gran=)",
			 spec);
		return -1;
	}
	pc_cov.configured = true;
	pc_cov.start = start;
	pc_cov.end = stop;
	pc_cov.gran = (unsigned)gran;
	pc_cov.ngran = ngran;
	return 0;
bad:
	snprintf(err, errsz, "-cov-bitmap %s: not phys:START-END[,gran=N]", spec);
	return -1;
}

bool physcov_configured(void) { return pc_cov.configured; }
const char *physcov_path(void) { return pc_cov.path; }

static void physcov_tb_start(struct ir_ctx *ir, const struct tb *tb, void *opaque)
{
	uint64_t pa = tb->phys_pc;
	if (pa < pc_cov.start || pa >= pc_cov.end)
		return;
	uint8_t *m = &pc_cov.marks[(pa - pc_cov.start) / pc_cov.gran];
	__atomic_store_n(m, 1, __ATOMIC_RELAXED);
	ir_emit(ir, IR_st_ptr, IR_I64,
		(ir_ref[]){ ir_const(ir, IR_I64, 1), ir_const(ir, IR_I64, (uintptr_t)m) },
		(int64_t[]){ 0, IR_MO_8 });
}

void physcov_init(const char *path, bool running)
{
	pc_cov.path = path;
	pc_cov.marks = calloc(pc_cov.ngran ? pc_cov.ngran : 1, 1);
	if (!pc_cov.marks)
		fatal(LOOM_EXIT_USAGE, "-cov-bitmap: out of memory for %" PRIu64 " granules",
		      pc_cov.ngran);
	physcov_tool = (struct instrument_tool){ .name = "cov", .enabled = running,
						 .tb_start = physcov_tb_start };
	instrument_add_tool(&physcov_tool);
}

bool physcov_running(void) { return physcov_tool.enabled; }

void physcov_set_running(bool on)
{
	if (physcov_tool.enabled == on)
		return;
	physcov_tool.enabled = on;
	instrument_tools_changed();
}

void physcov_clear(void)
{
	if (pc_cov.marks)
		memset(pc_cov.marks, 0, pc_cov.ngran);
}

size_t physcov_bits_set(void)
{
	size_t n = 0;
	for (uint64_t i = 0; pc_cov.marks && i < pc_cov.ngran; i++)
		n += __atomic_load_n(&pc_cov.marks[i], __ATOMIC_RELAXED) != 0;
	return n;
}

int physcov_write(const char *path, char *err, size_t errsz)
{
	struct cov_model *m = cov_new();
	/* One module spanning every address: offsets are physical addresses. */
	int r = m && cov_add_module(m, "[physical]", 0, UINT64_MAX, 0) >= 0 ? 0 : -1;
	for (uint64_t i = 0; m && !r && i < pc_cov.ngran; i++)
		if (__atomic_load_n(&pc_cov.marks[i], __ATOMIC_RELAXED))
			r = cov_add_addr(m, pc_cov.start + i * pc_cov.gran, 1, 0) < 0 ? -1 : 0;
	if (r < 0) {
		if (m)
			cov_free(m);
		snprintf(err, errsz, "%s: out of memory", path);
		return -1;
	}
	struct cov_write_opts o = { .module = NULL, .start = pc_cov.start, .end = pc_cov.end,
				    .granularity = pc_cov.gran };
	pthread_mutex_lock(&pc_cov.write_lock);
	r = cov_write(m, COV_BITMAP, path, &o, err, errsz);
	pthread_mutex_unlock(&pc_cov.write_lock);
	cov_free(m);
	return r;
}
