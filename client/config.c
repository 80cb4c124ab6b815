// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdlib.h>
#include <string.h>

#include "config.h"

void config_init(struct nbd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->connections = 1;
}

int config_ktls_mode(const char *s, size_t len, enum ktls_mode *m)
{
	static const char *const names[] = { [KTLS_OFF] = "off",
					     [KTLS_AUTO] = "auto",
					     [KTLS_ON] = "on" };
	size_t i;

	for (i = KTLS_OFF; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !memcmp(s, names[i], len)) {
			*m = (enum ktls_mode)i;
			return 0;
		}
	return -1;
}

enum ktls_mode config_ktls(const struct tls_config *t)
{
	return t->ktls == KTLS_UNSET ? NBD_KTLS_DEFAULT : t->ktls;
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
