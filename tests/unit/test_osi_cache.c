/*
 * The introspection layout cache (src/system/osi/cache.c): a record
 * written for an image is read back whole for that image only; a record
 * with a changed byte, cut short, grown, or found under another image's
 * key is refused with a reason, never used, and another version's is a
 * plain miss; the directory follows
 * LOOM_CACHE_DIR, XDG_CACHE_HOME and HOME, and "off" turns it off.
 */
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "system/osi/cache.h"

static char dir[64], img_a[96], img_b[96];

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, buf, len), len);
	close(fd);
}

static size_t read_file(const char *path, void *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, cap);
	close(fd);
	return n < 0 ? 0 : (size_t)n;
}

static void record_name(char *out, size_t n, uint64_t hash)
{
	snprintf(out, n, "%s/cache/osi-%016llx", dir, (unsigned long long)hash);
}

static void sample_entry(struct osi_cache_entry *e, uint64_t seed)
{
	memset(e, 0, sizeof *e);
	uint8_t *p = (uint8_t *)&e->layout;
	for (size_t i = 0; i < sizeof e->layout; i++)
		p[i] = (uint8_t)unit_xorshift(&seed);
	e->layout.vmas_in_maple_tree = true;
	e->init_top_pgt = 0xffffffff82a0a000ull;
	e->end = 0xffffffff83c00000ull;
}

void unit_main(void)
{
	char why[4400], cdir[96];
	snprintf(dir, sizeof dir, "/tmp/loom-osi-cache.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(cdir, sizeof cdir, "%s/cache", dir);
	snprintf(img_a, sizeof img_a, "%s/vmlinuz-a", dir);
	snprintf(img_b, sizeof img_b, "%s/vmlinuz-b", dir);

	/* two images of 1 MB + 5 bytes that differ in one byte near the end */
	size_t len = (1u << 20) + 5;
	uint8_t *img = malloc(len);
	uint64_t s = 42;
	for (size_t i = 0; i < len; i++)
		img[i] = (uint8_t)unit_xorshift(&s);
	write_file(img_a, img, len);
	img[len - 3] ^= 1;
	write_file(img_b, img, len);
	free(img);

	uint64_t ha, sa, hb, sb, ha2, sa2;
	CHECK_EQ(osi_cache_key(img_a, &ha, &sa, why, sizeof why), 0);
	CHECK_EQ(osi_cache_key(img_a, &ha2, &sa2, why, sizeof why), 0);
	CHECK_EQ(osi_cache_key(img_b, &hb, &sb, why, sizeof why), 0);
	CHECK_EQ(sa, len);
	CHECK_EQ(ha, ha2);
	CHECK(ha != hb);	/* one bit in the tail changes the key */
	CHECK_EQ(osi_cache_key("/nonexistent/vmlinuz", &ha2, &sa2, why, sizeof why), -1);
	CHECK(strstr(why, "/nonexistent/vmlinuz") != NULL);

	struct osi_cache_entry e, got;
	sample_entry(&e, 7);
	CHECK_EQ(osi_cache_load(cdir, ha, sa, &got, why, sizeof why), 0);	/* none yet */
	CHECK_EQ(osi_cache_store(cdir, ha, sa, &e, why, sizeof why), 0);
	memset(&got, 0, sizeof got);
	CHECK_EQ(osi_cache_load(cdir, ha, sa, &got, why, sizeof why), 1);
	CHECK(memcmp(&got, &e, sizeof e) == 0);
	CHECK_EQ(osi_cache_load(cdir, hb, sb, &got, why, sizeof why), 0);	/* b has none */

	char ra[200], rb[200];
	record_name(ra, sizeof ra, ha);
	record_name(rb, sizeof rb, hb);
	uint8_t rec[4096], bad[4096];
	size_t n = read_file(ra, rec, sizeof rec);
	CHECK(n > sizeof e);
	struct stat st;
	CHECK(stat(ra, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* a's record under b's name: refused, as for another image */
	write_file(rb, rec, n);
	CHECK_EQ(osi_cache_load(cdir, hb, sb, &got, why, sizeof why), -1);
	CHECK(strstr(why, "another kernel image") != NULL);
	/* the same size with another hash in the key: the record says a */
	CHECK_EQ(osi_cache_load(cdir, ha, sa + 1, &got, why, sizeof why), -1);

	/* every single changed byte is caught: a damaged record is refused,
	 * one whose version, entry size or field table differs (bytes 8-23,
	 * after the magic) is another version's, a plain miss */
	size_t refused = 0, missed = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(bad, rec, n);
		bad[i] ^= 0x40;
		write_file(ra, bad, n);
		int r = osi_cache_load(cdir, ha, sa, &got, why, sizeof why);
		refused += r == -1;
		missed += r == 0 && i >= 8 && i < 24;
	}
	CHECK_EQ(refused, n - 16);
	CHECK_EQ(missed, 16);
	/* cut short, or grown by a byte */
	write_file(ra, rec, n - 1);
	CHECK_EQ(osi_cache_load(cdir, ha, sa, &got, why, sizeof why), -1);
	memcpy(bad, rec, n);
	bad[n] = 0;
	write_file(ra, bad, n + 1);
	CHECK_EQ(osi_cache_load(cdir, ha, sa, &got, why, sizeof why), -1);
	/* written again, read again */
	CHECK_EQ(osi_cache_store(cdir, ha, sa, &e, why, sizeof why), 0);
	CHECK_EQ(osi_cache_load(cdir, ha, sa, &got, why, sizeof why), 1);
	CHECK(memcmp(&got, &e, sizeof e) == 0);
	/* a directory that cannot be made: an error, not a crash */
	write_file(img_b, "x", 1);
	char under_file[200];
	snprintf(under_file, sizeof under_file, "%s/sub", img_b);
	CHECK_EQ(osi_cache_store(under_file, ha, sa, &e, why, sizeof why), -1);

	/* where the cache lives */
	setenv("LOOM_CACHE_DIR", "off", 1);
	CHECK(osi_cache_dir() == NULL);
	setenv("LOOM_CACHE_DIR", "/x/y", 1);
	CHECK(osi_cache_dir() && !strcmp(osi_cache_dir(), "/x/y"));
	unsetenv("LOOM_CACHE_DIR");
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	CHECK(osi_cache_dir() && !strcmp(osi_cache_dir(), "/xdg/loom"));
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", "/home/u", 1);
	CHECK(osi_cache_dir() && !strcmp(osi_cache_dir(), "/home/u/.cache/loom"));

	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}
