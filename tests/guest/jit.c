/* Generated and self-modifying code, the way a JIT does it: write x86-64
 * machine code into an mmap'd buffer, call it, rewrite an immediate in place
 * and call again (the translator must notice the store and drop its stale
 * translation), flip a page between RW and RX with mprotect, and unmap and
 * remap the same address with different code. */
#include "guest.h"
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef long (*fn0)(void);
typedef long (*fn1)(long);

/* mov rax, imm64 ; ret */
static void emit_const(unsigned char *p, long v)
{
	p[0] = 0x48;
	p[1] = 0xb8;
	memcpy(p + 2, &v, 8);
	p[10] = 0xc3;
}

/* lea rax, [rdi + imm32] ; ret */
static void emit_add(unsigned char *p, int v)
{
	p[0] = 0x48;
	p[1] = 0x8d;
	p[2] = 0x87;
	memcpy(p + 3, &v, 4);
	p[7] = 0xc3;
}

/* A loop: rax = 0; rcx = rdi; again: add rax, rcx; dec rcx; jnz again; ret
 * -- then later its add is patched to a sub. */
static const unsigned char loop_code[] = {
	0x31, 0xc0,             /* xor eax, eax   */
	0x48, 0x89, 0xf9,       /* mov rcx, rdi   */
	0x48, 0x01, 0xc8,       /* add rax, rcx   <- offset 5 */
	0x48, 0xff, 0xc9,       /* dec rcx        */
	0x75, 0xf8,             /* jnz -8         */
	0xc3,                   /* ret            */
};

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *rwx = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE | PROT_EXEC,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rwx == MAP_FAILED) {
		printf("mmap rwx failed\n");
		return 1;
	}

	/* The same code address returns a new constant after each rewrite. */
	long sum = 0;
	for (long i = 0; i < 200; i++) {
		emit_const(rwx, i * 1000 + 7);
		sum += ((fn0)rwx)();
	}
	printf("rewrite same address 200 times: sum %ld\n", sum);

	/* Many small functions in one page, all rewritten in a second pass. */
	for (int i = 0; i < 64; i++)
		emit_add(rwx + 16 * i, i);
	sum = 0;
	for (int i = 0; i < 64; i++)
		sum += ((fn1)(rwx + 16 * i))(1000);
	for (int i = 0; i < 64; i++)
		emit_add(rwx + 16 * i, -i * 3);
	for (int i = 0; i < 64; i++)
		sum += ((fn1)(rwx + 16 * i))(1000);
	printf("64 functions, two versions: sum %ld\n", sum);

	/* A loop translated and run hot, then patched from add to sub. */
	unsigned char *lp = rwx + pg;
	memcpy(lp, loop_code, sizeof loop_code);
	long a = ((fn1)lp)(1000);
	for (int i = 0; i < 50; i++)
		a += ((fn1)lp)(100);
	lp[6] = 0x29; /* add r/m64, r64 (01) -> sub r/m64, r64 (29) */
	long b = ((fn1)lp)(1000);
	printf("loop add: %ld, patched to sub: %ld\n", a, b);

	/* W^X style: write while RW, run while RX, repeat. */
	unsigned char *wx = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sum = 0;
	for (int i = 0; i < 20; i++) {
		mprotect(wx, pg, PROT_READ | PROT_WRITE);
		emit_const(wx + (i % 4) * 32, (long)i * i);
		mprotect(wx, pg, PROT_READ | PROT_EXEC);
		sum += ((fn0)(wx + (i % 4) * 32))();
	}
	printf("W^X cycles: sum %ld\n", sum);

	/* Unmap, map again at the same address, different code. */
	munmap(wx, pg);
	unsigned char *again = mmap(wx, pg, PROT_READ | PROT_WRITE | PROT_EXEC,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	emit_const(again, 31337);
	printf("remapped: same address %d, result %ld\n", again == wx, ((fn0)again)());

	/* Code that modifies the instruction right after itself within one block:
	 *   mov byte [rip+1], 0x2a  (the imm8 of the following mov)
	 *   mov eax, 0x00 -> becomes 0x2a ; ret
	 * The write hits the current block: x86 requires the new byte to be seen. */
	static const unsigned char selfmod[] = {
		0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x2a, /* mov byte [rip+1], 0x2a */
		0xb0, 0x00,                               /* mov al, 0x00 (imm at +8) */
		0x0f, 0xb6, 0xc0,                         /* movzx eax, al */
		0xc3,
	};
	memcpy(rwx, selfmod, sizeof selfmod);
	long r1 = ((fn0)rwx)();
	rwx[8] = 0x00; /* reset the immediate and run it again */
	long r2 = ((fn0)rwx)();
	printf("self-modifying in block: %ld %ld\n", r1, r2);
	return 0;
}
