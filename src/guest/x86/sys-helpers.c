/*
 * helper_sys_priv: the run-time half of system mode's privileged and
 * system instructions (lift-priv.c lifts them).  One helper with an
 * operation number keeps the helper table short; none of these is hot
 * enough for a call per instruction to matter, next to the exits they
 * cause.
 *
 * The lifter stored the instruction's own rip before the call, so a fault
 * raised here (x86_sys_raise) is exact.  Operations that move control
 * (syscall, sysret, iret, int n, hlt) set rip themselves; the lifter then
 * leaves the TB unchained.  Port I/O goes to the environment's bus hooks;
 * an I/O permission failure at CPL > IOPL consults the TSS bitmap first.
 */
#include <string.h>
#include "exec/exec.h"
#include "guest/x86/cpu.h"
#include "guest/x86/cpuid.h"
#include "guest/x86/helpers.h"
#include "guest/x86/sys.h"

static int iopl(struct cpu *cpu) { return cpu->eflags >> 12 & 3; }

/* An interrupt may wait for IF: make the exec loop hand control back to
 * the machine at the next TB boundary. */
static void interrupts_opened(struct cpu *cpu)
{
	const struct x86_sys_env *env = cpu->sys->env;
	if (!env || !env->interrupt_pending || env->interrupt_pending(cpu))
		cpu->x.exit_request = 1;
}

/* The I/O permission check (SDM vol. 1, "I/O permission bit map"): at CPL
 * <= IOPL every port; else the bits of the TSS's map for the ports
 * accessed must all be clear, and a map beyond TR's limit denies. */
static void check_io(struct cpu *cpu, uint16_t port, int size)
{
	struct x86_sys *sys = cpu->sys;
	if (sys->cpl <= iopl(cpu))
		return;
	struct x86_seg *tr = &sys->seg[SEG_TR];
	struct x86_event f;
	uint16_t base, bits;
	if (!(tr->attr & SEG_ATTR_P) || tr->limit < 103)
		x86_raise_gp0(cpu);
	if (x86_sys_vread(cpu, tr->base + 102, &base, 2, 0, &f))
		x86_sys_raise(cpu, &f);
	uint32_t off = base + port / 8;
	if (off + 1 > tr->limit)
		x86_raise_gp0(cpu);
	if (x86_sys_vread(cpu, tr->base + off, &bits, 2, 0, &f))
		x86_sys_raise(cpu, &f);
	if ((bits >> (port & 7)) & ((1u << size) - 1))
		x86_raise_gp0(cpu);
}

static uint32_t io_in(struct cpu *cpu, uint16_t port, int size)
{
	const struct x86_sys_env *env = cpu->sys->env;
	if (env && env->io_read)
		return env->io_read(cpu, port, size);
	return size == 4 ? 0xffffffff : (1u << (8 * size)) - 1;
}

static void io_out(struct cpu *cpu, uint16_t port, int size, uint32_t v)
{
	const struct x86_sys_env *env = cpu->sys->env;
	if (env && env->io_write)
		env->io_write(cpu, port, size, v);
}

/* ins/outs: a = size in bytes | rep << 8 | segment-override base (0 none,
 * 1 FS, 2 GS) << 9 for outs.  Registers move per element, so a fault part
 * way leaves rcx/rsi/rdi counting what was done, as on the CPU. */
static void string_io(struct cpu *cpu, bool in, uint64_t a)
{
	int size = a & 0xff;
	bool rep = a >> 8 & 1;
	unsigned seg = a >> 9 & 3;
	uint16_t port = cpu->regs[R_RDX];
	int64_t step = (int64_t)cpu->df * size;
	struct x86_event f;
	check_io(cpu, port, size);
	while (!rep || cpu->regs[R_RCX]) {
		uint32_t v;
		if (in) {
			/* the destination is checked before the port is read,
			 * so a fault loses no device data */
			v = 0;
			if (x86_sys_vwrite(cpu, cpu->regs[R_RDI], &v, size, cpu->sys->cpl, &f))
				x86_sys_raise(cpu, &f);
			v = io_in(cpu, port, size);
			x86_sys_vwrite(cpu, cpu->regs[R_RDI], &v, size, cpu->sys->cpl, &f);
			cpu->regs[R_RDI] += step;
		} else {
			uint64_t base = seg == 1 ? cpu->fs_base : seg == 2 ? cpu->gs_base : 0;
			v = 0;
			if (x86_sys_vread(cpu, base + cpu->regs[R_RSI], &v, size, cpu->sys->cpl, &f))
				x86_sys_raise(cpu, &f);
			io_out(cpu, port, size, v);
			cpu->regs[R_RSI] += step;
		}
		if (!rep)
			break;
		cpu->regs[R_RCX]--;
	}
}

/* lgdt/lidt m: 2-byte limit, 8-byte base (canonical, else #GP(0)). */
static void load_dtr(struct cpu *cpu, uint64_t ea, bool idt)
{
	uint8_t m[10];
	struct x86_event f;
	if (x86_sys_vread(cpu, ea, m, 10, cpu->sys->cpl, &f))
		x86_sys_raise(cpu, &f);
	uint16_t limit;
	uint64_t base;
	memcpy(&limit, m, 2);
	memcpy(&base, m + 2, 8);
	if (!x86_canonical(base))
		x86_raise_gp0(cpu);
	if (idt) {
		cpu->sys->idtr.base = base;
		cpu->sys->idtr.limit = limit;
	} else {
		cpu->sys->gdtr.base = base;
		cpu->sys->gdtr.limit = limit;
	}
}

static void store_dtr(struct cpu *cpu, uint64_t ea, bool idt)
{
	uint8_t m[10];
	struct x86_event f;
	uint16_t limit = idt ? cpu->sys->idtr.limit : cpu->sys->gdtr.limit;
	uint64_t base = idt ? cpu->sys->idtr.base : cpu->sys->gdtr.base;
	memcpy(m, &limit, 2);
	memcpy(m + 2, &base, 8);
	if (x86_sys_vwrite(cpu, ea, m, 10, cpu->sys->cpl, &f))
		x86_sys_raise(cpu, &f);
}

/* xsetbv: XCR0 only (ecx 0), x87 always on, AVX only with SSE, nothing
 * the model lacks (CPUID leaf 0xd). */
static void xsetbv(struct cpu *cpu)
{
	struct x86_sys *sys = cpu->sys;
	if (!(sys->cr4 & CR4_OSXSAVE))
		x86_raise(cpu, X86_EXC_UD);
	uint64_t v = (uint32_t)cpu->regs[R_RAX] | cpu->regs[R_RDX] << 32;
	uint64_t supported = x86_level >= X86_V3 ? X86_XCR0 : 3;
	if ((uint32_t)cpu->regs[R_RCX] != 0 || !(v & 1) || (v & ~supported) || ((v & 4) && !(v & 2)))
		x86_raise_gp0(cpu);
	sys->xcr0 = v;
}

/* Far jmp/call/ret at one privilege level in long mode (what a kernel
 * uses to reload CS): a = ea of the far pointer (jmp, call) or rsp (ret),
 * b = FAR_* | log2 size << 4 | insn length << 8 | ret's immediate << 16.
 * The target is a code segment of the current CPL; a change of privilege
 * (through a call gate or a ret outward) is not modelled: #GP(sel). */
static void far_transfer(struct cpu *cpu, uint64_t ea, uint64_t op)
{
	struct x86_sys *sys = cpu->sys;
	unsigned kind = op & 15, n = 1u << (op >> 4 & 15), len = op >> 8 & 0xff;
	uint64_t off = 0, sel = 0, d[2];
	struct x86_event f;
	uint8_t m[16];
	/* ret pops two stack slots; jmp and call read an m16:n pointer */
	if (x86_sys_vread(cpu, ea, m, kind == FAR_RET ? 2 * n : n + 2, sys->cpl, &f))
		x86_sys_raise(cpu, &f);
	memcpy(&off, m, n);
	memcpy(&sel, m + n, 2);
	if (!(sel & ~3u))
		x86_raise_gp0(cpu);
	if (x86_sys_read_desc(cpu, sel, d, false, &f))
		x86_sys_raise(cpu, &f);
	uint16_t attr = d[0] >> 40 & 0xf0ff;
	int dpl = attr >> SEG_ATTR_DPL_SHIFT & 3;
	bool conforming = attr & SEG_TYPE_CONFORMING;
	if (!(attr & SEG_ATTR_S) || !(attr & SEG_TYPE_CODE) ||
	    (conforming ? dpl > sys->cpl : (dpl != sys->cpl || (int)(sel & 3) > sys->cpl)) ||
	    (kind == FAR_RET && (int)(sel & 3) != sys->cpl))
		x86_raise_err(cpu, X86_EXC_GP, sel & 0xfffc);
	if (!(attr & SEG_ATTR_P)) {
		struct x86_event np = { .vector = X86_EXC_NP, .has_err = true, .err = sel & 0xfffc };
		x86_sys_raise(cpu, &np);
	}
	if (!(attr & SEG_ATTR_L))
		off = (uint32_t)off;
	else if (!x86_canonical(off))
		x86_raise_gp0(cpu);
	if (kind == FAR_CALL) {
		uint64_t sp = cpu->regs[R_RSP] - 2 * n, ret = cpu->rip + len, cs = sys->seg[SREG_CS].sel;
		memcpy(m, &ret, n);
		memcpy(m + n, &cs, n);
		if (x86_sys_vwrite(cpu, sp, m, 2 * n, sys->cpl, &f))
			x86_sys_raise(cpu, &f);
		cpu->regs[R_RSP] = sp;
	} else if (kind == FAR_RET) {
		cpu->regs[R_RSP] += 2 * n + (op >> 16 & 0xffff);
	}
	x86_sys_set_seg(cpu, SREG_CS, (sel & 0xfffc) | sys->cpl, 0, 0xffffffff, attr);
	cpu->rip = off;
}

/*
 * LAR, LSL, VERR, VERW on the guest's GDT/LDT (SDM vol. 2): a null
 * selector, one past the table's limit, a type the instruction does not
 * accept, or (but for conforming code) a DPL below CPL or RPL answers
 * ZF = 0 without a fault; reading the table may still page-fault.  LAR and
 * LSL return the value in bits 31:0 and ZF in bit 32, VERR/VERW ZF in bit
 * 0, as helper_sys does in user mode.  In long mode the system types are
 * the LDT and the TSSs (and the 64-bit call gate, for LAR only).
 */
static uint64_t desc_query(struct cpu *cpu, int op, uint16_t sel)
{
	struct x86_sys *sys = cpu->sys;
	struct x86_seg *table = sel & 4 ? &sys->seg[SEG_LDTR] : NULL;
	uint32_t limit = table ? table->limit : sys->gdtr.limit;
	uint64_t d[2];
	struct x86_event f;
	if (!(sel & ~3u) || (sel | 7u) > limit || (table && !(table->attr & SEG_ATTR_P)))
		return 0;
	if (x86_sys_read_desc(cpu, sel, d, false, &f))
		x86_sys_raise(cpu, &f);
	unsigned attr = d[0] >> 40 & 0xff, type = attr & 0xf;
	int dpl = attr >> 5 & 3;
	bool s = attr & SEG_ATTR_S, code = type & SEG_TYPE_CODE;
	bool conforming = s && code && (type & SEG_TYPE_CONFORMING);
	if (!conforming && (dpl < sys->cpl || dpl < (sel & 3)))
		return 0;
	bool ok;
	switch (op) {
	case SYS_LAR:
		ok = s || type == SYS_TYPE_LDT || type == SYS_TYPE_TSS_AVAIL ||
		     type == SYS_TYPE_TSS_BUSY || type == 0xc;
		return ok ? ((uint32_t)(d[0] >> 32) & 0x00f0ff00) | 1ull << 32 : 0;
	case SYS_LSL: {
		ok = s || type == SYS_TYPE_LDT || type == SYS_TYPE_TSS_AVAIL ||
		     type == SYS_TYPE_TSS_BUSY;
		uint32_t l = (d[0] & 0xffff) | (d[0] >> 32 & 0xf0000);
		if (d[0] >> 55 & 1)
			l = l << 12 | 0xfff;
		return ok ? l | 1ull << 32 : 0;
	}
	case SYS_VERR:
		return s && (!code || (type & SEG_TYPE_RW));
	case SYS_VERW:
		return s && !code && (type & SEG_TYPE_RW);
	}
	return 0;
}

uint64_t helper_sys_priv(uint64_t env, uint64_t op, uint64_t a, uint64_t b)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	struct x86_sys *sys = cpu->sys;
	struct x86_event f;
	uint64_t v;

	switch (op) {
	case SYSOP_RDCR:
		if (!x86_sys_read_cr(cpu, a, &v))
			x86_raise(cpu, X86_EXC_UD);
		return v;
	case SYSOP_WRCR:
		if (a != 0 && a != 2 && a != 3 && a != 4 && a != 8)
			x86_raise(cpu, X86_EXC_UD);	/* no such control register */
		if (!x86_sys_write_cr(cpu, a, b))
			x86_raise_gp0(cpu);
		if (a == 8)
			interrupts_opened(cpu);	/* a lower priority may let one in */
		return 0;
	case SYSOP_RDDR:
		if (x86_sys_dr_ud(cpu, a) || !x86_sys_read_dr(cpu, a, &v))
			x86_raise(cpu, X86_EXC_UD);
		return v;
	case SYSOP_WRDR:
		if (x86_sys_dr_ud(cpu, a) || a > 7)
			x86_raise(cpu, X86_EXC_UD);
		if (!x86_sys_write_dr(cpu, a, b))
			x86_raise_gp0(cpu);
		return 0;
	case SYSOP_RDMSR:
		if (!x86_sys_rdmsr(cpu, (uint32_t)cpu->regs[R_RCX], &v))
			x86_raise_gp0(cpu);
		cpu->regs[R_RAX] = (uint32_t)v;
		cpu->regs[R_RDX] = v >> 32;
		return 0;
	case SYSOP_WRMSR:
		v = (uint32_t)cpu->regs[R_RAX] | cpu->regs[R_RDX] << 32;
		if (!x86_sys_wrmsr(cpu, (uint32_t)cpu->regs[R_RCX], v))
			x86_raise_gp0(cpu);
		return 0;
	case SYSOP_LGDT: load_dtr(cpu, a, false); return 0;
	case SYSOP_LIDT: load_dtr(cpu, a, true); return 0;
	case SYSOP_SGDT: store_dtr(cpu, a, false); return 0;
	case SYSOP_SIDT: store_dtr(cpu, a, true); return 0;
	case SYSOP_LLDT:
		if (x86_sys_lldt(cpu, a, &f))
			x86_sys_raise(cpu, &f);
		return 0;
	case SYSOP_LTR:
		if (x86_sys_ltr(cpu, a, &f))
			x86_sys_raise(cpu, &f);
		return 0;
	case SYSOP_SLDT: return sys->seg[SEG_LDTR].sel;
	case SYSOP_STR: return sys->seg[SEG_TR].sel;
	case SYSOP_SMSW: return sys->cr0;
	case SYSOP_LMSW:
		/* the low four bits; PE can be set but not cleared */
		v = (sys->cr0 & ~0xeull) | (a & 0xf) | (sys->cr0 & CR0_PE);
		if (!x86_sys_write_cr(cpu, 0, v))
			x86_raise_gp0(cpu);
		return 0;
	case SYSOP_CLTS:
		sys->cr0 &= ~CR0_TS;
		return 0;
	case SYSOP_SWAPGS:
		v = cpu->gs_base;
		cpu->gs_base = sys->seg[SREG_GS].base = sys->kernel_gs_base;
		sys->kernel_gs_base = v;
		return 0;
	case SYSOP_INVLPG:
		if (sys->env && sys->env->tlb_flush)
			sys->env->tlb_flush(cpu, SYS_TLB_FLUSH_PAGE, a);
		return 0;
	case SYSOP_HLT:	/* a = length */
		cpu->rip += a;
		sys->stop = X86_STOP_HALT;
		cpu->x.exit_request = 1;
		return 0;
	case SYSOP_CLI:
	case SYSOP_STI:	/* a = length */
		if (sys->cpl > iopl(cpu))
			x86_raise_gp0(cpu);
		if (op == SYSOP_CLI) {
			cpu->eflags &= ~(uint64_t)X86_IF;
		} else if (!(cpu->eflags & X86_IF)) {
			cpu->eflags |= X86_IF;
			sys->sti_shadow = true;
			sys->sti_shadow_rip = cpu->rip + a;
			interrupts_opened(cpu);
		}
		return 0;
	case SYSOP_POPF: {	/* a = value, b = 1 (16-bit) or 3 */
		uint64_t old = x86_sys_get_rflags(cpu);
		uint64_t mask = X86_ARITH_FLAGS | X86_DF | X86_TF | 0x4000 | X86_AC | X86_ID;
		if (sys->cpl == 0)
			mask |= 0x3000;	/* IOPL */
		if (sys->cpl <= iopl(cpu))
			mask |= X86_IF;
		if (b == 1)
			mask &= 0xffff;
		x86_sys_set_rflags(cpu, ((old & ~mask) | (a & mask)) & ~(uint64_t)X86_RF);
		if (!(old & X86_IF) && (cpu->eflags & X86_IF))
			interrupts_opened(cpu);
		return 0;
	}
	case SYSOP_XSETBV: xsetbv(cpu); return 0;
	case SYSOP_RDTSC:
	case SYSOP_RDTSCP:
		if ((sys->cr4 & CR4_TSD) && sys->cpl)
			x86_raise_gp0(cpu);
		v = x86_sys_tsc(cpu);
		cpu->regs[R_RAX] = (uint32_t)v;
		cpu->regs[R_RDX] = v >> 32;
		if (op == SYSOP_RDTSCP)
			cpu->regs[R_RCX] = (uint32_t)sys->tsc_aux;
		return 0;
	case SYSOP_RDPMC:	/* no performance counters: every index is invalid */
		x86_raise_gp0(cpu);
	case SYSOP_CPUID: {
		uint32_t r[4];
		x86_sys_cpuid(cpu, (uint32_t)cpu->regs[R_RAX], (uint32_t)cpu->regs[R_RCX], r);
		cpu->regs[R_RAX] = r[0];
		cpu->regs[R_RBX] = r[1];
		cpu->regs[R_RCX] = r[2];
		cpu->regs[R_RDX] = r[3];
		return 0;
	}
	case SYSOP_SYSCALL:	/* a = length */
		if (x86_sys_syscall(cpu, cpu->rip + a, &f))
			x86_sys_raise(cpu, &f);
		return 0;
	case SYSOP_SYSRET:	/* a = log2 operand size */
		if (x86_sys_sysret(cpu, a, &f))
			x86_sys_raise(cpu, &f);
		return 0;
	case SYSOP_IRET: {	/* a = log2 operand size */
		bool was = cpu->eflags & X86_IF;
		if (x86_sys_iret(cpu, a, &f))
			x86_sys_raise(cpu, &f);
		if (!was && (cpu->eflags & X86_IF))
			interrupts_opened(cpu);
		return 0;
	}
	case SYSOP_INT: {	/* a = vector, b = length | kind << 8 */
		struct x86_event ev = { .vector = a & 0xff, .kind = b >> 8, .insn_len = b & 0xff };
		if (!x86_sys_deliver(cpu, &ev))
			cpu->x.exit_request = 1;	/* triple fault: the machine resets */
		return 0;
	}
	case SYSOP_IN:	/* a = port, b = size in bytes */
		check_io(cpu, a, b);
		return io_in(cpu, a, b);
	case SYSOP_OUT:	/* a = port, b = size | value << 32 */
		check_io(cpu, a, b & 0xff);
		io_out(cpu, a, b & 0xff, b >> 32);
		return 0;
	case SYSOP_INS: string_io(cpu, true, a); return 0;
	case SYSOP_OUTS: string_io(cpu, false, a); return 0;
	case SYSOP_SEG_LOAD:	/* a = sreg, b = selector */
		if (x86_sys_load_seg(cpu, a, b, &f))
			x86_sys_raise(cpu, &f);
		return 0;
	case SYSOP_FAR: far_transfer(cpu, a, b); return 0;
	case SYSOP_DESC: return desc_query(cpu, a, b);	/* a = SYS_LAR.., b = selector */
	case SYSOP_RDPID: return sys->tsc_aux;
	case SYSOP_XGETBV:	/* XCR0 only: no XGETBV_ECX_1 in the model */
		if (!(sys->cr4 & CR4_OSXSAVE))
			x86_raise(cpu, X86_EXC_UD);
		if ((uint32_t)cpu->regs[R_RCX] != 0)
			x86_raise_gp0(cpu);
		cpu->regs[R_RAX] = (uint32_t)sys->xcr0;
		cpu->regs[R_RDX] = sys->xcr0 >> 32;
		return 0;
	}
	x86_raise(cpu, X86_EXC_UD);
}
