/*
 * The guest kernel's symbols without a System.map: the kallsyms tables the
 * kernel keeps in its own .rodata (for /proc/kallsyms and oops traces), and
 * the export tables (__ksymtab, __ksymtab_gpl, __ksymtab_strings).
 *
 * kallsyms holds every symbol (with CONFIG_KALLSYMS_ALL, data too: init_task,
 * modules, the per-cpu current_task); nothing labels the tables in a
 * stripped vmlinux, so the decoder finds them by their structure — the
 * 256-entry token index and its token table, the symbol count, names and
 * markers before them — and checks each against the next.  Addresses are
 * link-time: a KASLR guest adds one slide to all but per-cpu ones, which
 * are offsets into each CPU's per-cpu area.
 *
 * The export tables are a second, independent source for the exported
 * symbols, which the tests use to check the decoder.
 */
#ifndef LOOM_SYSTEM_OSI_KALLSYMS_H
#define LOOM_SYSTEM_OSI_KALLSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "system/osi/vmlinux.h"

struct osi_ksym {
	uint64_t addr;		/* link-time address, or a per-cpu offset */
	const char *name;
	char type;		/* nm's letter: T t D d R r B b A ... */
	bool percpu;		/* addr is an offset into the per-cpu area */
};

struct osi_kallsyms {
	struct osi_ksym *syms;	/* in table order (sorted by address) */
	uint32_t count;
	char *pool;		/* the expanded names */
	uint32_t *by_name;	/* indices into syms sorted by name */
	uint64_t relative_base;
	/* where the tables were found (link-time addresses), for -d output
	 * and for the tests */
	uint64_t offsets_at, num_syms_at, names_at, markers_at, seqs_of_names_at,
		 token_table_at, token_index_at;
};

/* Find and expand the kallsyms tables.  0, or -1 with one line in err. */
int osi_kallsyms_load(struct osi_kallsyms *ks, const struct osi_vmlinux *vm, char *err,
		      size_t errsz);
void osi_kallsyms_free(struct osi_kallsyms *ks);
/* The symbol called name, or NULL.  Of several with that name, the global
 * one, else the first static one in address order. */
const struct osi_ksym *osi_kallsyms_lookup(const struct osi_kallsyms *ks, const char *name);
/* Its address, or 0 when absent. */
uint64_t osi_kallsyms_addr(const struct osi_kallsyms *ks, const char *name);

/* One exported symbol, from the kernel's struct kernel_symbol. */
struct osi_export {
	uint64_t addr;
	const char *name;	/* points into the image */
	const char *ns;		/* symbol namespace, "" for none */
	bool gpl;
};
/*
 * Read __ksymtab and __ksymtab_gpl.  x86-64 kernels store each entry as
 * three 32-bit offsets relative to the field's own address (value, name,
 * namespace: CONFIG_HAVE_ARCH_PREL32_RELOCATIONS).  A malloc'd array and
 * its length in *n, or NULL with err set.
 */
struct osi_export *osi_ksymtab_load(const struct osi_vmlinux *vm, size_t *n, char *err,
				    size_t errsz);

#endif
