#!/usr/bin/env python3
"""Generates the batches of the differential instruction tester.

    tests/isa/gen.py OUTDIR [--cases N] [--seed S] [--batch int,alias,...]
                     [--forms A:B] [--counts-only]

Batches: int (the general-purpose integer forms, one instruction each),
alias (every register pairing of the two-operand forms, high-byte and REX
byte registers, odd prefixes), pair (a flag producer followed by a flag
reader in the same block, where lazy flags are fused), mem (addressing
modes, stack-relative operands, loop/jrcxz/xlat, encodings that trap, the
state at a fault after a flag producer), string (movs/stos/lods/cmps/scas
with rep and DF, and faults part-way into a guard page), sse (SSE/SSE2),
sse4 (SSE3..SSE4.2, POPCNT, CRC32), x87 (through memory and fnstsw),
avx (AVX floating point, moves, shuffles, masked moves), avx2 (AVX2 integer,
permutes, variable shifts, gathers), fma (FMA3, F16C); the last three
compare bits 255:128 of every ymm register too (isa_avx) and need a host
with AVX2, FMA and F16C.

For each batch writes OUTDIR/<batch>.S -- one snippet per instruction form
(the instruction(s), then `jmp isa_done`) and the snippet table -- and
OUTDIR/<batch>.cases, the case records (layout in isa.h) that the .S
includes.  --forms A:B keeps forms A..B-1 of each batch (run.sh's chunks:
a batch at 1,000 cases a form runs to gigabytes); a chunk's cases depend on
the seed, the batch and A only.  Instructions are written in AT&T syntax and encoded by gas; the
comparator decodes the bytes back with Zydis.  A memory operand is
isa_mem+16(%rip); the harness sets rsp to isa_mem+32, so pushes and pops
land in the compared window, and turns the MARK values below into addresses
in the window or just before a guard page.  Flag readers get every one of
the 64 combinations of CF PF AF ZF SF OF when N >= 16.  Invariant: struct
layouts match isa.h.
"""
import os
import random
import struct
import sys

MAGIC = 0x31617369534f4f4c
MEM = 'isa_mem+16(%rip)'
GPR = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
       'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15']
FLAG_BITS = [0, 2, 4, 6, 7, 11]            # CF PF AF ZF SF OF
SUF = {8: 'b', 16: 'w', 32: 'l', 64: 'q'}
MASK = {8: 0xff, 16: 0xffff, 32: 0xffffffff, 64: (1 << 64) - 1}


def host_cpu_flags():
    """The host CPU's feature flags (/proc/cpuinfo), for the few forms whose
    native outcome depends on them."""
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('flags'):
                return set(line.split(':', 1)[1].split())
    return set()


def rname(r64, w):
    """AT&T name of the w-bit part of 64-bit register r64 ('ah' passes)."""
    if r64 in ('ah', 'bh', 'ch', 'dh'):
        return '%' + r64
    if r64.startswith('r') and r64[1:].isdigit():
        return '%' + r64 + {8: 'b', 16: 'w', 32: 'd', 64: ''}[w]
    base = r64[1:]                        # ax, cx, si, ...
    if w == 64:
        return '%r' + base
    if w == 32:
        return '%e' + base
    if w == 16:
        return '%' + base
    return '%' + (base[0] + 'l' if base[1] == 'x' else base + 'l')


class Form:
    def __init__(self, text, regs=(), mem=0, fl_reader=False, fix=None,
                 xmm=(), fp=None, mxcsr_vary=False, ymm=()):
        self.text = text          # AT&T assembly of the instruction
        self.regs = regs          # (reg64, width) operands to fill with edge values
        self.mem = mem            # width of the memory operand (0 = none)
        self.fl_reader = fl_reader
        self.fix = fix            # fix(rng, state) adjusts inputs (div, cmpxchg, ...)
        self.xmm = xmm            # xmm register numbers used
        self.fp = fp              # element kind of xmm/mem data: 'i', 'ps', 'pd', 'ss', 'sd'
        self.mxcsr_vary = mxcsr_vary
        self.ymm = ymm            # registers whose bits 255:128 get data too (AVX batches)


def edges(w):
    m = MASK[w]
    s = 1 << (w - 1)
    return [0, 1, 2, m, m - 1, s - 1, s, s + 1, s - 2, 0x5555555555555555 & m,
            0xaaaaaaaaaaaaaaaa & m, 1 << (w // 2), (1 << (w // 2)) - 1]


def value(rng, w):
    """A w-bit edge or random value; the caller decides the upper bits."""
    r = rng.random()
    if r < 0.45:
        return rng.choice(edges(w))
    if r < 0.6:
        return rng.getrandbits(rng.randint(1, w))
    return rng.getrandbits(w)


def put_reg(rng, st, r64, w, v):
    if r64 in ('ah', 'bh', 'ch', 'dh'):
        i = GPR.index('r' + r64[0] + 'x')
        st['gpr'][i] = (st['gpr'][i] & ~0xff00) | ((v & 0xff) << 8)
        return
    i = GPR.index(r64)
    upper = 0 if rng.random() < 0.3 else st['gpr'][i]
    st['gpr'][i] = (upper & ~MASK[w] | (v & MASK[w])) & MASK[64]


def get_reg(st, r64, w):
    return st['gpr'][GPR.index(r64)] & MASK[w]


def put_mem(st, off, w, v):
    st['mem'][off:off + w // 8] = (v & MASK[w]).to_bytes(w // 8, 'little')


def get_mem(st, off, w):
    return int.from_bytes(st['mem'][off:off + w // 8], 'little')


# ---- floating-point values -------------------------------------------------

def f32_edges():
    return [0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000,
            0x7fc00000, 0xffc00000, 0x7fa00000, 0x00000001, 0x807fffff, 0x00800000,
            0x7f7fffff, 0x4f000000, 0xcf000000, 0x3f000000, 0x40490fdb, 0x4b000000,
            0x3fc00000, 0xbfc00000, 0x5f000000, 0x4effffff]


def f64_edges():
    return [0, 1 << 63, 0x3ff0000000000000, 0xbff0000000000000, 0x7ff0000000000000,
            0xfff0000000000000, 0x7ff8000000000000, 0xfff8000000000000,
            0x7ff4000000000000, 1, 0x800fffffffffffff, 0x0010000000000000,
            0x7fefffffffffffff, 0x41e0000000000000, 0xc1e0000000000000,
            0x43e0000000000000, 0xc3e0000000000000, 0x3fe0000000000000,
            0x400921fb54442d18, 0x3ff8000000000000, 0xbff8000000000000,
            0x4330000000000000, 0x41dfffffffc00000]


def fp_bits(rng, kind):
    if kind in ('ps', 'ss'):
        r = rng.random()
        if r < 0.5:
            return rng.choice(f32_edges()), 4
        if r < 0.8:   # ordinary numbers in a modest range
            e = rng.randint(110, 145)
            return (rng.getrandbits(1) << 31) | (e << 23) | rng.getrandbits(23), 4
        return rng.getrandbits(32), 4
    r = rng.random()
    if r < 0.5:
        return rng.choice(f64_edges()), 8
    if r < 0.8:
        e = rng.randint(1000, 1060)
        return (rng.getrandbits(1) << 63) | (e << 52) | rng.getrandbits(52), 8
    return rng.getrandbits(64), 8


def vec_value(rng, kind):
    """16 bytes of xmm/mem data suited to the element kind."""
    if kind in (None, 'i'):
        r = rng.random()
        if r < 0.3:
            # integer lanes from edges of a random lane width
            w = rng.choice([8, 16, 32, 64])
            out = b''
            for _ in range(128 // w):
                out += (rng.choice(edges(w)) if rng.random() < 0.6
                        else rng.getrandbits(w)).to_bytes(w // 8, 'little')
            return out
        return rng.getrandbits(128).to_bytes(16, 'little')
    out = b''
    while len(out) < 16:
        v, n = fp_bits(rng, kind)
        out += v.to_bytes(n, 'little')
    return out


MARK = 0x5a5a5a5a5a5a5a00    # a register value the harness turns into isa_mem + low byte
MARKJ = 0x5b5b5b5b5b5b5b00   # the same address with junk in bits 32..63 (for addr32 forms)


def make_case(rng, f, i, n):
    st = {'gpr': [rng.getrandbits(64) for _ in range(16)],
          'mem': bytearray(rng.getrandbits(8) for _ in range(64)),
          'xmm': [rng.getrandbits(128).to_bytes(16, 'little') for _ in range(16)],
          'mxcsr': 0x1f80, 'ymmh': [bytes(16)] * 16}
    if f.fl_reader:
        combo = i % 64 if n >= 64 else rng.getrandbits(6)
    else:
        combo = rng.getrandbits(6)
    st['rflags'] = 2 | sum(1 << b for k, b in enumerate(FLAG_BITS) if combo >> k & 1)
    for r64, w in f.regs:
        put_reg(rng, st, r64, w, value(rng, w))
    if f.mem:
        if f.mem == 256:
            st['mem'][16:48] = vec_value(rng, f.fp) + vec_value(rng, f.fp)
        elif f.mem == 128:
            st['mem'][16:32] = vec_value(rng, f.fp)
        else:
            put_mem(st, 16, f.mem, value(rng, f.mem))
    for x in f.xmm:
        st['xmm'][x] = vec_value(rng, f.fp)
    for x in f.ymm:
        st['ymmh'][x] = vec_value(rng, f.fp)
    if f.mxcsr_vary:
        # rounding mode, FTZ/DAZ now and then; exceptions stay masked
        st['mxcsr'] = 0x1f80 | (rng.getrandbits(2) << 13)
        if rng.random() < 0.15:
            st['mxcsr'] |= 0x8040
    if f.fix:
        f.fix(rng, st)
    return st


def pack(snip, st):
    b = struct.pack('<Q', snip)
    b += struct.pack('<16Q', *st['gpr'])
    b += struct.pack('<QQ', st['rflags'], st['mxcsr'])
    b += b''.join(st['xmm'])
    b += bytes(st['mem'])
    b += struct.pack('<QQ', 0, 0)
    b += b''.join(st['ymmh'])
    assert len(b) == 744
    return b


# ---- the integer forms ------------------------------------------------------

def int_forms():
    F = []
    A, B, C, D = 'rax', 'rbx', 'rcx', 'rdx'
    WS = (8, 16, 32, 64)

    def alu_imms(w):
        if w == 8:
            return [0, 1, 0x7f, 0x80, 0xff, 0x5a]
        return [0, 1, 0x7f, -128, -1, 0x7fffffff if w > 16 else 0x7fff,
                -0x80000000 if w > 16 else -0x8000, 0x12345 if w > 16 else 0x1234]

    for op in ('add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'test'):
        rd = op in ('adc', 'sbb')
        for w in WS:
            s = SUF[w]
            F.append(Form(f'{op}{s} {rname(B, w)}, {rname(A, w)}', [(A, w), (B, w)], fl_reader=rd))
            F.append(Form(f'{op}{s} {rname(A, w)}, {rname(A, w)}', [(A, w)], fl_reader=rd))
            F.append(Form(f'{op}{s} {rname("r14", w)}, {rname("r9", w)}', [('r9', w), ('r14', w)], fl_reader=rd))
            F.append(Form(f'{op}{s} {rname(B, w)}, {MEM}', [(B, w)], mem=w, fl_reader=rd))
            if op != 'test':
                F.append(Form(f'{op}{s} {MEM}, {rname(A, w)}', [(A, w)], mem=w, fl_reader=rd))
            for imm in alu_imms(w):
                F.append(Form(f'{op}{s} ${imm}, {rname(A, w)}', [(A, w)], fl_reader=rd))
                F.append(Form(f'{op}{s} ${imm}, {rname(B, w)}', [(B, w)], fl_reader=rd))
            F.append(Form(f'{op}{s} ${alu_imms(w)[3]}, {MEM}', [], mem=w, fl_reader=rd))
        F.append(Form(f'{op}b %bh, %ah', [('ah', 8), ('bh', 8)], fl_reader=rd))
        if op not in ('cmp', 'test'):
            F.append(Form(f'lock {op}l %ebx, {MEM}', [(B, 32)], mem=32, fl_reader=rd))

    for op in ('inc', 'dec', 'neg', 'not'):
        for w in WS:
            F.append(Form(f'{op}{SUF[w]} {rname(A, w)}', [(A, w)]))
            F.append(Form(f'{op}{SUF[w]} {rname("r11", w)}', [('r11', w)]))
            F.append(Form(f'{op}{SUF[w]} {MEM}', [], mem=w))
        F.append(Form(f'{op}b %ah', [('ah', 8)]))

    counts = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 255]

    def fix_cl(rng, st):
        st['gpr'][1] = (st['gpr'][1] & ~0xff) | rng.choice(counts + [rng.getrandbits(8)])

    for op in ('rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar'):
        rd = op in ('rcl', 'rcr')
        for w in WS:
            s = SUF[w]
            F.append(Form(f'{op}{s} {rname(A, w)}', [(A, w)], fl_reader=rd))   # by 1 (D0/D1)
            F.append(Form(f'{op}{s} %cl, {rname(A, w)}', [(A, w)], fl_reader=rd, fix=fix_cl))
            F.append(Form(f'{op}{s} %cl, {MEM}', [], mem=w, fl_reader=rd, fix=fix_cl))
            F.append(Form(f'{op}{s} {MEM}', [], mem=w, fl_reader=rd))
            for imm in (0, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 255):
                if w <= 16 and imm in (32, 33, 63, 64) and op[:2] != 'rc':
                    continue
                F.append(Form(f'{op}{s} ${imm}, {rname(A, w)}', [(A, w)], fl_reader=rd))
            F.append(Form(f'{op}{s} $5, {MEM}', [], mem=w, fl_reader=rd))
            F.append(Form(f'{op}{s} %cl, {rname("r10", w)}', [('r10', w)], fl_reader=rd, fix=fix_cl))

    for op in ('shld', 'shrd'):
        for w in (16, 32, 64):
            s = SUF[w]
            F.append(Form(f'{op}{s} %cl, {rname(B, w)}, {rname(A, w)}', [(A, w), (B, w)], fix=fix_cl))
            F.append(Form(f'{op}{s} %cl, {rname(B, w)}, {MEM}', [(B, w)], mem=w, fix=fix_cl))
            for imm in (0, 1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 63):
                F.append(Form(f'{op}{s} ${imm}, {rname(B, w)}, {rname(A, w)}', [(A, w), (B, w)]))
            F.append(Form(f'{op}{s} $3, {rname(B, w)}, {MEM}', [(B, w)], mem=w))

    def fix_div(signed, w, src):
        def fix(rng, st):
            if rng.random() < 0.25:
                return                        # as random: mostly #DE
            if src == 'mem':
                d = get_mem(st, 16, w)
            else:
                d = get_reg(st, src, w)
            if d == 0:
                d = rng.choice([1, MASK[w], 3, 0x10])
                if src == 'mem':
                    put_mem(st, 16, w, d)
                else:
                    put_reg(rng, st, src, w, d)
            lo = get_reg(st, A, w) if w > 8 else st['gpr'][0] & 0xff
            if signed:
                hi = MASK[w] if lo >> (w - 1) else 0
            else:
                hi = rng.randrange(d) if rng.random() < 0.5 else 0
            if w == 8:
                st['gpr'][0] = (st['gpr'][0] & ~0xff00) | (hi << 8)
            else:
                put_reg(rng, st, D, w, hi)
        return fix

    for op in ('mul', 'imul', 'div', 'idiv'):
        for w in WS:
            s = SUF[w]
            regs = [(A, w), (B, w)] + ([(D, w)] if w > 8 else [])
            fx = fix_div(op == 'idiv', w, B) if 'div' in op else None
            F.append(Form(f'{op}{s} {rname(B, w)}', regs, fix=fx))
            fxm = fix_div(op == 'idiv', w, 'mem') if 'div' in op else None
            F.append(Form(f'{op}{s} {MEM}', regs[:1] + regs[2:], mem=w, fix=fxm))
            F.append(Form(f'{op}{s} {rname("r13", w)}', [(A, w), ('r13', w)] + regs[2:],
                          fix=fix_div(op == 'idiv', w, 'r13') if 'div' in op else None))
    for w in (16, 32, 64):
        s = SUF[w]
        F.append(Form(f'imul{s} {rname(B, w)}, {rname(A, w)}', [(A, w), (B, w)]))
        F.append(Form(f'imul{s} {MEM}, {rname(A, w)}', [(A, w)], mem=w))
        for imm in (0, 1, -1, 3, 127, -128, 0x1234, -0x7fff):
            F.append(Form(f'imul{s} ${imm}, {rname(B, w)}, {rname(A, w)}', [(A, w), (B, w)]))
        F.append(Form(f'imul{s} $-3, {MEM}, {rname(A, w)}', [(A, w)], mem=w))

    def fix_btmem(rng, st):
        st['gpr'][3] = (st['gpr'][3] & ~0xffff) | (rng.randrange(-128, 256) & 0xffff)
        if rng.random() < 0.5:
            st['gpr'][3] = rng.randrange(-128, 256) & MASK[64]

    for op in ('bt', 'bts', 'btr', 'btc'):
        for w in (16, 32, 64):
            s = SUF[w]
            F.append(Form(f'{op}{s} {rname(B, w)}, {rname(A, w)}', [(A, w), (B, w)]))
            for imm in (0, 1, 7, 15, 16, 31, 32, 63, 64, 255):
                F.append(Form(f'{op}{s} ${imm}, {rname(A, w)}', [(A, w)]))
            F.append(Form(f'{op}{s} $13, {MEM}', [], mem=w))
            F.append(Form(f'{op}{s} ${w - 1}, {MEM}', [], mem=w))

            def fx(rng, st, w=w):
                v = rng.randrange(-128, 256)
                st['gpr'][3] = (st['gpr'][3] & ~MASK[w]) | (v & MASK[w])
            F.append(Form(f'{op}{s} {rname(B, w)}, {MEM}', [], mem=w, fix=fx))
        if op != 'bt':
            F.append(Form(f'lock {op}l $5, {MEM}', [], mem=32))

    def fix_sometimes_zero(r64, w):
        def fix(rng, st):
            if rng.random() < 0.2:
                put_reg(rng, st, r64, w, 0)
        return fix
    for op in ('bsf', 'bsr'):
        for w in (16, 32, 64):
            s = SUF[w]
            F.append(Form(f'{op}{s} {rname(B, w)}, {rname(A, w)}', [(A, w), (B, w)], fix=fix_sometimes_zero(B, w)))
            F.append(Form(f'{op}{s} {MEM}, {rname(A, w)}', [(A, w)], mem=w))

    for sw, dw in ((8, 16), (8, 32), (8, 64), (16, 32), (16, 64)):
        for op in ('movs', 'movz'):
            F.append(Form(f'{op}{SUF[sw]}{SUF[dw]} {rname(B, sw)}, {rname(A, dw)}', [(A, dw), (B, sw)]))
            F.append(Form(f'{op}{SUF[sw]}{SUF[dw]} {MEM}, {rname(A, dw)}', [(A, dw)], mem=sw))
        if sw == 8 and dw == 64:
            continue
        F.append(Form(f'movs{SUF[sw]}{SUF[dw]} %bh, {rname(A, dw)}' if sw == 8 else
                      f'movs{SUF[sw]}{SUF[dw]} {rname("r12", sw)}, {rname(A, dw)}',
                      [(B, 16), ('r12', 64), (A, 64)]))
    F.append(Form('movslq %ebx, %rax', [(A, 64), (B, 32)]))
    F.append(Form(f'movslq {MEM}, %rax', [(A, 64)], mem=32))
    F.append(Form('movsxd %ebx, %eax', [(A, 64), (B, 32)]))
    for t in ('cbtw', 'cwtl', 'cltq', 'cwtd', 'cltd', 'cqto'):
        F.append(Form(t, [(A, 64), (D, 64)]))
    F.append(Form(f'movq $0x123456789abcdef0, %r8', []))
    F.append(Form(f'movl $-1, %eax', [(A, 64)]))
    F.append(Form(f'movw $-1, %ax', [(A, 64)]))
    F.append(Form(f'movb $0x80, %ah', [(A, 64)]))
    F.append(Form(f'movq $-5, {MEM}', [], mem=64))
    F.append(Form(f'movw %bx, {MEM}', [(B, 16)], mem=64))

    def fix_cmpxchg(w, dst):
        def fix(rng, st):
            if rng.random() < 0.5:
                v = get_mem(st, 16, w) if dst == 'mem' else get_reg(st, dst, w)
                st['gpr'][0] = (st['gpr'][0] & ~MASK[w]) | v
        return fix
    for w in WS:
        s = SUF[w]
        F.append(Form(f'xchg{s} {rname(B, w)}, {rname(A, w)}', [(A, w), (B, w)]))
        F.append(Form(f'xchg{s} {rname(B, w)}, {MEM}', [(B, w)], mem=w))
        F.append(Form(f'xadd{s} {rname(B, w)}, {rname(A, w)}', [(A, w), (B, w)]))
        F.append(Form(f'xadd{s} {rname(B, w)}, {MEM}', [(B, w)], mem=w))
        F.append(Form(f'lock xadd{s} {rname(B, w)}, {MEM}', [(B, w)], mem=w))
        F.append(Form(f'cmpxchg{s} {rname(B, w)}, {rname("rcx", w)}', [(A, w), (B, w), ('rcx', w)], fix=fix_cmpxchg(w, 'rcx')))
        F.append(Form(f'cmpxchg{s} {rname(B, w)}, {MEM}', [(A, w), (B, w)], mem=w, fix=fix_cmpxchg(w, 'mem')))
        F.append(Form(f'lock cmpxchg{s} {rname(B, w)}, {MEM}', [(A, w), (B, w)], mem=w, fix=fix_cmpxchg(w, 'mem')))
    F.append(Form('xchgq %rax, %rax', [(A, 64)]))
    F.append(Form('xchgl %eax, %eax', [(A, 64)]))   # 0x90? no: gas emits 87 c0
    F.append(Form('.byte 0x90', [(A, 64)]))
    F.append(Form('xchgl %ebx, %eax', [(A, 64), (B, 64)]))

    def fix_cx8(n):
        def fix(rng, st):
            if rng.random() < 0.5:
                v = get_mem(st, 16, 64 if n == 8 else 64)
                v2 = get_mem(st, 24, 64)
                if n == 8:
                    st['gpr'][0] = v & 0xffffffff | (st['gpr'][0] & ~0xffffffff)
                    st['gpr'][2] = v >> 32 | (st['gpr'][2] & ~0xffffffff)
                else:
                    st['gpr'][0], st['gpr'][2] = v, v2
        return fix
    F.append(Form(f'cmpxchg8b {MEM}', [(A, 64), (D, 64)], mem=64, fix=fix_cx8(8)))
    F.append(Form(f'lock cmpxchg8b {MEM}', [(A, 64), (D, 64)], mem=64, fix=fix_cx8(8)))
    F.append(Form(f'cmpxchg16b {MEM}', [(A, 64), (D, 64)], mem=64, fix=fix_cx8(16)))

    ccs = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g']
    for cc in ccs:
        F.append(Form(f'set{cc} %al', [(A, 64)], fl_reader=True))
        F.append(Form(f'set{cc} %r10b', [('r10', 64)], fl_reader=True))
        F.append(Form(f'set{cc} %bh', [(B, 64)], fl_reader=True))
        F.append(Form(f'set{cc} {MEM}', [], mem=8, fl_reader=True))
        for w in (16, 32, 64):
            F.append(Form(f'cmov{cc}{SUF[w]} {rname(B, w)}, {rname(A, w)}', [(A, 64), (B, w)], fl_reader=True))
        F.append(Form(f'cmov{cc}l {MEM}, %eax', [(A, 64)], mem=32, fl_reader=True))
    for w in (32, 64):
        F.append(Form(f'bswap {rname(A, w)}', [(A, w)]))
        F.append(Form(f'bswap {rname("r12", w)}', [('r12', w)]))
    for t in ('lea 8(%rbx,%rcx,4), %rax', 'lea -1(%rbx), %eax', 'lea (%rbx,%rbx,8), %rax',
              'lea 0x12345678(,%rcx,2), %rax', 'lea (%r13,%r12,1), %r9', 'lea 3(%ebx,%ecx,8), %eax',
              'lea 7(%rbx), %ax', 'lea -0x80(%rsp), %rax', 'lea 0x10(%rip), %rax', 'lea (%rbp), %rsi'):
        F.append(Form(t, [(B, 64), (C, 64)]))
    for t in ('pushq %rbx', 'pushq %r12', 'pushw %bx', 'pushq $-3', 'pushq $0x12345678',
              f'pushq {MEM}', 'popq %rbx', 'popq %r12', 'popw %bx', f'popq {MEM}', 'popq %rsp',
              'pushq %rsp', 'pushfq', 'lahf', 'sahf', 'cmc', 'clc', 'stc', 'sete %al'):
        F.append(Form(t, [(B, 64), (A, 64)], mem=64, fl_reader=t in ('pushfq', 'lahf', 'cmc')))
    # Forms the enumeration of lifted forms (tests/unit/test_forms.c) found
    # untested: lock on every width and operand kind, full-width immediates
    # to memory, cmovcc from memory at 16 and 64 bits, 16-bit sign and zero
    # extensions, movsxd without REX.W, push imm16.
    for op in ('add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor'):
        rd = op in ('adc', 'sbb')
        for w in WS:
            s = SUF[w]
            F.append(Form(f'lock {op}{s} {rname(B, w)}, {MEM}', [(B, w)], mem=w, fl_reader=rd))
            F.append(Form(f'lock {op}{s} $-3, {MEM}', [], mem=w, fl_reader=rd))
            if w > 8:
                big = 0x12345678 if w > 16 else 0x1234
                F.append(Form(f'lock {op}{s} ${big}, {MEM}', [], mem=w, fl_reader=rd))
                F.append(Form(f'{op}{s} ${big}, {MEM}', [], mem=w, fl_reader=rd))
        F.append(Form(f'cmpw $0x1234, {MEM}', [], mem=16))
        F.append(Form(f'cmpq $0x12345678, {MEM}', [], mem=64))
    for op in ('inc', 'dec', 'neg', 'not'):
        for w in WS:
            F.append(Form(f'lock {op}{SUF[w]} {MEM}', [], mem=w))
    for op in ('bts', 'btr', 'btc'):
        for w in (16, 32, 64):
            F.append(Form(f'lock {op}{SUF[w]} $13, {MEM}', [], mem=w))
            def fxb(rng, st, w=w):     # a bit offset within the window
                st['gpr'][3] = (st['gpr'][3] & ~MASK[w]) | (rng.randrange(-128, 256) & MASK[w])
            F.append(Form(f'lock {op}{SUF[w]} {rname(B, w)}, {MEM}', [], mem=w, fix=fxb))
    for w in WS:
        F.append(Form(f'lock xchg{SUF[w]} {rname(B, w)}, {MEM}', [(B, w)], mem=w))
    for cc in ccs:
        F.append(Form(f'cmov{cc}w {MEM}, %ax', [(A, 64)], mem=16, fl_reader=True))
        F.append(Form(f'cmov{cc}q {MEM}, %rax', [(A, 64)], mem=64, fl_reader=True))
    for t in ('.byte 0x66, 0x0f, 0xbf, 0xc3 # movsx bx, ax', '.byte 0x66, 0x0f, 0xb7, 0xc3 # movzx bx, ax',
              '.byte 0x66, 0x63, 0xc3 # movsxd bx, ax', '.byte 0x63, 0xc3 # movsxd ebx, eax'):
        F.append(Form(t, [(A, 64), (B, 64)]))
    F.append(Form(f'movswl {MEM}, %eax', [(A, 64)], mem=16))
    F.append(Form(f'.byte 0x66, 0x0f, 0xbf, 0x05; .long isa_mem+16-(.+4) # movsx ax, m16', [(A, 64)], mem=16))
    F.append(Form(f'.byte 0x66, 0x0f, 0xb7, 0x05; .long isa_mem+16-(.+4) # movzx ax, m16', [(A, 64)], mem=16))
    F.append(Form(f'movslq {MEM}, %rax', [(A, 64)], mem=32))
    F.append(Form(f'.byte 0x63, 0x05; .long isa_mem+16-(.+4) # movsxd eax, m32', [(A, 64)], mem=32))
    F.append(Form(f'.byte 0x66, 0x63, 0x05; .long isa_mem+16-(.+4) # movsxd ax, m32', [(A, 64)], mem=32))
    F.append(Form('pushw $0x1234', [], mem=64))
    F.append(Form('pushw $-5', [], mem=64))
    for w in WS:
        s = SUF[w]
        F.append(Form(f'mov{s} {rname(B, w)}, {MEM}', [(B, w)], mem=w))
        F.append(Form(f'mov{s} {MEM}, {rname(A, w)}', [(A, 64)], mem=w))
        F.append(Form(f'mov{s} $-2, {MEM}', [], mem=w))
        if w > 8:
            F.append(Form(f'imul{s} $0x1234, {MEM}, {rname(A, w)}', [(A, w)], mem=w))
    F.append(Form(f'cmpl $0x12345678, {MEM}', [], mem=32))
    F.append(Form(f'lock cmpxchg16b {MEM}', [(A, 64), (D, 64)], mem=64, fix=fix_cx8(16)))
    for t in ('movq %cs, %rax', 'movq %ss, %rax', 'movl %ss, %eax'):
        F.append(Form(t, [(A, 64)]))
    # ud0/ud1 with a memory operand: #UD before any access
    for t in ('.byte 0x0f, 0xb9, 0x05; .long isa_mem+16-(.+4) # ud1 eax, m32',
              '.byte 0x0f, 0xff, 0x05; .long isa_mem+16-(.+4) # ud0 eax, m32'):
        F.append(Form(t, [(A, 64)], mem=32))
    return F


# ---- register aliasing: every pair of a set of registers ----------------------

ALIAS_REGS = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r15']
HIGH8 = ['ah', 'ch', 'dh', 'bh']


def alias_forms():
    F = []
    two = ['add', 'adc', 'sub', 'sbb', 'and', 'or', 'xor', 'cmp', 'test', 'mov', 'xchg',
           'xadd', 'cmpxchg', 'imul', 'bsf', 'bsr', 'bt', 'bts', 'btr', 'btc', 'cmovb', 'cmovle',
           'movzb', 'movsb', 'movzw', 'movsw', 'shld', 'shrd']
    for op in two:
        for w in (8, 16, 32, 64):
            if op in ('imul', 'bsf', 'bsr', 'bt', 'bts', 'btr', 'btc', 'cmovb', 'cmovle', 'shld', 'shrd') and w == 8:
                continue
            if op[:4] in ('movz', 'movs'):
                sw = 8 if op[4] == 'b' else 16
                if w <= sw:
                    continue
            regs = ALIAS_REGS if w > 8 else ALIAS_REGS + HIGH8
            for a in regs:
                for b in regs:
                    if w == 8 and (a in HIGH8 or b in HIGH8) and (a[0] == 'r' and a[1:].isdigit() or b[0] == 'r' and b[1:].isdigit()
                                                                  or a in ('rsp', 'rbp', 'rsi', 'rdi') or b in ('rsp', 'rbp', 'rsi', 'rdi')):
                        continue
                    if op[:4] in ('movz', 'movs'):
                        sw = 8 if op[4] == 'b' else 16
                        if sw == 8 and b in HIGH8 and (a[0] == 'r' and a[1:].isdigit() or w == 64):
                            continue
                        src = rname(b, sw)
                        text = f'{op[:4]}{SUF[sw]}{SUF[w]} {src}, {rname(a, w)}'
                    elif op in ('shld', 'shrd'):
                        text = f'{op}{SUF[w]} %cl, {rname(b, w)}, {rname(a, w)}'
                    elif op.startswith('cmov'):
                        text = f'{op}{SUF[w]} {rname(b, w)}, {rname(a, w)}'
                    else:
                        text = f'{op}{SUF[w]} {rname(b, w)}, {rname(a, w)}'
                    regs_in = [(r, 64) for r in (a, b) if r not in HIGH8 and r != 'rsp']
                    F.append(Form(text, regs_in, fl_reader=op in ('adc', 'sbb', 'cmovb', 'cmovle')))
    one = ['inc', 'dec', 'neg', 'not', 'mul', 'imul', 'div', 'idiv', 'shl', 'sar', 'rcr', 'rol']
    for op in one:
        for w in (8, 16, 32, 64):
            regs = ALIAS_REGS if w > 8 else ALIAS_REGS + HIGH8
            for a in regs:
                if w == 8 and a in ('rsp', 'rbp', 'rsi', 'rdi'):
                    continue
                cl = '%cl, ' if op in ('shl', 'sar', 'rcr', 'rol') else ''
                F.append(Form(f'{op}{SUF[w]} {cl}{rname(a, w)}', [(r, 64) for r in ('rax', 'rdx', 'rcx', a) if r not in HIGH8 and r != 'rsp'],
                              fl_reader=op == 'rcr'))
    for a in ALIAS_REGS:
        F.append(Form(f'bswap {rname(a, 32)}', [(a, 64)] if a != 'rsp' else []))
        F.append(Form(f'bswap {rname(a, 64)}', [(a, 64)] if a != 'rsp' else []))
        F.append(Form(f'lea 5({rname(a, 64)},{rname(a, 64) if a != "rsp" else "%rbx"},2), {rname(a, 32)}', [(a, 64), ('rbx', 64)] if a != 'rsp' else []))
    # prefix oddities: REX.W beats 66; REX without bits selects spl/bpl/sil/dil
    for t in ('.byte 0x66, 0x48, 0x01, 0xd8', '.byte 0x40, 0x00, 0xe0', '.byte 0x40, 0x88, 0xf8',
              '.byte 0x66, 0x66, 0x01, 0xd8', '.byte 0xf2, 0x01, 0xd8', '.byte 0xf3, 0x48, 0x0f, 0xaf, 0xc3',
              '.byte 0x2e, 0x01, 0xd8', '.byte 0x3e, 0x48, 0x31, 0xd8', '.byte 0x48, 0x0f, 0xc8 + 0',
              '.byte 0x66, 0x0f, 0xc8', '.byte 0x41, 0x90', '.byte 0x48, 0x90', '.byte 0x66, 0x90',
              '.byte 0x0f, 0x1f, 0x44, 0x00, 0x00', '.byte 0x66, 0x98', '.byte 0x48, 0x99',
              '.byte 0x66, 0x48, 0x98', '.byte 0x40, 0x86, 0xe0', '.byte 0x66, 0x48, 0x87, 0xd8'):
        F.append(Form(t, [('rax', 64), ('rbx', 64), ('rdx', 64)]))
    return F


# ---- flag producer + flag consumer in one block ------------------------------
# The single-instruction forms only see flags through the next block; these
# put the reader in the same block, where the lazy-flags code fuses them.

def pair_forms():
    F = []
    ccs = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g']

    def fix_cl(rng, st):
        st['gpr'][1] = (st['gpr'][1] & ~0xff) | rng.choice([0, 1, 2, 7, 8, 15, 16, 31, 32, 63, rng.getrandbits(8)])

    def fix_eq(rng, st):
        if rng.random() < 0.4:                    # equal operands: ZF paths
            st['gpr'][3] = st['gpr'][0]
        elif rng.random() < 0.3:                  # differ only in the sign bit or low bit
            st['gpr'][3] = st['gpr'][0] ^ rng.choice([1, 0x80, 0x8000, 0x80000000, 1 << 63])

    for w in (8, 16, 32, 64):
        s_ = SUF[w]
        a, b = rname('rax', w), rname('rbx', w)
        prods = [(f'{op}{s_} {b}, {a}', fix_eq) for op in ('add', 'sub', 'adc', 'sbb', 'and', 'or', 'xor', 'cmp', 'test')]
        prods += [(f'{op}{s_} {a}', None) for op in ('inc', 'dec', 'neg')]
        prods += [(f'{op}{s_} %cl, {a}', fix_cl) for op in ('shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr')]
        prods += [(f'{op}{s_} {a}', None) for op in ('shl', 'shr', 'sar', 'rol', 'rcr')]
        prods += [(f'{op}{s_} $3, {a}', None) for op in ('shl', 'sar', 'ror')]
        prods += [(f'mul{s_} {b}', None), (f'imul{s_} {b}', None), (f'xadd{s_} {b}, {a}', None),
                  (f'cmpxchg{s_} {b}, {MEM}', None)]
        if w > 8:
            prods += [(f'imul{s_} {b}, {a}', None), (f'bt{s_} {b}, {a}', None), (f'bts{s_} $3, {a}', None),
                      (f'bsf{s_} {b}, {a}', None), (f'bsr{s_} {b}, {a}', None), (f'shld{s_} %cl, {b}, {a}', fix_cl),
                      (f'shrd{s_} $5, {b}, {a}', None)]
        if w == 32:
            prods += [('sahf', None), ('cmc', None), ('stc', None), ('clc', None), ('popfq', None)]
        for p, fx in prods:
            cons = [f'set{cc} %r11b' for cc in ccs]
            cons += [f'j{cc} 1f; movl $1, %r11d; 1:' for cc in ccs]
            cons += [f'cmov{cc}q %rbx, %r11' for cc in ('b', 'e', 'be', 'l', 'le', 'o', 's', 'p')]
            cons += ['adcq %rbx, %r11', 'sbbq %rbx, %r11', 'rclq $1, %r11', 'lahf', 'pushfq',
                     'adcb $0, %r11b', 'sbbl %r11d, %r11d', 'rcrq $1, %r11', 'rcll $5, %r11d',
                     'rcrb $1, %r11b', 'cmc', 'rolq $1, %r11', 'rorl $3, %r11d', 'shlq $1, %r11',
                     'incq %r11', 'decl %r11d', 'negq %r11', 'btq $3, %r11', 'cmc; setb %r11b',
                     # three in a row: a flag reader after a partial flag writer
                     'incq %r11; setb %r10b', 'incq %r11; seto %r10b', 'decl %r11d; setbe %r10b',
                     'negq %r11; setl %r10b', 'testq %r11, %r11; adcq $0, %r11', 'addq $1, %r11; sbbq %r10, %r10',
                     'shlq $1, %r11; jc 1f; movl $1, %r10d; 1:', 'cmc; cmc; setb %r10b',
                     'lahf; sahf; setl %r10b', 'pushfq; popfq; setg %r10b', 'btl $0, %r11d; setbe %r10b',
                     'incq %r11; jbe 1f; movl $1, %r10d; 1:', 'movq %rbx, %r10; cmovbq %rax, %r10']
            if p in ('sahf', 'cmc', 'stc', 'clc', 'popfq') and w != 32:
                continue
            for c in cons:
                def f2(rng, st, fx=fx, p=p):
                    if fx:
                        fx(rng, st)
                    if p == 'popfq':       # only arithmetic flags, never TF/DF/AC
                        v = rng.getrandbits(12) & 0x8d5
                        st['mem'][32:40] = (v | 2).to_bytes(8, 'little')
                F.append(Form(f'{p}; {c}', [('rax', w), ('rbx', w), ('r11', 64), ('r10', 64)], mem=64,
                              fl_reader=True, fix=f2))
    return F


# ---- addressing modes, stack-relative operands, faults after state changes -----

def mem_forms():
    F = []

    def fx_regs(base_off, idx=None, junk=False):
        def f(rng, st):
            st['gpr'][6] = (MARKJ if junk else MARK) | base_off       # rsi
            if idx is not None:
                st['gpr'][1] = idx if rng.random() < 0.7 else (idx - 8) & MASK[64]
        return f
    modes = [('(%rsi)', 16, None, False), ('8(%rsi)', 8, None, False), ('-8(%rsi)', 24, None, False),
             ('0x100(%rsi)', (16 - 0x100) & 0xff, None, False),
             ('(%rsi,%rcx,1)', 8, 8, False), ('(%rsi,%rcx,2)', 8, 4, False), ('4(%rsi,%rcx,4)', 4, 2, False),
             ('-16(%rsi,%rcx,8)', 24, 1, False), ('(%esi)', 16, None, True), ('8(%esi,%ecx,2)', 8, 0, True)]
    for m, off, idx, junk in modes:
        if m.startswith('0x100'):
            continue
        for t in (f'movq {m}, %rax', f'addl {m}, %eax', f'addl %ebx, {m}', f'subq $7, {m}', f'incw {m}',
                  f'imull $3, {m}, %eax', f'cmpb $0x80, {m}', f'leaq {m}, %rax', f'leal {m}, %eax',
                  f'xchgl %ebx, {m}', f'btsl %ebx, {m}', f'shlq $3, {m}', f'movzbl {m}, %eax',
                  f'movss {m}, %xmm0', f'paddd {m}, %xmm1'):
            fix = fx_regs(off, idx, junk)
            if 'bts' in t:
                def fix(rng, st, f0=fix):
                    f0(rng, st)
                    st['gpr'][3] = rng.randrange(-64, 128) & MASK[64]
            F.append(Form(t, [('rax', 64), ('rbx', 64)], mem=64, fix=fix, xmm=(0, 1), fp='i'))
    # the operand register is also the base
    for t in ('addq (%rax), %rax', 'movq (%rax), %rax', 'xchgq %rax, (%rax)', 'xaddq %rax, (%rax)',
              'cmpxchgq %rsi, (%rax)', 'leaq 8(%rax,%rax,2), %rax', 'popq (%rax)', 'pushq (%rax)',
              'movl (%rax,%rax,1), %eax'):
        def fx(rng, st):
            st['gpr'][0] = MARK | rng.choice([0, 8, 16])
        F.append(Form(t, [('rsi', 64)], mem=64, fix=fx))
    # stack-relative: pop to an rsp-based address uses rsp after the pop
    for t in ('pushq 8(%rsp)', 'popq 8(%rsp)', 'pushq (%rsp)', 'popq (%rsp)', 'popq -8(%rsp)',
              'pushq -8(%rsp)', 'movq %rsp, (%rsp)', 'xchgq %rsp, (%rsp)', 'addq %rsp, (%rsp)',
              'leaq 8(%rsp), %rsp', 'pushw (%rsp)', 'popw 2(%rsp)', 'leave', 'enter $16, $0',
              'callq 1f; 1:', 'pushq %rsp; popq %rax', 'leavew', 'enter $8, $3'):
        def fx(rng, st):
            st['gpr'][5] = MARK | rng.choice([16, 24, 32, 40])   # rbp for leave/enter
        F.append(Form(t, [('rax', 64)], mem=64, fix=fx))
    # enter write-probes the new top of stack: here it lies below the guard
    # area's page, unmapped, so enter faults there with rsp and rbp unchanged
    for t in ('movq %rdi, %rsp; enter $0x1100, $0', 'movq %rdi, %rsp; enter $0x1100, $2'):
        def fx(rng, st):
            st['gpr'][7] = 0x5c5c5c5c5c5c5c00 | rng.choice([8, 16, 64])
            st['gpr'][5] = 0x5c5c5c5c5c5c5c00 | 32
        F.append(Form(t, [('rax', 64)], fix=fx))
    # xlat, loop family, jrcxz: rcx near 0
    for t in ('xlatb', 'loop 1f; movl $1, %r11d; 1:', 'loope 1f; movl $1, %r11d; 1:',
              'loopne 1f; movl $1, %r11d; 1:', 'jrcxz 1f; movl $1, %r11d; 1:',
              'jecxz 1f; movl $1, %r11d; 1:', 'addr32 loop 1f; movl $1, %r11d; 1:'):
        def fx(rng, st):
            st['gpr'][3] = MARK | 0
            st['gpr'][0] = rng.getrandbits(64) & ~0xff | rng.randrange(64)   # xlat stays in the window
            st['gpr'][1] = rng.choice([0, 1, 2, 1 << 32, (1 << 32) + 1, MASK[64], 0xffffffff])
        F.append(Form(t, [('r11', 64)], mem=64, fix=fx, fl_reader=True))
    # encodings that trap natively: invalid in 64-bit mode, bad lock, privileged
    for t in ('.byte 0xf0, 0x01, 0xd8', '.byte 0xf0, 0x90', '.byte 0x0f, 0x0b', '.byte 0x0f, 0xb9, 0xc0',
              '.byte 0x06', '.byte 0x27', '.byte 0x37', '.byte 0x60', '.byte 0xd4, 0x0a', '.byte 0xce',
              '.byte 0x1e', '.byte 0x9a, 0, 0, 0, 0, 0, 0', '.byte 0xf4', '.byte 0xfa', '.byte 0xfb',
              '.byte 0xe4, 0x60', '.byte 0xec', '.byte 0xcc', '.byte 0xcd, 0x03', '.byte 0x0f, 0x01, 0xf8',
              '.byte 0x0f, 0x20, 0xc0', '.byte 0x0f, 0x06', '.byte 0x0f, 0x09', '.byte 0x8e, 0xc0',
              '.byte 0xf0, 0x0f, 0xa3, 0x05, 0, 0, 0, 0', '.byte 0xf0, 0x8b, 0x05, 0, 0, 0, 0',
              '.byte 0x0f, 0x37', '.byte 0xf1', '.byte 0x63, 0xc3',
              # VEX forms of lzcnt/tzcnt/popcnt that only Knights Corner had
              '.byte 0xc4, 0xe1, 0x7a, 0xbd, 0xc9', '.byte 0xc4, 0xe1, 0xfa, 0xbd, 0xc9',
              '.byte 0xc4, 0xe1, 0x7a, 0xbc, 0xc9', '.byte 0xc4, 0xe1, 0x7a, 0xb8, 0xc9'):
        F.append(Form(t, [('rax', 64), ('rbx', 64)]))
    # xbegin: #UD on loom's models, which have no RTM, and natively only on
    # a host without it (on one with RTM the transaction starts).
    if 'rtm' not in host_cpu_flags():
        F.append(Form('.byte 0xc7, 0xf8, 0, 0, 0, 0', [('rax', 64), ('rbx', 64)]))
    # state at a fault: the flags and registers written before it must be exact
    prods = ['subl %ebx, %eax', 'addq %rbx, %rax', 'incl %eax', 'shlq $3, %rax', 'xorb %bl, %al',
             'imulq %rbx, %rax', 'sarl %cl, %eax', 'cmpq %rbx, %rax', 'movq %rbx, %rax', 'stc', 'btq %rbx, %rax',
             'movq $5, %r11; subl %ebx, %eax']
    for p in prods:
        for fault in ('movq (%r12), %r11', 'movq %r11, (%r12)', 'ud2', 'divl %r12d', 'addq %rax, (%r12)',
                      'jmp *%r12', 'movl (%rax), %ebx'):
            def fx(rng, st):
                st['gpr'][12] = rng.choice([0, 8, 0xffff800000000000])
                st['gpr'][1] = (st['gpr'][1] & ~0xff) | rng.choice([0, 1, 5, 33])
                st['gpr'][0] = rng.getrandbits(16)     # so (%rax) faults
            F.append(Form(f'{p}; {fault}', [('rax', 64), ('rbx', 64)], fix=fx))
    # eip-relative (67-prefixed rip-relative) addressing: the address is
    # the next instruction's eip plus the displacement, truncated to 32 bits
    for t in ('movl isa_mem+16(%eip), %eax', 'addl %eax, isa_mem+16(%eip)', 'lea 0x10(%eip), %eax',
              'lea -0x7fffffff(%eip), %rax'):
        F.append(Form(t, [('rax', 64)], mem=64))
    # bit-string addressing with a 32-bit address size: the bit offset's
    # words are added before the address wraps at 4 GB
    # (a 64-bit offset of +-2^35 bits moves the address by exactly 4 GB)
    for t in ('btl %ecx, (%esi)', 'btsw %cx, (%esi)', 'btrl %ecx, 8(%esi)', 'btq %rcx, (%esi)',
              'btcq %rcx, 8(%esi)'):
        def fx(rng, st):
            st['gpr'][6] = MARKJ | 16
            st['gpr'][1] = rng.choice([0, 5, 31, 64, -1, -40, 1 << 35, -(1 << 35), (1 << 35) + 7]) & MASK[64]
        F.append(Form(t, [('rax', 64)], mem=64, fix=fx))
    return F


# ---- string instructions ----------------------------------------------------

def string_forms():
    F = []

    def fix(rep, a32=False):
        def f(rng, st):
            down = rng.random() < 0.3
            # 32-bit addressing: junk above bit 31 of rsi/rdi (and rcx) is
            # ignored, and the updates clear it
            ms = MARKJ if a32 and rng.random() < 0.5 else MARK
            md = MARKJ if a32 and rng.random() < 0.5 else MARK
            if down:
                st['rflags'] |= 0x400
                st['gpr'][6] = ms | rng.randint(24, 32)     # rsi
                st['gpr'][7] = md | rng.randint(40, 56)     # rdi
            else:
                st['gpr'][6] = ms | rng.randint(0, 8)
                st['gpr'][7] = md | rng.randint(24, 32)
            if rep:
                st['gpr'][1] = rng.choice([0, 1, 2, 3, 4]) | (rng.getrandbits(32) << 32 if a32 else 0)
                if a32 and st['gpr'][1] & 0xffffffff == 0:
                    # No iteration: whether the CPU still writes (and so
                    # zero-extends) ecx, esi and edi is not architectural;
                    # an Intel host does, for movs/stos esi and edi too.
                    # Keep the upper halves clear so the case holds on any:
                    # no junk in rcx, plain window addresses in rsi/rdi.
                    st['gpr'][1] &= 0xffffffff
                    for r in (6, 7):
                        st['gpr'][r] = MARK | st['gpr'][r] & 0xff
            # make the two regions agree for a while, so repe runs on
            if rng.random() < 0.6:
                s0, d0 = st['gpr'][6] & 0xff, st['gpr'][7] & 0xff
                k = rng.randint(0, 24)
                lo = min(s0, d0) - (k if down else 0)
                for j in range(k):
                    a = (s0 - j if down else s0 + j) % 64
                    b = (d0 - j if down else d0 + j) % 64
                    st['mem'][b] = st['mem'][a]
            if rng.random() < 0.5:
                st['gpr'][0] = int.from_bytes(st['mem'][st['gpr'][7] & 0xff:(st['gpr'][7] & 0xff) + 8].ljust(8, b'\0'), 'little')
        return f
    for w in (8, 16, 32, 64):
        s = SUF[w]
        for op in ('movs', 'stos', 'lods', 'cmps', 'scas'):
            F.append(Form(f'{op}{s}', [('rax', 64)], fix=fix(None)))
            if op in ('cmps', 'scas'):
                F.append(Form(f'repe {op}{s}', [('rax', 64)], fix=fix('r')))
                F.append(Form(f'repne {op}{s}', [('rax', 64)], fix=fix('r')))
            else:
                F.append(Form(f'rep {op}{s}', [('rax', 64)], fix=fix('r')))
            if op in ('movs', 'stos', 'lods'):
                # f2 on them repeats like f3 (not a repne)
                F.append(Form(f'.byte 0xf2; {op}{s} # repne {op}{s}', [('rax', 64)], fix=fix('r')))
            # the same with the 67 prefix: esi, edi, ecx
            F.append(Form(f'addr32 {op}{s}', [('rax', 64)], fix=fix(None, True)))
            for rep in (('repe', 'repne') if op in ('cmps', 'scas') else ('rep',)):
                F.append(Form(f'addr32 {rep} {op}{s}', [('rax', 64)], fix=fix('r', True)))
    # faults part-way: the destination (or source) runs into a guard page;
    # rcx, rsi and rdi at the fault must say how far the copy got
    GUARD = 0x5c5c5c5c5c5c5c00

    def fixg(which):
        def f(rng, st):
            st['gpr'][1] = rng.choice([1, 3, 8, 40, 300])
            # at most 64 bytes move before the fault: they fit the window
            st['gpr'][6] = MARK | rng.randint(0, 16)
            st['gpr'][7] = MARK | 0
            st['gpr'][which] = GUARD | rng.choice([0, 1, 4, 7, 8, 9, 17, 40])
        return f
    for w in (8, 16, 32, 64):
        s = SUF[w]
        F.append(Form(f'rep movs{s}', [('rax', 64)], fix=fixg(7)))
        F.append(Form(f'rep movs{s} # src', [('rax', 64)], fix=fixg(6)))
        F.append(Form(f'rep stos{s}', [('rax', 64)], fix=fixg(7)))
        F.append(Form(f'repe cmps{s}', [('rax', 64)], fix=fixg(6)))
        F.append(Form(f'rep lods{s}', [('rax', 64)], fix=fixg(6)))
        F.append(Form(f'movs{s}', [('rax', 64)], fix=fixg(7)))
    for t in ('movq (%rsi), %rax', 'movq %rax, (%rdi)', 'addl %eax, (%rdi)', 'movdqu (%rsi), %xmm0',
              'movups %xmm0, (%rdi)', 'lock xaddq %rax, (%rdi)', 'cmpxchg16b (%rdi)', 'pushq (%rsi)'):
        F.append(Form(t, [('rax', 64)], fix=fixg(6 if '(%rsi)' in t else 7)))
    return F


# ---- SSE / SSE2 forms -------------------------------------------------------

def mem_twins(F, extra=()):
    """For every op of F seen only with a register source (`op [$imm,]
    %xmm1, dst`), the same with the memory operand, so the memory form of
    each lifted op runs too; extra: more such texts to twin."""
    import re
    pat = re.compile(r'^(\w+) (\$[^,]+, )?%xmm1, (%xmm0|%eax|%rax)$')
    has_mem = {f.text.split()[0] for f in F if MEM in f.text}
    done = set()
    for f in list(F):
        m = pat.match(f.text.split(' #')[0])
        if not m or m.group(1) in has_mem or m.group(1) in done:
            continue
        if (m.group(3) != '%xmm0' and not m.group(1).startswith('cvt')) or m.group(1) in ('movhlps', 'movlhps'):
            continue    # pmovmskb, pextrw, movhlps ...: no memory source
        done.add(m.group(1))
        F.append(Form(f'{m.group(1)} {m.group(2) or ""}{MEM}, {m.group(3)}', f.regs, xmm=f.xmm, mem=128,
                      fp=f.fp, mxcsr_vary=f.mxcsr_vary, fix=f.fix))
    for t, k in extra:
        F.append(Form(t, [('rax', 64), ('rbx', 64)], xmm=(0, 1, 2), mem=128, fp=k, mxcsr_vary=True))
    return F


def sse_forms():
    F = []
    ints = ['paddb', 'paddw', 'paddd', 'paddq', 'psubb', 'psubw', 'psubd', 'psubq',
            'paddsb', 'paddsw', 'paddusb', 'paddusw', 'psubsb', 'psubsw', 'psubusb', 'psubusw',
            'pand', 'pandn', 'por', 'pxor', 'pcmpeqb', 'pcmpeqw', 'pcmpeqd', 'pcmpgtb',
            'pcmpgtw', 'pcmpgtd', 'pmullw', 'pmulhw', 'pmulhuw', 'pmuludq', 'pmaddwd',
            'pminub', 'pmaxub', 'pminsw', 'pmaxsw', 'pavgb', 'pavgw', 'psadbw',
            'punpcklbw', 'punpcklwd', 'punpckldq', 'punpcklqdq', 'punpckhbw', 'punpckhwd',
            'punpckhdq', 'punpckhqdq', 'packsswb', 'packssdw', 'packuswb',
            'psllw', 'pslld', 'psllq', 'psrlw', 'psrld', 'psrlq', 'psraw', 'psrad']
    for op in ints:
        F.append(Form(f'{op} %xmm1, %xmm0', xmm=(0, 1), fp='i'))
        F.append(Form(f'{op} %xmm12, %xmm9', xmm=(9, 12), fp='i'))
        F.append(Form(f'{op} {MEM}, %xmm2', xmm=(2,), mem=128, fp='i'))
    # shift counts from a register: small counts matter most
    for op in ('psllw', 'pslld', 'psllq', 'psrlw', 'psrld', 'psrlq', 'psraw', 'psrad'):
        def fx(rng, st):
            st['xmm'][1] = rng.choice([0, 1, 3, 7, 8, 15, 16, 31, 32, 63, 64, 1 << 40]).to_bytes(8, 'little') + st['xmm'][1][8:]
        F.append(Form(f'{op} %xmm1, %xmm0 # small', xmm=(0, 1), fp='i', fix=fx))
        for imm in (0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 255):
            F.append(Form(f'{op} ${imm}, %xmm3', xmm=(3,), fp='i'))
    for op in ('pslldq', 'psrldq'):
        for imm in (0, 1, 4, 8, 15, 16, 255):
            F.append(Form(f'{op} ${imm}, %xmm3', xmm=(3,), fp='i'))
    for imm in (0, 0x1b, 0x4e, 0xe4, 0xff, 0x39, 0xb1):
        for op in ('pshufd', 'pshuflw', 'pshufhw'):
            F.append(Form(f'{op} ${imm}, %xmm1, %xmm0', xmm=(0, 1), fp='i'))
        F.append(Form(f'pshufd ${imm}, {MEM}, %xmm0', xmm=(0,), mem=128, fp='i'))
        F.append(Form(f'shufps ${imm}, %xmm1, %xmm0', xmm=(0, 1), fp='ps'))
        F.append(Form(f'shufpd ${imm & 3}, %xmm1, %xmm0', xmm=(0, 1), fp='pd'))
    for t in ('movd %xmm1, %eax', 'movq %xmm1, %rax', 'movd %ebx, %xmm0', 'movq %rbx, %xmm0',
              f'movd {MEM}, %xmm0', f'movq {MEM}, %xmm0', f'movd %xmm1, {MEM}', f'movq %xmm1, {MEM}',
              'movq %xmm1, %xmm0', 'pmovmskb %xmm1, %eax', 'movmskps %xmm1, %eax', 'movmskpd %xmm1, %eax',
              'pextrw $3, %xmm1, %eax', 'pinsrw $5, %ebx, %xmm0', f'pinsrw $1, {MEM}, %xmm0',
              'movdqa %xmm1, %xmm0', f'movdqu {MEM}, %xmm0', f'movdqu %xmm1, {MEM}', f'movdqa {MEM}, %xmm0',
              f'movups %xmm1, {MEM}', f'movaps {MEM}, %xmm0', 'movss %xmm1, %xmm0', f'movss {MEM}, %xmm0',
              f'movss %xmm1, {MEM}', 'movsd %xmm1, %xmm0', f'movsd {MEM}, %xmm0', f'movsd %xmm1, {MEM}',
              'movhlps %xmm1, %xmm0', 'movlhps %xmm1, %xmm0', f'movhps {MEM}, %xmm0', f'movlps {MEM}, %xmm0',
              f'movhpd %xmm1, {MEM}', f'movlpd {MEM}, %xmm0', 'unpcklps %xmm1, %xmm0', 'unpckhps %xmm1, %xmm0',
              'unpcklpd %xmm1, %xmm0', 'unpckhpd %xmm1, %xmm0', 'andps %xmm1, %xmm0', 'andnps %xmm1, %xmm0',
              'orps %xmm1, %xmm0', 'xorps %xmm1, %xmm0', 'andpd %xmm1, %xmm0', 'xorpd %xmm1, %xmm0',
              'andnpd %xmm1, %xmm0', 'orpd %xmm1, %xmm0'):
        F.append(Form(t, [('rax', 64), ('rbx', 64)], xmm=(0, 1), mem=128, fp='i'))
    for kind in ('ps', 'pd', 'ss', 'sd'):
        for op in ('add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt'):
            F.append(Form(f'{op}{kind} %xmm1, %xmm0', xmm=(0, 1), fp=kind, mxcsr_vary=True))
            F.append(Form(f'{op}{kind} {MEM}, %xmm0', xmm=(0,), mem=128, fp=kind, mxcsr_vary=True))
        for imm in range(8):
            F.append(Form(f'cmp{kind} ${imm}, %xmm1, %xmm0', xmm=(0, 1), fp=kind))
    for op in ('rcpps', 'rsqrtps', 'rcpss', 'rsqrtss'):
        # approximations whose bits differ between CPU models: the guest
        # must see the host's, so loom has to run the host instruction
        F.append(Form(f'{op} %xmm1, %xmm0', xmm=(0, 1), fp='ps'))
    for kind in ('ss', 'sd'):
        for op in ('ucomi', 'comi'):
            F.append(Form(f'{op}{kind} %xmm1, %xmm0', xmm=(0, 1), fp=kind))
            F.append(Form(f'{op}{kind} {MEM}, %xmm0', xmm=(0,), mem=128, fp=kind))
    cv = [('cvtsi2sdl %ebx, %xmm0', 'i'), ('cvtsi2sdq %rbx, %xmm0', 'i'), ('cvtsi2ssl %ebx, %xmm0', 'i'),
          ('cvtsi2ssq %rbx, %xmm0', 'i'), ('cvttsd2si %xmm1, %eax', 'sd'), ('cvttsd2si %xmm1, %rax', 'sd'),
          ('cvtsd2si %xmm1, %eax', 'sd'), ('cvtsd2si %xmm1, %rax', 'sd'), ('cvttss2si %xmm1, %eax', 'ss'),
          ('cvttss2si %xmm1, %rax', 'ss'), ('cvtss2si %xmm1, %eax', 'ss'), ('cvtss2si %xmm1, %rax', 'ss'),
          ('cvtss2sd %xmm1, %xmm0', 'ss'), ('cvtsd2ss %xmm1, %xmm0', 'sd'), ('cvtps2pd %xmm1, %xmm0', 'ps'),
          ('cvtpd2ps %xmm1, %xmm0', 'pd'), ('cvtdq2ps %xmm1, %xmm0', 'i'), ('cvtdq2pd %xmm1, %xmm0', 'i'),
          ('cvtps2dq %xmm1, %xmm0', 'ps'), ('cvttps2dq %xmm1, %xmm0', 'ps'), ('cvtpd2dq %xmm1, %xmm0', 'pd'),
          ('cvttpd2dq %xmm1, %xmm0', 'pd'), (f'cvtsi2sdl {MEM}, %xmm0', 'i'), (f'cvttsd2si {MEM}, %rax', 'sd')]
    for t, k in cv:
        F.append(Form(t, [('rax', 64), ('rbx', 64)], xmm=(0, 1), mem=128, fp=k, mxcsr_vary=True))
    # memory forms of the rest (found untested by tests/unit/test_forms.c)
    return mem_twins(F, [(f'cvtsi2sdq {MEM}, %xmm0', 'i'), (f'cvtsi2ssl {MEM}, %xmm0', 'i'),
                         (f'cvtsi2ssq {MEM}, %xmm0', 'i'), (f'cvttsd2si {MEM}, %eax', 'sd'),
                         (f'cvtsd2si {MEM}, %eax', 'sd'), (f'cvtsd2si {MEM}, %rax', 'sd'), (f'cvttss2si {MEM}, %rax', 'ss'),
                         (f'cvtss2si {MEM}, %rax', 'ss'), (f'movaps %xmm1, {MEM}', 'i'),
                         (f'movapd %xmm1, {MEM}', 'i'), (f'movdqa %xmm1, {MEM}', 'i'),
                         ('movups %xmm1, %xmm0', 'i'), ('movaps %xmm1, %xmm0', 'i'),
                         ('movdqu %xmm1, %xmm0', 'i'), (f'movhpd {MEM}, %xmm0', 'i'),
                         (f'movhps %xmm1, {MEM}', 'i'), (f'movlps %xmm1, {MEM}', 'i'),
                         (f'movlpd %xmm1, {MEM}', 'i'), ('movmskps %xmm1, %rax', 'ps'),
                         ('movmskpd %xmm1, %rax', 'pd'), (f'movups {MEM}, %xmm2', 'i'),
                         (f'shufps $0x1b, {MEM}, %xmm0', 'ps'), (f'shufpd $1, {MEM}, %xmm0', 'pd'),
                         (f'pshufhw $0x1b, {MEM}, %xmm0', 'i'), (f'pshuflw $0xb1, {MEM}, %xmm0', 'i')])


def sse4_forms():
    """SSE3, SSSE3, SSE4.1, SSE4.2 and POPCNT (x86-64-v2, which loom lifts)."""
    F = []
    rr = ['addsubps', 'addsubpd', 'haddps', 'haddpd', 'hsubps', 'hsubpd']
    for op in rr:
        F.append(Form(f'{op} %xmm1, %xmm0', xmm=(0, 1), fp=op[-2:], mxcsr_vary=True))
    for t, k in (('movddup %xmm1, %xmm0', 'pd'), ('movshdup %xmm1, %xmm0', 'ps'), ('movsldup %xmm1, %xmm0', 'ps'),
                 (f'lddqu {MEM}, %xmm0', 'i'), (f'movddup {MEM}, %xmm0', 'pd')):
        F.append(Form(t, xmm=(0, 1), mem=128, fp=k))
    ints = ['pshufb', 'phaddw', 'phaddd', 'phaddsw', 'phsubw', 'phsubd', 'phsubsw', 'pmaddubsw', 'pmulhrsw',
            'psignb', 'psignw', 'psignd', 'pabsb', 'pabsw', 'pabsd',
            'pminsb', 'pminsd', 'pminuw', 'pminud', 'pmaxsb', 'pmaxsd', 'pmaxuw', 'pmaxud', 'pmulld', 'pmuldq',
            'packusdw', 'pcmpeqq', 'pcmpgtq', 'phminposuw', 'pmovsxbw', 'pmovsxbd', 'pmovsxbq', 'pmovsxwd',
            'pmovsxwq', 'pmovsxdq', 'pmovzxbw', 'pmovzxbd', 'pmovzxbq', 'pmovzxwd', 'pmovzxwq', 'pmovzxdq']
    for op in ints:
        F.append(Form(f'{op} %xmm1, %xmm0', xmm=(0, 1), fp='i'))
        F.append(Form(f'{op} {MEM}, %xmm0', xmm=(0,), mem=128, fp='i'))
    F.append(Form('ptest %xmm1, %xmm0', xmm=(0, 1), fp='i'))
    for imm in (0, 1, 4, 8, 15, 16, 31):
        F.append(Form(f'palignr ${imm}, %xmm1, %xmm0', xmm=(0, 1), fp='i'))
    for imm in (0, 0x5a, 0xff, 0x0f):
        F.append(Form(f'pblendw ${imm}, %xmm1, %xmm0', xmm=(0, 1), fp='i'))
        F.append(Form(f'blendps ${imm & 15}, %xmm1, %xmm0', xmm=(0, 1), fp='ps'))
        F.append(Form(f'blendpd ${imm & 3}, %xmm1, %xmm0', xmm=(0, 1), fp='pd'))
        F.append(Form(f'mpsadbw ${imm & 7}, %xmm1, %xmm0', xmm=(0, 1), fp='i'))
        F.append(Form(f'dpps ${imm}, %xmm1, %xmm0', xmm=(0, 1), fp='ps', mxcsr_vary=True))
        F.append(Form(f'dppd ${imm & 0x33}, %xmm1, %xmm0', xmm=(0, 1), fp='pd', mxcsr_vary=True))
        F.append(Form(f'insertps ${imm}, %xmm1, %xmm0', xmm=(0, 1), fp='ps'))
    F.append(Form('pblendvb %xmm0, %xmm2, %xmm1', xmm=(0, 1, 2), fp='i'))
    F.append(Form('blendvps %xmm0, %xmm2, %xmm1', xmm=(0, 1, 2), fp='ps'))
    F.append(Form('blendvpd %xmm0, %xmm2, %xmm1', xmm=(0, 1, 2), fp='pd'))
    for imm in range(16):
        for k in ('ps', 'pd', 'ss', 'sd'):
            if imm < 8 or k == 'sd':
                F.append(Form(f'round{k} ${imm}, %xmm1, %xmm0', xmm=(0, 1), fp=k, mxcsr_vary=True))
    for t in ('extractps $1, %xmm1, %eax', 'extractps $3, %xmm1, %rax', f'extractps $2, %xmm1, {MEM}',
              'pextrb $0, %xmm1, %eax', 'pextrb $15, %xmm1, %eax', f'pextrb $7, %xmm1, {MEM}', 'pextrd $3, %xmm1, %eax',
              'pextrq $1, %xmm1, %rax', 'pextrw $7, %xmm1, %eax', f'pextrw $2, %xmm1, {MEM}',
              'pinsrb $5, %ebx, %xmm0', 'pinsrd $2, %ebx, %xmm0', 'pinsrq $1, %rbx, %xmm0', f'pinsrb $15, {MEM}, %xmm0',
              'popcntw %bx, %ax', 'popcntl %ebx, %eax', 'popcntq %rbx, %rax', f'popcntq {MEM}, %rax',
              'crc32b %bl, %eax', 'crc32w %bx, %eax', 'crc32l %ebx, %eax', 'crc32q %rbx, %rax', f'crc32l {MEM}, %eax',
              'crc32b %bl, %rax'):
        F.append(Form(t, [('rax', 64), ('rbx', 64)], xmm=(0, 1), mem=128, fp='i'))

    def fx_str(rng, st):
        # short strings with shared bytes, so the comparisons have something to find
        alpha = bytes(rng.choice(b'abcd\0') for _ in range(4))
        for x in (0, 1):
            st['xmm'][x] = bytes(rng.choice(alpha) for _ in range(16))
        st['gpr'][0] = rng.choice([0, 1, 5, 8, 16, 17, -3 & MASK[64], rng.getrandbits(64)])
        st['gpr'][2] = rng.choice([0, 1, 5, 8, 16, 17, -3 & MASK[64], rng.getrandbits(64)])
    for op in ('pcmpistri', 'pcmpistrm', 'pcmpestri', 'pcmpestrm'):
        for imm in (0x00, 0x04, 0x08, 0x0c, 0x01, 0x0d, 0x18, 0x1a, 0x3a, 0x44, 0x40, 0x4c, 0x72, 0x09, 0x68):
            F.append(Form(f'{op} ${imm}, %xmm1, %xmm0', [('rcx', 64)], xmm=(0, 1), fp='i', fix=fx_str))
    # memory forms of the rest (found untested by tests/unit/test_forms.c)
    return mem_twins(F, [(f'pblendvb %xmm0, {MEM}, %xmm1', 'i'), (f'blendvps %xmm0, {MEM}, %xmm1', 'ps'),
                         (f'blendvpd %xmm0, {MEM}, %xmm1', 'pd'), (f'pextrd $1, %xmm1, {MEM}', 'i'),
                         (f'pextrq $1, %xmm1, {MEM}', 'i'), (f'pinsrd $3, {MEM}, %xmm0', 'i'),
                         (f'pinsrq $1, {MEM}, %xmm0', 'i'), (f'popcntl {MEM}, %eax', 'i'),
                         (f'crc32b {MEM}, %eax', 'i'), (f'crc32b {MEM}, %rax', 'i'),
                         (f'crc32q {MEM}, %rax', 'i'), (f'insertps $0x5d, {MEM}, %xmm0', 'ps')])


def x87_forms():
    """x87 through memory: each snippet starts with fninit (an empty stack and
    the default control word), loads its operands from the window (doubles at
    +16 and +24), stores results at +32.. and the status word in ax."""
    F = []
    A, B, R = 'isa_mem+16(%rip)', 'isa_mem+24(%rip)', 'isa_mem+32(%rip)'
    CW = 'isa_mem+48(%rip)'

    def fx_cw(rng, st):
        cw = 0x37f | rng.choice([0, 1, 2, 3]) << 10 | rng.choice([0, 2, 3]) << 8
        st['mem'][48:50] = cw.to_bytes(2, 'little')

    def form(body, cw=False):
        pre = f'fninit; fldcw {CW}; ' if cw else 'fninit; '
        F.append(Form(pre + body + '; fnstsw %ax', [('rax', 64)], mem=128, fp='pd', fix=fx_cw if cw else None))
    for op in ('fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr'):
        form(f'fldl {A}; fldl {B}; {op}p; fstpl {R}')
        form(f'fldl {A}; {op}l {B}; fstpt {R}', cw=True)
        form(f'fldl {A}; fldl {B}; {op} %st(1), %st; fstpt {R}; fstpl isa_mem+42(%rip)')
        form(f'fldl {A}; fildl {B}; {op}p; fstpl {R}')
        form(f'fldl {A}; fi{op[1:]}l {B}; fstpl {R}')
    for op in ('fsqrt', 'fabs', 'fchs', 'frndint', 'fxam', 'ftst', 'f2xm1', 'fsin', 'fcos', 'fptan', 'fsincos',
               'fxtract'):
        form(f'fldl {A}; {op}; fstpt {R}; fstpl isa_mem+42(%rip)', cw=op in ('fsqrt', 'frndint'))
    for op in ('fprem', 'fprem1', 'fscale', 'fpatan', 'fyl2x', 'fyl2xp1'):
        form(f'fldl {B}; fldl {A}; {op}; fstpt {R}')
    for op in ('fld1', 'fldz', 'fldpi', 'fldl2e', 'fldl2t', 'fldln2', 'fldlg2'):
        form(f'{op}; fstpt {R}', cw=True)
    for t in (f'fldl {A}; fstps {R}', f'fldl {A}; fistpl {R}', f'fldl {A}; fistpll {R}', f'fldl {A}; fistps {R}',
              f'fldl {A}; fisttpl {R}', f'fldl {A}; fisttpll {R}', f'fldl {A}; fstpt {R}', f'flds {A}; fstpl {R}',
              f'fildll {A}; fstpt {R}', f'filds {A}; fstpl {R}', f'fldl {A}; fldl {B}; fxch; fstpl {R}; fstpl isa_mem+40(%rip)'):
        form(t, cw='fist' in t or 'fstps' in t)
    for t in (f'fldl {A}; fldl {B}; fucomip %st(1), %st; fstp %st(0)', f'fldl {A}; fldl {B}; fcomip %st(1), %st; fstp %st(0)',
              f'fldl {A}; fldl {B}; fucompp', f'fldl {A}; fcoml {B}', f'fldl {A}; fldl {B}; fcompp',
              f'fldl {A}; fldl {B}; fucomi %st(1), %st', f'fldl {A}; ficoml {B}',
              f'fldl {A}; fldl {B}; fcmovb %st(1), %st; fstpl {R}', f'fldl {A}; fldl {B}; fcmove %st(1), %st; fstpl {R}',
              f'fldl {A}; fldl {B}; fcmovnbe %st(1), %st; fstpl {R}', f'fldl {A}; fldl {B}; fcmovu %st(1), %st; fstpl {R}'):
        F.append(Form('fninit; ' + t + '; fnstsw %ax', [('rax', 64)], mem=128, fp='pd', fl_reader='fcmov' in t))
    # forms the enumeration of lifted forms found untested: single-precision
    # and 16-bit integer memory operands, fcom on a register, fld of an
    # 80-bit value (any bits, so unsupported encodings too) and of st(i),
    # fst m32, fisttp m16, fnstsw to memory
    for op in ('fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr'):
        form(f'fldl {A}; {op}s {B}; fstpt {R}', cw=True)
        form(f'fldl {A}; fi{op[1:]}s {B}; fstpl {R}', cw=True)
    for t in (f'fldl {A}; fcoms {B}', f'fldl {A}; fcomps {B}', f'fldl {A}; ficoms {B}', f'fldl {A}; ficompl {B}',
              f'fldl {A}; fldl {B}; fcom %st(1)', f'fldl {A}; fldl {B}; fcomp %st(1); fstpl {R}',
              f'fldl {A}; fisttps {R}', f'fldl {A}; fsts {R}; fstpl isa_mem+40(%rip)', f'fldt {A}; fstpt {R}',
              f'fldt {A}; fstpl {R}', f'fldl {A}; fld %st(0); faddp; fstpt {R}', f'fldl {A}; fnstsw {R}'):
        form(t, cw='fist' in t or 'fsts' in t or 'fstpl' in t)
    return F


def bmi_forms():
    """BMI1, BMI2, LZCNT, TZCNT, MOVBE (x86-64-v3's general-purpose part; run
    under -cpu x86-64-v3)."""
    F = []
    A, B, C = 'rax', 'rbx', 'rcx'

    def fix_sometimes_zero(r64, w):
        def fix(rng, st):
            if rng.random() < 0.2:
                put_reg(rng, st, r64, w, 0)
        return fix

    def fix_ctl(r64):
        def fix(rng, st):
            # start and length around the operand width
            if rng.random() < 0.8:
                v = rng.choice([0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 200, 255, rng.getrandbits(8)])
                ln = rng.choice([0, 1, 7, 8, 31, 32, 33, 63, 64, 65, 200, 255, rng.getrandbits(8)])
                i = GPR.index(r64)
                st['gpr'][i] = (st['gpr'][i] & ~0xffff) | v | ln << 8
        return fix

    def fix_small(r64):
        def fix(rng, st):
            if rng.random() < 0.7:
                i = GPR.index(r64)
                st['gpr'][i] = (st['gpr'][i] & ~0xff) | rng.choice([0, 1, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, 255])
        return fix
    for w in (32, 64):
        a, b, c = rname(A, w), rname(B, w), rname(C, w)
        F.append(Form(f'andn {c}, {b}, {a}', [(A, 64), (B, w), (C, w)]))
        F.append(Form(f'andn {MEM}, {b}, {a}', [(A, 64), (B, w)], mem=w))
        F.append(Form(f'bextr {b}, {c}, {a}', [(A, 64), (B, w), (C, w)], fix=fix_ctl(B)))
        F.append(Form(f'bextr {b}, {MEM}, {a}', [(A, 64), (B, w)], mem=w, fix=fix_ctl(B)))
        F.append(Form(f'bzhi {b}, {c}, {a}', [(A, 64), (B, w), (C, w)], fix=fix_small(B)))
        F.append(Form(f'bzhi {b}, {MEM}, {a}', [(A, 64), (B, w)], mem=w, fix=fix_small(B)))
        for op in ('blsi', 'blsmsk', 'blsr'):
            F.append(Form(f'{op} {c}, {a}', [(A, 64), (C, w)], fix=fix_sometimes_zero(C, w)))
            F.append(Form(f'{op} {MEM}, {a}', [(A, 64)], mem=w))
            F.append(Form(f'{op} {a}, {a}', [(A, w)]))
        F.append(Form(f'mulx {c}, {b}, {a}', [(A, 64), (B, 64), (C, w), ('rdx', w)]))
        F.append(Form(f'mulx {MEM}, {b}, {a}', [(A, 64), (B, 64), ('rdx', w)], mem=w))
        F.append(Form(f'mulx {c}, {a}, {a}', [(A, 64), (C, w), ('rdx', w)]))
        F.append(Form(f'mulx {rname("rdx", w)}, {rname("rdx", w)}, {b}', [(B, 64), ('rdx', w)]))
        for op in ('pdep', 'pext'):
            F.append(Form(f'{op} {c}, {b}, {a}', [(A, 64), (B, w), (C, w)]))
            F.append(Form(f'{op} {MEM}, {b}, {a}', [(A, 64), (B, w)], mem=w))
        for imm in (0, 1, 7, 8, 31, 32, 33, 63, 255):
            F.append(Form(f'rorx ${imm}, {c}, {a}', [(A, 64), (C, w)]))
        F.append(Form(f'rorx $5, {MEM}, {a}', [(A, 64)], mem=w))
        for op in ('sarx', 'shlx', 'shrx'):
            F.append(Form(f'{op} {b}, {c}, {a}', [(A, 64), (B, w), (C, w)], fix=fix_small(B)))
            F.append(Form(f'{op} {b}, {MEM}, {a}', [(A, 64), (B, w)], mem=w, fix=fix_small(B)))
            F.append(Form(f'{op} {a}, {a}, {a}', [(A, w)]))
    for w in (16, 32, 64):
        a, b = rname(A, w), rname(B, w)
        for op in ('lzcnt', 'tzcnt'):
            F.append(Form(f'{op} {b}, {a}', [(A, 64), (B, w)], fix=fix_sometimes_zero(B, w)))
            F.append(Form(f'{op} {MEM}, {a}', [(A, 64)], mem=w))
        F.append(Form(f'movbe {MEM}, {a}', [(A, 64)], mem=64))
        F.append(Form(f'movbe {b}, {MEM}', [(B, 64)], mem=64))
    F.append(Form(f'movbe {MEM}, %r12', [('r12', 64)], mem=64))
    return F


def crypto_forms():
    """AES-NI, PCLMULQDQ, SHA and RDRAND/RDSEED (reported from x86-64-v2 on
    when the host has them)."""
    F = []
    for op in ('aesenc', 'aesenclast', 'aesdec', 'aesdeclast', 'aesimc',
               'sha1nexte', 'sha1msg1', 'sha1msg2', 'sha256msg1', 'sha256msg2'):
        F.append(Form(f'{op} %xmm1, %xmm0', xmm=(0, 1), fp='i'))
        F.append(Form(f'{op} %xmm12, %xmm9', xmm=(9, 12), fp='i'))
        F.append(Form(f'{op} {MEM}, %xmm2', xmm=(2,), mem=128, fp='i'))
    for imm in (0, 1, 2, 3, 0x10, 0x11, 0x1b, 0x36, 0x80, 0xff):
        F.append(Form(f'aeskeygenassist ${imm}, %xmm1, %xmm0', xmm=(0, 1), fp='i'))
        F.append(Form(f'pclmulqdq ${imm}, %xmm1, %xmm0', xmm=(0, 1), fp='i'))
    F.append(Form(f'aeskeygenassist $0x1b, {MEM}, %xmm0', xmm=(0,), mem=128, fp='i'))
    F.append(Form(f'pclmulqdq $0x11, {MEM}, %xmm0', xmm=(0,), mem=128, fp='i'))
    for imm in range(4):
        F.append(Form(f'sha1rnds4 ${imm}, %xmm1, %xmm0', xmm=(0, 1), fp='i'))
    F.append(Form(f'sha1rnds4 $2, {MEM}, %xmm3', xmm=(3,), mem=128, fp='i'))
    F.append(Form('sha256rnds2 %xmm0, %xmm1, %xmm2', xmm=(0, 1, 2), fp='i'))
    F.append(Form(f'sha256rnds2 %xmm0, {MEM}, %xmm5', xmm=(0, 5), mem=128, fp='i'))
    # the value is random: compare the flags, then clear it.  Either may
    # fail (CF=0) when the host's entropy source is drained -- rdseed does
    # on a loaded machine -- so retry as real code does.
    for op in ('rdrand', 'rdseed'):
        for r, z in (('%ax', '%eax'), ('%eax', '%eax'), ('%rax', '%eax'), ('%r11', '%r11d')):
            F.append(Form(f'1: {op} {r}; jnc 1b; movl $0, {z}', [('rax', 64), ('r11', 64)]))
    return F


def adx_forms():
    """ADX (adcx, adox): carry chains through CF and OF (run under -cpu host
    where the host has ADX)."""
    F = []
    for w in (32, 64):
        a, b, c = rname('rax', w), rname('rbx', w), rname('r9', w)
        for op in ('adcx', 'adox'):
            F.append(Form(f'{op} {b}, {a}', [('rax', 64), ('rbx', w)], fl_reader=True))
            F.append(Form(f'{op} {a}, {c}', [('rax', w), ('r9', 64)], fl_reader=True))
            F.append(Form(f'{op} {a}, {a}', [('rax', 64)], fl_reader=True))
            F.append(Form(f'{op} {MEM}, {b}', [('rbx', 64)], mem=w, fl_reader=True))
        # the two chains interleaved, as multi-precision multiplies run them
        F.append(Form(f'adcx {b}, {a}; adox {c}, {b}; adcx {a}, {c}',
                      [('rax', 64), ('rbx', 64), ('r9', 64)], fl_reader=True))
    return F


def host_flags():
    """The host CPU's feature flags, as the kernel lists them."""
    try:
        with open('/proc/cpuinfo') as fh:
            for line in fh:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


def hostext_forms():
    """The small extensions only -cpu host reports (run under it): CLFLUSHOPT
    and CLWB (no architectural effect, but they fault like a read of their
    byte), SERIALIZE, MOVDIRI.  Each only where the host has it (a SKIP line
    says which are left out)."""
    F = []
    have = host_flags()
    guard = 0x100000001000      # the harness's inaccessible guard page

    def fix_guard(rng, st):
        st['gpr'][0] = guard
    for flag in ('clflushopt', 'clwb'):
        if flag not in have:
            print(f'SKIP isa hostext: {flag}: the host lacks it')
            continue
        F.append(Form(f'{flag} {MEM}', [('rax', 64)], mem=64))
        F.append(Form(f'{flag} {MEM}; mov {MEM}, %rax', [('rax', 64)], mem=64))
        F.append(Form(f'{flag} 0x10(%rax)', [('rax', 64)], fix=fix_guard))
    if 'serialize' in have:
        F.append(Form('serialize', [('rax', 64)], fl_reader=True))
    else:
        print('SKIP isa hostext: serialize: the host lacks it')
    if 'movdiri' in have:
        for w in (32, 64):
            F.append(Form(f'movdiri {rname("rbx", w)}, {MEM}', [('rbx', w)], mem=64))
            F.append(Form(f'movdiri {rname("r10", w)}, 0x8(%rax)', [('r10', w)], fix=fix_guard))
    else:
        print('SKIP isa hostext: movdiri: the host lacks it')
    return F


def fsgsbase_forms():
    """FSGSBASE (rd/wr fs/gs base; run under -cpu host where the host has it
    and its kernel enables it).  Values are written and read back in one
    snippet (isa_resume puts the harness's bases back); a non-canonical
    64-bit value is #GP."""
    F = []

    def fix_canon(r64):
        def fix(rng, st):
            i = GPR.index(r64)
            v = st['gpr'][i]
            k = rng.random()
            if k < 0.45:
                st['gpr'][i] = v & 0x00007fffffffffff
            elif k < 0.9:
                st['gpr'][i] = v | 0xffff800000000000
        return fix
    for seg in ('fs', 'gs'):
        for w in (32, 64):
            a, b = rname('rax', w), rname('rbx', w)
            F.append(Form(f'wr{seg}base {a}; rd{seg}base %rbx', [('rax', 64), ('rbx', 64)],
                          fix=fix_canon('rax')))
            F.append(Form(f'wr{seg}base %r13; rd{seg}base {b}', [('r13', 64), ('rbx', 64)],
                          fix=fix_canon('r13')))
        F.append(Form(f'wr{seg}base %rax; rd{seg}base %rax; rd{seg}base %r8d', [('rax', 64)],
                      fix=fix_canon('rax')))
    # the new base is used by the next access through the segment
    F.append(Form('lea isa_mem(%rip), %rbx; wrgsbase %rbx; mov %gs:16, %rax', [('rax', 64)]))
    F.append(Form('lea isa_mem(%rip), %rbx; sub $8, %rbx; wrgsbase %rbx; movl %eax, %gs:24',
                  [('rax', 64)]))
    return F


def mmx_forms():
    """MMX and the MMX-register forms of SSE/SSSE3.  Each snippet starts from
    fninit, loads mm0 and mm1 from the window (+16, +24), runs the
    instruction, then stores the x87 environment at +0 (FCW, FSW with TOP,
    the full tag word; the pointers at +12..27 zeroed, as the CPU's are not
    loom's to reproduce) and ST(0), ST(1) as 80-bit values at +40 and +50:
    with TOP = 0 those are mm0 and mm1 with their all-ones exponents.
    Results stored to memory go to +28 or +60."""
    F = []
    M0, M1 = 'isa_mem+16(%rip)', 'isa_mem+24(%rip)'
    pre = f'fninit; movq {M0}, %mm0; movq {M1}, %mm1; '
    post = ('; fnstenv isa_mem+0(%rip); movq $0, isa_mem+12(%rip); movq $0, isa_mem+20(%rip)'
            '; fstpt isa_mem+40(%rip); fstpt isa_mem+50(%rip)')

    def form(body, regs=(), xmm=(), fp='i', fix=None, mx=False, p=pre):
        F.append(Form(p + body + post, [('rax', 64), ('rbx', 64), ('rdi', 64)] + list(regs), mem=128,
                      xmm=xmm, fp=fp, fix=fix, mxcsr_vary=mx))
    binops = ['paddb', 'paddw', 'paddd', 'paddq', 'psubb', 'psubw', 'psubd', 'psubq',
              'paddsb', 'paddsw', 'paddusb', 'paddusw', 'psubsb', 'psubsw', 'psubusb', 'psubusw',
              'pmullw', 'pmulhw', 'pmulhuw', 'pmuludq', 'pmaddwd', 'pcmpeqb', 'pcmpeqw', 'pcmpeqd',
              'pcmpgtb', 'pcmpgtw', 'pcmpgtd', 'pand', 'pandn', 'por', 'pxor',
              'punpcklbw', 'punpcklwd', 'punpckldq', 'punpckhbw', 'punpckhwd', 'punpckhdq',
              'packsswb', 'packssdw', 'packuswb', 'psllw', 'pslld', 'psllq', 'psrlw', 'psrld', 'psrlq',
              'psraw', 'psrad', 'pavgb', 'pavgw', 'pmaxub', 'pminub', 'pmaxsw', 'pminsw', 'psadbw',
              'pshufb', 'phaddw', 'phaddd', 'phaddsw', 'phsubw', 'phsubd', 'phsubsw', 'pmaddubsw',
              'pmulhrsw', 'psignb', 'psignw', 'psignd', 'pabsb', 'pabsw', 'pabsd']
    for op in binops:
        form(f'{op} %mm1, %mm0')
        form(f'{op} {M1}, %mm0')
    form('paddw %mm0, %mm0')

    def fix_count(rng, st):
        st['mem'][24:32] = rng.choice([0, 1, 3, 7, 8, 15, 16, 31, 32, 63, 64, 1 << 40]).to_bytes(8, 'little')
    for op in ('psllw', 'pslld', 'psllq', 'psrlw', 'psrld', 'psrlq', 'psraw', 'psrad'):
        form(f'{op} %mm1, %mm0', fix=fix_count)
        for imm in (0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 255):
            form(f'{op} ${imm}, %mm0')
    for imm in (0, 0x1b, 0x4e, 0xe4, 0xff, 0x39):
        form(f'pshufw ${imm}, %mm1, %mm0')
    form(f'pshufw $0x1b, {M1}, %mm0')
    for imm in (0, 1, 3, 7, 8, 9, 15, 16, 255):
        form(f'palignr ${imm}, %mm1, %mm0')
    form(f'palignr $3, {M1}, %mm0')
    for k in range(4):
        form(f'pextrw ${k}, %mm1, %eax')
        form(f'pinsrw ${k}, %ebx, %mm0')
    form(f'pinsrw $2, {M1}, %mm0')
    form('pmovmskb %mm1, %eax')
    form('pmovmskb %mm1, %rax')
    for t in ('movd %ebx, %mm0', 'movq %rbx, %mm0', 'movd %mm1, %eax', 'movq %mm1, %rax',
              'movq %mm1, %mm0', f'movq {M1}, %mm0', f'movd {M1}, %mm0', 'movd %mm1, isa_mem+60(%rip)',
              'movq %mm1, isa_mem+28(%rip)', 'movntq %mm1, isa_mem+28(%rip)', 'emms', 'movq %mm1, %mm7; emms',
              'movq %rbx, %mm5'):
        form(t)

    def fix_rdi(rng, st):
        st['gpr'][7] = MARK | rng.choice([0, 28, 33, 56])
    form('maskmovq %mm1, %mm0', fix=fix_rdi)
    form('movq2dq %mm1, %xmm0', xmm=(0,))
    form('movdq2q %xmm1, %mm0', xmm=(1,))
    # MMX state after x87 use: TOP back to 0, every tag valid
    form('paddb %mm1, %mm0', p='fninit; fld1; fldpi; fldz; ' + f'movq {M1}, %mm1; ')
    form('movq %mm1, %mm3', p='fninit; fld1; fldpi; ')
    # a pending unmasked x87 exception (zero divide) is taken by the MMX
    # instruction (#MF), before it changes anything
    for t in ('paddb %mm1, %mm0', 'movq %rbx, %mm2', 'emms', 'cvtpi2ps %mm1, %xmm0', f'pinsrw $1, {M1}, %mm0'):
        form(t, xmm=(0,), p=f'fninit; movq {M1}, %mm1; fninit; fldcw isa_mem+8(%rip); fldz; fld1; fdivp; ',
             fix=lambda rng, st: st['mem'].__setitem__(slice(8, 10), b'\x7b\x03'))
    for t, k in (('cvtpi2ps %mm1, %xmm0', 'ps'), (f'cvtpi2ps {M1}, %xmm0', 'ps'), ('cvtpi2pd %mm1, %xmm0', 'pd'),
                 (f'cvtpi2pd {M1}, %xmm0', 'pd'), ('cvtps2pi %xmm1, %mm0', 'ps'), ('cvttps2pi %xmm1, %mm0', 'ps'),
                 (f'cvtps2pi {M1}, %mm0', 'ps'), ('cvtpd2pi %xmm1, %mm0', 'pd'), ('cvttpd2pi %xmm1, %mm0', 'pd'),
                 (f'cvtpd2pi {M0}, %mm0', 'pd'), (f'cvttps2pi {M1}, %mm0', 'ps'), (f'cvttpd2pi {M0}, %mm0', 'pd')):
        form(t, xmm=(0, 1), fp=k, mx=True)
    return F


def misc_forms():
    """The rest of x86-64-v1/v2 that the other batches leave out: x87 control
    and state (through isa_scratch, then loaded back into registers), more
    x87 arithmetic forms, fences, prefetches and hint nops, MXCSR, the other
    SSE moves, flags and DF, ret, segment registers (mov, push, pop), and the
    instructions that trap in user mode (I/O, rsm, ud0)."""
    F = []
    A, B, R = 'isa_mem+16(%rip)', 'isa_mem+24(%rip)', 'isa_mem+32(%rip)'
    S = 'isa_scratch'
    regs = [('rax', 64), ('rbx', 64), ('rcx', 64), ('rdx', 64)]

    def x87(body):
        F.append(Form('fninit; ' + body + '; fnstsw %ax', regs, mem=128, fp='pd'))
    for t in (f'fldl {A}; fldl {B}; fcmovbe %st(1), %st; fstpl {R}', f'fldl {A}; fldl {B}; fcmovnb %st(1), %st; fstpl {R}',
              f'fldl {A}; fldl {B}; fcmovne %st(1), %st; fstpl {R}', f'fldl {A}; fldl {B}; fcmovnu %st(1), %st; fstpl {R}',
              f'fldl {A}; fldl {B}; fcomi %st(1), %st', f'fldl {A}; fcompl {B}', f'fldl {A}; ficomps {B}',
              f'fldl {A}; fldl {B}; fucom %st(1); fstpl {R}', f'fldl {A}; fldl {B}; fucomp %st(1); fstpl {R}',
              f'fldl {A}; fistl {R}', f'fldl {A}; fists {R}', f'fldl {A}; fstl {R}', f'fldl {A}; fld1; fst %st(1); fstpt {R}',
              f'fldl {A}; fbstp {R}', f'fldl {A}; fbstp {R}; fbld {R}; fstpl isa_mem+48(%rip)',
              f'fldl {A}; fld1; fdecstp; fstpt {R}', f'fldl {A}; fld1; fincstp; fstpt {R}',
              f'fldl {A}; fld1; ffree %st(1); fstpt {R}', f'fldl {A}; fld1; ffreep %st(0); fstpt {R}',
              f'fldl {A}; fnop; fwait; fstpt {R}', f'fldl {A}; fnstcw {R}', f'fldl {A}; fldz; fdivrp; fnclex; fstpt {R}',
              f'fldl {A}; .byte 0xdb, 0xe1; .byte 0xdb, 0xe0; .byte 0xdb, 0xe4; fstpt {R}',
              f'fldl {A}; fld1; .byte 0xd9, 0xd9; fstpt {R}',
              f'fldl {A}; fld1; fnstenv {S}(%rip); fldz; fldz; fldenv {S}(%rip); fstpt {R}',
              f'fldl {A}; fldpi; fnsave {S}(%rip); movq {S}+28(%rip), %rbx; movl {S}+4(%rip), %ecx; '
              f'fld1; frstor {S}(%rip); fstpt {R}; movl {S}+8(%rip), %edx',
              f'fldl {A}; fxsave {S}(%rip); movl {S}(%rip), %ebx; movzbl {S}+4(%rip), %ecx; movq {S}+32(%rip), %rdx; '
              f'fld1; movq %rdx, {S}+160(%rip); fxrstor {S}(%rip); fstpt {R}',
              f'fldl {A}; fxsave64 {S}(%rip); movq {S}+160(%rip), %rbx; movl {S}+24(%rip), %ecx; '
              f'movq %rbx, {S}+176(%rip); fxrstor64 {S}(%rip)'):
        x87(t)
    # SSE state, moves and fences
    xr = [('rax', 64), ('rbx', 64), ('rdi', 64)]

    def fix_mxcsr(rng, st):
        st['mem'][16:20] = (0x1f80 | rng.getrandbits(2) << 13 | rng.choice([0, 0x8040, 0x3f])).to_bytes(4, 'little')

    def fix_rdi(rng, st):
        st['gpr'][7] = MARK | rng.choice([0, 8, 16, 40, 48])
    for t, fx in ((f'ldmxcsr {A}; stmxcsr {R}', fix_mxcsr), (f'stmxcsr {R}', None), ('maskmovdqu %xmm1, %xmm0', fix_rdi),
                  ('movapd %xmm1, %xmm0', None), (f'movapd {A}, %xmm0', None), ('movupd %xmm1, %xmm0', None),
                  (f'movupd {A}, %xmm0', None), (f'movupd %xmm1, {A}', None), (f'movntdq %xmm1, {A}', None),
                  (f'movnti %rbx, {A}', None), (f'movnti %ebx, {A}', None), (f'movntpd %xmm1, {A}', None),
                  (f'movntps %xmm1, {A}', None), (f'movntdqa {A}, %xmm0', None), ('lfence', None), ('mfence', None),
                  ('sfence', None), (f'clflush {A}', None), ('pause', None), (f'prefetchnta {A}', None),
                  (f'prefetcht0 {A}', None), (f'prefetcht1 {A}', None), (f'prefetcht2 {A}', None),
                  (f'prefetchw {A}', None), (f'prefetch {A}', None), ('nopl (%rax)', None), ('nopw 8(%rax,%rbx,2)', None),
                  ('.byte 0x0f, 0x19, 0x00', None), ('.byte 0x0f, 0x0d, 0x30', None), ('.byte 0x0f, 0x0d, 0xc0', None),
                  ('.byte 0x0f, 0x1a, 0xc0', None), ('.byte 0x0f, 0x1e, 0x00', None), ('.byte 0x0f, 0x1b, 0x08', None),
                  ('.byte 0xf3, 0x0f, 0x1b, 0x00', None), ('.byte 0x66, 0x0f, 0x1a, 0xc1', None),
                  ('.byte 0xf3, 0x0f, 0x1a, 0x00', None), ('.byte 0xf2, 0x0f, 0x1a, 0x00', None),
                  ('.byte 0xf2, 0x0f, 0x1b, 0x00', None), ('.byte 0x0f, 0x1a, 0x00', None),
                  ('.byte 0x66, 0x0f, 0x1b, 0x08', None)):
        F.append(Form(t, xr, xmm=(0, 1), mem=128, fp='i', fix=fx))
    # flags, DF, 16-bit pushf/popf (popf keeps TF clear: it would trap)
    def fix_popf(rng, st):
        st['mem'][32:34] = (rng.getrandbits(16) & 0x0cd5).to_bytes(2, 'little')
    F.append(Form('std', [('rax', 64)], fl_reader=True))
    F.append(Form('std; cld', [('rax', 64)], fl_reader=True))
    F.append(Form('pushfw', [('rax', 64)], mem=64, fl_reader=True))
    F.append(Form('popfw', [('rax', 64)], mem=64, fix=fix_popf))
    F.append(Form('popfw; pushfq', [('rax', 64)], mem=64, fix=fix_popf))
    F.append(Form('lea 1f(%rip), %rax; push %rax; ret; 1:', [('rax', 64)], mem=64))
    F.append(Form('lea 1f(%rip), %rax; push %rax; push %rax; push %rax; ret $16; 1:', [('rax', 64)], mem=64))
    F.append(Form('movl $500, %eax; syscall', [('rax', 64), ('rcx', 64), ('r11', 64)], fl_reader=True))
    # descriptor tables: selectors of Linux's GDT (null, kernel and user code
    # and data, TSS) and random ones; system register reads.  Not 0x7b, the
    # per-cpu segment: its limit is the number of the cpu the run is on.
    def fix_sel(rng, st):
        st['gpr'][3] = rng.getrandbits(48) << 16 | rng.choice([0, 0x8, 0x10, 0x18, 0x23, 0x2b, 0x33, 0x40,
                                                                0x3, 0x2a, rng.getrandbits(16)])
        if st['gpr'][3] & 0xfffc == 0x78:
            st['gpr'][3] ^= 0x100
    for t in ('larl %ebx, %eax', 'larq %rbx, %rax', 'larw %bx, %ax', f'larl {A}, %eax', 'lsll %ebx, %eax',
              'lslq %rbx, %rax', 'lslw %bx, %ax', 'verr %bx', 'verw %bx', f'verr {A}'):
        F.append(Form(t, [('rax', 64)], mem=16, fix=fix_sel, fl_reader=True))
    for t in ('sldt %eax', 'sldt %ax', 'sldt %rax', f'sldt {A}', 'str %eax', 'str %ax', f'str {A}',
              'smsw %eax', 'smsw %ax', 'smsw %rax', f'smsw {A}', f'sgdt {A}', f'sidt {A}'):
        F.append(Form(t, [('rax', 64)], mem=128))
    # segment registers: mov Sreg loads (checked against Linux's GDT: null,
    # null with RPL, user data/code, 32-bit code, the per-cpu segment,
    # kernel, TSS, empty TLS slots, LDT, random), mov/push read back the
    # selector, FS/GS loads zero the base (a load through it reads the
    # window), pop, and the encodings that are #UD in 64-bit mode
    SELS = [0, 1, 2, 3, 0x2b, 0x33, 0x23, 0x7b, 0x28, 0x2a, 0x10, 0x18, 0x43, 0x63, 0x6b, 0x04, 0x0f]

    def sel(rng):
        return rng.choice(SELS) if rng.random() < 0.7 else rng.getrandbits(16)

    def fix_seg(rng, st, rb=False):
        def v():
            x = sel(rng)
            # A null selector with RPL 1-3 reads back as 0 once an interrupt
            # returned (iret nulls it): natively the read is a race, so
            # forms that read the selector back load plain 0 instead.
            return 0 if rb and x & 0xfffc == 0 else x
        st['gpr'][3] = rng.getrandbits(48) << 16 | v()                # rbx
        put_mem(st, 16, 64, rng.getrandbits(48) << 16 | v())          # A
        put_mem(st, 32, 64, rng.getrandbits(48) << 16 | v())          # the stack top, for pop
        st['gpr'][6] = MARK | rng.choice([0, 8, 16, 40])             # rsi: into the window

    def fix_seg_rb(rng, st):
        fix_seg(rng, st, True)
    sregs = ('es', 'ds', 'ss', 'fs', 'gs')
    seg_regs = [('rax', 64), ('rcx', 64), ('rdx', 64)]
    for sr in sregs:
        for t in (f'movw %bx, %{sr}', f'movl %ebx, %{sr}', f'movq %rbx, %{sr}', f'movw {A}, %{sr}',
                  f'movw %bx, %{sr}; movw %{sr}, %ax', f'movw {A}, %{sr}; movl %{sr}, %eax',
                  f'movl %ebx, %{sr}; movq %{sr}, %rax', f'movw %bx, %{sr}; movw %{sr}, {B}',
                  f'movw %{sr}, %ax', f'movl %{sr}, %eax', f'movq %{sr}, %rax', f'movw %{sr}, {A}'):
            F.append(Form(t, seg_regs, mem=64, fix=fix_seg_rb if ';' in t else fix_seg))
    for t in ('movw %cs, %ax', 'movl %cs, %eax', 'movq %cs, %rax', f'movw %cs, {A}',
              '.byte 0x48, 0x8c, 0x1e',                 # rex.w mov %ds, (%rsi): 16 bits
              '.byte 0x48, 0x8c, 0x26',                 # rex.w mov %fs, (%rsi)
              'movw %bx, %fs; movq %fs:(%rsi), %rax', 'movw %bx, %gs; movq %gs:8(%rsi), %rax',
              'movw %bx, %gs; addq %gs:(%rsi), %rax', 'movw %bx, %ss; movq %rsp, %rax',
              'pushq %fs', 'pushq %gs', 'pushw %fs', 'pushw %gs', 'popq %fs', 'popq %gs', 'popw %fs', 'popw %gs',
              'popq %gs; movq %gs:(%rsi), %rax',
              '.byte 0x8e, 0xcb', '.byte 0x8e, 0xf3', '.byte 0x8e, 0xfb', '.byte 0x8c, 0xf0', '.byte 0x8c, 0xf8',
              '.byte 0xf0, 0x8e, 0xc3', '.byte 0xf0, 0x8c, 0xc0', '.byte 0x66, 0x8e, 0xc3', '.byte 0x48, 0x8e, 0x06',
              '.byte 0x06', '.byte 0x07', '.byte 0x0e', '.byte 0x16', '.byte 0x17', '.byte 0x1e', '.byte 0x1f'):
        F.append(Form(t, seg_regs, mem=64, fix=fix_seg))
    for t in (f'movw {A}, %fs; movl %fs:(%rsi), %eax; movw %fs, %cx', 'movw %bx, %fs; pushq %fs',
              'movw %bx, %gs; pushw %gs', 'popq %fs; movl %fs, %eax', 'popw %fs; movw %fs, %cx'):
        F.append(Form(t, seg_regs, mem=64, fix=fix_seg_rb))
    # trap in user mode: #GP (I/O without IOPL) or #UD.  Not sysenter: on
    # AMD it is #UD, but on Intel it enters the kernel's 32-bit compat entry,
    # which runs the 32-bit system call numbered by eax (random here) and
    # returns in compat mode into a 32-bit vDSO a 64-bit process does not
    # have -- an outcome of the host's kernel, no oracle for loom.
    for t in ('outb %al, %dx', 'outb %al, $0x80', 'outl %eax, %dx', 'insb', 'insw', 'insl', 'outsb', 'outsw', 'outsl',
              'rsm', 'ud0 %eax, %eax', '.byte 0x0f, 0xff, 0xc0', f'lgdt {A}', f'lidt {A}', 'lldt %ax',
              'ltr %ax', 'lmsw %ax', 'clts', f'invlpg {A}', 'invd', 'wbinvd', 'rdmsr', 'wrmsr', 'swapgs', 'sysretq',
              '.byte 0x0f, 0x35', 'hlt', 'rdpmc', 'int $4', 'int $5'):
        F.append(Form(t, [('rax', 64), ('rdx', 64)]))
    return F


from gen_avx import AVX_BATCHES, avx_forms, avx2_forms, fma_forms  # noqa: E402


def main():
    out = sys.argv[1]
    n = 24
    seed = 1
    batches = ['int', 'alias', 'pair', 'mem', 'string', 'sse', 'sse4', 'x87', 'bmi', 'crypto', 'mmx', 'misc']
    counts_only = False
    lo, hi = 0, None
    a = sys.argv[2:]
    while a:
        if a[0] == '--cases':
            n = int(a[1]); a = a[2:]
        elif a[0] == '--seed':
            seed = int(a[1]); a = a[2:]
        elif a[0] == '--batch':
            batches = a[1].split(','); a = a[2:]
        elif a[0] == '--forms':
            lo, _, h = a[1].partition(':')
            lo, hi = int(lo or 0), (int(h) if h else None); a = a[2:]
        elif a[0] == '--counts-only':   # no case records (coverage.sh)
            counts_only = True; a = a[1:]
        else:
            sys.exit(f'gen.py: unknown argument {a[0]}')
    os.makedirs(out, exist_ok=True)
    for batch in batches:
        forms = {'int': int_forms, 'sse': sse_forms, 'alias': alias_forms,
                 'string': string_forms, 'pair': pair_forms, 'mem': mem_forms,
                 'sse4': sse4_forms, 'x87': x87_forms, 'bmi': bmi_forms,
                 'crypto': crypto_forms, 'mmx': mmx_forms, 'misc': misc_forms,
                 'adx': adx_forms, 'fsgsbase': fsgsbase_forms, 'hostext': hostext_forms,
                 'avx': lambda: avx_forms(Form), 'avx2': lambda: avx2_forms(Form),
                 'fma': lambda: fma_forms(Form)}[batch]()
        total = len(forms)
        forms = forms[lo:hi]
        uses_avx = batch in AVX_BATCHES
        rng = random.Random(f'{seed}-{batch}' if lo == 0 else f'{seed}-{batch}-{lo}')
        recs = []
        counts = []
        for k, f in enumerate(forms):
            m = max(n, 64) if f.fl_reader and n >= 16 else n
            counts.append(m)
            for i in range(0 if counts_only else m):
                recs.append(pack(k, make_case(rng, f, i, m)))
        with open(os.path.join(out, batch + '.counts'), 'w') as fh:
            fh.write(''.join(f'{m}\n' for m in counts))
        with open(os.path.join(out, batch + '.cases'), 'wb') as fh:
            fh.write(struct.pack('<QQ', MAGIC, len(recs)))
            fh.write(b''.join(recs))
        with open(os.path.join(out, batch + '.S'), 'w') as fh:
            fh.write(f'# generated by tests/isa/gen.py: batch {batch}, {len(forms)} forms\n')
            fh.write('\t.text\n')
            for k, f in enumerate(forms):
                text = f.text.split(' #')[0]
                fh.write(f'isa_snip_{k}:\n\t{text}\nisa_snip_{k}_end:\n\tjmp isa_done\n')
            fh.write('\t.section .rodata\n\t.align 8\n\t.globl isa_snips, isa_nsnips, isa_cases\n')
            fh.write(f'\t.globl isa_avx\nisa_avx: .byte {int(uses_avx)}\n\t.align 8\n')
            fh.write(f'isa_nsnips: .quad {len(forms)}\nisa_snips:\n')
            for k in range(len(forms)):
                fh.write(f'\t.quad isa_snip_{k}, isa_snip_{k}_end\n')
            fh.write(f'\t.align 16\nisa_cases: .incbin "{batch}.cases"\n')
            fh.write('\t.section .note.GNU-stack,"",@progbits\n')
        part = '' if (lo, hi) == (0, None) else f' (forms {lo}..{lo + len(forms) - 1} of {total})'
        print(f'{batch}: {len(forms)} forms, {sum(counts)} cases{part}')


main()
