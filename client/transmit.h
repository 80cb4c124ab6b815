/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The transmission phase, as far as this client speaks it itself: leaving
 * politely with NBD_CMD_DISC a connection that negotiated an export but was
 * never handed to the kernel.  Best effort: nothing here fails.
 */
#ifndef NBDC_TRANSMIT_H
#define NBDC_TRANSMIT_H

#include "conn.h"

/* Over a negotiating connection (TLS or not), waiting at most
 * NBD_GOODBYE_TIMEOUT_MS. */
void transmit_disc(struct nbd_conn *c);
/* Over the plaintext stream the kernel would have got (a negotiated
 * socket, or the kernel's end of a TLS proxy); never blocks. */
void transmit_disc_fd(int fd);

#endif
