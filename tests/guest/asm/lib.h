/*
 * Macros for the hand-written assembly guest tests (GNU as, AT&T syntax).
 * Each test defines test_main; lib.S supplies _start, which calls it and
 * exits with status 0, and the printing routines below.  Every macro keeps
 * all registers and RFLAGS intact, so a value or the flags can be printed in
 * the middle of a sequence without disturbing it.
 *
 *   PUT  name, src     prints "name: <16 hex digits>"; src is anything pushq
 *                      takes (a 64-bit register, memory, an imm32)
 *   PUTF name[, mask]  prints RFLAGS & mask in hex and as letters O D S Z A
 *                      P C ('-' clear, '.' masked out); mask is a pushq
 *                      operand ($FL_LOGIC, %r13), default $FL_ARITH
 *   PUTS "text"        prints a line of text
 *   EXIT code          exit_group(code)
 *
 * Tests must not print addresses (the stack and heap move between runs).
 */
#ifndef LOOM_GUEST_ASM_LIB_H
#define LOOM_GUEST_ASM_LIB_H

#define FL_CF 0x001
#define FL_PF 0x004
#define FL_AF 0x010
#define FL_ZF 0x040
#define FL_SF 0x080
#define FL_DF 0x400
#define FL_OF 0x800
#define FL_ARITH 0x8d5          /* CF PF AF ZF SF OF */
#define FL_LOGIC 0x8c5          /* AF is undefined after logic ops */

.macro PUT name:req, src:req
	pushq \src
	pushq %rsi
	leaq .Lput_name\@(%rip), %rsi
	call lib_put
	popq %rsi
	leaq 8(%rsp), %rsp
	.pushsection .rodata
.Lput_name\@: .asciz "\name"
	.popsection
.endm

.macro PUTF name:req, mask=$FL_ARITH
	pushfq
	pushq \mask
	pushq %rsi
	leaq .Lputf_name\@(%rip), %rsi
	call lib_putf
	popq %rsi
	leaq 16(%rsp), %rsp
	.pushsection .rodata
.Lputf_name\@: .asciz "\name"
	.popsection
.endm

.macro PUTS text:req
	pushq %rsi
	leaq .Lputs_text\@(%rip), %rsi
	call lib_puts
	popq %rsi
	.pushsection .rodata
.Lputs_text\@: .asciz "\text"
	.popsection
.endm

.macro EXIT code:req
	movl $\code, %edi
	movl $231, %eax                 /* exit_group */
	syscall
.endm

#endif
