#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 80-swap.t: swap on NBD under memory pressure, one boot of a guest with
# little RAM (VM_MEM, 256 MiB) whose server runs on the host, where memory
# pressure in the guest cannot reach it: nbdkit (memory plugin) on the
# host's loopback, reached through QEMU's user network (restrict=on, a
# guestfwd per server: 10.0.2.100:10809 is TLS, :10810 plaintext, each
# guest connection relayed by a tcprelay).
#
# For each path, kernel TLS and plaintext (both: the kernel holds the TCP
# socket), the device attached with -swap becomes the guest's only swap,
# and memhog (memhog.c) walks a working set well above the guest's RAM
# (SWAP_MIB, 320 MiB) twice (SWAP_PASSES), the second time checking every
# word of every page it wrote before (so all of it went out to the server
# and came back) and writing it again, then a last time only checking.  It
# prints a VM-PROGRESS line after every MiB; run-vm.sh's stall watch kills
# the VM when none comes for VM_STALL_S (60) seconds, so a swap deadlock
# fails the test in a minute instead of hanging it, and 40 s into a stall
# the guest dumps its blocked tasks and memory on the console first.
# memhog's last line gives the longest time one MiB took.  Swap-in reads
# 1 MiB at a time (vm.page-cluster 8, PAGE_CLUSTER): with the kernel's
# default 8 pages every read is a round trip to the host, and each pass
# took over 10 minutes here.  The proxy (--ktls=off) is not run: its
# deadlock under memory pressure is why -swap over TLS refuses it
# (70-ktls.t checks the refusal).
#
# What stalled a plaintext round (up to 77 s, the whole guest frozen, in
# 5 of 7 boots without the raised reserves, relayed by busybox nc): free
# memory fell below half of the kernel's emergency reserves
# (vm.min_free_kbytes, 1737 KiB here), where the kernel stops every task
# that reclaims until kswapd brings it back (vmstat's
# pgscan_direct_throttle counts them), and kswapd's own swap writes then
# went out one 8 KiB request per round trip (a packet capture of the
# guest's network: 0.2 MiB/s for 73 s, against 12 MiB/s otherwise): the
# nbd socket's buffers alone held up to 1.4 MiB.  Each of those round
# trips took 42 ms, 40 of them the busybox nc that relayed the servers
# then (tcprelay.c says why), but without them the guest still froze for
# 39 s.  So -swap raises vm.min_free_kbytes, to 8 MiB here
# (client/reserve.h), which each round checks; its diag line counts the
# tasks stopped (0 in 9 of 10 rounds measured with the floor, 1 in the
# other; 1 to 3 in each of the 7 boots measured without it).
#
# On 6.1 only (check-vm runs each .t once per kernel; this boot is the
# longest of the suite, and 6.1 is the kernel the swap deadlock was
# measured on): SWAP_KERNELS="6.1 6.12" runs it on more.
. "$(dirname "$0")/lib.sh"
vm_setup
vm_only_on SWAP_KERNELS 6.1
. "$(dirname "$0")/../lib.sh"
make_pki "$VM_WORK/pki" || { echo "Bail out! cannot make certificates"; exit 1; }
vm_add "$VM_WORK/pki/ca/ca-cert.pem" /pki/ca-cert.pem
mkdir -p "$VM_WORK/bin"
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$VM_WORK/bin/memhog" "$VM_DIR/memhog.c" ||
	{ echo "Bail out! cannot compile memhog.c"; exit 1; }
vm_add "$VM_WORK/bin/memhog" /usr/bin/memhog
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$VM_WORK/bin/tcprelay" "$VM_DIR/tcprelay.c" ||
	{ echo "Bail out! cannot compile tcprelay.c"; exit 1; }

tls_port=$(free_port)
plain_port=$(free_port)
nbdkit -f -i 127.0.0.1 -p "$tls_port" --tls=require --tls-certificates="$VM_WORK/pki/ca" memory 1G >"$VM_WORK/tls.log" 2>&1 &
tls_pid=$!
nbdkit -f -i 127.0.0.1 -p "$plain_port" memory 1G >"$VM_WORK/plain.log" 2>&1 &
plain_pid=$!
trap 'kill $tls_pid $plain_pid 2>/dev/null; vm_cleanup' EXIT
wait_port "$tls_port" && wait_port "$plain_port" || { echo "Bail out! the host's nbdkit servers did not start"; exit 1; }

# one tcprelay (tcprelay.c: TCP_NODELAY, where busybox nc added 40 ms to
# each request alone in flight) per guest connection
fwd() { echo "guestfwd=tcp:10.0.2.100:$1-cmd:sh -c 'exec $VM_WORK/bin/tcprelay $2 2>/dev/null'"; }
export VM_NIC="user,model=virtio-net-pci,restrict=on,$(fwd 10809 "$tls_port"),$(fwd 10810 "$plain_port")"
export VM_EXTRA_MODULES="${VM_EXTRA_MODULES:-} virtio_pci virtio_net"
export VM_MEM=${VM_MEM:-256}
export VM_STALL_S=${VM_STALL_S:-60}

{
	echo "SWAP_MIB=${SWAP_MIB:-320} SWAP_PASSES=${SWAP_PASSES:-2} PAGE_CLUSTER=${PAGE_CLUSTER:-8}"
	echo "SWAP_PATHS='${SWAP_PATHS:-ktls plain}'"
	cat <<'EOF'
check "eth0 up, 10.0.2.15/24" sh -c 'ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0'
diag "guest memory: $(grep -E '^(MemTotal|MemAvailable)' /proc/meminfo | tr -s ' ' | tr '\n' ' ')"
diag "vm.min_free_kbytes $(cat /proc/sys/vm/min_free_kbytes)"
# Swap-in in 1 MiB reads (page-cluster 8, without the VMA-based readahead,
# which caps its window at 32 pages): each read is a round trip to the host.
if [ "$PAGE_CLUSTER" != 3 ]; then
	echo false >/sys/kernel/mm/swap/vma_ra_enabled
	echo $PAGE_CLUSTER >/proc/sys/vm/page-cluster
fi
diag "vm.page-cluster $(cat /proc/sys/vm/page-cluster), vma_ra_enabled $(cat /sys/kernel/mm/swap/vma_ra_enabled)"
vmstat_() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
reserve=$(swap_reserve_kb)

# stall_dump PID: while PID runs, once memhog has shown no progress for 40 s
# (before run-vm.sh's watch kills the VM at 60), show on the console what
# the kernel is doing: blocked tasks (SysRq w), memory (SysRq m), and
# /proc/meminfo.  busybox and this script live in the initramfs, which is
# never swapped out, so this still runs when swap is stuck.
stall_dump() {
	last=0 still=0
	while kill -0 $1 2>/dev/null; do
		sleep 5
		now=$(wc -l </tmp/memhog.out)
		if [ "$now" != "$last" ]; then
			last=$now still=0
			continue
		fi
		still=$((still + 5))
		[ $still = 40 ] || continue
		echo "STALL-DUMP: no progress for 40 s at: $(tail -n 1 /tmp/memhog.out)" >/dev/console
		echo 1 >/proc/sys/kernel/sysrq
		echo w >/proc/sysrq-trigger
		echo m >/proc/sysrq-trigger
		grep -E '^(MemFree|MemAvailable|SwapFree|Dirty|Writeback):' /proc/meminfo >/dev/console
		sleep 1
		dmesg | tail -n 300 >/dev/console
	done
}

# swap_round NAME DEV CLIENT-ARGS...
swap_round() {
	name=$1 dev=$2; shift 2
	out=$(nbdc -swap "$@" $dev 2>&1); rc=$?
	check_eq "$name: -swap attach exit 0" "$rc" 0
	check_eq "$name: prints the device" "$out" "Connected $dev"
	check_eq "$name: no proxy" "$(count_comm nbd-proxy)" 0
	check_eq "$name: vm.min_free_kbytes raised to the floor for swap" \
		"$(cat /proc/sys/vm/min_free_kbytes)" "$reserve"
	check "$name: mkswap and swapon" sh -c "mkswap $dev >/dev/null && swapon $dev"
	in0=$(vmstat_ pswpin) out0=$(vmstat_ pswpout)
	throttled0=$(vmstat_ pgscan_direct_throttle)
	t0=$(uptime_s)
	memhog $SWAP_MIB $SWAP_PASSES "$name" >/tmp/memhog.out 2>&1 </dev/null &
	hog=$!
	# the console shows its progress as it goes (run-vm.sh's stall watch)
	tail -f /tmp/memhog.out >/dev/console &
	tailer=$!
	stall_dump $hog &
	dumper=$!
	wait $hog; rc=$?
	sleep 1; kill $tailer $dumper
	check_eq "$name: memhog exit 0 (every word of every page verified)" "$rc" 0
	check_eq "$name: memhog's last line" "$(tail -n 1 /tmp/memhog.out | sed "s/ in [0-9]* s, longest MiB .*//")" \
		"VM-PROGRESS-END $name verified $((SWAP_MIB * 256 * SWAP_PASSES)) pages"
	diag "$name: $(tail -n 1 /tmp/memhog.out); $(awk -v a=$t0 '{ printf "%.0f s", $1 - a }' /proc/uptime) with its start; pages swapped out $(($(vmstat_ pswpout) - out0)), in $(($(vmstat_ pswpin) - in0)); tasks stopped for the reserves (pgscan_direct_throttle) $(($(vmstat_ pgscan_direct_throttle) - throttled0))"
	check "$name: pages went out to the device" test $(($(vmstat_ pswpout) - out0)) -ge $((SWAP_MIB * 256))
	check "$name: and came back" test $(($(vmstat_ pswpin) - in0)) -ge $((SWAP_MIB * 256))
	check "$name: swapoff" swapoff $dev
	check "$name: -d" nbdc -d $dev
}

for p in $SWAP_PATHS; do
	case $p in
	ktls) swap_round "kernel TLS" /dev/nbd0 --ktls=on -A /pki/ca-cert.pem -H localhost 10.0.2.100 10809 ;;
	plain) swap_round "plaintext" /dev/nbd1 10.0.2.100 10810 ;;
	esac
done
done_testing
EOF
} | vm_scenario
vm_run "${SWAP_TIMEOUT:-1500}"
