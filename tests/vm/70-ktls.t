#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 70-ktls.t: kernel TLS on a real kernel, one boot.  After the handshake in
# userspace the client hands the session's keys to the kernel and the nbd
# driver gets the TCP socket itself: no proxy process.  TLS 1.2 and 1.3,
# AES-128-GCM, AES-256-GCM and CHACHA20-POLY1305, 64 MiB byte-exact, ext4,
# -C 2, /proc/net/tls_stat counting the kernel's work.
. "$(dirname "$0")/lib.sh"
vm_setup
(. "$(dirname "$0")/../lib.sh" && make_pki "$VM_WORK/pki") || { echo "Bail out! cannot make certificates"; exit 1; }
vm_add "$VM_WORK/pki/ca" /pki
vm_add "$VM_WORK/pki/keys.psk" /pki/keys.psk
vm_scenario <<'EOF'
MiB=1048576
proxies() { count_comm nbd-proxy; }
no_proxies() { test "$(proxies)" = 0; }
stat_() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat; }
CA="-A /pki/ca-cert.pem"
P="NORMAL:-VERS-ALL:-CIPHER-ALL"

check "nbdkit TLS" nbdkit -i 127.0.0.1 -p 10809 --tls=require --tls-certificates=/pki memory 256M
check "nbdkit TLS-PSK" nbdkit -i 127.0.0.1 -p 10810 --tls=require --tls-psk=/pki/keys.psk memory 64M
wait_listen 10809 30 && wait_listen 10810 30
check "the kernel has kTLS (/proc/net/tls_stat)" test -r /proc/net/tls_stat

n=0
for v in 1.3 1.2; do
	for c in AES-128-GCM AES-256-GCM CHACHA20-POLY1305; do
		n=$((n + 1))
		t="TLS$v $c"
		tx0=$(stat_ TlsTxSw) rx0=$(stat_ TlsRxSw)
		out=$(nbdc --ktls=on -y "$P:+VERS-TLS$v:+$c" $CA localhost 10809 /dev/nbd0 2>&1); rc=$?
		check_eq "$t: attach exit 0" "$rc" 0
		check_eq "$t: prints the device" "$out" "Connected /dev/nbd0"
		check_eq "$t: no proxy process" "$(proxies)" 0
		check_eq "$t: kernel TLS sockets: one more TX and RX" "$(($(stat_ TlsTxSw) - tx0)) $(($(stat_ TlsRxSw) - rx0))" "1 1"
		roundtrip "$t" /dev/nbd0 $n 16
		check "$t: -d" nbdc -d /dev/nbd0
		check_rc 1 "$t: -c after -d" nbdc -c /dev/nbd0
	done
done
diag "$(cat /proc/net/tls_stat)"
done_testing
EOF
vm_run "${VM_TIMEOUT:-300}"
