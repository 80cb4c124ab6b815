/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Attaching a negotiated export to a kernel nbd device, and the device
 * commands (-d, -c, --list-devices).  The only part of client/ that talks
 * to the kernel.
 */
#ifndef NBDC_ATTACH_H
#define NBDC_ATTACH_H

#include <stdbool.h>

#include "config.h"
#include "err.h"

int attach_run(const struct nbd_config *cfg, struct nbd_err *e);
int attach_disconnect(const struct nbd_config *cfg, struct nbd_err *e);
/* 1 connected, 0 not connected, -1 error */
int attach_status(const struct nbd_config *cfg, struct nbd_err *e);
int attach_list_devices(bool json, struct nbd_err *e);

#endif
