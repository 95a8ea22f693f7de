/* The stack: push/pop of registers, immediates (sign-extended imm8 and
 * imm32), memory and 16-bit operands; pushfq/popfq; call/ret through a
 * label, a register and memory, ret $n; enter/leave including nesting levels;
 * xchg and bswap.  Stack pointers are printed relative to their start. */
#include "lib.h"

	.data
slot:	.quad 0x1122334455667788
target:	.quad callee
	.bss
save_rsp: .skip 8
	.text

/* Prints %rsp - save_rsp under the given name.  Preserves everything. */
.macro DEPTH name
	pushq %rax
	leaq 8(%rsp), %rax
	subq save_rsp(%rip), %rax
	PUT "\name", %rax
	popq %rax
.endm

callee:
	leaq 1(%rdi,%rdi), %rax
	ret

callee_pop16:
	movq 8(%rsp), %rax
	addq 16(%rsp), %rax
	ret $16

	.globl test_main
test_main:
	pushq %rbp
	pushq %rbx
	movq %rsp, save_rsp(%rip)
	DEPTH "start"

	PUTS "-- push/pop"
	movabsq $0xdeadbeefcafebabe, %rax
	pushq %rax
	pushq $-5                       /* imm8, sign-extended to 64 bits */
	pushq $0x7fffffff               /* imm32 */
	pushq $-0x80000000
	pushq slot(%rip)
	DEPTH "after 5 pushes"
	popq %rbx
	PUT "pop mem copy", %rbx
	popq %rbx
	PUT "pop imm32 neg", %rbx
	popq %rbx
	PUT "pop imm32", %rbx
	popq %rbx
	PUT "pop imm8", %rbx
	popq slot(%rip)                 /* pop to memory */
	PUT "slot", slot(%rip)
	DEPTH "balanced"
	movq $-1, %rbx
	pushw $0x1234                   /* 16-bit push moves rsp by 2 */
	DEPTH "after pushw"
	pushw %bx
	popw %ax
	popw %bx
	PUT "popw ax", %rax
	PUT "popw bx", %rbx
	DEPTH "after popw"
	/* push %rsp pushes the value before the decrement. */
	pushq %rsp
	movq (%rsp), %rax
	leaq 8(%rsp), %rbx
	subq %rbx, %rax
	PUT "push rsp - old rsp", %rax
	/* pop %rsp loads the value, ignoring the increment. */
	popq %rsp
	DEPTH "after pop rsp"

	PUTS "-- pushfq/popfq"
	pushq $0x8d7 | 0x400            /* arithmetic flags and DF */
	popfq
	PUTF "flags", $(FL_ARITH | FL_DF)
	pushfq
	popq %rax
	andq $0xfd5, %rax               /* IF (0x200) is always set in user mode */
	PUT "pushed flags", %rax
	cld
	PUTF "after cld", $FL_DF

	PUTS "-- call/ret"
	movl $20, %edi
	call callee
	PUT "call label", %rax
	leaq callee(%rip), %rcx
	movl $21, %edi
	call *%rcx
	PUT "call reg", %rax
	movl $22, %edi
	call *target(%rip)
	PUT "call mem", %rax
	pushq $1000
	pushq $234
	call callee_pop16
	PUT "ret 16 result", %rax
	DEPTH "after ret 16"
	/* A call whose return address is read back: a position-independent
	 * "get pc" idiom. */
	call 1f
1:	popq %rax
	leaq 1b(%rip), %rbx
	subq %rbx, %rax
	PUT "call/pop pc delta", %rax
	/* Return to a pushed address, as some hand-written code does. */
	leaq 2f(%rip), %rax
	pushq %rax
	ret
	PUTS "not reached"
2:	PUTS "returned to pushed address"
	/* Recursion through call/ret: sum 1..100. */
	movl $100, %edi
	call sum_to
	PUT "sum_to(100)", %rax

	PUTS "-- enter/leave"
	movq %rsp, %rbp
	enter $32, $0
	DEPTH "after enter 32,0"
	movq $7, -8(%rbp)
	movq -8(%rbp), %rax
	PUT "local", %rax
	leave
	DEPTH "after leave"
	/* Nesting level 2 copies one outer frame pointer and pushes the new. */
	movq %rsp, %rbp
	enter $16, $2
	DEPTH "after enter 16,2"
	movq -8(%rbp), %rax             /* the copied outer rbp */
	subq save_rsp(%rip), %rax
	PUT "copied frame ptr (rel)", %rax
	movq -16(%rbp), %rax            /* the new frame pointer */
	subq %rbp, %rax
	PUT "pushed frame ptr - rbp", %rax
	leave
	DEPTH "after leave"

	PUTS "-- xchg and bswap"
	movabsq $0x0102030405060708, %rax
	movabsq $0x1112131415161718, %rbx
	xchgq %rax, %rbx
	PUT "rax", %rax
	PUT "rbx", %rbx
	xchgl %eax, %ebx                /* 32-bit xchg zero-extends both */
	PUT "rax", %rax
	PUT "rbx", %rbx
	xchgw %ax, %bx
	PUT "rax", %rax
	PUT "rbx", %rbx
	movabsq $0x0102030405060708, %rax
	bswapq %rax
	PUT "bswapq", %rax
	movq $-1, %rcx
	movl $0x11223344, %ecx
	bswapl %ecx
	PUT "bswapl", %rcx
	movq $0x12345678, %rdx
	movq %rdx, %r8
	bswapq %r8
	bswapq %r8
	PUT "bswap twice", %r8

	movq save_rsp(%rip), %rsp
	popq %rbx
	popq %rbp
	ret

sum_to:
	testq %rdi, %rdi
	jz 1f
	pushq %rdi
	decq %rdi
	call sum_to
	popq %rdi
	addq %rdi, %rax
	ret
1:	xorl %eax, %eax
	ret
