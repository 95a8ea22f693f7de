/*
 * lcov output: a small reader of ELF files' DWARF .debug_line (versions 2
 * to 5) that turns a module's blocks into source lines, and the .info
 * writer on top of it.  Plain libc, so loom's recorder can use it too.
 * Function records (FN/FNDA) come from the symbol table: a function is
 * placed at the source line of its first byte and counts as entered when
 * a block holding that byte ran.
 *
 * Before DWARF 5 the line table does not name the compilation directory;
 * it is read from the first DIE of each unit in .debug_info.  What it does
 * not do: split debug files (.gnu_debuglink, build-id directories),
 * compressed sections, strx forms.  A module it cannot read is skipped
 * with a note, never guessed at.
 *
 * Invariant: a line range is kept only if it lies in an executable PT_LOAD
 * segment, so sequences of functions the linker discarded (moved to
 * address 0) never claim coverage.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "instrument/covfile.h"

static int note(char *err, size_t errsz, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int note(char *err, size_t errsz, int ret, const char *fmt, ...)
{
	va_list ap;
	if (err && errsz) {
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* A bounds-checked cursor: reading past end sets bad and yields zeros. */
struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t rd_n(struct rd *r, int n)
{
	uint64_t v = 0;
	if (r->end - r->p < n) {
		r->bad = true;
		r->p = r->end;
		return 0;
	}
	for (int i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

static uint64_t rd_uleb(struct rd *r)
{
	uint64_t v = 0;
	for (int shift = 0; ; shift += 7) {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		uint8_t b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
}

static int64_t rd_sleb(struct rd *r)
{
	int64_t v = 0;
	int shift = 0;
	uint8_t b;
	do {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		b = *r->p++;
		if (shift < 64)
			v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	return v;
}

static const char *rd_str(struct rd *r)
{
	const uint8_t *nul = memchr(r->p, 0, r->end - r->p);
	if (!nul) {
		r->bad = true;
		r->p = r->end;
		return "";
	}
	const char *s = (const char *)r->p;
	r->p = nul + 1;
	return s;
}

struct sect {
	const uint8_t *p;
	size_t size;
};

static const char *sect_str(const struct sect *s, uint64_t off)
{
	if (!s->p || off >= s->size || !memchr(s->p + off, 0, s->size - off))
		return NULL;
	return (const char *)s->p + off;
}

struct cu_dir {
	uint64_t stmt_list;	/* .debug_line offset of the CU's line table */
	const char *comp_dir;
};

struct elf_info {
	struct sect line, line_str, str, info, abbrev;
	struct cu_dir *cus;	/* DWARF 2-4 keep the CU directory here */
	size_t ncus;
	uint64_t base;			/* link address of a module offset 0 */
	struct { uint64_t lo, hi; } exec[16];
	int nexec;
};

/* DW_FORM values a line table header uses for its entries. */
enum {
	FORM_block = 0x09, FORM_data1 = 0x0b, FORM_data2 = 0x05, FORM_data4 = 0x06,
	FORM_data8 = 0x07, FORM_data16 = 0x1e, FORM_string = 0x08, FORM_strp = 0x0e,
	FORM_line_strp = 0x1f, FORM_udata = 0x0f, FORM_sdata = 0x0d,
};
enum { LNCT_path = 1, LNCT_directory_index = 2 };

/* One attribute value: a string (str) or a number (num).  false: a form
 * this reader does not know, so the unit cannot be read. */
static bool rd_form(struct rd *r, const struct elf_info *e, uint64_t form, int offsize,
		    const char **str, uint64_t *num)
{
	*str = NULL;
	*num = 0;
	switch (form) {
	case FORM_string: *str = rd_str(r); return true;
	case FORM_strp: *str = sect_str(&e->str, rd_n(r, offsize)); return true;
	case FORM_line_strp: *str = sect_str(&e->line_str, rd_n(r, offsize)); return true;
	case FORM_udata: *num = rd_uleb(r); return true;
	case FORM_sdata: *num = (uint64_t)rd_sleb(r); return true;
	case FORM_data1: *num = rd_n(r, 1); return true;
	case FORM_data2: *num = rd_n(r, 2); return true;
	case FORM_data4: *num = rd_n(r, 4); return true;
	case FORM_data8: *num = rd_n(r, 8); return true;
	case FORM_data16: rd_n(r, 8); rd_n(r, 8); return true;
	case FORM_block: {
		uint64_t n = rd_uleb(r);
		if (n > (uint64_t)(r->end - r->p))
			r->bad = true, r->p = r->end;
		else
			r->p += n;
		return true;
	}
	default: return false;
	}
}

struct lt {			/* what cov_lines_load accumulates */
	struct cov_lines *out;
	size_t rcap, fcap;
	const struct elf_info *e;
	bool oom;
};

static uint32_t add_file(struct lt *t, const char *dir0, const char *dir, const char *name)
{
	char *path;
	int n;
	if (!name)
		name = "<unknown>";
	if (name[0] == '/' || !dir || !dir[0])
		n = asprintf(&path, "%s", name);
	else if (dir[0] == '/' || !dir0 || !dir0[0] || dir == dir0)
		n = asprintf(&path, "%s/%s", dir, name);
	else
		n = asprintf(&path, "%s/%s/%s", dir0, dir, name);
	if (n < 0)
		goto oom;
	if (t->out->nfiles == t->fcap) {
		char **p = cov_grow(t->out->files, &t->fcap, sizeof(*p), 64);
		if (!p) {
			free(path);
			goto oom;
		}
		t->out->files = p;
	}
	t->out->files[t->out->nfiles] = path;
	return (uint32_t)t->out->nfiles++;
oom:
	t->oom = true;
	return 0;
}

static void add_range(struct lt *t, uint64_t lo, uint64_t hi, uint32_t file, uint32_t line)
{
	const struct elf_info *e = t->e;
	bool in_exec = false;
	for (int i = 0; i < e->nexec && !in_exec; i++)
		in_exec = lo >= e->exec[i].lo && hi <= e->exec[i].hi;
	if (!in_exec || line == 0 || file == UINT32_MAX)
		return;
	struct cov_lines *l = t->out;
	if (l->n == t->rcap) {
		struct cov_line_range *p = cov_grow(l->r, &t->rcap, sizeof(*p), 1024);
		if (!p) {
			t->oom = true;
			return;
		}
		l->r = p;
	}
	l->r[l->n++] = (struct cov_line_range){ lo - e->base, hi - e->base, file, line };
}

/* One line-number program unit, [r->p, unit end).  false: malformed. */
static bool read_unit(struct lt *t, struct rd *r)
{
	uint64_t unit_off = (uint64_t)(r->p - t->e->line.p);
	uint64_t len = rd_n(r, 4);
	int offsize = 4;
	if (len == 0xffffffff) {
		len = rd_n(r, 8);
		offsize = 8;
	}
	if (r->bad || len > (uint64_t)(r->end - r->p))
		return false;
	struct rd u = { r->p, r->p + len, false };
	r->p += len;
	unsigned version = rd_n(&u, 2);
	if (version < 2 || version > 5)
		return false;
	if (version >= 5)
		rd_n(&u, 2);		/* address_size, segment_selector_size */
	uint64_t hlen = rd_n(&u, offsize);
	if (u.bad || hlen > (uint64_t)(u.end - u.p))
		return false;
	const uint8_t *prog = u.p + hlen;
	unsigned min_inst = rd_n(&u, 1);
	if (version >= 4)
		rd_n(&u, 1);		/* maximum_operations_per_instruction: VLIW only */
	bool default_stmt = rd_n(&u, 1);
	int line_base = (int8_t)rd_n(&u, 1);
	unsigned line_range = rd_n(&u, 1), opcode_base = rd_n(&u, 1);
	uint8_t std_len[256] = { 0 };
	(void)default_stmt;
	if (!line_range || !opcode_base)
		return false;
	for (unsigned i = 1; i < opcode_base; i++)
		std_len[i] = rd_n(&u, 1);

	/* Directories and files: unit-local index -> global file index. */
	const char *dirs[1024];
	size_t ndirs = 0, nfiles = 0, fcap = 0;
	uint32_t *files = NULL;
	bool ok = false;
	if (version < 5) {
		dirs[ndirs++] = "";	/* the CU's directory, in .debug_info */
		for (size_t i = 0; i < t->e->ncus; i++)
			if (t->e->cus[i].stmt_list == unit_off && t->e->cus[i].comp_dir)
				dirs[0] = t->e->cus[i].comp_dir;
		for (;;) {
			const char *d = rd_str(&u);
			if (u.bad || !*d)
				break;
			if (ndirs < 1024)
				dirs[ndirs++] = d;
		}
		/* file 0 does not exist before DWARF 5; keep indexes as they are */
		files = cov_grow(NULL, &fcap, sizeof(*files), 64);
		if (!files)
			goto oom;
		files[nfiles++] = UINT32_MAX;
		for (;;) {
			const char *name = rd_str(&u);
			if (u.bad || !*name)
				break;
			uint64_t di = rd_uleb(&u);
			rd_uleb(&u);
			rd_uleb(&u);
			if (nfiles == fcap) {
				uint32_t *p = cov_grow(files, &fcap, sizeof(*files), 64);
				if (!p)
					goto oom;
				files = p;
			}
			files[nfiles++] = add_file(t, dirs[0], di < ndirs ? dirs[di] : NULL, name);
		}
	} else {
		for (int pass = 0; pass < 2; pass++) {
			uint64_t fmt[16][2];
			unsigned nfmt = rd_n(&u, 1);
			if (nfmt > 16)
				goto out;
			for (unsigned i = 0; i < nfmt; i++) {
				fmt[i][0] = rd_uleb(&u);
				fmt[i][1] = rd_uleb(&u);
			}
			uint64_t count = rd_uleb(&u);
			if (u.bad || count > (uint64_t)(u.end - u.p))
				goto out;
			if (pass == 1) {
				files = malloc(sizeof(*files) * (count + 1));
				if (!files)
					goto oom;
			}
			for (uint64_t k = 0; k < count; k++) {
				const char *path = NULL, *s;
				uint64_t di = 0, num;
				for (unsigned i = 0; i < nfmt; i++) {
					if (!rd_form(&u, t->e, fmt[i][1], offsize, &s, &num))
						goto out;
					if (fmt[i][0] == LNCT_path)
						path = s;
					else if (fmt[i][0] == LNCT_directory_index)
						di = num;
				}
				if (pass == 0 && ndirs < 1024)
					dirs[ndirs++] = path ? path : "";
				else if (pass == 1)
					files[nfiles++] = add_file(t, dirs[0],
								   di < ndirs ? dirs[di] : NULL, path);
			}
		}
	}
	if (u.bad || t->oom || prog > u.end)
		goto out;

	/* The state machine (DWARF 5 section 6.2.2); a row covers the
	 * addresses up to the next row of its sequence. */
	struct rd p = { prog, u.end, false };
	uint64_t addr = 0, prev_addr = 0;
	uint64_t file = 1, line = 1, prev_file = 0, prev_line = 0;
	bool have_prev = false;
#define ROW(end_seq) do { \
		if (have_prev && addr > prev_addr) \
			add_range(t, prev_addr, addr, prev_file < nfiles ? files[prev_file] : UINT32_MAX, \
				  (uint32_t)prev_line); \
		have_prev = !(end_seq); \
		prev_addr = addr, prev_file = file, prev_line = line; \
	} while (0)
	while (p.p < p.end && !p.bad) {
		unsigned op = rd_n(&p, 1);
		if (op >= opcode_base) {
			unsigned adj = op - opcode_base;
			addr += (uint64_t)(adj / line_range) * min_inst;
			line += line_base + (int)(adj % line_range);
			ROW(false);
			continue;
		}
		switch (op) {
		case 0: {		/* extended */
			uint64_t n = rd_uleb(&p);
			if (!n || n > (uint64_t)(p.end - p.p))
				goto out;
			const uint8_t *next = p.p + n;
			unsigned sub = rd_n(&p, 1);
			if (sub == 1) {			/* end_sequence */
				ROW(true);
				addr = 0, file = 1, line = 1;
			} else if (sub == 2) {		/* set_address */
				addr = rd_n(&p, (int)(n - 1 > 8 ? 8 : n - 1));
			}
			p.p = next;		/* define_file, discriminator, vendor */
			break;
		}
		case 1: ROW(false); break;				/* copy */
		case 2: addr += rd_uleb(&p) * min_inst; break;		/* advance_pc */
		case 3: line += rd_sleb(&p); break;			/* advance_line */
		case 4: file = rd_uleb(&p); break;			/* set_file */
		case 8: addr += (uint64_t)((255 - opcode_base) / line_range) * min_inst; break;
		case 9: addr += rd_n(&p, 2); break;			/* fixed_advance_pc */
		default:
			for (unsigned i = 0; i < std_len[op]; i++)
				rd_uleb(&p);
			break;
		}
	}
#undef ROW
	ok = !p.bad && !t->oom;
out:
	free(files);
	return ok;
oom:
	t->oom = true;
	free(files);
	return false;
}

/* Steps over one attribute value of any DWARF 2-5 form; false for a form
 * it does not know (the rest of the DIE cannot be found then). */
static bool rd_form_skip(struct rd *r, uint64_t form, int offsize, int addrsize,
			 int version)
{
	switch (form) {
	case 0x19: case 0x21: return true;			/* flag_present, implicit_const */
	case 0x0b: case 0x0c: case 0x11: case 0x25: case 0x29: rd_n(r, 1); return true;
	case 0x05: case 0x12: case 0x26: case 0x2a: rd_n(r, 2); return true;
	case 0x27: case 0x2b: rd_n(r, 3); return true;
	case 0x06: case 0x13: case 0x1c: case 0x28: case 0x2c: rd_n(r, 4); return true;
	case 0x07: case 0x14: case 0x20: case 0x24: rd_n(r, 8); return true;
	case 0x1e: rd_n(r, 8); rd_n(r, 8); return true;
	case 0x01: rd_n(r, addrsize); return true;
	case 0x10: rd_n(r, version <= 2 ? addrsize : offsize); return true;	/* ref_addr */
	case 0x0e: case 0x17: case 0x1d: case 0x1f: rd_n(r, offsize); return true;
	case 0x0d: rd_sleb(r); return true;
	case 0x0f: case 0x15: case 0x1a: case 0x1b: case 0x22: case 0x23: rd_uleb(r); return true;
	case 0x08: rd_str(r); return true;
	case 0x03: case 0x04: case 0x09: case 0x0a: case 0x18: {
		uint64_t n = form == 0x03 ? rd_n(r, 2) : form == 0x04 ? rd_n(r, 4) :
			     form == 0x0a ? rd_n(r, 1) : rd_uleb(r);
		if (n > (uint64_t)(r->end - r->p))
			r->bad = true, r->p = r->end;
		else
			r->p += n;
		return true;
	}
	case 0x16: return rd_form_skip(r, rd_uleb(r), offsize, addrsize, version);
	default: return false;
	}
}

/* Each unit's first DIE: its DW_AT_stmt_list and DW_AT_comp_dir.  Units
 * that cannot be read just leave their line table without a directory. */
static void read_cu_dirs(struct elf_info *e)
{
	struct rd r = { e->info.p, e->info.p + e->info.size, false };
	size_t cap = 0;
	while (e->info.p && r.p < r.end && !r.bad) {
		uint64_t len = rd_n(&r, 4);
		int offsize = 4;
		if (len == 0xffffffff)
			len = rd_n(&r, 8), offsize = 8;
		if (r.bad || len > (uint64_t)(r.end - r.p))
			return;
		struct rd u = { r.p, r.p + len, false };
		r.p += len;
		unsigned version = rd_n(&u, 2), type = 1, addrsize;
		uint64_t abbrev_off;
		if (version >= 5) {
			type = rd_n(&u, 1);
			addrsize = rd_n(&u, 1);
			abbrev_off = rd_n(&u, offsize);
			if (type == 2 || type == 6)	/* type units */
				rd_n(&u, 8), rd_n(&u, offsize);
			else if (type == 4 || type == 5)	/* skeleton, split */
				rd_n(&u, 8);
		} else {
			abbrev_off = rd_n(&u, offsize);
			addrsize = rd_n(&u, 1);
		}
		if (u.bad || version < 2 || version > 5 || abbrev_off >= e->abbrev.size ||
		    (addrsize != 4 && addrsize != 8))
			continue;
		uint64_t code = rd_uleb(&u);
		/* Find the abbreviation of that code. */
		struct rd a = { e->abbrev.p + abbrev_off, e->abbrev.p + e->abbrev.size, false };
		bool found = false;
		while (!a.bad && a.p < a.end) {
			uint64_t c = rd_uleb(&a);
			if (!c)
				break;
			rd_uleb(&a);		/* tag */
			rd_n(&a, 1);		/* children */
			if (c == code) {
				found = true;
				break;
			}
			for (;;) {
				uint64_t at = rd_uleb(&a), form = rd_uleb(&a);
				if (form == 0x21)
					rd_sleb(&a);
				if (a.bad || (!at && !form))
					break;
			}
		}
		if (!found)
			continue;
		struct cu_dir cd = { UINT64_MAX, NULL };
		for (;;) {
			uint64_t at = rd_uleb(&a), form = rd_uleb(&a);
			if (form == 0x21)
				rd_sleb(&a);
			if (a.bad || (!at && !form))
				break;
			const char *str = NULL;
			uint64_t num = 0;
			if (at == 0x1b && (form == FORM_string || form == FORM_strp ||
					   form == FORM_line_strp)) {	/* DW_AT_comp_dir */
				rd_form(&u, e, form, offsize, &str, &num);
				cd.comp_dir = str;
			} else if (at == 0x10 && (form == 0x17 || form == FORM_data4 ||
						  form == FORM_data8)) {	/* DW_AT_stmt_list */
				cd.stmt_list = rd_n(&u, form == 0x17 ? offsize : form == FORM_data4 ? 4 : 8);
			} else if (!rd_form_skip(&u, form, offsize, addrsize, version)) {
				break;
			}
			if (u.bad)
				break;
		}
		if (cd.stmt_list == UINT64_MAX || !cd.comp_dir)
			continue;
		if (e->ncus == cap) {
			struct cu_dir *p = cov_grow(e->cus, &cap, sizeof(*p), 64);
			if (!p)
				return;
			e->cus = p;
		}
		e->cus[e->ncus++] = cd;
	}
}

static int range_cmp(const void *a, const void *b)
{
	const struct cov_line_range *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

static int func_cmp(const void *a, const void *b)
{
	const struct cov_func *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The functions of .symtab (section sh, its strings in sh[link]) that lie
 * in executable segments, as module offsets; one per address (the first
 * name in byte order, so the choice does not depend on symbol order).
 * false when out of memory. */
static bool read_funcs(const uint8_t *img, size_t size, const Elf64_Shdr *shdrs,
		       unsigned shnum, const Elf64_Shdr *sh, const struct elf_info *e,
		       struct cov_lines *out)
{
	if (sh->sh_entsize != sizeof(Elf64_Sym) || sh->sh_link >= shnum ||
	    sh->sh_offset > size || sh->sh_size > size - sh->sh_offset)
		return true;	/* unusable: no functions, lines still count */
	const Elf64_Shdr *strs = &shdrs[sh->sh_link];
	if (strs->sh_offset > size || strs->sh_size > size - strs->sh_offset)
		return true;
	const Elf64_Sym *sym = (const Elf64_Sym *)(img + sh->sh_offset);
	size_t nsym = sh->sh_size / sizeof(Elf64_Sym), cap = 0;
	const char *names = (const char *)img + strs->sh_offset;
	for (size_t i = 0; i < nsym; i++) {
		const Elf64_Sym *y = &sym[i];
		if (ELF64_ST_TYPE(y->st_info) != STT_FUNC || y->st_shndx == SHN_UNDEF ||
		    y->st_name >= strs->sh_size || !names[y->st_name] ||
		    !memchr(names + y->st_name, 0, strs->sh_size - y->st_name))
			continue;
		bool exec = false;
		for (int k = 0; k < e->nexec && !exec; k++)
			exec = y->st_value >= e->exec[k].lo && y->st_value < e->exec[k].hi;
		if (!exec)
			continue;
		if (out->nfuncs == cap) {
			struct cov_func *p = cov_grow(out->funcs, &cap, sizeof(*p), 64);
			if (!p)
				return false;
			out->funcs = p;
		}
		char *name = strdup(names + y->st_name);
		if (!name)
			return false;
		out->funcs[out->nfuncs++] = (struct cov_func){
			.lo = y->st_value - e->base,
			.hi = y->st_value - e->base + (y->st_size ? y->st_size : 1), .name = name };
	}
	if (!out->nfuncs)
		return true;
	qsort(out->funcs, out->nfuncs, sizeof(*out->funcs), func_cmp);
	size_t n = 1;
	for (size_t i = 1; i < out->nfuncs; i++) {
		if (out->funcs[i].lo == out->funcs[n - 1].lo)
			free(out->funcs[i].name);
		else
			out->funcs[n++] = out->funcs[i];
	}
	out->nfuncs = n;
	return true;
}

void cov_lines_free(struct cov_lines *l)
{
	for (size_t i = 0; i < l->nfuncs; i++)
		free(l->funcs[i].name);
	free(l->funcs);
	for (size_t i = 0; i < l->nfiles; i++)
		free(l->files[i]);
	free(l->files);
	free(l->r);
	memset(l, 0, sizeof(*l));
}

int cov_lines_load(const char *elf_path, struct cov_lines *out, char *err, size_t errsz)
{
	struct elf_info e = { 0 };
	struct stat st;
	uint8_t *img = MAP_FAILED;
	int ret = -1;
	FILE *f = fopen(elf_path, "rb");
	memset(out, 0, sizeof(*out));
	if (!f)
		return note(err, errsz, -1, "%s: %s", elf_path, strerror(errno));
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		ret = note(err, errsz, -1, "%s: not an ELF file", elf_path);
		goto done;
	}
	size_t size = (size_t)st.st_size;
	/* Mapped, not read: debug info is often most of a file's size. */
	img = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fileno(f), 0);
	if (img == MAP_FAILED) {
		ret = note(err, errsz, -1, "%s: cannot map: %s", elf_path, strerror(errno));
		goto done;
	}
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		ret = note(err, errsz, -1, "%s: not a 64-bit little-endian ELF file", elf_path);
		goto done;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > size ||
	    (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > size ||
	    (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum || eh->e_shstrndx >= eh->e_shnum) {
		ret = note(err, errsz, -1, "%s: malformed ELF headers", elf_path);
		goto done;
	}
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff);
	bool any_load = false;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		uint64_t page = ph[i].p_vaddr & ~0xfffull;
		if (!any_load || page < e.base)
			e.base = page;
		any_load = true;
		if ((ph[i].p_flags & PF_X) && e.nexec < 16) {
			e.exec[e.nexec].lo = ph[i].p_vaddr;
			e.exec[e.nexec++].hi = ph[i].p_vaddr + ph[i].p_memsz;
		}
	}
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	const Elf64_Shdr *shstr = &sh[eh->e_shstrndx];
	const Elf64_Shdr *symtab = NULL;
	if (shstr->sh_offset > size || shstr->sh_size > size - shstr->sh_offset) {
		ret = note(err, errsz, -1, "%s: malformed section name table", elf_path);
		goto done;
	}
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		struct sect *s = NULL;
		if (sh[i].sh_type == SHT_SYMTAB)
			symtab = &sh[i];
		if (sh[i].sh_name >= shstr->sh_size)
			continue;
		const char *name = (const char *)img + shstr->sh_offset + sh[i].sh_name;
		if (!memchr(name, 0, shstr->sh_size - sh[i].sh_name))
			continue;
		if (!strcmp(name, ".debug_line"))
			s = &e.line;
		else if (!strcmp(name, ".debug_line_str"))
			s = &e.line_str;
		else if (!strcmp(name, ".debug_str"))
			s = &e.str;
		else if (!strcmp(name, ".debug_info"))
			s = &e.info;
		else if (!strcmp(name, ".debug_abbrev"))
			s = &e.abbrev;
		if (!s || sh[i].sh_type == SHT_NOBITS)
			continue;
		if (sh[i].sh_flags & SHF_COMPRESSED) {
			ret = note(err, errsz, 1, "%s: compressed DWARF (%s) is not supported",
				   elf_path, name);
			goto done;
		}
		if (sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset) {
			ret = note(err, errsz, -1, "%s: section %s beyond the end of the file",
				   elf_path, name);
			goto done;
		}
		s->p = img + sh[i].sh_offset;
		s->size = sh[i].sh_size;
	}
	if (!e.line.p) {
		ret = note(err, errsz, 1, "%s: no DWARF line table (.debug_line)", elf_path);
		goto done;
	}
	read_cu_dirs(&e);
	struct lt t = { .out = out, .e = &e };
	struct rd r = { e.line.p, e.line.p + e.line.size, false };
	while (r.p < r.end) {
		const uint8_t *unit = r.p;
		if (!read_unit(&t, &r)) {
			ret = note(err, errsz, t.oom ? -1 : 1, "%s: %s at .debug_line offset %zu",
				   elf_path, t.oom ? "out of memory" : "unreadable line table",
				   (size_t)(unit - e.line.p));
			cov_lines_free(out);
			goto done;
		}
	}
	if (out->n)
		qsort(out->r, out->n, sizeof(*out->r), range_cmp);
	if (symtab && !read_funcs(img, size, sh, eh->e_shnum, symtab, &e, out)) {
		ret = note(err, errsz, -1, "%s: out of memory", elf_path);
		cov_lines_free(out);
		goto done;
	}
	ret = 0;
done:
	free(e.cus);
	if (img != MAP_FAILED)
		munmap(img, (size_t)st.st_size);
	fclose(f);
	return ret;
}

/* ---- the lcov writer ---- */

struct da {
	const char *file;
	uint32_t line;
	uint64_t count;
};

static int da_cmp(const void *a, const void *b)
{
	const struct da *x = a, *y = b;
	int c = strcmp(x->file, y->file);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

struct fn {
	const char *file, *name;
	uint32_t line;
	uint64_t count;
};

static int fn_cmp(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;
	int c = strcmp(x->file, y->file);
	if (c)
		return c;
	c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* The first function, or line range, whose lo is >= v (both arrays are
 * sorted by lo). */
static size_t first_func_at(const struct cov_lines *l, uint64_t v)
{
	size_t a = 0, z = l->nfuncs;
	while (a < z) {
		size_t mid = (a + z) / 2;
		if (l->funcs[mid].lo < v)
			a = mid + 1;
		else
			z = mid;
	}
	return a;
}

static size_t first_range_at(const struct cov_lines *l, uint64_t v)
{
	size_t a = 0, z = l->n;
	while (a < z) {
		size_t mid = (a + z) / 2;
		if (l->r[mid].lo < v)
			a = mid + 1;
		else
			z = mid;
	}
	return a;
}

/* Appends the function records of one module (blocks [b0, b1) of m) to
 * *fns: each function at the line of its first byte, with the most hits
 * of a block holding that byte.  false when out of memory. */
static bool add_fns(const struct cov_model *m, size_t b0, size_t b1,
		    const struct cov_lines *l, struct fn **fns, size_t *nfn, size_t *fncap)
{
	if (!l->nfuncs)
		return true;
	uint64_t *cnt = calloc(l->nfuncs, sizeof(*cnt));
	if (!cnt)
		return false;
	for (size_t b = b0; b < b1; b++) {
		uint64_t lo = m->blocks[b].off;
		uint64_t hi = lo + (m->blocks[b].size ? m->blocks[b].size : 1);
		uint64_t hits = m->blocks[b].hits ? m->blocks[b].hits : 1;
		for (size_t f = first_func_at(l, lo);
		     f < l->nfuncs && l->funcs[f].lo < hi; f++)
			if (hits > cnt[f])
				cnt[f] = hits;
	}
	for (size_t f = 0; f < l->nfuncs; f++) {
		/* The range holding the first byte: among the last few that
		 * start at or below it (ranges overlap rarely, and then
		 * neighbour each other). */
		uint64_t at = l->funcs[f].lo;
		const struct cov_line_range *lr = NULL;
		size_t r = first_range_at(l, at + 1);
		for (size_t k = r; k > 0 && k + 8 > r && !lr; k--)
			if (l->r[k - 1].hi > at)
				lr = &l->r[k - 1];
		if (!lr)
			continue;	/* no source line: not a function of ours */
		if (*nfn == *fncap) {
			struct fn *p = cov_grow(*fns, fncap, sizeof(*p), 64);
			if (!p) {
				free(cnt);
				return false;
			}
			*fns = p;
		}
		(*fns)[(*nfn)++] = (struct fn){ l->files[lr->file], l->funcs[f].name,
						lr->line, cnt[f] };
	}
	free(cnt);
	return true;
}

/* FN, FNDA, FNF and FNH of one source file: fns[*i...] while their file
 * is file.  A name twice in one file (two modules built from it) is one
 * function: its first line, the larger count. */
static void put_fns(FILE *f, const char *file, const struct fn *fns, size_t nfn, size_t *i)
{
	size_t a = *i, z = a;
	unsigned nf = 0, nh = 0;
	while (z < nfn && !strcmp(fns[z].file, file))
		z++;
	for (size_t k = a; k < z; k++)
		if (k == a || strcmp(fns[k].name, fns[k - 1].name))
			fprintf(f, "FN:%u,%s\n", fns[k].line, fns[k].name);
	for (size_t k = a; k < z; ) {
		uint64_t c = 0;
		size_t j = k;
		for (; j < z && !strcmp(fns[j].name, fns[k].name); j++)
			if (fns[j].count > c)
				c = fns[j].count;
		fprintf(f, "FNDA:%llu,%s\n", (unsigned long long)c, fns[k].name);
		nf++;
		nh += c > 0;
		k = j;
	}
	if (nf)
		fprintf(f, "FNF:%u\nFNH:%u\n", nf, nh);
	*i = z;
}

/* Every line the line table knows gets a DA record, 0 unless a block
 * covers part of its code; a block counts its hits (1 when not counted),
 * a line the most of any block over it. */
int cov_write_lcov(struct cov_model *m, FILE *f, const struct cov_write_opts *opts,
		   const char *path, char *err, size_t errsz)
{
	FILE *notes = opts && opts->notes ? opts->notes : stderr;
	bool quiet = opts && opts->no_notes;
	const char *prefix = opts && opts->note_prefix ? opts->note_prefix : "note: ";
	struct cov_lines *lines = calloc(m->nmods + 1, sizeof(*lines));
	struct da *da = NULL;
	size_t nda = 0, dacap = 0;
	struct fn *fns = NULL;
	size_t nfn = 0, fncap = 0;
	int ret = -1;
	if (!lines)
		return note(err, errsz, -1, "%s: out of memory", path);
	/* Blocks are sorted by module (cov_write did it): one run each. */
	for (size_t b0 = 0, b1; b0 < m->nblocks; b0 = b1) {
		uint32_t mi = m->blocks[b0].mod;
		struct cov_module *mod = &m->mods[mi];
		struct cov_lines *l = &lines[mi];
		char msg[512];
		for (b1 = b0; b1 < m->nblocks && m->blocks[b1].mod == mi; b1++)
			;
		if (mod->no_path) {
			if (!quiet)
				fprintf(notes, "%smodule '%s' has no file path; skipped\n",
					prefix, mod->path);
			continue;
		}
		int rc = cov_lines_load(mod->path, l, msg, sizeof(msg));
		if (rc) {	/* missing, stripped or unreadable: the others still count */
			if (!quiet)
				fprintf(notes, "%s%s; module skipped\n", prefix, msg);
			continue;
		}
		uint64_t *cnt = calloc(l->n + 1, sizeof(*cnt));
		if (!cnt) {
			note(err, errsz, -1, "%s: out of memory", path);
			goto out;
		}
		for (size_t b = b0; b < b1; b++) {
			uint64_t lo = m->blocks[b].off;
			uint64_t hi = lo + (m->blocks[b].size ? m->blocks[b].size : 1);
			uint64_t hits = m->blocks[b].hits ? m->blocks[b].hits : 1;
			size_t a = 0, z = l->n;	/* first range with lo >= block lo */
			while (a < z) {
				size_t mid = (a + z) / 2;
				if (l->r[mid].lo < lo)
					a = mid + 1;
				else
					z = mid;
			}
			while (a > 0 && l->r[a - 1].hi > lo)
				a--;
			for (; a < l->n && l->r[a].lo < hi; a++)
				if (l->r[a].hi > lo && hits > cnt[a])
					cnt[a] = hits;
		}
		if (nda + l->n > dacap) {
			size_t cap = 2 * (nda + l->n) + 64;
			struct da *p = realloc(da, cap * sizeof(*p));
			if (!p) {
				free(cnt);
				note(err, errsz, -1, "%s: out of memory", path);
				goto out;
			}
			da = p;
			dacap = cap;
		}
		for (size_t i = 0; i < l->n; i++)
			da[nda++] = (struct da){ l->files[l->r[i].file], l->r[i].line, cnt[i] };
		free(cnt);
		if (!add_fns(m, b0, b1, l, &fns, &nfn, &fncap)) {
			note(err, errsz, -1, "%s: out of memory", path);
			goto out;
		}
	}
	if (!nda) {
		note(err, errsz, -1, "%s: no covered module has source lines in a DWARF "
		     "line table; nothing to write", path);
		goto out;
	}
	qsort(da, nda, sizeof(*da), da_cmp);
	if (nfn)
		qsort(fns, nfn, sizeof(*fns), fn_cmp);
	/* fns' files are a subset of da's (a function's line is in the
	 * table), in the same order. */
	for (size_t i = 0, fi = 0; i < nda; ) {
		const char *file = da[i].file;
		unsigned lf = 0, lh = 0;
		fprintf(f, "TN:%s\nSF:%s\n", opts && opts->test_name ? opts->test_name : "", file);
		while (fi < nfn && strcmp(fns[fi].file, file) < 0)
			fi++;
		put_fns(f, file, fns, nfn, &fi);
		while (i < nda && !strcmp(da[i].file, file)) {
			uint32_t line = da[i].line;
			uint64_t c = 0;
			for (; i < nda && da[i].line == line && !strcmp(da[i].file, file); i++)
				if (da[i].count > c)
					c = da[i].count;
			fprintf(f, "DA:%u,%llu\n", line, (unsigned long long)c);
			lf++;
			lh += c > 0;
		}
		fprintf(f, "LF:%u\nLH:%u\nend_of_record\n", lf, lh);
	}
	ret = 0;
out:
	for (size_t i = 0; i < m->nmods; i++)
		cov_lines_free(&lines[i]);
	free(lines);
	free(da);
	free(fns);
	return ret;
}
