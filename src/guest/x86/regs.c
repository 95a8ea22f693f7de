/*
 * The x86-64 guest's registers as tools see them: a flat list of named
 * registers (gdb's names and feature groups) that the plugin API reads and
 * writes, plus one-instruction disassembly.  Reading is exact only when the
 * guest state is in struct cpu (the instrument layer makes sure of that:
 * callbacks that may read registers run after a write-back).
 *
 * Invariant: writing RFLAGS goes through x86_set_rflags, which turns the
 * lazy flags into CC_OP_EFLAGS, so lifted code after the write recomputes
 * flags from cc_src (the instrument layer relifts instructions after which
 * a callback may write registers, see guest_translate's sync_insns).
 */
#include <string.h>
#include <Zydis/Zydis.h>
#include "guest/guest.h"
#include "guest/x86/cpu.h"
#include "guest/x86/x87.h"

enum reg_kind { RK_GPR, RK_RIP, RK_RFLAGS, RK_SEG, RK_BASE, RK_ST, RK_FPU16, RK_XMM, RK_MXCSR };

struct reg_row {
	const char *name;
	const char *feature;
	uint8_t kind, idx, size;
};

#define CORE "org.gnu.gdb.i386.core"
#define SSE "org.gnu.gdb.i386.sse"
#define SEGS "org.gnu.gdb.i386.segments"

static const struct reg_row rows[] = {
	{ "rax", CORE, RK_GPR, R_RAX, 8 }, { "rbx", CORE, RK_GPR, R_RBX, 8 },
	{ "rcx", CORE, RK_GPR, R_RCX, 8 }, { "rdx", CORE, RK_GPR, R_RDX, 8 },
	{ "rsi", CORE, RK_GPR, R_RSI, 8 }, { "rdi", CORE, RK_GPR, R_RDI, 8 },
	{ "rbp", CORE, RK_GPR, R_RBP, 8 }, { "rsp", CORE, RK_GPR, R_RSP, 8 },
	{ "r8", CORE, RK_GPR, R_R8, 8 }, { "r9", CORE, RK_GPR, R_R9, 8 },
	{ "r10", CORE, RK_GPR, R_R10, 8 }, { "r11", CORE, RK_GPR, R_R11, 8 },
	{ "r12", CORE, RK_GPR, R_R12, 8 }, { "r13", CORE, RK_GPR, R_R13, 8 },
	{ "r14", CORE, RK_GPR, R_R14, 8 }, { "r15", CORE, RK_GPR, R_R15, 8 },
	{ "rip", CORE, RK_RIP, 0, 8 }, { "eflags", CORE, RK_RFLAGS, 0, 4 },
	{ "cs", CORE, RK_SEG, SREG_CS, 4 }, { "ss", CORE, RK_SEG, SREG_SS, 4 },
	{ "ds", CORE, RK_SEG, SREG_DS, 4 }, { "es", CORE, RK_SEG, SREG_ES, 4 },
	{ "fs", CORE, RK_SEG, SREG_FS, 4 }, { "gs", CORE, RK_SEG, SREG_GS, 4 },
	{ "fs_base", SEGS, RK_BASE, 0, 8 }, { "gs_base", SEGS, RK_BASE, 1, 8 },
	{ "st0", CORE, RK_ST, 0, 10 }, { "st1", CORE, RK_ST, 1, 10 },
	{ "st2", CORE, RK_ST, 2, 10 }, { "st3", CORE, RK_ST, 3, 10 },
	{ "st4", CORE, RK_ST, 4, 10 }, { "st5", CORE, RK_ST, 5, 10 },
	{ "st6", CORE, RK_ST, 6, 10 }, { "st7", CORE, RK_ST, 7, 10 },
	/* fxsave offsets of fcw, fsw, the abridged tag, fop */
	{ "fctrl", CORE, RK_FPU16, 0, 4 }, { "fstat", CORE, RK_FPU16, 2, 4 },
	{ "ftag", CORE, RK_FPU16, 4, 4 }, { "fop", CORE, RK_FPU16, 6, 4 },
	{ "xmm0", SSE, RK_XMM, 0, 16 }, { "xmm1", SSE, RK_XMM, 1, 16 },
	{ "xmm2", SSE, RK_XMM, 2, 16 }, { "xmm3", SSE, RK_XMM, 3, 16 },
	{ "xmm4", SSE, RK_XMM, 4, 16 }, { "xmm5", SSE, RK_XMM, 5, 16 },
	{ "xmm6", SSE, RK_XMM, 6, 16 }, { "xmm7", SSE, RK_XMM, 7, 16 },
	{ "xmm8", SSE, RK_XMM, 8, 16 }, { "xmm9", SSE, RK_XMM, 9, 16 },
	{ "xmm10", SSE, RK_XMM, 10, 16 }, { "xmm11", SSE, RK_XMM, 11, 16 },
	{ "xmm12", SSE, RK_XMM, 12, 16 }, { "xmm13", SSE, RK_XMM, 13, 16 },
	{ "xmm14", SSE, RK_XMM, 14, 16 }, { "xmm15", SSE, RK_XMM, 15, 16 },
	{ "mxcsr", SSE, RK_MXCSR, 0, 4 },
};
#define NROWS (int)(sizeof(rows) / sizeof(rows[0]))

int guest_reg_count(void) { return NROWS; }

bool guest_reg_info(int i, struct guest_reg *r)
{
	if (i < 0 || i >= NROWS)
		return false;
	*r = (struct guest_reg){ rows[i].name, rows[i].feature, rows[i].size };
	return true;
}

int guest_reg_read(void *cpuv, int i, uint8_t *buf)
{
	struct cpu *cpu = cpuv;
	uint8_t fx[512];
	uint64_t v;

	if (i < 0 || i >= NROWS)
		return -1;
	const struct reg_row *r = &rows[i];
	switch (r->kind) {
	case RK_GPR: v = cpu->regs[r->idx]; break;
	case RK_RIP: v = cpu->rip; break;
	case RK_RFLAGS: v = x86_get_rflags(cpu); break;
	case RK_SEG: v = cpu->seg[r->idx]; break;
	case RK_BASE: v = r->idx ? cpu->gs_base : cpu->fs_base; break;
	case RK_MXCSR: v = x86_mxcsr_read(cpu); break;
	case RK_XMM:
		memcpy(buf, &cpu->xmm[r->idx], 16);
		return 16;
	case RK_ST:
	case RK_FPU16:
		x87_fxsave(cpu, fx);
		if (r->kind == RK_ST) {
			memcpy(buf, fx + 32 + 16 * r->idx, 10);
			return 10;
		}
		v = fx[r->idx] | fx[r->idx + 1] << 8;
		break;
	default:
		return -1;
	}
	memcpy(buf, &v, r->size);
	return r->size;
}

bool guest_reg_write(void *cpuv, int i, const uint8_t *buf)
{
	struct cpu *cpu = cpuv;
	uint8_t fx[512];
	uint64_t v = 0;

	if (i < 0 || i >= NROWS)
		return false;
	const struct reg_row *r = &rows[i];
	if (r->size <= 8)
		memcpy(&v, buf, r->size);
	switch (r->kind) {
	case RK_GPR: cpu->regs[r->idx] = v; return true;
	case RK_RIP: cpu->rip = v; return true;
	case RK_RFLAGS: x86_set_rflags(cpu, v); return true;
	case RK_BASE:
		if (r->idx)
			cpu->gs_base = v;
		else
			cpu->fs_base = v;
		return true;
	case RK_XMM: memcpy(&cpu->xmm[r->idx], buf, 16); return true;
	case RK_ST:
	case RK_FPU16:
	case RK_MXCSR:
		x87_fxsave(cpu, fx);
		if (r->kind == RK_ST)
			memcpy(fx + 32 + 16 * r->idx, buf, 10);
		else if (r->kind == RK_MXCSR)
			memcpy(fx + 24, buf, 4);
		else
			memcpy(fx + r->idx, buf, r->idx == 4 ? 1 : 2);
		x87_fxrstor(cpu, fx);
		return true;
	default:
		return false;	/* segment selectors are fixed in user mode */
	}
}

int guest_reg_pc_index(void) { return 16; }

size_t guest_disas_insn(uint64_t pc, const uint8_t *code, size_t len, char *out, size_t outlen)
{
	ZydisDisassembledInstruction insn;
	if (!ZYAN_SUCCESS(ZydisDisassembleATT(ZYDIS_MACHINE_MODE_LONG_64, pc, code, len, &insn))) {
		snprintf(out, outlen, "(bad)");
		return 0;
	}
	snprintf(out, outlen, "%s", insn.text);
	return insn.info.length;
}
