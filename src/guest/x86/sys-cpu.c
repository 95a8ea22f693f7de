/*
 * The x86-64 CPU's system state in system mode: control and debug
 * registers with their #GP rules, the MSR model, segment loads from the
 * GDT/LDT with their protection checks, LDTR and TR loads, syscall and
 * sysret, RFLAGS' system bits.  Exception delivery and iret are in
 * sys-excp.c; the instructions' lifting is in lift-priv.c, which calls
 * helper_sys_priv here.
 *
 * Nothing here runs in user mode (cpu->sys is NULL there).  Every check
 * happens before the first change of state, so a #GP leaves the guest at
 * the start of its instruction, as the lifters' invariant requires.
 */
#include <string.h>
#include <x86intrin.h>
#include "exec/exec.h"
#include "guest/x86/cpu.h"
#include "guest/x86/cpuid.h"
#include "guest/x86/helpers.h"
#include "guest/x86/sys.h"
#include "util/log.h"

/* ---- the CPU's own memory accesses ---- */

static void gp_event(struct x86_event *f, int vector, uint32_t err)
{
	*f = (struct x86_event){ .vector = vector, .has_err = true, .err = err,
				 .kind = X86_EV_EXCEPTION };
}

int x86_sys_vread(struct cpu *cpu, uint64_t va, void *buf, size_t len, int cpl,
		  struct x86_event *f)
{
	const struct x86_sys_env *env = cpu->sys->env;
	if (!x86_canonical(va) || !x86_canonical(va + len - 1)) {
		gp_event(f, X86_EXC_GP, 0);
		return -1;
	}
	if (!env || !env->mem_read) {
		gp_event(f, X86_EXC_GP, 0);
		return -1;
	}
	return env->mem_read(cpu, va, buf, len, cpl, f);
}

int x86_sys_vwrite(struct cpu *cpu, uint64_t va, const void *buf, size_t len, int cpl,
		   struct x86_event *f)
{
	const struct x86_sys_env *env = cpu->sys->env;
	if (!x86_canonical(va) || !x86_canonical(va + len - 1) || !env || !env->mem_write) {
		gp_event(f, X86_EXC_GP, 0);
		return -1;
	}
	return env->mem_write(cpu, va, buf, len, cpl, f);
}

/* ---- reset and RFLAGS ---- */

/* The RFLAGS bits that exist (the rest read as 0, bit 1 as 1). */
#define RFLAGS_VALID 0x3f7fd5ull

uint64_t x86_sys_get_rflags(struct cpu *cpu)
{
	return x86_get_rflags(cpu);
}

/* RF is not kept: the CPU clears it as every instruction starts, and it
 * matters only to instruction breakpoints, which are not modelled
 * (delivery pushes it set for faults, as the CPU does). */
void x86_sys_set_rflags(struct cpu *cpu, uint64_t v)
{
	x86_set_rflags(cpu, v);
	cpu->eflags = (v & RFLAGS_VALID & ~(uint64_t)(X86_ARITH_FLAGS | X86_DF | X86_RF)) | 2;
}

void x86_sys_set_seg(struct cpu *cpu, int sreg, uint16_t sel, uint64_t base, uint32_t limit,
		     uint16_t attr)
{
	struct x86_sys *sys = cpu->sys;
	sys->seg[sreg] = (struct x86_seg){ .sel = sel, .attr = attr, .limit = limit, .base = base };
	if (sreg <= SREG_GS)
		cpu->seg[sreg] = sel;
	if (sreg == SREG_FS)
		cpu->fs_base = base;
	else if (sreg == SREG_GS)
		cpu->gs_base = base;
	else if (sreg == SREG_CS)
		sys->cpl = sel & 3;
}

#define MISC_ENABLE_RESET ((1ull << 0) | (1ull << 11) | (1ull << 12))	/* fast strings; no BTS, PEBS */
#define PAT_RESET 0x0007040600070406ull

/* The state after RESET (SDM vol. 3, "Processor state following power-up,
 * reset, or INIT"): real mode at f000:fff0.  A direct 64-bit kernel boot
 * then loads the long-mode state it needs through the setters above. */
void x86_sys_reset(struct cpu *cpu)
{
	struct x86_sys *sys = cpu->sys;
	const struct x86_sys_env *env = sys->env;
	void *opaque = sys->opaque;
	memset(sys, 0, sizeof(*sys));
	sys->env = env;
	sys->opaque = opaque;
	cpu->eflags = 2;
	x86_set_rflags(cpu, 2);
	sys->cr0 = CR0_CD | CR0_NW | CR0_ET;
	sys->dr[6] = 0xffff0ff0;
	sys->dr[7] = 0x400;
	sys->xcr0 = 1;
	sys->pat = PAT_RESET;
	sys->misc_enable = MISC_ENABLE_RESET;
	/* present, accessed, read/write data or execute/read code */
	for (int i = 0; i <= SREG_GS; i++)
		x86_sys_set_seg(cpu, i, 0, 0, 0xffff, 0x93);
	x86_sys_set_seg(cpu, SREG_CS, 0xf000, 0xffff0000, 0xffff, 0x9b);
	x86_sys_set_seg(cpu, SEG_LDTR, 0, 0, 0xffff, 0x82);
	x86_sys_set_seg(cpu, SEG_TR, 0, 0, 0xffff, 0x8b);
	sys->gdtr.limit = sys->idtr.limit = 0xffff;
	cpu->rip = 0xfff0;
	uint32_t id[4];
	x86_cpuid(1, 0, id);
	cpu->regs[R_RDX] = id[0];	/* family, model, stepping: CPUID.1:EAX */
}

/* ---- control registers ---- */

static void tlb_flush(struct cpu *cpu, enum sys_tlb_flush kind, uint64_t addr)
{
	const struct x86_sys_env *env = cpu->sys->env;
	if (env && env->tlb_flush)
		env->tlb_flush(cpu, kind, addr);
}

static bool long_mode(struct cpu *cpu) { return cpu->sys->efer & EFER_LMA; }
static bool code64(struct cpu *cpu)
{
	return long_mode(cpu) && (cpu->sys->seg[SREG_CS].attr & SEG_ATTR_L);
}

/* The CR4 bits the model has: what CPUID reports (sys_cpuid in cpuid.c
 * leaves out VME's relatives' users, UMIP, LA57, PCID, SMEP, SMAP, PKE). */
static uint64_t cr4_valid(void)
{
	uint64_t v = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE |
		     CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (x86_level >= X86_V3)
		v |= CR4_OSXSAVE;
	return v;
}

/* CR0's bits that exist; the reserved ones in 31:0 are ignored on write
 * (read back as 0), those in 63:32 are #GP. */
#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | \
		   CR0_NW | CR0_CD | CR0_PG)
/* Changes of these change what a linear address means. */
#define CR0_PAGING (CR0_PG | CR0_WP | CR0_PE)
#define CR4_PAGING (CR4_PSE | CR4_PAE | CR4_PGE | CR4_SMEP | CR4_SMAP | CR4_LA57 | CR4_PCIDE)

bool x86_sys_read_cr(struct cpu *cpu, int n, uint64_t *v)
{
	struct x86_sys *sys = cpu->sys;
	const struct x86_sys_env *env = sys->env;
	switch (n) {
	case 0: *v = sys->cr0; return true;
	case 2: *v = sys->cr2; return true;
	case 3: *v = sys->cr3; return true;
	case 4: *v = sys->cr4; return true;
	case 8: *v = env && env->tpr_read ? env->tpr_read(cpu) : sys->cr8; return true;
	default: return false;	/* the lifter turns other numbers into #UD */
	}
}

static bool write_cr0(struct cpu *cpu, uint64_t v)
{
	struct x86_sys *sys = cpu->sys;
	if (v >> 32)
		return false;
	v = (v & CR0_VALID) | CR0_ET;
	if ((v & CR0_PG) && !(v & CR0_PE))
		return false;
	if ((v & CR0_NW) && !(v & CR0_CD))
		return false;
	uint64_t old = sys->cr0;
	if ((v & CR0_PG) && !(old & CR0_PG) && (sys->efer & EFER_LME)) {
		/* entering long mode: needs PAE, and not from a 64-bit CS */
		if (!(sys->cr4 & CR4_PAE) || (sys->seg[SREG_CS].attr & SEG_ATTR_L))
			return false;
		sys->efer |= EFER_LMA;
	}
	if (!(v & CR0_PG) && (old & CR0_PG) && long_mode(cpu)) {
		if (code64(cpu))
			return false;	/* paging cannot be turned off in 64-bit code */
		sys->efer &= ~EFER_LMA;
	}
	sys->cr0 = v;
	if ((old ^ v) & CR0_PAGING)
		tlb_flush(cpu, SYS_TLB_FLUSH_ALL, 0);
	return true;
}

static bool write_cr4(struct cpu *cpu, uint64_t v)
{
	struct x86_sys *sys = cpu->sys;
	if (v & ~cr4_valid())
		return false;
	if (long_mode(cpu) && !(v & CR4_PAE))
		return false;	/* PAE cannot be cleared in long mode */
	uint64_t old = sys->cr4;
	sys->cr4 = v;
	if ((old ^ v) & CR4_PAGING)
		tlb_flush(cpu, SYS_TLB_FLUSH_ALL, 0);
	return true;
}

bool x86_sys_write_cr(struct cpu *cpu, int n, uint64_t v)
{
	struct x86_sys *sys = cpu->sys;
	const struct x86_sys_env *env = sys->env;
	switch (n) {
	case 0:
		return write_cr0(cpu, v);
	case 2:
		sys->cr2 = v;
		return true;
	case 3:
		/* without PCIDE, bits 11:0 are PWT/PCD and ignored ones; bits
		 * from MAXPHYADDR up are reserved (bit 63 too) */
		if (v >> X86_PHYS_BITS)
			return false;
		sys->cr3 = v;
		tlb_flush(cpu, SYS_TLB_FLUSH_NONGLOBAL, 0);
		if (env && env->cr3_write)
			env->cr3_write(cpu, v);
		return true;
	case 4:
		return write_cr4(cpu, v);
	case 8:
		if (v >> 4)
			return false;
		sys->cr8 = v;
		if (env && env->tpr_write)
			env->tpr_write(cpu, v);
		return true;
	default:
		return false;
	}
}

/* ---- debug registers ---- */

/* DR4/DR5 alias DR6/DR7 unless CR4.DE (then #UD: the caller's, as
 * x86_sys_dr_ud says).  Breakpoints are stored, not yet armed. */
bool x86_sys_dr_ud(struct cpu *cpu, int n)
{
	return (n == 4 || n == 5) && (cpu->sys->cr4 & CR4_DE);
}

bool x86_sys_read_dr(struct cpu *cpu, int n, uint64_t *v)
{
	if (n == 4 || n == 5)
		n += 2;
	if (n > 7)
		return false;
	*v = n == 6 ? cpu->sys->dr[6] | 0xffff0ff0 : n == 7 ? cpu->sys->dr[7] | 0x400 : cpu->sys->dr[n];
	return true;
}

bool x86_sys_write_dr(struct cpu *cpu, int n, uint64_t v)
{
	if (n == 4 || n == 5)
		n += 2;
	if (n > 7)
		return false;
	if ((n == 6 || n == 7) && (v >> 32))
		return false;
	cpu->sys->dr[n] = v;
	return true;
}

/* ---- MSRs ---- */

uint64_t x86_sys_tsc(struct cpu *cpu)
{
	const struct x86_sys_env *env = cpu->sys->env;
	uint64_t raw = env && env->tsc_read ? env->tsc_read(cpu) : __rdtsc();
	return env && env->tsc_write ? raw : raw + cpu->sys->tsc_offset;
}

static bool valid_mem_type(unsigned t) { return t == 0 || t == 1 || t == 4 || t == 5 || t == 6; }

static bool valid_pat(uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		unsigned t = v >> (8 * i) & 0xff;
		if (!valid_mem_type(t) && t != 7)
			return false;
	}
	return true;
}

/* A fixed-range MTRR holds eight memory types. */
static bool valid_mtrr_fixed(uint64_t v)
{
	for (int i = 0; i < 8; i++)
		if (!valid_mem_type(v >> (8 * i) & 0xff))
			return false;
	return true;
}

static int mtrr_fixed_index(uint32_t msr)
{
	if (msr == MSR_MTRR_FIX64K)
		return 0;
	if (msr == MSR_MTRR_FIX16K_80000 || msr == MSR_MTRR_FIX16K_A0000)
		return 1 + (msr - MSR_MTRR_FIX16K_80000);
	if (msr >= MSR_MTRR_FIX4K_C0000 && msr <= MSR_MTRR_FIX4K_C0000 + 7)
		return 3 + (msr - MSR_MTRR_FIX4K_C0000);
	return -1;
}

static void log_msr(const char *what, uint32_t msr, uint64_t v, struct cpu *cpu)
{
	if (log_enabled(LOG_UNIMP))
		log_printf("loom: %s of unknown MSR 0x%x (value 0x%llx) at rip 0x%llx: #GP\n", what,
			   msr, (unsigned long long)v, (unsigned long long)cpu->rip);
}

/*
 * The MSR model.  What exists follows from CPUID (sys_cpuid): no MCA, no
 * PMU, no x2APIC, no SPEC_CTRL, no TSC_ADJUST, so their MSRs are #GP like
 * any MSR not listed here, as on a CPU without them.  ARCH_CAPABILITIES is
 * read-only (cpuid.c says why the CPU reports these immunities).
 */
bool x86_sys_rdmsr(struct cpu *cpu, uint32_t msr, uint64_t *v)
{
	struct x86_sys *sys = cpu->sys;
	const struct x86_sys_env *env = sys->env;
	int fix;
	switch (msr) {
	case MSR_TSC: *v = x86_sys_tsc(cpu); return true;
	case MSR_PLATFORM_ID: *v = 0; return true;
	case MSR_ARCH_CAPABILITIES: *v = X86_ARCH_CAP_MODEL; return true;
	case MSR_FEATURE_CONTROL: *v = 1; return true;	/* locked, VMX and SMX off */
	case MSR_BIOS_SIGN_ID: *v = 0; return true;	/* no microcode update */
	case MSR_MTRRCAP: *v = 0x500 | X86_MTRR_VAR; return true;	/* fixed, WC, 8 variable */
	case MSR_SYSENTER_CS: *v = sys->sysenter_cs; return true;
	case MSR_SYSENTER_ESP: *v = sys->sysenter_esp; return true;
	case MSR_SYSENTER_EIP: *v = sys->sysenter_eip; return true;
	case MSR_MISC_ENABLE: *v = sys->misc_enable; return true;
	case MSR_PAT: *v = sys->pat; return true;
	case MSR_MTRR_DEF_TYPE: *v = sys->mtrr_def_type; return true;
	case MSR_EFER: *v = sys->efer; return true;
	case MSR_STAR: *v = sys->star; return true;
	case MSR_LSTAR: *v = sys->lstar; return true;
	case MSR_CSTAR: *v = sys->cstar; return true;
	case MSR_SFMASK: *v = sys->sfmask; return true;
	case MSR_FS_BASE: *v = cpu->fs_base; return true;
	case MSR_GS_BASE: *v = cpu->gs_base; return true;
	case MSR_KERNEL_GS_BASE: *v = sys->kernel_gs_base; return true;
	case MSR_TSC_AUX: *v = sys->tsc_aux; return true;
	}
	if (msr >= MSR_MTRR_PHYSBASE0 && msr < MSR_MTRR_PHYSBASE0 + 2 * X86_MTRR_VAR) {
		*v = sys->mtrr_var[msr - MSR_MTRR_PHYSBASE0];
		return true;
	}
	if ((fix = mtrr_fixed_index(msr)) >= 0) {
		*v = sys->mtrr_fix[fix];
		return true;
	}
	if (env && env->msr_read && env->msr_read(cpu, msr, v))
		return true;
	if (msr == MSR_APIC_BASE) {
		*v = 0xfee00900;
		return true;
	}
	log_msr("rdmsr", msr, 0, cpu);
	return false;
}

#define PHYS_MASK ((1ull << X86_PHYS_BITS) - 1)

bool x86_sys_wrmsr(struct cpu *cpu, uint32_t msr, uint64_t v)
{
	struct x86_sys *sys = cpu->sys;
	const struct x86_sys_env *env = sys->env;
	int fix;
	switch (msr) {
	case MSR_TSC:
		if (env && env->tsc_write)
			env->tsc_write(cpu, v);
		else
			sys->tsc_offset += v - x86_sys_tsc(cpu);
		return true;
	case MSR_BIOS_SIGN_ID:
		return true;	/* the kernel writes 0 before asking for the revision */
	case MSR_SYSENTER_CS: sys->sysenter_cs = v & 0xffff; return true;
	case MSR_SYSENTER_ESP:
		if (!x86_canonical(v))
			return false;
		sys->sysenter_esp = v;
		return true;
	case MSR_SYSENTER_EIP:
		if (!x86_canonical(v))
			return false;
		sys->sysenter_eip = v;
		return true;
	case MSR_MISC_ENABLE:
		/* BTS/PEBS unavailable stay read-only */
		sys->misc_enable = (v & ~(3ull << 11)) | (MISC_ENABLE_RESET & (3ull << 11));
		return true;
	case MSR_PAT:
		if (!valid_pat(v))
			return false;
		sys->pat = v;
		tlb_flush(cpu, SYS_TLB_FLUSH_ALL, 0);
		return true;
	case MSR_MTRR_DEF_TYPE:
		if ((v & ~0xcffull) || !valid_mem_type(v & 0xff))
			return false;
		sys->mtrr_def_type = v;
		return true;
	case MSR_EFER: {
		uint64_t valid = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
		if (v & ~valid)
			return false;
		/* LME cannot change while paging is on; LMA is the CPU's */
		if (((v ^ sys->efer) & EFER_LME) && (sys->cr0 & CR0_PG))
			return false;
		uint64_t old = sys->efer;
		sys->efer = (v & ~EFER_LMA) | (old & EFER_LMA);
		if ((old ^ sys->efer) & EFER_NXE)
			tlb_flush(cpu, SYS_TLB_FLUSH_ALL, 0);
		return true;
	}
	case MSR_STAR: sys->star = v; return true;
	case MSR_LSTAR:
	case MSR_CSTAR:
		if (!x86_canonical(v))
			return false;
		*(msr == MSR_LSTAR ? &sys->lstar : &sys->cstar) = v;
		return true;
	case MSR_SFMASK: sys->sfmask = (uint32_t)v; return true;	/* 63:32 reserved, ignored */
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
		if (!x86_canonical(v))
			return false;
		if (msr == MSR_FS_BASE) {
			cpu->fs_base = sys->seg[SREG_FS].base = v;
		} else if (msr == MSR_GS_BASE) {
			cpu->gs_base = sys->seg[SREG_GS].base = v;
		} else {
			sys->kernel_gs_base = v;
		}
		return true;
	case MSR_TSC_AUX:
		if (v >> 32)
			return false;
		sys->tsc_aux = v;
		return true;
	}
	if (msr >= MSR_MTRR_PHYSBASE0 && msr < MSR_MTRR_PHYSBASE0 + 2 * X86_MTRR_VAR) {
		bool mask = (msr - MSR_MTRR_PHYSBASE0) & 1;
		/* base: type in 7:0, address 12..MAXPHYADDR; mask: valid bit 11 */
		uint64_t ok = (PHYS_MASK & ~0xfffull) | (mask ? 0x800 : 0xff);
		if ((v & ~ok) || (!mask && !valid_mem_type(v & 0xff)))
			return false;
		sys->mtrr_var[msr - MSR_MTRR_PHYSBASE0] = v;
		return true;
	}
	if ((fix = mtrr_fixed_index(msr)) >= 0) {
		if (!valid_mtrr_fixed(v))
			return false;
		sys->mtrr_fix[fix] = v;
		return true;
	}
	if (env && env->msr_write) {
		int r = env->msr_write(cpu, msr, v);
		if (r >= 0)
			return r;
	}
	if (msr == MSR_APIC_BASE)
		return v == 0xfee00900;
	log_msr("wrmsr", msr, v, cpu);
	return false;
}

/* ---- descriptors and segment loads ---- */

static uint64_t desc_base(uint64_t d) { return (d >> 16 & 0xffffff) | (d >> 56 & 0xff) << 24; }
static uint32_t desc_limit(uint64_t d)
{
	uint32_t l = (d & 0xffff) | (d >> 32 & 0xf0000);
	return (d >> 55 & 1) ? l << 12 | 0xfff : l;
}
static uint16_t desc_attr(uint64_t d) { return d >> 40 & 0xf0ff; }
static int desc_dpl(uint64_t d) { return d >> 45 & 3; }

/* The descriptor of sel (8 bytes, or 16 for a system descriptor in long
 * mode), read as a supervisor access; #GP(sel) past the table's limit. */
int x86_sys_read_desc(struct cpu *cpu, uint16_t sel, uint64_t d[2], bool wide,
		      struct x86_event *f)
{
	struct x86_sys *sys = cpu->sys;
	uint64_t base;
	uint32_t limit;
	if (sel & 4) {
		if (!(sys->seg[SEG_LDTR].attr & SEG_ATTR_P) || !(sys->seg[SEG_LDTR].sel & ~3)) {
			gp_event(f, X86_EXC_GP, sel & 0xfffc);
			return -1;
		}
		base = sys->seg[SEG_LDTR].base;
		limit = sys->seg[SEG_LDTR].limit;
	} else {
		base = sys->gdtr.base;
		limit = sys->gdtr.limit;
	}
	uint32_t off = sel & ~7u;
	if (off + (wide ? 15u : 7u) > limit) {
		gp_event(f, X86_EXC_GP, sel & 0xfffc);
		return -1;
	}
	d[1] = 0;
	return x86_sys_vread(cpu, base + off, d, wide ? 16 : 8, 0, f);
}

/* Set the descriptor's accessed bit (type bit 0) in the table, as the CPU
 * does on a load. */
static int set_accessed(struct cpu *cpu, uint16_t sel, uint64_t *d, struct x86_event *f)
{
	if (*d & (1ull << 40))
		return 0;
	*d |= 1ull << 40;
	uint64_t base = sel & 4 ? cpu->sys->seg[SEG_LDTR].base : cpu->sys->gdtr.base;
	uint8_t b = *d >> 40;
	return x86_sys_vwrite(cpu, base + (sel & ~7u) + 5, &b, 1, 0, f);
}

/*
 * mov/pop to a data segment register or SS, in long mode (SDM vol. 2,
 * MOV: "Protected mode exceptions" with the 64-bit mode rules): a null
 * selector is allowed in DS/ES/FS/GS always and in SS below CPL 3 with
 * RPL = CPL; FS/GS loads put the descriptor's 32-bit base in the base,
 * which 64-bit code changes through the MSRs or wrfsbase.
 */
int x86_sys_load_seg(struct cpu *cpu, int sreg, uint16_t sel, struct x86_event *f)
{
	struct x86_sys *sys = cpu->sys;
	int cpl = sys->cpl, rpl = sel & 3;
	uint64_t d[2];
	if (!(sel & ~3u)) {
		if (sreg == SREG_SS && (!code64(cpu) || cpl == 3 || rpl != cpl)) {
			gp_event(f, X86_EXC_GP, 0);
			return -1;
		}
		x86_sys_set_seg(cpu, sreg, sel, 0, 0, sreg == SREG_SS ? (uint16_t)(cpl << SEG_ATTR_DPL_SHIFT) : 0);
		return 0;
	}
	if (x86_sys_read_desc(cpu, sel, d, false, f))
		return -1;
	uint16_t attr = desc_attr(d[0]);
	unsigned type = attr & SEG_ATTR_TYPE;
	int dpl = desc_dpl(d[0]);
	bool code = type & SEG_TYPE_CODE;
	if (!(attr & SEG_ATTR_S))
		goto gp;
	if (sreg == SREG_SS) {
		if (code || !(type & SEG_TYPE_RW) || rpl != cpl || dpl != cpl)
			goto gp;
		if (!(attr & SEG_ATTR_P)) {
			gp_event(f, X86_EXC_SS, sel & 0xfffc);
			return -1;
		}
	} else {
		if (code && !(type & SEG_TYPE_RW))
			goto gp;	/* execute-only code */
		if ((!code || !(type & SEG_TYPE_CONFORMING)) && (rpl > dpl || cpl > dpl))
			goto gp;
		if (!(attr & SEG_ATTR_P)) {
			gp_event(f, X86_EXC_NP, sel & 0xfffc);
			return -1;
		}
	}
	if (set_accessed(cpu, sel, &d[0], f))
		return -1;
	x86_sys_set_seg(cpu, sreg, sel, desc_base(d[0]), desc_limit(d[0]), desc_attr(d[0]));
	return 0;
gp:
	gp_event(f, X86_EXC_GP, sel & 0xfffc);
	return -1;
}

/* The system-segment descriptor sel names in the GDT (16 bytes in long
 * mode) for lldt and ltr: of the given type, present (else #NP(sel)), with
 * a canonical base; any other failure is #GP(sel). */
static int read_system_desc(struct cpu *cpu, uint16_t sel, uint16_t type, uint64_t d[2],
			    uint64_t *base, uint16_t *attr, struct x86_event *f)
{
	if (x86_sys_read_desc(cpu, sel, d, long_mode(cpu), f))
		return -1;
	*attr = desc_attr(d[0]);
	if ((*attr & (SEG_ATTR_S | SEG_ATTR_TYPE)) != type) {
		gp_event(f, X86_EXC_GP, sel & 0xfffc);
		return -1;
	}
	if (!(*attr & SEG_ATTR_P)) {
		gp_event(f, X86_EXC_NP, sel & 0xfffc);
		return -1;
	}
	*base = desc_base(d[0]) | (long_mode(cpu) ? (d[1] & 0xffffffff) << 32 : 0);
	if (!x86_canonical(*base)) {
		gp_event(f, X86_EXC_GP, sel & 0xfffc);
		return -1;
	}
	return 0;
}

/* lldt: a null selector makes LDTR unusable; else an LDT descriptor
 * (16 bytes in long mode) from the GDT. */
int x86_sys_lldt(struct cpu *cpu, uint16_t sel, struct x86_event *f)
{
	uint64_t d[2], base;
	uint16_t attr;
	if (!(sel & ~3u)) {
		x86_sys_set_seg(cpu, SEG_LDTR, sel, 0, 0, 0);
		return 0;
	}
	if (sel & 4) {
		gp_event(f, X86_EXC_GP, sel & 0xfffc);
		return -1;
	}
	if (read_system_desc(cpu, sel, SYS_TYPE_LDT, d, &base, &attr, f))
		return -1;
	x86_sys_set_seg(cpu, SEG_LDTR, sel, base, desc_limit(d[0]), attr);
	return 0;
}

/* ltr: an available TSS from the GDT, which becomes busy (the descriptor
 * in memory too); a busy one is #GP(sel). */
int x86_sys_ltr(struct cpu *cpu, uint16_t sel, struct x86_event *f)
{
	uint64_t d[2];
	if (!(sel & ~3u) || (sel & 4)) {
		gp_event(f, X86_EXC_GP, sel & 0xfffc);
		return -1;
	}
	uint64_t base;
	uint16_t attr;
	if (read_system_desc(cpu, sel, SYS_TYPE_TSS_AVAIL, d, &base, &attr, f))
		return -1;
	uint8_t type = (d[0] >> 40 & 0xff) | 2;		/* busy */
	if (x86_sys_vwrite(cpu, cpu->sys->gdtr.base + (sel & ~7u) + 5, &type, 1, 0, f))
		return -1;
	x86_sys_set_seg(cpu, SEG_TR, sel, base, desc_limit(d[0]), attr | 2);
	return 0;
}

/* ---- syscall and sysret ---- */

/* The flat segments syscall and sysret load without reading the GDT
 * (SDM vol. 2, SYSCALL/SYSRET: the descriptor caches are fixed values). */
#define ATTR_CODE64(dpl) (0xa09b | (dpl) << SEG_ATTR_DPL_SHIFT)	/* G, L, P, code, accessed */
#define ATTR_CODE32(dpl) (0xc09b | (dpl) << SEG_ATTR_DPL_SHIFT)	/* G, D */
#define ATTR_DATA(dpl) (0xc093 | (dpl) << SEG_ATTR_DPL_SHIFT)	/* G, B, P, data rw */

/* Intel's syscall and sysret exist in 64-bit mode only (#UD elsewhere, and
 * without EFER.SCE); CSTAR, AMD's entry from compatibility mode, is kept
 * but never used. */
int x86_sys_syscall(struct cpu *cpu, uint64_t next_rip, struct x86_event *f)
{
	struct x86_sys *sys = cpu->sys;
	if (!(sys->efer & EFER_SCE) || !code64(cpu)) {
		*f = (struct x86_event){ .vector = X86_EXC_UD, .kind = X86_EV_EXCEPTION };
		return -1;
	}
	uint64_t rflags = x86_sys_get_rflags(cpu);
	uint16_t sel = sys->star >> 32 & 0xffff;
	cpu->regs[R_RCX] = next_rip;
	cpu->regs[R_R11] = rflags & ~X86_RF;
	x86_sys_set_rflags(cpu, rflags & ~sys->sfmask & ~X86_RF);
	x86_sys_set_seg(cpu, SREG_CS, sel & 0xfffc, 0, 0xffffffff, ATTR_CODE64(0));
	x86_sys_set_seg(cpu, SREG_SS, (sel + 8) & 0xfffc, 0, 0xffffffff, ATTR_DATA(0));
	cpu->rip = sys->lstar;
	return 0;
}

/* sysret: to CPL 3 at rcx (64-bit: size 3) or ecx (size 2, compatibility
 * mode).  Intel raises #GP(0) at CPL 0 for a non-canonical rcx, before
 * changing anything (AMD would fault after, in user mode). */
int x86_sys_sysret(struct cpu *cpu, int size, struct x86_event *f)
{
	struct x86_sys *sys = cpu->sys;
	if (!(sys->efer & EFER_SCE) || !code64(cpu)) {
		*f = (struct x86_event){ .vector = X86_EXC_UD, .kind = X86_EV_EXCEPTION };
		return -1;
	}
	if (sys->cpl != 0 || (size == 3 && !x86_canonical(cpu->regs[R_RCX]))) {
		gp_event(f, X86_EXC_GP, 0);
		return -1;
	}
	uint16_t sel = sys->star >> 48;
	x86_sys_set_rflags(cpu, (cpu->regs[R_R11] & 0x3c7fd7) | 2);
	if (size == 3) {
		x86_sys_set_seg(cpu, SREG_CS, (sel + 16) | 3, 0, 0xffffffff, ATTR_CODE64(3));
		cpu->rip = cpu->regs[R_RCX];
	} else {
		x86_sys_set_seg(cpu, SREG_CS, sel | 3, 0, 0xffffffff, ATTR_CODE32(3));
		cpu->rip = (uint32_t)cpu->regs[R_RCX];
	}
	/* SS's selector comes from STAR, its cache is the flat DPL-3 data */
	x86_sys_set_seg(cpu, SREG_SS, (sel + 8) | 3, 0, 0xffffffff, ATTR_DATA(3));
	return 0;
}

/* ---- the state as qemu-system's `info registers` shows it ---- */

/* A segment line; a present one also gets its DPL and kind, code and
 * data with their type bits ([conforming readable accessed], [expand-down
 * writable accessed]), system ones by name (long mode's). */
static void dump_seg(FILE *f, const char *name, const struct x86_seg *s, bool lma)
{
	static const char *const sys_names[16] = {
		[SYS_TYPE_LDT] = "LDT", [SYS_TYPE_TSS_AVAIL] = "TSS64-avl",
		[SYS_TYPE_TSS_BUSY] = "TSS64-busy", [0xc] = "CallGate64",
		[SYS_TYPE_INT_GATE] = "IntGate64", [SYS_TYPE_TRAP_GATE] = "TrapGate64",
	};
	unsigned a = s->attr, type = a & SEG_ATTR_TYPE;
	fprintf(f, "%s=%04x %016llx %08x %08x", name, s->sel, (unsigned long long)s->base, s->limit,
		a << 8);
	if (a & SEG_ATTR_P) {
		fprintf(f, " DPL=%u ", a >> SEG_ATTR_DPL_SHIFT & 3);
		if (!(a & SEG_ATTR_S))
			fprintf(f, "%s", sys_names[type] ? sys_names[type] : "Reserved");
		else if (type & SEG_TYPE_CODE)
			fprintf(f, "%s [%c%c%c]",
				a & SEG_ATTR_L ? "CS64" : a & SEG_ATTR_DB ? "CS32" : "CS16",
				type & 4 ? 'C' : '-', type & 2 ? 'R' : '-', type & 1 ? 'A' : '-');
		else
			fprintf(f, "%s [%c%c%c]", (a & SEG_ATTR_DB) || lma ? "DS  " : "DS16",
				type & 4 ? 'E' : '-', type & 2 ? 'W' : '-', type & 1 ? 'A' : '-');
	}
	fputc('\n', f);
}

/* The layout of QEMU's x86 register dump, so that logs and the monitor's
 * `info registers` compare line by line with the peer's: the descriptor
 * cache's flags are the descriptor's high dword (attr << 8). */
void x86_sys_dump_state(struct cpu *cpu, FILE *f)
{
	static const char *const names[16] = {
		"RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "RSP",
		"R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15",
	};
	static const int order[16] = { R_RAX, R_RBX, R_RCX, R_RDX, R_RSI, R_RDI, R_RBP, R_RSP,
				       8, 9, 10, 11, 12, 13, 14, 15 };
	struct x86_sys *sys = cpu->sys;
	uint64_t fl = x86_sys_get_rflags(cpu);
	for (int i = 0; i < 16; i++)
		fprintf(f, "%s=%016llx%s", names[i], (unsigned long long)cpu->regs[order[i]],
			(i & 3) == 3 ? "\n" : " ");
	fprintf(f, "RIP=%016llx RFL=%08llx [%c%c%c%c%c%c%c] CPL=%d II=%d A20=1 SMM=0 HLT=%d\n",
		(unsigned long long)cpu->rip, (unsigned long long)fl, fl & X86_DF ? 'D' : '-',
		fl & X86_OF ? 'O' : '-', fl & X86_SF ? 'S' : '-', fl & X86_ZF ? 'Z' : '-',
		fl & X86_AF ? 'A' : '-', fl & X86_PF ? 'P' : '-', fl & X86_CF ? 'C' : '-', sys->cpl,
		sys->sti_shadow && cpu->rip == sys->sti_shadow_rip, sys->stop == X86_STOP_HALT);
	static const char *const seg_names[SEG_NB] = { "ES ", "CS ", "SS ", "DS ", "FS ", "GS ",
						       "LDT", "TR " };
	for (int i = 0; i < SEG_NB; i++) {
		struct x86_seg s = sys->seg[i];
		if (i == SREG_FS)
			s.base = cpu->fs_base;
		else if (i == SREG_GS)
			s.base = cpu->gs_base;
		dump_seg(f, seg_names[i], &s, sys->efer & EFER_LMA);
	}
	fprintf(f, "GDT=     %016llx %08x\n", (unsigned long long)sys->gdtr.base, sys->gdtr.limit);
	fprintf(f, "IDT=     %016llx %08x\n", (unsigned long long)sys->idtr.base, sys->idtr.limit);
	fprintf(f, "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx\n", (unsigned long long)sys->cr0,
		(unsigned long long)sys->cr2, (unsigned long long)sys->cr3,
		(unsigned long long)sys->cr4);
	for (int i = 0; i < 4; i++)
		fprintf(f, "DR%d=%016llx%s", i, (unsigned long long)sys->dr[i], i == 3 ? "\n" : " ");
	uint64_t dr6, dr7;
	x86_sys_read_dr(cpu, 6, &dr6);
	x86_sys_read_dr(cpu, 7, &dr7);
	fprintf(f, "DR6=%016llx DR7=%016llx\n", (unsigned long long)dr6, (unsigned long long)dr7);
	fprintf(f, "EFER=%016llx\n", (unsigned long long)sys->efer);
}
