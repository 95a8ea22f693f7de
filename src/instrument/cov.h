/* Coverage recording (instrument/cov.c) as main.c and the control channel
 * use it. */
#ifndef LOOM_INSTRUMENT_COV_H
#define LOOM_INSTRUMENT_COV_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "instrument/instrument.h"

struct cov_options {
	const char *path;	/* -cov FILE: record from the start, write at the end */
	int format;		/* enum cov_format */
	bool hits;		/* -cov-hits: count executions */
	const char *bitmap_module;	/* -cov-bitmap MODULE / START-END */
	uint64_t bitmap_start, bitmap_end;
	unsigned granularity;
	unsigned sync_ms;	/* -cov-sync: checkpoint interval, 0: only at exit */
};
extern struct cov_options cov_opts;

/* Register the recorder (running from the start when -cov was given). */
void cov_init(void);
bool cov_running(void);
void cov_set_running(bool on);	/* flushes translations */
void cov_forget_hits(void);
size_t cov_blocks_hit(void);
/* Write what was recorded so far in the -cov-format; 0 or -1 with err. */
int cov_write_file(const char *path, char *err, size_t errsz, size_t *nblocks);
/* The program is loaded and about to run: check that the -cov file can
 * be written (and, for lcov, that the program has line tables), write it
 * a first time and start the checkpoint thread.  Exits with one line when
 * coverage could not be written. */
void cov_begin(const char *exe_path);
/* Around a guest fork (the child writes FILE.PID, checkpoints included). */
void cov_fork_prepare(void);
void cov_fork_parent(void);
void cov_fork_child(void);
/* The process ends: write the -cov file (FILE.PID in a forked child). */
void cov_finish(void);
#endif
