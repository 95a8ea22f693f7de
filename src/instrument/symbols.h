/* Guest symbols for tools (instrument/symbols.c). */
#ifndef LOOM_INSTRUMENT_SYMBOLS_H
#define LOOM_INSTRUMENT_SYMBOLS_H
#include <stdbool.h>
#include <stdint.h>
/* The name of the function whose ELF symbol covers addr, or NULL. */
const char *symbol_at(uint64_t addr);
/* The file mapped at addr (the guest's own file mappings): its path, where
 * its offset 0 is mapped, and the end of its mappings. */
bool guest_module_of(uint64_t addr, const char **path, uint64_t *base, uint64_t *end);
#endif
