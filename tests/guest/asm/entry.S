/* The initial process state at _start, as the kernel builds it and as loom
 * must reproduce it: %rsp 16-byte aligned, %rdx = 0 (no atexit hook), DF
 * clear, argc and argv strings, envp terminated by NULL, and an auxv with
 * AT_PAGESZ = 4096 and AT_NULL at its end.  Exits with status 5. */
#include "lib.h"

#define AT_NULL 0
#define AT_PAGESZ 6

	.text
	.globl _start
_start:
	movq %rsp, %r12                 /* r12 = initial stack pointer */
	movq %rdx, %r13
	pushfq
	popq %r14
	movq %r12, %rax
	andq $15, %rax
	PUT "rsp mod 16", %rax
	PUT "rdx", %r13
	andq $FL_DF, %r14
	PUT "DF", %r14

	movq (%r12), %r15               /* argc */
	PUT "argc", %r15
	/* Print each argv[i] for i >= 1 (argv[0] is a path that differs). */
	movl $1, %ebx
1:	cmpq %r15, %rbx
	jae 2f
	movq 8(%r12,%rbx,8), %rsi
	call lib_puts
	incq %rbx
	jmp 1b
2:	movq 8(%r12,%r15,8), %rax       /* argv[argc] must be NULL */
	PUT "argv[argc]", %rax

	/* envp: count entries up to the NULL. */
	leaq 16(%r12,%r15,8), %rbx
	xorl %ecx, %ecx
3:	cmpq $0, (%rbx)
	je 4f
	incq %rcx
	addq $8, %rbx
	jmp 3b
4:	PUT "envc", %rcx

	/* auxv follows envp's NULL: pairs of (type, value) up to AT_NULL. */
	addq $8, %rbx
	xorl %r8d, %r8d                 /* AT_PAGESZ value seen */
5:	movq (%rbx), %rax
	cmpq $AT_NULL, %rax
	je 7f
	cmpq $AT_PAGESZ, %rax
	jne 6f
	movq 8(%rbx), %r8
6:	addq $16, %rbx
	jmp 5b
7:	PUT "AT_PAGESZ", %r8
	EXIT 5

	/* lib.S's weak _start, unused here, still names test_main. */
	.globl test_main
test_main:
	ret
