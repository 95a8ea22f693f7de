/*
 * The 16550A through its ports, checked against the datasheet and against
 * the sequences Linux's 8250 driver runs (autoconfig's IER, loopback and
 * FIFO probes; the start-up THRE test): registers and reset values, the
 * divisor latch, FIFOs and trigger levels, the character timeout, IIR's
 * priority order, overrun, loopback wiring and modem-status deltas, OUT2
 * gating IRQ 4; and the backends: file output, a Unix-socket server with
 * a client, stdio's raw mode on a pseudo-terminal, bad specs.
 */
#include "unit.h"

#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "system/bus.h"
#include "system/uart.h"
#include "system/vclock.h"

#define COM1 0x3f8
#define US 1000ll

static int irq_level;

static void irq4_seen(void *opaque, int n, int level) { irq_level = level; }

static void outb(int reg, uint8_t v) { bus_write(BUS_IO, COM1 + reg, 1, v); }
static uint8_t inb(int reg) { return bus_read(BUS_IO, COM1 + reg, 1); }

static char tmpdir[64];
static struct uart *last;

static struct uart *fresh(const char *spec)
{
	if (last)
		uart_reset(last);	/* no timeout timer left armed */
	bus_reset_map();
	vclock_set_manual(0);
	irq_level = 0;
	last = uart_new(spec, irq_line(irq4_seen, NULL, 4));
	return last;
}

static void rx(struct uart *u, const char *s)
{
	uart_receive(u, (const uint8_t *)s, strlen(s));
}

static void test_reset_and_probe(void)
{
	char path[128];

	snprintf(path, sizeof(path), "file:%s/out", tmpdir);
	fresh(path);
	CHECK_EQ(inb(1), 0x00);
	CHECK_EQ(inb(2), 0x01);
	CHECK_EQ(inb(3), 0x00);
	CHECK_EQ(inb(4), 0x00);
	CHECK_EQ(inb(5), 0x60);
	CHECK_EQ(inb(6), 0xb0);		/* CTS, DSR, DCD; no deltas */
	outb(7, 0xa5);
	CHECK_EQ(inb(7), 0xa5);

	/* autoconfig: IER keeps bits 0-3 only. */
	outb(1, 0x00);
	CHECK_EQ(inb(1) & 0x0f, 0x00);
	outb(1, 0xff);
	CHECK_EQ(inb(1), 0x0f);
	outb(1, 0x00);
	/* Loopback with RTS and OUT2 shows CTS and DCD. */
	outb(4, 0x10 | 0x0a);
	CHECK_EQ(inb(6) & 0xf0, 0x90);
	outb(4, 0x00);
	/* LCR 0xbf then offset 2 is still FCR on a 16550A; FIFOs on: IIR bits
	 * 7-6 are 11. */
	outb(3, 0xbf);
	outb(2, 0x00);
	outb(3, 0x00);
	outb(2, 0x01);
	CHECK_EQ(inb(2) >> 6, 3);
	/* No EFR behind DLAB: offset 2 reads IIR, not zero. */
	outb(3, 0x80);
	CHECK(inb(2) != 0);
	/* Not a 16750: IIR bit 5 stays clear with the 64-byte bit written. */
	outb(3, 0x00);
	outb(2, 0x21);
	CHECK_EQ(inb(2) >> 5, 6);
	outb(3, 0x80);
	outb(2, 0x21);
	CHECK_EQ(inb(2) >> 5, 6);
	outb(3, 0x00);

	/* Divisor latch behind DLAB, IER untouched. */
	outb(1, 0x05);
	outb(3, 0x83);
	outb(0, 0x01);
	outb(1, 0x00);
	CHECK_EQ(inb(0), 0x01);
	CHECK_EQ(inb(1), 0x00);
	outb(3, 0x03);
	CHECK_EQ(inb(1), 0x05);
	CHECK_EQ(inb(3), 0x03);
	outb(1, 0);

	/* Transmit: to the file, THRE and TEMT set again at once. */
	for (const char *p = "hello\n"; *p; p++)
		outb(0, *p);
	CHECK_EQ(inb(5) & 0x60, 0x60);
	snprintf(path, sizeof(path), "%s/out", tmpdir);
	FILE *f = fopen(path, "r");
	char buf[16] = "";
	CHECK(f && fgets(buf, sizeof(buf), f));
	CHECK(!strcmp(buf, "hello\n"));
	if (f)
		fclose(f);
}

/* serial8250_do_startup()'s THRE test, and the THRE interrupt rules. */
static void test_thre(void)
{
	fresh("null");
	outb(4, 0x0b);			/* DTR, RTS, OUT2 as Linux sets them */
	outb(2, 0x07);
	outb(1, 0x02);
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(inb(2), 0xc2);		/* iir1: THRE */
	CHECK_EQ(irq_level, 0);		/* the read acknowledged it */
	CHECK_EQ(inb(2), 0xc1);
	outb(1, 0x00);
	outb(1, 0x02);
	CHECK_EQ(inb(2), 0xc2);		/* re-asserted: no UART_BUG_THRE */
	outb(1, 0x00);
	/* Writing THR clears it; the byte leaves and THRE is raised again. */
	outb(1, 0x02);
	inb(2);
	CHECK_EQ(inb(2), 0xc1);
	outb(0, 'x');
	CHECK_EQ(inb(2), 0xc2);
	/* Re-writing IER with ETBEI already set is not an edge. */
	outb(1, 0x02);
	CHECK_EQ(inb(2), 0xc1);
	/* OUT2 gates the line, not IIR. */
	outb(0, 'y');
	CHECK_EQ(irq_level, 1);
	outb(4, 0x03);
	CHECK_EQ(irq_level, 0);
	CHECK_EQ(inb(2), 0xc2);
	outb(4, 0x0b);
	outb(1, 0);
}

static void test_rx_fifo(void)
{
	struct uart *u = fresh("null");
	int ok = 0;

	outb(4, 0x0b);
	outb(3, 0x03);			/* 8N1 */
	/* Without FIFOs: one byte, then overrun replaces it. */
	outb(1, 0x05);			/* ERBFI, ELSI */
	CHECK_EQ(uart_can_receive(u), 1);
	rx(u, "a");
	CHECK_EQ(inb(5) & 0x01, 0x01);
	CHECK_EQ(inb(2), 0x04);
	CHECK_EQ(irq_level, 1);
	rx(u, "b");
	CHECK_EQ(inb(2), 0x06);		/* line status outranks data */
	CHECK_EQ(inb(5) & 0x03, 0x03);	/* DR and OE; reading clears OE */
	CHECK_EQ(inb(5) & 0x03, 0x01);
	CHECK_EQ(inb(2), 0x04);
	CHECK_EQ(inb(0), 'b');
	CHECK_EQ(inb(5) & 0x01, 0);
	CHECK_EQ(inb(2), 0x01);
	CHECK_EQ(irq_level, 0);

	/* FIFO, trigger 14: 13 bytes are below it... */
	outb(2, 0xc7);
	CHECK_EQ(uart_can_receive(u), 16);
	rx(u, "0123456789abc");
	CHECK_EQ(inb(2), 0xc1);
	/* ...until four character times pass without activity (8N1 at
	 * divisor 12: 10 bits at 9600 baud, 4.17 ms for four). */
	vclock_set_manual(4100 * US);
	vtimer_run();
	CHECK_EQ(inb(2), 0xc1);
	vclock_set_manual(4200 * US);
	vtimer_run();
	CHECK_EQ(inb(2), 0xcc);
	CHECK_EQ(irq_level, 1);
	CHECK_EQ(inb(0), '0');		/* a read restarts the timeout */
	CHECK_EQ(inb(2), 0xc1);
	rx(u, "de");			/* 14 now: data available */
	CHECK_EQ(inb(2), 0xc4);
	rx(u, "fgh");			/* the 17th byte overruns */
	CHECK_EQ(uart_can_receive(u), 0);
	CHECK_EQ(inb(2), 0xc6);
	CHECK_EQ(inb(5) & 0x03, 0x03);
	for (const char *p = "123456789abcdefg"; *p; p++)
		ok += inb(0) == *p;
	CHECK_EQ(ok, 16);
	CHECK_EQ(inb(5) & 0x01, 0);
	/* Trigger 4; divisor 1: four characters are 347 us. */
	outb(2, 0x47);
	outb(3, 0x83);
	outb(0, 1);
	outb(1, 0);
	outb(3, 0x03);
	vclock_set_manual(10000 * US);
	rx(u, "xyz");
	CHECK_EQ(inb(2), 0xc1);
	vclock_set_manual(10000 * US + 340 * US);
	vtimer_run();
	CHECK_EQ(inb(2), 0xc1);
	vclock_set_manual(10000 * US + 350 * US);
	vtimer_run();
	CHECK_EQ(inb(2), 0xcc);
	rx(u, "w");
	CHECK_EQ(inb(2), 0xc4);
	/* FCR clear-RX empties it. */
	outb(2, 0x43);
	CHECK_EQ(inb(5) & 0x01, 0);
	CHECK_EQ(inb(2), 0xc1);
	/* Disabling the FIFO: IIR bits 7-6 clear. */
	outb(2, 0x00);
	CHECK_EQ(inb(2), 0x01);
	outb(1, 0);
}

static void test_loopback_msr(void)
{
	struct uart *u = fresh("null");

	outb(2, 0x01);
	outb(1, 0x0f);
	outb(4, 0x1f);			/* loopback, every output on */
	CHECK_EQ(inb(6), 0xf0);		/* RI rising: no delta */
	outb(0, 'q');
	CHECK_EQ(inb(5) & 0x01, 0x01);
	/* IIR says data, but loopback cuts OUT2 from the IRQ pin. */
	CHECK_EQ(inb(2), 0xc4);
	CHECK_EQ(irq_level, 0);
	CHECK_EQ(inb(0), 'q');
	/* Input from outside does not reach a looped-back receiver. */
	rx(u, "z");
	CHECK_EQ(inb(5) & 0x01, 0);
	/* Everything off: CTS, DSR, DCD fall, RI's trailing edge. */
	outb(4, 0x10);
	inb(2);				/* acknowledge THRE */
	CHECK_EQ(inb(6), 0x0f);
	outb(4, 0x12);
	CHECK_EQ(inb(6), 0x11);		/* CTS back, its delta */
	CHECK_EQ(inb(6), 0x10);
	/* Modem status interrupt, the lowest priority. */
	outb(4, 0x13);
	CHECK_EQ(inb(2), 0xc0);
	inb(6);
	CHECK_EQ(inb(2), 0xc1);
	/* Leaving loopback: the line's inputs again (CTS, DSR, DCD). */
	outb(4, 0x08);
	CHECK_EQ(inb(6), 0xb8);
	outb(1, 0);
}

static void test_unix_server(void)
{
	char spec[160], path[128];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd fds[4];
	int n, c;
	uint8_t b = 0;

	snprintf(path, sizeof(path), "%s/sock", tmpdir);
	snprintf(spec, sizeof(spec), "unix:%s,server,nowait", path);
	struct uart *u = fresh(spec);
	CHECK(u != NULL);
	if (!u)
		return;
	n = chardev_poll_fds(fds, 4);
	CHECK_EQ(n, 1);
	outb(0, '!');			/* no client yet: dropped */
	strcpy(sa.sun_path, path);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	fds[0].revents = POLLIN;
	chardev_poll_ready(fds, n);	/* accepts */
	CHECK(write(c, "hi", 2) == 2);
	n = chardev_poll_fds(fds, 4);
	CHECK_EQ(n, 1);
	CHECK(poll(fds, n, 1000) == 1);
	chardev_poll_ready(fds, n);
	CHECK_EQ(inb(0), 'h');
	/* Without FIFOs only one byte fits: the second waits in the socket. */
	CHECK_EQ(inb(5) & 0x01, 0);
	n = chardev_poll_fds(fds, 4);
	CHECK(poll(fds, n, 1000) == 1);
	chardev_poll_ready(fds, n);
	CHECK_EQ(inb(0), 'i');
	outb(0, 'z');
	CHECK(read(c, &b, 1) == 1);
	CHECK_EQ(b, 'z');
	/* A full receiver is not polled. */
	CHECK(write(c, "jk", 2) == 2);
	n = chardev_poll_fds(fds, 4);
	CHECK(poll(fds, n, 1000) == 1);
	chardev_poll_ready(fds, n);
	CHECK_EQ(chardev_poll_fds(fds, 4), 0);
	inb(0);
	/* The client leaves: back to listening. */
	close(c);
	n = chardev_poll_fds(fds, 4);
	CHECK(poll(fds, n, 1000) == 1);
	chardev_poll_ready(fds, n);	/* reads 'k' */
	inb(0);
	n = chardev_poll_fds(fds, 4);
	CHECK(poll(fds, n, 1000) == 1);
	chardev_poll_ready(fds, n);	/* end of file */
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	n = chardev_poll_fds(fds, 4);
	CHECK(poll(fds, n, 1000) == 1);
	chardev_poll_ready(fds, n);
	outb(0, 'A');
	CHECK(read(c, &b, 1) == 1);
	CHECK_EQ(b, 'A');
	close(c);
	chardev_close(uart_chardev(u));
	CHECK(access(path, F_OK) != 0);	/* the socket file is removed */
}

/* `server` without `nowait` waits for the first client before returning;
 * plain unix:PATH connects to a listener. */
static void test_unix_wait_and_client(void)
{
	char spec[160], path[128];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd fds[4];
	uint8_t b = 0;
	int n;

	snprintf(path, sizeof(path), "%s/wsock", tmpdir);
	strcpy(sa.sun_path, path);
	pid_t child = fork();
	if (child == 0) {
		/* The client: connect once the server listens, echo one byte
		 * back incremented. */
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		for (int i = 0; i < 500; i++) {
			if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0)
				break;
			usleep(10000);
		}
		if (read(c, &b, 1) == 1) {
			b++;
			if (write(c, &b, 1) != 1)
				_exit(2);
		}
		_exit(0);
	}
	snprintf(spec, sizeof(spec), "unix:%s,server=on,wait=on", path);
	struct uart *u = fresh(spec);
	CHECK(u != NULL);
	if (u) {
		outb(0, 'm');
		n = chardev_poll_fds(fds, 4);
		CHECK_EQ(n, 1);
		CHECK(poll(fds, n, 5000) == 1);
		chardev_poll_ready(fds, n);
		CHECK_EQ(inb(0), 'n');
		chardev_close(uart_chardev(u));
	}
	int status = -1;
	waitpid(child, &status, 0);
	CHECK_EQ(status, 0);

	/* Client mode against a listener of the test's own. */
	snprintf(path, sizeof(path), "%s/lsock", tmpdir);
	strcpy(sa.sun_path, path);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 1) == 0);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	u = fresh(spec);
	CHECK(u != NULL);
	int c = accept(l, NULL, NULL);
	CHECK(c >= 0);
	if (u && c >= 0) {
		outb(0, 'c');
		CHECK(read(c, &b, 1) == 1);
		CHECK_EQ(b, 'c');
		CHECK(write(c, "d", 1) == 1);
		n = chardev_poll_fds(fds, 4);
		CHECK(poll(fds, n, 5000) == 1);
		chardev_poll_ready(fds, n);
		CHECK_EQ(inb(0), 'd');
		chardev_close(uart_chardev(u));
	}
	if (c >= 0)
		close(c);
	close(l);
}

static void test_stdio_and_bad_specs(void)
{
	int master, slave, saved = dup(0);
	struct termios t;

	if (openpty(&master, &slave, NULL, NULL, NULL) < 0) {
		SKIP("no pseudo-terminal to test stdio's raw mode on");
	} else {
		dup2(slave, 0);
		struct chardev *cd = chardev_open("stdio", "-serial");
		CHECK(cd != NULL);
		CHECK(tcgetattr(0, &t) == 0);
		CHECK_EQ(t.c_lflag & (ICANON | ECHO), 0);
		CHECK(t.c_lflag & ISIG);	/* Ctrl-C still reaches loom */
		CHECK(chardev_open("stdio", "-serial") == NULL);	/* one user */
		chardev_close(cd);
		CHECK(tcgetattr(0, &t) == 0);
		CHECK_EQ(t.c_lflag & (ICANON | ECHO), ICANON | ECHO);
		dup2(saved, 0);
		close(slave);
		close(master);
	}
	close(saved);

	bus_reset_map();
	CHECK(uart_new("tcp:localhost:4444", irq_line(irq4_seen, NULL, 4)) == NULL);
	CHECK(uart_new("file:/nonexistent-dir/x", irq_line(irq4_seen, NULL, 4)) == NULL);
	CHECK(uart_new("unix:", irq_line(irq4_seen, NULL, 4)) == NULL);
	CHECK(uart_new("unix:/tmp/x,server,bogus", irq_line(irq4_seen, NULL, 4)) == NULL);
	CHECK(uart_new("unix:/nonexistent-dir/sock", irq_line(irq4_seen, NULL, 4)) == NULL);
	CHECK(bus_find(BUS_IO, COM1) == NULL);	/* nothing half-built */
}

void unit_main(void)
{
	char cmd[96];

	strcpy(tmpdir, "/tmp/loom-uart-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		SKIP("no temporary directory");
		return;
	}
	test_reset_and_probe();
	test_thre();
	test_rx_fifo();
	test_loopback_msr();
	test_unix_server();
	test_unix_wait_and_client();
	test_stdio_and_bad_specs();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}
