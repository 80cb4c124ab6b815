// SPDX-License-Identifier: GPL-2.0-or-later
/* cli_parse cases found by tests/fuzz (fuzz-cli), and the device
 * commands' spellings. */
#include <stdbool.h>
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

/* argv is accepted: mode, device (NULL: none), -swap and -timeout. */
static void accepted(const char *name, enum nbd_mode mode, const char *dev,
		     bool swap, unsigned int timeout, char **args)
{
	char *argv[16] = { "nbd-client" };
	struct nbd_config c;
	struct nbd_err e = { "" };
	struct cli o;
	int argc = 1;

	while (*args)
		argv[argc++] = *args++;
	config_init(&c);
	is_int(cli_parse(argc, argv, &c, &o, &e), 0, "%s: accepted", name);
	is_str(e.msg, "", "%s: no message", name);
	is_int(o.mode, mode, "%s: mode", name);
	is_str(c.device, dev, "%s: device", name);
	is_int(c.swap, swap, "%s: -swap", name);
	is_int(c.timeout, timeout, "%s: -timeout", name);
	cli_free(&o);
	config_free(&c);
}

/*
 * -c DEVICE is the reference's check (the pid in sysfs); --status DEVICE
 * describes the device.  "-st 30" is -swap -timeout 30 in the reference,
 * which has no --status to abbreviate: so it stays.
 */
static void device_commands(void)
{
	accepted("-c nbd0", MODE_PID, "/dev/nbd0", false, 0,
		 (char *[]){ "-c", "nbd0", NULL });
	accepted("-check /dev/nbd3", MODE_PID, "/dev/nbd3", false, 0,
		 (char *[]){ "-check", "/dev/nbd3", NULL });
	accepted("-nonetlink -c /dev/nbd2", MODE_PID, "/dev/nbd2", false, 0,
		 (char *[]){ "-nonetlink", "-c", "/dev/nbd2", NULL });
	accepted("--status /dev/nbd1", MODE_STATUS, "/dev/nbd1", false, 0,
		 (char *[]){ "--status", "/dev/nbd1", NULL });
	accepted("-status nbd4 --json", MODE_STATUS, "/dev/nbd4", false, 0,
		 (char *[]){ "-status", "nbd4", "--json", NULL });
	accepted("--status=nbd5", MODE_STATUS, "/dev/nbd5", false, 0,
		 (char *[]){ "--status=nbd5", NULL });
	accepted("--stat nbd6", MODE_STATUS, "/dev/nbd6", false, 0,
		 (char *[]){ "--stat", "nbd6", NULL });
	accepted("--status --json nbd7", MODE_STATUS, "/dev/nbd7", false, 0,
		 (char *[]){ "--status", "--json", "nbd7", NULL });
	accepted("--status -s nbd8", MODE_STATUS, "/dev/nbd8", true, 0,
		 (char *[]){ "--status", "-s", "nbd8", NULL });
	accepted("-st 30 host 10809 nbd0", MODE_ATTACH, "/dev/nbd0", true, 30,
		 (char *[]){ "-st", "30", "host", "10809", "nbd0", NULL });
	accepted("--check host", MODE_CHECK, NULL, false, 0,
		 (char *[]){ "--check", "host", NULL });
	refused("--status /dev/sda",
		"'/dev/sda' is not an nbd device (expected /dev/nbdN)",
		(char *[]){ "--status", "/dev/sda", NULL });
	refused("--status host", "'host' is not an nbd device (expected /dev/nbdN)",
		(char *[]){ "--status", "host", NULL });
	refused("--status nbd0 extra", "unexpected argument 'extra'",
		(char *[]){ "--status", "nbd0", "extra", NULL });
	refused("--status", "option '--status' needs an argument",
		(char *[]){ "--status", NULL });
	refused("--status --json", "--status needs an nbd device (e.g. /dev/nbd0)",
		(char *[]){ "--status", "--json", NULL });
	refused("--status nbd0 nbd1", "unexpected argument 'nbd1'",
		(char *[]){ "--status", "nbd0", "nbd1", NULL });
	refused("-st", "option '-st' needs an argument",
		(char *[]){ "-st", NULL });
	/* long options without a short one said "unknown option '-?'" */
	refused("--nbdtab", "option '--nbdtab' needs an argument",
		(char *[]){ "--nbdtab", NULL });
	refused("--ktls", "option '--ktls' needs an argument",
		(char *[]){ "--ktls", NULL });
}

/*
 * --adopt DEVICE takes over a device another nbd-client attached; its
 * options are the attach's (recorded), so only -nofork may come with it,
 * and the device may come before or after -nofork.
 */
static void adopt(void)
{
	char *argv[] = { "nbd-client", "-nofork", "--adopt", "nbd3", NULL };
	struct nbd_config c;
	struct nbd_err e = { "" };
	struct cli o;

	accepted("--adopt /dev/nbd0", MODE_ADOPT, "/dev/nbd0", false, 0,
		 (char *[]){ "--adopt", "/dev/nbd0", NULL });
	accepted("-adopt nbd1", MODE_ADOPT, "/dev/nbd1", false, 0,
		 (char *[]){ "-adopt", "nbd1", NULL });
	accepted("--adopt=nbd2", MODE_ADOPT, "/dev/nbd2", false, 0,
		 (char *[]){ "--adopt=nbd2", NULL });
	accepted("--adopt -nofork nbd4", MODE_ADOPT, "/dev/nbd4", false, 0,
		 (char *[]){ "--adopt", "-nofork", "nbd4", NULL });
	config_init(&c);
	is_int(cli_parse(4, argv, &c, &o, &e), 0, "-nofork --adopt nbd3: accepted");
	is_int(o.mode, MODE_ADOPT, "-nofork --adopt nbd3: mode");
	is_str(c.device, "/dev/nbd3", "-nofork --adopt nbd3: device");
	is_int(c.nofork, 1, "-nofork --adopt nbd3: -nofork");
	cli_free(&o);
	config_free(&c);
	refused("--adopt", "option '--adopt' needs an argument",
		(char *[]){ "--adopt", NULL });
	refused("--adopt -nofork", "--adopt needs an nbd device (e.g. /dev/nbd0)",
		(char *[]){ "--adopt", "-nofork", NULL });
	refused("--adopt host", "'host' is not an nbd device (expected /dev/nbdN)",
		(char *[]){ "--adopt", "host", NULL });
	refused("--adopt nbd0 nbd1", "unexpected argument 'nbd1'",
		(char *[]){ "--adopt", "nbd0", "nbd1", NULL });
	refused("--adopt nbd0 -t 5",
		"--adopt takes no option but -nofork (not -timeout): the device is reconnected as it was attached",
		(char *[]){ "--adopt", "nbd0", "-t", "5", NULL });
	refused("-persist --adopt nbd0",
		"--adopt takes no option but -nofork (not -persist): the device is reconnected as it was attached",
		(char *[]){ "-persist", "--adopt", "nbd0", NULL });
	refused("--adopt nbd0 -A ca.pem",
		"--adopt takes no option but -nofork (not -cacertfile): the device is reconnected as it was attached",
		(char *[]){ "--adopt", "nbd0", "-A", "ca.pem", NULL });
}

int main(void)
{
	device_commands();
	adopt();
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
	return tap_done();
}
