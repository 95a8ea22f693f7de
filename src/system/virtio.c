/*
 * Virtio's common device state and the split virtqueue (virtio.h; virtio
 * 1.0, 2.4 "Virtqueues").
 *
 * Layout in guest memory, all little-endian:
 *   descriptor table: size x { le64 addr; le32 len; le16 flags; le16 next }
 *   available ring:   le16 flags; le16 idx; le16 ring[size]; (le16 used_event)
 *   used ring:        le16 flags; le16 idx; { le32 id; le32 len }[size]; (le16 avail_event)
 * The driver owns the available ring and the descriptors it made
 * available; the device owns the used ring.  Indexes run free modulo 2^16.
 *
 * The device reads the driver's idx once per pop and never trusts a
 * descriptor: a next index out of the table, a chain longer than the table
 * (a loop), a readable descriptor after a writable one or a nested
 * indirect table is a corrupt ring.
 */
#include "system/virtio.h"

#include <string.h>

#include "system/physmem.h"
#include "util/log.h"

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static bool rd16(uint64_t pa, uint16_t *v) { return physmem_read(pa, v, 2); }

void virtio_reset(struct virtio_dev *vd)
{
	vd->guest_features = 0;
	vd->device_feature_select = vd->driver_feature_select = 0;
	vd->status = 0;
	vd->queue_select = 0;
	for (int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vd->vq[q] = (struct virtqueue){ .size = VIRTIO_QUEUE_SIZE };
	if (vd->ops->reset)
		vd->ops->reset(vd);
}

void virtio_set_status(struct virtio_dev *vd, uint8_t status)
{
	if (!status) {
		virtio_reset(vd);
		return;
	}
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(vd->status & VIRTIO_STATUS_FEATURES_OK)) {
		/* 3.1.1: the device refuses what it did not offer; and a
		 * modern-only device has no legacy interface to fall back to. */
		if ((vd->guest_features & ~vd->host_features) ||
		    !(vd->guest_features & (1ull << VIRTIO_F_VERSION_1))) {
			if (log_enabled(LOG_GUEST_ERRORS))
				log_printf("%s: driver features %#llx refused (offer %#llx)\n",
					   vd->name, (unsigned long long)vd->guest_features,
					   (unsigned long long)vd->host_features);
			status &= ~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	bool was_ok = vd->status & VIRTIO_STATUS_DRIVER_OK;
	vd->status = status | (vd->status & VIRTIO_STATUS_NEEDS_RESET);
	if (!was_ok && (status & VIRTIO_STATUS_DRIVER_OK) && vd->ops->driver_ok)
		vd->ops->driver_ok(vd);
}

bool virtio_driver_ok(const struct virtio_dev *vd)
{
	return (vd->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(vd->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* The ring is corrupt: stop using the device until the driver resets it,
 * and tell it through a configuration interrupt (2.1.2). */
static int vq_broken(struct virtio_dev *vd, int q, const char *why)
{
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("%s: queue %d: %s: device needs reset\n", vd->name, q, why);
	vd->status |= VIRTIO_STATUS_NEEDS_RESET;
	vd->interrupt(vd, VIRTIO_ISR_CONFIG);
	return -1;
}

static bool vq_usable(struct virtio_dev *vd, int q)
{
	return q >= 0 && q < vd->nqueues && vd->vq[q].enabled && virtio_driver_ok(vd);
}

bool virtq_has_buffers(struct virtio_dev *vd, int q)
{
	uint16_t idx;

	if (!vq_usable(vd, q) || !rd16(vd->vq[q].avail + 2, &idx))
		return false;
	return idx != vd->vq[q].last_avail;
}

static bool read_desc(uint64_t table, unsigned i, struct vring_desc *d)
{
	uint8_t raw[16];
	if (!physmem_read(table + 16ull * i, raw, 16))
		return false;
	memcpy(&d->addr, raw, 8);
	memcpy(&d->len, raw + 8, 4);
	memcpy(&d->flags, raw + 12, 2);
	memcpy(&d->next, raw + 14, 2);
	return true;
}

/* Append one buffer to elem, in order: readable ones may not follow a
 * writable one. */
static const char *add_seg(struct virtq_elem *elem, const struct vring_desc *d)
{
	if (elem->nout + elem->nin == VIRTQ_MAX_SEGS)
		return "descriptor chain too long";
	if (d->flags & VRING_DESC_F_WRITE) {
		elem->seg[elem->nout + elem->nin++] = (struct virtq_seg){ d->addr, d->len };
		elem->in_len += d->len;
	} else {
		if (elem->nin)
			return "readable descriptor after a writable one";
		elem->seg[elem->nout++] = (struct virtq_seg){ d->addr, d->len };
		elem->out_len += d->len;
	}
	return NULL;
}

/* Walk a chain starting at descriptor i of a table of n entries. */
static const char *walk(struct virtio_dev *vd, uint64_t table, unsigned n, unsigned i,
			bool indirect, struct virtq_elem *elem)
{
	struct vring_desc d;
	const char *why;

	for (unsigned steps = 0;; steps++) {
		if (i >= n)
			return "descriptor index out of the table";
		if (steps >= n)
			return "descriptor chain loops";
		if (!read_desc(table, i, &d))
			return "descriptor table outside memory";
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect)
				return "nested indirect table";
			if (!(vd->guest_features & (1ull << VIRTIO_F_INDIRECT_DESC)))
				return "indirect descriptor not negotiated";
			if (d.len % 16 || !d.len || d.len / 16 > VIRTQ_MAX_SEGS)
				return "bad indirect table length";
			why = walk(vd, d.addr, d.len / 16, 0, true, elem);
			if (why)
				return why;
		} else if ((why = add_seg(elem, &d))) {
			return why;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return NULL;
		if (d.flags & VRING_DESC_F_INDIRECT)
			return "indirect descriptor with NEXT";
		i = d.next;
	}
}

int virtq_pop(struct virtio_dev *vd, int q, struct virtq_elem *elem)
{
	struct virtqueue *vq = &vd->vq[q];
	uint16_t idx, head;
	const char *why;

	if (!vq_usable(vd, q))
		return 0;
	if (!rd16(vq->avail + 2, &idx))
		return vq_broken(vd, q, "available ring outside memory");
	if (idx == vq->last_avail)
		return 0;
	if ((uint16_t)(idx - vq->last_avail) > vq->size)
		return vq_broken(vd, q, "available index ran ahead of the ring");
	if (!rd16(vq->avail + 4 + 2ull * (vq->last_avail % vq->size), &head))
		return vq_broken(vd, q, "available ring outside memory");
	elem->head = head;
	elem->nout = elem->nin = 0;
	elem->out_len = elem->in_len = 0;
	why = walk(vd, vq->desc, vq->size, head, false, elem);
	if (why)
		return vq_broken(vd, q, why);
	vq->last_avail++;
	return 1;
}

void virtq_push(struct virtio_dev *vd, int q, const struct virtq_elem *elem, uint32_t len)
{
	struct virtqueue *vq = &vd->vq[q];
	uint32_t ent[2] = { elem->head, len };

	if (!physmem_write(vq->used + 4 + 8ull * (vq->used_idx % vq->size), ent, 8)) {
		vq_broken(vd, q, "used ring outside memory");
		return;
	}
	vq->used_idx++;
	/* The entry is in place before the index that publishes it (one
	 * thread: program order is enough). */
	physmem_write(vq->used + 2, &vq->used_idx, 2);
}

void virtq_notify(struct virtio_dev *vd, int q)
{
	uint16_t flags = 0;

	if (!rd16(vd->vq[q].avail, &flags) || !(flags & VRING_AVAIL_F_NO_INTERRUPT))
		vd->interrupt(vd, VIRTIO_ISR_QUEUE);
}

/* Copy between buf and segments [first, first+count) of elem from offset
 * into them. */
static long copy_segs(const struct virtq_elem *elem, unsigned first, unsigned count,
		      uint64_t offset, void *buf, size_t len, bool to_guest)
{
	size_t done = 0;

	for (unsigned i = first; i < first + count && done < len; i++) {
		const struct virtq_seg *s = &elem->seg[i];
		if (offset >= s->len) {
			offset -= s->len;
			continue;
		}
		size_t n = s->len - offset;
		if (n > len - done)
			n = len - done;
		bool ok = to_guest ? physmem_write(s->addr + offset, (char *)buf + done, n)
				   : physmem_read(s->addr + offset, (char *)buf + done, n);
		if (!ok)
			return -1;
		done += n;
		offset = 0;
	}
	return (long)done;
}

long virtq_read_out(const struct virtq_elem *elem, uint64_t offset, void *buf, size_t len)
{
	return copy_segs(elem, 0, elem->nout, offset, buf, len, false);
}

long virtq_write_in(const struct virtq_elem *elem, uint64_t offset, const void *buf, size_t len)
{
	return copy_segs(elem, elem->nout, elem->nin, offset, (void *)buf, len, true);
}
