/*
 * The kallsyms decoder against the guest kernel's own: Debian's kernel boots
 * under qemu-system-x86_64 (TCG, KASLR on, as loom-system will boot it) with
 * a two-line initramfs that prints /proc/kallsyms (gzip | base64 on the
 * serial console) and powers off.  Every line must name the symbol and type
 * loom decoded from the image at the same index, per-cpu symbols at the
 * same offset, and every other symbol at loom's link-time address plus one
 * slide — the KASLR model introspection relies on.
 *
 * The boot takes 20-60 s, so its capture is cached beside the kernel
 * (build/guest/proc-kallsyms.txt, tagged with the kernel's size and mtime)
 * and reused while the kernel is the same.  SKIPped visibly without the
 * kernel, qemu-system-x86_64 or a static busybox.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "osi_kernel.h"
#include "system/osi/kallsyms.h"

static char cache[1100];

/* The tag of the cached capture for this kernel. */
static void kernel_tag(const char *kernel, char *tag, size_t n)
{
	struct stat st;
	if (stat(kernel, &st) == 0)
		snprintf(tag, n, "# %s %lld %lld\n", kernel, (long long)st.st_size,
			 (long long)st.st_mtime);
	else
		snprintf(tag, n, "# ?\n");
}

static bool cached(const char *tag)
{
	FILE *f = fopen(cache, "r");
	char line[1200] = "";
	bool ok = f && fgets(line, sizeof line, f) && !strcmp(line, tag);
	if (f)
		fclose(f);
	return ok;
}

/* Boot the kernel under qemu and capture /proc/kallsyms into the cache.
 * false with a reason printed when it does not work out. */
static bool capture(const char *kernel, const char *tag)
{
	char dir[] = "/tmp/loom-osi-initrd-XXXXXX";
	if (!mkdtemp(dir))
		return false;
	char cmd[8192];
	snprintf(cmd, sizeof cmd,
		 "set -e; cd %s; mkdir -p bin proc; cp /bin/busybox bin/;"
		 "printf '%%s\\n' '#!/bin/busybox sh' '/bin/busybox mount -t proc proc /proc'"
		 " 'echo osi-kallsyms-begin' '/bin/busybox gzip -c /proc/kallsyms | /bin/busybox base64'"
		 " 'echo osi-kallsyms-end' '/bin/busybox poweroff -f' >init; chmod 755 init;"
		 "find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip >../%s.cpio.gz;"
		 "timeout -k 5 240 qemu-system-x86_64 -M pc -m 512 -nographic -no-reboot"
		 " -kernel %s -initrd ../%s.cpio.gz -append 'console=ttyS0 quiet panic=-1'"
		 " </dev/null >serial.out 2>&1 || true;"
		 "{ printf '%%s' '%.*s'; sed -n '/osi-kallsyms-begin/,/osi-kallsyms-end/p' serial.out |"
		 " sed '1d;$d' | tr -d '\\r' | base64 -d | gunzip; } >%s.new;"
		 /* a failed boot leaves no capture behind to be trusted later */
		 "if [ $(wc -l <%s.new) -gt 1000 ]; then mv %s.new %s; else rm -f %s.new; exit 1; fi",
		 dir, dir + 5, kernel, dir + 5, (int)strlen(tag), tag, cache, cache, cache, cache,
		 cache);
	int r = system(cmd);
	snprintf(cmd, sizeof cmd, "rm -rf %s %s.cpio.gz", dir, dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return r == 0;
}

static void test_against_guest(void)
{
	struct osi_vmlinux vm;
	if (!osi_test_open_kernel(&vm, "kallsyms against the guest's /proc/kallsyms"))
		return;
	/* absolute: the capture runs in a directory of its own */
	char kernel[1024];
	char *abs = realpath(osi_test_kernel_path(), NULL);
	CHECK(abs != NULL);
	snprintf(kernel, sizeof kernel, "%s", abs ? abs : osi_test_kernel_path());
	free(abs);
	char dirpart[1024];
	snprintf(dirpart, sizeof dirpart, "%s", kernel);
	char *slash = strrchr(dirpart, '/');
	snprintf(cache, sizeof cache, "%s/proc-kallsyms.txt", slash ? (*slash = 0, dirpart) : ".");
	char tag[1200];
	kernel_tag(kernel, tag, sizeof tag);
	if (!cached(tag)) {
		if (!osi_test_have("qemu-system-x86_64") || access("/bin/busybox", X_OK) != 0) {
			SKIP("kallsyms against the guest's /proc/kallsyms: needs qemu-system-x86_64 "
			     "and busybox-static");
			osi_vmlinux_close(&vm);
			return;
		}
		printf("booting the kernel under qemu-system-x86_64 for its /proc/kallsyms...\n");
		fflush(stdout);
		CHECK(capture(kernel, tag));
		CHECK(cached(tag));
	}
	struct osi_kallsyms ks;
	char err[200];
	int r = osi_kallsyms_load(&ks, &vm, err, sizeof err);
	CHECK_EQ(r, 0);
	FILE *f = fopen(cache, "r");
	CHECK(f != NULL);
	if (r || !f) {
		if (f)
			fclose(f);
		if (!r)
			osi_kallsyms_free(&ks);
		osi_vmlinux_close(&vm);
		return;
	}
	char line[700];
	if (!fgets(line, sizeof line, f))	/* the tag */
		line[0] = 0;
	uint32_t n = 0, named = 0, percpu_same = 0, slid = 0, other = 0;
	uint64_t slide = 0;
	bool have_slide = false;
	while (fgets(line, sizeof line, f)) {
		unsigned long long addr;
		char type, name[600];
		/* a module's symbols would carry "[module]": none are loaded */
		if (sscanf(line, "%llx %c %599s", &addr, &type, name) != 3)
			continue;
		if (n < ks.count) {
			const struct osi_ksym *s = &ks.syms[n];
			if (!strcmp(s->name, name) && s->type == type)
				named++;
			else if (named + 5 > n)
				fprintf(stderr, "line %u: guest %c %s, loom %c %s\n", n, type, name,
					s->type, s->name);
			if (!have_slide && !strcmp(name, "entry_SYSCALL_64")) {
				slide = addr - s->addr;
				have_slide = true;
			}
		}
		n++;
	}
	fclose(f);
	/* Second pass for addresses, now that the slide is known. */
	f = fopen(cache, "r");
	if (f && fgets(line, sizeof line, f)) {
		for (uint32_t i = 0; i < ks.count && fgets(line, sizeof line, f);) {
			unsigned long long addr;
			char type, name[600];
			if (sscanf(line, "%llx %c %599s", &addr, &type, name) != 3)
				continue;
			const struct osi_ksym *s = &ks.syms[i++];
			if (s->percpu && addr == s->addr)
				percpu_same++;
			else if (!s->percpu && addr == s->addr + slide)
				slid++;
			else if (other++ < 5)
				fprintf(stderr, "%s: guest %llx, loom %llx + slide %llx\n", name, addr,
					(unsigned long long)s->addr, (unsigned long long)slide);
		}
	}
	if (f)
		fclose(f);
	printf("guest /proc/kallsyms: %u lines; %u names and types equal, %u per-cpu offsets "
	       "equal, %u addresses at loom's + slide 0x%llx, %u other\n", n, named, percpu_same,
	       slid, (unsigned long long)slide, other);
	CHECK_EQ(n, ks.count);
	CHECK_EQ(named, ks.count);
	CHECK(have_slide);
	CHECK_EQ(slide % 0x200000, 0);	/* the kernel moves in 2 MiB steps */
	CHECK(percpu_same > 100);
	CHECK_EQ(percpu_same + slid, ks.count);
	CHECK_EQ(other, 0);
	osi_kallsyms_free(&ks);
	osi_vmlinux_close(&vm);
}

void unit_main(void)
{
	test_against_guest();
}
