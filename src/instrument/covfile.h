/*
 * Coverage files: an in-memory model of block coverage and its file formats.
 *
 * A model is a table of modules (the files the guest mapped, each with the
 * address range it occupied) and a set of blocks, each named by (module,
 * offset from the module's base, size, optional hit count).  Offsets, not
 * addresses, are what make results comparable across ASLR and processes.
 * The recorder inside loom builds a model with cov_add_module/cov_add_block
 * (or cov_add_addr) and writes it with cov_write; build/loom-cov reads,
 * merges, compares and converts files with the same code.
 *
 * This file and covfile.c, covline.c are plain C and libc: no loom internals,
 * no global state, so a recorder may call them from any thread that owns the
 * model (a model is not locked; one writer at a time).
 *
 * Formats (docs/coverage.md has the details and examples):
 *   drcov   DynamoRIO's drcov log, "DRCOV VERSION: 2" with a module table of
 *           version 2 and a binary BB table; read also: module tables 1-5 and
 *           text BB tables as DynamoRIO writes them.
 *   modoff  text, one "name+0xoffset" per line (Lighthouse's module+offset).
 *   lcov    tracefile (.info) through each module file's DWARF line table;
 *           write only.
 *   bitmap  loom's own: a text header naming a module or address range and
 *           a granularity, then one bit per granule.
 *
 * Invariant: a block is identified by (module, offset); adding it again
 * keeps the larger size and adds the hit counts, never a second entry.
 */
#ifndef LOOM_INSTRUMENT_COVFILE_H
#define LOOM_INSTRUMENT_COVFILE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cov_format { COV_DRCOV, COV_MODOFF, COV_LCOV, COV_BITMAP, COV_NFORMATS };

struct cov_module {
	char *path;		/* the mapped file; for modoff input, only a name */
	char *name;		/* modoff name, filled by cov_module_name() */
	uint64_t base, end;	/* [base, end) when it was mapped; 0, 0 if unknown */
	uint64_t entry;		/* entry point, 0 if unknown */
	bool no_path;		/* read from a file that names modules only */
};

struct cov_block {
	uint64_t off;		/* from the module's base */
	uint32_t mod;		/* index into the model's modules */
	uint32_t size;		/* bytes; 0 when the format does not say */
	uint64_t hits;		/* executions, 0 when not counted */
};

struct cov_model {
	struct cov_module *mods;
	size_t nmods, mods_cap;
	struct cov_block *blocks;
	size_t nblocks, blocks_cap;
	uint32_t *slots;	/* hash of (mod, off): block index + 1, 0 = free */
	size_t nslots;
	size_t skipped;		/* blocks read that were in no module */
	size_t last_mod;	/* cov_find_module's guess, */
	bool overlaps;		/* unless module ranges overlap */
	enum cov_format format;	/* what cov_read found */
	bool has_hits;		/* some block carries a hit count */
	bool names_valid;
};

struct cov_model *cov_new(void);
void cov_free(struct cov_model *m);
/* Forgets every block (a "clear coverage" command); modules stay. */
void cov_clear(struct cov_model *m);

/* Returns the new module's index, or -1 when out of memory.  end is
 * exclusive.  Two mappings of one path are two modules with one name. */
int cov_add_module(struct cov_model *m, const char *path, uint64_t base,
		   uint64_t end, uint64_t entry);
/* The module whose [base, end) holds addr (the latest added, if ranges
 * overlap), or -1.  A linear search behind a one-entry cache. */
int cov_find_module(struct cov_model *m, uint64_t addr);
/* 0, or -1 when out of memory or mod is not a module. */
int cov_add_block(struct cov_model *m, uint32_t mod, uint64_t off,
		  uint32_t size, uint64_t hits);
/* A block by address: 1 added, 0 in no module (counted in skipped), -1
 * out of memory. */
int cov_add_addr(struct cov_model *m, uint64_t addr, uint32_t size,
		 uint64_t hits);
/* The block at (mod, off), or NULL. */
struct cov_block *cov_lookup(struct cov_model *m, uint32_t mod, uint64_t off);
/* The module's modoff name: its file's basename, with "#2", "#3"... for a
 * second, third... path sharing that basename (by module order). */
const char *cov_module_name(struct cov_model *m, uint32_t mod);
/* Sorts blocks by (module, offset); every writer does this first. */
int cov_sort(struct cov_model *m);
/* Whether module i of a and module j of b are one file: the same path, or,
 * when either is known by name only, the same name.  -1: out of memory. */
int cov_same_module(struct cov_model *a, uint32_t i, struct cov_model *b, uint32_t j);
/* Adds src's modules and blocks to dst; a module of src becomes the first
 * of dst that cov_same_module matches, or a new one.  Hit counts add up.
 * 0, or -1 when out of memory. */
int cov_merge(struct cov_model *dst, struct cov_model *src);

struct cov_write_opts {
	/* bitmap: a module (path or name) with an offset range [start, end)
	 * within it (end 0: the whole module), or, with module NULL, an
	 * absolute address range [start, end). */
	const char *module;
	uint64_t start, end;
	unsigned granularity;	/* bytes per bit; 0 means 16 */
	const char *test_name;	/* lcov TN:, may be NULL */
	FILE *notes;		/* lcov's notes (modules skipped); NULL: stderr */
	const char *note_prefix;	/* before each note; NULL: "note: " */
	bool no_notes;		/* lcov: print no notes at all */
	bool no_fsync;		/* the file need only survive the process, not the machine */
};

/* The first module whose path or modoff name is which, or -1. */
int cov_find_module_named(struct cov_model *m, const char *which);
/* Whether cov_write could put a file at path: its directory takes a new
 * file (one is created and removed) and path is no directory.  0, or -1
 * with a one-line message in err. */
int cov_probe_path(const char *path, char *err, size_t errsz);

/* Writes atomically (to PATH.tmp.PID.N, then rename).  0, or -1 with a
 * one-line message in err ("PATH: what is wrong"). */
int cov_write(struct cov_model *m, enum cov_format fmt, const char *path,
	      const struct cov_write_opts *opts, char *err, size_t errsz);
/* Reads a drcov, modoff or bitmap file, detected from its contents.  NULL
 * with a one-line message in err ("PATH: line N: what is wrong"). */
struct cov_model *cov_read(const char *path, char *err, size_t errsz);

/* "drcov", "modoff", "lcov", "bitmap" <-> enum; -1 for an unknown name. */
int cov_format_parse(const char *name);
const char *cov_format_name(enum cov_format fmt);


/* covline.c: a module file's DWARF line table, for the lcov writer. */
struct cov_line_range {
	uint64_t lo, hi;	/* module offsets [lo, hi) */
	uint32_t file;		/* index into files */
	uint32_t line;
};
struct cov_func {
	uint64_t lo, hi;	/* module offsets [lo, hi) */
	char *name;		/* the symbol's name, as the symbol table has it */
};
struct cov_lines {
	struct cov_line_range *r;	/* sorted by lo */
	size_t n;
	char **files;
	size_t nfiles;
	struct cov_func *funcs;	/* the symbol table's functions, sorted by lo */
	size_t nfuncs;
};
/* 0 loaded, 1 the file has no usable line table (why in err), -1 the file
 * is unreadable or malformed (err).  Offsets are from the lowest PT_LOAD
 * page, which is where a module's base maps.  Functions come from .symtab
 * (none when it is stripped): defined STT_FUNC symbols in executable
 * segments, one per address. */
int cov_lines_load(const char *elf_path, struct cov_lines *out, char *err,
		   size_t errsz);
void cov_lines_free(struct cov_lines *l);
/* The arrays of this file and covline.c grow by doubling: arr (of cap
 * elements of elem bytes, first the size of the first allocation) made
 * twice as big; the new array, or NULL with arr and *cap unchanged. */
void *cov_grow(void *arr, size_t *cap, size_t elem, size_t first);

/* The lcov writer behind cov_write(COV_LCOV). */
int cov_write_lcov(struct cov_model *m, FILE *f, const struct cov_write_opts *opts,
		   const char *path, char *err, size_t errsz);

#endif
