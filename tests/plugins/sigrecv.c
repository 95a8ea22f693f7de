/*
 * sigrecv: subscribes to "sigtest.syscall" (sigsend.c emits it) and records
 * the payloads.  Works whether it is loaded before or after the sender.
 * At exit: "sigrecv: N signals, sum S, last L" where S is the sum of the
 * syscall numbers received; a payload of the wrong size or a wrong name or
 * userdata prints "(ERROR)".
 */
#include <stdio.h>
#include <string.h>
#include <qemu-plugin.h>
#include <loom-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

static unsigned long count;
static int64_t sum, last;
static bool bad;
static int cookie;

static void on_signal(qemu_plugin_id_t id, const char *name, const void *payload, size_t size,
		      void *userdata)
{
	int64_t num;

	if (strcmp(name, "sigtest.syscall") || size != sizeof(num) || userdata != &cookie) {
		bad = true;
		return;
	}
	memcpy(&num, payload, sizeof(num));
	count++;
	sum += num;
	last = num;
}

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[128];

	snprintf(line, sizeof(line), "sigrecv: %lu signals, sum %" PRId64 ", last %" PRId64 "%s\n",
		 count, sum, last, bad ? " (ERROR)" : "");
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	if (!loom_plugin_signal_subscribe(id, "sigtest.syscall", on_signal, &cookie))
		return -1;
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
