/*
 * AFL++ target mode, as qemuafl provides it: the edge map, the scope of
 * instrumentation, and the fork server (persistent mode: afl-persist.c).
 *
 * Edge map.  Every TB whose first instruction is in scope starts with
 * inline IR, no call:
 *
 *     prev = instrument_vcpu(env)->afl_prev_loc
 *     area[cur ^ prev] += 1, and 255 + 1 becomes 1 (never zero)
 *     instrument_vcpu(env)->afl_prev_loc = cur >> 1
 *
 * where cur = ((pc >> 4) ^ (pc << 8)) & mask is a translation-time constant,
 * as in AFL++'s QEMU mode.  The map is afl-fuzz's shared memory
 * (__AFL_SHM_ID), attached before the first translation, so its address is
 * a constant in the code too.
 *
 * Scope: the main program's code by default; AFL_INST_LIBS=1 for
 * everything; AFL_QEMU_INST_RANGES / AFL_QEMU_EXCLUDE_RANGES for lists of
 * 0xSTART-0xEND (end exclusive) or module names (a substring of the mapped
 * file's path).  Exclusions win.
 *
 * Fork server.  At the program's entry point (after the dynamic loader has
 * run), at AFL_ENTRYPOINT, or in persistent mode at the loop's start, a helper call in that TB greets afl-fuzz on
 * fd 199 and loops: read a command on 198, fork (a guest-style fork: the
 * child gets its own code cache), report the pid, wait, report the status.
 * The child returns from the helper into the TB and runs the test case.  A
 * guest crash kills the child with the guest's signal (linux_die_by_signal);
 * a loom error exits with LOOM_EXIT_INTERNAL and a "loom:" line, so afl-fuzz
 * never counts loom's own failures as crashes.
 *
 * CompCov (AFL_COMPCOV_LEVEL) is a helper call before compares; so is
 * CMPLOG (afl-fuzz -c 0, afl-cmplog.c), which replaces CompCov in its run.
 *
 * Handshakes: the old one (one status word: FS_OPT_ENABLED | FS_OPT_NEWCMPLOG
 * | FS_OPT_MAPSIZE with the map size, | FS_OPT_SHDMEM_FUZZ when the persistent hook takes
 * test cases from shared memory, in which case afl-fuzz answers with one
 * word) is the default, because every afl-fuzz understands it; the
 * version-1 one ("AFL\1", afl-fuzz answers its complement, then options,
 * map size, "AFL\1" again) is chosen with LOOM_AFL_FORKSRV_V1=1.
 *
 * Warm cache: a child writes every TB it translates and every jump it
 * chains to a pipe (non-blocking: a full pipe loses reports, never blocks
 * the child); after the child ends the server translates and chains the
 * same, so the next children find them done.  The server never runs guest
 * code again after it started, so only it translates into its cache.
 *
 * Invariant: nothing here runs unless loom is afl-fuzz's target; a TB's
 * instrumentation depends only on its pc and fixed settings, so the server's
 * translations are exactly what a child would make.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>
#include "guest/guest.h"
#include "instrument/afl-internal.h"
#include "instrument/instrument.h"
#include "util/log.h"
#include "util/ownfd.h"

#define FORKSRV_FD 198
#define MAP_SIZE_DEFAULT (1u << 16)

/* The old handshake's status word. */
#define FS_OPT_ENABLED 0x80000001u
#define FS_OPT_MAPSIZE 0x40000000u
#define FS_OPT_SHDMEM_FUZZ 0x01000000u
/* "This loader's CMPLOG is the current one": afl-fuzz refuses a CMPLOG
 * fork server without it.  Always set, as qemuafl does. */
#define FS_OPT_NEWCMPLOG 0x02000000u
#define FS_OPT_MAX_MAPSIZE ((0x00fffffeu >> 1) + 1)
#define FS_OPT_SET_MAPSIZE(x) (((x) - 1) << 1)
/* Version 1: "AFL" and the version, little-endian. */
#define FS_NEW_HELLO (0x41464c00u + 1)
#define FS_NEW_OPT_MAPSIZE 0x1u
#define FS_NEW_OPT_SHDMEM_FUZZ 0x2u

struct afl afl;
uint32_t afl_helper_base;

static bool debug;
static struct instrument_tool edge_tool;

/* ---- environment ---- */

static uint64_t env_hex(const char *name, const char *s)
{
	char *end;
	errno = 0;
	uint64_t v = strtoull(s, &end, 16);
	if (errno || end == s || *end)
		fatal(LOOM_EXIT_USAGE, "%s: '%s' is not a hex address", name, s);
	return v;
}

uint64_t afl_env_addr(const char *name, bool *set)
{
	const char *s = getenv(name);
	*set = s && *s;
	if (!*set)
		return 0;
	uint64_t v = env_hex(name, s);
	/* A position-independent program lies wherever loom mapped it: an
	 * address below its span is taken as an offset into it. */
	struct instrument_image im;
	instrument_env.image(&im);
	if (im.load_bias && v < im.image_hi - im.image_lo)
		v += im.load_bias;
	return v;
}

/* ---- scope ---- */

struct range {
	uint64_t lo, hi;
	const char *module;	/* or NULL */
};
static struct range *incl, *excl;
static int nincl, nexcl;
static bool inst_libs;

static int parse_ranges(const char *name, struct range **out)
{
	const char *s = getenv(name);
	int n = 0;
	if (!s || !*s)
		return 0;
	char *list = strdup(s), *save = NULL;
	*out = calloc(strlen(s) / 2 + 2, sizeof(**out));
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(t, '-');
		struct range *r = &(*out)[n++];
		if (!strncmp(t, "0x", 2) && dash) {
			*dash = 0;
			r->lo = env_hex(name, t);
			r->hi = env_hex(name, dash + 1);
			if (r->hi <= r->lo)
				fatal(LOOM_EXIT_USAGE, "%s: empty range %s-%s", name, t, dash + 1);
		} else {
			r->module = t;
		}
	}
	return n;
}

/* The mappings whose module names were looked up, with the answer. */
#define SEEN_MAX 64
static struct seen {
	uint64_t lo, hi;
	int8_t incl, excl;
} seen[SEEN_MAX];
static int nseen;

static bool module_matches(const struct range *r, int n, const char *path)
{
	for (int i = 0; i < n; i++)
		if (r[i].module && path && strstr(path, r[i].module))
			return true;
	return false;
}

/* Which module holds pc: one read of /proc/self/maps per new mapping. */
static const struct seen *lookup_module(uint64_t pc)
{
	for (int i = 0; i < nseen; i++)
		if (pc >= seen[i].lo && pc < seen[i].hi)
			return &seen[i];
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096];
	struct seen s = { pc, pc + 1, 0, 0 };
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		int off = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) < 2 || pc < lo ||
		    pc >= hi)
			continue;
		char *path = off ? line + off : NULL;
		if (path)
			path[strcspn(path, "\n")] = 0;
		s = (struct seen){ lo, hi, module_matches(incl, nincl, path),
				   module_matches(excl, nexcl, path) };
		break;
	}
	if (f)
		fclose(f);
	if (nseen == SEEN_MAX)
		nseen = 0;	/* forget: rare, and only costs a re-read */
	seen[nseen] = s;
	return &seen[nseen++];
}

static bool in_ranges(const struct range *r, int n, uint64_t pc, bool *named)
{
	for (int i = 0; i < n; i++) {
		if (r[i].module)
			*named = true;
		else if (pc >= r[i].lo && pc < r[i].hi)
			return true;
	}
	return false;
}

static bool in_scope(uint64_t pc)
{
	bool named = false;
	if (in_ranges(excl, nexcl, pc, &named) || (named && lookup_module(pc)->excl))
		return false;
	if (inst_libs)
		return true;
	if (nincl) {
		named = false;
		if (in_ranges(incl, nincl, pc, &named))
			return true;
		return named && lookup_module(pc)->incl;
	}
	struct instrument_image im;
	instrument_env.image(&im);
	return pc >= im.start_code && pc < im.end_code;
}

/* The program's entry point, as the environment loaded it. */
static uint64_t entry_point(void)
{
	struct instrument_image im;
	instrument_env.image(&im);
	return im.entry;
}

/* ---- instrumentation ---- */

static inline ir_ref k64(struct ir_ctx *ir, uint64_t v) { return ir_const(ir, IR_I64, v); }

static void emit_edge(struct ir_ctx *ir, uint64_t pc)
{
	uint64_t cur = ((pc >> 4) ^ (pc << 8)) & afl.inst_mask;
	ir_ref prev = ir_new_temp(ir, IR_I64), idx = ir_new_temp(ir, IR_I64);
	ir_ref p = ir_new_temp(ir, IR_I64), v = ir_new_temp(ir, IR_I64);
	ir_ref v1 = ir_new_temp(ir, IR_I64), carry = ir_new_temp(ir, IR_I64);
	ir_ref v2 = ir_new_temp(ir, IR_I64);

	ir_emit(ir, IR_ld_env, IR_I64, (ir_ref[]){ prev }, (int64_t[]){ afl.prev_off, IR_MO_64 });
	ir_op2(ir, IR_xor, IR_I64, idx, prev, k64(ir, cur));
	ir_op2(ir, IR_add, IR_I64, p, idx, k64(ir, (uintptr_t)afl.area));
	ir_emit(ir, IR_ld_ptr, IR_I64, (ir_ref[]){ v, p }, (int64_t[]){ 0, IR_MO_8 });
	/* Never zero: a counter at 255 goes to 1 (256 + 256 >> 8 = 257). */
	ir_op2(ir, IR_add, IR_I64, v1, v, k64(ir, 1));
	ir_op2(ir, IR_shr, IR_I64, carry, v1, k64(ir, 8));
	ir_op2(ir, IR_add, IR_I64, v2, v1, carry);
	ir_emit(ir, IR_st_ptr, IR_I64, (ir_ref[]){ v2, p }, (int64_t[]){ 0, IR_MO_8 });
	ir_emit(ir, IR_st_env, IR_I64, (ir_ref[]){ k64(ir, cur >> 1) },
		(int64_t[]){ afl.prev_off, IR_MO_64 });
}

static void afl_tb_start(struct ir_ctx *ir, const struct tb *tb, void *opaque)
{
	if (tb->pc == afl.entry && !afl.fs_started) {
		ir_op1(ir, IR_mov, IR_I64, guest_ir_pc(), k64(ir, tb->pc));
		ir_call(ir, afl_helper_base + AFL_H_START, 0, (ir_ref[]){ ir->env }, 1);
	}
	afl_persist_tb(ir, tb->pc);
	if (in_scope(tb->pc))
		emit_edge(ir, tb->pc);
}

/* ---- CompCov: multi-byte compares, a byte at a time ----
 * AFL_COMPCOV_LEVEL=1: a compare of a register with an immediate; 2: with
 * another register too.  Before such an instruction (in scope) a helper
 * call compares the operands from the most significant byte down and bumps
 * one map entry per matching byte (size - 1 entries at cur, cur + 1, ...),
 * so afl-fuzz sees progress towards a magic value byte by byte.  A call per
 * compare, as in qemuafl: the operands are only known there. */
static int compcov_level;

static void afl_helper_compcov(uint64_t env, uint64_t desc, uint64_t imm, uint64_t idx)
{
	void *cpu = (void *)(uintptr_t)env;
	unsigned size = desc >> 16 & 0xff;
	int reg2 = (int)(desc >> 8 & 0xff) - 1;
	uint64_t a = guest_gpr(cpu, desc & 0xff), b = reg2 >= 0 ? guest_gpr(cpu, reg2) : imm;
	uint64_t diff = a ^ b;

	for (unsigned i = size - 1, k = 0; i > 0; i--, k++) {
		if (diff >> (8 * i) & 0xff)
			break;
		uint8_t *p = &afl.area[(idx + k) & afl.inst_mask];
		*p = *p + 1 + (*p == 255);
	}
}

static void afl_insn(struct ir_ctx *ir, const struct tb *tb, uint64_t pc, const uint8_t *code,
		     unsigned len, void *opaque)
{
	struct guest_cmp c;
	/* The CMPLOG run logs compares instead of splitting them, as qemuafl. */
	if (afl_cmplog_active()) {
		if (in_scope(pc))
			afl_cmplog_insn(ir, pc, code, len);
		return;
	}
	if (!compcov_level || !guest_insn_cmp(code, len, &c) || (c.reg2 >= 0 && compcov_level < 2) ||
	    !in_scope(pc))
		return;
	uint64_t cur = ((pc >> 4) ^ (pc << 8)) & afl.inst_mask;
	uint64_t desc = (uint64_t)c.reg | (uint64_t)(c.reg2 + 1) << 8 | (uint64_t)c.size << 16;
	ir_op1(ir, IR_mov, IR_I64, guest_ir_pc(), k64(ir, pc));
	ir_call(ir, afl_helper_base + AFL_H_COMPCOV, 0,
		(ir_ref[]){ ir->env, k64(ir, desc), k64(ir, c.imm), k64(ir, cur) }, 4);
}

/* ---- warm cache: reports from the children ---- */

struct tsl {
	uint64_t pc, to;
	uint32_t flags;
	int32_t n;		/* -1: a translation; else the chained exit */
};
static int tsl_fd[2] = { -1, -1 };

static void report(const struct tsl *t)
{
	if (tsl_fd[1] >= 0 && write(tsl_fd[1], t, sizeof(*t)) != sizeof(*t)) {
		ownfd_drop(tsl_fd[1]);	/* full or gone: stop reporting */
		close(tsl_fd[1]);
		tsl_fd[1] = -1;
	}
}

static void report_tb(uint64_t pc, uint32_t flags)
{
	report(&(struct tsl){ .pc = pc, .flags = flags, .n = -1 });
}

static void report_chain(uint64_t from, uint32_t flags, int n, uint64_t to)
{
	report(&(struct tsl){ .pc = from, .to = to, .flags = flags, .n = n });
}

static void warm_from_child(void)
{
	struct tsl t[256];
	ssize_t r;
	while ((r = read(tsl_fd[0], t, sizeof(t))) > 0) {
		for (size_t i = 0; i < (size_t)r / sizeof(t[0]); i++) {
			if (t[i].n < 0)
				exec_pretranslate(t[i].pc, t[i].flags);
			else
				exec_prechain(t[i].pc, t[i].flags, t[i].n, t[i].to);
		}
	}
}

/* A fresh pipe per child: a child that died mid-write leaves no torn
 * record for the next one. */
static void tsl_open(void)
{
	for (int i = 0; i < 2; i++)
		if (tsl_fd[i] >= 0) {
			ownfd_drop(tsl_fd[i]);
			close(tsl_fd[i]);
			tsl_fd[i] = -1;
		}
	if (getenv("AFL_QEMU_DISABLE_CACHE"))
		return;
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return;
	/* Out of the guest's way: its next open() must get the lowest fd. */
	for (int i = 0; i < 2; i++)
		tsl_fd[i] = ownfd_take(p[i], &tsl_fd[i], NULL);
	fcntl(tsl_fd[1], F_SETPIPE_SZ, 1 << 20);
}

/* ---- fork server ---- */

static void fs_write(uint32_t v)
{
	if (write(FORKSRV_FD + 1, &v, 4) != 4)
		_exit(0);	/* afl-fuzz is gone */
}

static uint32_t fs_read(void)
{
	uint32_t v;
	ssize_t r;
	do
		r = read(FORKSRV_FD, &v, 4);
	while (r < 0 && errno == EINTR);
	if (r != 4)
		_exit(0);
	return v;
}

static void attach_fuzz_shm(void)
{
	const char *id = getenv("__AFL_SHM_FUZZ_ID");
	void *m = id ? shmat(atoi(id), NULL, 0) : (void *)-1;
	if (m == (void *)-1)
		fatal(LOOM_EXIT_USAGE, "afl: cannot attach the test-case memory (__AFL_SHM_FUZZ_ID=%s)",
		      id ? id : "");
	afl.fuzz_len = m;
	afl.fuzz_buf = (uint8_t *)m + 4;
}

static void handshake(void)
{
	bool shm = afl.shm_fuzz && getenv("__AFL_SHM_FUZZ_ID");
	const char *v1 = getenv("LOOM_AFL_FORKSRV_V1");

	if (v1 && *v1 && strcmp(v1, "0")) {
		fs_write(FS_NEW_HELLO);
		if (fs_read() != (FS_NEW_HELLO ^ 0xffffffffu))
			fatal(LOOM_EXIT_USAGE, "afl: the fuzzer does not speak fork-server version 1");
		fs_write(FS_NEW_OPT_MAPSIZE | (shm ? FS_NEW_OPT_SHDMEM_FUZZ : 0));
		fs_write(afl.map_size);
		fs_write(FS_NEW_HELLO);
	} else {
		uint32_t st = FS_OPT_ENABLED | FS_OPT_NEWCMPLOG;
		if (afl.map_size <= FS_OPT_MAX_MAPSIZE)
			st |= FS_OPT_MAPSIZE | FS_OPT_SET_MAPSIZE(afl.map_size);
		if (shm)
			st |= FS_OPT_SHDMEM_FUZZ;
		fs_write(st);
		if (shm && (fs_read() & (FS_OPT_ENABLED | FS_OPT_SHDMEM_FUZZ)) !=
				   (FS_OPT_ENABLED | FS_OPT_SHDMEM_FUZZ))
			fatal(LOOM_EXIT_USAGE, "afl: the fuzzer refused shared-memory test cases");
	}
	if (shm)
		attach_fuzz_shm();
	if (debug)
		fprintf(stderr, "loom: afl: fork server up (map size %u, %s handshake%s)\n",
			afl.map_size, v1 && *v1 && strcmp(v1, "0") ? "version-1" : "old",
			shm ? ", shared-memory test cases" : "");
}

static void child_start(struct cpu *cpu)
{
	/* A persistent child waits stopped between test cases: it must not
	 * outlive a server that is gone. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(0);
	close(FORKSRV_FD);
	close(FORKSRV_FD + 1);
	if (tsl_fd[0] >= 0)
		close(tsl_fd[0]);
	tsl_fd[0] = -1;
	afl.child = true;
	if (tsl_fd[1] >= 0) {
		exec_tb_hook = report_tb;
		exec_chain_hook = report_chain;
	}
	instrument_vcpu(cpu)->afl_prev_loc = 0;
}

/* The helper in the entry TB.  Returns only in a child (or at once when
 * there is no fork server: afl-showmap-style runs with the map only). */
static void afl_helper_start(uint64_t env)
{
	struct cpu *cpu = (struct cpu *)(uintptr_t)env;
	pid_t child = -1;
	bool stopped = false;
	int status;

	if (afl.fs_started)
		return;
	afl.fs_started = true;
	if (!afl.fds)
		return;
	handshake();
	exec_fork_cow(true);
	for (;;) {
		uint32_t was_killed = fs_read();
		/* A stopped persistent child that afl-fuzz killed (timeout):
		 * reap it and start a new one. */
		if (stopped && was_killed) {
			stopped = false;
			while (waitpid(child, &status, 0) < 0 && errno == EINTR)
				;
		}
		if (!stopped) {
			tsl_open();
			int64_t pid = instrument_env.fork(cpu);
			if (pid < 0)
				fatal(LOOM_EXIT_INTERNAL, "afl: fork failed: %s", strerror((int)-pid));
			if (pid == 0) {
				child_start(cpu);
				return;
			}
			child = (pid_t)pid;
			if (tsl_fd[1] >= 0)
				close(tsl_fd[1]);
			tsl_fd[1] = -1;
		} else {
			kill(child, SIGCONT);
			stopped = false;
		}
		fs_write((uint32_t)child);
		while (waitpid(child, &status, afl_persist_active() ? WUNTRACED : 0) < 0) {
			if (errno != EINTR)
				fatal(LOOM_EXIT_INTERNAL, "afl: waitpid: %m");
		}
		stopped = WIFSTOPPED(status);
		fs_write((uint32_t)status);
		/* afl-fuzz is busy with the result meanwhile.  Not while a
		 * stopped child may still look at our cache (it maps it
		 * copy-on-write: our patches would show through). */
		if (tsl_fd[0] >= 0 && !stopped)
			warm_from_child();
	}
}

static const struct ir_helper afl_helpers[] = {
	[AFL_H_START] = { "afl_start", afl_helper_start, 0, 1, false },
	[AFL_H_PERSIST_ENTRY] = { "afl_persist_entry", afl_helper_persist_entry, 0, 1, true },
	[AFL_H_PERSIST_RET] = { "afl_persist_ret", afl_helper_persist_ret, 0, 1, true },
	[AFL_H_COMPCOV] = { "afl_compcov", afl_helper_compcov, IR_CALL_NO_WRITE_GLOBALS, 4, false },
	/* May fault: a compare's memory operand is read as the instruction reads it. */
	[AFL_H_CMPLOG] = { "afl_cmplog", afl_helper_cmplog,
			   IR_CALL_NO_WRITE_GLOBALS | IR_CALL_MAY_FAULT, 5, false },
};

void afl_ir_init(struct ir_ctx *ir)
{
	afl_helper_base = ir_add_helpers(ir, afl_helpers, sizeof(afl_helpers) / sizeof(afl_helpers[0]));
}

/* ---- setup ---- */

static bool env_on(const char *name)
{
	const char *s = getenv(name);
	return s && *s && strcmp(s, "0");
}

void afl_setup(void)
{
	const char *shm = getenv("__AFL_SHM_ID");

	afl.fds = fcntl(FORKSRV_FD, F_GETFD) >= 0 && fcntl(FORKSRV_FD + 1, F_GETFD) >= 0;
	if ((!shm || !*shm) && !afl.fds)
		return;
	debug = env_on("AFL_DEBUG");

	afl.map_size = MAP_SIZE_DEFAULT;
	const char *ms = getenv("AFL_MAP_SIZE");
	if (!ms)
		ms = getenv("AFL_MAPSIZE");
	if (ms && *ms) {
		char *end;
		unsigned long v = strtoul(ms, &end, 0);
		if (*end || v < 64 || v > (1ul << 30))
			fatal(LOOM_EXIT_USAGE, "AFL_MAP_SIZE: '%s' is not a size from 64 to 2^30", ms);
		afl.map_size = (uint32_t)v;
	}
	/* Edges index a power of two no larger than the map. */
	uint32_t pow2 = 1;
	while (pow2 * 2 <= afl.map_size)
		pow2 *= 2;
	afl.inst_mask = pow2 - 1;

	if (shm && *shm) {
		void *m = shmat(atoi(shm), NULL, 0);
		if (m == (void *)-1)
			fatal(LOOM_EXIT_USAGE, "afl: cannot attach the coverage map (__AFL_SHM_ID=%s): %m",
			      shm);
		afl.area = m;
	} else {
		afl.area = calloc(1, afl.map_size);
		if (!afl.area)
			fatal(LOOM_EXIT_INTERNAL, "out of memory");
	}
	afl.prev_off = instrument_vcpu_off + (int32_t)offsetof(struct instrument_vcpu, afl_prev_loc);

	inst_libs = env_on("AFL_INST_LIBS");
	nincl = parse_ranges("AFL_QEMU_INST_RANGES", &incl);
	nexcl = parse_ranges("AFL_QEMU_EXCLUDE_RANGES", &excl);
	bool set;
	afl_persist_setup();
	/* The server starts at the program's entry, or in persistent mode at
	 * the loop itself: then every iteration of a child, its first
	 * included, runs the same code (stable maps) and none pays for the
	 * program's start. */
	afl.entry = afl_env_addr("AFL_ENTRYPOINT", &set);
	if (!set)
		afl.entry = afl_persist_active() ? afl_persist_addr() : entry_point();
	afl_cmplog_setup();
	const char *cc = getenv("AFL_COMPCOV_LEVEL");
	if (cc && *cc) {
		char *end;
		compcov_level = (int)strtol(cc, &end, 10);
		if (*end || compcov_level < 0)
			fatal(LOOM_EXIT_USAGE, "AFL_COMPCOV_LEVEL: '%s' is not 0, 1 or 2", cc);
	}

	edge_tool = (struct instrument_tool){ .name = "afl", .enabled = true,
					      .tb_start = afl_tb_start,
					      .insn = compcov_level || afl_cmplog_active() ? afl_insn
											   : NULL };
	instrument_add_tool(&edge_tool);
	if (debug)
		fprintf(stderr, "loom: afl: map %u bytes at %p, entry 0x%lx, %s%s\n", afl.map_size,
			(void *)afl.area, (unsigned long)afl.entry,
			afl.fds ? "fork server" : "no fork server",
			afl_cmplog_active() ? ", CMPLOG" : "");
}
