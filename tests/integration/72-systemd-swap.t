#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Swap on an nbdtab device, at boot, without booting: nbd-client-generator
# and systemd's own systemd-fstab-generator turn a sample nbdtab and fstab
# into units, and systemd-analyze verify loads them as systemd would and
# builds the start transaction of dev-nbd0.swap and of multi-user.target
# (the boot).  The swap must come up after nbd@nbd0.service (and so be
# swapped off before it stops: stop order is the reverse of start order),
# with no ordering cycle (NetworkBlockDevice/nbd#55).
#
# systemd-analyze verify breaks an ordering cycle by dropping a job and
# says so only at debug level ("Found ordering cycle on ...", "Job ...
# deleted to break ordering cycle ..."), exit status 0: so the checks read
# its debug log, and its dump of the verified unit (the dependencies as
# systemd resolved them, default ones included).  A drop-in that only
# orders the swap after the unit (what nbd#55 asks for) must show the
# cycle: the check can fail.
#
# In a container systemd ignores swap: systemd-fstab-generator skips swap
# lines and swap units get no default dependencies (the very ones that
# make the cycle).  Its container check takes PID 1's $container as the
# answer, so the generators and systemd-analyze run as PID 1 of a new pid
# namespace with container set and empty ("not a container"): as on a
# booted host, where that changes nothing.
. "$(dirname "$0")/../lib.sh"

FSTAB_GEN=
for g in /lib/systemd/system-generators/systemd-fstab-generator \
	/usr/lib/systemd/system-generators/systemd-fstab-generator; do
	[ -x "$g" ] && { FSTAB_GEN=$g; break; }
done
[ -n "$FSTAB_GEN" ] || { echo "Bail out! systemd-fstab-generator is missing (systemd)"; exit 1; }
for tool in systemd-analyze unshare dash; do
	command -v "$tool" >/dev/null ||
		{ echo "Bail out! $tool is missing (.ci/packages)"; exit 1; }
done
if [ "$(id -u)" = 0 ]; then
	NS=(unshare --pid --fork)
else
	NS=(unshare --user --map-root-user --pid --fork)
fi
"${NS[@]}" true 2>/dev/null ||
	{ echo "Bail out! ${NS[*]} fails: no pid namespace for systemd-analyze"; exit 1; }
# asroot CMD...: CMD as PID 1 of a new pid namespace, not in a container
asroot() {
	"${NS[@]}" env container= SYSTEMD_PROC_CMDLINE= SYSTEMD_IN_INITRD=0 "$@"
}

# The pieces as make install fills them in (install.mk's SYSTEMD_SUBST),
# with a stub client: systemd-analyze checks that ExecStart= exists.
U=$T_TMP/units
mkdir -p "$U" "$T_TMP/sbin"
printf '#!/bin/sh\nexit 0\n' >"$T_TMP/sbin/nbd-client"
chmod +x "$T_TMP/sbin/nbd-client"
subst() {
	sed -e "s|@SBINDIR@|$T_TMP/sbin|g" -e 's|@SYSCONFDIR@|/etc|g' \
		-e "s|@SYSTEMDUNITDIR@|$U|g" "$1"
}
subst "$TOP/scripts/systemd/nbd@.service.in" >"$U/nbd@.service"
GEN=$T_TMP/nbd-client-generator
subst "$TOP/scripts/systemd/nbd-client-generator.in" >"$GEN"

TAB=$T_TMP/nbdtab
printf '%s\n' \
	'nbd0 h e swap' \
	'nbd1 h e swap,noauto' \
	'nbd2 h e swap' \
	'nbd3 h e' \
	'nbd5 h e' >"$TAB"
FSTAB=$T_TMP/fstab
printf '%s\n' \
	'# <file system> <mount point> <type> <options> <dump> <pass>' \
	'/dev/nbd0 none swap sw 0 0' \
	'/dev/nbd1	none	swap	sw,nofail	0	0' \
	'# /dev/nbd2 none swap sw 0 0' \
	'/dev/nbd3 /srv ext4 _netdev 0 2' \
	'/dev/nbd4 none swap sw 0 0' \
	'/dev/nbd5p1 none swap sw 0 0' \
	'nbd5 none swap sw 0 0' >"$FSTAB"

# run_gens DIR: both generators into DIR/{normal,early,late}; the tree
# (one "path/", "path -> link" or "path (file)" a line; not fstab's
# systemd-remount-fs.service link) in OUT
run_gens() {
	local d=$1
	mkdir -p "$d/normal" "$d/early" "$d/late"
	asroot SYSTEMD_FSTAB="$FSTAB" "$FSTAB_GEN" "$d/normal" "$d/early" "$d/late" \
		>"$T_TMP/fsg.out" 2>&1
	is "$?:$(cat "$T_TMP/fsg.out")" "0:" "systemd-fstab-generator: exit 0, nothing said"
	env NBDTAB="$TAB" SYSTEMD_FSTAB="$FSTAB" SYSTEMD_IN_INITRD=0 \
		dash "$GEN" "$d/normal" "$d/early" "$d/late" >"$T_TMP/gen.out" 2>&1
	is "$?:$(cat "$T_TMP/gen.out")" "0:" "nbd-client-generator: exit 0, nothing said"
	OUT=$(cd "$d" && find . -mindepth 1 \( -type l -printf '%P -> %l\n' \) -o \
		\( -type f -printf '%P (file)\n' \) -o \( -type d -printf '%P/\n' \) | grep -v '^normal/local-fs\.target\.wants/' | LC_ALL=C sort)
}

G=$T_TMP/gen
run_gens "$G"
is "$OUT" "early/
late/
normal/
normal/dev-nbd0.swap (file)
normal/dev-nbd0.swap.d/
normal/dev-nbd0.swap.d/50-nbd-client.conf (file)
normal/dev-nbd1.swap (file)
normal/dev-nbd1.swap.d/
normal/dev-nbd1.swap.d/50-nbd-client.conf (file)
normal/dev-nbd3.device.d/
normal/dev-nbd3.device.d/50-netdev-dependencies.conf (file)
normal/dev-nbd4.swap (file)
normal/dev-nbd5p1.swap (file)
normal/nbd5.swap (file)
normal/remote-fs.target.requires/
normal/remote-fs.target.requires/srv.mount -> ../srv.mount
normal/remote-fs.target.wants/
normal/remote-fs.target.wants/nbd@nbd0.service -> $U/nbd@.service
normal/remote-fs.target.wants/nbd@nbd2.service -> $U/nbd@.service
normal/remote-fs.target.wants/nbd@nbd3.service -> $U/nbd@.service
normal/remote-fs.target.wants/nbd@nbd5.service -> $U/nbd@.service
normal/srv.mount (file)
normal/swap.target.requires/
normal/swap.target.requires/dev-nbd0.swap -> ../dev-nbd0.swap
normal/swap.target.requires/dev-nbd4.swap -> ../dev-nbd4.swap
normal/swap.target.requires/dev-nbd5p1.swap -> ../dev-nbd5p1.swap
normal/swap.target.requires/nbd5.swap -> ../nbd5.swap
normal/swap.target.wants/
normal/swap.target.wants/dev-nbd1.swap -> ../dev-nbd1.swap" \
	"a drop-in for the swap lines of nbdtab devices only (/dev/nbd0, /dev/nbd1, noauto or not)"

WANT_DROPIN="# Automatically generated by nbd-client-generator: $FSTAB swaps on
# /dev/nbd0, which nbd@nbd0.service attaches (see nbd-client(8), SYSTEMD).
[Unit]
# Not before swap.target: nbd@nbd0.service comes after sysinit.target.
DefaultDependencies=no
# Swap on after the device is attached, swapoff before it is detached.
Requires=nbd@nbd0.service
After=nbd@nbd0.service
# Swapoff at shutdown, before the file systems are unmounted.
Conflicts=umount.target
Before=umount.target"
is "$(cat "$G/normal/dev-nbd0.swap.d/50-nbd-client.conf" 2>&1)" "$WANT_DROPIN" \
	"the drop-in for /dev/nbd0"
is "$(cat "$G/normal/dev-nbd1.swap.d/50-nbd-client.conf" 2>&1)" "${WANT_DROPIN//nbd0/nbd1}" \
	"the same for /dev/nbd1"

# verify DIR UNIT: systemd-analyze verify UNIT with DIR's units first;
# VRC its status, VOUT what it says at its normal level, CYCLE the debug
# log's lines about ordering cycles, JOBS its jobs for units of nbd0
# ("unit/start", sorted), DEPS the dependencies of dev-nbd0.swap from its
# dump (sorted; those on nbd0, the swap and umount targets, sysinit)
verify() {
	local d=$1 unit=$2
	asroot SYSTEMD_UNIT_PATH="$d/normal:$U:" systemd-analyze verify \
		--man=no --generators=no "$unit" >"$T_TMP/v.out" 2>&1
	VRC=$?
	VOUT=$(cat "$T_TMP/v.out")
	asroot SYSTEMD_UNIT_PATH="$d/normal:$U:" SYSTEMD_LOG_LEVEL=debug \
		SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_COLOR=0 systemd-analyze verify \
		--man=no --generators=no "$unit" >"$T_TMP/v.dump" 2>"$T_TMP/v.log"
	CYCLE=$(grep -E 'ordering cycle|Found dependency on' "$T_TMP/v.log")
	JOBS=$(sed -n 's/^.*: Installed new job \([^ ]*nbd0[^ ]*\) as .*/\1/p' "$T_TMP/v.log" | LC_ALL=C sort)
	DEPS=$(sed -n '/-> Unit dev-nbd0.swap:/,/-> Unit /p' "$T_TMP/v.dump" |
		sed -n 's/^\t\t\(\(Requires\|Wants\|BindsTo\|Conflicts\|Before\|After\): .*\(nbd0\|swap\.target\|umount\|sysinit\).*\)$/\1/p' |
		LC_ALL=C sort)
}

WANT_DEPS="After: blockdev@dev-nbd0.target (origin-file)
After: dev-nbd0.device (origin-file)
After: nbd@nbd0.service (origin-file)
Before: umount.target (origin-file)
Conflicts: umount.target (origin-file)
Requires: dev-nbd0.device (origin-file)
Requires: nbd@nbd0.service (origin-file)"

verify "$G" dev-nbd0.swap
is "$VRC:$VOUT" "0:" "systemd-analyze verify dev-nbd0.swap: exit 0, nothing said"
is "$CYCLE" "" "starting dev-nbd0.swap: no ordering cycle"
is "$DEPS" "$WANT_DEPS" "dev-nbd0.swap: after and requiring nbd@nbd0.service, not before swap.target, swapoff before umount.target"
is "$JOBS" "dev-nbd0.device/start
dev-nbd0.swap/start
nbd@nbd0.service/start" "starting dev-nbd0.swap starts nbd@nbd0.service"

verify "$G" multi-user.target
is "$VRC:$VOUT" "0:" "systemd-analyze verify multi-user.target: exit 0, nothing said"
is "$CYCLE" "" "the boot: no ordering cycle"
is "$JOBS" "dev-nbd0.device/start
dev-nbd0.swap/start
nbd@nbd0.service/start" "the boot starts nbd@nbd0.service and the swap on it"

# What nbd#55 asks for, only the order: the swap keeps its default
# dependencies, before swap.target, and the cycle is there.
N=$T_TMP/naive
cp -r "$G" "$N"
mkdir -p "$N/normal/dev-nbd0.swap.d"
printf '[Unit]\nRequires=nbd@nbd0.service\nAfter=nbd@nbd0.service\n' \
	>"$N/normal/dev-nbd0.swap.d/50-nbd-client.conf"
verify "$N" dev-nbd0.swap
is "$VRC:$VOUT" "0:" "only ordered after the unit: systemd-analyze verify still exits 0, says nothing"
# where systemd starts walking the cycle varies from run to run: the
# units on it, and the job it drops
is "$(sed -n 's#^.*: Found \(ordering cycle\|dependency\) on \([^ ]*\)/start$#\2#p' <<<"$CYCLE" | LC_ALL=C sort -u)" \
"dev-nbd0.swap
nbd@nbd0.service
swap.target
sysinit.target" "only ordered after the unit: an ordering cycle, in the debug log"
is "$(sed -n 's|^[^ ]*: \(Job .* deleted to break ordering cycle\) starting with .*|\1|p' "$T_TMP/v.log")" \
	"Job swap.target/start deleted to break ordering cycle" \
	"only ordered after the unit: swap.target/start dropped to break it"
like "$DEPS" $'\nBefore: swap.target \\(origin-default destination-default\\)\n' \
	"only ordered after the unit: the swap is before swap.target (a default dependency)"

# Without the drop-in (nothing ties the swap to the unit): no cycle, but
# the swap may start before the device is attached, and waits for it
# until its job times out.
rm -rf "$N/normal/dev-nbd0.swap.d"
verify "$N" dev-nbd0.swap
is "$CYCLE" "" "no drop-in: no cycle"
is "$JOBS" "dev-nbd0.device/start
dev-nbd0.swap/start" "no drop-in: the swap does not start nbd@nbd0.service"

# No fstab: nothing but the wants links.
FSTAB=$T_TMP/none
rm -rf "$T_TMP/g2"
mkdir -p "$T_TMP/g2/normal"
env NBDTAB="$TAB" SYSTEMD_FSTAB="$FSTAB" SYSTEMD_IN_INITRD=0 \
	dash "$GEN" "$T_TMP/g2/normal" >"$T_TMP/gen.out" 2>&1
is "$?:$(cat "$T_TMP/gen.out"):$(cd "$T_TMP/g2/normal" && find . -name '*.swap*')" "0::" \
	"no fstab: exit 0, nothing said, no drop-in"

done_testing
