/*
 * The vCPU loop (machine.h: machine_run): translated code runs in
 * exec_run; between blocks the machine delivers exceptions and interrupts,
 * fires due timers, serves the serial port's and the monitor's input, and
 * acts on the devices' requests (reset, power-off).  The monitor is served
 * from here too, so a guest spinning in translated code, a halted guest and
 * a stopped machine all answer it and SIGINT/SIGTERM.
 *
 * Leaving translated code: exec_run returns EXEC_REQUEST at the next block
 * boundary once cpu->x.exit_request is set.  Three things set it besides
 * the CPU itself (hlt, sti, iret...): the local APIC's kick when an
 * interrupt becomes deliverable, a host timer armed for the earliest
 * virtual-time deadline (vclock_on_deadline), and a host tick every
 * LOOP_POLL_NS while the guest runs, after which input fds are polled.
 * Both timers are POSIX timers signalling this thread; their handler only
 * sets exit_request.
 *
 * A halted vCPU (hlt with nothing to take) sleeps in ppoll() on the input
 * fds until the next deadline: an idle guest costs no host CPU.  The user
 * networks' sockets join the same ppoll, and their timers shorten its
 * timeout (net-user.h).  Plugins hear of it (their vCPU idle callback)
 * once as it goes to sleep, and once more (resume) when it next runs guest
 * code; a kick that finds the vCPU still halted is no resume.
 */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec.h"
#include "guest/x86/cpu.h"
#include "guest/x86/sys.h"
#include "instrument/instrument.h"
#include "system/chardev.h"
#include "system/lapic.h"
#include "system/machine.h"
#include "system/instrument-env.h"
#include "system/introspect.h"
#include "system/monitor.h"
#include "system/net-user.h"
#include "system/pc.h"
#include "system/physmem.h"
#include "system/vclock.h"
#include "util/log.h"

/* How often input is looked at while the guest runs without leaving
 * translated code. */
#define LOOP_POLL_NS 4000000ll
#define LOOP_MAX_FDS 64	/* the chardevs, the monitor, the networks' sockets */

static struct {
	struct monitor_io mon;
	bool have_monitor;
	bool stopped;		/* the monitor's stop */
	bool quit;		/* the monitor's quit */
	int exit_status;
	volatile sig_atomic_t signal;	/* SIGINT/SIGTERM received */
	timer_t deadline_timer, tick_timer;
	bool timers;
	int64_t armed_for;	/* the deadline the host timer is armed for */
} loop = { .armed_for = VCLOCK_NEVER };

void machine_kick(void)
{
	if (machine.cpu)
		machine.cpu->x.exit_request = 1;
}

/* ---- Host timers and signals -------------------------------------------- */

static void timer_signal(int sig, siginfo_t *si, void *uc) { machine_kick(); }

static void quit_signal(int sig)
{
	loop.signal = sig;
	machine_kick();
}

static void arm(timer_t t, int64_t ns, int64_t interval)
{
	struct itimerspec its = {
		.it_value = { ns / 1000000000, ns % 1000000000 },
		.it_interval = { interval / 1000000000, interval % 1000000000 },
	};
	timer_settime(t, 0, &its, NULL);
}

/* The earliest deadline moved earlier (vclock.h): make translated code
 * leave in time for it.  Virtual time follows the host's clock while the
 * machine runs, so the host delay is the virtual one. */
static void deadline_moved(int64_t deadline)
{
	if (!loop.timers || deadline >= loop.armed_for)
		return;
	loop.armed_for = deadline;
	int64_t delay = deadline - vclock_ns();
	if (delay <= 0) {
		machine_kick();
		delay = 1;
	}
	arm(loop.deadline_timer, delay, 0);
}

/* After timers ran: arm for whatever is next. */
static void rearm_deadline(void)
{
	loop.armed_for = VCLOCK_NEVER;
	int64_t next = vtimer_next_deadline();
	if (next != VCLOCK_NEVER && vclock_running())
		deadline_moved(next);
	else if (loop.timers)
		arm(loop.deadline_timer, 0, 0);
}

static void setup_signals(void)
{
	struct sigaction sa = { .sa_sigaction = timer_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);
	struct sigaction q = { .sa_handler = quit_signal, .sa_flags = SA_RESTART };
	sigemptyset(&q.sa_mask);
	sigaction(SIGINT, &q, NULL);
	sigaction(SIGTERM, &q, NULL);
	sigaction(SIGHUP, &q, NULL);
	/* A monitor client that hangs up (on a unix socket, before reading
	 * the last prompt) must not end the machine: its write fails instead
	 * and the monitor sees the client gone, as qemu-system does. */
	signal(SIGPIPE, SIG_IGN);

	struct sigevent sev = {
		.sigev_notify = SIGEV_THREAD_ID,
		.sigev_signo = SIGRTMIN,
	};
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif
	sev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &loop.deadline_timer) < 0 ||
	    timer_create(CLOCK_MONOTONIC, &sev, &loop.tick_timer) < 0)
		internal_error("cannot create the vCPU's host timers: %s", strerror(errno));
	loop.timers = true;
	vclock_on_deadline = deadline_moved;
}

static int64_t host_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- Input ----------------------------------------------------------------- */

/* Poll the chardevs and the monitor, waiting up to timeout_ns (0: just
 * look; -1: until input or a signal). */
static void poll_input(int64_t timeout_ns)
{
	struct pollfd fds[LOOP_MAX_FDS];
	int n = chardev_poll_fds(fds, LOOP_MAX_FDS - 1), nc = n;
	int mfd = loop.have_monitor ? monitor_io_fd(&loop.mon) : -1;
	if (mfd >= 0)
		fds[n++] = (struct pollfd){ .fd = mfd, .events = POLLIN };
	/* A stopped machine takes no frames: the networks wait, as a paused
	 * guest's peers do (and the monitor sees memory as it was). */
	int nn = n;
	bool net = !loop.stopped;
	if (net)
		n += net_user_poll_fill(fds + nn, LOOP_MAX_FDS - nn, &timeout_ns);
	struct timespec ts = { timeout_ns / 1000000000, timeout_ns % 1000000000 };
	int r = ppoll(fds, n, timeout_ns < 0 ? NULL : &ts, NULL);
	/* The networks' timers run whatever ppoll says. */
	if (net)
		net_user_poll_ready(fds + nn, r < 0 ? -1 : n - nn);
	if (r <= 0)
		return;
	chardev_poll_ready(fds, nc);
	if (mfd >= 0 && fds[nc].revents)
		monitor_io_ready(&loop.mon);
}

/* ---- The monitor's view of the running machine ---------------------------- */

/* QEMU's flags are the descriptor's high dword without the base bits:
 * the attributes and limit bits 19:16 as the descriptor encoded them. */
static struct monitor_seg mon_seg(const struct x86_seg *s, uint64_t base)
{
	uint32_t raw_limit = s->attr & SEG_ATTR_G ? s->limit >> 12 : s->limit;
	uint32_t flags = (uint32_t)s->attr << 8 | (raw_limit & 0xf0000);
	return (struct monitor_seg){ s->sel, base, s->limit, flags };
}

static bool mon_regs(void *opaque, struct monitor_regs *r)
{
	struct cpu *cpu = machine.cpu;
	struct x86_sys *sys = cpu->sys;
	memset(r, 0, sizeof(*r));
	memcpy(r->gpr, cpu->regs, sizeof(r->gpr));
	r->rip = cpu->rip;
	r->rflags = x86_sys_get_rflags(cpu);
	r->cpl = sys->cpl;
	r->inhibit_irq = sys->sti_shadow && sys->sti_shadow_rip == cpu->rip;
	r->halted = sys->stop == X86_STOP_HALT;
	static const int order[MON_NSEG] = { SREG_ES, SREG_CS, SREG_SS, SREG_DS, SREG_FS, SREG_GS };
	for (int i = 0; i < MON_NSEG; i++) {
		const struct x86_seg *s = &sys->seg[order[i]];
		uint64_t base = order[i] == SREG_FS ? cpu->fs_base :
				order[i] == SREG_GS ? cpu->gs_base : s->base;
		r->seg[i] = mon_seg(s, base);
	}
	r->ldt = mon_seg(&sys->seg[SEG_LDTR], sys->seg[SEG_LDTR].base);
	r->tr = mon_seg(&sys->seg[SEG_TR], sys->seg[SEG_TR].base);
	r->gdt_base = sys->gdtr.base;
	r->gdt_limit = sys->gdtr.limit;
	r->idt_base = sys->idtr.base;
	r->idt_limit = sys->idtr.limit;
	r->cr0 = sys->cr0;
	r->cr2 = sys->cr2;
	r->cr3 = sys->cr3;
	r->cr4 = sys->cr4;
	memcpy(r->dr, sys->dr, sizeof(r->dr));
	r->efer = sys->efer;
	r->fcw = cpu->fpu.fcw;
	r->fsw = (uint16_t)(cpu->fpu.fsw | (cpu->fpu.top & 7) << 11);
	r->ftw = (uint8_t)cpu->fpu.ftw;
	for (int i = 0; i < 8; i++) {
		uint8_t raw[16];
		memcpy(raw, &cpu->fpu.st[i], 10);
		memcpy(&r->fpr[i].mant, raw, 8);
		memcpy(&r->fpr[i].exp, raw + 8, 2);
	}
	r->mxcsr = x86_mxcsr_read(cpu);
	for (int i = 0; i < 16; i++) {
		r->xmm[i][0] = cpu->xmm[i].q[0];
		r->xmm[i][1] = cpu->xmm[i].q[1];
	}
	return true;
}

static bool mon_read_phys(void *opaque, uint64_t pa, void *buf, size_t len)
{
	return physmem_read(pa, buf, len);
}

static bool mon_running(void *opaque) { return !loop.stopped; }

static void mon_stop(void *opaque)
{
	if (loop.stopped)
		return;
	loop.stopped = true;
	vclock_stop();
	if (loop.timers)
		arm(loop.tick_timer, 0, 0);
}

static void mon_cont(void *opaque)
{
	if (!loop.stopped)
		return;
	loop.stopped = false;
	vclock_cont();
}

static void mon_reset(void *opaque) { pc_request(PC_REQ_RESET); }

static void mon_quit(void *opaque)
{
	loop.quit = true;
	loop.exit_status = 0;
}

static int mon_plugin_count(void *opaque) { return instrument_plugin_count(); }
static const char *mon_plugin_name(void *opaque, int i) { return instrument_plugin_name(i); }
static bool mon_plugin_enabled(void *opaque, int i) { return instrument_plugin_enabled(i); }
static bool mon_plugin_set_enabled(void *opaque, const char *name, bool on)
{
	return instrument_set_enabled_by_name(name, on);
}

static const struct monitor_ops mon_ops = {
	.get_regs = mon_regs,
	.read_phys = mon_read_phys,
	.running = mon_running,
	.stop = mon_stop,
	.cont = mon_cont,
	.reset = mon_reset,
	.quit = mon_quit,
	.plugin_count = mon_plugin_count,
	.plugin_name = mon_plugin_name,
	.plugin_enabled = mon_plugin_enabled,
	.plugin_set_enabled = mon_plugin_set_enabled,
	.info_procs = introspect_info_procs,
	.info_modules = introspect_info_modules,
	.cov = system_monitor_cov,
};

/* Before the soft MMU is wired the vCPU cannot run: the monitor serves the
 * machine as loaded, and cont and system_reset are not offered. */
static const struct monitor_ops mon_ops_loaded = {
	.get_regs = mon_regs,
	.read_phys = mon_read_phys,
	.running = mon_running,
	.stop = mon_stop,
	.quit = mon_quit,
	.info_procs = introspect_info_procs,
	.info_modules = introspect_info_modules,
	.cov = system_monitor_cov,
};

/* ---- The loop -------------------------------------------------------------- */

/* A reset the machine cannot take (-no-reboot, or the kernel is gone):
 * leave.  Returns true when the loop must end. */
static bool do_reset(const char *why)
{
	if (log_enabled(LOG_CPU_RESET)) {
		log_printf("cpu_reset: %s\n", why);
		x86_sys_dump_state(machine.cpu, log_file ? log_file : stderr);
	}
	if (machine.cfg.no_reboot) {
		if (strcmp(why, "system reset"))
			fprintf(stderr, "loom-system: %s: the machine resets; -no-reboot: exiting\n",
				why);
		loop.exit_status = 0;
		return true;
	}
	if (!machine_reset()) {
		loop.exit_status = LOOM_EXIT_LOAD;
		return true;
	}
	return false;
}

/* Deliver what waits: an NMI first, whatever IF says; then one maskable
 * interrupt if IF allows.  Wakes a halted vCPU. */
static void take_interrupts(struct cpu *cpu)
{
	struct lapic *l = machine.lapic;
	if (lapic_nmi_pending(l) && x86_take_nmi(cpu))
		lapic_ack_nmi(l);
	if (lapic_pending(l) && x86_sys_interrupts_enabled(cpu)) {
		int vector = lapic_ack(l);
		if (!x86_take_interrupt(cpu, vector))
			cpu->sys->stop = X86_STOP_SHUTDOWN;
	}
}

static void log_fault(struct cpu *cpu)
{
	const struct guest_exception *e = &cpu->x.exc;
	if (e->vector == X86_EXC_PF && log_enabled(LOG_MMU))
		log_printf("mmu: #PF at rip=%016llx cr2=%016llx error=%04x\n",
			   (unsigned long long)cpu->rip, (unsigned long long)e->addr,
			   (unsigned)e->error_code);
}

int machine_run(bool start_stopped)
{
	struct cpu *cpu = machine.cpu;
	bool can_run = machine_can_run();
	char err[256];

	if (system_opts.monitor.kind != CHARDEV_NONE) {
		if (monitor_io_open(&loop.mon, &system_opts.monitor,
				    can_run ? &mon_ops : &mon_ops_loaded, NULL, err,
				    sizeof(err)) < 0) {
			fprintf(stderr, "loom-system: %s\n", err);
			return LOOM_EXIT_USAGE;
		}
		loop.have_monitor = true;
	}
	setup_signals();
	exec_cpu_start(cpu);
	if (start_stopped || !can_run)
		mon_stop(NULL);
	rearm_deadline();
	bool ticking = false, idle = false;
	int64_t last_poll = 0;

	while (!loop.quit) {
		if (loop.signal) {
			fprintf(stderr, "loom-system: terminating on signal %d\n", (int)loop.signal);
			loop.exit_status = 0;
			break;
		}
		switch (pc_take_request()) {
		case PC_REQ_NONE:
			break;
		case PC_REQ_POWEROFF:
			loop.exit_status = 0;
			loop.quit = true;
			continue;
		case PC_REQ_RESET:
			if (do_reset("system reset"))
				loop.quit = true;
			continue;
		}
		if (loop.have_monitor && loop.mon.closed) {
			/* stdin ended: the machine runs on without a monitor,
			 * or ends if it cannot run */
			loop.have_monitor = false;
			if (!can_run)
				break;
		}
		if (loop.stopped) {
			ticking = false;
			poll_input(-1);
			continue;
		}
		if (vtimer_run() > 0 || loop.armed_for <= vclock_ns())
			rearm_deadline();
		take_interrupts(cpu);
		if (cpu->sys->stop == X86_STOP_SHUTDOWN) {
			if (do_reset("triple fault"))
				break;
			continue;
		}
		if (cpu->sys->stop == X86_STOP_HALT) {
			if (!idle && instrument_active) {
				idle = true;
				instrument_vcpu_idle(cpu);
			}
			if (ticking) {
				arm(loop.tick_timer, 0, 0);
				ticking = false;
			}
			if (machine.cpu->x.exit_request) {
				/* a kick came meanwhile: look again at once */
				machine.cpu->x.exit_request = 0;
				poll_input(0);
				continue;
			}
			int64_t next = vtimer_next_deadline(), now = vclock_ns();
			poll_input(next == VCLOCK_NEVER ? -1 : next > now ? next - now : 0);
			continue;
		}
		if (idle) {
			idle = false;
			instrument_vcpu_resume(cpu);
		}
		if (!ticking) {
			arm(loop.tick_timer, LOOP_POLL_NS, LOOP_POLL_NS);
			ticking = true;
		}
		enum exec_exit e = exec_run(cpu);
		switch (e) {
		case EXEC_FAULT:
			log_fault(cpu);
			if (!x86_sys_deliver_pending(cpu))
				cpu->sys->stop = X86_STOP_SHUTDOWN;
			break;
		case EXEC_REQUEST:
			break;
		case EXEC_SYSCALL:
			internal_error("a system-mode vCPU left with EXEC_SYSCALL");
		}
		int64_t now = host_ns();
		if (now - last_poll >= LOOP_POLL_NS) {
			last_poll = now;
			poll_input(0);
		}
	}
	if (loop.timers) {
		arm(loop.tick_timer, 0, 0);
		arm(loop.deadline_timer, 0, 0);
	}
	if (loop.have_monitor)
		monitor_io_close(&loop.mon);
	exec_finish();
	log_flush();
	return loop.exit_status;
}
