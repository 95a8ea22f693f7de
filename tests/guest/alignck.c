/* Alignment checking at CPL 3: Linux runs user code with CR0.AM set, so
 * a program that sets RFLAGS.AC (popf) gets #AC, delivered as SIGBUS with
 * BUS_ADRALN, on a data access that is not aligned to what its type needs
 * (SDM vol. 3, "Alignment Check Exception").  Each case below sets AC,
 * runs one instruction form on a buffer address misaligned by 0, 1, 2, 4,
 * 8 and 16 bytes, clears AC, and prints whether and how it faulted: the
 * signal, si_code, si_addr and the faulting pc relative to the case, and
 * rsp/rsi/rdi/rcx as the signal frame has them.  Only baseline x86-64
 * instructions are used, so every CPU model loom offers runs them all;
 * the native run is the oracle.  Left out: what the SDM leaves to the
 * processor (#AC or not for unaligned 16-byte loads and stores such as
 * movups, #AC or #GP for a misaligned FXSAVE area), which tests/isa's
 * random streams compare on the host they run on. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#define SET_AC "pushfq\n orl $0x40000,(%rsp)\n popfq\n"
#define CLR_AC "pushfq\n andl $~0x40000,(%rsp)\n popfq\n"

/* A case is a function of the buffer address in rdi: `pre` runs with AC
 * clear (setting up what the instruction reads), `body` with AC set. */
#define CASE2(name, pre, body)                                          \
	__asm__(".pushsection .text\n.globl ac_" #name "\nac_" #name ":\n" \
		pre SET_AC body "\n" CLR_AC "ret\n.popsection\n");        \
	void ac_##name(uint8_t *p);
#define CASE(name, body) CASE2(name, "", body)

/* Cases that run on a stack at rdi keep the real one in r15. */
#define ON_STACK(body) "mov %rsp,%r15\n mov %rdi,%rsp\n" body "\n mov %r15,%rsp\n"

CASE(clear, "")
CASE(load8, "movb (%rdi),%al")
CASE(load16, "movw (%rdi),%ax")
CASE(load32, "movl (%rdi),%eax")
CASE(load64, "movq (%rdi),%rax")
CASE(store16, "movw %ax,(%rdi)")
CASE(store32, "movl %eax,(%rdi)")
CASE(store64, "movq %rax,(%rdi)")
CASE(movzx16, "movzwl (%rdi),%eax")
CASE(movsxd, "movslq (%rdi),%rax")
/* movsxd with a 16-bit operand size (66 63 /r): a word access */
CASE(movsxd16, ".byte 0x66, 0x63, 0x07")
CASE(add_rmw32, "addl %eax,(%rdi)")
CASE(inc64, "incq (%rdi)")
CASE(lock_xadd32, "lock xaddl %eax,(%rdi)")
CASE(xchg64, "xchgq %rax,(%rdi)")
CASE(cmpxchg16, "cmpxchgw %cx,(%rdi)")
CASE(cmpxchg8b, "xor %eax,%eax\n xor %edx,%edx\n cmpxchg8b (%rdi)")
CASE(bt32_imm, "btl $3,(%rdi)")
CASE(bt64_reg, "mov $70,%eax\n btq %rax,(%rdi)")
CASE(bts16_reg, "mov $3,%eax\n btsw %ax,(%rdi)")
CASE(push_mem64, "pushq (%rdi)\n popq %rax")
CASE(cmov_taken, "xor %eax,%eax\n cmovzq (%rdi),%rax")
CASE(cmov_not, "or $1,%eax\n cmovzq (%rdi),%rax")
CASE(lea, "leaq 1(%rdi),%rax")
CASE(nop_mem, "nopl 1(%rdi)")
CASE(prefetch, "prefetcht0 1(%rdi)")
CASE(push64, ON_STACK("pushq $1\n popq %rax"))
CASE(push16, ON_STACK("pushw $1\n popw %ax"))
CASE(pop64, ON_STACK("popq %rax\n pushq %rax"))
CASE(call_ret, ON_STACK("call 1f\n jmp 2f\n1: ret\n2:"))
CASE(pushf, ON_STACK("pushfq\n popfq"))
CASE(enter_leave, "mov %rbp,%r14\n" ON_STACK("enter $8,$0\n leave") "mov %r14,%rbp")
/* enter probes its new top of stack with an operand-size access */
CASE(enter_odd, "mov %rbp,%r14\n" ON_STACK("enter $4,$0\n leave") "mov %r14,%rbp")
CASE(enter_nested, "mov %rbp,%r14\n mov %rdi,%rbp\n" ON_STACK("enter $12,$2\n leave") "mov %r14,%rbp")
/* iretq pops its frame from a stack at rdi - 40 (built with AC clear;
 * the frame's RFLAGS has AC set, its rsp is rdi) */
CASE2(iretq, "lea 1f(%rip),%rax\n mov %rax,-40(%rdi)\n mov %cs,%eax\n mov %rax,-32(%rdi)\n"
	     " pushfq\n pop %rax\n or $0x40000,%eax\n mov %rax,-24(%rdi)\n mov %rdi,-16(%rdi)\n"
	     " mov %ss,%eax\n mov %rax,-8(%rdi)\n",
      "mov %rsp,%r15\n lea -40(%rdi),%rsp\n iretq\n1: mov %r15,%rsp")
CASE(movsb, "mov %rdi,%rsi\n movsb")
CASE(movsl, "mov %rdi,%rsi\n movsl")
CASE(movsq_src, "lea 64(%rdi),%rsi\n xchg %rsi,%rdi\n movsq\n mov %rsi,%rdi")
CASE(rep_stosq, "mov $3,%ecx\n xor %eax,%eax\n rep stosq")
CASE(lodsw, "mov %rdi,%rsi\n lodsw")
CASE(scasl, "scasl")
CASE(cmpsq, "mov %rdi,%rsi\n cmpsq")
CASE(fld32, "flds (%rdi)\n fstp %st(0)")
CASE(fld64, "fldl (%rdi)\n fstp %st(0)")
CASE(fld80, "fldt (%rdi)\n fstp %st(0)")
CASE(fild16, "filds (%rdi)\n fstp %st(0)")
CASE(fist32, "fldz\n fistpl (%rdi)")
CASE(fstp80, "fldz\n fstpt (%rdi)")
CASE(fnstcw, "fnstcw (%rdi)")
CASE2(fldcw, "fnstcw (%rdi)\n", "fldcw (%rdi)")
CASE(fnstsw, "fnstsw (%rdi)")
CASE(fnstenv, "fnstenv (%rdi)")
CASE2(fldenv, "fnstenv (%rdi)\n", "fldenv (%rdi)")
CASE(fnsave, "fnsave (%rdi)")
CASE2(frstor, "fnsave (%rdi)\n frstor (%rdi)\n", "frstor (%rdi)")
CASE(movss_ld, "movss (%rdi),%xmm0")
CASE(movsd_st, "movsd %xmm0,(%rdi)")
CASE(movd_ld, "movd (%rdi),%xmm0")
CASE(movq_st, "movq %xmm0,(%rdi)")
CASE(movaps, "movaps (%rdi),%xmm0")
CASE(addps, "addps (%rdi),%xmm0")
CASE(addss, "addss (%rdi),%xmm0")
CASE(pinsrw, "pinsrw $1,(%rdi),%xmm0")
CASE(movhps, "movhps (%rdi),%xmm0")
CASE(cvtsi2sdq, "cvtsi2sdq (%rdi),%xmm0")
CASE(movq_mmx, "movq (%rdi),%mm0\n emms")
CASE(paddw_mmx, "paddw (%rdi),%mm0\n emms")
/* maskmovq (every byte selected): 8-byte alignment.  (maskmovdqu wants
 * 8 too on the hosts met so far, but it is a 16-byte unaligned store,
 * for which the SDM leaves #AC to the processor: not here.) */
CASE(maskmovq, "pcmpeqb %mm1,%mm1\n maskmovq %mm1,%mm0\n emms")
CASE(stmxcsr, "stmxcsr (%rdi)")
CASE2(ldmxcsr, "stmxcsr (%rdi)\n", "ldmxcsr (%rdi)")
/* lgs, not lfs: loading FS would change the base glibc's TLS needs */
CASE(lgs, "lgsl (%rdi),%eax")
CASE2(lss, "mov %ss,%ax\n movw %ax,4(%rdi)\n movl %esp,(%rdi)\n", "mov %rsp,%r15\n lssl (%rdi),%esp\n mov %r15,%rsp")
CASE2(mov_from_sreg, "", "movw %ds,(%rdi)")
CASE2(mov_to_sreg, "movw %ds,(%rdi)\n", "movw (%rdi),%ds")

struct ac_case {
	const char *name;
	void (*fn)(uint8_t *);
};
#define C(n) { #n, ac_##n }
static const struct ac_case cases[] = {
	C(load8), C(load16), C(load32), C(load64), C(store16), C(store32), C(store64),
	C(movzx16), C(movsxd), C(movsxd16), C(add_rmw32), C(inc64), C(lock_xadd32), C(xchg64),
	C(cmpxchg16), C(cmpxchg8b), C(bt32_imm), C(bt64_reg), C(bts16_reg), C(push_mem64),
	C(cmov_taken), C(cmov_not), C(lea), C(nop_mem), C(prefetch), C(push64), C(push16),
	C(pop64), C(call_ret), C(pushf), C(enter_leave), C(enter_odd), C(enter_nested), C(iretq), C(movsb), C(movsl), C(movsq_src),
	C(rep_stosq), C(lodsw), C(scasl), C(cmpsq), C(fld32), C(fld64), C(fld80), C(fild16),
	C(fist32), C(fstp80), C(fnstcw), C(fldcw), C(fnstsw), C(fnstenv), C(fldenv),
	C(fnsave), C(frstor), C(movss_ld), C(movsd_st), C(movd_ld),
	C(movq_st), C(movaps), C(addps), C(addss), C(pinsrw),
	C(movhps), C(cvtsi2sdq), C(movq_mmx), C(paddw_mmx), C(maskmovq), C(stmxcsr), C(ldmxcsr), C(lgs),
	C(lss), C(mov_from_sreg), C(mov_to_sreg),
};

static sigjmp_buf back;
static uint8_t *buf;
static uintptr_t case_pc;
static char line[256];

static void rel(char *out, size_t n, const char *what, uint64_t v)
{
	int64_t d = (int64_t)(v - (uintptr_t)buf);
	if (d >= -4096 && d < 8192)
		snprintf(out, n, " %s=%+lld", what, (long long)d);
	else
		snprintf(out, n, " %s=%s", what, v ? "other" : "0");
}

/* RFLAGS as the caller has them. */
__asm__(".pushsection .text\nac_rflags:\n pushfq\n pop %rax\n ret\n.popsection\n");
uint64_t ac_rflags(void);

static void handler(int sig, siginfo_t *si, void *ctx)
{
	/* The kernel leaves AC as it was in the handler's flags (it clears
	 * DF, TF and RF only). */
	int handler_ac = !!(ac_rflags() & 0x40000);
	ac_clear(NULL);
	greg_t *g = ((ucontext_t *)ctx)->uc_mcontext.gregs;
	char a[40], sp[40], si_[40], di[40];
	rel(a, sizeof a, "addr", (uintptr_t)si->si_addr);
	rel(sp, sizeof sp, "rsp", g[REG_RSP]);
	rel(si_, sizeof si_, "rsi", g[REG_RSI]);
	rel(di, sizeof di, "rdi", g[REG_RDI]);
	uint64_t rcx = g[REG_RCX];
	snprintf(line, sizeof line, "sig %d code %d%s pc=+%lld%s%s%s rcx=%lld ac=%d handler-ac=%d", sig,
		 si->si_code, a, (long long)(g[REG_RIP] - case_pc), sp, si_, di,
		 rcx < 4096 ? (long long)rcx : -1LL, !!(g[REG_EFL] & 0x40000), handler_ac);
	siglongjmp(back, 1);
}

int main(void)
{
	static const int offs[] = { 0, 1, 2, 4, 8, 16 };
	buf = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	buf += 4096;	/* room below for the stack cases' pushes */
	stack_t ss = { .ss_sp = malloc(65536), .ss_size = 65536 };
	sigaltstack(&ss, NULL);
	struct sigaction sa = { .sa_sigaction = handler, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	int faults = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
			uint8_t *p = buf + 256 + offs[k];
			memset(buf - 4096, 0, 16384);
			case_pc = (uintptr_t)cases[i].fn;
			strcpy(line, "ok");
			if (!sigsetjmp(back, 1))
				cases[i].fn(p);
			else
				faults++;
			printf("%-14s +%-2d %s\n", cases[i].name, offs[k], line);
		}
	}
	printf("%d faults\n", faults);
	return 0;
}
