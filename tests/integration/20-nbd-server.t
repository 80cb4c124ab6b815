#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The client against the reference nbd-server: plaintext and TLS (which
# nbd-server only offers with client certificates), -list and --check.
. "$(dirname "$0")/../lib.sh"

PKI=$T_TMP/pki
make_pki "$PKI" || { echo "Bail out! cannot make test certificates"; exit 1; }
CA=$PKI/ca/ca-cert.pem
CLIENT=(-F "$PKI/ca/client-cert.pem" -K "$PKI/ca/client-key.pem")
head -c 3145728 /dev/zero >"$T_TMP/disk.img"
head -c 1048576 /dev/zero >"$T_TMP/other.img"

# ns_start PORT [EXTRA generic lines]: nbd-server daemon with two exports
ns_start() {
	local port=$1 cfg=$T_TMP/ns-$1.conf
	{
		printf '[generic]\nport = %s\nlistenaddr = 127.0.0.1\nallowlist = true\n' "$port"
		shift
		printf '%s\n' "$@"
		printf '[disk]\nexportname = %s\n' "$T_TMP/disk.img"
		printf '[other]\nexportname = %s\nreadonly = true\n%s\n' "$T_TMP/other.img" "${OTHER_EXTRA:-}"
	} >"$cfg"
	nbd-server -C "$cfg" -p "$T_TMP/ns-$port.pid" >>"$T_TMP/servers.log" 2>&1
	wait_port "$port" || return 1
	for _ in $(seq 50); do [ -s "$T_TMP/ns-$port.pid" ] && break; sleep 0.05; done
	T_PIDS+=("$(cat "$T_TMP/ns-$port.pid")")
}

P=$(free_port)
ns_start "$P"
nbdc -l 127.0.0.1 "$P"
expect_ok "plaintext -list"
is "$(sort <<<"$OUT")" $'disk\nother' "plaintext -list shows both exports"
nbdc --check 127.0.0.1 "$P" -N disk
expect_ok "plaintext --check"
like "$OUT" $'^export: disk\nsize: 3145728\nflags: 0x[0-9a-f]{4} HAS_FLAGS' "plaintext --check: name, size, flags"
nbdc --check 127.0.0.1 "$P" -N other --json
expect_ok "--check --json on a read-only export"
like "$OUT" '"size": 1048576, .*"READ_ONLY"' "--json: size and READ_ONLY"
nbdc --check 127.0.0.1 "$P" -N disk -g
expect_ok "-no-optgo: NBD_OPT_EXPORT_NAME"
like "$OUT" $'^export: disk\nsize: 3145728\n' "-no-optgo: size from EXPORT_NAME"
nbdc --check 127.0.0.1 "$P" -N nosuch
is "$RC" 1 "unknown export: exit 1"
like "$ERR" "^nbd-client: export 'nosuch' does not exist on the server \\(list the exports with -list\\)" "unknown export: message"
nbdc --check 127.0.0.1 "$P" -N disk -A "$CA" "${CLIENT[@]}"
like "$ERR" '^nbd-client: the server (does not support TLS \(NBD_REP_ERR_UNSUP\)|refused TLS by policy \(NBD_REP_ERR_POLICY\)).*TLS was required, so the connection was closed without sending anything in plaintext' "TLS asked of a server without TLS: refused"
is "$RC" 1 "TLS asked of a server without TLS: exit 1"

P=$(free_port)
ns_start "$P" "certfile = $PKI/ca/server-cert.pem" "keyfile = $PKI/ca/server-key.pem" \
	"cacertfile = $CA" "force_tls = true"
nbdc --check localhost "$P" -N disk
expect_fail 1 "the server requires TLS (it answered NBD_OPT_GO with NBD_REP_ERR_TLS_REQD): pass -cacertfile FILE (or -enable-tls to use the system CAs, or --psk-file FILE) or use an nbds:// URI (server said: \"TLS is required on this server\")" "nbd-server with force_tls, client without TLS"
nbdc -l localhost "$P" -A "$CA" "${CLIENT[@]}"
expect_ok "-list over TLS"
is "$(sort <<<"$OUT")" $'disk\nother' "-list over TLS output"
nbdc --check localhost "$P" -N disk -A "$CA" "${CLIENT[@]}"
expect_ok "--check over TLS with client certificate"
like "$OUT" $'^export: disk\nsize: 3145728\n.*\ntls: TLS1\\.[23], ' "--check over TLS: size and TLS"
nbdc --check localhost "$P" -N disk -A "$PKI/wrongca/ca-cert.pem" "${CLIENT[@]}"
expect_fail 1 "TLS handshake with localhost:$P failed: the server certificate is not trusted: it is signed by an unknown CA (pass the right -cacertfile)" "nbd-server: wrong CA"
nbdc --check "nbds://localhost:$P/disk?tls-certificates=$PKI/certdir"
expect_ok "nbds:// URI with a certificate directory"
nbdc --check localhost "$P" -N disk -A "$CA"
is "$RC" 1 "nbd-server requires a client certificate: exit 1"
is "$ERR" "nbd-client: the server localhost:$P refused the TLS connection: it asked for a client certificate and none was given (pass -certfile FILE and -keyfile FILE)" "no client certificate: the refusal is reported"

# SELECTIVETLS: TLS offered, required only for export "other"
P=$(free_port)
OTHER_EXTRA="force_tls = true" ns_start "$P" "certfile = $PKI/ca/server-cert.pem" \
	"keyfile = $PKI/ca/server-key.pem" "cacertfile = $CA"
nbdc --check 127.0.0.1 "$P" -N disk
expect_ok "selective TLS: a plaintext export without TLS"
like "$OUT" $'\ntls: none$' "selective TLS: plaintext export is not encrypted"
nbdc --check 127.0.0.1 "$P" -N other
expect_fail 1 "the server requires TLS (it answered NBD_OPT_GO with NBD_REP_ERR_TLS_REQD): pass -cacertfile FILE (or -enable-tls to use the system CAs, or --psk-file FILE) or use an nbds:// URI (server said: \"TLS is required for that export\")" "selective TLS: TLS-only export without TLS"
nbdc --check localhost "$P" -N other -A "$CA" "${CLIENT[@]}"
expect_ok "selective TLS: TLS-only export with TLS"
like "$OUT" $'^export: other\nsize: 1048576\n.*\ntls: TLS1' "selective TLS: TLS-only export over TLS"
nbdc -l 127.0.0.1 "$P"
expect_ok "selective TLS: -list without TLS"
is "$OUT" "disk" "selective TLS: -list without TLS omits the TLS-only export"
nbdc -l localhost "$P" -A "$CA" "${CLIENT[@]}"
is "$(sort <<<"$OUT")" $'disk\nother' "selective TLS: -list over TLS shows both"

done_testing
