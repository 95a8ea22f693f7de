/*
 * The HMP monitor (monitor.h): a command table, an argument parser with
 * HMP's expression syntax, and output formatted as qemu-system-x86_64 7.2
 * prints it, line for line (its `info registers`, `info tlb`, `info mem`
 * and `x`/`xp` layouts were read off a running qemu-system and are pinned
 * by tests/unit/test_monitor.c).
 *
 * Two departures, both deliberate: an argument is one whitespace-free
 * word (HMP lets an expression run across spaces, so its `memsave 0 16
 * /tmp/f` reads "16 / tmp" and fails; here a file name may start with
 * '/'), and register names include the 64-bit ones ($rax, $rip) next to
 * HMP's ($pc, $eax...).
 *
 * The machine is only what monitor_ops offers; nothing here touches
 * physmem or the CPU directly.
 */
#include "system/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CR0_PE (1ull << 0)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

/* Descriptor flags (the high dword of a segment descriptor). */
#define DESC_A (1u << 8)
#define DESC_W (1u << 9)	/* data: writable; code: readable */
#define DESC_E (1u << 10)	/* data: expand-down; code: conforming */
#define DESC_CODE (1u << 11)
#define DESC_S (1u << 12)
#define DESC_P (1u << 15)
#define DESC_L (1u << 21)
#define DESC_B (1u << 22)

static void out(struct monitor *mon, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out(struct monitor *mon, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(mon->out, fmt, ap);
	va_end(ap);
}

void monitor_init(struct monitor *mon, const struct monitor_ops *ops, void *opaque, FILE *f)
{
	mon->ops = ops;
	mon->opaque = opaque;
	mon->out = f;
	mon->last_format = 'x';
	mon->last_size = 4;
}

/* ---- Arguments -------------------------------------------------------- */

/* A failed parse: the first line of HMP's two-line complaint.  The second
 * ("Try "help CMD" ...") is added by the command dispatcher. */
struct parse {
	struct monitor *mon;
	const char *p;		/* within the current word */
	const char *end;
	char err[128];
};

static bool perr(struct parse *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool perr(struct parse *ps, const char *fmt, ...)
{
	va_list ap;
	if (ps->err[0])
		return false;
	va_start(ap, fmt);
	vsnprintf(ps->err, sizeof(ps->err), fmt, ap);
	va_end(ap);
	return false;
}

/* The registers `$name` reads: HMP's x86 names and the 64-bit ones. */
static const struct { const char *name; int gpr; } reg_names[] = {
	{ "rax", 0 }, { "rcx", 1 }, { "rdx", 2 }, { "rbx", 3 }, { "rsp", 4 }, { "rbp", 5 },
	{ "rsi", 6 }, { "rdi", 7 }, { "r8", 8 }, { "r9", 9 }, { "r10", 10 }, { "r11", 11 },
	{ "r12", 12 }, { "r13", 13 }, { "r14", 14 }, { "r15", 15 },
	{ "eax", 0 }, { "ecx", 1 }, { "edx", 2 }, { "ebx", 3 }, { "esp", 4 }, { "ebp", 5 },
	{ "esi", 6 }, { "edi", 7 },
	{ "pc", -1 }, { "rip", -1 }, { "eip", -1 }, { "eflags", -2 }, { "rflags", -2 },
};

static bool parse_expr(struct parse *ps, uint64_t *v);

static bool parse_primary(struct parse *ps, uint64_t *v)
{
	const char *p = ps->p;
	if (p >= ps->end)
		return perr(ps, "unexpected end of expression");
	if (*p == '(') {
		ps->p++;
		if (!parse_expr(ps, v))
			return false;
		if (ps->p >= ps->end || *ps->p != ')')
			return perr(ps, "')' expected");
		ps->p++;
		return true;
	}
	if (*p == '$') {
		char name[16];
		size_t n = 0;
		p++;
		while (p < ps->end && n + 1 < sizeof(name) &&
		       ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			name[n++] = *p++;
		name[n] = 0;
		ps->p = p;
		struct monitor_regs r;
		for (size_t i = 0; i < sizeof(reg_names) / sizeof(reg_names[0]); i++) {
			if (strcmp(name, reg_names[i].name))
				continue;
			if (!ps->mon->ops->get_regs || !ps->mon->ops->get_regs(ps->mon->opaque, &r))
				return perr(ps, "no CPU defined");
			*v = reg_names[i].gpr >= 0 ? r.gpr[reg_names[i].gpr]
			     : reg_names[i].gpr == -1 ? r.seg[MON_CS].base + r.rip : r.rflags;
			return true;
		}
		return perr(ps, "unknown register");
	}
	if (*p >= '0' && *p <= '9') {
		char buf[64];
		size_t n = 0;
		while (p < ps->end && n + 1 < sizeof(buf) &&
		       ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			(*p >= 'A' && *p <= 'F') || *p == 'x' || *p == 'X'))
			buf[n++] = *p++;
		buf[n] = 0;
		char *e;
		errno = 0;
		*v = strtoull(buf, &e, 0);
		if (errno)
			return perr(ps, "number too large");
		ps->p += e - buf;
		return true;
	}
	return perr(ps, "invalid char '%c' in expression", *p);
}

static bool parse_unary(struct parse *ps, uint64_t *v)
{
	if (ps->p < ps->end && (*ps->p == '-' || *ps->p == '+' || *ps->p == '~')) {
		char op = *ps->p++;
		if (!parse_unary(ps, v))
			return false;
		*v = op == '-' ? -*v : op == '~' ? ~*v : *v;
		return true;
	}
	return parse_primary(ps, v);
}

static bool parse_prod(struct parse *ps, uint64_t *v)
{
	if (!parse_unary(ps, v))
		return false;
	while (ps->p < ps->end && strchr("*/%", *ps->p)) {
		char op = *ps->p++;
		uint64_t w;
		if (!parse_unary(ps, &w))
			return false;
		if (op != '*' && w == 0)
			return perr(ps, "division by zero");
		*v = op == '*' ? *v * w : op == '/' ? *v / w : *v % w;
	}
	return true;
}

static bool parse_logic(struct parse *ps, uint64_t *v)
{
	if (!parse_prod(ps, v))
		return false;
	while (ps->p < ps->end && strchr("&|^", *ps->p)) {
		char op = *ps->p++;
		uint64_t w;
		if (!parse_prod(ps, &w))
			return false;
		*v = op == '&' ? *v & w : op == '|' ? *v | w : *v ^ w;
	}
	return true;
}

static bool parse_expr(struct parse *ps, uint64_t *v)
{
	if (!parse_logic(ps, v))
		return false;
	while (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) {
		char op = *ps->p++;
		uint64_t w;
		if (!parse_logic(ps, &w))
			return false;
		*v = op == '+' ? *v + w : *v - w;
	}
	return true;
}

/* The next whitespace-separated word of *line, or NULL. */
static const char *next_word(const char **line, size_t *len)
{
	const char *p = *line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p) {
		*line = p;
		return NULL;
	}
	const char *w = p;
	if (*p == '"') {
		/* A quoted string: up to the closing quote. */
		const char *q = strchr(p + 1, '"');
		if (q) {
			*len = (size_t)(q - p + 1);
			*line = q + 1;
			return w;
		}
	}
	while (*p && *p != ' ' && *p != '\t')
		p++;
	*len = (size_t)(p - w);
	*line = p;
	return w;
}

/* An expression argument (one word). */
static bool arg_expr(struct parse *ps, const char **line, uint64_t *v)
{
	size_t len;
	const char *w = next_word(line, &len);
	if (!w)
		return perr(ps, "unexpected end of expression");
	ps->p = w;
	ps->end = w + len;
	if (!parse_expr(ps, v))
		return false;
	if (ps->p < ps->end)
		return perr(ps, "invalid char '%c' in expression", *ps->p);
	return true;
}

/* A string argument (a word, or a "quoted string"). */
static bool arg_string(struct parse *ps, const char **line, const char *cmd, char *buf,
		       size_t size)
{
	size_t len;
	const char *w = next_word(line, &len);
	if (!w)
		return perr(ps, "%s: string expected", cmd);
	if (len >= 2 && w[0] == '"' && w[len - 1] == '"') {
		w++;
		len -= 2;
	}
	if (len >= size)
		return perr(ps, "%s: string too long", cmd);
	memcpy(buf, w, len);
	buf[len] = 0;
	return true;
}

/* x/xp's "/[count][format][size]", as HMP reads it: a missing format or
 * size is the last one used. */
static bool arg_format(struct parse *ps, const char **line, unsigned long *count, char *format,
		       unsigned *size)
{
	const char *p = *line;
	while (*p == ' ' || *p == '\t')
		p++;
	*count = 1;
	*format = ps->mon->last_format;
	*size = ps->mon->last_size;
	if (*p != '/') {
		*line = p;
		return true;
	}
	p++;
	if (*p >= '0' && *p <= '9') {
		*count = 0;
		while (*p >= '0' && *p <= '9')
			*count = *count * 10 + (unsigned long)(*p++ - '0');
	}
	int f = -1, s = -1;
	for (;; p++) {
		if (strchr("oduxic", *p) && *p)
			f = *p;
		else if (*p == 'b')
			s = 1;
		else if (*p == 'h')
			s = 2;
		else if (*p == 'w')
			s = 4;
		else if (*p == 'g' || *p == 'L')
			s = 8;
		else
			break;
	}
	if (*p && *p != ' ' && *p != '\t')
		return perr(ps, "invalid char in format: '%c'", *p);
	if (f >= 0)
		*format = (char)f;
	if (s >= 0)
		*size = (unsigned)s;
	ps->mon->last_format = *format;
	ps->mon->last_size = *size;
	*line = p;
	return true;
}

/* ---- Page tables ------------------------------------------------------ */

static uint64_t canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16);
}

static bool long_paging(const struct monitor_regs *r)
{
	return (r->cr0 & CR0_PG) && (r->cr4 & CR4_PAE) && (r->efer & EFER_LMA) &&
	       !(r->cr4 & CR4_LA57);
}

static bool read_pte(struct monitor *mon, uint64_t table, unsigned index, uint64_t *pte)
{
	return mon->ops->read_phys(mon->opaque, (table & PTE_ADDR) + index * 8, pte, 8);
}

/* va -> pa through the tables at regs->cr3; false if not mapped.  No
 * paging: identity.  Only 4-level long-mode paging is walked. */
static bool translate(struct monitor *mon, const struct monitor_regs *r, uint64_t va,
		      uint64_t *pa)
{
	uint64_t e, table = r->cr3;

	if (!(r->cr0 & CR0_PG)) {
		*pa = va;
		return true;
	}
	if (!long_paging(r) || canonical(va) != va)
		return false;
	for (int level = 3; level >= 0; level--) {
		if (!read_pte(mon, table, (unsigned)(va >> (12 + 9 * level)) & 511, &e) ||
		    !(e & PTE_P))
			return false;
		if (level == 0 || ((level == 1 || level == 2) && (e & PTE_PS))) {
			uint64_t page = 1ull << (12 + 9 * level);
			*pa = (e & PTE_ADDR & ~(page - 1)) | (va & (page - 1));
			return true;
		}
		table = e;
	}
	return false;
}

static bool read_virt(struct monitor *mon, uint64_t va, void *buf, size_t len)
{
	if (mon->ops->read_virt)
		return mon->ops->read_virt(mon->opaque, va, buf, len);
	struct monitor_regs r;
	if (!mon->ops->get_regs || !mon->ops->get_regs(mon->opaque, &r))
		return false;
	while (len) {
		uint64_t pa;
		size_t n = 4096 - (va & 4095);
		if (n > len)
			n = len;
		if (!translate(mon, &r, va, &pa) || !mon->ops->read_phys(mon->opaque, pa, buf, n))
			return false;
		va += n;
		buf = (char *)buf + n;
		len -= n;
	}
	return true;
}

/* `info tlb`: every present leaf, "VA: PA flags". */
static void tlb_leaf(struct monitor *mon, uint64_t va, uint64_t pte, uint64_t mask)
{
	out(mon, "%016" PRIx64 ": %016" PRIx64 " %c%c%c%c%c%c%c%c%c\n", canonical(va), pte & mask,
	    pte & PTE_NX ? 'X' : '-', pte & PTE_G ? 'G' : '-', pte & PTE_PS ? 'P' : '-',
	    pte & PTE_D ? 'D' : '-', pte & PTE_A ? 'A' : '-', pte & PTE_PCD ? 'C' : '-',
	    pte & PTE_PWT ? 'T' : '-', pte & PTE_U ? 'U' : '-', pte & PTE_W ? 'W' : '-');
}

/* `info mem`: runs of virtual addresses with the same effective
 * protection (U/W/P anded over the levels), ended where it changes. */
struct mem_run {
	uint64_t start;		/* ~0: no run open */
	uint64_t prot;
};

static void mem_step(struct monitor *mon, struct mem_run *run, uint64_t end, uint64_t prot)
{
	if (prot == run->prot)
		return;
	if (run->start != ~0ull)
		out(mon, "%016" PRIx64 "-%016" PRIx64 " %016" PRIx64 " %c%c%c\n",
		    canonical(run->start), canonical(end), canonical(end - run->start),
		    run->prot & PTE_U ? 'u' : '-', 'r', run->prot & PTE_W ? 'w' : '-');
	run->start = prot ? end : ~0ull;
	run->prot = prot;
}

/* Walk all four levels; leaf() for `info tlb`, or the run for `info mem`. */
static void walk_all(struct monitor *mon, const struct monitor_regs *r, bool tlb)
{
	const uint64_t pmask = PTE_U | PTE_W | PTE_P;
	struct mem_run run = { ~0ull, 0 };
	uint64_t t1[512], t2[512], t3[512], t4[512];

	if (!mon->ops->read_phys(mon->opaque, r->cr3 & PTE_ADDR, t1, sizeof(t1)))
		return;
	for (uint64_t l1 = 0; l1 < 512; l1++) {
		uint64_t e1 = t1[l1], va1 = l1 << 39;
		if (!(e1 & PTE_P) ||
		    !mon->ops->read_phys(mon->opaque, e1 & PTE_ADDR, t2, sizeof(t2))) {
			if (!tlb)
				mem_step(mon, &run, va1, 0);
			continue;
		}
		for (uint64_t l2 = 0; l2 < 512; l2++) {
			uint64_t e2 = t2[l2], va2 = va1 + (l2 << 30);
			if (!(e2 & PTE_P)) {
				if (!tlb)
					mem_step(mon, &run, va2, 0);
				continue;
			}
			if (e2 & PTE_PS) {
				if (tlb)
					tlb_leaf(mon, va2, e2, 0x3ffffc0000000ull);
				else
					mem_step(mon, &run, va2, e2 & e1 & pmask);
				continue;
			}
			if (!mon->ops->read_phys(mon->opaque, e2 & PTE_ADDR, t3, sizeof(t3)))
				continue;
			for (uint64_t l3 = 0; l3 < 512; l3++) {
				uint64_t e3 = t3[l3], va3 = va2 + (l3 << 21);
				if (!(e3 & PTE_P)) {
					if (!tlb)
						mem_step(mon, &run, va3, 0);
					continue;
				}
				if (e3 & PTE_PS) {
					if (tlb)
						tlb_leaf(mon, va3, e3, 0x3ffffffe00000ull);
					else
						mem_step(mon, &run, va3, e3 & e2 & e1 & pmask);
					continue;
				}
				if (!mon->ops->read_phys(mon->opaque, e3 & PTE_ADDR, t4, sizeof(t4)))
					continue;
				for (uint64_t l4 = 0; l4 < 512; l4++) {
					uint64_t e4 = t4[l4], va4 = va3 + (l4 << 12);
					if (tlb) {
						if (e4 & PTE_P)
							tlb_leaf(mon, va4, e4, 0x3fffffffff000ull);
					} else {
						mem_step(mon, &run, va4,
							 e4 & PTE_P ? e4 & e3 & e2 & e1 & pmask : 0);
					}
				}
			}
		}
	}
	if (!tlb)
		mem_step(mon, &run, 1ull << 48, 0);
}

/* ---- Commands ----------------------------------------------------------- */

static bool need_regs(struct monitor *mon, struct monitor_regs *r)
{
	if (mon->ops->get_regs && mon->ops->get_regs(mon->opaque, r))
		return true;
	out(mon, "No CPU available\n");
	return false;
}

static void seg_line(struct monitor *mon, const char *name, const struct monitor_seg *s,
		     const struct monitor_regs *r, bool cs64)
{
	uint32_t f = s->flags & 0x00ffff00;
	if (cs64)
		out(mon, "%-3s=%04x %016" PRIx64 " %08x %08x", name, s->selector, s->base, s->limit, f);
	else
		out(mon, "%-3s=%04x %08x %08x %08x", name, s->selector, (uint32_t)s->base, s->limit, f);
	if (!(r->cr0 & CR0_PE) || !(s->flags & DESC_P)) {
		out(mon, "\n");
		return;
	}
	out(mon, " DPL=%u ", (s->flags >> 13) & 3);
	if (s->flags & DESC_S) {
		if (s->flags & DESC_CODE)
			out(mon, "%s [%c%c", s->flags & DESC_L ? "CS64" : s->flags & DESC_B ? "CS32" : "CS16",
			    s->flags & DESC_E ? 'C' : '-', s->flags & DESC_W ? 'R' : '-');
		else
			out(mon, "%s [%c%c", (s->flags & DESC_B) || (r->efer & EFER_LMA) ? "DS  " : "DS16",
			    s->flags & DESC_E ? 'E' : '-', s->flags & DESC_W ? 'W' : '-');
		out(mon, "%c]\n", s->flags & DESC_A ? 'A' : '-');
		return;
	}
	static const char *const sys32[16] = {
		"Reserved", "TSS16-avl", "LDT", "TSS16-busy", "CallGate16", "TaskGate",
		"IntGate16", "TrapGate16", "Reserved", "TSS32-avl", "Reserved", "TSS32-busy",
		"CallGate32", "Reserved", "IntGate32", "TrapGate32",
	};
	static const char *const sys64[16] = {
		"<hiword>", "Reserved", "LDT", "Reserved", "Reserved", "Reserved", "Reserved",
		"Reserved", "Reserved", "TSS64-avl", "Reserved", "TSS64-busy", "CallGate64",
		"Reserved", "IntGate64", "TrapGate64",
	};
	out(mon, "%s\n", (r->efer & EFER_LMA ? sys64 : sys32)[(s->flags >> 8) & 15]);
}

static void cmd_info_registers(struct monitor *mon)
{
	static const char *const seg_names[MON_NSEG] = { "ES", "CS", "SS", "DS", "FS", "GS" };
	static const char *const gpr64[16] = {
		"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
		"R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15",
	};
	/* The dump's order: RAX RBX RCX RDX / RSI RDI RBP RSP / R8.. */
	static const int order[16] = { 0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15 };
	static const char *const gpr32[8] = { "EAX", "ECX", "EDX", "EBX", "ESP", "EBP", "ESI", "EDI" };
	struct monitor_regs r;
	if (!need_regs(mon, &r))
		return;
	bool lma = r.efer & EFER_LMA;
	bool cs64 = lma && (r.seg[MON_CS].flags & DESC_L);
	uint64_t fl = r.rflags;
	char flags[8] = {
		fl & 0x400 ? 'D' : '-', fl & 0x800 ? 'O' : '-', fl & 0x80 ? 'S' : '-',
		fl & 0x40 ? 'Z' : '-', fl & 0x10 ? 'A' : '-', fl & 0x4 ? 'P' : '-',
		fl & 0x1 ? 'C' : '-', 0,
	};

	out(mon, "CPU#0\n");
	if (lma) {
		for (int i = 0; i < 16; i++)
			out(mon, "%s=%016" PRIx64 "%s", gpr64[order[i]], r.gpr[order[i]],
			    i % 4 == 3 ? "\n" : " ");
		out(mon, "RIP=%016" PRIx64 " RFL=%08x [%s] CPL=%u II=%d A20=1 SMM=0 HLT=%d\n", r.rip,
		    (uint32_t)fl, flags, r.cpl, r.inhibit_irq, r.halted);
	} else {
		for (int i = 0; i < 8; i++)
			out(mon, "%s=%08x%s", gpr32[order[i]], (uint32_t)r.gpr[order[i]],
			    i % 4 == 3 ? "\n" : " ");
		out(mon, "EIP=%08x EFL=%08x [%s] CPL=%u II=%d A20=1 SMM=0 HLT=%d\n",
		    (uint32_t)r.rip, (uint32_t)fl, flags, r.cpl, r.inhibit_irq, r.halted);
	}
	for (int i = 0; i < MON_NSEG; i++)
		seg_line(mon, seg_names[i], &r.seg[i], &r, cs64);
	seg_line(mon, "LDT", &r.ldt, &r, cs64);
	seg_line(mon, "TR", &r.tr, &r, cs64);
	if (cs64) {
		out(mon, "GDT=     %016" PRIx64 " %08x\n", r.gdt_base, r.gdt_limit);
		out(mon, "IDT=     %016" PRIx64 " %08x\n", r.idt_base, r.idt_limit);
		out(mon, "CR0=%08x CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08x\n",
		    (uint32_t)r.cr0, r.cr2, r.cr3, (uint32_t)r.cr4);
		for (int i = 0; i < 4; i++)
			out(mon, "DR%d=%016" PRIx64 " ", i, r.dr[i]);
		out(mon, "\nDR6=%016" PRIx64 " DR7=%016" PRIx64 "\n", r.dr[6], r.dr[7]);
	} else {
		out(mon, "GDT=     %08x %08x\n", (uint32_t)r.gdt_base, r.gdt_limit);
		out(mon, "IDT=     %08x %08x\n", (uint32_t)r.idt_base, r.idt_limit);
		out(mon, "CR0=%08x CR2=%08x CR3=%08x CR4=%08x\n", (uint32_t)r.cr0,
		    (uint32_t)r.cr2, (uint32_t)r.cr3, (uint32_t)r.cr4);
		for (int i = 0; i < 4; i++)
			out(mon, "DR%d=%08x ", i, (uint32_t)r.dr[i]);
		out(mon, "\nDR6=%08x DR7=%08x\n", (uint32_t)r.dr[6], (uint32_t)r.dr[7]);
	}
	out(mon, "EFER=%016" PRIx64 "\n", r.efer);
	out(mon, "FCW=%04x FSW=%04x [ST=%d] FTW=%02x MXCSR=%08x\n", r.fcw, r.fsw,
	    (r.fsw >> 11) & 7, r.ftw, r.mxcsr);
	for (int i = 0; i < 8; i++)
		out(mon, "FPR%d=%016" PRIx64 " %04x%s", i, r.fpr[i].mant, r.fpr[i].exp,
		    i & 1 ? "\n" : " ");
	for (int i = 0; i < (lma ? 16 : 8); i++)
		out(mon, "XMM%02d=%016" PRIx64 " %016" PRIx64 "%s", i, r.xmm[i][1], r.xmm[i][0],
		    i & 1 ? "\n" : " ");
}

static void cmd_info_paging(struct monitor *mon, bool tlb)
{
	struct monitor_regs r;
	if (!need_regs(mon, &r))
		return;
	if (!(r.cr0 & CR0_PG)) {
		out(mon, "PG disabled\n");
		return;
	}
	if (!long_paging(&r)) {
		out(mon, "%s: only 4-level long-mode paging is shown\n", tlb ? "info tlb" : "info mem");
		return;
	}
	walk_all(mon, &r, tlb);
}

static void print_char(struct monitor *mon, unsigned c)
{
	switch (c) {
	case '\'': out(mon, "'\\''"); break;
	case '\\': out(mon, "'\\\\'"); break;
	case '\n': out(mon, "'\\n'"); break;
	case '\r': out(mon, "'\\r'"); break;
	default:
		if (c >= 32 && c <= 126)
			out(mon, "'%c'", c);
		else
			out(mon, "'\\x%02x'", c);
	}
}

/* x and xp: lines of 16 bytes (8 for byte units), each "ADDR:" and the
 * units in the format; digits per unit as HMP pads them.  The byte count
 * is count * size even for 'c', which then prints every byte, as HMP. */
static void memory_dump(struct monitor *mon, unsigned long count, char format, unsigned size,
			uint64_t addr, bool physical)
{
	uint64_t len = (uint64_t)count * size;
	unsigned line = size == 1 ? 8 : 16, digits = 0;
	uint8_t buf[16];

	switch (format) {
	case 'o': digits = (size * 8 + 2) / 3; break;
	case 'u': case 'd': digits = (size * 80 + 32) / 33; break;
	case 'c': size = 1; break;
	default: digits = size * 2; break;
	}
	while (len > 0) {
		unsigned l = len < line ? (unsigned)len : line;
		out(mon, "%016" PRIx64 ":", addr);
		bool ok = physical ? mon->ops->read_phys(mon->opaque, addr, buf, l)
				   : read_virt(mon, addr, buf, l);
		if (!ok) {
			out(mon, " Cannot access memory\n");
			return;
		}
		for (unsigned i = 0; i < l; i += size) {
			uint64_t v = 0;
			for (unsigned b = 0; b < size && i + b < l; b++)
				v |= (uint64_t)buf[i + b] << (8 * b);
			out(mon, " ");
			switch (format) {
			case 'o': out(mon, "%#*" PRIo64, (int)digits, v); break;
			case 'u': out(mon, "%*" PRIu64, (int)digits, v); break;
			case 'd': out(mon, "%*" PRId64, (int)digits, (int64_t)v); break;
			case 'c': print_char(mon, (unsigned)v); break;
			default: out(mon, "0x%0*" PRIx64, (int)digits, v); break;
			}
		}
		out(mon, "\n");
		addr += l;
		len -= l;
	}
}

static bool cmd_x(struct monitor *mon, struct parse *ps, const char *args, bool physical)
{
	unsigned long count;
	char format;
	unsigned size;
	uint64_t addr;
	if (!arg_format(ps, &args, &count, &format, &size) || !arg_expr(ps, &args, &addr))
		return false;
	if (format == 'i') {
		out(mon, "format 'i' (disassembly) is not supported\n");
		return true;
	}
	if (!physical && (!mon->ops->get_regs || !mon->ops->read_phys)) {
		out(mon, "Can not dump without CPU\n");
		return true;
	}
	memory_dump(mon, count, format, size, addr, physical);
	return true;
}

static bool cmd_save(struct monitor *mon, struct parse *ps, const char *args, bool physical,
		     const char *name)
{
	uint64_t addr, size;
	char path[4096];
	if (!arg_expr(ps, &args, &addr) || !arg_expr(ps, &args, &size) ||
	    !arg_string(ps, &args, name, path, sizeof(path)))
		return false;
	FILE *f = fopen(path, "wb");
	if (!f) {
		out(mon, "Error: Could not open '%s': %s\n", path, strerror(errno));
		return true;
	}
	uint8_t buf[4096];
	for (uint64_t done = 0; done < size;) {
		size_t n = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);
		/* As HMP: physical memory nothing answers saves as what the
		 * bus reads there; virtual memory must be mapped. */
		memset(buf, 0xff, n);
		bool ok = physical ? (mon->ops->read_phys(mon->opaque, addr + done, buf, n), true)
				   : read_virt(mon, addr + done, buf, n);
		if (!ok) {
			out(mon, "Error: Invalid addr 0x%016" PRIx64 "/size %" PRIu64 " specified\n",
			    addr, size);
			fclose(f);
			return true;
		}
		if (fwrite(buf, 1, n, f) != n) {
			out(mon, "Error: writing memory to '%s' failed\n", path);
			fclose(f);
			return true;
		}
		done += n;
	}
	if (fclose(f) != 0)
		out(mon, "Error: writing memory to '%s' failed\n", path);
	return true;
}

enum cmd_id {
	CMD_CONT, CMD_COV, CMD_HELP, CMD_INFO, CMD_MEMSAVE, CMD_PMEMSAVE, CMD_PLUGIN, CMD_QUIT, CMD_STOP,
	CMD_SYSTEM_RESET, CMD_X, CMD_XP,
};

/* The commands, in HMP's help order, with its help lines. */
static const struct mon_cmd {
	const char *name;	/* "stop|s": a name and its short form */
	const char *args;
	const char *help;
	int id;			/* enum cmd_id or enum info_id */
} commands[] = {
	{ "cont|c", "", "resume emulation", CMD_CONT },
	{ "cov", "start|stop|clear|write file [format]",
	  "record coverage, stop, forget it, or write it (loom; the control channel's commands)",
	  CMD_COV },
	{ "help|?", "[cmd]", "show the help", CMD_HELP },
	{ "info", "[subcommand]", "show various information about the system state", CMD_INFO },
	{ "memsave", "addr size file",
	  "save to disk virtual memory dump starting at 'addr' of size 'size'", CMD_MEMSAVE },
	{ "pmemsave", "addr size file",
	  "save to disk physical memory dump starting at 'addr' of size 'size'", CMD_PMEMSAVE },
	{ "plugin", "list|enable name|disable name",
	  "list the loaded plugins, or switch one's instrumentation on or off (loom)", CMD_PLUGIN },
	{ "quit|q", "", "quit the emulator", CMD_QUIT },
	{ "stop|s", "", "stop emulation", CMD_STOP },
	{ "system_reset", "", "reset the system", CMD_SYSTEM_RESET },
	{ "x", "/fmt addr", "virtual memory dump starting at 'addr'", CMD_X },
	{ "xp", "/fmt addr", "physical memory dump starting at 'addr'", CMD_XP },
};

enum info_id { INFO_MEM, INFO_MODULES, INFO_PROCS, INFO_REGISTERS, INFO_STATUS, INFO_TLB };

static const struct mon_cmd infos[] = {
	{ "mem", "", "show the active virtual memory mappings", INFO_MEM },
	{ "modules", "[pid]",
	  "show the guest kernel and its modules, or a process's executable file mappings (loom)",
	  INFO_MODULES },
	{ "procs", "", "show the guest's processes and threads (loom)", INFO_PROCS },
	{ "registers", "[-a|vcpu]",
	  "show the cpu registers (-a: show register info for all cpus; vcpu: specific vCPU to "
	  "query; show the current CPU's registers if no argument is specified)", INFO_REGISTERS },
	{ "status", "", "show the current VM status (running|paused)", INFO_STATUS },
	{ "tlb", "", "show virtual to physical memory mappings", INFO_TLB },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))
#define NINFOS (sizeof(infos) / sizeof(infos[0]))

/* Does word (len bytes) name entry ("name|alias")? */
static bool names(const struct mon_cmd *c, const char *word, size_t len)
{
	const char *n = c->name;
	while (*n) {
		const char *bar = strchr(n, '|');
		size_t nl = bar ? (size_t)(bar - n) : strlen(n);
		if (nl == len && !strncmp(n, word, len))
			return true;
		if (!bar)
			break;
		n = bar + 1;
	}
	return false;
}

static const struct mon_cmd *lookup(const struct mon_cmd *table, size_t n, const char *word,
				    size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (names(&table[i], word, len))
			return &table[i];
	return NULL;
}

static void help_line(struct monitor *mon, const char *prefix, const struct mon_cmd *c)
{
	out(mon, "%s%s %s -- %s\n", prefix, c->name, c->args, c->help);
}

static void cmd_help(struct monitor *mon, const char *args)
{
	size_t len;
	const char *w = next_word(&args, &len);
	if (!w) {
		for (size_t i = 0; i < NCOMMANDS; i++)
			help_line(mon, "", &commands[i]);
		return;
	}
	const struct mon_cmd *c = lookup(commands, NCOMMANDS, w, len);
	if (!c) {
		out(mon, "unknown command: '%.*s'\n", (int)len, w);
		return;
	}
	if (c->id == CMD_INFO) {
		const char *sub = next_word(&args, &len);
		const struct mon_cmd *i = sub ? lookup(infos, NINFOS, sub, len) : NULL;
		if (i) {
			help_line(mon, "info ", i);
			return;
		}
		for (size_t k = 0; k < NINFOS; k++)
			help_line(mon, "info ", &infos[k]);
		return;
	}
	help_line(mon, "", c);
}

/* The two-line complaint HMP prints for a bad argument. */
static void bad_args(struct monitor *mon, const struct parse *ps, const char *cmd)
{
	out(mon, "%s\nTry \"help %s\" for more information\n", ps->err, cmd);
}

static void cmd_info(struct monitor *mon, const char *args)
{
	size_t len;
	const char *w = next_word(&args, &len);
	if (!w) {
		for (size_t k = 0; k < NINFOS; k++)
			help_line(mon, "info ", &infos[k]);
		return;
	}
	const struct mon_cmd *i = lookup(infos, NINFOS, w, len);
	if (!i) {
		out(mon, "unknown command: 'info %.*s'\n", (int)len, w);
		return;
	}
	switch (i->id) {
	case INFO_MEM:
		cmd_info_paging(mon, false);
		break;
	case INFO_TLB:
		cmd_info_paging(mon, true);
		break;
	case INFO_PROCS:
		if (mon->ops->info_procs)
			mon->ops->info_procs(mon->opaque, mon->out);
		else
			out(mon, "info procs: not available on this machine\n");
		break;
	case INFO_MODULES:
		args += strspn(args, " \t");
		if (mon->ops->info_modules)
			mon->ops->info_modules(mon->opaque, args, mon->out);
		else
			out(mon, "info modules: not available on this machine\n");
		break;
	case INFO_STATUS:
		out(mon, "VM status: %s\n",
		    mon->ops->running && mon->ops->running(mon->opaque) ? "running" : "paused");
		break;
	case INFO_REGISTERS: {
		/* "-a" or a vCPU index; there is one vCPU, number 0. */
		struct parse ps = { .mon = mon };
		const char *save = args;
		w = next_word(&args, &len);
		if (w && !(len == 2 && !strncmp(w, "-a", 2))) {
			uint64_t n;
			args = save;
			if (!arg_expr(&ps, &args, &n)) {
				bad_args(mon, &ps, "info registers");
				return;
			}
			if (n != 0) {
				out(mon, "CPU#%" PRIu64 " not available\n", n);
				return;
			}
		}
		cmd_info_registers(mon);
		break;
	}
	}
}

/* plugin list | plugin enable NAME | plugin disable NAME (loom's own: HMP
 * has no such command).  list prints "NAME on|off" a line; enable and
 * disable are silent when they succeed, as HMP's actions are. */
static bool cmd_plugin(struct monitor *mon, struct parse *ps, const char *args)
{
	const struct monitor_ops *o = mon->ops;
	size_t len, nlen;
	const char *w = next_word(&args, &len);
	if (!w)
		return perr(ps, "plugin: list, enable NAME or disable NAME");
	bool list = len == 4 && !strncmp(w, "list", 4);
	bool enable = len == 6 && !strncmp(w, "enable", 6);
	bool disable = len == 7 && !strncmp(w, "disable", 7);
	const char *name = next_word(&args, &nlen);
	if (!(list && !name) && !((enable || disable) && name && !next_word(&args, &len)))
		return perr(ps, "plugin: list, enable NAME or disable NAME");
	int n = o->plugin_count ? o->plugin_count(mon->opaque) : 0;
	if (list) {
		if (!n)
			out(mon, "no plugins loaded\n");
		for (int i = 0; i < n; i++)
			out(mon, "%s %s\n", o->plugin_name(mon->opaque, i),
			    o->plugin_enabled(mon->opaque, i) ? "on" : "off");
		return true;
	}
	char buf[256];
	snprintf(buf, sizeof(buf), "%.*s", (int)nlen, name);
	if (!n || !o->plugin_set_enabled(mon->opaque, buf, enable))
		out(mon, "Error: no plugin named '%s' (plugin list shows them)\n", buf);
	return true;
}

/* A machine action the machine may not offer (yet). */
static void action(struct monitor *mon, void (*fn)(void *), const char *name)
{
	if (fn)
		fn(mon->opaque);
	else
		out(mon, "%s: not available on this machine yet\n", name);
}

void monitor_command(struct monitor *mon, const char *line)
{
	size_t len;
	const char *args = line;
	const char *w = next_word(&args, &len);
	if (!w)
		return;
	const struct mon_cmd *c = lookup(commands, NCOMMANDS, w, len);
	if (!c) {
		out(mon, "unknown command: '%.*s'\n", (int)len, w);
		return;
	}
	struct parse ps = { .mon = mon };
	bool ok = true;
	char cmd[16];
	snprintf(cmd, sizeof(cmd), "%.*s", (int)len, w);
	switch (c->id) {
	case CMD_CONT: action(mon, mon->ops->cont, "cont"); break;
	case CMD_STOP: action(mon, mon->ops->stop, "stop"); break;
	case CMD_SYSTEM_RESET: action(mon, mon->ops->reset, "system_reset"); break;
	case CMD_QUIT: action(mon, mon->ops->quit, "quit"); break;
	case CMD_HELP: cmd_help(mon, args); break;
	case CMD_COV:
		args += strspn(args, " \t");
		if (mon->ops->cov)
			mon->ops->cov(mon->opaque, args, mon->out);
		else
			out(mon, "cov: not available on this machine\n");
		break;
	case CMD_INFO: cmd_info(mon, args); break;
	case CMD_X: ok = cmd_x(mon, &ps, args, false); break;
	case CMD_XP: ok = cmd_x(mon, &ps, args, true); break;
	case CMD_MEMSAVE: ok = cmd_save(mon, &ps, args, false, "memsave"); break;
	case CMD_PMEMSAVE: ok = cmd_save(mon, &ps, args, true, "pmemsave"); break;
	case CMD_PLUGIN: ok = cmd_plugin(mon, &ps, args); break;
	}
	if (!ok)
		bad_args(mon, &ps, cmd);
}

/* ---- I/O ---------------------------------------------------------------- */

static void io_prompt(struct monitor_io *io)
{
	fputs("(qemu) ", io->mon.out);
	fflush(io->mon.out);
}

static void io_attach(struct monitor_io *io, int in_fd, int out_fd)
{
	io->in_fd = in_fd;
	io->out_fd = out_fd;
	io->len = 0;
	io->mon.out = fdopen(dup(out_fd), "w");
	if (!io->mon.out) {
		io->mon.out = stderr;
		return;
	}
	fputs("loom-system monitor - type 'help' for more information\n", io->mon.out);
	io_prompt(io);
}

static void io_detach(struct monitor_io *io)
{
	if (io->mon.out && io->mon.out != stderr)
		fclose(io->mon.out);
	io->mon.out = NULL;
	if (io->in_fd > 2)
		close(io->in_fd);
	io->in_fd = io->out_fd = -1;
}

int monitor_io_open(struct monitor_io *io, const struct chardev_spec *cd,
		    const struct monitor_ops *ops, void *opaque, char *err, size_t errlen)
{
	memset(io, 0, sizeof(*io));
	monitor_init(&io->mon, ops, opaque, NULL);
	io->listen_fd = io->in_fd = io->out_fd = -1;
	switch (cd->kind) {
	case CHARDEV_STDIO:
		io_attach(io, 0, 1);
		return 0;
	case CHARDEV_UNIX: {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cd->path);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, errlen, "-monitor unix:%s: %s", cd->path, strerror(errno));
			return -1;
		}
		if (!cd->server) {
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
				snprintf(err, errlen, "-monitor unix:%s: cannot connect: %s", cd->path,
					 strerror(errno));
				close(fd);
				return -1;
			}
			io_attach(io, fd, fd);
			return 0;
		}
		unlink(cd->path);	/* a stale socket of an earlier run */
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
			snprintf(err, errlen, "-monitor unix:%s: %s", cd->path, strerror(errno));
			close(fd);
			return -1;
		}
		io->listen_fd = fd;
		if (cd->wait) {
			fprintf(stderr, "loom-system: waiting for connection on: unix:%s,server=on\n",
				cd->path);
			int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0)
				io_attach(io, c, c);
		}
		return 0;
	}
	default:
		snprintf(err, errlen, "-monitor: the monitor needs stdio or unix:PATH");
		return -1;
	}
}

int monitor_io_fd(const struct monitor_io *io)
{
	if (io->in_fd >= 0)
		return io->in_fd;
	return io->listen_fd;
}

void monitor_io_ready(struct monitor_io *io)
{
	if (io->in_fd < 0) {
		if (io->listen_fd >= 0) {
			int c = accept4(io->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0)
				io_attach(io, c, c);
		}
		return;
	}
	char buf[1024];
	ssize_t n = read(io->in_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* The client went away: wait for the next one (a socket), or
		 * stop listening to stdin. */
		if (io->listen_fd < 0)
			io->closed = true;
		io_detach(io);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		char ch = buf[i];
		if (ch == '\r')
			continue;
		if (ch != '\n') {
			if (io->len + 1 < sizeof(io->line))
				io->line[io->len++] = ch;
			continue;
		}
		io->line[io->len] = 0;
		io->len = 0;
		monitor_command(&io->mon, io->line);
		if (io->in_fd < 0)
			return;	/* the command closed the monitor */
		io_prompt(io);
	}
}

void monitor_io_close(struct monitor_io *io)
{
	io_detach(io);
	if (io->listen_fd >= 0)
		close(io->listen_fd);
	io->listen_fd = -1;
}
