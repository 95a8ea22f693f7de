/*
 * The C seed of the mutated-ELF corpus (mutate.py builds it static,
 * static-PIE and dynamic).  Its exit status depends on what AT_PHDR points
 * to, on its .data and on its .bss reading as zero, so a loader that gets
 * any of these wrong changes the outcome.
 */
#include <elf.h>
#include <stdio.h>
#include <sys/auxv.h>

static int zeroed[1024];
int initialized = 5;

int main(void)
{
	const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
	unsigned long n = getauxval(AT_PHNUM);
	unsigned sum = 0;
	for (unsigned long i = 0; i < n && i < 64; i++)
		sum = sum * 31 + ph[i].p_type + ph[i].p_flags;
	for (int i = 0; i < 1024; i++)
		sum += zeroed[i];
	printf("%u\n", sum);
	return (int)((sum + (unsigned)initialized) % 50) + 10;
}
