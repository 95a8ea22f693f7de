/*
 * Guest memory in user mode (exec/guest-mem.h): a guest address is a host
 * address, but tools must not fault on a bad one, so they go through the
 * kernel (process_vm_readv/writev on this process), which reports EFAULT
 * instead of raising SIGSEGV.  Writes lift loom's write protection of
 * pages holding translated code first (guest_write in syscall.c).
 *
 * Code fetch is the exception, being once per TB: a system call there was
 * a fifth of the translation time.  Where exec's memory map says the guest
 * mapped the page (and the next, if the fetch runs into it), the bytes are
 * copied directly under a guard: a fault while copying (a file-backed page
 * past the file's end raises SIGBUS; another thread may unmap the page
 * after the check) lands in linux_fetch_fault, which abandons the copy,
 * and the fetch asks the kernel after all.  The map is a hint, the guard
 * is what keeps loom alive.  The same guarded copy tells a page with no
 * backing, where the guest's fetch fault must be a SIGBUS as the host's
 * is (linux_fetch_no_backing).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>
#include "exec/exec.h"
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

/* The direct copy in progress on this thread, if any. */
static __thread sigjmp_buf *volatile fetch_guard;
/* The page at which this thread's direct copy met a host SIGBUS
 * (BUS_ADRERR: a file page past the file's end), or 1: none. */
static __thread uint64_t fetch_bus_page = 1;

bool linux_fetch_fault(const siginfo_t *si, void *ucv)
{
	sigjmp_buf *guard = fetch_guard;
	if (!guard)
		return false;
	fetch_guard = NULL;
	if (si->si_signo == SIGBUS && si->si_code == BUS_ADRERR)
		fetch_bus_page = (uintptr_t)si->si_addr & ~4095ull;
	/* Leave the handler with the mask the copy ran under. */
	sigprocmask(SIG_SETMASK, &((ucontext_t *)ucv)->uc_sigmask, NULL);
	siglongjmp(*guard, 1);
}

/* Whether the guest mapped the page at va with some access (the host may
 * still refuse: see the top). */
static bool lx_mapped(uint64_t va)
{
	return !(va >> 47) && exec_mem_prot(va) > 0;
}

/* All n bytes by a guarded copy, or false having copied any number. */
static bool lx_fetch_direct(void *dst, uint64_t va, size_t n)
{
	sigjmp_buf guard;
	uint64_t last = va + n - 1;

	if (!lx_mapped(va) || ((last ^ va) >> 12 && !lx_mapped(last)))
		return false;
	if (sigsetjmp(guard, 0))
		return false;	/* linux_fetch_fault cleared the guard */
	fetch_guard = &guard;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	memcpy(dst, (const void *)(uintptr_t)va, n);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	fetch_guard = NULL;
	return true;
}

/* All n bytes, or if that fails the readable part: a partial read stops
 * at the first unreadable page, so retry up to the end of the first. */
static size_t lx_fetch(void *cpu, void *dst, uint64_t va, size_t n)
{
	(void)cpu;
	if (!n || lx_fetch_direct(dst, va, n))
		return n;
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

bool linux_fetch_no_backing(uint64_t addr)
{
	/* Asked afresh: the fetch that failed may be long past (a block
	 * that raises the fault at run time is translated once). */
	uint8_t byte;
	uint64_t page = addr & ~4095ull;
	fetch_bus_page = 1;
	return !lx_fetch_direct(&byte, page, 1) && fetch_bus_page == page;
}

const struct guest_mem_ops linux_guest_mem = { lx_read, lx_write, lx_fetch };
