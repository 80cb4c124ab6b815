// SPDX-License-Identifier: GPL-2.0-or-later
#include <string.h>

#include "nego.h"
#include "proto.h"

int opt_send(struct nbd_session *s, uint32_t opt, const void *data,
	     uint32_t len, struct nbd_err *e)
{
	uint8_t hdr[16];

	/* one deadline for the whole exchange: this option and its replies */
	conn_begin_op(&s->conn, opt == NBD_OPT_ABORT ? NBD_GOODBYE_TIMEOUT_MS
						     : -1);
	put_be64(hdr, NBD_IHAVEOPT);
	put_be32(hdr + 8, opt);
	put_be32(hdr + 12, len);
	if (conn_write(&s->conn, hdr, sizeof(hdr), e) < 0 ||
	    (len && conn_write(&s->conn, data, len, e) < 0))
		return s->conn.tls_refused ? -1
					   : err_prefix(e, "sending %s",
							nbd_opt_name(opt));
	return 0;
}

/* Read one reply to opt into r and payload (NBD_MAX_OPT_REPLY bytes). */
int opt_recv(struct nbd_session *s, uint32_t opt, struct opt_reply *r,
	     uint8_t *payload, struct nbd_err *e)
{
	uint8_t hdr[OPT_REPLY_HDR_LEN];

	if (conn_read(&s->conn, hdr, sizeof(hdr), e) < 0)
		return s->conn.tls_refused ? -1
					   : err_prefix(e, "waiting for the reply to %s",
							nbd_opt_name(opt));
	if (optreply_parse_header(hdr, opt, NBD_MAX_OPT_REPLY, r, e) < 0)
		return -1;
	if (r->len && conn_read(&s->conn, payload, r->len, e) < 0)
		return err_prefix(e, "reading the %u-byte reply to %s", r->len,
				  nbd_opt_name(opt));
	return 0;
}

int opt_error(struct nbd_session *s, const struct nbd_config *cfg,
	      uint32_t opt, const struct opt_reply *r, const uint8_t *payload,
	      struct nbd_err *e)
{
	if (!(r->type & NBD_REP_FLAG_ERROR))
		return err_set(e, "the server sent an unexpected %s (%u) in reply to %s",
			       nbd_rep_name(r->type), r->type,
			       nbd_opt_name(opt));
	return optreply_error(opt, r->type, payload, r->len, s->tls_active,
			      cfg->tls.enabled,
			      cfg->export_name ? cfg->export_name : "", e);
}

void opt_abort(struct nbd_session *s)
{
	struct nbd_err ignored;

	/* opt_send gives it NBD_GOODBYE_TIMEOUT_MS, past the negotiation's
	 * deadline too: a dead server must not delay our exit */
	s->conn.all = DEADLINE_NONE;
	opt_send(s, NBD_OPT_ABORT, NULL, 0, &ignored);
}
