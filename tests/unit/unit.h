/*
 * A minimal unit-test framework: CHECK() records a failure with its location
 * and keeps going; each test binary prints "N passed, N failed" and exits
 * non-zero on any failure.  tests/run-all.sh adds the counts up.
 */
#ifndef LOOM_TESTS_UNIT_H
#define LOOM_TESTS_UNIT_H
#include <stdint.h>
#include <stdio.h>

extern int unit_passed, unit_failed, unit_skipped;
/* A check that cannot run on this host: counted as skipped, never as passed. */
#define SKIP(why) do { unit_skipped++; printf("SKIP %s:%d: %s\n", __FILE__, __LINE__, why); } while (0)
#define CHECK(cond) do { \
	if (cond) unit_passed++; \
	else { unit_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)
#define CHECK_EQ(a, b) do { \
	unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
	if (a_ == b_) unit_passed++; \
	else { unit_failed++; fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (0x%llx vs 0x%llx)\n", \
		__FILE__, __LINE__, #a, #b, a_, b_); } \
} while (0)
/* xorshift64: the generated tests' random source, deterministic per seed. */
static inline uint64_t unit_xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}
/* Each test file defines this; main() in unit.c calls it. */
void unit_main(void);
#endif
