/* State at faults the random-stream tester (tests/isa/random.sh) found
 * loom getting wrong: maskmovq that faults (and where the CPU reports the
 * fault of a masked store), or an SSE-to-MMX conversion that raises #XM,
 * has already put the x87 unit in MMX state (TOP 0, every tag valid), while a conversion whose memory operand faults has not; a
 * faulting movq/movd/movntq store from an MMX register has set TOP to 0
 * but left the tags; emms sets TOP to 0 too; enter
 * faults at the new top of stack, after its pushes, with rsp and rbp
 * unchanged; rcl into a read-only page faults before changing the flags,
 * and a shift by 0 still writes (and faults);
 * and xlat honours an FS override; a rep cmps that faults part-way leaves
 * the flags from before it; a 16-byte store running into the
 * PROT_NONE page writes none of its bytes; with a 32-bit address size a SIB byte
 * with no base (base field 101, mod 00) takes a disp32 even with REX.B
 * set, and bt's bit offset wraps with the address before a GS base is
 * added.  Prints what the signal
 * frame says; the native run is the oracle. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#ifdef __GLIBC__
typedef struct _libc_fpstate fpstate_t;
#else
typedef struct _fpstate fpstate_t;
#endif

#ifndef ARCH_SET_GS
#define ARCH_SET_GS 0x1001              /* asm/prctl.h, which musl lacks */
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static sigjmp_buf back;
static volatile int quiet;              /* the handler only records si_addr */
static void *volatile fault_addr;
static uint8_t *area;           /* a RW page, then a PROT_NONE page */
static uint64_t want_rsp, want_rbp;

static void handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	fpstate_t *f = (fpstate_t *)uc->uc_mcontext.fpregs;
	greg_t *g = uc->uc_mcontext.gregs;
	static int count;
	if (quiet) {
		fault_addr = si->si_addr;
		siglongjmp(back, 1);
	}
	if (++count > 16) {      /* a fault where none was expected: stop */
		printf("  unexpected signal %d\n", sig);
		fflush(stdout);
		_exit(3);
	}
	printf("  signal %d code %d flags %#llx addr area%+ld ftw=%x top=%d rsp %s rbp %s\n", sig, si->si_code,
	       (unsigned long long)g[REG_EFL] & 0x8d5,
	       sig == SIGSEGV && si->si_addr ? (long)((uint8_t *)si->si_addr - area) : 0L, /* SIGFPE: a pc */
	       f->ftw, f->swd >> 11 & 7, (uint64_t)g[REG_RSP] == want_rsp ? "unchanged" : "changed",
	       (uint64_t)g[REG_RBP] == want_rbp ? "unchanged" : "changed");
	siglongjmp(back, 1);
}

int main(void)
{
	static uint8_t altstack[1 << 15];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigaction(SIGSEGV, &sa, 0);
	sigaction(SIGFPE, &sa, 0);
	area = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return 1;
	mprotect(area, 4096, PROT_NONE);        /* below the RW page */
	mprotect(area + 2 * 4096, 4096, PROT_NONE);
	area += 4096;

	printf("maskmovq into the PROT_NONE page:\n");
	if (!sigsetjmp(back, 1)) {
		__asm__ volatile("fninit\n\tmovq %0, %%mm1\n\tmov %1, %%rdi\n\tmaskmovq %%mm1, %%mm0"
				 :: "r"(0x80ull), "r"(area + 4096) : "rdi", "mm0", "mm1", "memory");
		printf("  no fault\n");
	}
	__asm__ volatile("emms");
	/* Only byte 4 selected: the CPU reports rdi, not the selected byte;
	 * maskmovdqu with only byte 2 selected reaches its upper half. */
	printf("maskmovq, byte 4 selected, into the PROT_NONE page:\n");
	if (!sigsetjmp(back, 1)) {
		__asm__ volatile("fninit\n\tmovq %0, %%mm1\n\tmov %1, %%rdi\n\tmaskmovq %%mm1, %%mm0"
				 :: "r"(0x80ull << 32), "r"(area + 4096) : "rdi", "mm0", "mm1", "memory");
		printf("  no fault\n");
	}
	__asm__ volatile("emms");
	printf("maskmovdqu, byte 2 selected, into the PROT_NONE page:\n");
	if (!sigsetjmp(back, 1)) {
		static const uint8_t sel[16] = { [2] = 0x80 };
		__asm__ volatile("movdqu %0, %%xmm1\n\tmov %1, %%rdi\n\tmaskmovdqu %%xmm1, %%xmm0"
				 :: "m"(sel), "r"(area + 4096) : "rdi", "xmm0", "xmm1", "memory");
		printf("  no fault\n");
	}
	static const char *const mmx_stores[] = { "movq", "movd", "movntq" };
	for (int i = 0; i < 3; i++) {
		printf("fld1, then %s from mm0 into the PROT_NONE page:\n", mmx_stores[i]);
		if (!sigsetjmp(back, 1)) {
			if (i == 0)
				__asm__ volatile("fninit\n\tfld1\n\tmovq %%mm0, (%0)" :: "r"(area + 4096) : "memory");
			else if (i == 1)
				__asm__ volatile("fninit\n\tfld1\n\tmovd %%mm0, (%0)" :: "r"(area + 4096) : "memory");
			else
				__asm__ volatile("fninit\n\tfld1\n\tmovntq %%mm0, (%0)" :: "r"(area + 4096) : "memory");
			printf("  no fault\n");
		}
		__asm__ volatile("emms");
	}
	{
		uint16_t env[14];
		__asm__ volatile("fninit\n\tfld1\n\tfld1\n\temms\n\tfnstenv %0" : "=m"(env));
		printf("fld1, fld1, emms: top=%d tags=%#x\n", env[2] >> 11 & 7, env[4]);
		__asm__ volatile("fninit");
	}
	printf("cvttps2pi from the PROT_NONE page:\n");
	if (!sigsetjmp(back, 1)) {
		__asm__ volatile("fninit\n\tcvttps2pi (%0), %%mm2" :: "r"(area + 4096) : "mm2");
		printf("  no fault\n");
	}
	__asm__ volatile("emms");

	printf("cvttps2pi raising an unmasked precision exception (#XM):\n");
	if (!sigsetjmp(back, 1)) {
		unsigned mx = 0x1f80 & ~0x1000u;
		float f[4] = { 1.5f, 2.25f, 0, 0 };
		__asm__ volatile("fninit\n\tmovups %0, %%xmm0\n\tldmxcsr %1\n\tcvttps2pi %%xmm0, %%mm3"
				 :: "m"(f), "m"(mx) : "xmm0", "mm3");
		printf("  no fault\n");
	}
	unsigned mx0 = 0x1f80;
	__asm__ volatile("ldmxcsr %0\n\temms" :: "m"(mx0));

	/* enter $0x200, $2 with rsp near the bottom of the RW page: the
	 * pushes fit, the new top of stack is in the PROT_NONE page below. */
	printf("enter whose frame reaches the PROT_NONE page:\n");
	want_rsp = (uint64_t)(area + 256);
	want_rbp = (uint64_t)(area + 512);
	if (!sigsetjmp(back, 1)) {
		__asm__ volatile("mov %%rsp, %%r12\n\tmov %%rbp, %%r13\n\tmov %0, %%rsp\n\tmov %1, %%rbp\n\t"
				 "enter $0x200, $2\n\tmov %%r12, %%rsp\n\tmov %%r13, %%rbp"
				 :: "r"(want_rsp), "r"(want_rbp) : "r12", "r13", "memory");
		printf("  no fault\n");
	}
	printf("  pushed: %s\n", *(uint64_t *)(area + 248) == want_rbp ? "old rbp" : "not the old rbp");

	/* rcl into a read-only page: the write faults before the flags change. */
	printf("rcl by 2 into a read-only page:\n");
	mprotect(area, 4096, PROT_READ);
	if (!sigsetjmp(back, 1)) {
		__asm__ volatile("mov $0x80000001, %%eax\n\tmov %%eax, %%edx\n\tadd %%eax, %%edx\n\t"
				 "mov $2, %%ecx\n\trcll %%cl, (%0)" :: "r"(area) : "rax", "rcx", "rdx", "cc", "memory");
		printf("  no fault\n");
	}
	printf("shl by 0 into a read-only page (still a write):\n");
	if (!sigsetjmp(back, 1)) {
		__asm__ volatile("shlb $0, (%0)" :: "r"(area) : "cc", "memory");
		printf("  no fault\n");
	}
	mprotect(area, 4096, PROT_READ | PROT_WRITE);

	/* repe cmpsb whose source runs into the PROT_NONE page after eight
	 * equal bytes: the frame has the flags from before the instruction
	 * (CF set), not those of the last iteration (the SDM's REP page). */
	printf("repe cmpsb into the PROT_NONE page:\n");
	if (!sigsetjmp(back, 1)) {
		static uint8_t same[16];
		memset(area + 4096 - 8, 0x5a, 8);
		memset(same, 0x5a, sizeof same);
		__asm__ volatile("mov %0, %%rsi\n\tmov %1, %%rdi\n\tmov $100, %%ecx\n\t"
				 "xor %%eax, %%eax\n\tstc\n\trepe cmpsb"
				 :: "r"(area + 4096 - 8), "r"(same) : "rax", "rcx", "rsi", "rdi", "cc", "memory");
		printf("  no fault\n");
	}

	/* pop fs from the last 2 bytes of the RW page: the CPU reads the
	 * 16-bit selector only (0xffff: #GP), not the PROT_NONE page. */
	printf("pop fs of 0xffff from the last 2 bytes of a page:\n");
	want_rsp = (uint64_t)(area + 4096 - 2);
	if (!sigsetjmp(back, 1)) {
		*(uint16_t *)(area + 4096 - 2) = 0xffff;
		__asm__ volatile("mov %%rsp, %%r12\n\tmov %0, %%rsp\n\tpop %%fs\n\tmov %%r12, %%rsp"
				 :: "r"(want_rsp) : "r12", "memory");
		printf("  no fault\n");
	}

	/* A pending unmasked x87 exception is raised (#MF, SIGFPE) before a
	 * waiting instruction's memory operand can fault. */
	for (int i = 0; i < 2; i++) {
		printf("%s from the PROT_NONE page with a division by zero pending:\n", i ? "fldcw" : "fcom");
		if (!sigsetjmp(back, 1)) {
			static const uint16_t cw = 0x037b;     /* ZE unmasked */
			__asm__ volatile("fninit\n\tfldcw %0\n\tfld1\n\tfldz\n\tfdivrp" :: "m"(cw));
			if (i == 0)
				__asm__ volatile("fcoml (%0)" :: "r"(area + 4096));
			else
				__asm__ volatile("fldcw (%0)" :: "r"(area + 4096));
			printf("  no fault\n");
		}
		__asm__ volatile("fninit");
	}

	quiet = 1;
	/* A 16-byte store whose last bytes are in the PROT_NONE page above
	 * (not fstpt: its first 8 bytes are written on an Intel host,
	 * which another vendor need not do). */
	{
		uint8_t *at = area + 4096 - 8;
		memset(at, 0x11, 8);
		fault_addr = NULL;
		if (!sigsetjmp(back, 1))
			__asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\tmovups %%xmm0, (%0)" :: "r"(at) : "xmm0", "memory");
		printf("movups across the page end: fault at %s, first bytes %s\n",
		       fault_addr == area + 4096 ? "the next page" : "another address",
		       at[0] == 0x11 && at[7] == 0x11 ? "untouched" : "written");
	}
	/* ... and one at the last byte of the address space, which wraps:
	 * the CPU reports its first byte. */
	fault_addr = NULL;
	if (!sigsetjmp(back, 1))
		__asm__ volatile("movups %%xmm0, (%0)" :: "r"(-1L) : "memory");
	printf("movups at -1: fault at %s\n", fault_addr == (void *)-1L ? "-1" : "another address");

	/* 67 41 8b 04 25 disp32: mov eax, [disp32] with a 32-bit address
	 * size; REX.B does not make the missing base r13d. */
	quiet = 1;
	fault_addr = NULL;
	if (!sigsetjmp(back, 1)) {
		__asm__ volatile("mov %0, %%r13\n\t.byte 0x67, 0x41, 0x8b, 0x04, 0x25\n\t.long 0x1000"
				 :: "r"(area) : "rax", "r13", "memory");
		printf("addr32 sib disp32 with rex.b: no fault\n");
	} else {
		printf("addr32 sib disp32 with rex.b: fault at %s\n",
		       fault_addr == (void *)0x1000 ? "the disp32" : "another address");
	}
	/* bt with a bit offset of -32 and esi 0 under a 32-bit address size:
	 * gs:0xfffffffc, 4 GB above the GS base less 4, where nothing is. */
	uint8_t *gs = area + 4;
	mmap(gs + 0xfffffffcul - 0xffcul, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	syscall(SYS_arch_prctl, ARCH_SET_GS, gs);
	fault_addr = NULL;
	if (!sigsetjmp(back, 1)) {
		__asm__ volatile("xor %%esi, %%esi\n\tmov $-32, %%ecx\n\taddr32 btl %%ecx, %%gs:(%%esi)"
				 ::: "rsi", "rcx", "cc", "memory");
		printf("addr32 gs bt wrapping below 0: no fault\n");
	} else {
		printf("addr32 gs bt wrapping below 0: fault at %s\n",
		       fault_addr == gs + 0xfffffffcul ? "gs base + 0xfffffffc" : "another address");
	}
	syscall(SYS_arch_prctl, ARCH_SET_GS, 0);
	quiet = 0;

	/* The x87 pointers FNSTENV shows after fld m64, and after an fdiv m64
	 * by zero with ZE unmasked: FOP, FDP and FCS as the host keeps them
	 * (recent Intel CPUs update FOP and FDP only at an unmasked
	 * exception and store FCS as 0). */
	{
		static const double one = 1.0, zero = 0.0;
		static const uint16_t cw = 0x037b;     /* ZE unmasked */
		uint8_t env[2][28];
		__asm__ volatile("fninit\n\tfldl %2\n\tfnstenv %0\n\t"
				 "fldcw %4\n\tfdivl %3\n\tfnstenv %1\n\tfninit"
				 : "=m"(env[0]), "=m"(env[1]) : "m"(one), "m"(zero), "m"(cw) : "memory");
		for (int i = 0; i < 2; i++) {
			uint16_t fcs, fop;
			uint32_t fdp;
			memcpy(&fcs, env[i] + 16, 2);
			memcpy(&fop, env[i] + 18, 2);
			memcpy(&fdp, env[i] + 20, 4);
			const void *op = i ? (const void *)&zero : (const void *)&one;
			printf("fnstenv after %s: fop=%#x fdp=%s fcs=%s\n", i ? "fdiv by zero (unmasked)" : "fld m64",
			       fop & 0x7ff, fdp == (uint32_t)(uintptr_t)op ? "the operand" : fdp ? "another" : "0",
			       fcs ? "set" : "0");
		}
	}

	/* fs xlat with rbx 0 and al 0 reads the first byte of the thread
	 * control block, whose first word points to itself (glibc, musl). */
	fflush(stdout);
	uint64_t tp, al = 0;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
	__asm__ volatile("xor %%ebx, %%ebx\n\txor %%eax, %%eax\n\t.byte 0x64, 0xd7" : "+a"(al) :: "rbx");
	printf("fs xlat: %s\n", (uint8_t)al == (uint8_t)tp ? "reads fs:0" : "reads something else");
	return 0;
}
