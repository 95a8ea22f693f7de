/*
 * syscall: logs the guest's system calls, strace-style, and counts them.
 *
 *   -plugin syscall[,print=on|off][,file=PATH]
 *
 * In user mode (loom) the calls come from loom's own syscall layer, with
 * their results.  print=on: one line per call as it returns (default off:
 * statistics only):
 *     [0] write(0x1, 0x402000, 0x6) = 6
 *     [0] openat(0xffffffffffffff9c, 0x7ffd..., 0x0) = -2 (error)
 *     [0] exit_group(0x3) = ?                 calls that do not return are
 *                                             printed as they start
 *   "[N]" is the vCPU; a call loom knows no name for prints as syscall_NNN
 *   with six arguments.
 *
 * In whole-system mode (loom-system) the guest's kernel handles its calls,
 * so the plugin watches the `syscall` instruction itself: each one in user
 * code (at CPL 3) is a call, its number in rax and its arguments in rdi,
 * rsi, rdx, r10, r8, r9 as the x86-64 Linux ABI passes them, read as the
 * instruction is about to run; the caller is the guest kernel's current
 * task (loom_plugin_current_task).  Results are not seen (the kernel
 * returns with sysret or iret far away), so errors count 0.  A line per
 * call, as it starts:
 *     123 sh 1(write) 0x1, 0x7ffd1234, 0x6
 *   pid (the process: what ps calls PID), its name (comm), the number
 *   and name, the arguments; "? ?" where the task cannot be read.
 *
 * file=PATH writes the per-call lines to PATH instead of the plugin output
 * (and implies print=on).
 * At exit, every syscall seen, most called first:
 *     syscall          calls  errors
 *     write                2       0
 * An error is a return value in -4095..-1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <asm/unistd_64.h>
#include <loom-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

/* The common x86-64 Linux calls (numbers from the kernel's unistd_64.h),
 * with how many arguments each takes. */
#define SC(name, n) [__NR_##name] = { #name, n }
static const struct {
	const char *name;
	int nargs;
} names[] = {
	SC(read, 3), SC(write, 3), SC(open, 3), SC(close, 1), SC(stat, 2), SC(fstat, 2),
	SC(lstat, 2), SC(poll, 3), SC(lseek, 3), SC(mmap, 6), SC(mprotect, 3), SC(munmap, 2),
	SC(brk, 1), SC(rt_sigaction, 4), SC(rt_sigprocmask, 4), SC(rt_sigreturn, 0),
	SC(ioctl, 3), SC(pread64, 4), SC(pwrite64, 4), SC(readv, 3), SC(writev, 3),
	SC(access, 2), SC(pipe, 1), SC(select, 5), SC(sched_yield, 0), SC(mremap, 5),
	SC(msync, 3), SC(mincore, 3), SC(madvise, 3), SC(dup, 1), SC(dup2, 2), SC(pause, 0),
	SC(nanosleep, 2), SC(alarm, 1), SC(getpid, 0), SC(socket, 3), SC(connect, 3),
	SC(accept, 3), SC(sendto, 6), SC(recvfrom, 6), SC(clone, 5), SC(fork, 0), SC(vfork, 0),
	SC(execve, 3), SC(exit, 1), SC(wait4, 4), SC(kill, 2), SC(uname, 1), SC(fcntl, 3),
	SC(flock, 2), SC(fsync, 1), SC(ftruncate, 2), SC(getdents, 3), SC(getcwd, 2),
	SC(chdir, 1), SC(rename, 2), SC(mkdir, 2), SC(rmdir, 1), SC(link, 2), SC(unlink, 1),
	SC(symlink, 2), SC(readlink, 3), SC(chmod, 2), SC(umask, 1), SC(gettimeofday, 2),
	SC(getrlimit, 2), SC(getrusage, 2), SC(sysinfo, 1), SC(getuid, 0), SC(getgid, 0),
	SC(geteuid, 0), SC(getegid, 0), SC(setpgid, 2), SC(getppid, 0), SC(getpgrp, 0),
	SC(setsid, 0), SC(sigaltstack, 2), SC(statfs, 2), SC(prctl, 5), SC(arch_prctl, 2),
	SC(gettid, 0), SC(tkill, 2), SC(time, 1), SC(futex, 6), SC(sched_setaffinity, 3),
	SC(sched_getaffinity, 3), SC(getdents64, 3), SC(set_tid_address, 1),
	SC(clock_gettime, 2), SC(clock_getres, 2), SC(clock_nanosleep, 4), SC(exit_group, 1),
	SC(epoll_wait, 4), SC(epoll_ctl, 4), SC(tgkill, 3), SC(waitid, 5), SC(openat, 4),
	SC(mkdirat, 3), SC(newfstatat, 4), SC(unlinkat, 3), SC(readlinkat, 4), SC(faccessat, 3),
	SC(pselect6, 6), SC(ppoll, 5), SC(set_robust_list, 2), SC(utimensat, 4),
	SC(eventfd2, 2), SC(epoll_create1, 1), SC(dup3, 3), SC(pipe2, 2), SC(prlimit64, 4),
	SC(getrandom, 3), SC(memfd_create, 2), SC(execveat, 5), SC(statx, 5), SC(rseq, 4),
	SC(clone3, 2), SC(faccessat2, 4),
};
#define NR_NAMES (sizeof(names) / sizeof(names[0]))

struct entry {
	int64_t num;
	uint64_t args[6];
};

struct stat_row {
	int64_t num;
	uint64_t calls, errors;
};

static struct qemu_plugin_scoreboard *pending;	/* struct entry per vCPU */
static GMutex lock;
static GHashTable *stats;			/* num -> struct stat_row */
static bool print;
static FILE *trace;		/* file=PATH, else NULL: qemu_plugin_outs */

/* whole-system mode: the registers a call is read from */
static struct qemu_plugin_register *reg_rax, *reg_cs, *reg_args[6];
static const char *const arg_regs[6] = { "rdi", "rsi", "rdx", "r10", "r8", "r9" };

static void emit(const char *line)
{
	if (trace)
		fputs(line, trace);
	else
		qemu_plugin_outs(line);
}

static const char *name_of(int64_t num, char *buf, size_t len, int *nargs)
{
	if (num >= 0 && num < (int64_t)NR_NAMES && names[num].name) {
		*nargs = names[num].nargs;
		return names[num].name;
	}
	snprintf(buf, len, "syscall_%" PRId64, num);
	*nargs = 6;
	return buf;
}

static void print_call(unsigned int vcpu, const struct entry *e, const char *result)
{
	char buf[32];
	int nargs;
	const char *name = name_of(e->num, buf, sizeof(buf), &nargs);
	GString *s = g_string_new(NULL);

	g_string_append_printf(s, "[%u] %s(", vcpu, name);
	for (int i = 0; i < nargs; i++)
		g_string_append_printf(s, "%s0x%" PRIx64, i ? ", " : "", e->args[i]);
	g_string_append_printf(s, ") = %s\n", result);
	emit(s->str);
	g_string_free(s, TRUE);
}

static void count_call(int64_t num)
{
	struct stat_row *row;
	g_mutex_lock(&lock);
	row = g_hash_table_lookup(stats, &num);
	if (!row) {
		row = g_new0(struct stat_row, 1);
		row->num = num;
		g_hash_table_insert(stats, &row->num, row);
	}
	row->calls++;
	g_mutex_unlock(&lock);
}

static void vcpu_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1,
			 uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
			 uint64_t a7, uint64_t a8)
{
	struct entry *e = qemu_plugin_scoreboard_find(pending, vcpu);

	*e = (struct entry){ num, { a1, a2, a3, a4, a5, a6 } };
	count_call(num);
	/* These do not come back to report a result. */
	if (print && (num == 60 || num == 231))
		print_call(vcpu, e, "?");
}

static void vcpu_syscall_ret(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, int64_t ret)
{
	struct entry *e = qemu_plugin_scoreboard_find(pending, vcpu);
	bool error = ret < 0 && ret >= -4095;

	if (error) {
		g_mutex_lock(&lock);
		struct stat_row *row = g_hash_table_lookup(stats, &num);
		if (row)
			row->errors++;
		g_mutex_unlock(&lock);
	}
	if (print) {
		char result[48];

		if (e->num != num)	/* no matching entry seen: show what we know */
			*e = (struct entry){ .num = num };
		snprintf(result, sizeof(result), "%" PRId64 "%s", ret, error ? " (error)" : "");
		print_call(vcpu, e, result);
	}
}

/* ---- whole-system mode: the syscall instruction ---- */

static uint64_t read_reg(struct qemu_plugin_register *h)
{
	GByteArray *b = g_byte_array_new();
	uint64_t v = 0;
	if (h && qemu_plugin_read_register(h, b) > 0)
		memcpy(&v, b->data, b->len < 8 ? b->len : 8);
	g_byte_array_free(b, TRUE);
	return v;
}

static void sys_vcpu_init(qemu_plugin_id_t id, unsigned int vcpu)
{
	if (reg_rax)
		return;		/* the handles name the same registers on every vCPU */
	GArray *regs = qemu_plugin_get_registers();
	for (guint i = 0; i < regs->len; i++) {
		qemu_plugin_reg_descriptor *d = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
		if (!strcmp(d->name, "rax"))
			reg_rax = d->handle;
		else if (!strcmp(d->name, "cs"))
			reg_cs = d->handle;
		for (int a = 0; a < 6; a++)
			if (!strcmp(d->name, arg_regs[a]))
				reg_args[a] = d->handle;
	}
	g_array_free(regs, TRUE);
}

static void sys_syscall_insn(unsigned int vcpu, void *udata)
{
	if ((read_reg(reg_cs) & 3) != 3)
		return;		/* not a call from user code */
	int64_t num = (int64_t)read_reg(reg_rax);
	count_call(num);
	if (!print)
		return;
	struct loom_task task;
	char buf[32];
	int nargs;
	const char *name = name_of(num, buf, sizeof(buf), &nargs);
	GString *s = g_string_new(NULL);
	if (loom_plugin_current_task(vcpu, &task))
		g_string_append_printf(s, "%d %s ", task.tgid, task.comm);
	else
		g_string_append(s, "? ? ");
	g_string_append_printf(s, "%" PRId64 "(%s)", num, name);
	for (int i = 0; i < nargs; i++)
		g_string_append_printf(s, "%s0x%" PRIx64, i ? ", " : " ", read_reg(reg_args[i]));
	g_string_append_c(s, '\n');
	g_mutex_lock(&lock);
	emit(s->str);
	g_mutex_unlock(&lock);
	g_string_free(s, TRUE);
}

/* Hook each `syscall` (0f 05) in user code: the lower half of the address
 * space, where a CPL-3 call can be; the CS check at run time does the rest. */
static void sys_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint8_t b[2];
		if (qemu_plugin_insn_vaddr(insn) >> 47 || qemu_plugin_insn_size(insn) != 2 ||
		    qemu_plugin_insn_data(insn, b, 2) != 2 || b[0] != 0x0f || b[1] != 0x05)
			continue;
		qemu_plugin_register_vcpu_insn_exec_cb(insn, sys_syscall_insn,
						       QEMU_PLUGIN_CB_R_REGS, NULL);
	}
}

static gint by_calls_desc(gconstpointer a, gconstpointer b)
{
	const struct stat_row *x = *(struct stat_row *const *)a;
	const struct stat_row *y = *(struct stat_row *const *)b;

	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	return x->num < y->num ? -1 : x->num > y->num;
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	GPtrArray *rows = g_ptr_array_new();
	GString *out = g_string_new("syscall                calls   errors\n");
	GHashTableIter it;
	gpointer row;

	g_mutex_lock(&lock);
	g_hash_table_iter_init(&it, stats);
	while (g_hash_table_iter_next(&it, NULL, &row))
		g_ptr_array_add(rows, row);
	g_ptr_array_sort(rows, by_calls_desc);
	for (guint i = 0; i < rows->len; i++) {
		struct stat_row *r = g_ptr_array_index(rows, i);
		char buf[32];
		int nargs;

		g_string_append_printf(out, "%-20s %7" PRIu64 " %8" PRIu64 "\n",
				       name_of(r->num, buf, sizeof(buf), &nargs), r->calls,
				       r->errors);
	}
	g_mutex_unlock(&lock);
	qemu_plugin_outs(out->str);
	g_string_free(out, TRUE);
	g_ptr_array_free(rows, TRUE);
	if (trace)
		fclose(trace);
	trace = NULL;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *path = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "file=", 5) && argv[i][5]) {
			path = argv[i] + 5;
		} else if (strncmp(argv[i], "print=", 6) ||
			   !qemu_plugin_bool_parse("print", argv[i] + 6, &print)) {
			fprintf(stderr, "syscall: bad option '%s' (print=on|off, file=PATH)\n",
				argv[i]);
			return -1;
		}
	}
	if (path) {
		trace = fopen(path, "w");
		if (!trace) {
			fprintf(stderr, "syscall: file=%s: %s\n", path, strerror(errno));
			return -1;
		}
		print = true;
	}
	pending = qemu_plugin_scoreboard_new(sizeof(struct entry));
	stats = g_hash_table_new(g_int64_hash, g_int64_equal);
	if (info->system_emulation) {
		qemu_plugin_register_vcpu_init_cb(id, sys_vcpu_init);
		qemu_plugin_register_vcpu_tb_trans_cb(id, sys_tb_trans);
	} else {
		qemu_plugin_register_vcpu_syscall_cb(id, vcpu_syscall);
		qemu_plugin_register_vcpu_syscall_ret_cb(id, vcpu_syscall_ret);
	}
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
