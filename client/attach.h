/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Attaching a negotiated export to a kernel nbd device, and the device
 * commands (-d, -c, --status, --list-devices).  The only part of client/
 * that talks to the kernel (through netlink/).
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
/*
 * -c: print /sys/block/nbdN/pid as it is (the pid of the process that
 * started the device, and a newline), as the reference does.  1 connected,
 * 0 not connected (nothing printed), -1 error.
 */
int attach_pid(const struct nbd_config *cfg, struct nbd_err *e);
/* --status: "/dev/nbdN: connected to URI (data path)", or "... not
 * connected"; json: the object --list-devices --json shows for it.  The
 * same answer as -c: 1 connected, 0 not, -1 error. */
int attach_status(const struct nbd_config *cfg, bool json, struct nbd_err *e);
int attach_list_devices(bool json, struct nbd_err *e);

#endif
