/* Multi-part memory operands that run into a page the program may not
 * access: the x87 environment and save areas (fnstenv, fldenv, fnsave,
 * frstor, in their 32- and 16-bit layouts) and the FXSAVE area, each
 * placed so that it starts in a readable and writable page and ends in a
 * PROT_NONE one, or starts in the PROT_NONE page below and ends in the
 * good one.  Prints the signal, si_code, si_addr relative to the good
 * page and a checksum of the good page (which bytes were written before
 * the fault).  The native run is the oracle: the CPU checks one byte of
 * such an area before it moves any, and reports that byte. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf back;
static uint8_t *good;	/* PROT_NONE page, this page (RW), PROT_NONE page */
static char line[128];

static void handler(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	snprintf(line, sizeof line, "sig %d code %d addr=%+lld", sig, si->si_code,
		 (long long)((uintptr_t)si->si_addr - (uintptr_t)good));
	siglongjmp(back, 1);
}

#define AREA_OP(name, insn)                                                     \
	static void name(uint8_t *p) { __asm__ volatile(insn " (%0)" : : "r"(p) : "memory"); }
AREA_OP(op_fnstenv, "fnstenv")
AREA_OP(op_fldenv, "fldenv")
AREA_OP(op_fnsave, "fnsave")
AREA_OP(op_frstor, "frstor")
AREA_OP(op_fnstenv16, "data16 fnstenv")
AREA_OP(op_fldenv16, "data16 fldenv")
AREA_OP(op_fnsave16, "data16 fnsave")
AREA_OP(op_frstor16, "data16 frstor")
AREA_OP(op_fxsave, "fxsave")
AREA_OP(op_fxrstor, "fxrstor")

struct area_case {
	const char *name;
	void (*fn)(uint8_t *);
	int size, align;
};
static const struct area_case cases[] = {
	{ "fnstenv", op_fnstenv, 28, 1 }, { "fldenv", op_fldenv, 28, 1 },
	{ "fnsave", op_fnsave, 108, 1 }, { "frstor", op_frstor, 108, 1 },
	{ "fnstenv16", op_fnstenv16, 14, 1 }, { "fldenv16", op_fldenv16, 14, 1 },
	{ "fnsave16", op_fnsave16, 94, 1 }, { "frstor16", op_frstor16, 94, 1 },
	{ "fxsave", op_fxsave, 512, 16 }, { "fxrstor", op_fxrstor, 512, 16 },
};

/* An FXSAVE area whose first and last pages are both inaccessible: the
 * CPU touches the last byte first. */
static void fx_both(void)
{
	uint8_t *m = mmap(NULL, 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	good = m + 4096;	/* addresses relative to the second page */
	for (int st = 0; st < 2; st++) {
		strcpy(line, "ok");
		if (!sigsetjmp(back, 1)) {
			if (st)
				__asm__ volatile("fxsave (%0)" : : "r"(m + 4096 - 256) : "memory");
			else
				__asm__ volatile("fxrstor (%0)" : : "r"(m + 4096 - 256) : "memory");
		}
		printf("%s both bad  %s\n", st ? "fxsave" : "fxrstor", line);
	}
}

int main(void)
{
	uint8_t *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 1;
	good = m + 4096;
	mprotect(m, 4096, PROT_NONE);
	mprotect(m + 8192, 4096, PROT_NONE);
	struct sigaction sa = { .sa_sigaction = handler, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	uint8_t saved[512] __attribute__((aligned(16)));
	static uint8_t before[4096];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct area_case *c = &cases[i];
		/* how far the area reaches into the next page, or (negative)
		 * how far it starts below this one */
		int over[] = { 1, 2, c->size / 2, c->size - 16, c->size - 8, c->size - 4, c->size - 3,
			       c->size - 2, c->size - 1, -1, -(c->size / 2), -(c->size - 1) };
		for (size_t k = 0; k < sizeof over / sizeof over[0]; k++) {
			int o = over[k] > 0 ? over[k] : -over[k];
			o = (o + c->align - 1) / c->align * c->align;
			if (o >= c->size)
				continue;
			uint8_t *volatile p = over[k] > 0 ? good + 4096 - c->size + o : good - o;
			/* a valid image to load: the state as it is now */
			__asm__ volatile("fxsave %0" : "=m"(saved));
			memset(good, 0x5a, 4096);
			memcpy(good, saved, 512);
			memcpy(good + 4096 - 512, saved, 512);
			if (c->size < 512) {
				__asm__ volatile("fnstenv %0" : "=m"(*(uint8_t(*)[28])(good + 4096 - 28)));
				__asm__ volatile("fldenv %0" : : "m"(*(uint8_t(*)[28])(good + 4096 - 28)));
			}
			memcpy(before, good, 4096);
			strcpy(line, "ok");
			if (!sigsetjmp(back, 1))
				c->fn(p);
			__asm__ volatile("fxrstor %0" : : "m"(saved));
			/* which bytes changed (their values hold addresses) */
			int changed = 0, first = -1;
			for (int b = 0; b < 4096; b++)
				if (good[b] != before[b]) {
					changed++;
					if (first < 0)
						first = b;
				}
			printf("%-10s %+5d  %s  %d bytes written from %d\n", c->name, over[k], line, changed,
			       first);
		}
	}
	fx_both();
	return 0;
}
