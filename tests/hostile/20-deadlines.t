#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# -timeout bounds each whole operation, not each read: a server that sends
# its greeting, an option reply or its TLS handshake one byte per second
# (hostile_server.py drip-* modes) never lets a read wait the full timeout,
# yet the client must give up once -t seconds have passed since the
# operation began.  Only upper bounds on time are asserted (with 1 s slack).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

# A client still running after 10 s has failed anyway; don't wait 20.
# shellcheck disable=SC2034 # read by nbdc in ../lib.sh
NBDC_TIMEOUT=10
A=127.0.0.1
printf 'alice:00112233445566778899aabbccddeeff\n' >"$T_TMP/alice.psk" && chmod 600 "$T_TMP/alice.psk"

now_ms() {
	local ns
	ns=$(date +%s%N)
	echo $((ns / 1000000))
}

# drip MODE ARGS...: run the client against a fresh server in MODE; sets
# RC, OUT, ERR, ELAPSED_MS (the client's run time) and LOG (the server's
# log, '|'-separated).
drip() {
	local mode=$1 t0 t1
	shift
	hostile_start "$mode" || { t_result 0 "$mode: server starts"; return; }
	t0=$(now_ms)
	nbdc "$@" "$A" "$HOSTILE_PORT" -N disk
	t1=$(now_ms)
	ELAPSED_MS=$((t1 - t0))
	hostile_wait 5 || hostile_stop
	LOG=$(tr '\n' '|' <"$HOSTILE_LOG")
}

# within NAME: exit 1 within 3 s of starting (-t 2 plus 1 s slack), one line
# on stderr.
within() {
	is "$RC" 1 "$1: exit code 1"
	if ((ELAPSED_MS <= 3000)); then
		t_result 1 "$1: gave up within 3 s"
	else
		t_result 0 "$1: gave up within 3 s"
		echo "#   took ${ELAPSED_MS} ms"
	fi
	is "$(wc -l <"$T_TMP/err")" 1 "$1: one line on stderr"
	[[ $RC == 1 ]] || printf '#   stderr: %s\n' "$ERR"
}

drip drip-greeting --check -t 2
within "greeting dripped one byte a second"
like "$ERR" "^nbd-client: .*greeting.*timed out after 2 s" "greeting dripped: the message says the greeting timed out after 2 s"
like "$LOG" '^DRIP ([1-9]|1[0-7])\|EOF\|$' "greeting dripped: the client hung up before the 18th byte"

drip drip-option --check -t 2
within "NBD_OPT_GO reply dripped one byte a second"
like "$ERR" "^nbd-client: .*NBD_OPT_GO.*timed out after 2 s" "GO reply dripped: the message names NBD_OPT_GO and says it timed out after 2 s"
like "$LOG" '^CLIENTFLAGS 0x00000003\|OPT GO len=[0-9]+\|GONAME disk\|GOINFO [A-Z_,]+\|DRIP [1-9]\|EOF\|$' "GO reply dripped: the client hung up early in the reply"

drip drip-tls --check -t 2 --psk-file "$T_TMP/alice.psk"
within "TLS handshake (PSK) dripped one byte a second"
like "$ERR" "^nbd-client: .*TLS handshake.*timed out" "TLS (PSK) dripped: the message says the TLS handshake timed out"
like "$LOG" '^CLIENTFLAGS 0x00000003\|OPT STARTTLS len=0\|TLSHELLO\|BYTES [0-9]+\|DRIP [1-9]\|EOF\|$' "TLS (PSK) dripped: ClientHello sent, then the client hung up"

drip drip-tls --check -t 2 -x
within "TLS handshake (certificates) dripped one byte a second"
like "$ERR" "^nbd-client: .*TLS handshake.*timed out" "TLS (certificates) dripped: the message says the TLS handshake timed out"
like "$LOG" '^CLIENTFLAGS 0x00000003\|OPT STARTTLS len=0\|TLSHELLO\|BYTES [0-9]+\|DRIP [1-9]\|EOF\|$' "TLS (certificates) dripped: ClientHello sent, then the client hung up"

# A server that trickles every byte on its own (about 1 ms apart) is slow
# but fine: the negotiation completes within -t, plaintext and TLS.
hostile_start trickle || t_result 0 "trickle: server starts"
t0=$(now_ms)
nbdc --check -t 5 "$A" "$HOSTILE_PORT" -N disk
ELAPSED_MS=$(($(now_ms) - t0))
hostile_wait 5 || hostile_stop
expect_ok "trickled one byte at a time: --check succeeds"
like "$(grep '^TRICKLED' "$HOSTILE_LOG")" '^TRICKLED ([5-9][0-9]|[1-9][0-9]{2,})$' "trickle: the server sent 50+ bytes, one per segment"
echo "# trickle: --check took $ELAPSED_MS ms, $(grep '^TRICKLED' "$HOSTILE_LOG")"

make_pki "$T_TMP/pki" >/dev/null || echo "Bail out! cannot make test certificates"
hostile_start tls-trickle --tls-cert "$T_TMP/pki/ca/server-cert.pem" --tls-key "$T_TMP/pki/ca/server-key.pem" ||
	t_result 0 "tls-trickle: server starts"
t0=$(now_ms)
nbdc --check -t 10 -A "$T_TMP/pki/ca/ca-cert.pem" "$A" "$HOSTILE_PORT" -N disk
ELAPSED_MS=$(($(now_ms) - t0))
hostile_wait 5 || hostile_stop
is "$RC" 0 "TLS handshake and all trickled one byte at a time: --check succeeds"
like "$OUT" $'\ntls: TLS1\\.3' "tls-trickle: the report says TLS 1.3"
like "$(grep '^TRICKLED' "$HOSTILE_LOG")" '^TRICKLED [1-9][0-9]{3,}$' "tls-trickle: the server sent 1000+ bytes, one per segment"
echo "# tls-trickle: --check took $ELAPSED_MS ms, $(grep '^TRICKLED' "$HOSTILE_LOG")"

done_testing
