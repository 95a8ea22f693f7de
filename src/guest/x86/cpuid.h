/* The guest's CPUID model and ISA level (guest/x86/cpuid.c). */
#ifndef LOOM_GUEST_X86_CPUID_H
#define LOOM_GUEST_X86_CPUID_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* x86-64 micro-architecture levels; loom implements V1 and V2 completely. */
enum x86_level { X86_V1 = 1, X86_V2 = 2, X86_V3 = 3 };
extern int x86_level;
/* Extensions CPUID reports besides the level's (cpuid.c says when). */
enum { X86_EXT_AES = 1, X86_EXT_PCLMUL = 2, X86_EXT_RDRAND = 4, X86_EXT_RDSEED = 8,
       X86_EXT_SHA = 16, X86_EXT_ADX = 32,
       X86_EXT_FSGSBASE = 64,		/* the instructions run (AT_HWCAP2 says so) */
       X86_EXT_FSGSBASE_ID = 128,	/* CPUID reports it (the kernel may not enable it) */
       X86_EXT_CLFLUSHOPT = 256, X86_EXT_CLWB = 512, X86_EXT_SERIALIZE = 1024,
       X86_EXT_MOVDIRI = 2048,
       /* hints loom runs as the host does; only CPUID differs */
       X86_EXT_CLDEMOTE = 4096, X86_EXT_PREFETCHW = 8192,
       X86_EXT_RDPID = 16384, X86_EXT_RDTSCP = 32768 };
extern unsigned x86_ext;

/* Select the level by name ("x86-64", "x86-64-v2", ...; NULL: the highest
 * level loom implements and the host can run; "host" or "max": that and
 * every extension loom implements that the host has).  Returns 0, or -1 after
 * printing one line on stderr saying why the level cannot be used. */
int x86_select_level(const char *name);
void x86_list_levels(FILE *f);
/* Whether the host raises #UD for the register form (ModRM mod 3, this
 * reg field) of hint opcode 0F 0D or 0F 18 (probed by x86_select_level). */
bool x86_host_hint_reg_ud(int opcode, int reg);
/* AT_HWCAP2 of the modelled CPU: HWCAP2_FSGSBASE where it has FSGSBASE. */
uint64_t x86_hwcap2(void);
/*
 * Where Intel's and AMD's CPUs visibly differ in what the SDM and APM
 * leave to the implementation, the model is Intel's unless x86_amd is set.
 * User mode sets it on an AMD (or Hygon) host (x86_follow_host_vendor), so
 * that a program sees what it would see run natively; whole-system mode
 * leaves it clear, as its CPUID is Intel's.  The differences modelled:
 *  - movsxd with a 16-bit operand size reads a word on Intel, a dword on
 *    AMD (#AC and page faults show it);
 *  - a store from an MMX register that faults: Intel has set TOP to 0
 *    already, AMD has not;
 *  - single-stepped rep string instructions trap between iterations with
 *    RF set in the saved flags on Intel, clear on AMD;
 *  - a fault in an iteration of repe/repne cmps or scas: Intel saves the
 *    flags from before the instruction, AMD those of the last iteration;
 *  - pop fs/gs with a 32- or 64-bit operand size reads the selector's
 *    word on Intel, the whole operand on AMD;
 *  - a gather that faults: Intel has made each mask element all ones or
 *    all zeros from its top bit and cleared bits 255:128 of a VEX.128
 *    form's mask and destination; AMD has only cleared the masks of the
 *    elements done.
 * The CPUID vendor stays GenuineIntel either way, and where a program can
 * ask which rule applies, loom follows the vendor it reports: near
 * branches with a 66h prefix keep Intel's 64-bit operand size (AMD's take
 * 16 bits), as tests/guest/faults.c checks ("the reported vendor's rule").
 */
extern bool x86_amd;
void x86_follow_host_vendor(void);
/* Fill eax, ebx, ecx, edx for leaf/subleaf as the modelled CPU reports them. */
void x86_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
#endif
