/*
 * syshw: the whole-system side of the plugin API, watched on the bare-metal
 * image (tests/system/baremetal/probes.asm) by tests/system/plugins.sh.
 * A memory callback on every instruction asks qemu_plugin_get_hwaddr about
 * each access and reports the first load and the first store through each
 * of two virtual pages the image maps: ALIAS (0x1a4000, RAM elsewhere) and
 * APIC (0x1a5000, the local APIC's registers).  For those it also asks
 * qemu_plugin_translate_vaddr, and for the alias store reads the stored
 * value back with qemu_plugin_read_memory_hwaddr.  It counts vCPU init,
 * exit, idle and resume callbacks, and tries the hwaddr operations' refusals
 * (a device's page, an address past RAM) and a write/read round trip in RAM.
 *
 *   loom-system -d plugin -plugin file=libsyshw.so ...
 *
 * At exit, lines starting "syshw: " (see plugin_exit).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define ALIAS_PAGE 0x1a4000ull
#define APIC_PAGE 0x1a5000ull
#define SCRATCH_PA 0x1a7000ull	/* a page the image leaves alone */

static GMutex lock;
static uint64_t accesses, io_accesses, no_hwaddr;
static unsigned inits, exits, idles, resumes;
static char seen[2][2][200];	/* [alias, apic][load, store] */
static int ops_done;
static char ops_line[200];

static void hwaddr_ops(void)
{
	GByteArray *ba = g_byte_array_new();
	enum qemu_plugin_hwaddr_operation_result mmio, range, wr, rd;
	mmio = qemu_plugin_read_memory_hwaddr(0xfee00030, ba, 4);
	range = qemu_plugin_read_memory_hwaddr(1ull << 39, ba, 8);
	g_byte_array_set_size(ba, 0);
	static const uint8_t pattern[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
	g_byte_array_append(ba, pattern, sizeof(pattern));
	wr = qemu_plugin_write_memory_hwaddr(SCRATCH_PA, ba);
	g_byte_array_set_size(ba, 0);
	rd = qemu_plugin_read_memory_hwaddr(SCRATCH_PA, ba, 8);
	bool same = rd == QEMU_PLUGIN_HWADDR_OPERATION_OK && ba->len == 8 &&
		    !memcmp(ba->data, pattern, 8);
	snprintf(ops_line, sizeof(ops_line), "syshw: ops mmio=%d range=%d write=%d read=%d same=%d\n",
		 mmio, range, wr, rd, same);
	g_byte_array_free(ba, TRUE);
}

static void mem_cb(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
	struct qemu_plugin_hwaddr *h = qemu_plugin_get_hwaddr(info, vaddr);
	g_mutex_lock(&lock);
	accesses++;
	if (!h)
		no_hwaddr++;
	else if (qemu_plugin_hwaddr_is_io(h))
		io_accesses++;
	if (!ops_done) {
		ops_done = 1;
		hwaddr_ops();
	}
	uint64_t page = vaddr & ~0xfffull;
	int which = page == ALIAS_PAGE ? 0 : page == APIC_PAGE ? 1 : -1;
	bool store = qemu_plugin_mem_is_store(info);
	if (which >= 0 && h && !seen[which][store][0]) {
		uint64_t xl = 0;
		bool xok = qemu_plugin_translate_vaddr(vaddr, &xl);
		char extra[64] = "";
		if (which == 0 && store) {
			/* the value just stored, read back by physical address */
			GByteArray *ba = g_byte_array_new();
			qemu_plugin_mem_value v = qemu_plugin_mem_get_value(info);
			uint64_t got = 0;
			if (qemu_plugin_read_memory_hwaddr(qemu_plugin_hwaddr_phys_addr(h), ba, 8) ==
			    QEMU_PLUGIN_HWADDR_OPERATION_OK)
				memcpy(&got, ba->data, 8);
			snprintf(extra, sizeof(extra), " readback=%d",
				 v.type == QEMU_PLUGIN_MEM_VALUE_U64 && got == v.data.u64);
			g_byte_array_free(ba, TRUE);
		}
		snprintf(seen[which][store], sizeof(seen[0][0]),
			 "syshw: %s %s va=0x%" PRIx64 " pa=0x%" PRIx64 " io=%d dev=%s xlate=%s0x%" PRIx64
			 "%s\n", which ? "apic" : "alias", store ? "store" : "load", vaddr,
			 qemu_plugin_hwaddr_phys_addr(h), qemu_plugin_hwaddr_is_io(h),
			 qemu_plugin_hwaddr_device_name(h), xok ? "" : "FAILED-", xl, extra);
	}
	g_mutex_unlock(&lock);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	for (size_t i = 0; i < n; i++)
		qemu_plugin_register_vcpu_mem_cb(qemu_plugin_tb_get_insn(tb, i), mem_cb,
						 QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, NULL);
}

static void vcpu_init(qemu_plugin_id_t id, unsigned int vcpu) { inits++; }
static void vcpu_exit(qemu_plugin_id_t id, unsigned int vcpu) { exits++; }
static void vcpu_idle(qemu_plugin_id_t id, unsigned int vcpu) { idles++; }
static void vcpu_resume(qemu_plugin_id_t id, unsigned int vcpu) { resumes++; }

static void plugin_exit(qemu_plugin_id_t id, void *p)
{
	char line[200];
	for (int w = 0; w < 2; w++)
		for (int s = 0; s < 2; s++)
			if (seen[w][s][0])
				qemu_plugin_outs(seen[w][s]);
	if (ops_done)
		qemu_plugin_outs(ops_line);
	snprintf(line, sizeof(line),
		 "syshw: accesses %" PRIu64 " io %" PRIu64 " nohwaddr %" PRIu64 "\n", accesses,
		 io_accesses, no_hwaddr);
	qemu_plugin_outs(line);
	snprintf(line, sizeof(line), "syshw: vcpu init %u exit %u idle %u resume %u\n", inits,
		 exits, idles, resumes);
	qemu_plugin_outs(line);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_vcpu_init_cb(id, vcpu_init);
	qemu_plugin_register_vcpu_exit_cb(id, vcpu_exit);
	qemu_plugin_register_vcpu_idle_cb(id, vcpu_idle);
	qemu_plugin_register_vcpu_resume_cb(id, vcpu_resume);
	qemu_plugin_register_atexit_cb(id, plugin_exit, NULL);
	return 0;
}
