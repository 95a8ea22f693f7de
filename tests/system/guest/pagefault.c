/*
 * A guest program that takes page faults on purpose and handles them: a
 * read of a PROT_NONE page whose SIGSEGV handler mprotects the page and
 * returns (the faulting instruction then runs again and succeeds); a write
 * to a read-only page, handled the same way; a null dereference caught and
 * left with siglongjmp; a read past the end of a mapping; and a large
 * anonymous mapping touched page by page, so the guest kernel handles one
 * demand-paging fault per page.  Then the faults the kernel takes itself:
 * read() into a PROT_NONE buffer and write() from an unmapped one (EFAULT,
 * no signal), read() into a page never touched (paged in), and a stack
 * grown 3 MB below what was touched.
 *
 * It runs inside the guest and natively on the host and must print the same
 * lines on both: addresses are printed as offsets from the mapping, never
 * as themselves.  Exit status: 0 when every check held, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
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

/* What the handler saw, and what it does about it. */
static char *region;		/* the mapping the faults are expected in */
static size_t region_len;
static volatile int faults, fix_prot;	/* fix_prot: mprotect to this and return */
static volatile long fault_off;		/* si_addr - region, or -1 outside it */
static volatile int fault_code;
static sigjmp_buf escape;
static volatile int use_escape;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char *a = si->si_addr;
	faults++;
	fault_code = si->si_code;
	fault_off = region && a >= region && a < region + region_len ? a - region : -1;
	if (use_escape)
		siglongjmp(escape, 1);
	if (fault_off < 0 || mprotect(region + (fault_off & ~(page - 1)), page, fix_prot) != 0)
		_exit(3); /* cannot be fixed: returning would fault forever */
}

static const char *code_name(int code)
{
	return code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : "?";
}

static void test_prot_none(void)
{
	region_len = 4 * page;
	region = mmap(NULL, region_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(region != MAP_FAILED, "mmap");
	memset(region, 0x5a, region_len);
	check(mprotect(region + 2 * page, page, PROT_NONE) == 0, "mprotect PROT_NONE");

	faults = 0;
	fix_prot = PROT_READ;
	volatile char *p = region + 2 * page + 123;
	char v = *p;
	printf("prot_none: read %#x after %d fault at offset %ld, %s\n", (unsigned char)v, faults,
	       fault_off, code_name(fault_code));
	check(v == 0x5a && faults == 1 && fault_off == 2 * page + 123 &&
		      fault_code == SEGV_ACCERR, "prot_none");

	/* The page is now read-only: a write faults again, the handler makes
	 * it writable, and the write completes. */
	faults = 0;
	fix_prot = PROT_READ | PROT_WRITE;
	*(volatile char *)(region + 2 * page + 7) = 0x11;
	printf("read_only: wrote %#x after %d fault at offset %ld, %s\n",
	       (unsigned char)region[2 * page + 7], faults, fault_off, code_name(fault_code));
	check(region[2 * page + 7] == 0x11 && faults == 1 && fault_off == 2 * page + 7,
	      "read_only");
	munmap(region, region_len);
}

static void test_read_only(void)
{
	/* A page mapped read-only from the start, written by a string
	 * instruction's middle: the handler unprotects it and the copy
	 * finishes exactly once. */
	region_len = 2 * page;
	region = mmap(NULL, region_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(region != MAP_FAILED, "mmap");
	memset(region, 0, region_len);
	check(mprotect(region + page, page, PROT_READ) == 0, "mprotect PROT_READ");
	char src[256];
	for (int i = 0; i < 256; i++)
		src[i] = (char)i;
	faults = 0;
	fix_prot = PROT_READ | PROT_WRITE;
	char *dst = region + page - 100;
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"((char *){src}), "+c"((size_t){256}) : : "memory");
	int same = memcmp(region + page - 100, src, 256) == 0;
	printf("rep_movsb: across into a read-only page, %d fault at offset %ld, copy %s\n",
	       faults, fault_off, same ? "complete" : "BAD");
	check(faults == 1 && fault_off == page && same, "rep movsb into read-only page");
	munmap(region, region_len);
}

static void test_escape(void)
{
	use_escape = 1;
	region = NULL;

	faults = 0;
	if (sigsetjmp(escape, 1) == 0) {
		volatile int *np = NULL;
		(void)*np;
		check(0, "null dereference did not fault");
	}
	printf("null: %d fault, %s, address %s\n", faults, code_name(fault_code),
	       fault_off == -1 ? "outside" : "?");
	check(faults == 1 && fault_code == SEGV_MAPERR, "null dereference");

	/* One page past the end of a mapping, with the next page unmapped. */
	char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(m + page, page);
	region = m;
	region_len = 2 * page;
	faults = 0;
	if (sigsetjmp(escape, 1) == 0)
		(void)*(volatile char *)(m + page + 8);
	printf("unmapped: %d fault at offset %ld, %s\n", faults, fault_off, code_name(fault_code));
	check(faults == 1 && fault_off == page + 8 && fault_code == SEGV_MAPERR, "unmapped");

	/* The signal mask was restored by siglongjmp: a second fault is
	 * delivered again. */
	faults = 0;
	if (sigsetjmp(escape, 1) == 0)
		(void)*(volatile char *)(m + page + 16);
	printf("unmapped again: %d fault\n", faults);
	check(faults == 1, "second fault after siglongjmp");
	munmap(m, page);
	use_escape = 0;
	region = NULL;
}

static void test_demand_paging(void)
{
	enum { MB = 64 };
	size_t len = (size_t)MB << 20, npages = len / page;
	struct rusage before, after;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(m != MAP_FAILED, "mmap large");
	/* Small pages, so every page is a fault of its own. */
	madvise(m, len, MADV_NOHUGEPAGE);
	getrusage(RUSAGE_SELF, &before);
	for (size_t i = 0; i < npages; i++)
		m[i * page + (i % page)] = (char)i;
	getrusage(RUSAGE_SELF, &after);
	uint64_t sum = 0;
	for (size_t i = 0; i < npages; i++)
		sum += (unsigned char)m[i * page + (i % page)];
	long flt = after.ru_minflt - before.ru_minflt;
	printf("demand: %d MB, %zu pages touched, sum %llu, minor faults %s\n", MB, npages,
	       (unsigned long long)sum, flt >= (long)npages ? "at least one a page" : "too few");
	check(flt >= (long)npages, "demand paging faults");

	/* Fresh pages read as zero, and a page given back with MADV_DONTNEED
	 * reads as zero again. */
	madvise(m, len / 2, MADV_DONTNEED);
	int zero = 1;
	for (size_t i = 0; i < npages / 2; i++)
		if (m[i * page + (i % page)] != 0)
			zero = 0;
	printf("demand: after MADV_DONTNEED %s\n", zero ? "zero" : "BAD");
	check(zero, "MADV_DONTNEED zero");
	munmap(m, len);
}

/* Faults the kernel takes itself while copying to and from user memory:
 * a bad buffer is EFAULT, not a signal; an untouched page is paged in. */
static void test_kernel_copy(void)
{
	int fds[2];
	check(pipe(fds) == 0, "pipe");
	char *m = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(mprotect(m, page, PROT_NONE) == 0, "mprotect");
	munmap(m + 2 * page, page);

	check(write(fds[1], "hello", 5) == 5, "write");
	errno = 0;
	long r1 = read(fds[0], m + 100, 5);
	int e1 = errno;
	long r2 = read(fds[0], m + page + 100, 5); /* an untouched page */
	errno = 0;
	long r3 = write(fds[1], m + 2 * page, 5);
	int e3 = errno;
	printf("kernel_copy: read into PROT_NONE %ld %s, into a fresh page %ld \"%.5s\", "
	       "write from unmapped %ld %s\n",
	       r1, e1 == EFAULT ? "EFAULT" : "?", r2, m + page + 100, r3,
	       e3 == EFAULT ? "EFAULT" : "?");
	check(r1 == -1 && e1 == EFAULT && r2 == 5 && r3 == -1 && e3 == EFAULT, "kernel copy faults");
	munmap(m, 2 * page);
	close(fds[0]);
	close(fds[1]);
}

/* The stack grows on demand below what was touched so far. */
static unsigned long grow(int depth)
{
	volatile unsigned char frame[1024];
	for (int i = 0; i < 1024; i += 64)
		frame[i] = (unsigned char)(depth + i);
	if (depth == 0)
		return frame[0];
	return grow(depth - 1) + frame[64];
}

static void test_stack_growth(void)
{
	unsigned long v = grow(3000); /* about 3 MB of stack */
	printf("stack: 3000 frames of 1 KB, result %lu\n", v);
	unsigned long want = 0; /* frame[0] of depth 0, plus frame[64] of the others */
	for (int d = 1; d <= 3000; d++)
		want += (unsigned char)(d + 64);
	check(v == want, "stack");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	page = sysconf(_SC_PAGESIZE);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);

	test_prot_none();
	test_read_only();
	test_escape();
	test_demand_paging();
	test_kernel_copy();
	test_stack_growth();
	printf("pagefault: %s\n", bad ? "FAILED" : "ok");
	return bad;
}
