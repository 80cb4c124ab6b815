#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 50-lifecycle.t: every link of a -persist device is watched and
# reconnected, on a real kernel.  One boot:
#   - -C 2 plaintext and -C 2 TLS-PSK: the server is killed (-9) during a
#     write, while the monitor is held (SIGSTOP) so that both links are
#     dead when it looks, and restarted; BOTH connections come back (counted in
#     /proc/net/tcp), the write completes, later writes work, the data is
#     byte-exact on the device and in the server's file;
#   - TLS: kill -9 of one proxy is noticed and that link reconnects;
#   - X.509 credentials are read once: with the files deleted after the
#     attach (as after switch_root), a reconnect still does TLS;
#   - the export grows while the server is down: the monitor refuses it,
#     logs why, disconnects the device and exits 1;
#   - a smaller maximum payload after a reconnect is applied, also while
#     a read is in flight across the outage and the next one (the read
#     completes, the monitor reconnects meanwhile);
#   - SIGTERM to the monitor while the server is silent in the middle of a
#     renegotiation ends it within 2 s.
. "$(dirname "$0")/lib.sh"
vm_setup
(. "$(dirname "$0")/../lib.sh" && make_pki "$VM_WORK/pki") || { echo "Bail out! cannot make certificates"; exit 1; }
vm_add "$VM_WORK/pki/alice.psk" /pki/alice.psk
vm_add "$VM_WORK/pki/ca" /pki/ca
vm_scenario <<'EOF'
# the TLS proxy path (kernel TLS, the default where the kernel has it, is
# tests/vm/70-ktls.t's)
nbdc() { command nbdc --ktls=off "$@"; }
# established PORT: client-side TCP connections to PORT that are up
established() {
	awk -v p="$(printf ':%04X' "$1")" \
		'$4 == "01" && substr($3, length($3) - 4) == p { n++ } END { print n + 0 }' \
		/proc/net/tcp
}
proxies() { count_comm nbd-proxy; }
# (functions, so that wait_for re-evaluates them)
est_is() { test "$(established $1)" = "$2"; }
proxies_are() { test "$(proxies)" = "$1"; }
nothing_left() { test "$(count_comm nbdc)$(proxies)" = 00; }
gone() { test ! -d /proc/$1; }
# inflight_ge DEV N: at least N of DEV's requests are in flight
inflight_ge() { test "$(awk '{ print $1 + $2 }' /sys/block/$1/inflight)" -ge "$2"; }
# start_server NAME PORT ARGS...: (re)start nbdkit, pid in /run/NAME.pid
start_server() {
	n=$1; p=$2; shift 2
	nbdkit -P /run/$n.pid -i 127.0.0.1 -p $p "$@" && wait_listen $p 30
}
stop_server() { kill -9 "$(cat /run/$1.pid)"; rm -f /run/$1.pid; }
# wait_pid PID SECS: wait for our child PID, killing it after SECS; its
# exit status is in $WAIT_RC
wait_pid() {
	( sleep $2; kill -9 $1 2>/dev/null ) &
	_wd=$!
	wait $1
	WAIT_RC=$?
	kill $_wd 2>/dev/null
}
elapsed_le() { awk -v a="$1" -v b="$2" -v m="$3" 'BEGIN { exit !(b - a <= m) }'; }

# multi_round NAME PORT DEV SEED CLIENT-ARGS -- SERVER-ARGS
multi_round() {
	n=$1; p=$2; dev=$3; seed=$4; shift 4
	cargs=""; while [ "$1" != -- ]; do cargs="$cargs $1"; shift; done; shift
	truncate -s 64M /tmp/$n.img
	srv="$* --filter=delay file /tmp/$n.img wdelay=10ms"
	check "$n: server starts" start_server $n $p $srv
	check "$n: -persist -C 2 attach" nbdc -persist -C 2 -t 5 $cargs 127.0.0.1 $p $dev
	check_eq "$n: two connections up" "$(established $p)" 2
	want=$(patgen -s $seed 48M | sha)
	rm -f /tmp/dd.rc
	( patgen -s $seed 48M | dd of=$dev bs=256k iflag=fullblock oflag=direct 2>/tmp/dd.err; echo $? >/tmp/dd.rc ) &
	sleep 1
	check "$n: the write is still running when the server dies" test ! -e /tmp/dd.rc
	# The monitor is held (SIGSTOP) while both links die, so that both
	# deaths are waiting for it at once when it goes on.
	mpid=$(grep -l '^nbdc$' /proc/[0-9]*/comm 2>/dev/null | head -n 1 | cut -d/ -f3)
	kill -STOP "$mpid"
	stop_server $n
	diag "$n: server killed at $(uptime_s)s, monitor $mpid held"
	sleep 2
	kill -CONT "$mpid"
	check "$n: server restarted" start_server $n $p $srv
	check "$n: the write finishes" wait_for 120 test -e /tmp/dd.rc
	check_eq "$n: the write saw no error" "$(cat /tmp/dd.rc 2>/dev/null)" 0
	check "$n: both connections came back" wait_for 30 est_is $p 2
	drop_caches
	check_eq "$n: device reads back byte-exact" "$(devsha $dev 48)" "$want"
	roundtrip "$n: after the restart" $dev $((seed + 100)) 8 48
	check_eq "$n: server's file byte-exact" "$(dd if=/tmp/$n.img bs=1M count=48 2>/dev/null | sha)" "$want"
}

multi_round plain 10809 /dev/nbd0 41 -- 
check "plain: -d" nbdc -d /dev/nbd0
check "plain: the monitor exits after -d" wait_for 15 nothing_left
stop_server plain

multi_round tls 10810 /dev/nbd1 42 --psk-file /pki/alice.psk -- --tls=require --tls-psk=/pki/alice.psk
check_eq "tls: two proxies" "$(proxies)" 2
victim=$(grep -l '^nbd-proxy$' /proc/[0-9]*/comm | head -n 1 | cut -d/ -f3)
kill -9 "$victim"
diag "tls: proxy $victim killed at $(uptime_s)s"
check "tls: the killed proxy is reaped" wait_for 20 gone "$victim"
check "tls: a new proxy replaces it" wait_for 20 proxies_are 2
check "tls: two connections up again" wait_for 20 est_is 10810 2
roundtrip "tls: after the proxy was killed" /dev/nbd1 77 16
check "tls: -d" nbdc -d /dev/nbd1
check "tls: the monitor and the proxies exit after -d" wait_for 15 nothing_left
stop_server tls

# Credentials live in memory: the files are gone before the reconnect.
truncate -s 64M /tmp/creds.img
check "creds: server starts" start_server creds 10813 --tls=require --tls-certificates=/pki/ca --tls-verify-peer file /tmp/creds.img
mkdir -p /tmp/creds
cp /pki/ca/ca-cert.pem /pki/ca/client-cert.pem /pki/ca/client-key.pem /tmp/creds/
check "creds: -persist attach with CA, certificate and key" nbdc -persist -t 5 -A /tmp/creds/ca-cert.pem -F /tmp/creds/client-cert.pem -K /tmp/creds/client-key.pem -H localhost 127.0.0.1 10813 /dev/nbd4
rm -rf /tmp/creds
stop_server creds
sleep 1
check "creds: server restarted" start_server creds 10813 --tls=require --tls-certificates=/pki/ca --tls-verify-peer file /tmp/creds.img
check "creds: reconnected without the files" wait_for 30 est_is 10813 1
roundtrip "creds: after the reconnect" /dev/nbd4 88 8
check "creds: -d" nbdc -d /dev/nbd4
stop_server creds

# The export grows while the server is down: nothing can be lost, so the
# device stays, with the size it was attached with.
truncate -s 64M /tmp/size.img
check "size: server starts" start_server size 10811 file /tmp/size.img
command nbdc -nofork -persist -t 5 127.0.0.1 10811 /dev/nbd2 >/tmp/size.out 2>/tmp/size.log &
mpid=$!
check "size: attached" wait_for 30 nbdc -c /dev/nbd2
stop_server size
truncate -s 128M /tmp/size.img
check "size: server restarted with a 128 MiB export" start_server size 10811 file /tmp/size.img
check "size: reconnected to the grown export" wait_for 30 est_is 10811 1
check "size: it logs the change" wait_for 10 grep -q "the export's size changed from 67108864 to 134217728 bytes; the device keeps its 67108864 until it is attached again" /tmp/size.log
check_eq "size: the device keeps its 64 MiB" "$(blockdev --getsize64 /dev/nbd2)" 67108864
roundtrip "size: after the reconnect to the grown export" /dev/nbd2 66 8
# Smaller than what is attached: going on would lie, so the device goes.
stop_server size
truncate -s 32M /tmp/size.img
check "size: server restarted with a 32 MiB export" start_server size 10811 file /tmp/size.img
wait_pid $mpid 60
check_eq "size: the monitor exits with status 1" "$WAIT_RC" 1
check "size: it says why" grep -q "the export shrank from 67108864 to 33554432 bytes, below the 67108864 attached; disconnecting /dev/nbd2 instead of reconnecting" /tmp/size.log
[ $? = 0 ] || diag "$(cat /tmp/size.log)"
check_rc 1 "size: the device is left disconnected" nbdc -c /dev/nbd2
stop_server size

# The server's maximum payload: no request above it (the spec's MUST),
# through every reconnect; a smaller one is applied again.
truncate -s 16M /tmp/limit.img
policy="blocksize-error-policy=error"
check "limit: server starts, maximum 64K" start_server limit 10814 --filter=blocksize-policy file /tmp/limit.img $policy blocksize-maximum=64K
command nbdc -nofork -persist -t 5 127.0.0.1 10814 /dev/nbd5 >/tmp/limit.out 2>/tmp/limit.log &
mpid=$!
check "limit: attached" wait_for 30 nbdc -c /dev/nbd5
check_eq "limit: max_sectors_kb 64" "$(cat /sys/block/nbd5/queue/max_sectors_kb)" 64
check_eq "limit: logical block size 512" "$(cat /sys/block/nbd5/queue/logical_block_size)" 512
patgen -s 5 8388608 >/tmp/pat8
check "limit: an 8 MiB O_DIRECT write" dd if=/tmp/pat8 of=/dev/nbd5 bs=8M count=1 oflag=direct
check "limit: an 8 MiB O_DIRECT read, byte-exact" sh -c 'dd if=/dev/nbd5 bs=8M count=1 iflag=direct 2>/dev/null | cmp - /tmp/pat8'
# A read in flight when the server dies (it is held, SIGSTOP, until the
# kill): 6.12 freezes the queue to change the limit, and a freeze waits
# for that read, which waits for the reconnect.  The next server (32K)
# gets the read, holds it (rdelay) and dies too: the limit still waits
# for the read, the monitor must not, and the third server answers it.
kill -STOP "$(cat /run/limit.pid)"
rm -f /tmp/limit-dd.rc
t_read=$(uptime_s)
( dd if=/dev/nbd5 of=/tmp/limit-dd.out bs=32K count=1 skip=3 iflag=direct 2>/tmp/limit-dd.err; echo $? >/tmp/limit-dd.rc; uptime_s >/tmp/limit-dd.end ) &
ddpid=$!
check "limit: a read is in flight when the server dies" wait_for 10 inflight_ge nbd5 1
stop_server limit
reconnects() { grep -c "reconnected connection 1" /tmp/limit.log; }
reconnects_are() { test "$(reconnects)" = "$1"; }
check "limit: server restarted, maximum 32K, holding reads" start_server limit 10814 --filter=blocksize-policy --filter=delay file /tmp/limit.img $policy blocksize-maximum=32K rdelay=20
check "limit: reconnected" wait_for 30 est_is 10814 1
sleep 2
check_eq "limit: the read is still in flight" "$(cat /tmp/limit-dd.rc 2>/dev/null)" ""
stop_server limit
t_third=$(uptime_s)
check "limit: server restarted again, maximum 32K" start_server limit 10814 --filter=blocksize-policy file /tmp/limit.img $policy blocksize-maximum=32K
check "limit: reconnected again, with the read in flight" wait_for 30 reconnects_are 2
[ $? = 0 ] || diag "$(cat /tmp/limit.log)"
check "limit: it logs the smaller maximum" wait_for 10 grep -q "the server's maximum payload is now 32768 bytes; requests are limited to it" /tmp/limit.log
[ $? = 0 ] || diag "$(cat /tmp/limit.log)"
check_eq "limit: max_sectors_kb 32 once it says so" "$(cat /sys/block/nbd5/queue/max_sectors_kb)" 32
check_eq "limit: said once" "$(grep -c "maximum payload is now" /tmp/limit.log)" 1
wait_pid $ddpid 60
check_eq "limit: the read in flight completes" "$(cat /tmp/limit-dd.rc 2>/dev/null)" 0
[ "$(cat /tmp/limit-dd.rc 2>/dev/null)" = 0 ] || diag "$(cat /tmp/limit-dd.err)"
t_end=$(cat /tmp/limit-dd.end 2>/dev/null)
diag "limit: the read took $(awk -v a=$t_read -v b=$t_end 'BEGIN { printf "%.2f", b - a }') s across both outages, and ended $(awk -v a=$t_third -v b=$t_end 'BEGIN { printf "%.2f", b - a }') s after the third server was started"
check "limit: it read the right 32K" sh -c 'dd if=/tmp/pat8 bs=32K count=1 skip=3 2>/dev/null | cmp - /tmp/limit-dd.out'
check "limit: an 8 MiB O_DIRECT read after it, byte-exact" sh -c 'dd if=/dev/nbd5 bs=8M count=1 iflag=direct 2>/dev/null | cmp - /tmp/pat8'
check "limit: an 8 MiB O_DIRECT write after it" dd if=/tmp/pat8 of=/dev/nbd5 bs=8M count=1 seek=1 oflag=direct
check "limit: -d" nbdc -d /dev/nbd5
wait_pid $mpid 30
check_eq "limit: the monitor exits with status 0" "$WAIT_RC" 0
stop_server limit
rm -f /tmp/pat8 /tmp/limit.img /tmp/limit-dd.*

# SIGTERM while the server is silent in the middle of a renegotiation.
truncate -s 64M /tmp/term.img
check "term: server starts" start_server term 10812 file /tmp/term.img
command nbdc -nofork -persist 127.0.0.1 10812 /dev/nbd3 >/tmp/term.out 2>/tmp/term.log &
mpid=$!
check "term: attached" wait_for 30 nbdc -c /dev/nbd3
stop_server term
check "term: a server that never answers NBD_OPT_GO" start_server term 10812 --filter=delay file /tmp/term.img delay-open=600
check "term: the monitor is renegotiating" wait_for 30 est_is 10812 1
sleep 1
t0=$(uptime_s)
kill -TERM $mpid
wait_pid $mpid 10
t1=$(uptime_s)
diag "term: the monitor ended $(awk -v a=$t0 -v b=$t1 'BEGIN { printf "%.2f", b - a }') s after SIGTERM, status $WAIT_RC"
check "term: the monitor ends within 2 s" elapsed_le $t0 $t1 2
check_eq "term: exit status 0" "$WAIT_RC" 0
check "term: it logged the stop" grep -q "stopping on a signal" /tmp/term.log
nbdc -d /dev/nbd3 >/dev/null 2>&1
stop_server term
done_testing
EOF
vm_run "${VM_TIMEOUT:-600}"
