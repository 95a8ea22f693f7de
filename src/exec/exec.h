/*
 * The execution layer's public face: translation blocks, the exec loop, and
 * the reasons the loop hands control back to the OS layer.  It knows nothing
 * of the guest ISA (it asks guest/guest.h) and nothing of syscalls or
 * signals: it returns EXEC_SYSCALL (user mode) and EXEC_FAULT with a guest
 * CPU exception, and lets the environment (linux/) act on them.
 */
#ifndef LOOM_EXEC_EXEC_H
#define LOOM_EXEC_EXEC_H

#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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

/*
 * A guest CPU exception, as the guest architecture defines it (x86: the
 * vector, its error code, CR2; guest/x86/cpu.h names the vectors).  The
 * frontend, helpers and the host-fault mapping raise it; the environment
 * decides what it becomes: src/linux/ the signal the kernel's trap handler
 * would send (linux/trap.c), whole-system mode a delivery through the
 * guest's IDT.  The guest state is the one the CPU reports with it: the
 * faulting instruction's for a fault, the next instruction's for a trap.
 */
struct guest_exception {
	uint8_t vector;
	uint8_t flags;		/* EXC_* */
	/* User mode only, for a page fault: what the guest's memory map has
	 * at addr (the host kernel's verdict when the host faulted), which
	 * Linux reports and the error code does not tell (a PROT_NONE page
	 * is mapped but not present; a file page past the file's end). */
	uint8_t map;		/* enum exc_map */
	uint32_t error_code;	/* valid with EXC_HAS_ERROR */
	uint64_t addr;		/* page fault: the address accessed (x86: CR2) */
	uint64_t info;		/* vector-specific state the CPU reports
				 * elsewhere (x86 #DB: the DR6 bits it sets) */
};
enum {
	EXC_HAS_ERROR = 1 << 0,	/* the vector pushes an error code */
	EXC_SOFTWARE = 1 << 1,	/* raised by an instruction for the purpose,
				 * which delivery treats as such (x86: int n,
				 * int3, into: the gate's DPL is checked;
				 * not int1, delivered as a hardware #DB) */
};
enum exc_map {
	EXC_MAP_UNKNOWN,	/* not said: the error code's present bit decides */
	EXC_MAP_NONE,		/* no mapping there */
	EXC_MAP_DENIED,		/* a mapping that does not allow the access */
	EXC_MAP_NOBACKING,	/* a file mapping past the end of its file */
};

#define JMP_CACHE_BITS 12
#define JMP_CACHE_SIZE (1u << JMP_CACHE_BITS)

struct tb;

/* Execution state every guest CPU struct embeds (as member `x`). */
struct cpu_exec {
	volatile uint32_t exit_request;	/* read by generated code at TB entry */
	uint32_t pending_exit;		/* enum exec_exit set by helpers/lifters */
	struct guest_exception exc;	/* the last EXEC_FAULT's */
	struct tb **jmp_cache;		/* direct-mapped by guest pc */
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
	/* Instrumentation (instrument/): the vCPU index plugins see and the
	 * value of the memory access a memory callback is reporting. */
	uint32_t cpu_index;
	uint32_t plugin_flags;		/* enum qemu_plugin_cb_flags + 1 while a
					 * callback runs, else 0 */
	uint64_t plugin_mem_val[2];
	/* AFL++ edge map (instrument/afl.c): the previous block's location
	 * shifted right by one, read and written by generated code. */
	uint64_t afl_prev_loc;
	/* Tools' code called from translated code runs under the host's
	 * default FP state, not the guest's (host/host.h: tool regions).
	 * guest_csr: the guest's MXCSR, exact while tool_fp is TOOL_FP_IN
	 * and whenever fp_dirty is clear (then the host MXCSR equals it);
	 * fp_dirty: guest FP or a load of the host MXCSR may have changed
	 * it since (set by generated code and the guest layer); tool_csr:
	 * the MXCSR tools run under. */
	uint8_t tool_fp;		/* enum tool_fp */
	uint8_t fp_dirty;
	uint32_t guest_csr;
	uint32_t tool_csr;
};

/* cpu_exec.tool_fp: where tools' FP state is.  TOOL_FP_RAN: a region has
 * ended; the host x87 control and status words may be a tool's until the
 * guest's x87 code resets them (guest/x86/x87-helpers.c). */
enum tool_fp { TOOL_FP_NONE, TOOL_FP_IN, TOOL_FP_RAN };

/* A translation block. */
struct tb {
	uint64_t pc;		/* guest pc of the first instruction */
	uint32_t guest_size;	/* bytes of guest code covered */
	uint32_t flags;		/* translation flags (CF_*) */
	uint8_t *code;		/* host code (executable view) */
	uint32_t code_size;
	uint32_t ninsns;
	uint16_t jmp_reset[2];	/* offset of the unchained path of goto_tb n */
	uint16_t jmp_insn[2];	/* offset of the patchable jmp rel32 of goto_tb n */
	uintptr_t jmp_dest[2];	/* tb chained to, or 0 */
	uintptr_t jmp_list;	/* incoming jumps (tb|n), linked through jmp_next */
	uintptr_t jmp_next[2];
	struct tb *hash_next;
	/* host code offset -> guest pc: insn_start table, ninsns entries */
	uint16_t *insn_host_off;
	uint64_t *insn_pc;
	/* Guest pages the code lies on ([1] only when the one instruction of
	 * the TB crosses into the next page, else TB_NO_PAGE), and the next TB
	 * on page_addr[n] tagged with its slot: smc.c's page lists. */
	uint64_t page_addr[2];
	uintptr_t page_next[2];
	/* On a hot page: the guest bytes it was translated from (smc.c). */
	uint8_t *code_copy;
	/* Plugin counter adds not yet stored at each instruction, applied
	 * when one faults (instrument/inject.c), or NULL. */
	void *instr_fix;
};
#define TB_NO_PAGE (~0ull)

/* Translation flags: part of the TB key. */
enum {
	CF_SINGLE_INSN = 1 << 0,	/* -one-insn-per-tb */
	CF_NOCHAIN = 1 << 1,
	/* The guest traps after every instruction (x86: RFLAGS.TF): TBs of
	 * one instruction that end in the guest's single-step trap. */
	CF_TRACE = 1 << 2,
	/* Bits the guest defines for the execution mode a TB was translated
	 * for (x86: system mode, CPL, 32-bit code), from guest_tb_mode. */
	CF_GUEST_MASK = 0xff << 8,
	/* Not translation flags: a TB carrying either never matches a lookup. */
	CF_INVALID = 1 << 30,	/* invalidated: out of hash, caches, chains, pages */
	CF_ONESHOT = 1 << 29,	/* restarts a store after an SMC fault: runs once */
};

/* Exit values returned by translated code (exit_tb's constant):
 * (uintptr_t)tb | n for "goto_tb n was not chained", or a small code. */
#define TB_EXIT_MASK 3
#define TB_EXIT_IDX0 0
#define TB_EXIT_IDX1 1
#define TB_EXIT_NOCHAIN 2	/* pc set, no chaining wanted */
#define TB_EXIT_REQUESTED 3	/* exit_request seen at TB entry; pc = tb->pc */

struct exec_options {
	bool single_insn;
	bool nochain;
};
extern struct exec_options exec_opts;

void exec_init(void);
/* Run translated code until the OS layer must act.  Each guest thread
 * calls it on its own host thread with its own cpu. */
enum exec_exit exec_run(void *cpu);
/* A guest thread is ending: forget its cpu (jump cache, flush bookkeeping).
 * The cpu must not be passed to exec_run again. */
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
 * before exec_init; a NULL member is skipped.  All but fault_fixup run
 * under the translation lock; fault_fixup runs in the faulting thread's
 * signal handler. */
struct ir_ctx;
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
};
extern struct exec_hooks exec_hooks;

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
	uint64_t translate_ns;
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

#endif
