#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# run-vm.sh INITRAMFS [TIMEOUT_S]
#
# Boot the test kernel with INITRAMFS (from mkinitramfs.sh) under qemu,
# stream the serial console to stdout (and append it to $VM_LOG if set),
# and exit with the scenario's status from the "VM-DONE rc=N" line.
# Exit 124 if the VM ran past TIMEOUT_S (default 300), 125 if it stopped
# without VM-DONE (panic, crash); both print the console tail to stderr.
# Timings go to stderr as "run-vm: ..." lines.
#
# Environment: VM_KERNEL, VM_QEMU, VM_MEM (MiB, 1024), VM_SMP (2),
# NBDC_VM_ACCEL (tcg|kvm|auto; default auto: KVM only if a probe guest
# boots under it, see vm_pick_accel in lib.sh; VM_ACCEL is the older name),
# VM_APPEND (extra kernel arguments), VM_TAP (file: a second serial port,
# ttyS1, is connected to it and the guest writes its TAP lines there),
# VM_NIC (a qemu -nic argument instead of "none": the swap test's user
# network to a server on the host), VM_STALL_S (a stall watch, 0 = off:
# once the console has shown a "VM-PROGRESS" line, a VM that shows no other
# for this many seconds is killed and run-vm.sh exits 126, unless a
# "VM-PROGRESS-END" line came since).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

if [ $# -lt 1 ] || [ ! -f "$1" ]; then
	echo "usage: run-vm.sh INITRAMFS [TIMEOUT_S]" >&2
	exit 2
fi
initrd=$1
timeout_s=${2:-300}
vm_find_kernel || { echo "run-vm: no kernel image found" >&2; exit 2; }
vm_find_qemu || { echo "run-vm: no $VM_QEMU" >&2; exit 2; }

vm_pick_accel || { echo "run-vm: $VM_ACCEL_WHY" >&2; exit 2; }
accel=$VM_ACCEL
echo "run-vm: accelerator $accel: $VM_ACCEL_WHY" >&2
if [ "$accel" = kvm ]; then cpu=host; else cpu=max; fi

# qboot starts the kernel faster than SeaBIOS and prints nothing.
bios=()
if [ -n "${VM_BIOS:-}" ]; then
	bios=(-bios "$VM_BIOS")
elif [ -f /usr/share/qemu/qboot.rom ]; then
	bios=(-bios /usr/share/qemu/qboot.rom)
fi

append="console=ttyS0 panic=-1 quiet random.trust_cpu=on"
# Under TCG the guest's TSC is no clock to trust, and a kernel that trusts it
# (6.12 does; 6.1 marks it unstable at once) later marks sched_clock stable
# by patching the kernel's code while the other vCPU runs it, which QEMU
# 7.2's TCG gets wrong: "Oops: int3" in sched_clock_cpu, a panic, at random
# boots.  tsc=unstable keeps it from being trusted from the start.
[ "$accel" = kvm ] || append+=" tsc=unstable"
serial2=()
if [ -n "${VM_TAP:-}" ]; then
	: >"$VM_TAP"
	serial2=(-serial "file:$VM_TAP")
	append+=" vm.tap=ttyS1"
fi
append+=" ${VM_APPEND:-}"

console=$(mktemp "${TMPDIR:-/tmp}/run-vm-console.XXXXXX")
trap 'rm -f "$console" "$console.pid" "$console.stall"' EXIT

t0=${EPOCHREALTIME/[.,]/}
ms() { local now=${EPOCHREALTIME/[.,]/}; echo $(((now - t0) / 1000)); }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

pidfile=$console.pid
stall=$console.stall
stall_s=${VM_STALL_S:-0}

# stall_check LAST_MS LAST_LINE: kill the VM when the guest has shown no
# progress line for $stall_s seconds.
stall_check() {
	[ $(($(ms) - $1)) -ge $((stall_s * 1000)) ] || return 0
	[ -e "$stall" ] && return 0
	printf 'no VM-PROGRESS line for %ss after: %s\n' "$stall_s" "$2" >"$stall"
	kill "$(cat "$pidfile")" 2>/dev/null
}

# -nodefaults: no VGA/NIC/floppy/CD; ttyS0 is the console on stdio.
timeout -k 5 "$timeout_s" "$VM_QEMU" \
	-accel "$accel" -cpu "$cpu" -m "${VM_MEM:-1024}" -smp "${VM_SMP:-2}" \
	${bios[@]+"${bios[@]}"} -nodefaults -no-user-config -nographic -no-reboot \
	-nic "${VM_NIC:-none}" -pidfile "$pidfile" \
	-serial stdio "${serial2[@]}" \
	-kernel "$VM_KERNEL" -initrd "$initrd" -append "$append" \
	</dev/null 2>&1 |
	{
		t_init=
		partial=
		watch_ms=
		watch_line=
		# emit LINE: one console line to stdout, the logs and the watch.
		emit() {
			local line=${1%$'\r'}
			if [ "$stall_s" != 0 ]; then
				case $line in
				*VM-PROGRESS-END*) watch_ms= ;;
				*VM-PROGRESS*) watch_ms=$(ms) watch_line=$line ;;
				esac
			fi
			printf '%s\n' "$line"
			printf '%s\n' "$line" >>"$console"
			[ -z "${VM_LOG:-}" ] || printf '%s\n' "$line" >>"$VM_LOG"
			case $line in
			*VM-INIT\ uptime=*)
				[ -n "$t_init" ] || {
					t_init=$(ms)
					echo "run-vm: /init started ${line##*uptime=} after kernel start, $(secs "$t_init")s after qemu start ($accel, ${VM_SMP:-2} cpu, ${VM_MEM:-1024} MiB)" >&2
				}
				;;
			esac
		}
		while :; do
			# A partial line read before a timeout is kept for the
			# next read (bash's read -t stores what it got).
			if IFS= read -r -t 5 part; then
				emit "$partial$part"
				partial=
			elif [ $? -gt 128 ]; then
				partial+=$part
			else
				[ -z "$partial$part" ] || emit "$partial$part"
				break
			fi
			[ -z "$watch_ms" ] || stall_check "$watch_ms" "$watch_line"
		done
	}
qrc=${PIPESTATUS[0]}
t_end=$(ms)

done_line=$(grep -ao 'VM-DONE rc=[0-9]*' "$console" | tail -n 1)
if [ -z "$done_line" ] && [ -n "${VM_TAP:-}" ]; then
	# The console line may have been garbled by kernel messages.
	done_line=$(grep -ao 'VM-DONE rc=[0-9]*' "$VM_TAP" | tail -n 1)
fi
if [ -e "$stall" ]; then
	echo "run-vm: STALL: $(cat "$stall"); killed after $(secs "$t_end")s; console tail:" >&2
	tail -n 40 "$console" >&2
	exit 126
fi
if [ -n "$done_line" ]; then
	rc=${done_line#VM-DONE rc=}
	echo "run-vm: scenario exit status $rc; VM ran $(secs "$t_end")s" >&2
	exit "$rc"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "run-vm: TIMEOUT after ${timeout_s}s; console tail:" >&2
	tail -n 40 "$console" >&2
	exit 124
fi
echo "run-vm: VM stopped without VM-DONE (qemu status $qrc) after $(secs "$t_end")s; console tail:" >&2
tail -n 40 "$console" >&2
exit 125
