/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Option replies: parsing and validation of what the server sends during
 * option haggling.  Pure functions over byte buffers, no I/O, so they are
 * unit-tested against hand-made hostile input.
 */
#ifndef NBDC_OPTREPLY_H
#define NBDC_OPTREPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define OPT_REPLY_HDR_LEN 20

struct opt_reply {
	uint32_t opt;
	uint32_t type;
	uint32_t len;
};

/* What NBD_OPT_GO / NBD_OPT_INFO / NBD_OPT_EXPORT_NAME told us. */
struct nbd_export {
	char *name;		/* NBD_INFO_NAME, else the name we asked for */
	char *description;	/* NBD_INFO_DESCRIPTION, may be NULL */
	uint64_t size;
	uint16_t tflags;	/* transmission flags */
	bool have_export;	/* NBD_INFO_EXPORT was received */
	bool have_block_size;	/* NBD_INFO_BLOCK_SIZE was received */
	uint32_t min_block, pref_block, max_block;
};

void nbd_export_free(struct nbd_export *x);

const char *nbd_opt_name(uint32_t opt);	/* "NBD_OPT_GO" */
const char *nbd_rep_name(uint32_t type); /* "NBD_REP_ERR_POLICY" */

/*
 * Check a reply header: magic, that it answers opt, that the length is one
 * this client is willing to read (max).  Errors name the option.
 */
int optreply_parse_header(const uint8_t hdr[OPT_REPLY_HDR_LEN], uint32_t opt,
			  uint32_t max, struct opt_reply *r, struct nbd_err *e);

/* Apply one NBD_REP_INFO payload to x.  Unknown info types are ignored. */
int optreply_parse_info(const uint8_t *p, uint32_t len, uint32_t opt,
			struct nbd_export *x, struct nbd_err *e);

/* Split an NBD_REP_SERVER payload into name and description (malloc'ed). */
int optreply_parse_server(const uint8_t *p, uint32_t len, char **name,
			  char **desc, struct nbd_err *e);

/*
 * Copy a server-supplied string for display, decoded as UTF-8:
 *  - well-formed sequences of other code points (e.g. "\xc3\xa9", e-acute)
 *    are copied unchanged;
 *  - a control code point becomes ONE '?': C0 (U+0000..U+001F, ESC
 *    included), DEL (U+007F) and C1 (U+0080..U+009F, the two bytes
 *    0xc2 0x80..0x9f, e.g. CSI 0xc2 0x9b);
 *  - every byte that is not part of a well-formed sequence becomes ONE '?'
 *    each: stray continuation bytes (a raw 0x9b), 0xc0, 0xc1 and 0xf5..0xff,
 *    overlong forms, surrogates, code points above U+10FFFF, sequences cut
 *    short (then the next byte is examined afresh: "\xe2\x80x" -> "??x").
 * So the output is valid UTF-8 without controls and never longer than the
 * input.  It stops early rather than exceed outlen - 1 bytes, never in the
 * middle of a sequence, and is always NUL-terminated (outlen 0: nothing is
 * written).
 */
void optreply_sanitize(const uint8_t *p, uint32_t len, char *out,
		       size_t outlen);

/*
 * Build the message for an error reply (type has NBD_REP_FLAG_ERROR) to
 * option opt: what the server said and what the user should do next.
 * tls_on: the session is already encrypted; tls_wanted: the user asked for
 * TLS; export: the export name we asked for (may be NULL).
 */
int optreply_error(uint32_t opt, uint32_t type, const uint8_t *msg,
		   uint32_t len, bool tls_on, bool tls_wanted,
		   const char *export, struct nbd_err *e);

/* Big-endian helpers. */
static inline uint16_t be16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t be64_at(const uint8_t *p)
{
	return (uint64_t)be32_at(p) << 32 | be32_at(p + 4);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

#endif
