/*
 * Every encoding of the hint and reserved-NOP space, run for its outcome:
 * 0F 0D (prefetch hints) and 0F 18-0F 1F (prefetch hints, MPX, CLDEMOTE,
 * RDSSP/ENDBR and the reserved NOPs), with each of the 256 ModRM bytes,
 * under a set of prefix combinations (none, 66, F2, F3, REX.W and their
 * mixtures, REX.R/B, 67, segment overrides, LOCK).  Memory forms address an
 * inaccessible guard region (or a non-canonical address), so a form that
 * touched memory would fault where a hint must not.  Each case prints one
 * line: its bytes and what happened (ran as a NOP, changed registers or
 * flags, or the signal with its code, address and the faulting rip).
 *
 * The same static binary runs natively -- the oracle, on whatever CPU the
 * suite runs on -- and under loom; hints.sh compares the outputs line by
 * line.  Invariant: between hint_run's register loads and hint_back's
 * stores only the instruction under test runs (its slot ends in an
 * absolute indirect jump that needs no register).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <sys/mman.h>

#define SLOT 48
#define GUARD_SIZE 0x10000
#define NONCANON 0x8000000000001000ull

/* The 15 general registers but rsp, in the order hint_back stores them. */
uint64_t hint_fill, hint_saved_rsp, hint_target, hint_regs[15], hint_flags;
void hint_run(void *slot);
void hint_back(void);

__asm__(
	"	.text\n"
	"	.globl hint_run\n"
	"hint_run:\n"
	"	push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
	"	mov %rsp, hint_saved_rsp(%rip)\n"
	"	mov %rdi, hint_target(%rip)\n"
	"	xor %eax, %eax\n"		/* known flags: ZF PF, no CF OF SF AF */
	"	mov hint_fill(%rip), %rax\n"
	"	mov %rax, %rcx\n mov %rax, %rdx\n mov %rax, %rbx\n mov %rax, %rbp\n"
	"	mov %rax, %rsi\n mov %rax, %rdi\n mov %rax, %r8\n mov %rax, %r9\n"
	"	mov %rax, %r10\n mov %rax, %r11\n mov %rax, %r12\n mov %rax, %r13\n"
	"	mov %rax, %r14\n mov %rax, %r15\n"
	"	jmp *hint_target(%rip)\n"
	"	.globl hint_back\n"
	"hint_back:\n"
	"	mov %rax, hint_regs+0(%rip)\n mov %rcx, hint_regs+8(%rip)\n"
	"	mov %rdx, hint_regs+16(%rip)\n mov %rbx, hint_regs+24(%rip)\n"
	"	mov %rbp, hint_regs+32(%rip)\n mov %rsi, hint_regs+40(%rip)\n"
	"	mov %rdi, hint_regs+48(%rip)\n mov %r8, hint_regs+56(%rip)\n"
	"	mov %r9, hint_regs+64(%rip)\n mov %r10, hint_regs+72(%rip)\n"
	"	mov %r11, hint_regs+80(%rip)\n mov %r12, hint_regs+88(%rip)\n"
	"	mov %r13, hint_regs+96(%rip)\n mov %r14, hint_regs+104(%rip)\n"
	"	mov %r15, hint_regs+112(%rip)\n"
	"	mov hint_saved_rsp(%rip), %rsp\n"
	"	pushfq\n pop %rax\n mov %rax, hint_flags(%rip)\n"
	"	pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
	"	ret\n");

static const char *const prefix_sets[] = {
	"", "66", "f2", "f3", "48", "66 48", "f2 48", "f3 48", "41", "44", "4c",
	"66 f3", "f3 66", "66 f2", "f2 f3", "f3 f2", "67", "f3 67", "2e", "3e",
	"64", "65", "f3 3e", "f0", "f3 f0",
};
/* The prefix sets also run with every register non-canonical. */
static const char *const noncanon_sets[] = { "", "66", "f3", "48", "f3 48" };
static const uint8_t opcodes[] = { 0x0d, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f };

struct hint_case {
	uint8_t bytes[16];
	int len;
	bool noncanon;
};

static sigjmp_buf hint_jb;
static volatile int sig_no, sig_code;
static volatile uint64_t sig_addr, sig_rip;

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	sig_no = sig;
	sig_code = si->si_code;
	sig_addr = (uint64_t)si->si_addr;
	sig_rip = uc->uc_mcontext.gregs[REG_RIP];
	siglongjmp(hint_jb, 1);
}

static int parse_prefixes(const char *s, uint8_t *out)
{
	int n = 0;
	while (*s) {
		out[n++] = (uint8_t)strtoul(s, (char **)&s, 16);
		while (*s == ' ')
			s++;
	}
	return n;
}

/* Encode one case into slot: prefixes 0F op modrm [SIB] [disp], then
 * `jmp *0(%rip)` with hint_back's address. */
static void encode(struct hint_case *c, uint8_t *slot, const char *prefixes, uint8_t op,
		   uint8_t modrm, uint64_t guard)
{
	uint8_t *p = slot;
	int mod = modrm >> 6, rm = modrm & 7;
	p += parse_prefixes(prefixes, p);
	*p++ = 0x0f;
	*p++ = op;
	*p++ = modrm;
	if (mod != 3 && rm == 4)
		*p++ = 0x20;	/* SIB: base rax (r8 with REX.B), no index */
	if (mod == 1) {
		*p++ = 0x10;
	} else if (mod == 2) {
		uint32_t d = 0x100;
		memcpy(p, &d, 4);
		p += 4;
	} else if (mod == 0 && rm == 5) {
		/* rip-relative: into the guard region */
		int32_t d = (int32_t)(guard + 0x200 - (uint64_t)(p + 4));
		memcpy(p, &d, 4);
		p += 4;
	}
	c->len = p - slot;
	memcpy(c->bytes, slot, c->len);
	*p++ = 0xff;
	*p++ = 0x25;
	memset(p, 0, 4);
	p += 4;
	uint64_t back = (uint64_t)hint_back;
	memcpy(p, &back, 8);
}

static void describe(FILE *f, const struct hint_case *c, uint64_t slot, uint64_t guard)
{
	for (int i = 0; i < c->len; i++)
		fprintf(f, "%02x%s", c->bytes[i], i + 1 < c->len ? " " : "");
	if (c->noncanon)
		fprintf(f, " [non-canonical]");
	fprintf(f, ": ");
	if (sig_no) {
		fprintf(f, "signal %d code %d rip %+lld addr ", sig_no, sig_code,
			(long long)(sig_rip - slot));
		if (sig_addr >= slot && sig_addr < slot + SLOT)
			fprintf(f, "insn%+lld\n", (long long)(sig_addr - slot));
		else if (sig_addr >= guard && sig_addr < guard + GUARD_SIZE)
			fprintf(f, "guard%+lld\n", (long long)(sig_addr - guard));
		else
			fprintf(f, "0x%llx\n", (unsigned long long)sig_addr);
		return;
	}
	int changed = 0;
	for (int i = 0; i < 15; i++)
		if (hint_regs[i] != hint_fill) {
			fprintf(f, "%sreg%d=0x%llx", changed++ ? " " : "", i,
				(unsigned long long)hint_regs[i]);
		}
	/* CF PF AF ZF SF DF OF as `xor %eax,%eax` left them: PF ZF */
	uint64_t fl = hint_flags & 0xcd5;
	if (fl != 0x44)
		fprintf(f, "%sflags=0x%llx", changed++ ? " " : "", (unsigned long long)fl);
	fprintf(f, "%s\n", changed ? "" : "nop");
}

int main(void)
{
	size_t nsets = sizeof(prefix_sets) / sizeof(prefix_sets[0]);
	size_t nnc = sizeof(noncanon_sets) / sizeof(noncanon_sets[0]);
	size_t nops = sizeof(opcodes);
	size_t ncases = (nsets + nnc) * nops * 256;
	size_t code_size = (ncases * SLOT + 4095) & ~4095ul;

	/* The code, then the guard right after it, so rip-relative forms
	 * reach it with a 32-bit displacement. */
	uint8_t *code = mmap(NULL, code_size + GUARD_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED) {
		perror("hints: mmap");
		return 1;
	}
	uint64_t guard = (uint64_t)code + code_size;
	if (mprotect((void *)guard, GUARD_SIZE, PROT_NONE)) {
		perror("hints: mprotect");
		return 1;
	}
	struct hint_case *cases = calloc(ncases, sizeof(*cases));
	size_t n = 0;
	for (size_t s = 0; s < nsets + nnc; s++) {
		const char *pfx = s < nsets ? prefix_sets[s] : noncanon_sets[s - nsets];
		for (size_t o = 0; o < nops; o++)
			for (int m = 0; m < 256; m++, n++) {
				encode(&cases[n], code + n * SLOT, pfx, opcodes[o], (uint8_t)m, guard);
				cases[n].noncanon = s >= nsets;
			}
	}
	/* Written once before anything runs: no self-modifying code. */
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_NODEFER };
	sigemptyset(&sa.sa_mask);
	int sigs[] = { SIGILL, SIGSEGV, SIGBUS, SIGTRAP, SIGFPE };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	for (size_t i = 0; i < ncases; i++) {
		uint64_t slot = (uint64_t)code + i * SLOT;
		/* In the guard region, 0x200 in: disp8/disp32 stay inside it. */
		hint_fill = cases[i].noncanon ? NONCANON : guard + 0x200;
		sig_no = 0;
		if (!sigsetjmp(hint_jb, 1))
			hint_run((void *)slot);
		describe(stdout, &cases[i], slot, guard);
	}
	fflush(stdout);
	return 0;
}
