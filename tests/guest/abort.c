/* Death by signal: abort() raises SIGABRT, which must kill the process the
 * same way under loom (the shell sees status 134).  Output before the abort
 * is flushed explicitly, since abort() does not flush stdio. */
#include "guest.h"
#include <signal.h>
#include <stdlib.h>

int main(void)
{
	/* A SIGABRT handler that returns must not stop abort() from killing us. */
	signal(SIGABRT, SIG_DFL);
	printf("before abort\n");
	fflush(stdout);
	abort();
	printf("not reached\n");
	return 0;
}
