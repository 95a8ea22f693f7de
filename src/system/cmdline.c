/*
 * Option values in qemu-system's syntax (cmdline.h): -m sizes and chardev
 * specifications.  Kept apart from the front door so unit tests can call
 * them.
 */
#include "system/cmdline.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct system_options system_opts = {
	.mem_size = 512ull << 20,
	.serial = { .kind = CHARDEV_STDIO },
	.monitor = { .kind = CHARDEV_NONE },
};

int cmdline_parse_mem_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	const char *p = s;
	char *end;
	uint64_t unit = 1ull << 20;	/* a bare number is MiB, as in QEMU */

	if (!strncmp(p, "size=", 5))
		p += 5;
	if (*p < '0' || *p > '9')
		return fail_msg(err, errlen, "-m %s: not a size (e.g. 512, 512M, 1G)", s);
	errno = 0;
	double v = strtod(p, &end);
	if (errno || end == p)
		return fail_msg(err, errlen, "-m %s: not a size (e.g. 512, 512M, 1G)", s);
	switch (*end) {
	case 0: break;
	case 'b': case 'B': unit = 1; break;
	case 'k': case 'K': unit = 1ull << 10; break;
	case 'm': case 'M': unit = 1ull << 20; break;
	case 'g': case 'G': unit = 1ull << 30; break;
	case 't': case 'T': unit = 1ull << 40; break;
	default:
		return fail_msg(err, errlen, "-m %s: unknown size suffix '%c' (B, K, M, G or T)", s,
			    *end);
	}
	if (*end && end[1])
		return fail_msg(err, errlen, "-m %s: not a size (e.g. 512, 512M, 1G)", s);
	double b = v * (double)unit;
	if (b > (double)CMDLINE_MEM_MAX)
		return fail_msg(err, errlen, "-m %s: more RAM than loom-system supports (1T at most)",
			    s);
	uint64_t n = ((uint64_t)b + 0xfff) & ~0xfffull;
	if (n < CMDLINE_MEM_MIN)
		return fail_msg(err, errlen, "-m %s: too little RAM (2M at least)", s);
	*bytes = n;
	return 0;
}

/* One ",key" or ",key=on|off" option of a unix chardev. */
static int unix_option(const char *opt, size_t len, struct chardev_spec *cd, const char *s,
		       char *err, size_t errlen)
{
	static const struct { const char *name; size_t off; bool negate; } keys[] = {
		{ "server", offsetof(struct chardev_spec, server), false },
		{ "wait", offsetof(struct chardev_spec, wait), false },
		{ "nowait", offsetof(struct chardev_spec, wait), true },
	};
	const char *eq = memchr(opt, '=', len);
	size_t klen = eq ? (size_t)(eq - opt) : len;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strlen(keys[i].name) != klen || strncmp(opt, keys[i].name, klen))
			continue;
		bool on = true;
		if (eq) {
			size_t vlen = len - klen - 1;
			if (keys[i].negate)
				break;	/* "nowait=..." is not QEMU's */
			if (vlen == 2 && !strncmp(eq + 1, "on", 2))
				on = true;
			else if (vlen == 3 && !strncmp(eq + 1, "off", 3))
				on = false;
			else
				return fail_msg(err, errlen, "%s: '%.*s' must be on or off", s,
					    (int)klen, opt);
		}
		*(bool *)((char *)cd + keys[i].off) = keys[i].negate ? !on : on;
		return 0;
	}
	return fail_msg(err, errlen, "%s: unknown option '%.*s' (server, wait, nowait)", s, (int)len,
		    opt);
}

int cmdline_parse_chardev(const char *s, struct chardev_spec *cd, char *err, size_t errlen)
{
	memset(cd, 0, sizeof(*cd));
	if (!strcmp(s, "none")) {
		cd->kind = CHARDEV_NONE;
		return 0;
	}
	if (!strcmp(s, "null")) {
		cd->kind = CHARDEV_NULL;
		return 0;
	}
	if (!strcmp(s, "stdio")) {
		cd->kind = CHARDEV_STDIO;
		return 0;
	}
	if (!strncmp(s, "file:", 5)) {
		cd->kind = CHARDEV_FILE;
		if (!s[5])
			return fail_msg(err, errlen, "%s: no file name", s);
		if (strlen(s + 5) >= sizeof(cd->path))
			return fail_msg(err, errlen, "%s: file name too long", s);
		strcpy(cd->path, s + 5);
		return 0;
	}
	if (!strncmp(s, "unix:", 5)) {
		const char *path = s + 5, *comma = strchr(path, ',');
		size_t plen = comma ? (size_t)(comma - path) : strlen(path);
		cd->kind = CHARDEV_UNIX;
		cd->wait = true;
		if (!plen)
			return fail_msg(err, errlen, "%s: no socket path", s);
		if (plen >= sizeof(cd->path))
			return fail_msg(err, errlen, "%s: socket path too long (%zu bytes at most)", s,
				    sizeof(cd->path) - 1);
		memcpy(cd->path, path, plen);
		cd->path[plen] = 0;
		while (comma) {
			const char *opt = comma + 1;
			comma = strchr(opt, ',');
			size_t len = comma ? (size_t)(comma - opt) : strlen(opt);
			if (unix_option(opt, len, cd, s, err, errlen) < 0)
				return -1;
		}
		if (!cd->server)
			cd->wait = false;
		return 0;
	}
	return fail_msg(err, errlen, "%s: unknown character device (stdio, file:PATH, unix:PATH, "
		    "null or none)", s);
}
