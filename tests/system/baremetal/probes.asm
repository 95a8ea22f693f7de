; Checks whose accesses tests/system/instrument.sh also watches through a
; plugin (tests/plugins/syshw.c), included by kernel.asm: the plugin's view
; of the same accesses must agree with what this image's page tables and the
; local APIC say.  Each check is the SDM's too, so it runs under the peer.
;
;   ALIAS_VA   0x1a4000 mapped to ALIAS_PA 0x1a6000 (a different physical
;              page): a store through the alias is seen at ALIAS_PA
;              (+ALIAS_OFF) and a load through it reads it back.
;   APIC_VA    0x1a5000 mapped (uncached) to the local APIC at 0xfee00000:
;              its version register (0x30) reads an integrated APIC's
;              version, 0x10-0x15 (SDM vol. 3 §11.4.8).
;   hlt        the APIC timer, one-shot, vector TIMER_VEC, counts down
;              TIMER_COUNT bus ticks; `sti; hlt` sleeps until it fires and
;              its handler runs once (SDM vol. 3 §11.5.4).

ALIAS_VA	equ 0x1a4000
ALIAS_PA	equ 0x1a6000
ALIAS_OFF	equ 0x18
ALIAS_MAGIC	equ 0x5a5a1234abcd0042
APIC_VA		equ 0x1a5000
APIC_PA		equ 0xfee00000
APIC_ID		equ 0x20
APIC_VER	equ 0x30
APIC_EOI	equ 0xb0
APIC_SVR	equ 0xf0
APIC_LVT_TIMER	equ 0x320
APIC_TIMER_ICR	equ 0x380
APIC_TIMER_DCR	equ 0x3e0
TIMER_VEC	equ 0x50
TIMER_COUNT	equ 2000000		; 2 ms at QEMU's (and loom's) 1 GHz bus
; The handler's count lives outside the image: a store to a page holding
; translated code makes loom drop that code and run the store again, which
; a plugin sees as a second execution (docs/plugins.md), and the plugin
; tests compare counts across translation modes.
TIMER_FIRED	equ 0x1a7100
PTE_PWT		equ 1 << 3
PTE_PCD		equ 1 << 4

test_alias:
	mov rdi, ALIAS_VA
	xor esi, esi
	mov rdx, ALIAS_PA | PTE_P | PTE_W
	call set_pte
	mov qword [ALIAS_PA + ALIAS_OFF], 0
	mov rax, ALIAS_MAGIC
	mov [ALIAS_VA + ALIAS_OFF], rax
	mov rbx, [ALIAS_PA + ALIAS_OFF]
	CHECK "alias: a store through 0x1a4000 lands at 0x1a6000", rbx, ALIAS_MAGIC
	mov rbx, [ALIAS_VA + ALIAS_OFF]
	CHECK "alias: a load through 0x1a4000 reads 0x1a6000", rbx, ALIAS_MAGIC
	ret

test_apic_mmio:
	mov rdi, APIC_VA
	xor esi, esi
	mov rdx, APIC_PA | PTE_P | PTE_W | PTE_PCD | PTE_PWT
	call set_pte
	mov eax, [APIC_VA + APIC_VER]
	and eax, 0xf0
	CHECK "apic: version register of an integrated APIC (0x1x)", rax, 0x10
	ret

test_hlt_timer:
	mov edi, TIMER_VEC
	mov rsi, isr_timer
	xor edx, edx
	xor ecx, ecx
	call set_gate
	mov qword [TIMER_FIRED], 0
	mov dword [APIC_VA + APIC_SVR], 0x1ff	; software-enabled, spurious 0xff
	mov dword [APIC_VA + APIC_TIMER_DCR], 0xb	; divide by 1
	mov dword [APIC_VA + APIC_LVT_TIMER], TIMER_VEC	; one-shot, unmasked
	mov dword [APIC_VA + APIC_TIMER_ICR], TIMER_COUNT
	sti
	hlt
	cli
	mov dword [APIC_VA + APIC_LVT_TIMER], 1 << 16	; masked again
	CHECK "hlt: the APIC timer's interrupt woke the CPU once", [TIMER_FIRED], 1
	ret

isr_timer:
	inc qword [TIMER_FIRED]
	mov dword [APIC_VA + APIC_EOI], 0
	iretq
