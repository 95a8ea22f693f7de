/*
 * The IR op table.  Every op is one row; the enum, the names, the arity, the
 * flags, the printer and the verifier are all derived from it (see ir.h).
 *
 *   DEF(name, outputs, inputs, constant-args, flags)
 *
 * The formula of each op, its edge cases and its printed form are documented
 * in ir.h next to the tutorial.  Keep the two in step.  The order of rows is
 * free: nothing indexes ops by number except through the enum.
 */

/* Moves and constants */
DEF(mov,       1, 1, 0, 0)

/* Integer arithmetic on the instruction's type (i32 or i64) */
DEF(add,       1, 2, 0, 0)
DEF(sub,       1, 2, 0, 0)
DEF(mul,       1, 2, 0, 0)
DEF(and,       1, 2, 0, 0)
DEF(or,        1, 2, 0, 0)
DEF(xor,       1, 2, 0, 0)
DEF(andc,      1, 2, 0, 0)
DEF(neg,       1, 1, 0, 0)
DEF(not,       1, 1, 0, 0)
DEF(shl,       1, 2, 0, 0)
DEF(shr,       1, 2, 0, 0)
DEF(sar,       1, 2, 0, 0)
DEF(rotl,      1, 2, 0, 0)
DEF(rotr,      1, 2, 0, 0)
DEF(mulu2,     2, 2, 0, 0)
DEF(muls2,     2, 2, 0, 0)
DEF(divu2,     2, 3, 0, IR_OPF_SIDE_EFFECTS | IR_OPF_MAY_FAULT)
DEF(divs2,     2, 3, 0, IR_OPF_SIDE_EFFECTS | IR_OPF_MAY_FAULT)

/* Extensions; the result has the instruction's type */
DEF(ext8s,     1, 1, 0, 0)
DEF(ext8u,     1, 1, 0, 0)
DEF(ext16s,    1, 1, 0, 0)
DEF(ext16u,    1, 1, 0, 0)
DEF(ext32s,    1, 1, 0, 0)
DEF(ext32u,    1, 1, 0, 0)

/* Bit fields */
DEF(deposit,   1, 2, 2, 0)
DEF(extract,   1, 1, 2, 0)
DEF(sextract,  1, 1, 2, 0)
DEF(bswap16,   1, 1, 0, 0)
DEF(bswap32,   1, 1, 0, 0)
DEF(bswap64,   1, 1, 0, 0)
DEF(clz,       1, 2, 0, 0)
DEF(ctz,       1, 2, 0, 0)
DEF(ctpop,     1, 1, 0, 0)

/* Comparisons */
DEF(setcond,   1, 2, 1, 0)
DEF(movcond,   1, 4, 1, 0)

/* Control flow inside a TB */
DEF(set_label, 0, 0, 1, IR_OPF_BB_END | IR_OPF_SIDE_EFFECTS)
DEF(br,        0, 0, 1, IR_OPF_BB_END | IR_OPF_SIDE_EFFECTS)
DEF(brcond,    0, 2, 2, IR_OPF_BB_END | IR_OPF_SIDE_EFFECTS)

/* Host memory relative to the CPU state (env) */
DEF(ld_env,    1, 0, 2, 0)
DEF(st_env,    0, 1, 2, IR_OPF_SIDE_EFFECTS)

/* loom's own memory at a host pointer (plugin scoreboards); never faults */
DEF(ld_ptr,    1, 1, 2, 0)
DEF(st_ptr,    0, 2, 2, IR_OPF_SIDE_EFFECTS)

/* Guest memory (identity-mapped); may fault */
DEF(load,      1, 1, 1, IR_OPF_SIDE_EFFECTS | IR_OPF_MAY_FAULT)
DEF(store,     0, 2, 1, IR_OPF_SIDE_EFFECTS | IR_OPF_MAY_FAULT)
DEF(cmpxchg,   1, 3, 1, IR_OPF_SIDE_EFFECTS | IR_OPF_MAY_FAULT)
DEF(xchg,      1, 2, 1, IR_OPF_SIDE_EFFECTS | IR_OPF_MAY_FAULT)
DEF(xadd,      1, 2, 1, IR_OPF_SIDE_EFFECTS | IR_OPF_MAY_FAULT)
DEF(mb,        0, 0, 0, IR_OPF_SIDE_EFFECTS)

/* 128-bit lane-wise vector op on env slots (ir-vops.h) */
DEF(vop,       0, 0, 2, IR_OPF_SIDE_EFFECTS)
/* floating point on env slots (ir-fops.h); may raise #XM */
DEF(vfop,      0, 0, 2, IR_OPF_SIDE_EFFECTS | IR_OPF_MAY_FAULT)
DEF(vfres,     1, 0, 2, IR_OPF_SIDE_EFFECTS | IR_OPF_MAY_FAULT)

/* Helper calls: arity is on the op (see struct ir_op) */
DEF(call,      0, 0, 2, IR_OPF_CALL | IR_OPF_SIDE_EFFECTS)

/* Guest instruction boundaries and TB exits */
DEF(insn_start, 0, 0, 2, IR_OPF_SIDE_EFFECTS)
DEF(goto_tb,   0, 0, 1, IR_OPF_SIDE_EFFECTS)
DEF(discard,   1, 0, 0, IR_OPF_SIDE_EFFECTS)
DEF(exit_tb,   0, 0, 1, IR_OPF_BB_END | IR_OPF_TB_END | IR_OPF_SIDE_EFFECTS)
DEF(goto_ptr,  0, 1, 0, IR_OPF_BB_END | IR_OPF_TB_END | IR_OPF_SIDE_EFFECTS)
DEF(goto_lookup, 0, 1, 0, IR_OPF_BB_END | IR_OPF_TB_END | IR_OPF_SIDE_EFFECTS)

/* Removed by a pass; skipped by everything */
DEF(nop,       0, 0, 0, 0)
