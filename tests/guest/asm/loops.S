/* Rarely used control flow and odd encodings: loop/loope/loopne, jrcxz and
 * jecxz, xlat, multi-byte nops and pause, a jump into the middle of what
 * looks like an instruction from another alignment, an indirect jump
 * through a table, and the raw syscall return value of a failing write. */
#include "lib.h"

	.data
xtab:	.ascii "0123456789abcdef"
jtab:	.quad case0, case1, case2, case3
	.text

	.globl test_main
test_main:
	pushq %rbx
	/* loop: count down rcx, sum in rax. */
	xorl %eax, %eax
	movl $10, %ecx
1:	addq %rcx, %rax
	loop 1b
	PUT "loop sum", %rax
	PUT "  rcx", %rcx

	/* loope stops at the first inequality or when rcx hits 0. */
	leaq xtab(%rip), %rsi
	movl $16, %ecx
	xorl %ebx, %ebx
2:	movb (%rsi,%rbx), %al
	incq %rbx
	cmpb $'5', %al
	loopne 2b
	PUT "loopne found '5' at", %rbx
	PUT "  rcx", %rcx
	movl $8, %ecx
	xorl %ebx, %ebx
3:	incq %rbx
	cmpq $4, %rbx
	loope 3b                        /* ZF=0 at once: leaves after one pass */
	PUT "loope passes", %rbx
	PUT "  rcx", %rcx

	/* jrcxz / jecxz: only the low 32 bits count for jecxz. */
	movabsq $0x100000000, %rcx
	xorl %eax, %eax
	jrcxz 4f
	orq $1, %rax
4:	jecxz 5f
	orq $2, %rax
5:	PUT "jrcxz/jecxz bits", %rax

	/* xlat: al = [rbx + al]. */
	leaq xtab(%rip), %rbx
	movq $-1, %rax
	movb $11, %al
	xlatb
	PUT "xlat 11", %rax

	/* Multi-byte nops and pause change nothing. */
	movq $0x1234, %rax
	nop
	.byte 0x66, 0x90
	.byte 0x0f, 0x1f, 0x00
	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00
	.byte 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00
	.byte 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00
	pause
	PUT "after nops", %rax

	/* Overlapping instructions: the jmp lands inside the 10-byte movabs,
	 * whose immediate bytes encode "mov $42, %eax; jmp +2" (b8 2a 00 00 00
	 * eb 02) followed by filler. */
	jmp 6f + 2
6:	movabsq $0x9002eb0000002ab8, %rdx
	.byte 0x90, 0x90
	PUT "overlapped mov", %rax

	/* Indirect jump through a table. */
	xorl %ebx, %ebx
	xorl %edx, %edx
7:	leaq jtab(%rip), %rax
	jmp *(%rax,%rbx,8)
case0:	addq $1, %rdx
	jmp 8f
case1:	addq $10, %rdx
	jmp 8f
case2:	addq $100, %rdx
	jmp 8f
case3:	addq $1000, %rdx
8:	incq %rbx
	cmpq $4, %rbx
	jne 7b
	PUT "jump table sum", %rdx

	/* write(-1, ...) returns -EBADF (-9) in rax. */
	movl $1, %eax
	movl $-1, %edi
	leaq xtab(%rip), %rsi
	movl $1, %edx
	syscall
	PUT "write(-1) rax", %rax
	popq %rbx
	ret
