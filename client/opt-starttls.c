// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NBD_OPT_STARTTLS.  Sent first, at most once, only after fixed newstyle was
 * agreed.  On ACK the upgrade happens at once; on any refusal the client,
 * which asked for TLS, goes no further in plaintext: it sends
 * NBD_OPT_ABORT and stops.
 */
#include "nego.h"
#include "proto.h"
#include "tls.h"

static int refused(struct nbd_session *s, const struct opt_reply *r,
		   const uint8_t *payload, struct nbd_err *e)
{
	char said[256] = "";
	const char *why;

	optreply_sanitize(payload, r->len, said, sizeof(said));
	switch (r->type) {
	case NBD_REP_ERR_UNSUP:
		why = "the server does not support TLS (NBD_REP_ERR_UNSUP)";
		break;
	case NBD_REP_ERR_POLICY:
		why = "the server refused TLS by policy (NBD_REP_ERR_POLICY)";
		break;
	case NBD_REP_ERR_INVALID:
		why = "the server rejected NBD_OPT_STARTTLS as invalid (NBD_REP_ERR_INVALID)";
		break;
	case NBD_REP_ERR_TLS_REQD:
		why = "the server answered NBD_OPT_STARTTLS with NBD_REP_ERR_TLS_REQD, which is nonsense";
		break;
	case NBD_REP_ACK:
		why = "the server sent an NBD_REP_ACK with a payload to NBD_OPT_STARTTLS";
		break;
	default:
		why = "the server refused NBD_OPT_STARTTLS";
		break;
	}
	opt_abort(s);
	return err_set(e, "%s%s%s%s; TLS was required, so the connection was closed without sending anything in plaintext (use a TLS-enabled server, or drop the TLS options only if an unencrypted connection is acceptable)",
		       why, *said ? " (server said: \"" : "", said,
		       *said ? "\")" : "");
}

int opt_starttls(struct nbd_session *s, const struct nbd_config *cfg,
		 struct nbd_err *e)
{
	uint8_t payload[NBD_MAX_OPT_REPLY];
	struct opt_reply r;

	if (s->tls_active)
		return err_set(e, "internal error: NBD_OPT_STARTTLS twice");
	if (opt_send(s, NBD_OPT_STARTTLS, NULL, 0, e) < 0 ||
	    opt_recv(s, NBD_OPT_STARTTLS, &r, payload, e) < 0)
		return -1;
	if (r.type != NBD_REP_ACK || r.len != 0)
		return refused(s, &r, payload, e);
	if (tls_upgrade(&s->conn, &cfg->tls, s->creds,
			cfg->unix_path ? NULL : cfg->host, e) < 0)
		return -1;
	s->tls_active = true;
	return 0;
}
