/*
 * Exact counts: every number the plugin tests check follows from this
 * code.  No libc, own _start; everything lies in the first page of .text.
 *
 * With N = LOOPS iterations:
 *   instructions  3 + 8N + 1 (call) + 1 (ret) + 5 (write) + 3 (close)
 *                 + 2 (getpid) + 3 (exit_group)            = 8N + 18
 *   loads         3 per iteration + 1 (ret)                 = 3N + 1
 *   stores        3 per iteration + 1 (call)                = 3N + 1
 *   syscalls      write, close(-1) (fails with EBADF), getpid, exit_group
 *   TBs (a TB ends at each branch and syscall):
 *                 _start..jnz, N-1 loop TBs, call, ret, write, close,
 *                 getpid, exit_group                        = N + 6
 *                 with -one-insn-per-tb: one per instruction = 8N + 18
 *   classes (plugins/insn.c): branch N + 2, load/store 5N,
 *                 arith 2N + 4, other 12, float/simd 0
 *   hottest TB: loop_top, 8 instructions, N - 1 executions
 * stdout: "count done"; exit status 0.
 */
#define LOOPS 1000

	.text
	.p2align 12
	.globl _start
_start:
	movl $LOOPS, %ecx
	leaq buf(%rip), %rsi
	xorl %eax, %eax
	.globl loop_top
loop_top:
	movq (%rsi), %rdx               /* load */
	addq %rcx, %rdx
	movq %rdx, 8(%rsi)              /* store */
	addq $1, (%rsi)                 /* load and store */
	pushq %rdx                      /* store */
	popq %rdx                       /* load */
	decl %ecx
	jnz loop_top
	call leaf                       /* store of the return address */
	.globl do_write
do_write:
	movl $1, %eax                   /* write(1, msg, len) */
	movl $1, %edi
	leaq msg(%rip), %rsi
	movl $msg_len, %edx
	syscall
	.globl do_close
do_close:
	movl $3, %eax                   /* close(-1): -EBADF */
	movl $-1, %edi
	syscall
	.globl do_getpid
do_getpid:
	movl $39, %eax                  /* getpid */
	syscall
	.globl do_exit
do_exit:
	movl $231, %eax                 /* exit_group(0) */
	xorl %edi, %edi
	syscall
leaf:
	ret                             /* load of the return address */

	.section .rodata
msg:	.ascii "count done\n"
	msg_len = . - msg

	.data
	.p2align 4
buf:	.quad 0, 0
