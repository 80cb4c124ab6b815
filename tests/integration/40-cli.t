#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Command-line handling: every bad argument gets one exact line on stderr and
# exit 1, before anything is sent; compatible spellings are accepted.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../hostile/lib.sh"

bad() {
	local want=$1
	shift
	nbdc "$@"
	expect_fail 1 "$want" "nbd-client $*"
	is "$OUT" "" "nbd-client $*: nothing on stdout"
}

bad "unknown option '-Z' (see nbd-client -help)" -Z
bad "option '-N' needs an argument" -N
bad "option '--check' needs an argument" --check
bad "invalid block size '1000': must be 512, 1024, 2048 or 4096" -b 1000 host
bad "invalid block size '8192': must be 512, 1024, 2048 or 4096" -block-size 8192 host
bad "invalid number of connections '0': expected a number from 1 to 64" -C 0 host
bad "invalid number of connections '65': expected a number from 1 to 64" --connections 65 host
bad "invalid timeout 'abc': expected a number from 1 to 2147483" -t abc host
bad "invalid timeout '-1': expected a number from 1 to 2147483" -timeout -1 host
bad "invalid timeout '4000000': expected a number from 1 to 2147483" -t 4000000 host
bad "'/dev/sda' is not an nbd device (expected /dev/nbdN)" host 10809 /dev/sda
bad "'/dev/sda' is not an nbd device (expected /dev/nbdN)" -d /dev/sda
bad "option '-d' needs an argument" -d
bad "no server given (see nbd-client -help)"
bad "unknown query parameter 'foo' in NBD URI 'nbd://h/x?foo=1'; known: socket, tls-certificates, tls-psk-file, tls-username" "nbd://h/x?foo=1"
bad "-unix cannot be combined with an NBD URI (use nbd+unix:///export?socket=PATH)" -u nbd://h/x /dev/nbd0
bad "-preinit skips negotiation, so it cannot be combined with TLS" -P -x h 10809 /dev/nbd0
bad "-preinit needs the size: pass -size BYTES" -preinit h 10809 /dev/nbd0
bad "the ioctl interface (-nonetlink) needs a device, e.g. /dev/nbd0" -L h 10809
bad "-connections needs the netlink interface; drop -nonetlink" -nonetlink -C 2 h 10809 /dev/nbd0
bad "-persist needs the netlink interface (NBD_CMD_RECONFIGURE); drop -nonetlink" -persist -nonetlink h 10809 /dev/nbd0
bad "unexpected argument '2'" -l h 1 2
bad "unexpected argument 'extra'" -c nbd0 extra
bad "unexpected argument 'extra'" --status nbd0 extra
bad "option '--status' needs an argument" --status
bad "option '--nbdtab' needs an argument" --nbdtab
bad "'/dev/sda' is not an nbd device (expected /dev/nbdN)" --status /dev/sda
# --adopt DEV: only -nofork may come with it (the device is reconnected
# with the options it was attached with, which the attach recorded)
bad "option '--adopt' needs an argument" --adopt
bad "--adopt needs an nbd device (e.g. /dev/nbd0)" --adopt -nofork
bad "'/dev/sda' is not an nbd device (expected /dev/nbdN)" --adopt /dev/sda
bad "unexpected argument 'nbd1'" --adopt nbd0 nbd1
bad "--adopt takes no option but -nofork (not -persist): the device is reconnected as it was attached" --adopt nbd0 -persist
bad "--adopt takes no option but -nofork (not -cacertfile): the device is reconnected as it was attached" -A ca.pem --adopt nbd0
# -st is -swap -timeout, as in the reference (not an abbreviation of --status)
bad "invalid timeout '0': expected a number from 1 to 2147483" -st 0 host
bad "cannot read $T_TMP/none: No such file or directory" --nbdtab "$T_TMP/none" nbd0
printf 'nbd0 host\n' >"$T_TMP/tab"
bad "$T_TMP/tab:1: missing export name for nbd0" --nbdtab "$T_TMP/tab" nbd0
printf 'nbd0 host disk\n' >"$T_TMP/tab"
bad "$T_TMP/tab has no entry for /dev/nbd1" --nbdtab "$T_TMP/tab" /dev/nbd1
bad "cannot read CA certificate file '$T_TMP/none.pem': No such file or directory" --check h -A "$T_TMP/none.pem"
bad "cannot read PSK file '$T_TMP/none.psk': No such file or directory" h 10809 /dev/nbd0 --psk-file "$T_TMP/none.psk"
bad "choose either a PSK (--psk-file) or certificates (-cacertfile/-certfile/-keyfile), not both" -l h --psk-file "$T_TMP/tab" -A "$T_TMP/tab"

# -no-optgo cannot go with TLS (NBD_OPT_EXPORT_NAME has no way to refuse in
# plaintext what TLS requires): refused before connecting.  The server serves
# one connection, in order of arrival, so if it still greets a newcomer after
# the client exited, the client never connected.
greeted() {
	# shellcheck disable=SC2016 # $1 is expanded by the inner bash
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && head -c 16 <&3' _ "$1" 2>/dev/null
}
NOOPTGO="-no-optgo (NBD_OPT_EXPORT_NAME) cannot be used with TLS, which requires NBD_OPT_GO; drop -no-optgo"
printf 'alice:00112233445566778899aabbccddeeff\n' >"$T_TMP/alice.psk" && chmod 600 "$T_TMP/alice.psk"
hostile_start normal
bad "$NOOPTGO" -g -x --check 127.0.0.1 "$HOSTILE_PORT" -N disk
is "$(greeted "$HOSTILE_PORT")" NBDMAGICIHAVEOPT "-g -x --check: the client did not connect"
hostile_start normal
bad "$NOOPTGO" -no-optgo --psk-file "$T_TMP/alice.psk" 127.0.0.1 "$HOSTILE_PORT" /dev/nbd0 -N disk
is "$(greeted "$HOSTILE_PORT")" NBDMAGICIHAVEOPT "-no-optgo --psk-file (attach): the client did not connect"
hostile_start normal
bad "$NOOPTGO" -g --check "nbds://127.0.0.1:$HOSTILE_PORT/disk"
is "$(greeted "$HOSTILE_PORT")" NBDMAGICIHAVEOPT "-g nbds://: the client did not connect"
hostile_stop

nbdc -V
is "$RC" 0 "-V: exit 0"
like "$OUT" '^nbd-client [0-9]+\.[0-9]+\.[0-9]+ ' "-V prints the version"
nbdc -help
is "$RC" 0 "-help: exit 0"
like "$OUT" '^Usage: nbd-client \[options\] host \[port\] \[nbd_device\]' "-help prints the usage"
for o in -name -block-size -size -timeout -dead-timeout -connections -persist -swap -nofork \
	-systemd-mark -nonetlink -readonly -preinit -no-optgo -identifier -unix --json --nbdtab \
	-enable-tls -cacertfile -certfile -keyfile -tlshostname --priority --psk-file --psk-user --ktls \
	-version -help --check --status --list-devices -list -disconnect --adopt; do
	like "$OUT" "[ ,]${o#-}[ ,]|[ ,]-${o#-}[ ,]|${o} " "-help mentions $o"
done

# --ktls takes auto, on or off, and nothing else
nbdc --ktls maybe -A /nonexistent localhost 1 /dev/nbd0
expect_fail 1 "invalid --ktls 'maybe': expected auto, on or off" "--ktls maybe: refused"
nbdc --ktls= localhost 1 /dev/nbd0
expect_fail 1 "invalid --ktls '': expected auto, on or off" "--ktls=: refused"

# -C N against a server without multi-conn: a warning, then one connection
hostile_start normal
nbdc -C 2 127.0.0.1 "$HOSTILE_PORT" /dev/nbd0 -N disk
hostile_wait 5 || hostile_stop
is "$(head -n 1 <<<"$ERR")" "nbd-client: warning: the server does not allow multiple connections (no NBD_FLAG_CAN_MULTI_CONN); using 1" "-C 2 without CAN_MULTI_CONN: warning"
is "$(grep -c '^OPT GO' "$HOSTILE_LOG")" 1 "-C 2 without CAN_MULTI_CONN: one connection negotiated"
is "$(tail -n 2 "$HOSTILE_LOG" | tr '\n' '|')" "CMD DISC off=0 len=0|EOF|" "an attach that fails after GO leaves with NBD_CMD_DISC"

done_testing
