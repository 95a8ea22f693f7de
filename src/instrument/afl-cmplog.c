/*
 * CMPLOG (afl-fuzz -c 0), as AFL++'s QEMU mode does it.
 *
 * afl-fuzz runs the target a second time for its input-to-state stage
 * (RedQueen), with its own fork server, __AFL_CMPLOG_SHM_ID naming a
 * struct cmp_map and ___AFL_EINS_ZWEI_POLIZEI___ set; only such a run logs
 * (the plain run may inherit the shm id, and then ignores it, as qemuafl
 * does).  Before each compare (`cmp`, `sub`; 1 to 8 bytes; any operands)
 * and each call in scope a helper logs:
 *
 *   compare: headers[k] gets type INS, shape size - 1, hits + 1; the pair
 *            goes to log[k][hits % CMP_MAP_H] (v0, v1; the 128-bit halves 0);
 *            a memory operand that faults is the instruction's fault
 *   call:    when rdi and rsi both point at 31 readable bytes, type RTN,
 *            shape 30; the bytes go to the cmpfn_operands view of log[k],
 *            entry hits % CMP_MAP_RTN_H, with lengths 31
 *
 * where k = ((pc >> 4) ^ (pc << 8)) % CMP_MAP_W of the instruction.  A slot
 * that held the other type starts again at hit 0.  afl-fuzz clears the
 * headers before each run, never the logs.
 *
 * The map is afl-fuzz 4.04c's (include/cmplog.h there): 65536 headers of
 * 8 bytes (hits: 24 bits, id: 24, shape: 5, type: 2 (1 INS, 2 RTN),
 * attribute: 4, overflow: 1, reserved: 4), then 65536 rows of 32 entries
 * of 32 bytes (v0, v1, v0_128, v1_128), a row seen by routines as 8
 * entries of 64 bytes (v0[31], v0_len, v1[31], v1_len).  Fields are set
 * with shifts, not C bitfields, so the layout is the one written here.
 *
 * Not done: `test` and floating-point compares (qemuafl logs neither),
 * the attribute bits (qemuafl leaves them 0).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include "guest/guest.h"
#include "instrument/afl-internal.h"
#include "exec/guest-mem.h"
#include "util/log.h"

#define CMP_MAP_W 65536
#define CMP_MAP_H 32
#define CMP_MAP_RTN_H (CMP_MAP_H / 4)
#define CMP_TYPE_INS 1ull
#define CMP_TYPE_RTN 2ull
#define RTN_LEN 31

#define HDR_HITS 0xffffffull
#define HDR_SHAPE_SHIFT 48
#define HDR_SHAPE (31ull << HDR_SHAPE_SHIFT)
#define HDR_TYPE_SHIFT 53
#define HDR_TYPE (3ull << HDR_TYPE_SHIFT)

struct cmp_operands {
	uint64_t v0, v1, v0_128, v1_128;
};
struct cmpfn_operands {
	uint8_t v0[RTN_LEN], v0_len, v1[RTN_LEN], v1_len;
};
struct cmp_map {
	uint64_t headers[CMP_MAP_W];
	struct cmp_operands log[CMP_MAP_W][CMP_MAP_H];
};
_Static_assert(sizeof(struct cmpfn_operands) * CMP_MAP_RTN_H <=
	       sizeof(struct cmp_operands) * CMP_MAP_H, "a row holds the routine entries");

static struct cmp_map *cmp_map;

bool afl_cmplog_active(void)
{
	return cmp_map != NULL;
}

void afl_cmplog_setup(void)
{
	const char *id = getenv("__AFL_CMPLOG_SHM_ID");
	if (!id || !*id || !getenv("___AFL_EINS_ZWEI_POLIZEI___"))
		return;
	void *m = shmat(atoi(id), NULL, 0);
	if (m == (void *)-1)
		fatal(LOOM_EXIT_USAGE, "afl: cannot attach the CMPLOG map (__AFL_CMPLOG_SHM_ID=%s): %m",
		      id);
	cmp_map = m;
}

/* The header's hit count before this one, after claiming slot k for type. */
static uint32_t claim(uint32_t k, uint64_t type, unsigned shape)
{
	uint64_t h = cmp_map->headers[k];
	if ((h & HDR_TYPE) >> HDR_TYPE_SHIFT != type)
		h = (h & ~(HDR_TYPE | HDR_HITS | HDR_SHAPE)) | type << HDR_TYPE_SHIFT;
	uint32_t hits = h & HDR_HITS;
	if (hits == 0 || (h & HDR_SHAPE) >> HDR_SHAPE_SHIFT < shape)
		h = (h & ~HDR_SHAPE) | (uint64_t)shape << HDR_SHAPE_SHIFT;
	cmp_map->headers[k] = (h & ~HDR_HITS) | ((hits + 1) & HDR_HITS);
	return hits;
}

/* A compare's memory operand is read as the instruction is about to read
 * it: directly.  If that faults, loom's host-fault path turns it into the
 * guest's fault at the compare (its pc is stored before the call), which is
 * what the instruction would have raised.  (guest_mem_read, a system call in user mode, made
 * the CMPLOG run twice as slow; it stays for the calls' pointers, which
 * nothing promises are valid.) */
static int read_as_insn(void *dst, uint64_t src, size_t n)
{
	memcpy(dst, (const void *)(uintptr_t)src, n);
	return 0;
}

/* where: k | size << 16 | call << 24 (translation-time constants). */
void afl_helper_cmplog(uint64_t env, uint64_t desc, uint64_t x0, uint64_t x1, uint64_t where)
{
	uint32_t k = where & 0xffff;
	unsigned size = where >> 16 & 0xff;
	uint64_t v[2];

	if (!guest_cmplog_operands((void *)(uintptr_t)env, desc, x0, x1, v, read_as_insn))
		return;
	if (!(where >> 24 & 1)) {
		uint32_t hits = claim(k, CMP_TYPE_INS, size - 1);
		cmp_map->log[k][hits % CMP_MAP_H] = (struct cmp_operands){ v[0], v[1], 0, 0 };
		return;
	}
	uint8_t a[RTN_LEN], b[RTN_LEN];
	/* Small integers are not pointers: spare the system calls. */
	if (v[0] < 4096 || v[1] < 4096 || guest_mem_read((void *)(uintptr_t)env, a, v[0], RTN_LEN) < 0 ||
	    guest_mem_read((void *)(uintptr_t)env, b, v[1], RTN_LEN) < 0)
		return;
	uint32_t hits = claim(k, CMP_TYPE_RTN, RTN_LEN - 1);
	struct cmpfn_operands *o = &((struct cmpfn_operands *)cmp_map->log[k])[hits % CMP_MAP_RTN_H];
	memcpy(o->v0, a, RTN_LEN);
	memcpy(o->v1, b, RTN_LEN);
	o->v0_len = o->v1_len = RTN_LEN;
}

void afl_cmplog_insn(struct ir_ctx *ir, uint64_t pc, const uint8_t *code, unsigned len)
{
	struct guest_cmplog c;
	if (!guest_insn_cmplog(pc, code, len, &c))
		return;
	uint64_t k = ((pc >> 4) ^ (pc << 8)) & (CMP_MAP_W - 1);
	uint64_t where = k | (uint64_t)c.size << 16 | (uint64_t)c.call << 24;
	ir_op1(ir, IR_mov, IR_I64, guest_ir_pc(), ir_const(ir, IR_I64, pc));
	ir_call(ir, afl_helper_base + AFL_H_CMPLOG, 0,
		(ir_ref[]){ ir->env, ir_const(ir, IR_I64, c.desc), ir_const(ir, IR_I64, c.x[0]),
			    ir_const(ir, IR_I64, c.x[1]), ir_const(ir, IR_I64, where) },
		5);
}
