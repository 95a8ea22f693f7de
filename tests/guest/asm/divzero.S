/* Death by a fault: after printing a line, divide by zero.  No handler is
 * installed, so the process dies of SIGFPE, and under loom it must die of
 * the same signal (the runner sees status 136 both ways). */
#include "lib.h"

	.text
	.globl test_main
test_main:
	PUTS "dividing by zero"
	movl $1, %eax
	xorl %edx, %edx
	xorl %ecx, %ecx
	divl %ecx
	PUTS "not reached"
	EXIT 1
