// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nbdtab (client/nbdtab.c).  The first byte picks the device looked up and
 * whether the config starts empty or filled from a "command line"; the
 * rest is the file (NUL bytes included: the parser must refuse them).
 */
#include <stdbool.h>

#include "devname.h"
#include "fuzz.h"
#include "nbdtab.h"

static const char *const devs[8] = {
	"nbd0", "nbd1", "/dev/nbd2", "nbd15", "/dev/nbd0", "nbd", "sda", "nbd01",
};

static void warned(void *opaque, const char *msg)
{
	fuzz_assert(*msg, "empty warning");
	fuzz_check_line(msg, "nbdtab warning");
	++*(int *)opaque;
}

static void check_found(const struct nbd_config *c, int idx, bool filled)
{
	char want[32];

	snprintf(want, sizeof(want), "/dev/nbd%d", idx);
	fuzz_assert(c->device && !strcmp(c->device, want), "device %s for nbd%d",
		    c->device ? c->device : "(none)", idx);
	if (filled) {
		fuzz_assert(!strcmp(c->host, "cmdline-host") && !c->unix_path &&
				    !strcmp(c->port, "1234"),
			    "the command line's server was replaced");
		fuzz_assert(!strcmp(c->export_name, "cmdline-export") &&
				    c->timeout == 5,
			    "the command line's options were replaced");
	} else {
		fuzz_assert(!(c->host && c->unix_path), "host and socket");
		fuzz_assert(!(c->unix_path && c->port), "socket and port");
	}
	if (c->block_size)
		fuzz_assert(c->block_size >= 512 && c->block_size <= 4096 &&
				    !(c->block_size & (c->block_size - 1)),
			    "bs=%u", c->block_size);
	if (c->timeout)
		fuzz_assert(c->timeout <= NBD_MAX_TIMEOUT_S, "timeout=%u", c->timeout);
	if (c->dead_timeout)
		fuzz_assert(c->dead_timeout <= NBD_MAX_TIMEOUT_S, "dead-timeout=%u",
			    c->dead_timeout);
	fuzz_assert(c->connections >= 1 && c->connections <= 64, "conns=%u",
		    c->connections);
	if (c->size)
		fuzz_assert(c->size % (c->block_size ? c->block_size : 512) == 0 &&
				    c->size <= INT64_MAX,
			    "size=%llu", (unsigned long long)c->size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nbd_config c, before;
	struct nbd_err e = { "" }, ignored;
	const char *dev;
	bool filled;
	char *text;
	int r, warnings = 0, idx;

	if (!size)
		return 0;
	dev = devs[data[0] & 7];
	filled = data[0] & 8;
	text = (char *)fuzz_dup(data + 1, size - 1); /* not NUL-terminated */
	if (filled)
		fuzz_config_fill(&c);
	else
		config_init(&c);
	before = c;
	r = nbdtab_parse(text, size - 1, data[0] & 16 ? "/etc/nbdtab" : NULL,
			 dev, &c, warned, &warnings, &e);
	idx = nbd_dev_index(dev, &ignored);
	if (r == 1) {
		fuzz_assert(idx >= 0, "found the invalid device %s", dev);
		check_found(&c, idx, filled);
	} else {
		fuzz_assert(r == 0 || r == -1, "returned %d", r);
		fuzz_check_user_err(&e, "nbdtab_parse");
		fuzz_assert(fuzz_config_same(&c, &before),
			    "the config changed without an entry");
	}
	config_free(&c);
	free(text);
	return 0;
}
