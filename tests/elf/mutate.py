#!/usr/bin/env python3
"""The mutated-ELF corpus: ELF acceptance and refusal, native vs loom.

usage: mutate.py LOOM WORKDIR COUNT SEED_ELF... [-- RUNNER]

Writes COUNT deterministic mutants of the seed programs into WORKDIR (header
fields, program header fields, overlapping segments, odd alignments, PT_PHDR
placement, e_ident bytes, truncation, huge p_memsz, extra segments at fixed
addresses such as 0x80000000, PT_INTERP paths, #! lines), runs them all with
the exec harness (runner.c) natively and then the harness under loom, and
compares the outcome class of each: exit status, signal, execve errno or
timeout.  Natively every mutant runs twice; one whose two native outcomes
differ (address-space randomization) is reported as skipped, not compared.
Prints a PASS or FAIL line per mutant, a table of outcome classes (native vs
loom) and "N passed, N failed, N skipped".
"""
import collections
import os
import random
import stat
import struct
import subprocess
import sys

PT_LOAD, PT_INTERP, PT_PHDR, PT_NOTE, PT_GNU_STACK = 1, 3, 6, 4, 0x6474E551
EH_FMT = '<16sHHIQQQIHHHHHH'
PH_FMT = '<IIQQQQQQ'
PH_FIELDS = ['p_type', 'p_flags', 'p_offset', 'p_vaddr', 'p_paddr', 'p_filesz', 'p_memsz', 'p_align']
PH_OFF = {'p_type': (0, 'I'), 'p_flags': (4, 'I'), 'p_offset': (8, 'Q'), 'p_vaddr': (16, 'Q'),
          'p_paddr': (24, 'Q'), 'p_filesz': (32, 'Q'), 'p_memsz': (40, 'Q'), 'p_align': (48, 'Q')}
EH_OFF = {'e_type': (16, 'H'), 'e_machine': (18, 'H'), 'e_version': (20, 'I'), 'e_entry': (24, 'Q'),
          'e_phoff': (32, 'Q'), 'e_shoff': (40, 'Q'), 'e_flags': (48, 'I'), 'e_ehsize': (52, 'H'),
          'e_phentsize': (54, 'H'), 'e_phnum': (56, 'H'), 'e_shentsize': (58, 'H'),
          'e_shnum': (60, 'H'), 'e_shstrndx': (62, 'H')}
# Addresses for segments of their own: low, the 2 GiB line, 4 GiB, high
# user space, the last page, beyond user space, kernel space.
ADDRS = [0x1000, 0x10000, 0x200000, 0x80000000, 0x7ffff000, 0x100000000, 0x200000000000,
         0x7ffffffde000, 0x7fffffffe000, 0x7ffffffff000, 0x800000000000, 0xffff800000000000]
BIG = [0, 1, 0xfff, 0x1000, 0x1001, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
       0x7ffffffff000, 0x800000000000, 1 << 63, (1 << 64) - 1, (1 << 64) - 0x1000]


class Elf:
    def __init__(self, data):
        self.b = bytearray(data)

    def get(self, fmt, off):
        if off + struct.calcsize(fmt) > len(self.b):
            return 0    # a truncated file reads as zeroes, as the kernel's buffer does
        return struct.unpack_from('<' + fmt, self.b, off)[0]

    def put(self, fmt, off, val):
        if off + struct.calcsize(fmt) > len(self.b):
            return
        mask = (1 << (8 * struct.calcsize(fmt))) - 1
        struct.pack_into('<' + fmt, self.b, off, val & mask)

    def eh(self, name, val=None):
        off, fmt = EH_OFF[name]
        if val is None:
            return self.get(fmt, off)
        self.put(fmt, off, val)

    def phdrs(self):
        phoff, n = self.eh('e_phoff'), self.eh('e_phnum')
        return [phoff + 56 * i for i in range(min(n, 64)) if phoff + 56 * (i + 1) <= len(self.b)]

    def ph(self, o, name, val=None):
        off, fmt = PH_OFF[name]
        if val is None:
            return self.get(fmt, o + off)
        self.put(fmt, o + off, val)

    def of_type(self, t):
        return [o for o in self.phdrs() if self.ph(o, 'p_type') == t]


def near(rng, v):
    return v + rng.choice([-0x1000, -8, -1, 1, 8, 0x1000, 0x10000, rng.randrange(-0x100000, 0x100000)])


def m_ident(rng, e):
    i = rng.randrange(4, 16)
    if i >= len(e.b):
        return 'e_ident[%d] (past the end)' % i
    e.b[i] = rng.choice([0, 1, 2, 3, 0x7f, 0xff, rng.randrange(256)])
    return 'e_ident[%d]' % i


def m_magic(rng, e):
    i = rng.randrange(0, 4)
    if i >= len(e.b):
        return 'magic[%d] (past the end)' % i
    e.b[i] ^= 1 << rng.randrange(8)
    return 'magic[%d]' % i


def m_ehdr(rng, e):
    name = rng.choice(list(EH_OFF))
    cur = e.eh(name)
    if name == 'e_type':
        v = rng.choice([0, 1, 2, 3, 4, 0xfe00, 0xffff, rng.randrange(65536)])
    elif name == 'e_machine':
        v = rng.choice([0, 3, 40, 62, 183, 243, rng.randrange(65536)])
    elif name == 'e_phentsize':
        v = rng.choice([0, 32, 55, 57, 64, 112])
    elif name == 'e_phnum':
        v = rng.choice([0, 1, cur - 1, cur + 1, 1170, 1171, 0xffff])
    elif name in ('e_phoff', 'e_entry'):
        v = rng.choice([near(rng, cur), rng.choice(BIG), len(e.b), len(e.b) - 56])
    else:
        v = rng.choice([0, 1, cur + 1, rng.randrange(1 << 16), (1 << 32) - 1])
    e.eh(name, v)
    return '%s=%#x' % (name, v & ((1 << 64) - 1))


def m_phdr(rng, e):
    phs = e.phdrs()
    if not phs:
        return m_ident(rng, e)
    o = rng.choice(phs)
    name = rng.choice(PH_FIELDS)
    cur = e.ph(o, name)
    if name == 'p_type':
        v = rng.choice([0, PT_LOAD, 2, PT_INTERP, PT_NOTE, PT_PHDR, 7, PT_GNU_STACK, 0x6474e552,
                        0x70000000, rng.randrange(1 << 32)])
    elif name == 'p_flags':
        v = rng.randrange(8) | rng.choice([0, 0, 0x100, 0x80000000])
    elif name == 'p_align':
        v = rng.choice([0, 1, 3, 8, 0x1000, 0x1001, 0x200000, 1 << 30, 1 << 40, 1 << 63])
    else:
        v = rng.choice([near(rng, cur), rng.choice(BIG), cur & ~0xfff, cur | 0xfff])
    e.ph(o, name, v)
    return 'phdr@%#x.%s=%#x' % (o, name, v & ((1 << 64) - 1))


def m_overlap(rng, e):
    loads = e.of_type(PT_LOAD)
    if len(loads) < 2:
        return m_phdr(rng, e)
    a, b = rng.sample(loads, 2)
    # b moves onto a (same page offset as its file offset, so it maps)
    va, vb, ob = e.ph(a, 'p_vaddr'), e.ph(b, 'p_vaddr'), e.ph(b, 'p_offset')
    nv = (va & ~0xfff) + (ob & 0xfff) + rng.choice([0, 0x1000, e.ph(a, 'p_memsz') & ~0xfff])
    e.ph(b, 'p_vaddr', nv)
    return 'overlap %#x onto %#x' % (vb, nv)


def m_memsz(rng, e):
    loads = e.of_type(PT_LOAD)
    if not loads:
        return m_phdr(rng, e)
    o = rng.choice(loads)
    v = rng.choice([1 << 30, 1 << 36, 1 << 44, 0x7ffffffff000, 1 << 63, (1 << 64) - 1,
                    e.ph(o, 'p_memsz') + 0x100000])
    e.ph(o, 'p_memsz', v)
    return 'p_memsz=%#x' % v


def m_align(rng, e):
    loads = e.of_type(PT_LOAD)
    if not loads:
        return m_phdr(rng, e)
    o = rng.choice(loads)
    kind = rng.randrange(3)
    if kind == 0:      # vaddr off the file offset's page position
        e.ph(o, 'p_vaddr', e.ph(o, 'p_vaddr') + rng.choice([1, 8, 0x800]))
        return 'vaddr misaligned'
    if kind == 1:      # both moved by the same odd amount: still congruent
        d = rng.choice([8, 0x10, 0x800])
        e.ph(o, 'p_vaddr', e.ph(o, 'p_vaddr') + d)
        e.ph(o, 'p_offset', e.ph(o, 'p_offset') + d)
        return 'segment shifted by %#x' % d
    e.ph(o, 'p_align', rng.choice([0, 3, 0x10000, 0x200000, 1 << 21, 1 << 32]))
    return 'p_align'


def m_phdr_place(rng, e):
    phdrs = e.of_type(PT_PHDR)
    phs = e.phdrs()
    if not phdrs or len(phs) < 2:
        return m_extra_segment(rng, e)
    p = phdrs[0]
    kind = rng.randrange(3)
    if kind == 0:      # PT_PHDR moved after the PT_LOADs
        last = phs[-1]
        tmp = bytes(e.b[p:p + 56])
        e.b[p:p + 56] = e.b[last:last + 56]
        e.b[last:last + 56] = tmp
        return 'PT_PHDR last'
    if kind == 1:
        e.ph(p, 'p_vaddr', near(rng, e.ph(p, 'p_vaddr')))
        return 'PT_PHDR vaddr'
    e.ph(p, 'p_type', PT_NOTE)
    return 'no PT_PHDR'


def m_extra_segment(rng, e):
    # A header nobody needs (PT_NOTE, PT_GNU_STACK, ...) becomes a PT_LOAD
    # of the file's first page at a fixed address.
    cands = [o for o in e.phdrs() if e.ph(o, 'p_type') not in (PT_LOAD, PT_INTERP, PT_PHDR)]
    if not cands:
        return m_phdr(rng, e)
    o = rng.choice(cands)
    a = rng.choice(ADDRS)
    e.ph(o, 'p_type', PT_LOAD)
    e.ph(o, 'p_flags', rng.choice([4, 5, 6]))
    e.ph(o, 'p_offset', 0)
    e.ph(o, 'p_vaddr', a)
    e.ph(o, 'p_filesz', 0x100)
    e.ph(o, 'p_memsz', rng.choice([0x100, 0x1000, 0x3000]))
    e.ph(o, 'p_align', 0x1000)
    return 'extra PT_LOAD at %#x' % a


def m_truncate(rng, e):
    n = rng.choice([0, 1, 3, 4, 16, 52, 63, 64, 100, rng.randrange(len(e.b)), len(e.b) - 1,
                    len(e.b) // 2])
    del e.b[n:]
    return 'truncated to %d' % n


def m_interp(rng, e):
    ints = e.of_type(PT_INTERP)
    if not ints:
        return m_ehdr(rng, e)
    o = ints[0]
    off, n = e.ph(o, 'p_offset'), e.ph(o, 'p_filesz')
    kind = rng.randrange(7)
    if kind == 0:
        e.ph(o, 'p_filesz', rng.choice([0, 1, 4097, 5000]))
        return 'PT_INTERP size'
    if kind == 6:      # the path cannot be read: EIO
        e.ph(o, 'p_offset', len(e.b) + rng.choice([0, 100, 1 << 20]))
        return 'PT_INTERP past the end of the file'
    if kind == 1:
        if 0 < off + n <= len(e.b):
            e.b[off + n - 1] = ord('x')
        return 'PT_INTERP not NUL-terminated'
    # (relative paths name the helpers in the working directory, where
    # every mutant runs)
    paths = [b'/no/such/ld.so', b'/tmp', b'/etc/passwd', b'/bin/sh', b'./', b'/dev/null',
             b'./i-text', b'./i-short', b'./i-arm', b'./i-noexec', b'./i-script']
    s = rng.choice(paths)
    if len(s) + 1 <= n and off + n <= len(e.b):
        e.b[off:off + n] = s + bytes(n - len(s))
    return 'PT_INTERP=%s' % s.decode()


MUTATORS = [(m_ident, 4), (m_magic, 1), (m_ehdr, 4), (m_phdr, 8), (m_overlap, 3), (m_memsz, 2),
            (m_align, 3), (m_phdr_place, 2), (m_extra_segment, 3), (m_truncate, 2), (m_interp, 4)]
WEIGHTED = [m for m, w in MUTATORS for _ in range(w)]

SCRIPTS = [b'#!/bin/sh\nexit 3\n', b'#! /bin/sh -e\nexit 4\n', b'#!\n', b'#!/no/such/sh\n',
           b'#!/bin/sh' + b' ' * 300 + b'\n', b'#!/tmp\n', b'#!/etc/passwd\n', b'',
           b'\x7fEL', b'hello\n', b'#!/bin/sh -c "exit 5"\n',
           b'#!./s-chain3\n', b'#!./s-chain4\n', b'#!./i-text\n', b'#!./i-arm\n',
           b'#!/bin/echo' + b'x' * 300, b'#!/bin/sh\t-e \t\nexit 7\n']


def helpers(work, seeds):
    """Files the mutants name as interpreters: a text file, a file shorter
    than an ELF header, an ELF for another machine, a file without execute
    permission, a script; and a chain of #! scripts five deep."""
    tiny = bytearray(seeds[0][1])
    arm = bytearray(tiny)
    struct.pack_into('<H', arm, 18, 183)
    files = {'i-text': (b'just text\n', 0o755), 'i-short': (b'\x7fELF\x02\x01\x01', 0o755),
             'i-arm': (bytes(arm), 0o755), 'i-noexec': (bytes(tiny), 0o644),
             'i-script': (b'#!/bin/sh\nexit 9\n', 0o755),
             's-chain0': (b'#!/bin/sh\nexit 6\n', 0o755)}
    for k in range(1, 6):
        files['s-chain%d' % k] = (b'#!./s-chain%d\n' % (k - 1), 0o755)
    for name, (data, mode) in files.items():
        path = os.path.join(work, name)
        with open(path, 'wb') as f:
            f.write(data)
        os.chmod(path, mode)


def mutant(rng, seeds, i):
    """(bytes, mode, description) of mutant number i."""
    if i % 37 == 0:
        data = SCRIPTS[(i // 37) % len(SCRIPTS)]
        return data, 0o755, 'script %r' % data[:24]
    name, data = seeds[i % len(seeds)]
    e = Elf(data)
    descs = [rng.choice(WEIGHTED)(rng, e) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    mode = 0o755 if i % 211 else 0o644
    return bytes(e.b), mode, '%s: %s%s' % (name, '; '.join(descs), '' if mode == 0o755 else '; not executable')


def run(cmd, timeout, cwd):
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         timeout=timeout, cwd=cwd).stdout.decode(errors='replace')
    res = {}
    for line in out.splitlines():
        path, _, cls = line.partition(' ')
        res[path] = cls
    return res


def main():
    args = sys.argv[1:]
    runner = None
    if '--' in args:
        k = args.index('--')
        runner = args[k + 1]
        args = args[:k]
    loom, work, count, seeds = args[0], args[1], int(args[2]), args[3:]
    seeds = [(os.path.basename(s), open(s, 'rb').read()) for s in seeds]
    rng = random.Random(11)
    os.makedirs(work, exist_ok=True)
    helpers(work, seeds)
    files, descs = [], {}
    for i in range(count):
        data, mode, desc = mutant(rng, seeds, i)
        path = os.path.join(work, 'm%04d' % i)
        with open(path, 'wb') as f:
            f.write(data)
        os.chmod(path, mode)
        files.append(path)
        descs[path] = desc
    timeout_ms = 3000
    batch = 50
    native, native2, under = {}, {}, {}
    for k in range(0, len(files), batch):
        chunk = files[k:k + batch]
        limit = 60 + len(chunk) * 8
        native.update(run([runner, str(timeout_ms)] + chunk, limit, work))
        native2.update(run([runner, str(timeout_ms)] + chunk, limit, work))
        under.update(run([loom, runner, str(timeout_ms)] + chunk, limit * 4, work))
    passed = failed = skipped = 0
    # A difference that belongs to the exec loop, not to the loader: an
    # instruction fetch from a file page past the end of the file is SIGBUS
    # natively and SIGSEGV under loom.  Shown as skipped (never as passed)
    # until the exec loop tells the two apart.
    def known(n, u, desc):
        if n == 'signal 7' and u == 'signal 11':
            return 'an instruction fetch from a page past the end of the file is SIGBUS natively'
        return None
    table = collections.Counter()
    for path in files:
        n, n2, u = native.get(path, 'missing'), native2.get(path, 'missing'), under.get(path, 'missing')
        name = os.path.basename(path)
        if n != n2:
            print('SKIP %s (%s): native outcome unstable (%s / %s)' % (name, descs[path], n, n2))
            skipped += 1
            continue
        table[(n, u)] += 1
        why = known(n, u, descs[path])
        if n != u and why:
            print('SKIP %s (%s): native %s, loom %s: known exec-loop difference: %s' %
                  (name, descs[path], n, u, why))
            skipped += 1
            continue
        if n == u:
            print('PASS %s (%s): %s' % (name, descs[path], n))
            passed += 1
        else:
            print('FAIL %s (%s): native %s, loom %s' % (name, descs[path], n, u))
            failed += 1
    # The table groups exit statuses other than 0 (the classes compared
    # above are exact).
    def group(c):
        return 'exit N>0' if c.startswith('exit ') and c != 'exit 0' else c
    grouped = collections.Counter()
    for (n, u), c in table.items():
        grouped[(group(n), group(u) if n != u else group(n), n == u)] += c
    print('\noutcome classes (native -> loom: mutants)')
    for (n, u, same), c in sorted(grouped.items(), key=lambda kv: -kv[1]):
        print('  %-16s -> %-16s %5d%s' % (n, u, c, '' if same else '   MISMATCH'))
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
