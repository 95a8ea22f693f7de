/* Multiply and divide at 8/16/32/64 bits: one-operand mul/imul (the double-
 * width product in dx:ax style pairs, CF=OF when the high half matters),
 * two- and three-operand imul, div/idiv with negative operands and
 * remainders.  SF/ZF/AF/PF after multiplies and all flags after divides
 * are undefined, so only CF and OF are printed. */
#include "lib.h"

#define FL_MUL $(FL_CF | FL_OF)

	.data
pairs:	/* a, b: b is the multiplier and the divisor (never 0) */
	.quad 0, 1
	.quad 1, 1
	.quad 7, 3
	.quad -7, 3
	.quad 7, -3
	.quad -7, -3
	.quad 0x7f, 0x7f
	.quad 0x80, 0xff
	.quad 0xffff, 0xffff
	.quad 0x7fffffff, 2
	.quad 0x0000000100000000, 0x0000000100000000
	.quad 0x7fffffffffffffff, 0x7fffffffffffffff
	.quad 0x8000000000000000, 2
	.quad 0x123456789abcdef0, 0x0fedcba987654321
	.quad -1, -1
	.quad 1000000007, 998244353
pairs_end:
	.text

	.globl test_main
test_main:
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	leaq pairs(%rip), %r12
next:
	movq (%r12), %r14
	movq 8(%r12), %r15
	PUTS "=== pair"
	PUT "a", %r14
	PUT "b", %r15

	/* One-operand multiplies: rdx:rax = rax * r/m. */
	movq %r14, %rax
	movq $-1, %rdx
	mulq %r15
	PUTF "mulq", FL_MUL
	PUT "  rdx", %rdx
	PUT "  rax", %rax
	movq %r14, %rax
	movq $-1, %rdx
	imulq %r15
	PUTF "imulq", FL_MUL
	PUT "  rdx", %rdx
	PUT "  rax", %rax
	movq %r14, %rax
	movq $-1, %rdx
	mull %r15d                      /* edx:eax, both zero-extended */
	PUTF "mull", FL_MUL
	PUT "  rdx", %rdx
	PUT "  rax", %rax
	movq %r14, %rax
	movq $-1, %rdx
	imull %r15d
	PUTF "imull", FL_MUL
	PUT "  rdx", %rdx
	PUT "  rax", %rax
	movq %r14, %rax
	movq $-1, %rdx
	mulw %r15w                      /* dx:ax, upper bits kept */
	PUTF "mulw", FL_MUL
	PUT "  rdx", %rdx
	PUT "  rax", %rax
	movq %r14, %rax
	movq $-1, %rdx
	imulw %r15w
	PUTF "imulw", FL_MUL
	PUT "  rdx", %rdx
	PUT "  rax", %rax
	movq %r14, %rax
	mulb %r15b                      /* ax = al * r/m8 */
	PUTF "mulb", FL_MUL
	PUT "  rax", %rax
	movq %r14, %rax
	imulb %r15b
	PUTF "imulb", FL_MUL
	PUT "  rax", %rax
	movq %r14, %rax
	mulq 8(%r12)                    /* memory operand */
	PUT "mulq mem rax", %rax

	/* Two- and three-operand imul: truncated product, CF=OF on overflow. */
	movq %r14, %rax
	imulq %r15, %rax
	PUTF "imul r64,r64", FL_MUL
	PUT "  rax", %rax
	movq %r14, %rax
	imull %r15d, %eax
	PUTF "imul r32,r32", FL_MUL
	PUT "  rax", %rax
	movq %r14, %rax
	imulw %r15w, %ax
	PUTF "imul r16,r16", FL_MUL
	PUT "  rax", %rax
	imulq $-3, %r14, %rax
	PUTF "imul r64,imm8", FL_MUL
	PUT "  rax", %rax
	imulq $0x12345, %r14, %rax
	PUTF "imul r64,imm32", FL_MUL
	PUT "  rax", %rax
	imull $1000, %r14d, %eax
	PUTF "imul r32,imm", FL_MUL
	PUT "  rax", %rax
	imulw $-2, %r14w, %ax
	PUTF "imul r16,imm", FL_MUL
	PUT "  rax", %rax
	movq $-1, %rax
	imulq 8(%r12), %rax
	PUTF "imul r64,mem", FL_MUL
	PUT "  rax", %rax

	/* Divides: each guarded so the quotient fits.  Unsigned 64: rdx=0. */
	movq %r14, %rax
	xorl %edx, %edx
	divq %r15
	PUT "divq q", %rax
	PUT "  r", %rdx
	/* Signed 64 (cqo), skipping MIN / -1. */
	movq %r14, %rax
	cqto
	cmpq $-1, %r15
	jne 1f
	movabsq $0x8000000000000000, %rbx
	cmpq %rbx, %r14
	je 2f
1:	idivq %r15
	PUT "idivq q", %rax
	PUT "  r", %rdx
2:
	/* 128 / 64 with a nonzero high half smaller than the divisor. */
	movq %r15, %rdx
	shrq $1, %rdx
	movq %r14, %rax
	divq %r15
	PUT "divq 128-bit q", %rax
	PUT "  r", %rdx
	/* 32-bit: edx:eax / r/m32; upper halves of rax and rdx are zeroed. */
	movl %r15d, %ecx
	testl %ecx, %ecx
	jz 3f
	movq %r14, %rax
	movq $-1, %rdx
	movl $0, %edx
	divl %ecx
	PUT "divl q", %rax
	PUT "  r", %rdx
	movq %r14, %rax
	cltd
	cmpl $-1, %ecx                  /* skip INT_MIN / -1 */
	jne 4f
	cmpl $0x80000000, %eax
	je 3f
4:	idivl %ecx
	PUT "idivl q", %rax
	PUT "  r", %rdx
3:
	/* 16-bit: dx:ax / r/m16, upper bits of rax/rdx preserved. */
	movw %r15w, %cx
	testw %cx, %cx
	jz 5f
	movq %r14, %rax
	movq $-1, %rdx
	movw $0, %dx
	divw %cx
	PUT "divw q", %rax
	PUT "  r", %rdx
	movq %r14, %rax
	movq $0x5555555555555555, %rdx
	cwtd
	cmpw $-1, %cx
	jne 6f
	cmpw $0x8000, %ax
	je 5f
6:	idivw %cx
	PUT "idivw q", %rax
	PUT "  r", %rdx
5:
	/* 8-bit: ax / r/m8 -> al quotient, ah remainder. */
	movb %r15b, %cl
	testb %cl, %cl
	jz 7f
	movq %r14, %rax
	movb $0, %ah
	divb %cl
	PUT "divb ax", %rax
	movq %r14, %rax
	cbtw
	cmpb $-1, %cl
	jne 8f
	cmpb $0x80, %al
	je 7f
8:	idivb %cl
	PUT "idivb ax", %rax
7:
	addq $16, %r12
	leaq pairs_end(%rip), %rax
	cmpq %rax, %r12
	jne next

	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	ret
