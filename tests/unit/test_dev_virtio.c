/*
 * The virtio-pci transport and virtio-blk, driven as Linux's virtio_pci
 * and virtio_blk drive them, checked against the virtio 1.0 specification
 * and the PCI specification (the expectations are theirs, and the disk's
 * bytes are the image file's): identity and capabilities in configuration
 * space, the configuration access window into BAR 4, BAR sizing and
 * moving, feature negotiation (VERSION_1 required),
 * queue setup, reads, writes (through an indirect table), flush, GET_ID,
 * I/O errors and unsupported requests, a read-only disk, INTx through the
 * PIIX3's PIRQ routing and the ISR, a corrupt ring (DEVICE_NEEDS_RESET)
 * and reset.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "system/bus.h"
#include "system/pc.h"
#include "system/pci.h"
#include "system/physmem.h"
#include "system/virtio-blk.h"

static uint32_t cfg_readl(int dev, int reg)
{
	bus_write(BUS_IO, 0xcf8, 4, 0x80000000u | dev << 11 | reg);
	return (uint32_t)bus_read(BUS_IO, 0xcfc, 4);
}

static void cfg_writel(int dev, int reg, uint32_t v)
{
	bus_write(BUS_IO, 0xcf8, 4, 0x80000000u | dev << 11 | reg);
	bus_write(BUS_IO, 0xcfc, 4, v);
}

static uint8_t cfg_readb(int dev, int reg) { return cfg_readl(dev, reg & ~3) >> (8 * (reg & 3)); }

/* A narrow access through the data window, as Linux's pci_read_config_word. */
static uint32_t cfg_read(int dev, int reg, unsigned size)
{
	bus_write(BUS_IO, 0xcf8, 4, 0x80000000u | dev << 11 | (reg & ~3));
	return (uint32_t)bus_read(BUS_IO, 0xcfc + (reg & 3), size);
}

static void cfg_write(int dev, int reg, unsigned size, uint32_t v)
{
	bus_write(BUS_IO, 0xcf8, 4, 0x80000000u | dev << 11 | (reg & ~3));
	bus_write(BUS_IO, 0xcfc + (reg & 3), size, v);
}

/* ISA IRQ 11, as the PIIX3 drives it. */
static int irq11;
static void irq11_set(void *opaque, int n, int level) { irq11 = level; }

/* The transport's areas, found through the capabilities. */
static uint64_t common, isr, devcfg, notify;
static int cfg_cap;
static uint32_t notify_mult;

static uint64_t rd(uint64_t a, unsigned size) { return bus_read(BUS_MMIO, a, size); }
static void wr(uint64_t a, unsigned size, uint64_t v) { bus_write(BUS_MMIO, a, size, v); }

/* Guest memory of the test's one queue. */
#define Q_DESC	0x10000ull
#define Q_AVAIL	0x11000ull
#define Q_USED	0x12000ull
#define Q_IND	0x13000ull
#define BUF	0x20000ull
#define QSIZE	8

static char image[64 * 1024];

static void put_desc(uint64_t table, int i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t d[16];
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	physmem_write(table + 16 * i, d, 16);
}

static uint16_t avail_idx, used_seen;

/* Make chain head available and ring queue 0's doorbell. */
static void kick(uint16_t head)
{
	physmem_write(Q_AVAIL + 4 + 2 * (avail_idx % QSIZE), &head, 2);
	avail_idx++;
	physmem_write(Q_AVAIL + 2, &avail_idx, 2);
	wr(notify + 0 * notify_mult, 2, 0);
}

/* The next used element: its id and length; false if none. */
static bool used(uint32_t *id, uint32_t *len)
{
	uint16_t idx;
	physmem_read(Q_USED + 2, &idx, 2);
	if (idx == used_seen)
		return false;
	physmem_read(Q_USED + 4 + 8 * (used_seen % QSIZE), id, 4);
	physmem_read(Q_USED + 8 + 8 * (used_seen % QSIZE), len, 4);
	used_seen++;
	return true;
}

/* A request: header, data (in or out), status; returns the status byte
 * (0xee if the device did not answer) and the used length. */
static uint8_t request(uint32_t type, uint64_t sector, uint32_t len, bool data_in,
		       uint32_t *used_len)
{
	uint8_t hdr[16] = { 0 }, status = 0xee;
	uint32_t id = ~0u;
	memcpy(hdr, &type, 4);
	memcpy(hdr + 8, &sector, 8);
	physmem_write(BUF, hdr, 16);
	physmem_write(BUF + 0x3000, &status, 1);
	put_desc(Q_DESC, 0, BUF, 16, 1, 1);
	if (len) {
		put_desc(Q_DESC, 1, BUF + 0x1000, len, 1 | (data_in ? 2 : 0), 2);
		put_desc(Q_DESC, 2, BUF + 0x3000, 1, 2, 0);
	} else {
		put_desc(Q_DESC, 0, BUF, 16, 1, 2);
		put_desc(Q_DESC, 2, BUF + 0x3000, 1, 2, 0);
	}
	kick(0);
	*used_len = ~0u;
	if (!used(&id, used_len) || id != 0)
		return 0xee;
	physmem_read(BUF + 0x3000, &status, 1);
	return status;
}

/* Walk the vendor capabilities; returns how many of the four were found. */
static int find_caps(int slot)
{
	int found = 0;
	uint64_t bar = (cfg_readl(slot, 0x20) & ~0xfull) | (uint64_t)cfg_readl(slot, 0x24) << 32;
	for (int p = cfg_readb(slot, 0x34), n = 0; p && n < 48; p = cfg_readb(slot, p + 1), n++) {
		if (cfg_readb(slot, p) != 0x09)
			continue;
		int type = cfg_readb(slot, p + 3);
		if (type == 5) {	/* the configuration access window */
			cfg_cap = p;
			CHECK_EQ(cfg_readb(slot, p + 2), 20);
			continue;
		}
		CHECK_EQ(cfg_readb(slot, p + 4), 4);	/* BAR 4 */
		uint64_t a = bar + cfg_readl(slot, p + 8);
		switch (type) {
		case 1: common = a; found++; CHECK(cfg_readl(slot, p + 12) >= 0x38); break;
		case 2: notify = a; found++; notify_mult = cfg_readl(slot, p + 16); break;
		case 3: isr = a; found++; break;
		case 4: devcfg = a; found++; CHECK(cfg_readl(slot, p + 12) >= 8); break;
		}
	}
	return found;
}

/* The driver's side of 3.1.1 up to FEATURES_OK; returns the status read
 * back. */
static uint8_t negotiate(uint64_t features)
{
	wr(common + 0x14, 1, 0);
	CHECK_EQ(rd(common + 0x14, 1), 0);
	wr(common + 0x14, 1, 1 | 2);
	wr(common + 0x08, 4, 0);
	wr(common + 0x0c, 4, (uint32_t)features);
	wr(common + 0x08, 4, 1);
	wr(common + 0x0c, 4, (uint32_t)(features >> 32));
	wr(common + 0x14, 1, 1 | 2 | 8);
	return (uint8_t)rd(common + 0x14, 1);
}

static void setup_queue(void)
{
	wr(common + 0x16, 2, 0);
	CHECK_EQ(rd(common + 0x18, 2), 256);	/* the maximum, offered */
	CHECK_EQ(rd(common + 0x1c, 2), 0);	/* not enabled yet */
	CHECK_EQ(rd(common + 0x1a, 2), 0xffff);	/* no MSI-X vector */
	wr(common + 0x18, 2, QSIZE);
	/* 64-bit fields as Linux writes them: two dwords. */
	wr(common + 0x20, 4, (uint32_t)Q_DESC);
	wr(common + 0x24, 4, 0);
	wr(common + 0x28, 4, (uint32_t)Q_AVAIL);
	wr(common + 0x2c, 4, 0);
	wr(common + 0x30, 4, (uint32_t)Q_USED);
	wr(common + 0x34, 4, 0);
	wr(common + 0x1c, 2, 1);
	CHECK_EQ(rd(common + 0x1c, 2), 1);
	CHECK_EQ(rd(common + 0x20, 4), Q_DESC);
	uint8_t zero[0x3000] = { 0 };
	physmem_write(Q_DESC, zero, sizeof(zero));
	avail_idx = used_seen = 0;
	wr(common + 0x14, 1, 1 | 2 | 8 | 4);
}

static void test_blk(void)
{
	char path[] = "/tmp/loom-virtio-XXXXXX", rpath[] = "/tmp/loom-virtio-ro-XXXXXX";
	char err[256];
	uint64_t seed = 7;
	uint32_t ulen;

	CHECK_EQ(physmem_init(64ull << 20), 0);
	bus_reset_map();
	pci_new();
	pc_wire_isa(11, irq_line(irq11_set, NULL, 11), (struct irq){ 0 });
	for (size_t i = 0; i < sizeof(image); i += 8) {
		uint64_t v = unit_xorshift(&seed);
		memcpy(image + i, &v, 8);
	}
	int fd = mkstemp(path), rfd = mkstemp(rpath);
	CHECK(fd >= 0 && rfd >= 0);
	CHECK_EQ(write(fd, image, sizeof(image)), sizeof(image));
	CHECK_EQ(write(rfd, image, 4096), 4096);

	struct virtio_blk_config bad = { .file = "/nonexistent/disk.img" };
	CHECK_EQ(virtio_blk_new(&bad, err, sizeof(err)), -1);
	CHECK(strstr(err, "/nonexistent/disk.img") != NULL);

	struct virtio_blk_config c = { .file = path, .serial = "unit-serial-0123456789" };
	CHECK_EQ(virtio_blk_new(&c, err, sizeof(err)), 0);
	struct virtio_blk_config rc = { .file = rpath, .readonly = true };
	CHECK_EQ(virtio_blk_new(&rc, err, sizeof(err)), 0);

	/* Identity: a modern-only virtio block device at slot 3 (QEMU's
	 * numbering), INTA routed by firmware to PIRQC's IRQ 11. */
	CHECK_EQ(cfg_readl(3, 0x00), 0x10421af4);
	CHECK_EQ(cfg_readb(3, 0x08), 1);			/* revision */
	CHECK_EQ(cfg_readl(3, 0x08) >> 8, 0x010000);		/* class */
	CHECK_EQ(cfg_readl(3, 0x2c), 0x11001af4);		/* subsystem */
	CHECK(cfg_readl(3, 0x04) & (0x10 << 16));		/* capability list */
	CHECK_EQ(cfg_readb(3, 0x3d), 1);
	CHECK_EQ(cfg_readb(3, 0x3c), 11);
	CHECK_EQ(cfg_readl(4, 0x00), 0x10421af4);		/* the read-only one */
	CHECK_EQ(cfg_readb(4, 0x3c), 11);			/* PIRQD: 11 too */
	CHECK_EQ(cfg_readl(5, 0x00), 0xffffffff);

	/* BAR 4: 64-bit prefetchable memory, 16 KiB; sized with decoding off,
	 * then moved. */
	uint32_t lo = cfg_readl(3, 0x20), hi = cfg_readl(3, 0x24);
	CHECK_EQ(lo & 0xf, 0xc);
	CHECK(lo & ~0xfu);
	cfg_writel(3, 0x04, cfg_readl(3, 0x04) & ~2u);
	CHECK_EQ(rd((lo & ~0xfu) + 0x12, 2), 0xffff);		/* not decoded */
	cfg_writel(3, 0x20, 0xffffffff);
	cfg_writel(3, 0x24, 0xffffffff);
	CHECK_EQ(cfg_readl(3, 0x20), 0xffffc00c);
	CHECK_EQ(cfg_readl(3, 0x24), 0xffffffff);
	cfg_writel(3, 0x20, 0xfd000000);
	cfg_writel(3, 0x24, 0);
	cfg_writel(3, 0x04, cfg_readl(3, 0x04) | 2 | 4);
	CHECK_EQ(find_caps(3), 4);
	CHECK_EQ(common, 0xfd000000ull + (common & 0x3fff));
	CHECK_EQ(rd(common + 0x12, 2), 1);			/* num_queues */
	CHECK_EQ(rd((lo & ~0xfu) | (uint64_t)hi << 32, 4), 0xffffffff);	/* old place */
	CHECK_EQ(notify_mult, 4);

	/* Features: VERSION_1 and INDIRECT_DESC offered, FLUSH, SEG_MAX,
	 * BLK_SIZE; RO only on the read-only disk. */
	wr(common + 0x00, 4, 1);
	CHECK(rd(common + 0x04, 4) & 1);			/* bit 32: VERSION_1 */
	wr(common + 0x00, 4, 0);
	uint32_t f = (uint32_t)rd(common + 0x04, 4);
	CHECK(f & 1u << 28);
	CHECK(f & 1u << 9);
	CHECK(f & 1u << 2);
	CHECK(!(f & 1u << 5));
	/* A driver without VERSION_1 is refused; one asking for more than
	 * the offer too. */
	CHECK(!(negotiate(1ull << 9) & 8));
	CHECK(!(negotiate(1ull << 32 | 1ull << 9 | 1ull << 20) & 8));
	CHECK(negotiate(1ull << 32 | 1ull << 28 | 1ull << 9) & 8);
	setup_queue();

	/* Configuration: capacity in sectors, seg_max, blk_size. */
	CHECK_EQ(rd(devcfg + 0, 4), sizeof(image) / 512);
	CHECK_EQ(rd(devcfg + 4, 4), 0);
	CHECK_EQ(rd(devcfg + 20, 4), 512);

	/* The PCI configuration access window (4.1.4.7): BAR 4 reached
	 * through configuration space. */
	CHECK(cfg_cap >= 0x40);
	cfg_write(3, cfg_cap + 4, 1, 4);
	cfg_write(3, cfg_cap + 8, 4, 0x12);		/* num_queues */
	cfg_write(3, cfg_cap + 12, 4, 2);
	CHECK_EQ(cfg_read(3, cfg_cap + 16, 2), 1);
	cfg_write(3, cfg_cap + 8, 4, 0x2000);		/* capacity, low dword */
	cfg_write(3, cfg_cap + 12, 4, 4);
	CHECK_EQ(cfg_read(3, cfg_cap + 16, 4), sizeof(image) / 512);
	cfg_write(3, cfg_cap + 8, 4, 0x16);		/* queue_select, written */
	cfg_write(3, cfg_cap + 12, 4, 2);
	cfg_write(3, cfg_cap + 16, 2, 5);
	CHECK_EQ(rd(common + 0x16, 2), 5);
	CHECK_EQ(rd(common + 0x18, 2), 0);		/* no queue 5 */
	wr(common + 0x16, 2, 0);
	cfg_write(3, cfg_cap + 12, 4, 3);		/* no such length: no access */
	cfg_write(3, cfg_cap + 16, 2, 7);
	CHECK_EQ(rd(common + 0x16, 2), 0);

	/* A read: the file's bytes, used length data + status, INTx up
	 * until the ISR is read. */
	char buf[4096];
	CHECK_EQ(irq11, 0);
	CHECK_EQ(request(0, 1, 1024, true, &ulen), 0);
	CHECK_EQ(ulen, 1025);
	physmem_read(BUF + 0x1000, buf, 1024);
	CHECK(!memcmp(buf, image + 512, 1024));
	CHECK_EQ(irq11, 1);
	CHECK(cfg_readl(3, 0x04) & (0x08 << 16));		/* PCI status: INTx */
	CHECK_EQ(rd(isr, 1), 1);
	CHECK_EQ(irq11, 0);
	CHECK_EQ(rd(isr, 1), 0);
	/* Interrupt disable in the command register masks the line. */
	cfg_writel(3, 0x04, cfg_readl(3, 0x04) | 0x400);
	CHECK_EQ(request(4, 0, 0, false, &ulen), 0);		/* flush */
	CHECK_EQ(ulen, 1);
	CHECK_EQ(irq11, 0);
	cfg_writel(3, 0x04, cfg_readl(3, 0x04) & ~0x400u);
	CHECK_EQ(irq11, 1);
	rd(isr, 1);

	/* A write through an indirect table: header, data, status. */
	for (int i = 0; i < 2048; i++)
		buf[i] = (char)(i * 7 + 3);
	uint8_t hdr[16] = { 1 };
	uint64_t sector = 10;
	memcpy(hdr + 8, &sector, 8);
	physmem_write(BUF, hdr, 16);
	physmem_write(BUF + 0x1000, buf, 2048);
	put_desc(Q_IND, 0, BUF, 16, 1, 1);
	put_desc(Q_IND, 1, BUF + 0x1000, 2048, 1, 2);
	put_desc(Q_IND, 2, BUF + 0x3000, 1, 2, 0);
	put_desc(Q_DESC, 3, Q_IND, 48, 4, 0);
	kick(3);
	uint32_t id;
	CHECK(used(&id, &ulen));
	CHECK_EQ(id, 3);
	CHECK_EQ(ulen, 1);
	uint8_t st = 0xee;
	physmem_read(BUF + 0x3000, &st, 1);
	CHECK_EQ(st, 0);
	char back[2048];
	CHECK_EQ(pread(fd, back, 2048, 10 * 512), 2048);
	CHECK(!memcmp(back, buf, 2048));
	rd(isr, 1);

	/* Past the end: VIRTIO_BLK_S_IOERR, nothing read. */
	CHECK_EQ(request(0, 127, 1024, true, &ulen), 1);
	CHECK_EQ(ulen, 1);
	CHECK_EQ(request(1, 128, 512, false, &ulen), 1);
	/* GET_ID: the serial's first 20 bytes; an unknown type: UNSUPP. */
	CHECK_EQ(request(8, 0, 20, true, &ulen), 0);
	CHECK_EQ(ulen, 21);
	physmem_read(BUF + 0x1000, buf, 20);
	CHECK(!memcmp(buf, "unit-serial-01234567", 20));
	CHECK_EQ(request(99, 0, 512, true, &ulen), 2);
	rd(isr, 1);

	/* A descriptor chain that loops: DEVICE_NEEDS_RESET and a
	 * configuration interrupt; the queue stops. */
	put_desc(Q_DESC, 5, BUF, 16, 1, 6);
	put_desc(Q_DESC, 6, BUF + 0x1000, 16, 1, 5);
	kick(5);
	CHECK(!used(&id, &ulen));
	CHECK(rd(common + 0x14, 1) & 64);
	CHECK_EQ(rd(isr, 1), 2);
	/* Reset: status 0, queues forgotten. */
	wr(common + 0x14, 1, 0);
	CHECK_EQ(rd(common + 0x14, 1), 0);
	wr(common + 0x16, 2, 0);
	CHECK_EQ(rd(common + 0x1c, 2), 0);
	CHECK_EQ(rd(common + 0x18, 2), 256);

	/* The read-only disk: RO offered, a write is an I/O error and the
	 * file is untouched. */
	CHECK_EQ(find_caps(4), 4);
	wr(common + 0x00, 4, 0);
	CHECK(rd(common + 0x04, 4) & 1u << 5);
	CHECK(negotiate(1ull << 32 | 1ull << 5) & 8);
	setup_queue();
	memset(buf, 0x5a, 512);
	physmem_write(BUF + 0x1000, buf, 512);
	CHECK_EQ(request(1, 0, 512, false, &ulen), 1);
	CHECK_EQ(pread(rfd, back, 512, 0), 512);
	CHECK(!memcmp(back, image, 512));
	CHECK_EQ(request(0, 7, 512, true, &ulen), 0);
	physmem_read(BUF + 0x1000, buf, 512);
	CHECK(!memcmp(buf, image + 7 * 512, 512));

	/* A machine reset puts the BAR back where firmware had it. */
	pci_reset();
	CHECK_EQ(cfg_readl(3, 0x20), lo);
	CHECK_EQ(cfg_readb(3, 0x3c), 11);

	close(fd);
	close(rfd);
	unlink(path);
	unlink(rpath);
	physmem_fini();
}

void unit_main(void)
{
	test_blk();
}
