/*
 * Introspection against a live guest: Debian's kernel boots under
 * qemu-system-x86_64 (TCG, KASLR and page-table isolation on, as loom-system
 * will boot it) with an initramfs that starts a few processes and prints on
 * the serial console what the guest itself says about them — /proc/kallsyms
 * (gzip | base64), `ps -o pid,ppid,comm`, each /proc/PID/exe and maps, and
 * /proc/modules after loading two modules from the kernel's package — and
 * then idles.  The test stops the machine
 * through qemu's monitor, reads CR3 and the GS base (`info registers`) and
 * saves guest RAM (`pmemsave`).  Then, with loom's own reader of the kernel
 * image:
 *   - every /proc/kallsyms line has loom's name and type at the same index,
 *     per-cpu symbols the same offset, the rest loom's address plus one
 *     KASLR slide;
 *   - the process walk over the saved RAM (through a 4-level page walk from
 *     CR3, written here) lists the processes ps listed with the same pid,
 *     ppid and name, each executable path equals /proc/PID/exe (one of them
 *     on a tmpfs mounted at /mnt), every /proc/PID/maps line equals a VMA
 *     of the maple-tree walk (range, permissions, offset, path), kernel
 *     threads are exactly those without one, each /proc/modules line has
 *     the walk's module name, size and address, and the GS base leads to a
 *     task on the list.
 *
 * The boot takes 20-60 s, so the capture (console, registers, gzipped RAM)
 * is cached in build/guest/osi-capture/, tagged with the kernel's size and
 * mtime, and reused while the kernel stays the same.  SKIPped visibly
 * without the kernel, qemu-system-x86_64 or busybox-static.
 */
#include "unit.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "osi_kernel.h"
#include "system/osi/btf.h"
#include "system/osi/kallsyms.h"
#include "system/osi/walk.h"

#define GUEST_RAM (128u << 20)	/* -m 128: enough for the kernel and busybox */

static char capdir[1100], kernel[1024];

static void cap_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", capdir, name);
}

static void kernel_tag(char *tag, size_t n)
{
	struct stat st;
	if (stat(kernel, &st) == 0)
		snprintf(tag, n, "%s %lld %lld\n", kernel, (long long)st.st_size,
			 (long long)st.st_mtime);
	else
		snprintf(tag, n, "?\n");
}

static bool read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (!buf)
		return false;
	buf[n] = 0;
	*out = buf;
	if (len)
		*len = n;
	return true;
}

static bool cached(void)
{
	char p[1200], tag[1200], *have = NULL;
	cap_path(p, sizeof p, "tag");
	kernel_tag(tag, sizeof tag);
	bool ok = read_file(p, &have, NULL) && !strcmp(have, tag);
	free(have);
	return ok;
}

/* --- the capture ---------------------------------------------------------- */

static const char guest_init[] =
	"#!/bin/busybox sh\n"
	"/bin/busybox --install -s /bin\n"
	"mount -t proc proc /proc\n"
	/* the shell gives background jobs /dev/null as stdin */
	"mkdir -p /dev && mount -t devtmpfs devtmpfs /dev\n"
	"mkdir -p /www && echo hello >/www/index.html\n"
	"httpd -p 8080 -h /www\n"
	"sleep 100000 &\n"
	"(cd /tmp && exec sleep 100001) &\n"
	/* an executable on another mount: its path crosses a mount point */
	"mkdir -p /mnt && mount -t tmpfs tmpfs /mnt && mkdir /mnt/sub && cp /bin/busybox /mnt/sub/sleep\n"
	"/mnt/sub/sleep 100003 &\n"
	"sleep 1\n"
	"echo osi-kallsyms-begin; gzip -c /proc/kallsyms | base64; echo osi-kallsyms-end\n"
	/* two small modules from the kernel's package, when the test found it */
	"for m in /crc7.ko /crc-itu-t.ko; do [ -f $m ] && insmod $m; done\n"
	"echo osi-modules-begin; cat /proc/modules; echo osi-modules-end\n"
	"echo osi-ps-begin; ps -o pid,ppid,comm; echo osi-ps-end\n"
	"echo osi-exe-begin\n"
	"for p in /proc/[0-9]*; do echo \"${p#/proc/} $(readlink $p/exe)\"; done\n"
	"echo osi-exe-end\n"
	"for p in /proc/[0-9]*; do [ -n \"$(readlink $p/exe)\" ] &&"
	" echo \"osi-maps ${p#/proc/}\" && cat $p/maps; done\n"
	"echo osi-maps-end\n"
	"echo osi-ready\n"
	"while true; do sleep 100002; done\n";

/* Send one monitor command and collect what comes back for a while. */
static void monitor(int fd, const char *cmd, double secs, char *out, size_t n)
{
	if (cmd && write(fd, cmd, strlen(cmd)) < 0)
		return;
	size_t have = out ? strlen(out) : 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		char buf[4096];
		ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (r > 0 && out && have + (size_t)r < n) {
			memcpy(out + have, buf, (size_t)r);
			have += (size_t)r;
			out[have] = 0;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 > secs)
			break;
		if (r <= 0)
			nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	}
}

static bool capture(void)
{
	char cmd[8192], sock[1200], serial[1200], regs_path[1200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/initrd/bin' '%s/initrd/proc' "
		 "'%s/initrd/tmp' && cp /bin/busybox '%s/initrd/bin/'", capdir, capdir, capdir,
		 capdir, capdir);
	if (system(cmd) != 0)
		return false;
	/* The package scripts/guest-kernel.sh downloaded sits in deb/ beside
	 * the kernel; without it the guest loads no modules. */
	snprintf(cmd, sizeof cmd, "deb=$(ls '%s'/../deb/linux-image-*.deb 2>/dev/null | tail -n 1);"
		 " [ -z \"$deb\" ] || dpkg-deb --fsys-tarfile \"$deb\" | tar -x -O --wildcards"
		 " '*/kernel/lib/crc7.ko' >'%s/initrd/crc7.ko' && dpkg-deb --fsys-tarfile \"$deb\" |"
		 " tar -x -O --wildcards '*/kernel/lib/crc-itu-t.ko' >'%s/initrd/crc-itu-t.ko'",
		 capdir, capdir, capdir);
	if (system(cmd) != 0)
		fprintf(stderr, "guest capture: no modules from the kernel's package\n");
	char p[1200];
	cap_path(p, sizeof p, "initrd/init");
	FILE *f = fopen(p, "w");
	if (!f)
		return false;
	fputs(guest_init, f);
	fclose(f);
	chmod(p, 0755);
	cap_path(sock, sizeof sock, "monitor.sock");
	cap_path(serial, sizeof serial, "serial.txt");
	snprintf(cmd, sizeof cmd,
		 "cd '%s/initrd' && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip >../initrd.gz"
		 " && cd .. && (timeout -k 5 300 qemu-system-x86_64 -M pc -m %u -display none"
		 " -no-reboot -serial file:serial.txt -monitor unix:monitor.sock,server,nowait"
		 " -kernel '%s' -initrd initrd.gz -append 'console=ttyS0 quiet panic=-1'"
		 " </dev/null >qemu.log 2>&1 &)", capdir, GUEST_RAM >> 20, kernel);
	if (system(cmd) != 0)
		return false;
	/* Wait for the guest to say it is ready (a loaded machine: minutes). */
	bool ready = false;
	for (int i = 0; i < 2400 && !ready; i++) {
		char *s = NULL;
		if (read_file(serial, &s, NULL))
			ready = strstr(s, "osi-ready") != NULL;
		free(s);
		if (!ready)
			nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	bool connected = false;
	if (strlen(sock) < sizeof a.sun_path) {
		memcpy(a.sun_path, sock, strlen(sock) + 1);
		connected = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	}
	if (!connected || !ready) {
		fprintf(stderr, "guest capture: %s\n", ready ? "no monitor" : "the guest never got ready");
		if (connected)
			monitor(fd, "quit\n", 0.5, NULL, 0);
		if (fd >= 0)
			close(fd);
		return false;
	}
	static char regs[65536];
	regs[0] = 0;
	monitor(fd, NULL, 0.3, NULL, 0);
	monitor(fd, "stop\n", 0.5, NULL, 0);
	monitor(fd, "info registers\n", 1.0, regs, sizeof regs);
	char mem[1200];
	cap_path(mem, sizeof mem, "mem");
	snprintf(cmd, sizeof cmd, "pmemsave 0 %#x \"%s\"\n", GUEST_RAM, mem);
	monitor(fd, cmd, 0.2, NULL, 0);
	/* pmemsave returns when written; wait for the whole file */
	for (int i = 0; i < 600; i++) {
		struct stat st;
		if (stat(mem, &st) == 0 && st.st_size == GUEST_RAM)
			break;
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	monitor(fd, "quit\n", 0.5, NULL, 0);
	close(fd);
	cap_path(regs_path, sizeof regs_path, "regs.txt");
	f = fopen(regs_path, "w");
	if (!f)
		return false;
	fputs(regs, f);
	fclose(f);
	char tag[1200];
	kernel_tag(tag, sizeof tag);
	snprintf(cmd, sizeof cmd, "cd '%s' && gzip -1 -f mem && rm -rf initrd initrd.gz monitor.sock"
		 " && printf '%%s' '%.*s' >tag", capdir, (int)strlen(tag), tag);
	return system(cmd) == 0;
}

/* --- reading the capture ---------------------------------------------------- */

static uint8_t *ram;
static uint64_t kernel_pgd;

/* A 4-level page walk (Intel SDM vol. 3, 4.5): 1 GiB and 2 MiB pages where
 * PS is set in a PDPTE or PDE.  -1 when not present or outside RAM. */
static int translate(uint64_t va, uint64_t *pa)
{
	const uint64_t addr_mask = 0x000ffffffffff000ull;
	uint64_t table = kernel_pgd;
	for (int level = 3; level >= 0; level--) {
		uint64_t e, at = table + 8 * ((va >> (12 + 9 * level)) & 511);
		if (at + 8 > GUEST_RAM)
			return -1;
		memcpy(&e, ram + at, 8);
		if (!(e & 1))
			return -1;
		if ((level == 1 || level == 2) && (e & 0x80)) {
			uint64_t size = 1ull << (12 + 9 * level);
			*pa = (e & addr_mask & ~(size - 1)) | (va & (size - 1));
			return 0;
		}
		table = e & addr_mask;
	}
	*pa = table | (va & 0xfff);
	return 0;
}

static int read_guest(void *ctx, uint64_t va, void *buf, size_t len)
{
	uint8_t *b = buf;
	while (len) {
		size_t chunk = 4096 - (va & 0xfff);
		if (chunk > len)
			chunk = len;
		uint64_t pa;
		if (translate(va, &pa) < 0 || pa + chunk > GUEST_RAM)
			return -1;
		memcpy(b, ram + pa, chunk);
		va += chunk, b += chunk, len -= chunk;
	}
	return 0;
}

/* The text between "BEGIN\n" and "\nEND" in the console output. */
static char *section(char *serial, const char *begin, const char *end)
{
	char *s = strstr(serial, begin), *e;
	if (!s || !(e = strstr(s, end)))
		return NULL;
	s = strchr(s, '\n');
	if (!s || s >= e)
		return NULL;
	*e = 0;
	return s + 1;
}

/* --- the checks ------------------------------------------------------------ */

static void check_kallsyms(const struct osi_kallsyms *ks, uint64_t *slide)
{
	char cmd[1400], p[1200];
	cap_path(p, sizeof p, "serial.txt");
	snprintf(cmd, sizeof cmd, "sed -n '/osi-kallsyms-begin/,/osi-kallsyms-end/p' '%s' |"
		 " sed '1d;$d' | tr -d '\\r' | base64 -d | gunzip", p);
	FILE *f = popen(cmd, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	char line[700];
	uint32_t n = 0, named = 0, percpu_same = 0, slid = 0, other = 0;
	bool have_slide = false;
	while (fgets(line, sizeof line, f)) {
		unsigned long long addr;
		char type, name[600];
		if (sscanf(line, "%llx %c %599s", &addr, &type, name) != 3)
			continue;
		if (n < ks->count) {
			const struct osi_ksym *s = &ks->syms[n];
			if (!strcmp(s->name, name) && s->type == type)
				named++;
			else if (named + 5 > n)
				fprintf(stderr, "line %u: guest %c %s, loom %c %s\n", n, type, name,
					s->type, s->name);
			if (!have_slide && !s->percpu) {
				*slide = addr - s->addr;	/* the first moved symbol sets it */
				have_slide = true;
			}
			if (s->percpu && addr == s->addr)
				percpu_same++;
			else if (!s->percpu && have_slide && addr == s->addr + *slide)
				slid++;
			else if (other++ < 5)
				fprintf(stderr, "%s: guest %llx, loom %llx + slide %llx\n", name, addr,
					(unsigned long long)s->addr, (unsigned long long)*slide);
		}
		n++;
	}
	pclose(f);
	printf("guest /proc/kallsyms: %u lines; %u names and types equal, %u per-cpu offsets "
	       "equal, %u addresses at loom's + slide 0x%llx, %u other\n", n, named, percpu_same,
	       slid, (unsigned long long)*slide, other);
	CHECK_EQ(n, ks->count);
	CHECK_EQ(named, ks->count);
	CHECK(have_slide);
	CHECK_EQ(*slide % 0x200000, 0);		/* the kernel moves in 2 MiB steps */
	CHECK(percpu_same > 100);
	CHECK_EQ(percpu_same + slid, ks->count);
	CHECK_EQ(other, 0);
}

#define MAXP 512
struct plist {
	struct osi_proc p[MAXP];
	int n;
};

static int collect(void *arg, const struct osi_proc *p)
{
	struct plist *l = arg;
	if (l->n < MAXP)
		l->p[l->n++] = *p;
	return 0;
}

struct mlist {
	struct osi_module m[16];
	int n;
};

static int collect_mod(void *arg, const struct osi_module *m)
{
	struct mlist *l = arg;
	if (l->n < 16)
		l->m[l->n] = *m;
	l->n++;
	return 0;
}

/* /proc/modules ("NAME SIZE REFS DEPS STATE ADDRESS", newest first, as the
 * list runs) against the module walk: name, core size and address. */
static void check_modules(const struct osi_linux *os, char *text)
{
	struct mlist walk = { .n = 0 };
	char err[200] = "";
	int r = osi_linux_modules(os, collect_mod, &walk, err, sizeof err);
	if (r)
		fprintf(stderr, "module walk: %s\n", err);
	CHECK_EQ(r, 0);
	int lines = 0, same = 0;
	char *save = NULL;
	for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char name[80];
		unsigned long long size, addr;
		if (sscanf(line, "%79s %llu %*s %*s %*s %llx", name, &size, &addr) != 3)
			continue;
		if (lines < walk.n && !strcmp(walk.m[lines].name, name) &&
		    walk.m[lines].size == size && walk.m[lines].base == addr)
			same++;
		else if (lines < walk.n)
			fprintf(stderr, "module %d: /proc/modules %s %llu %llx, walk %s %llu %llx\n",
				lines, name, size, addr, walk.m[lines].name,
				(unsigned long long)walk.m[lines].size,
				(unsigned long long)walk.m[lines].base);
		lines++;
	}
	printf("guest modules: %d of %d /proc/modules lines equal the walk's name, size and "
	       "address\n", same, lines);
	CHECK_EQ(walk.n, lines);
	CHECK_EQ(same, lines);
	if (lines == 0)
		SKIP("module walk against /proc/modules: the guest loaded none (no kernel package "
		     "in deb/ beside the kernel)");
}

/* ps's COMMAND for a kernel worker adds "-" and its workqueue to the comm
 * (the kernel's proc_task_name does), and ps cuts it at 15 characters. */
static bool same_name(const char *walk, const char *ps)
{
	size_t n = strlen(walk);
	if (!strncmp(walk, ps, 15) && (strlen(ps) == n || (n >= 15 && strlen(ps) == 15)))
		return true;
	return !strncmp(walk, "kworker", 7) && !strncmp(ps, walk, n) && ps[n] == '-';
}

struct vlist {
	struct osi_vma v[256];
	int n;
};

static int collect_vma(void *arg, const struct osi_vma *v)
{
	struct vlist *l = arg;
	if (l->n < 256)
		l->v[l->n] = *v;
	l->n++;
	return 0;
}

/* /proc/PID/maps of each user process against the VMA walk: range,
 * permissions, offset and path of every line.  [vsyscall] is no VMA (the
 * kernel adds it to the listing) and is left out. */
static void check_maps(const struct osi_linux *os, const struct plist *walk, char *maps)
{
	int procs = 0, procs_same = 0, lines = 0, lines_same = 0, files = 0;
	char *save = NULL;
	struct vlist *vl = malloc(sizeof *vl);
	int pid = -1, k = 0, walked = -1;
	bool ok = true;
	char err[200] = "";
	/* one pass over the lines; a "osi-maps PID" line starts a process */
	for (char *line = strtok_r(maps, "\r\n", &save);; line = strtok_r(NULL, "\r\n", &save)) {
		if (!line || !strncmp(line, "osi-maps ", 9)) {
			if (pid >= 0 && walked >= 0) {	/* finish the previous one */
				procs++;
				if (ok && k == walked)
					procs_same++;
				else
					fprintf(stderr, "pid %d: maps has %d VMAs, the walk %d\n", pid, k,
						walked);
			}
			if (!line)
				break;
			pid = atoi(line + 9), k = 0, ok = true, walked = -1;
			for (int i = 0; i < walk->n; i++)
				if (walk->p[i].pid == pid && walk->p[i].mm) {
					vl->n = 0;
					int r = osi_linux_vmas(os, walk->p[i].mm, collect_vma, vl, err,
							       sizeof err);
					if (r)
						fprintf(stderr, "pid %d: %s\n", pid, err);
					CHECK_EQ(r, 0);
					walked = vl->n;
				}
			continue;
		}
		unsigned long long start, end, off;
		char perms[8], path[512] = "";
		if (walked < 0 || sscanf(line, "%llx-%llx %7s %llx %*s %*s %511s", &start, &end, perms,
					 &off, path) < 4 || !strcmp(path, "[vsyscall]"))
			continue;
		lines++;
		if (k >= vl->n || k >= 256) {
			ok = false;
			k++;
			continue;
		}
		const struct osi_vma *v = &vl->v[k++];
		char mine_perms[5] = { v->flags & 1 ? 'r' : '-', v->flags & 2 ? 'w' : '-',
				       v->flags & 4 ? 'x' : '-', v->flags & 8 ? 's' : 'p', 0 };
		char mine[512] = "";
		if (v->file && osi_linux_file_path(os, v->file, mine, sizeof mine) < 0)
			snprintf(mine, sizeof mine, "(unreadable)");
		bool anon_special = path[0] == '[';
		bool same = v->start == start && v->end == end && !strcmp(mine_perms, perms) &&
			    (v->file ? v->pgoff << 12 : 0) == off &&
			    (anon_special ? !v->file : !strcmp(mine, path));
		files += v->file != 0;
		if (same) {
			lines_same++;
		} else {
			ok = false;
			fprintf(stderr, "pid %d: maps %llx-%llx %s %llx %s; walk %llx-%llx %s %llx %s\n",
				pid, start, end, perms, off, path, (unsigned long long)v->start,
				(unsigned long long)v->end, mine_perms,
				(unsigned long long)(v->file ? v->pgoff << 12 : 0), mine);
		}
	}
	printf("guest mappings: %d of %d processes' /proc/PID/maps equal the VMA walk, %d of %d "
	       "lines (%d file-backed)\n", procs_same, procs, lines_same, lines, files);
	CHECK(procs >= 5);
	CHECK_EQ(procs_same, procs);
	CHECK_EQ(lines_same, lines);
	CHECK(files >= 5);
	free(vl);
}

static void check_walk(const struct osi_linux_layout *l, uint64_t slide)
{
	char p[1200], *serial = NULL, *regs = NULL;
	cap_path(p, sizeof p, "serial.txt");
	CHECK(read_file(p, &serial, NULL));
	cap_path(p, sizeof p, "regs.txt");
	CHECK(read_file(p, &regs, NULL));
	char cmd[1300];
	cap_path(p, sizeof p, "mem.gz");
	snprintf(cmd, sizeof cmd, "gzip -dc '%s'", p);
	FILE *f = popen(cmd, "r");
	ram = malloc(GUEST_RAM);
	size_t got = f && ram ? fread(ram, 1, GUEST_RAM, f) : 0;
	if (f)
		pclose(f);
	CHECK_EQ(got, GUEST_RAM);
	const char *cr3s = regs ? strstr(regs, "CR3=") : NULL;
	const char *gss = regs ? strstr(regs, "GS =") : NULL;
	const char *cpls = regs ? strstr(regs, "CPL=") : NULL;
	CHECK(cr3s && gss && cpls);
	if (!serial || !regs || got != GUEST_RAM || !cr3s || !gss || !cpls)
		goto out;
	/* With page-table isolation a user CR3 is the kernel's PGD with bit
	 * 12 set (and a PCID in bits 0-11): the walk wants the kernel's. */
	kernel_pgd = strtoull(cr3s + 4, NULL, 16) & 0x000fffffffffe000ull;
	unsigned long long gs_base = 0;
	sscanf(gss + 4, "%*x %llx", &gs_base);
	int cpl = atoi(cpls + 4);
	char *modules = section(serial, "osi-modules-begin", "osi-modules-end");
	CHECK(modules != NULL);
	if (!modules)
		goto out;

	struct osi_linux os = { l, slide, { read_guest, NULL } };
	static struct plist walk;
	walk.n = 0;
	char err[200] = "";
	int r = osi_linux_procs(&os, collect, &walk, err, sizeof err);
	if (r)
		fprintf(stderr, "process walk: %s\n", err);
	CHECK_EQ(r, 0);
	CHECK(walk.n > 10);

	/* ps: every process it listed (but ps itself, gone since) is on the
	 * walk with the same ppid and name. */
	/* the console's sections in their order: modules, ps, exe, maps
	 * (section() ends each in place, so each search starts past it) */
	char *ps = section(modules + strlen(modules) + 1, "osi-ps-begin", "osi-ps-end");
	char *exe = ps ? section(ps + strlen(ps) + 1, "osi-exe-begin", "osi-exe-end") : NULL;
	char *maps = exe ? strstr(exe + strlen(exe) + 1, "osi-maps ") : NULL;
	char *maps_end = maps ? strstr(maps, "osi-maps-end") : NULL;
	CHECK(ps && exe && maps && maps_end);
	if (!ps || !exe || !maps || !maps_end)
		goto out;
	*maps_end = 0;
	int listed = 0, found = 0, max_pid = 0;
	for (char *line = strtok(ps, "\r\n"); line; line = strtok(NULL, "\r\n")) {
		int pid, ppid;
		char comm[64];
		if (sscanf(line, "%d %d %63s", &pid, &ppid, comm) != 3)
			continue;
		max_pid = pid > max_pid ? pid : max_pid;
		if (!strcmp(comm, "ps"))
			continue;
		listed++;
		int i;
		for (i = 0; i < walk.n && walk.p[i].pid != pid; i++)
			;
		if (i == walk.n) {
			fprintf(stderr, "ps lists %d %s, the walk does not\n", pid, comm);
			continue;
		}
		if (walk.p[i].ppid == ppid && same_name(walk.p[i].comm, comm))
			found++;
		else
			fprintf(stderr, "pid %d: ps %d %s, walk %d %s\n", pid, ppid, comm,
				walk.p[i].ppid, walk.p[i].comm);
	}
	/* What the walk has beyond ps started after it: pid 0 and a few
	 * later processes (the idle loop's sleep, new kernel workers). */
	int later = 0;
	for (int i = 0; i < walk.n; i++)
		later += walk.p[i].pid > max_pid;
	printf("guest processes: ps listed %d, the walk found %d of them with the same ppid and "
	       "name, and %d started after ps\n", listed, found, later);
	CHECK(listed > 10);
	CHECK_EQ(found, listed);
	CHECK_EQ(walk.n, listed + 1 + later);	/* + swapper, which ps does not list */
	CHECK(later <= 8);
	CHECK(walk.p[0].pid == 0 && walk.p[0].kthread);

	/* /proc/PID/exe: the same path; empty exactly for kernel threads */
	int exes = 0, exe_same = 0, user = 0, other_mount = 0;
	for (char *line = strtok(exe, "\r\n"); line; line = strtok(NULL, "\r\n")) {
		int pid;
		char path[512] = "";
		if (sscanf(line, "%d %511s", &pid, path) < 1)
			continue;
		int i;
		for (i = 0; i < walk.n && walk.p[i].pid != pid; i++)
			;
		if (i == walk.n)
			continue;	/* a shell of the loop, gone */
		exes++;
		char mine[512] = "";
		if (walk.p[i].mm)
			CHECK_EQ(osi_linux_exe_path(&os, walk.p[i].mm, mine, sizeof mine), 0);
		user += *path != 0;
		if (!strcmp(mine, path) && walk.p[i].kthread == (*path == 0)) {
			exe_same++;
			other_mount += !strcmp(path, "/mnt/sub/sleep");
		}
		else
			fprintf(stderr, "pid %d: exe '%s', the walk '%s'%s\n", pid, path, mine,
				walk.p[i].kthread ? " (kernel thread)" : "");
	}
	printf("guest executables: %d of %d /proc/PID/exe equal the walk's (%d user processes)\n",
	       exe_same, exes, user);
	CHECK(user >= 5);		/* init, httpd, three sleeps */
	CHECK_EQ(exe_same, exes);
	CHECK_EQ(other_mount, 1);	/* /mnt/sub/sleep, through the tmpfs mount */

	check_maps(&os, &walk, maps);

	check_modules(&os, modules);

	if (cpl != 0) {
		SKIP("current task from the GS base: the CPU stopped in user mode");
	} else {
		uint64_t cur = 0;
		CHECK_EQ(osi_linux_current(&os, gs_base, &cur), 0);
		struct osi_proc cp;
		CHECK_EQ(osi_linux_proc(&os, cur, &cp), 0);
		bool on_list = false;
		for (int i = 0; i < walk.n; i++)
			on_list |= walk.p[i].tgid == cp.tgid;
		printf("guest CPU 0 runs pid %d (%s)\n", cp.pid, cp.comm);
		CHECK(on_list);
	}
out:
	free(ram);
	ram = NULL;
	free(serial);
	free(regs);
}

static void test_guest(void)
{
	struct osi_vmlinux vm;
	if (!osi_test_open_kernel(&vm, "introspection of a live guest"))
		return;
	char *abs = realpath(osi_test_kernel_path(), NULL);
	CHECK(abs != NULL);
	snprintf(kernel, sizeof kernel, "%s", abs ? abs : osi_test_kernel_path());
	free(abs);
	char dir[1024];
	snprintf(dir, sizeof dir, "%s", kernel);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	snprintf(capdir, sizeof capdir, "%s/osi-capture", slash ? dir : ".");
	if (!cached()) {
		if (!osi_test_have("qemu-system-x86_64") || access("/bin/busybox", X_OK) != 0) {
			SKIP("introspection of a live guest: needs qemu-system-x86_64 and busybox-static");
			osi_vmlinux_close(&vm);
			return;
		}
		printf("booting the kernel under qemu-system-x86_64 to capture a live guest...\n");
		fflush(stdout);
		CHECK(capture());
		CHECK(cached());
	}
	struct osi_kallsyms ks;
	struct osi_btf btf;
	struct osi_linux_layout l;
	char err[200];
	const struct osi_section *s = osi_vmlinux_section(&vm, ".BTF");
	if (osi_kallsyms_load(&ks, &vm, err, sizeof err) < 0) {
		CHECK(0);
		osi_vmlinux_close(&vm);
		return;
	}
	uint64_t slide = 0;
	check_kallsyms(&ks, &slide);
	bool ok = s && osi_btf_load(&btf, osi_section_data(&vm, s), s->size, err, sizeof err) == 0;
	CHECK(ok);
	if (ok) {
		CHECK_EQ(osi_linux_layout_fill(&l, &btf, &ks, err, sizeof err), 0);
		check_walk(&l, slide);
		osi_btf_free(&btf);
	}
	osi_kallsyms_free(&ks);
	osi_vmlinux_close(&vm);
}

void unit_main(void)
{
	test_guest();
}
