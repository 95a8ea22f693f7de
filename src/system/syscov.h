/*
 * Coverage of a running Linux machine attributed to what ran it
 * (syscov.c): every executed block as (process, pid, module path, file
 * offset) for user code and ([kernel] or [kernel]:MODULE, offset from its
 * base) for kernel code, in one coverage model whose module table holds
 * one module per process and file (`comm[pid]:/path`).  loom-system's -cov
 * without -cov-bitmap.
 */
#ifndef LOOM_SYSTEM_SYSCOV_H
#define LOOM_SYSTEM_SYSCOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cpu;

/* Register the recorder with the instrument layer (before exec_init); it
 * records from the start when running.  format: enum cov_format (drcov or
 * modoff).  The guest kernel's layout is loaded when recording first
 * translates a block; a kernel loom cannot introspect gets a note on
 * stderr, and blocks attributed by address. */
void syscov_init(int format, bool running);
bool syscov_configured(void);
bool syscov_running(void);
void syscov_set_running(bool on);	/* flushes translations */
/* Forget what was recorded (no flush: blocks that run again record
 * themselves again). */
void syscov_clear(void);
size_t syscov_blocks(void);
/* Write what was recorded.  format: enum cov_format, or -1 for the
 * -cov-format.  0, or -1 with one line in err. */
int syscov_write(const char *path, int format, char *err, size_t errsz, size_t *n);

/* x86_sys_env.cr3_write: the vCPU loaded an address space. */
void syscov_cr3_written(struct cpu *cpu, uint64_t cr3);

#endif
