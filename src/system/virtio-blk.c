/*
 * virtio-blk over a raw image file (virtio-blk.h; virtio 1.0, 5.2).
 *
 * A request is one chain: a 16-byte header { le32 type; le32 reserved;
 * le64 sector } in the readable part, the data (readable for a write,
 * writable for a read or GET_ID), and one writable status byte at the very
 * end.  The used length is what the device wrote: the data read plus the
 * status byte.  A chain too short to hold a header and a status byte
 * cannot be answered properly: it is returned with nothing written and
 * logged under -d guest_errors.
 */
#include "system/virtio-blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "system/virtio.h"
#include "system/virtio-pci.h"
#include "util/log.h"

#define VIRTIO_ID_BLOCK		2

#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8

#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2

#define VIRTIO_BLK_ID_BYTES	20
#define BLK_SECTOR		512
#define BLK_SEG_MAX		(VIRTIO_QUEUE_SIZE - 2)	/* header and status take two */
#define BLK_MAX_REQUEST		(64u << 20)		/* bytes of data in one request */
#define BLK_CONFIG_SIZE		24

struct vblk {
	struct virtio_dev vd;
	int fd;
	bool readonly;
	uint64_t sectors;
	char serial[VIRTIO_BLK_ID_BYTES];
	const char *file;
	struct virtq_elem elem;		/* too big for the stack of a device call */
};

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint64_t vblk_config_read(struct virtio_dev *vd, uint64_t off, unsigned size)
{
	struct vblk *b = vd->opaque;
	uint8_t img[BLK_CONFIG_SIZE] = { 0 };
	uint64_t v = 0;

	put64(img + 0, b->sectors);		/* capacity */
	put32(img + 12, BLK_SEG_MAX);		/* seg_max */
	put32(img + 20, BLK_SECTOR);		/* blk_size */
	memcpy(&v, img + off, size);
	return v;
}

static bool in_disk(const struct vblk *b, uint64_t sector, uint64_t len)
{
	return sector <= b->sectors && len <= (b->sectors - sector) * BLK_SECTOR;
}

/* Serve one request; returns the status and adds the bytes of data
 * written into the chain to *written. */
static uint8_t vblk_request(struct vblk *b, const struct virtq_elem *e, uint32_t type,
			    uint64_t sector, uint32_t *written)
{
	uint64_t in_data = e->in_len - 1, out_data = e->out_len - 16;
	uint8_t *buf;
	uint8_t status = VIRTIO_BLK_S_OK;

	switch (type) {
	case VIRTIO_BLK_T_IN:
		if (!in_disk(b, sector, in_data) || in_data > BLK_MAX_REQUEST)
			return VIRTIO_BLK_S_IOERR;
		buf = malloc(in_data ? in_data : 1);
		if (!buf)
			return VIRTIO_BLK_S_IOERR;
		if (pread(b->fd, buf, in_data, (off_t)(sector * BLK_SECTOR)) != (ssize_t)in_data ||
		    virtq_write_in(e, 0, buf, in_data) != (long)in_data)
			status = VIRTIO_BLK_S_IOERR;
		else
			*written += (uint32_t)in_data;
		free(buf);
		return status;
	case VIRTIO_BLK_T_OUT:
		if (b->readonly || !in_disk(b, sector, out_data) || out_data > BLK_MAX_REQUEST)
			return VIRTIO_BLK_S_IOERR;
		buf = malloc(out_data ? out_data : 1);
		if (!buf)
			return VIRTIO_BLK_S_IOERR;
		if (virtq_read_out(e, 16, buf, out_data) != (long)out_data ||
		    pwrite(b->fd, buf, out_data, (off_t)(sector * BLK_SECTOR)) != (ssize_t)out_data)
			status = VIRTIO_BLK_S_IOERR;
		free(buf);
		return status;
	case VIRTIO_BLK_T_FLUSH:
		return !b->readonly && fdatasync(b->fd) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t n = in_data < VIRTIO_BLK_ID_BYTES ? in_data : VIRTIO_BLK_ID_BYTES;
		if (virtq_write_in(e, 0, b->serial, n) != (long)n)
			return VIRTIO_BLK_S_IOERR;
		*written += (uint32_t)n;
		return VIRTIO_BLK_S_OK;
	}
	default:
		if (log_enabled(LOG_UNIMP))
			log_printf("%s: request type %u not supported\n", b->vd.name, type);
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void vblk_notify(struct virtio_dev *vd, int q)
{
	struct vblk *b = vd->opaque;
	struct virtq_elem *e = &b->elem;
	bool done = false;

	while (virtq_pop(vd, q, e) > 0) {
		uint8_t hdr[16];
		uint32_t type, written = 0;
		uint64_t sector;

		if (e->in_len < 1 || virtq_read_out(e, 0, hdr, 16) != 16) {
			if (log_enabled(LOG_GUEST_ERRORS))
				log_printf("%s: request without header or status byte\n", vd->name);
			virtq_push(vd, q, e, 0);
			done = true;
			continue;
		}
		memcpy(&type, hdr, 4);
		memcpy(&sector, hdr + 8, 8);
		uint8_t status = vblk_request(b, e, type, sector, &written);
		if (status == VIRTIO_BLK_S_IOERR && log_enabled(LOG_GUEST_ERRORS))
			log_printf("%s: request type %u sector %llu: I/O error (%s)\n", vd->name, type,
				   (unsigned long long)sector, b->file);
		/* The status byte is the last byte of the writable part. */
		virtq_write_in(e, e->in_len - 1, &status, 1);
		virtq_push(vd, q, e, written + 1);
		done = true;
	}
	if (done)
		virtq_notify(vd, q);
}

static const struct virtio_dev_ops vblk_ops = {
	.queue_notify = vblk_notify,
	.config_read = vblk_config_read,
};

int virtio_blk_new(const struct virtio_blk_config *cfg, char *err, size_t errlen)
{
	struct vblk *b = calloc(1, sizeof(*b));
	struct stat st;

	if (!b)
		internal_error("virtio-blk: out of memory");
	b->file = cfg->file;
	b->readonly = cfg->readonly;
	b->fd = open(cfg->file, (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0 || fstat(b->fd, &st) < 0) {
		snprintf(err, errlen, "-drive file=%s: %s", cfg->file, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "-drive file=%s: not a regular file", cfg->file);
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(b->fd, 0, SEEK_END);
		st.st_size = end < 0 ? 0 : end;
	}
	b->sectors = (uint64_t)st.st_size / BLK_SECTOR;
	if (cfg->serial)	/* NUL-padded, not NUL-terminated at 20 */
		memcpy(b->serial, cfg->serial, strnlen(cfg->serial, sizeof(b->serial)));
	b->vd = (struct virtio_dev){
		.name = "virtio-blk",
		.device_id = VIRTIO_ID_BLOCK,
		.host_features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC |
				 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
				 1ull << VIRTIO_BLK_F_FLUSH |
				 (cfg->readonly ? 1ull << VIRTIO_BLK_F_RO : 0),
		.nqueues = 1,
		.config_size = BLK_CONFIG_SIZE,
		.ops = &vblk_ops,
		.opaque = b,
	};
	if (virtio_pci_new(&b->vd, -1) < 0) {
		snprintf(err, errlen, "-drive file=%s: no room on the PCI bus", cfg->file);
		goto fail;
	}
	return 0;
fail:
	if (b->fd >= 0)
		close(b->fd);
	free(b);
	return -1;
}
