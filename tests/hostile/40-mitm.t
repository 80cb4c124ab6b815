#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A man in the middle (mitm.py) between the client and a real nbdkit that
# requires TLS, with X.509 and with PSK.  Whatever the relay does to the
# STARTTLS upgrade, the client, which has TLS configured, refuses with an
# exact error, within -t, leaving nothing behind; and the relay's record of
# the client's bytes shows it sent nothing it should not: after a refused
# STARTTLS only NBD_OPT_ABORT (a soft disconnect, which the protocol allows
# at any time; it carries no data), after a failed handshake nothing but its
# own TLS records, and never an option other than STARTTLS/ABORT, nor the
# export name, in plaintext.  Pass-through first: the harness itself works.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034 # read by nbdc in ../lib.sh
NBDC_TIMEOUT=15
A=127.0.0.1
LIMIT_MS=4500 # -t 3, plus 1.5 s for a slow, shared machine
MITM=$(cd "$(dirname "$0")" && pwd)/mitm.py

make_pki "$T_TMP/pki" || { echo "Bail out! cannot make test certificates"; exit 1; }
PKI=$T_TMP/pki

nbdkit_start() {
	local port=$1
	shift
	bg nbdkit -f -i 127.0.0.1 -p "$port" --tls=require "$@" \
		--filter=exportname memory 4M exportname=disk \
		exportname-list=explicit exportname-strict=true
	wait_port "$port"
}

# mitm UPSTREAM MODE [RELAY ARGS...] -- [CLIENT ARGS...]: the client
# (--check -t 3) through a fresh relay; sets RC, OUT, ERR, ELAPSED_MS, LEFT
# (processes the client left behind), MPORT, and SAW (what the relay saw
# from the client, described one '|'-ended item each) and RAW (the file of
# those bytes).
N=0
mitm() {
	local up=$1 mode=$2 dir mark t0 t1 pid i
	shift 2
	local rargs=()
	while (($#)) && [[ $1 != -- ]]; do
		rargs+=("$1")
		shift
	done
	shift
	N=$((N + 1))
	dir=$T_TMP/mitm.$N
	mkdir -p "$dir"
	RAW=$dir/client.bytes
	python3 "$MITM" --mode "$mode" --upstream "127.0.0.1:$up" \
		--client-bytes "$RAW" --port-file "$dir/port" --timeout 20 \
		"${rargs[@]}" >/dev/null 2>"$dir/stderr" &
	pid=$!
	for ((i = 0; i < 400; i++)); do
		[[ -s $dir/port ]] && break
		sleep 0.05
	done
	MPORT=$(cat "$dir/port" 2>/dev/null)
	mark=40-mitm.$$.$N
	t0=$(now_ms)
	NBDC_TEST_MARK=$mark nbdc --check -t 3 "$@" "$A" "$MPORT" -N disk
	t1=$(now_ms)
	ELAPSED_MS=$((t1 - t0))
	LEFT=$(leftovers "$mark")
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	SAW=$(python3 "$MITM" --describe "$RAW" | sed 's/$/|/' | tr -d '\n')
}

# checks NAME: within the time, nothing left behind, and the export name
# never crossed the relay in plaintext.
checks() {
	echo "# $1: exit $RC after $ELAPSED_MS ms"
	if ((ELAPSED_MS <= LIMIT_MS)); then
		t_result 1 "$1: done within $LIMIT_MS ms"
	else
		t_result 0 "$1: done within $LIMIT_MS ms"
		echo "#   took ${ELAPSED_MS} ms"
	fi
	is "$LEFT" "" "$1: no process left behind"
	is "$(grep -c disk "$RAW")" 0 "$1: the export name never crossed in plaintext"
}

NOPLAIN='TLS was required, so the connection was closed without sending anything in plaintext (use a TLS-enabled server, or drop the TLS options only if an unencrypted connection is acceptable)'
SAID='(server said: "refused by the man in the middle")'
REFUSED='FLAGS 0x00000003|OPT STARTTLS len=0|OPT ABORT len=0|'
HELLO_ONLY='^FLAGS 0x00000003\|OPT STARTTLS len=0\|TLS handshake len=[0-9]+\|$'

PX=$(free_port)
nbdkit_start "$PX" --tls-certificates="$PKI/ca"
PX_PID=$BG_PID
PK=$(free_port)
nbdkit_start "$PK" --tls-psk="$PKI/keys.psk"
PK_PID=$BG_PID

for kind in X.509 PSK; do
	if [[ $kind == X.509 ]]; then
		UP=$PX CRED=(-A "$PKI/ca/ca-cert.pem")
	else
		UP=$PK CRED=(--psk-file "$PKI/alice.psk")
	fi

	# --- positive control: pass-through works, and records a session -----
	REC=$T_TMP/recorded.$kind
	mitm "$UP" pass --record "$REC" -- "${CRED[@]}"
	expect_ok "$kind: pass-through"
	like "$OUT" $'\ntls: TLS1\\.[23], ' "$kind: pass-through: --check over TLS"
	like "$SAW" '^FLAGS 0x00000003\|OPT STARTTLS len=0\|TLS handshake len=[0-9]+\|(TLS [a-z_]+ len=[0-9]+\|)+$' "$kind: pass-through: after STARTTLS, only TLS records"
	checks "$kind: pass-through"

	# --- (a) the relay refuses STARTTLS itself ----------------------------
	for m in unsup:"the server does not support TLS (NBD_REP_ERR_UNSUP)" \
		policy:"the server refused TLS by policy (NBD_REP_ERR_POLICY)" \
		invalid:"the server rejected NBD_OPT_STARTTLS as invalid (NBD_REP_ERR_INVALID)"; do
		mitm "$UP" "starttls-${m%%:*}" -- "${CRED[@]}"
		expect_fail 1 "${m#*:} $SAID; $NOPLAIN" "$kind: relay answers STARTTLS with ${m%%:*}"
		is "$SAW" "$REFUSED" "$kind: STARTTLS ${m%%:*}: only NBD_OPT_ABORT after it"
		checks "$kind: STARTTLS ${m%%:*}"
	done

	# --- (b) FIXED_NEWSTYLE cleared in the greeting -----------------------
	mitm "$UP" no-fixed-newstyle -- "${CRED[@]}"
	expect_fail 1 "$A:$MPORT does not offer fixed newstyle negotiation (handshake flags 0x0002), so neither NBD_OPT_GO nor TLS is possible; upgrade the server" "$kind: FIXED_NEWSTYLE cleared"
	is "$SAW" "" "$kind: FIXED_NEWSTYLE cleared: not even the client flags sent"
	checks "$kind: FIXED_NEWSTYLE cleared"

	# --- (c) a fake ACK, then a plaintext GO reply ------------------------
	mitm "$UP" fake-ack -- "${CRED[@]}"
	expect_fail 1 "TLS handshake with $A:$MPORT failed: what came back is not TLS (the server, or someone in the middle, accepted NBD_OPT_STARTTLS but did not start TLS)" "$kind: fake STARTTLS ACK, plaintext GO reply"
	like "$SAW" "$HELLO_ONLY" "$kind: fake ACK: the ClientHello, then nothing"
	checks "$kind: fake ACK"

	# --- (d) the handshake cut midway -------------------------------------
	mitm "$UP" cut-handshake -- "${CRED[@]}"
	expect_fail 1 "TLS handshake with $A:$MPORT failed: the connection was cut in the middle of a TLS record" "$kind: handshake cut midway"
	like "$SAW" "$HELLO_ONLY" "$kind: handshake cut: the ClientHello, then nothing"
	checks "$kind: handshake cut"

	# --- (e) the recorded server side replayed to a new connection --------
	mitm 1 replay --replay "$REC" -- "${CRED[@]}"
	expect_fail 1 "TLS handshake with $A:$MPORT failed: a record from the server could not be decrypted (tampered with, or replayed from another session)" "$kind: replayed session"
	like "$SAW" '^FLAGS 0x00000003\|OPT STARTTLS len=0\|TLS handshake len=[0-9]+\|(TLS change_cipher_spec len=1\|)?$' "$kind: replay: the client's own handshake records, then nothing"
	checks "$kind: replay"
done

stop_bg "$PX_PID"
stop_bg "$PK_PID"
done_testing
