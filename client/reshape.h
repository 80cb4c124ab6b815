/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a reconnect does when the export it finds is not the one attached.
 * The device stays whenever nothing can be lost: an export that grew (the
 * device keeps its size), a capability newly advertised, a smaller
 * maximum payload (the request-size limit is applied again).  It is
 * detached, with the reason, only where going on could lose data or lie:
 * a smaller export than attached, read-only under a read-write device,
 * FLUSH or FUA lost, multi-conn lost under several connections, a minimum
 * block size above the device's logical block size, a maximum payload the
 * kernel cannot honour.
 */
#ifndef NBDC_RESHAPE_H
#define NBDC_RESHAPE_H

#include <stdint.h>

#include "err.h"
#include "optreply.h"
#include "params.h"

#define RESHAPE_MAX_NOTES 4

struct reshape {
	uint32_t max_request;	/* a smaller limit to apply (no note: the
				 * device says so once applied); 0 = none */
	/* what changed and what the device does about it, for the log */
	char notes[RESHAPE_MAX_NOTES][NBD_ERR_MAX];
	unsigned int n;
};

/*
 * was: the export as first negotiated; p: what the device was attached
 * with (its size, block size, flags, request limit); links: how many
 * connections feed it; now: what a reconnect found.  0: keep the device
 * (r says what changed); -1: detach it, e says why.
 */
int export_reshape(const struct nbd_export *was,
		   const struct attach_params *p, unsigned int links,
		   const struct nbd_export *now, struct reshape *r,
		   struct nbd_err *e);

#endif
