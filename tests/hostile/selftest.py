#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Self-test for hostile_server.py: drive every mode with a raw-socket client
and check the bytes on the wire and the server's log.  Prints TAP.
Run: prove --exec '' tests/hostile/selftest.py (the suite runs it through
tests/hostile/00-selftest.t)"""

import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "hostile_server.py")

REPLY_MAGIC = 0x0003E889045565A9
OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_STARTTLS = 1, 2, 3, 5
OPT_INFO, OPT_GO, OPT_STRUCTURED_REPLY = 6, 7, 8
REP_ACK, REP_SERVER, REP_INFO = 1, 2, 3
ERR = 1 << 31
(ERR_UNSUP, ERR_POLICY, ERR_INVALID, ERR_PLATFORM, ERR_TLS_REQD,
 ERR_UNKNOWN, ERR_SHUTDOWN, ERR_BLOCK_SIZE_REQD) = range(ERR + 1, ERR + 9)
INFO_EXPORT, INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE = 0, 1, 2, 3
SIZE, TFLAGS = 1 << 20, 1 | 4
CLIENTHELLO = b"\x16\x03\x01\x00\x2f\x01\x00\x00\x2b\x03\x03" + bytes(42)
# One well-framed TLS record (header + 48-byte body), as drip-tls reads it.
TLSRECORD = b"\x16\x03\x01\x00\x30\x01\x00\x00\x2c\x03\x03" + bytes(42)
GREETING = b"NBDMAGICIHAVEOPT\x00\x03"


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def eq(got, want, what):
    if got != want:
        raise Fail("%s: got %r, want %r" % (what, got, want))


class Server:
    def __init__(self, mode, timeout=10, args=()):
        self.dir = tempfile.mkdtemp(prefix="hostile-selftest.")
        self.log = os.path.join(self.dir, "log")
        pf = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen(
            [sys.executable, SERVER, "--mode", mode, "--log", self.log,
             "--port-file", pf, "--timeout", str(timeout)] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        end = time.monotonic() + 5
        while not os.path.exists(pf):
            if time.monotonic() > end or self.proc.poll() is not None:
                raise Fail("server did not write its port file")
            time.sleep(0.01)
        with open(pf) as f:
            self.port = int(f.read())
        eq(int(self.proc.stdout.readline()), self.port, "port on stdout")

    def wait(self, t=5):
        """Wait for the server to exit by itself; return the log lines."""
        try:
            self.proc.wait(t)
        except subprocess.TimeoutExpired:
            raise Fail("server still running after %ss" % t)
        with open(self.log) as f:
            return f.read().splitlines()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            d = self.s.recv(n - len(buf))
            if not d:
                raise Fail("EOF after %d of %d bytes" % (len(buf), n))
            buf += d
        return buf

    def expect_eof(self, t=2):
        self.s.settimeout(t)
        try:
            d = self.s.recv(1)
        except socket.timeout:
            raise Fail("server did not close")
        except ConnectionResetError:
            d = b""
        eq(d, b"", "EOF from server")
        self.s.settimeout(5)

    def expect_quiet(self, t=0.3):
        self.s.settimeout(t)
        try:
            d = self.s.recv(1)
            raise Fail("unexpected data/EOF from server: %r" % d)
        except socket.timeout:
            pass
        self.s.settimeout(5)

    def expect_byte(self, want, what, t=3):
        """One byte within t seconds (an upper bound: dripped bytes come
        once a second)."""
        self.s.settimeout(t)
        try:
            d = self.s.recv(1)
        except socket.timeout:
            raise Fail("%s: nothing within %ss" % (what, t))
        self.s.settimeout(5)
        eq(d, want, what)

    def greeting(self, flags=3):
        g = self.recv_exact(18)
        eq(g[:16], b"NBDMAGICIHAVEOPT", "greeting magic")
        hflags = struct.unpack(">H", g[16:])[0]
        if flags is not None:
            self.s.sendall(struct.pack(">I", flags))
        return hflags

    def opt(self, opt, data=b""):
        self.s.sendall(b"IHAVEOPT" + struct.pack(">II", opt, len(data)) + data)

    def reply(self, opt=None, magic=REPLY_MAGIC, payload=True):
        m, o, t, n = struct.unpack(">QIII", self.recv_exact(20))
        eq(m, magic, "reply magic")
        if opt is not None:
            eq(o, opt, "reply option")
        data = self.recv_exact(n) if payload else b""
        return t, n, data

    def go(self, name=b"disk", infos=(), opt=OPT_GO):
        self.opt(opt, struct.pack(">I", len(name)) + name +
                 struct.pack(">H", len(infos)) +
                 b"".join(struct.pack(">H", i) for i in infos))

    def cmd(self, cmd, off=0, length=0, cookie=0x1234):
        self.s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, cmd, cookie,
                                   off, length))

    def close(self):
        self.s.close()


def expect_info_export(c, opt):
    t, n, d = c.reply(opt)
    eq((t, n), (REP_INFO, 12), "INFO_EXPORT reply")
    eq(struct.unpack(">HQH", d), (INFO_EXPORT, SIZE, TFLAGS), "INFO_EXPORT")


def expect_error(c, opt, rtype, msg):
    t, n, d = c.reply(opt)
    eq(t, rtype, "error type")
    eq(d, msg.encode(), "error message")


def abort(c):
    c.opt(OPT_ABORT)
    eq(c.reply(OPT_ABORT)[:2], (REP_ACK, 0), "ABORT acked")
    c.expect_eof()
    c.close()


def has(log, *lines):
    for line in lines:
        check(line in log, "log lacks %r: %r" % (line, log))


def drip_stopped(log, most):
    """The log ends with DRIP <n>, EOF, where 1 <= n < most: the drip was
    cut short by the client hanging up."""
    check(len(log) >= 2 and log[-1] == "EOF" and log[-2].startswith("DRIP "),
          "log does not end with DRIP <n>, EOF: %r" % log)
    n = int(log[-2].split()[1])
    check(1 <= n < most, "DRIP %d: want 1 to %d" % (n, most - 1))


# -- one function per scenario: (c, srv) -> None, raising Fail ------------------

def t_normal_go(c, srv):
    eq(c.greeting(), 3, "handshake flags FIXED_NEWSTYLE|NO_ZEROES")
    c.opt(OPT_LIST)
    for name in (b"disk", b"other"):
        t, n, d = c.reply(OPT_LIST)
        eq((t, d), (REP_SERVER, struct.pack(">I", len(name)) + name),
           "REP_SERVER")
    eq(c.reply(OPT_LIST)[:2], (REP_ACK, 0), "LIST ACK")
    c.opt(OPT_STARTTLS)
    eq(c.reply(OPT_STARTTLS)[0], ERR_UNSUP, "STARTTLS refused")
    c.opt(OPT_STRUCTURED_REPLY)
    eq(c.reply(OPT_STRUCTURED_REPLY)[0], ERR_UNSUP, "unknown option")
    c.opt(0x1234)
    eq(c.reply(0x1234)[0], ERR_UNSUP, "unknown option")
    c.go(opt=OPT_INFO)
    expect_info_export(c, OPT_INFO)
    eq(c.reply(OPT_INFO)[:2], (REP_ACK, 0), "INFO ACK")
    c.go(infos=(INFO_BLOCK_SIZE, 1))
    expect_info_export(c, OPT_GO)
    eq(c.reply(OPT_GO)[:2], (REP_ACK, 0), "GO ACK")
    c.cmd(0, off=512, length=512, cookie=77)
    eq(c.recv_exact(16 + 512),
       struct.pack(">IIQ", 0x67446698, 0, 77) + bytes(512), "READ reply")
    c.cmd(2)
    c.expect_eof()
    c.close()
    has(srv.wait(), "CLIENTFLAGS 0x00000003", "OPT LIST len=0",
        "OPT STARTTLS len=0", "OPT STRUCTURED_REPLY len=0",
        "OPT 0x1234 len=0", "OPT INFO len=10", "OPT GO len=14",
        "GONAME disk", "GOINFO -", "GOINFO BLOCK_SIZE,NAME",
        "CMD READ off=512 len=512", "CMD DISC off=0 len=0", "EOF")


def t_normal_export_name(c, srv):
    c.greeting(flags=1)
    c.opt(OPT_EXPORT_NAME, b"abc")
    eq(c.recv_exact(134), struct.pack(">QH", SIZE, TFLAGS) + bytes(124),
       "EXPORT_NAME reply with 124 zeroes")
    c.cmd(2)
    c.expect_eof()
    c.close()
    has(srv.wait(), "CLIENTFLAGS 0x00000001", "OPT EXPORT_NAME len=3",
        "EXPORTNAME abc", "EOF")


def t_normal_abort(c, srv):
    c.greeting()
    abort(c)
    has(srv.wait(), "OPT ABORT len=0", "EOF")


def t_normal_bad_go(c, srv):
    c.greeting()
    c.opt(OPT_GO, struct.pack(">I", 50) + b"x")
    eq(c.reply(OPT_GO)[0], ERR_INVALID, "malformed GO refused")
    abort(c)
    has(srv.wait(), "OPT GO len=5", "GOBAD len=5")


def starttls_refused(rtype, msg):
    def t(c, srv):
        c.greeting()
        c.opt(OPT_STARTTLS)
        expect_error(c, OPT_STARTTLS, rtype, msg)
        abort(c)
        log = srv.wait()
        eq(log, ["CLIENTFLAGS 0x00000003", "OPT STARTTLS len=0",
                 "OPT ABORT len=0", "EOF"], "log")
    return t


def t_tlshello_after_refusal(c, srv):
    c.greeting()
    c.opt(OPT_STARTTLS)
    expect_error(c, OPT_STARTTLS, ERR_UNSUP, "TLS not supported here")
    c.s.sendall(CLIENTHELLO)
    c.expect_eof()
    c.close()
    log = srv.wait()
    has(log, "TLSHELLO", "BYTES %d" % len(CLIENTHELLO), "EOF")
    check(not any(x.startswith("OPT ABORT") for x in log), "no ABORT logged")


def t_tls_reqd(c, srv):
    c.greeting()
    for opt in (OPT_LIST, OPT_STARTTLS):
        c.opt(opt)
        expect_error(c, opt, ERR_TLS_REQD, "TLS is required")
    c.go()
    expect_error(c, OPT_GO, ERR_TLS_REQD, "TLS is required")
    abort(c)
    has(srv.wait(), "OPT LIST len=0", "OPT STARTTLS len=0", "OPT GO len=10")


def t_go_unsup(c, srv):
    c.greeting()
    for opt in (OPT_INFO, OPT_GO):
        c.go(opt=opt)
        eq(c.reply(opt)[0], ERR_UNSUP, "GO/INFO unsupported")
    c.opt(OPT_EXPORT_NAME, b"disk")
    eq(c.recv_exact(10), struct.pack(">QH", SIZE, TFLAGS),
       "EXPORT_NAME reply, NO_ZEROES")
    c.expect_quiet()
    c.cmd(2)
    c.expect_eof()
    c.close()
    has(srv.wait(), "OPT EXPORT_NAME len=4", "EXPORTNAME disk", "EOF")


def t_huge_reply(c, srv):
    c.greeting()
    c.go()
    t, n, _ = c.reply(OPT_GO, payload=False)
    eq((t, n), (REP_INFO, 0xFFFFFFFF), "huge reply header")
    eq(c.recv_exact(32)[:2], b"\0\0", "some bytes follow")
    c.expect_quiet(0.3)
    c.close()
    has(srv.wait(), "OPT GO len=10", "EOF")


def t_wrong_option(c, srv):
    c.greeting()
    c.go()
    t, _, _ = c.reply(OPT_LIST)
    eq(t, REP_INFO, "INFO under the wrong option")
    c.close()
    srv.wait()


def t_short_info(c, srv):
    c.greeting()
    c.go()
    t, n, d = c.reply(OPT_GO)
    eq((t, n, d[:2]), (REP_INFO, 6, b"\0\0"), "6-byte INFO_EXPORT")
    eq(c.reply(OPT_GO)[:2], (REP_ACK, 0), "then ACK")
    c.close()
    srv.wait()


def t_server_namelen(c, srv):
    c.greeting()
    c.opt(OPT_LIST)
    t, n, d = c.reply(OPT_LIST)
    eq(t, REP_SERVER, "REP_SERVER")
    check(struct.unpack(">I", d[:4])[0] > n - 4, "inner name length too big")
    eq(c.reply(OPT_LIST)[:2], (REP_ACK, 0), "then ACK")
    abort(c)
    srv.wait()


def t_bad_magic(c, srv):
    eq(c.recv_exact(8), b"NBDMAGIX", "bad first magic")
    c.close()
    has(srv.wait(), "EOF")


def t_bad_optmagic(c, srv):
    c.greeting()
    c.go()
    t, _, _ = c.reply(OPT_GO, magic=REPLY_MAGIC + 1)
    eq(t, REP_INFO, "INFO with wrong magic")
    c.close()
    srv.wait()


def t_silent(c, srv):
    c.greeting()
    c.go()
    c.expect_quiet(0.5)
    c.close()
    has(srv.wait(), "OPT GO len=10", "EOF")


def t_silent_before_greeting(c, srv):
    c.expect_quiet(0.5)
    c.s.sendall(b"hello")
    time.sleep(0.1)
    c.close()
    has(srv.wait(), "BYTES 5", "EOF")


def t_no_fixed_newstyle(c, srv):
    eq(c.greeting(flags=0) & 1, 0, "no FIXED_NEWSTYLE flag")
    c.opt(OPT_LIST)
    c.expect_eof()
    c.close()
    has(srv.wait(), "CLIENTFLAGS 0x00000000", "OPT LIST len=0", "EOF")


def t_oldstyle(c, srv):
    g = c.recv_exact(152)
    eq(g[:8], b"NBDMAGIC", "magic")
    eq(struct.unpack(">QQI", g[8:28]), (0x00420281861253, SIZE, TFLAGS),
       "oldstyle magic, size, flags")
    eq(g[28:], bytes(124), "zeroes")
    c.close()
    has(srv.wait(), "EOF")


def go_error(rtype, msg):
    def t(c, srv):
        c.greeting()
        c.go(name=b"X")
        expect_error(c, OPT_GO, rtype, msg)
        abort(c)
        has(srv.wait(), "OPT GO len=7", "GONAME X")
    return t


def t_info_then_close(c, srv):
    c.greeting()
    c.go()
    expect_info_export(c, OPT_GO)
    c.expect_eof()
    c.close()
    has(srv.wait(), "EOF")


def t_error_len_huge(c, srv):
    c.greeting()
    c.go()
    t, n, _ = c.reply(OPT_GO, payload=False)
    eq((t, n), (ERR_POLICY, 1 << 30), "1 GiB error reply")
    eq(len(c.recv_exact(10)), 10, "10 bytes")
    c.expect_eof()
    c.close()
    srv.wait()


def t_blocksize(c, srv):
    c.greeting()
    c.go(infos=(INFO_BLOCK_SIZE,))
    expect_info_export(c, OPT_GO)
    t, n, d = c.reply(OPT_GO)
    eq((t, n), (REP_INFO, 14), "INFO_BLOCK_SIZE")
    eq(struct.unpack(">HIII", d), (INFO_BLOCK_SIZE, 512, 4096, 32 << 20),
       "block sizes")
    eq(c.reply(OPT_GO)[:2], (REP_ACK, 0), "ACK")
    c.cmd(2)
    c.expect_eof()
    c.close()
    has(srv.wait(), "GOINFO BLOCK_SIZE", "CMD DISC off=0 len=0")


def t_zero_size_reply_ack_go(c, srv):
    c.greeting()
    c.go()
    eq(c.reply(OPT_GO)[:2], (REP_ACK, 0), "bare ACK")
    c.close()
    srv.wait()


def t_drip_greeting_slow(c, srv):
    # The first byte at once, then nothing for a while, then the next.
    c.expect_byte(b"N", "first greeting byte")
    c.expect_quiet(0.3)
    c.expect_byte(b"B", "second greeting byte")
    c.close()
    drip_stopped(srv.wait(), 18)


def t_drip_greeting_fast(c, srv):
    eq(c.recv_exact(18), GREETING, "the whole greeting, dripped")
    c.s.sendall(struct.pack(">I", 3))
    c.close()
    eq(srv.wait(), ["DRIP 18", "BYTES 4", "EOF"], "log")


DRIP_REPLY = struct.pack(">H", INFO_DESCRIPTION) + b"x" * 3998


def t_drip_option_slow(c, srv):
    c.greeting()
    c.opt(OPT_LIST)  # whatever the first option is
    t, n, _ = c.reply(OPT_LIST, payload=False)
    eq((t, n), (REP_INFO, 4000), "INFO header claiming 4000 bytes")
    c.expect_byte(b"\0", "first payload byte")
    c.expect_quiet(0.3)
    c.expect_byte(b"\2", "second payload byte")
    c.close()
    log = srv.wait()
    eq(log[:2], ["CLIENTFLAGS 0x00000003", "OPT LIST len=0"], "log start")
    drip_stopped(log, 4000)


def t_drip_option_fast(c, srv):
    c.greeting()
    c.go()
    t, n, d = c.reply(OPT_GO)
    eq((t, n, d), (REP_INFO, 4000, DRIP_REPLY), "the whole dripped reply")
    c.expect_eof()
    c.close()
    has(srv.wait(), "OPT GO len=10", "GONAME disk", "DRIP 4000", "EOF")


def starttls_ack(c):
    c.greeting()
    c.opt(OPT_STARTTLS)
    eq(c.reply(OPT_STARTTLS)[:2], (REP_ACK, 0), "STARTTLS acked")


def t_drip_tls_slow(c, srv):
    starttls_ack(c)
    c.expect_quiet(0.3)  # nothing before the ClientHello
    c.s.sendall(TLSRECORD)
    eq(c.recv_exact(5), b"\x16\x03\x03\x40\x00", "record header, 0x4000")
    c.expect_byte(b"\2", "first body byte: ServerHello")
    c.expect_quiet(0.3)
    c.expect_byte(b"\0", "second body byte")
    c.close()
    log = srv.wait()
    eq(log[:4], ["CLIENTFLAGS 0x00000003", "OPT STARTTLS len=0", "TLSHELLO",
                 "BYTES 53"], "log start")
    drip_stopped(log, 0x4000)


def t_drip_tls_fast(c, srv):
    starttls_ack(c)
    c.s.sendall(TLSRECORD)
    eq(c.recv_exact(5 + 0x4000),
       b"\x16\x03\x03\x40\x00\x02" + bytes(0x4000 - 1), "the whole record")
    c.expect_eof()
    c.close()
    eq(srv.wait(), ["CLIENTFLAGS 0x00000003", "OPT STARTTLS len=0",
                    "TLSHELLO", "BYTES 53", "DRIP 16384", "EOF"], "log")


def t_drip_tls_not_tls(c, srv):
    starttls_ack(c)
    c.s.sendall(b"hello")
    c.expect_eof()
    c.close()
    eq(srv.wait(), ["CLIENTFLAGS 0x00000003", "OPT STARTTLS len=0",
                    "BYTES 5", "EOF"], "log")


def unsup_after_info(flags, zeroes):
    def t(c, srv):
        c.greeting(flags=flags)
        c.go()
        expect_info_export(c, OPT_GO)
        t, n, d = c.reply(OPT_GO)
        eq((t, d), (REP_INFO, struct.pack(">H", INFO_NAME) + b"stale-name"),
           "INFO_NAME")
        t, n, d = c.reply(OPT_GO)
        eq((t, d), (REP_INFO, struct.pack(">H", INFO_DESCRIPTION) +
                    b"stale description"), "INFO_DESCRIPTION")
        expect_error(c, OPT_GO, ERR_UNSUP, "GO not supported after all")
        c.opt(OPT_EXPORT_NAME, b"disk")
        eq(c.recv_exact(10 + zeroes), struct.pack(">QH", 2 << 20, 1) +
           bytes(zeroes), "EXPORT_NAME: 2 MiB, HAS_FLAGS")
        c.expect_quiet()
        # The disk is 2 MiB now: a read past 1 MiB works.
        c.cmd(0, off=(2 << 20) - 512, length=512, cookie=5)
        eq(c.recv_exact(16 + 512),
           struct.pack(">IIQ", 0x67446698, 0, 5) + bytes(512), "READ reply")
        c.cmd(2)
        c.expect_eof()
        c.close()
        has(srv.wait(), "CLIENTFLAGS 0x%08x" % flags, "OPT GO len=10",
            "OPT EXPORT_NAME len=4", "EXPORTNAME disk",
            "CMD READ off=2096640 len=512", "CMD DISC off=0 len=0", "EOF")
    return t


def t_c1_message(c, srv):
    c.greeting()
    c.go()
    t, n, d = c.reply(OPT_GO)
    eq((t, d), (ERR_UNKNOWN, b"bad\xc2\x9b31m raw\x9b esc\x1b[0m "
                b"caf\xc3\xa9 \xe2\x80\x94 end"), "ERR_UNKNOWN message bytes")
    abort(c)
    has(srv.wait(), "OPT GO len=10", "OPT ABORT len=0")


FAST = ("--drip-interval", "0")

# -- tls-* modes: a real TLS handshake after STARTTLS, then the hostility ----

# The server's --tls-cert/--tls-key, filled in by main() (make_cert).
TLSARGS = []
TLS_START = ["CLIENTFLAGS 0x00000003", "OPT STARTTLS len=0", "TLSHELLO"]


def make_cert():
    """A self-signed server certificate made with certtool; returns its
    directory (TLSARGS names the files)."""
    d = tempfile.mkdtemp(prefix="hostile-selftest-pki.")
    key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
    tmpl = os.path.join(d, "cert.info")
    with open(tmpl, "w") as f:
        f.write("cn = localhost\nip_address = 127.0.0.1\ntls_www_server\n"
                "encryption_key\nsigning_key\nexpiration_days = 2\n")
    for cmd in (["--generate-privkey", "--outfile", key],
                ["--generate-self-signed", "--load-privkey", key,
                 "--template", tmpl, "--outfile", cert]):
        subprocess.run(["certtool", "-q"] + cmd, check=True,
                       capture_output=True)
    TLSARGS[:] = ["--tls-cert", cert, "--tls-key", key]
    return d


def tls_up(c):
    """Greeting, STARTTLS -> ACK, then a TLS handshake: c.s is now TLS."""
    starttls_ack(c)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c.s = ctx.wrap_socket(c.s, suppress_ragged_eofs=False)
    return c.s.version()


def tls_log(srv, version, *rest):
    eq(srv.wait(), TLS_START + ["TLS " + version] + list(rest), "log")


GO_LOG = ["OPT GO len=10", "GONAME disk", "GOINFO -"]


def t_tls_normal(c, srv):
    v = tls_up(c)
    c.go()
    expect_info_export(c, OPT_GO)
    eq(c.reply(OPT_GO)[:2], (REP_ACK, 0), "GO ACK")
    c.cmd(0, length=512, cookie=5)
    eq(c.recv_exact(16 + 512),
       struct.pack(">IIQ", 0x67446698, 0, 5) + bytes(512), "READ reply")
    c.cmd(2)
    c.expect_eof()
    c.close()
    tls_log(srv, v, *GO_LOG, "CMD READ off=0 len=512",
            "CMD DISC off=0 len=0", "EOF")


def go_then_disc(c):
    """GO, its NBD_INFO_EXPORT and ACK, then NBD_CMD_DISC and EOF."""
    c.go()
    expect_info_export(c, OPT_GO)
    eq(c.reply(OPT_GO)[:2], (REP_ACK, 0), "GO ACK")
    c.cmd(2)
    c.expect_eof()
    c.close()


def t_trickle(c, srv):
    t0 = time.monotonic()
    eq(c.greeting(), 3, "handshake flags FIXED_NEWSTYLE|NO_ZEROES")
    check(time.monotonic() - t0 >= 0.015,
          "the 18-byte greeting took 15 ms or more (a byte a millisecond)")
    go_then_disc(c)
    # greeting 18 + NBD_REP_INFO 20+12 + ACK 20
    has(srv.wait(), "CMD DISC off=0 len=0", "EOF", "TRICKLED 70")


def t_tls_trickle(c, srv):
    tls_up(c)
    go_then_disc(c)
    last = srv.wait()[-1]
    check(last.startswith("TRICKLED ") and int(last.split()[1]) > 1000,
          "TRICKLED > 1000 (the TLS handshake too): %s" % last)


def t_tls_normal_second_starttls(c, srv):
    v = tls_up(c)
    c.opt(OPT_STARTTLS)
    expect_error(c, OPT_STARTTLS, ERR_INVALID, "TLS is already up")
    abort(c)
    tls_log(srv, v, "OPT STARTTLS len=0", "OPT ABORT len=0", "EOF")


def t_tls_huge_reply(c, srv):
    v = tls_up(c)
    c.go()
    t, n, _ = c.reply(OPT_GO, payload=False)
    eq((t, n), (REP_INFO, 0xFFFFFFFF), "huge reply header")
    eq(c.recv_exact(32)[:2], b"\0\0", "some bytes follow")
    c.expect_quiet(0.3)
    c.close()
    tls_log(srv, v, *GO_LOG, "EOF")


def tls_first_reply(want):
    """The first GO inside TLS gets want (type, length, payload or None)."""
    def t(c, srv):
        v = tls_up(c)
        c.go()
        t, n, d = c.reply(None)
        eq((t, n, d if want[2] is not None else None), want, "first reply")
        c.close()
        tls_log(srv, v, *GO_LOG, "EOF")
    return t


def t_tls_wrong_option(c, srv):
    v = tls_up(c)
    c.go()
    eq(c.reply(OPT_LIST)[0], REP_INFO, "INFO under NBD_OPT_LIST")
    eq(c.reply(OPT_LIST)[:2], (REP_ACK, 0), "ACK under NBD_OPT_LIST")
    c.close()
    tls_log(srv, v, *GO_LOG, "EOF")


def t_tls_silent(c, srv):
    v = tls_up(c)
    c.go()
    c.expect_quiet(0.5)
    c.close()
    tls_log(srv, v, *GO_LOG, "EOF")


def t_tls_starttls_ack(c, srv):
    v = tls_up(c)
    c.go()
    eq(c.reply(OPT_STARTTLS)[:2], (REP_ACK, 0), "GO -> STARTTLS ACK")
    c.opt(OPT_STARTTLS)
    eq(c.reply(OPT_STARTTLS)[:2], (REP_ACK, 0), "STARTTLS -> ACK again")
    c.close()
    tls_log(srv, v, *GO_LOG, "OPT STARTTLS len=0", "EOF")


def t_tls_garbage(c, srv):
    v = tls_up(c)
    c.go()
    eq(c.recv_exact(41), b"this is no NBD option reply, only garbage",
       "garbage inside TLS")
    c.expect_quiet(0.3)
    c.close()
    tls_log(srv, v, *GO_LOG, "EOF")


def expect_ssl_error(c, what, text=""):
    try:
        d = c.s.recv(4096)
    except ssl.SSLError as e:
        check(text in str(e), "%s: %s lacks %r" % (what, e, text))
        return
    raise Fail("%s: got %r, want an SSL error" % (what, d))


def t_tls_raw_garbage(c, srv):
    v = tls_up(c)
    c.go()
    expect_ssl_error(c, "raw bytes in the TLS stream")
    c.close()
    log = srv.wait()
    # (our TLS client answers the garbage with an alert, logged TLSERROR)
    eq(log[:7], TLS_START + ["TLS " + v] + GO_LOG, "log start")
    eq(log[-1], "EOF", "log end")


def t_tls_cut_record(c, srv):
    v = tls_up(c)
    c.go()
    expect_ssl_error(c, "half a record, then EOF", "EOF")
    c.close()
    log = srv.wait()
    eq(log[:7], TLS_START + ["TLS " + v] + GO_LOG, "log start")
    check(log[7].startswith("CUT ") and log[-1] == "EOF", "CUT, EOF: %r" % log)
    n, total = map(int, log[7].split()[1].split("/"))
    eq(n, total // 2, "half the record sent")


def t_tls_alert(c, srv):
    v = tls_up(c)
    c.go()
    expect_ssl_error(c, "fatal alert", "BAD_RECORD_MAC")
    c.close()
    tls_log(srv, v, *GO_LOG, "ALERT DECRYPTION_FAILED_OR_BAD_RECORD_MAC",
            "EOF")


def t_tls_close_notify(c, srv):
    v = tls_up(c)
    c.go()
    eq(c.s.recv(4096), b"", "close_notify reads as the end of TLS")
    time.sleep(0.3)
    check(srv.proc.poll() is None, "TCP connection left open")
    c.close()
    tls_log(srv, v, *GO_LOG, "CLOSENOTIFY", "EOF")


def t_tls_handshake_alert(c, srv):
    starttls_ack(c)
    c.s.sendall(TLSRECORD)
    eq(c.recv_exact(7), b"\x15\x03\x03\x00\x02\x02\x28",
       "fatal handshake_failure alert")
    c.expect_eof()
    c.close()
    eq(srv.wait(), ["CLIENTFLAGS 0x00000003", "OPT STARTTLS len=0",
                    "TLSHELLO", "BYTES 53", "EOF"], "log")


TESTS = [
    ("normal", t_normal_go, "LIST, STARTTLS, INFO, GO, READ, DISC"),
    ("normal", t_normal_export_name, "EXPORT_NAME with 124 zeroes"),
    ("normal", t_normal_abort, "ABORT is ACKed"),
    ("normal", t_normal_bad_go, "malformed GO gets ERR_INVALID"),
    ("starttls-unsup", starttls_refused(ERR_UNSUP, "TLS not supported here"),
     "STARTTLS -> ERR_UNSUP"),
    ("starttls-unsup", t_tlshello_after_refusal,
     "ClientHello after refusal is logged"),
    ("starttls-policy",
     starttls_refused(ERR_POLICY, "TLS forbidden by policy"),
     "STARTTLS -> ERR_POLICY"),
    ("starttls-invalid",
     starttls_refused(ERR_INVALID, "STARTTLS is invalid here"),
     "STARTTLS -> ERR_INVALID"),
    ("tls-reqd", t_tls_reqd, "everything -> ERR_TLS_REQD"),
    ("go-unsup", t_go_unsup, "GO/INFO unsupported, EXPORT_NAME works"),
    ("huge-reply", t_huge_reply, "reply length 0xFFFFFFFF"),
    ("wrong-option", t_wrong_option, "reply names another option"),
    ("short-info", t_short_info, "6-byte INFO_EXPORT"),
    ("server-namelen", t_server_namelen, "REP_SERVER name overflows"),
    ("bad-magic", t_bad_magic, "NBDMAGIX"),
    ("bad-optmagic", t_bad_optmagic, "reply magic off by one"),
    ("silent", t_silent, "never answers"),
    ("silent-before-greeting", t_silent_before_greeting, "no greeting"),
    ("no-fixed-newstyle", t_no_fixed_newstyle, "no FIXED_NEWSTYLE"),
    ("oldstyle", t_oldstyle, "oldstyle greeting"),
    ("unknown-error", go_error(0x8000FFFF, "mystery"), "unknown error type"),
    ("platform", go_error(ERR_PLATFORM, "platform says no"), "ERR_PLATFORM"),
    ("shutdown", go_error(ERR_SHUTDOWN, "server shutting down"),
     "ERR_SHUTDOWN"),
    ("block-size-reqd", go_error(ERR_BLOCK_SIZE_REQD, "block size required"),
     "ERR_BLOCK_SIZE_REQD"),
    ("unknown", go_error(ERR_UNKNOWN, "export 'X' not found"), "ERR_UNKNOWN"),
    ("info-then-close", t_info_then_close, "INFO then hang up"),
    ("error-len-huge", t_error_len_huge, "1 GiB error reply"),
    ("blocksize", t_blocksize, "INFO_BLOCK_SIZE, GOINFO logged"),
    ("zero-size-reply-ack-go", t_zero_size_reply_ack_go, "ACK without INFO"),
    ("drip-greeting", t_drip_greeting_slow,
     "greeting one byte per second, stops when the client hangs up"),
    ("drip-greeting", t_drip_greeting_fast, "dripped greeting is exact",
     FAST),
    ("drip-option", t_drip_option_slow,
     "any first option: 4000-byte INFO, one byte per second"),
    ("drip-option", t_drip_option_fast, "dripped GO reply is exact", FAST),
    ("drip-tls", t_drip_tls_slow,
     "ACK, ClientHello read, record header, body one byte per second"),
    ("drip-tls", t_drip_tls_fast, "dripped TLS record is exact", FAST),
    ("drip-tls", t_drip_tls_not_tls, "not TLS after the ACK: hang up"),
    ("unsup-after-info", unsup_after_info(3, 0),
     "INFO EXPORT, NAME, DESCRIPTION, ERR_UNSUP; EXPORT_NAME 2 MiB"),
    ("unsup-after-info", unsup_after_info(1, 124),
     "EXPORT_NAME 2 MiB with 124 zeroes"),
    ("c1-message", t_c1_message, "ERR_UNKNOWN with C1/ESC/UTF-8 bytes"),
    ("trickle", t_trickle, "every byte on its own, GO, DISC"),
    ("tls-trickle", t_tls_trickle, "trickled TLS handshake, GO, DISC",
     TLSARGS),
    ("tls-normal", t_tls_normal, "TLS handshake, GO, READ, DISC", TLSARGS),
    ("tls-normal", t_tls_normal_second_starttls,
     "second STARTTLS inside TLS -> ERR_INVALID", TLSARGS),
    ("tls-huge-reply", t_tls_huge_reply, "TLS, then reply length 0xFFFFFFFF",
     TLSARGS),
    ("tls-wrong-option", t_tls_wrong_option, "TLS, then replies name LIST",
     TLSARGS),
    ("tls-short-info", tls_first_reply((REP_INFO, 6, None)),
     "TLS, then a 6-byte INFO_EXPORT", TLSARGS),
    ("tls-silent", t_tls_silent, "TLS, then never answers", TLSARGS),
    ("tls-starttls-ack", t_tls_starttls_ack,
     "TLS, then every reply an ACK naming STARTTLS", TLSARGS),
    ("tls-garbage", t_tls_garbage, "TLS, then garbage inside it", TLSARGS),
    ("tls-raw-garbage", t_tls_raw_garbage,
     "TLS, then raw bytes between the records", TLSARGS),
    ("tls-cut-record", t_tls_cut_record,
     "TLS, then half a record and EOF", TLSARGS),
    ("tls-alert", t_tls_alert, "TLS, then an encrypted fatal alert",
     TLSARGS),
    ("tls-close-notify", t_tls_close_notify,
     "TLS, then close_notify with TCP left open", TLSARGS),
    ("tls-handshake-alert", t_tls_handshake_alert,
     "ACK, ClientHello, then a plaintext fatal alert", TLSARGS),
]


def run_one(mode, fn, args=()):
    srv = Server(mode, args=args)
    try:
        c = Client(srv.port)
        try:
            fn(c, srv)
        finally:
            c.close()
    finally:
        srv.stop()


def t_noclient():
    srv = Server("normal", timeout=0.5)
    try:
        eq(srv.wait(3), ["NOCLIENT"], "log")
    finally:
        srv.stop()


def t_timeout():
    srv = Server("silent", timeout=1)
    try:
        c = Client(srv.port)
        c.greeting()
        has(srv.wait(4), "TIMEOUT")
        c.close()
    finally:
        srv.stop()


def main():
    modes = subprocess.run([sys.executable, SERVER, "--list-modes"],
                           check=True, capture_output=True,
                           text=True).stdout.split()
    pki = make_cert()
    try:
        return run_tests(modes)
    finally:
        shutil.rmtree(pki, ignore_errors=True)


def run_tests(modes):
    tests = [("%s: %s" % (m, d), lambda m=m, f=f, a=a: run_one(m, f, *a))
             for m, f, d, *a in TESTS]
    tests.append(("server exits by itself with no client", t_noclient))
    tests.append(("connection deadline logs TIMEOUT", t_timeout))
    print("1..%d" % (len(tests) + 1))
    failed = 0
    untested = set(modes) - {t[0] for t in TESTS}
    ok = not untested
    print("%sok 1 - every mode has a test%s" % (
        "" if ok else "not ", "" if ok else " (missing: %s)" %
        " ".join(sorted(untested))))
    failed += not ok
    for n, (desc, fn) in enumerate(tests, 2):
        try:
            fn()
            print("ok %d - %s" % (n, desc))
        except Exception as e:  # noqa: BLE001 - report any failure as TAP
            failed += 1
            print("not ok %d - %s" % (n, desc))
            for line in (str(e) if isinstance(e, Fail)
                         else traceback.format_exc()).splitlines():
                print("#   " + line)
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
