/* The control channel (instrument/control.c). */
#ifndef LOOM_INSTRUMENT_CONTROL_H
#define LOOM_INSTRUMENT_CONTROL_H
/* Listen on the Unix socket at path (replacing a stale socket there); on
 * failure, one line and exit status 1. */
void control_start(const char *path);
/* The process ends: remove the socket (in the process that made it). */
void control_finish(void);
#endif
