/* The guest's CPUID model (guest/x86/cpuid.c). */
#ifndef LOOM_GUEST_X86_CPUID_H
#define LOOM_GUEST_X86_CPUID_H
#include <stdint.h>
/* Fill eax, ebx, ecx, edx for leaf/subleaf as the modelled CPU reports them. */
void x86_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
#endif
