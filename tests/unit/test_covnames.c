/*
 * Module names of coverage files (instrument/covfile.c) for loom-system's
 * attributed coverage: a module "comm[pid]:/path" is named
 * "comm[pid]:basename" (docs/coverage.md), so one file run by two
 * processes gives two names and `loom-cov diff` prints
 * process:module+0xoffset; kernel modules keep their whole path as name;
 * user mode's names (basename, "#2" for a second path with it) are as
 * before.  And the names and paths survive a drcov and a modoff file.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "instrument/covfile.h"
#include "unit.h"

static const char *const paths[] = {
	"md5sum[95]:/bin/busybox", "sleep[89]:/bin/busybox", "sleep[90]:/tmp/alt/busybox",
	"[kernel]", "[kernel]:crc7", "/usr/lib/libc.so.6", "/opt/lib/libc.so.6",
	"sh[5]:/bin/busybox", "sh[5]:/tmp/busybox", "poweroff[97]:[anon]",
};
static const char *const names[] = {
	"md5sum[95]:busybox", "sleep[89]:busybox", "sleep[90]:busybox",
	"[kernel]", "[kernel]:crc7", "libc.so.6", "libc.so.6#2",
	"sh[5]:busybox", "sh[5]:busybox#2", "poweroff[97]:[anon]",
};
#define N (sizeof(paths) / sizeof(paths[0]))

static struct cov_model *model(void)
{
	struct cov_model *m = cov_new();
	CHECK(m != NULL);
	for (size_t i = 0; m && i < N; i++) {
		CHECK_EQ(cov_add_module(m, paths[i], 0x400000 + (i << 32), 0x500000 + (i << 32), 0), i);
		CHECK_EQ(cov_add_block(m, (uint32_t)i, 0x1000 + i, 4, 0), 0);
	}
	return m;
}

static void check_names(struct cov_model *m, const char *what)
{
	for (size_t i = 0; i < N; i++) {
		const char *n = cov_module_name(m, (uint32_t)i);
		bool same = n && !strcmp(n, names[i]);
		CHECK(same);
		if (!same)
			fprintf(stderr, "  %s: module %s named %s, want %s\n", what, paths[i],
				n ? n : "(null)", names[i]);
	}
}

void unit_main(void)
{
	struct cov_model *m = model();
	if (!m)
		return;
	check_names(m, "model");

	char dir[] = "/tmp/test_covnames.XXXXXX", path[64], err[256];
	if (!mkdtemp(dir)) {
		CHECK(0);
		cov_free(m);
		return;
	}
	/* drcov keeps paths: the names are computed again alike */
	snprintf(path, sizeof path, "%s/a.drcov", dir);
	struct cov_write_opts o = { .no_fsync = true };
	CHECK_EQ(cov_write(m, COV_DRCOV, path, &o, err, sizeof err), 0);
	struct cov_model *r = cov_read(path, err, sizeof err);
	CHECK(r != NULL);
	if (r) {
		CHECK_EQ(r->nmods, N);
		for (size_t i = 0; i < r->nmods && i < N; i++)
			CHECK(!strcmp(r->mods[i].path, paths[i]));
		check_names(r, "drcov");
		CHECK_EQ(r->nblocks, N);
		cov_free(r);
	}
	unlink(path);
	/* modoff keeps names, read back as they were written */
	snprintf(path, sizeof path, "%s/a.txt", dir);
	CHECK_EQ(cov_write(m, COV_MODOFF, path, &o, err, sizeof err), 0);
	r = cov_read(path, err, sizeof err);
	CHECK(r != NULL);
	if (r) {
		CHECK_EQ(r->nblocks, N);
		for (size_t i = 0; i < r->nblocks; i++) {
			const char *n = cov_module_name(r, r->blocks[i].mod);
			bool known = false;
			for (size_t k = 0; n && k < N; k++)
				known |= !strcmp(n, names[k]) && r->blocks[i].off == 0x1000 + k;
			CHECK(known);
		}
		cov_free(r);
	}
	unlink(path);
	rmdir(dir);
	cov_free(m);
}
