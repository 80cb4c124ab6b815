#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A deliberately misbehaving NBD server for testing client negotiation.

Usage: hostile_server.py --mode MODE --log FILE [--port-file FILE]
                         [--timeout SECS] [--drip-interval SECS]
                         [--tls-cert FILE --tls-key FILE]
       hostile_server.py --list-modes

Listens on 127.0.0.1 on a random free port, prints the port on stdout and
(atomically) to --port-file, serves ONE connection and exits.  It exits by
itself when no client arrives within --timeout seconds (default 30), and a
connection never lives longer than --timeout seconds either.

Log lines (one per event, flushed at once):
  CLIENTFLAGS 0x%08x          client flags as read after the greeting
  OPT <name> len=<n>          every option; unknown ones as OPT 0x%x len=<n>
  GONAME <name>               GO/INFO: requested export name (escaped)
  GOINFO <t1,t2,...>          GO/INFO: requested info types (EXPORT, NAME,
                              DESCRIPTION, BLOCK_SIZE, else 0x%x; '-' if none)
  GOBAD len=<n>               GO/INFO whose data does not parse
  EXPORTNAME <name>           EXPORT_NAME: requested export name (escaped)
  TLSHELLO                    bytes that start 0x16 0x03 (a TLS record, e.g.
                              the ClientHello after STARTTLS)
  BYTES <n>                   n raw bytes that are not a parseable option
                              (or request), e.g. a TLS ClientHello
  CMD <name> off=<o> len=<n>  transmission phase request (unknown: CMD 0x%x)
  DRIP <n>                    a drip-* mode stopped after sending n bytes of
                              the dripped message (logged before the EOF or
                              TIMEOUT that stopped it, if any)
  TLS <version>               tls-* modes: the TLS handshake is done; all
                              that follows is inside TLS
  TLSCLOSE                    the client ended TLS with close_notify
  TLSERROR <reason>           TLS failed (an alert, a bad record; the
                              reason as OpenSSL names it)
  CUT <n>/<total>             tls-cut-record sent n of the total raw bytes of
                              the records carrying its reply
  ALERT <reason>              tls-alert made its TLS send a fatal alert
  CLOSENOTIFY                 tls-close-notify sent close_notify
  EOF                         the client closed the connection
  TIMEOUT                     the connection deadline expired
  NOCLIENT                    no client connected before the deadline
  ERROR <exception class>     any other socket error (connection dropped)

Modes (--list-modes prints the names):
  normal                  a correct server: fixed newstyle, NO_ZEROES; LIST
                          names "disk" and "other"; INFO/GO answer
                          NBD_INFO_EXPORT (1 MiB, HAS_FLAGS|SEND_FLUSH) and
                          ACK; EXPORT_NAME works; STARTTLS and unknown options
                          get ERR_UNSUP; transmission: an all-zero disk that
                          drops writes, NBD_CMD_DISC closes
  starttls-unsup          STARTTLS -> ERR_UNSUP "TLS not supported here"
  starttls-policy         STARTTLS -> ERR_POLICY "TLS forbidden by policy"
  starttls-invalid        STARTTLS -> ERR_INVALID "STARTTLS is invalid here"
  tls-reqd                every option but ABORT -> ERR_TLS_REQD (STARTTLS
                          too); EXPORT_NAME: hang up
  go-unsup                GO/INFO -> ERR_UNSUP; EXPORT_NAME works
  huge-reply              the first option gets an NBD_REP_INFO header
                          claiming 0xFFFFFFFF bytes, 32 bytes, then silence
  wrong-option            replies name another option (GO -> LIST)
  short-info              GO/INFO -> a 6-byte NBD_INFO_EXPORT, then ACK
  server-namelen          LIST -> REP_SERVER whose name length runs past it
  bad-magic               greeting magic NBDMAGIX
  bad-optmagic            option reply magic off by one
  silent                  greeting, then never answers an option
  silent-before-greeting  never sends the greeting
  no-fixed-newstyle       no FIXED_NEWSTYLE flag; anything but EXPORT_NAME
                          makes it hang up
  oldstyle                the oldstyle greeting (1 MiB export)
  unknown-error           GO/INFO -> error 0x8000FFFF "mystery"
  platform                GO/INFO -> ERR_PLATFORM "platform says no"
  shutdown                GO/INFO -> ERR_SHUTDOWN "server shutting down"
  block-size-reqd         GO/INFO -> ERR_BLOCK_SIZE_REQD
  unknown                 GO/INFO -> ERR_UNKNOWN "export '<name>' not found"
  info-then-close         GO/INFO -> NBD_INFO_EXPORT, then hang up
  error-len-huge          GO/INFO -> ERR_POLICY header claiming 1 GiB, 10
                          bytes, then hang up
  blocksize               GO/INFO -> NBD_INFO_EXPORT, NBD_INFO_BLOCK_SIZE
                          (512, 4096, 32 MiB), ACK
  zero-size-reply-ack-go  GO/INFO -> a bare ACK (no NBD_INFO_EXPORT)
  drip-greeting           the 18-byte greeting, one byte per second
  drip-option             normal greeting; the first option, whatever it is,
                          gets an NBD_REP_INFO header claiming 4000 bytes
                          (an NBD_INFO_DESCRIPTION), then the 4000 bytes one
                          per second
  drip-tls                STARTTLS -> ACK; reads one TLS record (the
                          ClientHello, logged TLSHELLO, BYTES <n>), then
                          sends a TLS handshake record header claiming
                          0x4000 bytes (16 03 03 40 00) and its body one
                          byte per second
  trickle                 the normal server, every byte it sends on its own
                          TCP segment about 1 ms apart (TCP_NODELAY); logs
                          TRICKLED <bytes> at the end
  unsup-after-info        GO/INFO -> NBD_INFO_EXPORT (1 MiB, HAS_FLAGS|
                          SEND_FLUSH), NBD_INFO_NAME "stale-name",
                          NBD_INFO_DESCRIPTION "stale description", then
                          ERR_UNSUP; EXPORT_NAME answers 2 MiB, HAS_FLAGS
                          (and serves a 2 MiB disk)
  c1-message              GO/INFO -> ERR_UNKNOWN whose message (C1_MESSAGE)
                          holds a C1 CSI (U+009B in UTF-8: c2 9b), a raw 9b
                          byte (invalid UTF-8), an ESC (1b) and valid UTF-8
                          (U+00E9 e-acute: c3 a9, U+2014 em dash: e2 80 94)

  tls-handshake-alert     STARTTLS -> ACK; reads the ClientHello, answers a
                          plaintext fatal handshake_failure alert, hangs up

The tls-* modes below answer STARTTLS with ACK and run a real TLS server
handshake (Python's ssl module through memory BIOs, so that the raw records
can be cut; the certificate from --tls-cert/--tls-key); inside TLS they are
the normal server (a second STARTTLS gets ERR_INVALID), changed as said,
and when they hang up they send close_notify first:
  tls-normal              no change: a correct TLS server
  tls-trickle             tls-normal, trickled like trickle from the greeting
                          on (the TLS handshake too)
  tls-huge-reply          like huge-reply
  tls-wrong-option        like wrong-option
  tls-short-info          like short-info
  tls-silent              like silent
  tls-starttls-ack        every reply is an ACK naming NBD_OPT_STARTTLS
  tls-garbage             the first option gets TLS_GARBAGE, encrypted; then
                          silence
  tls-raw-garbage         the first option gets RAW_GARBAGE on the socket,
                          outside any TLS record; then silence
  tls-cut-record          the first option: the records carrying a correct
                          GO reply are made, half their bytes sent, then the
                          server hangs up (no close_notify)
  tls-alert               the first option: a forged record is fed to the
                          server's own TLS, which answers with an encrypted
                          fatal bad_record_mac alert; that is sent, then the
                          server hangs up
  tls-close-notify        the first option: close_notify, and the TCP
                          connection stays open until the client closes it

Every drip sends its first byte at once, then waits --drip-interval seconds
(default 1; 0 sends at full speed, for the self-test) before each next byte,
and stops at once, logging EOF, when the client hangs up meanwhile.
Python 3 standard library only.
"""

import argparse
import os
import socket
import ssl
import struct
import sys
import time

NBDMAGIC = b"NBDMAGIC"
IHAVEOPT = b"IHAVEOPT"
OLDSTYLE_MAGIC = 0x00420281861253
REPLY_MAGIC = 0x0003E889045565A9
REQUEST_MAGIC = 0x25609513
SIMPLE_REPLY_MAGIC = 0x67446698

FLAG_FIXED_NEWSTYLE = 1 << 0
FLAG_NO_ZEROES = 1 << 1
CFLAG_NO_ZEROES = 1 << 1

OPT_EXPORT_NAME = 1
OPT_ABORT = 2
OPT_LIST = 3
OPT_STARTTLS = 5
OPT_INFO = 6
OPT_GO = 7
OPT_NAMES = {
    1: "EXPORT_NAME", 2: "ABORT", 3: "LIST", 4: "PEEK_EXPORT",
    5: "STARTTLS", 6: "INFO", 7: "GO", 8: "STRUCTURED_REPLY",
    9: "LIST_META_CONTEXT", 10: "SET_META_CONTEXT", 11: "EXTENDED_HEADERS",
}

REP_ACK = 1
REP_SERVER = 2
REP_INFO = 3
REP_ERR = 1 << 31
REP_ERR_UNSUP = REP_ERR + 1
REP_ERR_POLICY = REP_ERR + 2
REP_ERR_INVALID = REP_ERR + 3
REP_ERR_PLATFORM = REP_ERR + 4
REP_ERR_TLS_REQD = REP_ERR + 5
REP_ERR_UNKNOWN = REP_ERR + 6
REP_ERR_SHUTDOWN = REP_ERR + 7
REP_ERR_BLOCK_SIZE_REQD = REP_ERR + 8
REP_ERR_MYSTERY = 0x8000FFFF

INFO_EXPORT = 0
INFO_BLOCK_SIZE = 3
INFO_NAMES = {0: "EXPORT", 1: "NAME", 2: "DESCRIPTION", 3: "BLOCK_SIZE"}

TFLAG_HAS_FLAGS = 1 << 0
TFLAG_SEND_FLUSH = 1 << 2
EXPORT_SIZE = 1 << 20
EXPORT_FLAGS = TFLAG_HAS_FLAGS | TFLAG_SEND_FLUSH
INFO_NAME = 1
INFO_DESCRIPTION = 2

DRIP_INTERVAL = 1.0           # default seconds between two dripped bytes
TRICKLE_INTERVAL = 0.001      # trickle: seconds between two bytes
DRIP_OPTION_LEN = 4000        # drip-option: payload length claimed
DRIP_TLS_LEN = 0x4000         # drip-tls: TLS record length claimed
# unsup-after-info: what GO says before it takes it back, and what
# EXPORT_NAME says instead.
STALE_NAME = b"stale-name"
STALE_DESCRIPTION = b"stale description"
FALLBACK_SIZE = 2 << 20
FALLBACK_FLAGS = TFLAG_HAS_FLAGS
# c1-message: the NBD_REP_ERR_UNKNOWN message.
C1_MESSAGE = (b"bad\xc2\x9b31m raw\x9b esc\x1b[0m caf\xc3\xa9 \xe2\x80\x94 "
              b"end")

# Inside TLS: tls-garbage's plaintext (sent encrypted), tls-raw-garbage's
# bytes (sent raw, in the middle of the TLS stream), tls-handshake-alert's
# record (a plaintext fatal handshake_failure alert).
TLS_GARBAGE = b"this is no NBD option reply, only garbage"
RAW_GARBAGE = b"HTTP/1.0 400 Bad Request\r\n\r\n"
HANDSHAKE_ALERT = b"\x15\x03\x03\x00\x02\x02\x28"

CMD_NAMES = {0: "READ", 1: "WRITE", 2: "DISC", 3: "FLUSH", 4: "TRIM",
             5: "CACHE", 6: "WRITE_ZEROES", 7: "BLOCK_STATUS"}
CMD_READ, CMD_WRITE, CMD_DISC = 0, 1, 2
EINVAL = 22

MAX_KEEP = 64 * 1024          # option data kept in memory (rest discarded)
MAX_READ = 32 << 20           # largest READ/WRITE served

# Handler results: what the option loop does next.
CONTINUE = None               # read the next option
CLOSE = "close"               # hang up (then log what the client still sends)
TRANSMISSION = "transmission"  # enter the transmission phase


class Eof(Exception):
    """The client closed the connection (or reset it)."""


class Deadline(Exception):
    """The connection deadline expired."""


def escape(b):
    return "".join(chr(c) if 0x21 <= c < 0x7F and c != 0x5C else "\\x%02x" % c
                   for c in b)


class Session:
    """One client connection.  Mode functions tweak the attributes below."""

    def __init__(self, conn, logf, deadline):
        self.conn = conn
        self.logf = logf
        self.deadline = deadline
        self.client_flags = 0
        # Knobs for the modes.
        self.greeting_magic = NBDMAGIC
        self.handshake_flags = FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES
        self.reply_magic = REPLY_MAGIC
        self.reply_opt = lambda opt: opt
        self.start = phase_newstyle
        self.handlers = dict(NORMAL_HANDLERS)
        self.default_handler = h_unsup
        self.export_size = EXPORT_SIZE     # EXPORT_NAME and transmission
        self.export_flags = EXPORT_FLAGS   # EXPORT_NAME
        self.drip_interval = DRIP_INTERVAL
        self.trickle = False               # trickle: one byte per send
        self.trickled = 0
        self.tls_ctx = None                # an ssl.SSLContext (--tls-cert)
        self.tls = None                    # the SSLObject once TLS is up
        self.tls_in = self.tls_out = None  # its MemoryBIOs (raw bytes)

    # -- plumbing ---------------------------------------------------------
    def log(self, line):
        self.logf.write(line + "\n")
        self.logf.flush()

    def remaining(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Deadline()
        return left

    def recv_some(self, n, wait=None):
        """Up to n bytes (decrypted once TLS is up); Eof on close; Deadline
        when time is up.  With wait, returns b'' when nothing arrives within
        wait seconds."""
        if self.tls is None:
            return self.raw_recv(n, wait)
        while True:
            try:
                data = self.tls.read(n)
            except ssl.SSLWantReadError:
                raw = self.raw_recv(65536, wait)
                if not raw:
                    return b""
                self.tls_in.write(raw)
                continue
            except ssl.SSLZeroReturnError:
                self.log("TLSCLOSE")
                raise Eof()
            except ssl.SSLError as e:
                self.tls_flush()
                self.log("TLSERROR %s" % (e.reason or e.__class__.__name__))
                raise Eof()
            if not data:
                raise Eof()
            return data

    def raw_recv(self, n, wait=None):
        """recv_some on the socket itself, below any TLS."""
        left = self.remaining()
        self.conn.settimeout(min(left, wait) if wait is not None else left)
        try:
            data = self.conn.recv(n)
        except socket.timeout:
            if wait is not None and wait < left:
                return b""
            raise Deadline()
        except (ConnectionResetError, BrokenPipeError):
            raise Eof()
        if not data:
            raise Eof()
        return data

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                buf += self.recv_some(min(n - len(buf), 65536))
            except Eof:
                if buf:
                    self.log("BYTES %d" % len(buf))
                raise
        return buf

    def send(self, data):
        """Send data (encrypted once TLS is up)."""
        if self.tls is None:
            return self.raw_send(data)
        self.tls.write(data)
        self.tls_flush()

    def tls_flush(self):
        """Send what TLS wrote to its outgoing buffer."""
        data = self.tls_out.read()
        if data:
            self.raw_send(data)

    def tls_seal(self, data):
        """data as the TLS records that would carry it, not sent."""
        self.tls.write(data)
        return self.tls_out.read()

    def raw_send(self, data):
        if self.trickle:
            return self.trickle_send(data)
        self.send_all(data)

    def send_all(self, data):
        self.conn.settimeout(self.remaining())
        try:
            self.conn.sendall(data)
        except socket.timeout:
            raise Deadline()
        except (ConnectionResetError, BrokenPipeError):
            raise Eof()

    def trickle_send(self, data):
        """trickle: every byte on its own, TRICKLE_INTERVAL apart."""
        self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(data)):
            time.sleep(TRICKLE_INTERVAL)
            self.send_all(data[i:i + 1])
            self.trickled += 1

    def drip(self, data):
        """Send data one byte per drip_interval seconds; stop early (Eof)
        when the client hangs up, logging what it sent meanwhile.  Logs
        DRIP <bytes sent> however it ends."""
        sent = 0
        try:
            for i in range(len(data)):
                if i and self.drip_interval > 0:
                    got = self.recv_some(65536, wait=self.drip_interval)
                    if got:
                        self.log_garbage(got)
                self.send(data[i:i + 1])
                sent += 1
        finally:
            self.log("DRIP %d" % sent)

    def garbage(self, buf):
        """Log bytes that are not a parseable option or request."""
        try:
            while True:
                more = self.recv_some(65536, wait=0.2)
                if not more:
                    break
                buf += more
        except Eof:
            self.log_garbage(buf)
            raise
        self.log_garbage(buf)

    def log_garbage(self, buf):
        if buf[:2] == b"\x16\x03":
            self.log("TLSHELLO")
        self.log("BYTES %d" % len(buf))

    def read_framed(self, n, magic):
        """Read an n-byte header that must start with magic; None (after
        logging the bytes) when it does not."""
        buf = b""
        while len(buf) < n:
            try:
                buf += self.recv_some(n - len(buf))
            except Eof:
                if buf:
                    self.log_garbage(buf)
                raise
            k = min(len(buf), len(magic))
            if buf[:k] != magic[:k]:
                self.garbage(buf)
                return None
        return buf

    def start_tls(self):
        """The server side of a real TLS handshake (--tls-cert/--tls-key),
        through memory BIOs so that modes can see and cut the raw records.
        Logs TLSHELLO when the ClientHello arrives, TLS <version> when the
        handshake is done, TLSERROR <reason> (then EOF) when it fails."""
        if self.tls_ctx is None:
            raise SystemExit("this mode needs --tls-cert and --tls-key")
        self.tls_in, self.tls_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = self.tls_ctx.wrap_bio(self.tls_in, self.tls_out,
                                    server_side=True)
        first = True
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.raw_send(self.tls_out.read())
                raw = self.raw_recv(65536)
                if first and raw[:2] == b"\x16\x03":
                    self.log("TLSHELLO")
                first = False
                self.tls_in.write(raw)
            except ssl.SSLError as e:
                self.raw_send(self.tls_out.read())
                self.log("TLSERROR %s" % (e.reason or e.__class__.__name__))
                raise Eof()
        self.raw_send(self.tls_out.read())
        self.tls = obj
        self.log("TLS %s" % obj.version())

    def read_client_hello(self):
        """Read one raw TLS record (the ClientHello) without answering it;
        logs TLSHELLO (or BYTES for anything else).  False if not TLS."""
        hdr = self.recv_exact(5)
        if hdr[:2] != b"\x16\x03":
            self.garbage(hdr)
            return False
        (n,) = struct.unpack(">H", hdr[3:])
        self.recv_exact(n)
        self.log_garbage(hdr + bytes(n))
        return True

    # -- replies ------------------------------------------------------------
    def reply(self, opt, rtype, payload=b"", length=None):
        if length is None:
            length = len(payload)
        self.send(struct.pack(">QIII", self.reply_magic, self.reply_opt(opt),
                              rtype, length) + payload)

    def error(self, opt, rtype, msg):
        self.reply(opt, rtype, msg.encode("utf-8"))

    def info_export(self, opt):
        self.reply(opt, REP_INFO,
                   struct.pack(">HQH", INFO_EXPORT, EXPORT_SIZE, EXPORT_FLAGS))

    def no_zeroes(self):
        return bool(self.handshake_flags & FLAG_NO_ZEROES and
                    self.client_flags & CFLAG_NO_ZEROES)

    # -- mode helpers -------------------------------------------------------
    def set_all(self, handler, keep=()):
        """Answer every option with handler, except the options in keep."""
        self.handlers = {o: h for o, h in self.handlers.items() if o in keep}
        self.default_handler = handler

    def set_go(self, handler):
        self.handlers[OPT_GO] = handler
        self.handlers[OPT_INFO] = handler

    # -- driver ---------------------------------------------------------------
    def run(self):
        try:
            self.start(self)
        except Eof:
            self.log("EOF")
        except Deadline:
            self.log("TIMEOUT")
        except OSError as e:
            self.log("ERROR %s" % e.__class__.__name__)
        if self.trickle:
            self.log("TRICKLED %d" % self.trickled)


# -- phases -------------------------------------------------------------------

def phase_drain(s):
    """Log whatever the client still sends until it closes."""
    while True:
        data = s.recv_some(65536)
        s.log_garbage(data)


def phase_hangup(s):
    if s.tls is not None:
        # End TLS properly first: close_notify, then read the client's.
        try:
            s.tls.unwrap()
        except ssl.SSLError:
            pass
        s.tls_flush()
    try:
        s.conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    phase_drain(s)


def phase_newstyle(s):
    s.send(s.greeting_magic + IHAVEOPT + struct.pack(">H", s.handshake_flags))
    (s.client_flags,) = struct.unpack(">I", s.recv_exact(4))
    s.log("CLIENTFLAGS 0x%08x" % s.client_flags)
    option_loop(s)


def phase_oldstyle(s):
    s.send(NBDMAGIC + struct.pack(">QQI", OLDSTYLE_MAGIC, EXPORT_SIZE,
                                  EXPORT_FLAGS) + bytes(124))
    phase_transmission(s)


def option_loop(s):
    while True:
        hdr = s.read_framed(16, IHAVEOPT)
        if hdr is None:
            return phase_hangup(s)
        opt, length = struct.unpack(">II", hdr[8:])
        data = b""
        left = length
        while left:
            try:
                chunk = s.recv_some(min(left, 65536))
            except Eof:
                s.log("OPT %s len=%d" % (OPT_NAMES.get(opt, "0x%x" % opt),
                                         length))
                s.log("BYTES %d" % (length - left))
                raise
            left -= len(chunk)
            if len(data) < MAX_KEEP:
                data += chunk[:MAX_KEEP - len(data)]
        s.log("OPT %s len=%d" % (OPT_NAMES.get(opt, "0x%x" % opt), length))
        if opt in (OPT_GO, OPT_INFO):
            parsed = parse_go(data, length)
            if parsed is None:
                s.log("GOBAD len=%d" % length)
            else:
                s.log("GONAME %s" % escape(parsed[0]))
                s.log("GOINFO %s" % (",".join(
                    INFO_NAMES.get(i, "0x%x" % i) for i in parsed[1]) or "-"))
        elif opt == OPT_EXPORT_NAME:
            s.log("EXPORTNAME %s" % escape(data))
        handler = s.handlers.get(opt, s.default_handler)
        action = handler(s, opt, data)
        if action == CLOSE:
            return phase_hangup(s)
        if action == TRANSMISSION:
            return phase_transmission(s)


def parse_go(data, length):
    """(name, [info types]) from GO/INFO data, or None if malformed."""
    if length != len(data) or length < 6:
        return None
    (namelen,) = struct.unpack(">I", data[:4])
    if namelen > length - 6:
        return None
    name = data[4:4 + namelen]
    (n,) = struct.unpack(">H", data[4 + namelen:6 + namelen])
    if 6 + namelen + 2 * n != length:
        return None
    infos = struct.unpack(">%dH" % n, data[6 + namelen:])
    return name, list(infos)


def simple_reply(s, cookie, err, payload=b""):
    s.send(struct.pack(">IIQ", SIMPLE_REPLY_MAGIC, err, cookie) + payload)


def phase_transmission(s):
    """Minimal transmission phase: an all-zero 1 MiB disk that drops writes;
    NBD_CMD_DISC closes the connection."""
    magic = struct.pack(">I", REQUEST_MAGIC)
    while True:
        hdr = s.read_framed(28, magic)
        if hdr is None:
            return phase_hangup(s)
        _, _, cmd, cookie, off, length = struct.unpack(">IHHQQI", hdr)
        s.log("CMD %s off=%d len=%d" % (CMD_NAMES.get(cmd, "0x%x" % cmd),
                                        off, length))
        if cmd == CMD_DISC:
            return phase_hangup(s)
        ok = length <= MAX_READ and off + length <= s.export_size
        if cmd == CMD_WRITE:
            left = length
            while left:
                left -= len(s.recv_some(min(left, 65536)))
        if cmd == CMD_READ and ok:
            simple_reply(s, cookie, 0, bytes(length))
        elif cmd in CMD_NAMES and cmd != 7 and ok:
            simple_reply(s, cookie, 0)
        else:
            simple_reply(s, cookie, EINVAL)


# -- option handlers (s, opt, data) -> action ------------------------------------

def h_unsup(s, opt, data):
    s.error(opt, REP_ERR_UNSUP, "option %d not supported" % opt)


def h_silent(s, opt, data):
    """Never answer."""


def h_hangup(s, opt, data):
    return CLOSE


def h_abort(s, opt, data):
    s.reply(opt, REP_ACK)
    return CLOSE


def h_list(s, opt, data):
    if data:
        return s.error(opt, REP_ERR_INVALID, "LIST takes no data")
    for name in (b"disk", b"other"):
        s.reply(opt, REP_SERVER, struct.pack(">I", len(name)) + name)
    s.reply(opt, REP_ACK)


def h_starttls_unsup(s, opt, data):
    s.error(opt, REP_ERR_UNSUP, "TLS not supported here")


def go_done(opt):
    return TRANSMISSION if opt == OPT_GO else CONTINUE


def h_go(s, opt, data):
    if parse_go(data, len(data)) is None:
        return s.error(opt, REP_ERR_INVALID, "malformed request")
    s.info_export(opt)
    s.reply(opt, REP_ACK)
    return go_done(opt)


def h_export_name(s, opt, data):
    s.send(struct.pack(">QH", s.export_size, s.export_flags) +
           (b"" if s.no_zeroes() else bytes(124)))
    return TRANSMISSION


def err_handler(rtype, msg):
    def handler(s, opt, data):
        s.error(opt, rtype, msg)
    return handler


NORMAL_HANDLERS = {
    OPT_EXPORT_NAME: h_export_name,
    OPT_ABORT: h_abort,
    OPT_LIST: h_list,
    OPT_STARTTLS: h_starttls_unsup,
    OPT_INFO: h_go,
    OPT_GO: h_go,
}


# -- modes ------------------------------------------------------------------------

def mode_normal(s):
    pass


def mode_trickle(s):
    """A normal server whose every byte comes on its own segment, about a
    millisecond apart: slow, but within any sane -t."""
    s.trickle = True


def mode_tls_trickle(s):
    """trickle, TLS handshake and all (tls-normal's server)."""
    s.trickle = True
    tls_then(mode_normal)(s)


def mode_starttls_unsup(s):
    s.handlers[OPT_STARTTLS] = err_handler(REP_ERR_UNSUP,
                                           "TLS not supported here")


def mode_starttls_policy(s):
    s.handlers[OPT_STARTTLS] = err_handler(REP_ERR_POLICY,
                                           "TLS forbidden by policy")


def mode_starttls_invalid(s):
    s.handlers[OPT_STARTTLS] = err_handler(REP_ERR_INVALID,
                                           "STARTTLS is invalid here")


def mode_tls_reqd(s):
    # A liar: even STARTTLS gets TLS_REQD.  ABORT is still ACKed;
    # EXPORT_NAME cannot carry an error, so the server hangs up.
    s.set_all(err_handler(REP_ERR_TLS_REQD, "TLS is required"),
              keep=(OPT_ABORT,))
    s.handlers[OPT_EXPORT_NAME] = h_hangup


def mode_go_unsup(s):
    s.set_go(err_handler(REP_ERR_UNSUP, "GO not supported (old server)"))


def mode_huge_reply(s):
    def first(s, opt, data):
        s.reply(opt, REP_INFO, struct.pack(">HQH", INFO_EXPORT, EXPORT_SIZE,
                                           EXPORT_FLAGS) + bytes(20),
                length=0xFFFFFFFF)
        s.set_all(h_silent)
    s.set_all(first)


def mode_wrong_option(s):
    s.reply_opt = lambda opt: OPT_LIST if opt != OPT_LIST else OPT_GO


def mode_short_info(s):
    def handler(s, opt, data):
        s.reply(opt, REP_INFO, struct.pack(">HI", INFO_EXPORT, EXPORT_SIZE))
        s.reply(opt, REP_ACK)
        return go_done(opt)
    s.set_go(handler)


def mode_server_namelen(s):
    def handler(s, opt, data):
        s.reply(opt, REP_SERVER, struct.pack(">I", 100) + b"disk")
        s.reply(opt, REP_ACK)
    s.handlers[OPT_LIST] = handler


def mode_bad_magic(s):
    s.greeting_magic = b"NBDMAGIX"


def mode_bad_optmagic(s):
    s.reply_magic = REPLY_MAGIC + 1


def mode_silent(s):
    s.set_all(h_silent)


def mode_silent_before_greeting(s):
    s.start = phase_drain


def mode_no_fixed_newstyle(s):
    # An old server: anything but EXPORT_NAME makes it drop the connection.
    s.handshake_flags = FLAG_NO_ZEROES
    s.set_all(h_hangup, keep=(OPT_EXPORT_NAME,))


def mode_oldstyle(s):
    s.start = phase_oldstyle


def mode_unknown_error(s):
    s.set_go(err_handler(REP_ERR_MYSTERY, "mystery"))


def mode_platform(s):
    s.set_go(err_handler(REP_ERR_PLATFORM, "platform says no"))


def mode_shutdown(s):
    s.set_go(err_handler(REP_ERR_SHUTDOWN, "server shutting down"))


def mode_block_size_reqd(s):
    s.set_go(err_handler(REP_ERR_BLOCK_SIZE_REQD, "block size required"))


def mode_unknown(s):
    def handler(s, opt, data):
        parsed = parse_go(data, len(data))
        name = parsed[0].decode("utf-8", "replace") if parsed else "?"
        s.error(opt, REP_ERR_UNKNOWN, "export '%s' not found" % name)
    s.set_go(handler)


def mode_info_then_close(s):
    def handler(s, opt, data):
        s.info_export(opt)
        return CLOSE
    s.set_go(handler)


def mode_error_len_huge(s):
    def handler(s, opt, data):
        s.reply(opt, REP_ERR_POLICY, b"forbidden!", length=1 << 30)
        return CLOSE
    s.set_go(handler)


def mode_blocksize(s):
    def handler(s, opt, data):
        s.info_export(opt)
        s.reply(opt, REP_INFO, struct.pack(">HIII", INFO_BLOCK_SIZE,
                                           512, 4096, 32 << 20))
        s.reply(opt, REP_ACK)
        return go_done(opt)
    s.set_go(handler)


def mode_zero_size_reply_ack_go(s):
    def handler(s, opt, data):
        s.reply(opt, REP_ACK)
        return go_done(opt)
    s.set_go(handler)


def phase_drip_greeting(s):
    s.drip(s.greeting_magic + IHAVEOPT + struct.pack(">H", s.handshake_flags))
    phase_drain(s)


def mode_drip_greeting(s):
    s.start = phase_drip_greeting


def mode_drip_option(s):
    def handler(s, opt, data):
        payload = struct.pack(">H", INFO_DESCRIPTION) + \
            b"x" * (DRIP_OPTION_LEN - 2)
        s.send(struct.pack(">QIII", s.reply_magic, opt, REP_INFO,
                           DRIP_OPTION_LEN))
        s.drip(payload)
        return CLOSE
    s.set_all(handler)


def mode_drip_tls(s):
    def handler(s, opt, data):
        s.reply(opt, REP_ACK)
        hdr = s.recv_exact(5)
        if hdr[:2] != b"\x16\x03":
            s.garbage(hdr)
            return CLOSE
        (n,) = struct.unpack(">H", hdr[3:])
        s.recv_exact(n)
        s.log_garbage(hdr + bytes(n))
        # A ServerHello record that never ends: header now, body dripped.
        s.send(b"\x16\x03\x03" + struct.pack(">H", DRIP_TLS_LEN))
        s.drip(b"\x02" + bytes(DRIP_TLS_LEN - 1))
        return CLOSE
    s.handlers[OPT_STARTTLS] = handler


def mode_unsup_after_info(s):
    def handler(s, opt, data):
        s.info_export(opt)
        s.reply(opt, REP_INFO, struct.pack(">H", INFO_NAME) + STALE_NAME)
        s.reply(opt, REP_INFO,
                struct.pack(">H", INFO_DESCRIPTION) + STALE_DESCRIPTION)
        s.error(opt, REP_ERR_UNSUP, "GO not supported after all")
    s.set_go(handler)
    s.export_size = FALLBACK_SIZE
    s.export_flags = FALLBACK_FLAGS


def mode_c1_message(s):
    def handler(s, opt, data):
        s.reply(opt, REP_ERR_UNKNOWN, C1_MESSAGE)
    s.set_go(handler)


# -- inside TLS: a correct STARTTLS and handshake, then the misbehaviour ------

def tls_then(inner):
    """A mode: STARTTLS -> ACK and a real TLS handshake, then the normal
    server (a second STARTTLS -> ERR_INVALID) changed by inner, inside
    TLS."""
    def mode(s):
        def handler(s, opt, data):
            s.reply(opt, REP_ACK)
            s.start_tls()
            s.handlers = dict(NORMAL_HANDLERS)
            s.handlers[OPT_STARTTLS] = err_handler(
                REP_ERR_INVALID, "TLS is already up")
            s.default_handler = h_unsup
            inner(s)
        s.handlers[OPT_STARTTLS] = handler
    return mode


def first_option(fn):
    """An inner mode: fn(s, opt, data) answers the first option inside TLS;
    every later option gets no answer."""
    def inner(s):
        def handler(s, opt, data):
            s.set_all(h_silent)
            return fn(s, opt, data)
        s.set_all(handler)
    return inner


def mode_starttls_ack(s):
    # Every reply, whatever was asked, is an ACK naming NBD_OPT_STARTTLS.
    s.reply_opt = lambda opt: OPT_STARTTLS
    s.set_all(lambda s, opt, data: s.reply(opt, REP_ACK))


def tls_garbage(s, opt, data):
    s.send(TLS_GARBAGE)


def tls_raw_garbage(s, opt, data):
    s.raw_send(RAW_GARBAGE)


def tls_cut_record(s, opt, data):
    rec = s.tls_seal(struct.pack(">QIII", s.reply_magic, opt, REP_INFO, 12) +
                     struct.pack(">HQH", INFO_EXPORT, EXPORT_SIZE,
                                 EXPORT_FLAGS) +
                     struct.pack(">QIII", s.reply_magic, opt, REP_ACK, 0))
    s.raw_send(rec[:len(rec) // 2])
    s.log("CUT %d/%d" % (len(rec) // 2, len(rec)))
    s.tls = None
    return CLOSE


def tls_alert(s, opt, data):
    # A record that fails its MAC, fed to our own TLS: it answers with a
    # real, encrypted fatal alert (bad_record_mac), which we pass on.
    s.tls_in.write(b"\x17\x03\x03\x00\x20" + bytes(32))
    try:
        s.tls.read(1)
    except ssl.SSLError as e:
        s.log("ALERT %s" % (e.reason or e.__class__.__name__))
    s.tls_flush()
    s.tls = None
    return CLOSE


def tls_close_notify(s, opt, data):
    # close_notify, and the TCP connection left open: the client must not
    # wait for it to close.
    try:
        s.tls.unwrap()
    except ssl.SSLWantReadError:
        pass
    s.tls_flush()
    s.log("CLOSENOTIFY")
    s.tls = None
    phase_drain(s)


def mode_tls_handshake_alert(s):
    def handler(s, opt, data):
        s.reply(opt, REP_ACK)
        if s.read_client_hello():
            s.raw_send(HANDSHAKE_ALERT)
        return CLOSE
    s.handlers[OPT_STARTTLS] = handler


MODES = {
    "normal": mode_normal,
    "trickle": mode_trickle,
    "starttls-unsup": mode_starttls_unsup,
    "starttls-policy": mode_starttls_policy,
    "starttls-invalid": mode_starttls_invalid,
    "tls-reqd": mode_tls_reqd,
    "go-unsup": mode_go_unsup,
    "huge-reply": mode_huge_reply,
    "wrong-option": mode_wrong_option,
    "short-info": mode_short_info,
    "server-namelen": mode_server_namelen,
    "bad-magic": mode_bad_magic,
    "bad-optmagic": mode_bad_optmagic,
    "silent": mode_silent,
    "silent-before-greeting": mode_silent_before_greeting,
    "no-fixed-newstyle": mode_no_fixed_newstyle,
    "oldstyle": mode_oldstyle,
    "unknown-error": mode_unknown_error,
    "platform": mode_platform,
    "shutdown": mode_shutdown,
    "block-size-reqd": mode_block_size_reqd,
    "unknown": mode_unknown,
    "info-then-close": mode_info_then_close,
    "error-len-huge": mode_error_len_huge,
    "blocksize": mode_blocksize,
    "zero-size-reply-ack-go": mode_zero_size_reply_ack_go,
    "drip-greeting": mode_drip_greeting,
    "drip-option": mode_drip_option,
    "drip-tls": mode_drip_tls,
    "unsup-after-info": mode_unsup_after_info,
    "c1-message": mode_c1_message,
    "tls-normal": tls_then(mode_normal),
    "tls-trickle": mode_tls_trickle,
    "tls-huge-reply": tls_then(mode_huge_reply),
    "tls-wrong-option": tls_then(mode_wrong_option),
    "tls-short-info": tls_then(mode_short_info),
    "tls-silent": tls_then(mode_silent),
    "tls-starttls-ack": tls_then(mode_starttls_ack),
    "tls-garbage": tls_then(first_option(tls_garbage)),
    "tls-raw-garbage": tls_then(first_option(tls_raw_garbage)),
    "tls-cut-record": tls_then(first_option(tls_cut_record)),
    "tls-alert": tls_then(first_option(tls_alert)),
    "tls-close-notify": tls_then(first_option(tls_close_notify)),
    "tls-handshake-alert": mode_tls_handshake_alert,
}


def tls_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.num_tickets = 0
    return ctx


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=sorted(MODES))
    ap.add_argument("--log")
    ap.add_argument("--port-file")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--drip-interval", type=float, default=DRIP_INTERVAL)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--list-modes", action="store_true")
    args = ap.parse_args()
    if args.list_modes:
        print("\n".join(MODES))
        return 0
    if not args.mode or not args.log:
        ap.error("--mode and --log are required")

    with open(args.log, "w") as logf:
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        port = lsock.getsockname()[1]
        if args.port_file:
            write_port_file(args.port_file, port)
        try:
            print(port, flush=True)
        except OSError:
            pass
        lsock.settimeout(args.timeout)
        try:
            conn, _ = lsock.accept()
        except socket.timeout:
            logf.write("NOCLIENT\n")
            return 0
        finally:
            lsock.close()
        with conn:
            s = Session(conn, logf, time.monotonic() + args.timeout)
            s.drip_interval = args.drip_interval
            if args.tls_cert:
                s.tls_ctx = tls_context(args.tls_cert, args.tls_key)
            MODES[args.mode](s)
            s.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
