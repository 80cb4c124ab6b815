#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A man in the middle between an NBD client and a real (TLS) server.

Usage: mitm.py --mode MODE --upstream HOST:PORT --client-bytes FILE
               [--port-file FILE] [--timeout SECS]
               [--record FILE] [--replay FILE]
       mitm.py --describe FILE

Listens on 127.0.0.1 (a random port, printed on stdout and written to
--port-file), takes ONE client connection, connects to the upstream server
(not in replay mode) and plays MODE; every byte the client sends is saved
to --client-bytes, written when the client has closed (or --timeout, default
30 s, has passed), and the relay exits.

Modes:
  pass              relay both ways, untouched (with --record FILE: save
                    what the server sent, for replay)
  starttls-unsup    the server's greeting is relayed; the relay itself
  starttls-policy   answers the client's NBD_OPT_STARTTLS with
  starttls-invalid  NBD_REP_ERR_UNSUP / ERR_POLICY / ERR_INVALID (and any
                    other option with ERR_UNSUP, NBD_OPT_ABORT with ACK)
  no-fixed-newstyle the server's greeting with NBD_FLAG_FIXED_NEWSTYLE
                    cleared; nothing else is relayed
  fake-ack          the server's greeting; the relay answers STARTTLS with
                    NBD_REP_ACK, and the client's next bytes (its
                    ClientHello) with a plaintext GO reply (NBD_INFO_EXPORT,
                    1 MiB, and NBD_REP_ACK)
  cut-handshake     relay both ways, but of the server's bytes only the
                    greeting, the STARTTLS ACK and the first CUT_BYTES (100)
                    of its TLS handshake; then both connections are closed
  replay            no server: what --record saved (from a pass session) is
                    sent to the new client, each chunk once the client has
                    sent something new where the recorded client had

--describe FILE prints what the client sent, one line each: FLAGS 0x%08x,
OPT <name> len=<n> for a plaintext option, TLS <content type> len=<n> for a
TLS record, RAW <n> for anything else (then stops).
Python 3 standard library only.
"""

import argparse
import json
import os
import select
import socket
import struct
import sys
import time

IHAVEOPT = b"IHAVEOPT"
REPLY_MAGIC = 0x0003E889045565A9
OPT_ABORT, OPT_STARTTLS, OPT_GO = 2, 5, 7
OPT_NAMES = {
    1: "EXPORT_NAME", 2: "ABORT", 3: "LIST", 4: "PEEK_EXPORT",
    5: "STARTTLS", 6: "INFO", 7: "GO", 8: "STRUCTURED_REPLY",
    9: "LIST_META_CONTEXT", 10: "SET_META_CONTEXT", 11: "EXTENDED_HEADERS",
}
REP_ACK, REP_INFO = 1, 3
REP_ERR = {"starttls-unsup": (1 << 31) + 1, "starttls-policy": (1 << 31) + 2,
           "starttls-invalid": (1 << 31) + 3}
ERR_UNSUP = (1 << 31) + 1
TLS_TYPES = {20: "change_cipher_spec", 21: "alert", 22: "handshake",
             23: "application_data"}
CUT_BYTES = 100
# fake-ack: a GO reply (NBD_INFO_EXPORT: 1 MiB, HAS_FLAGS; then ACK)
FAKE_GO = (struct.pack(">QIII", REPLY_MAGIC, OPT_GO, REP_INFO, 12) +
           struct.pack(">HQH", 0, 1 << 20, 1) +
           struct.pack(">QIII", REPLY_MAGIC, OPT_GO, REP_ACK, 0))


class Done(Exception):
    """A side closed, or the time is up."""


class Relay:
    def __init__(self, client, deadline):
        self.client = client
        self.server = None
        self.deadline = deadline
        self.from_client = b""     # everything the client sent
        self.cbuf = b""            # client bytes not yet consumed
        self.recorded = []         # [client bytes seen, server chunk]

    def left(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Done()
        return left

    def recv(self, sock, wait=None):
        sock.settimeout(min(self.left(), wait) if wait else self.left())
        try:
            data = sock.recv(65536)
        except socket.timeout:
            if wait:
                return None
            raise Done()
        except OSError:
            data = b""
        if not data:
            raise Done()
        if sock is self.client:
            self.from_client += data
            self.cbuf += data
        return data

    def client_exact(self, n):
        while len(self.cbuf) < n:
            self.recv(self.client)
        data, self.cbuf = self.cbuf[:n], self.cbuf[n:]
        return data

    def server_exact(self, n):
        buf = b""
        while len(buf) < n:
            buf += self.recv(self.server)
        return buf

    def send(self, sock, data):
        sock.settimeout(self.left())
        try:
            sock.sendall(data)
        except OSError:
            raise Done()

    def reply(self, opt, rtype, payload=b""):
        self.send(self.client, struct.pack(">QIII", REPLY_MAGIC, opt, rtype,
                                           len(payload)) + payload)

    def option(self):
        hdr = self.client_exact(16)
        if hdr[:8] != IHAVEOPT:
            raise Done()
        opt, n = struct.unpack(">II", hdr[8:])
        self.client_exact(n)
        return opt

    def drain(self):
        while True:
            self.recv(self.client)

    def pump(self, limit=None):
        """Relay both ways; with limit, close both after relaying limit
        bytes from the server."""
        socks = [self.client, self.server]
        sent = 0
        while True:
            r, _, _ = select.select(socks, [], [], self.left())
            for s in r:
                data = self.recv(s)
                if s is self.client:
                    self.cbuf = b""
                    self.send(self.server, data)
                    continue
                self.recorded.append([len(self.from_client), data])
                if limit is not None:
                    data = data[:limit - sent]
                self.send(self.client, data)
                sent += len(data)
                if limit is not None and sent >= limit:
                    raise Done()

    def greeting(self, clear_fixed=False):
        g = self.server_exact(18)
        if clear_fixed:
            (flags,) = struct.unpack(">H", g[16:])
            g = g[:16] + struct.pack(">H", flags & ~1)
        self.send(self.client, g)
        if not clear_fixed:
            self.client_exact(4)

    def replay(self, chunks):
        seen = 0
        for before, data in chunks:
            if before > seen:
                # wait (up to 2 s) for the client to say something new
                end = time.monotonic() + 2
                n = len(self.from_client)
                while len(self.from_client) == n and \
                        time.monotonic() < end:
                    self.recv(self.client, wait=end - time.monotonic())
                seen = before
            self.send(self.client, data)
        self.drain()


def play(relay, mode, args):
    if mode == "replay":
        with open(args.replay) as f:
            chunks = [(b, bytes.fromhex(d)) for b, d in json.load(f)]
        return relay.replay(chunks)
    host, port = args.upstream.rsplit(":", 1)
    relay.server = socket.create_connection((host, int(port)), timeout=5)
    if mode == "pass":
        return relay.pump()
    if mode == "cut-handshake":
        # greeting (18), the STARTTLS ACK (20), then CUT_BYTES of TLS
        return relay.pump(limit=18 + 20 + CUT_BYTES)
    if mode == "no-fixed-newstyle":
        relay.greeting(clear_fixed=True)
        return relay.drain()
    relay.greeting()
    while True:
        opt = relay.option()
        if opt == OPT_ABORT:
            relay.reply(opt, REP_ACK)
            return relay.drain()
        if opt == OPT_STARTTLS and mode in REP_ERR:
            relay.reply(opt, REP_ERR[mode], b"refused by the man in the middle")
        elif opt == OPT_STARTTLS and mode == "fake-ack":
            relay.reply(opt, REP_ACK)
            relay.recv(relay.client)   # the ClientHello
            relay.send(relay.client, FAKE_GO)
            return relay.drain()
        else:
            relay.reply(opt, ERR_UNSUP)


def describe(data):
    lines = []
    if len(data) >= 4:
        lines.append("FLAGS 0x%08x" % struct.unpack(">I", data[:4]))
        data = data[4:]
    while data:
        if data[:8] == IHAVEOPT and len(data) >= 16:
            opt, n = struct.unpack(">II", data[8:16])
            lines.append("OPT %s len=%d" % (OPT_NAMES.get(opt, "0x%x" % opt),
                                            n))
            data = data[16 + n:]
        elif len(data) >= 5 and data[0] in TLS_TYPES and data[1] == 3:
            (n,) = struct.unpack(">H", data[3:5])
            lines.append("TLS %s len=%d" % (TLS_TYPES[data[0]], n))
            data = data[5 + n:]
        else:
            lines.append("RAW %d" % len(data))
            break
    return lines


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=["pass", "starttls-unsup",
                                       "starttls-policy", "starttls-invalid",
                                       "no-fixed-newstyle", "fake-ack",
                                       "cut-handshake", "replay"])
    ap.add_argument("--upstream")
    ap.add_argument("--client-bytes")
    ap.add_argument("--port-file")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--record")
    ap.add_argument("--replay")
    ap.add_argument("--describe")
    args = ap.parse_args()
    if args.describe:
        with open(args.describe, "rb") as f:
            lines = describe(f.read())
        if lines:
            print("\n".join(lines))
        return 0
    if not args.mode or not args.client_bytes or \
            (args.mode == "replay") != bool(args.replay) or \
            (args.mode != "replay" and not args.upstream):
        ap.error("--mode, --client-bytes and --upstream (or, for replay, "
                 "--replay) are required")
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    port = lsock.getsockname()[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    print(port, flush=True)
    lsock.settimeout(args.timeout)
    try:
        client, _ = lsock.accept()
    except socket.timeout:
        return 1
    finally:
        lsock.close()
    relay = Relay(client, time.monotonic() + args.timeout)
    try:
        play(relay, args.mode, args)
    except (Done, OSError):
        pass
    finally:
        for s in (relay.client, relay.server):
            if s is not None:
                s.close()
        with open(args.client_bytes, "wb") as f:
            f.write(relay.from_client)
        if args.record:
            with open(args.record, "w") as f:
                json.dump([[b, d.hex()] for b, d in relay.recorded], f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
