/*
 * loom-system's command line, in qemu-system-x86_64's conventions:
 *
 *   loom-system -kernel bzImage [-initrd FILE] [-append CMDLINE] [-m SIZE]
 *               [-nographic] [-serial DEV] [-monitor DEV] [-no-reboot] ...
 *
 * Options are single-dash words (two dashes are accepted too), each
 * followed by its value as a separate argument; there are no positional
 * arguments (QEMU's disk image is not supported).  Every usage error is one
 * line "loom-system: ..." and exit status 1; a kernel or initrd that cannot
 * be loaded is one line and status 127 (LOOM_EXIT_LOAD), as a program that
 * cannot be loaded is for loom.
 *
 * main() parses into system_opts (cmdline.h), opens the log, maps RAM, loads
 * the kernel with the boot protocol (boot.c) and serves the monitor.  It
 * links libsystem.a and the translator's core, never src/linux/.
 *
 * Until the CPU executes guest code, the machine stops at the kernel's
 * entry: without -monitor loom-system says so and exits with status 3;
 * with -monitor the monitor serves the machine as it stands (registers at
 * the entry, memory as loaded) until quit, end of input or a signal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/exec.h"
#include "instrument/covfile.h"
#include "instrument/instrument.h"
#include "instrument/control.h"
#include "instrument/physcov.h"
#include "system/syscov.h"
#include "system/instrument-env.h"
#include "system/cmdline.h"
#include "system/devopts.h"
#include "system/machine.h"
#include "util/log.h"

#define LOOM_SYSTEM_VERSION "0.1.0"

/* The machine has a CPU that cannot execute guest code yet: the kernel is
 * loaded and its entry state ready, and loom-system stops there. */
#define SYSTEM_EXIT_NO_CPU 3

static const char *log_path;
static const char *cov_path;
static int cov_format = -1;	/* -cov-format, -1 not given */
static const char *control_path;
static int nserial;
static const char *serial_arg = "stdio";
static bool start_stopped;
static char err[512];

static noreturn void usage(void);

static void opt_help(const char *arg) { usage(); }

static void opt_version(const char *arg)
{
	printf("loom-system version " LOOM_SYSTEM_VERSION
	       " (qemu-system-x86_64's command line, -M pc)\n");
	exit(0);
}

static void opt_kernel(const char *arg) { system_opts.kernel = arg; }
static void opt_initrd(const char *arg) { system_opts.initrd = arg; }
static void opt_append(const char *arg) { system_opts.append = arg; }
static void opt_nographic(const char *arg) { system_opts.nographic = true; }
static void opt_no_reboot(const char *arg) { system_opts.no_reboot = true; }
static void opt_D(const char *arg) { log_path = arg; }
static void opt_one_insn(const char *arg) { exec_opts.single_insn = true; }
static void opt_nochain(const char *arg) { exec_opts.nochain = true; }
static void opt_perfmap(const char *arg) { exec_opts.perfmap = true; }

static void opt_cov(const char *arg) { cov_path = arg; }

static void opt_cov_format(const char *arg)
{
	cov_format = cov_format_parse(arg);
	if (cov_format != COV_DRCOV && cov_format != COV_MODOFF && cov_format != COV_BITMAP)
		fatal(LOOM_EXIT_USAGE, "-cov-format %s: loom-system writes drcov, modoff or bitmap "
		      "(with -cov-bitmap)", arg);
}

static void opt_control(const char *arg) { control_path = arg; }

static void opt_plugin(const char *arg)
{
	if (!instrument_add_plugin(arg))
		exit(LOOM_EXIT_USAGE);	/* instrument_add_plugin printed the line */
}

static void opt_cov_bitmap(const char *arg)
{
	if (physcov_parse(arg, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_USAGE, "%s", err);
}

static void opt_m(const char *arg)
{
	if (cmdline_parse_mem_size(arg, &system_opts.mem_size, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_USAGE, "%s", err);
}

static void opt_S(const char *arg) { start_stopped = true; }

/* The devices' own options (devopts.h); their values are checked now, the
 * files and host ports opened when the machine is built. */
static void opt_drive(const char *arg)
{
	if (devopts_add_drive(arg, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_USAGE, "%s", err);
}

static void opt_nic(const char *arg)
{
	if (devopts_add_nic(arg, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_USAGE, "%s", err);
}

static void opt_netdev(const char *arg)
{
	if (devopts_add_netdev(arg, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_USAGE, "%s", err);
}

static void opt_device(const char *arg)
{
	if (devopts_add_device(arg, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_USAGE, "%s", err);
}

static void opt_serial(const char *arg)
{
	serial_arg = arg;
	if (++nserial > 1)
		fatal(LOOM_EXIT_USAGE, "-serial %s: the machine has one serial port (COM1)", arg);
	if (cmdline_parse_chardev(arg, &system_opts.serial, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_USAGE, "-serial %s", err);
}

static void opt_monitor(const char *arg)
{
	if (cmdline_parse_chardev(arg, &system_opts.monitor, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_USAGE, "-monitor %s", err);
	if (system_opts.monitor.kind == CHARDEV_FILE)
		fatal(LOOM_EXIT_USAGE, "-monitor %s: the monitor needs input (stdio or unix:PATH)",
		      arg);
}

static void opt_d(const char *arg)
{
	log_option_d(arg);
}

/* -M pc, -M type=pc, -M help; the machine's properties are not options. */
static void opt_M(const char *arg)
{
	if (!strcmp(arg, "help") || !strcmp(arg, "?")) {
		printf("Supported machines are:\n"
		       "pc                   Standard PC (i440FX + PIIX, 1996) (default)\n");
		exit(0);
	}
	if (!strncmp(arg, "type=", 5))
		arg += 5;
	if (strcmp(arg, "pc"))
		fatal(LOOM_EXIT_USAGE, "-M %s: unsupported machine type (only pc; -M help)", arg);
}

/* -smp 1, -smp cpus=1: one vCPU is all there is. */
static void opt_smp(const char *arg)
{
	const char *p = strncmp(arg, "cpus=", 5) ? arg : arg + 5;
	char *end;
	errno = 0;
	long n = strtol(p, &end, 10);
	if (errno || end == p || (*end && *end != ','))
		fatal(LOOM_EXIT_USAGE, "-smp %s: not a number of CPUs", arg);
	if (n != 1)
		fatal(LOOM_EXIT_USAGE, "-smp %s: only 1 CPU is supported", arg);
}

static const struct system_option {
	const char *name, *alias;
	const char *arg;	/* NULL: takes no argument */
	void (*fn)(const char *arg);
	const char *help;
} options[] = {
	{ "h", "help", NULL, opt_help, "print this help and exit" },
	{ "version", NULL, NULL, opt_version, "print loom-system's version and exit" },
	{ "kernel", NULL, "bzImage", opt_kernel, "boot this Linux kernel (required)" },
	{ "initrd", NULL, "file", opt_initrd, "use file as the initial RAM disk" },
	{ "append", NULL, "cmdline", opt_append, "the kernel's command line" },
	{ "m", NULL, "size", opt_m, "RAM size: 512 (MiB), 512M, 1G ... (default 512M)" },
	{ "M", "machine", "pc", opt_M, "machine type: only pc (i440FX + PIIX; -M help)" },
	{ "smp", NULL, "1", opt_smp, "number of CPUs: only 1" },
	{ "nographic", NULL, NULL, opt_nographic,
	  "no display (loom-system never has one): the serial port is on stdio" },
	{ "serial", NULL, "dev", opt_serial,
	  "COM1's other end: stdio (default), file:PATH, unix:PATH[,server][,nowait], null, none" },
	{ "monitor", NULL, "dev", opt_monitor,
	  "the HMP monitor on stdio or unix:PATH[,server][,nowait] (also server=on,wait=off)" },
	{ "drive", NULL, "file=IMG[,...]", opt_drive,
	  "a virtio-blk disk on a raw image (format=raw, if=virtio|none, readonly=on, id=ID)" },
	{ "nic", NULL, "user[,...]", opt_nic,
	  "a virtio-net NIC on user networking, 10.0.2.0/24 (hostfwd=tcp:[HADDR]:HPORT-"
	  "[GADDR]:GPORT, mac=MAC)" },
	{ "netdev", NULL, "user,id=ID[,...]", opt_netdev,
	  "a user network (hostfwd=...) for -device virtio-net-pci,netdev=ID" },
	{ "device", NULL, "DRIVER,...", opt_device,
	  "virtio-net-pci,netdev=ID[,mac=MAC] or virtio-blk-pci,drive=ID[,serial=S]" },
	{ "no-reboot", NULL, NULL, opt_no_reboot, "exit instead of rebooting" },
	{ "S", NULL, NULL, opt_S, "do not start the CPU at startup (the monitor's cont starts it)" },
	{ "d", NULL, "item[,...]", opt_d, "log the given items (-d help lists them)" },
	{ "D", NULL, "logfile", opt_D, "write the log to logfile instead of stderr" },
	{ "cov", NULL, "file", opt_cov,
	  "record coverage from the start, each block attributed to its process and file or to "
	  "the kernel, and write it to file at the end" },
	{ "cov-format", NULL, "format", opt_cov_format,
	  "the -cov file's format: drcov (default) or modoff; bitmap with -cov-bitmap" },
	{ "cov-bitmap", NULL, "phys:START-END[,gran=N]", opt_cov_bitmap,
	  "coverage as a bitmap of guest-physical memory, N bytes per bit (default 16)" },
	{ "control", NULL, "path", opt_control,
	  "listen for loom-ctl commands (cov, pmemsave, memsave...) on a Unix socket" },
	{ "plugin", NULL, "file=PATH[,arg=...]", opt_plugin,
	  "load a QEMU TCG plugin (or a bundled one by name: bb, insn, ...)" },
	{ "one-insn-per-tb", "singlestep", NULL, opt_one_insn,
	  "translate one guest instruction per block (also -singlestep)" },
	{ "nochain", NULL, NULL, opt_nochain, "do not chain translated blocks together" },
	{ "perfmap", NULL, NULL, opt_perfmap,
	  "list each translated block in /tmp/perf-PID.map, for perf" },
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static noreturn void usage(void)
{
	printf("usage: loom-system -kernel bzImage [options]\n"
	       "Boot a Linux kernel on an emulated x86-64 PC through loom's binary translator.\n\n"
	       "Options:\n");
	for (size_t i = 0; i < NOPTIONS; i++) {
		char left[64];
		const struct system_option *o = &options[i];
		bool show_alias = o->alias && strlen(o->alias) < 6;
		snprintf(left, sizeof(left), "-%s%s%s%s%s", o->name, show_alias ? ", -" : "",
			 show_alias ? o->alias : "", o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-24s %s\n", left, o->help);
	}
	printf("\nOptions may also be written with two dashes (--kernel).\n");
	exit(0);
}

static const struct system_option *find_option(const char *name)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (!strcmp(name, options[i].name) ||
		    (options[i].alias && !strcmp(name, options[i].alias)))
			return &options[i];
	return NULL;
}

static void parse(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *name = argv[i];
		if (name[0] != '-' || !name[1])
			fatal(LOOM_EXIT_USAGE, "'%s': unexpected argument (disk images are not "
			      "supported; try -help)", argv[i]);
		name += name[1] == '-' ? 2 : 1;
		const struct system_option *o = find_option(name);
		if (!o)
			fatal(LOOM_EXIT_USAGE, "unknown option '%s' (try -help)", argv[i]);
		const char *arg = NULL;
		if (o->arg) {
			if (i + 1 >= argc)
				fatal(LOOM_EXIT_USAGE, "option '%s' needs an argument (%s)", argv[i],
				      o->arg);
			arg = argv[++i];
		}
		o->fn(arg);
	}
	if (!system_opts.kernel)
		fatal(LOOM_EXIT_USAGE, "no -kernel given: loom-system boots a Linux kernel directly "
		      "(there is no BIOS; try -help)");
	if (system_opts.monitor.kind == CHARDEV_STDIO && system_opts.serial.kind == CHARDEV_STDIO)
		fatal(LOOM_EXIT_USAGE, "-monitor stdio: stdio is the serial port's; move it "
		      "(-serial file:PATH, unix:PATH or none) or the monitor (-monitor unix:PATH)");
	if (cov_format == COV_BITMAP && !physcov_configured())
		fatal(LOOM_EXIT_USAGE, "-cov-format bitmap: a bitmap of guest-physical memory "
		      "needs -cov-bitmap phys:START-END[,gran=N]");
	if (cov_format >= 0 && cov_format != COV_BITMAP && physcov_configured())
		fatal(LOOM_EXIT_USAGE, "-cov-format %s: -cov-bitmap records a bitmap (-cov-format "
		      "bitmap)", cov_format_name(cov_format));
	if (physcov_configured() && !cov_path && !control_path)
		fatal(LOOM_EXIT_USAGE, "-cov-bitmap: needs -cov FILE to write the bitmap to, or "
		      "-control PATH to record on command");
}

/* The coverage recorder, registered before machine_init attaches the
 * instrument layer; the -cov file is checked before the guest runs.
 * -control alone: recording waits for `cov start`. */
static void instrument_setup(void)
{
	if (cov_path && cov_probe_path(cov_path, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_USAGE, "-cov %s", err);
	if (physcov_configured())
		physcov_init(cov_path, cov_path != NULL);
	else if (cov_path || control_path || system_opts.monitor.kind != CHARDEV_NONE)
		syscov_init(cov_format >= 0 ? cov_format : COV_DRCOV, cov_path != NULL);
}

/* The machine stopped (power-off, quit, SIGTERM/SIGINT): the plugins'
 * exit callbacks, the -cov file. */
static int instrument_end(int status)
{
	instrument_finish();
	control_finish();
	int r = 0;
	if (cov_path && physcov_configured())
		r = physcov_write(cov_path, err, sizeof(err));
	else if (cov_path)
		r = syscov_write(cov_path, -1, err, sizeof(err), NULL);
	if (r < 0) {
		fprintf(stderr, "loom-system: -cov %s\n", err);
		return status ? status : 1;
	}
	return status;
}

static void open_log(void)
{
	if (!log_path)
		return;
	FILE *f = fopen(log_path, "w");
	if (!f)
		fatal(LOOM_EXIT_USAGE, "-D %s: %s", log_path, strerror(errno));
	setvbuf(f, NULL, _IOLBF, 1 << 16);
	log_file = f;
}

int main(int argc, char **argv)
{
	char err[512];
	int status;

	log_prog = "loom-system";
	parse(argc, argv);
	open_log();
	instrument_setup();
	struct machine_config cfg = {
		.kernel = system_opts.kernel,
		.initrd = system_opts.initrd,
		.append = system_opts.append,
		.mem_size = system_opts.mem_size,
		.serial = serial_arg,
		.serial_kind = system_opts.serial.kind,
		.no_reboot = system_opts.no_reboot,
	};
	if (machine_init(&cfg, &status, err, sizeof(err)) < 0)
		fatal(status, "%s", err);
	instrument_load_plugins();
	system_control_setup();	/* the monitor's cov commands too */
	if (control_path)
		control_start(control_path);
	log_flush();
	if (!machine_can_run() && system_opts.monitor.kind == CHARDEV_NONE) {
		fprintf(stderr, "loom-system: %s loaded (boot protocol %u.%02u, entry 0x%llx); "
			"the CPU does not execute guest code yet\n", system_opts.kernel,
			machine.layout.version >> 8, machine.layout.version & 0xff,
			(unsigned long long)machine.entry.rip);
		return SYSTEM_EXIT_NO_CPU;
	}
	if (!machine_can_run())
		fprintf(stderr, "loom-system: the CPU does not execute guest code yet: the machine "
			"is stopped at the kernel's entry\n");
	return instrument_end(machine_run(start_stopped));
}
