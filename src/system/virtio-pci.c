/*
 * The virtio 1.0 PCI transport (virtio-pci.h).
 *
 * BAR 4's layout (each part a 4 KiB page, as QEMU lays it out):
 *   0x0000 common configuration (4.1.4.3), 0x38 bytes
 *   0x1000 ISR status: one byte, cleared by reading it (which also
 *          deasserts INTx)
 *   0x2000 device-specific configuration (the model's config_read/write)
 *   0x3000 notifications: queue q's doorbell at q * 4 (queue_notify_off =
 *          q, notify_off_multiplier = 4); the value written is ignored
 * A fifth capability (VIRTIO_PCI_CAP_PCI_CFG, 4.1.4.7) is a window into
 * the BAR through configuration space, for drivers that cannot map it
 * (SeaBIOS): the driver writes its bar, offset and length fields, then
 * reads or writes pci_cfg_data, which reaches BAR 4 at that offset.
 *
 * Linux reads and writes every common field at its natural width and the
 * 64-bit queue addresses as two dwords; both are accepted, as any access
 * within one field is.  Reads outside the fields give 0, writes to
 * read-only fields are dropped; both are logged under -d guest_errors.
 */
#include "system/virtio-pci.h"

#include <string.h>

#include "system/bus.h"
#include "system/pci.h"
#include "system/virtio.h"
#include "util/log.h"

#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040
#define VIRTIO_PCI_SUBSYS	0x1100	/* QEMU's subsystem ID */

#define VPCI_BAR		4
#define VPCI_BAR_SIZE		0x4000
#define VPCI_COMMON		0x0000
#define VPCI_ISR		0x1000
#define VPCI_DEVICE		0x2000
#define VPCI_NOTIFY		0x3000
#define VPCI_NOTIFY_MULT	4

/* virtio_pci_cap.cfg_type */
enum { CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4, CAP_PCI_CFG = 5 };
#define PCI_CAP_ID_VNDR		0x09

/* Common configuration fields (offset, size). */
enum {
	CC_DFSELECT = 0x00,	/* 4 */
	CC_DF = 0x04,		/* 4, RO */
	CC_GFSELECT = 0x08,	/* 4 */
	CC_GF = 0x0c,		/* 4 */
	CC_MSIX = 0x10,		/* 2 */
	CC_NUMQ = 0x12,		/* 2, RO */
	CC_STATUS = 0x14,	/* 1 */
	CC_CFGGEN = 0x15,	/* 1, RO */
	CC_Q_SELECT = 0x16,	/* 2 */
	CC_Q_SIZE = 0x18,	/* 2 */
	CC_Q_MSIX = 0x1a,	/* 2 */
	CC_Q_ENABLE = 0x1c,	/* 2 */
	CC_Q_NOFF = 0x1e,	/* 2, RO */
	CC_Q_DESC = 0x20,	/* 8 */
	CC_Q_AVAIL = 0x28,	/* 8 */
	CC_Q_USED = 0x30,	/* 8 */
	CC_END = 0x38,
};
#define VIRTIO_MSI_NO_VECTOR	0xffff

struct virtio_pci {
	struct virtio_dev *vd;
	struct pci_dev *pci;
	uint8_t isr;
	int cfg_cap;		/* the PCI configuration access capability's offset */
};

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, v); put32(p + 4, v >> 32); }

static void vpci_interrupt(struct virtio_dev *vd, uint8_t isr)
{
	struct virtio_pci *vp = vd->transport;
	vp->isr |= isr;
	pci_set_irq(vp->pci, 1);
}

/* The common configuration as the guest reads it now. */
static void common_image(struct virtio_pci *vp, uint8_t img[CC_END])
{
	struct virtio_dev *vd = vp->vd;
	uint16_t qs = vd->queue_select;
	const struct virtqueue *vq = qs < vd->nqueues ? &vd->vq[qs] : NULL;

	memset(img, 0, CC_END);
	put32(img + CC_DFSELECT, vd->device_feature_select);
	if (vd->device_feature_select < 2)
		put32(img + CC_DF, (uint32_t)(vd->host_features >> (32 * vd->device_feature_select)));
	put32(img + CC_GFSELECT, vd->driver_feature_select);
	if (vd->driver_feature_select < 2)
		put32(img + CC_GF, (uint32_t)(vd->guest_features >> (32 * vd->driver_feature_select)));
	put16(img + CC_MSIX, VIRTIO_MSI_NO_VECTOR);
	put16(img + CC_NUMQ, vd->nqueues);
	img[CC_STATUS] = vd->status;
	img[CC_CFGGEN] = vd->config_generation;
	put16(img + CC_Q_SELECT, qs);
	put16(img + CC_Q_MSIX, VIRTIO_MSI_NO_VECTOR);
	if (vq) {
		put16(img + CC_Q_SIZE, vq->size);
		put16(img + CC_Q_ENABLE, vq->enabled);
		put16(img + CC_Q_NOFF, qs);
		put64(img + CC_Q_DESC, vq->desc);
		put64(img + CC_Q_AVAIL, vq->avail);
		put64(img + CC_Q_USED, vq->used);
	}
}

static uint64_t common_read(struct virtio_pci *vp, uint64_t off, unsigned size)
{
	uint8_t img[CC_END];
	uint64_t v = 0;

	if (off + size > CC_END) {
		if (log_enabled(LOG_GUEST_ERRORS))
			log_printf("%s: read of common configuration %#llx: no such field\n",
				   vp->vd->name, (unsigned long long)off);
		return 0;
	}
	common_image(vp, img);
	memcpy(&v, img + off, size);
	return v;
}

/* A write of part of a 64-bit field: merge it into the old value. */
static uint64_t merge64(uint64_t old, unsigned field_off, uint64_t off, unsigned size,
			uint64_t value)
{
	unsigned shift = 8 * (unsigned)(off - field_off);
	uint64_t mask = size == 8 ? ~0ull : ((1ull << (8 * size)) - 1) << shift;
	return (old & ~mask) | ((value << shift) & mask);
}

static void common_write(struct virtio_pci *vp, uint64_t off, unsigned size, uint64_t value)
{
	struct virtio_dev *vd = vp->vd;
	uint16_t qs = vd->queue_select;
	struct virtqueue *vq = qs < vd->nqueues ? &vd->vq[qs] : NULL;

	switch (off) {
	case CC_DFSELECT:
		vd->device_feature_select = (uint32_t)value;
		return;
	case CC_GFSELECT:
		vd->driver_feature_select = (uint32_t)value;
		return;
	case CC_GF:
		if (vd->driver_feature_select < 2 && !(vd->status & VIRTIO_STATUS_FEATURES_OK)) {
			unsigned sh = 32 * vd->driver_feature_select;
			vd->guest_features = (vd->guest_features & ~(0xffffffffull << sh)) |
					     ((value & 0xffffffffull) << sh);
		}
		return;
	case CC_MSIX:
	case CC_Q_MSIX:
		return;		/* no MSI-X: reads stay NO_VECTOR */
	case CC_STATUS:
		virtio_set_status(vd, (uint8_t)value);
		if (!vd->status) {
			vp->isr = 0;
			pci_set_irq(vp->pci, 0);
		}
		return;
	case CC_Q_SELECT:
		vd->queue_select = (uint16_t)value;
		return;
	case CC_Q_SIZE:
		/* A power of two up to the maximum, set before enabling. */
		if (vq && !vq->enabled && value && value <= VIRTIO_QUEUE_SIZE &&
		    !(value & (value - 1)))
			vq->size = (uint16_t)value;
		else if (log_enabled(LOG_GUEST_ERRORS))
			log_printf("%s: queue %u size %llu refused\n", vd->name, qs,
				   (unsigned long long)value);
		return;
	case CC_Q_ENABLE:
		if (vq && value == 1)
			vq->enabled = true;
		return;
	}
	if (vq && !vq->enabled && off >= CC_Q_DESC && off + size <= CC_END) {
		unsigned field = off < CC_Q_AVAIL ? CC_Q_DESC : off < CC_Q_USED ? CC_Q_AVAIL : CC_Q_USED;
		uint64_t *p = field == CC_Q_DESC ? &vq->desc : field == CC_Q_AVAIL ? &vq->avail
										: &vq->used;
		*p = merge64(*p, field, off, size, value);
		return;
	}
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("%s: write of common configuration %#llx (size %u): dropped\n",
			   vd->name, (unsigned long long)off, size);
}

static uint64_t vpci_read(void *opaque, uint64_t off, unsigned size)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *vd = vp->vd;

	if (off < VPCI_ISR)
		return common_read(vp, off - VPCI_COMMON, size);
	if (off < VPCI_DEVICE) {
		if (off != VPCI_ISR)
			return 0;
		uint8_t v = vp->isr;
		vp->isr = 0;
		pci_set_irq(vp->pci, 0);
		return v;
	}
	if (off < VPCI_NOTIFY) {
		off -= VPCI_DEVICE;
		if (off + size > vd->config_size)
			return 0;
		return vd->ops->config_read(vd, off, size);
	}
	return 0;	/* notification doorbells read as 0 */
}

static void vpci_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct virtio_pci *vp = opaque;
	struct virtio_dev *vd = vp->vd;

	if (off < VPCI_ISR) {
		common_write(vp, off - VPCI_COMMON, size, value);
	} else if (off < VPCI_DEVICE) {
		/* the ISR is read-only */
	} else if (off < VPCI_NOTIFY) {
		off -= VPCI_DEVICE;
		if (off + size <= vd->config_size && vd->ops->config_write)
			vd->ops->config_write(vd, off, size, value);
	} else {
		uint64_t q = (off - VPCI_NOTIFY) / VPCI_NOTIFY_MULT;
		if (q < (uint64_t)vd->nqueues && virtio_driver_ok(vd) && vd->vq[q].enabled)
			vd->ops->queue_notify(vd, (int)q);
	}
}

static const struct bus_ops vpci_ops = { vpci_read, vpci_write };

/* The access the PCI configuration capability's fields describe, if it is
 * one the window allows: BAR 4, length 1, 2 or 4, naturally aligned,
 * inside the BAR. */
static bool cfg_window(struct virtio_pci *vp, uint32_t *off, unsigned *len)
{
	int c = vp->cfg_cap;
	uint8_t bar = (uint8_t)pci_config_stored(vp->pci, c + 4, 1);
	*off = pci_config_stored(vp->pci, c + 8, 4);
	*len = pci_config_stored(vp->pci, c + 12, 4);
	if (bar == VPCI_BAR && (*len == 1 || *len == 2 || *len == 4) && !(*off & (*len - 1)) &&
	    *off + *len <= VPCI_BAR_SIZE)
		return true;
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("%s: PCI configuration window on BAR %u offset %#x length %u: not "
			   "an access\n", vp->vd->name, bar, *off, *len);
	return false;
}

static bool in_data(struct virtio_pci *vp, int offset, unsigned size)
{
	int data = vp->cfg_cap + 16;
	return offset < data + 4 && offset + (int)size > data;
}

static uint32_t vpci_config_read(void *opaque, int offset, unsigned size, uint32_t stored)
{
	struct virtio_pci *vp = opaque;
	uint32_t off;
	unsigned len;

	if (!in_data(vp, offset, size))
		return stored;
	if (offset != vp->cfg_cap + 16 || !cfg_window(vp, &off, &len) || size != len)
		return stored;
	return (uint32_t)vpci_read(vp, off, len);
}

static void vpci_config_write(void *opaque, int offset, unsigned size, uint32_t value)
{
	struct virtio_pci *vp = opaque;
	uint32_t off;
	unsigned len;

	if (!in_data(vp, offset, size))
		return;
	if (offset != vp->cfg_cap + 16 || !cfg_window(vp, &off, &len) || size != len)
		return;
	vpci_write(vp, off, len, value);
}

static void vpci_reset(void *opaque)
{
	struct virtio_pci *vp = opaque;
	vp->isr = 0;
	virtio_reset(vp->vd);
}

/* struct virtio_pci_cap (4.1.4): 16 bytes, the notify one 20. */
static void add_cap(struct pci_dev *d, uint8_t type, uint32_t offset, uint32_t length,
		    uint32_t notify_mult)
{
	uint8_t c[20] = { PCI_CAP_ID_VNDR, 0, type == CAP_NOTIFY ? 20 : 16, type, VPCI_BAR };
	put32(c + 8, offset);
	put32(c + 12, length);
	put32(c + 16, notify_mult);
	pci_add_capability(d, c, c[2]);
}

int virtio_pci_new(struct virtio_dev *vd, int slot)
{
	static struct virtio_pci vps[8];
	static int nvps;
	struct virtio_pci *vp;

	if (nvps == 8)
		return -1;
	if (slot < 0)
		slot = pci_free_slot();
	if (slot < 0)
		return -1;
	vp = &vps[nvps];
	vp->vd = vd;
	vd->interrupt = vpci_interrupt;
	vd->transport = vp;
	struct pci_device_info info = {
		.name = vd->name,
		.vendor = VIRTIO_PCI_VENDOR,
		.device = VIRTIO_PCI_DEVICE_BASE + vd->device_id,
		.subsystem_vendor = VIRTIO_PCI_VENDOR,
		.subsystem = VIRTIO_PCI_SUBSYS,
		.revision = 1,
		/* network controller / mass storage (SCSI, as QEMU's) / other */
		.class = vd->device_id == 1 ? 0x020000 : vd->device_id == 2 ? 0x010000 : 0xff0000,
		.int_pin = 1,
		.reset = vpci_reset,
		.config_read = vpci_config_read,
		.config_write = vpci_config_write,
		.opaque = vp,
	};
	info.bar[VPCI_BAR] = (struct pci_bar){
		.kind = PCI_BAR_MEM64, .size = VPCI_BAR_SIZE, .prefetchable = true,
		.ops = &vpci_ops, .opaque = vp,
	};
	vp->pci = pci_add_device(slot, &info);
	if (!vp->pci)
		return -1;
	nvps++;
	add_cap(vp->pci, CAP_COMMON, VPCI_COMMON, CC_END, 0);
	add_cap(vp->pci, CAP_ISR, VPCI_ISR, 1, 0);
	add_cap(vp->pci, CAP_DEVICE, VPCI_DEVICE, vd->config_size, 0);
	add_cap(vp->pci, CAP_NOTIFY, VPCI_NOTIFY, VPCI_NOTIFY_MULT * vd->nqueues, VPCI_NOTIFY_MULT);
	/* The configuration access window: bar, offset, length and data are
	 * the driver's to write. */
	uint8_t c[20] = { PCI_CAP_ID_VNDR, 0, 20, CAP_PCI_CFG };
	vp->cfg_cap = pci_add_capability(vp->pci, c, sizeof(c));
	pci_config_writable(vp->pci, vp->cfg_cap + 4, 1);
	pci_config_writable(vp->pci, vp->cfg_cap + 8, 12);
	vpci_reset(vp);
	return slot;
}
