/* For the -cpu tests of run.sh: aesenc (AES-NI), then exit 7.  CPUID has
 * AES only from x86-64-v2 on (when the host has it): below, SIGILL. */
	.globl _start
_start:
	pxor %xmm0, %xmm0
	aesenc %xmm0, %xmm0
	movl $7, %edi
	movl $60, %eax
	syscall
	.section .note.GNU-stack,"",@progbits
