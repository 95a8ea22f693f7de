/*
 * Character backends for the machine's serial ports (and later its
 * monitor): where the bytes a guest transmits go and where the bytes it
 * receives come from, named as qemu-system names them:
 *
 *   stdio                   the terminal (raw while it is one; restored at exit)
 *   file:PATH               output only, to PATH (created or truncated)
 *   unix:PATH,server,nowait listen on a Unix socket and accept one client
 *                           at a time (also server=on, wait=off; with
 *                           `wait` or no `nowait`, block until one connects)
 *   unix:PATH               connect to a listening Unix socket
 *   null                    output discarded, no input
 *
 * Input is pulled, never pushed from another thread: the machine loop polls
 * the fds chardev_poll_fds() gives it (only while the receiving device can
 * take bytes) and calls chardev_poll() on the ready ones, which reads what
 * is there without blocking and hands it to the device.
 */
#ifndef LOOM_SYSTEM_CHARDEV_H
#define LOOM_SYSTEM_CHARDEV_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

struct chardev;

/* Open the backend spec names.  what names the option for the error line
 * ("-serial"); on error prints one line and returns NULL. */
struct chardev *chardev_open(const char *spec, const char *what);
void chardev_close(struct chardev *cd);
/* The device that takes this backend's input: can_receive says how many
 * bytes it can take now, receive takes up to that many. */
void chardev_set_receiver(struct chardev *cd, size_t (*can_receive)(void *opaque),
			  void (*receive)(void *opaque, const uint8_t *buf, size_t len),
			  void *opaque);
/* Send bytes out (blocking; dropped while a socket has no client). */
void chardev_write(struct chardev *cd, const uint8_t *buf, size_t len);
/* The fd to poll for input (or for a client to accept), -1 if none now. */
int chardev_fd(const struct chardev *cd);
/* Read what is available now (or accept a waiting client) and deliver it;
 * never blocks. */
void chardev_poll(struct chardev *cd);
/* Every open backend that wants polling now, as pollfds (POLLIN) into
 * fds[0..max); returns how many.  chardev_poll_ready() then serves those
 * poll() marked ready. */
int chardev_poll_fds(struct pollfd *fds, int max);
void chardev_poll_ready(const struct pollfd *fds, int n);

#endif
