/*
 * Translation blocks: the code cache, the global TB hash, the per-CPU jump
 * cache, chaining and invalidation.  The code cache is one memfd mapped twice,
 * writable and executable, so generated code is never writable and
 * executable at one address (W^X).  A memfd's size counts against the
 * guest's RLIMIT_FSIZE (growing it past the limit raises SIGXFSZ), so the
 * soft limit is lifted to the hard one while loom sizes it; where even the
 * hard limit is too low, the cache is shared anonymous memory instead,
 * mapped twice with mremap, and a fork server's children copy it rather
 * than sharing it copy-on-write (that needs a file to map privately).
 * loom's descriptors live out of the guest's sight (util/ownfd.c).
 * Invariant: TBs are laid out in the cache
 * in allocation order, so a host pc maps to its TB by binary search.
 *
 * Invalidation (for self-modifying code, see smc.c) takes one TB out of
 * everything that can lead to it: the hash, every jump cache, the chained
 * jumps into it (each TB keeps the list of its incoming jumps, so they are
 * patched back to their unchained path exactly) and its pages' lists.  Its
 * code and struct stay until the next flush: a thread may still be running
 * it, and a fault in it must still map to a guest pc.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "exec/exec-internal.h"
#include "exec/guest-mem.h"
#include "exec/tlb.h"
#include "host/host.h"
#include "util/log.h"
#include "util/ownfd.h"

/* Under valgrind (bench/hipg.sh counts host instructions with callgrind)
 * code changed through the writable view of the cache must be announced:
 * valgrind sees stores to the addresses it runs, not to an alias of them,
 * and would go on running a chained jump's old target. */
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define cache_changed(rx, len) VALGRIND_DISCARD_TRANSLATIONS(rx, len)
#else
#define cache_changed(rx, len) ((void)0)
#endif

#define CODE_CACHE_MAX (256u << 20)
#define CODE_CACHE_MIN (16u << 20)
#define TB_HASH_BITS 16
#define TB_HASH_SIZE (1u << TB_HASH_BITS)
#define MAX_TBS (1u << 20)
#define PAGE_OF(a) ((a) & ~4095ull)

struct exec_options exec_opts;
struct exec_hooks exec_hooks;
bool exec_mem_watched;
bool exec_regs_watched;
bool exec_blocks_watched;
struct exec_guest exec_guest;
struct guest_mem_ops guest_mem;
struct exec_stats exec_stats;

static uint8_t *cache_rw, *cache_rx;
/* CODE_CACHE_MAX, or less under a finite RLIMIT_AS, which the cache's two
 * views count against: an eighth of the limit, so that the guest keeps the
 * address space it would have natively, less loom's own few megabytes. */
static size_t cache_size = CODE_CACHE_MAX;
static int cache_fd = -1;	/* the memfd both views map; -1 if anonymous */
static size_t prologue_size;
static size_t code_used;
/* A fork server's child maps [0, cow_limit) of its parent's cache
 * privately, read and execute only (see exec_fork_cow); its own TBs go
 * above, into a memfd of its own made at its first translation. */
static size_t cow_limit;
static bool cow_fresh_pending;
static bool fork_cow;
host_enter_fn exec_enter;
const void *exec_epilogue_exit;

static struct tb *tb_hash[TB_HASH_SIZE];
static struct tb **tbs;		/* in code-cache order */
static uint32_t ntbs;
static struct ir_ctx ir;

/* Threads: translation, insertion, chaining, invalidation and flushes run
 * under tb_mutex; lookups do not take it.  A TB is complete before it is
 * published (release stores into tb_hash and ntbs, acquire loads in
 * readers), and TBs are freed only by exec_flush_all, which first stops
 * every other cpu outside translated code (exec_stop_cpus, loop.c). */
static pthread_mutex_t tb_mutex = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void tb_lock(void)
{
	if (pthread_mutex_trylock(&tb_mutex) == 0)
		return;
	/* Blocked: let a flush by the holder go on without us. */
	struct cpu_exec *x = exec_current_cpu ? exec_state(exec_current_cpu) : NULL;
	int busy = x ? x->busy : 0;
	if (busy)
		__atomic_store_n(&x->busy, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&tb_mutex);
	if (busy)
		x->busy = 1;	/* no flush can start while we hold the lock */
}

void tb_unlock(void)
{
	pthread_mutex_unlock(&tb_mutex);
}

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

/* A memfd of cache_size bytes, or -1 if RLIMIT_FSIZE's hard limit
 * forbids one that large.  The soft limit is raised only for the
 * ftruncate; writes go through mappings, which the limit does not see. */
static int cache_memfd(void)
{
	struct rlimit rl, raised;
	bool changed = false;
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < cache_size) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < cache_size)
			return -1;
		raised = rl;
		raised.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_FSIZE, &raised) < 0)
			return -1;
		changed = true;
	}
	int fd = memfd_create("loom-code-cache", MFD_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, cache_size) < 0) {
		close(fd);
		fd = -1;
	}
	if (changed)
		setrlimit(RLIMIT_FSIZE, &rl);
	return fd;
}

/* Shared anonymous memory for the cache (the fallback of cache_memfd). */
static uint8_t *cache_anon(void)
{
	void *m = mmap(NULL, cache_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return m == MAP_FAILED ? NULL : m;
}

/* Copy the first len bytes of the executable view into fd's start. */
static bool copy_into_fd(int fd, size_t len)
{
	size_t maplen = (len + 4095) & ~4095ul;
	if (!maplen)
		return true;
	void *m = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return false;
	memcpy(m, cache_rx, len);
	munmap(m, maplen);
	return true;
}

/* The cpu_exec fields generated code reaches: the jump cache (goto_lookup)
 * and the tool-region FP state (host.h).  Offsets from env, the same for
 * every cpu; set before any translation, which a thread without a cpu may
 * make (exec_pretranslate). */
static void set_host_layout(void)
{
	int32_t x = exec_guest.exec_off;
	struct host_jc_layout l = {
		.jmp_cache_off = x + (int32_t)offsetof(struct cpu_exec, jmp_cache),
		.bits = JMP_CACHE_BITS,
		.tb_pc_off = offsetof(struct tb, pc),
		.tb_code_off = offsetof(struct tb, code),
		.exit_request_off = x + (int32_t)offsetof(struct cpu_exec, exit_request),
	};
	host_set_jc_layout(&l);
	struct host_tool_fp_layout t = {
		.tool_fp_off = x + (int32_t)offsetof(struct cpu_exec, tool_fp),
		.fp_dirty_off = x + (int32_t)offsetof(struct cpu_exec, fp_dirty),
		.guest_csr_off = x + (int32_t)offsetof(struct cpu_exec, guest_csr),
		.tool_csr_off = x + (int32_t)offsetof(struct cpu_exec, tool_csr),
	};
	host_set_tool_fp_layout(&t);
}

void exec_init(void)
{
	struct rlimit as;
	if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY &&
	    as.rlim_cur / 8 < CODE_CACHE_MAX) {
		size_t want = (size_t)(as.rlim_cur / 8) & ~((1ul << 20) - 1);
		cache_size = want < CODE_CACHE_MIN ? CODE_CACHE_MIN : want;
	}
	/* Near loom's own text so helper calls fit in rel32. */
	uintptr_t hint = ((uintptr_t)&exec_init & ~0xffffful) - 0x40000000ul;
	/* perf names samples from the JIT map in anonymous memory only (a
	 * shared anonymous mapping reads as /dev/zero); in a memfd it would
	 * look for symbols in the file. */
	int fd = exec_opts.perfmap ? -1 : cache_memfd();
	if (fd >= 0) {
		cache_rx = mmap((void *)hint, cache_size, PROT_READ | PROT_EXEC, MAP_SHARED,
				fd, 0);
		cache_rw = mmap(NULL, cache_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		/* Kept for copy-on-write forks. */
		cache_fd = ownfd_take(fd, &cache_fd, NULL);
	} else {
		cache_rx = mmap((void *)hint, cache_size, PROT_READ | PROT_EXEC,
				MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		cache_rw = cache_rx == MAP_FAILED ? MAP_FAILED
			   : mremap(cache_rx, 0, cache_size, MREMAP_MAYMOVE);
		if (cache_rw != MAP_FAILED &&
		    mprotect(cache_rw, cache_size, PROT_READ | PROT_WRITE) < 0)
			cache_rw = MAP_FAILED;
	}
	if (cache_rx == MAP_FAILED || cache_rw == MAP_FAILED)
		fatal(LOOM_EXIT_INTERNAL, "cannot map the code cache: %m");
	ir_init(&ir);
	exec_guest.ir_init(&ir);
	if (exec_hooks.ir_init)
		exec_hooks.ir_init(&ir);
	/* fixed for the process: every TB and the epilogue agree on it */
	host_set_pin_counter(ir.pin_counter_off);
	set_host_layout();
	prologue_size = host_gen_prologue(cache_rw, cache_rx, 4096, &exec_enter, &exec_epilogue_exit);
	prologue_size = (prologue_size + 63) & ~63ul;
	code_used = prologue_size;
	tbs = calloc(MAX_TBS, sizeof(*tbs));
	if (!tbs)
		fatal(LOOM_EXIT_INTERNAL, "out of memory");
}

/* The copy the next fork's child will map (a memfd, or anonymous memory
 * when the cache is anonymous); -1 and NULL when no fork is in progress. */
static int fork_cache_fd = -1;
static uint8_t *fork_cache_anon;

void exec_fork_cow(bool on)
{
	fork_cow = on;
}

/* The lock is held from prepare to parent/child, so the copy is of a
 * consistent cache and no other thread is inside the lock at the fork.
 * A copy-on-write fork copies nothing: the child maps cache_fd itself. */
void exec_fork_prepare(void)
{
	tb_lock();
	if (fork_cow && cache_fd >= 0 && !cow_limit && fcntl(cache_fd, F_GETFD) >= 0)
		return;
	/* From the executable view: the only complete one in a cow child. */
	fork_cache_fd = cache_memfd();
	if (fork_cache_fd >= 0) {
		if (!copy_into_fd(fork_cache_fd, code_used))
			fatal(LOOM_EXIT_INTERNAL, "cannot copy the code cache for fork: %m");
		return;
	}
	fork_cache_anon = cache_anon();
	if (!fork_cache_anon)
		fatal(LOOM_EXIT_INTERNAL, "cannot copy the code cache for fork: %m");
	memcpy(fork_cache_anon, cache_rx, code_used);
}

void exec_fork_parent(void)
{
	if (fork_cache_fd >= 0)
		close(fork_cache_fd);
	if (fork_cache_anon)
		munmap(fork_cache_anon, cache_size);
	fork_cache_fd = -1;
	fork_cache_anon = NULL;
	tb_unlock();
}

/* Both views of [off, cache_size) onto fd, or (fd < 0) onto the
 * shared anonymous memory at anon, at the same addresses. */
static bool map_views(int fd, uint8_t *anon, size_t off)
{
	size_t len = cache_size - off;
	if (fd < 0)
		return mremap(anon + off, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			      cache_rx + off) != MAP_FAILED &&
		       mprotect(cache_rx + off, len, PROT_READ | PROT_EXEC) == 0 &&
		       mremap(anon + off, 0, len, MREMAP_MAYMOVE | MREMAP_FIXED,
			      cache_rw + off) != MAP_FAILED;
	return mmap(cache_rx + off, len, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, fd,
		    off) != MAP_FAILED &&
	       mmap(cache_rw + off, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd,
		    off) != MAP_FAILED;
}

static void cache_fd_close(void)
{
	if (cache_fd < 0)
		return;
	ownfd_drop(cache_fd);
	close(cache_fd);
	cache_fd = -1;
}

void exec_fork_child(void)
{
	if (fork_cache_fd < 0 && !fork_cache_anon) {
		/* Copy-on-write: the parent's code stays where it is, private
		 * to us from the first write on; new code goes above it. */
		if (mmap(cache_rx, cache_size, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED,
			 cache_fd, 0) == MAP_FAILED)
			internal_error("cannot map the code cache after fork: %m");
		cache_fd_close();
		code_used = (code_used + 4095) & ~4095ul;
		cow_limit = code_used;
		/* The writable view below cow_limit is still the parent's. */
		mprotect(cache_rw, cow_limit, PROT_READ);
		cow_fresh_pending = true;
	} else {
		/* Same addresses, private contents: TB pointers stay valid. */
		if (!map_views(fork_cache_fd, fork_cache_anon, 0))
			internal_error("cannot remap the code cache after fork: %m");
		cache_fd_close();
		if (fork_cache_fd >= 0)
			cache_fd = ownfd_take(fork_cache_fd, &cache_fd, NULL);
		if (fork_cache_anon)
			munmap(fork_cache_anon, cache_size);
		fork_cache_fd = -1;
		fork_cache_anon = NULL;
		cow_limit = 0;
		cow_fresh_pending = false;
	}
	fork_cow = false;
	/* The lock's owner is the parent's thread: start over with a new one. */
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&tb_mutex, &a);
	pthread_mutexattr_destroy(&a);
	exec_forget_other_cpus();
}

/* A cow child's first code of its own: a memfd for [keep, end), and for
 * [0, keep) a copy of what the executable view holds there (keep is
 * cow_limit, or the prologue's size when a flush drops the rest). */
static void cow_own(size_t keep)
{
	int fd = cache_memfd();
	uint8_t *anon = fd < 0 ? cache_anon() : NULL;
	size_t off = keep == cow_limit ? cow_limit : 0;
	if (fd < 0 && !anon)
		internal_error("cannot extend the code cache: %m");
	if (off == 0 && anon)
		memcpy(anon, cache_rx, keep);
	if ((off == 0 && fd >= 0 && !copy_into_fd(fd, keep)) || !map_views(fd, anon, off))
		internal_error("cannot extend the code cache: %m");
	cache_fd_close();
	if (fd >= 0)
		cache_fd = ownfd_take(fd, &cache_fd, NULL);
	if (anon)
		munmap(anon, cache_size);
	cow_fresh_pending = false;
	if (off == 0)
		cow_limit = 0;
}

/* Patch a jump in the code cache.  Below cow_limit the code is a private,
 * read-only view: write through /proc/self/mem, which breaks the sharing
 * of that one page as a debugger's breakpoint does, or failing that open
 * the page for writing (no thread runs there meanwhile in practice: a
 * fork server's children are single-threaded when they chain). */
static int self_mem = -1;

static void cache_patch_at(uint8_t *jmp_rx, const void *dest)
{
	if ((size_t)(jmp_rx - cache_rx) >= cow_limit) {
		host_patch_jump(cache_rw + (jmp_rx - cache_rx), jmp_rx, dest);
		return;
	}
	uint8_t insn[5];
	memcpy(insn, jmp_rx, 5);
	host_patch_jump(insn, jmp_rx, dest);
	if (self_mem < 0)
		self_mem = ownfd_take(open("/proc/self/mem", O_RDWR | O_CLOEXEC), &self_mem, NULL);
	if (self_mem >= 0 && pwrite(self_mem, insn + 1, 4, (off_t)(uintptr_t)(jmp_rx + 1)) == 4)
		return;
	uint8_t *page = (uint8_t *)((uintptr_t)jmp_rx & ~4095ul);
	size_t len = (uintptr_t)jmp_rx + 5 > (uintptr_t)page + 4096 ? 8192 : 4096;
	if (mprotect(page, len, PROT_READ | PROT_WRITE) < 0)
		internal_error("cannot patch the code cache: %m");
	host_patch_jump(jmp_rx, jmp_rx, dest);
	mprotect(page, len, PROT_READ | PROT_EXEC);
}

static void cache_patch(uint8_t *jmp_rx, const void *dest)
{
	cache_patch_at(jmp_rx, dest);
	cache_changed(jmp_rx, 5);
}

static void tb_free(struct tb *tb)
{
	free(tb->insn_host_off);
	free(tb->insn_pc);
	free(tb->code_copy);
	free(tb->instr_fix);
	free(tb->fault_map);
	free(tb);
}

void exec_finish(void)
{
	const struct exec_stats *st = &exec_stats;
	if (!log_enabled(LOG_STATS))
		return;
	double us = st->translate_ns / 1e3;
	log_printf("loom: stats: %lu TBs translated (%lu guest insns, %lu host bytes, "
		   "%.1f host bytes/guest insn, %lu bytes of fault points), %.0f us translating, "
		   "%.2f us/TB, %.0f TBs/s of translation time, %lu flushes, %lu TBs split\n",
		   (unsigned long)st->tbs_translated, (unsigned long)st->guest_insns_translated,
		   (unsigned long)st->host_bytes,
		   st->guest_insns_translated ? (double)st->host_bytes / st->guest_insns_translated : 0.0,
		   (unsigned long)st->fault_map_bytes,
		   us, st->tbs_translated ? us / st->tbs_translated : 0.0,
		   us ? st->tbs_translated / (us / 1e6) : 0.0, (unsigned long)st->flushes,
		   (unsigned long)st->tbs_split);
	/* the stages' sum falls short of the total by the TB bookkeeping */
	const struct { const char *name; uint64_t ns; } stage[] = {
		{ "fetch+decode", st->decode_ns }, { "lift", st->lift_ns },
		{ "instrument", st->instrument_ns }, { "optimize", st->optimize_ns },
		{ "codegen", st->codegen_ns },
	};
	for (size_t i = 0; i < sizeof(stage) / sizeof(stage[0]); i++)
		log_printf("loom: stats: translation stage %-12s %9.0f us, %6.3f us/TB, "
			   "%6.3f us/guest insn\n", stage[i].name, stage[i].ns / 1e3,
			   st->tbs_translated ? stage[i].ns / 1e3 / st->tbs_translated : 0.0,
			   st->guest_insns_translated ?
				   stage[i].ns / 1e3 / st->guest_insns_translated : 0.0);
	log_printf("loom: stats: %lu TBs invalidated; SMC: %lu pages write-protected, "
		   "%lu writes into them, %lu stores restarted, %lu hot pages, "
		   "%lu stale self-checking TBs\n",
		   (unsigned long)st->tbs_invalidated, (unsigned long)st->smc_protects,
		   (unsigned long)st->smc_write_faults, (unsigned long)st->smc_restarts,
		   (unsigned long)st->smc_hot_pages, (unsigned long)st->smc_stale);
}

void exec_flush_all(void)
{
	tb_lock();
	exec_stop_cpus();
	for (uint32_t i = 0; i < ntbs; i++)
		tb_free(tbs[i]);
	ntbs = 0;
	memset(tb_hash, 0, sizeof(tb_hash));
	exec_clear_jmp_caches();
	smc_flush();
	code_used = prologue_size;
	cache_changed(cache_rx + prologue_size, cache_size - prologue_size);
	if (cow_limit)		/* a cow child: the parent's code goes too */
		cow_own(prologue_size);
	exec_stats.flushes++;
	if (exec_hooks.flushed)
		exec_hooks.flushed();	/* every cpu is stopped: no TB is running */
	exec_resume_cpus();
	tb_unlock();
}

/* Whether tb, found for (pc, phys, flags), is on the pages it was
 * translated from: in system mode the second page of a TB whose one
 * instruction crosses a page must still map where it did (the first is
 * phys's).  The jump cache needs no such check: it is emptied whenever a
 * mapping may change (exec_jc_flush). */
static bool tb_pages_match(struct tb *tb)
{
	uint64_t pa2;
	if (!tlb_softmmu || tb->page_addr[1] == TB_NO_PAGE)
		return true;
	return tlb_code_phys(tlb_of_env(exec_current_cpu), (tb->pc | (TLB_PAGE_SIZE - 1)) + 1, &pa2) &&
	       (pa2 & TLB_PAGE_MASK) == tb->page_addr[1];
}

struct tb *tb_lookup(struct cpu_exec *x, uint64_t pc, uint64_t phys, uint32_t flags)
{
	uint32_t j = jc_index(pc);
	struct tb *tb = x->jmp_cache[j];
	/* (phys costs nothing here: a jump cache left stale by a flush that
	 * forgot it still cannot run code of another physical page) */
	if (tb && tb->pc == pc && tb->phys_pc == phys && tb->flags == flags)
		return tb;
	tb = __atomic_load_n(&tb_hash[tb_hash_of(pc, flags)], __ATOMIC_ACQUIRE);
	for (; tb; tb = tb->hash_next) {
		if (tb->pc == pc && tb->phys_pc == phys && tb->flags == flags && tb_pages_match(tb)) {
			exec_jc_note(x, pc);
			__atomic_store_n(&x->jmp_cache[j], tb, __ATOMIC_SEQ_CST);
			/* tb_invalidate sets CF_INVALID before it clears the jump
			 * caches: either it cleared this entry or we see the flag. */
			if (__atomic_load_n(&tb->flags, __ATOMIC_SEQ_CST) & CF_INVALID) {
				x->jmp_cache[j] = NULL;
				return NULL;
			}
			return tb;
		}
	}
	return NULL;
}

struct tb *tb_find_by_host_pc(uintptr_t hpc)
{
	uint32_t lo = 0, hi = __atomic_load_n(&ntbs, __ATOMIC_ACQUIRE);
	if (!hi || hpc < (uintptr_t)tbs[0]->code)
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

int tb_insn_index_of(struct tb *tb, uintptr_t hpc)
{
	uint32_t off = hpc - (uintptr_t)tb->code;
	int idx = 0;
	for (uint32_t i = 0; i < tb->ninsns && tb->insn_host_off[i] <= off; i++)
		idx = i;
	return idx;
}

uint64_t tb_guest_pc_of(struct tb *tb, uintptr_t hpc)
{
	uint32_t off = hpc - (uintptr_t)tb->code;
	uint64_t pc = tb->pc;
	for (uint32_t i = 0; i < tb->ninsns && tb->insn_host_off[i] <= off; i++)
		pc = tb->insn_pc[i];
	return pc;
}

/* -perfmap: one line per TB, "HOSTADDR SIZE NAME" in hex, the format perf
 * reads from /tmp/perf-PID.map to name samples in code it has no file
 * for.  Opened at the first TB and again in a forked child (its pid's
 * file, listing the TBs it inherited); written through stdio and flushed
 * at each block, so a profile taken while the guest runs sees them. */
static FILE *perfmap_file;
static pid_t perfmap_pid;

static void perfmap_line(const struct tb *tb)
{
	fprintf(perfmap_file, "%lx %x guest-0x%lx\n", (unsigned long)(uintptr_t)tb->code,
		tb->code_size, (unsigned long)tb->pc);
}

static void perfmap_add(const struct tb *tb)
{
	pid_t pid = getpid();
	if (perfmap_pid != pid) {
		char path[64];
		if (perfmap_file)
			fclose(perfmap_file);
		perfmap_pid = pid;
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
		perfmap_file = fopen(path, "we");
		if (!perfmap_file) {
			fprintf(stderr, "%s: -perfmap: cannot write %s: %m\n", log_prog, path);
			exec_opts.perfmap = false;
			return;
		}
		for (size_t i = 0; i < ntbs; i++)
			if (tbs[i] != tb)
				perfmap_line(tbs[i]);
	}
	perfmap_line(tb);
	fflush(perfmap_file);
}

static void log_tb(struct tb *tb)
{
	if (exec_opts.perfmap)
		perfmap_add(tb);
	FILE *f = log_file ? log_file : stderr;
	if (log_enabled(LOG_OUT_ASM)) {
		fprintf(f, "OUT: [size=%u]\n", tb->code_size);
		host_disas(f, tb->code, tb->code_size);
		fputc('\n', f);
	}
}

/* A TB on a hot page guards itself: on entry it compares its guest bytes
 * with the copy it was translated from (overlapping loads of 8, 4, 2 or 1
 * bytes), and if they differ it sets SMC_WORK_STALE and leaves as if an
 * exit had been requested, so the loop's tb_smc_lookup drops it.  The check
 * goes in front of the lifted code; nothing before it can have run. */
static void tb_emit_guard(struct tb *tb)
{
	int32_t work_off = exec_guest.exec_off + (int32_t)offsetof(struct cpu_exec, smc_work);
	uint32_t len = tb->guest_size, first = ir.nops, stale = ir_new_label(&ir);
	unsigned size = len >= 8 ? 8 : len >= 4 ? 4 : len >= 2 ? 2 : 1;
	int memop = size == 8 ? IR_MO_64 : size == 4 ? IR_MO_32 : size == 2 ? IR_MO_16 : IR_MO_8;

	tb->code_copy = malloc(len);
	if (!tb->code_copy)
		internal_error("out of memory for a TB");
	memcpy(tb->code_copy, (const void *)(uintptr_t)tb->pc, len);
	for (uint32_t off = 0;; off += size) {
		if (off + size > len)
			off = len - size;
		uint64_t want = 0;
		memcpy(&want, tb->code_copy + off, size);
		ir_ref v = ir_new_temp(&ir, IR_I64);
		ir_emit(&ir, IR_load, IR_I64, (ir_ref[]){ v, ir_const(&ir, IR_I64, tb->pc + off) },
			(int64_t[]){ memop });
		ir_emit(&ir, IR_brcond, IR_I64, (ir_ref[]){ v, ir_const(&ir, IR_I64, want) },
			(int64_t[]){ IR_NE, stale });
		if (off + size >= len)
			break;
	}
	/* Rotate the check in front of the lifted code. */
	uint32_t n = ir.nops - first;
	struct ir_op check[n];
	memcpy(check, &ir.ops[first], n * sizeof(*check));
	memmove(&ir.ops[n], &ir.ops[0], first * sizeof(*check));
	memcpy(&ir.ops[0], check, n * sizeof(*check));
	ir_emit(&ir, IR_set_label, IR_I64, NULL, (int64_t[]){ stale });
	ir_emit(&ir, IR_st_env, IR_I64, (ir_ref[]){ ir_const(&ir, IR_I64, SMC_WORK_STALE) },
		(int64_t[]){ work_off, IR_MO_32 });
	ir_emit(&ir, IR_exit_tb, IR_I64, NULL, (int64_t[]){ (uintptr_t)tb | TB_EXIT_REQUESTED });
}

/* Drop what a translation attempt attached to tb, keeping its key. */
static void tb_clear(struct tb *tb)
{
	free(tb->insn_host_off);
	free(tb->insn_pc);
	free(tb->code_copy);
	free(tb->instr_fix);
	free(tb->fault_map);
	*tb = (struct tb){ .pc = tb->pc, .phys_pc = tb->phys_pc, .flags = tb->flags };
}

#define TB_GEN_FAILED ((size_t)-2)

/* The time since *t, which becomes now: one stage of -d stats' timings. */
static uint64_t stage_end(uint64_t *t)
{
	uint64_t now = exec_now_ns(), d = now - *t;
	*t = now;
	return d;
}

/* One attempt at the TB at tb->pc with at most *max_insns guest
 * instructions: lift, instrument, optimize and generate code at code_used.
 * Returns the code's size, 0 if the code cache has no room for it,
 * HOST_GEN_TOO_BIG if it is more than one TB may hold, TB_GEN_FAILED if the
 * guest code cannot be translated. */
static size_t tb_attempt(struct tb *tb, unsigned *max_insns, bool guard, bool oneshot,
			 uint32_t *reached)
{
	uint64_t pc = tb->pc;
	FILE *f = log_file ? log_file : stderr;
	bool timing = log_enabled(LOG_STATS);
	uint64_t t = timing ? exec_now_ns() : 0, decode0 = exec_stats.decode_ns;

	if (exec_hooks.tb_start)
		exec_hooks.tb_start(pc);
	for (;;) {
		ir_reset(&ir);
		if (exec_guest.translate(&ir, tb, *max_insns, NULL) < 0)
			return TB_GEN_FAILED;
		/* Only a TB of one instruction may cross a page (translate.c). */
		uint64_t last = PAGE_OF(pc + tb->guest_size - 1);
		if (last - PAGE_OF(pc) > 4096)
			internal_error("TB at 0x%lx spans more than two pages", (unsigned long)pc);
		if (tlb_softmmu) {
			/* Physical pages: the code map and smc.c's lists
			 * know TBs by them.  The translation just fetched
			 * the second page, so it is mapped. */
			uint64_t pa2 = 0;
			tb->page_addr[0] = PAGE_OF(tb->phys_pc);
			tb->page_addr[1] = TB_NO_PAGE;
			if (last != PAGE_OF(pc) &&
			    tlb_code_phys(tlb_of_env(exec_current_cpu), last, &pa2))
				tb->page_addr[1] = PAGE_OF(pa2);
			break;
		}
		tb->page_addr[0] = PAGE_OF(pc);
		tb->page_addr[1] = last != PAGE_OF(pc) ? last : TB_NO_PAGE;
		if (guard || oneshot || last == PAGE_OF(pc) || !smc_page_hot(last))
			break;
		guard = true;
		if (tb->ninsns == 1)
			break;
		*max_insns = 1;
	}
	if (timing) {
		/* guest_translate timed its fetch and decode */
		exec_stats.lift_ns += stage_end(&t) - (exec_stats.decode_ns - decode0);
	}
	if (exec_hooks.tb_lifted && exec_hooks.tb_lifted(&ir, tb, *max_insns) < 0)
		return TB_GEN_FAILED;
	if (guard)
		tb_emit_guard(tb);
	if (timing)
		exec_stats.instrument_ns += stage_end(&t);
	if (log_enabled(LOG_IN_ASM)) {
		fprintf(f, "----------------\nIN: \n");
		exec_guest.disas(f, pc, tb->guest_size);
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
	if (timing)
		exec_stats.optimize_ns += stage_end(&t);
	if (exec_hooks.tb_end)
		exec_hooks.tb_end(&ir, tb);
	if (timing)
		exec_stats.instrument_ns += stage_end(&t);
	if (log_enabled(LOG_OP_OPT)) {
		fprintf(f, "OP after optimization and liveness analysis:\n");
		ir_print(&ir, f);
		fputc('\n', f);
	}
	tb->insn_host_off = malloc(tb->ninsns * sizeof(*tb->insn_host_off) + 2);
	tb->insn_pc = malloc(tb->ninsns * sizeof(*tb->insn_pc) + 8);
	if (!tb->insn_host_off || !tb->insn_pc)
		internal_error("out of memory for a TB");
	uint32_t guest_insns = tb->ninsns;
	if (cow_fresh_pending)
		cow_own(cow_limit);
	size_t size = host_gen_code(&ir, tb, cache_rw + code_used, cache_rx + code_used,
				    cache_size - code_used);
	if (timing)
		exec_stats.codegen_ns += stage_end(&t);
	*reached = tb->ninsns;
	tb->ninsns = guest_insns;
	return size;
}

/* Lift, optimize and emit the TB at pc and publish it in tbs[] (so faults
 * in it map to guest pcs), but not in the hash or on its pages.  The caller
 * holds tb_lock.  A TB starting on a hot page is one self-checking
 * instruction; so is one whose instruction crosses into a hot page.
 *
 * A TB too big for the backend (instrumentation can make a block of a few
 * hundred instructions need more code, branches or spill slots than one TB
 * may have) is translated again from the start with at most half as many
 * instructions (fewer than the backend got through), until it fits; the
 * rest of the block becomes the next TB.
 * A cache too full for it is flushed and the TB translated again from the
 * start: the flush drops the plugin records the first attempt's IR uses. */
/* The rest of a block that had to be split is as a rule as densely
 * instrumented: the TB continuing it starts from the size that fitted, not
 * from 512 (an attempt at 512 such instructions costs more than the TBs
 * that fit).  Translation is under tb_lock. */
static uint64_t split_next_pc;
static unsigned split_next_insns;

static struct tb *tb_translate(uint64_t pc, uint64_t phys, uint32_t flags, unsigned oneshot)
{
	uint64_t t0 = exec_now_ns();
	bool guard = !oneshot && smc_page_hot(pc), flushed = false, split = false;
	unsigned max_insns = oneshot ? oneshot : (flags & (CF_SINGLE_INSN | CF_TRACE)) || guard ? 1 : 512;
	size_t size;

	if (pc == split_next_pc && split_next_insns < max_insns) {
		max_insns = split_next_insns;
		split = true;
	}

	if (ntbs >= MAX_TBS)
		exec_flush_all();
	struct tb *tb = calloc(1, sizeof(*tb));
	if (!tb)
		internal_error("out of memory for a TB");
	tb->pc = pc;
	tb->phys_pc = phys;
	tb->flags = flags;
	for (;;) {
		uint32_t reached;
		size = tb_attempt(tb, &max_insns, guard, oneshot, &reached);
		if (size == TB_GEN_FAILED) {
			tb_clear(tb);
			free(tb);
			return NULL;
		}
		if (size && size != HOST_GEN_TOO_BIG)
			break;
		if (!size && !flushed) {
			tb_clear(tb);
			exec_flush_all();
			flushed = true;
			continue;
		}
		if (tb->ninsns <= 1)
			internal_error("TB at 0x%lx: its one instruction does not fit in a TB",
				       (unsigned long)pc);
		/* Half as many, or fewer than the backend reached: those
		 * fitted, with no room left for the TB's end. */
		max_insns = tb->ninsns / 2;
		if (reached > 1 && reached - 1 < max_insns)
			max_insns = reached - 1;
		split = true;
		exec_stats.tbs_split++;
		if (log_enabled(LOG_EXEC))
			log_printf("loom: TB at 0x%lx: %u instructions are too many for one TB, "
				   "translating %u\n", (unsigned long)pc, tb->ninsns, max_insns);
		tb_clear(tb);
	}
	if (split && tb->ninsns == max_insns) {
		split_next_pc = pc + tb->guest_size;
		split_next_insns = max_insns;
	}
	tb->code = cache_rx + code_used;
	tb->code_size = size;
	code_used = (code_used + size + 15) & ~15ul;

	/* Publish only now that the TB is complete: lookups run unlocked. */
	tbs[ntbs] = tb;
	__atomic_store_n(&ntbs, ntbs + 1, __ATOMIC_RELEASE);

	exec_stats.tbs_translated++;
	exec_stats.guest_insns_translated += tb->ninsns;
	exec_stats.host_bytes += size;
	exec_stats.fault_map_bytes += host_fault_map_bytes(tb);
	exec_stats.translate_ns += exec_now_ns() - t0;
	log_tb(tb);
	return tb;
}

void (*exec_tb_hook)(uint64_t pc, uint32_t flags);
void (*exec_chain_hook)(uint64_t from_pc, uint32_t flags, int n, uint64_t to_pc);

/* The caller holds tb_lock.  The TB's pages are protected before the hash
 * publishes it, so no thread runs it while its page is still writable. */
struct tb *tb_gen_code(uint64_t pc, uint64_t phys, uint32_t flags)
{
	smc_drain();
	struct tb *tb = tb_translate(pc, phys, flags, 0);
	if (!tb)
		return NULL;
	smc_tb_link(tb);
	uint32_t h = tb_hash_of(pc, flags);
	tb->hash_next = tb_hash[h];
	__atomic_store_n(&tb_hash[h], tb, __ATOMIC_RELEASE);
	if (exec_tb_hook)
		exec_tb_hook(pc, flags);
	return tb;
}

static struct tb *tb_hash_find(uint64_t pc, uint32_t flags)
{
	for (struct tb *tb = tb_hash[tb_hash_of(pc, flags)]; tb; tb = tb->hash_next)
		if (tb->pc == pc && tb->flags == flags)
			return tb;
	return NULL;
}

int exec_tb_opening(uint64_t pc, uint32_t flags)
{
	struct tb *tb = tb_hash_find(pc, flags);
	return tb ? tb->opening : -1;
}

/* Warming stops well before the cache is full: a flush would free the TB
 * the fork server is running (it warms from inside a helper). */
bool exec_pretranslate(uint64_t pc, uint32_t flags)
{
	int prot = exec_mem_prot(pc);
	bool ok = false;

	if ((flags & (CF_INVALID | CF_ONESHOT)) || prot < 0 || !(prot & PROT_EXEC))
		return false;
	tb_lock();
	if (tb_hash_find(pc, flags))
		ok = true;
	else if (code_used < cache_size / 2 && ntbs < MAX_TBS / 2)
		ok = tb_gen_code(pc, pc, flags) != NULL;
	tb_unlock();
	return ok;
}

/* The TB found may not be the one that was chained (it may be one
 * instruction long now that its page is hot, or no longer): it may have no
 * goto_tb n at all (jmp_reset[n] is 0 then; a goto_tb's jmp is never at the
 * start of a TB), and patching its offset 0 would corrupt its code. */
void exec_prechain(uint64_t from_pc, uint32_t flags, int n, uint64_t to_pc)
{
	tb_lock();
	struct tb *from = tb_hash_find(from_pc, flags), *to = tb_hash_find(to_pc, flags);
	if (from && to && n >= 0 && n < 2 && from->jmp_reset[n] && !(flags & CF_NOCHAIN))
		tb_add_jump(from, n, to);
	tb_unlock();
}

/* The instruction at pc, to run once after an SMC fault restarted it: its
 * store lands on a page the drain just unprotected, and no hash, jump cache,
 * chain or page list will ever lead to it again (it is born invalid). */
static struct tb *tb_gen_oneshot(uint64_t pc, uint64_t phys, uint32_t flags, unsigned n)
{
	struct tb *tb = tb_translate(pc, phys, flags | CF_NOCHAIN | CF_ONESHOT | CF_INVALID, n);
	if (tb)
		tb->page_addr[0] = tb->page_addr[1] = TB_NO_PAGE;
	return tb;
}

struct tb *tb_opening_oneshot(uint64_t pc, uint64_t phys, uint32_t flags, unsigned n)
{
	tb_lock();
	struct tb *tb = tb_gen_oneshot(pc, phys, flags, n);
	tb_unlock();
	return tb;
}

/* Self-checking TBs for (pc, flags) whose guest bytes changed.  Under
 * tb_lock the bytes are mapped: unmapping invalidates first. */
static void tb_drop_stale(uint64_t pc, uint32_t flags)
{
	struct tb *tb = tb_hash[tb_hash_of(pc, flags)];
	while (tb) {
		struct tb *next = tb->hash_next;
		if (tb->pc == pc && tb->flags == flags && tb->code_copy &&
		    memcmp((const void *)(uintptr_t)pc, tb->code_copy, tb->guest_size)) {
			tb_invalidate(tb);
			exec_stats.smc_stale++;
		}
		tb = next;
	}
}

struct tb *tb_smc_lookup(struct cpu_exec *x, uint64_t pc, uint64_t phys, uint32_t flags)
{
	struct tb *tb;

	tb_lock();
	uint32_t work = __atomic_exchange_n(&x->smc_work, 0, __ATOMIC_SEQ_CST);
	smc_drain();
	if (work & SMC_WORK_RESTART) {
		tb = tb_gen_oneshot(pc, phys, flags, 1);
		if (tb)
			exec_stats.smc_restarts++;
	} else {
		if (work & SMC_WORK_STALE)
			tb_drop_stale(pc, flags);
		tb = tb_lookup(x, pc, phys, flags);
		if (!tb) {
			tb = tb_gen_code(pc, phys, flags);
			if (tb) {
				exec_jc_note(x, pc);
				x->jmp_cache[jc_index(pc)] = tb;
			}
		}
	}
	tb_unlock();
	return tb;
}

/* Point goto_tb n of tb back at its unchained path. */
static void tb_reset_jump(struct tb *tb, int n)
{
	uint8_t *jmp_rx = tb->code + tb->jmp_insn[n];
	cache_patch(jmp_rx, tb->code + tb->jmp_reset[n]);
	tb->jmp_dest[n] = 0;
}

void tb_invalidate(struct tb *tb)
{
	uint32_t flags = tb->flags;

	if (flags & CF_INVALID)
		return;
	__atomic_store_n(&tb->flags, flags | CF_INVALID, __ATOMIC_SEQ_CST);
	/* Readers walking the bucket step over it: its hash_next stays. */
	for (struct tb **pp = &tb_hash[tb_hash_of(tb->pc, flags)]; *pp; pp = &(*pp)->hash_next) {
		if (*pp == tb) {
			__atomic_store_n(pp, tb->hash_next, __ATOMIC_RELEASE);
			break;
		}
	}
	exec_jc_forget(tb);
	for (uintptr_t e = tb->jmp_list; e;) {
		struct tb *from = (struct tb *)(e & ~(uintptr_t)TB_EXIT_MASK);
		int n = e & TB_EXIT_MASK;
		e = from->jmp_next[n];
		tb_reset_jump(from, n);
	}
	tb->jmp_list = 0;
	/* Out of the incoming lists of the TBs it jumps to. */
	for (int n = 0; n < 2; n++) {
		struct tb *to = (struct tb *)tb->jmp_dest[n];
		if (!to)
			continue;
		uintptr_t *pp = &to->jmp_list, me = (uintptr_t)tb | n;
		while (*pp && *pp != me) {
			struct tb *t = (struct tb *)(*pp & ~(uintptr_t)TB_EXIT_MASK);
			pp = &t->jmp_next[*pp & TB_EXIT_MASK];
		}
		if (*pp)
			*pp = tb->jmp_next[n];
		tb_reset_jump(tb, n);
	}
	smc_tb_unlink(tb);
	exec_stats.tbs_invalidated++;
}

/*
 * Where a chained jump from `from` enters `to`: past to's exit-request
 * check when the jump cannot close a loop, else at the check.  The one
 * rule for which block entries check (docs/design.md, "Exit requests"):
 * a loop of blocks must contain an edge that checks.  Indirect jumps and
 * returns (goto_lookup) and the exec loop always enter at tb->code; a
 * chained jump to a block at a higher guest pc skips the check, so every
 * cycle of chained jumps, which must go back to a pc it has passed,
 * passes a check at the jump that does, and the latency of an exit
 * request is bounded by the longest run of forward jumps.  Whole-system
 * mode checks at every block: interrupts are delivered at the first
 * block boundary after they are raised, and where the guest stops (and
 * the plugin counts its tests compare) must not depend on the shape of
 * the code around it.
 */
static const uint8_t *tb_chain_entry(const struct tb *from, const struct tb *to)
{
	if (tlb_softmmu || !to->entry_nocheck || to->pc <= from->pc)
		return to->code;
	return to->code + to->entry_nocheck;
}

/* The caller holds tb_lock; the patch is one atomic 4-byte store, so a
 * thread running from's code sees the old or the new jump. */
void tb_add_jump(struct tb *from, int n, struct tb *to)
{
	/* to first: from may be stale when to is a one-shot (tb_smc_lookup). */
	if ((to->flags & CF_INVALID) || (from->flags & CF_INVALID) || from->jmp_dest[n])
		return;
	from->jmp_dest[n] = (uintptr_t)to;
	from->jmp_next[n] = to->jmp_list;
	to->jmp_list = (uintptr_t)from | n;
	uint8_t *jmp_rx = from->code + from->jmp_insn[n];
	cache_patch(jmp_rx, tb_chain_entry(from, to));
	if (exec_chain_hook)
		exec_chain_hook(from->pc, from->flags, n, to->pc);
}

/*
 * Mappings within reach of the code cache.  A call from translated code to
 * a function more than 2 GiB away is indirect, and on some hosts (AMD Zen)
 * a call and return between addresses terabytes apart cost about a
 * nanosecond more than between neighbours: a plugin's per-instruction
 * callback paid that at every instruction.  The kernel maps a shared
 * object top-down from below the stack, next to the C library, while the
 * code cache sits a gigabyte below loom's own text (exec_init).  Between
 * exec_near_begin and exec_near_end every free gap of the address space
 * above the code cache, up to the stack, is held by an inaccessible
 * reservation, except the first (between the cache and loom's text), so
 * the kernel's search for room ends there, or failing that below the
 * cache: calls into what is mapped meanwhile are direct (emit_call_to).
 * The heap cannot grow with brk meanwhile (malloc goes on with mmap, into
 * the same gap).  A reservation that fails (RLIMIT_AS) is left out: the
 * mapping may then land where it would have, and calls into it stay
 * indirect.
 */
#define NEAR_MAX_HOLDS 512

struct near_hold {
	int n;
	struct { void *at; size_t len; } h[NEAR_MAX_HOLDS];
};

void *exec_near_begin(void)
{
	struct near_hold *nh = calloc(1, sizeof(*nh));
	FILE *f = fopen("/proc/self/maps", "re");
	if (!nh || !f || !cache_rx) {
		if (f)
			fclose(f);
		return nh;
	}
	uintptr_t prev_end = (uintptr_t)cache_rx + cache_size;
	bool first = true;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0 && nh->n < NEAR_MAX_HOLDS) {
		unsigned long start, end;
		if (sscanf(line, "%lx-%lx", &start, &end) != 2 || end <= prev_end)
			continue;
		if (strstr(line, "[stack]"))
			break;	/* it grows down into the gap below it */
		uintptr_t gap = prev_end;
		prev_end = end;
		if (start <= gap)
			continue;
		if (first) {
			first = false;	/* the gap left for the new mappings */
			continue;
		}
		void *p = mmap((void *)gap, start - gap, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED)
			continue;
		nh->h[nh->n].at = p;
		nh->h[nh->n++].len = start - gap;
	}
	free(line);
	fclose(f);
	return nh;
}

void exec_near_end(void *hold)
{
	struct near_hold *nh = hold;
	if (!nh)
		return;
	for (int i = 0; i < nh->n; i++)
		munmap(nh->h[i].at, nh->h[i].len);
	free(nh);
}
