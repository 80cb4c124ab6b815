/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Attaching a negotiated export to a kernel nbd device, and the device
 * commands (-d, -c, --list-devices).  The only part of client/ that talks
 * to the kernel (through netlink/).
 */
#ifndef NBDC_ATTACH_H
#define NBDC_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

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
