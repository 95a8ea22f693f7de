/* Code in a file mapping, run up to and past the file's end.  The mapping
 * is three pages of a one-page file: the page past the end has no backing,
 * so the host raises SIGBUS on any access to it, code fetch included.  Code
 * on the file's page runs (loom fetches it by copying it directly), and
 * falling through into the next page, jumping to it, or an instruction
 * that straddles into it faults at the page, with the pc at the
 * instruction, and the program goes on.  Printed: the signal and si_code
 * (the kernel's SIGBUS, BUS_ADRERR), si_addr and the pc, and the frame's
 * trapno and page-fault error code. */
#include "guest.h"
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jb;
static char *base;	/* addresses print relative to it */

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	printf("  fetch fault: %s si_code=%d addr=+%#lx pc=+%#lx trapno=%lld err=%#llx\n",
	       sig == SIGBUS ? "SIGBUS" : sig == SIGSEGV ? "SIGSEGV" : "another signal", si->si_code,
	       (unsigned long)((char *)si->si_addr - base),
	       (unsigned long)((char *)uc->uc_mcontext.gregs[REG_RIP] - base),
	       (long long)uc->uc_mcontext.gregs[REG_TRAPNO],
	       (long long)uc->uc_mcontext.gregs[REG_ERR]);
	siglongjmp(jb, 1);
}

static void call_at(const char *what, size_t off)
{
	printf("%s:\n", what);
	fflush(stdout);
	if (!sigsetjmp(jb, 1)) {
		int r = ((int (*)(void))(base + off))();
		printf("  returned %d\n", r);
	}
}

/* A mapping of three pages of a file of one page, holding page. */
static char *map_code(const unsigned char *page, long pg)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/fetcheofXXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	unlink(path);
	if (write(fd, page, pg) != pg) {
		perror("write");
		exit(1);
	}
	char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	close(fd);
	return p;
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *page = malloc(pg);
	struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);

	/* mov $42,%eax; ret at the start; nops from pg-16 to the end */
	memset(page, 0xcc, pg);
	memcpy(page, "\xb8\x2a\x00\x00\x00\xc3", 6);
	memset(page + pg - 16, 0x90, 16);
	char *a = map_code(page, pg);
	/* mov $imm32,%eax at pg-3, its immediate past the end (b8 01 00 | ..) */
	memcpy(page + pg - 3, "\xb8\x01\x00", 3);
	char *b = map_code(page, pg);

	base = a;
	call_at("the file's page", 0);
	call_at("falling off the file's end", pg - 16);
	call_at("a jump past the file's end", 2 * pg);
	base = b;
	call_at("an instruction straddling the file's end", pg - 3);
	call_at("the same, run again", pg - 3);
	base = a;
	call_at("the file's page again", 0);
	printf("done\n");
	return 0;
}
