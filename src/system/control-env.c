/*
 * The control channel (instrument/control.c, `-control PATH`, loom-ctl) in
 * whole-system mode: its cov commands act on the guest-physical bitmap
 * (instrument/physcov.c) or on attributed coverage (system/syscov.c), the
 * monitor's cov commands go through it too, and it gains HMP's pmemsave and memsave, run by
 * the monitor's own command code (monitor.c) so that both answer alike.
 *
 * The control thread runs beside the vCPU, so its monitor reads only RAM
 * (a device register read from this thread would race the vCPU's) and
 * walks the page tables itself, without the side effects of the vCPU's
 * walker; the registers it walks with are a snapshot of the control
 * registers taken when the command starts.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "guest/x86/cpu.h"
#include "guest/x86/sys.h"
#include "instrument/control.h"
#include "instrument/covfile.h"
#include "instrument/physcov.h"
#include "system/instrument-env.h"
#include "system/machine.h"
#include "system/monitor.h"
#include "system/physmem.h"
#include "system/syscov.h"

/* The cov commands act on the physical bitmap with -cov-bitmap, else on
 * attributed coverage (system/syscov.c), which exists whenever -cov,
 * -control or -monitor was given. */
static int ctl_cov_write(const char *path, const char *format, char *err, size_t errsz,
			 size_t *n)
{
	if (physcov_configured()) {
		if (format && strcmp(format, "bitmap")) {
			snprintf(err, errsz, "cov write %s %s: -cov-bitmap records the physical "
				 "bitmap (format bitmap) only", path, format);
			return -1;
		}
		*n = physcov_bits_set();
		return physcov_write(path, err, errsz);
	}
	int f = format ? cov_format_parse(format) : -1;
	if (format && f != COV_DRCOV && f != COV_MODOFF) {
		snprintf(err, errsz, "cov write %s %s: attributed coverage is written as drcov or "
			 "modoff (a bitmap needs -cov-bitmap phys:START-END)", path, format);
		return -1;
	}
	return syscov_write(path, f, err, errsz, n);
}

static bool ctl_cov_running(void)
{
	return physcov_configured() ? physcov_running() : syscov_configured() && syscov_running();
}

static bool ctl_cov_set_running(bool on)
{
	if (physcov_configured())
		physcov_set_running(on);
	else if (syscov_configured())
		syscov_set_running(on);
	else
		return !on;
	return true;
}

static void ctl_cov_clear(void)
{
	if (physcov_configured())
		physcov_clear();
	else if (syscov_configured())
		syscov_clear();
}

static size_t ctl_cov_count(void)
{
	if (physcov_configured())
		return physcov_bits_set();
	return syscov_configured() ? syscov_blocks() : 0;
}

static bool ctl_get_regs(void *opaque, struct monitor_regs *r)
{
	struct cpu *cpu = machine.cpu;
	if (!cpu || !cpu->sys)
		return false;
	memset(r, 0, sizeof(*r));
	r->cr0 = __atomic_load_n(&cpu->sys->cr0, __ATOMIC_RELAXED);
	r->cr3 = __atomic_load_n(&cpu->sys->cr3, __ATOMIC_RELAXED);
	r->cr4 = __atomic_load_n(&cpu->sys->cr4, __ATOMIC_RELAXED);
	r->efer = __atomic_load_n(&cpu->sys->efer, __ATOMIC_RELAXED);
	r->rip = cpu->rip;
	return true;
}

static bool ctl_read_ram(void *opaque, uint64_t pa, void *buf, size_t len)
{
	const void *p = physmem_ptr(pa, len);
	if (!p)
		return false;
	memcpy(buf, p, len);
	return true;
}

static const struct monitor_ops ctl_monitor_ops = {
	.get_regs = ctl_get_regs,
	.read_phys = ctl_read_ram,
};

/* pmemsave/memsave ADDR SIZE FILE through the monitor; its silence is
 * success, its first line of complaint the error. */
static bool ctl_command(int argc, char **argv, char *reply, size_t len)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	if (strcmp(argv[0], "pmemsave") && strcmp(argv[0], "memsave"))
		return false;
	if (argc != 4) {
		snprintf(reply, len, "error: %s ADDR SIZE FILE", argv[0]);
		return true;
	}
	char line[4608], *text = NULL;
	size_t textlen = 0;
	snprintf(line, sizeof(line), "%s %s %s %s", argv[0], argv[1], argv[2], argv[3]);
	pthread_mutex_lock(&lock);
	FILE *out = open_memstream(&text, &textlen);
	if (!out) {
		pthread_mutex_unlock(&lock);
		snprintf(reply, len, "error: out of memory");
		return true;
	}
	struct monitor mon;
	monitor_init(&mon, &ctl_monitor_ops, NULL, out);
	monitor_command(&mon, line);
	fclose(out);
	pthread_mutex_unlock(&lock);
	if (textlen) {
		text[strcspn(text, "\n")] = 0;
		snprintf(reply, len, "error: %s",
			 strncmp(text, "Error: ", 7) ? text : text + 7);
	} else {
		snprintf(reply, len, "ok %s bytes written to %s", argv[2], argv[3]);
	}
	free(text);
	return true;
}

void system_control_setup(void)
{
	control_cov = (struct control_cov){
		.running = ctl_cov_running, .set_running = ctl_cov_set_running,
		.clear = ctl_cov_clear, .count = ctl_cov_count,
		.unit = physcov_configured() ? "granules" : "blocks", .write = ctl_cov_write,
	};
	control_env_command = ctl_command;
	control_env_help = "pmemsave ADDR SIZE FILE, memsave ADDR SIZE FILE";
}

void system_monitor_cov(void *opaque, const char *args, FILE *out)
{
	char line[4096];
	snprintf(line, sizeof(line), "cov %s", args);
	control_run(line, out);
}
