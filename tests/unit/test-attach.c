// SPDX-License-Identifier: GPL-2.0-or-later
/* What the kernel is told: block size, size, flags, backend identifier;
 * and the psktool file parser. */
#include <stdlib.h>

#include "attach.h"
#include "optreply.h"
#include "proto.h"
#include "tap.h"
#include "tls.h"

static void test_params(void)
{
	struct nbd_config c;
	struct nbd_export x = { .size = 1 << 20, .tflags = NBD_FLAG_HAS_FLAGS };
	struct attach_params p;
	struct nbd_err e = { "" };

	config_init(&c);
	is_int(attach_params(&c, &x, &p, &e), 0, "defaults");
	is_int(p.block_size, 512, "no -b, no NBD_INFO_BLOCK_SIZE: 512");
	is_int(p.size, 1 << 20, "size from the export");
	is_int(p.flags, NBD_FLAG_HAS_FLAGS, "flags from the export");

	x.have_block_size = true;
	x.min_block = 1;
	x.pref_block = 4096;
	x.max_block = 32 << 20;
	attach_params(&c, &x, &p, &e);
	is_int(p.block_size, 4096, "server's preferred block size");
	x.pref_block = 65536;
	attach_params(&c, &x, &p, &e);
	is_int(p.block_size, 4096, "preferred above the page size: 4096");
	x.pref_block = 256;
	attach_params(&c, &x, &p, &e);
	is_int(p.block_size, 512, "preferred below 512: 512");
	x.min_block = 8192;
	x.pref_block = 8192;
	is_int(attach_params(&c, &x, &p, &e), -1, "minimum above 4096 refused");
	is_str(e.msg, "the server's minimum block size 8192 is larger than the kernel's 4096", "minimum above 4096: message");

	x.min_block = 2048;
	x.pref_block = 2048;
	c.block_size = 1024;
	is_int(attach_params(&c, &x, &p, &e), -1, "-b below the server's minimum refused");
	is_str(e.msg, "-block-size 1024 is below the server's minimum block size 2048", "-b below minimum: message");
	c.block_size = 4096;
	is_int(attach_params(&c, &x, &p, &e), 0, "-b wins over the preferred size");
	is_int(p.block_size, 4096, "-b 4096");

	c.size = 2 << 20;
	is_int(attach_params(&c, &x, &p, &e), -1, "-B larger than the export refused");
	is_str(e.msg, "-size 2097152 is larger than the export (1048576 bytes)", "-B too large: message");
	c.size = 4096 * 3;
	c.readonly = true;
	is_int(attach_params(&c, &x, &p, &e), 0, "-B smaller than the export");
	is_int(p.size, 4096 * 3, "-B applied");
	is_int(p.flags, NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY, "-R adds READ_ONLY");
	c.size = 4096 + 512;
	is_int(attach_params(&c, &x, &p, &e), -1, "size not a multiple of the block size");
	is_str(e.msg, "the size 4608 is not a multiple of the block size 4096; pass -size or -block-size", "size multiple: message");
}

static void identifier(const char *host, const char *port, const char *sock,
		       const char *name, int tls, const char *want)
{
	struct nbd_config c;
	char *id;

	config_init(&c);
	c.host = host ? strdup(host) : NULL;
	c.port = port ? strdup(port) : NULL;
	c.unix_path = sock ? strdup(sock) : NULL;
	c.export_name = name ? strdup(name) : NULL;
	c.tls.enabled = tls;
	id = attach_identifier(&c);
	is_str(id, want, "identifier %s", want);
	free(id);
	config_free(&c);
}

static void test_identifier(void)
{
	identifier("h", NULL, NULL, NULL, 0, "nbd://h:10809/");
	identifier("h", "2000", NULL, "disk", 1, "nbds://h:2000/disk");
	identifier("::1", "10809", NULL, "x", 0, "nbd://[::1]:10809/x");
	identifier(NULL, NULL, "/run/s", "d", 0, "nbd+unix:///d?socket=/run/s");
	identifier(NULL, NULL, "/run/s", NULL, 1, "nbds+unix:///?socket=/run/s");
}

static void test_psk(void)
{
	struct nbd_err e = { "" };
	char *u, *k;

	is_int(tls_psk_lookup("alice:00ff\n", NULL, "f", &u, &k, &e), 0, "one identity, no user");
	is_str(u, "alice", "user");
	is_str(k, "00ff", "key");
	free(u);
	free(k);
	is_int(tls_psk_lookup("# c\r\nalice:00\r\nbob:11\n", "bob", "f", &u, &k, &e), 0, "choose bob, CRLF and comments");
	is_str(k, "11", "bob's key");
	free(u);
	free(k);
	is_int(tls_psk_lookup("alice:00\nbob:11\n", NULL, "f", &u, &k, &e), -1, "two identities need a user");
	is_str(e.msg, "PSK file 'f' holds several identities; choose one with --psk-user", "two identities: message");
	is_int(tls_psk_lookup("alice:00\n", "carol", "f", &u, &k, &e), -1, "unknown user");
	is_str(e.msg, "PSK file 'f' has no key for user 'carol'", "unknown user: message");
	is_int(tls_psk_lookup("alice:0g\n", NULL, "f", &u, &k, &e), -1, "bad hex");
	is_str(e.msg, "f:1: expected 'username:hexkey' (as psktool writes)", "bad hex: message");
	is_int(tls_psk_lookup("alice:012\n", NULL, "f", &u, &k, &e), -1, "odd hex length");
	is_int(tls_psk_lookup(":00\n", NULL, "f", &u, &k, &e), -1, "empty user");
	is_int(tls_psk_lookup("alice:00\nalice:11\n", "alice", "f", &u, &k, &e), -1, "duplicate user");
	ok(!u && !k, "nothing returned on error");
	is_int(tls_psk_lookup("", NULL, "f", &u, &k, &e), -1, "empty file");
	is_str(e.msg, "PSK file 'f' holds no key", "empty file: message");
}

int main(void)
{
	test_params();
	test_identifier();
	test_psk();
	return tap_done();
}
