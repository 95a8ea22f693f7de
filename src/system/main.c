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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/exec.h"
#include "system/boot.h"
#include "system/cmdline.h"
#include "system/monitor.h"
#include "system/physmem.h"
#include "util/log.h"

#define LOOM_SYSTEM_VERSION "0.1.0"

/* The machine has a CPU that cannot execute guest code yet: the kernel is
 * loaded and its entry state ready, and loom-system stops there. */
#define SYSTEM_EXIT_NO_CPU 3

static const char *log_path;
static int nserial;
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

static void opt_m(const char *arg)
{
	if (cmdline_parse_mem_size(arg, &system_opts.mem_size, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_USAGE, "%s", err);
}

static void opt_serial(const char *arg)
{
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
	unsigned mask;
	int r = log_parse_items(arg, &mask);
	if (r < 0)
		exit(LOOM_EXIT_USAGE);	/* log_parse_items printed the line */
	if (r > 0) {
		log_print_items(stdout);
		exit(0);
	}
	log_mask |= mask;
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
	{ "no-reboot", NULL, NULL, opt_no_reboot, "exit instead of rebooting" },
	{ "d", NULL, "item[,...]", opt_d, "log the given items (-d help lists them)" },
	{ "D", NULL, "logfile", opt_D, "write the log to logfile instead of stderr" },
	{ "one-insn-per-tb", "singlestep", NULL, opt_one_insn,
	  "translate one guest instruction per block (also -singlestep)" },
	{ "nochain", NULL, NULL, opt_nochain, "do not chain translated blocks together" },
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

static void log_boot_state(const struct boot_layout *l, const struct boot_cpu_state *c)
{
	log_printf("cpu_reset: boot protocol %u.%02u, kernel at 0x%llx (0x%llx bytes, init_size "
		   "0x%llx), initrd at 0x%llx (0x%llx bytes)\n", l->version >> 8, l->version & 0xff,
		   (unsigned long long)l->kernel_addr, (unsigned long long)l->kernel_file_size,
		   (unsigned long long)l->init_size, (unsigned long long)l->initrd_addr,
		   (unsigned long long)l->initrd_size);
	log_printf("RIP=%016llx RSI=%016llx RSP=%016llx RFL=%08llx\n",
		   (unsigned long long)c->rip, (unsigned long long)c->rsi,
		   (unsigned long long)c->rsp, (unsigned long long)c->rflags);
	log_printf("CS =%04x DS =%04x ES =%04x SS =%04x FS =%04x GS =%04x\n", c->cs, c->ds, c->es,
		   c->ss, c->fs, c->gs);
	log_printf("GDT=     %016llx %08x\n", (unsigned long long)c->gdt_base, c->gdt_limit);
	log_printf("CR0=%08llx CR3=%016llx CR4=%08llx EFER=%016llx\n",
		   (unsigned long long)c->cr0, (unsigned long long)c->cr3,
		   (unsigned long long)c->cr4, (unsigned long long)c->efer);
	for (unsigned i = 0; i < l->e820_count; i++)
		log_printf("e820: [mem 0x%016llx-0x%016llx] %s\n",
			   (unsigned long long)l->e820[i].addr,
			   (unsigned long long)(l->e820[i].addr + l->e820[i].size - 1),
			   l->e820[i].type == BOOT_E820_RAM ? "usable" : "reserved");
}

/* ---- The monitor on the machine at the kernel's entry ------------------ */

static const struct boot_cpu_state *entry_state;

/* A segment register as loading selector sel from the loader's GDT gives
 * it (hidden base, limit and flags from the descriptor). */
static struct monitor_seg entry_seg(uint16_t sel)
{
	struct monitor_seg s = { .selector = sel };
	uint64_t d;
	if (!sel || (uint64_t)(sel & ~7u) + 7 > entry_state->gdt_limit ||
	    !physmem_read(entry_state->gdt_base + (sel & ~7u), &d, 8))
		return s;
	uint32_t hi = (uint32_t)(d >> 32);
	s.base = ((d >> 16) & 0xffffff) | ((uint64_t)(hi >> 24) << 24);
	s.limit = (uint32_t)(d & 0xffff) | (hi & 0xf0000);
	if (hi & (1u << 23))	/* G: 4 KiB units */
		s.limit = (s.limit << 12) | 0xfff;
	s.flags = hi & 0x00ffff00;	/* QEMU's cache: no base bits */
	return s;
}

static bool entry_regs(void *opaque, struct monitor_regs *r)
{
	const struct boot_cpu_state *c = entry_state;
	memset(r, 0, sizeof(*r));
	r->gpr[4] = c->rsp;
	r->gpr[6] = c->rsi;
	r->rip = c->rip;
	r->rflags = c->rflags;
	r->seg[MON_ES] = entry_seg(c->es);
	r->seg[MON_CS] = entry_seg(c->cs);
	r->seg[MON_SS] = entry_seg(c->ss);
	r->seg[MON_DS] = entry_seg(c->ds);
	r->seg[MON_FS] = entry_seg(c->fs);
	r->seg[MON_GS] = entry_seg(c->gs);
	/* LDTR, TR, IDTR, DR6/7, FPU and MXCSR hold their reset values (SDM
	 * vol. 3, table 9-1): the loader does not load them. */
	r->ldt = (struct monitor_seg){ 0, 0, 0xffff, 0x8200 };
	r->tr = (struct monitor_seg){ 0, 0, 0xffff, 0x8b00 };
	r->gdt_base = c->gdt_base;
	r->gdt_limit = c->gdt_limit;
	r->idt_limit = 0xffff;
	r->cr0 = c->cr0;
	r->cr3 = c->cr3;
	r->cr4 = c->cr4;
	r->efer = c->efer;
	r->dr[6] = 0xffff0ff0;
	r->dr[7] = 0x400;
	r->fcw = 0x37f;
	r->mxcsr = 0x1f80;
	return true;
}

static bool entry_read_phys(void *opaque, uint64_t pa, void *buf, size_t len)
{
	return physmem_read(pa, buf, len);
}

static bool entry_running(void *opaque) { return false; }
static void entry_stop(void *opaque) { }
static void entry_quit(void *opaque) { exit(0); }

static const struct monitor_ops entry_ops = {
	.get_regs = entry_regs,
	.read_phys = entry_read_phys,
	.running = entry_running,
	.stop = entry_stop,
	.quit = entry_quit,
	/* cont and system_reset need a CPU that runs. */
};

static noreturn void serve_monitor(const struct boot_cpu_state *cpu)
{
	static struct monitor_io io;
	entry_state = cpu;
	if (monitor_io_open(&io, &system_opts.monitor, &entry_ops, NULL, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_USAGE, "%s", err);
	fprintf(stderr, "loom-system: the CPU does not execute guest code yet: the machine "
		"is stopped at the kernel's entry\n");
	while (!io.closed) {
		struct pollfd pfd = { .fd = monitor_io_fd(&io), .events = POLLIN };
		if (pfd.fd < 0)
			break;
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			break;
		monitor_io_ready(&io);
	}
	monitor_io_close(&io);
	exit(0);
}

int main(int argc, char **argv)
{
	static struct boot_layout layout;
	struct boot_cpu_state cpu;

	log_prog = "loom-system";
	parse(argc, argv);
	open_log();
	int r = physmem_init(system_opts.mem_size);
	if (r < 0)
		fatal(LOOM_EXIT_USAGE, "-m: cannot map %llu bytes of RAM: %s",
		      (unsigned long long)system_opts.mem_size, strerror(-r));
	struct boot_linux_args args = {
		.kernel = system_opts.kernel,
		.initrd = system_opts.initrd,
		.cmdline = system_opts.append,
	};
	if (boot_linux(&args, &cpu, &layout, err, sizeof(err)) < 0)
		fatal(LOOM_EXIT_LOAD, "%s", err);
	if (log_enabled(LOG_CPU_RESET))
		log_boot_state(&layout, &cpu);
	log_flush();
	if (system_opts.monitor.kind != CHARDEV_NONE)
		serve_monitor(&cpu);
	fprintf(stderr, "loom-system: %s loaded (boot protocol %u.%02u, entry 0x%llx); "
		"the CPU does not execute guest code yet\n", system_opts.kernel, layout.version >> 8,
		layout.version & 0xff, (unsigned long long)cpu.rip);
	return SYSTEM_EXIT_NO_CPU;
}
