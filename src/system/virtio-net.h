/*
 * A virtio-net NIC (virtio 1.0, 5.1) on a user-mode network (net-user.h):
 * one receive and one transmit queue, the MAC address and link status in
 * its configuration, no offloads (the guest checksums and segments), no
 * control queue.  Every frame carries the 12-byte virtio_net_hdr; received
 * frames get an all-zero header with num_buffers = 1.
 */
#ifndef LOOM_SYSTEM_VIRTIO_NET_H
#define LOOM_SYSTEM_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

struct net_user;

/* Put a NIC with this MAC on the PCI bus, attached to nu.  0, or -1 with
 * one line in err. */
int virtio_net_new(const uint8_t mac[6], struct net_user *nu, char *err, size_t errlen);

#endif
