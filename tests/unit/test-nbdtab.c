// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for client/nbdtab.c: every option, every error, the merge. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbdtab.h"
#include "tap.h"

#define TAB "/etc/nbdtab"

struct warns {
	int n;
	char msg[4][NBD_ERR_MAX];
};

static void collect(void *opaque, const char *msg)
{
	struct warns *w = opaque;

	if (w->n < 4)
		snprintf(w->msg[w->n], sizeof(w->msg[0]), "%s", msg);
	w->n++;
}

static int parse(const char *text, const char *dev, struct nbd_config *c, struct warns *w,
		 struct nbd_err *e)
{
	memset(w, 0, sizeof(*w));
	e->msg[0] = '\0';
	return nbdtab_parse(text, strlen(text), TAB, dev, c, collect, w, e);
}

/* Found, with no warning and no error. */
static void found(const char *text, const char *dev, struct nbd_config *c, const char *name)
{
	struct warns w;
	struct nbd_err e;

	config_init(c);
	is_int(parse(text, dev, c, &w, &e), 1, "%s: found", name);
	is_int(w.n, 0, "%s: no warning", name);
	is_str(e.msg, "", "%s: no error", name);
}

/* An error with exactly this message; c (set up like a command line) untouched. */
static void bad(const char *text, const char *dev, const char *msg, const char *name)
{
	struct nbd_config c;
	struct warns w;
	struct nbd_err e;

	config_init(&c);
	c.host = strdup("cli-host");
	c.persist = true;
	is_int(parse(text, dev, &c, &w, &e), -1, "%s: rejected", name);
	is_str(e.msg, msg, "%s: message", name);
	ok(!c.device && !c.export_name && !c.port && !c.unix_path && !c.block_size &&
	   !c.swap && !c.tls.enabled && c.connections == 1,
	   "%s: config untouched", name);
	is_str(c.host, "cli-host", "%s: host untouched", name);
	config_free(&c);
}

static void test_basic(void)
{
	struct nbd_config c;
	struct warns w;
	struct nbd_err e;

	/* the man page example */
	found("nbd0 nbdserver.example.com swapexport swap,persist\n", "nbd0", &c, "example");
	is_str(c.device, "/dev/nbd0", "example: device");
	is_str(c.host, "nbdserver.example.com", "example: host");
	is_str(c.port, NULL, "example: port stays NULL (10809)");
	is_str(c.unix_path, NULL, "example: no socket");
	is_str(c.export_name, "swapexport", "example: export");
	ok(c.swap && c.persist, "example: swap, persist");
	ok(!c.readonly && !c.preinit && !c.no_optgo && !c.nonetlink && !c.systemd_mark &&
	   !c.nofork && !c.tls.enabled,
	   "example: other flags off");
	ok(!c.block_size && !c.size && !c.timeout && !c.dead_timeout && c.connections == 1,
	   "example: numbers not given");
	config_free(&c);

	found("nbd0 h e\n", "/dev/nbd0", &c, "dev as /dev/nbd0");
	is_str(c.device, "/dev/nbd0", "dev as /dev/nbd0: device");
	config_free(&c);

	found("/dev/nbd12 h e\n", "nbd12", &c, "/dev/ in the file");
	is_str(c.device, "/dev/nbd12", "/dev/ in the file: device");
	is_str(c.host, "h", "/dev/ in the file: host");
	config_free(&c);

	found("nbd0 h e", "nbd0", &c, "no trailing newline");
	is_str(c.export_name, "e", "no trailing newline: export");
	config_free(&c);

	found("nbd0 h e persist", "nbd0", &c, "options, no trailing newline");
	ok(c.persist, "options, no trailing newline: persist");
	config_free(&c);

	found("# nbdtab\n\n   \n\t# indented comment\n  \tnbd0\t h  e\t\tpersist  # trailing\n#x\n",
	      "nbd0", &c, "comments and whitespace");
	is_str(c.host, "h", "comments and whitespace: host");
	is_str(c.export_name, "e", "comments and whitespace: export");
	ok(c.persist, "comments and whitespace: persist");
	config_free(&c);

	found("nbd0 h e # swap,readonly\n", "nbd0", &c, "comment where options would be");
	ok(!c.swap && !c.readonly, "comment where options would be: ignored");
	config_free(&c);

	found("nbd0 h#1 ex#p\n", "nbd0", &c, "'#' inside a field");
	is_str(c.host, "h#1", "'#' inside a field: host");
	is_str(c.export_name, "ex#p", "'#' inside a field: export");
	config_free(&c);

	found("nbd0 h e persist\r\nnbd1 h2 e2\r\n", "nbd0", &c, "CRLF");
	is_str(c.export_name, "e", "CRLF: export");
	ok(c.persist, "CRLF: persist");
	config_free(&c);

	found("nbd0 [::1] e\n", "nbd0", &c, "bracketed IPv6");
	is_str(c.host, "::1", "bracketed IPv6: host without brackets");
	config_free(&c);
	found("nbd0 fe80::1%eth0 e\n", "nbd0", &c, "bare IPv6");
	is_str(c.host, "fe80::1%eth0", "bare IPv6: host");
	config_free(&c);
	found("nbd0 [] e\n", "nbd0", &c, "'[]' is not stripped");
	is_str(c.host, "[]", "'[]' kept");
	config_free(&c);

	/* the right line among several; each line stands alone */
	found("nbd0 a ea port=1234,bs=4096,persist\n"
	      "nbd1 b eb\n"
	      "nbd2 c ec swap\n",
	      "nbd1", &c, "middle line");
	is_str(c.device, "/dev/nbd1", "middle line: device");
	is_str(c.host, "b", "middle line: host");
	is_str(c.export_name, "eb", "middle line: export");
	is_str(c.port, NULL, "middle line: port of line 1 not carried over");
	ok(!c.block_size && !c.persist && !c.swap, "middle line: nothing from other lines");
	config_free(&c);

	found("nbd0 a ea\nnbd10 b eb\nnbd1 c ec\n", "nbd1", &c, "nbd1 is not nbd10");
	is_str(c.host, "c", "nbd1 is not nbd10: host");
	config_free(&c);

	/* not found */
	config_init(&c);
	is_int(parse("nbd0 h e\n# nbd1 h e\n", "nbd1", &c, &w, &e), 0, "not found: 0");
	is_str(e.msg, "no entry for nbd1 in /etc/nbdtab", "not found: message");
	ok(!c.device && !c.host && !c.export_name, "not found: config untouched");
	is_int(parse("", "/dev/nbd3", &c, &w, &e), 0, "empty file: 0");
	is_str(e.msg, "no entry for nbd3 in /etc/nbdtab", "empty file: message");
	is_int(nbdtab_parse("nbd0 h e\n", 0, NULL, "nbd0", &c, NULL, NULL, &e), 0,
	       "len 0: nothing read");
	is_str(e.msg, "no entry for nbd0 in nbdtab", "NULL origin: 'nbdtab'");
	is_int(nbdtab_parse("nbd0 h e\nnbd1 x y\n", 9, TAB, "nbd1", &c, NULL, NULL, &e), 0,
	       "len is honoured");
	config_free(&c);

	/* warn may be NULL */
	config_init(&c);
	is_int(nbdtab_parse("nbd0 h e bogus\n", 14, TAB, "nbd0", &c, NULL, NULL, &e), 1,
	       "warn NULL: found");
	config_free(&c);
}

static void test_options(void)
{
	static const char *const tls_opts[] = {
		"certfile=/c", "keyfile=/k", "cacertfile=/ca", "tlshostname=n",
		"priority=NORMAL", "psk-file=/p", "psk-user=u", "tls",
	};
	static const char *const plain_opts[] = {
		"bs=512", "size=512", "timeout=1", "dead-timeout=1", "port=1", "conns=2",
		"identifier=x", "persist", "swap", "unix", "no_optgo", "preinit", "readonly",
		"nonetlink", "systemd-mark", "nofork", "ktls=on", "sandbox=off",
	};
	struct nbd_config c;
	char text[256];
	size_t i;

	found("nbd3 server.example.com data bs=4096,size=1073741824,timeout=30,dead-timeout=60,"
	      "port=10810,conns=4,identifier=vm-17,certfile=/etc/nbd/cert.pem,"
	      "keyfile=/etc/nbd/key.pem,cacertfile=/etc/nbd/ca.pem,tlshostname=nbd.example.com,"
	      "priority=NORMAL:-VERS-ALL:+VERS-TLS1.3,psk-file=/etc/nbd/keys.psk,psk-user=alice\n",
	      "nbd3", &c, "all value options");
	is_int(c.block_size, 4096, "bs");
	is_int(c.size, 1073741824, "size");
	is_int(c.timeout, 30, "timeout");
	is_int(c.dead_timeout, 60, "dead-timeout");
	is_str(c.port, "10810", "port");
	is_int(c.connections, 4, "conns");
	is_str(c.identifier, "vm-17", "identifier");
	is_str(c.tls.cert, "/etc/nbd/cert.pem", "certfile");
	is_str(c.tls.key, "/etc/nbd/key.pem", "keyfile");
	is_str(c.tls.cacert, "/etc/nbd/ca.pem", "cacertfile");
	is_str(c.tls.hostname, "nbd.example.com", "tlshostname");
	is_str(c.tls.priority, "NORMAL:-VERS-ALL:+VERS-TLS1.3", "priority");
	is_str(c.tls.psk_file, "/etc/nbd/keys.psk", "psk-file");
	is_str(c.tls.psk_user, "alice", "psk-user");
	ok(c.tls.enabled, "TLS options: tls.enabled");
	is_str(c.tls.cert_dir, NULL, "cert_dir not set");
	config_free(&c);

	found("nbd4 /run/nbd.sock e unix,persist,swap,no_optgo,preinit,tls,readonly,nonetlink,"
	      "systemd-mark,nofork\n",
	      "nbd4", &c, "all flags");
	is_str(c.unix_path, "/run/nbd.sock", "unix: socket path");
	is_str(c.host, NULL, "unix: no host");
	ok(c.persist, "persist");
	ok(c.swap, "swap");
	ok(c.no_optgo, "no_optgo");
	ok(c.preinit, "preinit");
	ok(c.tls.enabled, "tls");
	ok(c.readonly, "readonly");
	ok(c.nonetlink, "nonetlink");
	ok(c.systemd_mark, "systemd-mark");
	ok(c.nofork, "nofork");
	config_free(&c);

	for (i = 0; i < sizeof(tls_opts) / sizeof(tls_opts[0]); i++) {
		snprintf(text, sizeof(text), "nbd0 h e %s\n", tls_opts[i]);
		found(text, "nbd0", &c, tls_opts[i]);
		ok(c.tls.enabled, "%s turns TLS on", tls_opts[i]);
		config_free(&c);
	}
	for (i = 0; i < sizeof(plain_opts) / sizeof(plain_opts[0]); i++) {
		snprintf(text, sizeof(text), "nbd0 h e %s\n", plain_opts[i]);
		found(text, "nbd0", &c, plain_opts[i]);
		ok(!c.tls.enabled, "%s leaves TLS off", plain_opts[i]);
		config_free(&c);
	}

	found("nbd0 h e ktls=off\n", "nbd0", &c, "ktls=off");
	is_int(c.tls.ktls, KTLS_OFF, "ktls=off");
	config_free(&c);
	found("nbd0 h e ktls=auto\n", "nbd0", &c, "ktls=auto");
	is_int(c.tls.ktls, KTLS_AUTO, "ktls=auto");
	config_free(&c);
	found("nbd0 h e tls,ktls=on\n", "nbd0", &c, "ktls=on");
	is_int(c.tls.ktls, KTLS_ON, "ktls=on");
	config_free(&c);
	found("nbd0 h e tls\n", "nbd0", &c, "no ktls=");
	is_int(c.tls.ktls, KTLS_UNSET, "no ktls=: unset (the default applies)");
	config_free(&c);
	found("nbd0 h e sandbox=off\n", "nbd0", &c, "sandbox=off");
	ok(c.no_sandbox, "sandbox=off: no sandbox");
	config_free(&c);
	found("nbd0 h e sandbox=on\n", "nbd0", &c, "sandbox=on");
	ok(!c.no_sandbox, "sandbox=on: the sandbox (the default)");
	config_free(&c);

	/* limits that are accepted */
	found("nbd0 h e bs=512\n", "nbd0", &c, "bs=512");
	is_int(c.block_size, 512, "bs=512 kept");
	config_free(&c);
	found("nbd0 h e bs=4096,size=131072\n", "nbd0", &c, "bs=4096");
	is_int(c.block_size, 4096, "bs=4096 kept");
	config_free(&c);
	found("nbd0 h e bs=01024\n", "nbd0", &c, "bs=01024");
	is_int(c.block_size, 1024, "bs=01024 is 1024");
	config_free(&c);
	found("nbd0 h e timeout=2147483,dead-timeout=2147483\n", "nbd0", &c, "max timeouts");
	is_int(c.timeout, 2147483, "timeout=2147483");
	is_int(c.dead_timeout, 2147483, "dead-timeout=2147483");
	config_free(&c);
	found("nbd0 h e port=65535,conns=64\n", "nbd0", &c, "max port, conns");
	is_str(c.port, "65535", "port=65535");
	is_int(c.connections, 64, "conns=64");
	config_free(&c);
	found("nbd0 h e port=010809,conns=1\n", "nbd0", &c, "port with leading 0");
	is_str(c.port, "10809", "port=010809 normalised");
	is_int(c.connections, 1, "conns=1");
	config_free(&c);
	found("nbd0 h e size=9223372036854775296\n", "nbd0", &c, "largest size");
	ok(c.size == 9223372036854775296ULL, "size=2^63-512");
	config_free(&c);
	found("nbd0 h e size=1536,bs=512\n", "nbd0", &c, "size before bs");
	is_int(c.size, 1536, "size=1536");
	config_free(&c);
	found("nbd0 h e identifier=a=b,priority=SECURE256:%COMPAT\n", "nbd0", &c, "'=' in a value");
	is_str(c.identifier, "a=b", "identifier=a=b");
	is_str(c.tls.priority, "SECURE256:%COMPAT", "priority with '%%'");
	config_free(&c);
}

static void test_warnings(void)
{
	struct nbd_config c;
	struct warns w;
	struct nbd_err e;

	config_init(&c);
	is_int(parse("nbd0 h e foo,persist,bar=1,_local,_x=y,no-optgo\n", "nbd0", &c, &w, &e), 1,
	       "unknown options: found");
	is_int(w.n, 3, "unknown options: three warnings");
	is_str(w.msg[0], "/etc/nbdtab:1: unknown option 'foo' ignored", "warning for foo");
	is_str(w.msg[1], "/etc/nbdtab:1: unknown option 'bar' ignored", "warning for bar=1");
	is_str(w.msg[2], "/etc/nbdtab:1: unknown option 'no-optgo' ignored",
	       "warning for no-optgo");
	ok(c.persist, "unknown options: the known one is applied");
	config_free(&c);

	/* found by tests/fuzz (fuzz-nbdtab): the warning quoted the option's
	 * control bytes raw */
	config_init(&c);
	is_int(parse("nbd0 h e tls\x1b[2Jname,x\x7f\n", "nbd0", &c, &w, &e), 1,
	       "unknown options with controls: found");
	is_int(w.n, 2, "unknown options with controls: two warnings");
	is_str(w.msg[0], "/etc/nbdtab:1: unknown option 'tls?[2Jname' ignored",
	       "warning without ESC");
	is_str(w.msg[1], "/etc/nbdtab:1: unknown option 'x?' ignored", "warning without DEL");
	config_free(&c);

	config_init(&c);
	is_int(parse("nbd0 h e foo\n\nnbd1 h e bar\n", "nbd1", &c, &w, &e), 1,
	       "warnings: other line");
	is_int(w.n, 1, "warnings: only for the line looked up");
	is_str(w.msg[0], "/etc/nbdtab:3: unknown option 'bar' ignored", "warning with line 3");
	config_free(&c);

	config_init(&c);
	is_int(parse("nbd0 h e _a,_b=1,_=2\n", "nbd0", &c, &w, &e), 1, "'_' options: found");
	is_int(w.n, 0, "'_' options: silent");
	config_free(&c);
}

static void test_errors(void)
{
	char text[8192];

	/* structure */
	bad("nbd1 host\n", "nbd1", "/etc/nbdtab:1: missing export name for nbd1", "no export");
	bad("\n# c\n/dev/nbd1 host\n", "nbd1", "/etc/nbdtab:3: missing export name for nbd1",
	    "no export, line 3, /dev/");
	bad("nbd1 host # e\n", "nbd1", "/etc/nbdtab:1: missing export name for nbd1",
	    "export commented out");
	bad("nbd1\n", "nbd1", "/etc/nbdtab:1: missing host or socket path for nbd1", "no host");
	bad("  nbd1  # h e\n", "nbd1", "/etc/nbdtab:1: missing host or socket path for nbd1",
	    "host commented out");
	bad("nbd1 h e persist swap\n", "nbd1",
	    "/etc/nbdtab:1: too many fields for nbd1 (options must be one comma-separated list without spaces)",
	    "five fields");
	bad("nbd1 h e persist, swap\n", "nbd1",
	    "/etc/nbdtab:1: too many fields for nbd1 (options must be one comma-separated list without spaces)",
	    "space after comma");
	bad("nbd1 h e a b c d e f\n", "nbd1",
	    "/etc/nbdtab:1: too many fields for nbd1 (options must be one comma-separated list without spaces)",
	    "many fields");

	/* device names, in the file and as the argument */
	bad("sda h e\n", "nbd0", "/etc/nbdtab:1: invalid device 'sda' (expected nbdN or /dev/nbdN)",
	    "device sda");
	bad("nbd h e\n", "nbd0", "/etc/nbdtab:1: invalid device 'nbd' (expected nbdN or /dev/nbdN)",
	    "device nbd");
	bad("nbd01 h e\n", "nbd0",
	    "/etc/nbdtab:1: invalid device 'nbd01' (expected nbdN or /dev/nbdN)", "device nbd01");
	bad("nbd0p1 h e\n", "nbd0",
	    "/etc/nbdtab:1: invalid device 'nbd0p1' (expected nbdN or /dev/nbdN)", "device nbd0p1");
	bad("/dev/sda1 h e\n", "nbd0",
	    "/etc/nbdtab:1: invalid device '/dev/sda1' (expected nbdN or /dev/nbdN)",
	    "device /dev/sda1");
	bad("dev/nbd0 h e\n", "nbd0",
	    "/etc/nbdtab:1: invalid device 'dev/nbd0' (expected nbdN or /dev/nbdN)",
	    "device dev/nbd0");
	bad("nbd99999999999 h e\n", "nbd0",
	    "/etc/nbdtab:1: invalid device 'nbd99999999999' (expected nbdN or /dev/nbdN)",
	    "device number too big");
	bad("nbd-1 h e\n", "nbd0",
	    "/etc/nbdtab:1: invalid device 'nbd-1' (expected nbdN or /dev/nbdN)", "device nbd-1");
	bad("nbd0 h e\n", "sda", "invalid device 'sda' (expected nbdN or /dev/nbdN)",
	    "argument sda");
	bad("nbd0 h e\n", "", "invalid device '' (expected nbdN or /dev/nbdN)", "argument ''");
	bad("nbd0 h e\n", NULL, "invalid device '' (expected nbdN or /dev/nbdN)", "argument NULL");
	bad("nbd0 h e\n", "/dev/nbd", "invalid device '/dev/nbd' (expected nbdN or /dev/nbdN)",
	    "argument /dev/nbd");
	bad("nbd0 h e\n", "nbd00", "invalid device 'nbd00' (expected nbdN or /dev/nbdN)",
	    "argument nbd00");

	/* an error on any line, before or after the entry */
	bad("nbd0 h e\nnbd1 h\n", "nbd0", "/etc/nbdtab:2: missing export name for nbd1",
	    "error after the entry");
	bad("nbd1 h e bs=3\nnbd0 h e\n", "nbd0",
	    "/etc/nbdtab:1: invalid bs=3 (must be 512, 1024, 2048 or 4096)",
	    "bad value on another line");
	bad("nbd0 h e\nbogus\n", "nbd0",
	    "/etc/nbdtab:2: invalid device 'bogus' (expected nbdN or /dev/nbdN)",
	    "bad device on another line");
	bad("nbd0 h e\nnbd0 h2 e2\n", "nbd0",
	    "/etc/nbdtab:2: duplicate entry for nbd0 (first on line 1)", "duplicate");
	bad("nbd0 h e\n\n/dev/nbd0 h2 e2\nnbd0 h3 e3\n", "/dev/nbd0",
	    "/etc/nbdtab:3: duplicate entry for nbd0 (first on line 1)", "duplicate, /dev/");

	/* option list syntax */
	bad("nbd0 h e persist,,swap\n", "nbd0", "/etc/nbdtab:1: empty option in 'persist,,swap'",
	    "empty option");
	bad("nbd0 h e persist,\n", "nbd0", "/etc/nbdtab:1: empty option in 'persist,'",
	    "trailing comma");
	bad("nbd0 h e ,persist\n", "nbd0", "/etc/nbdtab:1: empty option in ',persist'",
	    "leading comma");
	bad("nbd0 h e ,\n", "nbd0", "/etc/nbdtab:1: empty option in ','", "lone comma");
	bad("nbd0 h e =x\n", "nbd0", "/etc/nbdtab:1: empty option in '=x'", "no key");
	bad("nbd0 h e persist=1\n", "nbd0", "/etc/nbdtab:1: option 'persist' takes no value",
	    "flag with a value");
	bad("nbd0 h e unix=\n", "nbd0", "/etc/nbdtab:1: option 'unix' takes no value",
	    "flag with an empty value");
	bad("nbd0 h e bs\n", "nbd0", "/etc/nbdtab:1: option 'bs' needs a value (bs=...)",
	    "value option without one");
	bad("nbd0 h e certfile=\n", "nbd0",
	    "/etc/nbdtab:1: option 'certfile' needs a value (certfile=...)",
	    "value option with an empty one");
	bad("nbd0 h e bs=512,bs=1024\n", "nbd0", "/etc/nbdtab:1: option 'bs' given twice",
	    "bs twice");
	bad("nbd0 h e persist,swap,persist\n", "nbd0",
	    "/etc/nbdtab:1: option 'persist' given twice", "flag twice");
	bad("nbd0 h e psk-user=a,psk-user=a\n", "nbd0",
	    "/etc/nbdtab:1: option 'psk-user' given twice", "string twice");

	/* values */
	bad("nbd0 h e bs=1000\n", "nbd0",
	    "/etc/nbdtab:1: invalid bs=1000 (must be 512, 1024, 2048 or 4096)", "bs=1000");
	bad("nbd0 h e bs=256\n", "nbd0",
	    "/etc/nbdtab:1: invalid bs=256 (must be 512, 1024, 2048 or 4096)", "bs=256");
	bad("nbd0 h e bs=131072\n", "nbd0",
	    "/etc/nbdtab:1: invalid bs=131072 (must be 512, 1024, 2048 or 4096)",
	    "bs=131072");
	bad("nbd0 h e bs=0\n", "nbd0",
	    "/etc/nbdtab:1: invalid bs=0 (must be 512, 1024, 2048 or 4096)", "bs=0");
	bad("nbd0 h e bs=4k\n", "nbd0",
	    "/etc/nbdtab:1: invalid bs=4k (must be 512, 1024, 2048 or 4096)", "bs=4k");
	bad("nbd0 h e bs=-512\n", "nbd0",
	    "/etc/nbdtab:1: invalid bs=-512 (must be 512, 1024, 2048 or 4096)", "bs=-512");
	bad("nbd0 h e bs=+512\n", "nbd0",
	    "/etc/nbdtab:1: invalid bs=+512 (must be 512, 1024, 2048 or 4096)", "bs=+512");
	bad("nbd0 h e bs=18446744073709551616\n", "nbd0",
	    "/etc/nbdtab:1: invalid bs=18446744073709551616 (must be 512, 1024, 2048 or 4096)",
	    "bs overflow");
	bad("nbd0 h e timeout=0\n", "nbd0",
	    "/etc/nbdtab:1: invalid timeout=0 (must be 1 to 2147483 seconds)", "timeout=0");
	bad("nbd0 h e timeout=2147484\n", "nbd0",
	    "/etc/nbdtab:1: invalid timeout=2147484 (must be 1 to 2147483 seconds)",
	    "timeout too big");
	bad("nbd0 h e timeout=10s\n", "nbd0",
	    "/etc/nbdtab:1: invalid timeout=10s (must be 1 to 2147483 seconds)", "timeout=10s");
	bad("nbd0 h e dead-timeout=0\n", "nbd0",
	    "/etc/nbdtab:1: invalid dead-timeout=0 (must be 1 to 2147483 seconds)",
	    "dead-timeout=0");
	bad("nbd0 h e dead-timeout=x\n", "nbd0",
	    "/etc/nbdtab:1: invalid dead-timeout=x (must be 1 to 2147483 seconds)",
	    "dead-timeout=x");
	bad("nbd0 h e port=0\n", "nbd0", "/etc/nbdtab:1: invalid port=0 (must be 1 to 65535)",
	    "port=0");
	bad("nbd0 h e ktls=yes\n", "nbd0", "/etc/nbdtab:1: invalid ktls=yes (must be auto, on or off)",
	    "ktls=yes");
	bad("nbd0 h e sandbox=no\n", "nbd0", "/etc/nbdtab:1: invalid sandbox=no (must be on or off)",
	    "sandbox=no");
	bad("nbd0 h e ktls=\n", "nbd0", "/etc/nbdtab:1: option 'ktls' needs a value (ktls=...)",
	    "ktls= empty");
	bad("nbd0 h e port=65536\n", "nbd0",
	    "/etc/nbdtab:1: invalid port=65536 (must be 1 to 65535)", "port=65536");
	bad("nbd0 h e port=nbd\n", "nbd0", "/etc/nbdtab:1: invalid port=nbd (must be 1 to 65535)",
	    "port=nbd");
	bad("nbd0 h e conns=0\n", "nbd0", "/etc/nbdtab:1: invalid conns=0 (must be 1 to 64)",
	    "conns=0");
	bad("nbd0 h e conns=65\n", "nbd0", "/etc/nbdtab:1: invalid conns=65 (must be 1 to 64)",
	    "conns=65");
	bad("nbd0 h e size=0\n", "nbd0",
	    "/etc/nbdtab:1: invalid size=0 (must be a positive number of bytes)", "size=0");
	bad("nbd0 h e size=1G\n", "nbd0",
	    "/etc/nbdtab:1: invalid size=1G (must be a positive number of bytes)", "size=1G");
	bad("nbd0 h e size=9223372036854775808\n", "nbd0",
	    "/etc/nbdtab:1: invalid size=9223372036854775808 (must be a positive number of bytes)",
	    "size=2^63");
	bad("nbd0 h e size=1000\n", "nbd0",
	    "/etc/nbdtab:1: size=1000 is not a multiple of the block size 512", "size=1000");
	bad("nbd0 h e size=1536,bs=1024\n", "nbd0",
	    "/etc/nbdtab:1: size=1536 is not a multiple of the block size 1024",
	    "size not a multiple of bs");
	bad("nbd0 /s e unix,port=1\n", "nbd0",
	    "/etc/nbdtab:1: port= cannot be used with unix (the second field is a socket path)",
	    "unix and port");
	bad("nbd0 /s e port=1,unix\n", "nbd0",
	    "/etc/nbdtab:1: port= cannot be used with unix (the second field is a socket path)",
	    "port and unix");

	/* export name limit (proto.md: 4096 bytes) */
	strcpy(text, "nbd0 h ");
	memset(text + 7, 'x', 4097);
	strcpy(text + 7 + 4097, "\n");
	bad(text, "nbd0", "/etc/nbdtab:1: export name for nbd0 is longer than 4096 bytes",
	    "export too long");
	{
		struct nbd_config c;

		text[7 + 4096] = '\n';
		text[7 + 4097] = '\0';
		found(text, "nbd0", &c, "4096-byte export");
		is_int(strlen(c.export_name), 4096, "4096-byte export kept");
		config_free(&c);
	}

	/* binary junk */
	{
		static const char nul[] = "nbd0 h e\nnb\0d1 h e\n";
		struct nbd_config c;
		struct nbd_err e;

		config_init(&c);
		is_int(nbdtab_parse(nul, sizeof(nul) - 1, TAB, "nbd0", &c, NULL, NULL, &e), -1,
		       "NUL byte: rejected");
		is_str(e.msg, "/etc/nbdtab:2: contains a NUL byte (not a text file?)",
		       "NUL byte: message");
		ok(!c.device && !c.host, "NUL byte: config untouched");
		is_int(nbdtab_parse("\0", 1, NULL, "nbd0", &c, NULL, NULL, &e), -1,
		       "NUL first: rejected");
		is_str(e.msg, "nbdtab:1: contains a NUL byte (not a text file?)",
		       "NUL first: message, NULL origin");
		config_free(&c);
	}

	/* origin in messages */
	{
		struct nbd_config c;
		struct nbd_err e;

		config_init(&c);
		is_int(nbdtab_parse("nbd0 h\n", 7, "/tmp/x", "nbd0", &c, NULL, NULL, &e), -1,
		       "origin: rejected");
		is_str(e.msg, "/tmp/x:1: missing export name for nbd0", "origin: used");
		config_free(&c);
	}
}

/*
 * The command line (what c holds already) wins; nbdtab fills the rest.
 * Under ASan this also checks that nothing leaks either way.
 */
static void test_merge(void)
{
	const char *line = "nbd2 tabhost tabexport bs=4096,size=8192,timeout=30,dead-timeout=60,"
			   "port=99,conns=8,identifier=tabid,certfile=/tc,keyfile=/tk,"
			   "cacertfile=/tca,tlshostname=tabname,priority=TABPRIO,psk-file=/tp,"
			   "psk-user=tabuser,persist,swap,readonly\n";
	struct nbd_config c;
	struct warns w;
	struct nbd_err e;

	/* everything given on the command line */
	config_init(&c);
	c.host = strdup("clihost");
	c.port = strdup("1234");
	c.export_name = strdup("cliexport");
	c.device = strdup("nbd2");
	c.identifier = strdup("cliid");
	c.block_size = 1024;
	c.size = 2048;
	c.timeout = 5;
	c.dead_timeout = 6;
	c.connections = 2;
	c.preinit = true;
	c.tls.cert = strdup("/cc");
	c.tls.key = strdup("/ck");
	c.tls.cacert = strdup("/cca");
	c.tls.hostname = strdup("cliname");
	c.tls.priority = strdup("CLIPRIO");
	c.tls.psk_file = strdup("/cp");
	c.tls.psk_user = strdup("cliuser");
	is_int(parse(line, "nbd2", &c, &w, &e), 1, "merge: found");
	is_str(c.device, "/dev/nbd2", "merge: device normalised");
	is_str(c.host, "clihost", "merge: CLI host wins");
	is_str(c.port, "1234", "merge: CLI port wins");
	is_str(c.export_name, "cliexport", "merge: CLI export wins");
	is_str(c.identifier, "cliid", "merge: CLI identifier wins");
	is_int(c.block_size, 1024, "merge: CLI bs wins");
	is_int(c.size, 2048, "merge: CLI size wins");
	is_int(c.timeout, 5, "merge: CLI timeout wins");
	is_int(c.dead_timeout, 6, "merge: CLI dead-timeout wins");
	is_int(c.connections, 2, "merge: CLI connections win");
	is_str(c.tls.cert, "/cc", "merge: CLI cert wins");
	is_str(c.tls.key, "/ck", "merge: CLI key wins");
	is_str(c.tls.cacert, "/cca", "merge: CLI cacert wins");
	is_str(c.tls.hostname, "cliname", "merge: CLI tls hostname wins");
	is_str(c.tls.priority, "CLIPRIO", "merge: CLI priority wins");
	is_str(c.tls.psk_file, "/cp", "merge: CLI psk file wins");
	is_str(c.tls.psk_user, "cliuser", "merge: CLI psk user wins");
	ok(c.preinit && c.persist && c.swap && c.readonly && c.tls.enabled,
	   "merge: flags OR-ed");
	config_free(&c);

	/* nothing given on the command line */
	config_init(&c);
	is_int(parse(line, "nbd2", &c, &w, &e), 1, "fill: found");
	is_str(c.host, "tabhost", "fill: host");
	is_str(c.port, "99", "fill: port");
	is_str(c.export_name, "tabexport", "fill: export");
	is_str(c.identifier, "tabid", "fill: identifier");
	ok(c.block_size == 4096 && c.size == 8192 && c.timeout == 30 && c.dead_timeout == 60 &&
	   c.connections == 8,
	   "fill: numbers");
	is_str(c.tls.cert, "/tc", "fill: cert");
	is_str(c.tls.key, "/tk", "fill: key");
	is_str(c.tls.cacert, "/tca", "fill: cacert");
	is_str(c.tls.hostname, "tabname", "fill: tls hostname");
	is_str(c.tls.priority, "TABPRIO", "fill: priority");
	is_str(c.tls.psk_file, "/tp", "fill: psk file");
	is_str(c.tls.psk_user, "tabuser", "fill: psk user");
	ok(c.persist && c.swap && c.readonly && c.tls.enabled && !c.preinit, "fill: flags");
	config_free(&c);

	/* a CLI socket keeps the nbdtab host and port out */
	config_init(&c);
	c.unix_path = strdup("/cli.sock");
	is_int(parse("nbd0 tabhost e port=5\n", "nbd0", &c, &w, &e), 1, "cli socket: found");
	is_str(c.unix_path, "/cli.sock", "cli socket: kept");
	is_str(c.host, NULL, "cli socket: no nbdtab host");
	is_str(c.port, NULL, "cli socket: no nbdtab port");
	config_free(&c);

	/* a CLI host keeps the nbdtab socket out */
	config_init(&c);
	c.host = strdup("clihost");
	is_int(parse("nbd0 /tab.sock e unix\n", "nbd0", &c, &w, &e), 1, "cli host: found");
	is_str(c.host, "clihost", "cli host: kept");
	is_str(c.unix_path, NULL, "cli host: no nbdtab socket");
	config_free(&c);

	/* a CLI port alone does not keep out the nbdtab host */
	config_init(&c);
	c.port = strdup("1234");
	is_int(parse("nbd0 tabhost e port=5\n", "nbd0", &c, &w, &e), 1, "cli port: found");
	is_str(c.host, "tabhost", "cli port: nbdtab host");
	is_str(c.port, "1234", "cli port: kept");
	config_free(&c);

	/* the default connections=1 counts as not given */
	config_init(&c);
	is_int(parse("nbd0 h e conns=3\n", "nbd0", &c, &w, &e), 1, "conns over default: found");
	is_int(c.connections, 3, "conns over the default 1");
	config_free(&c);

	/* TLS asked for on the command line stays on */
	config_init(&c);
	c.tls.enabled = true;
	is_int(parse("nbd0 h e\n", "nbd0", &c, &w, &e), 1, "cli tls: found");
	ok(c.tls.enabled, "cli tls: stays on");
	config_free(&c);

	/* the same config looked up twice: the device is replaced, not leaked */
	config_init(&c);
	is_int(parse("nbd0 h e\nnbd1 h1 e1\n", "nbd0", &c, &w, &e), 1, "twice: first");
	is_int(parse("nbd0 h e\nnbd1 h1 e1\n", "nbd1", &c, &w, &e), 1, "twice: second");
	is_str(c.device, "/dev/nbd1", "twice: device replaced");
	is_str(c.host, "h", "twice: host from the first kept");
	config_free(&c);

	/* errors after the entry was parsed leak nothing */
	config_init(&c);
	is_int(parse("nbd0 h e certfile=/a,psk-user=u,identifier=i,port=1\nnbd0 x y\n", "nbd0",
		     &c, &w, &e), -1, "error after entry: rejected");
	ok(!c.host && !c.device, "error after entry: config untouched");
	is_int(parse("nbd0 h e certfile=/a,psk-user=u,identifier=i,port=0\n", "nbd0", &c, &w, &e),
	       -1, "error inside entry: rejected");
	is_int(parse("nbd0 h e certfile=/a,psk-user=u,identifier=i\nnbd1 h\n", "nbd0", &c, &w,
		     &e), -1, "error in a later line: rejected");
	config_free(&c);
}

static void test_lookup(void)
{
	char dir[] = "/tmp/test-nbdtab.XXXXXX", path[64], big[80], want[NBD_ERR_MAX];
	struct nbd_config c;
	struct nbd_err e;
	struct warns w = { 0 };
	char *buf;
	int fd;

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/nbdtab", dir);
	snprintf(big, sizeof(big), "%s/big", dir);

	config_init(&c);
	is_int(nbdtab_lookup(path, "nbd0", &c, NULL, NULL, &e), -1, "missing file: error");
	snprintf(want, sizeof(want), "cannot read %s: No such file or directory", path);
	is_str(e.msg, want, "missing file: message");

	is_int(nbdtab_lookup(dir, "nbd0", &c, NULL, NULL, &e), -1, "directory: error");
	snprintf(want, sizeof(want), "cannot read %s: Is a directory", dir);
	is_str(e.msg, want, "directory: message");

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && write(fd, "# t\nnbd7 srv exp persist,odd\n", 29) == 29, "write nbdtab");
	close(fd);
	is_int(nbdtab_lookup(path, "/dev/nbd7", &c, collect, &w, &e), 1, "file: found");
	is_str(c.device, "/dev/nbd7", "file: device");
	is_str(c.host, "srv", "file: host");
	is_str(c.export_name, "exp", "file: export");
	ok(c.persist, "file: persist");
	is_int(w.n, 1, "file: one warning");
	snprintf(want, sizeof(want), "%s:2: unknown option 'odd' ignored", path);
	is_str(w.msg[0], want, "file: warning names the file");
	config_free(&c);

	config_init(&c);
	is_int(nbdtab_lookup(path, "nbd8", &c, NULL, NULL, &e), 0, "file: not found");
	snprintf(want, sizeof(want), "no entry for nbd8 in %s", path);
	is_str(e.msg, want, "file: not found message");

	/* exactly 1 MiB is read; one byte more is refused */
	buf = malloc(NBDTAB_MAX_SIZE + 1);
	memset(buf, '\n', NBDTAB_MAX_SIZE + 1);
	memcpy(buf, "#", 1);
	memcpy(buf + NBDTAB_MAX_SIZE - 9, "nbd0 h e\n", 9);
	fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ok(fd >= 0 && write(fd, buf, NBDTAB_MAX_SIZE) == NBDTAB_MAX_SIZE, "write 1 MiB");
	close(fd);
	is_int(nbdtab_lookup(big, "nbd0", &c, NULL, NULL, &e), 1, "1 MiB: read");
	is_str(c.host, "h", "1 MiB: last line seen");
	config_free(&c);
	fd = open(big, O_WRONLY | O_APPEND);
	ok(fd >= 0 && write(fd, "\n", 1) == 1, "grow to 1 MiB + 1");
	close(fd);
	config_init(&c);
	is_int(nbdtab_lookup(big, "nbd0", &c, NULL, NULL, &e), -1, "1 MiB + 1: refused");
	snprintf(want, sizeof(want), "cannot read %s: file is larger than 1 MiB", big);
	is_str(e.msg, want, "1 MiB + 1: message");
	ok(!c.host, "1 MiB + 1: config untouched");
	config_free(&c);
	free(buf);

	/* an error names the file and the line */
	fd = open(path, O_WRONLY | O_TRUNC);
	ok(fd >= 0 && write(fd, "nbd0 h e\nnbd1 h\n", 16) == 16, "write bad nbdtab");
	close(fd);
	config_init(&c);
	is_int(nbdtab_lookup(path, "nbd0", &c, NULL, NULL, &e), -1, "bad file: error");
	snprintf(want, sizeof(want), "%s:2: missing export name for nbd1", path);
	is_str(e.msg, want, "bad file: message");
	config_free(&c);

	unlink(path);
	unlink(big);
	rmdir(dir);
}

int main(void)
{
	test_basic();
	test_options();
	test_warnings();
	test_errors();
	test_merge();
	test_lookup();
	return tap_done();
}
