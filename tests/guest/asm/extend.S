/* Sign and zero extension and partial registers: movsx/movzx from 8 and 16
 * bits (including from %ah), movsxd, cbw/cwde/cdqe and cwd/cdq/cqo, writes to
 * 8/16-bit registers keeping the upper bits and 32-bit writes clearing them
 * (also by a cmov whose condition is false), bsf/bsr (ZF, and the index for
 * nonzero sources), lea address arithmetic, and the REX byte registers
 * (%sil, %dil, %r8b...). */
#include "lib.h"

	.data
vals:	.quad 0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000
	.quad 0xffffffff, 0x0123456789abcdef, 0xfedcba9876543210, 0x8000000000000000, -1
vals_end:
	.text

	.globl test_main
test_main:
	pushq %rbx
	pushq %r12
	pushq %r13
	leaq vals(%rip), %r12
next:
	movq (%r12), %r13
	PUTS "=== value"
	PUT "v", %r13
	movq %r13, %rbx
	movsbq %bl, %rax
	PUT "movsbq", %rax
	movsbl %bl, %eax
	PUT "movsbl", %rax
	movq $-1, %rax
	movsbw %bl, %ax
	PUT "movsbw", %rax
	movswq %bx, %rax
	PUT "movswq", %rax
	movswl %bx, %eax
	PUT "movswl", %rax
	movslq %ebx, %rax
	PUT "movslq", %rax
	movq $-1, %rax
	movzbl %bl, %eax
	PUT "movzbl", %rax
	movq $-1, %rax
	movzbw %bl, %ax
	PUT "movzbw", %rax
	movzwq %bx, %rax
	PUT "movzwq", %rax
	movzbl %bh, %eax
	PUT "movzbl bh", %rax
	movq $-1, %rax
	movsbl %bh, %eax                /* %bh cannot be used with REX */
	PUT "movsbl bh", %rax
	movsbq (%r12), %rax             /* from memory */
	PUT "movsbq mem", %rax
	movzwl 1(%r12), %eax
	PUT "movzwl mem+1", %rax
	movslq 4(%r12), %rax
	PUT "movslq mem+4", %rax

	movq %r13, %rax
	cbtw
	PUT "cbw", %rax
	movq %r13, %rax
	cwtl
	PUT "cwde", %rax
	movq %r13, %rax
	cltq
	PUT "cdqe", %rax
	movq %r13, %rax
	movq $0x1111111111111111, %rdx
	cwtd
	PUT "cwd dx", %rdx
	movq $0x1111111111111111, %rdx
	cltd
	PUT "cdq edx", %rdx
	cqto
	PUT "cqo rdx", %rdx

	/* Partial writes. */
	movq $-1, %rax
	movb %r13b, %al
	PUT "write al", %rax
	movq $-1, %rax
	movq %r13, %rcx
	movb %cl, %ah
	PUT "write ah", %rax
	movq $-1, %rax
	movw %r13w, %ax
	PUT "write ax", %rax
	movq $-1, %rax
	movl %r13d, %eax
	PUT "write eax", %rax
	movq $-1, %rax
	addl $0, %eax
	PUT "add eax,0", %rax
	movq $-1, %rax
	movq %r13, %rcx
	testq %rcx, %rcx                /* cmov with a false condition still */
	cmovnel %ecx, %eax              /* zero-extends into rax when 32-bit */
	cmovel %ecx, %eax
	PUT "cmov32", %rax
	movq $-1, %rax
	incw %ax
	PUT "incw", %rax
	movq $-1, %rsi
	movq $-1, %rdi
	movq $-1, %r8
	movb %r13b, %sil
	movb %r13b, %dil
	movb %r13b, %r8b
	PUT "sil", %rsi
	PUT "dil", %rdi
	PUT "r8b", %r8
	movq %r13, %rax
	xchgb %al, %ah
	PUT "xchg al,ah", %rax

	/* bsf/bsr: ZF says whether the source was zero; the destination is
	 * printed only for a nonzero source (zero leaves it undefined). */
	movq %r13, %rax
	bsfq %rax, %rcx
	PUTF "bsf zf", $FL_ZF
	jz 1f
	PUT "  bsfq", %rcx
	bsrq %rax, %rcx
	PUT "  bsrq", %rcx
1:	testl %eax, %eax
	jz 2f
	bsfl %eax, %ecx
	PUT "  bsfl", %rcx
	bsrl %eax, %ecx
	PUT "  bsrl", %rcx
2:	testw %ax, %ax
	jz 3f
	movq $-1, %rcx
	bsrw %ax, %cx
	PUT "  bsrw", %rcx
3:
	/* lea arithmetic: no flags, wraps, and the 32-bit form truncates. */
	leaq 7(%r13,%r13,4), %rax
	PUT "lea 5v+7", %rax
	leal -1(%r13,%r13,8), %eax
	PUT "lea32 9v-1", %rax
	leaq (,%r13,8), %rax
	PUT "lea 8v", %rax
	leaw 3(%r13), %ax
	PUT "lea16 v+3", %rax

	addq $8, %r12
	leaq vals_end(%rip), %rax
	cmpq %rax, %r12
	jne next

	PUTS "=== setcc into high and REX byte registers"
	movq $-1, %rax
	movq $-1, %rsi
	movl $5, %ecx
	cmpl $3, %ecx
	setg %ah
	setl %sil
	PUT "setg ah", %rax
	PUT "setl sil", %rsi

	popq %r13
	popq %r12
	popq %rbx
	ret
