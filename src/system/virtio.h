/*
 * Virtio 1.0 devices (OASIS "Virtual I/O Device (VIRTIO) Version 1.0"):
 * the state every device has (features, status, its split virtqueues) and
 * the virtqueue operations a device model uses, independent of the
 * transport.  virtio-pci.c puts a device on the PCI bus; virtio-blk.c and
 * virtio-net.c are the device models.
 *
 * Guest memory (rings, descriptor tables, buffers) is reached only through
 * physmem_read/physmem_write: the addresses are guest-physical, and a
 * device's write into a page with translated code invalidates it.  A ring
 * the guest corrupted (a descriptor loop, a buffer outside memory) puts the
 * device in DEVICE_NEEDS_RESET and is logged under -d guest_errors; it
 * never stops the machine.
 *
 * Offered and handled: VIRTIO_F_VERSION_1 (required of the driver) and
 * indirect descriptors; not event-index suppression (the avail ring's
 * NO_INTERRUPT flag is honoured).
 */
#ifndef LOOM_SYSTEM_VIRTIO_H
#define LOOM_SYSTEM_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_F_INDIRECT_DESC	28
#define VIRTIO_F_EVENT_IDX	29
#define VIRTIO_F_VERSION_1	32

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	64
#define VIRTIO_STATUS_FAILED		128

/* Interrupt status bits (4.1.4.5). */
#define VIRTIO_ISR_QUEUE	1
#define VIRTIO_ISR_CONFIG	2

#define VIRTIO_MAX_QUEUES	4
#define VIRTIO_QUEUE_SIZE	256	/* every queue's maximum size */
/* The longest descriptor chain a device takes (direct and indirect). */
#define VIRTQ_MAX_SEGS		(VIRTIO_QUEUE_SIZE + 4)

struct virtqueue {
	uint16_t size;			/* the driver's choice, a power of 2 */
	bool enabled;
	uint64_t desc, avail, used;	/* guest-physical */
	uint16_t last_avail;		/* the next avail ring entry to take */
	uint16_t used_idx;		/* the next used ring entry to fill */
};

/* One chain popped from a queue: the device-readable segments first
 * (nout), then the device-writable ones (nin). */
struct virtq_elem {
	uint16_t head;
	unsigned nout, nin;
	uint64_t out_len, in_len;
	struct virtq_seg {
		uint64_t addr;
		uint32_t len;
	} seg[VIRTQ_MAX_SEGS];
};

struct virtio_dev;

struct virtio_dev_ops {
	/* The driver made buffers available on queue q. */
	void (*queue_notify)(struct virtio_dev *vd, int q);
	/* The device-specific configuration (size 1, 2, 4 within it). */
	uint64_t (*config_read)(struct virtio_dev *vd, uint64_t offset, unsigned size);
	void (*config_write)(struct virtio_dev *vd, uint64_t offset, unsigned size,
			     uint64_t value);
	/* Back to the state after power-on (the driver wrote status 0, or
	 * the machine reset); the common state is already cleared. */
	void (*reset)(struct virtio_dev *vd);
	/* The driver set DRIVER_OK: queues may now be used. */
	void (*driver_ok)(struct virtio_dev *vd);
};

struct virtio_dev {
	const char *name;		/* for logs: "virtio-blk" */
	uint16_t device_id;		/* 1 network, 2 block (5) */
	uint64_t host_features;
	uint64_t guest_features;
	uint32_t device_feature_select, driver_feature_select;
	uint8_t status;
	uint8_t config_generation;
	uint16_t queue_select;
	int nqueues;
	struct virtqueue vq[VIRTIO_MAX_QUEUES];
	uint32_t config_size;		/* bytes of device-specific configuration */
	const struct virtio_dev_ops *ops;
	void *opaque;			/* the device model's */
	/* The transport's interrupt: set bits in the ISR and assert it. */
	void (*interrupt)(struct virtio_dev *vd, uint8_t isr);
	void *transport;
};

/* Clear the common state (status, features, queues) and call the model's
 * reset. */
void virtio_reset(struct virtio_dev *vd);
/* The driver wrote the status register: FEATURES_OK stays only if the
 * features it accepted are a subset of the offer and include VERSION_1;
 * 0 resets the device. */
void virtio_set_status(struct virtio_dev *vd, uint8_t status);
bool virtio_driver_ok(const struct virtio_dev *vd);

/* Take the next available chain of queue q: 1 with *elem filled, 0 when
 * none is available, -1 when the ring is corrupt (the device is then
 * marked DEVICE_NEEDS_RESET). */
int virtq_pop(struct virtio_dev *vd, int q, struct virtq_elem *elem);
/* Return a chain to the driver with len bytes written into its in part. */
void virtq_push(struct virtio_dev *vd, int q, const struct virtq_elem *elem, uint32_t len);
/* Interrupt the driver for queue q unless it asked not to be. */
void virtq_notify(struct virtio_dev *vd, int q);
/* Whether queue q has a chain available (without taking it). */
bool virtq_has_buffers(struct virtio_dev *vd, int q);

/* Copy between a buffer and the out (device-readable) or in (writable)
 * part of a chain, from offset bytes into that part.  Return the bytes
 * copied (fewer at the part's end), or -1 if guest memory failed. */
long virtq_read_out(const struct virtq_elem *elem, uint64_t offset, void *buf, size_t len);
long virtq_write_in(const struct virtq_elem *elem, uint64_t offset, const void *buf, size_t len);

#endif
