/*
 * insn: counts executions of each guest instruction and sorts them into
 * classes by their disassembly.
 *
 *   -plugin insn[,inline=on|off][,match=TEXT]...[,top=N]
 *
 * inline=on (default): each instruction's counter is bumped by the
 *   translated code; inline=off: by a callback before each instruction.
 * match=TEXT (repeatable): instrument only instructions whose disassembly
 *   contains TEXT (e.g. match=xmm, match=call); the others are not counted.
 * top=N: how many of the most executed instructions to list (default 10).
 *
 * Classes, the first that applies (from the disassembly, Intel or AT&T syntax,
 * prefixes such as rep/lock and AT&T size suffixes skipped):
 *   branch     jmp, jcc, call, ret, loop*, jrcxz, iret
 *   float/simd x87 (f*), and anything naming mm/xmm/ymm/st registers or
 *              ldmxcsr/stmxcsr/emms
 *   load/store an access to memory: a memory operand (not lea or nop),
 *              push, pop, leave, enter, string instructions (movs, stos...)
 *   arith      integer arithmetic and logic on registers (add, cmp, shl,
 *              imul, lea, bt, popcnt, setcc, cmovcc...)
 *   other      everything else (mov between registers, nop, syscall,
 *              cpuid...)
 *
 * Output (to the -d plugin log), at exit:
 *   insns: 5678
 *   class branch: 1000 (17.6%)        one line per class, all five
 *   ...
 *   top 10 instructions:
 *     0x0000000000401000 1000 add rax, rcx
 * With match=, the first line reads "insns matching: N".  An instruction
 * at an address whose bytes change (self-modifying or JIT code) is counted
 * as a new instruction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

enum insn_class { CL_BRANCH, CL_FP, CL_MEM, CL_ARITH, CL_OTHER, CL_NUM };
static const char *const class_names[CL_NUM] = {
	[CL_BRANCH] = "branch", [CL_FP] = "float/simd", [CL_MEM] = "load/store",
	[CL_ARITH] = "arith", [CL_OTHER] = "other",
};

struct insn_rec {
	uint64_t vaddr;
	uint8_t bytes[16];
	size_t size;
	char *disas;
	enum insn_class cls;
	qemu_plugin_u64 count;
};

/* Counters come from scoreboards of CHUNK entries each: one scoreboard
 * per instruction would cost a per-vCPU allocation per instruction. */
#define CHUNK 4096
static GPtrArray *boards;
static size_t nr_counters;

static GMutex lock;
static GHashTable *by_vaddr;		/* vaddr -> the latest insn_rec there */
static GPtrArray *recs;			/* every insn_rec */
static GPtrArray *matches;
static bool do_inline = true;
static int top = 10;

static qemu_plugin_u64 counter_new(void)
{
	if (nr_counters % CHUNK == 0)
		g_ptr_array_add(boards, qemu_plugin_scoreboard_new(CHUNK * sizeof(uint64_t)));
	struct qemu_plugin_scoreboard *sb = g_ptr_array_index(boards, boards->len - 1);
	qemu_plugin_u64 e = { sb, (nr_counters++ % CHUNK) * sizeof(uint64_t) };
	return e;
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool mnem_in(const char *m, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(m, *list))
			return true;
	return false;
}

/* Does this operand (one of the ", "-separated ones) access memory?  Intel:
 * "[...]"; AT&T: "(...)", a bare address (immediates carry '$') or a
 * segment-prefixed one. */
static bool is_mem_operand(const char *op, size_t len, bool att)
{
	if (memchr(op, '[', len) || (att && memchr(op, '(', len)))
		return true;
	if (att && len && (op[0] == '-' || (op[0] >= '0' && op[0] <= '9')))
		return true;
	return att && memchr(op, ':', len);
}

static bool has_mem_operand(const char *ops, bool att)
{
	while (*ops) {
		const char *end = strstr(ops, ", ");
		size_t len = end ? (size_t)(end - ops) : strlen(ops);
		if (is_mem_operand(ops, len, att))
			return true;
		ops += len;
		if (end)
			ops += 2;
	}
	return false;
}

static enum insn_class classify(const char *disas)
{
	static const char *const prefixes[] = { "rep", "repe", "repz", "repne", "repnz", "lock",
						"bnd", "notrack", "data16", "xacquire",
						"xrelease", NULL };
	static const char *const branches[] = { "jmp", "call", "ret", "loop", "loope",
						"loopne", "iret", "iretq", "iretd", "ljmp", "lcall",
						"lret", NULL };
	static const char *const stack[] = { "push", "pop", "pushf", "popf", "leave", "enter",
					     "movsb", "movsw", "movsd", "movsq", "stosb", "stosw",
					     "stosd", "stosq", "lodsb", "lodsw", "lodsd", "lodsq",
					     "cmpsb", "cmpsw", "cmpsd", "cmpsq", "scasb", "scasw",
					     "scasd", "scasq", "xlat", "xlatb", "movs", "stos",
					     "lods", "cmps", "scas", NULL };
	static const char *const arith[] = { "add", "adc", "sub", "sbb", "inc", "dec", "neg",
					     "not", "and", "or", "xor", "shl", "sal", "shr", "sar",
					     "rol", "ror", "rcl", "rcr", "shld", "shrd", "imul",
					     "mul", "idiv", "div", "cmp", "test", "lea", "bt",
					     "bts", "btr", "btc", "bsf", "bsr", "popcnt", "lzcnt",
					     "tzcnt", "andn", "bextr", "blsi", "blsr", "blsmsk",
					     "bzhi", "pdep", "pext", "shlx", "shrx", "sarx", "rorx",
					     "mulx", "adcx", "adox", "bswap", "xadd", "cmpxchg",
					     "cdq", "cqo", "cwd", "cdqe", "cwde", "cbw", "movzx",
					     "movsx", "movsxd", NULL };
	/* AT&T spellings that suffix-stripping would get wrong or miss */
	static const char *const att_arith[] = { "movzbl", "movzbw", "movzbq", "movzwl",
						 "movzwq", "movsbl", "movsbw", "movsbq", "movswl",
						 "movswq", "movslq", "cltq", "cqto", "cltd", "cwtl",
						 "cbtw", "cwtd", NULL };
	static const char *const fp_misc[] = { "ldmxcsr", "stmxcsr", "emms", "fxsave",
					       "fxrstor", "fxsave64", "fxrstor64", NULL };
	char mnem[32];
	const char *p = disas, *ops;

	for (;;) {
		size_t n = strcspn(p, " ");
		if (n >= sizeof(mnem))
			n = sizeof(mnem) - 1;
		memcpy(mnem, p, n);
		mnem[n] = 0;
		ops = p + n;
		while (*ops == ' ')
			ops++;
		if (!mnem_in(mnem, prefixes) || !*ops)
			break;
		p = ops;
	}
	/* loom prints AT&T or Intel syntax; AT&T names registers with '%'
	 * and may suffix the mnemonic with the operand size */
	bool att = strchr(ops, '%') || strchr(ops, '$');
	bool mem = has_mem_operand(ops, att);
	size_t len = strlen(mnem);
	char base[32];

	memcpy(base, mnem, len + 1);
	if (att && len > 2 && strchr("bwlq", mnem[len - 1]) && !mnem_in(mnem, att_arith) &&
	    !mnem_in(mnem, stack) && !mnem_in(mnem, branches) && !mnem_in(mnem, arith))
		base[len - 1] = 0;

	if (mnem[0] == 'j' || mnem_in(base, branches))
		return CL_BRANCH;
	if ((mnem[0] == 'f' && strcmp(mnem, "fence")) || strstr(ops, "mm") ||
	    strstr(ops, "st") == ops || strstr(ops, ", st") || strstr(ops, "%st") ||
	    mnem_in(base, fp_misc))
		return CL_FP;
	if ((mem && strcmp(base, "lea") && strcmp(base, "nop")) || mnem_in(base, stack))
		return CL_MEM;
	if (mnem_in(base, arith) || mnem_in(mnem, att_arith) || starts(mnem, "set") ||
	    starts(mnem, "cmov"))
		return CL_ARITH;
	return CL_OTHER;
}

static bool wanted(const char *disas)
{
	if (!matches)
		return true;
	for (guint i = 0; i < matches->len; i++)
		if (strstr(disas, g_ptr_array_index(matches, i)))
			return true;
	return false;
}

static void insn_exec(unsigned int vcpu, void *udata)
{
	struct insn_rec *r = udata;

	qemu_plugin_u64_add(r->count, vcpu, 1);
}

/* The record for this instruction: the existing one if the same bytes were
 * seen at this address before (a retranslation), else a new one.  NULL if
 * the instruction is filtered out.  Called with lock held. */
static struct insn_rec *lookup(struct qemu_plugin_insn *insn)
{
	uint64_t vaddr = qemu_plugin_insn_vaddr(insn);
	struct insn_rec *r = g_hash_table_lookup(by_vaddr, &vaddr);
	uint8_t bytes[16];
	size_t size = qemu_plugin_insn_data(insn, bytes, sizeof(bytes));

	if (r && r->size == size && !memcmp(r->bytes, bytes, size))
		return r->disas ? r : NULL;
	r = g_new0(struct insn_rec, 1);
	r->vaddr = vaddr;
	r->size = size;
	memcpy(r->bytes, bytes, size);
	char *disas = qemu_plugin_insn_disas(insn);
	if (wanted(disas)) {
		r->disas = disas;
		r->cls = classify(disas);
		r->count = counter_new();
	} else {
		g_free(disas);		/* remembered as filtered out */
	}
	g_ptr_array_add(recs, r);
	g_hash_table_insert(by_vaddr, &r->vaddr, r);
	return r->disas ? r : NULL;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	g_mutex_lock(&lock);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		struct insn_rec *r = lookup(insn);

		if (!r)
			continue;
		if (do_inline)
			qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(
				insn, QEMU_PLUGIN_INLINE_ADD_U64, r->count, 1);
		else
			qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_exec,
							       QEMU_PLUGIN_CB_NO_REGS, r);
	}
	g_mutex_unlock(&lock);
}

static gint by_count_desc(gconstpointer a, gconstpointer b)
{
	const struct insn_rec *ra = *(struct insn_rec *const *)a;
	const struct insn_rec *rb = *(struct insn_rec *const *)b;
	uint64_t ca = ra->disas ? qemu_plugin_u64_sum(ra->count) : 0;
	uint64_t cb = rb->disas ? qemu_plugin_u64_sum(rb->count) : 0;

	if (ca != cb)
		return ca > cb ? -1 : 1;
	return ra->vaddr < rb->vaddr ? -1 : ra->vaddr > rb->vaddr;
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	uint64_t per_class[CL_NUM] = { 0 }, total = 0;
	GString *out = g_string_new(NULL);

	g_mutex_lock(&lock);
	for (guint i = 0; i < recs->len; i++) {
		struct insn_rec *r = g_ptr_array_index(recs, i);
		if (!r->disas)
			continue;
		uint64_t c = qemu_plugin_u64_sum(r->count);
		per_class[r->cls] += c;
		total += c;
	}
	g_string_append_printf(out, "%s: %" PRIu64 "\n", matches ? "insns matching" : "insns",
			       total);
	for (int c = 0; c < CL_NUM; c++)
		g_string_append_printf(out, "class %s: %" PRIu64 " (%.1f%%)\n", class_names[c],
				       per_class[c], total ? 100.0 * per_class[c] / total : 0.0);
	g_ptr_array_sort(recs, by_count_desc);
	g_string_append_printf(out, "top %d instructions:\n", top);
	for (guint i = 0; i < recs->len && (int)i < top; i++) {
		struct insn_rec *r = g_ptr_array_index(recs, i);
		if (!r->disas)
			break;
		g_string_append_printf(out, "  0x%016" PRIx64 " %" PRIu64 " %s\n", r->vaddr,
				       qemu_plugin_u64_sum(r->count), r->disas);
	}
	g_mutex_unlock(&lock);
	qemu_plugin_outs(out->str);
	g_string_free(out, TRUE);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *opt = argv[i];
		bool ok = true;

		if (!strncmp(opt, "inline=", 7)) {
			ok = qemu_plugin_bool_parse("inline", opt + 7, &do_inline);
		} else if (!strncmp(opt, "match=", 6) && opt[6]) {
			if (!matches)
				matches = g_ptr_array_new();
			g_ptr_array_add(matches, (gpointer)(opt + 6));
		} else if (!strncmp(opt, "top=", 4)) {
			char *end;
			top = strtol(opt + 4, &end, 0);
			ok = *end == 0 && top >= 0;
		} else {
			ok = false;
		}
		if (!ok) {
			fprintf(stderr, "insn: bad option '%s' (inline=on|off, match=TEXT, top=N)\n",
				opt);
			return -1;
		}
	}
	boards = g_ptr_array_new();
	recs = g_ptr_array_new();
	by_vaddr = g_hash_table_new(g_int64_hash, g_int64_equal);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
