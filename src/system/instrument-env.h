/* The instrument layer's environment in whole-system mode
 * (instrument/instrument.h: struct instrument_env). */
#ifndef LOOM_SYSTEM_INSTRUMENT_ENV_H
#define LOOM_SYSTEM_INSTRUMENT_ENV_H
#include <stdio.h>
struct instrument_env;
extern const struct instrument_env system_instrument_env;
/* The control channel's cov commands and pmemsave/memsave for loom-system
 * (control-env.c); before control_start. */
void system_control_setup(void);
/* The monitor's `cov ARGS` (monitor_ops.cov): the control channel's cov
 * commands, with their replies. */
void system_monitor_cov(void *opaque, const char *args, FILE *out);
#endif
