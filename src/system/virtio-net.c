/*
 * virtio-net (virtio-net.h; virtio 1.0, 5.1): queue 0 receives, queue 1
 * transmits.  Transmission is synchronous: a doorbell on queue 1 hands
 * every waiting frame to the network at once, whose answers (ARP, a TCP
 * ACK) may come back into queue 0 before the doorbell write returns.  A
 * frame for the guest with no receive buffer waits in the network's queue
 * until the driver adds buffers and rings queue 0's doorbell.
 */
#include "system/virtio-net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "system/net-user.h"
#include "system/virtio.h"
#include "system/virtio-pci.h"
#include "util/log.h"

#define VIRTIO_ID_NET		1
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_STATUS	16
#define VIRTIO_NET_S_LINK_UP	1

#define VNET_RX			0
#define VNET_TX			1
#define VNET_HDR_LEN		12	/* virtio_net_hdr with num_buffers */
#define VNET_MAX_FRAME		65536
#define VNET_CONFIG_SIZE	8	/* mac[6], le16 status */

struct vnet {
	struct virtio_dev vd;
	uint8_t mac[6];
	struct net_user *nu;
	struct virtq_elem elem;
	uint8_t frame[VNET_HDR_LEN + VNET_MAX_FRAME];
};

static uint64_t vnet_config_read(struct virtio_dev *vd, uint64_t off, unsigned size)
{
	struct vnet *n = vd->opaque;
	uint8_t img[VNET_CONFIG_SIZE];
	uint64_t v = 0;

	memcpy(img, n->mac, 6);
	img[6] = VIRTIO_NET_S_LINK_UP;
	img[7] = 0;
	memcpy(&v, img + off, size);
	return v;
}

/* A frame from the network: into the next receive buffer, if any. */
static bool vnet_receive(void *opaque, const uint8_t *frame, size_t len)
{
	struct vnet *n = opaque;
	struct virtq_elem *e = &n->elem;
	uint8_t hdr[VNET_HDR_LEN] = { 0 };

	hdr[10] = 1;	/* num_buffers */
	int r = virtq_pop(&n->vd, VNET_RX, e);
	if (r <= 0)
		return r < 0;	/* none: the frame waits; a broken ring: dropped */
	if (e->in_len < VNET_HDR_LEN + len) {
		/* Too small for this frame: dropped, the buffer returned unused. */
		if (log_enabled(LOG_GUEST_ERRORS))
			log_printf("virtio-net: a %zu-byte frame does not fit a %llu-byte receive "
				   "buffer: dropped\n", len, (unsigned long long)e->in_len);
		len = 0;
	} else if (virtq_write_in(e, 0, hdr, VNET_HDR_LEN) != VNET_HDR_LEN ||
		   virtq_write_in(e, VNET_HDR_LEN, frame, len) != (long)len) {
		len = 0;
	}
	virtq_push(&n->vd, VNET_RX, e, len ? (uint32_t)(VNET_HDR_LEN + len) : 0);
	virtq_notify(&n->vd, VNET_RX);
	return true;
}

static void vnet_transmit(struct vnet *n)
{
	struct virtq_elem *e = &n->elem;
	bool done = false;

	while (virtq_pop(&n->vd, VNET_TX, e) > 0) {
		uint64_t len = e->out_len;
		done = true;
		if (len < VNET_HDR_LEN || len > sizeof(n->frame) ||
		    virtq_read_out(e, 0, n->frame, len) != (long)len) {
			if (log_enabled(LOG_GUEST_ERRORS))
				log_printf("virtio-net: bad transmit chain (%llu bytes): dropped\n",
					   (unsigned long long)len);
			virtq_push(&n->vd, VNET_TX, e, 0);
			continue;
		}
		/* The buffer goes back before the frame is sent: the answer may
		 * need the (shared) element. */
		virtq_push(&n->vd, VNET_TX, e, 0);
		net_user_send(n->nu, n->frame + VNET_HDR_LEN, len - VNET_HDR_LEN);
	}
	if (done)
		virtq_notify(&n->vd, VNET_TX);
}

static void vnet_notify(struct virtio_dev *vd, int q)
{
	struct vnet *n = vd->opaque;
	if (q == VNET_TX)
		vnet_transmit(n);
	else
		net_user_flush(n->nu);
}

static void vnet_driver_ok(struct virtio_dev *vd)
{
	struct vnet *n = vd->opaque;
	net_user_flush(n->nu);
}

static const struct virtio_dev_ops vnet_ops = {
	.queue_notify = vnet_notify,
	.config_read = vnet_config_read,
	.driver_ok = vnet_driver_ok,
};

int virtio_net_new(const uint8_t mac[6], struct net_user *nu, char *err, size_t errlen)
{
	struct vnet *n = calloc(1, sizeof(*n));
	if (!n)
		internal_error("virtio-net: out of memory");
	memcpy(n->mac, mac, 6);
	n->nu = nu;
	n->vd = (struct virtio_dev){
		.name = "virtio-net",
		.device_id = VIRTIO_ID_NET,
		.host_features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC |
				 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS,
		.nqueues = 2,
		.config_size = VNET_CONFIG_SIZE,
		.ops = &vnet_ops,
		.opaque = n,
	};
	if (virtio_pci_new(&n->vd, -1) < 0) {
		snprintf(err, errlen, "-nic: no room on the PCI bus");
		free(n);
		return -1;
	}
	net_user_attach(nu, vnet_receive, n);
	return 0;
}
