/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nbd-client --adopt nbdN: a new process takes over a device that another
 * nbd-client attached (the root, attached by the initramfs, taken over by
 * nbd@.service after switch_root; a monitor killed or to be replaced).
 * It finds the device by its backend identifier, reconnects as the attach
 * would (its command line and its record in NBD_STATE_DIR, state.h and
 * argsfile.h; the credentials read again from the files it names), tells
 * the old resident process to leave if it is still there (SIGTERM: it
 * exits, the device stays), and becomes the device's resident process:
 * the same monitor, the same reconnects (monitor.h).
 *
 * It cannot have the old process's sockets: the kernel holds them.  Each
 * is a LINK_ADOPTED link, whose death the kernel's LINK_DEAD event
 * announces; the adopter then reconnects one (the kernel fills its first
 * dead slot, and drops a socket it has no dead slot for, which device.c
 * tells).  Links it reconnected are its own, watched as any monitor
 * watches them.  The kernel's /sys/block/nbdN/pid, which -c prints, stays
 * the pid that started the device (RECONFIGURE does not change it).
 */
#ifndef NBDC_ADOPT_H
#define NBDC_ADOPT_H

#include <stdbool.h>

#include "config.h"
#include "err.h"

/* How long the old resident process has to leave after SIGTERM. */
#define ADOPT_LEAVE_MS 10000

/*
 * cfg (nbd-client nbdX, its nbdtab line read) names a device that is
 * attached already (netlink), with the backend identifier that cfg gives:
 * adopt it rather than attach it.
 */
bool adopt_attached(const struct nbd_config *cfg);
/*
 * Adopt device ("/dev/nbdN"); nofork: stay in the foreground (log on
 * stderr, READY=1 to systemd), else print the verdict and leave a process
 * in the background.  0; -1 with e set; or ATTACH_REPORTED (the resident
 * process gave up on the device and logged why).
 */
int adopt_run(const char *device, bool nofork, struct nbd_err *e);

#endif
