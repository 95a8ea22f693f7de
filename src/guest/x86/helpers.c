/*
 * Integer and system helpers of the x86 guest, and the helper table the IR
 * calls through.  A helper that raises a guest exception calls x86_raise*
 * (exec_raise), which unwinds to the exec loop; the lifter has stored rip
 * before the call.
 * Helpers flagged as touching globals read and write them in struct cpu.
 */
#include <asm/prctl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>
#include "exec/exec.h"
#include "guest/x86/cpu.h"
#include "guest/x86/cpuid.h"
#include "guest/x86/helpers.h"
#include "guest/x86/mem.h"

/* The exception gen_raise describes: desc holds the vector (bits 0-7),
 * EXC_* flags (8-15) and the exc_map (16-23); extra is a page fault's
 * address, else the vector's info (#DB: DR6 bits). */
static void helper_raise(uint64_t env, uint64_t desc, uint64_t error_code, uint64_t extra)
{
	struct guest_exception e = { .vector = desc & 0xff, .flags = desc >> 8 & 0xff,
				     .map = desc >> 16 & 0xff, .error_code = error_code };
	if (e.vector == X86_EXC_PF)
		e.addr = extra;
	else
		e.info = extra;
	exec_raise((void *)(uintptr_t)env, &e);
}

static _Noreturn void divide_error(struct cpu *cpu)
{
	x86_raise(cpu, X86_EXC_DE);
}

/* Unsigned and signed division of rdx:rax (at each width) by the divisor;
 * quotient overflow raises #DE like division by zero.  User mode divides
 * 32- and 64-bit operands with the host's own instruction (lift-int.c,
 * gen_div); whole-system mode uses every one of these. */
static void helper_divb(uint64_t env, uint64_t d)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	uint16_t n = cpu->regs[R_RAX];
	uint8_t dv = d;
	if (!dv || n / dv > 0xff)
		divide_error(cpu);
	cpu->regs[R_RAX] = (cpu->regs[R_RAX] & ~0xffffull) | ((n % dv) << 8) | (n / dv);
}

static void helper_idivb(uint64_t env, uint64_t d)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	int16_t n = cpu->regs[R_RAX];
	int8_t dv = d;
	if (!dv)
		divide_error(cpu);
	int q = n / dv, r = n % dv;
	if (q != (int8_t)q)
		divide_error(cpu);
	cpu->regs[R_RAX] = (cpu->regs[R_RAX] & ~0xffffull) | ((uint8_t)r << 8) | (uint8_t)q;
}

static void helper_divw(uint64_t env, uint64_t d)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	uint32_t n = (uint16_t)cpu->regs[R_RAX] | ((uint32_t)(uint16_t)cpu->regs[R_RDX] << 16);
	uint16_t dv = d;
	if (!dv || n / dv > 0xffff)
		divide_error(cpu);
	cpu->regs[R_RAX] = (cpu->regs[R_RAX] & ~0xffffull) | (uint16_t)(n / dv);
	cpu->regs[R_RDX] = (cpu->regs[R_RDX] & ~0xffffull) | (uint16_t)(n % dv);
}

static void helper_idivw(uint64_t env, uint64_t d)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	int32_t n = (int32_t)((uint16_t)cpu->regs[R_RAX] | ((uint32_t)(uint16_t)cpu->regs[R_RDX] << 16));
	int16_t dv = d;
	if (!dv)
		divide_error(cpu);
	int32_t q = n / dv, r = n % dv;
	if (q != (int16_t)q)
		divide_error(cpu);
	cpu->regs[R_RAX] = (cpu->regs[R_RAX] & ~0xffffull) | (uint16_t)q;
	cpu->regs[R_RDX] = (cpu->regs[R_RDX] & ~0xffffull) | (uint16_t)r;
}

static void helper_divl(uint64_t env, uint64_t d)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	uint64_t n = (uint32_t)cpu->regs[R_RAX] | ((uint64_t)(uint32_t)cpu->regs[R_RDX] << 32);
	uint32_t dv = d;
	if (!dv || n / dv > 0xffffffffu)
		divide_error(cpu);
	cpu->regs[R_RAX] = (uint32_t)(n / dv);
	cpu->regs[R_RDX] = (uint32_t)(n % dv);
}

static void helper_idivl(uint64_t env, uint64_t d)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	int64_t n = (int64_t)((uint32_t)cpu->regs[R_RAX] | ((uint64_t)(uint32_t)cpu->regs[R_RDX] << 32));
	int32_t dv = d;
	if (!dv || (n == INT64_MIN && dv == -1))
		divide_error(cpu);
	int64_t q = n / dv, r = n % dv;
	if (q != (int32_t)q)
		divide_error(cpu);
	cpu->regs[R_RAX] = (uint32_t)q;
	cpu->regs[R_RDX] = (uint32_t)r;
}

static void helper_divq(uint64_t env, uint64_t d)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	unsigned __int128 n = cpu->regs[R_RAX] | ((unsigned __int128)cpu->regs[R_RDX] << 64);
	if (!d || n / d > UINT64_MAX)
		divide_error(cpu);
	cpu->regs[R_RAX] = n / d;
	cpu->regs[R_RDX] = n % d;
}

static void helper_idivq(uint64_t env, uint64_t d)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	__int128 n = (__int128)(cpu->regs[R_RAX] | ((unsigned __int128)cpu->regs[R_RDX] << 64));
	int64_t dv = d;
	if (!dv || (dv == -1 && n == (__int128)((unsigned __int128)1 << 127)))
		divide_error(cpu);
	__int128 q = n / dv, r = n % dv;
	if (q != (int64_t)q)
		divide_error(cpu);
	cpu->regs[R_RAX] = (uint64_t)q;
	cpu->regs[R_RDX] = (uint64_t)r;
}

static void helper_cpuid(uint64_t env)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	uint32_t r[4];
	x86_cpuid((uint32_t)cpu->regs[R_RAX], (uint32_t)cpu->regs[R_RCX], r);
	cpu->regs[R_RAX] = r[0];
	cpu->regs[R_RBX] = r[1];
	cpu->regs[R_RCX] = r[2];
	cpu->regs[R_RDX] = r[3];
}

static void helper_rdtsc(uint64_t env)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	uint64_t t = __rdtsc();
	cpu->regs[R_RAX] = (uint32_t)t;
	cpu->regs[R_RDX] = t >> 32;
}

/* RDTSCP and RDPID (-cpu host, where the host has them) run the host's
 * own: IA32_TSC_AUX is the kernel's number of the CPU this thread is on
 * (with its node above bit 12), and the guest thread is this host thread. */
static void helper_rdtscp(uint64_t env)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	uint32_t lo, hi, aux;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	cpu->regs[R_RAX] = lo;
	cpu->regs[R_RDX] = hi;
	cpu->regs[R_RCX] = aux;
}

static uint64_t helper_rdpid(uint64_t env)
{
	uint64_t v;
	(void)env;
	__asm__ volatile("rdpid %0" : "=r"(v));
	return v;
}

/* Rotate through carry: a (N bits) and CF form an N+1-bit ring. */
static uint64_t rotate_carry(uint64_t env, uint64_t a, uint64_t count, uint64_t size, bool left)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	int bits = 8 << size;
	unsigned n = count & (size == 3 ? 63 : 31);
	if (bits < 32)
		n %= bits + 1;
	if (!n)
		return a;
	uint64_t flags = x86_get_rflags(cpu) & X86_ARITH_FLAGS;
	uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
	uint64_t cf = flags & X86_CF;
	a &= mask;
	for (unsigned i = 0; i < n; i++) {
		uint64_t out;
		if (left) {
			out = (a >> (bits - 1)) & 1;
			a = ((a << 1) | cf) & mask;
		} else {
			out = a & 1;
			a = (a >> 1) | (cf << (bits - 1));
		}
		cf = out;
	}
	uint64_t msb = (a >> (bits - 1)) & 1;
	uint64_t of = left ? msb ^ cf : msb ^ ((a >> (bits - 2)) & 1);
	flags = (flags & ~(X86_CF | X86_OF)) | cf | (of << 11);
	cpu->cc_src = flags;
	cpu->cc_op = CC_OP_EFLAGS;
	return a;
}

static uint64_t helper_rcl(uint64_t env, uint64_t a, uint64_t n, uint64_t size)
{
	return rotate_carry(env, a, n, size, true);
}

static uint64_t helper_rcr(uint64_t env, uint64_t a, uint64_t n, uint64_t size)
{
	return rotate_carry(env, a, n, size, false);
}

static uint64_t helper_read_rflags(uint64_t env)
{
	return x86_get_rflags((void *)(uintptr_t)env);
}

static void helper_write_rflags(uint64_t env, uint64_t v, uint64_t mask)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	uint64_t old = x86_get_rflags(cpu);
	x86_set_rflags(cpu, (old & ~mask) | (v & mask));
}

static void helper_cmpxchg16b(uint64_t env, uint64_t addr)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	if (addr & 15)
		x86_raise_gp0(cpu);
	unsigned __int128 cmp = cpu->regs[R_RAX] | ((unsigned __int128)cpu->regs[R_RDX] << 64);
	unsigned __int128 nv = cpu->regs[R_RBX] | ((unsigned __int128)cpu->regs[R_RCX] << 64);
	uint64_t lo = (uint64_t)cmp, hi = (uint64_t)(cmp >> 64);
	bool ok;
	unsigned __int128 *p = x86_rmw_ptr(cpu, addr, 4);
	/* the host instruction itself: atomic against other guest threads */
	__asm__ volatile("lock cmpxchg16b %1"
			 : "=@ccz"(ok), "+m"(*p), "+a"(lo), "+d"(hi)
			 : "b"((uint64_t)nv), "c"((uint64_t)(nv >> 64))
			 : "memory");
	cmp = lo | ((unsigned __int128)hi << 64);
	uint64_t flags = x86_get_rflags(cpu) & X86_ARITH_FLAGS & ~X86_ZF;
	if (ok) {
		flags |= X86_ZF;
	} else {
		cpu->regs[R_RAX] = (uint64_t)cmp;
		cpu->regs[R_RDX] = (uint64_t)(cmp >> 64);
	}
	cpu->cc_src = flags;
	cpu->cc_op = CC_OP_EFLAGS;
}

/* BMI2 PDEP: the low bits of src, in order, to the set bits of mask. */
static uint64_t helper_pdep(uint64_t src, uint64_t mask)
{
	uint64_t r = 0;
	for (uint64_t bit = 1; mask; mask &= mask - 1, bit <<= 1)
		if (src & bit)
			r |= mask & -mask;
	return r;
}

/* BMI2 PEXT: the bits of src under mask, packed into the low bits. */
static uint64_t helper_pext(uint64_t src, uint64_t mask)
{
	uint64_t r = 0;
	for (uint64_t bit = 1; mask; mask &= mask - 1, bit <<= 1)
		if (src & mask & -mask)
			r |= bit;
	return r;
}

/* RDRAND/RDSEED of size (log2 bytes, 1..3) by the host's instruction: the
 * value goes to xtmp, CF is returned.  CPUID reports them only when the
 * host has them. */
static uint64_t helper_rdrand(uint64_t env, uint64_t seed, uint64_t size)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	uint64_t v = 0;
	uint16_t w;
	uint32_t l;
	bool cf;
	switch (size * 2 + (seed != 0)) {
	case 2: asm volatile("rdrand %0" : "=r"(w), "=@ccc"(cf)); v = w; break;
	case 3: asm volatile("rdseed %0" : "=r"(w), "=@ccc"(cf)); v = w; break;
	case 4: asm volatile("rdrand %0" : "=r"(l), "=@ccc"(cf)); v = l; break;
	case 5: asm volatile("rdseed %0" : "=r"(l), "=@ccc"(cf)); v = l; break;
	case 6: asm volatile("rdrand %0" : "=r"(v), "=@ccc"(cf)); break;
	default: asm volatile("rdseed %0" : "=r"(v), "=@ccc"(cf)); break;
	}
	cpu->xtmp.q[0] = v;
	return cf;
}

/* The descriptor-table instructions, run as the host's (lift-sys.c):
 * LAR/LSL return the value with ZF in bit 32, VERR/VERW ZF; SLDT/STR/SMSW
 * with a register run in the guest's form (op | log2 register size << 8)
 * on arg, the register's old value, and return the new one (with UMIP,
 * Linux's emulation of the 32-bit forms keeps the upper half, so the form
 * matters).  Their memory forms are helper_umip_store's. */
/* (The 64-bit forms as bytes, REX.W on rax: the assembler drops the REX.W
 * of `str %rax` and `sldt %rax`, whose emulation writes all 64 bits.) */
#define SYS_STORE(insn, modrm64)						\
	switch (size) {								\
	case 1: asm volatile(insn " %w0" : "+r"(r)); return r;			\
	case 2: asm volatile(insn " %k0" : "+r"(r)); return r;			\
	default: asm volatile(".byte 0x48, 0x0f, " modrm64 : "+a"(r)); return r; \
	}
static uint64_t helper_sys(uint64_t env, uint64_t op, uint64_t arg)
{
	uint32_t s32 = arg, v = 0;
	uint64_t r = arg;
	unsigned size = op >> 8 & 3;
	bool z = false;
	(void)env;
	switch (op & 0xff) {
	case SYS_LAR: asm("lar %2, %0" : "+r"(v), "=@ccz"(z) : "r"(s32)); return v | (uint64_t)z << 32;
	case SYS_LSL: asm("lsl %2, %0" : "+r"(v), "=@ccz"(z) : "r"(s32)); return v | (uint64_t)z << 32;
	case SYS_VERR: asm("verr %w1" : "=@ccz"(z) : "r"(s32)); return z;
	case SYS_VERW: asm("verw %w1" : "=@ccz"(z) : "r"(s32)); return z;
	case SYS_SLDT: SYS_STORE("sldt", "0x00, 0xc0")
	case SYS_STR: SYS_STORE("str", "0x00, 0xc8")
	default: SYS_STORE("smsw", "0x01, 0xe0")
	}
}

/* SLDT/STR/SMSW m16 and SGDT/SIDT m at the guest's address, by the host:
 * on a CPU with UMIP the host kernel emulates the instruction for loom as
 * it does for a native program, faults included (reported at the
 * operand's first byte, whatever the page or the address); without
 * UMIP the CPU runs it, faulting as it would in the guest. */
static void helper_umip_store(uint64_t env, uint64_t op, uint64_t addr)
{
	void *p = (void *)(uintptr_t)addr;
	(void)env;
	switch (op) {
	case SYS_SLDT: asm volatile("sldt (%0)" : : "r"(p) : "memory"); break;
	case SYS_STR: asm volatile("str (%0)" : : "r"(p) : "memory"); break;
	case SYS_SMSW: asm volatile("smsw (%0)" : : "r"(p) : "memory"); break;
	case SYS_SGDT: asm volatile("sgdt (%0)" : : "r"(p) : "memory"); break;
	default: asm volatile("sidt (%0)" : : "r"(p) : "memory"); break;
	}
}

/* gen_st_probe's check that a store crossing a page may write both: an
 * atomic or of 0 at a (its first byte) and at b (the later page's first
 * byte) faults as the store would there and changes nothing, even for
 * other threads.  A helper, so that plugins see only the store itself. */
static void helper_st_probe(uint64_t a, uint64_t b)
{
	asm volatile("lock orb $0, (%0)\n\tlock orb $0, (%1)"
		     : : "r"((uintptr_t)a), "r"((uintptr_t)b) : "memory", "cc");
}

/* Whether a null selector loaded into FS or GS clears its base, as it does
 * on Intel and on recent AMD CPUs; older AMD CPUs keep the base.  CPUID
 * (8000_0021h EAX bit 6, NullSelectorClearsBase) cannot be trusted for
 * this: a hypervisor may hide the leaf of a CPU that does clear.  So ask
 * the CPU itself, as the kernel does at boot: give the host's GS a base,
 * load a null selector and read the base back.  loom never uses GS, and
 * the probe puts back the base it found (with the null selector a Linux
 * thread starts with).  Racing threads compute the same answer. */
static bool null_sel_clears_base(void)
{
	static int v = -1;
	if (v < 0) {
		unsigned long old = 0, probe = 1ul << 32, after = probe;
		syscall(SYS_arch_prctl, ARCH_GET_GS, &old);
		syscall(SYS_arch_prctl, ARCH_SET_GS, probe);
		asm volatile("mov %w0, %%gs" : : "r"(0));
		syscall(SYS_arch_prctl, ARCH_GET_GS, &after);
		syscall(SYS_arch_prctl, ARCH_SET_GS, old);
		v = after != probe;
	}
	return v;
}

/*
 * mov Sreg, r/m16 and pop Sreg.  Guest and host run on the same kernel's
 * GDT and LDT, so the host checks the selector by loading it itself: an
 * invalid one faults right here with the host CPU's own exception (#GP or
 * #NP with the selector as error code), which exec_host_fault raises in
 * the guest at the instruction.  The probe register is put
 * back at once: ES stands for ES, DS, FS and GS, whose checks are the same;
 * SS for SS, whose are not (no null selector, writable data, RPL = DPL =
 * CPL).  loom's own FS is never touched.  FS and GS also get a base: a null
 * selector clears it or not as the host CPU does; every other loadable
 * selector is flat (base 0), since the guest cannot create a descriptor
 * with a base (modify_ldt and set_thread_area are ENOSYS in loom).
 */
static void helper_seg_load(uint64_t env, uint64_t sreg, uint64_t sel)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	uint16_t s = sel, old;
	if (sreg == SREG_SS)
		asm volatile("mov %%ss, %w0\n\tmov %w1, %%ss\n\tmov %w0, %%ss" : "=&r"(old) : "r"(s));
	else
		asm volatile("mov %%es, %w0\n\tmov %w1, %%es\n\tmov %w0, %%es" : "=&r"(old) : "r"(s));
	cpu->seg[sreg] = s;
	if (sreg != SREG_FS && sreg != SREG_GS)
		return;
	uint64_t *base = sreg == SREG_FS ? &cpu->fs_base : &cpu->gs_base;
	if (s > 3 || null_sel_clears_base())
		*base = 0;
}

/* A far transfer to a code segment other than the guest's own: #GP with
 * the selector as error code (its RPL bits are the error code's EXT and IDT
 * bits, clear), #GP(0) for a null one. */
static _Noreturn void far_bad_selector(struct cpu *cpu, uint64_t sel)
{
	x86_raise_err(cpu, X86_EXC_GP, sel & 0xfffc);
}

/*
 * iret in user mode returns to the same privilege level: it pops rip, cs,
 * rflags, rsp and ss, each 2 << size bytes (the lifter synced the pc; a
 * read fault is the instruction's).  The frame must name the guest's own
 * code segment and a canonical rip (else #GP, nothing changed); ss is
 * checked by loading it on the host as mov ss does (helper_seg_load).
 * Flags change as popf's do at CPL 3.  A return to another code segment
 * (0x23, 32-bit compatibility mode) is beyond loom and refused as #GP.
 */
static void helper_iret(uint64_t env, uint64_t size)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	unsigned n = 1u << size;
	uint64_t v[5];
	for (int i = 0; i < 5; i++) {
		v[i] = 0;
		x86_ld_buf(cpu, &v[i], cpu->regs[R_RSP] + i * n, n);
	}
	uint64_t rip = v[0];
	if ((uint16_t)v[1] != cpu->seg[SREG_CS])
		far_bad_selector(cpu, v[1]);
	if (!x86_canonical(rip))
		x86_raise_gp0(cpu);
	helper_seg_load(env, SREG_SS, (uint16_t)v[4]);
	uint64_t keep = n == 2 ? ~0xffffull : n == 4 ? ~0xffffffffull : 0;
	x86_set_rflags(cpu, (x86_get_rflags(cpu) & keep) | (v[2] & ~keep));
	cpu->regs[R_RSP] = v[3];
	cpu->rip = rip;
}

/*
 * Far jmp and call through memory (m16:16/32/64 at ea) and far ret (ea is
 * rsp; bits 16-31 of op are its immediate): op bits 0-3 are the FAR_*
 * kind, 4-7 log2 of the operand size, 8-15 the instruction's length.  As
 * with iret, user mode may only stay in its own code segment: another
 * selector (or a non-canonical offset) is #GP before anything changes.  A
 * far call pushes cs, then the return offset, each of the operand size.
 */
static void helper_far(uint64_t env, uint64_t ea, uint64_t op)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	unsigned kind = op & 15, n = 1u << (op >> 4 & 15), len = op >> 8 & 0xff;
	uint64_t off = 0, sel = 0;
	x86_ld_buf(cpu, &off, ea, n);
	x86_ld_buf(cpu, &sel, ea + n, 2);
	if (sel != cpu->seg[SREG_CS])
		far_bad_selector(cpu, sel);
	if (!x86_canonical(off))
		x86_raise_gp0(cpu);
	if (kind == FAR_CALL) {
		uint64_t sp = cpu->regs[R_RSP] - 2 * n, ret = cpu->rip + len;
		x86_st_buf(cpu, sp + n, &sel, n);
		x86_st_buf(cpu, sp, &ret, n);
		cpu->regs[R_RSP] = sp;
	} else if (kind == FAR_RET) {
		cpu->regs[R_RSP] += 2 * n + (op >> 16 & 0xffff);
	}
	cpu->rip = off;
}

/*
 * The bulk of a rep movs or rep stos in whole-system mode: page by page,
 * while both pages hit the soft TLB for the access with no flag (RAM, a
 * dirty destination without translated code), copy or fill everything the
 * pages hold of the operation at once, and advance rcx, rsi and rdi as
 * that many iterations would.  It stops, leaving the registers as after
 * the iterations done, at anything else -- a miss, MMIO, a code page, an
 * element across a page boundary, DF set -- and the lifter's loop does the
 * next iteration through the ordinary memory ops (which fill the TLB,
 * fault exactly or take the slow path), then calls this again.  A forward
 * movs whose destination starts inside its source repeats the source's
 * first bytes, as the byte-by-byte CPU does: memmove would not, so that
 * case copies element by element.
 */
static void helper_rep_bulk(uint64_t env, uint64_t op)
{
	struct cpu *cpu = (void *)(uintptr_t)env;
	struct tlb *t = tlb_of_env(cpu);
	unsigned kind = op & 15, shift = op >> 4 & 15, mmu = op >> 8 & 0xff;
	uint64_t left = cpu->regs[R_RCX];

	if (cpu->df != 1)
		return;
	while (left) {
		uint64_t d = cpu->regs[R_RDI], s = cpu->regs[R_RSI];
		uint8_t *hd = tlb_probe_host(t, d, TLB_WRITE, mmu), *hs = NULL;
		uint64_t room = TLB_PAGE_SIZE - (d & ~TLB_PAGE_MASK);
		if (!hd)
			break;
		if (kind == REP_BULK_MOVS) {
			hs = tlb_probe_host(t, s, TLB_READ, mmu);
			if (!hs)
				break;
			uint64_t sroom = TLB_PAGE_SIZE - (s & ~TLB_PAGE_MASK);
			room = sroom < room ? sroom : room;
		}
		uint64_t n = room >> shift;
		if (n > left)
			n = left;
		if (!n)
			break;	/* an element crosses a page: the slow path splits it */
		size_t bytes = n << shift;
		if (kind == REP_BULK_MOVS) {
			if (hd > hs && hd < hs + bytes) {
				for (size_t i = 0; i < bytes; i += 1u << shift)
					memmove(hd + i, hs + i, 1u << shift);
			} else {
				memmove(hd, hs, bytes);
			}
			cpu->regs[R_RSI] = s + bytes;
		} else if (shift == 0) {
			memset(hd, (uint8_t)cpu->regs[R_RAX], bytes);
		} else {
			for (size_t i = 0; i < bytes; i += 1u << shift)
				memcpy(hd + i, &cpu->regs[R_RAX], 1u << shift);
		}
		cpu->regs[R_RDI] = d + bytes;
		left -= n;
	}
	cpu->regs[R_RCX] = left;
}

/* x87 lands with the full-ISA work; until then its lifter never calls it. */
const struct ir_helper x86_helpers[HELPER_NB] = {
#define H(name, fl, n, r) [HELPER_##name] = { #name, (void *)helper_##name, fl, n, r },
	X86_HELPERS(H)
#undef H
};
