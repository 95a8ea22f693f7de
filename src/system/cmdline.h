/*
 * The values of loom-system's options that have a syntax of their own, in
 * qemu-system-x86_64's spellings: memory sizes (-m) and character-device
 * specifications (-serial, -monitor).  Parsing only: what a chardev
 * connects to is opened by whoever owns the device (the UART, the
 * monitor).  Each parser returns 0, or -1 after writing one line's reason
 * into err.
 */
#ifndef LOOM_SYSTEM_CMDLINE_H
#define LOOM_SYSTEM_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* -m's largest value: more than any host this runs on could back. */
#define CMDLINE_MEM_MAX (1ull << 40)
/* -m's smallest value: the boot path needs low memory and 1 MiB up. */
#define CMDLINE_MEM_MIN (2ull << 20)

/* QEMU's -m syntax: "512" (MiB), "512M", "1G", "65536K", "size=1G"; a
 * suffix B/K/M/G/T (either case).  The result is rounded up to 4 KiB, as
 * the machine's RAM is whole pages, and must lie in [CMDLINE_MEM_MIN,
 * CMDLINE_MEM_MAX]. */
int cmdline_parse_mem_size(const char *s, uint64_t *bytes, char *err, size_t errlen);

enum chardev_kind {
	CHARDEV_NONE,	/* "none": not connected */
	CHARDEV_NULL,	/* "null": output dropped, no input */
	CHARDEV_STDIO,	/* "stdio" */
	CHARDEV_FILE,	/* "file:PATH": output only */
	CHARDEV_UNIX,	/* "unix:PATH[,server][,nowait]" */
};

struct chardev_spec {
	enum chardev_kind kind;
	char path[108];		/* FILE, UNIX: sun_path's size */
	bool server;		/* UNIX: listen on PATH (else connect to it) */
	bool wait;		/* UNIX server: wait for a client before starting */
};

/* "stdio", "file:PATH", "unix:PATH" with QEMU's options ",server",
 * ",nowait", ",server=on|off", ",wait=on|off", "none", "null".  A unix
 * server waits for its client unless told nowait/wait=off, as in QEMU. */
int cmdline_parse_chardev(const char *s, struct chardev_spec *cd, char *err, size_t errlen);

/* What loom-system's command line decided (src/system/main.c fills it;
 * devices read their part: the UART its chardev, the machine loop
 * no_reboot). */
struct system_options {
	const char *kernel, *initrd, *append;
	uint64_t mem_size;		/* bytes of RAM (-m; default 512 MiB) */
	struct chardev_spec serial;	/* COM1 (-serial; default stdio) */
	struct chardev_spec monitor;	/* the HMP monitor (-monitor; default none) */
	bool nographic;
	bool no_reboot;			/* a reset (triple fault, reboot) exits instead */
};
extern struct system_options system_opts;

#endif
