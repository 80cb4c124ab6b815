// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NBD_OPT_GO / NBD_OPT_INFO with NBD_INFO_EXPORT, NAME, DESCRIPTION and
 * BLOCK_SIZE requested; and NBD_OPT_EXPORT_NAME for servers without GO.
 */
#include <stdlib.h>
#include <string.h>

#include "nego.h"
#include "proto.h"

/* A server may send any number of NBD_REP_INFO; we accept this many. */
#define MAX_INFO_REPLIES 64

static const uint16_t wanted_info[] = {
	NBD_INFO_EXPORT, NBD_INFO_BLOCK_SIZE, NBD_INFO_NAME,
	NBD_INFO_DESCRIPTION,
};

static const char *export_of(const struct nbd_config *cfg)
{
	return cfg->export_name ? cfg->export_name : "";
}

static int send_go(struct nbd_session *s, const struct nbd_config *cfg,
		   uint32_t opt, struct nbd_err *e)
{
	const char *name = export_of(cfg);
	uint32_t nlen = (uint32_t)strlen(name), len, i;
	uint8_t buf[4 + NBD_MAX_STRING + 2 + sizeof(wanted_info)], *p = buf;
	size_t ninfo = sizeof(wanted_info) / sizeof(wanted_info[0]);

	if (nlen > NBD_MAX_STRING)
		return err_set(e, "export name is %u bytes long; the limit is %d",
			       nlen, NBD_MAX_STRING);
	put_be32(p, nlen);
	memcpy(p + 4, name, nlen);
	p += 4 + nlen;
	put_be16(p, (uint16_t)ninfo);
	p += 2;
	for (i = 0; i < ninfo; i++, p += 2)
		put_be16(p, wanted_info[i]);
	len = (uint32_t)(p - buf);
	return opt_send(s, opt, buf, len, e);
}

static int finish_go(struct nbd_session *s, const struct nbd_config *cfg,
		     uint32_t opt, struct nbd_err *e)
{
	if (!s->export.have_export)
		return err_set(e, "the server acknowledged %s without sending NBD_INFO_EXPORT (size and flags): protocol error",
			       nbd_opt_name(opt));
	if (!s->export.name) {
		s->export.name = strdup(export_of(cfg));
		if (!s->export.name)
			return err_set(e, "out of memory");
	}
	if (opt == NBD_OPT_GO)
		s->in_transmission = true;
	return 0;
}

int opt_go(struct nbd_session *s, const struct nbd_config *cfg, uint32_t opt,
	   struct nbd_err *e)
{
	uint8_t payload[NBD_MAX_OPT_REPLY];
	struct opt_reply r;
	int n;

	if (send_go(s, cfg, opt, e) < 0)
		return -1;
	for (n = 0; n < MAX_INFO_REPLIES; n++) {
		if (opt_recv(s, opt, &r, payload, e) < 0)
			return -1;
		switch (r.type) {
		case NBD_REP_INFO:
			if (optreply_parse_info(payload, r.len, opt, &s->export,
						e) < 0)
				return -1;
			break;
		case NBD_REP_ACK:
			if (r.len)
				return err_set(e, "the server sent an NBD_REP_ACK with a %u-byte payload to %s",
					       r.len, nbd_opt_name(opt));
			return finish_go(s, cfg, opt, e);
		case NBD_REP_ERR_UNSUP:
			/* forget what NBD_REP_INFO said before: nothing of
			 * this exchange may leak into the fallback */
			nbd_export_free(&s->export);
			return 1;
		default:
			return opt_error(s, cfg, opt, &r, payload, e);
		}
	}
	return err_set(e, "the server sent more than %d NBD_REP_INFO replies to %s",
		       MAX_INFO_REPLIES, nbd_opt_name(opt));
}

/*
 * The old way into transmission: the server answers with size and flags, or
 * simply closes the connection if it does not like the name.
 */
int opt_export_name(struct nbd_session *s, const struct nbd_config *cfg,
		    struct nbd_err *e)
{
	const char *name = export_of(cfg);
	uint32_t nlen = (uint32_t)strlen(name);
	uint8_t buf[NBD_EXPORT_NAME_REPLY_LEN + NBD_EXPORT_NAME_ZEROES];
	size_t want = s->no_zeroes ? NBD_EXPORT_NAME_REPLY_LEN : sizeof(buf);

	if (nlen > NBD_MAX_STRING)
		return err_set(e, "export name is %u bytes long; the limit is %d",
			       nlen, NBD_MAX_STRING);
	if (opt_send(s, NBD_OPT_EXPORT_NAME, name, nlen, e) < 0)
		return -1;
	if (conn_read(&s->conn, buf, want, e) < 0)
		return err_prefix(e, "NBD_OPT_EXPORT_NAME '%s' failed (the server closes the connection when the export does not exist)",
				  name);
	s->export.size = be64_at(buf);
	s->export.tflags = be16_at(buf + 8);
	s->export.have_export = true;
	if (s->export.size > INT64_MAX)
		return err_set(e, "the server claims an export size of %llu bytes, larger than Linux allows",
			       (unsigned long long)s->export.size);
	s->export.name = strdup(name);
	if (!s->export.name)
		return err_set(e, "out of memory");
	s->in_transmission = true;
	s->used_export_name = true;
	return 0;
}
