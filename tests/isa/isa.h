/*
 * The record layouts shared by the differential instruction tester's three
 * parts: gen.py writes case records, the harness (harness.c + tramp.S, a
 * static guest program) runs them and writes result records, compare.c
 * reads both.  Invariant: the offsets below are also spelled out in tramp.S
 * and gen.py; change all three together (the _Static_asserts guard C).
 */
#ifndef ISA_H
#define ISA_H
#include <stdint.h>

#define ISA_MEM 64      /* bytes of the memory window; operands sit at +16 */

struct isa_state {
	uint64_t gpr[16];       /* rax rcx rdx rbx rsp rbp rsi rdi r8..r15 (Intel order) */
	uint64_t rflags;        /* 128 */
	uint64_t mxcsr;         /* 136, low 32 bits */
	uint8_t xmm[16][16];    /* 144 */
	uint8_t mem[ISA_MEM];   /* 400 */
	uint64_t signo;         /* 464: 0, or the signal the instruction raised */
	uint64_t sig_off;       /* 472: faulting rip - snippet start */
	uint8_t ymmh[16][16];   /* 480: bits 255:128 of ymm0-15 (AVX batches only, else 0) */
};
_Static_assert(sizeof(struct isa_state) == 736, "layout shared with tramp.S/gen.py");

/* A case file: header, then ncases records. */
struct isa_case_hdr {
	uint64_t magic;         /* ISA_MAGIC */
	uint64_t ncases;
};
struct isa_case {
	uint64_t snip;          /* index into the program's snippet table */
	struct isa_state in;
};
_Static_assert(sizeof(struct isa_case) == 744, "layout shared with gen.py");

/* The harness's output: header, nsnips snippet descriptions, then one
 * result state per case. */
struct isa_snip_desc {
	uint8_t len;
	uint8_t bytes[15];
};
#define ISA_MAGIC 0x31617369534f4f4cull /* "LOOMisa1" */

#endif
