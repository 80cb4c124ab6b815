# SPDX-License-Identifier: GPL-2.0-or-later
# /lib/guest-lib.sh: TAP helpers for guest scenarios (busybox sh).
# Sourced at the top of /scenario.sh by vm_scenario (tests/vm/lib.sh).
#
#   pass NAME                  ok N - NAME
#   fail NAME [DIAG...]        not ok N - NAME (+ "# DIAG" lines)
#   skip NAME REASON           ok N - NAME # SKIP REASON
#   check NAME CMD...          runs CMD; ok if it exits 0, else not ok with
#                              its exit status and output tail as diagnostics
#   check_rc WANT NAME CMD...  ok if CMD exits with status WANT
#   check_eq NAME GOT WANT     ok if the strings are equal
#   diag TEXT...               "# TEXT"
#   bail REASON                "Bail out! REASON", exit 255
#   done_testing               prints the plan 1..N, returns #failures
#
#   wait_listen PORT [SECS]    wait until a TCP socket listens on PORT
#   wait_for SECS CMD...       retry CMD every 0.1 s until it succeeds
#   uptime_s                   seconds since boot (for timings)
#   drop_caches                sync + drop the page cache
#
# The counters live in this shell, so call the helpers from the scenario's
# main shell, not from a subshell or pipeline.  Output goes to stdout (the
# console) and, when the VM has one, to the TAP port that the host reads.
# The last command's output is in $CHECK_OUT (a file) after check/check_rc.

_tap_n=0
_tap_failed=0
CHECK_OUT=${TMPDIR:-/tmp}/.check.out

_tap() {
	echo "$*"
	[ -z "${VM_TAP_DEV:-}" ] || echo "$*" >>"$VM_TAP_DEV"
}

diag() { # each argument is one or more lines
	local l
	for l in "$@"; do printf '%s\n' "$l"; done |
		while IFS= read -r l; do _tap "# $l"; done
}

pass() {
	_tap_n=$((_tap_n + 1))
	_tap "ok $_tap_n - $*"
}

fail() {
	local name="$1"
	shift
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	_tap "not ok $_tap_n - $name"
	[ $# -eq 0 ] || diag "$@"
}

skip() {
	_tap_n=$((_tap_n + 1))
	_tap "ok $_tap_n - $1 # SKIP ${2:-}"
}

check_rc() {
	local want="$1" name="$2" rc
	shift 2
	"$@" >"$CHECK_OUT" 2>&1
	rc=$?
	if [ "$rc" = "$want" ]; then
		pass "$name"
	else
		fail "$name" "command: $*" "exit status $rc, wanted $want"
		[ ! -s "$CHECK_OUT" ] || diag "$(tail -n 15 "$CHECK_OUT")"
	fi
	[ "$rc" = "$want" ]
}

check() {
	local name="$1"
	shift
	check_rc 0 "$name" "$@"
}

check_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "got:  '$2'" "want: '$3'"
		return 1
	fi
}

bail() {
	_tap "Bail out! $*"
	exit 255
}

done_testing() {
	_tap "1..$_tap_n"
	return $((_tap_failed > 254 ? 254 : _tap_failed))
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }

wait_for() {
	local secs="$1" i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -le $((secs * 10)) ] || return 1
		sleep 0.1
	done
}

_listening() {
	# /proc/net/tcp{,6}: local_address is field 2, state 0A is LISTEN.
	awk -v p="$(printf ':%04X' "$1")" \
		'$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

wait_listen() {
	wait_for "${2:-30}" _listening "$1"
}

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# --- data checks shared by the scenarios -----------------------------------
sha() { sha256sum | cut -d' ' -f1; }

# devsha DEV MIB [SKIP_MIB]: sha256 of MIB MiB of DEV read with O_DIRECT
devsha() {
	dd if="$1" bs=1M skip="${3:-0}" count="$2" iflag=direct 2>/dev/null | sha
}

# bytes FILE: FILE's bytes on one line, escapes shown (od -c)
bytes() { od -An -c "$1" | tr -s ' \n' ' '; }

# count_comm NAME: how many processes are called NAME
count_comm() { grep -l "^$1\$" /proc/[0-9]*/comm 2>/dev/null | wc -l; }

# swap_reserve_kb: the floor -swap raises vm.min_free_kbytes to with one
# connection (client/reserve.h): 8 MiB, at most a sixteenth of MemTotal
swap_reserve_kb() {
	awk '$1 == "MemTotal:" { t = int($2 / 16); print (t < 8192 ? t : 8192) }' /proc/meminfo
}

# roundtrip NAME DEV SEED MIB [SEEK_MIB]: write MIB MiB of pattern SEED at
# SEEK_MIB with O_DIRECT, drop the caches, read it back byte-exact (two
# checks) and report the times.
roundtrip() {
	_rn=$1 _rd=$2 _rs=$3 _rm=$4 _ro=${5:-0}
	_rwant=$(patgen -s "$_rs" "${_rm}M" | sha)
	_rt0=$(uptime_s)
	check "$_rn: write $_rm MiB" sh -c "patgen -s $_rs ${_rm}M | dd of=$_rd bs=1M seek=$_ro iflag=fullblock oflag=direct 2>/dev/null"
	_rt1=$(uptime_s)
	drop_caches
	check_eq "$_rn: $_rm MiB read back byte-exact" "$(devsha "$_rd" "$_rm" "$_ro")" "$_rwant"
	_rt2=$(uptime_s)
	diag "$_rn: $_rm MiB write $(awk -v a="$_rt0" -v b="$_rt1" 'BEGIN{printf "%.2f", b-a}')s, read $(awk -v a="$_rt1" -v b="$_rt2" 'BEGIN{printf "%.2f", b-a}')s"
}

# ext4_roundtrip NAME DEV SEED MIB: mkfs.ext4, mount, write a MIB MiB file,
# umount, mount again, compare it byte-exact, umount, e2fsck -fn clean.
ext4_roundtrip() {
	_en=$1 _ed=$2 _es=$3 _em=$4
	mkdir -p /mnt/nbd
	check "$_en: mkfs.ext4" mkfs.ext4 -q -F "$_ed"
	check "$_en: mount" mount -t ext4 "$_ed" /mnt/nbd
	_ewant=$(patgen -s "$_es" "${_em}M" | sha)
	check "$_en: write a $_em MiB file" sh -c "patgen -s $_es ${_em}M >/mnt/nbd/file && sync"
	check "$_en: umount" umount /mnt/nbd
	drop_caches
	check "$_en: mount again" mount -t ext4 "$_ed" /mnt/nbd
	check_eq "$_en: file byte-exact after remount" "$(sha </mnt/nbd/file)" "$_ewant"
	check "$_en: umount again" umount /mnt/nbd
	check "$_en: e2fsck -fn clean" e2fsck -fn "$_ed"
}
