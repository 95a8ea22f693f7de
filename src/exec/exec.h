/*
 * The execution layer's public face: translation blocks, the exec loop, and
 * the reasons the loop hands control back to the OS layer.  It knows nothing
 * of the guest ISA (it asks the guest through the exec_guest table below) and
 * nothing of syscalls or signals: it returns EXEC_SYSCALL (user mode) and
 * EXEC_FAULT with a guest CPU exception, and lets the environment (linux/,
 * system/) act on them.
 */
#ifndef LOOM_EXEC_EXEC_H
#define LOOM_EXEC_EXEC_H

#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "ir/exception.h"
#include "ir/tb.h"

/* Why exec_run() returned. */
enum exec_exit {
	/* The guest executed its system-call instruction; pc is past it.
	 * User-mode behaviour: there the environment is the kernel, so the
	 * lifter ends the TB here for linux/ to emulate the call.  In
	 * whole-system mode the instruction is the CPU's (x86: a branch to
	 * LSTAR at CPL 0), translated as such under that mode's translation
	 * flags, and this exit never happens (docs/design.md). */
	EXEC_SYSCALL = 1,
	EXEC_FAULT,		/* the guest raised an exception: cpu_exec.exc */
	EXEC_REQUEST,		/* exit_request was set (async signal, control) */
};

#define JMP_CACHE_BITS 12
#define JMP_CACHE_SIZE (1u << JMP_CACHE_BITS)
/* Jump caches a vCPU keeps, one per translation mode (loop.c). */
#define JMP_CACHE_MODES 4

struct tb;

/* Execution state every guest CPU struct embeds (as member `x`). */
struct cpu_exec {
	volatile uint32_t exit_request;	/* read by generated code at TB entry */
	uint32_t pending_exit;		/* enum exec_exit set by helpers/lifters */
	struct guest_exception exc;	/* the last EXEC_FAULT's */
	struct tb **jmp_cache;		/* direct-mapped by guest pc */
	/* One jump cache per translation mode met lately (jc_flags[i]: the
	 * flags every TB in jc[i] has; JC_NONE: unused): jmp_cache is the
	 * current mode's.  A mode change (system mode's CPL changes on every
	 * syscall and interrupt) swaps the pointer instead of emptying 32 KB,
	 * and the inline lookup of indirect branches, which compares only the
	 * pc, stays right without comparing the flags. */
	struct tb **jc[JMP_CACHE_MODES];
	uint32_t jc_flags[JMP_CACHE_MODES];
	uint32_t jc_cur, jc_victim;
	sigjmp_buf jmp_env;		/* helpers and the fault handler unwind here */
	volatile int in_guest;		/* set while translated code or helpers run */
	/* Set while exec_run may hold TB pointers or run translated code
	 * (cleared while it waits for tb_lock); exec_flush_all waits until
	 * every other cpu's busy is clear (see loop.c). */
	volatile int busy;
	/* SMC_* (smc.c): the loop must take tb_smc_lookup before its next
	 * lookup.  Set by the fault handler and by a hot page's stale exit. */
	volatile uint32_t smc_work;
	int tid;
	/* The vCPU's index (vcpu.c): its slot, what plugins see. */
	uint32_t cpu_index;
	/* Tools' code called from translated code runs under the host's
	 * default FP state, not the guest's (host/host.h: tool regions).
	 * guest_csr: the guest's MXCSR, exact while tool_fp is TOOL_FP_IN
	 * and whenever fp_dirty is clear (then the host MXCSR equals it);
	 * fp_dirty: guest FP or a load of the host MXCSR may have changed
	 * it since (set by generated code and the guest layer); tool_csr:
	 * the MXCSR tools run under. */
	uint8_t tool_fp;		/* enum tool_fp (host/host.h) */
	uint8_t fp_dirty;
	uint32_t guest_csr;
	uint32_t tool_csr;
	/* Which guest pages the jump caches may hold TBs of: a bit per hash
	 * of the page number (JC_PAGE_BITS), set whenever a TB enters a jump
	 * cache, cleared only when every jump cache is emptied.  An invlpg
	 * of a page whose bit is clear (mostly data pages) skips the scan of
	 * exec_jc_flush_range. */
	uint64_t *jc_pages;
	/* The same for the TBs of global pages (the second JC_PAGE_BITS of
	 * jc_pages), which a CR3 write keeps: jc_kept says some are in. */
	bool jc_kept;
	/* The slots filled since the caches were last emptied (jc_cur <<
	 * JMP_CACHE_BITS | index), so that emptying them (system mode: on
	 * every CR3 write) clears those alone; jc_nused > JC_USED_MAX: too
	 * many, clear everything. */
	uint16_t *jc_used;
	uint32_t jc_nused;
};

#define JC_PAGE_BITS 4096
#define JC_USED_MAX 512

/* Note that pc's page may now have a TB in x's jump caches: its slot in
 * the current one is about to be filled. */
bool exec_jc_global(uint64_t pc);
static inline void exec_jc_note(struct cpu_exec *x, uint64_t pc)
{
	uint64_t h = (pc >> 12) & (JC_PAGE_BITS - 1);	/* 4 KB pages */
	if (exec_jc_global(pc)) {
		/* not listed in jc_used: a non-global flush leaves it */
		x->jc_pages[(JC_PAGE_BITS + h) / 64] |= 1ull << (h % 64);
		x->jc_kept = true;
		return;
	}
	x->jc_pages[h / 64] |= 1ull << (h % 64);
	if (x->jc_nused < JC_USED_MAX)
		x->jc_used[x->jc_nused] = x->jc_cur << JMP_CACHE_BITS |
					  ((pc ^ (pc >> JMP_CACHE_BITS)) & (JMP_CACHE_SIZE - 1));
	if (x->jc_nused <= JC_USED_MAX)
		x->jc_nused++;
}

/*
 * What exec asks of the guest.  exec lies below the guest (docs/design.md:
 * the guest's helpers raise exceptions and read the memory map through
 * exec) and reaches it only through this table, which the guest defines
 * (guest/guest.h: guest_exec_ops) and the front door installs before
 * exec_init and the first vCPU.
 */
struct ir_ctx;
struct exec_guest {
	size_t cpu_size;	/* the guest's cpu struct (env), which exec allocates */
	int32_t exec_off;	/* where struct cpu_exec lies in it */
	/* register the guest's IR globals and helpers (once per ir_ctx) */
	void (*ir_init)(struct ir_ctx *ir);
	/* lift the TB at tb->pc (guest/guest.h: guest_translate) */
	int (*translate)(struct ir_ctx *ir, struct tb *tb, unsigned max_insns,
			 const uint64_t *sync_insns);
	uint64_t (*pc)(void *cpu);
	void (*set_pc)(void *cpu, uint64_t pc);
	/* the guest single-steps now: run CF_TRACE TBs */
	bool (*tracing)(void *cpu);
	/* around running guest code, and the unwinding of a host signal
	 * out of it (guest/guest.h: guest_enter) */
	void (*enter)(void *cpu);
	void (*leave)(void *cpu);
	void (*host_signal_unwind)(void *cpu, void *ucontext);
	/* a fault inside a tool region (host.h) unwinds out of it: the
	 * guest's FP state as the region's end would bring it back */
	void (*tool_unwind)(void *cpu);
	/* faults whose guest form differs from the host's, and the fault of a
	 * pc that cannot be translated (guest_fault_refine, guest_fetch_fault) */
	void (*fault_refine)(void *cpu, struct guest_exception *e);
	void (*fetch_fault)(void *cpu, uint64_t branch_pc, struct guest_exception *e);
	/* the CF_GUEST_MASK bits of the mode the cpu runs in (guest_tb_mode) */
	uint32_t (*tb_mode)(void *cpu);
	/* -d in_asm and -d cpu */
	void (*disas)(FILE *f, uint64_t pc, uint32_t size);
	void (*dump_state)(void *cpu, FILE *f);
};
extern struct exec_guest exec_guest;
/* The exec state of a guest cpu (vcpu.c). */
struct cpu_exec *exec_state(void *cpu);

struct exec_options {
	bool single_insn;
	bool nochain;
	/* -perfmap: /tmp/perf-PID.map lists every TB (perf's JIT map) */
	bool perfmap;
};
extern struct exec_options exec_opts;

void exec_init(void);
/* Run translated code until the OS layer must act.  Each guest thread
 * calls it on its own host thread with its own cpu. */
enum exec_exit exec_run(void *cpu);
/*
 * vCPUs (vcpu.c).  exec allocates them: the guest's CPU struct (env, zeroed)
 * and, at fixed offsets from env that generated code can address, the
 * per-vCPU regions that clients registered before the first vCPU.
 * exec_vcpu_region: size bytes at an offset that is phase modulo align
 * (align a power of two, at most a page; phase < align) from the slot's
 * page-aligned start; returns the region's offset from env.  A new vCPU's
 * regions are zeroed, except with keep: those keep what the index's last
 * vCPU left (state a tool sums over every vCPU that ever ran).
 * exec_cpu_new returns NULL when memory or vCPU indexes run out; the index
 * is the lowest free one (cpu_exec.cpu_index).  exec_vcpu_env: the env of
 * index's slot, live or not (its kept regions stay readable), or NULL past
 * the last index, before the first vCPU, or if its memory cannot be had.
 */
int32_t exec_vcpu_region(size_t size, size_t align, size_t phase, bool keep);
void *exec_cpu_new(void);
void exec_cpu_free(void *cpu);
void *exec_vcpu_env(unsigned index);
/* A vCPU starts, on its own thread, before its first exec_run (it becomes
 * exec_current_cpu; clients' vcpu_start hooks run). */
void exec_cpu_start(void *cpu);
/* A guest thread is ending: clients' vcpu_stop hooks run, then exec forgets
 * its cpu (jump cache, flush bookkeeping).  The cpu must not be passed to
 * exec_run again; exec_cpu_free frees it. */
void exec_exit_cpu(void *cpu);
/* Around a host fork: the code cache is a shared mapping, so the child
 * must get its own copy before either process writes to it again. */
void exec_fork_prepare(void);
void exec_fork_parent(void);
void exec_fork_child(void);
/* The AFL fork server's forks: the parent leaves its code cache alone while
 * a child lives, so the child maps it copy-on-write instead of copying it
 * (cheaper by the size of the cache per fork).  Until turned off. */
void exec_fork_cow(bool on);

/* The clients exec calls back: the translation stages and events that
 * tools (the instrument layer) take part in.  The front door fills it in
 * before exec_init and the first vCPU; a NULL member is skipped.  The
 * translation stages and flushed run under the translation lock;
 * fault_fixup runs in the faulting thread's signal handler. */
struct exec_hooks {
	/* exec_init: register the client's helpers and globals with the IR */
	void (*ir_init)(struct ir_ctx *ir);
	/* a TB at pc is about to be lifted */
	void (*tb_start)(uint64_t pc);
	/* the TB is lifted (max_insns: the limit it was lifted under): the
	 * client may inject IR, or relift; -1 drops the TB (its code is gone) */
	int (*tb_lifted)(struct ir_ctx *ir, struct tb *tb, unsigned max_insns);
	/* the TB's IR is optimized, its code not yet generated */
	void (*tb_end)(struct ir_ctx *ir, struct tb *tb);
	/* a host fault in tb's instruction insn, whose TB has a fix-up table
	 * (tb->instr_fix): complete the client's pending effects up to it
	 * (with the instruction's own when own: it started) */
	void (*fault_fixup)(void *cpu, struct tb *tb, int insn, bool own);
	/* the code cache was flushed (every cpu is stopped) */
	void (*flushed)(void);
	/* a vCPU starts (exec_cpu_start) or stops (exec_exit_cpu), on its
	 * own thread */
	void (*vcpu_start)(void *cpu);
	void (*vcpu_stop)(void *cpu);
};
extern struct exec_hooks exec_hooks;
/* Some tool may watch each guest memory access (a loaded plugin imports
 * a function registering memory callbacks): a lifter must then make every
 * access an IR memory op, never a helper's bulk copy.  Set before the
 * first translation. */
extern bool exec_mem_watched;
/* Some tool may read guest registers between any two instructions (a
 * loaded plugin imports qemu_plugin_read_register): every TB exit must
 * leave the arithmetic flags in env (guest/x86 translate.c:
 * flags_killed_at).  Set before the first translation. */
extern bool exec_regs_watched;
/* The opening (ir/tb.h) of the TB for (pc, flags) if one is translated,
 * else -1; under tb_lock, as a translation is. */
int exec_tb_opening(uint64_t pc, uint32_t flags);
/* Some tool sees guest blocks (a plugin, coverage, AFL): a lifter must end
 * every TB at a branch, so that a TB is one basic block.  Without one a TB
 * may run on past a conditional branch.  Set before the translations it
 * concerns (a tool attached later flushes the code cache). */
extern bool exec_blocks_watched;

/* Warming a fork server's cache (instrument/afl.c): a child reports what it
 * translates and chains through these hooks (called under the translation
 * lock, NULL when unused), and the server, which never runs those paths
 * itself, repeats them so that later children start with them done. */
extern void (*exec_tb_hook)(uint64_t pc, uint32_t flags);
extern void (*exec_chain_hook)(uint64_t from_pc, uint32_t flags, int n, uint64_t to_pc);
/* Translate (pc, flags) unless it is translated already.  False if pc is
 * not executable here or the cache is too full to take more. */
bool exec_pretranslate(uint64_t pc, uint32_t flags);
/* Chain exit n of the TB at from_pc to the TB at to_pc, if both exist. */
void exec_prechain(uint64_t from_pc, uint32_t flags, int n, uint64_t to_pc);
/* The guest is ending (exit or fatal signal): print statistics under
 * -d stats and flush what the exec layer owns.  Called once per process. */
void exec_finish(void);
/* Whole-system mode: the vCPU's virtual-to-physical translations changed
 * (a TLB flush), so its jump caches, which are keyed by virtual pc, forget
 * every TB (exec_jc_flush) or those whose pc lies in [va, va + size)
 * (exec_jc_flush_range; size a power of two, va aligned to it).  Any
 * thread, as the vCPU's own helpers do; the vCPU must not be running
 * elsewhere. */
void exec_jc_flush(void *cpu);
/* A CR3 write: every TB but those of global pages (exec_jc_global: the
 * TLB keeps their translation, so their jump-cache entries stay true). */
void exec_jc_flush_nonglobal(void *cpu);
void exec_jc_flush_range(void *cpu, uint64_t va, uint64_t size);
/* Whole-system mode: a write is about to change the guest-physical bytes
 * [pa, pa + len), all on one page, which holds translated code: drop that
 * page's TBs and clear its code bit (exec/tlb.h's physmap).  hpc: the host
 * pc of the store in translated code, or 0 (a helper, a device, the
 * monitor).  When the store changes the code of the TB it is in at or after
 * the storing instruction, that TB must not run on: the instruction is
 * restarted from the exec loop as a one-instruction TB (does not return).
 * Otherwise the TB runs on to its end. */
void exec_code_written(void *cpu, uint64_t pa, uint64_t len, uintptr_t hpc);

/* Drop every translation (code cache full, SMC, instrumentation change).
 * Safe while other threads run translated code: it stops them first. */
void exec_flush_all(void);
/* The same, from anywhere (a helper or callback inside translated code):
 * the calling cpu flushes at its next TB boundary. */
void exec_request_flush(void);

/* The guest's memory map and self-modifying code (smc.c).  linux/ reports
 * every change of a guest mapping: under exec_mem_lock(), first
 * exec_invalidate_range() for pages whose translations cannot survive
 * (unmapped, replaced, made writable or non-executable), while the old
 * mapping still exists; then the host call; then exec_mem_set() with the
 * outcome.  The lock is recursive and keeps translation out meanwhile. */
void exec_mem_lock(void);
void exec_mem_unlock(void);
/* Drop the translations on the pages of guest [start, end), exactly. */
void exec_invalidate_range(uint64_t start, uint64_t end);
/* The guest's protection of [start, end) is now prot (PROT_*), or -1 for
 * unmapped. */
void exec_mem_set(uint64_t start, uint64_t end, int prot);
/* The guest's protection at addr, -1 if unmapped or unknown. */
int exec_mem_prot(uint64_t addr);
/* The first guest mapping ending above *start: [*start, *end) with *prot
 * (*start raised to the mapping's start).  False past the last one. */
bool exec_mem_next(uint64_t *start, uint64_t *end, int *prot);
/* The kernel or loom is about to write guest [start, end): lift loom's write
 * protection there (dropping those pages' translations), so the write does
 * not fail with EFAULT.  True if some page was protected.  Cheap when no
 * page is. */
bool exec_unprotect_range(uint64_t start, uint64_t end);
/* Whether loom write-protects any guest page at all right now. */
bool exec_smc_protecting(void);

/* A host fault (a synchronous host signal): if it came from translated code
 * or a helper acting for the guest, record the guest exception and longjmp
 * to the exec loop (does not return).  A write into a page loom
 * write-protected for SMC is loom's to handle: it either restarts the guest
 * instruction from the exec loop (does not return) or returns true, and the
 * handler returns to retry the access.  Returns false if the fault is
 * loom's own. */
bool exec_host_fault(siginfo_t *si, void *uc);
/* Between these, new mappings (a plugin's dlopen) land within rel32 reach
 * of the code cache (tb.c). */
void *exec_near_begin(void);
void exec_near_end(void *hold);

/* Leave generated code or a helper with the guest exception e (copied):
 * records it and unwinds to the exec loop, which returns EXEC_FAULT. */
_Noreturn void exec_raise(void *cpu, const struct guest_exception *e);
/* The CPU of the calling thread (helpers, signal handlers). */
extern __thread void *exec_current_cpu;


/* Counters for -d exec and the issue notes. */
struct exec_stats {
	uint64_t tbs_translated;
	uint64_t guest_insns_translated;
	uint64_t host_bytes;
	uint64_t fault_map_bytes;	/* the TBs' fault-point tables (host.h) */
	uint64_t translate_ns;
	/* translate_ns by stage (-d stats only: timing is not free) */
	uint64_t decode_ns;		/* code fetch and Zydis decode */
	uint64_t lift_ns;		/* the frontend less decode */
	uint64_t instrument_ns;		/* the tools' hooks on the IR */
	uint64_t optimize_ns;		/* passes, liveness (and IR checks in debug) */
	uint64_t codegen_ns;		/* register allocation and emission */
	uint64_t flushes;
	uint64_t tbs_split;		/* translated again with fewer insns: too big */
	uint64_t tbs_invalidated;
	uint64_t smc_protects;		/* pages loom write-protected */
	uint64_t smc_write_faults;	/* writes into them (faults, kernel writes) */
	uint64_t smc_restarts;		/* stores restarted as one-shot TBs */
	uint64_t smc_hot_pages;		/* pages turned to self-checking TBs */
	uint64_t smc_stale;		/* self-checking TBs found changed */
};
extern struct exec_stats exec_stats;

/* A monotonic clock for the stage timings of -d stats. */
static inline uint64_t exec_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#endif
