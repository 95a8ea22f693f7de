/*
 * Translated code running with paging on through the soft MMU: the PC's
 * RAM (physmem), the system glue (system/mmu.c), the x86 walker and the
 * exec loop's physical TB keys, in each of the three translation modes
 * (blocks, one instruction per block, no chaining).
 *
 * Expectations come from the Intel SDM (vol. 3 §4.7 for #PF error codes and
 * CR2, §6.12 for the frame of an exception, §8.1.3 and §11.6 for
 * self-modifying code: a store to an instruction not yet executed is seen
 * by it), never from loom's own output.  The code is hand-assembled; the
 * comments give each instruction.
 */
#include <stdlib.h>
#include <string.h>
#include "exec/exec.h"
#include "exec/guest-mem.h"
#include "exec/tlb.h"
#include "guest/guest.h"
#include "guest/x86/cpu.h"
#include "guest/x86/cpuid.h"
#include "guest/x86/sys.h"
#include "system/bus.h"
#include "system/mmu.h"
#include "system/physmem.h"
#include "unit.h"

static struct cpu *cpu;
static struct x86_sys sysst;
static struct x86_sys_env env;

/* Physical layout. */
#define PML4_A 0x1000ull	/* address space A: PML4, PDPT, PD, PT */
#define PML4_B 0x9000ull	/* address space B */
#define GDT_PA 0x60000ull
#define IDT_PA 0x50000ull
#define STACK_PA 0x70000ull
#define CODE_PA 0x100000ull	/* code page of A at CODE */
#define CODE_B_PA 0x180000ull	/* what B maps at CODE */
#define DATA_PA 0x200000ull

/* Virtual layout (the same in both spaces unless said). */
#define CODE 0x10000ull		/* A: CODE_PA, writable; B: CODE_B_PA */
#define SHARED 0x11000ull	/* the same page in both spaces */
#define NXPAGE 0x12000ull	/* not executable */
#define EDGE 0x13000ull		/* code whose next page is absent */
#define REMAP 0x15000ull	/* data the test remaps */
#define REMAP_CODE 0x16000ull	/* code the test remaps */
#define UCODE 0x17000ull	/* user code */
#define KENTRY 0x18000ull	/* syscall entry, supervisor */
#define ALIAS 0x22000ull	/* CODE_PA again, writable */
#define DATA 0x20000ull
#define DATA2 0x21000ull	/* DATA_PA again */
#define RODATA 0x23000ull	/* user, read-only */
#define KDATA 0x24000ull	/* supervisor only */
#define MMIO 0x25000ull		/* a device's registers */
#define UNMAPPED 0x30000ull
#define MMIO_PA 0xfe000000ull
#define IDT_VA 0x5000ull
#define GDT_VA 0x6000ull
#define STACK_VA 0x7000ull

#define P 1ull
#define RW 2ull
#define US 4ull
#define NX (1ull << 63)
#define KCS 0x10
#define KDS 0x18
#define UCS32 0x23

static void wr64(uint64_t pa, uint64_t v)
{
	physmem_write(pa, &v, 8);
}

static uint64_t rd64(uint64_t pa)
{
	uint64_t v = 0;
	physmem_read(pa, &v, 8);
	return v;
}

/* An address space at pml4: VAs below 2 MiB through one page table. */
static void space(uint64_t pml4)
{
	wr64(pml4, (pml4 + 0x1000) | P | RW | US);
	wr64(pml4 + 0x1000, (pml4 + 0x2000) | P | RW | US);
	wr64(pml4 + 0x2000, (pml4 + 0x3000) | P | RW | US);
}

static void map(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags)
{
	wr64(pml4 + 0x3000 + (va >> 12) * 8, pa | flags);
}


static void put(uint64_t pa, const uint8_t *bytes, size_t n)
{
	physmem_write(pa, bytes, n);
}

static void kernel_mode(void)
{
	x86_sys_set_seg(cpu, SREG_CS, KCS, 0, 0xffffffff, 0xa09b);
	x86_sys_set_seg(cpu, SREG_SS, KDS, 0, 0xffffffff, 0xc093);
}

static void user_mode(void)
{
	x86_sys_set_seg(cpu, SREG_CS, UCS32 + 16, 0, 0xffffffff, 0xa0fb);
	x86_sys_set_seg(cpu, SREG_SS, UCS32 + 8, 0, 0xffffffff, 0xc0f3);
}

/* A fresh machine: both address spaces, a GDT and an IDT whose #PF gate
 * leads to a hlt, CPL 0 in space A. */
static void machine_reset(void)
{
	memset(physmem.host, 0, 0x400000);
	exec_flush_all();
	space(PML4_A);
	space(PML4_B);
	for (int s = 0; s < 2; s++) {
		uint64_t p = s ? PML4_B : PML4_A;
		map(p, CODE, s ? CODE_B_PA : CODE_PA, P | RW);
		map(p, SHARED, CODE_PA + 0x10000, P);
		map(p, NXPAGE, CODE_PA + 0x20000, P | NX);
		map(p, EDGE, CODE_PA + 0x30000, P);
		map(p, UCODE, CODE_PA + 0x40000, P | US);
		map(p, KENTRY, CODE_PA + 0x50000, P);
		map(p, ALIAS, CODE_PA, P | RW);
		map(p, DATA, DATA_PA, P | RW | US);
		map(p, DATA2, DATA_PA, P | RW | US);
		map(p, RODATA, DATA_PA + 0x1000, P | US);
		map(p, KDATA, DATA_PA + 0x2000, P | RW);
		map(p, IDT_VA, IDT_PA, P | RW);
		map(p, GDT_VA, GDT_PA, P | RW);
		map(p, STACK_VA, STACK_PA, P | RW);
		map(p, MMIO, MMIO_PA, P | RW);
	}
	/* flat 64-bit kernel code and data */
	wr64(GDT_PA + KCS, 0x00af9b000000ffffull);
	wr64(GDT_PA + KDS, 0x00cf93000000ffffull);
	/* #PF: an interrupt gate to KENTRY + 0x800 */
	uint64_t h = KENTRY + 0x800;
	wr64(IDT_PA + 14 * 16, (h & 0xffff) | (uint64_t)KCS << 16 | 0x8e00ull << 32 |
				       (h >> 16 & 0xffff) << 48);
	wr64(IDT_PA + 14 * 16 + 8, h >> 32);
	put(CODE_PA + 0x50800, (const uint8_t[]){ 0xf4 }, 1);	/* hlt */

	x86_cpu_reset(cpu);
	cpu->sys = &sysst;
	memset(&sysst, 0, sizeof(sysst));
	sysst.env = &env;
	x86_sys_reset(cpu);
	sysst.efer = 1 | X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;	/* SCE */
	sysst.cr0 = 1 | X86_CR0_PG | X86_CR0_WP | (1ull << 4);	/* PE, ET */
	sysst.cr4 = X86_CR4_PAE | X86_CR4_PGE;
	sysst.cr3 = PML4_A;
	sysst.gdtr.base = GDT_VA;
	sysst.gdtr.limit = 0x7f;
	sysst.idtr.base = IDT_VA;
	sysst.idtr.limit = 0xfff;
	sysst.star = (uint64_t)UCS32 << 48 | (uint64_t)KCS << 32;
	sysst.lstar = KENTRY;
	sysst.sfmask = X86_IF;
	kernel_mode();
	x86_sys_set_rflags(cpu, 2);
	cpu->regs[R_RSP] = STACK_VA + 0xf00;
	env.tlb_flush(cpu, SYS_TLB_FLUSH_ALL, 0);
}

/* Run at pc until the vCPU halts or faults, as the machine loop would
 * (an exit request with nothing to deliver runs on). */
static enum exec_exit run(uint64_t pc)
{
	enum exec_exit e;
	cpu->rip = pc;
	sysst.stop = X86_STOP_NONE;
	memset(&cpu->x.exc, 0, sizeof(cpu->x.exc));
	while ((e = exec_run(cpu)) == EXEC_REQUEST && sysst.stop == X86_STOP_NONE)
		;
	return e;
}

static bool halted(enum exec_exit e)
{
	return e == EXEC_REQUEST && sysst.stop == X86_STOP_HALT;
}

/* ---- loads and stores ---- */

static void test_mappings(void)
{
	/* mov $0x1234,%eax; mov %eax,DATA+8; mov DATA2+8,%ebx; hlt */
	static const uint8_t code[] = {
		0xb8, 0x34, 0x12, 0, 0,
		0x89, 0x04, 0x25, 0x08, 0x00, 0x02, 0x00,
		0x8b, 0x1c, 0x25, 0x08, 0x10, 0x02, 0x00,
		0xf4,
	};
	machine_reset();
	put(CODE_PA, code, sizeof(code));
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RBX], 0x1234);
	CHECK_EQ(rd64(DATA_PA + 8), 0x1234);
	CHECK_EQ(cpu->rip, CODE + sizeof(code));

	/* the same at CPL 3 from a user page, ending in ud2 (#UD) */
	static const uint8_t ucode[] = {
		0xb8, 0x78, 0x56, 0, 0,
		0x89, 0x04, 0x25, 0x10, 0x00, 0x02, 0x00,
		0x8b, 0x1c, 0x25, 0x10, 0x10, 0x02, 0x00,
		0x0f, 0x0b,
	};
	machine_reset();
	put(CODE_PA + 0x40000, ucode, sizeof(ucode));
	user_mode();
	enum exec_exit e = run(UCODE);
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.vector, X86_EXC_UD);
	CHECK_EQ(cpu->rip, UCODE + sizeof(ucode) - 2);
	CHECK_EQ(cpu->regs[R_RBX], 0x5678);
	CHECK_EQ(rd64(DATA_PA + 16), 0x5678);
	/* the user code ran with the user MMU index, the kernel's earlier */
	CHECK_EQ(tlb_of_env(cpu)->cur_mmu, X86_MMU_USER);
}

/* A device of 4 KiB of registers: reads give 0x5a5a0000 | offset, writes
 * are recorded. */
static uint64_t dev_last_off, dev_last_val;
static unsigned dev_last_size, dev_reads, dev_writes;

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	dev_reads++;
	dev_last_size = size;
	return 0x5a5a0000 | off;
}

static void dev_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	(void)opaque;
	dev_writes++;
	dev_last_off = off;
	dev_last_size = size;
	dev_last_val = val;
}

static const struct bus_ops dev_ops = { dev_read, dev_write };

static void test_mmio(void)
{
	/* mov MMIO+8,%eax; mov %eax,MMIO+0x10; movw $0x77,MMIO+0x20; hlt */
	static const uint8_t code[] = {
		0x8b, 0x04, 0x25, 0x08, 0x50, 0x02, 0x00,
		0x89, 0x04, 0x25, 0x10, 0x50, 0x02, 0x00,
		0x66, 0xc7, 0x04, 0x25, 0x20, 0x50, 0x02, 0x00, 0x77, 0x00,
		0xf4,
	};
	machine_reset();
	dev_reads = dev_writes = 0;
	put(CODE_PA, code, sizeof(code));
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RAX], 0x5a5a0008);
	CHECK_EQ(dev_reads, 1);
	CHECK_EQ(dev_writes, 2);
	CHECK_EQ(dev_last_off, 0x20);
	CHECK_EQ(dev_last_size, 2);
	CHECK_EQ(dev_last_val, 0x77);
}

/* ---- page faults ---- */

/* Code at CODE that loads (store: stores) at va, between two moves. */
static void access_code(uint64_t va, bool store)
{
	uint8_t c[] = {
		0xb8, 1, 0, 0, 0,			/* mov $1,%eax */
		0xbb, 2, 0, 0, 0,			/* mov $2,%ebx */
		store ? 0x89 : 0x8b, 0x04, 0x25,	/* mov %eax,va / mov va,%eax */
		va & 0xff, va >> 8 & 0xff, va >> 16 & 0xff, va >> 24 & 0xff,
		0xb9, 3, 0, 0, 0,			/* mov $3,%ecx */
		0xf4,
	};
	put(CODE_PA, c, sizeof(c));
	put(CODE_PA + 0x40000, c, sizeof(c));
}

static void check_pf(bool user, uint64_t va, bool store, uint32_t err)
{
	machine_reset();
	access_code(va, store);
	if (user)
		user_mode();
	cpu->regs[R_RCX] = 0x99;
	enum exec_exit e = run(user ? UCODE : CODE);
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.vector, X86_EXC_PF);
	CHECK_EQ(cpu->x.exc.error_code, err);
	CHECK_EQ(cpu->x.exc.addr, va);
	CHECK_EQ(cpu->rip, (user ? UCODE : CODE) + 10);
	CHECK_EQ(cpu->regs[R_RAX], 1);
	CHECK_EQ(cpu->regs[R_RBX], 2);
	CHECK_EQ(cpu->regs[R_RCX], 0x99);
}

static void test_page_faults(void)
{
	/* error codes: P (bit 0), W (1), U (2) */
	check_pf(false, UNMAPPED, true, 2);
	check_pf(false, UNMAPPED + 8, false, 0);
	check_pf(true, UNMAPPED, false, 4);
	check_pf(true, RODATA, true, 7);
	check_pf(true, KDATA, false, 5);
	/* supervisor writes to a read-only page with CR0.WP */
	check_pf(false, SHARED, true, 3);

	/* delivered: CR2, the error code on the handler's stack, the
	 * faulting rip in the frame */
	machine_reset();
	access_code(UNMAPPED, true);
	enum exec_exit e = run(CODE);
	CHECK_EQ(e, EXEC_FAULT);
	CHECK(x86_sys_deliver_pending(cpu));
	CHECK_EQ(sysst.cr2, UNMAPPED);
	CHECK_EQ(cpu->rip, KENTRY + 0x800);
	uint64_t sp = cpu->regs[R_RSP], spa = STACK_PA + (sp - STACK_VA);
	CHECK_EQ(rd64(spa), 2);			/* error code */
	CHECK_EQ(rd64(spa + 8), CODE + 10);	/* rip */
	CHECK_EQ(rd64(spa + 16), KCS);
	CHECK(halted(run(cpu->rip)));
}

/* ---- fetch faults ---- */

static void test_fetch_faults(void)
{
	/* running on a non-executable page: #PF, I/D and P */
	machine_reset();
	put(CODE_PA + 0x20000, (const uint8_t[]){ 0x90, 0xf4 }, 2);
	enum exec_exit e = run(NXPAGE);
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.vector, X86_EXC_PF);
	CHECK_EQ(cpu->x.exc.error_code, 0x11);
	CHECK_EQ(cpu->x.exc.addr, NXPAGE);
	CHECK_EQ(cpu->rip, NXPAGE);

	/* reached by an indirect jump: mov $NXPAGE,%eax; jmp *%rax */
	machine_reset();
	put(CODE_PA + 0x20000, (const uint8_t[]){ 0x90, 0xf4 }, 2);
	put(CODE_PA, (const uint8_t[]){ 0xb8, 0x00, 0x20, 0x01, 0x00, 0xff, 0xe0 }, 7);
	e = run(CODE);
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.error_code, 0x11);
	CHECK_EQ(cpu->x.exc.addr, NXPAGE);
	CHECK_EQ(cpu->rip, NXPAGE);

	/* a jump to a non-canonical address: #GP(0) at the jump (SDM vol. 1
	 * §3.3.7.1); movabs $0x800000000000,%rax; jmp *%rax */
	machine_reset();
	put(CODE_PA, (const uint8_t[]){ 0x48, 0xb8, 0, 0, 0, 0, 0, 0x80, 0, 0, 0xff, 0xe0 }, 12);
	e = run(CODE);
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.vector, X86_EXC_GP);
	CHECK_EQ(cpu->x.exc.error_code, 0);
	CHECK_EQ(cpu->rip, CODE + 10);

	/* user code may not run on a supervisor page: P, U, I/D */
	machine_reset();
	user_mode();
	e = run(KENTRY + 0x800);
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.error_code, 0x15);

	/* nop; nop; mov $imm32,%eax straddling into an absent page: the
	 * nops run, the fault is at the mov with CR2 the next page's start */
	machine_reset();
	put(CODE_PA + 0x30ffc, (const uint8_t[]){ 0x90, 0x90, 0xb8, 0x44 }, 4);
	cpu->regs[R_RAX] = 0;
	e = run(EDGE + 0xffc);
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.vector, X86_EXC_PF);
	CHECK_EQ(cpu->x.exc.error_code, 0x10);
	CHECK_EQ(cpu->x.exc.addr, EDGE + 0x1000);
	CHECK_EQ(cpu->rip, EDGE + 0xffe);
	/* map the next page (3 more bytes of the immediate, then hlt) and
	 * invalidate it: the instruction now runs */
	put(CODE_PA + 0x60000, (const uint8_t[]){ 0x33, 0x22, 0x11, 0xf4 }, 4);
	map(PML4_A, EDGE + 0x1000, CODE_PA + 0x60000, P);
	env.tlb_flush(cpu, SYS_TLB_FLUSH_PAGE, EDGE + 0x1000);
	CHECK(halted(run(EDGE + 0xffe)));
	CHECK_EQ(cpu->regs[R_RAX], 0x11223344);
	/* and a remapping of that second page is seen too */
	put(CODE_PA + 0x61000, (const uint8_t[]){ 0x77, 0x66, 0x55, 0xf4 }, 4);
	map(PML4_A, EDGE + 0x1000, CODE_PA + 0x61000, P);
	env.tlb_flush(cpu, SYS_TLB_FLUSH_PAGE, EDGE + 0x1000);
	CHECK(halted(run(EDGE + 0xffe)));
	CHECK_EQ(cpu->regs[R_RAX], 0x55667744);
}

/* ---- self-modifying code ---- */

static void test_smc(void)
{
	/* CODE+0x100: mov $1,%eax; hlt */
	machine_reset();
	put(CODE_PA + 0x100, (const uint8_t[]){ 0xb8, 1, 0, 0, 0, 0xf4 }, 6);
	CHECK(halted(run(CODE + 0x100)));
	CHECK_EQ(cpu->regs[R_RAX], 1);
	/* movb $2,ALIAS+0x101 (the immediate above, through the alias);
	 * jmp CODE+0x100: the store is in a block on the same physical page */
	static const uint8_t patch[] = {
		0xc6, 0x04, 0x25, 0x01, 0x21, 0x02, 0x00, 0x02,
		0xe9, 0xf3, 0x00, 0x00, 0x00,
	};
	put(CODE_PA, patch, sizeof(patch));
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RAX], 2);
	CHECK_EQ(cpu->rip, CODE + 0x106);
	/* the patched block runs again from its new translation */
	CHECK(halted(run(CODE + 0x100)));
	CHECK_EQ(cpu->regs[R_RAX], 2);

	/* a store into a later instruction of its own block:
	 * movb $5,CODE+9; nop; mov $1,%eax (imm at CODE+9); hlt */
	machine_reset();
	static const uint8_t own[] = {
		0xc6, 0x04, 0x25, 0x0a, 0x00, 0x01, 0x00, 0x05,
		0x90,
		0xb8, 0x01, 0x00, 0x00, 0x00,	/* its immediate at CODE+10 */
		0xf4,
	};
	put(CODE_PA, own, sizeof(own));
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RAX], 5);
	CHECK_EQ(rd64(CODE_PA + 8) >> 16 & 0xff, 5);
	/* and once more, with the block translated again: now it stores
	 * what is there already */
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RAX], 5);

	/* the same through a helper's store (maskmovdqu):
	 * mov $5,%eax; movd %eax,%xmm0; mov $0x80,%eax; movd %eax,%xmm1;
	 * mov $CODE+29,%edi; maskmovdqu %xmm1,%xmm0 (byte 0 of xmm0 to
	 * (%rdi)); nop; mov $1,%ebx (imm at CODE+29); hlt */
	machine_reset();
	static const uint8_t viahelper[] = {
		0xb8, 0x05, 0x00, 0x00, 0x00, 0x66, 0x0f, 0x6e, 0xc0,
		0xb8, 0x80, 0x00, 0x00, 0x00, 0x66, 0x0f, 0x6e, 0xc8,
		0xbf, 0x1d, 0x00, 0x01, 0x00,
		0x66, 0x0f, 0xf7, 0xc1,
		0x90,
		0xbb, 0x01, 0x00, 0x00, 0x00,
		0xf4,
	};
	put(CODE_PA, viahelper, sizeof(viahelper));
	cpu->regs[R_RBX] = 0;
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RBX], 5);
	CHECK_EQ(cpu->rip, CODE + sizeof(viahelper));

	/* a device or loader writes the code (physmem_write) */
	put(CODE_PA + 0x100, (const uint8_t[]){ 0xb8, 7, 0, 0, 0, 0xf4 }, 6);
	CHECK(halted(run(CODE + 0x100)));
	CHECK_EQ(cpu->regs[R_RAX], 7);
}

/* A store into its own block's page that leaves the rest of the block's
 * code as it was runs on without a restart (a restart would show plugins
 * the instruction twice: docs/system.md, "Exact counts"); one that changes
 * the code after it restarts it, except in a block of one instruction. */
static void test_smc_restarts(void)
{
	/* movb $5,CODE+0x40 (data on the block's page, past its code);
	 * mov $1,%eax; hlt */
	machine_reset();
	static const uint8_t data[] = {
		0xc6, 0x04, 0x25, 0x40, 0x00, 0x01, 0x00, 0x05,
		0xb8, 0x01, 0x00, 0x00, 0x00,
		0xf4,
	};
	put(CODE_PA, data, sizeof(data));
	uint64_t r = exec_stats.smc_restarts;
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RAX], 1);
	CHECK_EQ(rd64(CODE_PA + 0x40) & 0xff, 5);
	CHECK_EQ(exec_stats.smc_restarts, r);

	/* mov $1,%eax (imm at CODE+1); movb $9,CODE+1 (the instruction
	 * already run); nop; hlt: no restart, and the next run sees 9 */
	machine_reset();
	static const uint8_t before[] = {
		0xb8, 0x01, 0x00, 0x00, 0x00,
		0xc6, 0x04, 0x25, 0x01, 0x00, 0x01, 0x00, 0x09,
		0x90,
		0xf4,
	};
	put(CODE_PA, before, sizeof(before));
	r = exec_stats.smc_restarts;
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RAX], 1);
	CHECK_EQ(exec_stats.smc_restarts, r);
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RAX], 9);

	/* movb $5,CODE+10 (the immediate of the mov after it); nop;
	 * mov $1,%eax; hlt: restarted once, unless one instruction per TB */
	machine_reset();
	static const uint8_t after[] = {
		0xc6, 0x04, 0x25, 0x0a, 0x00, 0x01, 0x00, 0x05,
		0x90,
		0xb8, 0x01, 0x00, 0x00, 0x00,
		0xf4,
	};
	put(CODE_PA, after, sizeof(after));
	r = exec_stats.smc_restarts;
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RAX], 5);
	CHECK_EQ(exec_stats.smc_restarts - r, exec_opts.single_insn ? 0 : 1);
}

/* ---- address spaces ---- */

static void test_spaces(void)
{
	machine_reset();
	put(CODE_PA, (const uint8_t[]){ 0xb8, 0xa, 0, 0, 0, 0xf4 }, 6);	/* mov $0xa,%eax */
	put(CODE_B_PA, (const uint8_t[]){ 0xb8, 0xb, 0, 0, 0, 0xf4 }, 6);	/* mov $0xb,%eax */
	/* SHARED: mov %rbx,%cr3; jmp CODE */
	static const uint8_t sw[] = { 0x0f, 0x22, 0xdb, 0xe9, 0xf8, 0xef, 0xff, 0xff };
	put(CODE_PA + 0x10000, sw, sizeof(sw));
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RAX], 0xa);
	cpu->regs[R_RBX] = PML4_B;
	CHECK(halted(run(SHARED)));
	CHECK_EQ(cpu->regs[R_RAX], 0xb);
	CHECK_EQ(sysst.cr3, PML4_B);
	/* and back: A's block is found again, not translated again */
	uint64_t n = exec_stats.tbs_translated;
	cpu->regs[R_RBX] = PML4_A;
	CHECK(halted(run(SHARED)));
	CHECK_EQ(cpu->regs[R_RAX], 0xa);
	CHECK_EQ(exec_stats.tbs_translated, n);

	/* invlpg after a PTE change, for data and for code:
	 * mov REMAP,%eax; hlt */
	machine_reset();
	wr64(DATA_PA + 0x3000, 0x11);
	wr64(DATA_PA + 0x4000, 0x22);
	map(PML4_A, REMAP, DATA_PA + 0x3000, P);
	env.tlb_flush(cpu, SYS_TLB_FLUSH_ALL, 0);
	put(CODE_PA, (const uint8_t[]){ 0x8b, 0x04, 0x25, 0x00, 0x50, 0x01, 0x00, 0xf4 }, 8);
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RAX], 0x11);
	map(PML4_A, REMAP, DATA_PA + 0x4000, P);
	/* invlpg REMAP; mov REMAP,%eax; hlt */
	static const uint8_t inv[] = { 0x0f, 0x01, 0x3c, 0x25, 0x00, 0x50, 0x01, 0x00,
				       0x8b, 0x04, 0x25, 0x00, 0x50, 0x01, 0x00, 0xf4 };
	put(CODE_PA + 0x200, inv, sizeof(inv));
	CHECK(halted(run(CODE + 0x200)));
	CHECK_EQ(cpu->regs[R_RAX], 0x22);

	/* REMAP_CODE: mov $1,%eax; hlt, then the page remapped to
	 * mov $2,%eax; hlt; CODE+0x300: invlpg REMAP_CODE; jmp REMAP_CODE */
	put(CODE_PA + 0x70000, (const uint8_t[]){ 0xb8, 1, 0, 0, 0, 0xf4 }, 6);
	put(CODE_PA + 0x71000, (const uint8_t[]){ 0xb8, 2, 0, 0, 0, 0xf4 }, 6);
	map(PML4_A, REMAP_CODE, CODE_PA + 0x70000, P);
	env.tlb_flush(cpu, SYS_TLB_FLUSH_ALL, 0);
	static const uint8_t jmp[] = { 0x0f, 0x01, 0x3c, 0x25, 0x00, 0x60, 0x01, 0x00,
				       0xe9, 0xf3, 0x5c, 0x00, 0x00 };
	put(CODE_PA + 0x300, jmp, sizeof(jmp));
	CHECK(halted(run(CODE + 0x300)));
	CHECK_EQ(cpu->regs[R_RAX], 1);
	map(PML4_A, REMAP_CODE, CODE_PA + 0x71000, P);
	CHECK(halted(run(CODE + 0x300)));
	CHECK_EQ(cpu->regs[R_RAX], 2);
}

/* Blocks of global pages: the TLB keeps a global translation across a CR3
 * write (Intel SDM vol. 3 §4.10.4.1), and so does the jump cache the
 * inline probe of a cross-page jump reads; a full flush (CR4.PGE toggled)
 * and an invlpg of the page drop both. */
static void test_global_pages(void)
{
	const uint64_t G = 1ull << 8;
	/* SHARED: mov %rbx,%cr3; jmp CODE;  SHARED+0x100: invlpg CODE; jmp CODE */
	static const uint8_t sw[] = { 0x0f, 0x22, 0xdb, 0xe9, 0xf8, 0xef, 0xff, 0xff };
	static const uint8_t inv[] = { 0x0f, 0x01, 0x3c, 0x25, 0x00, 0x00, 0x01, 0x00,
				       0xe9, 0xf3, 0xee, 0xff, 0xff };
	for (int pass = 0; pass < 2; pass++) {
		machine_reset();
		map(PML4_A, CODE, CODE_PA, P | RW | G);
		env.tlb_flush(cpu, SYS_TLB_FLUSH_ALL, 0);
		put(CODE_PA, (const uint8_t[]){ 0xb8, 0xa, 0, 0, 0, 0xf4 }, 6);
		put(CODE_B_PA, (const uint8_t[]){ 0xb8, 0xb, 0, 0, 0, 0xf4 }, 6);
		put(CODE_PA + 0x10000, sw, sizeof(sw));
		put(CODE_PA + 0x10100, inv, sizeof(inv));
		CHECK(halted(run(CODE)));
		CHECK_EQ(cpu->regs[R_RAX], 0xa);
		if (pass == 0) {
			/* into B: CODE's global translation is A's still */
			cpu->regs[R_RBX] = PML4_B;
			CHECK(halted(run(SHARED)));
			CHECK_EQ(cpu->regs[R_RAX], 0xa);
			/* flushed with the globals: B's own CODE */
			env.tlb_flush(cpu, SYS_TLB_FLUSH_ALL, 0);
			CHECK(halted(run(SHARED)));
			CHECK_EQ(cpu->regs[R_RAX], 0xb);
		} else {
			/* A's global CODE remapped to B's page, then invlpg */
			map(PML4_A, CODE, CODE_B_PA, P | RW | G);
			CHECK(halted(run(SHARED + 0x100)));
			CHECK_EQ(cpu->regs[R_RAX], 0xb);
		}
	}
}

/* ---- privilege changes ---- */

static void test_cpl_changes(void)
{
	/* user: L: syscall; dec %r12; jnz L; ud2
	 * kernel (LSTAR): inc %rbx; sysretq */
	static const uint8_t user[] = { 0x0f, 0x05, 0x49, 0xff, 0xcc, 0x75, 0xf9, 0x0f, 0x0b };
	static const uint8_t kern[] = { 0x48, 0xff, 0xc3, 0x48, 0x0f, 0x07 };
	machine_reset();
	put(CODE_PA + 0x40000, user, sizeof(user));
	put(CODE_PA + 0x50000, kern, sizeof(kern));
	user_mode();
	cpu->regs[R_R12] = 1000;
	cpu->regs[R_RBX] = 0;
	uint64_t n = exec_stats.tbs_translated;
	enum exec_exit e = run(UCODE);
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.vector, X86_EXC_UD);
	CHECK_EQ(cpu->rip, UCODE + 7);
	CHECK_EQ(cpu->regs[R_RBX], 1000);
	CHECK_EQ(sysst.cpl, 3);
	/* each block once, whatever the mode switches did to the caches */
	CHECK(exec_stats.tbs_translated - n <= 6);

	/* one virtual address, code run at CPL 0 then 3 then 0: a block of
	 * one privilege never runs at the other (mov %cr0,%rax is #GP at 3) */
	map(PML4_A, KDATA, CODE_PA + 0x80000, P | US);
	env.tlb_flush(cpu, SYS_TLB_FLUSH_ALL, 0);
	put(CODE_PA + 0x80000, (const uint8_t[]){ 0x0f, 0x20, 0xc0, 0xf4 }, 4);
	kernel_mode();
	CHECK(halted(run(KDATA)));
	CHECK_EQ(cpu->regs[R_RAX], sysst.cr0);
	user_mode();
	e = run(KDATA);
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.vector, X86_EXC_GP);
	kernel_mode();
	n = exec_stats.tbs_translated;
	CHECK(halted(run(KDATA)));
	CHECK_EQ(exec_stats.tbs_translated, n);
}

/* ---- rep movs and rep stos ---- */

/* Buffers of their own for the string tests: BUF_S and BUF_D two pages
 * each, BUF_S + 0x4000 absent; CODE_ALIAS is SHARED's code page, writable. */
#define BUF_S 0x40000ull
#define BUF_D 0x42000ull
#define BUF_PA 0x300000ull
#define CODE_ALIAS 0x45000ull

static void string_reset(void)
{
	machine_reset();
	for (uint64_t i = 0; i < 4; i++)
		map(PML4_A, BUF_S + i * 0x1000, BUF_PA + i * 0x1000, P | RW);
	map(PML4_A, CODE_ALIAS, CODE_PA + 0x10000, P | RW);
	for (uint64_t i = 0; i < 0x4000; i++) {
		uint8_t b = (uint8_t)(i * 7 + 3);
		put(BUF_PA + i, &b, 1);
	}
}

/* Run one string instruction (bytes, then hlt) with rsi, rdi, rcx, rax. */
static enum exec_exit run_string(const uint8_t *insn, size_t len, uint64_t rsi, uint64_t rdi,
				 uint64_t rcx, uint64_t rax)
{
	uint8_t code[16];
	memcpy(code, insn, len);
	code[len] = 0xf4;
	put(CODE_PA, code, len + 1);
	cpu->regs[R_RSI] = rsi;
	cpu->regs[R_RDI] = rdi;
	cpu->regs[R_RCX] = rcx;
	cpu->regs[R_RAX] = rax;
	return run(CODE);
}

static const uint8_t rep_movsb[] = { 0xf3, 0xa4 };
static const uint8_t rep_stosq[] = { 0xf3, 0x48, 0xab };
static const uint8_t rep_stosl[] = { 0xf3, 0xab };

static void test_rep_strings(void)
{
	uint8_t want[0x4000], got[0x4000];

	/* A copy across pages on both sides, twice (the second time every
	 * page is in the TLB): the SDM's rep movs, byte by byte forward. */
	for (int pass = 0; pass < 2; pass++) {
		string_reset();
		physmem_read(BUF_PA, want, sizeof(want));
		for (int i = 0; i < 0x1234; i++)
			want[0x2080 + i] = want[0x100 + i];
		if (pass)
			CHECK(halted(run_string(rep_movsb, 2, BUF_S + 0x100, BUF_D + 0x80, 0x1234, 0)));
		CHECK(halted(run_string(rep_movsb, 2, BUF_S + 0x100, BUF_D + 0x80, 0x1234, 0)));
		physmem_read(BUF_PA, got, sizeof(got));
		CHECK(memcmp(got, want, sizeof(got)) == 0);
		CHECK_EQ(cpu->regs[R_RCX], 0);
		CHECK_EQ(cpu->regs[R_RSI], BUF_S + 0x100 + 0x1234);
		CHECK_EQ(cpu->regs[R_RDI], BUF_D + 0x80 + 0x1234);
	}

	/* A destination 3 bytes into the source repeats its first 3 bytes. */
	string_reset();
	physmem_read(BUF_PA, want, sizeof(want));
	for (int i = 0; i < 200; i++)
		want[0x13 + i] = want[0x10 + i];
	CHECK(halted(run_string(rep_movsb, 2, BUF_S + 0x10, BUF_S + 0x13, 200, 0)));
	physmem_read(BUF_PA, got, sizeof(got));
	CHECK(memcmp(got, want, sizeof(got)) == 0);

	/* rep stosq across a page boundary: rax's 8 bytes each time */
	string_reset();
	physmem_read(BUF_PA, want, sizeof(want));
	uint64_t pat = 0x0123456789abcdefull;
	for (int i = 0; i < 0x300; i++)
		memcpy(want + 0x2008 + i * 8, &pat, 8);
	CHECK(halted(run_string(rep_stosq, 3, 0, BUF_D + 8, 0x300, pat)));
	physmem_read(BUF_PA, got, sizeof(got));
	CHECK(memcmp(got, want, sizeof(got)) == 0);
	CHECK_EQ(cpu->regs[R_RDI], BUF_D + 8 + 0x300 * 8);

	/* Running into an absent page: #PF (write, not present) with CR2 at
	 * the page and the registers after the iterations done, whose bytes
	 * are written. */
	for (int pass = 0; pass < 2; pass++) {
		string_reset();
		physmem_read(BUF_PA, want, sizeof(want));
		memcpy(want + 0x3f00, want, 0x100);
		if (pass)	/* warm the TLB first */
			CHECK(halted(run_string(rep_movsb, 2, BUF_S, BUF_S + 0x3f00, 0x10, 0)));
		enum exec_exit e = run_string(rep_movsb, 2, BUF_S, BUF_S + 0x3f00, 0x200, 0);
		CHECK_EQ(e, EXEC_FAULT);
		CHECK_EQ(cpu->x.exc.vector, X86_EXC_PF);
		CHECK_EQ(cpu->x.exc.error_code, 2);
		CHECK_EQ(cpu->x.exc.addr, BUF_S + 0x4000);
		CHECK_EQ(cpu->rip, CODE);
		CHECK_EQ(cpu->regs[R_RCX], 0x100);
		CHECK_EQ(cpu->regs[R_RSI], BUF_S + 0x100);
		CHECK_EQ(cpu->regs[R_RDI], BUF_S + 0x4000);
		physmem_read(BUF_PA, got, sizeof(got));
		CHECK(memcmp(got, want, sizeof(got)) == 0);
	}

	/* A copy onto a page holding translated code: the code runs as
	 * written after (mov $1,%eax; hlt, then mov $2,%eax; hlt). */
	string_reset();
	put(CODE_PA + 0x10000, (const uint8_t[]){ 0xb8, 1, 0, 0, 0, 0xf4 }, 6);
	CHECK(halted(run(SHARED)));
	CHECK_EQ(cpu->regs[R_RAX], 1);
	put(BUF_PA, (const uint8_t[]){ 0xb8, 2, 0, 0, 0, 0xf4 }, 6);
	CHECK(halted(run_string(rep_movsb, 2, BUF_S, CODE_ALIAS, 6, 0)));
	CHECK(halted(run(SHARED)));
	CHECK_EQ(cpu->regs[R_RAX], 2);

	/* rep stos to a device: one write of each element */
	string_reset();
	dev_writes = 0;
	CHECK(halted(run_string(rep_stosl, 2, 0, MMIO + 0x40, 4, 0xabcd)));
	CHECK_EQ(dev_writes, 4);
	CHECK_EQ(dev_last_off, 0x4c);
	CHECK_EQ(dev_last_size, 4);
	CHECK_EQ(dev_last_val, 0xabcd);
}

/* ---- guest_mem ---- */

static void test_guest_mem(void)
{
	machine_reset();
	uint64_t v = 0x1122334455667788ull, r = 0;
	CHECK_EQ(guest_mem_write(cpu, DATA + 0xff8, &v, 8), 0);
	CHECK_EQ(guest_mem_read(cpu, &r, DATA2 + 0xff8, 8), 0);
	CHECK_EQ(r, v);
	CHECK(guest_mem_read(cpu, &r, UNMAPPED, 8) < 0);
	/* a read across into an unmapped page fails */
	CHECK(guest_mem_read(cpu, &r, EDGE + 0xffc, 8) < 0);
	uint8_t buf[15];
	put(CODE_PA + 0x30ff8, (const uint8_t[]){ 1, 2, 3, 4, 5, 6, 7, 8 }, 8);
	CHECK_EQ(guest_mem_fetch(cpu, buf, EDGE + 0xff8, 15), 8);
	CHECK_EQ(guest_mem_fetch(cpu, buf, NXPAGE, 15), 0);
	/* the walk of a tool sets no accessed bit */
	uint64_t pte = rd64(PML4_A + 0x3000 + (RODATA >> 12) * 8);
	CHECK_EQ(guest_mem_read(cpu, &r, RODATA, 8), 0);
	CHECK_EQ(rd64(PML4_A + 0x3000 + (RODATA >> 12) * 8), pte);
}

/* ---- blocks past forward branches ---- */

/* A block that runs on past four forward branches to three targets (two
 * of them to the same one) and ends in a two-way branch back: its side
 * exits chain through goto_tb 2 and 3 and the third probes the jump
 * cache.  Each way round adds 1 to the register of the path it took. */
static void test_side_exits(void)
{
	static const uint8_t code[] = {
		0xf6, 0xc1, 0x01,		/* 0: test $1,%cl */
		0x75, 0x18,			/* 3: jnz A (29) */
		0xf6, 0xc1, 0x02,		/* 5: test $2,%cl */
		0x75, 0x1c,			/* 8: jnz B (38) */
		0xf6, 0xc1, 0x04,		/* 10: test $4,%cl */
		0x75, 0x0e,			/* 13: jnz A */
		0xf6, 0xc1, 0x08,		/* 15: test $8,%cl */
		0x75, 0x1b,			/* 18: jnz C (47) */
		0x48, 0x83, 0xc0, 0x01,		/* 20: add $1,%rax */
		0xff, 0xc9,			/* 24: dec %ecx */
		0x75, 0xe4,			/* 26: jnz 0 */
		0xf4,				/* 28: hlt */
		0x48, 0x83, 0xc3, 0x01,		/* 29 A: add $1,%rbx */
		0xff, 0xc9, 0x75, 0xdb, 0xf4,	/* dec %ecx; jnz 0; hlt */
		0x48, 0x83, 0xc2, 0x01,		/* 38 B: add $1,%rdx */
		0xff, 0xc9, 0x75, 0xd2, 0xf4,
		0x48, 0x83, 0xc6, 0x01,		/* 47 C: add $1,%rsi */
		0xff, 0xc9, 0x75, 0xc9, 0xf4,
	};
	uint64_t want[4] = { 0 };	/* rax, rbx, rdx, rsi */
	for (unsigned n = 1000; n; n--) {
		unsigned cl = n & 0xff;
		want[cl & 1 ? 1 : cl & 2 ? 2 : cl & 4 ? 1 : cl & 8 ? 3 : 0]++;
	}
	machine_reset();
	put(CODE_PA, code, sizeof(code));
	cpu->regs[R_RCX] = 1000;
	cpu->regs[R_RAX] = cpu->regs[R_RBX] = cpu->regs[R_RDX] = cpu->regs[R_RSI] = 0;
	CHECK(halted(run(CODE)));
	CHECK_EQ(cpu->regs[R_RCX], 0);
	CHECK_EQ(cpu->regs[R_RAX], want[0]);
	CHECK_EQ(cpu->regs[R_RBX], want[1]);
	CHECK_EQ(cpu->regs[R_RDX], want[2]);
	CHECK_EQ(cpu->regs[R_RSI], want[3]);
}

static void in_three_modes(void (*fn)(void))
{
	for (int mode = 0; mode < 3; mode++) {
		exec_opts.single_insn = mode == 1;
		exec_opts.nochain = mode == 2;
		fn();
	}
	exec_opts.single_insn = exec_opts.nochain = false;
}

void unit_main(void)
{
	if (x86_select_level(NULL) < 0)
		exit(2);
	exec_guest = guest_exec_ops;
	if (physmem_init(16 << 20) < 0 || sysmmu_init() < 0) {
		fprintf(stderr, "test_sysexec: cannot set up guest memory\n");
		exit(2);
	}
	sysmmu_env(&env);
	cpu = exec_cpu_new();
	sysmmu_cpu_init(cpu);
	exec_init();
	exec_cpu_start(cpu);
	bus_map(BUS_MMIO, MMIO_PA, 0x1000, &dev_ops, NULL, "test-device");
	in_three_modes(test_mappings);
	in_three_modes(test_mmio);
	in_three_modes(test_page_faults);
	in_three_modes(test_fetch_faults);
	in_three_modes(test_smc);
	in_three_modes(test_smc_restarts);
	in_three_modes(test_spaces);
	in_three_modes(test_global_pages);
	in_three_modes(test_cpl_changes);
	in_three_modes(test_rep_strings);
	in_three_modes(test_side_exits);
	test_guest_mem();
}
