/*
 * Guest CPU lifetime: the reset state a Linux process starts with, the
 * -d cpu dump, and the MXCSR hand-over between the guest and loom (cpu.h).
 * Owns nothing else; flags live in flags.c.
 */
#include <inttypes.h>
#include <ucontext.h>
#include <stdio.h>
#include <string.h>
#include "guest/guest.h"
#include "guest/x86/cpu.h"
#include "guest/x86/sse-ops.h"
#include "guest/x86/sys.h"
#include "host/host.h"

/* Live only on the thread running the cpu: another thread (a control
 * channel, a debugger) sees cpu->mxcsr as last folded. */
static bool live(struct cpu *cpu)
{
	return cpu->mxcsr_live && exec_current_cpu == cpu;
}

/* In a tool region of translated code (host/host.h): the host MXCSR is
 * the tool's, the guest's is in cpu->x.guest_csr until the region ends. */
static bool in_tool(struct cpu *cpu)
{
	return cpu->x.tool_fp == TOOL_FP_IN;
}

uint32_t x86_mxcsr_read(struct cpu *cpu)
{
	if (live(cpu))
		cpu->mxcsr |= (in_tool(cpu) ? cpu->x.guest_csr : host_csr()) & MXCSR_FLAGS;
	return cpu->mxcsr;
}

void x86_mxcsr_write(struct cpu *cpu, uint32_t v)
{
	cpu->mxcsr = v;
	if (!live(cpu))
		return;
	if (in_tool(cpu)) {
		cpu->x.guest_csr = v;
		return;
	}
	load_csr(v);
	cpu->x.fp_dirty = 1;
}

void guest_tool_unwind(void *opaque)
{
	struct cpu *cpu = opaque;
	if (!live(cpu) || !in_tool(cpu))
		return;
	load_csr(cpu->x.guest_csr);
	cpu->x.tool_fp = TOOL_FP_RAN;
}

void guest_enter(void *opaque)
{
	struct cpu *cpu = opaque;
	load_csr(cpu->mxcsr);
	cpu->mxcsr_live = 1;
	cpu->x.fp_dirty = 1;
	cpu->x.tool_csr = HOST_TOOL_MXCSR;
}

void guest_leave(void *opaque)
{
	struct cpu *cpu = opaque;
	if (!cpu->mxcsr_live)
		return;
	x86_mxcsr_read(cpu);
	cpu->mxcsr_live = 0;
	load_csr(MXCSR_DEFAULT);
}

/* A host signal that unwinds out of translated code or a helper: the
 * kernel gave the handler a fresh FP state, and siglongjmp does not
 * restore the interrupted one, so its MXCSR flags are taken from the
 * signal frame (from guest_csr in a tool region, where the frame's are a
 * tool's) and the guest's MXCSR is loaded again. */
void guest_host_signal_unwind(void *opaque, void *ucv)
{
	struct cpu *cpu = opaque;
	ucontext_t *uc = ucv;
	if (!cpu->mxcsr_live)
		return;
	if (in_tool(cpu)) {
		cpu->mxcsr |= cpu->x.guest_csr & MXCSR_FLAGS;
		cpu->x.tool_fp = TOOL_FP_RAN;
	} else if (uc && uc->uc_mcontext.fpregs) {
		cpu->mxcsr |= uc->uc_mcontext.fpregs->mxcsr & MXCSR_FLAGS;
	}
	cpu->x.fp_dirty = 1;
	load_csr(cpu->mxcsr);
}

void x86_cpu_reset(struct cpu *cpu)
{
	struct cpu_exec x = cpu->x;
	uint32_t live = cpu->mxcsr_live;
	memset(cpu, 0, offsetof(struct cpu, x));
	cpu->x = x;
	cpu->mxcsr_live = live;
	cpu->eflags = X86_IF | 2;
	cpu->df = 1;
	cpu->cc_op = CC_OP_EFLAGS;
	cpu->cc_src = 0;
	x86_mxcsr_write(cpu, MXCSR_DEFAULT);
	cpu->fpu.fcw = 0x37f;
	cpu->seg[SREG_CS] = X86_USER_CS;
	cpu->seg[SREG_SS] = X86_USER_SS;
}

void guest_dump_state(void *opaque, FILE *f)
{
	if (((struct cpu *)opaque)->sys) {
		x86_sys_dump_state(opaque, f);
		return;
	}
	static const char *const names[16] = {
		"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
		"R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15",
	};
	struct cpu *cpu = opaque;
	for (int i = 0; i < 16; i++)
		fprintf(f, "%s=%016" PRIx64 "%s", names[i], cpu->regs[i], (i & 3) == 3 ? "\n" : " ");
	fprintf(f, "RIP=%016" PRIx64 " RFL=%08" PRIx64 " FS=%016" PRIx64 " GS=%016" PRIx64 "\n",
		cpu->rip, x86_get_rflags(cpu), cpu->fs_base, cpu->gs_base);
	fprintf(f, "CCS=%016" PRIx64 " CCD=%016" PRIx64 " CCO=%" PRIu64 " MXCSR=%08x\n",
		cpu->cc_src, cpu->cc_dst, cpu->cc_op, x86_mxcsr_read(cpu));
}
