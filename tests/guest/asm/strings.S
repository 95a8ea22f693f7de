/* String instructions: rep movsb/movsq, rep stosb/stosq, repe cmpsb,
 * repne scasb, lodsb, with DF=0 and DF=1, counts of zero, and the final
 * values of %rsi, %rdi, %rcx (printed relative to the buffers) and flags. */
#include "lib.h"

	.bss
	.align 64
src:	.skip 256
dst:	.skip 256

	.text
	.globl test_main
test_main:
	/* src[i] = i * 3 + 1 */
	leaq src(%rip), %rdi
	xorl %ecx, %ecx
1:	leal 1(%rcx,%rcx,2), %eax
	movb %al, (%rdi,%rcx)
	incl %ecx
	cmpl $256, %ecx
	jne 1b

	PUTS "rep movsb forward, 37 bytes from src+3 to dst+5"
	cld
	leaq src+3(%rip), %rsi
	leaq dst+5(%rip), %rdi
	movl $37, %ecx
	rep movsb
	call show_regs
	PUT "dst[5..12]", dst+5(%rip)
	PUT "dst[34..41]", dst+34(%rip)
	PUT "dst[42..49]", dst+42(%rip)

	PUTS "rep movsq backward (DF=1), 4 qwords ending at src+64 -> dst+128"
	std
	leaq src+56(%rip), %rsi
	leaq dst+120(%rip), %rdi
	movl $4, %ecx
	rep movsq
	cld
	call show_regs
	PUT "dst[96]", dst+96(%rip)
	PUT "dst[120]", dst+120(%rip)

	PUTS "rep stosq forward, 5 qwords of rax at dst+8"
	movabsq $0x1122334455667788, %rax
	leaq dst+8(%rip), %rdi
	movl $5, %ecx
	rep stosq
	call show_regs
	PUT "dst[8]", dst+8(%rip)
	PUT "dst[40]", dst+40(%rip)
	PUT "dst[48]", dst+48(%rip)

	PUTS "rep stosb backward, 9 bytes of al ending at dst+200"
	std
	movb $0xab, %al
	leaq dst+200(%rip), %rdi
	movl $9, %ecx
	rep stosb
	cld
	call show_regs
	PUT "dst[192]", dst+192(%rip)
	PUT "dst[200]", dst+200(%rip)

	PUTS "rep movsb with rcx=0 moves nothing and keeps flags"
	movl $0, %ecx
	leaq src(%rip), %rsi
	leaq dst(%rip), %rdi
	stc
	rep movsb
	PUTF "flags"
	call show_regs

	PUTS "repe cmpsb: equal for 20 bytes, differ at 20"
	leaq src(%rip), %rsi
	leaq dst(%rip), %rdi
	movl $64, %ecx
	cld
	rep movsb                       /* dst = src */
	leaq dst+20(%rip), %rdi
	notb (%rdi)
	leaq src(%rip), %rsi
	leaq dst(%rip), %rdi
	movl $64, %ecx
	repe cmpsb
	PUTF "flags"
	call show_regs

	PUTS "repe cmpsb: all 64 equal"
	leaq dst+20(%rip), %rdi
	notb (%rdi)
	leaq src(%rip), %rsi
	leaq dst(%rip), %rdi
	movl $64, %ecx
	repe cmpsb
	PUTF "flags"
	call show_regs

	PUTS "repne scasb: find byte 0x1f (src[10]) forward"
	leaq src(%rip), %rdi
	movb $0x1f, %al
	movl $100, %ecx
	repne scasb
	PUTF "flags"
	call show_regs

	PUTS "repne scasb: absent byte 0x00 in 50 bytes"
	leaq src(%rip), %rdi
	xorl %eax, %eax
	movl $50, %ecx
	repne scasb
	PUTF "flags"
	call show_regs

	PUTS "repne scasb backward (DF=1) from src+100 for 0x1f"
	std
	leaq src+100(%rip), %rdi
	movb $0x1f, %al
	movl $200, %ecx
	repne scasb
	cld
	PUTF "flags"
	call show_regs

	PUTS "lodsb/lodsq and stosw, movsd, cmpsq single steps"
	leaq src+1(%rip), %rsi
	movq $-1, %rax
	lodsb
	PUT "rax after lodsb", %rax
	lodsq
	PUT "rax after lodsq", %rax
	leaq dst(%rip), %rdi
	movw $0xbeef, %ax
	stosw
	movsl
	cmpsq
	PUTF "flags after cmpsq"
	call show_regs
	PUT "dst[0]", dst(%rip)

	PUTS "repe cmpsw: words, differ in a high byte"
	leaq src(%rip), %rsi
	leaq dst(%rip), %rdi
	movl $32, %ecx
	rep movsw
	leaq dst+31(%rip), %rdi
	incb (%rdi)
	leaq src(%rip), %rsi
	leaq dst(%rip), %rdi
	movl $32, %ecx
	repe cmpsw
	PUTF "flags"
	call show_regs
	ret

/* Prints %rsi - src, %rdi - dst, %rcx (preserving everything). */
show_regs:
	pushq %rax
	pushq %rsi
	pushq %rdi
	leaq src(%rip), %rax
	subq %rax, %rsi
	leaq dst(%rip), %rax
	subq %rax, %rdi
	PUT "rsi-src", %rsi
	PUT "rdi-dst", %rdi
	PUT "rcx", %rcx
	popq %rdi
	popq %rsi
	popq %rax
	ret
