#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The client against qemu-nbd: plaintext and TLS via --object tls-creds-x509,
# with and without client certificate verification.
. "$(dirname "$0")/../lib.sh"

PKI=$T_TMP/pki
make_pki "$PKI" || { echo "Bail out! cannot make test certificates"; exit 1; }
CA=$PKI/ca/ca-cert.pem
qemu-img create -q -f qcow2 "$T_TMP/disk.qcow2" 8M

# qn_start PORT ARGS...
qn_start() {
	local port=$1
	shift
	bg qemu-nbd --persistent --bind=127.0.0.1 --port="$port" -x disk \
		-D "qemu test disk" "$@" -f qcow2 "$T_TMP/disk.qcow2"
	wait_port "$port"
}

P=$(free_port)
qn_start "$P"
nbdc --check 127.0.0.1 "$P" -N disk
expect_ok "plaintext --check"
like "$OUT" $'^export: disk\ndescription: qemu test disk\nsize: 8388608\n' "plaintext --check: name, description, size"
like "$OUT" $'\nblock size: minimum 1, preferred 4096, maximum 33554432\n|\nblock size: minimum [0-9]+, preferred [0-9]+, maximum [0-9]+\n' "qemu-nbd advertises block sizes"
nbdc -l 127.0.0.1 "$P"
expect_ok "plaintext -list"
is "$OUT" $'disk\tqemu test disk' "-list output"
stop_bg "$BG_PID"

P=$(free_port)
qn_start "$P" --object "tls-creds-x509,id=tls0,dir=$PKI/ca,endpoint=server,verify-peer=off" --tls-creds tls0
nbdc --check localhost "$P" -N disk
expect_fail 1 "the server requires TLS (it answered NBD_OPT_GO with NBD_REP_ERR_TLS_REQD): pass -cacertfile FILE (or -enable-tls to use the system CAs, or --psk-file FILE) or use an nbds:// URI (server said: \"Option 0x7 not permitted before TLS\")" "qemu-nbd with TLS, client without"
nbdc --check localhost "$P" -N disk -A "$CA"
expect_ok "TLS --check"
like "$OUT" $'\ntls: TLS1\\.[23], ' "TLS --check: encrypted"
nbdc -l localhost "$P" -A "$CA"
expect_ok "-list over TLS"
is "$OUT" $'disk\tqemu test disk' "-list over TLS output"
nbdc --check localhost "$P" -N disk -A "$PKI/wrongca/ca-cert.pem"
expect_fail 1 "TLS handshake with localhost:$P failed: the server certificate is not trusted: it is signed by an unknown CA (pass the right -cacertfile)" "qemu-nbd: wrong CA"
nbdc --check 127.0.0.1 "$P" -N disk -A "$CA" -H otherhost
expect_fail 1 "TLS handshake with 127.0.0.1:$P failed: the server certificate is not trusted: its name does not match 'otherhost' (check the host name, or pass -tlshostname NAME)" "qemu-nbd: wrong host name"
stop_bg "$BG_PID"

P=$(free_port)
qn_start "$P" --object "tls-creds-x509,id=tls0,dir=$PKI/ca,endpoint=server,verify-peer=on" --tls-creds tls0
nbdc --check localhost "$P" -N disk -A "$CA" -F "$PKI/ca/client-cert.pem" -K "$PKI/ca/client-key.pem"
expect_ok "qemu-nbd verify-peer=on with a client certificate"
nbdc --check localhost "$P" -N disk -A "$CA"
is "$RC" 1 "qemu-nbd verify-peer=on without a client certificate: exit 1"
like "$ERR" "^nbd-client: .*localhost:$P" "without a client certificate: error names the server"
stop_bg "$BG_PID"

done_testing
