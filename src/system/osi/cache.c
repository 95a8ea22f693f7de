/*
 * The layout cache (cache.h): one small file per kernel image.
 */
#include "system/osi/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

/* Bump when the meaning of a cached value changes without its shape or
 * name changing (a different rule for filling a field, say). */
#define OSI_CACHE_VERSION 1

/* Every field's name, struct and member path: a record written for another
 * field table does not match. */
#define OSI_CACHE_NAME(f, s, p, req) #f s p
static const char field_names[] = OSI_LINUX_FIELDS(OSI_CACHE_NAME);

struct record {
	char magic[8];
	uint32_t version, entry_size;
	uint64_t fields;		/* hash of field_names */
	uint64_t image_hash, image_size;
	struct osi_cache_entry e;
	uint64_t check;			/* hash of everything above */
};

/* 64-bit words mixed one at a time (and the tail bytes one by one): fast
 * enough to key an 8 MB image in a few milliseconds; not a defence against
 * someone who can write the cache, who could as well write loom. */
static uint64_t hash_bytes(uint64_t h, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (; len; p++, len--)
		h = (h ^ *p) * 0x100000001b3ull;
	return h ^ (h >> 32);
}

#define HASH_SEED 0xcbf29ce484222325ull

const char *osi_cache_dir(void)
{
	static char dir[4096];
	const char *v = getenv("LOOM_CACHE_DIR");
	if (v && *v) {
		if (!strcmp(v, "off"))
			return NULL;
		snprintf(dir, sizeof dir, "%s", v);
	} else if ((v = getenv("XDG_CACHE_HOME")) && *v == '/') {
		snprintf(dir, sizeof dir, "%s/loom", v);
	} else if ((v = getenv("HOME")) && *v == '/') {
		snprintf(dir, sizeof dir, "%s/.cache/loom", v);
	} else {
		return NULL;
	}
	return dir;
}

int osi_cache_key(const char *path, uint64_t *hash, uint64_t *size, char *err, size_t errsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return fail_msg(err, errsz, "%s: %s", path, strerror(e));
	}
	void *p = st.st_size ? mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (st.st_size && p == MAP_FAILED)
		return fail_msg(err, errsz, "%s: %s", path, strerror(errno));
	*hash = hash_bytes(HASH_SEED, p, st.st_size);
	*size = st.st_size;
	if (p)
		munmap(p, st.st_size);
	return 0;
}

static void record_path(char *out, size_t n, const char *dir, uint64_t hash)
{
	snprintf(out, n, "%s/osi-%016" PRIx64, dir, hash);
}

static void record_fill(struct record *r, uint64_t hash, uint64_t size)
{
	memcpy(r->magic, "loomosi\n", 8);
	r->version = OSI_CACHE_VERSION;
	r->entry_size = sizeof r->e;
	r->fields = hash_bytes(HASH_SEED, field_names, sizeof field_names);
	r->image_hash = hash;
	r->image_size = size;
}

int osi_cache_load(const char *dir, uint64_t hash, uint64_t size, struct osi_cache_entry *e,
		   char *why, size_t whysz)
{
	char path[4200];
	record_path(path, sizeof path, dir, hash);
	FILE *f = fopen(path, "rbe");
	if (!f)
		return 0;
	struct record r, want;
	size_t got = fread(&r, 1, sizeof r, f);
	int extra = fgetc(f);
	fclose(f);
	memset(&want, 0, sizeof want);
	record_fill(&want, hash, size);
	/* another version's record is expected after an upgrade: a miss, said
	 * nothing of (it is overwritten); a damaged one is worth a warning */
	size_t head = offsetof(struct record, image_hash);
	if (got >= head && !memcmp(r.magic, want.magic, 8) &&
	    (r.version != want.version || r.entry_size != want.entry_size ||
	     r.fields != want.fields))
		return 0;
	if (got != sizeof r || extra != EOF || memcmp(r.magic, want.magic, 8))
		return fail_msg(why, whysz, "%s: not a layout record (%zu bytes)", path, got);
	if (r.check != hash_bytes(HASH_SEED, &r, offsetof(struct record, check)))
		return fail_msg(why, whysz, "%s: checksum mismatch", path);
	if (r.image_hash != hash || r.image_size != size)
		return fail_msg(why, whysz, "%s: for another kernel image", path);
	*e = r.e;
	return 1;
}

int osi_cache_store(const char *dir, uint64_t hash, uint64_t size, const struct osi_cache_entry *e,
		    char *err, size_t errsz)
{
	char path[4200], tmp[4300];
	struct record r;
	memset(&r, 0, sizeof r);	/* padding too: the checksum covers it */
	record_fill(&r, hash, size);
	r.e = *e;
	r.check = hash_bytes(HASH_SEED, &r, offsetof(struct record, check));
	/* mkdir -p */
	char d[4096];
	snprintf(d, sizeof d, "%s", dir);
	for (char *s = d + 1; *s; s++) {
		if (*s == '/') {
			*s = 0;
			mkdir(d, 0700);
			*s = '/';
		}
	}
	if (mkdir(d, 0700) < 0 && errno != EEXIST)
		return fail_msg(err, errsz, "%s: %s", d, strerror(errno));
	record_path(path, sizeof path, dir, hash);
	snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail_msg(err, errsz, "%s: %s", tmp, strerror(errno));
	ssize_t n = write(fd, &r, sizeof r);
	int werr = n == (ssize_t)sizeof r ? 0 : n < 0 ? errno : ENOSPC;
	if (close(fd) < 0 && !werr)
		werr = errno;
	if (werr || rename(tmp, path) < 0) {
		int e2 = werr ? werr : errno;
		unlink(tmp);
		return fail_msg(err, errsz, "%s: %s", path, strerror(e2));
	}
	return 0;
}
