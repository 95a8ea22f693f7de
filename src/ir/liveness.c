/*
 * Liveness for the backend.  Classifies locals as block-local or TB-wide
 * (read or written in more than one basic block) and sets, on every op, the
 * bit of each block-local argument that is dead after the op: an input's
 * last use, or an output nobody reads.  Globals and TB-wide locals get no
 * dead bits: the backend keeps their memory home coherent at block ends.
 * Assumes the IR verifies; changes nothing but op->dead and temp->tb_wide.
 * ir_optimize's dce usually computes the same on its way (opt.c,
 * dce_liveness) and says so in ir_ctx.live_valid: then there is nothing to
 * do here (debug builds recompute and compare).
 */
#include <stdlib.h>
#include "ir/ir.h"
#include "util/log.h"

static bool is_local(const struct ir_ctx *s, ir_ref r)
{
	return s->temps[r].kind == IR_TEMP_LOCAL;
}

static void classify(struct ir_ctx *s, uint32_t *bb_of)
{
	uint32_t bb = 1;

	for (uint32_t i = 0; i < s->nops; i++) {
		struct ir_op *op = &s->ops[i];
		if (op->opc == IR_nop)
			continue;
		/* a label starts a new block: it belongs to the one after it */
		if (op->opc == IR_set_label)
			bb++;
		for (int a = 0; a < op->nout + op->nin; a++) {
			ir_ref r = op->args[a];
			if (!is_local(s, r))
				continue;
			if (!bb_of[r])
				bb_of[r] = bb;
			else if (bb_of[r] != bb)
				s->temps[r].tb_wide = 1;
		}
		if (ir_opdefs[op->opc].flags & IR_OPF_BB_END && op->opc != IR_set_label)
			bb++;
	}
}

static void liveness(struct ir_ctx *s);

#ifdef LOOM_DEBUG
/* Debug builds check what ir_optimize's dce computed against this pass. */
static void check_dce_liveness(struct ir_ctx *s)
{
	uint8_t *dead = malloc(s->nops + 1), *wide = malloc(s->ntemps + 1);
	if (!dead || !wide)
		internal_error("out of memory checking liveness");
	for (uint32_t i = 0; i < s->nops; i++)
		dead[i] = s->ops[i].dead;
	for (uint32_t r = 0; r < s->ntemps; r++)
		wide[r] = s->temps[r].tb_wide;
	liveness(s);
	for (uint32_t i = 0; i < s->nops; i++)
		if (dead[i] != s->ops[i].dead)
			internal_error("liveness from dce: op %u dead bits 0x%x, not 0x%x",
				       i, dead[i], s->ops[i].dead);
	for (uint32_t r = 0; r < s->ntemps; r++)
		if (wide[r] != s->temps[r].tb_wide)
			internal_error("liveness from dce: temp %u TB-wide %u, not %u",
				       r, wide[r], s->temps[r].tb_wide);
	free(dead);
	free(wide);
}
#endif

void ir_liveness(struct ir_ctx *s)
{
	if (s->live_valid) {
#ifdef LOOM_DEBUG
		check_dce_liveness(s);
#endif
		return;
	}
	liveness(s);
}

static void liveness(struct ir_ctx *s)
{
	uint32_t *bb_of = ir_scratch(s, 0, s->ntemps * sizeof(*bb_of));
	uint64_t *live = ir_scratch(s, 1, ir_bits_size(s->ntemps));	/* bit per temp */

	for (uint32_t r = s->nglobals + 2; r < s->ntemps; r++)	/* only locals are */
		s->temps[r].tb_wide = 0;
	classify(s, bb_of);

	for (uint32_t i = s->nops; i-- > 0;) {
		struct ir_op *op = &s->ops[i];
		op->dead = 0;
		if (op->opc == IR_nop)
			continue;
		for (int a = 0; a < op->nout; a++) {
			ir_ref r = op->args[a];
			if (!is_local(s, r) || s->temps[r].tb_wide)
				continue;
			if (!ir_bit_test(live, r))
				op->dead |= 1 << a;
			ir_bit_clear(live, r);
		}
		for (int a = op->nout; a < op->nout + op->nin; a++) {
			ir_ref r = op->args[a];
			if (!is_local(s, r) || s->temps[r].tb_wide)
				continue;
			if (!ir_bit_test(live, r))
				op->dead |= 1 << a;
			ir_bit_set(live, r);
		}
	}
}
