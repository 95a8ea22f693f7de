/*
 * The guest of the conformance plugin (tests/plugins/conform.c).  The
 * plugin finds every label below in this file's ELF symbol table and acts
 * at them; what the program prints shows whether the plugin's writes took
 * effect.  Run natively it prints the "NOT" variants (nothing changes its
 * registers or memory), which is why its expected output under the plugin
 * is tests/plugins/conform.expected and not a native run.  No libc.
 *
 * It executes exactly 13 syscall instructions: 3 PRINTs before the filter
 * test, the filtered write and a PRINT, the second filtered write and a
 * PRINT, rt_sigaction, rt_sigreturn and a PRINT, nanosleep, getpid,
 * exit_group.
 */
#define SYS_write 1
#define SYS_rt_sigaction 13
#define SYS_rt_sigreturn 15
#define SYS_nanosleep 35
#define SYS_getpid 39
#define SYS_exit_group 231

/* write(1, text) keeping every register but rax (the result) and rcx/r11
 * (which syscall clobbers). */
.macro PRINT text:req
	pushq %rdi
	pushq %rsi
	pushq %rdx
	leaq .Lstr\@(%rip), %rsi
	movl $(.Lend\@ - .Lstr\@), %edx
	movl $1, %edi
	movl $SYS_write, %eax
	syscall
	popq %rdx
	popq %rsi
	popq %rdi
	.pushsection .rodata
.Lstr\@: .ascii "\text"
.Lend\@:
	.popsection
.endm

.macro FUNC name:req
	.globl \name
	.type \name, @function
\name:
.endm

.macro LABEL name:req
	.globl \name
\name:
.endm

	.text
FUNC _start
	call known_code
	call reg_test
	call mem_test
	call setpc_test
	call filter_test
	call filter_pc_test
	call cond_test
	call signal_test
	call sleep_test
	call getpid_test
	movl $SYS_exit_group, %eax
	xorl %edi, %edi
	syscall
	.size _start, . - _start

/* Bytes the plugin knows (its table must match these encodings). */
FUNC known_code
	movabsq $0x1122334455667788, %rax      /* 48 b8 88 77 66 55 44 33 22 11 */
	addq %rax, %rbx                        /* 48 01 c3 */
	nop                                    /* 90 */
	leaq 8(%rsp), %rcx                     /* 48 8d 4c 24 08 */
	xorl %eax, %eax                        /* 31 c0 */
	ret                                    /* c3 */
	.size known_code, . - known_code

/* At reg_probe the plugin reads rbx and writes 0x5a to r12. */
FUNC reg_test
	movabsq $0x0123456789abcdef, %rbx
	xorl %r12d, %r12d
LABEL reg_probe
	movq %r12, %rax
	cmpq $0x5a, %rax
	jne 1f
	PRINT "reg write seen\n"
	ret
1:	PRINT "reg write NOT seen\n"
	ret
	.size reg_test, . - reg_test

/* Memory callbacks check each access's address, size, kind and value; at
 * mem_write_probe the plugin reads mem_data and overwrites mem_target. */
FUNC mem_test
LABEL mp_load8
	movq mem_data(%rip), %rax
LABEL mp_load1s
	movsbl mem_neg(%rip), %ecx
LABEL mp_store2
	movw $0x1234, mem_w(%rip)
LABEL mp_load16
	movdqu mem_data(%rip), %xmm0
LABEL mem_write_probe
	movl $SYS_write, %eax
	movl $1, %edi
	leaq mem_target(%rip), %rsi
	movl $9, %edx
	syscall
	ret
	.size mem_test, . - mem_test

/* The plugin moves the pc from setpc_probe to setpc_dest. */
FUNC setpc_test
LABEL setpc_probe
	jmp 1f
LABEL setpc_dest
	PRINT "set_pc taken\n"
	ret
1:	PRINT "set_pc NOT taken\n"
	ret
	.size setpc_test, . - setpc_test

/* The plugin's syscall filter swallows this write and returns 4242. */
FUNC filter_test
	movl $SYS_write, %eax
	movl $1, %edi
	leaq filter_text(%rip), %rsi
	movl $10, %edx
	syscall
	cmpq $4242, %rax
	jne 1f
	PRINT "filter ok\n"
	ret
1:	PRINT "filter NOT ok\n"
	ret
	.size filter_test, . - filter_test

/* The filter swallows this write too and moves the pc to filter_dest. */
FUNC filter_pc_test
	movl $SYS_write, %eax
	movl $1, %edi
	leaq jump_text(%rip), %rsi
	movl $8, %edx
	syscall
	PRINT "filter set_pc NOT taken\n"
	ret
LABEL filter_dest
	PRINT "filter set_pc taken\n"
	ret
	.size filter_pc_test, . - filter_pc_test

/* A TB at cond_loop runs exactly 10 times, with rcx = 10, 9, ..., 1 at
 * its start. */
FUNC cond_test
	movl $10, %ecx
	xorl %eax, %eax
	jmp cond_loop
LABEL cond_loop
	addq $1, %rax
	decl %ecx
	jnz cond_loop
	ret
	.size cond_test, . - cond_test

/* One SIGILL at fault_insn; the handler skips the 2-byte ud2. */
FUNC signal_test
	movl $SYS_rt_sigaction, %eax
	movl $4, %edi                           /* SIGILL */
	leaq sigact(%rip), %rsi
	xorl %edx, %edx
	movl $8, %r10d
	syscall
	testq %rax, %rax
	jz 1f
	PRINT "rt_sigaction failed\n"
1:
LABEL fault_insn
	ud2
	PRINT "after fault\n"
	ret
	.size signal_test, . - signal_test

FUNC sig_handler
	addq $2, 168(%rdx)                      /* uc_mcontext.gregs[REG_RIP] */
	ret
	.size sig_handler, . - sig_handler

FUNC sig_restorer
	movl $SYS_rt_sigreturn, %eax
	syscall
	.size sig_restorer, . - sig_restorer

/* One short nanosleep: the vCPU goes idle once and resumes once. */
FUNC sleep_test
	movl $SYS_nanosleep, %eax
	leaq sleep_ts(%rip), %rdi
	xorl %esi, %esi
	syscall
LABEL sleep_done                                /* the plugin resets itself here */
	ret
	.size sleep_test, . - sleep_test

FUNC getpid_test
	movl $SYS_getpid, %eax
	syscall
	ret
	.size getpid_test, . - getpid_test

	.section .rodata
filter_text:
	.ascii "FILTER-ME\n"
jump_text:
	.ascii "JUMP-ME\n"
sleep_ts:
	.quad 0, 1000000                        /* 1 ms */

	.data
	.p2align 4
	.globl mem_data, mem_neg, mem_w, mem_target
mem_data:
	.ascii "conform-data-0123"
mem_neg:
	.byte 0x80
mem_w:
	.word 0
mem_target:
	.ascii "original\n"
	.p2align 3
sigact:
	.quad sig_handler
	.quad 0x04000004                        /* SA_RESTORER | SA_SIGINFO */
	.quad sig_restorer
	.quad 0                                 /* mask */
