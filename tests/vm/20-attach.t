#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 20-attach.t: our client (/bin/nbdc) attaching plaintext exports on a real
# kernel, one boot: netlink attach to a named device and to one the kernel
# picks, ioctl attach (-nonetlink), 64 MiB byte-exact, ext4 + fsck, -c and
# --list-devices, -d, TLS required but refused (no device attached), and the
# reference client on the same data checks as a baseline.
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

# --- netlink attach to /dev/nbd0 ---------------------------------------------
check_rc 1 "-c /dev/nbd0 before attach: exit 1" nbdc -c /dev/nbd0
out=$(nbdc 127.0.0.1 10809 /dev/nbd0 2>&1); rc=$?
check_eq "attach /dev/nbd0 (netlink): exit 0" "$rc" 0
check_eq "attach prints the device" "$out" "Connected /dev/nbd0"
check_eq "-c /dev/nbd0 while attached: exit 0, backend shown" \
	"$(nbdc -c /dev/nbd0; echo rc=$?)" "/dev/nbd0: connected to nbd://127.0.0.1:10809/
rc=0"
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
check_rc 1 "-c /dev/nbd0 after -d: exit 1" nbdc -c /dev/nbd0

# --- the kernel picks the index --------------------------------------------------
check "nbd0 busy with the reference client" $REF 127.0.0.1 10809 /dev/nbd0 -N ''
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
check_eq "ioctl: -nonetlink -c prints the pid" "$(nbdc -nonetlink -c /dev/nbd2)" "$pid"
check_eq "ioctl: data byte-exact" "$(devsha /dev/nbd2 64)" "$want"
roundtrip "ioctl" /dev/nbd2 3 8 100
check "ioctl: -nonetlink -d" nbdc -nonetlink -d /dev/nbd2
wait_for 10 sh -c "! kill -0 $pid 2>/dev/null"
check_rc 1 "ioctl: resident process exited after -d" kill -0 "$pid"

# --- TLS required, server refuses: nothing attached ------------------------------
# (a PSK: the credentials are loaded before connecting, and this guest has
# no system trust store for -x)
echo alice:00112233445566778899aabbccddeeff >/tmp/refused.psk
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
done_testing
EOF
vm_run "${VM_TIMEOUT:-300}"
