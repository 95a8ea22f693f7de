/* A small fuzzing target: reads a file (or stdin), walks a chain of
 * byte compares, and crashes (SIGSEGV) on input starting "LOOM!".  Built
 * static and stripped for the afl subsuite, dynamic for the benchmark,
 * and with afl-clang-fast for the ceiling.  With PERSIST defined, main
 * calls target() in a loop (the persistent-mode entry point). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int sink;

__attribute__((noinline)) int target(const char *path)
{
	unsigned char buf[256];
	int fd = path ? open(path, O_RDONLY) : 0;
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, buf, sizeof(buf));
	if (path)
		close(fd);
	if (n <= 0)
		return 0;
	int score = 0;
	for (ssize_t i = 0; i < n; i++) {	/* some input-dependent paths */
		if (buf[i] < 32)
			score += 1;
		else if (buf[i] < 128)
			score += 2;
		else
			score += 3;
	}
	sink = score;
	if (n > 0 && buf[0] == 'L')
		if (n > 1 && buf[1] == 'O')
			if (n > 2 && buf[2] == 'O')
				if (n > 3 && buf[3] == 'M')
					if (n > 4 && buf[4] == '!')
						*(volatile int *)(uintptr_t)sink = 1;	/* planted crash */
	return 0;
}

int main(int argc, char **argv)
{
	return target(argc > 1 ? argv[1] : NULL);
}
