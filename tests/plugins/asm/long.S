/*
 * One straight-line block of 2,000 instructions (GROUPS groups of 8), run
 * PASSES times: more than one TB may hold once every instruction carries
 * heavy instrumentation (tests/plugins/heavy.c), so loom must split it.
 * No libc, own _start.  The block mixes registers and a word of buf; the
 * program writes buf (20 bytes) to stdout, which must equal the native run's.
 *
 * By construction:
 *   instructions  5 + PASSES * (8 * GROUPS + 2) + 3 (stores) + 4 (write)
 *                 + 3 (exit_group)
 *   loads         PASSES * 2 * GROUPS
 *   stores        PASSES * 2 * GROUPS + 3
 *   code bytes    (block - _start) + PASSES * (after - block)
 *                 + (end - after)
 * exit status 0.
 */
#define GROUPS 250
#define PASSES 3

	.text
	.p2align 12
	.globl _start
_start:
	movl $PASSES, %r8d
	leaq buf(%rip), %rsi
	movl $0x67452301, %ebx
	movl $0xefcdab89, %ecx
	xorl %edx, %edx
	.globl block
block:
	.rept GROUPS
	movl (%rsi), %eax               /* load */
	addl %eax, %ebx
	roll $5, %ebx
	xorl %ebx, %ecx
	movl %ecx, 4(%rsi)              /* store */
	leal 1(%rdx,%rbx), %edx
	addl %edx, (%rsi)               /* load and store */
	imull $-1640531535, %ecx, %ecx
	.endr
	decl %r8d
	jnz block
	.globl after
after:
	movl %ebx, 8(%rsi)              /* store */
	movl %ecx, 12(%rsi)             /* store */
	movl %edx, 16(%rsi)             /* store */
	movl $1, %eax                   /* write(1, buf, 20) */
	movl $1, %edi
	movl $20, %edx
	syscall
	movl $231, %eax                 /* exit_group(0) */
	xorl %edi, %edi
	syscall
	.globl end
end:

	.data
	.p2align 6
buf:
	.zero 32
