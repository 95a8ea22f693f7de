/*
 * The ACPI tables of the PC, written into guest RAM before boot: RSDP
 * (revision 2) at PC_ACPI_RSDP, and at PC_ACPI_BASE the DSDT, FACS, FADT
 * (revision 3), MADT, HPET table, RSDT and XSDT.  They describe what
 * src/system/ builds: the PIIX4 PM block (acpi_pm.h) with SCI on IRQ 9,
 * the reset register 0xcf9 (value 0x06), one local APIC per vCPU, the I/O
 * APIC at 0xfec00000 with the ISA overrides of pc.h (IRQ 0 -> GSI 2, SCI
 * level/active-high), LINT1 as NMI, the HPET, and a DSDT with the PCI
 * host bridge \_SB.PCI0, an HPET device and \_S5 = {0, 0, 0, 0} (so S5
 * is SLP_TYP 0, which acpi_pm.c turns into power-off).  Values follow
 * QEMU's -M pc where the guest can see them; docs/system-apic-acpi.md
 * lists each choice.
 *
 * The boot loader puts the returned address in boot_params.acpi_rsdp_addr
 * (a kernel that scans the BIOS area finds it too) and keeps
 * [PC_ACPI_BASE, PC_ACPI_RSDP + 36) out of e820's usable RAM.
 */
#ifndef LOOM_SYSTEM_ACPI_H
#define LOOM_SYSTEM_ACPI_H

#include <stdint.h>

#define ACPI_OEM_ID		"LOOM  "
#define ACPI_RESET_VALUE	0x06	/* to port 0xcf9: system reset, CPU reset */

/* Build the tables for ncpus local APICs (IDs 0..ncpus-1) and ram_size
 * bytes of RAM (the PCI window starts where low RAM ends); physmem must be
 * initialised.  Returns the RSDP's guest-physical address. */
uint64_t acpi_build(int ncpus, uint64_t ram_size);

#endif
