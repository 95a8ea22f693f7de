/*
 * The CPUID model: a baseline x86-64 CPU (SSE, SSE2, CMOV, CMPXCHG8B, FXSR,
 * x87, TSC) and nothing loom does not implement.  glibc picks its string and
 * math routines from these bits, so reporting a feature loom lacks would send
 * the guest into instructions it cannot run; reporting less is always safe.
 */
#include <string.h>
#include "guest/x86/cpuid.h"

#define VENDOR "GenuineIntel"
#define BRAND "loom virtual x86-64 CPU"

/* leaf 1 edx: fpu tsc cx8 cmov (pat) clflush mmx fxsr sse sse2 */
#define L1_EDX ((1u << 0) | (1u << 4) | (1u << 8) | (1u << 15) | (1u << 19) | \
		(1u << 23) | (1u << 24) | (1u << 25) | (1u << 26))
#define L1_ECX 0u
/* 0x80000001 edx: syscall, nx, lm; ecx: lahf_lm */
#define XL1_EDX ((1u << 11) | (1u << 20) | (1u << 29))
#define XL1_ECX (1u << 0)

void x86_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	memset(out, 0, 16);
	switch (leaf) {
	case 0:
		out[0] = 0xd;
		memcpy(&out[1], VENDOR, 4);
		memcpy(&out[3], VENDOR + 4, 4);
		memcpy(&out[2], VENDOR + 8, 4);
		break;
	case 1:
		/* family 6, model 0x3a-ish generic, stepping 9 */
		out[0] = (6 << 8) | (0xa << 4) | 9 | (3 << 16);
		out[1] = (8 << 8) | (1 << 16);	/* clflush 64 bytes, 1 logical cpu */
		out[2] = L1_ECX;
		out[3] = L1_EDX;
		break;
	case 4:
		/* deterministic cache parameters: L1d 32K, L1i 32K, L2 256K, L3 8M */
		switch (subleaf) {
		case 0: out[0] = 0x121; out[1] = 0x1c0003f; out[2] = 63; break;
		case 1: out[0] = 0x122; out[1] = 0x1c0003f; out[2] = 63; break;
		case 2: out[0] = 0x143; out[1] = 0x1c0003f; out[2] = 511; break;
		case 3: out[0] = 0x163; out[1] = 0x3c0003f; out[2] = 8191; break;
		}
		break;
	case 0x80000000:
		out[0] = 0x80000008;
		break;
	case 0x80000001:
		out[2] = XL1_ECX;
		out[3] = XL1_EDX;
		break;
	case 0x80000002: case 0x80000003: case 0x80000004: {
		char brand[48] = { 0 };
		strncpy(brand, BRAND, sizeof(brand) - 1);
		memcpy(out, brand + (leaf - 0x80000002) * 16, 16);
		break;
	}
	case 0x80000006:
		out[2] = (256 << 16) | (8 << 12) | 64;	/* L2: 256K, 8-way, 64B lines */
		break;
	case 0x80000008:
		out[0] = 0x3027;	/* 39 physical, 48 virtual address bits */
		break;
	}
}
