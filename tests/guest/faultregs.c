/* The whole register state at faults taken inside hot loops, where every
 * general register and the flags changed since the loop's last branch: a
 * store and a load that run into a PROT_NONE page (SIGSEGV), a divide by
 * a divisor counting down to zero (SIGFPE), and a loop copied into an RWX
 * page that stores into its own page (which a translator write-protects:
 * its first store there is restarted) before it faults too.  The handler
 * prints every GPR, rip and the arithmetic flags of its ucontext, addresses
 * as offsets (from the area, the code, the stack at the kernel's entry);
 * the native run is the oracle. */
#include "guest.h"
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

/* Each kernel is entered with rdi (what it walks or counts), rsi (where to
 * store its entry rsp) and rdx (kern_smc: the PROT_NONE page), and never
 * returns: its last iteration faults.  MIX changes every register but rdi
 * and rsp, ending with an add (every arithmetic flag defined). */
#define INIT                                                            \
	"mov %rsp, (%rsi)\n"                                            \
	"mov $0x0123456789abcdef, %rax\n mov $3, %ebx\n mov $5, %ecx\n" \
	"mov $7, %edx\n mov $11, %esi\n mov $13, %ebp\n mov $17, %r8d\n" \
	"mov $19, %r9d\n mov $23, %r10d\n mov $29, %r11d\n"             \
	"mov $31, %r12d\n mov $37, %r13d\n mov $41, %r14d\n mov $43, %r15d\n"
#define MIX                                                             \
	"add %rax, %rbx\n imul %rbx, %rcx\n add %rax, %rcx\n lea 3(%rcx,%rdx,2), %rdx\n" \
	"xor %rdx, %rsi\n rol $5, %rbp\n add %rsi, %rbp\n shr $3, %r8\n" \
	"add %rbp, %r8\n inc %r9\n sub %r9, %r10\n adc %r10, %r11\n"    \
	"neg %r12\n sbb %r11, %r12\n bswap %r13\n add %r12, %r13\n"     \
	"shl $7, %r14\n or %r13, %r14\n ror $11, %r15\n sub %r14, %r15\n" \
	"add %r15, %rax\n"

__asm__(".pushsection .text\n"
	/* a store into the next page, 8 bytes further each time */
	".globl kern_store\n kern_store:\n" INIT
	"1:\n" MIX
	"mov %rcx, (%rdi)\n lea 8(%rdi), %rdi\n jmp 1b\n"
	/* a load (with an add) from there, two registers just given
	 * constants (which a translator may keep from env until a fault) */
	".globl kern_load\n kern_load:\n" INIT
	"1:\n" MIX
	"mov $-7, %r9\n mov $300, %r10\n add (%rdi), %rdx\n lea 8(%rdi), %rdi\n jmp 1b\n"
	/* div by rdi, counting down: #DE at 0 (dec's flags, add's CF) */
	".globl kern_div\n kern_div:\n" INIT
	"1:\n" MIX
	"dec %rdi\n mov %rbx, %rax\n mov $0, %edx\n div %rdi\n jmp 1b\n"
	/* position-independent, run from a copy: 200 stores at rdi (its
	 * own page), then a store into the PROT_NONE page at rdx */
	".globl kern_smc\n kern_smc:\n"
	"push %rdx\n push $200\n" INIT
	"1:\n" MIX
	"mov %rbx, (%rdi)\n xor %rcx, 8(%rdi)\n decq (%rsp)\n jnz 1b\n"
	"mov 8(%rsp), %rdi\n" MIX
	"mov %rcx, (%rdi)\n ud2\n"
	".globl kern_smc_end\n kern_smc_end:\n"
	".popsection\n");

void kern_store(void *, uint64_t *), kern_load(void *, uint64_t *);
void kern_div(uint64_t, uint64_t *);
void kern_smc(void *, uint64_t *, void *);
extern const char kern_smc_end[];

static sigjmp_buf back;
static uint8_t *area;		/* a RW page, then a PROT_NONE page */
static uintptr_t code_lo, code_hi;	/* the kernel that runs */
static uint64_t entry_rsp;

static void show(const char *name, uint64_t v)
{
	if (v >= (uintptr_t)area && v < (uintptr_t)area + 8192)
		printf(" %s=area+%#lx", name, (unsigned long)(v - (uintptr_t)area));
	else if (v >= code_lo && v < code_hi)
		printf(" %s=code+%#lx", name, (unsigned long)(v - code_lo));
	else if (v - entry_rsp + 4096 < 8192)
		printf(" %s=sp%+ld", name, (long)(v - entry_rsp));
	else
		printf(" %s=%#lx", name, (unsigned long)v);
}

static void handler(int sig, siginfo_t *si, void *ctx)
{
	static const struct { const char *name; int i; } regs[] = {
		{ "rax", REG_RAX }, { "rbx", REG_RBX }, { "rcx", REG_RCX }, { "rdx", REG_RDX },
		{ "rsi", REG_RSI }, { "rdi", REG_RDI }, { "rbp", REG_RBP }, { "rsp", REG_RSP },
		{ "r8", REG_R8 }, { "r9", REG_R9 }, { "r10", REG_R10 }, { "r11", REG_R11 },
		{ "r12", REG_R12 }, { "r13", REG_R13 }, { "r14", REG_R14 }, { "r15", REG_R15 },
		{ "rip", REG_RIP },
	};
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	printf("  signal %d code %d", sig, si->si_code);
	show("addr", (uintptr_t)si->si_addr);
	printf("\n   ");
	for (unsigned i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		show(regs[i].name, (uint64_t)g[regs[i].i]);
		if (i % 6 == 5)
			printf("\n   ");
	}
	/* CF PF AF ZF SF DF OF */
	printf(" eflags=%#lx\n", (unsigned long)(g[REG_EFL] & 0xcd5));
	siglongjmp(back, 1);
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);	/* (kern_smc's ud2: not reached) */

	area = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || mprotect(area + 4096, 4096, PROT_NONE))
		return 1;
	memset(area, 0x5a, 4096);

	/* 512 - 40 iterations before the store runs into the next page */
	code_lo = (uintptr_t)kern_store;
	code_hi = (uintptr_t)kern_smc_end;
	printf("store:\n");
	if (!sigsetjmp(back, 1))
		kern_store(area + 320, &entry_rsp);
	printf("load:\n");
	if (!sigsetjmp(back, 1))
		kern_load(area + 64, &entry_rsp);
	printf("div:\n");
	if (!sigsetjmp(back, 1))
		kern_div(300, &entry_rsp);

	size_t len = (uintptr_t)kern_smc_end - (uintptr_t)kern_smc;
	uint8_t *rwx = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rwx == MAP_FAILED || len > 2048)
		return 1;
	memcpy(rwx, (const void *)(uintptr_t)kern_smc, len);
	code_lo = (uintptr_t)rwx;
	code_hi = (uintptr_t)rwx + 4096;
	printf("smc:\n");
	if (!sigsetjmp(back, 1))
		((void (*)(void *, uint64_t *, void *))(uintptr_t)rwx)(rwx + 2048, &entry_rsp,
								      area + 4096);
	uint64_t a, b;
	memcpy(&a, rwx + 2048, 8);
	memcpy(&b, rwx + 2056, 8);
	printf("  stored %#lx %#lx\n", (unsigned long)a, (unsigned long)b);
	return 0;
}
