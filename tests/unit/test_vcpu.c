/*
 * exec's vCPU allocation (exec/vcpu.c) through exec/exec.h alone, with a
 * stand-in guest (a cpu struct of an odd size with struct cpu_exec inside):
 * the per-vCPU regions lie where they were asked to (alignment and page
 * phase, after the cpu struct, apart from each other), a new vCPU's cpu
 * struct and ordinary regions are zero while a kept region keeps what the
 * index's last vCPU left, indexes are the lowest free ones, every index
 * has a slot whether a vCPU used it or not, indexes run out cleanly (NULL,
 * then reuse), and a region registered after the first vCPU is refused.  The expectations come
 * from the interface's comments in exec/exec.h, not from running it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "exec/exec.h"
#include "unit.h"

/* The stand-in guest's cpu struct: exec knows only its size and where
 * struct cpu_exec lies in it. */
struct fake_cpu {
	uint64_t regs[21];
	struct cpu_exec x;
	uint8_t tail[333];
};

static const struct exec_guest fake_guest = {
	.cpu_size = sizeof(struct fake_cpu),
	.exec_off = (int32_t)offsetof(struct fake_cpu, x),
};

struct want_region {
	size_t size, align, phase;
	bool keep;
	int32_t off;
};
static struct want_region R[] = {
	{ 24, 8, 0, false, 0 },
	{ 1u << 20, 4096, 0x800, true, 0 },	/* as plugin scoreboards */
	{ 1, 1, 0, false, 0 },
	{ 100, 64, 0x20, false, 0 },
	{ 40, 16, 8, true, 0 },
};
#define NR (sizeof(R) / sizeof(R[0]))

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Fill a vCPU's cpu struct and every region with byte v. */
static void scribble(void *cpu, uint8_t v)
{
	uint32_t idx = exec_state(cpu)->cpu_index;
	memset(cpu, v, sizeof(struct fake_cpu));
	exec_state(cpu)->cpu_index = idx;
	for (size_t r = 0; r < NR; r++)
		memset((uint8_t *)cpu + R[r].off, v, R[r].size);
}

static void check_layout(void)
{
	for (size_t r = 0; r < NR; r++) {
		/* after the cpu struct, and apart from every other region */
		CHECK(R[r].off >= (int32_t)sizeof(struct fake_cpu));
		for (size_t q = 0; q < r; q++)
			CHECK(R[r].off >= R[q].off + (int32_t)R[q].size ||
			      R[q].off >= R[r].off + (int32_t)R[r].size);
	}
}

static void check_cpu(void *cpu, unsigned want_index)
{
	CHECK(cpu != NULL);
	if (!cpu)
		return;
	CHECK_EQ(exec_state(cpu)->cpu_index, want_index);
	CHECK(exec_vcpu_env(want_index) == cpu);
	/* env lies 0xc00 into a page (exec/vcpu.c: kept off 4K aliasing) */
	CHECK_EQ((uintptr_t)cpu & 4095, 0xc00);
	for (size_t r = 0; r < NR; r++)
		CHECK_EQ(((uintptr_t)cpu + R[r].off) % R[r].align, R[r].phase);
	/* zero but for the index */
	struct fake_cpu z;
	memset(&z, 0, sizeof(z));
	z.x.cpu_index = want_index;
	CHECK(memcmp(cpu, &z, sizeof(z)) == 0);
}

/* A child that registers a region after the first vCPU must stop with an
 * error, not go on with a layout that no longer holds. */
static void check_late_region(void)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", 1);
		if (fd >= 0)
			dup2(fd, 2);	/* its one error line is expected */
		exec_vcpu_region(8, 8, 0, false);
		_exit(0);
	}
	int st = 0;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
	CHECK(!(WIFEXITED(st) && WEXITSTATUS(st) == 0));
}

void unit_main(void)
{
	exec_guest = fake_guest;
	for (size_t r = 0; r < NR; r++)
		R[r].off = exec_vcpu_region(R[r].size, R[r].align, R[r].phase, R[r].keep);
	check_layout();
	CHECK(exec_vcpu_env(0) == NULL);	/* no arena before the first vCPU */

	void *a = exec_cpu_new(), *b = exec_cpu_new(), *c = exec_cpu_new();
	check_cpu(a, 0);
	check_cpu(b, 1);
	check_cpu(c, 2);
	for (size_t r = 0; r < NR; r++) {
		CHECK(all_bytes((uint8_t *)a + R[r].off, R[r].size, 0));
		CHECK(all_bytes((uint8_t *)c + R[r].off, R[r].size, 0));
	}
	/* Every index of the arena has its slot, live or not. */
	uint8_t *e7 = exec_vcpu_env(7);
	CHECK(e7 != NULL && e7 != a && e7 != b && e7 != c);
	if (e7)
		CHECK(all_bytes(e7 + R[1].off, R[1].size, 0));
	uint8_t *e100 = exec_vcpu_env(100);	/* far from any vCPU so far */
	CHECK(e100 != NULL && e100 != e7);
	if (e100) {
		CHECK(all_bytes(e100 + R[1].off, R[1].size, 0));
		CHECK(exec_vcpu_env(100) == e100);
	}
	CHECK(exec_vcpu_env(1u << 30) == NULL);

	/* A freed index goes to the next vCPU: its cpu struct and ordinary
	 * regions zeroed, its kept regions as the last vCPU left them. */
	scribble(a, 0x5a);
	scribble(b, 0xa5);
	exec_cpu_free(b);
	exec_cpu_free(a);
	void *a2 = exec_cpu_new();
	CHECK(a2 == a);
	check_cpu(a2, 0);
	for (size_t r = 0; r < NR; r++)
		CHECK(all_bytes((uint8_t *)a2 + R[r].off, R[r].size, R[r].keep ? 0x5a : 0));
	void *b2 = exec_cpu_new();
	CHECK(b2 == b);
	check_cpu(b2, 1);
	for (size_t r = 0; r < NR; r++)
		CHECK(all_bytes((uint8_t *)b2 + R[r].off, R[r].size, R[r].keep ? 0xa5 : 0));

	check_late_region();

	/* Indexes run out with NULL (at least the 1024 plugins may use), and
	 * come back when freed. */
	static void *more[1 << 16];
	unsigned n = 0;
	while (n < sizeof(more) / sizeof(more[0]) && (more[n] = exec_cpu_new()))
		n++;
	CHECK(n + 3 >= 1024);
	CHECK(n < sizeof(more) / sizeof(more[0]));
	if (n > 10) {
		unsigned idx = exec_state(more[10])->cpu_index;
		exec_cpu_free(more[10]);
		void *again = exec_cpu_new();
		CHECK(again == more[10]);
		if (again)
			CHECK_EQ(exec_state(again)->cpu_index, idx);
		CHECK(exec_cpu_new() == NULL);
	}
}
