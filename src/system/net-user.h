/*
 * User-mode networking (QEMU's -netdev user) through libslirp: the guest's
 * Ethernet frames go into a slirp stack in this process, which answers
 * ARP, DHCP and DNS itself and turns TCP/UDP flows into host sockets.  The
 * network is QEMU's default: 10.0.2.0/24, the gateway (the host) 10.0.2.2,
 * DNS 10.0.2.3, DHCP handing out 10.0.2.15 first.  hostfwd rules listen
 * on host ports and connect to the guest.
 *
 * Time: slirp's timers (TCP retransmission, delayed ACKs) run on the
 * host's monotonic clock: its peers are host sockets, which do not stop
 * with the machine.  Its sockets and timers are served from the vCPU loop
 * (net_user_poll_fill/net_user_poll_ready around the loop's ppoll), so a
 * halted guest waits in that ppoll and costs no CPU.  One thread: no
 * locks.
 */
#ifndef LOOM_SYSTEM_NET_USER_H
#define LOOM_SYSTEM_NET_USER_H

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_USER_MAX_FWD 16

struct net_hostfwd {
	bool udp;
	struct in_addr host_addr;	/* 0: any */
	int host_port;
	struct in_addr guest_addr;	/* 0: the DHCP address */
	int guest_port;
};

struct net_user_config {
	struct net_hostfwd fwd[NET_USER_MAX_FWD];
	int nfwd;
};

struct net_user;

/* Start a network and its forwarding rules.  NULL with one line in err
 * (a host port already taken, say). */
struct net_user *net_user_new(const struct net_user_config *cfg, char *err, size_t errlen);
/* Where frames for the guest go (the NIC's receive); the NIC says when it
 * can take them again with net_user_flush. */
void net_user_attach(struct net_user *nu, bool (*receive)(void *opaque, const uint8_t *frame,
							   size_t len), void *opaque);
/* A frame from the guest. */
void net_user_send(struct net_user *nu, const uint8_t *frame, size_t len);
/* The NIC has room again: hand it the frames queued meanwhile. */
void net_user_flush(struct net_user *nu);

/* For the vCPU loop: add every network's fds to fds[0, max) and lower
 * *timeout_ns (-1: none) to the next timer; returns the fds added. */
int net_user_poll_fill(struct pollfd *fds, int max, int64_t *timeout_ns);
/* After ppoll: serve the fds filled (fds as filled) and the due timers. */
void net_user_poll_ready(struct pollfd *fds, int n);

#endif
