/* Forks; the parent and the child each spin in a function of their own
 * until killed.  The parent prints the child's pid first, so a test knows
 * which FILE.PID is the child's coverage. */
#include <stdio.h>
#include <unistd.h>

volatile unsigned long counter;

__attribute__((noinline)) void parent_spin(void)
{
	for (;;)
		counter++;
}

__attribute__((noinline)) void child_spin(void)
{
	for (;;)
		counter += 2;
}

int main(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0)
		child_spin();
	printf("%d\n", (int)pid);
	fflush(stdout);
	parent_spin();
}
