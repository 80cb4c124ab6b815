// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdlib.h>
#include <string.h>

#include "config.h"

void config_init(struct nbd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->connections = 1;
}

static void tls_config_free(struct tls_config *t)
{
	free(t->cacert);
	free(t->cert);
	free(t->key);
	free(t->cert_dir);
	free(t->hostname);
	free(t->priority);
	free(t->psk_file);
	free(t->psk_user);
}

void config_free(struct nbd_config *c)
{
	free(c->host);
	free(c->port);
	free(c->unix_path);
	free(c->export_name);
	free(c->uri);
	free(c->device);
	free(c->identifier);
	tls_config_free(&c->tls);
	config_init(c);
}
