#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make install / make uninstall under a DESTDIR, with the default PREFIX
# and with PREFIX=/usr: exactly the expected files with the expected modes
# (0755 programs and scripts, 0644 the rest), and nothing left after
# uninstall; and both man pages render without a warning.
#
# The expected list is written out here part by part (core, in the
# Makefile, and one per scripts/*/install.mk): whoever adds a part or a
# file to a part adds it below too.
. "$(dirname "$0")/../lib.sh"

command -v man >/dev/null || { echo "Bail out! man is missing (man-db, .ci/packages)"; exit 1; }

# expected PART PREFIX: "MODE PATH" a line, PATH as installed (no DESTDIR)
expected() {
	local part=$1 p=$2 sd=$2/lib/systemd d m
	[ "$p" = /usr ] && sd=/lib/systemd
	case $part in
	core)
		printf '%s\n' "755 $p/sbin/nbd-client" \
			"644 $p/share/man/man8/nbd-client.8" \
			"644 $p/share/bash-completion/completions/nbd-client"
		;;
	systemd)
		printf '%s\n' "644 $sd/system/nbd@.service" \
			"755 $sd/system-generators/nbd-client-generator" \
			"644 $p/share/man/man5/nbdtab.5"
		;;
	initramfs-tools)
		# mkinitramfs reads /etc/initramfs-tools and /usr/share/initramfs-tools
		d=/etc/initramfs-tools
		[ "$p" = /usr ] && d=/usr/share/initramfs-tools
		printf '%s\n' "755 $d/hooks/nbd-client" "755 $d/scripts/local-top/nbd"
		;;
	dracut)
		# dracut reads only /usr/lib/dracut, whatever the PREFIX
		d=/usr/lib/dracut
		m=$d/modules.d/95nbd-client
		printf '%s\n' "755 $m/module-setup.sh" "755 $m/parse-nbd-client.sh" \
			"755 $m/nbd-client-root.sh" "755 $m/nbd-client-generator.sh" \
			"644 $m/nbd-client-lib.sh" "644 $d/dracut.conf.d/50-nbd-client.conf"
		;;
	*)
		return 1
		;;
	esac
}

PARTS=(core)
for mk in "$TOP"/scripts/*/install.mk; do
	[ -e "$mk" ] || continue
	part=${mk%/install.mk}
	PARTS+=("${part##*/}")
done

# installed DIR: what is under DIR, "MODE PATH" a line, sorted; links
# and anything but plain files are shown as such
installed() {
	(cd "$1" && find . -mindepth 1 ! -type d \
		\( -type f -printf '%m /%P\n' -o -printf '%y /%P\n' \)) | LC_ALL=C sort
}

# make_in TARGET ARGS...: make TARGET in the tree, never through sudo
make_in() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -C "$TOP" --no-print-directory SUDO= "$@" >"$T_TMP/make.log" 2>&1
	MRC=$?
	[ "$MRC" = 0 ] || t_diag "make: " "$(tail -n 20 "$T_TMP/make.log")"
}

for prefix in /usr/local /usr; do
	if [ $prefix = /usr/local ]; then
		args=()	# the default
	else
		args=("PREFIX=$prefix")
	fi
	want=
	for part in "${PARTS[@]}"; do
		if list=$(expected "$part" "$prefix"); then
			want+=$list$'\n'
		else
			t_result 0 "PREFIX=$prefix: expected files of part '$part' (scripts/$part/install.mk) are listed in this test"
		fi
	done
	want=$(printf '%s' "$want" | LC_ALL=C sort)

	D=$T_TMP/dest$prefix
	make_in install DESTDIR="$D" "${args[@]}"
	is "$MRC" 0 "PREFIX=$prefix: make install DESTDIR=... exits 0"
	is "$(installed "$D")" "$want" \
		"PREFIX=$prefix: exactly the files of parts ${PARTS[*]}, with their modes"

	for page in "$prefix/share/man/man8/nbd-client.8" "$prefix/share/man/man5/nbdtab.5"; do
		[ -f "$D$page" ] || continue
		man --warnings -l "$D$page" >/dev/null 2>"$T_TMP/man.err"
		is "$?:$(cat "$T_TMP/man.err")" "0:" "PREFIX=$prefix: man --warnings -l $page: no warning"
		groff -man -Tutf8 -ww "$D$page" >/dev/null 2>"$T_TMP/man.err"
		is "$?:$(cat "$T_TMP/man.err")" "0:" "PREFIX=$prefix: groff -man -ww $page: no warning"
	done

	make_in uninstall DESTDIR="$D" "${args[@]}"
	is "$MRC" 0 "PREFIX=$prefix: make uninstall DESTDIR=... exits 0"
	is "$(installed "$D")" "" "PREFIX=$prefix: make uninstall leaves no file"
done

# The pages in the tree are the ones installed; check them at other widths
# too, where a long word can fail to break.
for page in nbd-client.8 nbdtab.5; do
	for width in 60 80 120; do
		MANWIDTH=$width man --warnings -l "$TOP/$page" >/dev/null 2>"$T_TMP/man.err"
		is "$?:$(cat "$T_TMP/man.err")" "0:" "MANWIDTH=$width man --warnings -l $page: no warning"
	done
done

done_testing
