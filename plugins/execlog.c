/*
 * execlog: a trace of executed instructions, with their memory accesses and
 * the registers they change.
 *
 *   -plugin execlog[,ifilter=A[-B]]...[,afilter=A[-B]]...[,sym=NAME]...
 *                  [,pid=N][,comm=NAME][,kernel=on|off]
 *                  [,reg=PATTERN]...[,mem=on|off][,outfile=PATH]
 *
 * ifilter=A or A-B (repeatable): trace only instructions at address A, or
 *   in [A, B); hex with 0x, or decimal.  range=A-B is the same.  Decided
 *   when a block is translated: instructions outside cost nothing.
 * pid=N, comm=NAME: trace only while the vCPU runs the process N (its PID
 *   as ps shows it: the thread group) or a task called NAME (both given:
 *   both must hold), as loom_plugin_current_task names it -- in
 *   loom-system the guest kernel's current task.  Whole-system mode only
 *   traces user code for these (the lower half of the address space,
 *   decided at translation) unless kernel=on, which adds the kernel's code
 *   run on the process's behalf.  The process is looked up once per block
 *   executed (a call per block: blocks of the kernel and outside ifilter
 *   ranges pay nothing); the instructions' callbacks are conditional on the
 *   answer, so another process's instructions cost an inline test each
 *   (their memory accesses, with mem=on, a call each: use mem=off for a
 *   cheap filter).
 * afilter=A or A-B (repeatable): print only instructions that access memory
 *   at A or in [A, B).
 * sym=NAME (repeatable): trace only instructions inside the ELF symbol
 *   (function) NAME.
 * reg=PATTERN (repeatable): report changes of the registers whose names
 *   match the glob PATTERN (reg=rax, reg=r1*, reg=* for all registers the
 *   API offers); reg=gprs selects the 16 general-purpose registers.  A
 *   change is reported on the line of the instruction that made it.
 * mem=off: leave out memory accesses (default on).
 * outfile=PATH: write the trace to PATH instead of the -d plugin log.
 *
 * Output, one line per executed instruction (written when the vCPU starts
 * its next instruction, so register changes are known):
 *   0, 0x401000, 48 8b 07, "mov rax, qword ptr [rdi]", load 0x7ffd0010, size 8, value 0x2a, rax=0x2a
 *   vcpu, pc, bytes, "disassembly"[, accesses...][, changed registers...]
 * A vCPU's last instruction is written at its exit or at the end of the
 * program, without register changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <loom-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

struct range {
	uint64_t start, end;		/* [start, end) */
};

struct insn_info {
	uint64_t vaddr;
	char *text;			/* "pc, bytes, \"disas\"" */
};

struct reg_track {
	struct qemu_plugin_register *handle;
	const char *name;
	GByteArray *last;
};

/* Per vCPU, in a scoreboard so it never moves. */
struct vcpu_log {
	GString *line;
	bool pending;			/* line holds an instruction not yet written */
	bool hit;			/* one of its accesses matched afilter */
	bool regs_known;		/* last values read at least once */
	bool active;			/* the process filter holds for this block */
	GArray *regs;			/* struct reg_track */
};

static struct qemu_plugin_scoreboard *logs;
static GArray *ifilters, *afilters;	/* struct range */
static GPtrArray *syms, *reg_patterns;
static bool trace_mem = true;
/* the process filter (pid=, comm=): off when neither was given */
static bool by_task, with_kernel, system_mode;
static long want_pid = -1;
static const char *want_comm;
/* per vCPU: 1 while the running block belongs to the process, so that the
 * instructions' callbacks are conditional on it (an inline test, no call,
 * for every other process) */
static struct qemu_plugin_scoreboard *active_sb;
static FILE *outfile;
static GMutex out_lock, trans_lock;
static GPtrArray *infos;		/* every struct insn_info, freed never */

static bool in_ranges(GArray *ranges, uint64_t addr)
{
	for (guint i = 0; i < ranges->len; i++) {
		struct range *r = &g_array_index(ranges, struct range, i);
		if (addr >= r->start && addr < r->end)
			return true;
	}
	return false;
}

static void emit(const char *s)
{
	if (outfile) {
		g_mutex_lock(&out_lock);
		fputs(s, outfile);
		g_mutex_unlock(&out_lock);
	} else {
		qemu_plugin_outs(s);
	}
}

static void append_value(GString *s, const guint8 *data, guint len)
{
	g_string_append(s, "0x");
	if (len <= 8) {
		uint64_t v = 0;
		for (guint i = 0; i < len; i++)
			v |= (uint64_t)data[i] << (8 * i);
		g_string_append_printf(s, "%" PRIx64, v);
	} else {
		for (guint i = len; i-- > 0;)
			g_string_append_printf(s, "%02x", data[i]);
	}
}

/* Register changes since the last look, appended to the pending line. */
static void diff_regs(struct vcpu_log *v)
{
	GByteArray *now = g_byte_array_new();

	for (guint i = 0; i < v->regs->len; i++) {
		struct reg_track *t = &g_array_index(v->regs, struct reg_track, i);

		g_byte_array_set_size(now, 0);
		if (!qemu_plugin_read_register(t->handle, now))
			continue;
		if (v->regs_known && v->pending &&
		    (now->len != t->last->len || memcmp(now->data, t->last->data, now->len))) {
			g_string_append_printf(v->line, ", %s=", t->name);
			append_value(v->line, now->data, now->len);
		}
		g_byte_array_set_size(t->last, 0);
		g_byte_array_append(t->last, now->data, now->len);
	}
	v->regs_known = true;
	g_byte_array_free(now, TRUE);
}

static void flush_line(struct vcpu_log *v)
{
	if (!v->pending)
		return;
	if (!afilters->len || v->hit) {
		g_string_append_c(v->line, '\n');
		emit(v->line->str);
	}
	v->pending = false;
}

static struct vcpu_log *vcpu_log(unsigned int vcpu)
{
	struct vcpu_log *v = qemu_plugin_scoreboard_find(logs, vcpu);

	if (!v->line)
		v->line = g_string_new(NULL);
	return v;
}

static void insn_exec(unsigned int vcpu, void *udata)
{
	struct insn_info *ii = udata;
	struct vcpu_log *v = vcpu_log(vcpu);

	if (by_task && !v->active)
		return;
	if (v->regs && v->regs->len)
		diff_regs(v);
	flush_line(v);
	g_string_printf(v->line, "%u, %s", vcpu, ii->text);
	v->pending = true;
	v->hit = false;
}

static void mem_access(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr,
		       void *udata)
{
	struct vcpu_log *v = vcpu_log(vcpu);
	qemu_plugin_mem_value val = qemu_plugin_mem_get_value(info);
	guint8 bytes[16];
	guint len = 1u << qemu_plugin_mem_size_shift(info);

	if (by_task && !v->active)
		return;
	if (afilters->len && in_ranges(afilters, vaddr))
		v->hit = true;
	if (!trace_mem)
		return;
	switch (val.type) {
	case QEMU_PLUGIN_MEM_VALUE_U8:
		memcpy(bytes, &val.data.u8, 1);
		break;
	case QEMU_PLUGIN_MEM_VALUE_U16:
		memcpy(bytes, &val.data.u16, 2);
		break;
	case QEMU_PLUGIN_MEM_VALUE_U32:
		memcpy(bytes, &val.data.u32, 4);
		break;
	case QEMU_PLUGIN_MEM_VALUE_U64:
		memcpy(bytes, &val.data.u64, 8);
		break;
	case QEMU_PLUGIN_MEM_VALUE_U128:
		memcpy(bytes, &val.data.u128.low, 8);
		memcpy(bytes + 8, &val.data.u128.high, 8);
		break;
	}
	if (len > 16)
		len = 16;
	g_string_append_printf(v->line, ", %s 0x%" PRIx64 ", size %u, value ",
			       qemu_plugin_mem_is_store(info) ? "store" : "load", vaddr,
			       1u << qemu_plugin_mem_size_shift(info));
	append_value(v->line, bytes, len);
}

/* A block with traced instructions starts: is the process the one?  This
 * runs for every such block, so the vCPU's entries are looked up once
 * (loom's scoreboard entries never move). */
#define FAST_VCPUS 64
static struct vcpu_log *fast_log[FAST_VCPUS];
static uint64_t *fast_active[FAST_VCPUS];

static void tb_exec(unsigned int vcpu, void *udata)
{
	struct vcpu_log *v;
	uint64_t *active;
	if (vcpu < FAST_VCPUS && fast_log[vcpu]) {
		v = fast_log[vcpu];
		active = fast_active[vcpu];
	} else {
		v = vcpu_log(vcpu);
		active = qemu_plugin_scoreboard_find(active_sb, vcpu);
		if (vcpu < FAST_VCPUS) {
			fast_active[vcpu] = active;
			fast_log[vcpu] = v;
		}
	}
	struct loom_task t;
	bool on = loom_plugin_current_task(vcpu, &t) && (want_pid < 0 || t.tgid == want_pid) &&
		  (!want_comm || !strcmp(t.comm, want_comm));
	if (v->active && !on)
		flush_line(v);	/* what it changed next is another process's */
	v->active = on;
	*active = on;
}

static bool wanted(struct qemu_plugin_insn *insn)
{
	uint64_t pc = qemu_plugin_insn_vaddr(insn);

	if (ifilters->len && !in_ranges(ifilters, pc))
		return false;
	if (by_task && system_mode && !with_kernel && pc >> 47)
		return false;
	if (syms->len) {
		const char *sym = qemu_plugin_insn_symbol(insn);
		bool found = false;
		for (guint i = 0; sym && i < syms->len && !found; i++)
			found = !strcmp(sym, g_ptr_array_index(syms, i));
		if (!found)
			return false;
	}
	return true;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	enum qemu_plugin_cb_flags flags = reg_patterns->len ? QEMU_PLUGIN_CB_R_REGS
							    : QEMU_PLUGIN_CB_NO_REGS;
	bool checked = false;

	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint8_t bytes[16];
		size_t size;

		if (!wanted(insn))
			continue;
		if (by_task && !checked) {
			/* before the first traced instruction's callbacks */
			qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, NULL);
			checked = true;
		}
		size = qemu_plugin_insn_data(insn, bytes, sizeof(bytes));
		GString *t = g_string_new(NULL);
		g_string_append_printf(t, "0x%" PRIx64 ", ", qemu_plugin_insn_vaddr(insn));
		for (size_t b = 0; b < size; b++)
			g_string_append_printf(t, "%s%02x", b ? " " : "", bytes[b]);
		char *disas = qemu_plugin_insn_disas(insn);
		g_string_append_printf(t, ", \"%s\"", disas);
		g_free(disas);

		struct insn_info *ii = g_new(struct insn_info, 1);
		ii->vaddr = qemu_plugin_insn_vaddr(insn);
		ii->text = g_string_free(t, FALSE);
		g_mutex_lock(&trans_lock);
		g_ptr_array_add(infos, ii);
		g_mutex_unlock(&trans_lock);

		if (by_task)
			qemu_plugin_register_vcpu_insn_exec_cond_cb(
				insn, insn_exec, flags, QEMU_PLUGIN_COND_NE,
				qemu_plugin_scoreboard_u64(active_sb), 0, ii);
		else
			qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_exec, flags, ii);
		if (trace_mem || afilters->len)
			qemu_plugin_register_vcpu_mem_cb(insn, mem_access, QEMU_PLUGIN_CB_NO_REGS,
							 QEMU_PLUGIN_MEM_RW, NULL);
	}
}

static bool reg_selected(const char *name)
{
	static const char *const gprs[] = { "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp",
					    "rsp", "r8", "r9", "r10", "r11", "r12", "r13",
					    "r14", "r15", NULL };

	for (guint i = 0; i < reg_patterns->len; i++) {
		const char *pat = g_ptr_array_index(reg_patterns, i);
		if (!strcmp(pat, "gprs")) {
			for (int g = 0; gprs[g]; g++)
				if (!strcmp(name, gprs[g]))
					return true;
		} else if (g_pattern_match_simple(pat, name)) {
			return true;
		}
	}
	return false;
}

static void vcpu_init(qemu_plugin_id_t id, unsigned int vcpu)
{
	struct vcpu_log *v = vcpu_log(vcpu);
	GArray *all = qemu_plugin_get_registers();

	v->regs = g_array_new(FALSE, TRUE, sizeof(struct reg_track));
	for (guint i = 0; all && i < all->len; i++) {
		qemu_plugin_reg_descriptor *d = &g_array_index(all, qemu_plugin_reg_descriptor, i);
		if (!reg_selected(d->name))
			continue;
		struct reg_track t = { d->handle, g_strdup(d->name), g_byte_array_new() };
		g_array_append_val(v->regs, t);
	}
	if (all)
		g_array_free(all, TRUE);
	if (vcpu == 0 && reg_patterns->len && !v->regs->len) {
		char msg[] = "execlog: no register matches the reg= patterns\n";
		emit(msg);
	}
}

static void vcpu_exit(qemu_plugin_id_t id, unsigned int vcpu)
{
	flush_line(vcpu_log(vcpu));
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	for (int i = 0; i < qemu_plugin_num_vcpus(); i++) {
		struct vcpu_log *v = qemu_plugin_scoreboard_find(logs, i);
		if (v->line)
			flush_line(v);
	}
	if (outfile)
		fflush(outfile);
}

static bool parse_range(const char *s, GArray *into)
{
	char *end;
	struct range r;

	r.start = strtoull(s, &end, 0);
	if (end == s)
		return false;
	if (*end == '-') {
		const char *e = end + 1;
		r.end = strtoull(e, &end, 0);
		if (end == e || r.end <= r.start)
			return false;
	} else {
		r.end = r.start + 1;
	}
	if (*end)
		return false;
	g_array_append_val(into, r);
	return true;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	ifilters = g_array_new(FALSE, FALSE, sizeof(struct range));
	afilters = g_array_new(FALSE, FALSE, sizeof(struct range));
	syms = g_ptr_array_new();
	reg_patterns = g_ptr_array_new();
	infos = g_ptr_array_new();
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i];
		bool ok = true;

		if (!strncmp(opt, "ifilter=", 8))
			ok = parse_range(opt + 8, ifilters);
		else if (!strncmp(opt, "range=", 6))
			ok = parse_range(opt + 6, ifilters);
		else if (!strncmp(opt, "pid=", 4)) {
			char *end;
			want_pid = strtol(opt + 4, &end, 10);
			ok = end != opt + 4 && !*end && want_pid >= 0;
			by_task = true;
		} else if (!strncmp(opt, "comm=", 5) && opt[5]) {
			want_comm = opt + 5;
			by_task = true;
		} else if (!strncmp(opt, "kernel=", 7))
			ok = qemu_plugin_bool_parse("kernel", opt + 7, &with_kernel);
		else if (!strncmp(opt, "afilter=", 8))
			ok = parse_range(opt + 8, afilters);
		else if (!strncmp(opt, "sym=", 4) && opt[4])
			g_ptr_array_add(syms, (gpointer)(opt + 4));
		else if (!strncmp(opt, "reg=", 4) && opt[4])
			g_ptr_array_add(reg_patterns, (gpointer)(opt + 4));
		else if (!strncmp(opt, "mem=", 4))
			ok = qemu_plugin_bool_parse("mem", opt + 4, &trace_mem);
		else if (!strncmp(opt, "outfile=", 8) && opt[8] && !outfile) {
			outfile = fopen(opt + 8, "w");
			if (!outfile) {
				fprintf(stderr, "execlog: cannot open %s: %m\n", opt + 8);
				return -1;
			}
		} else
			ok = false;
		if (!ok) {
			fprintf(stderr, "execlog: bad option '%s' (ifilter=, range=, afilter=, sym=, "
				"pid=, comm=, kernel=, reg=, mem=, outfile=)\n", opt);
			return -1;
		}
	}
	system_mode = info->system_emulation;
	logs = qemu_plugin_scoreboard_new(sizeof(struct vcpu_log));
	active_sb = qemu_plugin_scoreboard_new(sizeof(uint64_t));
	if (reg_patterns->len)
		qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
	qemu_plugin_register_vcpu_exit_cb(id, vcpu_exit);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
