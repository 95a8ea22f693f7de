/*
 * The virtio 1.0 PCI transport (virtio 1.0, 4.1): a modern-only virtio
 * device as a PCI function, vendor 0x1af4, device 0x1040 + the virtio
 * device ID, revision 1.  One 64-bit prefetchable memory BAR (BAR 4, 16
 * KiB, as QEMU's) holds the common configuration, the ISR, the
 * device-specific configuration and the notification area; vendor
 * capabilities in configuration space point at them, and one more is a
 * window into the BAR through configuration space.  Interrupts are INTx
 * (INTA): there is no MSI-X capability, and Linux's virtio_pci then uses
 * the shared line and the ISR.
 */
#ifndef LOOM_SYSTEM_VIRTIO_PCI_H
#define LOOM_SYSTEM_VIRTIO_PCI_H

#include <stdint.h>

struct virtio_dev;

/* Put vd (fully described: ID, features, queues, config size, ops) on bus
 * 0 at slot (-1: the lowest free one) and reset it.  -1 if the bus has no
 * room, else the slot. */
int virtio_pci_new(struct virtio_dev *vd, int slot);

#endif
