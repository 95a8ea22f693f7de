/*
 * What every reader of a guest kernel's image and memory in osi/ shares:
 * little-endian loads from a byte buffer (the image is read as bytes, never
 * cast, so a malformed or misaligned table cannot fault).  Failures are
 * reported with util/log.h's fail_msg.
 */
#ifndef LOOM_SYSTEM_OSI_UTIL_H
#define LOOM_SYSTEM_OSI_UTIL_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t osi_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t osi_rd32(const uint8_t *p) { return osi_rd16(p) | (uint32_t)osi_rd16(p + 2) << 16; }
static inline uint64_t osi_rd64(const uint8_t *p) { return osi_rd32(p) | (uint64_t)osi_rd32(p + 4) << 32; }

#endif
