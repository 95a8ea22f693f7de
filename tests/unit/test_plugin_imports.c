/*
 * plugin_imports (instrument/plugin.c): whether a plugin imports a function
 * of a given prefix (memory callbacks; register reads), read from the
 * loaded object's undefined dynamic symbols.  The oracle is binutils' `nm
 * -D --undefined-only` on the same file, for every plugin the build made
 * (build/<mode>/plugins and build/tests/plugins: some import
 * qemu_plugin_register_vcpu_mem_cb or _mem_inline_per_vcpu, some
 * qemu_plugin_read_register, most neither).  No plugins built: SKIP.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "instrument/plugin-internal.h"
#include "unit.h"

static const char *const prefixes[] = { "qemu_plugin_register_vcpu_mem", "qemu_plugin_read_register" };
#define NPREFIX (int)(sizeof(prefixes) / sizeof(prefixes[0]))

/* nm's answer: 1 imports one, 0 does not, -1 nm failed. */
static int nm_says(const char *path, const char *prefix)
{
	char cmd[4200], line[512];
	snprintf(cmd, sizeof cmd, "nm -D --undefined-only '%s' 2>/dev/null", path);
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	int found = 0, lines = 0;
	while (fgets(line, sizeof line, f)) {
		lines++;
		const char *name = strrchr(line, ' ');
		if (name && !strncmp(name + 1, prefix, strlen(prefix)))
			found = 1;
	}
	return pclose(f) == 0 && lines ? found : -1;
}

static void check_dir(const char *dir, int *checked, int *with)	/* with[NPREFIX] */
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		size_t n = strlen(e->d_name);
		if (n < 4 || strcmp(e->d_name + n - 3, ".so"))
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		int want[NPREFIX];
		bool nm_ok = true;
		for (int k = 0; k < NPREFIX; k++)
			nm_ok &= (want[k] = nm_says(path, prefixes[k])) >= 0;
		/* lazily: the API functions a plugin calls need not be linked here */
		void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
		if (!nm_ok || !h) {
			if (h)
				dlclose(h);
			continue;
		}
		for (int k = 0; k < NPREFIX; k++) {
			bool got = plugin_imports(h, prefixes[k]);
			if (got != (want[k] == 1))
				printf("  %s: nm says %d, plugin_imports(%s) %d\n", path, want[k],
				       prefixes[k], got);
			CHECK_EQ(got, want[k] == 1);
			with[k] += want[k];
		}
		(*checked)++;
		dlclose(h);
	}
	closedir(d);
}

void unit_main(void)
{
	char exe[4096], dir[4200];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		SKIP("no /proc/self/exe");
		return;
	}
	exe[n] = 0;
	/* build/<mode>/unit/test_x -> build/<mode>/plugins, build/tests/plugins */
	char *unit = dirname(exe);
	int checked = 0, with[NPREFIX] = { 0 };
	snprintf(dir, sizeof dir, "%s/../plugins", unit);
	check_dir(dir, &checked, with);
	snprintf(dir, sizeof dir, "%s/../../tests/plugins", unit);
	check_dir(dir, &checked, with);
	if (!checked) {
		SKIP("no plugins built (make plugins plugin-tests) or no nm");
		return;
	}
	printf("  %d plugins, %d importing a memory registration, %d reading registers\n", checked,
	       with[0], with[1]);
	/* both answers must have been seen for the test to mean anything */
	for (int k = 0; k < NPREFIX; k++)
		if (!with[k] || with[k] == checked)
			SKIP("the plugins built do not include both kinds");
}
