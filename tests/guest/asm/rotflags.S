/* Flags after rotates by an immediate that follow logic, arithmetic and
 * flag-neutral instructions.  A rotate keeps SF, ZF, PF (and AF) from
 * before and sets CF and OF, so the translator must know the flags of the
 * instruction before it: this covers the lazy cases (logic, shifts,
 * add/sub, inc)
 * and the case where a load sits between (flags must stay exact there).
 * cmc after a shift shows the shift's own CF and OF.
 * OF is printed only for counts of 1, where the manual defines it, and AF
 * not after shifts, which leave it undefined. */
#include "lib.h"

	.data
vals:	.quad 0x8000000180000001, 0x0000000000000000, 0x00000000000000ff
	.quad 0x7fffffffffffffff, 0xffffffffffffffff, 0x0123456789abcdef
vals_end:
mem:	.quad 0x5555aaaa5555aaaa
	.text

	.globl test_main
test_main:
	leaq vals(%rip), %rsi
1:	movq (%rsi), %rbx
	PUT val, %rbx

	movq %rbx, %rax
	andq $0x70f0, %rax
	rorl $3, %eax
	PUTF and-ror32, $(FL_CF | FL_PF | FL_ZF | FL_SF)

	movq %rbx, %rax
	xorq $0x81, %rax
	rolb $1, %al
	PUTF xor-rol8

	movq %rbx, %rax
	testb %bl, %bl
	rolw $1, %ax
	PUTF test-rol16

	movq %rbx, %rax
	orq %rax, %rax
	rorq $1, %rax
	PUTF or-ror64

	movq %rbx, %rax
	xorl %ebx, %eax
	movq mem(%rip), %rdx            /* a load between: may fault */
	rorq $13, %rax
	PUTF xor-load-ror64, $(FL_CF | FL_PF | FL_ZF | FL_SF)

	movq %rbx, %rax
	addq $1, %rax
	roll $1, %eax
	PUTF add-rol32

	movq %rbx, %rax
	subb $3, %al
	rorb $1, %al
	PUTF sub-ror8

	movq %rbx, %rax
	incw %ax
	rolw $1, %ax
	PUTF inc-rol16

	movq %rbx, %rax
	shrl $1, %eax
	rolq $1, %rax
	PUTF shr-rol64, $FL_LOGIC               /* AF undefined after shifts */

	movq %rbx, %rax
	sarw $3, %ax
	rorw $1, %ax
	PUTF sar-ror16, $FL_LOGIC               /* AF undefined after shifts */

	movq %rbx, %rax
	shlb $1, %al
	movq mem(%rip), %rdx
	rolb $1, %al
	PUTF shl-load-rol8, $FL_LOGIC               /* AF undefined after shifts */

	/* Two rotates in a row after an add: the add's SF ZF AF PF, the
	 * second rotate's CF (OF undefined for counts above 1) */
	movq %rbx, %rax
	addl $0x1234, %eax
	roll $7, %eax
	rorl $3, %eax
	PUTF add-rol-ror32, $(FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF)

	/* The conditions read straight after a rotate, in the same block:
	 * CF, ZF, SF, PF, and those that combine them (be, l, le) */
	movq %rbx, %rax
	subq $0x80, %rax
	rolq $1, %rax
	setc %cl
	setz %dl
	shlb $1, %dl
	orb %dl, %cl
	sets %dl
	shlb $2, %dl
	orb %dl, %cl
	setp %dl
	shlb $3, %dl
	orb %dl, %cl
	movq %rbx, %rax
	subq $0x80, %rax
	rolq $1, %rax
	setbe %dl
	shlb $4, %dl
	orb %dl, %cl
	movq %rbx, %rax
	subq $0x80, %rax
	rolq $1, %rax
	setl %dl
	shlb $5, %dl
	orb %dl, %cl
	movq %rbx, %rax
	subq $0x80, %rax
	rolq $1, %rax
	setle %dl
	shlb $6, %dl
	orb %dl, %cl
	movq %rbx, %rax
	andl $0x3, %eax
	rorb $1, %al
	seto %dl
	shlb $7, %dl
	orb %dl, %cl
	movzbq %cl, %rcx
	PUT sub-rol-setcc, %rcx

	/* adc and a conditional branch after a rotate */
	movq %rbx, %rax
	incb %al
	rolb $1, %al
	movq $0, %rcx
	adcq $0, %rcx
	movq %rbx, %rax
	incb %al
	rolb $4, %al
	jz 2f
	orq $2, %rcx
2:	PUT inc-rol-adc-jz, %rcx

	movq %rbx, %rax
	shlq $7, %rax
	btq $3, %rax                    /* bt keeps ZF and sets CF from the bit */
	PUTF shl-bt, $(FL_CF | FL_ZF)

		movq %rbx, %rax
	sarq $1, %rax
	cmc                             /* keeps every flag but CF, which flips */
	PUTF sar1-cmc, $FL_LOGIC

	movq %rbx, %rax
	shrl $5, %eax
	cmc
	PUTF shr5-cmc, $(FL_CF | FL_PF | FL_ZF | FL_SF)

	movq %rbx, %rax
	shlw $1, %ax
	cmc
	PUTF shl1-cmc, $FL_LOGIC

		addq $8, %rsi
	leaq vals_end(%rip), %rax
	cmpq %rax, %rsi
	jb 1b
	ret
