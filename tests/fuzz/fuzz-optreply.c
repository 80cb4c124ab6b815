// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The option-reply parsers (client/optreply.c), each fed what a server may
 * send.  The first byte picks the parser:
 *   0 optreply_parse_header: 20-byte header, then opt (1 byte)
 *   1 optreply_parse_info: a sequence of NBD_REP_INFO payloads, each
 *     [len: 2 bytes big-endian][payload], applied to one struct nbd_export
 *   2 optreply_parse_server: the rest is one NBD_REP_SERVER payload
 *   3 optreply_error: opt (1), type (4), flags (1), then the message
 *   4 optreply_sanitize: outlen (2), then the text
 */
#include <stdbool.h>

#include "fuzz.h"
#include "optreply.h"
#include "proto.h"

static const uint32_t opts[] = {
	NBD_OPT_GO, NBD_OPT_INFO, NBD_OPT_LIST, NBD_OPT_STARTTLS,
	NBD_OPT_EXPORT_NAME, NBD_OPT_ABORT, NBD_OPT_STRUCTURED_REPLY, 99,
};

static uint32_t pick_opt(uint8_t b)
{
	return opts[b % (sizeof(opts) / sizeof(opts[0]))];
}

static void header(const uint8_t *d, size_t n)
{
	struct nbd_err e = { "" };
	struct opt_reply r;
	uint32_t opt;

	if (n < OPT_REPLY_HDR_LEN + 1)
		return;
	opt = pick_opt(d[OPT_REPLY_HDR_LEN]);
	if (optreply_parse_header(d, opt, NBD_MAX_OPT_REPLY, &r, &e) < 0) {
		fuzz_check_err(&e, "parse_header");
		return;
	}
	fuzz_assert(be64_at(d) == NBD_REP_MAGIC, "accepted a bad magic");
	fuzz_assert(r.opt == opt, "accepted a reply to another option");
	fuzz_assert(r.len <= NBD_MAX_OPT_REPLY, "accepted %u bytes", r.len);
}

static void check_export(const struct nbd_export *x)
{
	if (x->name) {
		fuzz_assert(strlen(x->name) <= NBD_MAX_STRING, "name too long");
		fuzz_check_text(x->name, 0, "NBD_INFO_NAME");
	}
	if (x->description) {
		fuzz_assert(strlen(x->description) <= NBD_MAX_STRING,
			    "description too long");
		fuzz_check_text(x->description, 0, "NBD_INFO_DESCRIPTION");
	}
	if (x->have_block_size) {
		fuzz_assert(x->min_block && !(x->min_block & (x->min_block - 1)) &&
				    x->min_block <= 65536,
			    "minimum block size %u", x->min_block);
		fuzz_assert(x->pref_block >= x->min_block &&
				    !(x->pref_block & (x->pref_block - 1)),
			    "preferred block size %u", x->pref_block);
		fuzz_assert(x->max_block >= x->min_block,
			    "maximum block size %u", x->max_block);
	}
}

static void info(const uint8_t *d, size_t n)
{
	struct nbd_export x = { 0 };
	uint32_t opt = n ? pick_opt(d[0]) : NBD_OPT_GO;
	size_t off = n ? 1 : 0;

	while (off + 2 <= n) {
		struct nbd_err e = { "" };
		size_t len = be16_at(d + off);
		uint8_t *p;
		int r;

		off += 2;
		if (len > n - off)
			len = n - off;
		p = fuzz_dup(d + off, len);
		off += len;
		r = optreply_parse_info(p, (uint32_t)len, opt, &x, &e);
		free(p);
		if (r < 0)
			fuzz_check_err(&e, "parse_info");
		else
			fuzz_assert(r == 0, "parse_info returned %d", r);
		check_export(&x);
	}
	nbd_export_free(&x);
	fuzz_assert(!x.name && !x.description, "nbd_export_free left strings");
}

static void server(const uint8_t *d, size_t n)
{
	struct nbd_err e = { "" };
	char *name = (char *)1, *desc = (char *)1;
	uint8_t *p = fuzz_dup(d, n);

	if (optreply_parse_server(p, (uint32_t)n, &name, &desc, &e) < 0) {
		fuzz_check_err(&e, "parse_server");
		fuzz_assert(!name && !desc, "strings left after an error");
	} else {
		fuzz_assert(name && desc, "no strings");
		fuzz_assert(strlen(name) + strlen(desc) <= n, "strings grew");
		fuzz_check_text(name, 0, "NBD_REP_SERVER name");
		fuzz_check_text(desc, 0, "NBD_REP_SERVER description");
	}
	free(name);
	free(desc);
	free(p);
}

static void error(const uint8_t *d, size_t n)
{
	static const char *const exports[] = { NULL, "", "disk", "a/b c" };
	struct nbd_err e = { "" };
	uint32_t opt, type;
	uint8_t *p;
	int r;

	if (n < 6)
		return;
	opt = pick_opt(d[0]);
	type = be32_at(d + 1);
	p = fuzz_dup(d + 6, n - 6);
	r = optreply_error(opt, type, p, (uint32_t)(n - 6), d[5] & 1,
			   d[5] & 2, exports[(d[5] >> 2) & 3], &e);
	free(p);
	fuzz_assert(r == -1, "optreply_error returned %d", r);
	fuzz_check_err(&e, "optreply_error");
}

static void sanitize(const uint8_t *d, size_t n)
{
	size_t outlen, full_len, len;
	char *out, *full;
	uint8_t *p;

	if (n < 2)
		return;
	outlen = be16_at(d) % 512;
	d += 2;
	n -= 2;
	p = fuzz_dup(d, n);
	out = malloc(outlen ? outlen : 1);
	full = malloc(4 * n + 1);
	if (!out || !full)
		abort();
	out[0] = 'X';
	optreply_sanitize(p, (uint32_t)n, full, 4 * n + 1);
	full_len = strlen(full);
	fuzz_assert(full_len <= n, "output %zu longer than input %zu",
		    full_len, n);
	fuzz_check_text(full, 0, "sanitize");
	optreply_sanitize(p, (uint32_t)n, out, outlen);
	if (!outlen) {
		fuzz_assert(out[0] == 'X', "wrote into a 0-byte buffer");
	} else {
		len = strnlen(out, outlen);
		fuzz_assert(len < outlen, "not terminated within outlen");
		fuzz_assert(!memcmp(out, full, len),
			    "bounded output is not a prefix of the full one");
		/* it stops only where the next piece would not fit */
		fuzz_assert(len == full_len || len + 4 >= outlen,
			    "stopped early: %zu of %zu, outlen %zu", len,
			    full_len, outlen);
	}
	free(full);
	free(out);
	free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 5) {
	case 0: header(data + 1, size - 1); break;
	case 1: info(data + 1, size - 1); break;
	case 2: server(data + 1, size - 1); break;
	case 3: error(data + 1, size - 1); break;
	default: sanitize(data + 1, size - 1); break;
	}
	return 0;
}
