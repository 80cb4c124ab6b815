#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 20-attach.t: our client (/bin/nbdc) attaching plaintext exports on a real
# kernel, one boot: netlink attach to a named device and to one the kernel
# picks, ioctl attach (-nonetlink), 64 MiB byte-exact, ext4 + fsck, -c
# side by side with the reference's (the pid in sysfs, exit 0; nothing, exit
# 1), --status and --list-devices, -d, TLS required but refused (no device
# attached), and the reference client on the same data checks as a baseline.
. "$(dirname "$0")/lib.sh"
vm_setup
vm_scenario <<'EOF'
REF=/usr/sbin/nbd-client-ref
MiB=1048576

# --- the client loads the nbd module itself (libkmod) ---------------------------
check "rmmod nbd" rmmod nbd
check_rc 1 "nbd module gone" test -d /sys/module/nbd

check "nbdkit memory 256M" nbdkit -P /run/nbdkit.pid -i 127.0.0.1 -p 10809 memory 256M
check "nbdkit listens" wait_listen 10809 30
check "hostile-ish nbdkit that refuses TLS" nbdkit -i 127.0.0.1 -p 10811 --tls=off memory 16M
wait_listen 10811 30

# -c, ours and the reference's, on a device either attached:
# c_connected NAME DEV: ours prints /sys/block/nbdN/pid exactly, the
# reference the same pid (and an empty line: it adds a newline to the
# file's), both exit 0; c_free NAME DEV: both print nothing and exit 1
c_connected() {
	cat /sys/block/${2#/dev/}/pid >/tmp/pid
	nbdc -c $2 >/tmp/c.out 2>/tmp/c.err; rc=$?
	check_eq "$1: -c: exit 0, /sys/block/${2#/dev/}/pid exactly" "$rc $(bytes /tmp/c.out)" "0 $(bytes /tmp/pid)"
	$REF -c $2 >/tmp/ref.out 2>/tmp/ref.err; rc=$?
	check_eq "$1: the reference's -c: exit 0, the same pid and an empty line" "$rc $(bytes /tmp/ref.out)" "0 $(bytes /tmp/pid)\\n "
	check_eq "$1: -c, both: nothing on stderr" "$(cat /tmp/c.err /tmp/ref.err)" ""
}
c_free() {
	nbdc -c $2 >/tmp/c.out 2>&1; rc=$?
	check_eq "$1: -c: exit 1, nothing printed" "$rc [$(cat /tmp/c.out)]" "1 []"
	$REF -c $2 >/tmp/ref.out 2>&1; rc=$?
	check_eq "$1: the reference's -c: exit 1, nothing printed" "$rc [$(cat /tmp/ref.out)]" "1 []"
}

# --- netlink attach to /dev/nbd0 ---------------------------------------------
c_free "before attach" /dev/nbd0
check_eq "--status /dev/nbd0 before attach: not connected, exit 1" \
	"$(nbdc --status /dev/nbd0; echo rc=$?)" "/dev/nbd0: not connected
rc=1"
nbdc 127.0.0.1 10809 /dev/nbd0 >/tmp/attach.out 2>&1 &
apid=$!
wait $apid; rc=$?
check_eq "attach /dev/nbd0 (netlink): exit 0" "$rc" 0
check_eq "attach prints the device" "$(cat /tmp/attach.out)" "Connected /dev/nbd0"
# plaintext: no process stays, as with the reference; the pid is the
# command's, which sent NBD_CMD_CONNECT
check_eq "netlink: the pid in sysfs is the attach command's" "$(cat /sys/block/nbd0/pid)" "$apid"
c_connected "netlink, attached by ours" /dev/nbd0
check_eq "--status /dev/nbd0 while attached: exit 0, backend shown" \
	"$(nbdc --status /dev/nbd0; echo rc=$?)" "/dev/nbd0: connected to nbd://127.0.0.1:10809/
rc=0"
check_eq "--status --json /dev/nbd0: one object" "$(nbdc --status --json /dev/nbd0; echo rc=$?)" \
	'{"device": "/dev/nbd0", "index": 0, "connected": true, "backend": "nbd://127.0.0.1:10809/", "connections": [{"path": "plaintext", "tls": null}]}
rc=0'
check_eq "sysfs backend is the server URI" "$(cat /sys/block/nbd0/backend)" "nbd://127.0.0.1:10809/"
check_eq "size 256 MiB" "$(blockdev --getsize64 /dev/nbd0)" $((256 * MiB))
roundtrip "ours" /dev/nbd0 0 64
want=$(devsha /dev/nbd0 64)
check_eq "--list-devices --json shows nbd0 connected" \
	"$(nbdc --list-devices --json | grep -o '{"device": "/dev/nbd0", [^]]*]}')" \
	'{"device": "/dev/nbd0", "index": 0, "connected": true, "backend": "nbd://127.0.0.1:10809/", "connections": [{"path": "plaintext", "tls": null}]}'

# --- ext4 ----------------------------------------------------------------------
ext4_roundtrip "ext4" /dev/nbd0 7 16
check "-d /dev/nbd0" nbdc -d /dev/nbd0
wait_for 10 sh -c '! nbdc -c /dev/nbd0 >/dev/null'
c_free "netlink, after -d" /dev/nbd0
check_eq "--status /dev/nbd0 after -d: not connected, exit 1" \
	"$(nbdc --status /dev/nbd0; echo rc=$?)" "/dev/nbd0: not connected
rc=1"

# --- the kernel picks the index --------------------------------------------------
check "nbd0 busy with the reference client" $REF 127.0.0.1 10809 /dev/nbd0 -N ''
c_connected "netlink, attached by the reference" /dev/nbd0
want=$(devsha /dev/nbd0 64)	# what the server holds now (ext4 and all)
out=$(nbdc nbd://127.0.0.1:10809/ 2>&1); rc=$?
check_eq "attach without a device: exit 0" "$rc" 0
dev=${out#Connected }
case "$dev" in /dev/nbd[1-9]*) pass "kernel picked a free device ($dev)";; *) fail "kernel picked a free device" "output: $out";; esac
check_eq "picked device holds the same data" "$(devsha "$dev" 64)" "$want"
check "-d picked device" nbdc -d "$dev"
check "reference -d /dev/nbd0" $REF -d /dev/nbd0

# --- ioctl interface ----------------------------------------------------------
out=$(nbdc -nonetlink 127.0.0.1 10809 /dev/nbd2 2>&1); rc=$?
check_eq "-nonetlink attach /dev/nbd2: exit 0" "$rc" 0
wait_for 10 sh -c 'test "$(cat /sys/block/nbd2/pid 2>/dev/null)" -gt 0'
pid=$(cat /sys/block/nbd2/pid 2>/dev/null)
check "ioctl: a resident process holds NBD_DO_IT" kill -0 "$pid"
check_eq "ioctl: the resident process is ours" "$(tr '\0' ' ' </proc/$pid/cmdline)" "nbdc -nonetlink 127.0.0.1 10809 /dev/nbd2 "
check_eq "ioctl: -nonetlink -c prints the pid" "$(nbdc -nonetlink -c /dev/nbd2)" "$pid"
c_connected "ioctl, attached by ours" /dev/nbd2
check_eq "ioctl: --status (no backend in sysfs)" "$(nbdc --status /dev/nbd2; echo rc=$?)" "/dev/nbd2: connected
rc=0"
check_eq "ioctl: data byte-exact" "$(devsha /dev/nbd2 64)" "$want"
roundtrip "ioctl" /dev/nbd2 3 8 100
check "ioctl: -nonetlink -d" nbdc -nonetlink -d /dev/nbd2
wait_for 10 sh -c "! kill -0 $pid 2>/dev/null"
check_rc 1 "ioctl: resident process exited after -d" kill -0 "$pid"
c_free "ioctl, after -d" /dev/nbd2

# --- TLS required, server refuses: nothing attached ------------------------------
# (a PSK: the credentials are loaded before connecting, and this guest has
# no system trust store for -x)
(umask 077; echo alice:00112233445566778899aabbccddeeff >/tmp/refused.psk)
out=$(nbdc --psk-file /tmp/refused.psk 127.0.0.1 10811 /dev/nbd3 2>&1); rc=$?
check_eq "TLS refused: exit 1" "$rc" 1
check_eq "TLS refused: message" "$out" "nbd-client: the server refused TLS by policy (NBD_REP_ERR_POLICY); TLS was required, so the connection was closed without sending anything in plaintext (use a TLS-enabled server, or drop the TLS options only if an unencrypted connection is acceptable)"
check_rc 1 "TLS refused: /dev/nbd3 not connected" nbdc -c /dev/nbd3
check_eq "TLS refused: /dev/nbd3 has size 0" "$(blockdev --getsize64 /dev/nbd3)" 0

# --- -readonly, -size, -unix, nbdtab ------------------------------------------------
check "nbdkit on a Unix socket" nbdkit -U /tmp/nbd.sock memory 32M
wait_for 10 test -S /tmp/nbd.sock
out=$(nbdc -R -B 16777216 127.0.0.1 10809 /dev/nbd5 2>&1); rc=$?
check_eq "-readonly -size 16M attach: exit 0" "$rc" 0
check_eq "-readonly: the device is read-only" "$(blockdev --getro /dev/nbd5)" 1
check_eq "-size: 16 MiB" "$(blockdev --getsize64 /dev/nbd5)" 16777216
check_rc 1 "-readonly: a write fails" sh -c 'patgen 1M | dd of=/dev/nbd5 bs=1M oflag=direct 2>/dev/null'
check "-d /dev/nbd5" nbdc -d /dev/nbd5
out=$(nbdc -u /tmp/nbd.sock /dev/nbd6 2>&1); rc=$?
check_eq "-unix attach: exit 0" "$rc" 0
check_eq "-unix: backend" "$(cat /sys/block/nbd6/backend)" "nbd+unix:///?socket=/tmp/nbd.sock"
roundtrip "-unix" /dev/nbd6 4 8
check "-d /dev/nbd6" nbdc -d /dev/nbd6
printf '# test nbdtab\nnbd7 127.0.0.1 disk port=10809,readonly,bs=4096,_local=x\n' >/etc/nbdtab
out=$(nbdc nbd7 2>&1); rc=$?
check_eq "nbdtab: nbd-client nbd7: exit 0" "$rc" 0
check_eq "nbdtab: prints the device" "$out" "Connected /dev/nbd7"
check_eq "nbdtab: readonly applied" "$(blockdev --getro /dev/nbd7)" 1
check_eq "nbdtab: bs=4096 applied" "$(blockdev --getbsz /dev/nbd7)" 4096
check "nbdtab: -d" nbdc -d /dev/nbd7
out=$(nbdc nbd8 2>&1); rc=$?
check_eq "nbdtab: no entry: exit 1" "$rc" 1
check_eq "nbdtab: no entry: message" "$out" "nbd-client: /etc/nbdtab has no entry for /dev/nbd8"

# --- reference baseline on the same data checks ----------------------------------
check "reference attach /dev/nbd4" $REF 127.0.0.1 10809 /dev/nbd4 -N ''
roundtrip "reference" /dev/nbd4 9 64
check "reference -d" $REF -d /dev/nbd4
# the reference's ioctl attach: a forked child of it holds NBD_DO_IT
check "reference -nonetlink attach /dev/nbd9" $REF -nonetlink 127.0.0.1 10809 /dev/nbd9 -N ''
wait_for 10 test -e /sys/block/nbd9/pid
c_connected "ioctl, attached by the reference" /dev/nbd9
check "reference -nonetlink -d" $REF -nonetlink -d /dev/nbd9
wait_for 10 sh -c "! test -e /sys/block/nbd9/pid"
c_free "ioctl, after the reference's -d" /dev/nbd9
done_testing
EOF
vm_run "${VM_TIMEOUT:-300}"
