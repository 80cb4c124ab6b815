#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 10-initramfs-tools.t: root on NBD with initramfs-tools, booted for real.
#
# `make install` (the real one, default PREFIX) puts our client, hook and
# local-top script on this machine; the REAL mkinitramfs builds an image for
# Debian's kernel from them (with a copy of the configuration whose
# MODULES=netboot, the test's nbdtab and credentials in an overlay of /etc,
# and a module tree reduced to what the boot needs: see tests/boot/lib.sh);
# if Debian's nbd-client package is installed, its hooks run too and the
# image must still hold our binary and our script.  Then five boots under
# QEMU, each its own, the root an ext4 image served by nbdkit on the host's
# loopback and reached only through the locked-down guestfwd:
#   a  TLS with X.509 (CA + client certificate from nbdtab), root=/dev/nbd0
#   b  the same, but the server starts a minute after the guest (the boot
#      waits for it); after switch_root the root's own client adopts the
#      device from the initramfs's process (--adopt), then the server is
#      killed (-9) for 130 s (BOOT_OUTAGE) and restarted while the system
#      writes and syncs: every write lands, no I/O error, the root stays rw
#      (sysctl.kernel.hung_task_timeout_secs=0: the writer and jbd2 are
#      meant to wait that long, and 6.1 logs call traces after 120 s)
#   c  TLS-PSK, nbdroot=nbds://...?tls-psk-file=/etc/nbd-client/alice.psk
#   d  the reference's plaintext nbdroot=host:port/export, root on a
#      partition (root=/dev/nbd0p1)
#   e  a wrong CA: the client's reason on the console, panic, nothing
#      mounted, and the server saw no option but STARTTLS
# a, b and c use kernel TLS (the default, --ktls=auto); 20-dracut.t's
# nbdtab says ktls=off, so its TLS boots go through the proxy.
# Every boot prints its kernel command line and key console lines as TAP
# comments; consoles and server logs stay in build/boot-logs/10-initramfs-tools/.
# BOOT_ONLY=b,e runs only those boots (the image is always built).
# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"
boot_setup mkinitramfs unmkinitramfs nbdkit certtool psktool debugfs mkfs.ext4 unshare
T_ALL=${EPOCHREALTIME/[.,]/}
IT=/etc/initramfs-tools
SBIN=/usr/local/sbin
BIN=$BOOT_TOP/build/nbd-client
BOOT_KEY_LINES+='|^IP-Config: .*complete'

# want X: boot X was not left out by BOOT_ONLY.
want() {
	case ",${BOOT_ONLY:-a,b,c,d,e}," in
	*",$1,"*) return 0 ;;
	esac
	echo "# boot $1: left out (BOOT_ONLY=$BOOT_ONLY)"
	return 1
}
rand() { od -An -N4 -tx1 /dev/urandom | tr -d ' \n'; }
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
mode() { stat -c %a "$1" 2>/dev/null; }

# --- make install ---------------------------------------------------------------
boot_make_install || {
	echo "Bail out! make install failed"
	exit 1
}
is "$(sha "$SBIN/nbd-client")" "$(sha "$BIN")" "make install: $SBIN/nbd-client is build/nbd-client"
for f in hooks/nbd-client scripts/local-top/nbd; do
	is "$(mode "$IT/$f")" 755 "make install: $IT/$f, mode 0755"
	is "$(sha "$IT/$f")" "$(sha "$BOOT_TOP/build/initramfs-tools/$f")" "make install: $IT/$f is scripts/initramfs-tools/$f with the paths filled in"
done
like "$(grep '^NBDC=' "$IT/hooks/nbd-client")" "^NBDC=$SBIN/nbd-client\$" "the hook takes the installed client"

# --- the local-top script's command line parsing (its --print dry run) -------------
tab=$BOOT_WORK/print.nbdtab
printf '# dev host export opts\nnbd0 10.0.2.100 export cacertfile=/etc/nbd-tls/ca-cert.pem\n/dev/nbd3 h e\n' >"$tab"
mkdir -p "$BOOT_WORK/noca"
print_is() {
	local cmdline=$1 want=$2 sh got
	for sh in dash "$VM_BUSYBOX sh"; do
		got=$(NBDCLIENT=nbd-client ROOTPATH=${RP:-} ROOTSERVER=${RS:-} \
			$sh "$IT/scripts/local-top/nbd" --print "$tab" "$cmdline")
		got="$? $got"
		is "$got" "$want" "local-top --print (${sh##*/}): $cmdline"
	done
}
C='-persist -swap -systemd-mark'
print_is 'root=/dev/sda1 ro quiet' '2 '
print_is 'root=/dev/nbd0' "0 nbd-client nbd0 $C"
print_is 'root=/dev/nbd3p2' "0 nbd-client nbd3 $C"
print_is 'root=/dev/nbd1' '1 no server for /dev/nbd1: no nbdroot= on the kernel command line, no nbd1 line in '"$tab"', no root-path from DHCP'
print_is 'root=/dev/nbd0p1 nbdroot=10.0.2.100:10809/export' "0 nbd-client 10.0.2.100 10809 /dev/nbd0 -N export $C"
print_is 'nbdroot=10.0.2.100,export,nbd2' "0 nbd-client 10.0.2.100 /dev/nbd2 -N export $C"
print_is 'root=/dev/nbd5 nbdroot=10.0.2.100,export,nbd2' "0 nbd-client 10.0.2.100 /dev/nbd5 -N export $C"
print_is 'nbdroot=10.0.2.100,10809,nbd2' "0 nbd-client 10.0.2.100 10809 /dev/nbd2 $C"
print_is 'nbdroot=10.0.2.100,10809,disk' "0 nbd-client 10.0.2.100 10809 /dev/nbd0 -N disk $C"
print_is 'nbdroot=[fd00::1]:10810/disk' "0 nbd-client fd00::1 10810 /dev/nbd0 -N disk $C"
print_is 'nbdroot=[fd00::1]:/srv/disk' "0 nbd-client fd00::1 /dev/nbd0 -N /srv/disk $C"
print_is 'nbdroot=host:/srv/disk' "0 nbd-client host /dev/nbd0 -N /srv/disk $C"
print_is 'nbdroot=host:99999/disk' "1 nbdroot=host:99999/disk: bad port '99999'"
print_is 'nbdroot=[fd00::1:10810/disk' '1 nbdroot=[fd00::1:10810/disk: no closing ] after the IPv6 address'
print_is 'nbdroot=dhcp' '1 nbdroot=dhcp, but DHCP gave no root-path'
RP=10.0.2.5,disk,nbd1 print_is 'nbdroot=dhcp' "0 nbd-client 10.0.2.5 /dev/nbd1 -N disk $C"
RS=10.0.2.2 print_is 'nbdroot=dhcp,disk,nbd1' "0 nbd-client 10.0.2.2 /dev/nbd1 -N disk $C"
RP=10.0.2.5:10809/disk print_is 'root=/dev/nbd2' "0 nbd-client 10.0.2.5 10809 /dev/nbd2 -N disk $C"
print_is 'root=/dev/nbd0 nbdroot=nbds://10.0.2.100:10809/export?tls-psk-file=/etc/nbd-client/alice.psk' \
	"0 nbd-client nbds://10.0.2.100:10809/export?tls-psk-file=/etc/nbd-client/alice.psk /dev/nbd0 $C"
print_is 'nbdroot=nbds://alice@h/disk?tls-psk-file=alice.psk&tls-username=x nbddev=nbd4' \
	"0 nbd-client nbds://alice@h/disk?tls-psk-file=/etc/nbd-client/alice.psk&tls-username=x /dev/nbd4 $C"
print_is 'nbdroot=nbd://h/disk' "0 nbd-client nbd://h/disk /dev/nbd0 $C"
print_is 'nbddev=sda' '1 nbddev=sda is not an nbd device'
# nbdroot.dead_timeout= is -T; nbdroot.wait= changes no argument; bad values stop
print_is 'root=/dev/nbd0 nbdroot.dead_timeout=600' "0 nbd-client nbd0 $C -T 600"
print_is 'root=/dev/nbd0p1 nbdroot=10.0.2.100:10809/export nbdroot.dead_timeout=0060' \
	"0 nbd-client 10.0.2.100 10809 /dev/nbd0 -N export $C -T 60"
print_is 'nbdroot=nbd://h/disk nbdroot.dead_timeout=1 nbdroot.dead_timeout=2147483' "0 nbd-client nbd://h/disk /dev/nbd0 $C -T 2147483"
print_is 'root=/dev/nbd0 nbdroot.wait=0 nbdroot.wait=2147483' "0 nbd-client nbd0 $C"
boot_bad_waits

# --- the wait for the server (--attach: the boot's loop, with a stand-in client) ----
fake=$BOOT_WORK/fake-nbd-client
boot_fake_client "$fake"
# attach_is SHELL FAILS MSG CMDLINE WANT: the script's output and exit
# status, and the stand-in's runs, are WANT ("STATUS RUNS\nOUTPUT").
attach_is() {
	local sh=$1 got t0=${EPOCHREALTIME/[.,]/}
	rm -f "$fake.argv"
	got=$(FAKE_FAILS=$2 FAKE_MSG=$3 NBDCLIENT=$fake $sh "$IT/scripts/local-top/nbd" --attach "$tab" "$4" 2>&1)
	got="$? $(wc -l <"$fake.argv")
$got"
	is "$got" "$5" "local-top --attach (${sh##*/}): $4; the client fails $2 times: $3"
	echo "# ... took $(boot_secs_since "$t0")s"
}
W='(nbdroot.wait=SECONDS)'
NOT="/dev/nbd0 is not attached; not mounting the root file system"
refused='cannot connect to 10.0.2.100:10809: Connection refused'
closed="waiting for the server's greeting: the server 10.0.2.100:10809 closed the connection"
wrongca='TLS handshake with 10.0.2.100:10809 failed: the server certificate is not trusted: it is signed by an unknown CA (pass the right -cacertfile)'
for sh in dash "$VM_BUSYBOX sh"; do
	attach_is "$sh" 2 "$refused" 'root=/dev/nbd0 nbdroot.wait=30' "0 3
nbd: $fake nbd0 $C
nbd: waiting for the server 10.0.2.100:10809 (connection refused); retry in 1 s, giving up in 30 s $W
nbd: waiting for the server 10.0.2.100:10809 (connection refused); retry in 2 s, giving up in 29 s $W
Connected /dev/nbd0"
	# the bound: attempts at 0, 1 and 3 s, then the panic's message
	attach_is "$sh" 99 "$closed" 'root=/dev/nbd0 nbdroot.wait=3 nbdroot.dead_timeout=60' "1 3
nbd: $fake nbd0 $C -T 60
nbd: waiting for the server 10.0.2.100:10809 (connection closed); retry in 1 s, giving up in 3 s $W
nbd: waiting for the server 10.0.2.100:10809 (connection closed); retry in 2 s, giving up in 2 s $W
nbd-client: $closed
nbd: gave up waiting for the server after 3 s (nbdroot.wait=3): $NOT"
	# what waiting cannot fix, and nbdroot.wait=0: one attempt, today's panic
	attach_is "$sh" 99 "$wrongca" 'root=/dev/nbd0' "1 1
nbd: $fake nbd0 $C
nbd-client: $wrongca
nbd: nbd-client failed (exit status 1): $NOT"
	attach_is "$sh" 99 "$refused" 'root=/dev/nbd0 nbdroot.wait=0' "1 1
nbd: $fake nbd0 $C
nbd-client: $refused
nbd: nbd-client failed (exit status 1): $NOT"
done
# Which of the client's messages are waited out (one retry, then it attaches).
retry_is() {
	local got
	rm -f "$fake.argv"
	got=$(FAKE_FAILS=1 FAKE_MSG=$1 NBDCLIENT=$fake dash "$IT/scripts/local-top/nbd" --attach "$tab" root=/dev/nbd0 2>&1)
	got="$? $(wc -l <"$fake.argv") $(printf '%s\n' "$got" | grep '^nbd: waiting')"
	is "$got" "$2" "local-top --attach: nbd-client: $1"
}
for m in "cannot connect to [fd00::1]:10809: No route to host| [fd00::1]:10809 (no route to host)" \
	"cannot connect to 10.0.2.100:10809: Network is unreachable| 10.0.2.100:10809 (network unreachable)" \
	"cannot connect to 10.0.2.100:10809: Connection timed out| 10.0.2.100:10809 (timed out)" \
	"waiting for the server's greeting: read from 10.0.2.100:10809: Connection reset by peer| 10.0.2.100:10809 (connection reset)" \
	"waiting for the server's greeting: timed out after 30 s waiting for the server 10.0.2.100:10809 (raise it with -timeout)| 10.0.2.100:10809 (timed out)" \
	"TLS handshake: timed out: the whole negotiation with 10.0.2.100:10809 may take at most 90 s (3 x -timeout)| 10.0.2.100:10809 (timed out)" \
	"cannot resolve nbd.example.com:10809: Temporary failure in name resolution| nbd.example.com:10809 (name lookup failed)" \
	"NBD_OPT_GO: the server is shutting down; try again later| (shutting down)"; do
	retry_is "${m%|*}" "0 2 nbd: waiting for the server${m#*|}; retry in 1 s, giving up in 300 s $W"
done
for m in "cannot resolve nbd.example.com:10809: Name or service not known" \
	"cannot connect to 10.0.2.100:10809: Permission denied" \
	"export 'root' does not exist on the server (list the exports with -list)" \
	"10.0.2.100:10809 is not an NBD server (bad greeting magic 0x6e633a2063616e27)" \
	"the server 10.0.2.100:10809 closed the TLS connection (did it reject our credentials?)" \
	"TLS handshake with 10.0.2.100:10809 failed: the server closed the connection (it may not accept our credentials)" \
	"invalid dead-connection timeout '0': expected a number from 1 to 2147483"; do
	retry_is "$m" "1 1 "
done

# --- credentials, nbdtab and the configuration, in an overlay of /etc --------------
boot_credentials "boot test"
# MODULES=netboot, and no UMASK: mkinitramfs's own 0022.
mkdir -p "$BOOT_ETC/initramfs-tools"
sed -e 's/^MODULES=.*/MODULES=netboot/' -e '/^UMASK=/d' "$IT/initramfs.conf" \
	>"$BOOT_ETC/initramfs-tools/initramfs.conf"
boot_module_tree nbd tls gcm ctr ghash-generic ghash-clmulni-intel aesni-intel \
	chacha20poly1305 chacha-x86_64 poly1305-x86_64 virtio_net virtio_pci ext4 crc32c-intel

# --- the image, by the real mkinitramfs --------------------------------------------------
IMG=$BOOT_WORK/initrd.img
t0=${EPOCHREALTIME/[.,]/}
boot_in_ns mkinitramfs -v -o "$IMG" "$BOOT_KVER" >"$BOOT_LOGDIR/mkinitramfs.log" 2>"$BOOT_WORK/mkinitramfs.err"
rc=$?
cp "$BOOT_WORK/mkinitramfs.err" "$BOOT_LOGDIR/mkinitramfs.err"
is "$rc" 0 "mkinitramfs exits 0"
echo "# mkinitramfs took $(boot_secs_since "$t0")s, $(stat -c %s "$IMG" 2>/dev/null) bytes; log $BOOT_LOGDIR/mkinitramfs.log"
[ "$rc" = 0 ] || {
	t_diag "" "$(tail -n 20 "$BOOT_WORK/mkinitramfs.err")"
	echo "Bail out! no image"
	exit 1
}
is "$(grep '^W: nbd-client' "$BOOT_WORK/mkinitramfs.err")" \
	"W: nbd-client: the initramfs will hold secrets (/etc/nbd-client/ /etc/nbd-tls/client-key.pem) and be readable by every user (umask 0022): set UMASK=0077 in /etc/initramfs-tools/initramfs.conf" \
	"the hook warns on stderr: secrets in a world-readable image"
is "$(mode "$IMG")" 644 "... and the image is indeed world-readable (0644)"
is "$(grep -E '^(E:|W:)' "$BOOT_WORK/mkinitramfs.err" | grep -v '^W: nbd-client' | grep -v 'Possible missing firmware')" "" "no other error or warning from mkinitramfs"
debian=n
if [ "$(dpkg-query -W -f='${Status}' nbd-client 2>/dev/null)" = "install ok installed" ]; then
	debian=y
	echo "# Debian's nbd-client package $(dpkg-query -W -f='${Version}' nbd-client) is installed: its hooks/nbd, hooks/nbd-client and scripts/local-top/nbd are in /usr/share/initramfs-tools"
	is "$(grep -c '^Calling hook nbd$' "$BOOT_LOGDIR/mkinitramfs.log")" 1 "Debian's hooks/nbd ran"
	is "$(grep -c '^Calling hook nbd-client$' "$BOOT_LOGDIR/mkinitramfs.log")" 2 "Debian's hooks/nbd-client and ours ran"
else
	echo "# Debian's nbd-client package is not installed: only our hook ran"
	is "$(grep -c '^Calling hook nbd-client$' "$BOOT_LOGDIR/mkinitramfs.log")" 1 "our hook ran"
fi

X=$BOOT_WORK/unpacked
mkdir -p "$X"
unmkinitramfs "$IMG" "$X"
R=$X
[ ! -d "$X/main" ] || R=$X/main
is "$(sha "$R/usr/sbin/nbd-client")" "$(sha "$SBIN/nbd-client")" "image: /usr/sbin/nbd-client is ours ($SBIN/nbd-client)"
if [ "$debian" = y ]; then
	isnt_debian=0
	[ "$(sha "$R/usr/sbin/nbd-client")" != "$(sha /usr/sbin/nbd-client)" ] && isnt_debian=1
	is "$isnt_debian" 1 "image: /usr/sbin/nbd-client is not Debian's"
fi
is "$(sha "$R/scripts/local-top/nbd")" "$(sha "$IT/scripts/local-top/nbd")" "image: scripts/local-top/nbd is ours"
like "$(cat "$R/scripts/local-top/ORDER" 2>/dev/null)" '/scripts/local-top/nbd "\$@"' "image: local-top/ORDER runs it"
for ko in drivers/block/nbd net/tls/tls crypto/gcm drivers/net/virtio_net; do
	is "$(find "$R/usr/lib/modules/$BOOT_KVER" -path "*/$ko.ko*" | wc -l)" 1 "image: module ${ko##*/}"
done
is "$(sha "$R/etc/nbdtab")" "$(sha "$BOOT_ETC/nbdtab")" "image: /etc/nbdtab"
for f in ca-cert.pem:644 wrong-ca.pem:644 client-cert.pem:644 client-key.pem:600; do
	is "$(mode "$R/etc/nbd-tls/${f%:*}"):$(sha "$R/etc/nbd-tls/${f%:*}")" \
		"${f#*:}:$(sha "$BOOT_ETC/nbd-tls/${f%:*}")" "image: /etc/nbd-tls/${f%:*}, named by nbdtab, mode 0${f#*:}"
done
is "$(mode "$R/etc/nbd-client"):$(mode "$R/etc/nbd-client/alice.psk"):$(sha "$R/etc/nbd-client/alice.psk")" \
	"700:600:$(sha "$BOOT_ETC/nbd-client/alice.psk")" "image: /etc/nbd-client/ whole, modes kept (0700, alice.psk 0600)"
is "$(sha "$R/etc/ssl/certs/ca-certificates.crt")" "$(sha /etc/ssl/certs/ca-certificates.crt)" \
	"image: the system CA bundle (an nbds:// URI without credentials uses system trust)"

# The hook alone, under the umask of UMASK=0077: no warning.
out=$(boot_in_ns env DESTDIR="$BOOT_WORK/hookdest" version="$BOOT_KVER" \
	MODULESDIR="/lib/modules/$BOOT_KVER" CONFDIR=$IT verbose=n MODULES=netboot \
	sh -c "mkdir -p \"\$DESTDIR\" && umask 0077 && $IT/hooks/nbd-client" 2>&1)
rc=$?
is "$rc:$out" "0:" "the hook run with umask 0077: exit 0, no warning"

# --- the roots and the server ------------------------------------------------------
boot_rootfs "$BOOT_WORK/root"
boot_rootfs_client "$BOOT_WORK/root" "$SBIN/nbd-client" || echo "Bail out! cannot put the client in the root"
boot_ext4 "$BOOT_WORK/root.img" 64 "$BOOT_WORK/root" || echo "Bail out! mkfs.ext4 -d failed"
boot_ext4 "$BOOT_WORK/d.img" 64 "$BOOT_WORK/root" part || echo "Bail out! partitioned image failed"
for b in a b c e; do cp --sparse=always "$BOOT_WORK/root.img" "$BOOT_WORK/$b.img"; done
boot_servers
COMMON_APPEND="ip=dhcp rw panic=1 quiet"
# boot b starts its server this long after the guest (BOOT_SERVER_DELAY)
SERVER_DELAY=${BOOT_SERVER_DELAY:-60}
WAIT_LINE="nbd: waiting for the server 10.0.2.100:10809 (connection closed); retry in N s, giving up in N s (nbdroot.wait=SECONDS)"
WAIT_RE='^nbd: waiting for the server 10\.0\.2\.100:10809 \(connection closed\); retry in [0-9]+ s, giving up in [0-9]+ s \(nbdroot\.wait=SECONDS\)$'
echo "# the guest reaches only 10.0.2.100:10809 = 127.0.0.1:$BOOT_PORT on this machine (restrict=on, guestfwd)"

# boot_ok NAME TOKEN ROOTDEV CLIENTCMD: the checks every good boot shares.
boot_ok() {
	local n=$1 tok=$2 rootdev=$3 cmd=$4
	is "$BOOT_RC" 0 "boot $n: the guest powered off by itself (qemu status 0)"
	boot_console_has "$n" "nbd: /usr/sbin/nbd-client $cmd" "boot $n: the script runs: nbd-client $cmd"
	boot_console_has "$n" "Connected /dev/nbd0" "boot $n: the client says Connected /dev/nbd0"
	boot_console_has "$n" "BOOT-INIT root=$rootdev rw" "boot $n: the root mounted read-write from $rootdev runs /sbin/init"
	boot_console_has "$n" "BOOT-MARKER $BOOT_MARKER" "boot $n: the root's marker is printed"
	boot_console_has "$n" "BOOT-WROTE /boot-token $tok" "boot $n: the guest wrote its token"
	boot_console_has "$n" "BOOT-POWEROFF" "boot $n: the guest reached poweroff"
	boot_console_lacks "$n" 'BOOT-ERROR|I/O error|EXT4-fs error|Remounting filesystem read-only|Kernel panic|Call Trace' \
		"boot $n: no I/O error, file system error or kernel trouble on the console"
	like "$(boot_console_grep "$n" '^BOOT-RESIDENT ')" "^BOOT-RESIDENT @[^ ]*nbd-client .*-systemd-mark" \
		"boot $n: after switch_root the client runs on, argv[0] marked @ (-systemd-mark)"
}

# server_saw NAME: the options the server logged, one a line.
server_opts() {
	grep -oE 'NBD_OPT_[A-Z_]+' "$BOOT_WORK/$1.server.log" | uniq | tr '\n' ' '
}

# --- a: TLS with X.509 from nbdtab --------------------------------------------------
if want a; then
	tok=a-$(rand)
	boot_server_start a "${X509_SERVER[@]}" file "$BOOT_WORK/a.img"
	boot_run a "$IMG" "root=/dev/nbd0 $COMMON_APPEND boottest.token=$tok" 180
	boot_server_stop
	boot_ok a "$tok" /dev/nbd0 "nbd0 $C"
	is "$(boot_debugfs_cat "$BOOT_WORK/a.img" /boot-token)" "$tok" "boot a: the token is in the server's image"
	like "$(server_opts a)" '^NBD_OPT_STARTTLS NBD_OPT_GO ' "boot a: the server saw STARTTLS first, then GO (inside TLS)"
	like "$(cat "$BOOT_WORK/a.server.log")" "client requested export 'export'" "boot a: ... for the export of the nbdtab line"
	is "$(boot_console_grep a '^BOOT-NBDSTATE ')" "BOOT-NBDSTATE nbd0 link kernel TLS|TLS1.3, AES-256-GCM " \
		"boot a: the root's connection is kernel TLS (--ktls=auto, the default; recorded in /run/nbd-client)"
	is "$(boot_console_grep a '(comm nbd-proxy)' | wc -l)" 0 "boot a: no proxy process after switch_root"
fi

# --- b: no server at first; after switch_root, the server is killed and restarted ----
if want b; then
	tok=b-$(rand)
	N=12
	# The guest boots with no server listening: the guestfwd's nc finds
	# nothing and closes each connection, and local-top/nbd waits.
	boot_start b "$IMG" "root=/dev/nbd0 $COMMON_APPEND boottest.token=$tok boottest.persist=$N boottest.sleep=1 boottest.adopt=1 sysctl.kernel.hung_task_timeout_secs=0" $((300 + SERVER_DELAY + ${BOOT_OUTAGE:-130}))
	t_wait=''
	if boot_wait_console b "$WAIT_RE" "$SERVER_DELAY"; then
		t_wait=${EPOCHREALTIME/[.,]/}
	else
		echo "# boot b: no waiting line within ${SERVER_DELAY}s"
	fi
	boot_at "$SERVER_DELAY"
	boot_server_start b "${X509_SERVER[@]}" file "$BOOT_WORK/b.img"
	t_srv=${EPOCHREALTIME/[.,]/}
	echo "# boot b: server started $(boot_secs_since "$BOOT_START_T0")s after qemu"
	if boot_wait_console b '^Connected /dev/nbd0$' 60 && [ -n "$t_wait" ]; then
		echo "# boot b: the attach waited $(boot_secs_since "$t_wait")s (first waiting line to Connected, seen from here), $(boot_secs_since "$t_srv")s of it after the server started"
	fi
	boot_outage b boot_wait_console "${X509_SERVER[@]}" file "$BOOT_WORK/b.img"
	boot_wait b
	boot_server_stop
	boot_report b
	boot_ok b "$tok" /dev/nbd0 "nbd0 $C"
	boot_outage_checks b "$tok" "$N" "$BOOT_WORK/b.img"
	# shellcheck disable=SC2016 # sed's $, not the shell's
	like "$(sed -n '/=== .* start/h; /=== .* start/!H; ${x;p}' "$BOOT_WORK/b.server.log" | grep -oE 'NBD_OPT_[A-Z_]+' | uniq | tr '\n' ' ')" \
		'^NBD_OPT_STARTTLS NBD_OPT_GO ' "boot b: the restarted server saw a new TLS negotiation (the reconnect)"
	boot_console_grep b '^BOOT-PERSIST' | sed 's/^/# boot b: /'
	# the wait: one line per retry, exact but for the numbers; the delays
	# 1, 2, 4, 8, then 10 s; the client's command line printed once
	waits=$(boot_console_grep b '^nbd: waiting')
	boot_waiting_checks b script "$waits"
	is "$(boot_console_grep b '^nbd: /usr/sbin/nbd-client ' | wc -l)" 1 "boot b: the script printed the client's command line once"
	boot_console_lacks b '^nbd: (gave up|nbd-client failed)|^nbd-client: ' "boot b: no failure from the script, and none of the client's error lines (the waits show only the script's line)"
	printf '%s\n' "$waits" | sed 's/^/# boot b: /'
fi

# --- c: TLS-PSK via an nbds:// URI ---------------------------------------------------
if want c; then
	tok=c-$(rand)
	uri='nbds://10.0.2.100:10809/export?tls-psk-file=/etc/nbd-client/alice.psk'
	boot_server_start c "${PSK_SERVER[@]}" file "$BOOT_WORK/c.img"
	boot_run c "$IMG" "root=/dev/nbd0 nbdroot=$uri $COMMON_APPEND boottest.token=$tok" 180
	boot_server_stop
	boot_ok c "$tok" /dev/nbd0 "$uri /dev/nbd0 $C"
	is "$(boot_debugfs_cat "$BOOT_WORK/c.img" /boot-token)" "$tok" "boot c: the token is in the server's image"
	like "$(server_opts c)" '^NBD_OPT_STARTTLS NBD_OPT_GO ' "boot c: the server saw STARTTLS first, then GO"
fi

# --- d: the reference's plaintext form, root on a partition ---------------------------
if want d; then
	tok=d-$(rand)
	boot_server_start d "${PLAIN_SERVER[@]}" file "$BOOT_WORK/d.img"
	boot_run d "$IMG" "root=/dev/nbd0p1 nbdroot=10.0.2.100:10809/export nbdroot.dead_timeout=600 $COMMON_APPEND boottest.token=$tok" 180
	boot_server_stop
	boot_ok d "$tok" /dev/nbd0p1 "10.0.2.100 10809 /dev/nbd0 -N export $C -T 600"
	like "$(boot_console_grep d '^BOOT-RESIDENT ')" " -systemd-mark -T 600 " "boot d: nbdroot.dead_timeout=600 reached the resident client as -T 600"
	is "$(boot_debugfs_cat "$BOOT_WORK/d.img" /boot-token part)" "$tok" "boot d: the token is in the server's image (partition 1)"
fi

# --- e: a wrong CA ----------------------------------------------------------------------
if want e; then
	boot_server_start e "${X509_SERVER[@]}" file "$BOOT_WORK/e.img"
	boot_run e "$IMG" "root=/dev/nbd1 $COMMON_APPEND" 180
	boot_server_stop
	is "$BOOT_RC" 0 "boot e: the guest rebooted by itself (panic=1 with -no-reboot: qemu status 0)"
	boot_console_has e "nbd: /usr/sbin/nbd-client nbd1 $C" "boot e: the script runs nbd-client nbd1 (the nbdtab line with the wrong CA)"
	boot_console_has e "nbd-client: TLS handshake with 10.0.2.100:10809 failed: the server certificate is not trusted: it is signed by an unknown CA (pass the right -cacertfile)" \
		"boot e: the client's reason is on the console"
	boot_console_has e "nbd: nbd-client failed (exit status 1): /dev/nbd1 is not attached; not mounting the root file system" \
		"boot e: the script panics"
	boot_console_has e "Rebooting automatically due to panic= boot argument" "boot e: initramfs-tools' panic (reboot, as panic= asks)"
	boot_console_lacks e '^BOOT-|EXT4-fs \(nbd|^Connected|Begin: Running /scripts/local-premount' "boot e: nothing mounted, no init of the root"
	opts=$(server_opts e)
	is "$opts" "NBD_OPT_STARTTLS " "boot e: the server saw STARTTLS and nothing else: no NBD_OPT_GO or NBD_OPT_EXPORT_NAME in plaintext"
	like "$(cat "$BOOT_WORK/e.server.log")" 'starting TLS handshake' "boot e: ... and a TLS handshake that the client ended"
	is "$(grep -c 'starting TLS handshake' "$BOOT_WORK/e.server.log")" 1 "boot e: one attempt only: a refused certificate is not waited out"
	boot_console_lacks e '^nbd: waiting' "boot e: no waiting line"
fi

echo "# all of 10-initramfs-tools.t: $(boot_secs_since "$T_ALL")s"
done_testing
