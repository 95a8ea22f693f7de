/*
 * User-mode networking through libslirp (net-user.h).
 *
 * slirp calls back into this file for everything it needs from its host:
 * the clock, timers, and a way to send frames to the guest.  Frames it
 * produces while the NIC has no receive buffers wait in a short queue
 * (NET_USER_QUEUE frames; older ones are kept, newer ones dropped, as a
 * full NIC would) until the NIC calls net_user_flush; TCP recovers from
 * the drops.
 *
 * Polling: slirp_pollfds_fill adds the sockets it wants watched and lowers
 * the timeout to its next TCP timer (at most a second while nothing is
 * pending); slirp_pollfds_poll must follow every fill, whatever ppoll
 * returned, because it also runs those timers.
 */
#include "system/net-user.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

#define NET_USER_QUEUE	128
#define NET_USER_MAX	8

struct nu_timer {
	struct net_user *nu;
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms;	/* -1: not armed */
	struct nu_timer *next;
};

struct nu_frame {
	size_t len;
	uint8_t *data;
};

struct net_user {
	Slirp *slirp;
	bool (*receive)(void *opaque, const uint8_t *frame, size_t len);
	void *opaque;
	struct nu_frame queue[NET_USER_QUEUE];
	unsigned qhead, qlen;
	struct nu_timer *timers;
	/* the fds this network filled in the current poll round */
	struct pollfd *fds;
	int first, nfds, max;
};

static struct net_user *nets[NET_USER_MAX];
static int nnets;

static int64_t host_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* ---- slirp's callbacks ------------------------------------------------------ */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_user *nu = opaque;

	/* Frames already waiting go first, in order. */
	if (!nu->qlen && nu->receive && nu->receive(nu->opaque, buf, len))
		return (ssize_t)len;
	if (nu->qlen == NET_USER_QUEUE)
		return (ssize_t)len;	/* dropped: the NIC is full */
	uint8_t *copy = malloc(len);
	if (!copy)
		return (ssize_t)len;
	memcpy(copy, buf, len);
	nu->queue[(nu->qhead + nu->qlen++) % NET_USER_QUEUE] = (struct nu_frame){ len, copy };
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("net-user: %s\n", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct net_user *nu = opaque;
	struct nu_timer *t = calloc(1, sizeof(*t));
	if (!t)
		internal_error("net-user: out of memory");
	*t = (struct nu_timer){ nu, id, cb_opaque, -1, nu->timers };
	nu->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct net_user *nu = opaque;
	for (struct nu_timer **p = &nu->timers; *p; p = &(*p)->next)
		if (*p == timer) {
			*p = ((struct nu_timer *)timer)->next;
			free(timer);
			return;
		}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	((struct nu_timer *)timer)->expire_ms = expire_ms;
}

static void cb_register_poll_fd(int fd, void *opaque) {}
static void cb_unregister_poll_fd(int fd, void *opaque) {}
/* More room in a TCP buffer: the next poll round sees it. */
static void cb_notify(void *opaque) {}

static const SlirpCb nu_callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* ---- The network ------------------------------------------------------------ */

struct net_user *net_user_new(const struct net_user_config *cfg, char *err, size_t errlen)
{
	if (nnets == NET_USER_MAX) {
		snprintf(err, errlen, "-nic/-netdev: at most %d user networks", NET_USER_MAX);
		return NULL;
	}
	struct net_user *nu = calloc(1, sizeof(*nu));
	if (!nu)
		internal_error("net-user: out of memory");
	SlirpConfig sc = {
		.version = 4,
		.in_enabled = true,
		.if_mtu = 0,	/* slirp's default, 1500 */
	};
	inet_pton(AF_INET, "10.0.2.0", &sc.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &sc.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &sc.vhost);
	inet_pton(AF_INET, "10.0.2.15", &sc.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &sc.vnameserver);
	/* slirp writes to host sockets whose peer may have gone (a client
	 * that gave up): that must be EPIPE for slirp, not a SIGPIPE that
	 * ends the machine (QEMU ignores it too). */
	signal(SIGPIPE, SIG_IGN);
	nu->slirp = slirp_new(&sc, &nu_callbacks, nu);
	if (!nu->slirp) {
		snprintf(err, errlen, "-nic/-netdev user: cannot start user networking");
		free(nu);
		return NULL;
	}
	for (int i = 0; i < cfg->nfwd; i++) {
		const struct net_hostfwd *f = &cfg->fwd[i];
		struct in_addr guest = f->guest_addr;
		if (!guest.s_addr)
			guest = sc.vdhcp_start;
		if (slirp_add_hostfwd(nu->slirp, f->udp, f->host_addr, f->host_port, guest,
				      f->guest_port) < 0) {
			char host[INET_ADDRSTRLEN], gst[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &f->host_addr, host, sizeof(host));
			inet_ntop(AF_INET, &guest, gst, sizeof(gst));
			snprintf(err, errlen, "hostfwd=%s:%s:%d-%s:%d: cannot listen on the host "
				 "port: %s", f->udp ? "udp" : "tcp", host, f->host_port, gst,
				 f->guest_port, strerror(errno));
			slirp_cleanup(nu->slirp);
			free(nu);
			return NULL;
		}
	}
	nets[nnets++] = nu;
	return nu;
}

void net_user_attach(struct net_user *nu, bool (*receive)(void *, const uint8_t *, size_t),
		     void *opaque)
{
	nu->receive = receive;
	nu->opaque = opaque;
}

void net_user_send(struct net_user *nu, const uint8_t *frame, size_t len)
{
	slirp_input(nu->slirp, frame, (int)len);
}

void net_user_flush(struct net_user *nu)
{
	while (nu->qlen && nu->receive) {
		struct nu_frame *f = &nu->queue[nu->qhead];
		if (!nu->receive(nu->opaque, f->data, f->len))
			return;
		free(f->data);
		nu->qhead = (nu->qhead + 1) % NET_USER_QUEUE;
		nu->qlen--;
	}
}

/* ---- Polling ---------------------------------------------------------------- */

static int add_poll(int fd, int events, void *opaque)
{
	struct net_user *nu = opaque;
	if (nu->first + nu->nfds == nu->max)
		return -1;	/* no room this round: slirp skips the socket */
	short ev = 0;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	nu->fds[nu->first + nu->nfds] = (struct pollfd){ .fd = fd, .events = ev };
	return nu->nfds++;
}

static int get_revents(int idx, void *opaque)
{
	struct net_user *nu = opaque;
	short r = nu->fds[nu->first + idx].revents;
	int ev = 0;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

int net_user_poll_fill(struct pollfd *fds, int max, int64_t *timeout_ns)
{
	int n = 0;
	int64_t now = host_ms();

	for (int i = 0; i < nnets; i++) {
		struct net_user *nu = nets[i];
		uint32_t ms = *timeout_ns < 0 ? UINT32_MAX :
			      (uint32_t)((*timeout_ns + 999999) / 1000000);
		nu->fds = fds;
		nu->first = n;
		nu->nfds = 0;
		nu->max = max;
		slirp_pollfds_fill(nu->slirp, &ms, add_poll, nu);
		n += nu->nfds;
		for (struct nu_timer *t = nu->timers; t; t = t->next)
			if (t->expire_ms >= 0) {
				int64_t d = t->expire_ms > now ? t->expire_ms - now : 0;
				if (d < ms)
					ms = (uint32_t)d;
			}
		if (ms != UINT32_MAX && (*timeout_ns < 0 || (int64_t)ms * 1000000 < *timeout_ns))
			*timeout_ns = (int64_t)ms * 1000000;
	}
	return n;
}

void net_user_poll_ready(struct pollfd *fds, int n)
{
	int64_t now = host_ms();

	for (int i = 0; i < nnets; i++) {
		struct net_user *nu = nets[i];
		nu->fds = fds;
		slirp_pollfds_poll(nu->slirp, n < 0, get_revents, nu);
		for (struct nu_timer *t = nu->timers; t; t = t->next)
			if (t->expire_ms >= 0 && t->expire_ms <= now) {
				t->expire_ms = -1;
				slirp_handle_timer(nu->slirp, t->id, t->cb_opaque);
				break;	/* the list may have changed */
			}
	}
}
