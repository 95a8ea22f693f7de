#!/usr/bin/env python3
"""Damaged inputs for loom-cov: every prefix of a file, and random byte
changes (seeded, so a failure reproduces).  loom-cov must answer each with
exit 0, or exit 1 and exactly one line "loom-cov: FILE: ..."; anything else
(a crash, a sanitizer report, a second line) is a failure.

  mutate.py LOOM-COV summary FILE COUNT        damage FILE, run 'summary'
  mutate.py LOOM-COV lcov ELF OFFSET COUNT     damage ELF's DWARF sections, run
                                               'export --format lcov' on a block at OFFSET
"""
import random
import struct
import subprocess
import sys

random.seed(1)


def debug_sections(data):
    """(offset, size) of .debug_* sections, from the ELF64 section headers."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    stroff = hdrs[shstrndx][4]
    out = []
    for h in hdrs:
        name = data[stroff + h[0]:data.index(b"\0", stroff + h[0])]
        if name.startswith(b".debug_") and h[5]:
            out.append((h[4], h[5]))
    return out


def run(cmd, victim):
    r = subprocess.run(cmd, capture_output=True, timeout=20)
    err = r.stderr.decode(errors="replace").rstrip("\n").split("\n")
    if r.returncode == 0 and (b"Sanitizer" not in r.stderr and b"runtime error" not in r.stderr):
        return None
    if r.returncode == 1 and len(err) >= 1 and all(
            e.startswith("loom-cov: note: ") for e in err[:-1]) and err[-1].startswith("loom-cov: "):
        return None
    return "exit %d: %s" % (r.returncode, " | ".join(err[:3]))


def main(argv):
    lc, mode = argv[0], argv[1]
    failures = 0
    if mode == "summary":
        path, count = argv[2], int(argv[3])
        data = open(path, "rb").read()
        cases = [data[:i] for i in range(0, len(data), max(1, len(data) // 300))]
        for _ in range(count):
            b = bytearray(data)
            for _ in range(random.randint(1, 4)):
                b[random.randrange(len(b))] = random.randrange(256)
            cases.append(bytes(b))
        for i, c in enumerate(cases):
            with open("mut.in", "wb") as f:
                f.write(c)
            why = run([lc, "summary", "mut.in"], "mut.in")
            if why:
                failures += 1
                if failures <= 3:
                    print("    case %d: %s" % (i, why))
        n = len(cases)
    else:
        elf, off, count = argv[2], int(argv[3], 0), int(argv[4])
        data = open(elf, "rb").read()
        secs = debug_sections(data)
        with open("mut.drcov", "wb") as f:
            hdr = ("DRCOV VERSION: 2\nDRCOV FLAVOR: drcov-64\nModule Table: version 2, count 1\n"
                   "Columns: id, base, end, entry, path\n"
                   "  0, 0x00007f0000000000, 0x00007f0000100000, 0x0000000000000000, mut.elf\n"
                   "BB Table: 1 bbs\n")
            f.write(hdr.encode() + struct.pack("<IHH", off, 64, 0))
        for i in range(count):
            b = bytearray(data)
            so, ss = random.choice(secs)
            for _ in range(random.randint(1, 3)):
                b[so + random.randrange(ss)] = random.randrange(256)
            with open("mut.elf", "wb") as f:
                f.write(b)
            why = run([lc, "export", "--format", "lcov", "mut.drcov", "-o", "mut.info"], "mut.info")
            if why:
                failures += 1
                if failures <= 3:
                    print("    case %d: %s" % (i, why))
        n = count
    print("%d cases, %d failures" % (n, failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
