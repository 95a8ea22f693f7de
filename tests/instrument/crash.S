/* Loads from address 0: dies of SIGSEGV in its first block. */
	.text
	.globl _start
_start:
	xor %eax, %eax
	mov (%rax), %rax
	mov $60, %eax
	syscall
