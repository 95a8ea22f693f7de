/* A plugin asking for API version 99: loom must refuse it. */
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 99;

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	return 0;
}
