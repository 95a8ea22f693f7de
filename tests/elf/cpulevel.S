/* For the -cpu tests of run.sh: lzcnt of 1, then lahf, then exit with the
 * count.  LZCNT exists from x86-64-v3 on: below it F3 0F BD is BSR, so the
 * status is 0 (31 on a CPU with LZCNT).  LAHF in 64-bit mode is v2: a
 * baseline CPU raises #UD there, which Linux delivers as SIGILL. */
	.globl _start
_start:
	movl $1, %eax
	lzcntl %eax, %edi
	lahf
	movl $60, %eax
	syscall
