// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nbd-client: entry point.  Parses the command line, dispatches to one mode,
 * and prints the one error that travelled up, if any.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adopt.h"
#include "attach.h"
#include "cli.h"
#include "nbdtab.h"
#include "nego.h"
#include "report.h"
#include "transmit.h"

static int print_export(void *opaque, const char *name, const char *desc)
{
	(void)opaque;
	if (desc && *desc)
		return printf("%s\t%s\n", name, desc) < 0 ? -1 : 0;
	return printf("%s\n", name) < 0 ? -1 : 0;
}

/* What loading the TLS credentials had to say (a key others can read). */
static void print_tls_warning(const struct nbd_session *s)
{
	if (s->own_creds.warning[0])
		fprintf(stderr, "nbd-client: warning: %s\n", s->own_creds.warning);
}

static int do_list(const struct nbd_config *cfg, struct nbd_err *e)
{
	struct nbd_session s;
	int r;

	nego_init(&s, cfg);
	r = nego_list_exports(&s, cfg, print_export, NULL, e);
	print_tls_warning(&s);
	nego_close(&s);
	return r;
}

/*
 * --check negotiates exactly as an attach would (NBD_OPT_GO, or the
 * EXPORT_NAME fallback), reports, and leaves with NBD_CMD_DISC.  Not
 * NBD_OPT_INFO + NBD_OPT_ABORT: nbd-server 3.24 answers NBD_OPT_INFO with
 * size 0, so only GO reports what the kernel would really get.
 */
static int do_check(const struct nbd_config *cfg, const struct cli *cli,
		    struct nbd_err *e)
{
	struct attach_params p;
	struct nbd_session s;
	int r;

	nego_init(&s, cfg);
	r = nego_connect(&s, cfg, e);
	if (r == 0) {
		/* the device the kernel would get, or why it would refuse */
		r = attach_params(cfg, &s.export, &p, e);
		report_check(stdout, &s, r == 0 ? &p : NULL, cli->json);
		transmit_disc(&s.conn);
	}
	print_tls_warning(&s);
	nego_close(&s);
	return r;
}

static int run(struct nbd_config *cfg, struct cli *cli, char **argv,
	       struct nbd_err *e)
{
	switch (cli->mode) {
	case MODE_HELP:
		cli_usage(stdout);
		return 0;
	case MODE_VERSION:
		printf("nbd-client %s (drop-in for nbd-client 3.24)\n",
		       NBDC_VERSION);
		return 0;
	case MODE_LIST:
		return do_list(cfg, e);
	case MODE_CHECK:
		return do_check(cfg, cli, e);
	case MODE_NBDTAB:
		if (nbdtab_load(cli->nbdtab, cfg, e) < 0)
			return -1;
		/* attached already as the line says (the root, attached by
		 * the initramfs; nbd@.service): take it over */
		if (adopt_attached(cfg))
			return adopt_run(cfg->device, cfg->nofork, e);
		return attach_run(cfg, argv, e);
	case MODE_ADOPT:
		return adopt_run(cfg->device, cfg->nofork, e);
	case MODE_ATTACH:
		return attach_run(cfg, argv, e);
	case MODE_DISCONNECT:
		return attach_disconnect(cfg, e);
	case MODE_PID:
		return attach_pid(cfg, e);
	case MODE_STATUS:
		return attach_status(cfg, cli->json, e);
	case MODE_LIST_DEVICES:
		return attach_list_devices(cli->json, e);
	}
	return err_set(e, "internal error: unknown mode");
}

int main(int argc, char **argv)
{
	struct nbd_config cfg;
	struct nbd_err e = { "" };
	struct cli cli;
	int r;

	config_init(&cfg);
	if (cli_parse(argc, argv, &cfg, &cli, &e) < 0) {
		fprintf(stderr, "nbd-client: %s\n", e.msg);
		config_free(&cfg);
		cli_free(&cli);
		return 1;
	}
	r = run(&cfg, &cli, argv, &e);
	if (r == -1)
		fprintf(stderr, "nbd-client: %s\n", e.msg);
	config_free(&cfg);
	cli_free(&cli);
	/* -c and --status: 0 connected, 1 not connected, 2 error (as the
	 * reference's -c) */
	if (cli.mode == MODE_PID || cli.mode == MODE_STATUS)
		return r < 0 ? 2 : (r == 1 ? 0 : 1);
	return r < 0 ? 1 : 0;
}
