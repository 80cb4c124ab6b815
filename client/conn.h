/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One connection to a server during negotiation: a socket, optionally
 * wrapped in a GnuTLS session.  Every read and write is bounded by
 * timeout_ms, so a silent or slow server can never hang the client.
 */
#ifndef NBDC_CONN_H
#define NBDC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <gnutls/gnutls.h>

#include "config.h"
#include "err.h"

struct nbd_conn {
	int fd;
	gnutls_session_t tls;	/* NULL while plaintext */
	bool tls_ready;		/* handshake done: records may be sent */
	gnutls_certificate_credentials_t x509;
	gnutls_psk_client_credentials_t psk;
	int timeout_ms;		/* per read/write call; -1 = wait for ever */
	char *peer;		/* "host:port" or socket path, for messages */
};

#define NBD_DEFAULT_TIMEOUT_MS 30000

void conn_init(struct nbd_conn *c, int timeout_ms);
/* Connect to cfg's TCP host/port or Unix socket.  Leaves fd non-blocking. */
int conn_connect(struct nbd_conn *c, const struct nbd_config *cfg,
		 struct nbd_err *e);
/* Read/write exactly len bytes (through TLS once it is on). */
int conn_read(struct nbd_conn *c, void *buf, size_t len, struct nbd_err *e);
int conn_write(struct nbd_conn *c, const void *buf, size_t len,
	       struct nbd_err *e);
/* Wait until fd is readable/writable or the timeout passes. */
int conn_wait(struct nbd_conn *c, short events, struct nbd_err *e);
/* Send close_notify (if TLS) and close everything. */
void conn_close(struct nbd_conn *c);
/* Forget the session and socket without touching them (after handover). */
void conn_release(struct nbd_conn *c);

#endif
