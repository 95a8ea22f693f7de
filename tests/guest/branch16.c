/* Near branches with an operand-size prefix (66h).  Intel's CPUs ignore the
 * prefix in 64-bit mode; AMD's take a 16-bit operand size: the target is
 * truncated to 16 bits (a fault at a low address here), and a call pushes
 * a 2-byte return address.  REX.W overrides the prefix on both.  Each case
 * runs from a code page at CODE: its bytes, then ret, called as a function;
 * the native run is the oracle (loom follows the host's vendor). */
#include "guest.h"
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#define CODE 0x12340000ul

static sigjmp_buf back;
static int got_sig;
static uintptr_t got_addr;

static void handler(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	got_sig = sig;
	got_addr = (uintptr_t)si->si_addr;
	siglongjmp(back, 1);
}

struct bcase {
	const char *name;
	uint8_t bytes[16];
	unsigned len;
};

/* Each jumps over a ud2 to a ret, or falls into the ud2 when not taken. */
static const struct bcase cases[] = {
	{ "jmp rel8", { 0xeb, 0x02, 0x0f, 0x0b, 0xc3 }, 5 },
	{ "66 jmp rel8", { 0x66, 0xeb, 0x02, 0x0f, 0x0b, 0xc3 }, 6 },
	{ "66 48 jmp rel8", { 0x66, 0x48, 0xeb, 0x02, 0x0f, 0x0b, 0xc3 }, 7 },
	{ "66 jz rel8 (taken)", { 0x31, 0xc0, 0x66, 0x74, 0x02, 0x0f, 0x0b, 0xc3 }, 8 },
	{ "66 jnz rel8 (not taken)", { 0x31, 0xc0, 0x66, 0x75, 0x02, 0xc3, 0x0f, 0x0b }, 8 },
	{ "66 jmp rel16", { 0x66, 0xe9, 0x02, 0x00, 0x0f, 0x0b, 0xc3 }, 7 },
	{ "66 jz rel16 (taken)", { 0x31, 0xc0, 0x66, 0x0f, 0x84, 0x02, 0x00, 0x0f, 0x0b, 0xc3 }, 10 },
};

int main(void)
{
	uint8_t *code = mmap((void *)CODE, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (code != (void *)CODE) {
		printf("cannot map the code page\n");
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(code, 0xcc, 4096);
		memcpy(code + 0x100, cases[i].bytes, cases[i].len);
		__builtin___clear_cache((char *)code, (char *)code + 4096);
		got_sig = 0;
		if (!sigsetjmp(back, 1))
			((void (*)(void))(code + 0x100))();
		if (got_sig)
			printf("%-24s signal %d at %#lx\n", cases[i].name, got_sig,
			       got_addr >= CODE ? got_addr - CODE + 0x10000 : got_addr);
		else
			printf("%-24s returned\n", cases[i].name);
	}
	return 0;
}
