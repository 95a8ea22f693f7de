/*
 * The ELF loader: decide, as the kernel's binfmt_elf does, whether a file
 * can be executed, map its PT_LOAD segments where the kernel would, and fill
 * linux_image.  stack.c then builds the initial stack.
 *
 * Loading is two stages, split where the kernel's execve passes its point of
 * no return (begin_new_exec):
 *
 *  - elf_prepare() makes every check the kernel makes before that point and
 *    answers with the kernel's errno: ENOEXEC for a file that is not an
 *    x86-64 ELF executable (only the magic, e_type, e_machine and the
 *    program header table's entry size and count are looked at: the class,
 *    data and version bytes of e_ident, e_version and the rest are ignored,
 *    as the kernel ignores them), EACCES/ENOENT for the file or its PT_INTERP,
 *    EIO for a PT_INTERP that cannot be read, ELIBBAD for an interpreter that
 *    is not an x86-64 ELF.  A guest's execve returns that errno (process.c);
 *    `loom FILE` prints it on one line and exits with LOOM_EXIT_LOAD.
 *  - elf_map_image() maps the segments.  Whatever fails from here on (a
 *    segment mmap refuses, p_filesz > p_memsz, a segment beyond TASK_SIZE,
 *    an entry point outside user space, a .bss page that cannot be cleared)
 *    kills the process with SIGSEGV, as the kernel does once the old image
 *    is gone; loom says why on one line first.
 *
 * Segments are mapped in program header order with MAP_FIXED, so a later
 * segment that overlaps an earlier one replaces it, as in the kernel.  loom's
 * own memory shares the address space, so before that every page the image
 * will cover is claimed with MAP_FIXED_NOREPLACE (the union of the segments,
 * not the span between them): a clash with loom is reported instead of
 * overwriting it, and the guest never gets pages it did not ask for.
 *
 * Placement: ET_EXEC maps at its own addresses.  An ET_DYN program with an
 * interpreter (a PIE) goes where the kernel puts it, near ELF_ET_DYN_BASE
 * (2/3 of the address space, 0x555555554000 without randomization), or
 * anywhere free if loom already sits there.  A static-PIE and the
 * interpreter itself let mmap choose, as load_elf_binary does for them.
 *
 * AT_PHDR is the address of the program header table as the kernel finds
 * it: the PT_LOAD (the last one, in header order) whose file range holds
 * e_phoff, plus the bias.  PT_PHDR is not consulted (the kernel does not).
 *
 * A dynamic program is the program and the interpreter its first PT_INTERP
 * names (the guest's own ld.so, looked up on the host's file system as the
 * kernel would; the interpreter's own PT_INTERP is ignored).  The guest
 * starts at the interpreter's entry with AT_BASE = its bias and AT_ENTRY =
 * the program's.  A file starting with "#!" is a script: linux_load runs its
 * interpreter with the script's path as an argument, as binfmt_script does.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "linux/linux.h"
#include "linux/syscall.h"
#include "util/log.h"

#define PAGE_SIZE 4096ull
#define PAGE_MASK (PAGE_SIZE - 1)
#define PAGE_DOWN(x) ((x) & ~PAGE_MASK)
#define PAGE_UP(x) (((x) + PAGE_MASK) & ~PAGE_MASK)
#define TASK_SIZE 0x7ffffffff000ull	/* top of x86-64 user space (47 bits) */
#define MAX_PHDR_BYTES 65536		/* the kernel's limit on e_phnum * e_phentsize */
#define BINPRM_BUF 256			/* how much of the file the kernel reads first */
#define MAX_SCRIPT_DEPTH 5		/* #! levels the kernel follows before ELOOP */
/* Where a static-PIE's heap starts: far below the kernel's mmap area, where
 * the image itself lands, and above loom (a PIE near 0x55...). */
#define STATIC_PIE_BRK 0x100000000000ull
/* The kernel's ELF_ET_DYN_BASE on x86-64: where a PIE with an interpreter
 * lands before randomization. */
#define ET_DYN_BASE (PAGE_DOWN(TASK_SIZE / 3 * 2))
/* Unreadable pages kept above an image that mmap placed (elf_map_image). */
#define ELF_GUARD (16ull << 20)

struct linux_options linux_opts;
struct linux_image linux_image;

/* A file that passed elf_prepare: its headers, still open. */
struct elf_file {
	const char *path;
	int fd;
	uint64_t size;
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	char *interp;			/* first PT_INTERP's path, or NULL */
};

/* What elf_map_image learned about one mapped file. */
struct elf_image {
	uint64_t bias;
	uint64_t entry;
	uint64_t phdr, phnum;
	uint64_t lo, hi;		/* mapped span after bias */
	uint64_t start_code, end_code, start_data, end_data;
	bool is_dyn;			/* ET_DYN: placed at a bias we chose */
	bool exec_stack;		/* PT_GNU_STACK asks for PF_X */
};

/* The refusal elf_prepare reports: the kernel's errno and why. */
struct elf_refusal {
	int err;
	char why[320];
};

static int refuse(struct elf_refusal *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct elf_refusal *r, int err, const char *fmt, ...)
{
	va_list ap;
	r->err = err;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return -err;
}

/* After the point of no return: one line, then the death the kernel deals. */
static noreturn void elf_kill(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static noreturn void elf_kill(const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "loom: %s: %s (the kernel kills such a process with SIGSEGV)\n",
		path, msg);
	linux_die_by_signal(SIGSEGV);
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_386: return "i386";
	case EM_ARM: return "ARM";
	case EM_AARCH64: return "AArch64";
	case EM_RISCV: return "RISC-V";
	case EM_PPC64: return "PowerPC64";
	case EM_S390: return "s390";
	case EM_MIPS: return "MIPS";
	}
	return NULL;
}

static const char *type_name(unsigned t)
{
	switch (t) {
	case ET_NONE: return "ET_NONE";
	case ET_REL: return "a relocatable object (ET_REL)";
	case ET_CORE: return "a core dump (ET_CORE)";
	}
	return NULL;
}

/* pread all of len, or -errno, or -EIO if the file is shorter (elf_read). */
static int read_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		got += (size_t)n;
	}
	return 0;
}

/* What open_exec says: ENOENT and friends from the lookup, EACCES for
 * anything but a regular file or without execute permission. */
int elf_open_exec(const char *path, uint64_t *size)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
		return -errno;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == EMFILE) {
		/* The kernel needs no descriptor to exec: a guest that used
		 * all its RLIMIT_NOFILE must not see EMFILE from us. */
		struct rlimit rl, raised;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			raised = rl;
			raised.rlim_cur = rl.rlim_cur + 16 < rl.rlim_max ? rl.rlim_cur + 16 : rl.rlim_max;
			if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
				fd = open(path, O_RDONLY | O_CLOEXEC);
				setrlimit(RLIMIT_NOFILE, &rl);
			}
		}
		if (fd < 0)
			errno = EMFILE;
	}
	if (fd < 0)
		return -errno;
	if (size)
		*size = (uint64_t)st.st_size;
	return fd;
}

/* load_elf_phdrs: the table must have the expected entry size, between 1
 * and 64 KiB of entries, and be readable in full.  NULL if not. */
static Elf64_Phdr *read_phdrs(int fd, const Elf64_Ehdr *eh)
{
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > MAX_PHDR_BYTES)
		return NULL;
	Elf64_Phdr *ph = malloc(eh->e_phnum * sizeof(*ph));
	if (ph && read_all(fd, ph, eh->e_phnum * sizeof(*ph), eh->e_phoff) < 0) {
		free(ph);
		ph = NULL;
	}
	return ph;
}

static void elf_close(struct elf_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->ph);
	free(f->interp);
	f->fd = -1;
	f->ph = NULL;
	f->interp = NULL;
}

/* The header checks of load_elf_binary (is_interp: of the interpreter,
 * whose failures are ELIBBAD and whose PT_INTERP is not read). */
static int elf_check_file(struct elf_file *f, bool is_interp, struct elf_refusal *r)
{
	const Elf64_Ehdr *eh = &f->eh;
	int bad = is_interp ? ELIBBAD : ENOEXEC;
	const char *what = is_interp ? "interpreter" : "file";

	if (f->size < SELFMAG || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return refuse(r, bad, "the %s is not an ELF file (%s)", what,
			      f->size ? "no \\177ELF magic" : "it is empty");
	if (!is_interp && eh->e_type != ET_EXEC && eh->e_type != ET_DYN) {
		const char *t = type_name(eh->e_type);
		if (t)
			return refuse(r, bad, "not an executable: %s", t);
		return refuse(r, bad, "not an executable (e_type %u)", eh->e_type);
	}
	if (eh->e_machine != EM_X86_64) {
		const char *m = machine_name(eh->e_machine);
		if (m)
			return refuse(r, bad, "the %s is not an x86-64 program (machine %s)",
				      what, m);
		return refuse(r, bad, "the %s is not an x86-64 program (e_machine %u)", what,
			      eh->e_machine);
	}
	f->ph = read_phdrs(f->fd, eh);
	if (!f->ph)
		return refuse(r, bad, "the %s has malformed program headers (e_phentsize %u, "
			      "e_phnum %u, e_phoff %#llx, file size %llu)", what, eh->e_phentsize,
			      eh->e_phnum, (unsigned long long)eh->e_phoff,
			      (unsigned long long)f->size);
	if (is_interp)
		return 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &f->ph[i];
		if (p->p_type != PT_INTERP)
			continue;
		if (p->p_filesz < 2 || p->p_filesz > PATH_MAX)
			return refuse(r, ENOEXEC, "malformed PT_INTERP (%llu bytes)",
				      (unsigned long long)p->p_filesz);
		char *s = malloc(p->p_filesz);
		if (!s)
			return refuse(r, ENOMEM, "out of memory");
		int err = read_all(f->fd, s, p->p_filesz, p->p_offset);
		if (err < 0) {
			free(s);
			return refuse(r, -err, "cannot read PT_INTERP");
		}
		if (s[p->p_filesz - 1] != 0) {
			free(s);
			return refuse(r, ENOEXEC, "malformed PT_INTERP (not NUL-terminated)");
		}
		f->interp = s;
		break;		/* only the first counts */
	}
	return 0;
}

/* Open path and make the kernel's checks before its point of no return.
 * 0, or -errno with r filled. */
static int elf_prepare(const char *path, struct elf_file *f, bool is_interp,
		       struct elf_refusal *r)
{
	memset(f, 0, sizeof(*f));
	f->path = path;
	f->fd = elf_open_exec(path, &f->size);
	if (f->fd < 0) {
		int err = -f->fd;
		struct stat st;
		f->fd = -1;
		const char *what = is_interp ? "the interpreter" : "it";
		if (err == EACCES && stat(path, &st) == 0 && !S_ISREG(st.st_mode))
			return refuse(r, err, "%s is %s, not a regular file", what,
				      S_ISDIR(st.st_mode) ? "a directory" : "special");
		if (err == EACCES)
			return refuse(r, err, "%s is not executable", what);
		return refuse(r, err, "cannot open %s", what);
	}
	/* The kernel looks at the first bytes with zeroes past the end. */
	unsigned char buf[BINPRM_BUF];
	memset(buf, 0, sizeof(buf));
	ssize_t n = pread(f->fd, buf, is_interp ? sizeof(f->eh) : sizeof(buf), 0);
	if (n < 0)
		return refuse(r, errno, "cannot read it");
	if (is_interp && (size_t)n < sizeof(f->eh))
		return refuse(r, EIO, "the interpreter is shorter than an ELF header");
	memcpy(&f->eh, buf, sizeof(f->eh));
	return elf_check_file(f, is_interp, r);
}

static int elf_prot(uint32_t pf)
{
	/* Executable segments stay readable: the translator reads guest code. */
	return (pf & (PF_R | PF_X) ? PROT_READ : 0) | (pf & PF_W ? PROT_WRITE : 0) |
	       (pf & PF_X ? PROT_EXEC : 0);
}

/* Can the page at file offset off be touched (not past the end of file)? */
static bool file_page_backed(const struct elf_file *f, uint64_t off)
{
	return off < f->size;
}

/* elf_load: the file part, the zeroed tail of its last page, and the rest
 * of p_memsz as anonymous memory.  Like the kernel's vm_brk, that memory is
 * readable and writable whatever the segment's flags (executable if the
 * segment is); a tail that cannot be cleared is fatal only if the segment
 * is writable. */
static void elf_map_segment(const struct elf_file *f, const Elf64_Phdr *p, uint64_t bias)
{
	uint64_t start = p->p_vaddr + bias, page = PAGE_DOWN(start);
	uint64_t file_end = start + p->p_filesz, mem_end = PAGE_UP(start + p->p_memsz);
	uint64_t anon = page;
	int prot = elf_prot(p->p_flags);

	if (p->p_filesz) {
		uint64_t off = p->p_offset - (start - page);
		void *m = mmap((void *)page, PAGE_UP(file_end) - page, prot,
			       MAP_PRIVATE | MAP_FIXED, f->fd, (off_t)off);
		if (m == MAP_FAILED)
			elf_kill(f->path, "cannot map the segment at %#llx (file offset %#llx): %s",
				 (unsigned long long)start, (unsigned long long)p->p_offset,
				 strerror(errno));
		if (p->p_memsz > p->p_filesz && (file_end & PAGE_MASK) && (prot & PROT_WRITE)) {
			if (!file_page_backed(f, off + PAGE_DOWN(file_end) - page))
				elf_kill(f->path, "cannot clear the end of the segment at %#llx: "
					 "that page lies past the end of the file",
					 (unsigned long long)start);
			memset((void *)file_end, 0, PAGE_UP(file_end) - file_end);
		}
		anon = PAGE_UP(file_end);
	}
	if (p->p_memsz > p->p_filesz && mem_end > anon) {
		void *m = mmap((void *)anon, mem_end - anon,
			       PROT_READ | PROT_WRITE | (prot & PROT_EXEC),
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (m == MAP_FAILED)
			elf_kill(f->path, "cannot map .bss at %#llx: %s",
				 (unsigned long long)anon, strerror(errno));
	}
}

/* The segment checks the kernel makes after mapping each one (k is the
 * segment's address as the kernel checks it: unbiased for the program,
 * biased for the interpreter). */
static void elf_check_segment(const struct elf_file *f, const Elf64_Phdr *p, unsigned i,
			      uint64_t k)
{
	if (k >= TASK_SIZE || p->p_memsz > TASK_SIZE || TASK_SIZE - p->p_memsz < k)
		elf_kill(f->path, "PT_LOAD segment %u (%#llx + %#llx) is outside the user "
			 "address space", i, (unsigned long long)k,
			 (unsigned long long)p->p_memsz);
	if (p->p_filesz > p->p_memsz)
		elf_kill(f->path, "PT_LOAD segment %u has p_filesz %#llx > p_memsz %#llx", i,
			 (unsigned long long)p->p_filesz, (unsigned long long)p->p_memsz);
}

struct page_span {
	uint64_t lo, hi;
};

static int cmp_span(const void *a, const void *b)
{
	const struct page_span *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The pages the PT_LOADs cover at bias, as sorted disjoint spans. */
static size_t load_spans(const struct elf_file *f, uint64_t bias, struct page_span *s)
{
	size_t n = 0;
	for (unsigned i = 0; i < f->eh.e_phnum; i++) {
		const Elf64_Phdr *p = &f->ph[i];
		if (p->p_type != PT_LOAD || !p->p_memsz)
			continue;
		s[n].lo = PAGE_DOWN(p->p_vaddr + bias);
		s[n].hi = PAGE_UP(p->p_vaddr + bias + p->p_memsz);
		n++;
	}
	qsort(s, n, sizeof(*s), cmp_span);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && s[i].lo <= s[m - 1].hi) {
			if (s[i].hi > s[m - 1].hi)
				s[m - 1].hi = s[i].hi;
		} else {
			s[m++] = s[i];
		}
	}
	return m;
}

/* maximum_alignment: the largest power-of-two p_align of the PT_LOADs,
 * at least a page. */
static uint64_t max_align(const struct elf_file *f)
{
	uint64_t a = 0;
	for (unsigned i = 0; i < f->eh.e_phnum; i++) {
		uint64_t pa = f->ph[i].p_align;
		if (f->ph[i].p_type == PT_LOAD && pa && !(pa & (pa - 1)) && pa > a)
			a = pa;
	}
	return PAGE_UP(a);
}

/* The guest memory the loader made, for mem_init_map. */
static void note_spans(const struct page_span *s, size_t n)
{
	struct linux_image *im = &linux_image;
	im->spans = realloc(im->spans, (im->nspans + n) * sizeof(*im->spans));
	if (!im->spans)
		fatal(LOOM_EXIT_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		im->spans[im->nspans].lo = s[i].lo;
		im->spans[im->nspans].hi = s[i].hi;
		im->nspans++;
	}
}

/* Claim the spans with MAP_FIXED_NOREPLACE.  EEXIST is loom's own memory
 * (the kernel would have had the range free): that is loom's limit, not
 * the program's fault.  Any other refusal is the kernel's. */
static void claim_spans(const struct elf_file *f, const struct page_span *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		void *m = mmap((void *)s[i].lo, s[i].hi - s[i].lo, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
			       -1, 0);
		if (m != MAP_FAILED && (uint64_t)m == s[i].lo)
			continue;
		int err = m == MAP_FAILED ? errno : EEXIST;
		if (m != MAP_FAILED)
			munmap(m, s[i].hi - s[i].lo);	/* a kernel without NOREPLACE */
		if (err == EEXIST)
			fatal(LOOM_EXIT_LOAD, "%s: cannot run it under loom: its address range "
			      "%#llx-%#llx is taken by loom itself", f->path,
			      (unsigned long long)s[i].lo, (unsigned long long)s[i].hi);
		elf_kill(f->path, "cannot map %#llx-%#llx: %s", (unsigned long long)s[i].lo,
			 (unsigned long long)s[i].hi, strerror(err));
	}
}

/* Map a prepared file: the kernel's load_elf_binary (or load_elf_interp
 * with is_interp) after its point of no return. */
static void elf_map_image(const struct elf_file *f, struct elf_image *img, bool is_interp)
{
	const Elf64_Ehdr *eh = &f->eh;
	uint64_t lo = ~0ull, hi = 0, first = 0;
	bool any = false;

	if (is_interp && eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		elf_kill(f->path, "the interpreter %s is not an executable (e_type %u)",
			 f->path, eh->e_type);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &f->ph[i];
		if (p->p_type == PT_GNU_STACK)
			img->exec_stack = (p->p_flags & PF_X) != 0;
		if (p->p_type != PT_LOAD)
			continue;
		if (!any)
			first = p->p_vaddr;
		any = true;
		if (!is_interp)
			elf_check_segment(f, p, i, p->p_vaddr);
		else if (p->p_filesz > p->p_memsz || p->p_vaddr >= TASK_SIZE ||
			 p->p_memsz > TASK_SIZE)
			elf_check_segment(f, p, i, p->p_vaddr);
		if (PAGE_DOWN(p->p_vaddr) < lo)
			lo = PAGE_DOWN(p->p_vaddr);
		if (p->p_vaddr + p->p_memsz > hi)
			hi = p->p_vaddr + p->p_memsz;
	}
	if (!any && (is_interp || eh->e_type == ET_DYN))
		elf_kill(f->path, "%s has no loadable segments (PT_LOAD)",
			 is_interp ? "the interpreter" : "it");
	if (!any)
		lo = hi = 0;
	hi = PAGE_UP(hi);

	uint64_t bias = 0;
	if (eh->e_type == ET_DYN) {
		uint64_t span = hi - lo, align = max_align(f);
		void *m = MAP_FAILED;
		/* load_elf_binary: a PIE, or anything aligned beyond a page, at
		 * ELF_ET_DYN_BASE; the rest (static-PIE, ld.so) where mmap says. */
		if (!is_interp && (f->interp || align > PAGE_SIZE)) {
			uint64_t base = ET_DYN_BASE & ~(align - 1);
			uint64_t want = PAGE_DOWN(base - first) + lo;
			m = mmap((void *)want, span, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
				 -1, 0);
			if (m != MAP_FAILED && (uint64_t)m != want) {
				munmap(m, span);	/* a kernel without NOREPLACE */
				m = MAP_FAILED;
				errno = EEXIST;
			}
			/* Taken is loom's doing: go elsewhere, as with ASLR. */
			if (m == MAP_FAILED && errno != EEXIST)
				elf_kill(f->path, "cannot map %#llx bytes at %#llx: %s",
					 (unsigned long long)span, (unsigned long long)want,
					 strerror(errno));
		}
		/* mmap puts it just below whatever loom mapped last; the kernel
		 * would have put it below the stack's gap.  A guard of
		 * unreadable pages above keeps a jump past its end from
		 * landing in loom's memory (a PIE's brk grows there instead). */
		uint64_t guard = is_interp || !f->interp ? ELF_GUARD : 0;
		if (m == MAP_FAILED)
			m = mmap(NULL, span + guard, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m == MAP_FAILED)
			elf_kill(f->path, "cannot find %#llx bytes of address space: %s",
				 (unsigned long long)span, strerror(errno));
		bias = (uint64_t)m - lo;
		/* Give back the gaps between segments, as the kernel's
		 * total_mapping_size + munmap does. */
		struct page_span *s = malloc((eh->e_phnum + 1) * sizeof(*s));
		size_t n = s ? load_spans(f, bias, s) : 0;
		uint64_t at = lo + bias;
		for (size_t i = 0; i < n; i++) {
			if (s[i].lo > at)
				munmap((void *)at, s[i].lo - at);
			at = s[i].hi;
		}
		if (hi + bias > at)
			munmap((void *)at, hi + bias - at);
		note_spans(s, n);
		free(s);
	} else {
		struct page_span *s = malloc((eh->e_phnum + 1) * sizeof(*s));
		if (!s)
			fatal(LOOM_EXIT_INTERNAL, "out of memory");
		size_t n = load_spans(f, 0, s);
		claim_spans(f, s, n);
		note_spans(s, n);
		free(s);
	}

	/* In header order: a later segment replaces what it overlaps. */
	img->phdr = 0;
	img->start_code = ~0ull;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &f->ph[i];
		if (p->p_type != PT_LOAD)
			continue;
		if (is_interp)
			elf_check_segment(f, p, i, p->p_vaddr + bias);
		elf_map_segment(f, p, bias);
		if (p->p_offset <= eh->e_phoff && eh->e_phoff < p->p_offset + p->p_filesz)
			img->phdr = eh->e_phoff - p->p_offset + p->p_vaddr;
		uint64_t v = p->p_vaddr + bias, fend = v + p->p_filesz;
		if ((p->p_flags & PF_X) && v < img->start_code)
			img->start_code = v;
		if (v > img->start_data)
			img->start_data = v;
		if ((p->p_flags & PF_X) && fend > img->end_code)
			img->end_code = fend;
		if (fend > img->end_data)
			img->end_data = fend;
	}
	img->phdr += bias;
	img->bias = bias;
	img->is_dyn = eh->e_type == ET_DYN;
	img->entry = eh->e_entry + bias;
	img->lo = lo + bias;
	img->hi = hi + bias;
	img->phnum = eh->e_phnum;
	if (img->start_code == ~0ull)	/* no executable segment */
		img->start_code = img->lo;
}

/* For execve: what the kernel would answer before its point of no return
 * for this ELF file (0 if it would go ahead). */
int elf_exec_check(const char *path)
{
	struct elf_file f, fi;
	struct elf_refusal r;
	int err = elf_prepare(path, &f, false, &r);
	if (!err && f.interp) {
		err = elf_prepare(f.interp, &fi, true, &r);
		elf_close(&fi);
	}
	elf_close(&f);
	return err;
}

static noreturn void elf_refused(const char *path, const struct elf_refusal *r)
{
	fatal(LOOM_EXIT_LOAD, "%s: %s (%s)", path, strerror(r->err), r->why);
}

static bool is_spacetab(char c)
{
	return c == ' ' || c == '\t';
}

/* binfmt_script: "#!interp [arg]" in the first line of the kernel's
 * 256-byte buffer (zeroes past the end of the file; the line ends at the
 * first newline or NUL).  A line that does not fit is accepted as long as
 * the interpreter's name ends inside the buffer.  buf holds len bytes and
 * has room for BINPRM_BUF + 1.  0, or -ENOEXEC for a line that names
 * nothing or a name cut off by the buffer's end. */
int elf_parse_shebang(char *buf, size_t len, char **interp, char **arg)
{
	char *end = buf + BINPRM_BUF - 1;
	if (len < BINPRM_BUF + 1)
		memset(buf + len, 0, BINPRM_BUF + 1 - len);
	char *nl = NULL;
	for (char *p = buf; p < buf + BINPRM_BUF && *p; p++)
		if (*p == '\n') {
			nl = p;
			break;
		}
	if (nl) {
		end = nl;
	} else {
		char *p = buf + 2;
		while (p < end && is_spacetab(*p))
			p++;
		if (p == end)
			return -ENOEXEC;	/* nothing but blanks */
		while (p < end && *p && !is_spacetab(*p))
			p++;
		if (p == end)
			return -ENOEXEC;	/* the name runs past the buffer */
	}
	while (end > buf + 2 && is_spacetab(end[-1]))
		end--;
	*end = 0;
	char *p = buf + 2;
	while (is_spacetab(*p))
		p++;
	if (!*p)
		return -ENOEXEC;
	*interp = p;
	while (*p && !is_spacetab(*p))
		p++;
	if (*p)
		*p++ = 0;
	while (is_spacetab(*p))
		p++;
	*arg = *p ? p : NULL;
	return 0;
}

/* `loom SCRIPT args`: the script's interpreter (scripts may nest, as in
 * the kernel) with argv rewritten as binfmt_script does: interp [arg]
 * script args.  Returns the ELF file to load and sets *argvp. */
static const char *resolve_scripts(const char *path, char ***argvp)
{
	char **argv = *argvp;
	for (int depth = 0;; depth++) {
		char *buf = malloc(BINPRM_BUF + 1);
		if (!buf)
			fatal(LOOM_EXIT_INTERNAL, "out of memory");
		int fd = elf_open_exec(path, NULL);
		if (fd < 0) {
			free(buf);
			return path;	/* elf_prepare says why */
		}
		ssize_t n = pread(fd, buf, BINPRM_BUF, 0);
		close(fd);
		if (n < 2 || buf[0] != '#' || buf[1] != '!') {
			free(buf);
			return path;
		}
		if (depth == MAX_SCRIPT_DEPTH)
			fatal(LOOM_EXIT_LOAD, "%s: %s (#! scripts nested too deeply)", path,
			      strerror(ELOOP));
		char *interp, *arg;
		if (elf_parse_shebang(buf, (size_t)n, &interp, &arg) < 0)
			fatal(LOOM_EXIT_LOAD, "%s: %s (malformed #! line)", path,
			      strerror(ENOEXEC));
		size_t argc = 0;
		while (argv[argc])
			argc++;
		char **nv = malloc((argc + 3) * sizeof(*nv));
		if (!nv)
			fatal(LOOM_EXIT_INTERNAL, "out of memory");
		size_t k = 0;
		nv[k++] = interp;
		if (arg)
			nv[k++] = arg;
		nv[k++] = (char *)path;
		for (size_t i = argc ? 1 : 0; i < argc; i++)
			nv[k++] = argv[i];
		nv[k] = NULL;
		argv = *argvp = nv;
		path = interp;
	}
}

void linux_load(const char *path, char **argv, char **envp, struct cpu *cpu)
{
	struct elf_image img, ii;
	struct elf_file f, fi;
	struct elf_refusal r;
	const char *execfn = path;	/* AT_EXECFN: what was run, even a script */

	memset(&img, 0, sizeof(img));
	memset(&ii, 0, sizeof(ii));
	path = resolve_scripts(path, &argv);
	if (elf_prepare(path, &f, false, &r) < 0)
		elf_refused(path, &r);
	if (f.interp && elf_prepare(f.interp, &fi, true, &r) < 0)
		fatal(LOOM_EXIT_LOAD, "%s: %s (its interpreter %s: %s)", path, strerror(r.err),
		      f.interp, r.why);

	elf_map_image(&f, &img, false);
	if (f.interp)
		elf_map_image(&fi, &ii, true);
	uint64_t entry = f.interp ? ii.entry : img.entry;
	if (entry >= TASK_SIZE)
		elf_kill(path, "the entry point %#llx is outside the user address space",
			 (unsigned long long)entry);

	/* The task name exec gives: the last component of the path run (a
	 * script's, not its interpreter's), cut to 15 bytes by the kernel;
	 * the host thread's is the guest's, so /proc/self/comm and
	 * PR_GET_NAME read it, and threads inherit it. */
	const char *slash = strrchr(execfn, '/');
	prctl(PR_SET_NAME, slash ? slash + 1 : execfn);
	linux_image.path = path;
	linux_image.exe_path = realpath(path, NULL);
	if (!linux_image.exe_path)
		linux_image.exe_path = strdup(path);
	linux_image.interp_path = f.interp ? strdup(f.interp) : NULL;
	linux_image.load_bias = img.bias;
	linux_image.entry = img.entry;
	linux_image.start_code = img.start_code;
	linux_image.end_code = img.end_code;
	linux_image.start_data = img.start_data;
	linux_image.end_data = img.end_data;
	linux_image.phdr = img.phdr;
	linux_image.phnum = img.phnum;
	linux_image.phent = sizeof(Elf64_Phdr);
	linux_image.interp_base = f.interp ? ii.bias : 0;
	linux_image.image_lo = img.lo;
	linux_image.image_hi = img.hi;
	linux_image.interp_lo = ii.lo;
	linux_image.interp_hi = ii.hi;
	/* The heap follows the image, except for a static-PIE: that lands in
	 * the mmap area with no room above it, so the kernel moves its brk
	 * away, and so do we. */
	linux_image.brk_start = linux_image.brk =
		img.is_dyn && !f.interp ? STATIC_PIE_BRK : img.hi;
	mem_init_brk(linux_image.brk_start);
	if (f.interp)
		elf_close(&fi);
	elf_close(&f);

	linux_build_stack(cpu, argv, envp, execfn, img.exec_stack);
	mem_init_map();
	cpu->rip = entry;
	cpu->regs[R_RDX] = 0;	/* no rtld_fini from the kernel */
}
