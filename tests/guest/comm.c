/* The task name the kernel gives a process at exec (the last component of
 * the path it ran, at most 15 bytes), as /proc/self/comm, PR_GET_NAME and
 * a new thread (which inherits it) show it; then the same after the
 * program renames itself, and for a thread that renames only itself. */
#include "guest.h"
#include <pthread.h>
#include <string.h>
#include <sys/prctl.h>

static void show(const char *what)
{
	char buf[64] = "", name[17] = "";
	FILE *f = fopen("/proc/thread-self/comm", "r");
	if (!f || !fgets(buf, sizeof buf, f))
		strcpy(buf, "(unreadable)\n");
	if (f)
		fclose(f);
	prctl(PR_GET_NAME, name);
	printf("%s: comm %s", what, buf);
	printf("%s: PR_GET_NAME %s\n", what, name);
}

static void *thread(void *arg)
{
	show(arg);
	if (!strcmp(arg, "second thread")) {
		prctl(PR_SET_NAME, "worker-renamed");
		show("second thread, renamed");
	}
	return NULL;
}

static void in_thread(const char *what)
{
	pthread_t t;
	pthread_create(&t, NULL, thread, (void *)what);
	pthread_join(t, NULL);
}

int main(void)
{
	show("main");
	in_thread("first thread");
	prctl(PR_SET_NAME, "a-name-longer-than-fifteen");
	show("main, renamed");
	in_thread("second thread");
	show("main again");
	return 0;
}
