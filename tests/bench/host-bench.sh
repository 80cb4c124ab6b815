#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# host-bench.sh: the TLS proxy on the host, no kernel needed
# (tests/bench/README.md).  One nbdkit (null plugin, noextents filter,
# --tls=on, X.509 from make_pki) on loopback, and side by side in one run:
#
#   proxy    proxybench through our real proxy (datapath_open forks it)
#   plain    proxybench straight to the server, no TLS
#   inproc   proxybench -D: TLS in the generator's own process, no proxy
#            (the floor for any design with a process in between)
#   nbdcopy  libnbd's nbdcopy --connections=1 over nbds:// and nbd://
#   ceiling  GnuTLS encrypting 16 KiB records with the negotiated cipher
#
# Rounds alternate the order of proxy and plain; round 0 is a short
# warm-up.  The table has medians.  Knobs: BENCH_ROUNDS (3), BENCH_SECS (1
# second a cell), BENCH_CELLS (proxybench -c; default the whole matrix),
# BENCH_GIB (1: the export, and what nbdcopy moves), BENCH_READY_RUNS (15),
# BENCH_NBDCOPY (0: leave nbdcopy out), BENCH_PROXYBENCH (the generator),
# BENCH_BASELINE (another build of it, e.g. of the commit before: its
# proxy runs too, in the same rounds, and the table compares the two),
# BENCH_RAW (a file to keep the raw lines in).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
PB=${BENCH_PROXYBENCH:-$top/build/tests/proxybench}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECS:-1}
GIB=${BENCH_GIB:-1}
READY_RUNS=${BENCH_READY_RUNS:-15}
CELLS=${BENCH_CELLS:-}
NBDCOPY=${BENCH_NBDCOPY:-1}
BASE=${BENCH_BASELINE:-}

for t in nbdkit nbdcopy certtool gnutls-cli python3; do
	command -v "$t" >/dev/null || { echo "host-bench: $t is not installed" >&2; exit 1; }
done
[ -x "$PB" ] || { echo "host-bench: no $PB (make $PB)" >&2; exit 1; }

shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
work=$(mktemp -d "$shm/nbdc-bench.XXXXXX")
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

(. "$top/tests/lib.sh" && make_pki "$work/pki") >/dev/null ||
	{ echo "host-bench: cannot make certificates" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nbdkit -f -p "$port" -i 127.0.0.1 --tls=on --tls-certificates="$work/pki/ca" \
	--filter=noextents null "${GIB}G" 2>"$work/nbdkit.log" &
srv=$!
for _ in $(seq 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.05
done
head -c "${GIB}G" /dev/urandom >"$work/src"

TLS=(--ktls=off "nbds://localhost:$port/" -cacertfile "$work/pki/ca/ca-cert.pem")
PLAIN=("nbd://localhost:$port/")
TLS_URI="nbds://localhost:$port/?tls-certificates=$work/pki/ca"
PLAIN_URI="nbd://localhost:$port/"
raw=${BENCH_RAW:-$work/raw}
: >"$raw"

# gen ROUND NAME SECS ARGS...: one proxybench run, its lines tagged
# (NAME base: the baseline build's).
gen() {
	local round=$1 name=$2 secs=$3 pb=$PB direct=
	shift 3
	[ "$name" = base ] && pb=$BASE
	[ "$name" = inproc ] && direct=-D
	"$pb" $direct -T "$secs" ${CELLS:+-c "$CELLS"} -- "$@" 2>>"$work/gen.log" |
		sed "s/^/R$round $name /" >>"$raw"
	[ "${PIPESTATUS[0]}" = 0 ] || { echo "host-bench: proxybench ($name) failed:" >&2; tail -3 "$work/gen.log" >&2; exit 1; }
}

# copy ROUND NAME OP QD SIZE SRC DST: nbdcopy, timed.
copy() {
	local t0 t1
	t0=${EPOCHREALTIME/[.,]/}
	nbdcopy --connections=1 --requests="$4" --request-size="$5" "$6" "$7" ||
		{ echo "host-bench: nbdcopy $6 $7 failed" >&2; exit 1; }
	t1=${EPOCHREALTIME/[.,]/}
	echo "R$1 $2 cell op=$3 qd=$4 size=$5 bytes=$((GIB << 30)) usecs=$((t1 - t0))" >>"$raw"
}

nbdcopies() {
	local r=$1 name=$2 uri=$3 size
	[ "$NBDCOPY" = 1 ] || return 0
	for size in 131072 1048576; do
		copy "$r" "$name" read 8 "$size" "$uri" null:
		copy "$r" "$name" write 8 "$size" "$work/src" "$uri"
	done
}

echo "host-bench: $ROUNDS rounds (after a warm-up) of ${SECS}s a cell; nbdcopy moves $GIB GiB a cell" >&2
for r in $(seq 0 "$ROUNDS"); do
	s=$SECS
	[ "$r" = 0 ] && s=0.2
	if [ $((r % 2)) = 1 ]; then
		gen "$r" proxy "$s" "${TLS[@]}"
		[ -n "$BASE" ] && gen "$r" base "$s" "${TLS[@]}"
		gen "$r" plain "$s" "${PLAIN[@]}"
		gen "$r" inproc "$s" "${TLS[@]}"
		nbdcopies "$r" nbdcopy-tls "$TLS_URI"
		nbdcopies "$r" nbdcopy-plain "$PLAIN_URI"
	else
		gen "$r" inproc "$s" "${TLS[@]}"
		gen "$r" plain "$s" "${PLAIN[@]}"
		[ -n "$BASE" ] && gen "$r" base "$s" "${TLS[@]}"
		gen "$r" proxy "$s" "${TLS[@]}"
		nbdcopies "$r" nbdcopy-plain "$PLAIN_URI"
		nbdcopies "$r" nbdcopy-tls "$TLS_URI"
	fi
	echo "host-bench: round $r done" >&2
done

# Exec to ready: start proxybench, negotiate, TLS, fork the proxy, then
# straight back out (NBD_CMD_DISC, close_notify, reap).
for _ in $(seq "$READY_RUNS"); do
	t0=${EPOCHREALTIME/[.,]/}
	PROXYBENCH_T0=${EPOCHREALTIME/,/.} "$PB" -c none -- "${TLS[@]}" 2>>"$work/gen.log" |
		sed -n 's/^ready /R1 proxy ready /p' >>"$raw"
	t1=${EPOCHREALTIME/[.,]/}
	echo "R1 proxy wall usecs=$((t1 - t0))" >>"$raw"
done

# The proxy's memory with -swap: every page locked up front.
"$PB" -T "$SECS" -c read:8:1m,write:8:1m -- -swap "${TLS[@]}" 2>>"$work/gen.log" |
	sed -n 's/^proxy /R1 swap proxy /p' >>"$raw"

cipher=$(sed -n 's/.*R1 proxy ready .*tls="[^,]*, \([^"]*\)".*/\1/p' "$raw" | head -1)
"$PB" -T 1 -C "${cipher:-AES-256-GCM}" | sed 's/^/R1 ceiling /' >>"$raw"
# (it goes on through every cipher for minutes: stop at the one we want,
# and where SIGPIPE is ignored, after a minute)
timeout 60 gnutls-cli --benchmark-ciphers 2>/dev/null | awk '$1 == "AES-128-GCM" { print "R1 ceiling gnutls-cli name=AES-128-GCM gbps=" $2 * ($3 == "MB/sec" ? 0.001 : 1); exit }' >>"$raw"

echo "host: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(nproc) CPUs, $(uname -r); nbdkit $(nbdkit --version | cut -d' ' -f2) null ${GIB}G + noextents on loopback; $(nbdcopy --version | head -1)"
echo "$ROUNDS rounds of ${SECS}s a cell, medians; proxy and plain are proxybench (tests/bench/proxybench.c)"
echo
awk -f "$here/stats.awk" -f "$here/host-table.awk" "$raw"
