/* For the -cpu tests of run.sh: blsr of 6 (BMI1, x86-64-v3), then exit
 * with the result.  Below v3 the VEX encoding is undefined: SIGILL. */
	.globl _start
_start:
	movl $6, %eax
	blsrl %eax, %edi
	movl $60, %eax
	syscall
	.section .note.GNU-stack,"",@progbits
