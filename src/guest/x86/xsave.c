/*
 * The XSAVE family (xsave, xsaveopt, xsavec, xrstor) over the components
 * loom models: x87 (0), SSE (1) and AVX (2), XCR0 = 7.  With only these,
 * the compacted form puts AVX where the standard form does (576), so the
 * two forms differ only in the header.  XINUSE is computed from the state:
 * a component counts as in use unless it is in its initial configuration,
 * which the SDM allows (a component in its initial configuration may have
 * XINUSE 0 or 1).
 *
 * Invariant: the instructions read the whole guest area, and check it,
 * before changing any guest state; a fault or #GP leaves the CPU as it
 * was (stores to the area may have happened, as on the CPU).
 */
#include <string.h>
#include "exec/exec.h"
#include "guest/x86/cpu.h"
#include "guest/x86/helpers.h"
#include "guest/x86/mem.h"
#include "guest/x86/sse-ops.h"
#include "guest/x86/x87.h"

static uint64_t xinuse(const struct cpu *cpu)
{
	static const x86_xmm zero[16];
	const struct x87_state *f = &cpu->fpu;
	uint64_t r = 0;
	bool st_zero = true;
	for (int i = 0; i < 8; i++) {
		uint8_t b[10];
		memcpy(b, &f->st[i], 10);
		for (int k = 0; k < 10; k++)
			st_zero &= !b[k];
	}
	if (f->fcw != 0x37f || f->fsw || f->ftw || f->top || f->fop || f->fpip || f->fpdp || !st_zero)
		r |= 1;
	if (memcmp(cpu->xmm, zero, sizeof(zero)))
		r |= 2;
	if (memcmp(cpu->xmm_hi, zero, sizeof(zero)))
		r |= 4;
	return r;
}

static void xsave_fmt(struct cpu *cpu, uint8_t *area, uint64_t rfbm, bool rex_w)
{
	uint8_t fx[512];
	uint64_t bv;

	x87_fxsave_fmt(cpu, fx, rex_w);
	if (rfbm & 1) {
		memcpy(area, fx, 24);
		memcpy(area + 32, fx + 32, 128);
	}
	if (rfbm & 6)
		memcpy(area + 24, fx + 24, 8);	/* MXCSR, MXCSR_MASK */
	if (rfbm & 2)
		memcpy(area + 160, fx + 160, 256);
	if (rfbm & 4)
		memcpy(area + XSAVE_YMM_OFF, cpu->xmm_hi, 256);
	memcpy(&bv, area + XSAVE_HDR_OFF, 8);
	bv = (bv & ~rfbm) | (xinuse(cpu) & rfbm);
	memcpy(area + XSAVE_HDR_OFF, &bv, 8);
}

void x86_xsave(struct cpu *cpu, uint8_t *area, uint64_t rfbm)
{
	xsave_fmt(cpu, area, rfbm, true);
}

static void xrstor_fmt(struct cpu *cpu, const uint8_t *area, uint64_t rfbm, bool rex_w)
{
	uint8_t fx[512];
	uint64_t bv;
	struct x87_state fpu = cpu->fpu;
	x86_xmm xmm[16];
	uint32_t mxcsr = x86_mxcsr_read(cpu);

	memcpy(&bv, area + XSAVE_HDR_OFF, 8);
	memcpy(xmm, cpu->xmm, sizeof(xmm));
	/* Build an FXSAVE image of the result and let x87_fxrstor load it:
	 * requested components from the area (or their initial values), the
	 * others as they are now. */
	x87_fxsave_fmt(cpu, fx, rex_w);
	if (rfbm & 1) {
		if (bv & 1) {
			memcpy(fx, area, 24);
			memcpy(fx + 32, area + 32, 128);
		} else {
			memset(fx, 0, 24);
			memset(fx + 32, 0, 128);
			fx[0] = 0x7f;
			fx[1] = 0x03;	/* FCW 0x37f */
		}
	}
	if (rfbm & 6)
		memcpy(fx + 24, area + 24, 4);
	if (rfbm & 2) {
		if (bv & 2)
			memcpy(fx + 160, area + 160, 256);
		else
			memset(fx + 160, 0, 256);
	}
	x87_fxrstor_fmt(cpu, fx, rex_w);
	if (!(rfbm & 1))
		cpu->fpu = fpu;
	if (!(rfbm & 6))
		x86_mxcsr_write(cpu, mxcsr);
	if (!(rfbm & 2))
		memcpy(cpu->xmm, xmm, sizeof(xmm));
	if (rfbm & 4) {
		if (bv & 4)
			memcpy(cpu->xmm_hi, area + XSAVE_YMM_OFF, 256);
		else
			memset(cpu->xmm_hi, 0, 256);
	}
}

void x86_xrstor(struct cpu *cpu, const uint8_t *area, uint64_t rfbm)
{
	xrstor_fmt(cpu, area, rfbm, true);
}

/* Store the parts of image img that XSAVE writes for components comp
 * (x87: bit 0, SSE: bit 1, AVX: bit 2; MXCSR goes with either of bits 1-2
 * when mxcsr) to guest memory at addr, in the order of the layout. */
static void xsave_put(struct cpu *env, uint64_t addr, const uint8_t *img, uint64_t comp, bool mxcsr)
{
	if (comp & 1) {
		x86_st_buf(env, addr, img, 24);
		x86_st_buf(env, addr + 32, img + 32, 128);
	}
	if (mxcsr)
		x86_st_buf(env, addr + 24, img + 24, 8);
	if (comp & 2)
		x86_st_buf(env, addr + 160, img + 160, 256);
	if (comp & 4)
		x86_st_buf(env, addr + XSAVE_YMM_OFF, img + XSAVE_YMM_OFF, 256);
}

/* XSAVE/XSAVEOPT (kind bit 0 clear) and XSAVEC (set) at addr, 64-byte
 * aligned; kind bit 1: the REX.W form (64-bit FIP/FDP).  The image is
 * built in a buffer and stored part by part as the instruction writes. */
void helper_xsave(uint64_t envp, uint64_t addr, uint64_t rfbm, uint64_t kind)
{
	struct cpu *env = (struct cpu *)(uintptr_t)envp;
	bool rex_w = kind & 2;
	uint8_t tmp[XSAVE_SIZE];
	if (addr & 63)
		x86_raise_gp0(env);
	/* The CPU's first access is to the header's last byte: an area
	 * whose legacy part or header is not writable faults there. */
	x86_st_probe(env, addr + XSAVE_HDR_OFF + 63);
	rfbm &= X86_XCR0;
	if (!(kind & 1)) {
		/* XSTATE_BV keeps its bits outside RFBM: read it first. */
		x86_ld_buf(env, tmp + XSAVE_HDR_OFF, addr + XSAVE_HDR_OFF, 8);
		xsave_fmt(env, tmp, rfbm, rex_w);
		xsave_put(env, addr, tmp, rfbm, rfbm & 6);
		x86_st_buf(env, addr + XSAVE_HDR_OFF, tmp + XSAVE_HDR_OFF, 8);
		return;
	}
	/* Compacted: components in init state are not written, XSTATE_BV
	 * says which were, XCOMP_BV = bit 63 | RFBM. */
	uint64_t in = xinuse(env) & rfbm;
	uint64_t hdr[2] = { in, (1ull << 63) | rfbm };
	xsave_fmt(env, tmp, in, rex_w);
	xsave_put(env, addr, tmp, in, rfbm & 6);
	x86_st_buf(env, addr + XSAVE_HDR_OFF, hdr, 16);
}

/* XRSTOR (rex_w: XRSTOR64), standard or compacted by XCOMP_BV[63]; #GP
 * for a misaligned area, header bits outside XCR0, nonzero reserved header
 * bytes, or reserved MXCSR bits. */
void helper_xrstor(uint64_t envp, uint64_t addr, uint64_t rfbm, uint64_t rex_w)
{
	struct cpu *env = (struct cpu *)(uintptr_t)envp;
	uint8_t area[XSAVE_SIZE];
	uint64_t hdr[8];
	uint32_t mxcsr;

	if (addr & 63)
		x86_raise_gp0(env);
	rfbm &= X86_XCR0;
	/* XCOMP_BV first, which says the area's format, as the CPU reads
	 * it: an unreadable header faults there */
	x86_ld_probe(env, addr + XSAVE_HDR_OFF + 8);
	x86_ld_buf(env, hdr, addr + XSAVE_HDR_OFF, 64);
	bool compact = hdr[1] >> 63;
	uint64_t comp = hdr[1] & ~(1ull << 63);
	size_t len = XSAVE_SIZE;
	if (compact && !(comp & 4))
		len = XSAVE_YMM_OFF;
	x86_ld_buf(env, area, addr, len);
	if (hdr[0] & ~(uint64_t)X86_XCR0)
		x86_raise_gp0(env);
	if (compact) {
		if ((comp & ~(uint64_t)X86_XCR0) || (hdr[0] & ~comp))
			x86_raise_gp0(env);
		for (int i = 2; i < 8; i++)
			if (hdr[i])
				x86_raise_gp0(env);
	} else if (hdr[1] || hdr[2]) {
		x86_raise_gp0(env);
	}
	memcpy(&mxcsr, area + 24, 4);
	bool csr_loaded = compact ? (rfbm & hdr[0] & 2) : (rfbm & 6);
	if (csr_loaded && (mxcsr & ~MXCSR_VALID))
		x86_raise_gp0(env);
	if (compact && !(hdr[0] & rfbm & 2)) {
		/* MXCSR is part of the SSE component in the compacted form */
		uint32_t cur = (rfbm & 2) ? MXCSR_DEFAULT : x86_mxcsr_read(env);
		memcpy(area + 24, &cur, 4);
	}
	xrstor_fmt(env, area, rfbm, rex_w);
}
