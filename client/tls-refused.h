/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Why a TLS session ended before the server took us: when it asked for a
 * client certificate and then hung up, say what we can know.  Used by the
 * handshake (tls.c) and by the first records after it (conn.c); it knows
 * the session, not the connection, so neither depends on the other.
 */
#ifndef NBDC_TLS_REFUSED_H
#define NBDC_TLS_REFUSED_H

#include <stdbool.h>
#include <gnutls/gnutls.h>

#include "err.h"

/*
 * Session s ended with GnuTLS error r, in the handshake (tls_ready false)
 * or in a record after it.  tls_data: data already came over TLS (then the
 * server took us, and this is not a refusal).  peer names the server.
 * Returns 1 and sets e (when not NULL) to the whole message when the
 * server refused our certificate (none given, ours not from a CA it
 * accepts, or refused); 0 otherwise, e untouched.
 */
int tls_cert_refused(gnutls_session_t s, int r, bool tls_ready,
		     bool tls_data, const char *peer, struct nbd_err *e);

#endif
