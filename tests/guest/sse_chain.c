/* Chains of SSE floating-point instructions in one block, with the other
 * ways a block writes XMM registers in between: GPR moves (movq, pinsrw),
 * half loads (movlpd, movhpd), merges (movss, movsd), integer vector ops,
 * helpers (pshufd, cmpltsd), shuffles.  loom keeps FP values in host
 * registers within a block; each of those writers must be seen by the
 * next FP op.  Baseline SSE2 only.  Compared with the native run. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef double v2d __attribute__((vector_size(16)));

static void show(const char *what, v2d a, v2d b)
{
	uint64_t q[4];
	memcpy(q, &a, 16);
	memcpy(q + 2, &b, 16);
	printf("%-10s %016llx %016llx %016llx %016llx\n", what, (unsigned long long)q[0],
	       (unsigned long long)q[1], (unsigned long long)q[2], (unsigned long long)q[3]);
}

int main(void)
{
	static double mem[4] __attribute__((aligned(16))) = { 1.25, -2.5, 1e-3, 7.0 };
	v2d x, y;
	long r = 0x4008000000000000;	/* 3.0 */

#define RUN(name, body)								\
	x = (v2d){ 1.5, 2.5 };							\
	y = (v2d){ 0.1, -0.7 };							\
	__asm__ volatile(body : "+x"(x), "+x"(y) : "r"(r), "m"(mem[0]) : "xmm2", "cc", "memory");	\
	show(name, x, y)

	RUN("movq", "addsd %1, %0\n\tmovq %2, %0\n\taddsd %1, %0\n\tmulsd %0, %1");
	RUN("pinsrw", "mulpd %1, %0\n\tpinsrw $3, %k2, %0\n\taddpd %1, %0\n\tsubsd %0, %1");
	RUN("movlpd", "divsd %1, %0\n\tmovlpd %3, %0\n\taddsd %1, %0\n\tmovhpd %3, %1\n\tmulpd %0, %1");
	RUN("movss", "addps %1, %0\n\tmovss %1, %0\n\tmulps %0, %0\n\tmovsd %0, %1\n\taddpd %1, %1");
	RUN("paddd", "addsd %1, %0\n\tpaddd %0, %1\n\tmulsd %1, %0\n\tpsubq %0, %1\n\tsqrtpd %1, %1");
	RUN("pshufd", "addpd %1, %0\n\tpshufd $0x4e, %0, %0\n\tsubpd %1, %0\n\tcmpltsd %0, %1\n\taddsd %0, %1");
	RUN("unpck", "mulsd %1, %0\n\tunpcklpd %0, %0\n\taddpd %1, %0\n\tunpckhpd %0, %1\n\tdivpd %0, %1");
	RUN("selfop", "addsd %0, %0\n\tsubsd %1, %1\n\tmulsd %0, %1\n\taddsd %1, %0\n\tmovapd %0, %1\n\tsqrtsd %1, %0");
	RUN("cvt", "cvtsi2sd %2, %0\n\tcvtsd2ss %0, %1\n\tcvtss2sd %1, %1\n\taddsd %1, %0\n\tcvtpd2ps %0, %0\n\tcvtps2pd %0, %1");
	RUN("movapd", "movapd %0, %%xmm2\n\taddsd %1, %%xmm2\n\tmovapd %%xmm2, %1\n\tmulpd %1, %0\n\tmovapd %3, %%xmm2\n\taddpd %%xmm2, %1");
	RUN("andpd", "addsd %1, %0\n\tandpd %1, %0\n\tmulsd %1, %0\n\txorpd %0, %0\n\taddsd %1, %0");
	RUN("mem", "addsd %3, %0\n\tmovsd %0, %3\n\tmulsd %3, %1\n\tminpd %1, %0\n\tmaxsd %0, %1");
	long c = 0;
	x = (v2d){ 1.5, 2.5 };
	y = (v2d){ 2.5, -0.7 };
	__asm__ volatile("addsd %1, %0\n\tucomisd %1, %0\n\tseta %b2\n\tmovq %3, %1\n\tcomisd %1, %0\n\tsetb %h2\n\t"
			 "cvttsd2si %0, %3\n\tshl $16, %3\n\tor %3, %2"
			 : "+x"(x), "+x"(y), "+Q"(c), "+r"(r) : : "cc");
	printf("cmp %lx\n", c);
	return 0;
}
