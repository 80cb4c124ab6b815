#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# 20-dracut.t: root on NBD with dracut, booted for real.
#
# `make install` (the real one, default PREFIX) puts our client and the
# dracut module nbd-client (/usr/lib/dracut/modules.d/95nbd-client, with
# /usr/lib/dracut/dracut.conf.d/50-nbd-client.conf that leaves dracut's own
# nbd module out) on this machine; the REAL dracut builds a generic image
# for Debian's kernel from them, as nbd-client(8) says:
#   dracut --no-hostonly --add "network-legacy nbd-client"
# (with the test's nbdtab and credentials in an overlay of /etc and a module
# tree reduced to what the boot needs: see tests/boot/lib.sh).  Then four
# boots under QEMU, each its own, the root an ext4 image served by nbdkit on
# the host's loopback and reached only through the locked-down guestfwd:
#   a  TLS with X.509 (CA + client certificate from nbdtab), root=/dev/nbd0;
#      the server starts a minute after the guest (the boot waits for it);
#      after switch_root the root's own client adopts the device from the
#      initramfs's process (--adopt), then the server is killed (-9) for
#      130 s (BOOT_OUTAGE) and restarted while the system writes and syncs:
#      every write lands, no I/O error, the root stays read-write
#      (sysctl.kernel.hung_task_timeout_secs=0: the writer and jbd2 are
#      meant to wait that long, and 6.1 logs call traces after 120 s)
#   b  TLS-PSK, root=nbds://...?tls-psk-file=alice.psk (/etc/nbd-client/)
#   c  dracut's own plaintext form, root=nbd:host:port/export:ext4
#   d  a wrong CA: the client's reason on the console, dracut's die, nothing
#      mounted, and the server saw no option but STARTTLS
# BOOT_ONLY=a,d runs only those boots (the image is always built).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/dracut-lib.sh"
boot_setup dracut lsinitrd nbdkit certtool psktool debugfs mkfs.ext4 unshare dash
T_ALL=${EPOCHREALTIME/[.,]/}
MOD=/usr/lib/dracut/modules.d/95nbd-client
CONF=/usr/lib/dracut/dracut.conf.d/50-nbd-client.conf
SBIN=/usr/local/sbin
SRC=$BOOT_TOP/scripts/dracut
BOOT_KEY_LINES+='|dracut: |dracut Warning|dracut-initqueue\[[0-9]+\]: .*nbd|reboot: |dhcp|DHCP'

# want X: boot X was not left out by BOOT_ONLY.
want() {
	case ",${BOOT_ONLY:-a,b,c,d}," in
	*",$1,"*) return 0 ;;
	esac
	echo "# boot $1: left out (BOOT_ONLY=$BOOT_ONLY)"
	return 1
}
rand() { od -An -N4 -tx1 /dev/urandom | tr -d ' \n'; }
sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
mode() { stat -c %a "$1" 2>/dev/null; }
# req TEXT: TEXT as an ERE that matches it literally
req() { printf '%s' "$1" | sed 's/[][\\.*^$?+(){}|]/\\&/g'; }

# --- make install ---------------------------------------------------------------
boot_make_install || {
	echo "Bail out! make install failed"
	exit 1
}
for f in module-setup.sh parse-nbd-client.sh nbd-client-root.sh nbd-client-generator.sh; do
	is "$(mode "$MOD/$f")" 755 "make install: $MOD/$f, mode 0755"
done
is "$(mode "$MOD/nbd-client-lib.sh"):$(sha "$MOD/nbd-client-lib.sh")" \
	"644:$(sha "$SRC/95nbd-client/nbd-client-lib.sh")" "make install: $MOD/nbd-client-lib.sh, mode 0644"
for f in parse-nbd-client.sh nbd-client-root.sh nbd-client-generator.sh; do
	is "$(sha "$MOD/$f")" "$(sha "$SRC/95nbd-client/$f")" "make install: $MOD/$f is scripts/dracut/95nbd-client/$f"
done
is "$(grep '^nbdc_host_bin=' "$MOD/module-setup.sh")" "nbdc_host_bin=\"$SBIN/nbd-client\"" \
	"module-setup.sh takes the installed client ($SBIN/nbd-client)"
is "$(mode "$CONF"):$(grep -v '^#' "$CONF")" '644:omit_dracutmodules+=" nbd "' \
	"make install: $CONF leaves dracut's nbd module out"

# --- the handler's decision, without booting (--print) -------------------------------
tab=$BOOT_WORK/print.nbdtab
printf '# dev host export opts\nnbd0 10.0.2.100 export cacertfile=/etc/nbd-tls/ca-cert.pem\n/dev/nbd3 h e\n' >"$tab"
cred=$BOOT_WORK/print-cred
mkdir -p "$cred"
print_is() {
	local cmdline=$1 want=$2 sh got
	for sh in dash "$VM_BUSYBOX sh"; do
		got=$(NBDC_CREDDIR=$cred $sh "$MOD/nbd-client-root.sh" --print "$tab" "$cmdline")
		got="$? $got"
		is "$got" "$want" "--print (${sh##*/}): $cmdline"
	done
}
C='-persist -swap -systemd-mark'
print_is 'root=/dev/sda1 ro quiet' '2 '
print_is 'root=/dev/nbd0 ip=dhcp' "0 nbd-client nbd0 $C"
print_is 'root=/dev/nbd3p2' "0 nbd-client nbd3 $C"
print_is 'root=/dev/nbd1' "1 root=/dev/nbd1: no line for nbd1 in $tab, and no netroot=nbd..."
print_is 'root=nbd:10.0.2.100:10809' "0 nbd-client 10.0.2.100 10809 /dev/nbd0 $C"
print_is 'root=nbd:srv:disk:ext4:ro' "0 nbd-client srv 10809 /dev/nbd0 -N disk $C"
print_is 'root=nbd:[fd00::1]:10810/disk:ext4::-b,4096' "0 nbd-client fd00::1 10810 /dev/nbd0 -N disk $C -b 4096"
print_is 'root=nbd:h:99999' "1 bad port '99999' in 'nbd:h:99999'"
print_is 'root=nbd::10809' "1 no server in 'nbd::10809'"
print_is 'root=nbds:srv:10809/root' "0 nbd-client srv 10809 /dev/nbd0 -N root $C -enable-tls"
print_is 'root=nbds:srv:10809/root:::--psk-file,/etc/nbd-client/a.psk' \
	"0 nbd-client srv 10809 /dev/nbd0 -N root $C -enable-tls --psk-file /etc/nbd-client/a.psk"
print_is 'root=nbds://h/root?tls-psk-file=a.psk' "0 nbd-client nbds://h/root?tls-psk-file=$cred/a.psk /dev/nbd0 $C"
print_is 'root=nbds://h/root' "0 nbd-client nbds://h/root /dev/nbd0 $C"
print_is 'netroot=nbd://h/disk root=/dev/nbd2p1' "0 nbd-client nbd://h/disk /dev/nbd2 $C"
print_is 'netroot=nbd:h:1 root=nbd:x:2' "0 nbd-client x 2 /dev/nbd0 $C"
print_is 'netroot=nfs:h:/x root=/dev/nbd3' "0 nbd-client nbd3 $C"
printf 'x\n' >"$cred/ca-cert.pem"
printf 'x\n' >"$cred/client-cert.pem"
printf 'x\n' >"$cred/client-key.pem"
print_is 'root=nbds:srv:10809/root' \
	"0 nbd-client srv 10809 /dev/nbd0 -N root $C -enable-tls -A $cred/ca-cert.pem -F $cred/client-cert.pem -K $cred/client-key.pem"
print_is 'root=nbds://h/root?tls-username=bob' "0 nbd-client nbds://h/root?tls-username=bob&tls-certificates=$cred /dev/nbd0 $C"
# nbdroot.dead_timeout= is -T (after the common options, before NBDOPTS);
# nbdroot.wait= changes no argument; bad values stop
print_is 'root=/dev/nbd0 nbdroot.dead_timeout=600' "0 nbd-client nbd0 $C -T 600"
print_is 'root=nbd:10.0.2.100:10809/export:ext4 nbdroot.dead_timeout=0060' "0 nbd-client 10.0.2.100 10809 /dev/nbd0 -N export $C -T 60"
print_is 'root=nbds:srv:10809/root:::-b,4096 nbdroot.dead_timeout=30' \
	"0 nbd-client srv 10809 /dev/nbd0 -N root $C -T 30 -enable-tls -A $cred/ca-cert.pem -F $cred/client-cert.pem -K $cred/client-key.pem -b 4096"
print_is 'root=nbd://h/disk nbdroot.dead_timeout=1 nbdroot.dead_timeout=2147483' "0 nbd-client nbd://h/disk /dev/nbd0 $C -T 2147483"
print_is 'root=/dev/nbd0 nbdroot.wait=0 nbdroot.wait=2147483' "0 nbd-client nbd0 $C"
boot_bad_waits

# --- the wait for the server (--attach: the handler's loop, with a stand-in client) --
fake=$BOOT_WORK/fake-nbd-client
boot_fake_client "$fake"
# attach_is SHELL FAILS MSG CMDLINE WANT: the handler's output and exit
# status, and the stand-in's runs, are WANT ("STATUS RUNS\nOUTPUT").
attach_is() {
	local sh=$1 got t0=${EPOCHREALTIME/[.,]/}
	rm -f "$fake.argv"
	got=$(FAKE_FAILS=$2 FAKE_MSG=$3 NBDC_BIN=$fake NBDC_CREDDIR=$cred $sh "$MOD/nbd-client-root.sh" --attach "$tab" "$4" 2>&1)
	got="$? $(wc -l <"$fake.argv")
$got"
	is "$got" "$5" "--attach (${sh##*/}): $4; the client fails $2 times: $3"
	echo "# ... took $(boot_secs_since "$t0")s"
}
H='nbd-client-root:'
A="$H attaching /dev/nbd0 to /etc/nbdtab's nbd0: $fake nbd0 $C"
W='(nbdroot.wait=SECONDS)'
D="nbd-client could not attach /dev/nbd0 to /etc/nbdtab's nbd0:"
refused='cannot connect to 10.0.2.100:10809: Connection refused'
closed="waiting for the server's greeting: the server 10.0.2.100:10809 closed the connection"
wrongca='TLS handshake with 10.0.2.100:10809 failed: the server certificate is not trusted: it is signed by an unknown CA (pass the right -cacertfile)'
for sh in dash "$VM_BUSYBOX sh"; do
	attach_is "$sh" 2 "$refused" 'root=/dev/nbd0 nbdroot.wait=30' "0 3
$A
$H waiting for the server 10.0.2.100:10809 (connection refused); retry in 1 s, giving up in 30 s $W
$H waiting for the server 10.0.2.100:10809 (connection refused); retry in 2 s, giving up in 29 s $W
Connected /dev/nbd0"
	# the bound: attempts at 0, 1 and 3 s, then die's message
	attach_is "$sh" 99 "$closed" 'root=/dev/nbd0 nbdroot.wait=3 nbdroot.dead_timeout=60' "1 3
$A -T 60
$H waiting for the server 10.0.2.100:10809 (connection closed); retry in 1 s, giving up in 3 s $W
$H waiting for the server 10.0.2.100:10809 (connection closed); retry in 2 s, giving up in 2 s $W
nbd-client: $closed
$D gave up waiting for the server after 3 s (nbdroot.wait=3): nbd-client: $closed"
	# what waiting cannot fix, and nbdroot.wait=0: one attempt, today's die
	attach_is "$sh" 99 "$wrongca" 'root=/dev/nbd0' "1 1
$A
nbd-client: $wrongca
$D nbd-client: $wrongca"
	attach_is "$sh" 99 "$refused" 'root=/dev/nbd0 nbdroot.wait=0' "1 1
$A
nbd-client: $refused
$D nbd-client: $refused"
done
# Which of the client's messages are waited out (one retry, then it attaches).
retry_is() {
	local got
	rm -f "$fake.argv"
	got=$(FAKE_FAILS=1 FAKE_MSG=$1 NBDC_BIN=$fake NBDC_CREDDIR=$cred dash "$MOD/nbd-client-root.sh" --attach "$tab" root=/dev/nbd0 2>&1)
	got="$? $(wc -l <"$fake.argv") $(printf '%s\n' "$got" | grep "^$H waiting")"
	is "$got" "$2" "--attach: nbd-client: $1"
}
for m in "cannot connect to [fd00::1]:10809: No route to host| [fd00::1]:10809 (no route to host)" \
	"cannot connect to 10.0.2.100:10809: Network is unreachable| 10.0.2.100:10809 (network unreachable)" \
	"cannot connect to 10.0.2.100:10809: Connection timed out| 10.0.2.100:10809 (timed out)" \
	"waiting for the server's greeting: read from 10.0.2.100:10809: Connection reset by peer| 10.0.2.100:10809 (connection reset)" \
	"waiting for the server's greeting: timed out after 30 s waiting for the server 10.0.2.100:10809 (raise it with -timeout)| 10.0.2.100:10809 (timed out)" \
	"TLS handshake: timed out: the whole negotiation with 10.0.2.100:10809 may take at most 90 s (3 x -timeout)| 10.0.2.100:10809 (timed out)" \
	"cannot resolve nbd.example.com:10809: Temporary failure in name resolution| nbd.example.com:10809 (name lookup failed)" \
	"NBD_OPT_GO: the server is shutting down; try again later| (shutting down)"; do
	retry_is "${m%|*}" "0 2 $H waiting for the server${m#*|}; retry in 1 s, giving up in 300 s $W"
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

# --- credentials, nbdtab, in an overlay of /etc ------------------------------------
boot_credentials "dracut boot test" ktls=off
boot_module_tree nbd tls gcm ctr ghash-generic ghash-clmulni-intel aesni-intel \
	chacha20poly1305 chacha-x86_64 poly1305-x86_64 virtio_net virtio_pci ext4 crc32c-intel

# --- the image, by the real dracut ------------------------------------------------------
IMG=$BOOT_WORK/initrd.img
DRACUT=(dracut --no-hostonly --add "network-legacy nbd-client" --force --kver "$BOOT_KVER" "$IMG")
echo "# ${DRACUT[*]}"
t0=${EPOCHREALTIME/[.,]/}
boot_in_ns "${DRACUT[@]}" >"$BOOT_LOGDIR/dracut.log" 2>&1
rc=$?
is "$rc" 0 "dracut exits 0"
echo "# dracut took $(boot_secs_since "$t0")s, $(stat -c %s "$IMG" 2>/dev/null) bytes; log $BOOT_LOGDIR/dracut.log"
[ "$rc" = 0 ] || {
	t_diag "" "$(tail -n 20 "$BOOT_LOGDIR/dracut.log")"
	echo "Bail out! no image"
	exit 1
}
is "$(grep -E 'dracut(\[[A-Z]\])?: (ERROR|FATAL|FAILED)|dracut-install: |nbd-client:' "$BOOT_LOGDIR/dracut.log")" "" \
	"dracut: no error, no failed install, and no warning of the module"
is "$(mode "$IMG")" 600 "the image is readable by root only (dracut's umask 077)"
mods=" $(grep -oE 'Including module: [^ ]+' "$BOOT_LOGDIR/dracut.log" | cut -d' ' -f3 | tr '\n' ' ') "
like "$mods" ' nbd-client .* ' "dracut included nbd-client"
like "$mods" ' network-legacy ' "... and network-legacy"
is "$([[ $mods == *' nbd '* ]] && echo yes)" "" "... and not its own nbd module (50-nbd-client.conf)"
is "$([[ $mods == *' systemd-networkd '* ]] && echo yes)" "" "... nor systemd-networkd (network-legacy came first)"

X=$BOOT_WORK/unpacked
mkdir -p "$X"
(cd "$X" && lsinitrd --unpack "$IMG" >/dev/null 2>&1)
R=$X
is "$("$R/usr/sbin/nbd-client" -V 2>&1)" "$("$SBIN/nbd-client" -V 2>&1)" "image: /usr/sbin/nbd-client is ours ($SBIN/nbd-client, stripped)"
for f in nbdroot nbdsroot nbdtabroot; do
	is "$(readlink "$R/usr/sbin/$f")" nbd-client-root "image: /sbin/$f is our handler"
done
is "$(sha "$R/usr/sbin/nbd-client-root")" "$(sha "$MOD/nbd-client-root.sh")" "image: /sbin/nbd-client-root is ours"
is "$(sha "$R/usr/lib/dracut/hooks/cmdline/90-parse-nbd-client.sh")" "$(sha "$MOD/parse-nbd-client.sh")" "image: our cmdline hook"
is "$(find "$R/usr/lib/dracut/hooks" -name '*parse-nbdroot*' | wc -l)" 0 "image: not dracut's parse-nbdroot.sh"
is "$(sha "$R/usr/lib/systemd/system-generators/dracut-nbd-client-generator")" "$(sha "$MOD/nbd-client-generator.sh")" \
	"image: our systemd generator"
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
is "$(sha "$R/etc/ssl/certs/ca-certificates.crt")" "$(sha /etc/ssl/certs/ca-certificates.crt)" "image: the system CA bundle"
rm -rf "$X"

# --- the roots and the servers ------------------------------------------------------
boot_rootfs "$BOOT_WORK/root"
boot_rootfs_client "$BOOT_WORK/root" "$SBIN/nbd-client" || echo "Bail out! cannot put the client in the root"
boot_ext4 "$BOOT_WORK/root.img" 64 "$BOOT_WORK/root" || echo "Bail out! mkfs.ext4 -d failed"
for b in a b c d; do cp --sparse=always "$BOOT_WORK/root.img" "$BOOT_WORK/$b.img"; done
boot_servers
COMMON_APPEND="ip=dhcp rw rd.info rd.retry=60"
# boot a starts its server this long after the guest (BOOT_SERVER_DELAY)
SERVER_DELAY=${BOOT_SERVER_DELAY:-60}
WAIT_LINE="$H waiting for the server 10.0.2.100:10809 (connection closed); retry in N s, giving up in N s (nbdroot.wait=SECONDS)"
WAIT_RE='(^|: )nbd-client-root: waiting for the server 10\.0\.2\.100:10809 \(connection closed\); retry in [0-9]+ s, giving up in [0-9]+ s \(nbdroot\.wait=SECONDS\)$'
echo "# the guest reaches only 10.0.2.100:10809 = 127.0.0.1:$BOOT_PORT on this machine (restrict=on, guestfwd)"

# boot_ok NAME TOKEN ROOTDEV_RE ARGV: the checks every good boot shares.
boot_ok() {
	local n=$1 tok=$2 rootdev=$3 argv=$4
	is "$BOOT_RC" 0 "boot $n: the guest powered off by itself (qemu status 0)"
	like "$(boot_console_grep "$n" 'nbd-client-root: attaching ')" "nbd-client-root: attaching /dev/nbd0 to .*: /usr/sbin/nbd-client $(req "$argv")\$" \
		"boot $n: the handler runs /usr/sbin/nbd-client $argv"
	like "$(boot_console_grep "$n" 'Connected /dev/nbd')" "(^|: )Connected /dev/nbd0\$" "boot $n: the client says Connected /dev/nbd0"
	like "$(boot_console_grep "$n" '^BOOT-INIT ')" "^BOOT-INIT root=$rootdev rw\$" "boot $n: the root mounted read-write runs /sbin/init"
	boot_console_has "$n" "BOOT-MARKER $BOOT_MARKER" "boot $n: the root's marker is printed"
	boot_console_has "$n" "BOOT-WROTE /boot-token $tok" "boot $n: the guest wrote its token"
	boot_console_has "$n" "BOOT-POWEROFF" "boot $n: the guest reached poweroff"
	boot_console_lacks "$n" 'BOOT-ERROR|I/O error|EXT4-fs error|Remounting filesystem read-only|Kernel panic|Call Trace|FATAL' \
		"boot $n: no I/O error, file system error, dracut FATAL or kernel trouble on the console"
	like "$(boot_console_grep "$n" '^BOOT-RESIDENT ')" "^BOOT-RESIDENT @[^ ]*nbd-client .*-systemd-mark" \
		"boot $n: after switch_root the client runs on, argv[0] marked @ (-systemd-mark)"
}

# server_opts NAME [N]: the options the server logged, in order, repeats
# merged; with N, those of its Nth start only.
server_opts() {
	awk -v n="${2:-0}" '/^=== .* start: /{i++} n == 0 || i == n' "$BOOT_WORK/$1.server.log" |
		grep -oE 'NBD_OPT_[A-Z_]+' | uniq | tr '\n' ' '
}

# --- a: TLS with X.509 from nbdtab; no server at first; the server killed and
# restarted after switch_root
if want a; then
	tok=a-$(rand)
	N=12
	# The guest boots with no server listening: the guestfwd's nc finds nothing
	# and closes each connection, and the handler waits.
	boot_start a "$IMG" "root=/dev/nbd0 $COMMON_APPEND boottest.token=$tok boottest.persist=$N boottest.sleep=1 boottest.adopt=1 sysctl.kernel.hung_task_timeout_secs=0" $((300 + SERVER_DELAY + ${BOOT_OUTAGE:-130}))
	t_wait=''
	if dracut_wait_console a "$WAIT_RE" "$SERVER_DELAY"; then
		t_wait=${EPOCHREALTIME/[.,]/}
	else
		echo "# boot a: no waiting line within ${SERVER_DELAY}s"
	fi
	boot_at "$SERVER_DELAY"
	boot_server_start a "${X509_SERVER[@]}" file "$BOOT_WORK/a.img"
	t_srv=${EPOCHREALTIME/[.,]/}
	echo "# boot a: server started $(boot_secs_since "$BOOT_START_T0")s after qemu"
	if dracut_wait_console a '(^|: )Connected /dev/nbd0$' 60 && [ -n "$t_wait" ]; then
		echo "# boot a: the attach waited $(boot_secs_since "$t_wait")s (first waiting line to Connected, seen from here), $(boot_secs_since "$t_srv")s of it after the server started"
	fi
	boot_outage a dracut_wait_console "${X509_SERVER[@]}" file "$BOOT_WORK/a.img"
	boot_wait a
	boot_server_stop
	boot_report a
	boot_ok a "$tok" /dev/nbd0 "nbd0 $C"
	is "$(boot_debugfs_cat "$BOOT_WORK/a.img" /boot-token)" "$tok" "boot a: the token is in the server's image"
	boot_outage_checks a "$tok" "$N" "$BOOT_WORK/a.img"
	like "$(server_opts a 1)" '^NBD_OPT_STARTTLS NBD_OPT_GO ' "boot a: the first server saw STARTTLS first, then GO (inside TLS)"
	like "$(server_opts a 2)" '^NBD_OPT_STARTTLS NBD_OPT_GO ' "boot a: the restarted server saw a new TLS negotiation (the reconnect)"
	like "$(cat "$BOOT_WORK/a.server.log")" "client requested export 'export'" "boot a: ... for the export of the nbdtab line"
	is "$(boot_console_grep a '^BOOT-NBDSTATE ')" "BOOT-NBDSTATE nbd0 link TLS proxy|TLS1.3, AES-256-GCM " \
		"boot a: the nbdtab's ktls=off: the root's connection goes through the TLS proxy (recorded in /run/nbd-client)"
	is "$(boot_console_grep a '^BOOT-RESIDENT .*(comm nbd-proxy)' | wc -l)" 1 "boot a: one proxy process after switch_root"
	boot_console_grep a '^BOOT-PERSIST' | sed 's/^/# boot a: /'
	# the wait: one line per retry, exact but for the numbers; the delays 1, 2,
	# 4, 8, then 10 s; the client's command line printed once
	waits=$(boot_console_grep a "$H waiting")
	boot_waiting_checks a handler "$waits"
	is "$(boot_console_grep a "$H attaching " | wc -l)" 1 "boot a: the handler printed the client's command line once"
	boot_console_lacks a 'could not attach|(^|: )nbd-client: (cannot|waiting)' "boot a: no failure from the handler, and none of the client's error lines (the waits show only the handler's line)"
	printf '%s\n' "$waits" | sed 's/^/# boot a: /'
fi

# --- b: TLS-PSK via an nbds:// URI, the PSK file named relative to /etc/nbd-client ----
if want b; then
	tok=b-$(rand)
	uri='nbds://10.0.2.100:10809/export?tls-psk-file=alice.psk'
	boot_server_start b "${PSK_SERVER[@]}" file "$BOOT_WORK/b.img"
	dracut_boot_run b "$IMG" "root=$uri $COMMON_APPEND boottest.token=$tok" 240
	boot_server_stop
	boot_ok b "$tok" '/dev/(root|nbd0)' "${uri/alice.psk//etc/nbd-client/alice.psk} /dev/nbd0 $C"
	is "$(boot_debugfs_cat "$BOOT_WORK/b.img" /boot-token)" "$tok" "boot b: the token is in the server's image"
	like "$(server_opts b)" '^NBD_OPT_STARTTLS NBD_OPT_GO ' "boot b: the server saw STARTTLS first, then GO"
fi

# --- c: dracut's own plaintext form ---------------------------------------------------
if want c; then
	tok=c-$(rand)
	boot_server_start c "${PLAIN_SERVER[@]}" file "$BOOT_WORK/c.img"
	dracut_boot_run c "$IMG" "root=nbd:10.0.2.100:10809/export:ext4 nbdroot.dead_timeout=600 $COMMON_APPEND boottest.token=$tok" 240
	boot_server_stop
	boot_ok c "$tok" '/dev/(root|nbd0)' "10.0.2.100 10809 /dev/nbd0 -N export $C -T 600"
	like "$(boot_console_grep c '^BOOT-RESIDENT ')" " -systemd-mark -T 600 " "boot c: nbdroot.dead_timeout=600 reached the resident client as -T 600"
	is "$(boot_debugfs_cat "$BOOT_WORK/c.img" /boot-token)" "$tok" "boot c: the token is in the server's image"
	like "$(cat "$BOOT_WORK/c.server.log")" "client requested export 'export'" "boot c: the server was asked for the export of root="
fi

# --- d: a wrong CA ----------------------------------------------------------------------
if want d; then
	boot_server_start d "${X509_SERVER[@]}" file "$BOOT_WORK/d.img"
	dracut_boot_run d "$IMG" "root=/dev/nbd1 $COMMON_APPEND" 240
	boot_server_stop
	is "$DRACUT_HALTED" 1 "boot d: the guest halted (dracut's die: systemctl --force halt)"
	like "$(boot_console_grep d 'nbd-client-root: attaching ')" "nbd-client-root: attaching /dev/nbd1 to .*: /usr/sbin/nbd-client nbd1 $C\$" \
		"boot d: the handler runs nbd-client nbd1 (the nbdtab line with the wrong CA)"
	reason="nbd-client: TLS handshake with 10.0.2.100:10809 failed: the server certificate is not trusted: it is signed by an unknown CA (pass the right -cacertfile)"
	like "$(boot_console_grep d ': nbd-client: TLS')" "(^|: )$(req "$reason")\$" \
		"boot d: the client's reason is on the console"
	like "$(boot_console_grep d 'FATAL: ')" "dracut: FATAL: nbd-client could not attach /dev/nbd1 to /etc/nbdtab's nbd1: $(req "$reason")\$" \
		"boot d: dracut's die, with the reason"
	boot_console_lacks d '^BOOT-|EXT4-fs \(nbd|Connected /dev/nbd|Mounted sysroot|Reached target.*Switch Root' \
		"boot d: nothing mounted, no switch_root, no init of the root"
	is "$(server_opts d)" "NBD_OPT_STARTTLS " "boot d: the server saw STARTTLS and nothing else: no NBD_OPT_GO or NBD_OPT_EXPORT_NAME in plaintext"
	like "$(cat "$BOOT_WORK/d.server.log")" 'starting TLS handshake' "boot d: ... and a TLS handshake that the client ended"
	is "$(grep -c 'starting TLS handshake' "$BOOT_WORK/d.server.log")" 1 "boot d: one attempt only: a refused certificate is not waited out"
	boot_console_lacks d 'nbd-client-root: waiting' "boot d: no waiting line"
fi

echo "# all of 20-dracut.t: $(boot_secs_since "$T_ALL")s"
done_testing
