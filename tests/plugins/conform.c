/*
 * conform: calls every function of qemu-plugin.h and loom-plugin.h and
 * checks each answer against what it knows independently: the guest is
 * tests/plugins/asm/conform.S, whose ELF file this plugin reads itself
 * (symbols, entry, segments) and whose instruction bytes it knows by heart.
 *
 *   loom -d plugin -plugin file=libconform.so conform.asm
 *
 * Prints "conform: FAIL <what>" for each failed check and, at exit,
 * "conform: N passed, M failed".  The guest's stdout shows the effects of
 * register/memory writes, set_pc and the syscall filter
 * (tests/plugins/conform.expected).  Checks are mode-independent: the same
 * in default mode, with -one-insn-per-tb and with -nochain.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <qemu-plugin.h>
#include <loom-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static GMutex lock;
static unsigned long passed, failed;

#define CHECK(cond, ...) check(!!(cond), __LINE__, __VA_ARGS__)

static bool G_GNUC_PRINTF(3, 4) check(bool ok, int line, const char *fmt, ...)
{
	g_mutex_lock(&lock);
	if (ok) {
		passed++;
	} else {
		va_list ap;
		char msg[256], out[320];

		failed++;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(out, sizeof(out), "conform: FAIL (line %d) %s\n", line, msg);
		qemu_plugin_outs(out);
	}
	g_mutex_unlock(&lock);
	return ok;
}

/* ---- the guest's ELF file, read independently ------------------------- */

static GHashTable *symbols;		/* name -> address (as a pointer) */
static uint64_t elf_entry, text_lo, text_hi_file, text_hi_mem;
static bool elf_ok;

static uint64_t sym(const char *name)
{
	gpointer v;

	if (!g_hash_table_lookup_extended(symbols, name, NULL, &v)) {
		CHECK(false, "symbol %s not in the guest ELF", name);
		return ~0ull;
	}
	return (uint64_t)(uintptr_t)v;
}

static bool read_elf(const char *path)
{
	gchar *buf;
	gsize len;

	symbols = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	if (!g_file_get_contents(path, &buf, &len, NULL) || len < sizeof(Elf64_Ehdr))
		return false;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64)
		return false;
	elf_entry = eh->e_entry;
	for (int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr *ph = (Elf64_Phdr *)(buf + eh->e_phoff + i * eh->e_phentsize);
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			text_lo = ph->p_vaddr;
			text_hi_file = ph->p_vaddr + ph->p_filesz;
			text_hi_mem = ph->p_vaddr + ph->p_memsz;
		}
	}
	for (int i = 0; i < eh->e_shnum; i++) {
		Elf64_Shdr *sh = (Elf64_Shdr *)(buf + eh->e_shoff + i * eh->e_shentsize);
		if (sh->sh_type != SHT_SYMTAB)
			continue;
		Elf64_Shdr *strs = (Elf64_Shdr *)(buf + eh->e_shoff + sh->sh_link * eh->e_shentsize);
		for (size_t k = 0; k < sh->sh_size / sizeof(Elf64_Sym); k++) {
			Elf64_Sym *s = (Elf64_Sym *)(buf + sh->sh_offset) + k;
			const char *name = buf + strs->sh_offset + s->st_name;
			if (*name && ELF64_ST_BIND(s->st_info) == STB_GLOBAL)
				g_hash_table_insert(symbols, g_strdup(name),
						    (gpointer)(uintptr_t)s->st_value);
		}
	}
	g_free(buf);
	return true;
}

/* ---- known instructions ---------------------------------------------- */

static const struct known {
	unsigned off, size;
	uint8_t bytes[10];
	const char *disas[3];		/* substrings the disassembly must hold */
} known[] = {
	{ 0, 10, { 0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 },
	  { "mov", "rax", "0x1122334455667788" } },
	{ 10, 3, { 0x48, 0x01, 0xc3 }, { "add", "%rax, %rbx" } },
	{ 13, 1, { 0x90 }, { "nop" } },
	{ 14, 5, { 0x48, 0x8d, 0x4c, 0x24, 0x08 }, { "lea", "rcx", "rsp" } },
	{ 19, 2, { 0x31, 0xc0 }, { "xor", "%eax, %eax" } },
	{ 21, 1, { 0xc3 }, { "ret" } },
};
static bool known_seen[G_N_ELEMENTS(known)];

static void check_known(struct qemu_plugin_insn *insn)
{
	uint64_t base = sym("known_code"), vaddr = qemu_plugin_insn_vaddr(insn);
	uint8_t bytes[16];
	const struct known *k = NULL;

	if (vaddr < base || vaddr >= base + 22)
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(known); i++)
		if (base + known[i].off == vaddr) {
			k = &known[i];
			known_seen[i] = true;
		}
	if (!CHECK(k, "insn at known_code+%u is not an instruction boundary",
		   (unsigned)(vaddr - base)))
		return;
	CHECK(qemu_plugin_insn_size(insn) == k->size, "known_code+%u: size %zu, want %u", k->off,
	      qemu_plugin_insn_size(insn), k->size);
	size_t n = qemu_plugin_insn_data(insn, bytes, sizeof(bytes));
	CHECK(n == k->size && !memcmp(bytes, k->bytes, k->size), "known_code+%u: wrong bytes",
	      k->off);
	/* a short buffer gets a prefix */
	n = qemu_plugin_insn_data(insn, bytes, 1);
	CHECK(n == 1 && bytes[0] == k->bytes[0], "known_code+%u: insn_data(len 1) gave %zu",
	      k->off, n);
	void *h = qemu_plugin_insn_haddr(insn);
	CHECK(h && !memcmp(h, k->bytes, k->size), "known_code+%u: haddr does not hold the bytes",
	      k->off);
	char *d = qemu_plugin_insn_disas(insn);
	for (int i = 0; i < 3 && k->disas[i]; i++)
		CHECK(d && strstr(d, k->disas[i]), "known_code+%u: disas '%s' lacks '%s'", k->off,
		      d ? d : "(null)", k->disas[i]);
	g_free(d);
	const char *s = qemu_plugin_insn_symbol(insn);
	CHECK(s && !strcmp(s, "known_code"), "known_code+%u: symbol '%s'", k->off, s ? s : "(null)");
}

/* ---- scoreboard of counters --------------------------------------------- */

struct counters {
	uint64_t loop_insn;		/* inline +1 at cond_loop's first insn */
	uint64_t loop_insn3;		/* inline +3 */
	uint64_t loop_tb2;		/* TB inline +2 */
	uint64_t loop_store;		/* TB inline store 77 */
	uint64_t mem_inline;		/* mem inline +1 at the mp_* probes */
	uint64_t cond[8];		/* calls of each conditional callback */
	uint64_t tb_cond;
	uint64_t tb_cb, tb_rcx_sum;
	uint64_t entry, exit;		/* loom TB entry/exit at cond_loop */
	uint64_t mem_cbs;
};
static struct qemu_plugin_scoreboard *sb;
#define FIELD(f) qemu_plugin_scoreboard_u64_in_struct(sb, struct counters, f)

/* ---- state checked at exit -------------------------------------------- */

static qemu_plugin_id_t self;
static struct qemu_plugin_register *reg_rbx, *reg_r12, *reg_rcx;
static int vcpu_inits, vcpu_exits, idles, resumes, for_each_calls, resets, flushes;
static int reset_asked, filtered_pc, exceptions, hostcalls, syscalls, syscall_rets, filtered, getpid_checked;
static int reg_probe_runs, mem_write_runs, signals_got, tb_starts, tb_ends, tb_trans_n;
static uint64_t last_start_vaddr = ~0ull, last_trans_vaddr = ~0ull;
static size_t last_trans_insns, last_trans_size;
static bool end_pending;
static const char *bin_arg;

/* ---- callbacks -------------------------------------------------------- */

static void reset_done(qemu_plugin_id_t id);
static void register_all(qemu_plugin_id_t id);
static void sleep_done(unsigned int vcpu, void *u);

static void vcpu_init(qemu_plugin_id_t id, unsigned int vcpu)
{
	vcpu_inits++;
	CHECK(vcpu == 0, "first vCPU has index %u", vcpu);
	/* user mode: the current task is this process, as the host says */
	struct loom_task task;
	char comm[32] = "";
	FILE *cf = fopen("/proc/thread-self/comm", "r");
	if (cf) {
		if (fgets(comm, sizeof(comm), cf))
			comm[strcspn(comm, "\n")] = 0;
		fclose(cf);
	}
	CHECK(loom_plugin_current_task(vcpu, &task) && task.tgid == getpid() &&
	      task.pid == gettid() && !task.kernel_thread && !strcmp(task.comm, comm),
	      "current_task: pid %d tgid %d comm '%s' (host: %d %d '%s')", task.pid, task.tgid,
	      task.comm, gettid(), getpid(), comm);
	CHECK(!loom_plugin_current_task(vcpu + 1, &task), "current_task of another vCPU");
	GArray *regs = qemu_plugin_get_registers();
	if (!CHECK(regs && regs->len >= 17, "get_registers gave %u registers",
		   regs ? regs->len : 0)) {
		if (regs)
			g_array_free(regs, TRUE);
		return;
	}
	bool rip = false, rsp = false;
	for (guint i = 0; i < regs->len; i++) {
		qemu_plugin_reg_descriptor *d = &g_array_index(regs, qemu_plugin_reg_descriptor, i);
		CHECK(d->name && d->handle, "register %u has no name or handle", i);
		if (!d->name)
			continue;
		if (!strcmp(d->name, "rbx"))
			reg_rbx = d->handle;
		if (!strcmp(d->name, "r12"))
			reg_r12 = d->handle;
		if (!strcmp(d->name, "rcx"))
			reg_rcx = d->handle;
		rip |= !strcmp(d->name, "rip");
		rsp |= !strcmp(d->name, "rsp");
	}
	CHECK(reg_rbx && reg_r12 && reg_rcx && rip && rsp, "rbx/r12/rcx/rip/rsp not all listed");
	g_array_free(regs, TRUE);
}

static void vcpu_exit(qemu_plugin_id_t id, unsigned int vcpu)
{
	vcpu_exits++;
}

static void vcpu_idle(qemu_plugin_id_t id, unsigned int vcpu)
{
	idles++;
}

static void vcpu_resume(qemu_plugin_id_t id, unsigned int vcpu)
{
	resumes++;
}

static void for_each(qemu_plugin_id_t id, unsigned int vcpu)
{
	for_each_calls++;
	CHECK(vcpu == 0, "vcpu_for_each visited vCPU %u", vcpu);
}

static void discon(qemu_plugin_id_t id, unsigned int vcpu, enum qemu_plugin_discon_type type,
		   uint64_t from, uint64_t to)
{
	GByteArray *b = g_byte_array_new();

	if (type == QEMU_PLUGIN_DISCON_EXCEPTION) {
		exceptions++;
		CHECK(from == sym("fault_insn"), "exception from 0x%" PRIx64 ", want fault_insn",
		      from);
		CHECK(to == sym("sig_handler"), "exception to 0x%" PRIx64 ", want sig_handler", to);
	} else if (type == QEMU_PLUGIN_DISCON_HOSTCALL) {
		hostcalls++;
		CHECK(qemu_plugin_read_memory_vaddr(from, b, 2) && b->len == 2 &&
		      b->data[0] == 0x0f && b->data[1] == 0x05,
		      "hostcall from 0x%" PRIx64 " is not a syscall instruction", from);
	} else {
		CHECK(false, "unexpected discontinuity %d from 0x%" PRIx64, type, from);
	}
	g_byte_array_free(b, TRUE);
}

static uint64_t reg_u64(struct qemu_plugin_register *r, bool *ok)
{
	GByteArray *b = g_byte_array_new();
	uint64_t v = 0;

	*ok = qemu_plugin_read_register(r, b) && b->len == 8;
	if (*ok)
		memcpy(&v, b->data, 8);
	g_byte_array_free(b, TRUE);
	return v;
}

static void reg_probe_read(unsigned int vcpu, void *u)
{
	bool ok;
	uint64_t v = reg_u64(reg_rbx, &ok);
	GByteArray *b = g_byte_array_new();

	reg_probe_runs++;
	CHECK(ok && v == 0x0123456789abcdefull, "read rbx at reg_probe: ok %d value 0x%" PRIx64,
	      ok, v);
	g_byte_array_append(b, (const guint8 *)"\x01\0\0\0\0\0\0\0", 8);
	CHECK(!qemu_plugin_write_register(reg_r12, b), "write_register allowed in R_REGS");
	g_byte_array_free(b, TRUE);
}

static void reg_probe_write(unsigned int vcpu, void *u)
{
	GByteArray *b = g_byte_array_new();
	uint64_t v = 0x5a;

	g_byte_array_append(b, (const guint8 *)&v, 8);
	CHECK(qemu_plugin_write_register(reg_r12, b), "write_register r12 in RW_REGS failed");
	g_byte_array_free(b, TRUE);
}

static void reg_probe_noregs(unsigned int vcpu, void *u)
{
	GByteArray *b = g_byte_array_new();

	CHECK(!qemu_plugin_read_register(reg_rbx, b), "read_register allowed in NO_REGS");
	g_byte_array_free(b, TRUE);
}

static void mem_write_probe(unsigned int vcpu, void *u)
{
	GByteArray *b = g_byte_array_new();

	mem_write_runs++;
	CHECK(qemu_plugin_read_memory_vaddr(sym("mem_data"), b, 17) && b->len == 17 &&
	      !memcmp(b->data, "conform-data-0123", 17), "read_memory_vaddr(mem_data)");
	CHECK(!qemu_plugin_read_memory_vaddr(0, b, 8), "read_memory_vaddr(0) succeeded");
	g_byte_array_set_size(b, 0);
	g_byte_array_append(b, (const guint8 *)"PLUGGED!\n", 9);
	CHECK(qemu_plugin_write_memory_vaddr(sym("mem_target"), b), "write_memory_vaddr failed");
	CHECK(!qemu_plugin_write_memory_vaddr(8, b), "write_memory_vaddr(8) succeeded");
	g_byte_array_free(b, TRUE);
}

static void setpc_probe(unsigned int vcpu, void *u)
{
	passed++;	/* reaching here; the effect shows in the guest's output */
	qemu_plugin_set_pc(sym("setpc_dest"));
	CHECK(false, "set_pc returned from an RW_REGS_PC callback");
}

enum probe { MP_LOAD8, MP_LOAD1S, MP_STORE2, MP_LOAD16 };

static void mem_cb(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *u)
{
	enum probe p = (enum probe)(uintptr_t)u;
	qemu_plugin_mem_value v = qemu_plugin_mem_get_value(info);
	unsigned shift = qemu_plugin_mem_size_shift(info);
	bool store = qemu_plugin_mem_is_store(info), sign = qemu_plugin_mem_is_sign_extended(info);

	qemu_plugin_u64_add(FIELD(mem_cbs), vcpu, 1);
	CHECK(!qemu_plugin_mem_is_big_endian(info), "access %d is big-endian", p);
	CHECK(qemu_plugin_get_hwaddr(info, vaddr) == NULL, "get_hwaddr not NULL in user mode");
	CHECK(!qemu_plugin_hwaddr_is_io(NULL) && qemu_plugin_hwaddr_phys_addr(NULL) == 0 &&
	      qemu_plugin_hwaddr_device_name(NULL) == NULL, "hwaddr queries on NULL");
	switch (p) {
	case MP_LOAD8:
		CHECK(vaddr == sym("mem_data") && shift == 3 && !store && !sign &&
		      v.type == QEMU_PLUGIN_MEM_VALUE_U64 && !memcmp(&v.data.u64, "conform-", 8),
		      "mp_load8: vaddr 0x%" PRIx64 " shift %u store %d sign %d type %d", vaddr,
		      shift, store, sign, v.type);
		break;
	case MP_LOAD1S:
		CHECK(vaddr == sym("mem_neg") && shift == 0 && !store && sign &&
		      v.type == QEMU_PLUGIN_MEM_VALUE_U8 && v.data.u8 == 0x80,
		      "mp_load1s: vaddr 0x%" PRIx64 " shift %u store %d sign %d type %d value 0x%x",
		      vaddr, shift, store, sign, v.type, v.data.u8);
		break;
	case MP_STORE2:
		CHECK(vaddr == sym("mem_w") && shift == 1 && store &&
		      v.type == QEMU_PLUGIN_MEM_VALUE_U16 && v.data.u16 == 0x1234,
		      "mp_store2: vaddr 0x%" PRIx64 " shift %u store %d type %d value 0x%x", vaddr,
		      shift, store, v.type, v.data.u16);
		break;
	case MP_LOAD16:
		CHECK(vaddr == sym("mem_data") && shift == 4 && !store &&
		      v.type == QEMU_PLUGIN_MEM_VALUE_U128 &&
		      !memcmp(&v.data.u128.low, "conform-", 8) &&
		      !memcmp(&v.data.u128.high, "data-012", 8),
		      "mp_load16: vaddr 0x%" PRIx64 " shift %u store %d type %d", vaddr, shift,
		      store, v.type);
		break;
	}
}

static void cond_cb(unsigned int vcpu, void *u)
{
	qemu_plugin_u64_add(FIELD(cond[(uintptr_t)u]), vcpu, 1);
}

static void tb_cond_cb(unsigned int vcpu, void *u)
{
	qemu_plugin_u64_add(FIELD(tb_cond), vcpu, 1);
}

static void loop_tb_cb(unsigned int vcpu, void *u)
{
	bool ok;
	uint64_t rcx = reg_u64(reg_rcx, &ok);

	CHECK(ok, "read rcx in a TB callback");
	qemu_plugin_u64_add(FIELD(tb_cb), vcpu, 1);
	qemu_plugin_u64_add(FIELD(tb_rcx_sum), vcpu, rcx);
}

static void tb_entry(unsigned int vcpu, uint64_t tb_vaddr, void *u)
{
	if (tb_vaddr == sym("cond_loop"))
		qemu_plugin_u64_add(FIELD(entry), vcpu, 1);
}

static void tb_exit(unsigned int vcpu, uint64_t tb_vaddr, void *u)
{
	if (tb_vaddr == sym("cond_loop"))
		qemu_plugin_u64_add(FIELD(exit), vcpu, 1);
}

static void trans_start(qemu_plugin_id_t id, uint64_t vaddr)
{
	tb_starts++;
	CHECK(!end_pending, "tb_trans_start at 0x%" PRIx64 " before the previous TB's end", vaddr);
	last_start_vaddr = vaddr;
}

static void trans_end(qemu_plugin_id_t id, uint64_t vaddr, size_t n_insns, size_t guest_size,
		      size_t n_ops)
{
	tb_ends++;
	CHECK(vaddr == last_start_vaddr, "tb_trans_end at 0x%" PRIx64 ", start was 0x%" PRIx64,
	      vaddr, last_start_vaddr);
	if (end_pending) {
		CHECK(vaddr == last_trans_vaddr && n_insns == last_trans_insns &&
		      guest_size == last_trans_size && n_ops > 0,
		      "tb_trans_end(0x%" PRIx64 ", %zu insns, %zu bytes, %zu ops) vs tb_trans("
		      "0x%" PRIx64 ", %zu insns, %zu bytes)", vaddr, n_insns, guest_size, n_ops,
		      last_trans_vaddr, last_trans_insns, last_trans_size);
	}
	end_pending = false;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t pc = qemu_plugin_tb_vaddr(tb), next = pc;
	size_t n = qemu_plugin_tb_n_insns(tb);

	tb_trans_n++;
	CHECK(pc == last_start_vaddr, "tb_trans at 0x%" PRIx64 " without tb_trans_start", pc);
	CHECK(n >= 1, "TB at 0x%" PRIx64 " has no instructions", pc);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t v = qemu_plugin_insn_vaddr(insn);

		if (!insn || v != next) {
			CHECK(false, "TB 0x%" PRIx64 " insn %zu at 0x%" PRIx64 ", want 0x%" PRIx64,
			      pc, i, v, next);
			return;
		}
		next = v + qemu_plugin_insn_size(insn);
		check_known(insn);
		if (v == sym("reg_probe")) {
			qemu_plugin_register_vcpu_insn_exec_cb(insn, reg_probe_read,
							       QEMU_PLUGIN_CB_R_REGS, NULL);
			qemu_plugin_register_vcpu_insn_exec_cb(insn, reg_probe_write,
							       QEMU_PLUGIN_CB_RW_REGS, NULL);
			qemu_plugin_register_vcpu_insn_exec_cb(insn, reg_probe_noregs,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
		}
		if (v == sym("mem_write_probe"))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, mem_write_probe,
							       QEMU_PLUGIN_CB_R_REGS, NULL);
		if (v == sym("sleep_done"))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, sleep_done,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
		if (v == sym("setpc_probe"))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, setpc_probe,
							       QEMU_PLUGIN_CB_RW_REGS_PC, NULL);
		static const char *const probes[] = { "mp_load8", "mp_load1s", "mp_store2",
						      "mp_load16" };
		for (int p = 0; p < 4; p++) {
			if (v != sym(probes[p]))
				continue;
			qemu_plugin_register_vcpu_mem_cb(insn, mem_cb, QEMU_PLUGIN_CB_NO_REGS,
							 QEMU_PLUGIN_MEM_RW, (void *)(uintptr_t)p);
			qemu_plugin_register_vcpu_mem_inline_per_vcpu(
				insn, QEMU_PLUGIN_MEM_RW, QEMU_PLUGIN_INLINE_ADD_U64,
				FIELD(mem_inline), 1);
		}
		if (v == sym("cond_loop")) {
			/* The inline add runs first, so the conditions see 1..10. */
			qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(
				insn, QEMU_PLUGIN_INLINE_ADD_U64, FIELD(loop_insn), 1);
			qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(
				insn, QEMU_PLUGIN_INLINE_ADD_U64, FIELD(loop_insn3), 3);
			static const struct {
				enum qemu_plugin_cond c;
				uint64_t imm;
			} conds[8] = {
				{ QEMU_PLUGIN_COND_NEVER, 0 }, { QEMU_PLUGIN_COND_ALWAYS, 0 },
				{ QEMU_PLUGIN_COND_EQ, 10 }, { QEMU_PLUGIN_COND_NE, 10 },
				{ QEMU_PLUGIN_COND_LT, 3 }, { QEMU_PLUGIN_COND_LE, 3 },
				{ QEMU_PLUGIN_COND_GT, 8 }, { QEMU_PLUGIN_COND_GE, 5 },
			};
			for (int c = 0; c < 8; c++)
				qemu_plugin_register_vcpu_insn_exec_cond_cb(
					insn, cond_cb, QEMU_PLUGIN_CB_NO_REGS, conds[c].c,
					FIELD(loop_insn), conds[c].imm, (void *)(uintptr_t)c);
		}
	}
	if (pc == sym("cond_loop")) {
		qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64,
								  FIELD(loop_tb2), 2);
		qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_STORE_U64,
								  FIELD(loop_store), 77);
		qemu_plugin_register_vcpu_tb_exec_cond_cb(tb, tb_cond_cb, QEMU_PLUGIN_CB_NO_REGS,
							  QEMU_PLUGIN_COND_GE, FIELD(loop_tb2), 12,
							  NULL);
		qemu_plugin_register_vcpu_tb_exec_cb(tb, loop_tb_cb, QEMU_PLUGIN_CB_R_REGS, NULL);
	}
	last_trans_vaddr = pc;
	last_trans_insns = n;
	last_trans_size = next - pc;
	end_pending = true;
}

static bool sys_filter(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1,
		       uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
		       uint64_t a7, uint64_t a8, uint64_t *sysret)
{
	GByteArray *b;
	bool match;

	if (num != 1 || a1 != 1 || (a3 != 10 && a3 != 8))
		return false;
	b = g_byte_array_new();
	match = qemu_plugin_read_memory_vaddr(a2, b, 9) && !memcmp(b->data, "FILTER-ME", 9);
	if (match) {
		filtered++;
		*sysret = 4242;
	} else if (qemu_plugin_read_memory_vaddr(a2, b, 8) && !memcmp(b->data, "JUMP-ME\n", 8)) {
		/* the syscall returns to filter_dest */
		match = true;
		filtered_pc++;
		*sysret = 8;
		qemu_plugin_set_pc(sym("filter_dest"));
	}
	g_byte_array_free(b, TRUE);
	return match;
}


static void sys_entry(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1,
		      uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7,
		      uint64_t a8)
{
	syscalls++;
	CHECK(a7 == 0 && a8 == 0, "syscall %" PRId64 ": a7/a8 not 0", num);
}

/* One reset, between two syscalls: reset_done registers everything again,
 * so the later checks still run. */
static void sleep_done(unsigned int vcpu, void *u)
{
	int before = for_each_calls;

	/* the one guest thread is running: vcpu_for_each visits exactly it */
	qemu_plugin_vcpu_for_each(self, for_each);
	CHECK(for_each_calls == before + 1, "vcpu_for_each visited %d vCPUs",
	      for_each_calls - before);
	if (!reset_asked++)
		qemu_plugin_reset(self, reset_done);
}

static void sys_ret(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, int64_t ret)
{
	syscall_rets++;
	if (num == 39) {
		getpid_checked++;
		CHECK(ret == getpid(), "getpid returned %" PRId64 ", loom's pid is %d", ret,
		      (int)getpid());
	}
}

static void flush_cb(qemu_plugin_id_t id)
{
	flushes++;
}

static void signal_cb(qemu_plugin_id_t id, const char *name, const void *payload, size_t size,
		      void *userdata)
{
	signals_got++;
	CHECK(!strcmp(name, "conform.sig") && size == 4 && !memcmp(payload, "ping", 4) &&
	      userdata == &signals_got, "signal callback got '%s', %zu bytes", name, size);
}

static void plugin_exit(qemu_plugin_id_t id, void *userdata);

static void reset_done(qemu_plugin_id_t id)
{
	resets++;
	register_all(id);
}

static void register_all(qemu_plugin_id_t id)
{
	qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
	qemu_plugin_register_vcpu_exit_cb(id, vcpu_exit);
	qemu_plugin_register_vcpu_idle_cb(id, vcpu_idle);
	qemu_plugin_register_vcpu_resume_cb(id, vcpu_resume);
	qemu_plugin_register_vcpu_discon_cb(id, QEMU_PLUGIN_DISCON_ALL, discon);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_vcpu_syscall_cb(id, sys_entry);
	qemu_plugin_register_vcpu_syscall_ret_cb(id, sys_ret);
	qemu_plugin_register_vcpu_syscall_filter_cb(id, sys_filter);
	qemu_plugin_register_flush_cb(id, flush_cb);
	qemu_plugin_register_atexit_cb(id, plugin_exit, &self);
	loom_plugin_register_tb_trans_start_cb(id, trans_start);
	loom_plugin_register_tb_trans_end_cb(id, trans_end);
	loom_plugin_register_vcpu_tb_entry_cb(id, tb_entry, QEMU_PLUGIN_CB_NO_REGS, NULL);
	loom_plugin_register_vcpu_tb_exit_cb(id, tb_exit, QEMU_PLUGIN_CB_NO_REGS, NULL);
}

#define EXPECT_U64(field, want)                                                           \
	do {                                                                              \
		uint64_t got_ = qemu_plugin_u64_sum(FIELD(field));                       \
		CHECK(got_ == (want), "%s = %" PRIu64 ", want %" PRIu64, #field, got_,   \
		      (uint64_t)(want));                                                  \
	} while (0)

static void plugin_exit(qemu_plugin_id_t id, void *userdata)
{
	char line[128];

	CHECK(userdata == &self, "atexit userdata");
	CHECK(qemu_plugin_num_vcpus() == 1, "num_vcpus %d", qemu_plugin_num_vcpus());
	CHECK(vcpu_inits == 1, "%d vCPU init callbacks", vcpu_inits);
	CHECK(vcpu_exits <= 1, "%d vCPU exit callbacks", vcpu_exits);
	CHECK(idles == 1 && resumes == 1, "idle %d, resume %d (one nanosleep)", idles, resumes);
	CHECK(exceptions == 1, "%d exception discontinuities", exceptions);
	/* 13 syscall instructions (conform.S); the two filtered ones may or
	 * may not reach the syscall callback */
	CHECK(hostcalls == 13, "%d hostcall discontinuities, want 13", hostcalls);
	CHECK(syscalls == 13 || syscalls == 11, "%d syscall callbacks, want 11 or 13", syscalls);
	CHECK(filtered == 1 && filtered_pc == 1, "%d and %d writes filtered", filtered,
	      filtered_pc);
	CHECK(getpid_checked == 1, "getpid's return seen %d times", getpid_checked);
	CHECK(syscall_rets >= 8, "%d syscall returns", syscall_rets);
	CHECK(resets == 1, "reset callback ran %d times", resets);
	CHECK(reg_probe_runs == 1 && mem_write_runs == 1, "probes ran %d and %d times",
	      reg_probe_runs, mem_write_runs);
	CHECK(tb_trans_n > 0 && tb_starts >= tb_trans_n && tb_ends >= tb_trans_n,
	      "%d tb_trans, %d starts, %d ends", tb_trans_n, tb_starts, tb_ends);
	for (size_t i = 0; i < G_N_ELEMENTS(known); i++)
		CHECK(known_seen[i], "known_code+%u never translated", known[i].off);
	EXPECT_U64(loop_insn, 10);
	EXPECT_U64(loop_insn3, 30);
	EXPECT_U64(loop_tb2, 20);
	EXPECT_U64(loop_store, 77);
	EXPECT_U64(cond[0], 0);		/* never */
	EXPECT_U64(cond[1], 10);	/* always */
	EXPECT_U64(cond[2], 1);		/* == 10 */
	EXPECT_U64(cond[3], 9);		/* != 10 */
	EXPECT_U64(cond[4], 2);		/* < 3: 1, 2 */
	EXPECT_U64(cond[5], 3);		/* <= 3 */
	EXPECT_U64(cond[6], 2);		/* > 8: 9, 10 */
	EXPECT_U64(cond[7], 6);		/* >= 5: 5..10 */
	EXPECT_U64(tb_cond, 5);		/* loop_tb2 >= 12: 12, 14, ..., 20 */
	EXPECT_U64(tb_cb, 10);
	EXPECT_U64(tb_rcx_sum, 55);	/* 10 + 9 + ... + 1 */
	EXPECT_U64(entry, 10);
	EXPECT_U64(exit, 10);
	EXPECT_U64(mem_inline, 4);
	EXPECT_U64(mem_cbs, 4);

	/* u64 helpers on a fresh scoreboard */
	struct qemu_plugin_scoreboard *t = qemu_plugin_scoreboard_new(sizeof(uint64_t) * 2);
	qemu_plugin_u64 e = { t, sizeof(uint64_t) };
	CHECK(qemu_plugin_u64_get(e, 0) == 0, "new scoreboard not zeroed");
	qemu_plugin_u64_set(e, 0, 40);
	qemu_plugin_u64_add(e, 0, 2);
	CHECK(qemu_plugin_u64_get(e, 0) == 42 && qemu_plugin_u64_sum(e) == 42 &&
	      *(uint64_t *)((char *)qemu_plugin_scoreboard_find(t, 0) + 8) == 42,
	      "u64 set/add/get/sum/find");
	qemu_plugin_scoreboard_free(t);

	/* reading registers is not allowed at exit */
	GByteArray *b = g_byte_array_new();
	CHECK(!reg_rbx || !qemu_plugin_read_register(reg_rbx, b), "read_register in atexit");
	g_byte_array_free(b, TRUE);

	/* enable/disable and the name */
	CHECK(loom_plugin_is_enabled(id), "not enabled");
	loom_plugin_set_enabled(id, false);
	CHECK(!loom_plugin_is_enabled(id), "set_enabled(false) did not disable");
	loom_plugin_set_enabled(id, true);
	CHECK(loom_plugin_is_enabled(id), "set_enabled(true) did not enable");
	CHECK(!strcmp(loom_plugin_name(id), "conform"), "name '%s'", loom_plugin_name(id));

	snprintf(line, sizeof(line), "conform: %lu passed, %lu failed\n", passed, failed);
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	bool b;

	self = id;
	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], "bin=", 4))
			bin_arg = argv[i] + 4;
	CHECK(info && !strcmp(info->target_name, "x86_64"), "target_name");
	CHECK(info->version.min <= 3 && info->version.cur == QEMU_PLUGIN_VERSION,
	      "versions %d..%d", info->version.min, info->version.cur);
	CHECK(!info->system_emulation, "system_emulation set");
	CHECK(loom_plugin_api_version() == LOOM_PLUGIN_API_VERSION, "loom API version %d",
	      loom_plugin_api_version());

	/* bool_parse */
	CHECK(qemu_plugin_bool_parse("x", "on", &b) && b, "bool_parse on");
	CHECK(qemu_plugin_bool_parse("x", "yes", &b) && b, "bool_parse yes");
	CHECK(qemu_plugin_bool_parse("x", "true", &b) && b, "bool_parse true");
	CHECK(qemu_plugin_bool_parse("x", "off", &b) && !b, "bool_parse off");
	CHECK(qemu_plugin_bool_parse("x", "no", &b) && !b, "bool_parse no");
	CHECK(qemu_plugin_bool_parse("x", "false", &b) && !b, "bool_parse false");
	CHECK(!qemu_plugin_bool_parse("x", "maybe", &b), "bool_parse maybe");

	/* the program, against its ELF file */
	const char *path = qemu_plugin_path_to_binary();
	elf_ok = path && read_elf(path);
	CHECK(elf_ok, "cannot read the guest ELF '%s'", path ? path : "(null)");
	if (!elf_ok)
		return 0;
	if (bin_arg) {
		char *a = realpath(bin_arg, NULL), *p = realpath(path, NULL);
		CHECK(a && p && !strcmp(a, p), "path_to_binary '%s', program '%s'", path, bin_arg);
		free(a);
		free(p);
	}
	CHECK(qemu_plugin_entry_code() == elf_entry, "entry_code 0x%" PRIx64 ", ELF 0x%" PRIx64,
	      qemu_plugin_entry_code(), elf_entry);
	CHECK(qemu_plugin_start_code() <= text_lo && qemu_plugin_start_code() > text_lo - 4096,
	      "start_code 0x%" PRIx64 ", text segment at 0x%" PRIx64, qemu_plugin_start_code(),
	      text_lo);
	CHECK(qemu_plugin_end_code() >= text_hi_file &&
	      qemu_plugin_end_code() <= ((text_hi_mem + 4095) & ~4095ull),
	      "end_code 0x%" PRIx64 ", text segment ends 0x%" PRIx64, qemu_plugin_end_code(),
	      text_hi_file);
	g_free((char *)path);

	/* system-mode-only services */
	const void *tc = qemu_plugin_request_time_control();
	CHECK(tc != NULL, "request_time_control gave NULL to the first caller");
	CHECK(qemu_plugin_request_time_control() == NULL, "time control handed out twice");
	qemu_plugin_update_ns(tc, 1000);
	GByteArray *ba = g_byte_array_new();
	uint64_t hw;
	CHECK(qemu_plugin_read_memory_hwaddr(0x1000, ba, 8) ==
	      QEMU_PLUGIN_HWADDR_OPERATION_INVALID_ADDRESS_SPACE, "read_memory_hwaddr");
	CHECK(qemu_plugin_write_memory_hwaddr(0x1000, ba) ==
	      QEMU_PLUGIN_HWADDR_OPERATION_INVALID_ADDRESS_SPACE, "write_memory_hwaddr");
	CHECK(!qemu_plugin_translate_vaddr(elf_entry, &hw), "translate_vaddr");
	g_byte_array_free(ba, TRUE);

	/* signals between plugins, within one */
	CHECK(loom_plugin_signal_register(id, "conform.sig"), "signal_register");
	CHECK(!loom_plugin_signal_register(id, "conform.sig"), "signal registered twice");
	CHECK(loom_plugin_signal_subscribe(id, "conform.sig", signal_cb, &signals_got),
	      "signal_subscribe");
	CHECK(!loom_plugin_signal_subscribe(id, "conform.sig", signal_cb, &signals_got),
	      "subscribed twice");
	CHECK(loom_plugin_signal_emit(id, "conform.sig", "ping", 4) == 1 && signals_got == 1,
	      "signal_emit");
	CHECK(loom_plugin_signal_emit(id, "conform.nosuch", "x", 1) == -1,
	      "emit of an unregistered signal");

	sb = qemu_plugin_scoreboard_new(sizeof(struct counters));
	register_all(id);
	qemu_plugin_vcpu_for_each(id, for_each);	/* no vCPU yet: may visit none */
	return 0;
}
