/*
 * The environment the instrument layer asks for (instrument/instrument.h:
 * struct instrument_env), as Linux user mode has it: the program loom
 * loaded, fork (for the AFL++ fork server), exit_group, the thread count.
 * The front door installs linux_instrument_env before the guest runs.
 */
#include "instrument/instrument.h"
#include "linux/linux.h"

static void lx_image(struct instrument_image *out)
{
	*out = (struct instrument_image){
		.path = linux_image.exe_path ? linux_image.exe_path : linux_image.path,
		.start_code = linux_image.start_code,
		.end_code = linux_image.end_code,
		.entry = linux_image.entry,
		.load_bias = linux_image.load_bias,
		.image_lo = linux_image.image_lo,
		.image_hi = linux_image.image_hi,
	};
}

static int64_t lx_fork(void *cpu)
{
	return linux_fork(cpu);
}

static void lx_exit_group(int status)
{
	linux_exit_group(status);
}

/* Guest addresses are host addresses in user mode. */
static void *lx_code_host(uint64_t phys)
{
	return (void *)(uintptr_t)phys;
}

const struct instrument_env linux_instrument_env = {
	.image = lx_image,
	.fork = lx_fork,
	.exit_group = lx_exit_group,
	.thread_count = linux_thread_count,
	.code_host = lx_code_host,
};
