#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Clean teardown of a -C 2 attach that fails part way, on a plain host (no
# nbd module: nothing here reaches the kernel).  Every link that reached
# transmission says NBD_CMD_DISC (through its TLS proxy where there is one),
# and no proxy is left behind:
#   - the second connection is refused (nbdkit's limit filter): the first,
#     already negotiated and with its data path open, is torn down;
#   - both connections negotiate, then the kernel attach fails: both are.
. "$(dirname "$0")/../lib.sh"

PKI=$T_TMP/pki
make_pki "$PKI" || { echo "Bail out! cannot make test certificates"; exit 1; }
[ -e /sys/module/nbd ] && { echo "1..0 # SKIP this host has the nbd module: the attach would succeed"; exit 0; }

LIMIT=
proxies() { pgrep -x nbd-proxy | wc -l; }
discs() { grep -c 'client sent NBD_CMD_DISC' "$1"; }

# server PORT LOG ARGS...: nbdkit -v on 127.0.0.1:PORT, debug log in LOG;
# $LIMIT is added after the plugin's arguments
server() {
	local port=$1 log=$2
	shift 2
	nbdkit -f -v -i 127.0.0.1 -p "$port" "$@" memory 4M $LIMIT 2>"$log" &
	T_PIDS+=($!)
	BG_PID=$!
	wait_port "$port"
}

before=$(proxies)

# --- second connection refused -------------------------------------------
for tls in off psk; do
	P=$(free_port)
	LOG=$T_TMP/limit-$tls.log
	if [ $tls = psk ]; then
		LIMIT=limit=1 server "$P" "$LOG" --filter=limit --tls=require --tls-psk="$PKI/keys.psk"
		targs=(--psk-file "$PKI/alice.psk")
	else
		LIMIT=limit=1 server "$P" "$LOG" --filter=limit
		targs=()
	fi
	nbdc -C 2 "${targs[@]}" 127.0.0.1 "$P" /dev/nbd0
	is "$RC" 1 "$tls: second connection refused: exit 1"
	like "$ERR" "^nbd-client: connection 2: " "$tls: the error names connection 2"
	sleep 0.5
	is "$(discs "$LOG")" 1 "$tls: the first connection left with NBD_CMD_DISC"
	is "$(proxies)" "$before" "$tls: no proxy left behind"
	stop_bg "$BG_PID"
done

# --- both negotiated, the kernel attach fails ----------------------------
for tls in off psk; do
	P=$(free_port)
	LOG=$T_TMP/nokernel-$tls.log
	if [ $tls = psk ]; then
		server "$P" "$LOG" --tls=require --tls-psk="$PKI/keys.psk"
		targs=(--psk-file "$PKI/alice.psk")
	else
		server "$P" "$LOG"
		targs=()
	fi
	nbdc -C 2 "${targs[@]}" 127.0.0.1 "$P" /dev/nbd0
	is "$RC" 1 "$tls: no nbd module: exit 1"
	sleep 0.5
	is "$(discs "$LOG")" 2 "$tls: both connections left with NBD_CMD_DISC"
	is "$(proxies)" "$before" "$tls: no proxy left behind"
	stop_bg "$BG_PID"
done
done_testing
