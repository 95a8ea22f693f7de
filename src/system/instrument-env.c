/*
 * The environment the instrument layer asks for (instrument/instrument.h:
 * struct instrument_env), as whole-system mode has it.  There is no main
 * program: the "image" is the kernel file with no code range or entry
 * (those are a process's, which the machine does not know), so what needs
 * them finds them absent rather than made up.  A machine cannot fork; it
 * has one vCPU; exiting ends loom-system with the status asked for.
 */
#include <errno.h>
#include <stdlib.h>
#include "instrument/instrument.h"
#include "system/cmdline.h"
#include "system/instrument-env.h"
#include "system/physmem.h"
#include "util/log.h"

static void sys_image(struct instrument_image *out)
{
	*out = (struct instrument_image){ .path = system_opts.kernel };
}

static int64_t sys_fork(void *cpu)
{
	return -ENOSYS;
}

static void sys_exit_group(int status)
{
	log_flush();
	exit(status);
}

static int sys_thread_count(void)
{
	return 1;
}

/* Code in RAM is where physmem mapped it; code elsewhere (ROM, MMIO)
 * has no host address of its own. */
static void *sys_code_host(uint64_t phys)
{
	return physmem_ptr(phys, 1);
}

const struct instrument_env system_instrument_env = {
	.image = sys_image,
	.fork = sys_fork,
	.exit_group = sys_exit_group,
	.thread_count = sys_thread_count,
	.code_host = sys_code_host,
};
