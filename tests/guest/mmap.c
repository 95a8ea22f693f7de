/* Address-space changes: anonymous mmap, partial munmap, mprotect,
 * mremap growth (possibly moving), MAP_FIXED over an existing mapping,
 * a shared file mapping written through memory and read back with read(),
 * madvise(MADV_DONTNEED) zeroing, brk growth and shrink, and mincore. */
#include "guest.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 8 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("mmap ok: %d, zero filled: %d\n", m != MAP_FAILED, m[0] == 0 && m[8 * pg - 1] == 0);
	for (long i = 0; i < 8 * pg; i++)
		m[i] = (char)(i / pg + 'a');

	/* Punch a hole in the middle; the neighbours survive. */
	munmap(m + 2 * pg, 2 * pg);
	printf("after hole: %c %c %c\n", m[pg], m[4 * pg], m[7 * pg]);
	unsigned char vec[8];
	int rc = mincore(m, 8 * pg, vec);
	printf("mincore over hole: rc=%d errno=%s\n", rc, rc ? (errno == ENOMEM ? "ENOMEM" : "other") : "-");

	/* Read-only, then writable again. */
	mprotect(m + 4 * pg, pg, PROT_READ);
	printf("read-only page still readable: %c\n", m[4 * pg + 10]);
	mprotect(m + 4 * pg, pg, PROT_READ | PROT_WRITE);
	m[4 * pg + 10] = 'Z';
	printf("writable again: %c\n", m[4 * pg + 10]);

	/* MAP_FIXED replaces the last two pages with fresh zero pages. */
	char *f = mmap(m + 6 * pg, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	printf("MAP_FIXED at requested address: %d, contents zero: %d, page 5 kept: %c\n", f == m + 6 * pg,
	       f[0] == 0 && f[pg] == 0, m[5 * pg]);

	/* mremap: grow a 2-page mapping to 64 pages, allowed to move. */
	char *r = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(r, 'r', 2 * pg);
	char *g = mremap(r, 2 * pg, 64 * pg, MREMAP_MAYMOVE);
	printf("mremap: ok %d, old data kept %d, new tail zero %d\n", g != MAP_FAILED,
	       g[0] == 'r' && g[2 * pg - 1] == 'r', g[2 * pg] == 0 && g[64 * pg - 1] == 0);
	g[40 * pg] = 'x';
	char *s = mremap(g, 64 * pg, pg, 0);
	printf("mremap shrink in place: %d, first byte %c\n", s == g, s[0]);
	munmap(s, pg);

	/* MADV_DONTNEED on private anonymous memory reads back as zeros. */
	memset(m, 'q', pg);
	madvise(m, pg, MADV_DONTNEED);
	printf("after MADV_DONTNEED: %d\n", m[0]);

	/* Shared file mapping: stores reach the file. */
	const char *tmp = getenv("TMPDIR");
	char path[512];
	snprintf(path, sizeof path, "%s/loom-mmap-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	unlink(path);
	ftruncate(fd, 3 * pg);
	char *fm = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	strcpy(fm + pg + 100, "written through a shared mapping");
	msync(fm, 3 * pg, MS_SYNC);
	char back[64] = { 0 };
	pread(fd, back, 32, pg + 100);
	printf("file sees: %s\n", back);
	pwrite(fd, "FILE", 4, 2 * pg);
	printf("mapping sees: %.4s\n", fm + 2 * pg);
	/* A private mapping of the same file does not write through. */
	char *pm = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, pg);
	pm[100] = 'W';
	pread(fd, back, 1, pg + 100);
	printf("private copy: %c, file still: %c, shared map: %c\n", pm[100], back[0], fm[pg + 100]);
	munmap(pm, pg);
	munmap(fm, 3 * pg);
	close(fd);

	/* The heap break, through the raw syscall (musl's sbrk only reads it). */
	char *b0 = (char *)syscall(SYS_brk, 0);
	char *b1 = (char *)syscall(SYS_brk, b0 + 10 * pg);
	if (b1 == b0 + 10 * pg)
		memset(b0, 'h', 10 * pg);
	printf("brk grew by %ld pages\n", (long)(b1 - b0) / pg);
	char *b2 = (char *)syscall(SYS_brk, b0);
	printf("brk shrink back: %d\n", b2 == b0);

	/* A large mapping touched sparsely. */
	size_t big = 256ul << 20;
	char *h = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	long sum = 0;
	for (size_t i = 0; i < big; i += 1 << 20) {
		h[i] = (char)(i >> 20);
		sum += h[i];
	}
	printf("256 MiB sparse: sum %ld\n", sum);
	munmap(h, big);

	/* Access to an unmapped hole must fail as in a native run. */
	rc = mprotect(m + 2 * pg, pg, PROT_READ);
	printf("mprotect on hole: %d %s\n", rc, rc ? (errno == ENOMEM ? "ENOMEM" : "other") : "");
	return 0;
}
