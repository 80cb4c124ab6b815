#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 90-systemd.t: nbd@.service, as installed, under systemd as PID 1 (Debian
# 12's systemd 252 and udev, from this machine), one boot.  `make install
# PREFIX=/usr DESTDIR=<image>` puts the client, the unit and the generator
# in the guest, with an nbdtab of two devices and an fstab swap on one:
#   nbd0  TLS-PSK through the proxy (ktls=off), the export of nbdkit-tls
#   nbd1  plaintext, swap: /etc/fstab has "/dev/nbd1 none swap sw 0 0"
# both servers are units of their own, before network-online.target (each
# export a swap area, mkswap'd by its unit: the swap device's is used).  The
# boot itself brings both devices up through nbd@nbdN.service and swaps on
# /dev/nbd1 after nbd@nbd1.service with no ordering cycle (issue 17, part
# 6: NetworkBlockDevice/nbd#55).  Then, from scenario.service: the unit's
# hardening does not get in the way (I/O byte-exact, a reconnect after the
# server's restart, inside the sandbox: the main process and its proxy hold
# what nbd-client(8) SECURITY says, issue 18), and stopping nbd@nbd1.service
# swaps off first, then detaches.  The host checks that systemd-analyze
# security rates the unit at most 3.5 in tests/integration/74-.
. "$(dirname "$0")/lib.sh"
vm_setup
vm_only_on SYSTEMD_KERNELS 6.1
(. "$(dirname "$0")/../lib.sh" && make_pki "$VM_WORK/pki") || { echo "Bail out! cannot make certificates"; exit 1; }
# systemd and udev from this machine: units, rules, the programs and their
# libraries (VM_EXTRA_BINS), util-linux's swapon/swapoff (systemd passes
# --fixpgsz, which busybox's lacks)
export VM_EXTRA_BINS="/lib/systemd/systemd /lib/systemd/systemd-journald /lib/systemd/systemd-udevd /lib/systemd/systemd-shutdown /lib/systemd/systemd-executor /bin/systemctl /bin/udevadm /bin/journalctl /lib/systemd/system-generators/systemd-fstab-generator /sbin/swapon /sbin/swapoff"
VM_EXTRA_BINS=$(for b in $VM_EXTRA_BINS; do [ -e "$b" ] && echo "$b"; done | tr '\n' ' ')
mkdir -p "$VM_ROOT/lib/systemd/system"
cp -a /lib/systemd/system/. "$VM_ROOT/lib/systemd/system/"
# not the reference's unit (Debian's nbd-client package), ours
rm -f "$VM_ROOT/lib/systemd/system/nbd@.service"
top=$(cd "$VM_DIR/../.." && pwd)
if ! make -C "$top" -s install PREFIX=/usr DESTDIR="$VM_ROOT" >"$VM_WORK/install.log" 2>&1; then
	echo "Bail out! make install DESTDIR: $(tail -n 5 "$VM_WORK/install.log")"
	exit 1
fi
mkdir -p "$VM_ROOT/lib/udev"
cp -a /lib/udev/rules.d "$VM_ROOT/lib/udev/"
for b in /sbin/swapon /sbin/swapoff; do vm_add "$b" "$b"; done
vm_add "$VM_WORK/pki/alice.psk" /etc/nbd-client/alice.psk
chmod 0600 "$VM_ROOT/etc/nbd-client/alice.psk"

E=$VM_ROOT/etc
mkdir -p "$E/systemd/system/network-online.target.wants" "$E/systemd/system.conf.d"
: >"$E/vm-systemd"
: >"$E/machine-id"
cat >"$E/nbdtab" <<'EOF'
# nbdtab of 90-systemd.t
nbd0 127.0.0.1 export port=10809,tls,psk-file=/etc/nbd-client/alice.psk,ktls=off,persist
nbd1 127.0.0.1 export port=10810,swap
EOF
cat >"$E/fstab" <<'EOF'
/dev/nbd1 none swap sw 0 0
EOF
# no D-Bus in the guest: nothing to activate it
ln -s /dev/null "$E/systemd/system/dbus.socket"
ln -s /dev/null "$E/systemd/system/dbus.service"
cat >"$E/systemd/system.conf.d/vm.conf" <<'EOF'
[Manager]
ShowStatus=yes
LogTarget=kmsg
DefaultStandardOutput=journal+console
DefaultStandardError=journal+console
DefaultTimeoutStartSec=120s
DefaultTimeoutStopSec=60s
EOF
cat >"$E/systemd/system/vmtest.target" <<'EOF'
[Unit]
Description=90-systemd.t
Requires=basic.target
After=basic.target
Wants=scenario.service remote-fs.target swap.target
EOF
for s in tls:10809:"--tls=require --tls-psk=/etc/nbd-client/alice.psk" plain:10810:""; do
	n=${s%%:*} rest=${s#*:}
	cat >"$E/systemd/system/nbdkit-$n.service" <<EOF
[Unit]
Description=nbdkit ($n) for 90-systemd.t
Before=network-online.target
[Service]
Type=forking
PIDFile=/run/nbdkit-$n.pid
ExecStartPre=/bin/sh -c 'test -e /tmp/$n.img || { truncate -s 64M /tmp/$n.img && mkswap /tmp/$n.img; }'
ExecStart=/usr/bin/nbdkit -P /run/nbdkit-$n.pid -i 127.0.0.1 -p ${rest%%:*} ${rest#*:} file /tmp/$n.img
EOF
	ln -s "../nbdkit-$n.service" "$E/systemd/system/network-online.target.wants/nbdkit-$n.service"
done
cat >"$E/systemd/system/scenario.service" <<'EOF'
[Unit]
Description=90-systemd.t scenario
After=remote-fs.target swap.target
[Service]
Type=oneshot
Environment=VM_TAP_DEV=/dev/ttyS1
ExecStart=/bin/sh /lib/vm-systemd-scenario
StandardOutput=tty
StandardError=tty
EOF
cat >"$VM_ROOT/lib/vm-systemd-scenario" <<'EOF'
#!/bin/sh
# run the scenario, report as tests/vm/init does, power off cleanly
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
vm_say() { echo "$*"; echo "$*" >>"$VM_TAP_DEV"; }
cd /tmp && sh /scenario.sh </dev/null
rc=$?
dmesg | grep -E 'WARNING:|BUG:|Oops|Kernel panic|general protection fault|Call Trace:|hung_task|blocked for more than|UBSAN:|KASAN:' |
	head -n 40 | while IFS= read -r l; do vm_say "VM-KMSG $l"; done
echo "VM-TAINTED $(cat /proc/sys/kernel/tainted)"
sync
vm_say "VM-DONE rc=$rc"
# what systemctl poweroff does, without asking logind (no D-Bus here)
systemctl --no-block --job-mode=replace-irreversibly start poweroff.target
EOF
# a small machine's memory reserves (1737 KiB at 256 MiB; transparent
# hugepages raise this 1 GiB guest's to 44 MiB), which nbd@nbd1 raises for
# its swap
export VM_APPEND="${VM_APPEND:-} systemd.unit=vmtest.target systemd.show_status=yes sysctl.vm.min_free_kbytes=2048"

vm_scenario <<'EOF'
MON="Uid: 0 0 0 0;CapPrm: 00000000012041e0;CapEff: 00000000012041e0;CapBnd: 00000000012041e0;NoNewPrivs: 1;Seccomp: 2;"
PROXY="Uid: 65534 65534 65534 65534;CapPrm: 0000000000000000;CapEff: 0000000000000000;CapBnd: 0000000000000000;NoNewPrivs: 1;Seccomp: 2;"
status() {
	grep -E '^(Uid|CapPrm|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/$1/status | tr -s '\t ' '  ' | tr '\n' ';'
}
proxies() { for f in $(grep -l '^nbd-proxy$' /proc/[0-9]*/comm 2>/dev/null); do f=${f%/comm}; echo ${f#/proc/}; done; }
prop() { systemctl show -p "$1" --value "$2"; }

# --- the boot --------------------------------------------------------------------
# swap.target does not wait for the swap (the drop-in's
# DefaultDependencies=no), nor this scenario: the swap comes once udev has
# the device ready
other_jobs() { systemctl list-jobs --no-legend | grep -v '^[0-9]* *\(vmtest.target\|scenario.service\) '; }
no_other_jobs() { [ -z "$(other_jobs)" ]; }
check "the boot's jobs are done within 60 s (but vmtest.target's, which waits for this)" wait_for 60 no_other_jobs
other_jobs | while read -r l; do diag "job: $l"; done
check_eq "nbd@nbd0.service is active" "$(systemctl is-active nbd@nbd0.service)" active
check_eq "nbd@nbd1.service is active" "$(systemctl is-active nbd@nbd1.service)" active
check_eq "dev-nbd1.swap is active" "$(systemctl is-active dev-nbd1.swap)" active
check "the kernel swaps on /dev/nbd1" grep -q '^/dev/nbd1 ' /proc/swaps
check_eq "no ordering cycle in the boot" "$(dmesg | grep -ci 'ordering cycle')" 0
check_eq "the generator's drop-in orders the swap after the device" "$(prop After dev-nbd1.swap | tr ' ' '\n' | grep -c '^nbd@nbd1.service$')" 1
check_eq "... and the swap went on after the device was up" \
	"$(test "$(prop ActiveEnterTimestampMonotonic dev-nbd1.swap)" -gt "$(prop ActiveEnterTimestampMonotonic nbd@nbd1.service)" && echo yes)" yes
# -swap (nbdtab "swap") sizes the kernel's reserves for swap over the
# network (swap_reserve_kb), and the unit's hardening leaves /proc/sys
# writable
reserve=$(swap_reserve_kb)
check_eq "nbd@nbd1 raised vm.min_free_kbytes to the floor for swap" "$(cat /proc/sys/vm/min_free_kbytes)" "$reserve"
check_eq "... and says so in its journal" \
	"$(journalctl -u nbd@nbd1.service -o cat --no-pager | grep -c "^nbd1: monitor: raised vm.min_free_kbytes from 2048 to $reserve: swap over the network needs the kernel's reserves (nbd-client(8), -swap)\$")" 1
check_eq "nbd0 through the TLS proxy" "$(grep '^link ' /run/nbd-client/nbd0 | cut -d'|' -f1)" "link TLS proxy"
for u in nbd0 nbd1; do
	[ "$(systemctl is-active nbd@$u.service)" = active ] || diag "$(systemctl status nbd@$u.service 2>&1 | tail -n 15)"
done

# --- the sandbox under the unit --------------------------------------------------
m=$(prop MainPID nbd@nbd0.service)
check_eq "nbd@nbd0's main process: $MON" "$(status $m)" "$MON"
set -- $(proxies)
check_eq "one proxy" "$#" 1
check_eq "its proxy: $PROXY" "$(status ${1:-0})" "$PROXY"
roundtrip "nbd0 under the unit" /dev/nbd0 51 8
check "restart nbdkit-tls" systemctl restart nbdkit-tls.service
check "nbd0 reconnects" wait_for 60 sh -c "journalctl -u nbd@nbd0.service --no-pager | grep -q 'reconnected connection 1'"
roundtrip "nbd0 after the reconnect" /dev/nbd0 52 8
check_eq "its journal line, without a second name and pid (JOURNAL_STREAM)" \
	"$(journalctl -u nbd@nbd0.service -o cat --no-pager | grep 'reconnected connection 1' | head -n 1)" "nbd0: monitor: reconnected connection 1"
check_eq "the same main process" "$(prop MainPID nbd@nbd0.service)" "$m"
set -- $(proxies)
check_eq "a new proxy, sandboxed" "$(status ${1:-0})" "$PROXY"
diag "$(journalctl -u nbd@nbd0.service --no-pager | tail -n 8)"

# --- stopping the swap's device: swapoff first -----------------------------------
check "systemctl stop nbd@nbd1.service" systemctl stop nbd@nbd1.service
check_eq "dev-nbd1.swap stopped with it" "$(systemctl is-active dev-nbd1.swap)" inactive
check_eq "no swap left on /dev/nbd1" "$(grep -c '^/dev/nbd1 ' /proc/swaps)" 0
check_rc 1 "/dev/nbd1 is detached" nbdc -c /dev/nbd1
check_eq "the swap was off before the device's unit stopped" \
	"$(test "$(prop InactiveEnterTimestampMonotonic dev-nbd1.swap)" -lt "$(prop InactiveEnterTimestampMonotonic nbd@nbd1.service)" && echo yes)" yes
check "systemctl stop nbd@nbd0.service" systemctl stop nbd@nbd0.service
check_rc 1 "/dev/nbd0 is detached" nbdc -c /dev/nbd0
diag "$(journalctl -b --no-pager -u nbd@nbd1.service -u dev-nbd1.swap | tail -n 12)"
done_testing
EOF
vm_run 600
