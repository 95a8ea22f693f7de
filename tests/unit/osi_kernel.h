/*
 * Shared by the osi unit tests: the guest kernel they read when it has been
 * fetched (scripts/guest-kernel.sh puts it in build/guest/vmlinuz;
 * LOOM_GUEST_KERNEL names another), SKIPped visibly when it has not.
 */
#ifndef LOOM_TESTS_OSI_KERNEL_H
#define LOOM_TESTS_OSI_KERNEL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "system/osi/vmlinux.h"
#include "unit.h"

static inline const char *osi_test_kernel_path(void)
{
	const char *p = getenv("LOOM_GUEST_KERNEL");
	return p && *p ? p : "build/guest/vmlinuz";
}

/* Open the guest kernel; false (after a SKIP or a failed CHECK) when the
 * kernel checks cannot run. */
static inline bool osi_test_open_kernel(struct osi_vmlinux *vm, const char *what)
{
	const char *path = osi_test_kernel_path();
	if (access(path, R_OK) != 0) {
		char why[300];
		snprintf(why, sizeof why, "%s: no guest kernel at %s (run scripts/guest-kernel.sh)",
			 what, path);
		SKIP(why);
		return false;
	}
	char err[300];
	int r = osi_vmlinux_open(vm, path, err, sizeof err);
	if (r < 0)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(r, 0);
	return r == 0;
}

/* Is a program on PATH? */
static inline bool osi_test_have(const char *prog)
{
	char cmd[200];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/* Write the vmlinux to a temporary file (for pahole); its path, or NULL. */
static inline char *osi_test_write_elf(const struct osi_vmlinux *vm)
{
	static char path[] = "/tmp/loom-osi-vmlinux-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	size_t done = 0;
	while (done < vm->size) {
		ssize_t n = write(fd, vm->elf + done, vm->size - done);
		if (n <= 0) {
			close(fd);
			unlink(path);
			return NULL;
		}
		done += (size_t)n;
	}
	close(fd);
	return path;
}

#endif
