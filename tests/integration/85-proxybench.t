#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The benchmark's load generator (tests/bench/proxybench.c) against nbdkit,
# briefly: `make bench` keeps working, and the TLS proxy serves 32
# pipelined requests at a time, every reply matched to its request (a bad
# magic, an unknown handle or an error code fails the run), and exits
# cleanly.  No timing is asserted.
. "$(dirname "$0")/../lib.sh"

PB=${PROXYBENCH:-$(dirname "$NBDC")/tests/proxybench}
[ -x "$PB" ] || { echo "Bail out! no $PB (make all builds it)"; exit 1; }
PKI=$T_TMP/pki
make_pki "$PKI" || { echo "Bail out! cannot make test certificates"; exit 1; }
P=$(free_port)
bg nbdkit -f -i 127.0.0.1 -p "$P" --tls=on --tls-certificates="$PKI/ca" memory 64M
wait_port "$P"
CELLS=write:32:128k,read:8:1m,read:1:4k
TLS=(--ktls=off "nbds://localhost:$P/" -cacertfile "$PKI/ca/ca-cert.pem")

# run ARGS...: proxybench with a hard timeout; RC, OUT, ERR
run() {
	timeout 60 "$PB" "$@" >"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	OUT=$(cat "$T_TMP/out")
	ERR=$(cat "$T_TMP/err")
}

# cells NAME: the three cells ran, in order, and moved whole requests
cells() {
	local op qd size n=0 bytes line
	while read -r op qd size; do
		line=$(grep "^cell op=$op qd=$qd size=$size " <<<"$OUT")
		bytes=$(sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' <<<"$line")
		[ -n "$bytes" ] && [ "$bytes" -gt 0 ] && [ $((bytes % size)) = 0 ] && n=$((n + 1))
	done <<<$'write 32 131072\nread 8 1048576\nread 1 4096'
	is "$n" 3 "$1: three cells, each whole requests"
}

run -T 0.3 -c "$CELLS" -- "${TLS[@]}"
is "$RC" 0 "proxy: exit 0"
like "$OUT" '^ready path="TLS proxy" tls="TLS1\.3, [A-Z0-9-]+" ' "proxy: the forked TLS proxy"
cells proxy
like "$OUT" $'\nproxy VmLck_kb=[0-9]+ VmHWM_kb=[0-9]+ VmRSS_kb=[0-9]+$' "proxy: its memory"
like "$ERR" 'bench: proxy: stopped: connection closed; [0-9]+ bytes to the server, [0-9]+ to the kernel' "proxy: stopped cleanly after NBD_CMD_DISC"

run -D -T 0.3 -c "$CELLS" -- "${TLS[@]}"
is "$RC" 0 "in process: exit 0"
like "$OUT" '^ready path="TLS in process" tls="TLS1\.3, [A-Z0-9-]+" ' "in process: TLS in the generator"
cells "in process"

run -T 0.3 -c "$CELLS" -- "nbd://localhost:$P/"
is "$RC" 0 "plaintext: exit 0"
like "$OUT" '^ready path="plaintext" tls="" ' "plaintext: the socket itself"
cells plaintext

run -D -T 0.1 -c read:1:4k -- "nbd://localhost:$P/"
is "$RC" 1 "in process without TLS: exit 1"
is "$ERR" "proxybench: -D needs TLS" "in process without TLS: one line"

run -T 0.1 -C AES-256-GCM
is "$RC" 0 "cipher: exit 0"
like "$OUT" '^cipher name=AES-256-GCM record=16384 gbps=[0-9.]+$' "cipher: GnuTLS's speed"
run -T 0.1 -C ROT13
is "$RC" 1 "cipher: unknown, exit 1"
is "$ERR" "proxybench: no AEAD cipher 'ROT13'" "cipher: unknown, one line"
run -c write:0:4k -- "nbd://localhost:$P/"
is "$RC" 2 "bad cell list: exit 2"
done_testing
