/*
 * The ACPI power-management registers of the PIIX4 as QEMU's `-M pc`
 * places them: PM1a event block at 0x600 (PM1_STS, PM1_EN), PM1a control
 * at 0x604 (SCI_EN, SLP_TYP, SLP_EN), the 24-bit PM timer at 0x608
 * counting at 3.579545 MHz from virtual time, GPE0 at 0xafe0 (no GPE
 * sources: status reads 0, enables are kept), and the APM/SMI command
 * port 0xb2 (with its scratch port 0xb3) that takes the ACPI enable and
 * disable handshake (0xf1 sets SCI_EN, 0xf0 clears it), as the FADT says.
 * Registers follow the ACPI specification's fixed-hardware chapter.
 *
 * The SCI (ISA IRQ 9, level, active high) is high while SCI_EN is set and
 * an enabled fixed event (timer carry, power button, global lock, RTC) has
 * its status bit set.  Writing SLP_EN with SLP_TYP 0 (our \_S5) asks the
 * machine to power off (pc_request(PC_REQ_POWEROFF)); other sleep types
 * are logged under -d unimp and ignored.
 */
#ifndef LOOM_SYSTEM_ACPI_PM_H
#define LOOM_SYSTEM_ACPI_PM_H

#include "system/irq.h"

#define ACPI_PM_TIMER_HZ	3579545
#define ACPI_PM_ENABLE_CMD	0xf1	/* written to SMI_CMD: ACPI mode on */
#define ACPI_PM_DISABLE_CMD	0xf0

struct acpi_pm;

/* Registers mapped in port I/O; sci: ISA IRQ 9 (pc_isa_irq(PC_IRQ_SCI)). */
struct acpi_pm *acpi_pm_new(struct irq sci);
void acpi_pm_free(struct acpi_pm *pm);
void acpi_pm_reset(struct acpi_pm *pm);
/* The power button was pressed (the monitor's system_powerdown). */
void acpi_pm_power_button(struct acpi_pm *pm);

#endif
