/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The resident per-device process (-persist, and the ioctl interface, which
 * needs a process blocked in NBD_DO_IT).  It owns reconnection: it notices a
 * dead connection (NBD_CMD_LINK_DEAD, or a TLS proxy that exited while the
 * device is still connected), negotiates again (TLS included), checks that
 * the size did not change and hands the new socket to the kernel with
 * NBD_CMD_RECONFIGURE.  Meanwhile I/O waits (dead-connection timeout), and
 * requests that were in flight are requeued by the kernel's request timeout.
 */
#ifndef NBDC_MONITOR_H
#define NBDC_MONITOR_H

#include <stdint.h>

#include "config.h"
#include "datapath.h"
#include "log.h"

#define MONITOR_MAX_CONNS 64

struct nbd_nl;

struct monitor {
	const struct nbd_config *cfg;
	int index;
	struct nbd_nl *nl;	/* NULL: ioctl interface (devfd) */
	int devfd;
	uint64_t size;
	struct datapath dp[MONITOR_MAX_CONNS];
	unsigned int n;
	struct nbd_log log;
	char name[32];
};

/* In a freshly forked child: new session, stdio to /dev/null, cwd /. */
int monitor_detach(void);
/* Runs until the device is disconnected; returns the exit status. */
int monitor_run(struct monitor *m);

#endif
