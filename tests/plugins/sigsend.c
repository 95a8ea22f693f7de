/*
 * sigsend: half of the plugin-signal test (sigrecv.c is the other half).
 * Registers the signal "sigtest.syscall" and emits it at every syscall
 * entry with the syscall number (int64_t) as payload.  At exit it prints
 * "sigsend: E emitted, D delivered" (D: the subscribers emit reported) and
 * checks that emitting a name nobody registered returns -1.
 */
#include <stdio.h>
#include <qemu-plugin.h>
#include <loom-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static unsigned long emitted, delivered;
static bool bad;

static void sys_entry(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1,
		      uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7,
		      uint64_t a8)
{
	int n = loom_plugin_signal_emit(id, "sigtest.syscall", &num, sizeof(num));

	emitted++;
	if (n > 0)
		delivered += n;
	else if (n < 0)
		bad = true;
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[128];

	if (loom_plugin_signal_emit(id, "sigtest.nobody", "", 0) != -1)
		bad = true;
	snprintf(line, sizeof(line), "sigsend: %lu emitted, %lu delivered%s\n", emitted,
		 delivered, bad ? " (ERROR)" : "");
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	if (!loom_plugin_signal_register(id, "sigtest.syscall"))
		return -1;
	qemu_plugin_register_vcpu_syscall_cb(id, sys_entry);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
