/*
 * The translation block: what the frontend (guest/), the backend (host/)
 * and the exec layer each record of one block of guest code, with the
 * translation flags that are part of its key and the values translated code
 * returns to the exec loop.  It lies below all three (they stack guest over
 * exec over host over ir: docs/design.md) and knows none of them.  exec
 * owns the TB's life (tb.c: the code cache, hash, chains and pages); the
 * frontend fills guest_size and ninsns, the backend the code offsets.
 */
#ifndef LOOM_IR_TB_H
#define LOOM_IR_TB_H

#include <stdint.h>

/* Chainable exits of a TB (goto_tb 0..TB_NJMP-1): a two-way branch at
 * its end takes two; whole-system blocks that run on past forward branches
 * chain the taken sides of those through the others (guest/x86
 * translate.c: gen_side_exits). */
#define TB_NJMP 4

/* A translation block. */
struct tb {
	uint64_t pc;		/* guest pc of the first instruction */
	/* Guest-physical address of the first byte: the TB's key with pc and
	 * flags (whole-system mode: the same code mapped at one virtual
	 * address in two address spaces is two TBs).  pc in user mode. */
	uint64_t phys_pc;
	uint32_t guest_size;	/* bytes of guest code covered */
	uint32_t flags;		/* translation flags (CF_*) */
	uint8_t *code;		/* host code (executable view) */
	uint32_t code_size;
	uint32_t ninsns;
	uint16_t jmp_reset[TB_NJMP];	/* offset of the unchained path of goto_tb n */
	uint16_t jmp_insn[TB_NJMP];	/* offset of the patchable jmp rel32 of goto_tb n */
	/* Offset just past the exit-request check that opens the code, or 0
	 * when it does not open with one: where a chained jump that cannot
	 * close a loop enters (exec/tb.c: tb_chain_entry). */
	uint16_t entry_nocheck;
	/* Bit n: goto_tb n leaves the arithmetic flags dead (the code it goes
	 * to overwrites them first), so env may hold stale ones; the exec
	 * loop runs that code before anything can look (guest/x86
	 * translate.c: flags_killed_at). */
	uint8_t cc_dead_exits;
	/* Its first `opening` instructions overwrite the arithmetic flags
	 * (the last of them all six) before anything reads one, 0 if they do
	 * not: when it leaves at its exit-request check, the flags in env
	 * may be stale, and the loop runs its block once more first, as a
	 * one-shot TB without the check. */
	uint8_t opening;
	uintptr_t jmp_dest[TB_NJMP];	/* tb chained to, or 0 */
	uintptr_t jmp_list;	/* incoming jumps (tb|n), linked through jmp_next */
	uintptr_t jmp_next[TB_NJMP];
	struct tb *hash_next;
	/* host code offset -> guest pc: insn_start table, ninsns entries */
	uint16_t *insn_host_off;
	uint64_t *insn_pc;
	/* Guest pages the code lies on ([1] only when the one instruction of
	 * the TB crosses into the next page, else TB_NO_PAGE; physical pages
	 * in whole-system mode), and the next TB
	 * on page_addr[n] tagged with its slot: smc.c's page lists. */
	uint64_t page_addr[2];
	uintptr_t page_next[2];
	/* On a hot page: the guest bytes it was translated from (smc.c). */
	uint8_t *code_copy;
	/* Plugin counter adds not yet stored at each instruction, applied
	 * when one faults (instrument/inject.c), or NULL. */
	void *instr_fix;
	/* The backend's fault points: where the guest globals not yet in
	 * env are at each host instruction that may fault (host.h:
	 * host_fault_restore), or NULL. */
	void *fault_map;
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
 * (uintptr_t)tb | n for "goto_tb n was not chained" (n < TB_NJMP), or a
 * small code.  A struct tb is malloc'ed, so its low three bits are free. */
#define TB_EXIT_MASK 7
#define TB_EXIT_IDX0 0
#define TB_EXIT_IDX1 1
#define TB_EXIT_NOCHAIN 4	/* pc set, no chaining wanted */
#define TB_EXIT_REQUESTED 5	/* exit_request seen at TB entry; pc = tb->pc */
_Static_assert(TB_NJMP <= TB_EXIT_NOCHAIN, "goto_tb slots overlap the exit codes");

#endif
