/* osi/'s shared error convention (util.h). */
#include "system/osi/util.h"

#include <stdarg.h>
#include <stdio.h>

int osi_fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err && errsz)
		vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}
