/*
 * The guest side of the random-instruction-stream tester: a static program
 * that reads a stream file written by rgen, places each stream at the start
 * of its own page of the code region (followed by ud2), runs the streams one
 * by one with the state rgen chose and writes one struct rnd_result per
 * stream to stdout.  The same binary runs natively and under loom; rgen
 * compares the two outputs.  Every stream ends in a signal (its own fault or
 * the final ud2): the handler records the frame's registers, the signal's
 * number, si_code and si_addr and resumes at rnd_resume.
 * Invariant: nothing but the stream runs between rnd_run's loads and the
 * signal; the C code here is built without stack protector, because the
 * handler runs with the stream's FS base.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>
#include <asm/prctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "random.h"
#include "put.h"

extern struct rnd_state rnd_in;
extern uint8_t rnd_avx;
extern uint64_t rnd_fs_base, rnd_gs_base;
extern char rnd_resume[];
void rnd_run(void *stream);

static struct rnd_result out;
static volatile int in_stream;
static const uint8_t *cur_stream;

static void die(const char *msg)
{
	write(2, msg, strlen(msg));
	_exit(2);
}

static void on_signal(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	static const int order[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP,
		REG_RBP, REG_RSI, REG_RDI, REG_R8, REG_R9, REG_R10, REG_R11, REG_R12,
		REG_R13, REG_R14, REG_R15 };
	/* A stream may have set AC (popf), which the kernel leaves set in
	 * the handler: the copies below, some not aligned, would take #AC
	 * with SIGBUS blocked, and the kernel would end the process. */
	__asm__ volatile("pushfq\n\tandl $~0x40000, (%%rsp)\n\tpopfq" ::: "memory", "cc");
	if (!in_stream)
		die("rharness: a signal outside the stream\n");
	in_stream = 0;
	for (int i = 0; i < 16; i++)
		out.gpr[i] = g[order[i]];
	out.rflags = g[REG_EFL];
	out.signo = sig;
	out.sig_code = si->si_code;
	/* si_addr means something for the fault signals only. */
	out.sig_addr = sig == SIGSYS ? 0 : (uint64_t)si->si_addr;
	out.pc_off = g[REG_RIP] - (uint64_t)cur_stream;
	const uint8_t *fp = (const uint8_t *)uc->uc_mcontext.fpregs;
	if (fp) {
		/* The frame's FXSAVE image, then (if XSTATE_BV says the AVX
		 * component is not in its initial state) ymm bits 255:128 at 576. */
		memcpy(&out.fcw, fp + 0, 2);
		memcpy(&out.fsw, fp + 2, 2);
		out.ftw = fp[4];
		memcpy(&out.mxcsr, fp + 24, 4);
		for (int i = 0; i < 8; i++)
			memcpy(out.st[i], fp + 32 + 16 * i, 10);
		memcpy(out.xmm, fp + 160, sizeof out.xmm);
		uint32_t magic1;
		uint64_t bv;
		memcpy(&magic1, fp + 464, 4);
		memcpy(&bv, fp + 512, 8);
		if (rnd_avx && (uc->uc_flags & 1) && magic1 == 0x46505853u && (bv & 4))
			memcpy(out.ymmh, fp + 576, sizeof out.ymmh);
	}
	g[REG_RIP] = (uint64_t)rnd_resume;
	g[REG_EFL] = 0x202;     /* no TF, DF or AC for the C code that follows */
}

static void get(int fd, void *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t r = read(fd, (uint8_t *)p + off, n - off);
		if (r <= 0)
			die("rharness: short stream file\n");
		off += r;
	}
}

static void cpuid_words(uint32_t *w)
{
	unsigned a, b, c, d, max, emax;
	memset(w, 0, RND_ID_N * sizeof *w);
	max = __get_cpuid_max(0, NULL);
	emax = __get_cpuid_max(0x80000000, NULL);
	__cpuid_count(1, 0, a, b, c, d);
	w[RND_ID_1C] = c, w[RND_ID_1D] = d;
	if (max >= 7) {
		__cpuid_count(7, 0, a, b, c, d);
		w[RND_ID_7B] = b, w[RND_ID_7C] = c, w[RND_ID_7D] = d;
		__cpuid_count(7, 1, a, b, c, d);
		w[RND_ID_71A] = a;
	}
	if (max >= 0xd) {
		__cpuid_count(0xd, 1, a, b, c, d);
		w[RND_ID_D1A] = a;
	}
	if (emax >= 0x80000001) {
		__cpuid_count(0x80000001, 0, a, b, c, d);
		w[RND_ID_81C] = c, w[RND_ID_81D] = d;
	}
	if (emax >= 0x80000008) {
		__cpuid_count(0x80000008, 0, a, b, c, d);
		w[RND_ID_88B] = b;
	}
}

/* A safety net for the native run: should the CPU decode a stream's bytes
 * differently from Zydis and reach a system call, it gets SIGSYS instead
 * of running with random arguments.  loom has no seccomp (ENOSYS) and needs
 * none: it decodes with Zydis, and rgen never emits a system call. */
static void fence_syscalls(void)
{
	uint64_t lo = RND_CODE, hi = RND_CODE + (uint64_t)RND_BATCH_MAX * 4096;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(lo >> 32), 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)lo, 0, 2),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (uint32_t)hi, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static struct rnd_stream streams[RND_BATCH_MAX];

int main(int argc, char **argv)
{
	if (argc != 2)
		die("usage: rharness STREAMFILE\n");
	int fd = open(argv[1], 0);
	if (fd < 0)
		die("rharness: cannot open the stream file\n");
	struct rnd_file_hdr fh;
	get(fd, &fh, sizeof fh);
	if (fh.magic != RND_MAGIC || fh.count > RND_BATCH_MAX)
		die("rharness: not a stream file\n");
	get(fd, streams, fh.count * sizeof streams[0]);
	close(fd);

	struct rnd_out_hdr oh = { .magic = RND_MAGIC, .count = fh.count };
	cpuid_words(oh.cpuid);
	rnd_avx = (oh.cpuid[RND_ID_1C] >> 28 & 1) && (oh.cpuid[RND_ID_1C] >> 27 & 1);
	oh.avx = rnd_avx;

	uint8_t *code = mmap((void *)RND_CODE, fh.count * 4096, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	uint8_t *guard = mmap((void *)(RND_SCRATCH - 4096), 3 * 4096, PROT_NONE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	uint8_t *scratch = (uint8_t *)RND_SCRATCH;
	if (code != (void *)RND_CODE || guard != (void *)(RND_SCRATCH - 4096) ||
	    mprotect(scratch, RND_SCRATCH_SIZE, PROT_READ | PROT_WRITE))
		die("rharness: cannot map the code region or the scratch page\n");
	/* The rest of each page is int3, so nothing but the stream and its
	 * ud2 can run there without a signal. */
	memset(code, 0xcc, fh.count * 4096);
	for (uint64_t i = 0; i < fh.count; i++) {
		if (streams[i].len > RND_MAX_BYTES)
			die("rharness: bad stream length\n");
		memcpy(code + i * 4096, streams[i].bytes, streams[i].len);
		memcpy(code + i * 4096 + streams[i].len, "\x0f\x0b", 2);
	}
	if (mprotect(code, fh.count * 4096, PROT_READ | PROT_EXEC))
		die("rharness: mprotect failed\n");

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	/* The stream's rsp points anywhere: the frame goes on its own stack. */
	static uint8_t altstack[1 << 16] __attribute__((aligned(64)));
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
	sigaltstack(&ss, NULL);
	int sigs[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGTRAP, SIGSYS };
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	if (syscall(SYS_arch_prctl, ARCH_GET_FS, &rnd_fs_base) || syscall(SYS_arch_prctl, ARCH_GET_GS, &rnd_gs_base))
		die("rharness: arch_prctl failed\n");
	fence_syscalls();

	put(&oh, sizeof oh);
	for (uint64_t i = 0; i < fh.count; i++) {
		rnd_fill(scratch, streams[i].mem_seed);
		rnd_in = streams[i].in;
		memset(&out, 0, sizeof out);
		cur_stream = code + i * 4096;
		/* FS and GS point into the scratch page too. */
		syscall(SYS_arch_prctl, ARCH_SET_GS, RND_SCRATCH + 2048);
		in_stream = 1;
		syscall(SYS_arch_prctl, ARCH_SET_FS, RND_SCRATCH);
		rnd_run((void *)cur_stream);
		for (int b = 0; b < RND_SCRATCH_SIZE / 256; b++)
			out.mem_hash[b] = fnv(scratch + 256 * b, 256);
		put(&out, sizeof out);
	}
	put(NULL, 0);
	return 0;
}
