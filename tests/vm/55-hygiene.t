#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 55-hygiene.t: bad local input that needs a kernel with nbd, and resource
# hygiene of the resident processes, on a real kernel.  One boot.
#
#  - no nbd module and none to load; not root; a device that does not exist;
#    a device already in use, by us and by the reference client: one exact
#    line and exit status 1 each (nbd-client(8), EXIT STATUS), and the
#    device in use is left alone
#  - open fds of a -nofork client, a -persist monitor and a TLS proxy before
#    and after three reconnects: no growth (the counts are printed)
#  - a TLS proxy ignores SIGPIPE; when the server is killed, and when a
#    relay resets the TCP connection (SO_LINGER 0) in the middle of a write,
#    the proxy logs what happened and -persist brings the device back, the
#    write completing byte-exact
. "$(dirname "$0")/lib.sh"
vm_setup
(. "$(dirname "$0")/../lib.sh" && make_pki "$VM_WORK/pki") || { echo "Bail out! cannot make certificates"; exit 1; }
vm_add "$VM_WORK/pki/alice.psk" /pki/alice.psk
vm_add "$VM_WORK/pki/keys.psk" /pki/keys.psk
# the relay that resets connections, and a setpriv that busybox lacks
for h in relay nobody; do
	"${CC:-cc}" -O2 -Wall -o "$VM_WORK/hygiene-$h" "$VM_DIR/hygiene-$h.c" ||
		{ echo "Bail out! cannot compile hygiene-$h.c"; exit 1; }
	vm_add "$VM_WORK/hygiene-$h" "/usr/bin/hygiene-$h"
done
vm_scenario <<'EOF'
# the TLS proxy path (kernel TLS, the default where the kernel has it, is
# tests/vm/70-ktls.t's)
nbdc() { command nbdc --ktls=off "$@"; }
REF=/usr/sbin/nbd-client-ref
NOBODY=hygiene-nobody
BUSY="is busy (already connected? try nbd-client -d"

# expect RC MSG NAME CMD...: exit status RC, output exactly "nbd-client: MSG"
expect() {
	_want_rc=$1 _want="nbd-client: $2" _name=$3
	shift 3
	_out=$("$@" 2>&1)
	_rc=$?
	check_eq "$_name: exit $_want_rc" "$_rc" "$_want_rc"
	check_eq "$_name: one line" "$_out" "$_want"
}
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
backend() { cat "/sys/block/$1/backend" 2>/dev/null; }

check "nbdkit (plain) on 10809" nbdkit -P /run/n0.pid -i 127.0.0.1 -p 10809 memory 64M
check "nbdkit listens" wait_listen 10809 30

# --- no nbd module, and none to load --------------------------------------------
check "rmmod nbd" rmmod nbd
check "hide the modules" mount -t tmpfs none "/lib/modules"
NOMOD="cannot load the nbd kernel module: no nbd module for kernel $(uname -r) (kernel built without CONFIG_BLK_DEV_NBD, or its modules are not installed)"
expect 1 "$NOMOD" "no module: attach /dev/nbd0" nbdc 127.0.0.1 10809 /dev/nbd0
expect 1 "$NOMOD" "no module: attach, any device" nbdc nbd://127.0.0.1:10809/
expect 1 "$NOMOD" "no module: -persist" nbdc -persist 127.0.0.1 10809 /dev/nbd0
expect 1 "cannot open /dev/nbd0: No such file or directory (is the nbd module loaded? try modprobe nbd)" \
	"no module: -d" nbdc -d /dev/nbd0
check_rc 1 "no module: -c says not connected" nbdc -c /dev/nbd0
check "modules back" umount /lib/modules
check_eq "attach loads the module itself" "$(nbdc 127.0.0.1 10809 /dev/nbd0 2>&1)" "Connected /dev/nbd0"
check "nbd module loaded" test -d /sys/module/nbd

# --- not root ------------------------------------------------------------------------
ROOTONLY="(the kernel requires CAP_SYS_ADMIN)"
expect 1 "only root can attach an nbd device $ROOTONLY" "nobody: attach" \
	$NOBODY nbdc 127.0.0.1 10809 /dev/nbd1
expect 1 "only root can attach an nbd device $ROOTONLY" "nobody: -persist -nofork" \
	$NOBODY nbdc -persist -nofork 127.0.0.1 10809 /dev/nbd1
expect 1 "only root can attach an nbd device $ROOTONLY" "nobody: -nonetlink" \
	$NOBODY nbdc -nonetlink 127.0.0.1 10809 /dev/nbd1
expect 1 "only root can disconnect an nbd device $ROOTONLY" "nobody: -d" \
	$NOBODY nbdc -d /dev/nbd0
check_eq "nobody: --status works (sysfs needs no privilege)" \
	"$($NOBODY nbdc --status /dev/nbd0; echo rc=$?)" "/dev/nbd0: connected to nbd://127.0.0.1:10809/
rc=0"
check_eq "nobody: -c works: the pid in sysfs" \
	"$($NOBODY nbdc -c /dev/nbd0; echo rc=$?)" "$(cat /sys/block/nbd0/pid)
rc=0"
check_rc 1 "nobody: /dev/nbd1 untouched" nbdc -c /dev/nbd1

# --- devices that do not exist ------------------------------------------------------------
diag "nbd max_part=$(cat /sys/module/nbd/parameters/max_part) nbds_max=$(cat /sys/module/nbd/parameters/nbds_max)"
# the kernel creates a missing device, unless index << fls(max_part)
# does not fit in 20 bits
mp=$(cat /sys/module/nbd/parameters/max_part) shift=0
while [ $((mp >> shift)) -gt 0 ]; do shift=$((shift + 1)); done
expect 1 "cannot connect /dev/nbd99999: no such device, and the kernel cannot create it (with max_part=$mp the largest index is $((1048575 >> shift)))" \
	"netlink /dev/nbd99999" nbdc 127.0.0.1 10809 /dev/nbd99999
expect 1 "cannot open /dev/nbd99999: No such file or directory (the nbd module is loaded, but has no such device; see its nbds_max parameter)" \
	"-nonetlink /dev/nbd99999" nbdc -nonetlink 127.0.0.1 10809 /dev/nbd99999
expect 1 "cannot disconnect /dev/nbd99999: no such device" "-d /dev/nbd99999" nbdc -d /dev/nbd99999
check_rc 1 "-c /dev/nbd99999: not connected" nbdc -c /dev/nbd99999

# --- a device in use ---------------------------------------------------------------------
# by us
# netlink: a started device that stays busy is connected: say by whom
CONNECTED0="/dev/nbd0 is already connected, by pid $(cat /sys/block/nbd0/pid) (disconnect it first: nbd-client -d /dev/nbd0)"
expect 1 "$CONNECTED0" "ours twice: netlink" nbdc 127.0.0.1 10809 /dev/nbd0
expect 1 "/dev/nbd0 $BUSY /dev/nbd0)" "ours twice: -nonetlink" nbdc -nonetlink 127.0.0.1 10809 /dev/nbd0
expect 1 "$CONNECTED0" "ours twice: -persist" nbdc -persist 127.0.0.1 10809 /dev/nbd0
check_eq "ours twice: no resident process left" "$(count_comm nbdc)" 0
check_eq "ours twice: /dev/nbd0 still ours" "$(backend nbd0)" "nbd://127.0.0.1:10809/"
roundtrip "ours twice: /dev/nbd0 still works" /dev/nbd0 1 4
check "-d /dev/nbd0" nbdc -d /dev/nbd0
# by the reference client
check "reference attaches /dev/nbd1" $REF 127.0.0.1 10809 /dev/nbd1 -N ''
CONNECTED1="/dev/nbd1 is already connected, by pid $(cat /sys/block/nbd1/pid) (disconnect it first: nbd-client -d /dev/nbd1)"
expect 1 "$CONNECTED1" "reference first: netlink" nbdc 127.0.0.1 10809 /dev/nbd1
expect 1 "/dev/nbd1 $BUSY /dev/nbd1)" "reference first: -nonetlink" nbdc -nonetlink 127.0.0.1 10809 /dev/nbd1
expect 1 "$CONNECTED1" "reference first: -persist -nofork" nbdc -persist -nofork 127.0.0.1 10809 /dev/nbd1
check "reference first: the reference still holds it" $REF -c /dev/nbd1
roundtrip "reference first: /dev/nbd1 still works" /dev/nbd1 2 4
check "reference -d" $REF -d /dev/nbd1

# --- a device merely held open (what udev's probe does after every change) ---------------
# The kernel says EBUSY while anyone has it open; it is not connected, so
# the attach waits for it, within -t.
sleep 3 </dev/nbd4 &
hold=$!
check "held open: the netlink attach waits for it" nbdc 127.0.0.1 10809 /dev/nbd4
check_eq "held open: attached" "$(backend nbd4)" "nbd://127.0.0.1:10809/"
check "held open: -d" nbdc -d /dev/nbd4
wait $hold
sleep 10 </dev/nbd4 &
hold=$!
sleep 0.5
expect 1 "/dev/nbd4 is not connected, but something kept it open for 1.0 s (a udev probe, a mount?); try again, or another device" \
	"held open past -t 1" nbdc -t 1 127.0.0.1 10809 /dev/nbd4
kill $hold; wait $hold 2>/dev/null

# --- fds before and after reconnects ---------------------------------------------------------
truncate -s 64M /tmp/p.img /tmp/t.img
start_plain() { nbdkit -P /run/p.pid -i 127.0.0.1 -p 10810 file /tmp/p.img && wait_listen 10810 30; }
start_tls() {
	nbdkit -P /run/t.pid -i 127.0.0.1 -p 10811 --tls=require --tls-psk=/pki/keys.psk \
		--filter=delay file /tmp/t.img wdelay=20ms && wait_listen 10811 30
}
check "plain server" start_plain
check "TLS-PSK server" start_tls
hygiene-relay 10812 10811 /run/relay.pid 2>/tmp/relay.log &
check "relay to the TLS server" wait_listen 10812 30

# a -nofork -persist client, TLS-PSK through the relay: the foreground
# process is the monitor and the parent of the proxy, and their log lines
# go to its stderr (a daemon's proxy logs to syslog, absent here)
nbdc -nofork -persist -t 5 --psk-file /pki/alice.psk 127.0.0.1 10812 /dev/nbd3 \
	>/tmp/nf.out 2>/tmp/nf.log &
NFJOB=$!
check "-nofork -persist TLS-PSK attached /dev/nbd3" wait_for 60 grep -q "^Connected /dev/nbd3" /tmp/nf.out
# a -persist monitor (a daemon), plaintext; -systemd-mark: it logs to dmesg
check "-persist attach /dev/nbd2" nbdc -persist -systemd-mark -t 5 127.0.0.1 10810 /dev/nbd2
comm_pids() { grep -lx "$1" /proc/[0-9]*/comm 2>/dev/null | cut -d/ -f3; }
# (busybox sh may run a background command in a subshell: $! is not it)
NF=$(for p in $(comm_pids nbdc); do
	[ "$(readlink /proc/$p/fd/1)" = /tmp/nf.out ] && echo "$p"; done)
MON=$(comm_pids nbdc | grep -vx "$NF")
PX=$(comm_pids nbd-proxy)
check_eq "one monitor besides the -nofork client" "$(echo $MON | wc -w)" 1
check_eq "one proxy" "$(echo $PX | wc -w)" 1
sleep 1
nf0=$(fds $NF) mon0=$(fds $MON) px0=$(fds $PX)
diag "open fds before: -nofork client $nf0, -persist monitor $mon0, proxy $px0"
for p in $NF $MON $PX; do
	diag "  $p $(cat /proc/$p/comm): $(ls -l /proc/$p/fd | awk 'NR > 1 { printf "%s ", $NF }')"
done
for round in 1 2 3; do
	kill -9 "$(cat /run/p.pid)" "$(cat /run/t.pid)"
	sleep 1
	check "round $round: plain server restarted" start_plain
	check "round $round: TLS server restarted" start_tls
	check "round $round: -nofork client reconnected" wait_for 60 sh -c "[ \$(grep -c 'nbd3: monitor: reconnected connection 1' /tmp/nf.log) = $round ]"
	check "round $round: -persist monitor reconnected" wait_for 60 sh -c "[ \$(dmesg | grep -c 'nbd2: monitor: reconnected connection 1') = $round ]"
	check "round $round: /dev/nbd2 reads" dd if=/dev/nbd2 of=/dev/null bs=1M count=1 iflag=direct
	check "round $round: /dev/nbd3 reads" dd if=/dev/nbd3 of=/dev/null bs=1M count=1 iflag=direct
done
sleep 1
PX=$(comm_pids nbd-proxy)
check_eq "after: one proxy (the old ones reaped)" "$(echo $PX | wc -w)" 1
nf1=$(fds $NF) mon1=$(fds $MON) px1=$(fds $PX)
diag "open fds after 3 reconnects: -nofork client $nf1, -persist monitor $mon1, proxy $px1"
check_eq "-nofork client: no fd growth" "$nf1" "$nf0"
check_eq "-persist monitor: no fd growth" "$mon1" "$mon0"
check_eq "new proxy: as many fds as the first" "$px1" "$px0"
check_eq "no zombies" "$(grep -l '^State:.*Z' /proc/[0-9]*/status 2>/dev/null | wc -l)" 0
# an idle proxy sees the server's FIN without close_notify
check_eq "each killed server: its proxy said so" \
	"$(grep -c '^nbd-client\[[0-9]*\]: nbd3: proxy: stopped: the server closed the TLS connection without close_notify; ' /tmp/nf.log)" 3

# --- SIGPIPE ---------------------------------------------------------------------------------
kill -PIPE "$PX" "$MON" "$NF"
sleep 0.5
check "SIGPIPE: the proxy is still there" kill -0 "$PX"
check "SIGPIPE: the monitor is still there" kill -0 "$MON"
check "SIGPIPE: the -nofork client is still there" kill -0 "$NF"
roundtrip "SIGPIPE: /dev/nbd3 works" /dev/nbd3 3 2

# --- the server killed in the middle of a write -------------------------------------------------
# write_during NAME SEED ACTION: a 16 MiB write (20 ms a request at the
# server), ACTION 1 s in; the write must end with no error, byte-exact
write_during() {
	_wn=$1 _ws=$2
	shift 2
	rm -f /tmp/dd.rc
	( patgen -s "$_ws" 16M | dd of=/dev/nbd3 bs=256k iflag=fullblock oflag=direct 2>/tmp/dd.err
	  echo $? >/tmp/dd.rc ) &
	sleep 1
	check "$_wn: the write is still running" test ! -e /tmp/dd.rc
	"$@"
	check "$_wn: the write finishes" wait_for 120 test -e /tmp/dd.rc
	check_eq "$_wn: the write saw no error" "$(cat /tmp/dd.rc 2>/dev/null)" 0
	drop_caches
	check_eq "$_wn: byte-exact" "$(devsha /dev/nbd3 16)" "$(patgen -s "$_ws" 16M | sha)"
}
kill_restart() {
	kill -9 "$(cat /run/t.pid)"
	sleep 1
	start_tls
}
old=$PX
write_during "server killed" 4 kill_restart
# in the middle of a write, the relay closes on the proxy while it sends:
# a FIN without close_notify, or, with data unread, a reset or EPIPE
check "server killed: the proxy said so" grep -Eq "^nbd-client\[$old\]: nbd3: proxy: stopped: (the server closed the TLS connection without close_notify|TLS (read from|write to) the server failed: (Broken pipe|Connection reset by peer)); " /tmp/nf.log
check "server killed: reconnected" test "$(grep -c 'nbd3: monitor: reconnected connection 1' /tmp/nf.log)" -ge 4

# --- a TCP reset in the middle of a write ---------------------------------------------------------
old=$(comm_pids nbd-proxy)
before=$(grep -c 'nbd3: monitor: reconnected connection 1' /tmp/nf.log)
write_during "TCP reset" 5 kill -USR1 "$(cat /run/relay.pid)"
check "TCP reset: the relay reset the connection" grep -q "relay: resetting 1 connection" /tmp/relay.log
# The reset is reported by whichever call of the proxy meets it first: a
# read or write says "Connection reset by peer"; when the socket's error
# was already taken, the next read sees the end of the stream, and the
# proxy says the TLS connection ended without close_notify.  Both seen.
check "TCP reset: the proxy said so" grep -Eq "^nbd-client\[$old\]: nbd3: proxy: stopped: (TLS (read from|write to) the server failed: Connection reset by peer|the server closed the TLS connection without close_notify); " /tmp/nf.log
diag "TCP reset: $(grep "^nbd-client\[$old\]: nbd3: proxy: stopped" /tmp/nf.log)"
check "TCP reset: reconnected" test "$(grep -c 'nbd3: monitor: reconnected connection 1' /tmp/nf.log)" -gt "$before"
check_eq "TCP reset: one proxy" "$(comm_pids nbd-proxy | wc -w)" 1

# --- the end ---------------------------------------------------------------------------------------
check "-d /dev/nbd3" nbdc -d /dev/nbd3
check "-d /dev/nbd2" nbdc -d /dev/nbd2
check "the monitors exit after -d" wait_for 15 sh -c '! grep -qx nbdc /proc/[0-9]*/comm'
wait "$NFJOB"
check_eq "-nofork client: exit 0 after -d" "$?" 0
diag "-nofork client's log:" "$(cat /tmp/nf.log)"
done_testing
EOF
vm_run "${VM_TIMEOUT:-900}"
