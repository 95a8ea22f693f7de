/*
 * loom's command line, in qemu-user's conventions:
 *
 *   loom [options] program [arguments...]
 *
 * Options are single-dash words (two dashes are accepted too) and stop at the
 * first argument that is not an option, so the guest's own options are never
 * ours.  Every usage error is one line "loom: ..." and exit status 1.
 *
 * main() parses, sets up logging and the guest environment, records the
 * options a re-exec must repeat (linux_opts.loom_argv: execve in the guest
 * starts a new loom), then hands over to the linux layer, which never
 * returns.  One table lists the options; -help is printed from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "exec/exec.h"
#include "exec/guest-mem.h"
#include "guest/guest.h"
#include "guest/x86/cpu.h"
#include "guest/x86/cpuid.h"
#include "instrument/control.h"
#include "instrument/cov.h"
#include "instrument/covfile.h"
#include "instrument/afl.h"
#include "instrument/instrument.h"
#include "linux/linux.h"
#include "util/log.h"
#include "util/ownfd.h"

#define LOOM_VERSION "0.1.0"

extern char **environ;

/* Everything the options decide, before it is applied. */
static struct {
	const char *log_path;
	bool log_append;
	const char *argv0;
	long nofile_soft;	/* -nofile-soft: the guest's soft RLIMIT_NOFILE, or -1 */
	long nofile_hard;	/* -nofile-hard: the guest's hard RLIMIT_NOFILE, or -1 */
	char **env;		/* the guest environment being edited */
	size_t nenv;
	char **pass;		/* options a re-exec repeats */
	int npass;
} cl;

static void pass_on(const char *a, const char *b)
{
	cl.pass[cl.npass++] = (char *)a;
	if (b)
		cl.pass[cl.npass++] = (char *)b;
}

static noreturn void usage(void);

static void opt_help(const char *arg) { usage(); }

static void opt_version(const char *arg)
{
	printf("loom version " LOOM_VERSION "\n");
	exit(0);
}

static void opt_d(const char *arg)
{
	log_option_d(arg);
	pass_on("-d", arg);
}

static void opt_D(const char *arg) { cl.log_path = arg; }
static void opt_log_append(const char *arg) { cl.log_append = true; }

static void opt_strace(const char *arg)
{
	linux_opts.strace = true;
	log_mask |= LOG_STRACE;
	pass_on("-strace", NULL);
}

static void opt_one_insn(const char *arg)
{
	exec_opts.single_insn = true;
	pass_on("-one-insn-per-tb", NULL);
}

static void opt_nochain(const char *arg)
{
	exec_opts.nochain = true;
	pass_on("-nochain", NULL);
}

static void opt_perfmap(const char *arg)
{
	exec_opts.perfmap = true;
	pass_on("-perfmap", NULL);
}

static void env_unset(const char *name, size_t len)
{
	size_t j = 0;
	for (size_t i = 0; i < cl.nenv; i++)
		if (strncmp(cl.env[i], name, len) || cl.env[i][len] != '=')
			cl.env[j++] = cl.env[i];
	cl.nenv = j;
	cl.env[j] = NULL;
}

static void opt_E(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		fatal(LOOM_EXIT_USAGE, "-E expects var=value, not '%s'", arg);
	env_unset(arg, (size_t)(eq - arg));
	cl.env[cl.nenv++] = (char *)arg;
	cl.env[cl.nenv] = NULL;
}

static void opt_U(const char *arg)
{
	if (!*arg || strchr(arg, '='))
		fatal(LOOM_EXIT_USAGE, "-U expects a variable name, not '%s'", arg);
	env_unset(arg, strlen(arg));
}

static void opt_0(const char *arg) { cl.argv0 = arg; }

static void opt_nofile_soft(const char *arg)
{
	char *end;
	cl.nofile_soft = strtol(arg, &end, 10);
	if (*end || cl.nofile_soft < 0)
		fatal(LOOM_EXIT_USAGE, "-nofile-soft needs a number, not '%s'", arg);
}

static void opt_nofile_hard(const char *arg)
{
	char *end;
	cl.nofile_hard = strtol(arg, &end, 10);
	if (*end || cl.nofile_hard < 0)
		fatal(LOOM_EXIT_USAGE, "-nofile-hard needs a number, not '%s'", arg);
}

static const char *cpu_model;
static bool no_follow_exec;

static void opt_no_follow_exec(const char *arg)
{
	no_follow_exec = true;
}

static void opt_cpu(const char *arg)
{
	if (!strcmp(arg, "help")) {
		x86_list_levels(stdout);
		exit(0);
	}
	cpu_model = arg;
	pass_on("-cpu", arg);
}

static void opt_plugin(const char *arg)
{
	char *spec = instrument_add_plugin(arg);
	if (!spec)
		exit(LOOM_EXIT_USAGE);	/* the line saying why is printed */
	pass_on("-plugin", spec);
}

static const char *control_path;
static bool want_cov;

static void opt_cov(const char *arg)
{
	cov_opts.path = arg;
	want_cov = true;
}

static void opt_cov_format(const char *arg)
{
	int f = cov_format_parse(arg);
	if (f < 0)
		fatal(LOOM_EXIT_USAGE, "-cov-format %s: unknown format (drcov, modoff, lcov, bitmap)",
		      arg);
	cov_opts.format = f;
	want_cov = true;
}

static void opt_cov_hits(const char *arg)
{
	cov_opts.hits = true;
	want_cov = true;
}

/* -cov-bitmap MODULE[:START-END][,gran=N] or 0xSTART-0xEND[,gran=N] */
static void opt_cov_bitmap(const char *arg)
{
	char *spec = strdup(arg), *gran = strstr(spec, ",gran=");
	if (gran) {
		char *end;
		unsigned long g = strtoul(gran + 6, &end, 0);
		if (*end || !g || g > (1u << 20))
			fatal(LOOM_EXIT_USAGE, "-cov-bitmap %s: bad granularity", arg);
		cov_opts.granularity = (unsigned)g;
		*gran = 0;
	}
	char *dash = strchr(spec, '-'), *colon = strrchr(spec, ':');
	if (spec[0] == '0' && spec[1] == 'x' && dash) {
		cov_opts.bitmap_start = strtoull(spec, NULL, 0);
		cov_opts.bitmap_end = strtoull(dash + 1, NULL, 0);
		if (cov_opts.bitmap_end <= cov_opts.bitmap_start)
			fatal(LOOM_EXIT_USAGE, "-cov-bitmap %s: empty range", arg);
	} else {
		if (colon && strchr(colon, '-')) {
			*colon = 0;
			cov_opts.bitmap_start = strtoull(colon + 1, NULL, 0);
			cov_opts.bitmap_end = strtoull(strchr(colon + 1, '-') + 1, NULL, 0);
		}
		if (!*spec)
			fatal(LOOM_EXIT_USAGE, "-cov-bitmap %s: no module or range", arg);
		cov_opts.bitmap_module = spec;
	}
	cov_opts.format = COV_BITMAP;
	want_cov = true;
}

static void opt_cov_sync(const char *arg)
{
	char *end;
	errno = 0;
	unsigned long ms = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || ms > 3600000)
		fatal(LOOM_EXIT_USAGE, "-cov-sync %s: not a number of milliseconds (0 to 3600000)",
		      arg);
	cov_opts.sync_ms = (unsigned)ms;
}

static void opt_control(const char *arg)
{
	control_path = arg;
	want_cov = true;
}

static const struct loom_option {
	const char *name, *alias;
	const char *arg;	/* NULL: takes no argument */
	void (*fn)(const char *arg);
	const char *help;
} options[] = {
	{ "h", "help", NULL, opt_help, "print this help and exit" },
	{ "version", NULL, NULL, opt_version, "print loom's version and exit" },
	{ "d", NULL, "item[,...]", opt_d, "log the given items (-d help lists them)" },
	{ "D", NULL, "logfile", opt_D, "write the log to logfile instead of stderr" },
	{ "log-append", NULL, NULL, opt_log_append,
	  "append to the -D logfile instead of truncating it (used on execve)" },
	{ "strace", NULL, NULL, opt_strace, "log the guest's system calls (-d strace)" },
	{ "one-insn-per-tb", "singlestep", NULL, opt_one_insn,
	  "translate one guest instruction per block (also -singlestep)" },
	{ "nochain", NULL, NULL, opt_nochain, "do not chain translated blocks together" },
	{ "perfmap", NULL, NULL, opt_perfmap,
	  "list each translated block in /tmp/perf-PID.map, for perf" },
	{ "no-follow-exec", NULL, NULL, opt_no_follow_exec,
	  "run programs the guest execs natively instead of under loom" },
	{ "cpu", NULL, "model", opt_cpu,
	  "CPU model: x86-64, x86-64-v2 or x86-64-v3 (default: the highest the host can run; -cpu help)" },
	{ "plugin", NULL, "file=PATH[,arg=value...]", opt_plugin,
	  "load a plugin (repeatable); PATH may be a bundled plugin's name (-plugin bb); "
	  "also LOOM_PLUGIN=SPEC[;SPEC...]" },
	{ "cov", NULL, "file", opt_cov,
	  "record block coverage from the start and write it to file at exit (drcov by default)" },
	{ "cov-format", NULL, "format", opt_cov_format,
	  "coverage file format: drcov, modoff, lcov or bitmap" },
	{ "cov-hits", NULL, NULL, opt_cov_hits, "count how often each block runs" },
	{ "cov-bitmap", NULL, "module|0xstart-0xend[,gran=N]", opt_cov_bitmap,
	  "write coverage as a bitmap over a module or address range (N bytes a bit, default 16)" },
	{ "cov-sync", NULL, "ms", opt_cov_sync,
	  "while running, rewrite the -cov file every ms milliseconds if it changed "
	  "(default 1000, 0: only at exit)" },
	{ "control", NULL, "socket", opt_control,
	  "take commands on a Unix socket (status, cov start|stop|clear|write, plugin ..., dump)" },
	{ "E", NULL, "var=value", opt_E, "set var in the guest's environment (repeatable)" },
	{ "U", NULL, "var", opt_U, "remove var from the guest's environment (repeatable)" },
	{ "0", NULL, "argv0", opt_0, "give the guest argv0 as argv[0] instead of the program path" },
	{ "nofile-soft", NULL, "n", opt_nofile_soft,
	  "start the guest with a soft RLIMIT_NOFILE of n (used on execve: loom itself "
	  "starts with the soft limit raised, so a guest with no descriptor free can exec)" },
	{ "nofile-hard", NULL, "n", opt_nofile_hard,
	  "start the guest with a hard RLIMIT_NOFILE of n while loom keeps its own, higher "
	  "one (used on execve: loom needs descriptors of its own at exec time)" },
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static noreturn void usage(void)
{
	printf("usage: loom [options] program [arguments...]\n"
	       "Run a static x86-64 Linux program through loom's binary translator.\n\n"
	       "Options:\n");
	for (size_t i = 0; i < NOPTIONS; i++) {
		char left[64];
		const struct loom_option *o = &options[i];
		/* -h's alias is listed beside it; others say so in their help. */
		bool show_alias = o->alias && strlen(o->alias) < 6;
		snprintf(left, sizeof(left), "-%s%s%s%s%s", o->name, show_alias ? ", -" : "",
			 show_alias ? o->alias : "", o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-24s %s\n", left, o->help);
	}
	printf("\nOptions may also be written with two dashes (--strace).  They end at the\n"
	       "first argument that is not an option, or after \"--\".\n");
	exit(0);
}

static const struct loom_option *find_option(const char *name)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (!strcmp(name, options[i].name) ||
		    (options[i].alias && !strcmp(name, options[i].alias)))
			return &options[i];
	return NULL;
}

static int log_fd = -1;

/* The guest asked for the log's number (dup2 onto it) and the log moved:
 * write through the new one.  The old stream is left as it is, flushed;
 * closing it would close the number the guest is about to own. */
static void log_fd_moved(int oldfd, int newfd)
{
	if (!log_file || fileno(log_file) != oldfd)
		return;
	fflush(log_file);
	FILE *f = fdopen(newfd, "a");
	if (f) {
		setvbuf(f, NULL, _IOLBF, 1 << 12);
		log_file = f;
	}
}

/* The log goes to an absolute path opened for appending, so that a guest's
 * chdir cannot send a re-exec'd loom elsewhere and loom processes sharing
 * the file (fork, execve) never write over each other.  Its descriptor is
 * moved up out of the way: the guest's first open() must still get 3. */
static void open_log(void)
{
	char *abs;
	FILE *f;
	int fd;

	if (!cl.log_path) {
		/* The log is loom's: keep a descriptor of our own for it, so a
		 * guest that closes its stderr before exiting (coreutils do)
		 * does not silence plugins' and -d output at exit. */
		fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
		log_fd = ownfd_take(fd, &log_fd, log_fd_moved);
		if (log_fd >= 0 && (f = fdopen(log_fd, "a"))) {
			setvbuf(f, NULL, _IOLBF, 1 << 12);
			log_file = f;
		}
		return;
	}
	if (cl.log_path[0] == '/') {
		abs = strdup(cl.log_path);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			fatal(LOOM_EXIT_USAGE, "-D %s: %s", cl.log_path, strerror(errno));
		size_t n = strlen(cwd) + strlen(cl.log_path) + 2;
		abs = malloc(n);
		if (abs)
			snprintf(abs, n, "%s/%s", cwd, cl.log_path);
	}
	if (!abs)
		fatal(LOOM_EXIT_USAGE, "out of memory");
	if (!cl.log_append) {
		int fd = open(abs, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (fd < 0)
			fatal(LOOM_EXIT_USAGE, "-D %s: %s", cl.log_path, strerror(errno));
		close(fd);
	}
	fd = open(abs, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (fd < 0)
		fatal(LOOM_EXIT_USAGE, "-D %s: %s", cl.log_path, strerror(errno));
	fd = log_fd = ownfd_take(fd, &log_fd, log_fd_moved);
	f = fdopen(fd, "a");
	if (!f)
		fatal(LOOM_EXIT_USAGE, "-D %s: %s", cl.log_path, strerror(errno));
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	log_file = f;
	pass_on("-log-append", NULL);
	pass_on("-D", abs);
}

int main(int argc, char **argv)
{
	int i;

	cl.nofile_soft = -1;
	cl.nofile_hard = -1;

	size_t n = 0;
	while (environ && environ[n])
		n++;
	cl.env = malloc((n + (size_t)argc + 1) * sizeof(*cl.env));
	cl.pass = malloc(((size_t)argc + 4) * sizeof(*cl.pass));
	if (!cl.env || !cl.pass)
		fatal(LOOM_EXIT_USAGE, "out of memory");
	memcpy(cl.env, environ, n * sizeof(*cl.env));
	cl.nenv = n;
	cl.env[n] = NULL;
	cl.pass[cl.npass++] = argv[0] ? argv[0] : "loom";

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *name = argv[i] + 1;
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (name[0] == '-')
			name++;
		const struct loom_option *o = find_option(name);
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
	if (i >= argc)
		fatal(LOOM_EXIT_USAGE, "no program given (try -help)");
	/* LOOM_PLUGIN: more -plugin specs, separated by ';'.  Not passed on
	 * to a re-exec as options: the variable itself is in the guest's
	 * environment, and reaches the next loom if the guest keeps it. */
	const char *env_plugins = getenv("LOOM_PLUGIN");
	if (env_plugins && *env_plugins) {
		char *list = strdup(env_plugins), *save = NULL;
		for (char *t = strtok_r(list, ";", &save); t; t = strtok_r(NULL, ";", &save))
			if (*t && !instrument_add_plugin(t))
				exit(LOOM_EXIT_USAGE);
	}
	open_log();
	cl.pass[cl.npass] = NULL;
	linux_opts.loom_argc = cl.npass;
	linux_opts.loom_argv = cl.pass;
	linux_opts.loom_path = realpath("/proc/self/exe", NULL);
	linux_opts.follow_exec = !no_follow_exec;

	const char *path = argv[i];
	char **guest_argv = &argv[i];
	if (cl.argv0)
		guest_argv[0] = (char *)cl.argv0;

	exec_guest = guest_exec_ops;
	guest_mem = linux_guest_mem;
	instrument_env = linux_instrument_env;
	instrument_attach();	/* its per-vCPU regions: before the first vCPU */
	struct cpu *cpu = exec_cpu_new();
	if (!cpu)
		fatal(LOOM_EXIT_USAGE, "out of memory");
	if (x86_select_level(cpu_model) < 0)
		exit(LOOM_EXIT_USAGE);
	x86_follow_host_vendor();	/* the host is the oracle: its vendor's quirks */
	x86_cpu_reset(cpu);
	exec_init();
	linux_signal_init();
	if (want_cov)
		cov_init();
	linux_load(path, guest_argv, cl.env, cpu);
	if (want_cov)
		cov_begin(linux_image.exe_path);
	instrument_load_plugins();
	if (control_path)
		control_start(control_path);
	afl_setup();	/* nothing unless afl-fuzz started us */
	if (cl.nofile_soft >= 0) {
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)cl.nofile_soft <= rl.rlim_max) {
			rl.rlim_cur = (rlim_t)cl.nofile_soft;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if (cl.nofile_hard >= 0)
		linux_nofile_set_guest_max((uint64_t)cl.nofile_hard);
	exec_cpu_start(cpu);
	linux_cpu_loop(cpu);
}
