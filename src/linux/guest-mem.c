/*
 * Guest memory in user mode (exec/guest-mem.h): a guest address is a host
 * address, but tools must not fault on a bad one, so they go through the
 * kernel (process_vm_readv/writev on this process), which reports EFAULT
 * instead of raising SIGSEGV.  Writes lift loom's write protection of
 * pages holding translated code first (guest_write in syscall.c).
 */
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>
#include "exec/guest-mem.h"
#include "linux/linux.h"
#include "linux/syscall.h"

static int lx_read(void *cpu, void *dst, uint64_t va, size_t n)
{
	(void)cpu;
	return guest_read(dst, va, n);
}

static int lx_write(void *cpu, uint64_t va, const void *src, size_t n)
{
	(void)cpu;
	return guest_write(va, src, n);
}

/* All n bytes, or if that fails the readable part: a partial read stops
 * at the first unreadable page, so retry up to the end of the first. */
static size_t lx_fetch(void *cpu, void *dst, uint64_t va, size_t n)
{
	(void)cpu;
	struct iovec local = { dst, n }, remote = { (void *)(uintptr_t)va, n };
	ssize_t got = process_vm_readv(gettid(), &local, 1, &remote, 1, 0);
	if (got == (ssize_t)n)
		return n;
	uint64_t page_end = (va | 4095) + 1;
	if (page_end - va >= n)
		return got > 0 ? (size_t)got : 0;
	local.iov_len = remote.iov_len = page_end - va;
	got = process_vm_readv(gettid(), &local, 1, &remote, 1, 0);
	return got > 0 ? (size_t)got : 0;
}

const struct guest_mem_ops linux_guest_mem = { lx_read, lx_write, lx_fetch };
