// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for client/uri.c: every accepted form and every error. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "uri.h"

struct want {
	const char *uri;
	const char *host;
	const char *port;
	const char *unix_path;
	const char *export_name;
	bool tls;
	const char *cert_dir;
	const char *psk_file;
	const char *psk_user;
};

static const struct want good[] = {
	/* the examples of shared/spec/uri.md */
	{ "nbd://example.com/disk", "example.com", NULL, NULL, "disk", false, NULL, NULL, NULL },
	{ "nbd+unix:///disk?socket=sock", NULL, NULL, "sock", "disk", false, NULL, NULL, NULL },
	{ "nbd://example.com/", "example.com", NULL, NULL, "", false, NULL, NULL, NULL },
	{ "nbd://example.com", "example.com", NULL, NULL, NULL, false, NULL, NULL, NULL },
	{ "nbd://example.com//disk", "example.com", NULL, NULL, "/disk", false, NULL, NULL, NULL },
	{ "nbd://example.com/hello%20world", "example.com", NULL, NULL, "hello world", false,
	  NULL, NULL, NULL },
	{ "nbd+unix:///?socket=nbd.sock", NULL, NULL, "nbd.sock", "", false, NULL, NULL, NULL },
	/* ports */
	{ "nbd://example.com:10810/x", "example.com", "10810", NULL, "x", false, NULL, NULL, NULL },
	{ "nbd://example.com:010809/x", "example.com", "10809", NULL, "x", false, NULL, NULL,
	  NULL },
	{ "nbd://example.com:1", "example.com", "1", NULL, NULL, false, NULL, NULL, NULL },
	{ "nbd://example.com:65535/", "example.com", "65535", NULL, "", false, NULL, NULL, NULL },
	{ "nbd://192.0.2.1:10809/x", "192.0.2.1", "10809", NULL, "x", false, NULL, NULL, NULL },
	/* IPv6 */
	{ "nbd://[::1]:10809/x", "::1", "10809", NULL, "x", false, NULL, NULL, NULL },
	{ "nbd://[::1]/x", "::1", NULL, NULL, "x", false, NULL, NULL, NULL },
	{ "nbd://[::1]", "::1", NULL, NULL, NULL, false, NULL, NULL, NULL },
	{ "nbd://[2001:db8::1]:1234", "2001:db8::1", "1234", NULL, NULL, false, NULL, NULL, NULL },
	{ "nbd://[::ffff:192.0.2.1]/x", "::ffff:192.0.2.1", NULL, NULL, "x", false, NULL, NULL,
	  NULL },
	{ "nbd://[fe80::1%25eth0]:10809/x", "fe80::1%eth0", "10809", NULL, "x", false, NULL, NULL,
	  NULL },
	{ "nbd://[FE80::A%25en%30]/", "FE80::A%en0", NULL, NULL, "", false, NULL, NULL, NULL },
	/* case-insensitive scheme; the host keeps its case */
	{ "NBD://Example.COM/X", "Example.COM", NULL, NULL, "X", false, NULL, NULL, NULL },
	{ "Nbd+Unix:///x?socket=/s", NULL, NULL, "/s", "x", false, NULL, NULL, NULL },
	/* host characters and escapes */
	{ "nbd://my-host_1.example~/x", "my-host_1.example~", NULL, NULL, "x", false, NULL, NULL,
	  NULL },
	{ "nbd://ho%73t/x", "host", NULL, NULL, "x", false, NULL, NULL, NULL },
	/* export names */
	{ "nbd://h/a%2Fb%3Fc%23d%25e", "h", NULL, NULL, "a/b?c#d%e", false, NULL, NULL, NULL },
	{ "nbd://h/a+b", "h", NULL, NULL, "a+b", false, NULL, NULL, NULL },
	{ "nbd://h/caf%C3%A9", "h", NULL, NULL, "caf\xc3\xa9", false, NULL, NULL, NULL },
	{ "nbd://h/caf\xc3\xa9", "h", NULL, NULL, "caf\xc3\xa9", false, NULL, NULL, NULL },
	{ "nbd://h/a/b/c", "h", NULL, NULL, "a/b/c", false, NULL, NULL, NULL },
	{ "nbd://h/line%0Abreak", "h", NULL, NULL, "line\nbreak", false, NULL, NULL, NULL },
	/* TLS */
	{ "nbds://h/x", "h", NULL, NULL, "x", true, NULL, NULL, NULL },
	{ "NBDS://h:1/x", "h", "1", NULL, "x", true, NULL, NULL, NULL },
	{ "nbds+unix:///x?socket=/s", NULL, NULL, "/s", "x", true, NULL, NULL, NULL },
	{ "nbd://h/x?tls-certificates=/etc/pki/nbd", "h", NULL, NULL, "x", true, "/etc/pki/nbd",
	  NULL, NULL },
	{ "nbd://h/x?tls-psk-file=/k.psk", "h", NULL, NULL, "x", true, NULL, "/k.psk", NULL },
	{ "nbd://h/x?tls-psk-file=%2Ftmp%2Fk&tls-username=bob", "h", NULL, NULL, "x", true, NULL,
	  "/tmp/k", "bob" },
	{ "nbd://h?tls-username=u", "h", NULL, NULL, NULL, true, NULL, NULL, "u" },
	{ "nbd://h/x?tls-username=bob", "h", NULL, NULL, "x", true, NULL, NULL, "bob" },
	{ "nbd://alice@h/x", "h", NULL, NULL, "x", true, NULL, NULL, "alice" },
	{ "nbd://al%69ce@h:99/x?tls-psk-file=/k", "h", "99", NULL, "x", true, NULL, "/k", "alice" },
	{ "nbds://alice@[::1]:5/", "::1", "5", NULL, "", true, NULL, NULL, "alice" },
	{ "nbds+unix://alice@/x?socket=/s&tls-psk-file=/k", NULL, NULL, "/s", "x", true, NULL,
	  "/k", "alice" },
	{ "nbds+unix:///x?tls-certificates=/d&socket=/run/a%20b.sock", NULL, NULL,
	  "/run/a b.sock", "x", true, "/d", NULL, NULL },
	/* query oddities: empty parameters, escaped keys, '=' in a value */
	{ "nbd+unix:///x?&socket=/s&", NULL, NULL, "/s", "x", false, NULL, NULL, NULL },
	{ "nbd+unix://?socket=/s", NULL, NULL, "/s", NULL, false, NULL, NULL, NULL },
	{ "nbd+unix:///x?%73ocket=/s", NULL, NULL, "/s", "x", false, NULL, NULL, NULL },
	{ "nbd+unix:///x?socket=/a=b", NULL, NULL, "/a=b", "x", false, NULL, NULL, NULL },
	{ "nbd+unix:///x?socket=/a%26b", NULL, NULL, "/a&b", "x", false, NULL, NULL, NULL },
};

/* s made fit for a TAP test name: one line, not too long. */
static void label(char *l, size_t size, const char *s)
{
	size_t i;

	if (!s) {
		snprintf(l, size, "(null)");
		return;
	}
	for (i = 0; s[i] && i < 60 && i + 4 < size; i++)
		l[i] = (s[i] < 0x20 && s[i] >= 0) || s[i] == 0x7f || s[i] == '#' ? '?' : s[i];
	if (s[i]) {
		memcpy(l + i, "...", 3);
		i += 3;
	}
	l[i] = '\0';
}

static void test_good(const struct want *w)
{
	struct nbd_config c;
	struct nbd_err e = { "" };
	char l[80];

	label(l, sizeof(l), w->uri);
	config_init(&c);
	is_int(uri_parse(w->uri, &c, &e), 0, "accept %s", l);
	is_str(e.msg, "", "%s: no error", l);
	is_str(c.uri, w->uri, "%s: uri copied", l);
	ok(c.uri != w->uri, "%s: uri is a copy", l);
	is_str(c.host, w->host, "%s: host", l);
	is_str(c.port, w->port, "%s: port", l);
	is_str(c.unix_path, w->unix_path, "%s: unix_path", l);
	is_str(c.export_name, w->export_name, "%s: export_name", l);
	is_int(c.tls.enabled, w->tls, "%s: tls.enabled", l);
	is_str(c.tls.cert_dir, w->cert_dir, "%s: tls.cert_dir", l);
	is_str(c.tls.psk_file, w->psk_file, "%s: tls.psk_file", l);
	is_str(c.tls.psk_user, w->psk_user, "%s: tls.psk_user", l);
	is_str(c.tls.hostname, NULL, "%s: tls.hostname not set", l);
	ok(!c.tls.cert && !c.tls.key && !c.tls.cacert && !c.tls.priority,
	   "%s: other TLS fields untouched", l);
	config_free(&c);
}

/* Rejected with exactly this message, and c left alone. */
static void test_bad(const char *uri, const char *msg)
{
	struct nbd_config c;
	struct nbd_err e = { "" };
	char l[80];

	label(l, sizeof(l), uri);
	config_init(&c);
	c.host = strdup("cli-host");
	c.export_name = strdup("cli-export");
	is_int(uri_parse(uri, &c, &e), -1, "reject %s", l);
	is_str(e.msg, msg, "%s: message", l);
	ok(!c.uri && !c.port && !c.unix_path && !c.tls.enabled && !c.tls.cert_dir &&
	   !c.tls.psk_file && !c.tls.psk_user,
	   "%s: config untouched", l);
	is_str(c.host, "cli-host", "%s: host untouched", l);
	is_str(c.export_name, "cli-export", "%s: export untouched", l);
	config_free(&c);
}

static const char *const known =
	"; known: socket, tls-certificates, tls-psk-file, tls-username";

static void test_errors(void)
{
	char want[NBD_ERR_MAX];

	/* not a URI, scheme */
	test_bad(NULL, "no NBD URI given");
	test_bad("", "'' is not an NBD URI (expected nbd://, nbds://, nbd+unix:// or nbds+unix://)");
	test_bad("/dev/nbd0",
		 "'/dev/nbd0' is not an NBD URI (expected nbd://, nbds://, nbd+unix:// or nbds+unix://)");
	test_bad("server.example.com",
		 "'server.example.com' is not an NBD URI (expected nbd://, nbds://, nbd+unix:// or nbds+unix://)");
	test_bad("1nbd://h/x",
		 "'1nbd://h/x' is not an NBD URI (expected nbd://, nbds://, nbd+unix:// or nbds+unix://)");
	test_bad(" nbd://h/x",
		 "' nbd://h/x' is not an NBD URI (expected nbd://, nbds://, nbd+unix:// or nbds+unix://)");
	test_bad("http://h/x",
		 "unknown scheme 'http' in NBD URI 'http://h/x'; known: nbd, nbds, nbd+unix, nbds+unix");
	test_bad("nbd+tcp://h/x",
		 "unknown scheme 'nbd+tcp' in NBD URI 'nbd+tcp://h/x'; known: nbd, nbds, nbd+unix, nbds+unix");
	test_bad("nbdx://h/x",
		 "unknown scheme 'nbdx' in NBD URI 'nbdx://h/x'; known: nbd, nbds, nbd+unix, nbds+unix");
	test_bad("nbd:h/x", "NBD URI 'nbd:h/x' must start with 'nbd://'");
	test_bad("NBDS:/x", "NBD URI 'NBDS:/x' must start with 'nbds://'");
	test_bad("nbd+unix:?socket=/s",
		 "NBD URI 'nbd+unix:?socket=/s' must start with 'nbd+unix://'");

	/* characters and escapes */
	test_bad("nbd://h/a b",
		 "NBD URI 'nbd://h/a b' contains a space or control character; percent-encode it (e.g. %20 for a space)");
	test_bad("nbd://h/a\nb\x7f",
		 "NBD URI 'nbd://h/a?b?' contains a space or control character; percent-encode it (e.g. %20 for a space)");
	test_bad("nbd://h/a\tb",
		 "NBD URI 'nbd://h/a?b' contains a space or control character; percent-encode it (e.g. %20 for a space)");
	test_bad("nbd://h/x#frag",
		 "NBD URI 'nbd://h/x#frag' has a fragment ('#...'); write '#' in an export name as %23");
	test_bad("nbd://h/a%zz",
		 "invalid percent-encoding '%zz' in NBD URI 'nbd://h/a%zz' (use %XX with two hex digits, %25 for '%')");
	test_bad("nbd://h/a%4",
		 "invalid percent-encoding '%4' in NBD URI 'nbd://h/a%4' (use %XX with two hex digits, %25 for '%')");
	test_bad("nbd://h/a%",
		 "invalid percent-encoding '%' in NBD URI 'nbd://h/a%' (use %XX with two hex digits, %25 for '%')");
	test_bad("nbd://h/a%4g",
		 "invalid percent-encoding '%4g' in NBD URI 'nbd://h/a%4g' (use %XX with two hex digits, %25 for '%')");
	/* found by tests/fuzz (fuzz-uri): the bytes after a bad '%' were
	 * quoted before the control check had reached them */
	test_bad("nbd://h/a%\x1b[2J",
		 "NBD URI 'nbd://h/a%?[2J' contains a space or control character; percent-encode it (e.g. %20 for a space)");
	test_bad("nbd+unix:///?socket=%\xff\t/abstract",
		 "NBD URI 'nbd+unix:///?socket=%\xff?/abstract' contains a space or control character; percent-encode it (e.g. %20 for a space)");
	test_bad("nbd://h/100%",
		 "invalid percent-encoding '%' in NBD URI 'nbd://h/100%' (use %XX with two hex digits, %25 for '%')");
	test_bad("nbd://h/a%00b",
		 "NBD URI 'nbd://h/a%00b' contains %00 (NUL), which is not allowed");
	test_bad("nbd://h%00/x",
		 "NBD URI 'nbd://h%00/x' contains %00 (NUL), which is not allowed");
	test_bad("nbd://us%00er@h/x",
		 "NBD URI 'nbd://us%00er@h/x' contains %00 (NUL), which is not allowed");
	test_bad("nbd://h/x?tls-psk-file=/k%00",
		 "NBD URI 'nbd://h/x?tls-psk-file=/k%00' contains %00 (NUL), which is not allowed");
	test_bad("nbd://[fe80::1%25e%00]/x",
		 "NBD URI 'nbd://[fe80::1%25e%00]/x' contains %00 (NUL), which is not allowed");
	test_bad("nbd+unix:///x?socket=%00/abstract",
		 "abstract socket names (socket=%00...) are not supported in NBD URI 'nbd+unix:///x?socket=%00/abstract'");
	test_bad("nbd+unix:///x?socket=/a%00",
		 "NBD URI 'nbd+unix:///x?socket=/a%00' contains %00 (NUL), which is not allowed");

	/* authority */
	test_bad("nbd:///x", "NBD URI 'nbd:///x' has no host");
	test_bad("nbd://", "NBD URI 'nbd://' has no host");
	test_bad("nbds:///", "NBD URI 'nbds:///' has no host");
	test_bad("nbd://:10809/x", "NBD URI 'nbd://:10809/x' has no host");
	test_bad("nbd://?tls-username=u", "NBD URI 'nbd://?tls-username=u' has no host");
	test_bad("nbds://alice@/x", "NBD URI 'nbds://alice@/x' has no host");
	test_bad("nbd://user:secret@h/x",
		 "NBD URI contains a password (user:password@host); passwords are not supported, use tls-psk-file=FILE");
	test_bad("nbd://:secret@h/x",
		 "NBD URI contains a password (user:password@host); passwords are not supported, use tls-psk-file=FILE");
	test_bad("nbd://@h/x", "NBD URI 'nbd://@h/x' has an empty user name before '@'");
	test_bad("nbd://h<x/y", "invalid character '<' in host of NBD URI 'nbd://h<x/y'");
	test_bad("nbd://h[1]/y", "invalid character '[' in host of NBD URI 'nbd://h[1]/y'");
	test_bad("nbd://a@b@h/y", "invalid character '@' in host of NBD URI 'nbd://a@b@h/y'");
	test_bad("nbd://::1/x",
		 "IPv6 address in NBD URI 'nbd://::1/x' must be in brackets, e.g. nbd://[::1]:10809/export");
	test_bad("nbd://2001:db8::1:10809/x",
		 "IPv6 address in NBD URI 'nbd://2001:db8::1:10809/x' must be in brackets, e.g. nbd://[::1]:10809/export");
	test_bad("nbd://[::1/x", "invalid IPv6 address '[::1' in NBD URI 'nbd://[::1/x'");
	test_bad("nbd://[zz::1]/x", "invalid IPv6 address '[zz::1]' in NBD URI 'nbd://[zz::1]/x'");
	test_bad("nbd://[]/x", "invalid IPv6 address '[]' in NBD URI 'nbd://[]/x'");
	test_bad("nbd://[192.0.2.1]/x",
		 "invalid IPv6 address '[192.0.2.1]' in NBD URI 'nbd://[192.0.2.1]/x'");
	test_bad("nbd://[fe80::1%25]/x",
		 "invalid IPv6 address '[fe80::1%25]' in NBD URI 'nbd://[fe80::1%25]/x'");
	test_bad("nbd://[%25eth0]/x",
		 "invalid IPv6 address '[%25eth0]' in NBD URI 'nbd://[%25eth0]/x'");
	test_bad("nbd://[fe80::1%eth0]/x",
		 "invalid percent-encoding '%et' in NBD URI 'nbd://[fe80::1%eth0]/x' (use %XX with two hex digits, %25 for '%')");
	test_bad("nbd://[v1.x]/x", "invalid IPv6 address '[v1.x]' in NBD URI 'nbd://[v1.x]/x'");
	test_bad("nbd://[::1]x/y",
		 "unexpected 'x' after ']' in NBD URI 'nbd://[::1]x/y' (expected ':PORT' or '/')");

	/* ports */
	test_bad("nbd://h:0/x",
		 "invalid port '0' in NBD URI 'nbd://h:0/x' (must be a number from 1 to 65535)");
	test_bad("nbd://h:65536/x",
		 "invalid port '65536' in NBD URI 'nbd://h:65536/x' (must be a number from 1 to 65535)");
	test_bad("nbd://h:99999999999999999999/x",
		 "invalid port '99999999999999999999' in NBD URI 'nbd://h:99999999999999999999/x' (must be a number from 1 to 65535)");
	test_bad("nbd://h:nbd/x",
		 "invalid port 'nbd' in NBD URI 'nbd://h:nbd/x' (must be a number from 1 to 65535)");
	test_bad("nbd://h:10809x",
		 "invalid port '10809x' in NBD URI 'nbd://h:10809x' (must be a number from 1 to 65535)");
	test_bad("nbd://h:+1/x",
		 "invalid port '+1' in NBD URI 'nbd://h:+1/x' (must be a number from 1 to 65535)");
	test_bad("nbd://h:/x",
		 "invalid port '' in NBD URI 'nbd://h:/x' (must be a number from 1 to 65535)");
	test_bad("nbd://[::1]:/x",
		 "invalid port '' in NBD URI 'nbd://[::1]:/x' (must be a number from 1 to 65535)");
	test_bad("nbd://[::1]:0",
		 "invalid port '0' in NBD URI 'nbd://[::1]:0' (must be a number from 1 to 65535)");

	/* unix sockets */
	test_bad("nbd+unix://h/x?socket=/s",
		 "NBD URI 'nbd+unix://h/x?socket=/s' has a host or port, but nbd+unix:// takes none (write nbd+unix:///EXPORT?socket=PATH)");
	test_bad("nbds+unix://:10809/x?socket=/s",
		 "NBD URI 'nbds+unix://:10809/x?socket=/s' has a host or port, but nbds+unix:// takes none (write nbds+unix:///EXPORT?socket=PATH)");
	test_bad("NBD+UNIX://[::1]/x?socket=/s",
		 "NBD URI 'NBD+UNIX://[::1]/x?socket=/s' has a host or port, but nbd+unix:// takes none (write nbd+unix:///EXPORT?socket=PATH)");
	test_bad("nbd+unix://u@h/x?socket=/s",
		 "NBD URI 'nbd+unix://u@h/x?socket=/s' has a host or port, but nbd+unix:// takes none (write nbd+unix:///EXPORT?socket=PATH)");
	test_bad("nbd+unix:///x",
		 "NBD URI 'nbd+unix:///x' has no socket= parameter (write nbd+unix:///EXPORT?socket=PATH)");
	test_bad("nbds+unix://",
		 "NBD URI 'nbds+unix://' has no socket= parameter (write nbds+unix:///EXPORT?socket=PATH)");
	test_bad("nbd+unix:///x?tls-username=u",
		 "NBD URI 'nbd+unix:///x?tls-username=u' has no socket= parameter (write nbd+unix:///EXPORT?socket=PATH)");
	test_bad("nbd+unix:///x?socket=",
		 "query parameter 'socket' has no value in NBD URI 'nbd+unix:///x?socket=' (write socket=VALUE)");
	test_bad("nbd+unix:///x?socket",
		 "query parameter 'socket' has no value in NBD URI 'nbd+unix:///x?socket' (write socket=VALUE)");
	test_bad("nbd://h/x?socket=/s",
		 "NBD URI 'nbd://h/x?socket=/s' has socket=, which needs the nbd+unix:// or nbds+unix:// scheme");
	test_bad("nbds://h?socket=/s",
		 "NBD URI 'nbds://h?socket=/s' has socket=, which needs the nbd+unix:// or nbds+unix:// scheme");

	/* query parameters */
	test_bad("nbd://h/x?foo=bar", "unknown query parameter 'foo' in NBD URI 'nbd://h/x?foo=bar'"
		 "; known: socket, tls-certificates, tls-psk-file, tls-username");
	snprintf(want, sizeof(want), "unknown query parameter 'foo' in NBD URI 'nbd://h/x?foo'%s",
		 known);
	test_bad("nbd://h/x?foo", want);
	snprintf(want, sizeof(want),
		 "unknown query parameter 'tls-type' in NBD URI 'nbd://h/x?tls-type=psk'%s", known);
	test_bad("nbd://h/x?tls-type=psk", want);
	snprintf(want, sizeof(want),
		 "unknown query parameter 'tls-hostname' in NBD URI 'nbd://h?tls-hostname=a'%s",
		 known);
	test_bad("nbd://h?tls-hostname=a", want);
	snprintf(want, sizeof(want),
		 "unknown query parameter 'x-foo' in NBD URI 'nbd+unix:///?socket=/s&x-foo=1'%s",
		 known);
	test_bad("nbd+unix:///?socket=/s&x-foo=1", want);
	snprintf(want, sizeof(want),
		 "unknown query parameter 'Socket' in NBD URI 'nbd+unix:///?Socket=/s'%s", known);
	test_bad("nbd+unix:///?Socket=/s", want);
	snprintf(want, sizeof(want),
		 "unknown query parameter '' in NBD URI 'nbd://h/x?=v'%s", known);
	test_bad("nbd://h/x?=v", want);
	test_bad("nbd+unix:///x?socket=/a&socket=/b",
		 "query parameter 'socket' given twice in NBD URI 'nbd+unix:///x?socket=/a&socket=/b'");
	test_bad("nbd://h/x?tls-username=a&tls-username=b",
		 "query parameter 'tls-username' given twice in NBD URI 'nbd://h/x?tls-username=a&tls-username=b'");
	test_bad("nbd://h/x?tls-psk-file=/a&tls-psk-file=/a",
		 "query parameter 'tls-psk-file' given twice in NBD URI 'nbd://h/x?tls-psk-file=/a&tls-psk-file=/a'");
	test_bad("nbd://h/x?tls-certificates=/a&tls-certificates=/b",
		 "query parameter 'tls-certificates' given twice in NBD URI 'nbd://h/x?tls-certificates=/a&tls-certificates=/b'");
	test_bad("nbd://h/x?tls-certificates=",
		 "query parameter 'tls-certificates' has no value in NBD URI 'nbd://h/x?tls-certificates=' (write tls-certificates=VALUE)");
	test_bad("nbd://h/x?tls-psk-file",
		 "query parameter 'tls-psk-file' has no value in NBD URI 'nbd://h/x?tls-psk-file' (write tls-psk-file=VALUE)");
	test_bad("nbd://h/x?tls-username=&",
		 "query parameter 'tls-username' has no value in NBD URI 'nbd://h/x?tls-username=&' (write tls-username=VALUE)");
	test_bad("nbd://alice@h/x?tls-username=bob",
		 "NBD URI 'nbd://alice@h/x?tls-username=bob' gives the user name twice (before '@' and as tls-username=)");
	test_bad("nbd://h/x?tls-certificates=/d&tls-psk-file=/k",
		 "NBD URI 'nbd://h/x?tls-certificates=/d&tls-psk-file=/k' gives both tls-certificates= and tls-psk-file=; use one");
}

/* Export names: 4096 bytes (proto.md), counted after decoding. */
static void test_long(void)
{
	char uri[3 * 4097 + 64], want[NBD_ERR_MAX];
	struct nbd_config c;
	struct nbd_err e = { "" };
	size_t n, i;

	strcpy(uri, "nbd://h/");
	n = strlen(uri);
	memset(uri + n, 'a', 4096);
	uri[n + 4096] = '\0';
	config_init(&c);
	is_int(uri_parse(uri, &c, &e), 0, "4096-byte export name accepted");
	is_int(c.export_name ? strlen(c.export_name) : 0, 4096, "4096-byte export name kept");
	config_free(&c);

	/* 4096 decoded bytes written as 12288 characters: fine */
	for (i = 0; i < 4096; i++)
		memcpy(uri + n + 3 * i, "%41", 4);
	config_init(&c);
	is_int(uri_parse(uri, &c, &e), 0, "4096 escaped bytes accepted");
	is_int(c.export_name ? strlen(c.export_name) : 0, 4096, "... and decoded");
	ok(c.export_name && c.export_name[0] == 'A' && c.export_name[4095] == 'A',
	   "... to 'A's");
	config_free(&c);

	/* 4097: too long; the URI is shown cut at 200 bytes */
	n = strlen("nbd://h/");
	memset(uri + n, 'a', 4097);
	uri[n + 4097] = '\0';
	snprintf(want, sizeof(want), "export name in NBD URI '%.200s...' is longer than 4096 bytes",
		 uri);
	test_bad(uri, want);
	strcpy(uri, "nbd://h/b");
	for (i = 0; i < 4096; i++)
		memcpy(uri + n + 1 + 3 * i, "%41", 4);
	snprintf(want, sizeof(want), "export name in NBD URI '%.200s...' is longer than 4096 bytes",
		 uri);
	test_bad(uri, want);

	/* a long URI is cut in messages, so the hint at the end survives */
	strcpy(uri, "nbd://h/x?tls-username=");
	n = strlen(uri);
	memset(uri + n, 'u', 300);
	strcpy(uri + n + 300, "&foo=1");
	snprintf(want, sizeof(want), "unknown query parameter 'foo' in NBD URI '%.200s...'%s",
		 uri, known);
	test_bad(uri, want);
	/* exactly 200 bytes: no "..." */
	strcpy(uri, "nbd:///");
	memset(uri + 7, 'x', 193);
	uri[200] = '\0';
	snprintf(want, sizeof(want), "NBD URI '%.200s' has no host", uri);
	test_bad(uri, want);
}

static void test_is_nbd(void)
{
	static const char *const yes[] = {
		"nbd://h", "nbds://h", "nbd+unix:///x?socket=/s", "nbds+unix://",
		"NBD://h", "NbDs://", "NBD+UNIX://", "nbds+UNIX://x", "nbd:///x",
	};
	static const char *const no[] = {
		"", "nbd", "nbd:", "nbd:/", "nbd:h", "nbds:/x", "http://h", "nbd+tcp://h",
		"nbdx://h", " nbd://h", "nbd0", "/dev/nbd0", "nbd+unix:/x", "unix://x",
		"nbd-unix://", "nbds+unix:",
	};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ok(uri_is_nbd(yes[i]), "uri_is_nbd(\"%s\")", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ok(!uri_is_nbd(no[i]), "!uri_is_nbd(\"%s\")", no[i]);
	ok(!uri_is_nbd(NULL), "!uri_is_nbd(NULL)");
}

/*
 * The URI wins where it says something; the rest of the config stays.
 * Under ASan (make check-asan) these also prove nothing overwritten leaks.
 */
static void test_overwrite(void)
{
	struct nbd_config c;
	struct nbd_err e = { "" };

	/* everything set beforehand: TCP URI replaces what it gives */
	config_init(&c);
	c.host = strdup("cli-host");
	c.port = strdup("1234");
	c.unix_path = strdup("/cli.sock");
	c.export_name = strdup("cli-export");
	c.uri = strdup("nbd://old/");
	c.device = strdup("/dev/nbd3");
	c.identifier = strdup("id");
	c.tls.cert_dir = strdup("/cli-certs");
	c.tls.psk_file = strdup("/cli.psk");
	c.tls.psk_user = strdup("cli-user");
	c.tls.cacert = strdup("/ca.pem");
	c.tls.hostname = strdup("cli-tls-name");
	c.persist = true;
	c.block_size = 4096;
	is_int(uri_parse("nbd://h:99/e?tls-certificates=/d&tls-username=u", &c, &e), 0,
	       "overwrite: parse over a full config");
	is_str(c.uri, "nbd://h:99/e?tls-certificates=/d&tls-username=u", "overwrite: uri");
	is_str(c.host, "h", "overwrite: host replaced");
	is_str(c.port, "99", "overwrite: port replaced");
	is_str(c.unix_path, NULL, "overwrite: unix_path dropped for a TCP URI");
	is_str(c.export_name, "e", "overwrite: export replaced");
	is_str(c.tls.cert_dir, "/d", "overwrite: cert_dir replaced");
	is_str(c.tls.psk_user, "u", "overwrite: psk_user replaced");
	is_str(c.tls.psk_file, "/cli.psk", "overwrite: psk_file kept (not in the URI)");
	is_str(c.tls.cacert, "/ca.pem", "overwrite: cacert kept");
	is_str(c.tls.hostname, "cli-tls-name", "overwrite: tls hostname kept");
	is_str(c.device, "/dev/nbd3", "overwrite: device kept");
	is_str(c.identifier, "id", "overwrite: identifier kept");
	ok(c.persist && c.block_size == 4096 && c.tls.enabled, "overwrite: other fields kept");

	/* again on the same config: a unix URI drops host and port */
	is_int(uri_parse("nbds+unix://bob@/?socket=/s&tls-psk-file=/k", &c, &e), 0,
	       "overwrite: second parse on the same config");
	is_str(c.unix_path, "/s", "overwrite: unix_path set");
	is_str(c.host, NULL, "overwrite: host dropped for a unix URI");
	is_str(c.port, NULL, "overwrite: port dropped for a unix URI");
	is_str(c.export_name, "", "overwrite: export '/' gives \"\"");
	is_str(c.tls.psk_user, "bob", "overwrite: user from userinfo");
	is_str(c.tls.psk_file, "/k", "overwrite: psk_file replaced");
	is_str(c.tls.cert_dir, "/d", "overwrite: cert_dir kept");

	/* no port, no path: both kept */
	free(c.port);
	c.port = strdup("777");
	is_int(uri_parse("nbd://h2", &c, &e), 0, "overwrite: URI with no port and no path");
	is_str(c.host, "h2", "overwrite: host");
	is_str(c.port, "777", "overwrite: port kept when the URI has none");
	is_str(c.export_name, "", "overwrite: export kept when the URI has no path");
	is_str(c.unix_path, NULL, "overwrite: unix_path dropped");

	/* a failing parse changes nothing and leaks nothing */
	is_int(uri_parse("nbd://h3:0/x?tls-username=z", &c, &e), -1, "overwrite: bad URI");
	is_str(c.host, "h2", "overwrite: host untouched by a failed parse");
	is_str(c.uri, "nbd://h2", "overwrite: uri untouched by a failed parse");
	is_int(uri_parse("nbd+unix:///a?socket=/x&socket=/y", &c, &e), -1,
	       "overwrite: bad unix URI (allocations made before the error)");
	is_str(c.unix_path, NULL, "overwrite: unix_path untouched by a failed parse");
	is_int(uri_parse("nbd://u@[fe80::1%25e]:1/x?tls-psk-file=/p&tls-certificates=/c", &c, &e),
	       -1, "overwrite: conflict found after everything was decoded");
	is_str(c.tls.psk_file, "/k", "overwrite: psk_file untouched by a failed parse");
	config_free(&c);

	/* TLS already asked for is never turned off by an nbd:// URI */
	config_init(&c);
	c.tls.enabled = true;
	is_int(uri_parse("nbd://h/x", &c, &e), 0, "tls: plain URI over -x");
	ok(c.tls.enabled, "tls: stays enabled");
	config_free(&c);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		test_good(&good[i]);
	test_errors();
	test_long();
	test_is_nbd();
	test_overwrite();
	return tap_done();
}
