# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# TAP helpers shared by the bash test scripts (integration, hostile).
#
#   nbdc ARGS...          run the client under test ($NBDC) with a hard
#                         timeout; sets RC, OUT, ERR (stdout/stderr text)
#   is GOT WANT NAME      string equality
#   like GOT REGEX NAME   bash regex match
#   expect_ok NAME        RC 0 and empty stderr (two assertions)
#   expect_fail RC ERRTEXT NAME   RC and stderr exactly "nbd-client: ERRTEXT"
#   done_testing          print the plan; exit non-zero on any failure
#   free_port             print a free TCP port on 127.0.0.1
#   wait_port PORT        wait (5 s max) until something listens on PORT
#   make_pki DIR          test CA, server and client certificates, a second
#                         unrelated CA, an expired server certificate
#                         (DIR/expired) and a PSK file, made fresh with
#                         certtool/psktool (never committed)
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NBDC=${NBDC:-$TOP/build/nbd-client}
T_N=0
T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/nbdc-test.XXXXXX")
T_PIDS=()

t_cleanup() {
	local p
	for p in "${T_PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	rm -rf "$T_TMP"
	if declare -F hostile_cleanup >/dev/null; then hostile_cleanup; fi
}
trap t_cleanup EXIT

t_result() {
	local pass=$1 name=$2
	T_N=$((T_N + 1))
	if [ "$pass" = 1 ]; then
		echo "ok $T_N - $name"
	else
		echo "not ok $T_N - $name"
		T_FAILED=$((T_FAILED + 1))
	fi
}

# t_diag LABEL TEXT: TEXT as TAP comments; every line of a multi-line TEXT
# (a whole stderr) gets its '#', so none can pass for a TAP line.
t_diag() {
	local label=$1 line
	while IFS= read -r line; do
		printf '#   %s%s\n' "$label" "$line"
		label="${label//?/ }"
	done <<<"$2"
}

is() {
	if [ "$1" == "$2" ]; then
		t_result 1 "$3"
	else
		t_result 0 "$3"
		t_diag "got:  " "$1"
		t_diag "want: " "$2"
	fi
}

like() {
	if [[ $1 =~ $2 ]]; then
		t_result 1 "$3"
	else
		t_result 0 "$3"
		t_diag "got:  " "$1"
		t_diag "want match: " "$2"
	fi
}

# nbdc ARGS...: run the client; a hang is a failure (RC 124).
nbdc() {
	timeout "${NBDC_TIMEOUT:-20}" "$NBDC" "$@" >"$T_TMP/out" 2>"$T_TMP/err"
	RC=$?
	OUT=$(cat "$T_TMP/out")
	ERR=$(cat "$T_TMP/err")
}

# expect_fail RC "message" NAME: exact exit code, exact one-line stderr.
expect_fail() {
	is "$RC" "$1" "$3: exit code $1"
	is "$ERR" "nbd-client: $2" "$3: error message"
}

# expect_ok NAME: exit 0 and nothing on stderr (two assertions).
expect_ok() {
	is "$RC" 0 "$1: exit code 0"
	is "$ERR" "" "$1: nothing on stderr"
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" = 0 ]
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
	local i
	for i in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "# nothing listens on port $1" >&2
	return 1
}

wait_unix() {
	local i
	for i in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	echo "# no socket at $1" >&2
	return 1
}

# bg CMD...: start a server in the background, remembered for cleanup.
bg() {
	"$@" >>"$T_TMP/servers.log" 2>&1 &
	T_PIDS+=($!)
	BG_PID=$!
}

stop_bg() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

make_pki() {
	local d=$1
	mkdir -p "$d/ca" "$d/wrongca" "$d/certdir"
	(
		cd "$d" || exit 1
		printf 'cn = Test CA\nca\ncert_signing_key\nexpiration_days = 2\n' >ca.info
		printf 'cn = Wrong CA\nca\ncert_signing_key\nexpiration_days = 2\n' >wrongca.info
		printf 'organization = Test\ncn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 2\n' >server.info
		printf 'organization = Test\ncn = client\ntls_www_client\nencryption_key\nsigning_key\nexpiration_days = 2\n' >client.info
		certtool -q --generate-privkey --outfile ca/ca-key.pem
		certtool -q --generate-self-signed --load-privkey ca/ca-key.pem \
			--template ca.info --outfile ca/ca-cert.pem
		certtool -q --generate-privkey --outfile wrongca/ca-key.pem
		certtool -q --generate-self-signed --load-privkey wrongca/ca-key.pem \
			--template wrongca.info --outfile wrongca/ca-cert.pem
		certtool -q --generate-privkey --outfile ca/server-key.pem
		certtool -q --generate-certificate --load-privkey ca/server-key.pem \
			--load-ca-certificate ca/ca-cert.pem --load-ca-privkey ca/ca-key.pem \
			--template server.info --outfile ca/server-cert.pem
		certtool -q --generate-privkey --outfile ca/client-key.pem
		certtool -q --generate-certificate --load-privkey ca/client-key.pem \
			--load-ca-certificate ca/ca-cert.pem --load-ca-privkey ca/ca-key.pem \
			--template client.info --outfile ca/client-cert.pem
		cp ca/ca-cert.pem ca/client-cert.pem ca/client-key.pem certdir/
		mkdir -p expired
		printf 'cn = localhost\ndns_name = localhost\ntls_www_server\nencryption_key\nsigning_key\nactivation_date = "2020-01-01 00:00:00"\nexpiration_date = "2021-01-01 00:00:00"\n' >expired.info
		certtool -q --generate-certificate --load-privkey ca/server-key.pem \
			--load-ca-certificate ca/ca-cert.pem --load-ca-privkey ca/ca-key.pem \
			--template expired.info --outfile expired/server-cert.pem
		cp ca/ca-cert.pem ca/server-key.pem expired/
		psktool -u alice -p keys.psk >/dev/null
		psktool -u bob -p keys.psk >/dev/null
		grep '^alice:' keys.psk >alice.psk
		chmod 600 keys.psk alice.psk	# or the client warns
	) >"$d/pki.log" 2>&1 || { cat "$d/pki.log" >&2; return 1; }
}

# make_pki_extra DIR: after make_pki DIR, what the certificate failure tests
# (integration/80-certs.t) need, each directory laid out as nbdkit's and
# qemu's --tls-certificates / dir= expect (ca-cert.pem, server-cert.pem,
# server-key.pem; the CA is make_pki's):
#   wrongname/  a server certificate for other.example.com only
#   dnsonly/    a server certificate for DNS name localhost, no IP address
#   future/     a server certificate valid from 2099 (not yet valid)
#   wrongca/client-cert.pem, client-key.pem   a client certificate from the
#               second CA
#   mismatch/client-cert.pem, client-key.pem  make_pki's client certificate
#               with another key
make_pki_extra() {
	local d=$1 n
	(
		cd "$d" || exit 1
		printf 'cn = other.example.com\ndns_name = other.example.com\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 2\n' >wrongname.info
		printf 'cn = localhost\ndns_name = localhost\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 2\n' >dnsonly.info
		printf 'cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\nsigning_key\nactivation_date = "2099-01-01 00:00:00"\nexpiration_date = "2100-01-01 00:00:00"\n' >future.info
		for n in wrongname dnsonly future; do
			mkdir -p "$n"
			certtool -q --generate-certificate --load-privkey ca/server-key.pem \
				--load-ca-certificate ca/ca-cert.pem --load-ca-privkey ca/ca-key.pem \
				--template "$n.info" --outfile "$n/server-cert.pem"
			cp ca/ca-cert.pem ca/server-key.pem "$n/"
		done
		certtool -q --generate-privkey --outfile wrongca/client-key.pem
		certtool -q --generate-certificate --load-privkey wrongca/client-key.pem \
			--load-ca-certificate wrongca/ca-cert.pem --load-ca-privkey wrongca/ca-key.pem \
			--template client.info --outfile wrongca/client-cert.pem
		mkdir -p mismatch
		cp ca/client-cert.pem mismatch/
		certtool -q --generate-privkey --outfile mismatch/client-key.pem
		chmod 600 ca/client-key.pem wrongca/client-key.pem mismatch/client-key.pem
	) >>"$d/pki.log" 2>&1 || { cat "$d/pki.log" >&2; return 1; }
}
