// SPDX-License-Identifier: GPL-2.0-or-later
/* Option-reply parser: headers, NBD_REP_INFO, NBD_REP_SERVER, errors. */
#include <stdlib.h>
#include <string.h>

#include "optreply.h"
#include "proto.h"
#include "tap.h"

static void hdr(uint8_t *h, uint64_t magic, uint32_t opt, uint32_t type,
		uint32_t len)
{
	put_be64(h, magic);
	put_be32(h + 8, opt);
	put_be32(h + 12, type);
	put_be32(h + 16, len);
}

static void test_header(void)
{
	struct nbd_err e = { "" };
	struct opt_reply r;
	uint8_t h[20];

	hdr(h, NBD_REP_MAGIC, NBD_OPT_GO, NBD_REP_INFO, 12);
	is_int(optreply_parse_header(h, NBD_OPT_GO, 4160, &r, &e), 0, "valid header");
	is_int(r.type, NBD_REP_INFO, "type parsed");
	is_int(r.len, 12, "length parsed");

	hdr(h, NBD_REP_MAGIC + 1, NBD_OPT_GO, NBD_REP_ACK, 0);
	is_int(optreply_parse_header(h, NBD_OPT_GO, 4160, &r, &e), -1, "bad magic refused");
	is_str(e.msg, "bad reply magic 0x0003e889045565aa from the server in reply to NBD_OPT_GO (not an NBD server, or out of sync)", "bad magic message");

	hdr(h, NBD_REP_MAGIC, NBD_OPT_LIST, NBD_REP_ACK, 0);
	is_int(optreply_parse_header(h, NBD_OPT_STARTTLS, 4160, &r, &e), -1, "wrong option refused");
	is_str(e.msg, "the server answered NBD_OPT_LIST (3) when we asked NBD_OPT_STARTTLS (5): protocol error", "wrong option message");

	hdr(h, NBD_REP_MAGIC, NBD_OPT_GO, NBD_REP_INFO, 0xffffffff);
	is_int(optreply_parse_header(h, NBD_OPT_GO, 4160, &r, &e), -1, "4 GiB length refused before reading");
	is_str(e.msg, "the server sent a NBD_REP_INFO reply of 4294967295 bytes to NBD_OPT_GO, more than the 4160 this client accepts", "huge length message");

	hdr(h, NBD_REP_MAGIC, NBD_OPT_GO, NBD_REP_INFO, 4160);
	is_int(optreply_parse_header(h, NBD_OPT_GO, 4160, &r, &e), 0, "length at the limit accepted");
}

static void test_info(void)
{
	struct nbd_export x = { 0 };
	struct nbd_err e = { "" };
	uint8_t p[32];

	put_be16(p, NBD_INFO_EXPORT);
	put_be64(p + 2, 1ULL << 40);
	put_be16(p + 10, NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY);
	is_int(optreply_parse_info(p, 12, NBD_OPT_GO, &x, &e), 0, "NBD_INFO_EXPORT");
	is_int(x.size, 1ULL << 40, "size");
	is_int(x.tflags, 3, "flags");
	ok(x.have_export, "have_export set");
	is_int(optreply_parse_info(p, 6, NBD_OPT_GO, &x, &e), -1, "short NBD_INFO_EXPORT");
	is_str(e.msg, "the server sent a malformed NBD_INFO_EXPORT in reply to NBD_OPT_GO (6 bytes, expected 12)", "short export message");
	is_int(optreply_parse_info(p, 13, NBD_OPT_GO, &x, &e), -1, "long NBD_INFO_EXPORT");
	is_int(optreply_parse_info(p, 1, NBD_OPT_GO, &x, &e), -1, "1-byte info");
	is_str(e.msg, "the server sent a malformed NBD_REP_INFO in reply to NBD_OPT_GO (1 bytes, expected at least 2)", "1-byte info message");
	put_be64(p + 2, 1ULL << 63);
	is_int(optreply_parse_info(p, 12, NBD_OPT_GO, &x, &e), -1, "size beyond INT64_MAX");
	is_str(e.msg, "the server claims an export size of 9223372036854775808 bytes in reply to NBD_OPT_GO, larger than Linux allows", "huge size message");

	put_be16(p, NBD_INFO_BLOCK_SIZE);
	put_be32(p + 2, 512);
	put_be32(p + 6, 4096);
	put_be32(p + 10, 32 << 20);
	is_int(optreply_parse_info(p, 14, NBD_OPT_GO, &x, &e), 0, "NBD_INFO_BLOCK_SIZE");
	is_int(x.min_block, 512, "minimum block");
	is_int(x.pref_block, 4096, "preferred block");
	is_int(x.max_block, 32 << 20, "maximum block");
	put_be32(p + 2, 768);
	is_int(optreply_parse_info(p, 14, NBD_OPT_GO, &x, &e), -1, "minimum not a power of two");
	is_str(e.msg, "the server sent impossible block sizes in reply to NBD_OPT_GO: minimum 768, preferred 4096, maximum 33554432", "block size message");
	put_be32(p + 2, 8192);
	is_int(optreply_parse_info(p, 14, NBD_OPT_GO, &x, &e), -1, "preferred below minimum");
	is_int(optreply_parse_info(p, 10, NBD_OPT_GO, &x, &e), -1, "short NBD_INFO_BLOCK_SIZE");

	put_be16(p, NBD_INFO_DESCRIPTION);
	memcpy(p + 2, "a\x1b[2Jb", 6);
	is_int(optreply_parse_info(p, 8, NBD_OPT_GO, &x, &e), 0, "NBD_INFO_DESCRIPTION");
	is_str(x.description, "a?[2Jb", "control characters from the server are neutralized");
	put_be16(p, NBD_INFO_NAME);
	memcpy(p + 2, "disk", 4);
	is_int(optreply_parse_info(p, 6, NBD_OPT_GO, &x, &e), 0, "NBD_INFO_NAME");
	is_str(x.name, "disk", "name");
	is_int(optreply_parse_info(p, 6, NBD_OPT_GO, &x, &e), 0, "NBD_INFO_NAME twice: no leak");
	put_be16(p, 99);
	is_int(optreply_parse_info(p, 2, NBD_OPT_GO, &x, &e), 0, "unknown info type ignored");
	nbd_export_free(&x);
}

static void test_server(void)
{
	struct nbd_err e = { "" };
	char *name, *desc;
	uint8_t p[32];

	put_be32(p, 4);
	memcpy(p + 4, "diskthe desc", 12);
	is_int(optreply_parse_server(p, 16, &name, &desc, &e), 0, "NBD_REP_SERVER");
	is_str(name, "disk", "export name");
	is_str(desc, "the desc", "description");
	free(name);
	free(desc);
	put_be32(p, 100);
	is_int(optreply_parse_server(p, 8, &name, &desc, &e), -1, "name length past the reply");
	is_str(e.msg, "the server sent an NBD_REP_SERVER whose name length 100 runs past the reply (8 bytes) in reply to NBD_OPT_LIST", "name length message");
	ok(!name && !desc, "nothing returned on error");
	put_be32(p, 0xffffffff);
	is_int(optreply_parse_server(p, 8, &name, &desc, &e), -1, "name length 4 GiB");
	is_int(optreply_parse_server(p, 3, &name, &desc, &e), -1, "reply shorter than the length field");
}

static void test_errors(void)
{
	struct nbd_err e = { "" };
	const uint8_t msg[] = "go away\n";

	optreply_error(NBD_OPT_GO, NBD_REP_ERR_POLICY, msg, 8, false, false, "x", &e);
	is_str(e.msg, "NBD_OPT_GO refused by the server's policy (check the server's allowed clients and export permissions) (server said: \"go away?\")", "POLICY");
	optreply_error(NBD_OPT_GO, NBD_REP_ERR_TLS_REQD, NULL, 0, false, false, "x", &e);
	is_str(e.msg, "the server requires TLS (it answered NBD_OPT_GO with NBD_REP_ERR_TLS_REQD): pass -cacertfile FILE (or -enable-tls to use the system CAs, or --psk-file FILE) or use an nbds:// URI", "TLS_REQD without TLS");
	optreply_error(NBD_OPT_GO, NBD_REP_ERR_TLS_REQD, NULL, 0, true, true, "x", &e);
	is_str(e.msg, "the server demands TLS for NBD_OPT_GO although the session is already encrypted", "TLS_REQD with TLS on");
	optreply_error(NBD_OPT_LIST, NBD_REP_ERR_UNSUP, NULL, 0, false, false, NULL, &e);
	is_str(e.msg, "the server does not support NBD_OPT_LIST", "UNSUP");
	optreply_error(NBD_OPT_GO, NBD_REP_ERR_INVALID, NULL, 0, false, false, "a b", &e);
	is_str(e.msg, "the server says NBD_OPT_GO was invalid (is the export name 'a b' acceptable to it?)", "INVALID");
	optreply_error(NBD_OPT_GO, NBD_REP_ERR_UNKNOWN, NULL, 0, false, false, "nope", &e);
	is_str(e.msg, "export 'nope' does not exist on the server (list the exports with -list)", "UNKNOWN");
	optreply_error(NBD_OPT_GO, NBD_REP_ERR_TOO_BIG, NULL, 0, false, false, "x", &e);
	is_str(e.msg, "the server says the NBD_OPT_GO request was too big", "TOO_BIG");
}

/* Sanitize a string literal (embedded NULs included) into outlen bytes. */
static char san_buf[64];
#define SAN(lit, outlen) san((const uint8_t *)(lit), sizeof(lit) - 1, outlen)

static const char *san(const uint8_t *p, uint32_t len, size_t outlen)
{
	memset(san_buf, 'Z', sizeof(san_buf));
	optreply_sanitize(p, len, san_buf, outlen);
	return san_buf;
}

/* Nothing written past outlen: the rest of san_buf is still 'Z'. */
static int untouched_from(size_t from)
{
	size_t i;

	for (i = from; i < sizeof(san_buf); i++)
		if (san_buf[i] != 'Z')
			return 0;
	return 1;
}

static void test_sanitize(void)
{
	struct nbd_export x = { 0 };
	struct nbd_err e = { "" };
	uint8_t p[64];
	static const char c1msg[] = "bad\xc2\x9b" "31m raw\x9b esc\x1b[0m caf\xc3\xa9 \xe2\x80\x94 end";

	/* C0, DEL: one '?' each */
	is_str(SAN("plain text", 64), "plain text", "ASCII unchanged");
	is_str(SAN("a\x01" "b\tc\nd\re", 64), "a?b?c?d?e", "C0 controls");
	is_str(SAN("\x1b[31mred", 64), "?[31mred", "ESC");
	is_str(SAN("x\x7fy", 64), "x?y", "DEL");
	is_str(SAN("a\0b", 64), "a?b", "NUL inside the message");
	/* C1 controls: valid UTF-8, but one '?' per code point */
	is_str(SAN("a\xc2\x9b" "31m", 64), "a?31m", "C1 CSI (U+009B) is one '?'");
	is_str(SAN("\xc2\x80|\xc2\x85|\xc2\x9f", 64), "?|?|?", "C1 U+0080, U+0085 (NEL), U+009F");
	is_str(SAN("\xc2\xa0|\xc2\xbf", 64), "\xc2\xa0|\xc2\xbf", "U+00A0 and U+00BF kept: not C1");
	/* valid printable UTF-8 is kept */
	is_str(SAN("caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80", 64), "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x98\x80", "2-, 3- and 4-byte sequences kept");
	is_str(SAN("\xed\x9f\xbf|\xee\x80\x80|\xef\xbf\xbd|\xf4\x8f\xbf\xbf", 64), "\xed\x9f\xbf|\xee\x80\x80|\xef\xbf\xbd|\xf4\x8f\xbf\xbf", "U+D7FF, U+E000, U+FFFD, U+10FFFF kept");
	/* bytes outside a well-formed sequence: one '?' per byte */
	is_str(SAN("raw\x9b" "1m", 64), "raw?1m", "raw 0x9b (lone continuation byte)");
	is_str(SAN("\x80\xbf", 64), "??", "lone continuation bytes");
	is_str(SAN("\xc0\x80|\xc1\xbf", 64), "??|??", "overlong 2-byte forms (0xc0, 0xc1)");
	is_str(SAN("\xe0\x80\xaf|\xf0\x80\x80\xaf", 64), "???|????", "overlong 3- and 4-byte forms");
	is_str(SAN("\xed\xa0\x80|\xed\xbf\xbf", 64), "???|???", "surrogates U+D800, U+DFFF");
	is_str(SAN("\xf4\x90\x80\x80|\xf5\x80\x80\x80|\xff\xfe", 64), "????|????|??", "above U+10FFFF, 0xf5..0xff");
	is_str(SAN("\xe2\x80x", 64), "??x", "sequence cut short in the middle");
	is_str(SAN("ab\xe2\x80", 64), "ab??", "sequence cut short at the end");
	is_str(SAN("\xc3", 64), "?", "lone lead byte");
	is_str(SAN("\xc3\xc3\xa9", 64), "?\xc3\xa9", "bad lead byte, then a good sequence");
	is_str(san((const uint8_t *)c1msg, sizeof(c1msg) - 1, 64), "bad?31m raw? esc?[0m caf\xc3\xa9 \xe2\x80\x94 end", "the c1-message server's message");

	/* the output fits outlen, NUL included, and no sequence is split */
	is_str(SAN("abcd\xc3\xa9", 7), "abcd\xc3\xa9", "exact fit");
	is_str(SAN("abcd\xc3\xa9", 6), "abcd", "2-byte sequence not split");
	ok(untouched_from(6), "nothing written past outlen 6");
	is_str(SAN("ab\xe2\x80\x94z", 5), "ab", "3-byte sequence not split");
	is_str(SAN("ab\xf0\x9f\x98\x80", 6), "ab", "4-byte sequence not split");
	is_str(SAN("abc\x1b", 5), "abc?", "'?' at the limit");
	is_str(SAN("abc\x1b", 4), "abc", "'?' past the limit dropped");
	ok(untouched_from(4), "nothing written past outlen 4");
	is_str(SAN("abc", 1), "", "outlen 1: empty string");
	ok(untouched_from(1), "nothing written past outlen 1");
	SAN("abc", 0);
	ok(untouched_from(0), "outlen 0: nothing written");
	is_str(SAN("", 8), "", "empty input");

	/* the callers: descriptions, names and error messages */
	put_be16(p, NBD_INFO_DESCRIPTION);
	memcpy(p + 2, "\xc2\x9b" "2J\x9b\xc3\xa9", 7);
	is_int(optreply_parse_info(p, 9, NBD_OPT_GO, &x, &e), 0, "NBD_INFO_DESCRIPTION with C1");
	is_str(x.description, "?2J?\xc3\xa9", "description: C1 and raw 0x9b neutralized, UTF-8 kept");
	put_be16(p, NBD_INFO_NAME);
	memcpy(p + 2, "d\xc2\x9b" "k", 4);
	is_int(optreply_parse_info(p, 6, NBD_OPT_GO, &x, &e), 0, "NBD_INFO_NAME with C1");
	is_str(x.name, "d?k", "name: C1 neutralized");
	nbd_export_free(&x);
	optreply_error(NBD_OPT_GO, NBD_REP_ERR_UNKNOWN, (const uint8_t *)c1msg, sizeof(c1msg) - 1, false, false, "disk", &e);
	is_str(e.msg, "export 'disk' does not exist on the server (list the exports with -list) (server said: \"bad?31m raw? esc?[0m caf\xc3\xa9 \xe2\x80\x94 end\")", "error message: C1, raw 0x9b and ESC neutralized, UTF-8 kept");
}

int main(void)
{
	test_header();
	test_info();
	test_server();
	test_errors();
	test_sanitize();
	return tap_done();
}
