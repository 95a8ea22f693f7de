/*
 * A plugin that only forwards: its install calls unit_plugin_install in the
 * program that loaded it (a unit test linked with libloom.a and -rdynamic),
 * so that the test can register instrumentation through the real loading
 * path without a plugin file of its own for every case.
 */
#include <dlfcn.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
					   char **argv)
{
	int (*install)(qemu_plugin_id_t, const qemu_info_t *, int, char **) =
		(int (*)(qemu_plugin_id_t, const qemu_info_t *, int, char **))dlsym(
			RTLD_DEFAULT, "unit_plugin_install");
	return install ? install(id, info, argc, argv) : -1;
}
