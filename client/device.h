/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One nbd device and the connections ("links") that feed it: the single
 * pipeline that both the first attach and every reconnect go through.
 *
 *   connect -> negotiate -> data path -> kernel
 *
 * differing only in the last step (NBD_CMD_CONNECT / the ioctls for the
 * first attach, NBD_CMD_RECONFIGURE for a reconnect) and in the checks
 * against the first negotiation: a reconnect keeps the device whenever
 * nothing can be lost (reshape.h), else the device is detached.
 *
 * Each link has one owner, its struct link, which knows its state and holds
 * its data path; the data path itself says whether it is still alive.
 * Every failure tears down what was built: no half-attached device, no
 * orphan proxy, NBD_CMD_DISC to a server that reached transmission.
 */
#ifndef NBDC_DEVICE_H
#define NBDC_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "params.h"
#include "config.h"
#include "datapath.h"
#include "err.h"
#include "limit.h"
#include "log.h"
#include "optreply.h"
#include "tls.h"

#define DEVICE_MAX_LINKS 64
#define DEVICE_MAX_WARNINGS 4

enum link_state {
	LINK_EMPTY,		/* nothing held */
	LINK_READY,		/* negotiated, data path open, not yet given
				 * to the kernel */
	LINK_ATTACHED,		/* the kernel holds it */
	LINK_DEAD,		/* it died; waiting to be reconnected */
	LINK_ADOPTED,		/* the kernel holds a connection that another
				 * process gave it (an adopted device, or a
				 * reconnect the kernel had no dead slot for):
				 * nothing here to watch; the kernel's
				 * LINK_DEAD event tells when it dies */
};

struct link {
	enum link_state state;
	struct datapath dp;
	int64_t retry_at_ms;	/* LINK_DEAD: next reconnect attempt */
	int backoff_s;		/* LINK_DEAD: the next delay */
};

struct nbd_device {
	const struct nbd_config *cfg;
	struct nbd_export first;	/* the first negotiation's numbers (no
					 * strings): what a reconnect must find
					 * again */
	struct attach_params p;
	struct nbd_nl *nl;		/* NULL: the ioctl interface */
	int devfd;			/* ioctl interface: the open device */
	int index;			/* -1 until known */
	char *ident;			/* backend identifier */
	char name[32];			/* "nbd0", for log lines */
	struct link link[DEVICE_MAX_LINKS];
	unsigned int n;			/* links in use */
	struct tls_creds creds;		/* read once, for every link */
	int stop_fd;			/* readable = stop; -1 = none */
	int null_fd;			/* /dev/null, for the proxies */
	int state_fd;			/* NBD_STATE_DIR, or -1 */
	int limit_fd;			/* queue/max_sectors_kb, or -1 */
	uint32_t hw_kb;			/* the device's own maximum, 0 unknown */
	uint32_t new_max;		/* a smaller request limit a reconnect
					 * found, not yet being applied
					 * (device_limit_kick) */
	struct limit_job limit;		/* the one being applied */
	int sys_fd;			/* /sys/block/nbdN once attached
					 * (netlink), or -1 */
	char kpid[32];			/* its pid file then: the device is
					 * ours while it says this */
	struct conn_addr addr;		/* the server's, once connected */
	bool attached;			/* the kernel has the device */
	bool resident;			/* warnings go to the log */
	bool watched;			/* dead links are reconnected
					 * (-persist, -swap, kernel TLS) */
	enum ktls_mode ktls;		/* in effect: AUTO, ON or OFF */
	char no_ktls[NBD_ERR_MAX];	/* auto: why kernel TLS was not used */
	struct nbd_log log;
	char *const *argv;		/* the attach's command line, recorded
					 * for an adopter; NULL: none */
	pid_t self;			/* the resident process (recorded as the
					 * device's monitor) */
	unsigned long long start;	/* its start time (proc.h), 0 unknown */
	unsigned int expect_events;	/* LINK_DEAD events still due for our
					 * own links' deaths */
	int64_t expect_until_ms;	/* ... until then */
	/* warnings while attaching, for the command to print */
	char warnings[DEVICE_MAX_WARNINGS][NBD_ERR_MAX];
	unsigned int nwarnings;
};

/* Returned by device_reconnect when the export is not the one attached. */
#define DEVICE_EXPORT_CHANGED (-2)
/* ... when the kernel had no dead connection to replace: the link is
 * LINK_ADOPTED (the kernel's own connection is alive). */
#define DEVICE_NOT_TAKEN (-3)

int device_init(struct nbd_device *d, const struct nbd_config *cfg,
		struct nbd_err *e);
/* Negotiate every link, open their data paths and attach the device.  On
 * failure nothing is left: every link torn down, the kernel untouched. */
int device_attach(struct nbd_device *d, struct nbd_err *e);
/* Negotiate link k again and hand it to the kernel (RECONFIGURE).  -1: try
 * again later; DEVICE_EXPORT_CHANGED: never; DEVICE_NOT_TAKEN: no dead
 * connection in the kernel to replace. */
int device_reconnect(struct nbd_device *d, unsigned int k, struct nbd_err *e);
/*
 * A smaller request limit that a reconnect found is applied by a child
 * (limit.h), started after the reconnect has given the kernel the link:
 * device_limit_kick starts the one waiting, if none is running (-1, e
 * set: the limit file cannot be opened, the device must go);
 * device_limit_fd is readable, or -1, while one runs; device_limit_done
 * takes its word once it is (-1, e set: not applied, the device must go)
 * and logs the new limit.  The monitor calls the three every round.
 */
int device_limit_kick(struct nbd_device *d, struct nbd_err *e);
int device_limit_fd(const struct nbd_device *d);
int device_limit_done(struct nbd_device *d, struct nbd_err *e);
/* Link k died: release what it held, mark it LINK_DEAD, record it. */
void device_link_dead(struct nbd_device *d, unsigned int k);
/*
 * Adopting device index, attached by another process (--adopt): open the
 * netlink interface and subscribe to LINK_DEAD events, before that
 * process is told to leave, so that no death goes unseen.
 */
int device_adopt_listen(struct nbd_device *d, int index, struct nbd_err *e);
/*
 * Then take the device over as that process left it (state.h): its
 * export's numbers, what the kernel was told, its links (all
 * LINK_ADOPTED, but the dead ones, LINK_DEAD).
 */
struct state_device;
struct state_links;
int device_adopt(struct nbd_device *d, const struct state_device *s,
		 const struct state_links *x, struct nbd_err *e);
/* Record the device in NBD_STATE_DIR (state.h), this process its monitor. */
void device_record(struct nbd_device *d);
/* 1 the kernel says connected (and the device is still the one we
 * attached), 0 not, -1 cannot tell (logged). */
int device_connected(struct nbd_device *d);
/* Log which data path each TLS link took (once resident). */
void device_log_links(struct nbd_device *d);
/* Some link's data goes through a TLS proxy process (not kernel TLS). */
bool device_has_proxy(const struct nbd_device *d);
/* A warning: kept in d->warnings while attaching, logged once resident. */
void device_warn(struct nbd_device *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Release everything held; handed-over links stay with the kernel. */
void device_close(struct nbd_device *d);

#endif
