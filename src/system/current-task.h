/* The task a vCPU runs in a Linux guest (current-task.c), for
 * loom_plugin_current_task. */
#ifndef LOOM_SYSTEM_CURRENT_TASK_H
#define LOOM_SYSTEM_CURRENT_TASK_H
#include <stdbool.h>
struct cpu;
struct loom_task;
/* true and *out filled, or false: the kernel cannot be introspected (said
 * once on stderr), or it has not set up its per-CPU areas yet. */
bool current_task_get(struct cpu *cpu, struct loom_task *out);
#endif
