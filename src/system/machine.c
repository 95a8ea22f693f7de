/*
 * The machine's wiring (machine.h): RAM, the devices of pc.h connected as
 * docs/system-devices.md and docs/system-apic-acpi.md describe, the ACPI
 * tables, the vCPU with its x86_sys_env, and the state a PC's firmware
 * leaves behind before a direct kernel boot (SeaBIOS under qemu-system is
 * the reference: ELCR, MTRRs, the local APIC's virtual-wire mode).
 *
 * What the machine adds between devices that do not know one another:
 *   - the HPET's legacy-replacement line gates the PIT's IRQ 0 and the
 *     RTC's IRQ 8 (while it is high, only the HPET drives them);
 *   - the I/O APIC's messages go to the local APIC, EOIs come back;
 *   - the local APIC's ExtINT acknowledge is the 8259's INTA;
 *   - the local APIC's kick makes the vCPU leave translated code.
 * The CPU's services (port I/O, APIC MSRs, CR8, the TSC, whether an
 * interrupt waits) are x86_sys_env's members below; guest virtual memory
 * and the TLB's flushes are the soft MMU's (mmu.h: sysmmu_env).
 */
#include "system/machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec.h"
#include "guest/guest.h"
#include "guest/x86/cpu.h"
#include "guest/x86/cpuid.h"
#include "guest/x86/sys.h"
#include "instrument/instrument.h"
#include "system/acpi.h"
#include "system/acpi_pm.h"
#include "system/bus.h"
#include "system/devopts.h"
#include "system/hpet.h"
#include "system/i8042.h"
#include "system/i8254.h"
#include "system/i8259.h"
#include "system/instrument-env.h"
#include "system/ioapic.h"
#include "system/lapic.h"
#include "system/mmu.h"
#include "system/pc.h"
#include "system/pci.h"
#include "system/physmem.h"
#include "system/syscov.h"
#include "system/rtc.h"
#include "system/uart.h"
#include "system/vclock.h"
#include "util/log.h"

struct machine machine;

/* The parts only this file touches. */
static struct {
	struct x86_sys sys;
	struct x86_sys_env env;
	struct i8259 *pic;
	struct i8254 *pit;
	struct rtc *rtc;
	struct ioapic *ioapic;
	struct hpet *hpet;
	struct acpi_pm *pm;
	/* The HPET's legacy-replacement line and the levels the PIT and RTC
	 * would drive meanwhile (passed on when the HPET lets go). */
	bool hpet_legacy;
	int pit_level, rtc_level;
	struct irq isa0, isa8;
} m;

/* What SeaBIOS leaves in ELCR under qemu-system -M pc: IRQ 10 and 11
 * (its PCI interrupt links) level-triggered, the rest edge.  The kernel
 * sets the SCI's bit itself when it finds ACPI. */
#define MACHINE_ELCR 0x0c00

/* ---- Interrupt wiring ---------------------------------------------------- */

static void pit_out(void *opaque, int n, int level)
{
	m.pit_level = level;
	if (!m.hpet_legacy)
		irq_set(&m.isa0, level);
}

static void rtc_out(void *opaque, int n, int level)
{
	m.rtc_level = level;
	if (!m.hpet_legacy)
		irq_set(&m.isa8, level);
}

/* The HPET takes IRQ 0 and 8 over (level 1) or gives them back: the old
 * sources then drive the lines with the levels they have now. */
static void hpet_legacy_set(void *opaque, int n, int level)
{
	if (m.hpet_legacy == !!level)
		return;
	m.hpet_legacy = level;
	if (!level) {
		irq_set(&m.isa0, m.pit_level);
		irq_set(&m.isa8, m.rtc_level);
	}
}

static void ioapic_to_lapic(void *opaque, const struct ioapic_msg *msg)
{
	if (lapic_match_dest(machine.lapic, msg->dest, msg->logical))
		lapic_deliver(machine.lapic, msg->vector, msg->delivery_mode, msg->level);
}

static void lapic_eoi_to_ioapic(void *opaque, int vector) { ioapic_eoi(m.ioapic, vector); }

static int lapic_extint_ack(void *opaque) { return i8259_ack(m.pic); }

static void pic_intr(void *opaque, int n, int level) { lapic_set_lint0(machine.lapic, level); }

static void lapic_kick(void *opaque) { machine_kick(); }

/* ---- The CPU's environment ------------------------------------------------ */

static uint32_t env_io_read(struct cpu *cpu, uint16_t port, int size)
{
	return (uint32_t)bus_read(BUS_IO, port, size);
}

static void env_io_write(struct cpu *cpu, uint16_t port, int size, uint32_t value)
{
	bus_write(BUS_IO, port, size, value);
}

static bool env_msr_read(struct cpu *cpu, uint32_t msr, uint64_t *value)
{
	if (msr != LAPIC_MSR_APIC_BASE && msr != LAPIC_MSR_TSC_DEADLINE)
		return false;
	return lapic_read_msr(machine.lapic, msr, value);
}

static int env_msr_write(struct cpu *cpu, uint32_t msr, uint64_t value)
{
	if (msr != LAPIC_MSR_APIC_BASE && msr != LAPIC_MSR_TSC_DEADLINE)
		return -1;
	return lapic_write_msr(machine.lapic, msr, value) ? 1 : 0;
}

static uint64_t env_tpr_read(struct cpu *cpu) { return lapic_get_cr8(machine.lapic); }
static void env_tpr_write(struct cpu *cpu, uint64_t cr8) { lapic_set_cr8(machine.lapic, cr8); }

static uint64_t env_tsc_read(struct cpu *cpu) { return lapic_tsc(machine.lapic); }

/* A write of IA32_TSC: from now on the TSC counts from value. */
static void env_tsc_write(struct cpu *cpu, uint64_t value)
{
	uint64_t base = (uint64_t)vclock_ns() * PC_TSC_PER_NS;
	lapic_set_tsc_offset(machine.lapic, (int64_t)(value - base));
}

static bool env_interrupt_pending(struct cpu *cpu) { return lapic_pending(machine.lapic); }

/* ---- Firmware's leftovers and the boot state ------------------------------ */

/* The MTRRs as SeaBIOS programs them: enabled, fixed ranges on, write-back
 * by default; the VGA window 0xa0000-0xbffff uncacheable; variable range 0
 * makes the PCI hole from 0xe0000000 to 4 GiB uncacheable.  (Linux 6.1
 * turns PAT off when it finds the MTRRs disabled.) */
static void firmware_mtrrs(struct cpu *cpu)
{
	static const struct { uint32_t msr; uint64_t value; } mtrrs[] = {
		{ MSR_MTRR_FIX64K, 0x0606060606060606ull },
		{ MSR_MTRR_FIX16K_80000, 0x0606060606060606ull },
		{ MSR_MTRR_FIX16K_A0000, 0 },
		{ MSR_MTRR_PHYSBASE0, 0xe0000000ull | 0 },
		{ MSR_MTRR_PHYSBASE0 + 1, 0xffe0000000ull | 0x800 },
		{ MSR_MTRR_DEF_TYPE, 0xc06 },	/* E, FE, write-back */
	};
	for (unsigned i = 0; i < sizeof(mtrrs) / sizeof(mtrrs[0]); i++)
		if (!x86_sys_wrmsr(cpu, mtrrs[i].msr, mtrrs[i].value))
			internal_error("machine: MTRR 0x%x refused 0x%llx", mtrrs[i].msr,
				       (unsigned long long)mtrrs[i].value);
	for (uint32_t msr = MSR_MTRR_FIX4K_C0000; msr < MSR_MTRR_FIX4K_C0000 + 8; msr++)
		if (!x86_sys_wrmsr(cpu, msr, 0x0606060606060606ull))
			internal_error("machine: MTRR 0x%x refused", msr);
}

/* The hidden part of a segment register as loading sel from the loader's
 * GDT in RAM gives it, for when the CPU cannot read guest virtual memory
 * (no soft MMU): the boot GDT is flat and identity-mapped. */
static void load_seg_from_phys(struct cpu *cpu, int sreg, uint16_t sel)
{
	const struct boot_cpu_state *c = &machine.entry;
	uint64_t d;
	if (!sel || (uint64_t)(sel & ~7u) + 7 > c->gdt_limit ||
	    !physmem_read(c->gdt_base + (sel & ~7u), &d, 8)) {
		x86_sys_set_seg(cpu, sreg, sel, 0, 0, 0);
		return;
	}
	d |= 1ull << 40;	/* accessed, as a load sets it */
	physmem_write(c->gdt_base + (sel & ~7u), &d, 8);
	uint32_t hi = (uint32_t)(d >> 32);
	uint64_t base = ((d >> 16) & 0xffffff) | ((uint64_t)(hi >> 24) << 24);
	uint32_t limit = (uint32_t)(d & 0xffff) | (hi & 0xf0000);
	if (hi & (1u << 23))
		limit = (limit << 12) | 0xfff;
	uint16_t attr = (uint16_t)((hi >> 8) & 0xff) | (uint16_t)(((hi >> 20) & 0xf) << 12);
	x86_sys_set_seg(cpu, sreg, sel, base, limit, attr);
}

/* RESET, the firmware's leftovers, then the entry state of the boot
 * protocol: registers first, segment registers last (their descriptors
 * are read through the GDT just loaded). */
static void load_entry_state(struct cpu *cpu)
{
	const struct boot_cpu_state *c = &machine.entry;
	struct x86_sys *sys = cpu->sys;

	x86_cpu_reset(cpu);
	cpu->sys = sys;
	x86_sys_reset(cpu);
	firmware_mtrrs(cpu);
	cpu->regs[R_RSI] = c->rsi;
	cpu->regs[R_RSP] = c->rsp;
	cpu->rip = c->rip;
	x86_sys_set_rflags(cpu, c->rflags);
	sys->cr0 = c->cr0;
	sys->cr3 = c->cr3;
	sys->cr4 = c->cr4;
	sys->efer = c->efer;
	sys->gdtr.base = c->gdt_base;
	sys->gdtr.limit = c->gdt_limit;
	static const struct { int sreg; size_t off; } segs[] = {
		{ SREG_CS, offsetof(struct boot_cpu_state, cs) },
		{ SREG_DS, offsetof(struct boot_cpu_state, ds) },
		{ SREG_ES, offsetof(struct boot_cpu_state, es) },
		{ SREG_SS, offsetof(struct boot_cpu_state, ss) },
		{ SREG_FS, offsetof(struct boot_cpu_state, fs) },
		{ SREG_GS, offsetof(struct boot_cpu_state, gs) },
	};
	for (unsigned i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		uint16_t sel = *(const uint16_t *)((const char *)c + segs[i].off);
		struct x86_event f;
		if (sys->env->mem_read && x86_sys_load_seg(cpu, segs[i].sreg, sel, &f) == 0)
			continue;
		load_seg_from_phys(cpu, segs[i].sreg, sel);
	}
	if (sys->env->tlb_flush)
		sys->env->tlb_flush(cpu, SYS_TLB_FLUSH_ALL, 0);
}

/* -d cpu_reset: the loader's side of the entry state (the CPU's whole
 * state follows a reset under -d cpu_reset, from the loop). */
static void log_boot_state(void)
{
	const struct boot_layout *l = &machine.layout;
	const struct boot_cpu_state *c = &machine.entry;
	log_printf("cpu_reset: boot protocol %u.%02u, kernel at 0x%llx (0x%llx bytes, init_size "
		   "0x%llx), initrd at 0x%llx (0x%llx bytes)\n", l->version >> 8, l->version & 0xff,
		   (unsigned long long)l->kernel_addr, (unsigned long long)l->kernel_file_size,
		   (unsigned long long)l->init_size, (unsigned long long)l->initrd_addr,
		   (unsigned long long)l->initrd_size);
	log_printf("RIP=%016llx RSI=%016llx RSP=%016llx RFL=%08llx\n",
		   (unsigned long long)c->rip, (unsigned long long)c->rsi,
		   (unsigned long long)c->rsp, (unsigned long long)c->rflags);
	log_printf("CS =%04x DS =%04x ES =%04x SS =%04x FS =%04x GS =%04x\n", c->cs, c->ds, c->es,
		   c->ss, c->fs, c->gs);
	log_printf("GDT=     %016llx %08x\n", (unsigned long long)c->gdt_base, c->gdt_limit);
	log_printf("CR0=%08llx CR3=%016llx CR4=%08llx EFER=%016llx\n",
		   (unsigned long long)c->cr0, (unsigned long long)c->cr3,
		   (unsigned long long)c->cr4, (unsigned long long)c->efer);
	for (unsigned i = 0; i < l->e820_count; i++)
		log_printf("e820: [mem 0x%016llx-0x%016llx] %s\n",
			   (unsigned long long)l->e820[i].addr,
			   (unsigned long long)(l->e820[i].addr + l->e820[i].size - 1),
			   l->e820[i].type == BOOT_E820_RAM ? "usable" : "reserved");
}

/* Load the kernel, initrd and command line and point the vCPU at the
 * entry.  0, or -1 with err filled. */
static int boot(char *err, size_t errlen)
{
	struct boot_linux_args args = {
		.kernel = machine.cfg.kernel,
		.initrd = machine.cfg.initrd,
		.cmdline = machine.cfg.append,
	};
	if (boot_linux(&args, &machine.entry, &machine.layout, err, errlen) < 0)
		return -1;
	load_entry_state(machine.cpu);
	if (log_enabled(LOG_CPU_RESET))
		log_boot_state();
	return 0;
}

/* ---- Building and resetting ------------------------------------------------- */

static void set_elcr(void)
{
	bus_write(BUS_IO, PC_PORT_PIC_ELCR, 1, MACHINE_ELCR & 0xff);
	bus_write(BUS_IO, PC_PORT_PIC_ELCR + 1, 1, MACHINE_ELCR >> 8);
}

static void build_devices(void)
{
	struct irq pins[PC_IOAPIC_PINS];

	machine.lapic = lapic_new(0, lapic_kick, NULL);
	m.ioapic = ioapic_new(ioapic_to_lapic, NULL);
	lapic_set_eoi_broadcast(machine.lapic, lapic_eoi_to_ioapic, NULL);
	m.pic = i8259_new(irq_line(pic_intr, NULL, 0));
	lapic_set_extint_ack(machine.lapic, lapic_extint_ack, NULL);
	for (int i = 0; i < PC_IOAPIC_PINS; i++)
		pins[i] = ioapic_irq(m.ioapic, i);
	for (int n = 0; n < 16; n++)
		pc_wire_isa(n, i8259_irq(m.pic, n), pins[n == PC_IRQ_TIMER ? 2 : n]);
	set_elcr();

	m.isa0 = pc_isa_irq(PC_IRQ_TIMER);
	m.isa8 = pc_isa_irq(PC_IRQ_RTC);
	m.pit = i8254_new(irq_line(pit_out, NULL, 0));
	m.rtc = rtc_new(irq_line(rtc_out, NULL, 0), machine.cfg.mem_size);
	m.hpet = hpet_new(pins, m.isa0, m.isa8, irq_line(hpet_legacy_set, NULL, 0));
	m.pm = acpi_pm_new(pc_isa_irq(PC_IRQ_SCI));
	i8042_new(pc_isa_irq(PC_IRQ_KBD), pc_isa_irq(PC_IRQ_MOUSE));
	pci_new();
}

static bool open_serial(char *err, size_t errlen)
{
	struct chardev *cd = NULL;
	if (machine.cfg.serial_kind != CHARDEV_NONE) {
		cd = chardev_open(machine.cfg.serial, "-serial");
		if (!cd) {
			snprintf(err, errlen, "-serial %s: cannot open", machine.cfg.serial);
			return false;
		}
	}
	machine.uart = uart_new_at(PC_PORT_COM1, cd, pc_isa_irq(PC_IRQ_COM1));
	return true;
}

int machine_init(const struct machine_config *cfg, int *status, char *err, size_t errlen)
{
	machine.cfg = *cfg;
	*status = LOOM_EXIT_USAGE;
	int r = physmem_init(cfg->mem_size);
	if (r < 0) {
		snprintf(err, errlen, "-m: cannot map %llu bytes of RAM: %s",
			 (unsigned long long)cfg->mem_size, strerror(-r));
		return -1;
	}
	build_devices();
	/* -drive, -nic, -netdev/-device: after the bus's own functions, in
	 * the slots QEMU's pc gives them (from 3 up). */
	if (devopts_build(err, errlen) < 0)
		return -1;
	machine.rsdp = acpi_build(1, cfg->mem_size);

	exec_guest = guest_exec_ops;
	/* The instrument layer's hooks and per-vCPU regions: once the guest
	 * is known, before the vCPU is laid out and exec_init. */
	instrument_env = system_instrument_env;
	instrument_attach();
	r = sysmmu_init();	/* before the vCPU: its TLB lies beside it */
	if (r < 0) {
		snprintf(err, errlen, "cannot set up the soft MMU: %s", strerror(-r));
		return -1;
	}
	if (x86_select_level(NULL) < 0) {
		snprintf(err, errlen, "the host CPU lacks what the guest CPU model needs");
		return -1;
	}
	machine.cpu = exec_cpu_new();
	if (!machine.cpu)
		internal_error("machine: cannot allocate the vCPU");
	sysmmu_cpu_init(machine.cpu);
	exec_init();
	m.env = (struct x86_sys_env){
		.io_read = env_io_read,
		.io_write = env_io_write,
		.msr_read = env_msr_read,
		.msr_write = env_msr_write,
		.tpr_read = env_tpr_read,
		.tpr_write = env_tpr_write,
		.cr3_write = syscov_cr3_written,
		.tsc_read = env_tsc_read,
		.tsc_write = env_tsc_write,
		.tsc_hz = PC_TSC_HZ,
		.crystal_hz = PC_CRYSTAL_HZ,
		.interrupt_pending = env_interrupt_pending,
	};
	sysmmu_env(&m.env);	/* guest virtual memory, TLB flushes */
	m.sys.env = &m.env;
	m.sys.opaque = &machine;
	machine.cpu->sys = &m.sys;
	x86_sys_log_int = log_enabled(LOG_INT);

	if (boot(err, errlen) < 0) {
		*status = LOOM_EXIT_LOAD;
		return -1;
	}
	/* The serial port opens last: a unix server may wait for its client,
	 * which should find a machine ready to run. */
	if (!open_serial(err, errlen))
		return -1;
	return 0;
}

bool machine_reset(void)
{
	char err[512];

	i8259_reset(m.pic);
	set_elcr();
	i8254_reset(m.pit);
	rtc_reset(m.rtc);
	uart_reset(machine.uart);
	pci_reset();
	lapic_reset(machine.lapic);
	env_tsc_write(machine.cpu, 0);	/* RESET clears the TSC (SDM vol. 3, 18.17) */
	ioapic_reset(m.ioapic);
	hpet_reset(m.hpet);
	acpi_pm_reset(m.pm);
	i8042_reset();
	m.hpet_legacy = false;
	m.pit_level = m.rtc_level = 0;
	exec_flush_all();
	machine.rsdp = acpi_build(1, machine.cfg.mem_size);
	if (boot(err, sizeof(err)) < 0) {
		fprintf(stderr, "loom-system: reset: %s\n", err);
		return false;
	}
	return true;
}

bool machine_can_run(void)
{
	return m.env.mem_read && m.env.mem_write;
}
