/* Spins until killed; `spin` is its own block. */
	.text
	.globl _start, spin
_start:
	xor %ecx, %ecx
spin:
	add $1, %rcx
	jmp spin
