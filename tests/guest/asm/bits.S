/* Shifts and rotates by %cl at 8/16/32/64 bits over counts that include 0,
 * 1, the width and past it (the hardware masks the count to 5 or 6 bits;
 * rcl/rcr rotate through CF modulo width+1), double shifts shld/shrd, and
 * bit tests bt/bts/btr/btc with immediate and register offsets, on
 * registers and on memory (where a register offset may leave the operand).
 * Flags are printed only where the manual defines them. */
#include "lib.h"

	.data
counts:	.byte 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65
counts_end:
values:	.quad 0x8000000000000001, 0x0123456789abcdef, 0x00000000000000c3
values_end:
bitmem:	.quad 0x8000000000000001, 0x00000000ffff0000, 0, -1
	.text

/* %r13 = the flags mask for this count, from the class of the op:
 *   0 shift (shl/shr/sar), 1 rotate (rol/ror/rcl/rcr), 2 double shift.
 * %r14 = 1 if the result is defined.  Uses %rax, %rdx. */
.macro MASK_FOR class, width
	movzbl %cl, %eax
	.if \width == 64
	andl $63, %eax
	.else
	andl $31, %eax
	.endif
	movl $1, %r14d
	movq $FL_ARITH, %r13            /* count 0: nothing changes */
	testl %eax, %eax
	jz 9f
	.if \class == 0
	movq $0x8c5, %r13               /* count 1: CF OF SF ZF PF */
	cmpl $1, %eax
	je 9f
	movq $0x0c5, %r13               /* CF SF ZF PF */
	cmpl $\width, %eax
	jb 9f
	movq $0x0c4, %r13               /* CF undefined once count >= width */
	.elseif \class == 1
	cmpl $1, %eax                   /* OF only for 1-bit rotates */
	je 9f
	movq $0x0d5, %r13
	.else
	movq $0x8c5, %r13
	cmpl $1, %eax
	je 9f
	movq $0x0c5, %r13
	cmpl $\width, %eax
	jbe 9f
	movq $0, %r13                   /* count > width: all undefined */
	xorl %r14d, %r14d
	.endif
9:
.endm

/* Runs op %cl, reg for each value and count, from a known flags state. */
.macro SHIFTS name, op, class, width, reg
	PUTS "-- \name"
	leaq values(%rip), %r15
1:	leaq counts(%rip), %r12
2:	movzbl (%r12), %ecx
	MASK_FOR \class, \width
	movq (%r15), %rbx
	movq %rbx, %rax
	.ifnc \class,2
	pushq $0x8d7                    /* all arithmetic flags set */
	.else
	pushq $0x002
	.endif
	popfq
	\op
	PUT "count", %rcx
	PUTF "  flags", %r13
	testl %r14d, %r14d
	jz 3f
	PUT "  result", %rax
3:	incq %r12
	leaq counts_end(%rip), %rdx
	cmpq %rdx, %r12
	jne 2b
	addq $8, %r15
	leaq values_end(%rip), %rdx
	cmpq %rdx, %r15
	jne 1b
.endm

/* The same op again with CF clear on entry (for rcl/rcr). */
.macro SHIFTS_CF0 name, op, width
	PUTS "-- \name with CF=0"
	leaq values(%rip), %r15
	leaq counts(%rip), %r12
2:	movzbl (%r12), %ecx
	MASK_FOR 1, \width
	movq (%r15), %rax
	pushq $0x002
	popfq
	\op
	PUT "count", %rcx
	PUTF "  flags", %r13
	PUT "  result", %rax
	incq %r12
	leaq counts_end(%rip), %rdx
	cmpq %rdx, %r12
	jne 2b
.endm

	.globl test_main
test_main:
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rbx
	SHIFTS shlq, "shlq %cl, %rax", 0, 64
	SHIFTS shll, "shll %cl, %eax", 0, 32
	SHIFTS shlw, "shlw %cl, %ax", 0, 16
	SHIFTS shlb, "shlb %cl, %al", 0, 8
	SHIFTS shrq, "shrq %cl, %rax", 0, 64
	SHIFTS shrl, "shrl %cl, %eax", 0, 32
	SHIFTS shrw, "shrw %cl, %ax", 0, 16
	SHIFTS shrb, "shrb %cl, %al", 0, 8
	SHIFTS sarq, "sarq %cl, %rax", 0, 64
	SHIFTS sarl, "sarl %cl, %eax", 0, 32
	SHIFTS sarw, "sarw %cl, %ax", 0, 16
	SHIFTS sarb, "sarb %cl, %al", 0, 8
	SHIFTS rolq, "rolq %cl, %rax", 1, 64
	SHIFTS rolw, "rolw %cl, %ax", 1, 16
	SHIFTS rolb, "rolb %cl, %al", 1, 8
	SHIFTS rorl, "rorl %cl, %eax", 1, 32
	SHIFTS rorb, "rorb %cl, %al", 1, 8
	SHIFTS rclq, "rclq %cl, %rax", 1, 64
	SHIFTS rcll, "rcll %cl, %eax", 1, 32
	SHIFTS rclw, "rclw %cl, %ax", 1, 16
	SHIFTS rclb, "rclb %cl, %al", 1, 8
	SHIFTS rcrq, "rcrq %cl, %rax", 1, 64
	SHIFTS rcrl, "rcrl %cl, %eax", 1, 32
	SHIFTS rcrw, "rcrw %cl, %ax", 1, 16
	SHIFTS rcrb, "rcrb %cl, %al", 1, 8
	SHIFTS_CF0 rclb, "rclb %cl, %al", 8
	SHIFTS_CF0 rcrw, "rcrw %cl, %ax", 16
	SHIFTS_CF0 rcrq, "rcrq %cl, %rax", 64
	movabsq $0xfedcba9876543210, %rsi
	SHIFTS shldq, "shldq %cl, %rsi, %rax", 2, 64
	SHIFTS shldl, "shldl %cl, %esi, %eax", 2, 32
	SHIFTS shldw, "shldw %cl, %si, %ax", 2, 16
	SHIFTS shrdq, "shrdq %cl, %rsi, %rax", 2, 64
	SHIFTS shrdl, "shrdl %cl, %esi, %eax", 2, 32
	SHIFTS shrdw, "shrdw %cl, %si, %ax", 2, 16

	PUTS "-- shifts by immediate and by 1"
	movabsq $0x8000000000000001, %rax
	shlq $1, %rax
	PUTF "shl 1", $0x8c5
	PUT "  result", %rax
	movabsq $0x8000000000000001, %rax
	shrq %rax
	PUTF "shr 1", $0x8c5
	PUT "  result", %rax
	movabsq $0xc000000000000001, %rax
	sarq $62, %rax
	PUTF "sar 62", $0x0c5
	PUT "  result", %rax
	movl $0x80000001, %eax
	roll $1, %eax
	PUTF "rol 1", $(FL_CF | FL_OF)
	PUT "  result", %rax
	stc
	movq $1, %rax
	rcrq $1, %rax
	PUTF "rcr 1", $(FL_CF | FL_OF)
	PUT "  result", %rax
	movq $1, %rax
	movq $-1, %rdx
	shldq $4, %rdx, %rax
	PUTF "shld 4", $0x0c5
	PUT "  result", %rax
	shrdq $60, %rdx, %rax
	PUTF "shrd 60", $0x0c5
	PUT "  result", %rax

	/* Only CF is printed: Intel leaves ZF alone, AMD documents it as
	 * undefined. */
	PUTS "-- bt/bts/btr/btc on registers (CF = old bit)"
	movabsq $0x8000000000000011, %rbx
	btq $0, %rbx
	PUTF "bt 0", $FL_CF
	btq $65, %rbx                   /* immediate is taken mod 64 */
	PUTF "bt 65", $FL_CF
	btsq $2, %rbx
	PUTF "bts 2", $FL_CF
	movl $63, %ecx
	btrq %rcx, %rbx
	PUTF "btr 63", $FL_CF
	movl $68, %ecx                  /* register offset, mod 64 on a register */
	btcq %rcx, %rbx
	PUTF "btc 68", $FL_CF
	PUT "  rbx", %rbx
	movl $0xffff, %ebx
	movl $40, %ecx
	btsl %ecx, %ebx                 /* mod 32: bit 8 */
	PUTF "btsl 40", $FL_CF
	PUT "  rbx", %rbx
	btcw $15, %bx
	PUTF "btcw 15", $FL_CF
	PUT "  rbx", %rbx

	PUTS "-- bt family on memory: register offsets address the bit string"
	leaq bitmem+16(%rip), %rdi
	movq $-64, %rcx                 /* bit 0 of the quad at bitmem+8 */
	btq %rcx, (%rdi)
	PUTF "bt -64", $FL_CF
	movq $-1, %rcx                  /* bit 63 of bitmem+8 */
	btsq %rcx, (%rdi)
	PUTF "bts -1", $FL_CF
	movq $-105, %rcx                /* -128 + 23: bit 23 of bitmem+0 */
	btcq %rcx, (%rdi)
	PUTF "btc -105", $FL_CF
	movl $100, %ecx                 /* bit 36 of bitmem+24 */
	btrq %rcx, (%rdi)
	PUTF "btr 100", $FL_CF
	movl $-17, %ecx                 /* 32-bit form: bit 15 of the dword */
	btsl %ecx, (%rdi)               /* at bitmem+12 */
	PUTF "btsl -17", $FL_CF
	btw $3, bitmem(%rip)
	PUTF "btw imm", $FL_CF
	PUT "bitmem[0]", bitmem(%rip)
	PUT "bitmem[1]", bitmem+8(%rip)
	PUT "bitmem[2]", bitmem+16(%rip)
	PUT "bitmem[3]", bitmem+24(%rip)

	popq %rbx
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	ret
