// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NBD URIs (client/uri.c).  The input, up to its first NUL, is the URI.
 * It is parsed into a config already filled from a "command line": on an
 * error that config must be exactly as it was, on success the result must
 * be consistent, and parsing it again must give the same.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "uri.h"

static void check_parsed(const struct nbd_config *c, const char *s)
{
	const char *p;

	fuzz_assert(uri_is_nbd(s), "parsed something that is not an NBD URI");
	fuzz_assert(fuzz_str_eq(c->uri, s), "uri not kept");
	fuzz_assert(!c->host != !c->unix_path,
		    "host %s and socket %s", c->host ? c->host : "(none)",
		    c->unix_path ? c->unix_path : "(none)");
	if (c->unix_path) {
		fuzz_assert(!c->port, "a port with a Unix socket");
		fuzz_assert(*c->unix_path, "empty socket path");
	} else {
		fuzz_assert(*c->host, "empty host");
	}
	if (c->port && strcmp(c->port, "1234")) {
		for (p = c->port; *p; p++)
			fuzz_assert(*p >= '0' && *p <= '9', "port '%s'", c->port);
		fuzz_assert(atol(c->port) >= 1 && atol(c->port) <= 65535 &&
				    c->port[0] != '0',
			    "port '%s'", c->port);
	}
	if (c->export_name)
		fuzz_assert(strlen(c->export_name) <= 4096, "export name of %zu bytes",
			    strlen(c->export_name));
	if (!strncasecmp(s, "nbds", 4))
		fuzz_assert(c->tls.enabled, "nbds without TLS");
	if (c->tls.cert_dir)
		fuzz_assert(!c->tls.psk_file, "both certificates and a PSK");
}

static void same_strings(const char *a, const char *b, const char *what)
{
	fuzz_assert(fuzz_str_eq(a, b), "%s differs on a second parse", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strdup(data, size);
	struct nbd_config c, before, again;
	struct nbd_err e = { "" };

	fuzz_config_fill(&c);
	before = c;
	(void)uri_is_nbd(s);
	if (uri_parse(s, &c, &e) < 0) {
		fuzz_check_user_err(&e, "uri_parse");
		fuzz_assert(fuzz_config_same(&c, &before),
			    "the config changed on an error");
		goto out;
	}
	check_parsed(&c, s);
	/* the same URI again, into the result: nothing changes */
	config_init(&again);
	fuzz_config_fill(&again);
	fuzz_assert(uri_parse(s, &again, &e) == 0, "second parse failed: %s",
		    e.msg);
	fuzz_assert(uri_parse(s, &again, &e) == 0, "third parse failed: %s",
		    e.msg);
	same_strings(c.host, again.host, "host");
	same_strings(c.port, again.port, "port");
	same_strings(c.unix_path, again.unix_path, "socket");
	same_strings(c.export_name, again.export_name, "export");
	same_strings(c.tls.cert_dir, again.tls.cert_dir, "tls-certificates");
	same_strings(c.tls.psk_file, again.tls.psk_file, "tls-psk-file");
	same_strings(c.tls.psk_user, again.tls.psk_user, "user");
	fuzz_assert(c.tls.enabled == again.tls.enabled, "tls differs");
	config_free(&again);
out:
	config_free(&c);
	free(s);
	return 0;
}
