/*
 * The qemu_plugin_* calls that query or change the guest: memory-access
 * descriptions, registers, guest memory, set_pc, the program's image,
 * symbols, logging, scoreboards.  Registrations are in plugin.c (per plugin)
 * and inject.c (per TB and instruction).
 *
 * Invariant: register access is allowed exactly where the running callback's
 * flags allow it (cpu_exec.plugin_flags = flags + 1 while a callback runs);
 * a refused call returns false and says why under -d plugin, it never
 * touches state the backend may hold in host registers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "guest/guest.h"
#include "instrument/plugin-internal.h"
#include "instrument/symbols.h"
#include "exec/guest-mem.h"
#include "util/log.h"

extern __thread bool plugin_in_syscall;

static void refuse(const char *fn, const char *why)
{
	if (log_enabled(LOG_PLUGIN))
		log_printf("loom: plugin: %s: %s\n", fn, why);
}


static uint32_t cb_flags(void)
{
	void *cpu = exec_current_cpu;
	return cpu ? instrument_vcpu(cpu)->plugin_flags : 0;
}

/* ---- memory accesses ---- */

#define MI_SIZE 0xfu
#define MI_SIGN (1u << 4)
#define MI_BE (1u << 5)
#define MI_STORE (1u << 6)

unsigned int qemu_plugin_mem_size_shift(qemu_plugin_meminfo_t info) { return info & MI_SIZE; }
bool qemu_plugin_mem_is_sign_extended(qemu_plugin_meminfo_t info) { return info & MI_SIGN; }
bool qemu_plugin_mem_is_big_endian(qemu_plugin_meminfo_t info) { return info & MI_BE; }
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info) { return info & MI_STORE; }

qemu_plugin_mem_value qemu_plugin_mem_get_value(qemu_plugin_meminfo_t info)
{
	qemu_plugin_mem_value v = { .type = QEMU_PLUGIN_MEM_VALUE_U64 };
	void *cpu = exec_current_cpu;
	if (!cpu)
		return v;
	const uint64_t *val = instrument_vcpu(cpu)->plugin_mem_val;
	switch (info & MI_SIZE) {
	case 0: v.type = QEMU_PLUGIN_MEM_VALUE_U8; v.data.u8 = (uint8_t)val[0]; break;
	case 1: v.type = QEMU_PLUGIN_MEM_VALUE_U16; v.data.u16 = (uint16_t)val[0]; break;
	case 2: v.type = QEMU_PLUGIN_MEM_VALUE_U32; v.data.u32 = (uint32_t)val[0]; break;
	case 3: v.data.u64 = val[0]; break;
	default:
		v.type = QEMU_PLUGIN_MEM_VALUE_U128;
		v.data.u128.low = val[0];
		v.data.u128.high = val[1];
		break;
	}
	return v;
}

/* The physical side of accesses: whole-system mode answers through its
 * environment, at the time of the call; user mode keeps QEMU's user-mode
 * answers (NULL, false, 0; INVALID_ADDRESS_SPACE for the hwaddr
 * operations), since a user process has no physical addresses.  The
 * description get_hwaddr returns is the calling thread's, valid until its
 * next call, as QEMU's per-vCPU one is. */
struct qemu_plugin_hwaddr {
	struct instrument_hwaddr h;
};
static __thread struct qemu_plugin_hwaddr hwaddr_last;

struct qemu_plugin_hwaddr *qemu_plugin_get_hwaddr(qemu_plugin_meminfo_t info, uint64_t vaddr)
{
	void *cpu = exec_current_cpu;
	if (!instrument_env.hwaddr)
		return NULL;
	if (!cpu) {
		refuse(__func__, "not on a vCPU (call it from a memory callback)");
		return NULL;
	}
	if (!instrument_env.hwaddr(cpu, vaddr, info & MI_STORE, &hwaddr_last.h))
		return NULL;
	return &hwaddr_last;
}

bool qemu_plugin_hwaddr_is_io(const struct qemu_plugin_hwaddr *h)
{
	return h && h->h.is_io;
}

uint64_t qemu_plugin_hwaddr_phys_addr(const struct qemu_plugin_hwaddr *h)
{
	return h ? h->h.pa : 0;
}

/* QEMU's answer for RAM is "RAM"; for a device, its memory region's name
 * (here the bus region's: "lapic", "hpet", "ioapic"...). */
const char *qemu_plugin_hwaddr_device_name(const struct qemu_plugin_hwaddr *h)
{
	if (!instrument_env.hwaddr)
		return NULL;
	if (h && h->h.is_io)
		return h->h.device ? h->h.device : "unassigned";
	return "RAM";
}

static enum qemu_plugin_hwaddr_operation_result phys_result(int r)
{
	switch (r) {
	case 0: return QEMU_PLUGIN_HWADDR_OPERATION_OK;
	case -EFAULT: return QEMU_PLUGIN_HWADDR_OPERATION_INVALID_ADDRESS;
	case -EACCES: return QEMU_PLUGIN_HWADDR_OPERATION_ACCESS_DENIED;
	default: return QEMU_PLUGIN_HWADDR_OPERATION_ERROR;
	}
}

enum qemu_plugin_hwaddr_operation_result
qemu_plugin_read_memory_hwaddr(uint64_t addr, GByteArray *data, size_t len)
{
	if (!instrument_env.phys_rw)
		return QEMU_PLUGIN_HWADDR_OPERATION_INVALID_ADDRESS_SPACE;
	if (!data || len == 0)
		return QEMU_PLUGIN_HWADDR_OPERATION_ERROR;
	g_byte_array_set_size(data, (guint)len);
	return phys_result(instrument_env.phys_rw(addr, data->data, len, false));
}

enum qemu_plugin_hwaddr_operation_result
qemu_plugin_write_memory_hwaddr(uint64_t addr, GByteArray *data)
{
	if (!instrument_env.phys_rw)
		return QEMU_PLUGIN_HWADDR_OPERATION_INVALID_ADDRESS_SPACE;
	if (!data || data->len == 0)
		return QEMU_PLUGIN_HWADDR_OPERATION_ERROR;
	return phys_result(instrument_env.phys_rw(addr, data->data, data->len, true));
}

bool qemu_plugin_translate_vaddr(uint64_t vaddr, uint64_t *hwaddr)
{
	void *cpu = exec_current_cpu;
	if (!instrument_env.translate_vaddr || !hwaddr)
		return false;
	if (!cpu) {
		refuse(__func__, "not on a vCPU (call it from a callback)");
		return false;
	}
	return instrument_env.translate_vaddr(cpu, vaddr, hwaddr);
}

/* ---- the current task (loom extension) ---- */

bool loom_plugin_current_task(unsigned int vcpu_index, struct loom_task *out)
{
	if (!out)
		return false;
	memset(out, 0, sizeof(*out));
	void *cpu = exec_current_cpu;
	if (!cpu || guest_exec_state(cpu)->cpu_index != vcpu_index) {
		refuse(__func__, "not on that vCPU (call it from one of its callbacks)");
		return false;
	}
	if (instrument_env.current_task)
		return instrument_env.current_task(cpu, out);
	/* User mode: the guest process is loom's own. */
	out->tgid = getpid();
	out->pid = (int32_t)syscall(SYS_gettid);
	char comm[LOOM_TASK_COMM_LEN + 1] = "";
	prctl(PR_GET_NAME, comm);
	memcpy(out->comm, comm, sizeof(out->comm) - 1);
	return true;
}

static int time_owner;

const void *qemu_plugin_request_time_control(void)
{
	return __atomic_exchange_n(&time_owner, 1, __ATOMIC_SEQ_CST) ? NULL : (const void *)&time_owner;
}

void qemu_plugin_update_ns(const void *handle, int64_t time) {}

/* ---- the program ---- */

static struct instrument_image image(void)
{
	struct instrument_image im = { 0 };
	instrument_env.image(&im);
	return im;
}

const char *qemu_plugin_path_to_binary(void)
{
	const char *p = image().path;
	return p ? g_strdup(p) : NULL;
}

uint64_t qemu_plugin_start_code(void) { return image().start_code; }
uint64_t qemu_plugin_end_code(void) { return image().end_code; }
uint64_t qemu_plugin_entry_code(void) { return image().entry; }

const char *qemu_plugin_insn_symbol(const struct qemu_plugin_insn *insn)
{
	return insn ? symbol_at(qemu_plugin_insn_vaddr(insn)) : NULL;
}

/* ---- output and arguments ---- */

void qemu_plugin_outs(const char *string)
{
	if (log_enabled(LOG_PLUGIN) && string)
		log_printf("%s", string);
}

bool qemu_plugin_bool_parse(const char *name, const char *val, bool *ret)
{
	if (!val || !ret)
		return false;
	if (!strcasecmp(val, "on") || !strcasecmp(val, "yes") || !strcasecmp(val, "true")) {
		*ret = true;
		return true;
	}
	if (!strcasecmp(val, "off") || !strcasecmp(val, "no") || !strcasecmp(val, "false")) {
		*ret = false;
		return true;
	}
	return false;
}

/* ---- registers ---- */

#define REG_HANDLE(i) ((struct qemu_plugin_register *)(uintptr_t)((i) + 1))
#define REG_INDEX(h) ((int)(uintptr_t)(h) - 1)

GArray *qemu_plugin_get_registers(void)
{
	GArray *a = g_array_new(false, false, sizeof(qemu_plugin_reg_descriptor));
	for (int i = 0; i < guest_reg_count(); i++) {
		struct guest_reg r;
		if (!guest_reg_info(i, &r))
			continue;
		qemu_plugin_reg_descriptor d = { REG_HANDLE(i), r.name, r.feature };
		g_array_append_val(a, d);
	}
	return a;
}

/* The register's size, or -1 if not allowed or no such register; the
 * exported qemu_plugin_read_register answers in the caller's API version's
 * terms (api-compat.c). */
int plugin_reg_read(struct qemu_plugin_register *handle, GByteArray *buf)
{
	void *cpu = exec_current_cpu;
	uint32_t f = cb_flags();
	if (!cpu || f < 1 + QEMU_PLUGIN_CB_R_REGS) {
		refuse("qemu_plugin_read_register",
		       "not allowed here (register the callback with R_REGS or more)");
		return -1;
	}
	uint8_t tmp[64];
	int n = guest_reg_read(cpu, REG_INDEX(handle), tmp);
	if (n < 0 || !buf)
		return -1;
	g_byte_array_append(buf, tmp, n);
	return n;
}

/* The register's size, or -1 (as plugin_reg_read). */
int plugin_reg_write(struct qemu_plugin_register *handle, GByteArray *buf)
{
	const char *fn = "qemu_plugin_write_register";
	void *cpu = exec_current_cpu;
	uint32_t f = cb_flags();
	int i = REG_INDEX(handle);
	struct guest_reg r;
	if (!cpu || f < 1 + QEMU_PLUGIN_CB_RW_REGS) {
		refuse(fn, "not allowed here (register the callback with RW_REGS)");
		return -1;
	}
	if (!buf || !guest_reg_info(i, &r) || buf->len < r.size)
		return -1;
	if (i == guest_reg_pc_index()) {
		uint64_t pc = 0;
		memcpy(&pc, buf->data, 8);
		if (plugin_in_syscall) {
			guest_set_pc(cpu, pc);
			return r.size;
		}
		if (f != 1 + QEMU_PLUGIN_CB_RW_REGS_PC) {
			refuse(fn, "writing the pc needs QEMU_PLUGIN_CB_RW_REGS_PC");
			return -1;
		}
		qemu_plugin_set_pc(pc);
	}
	return guest_reg_write(cpu, i, buf->data) ? (int)r.size : -1;
}

void qemu_plugin_set_pc(uint64_t vaddr)
{
	void *cpu = exec_current_cpu;
	if (!cpu)
		return;
	struct cpu_exec *x = guest_exec_state(cpu);
	if (plugin_in_syscall) {
		guest_set_pc(cpu, vaddr);
		return;
	}
	if (instrument_vcpu(cpu)->plugin_flags != 1 + QEMU_PLUGIN_CB_RW_REGS_PC) {
		refuse(__func__, "only from a callback registered with QEMU_PLUGIN_CB_RW_REGS_PC "
				 "or a syscall callback");
		return;
	}
	/* Leave the TB now: the rest of the instruction does not run. */
	guest_set_pc(cpu, vaddr);
	guest_tool_unwind(cpu);
	instrument_vcpu(cpu)->plugin_flags = 0;
	x->pending_exit = EXEC_REQUEST;
	siglongjmp(x->jmp_env, 1);
}

/* ---- guest memory ---- */

bool qemu_plugin_read_memory_vaddr(uint64_t addr, GByteArray *data, size_t len)
{
	if (!data || !len)
		return false;
	g_byte_array_set_size(data, len);
	return guest_mem_read(exec_current_cpu, data->data, addr, len) == 0;
}

bool qemu_plugin_write_memory_vaddr(uint64_t addr, GByteArray *data)
{
	if (!data || !data->len)
		return false;
	/* translated code on those pages is dropped, as for a guest store */
	exec_unprotect_range(addr, addr + data->len);
	return guest_mem_write(exec_current_cpu, addr, data->data, data->len) == 0;
}

/* ---- scoreboards ----
 * A scoreboard is an offset valid in every vCPU's scoreboard region
 * (plugin-internal.h), so an entry's address never moves and generated
 * code reaches the executing vCPU's copy at a constant offset from env. */

int32_t sb_env_off;
bool sb_registered;
static size_t sb_used;
struct sb_free {
	size_t off, size;
};
static struct sb_free *sb_frees;
static int nsb_frees;

struct qemu_plugin_scoreboard *qemu_plugin_scoreboard_new(size_t element_size)
{
	struct qemu_plugin_scoreboard *s = calloc(1, sizeof(*s));
	size_t size = (element_size + 7) & ~(size_t)7;
	if (!s || !size)
		return s;
	if (!sb_registered)
		internal_error("a plugin scoreboard without plugins' per-vCPU region");
	pthread_mutex_lock(&plugin_lock);
	s->size = element_size;
	s->off = (size_t)-1;
	for (int i = 0; i < nsb_frees; i++) {
		if (sb_frees[i].size == size) {
			s->off = sb_frees[i].off;
			sb_frees[i] = sb_frees[--nsb_frees];
			break;
		}
	}
	if (s->off == (size_t)-1) {
		if (sb_used + size > SB_REGION)
			internal_error("plugin scoreboards use more than %u bytes per vCPU",
				       SB_REGION);
		s->off = sb_used;
		sb_used += size;
	}
	pthread_mutex_unlock(&plugin_lock);
	/* Fresh space is untouched (zero) in every region; reused space was
	 * written at most by the vCPUs that existed. */
	for (unsigned v = 0; v < plugin_nvcpus; v++)
		memset(sb_region(v) + s->off, 0, size);
	return s;
}

void qemu_plugin_scoreboard_free(struct qemu_plugin_scoreboard *score)
{
	if (!score)
		return;
	pthread_mutex_lock(&plugin_lock);
	struct sb_free *n = realloc(sb_frees, (nsb_frees + 1) * sizeof(*n));
	if (n) {
		sb_frees = n;
		sb_frees[nsb_frees++] = (struct sb_free){ score->off, (score->size + 7) & ~(size_t)7 };
	}
	pthread_mutex_unlock(&plugin_lock);
	free(score);
}

void *qemu_plugin_scoreboard_find(struct qemu_plugin_scoreboard *score, unsigned int vcpu_index)
{
	if (!score || vcpu_index >= SB_MAX_VCPUS)
		return NULL;
	uint8_t *r = sb_region(vcpu_index);
	return r ? r + score->off : NULL;
}

static uint64_t *u64_at(qemu_plugin_u64 e, unsigned vcpu)
{
	uint8_t *base = qemu_plugin_scoreboard_find(e.score, vcpu);
	return base ? (uint64_t *)(base + e.offset) : NULL;
}

void qemu_plugin_u64_add(qemu_plugin_u64 entry, unsigned int vcpu_index, uint64_t added)
{
	uint64_t *p = u64_at(entry, vcpu_index);
	if (p)
		*p += added;
}

uint64_t qemu_plugin_u64_get(qemu_plugin_u64 entry, unsigned int vcpu_index)
{
	uint64_t *p = u64_at(entry, vcpu_index);
	return p ? *p : 0;
}

void qemu_plugin_u64_set(qemu_plugin_u64 entry, unsigned int vcpu_index, uint64_t val)
{
	uint64_t *p = u64_at(entry, vcpu_index);
	if (p)
		*p = val;
}

uint64_t qemu_plugin_u64_sum(qemu_plugin_u64 entry)
{
	uint64_t sum = 0;
	unsigned n = __atomic_load_n(&plugin_nvcpus, __ATOMIC_ACQUIRE);
	for (unsigned v = 0; v < n; v++)
		sum += qemu_plugin_u64_get(entry, v);
	return sum;
}
