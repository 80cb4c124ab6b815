// SPDX-License-Identifier: GPL-2.0-or-later
/* Option-reply parser: headers, NBD_REP_INFO, NBD_REP_SERVER, errors. */
#include <stdlib.h>

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

int main(void)
{
	test_header();
	test_info();
	test_server();
	test_errors();
	return tap_done();
}
