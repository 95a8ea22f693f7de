/* ENTER with a 16-bit operand size (66 c8 iw ib, enterw) and, beside it,
 * the 64-bit form on the same frames, and LEAVE of both sizes after them: nesting levels 0, 1, 2, 3, 31, 32
 * (taken mod 32: 0) and 33 (1), allocation sizes 0, 16 and 0x1234.  Each
 * case runs with rbp in one 64 KiB block of .bss and rsp in another, so
 * that the new rbp shows whether all of it or only bp was written, then
 * prints rsp and rbp relative to the initial rsp and the quadwords it wrote
 * below it.  Byte i of the outer frame holds i mod 256, so the copied frame
 * pointers are recognisable; the stack area starts filled with 0xee. */
#include "lib.h"

	.bss
	.p2align 16
fp_area:	.skip 0x300             /* rbp = fp_area + 0x200 */
	.p2align 16
	.skip 0x10000
stk_area:	.skip 0x400             /* rsp = stk_area + 0x300 */
save_rsp:	.skip 8
	.text

fill:
	leaq fp_area(%rip), %rdi
	xorl %eax, %eax
1:	movb %al, (%rdi,%rax)
	incl %eax
	cmpl $0x300, %eax
	jne 1b
	leaq stk_area(%rip), %rdi
	movl $0x400, %ecx
	movb $0xee, %al
	rep stosb
	ret

/* Run `insn` (an enter) on the test frames and print what it did; nq: the
 * quadwords below the initial rsp to print. */
.macro CASE name:req, insn:req, nq:req
	PUTS "\name"
	call fill
	movq %rsp, save_rsp(%rip)
	leaq fp_area+0x200(%rip), %rbp
	leaq stk_area+0x300(%rip), %rsp
	\insn
	movq %rsp, %rax
	movq %rbp, %rbx
	movq save_rsp(%rip), %rsp
	leaq stk_area+0x300(%rip), %rcx
	subq %rcx, %rax
	PUT "rsp - initial rsp", %rax
	subq %rcx, %rbx
	PUT "rbp - initial rsp", %rbx
	.irp i, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34
	.if \i <= \nq
	PUT "  below", -8*\i(%rcx)
	.endif
	.endr
.endm

	.globl test_main
test_main:
	pushq %rbp
	pushq %rbx
	CASE "enterw 0,0", "enterw $0, $0", 1
	CASE "enterw 16,0", "enterw $16, $0", 1
	CASE "enterw 0,1", "enterw $0, $1", 1
	CASE "enterw 16,1", "enterw $16, $1", 1
	CASE "enterw 0,2", "enterw $0, $2", 2
	CASE "enterw 8,3", "enterw $8, $3", 2
	CASE "enterw 0x1234,3", "enterw $0x1234, $3", 2
	CASE "enterw 0,31", "enterw $0, $31", 9
	CASE "enterw 0,32", "enterw $0, $32", 1
	CASE "enterw 4,33", "enterw $4, $33", 1
	CASE "enterw 8,2; leavew", "enterw $8, $2; leavew", 2
	CASE "enterq 8,2; leavew", "enterq $8, $2; leavew", 3
	CASE "enterw 8,2; leaveq", "enterw $8, $2; leaveq", 2
	CASE "enterq 0,0", "enterq $0, $0", 1
	CASE "enterq 16,1", "enterq $16, $1", 3
	CASE "enterq 8,3", "enterq $8, $3", 5
	CASE "enterq 0,31", "enterq $0, $31", 33
	CASE "enterq 0,33", "enterq $0, $33", 3
	popq %rbx
	popq %rbp
	ret
