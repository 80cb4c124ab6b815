// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optreply.h"
#include "proto.h"

void nbd_export_free(struct nbd_export *x)
{
	free(x->name);
	free(x->description);
	memset(x, 0, sizeof(*x));
}

const char *nbd_opt_name(uint32_t opt)
{
	switch (opt) {
	case NBD_OPT_EXPORT_NAME: return "NBD_OPT_EXPORT_NAME";
	case NBD_OPT_ABORT: return "NBD_OPT_ABORT";
	case NBD_OPT_LIST: return "NBD_OPT_LIST";
	case NBD_OPT_PEEK_EXPORT: return "NBD_OPT_PEEK_EXPORT";
	case NBD_OPT_STARTTLS: return "NBD_OPT_STARTTLS";
	case NBD_OPT_INFO: return "NBD_OPT_INFO";
	case NBD_OPT_GO: return "NBD_OPT_GO";
	case NBD_OPT_STRUCTURED_REPLY: return "NBD_OPT_STRUCTURED_REPLY";
	case NBD_OPT_LIST_META_CONTEXT: return "NBD_OPT_LIST_META_CONTEXT";
	case NBD_OPT_SET_META_CONTEXT: return "NBD_OPT_SET_META_CONTEXT";
	case NBD_OPT_EXTENDED_HEADERS: return "NBD_OPT_EXTENDED_HEADERS";
	default: return "unknown option";
	}
}

const char *nbd_rep_name(uint32_t type)
{
	switch (type) {
	case NBD_REP_ACK: return "NBD_REP_ACK";
	case NBD_REP_SERVER: return "NBD_REP_SERVER";
	case NBD_REP_INFO: return "NBD_REP_INFO";
	case NBD_REP_META_CONTEXT: return "NBD_REP_META_CONTEXT";
	case NBD_REP_ERR_UNSUP: return "NBD_REP_ERR_UNSUP";
	case NBD_REP_ERR_POLICY: return "NBD_REP_ERR_POLICY";
	case NBD_REP_ERR_INVALID: return "NBD_REP_ERR_INVALID";
	case NBD_REP_ERR_PLATFORM: return "NBD_REP_ERR_PLATFORM";
	case NBD_REP_ERR_TLS_REQD: return "NBD_REP_ERR_TLS_REQD";
	case NBD_REP_ERR_UNKNOWN: return "NBD_REP_ERR_UNKNOWN";
	case NBD_REP_ERR_SHUTDOWN: return "NBD_REP_ERR_SHUTDOWN";
	case NBD_REP_ERR_BLOCK_SIZE_REQD: return "NBD_REP_ERR_BLOCK_SIZE_REQD";
	case NBD_REP_ERR_TOO_BIG: return "NBD_REP_ERR_TOO_BIG";
	case NBD_REP_ERR_EXT_HEADER_REQD: return "NBD_REP_ERR_EXT_HEADER_REQD";
	default: return "unknown reply";
	}
}

int optreply_parse_header(const uint8_t hdr[OPT_REPLY_HDR_LEN], uint32_t opt,
			  uint32_t max, struct opt_reply *r, struct nbd_err *e)
{
	uint64_t magic = be64_at(hdr);

	r->opt = be32_at(hdr + 8);
	r->type = be32_at(hdr + 12);
	r->len = be32_at(hdr + 16);
	if (magic != NBD_REP_MAGIC)
		return err_set(e, "bad reply magic 0x%016llx from the server in reply to %s (not an NBD server, or out of sync)",
			       (unsigned long long)magic, nbd_opt_name(opt));
	if (r->opt != opt)
		return err_set(e, "the server answered %s (%u) when we asked %s (%u): protocol error",
			       nbd_opt_name(r->opt), r->opt, nbd_opt_name(opt),
			       opt);
	if (r->len > max)
		return err_set(e, "the server sent a %s reply of %u bytes to %s, more than the %u this client accepts",
			       nbd_rep_name(r->type), r->len, nbd_opt_name(opt),
			       max);
	return 0;
}

/*
 * Length of the well-formed UTF-8 sequence at p (n bytes available), or 0
 * if p[0] does not start one (Unicode Table 3-7: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no truncated sequence).
 */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
	uint8_t lo = 0x80, hi = 0xbf; /* range of the second byte */
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2) /* continuation byte, or overlong C0/C1 */
		return 0;
	if (p[0] < 0xe0) {
		len = 2;
	} else if (p[0] < 0xf0) {
		len = 3;
		if (p[0] == 0xe0) /* overlong */
			lo = 0xa0;
		else if (p[0] == 0xed) /* surrogates U+D800..U+DFFF */
			hi = 0x9f;
	} else if (p[0] < 0xf5) {
		len = 4;
		if (p[0] == 0xf0) /* overlong */
			lo = 0x90;
		else if (p[0] == 0xf4) /* above U+10FFFF */
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* C0 controls, DEL, and the C1 controls U+0080..U+009F (0xc2 0x80..0x9f). */
static bool utf8_is_control(const uint8_t *p, size_t len)
{
	if (len == 1)
		return p[0] < 0x20 || p[0] == 0x7f;
	return len == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

void optreply_sanitize(const uint8_t *p, uint32_t len, char *out,
		       size_t outlen)
{
	size_t i = 0, o = 0, n;

	if (!outlen)
		return;
	while (i < len) {
		n = utf8_seq_len(p + i, len - i);
		if (!n || utf8_is_control(p + i, n)) {
			/* one '?' per control code point or per bad byte */
			if (o + 1 > outlen - 1)
				break;
			out[o++] = '?';
			i += n ? n : 1;
			continue;
		}
		if (o + n > outlen - 1) /* never split a sequence */
			break;
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = 0;
}

static char *dup_string(const uint8_t *p, uint32_t len)
{
	char *s = malloc((size_t)len + 1);

	if (s)
		optreply_sanitize(p, len, s, (size_t)len + 1);
	return s;
}

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int parse_block_size(const uint8_t *p, uint32_t opt,
			    struct nbd_export *x, struct nbd_err *e)
{
	uint32_t min = be32_at(p + 2), pref = be32_at(p + 6),
		 max = be32_at(p + 10);

	if (!is_pow2(min) || min > 65536 || !is_pow2(pref) || pref < min ||
	    max < min || (max != 0xffffffff && max % min))
		return err_set(e, "the server sent impossible block sizes in reply to %s: minimum %u, preferred %u, maximum %u",
			       nbd_opt_name(opt), min, pref, max);
	x->min_block = min;
	x->pref_block = pref;
	x->max_block = max;
	x->have_block_size = true;
	return 0;
}

static int info_len_error(uint32_t opt, const char *what, uint32_t len,
			  const char *want, struct nbd_err *e)
{
	return err_set(e, "the server sent a malformed %s in reply to %s (%u bytes, expected %s)",
		       what, nbd_opt_name(opt), len, want);
}

int optreply_parse_info(const uint8_t *p, uint32_t len, uint32_t opt,
			struct nbd_export *x, struct nbd_err *e)
{
	char **dst;

	if (len < 2)
		return info_len_error(opt, "NBD_REP_INFO", len, "at least 2", e);
	switch (be16_at(p)) {
	case NBD_INFO_EXPORT:
		if (len != 12)
			return info_len_error(opt, "NBD_INFO_EXPORT", len, "12", e);
		x->size = be64_at(p + 2);
		x->tflags = be16_at(p + 10);
		x->have_export = true;
		if (x->size > INT64_MAX)
			return err_set(e, "the server claims an export size of %llu bytes in reply to %s, larger than Linux allows",
				       (unsigned long long)x->size,
				       nbd_opt_name(opt));
		return 0;
	case NBD_INFO_BLOCK_SIZE:
		if (len != 14)
			return info_len_error(opt, "NBD_INFO_BLOCK_SIZE", len, "14", e);
		return parse_block_size(p, opt, x, e);
	case NBD_INFO_NAME:
	case NBD_INFO_DESCRIPTION:
		if (len - 2 > NBD_MAX_STRING)
			return info_len_error(opt, "NBD_INFO_NAME/DESCRIPTION",
					      len, "at most 4098", e);
		dst = be16_at(p) == NBD_INFO_NAME ? &x->name : &x->description;
		free(*dst);
		*dst = dup_string(p + 2, len - 2);
		return *dst ? 0 : err_set(e, "out of memory");
	default:
		return 0; /* the spec lets servers send info we did not ask for */
	}
}

int optreply_parse_server(const uint8_t *p, uint32_t len, char **name,
			  char **desc, struct nbd_err *e)
{
	uint32_t nlen;

	*name = *desc = NULL;
	if (len < 4)
		return err_set(e, "the server sent a malformed NBD_REP_SERVER in reply to NBD_OPT_LIST (%u bytes, expected at least 4)",
			       len);
	nlen = be32_at(p);
	if (nlen > len - 4)
		return err_set(e, "the server sent an NBD_REP_SERVER whose name length %u runs past the reply (%u bytes) in reply to NBD_OPT_LIST",
			       nlen, len);
	*name = dup_string(p + 4, nlen);
	*desc = dup_string(p + 4 + nlen, len - 4 - nlen);
	if (!*name || !*desc) {
		free(*name);
		free(*desc);
		*name = *desc = NULL;
		return err_set(e, "out of memory");
	}
	return 0;
}


/* What to tell the user for each error, beyond what the server said. */
static void error_advice(uint32_t opt, uint32_t type, bool tls_on,
			 bool tls_wanted, const char *export, char *buf,
			 size_t len)
{
	const char *o = nbd_opt_name(opt);
	const char *x = export ? export : "";

	switch (type) {
	case NBD_REP_ERR_TLS_REQD:
		if (tls_on)
			snprintf(buf, len, "the server demands TLS for %s although the session is already encrypted", o);
		else if (tls_wanted)
			snprintf(buf, len, "the server requires TLS for %s (NBD_REP_ERR_TLS_REQD)", o);
		else
			snprintf(buf, len, "the server requires TLS (it answered %s with NBD_REP_ERR_TLS_REQD): pass -cacertfile FILE (or -enable-tls to use the system CAs, or --psk-file FILE) or use an nbds:// URI", o);
		break;
	case NBD_REP_ERR_POLICY:
		snprintf(buf, len, "%s refused by the server's policy (check the server's allowed clients and export permissions)", o);
		break;
	case NBD_REP_ERR_UNSUP:
		snprintf(buf, len, "the server does not support %s", o);
		break;
	case NBD_REP_ERR_INVALID:
		snprintf(buf, len, "the server says %s was invalid (is the export name '%s' acceptable to it?)", o, x);
		break;
	case NBD_REP_ERR_UNKNOWN:
		snprintf(buf, len, "export '%s' does not exist on the server (list the exports with -list)", x);
		break;
	case NBD_REP_ERR_PLATFORM:
		snprintf(buf, len, "%s is not available on the server's platform", o);
		break;
	case NBD_REP_ERR_SHUTDOWN:
		snprintf(buf, len, "the server is shutting down; try again later");
		break;
	case NBD_REP_ERR_BLOCK_SIZE_REQD:
		snprintf(buf, len, "the server requires block size negotiation for export '%s', which %s did not satisfy", x, o);
		break;
	case NBD_REP_ERR_TOO_BIG:
		snprintf(buf, len, "the server says the %s request was too big", o);
		break;
	default:
		snprintf(buf, len, "the server refused %s with error 0x%08x (%s)", o, type, nbd_rep_name(type));
		break;
	}
}

int optreply_error(uint32_t opt, uint32_t type, const uint8_t *msg,
		   uint32_t len, bool tls_on, bool tls_wanted,
		   const char *export, struct nbd_err *e)
{
	char advice[512], said[256];

	error_advice(opt, type, tls_on, tls_wanted, export, advice,
		     sizeof(advice));
	if (!len)
		return err_set(e, "%s", advice);
	optreply_sanitize(msg, len, said, sizeof(said));
	return err_set(e, "%s (server said: \"%s\")", advice, said);
}
