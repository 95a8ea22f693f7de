/*
 * Runtime for the assembly guest tests: _start, and the print routines the
 * macros in lib.h call.  Output goes out with one write(2) per line.  The
 * routines save every register they touch and RFLAGS, and use no string
 * instructions, so a test may call them with DF set.
 */
#include "lib.h"

	.text
	/* Weak, so a test that inspects the initial process state can bring
	 * its own _start. */
	.weak _start
_start:
	xorl %ebp, %ebp
	call test_main
	EXIT 0

/* %rdx = NUL-terminated string; copies it to (%rdi), advancing %rdi. */
fmt_str:
	movb (%rdx), %al
	testb %al, %al
	jz 1f
	movb %al, (%rdi)
	incq %rdi
	incq %rdx
	jmp fmt_str
1:	ret

/* Writes %rax as 16 hex digits at (%rdi), advancing %rdi.  Uses %rcx, %rdx. */
fmt_hex:
	movl $16, %ecx
1:	rolq $4, %rax
	movl %eax, %edx
	andl $15, %edx
	cmpl $10, %edx
	jb 2f
	addl $'a' - '0' - 10, %edx
2:	addl $'0', %edx
	movb %dl, (%rdi)
	incq %rdi
	decl %ecx
	jnz 1b
	ret

/* write(1, %r8, %rdi - %r8).  Uses %rax, %rcx, %rdx, %rsi, %rdi, %r11. */
flush:
	movq %rdi, %rdx
	subq %r8, %rdx
	movq %r8, %rsi
	movl $1, %edi
	movl $1, %eax                   /* write */
	syscall
	ret

.macro SAVE
	pushfq
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rdi
	pushq %rsi
	pushq %r8
	pushq %r11
	subq $128, %rsp                 /* line buffer */
.endm
.macro RESTORE
	addq $128, %rsp
	popq %r11
	popq %r8
	popq %rsi
	popq %rdi
	popq %rdx
	popq %rcx
	popq %rax
	popfq
.endm
/* After SAVE, the caller's stack arguments start here (past the return
 * address and the caller's saved %rsi). */
#define ARG0 (128 + 8 * 8 + 16)

/* Stack on entry: return address, caller's %rsi, value.  %rsi = name. */
	.globl lib_put
lib_put:
	SAVE
	movq %rsp, %r8
	movq %rsp, %rdi
	movq %rsi, %rdx
	call fmt_str
	movw $0x203a, (%rdi)            /* ": " */
	addq $2, %rdi
	movq ARG0(%rsp), %rax
	call fmt_hex
	movb $'\n', (%rdi)
	incq %rdi
	call flush
	RESTORE
	ret

/* Stack on entry: return address, caller's %rsi, mask, flags. */
	.globl lib_putf
lib_putf:
	SAVE
	movq %rsp, %r8
	movq %rsp, %rdi
	movq %rsi, %rdx
	call fmt_str
	movw $0x203a, (%rdi)
	addq $2, %rdi
	movq ARG0(%rsp), %r11           /* mask */
	movq ARG0 + 8(%rsp), %rax       /* flags */
	andq %r11, %rax
	movq %rax, %rsi
	call fmt_hex
	movb $' ', (%rdi)
	incq %rdi
	leaq flag_letters(%rip), %rdx
3:	movzbl (%rdx), %ecx             /* bit number, 0xff ends the table */
	cmpb $0xff, %cl
	je 6f
	movb $'.', %al                  /* masked out */
	btq %rcx, %r11
	jnc 5f
	movb $'-', %al                  /* clear */
	btq %rcx, %rsi
	jnc 5f
	movb 1(%rdx), %al               /* set: its letter */
5:	movb %al, (%rdi)
	incq %rdi
	addq $2, %rdx
	jmp 3b
6:	movb $'\n', (%rdi)
	incq %rdi
	call flush
	RESTORE
	ret

/* %rsi = text. */
	.globl lib_puts
lib_puts:
	SAVE
	movq %rsp, %r8
	movq %rsp, %rdi
	movq %rsi, %rdx
	call fmt_str
	movb $'\n', (%rdi)
	incq %rdi
	call flush
	RESTORE
	ret

	.section .rodata
flag_letters:
	.byte 11, 'O', 10, 'D', 7, 'S', 6, 'Z', 4, 'A', 2, 'P', 0, 'C', 0xff, 0
