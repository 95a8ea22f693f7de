/* Exit status propagation: atexit handlers run in reverse order, buffered
 * stdout is flushed by exit(), and the process exits with status 3. */
#include "guest.h"
#include <stdlib.h>

static void first(void) { printf("atexit: registered first, runs last\n"); }
static void second(void) { printf("atexit: registered second, runs first\n"); }

int main(void)
{
	atexit(first);
	atexit(second);
	/* Left in the stdio buffer: exit() must flush it. */
	printf("about to exit with status 3");
	printf(" (no newline yet)");
	exit(3);
}
