/*
 * Events in system mode: exception and interrupt delivery through the
 * long-mode IDT, iret back out of a handler, and the glue between the exec
 * loop's faults and x86 vectors.  SDM vol. 3, "Interrupt and exception
 * handling" (64-bit mode: 16-byte gates, IST, the stack frame of five
 * quadwords plus the error code) and vol. 2, IRET.
 *
 * Delivery reads the gate, the code segment descriptor and the TSS, and
 * writes the frame, all through the environment's virtual-memory accessor
 * (x86_sys_vread/vwrite); it changes no register until every one of those
 * succeeded, so a fault during delivery finds the state as it was and can
 * be delivered itself, or escalate to #DF and then to a triple fault.
 */
#include <string.h>
#include "exec/exec.h"
#include "guest/x86/cpu.h"
#include "guest/x86/sys.h"
#include "util/log.h"

#define X86_NT 0x4000ull
#define X86_IOPL 0x3000ull
#define X86_VM 0x20000ull

static void set_fault(struct x86_event *f, int vector, uint32_t err)
{
	*f = (struct x86_event){ .vector = vector, .has_err = true, .err = err,
				 .kind = X86_EV_EXCEPTION };
}

_Static_assert(((X86_CF_SYSTEM | X86_CF_MMU_MASK << X86_CF_MMU_SHIFT | X86_CF_COMPAT | X86_CF_ALIGN) &
		~(uint32_t)CF_GUEST_MASK) == 0,
	       "x86's mode bits lie in the guest's part of the TB flags");
_Static_assert(X86_MMU_NB - 1 <= X86_CF_MMU_MASK, "the MMU index fits its field");

uint32_t x86_sys_tb_mode(struct cpu *cpu)
{
	struct x86_sys *sys = cpu->sys;
	if (!sys)
		return cpu->eflags & X86_AC ? X86_CF_ALIGN : 0;
	/* CPL 1 and 2 translate as 3 for privileged instructions (they need
	 * CPL 0), and their accesses are supervisor ones (x86_mmu_index) */
	uint32_t m = X86_CF_SYSTEM;
	m |= x86_mmu_index(sys->cpl, cpu->eflags & X86_AC, sys->cr4) << X86_CF_MMU_SHIFT;
	if (sys->cpl)
		m |= X86_CF_CPL3;
	if (!(sys->seg[SREG_CS].attr & SEG_ATTR_L))
		m |= X86_CF_COMPAT;
	/* at CPL 0 RFLAGS.AC is SMAP's override (the MMU index above), not
	 * alignment checking, which only CPL 3 has */
	if (sys->cpl == 3 && (sys->cr0 & CR0_AM) && (cpu->eflags & X86_AC))
		m |= X86_CF_ALIGN;
	return m;
}

/* Whether an event's delivery faulting makes #DF (SDM vol. 3, "Conditions
 * for generating a double fault"): contributory then contributory, or a
 * page fault then a page fault or a contributory one. */
static bool contributory(int v)
{
	return v == X86_EXC_DE || (v >= X86_EXC_TS && v <= X86_EXC_GP);
}

static bool makes_double_fault(int first, int second)
{
	if (contributory(first))
		return contributory(second);
	if (first == X86_EXC_PF)
		return second == X86_EXC_PF || contributory(second);
	return false;
}

/* An 8-byte field of the 64-bit TSS (RSP0-2 at 4, IST1-7 at 36). */
static int read_tss(struct cpu *cpu, uint32_t off, uint64_t *v, uint32_t ext, struct x86_event *f)
{
	struct x86_seg *tr = &cpu->sys->seg[SEG_TR];
	if (!(tr->attr & SEG_ATTR_P) || off + 7 > tr->limit) {
		set_fault(f, X86_EXC_TS, (tr->sel & 0xfffc) | ext);
		return -1;
	}
	return x86_sys_vread(cpu, tr->base + off, v, 8, 0, f);
}

/* One attempt at delivering ev; ext is the EXT bit of the error codes of
 * faults it raises.  0, or -1 with *f the fault (nothing changed). */
static int deliver_once(struct cpu *cpu, const struct x86_event *ev, uint32_t ext,
			struct x86_event *f)
{
	struct x86_sys *sys = cpu->sys;
	int vec = ev->vector, cpl = sys->cpl;
	uint32_t idt_err = vec * 8 + 2 + ext;
	uint64_t g[2], d[2];

	if (vec * 16u + 15 > sys->idtr.limit) {
		set_fault(f, X86_EXC_GP, idt_err);
		return -1;
	}
	if (x86_sys_vread(cpu, sys->idtr.base + vec * 16u, g, 16, 0, f))
		return -1;
	unsigned type = g[0] >> 40 & 0x1f;	/* S and type */
	if (type != SYS_TYPE_INT_GATE && type != SYS_TYPE_TRAP_GATE) {
		set_fault(f, X86_EXC_GP, idt_err);
		return -1;
	}
	if (ev->kind == X86_EV_SOFT_INT && (int)(g[0] >> 45 & 3) < cpl) {
		set_fault(f, X86_EXC_GP, idt_err);
		return -1;
	}
	if (!(g[0] >> 47 & 1)) {
		set_fault(f, X86_EXC_NP, idt_err);
		return -1;
	}
	uint16_t sel = g[0] >> 16;
	uint64_t target = (g[0] & 0xffff) | (g[0] >> 48 & 0xffff) << 16 | (g[1] & 0xffffffff) << 32;
	unsigned ist = g[0] >> 32 & 7;
	if (!(sel & ~3u)) {
		set_fault(f, X86_EXC_GP, ext);
		return -1;
	}
	if (x86_sys_read_desc(cpu, sel, d, false, f)) {
		if (f->has_err)
			f->err |= ext;
		return -1;
	}
	uint16_t attr = d[0] >> 40 & 0xf0ff;
	int dpl = attr >> SEG_ATTR_DPL_SHIFT & 3;
	bool is_code = (attr & SEG_ATTR_S) && (attr & SEG_TYPE_CODE);
	if (!is_code || !(attr & SEG_ATTR_L) || (attr & SEG_ATTR_DB) || dpl > cpl) {
		set_fault(f, X86_EXC_GP, (sel & 0xfffc) | ext);
		return -1;
	}
	if (!(attr & SEG_ATTR_P)) {
		set_fault(f, X86_EXC_NP, (sel & 0xfffc) | ext);
		return -1;
	}
	int new_cpl = (attr & SEG_TYPE_CONFORMING) ? cpl : dpl;
	uint64_t rsp = cpu->regs[R_RSP];
	if (ist) {
		if (read_tss(cpu, 36 + 8 * (ist - 1), &rsp, ext, f))
			return -1;
	} else if (new_cpl < cpl) {
		if (read_tss(cpu, 4 + 8 * new_cpl, &rsp, ext, f))
			return -1;
	}
	if ((ist || new_cpl < cpl) && !x86_canonical(rsp)) {
		set_fault(f, X86_EXC_SS, ext);
		return -1;
	}
	if (!x86_canonical(target)) {
		set_fault(f, X86_EXC_GP, ext);
		return -1;
	}
	rsp &= ~15ull;

	uint64_t rip = cpu->rip;
	if (ev->kind == X86_EV_SOFT_INT || ev->kind == X86_EV_TRAP)
		rip += ev->insn_len;
	uint64_t rflags = x86_sys_get_rflags(cpu);
	uint64_t pushed = rflags;
	/* a fault's frame has RF set, so that returning to the instruction
	 * does not stop at an instruction breakpoint again (SDM vol. 3,
	 * "Debug exceptions": not #DB's own) */
	if (ev->kind == X86_EV_EXCEPTION && vec != X86_EXC_DB && vec != X86_EXC_DF &&
	    vec != X86_EXC_MC)
		pushed |= X86_RF;
	uint64_t frame[6];
	int n = 0;
	if (ev->has_err)
		frame[n++] = ev->err;
	frame[n++] = rip;
	frame[n++] = sys->seg[SREG_CS].sel;
	frame[n++] = pushed;
	frame[n++] = cpu->regs[R_RSP];
	frame[n++] = sys->seg[SREG_SS].sel;
	uint64_t sp = rsp - 8 * n;
	/* pushed one by one from the top, as the CPU does: a fault's CR2 is
	 * the first push that cannot be written */
	for (int i = n - 1; i >= 0; i--)
		if (x86_sys_vwrite(cpu, sp + 8 * i, &frame[i], 8, new_cpl, f))
			return -1;

	/* committed */
	x86_sys_set_seg(cpu, SREG_CS, (sel & 0xfffc) | new_cpl, 0, 0xffffffff, attr | SEG_TYPE_ACCESSED);
	if (new_cpl != cpl)
		x86_sys_set_seg(cpu, SREG_SS, new_cpl, 0, 0, new_cpl << SEG_ATTR_DPL_SHIFT);
	cpu->regs[R_RSP] = sp;
	rflags &= ~(uint64_t)(X86_TF | X86_NT | X86_RF | X86_VM);
	if (type == SYS_TYPE_INT_GATE)
		rflags &= ~(uint64_t)X86_IF;
	x86_sys_set_rflags(cpu, rflags);
	cpu->rip = target;
	return 0;
}

bool x86_sys_log_int;

static void log_event(struct cpu *cpu, const struct x86_event *ev)
{
	static unsigned long count;
	struct x86_sys *sys = cpu->sys;
	FILE *f = log_file ? log_file : stderr;
	fprintf(f, "%6lu: v=%02x e=%04x i=%d cpl=%d IP=%04x:%016llx pc=%016llx SP=%04x:%016llx",
		count++, ev->vector, ev->has_err ? ev->err : 0, ev->kind == X86_EV_SOFT_INT, sys->cpl,
		sys->seg[SREG_CS].sel, (unsigned long long)cpu->rip, (unsigned long long)cpu->rip,
		sys->seg[SREG_SS].sel, (unsigned long long)cpu->regs[R_RSP]);
	if (ev->vector == X86_EXC_PF)
		fprintf(f, " CR2=%016llx\n", (unsigned long long)ev->cr2);
	else
		fprintf(f, " env->regs[R_EAX]=%016llx\n", (unsigned long long)cpu->regs[R_RAX]);
	x86_sys_dump_state(cpu, f);
}

bool x86_sys_deliver(struct cpu *cpu, const struct x86_event *ev)
{
	struct x86_sys *sys = cpu->sys;
	struct x86_event cur = *ev, f;
	/* EXT: the fault happened while delivering something other than a
	 * software interrupt (SDM vol. 3, "Error code") */
	uint32_t ext = ev->kind != X86_EV_SOFT_INT;

	sys->stop = X86_STOP_NONE;
	sys->sti_shadow = false;
	for (int tries = 0; tries < 4; tries++) {
		if (cur.vector == X86_EXC_PF)
			sys->cr2 = cur.cr2;
		if (x86_sys_log_int)
			log_event(cpu, &cur);
		if (!deliver_once(cpu, &cur, ext, &f))
			return true;
		/* CR2 is loaded when a #PF is detected, even one that
		 * becomes #DF */
		if (f.vector == X86_EXC_PF)
			sys->cr2 = f.cr2;
		if (cur.vector == X86_EXC_DF)
			break;
		if (makes_double_fault(cur.vector, f.vector))
			cur = (struct x86_event){ .vector = X86_EXC_DF, .has_err = true, .err = 0,
						  .kind = X86_EV_EXCEPTION };
		else
			cur = f;	/* the second one is handled instead */
		cur.kind = X86_EV_EXCEPTION;
		ext = 1;
	}
	/* a fault while delivering #DF: shutdown, which a PC resets on */
	if (log_enabled(LOG_GUEST_ERRORS))
		log_printf("loom: triple fault at rip 0x%llx\n", (unsigned long long)cpu->rip);
	sys->stop = X86_STOP_SHUTDOWN;
	return false;
}

/* The exception exec_run returned with, as delivery describes events: a
 * software one (int n, int3, into) has its gate's DPL checked; a trap's
 * rip is already past its instruction.  #DB reports its DR6 bits. */
bool x86_sys_deliver_pending(struct cpu *cpu)
{
	const struct guest_exception *e = &cpu->x.exc;
	struct x86_event ev = {
		.vector = e->vector, .has_err = e->flags & EXC_HAS_ERROR, .err = e->error_code,
		.cr2 = e->addr,
		.kind = e->flags & EXC_SOFTWARE ? X86_EV_SOFT_INT : X86_EV_EXCEPTION,
	};
	if (e->vector == X86_EXC_DB)
		cpu->sys->dr[6] |= e->info;
	return x86_sys_deliver(cpu, &ev);
}

_Noreturn void x86_sys_raise(struct cpu *cpu, const struct x86_event *ev)
{
	exec_raise(cpu, &(struct guest_exception){
				.vector = ev->vector, .flags = ev->has_err ? EXC_HAS_ERROR : 0,
				.error_code = ev->err, .addr = ev->cr2 });
}

bool x86_sys_interrupts_enabled(struct cpu *cpu)
{
	struct x86_sys *sys = cpu->sys;
	if (!(cpu->eflags & X86_IF))
		return false;
	return !(sys->sti_shadow && cpu->rip == sys->sti_shadow_rip);
}

bool x86_take_interrupt(struct cpu *cpu, int vector)
{
	struct x86_event ev = { .vector = vector, .kind = X86_EV_EXTERNAL };
	return x86_sys_deliver(cpu, &ev);
}

/* NMIs are blocked from the delivery of one until the next iret (SDM
 * vol. 3, "Handling multiple NMIs"), even an iret that faults later. */
bool x86_take_nmi(struct cpu *cpu)
{
	if (cpu->sys->nmi_blocked)
		return false;
	cpu->sys->nmi_blocked = true;
	x86_take_interrupt(cpu, X86_EXC_NMI);
	return true;
}

/* The segment's DPL, and whether iret to an outer level must null it:
 * data and non-conforming code segments more privileged than the new CPL
 * (SDM vol. 2, IRET: "RETURN-TO-OUTER-PRIVILEGE-LEVEL"). */
static void null_if_privileged(struct cpu *cpu, int sreg, int cpl)
{
	struct x86_seg *s = &cpu->sys->seg[sreg];
	int dpl = s->attr >> SEG_ATTR_DPL_SHIFT & 3;
	bool conforming_code = (s->attr & SEG_TYPE_CODE) && (s->attr & SEG_TYPE_CONFORMING);
	if (dpl >= cpl || conforming_code)
		return;
	/* the base stays: for FS and GS it is cpu's (wrfsbase, the MSRs) */
	uint64_t base = sreg == SREG_FS ? cpu->fs_base : sreg == SREG_GS ? cpu->gs_base : s->base;
	x86_sys_set_seg(cpu, sreg, 0, base, s->limit, 0);
}

/*
 * iret in long mode (IA-32e): pops rip, cs, rflags, rsp, ss, each of the
 * operand size; returns to the same or an outer privilege level (an inner
 * one is #GP(cs)); 64-bit mode always pops rsp and ss, and allows a null
 * ss when returning to 64-bit code below CPL 3.  Nested tasks (NT) do not
 * exist in long mode: #GP(0).
 */
int x86_sys_iret(struct cpu *cpu, int size, struct x86_event *f)
{
	struct x86_sys *sys = cpu->sys;
	unsigned n = 1u << size;
	int cpl = sys->cpl;
	uint64_t v[5] = { 0 };
	uint8_t raw[40];
	uint64_t cs_d[2], ss_d[2];

	if (cpu->eflags & X86_NT) {
		set_fault(f, X86_EXC_GP, 0);
		return -1;
	}
	sys->nmi_blocked = false;	/* any iret ends the NMI's blocking */
	if (x86_sys_vread(cpu, cpu->regs[R_RSP], raw, 5 * n, cpl, f))
		return -1;
	for (int i = 0; i < 5; i++)
		memcpy(&v[i], raw + i * n, n);
	uint64_t rip = v[0], rflags = v[2], rsp = v[3];
	uint16_t cs = v[1], ss = v[4];
	int rpl = cs & 3;

	if (!(cs & ~3u)) {
		set_fault(f, X86_EXC_GP, 0);
		return -1;
	}
	if (rpl < cpl) {
		set_fault(f, X86_EXC_GP, cs & 0xfffc);
		return -1;
	}
	if (x86_sys_read_desc(cpu, cs, cs_d, false, f))
		return -1;
	uint16_t cs_attr = cs_d[0] >> 40 & 0xf0ff;
	int cs_dpl = cs_attr >> SEG_ATTR_DPL_SHIFT & 3;
	if (!(cs_attr & SEG_ATTR_S) || !(cs_attr & SEG_TYPE_CODE) ||
	    ((cs_attr & SEG_TYPE_CONFORMING) ? cs_dpl > rpl : cs_dpl != rpl)) {
		set_fault(f, X86_EXC_GP, cs & 0xfffc);
		return -1;
	}
	if (!(cs_attr & SEG_ATTR_P)) {
		set_fault(f, X86_EXC_NP, cs & 0xfffc);
		return -1;
	}
	bool to64 = cs_attr & SEG_ATTR_L;
	uint16_t ss_attr = rpl << SEG_ATTR_DPL_SHIFT;
	if (!(ss & ~3u)) {
		if (!to64 || rpl == 3 || (ss & 3) != rpl) {
			set_fault(f, X86_EXC_GP, 0);
			return -1;
		}
		ss_d[0] = 0;
	} else {
		if ((ss & 3) != rpl) {
			set_fault(f, X86_EXC_GP, ss & 0xfffc);
			return -1;
		}
		if (x86_sys_read_desc(cpu, ss, ss_d, false, f))
			return -1;
		ss_attr = ss_d[0] >> 40 & 0xf0ff;
		if (!(ss_attr & SEG_ATTR_S) || (ss_attr & SEG_TYPE_CODE) || !(ss_attr & SEG_TYPE_RW) ||
		    (ss_attr >> SEG_ATTR_DPL_SHIFT & 3) != rpl) {
			set_fault(f, X86_EXC_GP, ss & 0xfffc);
			return -1;
		}
		if (!(ss_attr & SEG_ATTR_P)) {
			set_fault(f, X86_EXC_SS, ss & 0xfffc);
			return -1;
		}
	}
	if (!to64)
		rip = (uint32_t)rip;
	else if (!x86_canonical(rip)) {
		set_fault(f, X86_EXC_GP, 0);
		return -1;
	}

	/* committed: RFLAGS as popf at the old CPL changes it */
	uint64_t old = x86_sys_get_rflags(cpu);
	uint64_t mask = X86_ARITH_FLAGS | X86_DF | X86_TF | X86_NT | X86_RF | X86_AC | X86_ID;
	if (cpl == 0)
		mask |= X86_IOPL;
	if (cpl <= (int)(old >> 12 & 3))
		mask |= X86_IF;
	if (n == 2)
		mask &= 0xffff;
	x86_sys_set_rflags(cpu, (old & ~mask) | (rflags & mask));
	x86_sys_set_seg(cpu, SREG_CS, cs, 0, 0xffffffff, cs_attr);
	if (ss & ~3u)
		x86_sys_set_seg(cpu, SREG_SS, ss, 0, 0xffffffff, ss_attr);
	else
		x86_sys_set_seg(cpu, SREG_SS, ss, 0, 0, ss_attr);
	cpu->regs[R_RSP] = rsp;
	cpu->rip = rip;
	if (rpl > cpl)
		for (int s = 0; s <= SREG_GS; s++)
			if (s != SREG_CS && s != SREG_SS)
				null_if_privileged(cpu, s, rpl);
	return 0;
}
