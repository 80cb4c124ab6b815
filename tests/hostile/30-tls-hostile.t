#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hostility inside TLS: hostile_server.py's tls-* modes answer STARTTLS
# with ACK, run a real TLS handshake (X.509, made by make_pki) and only then
# misbehave, inside the encrypted session or on the raw records under it.
# Each case: exit 1, one exact error line, done within -t (2 s) plus slack,
# no process left behind, and never a second NBD_OPT_STARTTLS.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034 # read by nbdc in ../lib.sh
NBDC_TIMEOUT=15
A=127.0.0.1
LIMIT_MS=3500 # -t 2, plus 1.5 s for a slow, shared machine

make_pki "$T_TMP/pki" || { echo "Bail out! cannot make test certificates"; exit 1; }
PKI=$T_TMP/pki/ca
TLSSRV=(--tls-cert "$PKI/server-cert.pem" --tls-key "$PKI/server-key.pem")

# tls MODE ARGS...: the client (--check -t 2 -A CA ARGS) against a fresh
# server in MODE; sets RC, OUT, ERR, ELAPSED_MS, LEFT (processes the client
# left behind) and LOG (the server's log, '|'-separated).
tls() {
	local mode=$1 mark t0 t1
	shift
	hostile_start "$mode" "${TLSSRV[@]}" ||
		{ t_result 0 "$mode: server starts"; return; }
	mark=30-tls.$$.$mode
	t0=$(now_ms)
	NBDC_TEST_MARK=$mark nbdc --check -t 2 -A "$PKI/ca-cert.pem" "$@" \
		"$A" "$HOSTILE_PORT" -N disk
	t1=$(now_ms)
	ELAPSED_MS=$((t1 - t0))
	LEFT=$(leftovers "$mark")
	hostile_wait 5 || hostile_stop
	LOG=$(tr '\n' '|' <"$HOSTILE_LOG")
}

# refused NAME MESSAGE: exit 1, exactly MESSAGE, within LIMIT_MS, nothing
# left running, one STARTTLS only.
refused() {
	echo "# $1: exit $RC after $ELAPSED_MS ms"
	expect_fail 1 "$2" "$1"
	if ((ELAPSED_MS <= LIMIT_MS)); then
		t_result 1 "$1: gave up within $LIMIT_MS ms"
	else
		t_result 0 "$1: gave up within $LIMIT_MS ms"
		echo "#   took ${ELAPSED_MS} ms"
	fi
	is "$LEFT" "" "$1: no process left behind"
	is "$(grep -o 'OPT STARTTLS' <<<"$LOG" | wc -l)" 1 "$1: NBD_OPT_STARTTLS sent once"
}

# What the server logs up to the misbehaviour: STARTTLS in plaintext, then
# the handshake, then GO inside TLS.
UP='^CLIENTFLAGS 0x00000003\|OPT STARTTLS len=0\|TLSHELLO\|TLS TLSv1\.[23]\|'
GO='OPT GO len=18\|GONAME disk\|GOINFO EXPORT,BLOCK_SIZE,NAME,DESCRIPTION\|'

# --- positive control: the TLS server works ----------------------------------
tls tls-normal
expect_ok "a correct server over TLS"
like "$OUT" $'\ntls: TLS1\\.[23], ' "a correct server over TLS: --check shows TLS"
like "$LOG" "${UP}${GO}CMD DISC off=0 len=0\\|TLSCLOSE\\|EOF\\|$" "a correct server over TLS: STARTTLS, handshake, GO, DISC, close_notify"
is "$LEFT" "" "a correct server over TLS: no process left behind"

# --- NBD protocol violations inside TLS ---------------------------------------
tls tls-huge-reply
refused "TLS: 4 GiB reply length" "the server sent a NBD_REP_INFO reply of 4294967295 bytes to NBD_OPT_GO, more than the 4160 this client accepts"
like "$LOG" "${UP}${GO}EOF\\|$" "TLS: 4 GiB reply length: nothing sent after GO"

tls tls-wrong-option
refused "TLS: reply names the wrong option" "the server answered NBD_OPT_LIST (3) when we asked NBD_OPT_GO (7): protocol error"

tls tls-short-info
refused "TLS: short NBD_INFO_EXPORT" "the server sent a malformed NBD_INFO_EXPORT in reply to NBD_OPT_GO (6 bytes, expected 12)"

tls tls-silent
refused "TLS: silent after the handshake" "waiting for the reply to NBD_OPT_GO: timed out after 2 s waiting for the server $A:$HOSTILE_PORT (raise it with -timeout)"
if ((ELAPSED_MS >= 1900)); then
	t_result 1 "TLS: silent: waited the 2 s"
else
	t_result 0 "TLS: silent: waited the 2 s (took $ELAPSED_MS ms)"
fi

# Every reply is an ACK naming NBD_OPT_STARTTLS (a second STARTTLS would be
# ACKed too): the client refuses it and never sends STARTTLS again.
tls tls-starttls-ack
refused "TLS: unsolicited ACK to STARTTLS" "the server answered NBD_OPT_STARTTLS (5) when we asked NBD_OPT_GO (7): protocol error"
like "$LOG" "${UP}${GO}EOF\\|$" "TLS: unsolicited ACK to STARTTLS: GO was the only option inside TLS"

tls tls-garbage
refused "TLS: garbage inside the session" "bad reply magic 0x7468697320697320 from the server in reply to NBD_OPT_GO (not an NBD server, or out of sync)"

# --- the TLS layer itself ------------------------------------------------------
tls tls-raw-garbage
refused "TLS: raw garbage between the records" "waiting for the reply to NBD_OPT_GO: the server $A:$HOSTILE_PORT sent something that is not a record of this TLS session (garbage on the connection?)"

tls tls-cut-record
refused "TLS: connection cut mid-record" "waiting for the reply to NBD_OPT_GO: the server $A:$HOSTILE_PORT cut the TLS connection in the middle of a record"
like "$LOG" "${UP}${GO}CUT [0-9]+/[0-9]+\\|" "TLS: cut mid-record: half a record was sent"

tls tls-alert
refused "TLS: fatal alert mid-negotiation" "waiting for the reply to NBD_OPT_GO: the server $A:$HOSTILE_PORT ended the TLS connection with alert 'Bad record MAC'"
like "$LOG" "${UP}${GO}ALERT DECRYPTION_FAILED_OR_BAD_RECORD_MAC\\|" "TLS: fatal alert: an encrypted bad_record_mac alert was sent"

# close_notify, with the TCP connection left open: no waiting for it.
tls tls-close-notify
refused "TLS: close_notify mid-negotiation" "waiting for the reply to NBD_OPT_GO: the server $A:$HOSTILE_PORT closed the TLS connection (did it reject our credentials?)"
like "$LOG" "${UP}${GO}CLOSENOTIFY\\|" "TLS: close_notify was sent"

tls tls-handshake-alert
refused "TLS: fatal alert instead of ServerHello" "TLS handshake with $A:$HOSTILE_PORT failed: the server sent alert 'Handshake failed' (does it accept our credentials?)"
like "$LOG" '^CLIENTFLAGS 0x00000003\|OPT STARTTLS len=0\|TLSHELLO\|BYTES [0-9]+\|EOF\|$' "TLS: alert instead of ServerHello: nothing after the ClientHello"

done_testing
