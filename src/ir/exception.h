/*
 * A guest CPU exception as data: what the frontend and helpers raise, what
 * the backend reads out of a host fault (host_fault_exception), what exec
 * carries out of translated code and hands to the environment.  It sits
 * below all three, beside the TB (ir/tb.h), because each of them fills or
 * reads it and none may include another's header for it.
 */
#ifndef LOOM_IR_EXCEPTION_H
#define LOOM_IR_EXCEPTION_H

#include <stdint.h>

/*
 * A guest CPU exception, as the guest architecture defines it (x86: the
 * vector, its error code, CR2; guest/x86/cpu.h names the vectors).  The
 * frontend, helpers and the host-fault mapping raise it; the environment
 * decides what it becomes: src/linux/ the signal the kernel's trap handler
 * would send (linux/trap.c), whole-system mode a delivery through the
 * guest's IDT.  The guest state is the one the CPU reports with it: the
 * faulting instruction's for a fault, the next instruction's for a trap.
 */
struct guest_exception {
	uint8_t vector;
	uint8_t flags;		/* EXC_* */
	/* User mode only, for a page fault: what the guest's memory map has
	 * at addr (the host kernel's verdict when the host faulted), which
	 * Linux reports and the error code does not tell (a PROT_NONE page
	 * is mapped but not present; a file page past the file's end). */
	uint8_t map;		/* enum exc_map */
	uint32_t error_code;	/* valid with EXC_HAS_ERROR */
	uint64_t addr;		/* page fault: the address accessed (x86: CR2) */
	uint64_t info;		/* vector-specific state the CPU reports
				 * elsewhere (x86 #DB: the DR6 bits it sets) */
};
enum {
	EXC_HAS_ERROR = 1 << 0,	/* the vector pushes an error code */
	EXC_SOFTWARE = 1 << 1,	/* raised by an instruction for the purpose,
				 * which delivery treats as such (x86: int n,
				 * int3, into: the gate's DPL is checked;
				 * not int1, delivered as a hardware #DB) */
};
enum exc_map {
	EXC_MAP_UNKNOWN,	/* not said: the error code's present bit decides */
	EXC_MAP_NONE,		/* no mapping there */
	EXC_MAP_DENIED,		/* a mapping that does not allow the access */
	EXC_MAP_NOBACKING,	/* a file mapping past the end of its file */
};

#endif
