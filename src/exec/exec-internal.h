/* Shared between the files of src/exec/ only. */
#ifndef LOOM_EXEC_INTERNAL_H
#define LOOM_EXEC_INTERNAL_H
#include "exec/exec.h"
#include "host/host.h"

extern host_enter_fn exec_enter;
extern const void *exec_epilogue_exit;
void exec_register_cpu(struct cpu_exec *x);
void exec_set_jc_layout(void *cpu);
struct tb *tb_lookup(struct cpu_exec *x, uint64_t pc, uint32_t flags);
struct tb *tb_gen_code(uint64_t pc, uint32_t flags);
struct tb *tb_find_by_host_pc(uintptr_t hpc);
uint64_t tb_guest_pc_of(struct tb *tb, uintptr_t hpc);
void tb_add_jump(struct tb *from, int n, struct tb *to);
#endif
