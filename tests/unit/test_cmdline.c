/*
 * loom-system's option values in qemu-system's syntax (src/system/
 * cmdline.c): -m sizes (QEMU's: a bare number is MiB, suffixes B/K/M/G/T,
 * "size=") and chardev specifications (stdio, file:, unix: with QEMU's
 * server/nowait and server=on,wait=off spellings, null, none).  The
 * command-line errors themselves are tests/system/run.sh's.
 */
#include <string.h>

#include "system/cmdline.h"
#include "unit.h"

static uint64_t mem(const char *s)
{
	char err[256];
	uint64_t v = 0;
	if (cmdline_parse_mem_size(s, &v, err, sizeof(err)) < 0)
		return 0;
	return v;
}

static void test_mem(void)
{
	CHECK_EQ(mem("512"), 512ull << 20);
	CHECK_EQ(mem("512M"), 512ull << 20);
	CHECK_EQ(mem("512m"), 512ull << 20);
	CHECK_EQ(mem("1G"), 1ull << 30);
	CHECK_EQ(mem("1.5G"), 3ull << 29);
	CHECK_EQ(mem("65536K"), 64ull << 20);
	CHECK_EQ(mem("size=1G"), 1ull << 30);
	CHECK_EQ(mem("5G"), 5ull << 30);
	CHECK_EQ(mem("1T"), 1ull << 40);
	CHECK_EQ(mem("2M"), 2ull << 20);
	CHECK_EQ(mem("3145729B"), (3ull << 20) + 4096);	/* rounded up to a page */
	CHECK_EQ(mem("1M"), 0);		/* below the 2 MiB minimum */
	CHECK_EQ(mem("2T"), 0);		/* above the maximum */
	CHECK_EQ(mem("0"), 0);
	CHECK_EQ(mem(""), 0);
	CHECK_EQ(mem("M"), 0);
	CHECK_EQ(mem("-1G"), 0);
	CHECK_EQ(mem("12Q"), 0);
	CHECK_EQ(mem("512MB"), 0);
	char err[256] = "";
	uint64_t v;
	CHECK_EQ(cmdline_parse_mem_size("12Q", &v, err, sizeof(err)), -1);
	CHECK(strstr(err, "-m 12Q") == err);
}

static void test_chardev(void)
{
	struct chardev_spec cd;
	char err[256];

	CHECK_EQ(cmdline_parse_chardev("stdio", &cd, err, sizeof(err)), 0);
	CHECK_EQ(cd.kind, CHARDEV_STDIO);
	CHECK_EQ(cmdline_parse_chardev("none", &cd, err, sizeof(err)), 0);
	CHECK_EQ(cd.kind, CHARDEV_NONE);
	CHECK_EQ(cmdline_parse_chardev("null", &cd, err, sizeof(err)), 0);
	CHECK_EQ(cd.kind, CHARDEV_NULL);
	CHECK_EQ(cmdline_parse_chardev("file:/tmp/ttyS0.log", &cd, err, sizeof(err)), 0);
	CHECK_EQ(cd.kind, CHARDEV_FILE);
	CHECK(!strcmp(cd.path, "/tmp/ttyS0.log"));

	/* unix: a client unless "server"; a server waits unless told not to. */
	CHECK_EQ(cmdline_parse_chardev("unix:/tmp/m.sock", &cd, err, sizeof(err)), 0);
	CHECK_EQ(cd.kind, CHARDEV_UNIX);
	CHECK(!strcmp(cd.path, "/tmp/m.sock"));
	CHECK(!cd.server);
	CHECK(!cd.wait);
	CHECK_EQ(cmdline_parse_chardev("unix:/tmp/m.sock,server", &cd, err, sizeof(err)), 0);
	CHECK(cd.server);
	CHECK(cd.wait);
	CHECK_EQ(cmdline_parse_chardev("unix:/tmp/m.sock,server,nowait", &cd, err, sizeof(err)), 0);
	CHECK(cd.server);
	CHECK(!cd.wait);
	CHECK(!strcmp(cd.path, "/tmp/m.sock"));
	CHECK_EQ(cmdline_parse_chardev("unix:/tmp/m.sock,server=on,wait=off", &cd, err,
				       sizeof(err)), 0);
	CHECK(cd.server);
	CHECK(!cd.wait);
	CHECK_EQ(cmdline_parse_chardev("unix:/tmp/m.sock,server=on,wait=on", &cd, err,
				       sizeof(err)), 0);
	CHECK(cd.server);
	CHECK(cd.wait);
	CHECK_EQ(cmdline_parse_chardev("unix:/tmp/m.sock,server=off", &cd, err, sizeof(err)), 0);
	CHECK(!cd.server);

	CHECK_EQ(cmdline_parse_chardev("unix:", &cd, err, sizeof(err)), -1);
	CHECK_EQ(cmdline_parse_chardev("unix:/x,server=yes", &cd, err, sizeof(err)), -1);
	CHECK_EQ(cmdline_parse_chardev("unix:/x,nowait=on", &cd, err, sizeof(err)), -1);
	CHECK_EQ(cmdline_parse_chardev("unix:/x,telnet", &cd, err, sizeof(err)), -1);
	CHECK_EQ(cmdline_parse_chardev("file:", &cd, err, sizeof(err)), -1);
	CHECK_EQ(cmdline_parse_chardev("tcp::4444", &cd, err, sizeof(err)), -1);
	CHECK(strstr(err, "tcp::4444") == err);
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = 0;
	memcpy(longpath, "unix:", 5);
	CHECK_EQ(cmdline_parse_chardev(longpath, &cd, err, sizeof(err)), -1);
}

void unit_main(void)
{
	test_mem();
	test_chardev();
}
