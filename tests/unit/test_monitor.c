/*
 * The HMP monitor (src/system/monitor.c) against a fake machine: each
 * command's output is compared with what qemu-system-x86_64 7.2's monitor
 * printed for the same state.  The register state, the bytes at 0xf0000
 * and at the kernel's 0xffffffff81000000, and the expected lines below were
 * taken from a qemu-system -M pc run of Debian's kernel stopped with `stop`
 * (its `info registers`, `x`, `xp`, errors); the page-table listings use
 * tables built here, laid out per HMP's `info tlb`/`info mem` formats as
 * that run printed them.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "system/monitor.h"
#include "unit.h"

#define RAM_SIZE (8u << 20)

static struct {
	uint8_t *ram;
	struct monitor_regs regs;
	bool running;
	int stops, conts, resets, quits;
} fake;

static bool fake_regs(void *o, struct monitor_regs *r) { *r = fake.regs; return true; }
static bool fake_read(void *o, uint64_t pa, void *buf, size_t len)
{
	if (pa >= RAM_SIZE || len > RAM_SIZE - pa)
		return false;
	memcpy(buf, fake.ram + pa, len);
	return true;
}
static bool fake_running(void *o) { return fake.running; }
static void fake_stop(void *o) { fake.stops++; fake.running = false; }
static void fake_cont(void *o) { fake.conts++; fake.running = true; }
static void fake_reset(void *o) { fake.resets++; }
static void fake_quit(void *o) { fake.quits++; }

static const struct monitor_ops ops = {
	.get_regs = fake_regs, .read_phys = fake_read, .running = fake_running,
	.stop = fake_stop, .cont = fake_cont, .reset = fake_reset, .quit = fake_quit,
};

static struct monitor mon;
static char *outbuf;
static size_t outlen;

/* Run line; its output must be exactly want. */
static void expect(const char *line, const char *want)
{
	FILE *f = open_memstream(&outbuf, &outlen);
	mon.out = f;
	monitor_command(&mon, line);
	fclose(f);
	int same = !strcmp(outbuf, want);
	CHECK(same);
	if (!same)
		fprintf(stderr, "  command: %s\n  got:\n%s  want:\n%s", line, outbuf, want);
	free(outbuf);
	outbuf = NULL;
}

static void put64(uint64_t pa, uint64_t v) { memcpy(fake.ram + pa, &v, 8); }

/* The state qemu-system's `info registers` printed (Debian's kernel idle
 * in hlt). */
static void qemu_state(void)
{
	struct monitor_regs *r = &fake.regs;
	memset(r, 0, sizeof(*r));
	r->gpr[0] = 0x1ad40; r->gpr[1] = 0x20; r->gpr[2] = 0x4000000000000000;
	r->gpr[3] = 0; r->gpr[4] = 0xffffffff82a03e98; r->gpr[5] = 0xffffffff82a1aa40;
	r->gpr[6] = 0x83; r->gpr[7] = 0x734; r->gpr[8] = 0xffff88801f423000;
	r->gpr[9] = 0x313b37ae; r->gpr[10] = 0xfffffffb; r->gpr[15] = 0x14790;
	r->rip = 0xffffffff81a592eb;
	r->rflags = 0x246;
	r->halted = true;
	r->seg[MON_CS] = (struct monitor_seg){ 0x10, 0, 0xffffffff, 0x00af9b00 };
	r->seg[MON_SS] = (struct monitor_seg){ 0x18, 0, 0xffffffff, 0x00cf9300 };
	r->seg[MON_GS] = (struct monitor_seg){ 0, 0xffff88801f400000, 0, 0 };
	r->ldt = (struct monitor_seg){ 0, 0, 0, 0x8200 };
	r->tr = (struct monitor_seg){ 0x40, 0xfffffe0000003000, 0x4087, 0x8900 };
	r->gdt_base = 0xfffffe0000001000; r->gdt_limit = 0x7f;
	r->idt_base = 0xfffffe0000000000; r->idt_limit = 0xfff;
	r->cr0 = 0x80050033; r->cr2 = 0x5794a9; r->cr3 = 0x10000; r->cr4 = 0x6f0;
	r->dr[6] = 0xffff0ff0; r->dr[7] = 0x400;
	r->efer = 0xd01;
	r->fcw = 0x37f; r->mxcsr = 0x1f80;
	r->xmm[1][0] = 0x408f400000000000;
	r->xmm[2][1] = 0x6e696c3d4d524554; r->xmm[2][0] = 0x002f3d454d4f4800;
	r->xmm[3][0] = 0x00786f6279737562;
	r->xmm[4][1] = 0x0000000000ff0000;
	r->xmm[5][1] = r->xmm[5][0] = 0x3f3f3f3f3f3f3f3f;
	r->xmm[6][1] = r->xmm[6][0] = 0x9999999999999999;
	r->xmm[7][1] = r->xmm[7][0] = 0x2020202020202020;
	r->xmm[8][1] = 0x2020202000000020; r->xmm[8][0] = 0x2020200000000000;
}

/* The bytes qemu-system showed at physical 0xf0000 (SeaBIOS) and at the
 * kernel's text, and page tables (CR3 0x10000) mapping:
 *   0x400000  -> 0x300000  user, read-only, accessed
 *   0x401000  -> 0x301000  user, writable, dirty, NX
 *   0x403000  -> 0x303000  user, writable
 *   0xffffffff81000000 -> 0x200000  global, writable, dirty (4 KiB)
 *   0xffffffff81200000 -> 0x400000  a 2 MiB page, global, NX */
static void fake_memory(void)
{
	static const uint8_t bios[80] = {
		0x43, 0x24, 0x83, 0xc4, 0x20, 0x5b, 0x5e, 0x5f, 0x5d, 0xc3, 0x55, 0x57, 0x56, 0x53,
		0x83, 0xec, 0x08, 0x89, 0xc6, 0x89, 0xd3, 0x2d, 0x20, 0x01, 0x00, 0x00, 0x89, 0x04,
		0x24, 0x8b, 0x06, 0x0f, 0xb7, 0x6e, 0x08, 0x8b, 0x56, 0x14, 0x83, 0x7e, 0x18, 0x00,
		0x75, 0x13, 0x89, 0xe9, 0x8b, 0x04, 0x24, 0xe8, 0x4d, 0xac, 0xff, 0xff, 0xc7, 0x46,
		0x18, 0x01, 0x00, 0x00, 0x00, 0xeb, 0x15, 0x89, 0x54, 0x24, 0x04, 0xe8, 0x7a, 0xda,
		0xff, 0xff, 0x8b, 0x46, 0xf4, 0x39, 0x46, 0xf0, 0x8b, 0x54,
	};
	static const uint8_t text[24] = {
		0x48, 0x8d, 0x25, 0x51, 0x3f, 0xa0, 0x01, 0x48, 0x8d, 0x3d, 0xf2, 0xff,
		0xff, 0xff, 0xb9, 0x01, 0x01, 0x00, 0xc0, 0x48, 0x8b, 0x05, 0x9e, 0xb1,
	};
	memset(fake.ram, 0, RAM_SIZE);
	memcpy(fake.ram + 0xf0000, bios, sizeof(bios));
	memcpy(fake.ram + 0x200000, text, sizeof(text));
	/* Kernel half: PML4[511] -> PDPT[510] -> PD[8] (4 KiB), PD[9] (2 MiB). */
	put64(0x10000 + 511 * 8, 0x11000 | 0x3);
	put64(0x11000 + 510 * 8, 0x12000 | 0x3);
	put64(0x12000 + 8 * 8, 0x13000 | 0x3);
	put64(0x13000, 0x200000 | 0x163);				/* P W A D G */
	put64(0x12000 + 9 * 8, 0x400000 | 0x1e3 | (1ull << 63));	/* P W A D PS G NX */
	/* User half: PML4[0] -> PDPT[0] -> PD[2] -> PT. */
	put64(0x10000, 0x14000 | 0x7);
	put64(0x14000, 0x15000 | 0x7);
	put64(0x15000 + 2 * 8, 0x16000 | 0x7);
	put64(0x16000 + 0 * 8, 0x300000 | 0x25);			/* P U A */
	put64(0x16000 + 1 * 8, 0x301000 | 0x67 | (1ull << 63));	/* P W U A D NX */
	put64(0x16000 + 3 * 8, 0x303000 | 0x7);			/* P W U */
}

static void test_info_registers(void)
{
	expect("info registers",
	       "CPU#0\n"
	       "RAX=000000000001ad40 RBX=0000000000000000 RCX=0000000000000020 RDX=4000000000000000\n"
	       "RSI=0000000000000083 RDI=0000000000000734 RBP=ffffffff82a1aa40 RSP=ffffffff82a03e98\n"
	       "R8 =ffff88801f423000 R9 =00000000313b37ae R10=00000000fffffffb R11=0000000000000000\n"
	       "R12=0000000000000000 R13=0000000000000000 R14=0000000000000000 R15=0000000000014790\n"
	       "RIP=ffffffff81a592eb RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\n"
	       "ES =0000 0000000000000000 00000000 00000000\n"
	       "CS =0010 0000000000000000 ffffffff 00af9b00 DPL=0 CS64 [-RA]\n"
	       "SS =0018 0000000000000000 ffffffff 00cf9300 DPL=0 DS   [-WA]\n"
	       "DS =0000 0000000000000000 00000000 00000000\n"
	       "FS =0000 0000000000000000 00000000 00000000\n"
	       "GS =0000 ffff88801f400000 00000000 00000000\n"
	       "LDT=0000 0000000000000000 00000000 00008200 DPL=0 LDT\n"
	       "TR =0040 fffffe0000003000 00004087 00008900 DPL=0 TSS64-avl\n"
	       "GDT=     fffffe0000001000 0000007f\n"
	       "IDT=     fffffe0000000000 00000fff\n"
	       "CR0=80050033 CR2=00000000005794a9 CR3=0000000000010000 CR4=000006f0\n"
	       "DR0=0000000000000000 DR1=0000000000000000 DR2=0000000000000000 DR3=0000000000000000 \n"
	       "DR6=00000000ffff0ff0 DR7=0000000000000400\n"
	       "EFER=0000000000000d01\n"
	       "FCW=037f FSW=0000 [ST=0] FTW=00 MXCSR=00001f80\n"
	       "FPR0=0000000000000000 0000 FPR1=0000000000000000 0000\n"
	       "FPR2=0000000000000000 0000 FPR3=0000000000000000 0000\n"
	       "FPR4=0000000000000000 0000 FPR5=0000000000000000 0000\n"
	       "FPR6=0000000000000000 0000 FPR7=0000000000000000 0000\n"
	       "XMM00=0000000000000000 0000000000000000 XMM01=0000000000000000 408f400000000000\n"
	       "XMM02=6e696c3d4d524554 002f3d454d4f4800 XMM03=0000000000000000 00786f6279737562\n"
	       "XMM04=0000000000ff0000 0000000000000000 XMM05=3f3f3f3f3f3f3f3f 3f3f3f3f3f3f3f3f\n"
	       "XMM06=9999999999999999 9999999999999999 XMM07=2020202020202020 2020202020202020\n"
	       "XMM08=2020202000000020 2020200000000000 XMM09=0000000000000000 0000000000000000\n"
	       "XMM10=0000000000000000 0000000000000000 XMM11=0000000000000000 0000000000000000\n"
	       "XMM12=0000000000000000 0000000000000000 XMM13=0000000000000000 0000000000000000\n"
	       "XMM14=0000000000000000 0000000000000000 XMM15=0000000000000000 0000000000000000\n");
	expect("info registers 1", "CPU#1 not available\n");
	expect("info bogus", "unknown command: 'info bogus'\n");
}

static void test_xp(void)
{
	expect("xp /4xw 0x1000", "0000000000001000: 0x00000000 0x00000000 0x00000000 0x00000000\n");
	expect("xp /3xg 0x1000",
	       "0000000000001000: 0x0000000000000000 0x0000000000000000\n"
	       "0000000000001010: 0x0000000000000000\n");
	expect("xp /5xb 0x100000", "0000000000100000: 0x00 0x00 0x00 0x00 0x00\n");
	expect("xp /3db 0x100000", "0000000000100000:   0   0   0\n");
	expect("xp /9xb 0x100000",
	       "0000000000100000: 0x00 0x00 0x00 0x00 0x00 0x00 0x00 0x00\n"
	       "0000000000100008: 0x00\n");
	expect("xp /4xh 0xf0000", "00000000000f0000: 0x2443 0xc483 0x5b20 0x5f5e\n");
	expect("xp /17xb 0xf0000",
	       "00000000000f0000: 0x43 0x24 0x83 0xc4 0x20 0x5b 0x5e 0x5f\n"
	       "00000000000f0008: 0x5d 0xc3 0x55 0x57 0x56 0x53 0x83 0xec\n"
	       "00000000000f0010: 0x08\n");
	expect("xp /3uw 0xf0000", "00000000000f0000: 3296928835 1600019232 1465238365\n");
	expect("xp /3dw 0xf0000", "00000000000f0000: 3296928835 1600019232 1465238365\n");
	/* 'c' with the last size (w): count * 4 bytes, 16 a line (HMP's). */
	expect("xp /20c 0xf0000",
	       "00000000000f0000: 'C' '$' '\\x83' '\\xc4' ' ' '[' '^' '_' ']' '\\xc3' 'U' 'W' 'V' 'S' '\\x83' '\\xec'\n"
	       "00000000000f0010: '\\x08' '\\x89' '\\xc6' '\\x89' '\\xd3' '-' ' ' '\\x01' '\\x00' '\\x00' '\\x89' '\\x04' '$' '\\x8b' '\\x06' '\\x0f'\n"
	       "00000000000f0020: '\\xb7' 'n' '\\x08' '\\x8b' 'V' '\\x14' '\\x83' '~' '\\x18' '\\x00' 'u' '\\x13' '\\x89' '\\xe9' '\\x8b' '\\x04'\n"
	       "00000000000f0030: '$' '\\xe8' 'M' '\\xac' '\\xff' '\\xff' '\\xc7' 'F' '\\x18' '\\x01' '\\x00' '\\x00' '\\x00' '\\xeb' '\\x15' '\\x89'\n"
	       "00000000000f0040: 'T' '$' '\\x04' '\\xe8' 'z' '\\xda' '\\xff' '\\xff' '\\x8b' 'F' '\\xf4' '9' 'F' '\\xf0' '\\x8b' 'T'\n");
	expect("xp /3ob 0xf0000", "00000000000f0000: 0103 044 0203\n");
	expect("xp /2og 0xf0000",
	       "00000000000f0000: 0575362662030440622103 01662032465312725341535\n");
	expect("xp /2xw 0x1000+4", "0000000000001004: 0x00000000 0x00000000\n");
	expect("xp /0xw 0x1000", "");
	/* No format: count 1 in the last format and size. */
	expect("xp /x 0x1000", "0000000000001000: 0x00000000\n");
	expect("xp /2xg 0x1000", "0000000000001000: 0x0000000000000000 0x0000000000000000\n");
	expect("xp 0x1000", "0000000000001000: 0x0000000000000000\n");
	expect("xp /xw 0x1000", "0000000000001000: 0x00000000\n");
	/* Beyond RAM, and straddling its end. */
	expect("xp 0x5000000000", "0000005000000000: Cannot access memory\n");
	expect("xp /2xw 0x7ffffc", "00000000007ffffc: Cannot access memory\n");
}

static void test_x(void)
{
	expect("x /2xg 0xffffffff81000000",
	       "ffffffff81000000: 0x4801a03f51258d48 0x01b9fffffff23d8d\n");
	expect("x /3dg 0xffffffff81000000",
	       "ffffffff81000000:  5188604439512321352   124411939705208205\n"
	       "ffffffff81000010: -5648070786896887807\n");
	expect("x /3cb 0xffffffff81000000", "ffffffff81000000: 'H' '\\x8d' '%'\n");
	expect("x /4xw 0", "0000000000000000: Cannot access memory\n");
	expect("x 0x1000", "0000000000001000: Cannot access memory\n");
	/* Through the 2 MiB page, and $-registers in an address. */
	memcpy(fake.ram + 0x400010, "\x11\x22\x33\x44", 4);
	expect("x /xw 0xffffffff81200010", "ffffffff81200010: 0x44332211\n");
	fake.regs.rip = 0xffffffff81000000;
	expect("x /2xb $pc", "ffffffff81000000: 0x48 0x8d\n");
	expect("x /xb $pc+2", "ffffffff81000002: 0x25\n");
	fake.regs.rip = 0xffffffff81a592eb;
	/* No paging: virtual is physical. */
	fake.regs.cr0 &= ~(1ull << 31);
	expect("x /4xh 0xf0000", "00000000000f0000: 0x2443 0xc483 0x5b20 0x5f5e\n");
	expect("info tlb", "PG disabled\n");
	fake.regs.cr0 |= 1ull << 31;
}

static void test_paging_info(void)
{
	expect("info tlb",
	       "0000000000400000: 0000000000300000 ----A--U-\n"
	       "0000000000401000: 0000000000301000 X--DA--UW\n"
	       "0000000000403000: 0000000000303000 -------UW\n"
	       "ffffffff81000000: 0000000000200000 -G-DA---W\n"
	       "ffffffff81200000: 0000000000400000 XGPDA---W\n");
	expect("info mem",
	       "0000000000400000-0000000000401000 0000000000001000 ur-\n"
	       "0000000000401000-0000000000402000 0000000000001000 urw\n"
	       "0000000000403000-0000000000404000 0000000000001000 urw\n"
	       "ffffffff81000000-ffffffff81001000 0000000000001000 -rw\n"
	       "ffffffff81200000-ffffffff81400000 0000000000200000 -rw\n");
}

static void test_errors(void)
{
	expect("bogus", "unknown command: 'bogus'\n");
	expect("x /4q 0", "invalid char in format: 'q'\nTry \"help x\" for more information\n");
	expect("xp /2z 0x1000", "invalid char in format: 'z'\nTry \"help xp\" for more information\n");
	expect("x /-2xw 0x1000", "invalid char in format: '-'\nTry \"help x\" for more information\n");
	expect("xp", "unexpected end of expression\nTry \"help xp\" for more information\n");
	expect("x", "unexpected end of expression\nTry \"help x\" for more information\n");
	expect("xp /4xw", "unexpected end of expression\nTry \"help xp\" for more information\n");
	expect("memsave", "unexpected end of expression\nTry \"help memsave\" for more information\n");
	expect("memsave 0 16", "memsave: string expected\nTry \"help memsave\" for more information\n");
	expect("pmemsave 0x1000 abc /tmp/x",
	       "invalid char 'a' in expression\nTry \"help pmemsave\" for more information\n");
	expect("info registers extra",
	       "invalid char 'e' in expression\nTry \"help info registers\" for more information\n");
	expect("x /4xw $nosuch", "unknown register\nTry \"help x\" for more information\n");
	expect("", "");
}

static void test_help(void)
{
	expect("help x", "x /fmt addr -- virtual memory dump starting at 'addr'\n");
	expect("help xp", "xp /fmt addr -- physical memory dump starting at 'addr'\n");
	expect("help stop", "stop|s  -- stop emulation\n");
	expect("help info tlb", "info tlb  -- show virtual to physical memory mappings\n");
	expect("help memsave",
	       "memsave addr size file -- save to disk virtual memory dump starting at 'addr' of size 'size'\n");
	expect("? quit", "quit|q  -- quit the emulator\n");
}

static void test_actions(void)
{
	fake.running = true;
	expect("info status", "VM status: running\n");
	expect("stop", "");
	CHECK_EQ(fake.stops, 1);
	expect("info status", "VM status: paused\n");
	expect("c", "");
	CHECK_EQ(fake.conts, 1);
	expect("s", "");
	CHECK_EQ(fake.stops, 2);
	expect("system_reset", "");
	CHECK_EQ(fake.resets, 1);
	expect("q", "");
	CHECK_EQ(fake.quits, 1);
}

static void test_save(void)
{
	char dir[] = "/tmp/loom-test-monitor-XXXXXX";
	if (!mkdtemp(dir)) {
		SKIP("mkdtemp failed");
		return;
	}
	char cmd[256], path[128];
	snprintf(path, sizeof(path), "%s/p.bin", dir);
	snprintf(cmd, sizeof(cmd), "pmemsave 0xf0000 20 %s", path);
	expect(cmd, "");
	uint8_t buf[64];
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	CHECK_EQ(n, 20);
	CHECK(!memcmp(buf, fake.ram + 0xf0000, 20));
	snprintf(path, sizeof(path), "%s/v.bin", dir);
	snprintf(cmd, sizeof(cmd), "memsave 0xffffffff81000000 24 \"%s\"", path);
	expect(cmd, "");
	f = fopen(path, "rb");
	n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	CHECK_EQ(n, 24);
	CHECK(!memcmp(buf, fake.ram + 0x200000, 24));
	unlink(path);
	snprintf(path, sizeof(path), "%s/p.bin", dir);
	unlink(path);
	expect("pmemsave 0x100000 16 /nonexistent/x",
	       "Error: Could not open '/nonexistent/x': No such file or directory\n");
	snprintf(path, sizeof(path), "%s/none.bin", dir);
	snprintf(cmd, sizeof(cmd), "memsave 0 16 %s", path);
	expect(cmd, "Error: Invalid addr 0x0000000000000000/size 16 specified\n");
	unlink(path);
	/* Physical memory outside RAM saves as the bus reads it (all ones
	 * here), as HMP's pmemsave does. */
	snprintf(path, sizeof(path), "%s/hole.bin", dir);
	snprintf(cmd, sizeof(cmd), "pmemsave 0x5000000000 4 %s", path);
	expect(cmd, "");
	f = fopen(path, "rb");
	n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	CHECK_EQ(n, 4);
	CHECK(!memcmp(buf, "\xff\xff\xff\xff", 4));
	unlink(path);
	rmdir(dir);
}

/* loom's own `plugin` command (HMP has none): against a fake set of two
 * plugins, and against a machine that offers none. */
static struct { const char *name; bool on; } fake_plugins[2] = { { "bb", true }, { "mem", false } };
static int fake_plugin_count(void *o) { return 2; }
static const char *fake_plugin_name(void *o, int i) { return fake_plugins[i].name; }
static bool fake_plugin_enabled(void *o, int i) { return fake_plugins[i].on; }
static bool fake_plugin_set(void *o, const char *name, bool on)
{
	for (int i = 0; i < 2; i++)
		if (!strcmp(fake_plugins[i].name, name)) {
			fake_plugins[i].on = on;
			return true;
		}
	return false;
}

static void test_plugin(void)
{
	expect("plugin list", "no plugins loaded\n");
	expect("plugin enable bb", "Error: no plugin named 'bb' (plugin list shows them)\n");

	static const struct monitor_ops with_plugins = {
		.get_regs = fake_regs, .read_phys = fake_read, .plugin_count = fake_plugin_count,
		.plugin_name = fake_plugin_name, .plugin_enabled = fake_plugin_enabled,
		.plugin_set_enabled = fake_plugin_set,
	};
	struct monitor saved = mon;
	monitor_init(&mon, &with_plugins, NULL, stdout);
	expect("plugin list", "bb on\nmem off\n");
	expect("plugin disable bb", "");
	CHECK(!fake_plugins[0].on);
	expect("plugin enable mem", "");
	CHECK(fake_plugins[1].on);
	expect("plugin list", "bb off\nmem on\n");
	expect("plugin enable nosuch", "Error: no plugin named 'nosuch' (plugin list shows them)\n");
	const char *usage = "plugin: list, enable NAME or disable NAME\n"
			    "Try \"help plugin\" for more information\n";
	expect("plugin", usage);
	expect("plugin frob", usage);
	expect("plugin enable", usage);
	expect("plugin list bb", usage);
	expect("plugin disable bb mem", usage);
	expect("help plugin", "plugin list|enable name|disable name -- list the loaded plugins, "
	       "or switch one's instrumentation on or off (loom)\n");
	mon = saved;
}

/* loom's own commands reach the machine's callbacks with their arguments,
 * or say they are not there. */
static void fake_procs(void *o, FILE *out) { fputs("procs\n", out); }
static void fake_modules(void *o, const char *args, FILE *out) { fprintf(out, "modules <%s>\n", args); }
static void fake_cov(void *o, const char *args, FILE *out) { fprintf(out, "cov <%s>\n", args); }

static void test_loom_commands(void)
{
	expect("info procs", "info procs: not available on this machine\n");
	expect("info modules 1", "info modules: not available on this machine\n");
	expect("cov start", "cov: not available on this machine\n");
	struct monitor_ops with = ops;
	with.info_procs = fake_procs;
	with.info_modules = fake_modules;
	with.cov = fake_cov;
	mon.ops = &with;
	expect("info procs", "procs\n");
	expect("info modules", "modules <>\n");
	expect("info modules 42", "modules <42>\n");
	expect("cov write /tmp/f drcov", "cov <write /tmp/f drcov>\n");
	expect("help info procs", "info procs  -- show the guest's processes and threads (loom)\n");
	mon.ops = &ops;
}

void unit_main(void)
{
	fake.ram = calloc(1, RAM_SIZE);
	if (!fake.ram) {
		CHECK(0);
		return;
	}
	qemu_state();
	fake_memory();
	monitor_init(&mon, &ops, NULL, stdout);
	test_info_registers();
	test_xp();
	test_x();
	test_paging_info();
	test_errors();
	test_help();
	test_actions();
	test_save();
	test_plugin();
	test_loom_commands();
	free(fake.ram);
}
