/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the libFuzzer targets (tests/fuzz/README.md): invariants that
 * every parser of outside input must keep, checked independently of the
 * code under test.  A broken invariant aborts, which libFuzzer reports as a
 * crash with the input that caused it.
 */
#ifndef NBDC_FUZZ_H
#define NBDC_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"

#define fuzz_assert(cond, ...)                                          \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "fuzz invariant broken: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
			abort();                                        \
		}                                                       \
	} while (0)

/*
 * Decode one UTF-8 code point at s by value (not by the byte ranges
 * optreply.c uses): the length, or 0 if it is not well formed (overlong,
 * surrogate, above U+10FFFF, cut short, stray continuation byte).
 */
static inline size_t fuzz_utf8(const unsigned char *s, uint32_t *cp)
{
	static const uint32_t least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < least[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * s (a message or a string shown to the user) is valid UTF-8 without
 * control characters: nothing a server sent can move the cursor, clear the
 * screen or forge a line of output.  allow_nl: a newline may end lines
 * (report output).
 */
static inline void fuzz_check_text(const char *s, int allow_nl,
				   const char *what)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t n;

	while (*p) {
		n = fuzz_utf8(p, &cp);
		fuzz_assert(n, "%s: invalid UTF-8 at offset %zu in \"%s\"", what,
			    (size_t)(p - (const unsigned char *)s), s);
		fuzz_assert(!(cp < 0x20 && !(allow_nl && cp == '\n')) &&
				    cp != 0x7f && !(cp >= 0x80 && cp < 0xa0),
			    "%s: control U+%04X at offset %zu", what, cp,
			    (size_t)(p - (const unsigned char *)s));
		p += n;
	}
}

/* An error message: NUL-terminated within struct nbd_err, one clean line,
 * not empty. */
#define fuzz_check_err(e, what)                                          \
	do {                                                             \
		fuzz_assert(memchr((e)->msg, 0, sizeof((e)->msg)),       \
			    "%s: unterminated message", what);           \
		fuzz_assert((e)->msg[0], "%s: error without a message", what); \
		fuzz_check_text((e)->msg, 0, what);                      \
	} while (0)

/* A malloc'ed copy of data[0..n) with nothing after it, so that ASan sees
 * any read past the end. */
static inline uint8_t *fuzz_dup(const uint8_t *data, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	if (!p)
		abort();
	if (n)
		memcpy(p, data, n);
	return p;
}

/* The same as a C string (the NUL is the only byte after it). */
static inline char *fuzz_strdup(const uint8_t *data, size_t n)
{
	char *p = malloc(n + 1);

	if (!p)
		abort();
	memcpy(p, data, n);
	p[n] = 0;
	return p;
}

/* The user's own input echoed in a message: one line, no C0 control or
 * DEL (bytes from 0x80 up are the user's own text, shown as given). */
static inline void fuzz_check_line(const char *s, const char *what)
{
	const char *p;

	for (p = s; *p; p++)
		fuzz_assert((unsigned char)*p >= 0x20 && *p != 0x7f,
			    "%s: control byte 0x%02x at offset %zu in \"%s\"",
			    what, (unsigned char)*p, (size_t)(p - s), s);
}

static inline void fuzz_check_user_err(const struct nbd_err *e,
				       const char *what)
{
	fuzz_assert(memchr(e->msg, 0, sizeof(e->msg)), "%s: unterminated", what);
	fuzz_assert(e->msg[0], "%s: error without a message", what);
	fuzz_check_line(e->msg, what);
}

/* A config filled with recognisable values, to see what a parser keeps,
 * replaces and frees. */
static inline void fuzz_config_fill(struct nbd_config *c)
{
	config_init(c);
	c->host = strdup("cmdline-host");
	c->port = strdup("1234");
	c->export_name = strdup("cmdline-export");
	c->uri = strdup("nbd://old/");
	c->device = strdup("/dev/nbd7");
	c->identifier = strdup("id");
	c->tls.cacert = strdup("ca.pem");
	c->tls.psk_user = strdup("carol");
	c->timeout = 5;
	c->connections = 2;
}

static inline int fuzz_str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Deep equality: same values, and the same pointers (nothing was freed
 * and replaced behind the caller's back). */
static inline int fuzz_config_same(const struct nbd_config *a,
				   const struct nbd_config *b)
{
	const struct tls_config *s = &a->tls, *t = &b->tls;

	return a->host == b->host && a->port == b->port &&
	       a->unix_path == b->unix_path &&
	       a->export_name == b->export_name && a->uri == b->uri &&
	       a->device == b->device && a->identifier == b->identifier &&
	       a->block_size == b->block_size && a->size == b->size &&
	       a->timeout == b->timeout && a->dead_timeout == b->dead_timeout &&
	       a->connections == b->connections && a->persist == b->persist &&
	       a->swap == b->swap && a->nofork == b->nofork &&
	       a->systemd_mark == b->systemd_mark &&
	       a->nonetlink == b->nonetlink && a->readonly == b->readonly &&
	       a->preinit == b->preinit && a->no_optgo == b->no_optgo &&
	       s->enabled == t->enabled && s->cacert == t->cacert &&
	       s->cert == t->cert && s->key == t->key &&
	       s->cert_dir == t->cert_dir && s->hostname == t->hostname &&
	       s->priority == t->priority && s->psk_file == t->psk_file &&
	       s->psk_user == t->psk_user;
}

#endif
