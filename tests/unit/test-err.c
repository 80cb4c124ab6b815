// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every error message is one line without control characters, whatever
 * the input it quotes (found by tests/fuzz: fuzz-cli, fuzz-nbdtab).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "nbdtab.h"
#include "tap.h"

static void test_err(void)
{
	struct nbd_err e;

	is_int(err_set(&e, "bad '%s'", "a\nb\x1b[2J\r\x7f"), -1, "err_set returns -1");
	is_str(e.msg, "bad 'a?b?[2J?" "?'", "err_set: controls become '?'");
	err_errno(&e, 2, "open '%s'", "x\ty");
	is_str(e.msg, "open 'x?y': No such file or directory", "err_errno too");
	err_set(&e, "in\x01ner");
	err_prefix(&e, "out\n'%s'", "er");
	is_str(e.msg, "out?'er': in?ner", "err_prefix too");
	err_set(&e, "caf\xc3\xa9 \xe2\x82\xac");
	is_str(e.msg, "caf\xc3\xa9 \xe2\x82\xac", "UTF-8 text is kept");
}

static void test_cli(void)
{
	char *argv[] = { "nbd-client", "-\x1b]0;x\a", NULL };
	struct nbd_config c;
	struct nbd_err e = { "" };
	struct cli o;

	config_init(&c);
	is_int(cli_parse(2, argv, &c, &o, &e), -1, "cli: unknown option refused");
	is_str(e.msg, "unknown option '-?]0;x?' (see nbd-client -help)",
	       "cli: the option is quoted without its controls");
	cli_free(&o);
	config_free(&c);
}

static void test_nbdtab(void)
{
	static const char text[] = "nbd\x01nbd1 h e\n";
	struct nbd_config c;
	struct nbd_err e = { "" };

	config_init(&c);
	is_int(nbdtab_parse(text, sizeof(text) - 1, "/etc/nbdtab", "nbd1", &c,
			    NULL, NULL, &e), -1, "nbdtab: bad device refused");
	is_str(e.msg, "/etc/nbdtab:1: invalid device 'nbd?nbd1' (expected nbdN or /dev/nbdN)",
	       "nbdtab: the field is quoted without its controls");
	config_free(&c);
}

int main(void)
{
	test_err();
	test_cli();
	test_nbdtab();
	return tap_done();
}
