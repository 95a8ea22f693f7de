/*
 * The local APIC of one vCPU, as an xAPIC of the Pentium 4 / Xeon kind
 * (version 0x14, six LVT entries, the value QEMU's default CPU reports):
 * its MMIO page at IA32_APIC_BASE (0xfee00000 after reset), the interrupt
 * request/in-service/trigger-mode bitmaps, task and processor priority, EOI
 * (broadcast to the I/O APIC for level-triggered vectors), the LVT, the
 * interrupt command register (IPIs to self; others are logged, as there
 * is one vCPU), the error status register and the timer in its one-shot,
 * periodic and TSC-deadline modes.  x2APIC is not reported: setting
 * IA32_APIC_BASE.EXTD is refused.
 *
 * Time: the timer counts at the APIC bus frequency LAPIC_BUS_HZ divided
 * by the divide configuration register; TSC-deadline mode compares with
 * the TSC, which is virtual time times PC_TSC_PER_NS plus the vCPU's TSC
 * offset (lapic_set_tsc_offset, for when the guest writes IA32_TSC).
 *
 * The CPU side (the vCPU loop and the system instructions) uses:
 *   - lapic_pending()        a maskable interrupt is ready (check with IF=1
 *                            at an instruction boundary), then
 *   - lapic_ack()            the INTA cycle: the vector to deliver;
 *   - lapic_nmi_pending() / lapic_ack_nmi()  NMI, not subject to IF;
 *   - lapic_read_msr() / lapic_write_msr()   IA32_APIC_BASE and
 *                            IA32_TSC_DEADLINE (false: raise #GP);
 *   - lapic_get_cr8() / lapic_set_cr8()      CR8 is TPR[7:4];
 * and the kick callback given to lapic_new(), called whenever an
 * interrupt may have become deliverable (from device code or timers on
 * the vCPU thread), after which the loop asks lapic_pending().
 *
 * The interrupt controllers use lapic_set_lint0/1 (the 8259's INT output is
 * LINT0, ExtINT in virtual-wire mode; the INTA then comes back to the
 * 8259 through the extint_ack callback) and lapic_deliver() for I/O APIC
 * messages that lapic_match_dest() accepted.
 *
 * One vCPU for now: the MMIO page is one bus region, not one per CPU.
 */
#ifndef LOOM_SYSTEM_LAPIC_H
#define LOOM_SYSTEM_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "system/irq.h"
#include "system/pc.h"

#define LAPIC_VERSION		0x00050014u	/* max LVT entry 5, version 0x14 */
/* The timer's input clock: the core crystal of pc.h (1 GHz, one tick per
 * virtual nanosecond, as QEMU's APIC bus). */
#define LAPIC_BUS_HZ		PC_CRYSTAL_HZ
#define LAPIC_MSR_APIC_BASE	0x1b
#define LAPIC_MSR_TSC_DEADLINE	0x6e0

/* IA32_APIC_BASE bits. */
#define LAPIC_BASE_BSP		(1ull << 8)
#define LAPIC_BASE_EXTD		(1ull << 10)	/* x2APIC: not supported */
#define LAPIC_BASE_ENABLE	(1ull << 11)
/* The base address field, for a 40-bit physical address width (what the
 * system CPUID model reports in 0x80000008). */
#define LAPIC_BASE_ADDR_MASK	0x000000fffffff000ull

/* Delivery modes (LVT, ICR, I/O APIC redirection entries). */
enum lapic_dm {
	LAPIC_DM_FIXED = 0,
	LAPIC_DM_LOWEST = 1,
	LAPIC_DM_SMI = 2,
	LAPIC_DM_NMI = 4,
	LAPIC_DM_INIT = 5,
	LAPIC_DM_STARTUP = 6,
	LAPIC_DM_EXTINT = 7,
};

struct lapic;

/* A local APIC as the kernel finds it (the SDM's power-up state, except
 * that the BSP is as PC firmware leaves it: software-enabled, LINT0
 * ExtINT and LINT1 NMI), with its MMIO page at PC_MMIO_LAPIC. */
struct lapic *lapic_new(int apic_id, void (*kick)(void *), void *kick_opaque);
void lapic_free(struct lapic *l);
/* The same state again, for a system reset (the page moves back to
 * 0xfee00000). */
void lapic_reset(struct lapic *l);

/* Where an ExtINT's vector comes from (the 8259's INTA: i8259_ack). */
void lapic_set_extint_ack(struct lapic *l, int (*ack)(void *), void *opaque);
/* Who hears EOIs of level-triggered vectors (the I/O APIC: ioapic_eoi). */
void lapic_set_eoi_broadcast(struct lapic *l, void (*eoi)(void *, int vector), void *opaque);

/* The CPU side. */
bool lapic_pending(struct lapic *l);
int lapic_ack(struct lapic *l);
bool lapic_nmi_pending(struct lapic *l);
void lapic_ack_nmi(struct lapic *l);
bool lapic_read_msr(struct lapic *l, uint32_t msr, uint64_t *value);
bool lapic_write_msr(struct lapic *l, uint32_t msr, uint64_t value);
uint64_t lapic_get_cr8(struct lapic *l);
void lapic_set_cr8(struct lapic *l, uint64_t value);
void lapic_set_tsc_offset(struct lapic *l, int64_t offset);
uint64_t lapic_tsc(struct lapic *l);

/* The interrupt controllers' side. */
void lapic_set_lint0(struct lapic *l, int level);
void lapic_set_lint1(struct lapic *l, int level);
/* The same as lines: n is 0 (LINT0) or 1 (LINT1). */
struct irq lapic_lint_irq(struct lapic *l, int n);
/* Does this APIC accept a message for dest (physical: an APIC ID, 0xff
 * broadcast; logical: matched against LDR under DFR's flat or cluster
 * model)? */
bool lapic_match_dest(struct lapic *l, uint8_t dest, bool logical);
void lapic_deliver(struct lapic *l, int vector, enum lapic_dm dm, bool level_trigger);

#endif
