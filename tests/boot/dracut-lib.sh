# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034
# tests/boot/dracut-lib.sh: what the dracut boot test needs on top of
# tests/boot/lib.sh (source that first).
#
# dracut's die() stops a systemd initrd with "systemctl --force halt": the
# kernel says "reboot: System halted" and QEMU stays, halted (-no-reboot
# turns reboots and panics into an exit, not a halt).  So a failed boot
# would hold its QEMU until the hard timeout; these end it as soon as the
# console says so.
#
#   dracut_halted_re      the console line of a halt
#   dracut_stop_if_halted NAME
#                         if the console says the guest halted, kill its QEMU;
#                         returns 0 if it did
#   dracut_wait_console NAME REGEX [SECS]
#                         boot_wait_console for REGEX or a halt; returns 0 for
#                         REGEX, 1 otherwise (timeout, QEMU gone, or halted:
#                         then QEMU is killed)
#   dracut_boot_run NAME INITRD APPEND [TIMEOUT_S]
#                         boot_run that ends a halted guest at once; sets
#                         DRACUT_HALTED to 1 when it halted, else 0.

dracut_halted_re='reboot: System halted'

dracut_stop_if_halted() {
	if boot_console "$1" | grep -Eq -- "$dracut_halted_re"; then
		[ -z "$BOOT_QEMU_PID" ] || kill "$BOOT_QEMU_PID" 2>/dev/null
		return 0
	fi
	return 1
}

dracut_wait_console() {
	local name=$1 re=$2 secs=${3:-60}
	if boot_wait_console "$name" "$re|$dracut_halted_re" "$secs" &&
		boot_console "$name" | grep -Eq -- "$re"; then
		return 0
	fi
	dracut_stop_if_halted "$name"
	return 1
}

dracut_boot_run() {
	local name=$1 timeout=${4:-120}
	DRACUT_HALTED=0
	boot_start "$@"
	# poweroff ends QEMU; a halt leaves it to be killed
	if boot_wait_console "$name" "$dracut_halted_re" "$timeout"; then
		DRACUT_HALTED=1
		dracut_stop_if_halted "$name"
	fi
	boot_wait "$name"
	boot_report "$name"
}
