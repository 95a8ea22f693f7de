/*
 * The harnesses' output: records written to stdout through one buffer, so a
 * run of a million cases makes few write calls and the signal handler never
 * writes.  put(NULL, 0) flushes; a failed write ends the run (status 3).
 */
#ifndef LOOM_TESTS_ISA_PUT_H
#define LOOM_TESTS_ISA_PUT_H
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static void put(const void *p, size_t n)
{
	static uint8_t buf[1 << 16];
	static size_t used;
	if (p == NULL || used + n > sizeof buf) {
		for (size_t off = 0; off < used;) {
			ssize_t w = write(1, buf + off, used - off);
			if (w <= 0)
				_exit(3);
			off += w;
		}
		used = 0;
	}
	if (p == NULL)
		return;
	memcpy(buf + used, p, n);
	used += n;
}

#endif
