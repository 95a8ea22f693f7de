/*
 * The CMOS real-time clock (Motorola MC146818 as in every PC) at ports
 * 0x70 (index; bit 7 masks NMI) and 0x71 (data): time and date, alarm,
 * registers A-D, periodic/alarm/update-ended interrupts on ISA IRQ 8, and
 * the 114 bytes of battery-backed RAM, filled as a PC BIOS leaves them
 * (memory sizes, equipment byte, century).
 *
 * The clock starts at the host's wall-clock time (UTC, as Linux on a PC
 * expects unless told otherwise) and then advances with virtual time, so
 * it stands still while the monitor has the machine stopped.
 */
#ifndef LOOM_SYSTEM_RTC_H
#define LOOM_SYSTEM_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "system/irq.h"

struct rtc;

/* Map ports 0x70/0x71; ram_size is the machine's RAM in bytes (-m), which
 * the CMOS memory-size bytes report. */
struct rtc *rtc_new(struct irq irq8, uint64_t ram_size);
/* The same with the clock's start given (Unix time in ns, UTC) instead of
 * read from the host: tests. */
struct rtc *rtc_new_at(struct irq irq8, uint64_t ram_size, int64_t unix_ns);
/* The chip's RESET pin, which a PC drives on machine reset: interrupt
 * enables (PIE, AIE, UIE) and square-wave output off, flags cleared, IRQ 8
 * low.  The time and the CMOS RAM survive (the battery keeps them). */
void rtc_reset(struct rtc *rtc);
/* Bit 7 of the last index written to port 0x70. */
bool rtc_nmi_masked(const struct rtc *rtc);

#endif
