/*
 * Guest symbols for tools: the ELF symbol tables of the files the guest has
 * mapped executable (the program, its interpreter, shared libraries, dlopen'd
 * objects).  Guest memory is host memory, so the host's /proc/self/maps lists
 * the guest's file mappings; a module's load bias comes from its first
 * mapping.  Tables are read once per file and kept (names stay valid for the
 * life of the process).
 *
 * Invariant: a lookup never faults and never takes long when it misses: the
 * map is reread only for an address outside every known module.
 */
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "instrument/symbols.h"

struct sym {
	uint64_t addr, size;	/* after bias */
	const char *name;
};

struct module {
	uint64_t base, end;	/* where offset 0 is mapped; end of its mappings */
	uint64_t lo, hi;	/* executable mappings' span (lo == hi: none) */
	char *path;
	bool loaded;
	struct sym *syms;
	size_t nsyms;
};

static struct module *mods;
static size_t nmods;
static pthread_mutex_t sym_lock = PTHREAD_MUTEX_INITIALIZER;

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Read the symbol tables of m->path; bias = where the file's first byte
 * is mapped minus the lowest PT_LOAD's page. */
static void load_syms(struct module *m, uint64_t first_map)
{
	m->loaded = true;
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		close(fd);
		return;
	}
	size_t len = st.st_size;
	const uint8_t *f = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f == MAP_FAILED)
		return;
	const Elf64_Ehdr *eh = (const void *)f;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > len ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len)
		goto out;
	uint64_t low = ~0ull;
	const Elf64_Phdr *ph = (const void *)(f + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr < low)
			low = ph[i].p_vaddr;
	uint64_t bias = eh->e_type == ET_DYN ? first_map - (low & ~0xfffull) : 0;
	const Elf64_Shdr *sh = (const void *)(f + eh->e_shoff);
	/* .symtab when present (it has the static functions), else .dynsym */
	int pick = -1;
	for (int i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB || (sh[i].sh_type == SHT_DYNSYM && pick < 0))
			pick = i;
	if (pick < 0 || sh[pick].sh_link >= eh->e_shnum)
		goto out;
	const Elf64_Shdr *s = &sh[pick], *strs = &sh[s->sh_link];
	if (s->sh_offset + s->sh_size > len || strs->sh_offset + strs->sh_size > len)
		goto out;
	size_t n = s->sh_size / sizeof(Elf64_Sym);
	const Elf64_Sym *sy = (const void *)(f + s->sh_offset);
	m->syms = calloc(n ? n : 1, sizeof(*m->syms));
	if (!m->syms)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int type = ELF64_ST_TYPE(sy[i].st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sy[i].st_shndx == SHN_UNDEF ||
		    !sy[i].st_value || sy[i].st_name >= strs->sh_size)
			continue;
		m->syms[m->nsyms++] = (struct sym){ sy[i].st_value + bias, sy[i].st_size,
						    (const char *)f + strs->sh_offset + sy[i].st_name };
	}
	qsort(m->syms, m->nsyms, sizeof(*m->syms), cmp_sym);
	return;	/* the mapping stays: the names live in it */
out:
	munmap((void *)f, len);
}

/* Reread /proc/self/maps: every mapped file.  A mapping at file offset 0
 * starts a module; later mappings of the same file extend the latest one. */
static void rescan(void)
{
	FILE *fp = fopen("/proc/self/maps", "re");
	if (!fp)
		return;
	char line[4352];
	while (fgets(line, sizeof(line), fp)) {
		unsigned long lo, hi, off;
		char perms[8], path[4096] = "";
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095[^\n]", &lo, &hi, perms, &off, path) < 4)
			continue;
		char *p = path;
		while (*p == ' ')
			p++;
		if (*p != '/')
			continue;
		struct module *m = NULL;
		for (size_t i = nmods; i-- > 0;) {
			if (strcmp(mods[i].path, p))
				continue;
			if (mods[i].base == lo - off || (off && lo >= mods[i].base &&
							  lo - mods[i].base < (1ull << 32))) {
				m = &mods[i];
				break;
			}
		}
		if (!m) {
			struct module *n = realloc(mods, (nmods + 1) * sizeof(*mods));
			if (!n)
				break;
			mods = n;
			m = &mods[nmods++];
			*m = (struct module){ .base = lo - off, .end = hi, .path = strdup(p) };
		}
		if (hi > m->end)
			m->end = hi;
		if (perms[2] == 'x') {
			if (m->lo == m->hi || lo < m->lo)
				m->lo = lo;
			if (hi > m->hi)
				m->hi = hi;
		}
	}
	fclose(fp);
}

static struct module *module_at(uint64_t addr)
{
	for (size_t i = nmods; i-- > 0;)
		if (addr >= mods[i].base && addr < mods[i].end)
			return &mods[i];
	return NULL;
}

bool guest_module_of(uint64_t addr, const char **path, uint64_t *base, uint64_t *end)
{
	pthread_mutex_lock(&sym_lock);
	struct module *m = module_at(addr);
	if (!m) {
		rescan();
		m = module_at(addr);
	}
	if (m) {
		*path = m->path;
		*base = m->base;
		*end = m->end;
	}
	pthread_mutex_unlock(&sym_lock);
	return m != NULL;
}

static const char *find(uint64_t addr)
{
	struct module *m = NULL;
	for (size_t i = nmods; i-- > 0 && !m;)
		if (addr >= mods[i].lo && addr < mods[i].hi)
			m = &mods[i];
	if (!m)
		return (const char *)1;	/* no module: rescan */
	if (!m->loaded)
		load_syms(m, m->base);
	/* the last symbol starting at or below addr that covers it */
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t j = lo; j-- > 0;) {
		const struct sym *s = &m->syms[j];
		/* a symbol without a size (hand-written assembly) runs to the
		 * next one */
		uint64_t end = s->size ? s->addr + s->size
				       : j + 1 < m->nsyms ? m->syms[j + 1].addr : m->hi;
		if (addr < end)
			return s->name;
		if (s->addr + 65536 < addr)
			break;
	}
	return NULL;
}

const char *symbol_at(uint64_t addr)
{
	pthread_mutex_lock(&sym_lock);
	const char *s = find(addr);
	if (s == (const char *)1) {
		rescan();
		s = find(addr);
		if (s == (const char *)1)
			s = NULL;
	}
	pthread_mutex_unlock(&sym_lock);
	return s;
}
