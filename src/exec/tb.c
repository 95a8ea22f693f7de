/*
 * Translation blocks: the code cache, the global TB hash, the per-CPU jump
 * cache, chaining and invalidation.  The code cache is one memfd mapped twice,
 * writable and executable, so generated code is never writable and
 * executable at one address (W^X).  Invariant: TBs are laid out in the cache
 * in allocation order, so a host pc maps to its TB by binary search.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "exec/exec-internal.h"
#include "guest/guest.h"
#include "host/host.h"
#include "util/log.h"

#define CODE_CACHE_SIZE (256u << 20)
#define TB_HASH_BITS 16
#define TB_HASH_SIZE (1u << TB_HASH_BITS)
#define MAX_TBS (1u << 20)
#define CODE_PAGE_SET_SIZE (1u << 16)

struct exec_options exec_opts;
struct exec_stats exec_stats;

static uint8_t *cache_rw, *cache_rx;
static size_t prologue_size;
static size_t code_used;
host_enter_fn exec_enter;
const void *exec_epilogue_exit;

static struct tb *tb_hash[TB_HASH_SIZE];
static struct tb **tbs;		/* in code-cache order */
static uint32_t ntbs;
static struct ir_ctx ir;

/* Guest pages holding translated code, for cheap invalidation checks. */
static uint64_t code_pages[CODE_PAGE_SET_SIZE];
static uint32_t ncode_pages;
static uint64_t code_lo = UINT64_MAX, code_hi;

/* All jump caches, so a flush can clear them. */
static struct tb ***jmp_caches;
static uint32_t njmp_caches;

static inline uint32_t tb_hash_of(uint64_t pc, uint32_t flags)
{
	uint64_t h = (pc ^ ((uint64_t)flags << 48)) * 0x9e3779b97f4a7c15ull;
	return h >> (64 - TB_HASH_BITS);
}

/* Generated code computes the same index (host gen_goto_lookup). */
static inline uint32_t jc_index(uint64_t pc)
{
	return (pc ^ (pc >> JMP_CACHE_BITS)) & (JMP_CACHE_SIZE - 1);
}

void exec_init(void)
{
	int fd = memfd_create("loom-code-cache", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, CODE_CACHE_SIZE) < 0)
		fatal(LOOM_EXIT_INTERNAL, "cannot create the code cache: %m");
	/* Near loom's own text so helper calls fit in rel32. */
	uintptr_t hint = ((uintptr_t)&exec_init & ~0xffffful) - 0x40000000ul;
	cache_rx = mmap((void *)hint, CODE_CACHE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	cache_rw = mmap(NULL, CODE_CACHE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (cache_rx == MAP_FAILED || cache_rw == MAP_FAILED)
		fatal(LOOM_EXIT_INTERNAL, "cannot map the code cache: %m");
	close(fd);
	prologue_size = host_gen_prologue(cache_rw, cache_rx, 4096, &exec_enter, &exec_epilogue_exit);
	prologue_size = (prologue_size + 63) & ~63ul;
	code_used = prologue_size;
	tbs = calloc(MAX_TBS, sizeof(*tbs));
	if (!tbs)
		fatal(LOOM_EXIT_INTERNAL, "out of memory");
	ir_init(&ir);
	guest_ir_init(&ir);
}

/* The jump cache as generated code probes it (see goto_lookup). */
void exec_set_jc_layout(void *cpu)
{
	struct host_jc_layout l = {
		.jmp_cache_off = (int32_t)((char *)&guest_exec_state(cpu)->jmp_cache - (char *)cpu),
		.bits = JMP_CACHE_BITS,
		.tb_pc_off = offsetof(struct tb, pc),
		.tb_code_off = offsetof(struct tb, code),
	};
	host_set_jc_layout(&l);
}

/* The copy the next fork's child will map; -1 when no fork is in progress. */
static int fork_cache_fd = -1;

void exec_fork_prepare(void)
{
	fork_cache_fd = memfd_create("loom-code-cache", MFD_CLOEXEC);
	if (fork_cache_fd < 0 || ftruncate(fork_cache_fd, CODE_CACHE_SIZE) < 0 ||
	    pwrite(fork_cache_fd, cache_rw, code_used, 0) != (ssize_t)code_used)
		fatal(LOOM_EXIT_INTERNAL, "cannot copy the code cache for fork: %m");
}

void exec_fork_parent(void)
{
	close(fork_cache_fd);
	fork_cache_fd = -1;
}

void exec_fork_child(void)
{
	/* Same addresses, private contents: TB pointers stay valid. */
	if (mmap(cache_rx, CODE_CACHE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED,
		 fork_cache_fd, 0) == MAP_FAILED ||
	    mmap(cache_rw, CODE_CACHE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 fork_cache_fd, 0) == MAP_FAILED)
		internal_error("cannot remap the code cache after fork: %m");
	close(fork_cache_fd);
	fork_cache_fd = -1;
}

void exec_register_cpu(struct cpu_exec *x)
{
	if (!x->jmp_cache) {
		x->jmp_cache = calloc(JMP_CACHE_SIZE, sizeof(struct tb *));
		jmp_caches = realloc(jmp_caches, (njmp_caches + 1) * sizeof(*jmp_caches));
		if (!x->jmp_cache || !jmp_caches)
			fatal(LOOM_EXIT_INTERNAL, "out of memory");
		jmp_caches[njmp_caches++] = x->jmp_cache;
	}
}

static void tb_free(struct tb *tb)
{
	free(tb->insn_host_off);
	free(tb->insn_pc);
	free(tb);
}

void exec_finish(void)
{
	const struct exec_stats *st = &exec_stats;
	if (!log_enabled(LOG_STATS))
		return;
	double us = st->translate_ns / 1e3;
	log_printf("loom: stats: %lu TBs translated (%lu guest insns, %lu host bytes, "
		   "%.1f host bytes/guest insn), %.0f us translating, %.2f us/TB, "
		   "%.0f TBs/s of translation time, %lu flushes\n",
		   (unsigned long)st->tbs_translated, (unsigned long)st->guest_insns_translated,
		   (unsigned long)st->host_bytes,
		   st->guest_insns_translated ? (double)st->host_bytes / st->guest_insns_translated : 0.0,
		   us, st->tbs_translated ? us / st->tbs_translated : 0.0,
		   us ? st->tbs_translated / (us / 1e6) : 0.0, (unsigned long)st->flushes);
}

void exec_flush_all(void)
{
	for (uint32_t i = 0; i < ntbs; i++)
		tb_free(tbs[i]);
	ntbs = 0;
	memset(tb_hash, 0, sizeof(tb_hash));
	for (uint32_t i = 0; i < njmp_caches; i++)
		memset(jmp_caches[i], 0, JMP_CACHE_SIZE * sizeof(struct tb *));
	memset(code_pages, 0, sizeof(code_pages));
	ncode_pages = 0;
	code_lo = UINT64_MAX;
	code_hi = 0;
	code_used = prologue_size;
	exec_stats.flushes++;
}

static bool page_set_has(uint64_t page)
{
	uint32_t i = (page * 0x9e3779b97f4a7c15ull) >> 48;
	for (;; i = (i + 1) & (CODE_PAGE_SET_SIZE - 1)) {
		if (code_pages[i] == page + 1)
			return true;
		if (!code_pages[i])
			return false;
	}
}

static void page_set_add(uint64_t page)
{
	uint32_t i = (page * 0x9e3779b97f4a7c15ull) >> 48;
	if (ncode_pages > CODE_PAGE_SET_SIZE / 2)
		return;		/* saturated: ranges fall back to code_lo/hi */
	for (;; i = (i + 1) & (CODE_PAGE_SET_SIZE - 1)) {
		if (code_pages[i] == page + 1)
			return;
		if (!code_pages[i]) {
			code_pages[i] = page + 1;
			ncode_pages++;
			return;
		}
	}
}

void exec_invalidate_range(uint64_t start, uint64_t end)
{
	if (end <= code_lo || start >= code_hi)
		return;
	bool hit = ncode_pages > CODE_PAGE_SET_SIZE / 2;
	for (uint64_t p = start >> 12; !hit && p <= (end - 1) >> 12; p++) {
		if (p > (code_hi >> 12))
			break;
		hit = page_set_has(p);
	}
	if (hit)
		exec_flush_all();
}

struct tb *tb_lookup(struct cpu_exec *x, uint64_t pc, uint32_t flags)
{
	uint32_t j = jc_index(pc);
	struct tb *tb = x->jmp_cache[j];
	if (tb && tb->pc == pc && tb->flags == flags)
		return tb;
	for (tb = tb_hash[tb_hash_of(pc, flags)]; tb; tb = tb->hash_next) {
		if (tb->pc == pc && tb->flags == flags) {
			x->jmp_cache[j] = tb;
			return tb;
		}
	}
	return NULL;
}

struct tb *tb_find_by_host_pc(uintptr_t hpc)
{
	uint32_t lo = 0, hi = ntbs;
	if (!ntbs || hpc < (uintptr_t)tbs[0]->code)
		return NULL;
	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;
		if ((uintptr_t)tbs[mid]->code <= hpc)
			lo = mid;
		else
			hi = mid;
	}
	struct tb *tb = tbs[lo];
	return hpc < (uintptr_t)tb->code + tb->code_size ? tb : NULL;
}

uint64_t tb_guest_pc_of(struct tb *tb, uintptr_t hpc)
{
	uint32_t off = hpc - (uintptr_t)tb->code;
	uint64_t pc = tb->pc;
	for (uint32_t i = 0; i < tb->ninsns && tb->insn_host_off[i] <= off; i++)
		pc = tb->insn_pc[i];
	return pc;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void log_tb(struct tb *tb)
{
	FILE *f = log_file ? log_file : stderr;
	if (log_enabled(LOG_OUT_ASM)) {
		fprintf(f, "OUT: [size=%u]\n", tb->code_size);
		host_disas(f, tb->code, tb->code_size);
		fputc('\n', f);
	}
}

struct tb *tb_gen_code(uint64_t pc, uint32_t flags)
{
	uint64_t t0 = now_ns();
	unsigned max_insns = (flags & CF_SINGLE_INSN) ? 1 : 512;
	FILE *f = log_file ? log_file : stderr;

	if (ntbs >= MAX_TBS)
		exec_flush_all();
	struct tb *tb = calloc(1, sizeof(*tb));
	if (!tb)
		internal_error("out of memory for a TB");
	tb->pc = pc;
	tb->flags = flags;
	ir_reset(&ir);
	if (guest_translate(&ir, tb, max_insns) < 0) {
		free(tb);
		return NULL;
	}
	if (log_enabled(LOG_IN_ASM)) {
		fprintf(f, "----------------\nIN: \n");
		guest_disas(f, pc, tb->guest_size);
		fputc('\n', f);
	}
	if (log_enabled(LOG_OP)) {
		fprintf(f, "OP:\n");
		ir_print(&ir, f);
		fputc('\n', f);
	}
#ifdef LOOM_DEBUG
	if (ir_verify(&ir, "lifting", stderr) < 0)
		internal_error("IR of TB 0x%lx is malformed after lifting", (unsigned long)pc);
	ir_optimize(&ir, true, NULL);
#else
	ir_optimize(&ir, false, NULL);
#endif
	if (log_enabled(LOG_OP_OPT)) {
		fprintf(f, "OP after optimization and liveness analysis:\n");
		ir_print(&ir, f);
		fputc('\n', f);
	}
	tb->insn_host_off = malloc(tb->ninsns * sizeof(*tb->insn_host_off) + 2);
	tb->insn_pc = malloc(tb->ninsns * sizeof(*tb->insn_pc) + 8);
	uint32_t guest_insns = tb->ninsns;
	size_t size;
	for (int attempt = 0;; attempt++) {
		size = host_gen_code(&ir, tb, cache_rw + code_used, cache_rx + code_used,
				     CODE_CACHE_SIZE - code_used);
		if (size)
			break;
		if (attempt)
			internal_error("TB at 0x%lx does not fit in an empty code cache",
				       (unsigned long)pc);
		exec_flush_all();
	}
	tb->code = cache_rx + code_used;
	tb->code_size = size;
	code_used = (code_used + size + 15) & ~15ul;
	tb->ninsns = guest_insns;

	tbs[ntbs++] = tb;
	uint32_t h = tb_hash_of(pc, flags);
	tb->hash_next = tb_hash[h];
	tb_hash[h] = tb;
	for (uint64_t p = pc >> 12; p <= (pc + tb->guest_size - 1) >> 12; p++)
		page_set_add(p);
	if (pc < code_lo)
		code_lo = pc;
	if (pc + tb->guest_size > code_hi)
		code_hi = pc + tb->guest_size;

	exec_stats.tbs_translated++;
	exec_stats.guest_insns_translated += tb->ninsns;
	exec_stats.host_bytes += size;
	exec_stats.translate_ns += now_ns() - t0;
	log_tb(tb);
	return tb;
}

void tb_add_jump(struct tb *from, int n, struct tb *to)
{
	if (from->jmp_dest[n])
		return;
	from->jmp_dest[n] = (uintptr_t)to;
	uint8_t *jmp_rx = from->code + from->jmp_insn[n];
	host_patch_jump(cache_rw + (jmp_rx - cache_rx), jmp_rx, to->code);
}
