/* Shared between the files of src/exec/ only. */
#ifndef LOOM_EXEC_INTERNAL_H
#define LOOM_EXEC_INTERNAL_H
#include "exec/exec.h"
#include "host/host.h"

extern host_enter_fn exec_enter;
extern const void *exec_epilogue_exit;
/* The translation lock (tb.c), recursive: held around translation, hash
 * insertion, chaining patches, invalidation and flushes.  Lookups (jump
 * cache, hash) never take it.  A busy cpu that must wait for it is marked
 * idle while it waits, so a flush can proceed: after tb_lock() returns,
 * compare exec_flush_gen() with its value before to know whether the TB
 * pointers held before the call are still valid. */
void tb_lock(void);
void tb_unlock(void);
/* Around a flush (loop.c), with tb_lock held: stop every other cpu outside
 * translated code, and let them go again. */
void exec_stop_cpus(void);
void exec_resume_cpus(void);
void exec_clear_jmp_caches(void);
uint64_t exec_flush_gen(void);
/* The fork child has only the calling thread: forget the other cpus. */
void exec_forget_other_cpus(void);
/* TBs by (pc, phys, flags): phys is the guest-physical address of pc's
 * code (tlb_code_phys; pc in user mode). */
struct tb *tb_lookup(struct cpu_exec *x, uint64_t pc, uint64_t phys, uint32_t flags);
struct tb *tb_gen_code(uint64_t pc, uint64_t phys, uint32_t flags);
struct tb *tb_find_by_host_pc(uintptr_t hpc);
int tb_insn_index_of(struct tb *tb, uintptr_t hpc);
uint64_t tb_guest_pc_of(struct tb *tb, uintptr_t hpc);
void tb_add_jump(struct tb *from, int n, struct tb *to);

/* Self-modifying code.  tb.c: take tb out of the hash, every jump cache,
 * every chain and its pages (tb_lock held); the loop's lookup when
 * x->smc_work is set (takes tb_lock; returns the TB to run, a one-shot
 * after a restart, or NULL if pc cannot be translated). */
void tb_invalidate(struct tb *tb);
struct tb *tb_smc_lookup(struct cpu_exec *x, uint64_t pc, uint64_t phys, uint32_t flags);
/* The n instructions at pc as a one-shot TB (no exit-request check, no
 * chaining, never found again): a block whose opening overwrites the flags
 * (ir/tb.h: opening), left at its exit-request check, run once more. */
struct tb *tb_opening_oneshot(uint64_t pc, uint64_t phys, uint32_t flags, unsigned n);
/* loop.c: clear tb from every cpu's jump cache (tb_lock held). */
void exec_jc_forget(struct tb *tb);
/* smc.c, tb_lock held except smc_write_fault, which the fault handler
 * calls: is a write fault at addr (from translated code: tb) loom's? */
enum { SMC_WORK_RESTART = 1, SMC_WORK_STALE = 2, SMC_WORK_DRAIN = 4 };
enum smc_fault { SMC_NOT_OURS, SMC_RETRY, SMC_RESTART };
enum smc_fault smc_write_fault(uint64_t addr, const struct tb *tb);
bool smc_page_hot(uint64_t addr);
void smc_tb_link(struct tb *tb);
void smc_tb_unlink(struct tb *tb);
void smc_drain(void);
void smc_flush(void);
#endif
