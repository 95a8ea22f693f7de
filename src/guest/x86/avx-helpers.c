/*
 * AVX helpers: every row of avx-ops.h runs as the host's own VEX
 * instruction on the guest's YMM values, copied out of env into locals
 * (so NaN propagation, rounding, denormals and flags are the CPU's).  A
 * guest YMM register is xmm[i] (bits 127:0) and xmm_hi[i] (255:128) of
 * struct cpu; number 16 is the ytmp staging slot.
 *
 * Floating-point rows run under the guest's MXCSR through sse_run_fp, as
 * helper_sse_fp does: an unmasked exception becomes #XM at the
 * instruction with the destination untouched.  The result is written back after that decision.
 *
 * Invariant: this file is compiled for AVX2/FMA/F16C (the pragma below)
 * and is only entered when avx_host_ok() said the host runs them; nothing
 * here computes floating point in C.
 */
#pragma GCC target("avx2,fma,f16c")
#include <string.h>
#include <immintrin.h>
#include "exec/exec.h"
#include "guest/x86/cpuid.h"
#include "guest/x86/cpu.h"
#include "guest/x86/avx-ops.h"
#include "guest/x86/helpers.h"
#include "guest/x86/mem.h"
#include "guest/x86/sse-ops.h"

typedef union {
	__m256i v;
	x86_xmm x[2];
	uint64_t q[4];
} ymm;

#define AVX_ARGS ymm *d, const ymm *a, const ymm *b, const ymm *c, uint64_t imm, unsigned fl
#define FL_L 1		/* the 256-bit form */
#define FL_IMM 2	/* SH/PI: the immediate form */
typedef uint64_t avx_fn(AVX_ARGS);

/* Operand lists */
#define OD [d] "=x"(d->v)
#define ODIO [d] "+x"(d->v)
#define IA [a] "x"(a->v)
#define IB [b] "x"(b->v)
#define IC [c] "x"(c->v)
#define ID [d] "x"(d->v)

/* Which forms a row has (its width column). */
#define IF_Y_B(...) __VA_ARGS__
#define IF_Y_Y(...) __VA_ARGS__
#define IF_Y_X(...)
#define IF_X_B(...) __VA_ARGS__
#define IF_X_X(...) __VA_ARGS__
#define IF_X_Y(...)

/* The 256 cases of an immediate, each with the instruction encoding it. */
#define R4(M, nm, n) M(nm, n) M(nm, (n) + 1) M(nm, (n) + 2) M(nm, (n) + 3)
#define R16(M, nm, n) R4(M, nm, n) R4(M, nm, (n) + 4) R4(M, nm, (n) + 8) R4(M, nm, (n) + 12)
#define R64(M, nm, n) R16(M, nm, n) R16(M, nm, (n) + 16) R16(M, nm, (n) + 32) R16(M, nm, (n) + 48)
#define R256(M, nm) R64(M, nm, 0) R64(M, nm, 64) R64(M, nm, 128) R64(M, nm, 192)
#define IMM_SWITCH(M, nm) switch (imm & 255) { R256(M, nm) }

#define FORMS(w, yform, xform)							\
	if (fl & FL_L) { IF_Y_##w(yform) } else { IF_X_##w(xform) }

#define DEF_V3(name, w)								\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	FORMS(w, asm volatile(#name " %[b], %[a], %[d]" : OD : IA, IB);,	\
	      asm volatile(#name " %x[b], %x[a], %x[d]" : OD : IA, IB);)	\
	return 0;								\
}

#define CY_V3I(nm, n) case (n): asm volatile(nm " %[i], %[b], %[a], %[d]" : OD : IA, IB, [i] "i"(n)); break;
#define CX_V3I(nm, n) case (n): asm volatile(nm " %[i], %x[b], %x[a], %x[d]" : OD : IA, IB, [i] "i"(n)); break;
#define DEF_V3I(name, w)							\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	FORMS(w, IMM_SWITCH(CY_V3I, #name), IMM_SWITCH(CX_V3I, #name))		\
	return 0;								\
}

#define DEF_V2(name, w)								\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	FORMS(w, asm volatile(#name " %[a], %[d]" : OD : IA);,			\
	      asm volatile(#name " %x[a], %x[d]" : OD : IA);)			\
	return 0;								\
}

#define CY_V2I(nm, n) case (n): asm volatile(nm " %[i], %[a], %[d]" : OD : IA, [i] "i"(n)); break;
#define CX_V2I(nm, n) case (n): asm volatile(nm " %[i], %x[a], %x[d]" : OD : IA, [i] "i"(n)); break;
#define DEF_V2I(name, w)							\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	FORMS(w, IMM_SWITCH(CY_V2I, #name), IMM_SWITCH(CX_V2I, #name))		\
	return 0;								\
}

#define DEF_V2X(name, w)							\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	FORMS(w, asm volatile(#name " %x[a], %[d]" : OD : IA);,			\
	      asm volatile(#name " %x[a], %x[d]" : OD : IA);)			\
	return 0;								\
}

#define DEF_V2N(name, w)							\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	FORMS(w, asm volatile(#name " %[a], %x[d]" : OD : IA);,			\
	      asm volatile(#name " %x[a], %x[d]" : OD : IA);)			\
	return 0;								\
}

#define CY_V2NI(nm, n) case (n): asm volatile(nm " %[i], %[a], %x[d]" : OD : IA, [i] "i"(n)); break;
#define DEF_V2NI(name, w)							\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	FORMS(w, IMM_SWITCH(CY_V2NI, #name), IMM_SWITCH(CX_V2I, #name))		\
	return 0;								\
}

#define DEF_V4(name, w)								\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	FORMS(w, asm volatile(#name " %[c], %[b], %[a], %[d]" : OD : IA, IB, IC);, \
	      asm volatile(#name " %x[c], %x[b], %x[a], %x[d]" : OD : IA, IB, IC);) \
	return 0;								\
}

#define DEF_F3(name, w)								\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	FORMS(w, asm volatile(#name " %[b], %[a], %[d]" : ODIO : IA, IB);,	\
	      asm volatile(#name " %x[b], %x[a], %x[d]" : ODIO : IA, IB);)	\
	return 0;								\
}

/* Shifts: count in xmm(b) or an immediate. */
#define DEF_SH(name, w)								\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	if (fl & FL_IMM) {							\
		FORMS(w, IMM_SWITCH(CY_V2I, #name), IMM_SWITCH(CX_V2I, #name))	\
	} else {								\
		FORMS(w, asm volatile(#name " %x[b], %[a], %[d]" : OD : IA, IB);, \
		      asm volatile(#name " %x[b], %x[a], %x[d]" : OD : IA, IB);) \
	}									\
	return 0;								\
}

/* VPERMILPS/PD: control vector in b or an immediate. */
#define DEF_PI(name, w)								\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	if (fl & FL_IMM) {							\
		FORMS(w, IMM_SWITCH(CY_V2I, #name), IMM_SWITCH(CX_V2I, #name))	\
	} else {								\
		FORMS(w, asm volatile(#name " %[b], %[a], %[d]" : OD : IA, IB);, \
		      asm volatile(#name " %x[b], %x[a], %x[d]" : OD : IA, IB);) \
	}									\
	return 0;								\
}

#define CY_INS(nm, n) case (n): asm volatile(nm " %[i], %x[b], %[a], %[d]" : OD : IA, IB, [i] "i"(n)); break;
#define DEF_INS(name, w)							\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	FORMS(w, IMM_SWITCH(CY_INS, #name), ;)					\
	return 0;								\
}

/* VPTEST/VTESTPx d, a: ZF and CF, the other arithmetic flags clear. */
#define DEF_TST(name, w)							\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	bool z = 0, cf = 0;							\
	FORMS(w, asm volatile(#name " %[a], %[d]" : "=@ccz"(z), "=@ccc"(cf) : IA, ID);, \
	      asm volatile(#name " %x[a], %x[d]" : "=@ccz"(z), "=@ccc"(cf) : IA, ID);) \
	return (z ? X86_ZF : 0) | (cf ? X86_CF : 0);				\
}

#define DEF_COMI(name, w)							\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	bool z, p, cf;								\
	asm volatile(#name " %x[a], %x[d]" : "=@ccz"(z), "=@ccp"(p), "=@ccc"(cf) : IA, ID); \
	return (z ? X86_ZF : 0) | (p ? X86_PF : 0) | (cf ? X86_CF : 0);		\
}

#define DEF_MSK(name, w)							\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	uint32_t r = 0;								\
	FORMS(w, asm volatile(#name " %[a], %k[r]" : [r] "=r"(r) : IA);,	\
	      asm volatile(#name " %x[a], %k[r]" : [r] "=r"(r) : IA);)		\
	return r;								\
}

/* imm bit 0: the 64-bit destination; a 32-bit result is zero-extended. */
#define DEF_C2SI(name, w)							\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	uint64_t r;								\
	uint32_t r32;								\
	if (imm & 1) {								\
		asm volatile(#name " %x[a], %q[r]" : [r] "=r"(r) : IA);		\
		return r;							\
	}									\
	asm volatile(#name " %x[a], %k[r]" : [r] "=r"(r32) : IA);		\
	return r32;								\
}

/* The integer is in b's low 32/64 bits; imm bit 0: 64-bit. */
#define DEF_CSI(name, w)							\
static uint64_t avx_##name(AVX_ARGS)						\
{										\
	if (imm & 1)								\
		asm volatile(#name "q %[g], %x[a], %x[d]" : OD : IA, [g] "r"(b->q[0])); \
	else									\
		asm volatile(#name "l %[g], %x[a], %x[d]" : OD : IA, [g] "r"((uint32_t)b->q[0])); \
	return 0;								\
}

#define X(name, shape, fp, w) DEF_##shape(name, w)
AVX_OPS(X)
#undef X

static avx_fn *const avx_fns[AVX_NB_OPS] = {
#define X(name, shape, fp, w) [AVX_##name] = avx_##name,
	AVX_OPS(X)
#undef X
};

/* ---- register file ---- */

/* Four 8-byte loads: generated code writes registers in 8-byte quarters,
 * and a 16- or 32-byte load of fresh 8-byte stores cannot be
 * store-forwarded (a stall of a dozen cycles per operand). */
static inline void yget(struct cpu *env, unsigned r, ymm *v)
{
	const uint64_t *lo, *hi;
	if (r >= AVX_TMP) {
		lo = env->ytmp[0].q;
		hi = env->ytmp[1].q;
	} else {
		lo = env->xmm[r].q;
		hi = env->xmm_hi[r].q;
	}
	v->v = _mm256_set_epi64x(hi[1], hi[0], lo[1], lo[0]);
}

static inline void yput(struct cpu *env, unsigned r, const ymm *v, bool d256)
{
	if (r >= AVX_TMP) {
		memcpy(env->ytmp, v, 32);
		return;
	}
	memcpy(&env->xmm[r], &v->x[0], 16);
	if (d256)
		memcpy(&env->xmm_hi[r], &v->x[1], 16);
	else
		memset(&env->xmm_hi[r], 0, 16);
}

static bool writes_dst(enum avx_op op)
{
	switch (avx_op_shape[op]) {
	case AVX_TST: case AVX_COMI: case AVX_MSK: case AVX_C2SI:
		return false;
	default:
		return true;
	}
}

struct avx_call {
	enum avx_op op;
	ymm *d, *a, *b, *c;
	uint64_t imm;
	unsigned fl;
};

static uint64_t avx_call_run(void *p)
{
	struct avx_call *k = p;
	return avx_fns[k->op](k->d, k->a, k->b, k->c, k->imm, k->fl);
}

static uint64_t avx_run(uint64_t envp, uint64_t op, uint64_t regs, uint64_t imm, bool fp)
{
	struct cpu *env = (struct cpu *)(uintptr_t)envp;
	unsigned rd = regs & 0xff, ra = (regs >> 8) & 0xff, rb = (regs >> 16) & 0xff;
	unsigned rc = (regs >> 24) & 0xff, fl = (regs >> 32) & 1;
	bool d256 = (regs >> 33) & 1;
	ymm d, a, b, c;
	uint64_t ret;

	if ((regs >> 34) & 1)
		fl |= FL_IMM;
	/* only the operands the shape reads (the others stay undefined and
	 * unused: the asm of a shape names exactly its operands) */
	switch (avx_op_shape[op]) {
	case AVX_F3: case AVX_TST: case AVX_COMI:
		yget(env, rd, &d);
		break;
	default:
		break;
	}
	yget(env, ra, &a);
	switch (avx_op_shape[op]) {
	case AVX_V4:
		yget(env, rc, &c);
		/* fall through */
	case AVX_V3: case AVX_V3I: case AVX_F3: case AVX_INS: case AVX_CSI:
		yget(env, rb, &b);
		break;
	case AVX_SH: case AVX_PI:
		if (!(fl & FL_IMM))
			yget(env, rb, &b);
		break;
	default:
		break;
	}
	if (!fp) {
		ret = avx_fns[op](&d, &a, &b, &c, imm, fl);
	} else {
		struct avx_call k = { op, &d, &a, &b, &c, imm, fl };
		ret = sse_run_fp(env, avx_call_run, &k, &d, sizeof(d));
	}
	if (writes_dst(op))
		yput(env, rd, &d, d256);
	return ret;
}

uint64_t helper_avx_op(uint64_t env, uint64_t op, uint64_t regs, uint64_t imm)
{
	return avx_run(env, op, regs, imm, false);
}

uint64_t helper_avx_fp(uint64_t env, uint64_t op, uint64_t regs, uint64_t imm)
{
	return avx_run(env, op, regs, imm, true);
}

/* ---- masked moves and gathers: element by element on guest memory ---- */

/* Guest elements need not be aligned; each is one access of mem.h, in
 * the element loop's order (a fault must come after the earlier ones). */

/*
 * VMASKMOVPS/PD, VPMASKMOVD/Q.  regs: d, a (mask), b (source of a store),
 * L, d256; imm: element size (4 or 8) | 0x100 for the store form.  The
 * host's own vmaskmovps/pd at the guest's address (the d and q forms
 * select by the same top bits): which elements it touches, and where a
 * fault is reported, are the CPU's (an Intel host does not report the
 * first selected element).  A load's unselected elements are 0.
 */
void helper_avx_maskmov(uint64_t envp, uint64_t regs, uint64_t addr, uint64_t imm)
{
	struct cpu *env = (struct cpu *)(uintptr_t)envp;
	unsigned rd = regs & 0xff, ra = (regs >> 8) & 0xff, rb = (regs >> 16) & 0xff;
	bool L = (regs >> 32) & 1, pd = (imm & 0xff) == 8;
	void *p = (void *)(uintptr_t)addr;
	ymm m, v, r = { 0 };

	yget(env, ra, &m);
	if (imm & 0x100)
		yget(env, rb, &v);
	if (tlb_softmmu) {
		/* whole-system mode: element by element through the soft MMU,
		 * in order (a fault comes after the earlier elements) */
		unsigned esz = imm & 0xff, n = (L ? 32 : 16) / esz;
		for (unsigned i = 0; i < n; i++) {
			bool sel = esz == 4 ? m.x[i / 4].l[i % 4] >> 31 : m.q[i] >> 63;
			if (!sel)
				continue;
			if (imm & 0x100) {
				if (esz == 4)
					x86_stl(env, addr + 4 * i, v.x[i / 4].l[i % 4]);
				else
					x86_stq(env, addr + 8 * i, v.q[i]);
			} else if (esz == 4) {
				r.x[i / 4].l[i % 4] = x86_ldl(env, addr + 4 * i);
			} else {
				r.q[i] = x86_ldq(env, addr + 8 * i);
			}
		}
		if (!(imm & 0x100))
			yput(env, rd, &r, L);
		return;
	}
	if (imm & 0x100) {
		if (L && pd)
			asm volatile("vmovdqu %1, %%ymm0\n\tvmovdqu %2, %%ymm1\n\tvmaskmovpd %%ymm1, %%ymm0, (%0)\n\tvzeroupper"
				     : : "r"(p), "m"(m), "m"(v) : "xmm0", "xmm1", "memory");
		else if (L)
			asm volatile("vmovdqu %1, %%ymm0\n\tvmovdqu %2, %%ymm1\n\tvmaskmovps %%ymm1, %%ymm0, (%0)\n\tvzeroupper"
				     : : "r"(p), "m"(m), "m"(v) : "xmm0", "xmm1", "memory");
		else if (pd)
			asm volatile("vmovdqu %1, %%xmm0\n\tvmovdqu %2, %%xmm1\n\tvmaskmovpd %%xmm1, %%xmm0, (%0)"
				     : : "r"(p), "m"(m.x[0]), "m"(v.x[0]) : "xmm0", "xmm1", "memory");
		else
			asm volatile("vmovdqu %1, %%xmm0\n\tvmovdqu %2, %%xmm1\n\tvmaskmovps %%xmm1, %%xmm0, (%0)"
				     : : "r"(p), "m"(m.x[0]), "m"(v.x[0]) : "xmm0", "xmm1", "memory");
		return;
	}
	if (L && pd)
		asm volatile("vmovdqu %1, %%ymm0\n\tvmaskmovpd (%2), %%ymm0, %%ymm1\n\tvmovdqu %%ymm1, %0\n\tvzeroupper"
			     : "=m"(r) : "m"(m), "r"(p) : "xmm0", "xmm1", "memory");
	else if (L)
		asm volatile("vmovdqu %1, %%ymm0\n\tvmaskmovps (%2), %%ymm0, %%ymm1\n\tvmovdqu %%ymm1, %0\n\tvzeroupper"
			     : "=m"(r) : "m"(m), "r"(p) : "xmm0", "xmm1", "memory");
	else if (pd)
		asm volatile("vmovdqu %1, %%xmm0\n\tvmaskmovpd (%2), %%xmm0, %%xmm1\n\tvmovdqu %%xmm1, %0"
			     : "=m"(r.x[0]) : "m"(m.x[0]), "r"(p) : "xmm0", "xmm1", "memory");
	else
		asm volatile("vmovdqu %1, %%xmm0\n\tvmaskmovps (%2), %%xmm0, %%xmm1\n\tvmovdqu %%xmm1, %0"
			     : "=m"(r.x[0]) : "m"(m.x[0]), "r"(p) : "xmm0", "xmm1", "memory");
	yput(env, rd, &r, L);
}

/*
 * VGATHER/VPGATHER.  regs: d, a (index), b (mask), L (the index or data
 * vector is 256-bit); imm: data size (4/8) | index size (4/8) << 8 |
 * log2 scale << 16.  base is the address part without the index.  Element
 * i is loaded if its mask's top bit is set; in element order, each
 * element's result and cleared mask go to env before the next load, so a
 * fault leaves the elements before it done and their masks clear, as the
 * host CPU does.
 * At the end the mask is zero and, in the 128-bit forms, both registers'
 * upper halves are zero.
 */
void helper_avx_gather(uint64_t envp, uint64_t regs, uint64_t base, uint64_t imm)
{
	struct cpu *env = (struct cpu *)(uintptr_t)envp;
	unsigned rd = regs & 0xff, ra = (regs >> 8) & 0xff, rb = (regs >> 16) & 0xff;
	bool L = (regs >> 32) & 1;
	unsigned dsz = imm & 0xff, isz = (imm >> 8) & 0xff, sh = (imm >> 16) & 3;
	unsigned vbytes = L ? 32 : 16;
	/* elements: as many as the narrower of the two vectors holds */
	unsigned n = (isz > dsz ? vbytes / isz : vbytes / dsz);
	ymm dv, iv, mv;

	yget(env, rd, &dv);
	yget(env, ra, &iv);
	yget(env, rb, &mv);
	/* The SDM's gather first sets each mask element to all ones or all
	 * zeros from its top bit, which a fault shows; an Intel host does so
	 * across the whole register the instruction's vector length covers,
	 * elements past n included, and clears bits 255:128 of a VEX.128
	 * form's mask and destination (the SDM allows updating those "even
	 * if the instruction triggers an exception").
	 * An AMD host (x86_amd) does neither: at a fault only the masks of
	 * the elements done are clear. */
	for (unsigned k = 0; k < 32 / dsz && !x86_amd; k++) {
		bool upper = !L && k >= 16 / dsz;
		if (dsz == 4)
			mv.x[k / 4].l[k % 4] = upper ? 0 : -(mv.x[k / 4].l[k % 4] >> 31);
		else
			mv.q[k] = upper ? 0 : -(mv.q[k] >> 63);
	}
	memcpy(&env->xmm[rb], &mv.x[0], 16);
	memcpy(&env->xmm_hi[rb], &mv.x[1], 16);
	if (!L && !x86_amd)	/* the destination's too, a fault shows */
		memset(&dv.x[1], 0, 16);
	for (unsigned i = 0; i < n; i++) {
		bool sel = dsz == 4 ? mv.x[i / 4].l[i % 4] >> 31 : mv.q[i] >> 63;
		if (sel) {
			int64_t idx = isz == 4 ? (int64_t)(int32_t)iv.x[i / 4].l[i % 4] : (int64_t)iv.q[i];
			uint64_t ea = base + ((uint64_t)idx << sh);
			if (dsz == 4)
				dv.x[i / 4].l[i % 4] = x86_ldl(env, ea);
			else
				dv.q[i] = x86_ldq(env, ea);
		}
		/* A masked-off element counts as done too: at a fault the
		 * CPU has cleared the mask of every element before it. */
		if (dsz == 4)
			mv.x[i / 4].l[i % 4] = 0;
		else
			mv.q[i] = 0;
		/* the register file as it is after element i */
		memcpy(&env->xmm[rd], &dv.x[0], 16);
		memcpy(&env->xmm_hi[rd], &dv.x[1], 16);
		memcpy(&env->xmm[rb], &mv.x[0], 16);
		memcpy(&env->xmm_hi[rb], &mv.x[1], 16);
	}
	/* Elements past n (a qword-index gather of dwords) are zeroed in
	 * the destination, and the whole mask is cleared. */
	unsigned dbytes = n * dsz;
	memset((uint8_t *)&dv + dbytes, 0, 32 - dbytes);
	memset(&mv, 0, sizeof(mv));
	yput(env, rd, &dv, dbytes > 16);
	yput(env, rb, &mv, false);
}

/* ---- host features ---- */

static bool host_ok;

__attribute__((constructor)) static void avx_probe_host(void)
{
	__builtin_cpu_init();
	uint32_t lo = 0, hi = 0;
	bool osxsave = false;
	uint32_t a, b, c, dd;
	asm("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(dd) : "a"(1), "c"(0));
	osxsave = c >> 27 & 1;
	if (osxsave)
		asm("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	host_ok = osxsave && (lo & 6) == 6 && __builtin_cpu_supports("avx2") &&
		  __builtin_cpu_supports("fma") && (c >> 29 & 1) /* f16c */;
}

bool avx_host_ok(void)
{
	return host_ok;
}
