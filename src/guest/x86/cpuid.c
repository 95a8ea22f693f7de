/*
 * The CPUID model, by x86-64 level: x86-64 (x87, SSE, SSE2, CMOV, CMPXCHG8B,
 * FXSR, TSC) and x86-64-v2 (+ CMPXCHG16B, LAHF/SAHF in 64-bit mode, POPCNT,
 * SSE3, SSSE3, SSE4.1, SSE4.2) and x86-64-v3 (+ AVX, AVX2, FMA, F16C,
 * XSAVE/OSXSAVE with XCR0 = x87|SSE|AVX, MOVBE, BMI1, BMI2, LZCNT).  CPUID
 * reports exactly the selected level:
 * glibc picks its string and math routines from these bits, and the decode
 * loop refuses (#UD) instructions above the level, as such a CPU would.
 * Some v2 and v3 instructions run as the host's own in helpers, so a level
 * needs a host that has them.  The integer v3 features (MOVBE, BMI1, BMI2)
 * are reported only once the frontend lifts their instructions, so that a
 * guest's feature checks never pick code loom would refuse.  AES,
 * PCLMULQDQ, RDRAND, RDSEED and SHA are reported from v2 on exactly when the
 * host has them (host_ext).  `-cpu host` (alias `max`) is the default level
 * plus every extension loom implements that the host has, in CPUID and in
 * AT_HWCAP2: ADX, CLFLUSHOPT, CLWB, SERIALIZE, MOVDIRI, RDPID, RDTSCP, and
 * FSGSBASE where the host kernel enables it for user space (its own
 * AT_HWCAP2 says so);
 * and the CPUID bits of the hints CLDEMOTE and PREFETCHW, which loom runs
 * as the host does whatever the model.  The default model leaves those out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include "guest/x86/cpuid.h"
#include "guest/x86/avx-ops.h"
#include "guest/x86/translate.h"
#include "host/host.h"

int x86_level = X86_V1;
unsigned x86_ext;
bool x86_amd;

static const struct {
	const char *name;
	int level;
	const char *missing;	/* what loom lacks for it, or NULL */
} levels[] = {
	{ "x86-64", X86_V1, NULL },
	{ "x86-64-v2", X86_V2, NULL },
	{ "x86-64-v3", X86_V3, NULL },
};

static void host_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

void x86_follow_host_vendor(void)
{
	uint32_t r[4];
	char v[13];
	host_cpuid(0, 0, r);
	memcpy(v, &r[1], 4);	/* ebx, edx, ecx */
	memcpy(v + 4, &r[3], 4);
	memcpy(v + 8, &r[2], 4);
	v[12] = 0;
	x86_amd = !strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine");
}

/* leaf 1 ecx: sse3 ssse3 cx16 sse4.1 sse4.2 popcnt */
#define V2_L1_ECX ((1u << 0) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 23))

/* Extensions outside the levels, one row each: the flag, and where CPUID
 * reports it -- leaf, register (0-3: eax..edx), bit -- the same in the
 * host's CPUID and in loom's.  v2: every model from v2 on reports it when
 * the host has it (AES, PCLMULQDQ, RDRAND, RDSEED, SHA: every
 * x86-64-v2-class CPU Intel and AMD made since 2011 has the first three,
 * and helpers run the host's instruction; never below v2, where a program
 * expects a 2003-era CPU); the others only -cpu host does. */
static const struct {
	unsigned ext;
	uint32_t leaf;
	uint8_t reg, bit;
	bool v2;
} ext_bits[] = {
	{ X86_EXT_AES, 1, 2, 25, true },
	{ X86_EXT_PCLMUL, 1, 2, 1, true },
	{ X86_EXT_RDRAND, 1, 2, 30, true },
	{ X86_EXT_RDSEED, 7, 1, 18, true },
	{ X86_EXT_SHA, 7, 1, 29, true },
	{ X86_EXT_ADX, 7, 1, 19, false },
	{ X86_EXT_FSGSBASE_ID, 7, 1, 0, false },
	{ X86_EXT_CLFLUSHOPT, 7, 1, 23, false },
	{ X86_EXT_CLWB, 7, 1, 24, false },
	{ X86_EXT_RDPID, 7, 2, 22, false },
	{ X86_EXT_CLDEMOTE, 7, 2, 25, false },
	{ X86_EXT_MOVDIRI, 7, 2, 27, false },
	{ X86_EXT_SERIALIZE, 7, 3, 14, false },
	{ X86_EXT_PREFETCHW, 0x80000001, 2, 8, false },
	{ X86_EXT_RDTSCP, 0x80000001, 3, 27, false },
};

/* The rows the host has, of those wanted: the v2 ones when v2, the others
 * when max.  FSGSBASE runs
 * only where the kernel lets user space run it too (HWCAP2_FSGSBASE, Linux
 * 5.9 on; before, the instructions #UD). */
static unsigned host_ext(bool v2, bool max)
{
	uint32_t r[4], top, xtop;
	unsigned e = 0;
	host_cpuid(0, 0, r);
	top = r[0];
	host_cpuid(0x80000000, 0, r);
	xtop = r[0];
	for (size_t i = 0; i < sizeof(ext_bits) / sizeof(ext_bits[0]); i++) {
		uint32_t leaf = ext_bits[i].leaf;
		if (!(ext_bits[i].v2 ? v2 : max) || leaf > (leaf >= 0x80000000 ? xtop : top))
			continue;
		host_cpuid(leaf, 0, r);
		if (r[ext_bits[i].reg] >> ext_bits[i].bit & 1)
			e |= ext_bits[i].ext;
	}
	if ((e & X86_EXT_FSGSBASE_ID) && (getauxval(AT_HWCAP2) & 2))
		e |= X86_EXT_FSGSBASE;
	return e;
}

/* Report the selected extensions of leaf (subleaf 0) in out. */
static void report_ext(uint32_t leaf, uint32_t out[4])
{
	for (size_t i = 0; i < sizeof(ext_bits) / sizeof(ext_bits[0]); i++)
		if (ext_bits[i].leaf == leaf && (x86_ext & ext_bits[i].ext))
			out[ext_bits[i].reg] |= 1u << ext_bits[i].bit;
}

/* The register forms of the prefetch opcodes 0F 0D and 0F 18 are NOPs on
 * Intel and #UD on AMD; bit (opcode == 0x18) * 8 + reg is set where the
 * host raises #UD.  Probed once, before loom installs its own handlers. */
static unsigned hint_reg_ud;

static void probe_hint_space(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	struct host_insn insns[16];
	for (int i = 0; i < 16; i++)	/* 0F op ModRM(mod 3, reg) */
		insns[i] = (struct host_insn){ 3, { 0x0f, i < 8 ? 0x0d : 0x18, 0xc0 | (i % 8) << 3 } };
	hint_reg_ud = host_probe_ud(insns, 16);
}

bool x86_host_hint_reg_ud(int opcode, int reg)
{
	if (opcode != 0x0d && opcode != 0x18)
		return false;
	return hint_reg_ud >> ((opcode == 0x18) * 8 + reg) & 1;
}

static bool host_has_v2(void)
{
	uint32_t r[4];
	host_cpuid(1, 0, r);
	return (r[2] & V2_L1_ECX) == V2_L1_ECX;
}

int x86_select_level(const char *name)
{
	probe_hint_space();
	bool max = name && (!strcasecmp(name, "host") || !strcasecmp(name, "max"));
	if (!name || max) {
		/* The highest level loom implements completely and the host
		 * can run (AVX helpers run the host's own instructions). */
		x86_level = avx_host_ok() && host_has_v2() ? X86_V3 : host_has_v2() ? X86_V2 : X86_V1;
		x86_ext = host_ext(x86_level >= X86_V2, max);
		return 0;
	}
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcasecmp(name, levels[i].name))
			continue;
		/* LOOM_CPU_PARTIAL=1 lets the tests run the parts of a level
		 * that exist while the rest is being written */
		const char *partial = getenv("LOOM_CPU_PARTIAL");
		if (levels[i].missing && !(partial && !strcmp(partial, "1"))) {
			fprintf(stderr, "loom: -cpu %s: not implemented yet (%s)\n", name, levels[i].missing);
			return -1;
		}
		if (levels[i].level >= X86_V2 && !host_has_v2()) {
			fprintf(stderr, "loom: -cpu %s: the host CPU lacks SSE3/SSSE3/SSE4.1/SSE4.2/"
				"POPCNT/CMPXCHG16B, which loom needs to run it\n", name);
			return -1;
		}
		if (levels[i].level >= X86_V3 && !avx_host_ok()) {
			fprintf(stderr, "loom: -cpu %s: the host CPU (or OS) lacks AVX2/FMA/F16C, "
				"which loom needs to run it\n", name);
			return -1;
		}
		x86_level = levels[i].level;
		x86_ext = host_ext(x86_level >= X86_V2, false);
		return 0;
	}
	fprintf(stderr, "loom: -cpu %s: unknown CPU model (try -cpu help)\n", name);
	return -1;
}

void x86_list_levels(FILE *f)
{
	fprintf(f, "CPU models (-cpu):\n");
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		fprintf(f, "  %-10s %s\n", levels[i].name,
			levels[i].missing ? "(not implemented yet)" : "");
	fprintf(f, "  %-10s %s\n", "host", "the default level and every extension loom implements "
		"that this host has (alias: max)");
}

#define VENDOR "GenuineIntel"
#define BRAND "loom virtual x86-64 CPU"

/* leaf 1 edx: fpu tsc cx8 cmov (pat) clflush mmx fxsr sse sse2 */
#define L1_EDX ((1u << 0) | (1u << 4) | (1u << 8) | (1u << 15) | (1u << 19) | \
		(1u << 23) | (1u << 24) | (1u << 25) | (1u << 26))
/* 0x80000001 edx: syscall, nx, lm; ecx: lahf_lm (v2) */
#define XL1_EDX ((1u << 11) | (1u << 20) | (1u << 29))
#define V2_XL1_ECX (1u << 0)
/* leaf 1 ecx: fma movbe xsave osxsave avx f16c */
#define V3_L1_ECX ((1u << 12) | (1u << 22) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 29))
/* leaf 7 ebx: bmi1 avx2 bmi2; 0x80000001 ecx: abm (lzcnt) */
#define L7_BMI1 (1u << 3)
#define L7_AVX2 (1u << 5)
#define L7_BMI2 (1u << 8)
#define V3_XL1_ECX (1u << 5)

/* The integer v3 features whose instructions the frontend lifts. */
static bool lifts_movbe(void) { return x86_lifts(ZYDIS_MNEMONIC_MOVBE); }
static bool lifts_bmi1(void)
{
	return x86_lifts(ZYDIS_MNEMONIC_ANDN) && x86_lifts(ZYDIS_MNEMONIC_BEXTR) &&
	       x86_lifts(ZYDIS_MNEMONIC_BLSR);
}
static bool lifts_bmi2(void)
{
	return x86_lifts(ZYDIS_MNEMONIC_SHLX) && x86_lifts(ZYDIS_MNEMONIC_BZHI) &&
	       x86_lifts(ZYDIS_MNEMONIC_PDEP) && x86_lifts(ZYDIS_MNEMONIC_MULX);
}

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
		out[2] = x86_level >= X86_V2 ? V2_L1_ECX : 0;
		if (x86_level >= X86_V3)
			out[2] |= V3_L1_ECX & ~(lifts_movbe() ? 0 : 1u << 22);
		out[3] = L1_EDX;
		report_ext(1, out);
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
	case 7:
		if (subleaf)
			break;
		if (x86_level >= X86_V3)
			out[1] = L7_AVX2 | (lifts_bmi1() ? L7_BMI1 : 0) | (lifts_bmi2() ? L7_BMI2 : 0);
		report_ext(7, out);
		break;
	case 0xd:
		/* XSAVE components: 0 x87, 1 SSE (legacy area), 2 AVX at 576 */
		if (x86_level < X86_V3)
			break;
		switch (subleaf) {
		case 0:
			out[0] = X86_XCR0;
			out[1] = XSAVE_SIZE;	/* for the XCR0 set */
			out[2] = XSAVE_SIZE;	/* for all supported components */
			break;
		case 1:
			out[0] = 1 | 2;		/* XSAVEOPT, XSAVEC */
			out[1] = XSAVE_SIZE;
			break;
		case 2:
			out[0] = 256;
			out[1] = XSAVE_YMM_OFF;
			break;
		}
		break;
	case 0x80000000:
		out[0] = 0x80000008;
		break;
	case 0x80000001:
		out[2] = x86_level >= X86_V2 ? V2_XL1_ECX : 0;
		if (x86_level >= X86_V3 && x86_lifts(ZYDIS_MNEMONIC_LZCNT))
			out[2] |= V3_XL1_ECX;
		out[3] = XL1_EDX;
		report_ext(0x80000001, out);
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

uint64_t x86_hwcap2(void)
{
	return x86_ext & X86_EXT_FSGSBASE ? 2 : 0;	/* HWCAP2_FSGSBASE */
}

/*
 * The system CPUID model: what a kernel sees.  It starts from the user
 * model of the selected level and changes what a kernel reads that a
 * process does not: the hypervisor bit, an APIC (with TSC-deadline) but no
 * x2APIC, MTRR, PAT, PGE, PSE, PAE, MSR, DE; no MCE/MCA (the kernel would
 * read MCG_CAP and the banks), no PMU (leaf 0xa zero), no PCID, INVPCID,
 * LA57, UMIP, SMEP, SMAP, PKU, FSGSBASE, no SPEC_CTRL (sys-cpu.c's MSR
 * table agrees); ARCH_CAPABILITIES, whose MSR says the CPU is immune to the
 * speculative-execution attacks it names (an emulated CPU does not
 * speculate: its loads see only what the page tables allow, and it keeps
 * no buffers or predictors a guest could read), so that Linux does not
 * pay for mitigations there is nothing to mitigate (page-table isolation:
 * two CR3 writes, each emptying the TLB and jump caches of user entries,
 * per system call and interrupt; VERW at each return to user mode; return
 * thunks); an invariant TSC and,
 * when the machine says its rate, leaves 0x15/0x16 with it, so the kernel
 * need not calibrate.  RDTSCP and RDPID are reported as the user model
 * reports them (-cpu host), since the decoder admits them only then.  CPUID.1:ECX.OSXSAVE follows CR4, leaf 0xd's size
 * follows XCR0.  The vendor stays the user model's (GenuineIntel): the
 * kernel then reads the Intel MSRs sys-cpu.c has (MISC_ENABLE,
 * FEATURE_CONTROL, PLATFORM_ID, BIOS_SIGN_ID).
 */
#include "guest/x86/sys.h"

#define SYS_L1_EDX ((1u << 2) | (1u << 3) | (1u << 5) | (1u << 6) | (1u << 9) | (1u << 12) | \
		    (1u << 13) | (1u << 16))	/* de pse msr pae apic mtrr pge pat */
#define SYS_L1_ECX_OFF ((1u << 17) | (1u << 21) | (1u << 27))	/* pcid x2apic osxsave */
#define SYS_L1_ECX_ON ((1u << 24) | (1u << 31))	/* tsc-deadline, hypervisor */
#define SYS_MAX_LEAF 0x16
#define SYS_HV_SIGNATURE "LoomLoomLoom"

void x86_sys_cpuid(struct cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	struct x86_sys *sys = cpu->sys;
	uint64_t hz = sys->env ? sys->env->tsc_hz : 0;
	uint64_t crystal = sys->env && sys->env->crystal_hz ? sys->env->crystal_hz : hz;
	if ((leaf > SYS_MAX_LEAF && leaf < 0x40000000) || (leaf > 0x40000000 && leaf < 0x80000000)) {
		memset(out, 0, 16);
		return;
	}
	x86_cpuid(leaf, sub, out);
	switch (leaf) {
	case 0:
		out[0] = SYS_MAX_LEAF;
		break;
	case 1:
		out[1] &= 0x00ffffff;	/* initial APIC ID 0 */
		out[2] = (out[2] & ~SYS_L1_ECX_OFF) | SYS_L1_ECX_ON;
		if ((sys->cr4 & CR4_OSXSAVE) && x86_level >= X86_V3)
			out[2] |= 1u << 27;
		out[3] |= SYS_L1_EDX;
		break;
	case 6:
		out[0] = 1u << 2;	/* ARAT: the APIC timer runs in every C-state */
		break;
	case 7:
		if (sub == 0) {
			out[1] &= ~((1u << 0) | (1u << 7) | (1u << 10) | (1u << 20));
			out[2] &= ~((1u << 2) | (1u << 3) | (1u << 16));
			out[3] &= ~((1u << 26) | (1u << 27) | (1u << 31));
			out[3] |= 1u << 29;	/* ARCH_CAPABILITIES */
		}
		break;
	case 0xd:
		if (sub == 0 && x86_level >= X86_V3)
			out[1] = (sys->xcr0 & 4) ? XSAVE_SIZE : XSAVE_YMM_OFF;
		break;
	case 0x15:	/* TSC = ECX (the crystal) * EBX / EAX, the ratio reduced */
		if (hz && crystal <= UINT32_MAX) {
			uint64_t a = hz, b = crystal;
			while (b) {
				uint64_t t = a % b;
				a = b;
				b = t;
			}
			out[0] = crystal / a;
			out[1] = hz / a;
			out[2] = crystal;
		}
		break;
	case 0x16:	/* base, maximum and bus (reference) frequency in MHz */
		out[0] = out[1] = hz / 1000000;
		out[2] = crystal / 1000000;
		break;
	case 0x40000000:
		out[0] = 0x40000000;
		memcpy(&out[1], SYS_HV_SIGNATURE, 4);
		memcpy(&out[2], SYS_HV_SIGNATURE + 4, 4);
		memcpy(&out[3], SYS_HV_SIGNATURE + 8, 4);
		break;
	case 0x80000000:
		out[0] = 0x80000008;
		break;
	case 0x80000007:
		out[3] = 1u << 8;	/* invariant TSC */
		break;
	case 0x80000008:	/* 40 physical address bits, as qemu-system's */
		out[0] = (out[0] & ~0xffu) | X86_PHYS_BITS;
		break;
	}
}
