/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Command line, compatible with the reference nbd-client 3.24. */
#ifndef NBDC_CLI_H
#define NBDC_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"
#include "err.h"

enum nbd_mode {
	MODE_ATTACH,		/* host [port] [dev], URI [dev], -u path dev */
	MODE_NBDTAB,		/* nbd-client nbdX: everything from nbdtab */
	MODE_DISCONNECT,	/* -d dev */
	MODE_PID,		/* -c dev: the pid in sysfs, as the reference */
	MODE_STATUS,		/* --status dev: what it is connected to */
	MODE_LIST,		/* -l host */
	MODE_CHECK,		/* --check host|URI: negotiate and report */
	MODE_LIST_DEVICES,	/* --list-devices */
	MODE_ADOPT,		/* --adopt dev: take over an attached device */
	MODE_VERSION,
	MODE_HELP,
};

struct cli {
	enum nbd_mode mode;
	bool json;		/* --json */
	char *nbdtab;		/* --nbdtab FILE (default SYSCONFDIR/nbdtab) */
};

/* Fill c and out from argv.  Prints nothing. */
int cli_parse(int argc, char **argv, struct nbd_config *c, struct cli *out,
	      struct nbd_err *e);
void cli_free(struct cli *out);
void cli_usage(FILE *f);
/* Numeric argument parsers shared with nbdtab. */
int cli_uint(const char *s, const char *what, unsigned long long min,
	     unsigned long long max, unsigned long long *out,
	     struct nbd_err *e);
int cli_block_size(const char *s, uint32_t *out, struct nbd_err *e);

#endif
