/*
 * The IR verifier: checks that a TB's op list is well formed, after lifting
 * and after every pass in debug builds.  It owns the rules, not the repairs:
 * it never changes the IR, and it reports only the first problem it finds, as
 * one line naming the pass that broke it, the op's index and its printed form.
 *
 * Rules (see ir.h for the ops): the opcode and type are valid; arity matches
 * the op table (a call takes its arity from its helper row); every argument
 * is a real temp; outputs are never constants or env; a global is written
 * only by an i64 op; a local is read only after an earlier op (in list order)
 * wrote it; each label used by a branch is set exactly once; conditions,
 * memops, bit-field positions and constant shift counts are in range; and the
 * last op that is not a nop leaves the TB or branches (unconditionally)
 * back into it.  nops are invisible.
 *
 * The invariant a reader must not break: the verifier must not crash on any
 * op list, however broken, so it validates an op before printing it.
 */
#include <stdlib.h>
#include <string.h>
#include "ir/ir.h"

struct verify {
	const struct ir_ctx *s;
	const char *pass;
	FILE *err;
	bool *written;		/* per temp: some earlier op wrote it */
	uint8_t *label_set;	/* per label: how many set_labels */
	uint32_t *label_use;	/* per label: 1 + index of first branch to it */
};

static unsigned type_width(unsigned t)
{
	return t == IR_I32 ? 32 : 64;
}

static bool ref_ok(const struct ir_ctx *s, ir_ref r)
{
	return r >= 1 && r < s->ntemps;
}

static bool helper_ok(const struct ir_ctx *s, const struct ir_op *op)
{
	return s->helpers && op->cargs[0] >= 0 && (uint64_t)op->cargs[0] < s->nhelpers;
}

/* Whether ir_print_op can print op without reading out of bounds. */
static bool printable(const struct ir_ctx *s, const struct ir_op *op)
{
	if (op->opc >= IR_NB_OPS || op->nout + op->nin > IR_MAX_ARGS)
		return false;
	if (op->opc == IR_call && !helper_ok(s, op))
		return false;
	for (int i = 0; i < op->nout + op->nin; i++)
		if (!ref_ok(s, op->args[i]))
			return false;
	return true;
}

static void print_raw(const struct ir_op *op, FILE *f)
{
	fprintf(f, "opc %u type %u nout %u nin %u args", op->opc, op->type, op->nout, op->nin);
	for (int i = 0; i < op->nout + op->nin && i < IR_MAX_ARGS; i++)
		fprintf(f, "%s%u", i ? "," : " ", op->args[i]);
	fprintf(f, " cargs %lld,%lld", (long long)op->cargs[0], (long long)op->cargs[1]);
}

/* Print the failure line and return -1.  index == nops means the TB's end. */
static int fail(struct verify *v, uint32_t index, const char *problem)
{
	const struct ir_op *op = index < v->s->nops ? &v->s->ops[index] : NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	if (m) {
		if (!op)
			fputs("end of TB", m);
		else if (printable(v->s, op))
			ir_print_op(v->s, op, m);
		else
			print_raw(op, m);
		fclose(m);
	}
	const char *t = text ? text : "?";
	while (*t == ' ')
		t++;
	size_t n = strlen(t);
	while (n && t[n - 1] == '\n')
		n--;
	fprintf(v->err, "loom: IR verify failed after %s: op %u (%.*s): %s\n",
		v->pass, index, (int)n, t, problem);
	free(text);
	return -1;
}

static bool memop_ok(int64_t mo, unsigned type)
{
	if ((uint64_t)mo & ~(uint64_t)(IR_MO_SIZE | IR_MO_SIGN))
		return false;
	return (8u << (mo & IR_MO_SIZE)) <= type_width(type);
}

static bool cond_ok(int64_t c)
{
	return c >= IR_EQ && c < IR_COND_NB;
}

static bool field_ok(const struct ir_op *op)
{
	int64_t pos = op->cargs[0], len = op->cargs[1];
	return pos >= 0 && len >= 1 && pos + len <= type_width(op->type);
}

static bool label_ok(const struct ir_ctx *s, int64_t l)
{
	return l >= 0 && (uint64_t)l < s->nlabels;
}

/* Arity, argument refs and the kinds of outputs. */
static const char *check_args(struct verify *v, const struct ir_op *op)
{
	const struct ir_ctx *s = v->s;
	const struct ir_opdef *def = &ir_opdefs[op->opc];

	if (op->opc == IR_call) {
		if (!helper_ok(s, op))
			return "call of an unknown helper";
		const struct ir_helper *h = &s->helpers[op->cargs[0]];
		if (op->nin != h->nargs || op->nout != (h->has_ret ? 1 : 0))
			return "call arity does not match its helper";
		if (op->nin > IR_MAX_CALL_ARGS)
			return "too many call arguments";
	} else if (op->nout != def->nout || op->nin != def->nin) {
		return "arity does not match the op table";
	}
	for (int i = 0; i < op->nout + op->nin; i++)
		if (!ref_ok(s, op->args[i]))
			return "argument is not a temp";
	for (int i = 0; i < op->nout; i++) {
		const struct ir_temp *t = &s->temps[op->args[i]];
		if (t->kind == IR_TEMP_CONST)
			return "output is a constant";
		if (t->kind == IR_TEMP_ENV)
			return "output is env";
		if (t->kind == IR_TEMP_GLOBAL && op->type != IR_I64)
			return "global written by an i32 op";
	}
	for (int i = op->nout; i < op->nout + op->nin; i++) {
		ir_ref r = op->args[i];
		if (s->temps[r].kind == IR_TEMP_LOCAL && !v->written[r])
			return "local read before it is written";
	}
	return NULL;
}

/* The constant args of each op family. */
static const char *check_consts(struct verify *v, uint32_t index, const struct ir_op *op)
{
	const struct ir_ctx *s = v->s;
	int64_t l;

	switch (op->opc) {
	case IR_shl:
	case IR_shr:
	case IR_sar: {
		ir_ref b = op->args[2];
		if (ir_is_const(s, b)) {
			uint64_t count = s->temps[b].val;
			if (op->type == IR_I32)
				count = (uint32_t)count;
			if (count >= type_width(op->type))
				return "constant shift count >= width";
		}
		break;
	}
	case IR_deposit:
	case IR_extract:
	case IR_sextract:
		if (!field_ok(op))
			return "bit field out of range";
		break;
	case IR_setcond:
	case IR_movcond:
		if (!cond_ok(op->cargs[0]))
			return "bad condition";
		break;
	case IR_brcond:
		if (!cond_ok(op->cargs[0]))
			return "bad condition";
		l = op->cargs[1];
		goto use_label;
	case IR_br:
		l = op->cargs[0];
	use_label:
		if (!label_ok(s, l))
			return "label out of range";
		if (!v->label_use[l])
			v->label_use[l] = index + 1;
		break;
	case IR_set_label:
		l = op->cargs[0];
		if (!label_ok(s, l))
			return "label out of range";
		if (v->label_set[l]++)
			return "label set twice";
		break;
	case IR_ld_env:
	case IR_st_env:
	case IR_ld_ptr:
	case IR_st_ptr:
		if (!memop_ok(op->cargs[1], op->type))
			return "bad memop";
		break;
	case IR_vop: {
		uint64_t offs = op->cargs[1];
		if (op->cargs[0] < 0 || op->cargs[0] >= IR_V_NB)
			return "unknown vector op";
		if ((offs & 15) || ((offs >> 32) & 15))
			return "vector operand not 16-byte aligned";
		break;
	}
	case IR_vfop:
	case IR_vfres: {
		uint64_t offs = op->cargs[1];
		if (op->cargs[0] < 0 || op->cargs[0] >= IR_F_NB)
			return "unknown FP op";
		int form = ir_fopdefs[op->cargs[0]].form;
		bool res = form == IR_FF_R || op->cargs[0] == IR_F_stmxcsr;
		if (res != (op->opc == IR_vfres))
			return "FP op of the wrong form for vfop/vfres";
		uint64_t slots = form != IR_FF_C ? 0x000f000f000full
				 : op->opc == IR_vfres ? 0xf : 0;	/* b: the MXCSR field */
		if (offs & slots)
			return "FP operand not 16-byte aligned";
		break;
	}
	case IR_load:
	case IR_store:
	case IR_cmpxchg:
	case IR_xchg:
	case IR_xadd:
		if (!memop_ok(op->cargs[0], op->type))
			return "bad memop";
		break;
	default:
		break;
	}
	return NULL;
}

static int check_op(struct verify *v, uint32_t index)
{
	const struct ir_op *op = &v->s->ops[index];
	const char *problem = NULL;

	if (op->opc >= IR_NB_OPS)
		problem = "unknown opcode";
	else if (op->type != IR_I32 && op->type != IR_I64)
		problem = "bad type";
	if (!problem)
		problem = check_args(v, op);
	if (!problem)
		problem = check_consts(v, index, op);
	if (problem)
		return fail(v, index, problem);
	for (int i = 0; i < op->nout; i++)
		v->written[op->args[i]] = true;
	return 0;
}

static int check_tb(struct verify *v)
{
	const struct ir_ctx *s = v->s;
	uint32_t last = s->nops;

	for (uint32_t i = 0; i < s->nops; i++) {
		if (s->ops[i].opc == IR_nop)
			continue;
		if (check_op(v, i))
			return -1;
		last = i;
	}
	for (uint32_t l = 0; l < s->nlabels; l++)
		if (v->label_use[l] && !v->label_set[l])
			return fail(v, v->label_use[l] - 1, "branch to a label that is never set");
	if (last == s->nops)
		return fail(v, last, "empty TB");
	/* (br: an out-of-line path placed after the TB's exit, branching
	 * back into it; it cannot fall off the end either) */
	if (s->ops[last].opc != IR_exit_tb && s->ops[last].opc != IR_goto_ptr &&
	    s->ops[last].opc != IR_br)
		return fail(v, last, "TB does not end with exit_tb, goto_ptr or br");
	return 0;
}

int ir_verify(const struct ir_ctx *s, const char *after_pass, FILE *err)
{
	struct verify v = {
		.s = s,
		.pass = after_pass,
		.err = err,
		.written = calloc(s->ntemps ? s->ntemps : 1, sizeof(bool)),
		.label_set = calloc(s->nlabels + 1, sizeof(uint8_t)),
		.label_use = calloc(s->nlabels + 1, sizeof(uint32_t)),
	};
	int ret;

	if (!v.written || !v.label_set || !v.label_use) {
		fprintf(err, "loom: IR verify failed after %s: out of memory\n", after_pass);
		ret = -1;
	} else {
		ret = check_tb(&v);
	}
	free(v.written);
	free(v.label_set);
	free(v.label_use);
	return ret;
}
