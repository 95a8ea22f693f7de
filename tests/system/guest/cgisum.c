/* A CGI program for busybox httpd in the guest (tests/system/guest/virtio
 * installs it as /www/cgi-bin/csum): adds the numbers of a query string
 * a=N&b=N.  Built with -g, so that a whole-system coverage recording of it
 * exports to lcov through its line table (tests/system/workflow.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long field(const char *query, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = query; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == '=')
			return strtol(p + n + 1, NULL, 10);
	return 0;
}

int main(void)
{
	const char *q = getenv("QUERY_STRING");
	if (!q) {
		printf("Status: 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nno query\n");
		return 0;
	}
	long a = field(q, "a"), b = field(q, "b");
	printf("Content-Type: text/plain\r\n\r\n");
	if (a < 0 || b < 0)
		printf("negative\n");
	else
		printf("csum %ld\n", a + b);
	return 0;
}
