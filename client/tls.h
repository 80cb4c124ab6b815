/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS for a negotiating connection: credentials (X.509 or PSK), the
 * handshake with certificate and host name verification, and a summary of
 * what was negotiated.
 */
#ifndef NBDC_TLS_H
#define NBDC_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "conn.h"
#include "err.h"

/*
 * Default priority: GnuTLS's NORMAL set restricted to TLS 1.2 and 1.3, so
 * that nothing older can ever be negotiated unless the user asks for it.
 */
#define NBD_TLS_DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
/* PSK ties TLS 1.3 to SHA-256, so NORMAL would pick ChaCha20 before
 * AES-128-GCM, which is ~15x slower on AES-NI hardware: move ChaCha last. */
#define NBD_TLS_PSK_KX ":+ECDHE-PSK:+DHE-PSK:+PSK:-CHACHA20-POLY1305:+CHACHA20-POLY1305"

/* --ktls=on: only the ciphers that both GnuTLS and kernel TLS have. */
#define NBD_TLS_KTLS_CIPHERS ":-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305"

/*
 * Credentials: the CA (or the system trust store), the client certificate
 * and key, or the PSK.  Every file is read once, by tls_creds_load; from
 * then on they live in memory and serve every handshake, so a reconnect
 * needs no file (after switch_root, the initramfs that held them is gone).
 */
struct tls_creds {
	bool loaded;
	gnutls_certificate_credentials_t x509;	/* NULL with a PSK */
	gnutls_psk_client_credentials_t psk;	/* NULL with X.509 */
	/* a warning from loading them ("" if none): the caller shows it */
	char warning[NBD_ERR_MAX];
};

int tls_creds_load(struct tls_creds *cr, const struct tls_config *t,
		   struct nbd_err *e);
void tls_creds_free(struct tls_creds *cr);

/*
 * Upgrade c to TLS (called right after the server ACKed NBD_OPT_STARTTLS)
 * with loaded credentials.  host is the name the server was reached by
 * (NULL for a Unix socket): it is the default name to verify.
 */
int tls_upgrade(struct nbd_conn *c, const struct tls_config *t,
		const struct tls_creds *cr, const char *host,
		struct nbd_err *e);
/* "TLS1.3, AES-256-GCM" style summary of an active session. */
void tls_describe(gnutls_session_t s, char *buf, size_t len);
const char *tls_version_name(gnutls_session_t s);
const char *tls_cipher_name(gnutls_session_t s);

/* Read a psktool file and find user's key (hex).  Exposed for unit tests. */
int tls_psk_lookup(const char *text, const char *user, const char *origin,
		   char **user_out, char **key_out, struct nbd_err *e);

#endif
