/* Guest symbols for tools (instrument/symbols.c). */
#ifndef LOOM_INSTRUMENT_SYMBOLS_H
#define LOOM_INSTRUMENT_SYMBOLS_H
#include <stdbool.h>
#include <stdint.h>
/* The name of the function whose ELF symbol covers addr, or NULL. */
const char *symbol_at(uint64_t addr);
#endif
