// SPDX-License-Identifier: GPL-2.0-or-later
/* What the kernel is told: block size, size, flags, backend identifier;
 * and the psktool file parser.
 *
 * Every call's return value is asserted, and every output is poisoned
 * before the call: a function that returned 0 (or -1) without filling its
 * outputs fails here. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "params.h"
#include "optreply.h"
#include "proto.h"
#include "tap.h"
#include "tls.h"

#define POISON_MSG "(poison: no message was set)"
#define MiB (1ull << 20)

static void poison_err(struct nbd_err *e)
{
	snprintf(e->msg, sizeof e->msg, "%s", POISON_MSG);
}

static void poison_params(struct attach_params *p)
{
	p->size = 0xdeadbeefdeadbeefull;
	p->block_size = 0xdeadbeef;
	p->flags = 0xdead;
	p->max_request = 0xdeadbeef;
}

/* attach_params accepts: every field of the result is checked. */
static void params_ok(const struct nbd_config *c, const struct nbd_export *x,
		      uint32_t bs, uint64_t size, uint16_t flags,
		      const char *name)
{
	struct attach_params p;
	struct nbd_err e;

	poison_params(&p);
	poison_err(&e);
	is_int(attach_params(c, x, &p, &e), 0, "%s: accepted", name);
	is_int(p.block_size, bs, "%s: block size %u", name, bs);
	is_int(p.size, size, "%s: size %llu", name, (unsigned long long)size);
	is_int(p.flags, flags, "%s: flags 0x%04x", name, flags);
}

/* attach_params refuses, with this message. */
static void params_refused(const struct nbd_config *c,
			   const struct nbd_export *x, const char *msg,
			   const char *name)
{
	struct attach_params p;
	struct nbd_err e;

	poison_params(&p);
	poison_err(&e);
	is_int(attach_params(c, x, &p, &e), -1, "%s: refused", name);
	is_str(e.msg, msg, "%s: message", name);
}

static void test_params(void)
{
	const uint16_t tf = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH;
	struct nbd_config c;
	struct nbd_export x = { .size = MiB, .tflags = tf };

	config_init(&c);
	params_ok(&c, &x, 512, MiB, tf,
		  "no -b, no NBD_INFO_BLOCK_SIZE");
	c.block_size = 1024;
	params_ok(&c, &x, 1024, MiB, tf, "-b 1024, no NBD_INFO_BLOCK_SIZE");
	c.block_size = 0;

	/*
	 * The logical block size is -b, else the server's minimum when it is
	 * above 512, else 512: what the reference and qemu-nbd -c do.  The
	 * preferred size never raises it (a disk image partitioned for
	 * 512-byte sectors must stay readable).
	 */
	x.have_block_size = true;
	x.min_block = 1;
	x.pref_block = 4096;
	x.max_block = 32 << 20;
	params_ok(&c, &x, 512, MiB, tf, "the server prefers 4096: 512");
	x.pref_block = 65536;
	params_ok(&c, &x, 512, MiB, tf, "the server prefers 65536: 512");
	x.pref_block = 256;
	params_ok(&c, &x, 512, MiB, tf, "the server prefers 256: 512");
	x.min_block = 2048;
	x.pref_block = 4096;
	params_ok(&c, &x, 2048, MiB, tf, "minimum 2048: 2048");
	x.min_block = 4096;
	x.pref_block = 65536;
	params_ok(&c, &x, 4096, MiB, tf, "minimum 4096, preferred 65536: 4096");
	x.min_block = 8192;
	x.pref_block = 8192;
	params_refused(&c, &x,
		       "the server's minimum block size 8192 is larger than the page size 4096, the largest block size the kernel takes",
		       "minimum block size 8192, above the page size");
	x.min_block = 1;
	x.pref_block = 4096;
	x.size = 64 * MiB + 512;
	params_ok(&c, &x, 512, 64 * MiB + 512, tf,
		  "64 MiB + 512 with a preferred 4096: attached whole");
	x.size = MiB;

	x.min_block = 2048;
	x.pref_block = 2048;
	c.block_size = 1024;
	params_refused(&c, &x,
		       "-block-size 1024 is below the server's minimum block size 2048",
		       "-b 1024 below the server's minimum 2048");
	c.block_size = 4096;
	params_ok(&c, &x, 4096, MiB, tf, "-b 4096 wins over the server's preferred 2048");

	c.size = 2 * MiB;
	params_refused(&c, &x,
		       "-size 2097152 is larger than the export (1048576 bytes)",
		       "-B larger than the export");
	c.size = 4096 * 3;
	c.readonly = true;
	params_ok(&c, &x, 4096, 4096 * 3, tf | NBD_FLAG_READ_ONLY,
		  "-B 12288 smaller than the export, -R adds READ_ONLY");
	c.size = 4096 + 512;
	params_refused(&c, &x,
		       "the size 4608 is not a multiple of the block size 4096; pass -size or -block-size",
		       "-B 4608, not a multiple of -b 4096");
	config_free(&c);

	/* The export's own size must be a multiple too. */
	config_init(&c);
	x = (struct nbd_export){ .size = 1000, .tflags = NBD_FLAG_HAS_FLAGS };
	params_refused(&c, &x,
		       "the size 1000 is not a multiple of the block size 512; pass -size or -block-size",
		       "export of 1000 bytes, not a multiple of 512");
	config_free(&c);
}

/* What a request may carry at most: the server's maximum payload, in
 * whole KiB (the kernel's max_sectors_kb), 0 where there is none. */
static void max_request(uint32_t min, uint32_t max, uint32_t bs, int want_r,
			uint32_t want, const char *msg, const char *name)
{
	struct nbd_export x = { .size = MiB, .tflags = NBD_FLAG_HAS_FLAGS,
				.have_block_size = true, .min_block = min,
				.pref_block = min, .max_block = max };
	struct attach_params p;
	struct nbd_config c;
	struct nbd_err e;

	config_init(&c);
	c.block_size = bs;
	poison_params(&p);
	poison_err(&e);
	is_int(attach_params(&c, &x, &p, &e), want_r, "%s: %s", name,
	       want_r ? "refused" : "accepted");
	if (want_r)
		is_str(e.msg, msg, "%s: message", name);
	else
		is_int(p.max_request, want, "%s: max request %u", name, want);
	config_free(&c);
}

static void test_max_request(void)
{
	struct nbd_export x = { .size = MiB, .tflags = NBD_FLAG_HAS_FLAGS };
	struct attach_params p;
	struct nbd_config c;
	struct nbd_err e;

	config_init(&c);
	poison_params(&p);
	is_int(attach_params(&c, &x, &p, &e), 0, "no NBD_INFO_BLOCK_SIZE: accepted");
	is_int(p.max_request, 0, "no NBD_INFO_BLOCK_SIZE: no maximum");
	config_free(&c);

	max_request(1, 0xffffffff, 0, 0, 0, NULL, "maximum 0xffffffff (none)");
	max_request(1, 65536, 0, 0, 65536, NULL, "maximum 64 KiB");
	max_request(512, 32 << 20, 0, 0, 32 << 20, NULL, "maximum 32 MiB");
	max_request(512, 5632, 0, 0, 5120, NULL,
		    "maximum 5632: down to whole KiB");
	max_request(4096, 12288, 0, 0, 12288, NULL, "maximum 12 KiB, minimum 4096");
	max_request(512, 8192, 4096, 0, 8192, NULL, "maximum 8 KiB with -b 4096");
	max_request(512, 2048, 0, -1, 0,
		    "the server's maximum payload 2048 is below the page size 4096, the smallest request size limit the kernel takes",
		    "maximum 2 KiB, below the page size");
}

static void identifier(const char *host, const char *port, const char *sock,
		       const char *name, int tls, const char *ident,
		       const char *want)
{
	struct nbd_config c;
	char *id;

	config_init(&c);
	c.host = host ? strdup(host) : NULL;
	c.port = port ? strdup(port) : NULL;
	c.unix_path = sock ? strdup(sock) : NULL;
	c.export_name = name ? strdup(name) : NULL;
	c.identifier = ident ? strdup(ident) : NULL;
	c.tls.enabled = tls;
	id = attach_identifier(&c);
	is_str(id, want, "identifier %s", want);
	free(id);
	config_free(&c);
}

static void test_identifier(void)
{
	identifier("h", NULL, NULL, NULL, 0, NULL, "nbd://h:10809/");
	identifier("h", "2000", NULL, "disk", 1, NULL, "nbds://h:2000/disk");
	identifier("::1", "10809", NULL, "x", 0, NULL, "nbd://[::1]:10809/x");
	identifier(NULL, NULL, "/run/s", "d", 0, NULL, "nbd+unix:///d?socket=/run/s");
	identifier(NULL, NULL, "/run/s", NULL, 1, NULL, "nbds+unix:///?socket=/run/s");
	/* -i wins over anything derived */
	identifier("h", "2000", NULL, "disk", 1, "my-backend", "my-backend");
}

static char poison_user[] = "poison-user", poison_key[] = "poison-key";

/* tls_psk_lookup finds USER's KEY. */
static void psk_ok(const char *text, const char *user, const char *want_user,
		   const char *want_key, const char *name)
{
	struct nbd_err e;
	char *u = poison_user, *k = poison_key;

	poison_err(&e);
	is_int(tls_psk_lookup(text, user, "f", &u, &k, &e), 0, "%s: found", name);
	is_str(u, want_user, "%s: user %s", name, want_user);
	is_str(k, want_key, "%s: key %s", name, want_key);
	if (u != poison_user)
		free(u);
	if (k != poison_key)
		free(k);
}

/* tls_psk_lookup refuses, with this message, and returns no user or key. */
static void psk_refused(const char *text, const char *user, const char *msg,
			const char *name)
{
	struct nbd_err e;
	char *u = poison_user, *k = poison_key;

	poison_err(&e);
	is_int(tls_psk_lookup(text, user, "f", &u, &k, &e), -1, "%s: refused", name);
	is_str(e.msg, msg, "%s: message", name);
	ok(!u && !k, "%s: no user or key returned", name);
	if (u && u != poison_user)
		free(u);
	if (k && k != poison_key)
		free(k);
}

static void test_psk(void)
{
	const char *bad = "f:1: expected 'username:hexkey' (as psktool writes)";
	const char *several = "PSK file 'f' holds several identities; choose one with --psk-user";

	psk_ok("alice:00ff\n", NULL, "alice", "00ff", "one identity, no --psk-user");
	psk_ok("# c\r\nalice:00\r\nbob:11\n", "bob", "bob", "11",
	       "--psk-user bob, CRLF and a comment");
	psk_ok("alice:00\nbob:11", "alice", "alice", "00",
	       "--psk-user alice, no final newline");
	psk_refused("alice:00\nbob:11\n", NULL, several,
		    "two identities without --psk-user");
	psk_refused("alice:00\n", "carol", "PSK file 'f' has no key for user 'carol'",
		    "--psk-user carol, not in the file");
	psk_refused("alice:0g\n", NULL, bad, "a key that is not hex");
	psk_refused("alice:012\n", NULL, bad, "a key of odd hex length");
	psk_refused(":00\n", NULL, bad, "an empty user name");
	psk_refused("# c\nalice00\n", NULL,
		    "f:2: expected 'username:hexkey' (as psktool writes)",
		    "line 2 without a colon: the line number");
	psk_refused("alice:00\nalice:11\n", "alice", several,
		    "--psk-user alice, twice in the file");
	psk_refused("", NULL, "PSK file 'f' holds no key", "an empty file");
}

/* attach_timeouts: the request and dead-connection timeouts. */
static void timeouts(bool persist, bool swap, unsigned int t, unsigned int T,
		     bool watched, unsigned int want_req,
		     unsigned int want_dead, const char *name)
{
	struct nbd_config c = { .persist = persist, .swap = swap,
				.timeout = t, .dead_timeout = T };
	unsigned int req = 0xdeadbeef, dead = 0xdeadbeef;

	attach_timeouts(&c, watched, &req, &dead);
	ok(req == want_req && dead == want_dead,
	   "%s: request %u s, dead connection %u s (got %u, %u)", name,
	   want_req, want_dead, req, dead);
}

static void test_timeouts(void)
{
	timeouts(false, false, 0, 0, false, 0, 0,
		 "not watched: the kernel's defaults");
	timeouts(false, true, 0, 0, false, 0, 0,
		 "-swap on the ioctl interface (nothing can reconnect): no wait");
	timeouts(false, true, 0, 0, true, 30, 2147483,
		 "-swap without -persist (watched): no limit");
	timeouts(true, false, 0, 0, true, 30, 120, "-persist: 30 s, 120 s");
	timeouts(false, false, 0, 0, true, 30, 120,
		 "kernel TLS without -persist (watched): 30 s, 120 s");
	timeouts(true, true, 0, 0, true, 30, 2147483,
		 "-persist -swap (root, swap): no limit (24 days)");
	timeouts(true, true, 0, 600, true, 30, 600,
		 "-persist -swap -T 600: bounded by -T");
	timeouts(true, false, 5, 7, true, 5, 7, "-t 5 -T 7 win");
	timeouts(false, false, 5, 0, false, 5, 0, "-t 5, not watched");
}

int main(void)
{
	test_params();
	test_max_request();
	test_identifier();
	test_psk();
	test_timeouts();
	return tap_done();
}
