/* File I/O through raw syscalls and stdio: create a temporary file, write it
 * in pieces, seek, pread/pwrite, fstat, read it back through a FILE with a
 * small buffer, rename, unlink, and list a temporary directory (sorted, since
 * readdir order is the file system's).  Uses $TMPDIR when set. */
#include "guest.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static char path[512], path2[600];

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(path, sizeof path, "%s/loom-fileio-XXXXXX", tmp);
	int fd = mkstemp(path);
	if (fd < 0) {
		printf("mkstemp failed: %s\n", strerror(errno));
		return 1;
	}

	/* 256 KiB of generated data written in uneven chunks. */
	enum { SIZE = 256 * 1024 };
	static unsigned char data[SIZE], back[SIZE];
	rng_seed(8);
	for (int i = 0; i < SIZE; i++)
		data[i] = (unsigned char)rng();
	size_t off = 0, chunk = 1;
	while (off < SIZE) {
		size_t n = chunk < SIZE - off ? chunk : SIZE - off;
		ssize_t w = write(fd, data + off, n);
		if (w <= 0) {
			printf("write failed\n");
			return 1;
		}
		off += (size_t)w;
		chunk = chunk * 3 + 7;
	}
	struct stat st;
	fstat(fd, &st);
	printf("size after write: %lld, regular=%d, mode=%o\n", (long long)st.st_size,
	       S_ISREG(st.st_mode), st.st_mode & 0777);

	/* Overwrite a few bytes in the middle with pwrite; read around them. */
	pwrite(fd, "LOOM", 4, 1000);
	char mid[12] = { 0 };
	pread(fd, mid, 8, 998);
	printf("pread: %02x %02x %.4s %02x %02x\n", (unsigned char)mid[0], (unsigned char)mid[1],
	       mid + 2, (unsigned char)mid[6], (unsigned char)mid[7]);
	memcpy(data + 1000, "LOOM", 4);

	off_t pos = lseek(fd, -100, SEEK_END);
	printf("lseek end-100: %lld\n", (long long)pos);
	pos = lseek(fd, 0, SEEK_SET);

	/* Read back with readv into two pieces, then with read. */
	struct iovec iov[2] = { { back, 1000 }, { back + 1000, 3000 } };
	ssize_t r = readv(fd, iov, 2);
	size_t got = r > 0 ? (size_t)r : 0;
	while (got < SIZE) {
		r = read(fd, back + got, SIZE - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	r = read(fd, back, 1);
	printf("read back %zu bytes, match=%d, read at eof=%zd\n", got, memcmp(data, back, SIZE) == 0, r);
	close(fd);

	/* stdio with a tiny buffer: lines and binary data. */
	FILE *f = fopen(path, "w+");
	static char sbuf[37];
	setvbuf(f, sbuf, _IOFBF, sizeof sbuf);
	for (int i = 0; i < 500; i++)
		fprintf(f, "line %d: %x %s\n", i, i * i, i % 2 ? "odd" : "even");
	fflush(f);
	rewind(f);
	char line[128];
	int lines = 0;
	uint64_t h = MIX_INIT;
	while (fgets(line, sizeof line, f)) {
		lines++;
		for (char *p = line; *p; p++)
			h = mix(h, (uint64_t)*p);
	}
	printf("stdio: %d lines, ftell=%ld, hash=%016llx\n", lines, ftell(f), (unsigned long long)h);
	fclose(f);

	/* Rename, then the old name is gone; unlink, then the new one is too. */
	snprintf(path2, sizeof path2, "%s.renamed", path);
	printf("rename: %d\n", rename(path, path2));
	int rc = access(path, F_OK);
	printf("old access: %d errno=%s\n", rc, errno == ENOENT ? "ENOENT" : "other");
	printf("new access: %d\n", access(path2, R_OK | W_OK));
	printf("unlink: %d\n", unlink(path2));
	errno = 0;
	rc = open(path2, O_RDONLY);
	printf("after unlink: open=%d errno=%s\n", rc, errno == ENOENT ? "ENOENT" : "other");

	/* A directory with a few files, listed in sorted order. */
	char dir[512];
	snprintf(dir, sizeof dir, "%s/loom-dir-XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		printf("mkdtemp failed\n");
		return 1;
	}
	const char *names[] = { "zeta", "alpha", "mid.txt", "Bee", "0num" };
	for (int i = 0; i < 5; i++) {
		char p[600];
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		int nfd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0640);
		dprintf(nfd, "%s\n", names[i]);
		close(nfd);
	}
	DIR *d = opendir(dir);
	char *found[16];
	int nf = 0;
	struct dirent *de;
	while ((de = readdir(d)) && nf < 16)
		if (de->d_name[0] != '.')
			found[nf++] = strdup(de->d_name);
	closedir(d);
	qsort(found, nf, sizeof found[0], cmp_str);
	printf("dir:");
	for (int i = 0; i < nf; i++) {
		char p[600];
		struct stat fs;
		snprintf(p, sizeof p, "%s/%s", dir, found[i]);
		stat(p, &fs);
		printf(" %s(%lld,%o)", found[i], (long long)fs.st_size, fs.st_mode & 0777);
		unlink(p);
		free(found[i]);
	}
	printf("\nrmdir: %d\n", rmdir(dir));
	return 0;
}
