/*
 * The CPU in system mode (guest/x86/sys.h) against the Intel SDM's rules.
 * A fake machine gives the CPU flat memory (a virtual address is an offset
 * in one array; pages below USER_BASE are supervisor-only and a hole of
 * unmapped pages page-faults with the architectural error code), port I/O
 * that records what it sees, and a TLB-flush hook that counts.  In that
 * memory the tests build a GDT laid out as Linux's (kernel CS 0x10, DS 0x18,
 * user32 CS 0x23, user DS 0x2b, user CS 0x33, TSS 0x40), an IDT and a TSS,
 * then check:
 *   - delivery of exceptions, software and external interrupts from CPL 0
 *     and CPL 3: the frame pushed, the new RSP (RSP0, IST, alignment),
 *     CS/SS, RFLAGS, error codes with their EXT and IDT bits, #DF and
 *     triple-fault escalation, faults handled serially after benign events;
 *   - iretq, syscall and sysret state transitions and their #GP checks;
 *   - CR and MSR writes (reserved bits and invalid combinations: #GP) and
 *     the TLB flushes they ask for, the MSRs a device owns, the TSC;
 *     segment and TR/LDTR loads; NMI blocking until iret;
 *   - the system CPUID model and the RESET state;
 *   - the register dump in qemu-system's layout;
 *   - translation: privileged instructions lifted in system mode run at
 *     CPL 0, raise #GP at CPL 3, and fault as before in user mode; sti's
 *     shadow; syscall from CPL 3 code into a CPL 0 entry point; a user
 *     program and a kernel handler round trip (int $0x80 and iretq, a #GP
 *     the loop delivers and the handler skips, syscall) in the three
 *     translation modes.
 * The expected values come from the SDM's descriptions, written out here,
 * never from loom's output.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "exec/exec.h"
#include "exec/guest-mem.h"
#include "guest/guest.h"
#include "guest/x86/cpu.h"
#include "guest/x86/cpuid.h"
#include "guest/x86/helpers.h"
#include "guest/x86/sys.h"
#include "instrument/instrument.h"
#include "linux/linux.h"
#include "unit.h"

/* ---- the fake machine ---- */

#define MEM_SIZE 0x100000
#define USER_BASE 0x80000	/* pages from here on are user pages */
#define GDT 0x1000
#define IDT 0x2000
#define TSS 0x3000
#define LDT 0x3800
#define RSP0 0x70000
#define IST1 0x60000
#define IST2 0x58008		/* not 16-aligned: the CPU aligns it */
#define HOLE 0x40000		/* [HOLE, HOLE + 0x10000) is unmapped */
#define USTACK 0xf0000
#define HANDLER(v) (0xffffffff81000000ull + (v) * 0x10)
#define KCS 0x10
#define KDS 0x18
#define UCS32 0x23
#define UDS 0x2b
#define UCS 0x33
#define TSS_SEL 0x40
#define LDT_SEL 0x50
#define NP_SEL 0x60		/* not-present data */
#define KDATA2_SEL 0x68		/* DPL 0 data */
#define XO_SEL 0x70		/* execute-only code */
#define BASED_SEL 0x78		/* DPL 3 data with a base */

static uint8_t *mem;
static struct x86_sys sysst;
static struct cpu *cpu;
static int flushes[3];
static uint64_t flush_addr;
static uint16_t io_port[8];
static uint32_t io_val[8];
static int io_size[8], nio;
static bool irq_pending = true;

static bool unmapped(uint64_t va) { return va >= HOLE && va < HOLE + 0x10000; }

/* Translated code reaches guest memory at host addresses (user mode's
 * memory model, until the soft MMU): stacks it shares with the CPU's own
 * accesses lie in a host mapping at STACKS, which the fake machine maps
 * as user pages at the same addresses. */
#define STACKS ((uint64_t)0x7e5000010000)
#define STACKS_SIZE 0x10000

static uint8_t *fake_ptr(uint64_t va)
{
	return va >= STACKS && va < STACKS + STACKS_SIZE ? (uint8_t *)(uintptr_t)va : mem + va;
}

static int fake_access(uint64_t va, size_t len, int cpl, bool write, struct x86_event *f)
{
	if (va >= STACKS && va + len <= STACKS + STACKS_SIZE)
		return 0;
	for (uint64_t a = va; a < va + len; a++) {
		bool user_page = a >= USER_BASE;
		int err = (write ? 2 : 0) | (cpl == 3 ? 4 : 0);
		if (a >= MEM_SIZE || unmapped(a)) {
			*f = (struct x86_event){ .vector = X86_EXC_PF, .has_err = true, .err = err,
						 .cr2 = a };
			return -1;
		}
		if (cpl == 3 && !user_page) {
			*f = (struct x86_event){ .vector = X86_EXC_PF, .has_err = true, .err = err | 1,
						 .cr2 = a };
			return -1;
		}
	}
	return 0;
}

static int fake_read(struct cpu *c, uint64_t va, void *buf, size_t len, int cpl, struct x86_event *f)
{
	(void)c;
	if (fake_access(va, len, cpl, false, f))
		return -1;
	memcpy(buf, fake_ptr(va), len);
	return 0;
}

static int fake_write(struct cpu *c, uint64_t va, const void *buf, size_t len, int cpl,
		      struct x86_event *f)
{
	(void)c;
	if (fake_access(va, len, cpl, true, f))
		return -1;
	memcpy(fake_ptr(va), buf, len);
	return 0;
}

static int nin;
static uint32_t fake_in(struct cpu *c, uint16_t port, int size)
{
	(void)c;
	nin++;
	return port == 0x71 ? 0x5a : (uint32_t)(0x11223344 & ((1ull << (8 * size)) - 1));
}

static void fake_out(struct cpu *c, uint16_t port, int size, uint32_t v)
{
	(void)c;
	if (nio < 8) {
		io_port[nio] = port;
		io_size[nio] = size;
		io_val[nio++] = v;
	}
}

static void fake_flush(struct cpu *c, enum sys_tlb_flush kind, uint64_t addr)
{
	(void)c;
	flushes[kind]++;
	flush_addr = addr;
}

static uint64_t apic_base = 0xfee00900;
static uint64_t fake_tsc(struct cpu *c) { (void)c; return 1000000; }
static uint64_t tsc_written;
static void fake_tsc_write(struct cpu *c, uint64_t v) { (void)c; tsc_written = v; }
static uint64_t deadline;
/* The APIC's MSRs, as a device model answers them */
static bool fake_msr_read(struct cpu *c, uint32_t msr, uint64_t *v)
{
	(void)c;
	if (msr != MSR_TSC_DEADLINE && msr != MSR_APIC_BASE)
		return false;
	*v = msr == MSR_APIC_BASE ? apic_base : deadline;
	return true;
}
static int fake_msr_write(struct cpu *c, uint32_t msr, uint64_t v)
{
	(void)c;
	if (msr == MSR_APIC_BASE) {
		if (v & ~0xffffff0d00ull)
			return 0;
		apic_base = v;
		return 1;
	}
	if (msr != MSR_TSC_DEADLINE)
		return -1;
	deadline = v;
	return 1;
}
static bool fake_pending(struct cpu *c) { (void)c; return irq_pending; }

static const struct x86_sys_env fake_env = {
	.mem_read = fake_read, .mem_write = fake_write, .io_read = fake_in, .io_write = fake_out,
	.tlb_flush = fake_flush, .tsc_read = fake_tsc, .tsc_hz = 2000000000,
	.crystal_hz = 1000000000,
	.interrupt_pending = fake_pending, .msr_read = fake_msr_read, .msr_write = fake_msr_write,
};

/* ---- descriptors, written from the SDM's formats ---- */

/* A code/data descriptor: type (4 bits), DPL, present, L, D/B, G. */
static uint64_t seg_desc(uint32_t base, uint32_t limit, unsigned type, int dpl, bool p, bool l,
			 bool db)
{
	return (limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 | (uint64_t)type << 40 |
	       1ull << 44 | (uint64_t)dpl << 45 | (uint64_t)p << 47 |
	       (uint64_t)(limit >> 16 & 0xf) << 48 | (uint64_t)l << 53 | (uint64_t)db << 54 |
	       1ull << 55 | (uint64_t)(base >> 24) << 56;
}

/* A 16-byte system descriptor (LDT 2, TSS 9), byte granular. */
static void sys_desc(uint64_t at, uint64_t base, uint32_t limit, unsigned type)
{
	uint64_t d[2];
	d[0] = (limit & 0xffff) | (base & 0xffffff) << 16 | (uint64_t)type << 40 | 1ull << 47 |
	       (uint64_t)(limit >> 16 & 0xf) << 48 | (base >> 24 & 0xff) << 56;
	d[1] = base >> 32;
	memcpy(mem + at, d, 16);
}

static void set_gdt(int sel, uint64_t d) { memcpy(mem + GDT + (sel & ~7), &d, 8); }

/* An IDT gate: type 0xe (interrupt) or 0xf (trap). */
static void set_gate(int v, uint64_t off, uint16_t sel, int ist, unsigned type, int dpl, bool p)
{
	uint64_t g[2];
	g[0] = (off & 0xffff) | (uint64_t)sel << 16 | (uint64_t)ist << 32 | (uint64_t)type << 40 |
	       (uint64_t)dpl << 45 | (uint64_t)p << 47 | (off >> 16 & 0xffff) << 48;
	g[1] = off >> 32;
	memcpy(mem + IDT + v * 16, g, 16);
}

static uint64_t rd64(uint64_t a) { uint64_t v; memcpy(&v, mem + a, 8); return v; }
static void wr64(uint64_t a, uint64_t v) { memcpy(mem + a, &v, 8); }

#define ATTR_KCODE 0xa09b
#define ATTR_KDATA 0xc093
#define ATTR_UCODE 0xa0fb
#define ATTR_UDATA 0xc0f3

/* A machine in long mode at CPL 0, as a kernel has set it up. */
static void machine_reset(void)
{
	memset(mem, 0, MEM_SIZE);
	set_gdt(0x08, seg_desc(0, 0xfffff, 0xb, 0, true, false, true));
	set_gdt(KCS, seg_desc(0, 0xfffff, 0xb, 0, true, true, false));
	set_gdt(KDS, seg_desc(0, 0xfffff, 0x2, 0, true, false, true));
	set_gdt(UCS32, seg_desc(0, 0xfffff, 0xb, 3, true, false, true));
	set_gdt(UDS, seg_desc(0, 0xfffff, 0x3, 3, true, false, true));
	set_gdt(UCS, seg_desc(0, 0xfffff, 0xb, 3, true, true, false));
	sys_desc(GDT + TSS_SEL, TSS, 0x67, SYS_TYPE_TSS_AVAIL);
	sys_desc(GDT + LDT_SEL, LDT, 0xff, SYS_TYPE_LDT);
	set_gdt(NP_SEL, seg_desc(0, 0xfffff, 0x3, 3, false, false, true));
	set_gdt(KDATA2_SEL, seg_desc(0, 0xfffff, 0x3, 0, true, false, true));
	set_gdt(XO_SEL, seg_desc(0, 0xfffff, 0x8, 3, true, true, false));
	set_gdt(BASED_SEL, seg_desc(0x12345678, 0xfffff, 0x3, 3, true, false, true));
	wr64(TSS + 4, RSP0);
	wr64(TSS + 36, IST1);
	wr64(TSS + 44, IST2);
	for (int v = 0; v < 256; v++)
		set_gate(v, HANDLER(v), KCS, 0, SYS_TYPE_INT_GATE, 0, true);
	set_gate(X86_EXC_BP, HANDLER(3), KCS, 0, SYS_TYPE_INT_GATE, 3, true);
	set_gate(X86_EXC_DF, HANDLER(8), KCS, 1, SYS_TYPE_INT_GATE, 0, true);
	set_gate(X86_EXC_NMI, HANDLER(2), KCS, 2, SYS_TYPE_INT_GATE, 0, true);
	set_gate(0x80, HANDLER(0x80), KCS, 0, SYS_TYPE_TRAP_GATE, 3, true);
	set_gate(0x30, HANDLER(0x30), KCS, 0, SYS_TYPE_INT_GATE, 0, false);
	set_gate(0x31, HANDLER(0x31), KCS, 0, 0xc, 0, true);	/* a call gate: not in an IDT */
	set_gate(0x32, HANDLER(0x32), KDS, 0, SYS_TYPE_INT_GATE, 0, true);

	x86_cpu_reset(cpu);
	cpu->sys = &sysst;
	sysst.env = &fake_env;
	x86_sys_reset(cpu);
	sysst.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	sysst.cr0 = CR0_PE | CR0_PG | CR0_ET | CR0_WP | CR0_NE;
	sysst.cr4 = CR4_PAE | CR4_PGE;
	sysst.gdtr.base = GDT;
	sysst.gdtr.limit = 0x7f;
	sysst.idtr.base = IDT;
	sysst.idtr.limit = 0xfff;
	x86_sys_set_seg(cpu, SREG_CS, KCS, 0, 0xffffffff, ATTR_KCODE);
	x86_sys_set_seg(cpu, SREG_SS, KDS, 0, 0xffffffff, ATTR_KDATA);
	struct x86_event f;
	CHECK_EQ(x86_sys_ltr(cpu, TSS_SEL, &f), 0);
	sysst.star = (uint64_t)UCS32 << 48 | (uint64_t)KCS << 32;
	sysst.lstar = 0xffffffff81800000ull;
	sysst.sfmask = X86_IF | X86_TF | X86_DF | X86_AC | 0x4000;
	x86_sys_set_rflags(cpu, 2);
	cpu->regs[R_RSP] = RSP0 - 0x100;
	cpu->rip = 0xffffffff81234560ull;
	memset(flushes, 0, sizeof(flushes));
	nio = 0;
}

static void enter_user(void)
{
	x86_sys_set_seg(cpu, SREG_CS, UCS, 0, 0xffffffff, ATTR_UCODE);
	x86_sys_set_seg(cpu, SREG_SS, UDS, 0, 0xffffffff, ATTR_UDATA);
	x86_sys_set_rflags(cpu, X86_IF | 2);
	cpu->regs[R_RSP] = USTACK - 0x28;
	cpu->rip = 0x401000;
}

/* The TB mode bits of CPL 3 code: its MMU index is the user one. */
#define USER_MODE (X86_CF_SYSTEM | X86_CF_CPL3 | (uint32_t)X86_MMU_USER << X86_CF_MMU_SHIFT)

static struct x86_event exc(int v, uint32_t err)
{
	return (struct x86_event){ .vector = v, .has_err = true, .err = err, .kind = X86_EV_EXCEPTION };
}

/* ---- delivery ---- */

static void test_deliver_cpl0(void)
{
	machine_reset();
	x86_sys_set_rflags(cpu, X86_IF | X86_TF | X86_ZF | 2);
	uint64_t rsp = cpu->regs[R_RSP] - 8, rip = cpu->rip;	/* misaligned: aligned down */
	cpu->regs[R_RSP] = rsp;
	struct x86_event ev = exc(X86_EXC_GP, 0x1234);
	CHECK(x86_sys_deliver(cpu, &ev));
	uint64_t sp = (rsp & ~15ull) - 48;
	CHECK_EQ(cpu->regs[R_RSP], sp);
	CHECK_EQ(rd64(sp), 0x1234);
	CHECK_EQ(rd64(sp + 8), rip);
	CHECK_EQ(rd64(sp + 16), KCS);
	CHECK_EQ(rd64(sp + 24), X86_IF | X86_TF | X86_ZF | X86_RF | 2);	/* a fault: RF */
	CHECK_EQ(rd64(sp + 32), rsp);
	CHECK_EQ(rd64(sp + 40), KDS);
	CHECK_EQ(cpu->rip, HANDLER(13));
	CHECK_EQ(sysst.seg[SREG_CS].sel, KCS);
	CHECK_EQ(sysst.seg[SREG_SS].sel, KDS);	/* no privilege change: SS stays */
	CHECK_EQ(sysst.cpl, 0);
	CHECK_EQ(x86_sys_get_rflags(cpu), X86_ZF | 2);	/* IF and TF cleared */
}

static void test_deliver_pf_cpl3(void)
{
	machine_reset();
	enter_user();
	uint64_t urip = cpu->rip, ursp = cpu->regs[R_RSP];
	struct x86_event ev = exc(X86_EXC_PF, 6);
	ev.cr2 = 0xdead000;
	CHECK(x86_sys_deliver(cpu, &ev));
	uint64_t sp = RSP0 - 48;
	CHECK_EQ(sysst.cr2, 0xdead000);
	CHECK_EQ(cpu->regs[R_RSP], sp);
	CHECK_EQ(rd64(sp), 6);
	CHECK_EQ(rd64(sp + 8), urip);
	CHECK_EQ(rd64(sp + 16), UCS);
	CHECK_EQ(rd64(sp + 24), X86_IF | X86_RF | 2);
	CHECK_EQ(rd64(sp + 32), ursp);
	CHECK_EQ(rd64(sp + 40), UDS);
	CHECK_EQ(sysst.cpl, 0);
	CHECK_EQ(sysst.seg[SREG_CS].sel, KCS);
	CHECK_EQ(sysst.seg[SREG_SS].sel, 0);	/* a null SS with RPL 0 */
	CHECK_EQ(cpu->seg[SREG_CS], KCS);
	CHECK_EQ(x86_sys_tb_mode(cpu), X86_CF_SYSTEM);
	CHECK_EQ(x86_sys_mmu_index(x86_sys_tb_mode(cpu)), X86_MMU_SUP);
	/* with SMAP (set directly: the model does not offer it) RFLAGS.AC
	 * selects the supervisor index that may touch user pages */
	sysst.cr4 |= CR4_SMAP;
	x86_sys_set_rflags(cpu, X86_AC | 2);
	CHECK_EQ(x86_sys_mmu_index(x86_sys_tb_mode(cpu)), X86_MMU_SUP_AC);
}

static void test_deliver_ist(void)
{
	machine_reset();
	uint64_t rsp = cpu->regs[R_RSP];
	CHECK(x86_take_nmi(cpu));
	CHECK_EQ(cpu->regs[R_RSP], (IST2 & ~15ull) - 40);	/* no error code */
	CHECK_EQ(rd64((IST2 & ~15ull) - 8), KDS);
	CHECK_EQ(rd64((IST2 & ~15ull) - 16), rsp);
	CHECK_EQ(cpu->rip, HANDLER(2));

	/* a second NMI waits for the first handler's iret */
	CHECK(!x86_take_nmi(cpu));
	CHECK_EQ(cpu->rip, HANDLER(2));
	struct x86_event f;
	cpu->regs[R_RSP] = (IST2 & ~15ull) - 40;
	CHECK_EQ(x86_sys_iret(cpu, 3, &f), 0);
	CHECK_EQ(cpu->regs[R_RSP], rsp);
	CHECK(x86_take_nmi(cpu));
	CHECK_EQ(cpu->rip, HANDLER(2));

	/* IST is used from CPL 3 too, instead of RSP0 */
	machine_reset();
	enter_user();
	struct x86_event df = exc(X86_EXC_DF, 0);
	CHECK(x86_sys_deliver(cpu, &df));
	CHECK_EQ(cpu->regs[R_RSP], IST1 - 48);
	CHECK_EQ(rd64(IST1 - 8), UDS);
	CHECK_EQ(cpu->rip, HANDLER(8));
}

static void test_soft_int(void)
{
	/* int $0x80 from CPL 3 through a DPL-3 trap gate: IF stays, the
	 * pushed rip is past the 2-byte instruction */
	machine_reset();
	enter_user();
	uint64_t urip = cpu->rip;
	struct x86_event ev = { .vector = 0x80, .kind = X86_EV_SOFT_INT, .insn_len = 2 };
	CHECK(x86_sys_deliver(cpu, &ev));
	CHECK_EQ(cpu->regs[R_RSP], RSP0 - 40);
	CHECK_EQ(rd64(RSP0 - 40), urip + 2);
	CHECK_EQ(rd64(RSP0 - 24), X86_IF | 2);	/* no RF for int n */
	CHECK(cpu->eflags & X86_IF);
	CHECK_EQ(cpu->rip, HANDLER(0x80));

	/* int3 from CPL 3: a DPL-3 gate; interrupt gate clears IF */
	machine_reset();
	enter_user();
	urip = cpu->rip;
	ev = (struct x86_event){ .vector = 3, .kind = X86_EV_SOFT_INT, .insn_len = 1 };
	CHECK(x86_sys_deliver(cpu, &ev));
	CHECK_EQ(rd64(RSP0 - 40), urip + 1);
	CHECK(!(cpu->eflags & X86_IF));

	/* int $0x40 from CPL 3: gate DPL 0 < CPL: #GP(0x40 * 8 + 2) at the
	 * int instruction itself */
	machine_reset();
	enter_user();
	urip = cpu->rip;
	ev = (struct x86_event){ .vector = 0x40, .kind = X86_EV_SOFT_INT, .insn_len = 2 };
	CHECK(x86_sys_deliver(cpu, &ev));
	CHECK_EQ(cpu->rip, HANDLER(13));
	CHECK_EQ(rd64(RSP0 - 48), 0x40 * 8 + 2);
	CHECK_EQ(rd64(RSP0 - 40), urip);

	/* the same vector raised by hardware ignores the gate's DPL */
	machine_reset();
	enter_user();
	CHECK(x86_take_interrupt(cpu, 0x40));
	CHECK_EQ(cpu->rip, HANDLER(0x40));
	CHECK_EQ(cpu->regs[R_RSP], RSP0 - 40);
}

static void test_bad_gates(void)
{
	/* external interrupt on a not-present gate: #NP, error code = IDT
	 * bit | EXT */
	machine_reset();
	CHECK(x86_take_interrupt(cpu, 0x30));
	CHECK_EQ(cpu->rip, HANDLER(11));
	CHECK_EQ(rd64(cpu->regs[R_RSP]), 0x30 * 8 + 2 + 1);

	/* a call gate in the IDT: #GP(vector * 8 + 2) from int n (EXT 0) */
	machine_reset();
	struct x86_event ev = { .vector = 0x31, .kind = X86_EV_SOFT_INT, .insn_len = 2 };
	CHECK(x86_sys_deliver(cpu, &ev));
	CHECK_EQ(cpu->rip, HANDLER(13));
	CHECK_EQ(rd64(cpu->regs[R_RSP]), 0x31 * 8 + 2);

	/* a gate whose selector is a data segment: #GP(selector | EXT) */
	machine_reset();
	CHECK(x86_take_interrupt(cpu, 0x32));
	CHECK_EQ(cpu->rip, HANDLER(13));
	CHECK_EQ(rd64(cpu->regs[R_RSP]), KDS | 1);

	/* the same fault while delivering an exception also has EXT set;
	 * #UD is benign, so the #GP is delivered, not #DF */
	machine_reset();
	set_gate(X86_EXC_UD, HANDLER(6), KDS, 0, SYS_TYPE_INT_GATE, 0, true);
	ev = (struct x86_event){ .vector = X86_EXC_UD, .kind = X86_EV_EXCEPTION };
	CHECK(x86_sys_deliver(cpu, &ev));
	CHECK_EQ(cpu->rip, HANDLER(13));
	CHECK_EQ(rd64(cpu->regs[R_RSP]), KDS | 1);

	/* past the IDT's limit */
	machine_reset();
	sysst.idtr.limit = 0x80 * 16 - 1;
	CHECK(x86_take_interrupt(cpu, 0x90));
	CHECK_EQ(cpu->rip, HANDLER(13));
	CHECK_EQ(rd64(cpu->regs[R_RSP]), 0x90 * 8 + 2 + 1);
}

static void test_double_triple(void)
{
	/* #GP with the kernel stack unmapped: #PF while delivering a
	 * contributory exception is #DF, delivered on IST1 with error 0 */
	machine_reset();
	cpu->regs[R_RSP] = HOLE + 0x800;
	uint64_t rip = cpu->rip;
	struct x86_event ev = exc(X86_EXC_GP, 0);
	CHECK(x86_sys_deliver(cpu, &ev));
	CHECK_EQ(cpu->rip, HANDLER(8));
	CHECK_EQ(cpu->regs[R_RSP], IST1 - 48);
	CHECK_EQ(rd64(IST1 - 48), 0);
	CHECK_EQ(rd64(IST1 - 40), rip);
	CHECK_EQ(rd64(IST1 - 16), HOLE + 0x800);

	/* #PF during #PF delivery: #DF; CR2 is the second fault's address */
	machine_reset();
	cpu->regs[R_RSP] = HOLE + 0x800;
	ev = exc(X86_EXC_PF, 0);
	ev.cr2 = 0x1234000;
	CHECK(x86_sys_deliver(cpu, &ev));
	CHECK_EQ(cpu->rip, HANDLER(8));
	CHECK_EQ(sysst.cr2, ((HOLE + 0x800) & ~15ull) - 8);	/* the push of SS */

	/* an external interrupt (benign) whose push faults: the #PF is
	 * delivered instead, not #DF */
	machine_reset();
	cpu->regs[R_RSP] = HOLE + 0x800;
	wr64(TSS + 36, IST1);
	set_gate(X86_EXC_PF, HANDLER(14), KCS, 1, SYS_TYPE_INT_GATE, 0, true);
	CHECK(x86_take_interrupt(cpu, 0x41));
	CHECK_EQ(cpu->rip, HANDLER(14));
	CHECK_EQ(rd64(IST1 - 48), 2);	/* a supervisor write to a not-present page */

	/* #DF whose delivery faults too: triple fault, the state untouched */
	machine_reset();
	cpu->regs[R_RSP] = HOLE + 0x800;
	wr64(TSS + 36, HOLE + 0x1000);
	rip = cpu->rip;
	ev = exc(X86_EXC_GP, 0);
	CHECK(!x86_sys_deliver(cpu, &ev));
	CHECK_EQ(sysst.stop, X86_STOP_SHUTDOWN);
	CHECK_EQ(cpu->rip, rip);
	CHECK_EQ(cpu->regs[R_RSP], HOLE + 0x800);
	CHECK_EQ(sysst.seg[SREG_CS].sel, KCS);

	/* a TSS too short for IST1: #TS(TR selector | EXT), a contributory
	 * fault during a contributory one: #DF (whose IST faults again) */
	machine_reset();
	sysst.seg[SEG_TR].limit = 0x20;
	struct x86_event nmi = { .vector = X86_EXC_NMI, .kind = X86_EV_EXTERNAL };
	set_gate(X86_EXC_TS, HANDLER(10), KCS, 0, SYS_TYPE_INT_GATE, 0, true);
	CHECK(x86_sys_deliver(cpu, &nmi));
	CHECK_EQ(cpu->rip, HANDLER(10));
	CHECK_EQ(rd64(cpu->regs[R_RSP]), TSS_SEL | 1);
}

/* ---- iret, syscall, sysret ---- */

static void push_frame(uint64_t sp, uint64_t rip, uint64_t cs, uint64_t fl, uint64_t rsp, uint64_t ss)
{
	wr64(sp, rip);
	wr64(sp + 8, cs);
	wr64(sp + 16, fl);
	wr64(sp + 24, rsp);
	wr64(sp + 32, ss);
	cpu->regs[R_RSP] = sp;
}

static void test_iret(void)
{
	struct x86_event f;
	/* same privilege */
	machine_reset();
	push_frame(RSP0 - 0x200, 0xffffffff81000123ull, KCS, X86_IF | X86_CF | 2, RSP0 - 0x80, KDS);
	CHECK_EQ(x86_sys_iret(cpu, 3, &f), 0);
	CHECK_EQ(cpu->rip, 0xffffffff81000123ull);
	CHECK_EQ(cpu->regs[R_RSP], RSP0 - 0x80);
	CHECK_EQ(x86_sys_get_rflags(cpu), X86_IF | X86_CF | 2);
	CHECK_EQ(sysst.cpl, 0);

	/* to CPL 3: DS loaded with a DPL-0 segment is nulled; FS keeps its base */
	machine_reset();
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_DS, KDS, &f), 0);
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_ES, UDS, &f), 0);
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_FS, KDS, &f), 0);
	cpu->fs_base = 0x7f0000001000ull;	/* as wrfsbase leaves it */
	push_frame(RSP0 - 0x200, 0x401234, UCS, X86_IF | 0x3000 | 2, USTACK - 8, UDS);
	CHECK_EQ(x86_sys_iret(cpu, 3, &f), 0);
	CHECK_EQ(sysst.cpl, 3);
	CHECK_EQ(cpu->rip, 0x401234);
	CHECK_EQ(cpu->regs[R_RSP], USTACK - 8);
	CHECK_EQ(sysst.seg[SREG_SS].sel, UDS);
	CHECK_EQ(sysst.seg[SREG_DS].sel, 0);
	CHECK_EQ(sysst.seg[SREG_ES].sel, UDS);
	CHECK_EQ(sysst.seg[SREG_FS].sel, 0);
	CHECK_EQ(cpu->fs_base, 0x7f0000001000ull);
	CHECK_EQ(x86_sys_get_rflags(cpu), X86_IF | 0x3000 | 2);	/* IOPL set from CPL 0 */
	CHECK_EQ(x86_sys_tb_mode(cpu), USER_MODE);

	/* at CPL 3, iret cannot change IOPL or (IOPL 0) IF */
	machine_reset();
	enter_user();
	push_frame(USTACK - 0x100, 0x401000, UCS, 0x3000 | 2, USTACK, UDS);
	CHECK_EQ(x86_sys_iret(cpu, 3, &f), 0);
	CHECK_EQ(x86_sys_get_rflags(cpu), X86_IF | 2);

	/* faults, nothing changed: to CPL 0 from 3; SS RPL not the new CPL;
	 * non-canonical rip; null SS to CPL 3 */
	machine_reset();
	enter_user();
	push_frame(USTACK - 0x100, 0x401000, KCS, 2, USTACK, KDS);
	CHECK_EQ(x86_sys_iret(cpu, 3, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_GP);
	CHECK_EQ(f.err, KCS);
	CHECK_EQ(sysst.cpl, 3);
	machine_reset();
	push_frame(RSP0 - 0x200, 0x401000, UCS, 2, USTACK, KDS);
	CHECK_EQ(x86_sys_iret(cpu, 3, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_GP);
	CHECK_EQ(f.err, KDS);
	machine_reset();
	push_frame(RSP0 - 0x200, 0x800000000000ull, UCS, 2, USTACK, UDS);
	CHECK_EQ(x86_sys_iret(cpu, 3, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_GP);
	CHECK_EQ(f.err, 0);
	CHECK_EQ(cpu->regs[R_RSP], RSP0 - 0x200);
	machine_reset();
	push_frame(RSP0 - 0x200, 0x401000, UCS, 2, USTACK, 3);
	CHECK_EQ(x86_sys_iret(cpu, 3, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_GP);

	/* a delivered exception returns through iretq to the same state */
	machine_reset();
	enter_user();
	x86_sys_set_rflags(cpu, X86_IF | X86_SF | 2);
	uint64_t rip = cpu->rip, rsp = cpu->regs[R_RSP];
	struct x86_event ev = exc(X86_EXC_GP, 0);
	CHECK(x86_sys_deliver(cpu, &ev));
	cpu->regs[R_RSP] += 8;	/* the handler pops the error code */
	CHECK_EQ(x86_sys_iret(cpu, 3, &f), 0);
	CHECK_EQ(cpu->rip, rip);
	CHECK_EQ(cpu->regs[R_RSP], rsp);
	CHECK_EQ(sysst.cpl, 3);
	CHECK_EQ(x86_sys_get_rflags(cpu), X86_IF | X86_SF | 2);
}

/* Alignment checking (X86_CF_ALIGN) needs CPL 3, CR0.AM and RFLAGS.AC
 * (SDM vol. 3, "Alignment Check Exception"); at CPL 0 AC is SMAP's
 * override and changes the MMU index only. */
static void test_tb_mode_align(void)
{
	struct x86_event f;
	machine_reset();
	sysst.cr0 |= CR0_AM;
	sysst.cr4 |= CR4_SMAP;
	x86_sys_set_rflags(cpu, X86_AC | 2);
	CHECK_EQ(x86_sys_tb_mode(cpu) & X86_CF_ALIGN, 0);
	CHECK_EQ(x86_sys_mmu_index(x86_sys_tb_mode(cpu)), X86_MMU_SUP_AC);
	cpu->regs[R_RCX] = 0x401000;
	cpu->regs[R_R11] = X86_AC | 2;
	CHECK_EQ(x86_sys_sysret(cpu, 3, &f), 0);
	CHECK_EQ(sysst.cpl, 3);
	CHECK_EQ(x86_sys_tb_mode(cpu), USER_MODE | X86_CF_ALIGN);
	sysst.cr0 &= ~CR0_AM;
	CHECK_EQ(x86_sys_tb_mode(cpu), USER_MODE);
	sysst.cr0 |= CR0_AM;
	x86_sys_set_rflags(cpu, 2);
	CHECK_EQ(x86_sys_tb_mode(cpu), USER_MODE);
	/* user mode (no system state): RFLAGS.AC alone, Linux keeps CR0.AM set */
	cpu->sys = NULL;
	x86_set_rflags(cpu, X86_AC | 2);
	CHECK_EQ(x86_sys_tb_mode(cpu), X86_CF_ALIGN);
	cpu->sys = &sysst;
}

static void test_syscall_sysret(void)
{
	struct x86_event f;
	machine_reset();
	enter_user();
	x86_sys_set_rflags(cpu, X86_IF | X86_TF | X86_CF | X86_RF | 2);
	CHECK_EQ(x86_sys_syscall(cpu, 0x401002, &f), 0);
	CHECK_EQ(cpu->regs[R_RCX], 0x401002);
	CHECK_EQ(cpu->regs[R_R11], X86_IF | X86_TF | X86_CF | 2);	/* RF clear */
	CHECK_EQ(x86_sys_get_rflags(cpu), X86_CF | 2);	/* SFMASK cleared IF, TF */
	CHECK_EQ(cpu->rip, 0xffffffff81800000ull);
	CHECK_EQ(sysst.seg[SREG_CS].sel, KCS);
	CHECK_EQ(sysst.seg[SREG_SS].sel, KDS);
	CHECK_EQ(sysst.cpl, 0);
	CHECK_EQ(cpu->regs[R_RSP], USTACK - 0x28);	/* syscall leaves rsp */

	/* sysretq: CS = STAR[63:48] + 16, SS = + 8, RPL 3; RFLAGS from r11 */
	cpu->regs[R_R11] = X86_IF | X86_ZF | 0x10000 | 2;
	CHECK_EQ(x86_sys_sysret(cpu, 3, &f), 0);
	CHECK_EQ(cpu->rip, 0x401002);
	CHECK_EQ(sysst.seg[SREG_CS].sel, UCS);
	CHECK_EQ(sysst.seg[SREG_SS].sel, UDS);
	CHECK_EQ(sysst.cpl, 3);
	CHECK_EQ(x86_sys_get_rflags(cpu), X86_IF | X86_ZF | 2);	/* RF is not restored */
	CHECK_EQ(x86_sys_tb_mode(cpu), USER_MODE);

	/* sysretl: a 32-bit user code segment, eip zero-extended */
	machine_reset();
	cpu->regs[R_RCX] = 0xffffffff00001234ull;
	CHECK_EQ(x86_sys_sysret(cpu, 2, &f), 0);
	CHECK_EQ(cpu->rip, 0x1234);
	CHECK_EQ(sysst.seg[SREG_CS].sel, UCS32);
	CHECK_EQ(x86_sys_tb_mode(cpu), USER_MODE | X86_CF_COMPAT);

	/* non-canonical rcx: #GP(0) at CPL 0, nothing changed */
	machine_reset();
	cpu->regs[R_RCX] = 0x0000800000000000ull;
	uint64_t rip = cpu->rip;
	CHECK_EQ(x86_sys_sysret(cpu, 3, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_GP);
	CHECK_EQ(f.err, 0);
	CHECK_EQ(sysst.cpl, 0);
	CHECK_EQ(cpu->rip, rip);

	/* sysret at CPL 3: #GP(0); syscall from 32-bit code: #UD (Intel) */
	machine_reset();
	enter_user();
	CHECK_EQ(x86_sys_sysret(cpu, 3, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_GP);
	x86_sys_set_seg(cpu, SREG_CS, UCS32, 0, 0xffffffff, 0xc0fb);
	CHECK_EQ(x86_sys_syscall(cpu, 0x1002, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_UD);
	CHECK_EQ(sysst.cpl, 3);

	/* without EFER.SCE both are #UD */
	machine_reset();
	sysst.efer &= ~EFER_SCE;
	CHECK_EQ(x86_sys_syscall(cpu, 0, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_UD);
	CHECK_EQ(x86_sys_sysret(cpu, 3, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_UD);
}

/* ---- control registers and MSRs ---- */

static void test_cr(void)
{
	machine_reset();
	uint64_t cr0 = sysst.cr0;
	CHECK(!x86_sys_write_cr(cpu, 0, cr0 & ~CR0_PE));		/* PG without PE */
	CHECK(!x86_sys_write_cr(cpu, 0, cr0 | CR0_NW));		/* NW without CD */
	CHECK(!x86_sys_write_cr(cpu, 0, cr0 | 1ull << 32));	/* reserved 63:32 */
	CHECK(!x86_sys_write_cr(cpu, 0, cr0 & ~CR0_PG));	/* paging off in 64-bit code */
	CHECK_EQ(sysst.cr0, cr0);
	CHECK_EQ(flushes[SYS_TLB_FLUSH_ALL], 0);
	CHECK(x86_sys_write_cr(cpu, 0, cr0 & ~CR0_WP));
	CHECK_EQ(flushes[SYS_TLB_FLUSH_ALL], 1);
	CHECK(x86_sys_write_cr(cpu, 0, (cr0 & ~CR0_WP) | CR0_TS));
	CHECK_EQ(flushes[SYS_TLB_FLUSH_ALL], 1);		/* TS is not paging */
	uint64_t v;
	CHECK(x86_sys_read_cr(cpu, 0, &v));
	CHECK_EQ(v, (cr0 & ~CR0_WP) | CR0_TS);
	CHECK(!x86_sys_read_cr(cpu, 5, &v));

	CHECK(!x86_sys_write_cr(cpu, 4, sysst.cr4 | CR4_LA57));
	CHECK(!x86_sys_write_cr(cpu, 4, sysst.cr4 | CR4_PCIDE));
	CHECK(!x86_sys_write_cr(cpu, 4, sysst.cr4 | CR4_SMEP));
	CHECK(!x86_sys_write_cr(cpu, 4, sysst.cr4 | CR4_UMIP));
	CHECK(!x86_sys_write_cr(cpu, 4, sysst.cr4 & ~CR4_PAE));	/* in long mode */
	CHECK(x86_sys_write_cr(cpu, 4, sysst.cr4 & ~CR4_PGE));
	CHECK_EQ(flushes[SYS_TLB_FLUSH_ALL], 2);
	CHECK(x86_sys_write_cr(cpu, 4, sysst.cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT));
	CHECK_EQ(flushes[SYS_TLB_FLUSH_ALL], 2);

	CHECK(!x86_sys_write_cr(cpu, 3, 1ull << 63));
	CHECK(!x86_sys_write_cr(cpu, 3, 1ull << X86_PHYS_BITS));
	CHECK(x86_sys_write_cr(cpu, 3, 0x123000));
	CHECK_EQ(flushes[SYS_TLB_FLUSH_NONGLOBAL], 1);
	CHECK(x86_sys_read_cr(cpu, 3, &v));
	CHECK_EQ(v, 0x123000);
	CHECK(!x86_sys_write_cr(cpu, 8, 16));
	CHECK(x86_sys_write_cr(cpu, 8, 15));
	CHECK(x86_sys_read_cr(cpu, 8, &v));
	CHECK_EQ(v, 15);

	/* entering long mode: CR0.PG with EFER.LME sets LMA; needs PAE */
	machine_reset();
	sysst.efer = EFER_LME;
	sysst.cr0 = CR0_PE | CR0_ET;
	sysst.cr4 = 0;
	x86_sys_set_seg(cpu, SREG_CS, 0x08, 0, 0xffffffff, 0xc09b);
	CHECK(!x86_sys_write_cr(cpu, 0, CR0_PE | CR0_PG));
	CHECK(x86_sys_write_cr(cpu, 4, CR4_PAE));
	CHECK(x86_sys_write_cr(cpu, 0, CR0_PE | CR0_PG));
	CHECK(sysst.efer & EFER_LMA);

	/* DR6/DR7 upper halves are reserved; DR4 aliases DR6 without CR4.DE */
	machine_reset();
	CHECK(!x86_sys_write_dr(cpu, 7, 1ull << 32));
	CHECK(x86_sys_write_dr(cpu, 0, 0xffffffff81000000ull));
	CHECK(x86_sys_read_dr(cpu, 0, &v));
	CHECK_EQ(v, 0xffffffff81000000ull);
	CHECK(x86_sys_read_dr(cpu, 4, &v));
	CHECK_EQ(v, 0xffff0ff0);
	CHECK(!x86_sys_dr_ud(cpu, 4));
	sysst.cr4 |= CR4_DE;
	CHECK(x86_sys_dr_ud(cpu, 5));
}

static void test_msr(void)
{
	uint64_t v;
	machine_reset();
	/* not in the model (no MCA, SPEC_CTRL, x2APIC) */
	CHECK(!x86_sys_rdmsr(cpu, 0x179, &v));		/* MCG_CAP */
	CHECK(!x86_sys_rdmsr(cpu, MSR_SPEC_CTRL, &v));
	/* ARCH_CAPABILITIES: immune to Meltdown (RDCL_NO), MDS, TAA, BHI,
	 * ITS, ...; no eIBRS or TSX_CTRL, whose MSRs the model lacks; and
	 * read-only */
	CHECK(x86_sys_rdmsr(cpu, MSR_ARCH_CAPABILITIES, &v));
	CHECK_EQ(v & ((1 << 0) | (1 << 5) | (1 << 8) | (1 << 20)), (1 << 0) | (1 << 5) | (1 << 8) | (1 << 20));
	CHECK(v >> 62 & 1);
	CHECK(!(v & ((1 << 1) | (1 << 7))));
	CHECK(!x86_sys_wrmsr(cpu, MSR_ARCH_CAPABILITIES, 0));
	CHECK(!x86_sys_rdmsr(cpu, 0x802, &v));		/* x2APIC ID */
	CHECK(!x86_sys_wrmsr(cpu, 0x12345678, 0));

	CHECK(!x86_sys_wrmsr(cpu, MSR_EFER, sysst.efer | 1ull << 12));	/* reserved (SVME) */
	CHECK(!x86_sys_wrmsr(cpu, MSR_EFER, sysst.efer & ~EFER_LME));	/* LME under paging */
	CHECK(x86_sys_wrmsr(cpu, MSR_EFER, sysst.efer & ~EFER_NXE));
	CHECK_EQ(flushes[SYS_TLB_FLUSH_ALL], 1);
	CHECK(x86_sys_rdmsr(cpu, MSR_EFER, &v));
	CHECK_EQ(v, EFER_SCE | EFER_LME | EFER_LMA);

	CHECK(!x86_sys_wrmsr(cpu, MSR_LSTAR, 0x0000800000000000ull));
	CHECK(x86_sys_wrmsr(cpu, MSR_LSTAR, 0xffffffff81a00000ull));
	CHECK_EQ(sysst.lstar, 0xffffffff81a00000ull);
	CHECK(!x86_sys_wrmsr(cpu, MSR_GS_BASE, 0x0001000000000000ull));
	CHECK(x86_sys_wrmsr(cpu, MSR_GS_BASE, 0xffff888000000000ull));
	CHECK_EQ(cpu->gs_base, 0xffff888000000000ull);
	CHECK(x86_sys_wrmsr(cpu, MSR_KERNEL_GS_BASE, 0x7f00000000ull));
	CHECK(!x86_sys_wrmsr(cpu, MSR_TSC_AUX, 1ull << 32));

	CHECK(!x86_sys_wrmsr(cpu, MSR_PAT, 0x0007040600070402ull));	/* type 2 */
	CHECK(!x86_sys_wrmsr(cpu, MSR_PAT, 0x0007040600070416ull));	/* bits 7:3 */
	CHECK(x86_sys_wrmsr(cpu, MSR_PAT, 0x0007010600070406ull));	/* WC in PA4 */
	CHECK(x86_sys_rdmsr(cpu, MSR_PAT, &v));
	CHECK_EQ(v, 0x0007010600070406ull);

	CHECK(x86_sys_rdmsr(cpu, MSR_MTRRCAP, &v));
	CHECK_EQ(v & 0xff, X86_MTRR_VAR);
	CHECK(v & 0x100);	/* fixed ranges */
	CHECK(!x86_sys_wrmsr(cpu, MSR_MTRR_DEF_TYPE, 0x1000));
	CHECK(x86_sys_wrmsr(cpu, MSR_MTRR_DEF_TYPE, 0xc06));
	CHECK(!x86_sys_wrmsr(cpu, MSR_MTRR_PHYSBASE0, 1ull << X86_PHYS_BITS));
	CHECK(x86_sys_wrmsr(cpu, MSR_MTRR_PHYSBASE0 + 1, 0x7f80000800ull));
	CHECK(!x86_sys_wrmsr(cpu, MSR_MTRR_FIX64K, 0x0202020202020202ull));
	CHECK(x86_sys_wrmsr(cpu, MSR_MTRR_FIX4K_C0000 + 7, 0x0606060606060606ull));

	/* TSC: a write sets an offset against the virtual TSC */
	CHECK(x86_sys_rdmsr(cpu, MSR_TSC, &v));
	CHECK_EQ(v, 1000000);
	CHECK(x86_sys_wrmsr(cpu, MSR_TSC, 5));
	CHECK_EQ(x86_sys_tsc(cpu), 5);

	/* TSC_DEADLINE is a device's, through the environment */
	CHECK(x86_sys_wrmsr(cpu, MSR_TSC_DEADLINE, 0x123456789ull));
	CHECK_EQ(deadline, 0x123456789ull);
	CHECK(x86_sys_rdmsr(cpu, MSR_TSC_DEADLINE, &v));
	CHECK_EQ(v, 0x123456789ull);

	/* APIC_BASE is the APIC's */
	CHECK(x86_sys_rdmsr(cpu, MSR_APIC_BASE, &v));
	CHECK_EQ(v, 0xfee00900);
	CHECK(x86_sys_wrmsr(cpu, MSR_APIC_BASE, 0xfee00100));
	CHECK_EQ(apic_base, 0xfee00100);
	CHECK(!x86_sys_wrmsr(cpu, MSR_APIC_BASE, 1ull << 50));
	apic_base = 0xfee00900;

	/* an environment that owns the TSC gets IA32_TSC's writes; one with
	 * no APIC has the architectural default base, fixed */
	struct x86_sys_env own = { .tsc_read = fake_tsc, .tsc_write = fake_tsc_write };
	sysst.env = &own;
	sysst.tsc_offset = 0;
	CHECK(x86_sys_wrmsr(cpu, MSR_TSC, 77));
	CHECK_EQ(tsc_written, 77);
	CHECK_EQ(sysst.tsc_offset, 0);
	CHECK_EQ(x86_sys_tsc(cpu), 1000000);	/* what the environment says */
	CHECK(x86_sys_rdmsr(cpu, MSR_APIC_BASE, &v));
	CHECK_EQ(v, 0xfee00900);
	CHECK(!x86_sys_wrmsr(cpu, MSR_APIC_BASE, 0xfee00100));
	CHECK(!x86_sys_rdmsr(cpu, MSR_TSC_DEADLINE, &v));
	sysst.env = &fake_env;
}

/* ---- segments ---- */

static void test_segments(void)
{
	struct x86_event f;
	machine_reset();
	/* the accessed bit is set in the GDT */
	CHECK(!(mem[GDT + KDS + 5] & 1));
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_DS, KDS, &f), 0);
	CHECK(mem[GDT + KDS + 5] & 1);
	CHECK_EQ(cpu->seg[SREG_DS], KDS);
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_FS, BASED_SEL | 3, &f), 0);
	CHECK_EQ(cpu->fs_base, 0x12345678);
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_GS, 0, &f), 0);
	CHECK_EQ(cpu->gs_base, 0);
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_SS, 0, &f), 0);	/* null SS at CPL 0 in 64-bit mode */
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_DS, NP_SEL, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_NP);
	CHECK_EQ(f.err, NP_SEL);
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_DS, XO_SEL, &f), -1);	/* execute-only */
	CHECK_EQ(f.vector, X86_EXC_GP);
	CHECK_EQ(f.err, XO_SEL);
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_SS, UDS, &f), -1);	/* RPL 3 != CPL 0 */
	CHECK_EQ(f.vector, X86_EXC_GP);
	CHECK_EQ(f.err, UDS & ~3);
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_DS, 0x400, &f), -1);	/* past the limit */
	CHECK_EQ(f.vector, X86_EXC_GP);
	CHECK_EQ(f.err, 0x400);

	enter_user();
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_DS, KDATA2_SEL | 3, &f), -1);	/* DPL 0 < CPL */
	CHECK_EQ(f.vector, X86_EXC_GP);
	CHECK_EQ(f.err, KDATA2_SEL);
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_SS, 3, &f), -1);	/* null SS at CPL 3 */
	CHECK_EQ(f.vector, X86_EXC_GP);
	CHECK_EQ(f.err, 0);
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_SS, UDS, &f), 0);

	/* ltr marks the TSS busy in memory; a busy TSS cannot be loaded */
	machine_reset();
	CHECK_EQ(mem[GDT + TSS_SEL + 5] & 0xf, SYS_TYPE_TSS_BUSY);
	CHECK_EQ(sysst.seg[SEG_TR].base, TSS);
	CHECK_EQ(x86_sys_ltr(cpu, TSS_SEL, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_GP);
	CHECK_EQ(f.err, TSS_SEL);
	CHECK_EQ(x86_sys_ltr(cpu, KDS, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_GP);
	CHECK_EQ(x86_sys_lldt(cpu, LDT_SEL, &f), 0);
	CHECK_EQ(sysst.seg[SEG_LDTR].base, LDT);
	CHECK_EQ(sysst.seg[SEG_LDTR].limit, 0xff);
	/* a selector with TI=1 reads the LDT */
	memcpy(mem + LDT + 8, &(uint64_t){ seg_desc(0x1000, 0xfffff, 0x3, 3, true, false, true) }, 8);
	CHECK_EQ(x86_sys_load_seg(cpu, SREG_FS, 0x0c | 3, &f), 0);
	CHECK_EQ(cpu->fs_base, 0x1000);
	CHECK_EQ(x86_sys_lldt(cpu, TSS_SEL, &f), -1);
	CHECK_EQ(f.vector, X86_EXC_GP);
}

/* ---- CPUID ---- */

static void test_cpuid(void)
{
	uint32_t r[4];
	machine_reset();
	x86_sys_cpuid(cpu, 0, 0, r);
	CHECK(r[0] >= 0x16);
	x86_sys_cpuid(cpu, 1, 0, r);
	struct cpu *c = calloc(1, sizeof(*c));
	struct x86_sys sys = { .env = &fake_env };
	c->sys = &sys;
	x86_sys_reset(c);	/* RESET: real mode at f000:fff0, EDX the signature */
	CHECK_EQ(c->regs[R_RDX], r[0]);
	CHECK_EQ(c->rip, 0xfff0);
	CHECK_EQ(sys.seg[SREG_CS].base + c->rip, 0xfffffff0);
	CHECK_EQ(sys.cr0, 0x60000010);
	CHECK_EQ(sys.dr[7], 0x400);
	CHECK_EQ(x86_sys_tb_mode(c), X86_CF_SYSTEM | X86_CF_COMPAT);
	free(c);
	x86_sys_cpuid(cpu, 1, 0, r);
	CHECK(r[2] >> 31 & 1);		/* hypervisor */
	CHECK(!(r[2] >> 21 & 1));	/* no x2APIC */
	CHECK(!(r[2] >> 17 & 1));	/* no PCID */
	CHECK(r[2] >> 24 & 1);		/* TSC-deadline */
	CHECK(r[3] >> 9 & 1);		/* APIC */
	CHECK(!(r[3] >> 7 & 1));	/* no MCE */
	CHECK(!(r[3] >> 14 & 1));	/* no MCA */
	CHECK(r[3] >> 13 & 1);		/* PGE */
	CHECK(r[3] >> 16 & 1);		/* PAT */
	CHECK_EQ(r[1] >> 24, 0);	/* APIC ID 0 */
	CHECK(!(r[2] >> 27 & 1));	/* OSXSAVE: CR4.OSXSAVE is clear */
	if (x86_level >= X86_V3) {
		CHECK(x86_sys_write_cr(cpu, 4, sysst.cr4 | CR4_OSXSAVE));
		x86_sys_cpuid(cpu, 1, 0, r);
		CHECK(r[2] >> 27 & 1);
	} else {
		SKIP("OSXSAVE follows CR4: the level has no XSAVE");
	}
	x86_sys_cpuid(cpu, 7, 0, r);
	CHECK(!(r[2] >> 16 & 1));	/* no LA57 */
	CHECK(!(r[2] >> 2 & 1));	/* no UMIP */
	CHECK(!(r[1] >> 10 & 1));	/* no INVPCID */
	CHECK(!(r[3] >> 26 & 1));	/* no IBRS/SPEC_CTRL */
	CHECK(r[3] >> 29 & 1);	/* ARCH_CAPABILITIES */
	x86_sys_cpuid(cpu, 0xa, 0, r);
	CHECK_EQ(r[0] | r[1] | r[2] | r[3], 0);	/* no PMU */
	x86_sys_cpuid(cpu, 0x15, 0, r);
	CHECK_EQ((uint64_t)r[2] * r[1] / r[0], 2000000000);	/* the TSC */
	CHECK_EQ(r[2], 1000000000);				/* the crystal */
	CHECK_EQ(r[0], 1);
	CHECK_EQ(r[1], 2);
	x86_sys_cpuid(cpu, 0x16, 0, r);
	CHECK_EQ(r[0], 2000);
	CHECK_EQ(r[2], 1000);
	x86_sys_cpuid(cpu, 0x80000007, 0, r);
	CHECK(r[3] >> 8 & 1);		/* invariant TSC */
	x86_sys_cpuid(cpu, 0x80000001, 0, r);
	CHECK(r[3] >> 29 & 1);		/* long mode */
	CHECK(r[3] >> 20 & 1);		/* NX */
	CHECK(r[3] >> 11 & 1);		/* syscall */
	x86_sys_cpuid(cpu, 0x80000008, 0, r);
	CHECK_EQ(r[0] & 0xff, 40);	/* physical address bits, as qemu-system's */
	CHECK_EQ(r[0] >> 8 & 0xff, 48);
	x86_sys_cpuid(cpu, 0x40000000, 0, r);
	CHECK_EQ(memcmp(&r[1], "LoomLoomLoom", 12), 0);
}

/* ---- the register dump, in qemu-system's layout ---- */

static bool has_line(const char *text, const char *line)
{
	const char *p = strstr(text, line);
	return p && (p == text || p[-1] == '\n') && p[strlen(line)] == '\n';
}

static void test_dump(void)
{
	char *text = NULL;
	size_t len = 0;
	machine_reset();
	FILE *f = open_memstream(&text, &len);
	x86_sys_dump_state(cpu, f);
	fclose(f);
	CHECK(strstr(text, "RIP=ffffffff81234560 RFL=00000002 [-------] CPL=0 II=0 A20=1 SMM=0 HLT=0\n"));
	CHECK(has_line(text, "CS =0010 0000000000000000 ffffffff 00a09b00 DPL=0 CS64 [-RA]"));
	CHECK(has_line(text, "SS =0018 0000000000000000 ffffffff 00c09300 DPL=0 DS   [-WA]"));
	CHECK(has_line(text, "TR =0040 0000000000003000 00000067 00008b00 DPL=0 TSS64-busy"));
	CHECK(has_line(text, "GDT=     0000000000001000 0000007f"));
	CHECK(has_line(text, "IDT=     0000000000002000 00000fff"));
	CHECK(has_line(text, "CR0=80010031 CR2=0000000000000000 CR3=0000000000000000 CR4=000000a0"));
	CHECK(has_line(text, "DR6=00000000ffff0ff0 DR7=0000000000000400"));
	CHECK(has_line(text, "EFER=0000000000000d01"));
	free(text);
}

/* ---- the helper, called as translated code calls it ---- */

/* helper_sys_priv with the exec loop's unwinding: the vector it raised,
 * or -1. */
static int call_priv(int op, uint64_t a, uint64_t b, uint64_t *ret)
{
	if (sigsetjmp(cpu->x.jmp_env, 0)) {
		cpu->x.pending_exit = 0;	/* as exec_run takes it */
		return cpu->x.exc.vector;
	}
	uint64_t v = helper_sys_priv((uintptr_t)cpu, op, a, b);
	if (ret)
		*ret = v;
	return -1;
}

static void test_helper(void)
{
	uint64_t v;
	machine_reset();
	/* swapgs exchanges GS.base and KERNEL_GS_BASE */
	cpu->gs_base = 0x1111;
	sysst.kernel_gs_base = 0xffff888000002222ull;
	CHECK_EQ(call_priv(SYSOP_SWAPGS, 0, 0, NULL), -1);
	CHECK_EQ(cpu->gs_base, 0xffff888000002222ull);
	CHECK_EQ(sysst.kernel_gs_base, 0x1111);

	/* rdmsr/wrmsr through the registers; unknown: #GP(0) */
	cpu->regs[R_RCX] = MSR_STAR;
	CHECK_EQ(call_priv(SYSOP_RDMSR, 0, 0, NULL), -1);
	CHECK_EQ(cpu->regs[R_RDX], (uint32_t)(sysst.star >> 32));
	CHECK_EQ(cpu->regs[R_RAX], (uint32_t)sysst.star);
	cpu->regs[R_RCX] = 0x179;
	CHECK_EQ(call_priv(SYSOP_RDMSR, 0, 0, NULL), X86_EXC_GP);
	CHECK_EQ(cpu->x.exc.error_code, 0);

	/* lgdt/sgdt: 10 bytes; a non-canonical base is #GP */
	mem[0x9000] = 0x7f, mem[0x9001] = 0;
	wr64(0x9002, 0xffff888000123400ull);
	CHECK_EQ(call_priv(SYSOP_LIDT, 0x9000, 0, NULL), -1);
	CHECK_EQ(sysst.idtr.limit, 0x7f);
	CHECK_EQ(sysst.idtr.base, 0xffff888000123400ull);
	wr64(0x9002, 0x00ff888000123400ull);
	CHECK_EQ(call_priv(SYSOP_LGDT, 0x9000, 0, NULL), X86_EXC_GP);
	CHECK_EQ(sysst.gdtr.base, GDT);
	CHECK_EQ(call_priv(SYSOP_SGDT, 0x9100, 0, NULL), -1);
	CHECK_EQ(mem[0x9100] | mem[0x9101] << 8, 0x7f);
	CHECK_EQ(rd64(0x9102), GDT);
	CHECK_EQ(call_priv(SYSOP_LIDT, HOLE, 0, NULL), X86_EXC_PF);
	CHECK_EQ(cpu->x.exc.addr, HOLE);

	/* port I/O at CPL 0 reaches the bus */
	CHECK_EQ(call_priv(SYSOP_OUT, 0x80, 1 | 0xabull << 32, NULL), -1);
	CHECK_EQ(call_priv(SYSOP_IN, 0x71, 1, &v), -1);
	CHECK_EQ(v, 0x5a);
	CHECK_EQ(nio, 1);
	CHECK_EQ(io_port[0], 0x80);
	CHECK_EQ(io_val[0], 0xab);
	/* rep outsb: rcx bytes from rsi, rsi advances */
	memcpy(mem + 0x9200, "loom", 4);
	cpu->regs[R_RSI] = 0x9200;
	cpu->regs[R_RCX] = 4;
	cpu->regs[R_RDX] = 0x3f8;
	CHECK_EQ(call_priv(SYSOP_OUTS, 1 | 1 << 8, 0, NULL), -1);
	CHECK_EQ(nio, 5);
	CHECK_EQ(io_val[4], 'm');
	CHECK_EQ(io_port[4], 0x3f8);
	CHECK_EQ(cpu->regs[R_RCX], 0);
	CHECK_EQ(cpu->regs[R_RSI], 0x9204);

	/* rep insb into memory that ends in an unmapped page: the bytes
	 * before it arrive, rcx/rdi count them, and the port is not read for
	 * the byte that faults */
	cpu->regs[R_RDI] = HOLE - 2;
	cpu->regs[R_RCX] = 4;
	cpu->regs[R_RDX] = 0x71;
	nin = 0;
	CHECK_EQ(call_priv(SYSOP_INS, 1 | 1 << 8, 0, NULL), X86_EXC_PF);
	CHECK_EQ(cpu->x.exc.addr, HOLE);
	CHECK_EQ(nin, 2);
	CHECK_EQ(mem[HOLE - 2], 0x5a);
	CHECK_EQ(mem[HOLE - 1], 0x5a);
	CHECK_EQ(cpu->regs[R_RCX], 2);
	CHECK_EQ(cpu->regs[R_RDI], HOLE);

	/* at CPL 3 with IOPL 0 the TSS bitmap decides: port 0x80 allowed,
	 * 0x81 denied; a map beyond the TSS limit denies everything */
	machine_reset();
	enter_user();
	mem[TSS + 102] = 0x68;
	CHECK_EQ(call_priv(SYSOP_IN, 0x80, 1, &v), X86_EXC_GP);
	sysst.seg[SEG_TR].limit = 0x67 + 0x20 + 1;
	mem[TSS + 102] = 0x68;
	memset(mem + TSS + 0x68, 0xff, 0x21);
	mem[TSS + 0x68 + 0x10] = 0xfe;	/* port 0x80 open */
	CHECK_EQ(call_priv(SYSOP_IN, 0x80, 1, &v), -1);
	CHECK_EQ(call_priv(SYSOP_IN, 0x80, 2, &v), X86_EXC_GP);	/* 0x81 closed */
	CHECK_EQ(call_priv(SYSOP_CLI, 1, 0, NULL), X86_EXC_GP);	/* IOPL 0 < CPL */
	x86_sys_set_rflags(cpu, X86_IF | 0x3000 | 2);
	CHECK_EQ(call_priv(SYSOP_CLI, 1, 0, NULL), -1);
	CHECK(!(cpu->eflags & X86_IF));

	/* popf at CPL 3, IOPL 0: IF and IOPL stay */
	machine_reset();
	enter_user();
	CHECK_EQ(call_priv(SYSOP_POPF, 0x3000 | X86_CF | 2, 3, NULL), -1);
	CHECK_EQ(x86_sys_get_rflags(cpu), X86_IF | X86_CF | 2);
	/* at CPL 0 both change */
	machine_reset();
	CHECK_EQ(call_priv(SYSOP_POPF, 0x3000 | X86_IF | 2, 3, NULL), -1);
	CHECK_EQ(x86_sys_get_rflags(cpu), 0x3000 | X86_IF | 2);

	/* xsetbv: x87 must stay on; AVX needs SSE; needs CR4.OSXSAVE */
	machine_reset();
	cpu->regs[R_RCX] = 0;
	cpu->regs[R_RDX] = 0;
	cpu->regs[R_RAX] = 3;
	CHECK_EQ(call_priv(SYSOP_XSETBV, 0, 0, NULL), X86_EXC_UD);
	if (x86_level >= X86_V3) {
		sysst.cr4 |= CR4_OSXSAVE;
		CHECK_EQ(call_priv(SYSOP_XSETBV, 0, 0, NULL), -1);
		CHECK_EQ(sysst.xcr0, 3);
		cpu->regs[R_RAX] = 5;
		CHECK_EQ(call_priv(SYSOP_XSETBV, 0, 0, NULL), X86_EXC_GP);
		cpu->regs[R_RAX] = 6;
		CHECK_EQ(call_priv(SYSOP_XSETBV, 0, 0, NULL), X86_EXC_GP);
		cpu->regs[R_RAX] = 1 | 1 << 5;	/* opmask: not in the model */
		CHECK_EQ(call_priv(SYSOP_XSETBV, 0, 0, NULL), X86_EXC_GP);
	} else {
		SKIP("xsetbv: the level has no XSAVE");
	}

	/* invlpg asks the TLB to drop one page */
	CHECK_EQ(call_priv(SYSOP_INVLPG, 0xffff888000123456ull, 0, NULL), -1);
	CHECK_EQ(flushes[SYS_TLB_FLUSH_PAGE], 1);
	CHECK_EQ(flush_addr, 0xffff888000123456ull);

	/* rdtsc at CPL 3 with CR4.TSD: #GP */
	machine_reset();
	sysst.cr4 |= CR4_TSD;
	enter_user();
	CHECK_EQ(call_priv(SYSOP_RDTSC, 0, 0, NULL), X86_EXC_GP);

	/* control and debug registers that do not exist: #UD, not #GP */
	CHECK_EQ(call_priv(SYSOP_WRCR, 5, 0, NULL), X86_EXC_UD);
	CHECK_EQ(call_priv(SYSOP_RDCR, 9, 0, NULL), X86_EXC_UD);
	CHECK_EQ(call_priv(SYSOP_WRDR, 9, 0, NULL), X86_EXC_UD);
	CHECK_EQ(call_priv(SYSOP_WRCR, 4, CR4_LA57, NULL), X86_EXC_GP);

	/* lar/lsl/verr/verw ask the guest's GDT (at CPL 3 here) */
	machine_reset();
	CHECK_EQ(call_priv(SYSOP_DESC, SYS_LSL, TSS_SEL, &v), -1);
	CHECK_EQ(v, 1ull << 32 | 0x67);
	enter_user();
	CHECK_EQ(call_priv(SYSOP_DESC, SYS_LSL, UDS, &v), -1);
	CHECK_EQ(v, 1ull << 32 | 0xffffffff);	/* page granular */
	CHECK_EQ(call_priv(SYSOP_DESC, SYS_LAR, UCS, &v), -1);
	CHECK_EQ(v, 1ull << 32 | 0x00a0fb00);	/* G, L; P, DPL 3, code */
	CHECK_EQ(call_priv(SYSOP_DESC, SYS_LSL, KDS, &v), -1);
	CHECK_EQ(v, 0);				/* DPL 0 < CPL 3 */
	CHECK_EQ(call_priv(SYSOP_DESC, SYS_LSL, TSS_SEL, &v), -1);
	CHECK_EQ(v, 0);
	CHECK_EQ(call_priv(SYSOP_DESC, SYS_LSL, 0x400 | 3, &v), -1);
	CHECK_EQ(v, 0);				/* past the GDT's limit: no fault */
	CHECK_EQ(call_priv(SYSOP_DESC, SYS_VERR, UCS, &v), -1);
	CHECK_EQ(v, 1);
	CHECK_EQ(call_priv(SYSOP_DESC, SYS_VERR, XO_SEL | 3, &v), -1);
	CHECK_EQ(v, 0);				/* execute-only */
	CHECK_EQ(call_priv(SYSOP_DESC, SYS_VERW, UCS, &v), -1);
	CHECK_EQ(v, 0);
	CHECK_EQ(call_priv(SYSOP_DESC, SYS_VERW, UDS, &v), -1);
	CHECK_EQ(v, 1);
	sysst.tsc_aux = 0x1003;
	CHECK_EQ(call_priv(SYSOP_RDPID, 0, 0, &v), -1);
	CHECK_EQ(v, 0x1003);
	CHECK_EQ(call_priv(SYSOP_XGETBV, 0, 0, &v), X86_EXC_UD);	/* CR4.OSXSAVE clear */

	/* a far return reloading CS at CPL 0, as a kernel does after lgdt */
	machine_reset();
	wr64(RSP0 - 0x100, 0xffffffff81000abcull);
	wr64(RSP0 - 0xf8, KCS);
	cpu->regs[R_RSP] = RSP0 - 0x100;
	CHECK_EQ(call_priv(SYSOP_FAR, RSP0 - 0x100, FAR_RET | 3 << 4, NULL), -1);
	CHECK_EQ(cpu->rip, 0xffffffff81000abcull);
	CHECK_EQ(cpu->regs[R_RSP], RSP0 - 0xf0);
	CHECK_EQ(sysst.seg[SREG_CS].sel, KCS);
	wr64(RSP0 - 0xf8, UCS);	/* to CPL 3: an outward far return is not modelled */
	CHECK_EQ(call_priv(SYSOP_FAR, RSP0 - 0x100, FAR_RET | 3 << 4, NULL), X86_EXC_GP);
}

/* ---- translation ---- */

#define CODE ((uint64_t)0x7e5000000000)

static uint8_t *code;
/* The TBs translated (exec_tb_hook), in order. */
static uint64_t tb_pcs[16];
static int ntb;
static void record_tb(uint64_t pc, uint32_t flags)
{
	(void)flags;
	if (ntb < 16)
		tb_pcs[ntb++] = pc;
}

/* Guest code is written as linux/ writes it: translations of the page
 * dropped first (loom write-protects pages it translated). */
static void put_code(uint64_t pc, const uint8_t *bytes, size_t n)
{
	exec_unprotect_range(CODE, CODE + 0x1000);
	memcpy(code + (pc - CODE), bytes, n);
}

static enum exec_exit run_at(uint64_t pc, const uint8_t *bytes, size_t n)
{
	put_code(pc, bytes, n);
	exec_flush_all();
	cpu->rip = pc;
	cpu->x.exit_request = 0;	/* the machine loop's: an interrupt taken */
	memset(&cpu->x.exc, 0, sizeof(cpu->x.exc));
	return exec_run(cpu);
}

static void test_translation(void)
{
	/* mov %cr3,%rax; mov %rbx,%cr3; mov %cr3,%rcx; hlt */
	static const uint8_t crs[] = { 0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xdb, 0x0f, 0x20, 0xd9, 0xf4 };
	machine_reset();
	sysst.cr3 = 0x5000;
	cpu->regs[R_RBX] = 0x7000;
	enum exec_exit e = run_at(CODE, crs, sizeof(crs));
	CHECK_EQ(e, EXEC_REQUEST);
	CHECK_EQ(sysst.stop, X86_STOP_HALT);
	CHECK_EQ(cpu->rip, CODE + sizeof(crs));
	CHECK_EQ(cpu->regs[R_RAX], 0x5000);
	CHECK_EQ(cpu->regs[R_RCX], 0x7000);
	CHECK_EQ(flushes[SYS_TLB_FLUSH_NONGLOBAL], 1);

	/* the same code at CPL 3: #GP(0) at the first instruction */
	machine_reset();
	enter_user();
	sysst.cr3 = 0x5000;
	cpu->regs[R_RAX] = 0;
	e = run_at(CODE, crs, sizeof(crs));
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.vector, X86_EXC_GP);
	CHECK_EQ(cpu->x.exc.error_code, 0);
	CHECK_EQ(cpu->rip, CODE);
	CHECK_EQ(cpu->regs[R_RAX], 0);
	CHECK(x86_sys_deliver_pending(cpu));
	CHECK_EQ(cpu->rip, HANDLER(13));
	CHECK_EQ(rd64(RSP0 - 40), CODE);
	CHECK_EQ(sysst.cpl, 0);

	/* in user mode (no system state) it faults as it always did */
	x86_cpu_reset(cpu);
	cpu->sys = NULL;
	e = run_at(CODE, crs, sizeof(crs));
	CHECK_EQ(e, EXEC_FAULT);
	CHECK(cpu->x.exc.vector == X86_EXC_GP || cpu->x.exc.vector == X86_EXC_UD);
	CHECK_EQ(cpu->rip, CODE);
	cpu->sys = &sysst;

	/* out %al,$0x80; in $0x71,%al; hlt */
	static const uint8_t io[] = { 0xe6, 0x80, 0xe4, 0x71, 0xf4 };
	machine_reset();
	cpu->regs[R_RAX] = 0x1234;
	e = run_at(CODE, io, sizeof(io));
	CHECK_EQ(e, EXEC_REQUEST);
	CHECK_EQ(nio, 1);
	CHECK_EQ(io_port[0], 0x80);
	CHECK_EQ(io_val[0], 0x34);
	CHECK_EQ(io_size[0], 1);
	CHECK_EQ(cpu->regs[R_RAX], 0x125a);

	/* sti; mov $5,%eax; mov $6,%ebx; hlt with IF clear and an interrupt
	 * waiting: exactly the instruction after sti runs before the exit */
	static const uint8_t sti[] = { 0xfb, 0xb8, 5, 0, 0, 0, 0xbb, 6, 0, 0, 0, 0xf4 };
	for (int one = 0; one < 2; one++) {
		machine_reset();
		exec_opts.single_insn = one;
		cpu->regs[R_RAX] = cpu->regs[R_RBX] = 0;
		e = run_at(CODE, sti, sizeof(sti));
		CHECK_EQ(e, EXEC_REQUEST);
		CHECK_EQ(cpu->regs[R_RAX], 5);
		CHECK_EQ(cpu->regs[R_RBX], 0);
		CHECK_EQ(cpu->rip, CODE + 6);
		CHECK(x86_sys_interrupts_enabled(cpu));
		CHECK_EQ(sysst.stop, X86_STOP_NONE);
	}
	exec_opts.single_insn = false;

	/* mov %ax,%ss shadows the next instruction too: under one
	 * instruction per TB the mov to rsp is in mov ss's TB (no TB starts
	 * between them, where an interrupt could be taken) */
	static const uint8_t movss[] = { 0x8e, 0xd0, 0x48, 0x89, 0xdc, 0xf4 };
	machine_reset();
	exec_opts.single_insn = true;
	cpu->regs[R_RAX] = KDS;
	cpu->regs[R_RBX] = 0x1234560;
	ntb = 0;
	exec_tb_hook = record_tb;
	e = run_at(CODE, movss, sizeof(movss));
	exec_tb_hook = NULL;
	CHECK_EQ(e, EXEC_REQUEST);
	CHECK_EQ(sysst.stop, X86_STOP_HALT);
	CHECK_EQ(cpu->regs[R_RSP], 0x1234560);
	CHECK_EQ(ntb, 2);
	CHECK_EQ(tb_pcs[0], CODE);
	CHECK_EQ(tb_pcs[1], CODE + 5);
	exec_opts.single_insn = false;

	/* syscall from CPL 3 into LSTAR's CPL-0 code (which runs hlt): the
	 * mode changes between TBs */
	static const uint8_t sc[] = { 0x0f, 0x05 };
	static const uint8_t entry[] = { 0x0f, 0x01, 0xf8, 0xf4 };	/* swapgs; hlt */
	machine_reset();
	put_code(CODE + 0x800, entry, sizeof(entry));
	sysst.lstar = CODE + 0x800;
	sysst.kernel_gs_base = 0xffff888000007000ull;
	enter_user();
	cpu->rip = CODE;
	e = run_at(CODE, sc, sizeof(sc));
	CHECK_EQ(e, EXEC_REQUEST);
	CHECK_EQ(sysst.stop, X86_STOP_HALT);
	CHECK_EQ(sysst.cpl, 0);
	CHECK_EQ(cpu->regs[R_RCX], CODE + 2);
	CHECK_EQ(cpu->rip, CODE + 0x804);
	CHECK_EQ(cpu->gs_base, 0xffff888000007000ull);

	/* swapgs at CPL 3: #GP */
	machine_reset();
	enter_user();
	e = run_at(CODE, entry, sizeof(entry));
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.vector, X86_EXC_GP);

	/* invpcid at CPL 0: #UD, the model has none (whatever the host) */
	static const uint8_t invpcid[] = { 0x66, 0x0f, 0x38, 0x82, 0x18 };
	machine_reset();
	e = run_at(CODE, invpcid, sizeof(invpcid));
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.vector, X86_EXC_UD);

	/* RFLAGS.TF at CPL 0: a #DB trap after the first instruction, its
	 * frame's rip the next one, DR6.BS set */
	static const uint8_t two[] = { 0xb8, 1, 0, 0, 0, 0xbb, 2, 0, 0, 0, 0xf4 };
	machine_reset();
	x86_sys_set_rflags(cpu, X86_TF | 2);
	cpu->regs[R_RAX] = cpu->regs[R_RBX] = 0;
	uint64_t sp0 = cpu->regs[R_RSP];
	e = run_at(CODE, two, sizeof(two));
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->regs[R_RAX], 1);
	CHECK_EQ(cpu->regs[R_RBX], 0);
	CHECK(x86_sys_deliver_pending(cpu));
	CHECK_EQ(cpu->rip, HANDLER(1));
	CHECK_EQ(cpu->regs[R_RSP], (sp0 & ~15ull) - 40);
	CHECK_EQ(rd64(cpu->regs[R_RSP]), CODE + 5);
	CHECK_EQ(rd64(cpu->regs[R_RSP] + 16), X86_TF | 2);	/* a trap: no RF */
	CHECK(sysst.dr[6] & 1u << 14);
	CHECK(!(cpu->eflags & X86_TF));

	/* 32-bit code (after sysretl) is not translated: #UD, at its pc */
	machine_reset();
	x86_sys_set_seg(cpu, SREG_CS, UCS32, 0, 0xffffffff, 0xc0fb);
	x86_sys_set_seg(cpu, SREG_SS, UDS, 0, 0xffffffff, ATTR_UDATA);
	e = run_at(CODE + 0x100, io, sizeof(io));
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.vector, X86_EXC_UD);
	CHECK_EQ(cpu->rip, CODE + 0x100);
	CHECK_EQ(nio, 0);

	/* user mode keeps syscall as the environment's exit */
	x86_cpu_reset(cpu);
	cpu->sys = NULL;
	e = run_at(CODE, sc, sizeof(sc));
	CHECK_EQ(e, EXEC_SYSCALL);
	CHECK_EQ(cpu->rip, CODE + 2);
	cpu->sys = &sysst;
}

/* A user program and a kernel, both translated: int $0x80 through the IDT
 * to a CPL-0 handler that returns with iretq, a privileged instruction at
 * CPL 3 whose #GP the machine loop delivers to a handler that skips it,
 * and syscall into LSTAR; in the three translation modes. */
static void round_trips(void)
{
	static const uint8_t user[] = {
		0xb8, 1, 0, 0, 0,		/* mov $1,%eax */
		0xcd, 0x80,			/* int $0x80 */
		0xbb, 2, 0, 0, 0,		/* mov $2,%ebx */
		0x0f, 0x20, 0xc6,		/* mov %cr0,%rsi: #GP */
		0xba, 7, 0, 0, 0,		/* mov $7,%edx */
		0x0f, 0x05,			/* syscall */
	};
	static const uint8_t int80[] = {
		0x83, 0xc0, 0x64,		/* add $100,%eax */
		0x48, 0xcf,			/* iretq */
	};
	static const uint8_t gp[] = {
		0x48, 0x83, 0xc4, 0x08,		/* add $8,%rsp: the error code */
		0x48, 0x83, 0x04, 0x24, 0x03,	/* addq $3,(%rsp): past the mov */
		0x48, 0xcf,			/* iretq */
	};
	static const uint8_t entry[] = { 0xf4 };	/* hlt */
	machine_reset();
	put_code(CODE + 0x200, int80, sizeof(int80));
	put_code(CODE + 0x300, gp, sizeof(gp));
	put_code(CODE + 0x400, entry, sizeof(entry));
	set_gate(0x80, CODE + 0x200, KCS, 0, SYS_TYPE_TRAP_GATE, 3, true);
	set_gate(X86_EXC_GP, CODE + 0x300, KCS, 0, SYS_TYPE_INT_GATE, 0, true);
	wr64(TSS + 4, STACKS + 0x8000);
	sysst.lstar = CODE + 0x400;
	enter_user();
	cpu->regs[R_RSP] = STACKS + 0xf000;
	cpu->regs[R_RSI] = 0x5a5a;
	enum exec_exit e = run_at(CODE, user, sizeof(user));
	CHECK_EQ(e, EXEC_FAULT);
	CHECK_EQ(cpu->x.exc.vector, X86_EXC_GP);
	CHECK_EQ(cpu->rip, CODE + 12);
	CHECK_EQ(cpu->regs[R_RAX], 101);
	CHECK_EQ(cpu->regs[R_RBX], 2);
	CHECK_EQ(sysst.cpl, 3);
	CHECK_EQ(cpu->regs[R_RSP], STACKS + 0xf000);
	CHECK(x86_sys_deliver_pending(cpu));
	/* iretq set IF with an interrupt (said to be) waiting: the loop
	 * hands control back; a machine with nothing to deliver goes on */
	int requests = 0;
	while ((e = exec_run(cpu)) == EXEC_REQUEST && sysst.stop == X86_STOP_NONE)
		requests++;
	CHECK_EQ(requests, 1);
	CHECK_EQ(e, EXEC_REQUEST);
	CHECK_EQ(sysst.stop, X86_STOP_HALT);
	CHECK_EQ(sysst.cpl, 0);
	CHECK_EQ(cpu->regs[R_RSI], 0x5a5a);
	CHECK_EQ(cpu->regs[R_RDX], 7);
	CHECK_EQ(cpu->regs[R_RCX], CODE + sizeof(user));
	CHECK_EQ(cpu->regs[R_R11], X86_IF | 2);
	CHECK_EQ(cpu->regs[R_RSP], STACKS + 0xf000);
	CHECK_EQ(cpu->rip, CODE + 0x401);
}

/* in the three translation modes */
static void test_round_trips(void)
{
	for (int mode = 0; mode < 3; mode++) {
		exec_opts.single_insn = mode == 1;
		exec_opts.nochain = mode == 2;
		round_trips();
	}
	exec_opts.single_insn = exec_opts.nochain = false;
}

void unit_main(void)
{
	mem = calloc(1, MEM_SIZE);
	if (x86_select_level(NULL) < 0)
		exit(2);
	exec_guest = guest_exec_ops;	/* as main.c wires it */
	cpu = exec_cpu_new();
	x86_cpu_reset(cpu);
	guest_mem = linux_guest_mem;
	exec_init();
	code = mmap((void *)CODE, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	void *stacks = mmap((void *)STACKS, STACKS_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (code == MAP_FAILED || stacks == MAP_FAILED) {
		perror("test_syscpu: mmap");
		exit(2);
	}
	exec_mem_set(CODE, CODE + 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC);
	exec_mem_set(STACKS, STACKS + STACKS_SIZE, PROT_READ | PROT_WRITE);

	test_deliver_cpl0();
	test_deliver_pf_cpl3();
	test_deliver_ist();
	test_soft_int();
	test_bad_gates();
	test_double_triple();
	test_iret();
	test_syscall_sysret();
	test_tb_mode_align();
	test_cr();
	test_msr();
	test_segments();
	test_cpuid();
	test_dump();
	test_helper();
	test_translation();
	test_round_trips();
}
