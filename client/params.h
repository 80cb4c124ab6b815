/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the kernel is told about a negotiated export (size, block size,
 * flags, backend identifier, timeouts): derived from the negotiation and
 * the options, with no kernel calls, for the first attach and every
 * reconnect alike.
 */
#ifndef NBDC_PARAMS_H
#define NBDC_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

/* Default dead-connection timeout of a watched device (-persist, kernel
 * TLS): how long I/O waits for a reconnect before the kernel fails it. */
#define NBD_PERSIST_DEAD_TIMEOUT 120
/* ... and of root and swap (-swap): as long as it takes.  The largest the
 * kernel takes on every architecture (seconds * HZ in a long): 24 days. */
#define NBD_DEAD_TIMEOUT_NONE NBD_MAX_TIMEOUT_S
/* Default request timeout of a watched device: after it, the kernel
 * re-sends a request that was in flight on a connection that died. */
#define NBD_PERSIST_REQ_TIMEOUT 30

/* What the kernel is told, derived from the negotiation and the options. */
struct attach_params {
	uint64_t size;
	uint32_t block_size;	/* the device's logical block size */
	uint16_t flags;
	uint32_t max_request;	/* bytes a request may carry at most (the
				 * server's maximum payload, in whole KiB);
				 * 0: no limit from the server */
};

/* The kernel takes logical block sizes from 512 to the page size, and
 * limits requests to no less than a page. */
#define NBD_PAGE_SIZE 4096u

/*
 * -b / NBD_INFO_BLOCK_SIZE / -B / -R applied to a negotiated export.  The
 * logical block size is -b, else the server's minimum block size when it
 * is above 512, else 512 (as the reference and qemu-nbd -c); the preferred
 * size never raises it.
 */
struct nbd_export;
int attach_params(const struct nbd_config *cfg, const struct nbd_export *x,
		  struct attach_params *p, struct nbd_err *e);
/* The server's maximum payload as the kernel can apply it (whole KiB, at
 * least a page), 0 where there is none; -1 where it cannot be applied. */
int attach_max_request(const struct nbd_export *x, uint32_t *max,
		       struct nbd_err *e);
/*
 * The request timeout and the dead-connection timeout the kernel gets, in
 * seconds (0: none).  A watched device (something reconnects its links:
 * -persist, -swap, kernel TLS) needs both; root and swap (-swap) wait for
 * a reconnect as long as it takes, other devices 120 s; -t and -T win.
 */
void attach_timeouts(const struct nbd_config *cfg, bool watched,
		     unsigned int *req, unsigned int *dead);
/* "nbds://host:port/export" etc.: the backend identifier for sysfs. */
char *attach_identifier(const struct nbd_config *cfg);

#endif
