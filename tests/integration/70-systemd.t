#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The systemd pieces as "make install" puts them (default PREFIX and
# PREFIX=/usr, under a DESTDIR): nbd@.service passes systemd-analyze
# verify and runs the installed client; nbd-client-generator turns a
# sample nbdtab into exactly the expected wants links and warnings, under
# dash and busybox sh, and does nothing in the initrd or without nbdtab.
. "$(dirname "$0")/../lib.sh"

for tool in systemd-analyze man dash busybox shellcheck; do
	command -v "$tool" >/dev/null ||
		{ echo "Bail out! $tool is missing (.ci/packages)"; exit 1; }
done

# install DIR [MAKE ARGS...]: make install into DIR; sets INSTALL_LOG
install_to() {
	local dir=$1
	shift
	INSTALL_LOG=$T_TMP/install.log
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -C "$TOP" --no-print-directory install SUDO= DESTDIR="$dir" "$@" \
		>"$INSTALL_LOG" 2>&1
}

# --- the unit -----------------------------------------------------------
# verify_unit DESTDIR SBINDIR UNITDIR MANDIR LABEL
verify_unit() {
	local d=$1 sbin=$2 unitdir=$3 mandir=$4 label=$5 unit copy
	unit=$d$unitdir/nbd@.service
	is "$(grep -E '^Exec' "$unit")" \
"ExecStart=$sbin/nbd-client -nofork %i
ExecStop=/bin/sh -c 'grep -q \"^/dev/%i \" /proc/swaps || exit 0; swapoff /dev/%i; while grep -q \"^/dev/%i \" /proc/swaps; do sleep 1; done'
ExecStop=/bin/sh -c '[ -z \"\$\$MAINPID\" ] || [ \"\$\$($sbin/nbd-client -c /dev/%i)\" != \"\$\$MAINPID\" ] || exec $sbin/nbd-client -d /dev/%i'" "$label: the unit runs $sbin/nbd-client"
	[ -x "$d$sbin/nbd-client" ]
	is "$?" 0 "$label: which is installed"
	# systemd-analyze checks that the commands exist and (with MANPATH)
	# that the pages of Documentation= do: point it into the DESTDIR
	copy=$T_TMP/verify-$label
	mkdir -p "$copy"
	sed "s|$sbin/nbd-client|$d$sbin/nbd-client|g" "$unit" >"$copy/nbd@.service"
	MANPATH=$d$mandir systemd-analyze verify "$copy/nbd@.service" \
		>"$T_TMP/verify.out" 2>&1
	is "$?" 0 "$label: systemd-analyze verify nbd@.service"
	is "$(cat "$T_TMP/verify.out")" "" "$label: systemd-analyze verify says nothing"
	cp "$copy/nbd@.service" "$copy/nbd@nbd0.service"
	MANPATH=$d$mandir systemd-analyze verify "$copy/nbd@nbd0.service" \
		>"$T_TMP/verify.out" 2>&1
	is "$?:$(cat "$T_TMP/verify.out")" "0:" "$label: systemd-analyze verify nbd@nbd0.service"
}

D1=$T_TMP/local
install_to "$D1"
is "$?" 0 "make install DESTDIR (default PREFIX)" || cat "$INSTALL_LOG" >&2
verify_unit "$D1" /usr/local/sbin /usr/local/lib/systemd/system /usr/local/share/man local

D2=$T_TMP/usr
install_to "$D2" PREFIX=/usr
is "$?" 0 "make install DESTDIR PREFIX=/usr" || cat "$INSTALL_LOG" >&2
verify_unit "$D2" /usr/sbin /lib/systemd/system /usr/share/man usr

# ExecStop, run as systemd would run it for nbd@nbd0.service: it detaches
# only a device that its main process started ($MAINPID set, and the
# kernel's pid for the device, which nbd-client -c prints, is $MAINPID):
# not one it adopted (the root, started by the initramfs), not one after
# the main process exited on its own.
stop=$(sed -n "s/^ExecStop=\(.*nbd-client -d .*\)/\1/p" "$D1/usr/local/lib/systemd/system/nbd@.service")
stop=${stop//%i/nbd0}
stop=${stop//\$\$/\$}
stop=${stop#/bin/sh -c \'}
stop=${stop%\'}
mkdir -p "$T_TMP/stub"
printf '#!/bin/sh\ncase "$*" in\n"-c /dev/nbd0") echo 4321 ;;\n*) echo "$*" ;;\nesac\n' >"$T_TMP/stub/nbd-client"
chmod +x "$T_TMP/stub/nbd-client"
out=$(env MAINPID=4321 /bin/sh -c "${stop//\/usr\/local\/sbin/$T_TMP/stub}" 2>&1)
is "$?:$out" "0:-d /dev/nbd0" "ExecStop, the main process started the device: nbd-client -d /dev/nbd0"
out=$(env MAINPID=5555 /bin/sh -c "${stop//\/usr\/local\/sbin/$T_TMP/stub}" 2>&1)
is "$?:$out" "0:" "ExecStop, the main process adopted the device: nothing"
out=$(env -u MAINPID /bin/sh -c "${stop//\/usr\/local\/sbin/$T_TMP/stub}" 2>&1)
is "$?:$out" "0:" "ExecStop after the main process exited: nothing"
printf '#!/bin/sh\ncase "$*" in\n"-c /dev/nbd0") exit 1 ;;\n*) echo "$*" ;;\nesac\n' >"$T_TMP/stub/nbd-client"
out=$(env MAINPID=4321 /bin/sh -c "${stop//\/usr\/local\/sbin/$T_TMP/stub}" 2>&1)
is "$?:$out" "0:" "ExecStop, the device detached already: nothing"

# The first ExecStop, the swapoff, the same way, with /proc/swaps a file
# of the test and swapoff a stub that logs and takes the line out of it
# (or, failing as a second swapoff does, leaves that to a background one).
swapoff_cmd=$(sed -n "s/^ExecStop=\(.*swapoff.*\)/\1/p" "$D1/usr/local/lib/systemd/system/nbd@.service")
swapoff_cmd=${swapoff_cmd//%i/nbd1}
swapoff_cmd=${swapoff_cmd#/bin/sh -c \'}
swapoff_cmd=${swapoff_cmd%\'}
swapoff_cmd=${swapoff_cmd//\/proc\/swaps/$T_TMP/swaps}
SWAPS_HEAD='Filename				Type		Size		Used		Priority'
# shellcheck disable=SC2016 # the stub expands them
printf '#!/bin/sh\necho "swapoff $*" >>"%s/swapoff.log"\n[ -e "%s/swapoff.fail" ] && exit 255\ngrep -v "^$1 " "%s/swaps" >"%s/swaps.new"; mv "%s/swaps.new" "%s/swaps"\n' \
	"$T_TMP" "$T_TMP" "$T_TMP" "$T_TMP" "$T_TMP" "$T_TMP" >"$T_TMP/stub/swapoff"
chmod +x "$T_TMP/stub/swapoff"
printf '%s\n/dev/nbd10                              partition\t1048572\t\t0\t\t-2\n' "$SWAPS_HEAD" >"$T_TMP/swaps"
out=$(PATH=$T_TMP/stub:$PATH /bin/sh -c "$swapoff_cmd" 2>&1)
is "$?:$out:$(cat "$T_TMP/swapoff.log" 2>&1)" "0::cat: $T_TMP/swapoff.log: No such file or directory" \
	"ExecStop, no swap on the device (one on nbd10): no swapoff"
printf '/dev/nbd1                               partition\t1048572\t\t0\t\t-3\n' >>"$T_TMP/swaps"
out=$(PATH=$T_TMP/stub:$PATH /bin/sh -c "$swapoff_cmd" 2>&1)
is "$?:$out:$(cat "$T_TMP/swapoff.log")" "0::swapoff /dev/nbd1" "ExecStop, a swap on the device: swapoff /dev/nbd1"
is "$(grep -c nbd1 "$T_TMP/swaps")" 1 "which leaves the swap on nbd10"
rm "$T_TMP/swapoff.log"
printf '/dev/nbd1                               partition\t1048572\t\t0\t\t-3\n' >>"$T_TMP/swaps"
: >"$T_TMP/swapoff.fail"
(sleep 2; grep -v '^/dev/nbd1 ' "$T_TMP/swaps" >"$T_TMP/swaps.new"; mv "$T_TMP/swaps.new" "$T_TMP/swaps") &
start=$SECONDS
out=$(PATH=$T_TMP/stub:$PATH /bin/sh -c "$swapoff_cmd" 2>&1)
is "$?:$out:$(cat "$T_TMP/swapoff.log")" "0::swapoff /dev/nbd1" \
	"ExecStop, another swapoff running (this one fails): exit 0"
wait
[ $((SECONDS - start)) -ge 2 ]
is "$?" 0 "and only once the device has left /proc/swaps (2 s)"

# --- the generator ------------------------------------------------------
GEN=$D1/usr/local/lib/systemd/system-generators/nbd-client-generator
GEN_USR=$D2/lib/systemd/system-generators/nbd-client-generator
shellcheck -s sh "$GEN" >"$T_TMP/sc.out" 2>&1
is "$?:$(cat "$T_TMP/sc.out")" "0:" "shellcheck -s sh nbd-client-generator"

TAB=$T_TMP/nbdtab
printf '%s\n' \
	'# device host export options' \
	'' \
	'nbd0 nbd.example.com root persist,systemd-mark' \
	'   /dev/nbd1	192.0.2.1	data' \
	'nbd2 h e noauto' \
	'nbd3 h e persist,noauto,swap' \
	'nbd4 h e _noauto' \
	'nbd5 h e # noauto' \
	'nbd6 h#x e#y' \
	'nbd07 h e' \
	'sda h e' \
	'nbd1 h e2' \
	'nbd10 h e noautox,xnoauto' \
	'# nbd11 h e' \
	'	nbd12	h	e	tls,noauto	' \
	'nbd1048576 h e' \
	'nbd1048575 h e' \
	'nbd13' \
	'nbd14 h e persist # noauto' \
	'nbd15p1 h e' >"$TAB"
printf 'nbd16 h e\r\nnbd17 h e noauto\r\nnbd18 h e' >>"$TAB"	# CRLF, no final newline

# run_gen SHELL GENERATOR [ENV...]: output tree in OUT (one "link -> target"
# a line, sorted), stderr in GERR, status in GRC
run_gen() {
	local sh=$1 gen=$2 dir=$T_TMP/gen.$RANDOM
	shift 2
	mkdir -p "$dir/normal" "$dir/early" "$dir/late"
	# shellcheck disable=SC2086 # "busybox sh" is two words
	env NBDTAB="$TAB" SYSTEMD_FSTAB="$T_TMP/no-fstab" "$@" $sh "$gen" "$dir/normal" "$dir/early" "$dir/late" \
		>"$T_TMP/gen.out" 2>"$T_TMP/gen.err"
	GRC=$?
	GERR=$(cat "$T_TMP/gen.err")
	OUT=$(cd "$dir" && find . -mindepth 1 \( -type l -printf '%P -> %l\n' \) -o \
		\( -type f -printf '%P (file)\n' \) -o \( -type d -printf '%P/\n' \) | LC_ALL=C sort)
}

want_links() {
	local target=$1 d
	printf 'normal/\nnormal/remote-fs.target.wants/\n'
	for d in 0 1 10 1048575 13 14 16 18 4 5 6; do
		printf 'normal/remote-fs.target.wants/nbd@nbd%s.service -> %s\n' "$d" "$target"
	done | LC_ALL=C sort
	printf 'early/\nlate/\n'
}
WANT_LOCAL=$(want_links /usr/local/lib/systemd/system/nbd@.service | LC_ALL=C sort)
WANT_USR=$(want_links /lib/systemd/system/nbd@.service | LC_ALL=C sort)
WANT_ERR="nbd-client-generator: $TAB:10: invalid device 'nbd07' (expected nbdN or /dev/nbdN); no unit
nbd-client-generator: $TAB:11: invalid device 'sda' (expected nbdN or /dev/nbdN); no unit
nbd-client-generator: $TAB:16: invalid device 'nbd1048576' (expected nbdN or /dev/nbdN); no unit
nbd-client-generator: $TAB:20: invalid device 'nbd15p1' (expected nbdN or /dev/nbdN); no unit"

for sh in dash "busybox sh"; do
	run_gen "$sh" "$GEN" SYSTEMD_IN_INITRD=0
	is "$GRC" 0 "$sh: generator exits 0"
	is "$OUT" "$WANT_LOCAL" "$sh: one wants link per nbdtab device without noauto"
	is "$GERR" "$WANT_ERR" "$sh: a warning with file:line for each unusable device"
done
run_gen dash "$GEN_USR" SYSTEMD_IN_INITRD=0
is "$OUT" "$WANT_USR" "PREFIX=/usr: the links point to /lib/systemd/system/nbd@.service"
is "$GRC:$GERR" "0:$WANT_ERR" "PREFIX=/usr: the same warnings"

# The generator's links name the unit that make install put there.
for d in "$D1/usr/local" "$D2"; do
	[ -f "$d/lib/systemd/system/nbd@.service" ]
	is "$?" 0 "the link target exists under ${d#"$T_TMP"/}"
done

run_gen dash "$GEN" SYSTEMD_IN_INITRD=1
is "$GRC:$GERR" "0:" "in the initrd: exit 0, nothing said"
is "$OUT" "early/
late/
normal/" "in the initrd: nothing generated"

TAB=$T_TMP/none
run_gen dash "$GEN" SYSTEMD_IN_INITRD=0
is "$GRC:$GERR:$OUT" "0::early/
late/
normal/" "no nbdtab: exit 0, nothing said, nothing generated"

TAB=$T_TMP/empty
: >"$TAB"
run_gen dash "$GEN" SYSTEMD_IN_INITRD=0
is "$GRC:$GERR:$OUT" "0::early/
late/
normal/" "empty nbdtab: nothing generated"

dash "$GEN" >/dev/null 2>"$T_TMP/gen.err"
is "$?:$(cat "$T_TMP/gen.err")" \
	"2:usage: nbd-client-generator NORMAL_DIR [EARLY_DIR LATE_DIR]" "no output directory: usage, exit 2"

# The generator reads the nbdtab only where the client reads it.
is "$(grep -c "^nbdtab=\${NBDTAB:-/etc/nbdtab}\$" "$GEN")" 1 "the generator reads /etc/nbdtab by default"

# noauto is for the generator: nbd-client takes it without a word.
printf 'nbd9 127.0.0.1 e port=1,noauto\n' >"$T_TMP/noauto.tab"
nbdc --nbdtab "$T_TMP/noauto.tab" nbd9
is "$RC:$ERR" "1:nbd-client: cannot connect to 127.0.0.1:1: Connection refused" \
	"nbd-client takes the nbdtab flag noauto without a warning"

done_testing
