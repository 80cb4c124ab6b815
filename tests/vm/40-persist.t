#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 40-persist.t: -persist on a real kernel.  The server is killed in the
# middle of a write, then restarted; the resident monitor reconnects (TLS
# included: new handshake, new proxy) with NBD_CMD_RECONFIGURE, and the write
# completes with no error and the data checks out, on the device and in the
# server's backing file.  One boot.
. "$(dirname "$0")/lib.sh"
vm_setup
(. "$(dirname "$0")/../lib.sh" && make_pki "$VM_WORK/pki") || { echo "Bail out! cannot make certificates"; exit 1; }
vm_add "$VM_WORK/pki/alice.psk" /pki/alice.psk
vm_scenario <<'EOF'
# the TLS proxy path (kernel TLS, the default where the kernel has it, is
# tests/vm/70-ktls.t's)
nbdc() { command nbdc --ktls=off "$@"; }
monitors() { count_comm nbdc; }
no_monitor() { test "$(count_comm nbdc)" = 0; }

# start_server NAME PORT ARGS...: (re)start nbdkit on a file, pid in /run/NAME.pid
start_server() {
	n=$1; p=$2; shift 2
	nbdkit -P /run/$n.pid -i 127.0.0.1 -p $p "$@" && wait_listen $p 30
}

# persist_round NAME PORT DEV SEED CLIENT-ARGS -- SERVER-ARGS
# (the server delays each write by 10 ms, so the 48 MiB write is surely
# still running when the server is killed 1 s in)
persist_round() {
	n=$1; p=$2; dev=$3; seed=$4; shift 4
	cargs=""; while [ "$1" != -- ]; do cargs="$cargs $1"; shift; done; shift
	truncate -s 64M /tmp/$n.img
	check "$n: server starts" start_server $n $p "$@" --filter=delay file /tmp/$n.img wdelay=10ms
	out=$(nbdc -persist -systemd-mark $cargs 127.0.0.1 $p $dev 2>&1); rc=$?
	check_eq "$n: -persist attach: exit 0" "$rc" 0
	check_eq "$n: one resident monitor" "$(monitors)" 1
	mpid=$(grep -l '^nbdc$' /proc/[0-9]*/comm 2>/dev/null | head -n 1 | cut -d/ -f3)
	check_eq "$n: -systemd-mark: the monitor's argv[0] starts with @" "$(head -c 1 /proc/$mpid/cmdline 2>/dev/null)" "@"
	want=$(patgen -s $seed 48M | sha)
	rm -f /tmp/dd.rc
	( patgen -s $seed 48M | dd of=$dev bs=256k iflag=fullblock oflag=direct 2>/tmp/dd.err; echo $? >/tmp/dd.rc ) &
	sleep 1
	check "$n: the write is still running when the server dies" test ! -e /tmp/dd.rc
	kill -9 "$(cat /run/$n.pid)"
	diag "$n: server killed at $(uptime_s)s"
	sleep 3
	check "$n: server restarted" start_server $n $p "$@" --filter=delay file /tmp/$n.img wdelay=10ms
	check "$n: the write finishes" wait_for 150 test -e /tmp/dd.rc
	check_eq "$n: the write saw no error" "$(cat /tmp/dd.rc 2>/dev/null)" 0
	# -systemd-mark (a root device): the monitor also logs to the kernel
	check "$n: the reconnect is in the kernel log" sh -c "dmesg | grep -q 'nbd-client\[$mpid\]: ${dev#/dev/}: monitor: reconnected connection 1'"
	[ "$(cat /tmp/dd.rc 2>/dev/null)" = 0 ] || diag "dd: $(cat /tmp/dd.err)"
	drop_caches
	check_eq "$n: device reads back byte-exact" "$(devsha $dev 48)" "$want"
	check_eq "$n: server's file byte-exact" "$(dd if=/tmp/$n.img bs=1M count=48 2>/dev/null | sha)" "$want"
	check "$n: -d" nbdc -d $dev
	check "$n: the monitor exits after -d" wait_for 15 no_monitor
	kill "$(cat /run/$n.pid)"
}

# no -t: -persist sets a 30 s request timeout, after which the kernel
# re-sends what was in flight on the dead connection
persist_round plain 10809 /dev/nbd0 31 -- 
persist_round tls 10810 /dev/nbd1 32 -t 5 --psk-file /pki/alice.psk -- --tls=require --tls-psk=/pki/alice.psk
done_testing
EOF
vm_run "${VM_TIMEOUT:-420}"
