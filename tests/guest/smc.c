/* Self-modifying code, the cases a translator gets wrong:
 *  - code generated into an RWX page, called, rewritten and called again,
 *    many times at the same address;
 *  - W^X flips: write while RW, mprotect to RX, run, repeat;
 *  - a store that rewrites an instruction later in its own basic block (an
 *    immediate, an opcode, and a rep movsb), on fresh pages and on a page
 *    rewritten often;
 *  - a maskmovdqu store (done by a helper under a translator) over code;
 *  - code on the same page as data written often, by itself and by other
 *    code (must not be pathologically slow);
 *  - read(2), pread(2) and readv(2) of code from a file into a page that
 *    holds code already run, then running it.
 * Only results are printed; nothing depends on addresses or timing. */
#include "guest.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

typedef long (*fn0)(void);
typedef long (*fn1)(long);
typedef long (*fn2)(long, long);

/* Position-independent blocks, copied into RWX pages to run.  Each one
 * patches an instruction further down its own straight-line block, so the
 * store and its target are in the same translation block. */
__asm__(".pushsection .text\n"
	/* long imm(long x): the imm32 of the mov below becomes x */
	"smc_imm_start:\n"
	"	lea 1f(%rip), %rcx\n"
	"	movl %edi, 1(%rcx)\n"
	"	xor %edx, %edx\n"
	"	nop\n"
	"1:	movl $0x11111111, %eax\n"
	"	add %rdx, %rax\n"
	"	ret\n"
	"smc_imm_end:\n"
	/* long op(long x, long opcode): add (0x01) or sub (0x29) 5 */
	"smc_op_start:\n"
	"	lea 2f(%rip), %rcx\n"
	"	movb %sil, 1(%rcx)\n"
	"	mov %rdi, %rax\n"
	"	mov $5, %edx\n"
	"2:	.byte 0x48, 0x01, 0xd0\n"	/* add %rdx, %rax */
	"	ret\n"
	"smc_op_end:\n"
	/* long rep(long x): rep movsb copies x into the imm32 below */
	"smc_rep_start:\n"
	"	push %rdi\n"
	"	mov %rsp, %rsi\n"
	"	lea 3f+1(%rip), %rdi\n"
	"	mov $4, %ecx\n"
	"	cld\n"
	"	rep movsb\n"
	"	pop %rdi\n"
	"3:	movl $0x22222222, %eax\n"
	"	ret\n"
	"smc_rep_end:\n"
	".popsection\n");
extern const unsigned char smc_imm_start[], smc_imm_end[], smc_op_start[], smc_op_end[],
	smc_rep_start[], smc_rep_end[];

static long pg;

static unsigned char *map_rwx(void)
{
	unsigned char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("mmap rwx failed\n");
		exit(1);
	}
	return p;
}

/* mov rax, imm64 ; ret  (11 bytes) */
static void emit_const(unsigned char *p, long v)
{
	p[0] = 0x48;
	p[1] = 0xb8;
	memcpy(p + 2, &v, 8);
	p[10] = 0xc3;
}

static void copy_block(unsigned char *dst, const unsigned char *start, const unsigned char *end)
{
	memcpy(dst, start, end - start);
}

static void rewrite_many(void)
{
	unsigned char *p = map_rwx();
	long sum = 0;
	for (long i = 0; i < 2000; i++) {
		emit_const(p + (i % 3) * 64, i * 7 + 1);
		sum += ((fn0)(p + (i % 3) * 64))();
	}
	printf("rewritten 2000 times: sum %ld\n", sum);
	munmap(p, pg);
}

static void wx_flips(void)
{
	unsigned char *p = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	long sum = 0;
	for (int i = 0; i < 300; i++) {
		unsigned char *f = p + (i % 2) * pg + (i % 5) * 16;
		mprotect(p, 2 * pg, PROT_READ | PROT_WRITE);
		emit_const(f, (long)i * i - 3);
		mprotect(p, 2 * pg, PROT_READ | PROT_EXEC);
		sum += ((fn0)f)();
	}
	printf("W^X flips: sum %ld\n", sum);
	munmap(p, 2 * pg);
}

/* Each block on a fresh page (the first store into translated code), then
 * many times on one page (a page rewritten often). */
static void in_block(void)
{
	long a = 0, b = 0, c = 0;
	for (int i = 0; i < 12; i++) {
		unsigned char *p = map_rwx();
		copy_block(p, smc_imm_start, smc_imm_end);
		copy_block(p + 256, smc_op_start, smc_op_end);
		copy_block(p + 512, smc_rep_start, smc_rep_end);
		a = a * 3 + ((fn1)p)(i + 100);
		b = b * 3 + ((fn2)(p + 256))(i, i % 2 ? 0x01 : 0x29);
		c = c * 3 + ((fn1)(p + 512))(i * 1000 + 1);
		munmap(p, pg);
	}
	printf("in-block rewrite, fresh pages: %ld %ld %ld\n", a, b, c);

	unsigned char *p = map_rwx();
	copy_block(p, smc_imm_start, smc_imm_end);
	copy_block(p + 256, smc_op_start, smc_op_end);
	copy_block(p + 512, smc_rep_start, smc_rep_end);
	a = b = c = 0;
	for (long i = 0; i < 3000; i++) {
		a += ((fn1)p)(i) ^ i;
		b += ((fn2)(p + 256))(i, i % 3 ? 0x01 : 0x29);
		c += ((fn1)(p + 512))(i * 7) - i * 7;
	}
	printf("in-block rewrite, one page 3000 times: %ld %ld %ld\n", a, b, c);
	munmap(p, pg);
}

/* maskmovdqu stores byte by byte in a helper under a translator: a store
 * into translated code from the translator's own code rather than from
 * generated code.  It writes a whole new mov rax, imm64 ; ret. */
static void helper_store(void)
{
	long sum = 0;
	for (int i = 0; i < 20; i++) {
		unsigned char *p = map_rwx();
		unsigned char code[16] = { 0 }, mask[16];
		emit_const(p, 1);
		sum += ((fn0)p)();
		emit_const(code, i * 12345 + 7);
		memset(mask, 0x80, sizeof mask);
		__asm__ volatile("movdqu %0, %%xmm0\n\tmovdqu %1, %%xmm1\n\tmaskmovdqu %%xmm1, %%xmm0"
				 : : "m"(code), "m"(mask), "D"(p) : "xmm0", "xmm1", "memory");
		sum += ((fn0)p)();
		munmap(p, pg);
	}
	printf("helper store over code: sum %ld\n", sum);
}

/* long count(long n): adds 1 to the counter at +2048 of its own page n
 * times, re-reading the value the caller stores at +3072 each round. */
static const unsigned char count_code[] = {
	0x48, 0x89, 0xf9,			/* mov rcx, rdi */
	0x48, 0x8b, 0x05, 0xf6, 0x0b, 0x00, 0x00,	/* again: mov rax, [rip+0xbf6] (+3072) */
	0x48, 0x01, 0x05, 0xef, 0x07, 0x00, 0x00,	/* add [rip+0x7ef], rax (+2048) */
	0x48, 0xff, 0xc9,			/* dec rcx */
	0x75, 0xed,				/* jnz again */
	0x48, 0x8b, 0x05, 0xe3, 0x07, 0x00, 0x00,	/* mov rax, [rip+0x7e3] (+2048) */
	0xc3,					/* ret */
};

static void data_on_code_page(void)
{
	unsigned char *p = map_rwx();
	memcpy(p, count_code, sizeof count_code);
	long *counter = (long *)(p + 2048), *step = (long *)(p + 3072);
	*counter = 0;
	long last = 0;
	for (long i = 0; i < 20000; i++) {
		*step = i % 7;		/* a store into the code's page, from other code */
		last = ((fn1)p)(50);
	}
	printf("data next to code: counter %ld, last %ld\n", *counter, last);
	/* The page's code still follows rewrites after all that. */
	p[0] = 0x31;			/* xor eax, eax ; ret */
	p[1] = 0xc0;
	p[2] = 0xc3;
	printf("rewritten after: %ld\n", ((fn1)p)(5));
	munmap(p, pg);
}

static void kernel_writes(void)
{
	char path[] = "/tmp/loom-smc-XXXXXX";
	const char *tmp = getenv("TMPDIR");
	char buf[512];
	snprintf(buf, sizeof buf, "%s/loom-smc-XXXXXX", tmp ? tmp : "/tmp");
	int fd = mkstemp(buf);
	if (fd < 0) {
		fd = mkstemp(path);
		if (fd < 0) {
			printf("mkstemp failed\n");
			return;
		}
		strcpy(buf, path);
	}
	unlink(buf);
	unsigned char code[3][11];
	for (int i = 0; i < 3; i++)
		emit_const(code[i], 1000 + i);
	if (write(fd, code, sizeof code) != sizeof code) {
		printf("write failed\n");
		return;
	}

	unsigned char *p = map_rwx();
	long r[4];
	emit_const(p, 1);
	r[0] = ((fn0)p)();
	lseek(fd, 0, SEEK_SET);
	ssize_t n1 = read(fd, p, 11);		/* read(2) over translated code */
	r[1] = ((fn0)p)();
	ssize_t n2 = pread(fd, p, 11, 11);
	r[2] = ((fn0)p)();
	struct iovec iov[2] = { { p, 5 }, { p + 5, 6 } };
	lseek(fd, 22, SEEK_SET);
	ssize_t n3 = readv(fd, iov, 2);
	r[3] = ((fn0)p)();
	printf("read into code: %zd %zd %zd -> %ld %ld %ld %ld\n", n1, n2, n3, r[0], r[1], r[2],
	       r[3]);
	close(fd);
	munmap(p, pg);
}

int main(void)
{
	pg = sysconf(_SC_PAGESIZE);
	rewrite_many();
	wx_flips();
	in_block();
	helper_store();
	data_on_code_page();
	kernel_writes();
	return 0;
}
