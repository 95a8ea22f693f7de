/*
 * The vector operand layer's decoder (guest/x86/lift-vec.c) and the host
 * probe (host/x86/probe.c).
 *
 * vec_decode: each encoding is assembled here by hand from the SDM's
 * opcode tables (Vol. 2, the instruction pages' "Op/En" columns give
 * which operand ModRM.reg, ModRM.r/m, VEX.vvvv and the imm8 encode), and
 * the expected struct vec_opnds follows from those columns: a legacy form
 * reads dst as its first source, a three-operand VEX form (NDS) reads
 * VEX.vvvv, and a VEX shift by an immediate (VEX.vvvv is the destination)
 * reads like the legacy form.
 *
 * host_probe_ud: UD2 raises #UD on every x86 CPU (SDM: "Raises an invalid
 * opcode exception in all operating modes"), NOP and a register XOR never
 * do.
 */
#include <string.h>
#include <Zydis/Zydis.h>
#include "guest/x86/lift-vec.h"
#include "host/host.h"
#include "unit.h"

struct vec_case {
	const char *name;
	uint8_t len, bytes[15];
	struct vec_opnds want;
};

static const struct vec_case cases[] = {
	/* 66 0F FE /r: PADDD xmm1, xmm2/m128 (RM) */
	{ "paddd xmm1, xmm2", 4, { 0x66, 0x0f, 0xfe, 0xca },
	  { .dst = 1, .src1 = 1, .src2 = 1, .imm = -1, .nq = 2, .vex = false } },
	/* VEX.128.66.0F FE /r: VPADDD xmm0, xmm1 (vvvv), xmm2 (RVM) */
	{ "vpaddd xmm0, xmm1, xmm2", 4, { 0xc5, 0xf1, 0xfe, 0xc2 },
	  { .dst = 0, .src1 = 1, .src2 = 2, .imm = -1, .nq = 2, .vex = true } },
	/* VEX.256: the same with ymm registers */
	{ "vpaddd ymm0, ymm1, ymm2", 4, { 0xc5, 0xf5, 0xfe, 0xc2 },
	  { .dst = 0, .src1 = 1, .src2 = 2, .imm = -1, .nq = 4, .vex = true } },
	/* 66 0F 71 /6 ib: PSLLW xmm3, imm8 (MI) */
	{ "psllw xmm3, 4", 5, { 0x66, 0x0f, 0x71, 0xf3, 0x04 },
	  { .dst = 3, .src1 = 3, .src2 = -1, .imm = 1, .nq = 2, .vex = false } },
	/* VEX.128.66.0F 71 /6 ib: VPSLLW xmm1 (vvvv), xmm2 (r/m), imm8 (VMI) */
	{ "vpsllw xmm1, xmm2, 3", 5, { 0xc5, 0xf1, 0x71, 0xf2, 0x03 },
	  { .dst = 1, .src1 = 1, .src2 = 1, .imm = 2, .nq = 2, .vex = true } },
	/* 66 0F C5 /r ib: PEXTRW r32, xmm, imm8 (RMI): no vector destination */
	{ "pextrw eax, xmm1, 2", 5, { 0x66, 0x0f, 0xc5, 0xc1, 0x02 },
	  { .dst = -1, .src1 = -1, .src2 = 1, .imm = 2, .nq = 2, .vex = false } },
	/* VEX.128.66.0F C4 /r ib: VPINSRW xmm0, xmm1 (vvvv), r32, imm8 (RVMI) */
	{ "vpinsrw xmm0, xmm1, eax, 5", 5, { 0xc5, 0xf1, 0xc4, 0xc0, 0x05 },
	  { .dst = 0, .src1 = 1, .src2 = 2, .imm = 3, .nq = 2, .vex = true } },
	/* 66 0F 3A 22 /r ib with REX.W: PINSRQ xmm2, rax, imm8 (RMI) */
	{ "pinsrq xmm2, rax, 1", 7, { 0x66, 0x48, 0x0f, 0x3a, 0x22, 0xd0, 0x01 },
	  { .dst = 2, .src1 = 2, .src2 = 1, .imm = 2, .nq = 2, .vex = false } },
	/* VEX.128.0F 13 /r: VMOVLPS m64, xmm1 (MR): a store, no NDS */
	{ "vmovlps [rax], xmm1", 4, { 0xc5, 0xf8, 0x13, 0x08 },
	  { .dst = -1, .src1 = -1, .src2 = 1, .imm = -1, .nq = 2, .vex = true } },
	/* VEX.128.0F 12 /r: VMOVLPS xmm1, xmm2 (vvvv), m64 (RVM) */
	{ "vmovlps xmm1, xmm2, [rax]", 4, { 0xc5, 0xe8, 0x12, 0x08 },
	  { .dst = 1, .src1 = 2, .src2 = 2, .imm = -1, .nq = 2, .vex = true } },
};

static void check_decode(void)
{
	ZydisDecoder dec;
	x86_decoder_init(&dec);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct vec_case *c = &cases[i];
		struct dc s;
		struct vec_opnds o;
		memset(&s, 0, sizeof(s));
		if (!x86_decode(&dec, c->bytes, c->len, &s.insn, s.op)) {
			fprintf(stderr, "%s: does not decode\n", c->name);
			CHECK(0);
			continue;
		}
		vec_decode(&s, &o);
		bool ok = o.dst == c->want.dst && o.src1 == c->want.src1 && o.src2 == c->want.src2 &&
			  o.imm == c->want.imm && o.nq == c->want.nq && o.vex == c->want.vex;
		if (!ok)
			fprintf(stderr, "%s: dst %d src1 %d src2 %d imm %d nq %d vex %d\n", c->name, o.dst,
				o.src1, o.src2, o.imm, o.nq, o.vex);
		CHECK(ok);
	}
}

static void check_probe(void)
{
	static const struct host_insn insns[] = {
		{ 1, { 0x90 } },		/* nop */
		{ 2, { 0x0f, 0x0b } },		/* ud2 */
		{ 2, { 0x31, 0xc0 } },		/* xor eax, eax */
		{ 2, { 0x0f, 0x0b } },		/* ud2 */
	};
	CHECK_EQ(host_probe_ud(insns, 4), 0xa);
	CHECK_EQ(host_probe_ud(insns, 1), 0);
	CHECK_EQ(host_probe_ud(insns, 0), 0);
	/* still usable after a probe that faulted */
	CHECK_EQ(host_probe_ud(insns + 1, 1), 1);
}

void unit_main(void)
{
	check_decode();
	check_probe();
}
