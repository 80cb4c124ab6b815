#!/usr/bin/env python3
"""Record what a real NBD server sends during one negotiation, as a seed for
fuzz-nego: a relay on a Unix socket between the client and the server's
Unix socket that writes the server-to-client bytes, after a variant byte,
to OUT.

    capture.py SERVER_SOCKET RELAY_SOCKET OUT VARIANT

Run the client against RELAY_SOCKET (nbd-client --check -u RELAY_SOCKET,
-l, ...); the relay serves one connection and exits.  See README.md.
"""
import os
import select
import socket
import sys

server_path, relay_path, out, variant = sys.argv[1:5]
try:
    os.unlink(relay_path)
except FileNotFoundError:
    pass
ls = socket.socket(socket.AF_UNIX)
ls.bind(relay_path)
ls.listen(1)
c, _ = ls.accept()
s = socket.socket(socket.AF_UNIX)
s.connect(server_path)
got = bytearray()
open_ends = {c: s, s: c}
while open_ends:
    r, _, _ = select.select(list(open_ends), [], [], 10)
    if not r:
        break
    for a in r:
        data = a.recv(65536)
        if not data:
            b = open_ends.pop(a)
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            continue
        if a is s:
            got += data
        try:
            open_ends[a].sendall(data)
        except OSError:
            pass
with open(out, "wb") as f:
    f.write(bytes([int(variant, 0)]) + bytes(got))
os.unlink(relay_path)
