/*
 * Runs one test snippet with the whole register file taken from isa_in and
 * stores the whole register file after it into isa_out.  The snippet is
 * the instruction under test followed by `jmp isa_done`.  Everything here
 * addresses memory rip-relative, so no register is reserved.  A signal in
 * the snippet is caught by harness.c, which records the state and resumes
 * at isa_resume, which also puts back the segment registers (and the FS
 * and GS bases) a snippet may have loaded.  A batch that defines isa_avx
 * nonzero (the AVX batches) also loads and stores bits 255:128 of
 * ymm0-15; the others run no AVX instruction, so they run on CPUs and CPU
 * models without it.
 * Invariant: offsets match struct isa_state in isa.h.
 */
	.text
	.globl isa_run
isa_run:                        /* void isa_run(void *snippet) */
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, isa_saved_rsp(%rip)
	mov %rdi, isa_target(%rip)
	mov %es, isa_saved_seg+0(%rip)
	mov %ss, isa_saved_seg+2(%rip)
	mov %ds, isa_saved_seg+4(%rip)
	ldmxcsr isa_in+136(%rip)
	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu isa_in+144+16*\i(%rip), %xmm\i
	.endr
	cmpb $0, isa_avx(%rip)
	je 1f
	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vinsertf128 $1, isa_in+480+16*\i(%rip), %ymm\i, %ymm\i
	.endr
1:
	pushq isa_in+128(%rip)
	popfq
	mov isa_in+0(%rip), %rax
	mov isa_in+8(%rip), %rcx
	mov isa_in+16(%rip), %rdx
	mov isa_in+24(%rip), %rbx
	mov isa_in+32(%rip), %rsp
	mov isa_in+40(%rip), %rbp
	mov isa_in+48(%rip), %rsi
	mov isa_in+56(%rip), %rdi
	mov isa_in+64(%rip), %r8
	mov isa_in+72(%rip), %r9
	mov isa_in+80(%rip), %r10
	mov isa_in+88(%rip), %r11
	mov isa_in+96(%rip), %r12
	mov isa_in+104(%rip), %r13
	mov isa_in+112(%rip), %r14
	mov isa_in+120(%rip), %r15
	jmp *isa_target(%rip)

	.globl isa_done
isa_done:
	mov %rax, isa_out+0(%rip)
	mov %rcx, isa_out+8(%rip)
	mov %rdx, isa_out+16(%rip)
	mov %rbx, isa_out+24(%rip)
	mov %rsp, isa_out+32(%rip)
	mov %rbp, isa_out+40(%rip)
	mov %rsi, isa_out+48(%rip)
	mov %rdi, isa_out+56(%rip)
	mov %r8, isa_out+64(%rip)
	mov %r9, isa_out+72(%rip)
	mov %r10, isa_out+80(%rip)
	mov %r11, isa_out+88(%rip)
	mov %r12, isa_out+96(%rip)
	mov %r13, isa_out+104(%rip)
	mov %r14, isa_out+112(%rip)
	mov %r15, isa_out+120(%rip)
	lea isa_tmpstack+256(%rip), %rsp
	pushfq
	popq isa_out+128(%rip)
	cld
	stmxcsr isa_out+136(%rip)
	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu %xmm\i, isa_out+144+16*\i(%rip)
	.endr
	cmpb $0, isa_avx(%rip)
	je 1f
	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vextractf128 $1, %ymm\i, isa_out+480+16*\i(%rip)
	.endr
	vzeroupper
1:
	.globl isa_resume
isa_resume:
	mov isa_saved_rsp(%rip), %rsp
	/* A snippet may have loaded segment registers (mov/pop Sreg): back
	 * to the C code's.  FS is its TLS: arch_prctl sets the base and the
	 * null selector; GS likewise (its selector and base start null). */
	mov isa_saved_seg+0(%rip), %es
	mov isa_saved_seg+2(%rip), %ss
	mov isa_saved_seg+4(%rip), %ds
	mov $158, %eax                  /* arch_prctl(ARCH_SET_FS, isa_fs_base) */
	mov $0x1002, %edi
	mov isa_fs_base(%rip), %rsi
	syscall
	mov $158, %eax                  /* arch_prctl(ARCH_SET_GS, isa_gs_base) */
	mov $0x1001, %edi
	mov isa_gs_base(%rip), %rsi
	syscall
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

	.bss
	.align 64
	.globl isa_in, isa_out, isa_mem
isa_in:	.skip 736
	.align 64
isa_out: .skip 736
	.align 64
isa_mem: .skip 64
isa_saved_rsp: .skip 8
isa_target: .skip 8
isa_saved_seg: .skip 8          /* es, ss, ds at isa_run */
	.globl isa_fs_base, isa_gs_base /* harness.c reads them at start */
isa_fs_base: .skip 8
isa_gs_base: .skip 8
	.align 16
isa_tmpstack: .skip 256
	/* for save/restore forms (fnsave, fxsave) larger than the window */
	.align 64
	.globl isa_scratch
isa_scratch: .skip 512
	.section .note.GNU-stack,"",@progbits
