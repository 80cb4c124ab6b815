#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The client against nbdkit: plaintext, X.509 TLS (CA, client certificates),
# PSK, wrong CA, wrong host name, TLS required without TLS configured, the
# three --tls modes, -list and --check, URIs, Unix sockets.
. "$(dirname "$0")/../lib.sh"

PKI=$T_TMP/pki
make_pki "$PKI" || { echo "Bail out! cannot make test certificates"; exit 1; }
CA=$PKI/ca/ca-cert.pem

# nbdkit_start PORT ARGS...: an nbdkit on 127.0.0.1:PORT with a named export
nbdkit_start() {
	local port=$1
	shift
	bg nbdkit -f -i 127.0.0.1 -p "$port" "$@" \
		--filter=exportname memory 4M \
		exportname=disk exportdesc=fixed:"the test disk" exportname-list=explicit \
		exportname-strict=true
	wait_port "$port"
}

CHECK_TEXT='export: disk
description: the test disk
size: 4194304'

# --- plaintext ----------------------------------------------------------
P=$(free_port)
nbdkit_start "$P" --tls=off
nbdc --check 127.0.0.1 "$P" -N disk
expect_ok "plaintext --check"
like "$OUT" "^$CHECK_TEXT" "plaintext --check: export, description, size"
like "$OUT" $'\ntls: none$' "plaintext --check: no TLS"
nbdc -l 127.0.0.1 "$P"
expect_ok "plaintext -list"
is "$OUT" $'disk\tthe test disk' "plaintext -list prints the export and its description"
nbdc --check "nbd://127.0.0.1:$P/disk" --json
expect_ok "--check --json via nbd:// URI"
like "$OUT" '^\{"export": "disk", "description": "the test disk", "size": 4194304, "transmission_flags": [0-9]+, "flags": \["HAS_FLAGS",.*"CAN_MULTI_CONN".*\], "block_size": .*, "tls": null\}$' "--json output"
nbdc --check 127.0.0.1 "$P" -N nosuch
expect_fail 1 "export 'nosuch' does not exist on the server (list the exports with -list)" "unknown export"
nbdc --check 127.0.0.1 "$P" -N disk -A "$CA"
expect_fail 1 "the server refused TLS by policy (NBD_REP_ERR_POLICY); TLS was required, so the connection was closed without sending anything in plaintext (use a TLS-enabled server, or drop the TLS options only if an unencrypted connection is acceptable)" "TLS asked, server has TLS off (nbdkit answers POLICY)"
stop_bg "$BG_PID"

# --- TLS required by the server -----------------------------------------
P=$(free_port)
nbdkit_start "$P" --tls=require --tls-certificates="$PKI/ca"
nbdc --check 127.0.0.1 "$P" -N disk
expect_fail 1 "the server requires TLS (it answered NBD_OPT_GO with NBD_REP_ERR_TLS_REQD): pass -cacertfile FILE (or -enable-tls to use the system CAs, or --psk-file FILE) or use an nbds:// URI" "server requires TLS, client has none" 2>/dev/null
like "$ERR" '^nbd-client: the server requires TLS \(it answered NBD_OPT_GO with NBD_REP_ERR_TLS_REQD\): pass -cacertfile FILE' "TLS required: hint"
nbdc -l 127.0.0.1 "$P"
like "$ERR" '^nbd-client: the server requires TLS \(it answered NBD_OPT_LIST with NBD_REP_ERR_TLS_REQD\)' "-list without TLS on a TLS-only server: hint"
nbdc --check localhost "$P" -N disk -A "$CA"
expect_ok "TLS with CA (host name localhost)"
like "$OUT" "^$CHECK_TEXT" "TLS --check output"
like "$OUT" $'\ntls: TLS1\\.[23], [A-Z0-9-]+$' "TLS --check shows version and cipher"
nbdc --check 127.0.0.1 "$P" -N disk -A "$CA"
expect_ok "TLS with CA (IP address in the certificate)"
nbdc -l localhost "$P" -A "$CA"
expect_ok "-list over TLS"
is "$OUT" $'disk\tthe test disk' "-list over TLS output"
nbdc --check localhost "$P" -N disk -A "$PKI/wrongca/ca-cert.pem"
expect_fail 1 "TLS handshake with localhost:$P failed: the server certificate is not trusted: it is signed by an unknown CA (pass the right -cacertfile)" "wrong CA"
nbdc --check localhost "$P" -N disk -A "$CA" -H wrong.example.com
expect_fail 1 "TLS handshake with localhost:$P failed: the server certificate is not trusted: its name does not match 'wrong.example.com' (check the host name, or pass -tlshostname NAME)" "wrong host name"
nbdc --check localhost "$P" -N disk -x
expect_fail 1 "TLS handshake with localhost:$P failed: the server certificate is not trusted: it is signed by an unknown CA (pass the right -cacertfile)" "-enable-tls with the system CAs does not trust a private CA"
nbdc --check "nbds://localhost:$P/disk?tls-certificates=$PKI/certdir"
expect_ok "nbds:// URI with tls-certificates="
nbdc --check localhost "$P" -N disk -A "$CA" --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2"
expect_ok "--priority restricting to TLS 1.2"
like "$OUT" $'\ntls: TLS1\\.2, ' "--priority: TLS 1.2 was negotiated"
nbdc --check localhost "$P" -N disk -A "$CA" --priority "NORMAL:-VERS-ALL:+VERS-TLS1.1"
expect_fail 1 "TLS handshake with localhost:$P negotiated TLS1.1; TLS 1.2 or later is required" "a --priority allowing only TLS 1.1 is still refused"
nbdc --check localhost "$P" -N disk -A "$CA" --priority "BOGUS"
expect_fail 1 "invalid TLS priority string 'BOGUS' (at 'BOGUS'): The request is invalid." "bad priority string"
stop_bg "$BG_PID"

# --- an expired server certificate ------------------------------------------
P=$(free_port)
nbdkit_start "$P" --tls=require --tls-certificates="$PKI/expired"
nbdc --check localhost "$P" -N disk -A "$CA"
expect_fail 1 "TLS handshake with localhost:$P failed: the server certificate is not trusted: it has expired" "expired server certificate"
stop_bg "$BG_PID"

# --- TLS optional on the server ------------------------------------------
P=$(free_port)
nbdkit_start "$P" --tls=on --tls-certificates="$PKI/ca"
nbdc --check localhost "$P" -N disk
expect_ok "optional TLS, client without TLS: plaintext"
like "$OUT" $'\ntls: none$' "optional TLS, client without TLS: reports no TLS"
nbdc --check localhost "$P" -N disk -A "$CA"
expect_ok "optional TLS, client with TLS"
like "$OUT" $'\ntls: TLS1' "optional TLS, client with TLS: encrypted"
stop_bg "$BG_PID"

# --- client certificates required -----------------------------------------
P=$(free_port)
nbdkit_start "$P" --tls=require --tls-certificates="$PKI/ca" --tls-verify-peer
nbdc --check localhost "$P" -N disk -A "$CA" -F "$PKI/ca/client-cert.pem" -K "$PKI/ca/client-key.pem"
expect_ok "client certificate accepted"
nbdc --check localhost "$P" -N disk -A "$CA"
expect_fail 1 "the server localhost:$P refused the TLS connection: it asked for a client certificate and none was given (pass -certfile FILE and -keyfile FILE)" "no client certificate: the server's refusal is reported"
nbdc --check localhost "$P" -N disk -A "$CA" -F "$PKI/nonexistent.pem" -K "$PKI/ca/client-key.pem"
expect_fail 1 "cannot read client certificate '$PKI/nonexistent.pem': No such file or directory" "missing client certificate file"
nbdc --check localhost "$P" -N disk -A "$PKI/ca.info"
expect_fail 1 "no CA certificate found in '$PKI/ca.info' (expected PEM)" "CA file without certificates"
stop_bg "$BG_PID"

# --- PSK ------------------------------------------------------------------
P=$(free_port)
nbdkit_start "$P" --tls=require --tls-psk="$PKI/keys.psk"
nbdc --check localhost "$P" -N disk --psk-file "$PKI/keys.psk" --psk-user alice
expect_ok "PSK as alice"
like "$OUT" $'\ntls: TLS1' "PSK: encrypted"
nbdc --check "nbds://alice@localhost:$P/disk?tls-psk-file=$PKI/keys.psk"
expect_ok "PSK via nbds:// URI with user in the authority"
nbdc --check localhost "$P" -N disk --psk-file "$PKI/keys.psk"
expect_fail 1 "PSK file '$PKI/keys.psk' holds several identities; choose one with --psk-user" "PSK file with two users needs --psk-user"
nbdc --check localhost "$P" -N disk --psk-file "$PKI/keys.psk" --psk-user carol
expect_fail 1 "PSK file '$PKI/keys.psk' has no key for user 'carol'" "PSK: unknown user"
sed 's/^alice:.*/alice:00112233445566778899aabbccddeeff/' "$PKI/alice.psk" >"$PKI/wrong.psk"
chmod 600 "$PKI/wrong.psk"
nbdc --check localhost "$P" -N disk --psk-file "$PKI/wrong.psk"
like "$ERR" "^nbd-client: TLS handshake with localhost:$P failed: " "PSK with the wrong key: handshake fails"
is "$RC" 1 "PSK with the wrong key: exit 1"
nbdc -l localhost "$P" --psk-file "$PKI/alice.psk"
expect_ok "-list over PSK"
is "$OUT" $'disk\tthe test disk' "-list over PSK output"
cp "$PKI/alice.psk" "$PKI/open.psk"
chmod 644 "$PKI/open.psk"
nbdc --check localhost "$P" -N disk --psk-file "$PKI/open.psk"
is "$RC" 0 "PSK file readable by others: exit code 0"
is "$ERR" "nbd-client: warning: PSK file '$PKI/open.psk' is accessible to other users (mode 0644): chmod 600 '$PKI/open.psk'" "PSK file readable by others: one warning"
like "$OUT" $'\ntls: TLS1' "PSK file readable by others: connected"
stop_bg "$BG_PID"

# --- the device the kernel would get: block size and request limit ------
# The logical block size is the server's minimum above 512, else 512 (the
# preferred size never raises it); requests stay within its maximum.
policy() {
	bg nbdkit -f -i 127.0.0.1 -p "$P" --filter=blocksize-policy memory 4M "$@"
	wait_port "$P"
}
P=$(free_port)
policy blocksize-minimum=1 blocksize-preferred=4096 blocksize-maximum=64K
nbdc --check 127.0.0.1 "$P"
expect_ok "--check, maximum 64K"
like "$OUT" $'\nblock size: minimum 1, preferred 4096, maximum 65536\ndevice block size: 512\ndevice request limit: 65536 bytes \\(the server\'s maximum payload\\)\ntls: none$' \
	"--check, preferred 4096, maximum 64K: block size 512, limit 65536"
nbdc --check 127.0.0.1 "$P" --json
like "$OUT" '"device": \{"block_size": 512, "max_request": 65536\}, "tls": null\}$' \
	"--check --json: the device's block size and request limit"
nbdc --check 127.0.0.1 "$P" -b 4096
like "$OUT" $'\ndevice block size: 4096\n' "--check -b 4096: block size 4096"
stop_bg "$BG_PID"
policy blocksize-minimum=2048 blocksize-preferred=4096
nbdc --check 127.0.0.1 "$P"
like "$OUT" $'\ndevice block size: 2048\ndevice request limit: none \\(the kernel\'s default\\)\n' \
	"--check, minimum 2048: block size 2048, no limit"
stop_bg "$BG_PID"
policy blocksize-minimum=8192 blocksize-preferred=8192
nbdc --check 127.0.0.1 "$P"
expect_fail 1 "the server's minimum block size 8192 is larger than the page size 4096, the largest block size the kernel takes" \
	"--check, minimum 8192"
like "$OUT" $'\nblock size: minimum 8192, preferred 8192, maximum [0-9]+\ntls: none$' \
	"--check, minimum 8192: what the server offers, no device"
stop_bg "$BG_PID"
policy blocksize-minimum=512 blocksize-preferred=512 blocksize-maximum=2K
nbdc --check 127.0.0.1 "$P"
expect_fail 1 "the server's maximum payload 2048 is below the page size 4096, the smallest request size limit the kernel takes" \
	"--check, maximum 2K"
stop_bg "$BG_PID"

# --- Unix socket ------------------------------------------------------------
S=$T_TMP/nbdkit.sock
bg nbdkit -f -U "$S" --tls=require --tls-psk="$PKI/keys.psk" memory 1M
wait_unix "$S"
nbdc --check "nbds+unix:///?socket=$S&tls-psk-file=$PKI/alice.psk"
expect_ok "nbds+unix:// with PSK"
like "$OUT" $'^export: \nsize: 1048576\n' "unix socket: default export, size"
nbdc -u --check "$S" --psk-file "$PKI/alice.psk"
expect_ok "-u --check SOCKET with PSK"
like "$OUT" $'^export: \nsize: 1048576\n' "-u socket: default export, size"
stop_bg "$BG_PID"

done_testing
