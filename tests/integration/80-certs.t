#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Certificate failures against the three real servers (nbdkit, nbd-server,
# qemu-nbd), each with --check: wrong CA, a certificate for another name,
# an IP address where the certificate has only a DNS name, expired, not yet
# valid, no client certificate where the server requires one, a client
# certificate from another CA, a CA file that is missing, empty or not PEM,
# a client key that does not match its certificate, and a client key
# readable by others (a warning; the connection still works).  Each refusal
# is exit status 1 and exactly one line on stderr, asserted word for word.
. "$(dirname "$0")/../lib.sh"

PKI=$T_TMP/pki
{ make_pki "$PKI" && make_pki_extra "$PKI"; } ||
	{ echo "Bail out! cannot make test certificates"; exit 1; }
CA=$PKI/ca/ca-cert.pem
CLIENT=(-F "$PKI/ca/client-cert.pem" -K "$PKI/ca/client-key.pem")
OTHERCA_CLIENT=(-F "$PKI/wrongca/client-cert.pem" -K "$PKI/wrongca/client-key.pem")
TLS12=(--priority NORMAL:-VERS-ALL:+VERS-TLS1.2)
: >"$T_TMP/empty.pem"
printf 'not a certificate\n' >"$T_TMP/text.pem"
cp "$PKI/ca/client-key.pem" "$T_TMP/open-key.pem"
chmod 644 "$T_TMP/open-key.pem"
head -c 1048576 /dev/zero >"$T_TMP/disk.img"

# start SERVER DIR VERIFY: SERVER (nbdkit, nbd-server, qemu-nbd) on
# 127.0.0.1:$P serving export "disk" over TLS only, with DIR's
# server-cert.pem and server-key.pem; VERIFY=1 requires a client
# certificate from make_pki's CA (nbd-server always requires one).  Sets
# P and SRV (the server's pid).
start() {
	local dir=$2 verify=$3 cfg peer=off
	[ -n "$verify" ] && peer=on
	P=$(free_port)
	case $1 in
	nbdkit)
		bg nbdkit -f -i 127.0.0.1 -p "$P" --tls=require \
			--tls-certificates="$dir" ${verify:+--tls-verify-peer} \
			--filter=exportname memory 1M exportname=disk \
			exportname-list=explicit exportname-strict=true
		SRV=$BG_PID
		wait_port "$P"
		;;
	nbd-server)
		cfg=$T_TMP/ns-$P.conf
		{
			printf '[generic]\nport = %s\nlistenaddr = 127.0.0.1\nallowlist = true\n' "$P"
			printf 'certfile = %s\nkeyfile = %s\nforce_tls = true\n' \
				"$dir/server-cert.pem" "$dir/server-key.pem"
			# it always requires a client certificate (see
			# 20-nbd-server.t): VERIFY or not, it needs the CA
			printf 'cacertfile = %s\n' "$CA"
			printf '[disk]\nexportname = %s\n' "$T_TMP/disk.img"
		} >"$cfg"
		nbd-server -C "$cfg" -p "$T_TMP/ns-$P.pid" >>"$T_TMP/servers.log" 2>&1
		wait_port "$P"
		for _ in $(seq 50); do [ -s "$T_TMP/ns-$P.pid" ] && break; sleep 0.05; done
		SRV=$(cat "$T_TMP/ns-$P.pid")
		T_PIDS+=("$SRV")
		;;
	qemu-nbd)
		bg qemu-nbd --persistent --bind=127.0.0.1 --port="$P" -x disk \
			--object "tls-creds-x509,id=tls0,dir=$dir,endpoint=server,verify-peer=$peer" \
			--tls-creds tls0 -f raw "$T_TMP/disk.img"
		SRV=$BG_PID
		wait_port "$P"
		;;
	esac
}

untrusted() {
	echo "TLS handshake with $1 failed: the server certificate is not trusted: $2"
}

for S in nbdkit nbd-server qemu-nbd; do
	# --- a server that requires a client certificate from our CA -------
	start "$S" "$PKI/ca" 1
	nbdc --check localhost "$P" -N disk -A "$CA" "${CLIENT[@]}"
	expect_ok "$S: positive control"
	like "$OUT" $'^export: disk\nsize: 1048576\n.*\ntls: TLS1\\.3, ' "$S: positive control: TLS 1.3 --check output"
	nbdc --check localhost "$P" -N disk -A "$CA" "${CLIENT[@]}" "${TLS12[@]}"
	expect_ok "$S: positive control, TLS 1.2"

	nbdc --check localhost "$P" -N disk -A "$PKI/wrongca/ca-cert.pem" "${CLIENT[@]}"
	expect_fail 1 "$(untrusted "localhost:$P" "it is signed by an unknown CA (pass the right -cacertfile)")" "$S: wrong CA"

	nbdc --check localhost "$P" -N disk -A "$CA"
	expect_fail 1 "the server localhost:$P refused the TLS connection: it asked for a client certificate and none was given (pass -certfile FILE and -keyfile FILE)" "$S: client certificate required, none given"
	nbdc --check localhost "$P" -N disk -A "$CA" "${TLS12[@]}"
	expect_fail 1 "the server localhost:$P refused the TLS connection: it asked for a client certificate and none was given (pass -certfile FILE and -keyfile FILE)" "$S: client certificate required, none given (TLS 1.2)"

	nbdc --check localhost "$P" -N disk -A "$CA" "${OTHERCA_CLIENT[@]}"
	expect_fail 1 "the server localhost:$P refused the TLS connection: it asked for a client certificate from a CA it trusts, and ours (issued by 'CN=Wrong CA') is not, so none was sent (pass a -certfile and -keyfile from the server's CA)" "$S: client certificate from another CA"
	nbdc --check localhost "$P" -N disk -A "$CA" "${OTHERCA_CLIENT[@]}" "${TLS12[@]}"
	expect_fail 1 "the server localhost:$P refused the TLS connection: it asked for a client certificate from a CA it trusts, and ours (issued by 'CN=Wrong CA') is not, so none was sent (pass a -certfile and -keyfile from the server's CA)" "$S: client certificate from another CA (TLS 1.2)"

	nbdc --check localhost "$P" -N disk -A "$T_TMP/missing.pem" "${CLIENT[@]}"
	expect_fail 1 "cannot read CA certificate file '$T_TMP/missing.pem': No such file or directory" "$S: CA file missing"
	nbdc --check localhost "$P" -N disk -A "$T_TMP/empty.pem" "${CLIENT[@]}"
	expect_fail 1 "CA certificate file '$T_TMP/empty.pem' is empty (expected PEM certificates)" "$S: CA file empty"
	nbdc --check localhost "$P" -N disk -A "$T_TMP/text.pem" "${CLIENT[@]}"
	expect_fail 1 "no CA certificate found in '$T_TMP/text.pem' (expected PEM)" "$S: CA file not PEM"
	nbdc --check localhost "$P" -N disk -A "$PKI/ca" "${CLIENT[@]}"
	expect_fail 1 "CA certificate file '$PKI/ca' is a directory, not a file" "$S: CA file is a directory"
	nbdc --check localhost "$P" -N disk -A "$CA" -F "$PKI/ca" -K "$PKI/ca/client-key.pem"
	expect_fail 1 "client certificate '$PKI/ca' is a directory, not a file" "$S: client certificate is a directory"
	nbdc --check localhost "$P" -N disk -A "$CA" -F "$PKI/ca/client-cert.pem" -K "$PKI/ca"
	expect_fail 1 "client key '$PKI/ca' is a directory, not a file" "$S: client key is a directory"

	nbdc --check localhost "$P" -N disk -A "$CA" -F "$PKI/mismatch/client-cert.pem" -K "$PKI/mismatch/client-key.pem"
	expect_fail 1 "client key '$PKI/mismatch/client-key.pem' does not match client certificate '$PKI/mismatch/client-cert.pem' (pass the key the certificate was made for)" "$S: client key does not match the certificate"

	nbdc --check localhost "$P" -N disk -A "$CA" -F "$PKI/ca/client-cert.pem" -K "$T_TMP/open-key.pem"
	is "$RC" 0 "$S: client key readable by others: exit code 0"
	is "$ERR" "nbd-client: warning: client key '$T_TMP/open-key.pem' is accessible to other users (mode 0644): chmod 600 '$T_TMP/open-key.pem'" "$S: client key readable by others: one warning"
	like "$OUT" $'\ntls: TLS1\\.3, ' "$S: client key readable by others: connected"
	nbdc -l localhost "$P" -A "$CA" -F "$PKI/ca/client-cert.pem" -K "$T_TMP/open-key.pem"
	is "$RC.$OUT" "0.disk" "$S: client key readable by others: -list works"
	is "$ERR" "nbd-client: warning: client key '$T_TMP/open-key.pem' is accessible to other users (mode 0644): chmod 600 '$T_TMP/open-key.pem'" "$S: client key readable by others: -list warns once"
	stop_bg "$SRV"

	# --- server certificates that must be refused ----------------------
	start "$S" "$PKI/wrongname" ""
	nbdc --check localhost "$P" -N disk -A "$CA" "${CLIENT[@]}"
	expect_fail 1 "$(untrusted "localhost:$P" "its name does not match 'localhost' (check the host name, or pass -tlshostname NAME)")" "$S: certificate for another name"
	stop_bg "$SRV"

	start "$S" "$PKI/dnsonly" ""
	nbdc --check localhost "$P" -N disk -A "$CA" "${CLIENT[@]}"
	expect_ok "$S: DNS-only certificate, connected by name"
	nbdc --check 127.0.0.1 "$P" -N disk -A "$CA" "${CLIENT[@]}"
	expect_fail 1 "$(untrusted "127.0.0.1:$P" "it holds DNS names only ('localhost'), not the IP address 127.0.0.1 (connect by name, or pass -tlshostname localhost)")" "$S: IP address, DNS-only certificate"
	stop_bg "$SRV"

	for c in expired:"it has expired" future:"it is not yet valid (check the clock)"; do
		if [ "$S" = qemu-nbd ]; then
			# qemu-nbd checks its own certificate's dates and
			# will not serve it: the client never sees one
			timeout 20 qemu-nbd --bind=127.0.0.1 --port="$(free_port)" \
				--object "tls-creds-x509,id=tls0,dir=$PKI/${c%%:*},endpoint=server,verify-peer=off" \
				--tls-creds tls0 -f raw "$T_TMP/disk.img" 2>"$T_TMP/qn.err"
			is "$?" 1 "$S: refuses to serve a ${c%%:*} certificate"
			like "$(cat "$T_TMP/qn.err")" "server certificate .*/${c%%:*}/server-cert.pem (has expired|is not yet active)" "$S: says why it will not serve a ${c%%:*} certificate"
			continue
		fi
		start "$S" "$PKI/${c%%:*}" ""
		nbdc --check localhost "$P" -N disk -A "$CA" "${CLIENT[@]}"
		expect_fail 1 "$(untrusted "localhost:$P" "${c#*:}")" "$S: ${c%%:*} certificate"
		stop_bg "$SRV"
	done
done

done_testing
