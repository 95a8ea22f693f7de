/*
 * A virtio-blk disk (virtio 1.0, 5.2) backed by a raw image file:
 * qemu-system's -drive file=IMG,format=raw,if=virtio[,readonly=on]
 * [,serial=S].  One request queue; reads, writes, flushes (fdatasync) and
 * GET_ID (the serial, NUL-padded to 20 bytes).  The capacity is the file's
 * size in 512-byte sectors, taken when the drive opens.  A request the file
 * cannot serve (outside the disk, a failed read or write, a write to a
 * read-only drive) completes with VIRTIO_BLK_S_IOERR; an unknown type with
 * VIRTIO_BLK_S_UNSUPP.  I/O is synchronous, on the vCPU's thread.
 */
#ifndef LOOM_SYSTEM_VIRTIO_BLK_H
#define LOOM_SYSTEM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>

struct virtio_blk_config {
	const char *file;
	bool readonly;
	const char *serial;		/* NULL: empty */
};

/* Open the image and put the disk on the PCI bus.  0, or -1 with one line
 * in err. */
int virtio_blk_new(const struct virtio_blk_config *cfg, char *err, size_t errlen);

#endif
