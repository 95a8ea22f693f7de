#!/usr/bin/env python3
"""Write crafted bzImage-like files for tests/system/run.sh's bad-input cases.

    craft.py KIND OUT

KIND: good (a well-formed 2.15 header, 4 setup sectors, 4 KiB of kernel),
nohdrs (no "HdrS"), old (protocol 2.10), no64 (xloadflags without
XLF_KERNEL_64), zimage (loadflags without LOADED_HIGH), short (cut inside
the setup code), trunc (the kernel shorter than syssize says), huge
(init_size of 1 GiB), smallcmd (cmdline_size 16).  Field offsets are the
Linux boot protocol's (Documentation/arch/x86/boot.rst).
"""
import struct
import sys

kind, out = sys.argv[1], sys.argv[2]
setup_sects = 4
setup = bytearray((setup_sects + 1) * 512)
kernel = bytes(4096)


def put(fmt, off, val):
    struct.pack_into("<" + fmt, setup, off, val)


put("B", 0x1f1, setup_sects)
put("I", 0x1f4, len(kernel) // 16)          # syssize
put("H", 0x1fe, 0xaa55)                     # boot_flag
setup[0x200:0x202] = bytes([0xeb, 0x6a])    # jmp over the header (to 0x26c)
setup[0x202:0x206] = b"HdrS"
put("H", 0x206, 0x020f)                     # version 2.15
put("B", 0x211, 0x01)                       # loadflags: LOADED_HIGH
put("I", 0x214, 0x100000)                   # code32_start
put("I", 0x22c, 0x7fffffff)                 # initrd_addr_max
put("I", 0x230, 0x200000)                   # kernel_alignment
put("B", 0x234, 1)                          # relocatable_kernel
put("H", 0x236, 0x0003)                     # xloadflags: KERNEL_64, CAN_BE_LOADED_ABOVE_4G
put("I", 0x238, 2047)                       # cmdline_size
put("Q", 0x258, 0x1000000)                  # pref_address
put("I", 0x260, 0x10000)                    # init_size

if kind == "nohdrs":
    setup[0x202:0x206] = b"\0\0\0\0"
elif kind == "old":
    put("H", 0x206, 0x020a)
elif kind == "no64":
    put("H", 0x236, 0)
elif kind == "zimage":
    put("B", 0x211, 0)
elif kind == "huge":
    put("I", 0x260, 0x40000000)
elif kind == "smallcmd":
    put("I", 0x238, 16)
elif kind not in ("good", "short", "trunc"):
    sys.exit("craft.py: unknown kind " + kind)

data = bytes(setup) + kernel
if kind == "short":
    data = data[:0x300]
elif kind == "trunc":
    data = data[:len(setup) + 1024]
with open(out, "wb") as f:
    f.write(data)
