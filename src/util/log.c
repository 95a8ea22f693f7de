/*
 * -d/-D logging and loom's own error exits.  Owns the log file handle; every
 * other layer writes through log_printf or checks log_enabled() first.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "util/log.h"

unsigned log_mask;
FILE *log_file;
const char *log_prog = "loom";

static const struct { const char *name; unsigned mask; const char *help; } log_items[] = {
	{ "in_asm", LOG_IN_ASM, "show guest instructions of each translated block" },
	{ "op", LOG_OP, "show IR ops after lifting" },
	{ "op_opt", LOG_OP_OPT, "show IR ops after optimization" },
	{ "out_asm", LOG_OUT_ASM, "show generated host code" },
	{ "exec", LOG_EXEC, "show each block executed and translation statistics" },
	{ "cpu", LOG_CPU, "show the CPU state before each block executed" },
	{ "unimp", LOG_UNIMP, "log untranslated instructions and unimplemented syscalls" },
	{ "strace", LOG_STRACE, "log system calls (same as -strace)" },
	{ "plugin", LOG_PLUGIN, "output of plugins (qemu_plugin_outs)" },
	{ "guest_errors", LOG_GUEST_ERRORS, "log guest faults and signals" },
	{ "stats", LOG_STATS, "print translation statistics when the guest exits" },
	{ "int", LOG_INT, "show interrupts and exceptions (loom-system)" },
	{ "mmu", LOG_MMU, "log page walks and TLB flushes (loom-system)" },
	{ "cpu_reset", LOG_CPU_RESET, "show the CPU state at each reset (loom-system)" },
};

void log_print_items(FILE *f)
{
	fprintf(f, "Log items (comma separated):\n");
	for (size_t i = 0; i < sizeof(log_items) / sizeof(log_items[0]); i++)
		fprintf(f, "%-12s %s\n", log_items[i].name, log_items[i].help);
}

int log_parse_items(const char *list, unsigned *mask)
{
	char buf[256];
	if (strlen(list) >= sizeof(buf)) {
		fprintf(stderr, "%s: -d: list too long\n", log_prog);
		return -1;
	}
	strcpy(buf, list);
	*mask = 0;
	for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i, n = sizeof(log_items) / sizeof(log_items[0]);
		if (!strcmp(tok, "help"))
			return 1;
		for (i = 0; i < n; i++)
			if (!strcmp(tok, log_items[i].name))
				break;
		if (i == n) {
			fprintf(stderr, "%s: -d: unknown log item '%s' (try -d help)\n", log_prog, tok);
			return -1;
		}
		*mask |= log_items[i].mask;
	}
	return 0;
}

void log_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(log_file ? log_file : stderr, fmt, ap);
	va_end(ap);
}

void log_flush(void)
{
	fflush(log_file ? log_file : stderr);
}

void fatal(int status, const char *fmt, ...)
{
	va_list ap;
	log_flush();
	fprintf(stderr, "%s: ", log_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

void internal_error(const char *fmt, ...)
{
	va_list ap;
	log_flush();
	fprintf(stderr, "%s: internal error: ", log_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(LOOM_EXIT_INTERNAL);
}

int fail_msg(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void log_option_d(const char *list)
{
	unsigned mask;
	int r = log_parse_items(list, &mask);
	if (r < 0)
		exit(LOOM_EXIT_USAGE);	/* log_parse_items printed the line */
	if (r > 0) {
		log_print_items(stdout);
		exit(0);
	}
	log_mask |= mask;
}
