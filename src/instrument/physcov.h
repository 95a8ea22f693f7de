/* Coverage of guest-physical memory (instrument/physcov.c), as
 * loom-system's front door and monitor use it. */
#ifndef LOOM_INSTRUMENT_PHYSCOV_H
#define LOOM_INSTRUMENT_PHYSCOV_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* -cov-bitmap phys:START-END[,gran=N]: 0, or -1 with a one-line message
 * in err.  START and END are guest-physical addresses, END > START; N > 0
 * (default 16). */
int physcov_parse(const char *spec, char *err, size_t errsz);
/* Whether a -cov-bitmap phys: range was given. */
bool physcov_configured(void);
/* Register the recorder with the instrument layer (before exec_init),
 * recording from the start when running. */
void physcov_init(const char *path, bool running);
bool physcov_running(void);
void physcov_set_running(bool on);	/* flushes translations */
void physcov_clear(void);		/* no flush: execution marks again */
size_t physcov_bits_set(void);
/* Write the bitmap (coverage.md's bitmap format, absolute addresses that
 * are guest-physical).  0, or -1 with a one-line message in err. */
int physcov_write(const char *path, char *err, size_t errsz);
/* The path given with -cov, or NULL. */
const char *physcov_path(void);
#endif
