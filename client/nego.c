// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The order of negotiation: greeting, client flags, STARTTLS (first, when
 * TLS is configured), then what the caller came for.
 */
#include <string.h>

#include "nego.h"
#include "proto.h"
#include "tls.h"

void nego_init(struct nbd_session *s, const struct nbd_config *cfg)
{
	memset(s, 0, sizeof(*s));
	/* cfg->timeout <= NBD_MAX_TIMEOUT_S: its ms fit an int */
	conn_init(&s->conn, cfg->timeout ? (int)cfg->timeout * 1000
					 : NBD_DEFAULT_TIMEOUT_MS);
}

void nego_close(struct nbd_session *s)
{
	conn_close(&s->conn);
	nbd_export_free(&s->export);
	tls_creds_free(&s->own_creds);
}

static int read_greeting(struct nbd_session *s, struct nbd_err *e)
{
	uint8_t g[18];
	uint64_t magic;

	conn_begin_op(&s->conn, -1);
	if (conn_read(&s->conn, g, 16, e) < 0)
		return err_prefix(e, "waiting for the server's greeting");
	magic = be64_at(g);
	if (magic != NBD_MAGIC)
		return err_set(e, "%s is not an NBD server (bad greeting magic 0x%016llx)",
			       s->conn.peer, (unsigned long long)magic);
	magic = be64_at(g + 8);
	if (magic == NBD_OLDSTYLE_MAGIC)
		return err_set(e, "%s speaks the oldstyle handshake, which has no export names, no TLS and is not supported; configure the server for newstyle",
			       s->conn.peer);
	if (magic != NBD_IHAVEOPT)
		return err_set(e, "%s is not an NBD server (bad handshake magic 0x%016llx)",
			       s->conn.peer, (unsigned long long)magic);
	if (conn_read(&s->conn, g + 16, 2, e) < 0)
		return err_prefix(e, "reading the handshake flags");
	s->hflags = be16_at(g + 16);
	if (!(s->hflags & NBD_FLAG_FIXED_NEWSTYLE))
		return err_set(e, "%s does not offer fixed newstyle negotiation (handshake flags 0x%04x), so neither NBD_OPT_GO nor TLS is possible; upgrade the server",
			       s->conn.peer, s->hflags);
	return 0;
}

static int send_client_flags(struct nbd_session *s, struct nbd_err *e)
{
	uint32_t cflags = NBD_FLAG_C_FIXED_NEWSTYLE;
	uint8_t b[4];

	if (s->hflags & NBD_FLAG_NO_ZEROES) {
		cflags |= NBD_FLAG_C_NO_ZEROES;
		s->no_zeroes = true;
	}
	put_be32(b, cflags);
	if (conn_write(&s->conn, b, sizeof(b), e) < 0)
		return err_prefix(e, "sending the client flags");
	return 0;
}

int nego_start(struct nbd_session *s, const struct nbd_config *cfg,
	       struct nbd_err *e)
{
	if (cfg->tls.enabled && !s->creds) {
		if (tls_creds_load(&s->own_creds, &cfg->tls, e) < 0)
			return -1;
		s->creds = &s->own_creds;
	}
	conn_begin_negotiation(&s->conn);
	if (conn_connect(&s->conn, cfg, e) < 0 || read_greeting(s, e) < 0 ||
	    send_client_flags(s, e) < 0)
		return -1;
	if (cfg->tls.enabled && opt_starttls(s, cfg, e) < 0)
		return -1;
	return 0;
}

int nego_connect(struct nbd_session *s, const struct nbd_config *cfg,
		 struct nbd_err *e)
{
	int r;

	if (cfg->no_optgo && cfg->tls.enabled)
		return err_set(e, "-no-optgo (NBD_OPT_EXPORT_NAME) cannot be used with TLS, which requires NBD_OPT_GO; drop -no-optgo");
	if (nego_start(s, cfg, e) < 0)
		return -1;
	if (cfg->no_optgo)
		return opt_export_name(s, cfg, e);
	r = opt_go(s, cfg, NBD_OPT_GO, e);
	if (r <= 0)
		return r;
	/* NBD_REP_ERR_UNSUP: an old server.  Never downgrade a TLS session
	 * to the weaker EXPORT_NAME path (NO_ZEROES can be tampered with). */
	if (cfg->tls.enabled) {
		opt_abort(s);
		return err_set(e, "the server does not support NBD_OPT_GO, and NBD_OPT_EXPORT_NAME is not used when TLS is required; upgrade the server");
	}
	return opt_export_name(s, cfg, e);
}

int nego_list_exports(struct nbd_session *s, const struct nbd_config *cfg,
		      nego_list_fn fn, void *opaque, struct nbd_err *e)
{
	if (nego_start(s, cfg, e) < 0 || opt_list(s, cfg, fn, opaque, e) < 0)
		return -1;
	opt_abort(s);
	return 0;
}
