/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Attaching a negotiated export to a kernel nbd device, and the device
 * commands (-d, -c, --list-devices).  The only part of client/ that talks
 * to the kernel (through kernel/).
 */
#ifndef NBDC_ATTACH_H
#define NBDC_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

/* Default dead-connection timeout with -persist: how long I/O waits for a
 * reconnect before the kernel fails it. */
#define NBD_PERSIST_DEAD_TIMEOUT 120
/* Default request timeout with -persist: after it, the kernel re-sends a
 * request that was in flight on a connection that died. */
#define NBD_PERSIST_REQ_TIMEOUT 30

/* What the kernel is told, derived from the negotiation and the options. */
struct attach_params {
	uint64_t size;
	uint32_t block_size;
	uint16_t flags;
};

/* -b / NBD_INFO_BLOCK_SIZE / -B / -R applied to a negotiated export. */
struct nbd_export;
int attach_params(const struct nbd_config *cfg, const struct nbd_export *x,
		  struct attach_params *p, struct nbd_err *e);
/* "nbds://host:port/export" etc.: the backend identifier for sysfs. */
char *attach_identifier(const struct nbd_config *cfg);

/* attach_run failed and the reason was already printed (by the resident
 * process, which had the command's stderr then). */
#define ATTACH_REPORTED (-2)

/* argv: to mark the resident process for systemd with -m.  0, -1 with e
 * set, or ATTACH_REPORTED. */
int attach_run(const struct nbd_config *cfg, char **argv, struct nbd_err *e);
int attach_disconnect(const struct nbd_config *cfg, struct nbd_err *e);
/* 1 connected, 0 not connected, -1 error */
int attach_status(const struct nbd_config *cfg, struct nbd_err *e);
int attach_list_devices(bool json, struct nbd_err *e);

#endif
