/*
 * A process with many memory mappings that stays put until killed: 128
 * pages of one anonymous mapping whose protections alternate, so the
 * kernel keeps each page a VMA of its own (neighbours that differ are
 * never merged).  That many VMAs fill more than one node of the kernel's
 * maple tree, so tests/system/osi.sh sees introspection walk a tree of
 * more than one level (a leaf holds at most 16 entries).
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 128

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *base = mmap(NULL, PAGES * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		perror("manymaps: mmap");
		return 1;
	}
	for (int i = 0; i < PAGES; i += 2) {
		if (mprotect(base + i * page, page, PROT_READ | PROT_WRITE) < 0) {
			perror("manymaps: mprotect");
			return 1;
		}
	}
	for (;;)
		pause();
}
