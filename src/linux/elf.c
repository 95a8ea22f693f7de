/*
 * The ELF loader: validate the program, map its PT_LOAD segments the way the
 * kernel's binfmt_elf does, and fill linux_image.  stack.c then builds the
 * initial stack.
 *
 * Every way a file can be unusable ends in one line "loom: PATH: reason" and
 * exit status LOOM_EXIT_LOAD; nothing is mapped until the whole header and
 * every program header has been checked.
 *
 * Placement: ET_EXEC maps at its own addresses, and the whole span is first
 * claimed with MAP_FIXED_NOREPLACE so a clash with loom's own memory is
 * reported instead of overwriting it.  An ET_DYN program with an interpreter
 * (a PIE) goes where the kernel puts it, near ELF_ET_DYN_BASE (2/3 of the
 * address space, 0x555555554000 without randomization), or anywhere free if
 * loom already sits there.  A static-PIE and the interpreter itself let the
 * kernel choose a free region, as load_elf_binary does for them.  Segments
 * are then mapped with MAP_FIXED inside the claimed span, and the gaps
 * between them are given back, as the kernel does.
 *
 * A dynamic program is two calls of elf_load_image(): the program, then the
 * interpreter its PT_INTERP names (the guest's own ld.so, looked up on the
 * host's file system as the kernel would).  The guest starts at the
 * interpreter's entry with AT_BASE = its bias and AT_ENTRY = the program's.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
/* Where a static-PIE's heap starts: far below the kernel's mmap area, where
 * the image itself lands, and above loom (a PIE near 0x55...). */
#define STATIC_PIE_BRK 0x100000000000ull
/* The kernel's ELF_ET_DYN_BASE on x86-64: where a PIE with an interpreter
 * lands before randomization. */
#define ET_DYN_BASE (PAGE_DOWN(TASK_SIZE / 3 * 2))

struct linux_options linux_opts;
struct linux_image linux_image;

/* What elf_load_image learned about one mapped file. */
struct elf_image {
	uint64_t bias;
	uint64_t entry;
	uint64_t phdr, phnum;
	uint64_t lo, hi;		/* mapped span after bias */
	uint64_t start_code, end_code, start_data, end_data;
	char *interp;			/* PT_INTERP path, or NULL */
	bool is_dyn;			/* ET_DYN: placed at a bias we chose */
	bool exec_stack;		/* PT_GNU_STACK asks for PF_X */
};

static noreturn void elf_fail(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static noreturn void elf_fail(const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fatal(LOOM_EXIT_LOAD, "%s: %s", path, msg);
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

static int elf_open(const char *path, uint64_t *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		elf_fail(path, "%s", strerror(errno));
	if (fstat(fd, &st) < 0)
		elf_fail(path, "%s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		elf_fail(path, "%s", strerror(EISDIR));
	if (!S_ISREG(st.st_mode))
		elf_fail(path, "not a regular file");
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
		elf_fail(path, "%s (not executable)", strerror(errno));
	*size = (uint64_t)st.st_size;
	return fd;
}

static void elf_read(const char *path, int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			elf_fail(path, "read error: %s", strerror(errno));
		if (n == 0)
			elf_fail(path, "file is truncated");
		got += (size_t)n;
	}
}

static void elf_check_ehdr(const char *path, const Elf64_Ehdr *eh, uint64_t size)
{
	const unsigned char *id = eh->e_ident;

	if (size == 0)
		elf_fail(path, "not an ELF file (the file is empty)");
	if (size < SELFMAG || memcmp(id, ELFMAG, SELFMAG))
		elf_fail(path, "not an ELF file (no \\177ELF magic)");
	if (size < EI_NIDENT)
		elf_fail(path, "truncated ELF header (%llu bytes)", (unsigned long long)size);
	if (id[EI_CLASS] != ELFCLASS64)
		elf_fail(path, "not a 64-bit ELF file (%s)",
			 id[EI_CLASS] == ELFCLASS32 ? "ELFCLASS32" : "bad EI_CLASS");
	if (id[EI_DATA] != ELFDATA2LSB)
		elf_fail(path, "not a little-endian ELF file (%s)",
			 id[EI_DATA] == ELFDATA2MSB ? "big-endian" : "bad EI_DATA");
	if (size < sizeof(*eh))
		elf_fail(path, "truncated ELF header (%llu of %zu bytes)",
			 (unsigned long long)size, sizeof(*eh));
	if (id[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		elf_fail(path, "unsupported ELF version %u", id[EI_VERSION]);
	if (eh->e_machine != EM_X86_64) {
		const char *m = machine_name(eh->e_machine);
		if (m)
			elf_fail(path, "not an x86-64 program (machine %s)", m);
		elf_fail(path, "not an x86-64 program (e_machine %u)", eh->e_machine);
	}
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) {
		const char *t = type_name(eh->e_type);
		if (t)
			elf_fail(path, "not an executable: %s", t);
		elf_fail(path, "not an executable (e_type %u)", eh->e_type);
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		elf_fail(path, "malformed program headers (e_phentsize %u, expected %zu)",
			 eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0)
		elf_fail(path, "no program headers");
	if (eh->e_phnum == PN_XNUM || (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > MAX_PHDR_BYTES)
		elf_fail(path, "too many program headers (e_phnum %u)", eh->e_phnum);
	uint64_t phsize = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (eh->e_phoff > size || phsize > size - eh->e_phoff)
		elf_fail(path, "program headers out of range (e_phoff %#llx + %llu bytes, "
			 "file size %llu)", (unsigned long long)eh->e_phoff,
			 (unsigned long long)phsize, (unsigned long long)size);
}

static int cmp_vaddr(const void *a, const void *b)
{
	const Elf64_Phdr *x = *(const Elf64_Phdr *const *)a, *y = *(const Elf64_Phdr *const *)b;
	return x->p_vaddr < y->p_vaddr ? -1 : x->p_vaddr > y->p_vaddr;
}

/* Check every program header; fills loads[] sorted by address. */
static size_t elf_check_phdrs(const char *path, int fd, const Elf64_Ehdr *eh, Elf64_Phdr *ph,
			      uint64_t size, const Elf64_Phdr **loads, struct elf_image *img,
			      bool allow_interp)
{
	size_t nload = 0;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr *p = &ph[i];
		switch (p->p_type) {
		case PT_LOAD:
			if (p->p_filesz > p->p_memsz)
				elf_fail(path, "PT_LOAD segment %u has p_filesz %#llx > p_memsz %#llx",
					 i, (unsigned long long)p->p_filesz,
					 (unsigned long long)p->p_memsz);
			if (p->p_offset > size || p->p_filesz > size - p->p_offset)
				elf_fail(path, "PT_LOAD segment %u lies beyond the end of the file "
					 "(offset %#llx + %#llx, file size %#llx)", i,
					 (unsigned long long)p->p_offset,
					 (unsigned long long)p->p_filesz, (unsigned long long)size);
			if ((p->p_vaddr & PAGE_MASK) != (p->p_offset & PAGE_MASK))
				elf_fail(path, "PT_LOAD segment %u: p_vaddr %#llx and p_offset %#llx "
					 "differ modulo the page size", i,
					 (unsigned long long)p->p_vaddr,
					 (unsigned long long)p->p_offset);
			if (p->p_vaddr >= TASK_SIZE || p->p_memsz > TASK_SIZE - p->p_vaddr)
				elf_fail(path, "PT_LOAD segment %u (%#llx + %#llx) is outside the "
					 "user address space", i, (unsigned long long)p->p_vaddr,
					 (unsigned long long)p->p_memsz);
			if (p->p_memsz)
				loads[nload++] = p;
			break;
		case PT_INTERP: {
			if (p->p_filesz < 2 || p->p_filesz > PATH_MAX || p->p_offset > size ||
			    p->p_filesz > size - p->p_offset)
				elf_fail(path, "malformed PT_INTERP");
			char *s = malloc(p->p_filesz);
			if (!s)
				elf_fail(path, "out of memory");
			elf_read(path, fd, s, p->p_filesz, p->p_offset);
			if (s[p->p_filesz - 1] != 0)
				elf_fail(path, "malformed PT_INTERP (not NUL-terminated)");
			if (!allow_interp)
				elf_fail(path, "an interpreter that names an interpreter of its "
					 "own (%s) is not supported", s);
			free(img->interp);
			img->interp = s;
			break;
		}
		case PT_GNU_STACK:
			img->exec_stack = (p->p_flags & PF_X) != 0;
			break;
		}
	}
	if (!nload)
		elf_fail(path, "no loadable segments (PT_LOAD)");
	qsort(loads, nload, sizeof(*loads), cmp_vaddr);
	for (size_t i = 1; i < nload; i++)
		if (loads[i]->p_vaddr < loads[i - 1]->p_vaddr + loads[i - 1]->p_memsz)
			elf_fail(path, "overlapping PT_LOAD segments at %#llx and %#llx",
				 (unsigned long long)loads[i - 1]->p_vaddr,
				 (unsigned long long)loads[i]->p_vaddr);
	return nload;
}

static int elf_prot(uint32_t pf)
{
	/* Executable segments stay readable: the translator reads guest code. */
	return (pf & (PF_R | PF_X) ? PROT_READ : 0) | (pf & PF_W ? PROT_WRITE : 0) |
	       (pf & PF_X ? PROT_EXEC : 0);
}

static void elf_map_segment(const char *path, int fd, const Elf64_Phdr *p, uint64_t bias)
{
	uint64_t start = p->p_vaddr + bias, page = PAGE_DOWN(start);
	uint64_t file_end = start + p->p_filesz, mem_end = PAGE_UP(start + p->p_memsz);
	uint64_t anon = page;
	int prot = elf_prot(p->p_flags);

	if (p->p_filesz) {
		void *m = mmap((void *)page, PAGE_UP(file_end) - page, prot,
			       MAP_PRIVATE | MAP_FIXED, fd, (off_t)(p->p_offset - (start - page)));
		if (m == MAP_FAILED)
			elf_fail(path, "cannot map segment at %#llx: %s",
				 (unsigned long long)start, strerror(errno));
		/* Past p_filesz the page must read as zero (.bss).  Like the
		 * kernel, only a writable segment is cleared. */
		if (p->p_memsz > p->p_filesz && (file_end & PAGE_MASK) && (prot & PROT_WRITE))
			memset((void *)file_end, 0, PAGE_UP(file_end) - file_end);
		anon = PAGE_UP(file_end);
	}
	if (mem_end > anon) {
		void *m = mmap((void *)anon, mem_end - anon, prot,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (m == MAP_FAILED)
			elf_fail(path, "cannot map .bss at %#llx: %s",
				 (unsigned long long)anon, strerror(errno));
	}
}

/* Map path into memory; the caller has nothing to undo on failure (we exit).
 * allow_interp: the file may name an interpreter (false for the interpreter
 * itself).  want_base: where an ET_DYN image that names an interpreter (a
 * PIE) should start if that is free; other ET_DYN images (a static-PIE, the
 * interpreter) go wherever the kernel's mmap puts them. */
static void elf_load_image(const char *path, struct elf_image *img, bool allow_interp,
			   uint64_t want_base)
{
	Elf64_Ehdr eh;
	uint64_t size;
	int fd = elf_open(path, &size);

	memset(&eh, 0, sizeof(eh));
	if (size)
		elf_read(path, fd, &eh, size < sizeof(eh) ? size : sizeof(eh), 0);
	elf_check_ehdr(path, &eh, size);

	Elf64_Phdr *ph = malloc(eh.e_phnum * sizeof(*ph));
	const Elf64_Phdr **loads = malloc(eh.e_phnum * sizeof(*loads));
	if (!ph || !loads)
		elf_fail(path, "out of memory");
	elf_read(path, fd, ph, eh.e_phnum * sizeof(*ph), eh.e_phoff);
	size_t nload = elf_check_phdrs(path, fd, &eh, ph, size, loads, img, allow_interp);

	uint64_t lo = PAGE_DOWN(loads[0]->p_vaddr);
	uint64_t hi = 0;
	for (size_t i = 0; i < nload; i++)
		if (PAGE_UP(loads[i]->p_vaddr + loads[i]->p_memsz) > hi)
			hi = PAGE_UP(loads[i]->p_vaddr + loads[i]->p_memsz);

	/* Claim the whole span in one go. */
	uint64_t span = hi - lo, bias;
	if (eh.e_type == ET_EXEC) {
		if (lo < 65536)
			elf_fail(path, "segment address %#llx is below the lowest mappable address",
				 (unsigned long long)lo);
		void *m = mmap((void *)lo, span, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (m == MAP_FAILED && errno == EEXIST)
			elf_fail(path, "address range %#llx-%#llx is already in use (by loom itself)",
				 (unsigned long long)lo, (unsigned long long)hi);
		if (m == MAP_FAILED)
			elf_fail(path, "cannot reserve %#llx-%#llx: %s", (unsigned long long)lo,
				 (unsigned long long)hi, strerror(errno));
		if ((uint64_t)m != lo) {
			munmap(m, span);
			elf_fail(path, "address range %#llx-%#llx is already in use",
				 (unsigned long long)lo, (unsigned long long)hi);
		}
		bias = 0;
	} else {
		void *m = MAP_FAILED;
		if (want_base && img->interp) {
			m = mmap((void *)want_base, span, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
				 -1, 0);
			if (m != MAP_FAILED && (uint64_t)m != want_base) {
				munmap(m, span);	/* a kernel without NOREPLACE */
				m = MAP_FAILED;
			}
		}
		if (m == MAP_FAILED)
			m = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
		if (m == MAP_FAILED)
			elf_fail(path, "cannot find %#llx bytes of address space: %s",
				 (unsigned long long)span, strerror(errno));
		bias = (uint64_t)m - lo;
	}

	uint64_t prev_end = lo + bias;
	for (size_t i = 0; i < nload; i++) {
		const Elf64_Phdr *p = loads[i];
		uint64_t page = PAGE_DOWN(p->p_vaddr + bias);
		if (page > prev_end)
			munmap((void *)prev_end, page - prev_end);
		elf_map_segment(path, fd, p, bias);
		uint64_t end = PAGE_UP(p->p_vaddr + p->p_memsz + bias);
		if (end > prev_end)
			prev_end = end;
	}

	/* What the kernel records in mm and passes in auxv. */
	img->bias = bias;
	img->is_dyn = eh.e_type == ET_DYN;
	img->entry = eh.e_entry + bias;
	img->lo = lo + bias;
	img->hi = hi + bias;
	img->phnum = eh.e_phnum;
	img->phdr = 0;
	img->start_code = ~0ull;
	for (unsigned i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			img->phdr = ph[i].p_vaddr + bias;
	for (size_t i = 0; i < nload; i++) {
		const Elf64_Phdr *p = loads[i];
		if (!img->phdr && p->p_offset <= eh.e_phoff &&
		    eh.e_phoff < p->p_offset + p->p_filesz)
			img->phdr = p->p_vaddr + (eh.e_phoff - p->p_offset) + bias;
		uint64_t v = p->p_vaddr + bias, fend = v + p->p_filesz;
		if ((p->p_flags & PF_X) && v < img->start_code)	/* as the kernel */
			img->start_code = v;
		if (v > img->start_data)
			img->start_data = v;
		if ((p->p_flags & PF_X) && fend > img->end_code)
			img->end_code = fend;
		if (fend > img->end_data)
			img->end_data = fend;
	}
	if (img->start_code == ~0ull)	/* no executable segment */
		img->start_code = img->lo;
	free(loads);
	free(ph);
	close(fd);
}

/* The interpreter a dynamic program names, mapped where the kernel would
 * let mmap put it.  A missing one is the program's error, as for execve. */
static void elf_load_interp(const char *path, const char *interp, struct elf_image *ii)
{
	struct stat st;
	if (stat(interp, &st) < 0)
		elf_fail(path, "cannot load its interpreter %s: %s", interp, strerror(errno));
	elf_load_image(interp, ii, false, 0);
}

/* For execve: what the kernel would say before loom replaces itself.  Only
 * the error that loses the guest its execve result is checked, a missing
 * interpreter (ENOENT); anything else malformed is left to the new loom. */
int elf_exec_check(const char *path)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) && eh.e_phnum &&
	    eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum <= MAX_PHDR_BYTES / sizeof(Elf64_Phdr)) {
		for (unsigned i = 0; i < eh.e_phnum && !err; i++) {
			Elf64_Phdr ph;
			char interp[PATH_MAX];
			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
			    (ssize_t)sizeof(ph))
				break;
			if (ph.p_type != PT_INTERP || ph.p_filesz < 2 || ph.p_filesz > PATH_MAX)
				continue;
			if (pread(fd, interp, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz ||
			    interp[ph.p_filesz - 1])
				break;
			if (access(interp, F_OK) < 0)
				err = -ENOENT;
		}
	}
	close(fd);
	return err;
}

void linux_load(const char *path, char **argv, char **envp, struct cpu *cpu)
{
	struct elf_image img, ii;

	memset(&img, 0, sizeof(img));
	memset(&ii, 0, sizeof(ii));
	elf_load_image(path, &img, true, ET_DYN_BASE);
	if (img.interp)
		elf_load_interp(path, img.interp, &ii);

	linux_image.path = path;
	linux_image.exe_path = realpath(path, NULL);
	if (!linux_image.exe_path)
		linux_image.exe_path = strdup(path);
	linux_image.interp_path = img.interp;
	linux_image.load_bias = img.bias;
	linux_image.entry = img.entry;
	linux_image.start_code = img.start_code;
	linux_image.end_code = img.end_code;
	linux_image.start_data = img.start_data;
	linux_image.end_data = img.end_data;
	linux_image.phdr = img.phdr;
	linux_image.phnum = img.phnum;
	linux_image.phent = sizeof(Elf64_Phdr);
	linux_image.interp_base = img.interp ? ii.bias : 0;
	linux_image.image_lo = img.lo;
	linux_image.image_hi = img.hi;
	linux_image.interp_lo = ii.lo;
	linux_image.interp_hi = ii.hi;
	/* The heap follows the image, except for a static-PIE: that lands in
	 * the mmap area with no room above it, so the kernel moves its brk
	 * away, and so do we. */
	linux_image.brk_start = linux_image.brk =
		img.is_dyn && !img.interp ? STATIC_PIE_BRK : img.hi;
	mem_init_brk(linux_image.brk_start);

	linux_build_stack(cpu, argv, envp, path, img.exec_stack);
	mem_init_map();
	cpu->rip = img.interp ? ii.entry : linux_image.entry;
	cpu->regs[R_RDX] = 0;	/* no rtld_fini from the kernel */
}
