#!/usr/bin/env python3
"""A client for loom-system's (and qemu-system's) HMP monitor on a Unix
socket: hmp.py SOCKET COMMAND...  sends each COMMAND in turn and prints
what the monitor answered to it, without the "(qemu) " prompt."""
import socket
import sys

s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(120)


def until_prompt():
    b = b""
    while not b.endswith(b"(qemu) "):
        d = s.recv(65536)
        if not d:
            break
        b += d
    return b.decode(errors="replace").replace("\r", "")


until_prompt()
for c in sys.argv[2:]:
    s.sendall(c.encode() + b"\n")
    out = until_prompt()
    sys.stdout.write(out[:-7] if out.endswith("(qemu) ") else out)
