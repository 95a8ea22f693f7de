/* The FPU/SSE state in a signal frame: what a handler reads from
 * uc_mcontext.fpregs (control and status words, tags, MXCSR and its mask,
 * ST0, XMM1) must be the CPU's FXSAVE image, and what it writes there must
 * be what the interrupted code sees after sigreturn. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

#ifdef __GLIBC__
typedef struct _libc_fpstate fpstate_t;
#else
typedef struct _fpstate fpstate_t;
#endif

static void handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	fpstate_t *f = (fpstate_t *)uc->uc_mcontext.fpregs;
	printf("in handler: cwd=%x swd=%x ftw=%x mxcsr=%x mxcsr_mask=%x st0=%04x%04x xmm1=%x\n",
	       f->cwd, f->swd, f->ftw, f->mxcsr, f->mxcr_mask, f->_st[0].significand[3],
	       f->_st[0].significand[2], f->_xmm[1].element[0]);
	f->_xmm[1].element[0] = 0x1234;
	f->mxcsr |= 0x6000;		/* round toward zero */
	f->cwd = 0x27f;			/* x87 precision: double */
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, 0);

	unsigned v, m;
	unsigned short cw;
	__asm__ volatile("fldpi\n\tmovd %0, %%xmm1" :: "r"(0x55aa55aau) : "xmm1", "st");
	raise(SIGUSR1);
	__asm__ volatile("movd %%xmm1, %0\n\tstmxcsr %1\n\tfnstcw %2\n\tfstp %%st(0)"
			 : "=r"(v), "=m"(m), "=m"(cw) :: "st");
	printf("after sigreturn: xmm1=%x mxcsr=%x fcw=%x\n", v, m, cw);
	return 0;
}
