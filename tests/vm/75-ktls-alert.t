#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 75-ktls-alert.t: a TLS record that is not data, mid-stream, on a kernel
# TLS link, one boot.  The kernel's nbd driver reads without a control
# buffer, so an alert (close_notify or fatal) or a TLS 1.3 KeyUpdate makes
# its read fail with EIO and the link dies.  ktls-alert-server.c sends one
# on demand (SIGUSR1 close_notify, SIGUSR2 fatal internal_error, SIGHUP
# KeyUpdate).  The monitor, which stays with every TLS device, reconnects
# and re-handshakes, with -persist and without it (issue 17: kernel TLS
# must not make a device less durable than the proxy, which takes such
# records in its stride): the data is intact, a reader sees no error, no
# proxy process.  The server and the kernel's words are asserted exactly;
# the diagnostics show the kernel log of each round.
. "$(dirname "$0")/lib.sh"
vm_setup
(. "$(dirname "$0")/../lib.sh" && make_pki "$VM_WORK/pki") || { echo "Bail out! cannot make certificates"; exit 1; }
vm_add "$VM_WORK/pki/ca" /pki
mkdir -p "$VM_WORK/bin"
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$VM_WORK/bin/ktls-alert-server" "$VM_DIR/ktls-alert-server.c" -lgnutls ||
	{ echo "Bail out! cannot compile ktls-alert-server.c"; exit 1; }
vm_add "$VM_WORK/bin/ktls-alert-server" /usr/bin/ktls-alert-server
vm_scenario <<'EOF'
CA="-A /pki/ca-cert.pem"
P13="NORMAL:-VERS-ALL:+VERS-TLS1.3"
P12="NORMAL:-VERS-ALL:+VERS-TLS1.2"
proxies() { count_comm nbd-proxy; }
no_monitor() { test "$(count_comm nbdc)" = 0; }
# kmsg_since N: the kernel log after its first N lines
kmsg_since() { dmesg | tail -n +$(($1 + 1)); }
kmsg_has() { kmsg_since "$1" | grep -qF "$2"; }
# wait_s SECS CMD...: retry CMD until it succeeds, for SECS seconds of
# uptime (wait_for counts tries, and each dmesg is slow under TCG)
wait_s() {
	_end=$(awk -v u="$(uptime_s)" -v s="$1" 'BEGIN { print u + s }')
	shift
	while ! "$@" >/dev/null 2>&1; do
		awk -v u="$(uptime_s)" -v e="$_end" 'BEGIN { exit !(u > e) }' && return 1
		sleep 0.2
	done
}
elapsed() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.2f", b - a }'; }
sig_name() { case $1 in USR1) echo close_notify ;; USR2) echo "fatal alert internal_error" ;; HUP) echo KeyUpdate ;; esac; }
# the server's line for this trigger (what gnutls reported)
sent_line() { case $1 in USR1) echo "sent close_notify (gnutls_bye SHUT_WR): Success." ;; USR2) echo "sent fatal alert internal_error: Success." ;; HUP) echo "sent KeyUpdate: Success." ;; esac; }

start_server() { # NAME PORT PRIORITY
	ktls-alert-server $2 16 /pki/server-cert.pem /pki/server-key.pem "$3" /run/$1.pid 2>>/tmp/$1.log &
	wait_listen $2 30
}
check "ktls-alert-server TLS 1.3" start_server s13 10809 "$P13"
check "ktls-alert-server TLS 1.2" start_server s12 10810 "$P12"

# reader DEV: reads the first 1 MiB over and over until /tmp/stop; each
# failed dd leaves its stderr in /tmp/reader.err
reader() {
	rm -f /tmp/stop /tmp/reader.err /tmp/reader.done
	( n=0; while [ ! -e /tmp/stop ]; do
		dd if=$1 of=/dev/null bs=128k count=8 iflag=direct 2>/tmp/reader.dd || cat /tmp/reader.dd >>/tmp/reader.err
		n=$((n + 1))
	done; echo $n >/tmp/reader.done ) &
}

# persist_round NAME SERVER PORT SIG DEV SEED VERSION [-persist]
# (-systemd-mark: the monitor logs to the kernel log too)
persist_round() {
	n=$1 s=$2 port=$3 sig=$4 dev=$5 seed=$6 ver=$7 d=${5#/dev/}
	out=$(nbdc --ktls=on $8 -systemd-mark -t 5 $CA localhost $port $dev 2>&1); rc=$?
	check_eq "$n: attach exit 0" "$rc" 0
	check_eq "$n: prints the device" "$out" "Connected $dev"
	check_eq "$n: no proxy process" "$(proxies)" 0
	check_eq "$n: --status says kernel TLS" "$(nbdc --status $dev | sed 's/, [A-Z0-9-]*)$/)/')" "$dev: connected to nbds://localhost:$port/ (kernel TLS, $ver)"
	mpid=$(grep -l '^nbdc$' /proc/[0-9]*/comm 2>/dev/null | head -n 1 | cut -d/ -f3)
	roundtrip "$n: before the $(sig_name $sig)" $dev $seed 1
	reader $dev
	sleep 1
	k0=$(dmesg | wc -l) l0=$(wc -l </tmp/$s.log)
	t0=$(uptime_s)
	kill -$sig "$(cat /run/$s.pid)"
	check "$n: the server sent the $(sig_name $sig)" wait_for 10 sh -c "tail -n +$((l0 + 1)) /tmp/$s.log | grep -qF '$(sent_line $sig)'"
	check "$n: the kernel logged the dead link" wait_s 20 kmsg_has $k0 "block $d: Receive control failed (result -5)"
	t1=$(uptime_s)
	# without a reconnect the device is stuck for -persist's dead timeout
	# (120 s) in every round: stop here
	check "$n: the monitor logged the reconnect" wait_s 30 kmsg_has $k0 "nbd-client[$mpid]: $d: monitor: reconnected connection 1" ||
		{ diag "$(kmsg_since $k0 | grep -F "$d")"; bail "$n: the monitor did not reconnect within 30 s"; }
	t2=$(uptime_s)
	check "$n: the monitor logged the death" kmsg_has $k0 "nbd-client[$mpid]: $d: monitor: connection 1 died; reconnecting"
	check "$n: the monitor logged the new kernel TLS link" kmsg_has $k0 "nbd-client[$mpid]: $d: monitor: connection 1: kernel TLS, $ver, "
	diag "$n: link dead after $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}')s, reconnected after $(awk -v a=$t0 -v b=$t2 'BEGIN{printf "%.2f", b-a}')s"
	sleep 1
	touch /tmp/stop
	check "$n: the reader finishes" wait_s 60 test -e /tmp/reader.done
	diag "$n: the reader read 1 MiB $(cat /tmp/reader.done 2>/dev/null) times; done $(elapsed $t0)s after the trigger"
	check_eq "$n: no I/O error reached the reader" "$(cat /tmp/reader.err 2>/dev/null)" ""
	check_eq "$n: the kernel failed no I/O" "$(kmsg_since $k0 | grep -c "I/O error, dev $d")" 0
	drop_caches
	check_eq "$n: data written before reads back byte-exact" "$(devsha $dev 1)" "$(patgen -s $seed 1M | sha)"
	roundtrip "$n: after the reconnect" $dev $((seed + 100)) 1 2
	check_eq "$n: still no proxy process" "$(proxies)" 0
	check_eq "$n: --status says kernel TLS after the reconnect" "$(nbdc --status $dev | sed 's/, [A-Z0-9-]*)$/)/')" "$dev: connected to nbds://localhost:$port/ (kernel TLS, $ver)"
	diag "$(kmsg_since $k0 | grep -F "$d")"
	check "$n: -d" nbdc -d $dev
	check "$n: the monitor exits after -d" wait_for 15 no_monitor
}

persist_round "close_notify TLS1.3" s13 10809 USR1 /dev/nbd0 41 TLS1.3 -persist
persist_round "fatal alert TLS1.3" s13 10809 USR2 /dev/nbd1 42 TLS1.3 -persist
persist_round "KeyUpdate TLS1.3" s13 10809 HUP /dev/nbd2 43 TLS1.3 -persist
persist_round "fatal alert TLS1.2" s12 10810 USR2 /dev/nbd3 44 TLS1.2 -persist
persist_round "no -persist, KeyUpdate TLS1.3" s13 10809 HUP /dev/nbd4 45 TLS1.3
persist_round "no -persist, fatal alert TLS1.3" s13 10809 USR2 /dev/nbd5 46 TLS1.3
persist_round "no -persist, fatal alert TLS1.2" s12 10810 USR2 /dev/nbd6 47 TLS1.2

diag "$(cat /tmp/s13.log /tmp/s12.log | grep -v 'handshake done\|transmission\|closed')"
done_testing
EOF
vm_run "${VM_TIMEOUT:-420}"
