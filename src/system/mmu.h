/*
 * The soft MMU of the PC (mmu.c): the machine's side of the vCPU's
 * software TLB and of guest virtual memory.  The x86 semantics (canonical
 * check, page walk, #PF) are the CPU's (guest/x86/sys-mmu.c); this file
 * says where they land: RAM (physmem.h), MMIO (bus.h), and translated code
 * on a page that is written (exec_code_written).
 *
 * Order of use, as the machine sets up: sysmmu_init after physmem_init and
 * before the first vCPU (it reserves the TLB's place beside each vCPU and
 * switches the backend to the TLB's lowering), sysmmu_cpu_init on each new
 * vCPU, sysmmu_env for the x86_sys_env the vCPUs share (mem_read,
 * mem_write, tlb_flush, phys; the machine fills the rest).
 */
#ifndef LOOM_SYSTEM_MMU_H
#define LOOM_SYSTEM_MMU_H

#include "exec/guest-mem.h"
#include "guest/x86/sys.h"

/* 0, or -ENOMEM. */
int sysmmu_init(void);
void sysmmu_cpu_init(struct cpu *cpu);
void sysmmu_cpu_fini(struct cpu *cpu);
void sysmmu_env(struct x86_sys_env *env);
/* Guest virtual memory for tools, the monitor and the translator's code
 * fetch (exec/guest-mem.h), through the page walker of a vCPU (the given
 * one, the calling thread's, else vCPU 0): reads and writes as the kernel
 * sees memory, setting no accessed or dirty bit; fetch at the vCPU's CPL. */
extern const struct guest_mem_ops sysmmu_guest_mem;

#endif
