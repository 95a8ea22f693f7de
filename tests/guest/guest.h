/*
 * Helpers shared by the self-checking guest tests.  Each test prints what it
 * computed; tests/guest/run.sh runs it natively and under loom and compares
 * stdout and exit status, so the host CPU is the oracle.  Nothing printed may
 * depend on addresses, pids, time or uninitialized memory.
 */
#ifndef LOOM_GUEST_H
#define LOOM_GUEST_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mremap, sigqueue, getauxval, ... in both libcs */
#endif
#include <stdint.h>
#include <stdio.h>

/* xorshift64*: deterministic across libcs and runs. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static inline void rng_seed(uint64_t s) { rng_state = s ? s : 1; }
static inline uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* FNV-1a style mixing of a 64-bit value into a running checksum. */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ull;
	}
	return h;
}
#define MIX_INIT 0xcbf29ce484222325ull

/* Make the compiler forget what it knows about v, so the operation under test
 * is computed at run time rather than folded to a constant. */
#define HIDE(v) __asm__ volatile("" : "+m"(v))
#endif
