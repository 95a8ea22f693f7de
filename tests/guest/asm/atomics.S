/* Atomic read-modify-write instructions on memory: lock cmpxchg at 8/16/32/64
 * bits (both outcomes: ZF and the accumulator reload), lock xadd, xchg with
 * memory (implicitly locked) and between registers, lock add/sub/and/or/xor/
 * inc/dec/neg/not, lock bts/btr/btc, and cmpxchg8b/cmpxchg16b. */
#include "lib.h"

	.data
	.align 16
mem:	.quad 0x1122334455667788, 0x99aabbccddeeff00
pair:	.quad 0x0102030405060708, 0x1112131415161718

	.text
	.globl test_main
test_main:
	PUTS "lock cmpxchg 64: match"
	movq mem(%rip), %rax
	movabsq $0xcafebabedeadbeef, %rcx
	lock cmpxchgq %rcx, mem(%rip)
	PUTF "flags"
	PUT "rax", %rax
	PUT "mem", mem(%rip)

	PUTS "lock cmpxchg 64: mismatch loads rax"
	movq $5, %rax
	lock cmpxchgq %rcx, mem(%rip)
	PUTF "flags"
	PUT "rax", %rax

	PUTS "cmpxchg 32: match, then mismatch loads eax (upper half zeroed)"
	movq $-1, %rax
	movl mem(%rip), %eax
	movl $0x77777777, %ecx
	lock cmpxchgl %ecx, mem(%rip)
	PUTF "flags"
	PUT "rax", %rax
	movq $-1, %rax
	lock cmpxchgl %ecx, mem+4(%rip)
	PUTF "flags"
	PUT "rax", %rax
	PUT "mem", mem(%rip)

	PUTS "cmpxchg 16 and 8"
	movq $-1, %rax
	movw $0x7777, %ax
	movw $0x1234, %cx
	lock cmpxchgw %cx, mem(%rip)
	PUTF "flags"
	PUT "rax", %rax
	movb $0x34, %al
	movb $0x99, %cl
	lock cmpxchgb %cl, mem(%rip)
	PUTF "flags"
	PUT "rax", %rax
	PUT "mem", mem(%rip)

	PUTS "cmpxchg register destination"
	movq $10, %rax
	movq $10, %rdx
	movq $20, %rcx
	cmpxchgq %rcx, %rdx
	PUTF "flags"
	PUT "rdx", %rdx
	cmpxchgq %rcx, %rdx
	PUTF "flags"
	PUT "rax", %rax

	PUTS "lock xadd"
	movq $0x7fffffffffffffff, %rax
	movq %rax, mem+8(%rip)
	movq $1, %rbx
	lock xaddq %rbx, mem+8(%rip)
	PUTF "flags"
	PUT "rbx (old)", %rbx
	PUT "mem (new)", mem+8(%rip)
	movl $0xffffffff, %ebx
	lock xaddl %ebx, mem+8(%rip)
	PUTF "flags"
	PUT "rbx", %rbx
	PUT "mem", mem+8(%rip)
	movw $0x8000, %bx
	xaddw %bx, mem+8(%rip)
	PUTF "flags"
	PUT "rbx", %rbx
	movb $0xff, %bl
	lock xaddb %bl, mem+9(%rip)
	PUTF "flags"
	PUT "rbx", %rbx
	PUT "mem", mem+8(%rip)
	movq $3, %rax
	movq $4, %rbx
	xaddq %rax, %rbx
	PUT "xadd reg rax", %rax
	PUT "xadd reg rbx", %rbx

	PUTS "xchg"
	movq $-2, %rax
	xchgq %rax, mem(%rip)
	PUT "rax", %rax
	PUT "mem", mem(%rip)
	movq $0x1111, %rcx
	movq $-1, %rdx
	xchgl %ecx, %edx
	PUT "rcx", %rcx
	PUT "rdx", %rdx
	xchgb %cl, %dh
	PUT "rcx", %rcx
	PUT "rdx", %rdx
	xchgw %ax, %cx
	PUT "rax", %rax
	PUT "rcx", %rcx

	PUTS "lock arithmetic on memory"
	movq $0x7ffffffffffffffe, %rax
	movq %rax, mem(%rip)
	lock incq mem(%rip)
	PUTF "inc"
	lock incq mem(%rip)
	PUTF "inc overflow"
	lock decq mem(%rip)
	PUTF "dec"
	lock addq $-1, mem(%rip)
	PUTF "add"
	lock subl $0x7ffffffd, mem(%rip)
	PUTF "sub32"
	lock andw $0xff00, mem(%rip)
	PUTF "and16", $FL_LOGIC
	lock orb $0x80, mem(%rip)
	PUTF "or8", $FL_LOGIC
	lock xorq $-1, mem(%rip)
	PUTF "xor", $FL_LOGIC
	lock negq mem(%rip)
	PUTF "neg"
	lock notl mem(%rip)
	PUT "mem", mem(%rip)
	movq $0, mem(%rip)
	lock negq mem(%rip)
	PUTF "neg 0"

	PUTS "lock bts/btr/btc (CF = old bit)"
	movq $0, mem(%rip)
	lock btsq $63, mem(%rip)
	PUTF "bts 63", $FL_CF
	lock btsq $63, mem(%rip)
	PUTF "bts 63 again", $FL_CF
	movq $70, %rcx                  /* register bit offset reaches the next qword */
	lock btsq %rcx, mem(%rip)
	PUTF "bts 70", $FL_CF
	PUT "mem+8", mem+8(%rip)
	lock btrq $63, mem(%rip)
	PUTF "btr 63", $FL_CF
	lock btcl $5, mem(%rip)
	PUTF "btc 5", $FL_CF
	PUT "mem", mem(%rip)

	PUTS "cmpxchg8b / cmpxchg16b"
	movl pair(%rip), %eax
	movl pair+4(%rip), %edx
	movl $0xaaaaaaaa, %ebx
	movl $0xbbbbbbbb, %ecx
	lock cmpxchg8b pair(%rip)
	PUTF "flags", $FL_ZF
	PUT "pair", pair(%rip)
	movq $-1, %rax
	movq $-1, %rdx
	lock cmpxchg8b pair(%rip)
	PUTF "flags", $FL_ZF
	PUT "rax", %rax
	PUT "rdx", %rdx
	movq pair(%rip), %rax
	movq pair+8(%rip), %rdx
	movabsq $0x0123456789abcdef, %rbx
	movabsq $0xfedcba9876543210, %rcx
	lock cmpxchg16b pair(%rip)
	PUTF "flags", $FL_ZF
	PUT "pair lo", pair(%rip)
	PUT "pair hi", pair+8(%rip)
	xorl %eax, %eax
	xorl %edx, %edx
	lock cmpxchg16b pair(%rip)
	PUTF "flags", $FL_ZF
	PUT "rax", %rax
	PUT "rdx", %rdx
	ret
