#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 85-sandbox.t: what the processes that stay behind hold (issue 18), on a
# real kernel, one boot.  Three -persist -C 2 devices: TLS through the
# proxy, kernel TLS, plaintext.  /proc/PID/status of the resident monitor
# and of every proxy, before and after a reconnect (both servers
# restarted): the monitor keeps exactly CAP_KILL, CAP_SETGID, CAP_SETUID,
# CAP_SETPCAP, CAP_IPC_LOCK, CAP_SYS_ADMIN and CAP_SYS_RESOURCE
# (0x12041e0) in its permitted, effective and bounding sets; a proxy
# none, as uid and gid 65534; both no_new_privs and a seccomp filter
# (Seccomp: 2).  Then a proxy is made to call openat (sysinject.c turns
# its next system call into one): its filter stops it, the monitor logs
# which call it was and reconnects the link, and the device works on.
# --sandbox=off: no filter, no_new_privs unset.
. "$(dirname "$0")/lib.sh"
vm_setup
(. "$(dirname "$0")/../lib.sh" && make_pki "$VM_WORK/pki") || { echo "Bail out! cannot make certificates"; exit 1; }
vm_add "$VM_WORK/pki/alice.psk" /pki/alice.psk
mkdir -p "$VM_WORK/bin"
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$VM_WORK/bin/sysinject" "$VM_DIR/sysinject.c" ||
	{ echo "Bail out! cannot compile sysinject.c"; exit 1; }
vm_add "$VM_WORK/bin/sysinject" /usr/bin/sysinject
vm_scenario <<'EOF'
# the monitors log to /dev/kmsg (-systemd-mark): no rate limit on it
echo on >/proc/sys/kernel/printk_devkmsg
MON="Uid: 0 0 0 0;CapPrm: 00000000012041e0;CapEff: 00000000012041e0;CapBnd: 00000000012041e0;NoNewPrivs: 1;Seccomp: 2;"
PROXY="Uid: 65534 65534 65534 65534;Gid: 65534 65534 65534 65534;CapPrm: 0000000000000000;CapEff: 0000000000000000;CapBnd: 0000000000000000;NoNewPrivs: 1;Seccomp: 2;"
# status PID: the lines that say what PID holds, ';'-separated
status() {
	grep -E '^(Uid|CapPrm|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/$1/status | tr -s '\t ' '  ' | tr '\n' ';'
}
proxy_status() {
	grep -E '^(Uid|Gid|CapPrm|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/$1/status | tr -s '\t ' '  ' | tr '\n' ';'
}
# monitor DEV: the pid of DEV's resident process, from /run/nbd-client
monitor() { awk '$1 == "monitor" { print $2 }' /run/nbd-client/${1#/dev/}; }
proxies() { for f in $(grep -l '^nbd-proxy$' /proc/[0-9]*/comm 2>/dev/null); do f=${f%/comm}; echo ${f#/proc/}; done; }
start_servers() {
	nbdkit -P /run/tls.pid -i 127.0.0.1 -p 10809 --tls=require --tls-psk=/pki/alice.psk file /tmp/tls.img &&
	nbdkit -P /run/plain.pid -i 127.0.0.1 -p 10810 file /tmp/plain.img &&
	wait_listen 10809 30 && wait_listen 10810 30
}
truncate -s 64M /tmp/tls.img /tmp/plain.img
check "servers start" start_servers
PSK="--psk-file /pki/alice.psk"
A="-persist -systemd-mark -C 2"
check_eq "proxy: attach" "$(nbdc $A --ktls=off $PSK 127.0.0.1 10809 /dev/nbd0 2>&1)" "Connected /dev/nbd0"
check_eq "kernel TLS: attach" "$(nbdc $A --ktls=on $PSK 127.0.0.1 10809 /dev/nbd1 2>&1)" "Connected /dev/nbd1"
check_eq "plaintext: attach" "$(nbdc $A 127.0.0.1 10810 /dev/nbd2 2>&1)" "Connected /dev/nbd2"

# holds WHEN: every monitor's and proxy's status
holds() {
	for d in 0 1 2; do
		m=$(monitor /dev/nbd$d)
		check_eq "$1: nbd$d's monitor $m: $MON" "$(status $m)" "$MON"
	done
	# only nbd0 goes through the proxy: every proxy is one of its two
	set -- "$1" $(proxies)
	check_eq "$1: two proxies (nbd0's)" "$#" 3
	w=$1; shift
	for p in "$@"; do
		check_eq "$w: proxy $p: $PROXY" "$(proxy_status $p)" "$PROXY"
	done
}
holds "after the attach"
old=$(proxies | tr '\n' ' ')

# both servers restarted: every link dies, every monitor reconnects
k0=$(dmesg | wc -l)
kill -9 "$(cat /run/tls.pid)" "$(cat /run/plain.pid)"
gone() { ! _listening 10809 && ! _listening 10810; }
check "servers killed (-9)" wait_for 10 gone
sleep 2
check "servers restart" start_servers
reconnected() {
	n=$(dmesg | tail -n +$((k0 + 1)) | grep -c "nbd$1: monitor: reconnected connection [12]\$")
	[ "$n" -ge 2 ]
}
for d in 0 1 2; do
	check "nbd$d: both connections reconnected" wait_for 90 reconnected $d
done
new=$(proxies | tr '\n' ' ')
check "the proxies after the reconnect are new ones ($old -> $new)" test -n "$new" -a "$new" != "$old"
holds "after a reconnect"
roundtrip "proxy after the reconnect" /dev/nbd0 41 8

# a proxy that makes a call its filter forbids: stopped, named, reconnected
set -- $(proxies)
victim=$1
k0=$(dmesg | wc -l)
check "sysinject: proxy $victim's next call becomes openat" sysinject $victim openat
check "the proxy is gone" wait_for 10 sh -c "! test -d /proc/$victim || grep -q '^State:.*Z' /proc/$victim/status"
stopped() { dmesg | tail -n +$((k0 + 1)) | grep -q "nbd0: monitor: the proxy of connection [12] was stopped by its sandbox: openat\$"; }
check "the monitor logs: nbd0: monitor: the proxy of connection N was stopped by its sandbox: openat" wait_for 10 stopped
conn=$(dmesg | tail -n +$((k0 + 1)) | sed -n 's/.*nbd0: monitor: the proxy of connection \([12]\) was stopped by its sandbox: openat$/\1/p' | head -n 1)
check "... and reconnects that connection ($conn)" wait_for 60 sh -c "dmesg | tail -n +$((k0 + 1)) | grep -q 'nbd0: monitor: reconnected connection ${conn:-X}\$'"
diag "$(dmesg | tail -n +$((k0 + 1)) | grep nbd0 | head -n 8)"
check_eq "two proxies again" "$(proxies | wc -l)" 2
roundtrip "proxy after its sandbox stopped one" /dev/nbd0 42 8
for d in 0 1 2; do
	check "nbd$d: -d" nbdc -d /dev/nbd$d
done

# --sandbox=off: the escape hatch
check_eq "--sandbox=off: attach" "$(nbdc $A --sandbox=off --ktls=off $PSK 127.0.0.1 10809 /dev/nbd3 2>&1)" "Connected /dev/nbd3"
m=$(monitor /dev/nbd3)
check_eq "--sandbox=off: the monitor has no filter and no no_new_privs" "$(status $m | tr ';' '\n' | grep -E '^(NoNewPrivs|Seccomp):' | tr '\n' ';')" "NoNewPrivs: 0;Seccomp: 0;"
set -- $(proxies)
check_eq "--sandbox=off: a proxy runs as root, unfiltered" "$(proxy_status $1 | tr ';' '\n' | grep -E '^(Uid|Seccomp):' | tr '\n' ';')" "Uid: 0 0 0 0;Seccomp: 0;"
check "--sandbox=off: -d" nbdc -d /dev/nbd3
done_testing
EOF
vm_run 600
