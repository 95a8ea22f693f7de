/* main() for unit tests: run unit_main() and report in the suite's format. */
#include <stdio.h>
#include "unit.h"

int unit_passed, unit_failed;

int main(void)
{
	unit_main();
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed != 0;
}
