/* A small fuzzing target: reads a file (or stdin), walks a chain of
 * byte compares, and crashes (SIGSEGV) on input starting "LOOM!".  Built
 * static and stripped for the afl subsuite, dynamic for the benchmark,
 * and with afl-clang-fast for the ceiling.
 * `target -buf x` runs target_buf on a static buffer (for a persistent
 * hook), `target -exit FILE` ends through exit() (for _EXITS), `target
 * -mem FILE` keeps state between calls (for _MEM), `target -magic FILE`
 * compares 4 bytes with a magic number (for CompCov and the CMPLOG
 * campaign), `target -cmplog FILE` makes known compares and a call (for
 * the CMPLOG map check), `target -cmpfault` faults in a compare. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int sink;

__attribute__((noinline)) int target(const char *path)
{
	unsigned char buf[256];
	int fd = path ? open(path, O_RDONLY) : 0;
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, buf, sizeof(buf));
	if (path)
		close(fd);
	if (n <= 0)
		return 0;
	int score = 0;
	for (ssize_t i = 0; i < n; i++) {	/* some input-dependent paths */
		if (buf[i] < 32)
			score += 1;
		else if (buf[i] < 128)
			score += 2;
		else
			score += 3;
	}
	sink = score;
	if (n > 0 && buf[0] == 'L')
		if (n > 1 && buf[1] == 'O')
			if (n > 2 && buf[2] == 'O')
				if (n > 3 && buf[3] == 'M')
					if (n > 4 && buf[4] == '!')
						*(volatile int *)(uintptr_t)sink = 1;	/* planted crash */
	return 0;
}

/* For a persistent hook: the test case arrives in buf (rdi), its length in
 * len (rsi).  Crashes on "LOOM!" too. */
__attribute__((noinline)) int target_buf(unsigned char *buf, size_t len)
{
	if (len >= 5 && !memcmp(buf, "LOOM!", 5))
		*(volatile int *)(uintptr_t)sink = 1;
	sink = len ? buf[0] : 0;
	return 0;
}

/* For AFL_QEMU_PERSISTENT_EXITS: ends with exit() instead of returning. */
__attribute__((noinline)) void target_exit(const char *path)
{
	exit(target(path));
}

/* For AFL_QEMU_PERSISTENT_MEM: its first call takes another path than the
 * later ones unless memory is restored between calls. */
__attribute__((noinline)) int target_mem(const char *path)
{
	static int calls;
	if (calls++ == 0)
		sink = 1;
	else
		sink = 2;
	return target(path);
}

/* For CompCov: a 32-bit magic value compared in a register. */
__attribute__((noinline)) int target_magic(const char *path)
{
	uint32_t v = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, &v, 4) < 0)
		return 1;
	close(fd);
	__asm__ volatile("" : "+r"(v));	/* cmp reg, imm: what CompCov splits */
	if (v == 0xdeadbeef)
		*(volatile int *)(uintptr_t)sink = 1;
	return 0;
}

/* For CMPLOG: compares of each size and kind of operand, and a call with
 * two pointer arguments, on the input's bytes.  The instructions are
 * fixed with asm so that the operands (and their order) are known from
 * this source: the test expects exactly these pairs. */
static volatile uint64_t magic64 = 0x1122334455667788ull;
static char magic_str[64] = "CMPLOG-magic-string-of-32-bytes+and-more";

__attribute__((noinline)) int str_eq(const char *a, const char *b)
{
	return !strcmp(a, b);
}

__attribute__((noinline)) int target_cmplog(const char *path)
{
	char in[64] = { 0 };
	int fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, in, 32) < 0)
		return 1;
	close(fd);
	uint32_t v32;
	uint64_t v64;
	uint16_t v16;
	memcpy(&v32, in, 4);
	memcpy(&v64, in + 4, 8);
	memcpy(&v16, in + 12, 2);
	uint32_t hi = (uint32_t)(unsigned char)in[14] << 8;	/* in a high-byte register */
	int hit = 0;
	/* cmp r32, imm32 */
	__asm__ volatile("cmpl $0xdeadbeef, %1\n\tsete %b0" : "+q"(hit) : "r"(v32) : "cc");
	sink = hit;
	/* cmp r64, m64 (rip-relative) */
	__asm__ volatile("cmpq %2, %1\n\tsete %b0" : "+q"(hit) : "r"(v64), "m"(magic64) : "cc");
	sink += hit;
	/* cmp m16, r16 (stack) */
	uint16_t k16 = 0xc0de;
	__asm__ volatile("cmpw %2, %1\n\tsete %b0" : "+q"(hit) : "m"(v16), "r"(k16) : "cc");
	sink += hit;
	/* cmp r8h, imm8 */
	__asm__ volatile("cmpb $0x5a, %h1\n\tsete %b0" : "+q"(hit) : "Q"(hi) : "cc");
	sink += hit;
	/* sub r32, r32 */
	uint32_t d = v32, k32 = 0x600dcafe;
	__asm__ volatile("subl %1, %0" : "+r"(d) : "r"(k32) : "cc");
	sink += d;
	/* a call: its first two arguments point at 31 readable bytes each */
	sink += str_eq(in + 16, magic_str);
	return 0;
}

/* For CMPLOG: a compare whose memory operand faults (SIGSEGV, as natively). */
__attribute__((noinline)) int target_cmpfault(void)
{
	__asm__ volatile("cmpl $1, %0" : : "m"(*(volatile int *)(uintptr_t)16) : "cc");
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char buf[64];
	if (argc > 1 && !strcmp(argv[1], "-cmpfault"))
		return target_cmpfault();
	if (argc > 2 && !strcmp(argv[1], "-cmplog"))
		return target_cmplog(argv[2]);
	if (argc > 2 && !strcmp(argv[1], "-magic"))
		return target_magic(argv[2]);
	if (argc > 2 && !strcmp(argv[1], "-mem"))
		return target_mem(argv[2]);
	if (argc > 2 && !strcmp(argv[1], "-buf"))
		return target_buf(buf, sizeof(buf));
	if (argc > 2 && !strcmp(argv[1], "-exit"))
		target_exit(argv[2]);
	return target(argc > 1 ? argv[1] : NULL);
}
