/* For the -cpu tests of run.sh: a 256-bit AVX2 compare and vmovmskps, then
 * exit with the mask and 0x7f.  Under -cpu x86-64-v3 the status is 127;
 * below v3 the VEX instruction is #UD, which Linux delivers as SIGILL. */
	.globl _start
_start:
	vpcmpeqd %ymm0, %ymm0, %ymm0
	vmovmskps %ymm0, %edi
	andl $0x7f, %edi
	movl $60, %eax
	syscall
