/* Two paths chosen by argc: the blocks are known by construction.
 *   _start   ends at jne          path_a  mov, jmp done
 *   path_b   mov, then done's mov and syscall (one block)
 * argc 1 runs _start, path_a, done; argc 2 runs _start, path_b. */
	.text
	.globl _start, path_a, path_b, done
_start:
	mov (%rsp), %rax
	cmp $1, %rax
	jne path_b
path_a:
	mov $1, %edi
	jmp done
path_b:
	mov $2, %edi
done:
	mov $60, %eax
	syscall
