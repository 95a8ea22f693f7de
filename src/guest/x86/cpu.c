/*
 * Guest CPU lifetime: the reset state a Linux process starts with, and the
 * -d cpu dump.  Owns nothing else; flags live in flags.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "guest/guest.h"
#include "guest/x86/cpu.h"

void x86_cpu_reset(struct cpu *cpu)
{
	struct cpu_exec x = cpu->x;
	memset(cpu, 0, offsetof(struct cpu, x));
	cpu->x = x;
	cpu->eflags = X86_IF | 2;
	cpu->df = 1;
	cpu->cc_op = CC_OP_EFLAGS;
	cpu->cc_src = 0;
	cpu->mxcsr = 0x1f80;
	cpu->fpu.fcw = 0x37f;
}

void guest_dump_state(void *opaque, FILE *f)
{
	static const char *const names[16] = {
		"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
		"R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15",
	};
	struct cpu *cpu = opaque;
	for (int i = 0; i < 16; i++)
		fprintf(f, "%s=%016" PRIx64 "%s", names[i], cpu->regs[i], (i & 3) == 3 ? "\n" : " ");
	fprintf(f, "RIP=%016" PRIx64 " RFL=%08" PRIx64 " FS=%016" PRIx64 " GS=%016" PRIx64 "\n",
		cpu->rip, x86_get_rflags(cpu), cpu->fs_base, cpu->gs_base);
	fprintf(f, "CCS=%016" PRIx64 " CCD=%016" PRIx64 " CCO=%" PRIu64 "\n",
		cpu->cc_src, cpu->cc_dst, cpu->cc_op);
}

void x86_cpu_dump(struct cpu *cpu, FILE *f)
{
	guest_dump_state(cpu, f);
}
