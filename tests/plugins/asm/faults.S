/*
 * Instruction counts across faults (tests/plugins/run.sh, counts/faults):
 * a loop of 7 instructions, 1,000 times, whose fifth faults (a load from
 * address 0); the SIGSEGV handler skips the 3-byte load.  Inline counters
 * live partly in a host register (the pinned counter, host/host.h) that a
 * fault must not lose: the insn plugin's inline count must equal its count
 * through callbacks, in every mode.  No libc.
 */
#define SYS_write 1
#define SYS_rt_sigaction 13
#define SYS_rt_sigreturn 15
#define SYS_exit_group 231

	.text
	.globl _start
_start:
	movl $SYS_rt_sigaction, %eax
	movl $11, %edi                          /* SIGSEGV */
	leaq sigact(%rip), %rsi
	xorl %edx, %edx
	movl $8, %r10d
	syscall
	testq %rax, %rax
	jnz fail
	movl $1000, %r12d
	xorl %ecx, %ecx
	xorl %edx, %edx
loop:
	addq $1, %rcx
	addq $3, %rdx
	xorl %eax, %eax
	imulq $7, %rcx, %rbx
	movq (%rax), %rbx                       /* faults: 48 8b 18 */
	decl %r12d
	jnz loop
	cmpq $1000, %rcx
	jne fail
	cmpq $3000, %rdx
	jne fail
	cmpq $1000, faults(%rip)
	jne fail
	movl $SYS_write, %eax
	movl $1, %edi
	leaq ok(%rip), %rsi
	movl $3, %edx
	syscall
	xorl %edi, %edi
	movl $SYS_exit_group, %eax
	syscall
fail:
	movl $1, %edi
	movl $SYS_exit_group, %eax
	syscall

sig_handler:
	addq $3, 168(%rdx)                      /* uc_mcontext.gregs[REG_RIP] */
	addq $1, faults(%rip)
	ret

sig_restorer:
	movl $SYS_rt_sigreturn, %eax
	syscall

	.section .rodata
ok:	.ascii "ok\n"

	.data
	.p2align 3
faults:	.quad 0
sigact:
	.quad sig_handler
	.quad 0x04000004                        /* SA_RESTORER | SA_SIGINFO */
	.quad sig_restorer
	.quad 0                                 /* mask */
