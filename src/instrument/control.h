/* The control channel (instrument/control.c). */
#ifndef LOOM_INSTRUMENT_CONTROL_H
#define LOOM_INSTRUMENT_CONTROL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
/* Listen on the Unix socket at path (replacing a stale socket there); on
 * failure, one line and exit status 1. */
void control_start(const char *path);
/* Run one command line as the socket would (loom-system's monitor runs its
 * `cov` commands through here) and write the reply line to out. */
void control_run(const char *line, FILE *out);
/* The process ends: remove the socket (in the process that made it). */
void control_finish(void);

/* What the `cov` commands act on: user mode's block recorder
 * (instrument/cov.c) unless the front door installs another before
 * control_start (loom-system: instrument/physcov.c's bitmap). */
struct control_cov {
	bool (*running)(void);
	bool (*set_running)(bool on);	/* false: nothing to record into */
	void (*clear)(void);
	size_t (*count)(void);		/* blocks or granules recorded */
	const char *unit;		/* "blocks" or "granules" */
	/* FILE in format (NULL: the -cov-format); 0, or -1 with err */
	int (*write)(const char *path, const char *format, char *err, size_t errsz,
		     size_t *n);
};
extern struct control_cov control_cov;
/* Commands of the environment's own (loom-system: pmemsave, memsave),
 * tried before "unknown command": false if argv[0] is none of them, else
 * the reply line ("ok ..." or "error: ...") is in reply. */
extern bool (*control_env_command)(int argc, char **argv, char *reply, size_t len);
extern const char *control_env_help;	/* their usage, for the error line */
#endif
