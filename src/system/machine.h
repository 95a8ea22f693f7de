/*
 * The PC as one object: RAM, every device of pc.h wired as the docs say,
 * the ACPI tables, one vCPU in system mode with its x86_sys_env, and the
 * kernel loaded through the boot protocol.  machine.c builds and resets it;
 * cpu-loop.c runs it (machine_run) and serves the monitor beside it.
 *
 * One machine per process, one thread: devices, timers, the vCPU and the
 * monitor all run on the thread that called machine_run.
 */
#ifndef LOOM_SYSTEM_MACHINE_H
#define LOOM_SYSTEM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "system/boot.h"
#include "system/cmdline.h"

struct cpu;
struct lapic;
struct uart;

struct machine_config {
	const char *kernel, *initrd, *append;
	uint64_t mem_size;
	const char *serial;		/* -serial's text (chardev_open's spec) */
	enum chardev_kind serial_kind;	/* CHARDEV_NONE: COM1 has no other end */
	bool no_reboot;
};

struct machine {
	struct machine_config cfg;
	struct cpu *cpu;
	struct lapic *lapic;
	struct uart *uart;
	struct boot_cpu_state entry;	/* the kernel's entry state, as loaded */
	struct boot_layout layout;
	uint64_t rsdp;			/* acpi_build's answer */
};
extern struct machine machine;

/* Build the machine from cfg: RAM, devices, ACPI tables, the vCPU; load
 * the kernel and put the vCPU at its entry.  0, or -1 with one line in err
 * and *status the exit status main should use (LOOM_EXIT_USAGE for RAM or
 * -serial, LOOM_EXIT_LOAD for the kernel or initrd). */
int machine_init(const struct machine_config *cfg, int *status, char *err, size_t errlen);
/* A system reset (0xcf9, i8042 pulse, ACPI reset, triple fault, the
 * monitor's system_reset): every device's reset, the CPU's RESET state,
 * and a direct boot of the kernel again, as a PC with firmware that boots
 * it would end up.  Returns false (with a line on stderr) if the kernel
 * cannot be loaded again. */
bool machine_reset(void);
/* Whether the CPU can run guest code: the soft MMU (guest virtual memory,
 * code fetch through the TLB) is wired. */
bool machine_can_run(void);

/* The vCPU loop (cpu-loop.c): run until power-off, quit or a signal;
 * returns the process's exit status.  start_stopped: the vCPU waits for
 * the monitor's cont (-S).  A machine that cannot run (machine_can_run)
 * serves the monitor as loaded, stopped, until quit or end of input. */
int machine_run(bool start_stopped);
/* Make the vCPU leave translated code at its next block boundary (the
 * local APIC's kick, the host timer, the monitor). */
void machine_kick(void);

#endif
