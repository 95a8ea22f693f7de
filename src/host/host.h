/*
 * What the exec layer asks of the host backend: the prologue/epilogue, code
 * for one TB from optimized IR, and patching of chained jumps.  The backend
 * knows host encodings and nothing of guest semantics.
 */
#ifndef LOOM_HOST_HOST_H
#define LOOM_HOST_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <signal.h>
#include "ir/exception.h"
#include "ir/ir.h"
#include "ir/tb.h"

/* Entering translated code: ret = host_enter(cpu, code). */
typedef uintptr_t (*host_enter_fn)(void *env, const void *code);

/* Emit the prologue and epilogue at rw (executing at rx).  Returns bytes used,
 * sets *enter and *epilogue_exit (where goto_ptr jumps to return 0). */
size_t host_gen_prologue(uint8_t *rw, uint8_t *rx, size_t avail,
			 host_enter_fn *enter, const void **epilogue_exit);
/* Generate code for the TB in ir.  Returns bytes used, 0 if avail is too
 * small, or HOST_GEN_TOO_BIG if the TB exceeds what one TB may hold (its
 * code size, branches or spill slots): the caller translates fewer guest
 * instructions (tb->ninsns is then the number of them begun before the
 * backend stopped).  Fills tb->jmp_reset/jmp_insn and the insn_start table
 * (tb->insn_host_off must have room for tb->ninsns entries). */
#define HOST_GEN_TOO_BIG ((size_t)-1)
size_t host_gen_code(struct ir_ctx *ir, struct tb *tb, uint8_t *rw, uint8_t *rx,
		     size_t avail);
/* Where the exec layer keeps what goto_lookup probes inline: the env
 * offset of the jump-cache pointer, its size, and the struct tb fields.
 * exit_request_off: the env offset of the exit-request flag; a TB whose IR
 * opens with its check (ld_env of it, brcond ne) gets tb->entry_nocheck. */
struct host_jc_layout {
	int32_t jmp_cache_off;
	int bits;
	int32_t tb_pc_off, tb_code_off;
	int32_t exit_request_off;
};
void host_set_jc_layout(const struct host_jc_layout *l);
/*
 * Tool regions.  Calls of tools' code (foreign helpers, ir_add_helpers) run
 * under loom's default MXCSR, not the guest's (whose unmasked exceptions
 * would trap in the tool, and whose sticky flags the tool would set).  A
 * run of such calls with only integer guest code between them is one
 * region: its start saves the guest's MXCSR in cpu_exec.guest_csr (only if
 * fp_dirty says it changed since the last save, when ir_ctx.fp_track) and
 * loads tool_csr (unless, fp_dirty clear, guest_csr already equals
 * HOST_TOOL_MXCSR, as it does for most programs); its end, before any
 * label, branch, exit, FP op or loom helper, loads guest_csr back, which
 * also drops whatever flags the tool set.  tool_fp is TOOL_FP_IN inside, so a
 * fault or a register access in between finds the guest's MXCSR.  The
 * env offsets of those cpu_exec fields:
 */
/* The MXCSR tools run under: the x86-64 ABI's initial value, loom's own.
 * The guest layer keeps it in cpu_exec.tool_csr. */
#define HOST_TOOL_MXCSR 0x1f80
struct host_tool_fp_layout {
	int32_t tool_fp_off, fp_dirty_off, guest_csr_off, tool_csr_off;
};
void host_set_tool_fp_layout(const struct host_tool_fp_layout *l);
/* cpu_exec.tool_fp (exec/exec.h): where tools' FP state is.  TOOL_FP_RAN:
 * a region has ended; the host x87 control and status words may be a
 * tool's until the guest's x87 code resets them (guest/x86/x87-helpers.c). */
enum tool_fp { TOOL_FP_NONE, TOOL_FP_IN, TOOL_FP_RAN };

/*
 * The pinned counter.  With a nonzero env offset set once, before the
 * prologue (ir_ctx.pin_counter_off: plugins are loaded), the backend keeps
 * one callee-saved host register out of allocation in every TB and in the
 * prologue and epilogue, and uses it for the u64 at that offset -- the
 * first entry of the first scoreboard, a plugin's main counter as a rule --
 * whenever an inline add targets it: `add reg, imm` instead of a memory
 * add, whose store-to-load chain from block to block cost up to a quarter
 * of a tight loop.  The register holds a delta not yet in memory; it is
 * added to the counter (and cleared) before every call (if anything was
 * added since the last flush), before any other access to the counter,
 * and in the epilogue, so whatever can read the counter in this thread
 * sees it exact.  A fault in translated code adds
 * the register of its ucontext (host_unwind_pin); other threads may see
 * the counter up to one stretch of chained blocks late.
 */
void host_set_pin_counter(int32_t env_off);	/* before host_gen_prologue */
/*
 * The soft MMU (whole-system mode).  Without a layout (user mode, the
 * default) a guest load or store is a host access at the guest address.
 * With one, set before translation starts, each guest memory op (load,
 * store, cmpxchg, xchg, xadd) probes the vCPU's TLB inline:
 *
 *     mov  t0, addr ; shr t0, page_bits - entry_shift ; and t0, index mask
 *     lea  t1, [addr + size - 1] ; and t1, page mask
 *     cmp  t1, [env + t0 + tlb_off + mmu * mmu_stride + tag]
 *     jne  slow                        ; miss, flagged tag, or page crossed
 *     mov  t1, addr ; add t1, [env + t0 + ... + addend_off]
 *     access [t1]
 *
 * and the out-of-line slow path at the end of the TB saves the live
 * caller-saved registers and calls ld_helper(env, addr, oi, hpc) or
 * st_helper(env, addr, value, oi, hpc) (which perform the access), or for
 * the atomic ops rmw_helper(env, addr, oi, hpc) (which returns the host
 * address to operate on).  oi is the IR memop | the MMU index << 8; hpc is
 * the host pc of the probe, which maps to the guest instruction through the
 * TB's insn_start table, so a helper that faults can restore the state
 * exactly.  The MMU index comes from the TB's flags: (flags >> mmu_shift) &
 * mmu_mask.  Loads' helpers return the value zero-extended.
 */
struct host_softmmu_layout {
	int32_t tlb_off;		/* env offset of the first entry */
	int32_t mmu_stride;		/* bytes between MMU indexes' entries */
	int index_bits, entry_shift, page_bits;
	int32_t read_off, write_off, addend_off;	/* within an entry */
	int mmu_shift;
	uint32_t mmu_mask;
	uint64_t (*ld_helper)(void *env, uint64_t va, uint64_t oi, uintptr_t hpc);
	void (*st_helper)(void *env, uint64_t va, uint64_t val, uint64_t oi, uintptr_t hpc);
	void *(*rmw_helper)(void *env, uint64_t va, uint64_t oi, uintptr_t hpc);
};
/* NULL: identity (user mode). */
void host_set_softmmu(const struct host_softmmu_layout *l);
/* Whether the backend may use BMI2 where the host has it (the TLB probe's
 * rorx); false makes it emit what a host without BMI2 gets (tests). */
void host_use_bmi2(bool on);

/* A host fault's ucontext, read for the exec layer: the host pc of the
 * faulting instruction, and whether the access was a write.
 * host_fault_exception: the host CPU exception the fault was (its vector,
 * error code and, for a page fault, the address and what the host kernel
 * found there), from the signal's siginfo and ucontext.  A guest of the
 * host's own architecture takes it as a first draft of its own
 * (guest_fault_refine). */
uintptr_t host_fault_pc(const void *uc);
bool host_fault_is_write(const void *uc);
void host_fault_exception(const siginfo_t *si, const void *uc, struct guest_exception *e);
void host_unwind_pin(void *env, const void *uc);
/* A fault in tb's code at host pc hpc: the guest globals that were not
 * yet in env there are written into env from the ucontext's registers
 * (user mode's fault points, host/x86/faultmap.c); returns how many.  The
 * exec layer calls it before it reads any guest state.
 * host_fault_map_bytes: the memory tb's table takes. */
int host_fault_restore(const struct tb *tb, uintptr_t hpc, void *env, const void *uc);
size_t host_fault_map_bytes(const struct tb *tb);
/* Host CPU probes (host/x86/probe.c).  host_probe_ud runs each of n <= 32
 * instructions once (register-only, leaving the registers the C calling
 * convention lets a callee clobber) and returns a mask with bit i set where
 * the host raised #UD on insns[i]; 0 if it cannot probe.  Call it before
 * loom installs its signal handlers. */
struct host_insn {
	uint8_t len;
	uint8_t bytes[15];
};
uint32_t host_probe_ud(const struct host_insn *insns, int n);
/* The host's x87 unit as FXSAVE and FNSTENV show it (host_probe_x87,
 * which runs x87 instructions and leaves the unit initialized). */
struct host_x87 {
	uint32_t mxcsr_mask;	/* FXSAVE's MXCSR_MASK (0xffbf where it stores 0) */
	bool fxsave_ptrs_if_es;	/* FXSAVE stores FIP, FDP and FOP only while an
				 * exception is pending (AMD), zeros otherwise */
	bool fop_exc_only;	/* FOP and FDP are kept only for an instruction */
	bool fdp_exc_only;	/* that raised an unmasked exception */
	bool fcs_zero;		/* FCS (and FDS) are stored as 0 (deprecated) */
};
struct host_x87 host_probe_x87(void);
/* CPU features the guest model follows the host in (CPUID): UMIP (the
 * host kernel then emulates sgdt, sidt, sldt, smsw and str for user
 * mode) and SSE3's fisttp. */
bool host_has_umip(void);
bool host_has_sse3(void);
/* Point the goto_tb n jump of tb at host address dest (rw is the writable
 * view of tb's code). */
void host_patch_jump(uint8_t *jmp_rw, const uint8_t *jmp_rx, const void *dest);
/* Print host code for -d out_asm. */
void host_disas(FILE *f, const uint8_t *code, size_t size);

#endif
