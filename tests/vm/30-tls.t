#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 30-tls.t: TLS block devices on a real kernel, one boot.  The kernel cannot
# speak TLS: our client negotiates TLS, gives the kernel one end of a
# socketpair and leaves a proxy process on the other.  X.509 with a client
# certificate, PSK, nbds:// URI, -C 2 (two proxies), ext4, 64 MiB
# byte-exact, -d ends the proxies, a wrong CA attaches nothing.  A resident
# process of ours starts the device, is the proxies' parent, and is the pid
# -c prints (the one in sysfs) for as long as the device is attached.
. "$(dirname "$0")/lib.sh"
vm_setup
(. "$(dirname "$0")/../lib.sh" && make_pki "$VM_WORK/pki") || { echo "Bail out! cannot make certificates"; exit 1; }
vm_add "$VM_WORK/pki/ca" /pki
vm_add "$VM_WORK/pki/certdir" /pki/certdir
vm_add "$VM_WORK/pki/keys.psk" /pki/keys.psk
vm_add "$VM_WORK/pki/alice.psk" /pki/alice.psk
vm_add "$VM_WORK/pki/wrongca/ca-cert.pem" /pki/wrong-ca.pem
vm_scenario <<'EOF'
# the TLS proxy path (kernel TLS, the default where the kernel has it, is
# tests/vm/70-ktls.t's)
nbdc() { command nbdc --ktls=off "$@"; }
MiB=1048576
proxies() { count_comm nbd-proxy; }
no_proxies() { test "$(count_comm nbd-proxy)" = 0; }
CA="-A /pki/ca-cert.pem -F /pki/client-cert.pem -K /pki/client-key.pem"

check "nbdkit TLS (client certificates required)" nbdkit -i 127.0.0.1 -p 10809 --tls=require --tls-certificates=/pki --tls-verify-peer memory 256M
check "nbdkit TLS-PSK" nbdkit -i 127.0.0.1 -p 10810 --tls=require --tls-psk=/pki/keys.psk memory 64M
wait_listen 10809 30 && wait_listen 10810 30

ppid_of() { awk '/^PPid:/ { print $2 }' /proc/$1/status; }
alive() { kill -0 "$1" 2>/dev/null; }

# --- X.509 with a client certificate ------------------------------------------
out=$(nbdc $CA localhost 10809 /dev/nbd0 2>&1); rc=$?
check_eq "TLS attach /dev/nbd0: exit 0" "$rc" 0
check_eq "TLS attach prints the device" "$out" "Connected /dev/nbd0"
check_eq "one proxy process" "$(proxies)" 1
cat /sys/block/nbd0/pid >/tmp/pid
pid=$(cat /tmp/pid)
nbdc -c /dev/nbd0 >/tmp/c.out; rc=$?
check_eq "-c: exit 0, /sys/block/nbd0/pid exactly" "$rc $(bytes /tmp/c.out)" "0 $(bytes /tmp/pid)"
check "-c: the pid lives" alive "$pid"
check_eq "-c: the pid is our resident process" "$(tr '\0' ' ' </proc/$pid/cmdline)" "nbdc --ktls=off $CA localhost 10809 /dev/nbd0 "
proxy=$(grep -l '^nbd-proxy$' /proc/[0-9]*/comm 2>/dev/null | head -n 1 | cut -d/ -f3)
check_eq "-c: the pid is the proxy's parent" "$(ppid_of "$proxy")" "$pid"
check "--status: exit 0" nbdc --status /dev/nbd0
check_eq "--status: the URI and the TLS proxy (the cipher left out)" \
	"$(sed 's/, [A-Z0-9-]*)$/)/' $CHECK_OUT)" "/dev/nbd0: connected to nbds://localhost:10809/ (TLS proxy, TLS1.3)"
check_eq "backend says nbds://" "$(cat /sys/block/nbd0/backend)" "nbds://localhost:10809/"
check_eq "size 256 MiB" "$(blockdev --getsize64 /dev/nbd0)" $((256 * MiB))
roundtrip "TLS proxy" /dev/nbd0 0 64
ext4_roundtrip "ext4 over TLS" /dev/nbd0 5 8
check_eq "after I/O: -c prints the same pid" "$(nbdc -c /dev/nbd0)" "$pid"
check "after I/O: it still lives" alive "$pid"
# -d, and the device attached again before the resident process looked
# (it is held meanwhile): it must see that the device is no longer the
# one it started, and leave it to the new one
kill -STOP "$pid"
check "-d /dev/nbd0 (its resident process held)" nbdc -d /dev/nbd0
out=$(nbdc $CA localhost 10809 /dev/nbd0 2>&1); rc=$?
check_eq "attached again: exit 0" "$rc" 0
pid2=$(nbdc -c /dev/nbd0)
kill -CONT "$pid"
check "the first resident process exits, the device being another's now" wait_for 15 sh -c "! kill -0 $pid 2>/dev/null"
check "the second one lives" alive "$pid2"
check_eq "one resident process, one proxy" "$(count_comm nbdc) $(proxies)" "1 1"
check "-d /dev/nbd0" nbdc -d /dev/nbd0
check "the proxy exits after -d" wait_for 10 no_proxies
check "the resident process exits after -d" wait_for 15 sh -c "! kill -0 $pid2 2>/dev/null"
check_eq "-c after -d: exit 1, nothing printed" "$(nbdc -c /dev/nbd0; echo rc=$?)" "rc=1"
check_eq "--status after -d: not connected, exit 1" "$(nbdc --status /dev/nbd0; echo rc=$?)" "/dev/nbd0: not connected
rc=1"

# --- PSK, via an nbds:// URI ------------------------------------------------------
out=$(nbdc "nbds://alice@localhost:10810/?tls-psk-file=/pki/keys.psk" /dev/nbd1 2>&1); rc=$?
check_eq "PSK attach via nbds:// URI: exit 0" "$rc" 0
roundtrip "PSK" /dev/nbd1 11 16 8
check "PSK: -d" nbdc -d /dev/nbd1
check "PSK: proxy exits" wait_for 10 no_proxies

# --- -C 2 over TLS: two connections, two proxies --------------------------------------
out=$(nbdc -C 2 $CA localhost 10809 /dev/nbd2 2>&1); rc=$?
check_eq "-C 2 TLS attach: exit 0" "$rc" 0
check_eq "-C 2: two proxies" "$(proxies)" 2
pid=$(nbdc -c /dev/nbd2)
check_eq "-C 2: both proxies are children of the pid -c prints" \
	"$(for p in $(grep -l '^nbd-proxy$' /proc/[0-9]*/comm | cut -d/ -f3); do ppid_of $p; done | sort -u)" "$pid"
check_eq "-C 2: data written over one connection reads back (ext4 image)" "$(devsha /dev/nbd2 64)" "$(nbdc $CA localhost 10809 /dev/nbd3 >/dev/null && devsha /dev/nbd3 64; nbdc -d /dev/nbd3)"
roundtrip "-C 2" /dev/nbd2 13 32
check "-C 2: -d" nbdc -d /dev/nbd2
check "-C 2: both proxies exit" wait_for 10 no_proxies

# --- -nofork -systemd-mark: stays in the foreground until -d ------------------------
command nbdc --ktls=off -nofork -systemd-mark $CA localhost 10809 /dev/nbd5 >/tmp/nofork.out 2>/tmp/nofork.err &
fpid=$!
check "-nofork: device connected" wait_for 20 nbdc -c /dev/nbd5
check "-nofork: the client stays in the foreground" kill -0 $fpid
check_eq "-nofork: -c prints the foreground client's pid" "$(nbdc -c /dev/nbd5)" "$fpid"
ppid_=$(grep -l '^nbd-proxy$' /proc/[0-9]*/comm 2>/dev/null | head -n 1 | cut -d/ -f3)
check_eq "-systemd-mark: the proxy's argv[0] starts with @" "$(head -c 1 /proc/$ppid_/cmdline 2>/dev/null)" "@"
check_eq "-systemd-mark: the client's argv[0] starts with @" "$(head -c 1 /proc/$fpid/cmdline 2>/dev/null)" "@"
check "-nofork: -d" nbdc -d /dev/nbd5
wait $fpid; rc=$?
check_eq "-nofork: the client exits 0 after -d" "$rc" 0
check "-nofork: the proxy logged to stderr" grep -q 'nbd5: proxy: started for localhost:10809 (TLS1' /tmp/nofork.err

# --- a wrong CA: refused before anything reaches the kernel ----------------------------
out=$(nbdc -A /pki/wrong-ca.pem -F /pki/client-cert.pem -K /pki/client-key.pem localhost 10809 /dev/nbd4 2>&1); rc=$?
check_eq "wrong CA: exit 1" "$rc" 1
check_eq "wrong CA: message" "$out" "nbd-client: TLS handshake with localhost:10809 failed: the server certificate is not trusted: it is signed by an unknown CA (pass the right -cacertfile)"
check_rc 1 "wrong CA: /dev/nbd4 not connected" nbdc -c /dev/nbd4
check_eq "wrong CA: no proxy left" "$(proxies)" 0
out=$(nbdc localhost 10809 /dev/nbd4 2>&1); rc=$?
check_eq "no TLS against a TLS-only server: exit 1" "$rc" 1
check_rc 1 "no TLS: /dev/nbd4 not connected" nbdc -c /dev/nbd4
done_testing
EOF
vm_run "${VM_TIMEOUT:-300}"
