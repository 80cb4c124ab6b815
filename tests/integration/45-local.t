#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Bad local input on the host: each case gets one exact line on stderr and
# the exit status nbd-client(8) documents (EXIT STATUS): unknown devices,
# device names with path tricks, ports out of range in every form, missing
# and unreadable files, not root, and an nbd module that is missing and
# cannot be loaded (this host has none; the cases that need a kernel with
# nbd are in tests/vm/55-hygiene.t).
. "$(dirname "$0")/../lib.sh"

# bad RC MSG ARGS...: exit RC, stderr exactly "nbd-client: MSG", no stdout
bad() {
	local rc=$1 want=$2
	shift 2
	nbdc "$@"
	expect_fail "$rc" "$want" "nbd-client $*"
	is "$OUT" "" "nbd-client $*: nothing on stdout"
}

# as_nobody RC MSG ARGS...: the same, run as an unprivileged user (only
# root can become one: skipped otherwise)
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
as_nobody() {
	local rc=$1 want=$2
	shift 2
	if [ "$(id -u)" != 0 ]; then
		T_N=$((T_N + 1))
		echo "ok $T_N - as nobody: nbd-client $* # SKIP not root"
		return
	fi
	if ! "${NOBODY[@]}" test -x "$NBDC"; then
		T_N=$((T_N + 1))
		echo "ok $T_N - as nobody: nbd-client $* # SKIP nobody cannot run $NBDC (a directory above it is private)"
		return
	fi
	timeout 20 "${NOBODY[@]}" "$NBDC" "$@" >"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	OUT=$(cat "$T_TMP/out")
	ERR=$(cat "$T_TMP/err")
	expect_fail "$rc" "$want" "as nobody: nbd-client $*"
	is "$OUT" "" "as nobody: nbd-client $*: nothing on stdout"
}

NOTNBD="is not an nbd device (expected /dev/nbdN)"
PORTRANGE="expected a number from 1 to 65535"
CLOSED=$(free_port)	# nothing listens there

# --- devices that are not nbd devices, and path tricks ------------------------
: >"$T_TMP/regular"
for d in /dev/sda "$T_TMP/regular" /dev/../etc/x /dev/nbd0/../x nbd0/.. \
	/dev/nbd0p1 /dev/nbd01; do
	bad 1 "'$d' $NOTNBD" 127.0.0.1 "$CLOSED" "$d"
	bad 1 "'$d' $NOTNBD" -d "$d"
done
# alone, a path is a device (nbdtab form), never a host to resolve
for d in /dev/sda /dev/../etc/x /dev/nbd0/../x nbd0/..; do
	bad 1 "'$d' $NOTNBD" "$d"
	# -c DEVICE: a command-line error is exit 1, like every other
	bad 1 "'$d' $NOTNBD" -c "$d"
done
bad 1 "'nbd0/..' $NOTNBD" -nonetlink 127.0.0.1 "$CLOSED" nbd0/..
printf 'nbd0/.. 127.0.0.1 disk\n' >"$T_TMP/tab"
bad 1 "'nbd0/..' $NOTNBD" --nbdtab "$T_TMP/tab" nbd0/..

# a host is never a path, and has no ':' unless it is an IPv6 address
bad 1 "'$T_TMP/sock' is not a host name or address (for a Unix socket use -unix PATH)" \
	--check "$T_TMP/sock"
bad 1 "'$T_TMP/sock' is not a host name or address (for a Unix socket use -unix PATH)" \
	"$T_TMP/sock" "$CLOSED" /dev/nbd0

# --- ports -----------------------------------------------------------------
for p in 0 65536 99999999999 000000; do
	bad 1 "invalid port '$p': $PORTRANGE" 127.0.0.1 "$p" /dev/nbd0
	bad 1 "invalid port '$p': $PORTRANGE" --check 127.0.0.1 "$p"
	bad 1 "invalid port '$p': $PORTRANGE" -l 127.0.0.1 "$p"
	# -p is -persist (as in the reference): the number is still the port
	bad 1 "invalid port '$p': $PORTRANGE" -p "$p" --check 127.0.0.1
	bad 1 "'127.0.0.1:$p' is not a host name or address (give the port as its own argument, host port, or use nbd://host:port/export)" \
		--check "127.0.0.1:$p"
	bad 1 "invalid port '$p' in NBD URI 'nbd://127.0.0.1:$p/x' (must be a number from 1 to 65535)" \
		--check "nbd://127.0.0.1:$p/x"
done
for p in abc -1 ''; do
	bad 1 "invalid port '$p' in NBD URI 'nbds://127.0.0.1:$p/x' (must be a number from 1 to 65535)" \
		--check "nbds://127.0.0.1:$p/x"
done
bad 1 "'abc' $NOTNBD" 127.0.0.1 abc /dev/nbd0
bad 1 "unexpected argument 'abc'" --check 127.0.0.1 abc
bad 1 "unknown option '-1' (see nbd-client -help)" 127.0.0.1 -1 /dev/nbd0
bad 1 "unknown option '-1' (see nbd-client -help)" -l 127.0.0.1 -1
# there is no -port (nor in the reference): -p -o -r -t, and 'o' is unknown
bad 1 "unknown option '-o' in '-port' (see nbd-client -help)" -port 10809 --check 127.0.0.1
bad 1 "unknown option '-o' in '-port' (see nbd-client -help)" --check 127.0.0.1 -port 10809
bad 1 "unknown option '-Z' in '-xZ' (see nbd-client -help)" -xZ 127.0.0.1
bad 1 "'127.0.0.1:abc' is not a host name or address (give the port as its own argument, host port, or use nbd://host:port/export)" \
	127.0.0.1:abc /dev/nbd0
for p in 0 65536 abc; do
	printf 'nbd0 127.0.0.1 disk port=%s\n' "$p" >"$T_TMP/tab"
	bad 1 "$T_TMP/tab:1: invalid port=$p (must be 1 to 65535)" --nbdtab "$T_TMP/tab" nbd0
done

# --- missing and unreadable files ---------------------------------------------
PKI=$T_TMP/pki
make_pki "$PKI" || { echo "Bail out! cannot make test certificates"; exit 1; }
CA=$PKI/ca/ca-cert.pem
CERT=$PKI/ca/client-cert.pem
KEY=$PKI/ca/client-key.pem
NONE=$T_TMP/none
NOENT="No such file or directory"
bad 1 "cannot read $NONE: $NOENT" --nbdtab "$NONE" nbd0
bad 1 "cannot read $T_TMP: Is a directory" --nbdtab "$T_TMP" nbd0
bad 1 "cannot read CA certificate file '$NONE': $NOENT" --check 127.0.0.1 "$CLOSED" -A "$NONE"
bad 1 "cannot read client certificate '$NONE': $NOENT" --check 127.0.0.1 "$CLOSED" -A "$CA" -F "$NONE" -K "$KEY"
bad 1 "cannot read client key '$NONE': $NOENT" --check 127.0.0.1 "$CLOSED" -A "$CA" -F "$CERT" -K "$NONE"
bad 1 "cannot read PSK file '$NONE': $NOENT" --check 127.0.0.1 "$CLOSED" --psk-file "$NONE"
bad 1 "PSK file '$T_TMP' is a directory, not a file" --check 127.0.0.1 "$CLOSED" --psk-file "$T_TMP"
bad 1 "cannot read TLS certificate directory '$NONE': $NOENT" --check "nbds://127.0.0.1:$CLOSED/x?tls-certificates=$NONE"
bad 1 "cannot read PSK file '$NONE': $NOENT" --check "nbds://127.0.0.1:$CLOSED/x?tls-psk-file=$NONE"
# the same when attaching (credentials are loaded before connecting)
bad 1 "cannot read CA certificate file '$NONE': $NOENT" -A "$NONE" 127.0.0.1 "$CLOSED" /dev/nbd0
bad 1 "cannot read PSK file '$NONE': $NOENT" --psk-file "$NONE" -persist 127.0.0.1 "$CLOSED" /dev/nbd0

# unreadable: root reads everything, so as nobody (the files stay root's, 0600)
chmod 755 "$T_TMP" "$PKI" "$PKI/ca"
cp "$CA" "$T_TMP/ca.pem"
cp "$CERT" "$T_TMP/cert.pem"
cp "$KEY" "$T_TMP/key.pem"
cp "$PKI/alice.psk" "$T_TMP/alice.psk"
printf 'nbd0 127.0.0.1 disk\n' >"$T_TMP/tab"
chmod 600 "$T_TMP"/{ca,cert,key}.pem "$T_TMP/alice.psk" "$T_TMP/tab"
chmod 644 "$CA" "$CERT"
DENIED="Permission denied"
as_nobody 1 "cannot read $T_TMP/tab: $DENIED" --nbdtab "$T_TMP/tab" nbd0
as_nobody 1 "cannot read CA certificate file '$T_TMP/ca.pem': $DENIED" --check 127.0.0.1 "$CLOSED" -A "$T_TMP/ca.pem"
as_nobody 1 "cannot read client certificate '$T_TMP/cert.pem': $DENIED" --check 127.0.0.1 "$CLOSED" -A "$CA" -F "$T_TMP/cert.pem" -K "$T_TMP/key.pem"
as_nobody 1 "cannot read client key '$T_TMP/key.pem': $DENIED" --check 127.0.0.1 "$CLOSED" -A "$CA" -F "$CERT" -K "$T_TMP/key.pem"
as_nobody 1 "cannot read PSK file '$T_TMP/alice.psk': $DENIED" -l 127.0.0.1 "$CLOSED" --psk-file "$T_TMP/alice.psk"

# --- not root --------------------------------------------------------------------
# Refused before connecting: nothing listens on $CLOSED, so a client that
# tried would say "cannot connect".
ROOTONLY="(the kernel requires CAP_SYS_ADMIN)"
as_nobody 1 "only root can attach an nbd device $ROOTONLY" 127.0.0.1 "$CLOSED" /dev/nbd0
as_nobody 1 "only root can attach an nbd device $ROOTONLY" "nbd://127.0.0.1:$CLOSED/x"
as_nobody 1 "only root can attach an nbd device $ROOTONLY" -persist -nofork 127.0.0.1 "$CLOSED" /dev/nbd0
as_nobody 1 "only root can attach an nbd device $ROOTONLY" -nonetlink 127.0.0.1 "$CLOSED" /dev/nbd0
as_nobody 1 "only root can disconnect an nbd device $ROOTONLY" -d /dev/nbd0
as_nobody 1 "only root can adopt an nbd device $ROOTONLY" --adopt /dev/nbd0
# what needs no root still works for anyone
as_nobody 1 "cannot connect to 127.0.0.1:$CLOSED: Connection refused" --check 127.0.0.1 "$CLOSED"

# --- no nbd module, and none to load ------------------------------------------------
# This host's kernel has no nbd (tests/vm/README.md): an attach that reaches
# the kernel step says so in one line, whatever the mode.  On a host that
# has the module these would attach for real: skipped there.
if [ -e /sys/module/nbd ] || modinfo nbd >/dev/null 2>&1; then
	echo "ok $((T_N + 1)) - no-module cases # SKIP this host has an nbd module"
	T_N=$((T_N + 1))
elif [ "$(id -u)" != 0 ]; then
	echo "ok $((T_N + 1)) - no-module cases # SKIP not root (attaching needs root)"
	T_N=$((T_N + 1))
else
	P=$(free_port)
	bg nbdkit -f -i 127.0.0.1 -p "$P" memory 1M
	wait_port "$P"
	NOMOD="cannot load the nbd kernel module: no nbd module for kernel $(uname -r) (kernel built without CONFIG_BLK_DEV_NBD, or its modules are not installed)"
	bad 1 "$NOMOD" 127.0.0.1 "$P" /dev/nbd0
	bad 1 "$NOMOD" 127.0.0.1 "$P" /dev/nbd99999
	bad 1 "$NOMOD" "nbd://127.0.0.1:$P/"
	bad 1 "$NOMOD" -persist 127.0.0.1 "$P" /dev/nbd0
	bad 1 "$NOMOD" -nofork 127.0.0.1 "$P" /dev/nbd0
	bad 1 "$NOMOD" --list-devices
	# -nonetlink loads no module, and finds no device
	bad 1 "cannot open /dev/nbd0: $NOENT (is the nbd module loaded? try modprobe nbd)" \
		-nonetlink 127.0.0.1 "$P" /dev/nbd0
	# -d and -c load no module: without one no device exists or is connected
	bad 1 "cannot open /dev/nbd99999: $NOENT (is the nbd module loaded? try modprobe nbd)" \
		-d /dev/nbd99999
	nbdc -c /dev/nbd0
	is "$RC" 1 "-c /dev/nbd0 without the module: exit 1 (not connected)"
	is "$ERR$OUT" "" "-c /dev/nbd0 without the module: prints nothing"
	nbdc -c /dev/nbd99999
	is "$RC" 1 "-c /dev/nbd99999 without the module: exit 1 (not connected)"
	is "$ERR$OUT" "" "-c /dev/nbd99999 without the module: prints nothing"
	# --status answers as -c does, and says so
	nbdc --status /dev/nbd0
	is "$RC" 1 "--status /dev/nbd0 without the module: exit 1 (not connected)"
	is "$OUT" "/dev/nbd0: not connected" "--status /dev/nbd0 without the module: says so"
	is "$ERR" "" "--status /dev/nbd0 without the module: nothing on stderr"
	nbdc --status nbd3 --json
	is "$RC" 1 "--status nbd3 --json without the module: exit 1"
	is "$OUT" '{"device": "/dev/nbd3", "index": 3, "connected": false, "backend": null}' \
		"--status nbd3 --json without the module: one object"
	is "$ERR" "" "--status nbd3 --json without the module: nothing on stderr"
	# --adopt loads no module either: without one nothing is connected
	bad 1 "/dev/nbd0 is not connected: nothing to adopt" --adopt /dev/nbd0
fi

done_testing
