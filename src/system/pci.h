/*
 * The PCI host side of the i440FX/PIIX3 PC that QEMU's -M pc emulates:
 * configuration mechanism #1 (address register 0xcf8, data window
 * 0xcfc-0xcff), bus 0 with the 440FX host bridge (00:00.0), the PIIX3
 * PCI-to-ISA bridge (00:01.0) and the PIIX4 power-management function
 * (00:01.3), and the PIIX3's reset control register at 0xcf9, which sits
 * inside the configuration ports.
 *
 * Other devices (virtio-pci) join bus 0 with pci_add_device: a type-0
 * header with up to six BARs that the guest may size and move (the region
 * is on bus.h's maps while its decode bit in the command register is on),
 * a capability list, and INTx through the PIIX3's PIRQ routing registers,
 * wired-OR per PIRQ line, as on the chipset.  At reset each BAR sits where
 * firmware (SeaBIOS under qemu-system) would put it, decoding enabled, and
 * the interrupt line register holds the IRQ its pin is routed to.
 */
#ifndef LOOM_SYSTEM_PCI_H
#define LOOM_SYSTEM_PCI_H

#include <stdbool.h>
#include <stdint.h>

/* Map 0xcf8-0xcff and put every function's configuration space in its
 * power-on state. */
void pci_new(void);
void pci_reset(void);
/* Configuration space of bus 0 as the CPU sees it through 0xcfc (size 1,
 * 2 or 4 within one dword): for the monitor and tests. */
uint32_t pci_config_read(int dev, int fn, int offset, unsigned size);
void pci_config_write(int dev, int fn, int offset, unsigned size, uint32_t value);

struct bus_ops;

enum pci_bar_kind { PCI_BAR_NONE, PCI_BAR_IO, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bar {
	enum pci_bar_kind kind;
	uint64_t size;			/* a power of two, at least 16 (I/O: 4) */
	bool prefetchable;
	const struct bus_ops *ops;	/* offsets are from the BAR's base */
	void *opaque;
};

struct pci_device_info {
	const char *name;		/* the bus map's name of its regions */
	uint16_t vendor, device, subsystem_vendor, subsystem;
	uint8_t revision;
	uint32_t class;			/* class, subclass, programming interface */
	uint8_t int_pin;		/* 1 = INTA ... 4 = INTD; 0: none */
	struct pci_bar bar[6];		/* a MEM64 BAR takes the next slot too */
	/* The device's own reset, from pci_reset (a machine reset). */
	void (*reset)(void *opaque);
	/* Configuration registers with side effects (a window into a BAR):
	 * config_read gives the value of [offset, offset+size) given what
	 * is stored there; config_write is told of a write once it is
	 * stored.  Either may be NULL. */
	uint32_t (*config_read)(void *opaque, int offset, unsigned size, uint32_t stored);
	void (*config_write)(void *opaque, int offset, unsigned size, uint32_t value);
	void *opaque;
};

struct pci_dev;

/* The lowest slot (device number) of bus 0 from 3 up with nothing in it
 * (slot 2 is the VGA's on QEMU's pc), or -1. */
int pci_free_slot(void);
/* Put a device in slot (function 0) and its BARs where firmware would.
 * NULL if the slot is taken or the machine has no room for its BARs. */
struct pci_dev *pci_add_device(int slot, const struct pci_device_info *info);
/* Append a capability (its ID in data[0]; data[1], the next pointer, is
 * filled in) to the device's list; returns its offset in configuration
 * space.  Done while building the machine: the bytes are read-only to the
 * guest and survive resets. */
int pci_add_capability(struct pci_dev *d, const void *data, unsigned len);
/* The ISA IRQ (= I/O APIC pin) firmware routes slot's pin (1 = INTA) to:
 * what the DSDT's _PRT tells the OS. */
int pci_intx_irq(int slot, int pin);
/* The stored bytes of the device's configuration space (no hook). */
uint32_t pci_config_stored(struct pci_dev *d, int offset, unsigned size);
/* Let the guest write [offset, offset+len) of the device's configuration
 * space (a capability's registers). */
void pci_config_writable(struct pci_dev *d, int offset, unsigned len);
/* Drive the device's INTx pin (1: asserted). */
void pci_set_irq(struct pci_dev *d, int level);
/* Where a BAR is decoded now (0 while decoding is off): for tests. */
uint64_t pci_bar_address(struct pci_dev *d, int bar);

#endif
