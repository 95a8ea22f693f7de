/* SGDT, SIDT, SLDT, STR and SMSW as a user program sees them.  On a CPU with
 * UMIP, Linux emulates them after decoding the instruction itself: a store
 * that cannot be made is SIGSEGV with SEGV_MAPERR at the operand's first
 * byte, whatever the page (unmapped, PROT_NONE, read-only) or the address
 * (non-canonical, through rbp); prefixes its decoder refuses give SIGSEGV
 * with SI_KERNEL; REX.W forms write 64 bits, the 32-bit ones keep the upper
 * half.  Without UMIP the CPU runs them.  Either way the native run is the
 * oracle.  Each case runs from a code page: the bytes, then ret, with rax
 * and rbp pointing at the operand and rdx holding a marker. */
#include "guest.h"
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf back;
static int got_sig, got_code;
static uintptr_t got_addr;

static void handler(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	got_sig = sig;
	got_code = si->si_code;
	got_addr = (uintptr_t)si->si_addr;
	siglongjmp(back, 1);
}

static uint8_t *code, *rw, *none, *ro;

static void run(const char *name, const uint8_t *bytes, size_t n, uintptr_t p)
{
	memcpy(code, bytes, n);
	code[n] = 0xc3;
	memset(rw, 0xcc, 16);
	uint64_t rdx = 0x1122334455667788ull;
	if (!sigsetjmp(back, 1)) {
		__asm__ volatile("push %%rbp\n\tmov %1, %%rax\n\tmov %1, %%rbp\n\tcall *%2\n\tpop %%rbp"
				 : "+d"(rdx) : "r"(p), "r"(code) : "rax", "memory");
		/* the descriptor-table bases are the kernel's: only the limits */
		printf("%-26s ok rdx=%016llx mem=%02x%02x\n", name, (unsigned long long)rdx, rw[0], rw[1]);
		return;
	}
	const char *where = got_addr == p ? "the operand" : got_addr == 0 ? "0" : "elsewhere";
	printf("%-26s signal %d code %d at %s\n", name, got_sig, got_code, where);
}

#define CASE(name, p, ...) do {						\
		static const uint8_t b[] = { __VA_ARGS__ };		\
		run(name, b, sizeof b, (uintptr_t)(p));			\
	} while (0)

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rw = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED || rw == MAP_FAILED)
		return 1;
	none = rw + 4096;
	ro = rw + 8192;
	mprotect(none, 4096, PROT_NONE);
	mprotect(ro, 4096, PROT_READ);

	/* registers: 32-bit forms keep the upper half, REX.W writes 64 bits */
	CASE("sldt edx", rw, 0x0f, 0x00, 0xc2);
	CASE("str edx", rw, 0x0f, 0x00, 0xca);
	CASE("str dx", rw, 0x66, 0x0f, 0x00, 0xca);
	CASE("str rdx", rw, 0x48, 0x0f, 0x00, 0xca);
	CASE("66 48 str rdx", rw, 0x66, 0x48, 0x0f, 0x00, 0xca);
	CASE("smsw edx", rw, 0x0f, 0x01, 0xe2);
	CASE("smsw rdx", rw, 0x48, 0x0f, 0x01, 0xe2);
	/* memory: 16 bits, or the 2-byte limit of sgdt/sidt */
	CASE("sldt [rax]", rw, 0x0f, 0x00, 0x00);
	CASE("smsw [rax]", rw, 0x0f, 0x01, 0x20);
	CASE("sgdt [rax]", rw, 0x0f, 0x01, 0x00);
	CASE("sidt [rax]", rw, 0x0f, 0x01, 0x08);
	/* stores that cannot be made */
	CASE("sgdt [PROT_NONE]", none, 0x0f, 0x01, 0x00);
	CASE("sgdt [read-only]", ro, 0x0f, 0x01, 0x00);
	CASE("sgdt across into PROT_NONE", none - 4, 0x0f, 0x01, 0x00);
	CASE("smsw [read-only]", ro, 0x0f, 0x01, 0x20);
	CASE("str [unmapped]", 0x1000, 0x0f, 0x00, 0x08);
	CASE("sldt [non-canonical]", 0x8000000000000000ull, 0x0f, 0x00, 0x00);
	CASE("sidt [rbp non-canonical]", 0x8000000000000000ull, 0x0f, 0x01, 0x4d, 0x00);
	/* prefixes */
	CASE("3e 3e sldt", rw, 0x3e, 0x3e, 0x0f, 0x00, 0x00);
	CASE("36 3e sldt", rw, 0x36, 0x3e, 0x0f, 0x00, 0x00);
	CASE("65 64 65 sldt", rw, 0x65, 0x64, 0x65, 0x0f, 0x00, 0x00);
	CASE("f3 66 3e smsw", rw, 0xf3, 0x66, 0x3e, 0x0f, 0x01, 0x20);
	CASE("f3 f2 2e 66 sidt", rw, 0xf3, 0xf2, 0x2e, 0x66, 0x0f, 0x01, 0x08);
	CASE("36 3e smsw edx", rw, 0x36, 0x3e, 0x0f, 0x01, 0xe2);
	CASE("41 3e sldt (REX first)", rw, 0x41, 0x3e, 0x0f, 0x00, 0x00);
	CASE("40 48 smsw rdx", rw, 0x40, 0x48, 0x0f, 0x01, 0xe2);
	CASE("48 66 str", rw, 0x48, 0x66, 0x0f, 0x00, 0xca);
	return 0;
}
