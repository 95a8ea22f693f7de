/* malloc/calloc/realloc/free stress: tens of thousands of operations with
 * sizes from a byte to several megabytes, so the allocator grows the heap
 * with brk and serves big blocks with mmap/munmap (and mremap for realloc).
 * Every block carries a pattern derived from its id, checked before free. */
#include "guest.h"
#include <stdlib.h>
#include <string.h>

enum { SLOTS = 1500, OPS = 20000 };
static unsigned char *slot[SLOTS];
static size_t slot_size[SLOTS];
static unsigned slot_id[SLOTS];

static size_t pick_size(void)
{
	uint64_t r = rng();
	switch (r % 16) {
	case 0: return 0;
	case 1: return 1 + (r >> 8) % 8;
	case 14: return 100000 + (r >> 8) % 200000;    /* past the mmap threshold */
	case 15: return (r >> 8) % 50 == 0 ? 4000000 : 1 + (r >> 8) % 70000;
	default: return 1 + (r >> 8) % 1024;
	}
}

static void fill(unsigned char *p, size_t n, unsigned id)
{
	/* Write the pattern at the ends and at every 4 KiB: enough to notice
	 * blocks that overlap or move without their contents. */
	for (size_t i = 0; i < n; i += (i < 64 || n - i < 64) ? 1 : 4096)
		p[i] = (unsigned char)(id * 31 + i);
}

static int check(const unsigned char *p, size_t n, unsigned id)
{
	for (size_t i = 0; i < n; i += (i < 64 || n - i < 64) ? 1 : 4096)
		if (p[i] != (unsigned char)(id * 31 + i))
			return 0;
	return 1;
}

int main(void)
{
	int bad = 0, allocs = 0, frees = 0, reallocs = 0, big = 0;
	size_t peak = 0, live = 0;
	unsigned next_id = 1;
	rng_seed(2024);
	for (int op = 0; op < OPS; op++) {
		int s = (int)(rng() % SLOTS);
		if (!slot[s]) {
			size_t n = pick_size();
			int zeroed = rng() % 4 == 0;
			unsigned char *p = zeroed ? calloc(1, n) : malloc(n);
			if (!p && n) {
				printf("allocation of %zu failed\n", n);
				return 1;
			}
			if (zeroed)
				for (size_t i = 0; i < n; i++)
					if (p[i]) {
						bad++;
						break;
					}
			slot[s] = p;
			slot_size[s] = n;
			slot_id[s] = next_id++;
			fill(p, n, slot_id[s]);
			allocs++;
			big += n >= 100000;
			live += n;
		} else if (rng() % 3 == 0) {
			size_t n = pick_size(), old = slot_size[s];
			unsigned char *p = realloc(slot[s], n ? n : 1);
			if (!p) {
				printf("realloc to %zu failed\n", n);
				return 1;
			}
			size_t keep = old < n ? old : n;
			/* The kept prefix must survive the move. */
			for (size_t i = 0; i < keep && i < 64; i++)
				if (p[i] != (unsigned char)(slot_id[s] * 31 + i)) {
					bad++;
					break;
				}
			slot[s] = p;
			slot_size[s] = n;
			slot_id[s] = next_id++;
			fill(p, n, slot_id[s]);
			reallocs++;
			live += n - old;
		} else {
			if (!check(slot[s], slot_size[s], slot_id[s]))
				bad++;
			free(slot[s]);
			slot[s] = NULL;
			live -= slot_size[s];
			frees++;
		}
		if (live > peak)
			peak = live;
	}
	for (int s = 0; s < SLOTS; s++)
		if (slot[s]) {
			if (!check(slot[s], slot_size[s], slot_id[s]))
				bad++;
			free(slot[s]);
		}
	printf("allocs=%d frees=%d reallocs=%d big=%d peak=%zu bad=%d\n", allocs, frees, reallocs,
	       big, peak, bad);

	/* A long singly linked chain of small nodes, freed in reverse. */
	struct node { struct node *next; long v; } *head = NULL;
	for (long i = 0; i < 200000; i++) {
		struct node *n = malloc(sizeof *n);
		n->v = i * i;
		n->next = head;
		head = n;
	}
	long sum = 0;
	while (head) {
		struct node *n = head;
		sum += n->v % 1000;
		head = n->next;
		free(n);
	}
	printf("chain sum %ld\n", sum);

	/* Aligned allocation. */
	void *pa = NULL;
	int rc = posix_memalign(&pa, 4096, 10000);
	printf("posix_memalign rc=%d aligned=%d\n", rc, pa && ((uintptr_t)pa & 4095) == 0);
	free(pa);
	void *al = aligned_alloc(64, 640);
	printf("aligned_alloc aligned=%d\n", al && ((uintptr_t)al & 63) == 0);
	free(al);
	return 0;
}
