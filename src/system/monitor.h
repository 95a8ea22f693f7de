/*
 * The human monitor: QEMU HMP's command names, syntax and output formats
 * for the commands loom-system has (help, info registers|tlb|mem|status,
 * x, xp, memsave, pmemsave, stop, cont, system_reset, quit), and loom's
 * own: info procs, info modules [PID], cov start|stop|clear|write, so that the
 * scripts and habits people have for qemu-system-x86_64 work unchanged.
 *
 * The monitor reaches the machine only through struct monitor_ops, a set
 * of callbacks, so it runs against a fake machine in unit tests and knows
 * nothing of the CPU's or the TLB's layout.  It formats everything itself
 * (register dumps, page-table listings, memory dumps), walking the guest's
 * 4-level page tables through read_phys where the machine offers no
 * read_virt of its own.
 *
 * monitor_command() runs one line and writes its output to the monitor's
 * FILE; the I/O side (stdio or a Unix socket, line assembly, the prompt)
 * is monitor_io_*, which a machine loop polls.  One thread: nothing here
 * locks.
 */
#ifndef LOOM_SYSTEM_MONITOR_H
#define LOOM_SYSTEM_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "system/cmdline.h"

/* A segment register's hidden part, as QEMU keeps it: flags is the
 * descriptor's high dword with the base bits cleared (type, S, DPL, P,
 * AVL, L, D/B, G, limit 19:16). */
struct monitor_seg {
	uint16_t selector;
	uint64_t base;
	uint32_t limit;
	uint32_t flags;
};

enum { MON_ES, MON_CS, MON_SS, MON_DS, MON_FS, MON_GS, MON_NSEG };

/* The vCPU's state for `info registers` and for the monitor's page walks. */
struct monitor_regs {
	uint64_t gpr[16];	/* rax rcx rdx rbx rsp rbp rsi rdi r8-r15 */
	uint64_t rip, rflags;
	unsigned cpl;
	bool inhibit_irq;	/* after sti / mov ss */
	bool halted;
	struct monitor_seg seg[MON_NSEG], ldt, tr;
	uint64_t gdt_base, idt_base;
	uint32_t gdt_limit, idt_limit;
	uint64_t cr0, cr2, cr3, cr4;
	uint64_t dr[8];
	uint64_t efer;
	uint16_t fcw, fsw;
	uint8_t ftw;		/* abridged: bit i set when ST register i is valid */
	struct { uint64_t mant; uint16_t exp; } fpr[8];
	uint32_t mxcsr;
	uint64_t xmm[16][2];	/* [0]: bits 63:0, [1]: bits 127:64 */
};

struct monitor_ops {
	/* The vCPU's registers; false when there is no CPU to ask. */
	bool (*get_regs)(void *opaque, struct monitor_regs *r);
	/* Guest-physical memory: false if any byte of it is neither RAM nor
	 * a device. */
	bool (*read_phys)(void *opaque, uint64_t pa, void *buf, size_t len);
	/* Guest-virtual memory through the vCPU's translation, without side
	 * effects (no accessed bits, no faults).  NULL: the monitor walks the
	 * page tables itself with read_phys. */
	bool (*read_virt)(void *opaque, uint64_t va, void *buf, size_t len);
	bool (*running)(void *opaque);
	void (*stop)(void *opaque);
	void (*cont)(void *opaque);
	void (*reset)(void *opaque);
	void (*quit)(void *opaque);
	/* Plugins (the `plugin` command): how many, each one's name and
	 * whether it is enabled; set_enabled returns false if no plugin has
	 * that name.  NULL: the command says there are none. */
	int (*plugin_count)(void *opaque);
	const char *(*plugin_name)(void *opaque, int i);
	bool (*plugin_enabled)(void *opaque, int i);
	bool (*plugin_set_enabled)(void *opaque, const char *name, bool enabled);
	/* Guest introspection (`info procs`, `info modules [ARGS]`) and the
	 * coverage commands (`cov ARGS`, the control channel's): each prints
	 * its answer to out.  NULL: the command says it is not available. */
	void (*info_procs)(void *opaque, FILE *out);
	void (*info_modules)(void *opaque, const char *args, FILE *out);
	void (*cov)(void *opaque, const char *args, FILE *out);
};

struct monitor {
	const struct monitor_ops *ops;
	void *opaque;
	FILE *out;
	/* x/xp's defaults, remembered from the last /FMT as HMP does. */
	char last_format;
	unsigned last_size;
};

void monitor_init(struct monitor *mon, const struct monitor_ops *ops, void *opaque, FILE *out);
/* Run one command line (no trailing newline needed). */
void monitor_command(struct monitor *mon, const char *line);

/* The monitor on a character device: stdio, or a Unix socket (server:
 * listening, one client at a time; else connecting to PATH). */
struct monitor_io {
	struct monitor mon;
	int listen_fd;		/* -1 unless a unix server */
	int in_fd, out_fd;	/* the connected side, or -1 */
	char line[4096];
	size_t len;
	bool closed;		/* stdio reached end of file */
};

/* Open the device and, when a client is there, print the banner and the
 * prompt.  0, or -1 with one line in err. */
int monitor_io_open(struct monitor_io *io, const struct chardev_spec *cd,
		    const struct monitor_ops *ops, void *opaque, char *err, size_t errlen);
/* The descriptor to poll for input (the client, else the listening
 * socket), or -1 when there is nothing left to wait for. */
int monitor_io_fd(const struct monitor_io *io);
/* Input is ready on monitor_io_fd(): accept a client or read what is
 * there and run every complete line. */
void monitor_io_ready(struct monitor_io *io);
void monitor_io_close(struct monitor_io *io);

#endif
