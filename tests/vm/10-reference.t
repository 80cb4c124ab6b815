#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 10-reference.t: proves the VM harness on a real kernel, with the
# REFERENCE client (Debian's nbd-client, /usr/sbin/nbd-client-ref in the
# guest) as the baseline: modules without modprobe, nbdkit and nbd-server
# on the guest loopback, netlink connect, 64 MiB byte-exact I/O, ext4,
# -c / -d exit statuses.  One boot.
. "$(dirname "$0")/lib.sh"
vm_setup
vm_scenario <<'EOF'
REF=/usr/sbin/nbd-client-ref
MiB=1048576
diag "scenario started at $(uptime_s)s of guest uptime; kernel $(uname -r)"

# --- modules (insmod'ed by /init; there is no modprobe) -------------------
check "nbd module loaded" grep -q '^nbd ' /proc/modules
check "tls module loaded" grep -q '^tls ' /proc/modules
# Loaded, or built into the kernel (6.12 builds ctr in: modules.builtin).
builtin=/lib/modules/$(uname -r)/modules.builtin
for m in gcm ctr ghash_generic chacha20poly1305; do
	f=$(echo "$m" | tr _ -)
	check "crypto module $m loaded or built in" sh -c \
		"grep -q '^$m ' /proc/modules || grep -qE '/($m|$f)\.ko\$' $builtin"
done
if grep -qw aes /proc/cpuinfo; then
	check "aesni_intel loaded (CPU has AES-NI)" grep -q '^aesni_intel ' /proc/modules
else
	skip "aesni_intel loaded" "CPU has no AES-NI"
fi
check "kernel TLS ULP available" grep -qw tls /proc/sys/net/ipv4/tcp_available_ulp
check "/dev/nbd0 exists" test -b /dev/nbd0

# --- servers on the loopback ------------------------------------------------
check "lo has 127.0.0.1" sh -c 'ip addr show dev lo | grep -q "inet 127.0.0.1/8"'
check "nbdkit memory 256M starts" \
	nbdkit -P /run/nbdkit.pid -i 127.0.0.1 -p 10809 memory 256M
check "nbdkit listens on 10809" wait_listen 10809 30

truncate -s 64M /tmp/export.img
cat >/tmp/nbd-server.conf <<'CONF'
[generic]
	listenaddr = 127.0.0.1
	port = 10810
[file]
	exportname = /tmp/export.img
CONF
check "nbd-server starts" nbd-server -C /tmp/nbd-server.conf
check "nbd-server listens on 10810" wait_listen 10810 30

# --- reference client against nbdkit -----------------------------------------
check_rc 1 "ref -c /dev/nbd0 before connect: exit 1" $REF -c /dev/nbd0
check "ref connects /dev/nbd0 to nbdkit (netlink)" \
	$REF 127.0.0.1 10809 /dev/nbd0 -N ''
check "ref -c /dev/nbd0 while connected: exit 0" $REF -c /dev/nbd0
check_eq "/dev/nbd0 is 256 MiB" "$(blockdev --getsize64 /dev/nbd0)" $((256 * MiB))

want=$(patgen 64M | sha256sum | cut -d' ' -f1)
t0=$(uptime_s)
check "write 64 MiB pattern (O_DIRECT)" \
	sh -c 'patgen 64M | dd of=/dev/nbd0 bs=1M iflag=fullblock oflag=direct'
t1=$(uptime_s)
drop_caches
got=$(dd if=/dev/nbd0 bs=1M count=64 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
t2=$(uptime_s)
check_eq "read back 64 MiB: byte-exact" "$got" "$want"
diag "64 MiB write $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}')s, read $(awk -v a=$t1 -v b=$t2 'BEGIN{printf "%.2f", b-a}')s"
got=$(dd if=/dev/nbd0 bs=1M skip=64 count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
check_eq "MiB after the pattern still zero" "$got" \
	"$(head -c $MiB /dev/zero | sha256sum | cut -d' ' -f1)"

check "ref -d /dev/nbd0" $REF -d /dev/nbd0
wait_for 10 sh -c "! $REF -c /dev/nbd0"
check_rc 1 "ref -c /dev/nbd0 after disconnect: exit 1" $REF -c /dev/nbd0
check "ref reconnects /dev/nbd0" $REF 127.0.0.1 10809 /dev/nbd0 -N ''
drop_caches
got=$(dd if=/dev/nbd0 bs=1M count=64 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
check_eq "pattern survived reconnect (it is on the server)" "$got" "$want"

# --- ext4 --------------------------------------------------------------------
ext4_roundtrip "ext4 (reference)" /dev/nbd0 7 16

check "ref -d /dev/nbd0 (final)" $REF -d /dev/nbd0
wait_for 10 sh -c "! $REF -c /dev/nbd0"
check_rc 1 "ref -c /dev/nbd0 after final disconnect: exit 1" $REF -c /dev/nbd0

# --- reference client against nbd-server (file export) -----------------------
check "ref connects /dev/nbd1 to nbd-server export 'file'" \
	$REF 127.0.0.1 10810 /dev/nbd1 -N file
check_eq "/dev/nbd1 is 64 MiB" "$(blockdev --getsize64 /dev/nbd1)" $((64 * MiB))
swant=$(patgen -s 2 -o 1M 8M | sha256sum | cut -d' ' -f1)
check "write 8 MiB at 1 MiB" \
	sh -c 'patgen -s 2 -o 1M 8M | dd of=/dev/nbd1 bs=1M seek=1 iflag=fullblock oflag=direct'
drop_caches
check_eq "read back via /dev/nbd1: byte-exact" \
	"$(dd if=/dev/nbd1 bs=1M skip=1 count=8 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)" "$swant"
check "ref -d /dev/nbd1" $REF -d /dev/nbd1
check_eq "server's backing file byte-exact" \
	"$(dd if=/tmp/export.img bs=1M skip=1 count=8 2>/dev/null | sha256sum | cut -d' ' -f1)" "$swant"

if [ -x /bin/nbdc ]; then
	diag "our client is in the image: /bin/nbdc: $(/bin/nbdc --version 2>&1 | head -n 1)"
else
	diag "no /bin/nbdc in the image (NBDC not built)"
fi
diag "scenario finished at $(uptime_s)s of guest uptime"
done_testing
EOF
vm_run "${VM_TIMEOUT:-300}"
