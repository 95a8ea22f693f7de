/*
 * Guest introspection of a running Linux machine (system/osi/ over
 * loom-system's memory): the booted kernel's layout, loaded once from its
 * own bzImage, and a reader of kernel virtual memory that walks the
 * kernel's page tables over guest-physical RAM.  On it: the monitor's
 * `info procs` and `info modules [PID]`, and what attributed coverage
 * (syscov.c) asks about the running process.
 *
 * Everything here runs on the vCPU's thread between blocks (the monitor
 * and translated code's helpers), so the guest's memory does not change
 * under a walk.
 */
#ifndef LOOM_SYSTEM_INTROSPECT_H
#define LOOM_SYSTEM_INTROSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "system/osi/walk.h"

/* The kernel half of the address space (canonical upper half). */
#define INTROSPECT_KERNEL_VA 0xffff800000000000ull

/* Load the booted kernel's layout (once; ~0.8 s for Debian's XZ bzImage,
 * a few ms from the layout cache, osi/cache.h).
 * 0, or -1 with one line in err (kept: later calls repeat it). */
int introspect_load(char *err, size_t errsz);
/* The same, giving the layout: NULL with err when it cannot be loaded. */
const struct osi_linux_layout *introspect_layout(char *err, size_t errsz);

/*
 * The walker over the running guest: the layout, the KASLR slide from
 * LSTAR and the kernel-page-table reader.  0, or -1 with err when the
 * kernel is not loaded or not far enough in its boot (no LSTAR yet).
 */
int introspect_os(struct osi_linux *os, char *err, size_t errsz);

/* The kernel image at run time, [_text, _end): [*base, *base + *size).
 * (Its init code, run at boot and freed, lies past _etext.) */
void introspect_kernel_text(const struct osi_linux *os, uint64_t *base, uint64_t *size);

/* The same from LSTAR alone, reading no guest memory (any thread may ask).
 * 0, or -1 before the layout is loaded or LSTAR set. */
int introspect_kernel_range(uint64_t *base, uint64_t *size);

/* The guest-physical address of a kernel virtual address, or -1. */
uint64_t introspect_kva_to_pa(uint64_t va);

/* The address-space root a process's CR3 loads: the physical address of
 * its mm->pgd (a kernel virtual address), or 0. */
uint64_t introspect_pgd_root(uint64_t pgd);

/* The task cpu runs: current on its kernel GS base (KERNEL_GS_BASE at
 * CPL 3, GS.base at CPL 0, the other when that one holds no kernel
 * address).  0, or -1. */
struct cpu;
int introspect_current_task(const struct osi_linux *os, const struct cpu *cpu, uint64_t *task);

/* The monitor's commands (monitor_ops.info_procs, info_modules). */
void introspect_info_procs(void *opaque, FILE *out);
void introspect_info_modules(void *opaque, const char *args, FILE *out);

#endif
