/*
 * The execution layer's public face: translation blocks, the exec loop, and
 * the reasons the loop hands control back to the OS layer.  It knows nothing
 * of the guest ISA (it asks guest/guest.h) and nothing of syscalls (it returns
 * EXEC_SYSCALL and lets linux/ handle it).
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
	EXEC_SYSCALL = 1,	/* guest executed syscall; pc is past it */
	EXEC_FAULT,		/* guest raised a synchronous signal: see cpu_exec.fault */
	EXEC_REQUEST,		/* exit_request was set (async signal, control) */
};

/* A guest-visible synchronous exception, as the signal it becomes. */
struct guest_fault {
	int signo;
	int code;		/* si_code */
	uint64_t addr;		/* si_addr */
};

#define JMP_CACHE_BITS 12
#define JMP_CACHE_SIZE (1u << JMP_CACHE_BITS)

struct tb;

/* Execution state every guest CPU struct embeds (as member `x`). */
struct cpu_exec {
	volatile uint32_t exit_request;	/* read by generated code at TB entry */
	uint32_t pending_exit;		/* enum exec_exit set by helpers/lifters */
	struct guest_fault fault;
	struct tb **jmp_cache;		/* direct-mapped by guest pc */
	sigjmp_buf jmp_env;		/* helpers and the fault handler unwind here */
	volatile int in_guest;		/* set while translated code or helpers run */
	int tid;
};

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
};

/* Translation flags: part of the TB key. */
enum {
	CF_SINGLE_INSN = 1 << 0,	/* -one-insn-per-tb */
	CF_NOCHAIN = 1 << 1,
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
/* Run translated code until the OS layer must act. */
enum exec_exit exec_run(void *cpu);
/* Around a host fork: the code cache is a shared mapping, so the child
 * must get its own copy before either process writes to it again. */
void exec_fork_prepare(void);
void exec_fork_parent(void);
void exec_fork_child(void);
/* The guest is ending (exit or fatal signal): print statistics under
 * -d stats and flush what the exec layer owns.  Called once per process. */
void exec_finish(void);
/* Drop every translation (code cache full, SMC, instrumentation change). */
void exec_flush_all(void);
/* Invalidate translations overlapping guest [start, end). */
void exec_invalidate_range(uint64_t start, uint64_t end);

/* A host SIGSEGV/SIGBUS: if it came from translated code or a helper acting
 * for the guest, record the guest fault and longjmp to the exec loop (does not
 * return).  Returns false if the fault is loom's own. */
bool exec_host_fault(siginfo_t *si, void *uc);

/* Called by helpers to leave generated code with a guest exception. */
_Noreturn void exec_raise(void *cpu, int signo, int code, uint64_t addr);
/* The CPU of the calling thread (helpers, signal handlers). */
extern __thread void *exec_current_cpu;


/* Counters for -d exec and the issue notes. */
struct exec_stats {
	uint64_t tbs_translated;
	uint64_t guest_insns_translated;
	uint64_t host_bytes;
	uint64_t translate_ns;
	uint64_t flushes;
};
extern struct exec_stats exec_stats;

#endif
