/*
 * The machine as machine.c wires it, with the bare-metal image
 * (build/tests/system/baremetal.bin, `make baremetal`; without it the
 * checks are skipped, visibly) as its kernel.  Expectations come from the
 * specifications and the peer, not from loom:
 *   - the boot protocol's 64-bit entry (boot.rst): rip = load address +
 *     0x200, rsi = the zero page, a 64-bit CS at CPL 0, paging on;
 *   - what SeaBIOS leaves under qemu-system -M pc (`info pic` after the
 *     firmware ran: elcr=00 on the master, 0c on the slave) and its MTRRs
 *     (SDM vol. 3 "MTRRs": IA32_MTRR_DEF_TYPE E|FE|WB = 0xc06);
 *   - IA32_APIC_BASE of an enabled BSP at the default base, 0xfee00900;
 *     CR8 is TPR[7:4] (SDM vol. 3 "Task Priority in IA-32e Mode");
 *   - the PIT's IRQ 0 through the 8259 to the local APIC's LINT0 in
 *     virtual-wire mode (ExtINT: the vector is the 8259's), and the HPET's
 *     legacy-replacement route taking IRQ 0 from the PIT (IA-PC HPET 1.0a
 *     §2.3.9: the PIT's interrupt is then not delivered);
 *   - 0xcf9 (PIIX3 reset control) asking for a reset, and a reset putting
 *     the vCPU back at the kernel's entry.
 */
#include <stdlib.h>
#include <unistd.h>

#include "exec/exec.h"
#include "guest/x86/cpu.h"
#include "guest/x86/sys.h"
#include "system/bus.h"
#include "system/lapic.h"
#include "system/machine.h"
#include "system/pc.h"
#include "system/vclock.h"
#include "unit.h"

#define IMAGE "build/tests/system/baremetal.bin"

static void outb(uint16_t port, uint8_t v) { bus_write(BUS_IO, port, 1, v); }
static uint8_t inb(uint16_t port) { return (uint8_t)bus_read(BUS_IO, port, 1); }

static uint64_t rdmsr(uint32_t msr)
{
	uint64_t v = ~0ull;
	CHECK(x86_sys_rdmsr(machine.cpu, msr, &v));
	return v;
}

static void check_entry(void)
{
	struct cpu *cpu = machine.cpu;
	struct x86_sys *sys = cpu->sys;
	CHECK_EQ(cpu->rip, 0x100200);	/* pref_address 1 MiB + 0x200 */
	CHECK_EQ(cpu->regs[R_RSI], 0x7000);
	CHECK_EQ(sys->seg[SREG_CS].sel, 0x10);
	CHECK(sys->seg[SREG_CS].attr & SEG_ATTR_L);
	CHECK_EQ(sys->cpl, 0);
	CHECK_EQ(sys->seg[SREG_SS].sel, 0x18);
	CHECK(sys->cr0 & CR0_PG);
	CHECK(sys->cr0 & CR0_PE);
	CHECK(sys->cr4 & CR4_PAE);
	CHECK(sys->efer & EFER_LMA);
	CHECK_EQ(x86_sys_get_rflags(cpu) & X86_IF, 0);
}

/* The 8259 pair as Linux's init_8259A programs it: vectors 0x30/0x38,
 * cascade on IR2, only IRQ 0 unmasked. */
static void pic_init(void)
{
	outb(0x20, 0x11); outb(0x21, 0x30); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, 0x38); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0x21, 0xfe);
	outb(0xa1, 0xff);
}

static void drain(struct lapic *l)
{
	for (int i = 0; i < 4 && lapic_pending(l); i++) {
		lapic_ack(l);
		outb(0x20, 0x20);
	}
}

static void check_pit_path(void)
{
	struct lapic *l = machine.lapic;
	pic_init();
	/* PIT channel 0, lobyte/hibyte, mode 2, 1193 counts: about 1 ms */
	outb(0x43, 0x34);
	outb(0x40, 1193 & 0xff);
	outb(0x40, 1193 >> 8);
	/* the control word may itself raise OUT (8254: mode 2's OUT is high
	 * after it): take what that latched */
	drain(l);
	CHECK(!lapic_pending(l));
	vclock_set_manual(3000000);
	vtimer_run();
	CHECK(lapic_pending(l));
	CHECK_EQ(lapic_ack(l), 0x30);	/* ExtINT: the 8259's vector */
	outb(0x20, 0x20);		/* EOI */

	/* HPET legacy replacement: the PIT no longer reaches IRQ 0 (the
	 * HPET's timer 0 is not enabled, so nothing does). */
	bus_write(BUS_MMIO, PC_MMIO_HPET + 0x10, 8, 2);	/* LEG_RT_CNF */
	drain(l);	/* a tick latched before the switch */
	vclock_set_manual(10000000);
	vtimer_run();
	CHECK(!lapic_pending(l));
	/* and gives it back */
	bus_write(BUS_MMIO, PC_MMIO_HPET + 0x10, 8, 0);
	vclock_set_manual(12000000);
	vtimer_run();
	CHECK(lapic_pending(l));
	CHECK_EQ(lapic_ack(l), 0x30);
	outb(0x20, 0x20);
}

void unit_main(void)
{
	char err[512];
	int status;

	if (access(IMAGE, R_OK) < 0) {
		SKIP("no " IMAGE " (make baremetal; needs nasm)");
		return;
	}
	vclock_set_manual(0);
	struct machine_config cfg = {
		.kernel = IMAGE,
		.mem_size = 64 << 20,
		.serial = "none",
		.serial_kind = CHARDEV_NONE,
	};
	if (machine_init(&cfg, &status, err, sizeof(err)) < 0) {
		printf("FAIL machine_init: %s\n", err);
		unit_failed++;
		return;
	}
	check_entry();

	/* SeaBIOS's ELCR (the peer's `info pic`: elcr=00 / elcr=0c) */
	CHECK_EQ(inb(0x4d0), 0x00);
	CHECK_EQ(inb(0x4d1), 0x0c);
	/* SeaBIOS's MTRRs: enabled, fixed ranges on, write-back default */
	CHECK_EQ(rdmsr(MSR_MTRR_DEF_TYPE), 0xc06);
	CHECK_EQ(rdmsr(MSR_MTRR_FIX64K), 0x0606060606060606ull);
	/* The local APIC answers its MSR and CR8 through the environment */
	CHECK_EQ(rdmsr(MSR_APIC_BASE), 0xfee00900);
	CHECK(x86_sys_write_cr(machine.cpu, 8, 5));
	CHECK_EQ(bus_read(BUS_MMIO, PC_MMIO_LAPIC + 0x80, 4), 0x50);
	CHECK_EQ(lapic_get_cr8(machine.lapic), 5);
	uint64_t cr8 = 0;
	CHECK(x86_sys_read_cr(machine.cpu, 8, &cr8));
	CHECK_EQ(cr8, 5);
	CHECK(x86_sys_write_cr(machine.cpu, 8, 0));
	/* IA32_TSC: virtual time at 2 GHz from what was written */
	CHECK(x86_sys_wrmsr(machine.cpu, MSR_TSC, 1000000));
	CHECK_EQ(rdmsr(MSR_TSC), 1000000);
	vclock_set_manual(1000);
	CHECK_EQ(rdmsr(MSR_TSC), 1000000 + 2000);
	/* the port I/O path: the RTC's index/data through the bus (register
	 * 0x0d, VRT: valid RAM and time, MC146818) */
	outb(0x70, 0x0d);
	CHECK_EQ(inb(0x71) & 0x80, 0x80);

	check_pit_path();

	/* 0xcf9: reset request, acted on by the loop; machine_reset puts the
	 * CPU at the entry again */
	CHECK_EQ(pc_take_request(), PC_REQ_NONE);
	outb(0xcf9, 0x06);
	CHECK_EQ(pc_take_request(), PC_REQ_RESET);
	machine.cpu->rip = 0x1234;
	machine.cpu->regs[R_RSI] = 0;
	CHECK(machine_reset());
	check_entry();
	CHECK_EQ(inb(0x4d1), 0x0c);
	CHECK_EQ(rdmsr(MSR_MTRR_DEF_TYPE), 0xc06);
	CHECK_EQ(rdmsr(MSR_TSC), 0);	/* RESET clears the TSC */
}
