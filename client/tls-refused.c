// SPDX-License-Identifier: GPL-2.0-or-later
/* Did the server refuse our client certificate?  See tls-refused.h. */
#include <stdarg.h>
#include <stdio.h>

#include <gnutls/x509.h>

#include "tls-refused.h"

/* The issuer of our client certificate (the first one loaded), or "". */
static void our_issuer(gnutls_session_t s, char *buf, size_t len)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_x509_crt_t *crts = NULL;
	unsigned int n = 0, i;
	size_t sz = len;

	buf[0] = 0;
	if (gnutls_credentials_get(s, GNUTLS_CRD_CERTIFICATE,
				   (void **)&cred) < 0 || !cred ||
	    gnutls_certificate_get_x509_crt(cred, 0, &crts, &n) < 0)
		return;
	if (n && gnutls_x509_crt_get_issuer_dn(crts[0], buf, &sz) < 0)
		buf[0] = 0;
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	if (!n)
		buf[0] = 0;
}

/* The message says all: where it surfaced (sending or waiting for the
 * first option after the handshake) is left out of it. */
static int __attribute__((format(printf, 2, 3)))
refusal(struct nbd_err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return 1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return 1;
}

int tls_cert_refused(gnutls_session_t s, int r, bool tls_ready,
		     bool tls_data, const char *peer, struct nbd_err *e)
{
	char alert[128] = "", issuer[256];

	if (!s || !gnutls_certificate_client_get_request_status(s))
		return 0;
	if (r != GNUTLS_E_PREMATURE_TERMINATION && r != GNUTLS_E_PULL_ERROR &&
	    r != GNUTLS_E_PUSH_ERROR && r != GNUTLS_E_FATAL_ALERT_RECEIVED &&
	    (tls_ready || r != GNUTLS_E_UNEXPECTED_PACKET))
		return 0;
	if (tls_data)
		return 0;
	if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
		snprintf(alert, sizeof(alert), " with alert '%s'",
			 gnutls_alert_get_name(gnutls_alert_get(s)));
	our_issuer(s, issuer, sizeof(issuer));
	if (!issuer[0])
		return refusal(e, "the server %s refused the TLS connection%s: it asked for a client certificate and none was given (pass -certfile FILE and -keyfile FILE)",
			       peer, alert);
	if (!gnutls_certificate_get_ours(s))
		return refusal(e, "the server %s refused the TLS connection%s: it asked for a client certificate from a CA it trusts, and ours (issued by '%s') is not, so none was sent (pass a -certfile and -keyfile from the server's CA)",
			       peer, alert, issuer);
	return refusal(e, "the server %s refused the TLS connection%s: it did not accept our client certificate, issued by '%s' (check that -certfile is from the server's CA and valid now)",
		       peer, alert, issuer);
}
