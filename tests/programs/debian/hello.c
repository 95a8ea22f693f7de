#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "util.h"

int main(int argc, char **argv)
{
	double s = 0;
	for (int i = 1; i <= 1000; i++)
		s += sqrt(i) / i;
	printf("%.9f %d %s\n", s, gcd(1071, 462), argc > 1 ? argv[1] : "-");
	return 0;
}
