; The bare-metal test image's real-mode part: a boot sector and one setup
; sector carrying a Linux boot protocol 2.15 setup header, so that both
; qemu-system-x86_64 -kernel (through its BIOS, which runs this setup code)
; and loom-system -kernel (which uses the protocol's 64-bit entry and never
; runs it) load the image like a bzImage.  kernel.asm is the protected-mode
; part, assembled separately for 0x100000 and appended (Makefile).
;
; The setup code runs in real mode at CS:0 = file offset 0x200 (the loader
; jumps to the setup segment + 0x20).  It enables A20, loads the kernel
; part's GDT (at a fixed place: kernel.asm asserts it) and jumps to the
; protected-mode entry at code32_start.
;
; Header field offsets: the Linux boot protocol (Documentation/arch/x86/boot.rst).

bits 16
org 0

SETUP_SECTS	equ 1			; setup = boot sector + 1 sector
KERNEL_SIZE	equ 0x10000		; kernel.asm pads itself to this
KERNEL_BASE	equ 0x100000
KERNEL_GDT	equ KERNEL_BASE + 0x10	; kernel.asm's gdt
KERNEL_GDT_LIMIT equ 0x47

	times 0x1f1 - ($ - $$) db 0
	db SETUP_SECTS			; 0x1f1 setup_sects
	dw 0				; 0x1f2 root_flags
	dd KERNEL_SIZE / 16		; 0x1f4 syssize
	dw 0				; 0x1f8 ram_size
	dw 0xffff			; 0x1fa vid_mode: normal
	dw 0				; 0x1fc root_dev
	dw 0xaa55			; 0x1fe boot_flag
	jmp short setup_start		; 0x200: also gives the header's end
	db "HdrS"			; 0x202 header
	dw 0x020f			; 0x206 version 2.15
	dd 0				; 0x208 realmode_swtch
	dw 0x1000			; 0x20c start_sys_seg
	dw 0				; 0x20e kernel_version
	db 0				; 0x210 type_of_loader
	db 0x01				; 0x211 loadflags: LOADED_HIGH
	dw 0				; 0x212 setup_move_size
	dd KERNEL_BASE			; 0x214 code32_start
	dd 0				; 0x218 ramdisk_image
	dd 0				; 0x21c ramdisk_size
	dd 0				; 0x220 bootsect_kludge
	dw 0				; 0x224 heap_end_ptr
	db 0				; 0x226 ext_loader_ver
	db 0				; 0x227 ext_loader_type
	dd 0				; 0x228 cmd_line_ptr
	dd 0x7fffffff			; 0x22c initrd_addr_max
	dd 0x200000			; 0x230 kernel_alignment
	db 0				; 0x234 relocatable_kernel: no, it runs at 0x100000
	db 0				; 0x235 min_alignment
	dw 0x0001			; 0x236 xloadflags: XLF_KERNEL_64
	dd 255				; 0x238 cmdline_size
	dd 0				; 0x23c hardware_subarch
	dq 0				; 0x240 hardware_subarch_data
	dd 0				; 0x248 payload_offset
	dd 0				; 0x24c payload_length
	dq 0				; 0x250 setup_data
	dq KERNEL_BASE			; 0x258 pref_address
	dd 0x100000			; 0x260 init_size: the image, its tables and stacks
	dd 0				; 0x264 handover_offset
	dd 0				; 0x268 kernel_info_offset

	; The header is exactly 0x26c - 0x1f1 bytes: either count going
	; negative is an assembly error.
	times 0x26c - ($ - $$) db 0
	times ($ - $$) - 0x26c db 0
setup_start:
	cli
	cld
	in al, 0x92			; fast A20: the GDT is above 1 MiB
	or al, 2
	and al, 0xfe			; bit 0 would reset the machine
	out 0x92, al
	mov ax, cs
	mov ds, ax
	o32 lgdt [gdt_desc - 0x200]	; CS:0 is file offset 0x200
	mov eax, cr0
	or al, 1			; PE
	mov cr0, eax
	jmp dword 0x08:KERNEL_BASE	; the kernel's 32-bit entry

	align 4
gdt_desc:
	dw KERNEL_GDT_LIMIT
	dd KERNEL_GDT

	times (SETUP_SECTS + 1) * 512 - ($ - $$) db 0
