/* Arithmetic flags at 8/16/32/64 bits: add, adc (CF clear and set), sub,
 * sbb, cmp, neg, inc/dec (which keep CF), and/or/xor/test (AF undefined, so
 * masked), each printed with its result; after every cmp, all sixteen
 * conditions read three ways (setcc, cmovcc, jcc); and multi-word adc/sbb
 * chains. */
#include "lib.h"

	.data
pairs:
	.quad 0, 0
	.quad 1, 2
	.quad 0x7fffffffffffffff, 1
	.quad 0x8000000000000000, 0x8000000000000000
	.quad -1, 1
	.quad 0x000000007fffffff, 0xffffffff80000000
	.quad 0x00000000000080ff, 0x0000000000008001
	.quad 0x123456789abcdef0, 0x0fedcba987654321
	.quad 5, 7
	.quad 0x7f, 0x7f
	.quad 0xffffffff00000000, 0x00000000ffffffff
pairs_end:

	.bss
ccbuf:	.skip 16
big_a:	.skip 32
big_b:	.skip 32

	.text

/* One two-operand op at one width on a = %r14, b = %r15. */
.macro OP2 name, op, a, b, pre=nop, mask=$FL_ARITH
	movq %r14, %rax
	movq %r15, %rbx
	\pre
	\op %\b, %\a
	PUTF "\name", \mask
	PUT "  result", %rax
.endm

/* One one-operand op at one width on a = %r14. */
.macro OP1 name, op, a, pre=nop
	movq %r14, %rax
	\pre
	\op %\a
	PUTF "\name"
	PUT "  result", %rax
.endm

/* The sixteen conditions, each stored as a byte 0/1 at ccbuf[i]. */
#define CONDS o,no,b,ae,e,ne,be,a,s,ns,p,np,l,ge,le,g
.macro SETCC_ALL
	leaq ccbuf(%rip), %rdi
	.irp cc, CONDS
	set\cc (%rdi)
	leaq 1(%rdi), %rdi
	.endr
.endm
.macro CMOV_ALL
	leaq ccbuf(%rip), %rdi
	.irp cc, CONDS
	movl $0, %edx
	movl $1, %ecx
	cmov\cc %ecx, %edx
	movb %dl, (%rdi)
	leaq 1(%rdi), %rdi
	.endr
.endm
.macro JCC_ALL
	leaq ccbuf(%rip), %rdi
	.irp cc, CONDS
	movb $0, (%rdi)
	j\cc 1f
	jmp 2f
1:	movb $1, (%rdi)
2:	leaq 1(%rdi), %rdi
	.endr
.endm
/* Byte i of ccbuf is condition i; printed as little-endian quads, so the
 * labels run from the highest byte down. */
.macro SHOW_CC how
	PUT "  \how [a be ne e ae b no o]", ccbuf(%rip)
	PUT "  \how [g le ge l np p ns s]", ccbuf+8(%rip)
.endm

/* All ops at one width.  s = suffix, a/b = register names at that width. */
.macro WIDTH w, s, a, b
	PUTS "-- width \w"
	OP2 "add\s", add\s, \a, \b
	OP2 "adc\s CF=0", adc\s, \a, \b, clc
	OP2 "adc\s CF=1", adc\s, \a, \b, stc
	OP2 "sub\s", sub\s, \a, \b
	OP2 "sbb\s CF=0", sbb\s, \a, \b, clc
	OP2 "sbb\s CF=1", sbb\s, \a, \b, stc
	OP2 "and\s", and\s, \a, \b, nop, $FL_LOGIC
	OP2 "or\s", or\s, \a, \b, nop, $FL_LOGIC
	OP2 "xor\s", xor\s, \a, \b, nop, $FL_LOGIC
	OP2 "test\s", test\s, \a, \b, nop, $FL_LOGIC
	OP1 "neg\s", neg\s, \a
	OP1 "inc\s CF=0", inc\s, \a, clc
	OP1 "inc\s CF=1", inc\s, \a, stc
	OP1 "dec\s CF=1", dec\s, \a, stc
	movq %r14, %rax
	not\s %\a
	PUT "not\s result", %rax
	movq %r14, %rax
	movq %r15, %rbx
	cmp\s %\b, %\a
	PUTF "cmp\s"
	SETCC_ALL
	SHOW_CC setcc
	cmp\s %\b, %\a
	CMOV_ALL
	SHOW_CC cmovcc
	cmp\s %\b, %\a
	JCC_ALL
	SHOW_CC jcc
	/* The same conditions after a test (SF/ZF/PF from the and, CF=OF=0). */
	test\s %\b, %\a
	SETCC_ALL
	SHOW_CC "test setcc"
.endm

	.globl test_main
test_main:
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rbx
	leaq pairs(%rip), %r12
next_pair:
	movq (%r12), %r14
	movq 8(%r12), %r15
	PUTS "=== pair"
	PUT "a", %r14
	PUT "b", %r15
	WIDTH 64, q, rax, rbx
	WIDTH 32, l, eax, ebx
	WIDTH 16, w, ax, bx
	WIDTH 8, b, al, bl
	WIDTH 8h, b, ah, bh
	addq $16, %r12
	leaq pairs_end(%rip), %rax
	cmpq %rax, %r12
	jne next_pair

	PUTS "=== 256-bit add and subtract with adc/sbb chains"
	/* a = 2^256 - 1 - 5, b = 7: the carry ripples through every word. */
	leaq big_a(%rip), %rsi
	movq $-6, (%rsi)
	movq $-1, 8(%rsi)
	movq $-1, 16(%rsi)
	movq $-1, 24(%rsi)
	leaq big_b(%rip), %rdi
	movq $7, (%rdi)
	movq $0, 8(%rdi)
	movq $0, 16(%rdi)
	movq $0, 24(%rdi)
	movq (%rsi), %rax
	addq (%rdi), %rax
	movq 8(%rsi), %rbx
	adcq 8(%rdi), %rbx
	movq 16(%rsi), %rcx
	adcq 16(%rdi), %rcx
	movq 24(%rsi), %rdx
	adcq 24(%rdi), %rdx
	setc %r8b
	PUTF "after chain"
	PUT "sum0", %rax
	PUT "sum1", %rbx
	PUT "sum2", %rcx
	PUT "sum3", %rdx
	movzbq %r8b, %r8
	PUT "carry out", %r8
	/* b - a borrows all the way. */
	movq (%rdi), %rax
	subq (%rsi), %rax
	movq 8(%rdi), %rbx
	sbbq 8(%rsi), %rbx
	movq 16(%rdi), %rcx
	sbbq 16(%rsi), %rcx
	movq 24(%rdi), %rdx
	sbbq 24(%rsi), %rdx
	PUTF "after sbb chain"
	PUT "diff0", %rax
	PUT "diff1", %rbx
	PUT "diff2", %rcx
	PUT "diff3", %rdx
	/* sbb reg,reg materialises -CF; adc $0 adds it back. */
	movq $3, %rax
	cmpq $4, %rax
	sbbq %rcx, %rcx
	PUT "sbb rcx,rcx after 3<4", %rcx
	cmpq $2, %rax
	sbbq %rcx, %rcx
	PUT "sbb rcx,rcx after 3>=2", %rcx
	movq $10, %rdx
	cmpq $4, %rax
	adcq $0, %rdx
	PUT "adc 0 after borrow", %rdx
	/* cmc, and flags from lahf/sahf. */
	stc
	cmc
	PUTF "after stc cmc"
	movb $0xd5, %ah
	sahf
	PUTF "after sahf 0xd5"
	xorl %eax, %eax
	cmpl $1, %eax
	lahf
	shrl $8, %eax
	andl $0xd5, %eax
	PUT "lahf after 0 cmp 1", %rax

	popq %rbx
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	ret
