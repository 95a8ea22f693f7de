#!/usr/bin/env python3
"""An independent reader and writer of coverage files, for tests/cov/run.sh.

Written from the formats' public descriptions, not from loom's C code:
drcov as DynamoRIO's drcov writes it (the "DrCov file format" write-up,
DynamoRIO's drcovlib headers, Lighthouse's documented expectations), and
modoff and loom's bitmap from docs/coverage.md.

  drcov.py check-truth FILE.drcov TRUTH       strict drcov v2 check against covtest's truth
  drcov.py check-modoff FILE TRUTH            modoff lines against the truth
  drcov.py check-bitmap FILE TRUTH PATH       bitmap of module PATH against the truth
  drcov.py craft KIND OUT                     write a crafted drcov file (KIND below)
  drcov.py expect KIND                        its blocks as sorted 'name+0xoffset' lines
  drcov.py dump FILE                          any drcov file as sorted 'name+0xoffset'
  drcov.py modules FILE                       its module table: 'path base end entry' (hex)
  drcov.py write-drcov OUT SPEC               drcov v2 from 'M path base end' / 'B mod off size' lines

Exit status 0 when the check holds; otherwise a message and 1.
"""
import os
import re
import struct
import sys

HEX_FIELDS = {"base", "start", "end", "entry", "offset", "preferred_base", "checksum", "timestamp"}


class DrcovError(Exception):
    pass


class Drcov:
    def __init__(self):
        self.version = None
        self.flavor = None
        self.table_version = None
        self.columns = []
        self.modules = []       # dicts keyed by column name
        self.bbs = []           # (start, size, mod_id)
        self.text_table = False
        self.raw_module_lines = []


def parse(data):
    d = Drcov()
    pos = 0

    def line():
        nonlocal pos
        nl = data.find(b"\n", pos)
        if nl < 0:
            raise DrcovError("file ends inside the header")
        s = data[pos:nl].decode("utf-8")
        pos = nl + 1
        return s.rstrip("\r")

    m = re.fullmatch(r"DRCOV VERSION: (\d+)", line())
    if not m:
        raise DrcovError("bad version line")
    d.version = int(m.group(1))
    m = re.fullmatch(r"DRCOV FLAVOR: (.+)", line())
    if not m:
        raise DrcovError("bad flavor line")
    d.flavor = m.group(1)
    hdr = line()
    m = re.fullmatch(r"Module Table: version (\d+), count (\d+)", hdr)
    if m:
        d.table_version, count = int(m.group(1)), int(m.group(2))
    else:
        m = re.fullmatch(r"Module Table: (\d+)", hdr)
        if not m:
            raise DrcovError("bad module table line %r" % hdr)
        d.table_version, count = 1, int(m.group(1))
    if d.table_version == 1:
        d.columns = ["id", "size", "path"]
    else:
        m = re.fullmatch(r"Columns: (.+)", line())
        if not m:
            raise DrcovError("bad Columns line")
        d.columns = [c.strip() for c in m.group(1).split(",")]
        if d.columns[-1] != "path":
            raise DrcovError("last column is not path")
    for i in range(count):
        raw = line()
        d.raw_module_lines.append(raw)
        fields = raw.split(",", len(d.columns) - 1)
        if len(fields) != len(d.columns):
            raise DrcovError("module line %d has %d fields" % (i, len(fields)))
        mod = {}
        for name, val in zip(d.columns, fields):
            val = val.strip()
            if name == "path":
                mod[name] = val
            elif name in HEX_FIELDS:
                mod[name] = int(val, 16)
            else:
                mod[name] = int(val, 10)
        if mod["id"] != i:
            raise DrcovError("module id %d at row %d" % (mod["id"], i))
        d.modules.append(mod)
    m = re.fullmatch(r"BB Table: (\d+) bbs", line())
    if not m:
        raise DrcovError("bad BB Table line")
    nbbs = int(m.group(1))
    rest = data[pos:]
    if rest.startswith(b"module id, start, size:"):
        d.text_table = True
        lines = rest.decode("utf-8").split("\n")[1:]
        lines = [ln for ln in lines if ln.strip()]
        if len(lines) != nbbs:
            raise DrcovError("%d text bbs, %d announced" % (len(lines), nbbs))
        for ln in lines:
            m = re.fullmatch(r"\s*module\[\s*(\d+)\]: 0x([0-9a-fA-F]+),\s*(\d+)\s*", ln)
            if not m:
                raise DrcovError("bad bb line %r" % ln)
            d.bbs.append((int(m.group(2), 16), int(m.group(3)), int(m.group(1))))
    else:
        if len(rest) != 8 * nbbs:
            raise DrcovError("binary BB table of %d bytes, %d entries announced" % (len(rest), nbbs))
        for i in range(nbbs):
            d.bbs.append(struct.unpack_from("<IHH", rest, 8 * i))
    return d


def container(d, i):
    """The row a module row belongs to: its containing_id, when that names
    a row with the same path (segments share their module's path); -1 and
    anything else mean the row is a module of its own."""
    c = d.modules[i].get("containing_id", i)
    if c < 0 or c > i or d.modules[c]["path"] != d.modules[i]["path"]:
        return i
    return c


def module_offsets(d):
    """(path, offset-from-module-base, size) of every bb whose module is known.

    From table version 3 on, a module may be split into segments: rows that
    name their first segment in containing_id; a bb's start is relative to
    its own segment."""
    out = []
    for start, size, mod_id in d.bbs:
        if mod_id >= len(d.modules):
            continue
        seg = d.modules[mod_id]
        top = d.modules[container(d, mod_id)]
        base_key = "base" if "base" in seg else "start"
        if d.table_version == 1:
            delta = 0
        else:
            delta = seg[base_key] - top[base_key]
        out.append((top["path"], delta + start, size))
    return out


def modoff_names(paths):
    """Basename; the k-th distinct path sharing a basename gets '#k' (k >= 2)."""
    names, seen = {}, {}
    for p in paths:
        if p in names:
            continue
        b = os.path.basename(p.replace("\\", "/")) or p
        seen.setdefault(b, []).append(p)
        k = len(seen[b])
        names[p] = b if k == 1 else "%s#%d" % (b, k)
    return names


def read_truth(path):
    mods, blocks = [], set()
    with open(path) as f:
        for ln in f:
            parts = ln.rstrip("\n").split(" ", 5)
            if parts[0] == "M":
                mods.append((int(parts[1]), int(parts[2], 16), int(parts[3], 16),
                             int(parts[4], 16), parts[5]))
            elif parts[0] == "B":
                blocks.add((int(parts[1]), int(parts[2], 16), int(parts[3])))
    return mods, blocks


def fail(msg):
    print("drcov.py: " + msg)
    sys.exit(1)


def check_truth(file, truth):
    with open(file, "rb") as f:
        data = f.read()
    d = parse(data)
    mods, blocks = read_truth(truth)
    # What DynamoRIO writes on Linux x86-64 (and drcov2lcov insists on).
    if d.version != 2 or d.table_version != 2:
        fail("versions %s/%s, want 2/2" % (d.version, d.table_version))
    if d.flavor != "drcov-64":
        fail("flavor %r" % d.flavor)
    if d.columns != ["id", "base", "end", "entry", "path"]:
        fail("columns %r" % d.columns)
    for raw in d.raw_module_lines:
        if not re.fullmatch(r"[ \d]{2}\d, 0x[0-9a-f]{16}, 0x[0-9a-f]{16}, 0x[0-9a-f]{16}, .+", raw):
            fail("module line not in DynamoRIO's layout: %r" % raw)
    if d.text_table:
        fail("text BB table; binary expected")
    # Lighthouse splits header lines once at ": ", the BB count at " ",
    # module rows at ", " (path last), and needs ids 0..N-1.
    header = data.split(b"\n", 4 + len(d.modules) + 1)
    for ln in header[2:4] + [header[4 + len(d.modules)]]:
        if len(ln.decode().split(": ")) != 2:
            fail("header line %r does not split in two at ': '" % ln)
    if len(header[4 + len(d.modules)].decode().split(": ")[1].split(" ")) != 2:
        fail("BB Table line does not read 'N bbs'")
    for raw in d.raw_module_lines:
        if ", " not in raw.split(", ", 4)[-1] and len(raw.split(", ")) != 5:
            fail("module row %r does not split into 5 fields" % raw)
    got_mods = [(m["id"], m["base"], m["end"], m["entry"], m["path"]) for m in d.modules]
    if got_mods != mods:
        fail("module table differs:\n%r\n%r" % (got_mods, mods))
    got = [(mod, start, size) for start, size, mod in d.bbs]
    if len(got) != len(set(got)):
        fail("duplicate bbs")
    if set(got) != blocks:
        fail("bbs differ: %d extra, %d missing" % (len(set(got) - blocks), len(blocks - set(got))))
    # Lighthouse's view: module by file name, bb offsets from the base.
    if any(m["end"] <= m["base"] for m in d.modules):
        fail("a module with end <= base")
    print("ok: %d modules, %d bbs" % (len(d.modules), len(d.bbs)))


def check_modoff(file, truth):
    mods, blocks = read_truth(truth)
    names = modoff_names([m[4] for m in mods])
    want = set("%s+0x%x" % (names[mods[mod][4]], off) for mod, off, size in blocks)
    with open(file, "rb") as f:
        raw = f.read().split(b"\n")
    if raw[-1] != b"":
        fail("no final newline")
    lines = raw[:-1]
    if lines != sorted(lines):
        fail("lines not sorted bytewise")
    if len(lines) != len(set(lines)):
        fail("duplicate lines")
    got = set()
    for ln in lines:
        name, off = ln.decode().rsplit("+", 1)   # as Lighthouse splits them
        got.add("%s+0x%x" % (name, int(off, 16)))
    if got != want:
        fail("modoff differs: %d extra, %d missing" % (len(got - want), len(want - got)))
    print("ok: %d lines" % len(lines))


def parse_bitmap(data):
    hdr = {}
    pos = 0
    keys = ["magic", "what", "Start", "Size", "Granularity", "Bits"]
    for k in keys:
        nl = data.index(b"\n", pos)
        ln = data[pos:nl].decode()
        pos = nl + 1
        if k == "magic":
            if ln != "LOOM BITMAP: version 1":
                raise DrcovError("bad magic")
        elif k == "what":
            hdr["module"] = ln[len("Module: "):] if ln.startswith("Module: ") else None
            if hdr["module"] is None and ln != "Addresses: absolute":
                raise DrcovError("bad second line")
        else:
            name, val = ln.split(": ")
            if name != k:
                raise DrcovError("expected %s" % k)
            hdr[k] = int(val, 0)
    bits = data[pos:]
    if len(bits) != (hdr["Bits"] + 7) // 8:
        raise DrcovError("bits length")
    g = hdr["Granularity"]
    if hdr["Bits"] != -(-hdr["Size"] // g):
        raise DrcovError("Bits does not match Size/Granularity")
    setbits = {i for i in range(hdr["Bits"]) if bits[i // 8] >> (i % 8) & 1}
    return hdr, setbits


def check_bitmap(file, truth, path):
    mods, blocks = read_truth(truth)
    with open(file, "rb") as f:
        hdr, setbits = parse_bitmap(f.read())
    if hdr["module"] != path:
        fail("module %r" % hdr["module"])
    ids = [m[0] for m in mods if m[4] == path]
    span = max(m[2] - m[1] for m in mods if m[4] == path)
    if hdr["Start"] != 0 or hdr["Size"] != span:
        fail("range 0x%x+0x%x, want 0+0x%x" % (hdr["Start"], hdr["Size"], span))
    g = hdr["Granularity"]
    want = set()
    for mod, off, size in blocks:
        if mod in ids:
            want.update(range(off // g, (off + max(size, 1) - 1) // g + 1))
    if setbits != want:
        fail("bits differ: %d extra, %d missing" % (len(setbits - want), len(want - setbits)))
    print("ok: %d of %d bits" % (len(setbits), hdr["Bits"]))


# ---- crafted inputs with known answers ----

def _v2(mods, bbs, text=False, flavor="drcov-64"):
    out = ["DRCOV VERSION: 2", "DRCOV FLAVOR: " + flavor,
           "Module Table: version 2, count %d" % len(mods),
           "Columns: id, base, end, entry, path"]
    for i, (path, base, end) in enumerate(mods):
        out.append("%3d, 0x%016x, 0x%016x, 0x%016x, %s" % (i, base, end, 0, path))
    out.append("BB Table: %d bbs" % len(bbs))
    data = ("\n".join(out) + "\n").encode()
    if text:
        data += b"module id, start, size:\n"
        for mod, start, size in bbs:
            data += ("module[%3d]: 0x%016x, %3d\n" % (mod, start, size)).encode()
    else:
        for mod, start, size in bbs:
            data += struct.pack("<IHH", start, size, mod)
    return data


CRAFT_MODS = [("/bin/app", 0x400000, 0x480000), ("/lib/libz.so.1", 0x7f0000000000, 0x7f0000020000)]
CRAFT_BBS = [(0, 0x1000, 12), (0, 0x1010, 4), (1, 0x300, 9), (0, 0x1000, 12),
             (0xffff, 0x12345, 5), (1, 0x10, 2)]


def craft(kind):
    if kind == "v2bin":
        return _v2(CRAFT_MODS, CRAFT_BBS)
    if kind == "v2text":
        return _v2(CRAFT_MODS, CRAFT_BBS, text=True)
    if kind == "v2win":      # Windows columns: checksum and timestamp
        out = ["DRCOV VERSION: 2", "DRCOV FLAVOR: drcov", "Module Table: version 2, count 1",
               "Columns: id, base, end, entry, checksum, timestamp, path",
               "  0, 0x0000000140000000, 0x0000000140050000, 0x0000000140001000, "
               "0x0001abcd, 0x5f000000, C:\\app\\app.exe", "BB Table: 1 bbs"]
        return ("\n".join(out) + "\n").encode() + struct.pack("<IHH", 0x1234, 7, 0)
    if kind == "v1":         # DynamoRIO 6.1: "Module Table: N", rows "id, size, path"
        out = ["DRCOV VERSION: 2", "DRCOV FLAVOR: drcov", "Module Table: 2",
               "  0, 524288, /bin/app", "  1, 131072, /lib/libz.so.1", "BB Table: 2 bbs"]
        return ("\n".join(out) + "\n").encode() + struct.pack("<IHHIHH", 0x20, 3, 0, 0x40, 5, 1)
    if kind == "v4seg":      # segments: rows 1 and 2 belong to module 0
        out = ["DRCOV VERSION: 2", "DRCOV FLAVOR: drcov-64", "Module Table: version 4, count 3",
               "Columns: id, containing_id, start, end, entry, offset, path",
               "  0,   0, 0x0000555555554000, 0x0000555555555000, 0x0000555555555040, 0x00000000, /bin/seg",
               "  1,   0, 0x0000555555555000, 0x0000555555556000, 0x0000555555555040, 0x00001000, /bin/seg",
               "  2,   0, 0x0000555555558000, 0x0000555555559000, 0x0000555555555040, 0x00003000, /bin/seg",
               "BB Table: 3 bbs"]
        return ("\n".join(out) + "\n").encode() + struct.pack(
            "<IHHIHHIHH", 0x10, 4, 0, 0x20, 6, 1, 0x30, 8, 2)
    if kind == "v4foreign":  # other tools' tables: containing_id -1, or 0 in every row
        out = ["DRCOV VERSION: 2", "DRCOV FLAVOR: drcov", "Module Table: version 4, count 3",
               "Columns: id, containing_id, start, end, entry, offset, path",
               "0, -1, 0x400000, 0x450000, 0x401000, 0x0, /bin/test",
               "1, 0, 0x7F0000000000, 0x7F0000010000, 0x0, 0x0, /lib/liba.so",
               "2, 0, 0x7F1000000000, 0x7F1000010000, 0x0, 0x0, /lib/libb.so",
               "BB Table: 3 bbs"]
        return ("\n".join(out) + "\n").encode() + struct.pack(
            "<IHHIHHIHH", 0x10, 4, 0, 0x20, 6, 1, 0x30, 8, 2)
    if kind == "v5dr3":      # DynamoRIO 8+: drcov version 3, table version 5, text bbs
        out = ["DRCOV VERSION: 3", "DRCOV FLAVOR: drcov-64", "Module Table: version 5, count 2",
               "Columns: id, containing_id, start, end, entry, offset, preferred_base, path",
               "  0,   0, 0x00007f0000000000, 0x00007f0000001000, 0x0000000000000000, "
               "0000000000000000, 0x0000000000000000,  /lib/x.so",
               "  1,   0, 0x00007f0000001000, 0x00007f0000003000, 0x0000000000000000, "
               "0000000000001000, 0x0000000000001000,  /lib/x.so",
               "BB Table: 2 bbs", "module id, start, size:",
               "module[  0]: 0x0000000000000100,   3", "module[  1]: 0x0000000000000200,   5"]
        return ("\n".join(out) + "\n").encode()
    raise SystemExit("unknown kind " + kind)


def dump_lines(d):
    paths = []
    for m in d.modules:
        if container(d, m["id"]) == m["id"]:
            paths.append(m["path"])
    names = modoff_names(paths)
    return sorted(set("%s+0x%08x" % (names[p], off) for p, off, size in module_offsets(d)))


def write_drcov(out, spec):
    mods, bbs = [], []
    with open(spec) as f:
        for ln in f:
            p = ln.split()
            if not p:
                continue
            if p[0] == "M":
                mods.append((p[1], int(p[2], 0), int(p[3], 0)))
            elif p[0] == "B":
                bbs.append((int(p[1]), int(p[2], 0), int(p[3], 0)))
    with open(out, "wb") as f:
        f.write(_v2(mods, bbs))


def main(argv):
    try:
        if argv[0] == "check-truth":
            check_truth(argv[1], argv[2])
        elif argv[0] == "check-modoff":
            check_modoff(argv[1], argv[2])
        elif argv[0] == "check-bitmap":
            check_bitmap(argv[1], argv[2], argv[3])
        elif argv[0] == "craft":
            with open(argv[2], "wb") as f:
                f.write(craft(argv[1]))
        elif argv[0] == "expect":
            for ln in dump_lines(parse(craft(argv[1]))):
                print(ln)
        elif argv[0] == "dump":
            with open(argv[1], "rb") as f:
                for ln in dump_lines(parse(f.read())):
                    print(ln)
        elif argv[0] == "modules":
            with open(argv[1], "rb") as f:
                for mod in parse(f.read()).modules:
                    print("%s 0x%x 0x%x 0x%x" % (mod["path"], mod.get("base", mod.get("start", 0)),
                                                 mod["end"], mod.get("entry", 0)))
        elif argv[0] == "write-drcov":
            write_drcov(argv[1], argv[2])
        else:
            raise SystemExit(__doc__)
    except (DrcovError, ValueError, KeyError, IndexError) as e:
        fail("%s: %s" % (argv[1] if len(argv) > 1 else "?", e))


if __name__ == "__main__":
    main(sys.argv[1:])
