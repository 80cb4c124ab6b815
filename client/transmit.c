// SPDX-License-Identifier: GPL-2.0-or-later
#include <string.h>
#include <sys/socket.h>

#include "optreply.h"
#include "proto.h"
#include "transmit.h"

static void disc_request(uint8_t req[NBD_REQUEST_LEN])
{
	memset(req, 0, NBD_REQUEST_LEN);
	put_be32(req, NBD_REQUEST_MAGIC);
	put_be16(req + 6, NBD_CMD_DISC);	/* after 16 bits of flags */
}

void transmit_disc(struct nbd_conn *c)
{
	struct nbd_err ignored;
	uint8_t req[NBD_REQUEST_LEN];

	disc_request(req);
	c->all = DEADLINE_NONE;
	conn_begin_op(c, NBD_GOODBYE_TIMEOUT_MS);
	conn_write(c, req, sizeof(req), &ignored);
}

void transmit_disc_fd(int fd)
{
	uint8_t req[NBD_REQUEST_LEN];

	disc_request(req);
	if (send(fd, req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return; /* best effort */
}
