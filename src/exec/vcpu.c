/*
 * vCPU allocation.  exec allocates every guest CPU, so that the state its
 * clients keep per vCPU lies at fixed offsets from env, where generated
 * code reaches it with one addressing mode: a tool registers the space it
 * needs (exec_vcpu_region) before the first vCPU exists, and gets back the
 * offset of its region from env.
 *
 * Every vCPU index has a slot: the guest's CPU struct (env, VCPU_ENV_SKEW
 * into the slot) and after it the regions, each at the alignment and page
 * phase its tool asked for.  Slots are mapped VCPU_CHUNK at a time, when an
 * index in the chunk is first used, so that loom's address space grows with
 * the guest's threads, not ahead of them (a guest under a low RLIMIT_AS
 * must find the room it would have natively).  A vCPU takes the lowest free
 * index, which it keeps for its life (cpu_exec.cpu_index, what plugins call
 * the vCPU index).  Slots are never unmapped: a region registered with keep
 * outlives the vCPUs of its index (plugin scoreboards: sums over vCPUs stay
 * right when a thread ends), and a slot's address never changes.
 *
 * Invariant: the layout is fixed once the first vCPU exists; registering a
 * region after that is an internal error.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "exec/exec.h"
#include "util/log.h"

#define VCPU_PAGE 4096u
/* Env's offset within its page.  Generated code stores to env's first
 * bytes (guest registers, lazy flags) all the time; a load from another
 * address equal in bits 11:0 waits for such a store (4K aliasing).  Regions
 * starting at a page boundary (or 0x800 into one) and the globals a small
 * plugin keeps near the start of its pages are kept clear of them. */
#define VCPU_ENV_SKEW 0xc00u
/* The number of vCPU indexes: as many as fill VCPU_RESERVE of address
 * space, but at least VCPU_MIN_SLOTS however large a slot is (plugins may
 * number that many vCPUs) and at most VCPU_MAX_SLOTS.  Past the last one
 * exec_cpu_new returns NULL; a guest clone then fails with EAGAIN, as at
 * the kernel's thread limit. */
#define VCPU_RESERVE (256u << 20)
#define VCPU_MIN_SLOTS 1024u
#define VCPU_MAX_SLOTS 32768u
#define VCPU_CHUNK 16u

#define VCPU_MAX_REGIONS 8
static struct vcpu_region {
	size_t off, size;	/* from the slot's start */
	bool keep;
} regions[VCPU_MAX_REGIONS];
static int nregions;
static size_t slot_end = VCPU_ENV_SKEW;	/* end of the last region so far */
static size_t cpu_size;			/* the guest's struct, once laid out */

static pthread_mutex_t vcpu_lock = PTHREAD_MUTEX_INITIALIZER;
static bool laid_out;			/* the first vCPU fixed the layout */
static size_t stride;
static unsigned nslots;
static uint8_t *slot_used;		/* nslots flags */
static uint8_t **chunks;		/* VCPU_CHUNK slots each, or NULL */

/* Place the guest's struct first: regions come after it. */
static void layout_cpu(void)
{
	if (!cpu_size) {
		if (!exec_guest.cpu_size)
			internal_error("no guest installed (exec_guest) before the first vCPU");
		cpu_size = exec_guest.cpu_size;
		slot_end = VCPU_ENV_SKEW + ((cpu_size + 63) & ~(size_t)63);
	}
}

/* Out of line on purpose: inlined into exec_run it changes how GCC keeps
 * the variables live across exec_run's sigsetjmp, and -Wclobbered then
 * warns of four of them (as guest_exec_state, it was a call before). */
struct cpu_exec *exec_state(void *cpu)
{
	return (struct cpu_exec *)((uint8_t *)cpu + exec_guest.exec_off);
}

int32_t exec_vcpu_region(size_t size, size_t align, size_t phase, bool keep)
{
	pthread_mutex_lock(&vcpu_lock);
	if (laid_out)
		internal_error("a per-vCPU region was registered after the first vCPU");
	if (nregions == VCPU_MAX_REGIONS)
		internal_error("more than %d per-vCPU regions", VCPU_MAX_REGIONS);
	if (!align || (align & (align - 1)) || align > VCPU_PAGE || phase >= align)
		internal_error("bad per-vCPU region alignment %zu+%zu", align, phase);
	layout_cpu();
	/* The first offset at or past slot_end that is phase modulo align
	 * (slots start on a page, and no region asks for more than that;
	 * unsigned wrap-around keeps the difference right modulo align). */
	size_t off = slot_end + ((phase - slot_end) & (align - 1));
	regions[nregions++] = (struct vcpu_region){ off, size, keep };
	slot_end = off + size;
	pthread_mutex_unlock(&vcpu_lock);
	return (int32_t)(off - VCPU_ENV_SKEW);
}

/* The first vCPU: fix the layout (vcpu_lock held). */
static bool layout_fix(void)
{
	layout_cpu();
	stride = (slot_end + VCPU_PAGE - 1) & ~(size_t)(VCPU_PAGE - 1);
	size_t n = VCPU_RESERVE / stride;
	n = n < VCPU_MIN_SLOTS ? VCPU_MIN_SLOTS : n > VCPU_MAX_SLOTS ? VCPU_MAX_SLOTS : n;
	n = (n + VCPU_CHUNK - 1) / VCPU_CHUNK * VCPU_CHUNK;
	slot_used = calloc(n, 1);
	chunks = calloc(n / VCPU_CHUNK, sizeof(*chunks));
	if (!slot_used || !chunks) {
		free(slot_used);
		free(chunks);
		return false;
	}
	nslots = (unsigned)n;
	__atomic_store_n(&laid_out, true, __ATOMIC_RELEASE);
	return true;
}

/* The slot of index i (below nslots), mapping its chunk if it is the
 * first of the chunk used; NULL if that fails.  Lock-free once mapped. */
static uint8_t *slot_at(unsigned i)
{
	uint8_t **cp = &chunks[i / VCPU_CHUNK];
	uint8_t *c = __atomic_load_n(cp, __ATOMIC_ACQUIRE);
	if (!c) {
		pthread_mutex_lock(&vcpu_lock);
		c = *cp;
		if (!c) {
			void *p = mmap(NULL, stride * VCPU_CHUNK, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (p != MAP_FAILED) {
				c = p;
				__atomic_store_n(cp, c, __ATOMIC_RELEASE);
			}
		}
		pthread_mutex_unlock(&vcpu_lock);
		if (!c)
			return NULL;
	}
	return c + (size_t)(i % VCPU_CHUNK) * stride;
}

void *exec_cpu_new(void)
{
	pthread_mutex_lock(&vcpu_lock);
	if (!laid_out && !layout_fix()) {
		pthread_mutex_unlock(&vcpu_lock);
		return NULL;
	}
	unsigned i = 0;
	while (i < nslots && slot_used[i])
		i++;
	if (i == nslots) {
		pthread_mutex_unlock(&vcpu_lock);
		return NULL;
	}
	slot_used[i] = 1;
	pthread_mutex_unlock(&vcpu_lock);

	uint8_t *slot = slot_at(i);
	if (!slot) {
		pthread_mutex_lock(&vcpu_lock);
		slot_used[i] = 0;
		pthread_mutex_unlock(&vcpu_lock);
		return NULL;
	}
	memset(slot + VCPU_ENV_SKEW, 0, cpu_size);
	for (int r = 0; r < nregions; r++)
		if (!regions[r].keep)
			memset(slot + regions[r].off, 0, regions[r].size);
	void *cpu = slot + VCPU_ENV_SKEW;
	exec_state(cpu)->cpu_index = i;
	return cpu;
}

void exec_cpu_free(void *cpu)
{
	if (!cpu)
		return;
	unsigned i = exec_state(cpu)->cpu_index;
	uint8_t *c = laid_out && i < nslots ? chunks[i / VCPU_CHUNK] : NULL;
	if (!c || (uint8_t *)cpu != c + (size_t)(i % VCPU_CHUNK) * stride + VCPU_ENV_SKEW)
		internal_error("exec_cpu_free of a cpu exec did not allocate");
	pthread_mutex_lock(&vcpu_lock);
	slot_used[i] = 0;
	pthread_mutex_unlock(&vcpu_lock);
}

void *exec_vcpu_env(unsigned index)
{
	if (!__atomic_load_n(&laid_out, __ATOMIC_ACQUIRE) || index >= nslots)
		return NULL;
	uint8_t *slot = slot_at(index);
	return slot ? slot + VCPU_ENV_SKEW : NULL;
}
