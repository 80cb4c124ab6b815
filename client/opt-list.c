// SPDX-License-Identifier: GPL-2.0-or-later
/* NBD_OPT_LIST: one NBD_REP_SERVER per export, then NBD_REP_ACK. */
#include <stdlib.h>

#include "nego.h"
#include "proto.h"

#define MAX_EXPORTS 100000

int opt_list(struct nbd_session *s, const struct nbd_config *cfg,
	     nego_list_fn fn, void *opaque, struct nbd_err *e)
{
	uint8_t payload[NBD_MAX_OPT_REPLY];
	struct opt_reply r;
	char *name, *desc;
	int n, rc;

	if (opt_send(s, NBD_OPT_LIST, NULL, 0, e) < 0)
		return -1;
	for (n = 0; n <= MAX_EXPORTS; n++) {
		if (opt_recv(s, NBD_OPT_LIST, &r, payload, e) < 0)
			return -1;
		if (r.type == NBD_REP_ACK)
			return 0;
		if (r.type != NBD_REP_SERVER)
			return opt_error(s, cfg, NBD_OPT_LIST, &r, payload, e);
		if (optreply_parse_server(payload, r.len, &name, &desc, e) < 0)
			return -1;
		rc = fn(opaque, name, desc);
		free(name);
		free(desc);
		if (rc < 0)
			return err_set(e, "cannot print the export list");
	}
	return err_set(e, "the server listed more than %d exports", MAX_EXPORTS);
}
