/*
 * Logging in qemu-user's conventions: -d items select what is logged, -D
 * names the file (stderr by default).  log_mask is tested inline so a
 * disabled item costs one branch.
 */
#ifndef LOOM_UTIL_LOG_H
#define LOOM_UTIL_LOG_H

#include <stddef.h>
#include <stdio.h>
#include <stdnoreturn.h>

enum log_item {
	LOG_IN_ASM = 1 << 0,
	LOG_OP = 1 << 1,
	LOG_OP_OPT = 1 << 2,
	LOG_OUT_ASM = 1 << 3,
	LOG_EXEC = 1 << 4,
	LOG_CPU = 1 << 5,
	LOG_UNIMP = 1 << 6,
	LOG_STRACE = 1 << 7,
	LOG_PLUGIN = 1 << 8,
	LOG_GUEST_ERRORS = 1 << 9,
	LOG_STATS = 1 << 10,
	/* Whole-system mode (loom-system) only: */
	LOG_INT = 1 << 11,
	LOG_MMU = 1 << 12,
	LOG_CPU_RESET = 1 << 13,
};

extern unsigned log_mask;
extern FILE *log_file;
/* The name error lines start with: "loom", or "loom-system" in its front
 * door. */
extern const char *log_prog;

static inline int log_enabled(unsigned item) { return (log_mask & item) != 0; }
/* Parse "in_asm,op,..." into a mask; prints the list for "help".  Returns
 * -1 (after printing one line) on an unknown item. */
int log_parse_items(const char *list, unsigned *mask);
void log_print_items(FILE *f);
void log_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_flush(void);

/* A failure reported to the caller as text: print fmt into err (errsz
 * bytes; err may be NULL) and return -1. */
int fail_msg(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The -d option of both front doors: add the items of list to log_mask;
 * "help" prints them and exits 0, an unknown item (after one line) exits
 * with LOOM_EXIT_USAGE. */
void log_option_d(const char *list);

/* One line on stderr prefixed "loom: " (log_prog), then exit(status). */
noreturn void fatal(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "loom: internal error: ..." and exit with LOOM_EXIT_INTERNAL. */
noreturn void internal_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Exit statuses of loom's own (never confused with a guest's signal death). */
#define LOOM_EXIT_USAGE 1
#define LOOM_EXIT_LOAD 127
#define LOOM_EXIT_INTERNAL 125

#endif
