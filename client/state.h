/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What an attach leaves in NBD_STATE_DIR/nbdN, for --status and
 * --list-devices (which data path each connection took: the kernel knows
 * only that it has sockets) and for a later process that adopts the
 * device (--adopt): who started it and who watches it now, the export's
 * numbers the first negotiation found and what the kernel was told (a
 * reconnect checks the export against them), how many connections are
 * dead.  Written by the process that attached the device, and again by
 * the monitor whenever a link dies or is reconnected (through a directory
 * fd opened beforehand: after switch_root it finds no /run of its own).
 * A file is current only while /sys/block/nbdN/pid, the pid that started
 * the device, is the pid it names.
 *
 *   pid 1234                     the kernel's pid (/sys/block/nbdN/pid)
 *   monitor 1240 98765           the resident process and its start time
 *   export SIZE TFLAGS HAVE_BS MIN PREF MAX
 *   device SIZE BLOCK_SIZE FLAGS MAX_REQUEST
 *   dead K                       links dead, not yet reconnected
 *   link PATH|TLS                one a connection (TLS empty: plaintext)
 */
#ifndef NBDC_STATE_H
#define NBDC_STATE_H

#include <stddef.h>
#include <sys/types.h>

#include "optreply.h"
#include "params.h"

#define NBD_STATE_DIR "/run/nbd-client"
#define NBD_STATE_MAX_LINKS 64

struct state_link {
	const char *path;	/* "plaintext", "TLS proxy", "kernel TLS" */
	const char *tls;	/* "TLS1.3, AES-128-GCM", or "" */
};

/* The device as the attach (or a reconnect) left it. */
struct state_device {
	pid_t pid;		/* who started it: /sys/block/nbdN/pid */
	pid_t monitor;		/* the resident process now, 0: none */
	unsigned long long monitor_start; /* its start time, in clock ticks
					   * after boot (/proc/PID/stat), to
					   * tell it from a later process that
					   * got its pid */
	struct nbd_export first; /* the first negotiation's numbers (no
				  * strings) */
	struct attach_params p;	/* what the kernel was told */
	unsigned int dead;	/* links dead and not yet reconnected */
};

/* The links as read back. */
struct state_links {
	char path[NBD_STATE_MAX_LINKS][24];
	char tls[NBD_STATE_MAX_LINKS][64];
	unsigned int n;
};

/* Open (creating it) NBD_STATE_DIR; -1 if that cannot be done (the
 * device works without it). */
int state_dir_open(void);
/* Replace dirfd/name with s and one line per link.  0, or -1 (errno). */
int state_write(int dirfd, const char *name, const struct state_device *s,
		const struct state_link *l, unsigned int n);
/* Read dirfd/name back (missing lines read as 0).  0, or -1 (errno;
 * EINVAL: not a state file). */
int state_read(int dirfd, const char *name, struct state_device *s,
	       struct state_links *x);
/*
 * Describe device index's connections in buf: "" when unknown, else e.g.
 * "kernel TLS, TLS1.3, AES-128-GCM" or, when they differ,
 * "connection 1: ...; connection 2: ...".  json: a JSON array of
 * {"path": ..., "tls": ...} objects instead ("" when unknown).
 */
void state_describe(int index, int json, char *buf, size_t len);

#endif
