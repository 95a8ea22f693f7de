/*
 * Guest memory syscalls: brk is emulated, the mmap family passes through.
 *
 * Guest addresses are host addresses, so mmap/munmap/mprotect/mremap go to
 * the host as they are.  What loom adds is bookkeeping for the exec layer
 * (exec/smc.c): the protection of every guest mapping, and invalidation.
 * Each change runs under exec_mem_lock(), so no translation lands in the
 * middle of it: first exec_invalidate_range() drops the translations on
 * pages that are unmapped, replaced, made non-executable or made writable,
 * while the old mapping still exists (loom may have write-protected some of
 * its pages to catch self-modifying code); then the host call; then
 * exec_mem_set() records the outcome.  Translations on pages that stay
 * executable and read-only survive a change of protection.
 *
 * The kernel cannot take loom's SMC write fault: a syscall that writes a
 * guest buffer on a page loom protected fails with EFAULT.  So before the
 * syscalls that fill guest buffers, mem_before_syscall() lifts loom's
 * protection from those buffers, and mem_retry_efault() covers the rest.
 *
 * brk: the heap is ours to manage because loom's own glibc owns the host
 * brk.  It starts at linux_image.brk_start and grows with anonymous
 * MAP_FIXED_NOREPLACE pages, so it can never land on another mapping; a
 * failed growth returns the old break, which libc allocators take as "use
 * mmap instead".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "exec/exec.h"
#include "linux/linux.h"
#include "linux/syscall.h"
#include "util/log.h"

#define PAGE_SIZE 4096ull
#define PAGE_UP(x) (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define PROT_RWX (PROT_READ | PROT_WRITE | PROT_EXEC)

#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

static uint64_t brk_cur;	/* the guest's break */
static uint64_t brk_mapped;	/* end of the heap pages we mapped */

void mem_init_brk(uint64_t start)
{
	brk_cur = brk_mapped = start;
}

/* The exec layer's map starts as what the loader left: the image, the
 * interpreter, the stack, and the host's [vsyscall] page (legacy programs
 * call into it).  loom's own mappings (its binary, heap, code cache, the
 * host vDSO) are left out, so the map holds exactly the guest's memory:
 * /proc/self/maps (procfs.c) shows the guest no more than that. */
static void mem_seed(uint64_t lo, uint64_t hi, uint64_t glo, uint64_t ghi, int prot)
{
	/* Clipped: the kernel may have merged loom's anonymous memory into
	 * the same line as the guest's. */
	if (lo < ghi && hi > glo)
		exec_mem_set(lo > glo ? lo : glo, hi < ghi ? hi : ghi, prot);
}

void mem_init_map(void)
{
	const struct linux_image *im = &linux_image;
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];

	if (!f)
		fatal(LOOM_EXIT_INTERNAL, "cannot read /proc/self/maps: %m");
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[8];
		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) != 3)
			continue;
		int prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			   (perms[2] == 'x' ? PROT_EXEC : 0);
		if (strstr(line, "[vsyscall]"))
			exec_mem_set(lo, hi, prot);
		for (size_t i = 0; i < im->nspans; i++)
			mem_seed(lo, hi, im->spans[i].lo, im->spans[i].hi, prot);
		mem_seed(lo, hi, im->stack_limit, im->stack_top, prot);
	}
	fclose(f);
}

static void mem_invalidate(uint64_t start, uint64_t len)
{
	uint64_t end = PAGE_UP(start + len);
	if (len && end > start)
		exec_invalidate_range(start & ~(PAGE_SIZE - 1), end);
}

static void mem_set(uint64_t start, uint64_t len, int prot)
{
	uint64_t end = PAGE_UP(start + len);
	if (len && end > start)
		exec_mem_set(start & ~(PAGE_SIZE - 1), end, prot);
}

int64_t sys_brk(struct cpu *cpu, struct sys_call *c)
{
	uint64_t want = c->a[0], end = PAGE_UP(want);

	if (want < linux_image.brk_start || end < want)
		return brk_cur;
	exec_mem_lock();
	if (end > brk_mapped) {
		long r = raw_syscall(__NR_mmap, brk_mapped, end - brk_mapped, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (!sys_is_error(r) && (uint64_t)r != brk_mapped) {
			/* a kernel that takes NOREPLACE as a hint */
			raw_syscall(__NR_munmap, r, end - brk_mapped, 0, 0, 0, 0);
			r = -EEXIST;
		}
		if (sys_is_error(r)) {
			exec_mem_unlock();
			return brk_cur;
		}
		exec_mem_set(brk_mapped, end, PROT_READ | PROT_WRITE);
	} else if (end < brk_mapped) {
		exec_invalidate_range(end, brk_mapped);
		raw_syscall(__NR_munmap, end, brk_mapped - end, 0, 0, 0, 0);
		exec_mem_set(end, brk_mapped, -1);
	}
	exec_mem_unlock();
	brk_mapped = end;
	brk_cur = want;
	linux_image.brk = want;
	return want;
}

int64_t sys_mmap(struct cpu *cpu, struct sys_call *c)
{
	uint64_t addr = c->a[0], len = c->a[1];
	int flags = (int)c->a[3];

	exec_mem_lock();
	if ((flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE))
		mem_invalidate(addr, len);
	int64_t r = raw_syscall(__NR_mmap, addr, len, c->a[2], flags, c->a[4], c->a[5]);
	if (!sys_is_error(r))
		mem_set(r, len, (int)c->a[2] & PROT_RWX);
	exec_mem_unlock();
	return r;
}

int64_t sys_munmap(struct cpu *cpu, struct sys_call *c)
{
	exec_mem_lock();
	mem_invalidate(c->a[0], c->a[1]);
	int64_t r = raw_syscall(__NR_munmap, c->a[0], c->a[1], 0, 0, 0, 0);
	if (r == 0)
		mem_set(c->a[0], c->a[1], -1);
	exec_mem_unlock();
	return r;
}

/* Translations stay valid while the code can neither change nor stop being
 * executable: read+exec without write.  A JIT flipping a page to RW and
 * back to RX loses that page's translations at the first flip, and its
 * writes then cost no faults. */
static int64_t mem_protect(long nr, struct sys_call *c)
{
	uint64_t addr = c->a[0], len = c->a[1], prot = c->a[2];

	exec_mem_lock();
	if (!(prot & PROT_EXEC) || (prot & PROT_WRITE))
		mem_invalidate(addr, len);
	int64_t r = raw_syscall(nr, addr, len, prot, c->a[3], 0, 0);
	if (r == 0)
		mem_set(addr, len, (int)prot & PROT_RWX);
	exec_mem_unlock();
	return r;
}

int64_t sys_mprotect(struct cpu *cpu, struct sys_call *c)
{
	return mem_protect(__NR_mprotect, c);
}

int64_t sys_pkey_mprotect(struct cpu *cpu, struct sys_call *c)
{
	return mem_protect(__NR_pkey_mprotect, c);
}

/* The guest CPU has no protection keys (CPUID leaf 7 shows no PKU), and
 * loom has no RDPKRU/WRPKRU: fail as a kernel does on such a CPU, so that
 * programs that probe with pkey_alloc (V8, glibc's pkey_*) stay off them. */
int64_t sys_pkey_alloc(struct cpu *cpu, struct sys_call *c)
{
	return -ENOSPC;
}

int64_t sys_mremap(struct cpu *cpu, struct sys_call *c)
{
	uint64_t old = c->a[0], old_len = c->a[1], new_len = c->a[2], flags = c->a[3];

	exec_mem_lock();
	int prot = exec_mem_prot(old);
	mem_invalidate(old, old_len);
	if (flags & MREMAP_FIXED)
		mem_invalidate(c->a[4], new_len);
	int64_t r = raw_syscall(__NR_mremap, old, old_len, new_len, flags, c->a[4], 0);
	if (!sys_is_error(r)) {
		/* old_len 0 duplicates a shared mapping; DONTUNMAP keeps the old
		 * range mapped (empty) */
		if ((uint64_t)r == old && new_len < old_len)
			mem_set(old + PAGE_UP(new_len), PAGE_UP(old_len) - PAGE_UP(new_len), -1);
		else if ((uint64_t)r != old && old_len && !(flags & MREMAP_DONTUNMAP))
			mem_set(old, old_len, -1);
		if (prot >= 0)
			mem_set(r, new_len, prot);
	}
	exec_mem_unlock();
	return r;
}

int64_t sys_madvise(struct cpu *cpu, struct sys_call *c)
{
	exec_mem_lock();
	switch ((int)c->a[2]) {
	case MADV_DONTNEED:	/* these may give back zero pages */
	case MADV_DONTNEED_LOCKED:
	case MADV_FREE:
	case MADV_REMOVE:
		mem_invalidate(c->a[0], c->a[1]);
		break;
	}
	int64_t r = raw_syscall(__NR_madvise, c->a[0], c->a[1], c->a[2], 0, 0, 0);
	exec_mem_unlock();
	return r;
}

int64_t sys_remap_file_pages(struct cpu *cpu, struct sys_call *c)
{
	exec_mem_lock();
	mem_invalidate(c->a[0], c->a[1]);
	int64_t r = raw_syscall(__NR_remap_file_pages, c->a[0], c->a[1], c->a[2], c->a[3],
				c->a[4], 0);
	exec_mem_unlock();
	return r;
}

/* shmdt takes only an address; remember the size of what shmat attached
 * (under exec_mem_lock). */
static struct shm_seg { uint64_t addr, size; } *shm_segs;
static unsigned nshm_segs, cap_shm_segs;

int64_t sys_shmat(struct cpu *cpu, struct sys_call *c)
{
	struct shmid_ds ds;
	uint64_t size = 0;
	int shmflg = (int)c->a[2];

	if (raw_syscall(__NR_shmctl, c->a[0], IPC_STAT, &ds, 0, 0, 0) == 0)
		size = PAGE_UP(ds.shm_segsz);
	exec_mem_lock();
	if ((shmflg & SHM_REMAP) && c->a[1] && size)
		mem_invalidate(c->a[1], size);
	int64_t r = raw_syscall(__NR_shmat, c->a[0], c->a[1], c->a[2], 0, 0, 0);
	if (!sys_is_error(r)) {
		mem_set(r, size, PROT_READ | (shmflg & SHM_RDONLY ? 0 : PROT_WRITE) |
				 (shmflg & SHM_EXEC ? PROT_EXEC : 0));
		if (nshm_segs == cap_shm_segs) {
			cap_shm_segs = cap_shm_segs ? 2 * cap_shm_segs : 16;
			shm_segs = realloc(shm_segs, cap_shm_segs * sizeof(*shm_segs));
			if (!shm_segs)
				internal_error("out of memory for shmat");
		}
		shm_segs[nshm_segs++] = (struct shm_seg){ r, size };
	}
	exec_mem_unlock();
	return r;
}

int64_t sys_shmdt(struct cpu *cpu, struct sys_call *c)
{
	unsigned i = 0;

	exec_mem_lock();
	while (i < nshm_segs && shm_segs[i].addr != c->a[0])
		i++;
	if (i < nshm_segs)	/* else not attached through us: nothing to drop */
		mem_invalidate(c->a[0], shm_segs[i].size);
	int64_t r = raw_syscall(__NR_shmdt, c->a[0], 0, 0, 0, 0, 0);
	if (r == 0 && i < nshm_segs) {
		mem_set(c->a[0], shm_segs[i].size, -1);
		shm_segs[i] = shm_segs[--nshm_segs];
	}
	exec_mem_unlock();
	return r;
}

/* ---- kernel writes into code pages ---- */

static void unprotect(uint64_t addr, uint64_t len)
{
	if (addr && len && addr + len > addr)
		exec_unprotect_range(addr, addr + len);
}

static void unprotect_iov(uint64_t iov, uint64_t n)
{
	struct iovec v[64];

	if (n > 1024)
		n = 1024;	/* IOV_MAX: the kernel refuses more */
	for (uint64_t done = 0; done < n;) {
		uint64_t k = n - done < 64 ? n - done : 64;
		if (guest_read(v, iov + done * sizeof(*v), k * sizeof(*v)) < 0)
			return;	/* the kernel will say EFAULT itself */
		for (uint64_t i = 0; i < k; i++)
			unprotect((uintptr_t)v[i].iov_base, v[i].iov_len);
		done += k;
	}
}

void mem_before_syscall(const struct sys_call *c)
{
	struct msghdr m;
	uint32_t len;

	if (!exec_smc_protecting())
		return;
	switch (c->nr) {
	case __NR_read:
	case __NR_pread64:
	case __NR_recvfrom:
	case __NR_getdents:
	case __NR_getdents64:
		unprotect(c->a[1], c->a[2]);
		if (c->nr == __NR_recvfrom && c->a[4] && guest_read(&len, c->a[5], 4) == 0)
			unprotect(c->a[4], len);
		break;
	case __NR_readv:
	case __NR_preadv:
	case __NR_preadv2:
		unprotect_iov(c->a[1], c->a[2]);
		break;
	case __NR_recvmsg:
		if (guest_read(&m, c->a[1], sizeof(m)) == 0) {
			unprotect_iov((uintptr_t)m.msg_iov, m.msg_iovlen);
			unprotect((uintptr_t)m.msg_name, m.msg_namelen);
			unprotect((uintptr_t)m.msg_control, m.msg_controllen);
		}
		break;
	case __NR_accept:
	case __NR_accept4:
		/* the connection would be lost if the address could not be written */
		if (c->a[1] && c->a[2] && guest_read(&len, c->a[2], 4) == 0)
			unprotect(c->a[1], len);
		break;
	case __NR_wait4:
		/* the child would be reaped before the status write fails */
		unprotect(c->a[1], sizeof(int));
		unprotect(c->a[3], sizeof(struct rusage));
		break;
	case __NR_waitid:
		unprotect(c->a[2], sizeof(siginfo_t));
		unprotect(c->a[4], sizeof(struct rusage));
		break;
	}
}

bool mem_retry_efault(void)
{
	return exec_smc_protecting() && exec_unprotect_range(0, ~0ull);
}
