/*
 * Differential tests of instrument/inject.c: random plugin instrumentation
 * requests on random guest programs, with the exact counts an interpreter
 * of the program (the oracle) expects, in the three translation modes.
 *
 * The instrumentation is registered through the real plugin path: the
 * test loads build/tests/plugins/libunitshim.so, whose install calls back
 * unit_plugin_install here.  Its tb_trans callback asks, per instruction
 * and by a hash of the case seed and the instruction's address (so a
 * retranslation asks the same): an inline add on a per-instruction
 * scoreboard slot, an exec callback without or with register access (the
 * latter hash the registers they read: summed over the executions, the
 * oracle's sum; and rip is the instruction's address), conditional
 * callbacks whose condition always or never holds (ALWAYS,
 * NEVER, GE 0 and GE 1 on a scoreboard entry nothing writes), memory
 * callbacks and inline adds on loads and stores; per TB, an inline add of
 * its instruction count and an exec callback.  Whatever the TB boundaries
 * (they differ by mode), each instruction's counts are its executions (or
 * its accesses), and the TB-level sums are the instructions executed.
 *
 * The programs: blocks of ALU instructions, 8-byte loads and stores into a
 * data page, forward jmp/jcc, counted loops, ending in syscall or in a load
 * that faults (the counts stop at the faulting instruction, which counts as
 * executed; its access is not reported).  A third of them also store into
 * the immediates of their own add instructions (self-modifying code: the
 * store is restarted after loom's write fault, and hot pages get
 * self-checking TBs).  Expectations are exact -- a restarted store's
 * callbacks and inline adds count once: the one-shot that finishes it does
 * not repeat what ran before the restart -- except where the oracle cannot
 * know TB boundaries: a TB cut short by a fault or a restart still counted
 * all its instructions on entry.  Each case runs in a forked child in one mode, twice, with a flush
 * between the runs in some cases (the plugin's instrumentation must be put
 * back by the retranslation).  LOOM_TEST_ONLY=i or i-j runs only those
 * cases.
 */
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "exec/exec.h"
#include "exec/guest-mem.h"
#include "linux/linux.h"
#include "guest/guest.h"
#include "guest/x86/cpu.h"
#include "guest/x86/cpuid.h"
#include "instrument/instrument.h"
#include "qemu-plugin.h"
#include "unit.h"

#define NCASES 1500
#define SEED0 0x1a1ec7
#define PAGE 4096
#define CODE_BASE ((uint64_t)0x7e5000000000)
#define CODE_SIZE (2 * PAGE)
#define DATA_BASE (CODE_BASE + 0x100000)
#define MAX_BLOCKS 24
#define NSLOTS (CODE_SIZE)	/* one per code byte: slot = pc - CODE_BASE */

static const int gregs[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13 };
#define NGREGS (int)(sizeof(gregs) / sizeof(gregs[0]))

static uint64_t rs;
static uint64_t rnd(void) { return unit_xorshift(&rs) * 0x2545f4914f6cdd1dull; }
static unsigned rn(unsigned n) { return rnd() % n; }
static int greg(void) { return gregs[rn(NGREGS)]; }

/* ---- the program ---- */

static uint8_t img[CODE_SIZE];
static uint32_t at, blk[MAX_BLOCKS], relfix[4 * MAX_BLOCKS], reltgt[4 * MAX_BLOCKS];
static int nblk, nrel;
static uint32_t sites[256], stfix[256];	/* add imm32s; rip-relative stores' disp32s */
static int nsites, nstfix;
static bool smc, faults;		/* this program stores into its code / ends in a fault */
static uint64_t case_seed;

static void put8(uint8_t v) { img[at++] = v; }
static void put32(uint32_t v) { memcpy(img + at, &v, 4); at += 4; }
static void rel(int b) { relfix[nrel] = at, reltgt[nrel++] = b, put32(0); }
static void e_rr(uint8_t opc, int dst, int src)
{
	put8(0x48 | (src >> 3) << 2 | (dst >> 3)), put8(opc), put8(0xc0 | (src & 7) << 3 | (dst & 7));
}
static void e_mem(uint8_t opc, int r)	/* 8b: load, 89: store; [r14 + disp32] */
{
	put8(0x49 | (r >> 3) << 2), put8(opc), put8(0x86 | (r & 7) << 3), put32(8 * rn(PAGE / 8));
}

enum { K_PLAIN, K_LOOPHDR, K_LOOPBODY };

static void gen_program(uint64_t seed)
{
	int kind[MAX_BLOCKS] = { 0 };

	rs = seed * 0x9e3779b97f4a7c15ull + 1;
	memset(img, 0xcc, sizeof(img));
	at = 16 * rn(8);
	nrel = nsites = nstfix = 0;
	smc = rn(3) == 0;
	faults = rn(4) == 0;
	nblk = 3 + rn(MAX_BLOCKS - 3);
	for (int i = 0; i < nblk - 2; i++)
		if (rn(4) == 0) {
			kind[i] = K_LOOPHDR;
			kind[++i] = K_LOOPBODY;
		}
	for (int i = 0; i < nblk; i++) {
		at += rn(3);
		blk[i] = at;
		if (kind[i] == K_LOOPHDR) {
			put8(0x49), put8(0xc7), put8(0xc7), put32(1 + rn(20));	/* mov r15, k */
			put8(0xe9), rel(i + 1);
			continue;
		}
		for (int n = rn(9); n > 0; n--) {
			if (smc && rn(6) == 0 && nstfix < 256) {
				/* mov [rip + disp32], r13d: into an add's imm32 */
				put8(0x44), put8(0x89), put8(0x2d);
				stfix[nstfix++] = at;
				put32(0);
				continue;
			}
			switch (rn(5)) {
			case 0: e_rr(0x01, greg(), greg()); break;
			case 1: e_rr(0x31, greg(), greg()); break;
			case 2: e_mem(0x8b, greg()); break;
			case 3: e_mem(0x89, greg()); break;
			case 4: {	/* add r, imm32 */
				int r = greg();
				put8(0x48 | (r >> 3)), put8(0x81), put8(0xc0 | (r & 7));
				if (nsites < 256)
					sites[nsites++] = at;
				put32(rnd());
				break;
			}
			}
		}
		if (kind[i] == K_LOOPBODY) {
			put8(0x49), put8(0xff), put8(0xcf);	/* dec r15; jnz self */
			put8(0x0f), put8(0x85), rel(i);
		}
		if (i == nblk - 1) {
			if (faults)	/* mov rax, [r14 + 2 pages]: unmapped */
				put8(0x49), put8(0x8b), put8(0x86), put32(2 * PAGE);
			else
				put8(0x0f), put8(0x05);
			break;
		}
		int j = i + 1 + rn(3);
		if (j > nblk - 1)
			j = nblk - 1;
		if (kind[j] == K_LOOPBODY)
			j--;
		if (rn(2)) {	/* test r, bit; jz/jnz j; jmp i + 1 (or the header) */
			int r = greg();
			put8(0x48 | (r >> 3)), put8(0xf7), put8(0xc0 | (r & 7)), put32(1u << rn(32));
			put8(0x0f), put8(0x84 + rn(2)), rel(j);
			j = i + 1;	/* not a loop body: its header is the block before */
		}
		put8(0xe9), rel(j);
		if (at > CODE_SIZE - 64) {
			fprintf(stderr, "test_inject: program too big\n");
			exit(2);
		}
	}
	for (int k = 0; k < nrel; k++)
		*(int32_t *)(img + relfix[k]) = (int32_t)(blk[reltgt[k]] - (relfix[k] + 4));
	/* without a site, the padding after the program */
	for (int k = 0; k < nstfix; k++)
		*(int32_t *)(img + stfix[k]) =
			(int32_t)((nsites ? sites[rn(nsites)] : CODE_SIZE - 8) - (stfix[k] + 4));
}

/* ---- the oracle: executions and accesses per instruction ---- */

static uint64_t o_exec[NSLOTS], o_ld[NSLOTS], o_st[NSLOTS], o_insns;
static uint64_t o_hash[NSLOTS];	/* sum of state_hash() at each execution's start */

/* What a callback that reads registers sees, in one number. */
static uint64_t state_hash(const uint64_t *r)
{
	uint64_t h = 0;
	for (int i = 0; i < 16; i++)
		h += r[i] * (2 * i + 1) ^ (h >> 29);
	return h;
}
static uint8_t odata[PAGE];

static uint64_t sx32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return (uint64_t)(int64_t)v; }

static uint8_t ocode[CODE_SIZE];

/* Returns NULL at the syscall, "fault" at the faulting load (counted as
 * executed, with no access: it never completes), or why it cannot go on. */
static const char *oracle_run(uint64_t *r, uint32_t *end_pc)
{
	uint32_t pc = blk[0];
	bool zf = false;
	for (long step = 0; step < 1000000; step++) {
		if (pc >= CODE_SIZE - 16)
			return "pc left the code";
		const uint8_t *m = ocode + pc;
		o_exec[pc]++;
		o_hash[pc] += state_hash(r);
		o_insns++;
		*end_pc = pc;
		if (m[0] == 0x0f && m[1] == 0x05)
			return NULL;
		if (m[0] == 0x44 && m[1] == 0x89 && m[2] == 0x2d) {
			uint32_t v = r[13];
			memcpy(ocode + pc + 7 + sx32(m + 3), &v, 4);
			o_st[pc]++;
			pc += 7;
			continue;
		}
		if (m[0] == 0x0f && (m[1] == 0x84 || m[1] == 0x85)) {
			pc += 6 + ((m[1] == 0x85) != zf ? sx32(m + 2) : 0);
		} else if (m[0] == 0xe9) {
			pc += 5 + sx32(m + 1);
		} else if ((m[0] & 0xf0) == 0x40) {
			int R = (m[0] >> 2 & 1) << 3, B = (m[0] & 1) << 3;
			int reg = R | (m[2] >> 3 & 7), rm = B | (m[2] & 7);
			switch (m[1]) {
			case 0x01: r[rm] += r[reg]; pc += 3; break;
			case 0x31: r[rm] ^= r[reg]; pc += 3; break;
			case 0x81: r[rm] += sx32(m + 3); pc += 7; break;
			case 0xc7: r[rm] = sx32(m + 3); pc += 7; break;
			case 0xf7: zf = (r[rm] & sx32(m + 3)) == 0; pc += 7; break;
			case 0xff: zf = --r[rm] == 0; pc += 3; break;
			case 0x8b:
				if (sx32(m + 3) >= PAGE)
					return "fault";
				memcpy(&r[reg], odata + sx32(m + 3), 8);
				o_ld[pc]++;
				pc += 7;
				break;
			case 0x89: memcpy(odata + sx32(m + 3), &r[reg], 8); o_st[pc]++; pc += 7; break;
			default: return "bad opcode";
			}
		} else {
			return "bad opcode";
		}
	}
	return "too many steps";
}

/* ---- the plugin ---- */

struct want {
	bool inl, cb, cb_regs, cond, mem_cb, mem_inl, tb_inl, tb_cb;
};
static struct want W;
static struct qemu_plugin_scoreboard *sb_insn, *sb_mem, *sb_tb, *sb_zero;
static uint64_t c_cb[NSLOTS], c_regs[NSLOTS], c_cond[NSLOTS], c_never[NSLOTS];
static uint64_t c_ld[NSLOTS], c_st[NSLOTS], c_tb_insns, c_bad_addr;
static uint64_t c_hash[NSLOTS], c_bad_pc, c_bad_read;
static struct qemu_plugin_register *reg_h[17];	/* rax..r15 by number, rip */
static const char *const rnames[17] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8",
					"r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip" };

static void on_vcpu_init(qemu_plugin_id_t id, unsigned vcpu)
{
	GArray *a = qemu_plugin_get_registers();
	for (unsigned i = 0; i < a->len; i++) {
		qemu_plugin_reg_descriptor *d = &g_array_index(a, qemu_plugin_reg_descriptor, i);
		for (int r = 0; r < 17; r++)
			if (!strcmp(d->name, rnames[r]))
				reg_h[r] = d->handle;
	}
	g_array_free(a, TRUE);
}

static uint64_t read_reg(int r)
{
	uint64_t v = 0;
	GByteArray *b = g_byte_array_new();
	if (!reg_h[r] || !qemu_plugin_read_register(reg_h[r], b) || b->len != 8)
		c_bad_read++;
	else
		memcpy(&v, b->data, 8);
	g_byte_array_free(b, TRUE);
	return v;
}

/* Which requests an instruction gets: the same on every translation. */
static unsigned pick(uint64_t pc)
{
	uint64_t h = (pc ^ case_seed) * 0x9e3779b97f4a7c15ull;
	return h >> 40;
}

static void cb_exec(unsigned vcpu, void *ud) { c_cb[(uintptr_t)ud]++; }
/* The registers at the start of the instruction, exactly. */
static void cb_exec_regs(unsigned vcpu, void *ud)
{
	uintptr_t slot = (uintptr_t)ud;
	uint64_t r[16];
	c_regs[slot]++;
	for (int i = 0; i < 16; i++)
		r[i] = read_reg(i);
	c_hash[slot] += state_hash(r);
	if (read_reg(16) != CODE_BASE + slot)
		c_bad_pc++;
}
static void cb_cond(unsigned vcpu, void *ud) { c_cond[(uintptr_t)ud]++; }
static void cb_never(unsigned vcpu, void *ud) { c_never[(uintptr_t)ud]++; }
static void cb_tb(unsigned vcpu, void *ud) { c_tb_insns += (uintptr_t)ud; }
static void cb_mem(unsigned vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *ud)
{
	uintptr_t slot = (uintptr_t)ud;
	const uint8_t *m = img + slot;	/* the original bytes: stores change imm32s only */
	uint64_t want = m[0] == 0x44 ? CODE_BASE + slot + 7 + sx32(m + 3) : DATA_BASE + sx32(m + 3);
	if (vaddr != want || qemu_plugin_mem_size_shift(info) != (m[0] == 0x44 ? 2 : 3))
		c_bad_addr++;
	if (qemu_plugin_mem_is_store(info))
		c_st[slot]++;
	else
		c_ld[slot]++;
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	if (W.tb_inl)
		qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(tb, QEMU_PLUGIN_INLINE_ADD_U64,
								   qemu_plugin_scoreboard_u64(sb_tb), n);
	if (W.tb_cb)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, cb_tb, QEMU_PLUGIN_CB_NO_REGS, (void *)n);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uintptr_t slot = qemu_plugin_insn_vaddr(insn) - CODE_BASE;
		unsigned p = pick(slot);
		qemu_plugin_u64 e = { sb_insn, slot * 8 }, z = { sb_zero, 0 };
		if (W.inl && p & 1)
			qemu_plugin_register_vcpu_insn_exec_inline_per_vcpu(insn, QEMU_PLUGIN_INLINE_ADD_U64,
									    e, 1);
		if (W.cb && p & 2)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, cb_exec, QEMU_PLUGIN_CB_NO_REGS,
							       (void *)slot);
		if (W.cb_regs && p & 4)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, cb_exec_regs,
							       p & 8 ? QEMU_PLUGIN_CB_R_REGS
								     : QEMU_PLUGIN_CB_RW_REGS,
							       (void *)slot);
		if (W.cond && p & 16) {
			/* holds: ALWAYS or 0 >= 0; never: NEVER or 0 >= 1 */
			bool always = p & 32;
			qemu_plugin_register_vcpu_insn_exec_cond_cb(
				insn, cb_cond, QEMU_PLUGIN_CB_NO_REGS,
				always ? QEMU_PLUGIN_COND_ALWAYS : QEMU_PLUGIN_COND_GE, z, 0, (void *)slot);
			qemu_plugin_register_vcpu_insn_exec_cond_cb(
				insn, cb_never, QEMU_PLUGIN_CB_NO_REGS,
				always ? QEMU_PLUGIN_COND_NEVER : QEMU_PLUGIN_COND_GE, z, 1, (void *)slot);
		}
		if (W.mem_cb && p & 64)
			qemu_plugin_register_vcpu_mem_cb(insn, cb_mem, QEMU_PLUGIN_CB_NO_REGS,
							 QEMU_PLUGIN_MEM_RW, (void *)slot);
		if (W.mem_inl && p & 128)
			qemu_plugin_register_vcpu_mem_inline_per_vcpu(
				insn, QEMU_PLUGIN_MEM_RW, QEMU_PLUGIN_INLINE_ADD_U64,
				(qemu_plugin_u64){ sb_mem, slot * 8 }, 1);
	}
}

int unit_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv);
int unit_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	sb_insn = qemu_plugin_scoreboard_new(NSLOTS * 8);
	sb_mem = qemu_plugin_scoreboard_new(NSLOTS * 8);
	sb_tb = qemu_plugin_scoreboard_new(8);
	sb_zero = qemu_plugin_scoreboard_new(8);
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
	qemu_plugin_register_vcpu_init_cb(id, on_vcpu_init);
	return 0;
}

/* ---- a case, in a child ---- */

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	if (exec_host_fault(si, uc))
		return;
	static const char msg[] = "test_inject: host fault outside guest code\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(4);
}

static char why[256];

static bool run_case(int i)
{
	case_seed = SEED0 + i;
	gen_program(case_seed);
	rs = case_seed * 0x632be59bd9b4e019ull + 5;
	uint64_t w = rnd();
	W = (struct want){ w & 1, w & 2, w & 4, w & 8, w & 16, w & 32, w & 64, w & 128 };
	if (!(w & 0xff))
		W.inl = W.mem_cb = true;
	int mode = i % 3;
	bool flush = rn(2);
	uint64_t regs0[16];
	for (int r = 0; r < 16; r++)
		regs0[r] = rnd();

	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	alarm(20);	/* a hang is this case's failure */
	exec_guest = guest_exec_ops;	/* as main.c wires them */
	guest_mem = linux_guest_mem;
	instrument_env = linux_instrument_env;
	instrument_attach();
	struct cpu *cpu = exec_cpu_new();
	x86_cpu_reset(cpu);
	exec_init();
	uint8_t *code = mmap((void *)CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	uint8_t *data = mmap((void *)DATA_BASE, PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (code == MAP_FAILED || data == MAP_FAILED) {
		snprintf(why, sizeof(why), "cannot map guest memory");
		return false;
	}
	memcpy(code, img, CODE_SIZE);
	memcpy(ocode, img, CODE_SIZE);
	exec_mem_set(CODE_BASE, CODE_BASE + CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	exec_mem_set(DATA_BASE, DATA_BASE + PAGE, PROT_READ | PROT_WRITE);
	instrument_load_plugins();
	exec_cpu_start(cpu);
	exec_opts.single_insn = mode == 1;
	exec_opts.nochain = mode == 2;

	for (int run = 0; run < 2; run++) {
		uint64_t r[16];
		memcpy(r, regs0, sizeof(r));
		r[R_RSP] = DATA_BASE + PAGE;
		r[R_R14] = DATA_BASE;
		r[R_R15] = 0;
		memset(odata, 0, PAGE);
		memset(data, 0, PAGE);
		x86_cpu_reset(cpu);
		memcpy(cpu->regs, r, sizeof(r));
		cpu->rip = CODE_BASE + blk[0];
		uint32_t end_pc = 0;
		const char *bad = oracle_run(r, &end_pc);
		bool fault = bad && !strcmp(bad, "fault");
		if (bad && !fault) {
			snprintf(why, sizeof(why), "the oracle stopped: %s", bad);
			return false;
		}
		enum exec_exit e;
		while ((e = exec_run(cpu)) == EXEC_REQUEST)
			;
		if (e != (fault ? EXEC_FAULT : EXEC_SYSCALL) ||
		    (fault && (cpu->x.exc.vector != X86_EXC_PF || cpu->x.exc.addr != DATA_BASE + 2 * PAGE ||
			       cpu->rip != CODE_BASE + end_pc))) {
			snprintf(why, sizeof(why), "run %d: exec_run returned %d (vector %d at 0x%" PRIx64
				 ", pc 0x%" PRIx64 "), oracle: %s at 0x%" PRIx64, run, e,
				 cpu->x.exc.vector, cpu->x.exc.addr, cpu->rip,
				 fault ? "fault" : "syscall", CODE_BASE + end_pc);
			return false;
		}
		if (memcmp(code, ocode, CODE_SIZE)) {
			snprintf(why, sizeof(why), "run %d: code differs from the oracle's", run);
			return false;
		}
		if (memcmp(cpu->regs, r, sizeof(r))) {
			snprintf(why, sizeof(why), "run %d: registers differ from the oracle's", run);
			return false;
		}
		if (flush && run == 0)
			exec_flush_all();
	}
	const uint64_t *s_insn = qemu_plugin_scoreboard_find(sb_insn, 0);
	const uint64_t *s_mem = qemu_plugin_scoreboard_find(sb_mem, 0);
	uint64_t tb_sum = *(uint64_t *)qemu_plugin_scoreboard_find(sb_tb, 0);
	/* A store restarted after an SMC write fault counts once: what ran
	 * before the restart is not repeated by the one-shot finishing it. */
	uint64_t restarts = exec_stats.smc_restarts;
	for (uint32_t s = 0; s < NSLOTS; s++) {
		unsigned p = pick(s);
		uint64_t ex = o_exec[s], acc = o_ld[s] + o_st[s];
		bool smc_store = img[s] == 0x44 && img[s + 1] == 0x89;
		const char *what = NULL;
		uint64_t got = 0, want = 0;
#define EXPECT(cond, name, g, wv) \
	if (!what && (cond) && (g) != (wv)) what = name, got = (g), want = (wv)
		EXPECT(W.inl && p & 1, "insn inline add", s_insn[s], ex);
		if (!what && !(W.inl && p & 1) && s_insn[s])
			what = "uninstrumented insn slot", got = s_insn[s], want = 0;
		EXPECT(W.cb && p & 2, "insn callback", c_cb[s], ex);
		EXPECT(W.cb_regs && p & 4,
		       p & 8 ? "insn callback (R_REGS)" : "insn callback (RW_REGS)", c_regs[s], ex);
		EXPECT(W.cond && p & 16, p & 32 ? "cond callback ALWAYS" : "cond callback 0 >= 0",
		       c_cond[s], ex);
		EXPECT(1, p & 32 ? "cond callback NEVER" : "cond callback 0 >= 1", c_never[s], 0);
		if (!what && W.cb_regs && p & 4 && !smc_store && c_hash[s] != o_hash[s])
			what = "registers seen by a callback", got = c_hash[s], want = o_hash[s];
		/* an access that faults is not reported: exact */
		EXPECT(W.mem_cb && p & 64, "mem callback loads", c_ld[s], o_ld[s]);
		EXPECT(W.mem_cb && p & 64, "mem callback stores", c_st[s], o_st[s]);
		EXPECT(W.mem_inl && p & 128, "mem inline add", s_mem[s], acc);
		if (what) {
			snprintf(why, sizeof(why), "%s at 0x%" PRIx64 " (%02x %02x %02x): %" PRIu64
				 ", oracle %" PRIu64, what, CODE_BASE + s, img[s], img[s + 1], img[s + 2],
				 got, want);
			return false;
		}
	}
	/* A TB's own adds and callbacks count all its instructions on entry:
	 * exact unless a fault or an SMC restart cut a TB short. */
	bool cut = faults || restarts;
	uint64_t tb_max = cut ? o_insns + (restarts + 2) * 512 : o_insns;
	if (W.tb_inl && (tb_sum < o_insns || tb_sum > tb_max)) {
		snprintf(why, sizeof(why), "TB inline adds of n_insns: %" PRIu64 ", oracle %" PRIu64 "%s",
			 tb_sum, o_insns, cut ? " or a little more" : "");
		return false;
	}
	if (W.tb_cb && (c_tb_insns < o_insns || c_tb_insns > tb_max)) {
		snprintf(why, sizeof(why), "TB callbacks' n_insns: %" PRIu64 ", oracle %" PRIu64 "%s",
			 c_tb_insns, o_insns, cut ? " or a little more" : "");
		return false;
	}
	if (c_bad_pc || c_bad_read) {
		snprintf(why, sizeof(why), "callbacks reading registers: %" PRIu64 " saw a wrong rip, "
			 "%" PRIu64 " reads failed", c_bad_pc, c_bad_read);
		return false;
	}
	if (c_bad_addr) {
		snprintf(why, sizeof(why), "%" PRIu64 " memory callbacks with a wrong address or size",
			 c_bad_addr);
		return false;
	}
	return true;
}

void unit_main(void)
{
	static const char *const modes[] = { "default", "-one-insn-per-tb", "-nochain" };
	char exe[PATH_MAX], shim[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		perror("test_inject: /proc/self/exe");
		exit(2);
	}
	exe[n] = 0;
	/* build/<mode>/unit/test_inject -> build/tests/plugins/libunitshim.so */
	snprintf(shim, sizeof(shim), "%s/../../tests/plugins/libunitshim.so", dirname(exe));
	if (access(shim, R_OK)) {
		printf("SKIP test_inject: %s is not built (make plugin-tests)\n", shim);
		printf("0 passed, 0 failed, 1 skipped\n");
		exit(0);
	}
	if (x86_select_level(NULL) < 0)
		exit(2);
	int first = 0, last = NCASES - 1;
	const char *only = getenv("LOOM_TEST_ONLY");
	if (only) {
		char *end;
		first = strtol(only, &end, 0);
		last = *end == '-' ? strtol(end + 1, NULL, 0) : first;
	}
	char *spec = instrument_add_plugin(shim);
	if (!spec)
		exit(2);
	int *res = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	for (int i = first; i <= last; i++) {
		fflush(stdout);
		res[0] = 0;
		pid_t pid = fork();
		if (pid == 0) {
			bool ok = run_case(i);
			if (!ok)
				snprintf((char *)res, 4096, "%s", why);
			_exit(ok ? 0 : 1);
		}
		int status;
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			unit_passed++;
			continue;
		}
		unit_failed++;
		printf("FAIL inject case %d (%s): %s\n", i, modes[i % 3],
		       ((char *)res)[0] ? (char *)res : "the child died");
	}
	printf("test_inject: cases %d-%d\n", first, last);
}
