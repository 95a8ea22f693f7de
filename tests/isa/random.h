/*
 * The record layouts of the random-instruction-stream tester, shared by its
 * two programs: rgen (host side, Zydis: generates the streams and compares
 * the runs) and rharness (rharness.c + rtramp.S, the static guest program
 * that runs every stream of a batch natively or under loom and writes one
 * result per stream).  The guest-visible layout is fixed here too: each
 * stream runs from the start of its own page of the code region, followed
 * by ud2 (the end marker: every stream ends in a signal), with registers
 * seeded to point into the scratch page, which sits below 4 GB so that
 * 32-bit address forms reach it as well.
 * Invariant: the offsets of struct rnd_state are spelled out in rtramp.S;
 * change both together (the _Static_asserts guard the C side).
 */
#ifndef RANDOM_H
#define RANDOM_H
#include <stdint.h>

#define RND_CODE     0xa0000000ull      /* page (i - first) holds stream i */
#define RND_SCRATCH  0xc0000000ull      /* one RW page, PROT_NONE pages around it */
#define RND_SCRATCH_SIZE 4096
#define RND_BATCH_MAX 8192              /* streams per run: the code region's pages */
#define RND_MAX_BYTES 160               /* a stream's bytes, without the final ud2 */
#define RND_MAGIC    0x31646e526d6f6f4cull      /* "LoomRnd1" */

/* What a stream starts with (rgen chooses it) -- rtramp.S loads it. */
struct rnd_state {
	uint64_t gpr[16];       /*   0: rax rcx rdx rbx rsp rbp rsi rdi r8..r15 */
	uint64_t rflags;        /* 128 */
	uint64_t mxcsr;         /* 136, low 32 bits */
	uint8_t xmm[16][16];    /* 144 */
	uint8_t ymmh[16][16];   /* 400: bits 255:128, loaded when the CPU has AVX */
	uint64_t mm[8];         /* 656: mm0-7, then emms: x87 starts empty */
};
_Static_assert(sizeof(struct rnd_state) == 720, "offsets shared with rtramp.S");

/* One stream of the stream file: rgen writes COUNT of these after a
 * struct rnd_file_hdr. */
struct rnd_stream {
	uint64_t index;         /* the stream's number under its seed */
	uint64_t mem_seed;      /* the scratch page's contents (rnd_fill) */
	uint32_t len;           /* bytes[] used */
	uint32_t pad;
	uint8_t bytes[RND_MAX_BYTES];
	struct rnd_state in;
};
struct rnd_file_hdr {
	uint64_t magic;
	uint64_t seed, first, count;
};

/* The harness's output: a struct rnd_out_hdr, then one rnd_result per
 * stream.  The header carries the CPUID words rgen needs to tell which
 * instruction sets the CPU (natively: the host; under loom: its model)
 * reports. */
enum { RND_ID_1C, RND_ID_1D, RND_ID_7B, RND_ID_7C, RND_ID_7D, RND_ID_71A,
	RND_ID_81C, RND_ID_81D, RND_ID_D1A, RND_ID_88B, RND_ID_N };
struct rnd_out_hdr {
	uint64_t magic;
	uint64_t count;
	uint32_t cpuid[RND_ID_N];
	uint32_t avx;           /* the harness loaded and saved ymm bits 255:128 */
};
struct rnd_result {
	uint64_t signo, sig_code, sig_addr;
	uint64_t pc_off;        /* faulting rip - stream start (len: the final ud2) */
	uint64_t gpr[16];
	uint64_t rflags;
	uint32_t mxcsr;
	uint16_t fcw, fsw;
	uint8_t ftw;            /* FXSAVE's abridged tags: bit i = physical register i */
	uint8_t pad[7];
	uint8_t st[8][16];      /* ST(0)..ST(7), 10 bytes each */
	uint8_t xmm[16][16];
	uint8_t ymmh[16][16];
	uint64_t mem_hash[RND_SCRATCH_SIZE / 256];      /* FNV-1a of each 256-byte block */
};

/* The scratch page's contents for a stream: xorshift64 from its mem_seed,
 * the same in both programs. */
static inline void rnd_fill(uint8_t *p, uint64_t seed)
{
	uint64_t x = seed | 1;
	for (int i = 0; i < RND_SCRATCH_SIZE; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		__builtin_memcpy(p + i, &x, 8);
	}
}

#endif
