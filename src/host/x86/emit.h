/*
 * The x86-64 host encoder: tiny layered functions, prefixes and REX first,
 * then opcode, then ModRM/SIB/displacement.  Opcodes are named by their Intel
 * operand form (OPC_MOVL_GvEv) with prefix bits folded into the constant, so
 * call sites never spell raw bytes.  No global state: every function takes
 * the emit context.  Invariant: `p` only moves forward and never past `end`
 * (the caller reserves room per op; emit_room() checks).
 */
#ifndef LOOM_HOST_X86_EMIT_H
#define LOOM_HOST_X86_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum host_reg {
	H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI,
	H_R8, H_R9, H_R10, H_R11, H_R12, H_R13, H_R14, H_R15,
	H_NONE = -1,
};

struct emit {
	uint8_t *p;		/* next byte, in the writable view */
	uint8_t *start;		/* writable view of this buffer's start */
	uint8_t *end;
	uint8_t *rx_start;	/* executable address of start */
};

static inline uintptr_t emit_rx(const struct emit *e, const uint8_t *rw)
{
	return (uintptr_t)e->rx_start + (rw - e->start);
}
static inline bool emit_room(const struct emit *e, unsigned n)
{
	return e->p + n <= e->end;
}

/* Prefix bits folded into opcode constants. */
#define P_EXT		0x100		/* 0x0f */
#define P_EXT38		0x200		/* 0x0f 0x38 */
#define P_EXT3A		0x400		/* 0x0f 0x3a */
#define P_DATA16	0x800		/* 0x66 */
#define P_REXW		0x1000		/* REX.W */
#define P_REXB_R	0x2000		/* byte register in reg: force REX */
#define P_REXB_RM	0x4000		/* byte register in rm: force REX */
#define P_SIMDF3	0x8000		/* 0xf3 */
#define P_SIMDF2	0x10000		/* 0xf2 */
#define P_LOCK		0x20000		/* 0xf0 */

#define OPC_RORX	(0xf0 | P_EXT3A | P_SIMDF2 | P_REXW)	/* BMI2, VEX */
#define OPC_SHLX	(0xf7 | P_EXT38 | P_DATA16)	/* BMI2, VEX; + P_REXW */
#define OPC_SARX	(0xf7 | P_EXT38 | P_SIMDF3)
#define OPC_SHRX	(0xf7 | P_EXT38 | P_SIMDF2)
#define OPC_ARITH_EbIb	0x80
#define OPC_ARITH_EvIz	0x81
#define OPC_ARITH_EvIb	0x83
#define OPC_ARITH_GvEv	0x03		/* + (ARITH_x << 3) */
#define OPC_ARITH_EvGv	0x01
#define OPC_BSF		(0xbc | P_EXT)
#define OPC_BSR		(0xbd | P_EXT)
#define OPC_BSWAP	(0xc8 | P_EXT)
#define OPC_CALL_Jz	0xe8
#define OPC_CMOVCC	(0x40 | P_EXT)	/* + cc */
#define OPC_CMPXCHG_EvGv (0xb1 | P_EXT)
#define OPC_GRP3_Ev	0xf7
#define OPC_GRP5	0xff
#define OPC_IMUL_GvEv	(0xaf | P_EXT)
#define OPC_IMUL_GvEvIb	0x6b
#define OPC_IMUL_GvEvIz	0x69
#define OPC_JCC_long	(0x80 | P_EXT)	/* + cc */
#define OPC_JCC_short	0x70
#define OPC_JMP_long	0xe9
#define OPC_JMP_short	0xeb
#define OPC_LEA		0x8d
#define OPC_LZCNT	(0xbd | P_EXT | P_SIMDF3)
#define OPC_MFENCE	(0xae | P_EXT)	/* /6 with mod 3 */
#define OPC_MOVB_EvGv	0x88
#define OPC_MOVL_EvGv	0x89
#define OPC_MOVL_GvEv	0x8b
#define OPC_MOVB_EvIb	0xc6
#define OPC_MOVL_EvIz	0xc7
#define OPC_MOVL_Iv	0xb8
#define OPC_MOVSBL	(0xbe | P_EXT)
#define OPC_MOVSWL	(0xbf | P_EXT)
#define OPC_MOVSLQ	(0x63 | P_REXW)
#define OPC_MOVZBL	(0xb6 | P_EXT)
#define OPC_MOVZWL	(0xb7 | P_EXT)
#define OPC_POP_r32	0x58
#define OPC_POPCNT	(0xb8 | P_EXT | P_SIMDF3)
#define OPC_PUSH_r32	0x50
#define OPC_RET		0xc3
#define OPC_SETCC	(0x90 | P_EXT | P_REXB_RM)	/* + cc */
#define OPC_SHIFT_1	0xd1
#define OPC_SHIFT_Ib	0xc1
#define OPC_SHIFT_cl	0xd3
#define OPC_TESTL	0x85
#define OPC_TZCNT	(0xbc | P_EXT | P_SIMDF3)
#define OPC_XADD_EvGv	(0xc1 | P_EXT)
#define OPC_XCHG_EvGv	0x87
#define OPC_UD2		(0x0b | P_EXT)
#define OPC_MOVDQA_WxVx	(0x7f | P_EXT | P_DATA16)
#define OPC_MOVQ_VqWq	(0x7e | P_EXT | P_SIMDF3)	/* low qword, upper cleared */
#define OPC_MOVHPS_VqMq	(0x16 | P_EXT)			/* high qword */
#define OPC_MOVAPS_VxWx	(0x28 | P_EXT)
#define OPC_MOVSS_VxWx	(0x10 | P_EXT)			/* + F3 movss, F2 movsd */
#define OPC_MOVD_VdEd	(0x6e | P_EXT | P_DATA16)	/* low dword, upper cleared */
#define OPC_PUSHF	0x9c
#define OPC_GRP15	(0xae | P_EXT)
enum { EXT15_LDMXCSR = 2, EXT15_STMXCSR = 3 };
/* SSE floating point (the prefix selects ps, pd, ss, sd) */
#define OPC_SQRTPS	(0x51 | P_EXT)
#define OPC_ADDPS	(0x58 | P_EXT)
#define OPC_MULPS	(0x59 | P_EXT)
#define OPC_CVTPS2PD	(0x5a | P_EXT)		/* + F3 cvtss2sd, F2 cvtsd2ss, 66 cvtpd2ps */
#define OPC_CVTDQ2PS	(0x5b | P_EXT)		/* + 66 cvtps2dq, F3 cvttps2dq */
#define OPC_SUBPS	(0x5c | P_EXT)
#define OPC_MINPS	(0x5d | P_EXT)
#define OPC_DIVPS	(0x5e | P_EXT)
#define OPC_MAXPS	(0x5f | P_EXT)
#define OPC_ROUNDPS	(0x08 | P_EXT3A | P_DATA16)	/* then roundpd, roundss, roundsd */
#define OPC_CVTSI2SS	(0x2a | P_EXT | P_SIMDF3)
#define OPC_CVTSI2SD	(0x2a | P_EXT | P_SIMDF2)
#define OPC_UCOMISS	(0x2e | P_EXT)
#define OPC_CMPPS	(0xc2 | P_EXT)		/* + imm8 predicate */
#define OPC_COMISS	(0x2f | P_EXT)
#define OPC_CVTTSS2SI	(0x2c | P_EXT | P_SIMDF3)
#define OPC_CVTSS2SI	(0x2d | P_EXT | P_SIMDF3)
#define OPC_CVTTSD2SI	(0x2c | P_EXT | P_SIMDF2)
#define OPC_CVTSD2SI	(0x2d | P_EXT | P_SIMDF2)
#define OPC_CVTPD2DQ	(0xe6 | P_EXT | P_SIMDF2)
#define OPC_CVTTPD2DQ	(0xe6 | P_EXT | P_DATA16)
#define OPC_CVTDQ2PD	(0xe6 | P_EXT | P_SIMDF3)
/* SSE2 integer ops on xmm (66 0F xx) */
#define OPC_PUNPCKLBW	(0x60 | P_EXT | P_DATA16)
#define OPC_PUNPCKLWD	(0x61 | P_EXT | P_DATA16)
#define OPC_PUNPCKLDQ	(0x62 | P_EXT | P_DATA16)
#define OPC_PACKSSWB	(0x63 | P_EXT | P_DATA16)
#define OPC_PCMPGTB	(0x64 | P_EXT | P_DATA16)
#define OPC_PCMPGTW	(0x65 | P_EXT | P_DATA16)
#define OPC_PCMPGTD	(0x66 | P_EXT | P_DATA16)
#define OPC_PACKUSWB	(0x67 | P_EXT | P_DATA16)
#define OPC_PUNPCKHBW	(0x68 | P_EXT | P_DATA16)
#define OPC_PUNPCKHWD	(0x69 | P_EXT | P_DATA16)
#define OPC_PUNPCKHDQ	(0x6a | P_EXT | P_DATA16)
#define OPC_PACKSSDW	(0x6b | P_EXT | P_DATA16)
#define OPC_PCMPEQB	(0x74 | P_EXT | P_DATA16)
#define OPC_PCMPEQW	(0x75 | P_EXT | P_DATA16)
#define OPC_PCMPEQD	(0x76 | P_EXT | P_DATA16)
#define OPC_PADDQ	(0xd4 | P_EXT | P_DATA16)
#define OPC_PMULLW	(0xd5 | P_EXT | P_DATA16)
#define OPC_PSUBUSB	(0xd8 | P_EXT | P_DATA16)
#define OPC_PSUBUSW	(0xd9 | P_EXT | P_DATA16)
#define OPC_PMINUB	(0xda | P_EXT | P_DATA16)
#define OPC_PADDUSB	(0xdc | P_EXT | P_DATA16)
#define OPC_PADDUSW	(0xdd | P_EXT | P_DATA16)
#define OPC_PMAXUB	(0xde | P_EXT | P_DATA16)
#define OPC_PAVGB	(0xe0 | P_EXT | P_DATA16)
#define OPC_PAVGW	(0xe3 | P_EXT | P_DATA16)
#define OPC_PMULHUW	(0xe4 | P_EXT | P_DATA16)
#define OPC_PMULHW	(0xe5 | P_EXT | P_DATA16)
#define OPC_PSUBSB	(0xe8 | P_EXT | P_DATA16)
#define OPC_PSUBSW	(0xe9 | P_EXT | P_DATA16)
#define OPC_PMINSW	(0xea | P_EXT | P_DATA16)
#define OPC_PADDSB	(0xec | P_EXT | P_DATA16)
#define OPC_PADDSW	(0xed | P_EXT | P_DATA16)
#define OPC_PMAXSW	(0xee | P_EXT | P_DATA16)
#define OPC_PMULUDQ	(0xf4 | P_EXT | P_DATA16)
#define OPC_PMADDWD	(0xf5 | P_EXT | P_DATA16)
#define OPC_PSADBW	(0xf6 | P_EXT | P_DATA16)
#define OPC_PSUBB	(0xf8 | P_EXT | P_DATA16)
#define OPC_PSUBW	(0xf9 | P_EXT | P_DATA16)
#define OPC_PSUBD	(0xfa | P_EXT | P_DATA16)
#define OPC_PSUBQ	(0xfb | P_EXT | P_DATA16)
#define OPC_PADDB	(0xfc | P_EXT | P_DATA16)
#define OPC_PADDW	(0xfd | P_EXT | P_DATA16)
#define OPC_PADDD	(0xfe | P_EXT | P_DATA16)
/* VEX-only: FMA3, VEX.128.66.0F38 (W1 for pd/sd).  Each order's fmadd
 * opens a row of 8: fmsub, fnmadd and fnmsub follow 2 apart, and each
 * ss/sd form is its ps/pd form + 1 (opc_fma). */
#define OPC_VFMADD132PS	(0x98 | P_EXT38 | P_DATA16)
#define OPC_VFMADD213PS	(0xa8 | P_EXT38 | P_DATA16)
#define OPC_VFMADD231PS	(0xb8 | P_EXT38 | P_DATA16)
enum { FMA_MADD, FMA_MSUB, FMA_NMADD, FMA_NMSUB };

/* The FMA3 opcode of kind (FMA_*), order (0: 132, 1: 213, 2: 231), scalar
 * (ss/sd) or packed, single or double. */
static inline int opc_fma(int kind, int order, bool scalar, bool dbl)
{
	static const int row[3] = { OPC_VFMADD132PS, OPC_VFMADD213PS, OPC_VFMADD231PS };
	return (row[order] + 2 * kind + (scalar ? 1 : 0)) | (dbl ? P_REXW : 0);
}

/* Host flag bits the emitters pick out of what the CPU leaves. */
#define EFLAGS_CF	0x01
#define EFLAGS_PF	0x04
#define EFLAGS_ZF	0x40
#define MXCSR_FLAGS	0x3f		/* IE DE ZE OE UE PE: the sticky exception flags */

/* Group 1 (ARITH) /r extensions */
enum { ARITH_ADD, ARITH_OR, ARITH_ADC, ARITH_SBB, ARITH_AND, ARITH_SUB, ARITH_XOR, ARITH_CMP };
/* Group 2 (SHIFT) */
enum { SHIFT_ROL, SHIFT_ROR, SHIFT_RCL, SHIFT_RCR, SHIFT_SHL, SHIFT_SHR, SHIFT_SAL, SHIFT_SAR };
/* Group 3 */
enum { EXT3_TESTi, EXT3_NOT = 2, EXT3_NEG, EXT3_MUL, EXT3_IMUL, EXT3_DIV, EXT3_IDIV };
/* Group 5 */
enum { EXT5_CALLN_Ev = 2, EXT5_JMPN_Ev = 4 };

/* Condition codes, as in Jcc/SETcc/CMOVcc. */
enum host_cc {
	CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A,
	CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G,
};

/* Layer 0: raw bytes */
static inline void emit8(struct emit *e, uint8_t v) { *e->p++ = v; }
static inline void emit16(struct emit *e, uint16_t v) { memcpy(e->p, &v, 2); e->p += 2; }
static inline void emit32(struct emit *e, uint32_t v) { memcpy(e->p, &v, 4); e->p += 4; }
static inline void emit64(struct emit *e, uint64_t v) { memcpy(e->p, &v, 8); e->p += 8; }

/* Layer 1: prefixes, REX and opcode bytes.  r/rm/x are register numbers
 * (0-15) contributing REX.R/B/X; pass 0 where unused. */
void emit_opc(struct emit *e, int opc, int r, int rm, int x);
/* Layer 2: ModRM forms */
void emit_modrm(struct emit *e, int opc, int r, int rm);			/* reg, reg */
void emit_modrm_ext(struct emit *e, int opc, int ext, int rm);		/* /ext, reg */
/* VEX.128 reg, vvvv, rm (registers): opc's P_EXT* give the map, P_DATA16/
 * P_SIMDF3/P_SIMDF2 the implied prefix, P_REXW VEX.W */
void emit_vex_rr(struct emit *e, int opc, int r, int v, int rm);
/* [base + index*2^shift + disp]; base or index may be H_NONE */
void emit_modrm_sib(struct emit *e, int opc, int r, int base, int index, int shift, int32_t disp);
/* [rip + disp32] addressing target_rx; imm_bytes: the size of the
 * immediate the caller emits after it (rip is the next instruction's) */
void emit_modrm_rip(struct emit *e, int opc, int r, uintptr_t target_rx, int imm_bytes);
static inline void emit_modrm_offset(struct emit *e, int opc, int r, int base, int32_t disp)
{
	emit_modrm_sib(e, opc, r, base, H_NONE, 0, disp);
}

/* Layer 3: instructions.  `w` selects 64-bit operation (REX.W). */
void emit_mov_rr(struct emit *e, bool w, int dst, int src);
void emit_movi(struct emit *e, int dst, uint64_t val);		/* shortest form */
void emit_arith_rr(struct emit *e, int arith, bool w, int dst, int src);
void emit_arith_ri(struct emit *e, int arith, bool w, int dst, int32_t imm);
void emit_shift_ri(struct emit *e, int kind, bool w, int dst, int count);
void emit_shift_cl(struct emit *e, int kind, bool w, int dst);
void emit_unary(struct emit *e, int ext3, bool w, int reg);	/* not/neg/mul/imul */
void emit_imul_rr(struct emit *e, bool w, int dst, int src);
void emit_imul_rri(struct emit *e, bool w, int dst, int src, int32_t imm);
void emit_test_rr(struct emit *e, bool w, int a, int b);
void emit_test_ri(struct emit *e, bool w, int a, int32_t imm);
void emit_lea(struct emit *e, bool w, int dst, int base, int index, int shift, int32_t disp);
/* Loads: size is log2 bytes (0..3); sign-extends into 64 bits when sign. */
void emit_load(struct emit *e, int size, bool sign, int dst, int base, int32_t disp);
/* The same from an absolute address within 2 GiB of the instruction. */
void emit_load_rip(struct emit *e, int size, bool sign, int dst, uintptr_t target_rx);
void emit_store(struct emit *e, int size, int src, int base, int32_t disp);
void emit_load_idx(struct emit *e, int size, bool sign, int dst, int base, int index, int shift,
		   int32_t disp);
void emit_store_idx(struct emit *e, int size, int src, int base, int index, int shift, int32_t disp);
void emit_store_imm_idx(struct emit *e, int size, int32_t imm, int base, int index, int shift,
			int32_t disp);
void emit_store_imm(struct emit *e, int size, int32_t imm, int base, int32_t disp);
void emit_ext(struct emit *e, int size, bool sign, int dst, int src);	/* ext to 64 */
void emit_bswap(struct emit *e, bool w, int reg);
void emit_setcc(struct emit *e, int cc, int dst);		/* byte set only */
void emit_cmov(struct emit *e, int cc, bool w, int dst, int src);
/* Branches: return the address of the rel32 field to patch later. */
uint8_t *emit_jcc32(struct emit *e, int cc);
uint8_t *emit_jmp32(struct emit *e);
void emit_patch_rel32(uint8_t *field, const struct emit *e, uintptr_t target_rx);
void emit_jmp_to(struct emit *e, uintptr_t target_rx);
void emit_call_to(struct emit *e, uintptr_t target_rx);	/* clobbers r11 if far */
void emit_jmp_reg(struct emit *e, int reg);
void emit_push(struct emit *e, int reg);
void emit_pop(struct emit *e, int reg);
void emit_ret(struct emit *e);
void emit_pushf(struct emit *e);
void emit_mfence(struct emit *e);
void emit_nops(struct emit *e, int n);
/* lock cmpxchg/xchg/xadd [base], reg at operand size 1<<size */
void emit_atomic(struct emit *e, int opc, int size, int reg, int base);

#endif
