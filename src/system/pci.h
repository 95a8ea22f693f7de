/*
 * The PCI host side of the i440FX/PIIX3 PC that QEMU's -M pc emulates:
 * configuration mechanism #1 (address register 0xcf8, data window
 * 0xcfc-0xcff), bus 0 with the 440FX host bridge (00:00.0), the PIIX3
 * PCI-to-ISA bridge (00:01.0) and the PIIX4 power-management function
 * (00:01.3), and the PIIX3's reset control register at 0xcf9, which sits
 * inside the configuration ports.  No device has BARs: the bus is
 * otherwise empty.
 */
#ifndef LOOM_SYSTEM_PCI_H
#define LOOM_SYSTEM_PCI_H

#include <stdint.h>

/* Map 0xcf8-0xcff and put every function's configuration space in its
 * power-on state. */
void pci_new(void);
void pci_reset(void);
/* Configuration space of bus 0 as the CPU sees it through 0xcfc (size 1,
 * 2 or 4 within one dword): for the monitor and tests. */
uint32_t pci_config_read(int dev, int fn, int offset, unsigned size);
void pci_config_write(int dev, int fn, int offset, unsigned size, uint32_t value);

#endif
