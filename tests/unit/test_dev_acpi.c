/*
 * The ACPI tables (src/system/acpi.c, aml.c) read back from guest RAM as
 * a kernel reads them: RSDP found by signature in the BIOS area, XSDT and
 * RSDT entries, each table's signature, length and checksum, the FADT,
 * MADT and HPET fields Linux uses, and the DSDT parsed by a small AML
 * reader written here from the ACPI spec's grammar (PkgLength, NameString,
 * data objects, resource descriptors), independent of the emitter.  With
 * iasl installed (acpica-tools), the DSDT is also disassembled by it.
 */
#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "system/acpi.h"
#include "system/aml.h"
#include "system/pc.h"
#include "system/physmem.h"

static uint8_t *ram(uint64_t pa, uint64_t len) { return physmem_ptr(pa, len); }
static uint16_t le16(const uint8_t *p) { return p[0] | p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

/* A table at pa: its signature, length within reason, checksum zero. */
static const uint8_t *table(uint64_t pa, const char *sig)
{
	const uint8_t *t = ram(pa, 36);

	CHECK(t != NULL);
	if (!t)
		return NULL;
	CHECK(memcmp(t, sig, 4) == 0);
	uint32_t len = le32(t + 4);
	CHECK(len >= 36 && len < 0x10000);
	t = ram(pa, len);
	CHECK(t != NULL);
	CHECK_EQ(sum(t, len), 0);
	CHECK(memcmp(t + 10, "LOOM  ", 6) == 0);
	return t;
}

/* --- an AML reader over the subset a DSDT of this kind uses --------------- */

struct aml_obj {
	char path[64];
	int kind;			/* 'i'nteger, 's'tring, 'b'uffer, 'p'ackage */
	uint64_t i;
	const uint8_t *buf;
	size_t len;
	int nelems;
	uint64_t elems[8];
	/* a package of packages of integers (_PRT): the first four of each */
	int nsub;
	uint64_t sub[128][4];
};
static struct aml_obj objs[32];
static int nobjs;
static bool aml_ok;

static size_t pkglen(const uint8_t *p, const uint8_t *end, size_t *len)
{
	int follow = p[0] >> 6;

	if (p + 1 + follow > end) {
		aml_ok = false;
		return 1;
	}
	if (!follow) {
		*len = p[0] & 0x3f;
		return 1;
	}
	*len = p[0] & 0xf;
	for (int i = 0; i < follow; i++)
		*len |= (size_t)p[1 + i] << (4 + 8 * i);
	return 1 + follow;
}

static size_t namestring(const uint8_t *p, const uint8_t *end, char *out)
{
	const uint8_t *s = p;
	int nseg = 1;

	*out = 0;
	while (p < end && (*p == '\\' || *p == '^'))
		strncat(out, *p++ == '\\' ? "\\" : "^", 2);
	if (p < end && *p == 0x2e) {
		nseg = 2;
		p++;
	} else if (p < end && *p == 0x2f) {
		nseg = p[1];
		p += 2;
	} else if (p < end && *p == 0) {
		return p + 1 - s;
	}
	for (int i = 0; i < nseg; i++) {
		if (p + 4 > end) {
			aml_ok = false;
			return p - s;
		}
		if (i)
			strcat(out, ".");
		strncat(out, (const char *)p, 4);
		p += 4;
	}
	return p - s;
}

static size_t integer(const uint8_t *p, uint64_t *v)
{
	switch (p[0]) {
	case 0x00: *v = 0; return 1;
	case 0x01: *v = 1; return 1;
	case 0xff: *v = ~0ull; return 1;
	case 0x0a: *v = p[1]; return 2;
	case 0x0b: *v = le16(p + 1); return 3;
	case 0x0c: *v = le32(p + 1); return 5;
	case 0x0e: *v = le64(p + 1); return 9;
	}
	aml_ok = false;
	return 1;
}

static size_t dataobj(const uint8_t *p, const uint8_t *end, struct aml_obj *o)
{
	size_t n, len;

	switch (p[0]) {
	case 0x0d:
		o->kind = 's';
		o->buf = p + 1;
		o->len = strnlen((const char *)p + 1, end - p - 1);
		return o->len + 2;
	case 0x11:		/* Buffer: PkgLength BufferSize ByteList */
		n = 1 + pkglen(p + 1, end, &len);
		o->kind = 'b';
		n += integer(p + n, &o->i);
		o->buf = p + n;
		o->len = 1 + len - n;
		if (o->len != o->i)
			aml_ok = false;
		return 1 + len;
	case 0x12: {		/* Package: PkgLength NumElements elements */
		const uint8_t *pend;
		n = 1 + pkglen(p + 1, end, &len);
		pend = p + 1 + len;
		o->kind = 'p';
		o->nelems = p[n++];
		o->nsub = 0;
		for (int i = 0; i < o->nelems && aml_ok; i++) {
			if (p[n] == 0x12) {	/* a nested package: its integers */
				static struct aml_obj inner;
				n += dataobj(p + n, pend, &inner);
				if (o->nsub < 128) {
					for (int j = 0; j < 4 && j < inner.nelems; j++)
						o->sub[o->nsub][j] = inner.elems[j];
					o->nsub++;
				}
			} else {
				uint64_t v;
				n += integer(p + n, &v);
				if (i < 8)
					o->elems[i] = v;
			}
		}
		if (p + n != pend)
			aml_ok = false;
		return 1 + len;
	}
	}
	o->kind = 'i';
	return integer(p, &o->i);
}

static void join(char *out, const char *scope, const char *name)
{
	if (name[0] == '\\')
		strcpy(out, name);
	else
		snprintf(out, 64, "%s%s%s", scope, strcmp(scope, "\\") ? "." : "", name);
}

static void termlist(const uint8_t *p, const uint8_t *end, const char *scope)
{
	while (p < end && aml_ok) {
		char name[64], path[64];
		size_t len, n;
		if (p[0] == 0x08) {		/* Name */
			p += 1 + namestring(p + 1, end, name);
			struct aml_obj *o = &objs[nobjs < 31 ? nobjs++ : 31];
			join(o->path, scope, name);
			p += dataobj(p, end, o);
		} else if (p[0] == 0x10 || (p[0] == 0x5b && p[1] == 0x82)) {	/* Scope, Device */
			const uint8_t *op = p + (p[0] == 0x10 ? 1 : 2);
			n = pkglen(op, end, &len);
			const uint8_t *oend = op + len;
			if (oend > end) {
				aml_ok = false;
				return;
			}
			op += n;
			op += namestring(op, oend, name);
			join(path, scope, name);
			termlist(op, oend, path);
			p = oend;
		} else {
			aml_ok = false;
		}
	}
	if (p != end)
		aml_ok = false;
}

static const struct aml_obj *obj(const char *path)
{
	for (int i = 0; i < nobjs; i++)
		if (strcmp(objs[i].path, path) == 0)
			return &objs[i];
	return NULL;
}

/* Walk a resource template; counts descriptors and checks the end tag
 * closes it exactly.  Returns the offset of the first descriptor with
 * tag, or -1. */
static int res_find(const struct aml_obj *o, uint8_t tag, int nth)
{
	size_t i = 0;
	int found = -1;

	while (i < o->len) {
		uint8_t t = o->buf[i];
		size_t n = t & 0x80 ? 3 + le16(o->buf + i + 1) : 1 + (t & 7);
		uint8_t name = t & 0x80 ? t : t & 0xf8;
		if (name == tag && nth-- == 0)
			found = (int)i;
		if (t == 0x79) {
			CHECK_EQ(i + 2, o->len);	/* end tag last */
			return found;
		}
		i += n;
	}
	CHECK(!"resource template without an end tag");
	return -1;
}

static void check_dsdt(const uint8_t *d)
{
	uint32_t len = le32(d + 4);
	const struct aml_obj *o;
	int r;

	CHECK_EQ(d[8], 2);				/* 64-bit integers */
	aml_ok = true;
	nobjs = 0;
	termlist(d + 36, d + len, "\\");
	CHECK(aml_ok);
	o = obj("\\_SB_.PCI0._HID");
	CHECK(o && o->kind == 'i' && o->i == 0x030ad041);	/* EisaId("PNP0A03") */
	o = obj("\\_SB_.PCI0._ADR");
	CHECK(o && o->kind == 'i' && o->i == 0);
	/* _PRT: slots 2-31, INTA-D each a fixed GSI: the PIIX's swizzle
	 * (slot S pin P on PIRQ (S + P - 1) mod 4, P from 0) onto SeaBIOS's
	 * PIRQA-D = 10, 10, 11, 11. */
	o = obj("\\_SB_.PCI0._PRT");
	CHECK(o && o->kind == 'p' && o->nelems == 120 && o->nsub == 120);
	if (o && o->kind == 'p' && o->nsub == 120) {
		static const int pirq_irq[4] = { 10, 10, 11, 11 };
		int bad = 0;
		for (int e = 0; e < 120; e++) {
			int slot = 2 + e / 4, pin = e % 4;
			bad += o->sub[e][0] != ((uint64_t)slot << 16 | 0xffff) ||
			       o->sub[e][1] != (uint64_t)pin || o->sub[e][2] != 0 ||
			       o->sub[e][3] != (uint64_t)pirq_irq[(slot + pin - 1) & 3];
		}
		CHECK_EQ(bad, 0);
		CHECK_EQ(o->sub[4][3], 11);		/* 00:03.0 INTA: PIRQC */
	}
	o = obj("\\_SB_.HPET._HID");
	CHECK(o && o->kind == 'i' && o->i == 0x0301d041);	/* EisaId("PNP0103") */
	o = obj("\\_S5_");
	CHECK(o && o->kind == 'p' && o->nelems == 4);
	if (o && o->kind == 'p')
		CHECK_EQ(o->elems[0] | o->elems[1], 0);		/* SLP_TYP 0 */
	o = obj("\\_SB_.PCI0._CRS");
	CHECK(o && o->kind == 'b');
	if (o && o->kind == 'b') {
		r = res_find(o, 0x88, 0);			/* bus numbers */
		CHECK(r >= 0 && o->buf[r + 3] == 2);
		if (r >= 0) {
			CHECK_EQ(le16(o->buf + r + 8), 0);
			CHECK_EQ(le16(o->buf + r + 10), 0xff);
		}
		r = res_find(o, 0x40, 0);			/* I/O 0xcf8, 8 ports */
		CHECK(r >= 0);
		if (r >= 0) {
			CHECK_EQ(le16(o->buf + r + 2), 0xcf8);
			CHECK_EQ(o->buf[r + 7], 8);
		}
		r = res_find(o, 0x87, 1);			/* the 32-bit PCI window */
		CHECK(r >= 0 && o->buf[r + 3] == 0);
		if (r >= 0) {
			CHECK_EQ(le32(o->buf + r + 10), 64 << 20);	/* end of RAM */
			CHECK_EQ(le32(o->buf + r + 14), 0xfebfffff);
			CHECK_EQ(le32(o->buf + r + 22), 0xfebfffff - (64 << 20) + 1);
		}
	}
	/* The ISA devices behind the PIIX3 bridge, with the ports and IRQs
	 * of pc.h (and the i8042's 1 and 12). */
	static const struct { const char *dev; uint32_t hid; uint16_t port; int irq; } isa[] = {
		{ "RTC_", 0x000bd041, 0x70, 8 },	/* PNP0B00 */
		{ "KBD_", 0x0303d041, 0x60, 1 },	/* PNP0303 */
		{ "MOU_", 0x130fd041, 0, 12 },		/* PNP0F13 */
		{ "COM1", 0x0105d041, 0x3f8, 4 },	/* PNP0501 */
	};
	o = obj("\\_SB_.PCI0.ISA_._ADR");
	CHECK(o && o->kind == 'i' && o->i == 0x00010000);
	for (unsigned k = 0; k < sizeof(isa) / sizeof(isa[0]); k++) {
		char path[64];
		snprintf(path, sizeof(path), "\\_SB_.PCI0.ISA_.%s._HID", isa[k].dev);
		o = obj(path);
		CHECK(o && o->kind == 'i' && o->i == isa[k].hid);
		snprintf(path, sizeof(path), "\\_SB_.PCI0.ISA_.%s._CRS", isa[k].dev);
		o = obj(path);
		CHECK(o && o->kind == 'b');
		if (!o || o->kind != 'b')
			continue;
		r = res_find(o, 0x20, 0);		/* IRQ descriptor */
		CHECK(r >= 0 && le16(o->buf + r + 1) == 1u << isa[k].irq);
		r = res_find(o, 0x40, 0);
		if (isa[k].port)
			CHECK(r >= 0 && le16(o->buf + r + 2) == isa[k].port);
		else
			CHECK_EQ(r, -1);
	}
	o = obj("\\_SB_.HPET._CRS");
	CHECK(o && o->kind == 'b');
	if (o && o->kind == 'b') {
		r = res_find(o, 0x86, 0);
		CHECK(r >= 0);
		if (r >= 0) {
			CHECK_EQ(le32(o->buf + r + 4), 0xfed00000);
			CHECK_EQ(le32(o->buf + r + 8), 0x400);
		}
	}
}

/* iasl's disassembler on one table: it must decode without complaint
 * (it checks lengths, checksums and subtable layouts) and show want. */
static void check_iasl(const uint8_t *t, const char *want)
{
	char dir[] = "/tmp/loom-acpi-XXXXXX", cmd[768];
	FILE *f;

	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		SKIP("iasl (acpica-tools) not installed: tables not disassembled");
		return;
	}
	if (!mkdtemp(dir)) {
		SKIP("no temporary directory");
		return;
	}
	snprintf(cmd, sizeof(cmd), "%s/t.aml", dir);
	f = fopen(cmd, "wb");
	if (!f) {
		SKIP("cannot write a temporary file");
		return;
	}
	fwrite(t, 1, le32(t + 4), f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && iasl -d t.aml >log 2>&1 && grep -q -- '%s' t.dsl && "
		 "! grep -qiE 'error|warning|invalid' log t.dsl",
		 dir, want);
	CHECK(system(cmd) == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static void check_fadt(const uint8_t *f, uint64_t dsdt)
{
	CHECK_EQ(le32(f + 4), 244);
	CHECK_EQ(f[8], 3);
	CHECK_EQ(le32(f + 40), dsdt);
	CHECK_EQ(le64(f + 140), dsdt);			/* X_DSDT */
	/* X_FIRMWARE_CTRL must be 0 when FIRMWARE_CTRL is set (ACPI spec,
	 * FADT).  The FACS has no checksum or OEM fields: signature, length,
	 * 64-byte alignment. */
	CHECK_EQ(le64(f + 132), 0);
	const uint8_t *facs = ram(le32(f + 36), 64);
	CHECK(facs && memcmp(facs, "FACS", 4) == 0 && le32(facs + 4) == 64);
	CHECK_EQ(le32(f + 36) & 63, 0);
	CHECK_EQ(le16(f + 46), 9);			/* SCI IRQ */
	CHECK_EQ(le32(f + 48), 0xb2);			/* SMI_CMD */
	CHECK_EQ(f[52], 0xf1);
	CHECK_EQ(f[53], 0xf0);
	CHECK_EQ(le32(f + 56), 0x600);			/* PM1a_EVT */
	CHECK_EQ(le32(f + 64), 0x604);			/* PM1a_CNT */
	CHECK_EQ(le32(f + 76), 0x608);			/* PM_TMR */
	CHECK_EQ(le32(f + 80), 0xafe0);			/* GPE0 */
	CHECK_EQ(f[88], 4);
	CHECK_EQ(f[89], 2);
	CHECK_EQ(f[91], 4);
	CHECK_EQ(f[92], 4);
	CHECK_EQ(le32(f + 112) & (1 << 8), 0);		/* TMR_VAL_EXT clear: 24-bit timer */
	CHECK(le32(f + 112) & (1 << 10));		/* reset register supported */
	CHECK(le16(f + 109) & 2);			/* an 8042 */
	CHECK_EQ(f[116], 1);				/* reset register in I/O space */
	CHECK_EQ(f[117], 8);
	CHECK_EQ(le64(f + 120), 0xcf9);
	CHECK_EQ(f[128], 0x06);
	CHECK_EQ(f[148], 1);				/* X_PM1a_EVT */
	CHECK_EQ(f[149], 32);
	CHECK_EQ(le64(f + 152), 0x600);
	CHECK_EQ(f[173], 16);				/* X_PM1a_CNT */
	CHECK_EQ(le64(f + 176), 0x604);
	CHECK_EQ(le64(f + 212), 0x608);			/* X_PM_TMR */
	CHECK_EQ(le64(f + 224), 0xafe0);		/* X_GPE0 */
}

static void check_madt(const uint8_t *m, int ncpus)
{
	uint32_t len = le32(m + 4), i = 44;
	int lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	CHECK_EQ(le32(m + 36), 0xfee00000);
	CHECK_EQ(le32(m + 40) & 1, 1);			/* PCAT_COMPAT */
	while (i + 2 <= len) {
		const uint8_t *e = m + i;
		CHECK(e[1] >= 2 && i + e[1] <= len);
		if (e[1] < 2)
			break;
		switch (e[0]) {
		case 0:
			CHECK_EQ(e[3], lapics);		/* APIC IDs 0.. */
			CHECK_EQ(le32(e + 4) & 1, 1);
			lapics++;
			break;
		case 1:
			CHECK_EQ(e[2], 0);
			CHECK_EQ(le32(e + 4), 0xfec00000);
			CHECK_EQ(le32(e + 8), 0);
			ioapics++;
			break;
		case 2:
			CHECK_EQ(e[2], 0);		/* ISA */
			if (e[3] == 0) {
				CHECK_EQ(le32(e + 4), 2);
				CHECK_EQ(le16(e + 8), 0);
			} else {
				CHECK_EQ(e[3], 9);
				CHECK_EQ(le32(e + 4), 9);
				CHECK_EQ(le16(e + 8), 0xd);	/* level, active high */
			}
			isos++;
			break;
		case 4:
			CHECK_EQ(e[2], 0xff);
			CHECK_EQ(e[5], 1);		/* LINT1 */
			nmis++;
			break;
		default:
			CHECK(!"unexpected MADT entry");
		}
		i += e[1];
	}
	CHECK_EQ(i, len);
	CHECK_EQ(lapics, ncpus);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(isos, 2);
	CHECK_EQ(nmis, 1);
}

static void check_hpet(const uint8_t *h)
{
	CHECK_EQ(le32(h + 4), 56);
	CHECK_EQ(le32(h + 36), 0x8086a201);
	CHECK_EQ(h[40], 0);				/* memory space */
	CHECK_EQ(le64(h + 44), 0xfed00000);
}

static void test_tables(int ncpus)
{
	const uint8_t *rsdp = NULL, *x, *r;
	uint64_t found = 0;
	const char *want[3] = { "FACP", "APIC", "HPET" };

	physmem_fini();
	CHECK_EQ(physmem_init(64 << 20), 0);
	CHECK_EQ(acpi_build(ncpus, 64 << 20), PC_ACPI_RSDP);
	/* A kernel's search: 16-byte boundaries of 0xe0000-0xfffff. */
	for (uint64_t pa = 0xe0000; pa < 0x100000; pa += 16) {
		const uint8_t *p = ram(pa, 8);
		if (p && memcmp(p, "RSD PTR ", 8) == 0) {
			found = pa;
			break;
		}
	}
	CHECK_EQ(found, PC_ACPI_RSDP);
	rsdp = ram(PC_ACPI_RSDP, 36);
	CHECK_EQ(sum(rsdp, 20), 0);
	CHECK_EQ(sum(rsdp, 36), 0);
	CHECK_EQ(rsdp[15], 2);
	CHECK_EQ(le32(rsdp + 20), 36);
	x = table(le64(rsdp + 24), "XSDT");
	r = table(le32(rsdp + 16), "RSDT");
	if (!x || !r)
		return;
	CHECK_EQ(le32(x + 4), 36 + 3 * 8);
	CHECK_EQ(le32(r + 4), 36 + 3 * 4);
	for (int i = 0; i < 3; i++) {
		uint64_t pa = le64(x + 36 + 8 * i);
		CHECK_EQ(le32(r + 36 + 4 * i), pa);
		CHECK(pa >= PC_ACPI_BASE && pa < PC_ACPI_RSDP);
		const uint8_t *t = table(pa, want[i]);
		if (!t)
			continue;
		if (ncpus == 1)
			check_iasl(t, i == 0 ? "Value to cause reset : 06" :
				   i == 1 ? "Interrupt Source Override" : "Hardware Block ID");
		if (i == 0) {
			check_fadt(t, le32(t + 40));
			const uint8_t *d = table(le32(t + 40), "DSDT");
			if (d) {
				check_dsdt(d);
				if (ncpus == 1)
					check_iasl(d, "Name (\\\\_S5, Package (0x04)");
			}
		} else if (i == 1) {
			check_madt(t, ncpus);
		} else {
			check_hpet(t);
		}
	}
}

static void test_aml_encodings(void)
{
	struct aml a;
	size_t m;

	/* PkgLength: 63 bytes in one byte, 64 needs two (ACPI spec
	 * example: 0x40 + low nibble, then the next eight bits). */
	aml_init(&a);
	m = aml_package_begin(&a, 0);
	for (int i = 0; i < 61; i++)
		aml_byte(&a, 0);
	aml_end(&a, m);
	CHECK_EQ(a.b[1], 63);			/* 1 + 1 + 61 */
	aml_fini(&a);
	aml_init(&a);
	m = aml_package_begin(&a, 0);
	for (int i = 0; i < 62; i++)
		aml_byte(&a, 0);
	aml_end(&a, m);
	CHECK_EQ(a.n, 1 + 2 + 1 + 62);
	CHECK_EQ(a.b[1], 0x40 | ((2 + 1 + 62) & 0xf));
	CHECK_EQ(a.b[2], (2 + 1 + 62) >> 4);
	aml_fini(&a);
	/* Names, integers, strings. */
	aml_init(&a);
	aml_name_string(&a, "\\_SB.PCI0");
	CHECK_EQ(a.n, 10);
	CHECK(memcmp(a.b, "\\\x2e_SB_PCI0", 10) == 0);
	aml_fini(&a);
	aml_init(&a);
	aml_integer(&a, 0x1234);
	aml_integer(&a, 0x123456789ull);
	aml_string(&a, "ab");
	CHECK(memcmp(a.b, "\x0b\x34\x12\x0e\x89\x67\x45\x23\x01\x00\x00\x00\x0d" "ab", 16) == 0);
	aml_fini(&a);
	CHECK_EQ(aml_eisaid_value("PNP0501"), 0x0105d041);
}

void unit_main(void)
{
	test_aml_encodings();
	test_tables(1);
	test_tables(4);
	physmem_fini();
}
