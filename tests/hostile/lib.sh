# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2034  # variables are for the sourcing script
# Helpers for TAP test scripts that run the client against hostile_server.py.
# Source it from bash:  . "$(dirname "$0")/lib.sh"
#
#   hostile_start MODE [ARGS...]
#                        start a server in MODE (one connection, then it
#                        exits), ARGS passed on to it (e.g. --tls-cert F
#                        --tls-key F); sets HOSTILE_PORT, HOSTILE_LOG,
#                        HOSTILE_PID.  Fails if no port file appears
#                        within 5 s.
#   hostile_wait [SECS]  wait (whole seconds, default 5) for the server to
#                        exit by itself, so that $HOSTILE_LOG is complete;
#                        returns 1 if it did not.
#   hostile_stop         kill the server (if still running) and reap it.
#                        $HOSTILE_LOG stays readable until the script exits.
#   hostile_cleanup      stop the server and remove all temp dirs; installed
#                        as the EXIT trap (call it yourself if you replace
#                        that trap).

HOSTILE_SERVER=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/hostile_server.py
HOSTILE_PORT='' HOSTILE_LOG='' HOSTILE_PID=''
HOSTILE_DIRS=()

hostile_start() {
	local mode=$1 dir i
	shift
	hostile_stop
	dir=$(mktemp -d "${TMPDIR:-/tmp}/hostile.XXXXXX") || return 1
	HOSTILE_DIRS+=("$dir")
	HOSTILE_LOG=$dir/log
	HOSTILE_PORT=''
	"${PYTHON:-python3}" "$HOSTILE_SERVER" --mode "$mode" \
		--log "$HOSTILE_LOG" --port-file "$dir/port" "$@" \
		>"$dir/stdout" 2>"$dir/stderr" &
	HOSTILE_PID=$!
	for ((i = 0; i < 100; i++)); do
		if [[ -s $dir/port ]]; then
			HOSTILE_PORT=$(<"$dir/port")
			return 0
		fi
		kill -0 "$HOSTILE_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# hostile_start $mode: server did not start" >&2
	sed 's/^/# /' "$dir/stderr" >&2 || :
	hostile_stop
	return 1
}

hostile_wait() {
	local i n=$((${1:-5} * 20))
	[[ -n $HOSTILE_PID ]] || return 0
	for ((i = 0; i < n; i++)); do
		if ! kill -0 "$HOSTILE_PID" 2>/dev/null; then
			wait "$HOSTILE_PID" 2>/dev/null || :
			HOSTILE_PID=
			return 0
		fi
		sleep 0.05
	done
	return 1
}

hostile_stop() {
	[[ -n $HOSTILE_PID ]] || return 0
	kill "$HOSTILE_PID" 2>/dev/null || :
	wait "$HOSTILE_PID" 2>/dev/null || :
	HOSTILE_PID=
	return 0
}

hostile_cleanup() {
	hostile_stop
	if ((${#HOSTILE_DIRS[@]})); then
		rm -rf -- "${HOSTILE_DIRS[@]}" || :
	fi
	HOSTILE_DIRS=()
}

trap hostile_cleanup EXIT

# now_ms: milliseconds since the epoch (for run times).
now_ms() {
	local ns
	ns=$(date +%s%N)
	echo $((ns / 1000000))
}

# leftovers MARK: the PIDs (one line, space-separated; empty when none) of
# processes still running with NBDC_TEST_MARK=MARK in their environment,
# i.e. what a client started with that mark left behind.
leftovers() {
	local f pids=()
	while IFS= read -r f; do
		f=${f#/proc/}
		pids+=("${f%/environ}")
	done < <(grep -lzxF "NBDC_TEST_MARK=$1" /proc/[0-9]*/environ \
		2>/dev/null)
	echo "${pids[*]}"
}
