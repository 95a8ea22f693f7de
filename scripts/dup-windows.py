#!/usr/bin/env python3
# Near-duplicate runs between two C files: both are normalised (comments,
# blank lines and lone braces dropped, identifiers -> I, numbers -> N,
# whitespace removed) and every window of 6 consecutive normalised lines
# one file shares with the other is counted; windows that touch or overlap
# (within 3 source lines) merge into one run.
#
#   scripts/dup-windows.py A.c B.c [-v]
#
# Prints "shared windows: W; runs in A: RA; runs in B: RB" and with -v
# the source line ranges of the runs.
import re
import sys

N = 6


def normalise(path):
    out = []
    for ln, line in enumerate(open(path), 1):
        t = re.sub(r'/\*.*?\*/|//.*', '', line).strip()
        if not t or t.startswith('*') or t.startswith('/*') or t in ('{', '}'):
            continue
        t = re.sub(r'\b[A-Za-z_][A-Za-z_0-9]*\b', 'I', t)
        t = re.sub(r'\b\d+\b', 'N', t)
        out.append((ln, re.sub(r'\s+', '', t)))
    return out


def windows(lines):
    d = {}
    for i in range(len(lines) - N + 1):
        d.setdefault(tuple(t for _, t in lines[i:i + N]), []).append(lines[i][0])
    return d


def runs(starts):
    r = []
    for ln in starts:
        if r and ln - r[-1][1] <= 3:
            r[-1][1] = ln
        else:
            r.append([ln, ln])
    return r


def main():
    if len(sys.argv) < 3:
        sys.exit('usage: dup-windows.py A.c B.c [-v]')
    wa, wb = windows(normalise(sys.argv[1])), windows(normalise(sys.argv[2]))
    shared = set(wa) & set(wb)
    ra = runs(sorted(ln for k in shared for ln in wa[k]))
    rb = runs(sorted(ln for k in shared for ln in wb[k]))
    print(f'shared windows: {len(shared)}; runs in A: {len(ra)}; runs in B: {len(rb)}')
    if '-v' in sys.argv[3:]:
        for a, b in ra:
            print(f'A {a}-{b}')
        for a, b in rb:
            print(f'B {a}-{b}')


main()
