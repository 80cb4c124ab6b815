// SPDX-License-Identifier: GPL-2.0-or-later
/* cli_parse cases found by tests/fuzz (fuzz-cli). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tap.h"

#define DEV_FIRST "is an nbd device, not a server (the server comes first: nbd-client HOST [PORT] DEVICE)"

/* argv (NULL-terminated, after "nbd-client") is refused with msg. */
static void refused(const char *name, const char *msg, char **args)
{
	char *argv[16] = { "nbd-client" };
	struct nbd_config c;
	struct nbd_err e = { "" };
	struct cli o;
	int argc = 1;

	while (*args)
		argv[argc++] = *args++;
	config_init(&c);
	is_int(cli_parse(argc, argv, &c, &o, &e), -1, "%s: refused", name);
	is_str(e.msg, msg, "%s: message", name);
	cli_free(&o);
	config_free(&c);
}

int main(void)
{
	/* a device where the server belongs was taken as the whole command
	 * line: -l /dev/nbd0 listed no server, "/dev/nbd0 host" attached
	 * with no server */
	refused("-l device", "'/dev/nbd0' " DEV_FIRST,
		(char *[]){ "-l", "/dev/nbd0", NULL });
	refused("--check -t 2 device", "'/dev/nbd1' " DEV_FIRST,
		(char *[]){ "--check", "-t", "2", "/dev/nbd1", NULL });
	refused("device host", "'/dev/nbd0' " DEV_FIRST,
		(char *[]){ "/dev/nbd0", "host", NULL });
	refused("device host port", "'/dev/nbd2' " DEV_FIRST,
		(char *[]){ "/dev/nbd2", "host", "10809", NULL });
	/* unchanged: a path that is not an nbd device */
	refused("-l /dev/sda", "'/dev/sda' is not an nbd device (expected /dev/nbdN)",
		(char *[]){ "-l", "/dev/sda", NULL });
	/* long options without a short one said "unknown option '-?'" */
	refused("--nbdtab", "option '--nbdtab' needs an argument",
		(char *[]){ "--nbdtab", NULL });
	refused("--ktls", "option '--ktls' needs an argument",
		(char *[]){ "--ktls", NULL });
	return tap_done();
}
