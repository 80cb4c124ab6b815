// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The command line (client/cli.c cli_parse): the input is split at NUL
 * bytes into arguments after argv[0] = "nbd-client" (at most 64).
 */
#include <stdbool.h>

#include "cli.h"
#include "fuzz.h"

#define MAX_ARGS 64

static void check_parsed(const struct nbd_config *c, const struct cli *o)
{
	if (c->device)
		fuzz_assert(!strncmp(c->device, "/dev/nbd", 8), "device %s",
			    c->device);
	if (c->unix_path)
		fuzz_assert(*c->unix_path, "empty socket path accepted");
	switch (o->mode) {
	case MODE_ATTACH:
	case MODE_LIST:
	case MODE_CHECK:
		fuzz_assert(c->host || c->unix_path, "mode %d without a server",
			    o->mode);
		break;
	case MODE_NBDTAB:
	case MODE_DISCONNECT:
	case MODE_STATUS:
		fuzz_assert(c->device, "mode %d without a device", o->mode);
		break;
	default:
		break;
	}
	if (c->block_size)
		fuzz_assert(c->block_size >= 512 && c->block_size <= 4096 &&
				    !(c->block_size & (c->block_size - 1)),
			    "-b %u", c->block_size);
	fuzz_assert(c->timeout <= NBD_MAX_TIMEOUT_S, "-t %u", c->timeout);
	fuzz_assert(c->dead_timeout <= NBD_MAX_TIMEOUT_S, "-T %u", c->dead_timeout);
	fuzz_assert(c->connections >= 1 && c->connections <= 64, "-C %u",
		    c->connections);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fuzz_strdup(data, size), *argv[MAX_ARGS + 2], *p;
	struct nbd_config c;
	struct nbd_err e = { "" };
	struct cli o;
	int argc = 0;

	argv[argc++] = "nbd-client";
	for (p = buf; argc <= MAX_ARGS; p += strlen(p) + 1) {
		argv[argc++] = p;
		if (p + strlen(p) >= buf + size)
			break;
	}
	argv[argc] = NULL;
	config_init(&c);
	if (cli_parse(argc, argv, &c, &o, &e) < 0)
		fuzz_check_user_err(&e, "cli_parse");
	else
		check_parsed(&c, &o);
	cli_free(&o);
	config_free(&c);
	free(buf);
	return 0;
}
