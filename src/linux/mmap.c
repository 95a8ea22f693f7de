/*
 * Guest memory syscalls: brk is emulated, the mmap family passes through.
 *
 * Guest addresses are host addresses, so mmap/munmap/mprotect/mremap go to
 * the host as they are.  What loom adds is invalidation: whenever a range
 * that may hold translated code is unmapped, replaced, made non-executable or
 * made writable, exec_invalidate_range() runs BEFORE the host call, while the
 * old mapping still exists (the exec layer may have write-protected pages of
 * it to catch self-modifying code and needs to drop that state first).
 *
 * brk: the heap is ours to manage because loom's own glibc owns the host
 * brk.  It starts at linux_image.brk_start and grows with anonymous
 * MAP_FIXED_NOREPLACE pages, so it can never land on another mapping; a
 * failed growth returns the old break, which libc allocators take as "use
 * mmap instead".
 */
#include <errno.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include "exec/exec.h"
#include "linux/linux.h"
#include "linux/syscall.h"
#include "util/log.h"

#define PAGE_SIZE 4096ull
#define PAGE_UP(x) (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))

#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif

static uint64_t brk_cur;	/* the guest's break */
static uint64_t brk_mapped;	/* end of the heap pages we mapped */

void mem_init_brk(uint64_t start)
{
	brk_cur = brk_mapped = start;
}

static void mem_invalidate(uint64_t start, uint64_t len)
{
	uint64_t end = PAGE_UP(start + len);
	if (len && end > start)
		exec_invalidate_range(start & ~(PAGE_SIZE - 1), end);
}

int64_t sys_brk(struct cpu *cpu, struct sys_call *c)
{
	uint64_t want = c->a[0], end = PAGE_UP(want);

	if (want < linux_image.brk_start || end < want)
		return brk_cur;
	if (end > brk_mapped) {
		long r = raw_syscall(__NR_mmap, brk_mapped, end - brk_mapped, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (sys_is_error(r))
			return brk_cur;
		if ((uint64_t)r != brk_mapped) {	/* a kernel that takes NOREPLACE as a hint */
			raw_syscall(__NR_munmap, r, end - brk_mapped, 0, 0, 0, 0);
			return brk_cur;
		}
	} else if (end < brk_mapped) {
		exec_invalidate_range(end, brk_mapped);
		raw_syscall(__NR_munmap, end, brk_mapped - end, 0, 0, 0, 0);
	}
	brk_mapped = end;
	brk_cur = want;
	linux_image.brk = want;
	return want;
}

int64_t sys_mmap(struct cpu *cpu, struct sys_call *c)
{
	uint64_t addr = c->a[0], len = c->a[1];
	int flags = (int)c->a[3];

	if ((flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE))
		mem_invalidate(addr, len);
	return raw_syscall(__NR_mmap, addr, len, c->a[2], flags, c->a[4], c->a[5]);
}

int64_t sys_munmap(struct cpu *cpu, struct sys_call *c)
{
	mem_invalidate(c->a[0], c->a[1]);
	return raw_syscall(__NR_munmap, c->a[0], c->a[1], 0, 0, 0, 0);
}

/* Translations stay valid only while the code can neither change nor stop
 * being executable: read+exec without write. */
static void mprotect_invalidate(uint64_t addr, uint64_t len, uint64_t prot)
{
	if (!(prot & PROT_EXEC) || (prot & PROT_WRITE))
		mem_invalidate(addr, len);
}

int64_t sys_mprotect(struct cpu *cpu, struct sys_call *c)
{
	mprotect_invalidate(c->a[0], c->a[1], c->a[2]);
	return raw_syscall(__NR_mprotect, c->a[0], c->a[1], c->a[2], 0, 0, 0);
}

int64_t sys_pkey_mprotect(struct cpu *cpu, struct sys_call *c)
{
	mprotect_invalidate(c->a[0], c->a[1], c->a[2]);
	return raw_syscall(__NR_pkey_mprotect, c->a[0], c->a[1], c->a[2], c->a[3], 0, 0);
}

int64_t sys_mremap(struct cpu *cpu, struct sys_call *c)
{
	uint64_t old = c->a[0], old_len = c->a[1], new_len = c->a[2], flags = c->a[3];

	mem_invalidate(old, old_len);
	if (flags & MREMAP_FIXED)
		mem_invalidate(c->a[4], new_len);
	return raw_syscall(__NR_mremap, old, old_len, new_len, flags, c->a[4], 0);
}

int64_t sys_madvise(struct cpu *cpu, struct sys_call *c)
{
	switch ((int)c->a[2]) {
	case MADV_DONTNEED:	/* these may give back zero pages */
	case MADV_DONTNEED_LOCKED:
	case MADV_FREE:
	case MADV_REMOVE:
		mem_invalidate(c->a[0], c->a[1]);
		break;
	}
	return raw_syscall(__NR_madvise, c->a[0], c->a[1], c->a[2], 0, 0, 0);
}

int64_t sys_remap_file_pages(struct cpu *cpu, struct sys_call *c)
{
	mem_invalidate(c->a[0], c->a[1]);
	return raw_syscall(__NR_remap_file_pages, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], 0);
}

/* shmdt takes only an address; remember the size of what shmat attached. */
static struct { uint64_t addr, size; } shm_attached[64];

int64_t sys_shmat(struct cpu *cpu, struct sys_call *c)
{
	struct shmid_ds ds;
	uint64_t size = 0;

	if (raw_syscall(__NR_shmctl, c->a[0], IPC_STAT, &ds, 0, 0, 0) == 0)
		size = PAGE_UP(ds.shm_segsz);
	if ((c->a[2] & SHM_REMAP) && c->a[1] && size)
		mem_invalidate(c->a[1], size);
	int64_t r = raw_syscall(__NR_shmat, c->a[0], c->a[1], c->a[2], 0, 0, 0);
	if (!sys_is_error(r)) {
		for (unsigned i = 0; i < sizeof(shm_attached) / sizeof(shm_attached[0]); i++) {
			if (!shm_attached[i].addr) {
				shm_attached[i].addr = r;
				shm_attached[i].size = size;
				break;
			}
		}
	}
	return r;
}

int64_t sys_shmdt(struct cpu *cpu, struct sys_call *c)
{
	bool known = false;
	for (unsigned i = 0; i < sizeof(shm_attached) / sizeof(shm_attached[0]); i++) {
		if (shm_attached[i].addr == c->a[0] && shm_attached[i].size) {
			mem_invalidate(c->a[0], shm_attached[i].size);
			shm_attached[i].addr = 0;
			known = true;
			break;
		}
	}
	if (!known)
		exec_flush_all();	/* rare: the table overflowed */
	return raw_syscall(__NR_shmdt, c->a[0], 0, 0, 0, 0, 0);
}
