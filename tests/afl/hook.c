/* A persistent-mode hook for the afl subsuite (AFL_QEMU_PERSISTENT_HOOK):
 * takes test cases from shared memory and places them where target_buf's
 * arguments say (rdi: buffer, rsi: its size), as qemuafl's hooks do. */
#include <stdint.h>
#include <string.h>

struct x86_64_regs {
	uint64_t rax, rbx, rcx, rdx, rdi, rsi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rsp, rflags;
	uint8_t zmm_regs[32][64];
};

void afl_persistent_hook(struct x86_64_regs *regs, uint64_t guest_base, uint8_t *buf,
			 uint32_t len)
{
	if (len > regs->rsi)
		len = regs->rsi;
	memcpy((void *)(uintptr_t)(regs->rdi + guest_base), buf, len);
	regs->rsi = len;
}

int afl_persistent_hook_init(void)
{
	return 1;	/* test cases in shared memory */
}
