#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 45-adopt.t: a new nbd-client process takes over a device another one
# attached (issue 17, part 4), one boot.
#
# a. A -persist TLS device (kernel TLS, the TLS proxy, kernel TLS with -C 2) with a writer
#    running: its monitor is killed (-9), nbdc --adopt takes the device
#    over, the server is killed and restarted: the adopter reconnects
#    (with a proxy of its own on the proxy path), the writer sees no
#    error, the data reads back byte-exact.  -c still prints the first
#    pid (RECONFIGURE does not change /sys/block/nbdN/pid); -d ends the
#    adopter.
# b. nbd@.service's command, nbd-client -nofork nbdN, on a device attached
#    already as its nbdtab line says (the root, attached by the
#    initramfs): it tells the monitor that is still there to leave, and
#    stays in the foreground as the monitor (not marked @); a device
#    attached to something else is left alone.
# c. Refusals, each one exact line and exit status 1, the device left as
#    it was: not connected, attached by another client, attached to
#    another backend than its recorded command line says, no command line.
. "$(dirname "$0")/lib.sh"
vm_setup
vm_only_on ADOPT_KERNELS 6.12
(. "$(dirname "$0")/../lib.sh" && make_pki "$VM_WORK/pki") || { echo "Bail out! cannot make certificates"; exit 1; }
vm_add "$VM_WORK/pki/alice.psk" /pki/alice.psk
vm_scenario <<'EOF'
# The monitors log to /dev/kmsg (-systemd-mark), which the kernel limits
# to 10 lines in 5 s per writer unless told otherwise: a -C 2 outage says
# more than that, and the checks read those lines.
echo on >/proc/sys/kernel/printk_devkmsg
PSK="--psk-file /pki/alice.psk"
REF=/usr/sbin/nbd-client-ref
monitors() { count_comm nbdc; }
no_monitor() { test "$(count_comm nbdc)" = 0; }
proxies() { count_comm nbd-proxy; }
# pid_of COMM: the (first) process called COMM; ppid_of PID: its parent
pid_of() { grep -l "^$1\$" /proc/[0-9]*/comm 2>/dev/null | head -n 1 | cut -d/ -f3; }
ppid_of() { sed 's/.*) //' /proc/$1/stat | cut -d' ' -f2; }
gone() { ! test -e /proc/$1/stat || grep -q ') Z' /proc/$1/stat; }
status() { nbdc --status $1 | sed 's/, [A-Z0-9-]*)$/)/'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
start_server() { # NAME PORT ARGS...
	n=$1; p=$2; shift 2
	nbdkit -P /run/$n.pid -i 127.0.0.1 -p $p "$@" && wait_listen $p 30
}

# --- a. kill -9 the monitor mid-write, adopt, restart the server ------------------
# adopt_round NAME PORT DEV SEED PATH CONNECTIONS [--ktls=off]
# (the server delays each write by 30 ms: the 48 MiB write is surely still
# running through the adoption and the server's restart)
adopt_round() {
	n=$1 p=$2 dev=$3 seed=$4 path=$5 c=$6 kt=${7:-} d=${3#/dev/}
	srv="--tls=require --tls-psk=/pki/alice.psk --filter=delay file /tmp/$n.img wdelay=30ms"
	truncate -s 64M /tmp/$n.img
	check "$n: server starts" start_server $n $p $srv
	out=$(nbdc $kt -C $c -persist -systemd-mark -t 5 $PSK 127.0.0.1 $p $dev 2>&1)
	check_eq "$n: -persist TLS attach" "$out rc=$?" "Connected $dev rc=0"
	check_eq "$n: --status: $path" "$(status $dev)" "$dev: connected to nbds://127.0.0.1:$p/ ($path, TLS1.3)"
	mpid=$(nbdc -c $dev)
	check_eq "$n: the device's pid is its monitor" "$(cat /proc/$mpid/comm 2>/dev/null)" nbdc
	want=$(patgen -s $seed 48M | sha)
	rm -f /tmp/dd.rc
	( patgen -s $seed 48M | dd of=$dev bs=256k iflag=fullblock oflag=direct 2>/tmp/dd.err; echo $? >/tmp/dd.rc ) &
	sleep 1
	kill -9 $mpid
	check "$n: the monitor is gone (kill -9)" wait_for 10 no_monitor
	[ -z "$kt" ] || check_eq "$n: its TLS proxy lives on" "$(proxies)" $c
	oldproxy=$(pid_of nbd-proxy)
	out=$(nbdc --adopt $dev 2>&1)
	check_eq "$n: --adopt: exit 0, one line" "$out rc=$?" "Adopted $dev from pid $mpid, which was gone rc=0"
	check_eq "$n: one resident process" "$(monitors)" 1
	apid=$(pid_of nbdc)
	check_eq "$n: the adopter is not marked @ (it runs from the root file system)" "$(head -c 4 /proc/$apid/cmdline)" "nbdc"
	check_eq "$n: /run/nbd-client/$d names the adopter as the monitor" "$(awk '$1 == "monitor" { print $2 }' /run/nbd-client/$d)" "$apid"
	check "$n: the write is still running" test ! -e /tmp/dd.rc
	check_eq "$n: -c prints the pid that started the device" "$(nbdc -c $dev)" "$mpid"
	check_eq "$n: --status after the adoption" "$(status $dev)" "$dev: connected to nbds://127.0.0.1:$p/ ($path, TLS1.3)"
	k0=$(dmesg | wc -l)
	kill -9 "$(cat /run/$n.pid)"
	sleep 3
	check "$n: server restarted" start_server $n $p $srv
	t1=$(uptime_s)
	check "$n: the adopter reconnects (kernel log)" wait_for 60 sh -c "dmesg | tail -n +$((k0 + 1)) | grep -q 'nbd-client\[$apid\]: $d: monitor: reconnected connection 1'"
	t2=$(uptime_s)
	[ $c = 1 ] || check "$n: ... and connection $c" wait_for 60 sh -c "dmesg | tail -n +$((k0 + 1)) | grep -q 'nbd-client\[$apid\]: $d: monitor: reconnected connection $c'"
	check_eq "$n: the kernel took $c new sockets" "$(dmesg | tail -n +$((k0 + 1)) | grep -c "$d: reconnected socket")" $c
	check "$n: the write finishes" wait_for 150 test -e /tmp/dd.rc
	check_eq "$n: the write saw no error" "$(cat /tmp/dd.rc 2>/dev/null)" 0
	diag "$n: reconnected $(elapsed $t1 $t2)s after the server came back; dd: $(tr "\n" " " </tmp/dd.err)"
	check_eq "$n: the kernel failed no I/O" "$(dmesg | tail -n +$((k0 + 1)) | grep -c "I/O error, dev $d")" 0
	if [ -n "$kt" ]; then
		check "$n: the old proxy ended with its connection" gone $oldproxy
		check_eq "$n: one proxy, the adopter's child" "$(proxies) $(ppid_of $(pid_of nbd-proxy))" "1 $apid"
	fi
	check_eq "$n: --status after the reconnect" "$(status $dev)" "$dev: connected to nbds://127.0.0.1:$p/ ($path, TLS1.3)"
	drop_caches
	check_eq "$n: the device reads back byte-exact" "$(devsha $dev 48)" "$want"
	check_eq "$n: the server's file is byte-exact" "$(dd if=/tmp/$n.img bs=1M count=48 2>/dev/null | sha)" "$want"
	diag "$(dmesg | tail -n +$((k0 + 1)) | grep "$d" | head -n 20)"
	check "$n: -d" nbdc -d $dev
	check "$n: the adopter exits after -d" wait_for 15 no_monitor
	kill "$(cat /run/$n.pid)"
}
adopt_round ktls 10810 /dev/nbd0 61 "kernel TLS" 1
adopt_round proxy 10811 /dev/nbd1 62 "TLS proxy" 1 --ktls=off
# two connections: two kernel TLS links die, two events, two reconnects
adopt_round C2 10814 /dev/nbd6 63 "kernel TLS" 2

# --- b. nbd@.service's command: nbd-client -nofork nbdN ----------------------------
truncate -s 64M /tmp/b.img
check "b: server starts" start_server b 10812 --tls=require --tls-psk=/pki/alice.psk file /tmp/b.img
check "b: plaintext server starts" start_server c 10813 memory 64M
printf '%s\n' 'nbd2 127.0.0.1 disk port=10812,psk-file=/pki/alice.psk,persist' \
	'nbd3 127.0.0.1 disk port=10812,psk-file=/pki/alice.psk' >/tmp/nbdtab
# as the initramfs attaches the root
out=$(nbdc --nbdtab /tmp/nbdtab -swap -systemd-mark nbd2 2>&1)
check_eq "b: the 'initramfs' attaches nbd2" "$out rc=$?" "Connected /dev/nbd2 rc=0"
mpid=$(nbdc -c /dev/nbd2)
roundtrip "b: before" /dev/nbd2 71 4
# a death the old monitor recorded but had repaired (it was told to leave
# between the two): the adopter reconnects, and the kernel, which has no
# dead connection, drops the new socket; the adopter tells, and counts
# the connection as the kernel's again
check_eq "b: the record says no connection is dead" "$(grep '^dead ' /run/nbd-client/nbd2)" "dead 0"
sed -i 's/^dead 0$/dead 1/' /run/nbd-client/nbd2
k0=$(dmesg | wc -l)
# the unit: ExecStart=nbd-client -nofork nbd2, in the foreground
nbdc --nbdtab /tmp/nbdtab -nofork nbd2 >/tmp/unit.out 2>/tmp/unit.err &
upid=$!
check "b: the unit's command adopts nbd2" wait_for 30 grep -q Adopted /tmp/unit.out
check_eq "b: what it says" "$(cat /tmp/unit.out)" "Adopted /dev/nbd2 from pid $mpid, which has left"
check "b: the old monitor has left" gone $mpid
check_eq "b: one resident process: the unit's, in the foreground" "$(monitors) $(pid_of nbdc)" "1 $upid"
check_eq "b: not marked @" "$(head -c 4 /proc/$upid/cmdline)" "nbdc"
check_eq "b: it logs on stderr (-nofork)" "$(grep -c "nbd-client\[$upid\]: nbd2: monitor: adopted /dev/nbd2 from pid $mpid" /tmp/unit.err)" 1
check "b: the recorded death: a new connection, which the kernel drops" wait_for 30 grep -q "nbd-client\[$upid\]: nbd2: monitor: connection 1: the kernel had no dead connection to replace; its own is alive" /tmp/unit.err
check_eq "b: ... the kernel took no socket" "$(dmesg | tail -n +$((k0 + 1)) | grep -c 'nbd2: reconnected socket')" 0
check_eq "b: ... the record says none is dead" "$(grep '^dead ' /run/nbd-client/nbd2)" "dead 0"
roundtrip "b: adopted" /dev/nbd2 73 4 8
kill -9 "$(cat /run/b.pid)"
sleep 2
check "b: server restarted" start_server b 10812 --tls=require --tls-psk=/pki/alice.psk file /tmp/b.img
check "b: the unit's process reconnects" wait_for 60 grep -q "nbd-client\[$upid\]: nbd2: monitor: reconnected connection 1" /tmp/unit.err
check_eq "b: ... the kernel took its socket" "$(dmesg | tail -n +$((k0 + 1)) | grep -c 'nbd2: reconnected socket')" 1
check_eq "b: data written before reads back byte-exact" "$(devsha /dev/nbd2 4)" "$(patgen -s 71 4M | sha)"
roundtrip "b: after" /dev/nbd2 72 4 4
# a device attached to something else is left alone: the attach is
# refused (busy), the device stays as it was
out=$(nbdc 127.0.0.1 10813 /dev/nbd3 2>&1)
check_eq "b: nbd3 attached to another server" "$out rc=$?" "Connected /dev/nbd3 rc=0"
opid=$(nbdc -c /dev/nbd3)
out=$(nbdc --nbdtab /tmp/nbdtab -nofork nbd3 2>&1)
check_eq "b: the unit's command on nbd3: refused, busy" "$out rc=$?" "nbd-client: /dev/nbd3 is already connected, by pid $opid (disconnect it first: nbd-client -d /dev/nbd3) rc=1"
check_eq "b: nbd3 left alone" "$(status /dev/nbd3)" "/dev/nbd3: connected to nbd://127.0.0.1:10813/"
check "b: -d nbd2" nbdc -d /dev/nbd2
( sleep 20; kill $upid 2>/dev/null ) &
wait $upid
check_eq "b: the unit's process exits 0 after -d" "$?" 0

# --- c. refusals -----------------------------------------------------------------
out=$(nbdc --adopt /dev/nbd5 2>&1)
check_eq "c: not connected" "$out rc=$?" "nbd-client: /dev/nbd5 is not connected: nothing to adopt rc=1"
out=$($REF 127.0.0.1 10813 /dev/nbd4 2>&1)
check_eq "c: the reference client attaches nbd4" "rc=$?" "rc=0"
rpid=$(nbdc -c /dev/nbd4)
out=$(nbdc --adopt /dev/nbd4 2>&1)
check_eq "c: attached by another client" "$out rc=$?" "nbd-client: /dev/nbd4 was not attached by nbd-client (/run/nbd-client/nbd4 does not name its pid $rpid): nothing to adopt rc=1"
check_eq "c: ... nbd4 left alone" "$(nbdc -c /dev/nbd4)" "$rpid"
$REF -d /dev/nbd4 >/dev/null 2>&1
# nbd3 (ours, plaintext): its recorded command line names another server
cp /run/nbd-client/nbd3.args /tmp/nbd3.args
printf '/\n127.0.0.1\n10899\n/dev/nbd3\n' | tr '\n' '\0' >/run/nbd-client/nbd3.args
out=$(nbdc --adopt /dev/nbd3 2>&1)
check_eq "c: another backend than the command line says" "$out rc=$?" "nbd-client: /dev/nbd3 is attached to nbd://127.0.0.1:10813/, not to nbd://127.0.0.1:10899/ as the command line that attached it says: nothing to adopt rc=1"
rm /run/nbd-client/nbd3.args
out=$(nbdc --adopt /dev/nbd3 2>&1)
check_eq "c: no command line" "$out rc=$?" "nbd-client: cannot read /run/nbd-client/nbd3.args, the command line that attached /dev/nbd3: No such file or directory rc=1"
check_eq "c: ... nbd3 left alone" "$(status /dev/nbd3) $(monitors)" "/dev/nbd3: connected to nbd://127.0.0.1:10813/ 0"
# with its command line back, even a plaintext device without a resident
# process can be adopted: the adopter stays with it until -d
cp /tmp/nbd3.args /run/nbd-client/nbd3.args
out=$(nbdc --adopt /dev/nbd3 2>&1)
check_eq "c: then adopted" "$out rc=$?" "Adopted /dev/nbd3 from pid $opid, which was gone rc=0"
check_eq "c: ... one resident process" "$(monitors)" 1
check "c: -d nbd3" nbdc -d /dev/nbd3
check "c: the adopter exits after -d" wait_for 15 no_monitor
done_testing
EOF
vm_run "${VM_TIMEOUT:-600}"
