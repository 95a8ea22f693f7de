/*
 * The kallsyms decoder and export-table reader (src/system/osi/kallsyms.c):
 *   - synthetic tables laid out here as the kernel's scripts/kallsyms lays
 *     them out (offsets, relative base, count, names, markers, optionally
 *     seqs_of_names, token table, token index, each 8-aligned), between
 *     unrelated bytes, with per-cpu and relative addresses, names longer
 *     than 127 tokens (the two-byte length), a name split across
 *     multi-character tokens, and a static and a global of one name; then a
 *     broken token index that must not be taken for one;
 *   - Debian's kernel (SKIPped when not fetched): the symbols introspection
 *     needs resolve, where the image itself says they must be (section
 *     bounds, entry_SYSCALL_64's first instruction being swapgs, the
 *     self-linked `modules` list head), and every exported symbol in
 *     __ksymtab/__ksymtab_gpl — an independent table — has the address
 *     kallsyms gives it.
 */
#include "unit.h"

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "osi_kernel.h"
#include "system/osi/kallsyms.h"

/* --- synthetic tables --------------------------------------------------- */

#define SYN_BASE 0xffffffff81000000ull
#define SYN_RODATA 0xffffffff82000000ull
#define SYN_N 700
#define SYN_PERCPU 3

struct syn {
	char name[300];
	char type;
	uint64_t addr;
};

static uint8_t img[1 << 20];
static size_t at;

static void emit(const void *p, size_t n) { memcpy(img + at, p, n); at += n; }
static void emit32(uint32_t v) { uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 }; emit(b, 4); }
static void emit64(uint64_t v) { emit32((uint32_t)v); emit32((uint32_t)(v >> 32)); }
static void pad8(void) { while (at % 8) img[at++] = 0; }

/* Tokens: byte b stands for the character b when it is one a name uses,
 * else for a two- or three-character string, as the build's compressor
 * turns unused byte values into common substrings. */
static char tokens[256][4];

static void make_tokens(void)
{
	for (int b = 0; b < 256; b++) {
		if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
		    b == '_' || b == '.')
			tokens[b][0] = (char)b;
		else
			snprintf(tokens[b], sizeof tokens[b], "%c%c%s", 'a' + b % 26,
				 'a' + (b / 26) % 26, b % 3 ? "" : "q");
	}
}

static void make_syms(struct syn *s)
{
	for (int i = 0; i < SYN_N; i++) {
		s[i].type = i % 3 ? 't' : 'T';
		snprintf(s[i].name, sizeof s[i].name, "sym_%d", i);
		if (i < SYN_PERCPU) {
			s[i].type = 'A';
			s[i].addr = 0x1000ull * i;
		} else {
			s[i].addr = SYN_BASE + 0x40ull * i;
		}
	}
	/* a long name: more than 127 tokens */
	memset(s[100].name, 'x', 200);
	s[100].name[200] = 0;
	/* a name that goes through multi-character tokens ("ta" is token
	 * 19): decoded, not just copied */
	snprintf(s[200].name, sizeof s[200].name, "init_task");
	s[200].type = 'D';
	snprintf(s[300].name, sizeof s[300].name, "dup");
	snprintf(s[301].name, sizeof s[301].name, "dup");
	s[300].type = 't';
	s[301].type = 'T';
	snprintf(s[400].name, sizeof s[400].name, "dup2");
	snprintf(s[401].name, sizeof s[401].name, "dup2");
	s[400].type = s[401].type = 'd';
}

/* Encode name (type letter first) as token bytes; a few characters go
 * through multi-character tokens to exercise expansion. */
static size_t encode(const struct syn *s, uint8_t *out)
{
	char full[310];
	snprintf(full, sizeof full, "%c%s", s->type, s->name);
	size_t n = 0;
	for (size_t i = 0; full[i];) {
		int best = -1;
		for (int b = 0; b < 256; b++)
			if (strlen(tokens[b]) > 1 && !strncmp(full + i, tokens[b], strlen(tokens[b])))
				best = b;
		if (best >= 0) {
			out[n++] = (uint8_t)best;
			i += strlen(tokens[best]);
		} else {
			out[n++] = (uint8_t)full[i++];
		}
	}
	return n;
}

/* Lay the tables out in img; returns the image length. */
static size_t build_image(const struct syn *s, bool seqs)
{
	at = 0;
	memset(img, 0, sizeof img);
	for (int i = 0; i < 77; i++)		/* unrelated data first */
		img[at++] = (uint8_t)(i * 37);
	pad8();
	for (int i = 0; i < SYN_N; i++)
		emit32(i < SYN_PERCPU ? (uint32_t)s[i].addr : (uint32_t)(int32_t)(SYN_BASE - 1 - s[i].addr));
	pad8();
	emit64(SYN_BASE);
	emit32(SYN_N);
	pad8();
	size_t names = at;
	uint32_t markers[(SYN_N + 255) / 256];
	for (int i = 0; i < SYN_N; i++) {
		if (i % 256 == 0)
			markers[i / 256] = (uint32_t)(at - names);
		uint8_t enc[400];
		size_t n = encode(&s[i], enc);
		if (n > 127) {
			img[at++] = (uint8_t)(0x80 | (n & 0x7f));
			img[at++] = (uint8_t)(n >> 7);
		} else {
			img[at++] = (uint8_t)n;
		}
		emit(enc, n);
	}
	pad8();
	for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++)
		emit32(markers[i]);
	pad8();
	if (seqs) {
		for (int i = 0; i < SYN_N; i++) {
			uint8_t b[3] = { i >> 16, i >> 8, i };
			emit(b, 3);
		}
		pad8();
	}
	size_t table = at;
	uint16_t index[256];
	for (int b = 0; b < 256; b++) {
		index[b] = (uint16_t)(at - table);
		emit(tokens[b], strlen(tokens[b]) + 1);
	}
	pad8();
	for (int b = 0; b < 256; b++) {
		uint8_t v[2] = { index[b], index[b] >> 8 };
		emit(v, 2);
	}
	for (int i = 0; i < 300; i++)		/* and unrelated data after */
		img[at++] = (uint8_t)(i * 11 + 1);
	return at;
}

/* A struct osi_vmlinux over img as its .rodata. */
static void fake_vmlinux(struct osi_vmlinux *vm, size_t len)
{
	memset(vm, 0, sizeof *vm);
	vm->elf = malloc(len);
	memcpy(vm->elf, img, len);
	vm->size = len;
	vm->sections = calloc(1, sizeof *vm->sections);
	vm->sections[0] = (struct osi_section){ ".rodata", SYN_RODATA, len, 0, SHT_PROGBITS, SHF_ALLOC };
	vm->nsections = 1;
}

static void test_synthetic(bool seqs)
{
	static struct syn s[SYN_N];
	make_tokens();
	make_syms(s);
	size_t len = build_image(s, seqs);
	struct osi_vmlinux vm;
	fake_vmlinux(&vm, len);
	struct osi_kallsyms ks;
	char err[200] = "";
	int r = osi_kallsyms_load(&ks, &vm, err, sizeof err);
	if (r)
		fprintf(stderr, "synthetic kallsyms: %s\n", err);
	CHECK_EQ(r, 0);
	if (r) {
		osi_vmlinux_close(&vm);
		return;
	}
	CHECK_EQ(ks.count, SYN_N);
	CHECK_EQ(ks.relative_base, SYN_BASE);
	CHECK_EQ(ks.offsets_at, SYN_RODATA + 80);
	CHECK_EQ(ks.seqs_of_names_at != 0, seqs);
	int bad = 0;
	for (int i = 0; i < SYN_N && i < (int)ks.count; i++) {
		const struct osi_ksym *k = &ks.syms[i];
		if (strcmp(k->name, s[i].name) || k->type != s[i].type || k->addr != s[i].addr ||
		    k->percpu != (i < SYN_PERCPU)) {
			if (bad++ < 5)
				fprintf(stderr, "symbol %d: %c %s %llx, expected %c %s %llx\n", i, k->type,
					k->name, (unsigned long long)k->addr, s[i].type, s[i].name,
					(unsigned long long)s[i].addr);
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(osi_kallsyms_addr(&ks, "init_task"), SYN_BASE + 0x40 * 200);
	CHECK_EQ(osi_kallsyms_addr(&ks, "sym_699"), SYN_BASE + 0x40 * 699);
	CHECK_EQ(osi_kallsyms_addr(&ks, "sym_0"), 0);	/* per-cpu offset 0 */
	CHECK(osi_kallsyms_lookup(&ks, "sym_0") && osi_kallsyms_lookup(&ks, "sym_0")->percpu);
	CHECK(osi_kallsyms_lookup(&ks, "sym_2") && osi_kallsyms_lookup(&ks, "sym_2")->addr == 0x2000);
	CHECK(osi_kallsyms_lookup(&ks, "nosuch") == NULL);
	CHECK(osi_kallsyms_lookup(&ks, "sym_70") != NULL);
	CHECK(osi_kallsyms_lookup(&ks, "sym_7000") == NULL);
	/* of a static and a global of one name, the global */
	CHECK_EQ(osi_kallsyms_addr(&ks, "dup"), SYN_BASE + 0x40 * 301);
	/* of two statics, the first */
	CHECK_EQ(osi_kallsyms_addr(&ks, "dup2"), SYN_BASE + 0x40 * 400);
	char longname[201];
	memset(longname, 'x', 200);
	longname[200] = 0;
	CHECK_EQ(osi_kallsyms_addr(&ks, longname), SYN_BASE + 0x40 * 100);
	osi_kallsyms_free(&ks);
	osi_vmlinux_close(&vm);

	/* The token index made non-increasing: no tables are found. */
	len = build_image(s, seqs);
	size_t idx = len - 300 - 512;
	img[idx + 2 * 10] = img[idx + 2 * 9], img[idx + 2 * 10 + 1] = img[idx + 2 * 9 + 1];
	fake_vmlinux(&vm, len);
	CHECK_EQ(osi_kallsyms_load(&ks, &vm, err, sizeof err), -1);
	CHECK(strstr(err, "no kallsyms tables") != NULL);
	osi_vmlinux_close(&vm);
	/* A marker off by one: the count does not fit, nothing is taken. */
	len = build_image(s, seqs);
	size_t mk = 0;
	for (size_t p = 0; p + 8 <= len; p += 8)	/* markers[1] follows a 0 */
		if (!memcmp(img + p, "\0\0\0\0", 4) && img[p + 4] && img[p + 5] && !img[p + 6] &&
		    !img[p + 7] && p > 6000) {
			mk = p + 4;
			break;
		}
	CHECK(mk != 0);
	img[mk]++;
	fake_vmlinux(&vm, len);
	CHECK_EQ(osi_kallsyms_load(&ks, &vm, err, sizeof err), -1);
	osi_vmlinux_close(&vm);
}

/* Random corruption of the tables: a load either fails or decodes some
 * table, never reads outside the image (ASan builds check that). */
static void test_mutations(void)
{
	static struct syn s[SYN_N];
	make_tokens();
	make_syms(s);
	uint64_t seed = 0xc0ffee;
	int loaded = 0, refusals = 0;
	for (int iter = 0; iter < 300; iter++) {
		size_t len = build_image(s, iter & 1);
		int flips = 1 + (int)(unit_xorshift(&seed) % 3);
		for (int k = 0; k < flips; k++)
			img[unit_xorshift(&seed) % len] = (uint8_t)unit_xorshift(&seed);
		struct osi_vmlinux vm;
		fake_vmlinux(&vm, len);
		struct osi_kallsyms ks;
		char err[200];
		if (osi_kallsyms_load(&ks, &vm, err, sizeof err) == 0) {
			loaded++;
			osi_kallsyms_lookup(&ks, "init_task");
			osi_kallsyms_free(&ks);
		} else {
			refusals++;
		}
		osi_vmlinux_close(&vm);
	}
	printf("mutated kallsyms: %d loaded, %d refused\n", loaded, refusals);
	CHECK_EQ(loaded + refusals, 300);
	CHECK(refusals > 0);
}

/* --- Debian's kernel ---------------------------------------------------- */

static const struct osi_section *section_of(const struct osi_vmlinux *vm, uint64_t a)
{
	for (unsigned i = 0; i < vm->nsections; i++) {
		const struct osi_section *s = &vm->sections[i];
		if ((s->flags & SHF_ALLOC) && s->addr && a >= s->addr && a < s->addr + s->size)
			return s;
	}
	return NULL;
}

static void in_section(const struct osi_vmlinux *vm, const struct osi_kallsyms *ks,
		       const char *name, const char *section)
{
	const struct osi_ksym *s = osi_kallsyms_lookup(ks, name);
	CHECK(s != NULL);
	if (!s)
		return;
	const struct osi_section *sec = section_of(vm, s->addr);
	if (!sec || strcmp(sec->name, section))
		fprintf(stderr, "%s at %llx is in %s, expected %s\n", name,
			(unsigned long long)s->addr, sec ? sec->name : "no section", section);
	CHECK(sec && !strcmp(sec->name, section));
}

static void test_kernel(void)
{
	struct osi_vmlinux vm;
	if (!osi_test_open_kernel(&vm, "Debian's kallsyms"))
		return;
	struct osi_kallsyms ks;
	char err[200] = "";
	int r = osi_kallsyms_load(&ks, &vm, err, sizeof err);
	if (r)
		fprintf(stderr, "kallsyms: %s\n", err);
	CHECK_EQ(r, 0);
	if (r) {
		osi_vmlinux_close(&vm);
		return;
	}
	printf("kallsyms: %u symbols, relative base %llx, token table at %llx\n", ks.count,
	       (unsigned long long)ks.relative_base, (unsigned long long)ks.token_table_at);
	/* KALLSYMS_ALL: functions and data of the whole kernel (94,266 in
	 * 6.1.0-57; tens of thousands in any distribution kernel). */
	CHECK(ks.count > 50000);
	const struct osi_section *ro = osi_vmlinux_section(&vm, ".rodata");
	CHECK(ro && ks.offsets_at >= ro->addr && ks.token_index_at + 512 <= ro->addr + ro->size);
	/* The build sorts the table by address. */
	uint32_t unsorted = 0;
	for (uint32_t i = 1; i < ks.count; i++)
		unsorted += ks.syms[i].addr < ks.syms[i - 1].addr;
	CHECK_EQ(unsorted, 0);

	const struct osi_section *text = osi_vmlinux_section(&vm, ".text");
	CHECK(text && osi_kallsyms_addr(&ks, "_text") == text->addr);
	CHECK(text && osi_kallsyms_addr(&ks, "startup_64") == text->addr);
	CHECK(text && osi_kallsyms_addr(&ks, "_etext") == text->addr + text->size);
	in_section(&vm, &ks, "entry_SYSCALL_64", ".text");
	in_section(&vm, &ks, "start_kernel", ".init.text");
	in_section(&vm, &ks, "init_task", ".data");
	in_section(&vm, &ks, "init_mm", ".data");
	in_section(&vm, &ks, "modules", ".data");
	CHECK_EQ(osi_kallsyms_lookup(&ks, "start_kernel")->type, 'T');
	CHECK(strchr("Dd", osi_kallsyms_lookup(&ks, "init_task")->type) != NULL);

	/* entry_SYSCALL_64 begins with swapgs (0f 01 f8), after an endbr64
	 * (f3 0f 1e fa) when the kernel is built for IBT. */
	const uint8_t *e = osi_vmlinux_at(&vm, osi_kallsyms_addr(&ks, "entry_SYSCALL_64"), 8);
	CHECK(e && (!memcmp(e, "\x0f\x01\xf8", 3) || !memcmp(e, "\xf3\x0f\x1e\xfa\x0f\x01\xf8", 7)));
	/* LIST_HEAD(modules): the empty list's head points at itself. */
	uint64_t mods = osi_kallsyms_addr(&ks, "modules");
	const uint8_t *m = osi_vmlinux_at(&vm, mods, 16);
	uint64_t next = 0, prev = 0;
	if (m) {
		memcpy(&next, m, 8);
		memcpy(&prev, m + 8, 8);
	}
	CHECK(m && next == mods && prev == mods);

	/* Per-cpu symbols are offsets inside the per-cpu template. */
	const struct osi_section *pcpu = osi_vmlinux_section(&vm, ".data..percpu");
	const struct osi_ksym *cur = osi_kallsyms_lookup(&ks, "current_task");
	const struct osi_ksym *hot = osi_kallsyms_lookup(&ks, "pcpu_hot");
	const struct osi_ksym *c = cur ? cur : hot;
	CHECK(c != NULL);
	CHECK(c && c->percpu && pcpu && c->addr < pcpu->size);
	CHECK(osi_kallsyms_lookup(&ks, "__per_cpu_start") &&
	      osi_kallsyms_lookup(&ks, "__per_cpu_start")->addr == 0);
	CHECK(pcpu && osi_kallsyms_addr(&ks, "__per_cpu_end") == pcpu->size);

	/* The export tables, read on their own, agree with kallsyms. */
	size_t n = 0;
	struct osi_export *ex = osi_ksymtab_load(&vm, &n, err, sizeof err);
	if (!ex)
		fprintf(stderr, "ksymtab: %s\n", err);
	CHECK(ex != NULL);
	size_t missing = 0, differ = 0, gpl = 0, in_ns = 0;
	for (size_t i = 0; ex && i < n; i++) {
		const struct osi_ksym *k = osi_kallsyms_lookup(&ks, ex[i].name);
		gpl += ex[i].gpl;
		in_ns += *ex[i].ns != 0;
		if (!k) {
			if (missing++ < 5)
				fprintf(stderr, "export %s not in kallsyms\n", ex[i].name);
		} else if (k->addr != ex[i].addr) {
			if (differ++ < 5)
				fprintf(stderr, "export %s at %llx, kallsyms %llx\n", ex[i].name,
					(unsigned long long)ex[i].addr, (unsigned long long)k->addr);
		}
	}
	printf("ksymtab: %zu exports (%zu GPL, %zu in a namespace), all checked against kallsyms\n",
	       n, gpl, in_ns);
	CHECK(n > 5000);
	CHECK(gpl > 1000 && gpl < n);
	CHECK_EQ(missing, 0);
	CHECK_EQ(differ, 0);
	free(ex);
	osi_kallsyms_free(&ks);
	osi_vmlinux_close(&vm);
}

void unit_main(void)
{
	test_synthetic(false);
	test_synthetic(true);
	test_mutations();
	test_kernel();
}
