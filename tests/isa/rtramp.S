/*
 * Runs one random stream with the whole register file taken from rnd_in.
 * Every stream ends in ud2, so it always leaves through a signal: rharness.c's
 * handler records the state from the signal frame and resumes at
 * rnd_resume, which puts back the harness's stack, segment registers, FS
 * and GS bases and a clean x87/SSE state.  Everything here addresses
 * memory rip-relative, so no register is reserved.
 * Invariant: offsets match struct rnd_state in random.h.
 */
	.text
	.globl rnd_run
rnd_run:                        /* void rnd_run(void *stream) */
	push %rbx
	push %rbp
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, rnd_saved_rsp(%rip)
	mov %rdi, rnd_target(%rip)
	mov %es, rnd_saved_seg+0(%rip)
	mov %ss, rnd_saved_seg+2(%rip)
	mov %ds, rnd_saved_seg+4(%rip)
	/* x87: every physical register gets a known value (the MMX seeds),
	 * then emms leaves the stack empty with TOP 0 and the default
	 * control word from fninit. */
	fninit
	.irp i,0,1,2,3,4,5,6,7
	movq rnd_in+656+8*\i(%rip), %mm\i
	.endr
	emms
	ldmxcsr rnd_in+136(%rip)
	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	movdqu rnd_in+144+16*\i(%rip), %xmm\i
	.endr
	cmpb $0, rnd_avx(%rip)
	je 1f
	.irp i,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
	vinsertf128 $1, rnd_in+400+16*\i(%rip), %ymm\i, %ymm\i
	.endr
1:
	pushq rnd_in+128(%rip)
	popfq
	mov rnd_in+0(%rip), %rax
	mov rnd_in+8(%rip), %rcx
	mov rnd_in+16(%rip), %rdx
	mov rnd_in+24(%rip), %rbx
	mov rnd_in+32(%rip), %rsp
	mov rnd_in+40(%rip), %rbp
	mov rnd_in+48(%rip), %rsi
	mov rnd_in+56(%rip), %rdi
	mov rnd_in+64(%rip), %r8
	mov rnd_in+72(%rip), %r9
	mov rnd_in+80(%rip), %r10
	mov rnd_in+88(%rip), %r11
	mov rnd_in+96(%rip), %r12
	mov rnd_in+104(%rip), %r13
	mov rnd_in+112(%rip), %r14
	mov rnd_in+120(%rip), %r15
	jmp *rnd_target(%rip)

	.globl rnd_resume
rnd_resume:
	mov rnd_saved_rsp(%rip), %rsp
	mov rnd_saved_seg+0(%rip), %es
	mov rnd_saved_seg+2(%rip), %ss
	mov rnd_saved_seg+4(%rip), %ds
	/* FS is the C code's TLS: arch_prctl puts its base back (and the
	 * null selector); GS likewise. */
	mov $158, %eax                  /* arch_prctl(ARCH_SET_FS, rnd_fs_base) */
	mov $0x1002, %edi
	mov rnd_fs_base(%rip), %rsi
	syscall
	mov $158, %eax                  /* arch_prctl(ARCH_SET_GS, rnd_gs_base) */
	mov $0x1001, %edi
	mov rnd_gs_base(%rip), %rsi
	syscall
	fninit
	ldmxcsr rnd_mxcsr_default(%rip)
	cmpb $0, rnd_avx(%rip)
	je 1f
	vzeroupper
1:
	cld
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbp
	pop %rbx
	ret

	.section .rodata
rnd_mxcsr_default: .long 0x1f80

	.bss
	.align 64
	.globl rnd_in, rnd_avx, rnd_fs_base, rnd_gs_base
rnd_in:	.skip 720
rnd_saved_rsp: .skip 8
rnd_target: .skip 8
rnd_saved_seg: .skip 8          /* es, ss, ds at rnd_run */
rnd_fs_base: .skip 8            /* what rnd_resume puts back */
rnd_gs_base: .skip 8
rnd_avx: .skip 1
	.section .note.GNU-stack,"",@progbits
