/* main() for unit tests: run unit_main() and report in the suite's format. */
#include <stdio.h>
#include "unit.h"

int unit_passed, unit_failed, unit_skipped;

int main(void)
{
	unit_main();
	if (unit_skipped)
		printf("%d passed, %d failed, %d skipped\n", unit_passed, unit_failed, unit_skipped);
	else
		printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed != 0;
}
