/*
 * A cache of what introspection takes from a guest kernel's image: the
 * structure layout (osi_linux_layout) and the two link-time addresses the
 * reader needs.  Working them out decompresses the whole vmlinux and
 * parses its BTF and kallsyms, most of a second of host CPU at every boot
 * with coverage; the result is a few hundred bytes that depend on the
 * image's bytes alone.
 *
 * One file per image, named by a hash of the image's contents, holding the
 * image's size and hash, a version that covers the record's shape and the
 * field table's names, and a checksum of the whole record.  A record that
 * does not match in every one of these is not used (the caller reads the
 * image as if there were no cache, and overwrites it), so a corrupt, stale
 * or foreign file costs a second, never a wrong answer.  Another version's
 * record is a plain miss; a damaged one is reported.
 */
#ifndef LOOM_SYSTEM_OSI_CACHE_H
#define LOOM_SYSTEM_OSI_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "system/osi/linux.h"

struct osi_cache_entry {
	struct osi_linux_layout layout;
	uint64_t init_top_pgt, end;	/* link-time */
};

/* The directory: $LOOM_CACHE_DIR, else $XDG_CACHE_HOME/loom, else
 * $HOME/.cache/loom; NULL when LOOM_CACHE_DIR is "off" or none is set. */
const char *osi_cache_dir(void);

/* The key of the image at path (a hash of its contents and its size), or
 * -1 with err set when it cannot be read. */
int osi_cache_key(const char *path, uint64_t *hash, uint64_t *size, char *err, size_t errsz);

/* 1 and *e filled when dir holds a valid record for (hash, size); 0 when it
 * holds none, or another version's; -1 with why set when it holds one that
 * is damaged or for another image. */
int osi_cache_load(const char *dir, uint64_t hash, uint64_t size, struct osi_cache_entry *e,
		   char *why, size_t whysz);

/* Write the record (creating dir; through a temporary file and a rename,
 * so a reader never sees half of it).  0, or -1 with err set. */
int osi_cache_store(const char *dir, uint64_t hash, uint64_t size, const struct osi_cache_entry *e,
		    char *err, size_t errsz);

#endif
