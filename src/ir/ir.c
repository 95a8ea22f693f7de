/*
 * IR context, builder and printer.  The op table (ir-ops.h) is expanded here
 * into ir_opdefs[]; the printer's text form is the one documented in ir.h and
 * is what -d op and golden tests show, so change it only together with them.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "ir/ir.h"
#include "util/log.h"

const struct ir_opdef ir_opdefs[IR_NB_OPS] = {
#define DEF(n, no, ni, nc, fl) [IR_##n] = { #n, no, ni, nc, fl },
#include "ir-ops.h"
#undef DEF
};

const char *const ir_vop_names[IR_V_NB] = {
#define DEFV(name, what) [IR_V_##name] = #name,
#include "ir-vops.h"
#undef DEFV
};

const struct ir_fopdef ir_fopdefs[IR_F_NB] = {
#define DEFF(name, form, bsize) [IR_F_##name] = { #name, IR_FF_##form, bsize },
#include "ir-fops.h"
#undef DEFF
};

static const char *const cond_names[IR_COND_NB] = {
#define IR_COND_NAME(name, text, swapped, holds) [IR_##name] = text,
	IR_CONDS(IR_COND_NAME)
#undef IR_COND_NAME
};

const char *ir_cond_name(enum ir_cond c)
{
	return c < IR_COND_NB ? cond_names[c] : "?";
}

enum ir_cond ir_cond_swap(enum ir_cond c)
{
	static const uint8_t swapped_of[IR_COND_NB] = {
#define IR_COND_SWAP(name, text, swapped, holds) [IR_##name] = IR_##swapped,
		IR_CONDS(IR_COND_SWAP)
#undef IR_COND_SWAP
	};
	return swapped_of[c];
}

bool ir_cond_eval(enum ir_cond c, enum ir_type t, uint64_t a, uint64_t b)
{
	if (t == IR_I32) {
		a = (uint32_t)a;
		b = (uint32_t)b;
	}
	int64_t sa = t == IR_I32 ? (int32_t)a : (int64_t)a;
	int64_t sb = t == IR_I32 ? (int32_t)b : (int64_t)b;
	(void)sa, (void)sb;
	switch (c) {
#define IR_COND_EVAL(name, text, swapped, holds) case IR_##name: return holds;
	IR_CONDS(IR_COND_EVAL)
#undef IR_COND_EVAL
	case IR_COND_NB: break;
	}
	return false;
}

static void *grow(void *p, uint32_t *cap, size_t elem, uint32_t need)
{
	if (need <= *cap)
		return p;
	uint32_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	p = realloc(p, n * elem);
	if (!p)
		internal_error("out of memory growing IR");
	*cap = n;
	return p;
}

void ir_init(struct ir_ctx *s)
{
	memset(s, 0, sizeof(*s));
	s->temps = grow(NULL, &s->cap_temps, sizeof(struct ir_temp), 256);
	s->ops = grow(NULL, &s->cap_ops, sizeof(struct ir_op), 1024);
	memset(&s->temps[0], 0, sizeof(s->temps[0]));
	s->ntemps = 1;		/* ref 0 is invalid */
	s->temps[s->ntemps] = (struct ir_temp){ .kind = IR_TEMP_ENV, .type = IR_I64, .name = "env" };
	s->env = s->ntemps++;
}

void ir_reset(struct ir_ctx *s)
{
	s->ntemps = s->nglobals + 2;	/* invalid, env, globals */
	s->nops = 0;
	s->nlabels = 0;
	s->live_valid = false;
	memset(s->const_cache, 0, sizeof(s->const_cache));
}

void *ir_scratch(struct ir_ctx *s, unsigned slot, size_t size)
{
	assert(slot < IR_SCRATCH_SLOTS);
	if (!size)
		size = 1;
	if (size > s->scratch[slot].size) {
		size_t cap = s->scratch[slot].size ? s->scratch[slot].size : 1024;
		while (cap < size)
			cap *= 2;
		/* nothing to keep: the caller wants it zeroed */
		free(s->scratch[slot].p);
		s->scratch[slot].p = malloc(cap);
		if (!s->scratch[slot].p)
			internal_error("out of memory for the optimizer's work arrays");
		s->scratch[slot].size = cap;
	}
	return memset(s->scratch[slot].p, 0, size);
}

static ir_ref new_temp(struct ir_ctx *s, struct ir_temp t)
{
	s->temps = grow(s->temps, &s->cap_temps, sizeof(struct ir_temp), s->ntemps + 1);
	s->temps[s->ntemps] = t;
	return s->ntemps++;
}

ir_ref ir_new_global(struct ir_ctx *s, int32_t env_off, const char *name)
{
	/* Globals must be registered before any per-TB temp. */
	assert(s->ntemps == s->nglobals + 2);
	ir_ref r = new_temp(s, (struct ir_temp){ .kind = IR_TEMP_GLOBAL, .type = IR_I64,
						  .env_off = env_off, .name = name });
	s->nglobals++;
	return r;
}

ir_ref ir_new_temp(struct ir_ctx *s, enum ir_type t)
{
	return new_temp(s, (struct ir_temp){ .kind = IR_TEMP_LOCAL, .type = t });
}

ir_ref ir_const(struct ir_ctx *s, enum ir_type t, uint64_t v)
{
	if (t == IR_I32)
		v = (uint32_t)v;
	uint32_t h = ((v ^ t) * 0x9e3779b97f4a7c15ull) >> 58;
	ir_ref r = s->const_cache[h];
	if (r && r < s->ntemps && s->temps[r].kind == IR_TEMP_CONST && s->temps[r].val == v &&
	    s->temps[r].type == t)
		return r;
	r = new_temp(s, (struct ir_temp){ .kind = IR_TEMP_CONST, .type = t, .val = v });
	s->const_cache[h] = r;
	return r;
}

uint32_t ir_new_label(struct ir_ctx *s)
{
	return s->nlabels++;
}

/* The lifters append ~7 ops per guest instruction: the common case (room
 * left) inline, growing out of line. */
static inline struct ir_op *append(struct ir_ctx *s)
{
	s->live_valid = false;
	if (__builtin_expect(s->nops + 1 > s->cap_ops, 0))
		s->ops = grow(s->ops, &s->cap_ops, sizeof(struct ir_op), s->nops + 1);
	struct ir_op *op = &s->ops[s->nops++];
	*op = (struct ir_op){ 0 };
	return op;
}

struct ir_op *ir_append_op(struct ir_ctx *s, const struct ir_op *src)
{
	struct ir_op *op = append(s);
	*op = *src;
	return op;
}

struct ir_op *ir_emit(struct ir_ctx *s, enum ir_opc opc, enum ir_type t,
		      const ir_ref *args, const int64_t *cargs)
{
	const struct ir_opdef *def = &ir_opdefs[opc];
	struct ir_op *op = append(s);
	int nargs = def->nout + def->nin;
	op->opc = opc;
	op->type = t;
	op->nout = def->nout;
	op->nin = def->nin;
	for (int i = 0; i < nargs; i++)
		op->args[i] = args[i];
	if (def->nconst > 0)
		op->cargs[0] = cargs[0];
	if (def->nconst > 1)
		op->cargs[1] = cargs[1];
	return op;
}

void ir_op1(struct ir_ctx *s, enum ir_opc opc, enum ir_type t, ir_ref d, ir_ref a)
{
	ir_emit(s, opc, t, (ir_ref[]){ d, a }, NULL);
}

void ir_op2(struct ir_ctx *s, enum ir_opc opc, enum ir_type t, ir_ref d, ir_ref a, ir_ref b)
{
	ir_emit(s, opc, t, (ir_ref[]){ d, a, b }, NULL);
}

uint32_t ir_add_helpers(struct ir_ctx *s, const struct ir_helper *t, uint32_t n)
{
	struct ir_helper *all = malloc((s->nhelpers + n) * sizeof(*all));
	if (!all)
		abort();
	memcpy(all, s->helpers, s->nhelpers * sizeof(*all));
	memcpy(all + s->nhelpers, t, n * sizeof(*all));
	if (s->helpers_owned)
		free((void *)s->helpers);
	else
		s->nguest_helpers = s->nhelpers;
	s->helpers = all;	/* the first table is the guest's static one */
	s->helpers_owned = true;
	s->nhelpers += n;
	return s->nhelpers - n;
}

void ir_call(struct ir_ctx *s, uint32_t helper, ir_ref ret, const ir_ref *args, unsigned nargs)
{
	const struct ir_helper *h = &s->helpers[helper];
	assert(nargs == h->nargs && nargs <= IR_MAX_CALL_ARGS);
	assert(!ret == !h->has_ret);
	struct ir_op *op = append(s);
	op->opc = IR_call;
	op->type = IR_I64;
	op->nout = ret ? 1 : 0;
	op->nin = nargs;
	if (ret)
		op->args[0] = ret;
	for (unsigned i = 0; i < nargs; i++)
		op->args[op->nout + i] = args[i];
	op->cargs[0] = helper;
	op->cargs[1] = h->flags;
}

struct ir_op *ir_insert(struct ir_ctx *s, uint32_t at)
{
	append(s);
	memmove(&s->ops[at + 1], &s->ops[at], (s->nops - 1 - at) * sizeof(struct ir_op));
	memset(&s->ops[at], 0, sizeof(struct ir_op));
	return &s->ops[at];
}

static void print_temp(const struct ir_ctx *s, ir_ref r, FILE *f)
{
	const struct ir_temp *t = &s->temps[r];
	switch (t->kind) {
	case IR_TEMP_GLOBAL:
	case IR_TEMP_ENV:
		fputs(t->name, f);
		break;
	case IR_TEMP_CONST:
		fprintf(f, "$0x%" PRIx64, t->val);
		break;
	default:
		fprintf(f, "tmp%u", r - s->nglobals - 2);
	}
}

void ir_print_op(const struct ir_ctx *s, const struct ir_op *op, FILE *f)
{
	const struct ir_opdef *def = &ir_opdefs[op->opc];
	const char *sep = " ";
	if (op->opc == IR_insn_start) {
		fprintf(f, " ---- %016" PRIx64 " len %" PRId64 "\n", (uint64_t)op->cargs[0], op->cargs[1]);
		return;
	}
	if (op->opc == IR_vop) {
		fprintf(f, " vop_i64 $%s,$0x%x,$0x%x\n",
			op->cargs[0] >= 0 && op->cargs[0] < IR_V_NB ? ir_vop_names[op->cargs[0]] : "?",
			(uint32_t)op->cargs[1], (uint32_t)((uint64_t)op->cargs[1] >> 32));
		return;
	}
	if (op->opc == IR_vfop || op->opc == IR_vfres) {
		uint64_t o = op->cargs[1];
		fprintf(f, " %s_i%d", def->name, op->type == IR_I32 ? 32 : 64);
		if (op->opc == IR_vfres) {
			fputc(' ', f);
			print_temp(s, op->args[0], f);
			fputc(',', f);
		} else {
			fputc(' ', f);
		}
		fprintf(f, "$%s", op->cargs[0] >= 0 && op->cargs[0] < IR_F_NB ? ir_fopdefs[op->cargs[0]].name : "?");
		for (int k = 0; k < (op->opc == IR_vfop ? 3 : 2); k++)
			fprintf(f, ",$0x%x", (unsigned)(o >> 16 * k) & 0xffff);
		if (o >> 48)
			fprintf(f, ",$0x%x", (unsigned)(o >> 48));
		fputc('\n', f);
		return;
	}
	if (op->opc == IR_call) {
		fprintf(f, " call %s,$0x%" PRIx64, s->helpers[op->cargs[0]].name, op->cargs[1]);
		sep = ",";
	} else {
		fprintf(f, " %s_%s", def->name, op->type == IR_I32 ? "i32" : "i64");
	}
	for (int i = 0; i < op->nout + op->nin; i++) {
		fputs(sep, f);
		sep = ",";
		print_temp(s, op->args[i], f);
	}
	if (op->opc == IR_call)
		goto out;
	for (int i = 0; i < def->nconst; i++) {
		fputs(sep, f);
		sep = ",";
		if (i == 0 && (op->opc == IR_setcond || op->opc == IR_movcond || op->opc == IR_brcond))
			fputs(ir_cond_name(op->cargs[0]), f);
		else if ((op->opc == IR_brcond && i == 1) || op->opc == IR_br || op->opc == IR_set_label)
			fprintf(f, "$L%" PRId64, op->cargs[i]);
		else
			fprintf(f, "$0x%" PRIx64, (uint64_t)op->cargs[i]);
	}
out:
	fputc('\n', f);
}

void ir_print(const struct ir_ctx *s, FILE *f)
{
	for (uint32_t i = 0; i < s->nops; i++)
		if (s->ops[i].opc != IR_nop)
			ir_print_op(s, &s->ops[i], f);
}
