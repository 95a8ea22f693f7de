/* The initial process state a loader builds: argc/argv (the runner passes
 * arguments with spaces, an empty one and non-ASCII bytes), the environment
 * in order, selected auxv entries, and stack alignment at main. */
#include "guest.h"
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

static void show(const char *what, const char *s)
{
	printf("%s [", what);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x20 && *p < 0x7f)
			putchar(*p);
		else
			printf("\\x%02x", *p);
	printf("]\n");
}

int main(int argc, char **argv, char **envp)
{
	printf("argc=%d\n", argc);
	/* argv[0] is the path the runner used: print only its last component. */
	const char *base = strrchr(argv[0], '/');
	show("argv[0] basename", base ? base + 1 : argv[0]);
	for (int i = 1; i < argc; i++) {
		char label[32];
		snprintf(label, sizeof label, "argv[%d]", i);
		show(label, argv[i]);
	}
	printf("argv[argc]=%s\n", argv[argc] ? "non-null" : "NULL");
	printf("envp==environ: %d, envp follows argv: %d\n", envp == environ, envp == argv + argc + 1);
	int n = 0;
	for (char **e = environ; *e; e++, n++)
		show("env", *e);
	printf("%d environment entries\n", n);
	const char *home = getenv("HOME"), *missing = getenv("LOOM_SURELY_UNSET_VARIABLE");
	show("HOME", home ? home : "(unset)");
	printf("missing=%s\n", missing ? missing : "(null)");

	setenv("LOOM_NEW_VAR", "value=with=equals", 1);
	show("after setenv", getenv("LOOM_NEW_VAR"));
	unsetenv("LOOM_NEW_VAR");
	printf("after unsetenv: %s\n", getenv("LOOM_NEW_VAR") ? "set" : "unset");

	printf("AT_PAGESZ=%lu AT_UID==getuid:%d AT_EUID==geteuid:%d AT_GID==getgid:%d AT_SECURE=%lu\n",
	       getauxval(AT_PAGESZ), getauxval(AT_UID) == getuid(), getauxval(AT_EUID) == geteuid(),
	       getauxval(AT_GID) == getgid(), getauxval(AT_SECURE));
	printf("AT_RANDOM present: %d, AT_PHDR present: %d, AT_ENTRY present: %d\n",
	       getauxval(AT_RANDOM) != 0, getauxval(AT_PHDR) != 0, getauxval(AT_ENTRY) != 0);
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	if (execfn) {
		const char *b = strrchr(execfn, '/');
		show("AT_EXECFN basename", b ? b + 1 : execfn);
	}
	/* The ABI wants %rsp+8 16-byte aligned at function entry. */
	long probe __attribute__((aligned(16))) = 0;
	printf("aligned local: %d\n", ((uintptr_t)&probe & 15) == 0);
	return 0;
}
