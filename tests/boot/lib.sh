# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034
# tests/boot/lib.sh: real boots with a root file system on NBD.
#
# An initramfs made by a REAL generator (mkinitramfs, dracut) from the files
# `make install` put on this machine boots Debian's kernel under QEMU; the
# root file system is an ext4 image that a server on the host's loopback
# serves.  The guest's network is QEMU user networking locked down: it
# reaches 10.0.2.100:10809, which is forwarded (one `busybox nc` per
# connection) to 127.0.0.1:$BOOT_PORT on the host, and nothing else:
#
#   -nic "user,model=virtio-net-pci,restrict=on,guestfwd=tcp:10.0.2.100:10809-cmd:sh -c 'exec busybox nc 127.0.0.1 $BOOT_PORT 2>/dev/null'"
#
# Never give a guest any other route out.  Servers bind 127.0.0.1 only.
# QEMU gives the command the guest's connection as stdin, stdout AND
# stderr: without 2>/dev/null, nc's "nc: can't connect to remote host"
# (no server listening) would reach the guest as the server's greeting
# ("not an NBD server (bad greeting magic 0x6e633a2063616e27)").  With it,
# a guest that connects while no server listens sees the connection
# closed before the greeting, as the nearest a forward can come to
# "connection refused".
#
# Sourcing this file also sources tests/lib.sh (TAP: is, like, t_result,
# t_diag, done_testing, make_pki, free_port, wait_port, bg) and
# tests/vm/lib.sh for its functions only (vm_find_release_kernel, vm_find_qemu,
# vm_find_busybox, vm_pick_accel: KVM only after a probe guest booted under
# it).  Nothing of tests/vm's initramfs builder is used.
#
# Typical .t script:
#
#   . "$(dirname "$0")/lib.sh"
#   boot_setup mkinitramfs            # skips unless root, kernel, qemu, tools
#   boot_make_install                 # the real `make install` (a TAP check)
#   make_pki "$BOOT_WORK/pki"; boot_server_cert "$BOOT_WORK/pki" "$BOOT_WORK/srv"
#   boot_etc_put nbdtab 0644 <<<"nbd0 10.0.2.100 export cacertfile=..."
#   boot_module_tree nbd tls virtio_net virtio_pci ext4
#   boot_in_ns mkinitramfs -o "$BOOT_WORK/initrd.img" "$BOOT_KVER"
#   boot_rootfs "$BOOT_WORK/root"; boot_ext4 "$BOOT_WORK/root.img" 32 "$BOOT_WORK/root"
#   boot_server_start a nbdkit --tls=require ... file "$BOOT_WORK/root.img"
#   boot_run a "$BOOT_WORK/initrd.img" "root=/dev/nbd0 ip=dhcp rw" 90
#   boot_console_is a "BOOT-MARKER $BOOT_MARKER" "the root's marker"
#   done_testing
#
# Functions (all bash; "NAME" is a boot's short name, used in file names):
#
#   boot_setup [CMD...]   Skip the whole test (1..0 # SKIP) unless running as
#                         root (make install into the system), with a kernel
#                         (/boot/vmlinuz-* with /lib/modules/<ver>; the
#                         newest not from backports, VM_KERNEL if set), qemu,
#                         static busybox and every CMD.  Sets BOOT_WORK (temp
#                         dir, removed at exit unless BOOT_KEEP=1),
#                         BOOT_KERNEL, BOOT_KVER, BOOT_LOGDIR
#                         (build/boot-logs/<test>), BOOT_PORT (a free port),
#                         BOOT_ETC (see boot_etc_put), BOOT_MARKER (a
#                         random string written into the root by
#                         boot_rootfs).
#   boot_locked CMD...    Run CMD holding /run/lock/nbdc-boot.lock: `make
#                         install` and image builds of parallel boot tests
#                         (prove -j, two people testing) do not interleave.
#   boot_make_install [MAKEARGS...]
#                         `make install` in the repository (locked), as one
#                         TAP check; its output goes to $BOOT_LOGDIR.
#   boot_etc_put PATH MODE
#                         stdin becomes /etc/PATH (mode MODE) for commands
#                         run by boot_in_ns; the host's /etc is not touched.
#   boot_etc_copy SRC PATH MODE
#                         the same from a file.
#   boot_credentials WHAT [OPTS]
#                         The PKI both boot tests use (make_pki in
#                         $BOOT_WORK/pki, server certificate for 10.0.2.100
#                         in $BOOT_WORK/srv), and in BOOT_ETC: an nbdtab
#                         ("# nbdtab of the WHAT", nbd0 with the right CA,
#                         client certificate and key, nbd1 with the wrong
#                         CA; OPTS added to both), /etc/nbd-tls/ with those files (key 0600),
#                         /etc/nbd-client/alice.psk (0600, directory 0700).
#                         Bails out if a certificate cannot be made.
#   boot_servers          X509_SERVER, PSK_SERVER, PLAIN_SERVER: nbdkit
#                         command lines (arrays) on 127.0.0.1:$BOOT_PORT
#                         with boot_credentials' certificates (client
#                         certificate required), its PSK file, or no TLS;
#                         append the plugin and its arguments.
#   boot_module_tree MOD...
#                         A reduced /lib/modules/$BOOT_KVER holding only
#                         MOD... and what they need (modprobe
#                         --show-depends, softdeps included), depmod'ed;
#                         boot_in_ns mounts it over the real one.  Without
#                         it a generator takes every network driver of the
#                         kernel (2-5 minutes here).  NBDC_BOOT_FULL_MODULES=1
#                         ignores it (the real tree).
#   boot_in_ns CMD...     Run CMD (locked) in a private mount namespace where
#                         /etc is an overlay of the host's /etc and BOOT_ETC,
#                         and the reduced module tree (if made) is mounted
#                         over /lib/modules/$BOOT_KVER.  Nothing leaks out.
#   boot_rootfs DIR       Stage a tiny root in DIR: static busybox and its
#                         links, /etc/os-release, /etc/boot-marker
#                         ($BOOT_MARKER), /sbin/init = tests/boot/root-init
#                         (see that file for its console lines and the
#                         boottest.* kernel parameters it reads).
#   boot_bad_waits        The refusals both boot scripts share, through
#                         the test's own print_is CMDLINE WANT: each bad
#                         nbdroot.dead_timeout= and nbdroot.wait= value
#                         named with its range (status 1), and neither
#                         read for a root that is not on NBD (status 2).
#   boot_waiting_checks NAME WHO WAITS
#                         The checks of a boot that waited for its server:
#                         WAITS (its waiting lines) each match $WAIT_RE
#                         ($WAIT_LINE), 3 or more of them (the server
#                         came $SERVER_DELAY s late; WHO, "script" or
#                         "handler", waited), retried after 1, 2, 4, 8,
#                         then every 10 s, the first with the default
#                         bound of 300 s.
#   boot_rootfs_client DIR BIN
#                         Install BIN (the installed client) in the root DIR
#                         as /usr/sbin/nbd-client, with the shared libraries
#                         it loads (ldd), and the nbdtab and credentials of
#                         BOOT_ETC in its /etc: what the root's own client
#                         needs to adopt the root device after switch_root
#                         (boottest.adopt=1) and reconnect it.
#   boot_outage NAME WAIT SERVER...
#                         After switch_root (boottest.persist=N, N >= 5,
#                         boottest.adopt=1): once write 3 is synced the
#                         server is killed (-9), left down BOOT_OUTAGE
#                         seconds (130: longer than the 120 s dead timeout
#                         that -persist alone has), and started again with
#                         SERVER...; then the poweroff is awaited.  WAIT is
#                         the console wait (boot_wait_console, or dracut's).
#                         Prints the figures (when write 4 landed) as TAP
#                         comments.
#   boot_outage_checks NAME TOKEN N IMG
#                         The checks of such a boot: the root's own client
#                         adopted the root device from the initramfs's
#                         process (which left), all N writes synced and
#                         in IMG, write 4 waited out the outage, and the root
#                         ended read-write with no I/O or ext4 error in the
#                         kernel log.
#   boot_ext4 IMG SIZE_MB DIR [PART]
#                         ext4 image of DIR (mkfs.ext4 -d); with PART=part,
#                         a disk image with one partition (from 1 MiB)
#                         holding it.
#   boot_debugfs_cat IMG PATH [PART]
#                         print a file of an ext4 image (PART=part: of the
#                         image's first partition) with debugfs.
#   boot_server_cert PKI OUT
#                         server certificate for 10.0.2.100 signed by
#                         make_pki's CA: OUT/{ca-cert,server-cert,server-key}.pem
#                         (nbdkit --tls-certificates=OUT).
#   boot_server_start NAME CMD...
#                         start a server (e.g. nbdkit -f -v -i 127.0.0.1 -p
#                         $BOOT_PORT ...) in the background, its output in
#                         $BOOT_WORK/NAME.server.log (appended: a restart
#                         keeps the history); waits until it listens.
#                         Sets BOOT_SERVER_PID.
#   boot_server_stop [SIGNAL]
#                         kill the server (default TERM; KILL for -9) and
#                         reap it.
#   boot_start NAME INITRD APPEND [TIMEOUT_S]
#                         boot the kernel with INITRD in the background; the
#                         console (ttyS0) goes to $BOOT_WORK/NAME.console and
#                         is copied to $BOOT_LOGDIR at the end.  APPEND is
#                         added after "console=ttyS0 random.trust_cpu=on";
#                         qemu is killed after TIMEOUT_S (default 120).
#                         -no-reboot: a reboot (panic=N) ends the VM.
#   boot_wait_console NAME REGEX [SECS]
#                         wait until a console line matches the ERE REGEX;
#                         returns 1 after SECS (default 60) or once qemu is
#                         gone without it.
#   boot_wait NAME        wait for qemu to end; sets BOOT_RC (qemu's status;
#                         124 if it was killed on its timeout) and BOOT_SECS.
#   boot_run NAME INITRD APPEND [TIMEOUT_S]
#                         boot_start + boot_wait + boot_report.
#   boot_at SECS          sleep until SECS seconds after the last boot_start
#                         (at once if that is past).
#   boot_fake_client PATH
#                         a stand-in for nbd-client at PATH, for the boot
#                         scripts' --attach modes: each run appends its
#                         arguments to PATH.argv (one line a run); while
#                         PATH.argv has fewer than $FAKE_FAILS lines it
#                         prints "nbd-client: $FAKE_MSG" on stderr and exits
#                         1, then it prints "Connected /dev/nbd0" and exits 0.
#   boot_console NAME     the console with CRs and escapes removed.
#   boot_console_has NAME LINE DESC
#                         TAP: some console line is exactly LINE.
#   boot_console_lacks NAME REGEX DESC
#                         TAP: no console line matches REGEX.
#   boot_console_grep NAME REGEX
#                         print the console lines matching REGEX.
#   boot_report NAME [REGEX]
#                         TAP comments: the kernel command line, qemu's
#                         status and time, and the console lines matching
#                         REGEX (default $BOOT_KEY_LINES).
#
# Knobs: BOOT_KEEP=1 keeps $BOOT_WORK; BOOT_VERBOSE=1 copies each console to
# stderr when its boot ends; BOOT_MEM (MiB, 768), BOOT_SMP (2); VM_KERNEL,
# VM_QEMU, NBDC_VM_ACCEL as in tests/vm (tcg, kvm, auto).

BOOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BOOT_TOP=$(cd "$BOOT_DIR/../.." && pwd)
# shellcheck source=/dev/null
. "$BOOT_DIR/../lib.sh"
# shellcheck source=/dev/null
. "$BOOT_DIR/../vm/lib.sh"

BOOT_LOCK=${BOOT_LOCK:-/run/lock/nbdc-boot.lock}
BOOT_WORK=''
BOOT_QEMU_PID=''
BOOT_SERVER_PID=''
BOOT_MODTREE=''
# Console lines boot_report shows by default.
BOOT_KEY_LINES='^(nbd|nbd-client|Connected|BOOT-|Rebooting|Begin: Mounting root|ALERT|Gave up|mount:|EXT4-fs \(nbd|block nbd|.*nbd[0-9]: |Kernel panic|Run /init)'

boot_skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

boot_setup() {
	local c
	[ "$(id -u)" = 0 ] || boot_skip_all "not root: the boot tests run 'make install' into this system"
	if [ -n "${VM_KERNEL:-}" ]; then
		[ -e "$VM_KERNEL" ] || boot_skip_all "no kernel image $VM_KERNEL"
	else
		compgen -G '/boot/vmlinuz-*' >/dev/null || boot_skip_all "no kernel image (/boot/vmlinuz-*)"
	fi
	vm_find_qemu || boot_skip_all "no ${VM_QEMU:-qemu-system-x86_64}"
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || boot_skip_all "no $c"
	done
	# One kernel: the release's own (Debian 12's 6.1 next to the 6.12
	# from bookworm-backports), whose generators make the images;
	# VM_KERNEL picks another.
	if ! vm_find_release_kernel; then
		echo "not ok 1 - a readable kernel image with /lib/modules/<version>/modules.dep"
		echo "1..1"
		exit 1
	fi
	if ! vm_find_busybox; then
		echo "not ok 1 - a static busybox (busybox-static) for the test root"
		echo "1..1"
		exit 1
	fi
	BOOT_KERNEL=$VM_KERNEL
	BOOT_KVER=$VM_KVER
	BOOT_NAME=${BOOT_NAME:-$(basename "$0" .t)}
	BOOT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/nbdc-boot-$BOOT_NAME.XXXXXX")
	chmod 700 "$BOOT_WORK"
	BOOT_LOGDIR=${BOOT_LOGDIR:-$BOOT_TOP/build/boot-logs/$BOOT_NAME}
	mkdir -p "$BOOT_LOGDIR"
	rm -f "$BOOT_LOGDIR"/*
	BOOT_ETC=$BOOT_WORK/etc-upper
	mkdir -p "$BOOT_ETC"
	BOOT_PORT=$(free_port)
	BOOT_MARKER="nbdc-boot-root-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	BOOT_T0=${EPOCHREALTIME/[.,]/}
	trap 'boot_cleanup; t_cleanup' EXIT
}

boot_cleanup() {
	[ -z "$BOOT_QEMU_PID" ] || { kill -9 "$BOOT_QEMU_PID" 2>/dev/null; wait "$BOOT_QEMU_PID" 2>/dev/null; }
	boot_server_stop KILL
	if [ -n "$BOOT_WORK" ] && [ -d "$BOOT_WORK" ]; then
		if [ "${BOOT_KEEP:-0}" = 1 ]; then
			echo "# kept $BOOT_WORK" >&2
		else
			rm -rf "$BOOT_WORK"
		fi
	fi
}

# boot_secs_since T0: seconds (x.yyy) since the EPOCHREALTIME digits T0.
boot_secs_since() {
	local ms=$(((${EPOCHREALTIME/[.,]/} - $1) / 1000))
	printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

boot_locked() {
	local fd rc
	mkdir -p "$(dirname "$BOOT_LOCK")"
	exec {fd}>>"$BOOT_LOCK"
	flock -w 1800 "$fd" || echo "# could not lock $BOOT_LOCK; going on" >&2
	"$@"
	rc=$?
	exec {fd}>&-
	return $rc
}

boot_make_install() {
	local t0=${EPOCHREALTIME/[.,]/} rc
	boot_locked make -C "$BOOT_TOP" --no-print-directory install "$@" \
		>"$BOOT_LOGDIR/make-install.log" 2>&1
	rc=$?
	is "$rc" 0 "make install ${*:+$* }(the real one) exits 0"
	if [ "$rc" != 0 ]; then
		t_diag "" "$(tail -n 30 "$BOOT_LOGDIR/make-install.log")"
	fi
	echo "# make install took $(boot_secs_since "$t0")s; log $BOOT_LOGDIR/make-install.log"
	return "$rc"
}

boot_etc_put() {
	local path=$1 mode=$2
	mkdir -p "$(dirname "$BOOT_ETC/$path")"
	cat >"$BOOT_ETC/$path"
	chmod "$mode" "$BOOT_ETC/$path"
}

boot_etc_copy() {
	boot_etc_put "$2" "$3" <"$1"
}

boot_credentials() {
	local pki=$BOOT_WORK/pki opts
	make_pki "$pki" || {
		echo "Bail out! cannot make certificates"
		exit 1
	}
	boot_server_cert "$pki" "$BOOT_WORK/srv" || {
		echo "Bail out! cannot make the server certificate for 10.0.2.100"
		exit 1
	}
	opts=cacertfile=/etc/nbd-tls/ca-cert.pem,certfile=/etc/nbd-tls/client-cert.pem,keyfile=/etc/nbd-tls/client-key.pem${2:+,$2}
	boot_etc_put nbdtab 0644 <<EOF
# nbdtab of the $1
nbd0 10.0.2.100 export port=10809,$opts
nbd1 10.0.2.100 export port=10809,${opts/ca-cert.pem/wrong-ca.pem}
EOF
	boot_etc_copy "$pki/ca/ca-cert.pem" nbd-tls/ca-cert.pem 0644
	boot_etc_copy "$pki/wrongca/ca-cert.pem" nbd-tls/wrong-ca.pem 0644
	boot_etc_copy "$pki/ca/client-cert.pem" nbd-tls/client-cert.pem 0644
	boot_etc_copy "$pki/ca/client-key.pem" nbd-tls/client-key.pem 0600
	boot_etc_copy "$pki/alice.psk" nbd-client/alice.psk 0600
	chmod 0700 "$BOOT_ETC/nbd-client"
}

boot_servers() {
	X509_SERVER=(nbdkit -f -v -i 127.0.0.1 -p "$BOOT_PORT" --tls=require --tls-certificates="$BOOT_WORK/srv" --tls-verify-peer)
	PSK_SERVER=(nbdkit -f -v -i 127.0.0.1 -p "$BOOT_PORT" --tls=require --tls-psk="$BOOT_WORK/pki/keys.psk")
	PLAIN_SERVER=(nbdkit -f -v -i 127.0.0.1 -p "$BOOT_PORT")
}

boot_module_tree() {
	local root=$BOOT_WORK/modtree kdir src rel ko f
	[ "${NBDC_BOOT_FULL_MODULES:-0}" = 1 ] && return 0
	src=$(readlink -f "/lib/modules/$BOOT_KVER")
	kdir=$root/lib/modules/$BOOT_KVER
	rm -rf "$root"
	mkdir -p "$kdir"
	# Both runs, as initramfs-tools does: --ignore-install shows the real
	# dependencies, the plain one the softdeps.
	{
		modprobe --all --set-version="$BOOT_KVER" --ignore-install --quiet --show-depends "$@"
		modprobe --all --set-version="$BOOT_KVER" --quiet --show-depends "$@"
	} 2>/dev/null | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r ko; do
		ko=$(readlink -f "$ko")
		rel=${ko#"$src"/}
		mkdir -p "$kdir/$(dirname "$rel")"
		cp -p "$ko" "$kdir/$rel"
	done
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[ -e "$src/$f" ] && cp -p "$src/$f" "$kdir/"
	done
	depmod -b "$root" "$BOOT_KVER" || return 1
	BOOT_MODTREE=$kdir
	echo "# reduced module tree for the generator: $(find "$kdir" -name '*.ko*' | wc -l) modules ($*, and what they need)"
}

# boot_in_ns CMD...: see the header.
boot_in_ns() {
	local up=$BOOT_ETC work=$BOOT_WORK/etc-work
	mkdir -p "$work"
	# shellcheck disable=SC2016 # expanded by the inner bash
	boot_locked unshare --mount --propagation private -- bash -c '
		set -e
		mount -t overlay nbdc-boot-etc -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc
		if [ -n "$3" ]; then mount --bind "$3" "/lib/modules/$4"; fi
		shift 4
		exec "$@"
	' boot_in_ns "$up" "$work" "$BOOT_MODTREE" "$BOOT_KVER" "$@"
}

boot_rootfs() {
	local d=$1 a
	mkdir -p "$d"/{bin,sbin,etc,dev,proc,sys,run,tmp,root,persist,usr/bin,usr/sbin}
	cp "$VM_BUSYBOX" "$d/bin/busybox"
	for a in $("$VM_BUSYBOX" --list); do
		[ "$a" = busybox ] || [ -e "$d/bin/$a" ] || ln "$d/bin/busybox" "$d/bin/$a"
	done
	install -m 0755 "$BOOT_DIR/root-init" "$d/sbin/init"
	printf 'PRETTY_NAME="nbdc boot test root"\nNAME="nbdc-boot-root"\nID=nbdc-boot-root\n' >"$d/etc/os-release"
	printf '%s\n' "$BOOT_MARKER" >"$d/etc/boot-marker"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$d/etc/passwd"
	printf 'root:x:0:\n' >"$d/etc/group"
	: >"$d/etc/fstab"
}

boot_waiting_checks() {
	local name=$1 who=$2 waits=$3 n got want d
	is "$(printf '%s\n' "$waits" | grep -Evc "$WAIT_RE")" 0 "boot $name: every waiting line is: ${WAIT_LINE}"
	n=$(printf '%s\n' "$waits" | grep -Ec "$WAIT_RE")
	like "$n" '^([3-9]|[1-9][0-9])$' "boot $name: the $who waited, retrying (3 or more waiting lines; ${SERVER_DELAY}s without a server)"
	got=$(printf '%s\n' "$waits" | sed -E 's/.*; retry in ([0-9]+) s, .*/\1/' | tr '\n' ' ')
	want=''
	d=1
	for _ in $(seq "$n"); do
		want+="$d "
		d=$((d * 2 > 10 ? 10 : d * 2))
	done
	is "$got" "$want" "boot $name: the retries come after 1, 2, 4, 8, then every 10 s"
	got=$(printf '%s\n' "$waits" | sed -E 's/.*giving up in ([0-9]+) s .*/\1/' | head -n 1)
	like "$got" '^(300|299)$' "boot $name: the first waiting line gives the default bound (nbdroot.wait=300)"
}

boot_bad_waits() {
	local w
	for w in nbdroot.dead_timeout=0 nbdroot.dead_timeout=2147484 nbdroot.dead_timeout=60s nbdroot.dead_timeout= nbdroot.dead_timeout=99999999999999999999; do
		print_is "root=/dev/nbd0 $w" "1 $w: not a number of seconds from 1 to 2147483"
	done
	for w in nbdroot.wait=-1 nbdroot.wait=2147484 nbdroot.wait=5m nbdroot.wait=; do
		print_is "root=/dev/nbd0 $w nbdroot.dead_timeout=60" "1 $w: not a number of seconds from 0 to 2147483"
	done
	print_is 'root=/dev/sda1 nbdroot.dead_timeout=x nbdroot.wait=x' '2 '
}

boot_rootfs_client() {
	local d=$1 bin=$2 lib
	install -D -m 0755 "$bin" "$d/usr/sbin/nbd-client" || return 1
	for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		mkdir -p "$d$(dirname "$lib")" && cp -L "$lib" "$d$lib" || return 1
	done
	cp -a "$BOOT_ETC/nbdtab" "$BOOT_ETC/nbd-tls" "$BOOT_ETC/nbd-client" "$d/etc/"
}

boot_outage() {
	local name=$1 wait=$2 outage=${BOOT_OUTAGE:-130} t_kill t_up
	shift 2
	if ! "$wait" "$name" '^BOOT-PERSIST 3 synced' 240; then
		echo "# boot $name: write 3 never came"
		return 1
	fi
	boot_server_stop KILL
	t_kill=${EPOCHREALTIME/[.,]/}
	echo "# boot $name: server killed (-9) after write 3; down for ${outage}s"
	sleep "$outage"
	boot_server_start "$name" "$@"
	t_up=${EPOCHREALTIME/[.,]/}
	if "$wait" "$name" '^BOOT-PERSIST 4 synced' 120; then
		echo "# boot $name: write 4 synced $(boot_secs_since "$t_up")s after the server came back, $(boot_secs_since "$t_kill")s after it was killed (seen from here)"
	else
		echo "# boot $name: write 4 did not sync within 120 s of the server's restart"
	fi
	"$wait" "$name" '^BOOT-POWEROFF' 200
}

boot_outage_checks() {
	local name=$1 tok=$2 n=$3 img=$4 i want='' got='' t3 t4
	like "$(boot_console_grep "$name" '^BOOT-ADOPT ')" '^BOOT-ADOPT Adopted /dev/nbd0 from pid [0-9]+, which has left rc=0$' \
		"boot $name: the root's own client adopted /dev/nbd0 from the initramfs's process, which left"
	is "$(boot_console_grep "$name" '^BOOT-ADOPTED-RESIDENT .*\(comm nbd-client\)$')" "" \
		"boot $name: after the adoption the initramfs's resident process (marked @) is gone (its proxies serve their connections to the end)"
	like "$(boot_console_grep "$name" '^BOOT-ADOPTED-MONITOR ')" '^BOOT-ADOPTED-MONITOR monitor [0-9]+ [0-9]+ exe /usr/sbin/nbd-client$' \
		"boot $name: /run/nbd-client/nbd0 names the new resident process, run from the root's /usr/sbin/nbd-client"
	is "$(boot_console_grep "$name" '^BOOT-PERSIST [0-9]+ synced' | wc -l)" "$n" \
		"boot $name: all $n writes after switch_root synced, across a ${BOOT_OUTAGE:-130}s outage"
	for i in $(seq "$n"); do
		want+="$tok $i;"
		got+="$(boot_debugfs_cat "$img" "/persist/$i");"
	done
	is "$got" "$want" "boot $name: all $n writes are in the server's image"
	t3=$(boot_console_grep "$name" '^BOOT-PERSIST 3 synced' | cut -d' ' -f4)
	t4=$(boot_console_grep "$name" '^BOOT-PERSIST 4 synced' | cut -d' ' -f4)
	like "$(awk -v a="${t3:-0}" -v b="${t4:-0}" 'BEGIN { printf "%.0f", b - a }')" '^(1[2-9][0-9]|[2-9][0-9][0-9])$' \
		"boot $name: write 4 waited out the outage (120 s or more after write 3, no error)"
	is "$(boot_console_grep "$name" '^BOOT-FINAL ')" "BOOT-FINAL root=/dev/nbd0 rw, kernel log: 0 I/O or ext4 errors" \
		"boot $name: the root is still read-write at the end, and the kernel logged no I/O or ext4 error"
	echo "# boot $name: write 3 at ${t3}s, write 4 at ${t4}s of guest uptime"
}

boot_ext4() {
	local img=$1 size=$2 dir=$3 part=${4:-} fs
	rm -f "$img"
	if [ "$part" = part ]; then
		fs=$img.fs
		rm -f "$fs"
		mkfs.ext4 -q -F -L nbdroot -d "$dir" "$fs" "${size}M" >/dev/null || return 1
		truncate -s $(((size + 2) * 1048576)) "$img" || return 1
		boot_mbr "$img" 2048 $((size * 2048)) || return 1
		dd if="$fs" of="$img" bs=1M seek=1 conv=notrunc,sparse status=none || return 1
		rm -f "$fs"
	else
		mkfs.ext4 -q -F -L nbdroot -d "$dir" "$img" "${size}M" >/dev/null
	fi
}

# boot_le32 N: N as four little-endian bytes, in printf's \x escapes.
boot_le32() {
	printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) \
		$((($1 >> 16) & 255)) $((($1 >> 24) & 255))
}

# boot_mbr IMG START SECTORS: a DOS partition table with one Linux
# partition (type 0x83) of SECTORS 512-byte sectors from sector START.
boot_mbr() {
	local img=$1 start=$2 n=$3
	{
		# status, CHS first (unused), type, CHS last (unused), LBA, count
		printf '\x00\xfe\xff\xff\x83\xfe\xff\xff'
		# shellcheck disable=SC2059 # the format is made of escapes
		printf "$(boot_le32 "$start")$(boot_le32 "$n")"
		head -c 48 /dev/zero
		printf '\x55\xaa'
	} | dd of="$img" bs=1 seek=446 conv=notrunc status=none
}

boot_debugfs_cat() {
	local img=$1 path=$2 part=${3:-} tmp
	if [ "$part" = part ]; then
		tmp=$(mktemp "$BOOT_WORK/part.XXXXXX")
		dd if="$img" of="$tmp" bs=1M skip=1 status=none
		debugfs -R "cat $path" "$tmp" 2>/dev/null
		rm -f "$tmp"
	else
		debugfs -R "cat $path" "$img" 2>/dev/null
	fi
}

boot_server_cert() {
	local pki=$1 out=$2
	mkdir -p "$out"
	printf 'organization = Test\ncn = nbd-root-server\nip_address = 10.0.2.100\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 2\n' >"$out/server.info"
	certtool -q --generate-privkey --outfile "$out/server-key.pem" 2>/dev/null &&
		certtool -q --generate-certificate --load-privkey "$out/server-key.pem" \
			--load-ca-certificate "$pki/ca/ca-cert.pem" --load-ca-privkey "$pki/ca/ca-key.pem" \
			--template "$out/server.info" --outfile "$out/server-cert.pem" 2>/dev/null &&
		cp "$pki/ca/ca-cert.pem" "$out/ca-cert.pem"
}

boot_server_start() {
	local name=$1
	shift
	{ echo "=== $(date +%T.%N) start: $*"; } >>"$BOOT_WORK/$name.server.log"
	"$@" >>"$BOOT_WORK/$name.server.log" 2>&1 &
	BOOT_SERVER_PID=$!
	wait_port "$BOOT_PORT"
}

boot_server_stop() {
	local sig=${1:-TERM}
	[ -n "$BOOT_SERVER_PID" ] || return 0
	kill -"$sig" "$BOOT_SERVER_PID" 2>/dev/null
	wait "$BOOT_SERVER_PID" 2>/dev/null
	BOOT_SERVER_PID=''
	return 0
}

boot_start() {
	local name=$1 initrd=$2 append=$3 timeout=${4:-120} cpu bios=()
	if ! vm_pick_accel; then
		echo "Bail out! $VM_ACCEL_WHY"
		exit 1
	fi
	if [ -z "${BOOT_ACCEL_TOLD:-}" ]; then
		echo "# VM kernel $BOOT_KVER ($BOOT_KERNEL), accelerator $VM_ACCEL: $VM_ACCEL_WHY"
		BOOT_ACCEL_TOLD=1
	fi
	export VM_ACCEL VM_ACCEL_WHY
	if [ "$VM_ACCEL" = kvm ]; then cpu=host; else cpu=max; fi
	if [ -n "${VM_BIOS:-}" ]; then
		bios=(-bios "$VM_BIOS")
	elif [ -f /usr/share/qemu/qboot.rom ]; then
		bios=(-bios /usr/share/qemu/qboot.rom)
	fi
	BOOT_APPEND="console=ttyS0 random.trust_cpu=on $append"
	printf '%s\n' "$BOOT_APPEND" >"$BOOT_WORK/$name.cmdline"
	: >"$BOOT_WORK/$name.console"
	BOOT_START_T0=${EPOCHREALTIME/[.,]/}
	timeout -k 5 "$timeout" "$VM_QEMU" \
		-accel "$VM_ACCEL" -cpu "$cpu" -m "${BOOT_MEM:-768}" -smp "${BOOT_SMP:-2}" \
		${bios[@]+"${bios[@]}"} -nodefaults -no-user-config -display none -monitor none \
		-no-reboot \
		-nic "user,model=virtio-net-pci,restrict=on,guestfwd=tcp:10.0.2.100:10809-cmd:sh -c 'exec busybox nc 127.0.0.1 $BOOT_PORT 2>/dev/null'" \
		-serial "file:$BOOT_WORK/$name.console" \
		-kernel "$BOOT_KERNEL" -initrd "$initrd" -append "$BOOT_APPEND" \
		</dev/null >"$BOOT_WORK/$name.qemu.log" 2>&1 &
	BOOT_QEMU_PID=$!
}

boot_console() {
	tr -d '\r' <"$BOOT_WORK/$1.console" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g'
}

boot_wait_console() {
	local name=$1 re=$2 secs=${3:-60} end
	end=$((SECONDS + secs))
	while [ "$SECONDS" -le "$end" ]; do
		if boot_console "$name" | grep -Eq -- "$re"; then
			return 0
		fi
		if [ -n "$BOOT_QEMU_PID" ] && ! kill -0 "$BOOT_QEMU_PID" 2>/dev/null; then
			boot_console "$name" | grep -Eq -- "$re"
			return
		fi
		sleep 0.2
	done
	return 1
}

boot_wait() {
	local name=$1
	wait "$BOOT_QEMU_PID"
	BOOT_RC=$?
	BOOT_QEMU_PID=''
	BOOT_SECS=$(boot_secs_since "$BOOT_START_T0")
	cp "$BOOT_WORK/$name.console" "$BOOT_LOGDIR/$name.console" 2>/dev/null
	cp "$BOOT_WORK/$name.cmdline" "$BOOT_LOGDIR/$name.cmdline" 2>/dev/null
	[ ! -s "$BOOT_WORK/$name.qemu.log" ] || cp "$BOOT_WORK/$name.qemu.log" "$BOOT_LOGDIR/"
	[ ! -e "$BOOT_WORK/$name.server.log" ] || cp "$BOOT_WORK/$name.server.log" "$BOOT_LOGDIR/"
	if [ "${BOOT_VERBOSE:-0}" = 1 ]; then
		{
			echo "--- console of boot $name:"
			boot_console "$name"
			echo "---"
		} >&2
	fi
}

boot_run() {
	boot_start "$@"
	boot_wait "$1"
	boot_report "$1"
}

boot_at() {
	local left=$(($1 * 1000000 - (${EPOCHREALTIME/[.,]/} - BOOT_START_T0)))
	[ "$left" -le 0 ] || sleep "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))"
}

boot_fake_client() {
	cat >"$1" <<'EOF'
#!/bin/sh
# stand-in for nbd-client (tests/boot/lib.sh, boot_fake_client)
n=0
[ ! -f "$0.argv" ] || n=$(wc -l <"$0.argv")
echo "$*" >>"$0.argv"
if [ "$n" -lt "${FAKE_FAILS:-0}" ]; then
	echo "nbd-client: $FAKE_MSG" >&2
	exit 1
fi
echo "Connected /dev/nbd0"
EOF
	chmod 0755 "$1"
	rm -f "$1.argv"
}

boot_report() {
	local name=$1 re=${2:-$BOOT_KEY_LINES} st=$BOOT_RC
	[ "$st" != 124 ] || st="124 (killed on its timeout)"
	echo "# boot $name: kernel command line: $(cat "$BOOT_WORK/$name.cmdline")"
	echo "# boot $name: qemu status $st after ${BOOT_SECS}s; console: $BOOT_LOGDIR/$name.console"
	boot_console "$name" | grep -E -- "$re" | sed "s/^/# boot $name console: /"
	if [ -s "$BOOT_WORK/$name.qemu.log" ]; then
		sed "s/^/# boot $name qemu: /" "$BOOT_WORK/$name.qemu.log"
	fi
}

boot_console_grep() {
	boot_console "$1" | grep -E -- "$2"
}

boot_console_has() {
	local name=$1 line=$2 desc=$3
	if boot_console "$name" | grep -Fxq -- "$line"; then
		t_result 1 "$desc"
	else
		t_result 0 "$desc"
		t_diag "want the console line: " "$line"
		t_diag "console tail: " "$(boot_console "$name" | tail -n 25)"
	fi
}

boot_console_lacks() {
	local name=$1 re=$2 desc=$3 got
	got=$(boot_console "$name" | grep -E -- "$re")
	if [ -z "$got" ]; then
		t_result 1 "$desc"
	else
		t_result 0 "$desc"
		t_diag "unwanted console lines: " "$got"
	fi
}
