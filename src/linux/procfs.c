/*
 * What the guest reads about itself under /proc: the files whose host
 * content describes loom rather than the guest program are generated here.
 *
 *   maps     the host's /proc/self/maps, keeping only the lines the exec
 *            layer's map knows as guest memory (mmap.c seeds it with the
 *            image, interpreter and stack and follows every guest mmap), so
 *            loom's binary, heap, code cache, host vDSO and thread stacks
 *            are hidden; the guest stack and brk area are labelled
 *            [stack] and [heap] as the kernel labels them.  A host line
 *            where the kernel merged loom's anonymous memory with the
 *            guest's is shown whole (the stack's is clipped).
 *   auxv     the auxiliary vector stack.c built.
 *   cmdline  the guest's argv strings, read from its stack as the kernel
 *            reads them from mm->arg_start.
 *
 * /proc/self/exe is process.c's business (a symlink, not content).
 *
 * An open of one of these, read-only, through /proc/self, /proc/thread-self
 * or /proc/<our pid>, returns an fd on a memfd holding a snapshot taken at
 * open time, rewound to offset 0.  Anything else goes to the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "exec/exec.h"
#include "linux/linux.h"
#include "linux/syscall.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1u
#endif

/* A growing buffer for the generated text. */
struct proc_buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct proc_buf *b, const void *s, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q)
			return;		/* out of memory: the file comes out short */
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void proc_maps(struct proc_buf *b)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096 + 128];
	uint64_t heap_end = (linux_image.brk + 4095) & ~4095ull;

	if (!f)
		return;
	exec_mem_lock();	/* another guest thread may be changing the map */
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off;
		char perms[8], dev[16];
		unsigned long inode;
		int n = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %15s %lu%n", &lo, &hi, perms, &off, dev,
			   &inode, &n) != 6)
			continue;
		int prot = exec_mem_prot(lo);
		if (prot < 0)
			prot = exec_mem_prot(hi - 1);
		if (prot < 0)
			continue;	/* loom's, not the guest's */
		const char *label = NULL;
		if (lo < linux_image.stack_top && hi > linux_image.stack_limit) {
			label = "[stack]";
			if (lo < linux_image.stack_limit)
				lo = linux_image.stack_limit;
			if (hi > linux_image.stack_top)
				hi = linux_image.stack_top;
		} else if (inode == 0 && heap_end > linux_image.brk_start &&
			   lo < heap_end && hi > linux_image.brk_start) {
			label = "[heap]";
		}
		/* The guest's protection: loom may have taken write away from
		 * a page to catch self-modifying code. */
		char head[160];
		int hl = snprintf(head, sizeof(head), "%08llx-%08llx %c%c%c%c %08llx %s %lu",
				  lo, hi, prot & PROT_READ ? 'r' : '-',
				  prot & PROT_WRITE ? 'w' : '-', prot & PROT_EXEC ? 'x' : '-',
				  perms[3], off, dev, inode);
		buf_add(b, head, (size_t)hl);
		if (!label) {
			buf_add(b, line + n, strlen(line + n));	/* padding, name, newline */
			continue;
		}
		/* The kernel pads the header (with its trailing space) to 72
		 * columns, then writes one more space and the name. */
		static const char pad[] = "                                                  "
					  "                              ";
		size_t spaces = hl + 1 < 72 ? (size_t)(73 - hl) : 2;
		buf_add(b, pad, spaces < sizeof(pad) - 1 ? spaces : 2);
		buf_add(b, label, strlen(label));
		buf_add(b, "\n", 1);
	}
	exec_mem_unlock();
	fclose(f);
}

static void proc_auxv(struct proc_buf *b)
{
	char *tmp = malloc(linux_image.auxv_len);
	if (tmp && guest_read(tmp, linux_image.auxv_addr, linux_image.auxv_len) == 0)
		buf_add(b, tmp, linux_image.auxv_len);
	free(tmp);
}

static void proc_cmdline(struct proc_buf *b)
{
	size_t n = linux_image.arg_end - linux_image.arg_start;
	char *tmp = malloc(n);
	if (tmp && guest_read(tmp, linux_image.arg_start, n) == 0)
		buf_add(b, tmp, n);
	free(tmp);
}

/* The name after "/proc/self/", "/proc/thread-self/" or "/proc/PID/" for
 * our own pid, or NULL. */
static const char *proc_self_name(const char *path)
{
	static const char *const prefixes[] = { "/proc/self/", "/proc/thread-self/" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(path, prefixes[i], strlen(prefixes[i])))
			return path + strlen(prefixes[i]);
	if (strncmp(path, "/proc/", 6))
		return NULL;
	char *end;
	long pid = strtol(path + 6, &end, 10);
	if (end == path + 6 || *end != '/' || pid != (long)getpid())
		return NULL;
	return end + 1;
}

bool proc_open(const char *path, int flags, int64_t *ret)
{
	const char *name = proc_self_name(path);
	void (*gen)(struct proc_buf *);

	if (!name || (flags & O_ACCMODE) != O_RDONLY || (flags & O_DIRECTORY))
		return false;
	if (!strcmp(name, "maps"))
		gen = proc_maps;
	else if (!strcmp(name, "auxv"))
		gen = proc_auxv;
	else if (!strcmp(name, "cmdline"))
		gen = proc_cmdline;
	else
		return false;

	struct proc_buf b = { 0 };
	gen(&b);
	long fd = raw_syscall(__NR_memfd_create, "loom-proc",
			      flags & O_CLOEXEC ? MFD_CLOEXEC : 0, 0, 0, 0, 0);
	if (sys_is_error(fd)) {
		free(b.p);
		*ret = fd;
		return true;
	}
	size_t done = 0;
	while (done < b.len) {
		long w = raw_syscall(__NR_write, fd, b.p + done, b.len - done, 0, 0, 0);
		if (w == -EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	free(b.p);
	raw_syscall(__NR_lseek, fd, 0, SEEK_SET, 0, 0, 0);
	*ret = fd;
	return true;
}
