/*
 * The guest side of the differential instruction tester: a static program
 * that runs every case of its batch (the case records and the snippets come
 * from the batch's generated .S) and writes the results to stdout.  The same
 * binary runs natively and under loom; compare.c diffs the two outputs.  A
 * signal raised by a snippet (#DE, an unimplemented instruction's SIGILL) is
 * an outcome: the handler records it with the register state at the fault
 * and resumes at isa_resume.  Invariant: nothing but the snippet runs
 * between isa_run's loads and isa_done's stores.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <asm/prctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "isa.h"
#include "put.h"

extern struct isa_state isa_in, isa_out;
extern uint8_t isa_mem[ISA_MEM];
extern const uint64_t isa_snips[][2];   /* start, end of the insn under test */
extern const uint64_t isa_nsnips;
extern const uint8_t isa_cases[];
extern const uint8_t isa_avx;           /* the batch uses ymm: compare bits 255:128 */
extern char isa_resume[];
extern uint64_t isa_fs_base, isa_gs_base;   /* what isa_resume puts back */
void isa_run(void *snippet);

static const uint8_t *cur_snip;
static uint16_t user_cs;                /* the 64-bit code selector main runs on */
#define ISA_GUARD 0x100000000000ull    /* far from the binary and its case table */

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	(void)si;
	greg_t *g = uc->uc_mcontext.gregs;
	static const int order[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP,
		REG_RBP, REG_RSI, REG_RDI, REG_R8, REG_R9, REG_R10, REG_R11, REG_R12,
		REG_R13, REG_R14, REG_R15 };
	for (int i = 0; i < 16; i++)
		isa_out.gpr[i] = g[order[i]];
	isa_out.rflags = g[REG_EFL];
	isa_out.signo = sig;
	isa_out.sig_off = g[REG_RIP] - (uint64_t)cur_snip;
	if (uc->uc_mcontext.fpregs) {
		isa_out.mxcsr = uc->uc_mcontext.fpregs->mxcsr;
		memcpy(isa_out.xmm, uc->uc_mcontext.fpregs->_xmm, sizeof isa_out.xmm);
		/* The kernel's XSAVE frame: the AVX component at 576 if XSTATE_BV
		 * says it is there (else it is in its initial state, zero). */
		const uint8_t *fp = (const uint8_t *)uc->uc_mcontext.fpregs;
		uint32_t magic1;
		uint64_t bv;
		memcpy(&magic1, fp + 464, 4);
		memcpy(&bv, fp + 512, 8);
		memset(isa_out.ymmh, 0, sizeof isa_out.ymmh);
		if (isa_avx && (uc->uc_flags & 1) && magic1 == 0x46505853u && (bv & 4))
			memcpy(isa_out.ymmh, fp + 576, sizeof isa_out.ymmh);
	}
	g[REG_RIP] = (uint64_t)isa_resume;
	/* Back to 64-bit code whatever the instruction left in CS (on Intel,
	 * a sysenter from 64-bit mode returns through the kernel's compat
	 * path in 32-bit mode): the low 16 bits of REG_CSGSFS are CS. */
	g[REG_CSGSFS] = (g[REG_CSGSFS] & ~0xffffull) | user_cs;
	g[REG_EFL] &= ~0x400ull;        /* DF off for the C code that follows */
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	/* The snippet's rsp points into the small memory window: a frame
	 * pushed there would overwrite the data below it. */
	static uint8_t altstack[1 << 16] __attribute__((aligned(64)));
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	sigaltstack(&ss, NULL);
	int sigs[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGTRAP };
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);

	asm("mov %%cs, %0" : "=r"(user_cs));
	if (syscall(SYS_arch_prctl, ARCH_GET_FS, &isa_fs_base) || syscall(SYS_arch_prctl, ARCH_GET_GS, &isa_gs_base))
		return 5;
	/* A page, then a guard page: string and access forms that run into it. */
	if (mmap((void *)ISA_GUARD, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		 -1, 0) == MAP_FAILED || mprotect((void *)(ISA_GUARD + 4096), 4096, PROT_NONE))
		return 4;
	struct isa_case_hdr hdr;
	memcpy(&hdr, isa_cases, sizeof hdr);
	if (hdr.magic != ISA_MAGIC)
		return 2;
	put(&hdr, sizeof hdr);
	uint64_t n = isa_nsnips;
	put(&n, sizeof n);
	for (uint64_t i = 0; i < n; i++) {
		struct isa_snip_desc d = { 0 };
		d.len = isa_snips[i][1] - isa_snips[i][0];
		memcpy(d.bytes, (void *)isa_snips[i][0], d.len > 15 ? 15 : d.len);
		put(&d, sizeof d);
	}
	const struct isa_case *cases = (const void *)(isa_cases + sizeof hdr);
	for (uint64_t c = 0; c < hdr.ncases; c++) {
		struct isa_case k;
		memcpy(&k, &cases[c], sizeof k);
		k.in.gpr[4] = (uint64_t)&isa_mem[32];   /* rsp: inside the window */
		for (int r = 0; r < 16; r++)     /* gen.py's MARK: an address in the window */
			if (k.in.gpr[r] >> 8 == 0x5a5a5a5a5a5a5aull)
				k.in.gpr[r] = (uint64_t)&isa_mem[k.in.gpr[r] & 63];
			else if (k.in.gpr[r] >> 8 == 0x5c5c5c5c5c5c5cull)   /* before the guard page */
				k.in.gpr[r] = ISA_GUARD + 4096 - (k.in.gpr[r] & 0xff);
			else if (k.in.gpr[r] >> 8 == 0x5b5b5b5b5b5b5bull)   /* junk above bit 31 */
				k.in.gpr[r] = (uint64_t)&isa_mem[k.in.gpr[r] & 63] | 0xdeadbeef00000000ull;
		memset((void *)(ISA_GUARD + 4096 - 256), 0xa5, 256);  /* same bytes every case */
		isa_in = k.in;
		memcpy(isa_mem, k.in.mem, ISA_MEM);
		memset(&isa_out, 0, sizeof isa_out);
		cur_snip = (const uint8_t *)isa_snips[k.snip][0];
		isa_run((void *)cur_snip);
		memcpy(isa_out.mem, isa_mem, ISA_MEM);
		put(&isa_out, sizeof isa_out);
	}
	put(NULL, 0);
	return 0;
}
