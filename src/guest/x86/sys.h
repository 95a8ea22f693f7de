/*
 * The x86-64 CPU in system mode: the state a kernel sees (control and debug
 * registers, MSRs, segment registers with their hidden parts, descriptor
 * tables, CPL), the table of services the CPU needs from its environment
 * (port I/O, the TLB, the local APIC, the TSC, guest virtual memory), and
 * the entry points the machine loop calls (event delivery, interrupts).
 *
 * A struct cpu runs in system mode when cpu->sys points at one of these; in
 * user mode it is NULL and nothing here is reached.  The machine (in
 * src/system/) fills struct x86_sys_env: guest/ never includes system/.
 *
 * Invariant: cpu->sys->cpl always equals the DPL of the loaded CS (RPL of
 * its selector), and guest_tb_mode(cpu) is derived from it, so a TB
 * translated for CPL0 never runs at CPL3.  Code that changes CS, CR0, CR4
 * or EFER must end the TB (helpers do: the lifter exits unchained).
 */
#ifndef LOOM_GUEST_X86_SYS_H
#define LOOM_GUEST_X86_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "exec/tlb.h"
#include "guest/x86/cpu.h"
#include "guest/x86/walk.h"

/* The NMI's vector (enum x86_vector lists what instructions raise). */
#define X86_EXC_NMI 2

/* How an event reached the CPU: it decides the gate DPL check (software
 * interrupts only), the return address (traps and software interrupts:
 * after the instruction) and the EXT bit of error codes. */
enum x86_event_kind {
	X86_EV_EXCEPTION,	/* a fault: rip is the faulting instruction's */
	X86_EV_TRAP,		/* int1, a #DB trap: rip is past the instruction */
	X86_EV_SOFT_INT,	/* int n, int3, into: rip past it, gate DPL checked */
	X86_EV_EXTERNAL,	/* an interrupt from the APIC/PIC, between instructions */
};

/* An event to deliver, as delivery needs it described; also a fault the
 * CPU's own accesses met (x86_sys_vread...).  The exec layer's form of an
 * exception is struct guest_exception (x86_sys_raise converts). */
struct x86_event {
	int vector;
	bool has_err;
	uint32_t err;
	uint64_t cr2;		/* #PF only */
	enum x86_event_kind kind;
	uint8_t insn_len;	/* X86_EV_TRAP, X86_EV_SOFT_INT: rip advances by it */
};

/* A segment register: the selector and the descriptor cache loaded with
 * it.  attr holds descriptor bits 40-47 (type, S, DPL, P) in bits 0-7 and
 * bits 52-55 (AVL, L, D/B, G) in bits 12-15, as QEMU's "flags" >> 8. */
struct x86_seg {
	uint16_t sel;
	uint16_t attr;
	uint32_t limit;		/* byte-granular (G applied) */
	uint64_t base;
};
#define SEG_ATTR_TYPE 0x000f
#define SEG_ATTR_S 0x0010	/* code/data, not system */
#define SEG_ATTR_DPL_SHIFT 5
#define SEG_ATTR_P 0x0080
#define SEG_ATTR_L 0x2000
#define SEG_ATTR_DB 0x4000
#define SEG_ATTR_G 0x8000
#define SEG_TYPE_CODE 0x8	/* within TYPE, for S=1 */
#define SEG_TYPE_CONFORMING 0x4
#define SEG_TYPE_RW 0x2		/* readable code / writable data */
#define SEG_TYPE_ACCESSED 0x1
/* System descriptor types (S=0) in long mode. */
#define SYS_TYPE_LDT 0x2
#define SYS_TYPE_TSS_AVAIL 0x9
#define SYS_TYPE_TSS_BUSY 0xb
#define SYS_TYPE_INT_GATE 0xe
#define SYS_TYPE_TRAP_GATE 0xf

/* Indexes of struct x86_sys.seg: the six of enum x86_sreg, then LDTR, TR. */
enum { SEG_LDTR = 6, SEG_TR = 7, SEG_NB = 8 };

/* Control register and EFER bits. */
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_VME (1ull << 0)
#define CR4_PVI (1ull << 1)
#define CR4_TSD (1ull << 2)
#define CR4_DE (1ull << 3)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_MCE (1ull << 6)
#define CR4_PGE (1ull << 7)
#define CR4_PCE (1ull << 8)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_UMIP (1ull << 11)
#define CR4_LA57 (1ull << 12)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_PCIDE (1ull << 17)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* The MSRs of the model (sys-cpu.c's table lists what each does). */
#define MSR_TSC 0x10
#define MSR_PLATFORM_ID 0x17
#define MSR_APIC_BASE 0x1b
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_TSC_ADJUST 0x3b
#define MSR_SPEC_CTRL 0x48
#define MSR_PRED_CMD 0x49
#define MSR_BIOS_SIGN_ID 0x8b
#define MSR_MTRRCAP 0xfe
#define MSR_ARCH_CAPABILITIES 0x10a
/* ARCH_CAPABILITIES of the model: not affected by Meltdown (RDCL_NO, bit
 * 0), speculative store bypass (4), MDS (5), the page-size-change machine
 * check (6), TSX async abort (8), MMIO stale data (13-15), branch history
 * injection (20), post-barrier RSB prediction (24), gather data sampling
 * (26), register file data sampling (27), indirect target selection (62,
 * the bit a hypervisor reports).  No eIBRS (1) and no TSX_CTRL (7): their
 * MSRs are not in the model. */
#define X86_ARCH_CAP_MODEL ((1ull << 0) | (1ull << 4) | (1ull << 5) | (1ull << 6) | (1ull << 8) | \
			    (1ull << 13) | (1ull << 14) | (1ull << 15) | (1ull << 20) | (1ull << 24) | \
			    (1ull << 26) | (1ull << 27) | (1ull << 62))
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MISC_ENABLE 0x1a0
#define MSR_MTRR_PHYSBASE0 0x200	/* base/mask pairs up to 0x20f */
#define MSR_MTRR_FIX64K 0x250
#define MSR_MTRR_FIX16K_80000 0x258
#define MSR_MTRR_FIX16K_A0000 0x259
#define MSR_MTRR_FIX4K_C0000 0x268	/* to 0x26f */
#define MSR_PAT 0x277
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103
#define MSR_TSC_DEADLINE 0x6e0	/* the local APIC's (x86_sys_env.msr_read) */
#define X86_MTRR_VAR 8		/* variable-range MTRRs the model has */

/* What the TLB must forget (x86_sys_env.tlb_flush). */
enum sys_tlb_flush {
	SYS_TLB_FLUSH_ALL,		/* CR0.PG/WP, CR4 paging bits: global pages too */
	SYS_TLB_FLUSH_NONGLOBAL,	/* a CR3 write: global pages stay */
	SYS_TLB_FLUSH_PAGE,		/* invlpg addr */
};

/*
 * The services the CPU asks of the machine.  The environment fills one
 * table and points every vCPU's x86_sys at it; a NULL member falls back to
 * the behaviour documented on it.
 */
struct x86_sys_env {
	/* Read or write len bytes of guest virtual memory at va as an access at
	 * cpl would (paging, U/S, R/W, NX).  0, or -1 with *fault filled (the
	 * #PF with its error code and CR2, or #GP for a non-canonical va). */
	int (*mem_read)(struct cpu *cpu, uint64_t va, void *buf, size_t len, int cpl,
			struct x86_event *fault);
	int (*mem_write)(struct cpu *cpu, uint64_t va, const void *buf, size_t len, int cpl,
			 struct x86_event *fault);
	/* Port I/O of size 1, 2 or 4 bytes (the bus; NULL: reads all ones). */
	uint32_t (*io_read)(struct cpu *cpu, uint16_t port, int size);
	void (*io_write)(struct cpu *cpu, uint16_t port, int size, uint32_t value);
	/* The soft MMU forgets translations (NULL: nothing cached). */
	void (*tlb_flush)(struct cpu *cpu, enum sys_tlb_flush kind, uint64_t addr);
	/* Guest-physical memory for the page walker (sys-mmu.c: the soft TLB's
	 * walks, fetch faults, x86_sys_translate; NULL: every walk is #GP). */
	const struct x86_walk_mem *phys;
	/* MSRs a device owns: the local APIC's IA32_APIC_BASE (0x1b) and
	 * IA32_TSC_DEADLINE (0x6e0, which CPUID's TSC-deadline bit promises;
	 * lapic_read_msr/lapic_write_msr).  msr_read: true if the device has
	 * msr; msr_write: 1 done, 0 refused (#GP), -1 not the device's.
	 * Without an answer APIC_BASE reads 0xfee00900 (BSP, enabled) and
	 * keeps that value; any other MSR the model lacks is #GP. */
	bool (*msr_read)(struct cpu *cpu, uint32_t msr, uint64_t *value);
	int (*msr_write)(struct cpu *cpu, uint32_t msr, uint64_t value);
	/* CR8 is the APIC's TPR[7:4] (NULL: kept in x86_sys.cr8). */
	uint64_t (*tpr_read)(struct cpu *cpu);
	void (*tpr_write)(struct cpu *cpu, uint64_t cr8);
	/* CR3 was written (after the TLB flush); NULL: nobody asks.  Guest
	 * introspection learns of address-space switches here. */
	void (*cr3_write)(struct cpu *cpu, uint64_t cr3);
	/* The TSC.  With tsc_write the environment owns it whole (the local
	 * APIC's, whose deadline timer compares with it: lapic_tsc and
	 * lapic_set_tsc_offset): tsc_read is what rdtsc returns, tsc_write
	 * what a write of IA32_TSC sets.  Without, x86_sys keeps IA32_TSC's
	 * offset over tsc_read (NULL: the host's TSC).  tsc_hz and crystal_hz
	 * are what CPUID leaves 0x15/0x16 report (tsc_hz 0: nothing, the
	 * kernel calibrates; crystal_hz 0: the TSC's); Linux also takes the
	 * APIC timer's rate from the crystal (system/pc.h: PC_TSC_HZ,
	 * PC_CRYSTAL_HZ). */
	uint64_t (*tsc_read)(struct cpu *cpu);
	void (*tsc_write)(struct cpu *cpu, uint64_t value);
	uint64_t tsc_hz, crystal_hz;
	/* Whether an external interrupt waits (NULL: assume one may): when
	 * sti, popf or iret set IF, the vCPU leaves the exec loop for the
	 * machine to deliver it only if so. */
	bool (*interrupt_pending)(struct cpu *cpu);
};

/* Why a vCPU left the exec loop for the machine (x86_sys.stop). */
enum x86_sys_stop {
	X86_STOP_NONE,
	X86_STOP_HALT,		/* hlt: sleep until an interrupt (rip is past the hlt) */
	X86_STOP_SHUTDOWN,	/* triple fault: the machine resets */
};

struct x86_sys {
	const struct x86_sys_env *env;
	void *opaque;			/* the environment's, per vCPU */

	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer, xcr0;
	uint64_t dr[8];			/* DR0-3, DR6, DR7 (4 and 5 unused) */
	struct x86_seg seg[SEG_NB];	/* FS/GS base: cpu->fs_base/gs_base hold it */
	struct { uint64_t base; uint16_t limit; } gdtr, idtr;
	int cpl;

	uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t tsc_offset, tsc_adjust, tsc_aux;
	uint64_t pat, misc_enable, spec_ctrl;
	uint64_t mtrr_def_type, mtrr_fix[11], mtrr_var[2 * X86_MTRR_VAR];

	/* sti's interrupt shadow: interrupts wait while rip equals it. */
	uint64_t sti_shadow_rip;
	bool sti_shadow;
	/* An NMI's handler runs until its iret: NMIs wait meanwhile. */
	bool nmi_blocked;
	enum x86_sys_stop stop;
};

/* Translation mode bits (within CF_GUEST_MASK of exec.h): part of the TB
 * key, chosen by guest_tb_mode from the state.  Bits 9-10 are the soft
 * TLB's MMU index (walk.h's x86_mmu_index of CPL, RFLAGS.AC and CR4), so
 * that the backend's lowering takes it from the flags as they are:
 * tlb_install_lowering(X86_CF_MMU_SHIFT, X86_CF_MMU_MASK). */
#define X86_CF_SYSTEM (1u << 8)
#define X86_CF_MMU_SHIFT 9
#define X86_CF_MMU_MASK 3u
#define X86_CF_CPL3 (1u << 11)		/* CPL 3 (1 and 2 too: not CPL 0) */
#define X86_CF_COMPAT (1u << 12)	/* a 32-bit code segment in long mode */
/* Alignment checking is on: CPL 3 with CR0.AM and RFLAGS.AC (user mode:
 * RFLAGS.AC alone, as Linux runs user code with CR0.AM set).  The TB's
 * data accesses carry the #AC check (translate.c's gen_ac_check), so
 * code running with AC clear pays nothing for it. */
#define X86_CF_ALIGN (1u << 13)
uint32_t x86_sys_tb_mode(struct cpu *cpu);
/* The MMU index the vCPU's accesses use now (the TLB's cur_mmu). */
static inline unsigned x86_sys_mmu_index(uint32_t tb_mode)
{
	return tb_mode >> X86_CF_MMU_SHIFT & X86_CF_MMU_MASK;
}

/* Reset values (power-on, as the SDM's table of the processor state after
 * RESET, then the 64-bit state a direct kernel boot sets up is the boot
 * loader's job). */
void x86_sys_reset(struct cpu *cpu);

/* Control registers, debug registers, MSRs: false means #GP(0) (the caller
 * raises it).  The writers end nothing themselves: the lifter ends the TB. */
bool x86_sys_read_cr(struct cpu *cpu, int n, uint64_t *v);
bool x86_sys_write_cr(struct cpu *cpu, int n, uint64_t v);
bool x86_sys_read_dr(struct cpu *cpu, int n, uint64_t *v);
bool x86_sys_write_dr(struct cpu *cpu, int n, uint64_t v);
bool x86_sys_rdmsr(struct cpu *cpu, uint32_t msr, uint64_t *v);
bool x86_sys_wrmsr(struct cpu *cpu, uint32_t msr, uint64_t v);
uint64_t x86_sys_tsc(struct cpu *cpu);

/* The full RFLAGS and its system bits (IF, IOPL, NT, VM...): x86_set_rflags
 * changes only the bits user mode may. */
uint64_t x86_sys_get_rflags(struct cpu *cpu);
void x86_sys_set_rflags(struct cpu *cpu, uint64_t rflags);

/* Load a segment register from a selector as mov/pop/lss and far
 * transfers do (descriptor read, checks, accessed bit).  0, or -1 with
 * *fault filled (#GP/#NP/#SS/#PF).  Also x86_sys_load_seg_cache: set the
 * cache directly (reset, syscall, sysret). */
int x86_sys_load_seg(struct cpu *cpu, int sreg, uint16_t sel, struct x86_event *fault);
void x86_sys_set_seg(struct cpu *cpu, int sreg, uint16_t sel, uint64_t base, uint32_t limit,
		     uint16_t attr);
int x86_sys_lldt(struct cpu *cpu, uint16_t sel, struct x86_event *fault);
int x86_sys_ltr(struct cpu *cpu, uint16_t sel, struct x86_event *fault);

/* syscall and sysret (size 2: 32-bit return to compatibility mode, 3:
 * 64-bit): 0, or -1 with *fault filled. */
int x86_sys_syscall(struct cpu *cpu, uint64_t next_rip, struct x86_event *fault);
int x86_sys_sysret(struct cpu *cpu, int size, struct x86_event *fault);
/* iret of operand size 1 << size bytes in long mode. */
int x86_sys_iret(struct cpu *cpu, int size, struct x86_event *fault);

/*
 * Event delivery (sys-excp.c).  x86_sys_deliver delivers ev through the
 * long-mode IDT, escalating a fault during delivery to #DF and a fault
 * while delivering #DF to a triple fault (returns false: x86_sys.stop is
 * X86_STOP_SHUTDOWN).  rip is the instruction's (faults) or the
 * instruction's start plus ev->insn_len (traps, software interrupts).
 */
bool x86_sys_deliver(struct cpu *cpu, const struct x86_event *ev);
/* The exception exec_run returned EXEC_FAULT with (cpu->x.exc): the
 * frontend's, a helper's, the soft MMU's. */
bool x86_sys_deliver_pending(struct cpu *cpu);
/* Whether an external interrupt may be taken now (IF=1, no sti shadow). */
bool x86_sys_interrupts_enabled(struct cpu *cpu);
/* Take external interrupt vector, between TBs (the machine loop calls it
 * when x86_sys_interrupts_enabled and the APIC/PIC has one); wakes hlt. */
bool x86_take_interrupt(struct cpu *cpu, int vector);
/* An NMI (lapic_nmi_pending), whatever IF says: false if NMIs are blocked
 * (an NMI handler has not returned with iret yet): it stays pending. */
bool x86_take_nmi(struct cpu *cpu);
/* Leave translated code with ev as the exception (exec_raise). */
_Noreturn void x86_sys_raise(struct cpu *cpu, const struct x86_event *ev);

/* The state in the layout of qemu-system's register dump (`info
 * registers`, -d cpu): general registers, RIP and RFLAGS with CPL, the
 * segment caches, GDT/IDT, control and debug registers, EFER. */
void x86_sys_dump_state(struct cpu *cpu, FILE *f);
/* Set by the front door for `-d int`: every event delivered is logged as
 * qemu-system's -d int logs it (a line with vector, error code, software
 * or not, CPL, CS:RIP, SS:RSP, CR2 for #PF; then the register dump). */
extern bool x86_sys_log_int;

/* The CPU's own accesses to guest virtual memory through the
 * environment (non-canonical: #GP(0)): 0, or -1 with *f filled. */
int x86_sys_vread(struct cpu *cpu, uint64_t va, void *buf, size_t len, int cpl,
		  struct x86_event *f);
int x86_sys_vwrite(struct cpu *cpu, uint64_t va, const void *buf, size_t len, int cpl,
		   struct x86_event *f);
/*
 * The soft MMU's x86 side (sys-mmu.c).  x86_sys_translate: the physical
 * address of va for an access (enum x86_access) at cpl under the current
 * paging state: 0, or -1 with *f the #PF (CR2 = va) or #GP(0) for a
 * non-canonical va; debug: set no accessed/dirty bit (tools, the monitor).
 * x86_sys_tlb_translate and x86_sys_tlb_raise are struct tlb_ops's
 * translate and raise for the vCPU (exec/tlb.h).  x86_sys_fetch_fault: the
 * exception of an instruction at addr that cannot be fetched whole.
 */
struct guest_exception;
struct tlb_fill;
int x86_sys_translate(struct cpu *cpu, uint64_t va, int access, int cpl, bool debug,
		      uint64_t *pa, struct x86_event *f);
uint32_t x86_sys_tlb_translate(void *cpu, uint64_t va, enum tlb_access acc, int mmu,
			       struct tlb_fill *fill);
void x86_sys_tlb_raise(void *cpu, uint64_t va, enum tlb_access acc, uint32_t fault);
void x86_sys_fetch_fault(struct cpu *cpu, uint64_t addr, struct guest_exception *e);

/* The 8-byte (wide: 16-byte system) descriptor of sel from the GDT or LDT. */
int x86_sys_read_desc(struct cpu *cpu, uint16_t sel, uint64_t d[2], bool wide,
		      struct x86_event *f);
/* mov to/from DR4/DR5 is #UD when CR4.DE is set. */
bool x86_sys_dr_ud(struct cpu *cpu, int n);

/* The system CPUID model (cpuid.c): leaf/sub as the CPU in cpu's state
 * (CR4.OSXSAVE, XCR0) reports them. */
void x86_sys_cpuid(struct cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t r[4]);
/* MAXPHYADDR of the model (CPUID 0x80000008). */
#define X86_PHYS_BITS 40

#endif
