#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The client against a hostile server (hostile_server.py): every misbehaviour
# ends in a non-zero exit within the timeout, with one exact error line; and
# when TLS is required, nothing but NBD_OPT_STARTTLS / NBD_OPT_ABORT is ever
# sent in plaintext (asserted on what the server logged).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

# hostile MODE ARGS...: run the client against a fresh server in MODE
hostile() {
	local mode=$1
	shift
	hostile_start "$mode" || { t_result 0 "$mode: server starts"; return; }
	local t0=$SECONDS
	nbdc "$@" 127.0.0.1 "$HOSTILE_PORT" -N disk
	ELAPSED=$((SECONDS - t0))
	hostile_wait 5 || hostile_stop
	LOG=$(grep -v '^EOF$' "$HOSTILE_LOG" | tr '\n' '|')
}

# TLS credentials are read (once) before connecting, so they must be real;
# the handshake itself never happens with these servers.
make_pki "$T_TMP/pki" || { echo "Bail out! cannot make test certificates"; exit 1; }
cp "$T_TMP/pki/ca/ca-cert.pem" "$T_TMP/ca.pem"
printf 'alice:00112233\n' >"$T_TMP/alice.psk" && chmod 600 "$T_TMP/alice.psk"
printf 'not a certificate\n' >"$T_TMP/bogus-ca.pem"

GO='CLIENTFLAGS 0x00000003|OPT GO len=18|GONAME disk|GOINFO EXPORT,BLOCK_SIZE,NAME,DESCRIPTION|'
A=127.0.0.1

# --- protocol violations: clean, exact refusals -----------------------------
hostile huge-reply --check -t 3
expect_fail 1 "the server sent a NBD_REP_INFO reply of 4294967295 bytes to NBD_OPT_GO, more than the 4160 this client accepts" "4 GiB reply length"
hostile error-len-huge --check -t 3
expect_fail 1 "the server sent a NBD_REP_ERR_POLICY reply of 1073741824 bytes to NBD_OPT_GO, more than the 4160 this client accepts" "1 GiB error message"
hostile wrong-option --check -t 3
expect_fail 1 "the server answered NBD_OPT_LIST (3) when we asked NBD_OPT_GO (7): protocol error" "reply names the wrong option"
hostile short-info --check -t 3
expect_fail 1 "the server sent a malformed NBD_INFO_EXPORT in reply to NBD_OPT_GO (6 bytes, expected 12)" "short NBD_INFO_EXPORT"
hostile server-namelen -l -t 3
expect_fail 1 "the server sent an NBD_REP_SERVER whose name length 100 runs past the reply (8 bytes) in reply to NBD_OPT_LIST" "NBD_REP_SERVER name length past the reply"
hostile bad-magic --check -t 3
expect_fail 1 "$A:$HOSTILE_PORT is not an NBD server (bad greeting magic 0x4e42444d41474958)" "bad greeting magic"
is "$LOG" "" "bad greeting magic: the client sent nothing"
hostile bad-optmagic --check -t 3
expect_fail 1 "bad reply magic 0x0003e889045565aa from the server in reply to NBD_OPT_GO (not an NBD server, or out of sync)" "bad option reply magic"
hostile no-fixed-newstyle --check -t 3
expect_fail 1 "$A:$HOSTILE_PORT does not offer fixed newstyle negotiation (handshake flags 0x0002), so neither NBD_OPT_GO nor TLS is possible; upgrade the server" "no FIXED_NEWSTYLE"
is "$LOG" "" "no FIXED_NEWSTYLE: no client flags, no option sent"
hostile oldstyle --check -t 3
expect_fail 1 "$A:$HOSTILE_PORT speaks the oldstyle handshake, which has no export names, no TLS and is not supported; configure the server for newstyle" "oldstyle server"
hostile zero-size-reply-ack-go --check -t 3
expect_fail 1 "the server acknowledged NBD_OPT_GO without sending NBD_INFO_EXPORT (size and flags): protocol error" "GO acknowledged without NBD_INFO_EXPORT"
hostile info-then-close --check -t 3
expect_fail 1 "waiting for the reply to NBD_OPT_GO: the server $A:$HOSTILE_PORT closed the connection" "server closes in the middle of GO"

# --- silence: the timeout bounds every read --------------------------------
hostile silent --check -t 2
expect_fail 1 "waiting for the reply to NBD_OPT_GO: timed out after 2 s waiting for the server $A:$HOSTILE_PORT (raise it with -timeout)" "silent after the greeting"
like "$ELAPSED" '^[2-9]$' "silent after the greeting: gave up long before the server's 30 s"
hostile silent-before-greeting --check -t 2
expect_fail 1 "waiting for the server's greeting: timed out after 2 s waiting for the server $A:$HOSTILE_PORT (raise it with -timeout)" "silent before the greeting"
like "$ELAPSED" '^[2-9]$' "silent before the greeting: gave up long before the server's 30 s"

# --- every error reply, with the server's words ------------------------------
hostile unknown-error --check -t 3
expect_fail 1 'the server refused NBD_OPT_GO with error 0x8000ffff (unknown reply) (server said: "mystery")' "unknown error type"
hostile platform --check -t 3
expect_fail 1 "NBD_OPT_GO is not available on the server's platform (server said: \"platform says no\")" "NBD_REP_ERR_PLATFORM"
hostile shutdown --check -t 3
expect_fail 1 'the server is shutting down; try again later (server said: "server shutting down")' "NBD_REP_ERR_SHUTDOWN"
hostile block-size-reqd --check -t 3
expect_fail 1 "the server requires block size negotiation for export 'disk', which NBD_OPT_GO did not satisfy (server said: \"block size required\")" "NBD_REP_ERR_BLOCK_SIZE_REQD"
hostile unknown --check -t 3
expect_fail 1 "export 'disk' does not exist on the server (list the exports with -list) (server said: \"export 'disk' not found\")" "NBD_REP_ERR_UNKNOWN"
hostile c1-message --check -t 3
expect_fail 1 "export 'disk' does not exist on the server (list the exports with -list) (server said: \"bad?31m raw? esc?[0m café — end\")" "server message with C1 CSI, raw 0x9b, ESC and UTF-8"
# The same, byte by byte on what the client wrote (LC_ALL=C: raw bytes).
stderr_has() { LC_ALL=C grep -q "$1" "$T_TMP/err" && echo 1 || echo 0; }
is "$(stderr_has $'\x9b')" 0 "server message: no 0x9b byte (CSI, as U+009B or raw) reaches stderr"
is "$(stderr_has $'\x1b')" 0 "server message: no ESC reaches stderr"
is "$(stderr_has $'\xc2\x9b')" 0 "server message: no UTF-8 U+009B (c2 9b) reaches stderr"
is "$(stderr_has $'caf\xc3\xa9 \xe2\x80\x94 end')" 1 "server message: valid UTF-8 (e-acute, em dash) kept intact"
hostile tls-reqd --check -t 3
expect_fail 1 'the server requires TLS (it answered NBD_OPT_GO with NBD_REP_ERR_TLS_REQD): pass -cacertfile FILE (or -enable-tls to use the system CAs, or --psk-file FILE) or use an nbds:// URI (server said: "TLS is required")' "NBD_REP_ERR_TLS_REQD without TLS configured"
hostile tls-reqd -l -t 3
expect_fail 1 'the server requires TLS (it answered NBD_OPT_LIST with NBD_REP_ERR_TLS_REQD): pass -cacertfile FILE (or -enable-tls to use the system CAs, or --psk-file FILE) or use an nbds:// URI (server said: "TLS is required")' "-list: NBD_REP_ERR_TLS_REQD"

# --- GO and its fallback -------------------------------------------------------
hostile blocksize --check -t 3
expect_ok "block sizes advertised"
like "$OUT" $'\nblock size: minimum 512, preferred 4096, maximum 33554432\n' "block sizes reported"
is "$LOG" "${GO}CMD DISC off=0 len=0|" "GO asks for EXPORT and BLOCK_SIZE, then NBD_CMD_DISC"
hostile go-unsup --check -t 3
expect_ok "no GO: NBD_OPT_EXPORT_NAME fallback without TLS"
is "$LOG" "${GO}OPT EXPORT_NAME len=4|EXPORTNAME disk|CMD DISC off=0 len=0|" "fallback: GO, then EXPORT_NAME"
hostile unsup-after-info --check -t 3
expect_ok "GO answered with NBD_REP_INFO, then NBD_REP_ERR_UNSUP: NBD_OPT_EXPORT_NAME fallback"
is "$OUT" $'export: disk\nsize: 2097152\nflags: 0x0001 HAS_FLAGS\nblock size: not advertised\ndevice block size: 512\ndevice request limit: none (the kernel\'s default)\ntls: none' "fallback after INFO: size and flags from EXPORT_NAME, nothing kept from the withdrawn GO"
like "$OUT" $'\nsize: 2097152\n' "fallback after INFO: size 2097152 from EXPORT_NAME, not the INFO's 1048576"
is "$(grep -c 'stale' <<<"$OUT")" 0 "fallback after INFO: neither the INFO's name (stale-name) nor its description (stale description) is shown"
is "$LOG" "${GO}OPT EXPORT_NAME len=4|EXPORTNAME disk|CMD DISC off=0 len=0|" "fallback after INFO: GO, then EXPORT_NAME"
hostile unsup-after-info --check --json -t 3
expect_ok "fallback after INFO, --json"
is "$OUT" '{"export": "disk", "description": null, "size": 2097152, "transmission_flags": 1, "flags": ["HAS_FLAGS"], "block_size": null, "device": {"block_size": 512, "max_request": null}, "tls": null}' "fallback after INFO, --json: no stale name, size or description"

# --- TLS required: refusals, and nothing in plaintext -------------------------
TLSLOG='CLIENTFLAGS 0x00000003|OPT STARTTLS len=0|OPT ABORT len=0|'
NOPLAIN='TLS was required, so the connection was closed without sending anything in plaintext (use a TLS-enabled server, or drop the TLS options only if an unencrypted connection is acceptable)'
hostile starttls-unsup --check -t 3 -x
expect_fail 1 "the server does not support TLS (NBD_REP_ERR_UNSUP) (server said: \"TLS not supported here\"); $NOPLAIN" "STARTTLS refused with UNSUP"
is "$LOG" "$TLSLOG" "UNSUP: only STARTTLS then ABORT were sent"
hostile starttls-policy --check -t 3 -A "$T_TMP/ca.pem"
expect_fail 1 "the server refused TLS by policy (NBD_REP_ERR_POLICY) (server said: \"TLS forbidden by policy\"); $NOPLAIN" "STARTTLS refused with POLICY"
is "$LOG" "$TLSLOG" "POLICY: only STARTTLS then ABORT were sent"
hostile normal --check -t 3 -A "$T_TMP/bogus-ca.pem"
expect_fail 1 "no CA certificate found in '$T_TMP/bogus-ca.pem' (expected PEM)" "a CA file without certificates"
is "$LOG" "" "a CA file without certificates: refused before connecting"
hostile starttls-invalid --check -t 3 -x
expect_fail 1 "the server rejected NBD_OPT_STARTTLS as invalid (NBD_REP_ERR_INVALID) (server said: \"STARTTLS is invalid here\"); $NOPLAIN" "STARTTLS refused with INVALID"
is "$LOG" "$TLSLOG" "INVALID: only STARTTLS then ABORT were sent"
hostile tls-reqd --check -t 3 -x
expect_fail 1 "the server answered NBD_OPT_STARTTLS with NBD_REP_ERR_TLS_REQD, which is nonsense (server said: \"TLS is required\"); $NOPLAIN" "STARTTLS answered with TLS_REQD"
is "$LOG" "$TLSLOG" "TLS_REQD to STARTTLS: only STARTTLS then ABORT were sent"
hostile go-unsup -l -t 3 --psk-file "$T_TMP/alice.psk"
expect_fail 1 "the server does not support TLS (NBD_REP_ERR_UNSUP) (server said: \"TLS not supported here\"); $NOPLAIN" "-list with TLS required: refused"
is "$LOG" "$TLSLOG" "-list with TLS required: no NBD_OPT_LIST in plaintext"
hostile silent --check -t 2 -x
expect_fail 1 "waiting for the reply to NBD_OPT_STARTTLS: timed out after 2 s waiting for the server $A:$HOSTILE_PORT (raise it with -timeout)" "silent server, TLS required"
is "$LOG" 'CLIENTFLAGS 0x00000003|OPT STARTTLS len=0|' "silent server: STARTTLS was the first and only option"
hostile no-fixed-newstyle --check -t 3 -x
expect_fail 1 "$A:$HOSTILE_PORT does not offer fixed newstyle negotiation (handshake flags 0x0002), so neither NBD_OPT_GO nor TLS is possible; upgrade the server" "no FIXED_NEWSTYLE with TLS: no STARTTLS"
is "$LOG" "" "no FIXED_NEWSTYLE with TLS: nothing sent"
hostile huge-reply --check -t 3 -x
expect_fail 1 "the server sent a NBD_REP_INFO reply of 4294967295 bytes to NBD_OPT_STARTTLS, more than the 4160 this client accepts" "4 GiB reply to STARTTLS"
is "$LOG" 'CLIENTFLAGS 0x00000003|OPT STARTTLS len=0|' "4 GiB reply to STARTTLS: nothing more sent"

# --- command line URI forms reach the same checks ------------------------------
hostile_start starttls-unsup
nbdc --check -t 3 "nbds://127.0.0.1:$HOSTILE_PORT/disk"
hostile_wait 5 || hostile_stop
expect_fail 1 "the server does not support TLS (NBD_REP_ERR_UNSUP) (server said: \"TLS not supported here\"); $NOPLAIN" "nbds:// URI means TLS required"
is "$(grep -v '^EOF$' "$HOSTILE_LOG" | tr '\n' '|')" "$TLSLOG" "nbds://: only STARTTLS then ABORT"

done_testing
