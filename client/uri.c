// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NBD URI parser.  See uri.h for what is accepted and how it lands in
 * struct nbd_config.  Everything is parsed into a struct uri_parts first
 * and only moved into the config once the whole URI is known to be good.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "uri.h"

/* NBD strings (export names) are at most 4096 bytes (proto.md). */
#define NBD_MAX_STRING 4096
/* Longest part of the URI quoted in an error message. */
#define URI_SHOW_MAX 200

struct scheme {
	const char *name;
	bool tls;
	bool is_unix;
};

static const struct scheme schemes[] = {
	{ "nbd", false, false },
	{ "nbds", true, false },
	{ "nbd+unix", false, true },
	{ "nbds+unix", true, true },
};

#define N_SCHEMES (sizeof(schemes) / sizeof(schemes[0]))

enum query_key { Q_SOCKET, Q_TLS_CERTIFICATES, Q_TLS_PSK_FILE, Q_TLS_USERNAME, Q_COUNT };

static const char *const query_keys[Q_COUNT] = {
	[Q_SOCKET] = "socket",
	[Q_TLS_CERTIFICATES] = "tls-certificates",
	[Q_TLS_PSK_FILE] = "tls-psk-file",
	[Q_TLS_USERNAME] = "tls-username",
};

struct uri_parts {
	const struct scheme *scheme;
	char *host;
	char *port;
	char *export_name;	/* NULL: the URI has no path */
	char *user;		/* from the userinfo */
	char *query[Q_COUNT];	/* decoded values; NULL: not given */
};

/* Everything an error message needs. */
struct uri_ctx {
	const char *s;
	char show[URI_SHOW_MAX + 4];	/* s, printable and bounded */
	struct nbd_err *e;
};

static void parts_free(struct uri_parts *p)
{
	size_t i;

	free(p->host);
	free(p->port);
	free(p->export_name);
	free(p->user);
	for (i = 0; i < Q_COUNT; i++)
		free(p->query[i]);
}

/* A copy of s that is safe to print: no control bytes, not too long. */
static void make_show(struct uri_ctx *x)
{
	size_t i;

	for (i = 0; i < URI_SHOW_MAX && x->s[i]; i++) {
		unsigned char ch = x->s[i];

		x->show[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (x->s[i]) {
		memcpy(x->show + i, "...", 3);
		i += 3;
	}
	x->show[i] = '\0';
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Percent-decode src[0..len) into a new string.  Escapes were checked by
 * check_chars() already; %00 is refused here because C strings (and NBD
 * names) cannot hold a NUL.
 */
static int decode(struct uri_ctx *x, const char *src, size_t len, char **out)
{
	char *d = malloc(len + 1);
	size_t i, n = 0;

	if (!d)
		return err_set(x->e, "out of memory");
	for (i = 0; i < len; i++) {
		char ch = src[i];

		if (ch == '%' && i + 2 < len && hexval(src[i + 1]) >= 0 &&
		    hexval(src[i + 2]) >= 0) {
			ch = (char)(hexval(src[i + 1]) * 16 + hexval(src[i + 2]));
			i += 2;
			if (!ch) {
				free(d);
				return err_set(x->e,
					       "NBD URI '%s' contains %%00 (NUL), which is not allowed",
					       x->show);
			}
		}
		d[n++] = ch;
	}
	d[n] = '\0';
	*out = d;
	return 0;
}

/*
 * Spaces, control bytes, fragments and bad escapes, anywhere in the URI.
 * Controls first, in the whole URI: a bad escape quotes the two bytes
 * after its '%', which must not be controls.
 */
static int check_chars(struct uri_ctx *x)
{
	const char *p;

	for (p = x->s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return err_set(x->e,
				       "NBD URI '%s' contains a space or control character; percent-encode it (e.g. %%20 for a space)",
				       x->show);
	for (p = x->s; *p; p++) {
		unsigned char ch = *p;

		if (ch == '#')
			return err_set(x->e,
				       "NBD URI '%s' has a fragment ('#...'); write '#' in an export name as %%23",
				       x->show);
		if (ch == '%' && (hexval(p[1]) < 0 || hexval(p[2]) < 0)) {
			char bad[4] = { '%', 0, 0, 0 };

			if (p[1]) {
				bad[1] = p[1];
				bad[2] = p[2];
			}
			return err_set(x->e,
				       "invalid percent-encoding '%s' in NBD URI '%s' (use %%XX with two hex digits, %%25 for '%%')",
				       bad, x->show);
		}
	}
	return 0;
}

static bool is_scheme_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.';
}

/* RFC 3986 reg-name: unreserved / pct-encoded / sub-delims. */
static bool is_regname_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || (ch && strchr("-._~!$&'()*+,;=%", ch));
}

/* Returns where the authority starts, or NULL with x->e set. */
static const char *parse_scheme(struct uri_ctx *x, struct uri_parts *p)
{
	const char *s = x->s;
	size_t n = 0, i;

	while (is_scheme_char(s[n]))
		n++;
	if (!n || s[n] != ':' || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) {
		err_set(x->e,
			"'%s' is not an NBD URI (expected nbd://, nbds://, nbd+unix:// or nbds+unix://)",
			x->show);
		return NULL;
	}
	for (i = 0; i < N_SCHEMES; i++)
		if (strlen(schemes[i].name) == n && !strncasecmp(s, schemes[i].name, n))
			break;
	if (i == N_SCHEMES) {
		err_set(x->e,
			"unknown scheme '%.*s' in NBD URI '%s'; known: nbd, nbds, nbd+unix, nbds+unix",
			(int)n, s, x->show);
		return NULL;
	}
	p->scheme = &schemes[i];
	if (strncmp(s + n + 1, "//", 2)) {
		err_set(x->e, "NBD URI '%s' must start with '%s://'", x->show, p->scheme->name);
		return NULL;
	}
	return s + n + 3;
}

/* "[v6addr]" or "[v6addr%25zone]", given without the brackets. */
static int parse_ipv6(struct uri_ctx *x, struct uri_parts *p, const char *in, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	const char *zone = NULL;
	char *zone_dec = NULL;
	size_t alen = len, i;

	for (i = 0; i + 2 < len; i++) {
		if (!strncmp(in + i, "%25", 3)) {
			zone = in + i + 3;
			alen = i;
			break;
		}
	}
	if (!alen || alen >= sizeof(addr) || (zone && zone == in + len))
		goto bad;
	for (i = 0; i < alen; i++)
		if (hexval(in[i]) < 0 && in[i] != ':' && in[i] != '.')
			goto bad;
	memcpy(addr, in, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		goto bad;
	if (zone && decode(x, zone, in + len - zone, &zone_dec))
		return -1;
	if (asprintf(&p->host, "%s%s%s", addr, zone ? "%" : "", zone ? zone_dec : "") < 0) {
		p->host = NULL;
		free(zone_dec);
		return err_set(x->e, "out of memory");
	}
	free(zone_dec);
	return 0;
bad:
	return err_set(x->e, "invalid IPv6 address '[%.*s]' in NBD URI '%s'", (int)len, in,
		       x->show);
}

/*
 * Split [user@]host[:port].  Only the syntax is checked here; whether a
 * host or port may be there at all depends on the scheme.
 */
static int parse_authority(struct uri_ctx *x, struct uri_parts *p, const char *a, size_t len,
			   const char **port, size_t *port_len)
{
	const char *at = memchr(a, '@', len);
	const char *colon;
	size_t i, ncolons = 0;

	*port = NULL;
	*port_len = 0;
	if (at) {
		if (memchr(a, ':', at - a))
			return err_set(x->e,
				       "NBD URI contains a password (user:password@host); passwords are not supported, use tls-psk-file=FILE");
		if (at == a)
			return err_set(x->e, "NBD URI '%s' has an empty user name before '@'",
				       x->show);
		if (decode(x, a, at - a, &p->user))
			return -1;
		len -= at + 1 - a;
		a = at + 1;
	}

	if (len && a[0] == '[') {
		const char *close = memchr(a, ']', len);
		const char *after;

		if (!close)
			return err_set(x->e, "invalid IPv6 address '%.*s' in NBD URI '%s'",
				       (int)len, a, x->show);
		if (parse_ipv6(x, p, a + 1, close - a - 1))
			return -1;
		after = close + 1;
		if (after == a + len)
			return 0;
		if (*after != ':')
			return err_set(x->e,
				       "unexpected '%c' after ']' in NBD URI '%s' (expected ':PORT' or '/')",
				       *after, x->show);
		*port = after + 1;
		*port_len = a + len - *port;
		return 0;
	}

	for (i = 0; i < len; i++)
		if (a[i] == ':')
			ncolons++;
	if (ncolons > 1)
		return err_set(x->e,
			       "IPv6 address in NBD URI '%s' must be in brackets, e.g. nbd://[::1]:10809/export",
			       x->show);
	colon = memchr(a, ':', len);
	if (colon) {
		*port = colon + 1;
		*port_len = a + len - *port;
		len = colon - a;
	}
	for (i = 0; i < len; i++)
		if (!is_regname_char(a[i]))
			return err_set(x->e, "invalid character '%c' in host of NBD URI '%s'",
				       a[i], x->show);
	if (len && decode(x, a, len, &p->host))
		return -1;
	return 0;
}

static int parse_port(struct uri_ctx *x, struct uri_parts *p, const char *s, size_t len)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			break;
		v = v * 10 + (s[i] - '0');
		if (v > 65535)
			break;
	}
	if (!len || i < len || v < 1)
		return err_set(x->e,
			       "invalid port '%.*s' in NBD URI '%s' (must be a number from 1 to 65535)",
			       (int)len, s, x->show);
	if (asprintf(&p->port, "%lu", v) < 0) {
		p->port = NULL;
		return err_set(x->e, "out of memory");
	}
	return 0;
}

static int parse_query(struct uri_ctx *x, struct uri_parts *p, const char *q)
{
	while (*q) {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		size_t klen = eq ? (size_t)(eq - q) : len;
		const char *val = eq ? eq + 1 : q + len;
		size_t vlen = q + len - val;
		char *key;
		int k;

		if (!len) {
			q++;	/* tolerate "&&" and a trailing '&' */
			continue;
		}
		if (decode(x, q, klen, &key))
			return -1;
		for (k = 0; k < Q_COUNT; k++)
			if (!strcmp(key, query_keys[k]))
				break;
		free(key);
		if (k == Q_COUNT)
			return err_set(x->e,
				       "unknown query parameter '%.*s' in NBD URI '%s'; known: socket, tls-certificates, tls-psk-file, tls-username",
				       (int)klen, q, x->show);
		if (k == Q_SOCKET && !p->scheme->is_unix)
			return err_set(x->e,
				       "NBD URI '%s' has socket=, which needs the nbd+unix:// or nbds+unix:// scheme",
				       x->show);
		if (!vlen)
			return err_set(x->e,
				       "query parameter '%s' has no value in NBD URI '%s' (write %s=VALUE)",
				       query_keys[k], x->show, query_keys[k]);
		if (p->query[k])
			return err_set(x->e, "query parameter '%s' given twice in NBD URI '%s'",
				       query_keys[k], x->show);
		if (k == Q_SOCKET && !strncmp(val, "%00", 3))
			return err_set(x->e,
				       "abstract socket names (socket=%%00...) are not supported in NBD URI '%s'",
				       x->show);
		if (decode(x, val, vlen, &p->query[k]))
			return -1;
		q += len;
	}
	return 0;
}

static int parse_all(struct uri_ctx *x, struct uri_parts *p)
{
	const char *auth, *path, *query = NULL, *port;
	size_t alen, plen, port_len;
	const char *name;

	auth = parse_scheme(x, p);
	if (!auth || check_chars(x))
		return -1;
	name = p->scheme->name;

	alen = strcspn(auth, "/?");
	path = auth + alen;
	plen = strcspn(path, "?");
	if (path[plen] == '?')
		query = path + plen + 1;

	if (parse_authority(x, p, auth, alen, &port, &port_len))
		return -1;
	if (p->scheme->is_unix) {
		if (p->host || port)
			return err_set(x->e,
				       "NBD URI '%s' has a host or port, but %s:// takes none (write %s:///EXPORT?socket=PATH)",
				       x->show, name, name);
	} else {
		if (!p->host)
			return err_set(x->e, "NBD URI '%s' has no host", x->show);
		if (port && parse_port(x, p, port, port_len))
			return -1;
	}

	if (plen) {
		/* path[0] is '/'; the export name is the rest */
		if (decode(x, path + 1, plen - 1, &p->export_name))
			return -1;
		if (strlen(p->export_name) > NBD_MAX_STRING)
			return err_set(x->e, "export name in NBD URI '%s' is longer than %d bytes",
				       x->show, NBD_MAX_STRING);
	}

	if (query && parse_query(x, p, query))
		return -1;

	if (p->scheme->is_unix && !p->query[Q_SOCKET])
		return err_set(x->e,
			       "NBD URI '%s' has no socket= parameter (write %s:///EXPORT?socket=PATH)",
			       x->show, name);
	if (p->user && p->query[Q_TLS_USERNAME])
		return err_set(x->e,
			       "NBD URI '%s' gives the user name twice (before '@' and as tls-username=)",
			       x->show);
	if (p->query[Q_TLS_CERTIFICATES] && p->query[Q_TLS_PSK_FILE])
		return err_set(x->e,
			       "NBD URI '%s' gives both tls-certificates= and tls-psk-file=; use one",
			       x->show);
	return 0;
}

bool uri_is_nbd(const char *s)
{
	size_t i, n;

	if (!s)
		return false;
	for (i = 0; i < N_SCHEMES; i++) {
		n = strlen(schemes[i].name);
		if (!strncasecmp(s, schemes[i].name, n) && !strncmp(s + n, "://", 3))
			return true;
	}
	return false;
}

/* Free *dst and move *src there (src may be NULL: the field is cleared). */
static void replace(char **dst, char **src)
{
	free(*dst);
	*dst = *src;
	*src = NULL;
}

int uri_parse(const char *s, struct nbd_config *c, struct nbd_err *e)
{
	struct uri_parts p = { 0 };
	struct uri_ctx x = { .s = s, .e = e };
	char *copy, *none = NULL;
	bool tls;

	if (!s)
		return err_set(e, "no NBD URI given");
	make_show(&x);
	if (parse_all(&x, &p))
		goto fail;
	tls = p.scheme->tls || p.user || p.query[Q_TLS_CERTIFICATES] ||
	      p.query[Q_TLS_PSK_FILE] || p.query[Q_TLS_USERNAME];
	copy = strdup(s);
	if (!copy) {
		err_set(e, "out of memory");
		goto fail;
	}

	replace(&c->uri, &copy);
	if (p.scheme->is_unix) {
		replace(&c->unix_path, &p.query[Q_SOCKET]);
		replace(&c->host, &none);
		replace(&c->port, &none);
	} else {
		replace(&c->host, &p.host);
		replace(&c->unix_path, &none);
		if (p.port)
			replace(&c->port, &p.port);
	}
	if (p.export_name)
		replace(&c->export_name, &p.export_name);
	if (p.query[Q_TLS_CERTIFICATES])
		replace(&c->tls.cert_dir, &p.query[Q_TLS_CERTIFICATES]);
	if (p.query[Q_TLS_PSK_FILE])
		replace(&c->tls.psk_file, &p.query[Q_TLS_PSK_FILE]);
	if (p.user)
		replace(&c->tls.psk_user, &p.user);
	if (p.query[Q_TLS_USERNAME])
		replace(&c->tls.psk_user, &p.query[Q_TLS_USERNAME]);
	if (tls)
		c->tls.enabled = true;
	parts_free(&p);
	return 0;
fail:
	parts_free(&p);
	return -1;
}
