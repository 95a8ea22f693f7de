/*
 * A guest program that writes machine code at run time and runs it, the way
 * a JIT does: code rewritten in place between calls; one physical page
 * mapped twice (a memfd), written through its writable mapping and run
 * through its executable one; the same code page shared by a parent and its
 * forked child and rewritten by the child (copy on write); and a jump into a
 * page without execute permission (NX), caught.  A translator that keys its
 * blocks by physical page and invalidates them on writes must run the new
 * code every time.
 *
 * It runs inside the guest and natively on the host and must print the same
 * lines on both.  Exit status: 0 when every check held, 1 otherwise.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int bad;
static long page;

static void check(int ok, const char *what)
{
	if (!ok) {
		printf("BAD %s\n", what);
		bad = 1;
	}
}

/* emit_ret_imm: "mov eax, IMM; ret" at P (6 bytes). */
static void emit_ret_imm(unsigned char *p, uint32_t imm)
{
	p[0] = 0xb8;
	memcpy(p + 1, &imm, 4);
	p[5] = 0xc3;
}

/* emit_loop: a function that adds ADD to its argument N times in a loop,
 * so the block runs many times before it is rewritten:
 *   xor eax, eax; test edi, edi; jz done
 *   loop: add eax, ADD; dec edi; jnz loop
 *   done: ret */
static void emit_loop(unsigned char *p, int8_t add)
{
	static const unsigned char code[] = {
		0x31, 0xc0,		/* xor eax, eax */
		0x85, 0xff,		/* test edi, edi */
		0x74, 0x07,		/* jz done */
		0x83, 0xc0, 0x00,	/* loop: add eax, imm8 */
		0xff, 0xcf,		/* dec edi */
		0x75, 0xf9,		/* jnz loop */
		0xc3,			/* done: ret */
	};
	memcpy(p, code, sizeof(code));
	p[8] = (unsigned char)add;
}

typedef uint32_t (*fn0)(void);
typedef uint32_t (*fn1)(uint32_t);

static void test_in_place(void)
{
	unsigned char *p = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(p != MAP_FAILED, "mmap rwx");
	uint64_t sum = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		emit_ret_imm(p, i * 3 + 1);
		sum += ((fn0)p)();
	}
	printf("in_place: 1000 rewrites of mov/ret, sum %llu\n", (unsigned long long)sum);
	check(sum == 1000ull * 999 / 2 * 3 + 1000, "in_place sum");

	/* A hot loop rewritten between calls: each version runs 100,000
	 * iterations. */
	uint64_t total = 0;
	for (int k = 1; k <= 10; k++) {
		emit_loop(p + 64, (int8_t)k);
		total += ((fn1)(p + 64))(100000);
	}
	printf("in_place: 10 versions of a hot loop, total %llu\n", (unsigned long long)total);
	check(total == 100000ull * 55, "hot loop total");

	/* Write the code, then make the page read+exec only, the W^X way. */
	emit_ret_imm(p + 128, 0x1234);
	mprotect(p, page, PROT_READ | PROT_EXEC);
	uint32_t v = ((fn0)(p + 128))();
	mprotect(p, page, PROT_READ | PROT_WRITE);
	emit_ret_imm(p + 128, 0x5678);
	mprotect(p, page, PROT_READ | PROT_EXEC);
	uint32_t w = ((fn0)(p + 128))();
	printf("w_xor_x: %#x then %#x\n", v, w);
	check(v == 0x1234 && w == 0x5678, "W^X rewrite");
	munmap(p, page);
}

static void test_alias(void)
{
	int fd = memfd_create("smc", 0);
	check(fd >= 0 && ftruncate(fd, page) == 0, "memfd");
	unsigned char *w = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	unsigned char *x = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	check(w != MAP_FAILED && x != MAP_FAILED && w != x, "alias mappings");
	uint64_t sum = 0;
	int ok = 1;
	for (uint32_t i = 0; i < 200; i++) {
		emit_ret_imm(w + 16, 1000 + i);
		uint32_t r = ((fn0)(x + 16))();
		ok &= r == 1000 + i;
		sum += r;
	}
	printf("alias: written at one address, run at another, 200 versions, sum %llu, %s\n",
	       (unsigned long long)sum, ok ? "each new" : "BAD");
	check(ok, "alias");
	munmap(w, page);
	munmap(x, page);
	close(fd);
}

static void test_fork_cow(void)
{
	unsigned char *p = mmap(NULL, page, PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	emit_ret_imm(p, 7);
	uint32_t before = ((fn0)p)();
	int fds[2];
	check(pipe(fds) == 0, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		/* The child runs the shared page, then writes its own copy. */
		uint32_t r[2];
		r[0] = ((fn0)p)();
		emit_ret_imm(p, 8);
		r[1] = ((fn0)p)();
		_exit(write(fds[1], r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	uint32_t r[2] = {0, 0};
	int st;
	check(read(fds[0], r, sizeof(r)) == sizeof(r), "read from child");
	waitpid(pid, &st, 0);
	uint32_t after = ((fn0)p)();
	printf("fork_cow: parent %u, child %u then %u, parent after %u\n", before, r[0], r[1],
	       after);
	check(before == 7 && r[0] == 7 && r[1] == 8 && after == 7, "fork copy on write");
	close(fds[0]);
	close(fds[1]);
	munmap(p, page);
}

static sigjmp_buf escape;
static volatile int faults, fault_code;
static void *volatile fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	faults++;
	fault_code = si->si_code;
	fault_addr = si->si_addr;
	siglongjmp(escape, 1);
}

static void test_nx(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	unsigned char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	emit_ret_imm(p + 32, 1);
	faults = 0;
	if (sigsetjmp(escape, 1) == 0) {
		((fn0)(p + 32))();
		check(0, "NX: a call into a non-executable page returned");
	}
	printf("nx: %d fault, %s, at the call's target %s\n", faults,
	       fault_code == SEGV_ACCERR ? "SEGV_ACCERR" : "?",
	       fault_addr == p + 32 ? "yes" : "no");
	check(faults == 1 && fault_code == SEGV_ACCERR && fault_addr == p + 32, "NX fault");
	munmap(p, page);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	test_in_place();
	test_alias();
	test_fork_cow();
	test_nx();
	printf("smc: %s\n", bad ? "FAILED" : "ok");
	return bad;
}
