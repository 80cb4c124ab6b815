#!/usr/bin/env python3
"""Write the hand-made seeds under tests/fuzz/corpus/ (run from the top
directory).  The fuzz-nego seeds captured from real servers are made by
capture.py (README.md); these add what real servers rarely send."""
import os
import struct

OPT = {"EXPORT_NAME": 1, "ABORT": 2, "LIST": 3, "STARTTLS": 5, "INFO": 6,
       "GO": 7}
REP_MAGIC = 0x0003e889045565a9
ACK, SERVER, INFO = 1, 2, 3
ERR = 1 << 31
UNSUP, POLICY, INVALID, TLS_REQD, UNKNOWN, SHUTDOWN = (ERR | n for n in
                                                       (1, 2, 3, 5, 6, 7))


def put(target, name, data):
    d = os.path.join("tests/fuzz/corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def rep(opt, typ, payload=b""):
    return struct.pack(">QIII", REP_MAGIC, opt, typ, len(payload)) + payload


def info_export(size, flags):
    return struct.pack(">HQH", 0, size, flags)


def info_str(kind, s):
    return struct.pack(">H", kind) + s


def info_bs(mn, pref, mx):
    return struct.pack(">HIII", 3, mn, pref, mx)


def server(name, desc=b""):
    return struct.pack(">I", len(name)) + name + desc


greeting = b"NBDMAGICIHAVEOPT" + struct.pack(">H", 3)
greeting_zeroes = b"NBDMAGICIHAVEOPT" + struct.pack(">H", 1)
go = OPT["GO"]

# fuzz-optreply: selector byte, then the parser's input
put("optreply", "header-info",
    b"\x00" + struct.pack(">QIII", REP_MAGIC, go, INFO, 12) + b"\x00")
put("optreply", "header-bad-magic",
    b"\x00" + struct.pack(">QIII", REP_MAGIC ^ 1, go, ACK, 0) + b"\x00")
seq = b"".join(struct.pack(">H", len(p)) + p for p in (
    info_export(1 << 20, 0x1ef), info_str(1, b"disk"),
    info_str(2, "caf\u00e9 \x1b[2J\u009b".encode()), info_bs(512, 4096, 1 << 25),
    struct.pack(">H", 9) + b"unknown", info_str(1, b"again")))
put("optreply", "info-all", b"\x01\x00" + seq)
put("optreply", "info-bad-lengths", b"\x01\x00" + b"".join(
    struct.pack(">H", len(p)) + p for p in (
        info_export(5, 1)[:11], info_bs(512, 4096, 1 << 25) + b"x",
        info_bs(3, 4096, 100), b"\x00")))
put("optreply", "info-huge-size", b"\x01\x01" + struct.pack(">H", 12) +
    info_export(1 << 63, 1))
put("optreply", "server", b"\x02" + server(b"disk", b"a disk"))
put("optreply", "server-long-name", b"\x02" + struct.pack(">I", 99) + b"x")
put("optreply", "server-controls",
    b"\x02" + server(b"\x1b]0;pwned\x07", b"\xc2\x9b31m\xff\xfe"))
for n, t in (("unknown", UNKNOWN), ("tls", TLS_REQD), ("policy", POLICY),
             ("unsup", UNSUP), ("odd", ERR | 0x77)):
    put("optreply", "error-" + n, b"\x03\x00" + struct.pack(">I", t) +
        b"\x06" + b"no such export \x1b[31m\n")
put("optreply", "sanitize",
    b"\x04\x00\x10" + "ok caf\u00e9 \u20ac \U0001f600".encode() +
    b"\xe2\x80x\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80\xc2\x9b")

# fuzz-nego: variant byte (see fuzz-nego.c), then what the server sends
ok_go = (rep(go, INFO, info_export(1 << 20, 1)) +
         rep(go, INFO, info_str(1, b"disk")) +
         rep(go, INFO, info_str(2, b"the disk")) +
         rep(go, INFO, info_bs(512, 4096, 1 << 25)) + rep(go, ACK))
put("nego", "go-full", b"\x04" + greeting + ok_go)
put("nego", "go-bs-4096", b"\x34" + greeting + ok_go)
put("nego", "go-unknown-export", b"\x04" + greeting +
    rep(go, UNKNOWN, b"no export named disk"))
put("nego", "go-unsup-then-export-name", b"\x00" + greeting +
    rep(go, INFO, info_str(2, b"stale")) + rep(go, UNSUP) +
    struct.pack(">QH", 1 << 20, 1))
put("nego", "go-ack-without-export", b"\x00" + greeting + rep(go, ACK))
put("nego", "go-wrong-option", b"\x00" + greeting +
    rep(OPT["LIST"], ACK))
put("nego", "export-name-zeroes", b"\x01" + greeting_zeroes +
    struct.pack(">QH", 4096, 3) + bytes(124))
put("nego", "oldstyle", b"\x00NBDMAGIC" + struct.pack(">QQI", 0x00420281861253,
                                                       1 << 20, 1) + bytes(124))
put("nego", "not-newstyle", b"\x00" + b"NBDMAGICIHAVEOPT\x00\x00")
put("nego", "list", b"\x02" + greeting +
    rep(OPT["LIST"], SERVER, server(b"disk", b"first")) +
    rep(OPT["LIST"], SERVER, server(b"\x1b[2Jx")) +
    rep(OPT["LIST"], ACK))
put("nego", "list-policy", b"\x02" + greeting +
    rep(OPT["LIST"], POLICY, b"listing is disabled"))

# fuzz-psk: user selector byte, then the file
put("psk", "one", b"\x00alice:0123456789abcdef0123456789abcdef\n")
put("psk", "two-pick", b"\x01# keys\r\nbob:00ff\r\nalice:abcd\r\n\n")
put("psk", "bad", b"\x00alice0123\n:00\nbob:0g\n")

# fuzz-uri: the URI (uri.md's examples and more)
for i, u in enumerate((
        "nbd://example.com:10809/export", "nbd+unix:///export?socket=nbd.sock",
        "nbd://example.com", "nbd://example.com/", "nbd://example.com//disk",
        "nbd://example.com/hello%20world", "nbd+unix:///?socket=%00/abstract",
        "nbd+unix:///disk?socket=sock", "NBDS://alice@[fe80::1%25eth0]:010809/x",
        "nbds://h/e?tls-certificates=/etc/pki&tls-username=bob",
        "nbds+unix://u@/e?socket=/run/s&tls-psk-file=/k.psk",
        "nbd://[::1]/", "nbd://user:pw@h/", "nbd://h/x#frag",
        "nbd://h:0/", "nbd://h:65536/", "nbd://h/%zz", "nbd://h/?x=1&x=2",
        "nbds://h/?tls-certificates=a&tls-psk-file=b")):
    put("uri", "%02d" % i, u.encode())

# fuzz-nbdtab: device selector (bit 3: config from a command line), then
# the file (nbdtab.5's examples)
tab = b"""# device  host              export   options
nbd1      192.0.2.10        scratch
nbd2      nbd.example.com   data     port=10810,conns=4,persist
nbd3      /run/nbdkit.sock  media    unix,readonly
nbd4      [2001:db8::7]     vm1      timeout=10,bs=4096
nbd6  nbd.example.com  home  tls,persist
nbd7  nbd.example.com  vm2   psk-file=/etc/nbd-client/keys.psk,psk-user=alice
nbd8  nbd.example.com  swap0  swap,persist,timeout=30
nbd9  nbd.example.com  test   noauto
nbd0  nbd.example.com  root  cacertfile=/etc/nbd-client/ca-cert.pem,certfile=/etc/nbd-client/client-cert.pem,keyfile=/etc/nbd-client/client-key.pem,persist
"""
put("nbdtab", "man-nbd0", b"\x00" + tab)
put("nbdtab", "man-nbd1-cmdline", b"\x09" + tab)
put("nbdtab", "man-nbd2", b"\x02" + tab)
put("nbdtab", "options", b"\x00nbd0 h e bs=512,size=1048576,timeout=2147483,"
    b"dead-timeout=1,conns=64,identifier=x,tlshostname=h,priority=NORMAL,"
    b"swap,no_optgo,preinit,nonetlink,systemd-mark,nofork,_local,what\r\n")
put("nbdtab", "errors", b"\x01nbd1 h e bs=3\nnbd1 h e\n\tnbd1 h\x00\n")

# fuzz-cli: NUL-separated arguments after argv[0] (nbd-client.8)
for i, a in enumerate((
        ["192.0.2.10", "10809", "/dev/nbd0"], ["-N", "data", "h", "nbd1"],
        ["nbd://h/e", "/dev/nbd2", "-persist", "-C", "4"],
        ["-u", "/run/s.sock", "nbd3", "-b", "4096", "-t", "30"],
        ["-d", "/dev/nbd0"], ["-c", "nbd0"], ["--check", "nbds://h/e", "--json"],
        ["--check", "-t", "2", "h"], ["-l", "h"], ["nbd4"], ["--list-devices"],
        ["h", "bs=1024", "timeout=5", "nbd0"],
        ["-A", "ca.pem", "-F", "c.pem", "-K", "k.pem", "-H", "srv", "h", "nbd0"],
        ["--psk-file", "k", "--psk-user", "u", "-y", "NORMAL", "h", "nbd0"],
        ["-B", "1048576", "-P", "-R", "-s", "-n", "-m", "-L", "-g", "-i", "id",
         "-T", "60", "-x", "h", "nbd0"],
        ["-V"], ["-h"], ["--nbdtab", "/tmp/t", "nbd5"])):
    put("cli", "%02d" % i, b"\x00".join(x.encode() for x in a))
