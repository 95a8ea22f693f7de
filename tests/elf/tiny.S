/* The smallest useful static program: two PT_LOADs (code and data), exit(0).
 * tests/elf/run.sh corrupts copies of it. */
	.text
	.globl _start
_start:
	mov	value(%rip), %edi
	mov	$60, %eax		/* exit */
	syscall

	.data
value:
	.long	0
	.section .note.GNU-stack,"",@progbits
